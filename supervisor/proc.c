/*
 * The process table: spawn (fork+exec, channel on fd 3), handshake,
 * wiring of worker-to-worker socketpairs, restart with backoff and an
 * intensity limit, heartbeats, shutdown.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "supervisor/sup.h"

/* Which program serves each role. */
static const struct {
	int		 role;
	const char	*bin;
} role_bins[] = {
	{ ROLE_STORE,	"hermes-store" },
	{ ROLE_FETCH,	"hermes-llm-fetch" },
	{ ROLE_TOOL,	"hermes-tool-local" },
	{ ROLE_AGENT,	"hermes-agent" },
};

/* Worker-to-worker channels: the supervisor makes them, never relays. */
static const int links[][2] = {
	{ ROLE_AGENT, ROLE_FETCH },
	{ ROLE_AGENT, ROLE_STORE },
	{ ROLE_AGENT, ROLE_TOOL },
};

/* Environment a worker may inherit (everything else is dropped). */
static const char *const env_keep[] = {
	"HERMES_SANDBOX", "SANDBOX_DEBUG", "ASAN_OPTIONS", "UBSAN_OPTIONS",
	"LSAN_OPTIONS", "TZ", "HERMES_FAULT",
};

static const char *const state_names[] = {
	[PS_STOPPED] = "stopped",
	[PS_STARTING] = "starting",
	[PS_READY] = "ready",
	[PS_BACKOFF] = "backoff",
	[PS_FAILED] = "failed",
};

static void	proc_dispatch(struct ipc_peer *, struct ipc_msg *, void *);
static void	proc_close(struct ipc_peer *, const char *, void *);
static void	proc_timer(evutil_socket_t, short, void *);

const char *
proc_state_name(enum proc_state s)
{
	return state_names[s];
}

static const char *
tool_bin(struct tenant *t)
{
	switch (t->cfg->backend) {
	case CFG_BACKEND_SSH:
		return "hermes-tool-ssh";
	case CFG_BACKEND_DOCKER:
		return "hermes-tool-docker";
	default:
		return "hermes-tool-local";
	}
}

void
proc_init_tenant(struct tenant *t)
{
	const char	*only = getenv("HERMES_WORKERS");
	size_t		 i;
	struct proc	*p;

	for (i = 0; i < nitems(role_bins); i++) {
		p = &t->procs[role_bins[i].role];
		p->t = t;
		p->role = role_bins[i].role;
		p->bin = role_bins[i].bin;
		if (p->role == ROLE_TOOL)
			p->bin = tool_bin(t);
		p->backoff_ms = SUP_RESTART_MIN_MS;
		p->timer = evtimer_new(sup.base, proc_timer, p);
		if (p->timer == NULL)
			fatalx("evtimer_new");
		/* HERMES_WORKERS=agent,store: run only these (debugging). */
		if (only != NULL && *only != '\0') {
			char	*dup = xstrdup(only), *tok, *save = NULL;

			for (tok = strtok_r(dup, ",", &save); tok != NULL;
			    tok = strtok_r(NULL, ",", &save))
				if (ipc_role_from_name(tok) == p->role)
					t->active[p->role] = 1;
			free(dup);
		} else
			t->active[p->role] = 1;
	}
}

