/*
 * The driver behind bench/bench_sys.sh and tests/faults: speaks the chat
 * protocol to a running hermesd like the CLI does, and measures.
 *
 *	bench_sys_drive time N CMD [ARG...]
 *		run CMD N times (fork+exec+wait); "median min max maxrss_kb"
 *		(µs of wall time; the largest child peak RSS)
 *	bench_sys_drive bare SOCK
 *		connect, CLIENT_HELLO "ping", WELCOME, exit: the reference for
 *		`hermes status` (one connect + one frame each way)
 *	bench_sys_drive turns SOCK N PER_SESSION [PREFIX]
 *		N turns one after another, a new connection and session every
 *		PER_SESSION turns; "turns N ok K secs S tps X p50 p99 max"
 *		(latency in µs from CHAT_INPUT to the "done" event). With
 *		PREFIX, message i is "PREFIX-i", each turn that ends ok
 *		prints "ack PREFIX-i US" at once (what the user was shown),
 *		and a broken connection ends the run quietly with status 2
 *	bench_sys_drive conc SOCK C K
 *		C connections, one session each, then K rounds in which every
 *		session sends a message at once; "sessions C opened O turns T
 *		ok K p50 p99 max secs S" (µs per turn)
 *	bench_sys_drive stream SOCK [TEXT]
 *		one turn; "events E us U total T ok K": E text events, U µs
 *		from the first to "done", T µs from CHAT_INPUT to "done"
 *	bench_sys_drive chain N
 *		the raw IPC hop chain: fetch -> agent -> client as three
 *		processes over socketpairs, N FETCH_EVENT text frames relayed
 *		as CHAT_EVENTs; "events N us U" (first to last frame at the sink)
 *	bench_sys_drive cold N SOCK HERMESD [ARG...]
 *		start hermesd N times: µs from fork until the status says
 *		every worker is ready (polled every 1 ms), then SIGTERM;
 *		"median min max"
 *	bench_sys_drive faultturn SOCK TEXT TIMEOUT_MS [gate]
 *		one turn for the fault tests (with "gate": once the session
 *		is open, wait for a line on stdin before sending the message): prints "ok MS" (done with ok),
 *		"error MS CODE: TEXT" (a typed error the user sees), or
 *		"hang MS" / "closed MS" / "noopen MS WHY" (no session within
 *		the time, no ERROR frame either); exit 0 for ok or error
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "ipc/util.h"

#define DRIVE_WAIT_MS	30000	/* a reply must come within this */
#define DRIVE_MAX_CONN	4096

struct conn {
	int		 fd;
	struct ipc_rbuf	*rb;
	uint64_t	 next_id;
	uint64_t	 input_id;
	uint64_t	 t0;
	int		 busy;
};

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t
pct(uint64_t *v, size_t n, int p)
{
	size_t	 i;

	if (n == 0)
		return 0;
	i = (n * (size_t)p) / 100;
	return v[i < n ? i : n - 1];
}

