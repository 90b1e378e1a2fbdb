/*
 * The control socket: connect, start hermesd on demand (as tmux starts
 * its server), CLIENT_HELLO, WELCOME or a refusal.
 */
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "cli/cli.h"

int
cli_exe_dir(char *buf, size_t len)
{
	char	 path[PATH_MAX], *slash;
	ssize_t	 n;

	if ((n = readlink("/proc/self/exe", path, sizeof(path) - 1)) == -1)
		return -1;
	path[n] = '\0';
	if ((slash = strrchr(path, '/')) == NULL)
		return -1;
	*slash = '\0';
	if (strlcpy(buf, path, len) >= len)
		return -1;
	return 0;
}

static int
sock_connect(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec	 ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
mkdir_p(const char *dir)
{
	char	 tmp[PATH_MAX], *p;

	if (strlcpy(tmp, dir, sizeof(tmp)) >= sizeof(tmp))
		return -1;
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0700) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/*
 * Start hermesd (from the directory of this binary). It daemonizes
 * itself; its first process exits once the daemon is forked. Its stderr
 * comes back through a pipe so a failed start can be shown.
 */
static int
start_daemon(int *errfd, char *err, size_t errlen)
{
	char	 dir[PATH_MAX], path[PATH_MAX + 16];
	int	 p[2], null, st;
	pid_t	 pid;

	if (cli_exe_dir(dir, sizeof(dir)) == -1) {
		snprintf(err, errlen, "cannot find my own directory");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/hermesd", dir);
	if (access(path, X_OK) == -1) {
		snprintf(err, errlen, "hermesd not found next to hermes (%s)",
		    path);
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	switch (pid = fork()) {
	case -1:
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	case 0:
		if ((null = open("/dev/null", O_RDWR)) == -1 ||
		    dup2(null, 0) == -1 || dup2(null, 1) == -1 ||
		    dup2(p[1], 2) == -1)
			_exit(127);
		setsid();
		execl(path, "hermesd", (char *)NULL);
		dprintf(2, "exec %s: %s\n", path, strerror(errno));
		_exit(127);
	default:
		break;
	}
	close(p[1]);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (set_nonblock(p[0]) == -1) {
		close(p[0]);
		*errfd = -1;
	} else
		*errfd = p[0];
	if (WIFEXITED(st) && WEXITSTATUS(st) != 0) {
		snprintf(err, errlen, "hermesd exited with status %d",
		    WEXITSTATUS(st));
		return -1;
	}
	return 0;
}

/* What the failed hermesd said, squeezed onto the end of err. */
static void
append_daemon_stderr(int fd, char *err, size_t errlen)
{
	char	 buf[512], line[512];
	ssize_t	 n;

	if (fd == -1)
		return;
	if ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		cli_sanitize(line, sizeof(line), buf, (size_t)n, 0);
		strlcat(err, ": ", errlen);
		strlcat(err, line, errlen);
	}
}

/* Connect, starting hermesd if nobody listens (lock next to the socket
 * so two clients do not start two daemons). */
static int
connect_or_start(const char *path, int autostart, char *err, size_t errlen)
{
	char		 lock[PATH_MAX + 8], dir[PATH_MAX], *slash;
	int		 fd, lfd, errfd = -1, saved;
	unsigned	 wait = 5;
	uint64_t	 deadline;

	if ((fd = sock_connect(path)) != -1)
		return fd;
	saved = errno;
	if (!autostart || (saved != ENOENT && saved != ECONNREFUSED)) {
		snprintf(err, errlen, "hermesd unreachable at %s: %s", path,
		    strerror(saved));
		return -1;
	}
	strlcpy(dir, path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir)
		*slash = '\0';
	if (mkdir_p(dir) == -1) {
		snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(lock, sizeof(lock), "%s.lock", path);
	if ((lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		snprintf(err, errlen, "%s: %s", lock, strerror(errno));
		return -1;
	}
	deadline = now_ms() + CLI_CONNECT_WAIT_MS;
	while (flock(lfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK || now_ms() > deadline) {
			snprintf(err, errlen, "lock %s: %s", lock,
			    strerror(errno));
			close(lfd);
			return -1;
		}
		sleep_ms(10);
	}
	/* Someone else may have started it while we waited. */
	if ((fd = sock_connect(path)) != -1)
		goto out;
	if (start_daemon(&errfd, err, errlen) == -1) {
		append_daemon_stderr(errfd, err, errlen);
		goto out;
	}
	while ((fd = sock_connect(path)) == -1) {
		saved = errno;
		if (now_ms() > deadline) {
			snprintf(err, errlen, "hermesd did not come up within "
			    "%d ms at %s (%s)", CLI_CONNECT_WAIT_MS, path,
			    strerror(saved));
			append_daemon_stderr(errfd, err, errlen);
			break;
		}
		sleep_ms(wait);
		if (wait < 200)
			wait *= 2;
	}
out:
	if (errfd != -1)
		close(errfd);
	close(lfd);
	return fd;
}

/* The protocol version we announce; HERMES_CLI_TEST_VERSION overrides it
 * so the regress suite can check that hermesd refuses a mismatch. */
static uint64_t
hello_version(void)
{
	const char	*v = getenv("HERMES_CLI_TEST_VERSION");
	char		*end;
	unsigned long long n;

	if (v != NULL && *v != '\0') {
		n = strtoull(v, &end, 10);
		if (*end == '\0')
			return n;
	}
	return IPC_PROTOCOL_VERSION;
}

int
cli_connect(struct cli_conn *c, const char *mode, int autostart, char *err,
    size_t errlen)
{
	char		 path[PATH_MAX], rerr[256];
	struct ipc_buf	*b;
	struct ipc_msg	 m;
	const char	*s;
	size_t		 len;
	uint64_t	 v;
	int		 r;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->next_id = 1;
	signal(SIGPIPE, SIG_IGN);
	if (hermes_socket_path(0, path, sizeof(path)) == -1) {
		snprintf(err, errlen, "cannot work out the socket path "
		    "(set HERMES_HOME or HERMES_SOCKET)");
		return CLI_EXIT_DAEMON;
	}
	if ((c->fd = connect_or_start(path, autostart, err, errlen)) == -1)
		return CLI_EXIT_DAEMON;
	c->rb = ipc_rbuf_new(ROLE_CLIENT, ROLE_SUPERVISOR, 0);
	b = ipc_new(IPC_MSG_CLIENT_HELLO, c->next_id++);
	ipc_add_u64(b, "version", hello_version());
	ipc_add_str(b, "mode", mode);
	if (ipc_send_fd(c->fd, b) == -1) {
		snprintf(err, errlen, "hermesd: send: %s", strerror(errno));
		goto fail;
	}
	r = ipc_recv_fd(c->fd, c->rb, CLI_REPLY_WAIT_MS, &m, rerr,
	    sizeof(rerr));
	if (r == 0) {
		snprintf(err, errlen, "hermesd did not answer within %d ms",
		    CLI_REPLY_WAIT_MS);
		goto fail;
	}
	if (r == -1) {
		snprintf(err, errlen, "hermesd closed the connection (%s)",
		    rerr);
		goto fail;
	}
	if (m.type == IPC_MSG_ERROR) {
		char code[64] = "", msg[512] = "";

		if (ipc_get_str(&m, "code", &s, &len) == 0)
			cli_sanitize(code, sizeof(code), s, len, 0);
		if (ipc_get_str(&m, "message", &s, &len) == 0)
			cli_sanitize(msg, sizeof(msg), s, len, 0);
		if (strcmp(code, "version") == 0 ||
		    strstr(msg, "version mismatch") != NULL) {
			snprintf(err, errlen, "protocol version mismatch: this "
			    "hermes speaks version %llu and hermesd refused it "
			    "(%s)", (unsigned long long)hello_version(), msg);
			cli_conn_close(c);
			return CLI_EXIT_VERSION;
		}
		snprintf(err, errlen, "hermesd refused: %s: %s", code, msg);
		cli_conn_close(c);
		return CLI_EXIT_ERROR;
	}
	if (m.type != IPC_MSG_WELCOME) {
		snprintf(err, errlen, "hermesd sent %s instead of welcome",
		    ipc_msg_name(m.type));
		goto fail;
	}
	if (ipc_get_u64(&m, "version", &v) == 0 && v != hello_version()) {
		snprintf(err, errlen, "protocol version mismatch: hermes %llu, "
		    "hermesd %llu; restart hermesd with this build (hermes "
		    "stop)", (unsigned long long)hello_version(),
		    (unsigned long long)v);
		cli_conn_close(c);
		return CLI_EXIT_VERSION;
	}
	ipc_get_u64(&m, "pid", &c->daemon_pid);
	if (ipc_get_str(&m, "tenant", &s, &len) == 0)
		cli_sanitize(c->tenant, sizeof(c->tenant), s, len, 0);
	return CLI_EXIT_OK;
fail:
	cli_conn_close(c);
	return CLI_EXIT_DAEMON;
}

void
cli_conn_to_agent(struct cli_conn *c)
{
	ipc_rbuf_free(c->rb);
	c->rb = ipc_rbuf_new(ROLE_CLIENT, ROLE_AGENT, 0);
}

void
cli_conn_close(struct cli_conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	ipc_rbuf_free(c->rb);
	c->rb = NULL;
}