long
proc_rss_kb(pid_t pid)
{
	char	 path[64];
	FILE	*f;
	long	 size, rss;

	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void
timer_in(struct proc *p, uint64_t ms)
{
	struct timeval	 tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	(void)evtimer_add(p->timer, &tv);
}

static void
child_exec(struct proc *p, int fd)
{
	char		 path[4096 + 64], *envp[nitems(env_keep) + 4];
	char		*argv[4];
	const char	*v;
	sigset_t	 all;
	size_t		 i, n = 0;
	int		 sig, nullfd, logfd;

	/* Undo the supervisor's signal state (libevent's handlers). */
	for (sig = 1; sig < NSIG; sig++)
		(void)signal(sig, SIG_DFL);
	sigemptyset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
	(void)setpgid(0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	/* Move the channel and the log out of the way of 0-3 first. */
	if ((fd = fcntl(fd, F_DUPFD_CLOEXEC, 10)) == -1)
		_exit(126);
	logfd = sup.logfd != -1 ? fcntl(sup.logfd, F_DUPFD_CLOEXEC, 10) : -1;
	if ((nullfd = open("/dev/null", O_RDWR | O_CLOEXEC)) != -1) {
		(void)dup2(nullfd, 0);
		(void)dup2(nullfd, 1);
		if (!sup.foreground)
			(void)dup2(logfd != -1 ? logfd : nullfd, 2);
	}
	if (dup2(fd, 3) == -1)
		_exit(126);
	closefrom_fd(4);

	if (sup.system_mode && p->t->uid != 0) {
		if (setgroups(0, NULL) == -1 ||
		    setresgid(p->t->gid, p->t->gid, p->t->gid) == -1 ||
		    setresuid(p->t->uid, p->t->uid, p->t->uid) == -1)
			_exit(125);
	}
	if (chdir("/") == -1)
		_exit(124);

	envp[n++] = (char *)"PATH=/usr/local/bin:/usr/bin:/bin";
	envp[n++] = (char *)"LANG=C.UTF-8";
	for (i = 0; i < nitems(env_keep); i++) {
		char	*kv;

		if ((v = getenv(env_keep[i])) == NULL)
			continue;
		if (asprintf(&kv, "%s=%s", env_keep[i], v) == -1)
			_exit(123);
		envp[n++] = kv;
	}
	envp[n] = NULL;

	snprintf(path, sizeof(path), "%s/%s", sup.libexec, p->bin);
	argv[0] = path;
	argv[1] = sup.verbose > 1 ? (char *)"-vv" :
	    sup.verbose ? (char *)"-v" : NULL;
	argv[2] = NULL;
	execve(path, argv, envp);
	dprintf(STDERR_FILENO, "hermesd: exec %s: %s\n", path, strerror(errno));
	_exit(127);
}

void
proc_start(struct proc *p)
{
	int	 sv[2];
	pid_t	 pid;

	if (sup.shutting_down || !p->t->active[p->role])
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("%s: socketpair", ipc_role_name(p->role));
		p->state = PS_BACKOFF;
		timer_in(p, p->backoff_ms);
		return;
	}
	switch ((pid = fork())) {
	case -1:
		log_warn("%s: fork", ipc_role_name(p->role));
		close(sv[0]);
		close(sv[1]);
		p->state = PS_BACKOFF;
		timer_in(p, p->backoff_ms);
		return;
	case 0:
		close(sv[0]);
		child_exec(p, sv[1]);
		_exit(127);
	}
	close(sv[1]);
	p->pid = pid;
	p->gen++;
	p->missed = 0;
	p->ready_ms = 0;
	p->stopping = 0;
	p->spawned_ms = now_ms();
	p->spawned_us = now_us();
	p->state = PS_STARTING;
	p->peer = ipc_peer_new(sup.base, sv[0], ROLE_SUPERVISOR, p->role, 0,
	    proc_dispatch, proc_close, p);
	timer_in(p, SUP_HANDSHAKE_MS);
	log_debug("%s: started pid %d", ipc_role_name(p->role), (int)pid);
}

void
proc_start_all(void)
{
	size_t	 i, j;

	for (i = 0; i < sup.ntenants; i++)
		for (j = 0; j < nitems(role_bins); j++)
			proc_start(&sup.tenants[i].procs[role_bins[j].role]);
}

/* Hand each side of a new socketpair to two ready workers. */
static void
wire(struct proc *a, struct proc *b)
{
	struct ipc_buf	*m;
	int		 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("wire %s-%s", ipc_role_name(a->role),
		    ipc_role_name(b->role));
		return;
	}
	m = ipc_new(IPC_MSG_PEER, 0);
	ipc_add_str(m, "role", ipc_role_name(b->role));
	ipc_add_u64(m, "pid", (uint64_t)b->pid);
	ipc_add_u64(m, "gen", b->gen);
	ipc_add_fd(m, sv[0], 1);
	(void)ipc_peer_send(a->peer, m);
	m = ipc_new(IPC_MSG_PEER, 0);
	ipc_add_str(m, "role", ipc_role_name(a->role));
	ipc_add_u64(m, "pid", (uint64_t)a->pid);
	ipc_add_u64(m, "gen", a->gen);
	ipc_add_fd(m, sv[1], 1);
	(void)ipc_peer_send(b->peer, m);
}

static void
wire_all(struct proc *p)
{
	struct proc	*o;
	size_t		 i;

	for (i = 0; i < nitems(links); i++) {
		if (links[i][0] == p->role)
			o = &p->t->procs[links[i][1]];
		else if (links[i][1] == p->role)
			o = &p->t->procs[links[i][0]];
		else
			continue;
		if (o->state == PS_READY && o->peer != NULL)
			wire(p, o);
	}
}