static int
dial(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		fatalx("socket path too long");
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One frame, or NULL with the reason in err. */
static int
recv1(struct conn *c, struct ipc_msg *m, int ms, char *err, size_t len)
{
	int	 r;

	r = ipc_recv_fd(c->fd, c->rb, ms, m, err, len);
	if (r == 0)
		(void)strlcpy(err, "timeout", len);
	return r;
}

static void
conn_close(struct conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	if (c->rb != NULL)
		ipc_rbuf_free(c->rb);
	c->fd = -1;
	c->rb = NULL;
}

/* Why the last conn_open failed; typed: an ERROR frame said so. */
static char	open_err[256];
static int	open_typed;

static void
open_failed(const struct ipc_msg *m, const char *err)
{
	const char	*code = "", *text = "";
	size_t		 cl = 0, tl = 0;

	open_typed = m != NULL;
	if (m == NULL) {
		(void)snprintf(open_err, sizeof(open_err), "%s", err);
		return;
	}
	(void)ipc_get_str(m, "code", &code, &cl);
	if (ipc_get_str(m, "message", &text, &tl) == -1)
		(void)ipc_get_str(m, "text", &text, &tl);
	(void)snprintf(open_err, sizeof(open_err), "%.*s: %.*s", (int)cl, code,
	    (int)tl, text);
}

/* Connect, hello "chat", WELCOME, CHAT_OPEN, CHAT_OPENED. 0 or -1. */
static int
conn_open_ms(struct conn *c, const char *sock, const char *why, int ms)
{
	struct ipc_buf	*b;
	struct ipc_msg	 m;
	const char	*k;
	size_t		 kl;
	uint64_t	 open_id;
	char		 err[256];
	int		 r;

	memset(c, 0, sizeof(*c));
	c->next_id = 1;
	if ((c->fd = dial(sock)) == -1) {
		log_warn("%s: connect", why);
		open_failed(NULL, "connect failed");
		return -1;
	}
	c->rb = ipc_rbuf_new(ROLE_CLIENT, ROLE_SUPERVISOR, 0);
	b = ipc_new(IPC_MSG_CLIENT_HELLO, c->next_id++);
	ipc_add_u64(b, "version", IPC_PROTOCOL_VERSION);
	ipc_add_str(b, "mode", "chat");
	(void)strlcpy(err, "send failed", sizeof(err));
	if (ipc_send_fd(c->fd, b) == -1)
		goto fail;
	if ((r = recv1(c, &m, ms, err, sizeof(err))) != 1)
		goto fail;
	if (m.type != IPC_MSG_WELCOME)
		goto typed;
	ipc_rbuf_set_peer(c->rb, ROLE_AGENT);
	open_id = c->next_id++;
	b = ipc_new(IPC_MSG_CHAT_OPEN, open_id);
	ipc_add_str(b, "platform", "cli");
	(void)strlcpy(err, "send failed", sizeof(err));
	if (ipc_send_fd(c->fd, b) == -1)
		goto fail;
	for (;;) {
		r = recv1(c, &m, ms, err, sizeof(err));
		if (r != 1)
			goto fail;
		if (m.type == IPC_MSG_CHAT_OPENED)
			return 0;
		if (m.type == IPC_MSG_ERROR)
			goto typed;
		/* The agent refuses an open with an "error" event. */
		if (m.type == IPC_MSG_CHAT_EVENT && m.id == open_id &&
		    ipc_get_str(&m, "kind", &k, &kl) == 0 && kl == 5 &&
		    memcmp(k, "error", 5) == 0)
			goto typed;
	}
 typed:
	open_failed(&m, NULL);
	conn_close(c);
	return -1;
 fail:
	open_failed(NULL, err);
	conn_close(c);
	return -1;
}

static int
conn_open(struct conn *c, const char *sock, const char *why)
{
	return conn_open_ms(c, sock, why, DRIVE_WAIT_MS);
}

static int
send_input(struct conn *c, const char *text)
{
	struct ipc_buf	*b;

	c->input_id = c->next_id++;
	b = ipc_new(IPC_MSG_CHAT_INPUT, c->input_id);
	ipc_add_str(b, "text", text);
	c->t0 = now_us();
	c->busy = 1;
	return ipc_send_fd(c->fd, b);
}

/* Is m the end of c's turn? *ok set from the done event. */
static int
turn_end(struct conn *c, const struct ipc_msg *m, int *ok)
{
	const char	*k;
	size_t		 n;

	if (m->type != IPC_MSG_CHAT_EVENT || m->id != c->input_id)
		return 0;
	if (ipc_get_str(m, "kind", &k, &n) == -1)
		return 0;
	if (n == 4 && memcmp(k, "done", 4) == 0) {
		*ok = 1;
		(void)ipc_get_bool(m, "ok", ok);
		return 1;
	}
	return 0;
}

static int
mode_time(int argc, char **argv)
{
	uint64_t	*v, t0;
	long		 maxrss = 0;
	int		 n, i, st;
	pid_t		 pid;
	struct rusage	 ru;

	if (argc < 4)
		fatalx("usage: time N CMD...");
	if ((n = atoi(argv[2])) < 1)
		fatalx("bad N");
	v = xcalloc((size_t)n, sizeof(*v));
	for (i = 0; i < n; i++) {
		t0 = now_us();
		if ((pid = fork()) == -1)
			fatal("fork");
		if (pid == 0) {
			int	 null = open("/dev/null", O_WRONLY);

			if (null == -1 || dup2(null, STDOUT_FILENO) == -1)
				_exit(126);
			execvp(argv[3], argv + 3);
			_exit(127);
		}
		if (wait4(pid, &st, 0, &ru) == -1)
			fatal("wait4");
		v[i] = now_us() - t0;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fatalx("%s exited with status %d", argv[3], st);
		if (ru.ru_maxrss > maxrss)
			maxrss = ru.ru_maxrss;
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	printf("%llu %llu %llu %ld\n", (unsigned long long)v[n / 2],
	    (unsigned long long)v[0], (unsigned long long)v[n - 1], maxrss);
	free(v);
	return 0;
}

static int
mode_bare(int argc, char **argv)
{
	struct conn	 c;
	struct ipc_buf	*b;
	struct ipc_msg	 m;
	char		 err[256];

	if (argc < 3)
		fatalx("usage: bare SOCK");
	memset(&c, 0, sizeof(c));
	if ((c.fd = dial(argv[2])) == -1)
		fatal("connect");
	c.rb = ipc_rbuf_new(ROLE_CLIENT, ROLE_SUPERVISOR, 0);
	b = ipc_new(IPC_MSG_CLIENT_HELLO, 1);
	ipc_add_u64(b, "version", IPC_PROTOCOL_VERSION);
	ipc_add_str(b, "mode", "ping");
	if (ipc_send_fd(c.fd, b) == -1)
		fatal("send");
	if (recv1(&c, &m, DRIVE_WAIT_MS, err, sizeof(err)) != 1 ||
	    m.type != IPC_MSG_WELCOME)
		fatalx("no welcome: %s", err);
	conn_close(&c);
	return 0;
}

/* Wait for the end of c's turn. 1 ok, 0 done but not ok, -1 failed. */
static int
wait_turn(struct conn *c, int ms, char *err, size_t len)
{
	struct ipc_msg	 m;
	int		 ok;

	for (;;) {
		if (recv1(c, &m, ms, err, len) != 1)
			return -1;
		if (turn_end(c, &m, &ok)) {
			c->busy = 0;
			return ok ? 1 : 0;
		}
	}
}

static int
mode_turns(int argc, char **argv)
{
	struct conn	 c;
	uint64_t	*lat, t0;
	char		 err[256], text[128];
	const char	*prefix;
	int		 n, per, i, ok = 0, r;
	size_t		 nl = 0;
	double		 secs;

	if (argc < 5)
		fatalx("usage: turns SOCK N PER_SESSION [PREFIX]");
	prefix = argc > 5 ? argv[5] : NULL;
	n = atoi(argv[3]);
	per = atoi(argv[4]);
	if (n < 1 || per < 1)
		fatalx("bad N or PER_SESSION");
	lat = xcalloc((size_t)n, sizeof(*lat));
	c.fd = -1;
	c.rb = NULL;
	t0 = now_us();
	for (i = 0; i < n; i++) {
		if (i % per == 0) {
			conn_close(&c);
			if (conn_open(&c, argv[2], "turns") == -1) {
				if (prefix != NULL)
					return 2;
				fatalx("turn %d: could not open a session", i);
			}
		}
		if (prefix != NULL)
			(void)snprintf(text, sizeof(text), "%s-%d", prefix, i);
		else
			(void)snprintf(text, sizeof(text), "soak message %d", i);
		if (send_input(&c, text) == -1) {
			if (prefix != NULL)
				return 2;
			fatal("turn %d: send", i);
		}
		r = wait_turn(&c, DRIVE_WAIT_MS, err, sizeof(err));
		if (r == -1) {
			if (prefix != NULL)
				return 2;
			fatalx("turn %d: %s", i, err);
		}
		lat[nl++] = now_us() - c.t0;
		ok += r;
		if (prefix != NULL && r == 1) {
			printf("ack %s %llu\n", text,
			    (unsigned long long)lat[nl - 1]);
			fflush(stdout);
		}
	}
	secs = (double)(now_us() - t0) / 1e6;
	conn_close(&c);
	qsort(lat, nl, sizeof(*lat), cmp_u64);
	printf("turns %d ok %d secs %.3f tps %.1f p50 %llu p99 %llu max %llu\n",
	    n, ok, secs, n / secs, (unsigned long long)pct(lat, nl, 50),
	    (unsigned long long)pct(lat, nl, 99),
	    (unsigned long long)lat[nl - 1]);
	free(lat);
	return 0;
}

static int
mode_conc(int argc, char **argv)
{
	struct conn	*c;
	struct pollfd	*pfd;
	struct ipc_msg	 m;
	uint64_t	*lat, t0;
	char		 err[256], text[64];
	int		 want, rounds, opened = 0, i, k, left, ok = 0, tok;
	size_t		 nl = 0;

	if (argc < 5)
		fatalx("usage: conc SOCK C K");
	want = atoi(argv[3]);
	rounds = atoi(argv[4]);
	if (want < 1 || want > DRIVE_MAX_CONN || rounds < 1)
		fatalx("bad C or K");
	c = xcalloc((size_t)want, sizeof(*c));
	pfd = xcalloc((size_t)want, sizeof(*pfd));
	lat = xcalloc((size_t)want * (size_t)rounds, sizeof(*lat));
	for (i = 0; i < want; i++) {
		if (conn_open(&c[opened], argv[2], "conc") == -1)
			break;
		opened++;
	}
	t0 = now_us();
	for (k = 0; k < rounds; k++) {
		for (i = 0; i < opened; i++) {
			(void)snprintf(text, sizeof(text), "session %d round %d",
			    i, k);
			if (send_input(&c[i], text) == -1)
				fatal("send");
		}
		left = opened;
		while (left > 0) {
			for (i = 0; i < opened; i++) {
				pfd[i].fd = c[i].busy ? c[i].fd : -1;
				pfd[i].events = POLLIN;
				pfd[i].revents = 0;
			}
			if (poll(pfd, (nfds_t)opened, DRIVE_WAIT_MS) <= 0)
				fatalx("round %d: %d turns did not end", k, left);
			for (i = 0; i < opened; i++) {
				if (!(pfd[i].revents & (POLLIN | POLLHUP)))
					continue;
				/* Drain every frame already buffered. */
				do {
					if (recv1(&c[i], &m, DRIVE_WAIT_MS, err,
					    sizeof(err)) != 1)
						fatalx("session %d: %s", i, err);
				} while (!turn_end(&c[i], &m, &tok));
				c[i].busy = 0;
				lat[nl++] = now_us() - c[i].t0;
				ok += tok;
				left--;
			}
		}
	}
	qsort(lat, nl, sizeof(*lat), cmp_u64);
	printf("sessions %d opened %d turns %zu ok %d p50 %llu p99 %llu "
	    "max %llu secs %.3f\n", want, opened, nl, ok,
	    (unsigned long long)pct(lat, nl, 50),
	    (unsigned long long)pct(lat, nl, 99),
	    (unsigned long long)(nl ? lat[nl - 1] : 0),
	    (double)(now_us() - t0) / 1e6);
	for (i = 0; i < opened; i++)
		conn_close(&c[i]);
	free(c);
	free(pfd);
	free(lat);
	return 0;
}

static int
mode_stream(int argc, char **argv)
{
	struct conn	 c;
	struct ipc_msg	 m;
	const char	*k;
	size_t		 n;
	uint64_t	 first = 0;
	char		 err[256];
	int		 events = 0, ok;

	if (argc < 3)
		fatalx("usage: stream SOCK [TEXT]");
	if (conn_open(&c, argv[2], "stream") == -1)
		fatalx("could not open a session");
	if (send_input(&c, argc > 3 ? argv[3] : "stream please") == -1)
		fatal("send");
	for (;;) {
		if (recv1(&c, &m, DRIVE_WAIT_MS, err, sizeof(err)) != 1)
			fatalx("%s", err);
		if (turn_end(&c, &m, &ok))
			break;
		if (m.type == IPC_MSG_CHAT_EVENT &&
		    ipc_get_str(&m, "kind", &k, &n) == 0 &&
		    n == 4 && memcmp(k, "text", 4) == 0) {
			if (events++ == 0)
				first = now_us();
		}
	}
	printf("events %d us %llu total %llu ok %d\n", events,
	    (unsigned long long)(events ? now_us() - first : 0),
	    (unsigned long long)(now_us() - c.t0), ok);
	conn_close(&c);
	return 0;
}

/* The chain's middle: FETCH_EVENT in, CHAT_EVENT out, as the agent does. */
static void
chain_relay(int in, int out, int n)
{
	struct ipc_rbuf	*rb = ipc_rbuf_new(ROLE_AGENT, ROLE_FETCH, 0);
	struct ipc_msg	 m;
	struct ipc_buf	*b;
	const char	*s;
	size_t		 len;
	char		 err[256];
	int		 i;

	for (i = 0; i < n; i++) {
		if (ipc_recv_fd(in, rb, DRIVE_WAIT_MS, &m, err,
		    sizeof(err)) != 1)
			fatalx("relay: %s", err);
		if (ipc_get_str(&m, "text", &s, &len) == -1)
			fatalx("relay: no text");
		b = ipc_new(IPC_MSG_CHAT_EVENT, m.id);
		ipc_add_str(b, "kind", "text");
		ipc_add_strn(b, "text", s, len);
		if (ipc_send_fd(out, b) == -1)
			fatal("relay: send");
	}
	_exit(0);
}

static int
mode_chain(int argc, char **argv)
{
	struct ipc_rbuf	*rb;
	struct ipc_msg	 m;
	struct ipc_buf	*b;
	int		 a[2], z[2], n, i, st;
	pid_t		 src, relay;
	uint64_t	 first = 0;
	char		 err[256];

	if (argc < 3 || (n = atoi(argv[2])) < 1)
		fatalx("usage: chain N");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, a) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, z) == -1)
		fatal("socketpair");
	if ((relay = fork()) == -1)
		fatal("fork");
	if (relay == 0) {
		close(a[0]);
		close(z[0]);
		chain_relay(a[1], z[1], n);
	}
	if ((src = fork()) == -1)
		fatal("fork");
	if (src == 0) {
		close(z[0]);
		for (i = 0; i < n; i++) {
			b = ipc_new(IPC_MSG_FETCH_EVENT, 1);
			ipc_add_str(b, "kind", "text");
			ipc_add_str(b, "text", "tok ");
			if (ipc_send_fd(a[0], b) == -1)
				fatal("source: send");
		}
		_exit(0);
	}
	close(a[0]);
	close(a[1]);
	close(z[1]);
	rb = ipc_rbuf_new(ROLE_CLIENT, ROLE_AGENT, 0);
	for (i = 0; i < n; i++) {
		if (ipc_recv_fd(z[0], rb, DRIVE_WAIT_MS, &m, err,
		    sizeof(err)) != 1)
			fatalx("sink: %s", err);
		if (i == 0)
			first = now_us();
	}
	printf("events %d us %llu\n", n,
	    (unsigned long long)(now_us() - first));
	if (waitpid(src, &st, 0) == -1 || waitpid(relay, &st, 0) == -1)
		fatal("waitpid");
	ipc_rbuf_free(rb);
	close(z[0]);
	return 0;
}

