/*
 * The life of a worker (STYLE.md, "Order of a worker's life"): HELLO on
 * fd 3, CONFIG, the role's setup, sandbox_enter(), READY, event loop.
 */
#include <sys/prctl.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "ipc/worker.h"
#include "sandbox/sandbox.h"

#define SUP_FD		3

static struct worker		 W;
static const struct worker_ops	*ops;
static uint64_t			 next_id = 1;

uint64_t
worker_next_id(void)
{
	return next_id++;
}

struct ipc_peer *
worker_peer(struct worker *w, int role)
{
	if (role < 0 || role >= ROLE_MAX)
		return NULL;
	return w->peers[role];
}

int
worker_send(struct worker *w, int role, struct ipc_buf *b)
{
	struct ipc_peer	*p = worker_peer(w, role);

	if (p == NULL) {
		ipc_buf_free(b);
		return -1;
	}
	return ipc_peer_send(p, b);
}

static void
log_to_sup(int level, const char *line, void *arg)
{
	struct ipc_buf	*b;

	if (W.sup == NULL) {
		dprintf(STDERR_FILENO, "%s[%d]: %s\n", log_procname(),
		    (int)getpid(), line);
		return;
	}
	b = ipc_new(IPC_MSG_LOG, 0);
	ipc_add_u64(b, "level", (uint64_t)level);
	ipc_add_str(b, "line", line);
	(void)ipc_peer_send(W.sup, b);
}

static void
flush_sup(void)
{
	if (W.sup != NULL)
		(void)ipc_peer_flush_wait(W.sup, 500);
}

static void
worker_exit(int code)
{
	if (ops->shutdown != NULL)
		ops->shutdown(&W);
	flush_sup();
	exit(code);
}

static void
peer_dispatch(struct ipc_peer *p, struct ipc_msg *m, void *arg)
{
	int	 role = ipc_peer_role(p);

	if (m->type == IPC_MSG_PING) {
		struct ipc_buf	*b = ipc_new(IPC_MSG_PONG, m->id);
		uint64_t	 seq = 0;

		(void)ipc_get_u64(m, "seq", &seq);
		ipc_add_u64(b, "seq", seq);
		(void)ipc_peer_send(p, b);
		return;
	}
	ops->dispatch(&W, role, p, m);
}

static void
peer_close(struct ipc_peer *p, const char *err, void *arg)
{
	int	 role = ipc_peer_role(p);

	if (err != NULL)
		log_warnx("%s peer: %s", ipc_role_name(role), err);
	if (W.peers[role] == p) {
		W.peers[role] = NULL;
		if (ops->peer_changed != NULL)
			ops->peer_changed(&W, role, NULL);
	}
	ipc_peer_free(p);
}

static void
sup_peer(struct ipc_msg *m)
{
	const char	*rname;
	size_t		 rlen;
	char		 name[32];
	uint64_t	 gen = 0;
	int		 role;
	struct ipc_peer	*old;

	if (ipc_get_str(m, "role", &rname, &rlen) == -1 || rlen >= sizeof(name))
		fatalx("peer: bad role");
	memcpy(name, rname, rlen);
	name[rlen] = '\0';
	if ((role = ipc_role_from_name(name)) == -1)
		fatalx("peer: bad role %s", name);
	/* Its fd was lost (EMFILE): start over, and be wired again. */
	if (m->nfds != 1)
		fatalx("peer %s: the connection's fd did not arrive", name);
	(void)ipc_get_u64(m, "gen", &gen);
	old = W.peers[role];
	W.peers[role] = ipc_peer_new(W.base, m->fds[0], W.role, role, 0,
	    peer_dispatch, peer_close, NULL);
	m->fds[0] = -1;
	W.peer_gen[role] = gen;
	if (old != NULL)
		ipc_peer_free(old);
	log_debug("peer %s connected (gen %llu)", name,
	    (unsigned long long)gen);
	if (ops->peer_changed != NULL)
		ops->peer_changed(&W, role, W.peers[role]);
}

static void
sup_dispatch(struct ipc_peer *p, struct ipc_msg *m, void *arg)
{
	struct ipc_buf	*b;
	uint64_t	 seq = 0;

	switch (m->type) {
	case IPC_MSG_PING:
		(void)ipc_get_u64(m, "seq", &seq);
		b = ipc_new(IPC_MSG_PONG, m->id);
		ipc_add_u64(b, "seq", seq);
		(void)ipc_peer_send(p, b);
		break;
	case IPC_MSG_PEER:
		sup_peer(m);
		break;
	case IPC_MSG_SHUTDOWN:
		log_debug("shutdown");
		worker_exit(0);
		break;
	default:
		if (ops->dispatch_sup != NULL) {
			ops->dispatch_sup(&W, m);
			break;
		}
		fatalx("unexpected %s from the supervisor",
		    ipc_msg_name(m->type));
	}
}