void
proc_notify(struct tenant *t, int role, const char *state, const char *fmt,
    ...)
{
	struct ipc_buf	*b;
	struct proc	*agent = &t->procs[ROLE_AGENT];
	char		 msg[512];
	va_list		 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	control_notice_all(t, ipc_role_name(role), state, msg);
	if (role != ROLE_AGENT && agent->state == PS_READY &&
	    agent->peer != NULL) {
		b = ipc_new(IPC_MSG_NOTICE, 0);
		ipc_add_str(b, "role", ipc_role_name(role));
		ipc_add_str(b, "state", state);
		ipc_add_str(b, "message", msg);
		(void)ipc_peer_send(agent->peer, b);
	}
}

static void
count_secret(const char *path, const char *value, void *arg)
{
	(*(size_t *)arg)++;
}

static void
pack_secret(const char *path, const char *value, void *arg)
{
	ipc_pk_str(arg, path);
	ipc_pk_str(arg, value);
}

static void
send_config(struct proc *p)
{
	struct tenant	*t = p->t;
	struct ipc_buf	*b;
	msgpack_packer	*pk;
	const char	*ws;
	size_t		 i, n = 0;

	b = ipc_new(IPC_MSG_CONFIG, 0);
	ipc_add_str(b, "home", t->home);
	ipc_add_str(b, "tenant", t->name);
	ipc_add_str(b, "config", t->config_json);
	ipc_add_u64(b, "verbose", (uint64_t)log_get_verbose());
	ipc_add_bool(b, "sandbox", sup.sandbox_on);
	ipc_add_bool(b, "require", t->cfg->sandbox_require);
	ipc_add_str(b, "socket", sup.sockpath);
	if (p->role == ROLE_TOOL) {
		/* Commands get the network only when asked for:
		 * terminal.network, else sandbox.network, else off. */
		json_t	*net = config_get(t->cfg, "terminal.network");

		if (net == NULL)
			net = config_get(t->cfg, "sandbox.network");
		ipc_add_bool(b, "network", json_is_true(net));
	}
	if ((ws = t->cfg->terminal_cwd) != NULL && *ws == '/')
		ipc_add_str(b, "workspace", ws);
	else if ((ws = getenv("HERMES_WORKSPACE")) != NULL && *ws == '/')
		ipc_add_str(b, "workspace", ws);
	/* Keys go to llm-fetch alone: every .env entry, and the secrets
	 * config_public_json() took out of config.yaml, by dotted path. */
	if (p->role == ROLE_FETCH) {
		n = t->env != NULL ? t->env->nvars : 0;
		config_foreach_secret(t->cfg, count_secret, &n);
		pk = ipc_add_key(b, "secrets");
		msgpack_pack_map(pk, n);
		for (i = 0; t->env != NULL && i < t->env->nvars; i++) {
			ipc_pk_str(pk, t->env->vars[i].name);
			ipc_pk_str(pk, t->env->vars[i].value);
		}
		config_foreach_secret(t->cfg, pack_secret, pk);
	}
	(void)ipc_peer_send(p->peer, b);
}