static int
mode_faultturn(int argc, char **argv)
{
	struct conn	 c;
	struct ipc_msg	 m;
	const char	*k, *s;
	size_t		 n, sl;
	uint64_t	 t0, deadline;
	char		 err[256], code[64] = "", text[256] = "";
	int		 ms, r, ok;

	if (argc < 5)
		fatalx("usage: faultturn SOCK TEXT TIMEOUT_MS [gate]");
	ms = atoi(argv[4]);
	t0 = now_us();
	if (conn_open_ms(&c, argv[2], "faultturn", ms) == -1) {
		/* A refusal with an ERROR frame is a typed error too. */
		printf("%s %llu %s\n", open_typed ? "error" : "noopen",
		    (unsigned long long)((now_us() - t0) / 1000), open_err);
		return open_typed ? 0 : 1;
	}
	/* Tell the caller the turn is about to start (it kills then). */
	printf("opened\n");
	fflush(stdout);
	if (argc > 5 && strcmp(argv[5], "gate") == 0) {
		char	 line[16];

		if (fgets(line, sizeof(line), stdin) == NULL)
			fatalx("gate: stdin closed");
	}
	t0 = now_us();
	deadline = t0 + (uint64_t)ms * 1000;
	if (send_input(&c, argv[3]) == -1)
		fatal("send");
	for (;;) {
		uint64_t	 now = now_us();
		int		 left = now >= deadline ? 0 :
				    (int)((deadline - now) / 1000);

		r = recv1(&c, &m, left, err, sizeof(err));
		if (r != 1) {
			printf("%s %llu %s\n", r == 0 ? "hang" : "closed",
			    (unsigned long long)((now_us() - t0) / 1000), err);
			return 1;
		}
		if (m.type == IPC_MSG_CHAT_EVENT &&
		    ipc_get_str(&m, "kind", &k, &n) == 0 &&
		    n == 5 && memcmp(k, "error", 5) == 0) {
			if (ipc_get_str(&m, "code", &s, &sl) == 0)
				(void)snprintf(code, sizeof(code), "%.*s",
				    (int)sl, s);
			if (ipc_get_str(&m, "text", &s, &sl) == 0)
				(void)snprintf(text, sizeof(text), "%.*s",
				    (int)sl, s);
		}
		if (turn_end(&c, &m, &ok))
			break;
	}
	if (!ok && code[0] == '\0' &&
	    ipc_get_str(&m, "code", &s, &sl) == 0)
		(void)snprintf(code, sizeof(code), "%.*s", (int)sl, s);
	if (ok)
		printf("ok %llu\n", (unsigned long long)((now_us() - t0) / 1000));
	else
		printf("error %llu %s: %s\n",
		    (unsigned long long)((now_us() - t0) / 1000),
		    code[0] ? code : "-", text);
	conn_close(&c);
	return 0;
}

