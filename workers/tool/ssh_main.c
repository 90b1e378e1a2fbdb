/*
 * hermes-tool-ssh: the terminal tool on a remote host through the
 * OpenSSH client. One ControlMaster per host, started here and owned by
 * pid (killed at exit); every command is a mux client of it with
 * BatchMode=yes and StrictHostKeyChecking=yes against the configured
 * known_hosts. Remote commands run under setsid with a marker in their
 * argv[0], so a timeout or kill ends the remote process group too.
 *
 * Config (config.yaml): terminal.ssh_host, ssh_user, ssh_port, ssh_key,
 * ssh_known_hosts (hermes-c: default ~/.ssh/known_hosts), terminal.cwd
 * (remote directory, default the remote home).
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "ipc/worker.h"
#include "sandbox/sandbox.h"
#include "workers/tool/exec.h"
#include "workers/tool/runner.h"
#include "workers/tool/tool.h"

#define SSH_BIN		"/usr/bin/ssh"
#define MASTER_WAIT_MS	10000
#define MAX_JOBS	256

static struct {
	char	*host;
	char	*user;
	char	*port;
	char	*key;
	char	*known_hosts;
	char	 dir[PATH_MAX];		/* control socket directory */
	char	 ctl[PATH_MAX];
	pid_t	 master;
	char	 down[512];		/* why there is no master */
	int	 lifeline;		/* write end; the master dies on EOF */
	int	 master_was_up;
	int	 exit_armed;
	struct event_base *base;
	struct {
		pid_t	 pid;
		char	 token[32];
	}	 jobs[MAX_JOBS];
} S;

/* Single-quote for the remote shell. */
static void
shq(struct tool_sb *sb, const char *s)
{
	tool_sb_addc(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			tool_sb_adds(sb, "'\\''");
		else
			tool_sb_addc(sb, *s);
	}
	tool_sb_addc(sb, '\'');
}

/* The common ssh options; mux: use the master's socket. */
static size_t
ssh_opts(char **v, size_t n, int master)
{
	xasprintf(&v[n++], "-oBatchMode=yes");
	xasprintf(&v[n++], "-oStrictHostKeyChecking=yes");
	xasprintf(&v[n++], "-oUserKnownHostsFile=%s", S.known_hosts);
	xasprintf(&v[n++], "-oGlobalKnownHostsFile=/dev/null");
	xasprintf(&v[n++], "-oControlPath=%s", S.ctl);
	xasprintf(&v[n++], "-oControlMaster=%s", master ? "yes" : "no");
	xasprintf(&v[n++], "-oConnectTimeout=10");
	xasprintf(&v[n++], "-oServerAliveInterval=30");
	xasprintf(&v[n++], "-oLogLevel=ERROR");
	xasprintf(&v[n++], "-F/dev/null");
	if (S.key != NULL) {
		xasprintf(&v[n++], "-i%s", S.key);
		xasprintf(&v[n++], "-oIdentitiesOnly=yes");
	}
	if (S.port != NULL)
		xasprintf(&v[n++], "-p%s", S.port);
	if (S.user != NULL)
		xasprintf(&v[n++], "-l%s", S.user);
	return n;
}

static pid_t
fork_exec(char *const *argv, int fd_in, int fd_out, int fd_err)
{
	pid_t	 pid;
	int	 nul;

	if ((pid = fork()) != 0)
		return pid;
	(void)setsid();
	/* never outlive the runner (0 orphans) */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(127);
	nul = open("/dev/null", O_RDWR);
	if (dup2(fd_in >= 0 ? fd_in : nul, 0) == -1 ||
	    dup2(fd_out >= 0 ? fd_out : nul, 1) == -1 ||
	    dup2(fd_err >= 0 ? fd_err : nul, 2) == -1)
		_exit(127);
	closefrom_fd(3);
	execv(argv[0], argv);
	_exit(127);
}

