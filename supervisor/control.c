/*
 * The control socket: one instance (lock file + connect probe), a 0700
 * directory and a 0600 socket, SO_PEERCRED, a per-uid connection cap, an
 * fd reserve, the protocol version at hello, then status, doctor, stop,
 * or the hand-over of a chat connection to the tenant's agent.
 */
#include <sys/file.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "supervisor/sup.h"

enum client_state {
	CL_HELLO = 0,		/* waiting for CLIENT_HELLO */
	CL_OPEN,		/* status/doctor/ping: stays for notices */
	CL_WAIT_AGENT,		/* chat: detached, waiting for the agent */
};

struct client {
	struct ipc_peer		*peer;
	int			 fd;		/* CL_WAIT_AGENT only */
	uid_t			 uid;
	pid_t			 pid;
	struct tenant		*t;
	enum client_state	 state;
	struct event		*timer;
	TAILQ_ENTRY(client)	 entry;
};
TAILQ_HEAD(clientq, client);

static struct clientq	 clients = TAILQ_HEAD_INITIALIZER(clients);
static struct clientq	 waiting = TAILQ_HEAD_INITIALIZER(waiting);
static int		 listen_fd = -1, lock_fd = -1;
static struct event	*ev_accept, *ev_pause;
static rlim_t		 fd_limit;

static void	client_dispatch(struct ipc_peer *, struct ipc_msg *, void *);
static void	client_close(struct ipc_peer *, const char *, void *);

