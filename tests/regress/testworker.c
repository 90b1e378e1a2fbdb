/*
 * A worker that does nothing but live: the supervisor's own tests run it
 * under each role's program name (symlinks in a private libexec dir), so
 * spawn, handshake, wiring, heartbeats, restart and the intensity limit
 * are tested whatever the state of the real workers.
 *
 * Its role comes from its program name (hermes-agent, hermes-store, ...).
 * HERMES_FAULT=crash:ROLE: that role exits at once (a crash loop).
 */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "ipc/worker.h"
#include "sandbox/sandbox.h"

static const struct {
	const char	*bin;
	int		 role;
	int		 profile;
} names[] = {
	{ "hermes-agent",	ROLE_AGENT,	SBX_AGENT },
	{ "hermes-llm-fetch",	ROLE_FETCH,	SBX_FETCH },
	{ "hermes-store",	ROLE_STORE,	SBX_STORE },
	{ "hermes-tool-local",	ROLE_TOOL,	SBX_TOOL_LOCAL },
};

static void
tw_dispatch(struct worker *w, int from, struct ipc_peer *p, struct ipc_msg *m)
{
	log_warnx("unexpected %s from %s", ipc_msg_name(m->type),
	    ipc_role_name(from));
}

static void
tw_peer(struct worker *w, int role, struct ipc_peer *p)
{
	log_info("peer %s %s gen %llu", ipc_role_name(role),
	    p != NULL ? "up" : "down", (unsigned long long)w->peer_gen[role]);
}

static void
tw_sup(struct worker *w, struct ipc_msg *m)
{
	/* CLIENT_ATTACH: greet the client so tests see the hand-over. */
	struct ipc_buf	*b;

	if (m->type == IPC_MSG_NOTICE) {
		log_info("notice received");
		return;
	}
	if (m->type != IPC_MSG_CLIENT_ATTACH || m->nfds != 1)
		fatalx("unexpected %s", ipc_msg_name(m->type));
	b = ipc_new(IPC_MSG_CHAT_EVENT, 0);
	ipc_add_str(b, "kind", "notice");
	ipc_add_str(b, "text", "testworker agent here");
	(void)ipc_send_fd(m->fds[0], b);
	close(m->fds[0]);
	m->fds[0] = -1;
}

int
main(int argc, char **argv)
{
	struct worker_ops	 ops;
	const char		*f = getenv("HERMES_FAULT");
	char			*name = basename(argv[0]);
	size_t			 i;

	memset(&ops, 0, sizeof(ops));
	for (i = 0; i < nitems(names); i++)
		if (strcmp(names[i].bin, name) == 0)
			break;
	if (i == nitems(names))
		fatalx("testworker: unknown program name %s", name);
	if (f != NULL && strncmp(f, "crash:", 6) == 0 &&
	    strcmp(f + 6, ipc_role_name(names[i].role)) == 0)
		exit(3);
	ops.role = names[i].role;
	ops.profile = names[i].profile;
	ops.dispatch = tw_dispatch;
	ops.peer_changed = tw_peer;
	ops.dispatch_sup = tw_sup;
	worker_main(argc, argv, &ops);
}