static void
free_argv(char **v)
{
	size_t	 i;

	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static int
master_alive(void)
{
	struct stat	 st;

	/* S.master goes to -1 when it is reaped (master_reaped) */
	if (S.master <= 0)
		return 0;
	return stat(S.ctl, &st) == 0;
}

static void
master_stop(void)
{
	/* EOF on its lifeline makes the wrapper kill the ssh master. */
	if (S.lifeline != -1) {
		close(S.lifeline);
		S.lifeline = -1;
	}
	if (S.master > 0) {
		pid_t p = S.master;
		uint64_t t0 = now_ms();
		int st;
		while (waitpid(p, &st, WNOHANG) == 0 && now_ms() - t0 < 3000)
			usleep(10000);
	}
	S.master = -1;
	(void)unlink(S.ctl);
}

/* Start the ControlMaster and wait for its socket. 0 or -1 (err). */
static int
master_start(char *err, size_t errlen)
{
	char		**v = xcalloc(32, sizeof(char *));
	size_t		 n = 0;
	uint64_t	 t0;
	struct stat	 st;
	int		 ep[2], lp[2], status;
	char		 buf[512];
	ssize_t		 r;

	/*
	 * The master runs under a small sh that holds a lifeline pipe: on
	 * EOF (this process closed it or died) it kills ssh. Started before
	 * our sandbox, ssh is outside our landlock domain and could not be
	 * signalled from here, not even by PDEATHSIG.
	 */
	v[n++] = xstrdup("/bin/sh");
	v[n++] = xstrdup("-c");
	v[n++] = xstrdup("exec 3<&0; \"$@\" 3<&- & p=$!; "
	    "(read _ <&3; kill -9 $p) & wait $p");
	v[n++] = xstrdup("hermes-ssh-master");
	v[n++] = xstrdup(SSH_BIN);
	v[n++] = xstrdup("-N");
	n = ssh_opts(v, n, 1);
	v[n++] = xstrdup("-oControlPersist=no");
	v[n++] = xstrdup(S.host);
	v[n] = NULL;
	if (pipe2(ep, O_CLOEXEC) == -1 || pipe2(lp, O_CLOEXEC) == -1) {
		free_argv(v);
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	S.master = fork_exec(v, lp[0], -1, ep[1]);
	free_argv(v);
	close(ep[1]);
	close(lp[0]);
	S.lifeline = lp[1];
	if (S.master == -1) {
		close(ep[0]);
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	(void)set_nonblock(ep[0]);
	t0 = now_ms();
	while (now_ms() - t0 < MASTER_WAIT_MS) {
		if (stat(S.ctl, &st) == 0) {
			close(ep[0]);
			S.master_was_up = 1;
			return 0;
		}
		if (waitpid(S.master, &status, WNOHANG) == S.master) {
			r = read(ep[0], buf, sizeof(buf) - 1);
			buf[r > 0 ? r : 0] = '\0';
			tool_strip(buf);
			strlcpy(err, "ssh failed: ", errlen);
			strlcat(err, *buf ? buf : "exited", errlen);
			S.master = -1;
			close(ep[0]);
			return -1;
		}
		usleep(20000);
	}
	close(ep[0]);
	master_stop();
	snprintf(err, errlen, "ssh to %s: no connection after %d s", S.host,
	    MASTER_WAIT_MS / 1000);
	return -1;
}

static void
restart_cb(evutil_socket_t fd, short ev, void *arg)
{
	log_warnx("tool-ssh: the ssh master is gone; exiting to be restarted");
	exit(1);
}

static const char *
token_of(pid_t pid)
{
	size_t	 i;

	for (i = 0; i < MAX_JOBS; i++)
		if (S.jobs[i].pid == pid)
			return S.jobs[i].token;
	return NULL;
}

static char	 next_token[32];

/* The remote command line: env, cd, then the wrapper under setsid with a
 * marker as its $0. */
static char **
ssh_argv(void *arg, const char *command, const char *cwd, int background)
{
	char		**v = xcalloc(40, sizeof(char *));
	struct tool_sb	 rc = { 0 };
	size_t		 n = 0;

	snprintf(next_token, sizeof(next_token), "hermes-%08x%08x",
	    arc4random(), arc4random());
	v[n++] = xstrdup(SSH_BIN);
	n = ssh_opts(v, n, 0);
	v[n++] = xstrdup("-T");
	v[n++] = xstrdup(S.host);
	v[n++] = xstrdup("--");
	if (cwd != NULL && *cwd != '\0') {
		tool_sb_adds(&rc, "builtin cd -- ");
		shq(&rc, cwd);
		tool_sb_adds(&rc, " 2>/dev/null || builtin cd; ");
	}
	tool_sb_adds(&rc, "exec setsid -w bash -c ");
	shq(&rc, tool_wrapper_script);
	tool_sb_addc(&rc, ' ');
	tool_sb_adds(&rc, next_token);
	tool_sb_addc(&rc, ' ');
	shq(&rc, command);
	v[n++] = tool_sb_take(&rc);
	v[n] = NULL;
	return v;
}

/* Session env for the remote: exported with the command (the remote
 * login environment is the base, as Hermes's snapshot is). */
static pid_t
ssh_spawn(void *arg, char *const *argv, char *const *envp, const char *cwd,
    int fd_in, int fd_out, int fd_err, char *err, size_t errlen)
{
	char		**v;
	size_t		 n = 0, i, k;
	struct tool_sb	 rc = { 0 };
	pid_t		 pid;

	if (!master_alive()) {
		if (S.down[0] == '\0')
			strlcpy(S.down, "the connection was lost", sizeof(S.down));
		snprintf(err, errlen, "ssh connection to %s is down: %s (the "
		    "runner restarts to reconnect)", S.host, S.down);
		if (S.master_was_up && !S.exit_armed) {
			struct timeval tv = { 0, 200000 };
			S.exit_armed = 1;
			event_base_once(S.base, -1, EV_TIMEOUT, restart_cb, NULL, &tv);
		}
		return -1;
	}
	/* prepend the session's exported variables to the remote line */
	for (n = 0; argv[n] != NULL; n++)
		;
	v = xcalloc(n + 1, sizeof(char *));
	for (i = 0; i + 1 < n; i++)
		v[i] = xstrdup(argv[i]);
	for (k = 0; envp != NULL && envp[k] != NULL; k++) {
		const char *eq = strchr(envp[k], '=');
		size_t nl = eq ? (size_t)(eq - envp[k]) : 0, j;
		int ok = nl > 0 && strncmp(envp[k], "SSH_", 4) != 0;
		for (j = 0; ok && j < nl; j++)
			if (!((envp[k][j] >= 'A' && envp[k][j] <= 'Z') ||
			    (envp[k][j] >= 'a' && envp[k][j] <= 'z') ||
			    (envp[k][j] >= '0' && envp[k][j] <= '9') ||
			    envp[k][j] == '_'))
				ok = 0;
		if (!ok)
			continue;
		tool_sb_adds(&rc, "export ");
		tool_sb_add(&rc, envp[k], nl + 1);
		shq(&rc, eq + 1);
		tool_sb_adds(&rc, "; ");
	}
	tool_sb_adds(&rc, argv[n - 1]);
	v[n - 1] = tool_sb_take(&rc);
	v[n] = NULL;
	pid = fork_exec(v, fd_in, fd_out, fd_err);
	free_argv(v);
	if (pid == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < MAX_JOBS; i++)
		if (S.jobs[i].pid == 0) {
			S.jobs[i].pid = pid;
			strlcpy(S.jobs[i].token, next_token,
			    sizeof(S.jobs[i].token));
			break;
		}
	return pid;
}

/* Kill the remote process group (by its marker), then the local client. */
static void
ssh_kill(void *arg, pid_t pid)
{
	const char	*tok = token_of(pid);
	char		**v, *rc;
	size_t		 n = 0;
	pid_t		 k;
	int		 st;

	if (tok != NULL && master_alive()) {
		v = xcalloc(40, sizeof(char *));
		v[n++] = xstrdup(SSH_BIN);
		n = ssh_opts(v, n, 0);
		v[n++] = xstrdup("-T");
		v[n++] = xstrdup(S.host);
		v[n++] = xstrdup("--");
		/* "[h]ermes-..." matches the wrapper, not this shell */
		xasprintf(&rc, "for p in $(pgrep -f '[%c]%s'); do kill -KILL -- "
		    "-$p $p; done 2>/dev/null; true", tok[0], tok + 1);
		v[n++] = rc;
		v[n] = NULL;
		k = fork_exec(v, -1, -1, -1);
		free_argv(v);
		if (k > 0) {
			uint64_t t0 = now_ms();
			while (waitpid(k, &st, WNOHANG) == 0 &&
			    now_ms() - t0 < 5000)
				usleep(10000);
			(void)kill(k, SIGKILL);
			(void)waitpid(k, &st, WNOHANG);
		}
	}
	(void)kill(-pid, SIGKILL);
	(void)kill(pid, SIGKILL);
}

static void
ssh_reaped(void *arg, pid_t pid)
{
	size_t	 i;

	for (i = 0; i < MAX_JOBS; i++)
		if (S.jobs[i].pid == pid)
			S.jobs[i].pid = 0;
}

static void
master_reaped(pid_t pid, int status)
{
	if (pid == S.master) {
		S.master = -1;
		if (S.lifeline != -1) {
			close(S.lifeline);
			S.lifeline = -1;
		}
	}
}

static const struct tool_backend ssh_backend = {
	ssh_spawn, ssh_kill, ssh_reaped, NULL, ssh_argv
};

static const struct tool_runner_conf ssh_conf = { "ssh", NULL, 1, NULL, 0, 0 };

static char *
cfg_s(const json_t *t, const char *k)
{
	const json_t	*v = json_object_get(t, k);

	if (json_is_string(v) && *json_string_value(v) != '\0')
		return xstrdup(json_string_value(v));
	if (json_is_integer(v)) {
		char *s;
		xasprintf(&s, "%lld", (long long)json_integer_value(v));
		return s;
	}
	return NULL;
}

static int
ssh_setup(struct worker *w, const msgpack_object *secrets)
{
	const json_t	*t;
	char		 err[512];
	const char	*home = getenv("HOME");

	if (tool_runner_setup(w, &ssh_backend, &ssh_conf) == -1)
		return -1;
	S.base = w->base;
	t = json_object_get(tool_runner_config(), "terminal");
	S.host = cfg_s(t, "ssh_host");
	S.user = cfg_s(t, "ssh_user");
	S.port = cfg_s(t, "ssh_port");
	S.key = cfg_s(t, "ssh_key");
	S.known_hosts = cfg_s(t, "ssh_known_hosts");
	if (S.host == NULL) {
		log_warnx("tool-ssh: terminal.ssh_host is not set");
		return -1;
	}
	if (S.known_hosts == NULL)
		xasprintf(&S.known_hosts, "%s/.ssh/known_hosts", home ? home : "");
	strlcpy(S.dir, "/tmp/hermes-ssh-XXXXXX", sizeof(S.dir));
	if (mkdtemp(S.dir) == NULL) {
		log_warn("tool-ssh: mkdtemp");
		return -1;
	}
	strlcpy(S.ctl, S.dir, sizeof(S.ctl));
	strlcat(S.ctl, "/cm", sizeof(S.ctl));
	S.master = -1;
	S.lifeline = -1;
	tool_reap_other = master_reaped;
	/*
	 * The master connects now, before the sandbox: inside it this
	 * process may not create the control socket (landlock). It dies
	 * with us (PDEATHSIG); if it dies first, this runner answers with
	 * the error and exits so that hermesd restarts it (and it
	 * reconnects), OTP-style.
	 */
	if (master_start(err, sizeof(err)) == -1) {
		log_warnx("tool-ssh: %s", err);
		strlcpy(S.down, err, sizeof(S.down));
	}
	return 0;
}

static void
ssh_shutdown(struct worker *w)
{
	tool_runner_shutdown(w);
	master_stop();
	(void)rmdir(S.dir);
}

static void
ssh_dispatch(struct worker *w, int from, struct ipc_peer *peer,
    struct ipc_msg *m)
{
	tool_runner_dispatch(w, from, peer, m);
}

static const struct worker_ops ops = {
	.role = ROLE_TOOL,
	.profile = SBX_TOOL_SSH,
	.setup = ssh_setup,
	.dispatch = ssh_dispatch,
	.peer_changed = tool_runner_peer_changed,
	.shutdown = ssh_shutdown,
};

int
main(int argc, char **argv)
{
	worker_main(argc, argv, &ops);
}