static int
mkdir_private(const char *dir, mode_t mode)
{
	struct stat	 st;
	char		 tmp[4096], *parent;

	if (lstat(dir, &st) == -1) {
		if (errno != ENOENT)
			return -1;
		strlcpy(tmp, dir, sizeof(tmp));
		parent = dirname(tmp);
		if (strcmp(parent, dir) != 0 &&
		    mkdir_private(parent, mode) == -1 && errno != EEXIST)
			return -1;
		if (mkdir(dir, mode) == -1 && errno != EEXIST)
			return -1;
		/* System mode: other uids must reach the socket (umask). */
		if (chmod(dir, mode) == -1)
			return -1;
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/*
 * The socket's own directory must be ours and, in personal mode, private.
 * An existing directory is never chmod'ed: one that others can enter is
 * refused (a wrong HERMES_SOCKET must not open up, say, "/").
 */
static int
check_sockdir(const char *dir)
{
	struct stat	 st;

	if (mkdir_private(dir, sup.system_mode ? 0755 : 0700) == -1) {
		log_warn("%s", dir);
		return -1;
	}
	if (lstat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		log_warnx("%s: not a directory", dir);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		log_warnx("%s: not owned by uid %d", dir, (int)geteuid());
		return -1;
	}
	if (!sup.system_mode && (st.st_mode & 077) != 0) {
		log_warnx("%s is open to others (mode %03o): the control socket "
		    "needs a private directory (chmod 700 it, or point "
		    "HERMES_SOCKET elsewhere)", dir, st.st_mode & 0777);
		return -1;
	}
	return 0;
}

static void
pause_done(evutil_socket_t fd, short ev, void *arg)
{
	(void)event_add(ev_accept, NULL);
}

static void
accept_pause(int ms)
{
	struct timeval	 tv = { 0, ms * 1000 };

	(void)event_del(ev_accept);
	(void)evtimer_add(ev_pause, &tv);
}

static void
refuse(int fd, const char *code, const char *msg)
{
	struct ipc_buf	*b = ipc_new(IPC_MSG_ERROR, 0);

	ipc_add_str(b, "code", code);
	ipc_add_str(b, "message", msg);
	(void)set_nonblock(fd);
	(void)ipc_send_fd(fd, b);
	close(fd);
}

static int
uid_count(uid_t uid)
{
	struct client	*c;
	int		 n = 0;

	TAILQ_FOREACH(c, &clients, entry)
		if (c->uid == uid)
			n++;
	TAILQ_FOREACH(c, &waiting, entry)
		if (c->uid == uid)
			n++;
	return n;
}

static struct tenant *
tenant_of(uid_t uid)
{
	size_t	 i;

	for (i = 0; i < sup.ntenants; i++)
		if (sup.tenants[i].uid == uid)
			return &sup.tenants[i];
	return NULL;
}

static void
client_free(struct client *c)
{
	if (c->timer != NULL)
		event_free(c->timer);
	if (c->peer != NULL)
		ipc_peer_free(c->peer);
	if (c->fd != -1)
		close(c->fd);
	free(c);
}

static void
client_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct client	*c = arg;

	if (c->state == CL_HELLO) {
		TAILQ_REMOVE(&clients, c, entry);
		ipc_peer_fail(c->peer, "no hello within %d ms",
		    SUP_HANDSHAKE_MS);
		return;		/* client_close frees it */
	}
	if (c->state == CL_WAIT_AGENT) {
		TAILQ_REMOVE(&waiting, c, entry);
		refuse(c->fd, "unavailable", "the agent worker is not "
		    "running (see hermes status and the hermesd log)");
		c->fd = -1;
		client_free(c);
	}
}

static void
accept_cb(evutil_socket_t lfd, short ev, void *arg)
{
	struct client	*c;
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);
	struct timeval	 tv = { SUP_HANDSHAKE_MS / 1000,
			    (SUP_HANDSHAKE_MS % 1000) * 1000 };
	struct tenant	*t;
	long		 cap;
	int		 fd;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd == -1) {
		if (errno == EMFILE || errno == ENFILE) {
			log_warnx("accept: out of fds: pausing");
			accept_pause(200);
		} else if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	/* Keep a reserve of fds for workers and their wiring. */
	if (fd_limit != RLIM_INFINITY &&
	    (rlim_t)fd + SUP_FD_RESERVE >= fd_limit) {
		refuse(fd, "busy", "hermesd is out of file descriptors");
		accept_pause(100);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("SO_PEERCRED");
		close(fd);
		return;
	}
	if ((t = tenant_of(cred.uid)) == NULL) {
		log_info("refused a client of uid %d (pid %d): not a tenant",
		    (int)cred.uid, (int)cred.pid);
		refuse(fd, "auth", "this hermesd does not serve your uid");
		return;
	}
	cap = t->cfg->max_clients_per_uid > 0 ?
	    t->cfg->max_clients_per_uid : SUP_MAX_CONN_PER_UID;
	if (uid_count(cred.uid) >= cap) {
		refuse(fd, "busy", "too many connections for this uid");
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = -1;
	c->uid = cred.uid;
	c->pid = cred.pid;
	c->t = t;
	c->state = CL_HELLO;
	c->peer = ipc_peer_new(sup.base, fd, ROLE_SUPERVISOR, ROLE_CLIENT, 0,
	    client_dispatch, client_close, c);
	c->timer = evtimer_new(sup.base, client_timeout, c);
	(void)evtimer_add(c->timer, &tv);
	TAILQ_INSERT_TAIL(&clients, c, entry);
}

static void
send_status(struct client *c)
{
	struct ipc_buf	*b = ipc_new(IPC_MSG_STATUS, 0);
	msgpack_packer	*pk;
	struct proc	*p;
	uint64_t	 now = now_ms();
	int		 r, n = 0;

	for (r = 0; r < ROLE_MAX; r++)
		if (c->t->procs[r].t != NULL && c->t->active[r])
			n++;
	ipc_add_u64(b, "pid", (uint64_t)getpid());
	ipc_add_u64(b, "uptime_ms", now - sup.started_ms);
	pk = ipc_add_key(b, "workers");
	msgpack_pack_array(pk, (size_t)n + 1);
	msgpack_pack_map(pk, 7);
	ipc_pk_str(pk, "role"); ipc_pk_str(pk, "supervisor");
	ipc_pk_str(pk, "pid"); msgpack_pack_uint64(pk, (uint64_t)getpid());
	ipc_pk_str(pk, "state"); ipc_pk_str(pk, "ready");
	ipc_pk_str(pk, "uptime_ms");
	msgpack_pack_uint64(pk, now - sup.started_ms);
	ipc_pk_str(pk, "restarts"); msgpack_pack_uint64(pk, 0);
	ipc_pk_str(pk, "rss_kb");
	msgpack_pack_int64(pk, proc_rss_kb(getpid()));
	ipc_pk_str(pk, "tenant"); ipc_pk_str(pk, c->t->name);
	for (r = 0; r < ROLE_MAX; r++) {
		p = &c->t->procs[r];
		if (p->t == NULL || !c->t->active[r])
			continue;
		msgpack_pack_map(pk, 8);
		ipc_pk_str(pk, "role"); ipc_pk_str(pk, ipc_role_name(r));
		ipc_pk_str(pk, "pid"); msgpack_pack_uint64(pk, (uint64_t)p->pid);
		ipc_pk_str(pk, "state"); ipc_pk_str(pk, proc_state_name(p->state));
		ipc_pk_str(pk, "uptime_ms");
		msgpack_pack_uint64(pk, p->state == PS_READY ?
		    now - p->ready_ms : 0);
		ipc_pk_str(pk, "restarts");
		msgpack_pack_uint64(pk, (uint64_t)p->restarts);
		ipc_pk_str(pk, "rss_kb");
		msgpack_pack_int64(pk, p->pid > 0 ? proc_rss_kb(p->pid) : 0);
		ipc_pk_str(pk, "tenant"); ipc_pk_str(pk, c->t->name);
		ipc_pk_str(pk, "program"); ipc_pk_str(pk, p->bin);
	}
	(void)ipc_peer_send(c->peer, b);
}

static void
send_welcome(struct client *c)
{
	struct ipc_buf	*b = ipc_new(IPC_MSG_WELCOME, 0);

	ipc_add_u64(b, "version", IPC_PROTOCOL_VERSION);
	ipc_add_u64(b, "pid", (uint64_t)getpid());
	ipc_add_str(b, "tenant", c->t->name);
	(void)ipc_peer_send(c->peer, b);
}

/*
 * A chat is handed over once the agent is ready and every other role of
 * the tenant is ready (so wired to it) or given up on: a client arriving
 * while the store restarts waits for it rather than meeting an agent
 * without its store.
 */
static int
tenant_settled(struct tenant *t)
{
	int	 r;

	if (t->procs[ROLE_AGENT].state != PS_READY ||
	    t->procs[ROLE_AGENT].peer == NULL)
		return 0;
	for (r = 0; r < ROLE_MAX; r++) {
		if (!t->active[r] || t->procs[r].t == NULL)
			continue;
		if (t->procs[r].state != PS_READY &&
		    t->procs[r].state != PS_FAILED)
			return 0;
	}
	return 1;
}

int
control_attach(struct tenant *t, struct client *c)
{
	struct proc	*a = &t->procs[ROLE_AGENT];
	struct ipc_buf	*b;

	if (!tenant_settled(t))
		return -1;
	b = ipc_new(IPC_MSG_CLIENT_ATTACH, 0);
	ipc_add_u64(b, "uid", (uint64_t)c->uid);
	ipc_add_u64(b, "pid", (uint64_t)c->pid);
	ipc_add_fd(b, c->fd, 1);
	c->fd = -1;
	return ipc_peer_send(a->peer, b);
}

void
control_agent_ready(struct tenant *t)
{
	struct client	*c, *next;

	if (!tenant_settled(t))
		return;

	for (c = TAILQ_FIRST(&waiting); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->t != t)
			continue;
		TAILQ_REMOVE(&waiting, c, entry);
		if (control_attach(t, c) == -1 && c->fd != -1)
			refuse(c->fd, "unavailable", "the agent is not running");
		c->fd = -1;
		client_free(c);
	}
}

