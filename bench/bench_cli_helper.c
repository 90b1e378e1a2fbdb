/*
 * Measuring tool for bench/bench_cli.sh (not a benchmark by itself).
 *
 *	bench_cli_helper noop
 *		a bare C main: the floor of a cold start
 *	bench_cli_helper hello MODE
 *		connect to hermesd, CLIENT_HELLO{MODE}, WELCOME and, for
 *		"status", the STATUS frame: the floor of `hermes status`
 *	bench_cli_helper run N PROG [ARGS...] [-- PROG2 [ARGS...]]
 *		fork+exec PROG N times (alternating with PROG2); prints
 *		"median_us min_us max_us maxrss_kb" per program (wall time
 *		of each run, the largest peak RSS)
 *	bench_cli_helper rawchat N
 *		the raw socket round trip of a chat turn: CHAT_OPEN, then N
 *		times CHAT_INPUT -> the first "text" event; prints
 *		"median_us min_us max_us"
 *	bench_cli_helper ptychat N MARKER PROG [ARGS...]
 *		PROG (hermes) on a pseudo-terminal: wait for the prompt, then
 *		N times type a line and Enter -> the first byte of MARKER on
 *		the terminal; prints "median_us min_us max_us"
 *	bench_cli_helper ttfc N MARKER PROG [ARGS...]
 *		ptychat and rawchat turn by turn alternating (one line
 *		each, pty first)
 * The socket is hermes_socket_path() (HERMES_SOCKET).
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "ipc/util.h"

#define MAX_RUNS	10000

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
print_stats(uint64_t *v, int n, const char *extra)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	printf("%llu %llu %llu%s\n", (unsigned long long)v[n / 2],
	    (unsigned long long)v[0], (unsigned long long)v[n - 1], extra);
}

static int
sock(void)
{
	struct sockaddr_un	 sun;
	char			 path[PATH_MAX];
	int			 fd;

	if (hermes_socket_path(0, path, sizeof(path)) == -1)
		fatalx("socket path");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("connect %s", path);
	return fd;
}

static void
expect(int fd, struct ipc_rbuf *rb, uint32_t type, struct ipc_msg *m)
{
	char	 err[256];

	if (ipc_recv_fd(fd, rb, 10000, m, err, sizeof(err)) != 1)
		fatalx("recv: %s", err);
	if (m->type != type)
		fatalx("got %s, want %s", ipc_msg_name(m->type),
		    ipc_msg_name(type));
}

static int
hello(const char *mode, struct ipc_rbuf **rbp)
{
	struct ipc_rbuf	*rb = ipc_rbuf_new(ROLE_CLIENT, ROLE_SUPERVISOR, 0);
	struct ipc_buf	*b;
	struct ipc_msg	 m;
	int		 fd = sock();

	b = ipc_new(IPC_MSG_CLIENT_HELLO, 1);
	ipc_add_u64(b, "version", IPC_PROTOCOL_VERSION);
	ipc_add_str(b, "mode", mode);
	if (ipc_send_fd(fd, b) == -1)
		fatal("send");
	expect(fd, rb, IPC_MSG_WELCOME, &m);
	if (strcmp(mode, "status") == 0)
		expect(fd, rb, IPC_MSG_STATUS, &m);
	if (rbp != NULL)
		*rbp = rb;
	else
		ipc_rbuf_free(rb);
	return fd;
}

/* One fork+exec+wait4 of argv: wall time in us; peak RSS into *rss. */
static uint64_t
run_once(char **argv, int null, long *rss)
{
	struct rusage	 ru;
	uint64_t	 t0, t;
	pid_t		 pid;
	int		 st;

	t0 = now_us();
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		if (dup2(null, 1) == -1)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	if (wait4(pid, &st, 0, &ru) == -1)
		fatal("wait4");
	t = now_us() - t0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fatalx("%s exited with %d", argv[0], st);
	if (ru.ru_maxrss > *rss)
		*rss = ru.ru_maxrss;
	return t;
}

/*
 * argv: A... [-- B...]. With B, the runs alternate A, B, A, B so both
 * see the same load on a busy machine; one line for each.
 */