static void
sup_close(struct ipc_peer *p, const char *err, void *arg)
{
	/* The supervisor went away: nothing left to serve. */
	W.sup = NULL;
	ipc_peer_free(p);
	log_set_sink(NULL, NULL);
	if (err != NULL)
		log_warnx("supervisor: %s", err);
	worker_exit(0);
}

static char *
cfg_str(struct ipc_msg *m, const char *key)
{
	char	*s = ipc_get_strdup(m, key);

	return s;
}

void
worker_main(int argc, char **argv, const struct worker_ops *o)
{
	struct ipc_rbuf		*rb;
	struct ipc_msg		 m;
	struct ipc_buf		*b;
	struct sbx_ctx		 sc;
	char			 err[256];
	int			 c, r, sb = 1;
	uint64_t		 v;

	ops = o;
	memset(&W, 0, sizeof(W));
	W.role = o->role;
	log_init(ipc_role_name(o->role), 0);
	while ((c = getopt(argc, argv, "v")) != -1) {
		switch (c) {
		case 'v':
			W.verbose++;
			break;
		default:
			fatalx("usage: %s [-v] (started by hermesd)", argv[0]);
		}
	}
	log_set_verbose(W.verbose);
	if (fcntl(SUP_FD, F_GETFD) == -1)
		fatalx("no supervisor channel on fd %d: this program is "
		    "started by hermesd", SUP_FD);
	(void)signal(SIGPIPE, SIG_IGN);

	b = ipc_new(IPC_MSG_HELLO, 0);
	ipc_add_u64(b, "version", IPC_PROTOCOL_VERSION);
	ipc_add_str(b, "role", ipc_role_name(o->role));
	ipc_add_u64(b, "pid", (uint64_t)getpid());
	if (ipc_send_fd(SUP_FD, b) == -1)
		fatal("hello");

	rb = ipc_rbuf_new(o->role, ROLE_SUPERVISOR, 0);
	r = ipc_recv_fd(SUP_FD, rb, 10000, &m, err, sizeof(err));
	if (r != 1)
		fatalx("config: %s", r == 0 ? "timeout" : err);
	if (m.type != IPC_MSG_CONFIG)
		fatalx("expected config, got %s", ipc_msg_name(m.type));
	W.home = cfg_str(&m, "home");
	W.tenant = cfg_str(&m, "tenant");
	W.config_json = cfg_str(&m, "config");
	W.workspace = cfg_str(&m, "workspace");
	if (ipc_get_u64(&m, "verbose", &v) == 0 && (int)v > W.verbose) {
		W.verbose = (int)v;
		log_set_verbose(W.verbose);
	}
	(void)ipc_get_bool(&m, "sandbox", &sb);
	W.sandbox_on = sb;
	(void)ipc_get_bool(&m, "require", &W.require);
	(void)ipc_get_bool(&m, "network", &W.network);
	W.sockpath = cfg_str(&m, "socket");
	if (W.home == NULL || W.tenant == NULL || W.config_json == NULL)
		fatalx("config: bad strings");
	if ((W.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if (o->setup != NULL && o->setup(&W, ipc_get(&m, "secrets")) == -1)
		fatalx("setup failed");
	/* The CONFIG frame (secrets included) is zeroed here. */
	ipc_rbuf_free(rb);

	memset(&sc, 0, sizeof(sc));
	sc.home = W.home;
	sc.workspace = W.workspace;
	sc.require = W.require;
	sc.network = W.network;
	if (!W.sandbox_on)
		setenv("HERMES_SANDBOX", "off", 1);
	if (sandbox_enter(o->profile, &sc) == -1)
		fatalx("sandbox_enter(%s) failed", sandbox_profile_name(o->profile));

	W.sup = ipc_peer_new(W.base, SUP_FD, o->role, ROLE_SUPERVISOR, 1,
	    sup_dispatch, sup_close, NULL);
	log_set_sink(log_to_sup, NULL);
	log_set_flush(flush_sup);
	b = ipc_new(IPC_MSG_READY, 0);
	ipc_add_str(b, "sandbox", sandbox_report());
	(void)ipc_peer_send(W.sup, b);

	event_base_dispatch(W.base);
	worker_exit(0);
	exit(0);
}