void
control_agent_failed(struct tenant *t)
{
	/* Waiting clients keep waiting for the restart (or their timer). */
}

void
control_notice_all(struct tenant *t, const char *role, const char *state,
    const char *msg)
{
	struct client	*c;
	struct ipc_buf	*b;

	TAILQ_FOREACH(c, &clients, entry) {
		if (c->t != t || c->state != CL_OPEN)
			continue;
		b = ipc_new(IPC_MSG_NOTICE, 0);
		ipc_add_str(b, "role", role);
		ipc_add_str(b, "state", state);
		ipc_add_str(b, "message", msg);
		(void)ipc_peer_send(c->peer, b);
	}
}

static void
client_hello(struct client *c, struct ipc_msg *m)
{
	uint64_t	 v = 0;
	const char	*mode;
	size_t		 n;
	char		*doc;
	struct ipc_buf	*b;
	struct timeval	 tv = { 10, 0 };
	int		 fd;

	(void)ipc_get_u64(m, "version", &v);
	if (v != IPC_PROTOCOL_VERSION) {
		ipc_peer_fail_code(c->peer, "version", "protocol version "
		    "mismatch: client %llu,"
		    " hermesd %d; use matching binaries (hermes stop, then "
		    "start again)", (unsigned long long)v, IPC_PROTOCOL_VERSION);
		return;
	}
	(void)ipc_get_str(m, "mode", &mode, &n);
	(void)evtimer_del(c->timer);
	if (n == 6 && memcmp(mode, "status", 6) == 0) {
		c->state = CL_OPEN;
		send_welcome(c);
		send_status(c);
	} else if (n == 6 && memcmp(mode, "doctor", 6) == 0) {
		c->state = CL_OPEN;
		send_welcome(c);
		doc = sup_doctor_json(c->t);
		b = ipc_new(IPC_MSG_DOCTOR, 0);
		ipc_add_str(b, "report", doc);
		free(doc);
		(void)ipc_peer_send(c->peer, b);
	} else if (n == 4 && memcmp(mode, "ping", 4) == 0) {
		c->state = CL_OPEN;
		send_welcome(c);
	} else if (n == 4 && memcmp(mode, "stop", 4) == 0) {
		c->state = CL_OPEN;
		send_welcome(c);
		log_info("stop requested by uid %d (pid %d)", (int)c->uid,
		    (int)c->pid);
		(void)raise(SIGTERM);
	} else if (n == 4 && memcmp(mode, "chat", 4) == 0) {
		send_welcome(c);
		if (ipc_peer_flush_wait(c->peer, 1000) == -1 ||
		    (fd = ipc_peer_detach(c->peer)) == -1) {
			ipc_peer_fail(c->peer, "send nothing after hello "
			    "until welcome");
			return;
		}
		c->peer = NULL;
		c->fd = fd;
		TAILQ_REMOVE(&clients, c, entry);
		if (control_attach(c->t, c) == 0) {
			client_free(c);
			return;
		}
		c->state = CL_WAIT_AGENT;
		TAILQ_INSERT_TAIL(&waiting, c, entry);
		(void)evtimer_add(c->timer, &tv);
	} else
		ipc_peer_fail(c->peer, "unknown mode \"%.*s\"",
		    (int)(n > 32 ? 32 : n), mode);
}

