/*
 * hermes-agent: the worker glue. The supervisor hands it client
 * connections (CLIENT_ATTACH with the fd); llm-fetch, the store and the
 * tool runner arrive as peers. Everything else is in loop.c, turn.c and
 * cmd.c.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "ipc/worker.h"
#include "sandbox/sandbox.h"
#include "agent/agent.h"
#include "agent/loop.h"

static struct agent	*A;
static struct worker	*W;

static int
send_role(struct agent *a, int role, struct ipc_buf *b)
{
	(void)a;
	return worker_send(W, role, b);
}

static int
send_sup(struct agent *a, struct ipc_buf *b)
{
	(void)a;
	if (W->sup == NULL) {
		ipc_buf_free(b);
		return -1;
	}
	return ipc_peer_send(W->sup, b);
}

static int
agent_setup(struct worker *w, const msgpack_object *secrets)
{
	(void)secrets;
	W = w;
	A = agent_new(w->config_json, w->home, w->workspace);
	A->send = send_role;
	A->send_sup = send_sup;
	/* Everything the agent parses lives in memory: nothing to open. */
	return 0;
}

static void
agent_dispatch_peer(struct worker *w, int from, struct ipc_peer *p,
    struct ipc_msg *m)
{
	(void)w;
	(void)p;
	agent_dispatch(A, from, m);
}

static void
agent_peer_changed(struct worker *w, int role, struct ipc_peer *p)
{
	(void)w;
	/* A restarted worker knows nothing of our requests: fail them. */
	agent_peer_lost(A, role);
	if (p != NULL)
		log_debug("%s connected", ipc_role_name(role));
}

static void
client_msg(struct ipc_peer *p, struct ipc_msg *m, void *arg)
{
	(void)p;
	agent_client_dispatch(A, arg, m);
}

static void
client_closed(struct ipc_peer *p, const char *err, void *arg)
{
	struct client	*c = arg;

	if (err != NULL)
		log_debug("client: %s", err);
	c->peer = NULL;
	ipc_peer_free(p);
	agent_client_free(A, c);
}

static void
agent_dispatch_sup(struct worker *w, struct ipc_msg *m)
{
	uint64_t	 uid = 0;
	struct ipc_peer	*p;
	struct client	*c;
	char		*role, *state;

	switch (m->type) {
	case IPC_MSG_CLIENT_ATTACH:
		if (m->nfds != 1)
			fatalx("client.attach without an fd");
		(void)ipc_get_u64(m, "uid", &uid);
		if (A->nclients >= AGENT_MAX_CLIENTS) {
			log_warnx("client refused: %zu clients", A->nclients);
			close(m->fds[0]);
			m->fds[0] = -1;
			break;
		}
		c = agent_client_new(A, NULL, uid);
		p = ipc_peer_new(w->base, m->fds[0], ROLE_AGENT, ROLE_CLIENT, 0,
		    client_msg, client_closed, c);
		m->fds[0] = -1;
		c->peer = p;
		break;
	case IPC_MSG_NOTICE:
		role = ipc_get_strdup(m, "role");
		state = ipc_get_strdup(m, "state");
		log_debug("notice: %s %s", role ? role : "?", state ? state : "?");
		free(role);
		free(state);
		break;
	default:
		fatalx("unexpected %s from the supervisor",
		    ipc_msg_name(m->type));
	}
}

static void
agent_shutdown(struct worker *w)
{
	(void)w;
	agent_free(A);
	A = NULL;
}

static const struct worker_ops ops = {
	.role = ROLE_AGENT,
	.profile = SBX_AGENT,
	.setup = agent_setup,
	.dispatch = agent_dispatch_peer,
	.peer_changed = agent_peer_changed,
	.dispatch_sup = agent_dispatch_sup,
	.shutdown = agent_shutdown,
};

int
main(int argc, char **argv)
{
	worker_main(argc, argv, &ops);
}