static int
run(int n, char **argv)
{
	static uint64_t	 ta[MAX_RUNS], tb[MAX_RUNS];
	char		**b = NULL, extra[64];
	long		 rssa = 0, rssb = 0;
	int		 i, null;

	for (i = 0; argv[i] != NULL; i++)
		if (strcmp(argv[i], "--") == 0) {
			argv[i] = NULL;
			b = argv + i + 1;
			break;
		}
	if ((null = open("/dev/null", O_WRONLY | O_CLOEXEC)) == -1)
		fatal("/dev/null");
	for (i = 0; i < n; i++) {
		ta[i] = run_once(argv, null, &rssa);
		if (b != NULL)
			tb[i] = run_once(b, null, &rssb);
	}
	snprintf(extra, sizeof(extra), " %ld", rssa);
	print_stats(ta, n, extra);
	if (b != NULL) {
		snprintf(extra, sizeof(extra), " %ld", rssb);
		print_stats(tb, n, extra);
	}
	return 0;
}

static int
rawchat(int n)
{
	static uint64_t	 t[MAX_RUNS];
	struct ipc_rbuf	*rb;
	struct ipc_buf	*b;
	struct ipc_msg	 m;
	const char	*kind;
	size_t		 len;
	uint64_t	 t0, id = 10;
	int		 fd, i, first;
	char		 err[256];

	fd = hello("chat", &rb);
	ipc_rbuf_free(rb);
	rb = ipc_rbuf_new(ROLE_CLIENT, ROLE_AGENT, 0);
	b = ipc_new(IPC_MSG_CHAT_OPEN, 2);
	ipc_add_str(b, "platform", "cli");
	if (ipc_send_fd(fd, b) == -1)
		fatal("send");
	expect(fd, rb, IPC_MSG_CHAT_OPENED, &m);
	for (i = 0; i < n; i++) {
		b = ipc_new(IPC_MSG_CHAT_INPUT, ++id);
		ipc_add_str(b, "text", "hi");
		t0 = now_us();
		if (ipc_send_fd(fd, b) == -1)
			fatal("send");
		first = 1;
		for (;;) {
			if (ipc_recv_fd(fd, rb, 30000, &m, err,
			    sizeof(err)) != 1)
				fatalx("recv: %s", err);
			if (m.type != IPC_MSG_CHAT_EVENT || m.id != id ||
			    ipc_get_str(&m, "kind", &kind, &len) == -1)
				continue;
			if (first && len == 4 && memcmp(kind, "text", 4) == 0) {
				t[i] = now_us() - t0;
				first = 0;
			}
			if (len == 4 && memcmp(kind, "done", 4) == 0)
				break;
		}
		if (first)
			fatalx("turn %d had no text", i);
	}
	print_stats(t, n, "");
	close(fd);
	return 0;
}

/* Read the pty until `want` shows up in what arrived since the start;
 * returns 0, or -1 on timeout/EOF. */
static int
pty_wait(int fd, const char *want, char *acc, size_t cap, size_t *len,
    int timeout_ms)
{
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	uint64_t	 deadline = now_ms() + (uint64_t)timeout_ms;
	ssize_t		 r;

	for (;;) {
		acc[*len] = '\0';
		if (strstr(acc, want) != NULL)
			return 0;
		if (now_ms() > deadline)
			return -1;
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (*len + 1 >= cap)
			*len = 0;	/* keep only the recent bytes */
		if ((r = read(fd, acc + *len, cap - *len - 1)) <= 0)
			return -1;
		*len += (size_t)r;
	}
}

static int
ptychat(int n, const char *marker, char **argv)
{
	static uint64_t	 t[MAX_RUNS];
	static char	 acc[1 << 16];
	struct winsize	 ws = { 40, 120, 0, 0 };
	size_t		 len = 0;
	uint64_t	 t0;
	pid_t		 pid;
	int		 fd, i, st;

	if ((pid = forkpty(&fd, NULL, NULL, &ws)) == -1)
		fatal("forkpty");
	if (pid == 0) {
		setenv("TERM", "xterm", 1);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pty_wait(fd, "> ", acc, sizeof(acc), &len, 10000) == -1)
		fatalx("no prompt from %s", argv[0]);
	for (i = 0; i < n; i++) {
		len = 0;
		t0 = now_us();
		if (write(fd, "hi\r", 3) != 3)
			fatal("write");
		if (pty_wait(fd, marker, acc, sizeof(acc), &len, 30000) == -1)
			fatalx("no answer on the terminal (turn %d)", i);
		t[i] = now_us() - t0;
		if (pty_wait(fd, "\n> ", acc, sizeof(acc), &len, 30000) == -1)
			fatalx("no prompt after turn %d", i);
	}
	if (write(fd, "/exit\r", 6) != 6)
		kill(pid, SIGTERM);
	if (waitpid(pid, &st, 0) == -1)
		fatal("waitpid");
	close(fd);
	print_stats(t, n, "");
	return 0;
}