static void
proc_dispatch(struct ipc_peer *peer, struct ipc_msg *m, void *arg)
{
	struct proc	*p = arg;
	const char	*s;
	size_t		 n;
	uint64_t	 v = 0;
	char		 line[LOG_MAX_LINE];

	switch (m->type) {
	case IPC_MSG_HELLO:
		if (p->state != PS_STARTING || ipc_get_u64(m, "version", &v) ||
		    v != IPC_PROTOCOL_VERSION) {
			log_warnx("%s: bad hello (version %llu, ours %d)",
			    ipc_role_name(p->role), (unsigned long long)v,
			    IPC_PROTOCOL_VERSION);
			ipc_peer_fail(peer, "bad hello");
			return;
		}
		if (ipc_get_str(m, "role", &s, &n) == -1 ||
		    n != strlen(ipc_role_name(p->role)) ||
		    memcmp(s, ipc_role_name(p->role), n) != 0) {
			ipc_peer_fail(peer, "wrong role");
			return;
		}
		send_config(p);
		break;
	case IPC_MSG_READY:
		if (p->state != PS_STARTING) {
			ipc_peer_fail(peer, "unexpected ready");
			return;
		}
		p->state = PS_READY;
		p->ready_ms = now_ms();
		(void)evtimer_del(p->timer);
		free(p->sandbox);
		p->sandbox = ipc_get_strdup(m, "sandbox");
		log_debug("%s: ready in %llu us (pid %d, gen %llu)",
		    ipc_role_name(p->role),
		    (unsigned long long)(now_us() - p->spawned_us),
		    (int)p->pid, (unsigned long long)p->gen);
		wire_all(p);
		if (p->restarts > 0)
			proc_notify(p->t, p->role, "restarted",
			    "%s restarted (pid %d)", ipc_role_name(p->role),
			    (int)p->pid);
		control_agent_ready(p->t);	/* waiting chats, if settled */
		break;
	case IPC_MSG_LOG:
		if (ipc_get_str(m, "line", &s, &n) == -1)
			return;
		(void)ipc_get_u64(m, "level", &v);
		snprintf(line, sizeof(line), "%.*s", (int)n, s);
		sup_log_line(ipc_role_name(p->role), p->pid, (int)v, line);
		break;
	case IPC_MSG_PONG:
		p->missed = 0;
		break;
	case IPC_MSG_ALLOWLIST_ADD:
		if (ipc_get_str(m, "pattern", &s, &n) == -1 || n == 0 ||
		    n > 4096) {
			ipc_peer_fail(peer, "bad allowlist pattern");
			return;
		}
		snprintf(line, sizeof(line), "%.*s", (int)n, s);
		if (sup_allowlist_add(p->t, line) == -1)
			log_warnx("allowlist: could not update config.yaml");
		break;
	default:
		log_warnx("%s: unexpected %s", ipc_role_name(p->role),
		    ipc_msg_name(m->type));
		ipc_peer_fail(peer, "unexpected %s", ipc_msg_name(m->type));
	}
}

static void
proc_close(struct ipc_peer *peer, const char *err, void *arg)
{
	struct proc	*p = arg;

	if (err != NULL && !p->stopping)
		log_warnx("%s: channel: %s", ipc_role_name(p->role), err);
	ipc_peer_free(peer);
	p->peer = NULL;
	/* A worker without its channel is of no use: SIGCHLD restarts it. */
	if (p->pid > 0)
		(void)kill(-p->pid, SIGKILL);
}

static void
proc_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct proc	*p = arg;

	switch (p->state) {
	case PS_STARTING:
		log_warnx("%s: no ready within %d ms: killed",
		    ipc_role_name(p->role), SUP_HANDSHAKE_MS);
		if (p->pid > 0)
			(void)kill(-p->pid, SIGKILL);
		break;
	case PS_BACKOFF:
	case PS_STOPPED:
		proc_start(p);
		break;
	default:
		break;
	}
}

static void
proc_died(struct proc *p, int status)
{
	uint64_t	 now = now_ms(), delay;
	int		 i, j;
	char		 how[64];

	if (p->peer != NULL) {
		ipc_peer_free(p->peer);
		p->peer = NULL;
	}
	(void)evtimer_del(p->timer);
	/* Its process group may hold strays (a tool's children). */
	(void)kill(-p->pid, SIGKILL);
	p->pid = 0;
	p->died_ms = now;
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "killed by signal %d",
		    WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));
	if (sup.shutting_down) {
		p->state = PS_STOPPED;
		return;
	}
	if (p->stopping) {	/* reload */
		p->state = PS_STOPPED;
		p->stopping = 0;
		proc_start(p);
		return;
	}
	if (p->role == ROLE_AGENT)
		control_agent_failed(p->t);

	/* A worker that ran a while starts over with the shortest delay. */
	if (p->ready_ms != 0 && now - p->ready_ms > SUP_RESTART_PERIOD_S * 1000)
		p->backoff_ms = SUP_RESTART_MIN_MS;
	for (i = 0, j = 0; i < p->nrecent; i++)
		if (now - p->recent[i] < SUP_RESTART_PERIOD_S * 1000)
			p->recent[j++] = p->recent[i];
	p->nrecent = j;
	p->recent[p->nrecent++] = now;
	if (p->nrecent > SUP_RESTART_INTENSITY) {
		p->state = PS_FAILED;
		log_warnx("%s %s; more than %d restarts in %d s: giving up "
		    "on it (hermes status shows it failed)",
		    ipc_role_name(p->role), how, SUP_RESTART_INTENSITY,
		    SUP_RESTART_PERIOD_S);
		proc_notify(p->t, p->role, "failed",
		    "%s failed: %d restarts in %d s", ipc_role_name(p->role),
		    SUP_RESTART_INTENSITY + 1, SUP_RESTART_PERIOD_S);
		control_agent_ready(p->t);	/* chats need not wait for it */
		return;
	}
	delay = p->backoff_ms;
	p->backoff_ms = p->backoff_ms * 2 > SUP_RESTART_MAX_MS ?
	    SUP_RESTART_MAX_MS : p->backoff_ms * 2;
	p->restarts++;
	p->state = PS_BACKOFF;
	log_warnx("%s %s: restarting in %llu ms", ipc_role_name(p->role), how,
	    (unsigned long long)delay);
	timer_in(p, delay);
}