/* 1 if the daemon answers and every worker is ready. */
static int
all_ready(const char *sock)
{
	struct conn	 c;
	struct ipc_buf	*b;
	struct ipc_msg	 m;
	const msgpack_object *w, *st;
	const char	*s;
	size_t		 n;
	uint32_t	 i;
	char		 err[256];
	int		 ready = 0;

	memset(&c, 0, sizeof(c));
	if ((c.fd = dial(sock)) == -1)
		return 0;
	c.rb = ipc_rbuf_new(ROLE_CLIENT, ROLE_SUPERVISOR, 0);
	b = ipc_new(IPC_MSG_CLIENT_HELLO, 1);
	ipc_add_u64(b, "version", IPC_PROTOCOL_VERSION);
	ipc_add_str(b, "mode", "status");
	if (ipc_send_fd(c.fd, b) == -1 ||
	    recv1(&c, &m, 1000, err, sizeof(err)) != 1 ||
	    m.type != IPC_MSG_WELCOME ||
	    recv1(&c, &m, 1000, err, sizeof(err)) != 1 ||
	    m.type != IPC_MSG_STATUS ||
	    (w = ipc_get(&m, "workers")) == NULL ||
	    w->type != MSGPACK_OBJECT_ARRAY)
		goto out;
	ready = w->via.array.size > 0;
	for (i = 0; i < w->via.array.size; i++) {
		st = ipc_obj_map_get(&w->via.array.ptr[i], "state");
		if (st == NULL || ipc_obj_str(st, &s, &n) == -1 ||
		    n != 5 || memcmp(s, "ready", 5) != 0)
			ready = 0;
	}
 out:
	conn_close(&c);
	return ready;
}