static void
client_dispatch(struct ipc_peer *peer, struct ipc_msg *m, void *arg)
{
	struct client	*c = arg;
	struct ipc_buf	*b;
	uint64_t	 seq = 0;

	switch (m->type) {
	case IPC_MSG_CLIENT_HELLO:
		if (c->state != CL_HELLO) {
			ipc_peer_fail(peer, "hello twice");
			return;
		}
		client_hello(c, m);
		break;
	case IPC_MSG_PING:
		if (c->state != CL_OPEN) {
			ipc_peer_fail(peer, "ping before hello");
			return;
		}
		(void)ipc_get_u64(m, "seq", &seq);
		b = ipc_new(IPC_MSG_PONG, m->id);
		ipc_add_u64(b, "seq", seq);
		(void)ipc_peer_send(peer, b);
		break;
	default:
		ipc_peer_fail(peer, "unexpected %s", ipc_msg_name(m->type));
	}
}

static void
client_close(struct ipc_peer *peer, const char *err, void *arg)
{
	struct client	*c = arg;

	if (err != NULL)
		log_debug("client uid %d pid %d: %s", (int)c->uid,
		    (int)c->pid, err);
	if (c->state != CL_WAIT_AGENT && c->peer != NULL) {
		struct client	*x;

		TAILQ_FOREACH(x, &clients, entry)
			if (x == c)
				break;
		if (x != NULL)
			TAILQ_REMOVE(&clients, c, entry);
	}
	client_free(c);
}