static struct proc *
find_pid(pid_t pid)
{
	size_t	 i;
	int	 r;

	for (i = 0; i < sup.ntenants; i++)
		for (r = 0; r < ROLE_MAX; r++)
			if (sup.tenants[i].procs[r].pid == pid &&
			    sup.tenants[i].procs[r].t != NULL)
				return &sup.tenants[i].procs[r];
	return NULL;
}

void
proc_sigchld(void)
{
	struct proc	*p;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((p = find_pid(pid)) != NULL)
			proc_died(p, status);
	}
}

void
proc_heartbeat(void)
{
	static uint64_t	 seq;
	struct proc	*p;
	struct ipc_buf	*b;
	size_t		 i;
	int		 r;

	seq++;
	for (i = 0; i < sup.ntenants; i++) {
		for (r = 0; r < ROLE_MAX; r++) {
			p = &sup.tenants[i].procs[r];
			if (p->t == NULL || p->state != PS_READY ||
			    p->peer == NULL)
				continue;
			if (p->missed >= SUP_HEARTBEAT_MISSES) {
				log_warnx("%s (pid %d) missed %d heartbeats: "
				    "killed", ipc_role_name(r), (int)p->pid,
				    p->missed);
				(void)kill(-p->pid, SIGKILL);
				(void)kill(p->pid, SIGKILL);
				continue;
			}
			b = ipc_new(IPC_MSG_PING, 0);
			ipc_add_u64(b, "seq", seq);
			(void)ipc_peer_send(p->peer, b);
			p->missed++;
		}
	}
}

void
proc_shutdown_all(void)
{
	struct proc	*p;
	size_t		 i;
	int		 r;

	for (i = 0; i < sup.ntenants; i++) {
		for (r = 0; r < ROLE_MAX; r++) {
			p = &sup.tenants[i].procs[r];
			if (p->t == NULL)
				continue;
			(void)evtimer_del(p->timer);
			p->stopping = 1;
			if (p->pid > 0 && p->peer != NULL)
				(void)ipc_peer_send(p->peer,
				    ipc_new(IPC_MSG_SHUTDOWN, 0));
			else if (p->pid > 0)
				(void)kill(-p->pid, SIGTERM);
		}
	}
}

int
proc_all_dead(void)
{
	size_t	 i;
	int	 r;

	for (i = 0; i < sup.ntenants; i++)
		for (r = 0; r < ROLE_MAX; r++)
			if (sup.tenants[i].procs[r].pid > 0)
				return 0;
	return 1;
}

void
proc_killall(int sig)
{
	size_t	 i;
	int	 r;
	pid_t	 pid;

	for (i = 0; i < sup.ntenants; i++)
		for (r = 0; r < ROLE_MAX; r++)
			if ((pid = sup.tenants[i].procs[r].pid) > 0) {
				(void)kill(-pid, sig);
				(void)kill(pid, sig);
			}
}

void
proc_restart_all(void)
{
	struct proc	*p;
	size_t		 i;
	int		 r;

	for (i = 0; i < sup.ntenants; i++) {
		for (r = 0; r < ROLE_MAX; r++) {
			p = &sup.tenants[i].procs[r];
			if (p->t == NULL)
				continue;
			p->nrecent = 0;
			p->backoff_ms = SUP_RESTART_MIN_MS;
			if (p->pid > 0) {
				p->stopping = 1;
				if (p->peer != NULL)
					(void)ipc_peer_send(p->peer,
					    ipc_new(IPC_MSG_SHUTDOWN, 0));
				else
					(void)kill(-p->pid, SIGTERM);
			} else if (p->state == PS_FAILED ||
			    p->state == PS_STOPPED) {
				p->state = PS_STOPPED;
				proc_start(p);
			}
		}
	}
}