static int
mode_cold(int argc, char **argv)
{
	uint64_t	*v, t0;
	int		 n, i, st;
	pid_t		 pid;

	if (argc < 5 || (n = atoi(argv[2])) < 1)
		fatalx("usage: cold N SOCK HERMESD [ARG...]");
	v = xcalloc((size_t)n, sizeof(*v));
	for (i = 0; i < n; i++) {
		t0 = now_us();
		if ((pid = fork()) == -1)
			fatal("fork");
		if (pid == 0) {
			execv(argv[4], argv + 4);
			_exit(127);
		}
		while (!all_ready(argv[3])) {
			if (now_us() - t0 > (uint64_t)DRIVE_WAIT_MS * 1000)
				fatalx("hermesd not ready in %d ms",
				    DRIVE_WAIT_MS);
			if (waitpid(pid, &st, WNOHANG) == pid)
				fatalx("hermesd exited (status %d)", st);
			usleep(1000);
		}
		v[i] = now_us() - t0;
		if (kill(pid, SIGTERM) == -1 || waitpid(pid, &st, 0) == -1)
			fatal("stop hermesd");
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	printf("%llu %llu %llu\n", (unsigned long long)v[n / 2],
	    (unsigned long long)v[0], (unsigned long long)v[n - 1]);
	free(v);
	return 0;
}

static const struct {
	const char	*name;
	int		(*fn)(int, char **);
} modes[] = {
	{ "time",	mode_time },
	{ "bare",	mode_bare },
	{ "turns",	mode_turns },
	{ "conc",	mode_conc },
	{ "stream",	mode_stream },
	{ "chain",	mode_chain },
	{ "cold",	mode_cold },
	{ "faultturn",	mode_faultturn },
};

int
main(int argc, char **argv)
{
	size_t	 i;

	/* Line by line: what was printed survives a sanitizer's exit. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		fatalx("usage: bench_sys_drive MODE ARGS (see the source)");
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(argv[1], modes[i].name) == 0)
			return modes[i].fn(argc, argv);
	fatalx("unknown mode %s", argv[1]);
}