int
control_listen(void)
{
	struct sockaddr_un	 sun;
	struct rlimit		 rl;
	char			 dir[4096], lockpath[4096 + 8];
	mode_t			 old;
	int			 fd;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		fd_limit = rl.rlim_cur;
	else
		fd_limit = 1024;
	strlcpy(dir, sup.sockpath, sizeof(dir));
	if (check_sockdir(dirname(dir)) == -1)
		return -1;
	/* "<sock>.pid", locked for the daemon's life ("<sock>.lock" is the
	 * CLI's, held while it starts a daemon). */
	snprintf(lockpath, sizeof(lockpath), "%s.pid", sup.sockpath);
	if ((lock_fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		log_warn("%s", lockpath);
		return -1;
	}
	if (flock(lock_fd, LOCK_EX | LOCK_NB) == -1) {
		log_warnx("another hermesd is running (%s is locked)",
		    lockpath);
		return -1;
	}
	if (ftruncate(lock_fd, 0) == 0)
		(void)dprintf(lock_fd, "%d\n", (int)getpid());
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, sup.sockpath, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		log_warnx("socket path too long: %s", sup.sockpath);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1)
		fatal("socket");
	/* Someone answering on it is a live instance (no lock: NFS?). */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		log_warnx("another hermesd answers on %s", sup.sockpath);
		close(fd);
		return -1;
	}
	(void)unlink(sup.sockpath);
	old = umask(sup.system_mode ? 0111 : 0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("bind %s", sup.sockpath);
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(sup.sockpath, sup.system_mode ? 0666 : 0600) == -1 ||
	    listen(fd, 128) == -1) {
		log_warn("%s", sup.sockpath);
		close(fd);
		return -1;
	}
	listen_fd = fd;
	ev_accept = event_new(sup.base, fd, EV_READ | EV_PERSIST, accept_cb,
	    NULL);
	ev_pause = evtimer_new(sup.base, pause_done, NULL);
	if (ev_accept == NULL || ev_pause == NULL ||
	    event_add(ev_accept, NULL) == -1)
		fatalx("control: event_new");
	return 0;
}

void
control_close(void)
{
	struct client	*c;
	char		 lockpath[4096 + 8];

	while ((c = TAILQ_FIRST(&clients)) != NULL) {
		TAILQ_REMOVE(&clients, c, entry);
		client_free(c);
	}
	while ((c = TAILQ_FIRST(&waiting)) != NULL) {
		TAILQ_REMOVE(&waiting, c, entry);
		client_free(c);
	}
	if (listen_fd != -1) {
		event_free(ev_accept);
		event_free(ev_pause);
		close(listen_fd);
		(void)unlink(sup.sockpath);
		listen_fd = -1;
	}
	if (lock_fd != -1) {
		snprintf(lockpath, sizeof(lockpath), "%s.pid", sup.sockpath);
		(void)unlink(lockpath);
		close(lock_fd);
		lock_fd = -1;
	}
}