/*
 * Both at once, turn by turn alternating (same load, same session
 * lengths): prints the pty line, then the raw line.
 */
static int
ttfc(int n, const char *marker, char **argv)
{
	static uint64_t	 tp[MAX_RUNS], tr[MAX_RUNS];
	static char	 acc[1 << 16];
	struct winsize	 ws = { 40, 120, 0, 0 };
	struct ipc_rbuf	*rb;
	struct ipc_buf	*b;
	struct ipc_msg	 m;
	const char	*kind;
	char		 err[256];
	size_t		 len = 0, klen;
	uint64_t	 t0, id = 10;
	pid_t		 pid;
	int		 pfd, fd, i, st, first;

	fd = hello("chat", &rb);
	ipc_rbuf_free(rb);
	rb = ipc_rbuf_new(ROLE_CLIENT, ROLE_AGENT, 0);
	b = ipc_new(IPC_MSG_CHAT_OPEN, 2);
	ipc_add_str(b, "platform", "cli");
	if (ipc_send_fd(fd, b) == -1)
		fatal("send");
	expect(fd, rb, IPC_MSG_CHAT_OPENED, &m);
	if ((pid = forkpty(&pfd, NULL, NULL, &ws)) == -1)
		fatal("forkpty");
	if (pid == 0) {
		setenv("TERM", "xterm", 1);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pty_wait(pfd, "> ", acc, sizeof(acc), &len, 10000) == -1)
		fatalx("no prompt from %s", argv[0]);
	for (i = 0; i < n; i++) {
		len = 0;
		t0 = now_us();
		if (write(pfd, "hi\r", 3) != 3)
			fatal("write");
		if (pty_wait(pfd, marker, acc, sizeof(acc), &len, 30000) == -1)
			fatalx("no answer on the terminal (turn %d)", i);
		tp[i] = now_us() - t0;
		if (pty_wait(pfd, "\n> ", acc, sizeof(acc), &len, 30000) == -1)
			fatalx("no prompt after turn %d", i);

		b = ipc_new(IPC_MSG_CHAT_INPUT, ++id);
		ipc_add_str(b, "text", "hi");
		t0 = now_us();
		if (ipc_send_fd(fd, b) == -1)
			fatal("send");
		first = 1;
		for (;;) {
			if (ipc_recv_fd(fd, rb, 30000, &m, err,
			    sizeof(err)) != 1)
				fatalx("recv: %s", err);
			if (m.type != IPC_MSG_CHAT_EVENT || m.id != id ||
			    ipc_get_str(&m, "kind", &kind, &klen) == -1)
				continue;
			if (first && klen == 4 && memcmp(kind, "text", 4) == 0) {
				tr[i] = now_us() - t0;
				first = 0;
			}
			if (klen == 4 && memcmp(kind, "done", 4) == 0)
				break;
		}
	}
	if (write(pfd, "/exit\r", 6) != 6)
		kill(pid, SIGTERM);
	if (waitpid(pid, &st, 0) == -1)
		fatal("waitpid");
	close(pfd);
	close(fd);
	print_stats(tp, n, "");
	print_stats(tr, n, "");
	return 0;
}

int
main(int argc, char **argv)
{
	int	 n;

	log_init("bench_cli_helper", 0);
	if (argc >= 2 && strcmp(argv[1], "noop") == 0)
		return 0;
	if (argc == 3 && strcmp(argv[1], "hello") == 0) {
		close(hello(argv[2], NULL));
		return 0;
	}
	if (argc >= 3)
		n = atoi(argv[2]);
	else
		n = 0;
	if (n < 1 || n > MAX_RUNS)
		n = 0;
	if (argc >= 4 && n && strcmp(argv[1], "run") == 0)
		return run(n, argv + 3);
	if (argc == 3 && n && strcmp(argv[1], "rawchat") == 0)
		return rawchat(n);
	if (argc >= 5 && n && strcmp(argv[1], "ptychat") == 0)
		return ptychat(n, argv[3], argv + 4);
	if (argc >= 5 && n && strcmp(argv[1], "ttfc") == 0)
		return ttfc(n, argv[3], argv + 4);
	fprintf(stderr, "usage: see bench/bench_cli_helper.c\n");
	return 2;
}
