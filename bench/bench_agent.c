/*
 * hermes-agent overhead, measured through the real process (spawned by
 * tests/harness.h, sandboxed) with this program playing an instant model,
 * the store, the tool runner and the client:
 *   - a persisted turn (user append, model call, assistant append, done);
 *   - one tool iteration (model call -> tool call -> result appended);
 *   - the raw libipc round trip between two processes, same run;
 *   - RSS per idle session with 10,000 sessions loaded.
 *
 *	bench_agent [turns_per_run] [runs] [sessions]
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "tests/harness.h"

static const int roles[] = { ROLE_FETCH, ROLE_STORE, ROLE_TOOL, ROLE_CLIENT };

struct bench {
	struct harness	*h;
	int		 fd[ROLE_MAX];
	struct ipc_rbuf	*rb[ROLE_MAX];
	uint64_t	 count[1 << 16];	/* messages per fake session */
	unsigned	 nsess;
	int		 calls_left;	/* tool calls the model still makes */
	uint64_t	 done_id;	/* last CHAT_INPUT whose turn ended */
	int		 opened;
	char		 sid[64];
};

static int
cmp_d(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
bsend(struct bench *b, int role, struct ipc_buf *m)
{
	if (ipc_send_fd(b->fd[role], m) == -1)
		fatal("send as %s", ipc_role_name(role));
}

static unsigned
sess_index(const char *id)
{
	const char	*p = strrchr(id, '_');

	return p != NULL ? (unsigned)strtoul(p + 1, NULL, 10) % (1 << 16) : 0;
}

static void
store(struct bench *b, struct ipc_msg *m)
{
	const char	*op, *a;
	size_t		 ol, al;
	struct ipc_buf	*r = ipc_new(IPC_MSG_STORE_RESULT, m->id);
	char		 res[160];
	json_t		*args;
	unsigned	 i;

	if (ipc_get_str(m, "op", &op, &ol) == -1 ||
	    ipc_get_str(m, "args", &a, &al) == -1)
		fatalx("bad store call");
	ipc_add_bool(r, "ok", 1);
	if (ol == 14 && memcmp(op, "session.append", 14) == 0) {
		/* The session id is the first key the agent writes. */
		args = json_loadb(a, al, 0, NULL);
		i = sess_index(json_string_value(json_object_get(args,
		    "session_id")));
		json_decref(args);
		ipc_add_str(r, "result", "{\"message_id\":1}");
		ipc_add_u64(r, "message_count", ++b->count[i]);
	} else if (ol == 14 && memcmp(op, "session.create", 14) == 0) {
		i = ++b->nsess;
		snprintf(b->sid, sizeof b->sid, "20261122_000000_%u", i);
		b->count[i % (1 << 16)] = 0;
		snprintf(res, sizeof res, "{\"session_id\":\"%s\"}", b->sid);
		ipc_add_str(r, "result", res);
		ipc_add_u64(r, "message_count", 0);
	} else if (ol == 15 && memcmp(op, "memory.snapshot", 15) == 0)
		ipc_add_str(r, "result", "{\"memory\":[\"likes tea\"],\"user\":[],"
		    "\"memory_block\":\"\",\"user_block\":\"\"}");
	else if (ol == 12 && memcmp(op, "skills.index", 12) == 0)
		ipc_add_str(r, "result", "{\"skills\":[]}");
	else {
		ipc_buf_free(r);
		r = ipc_new(IPC_MSG_STORE_RESULT, m->id);
		ipc_add_bool(r, "ok", 0);
		ipc_add_str(r, "error", "unknown op");
		ipc_add_str(r, "code", "unknown_op");
	}
	bsend(b, ROLE_STORE, r);
}

static void
fetch(struct bench *b, struct ipc_msg *m)
{
	struct ipc_buf	*r;

	if (m->type != IPC_MSG_FETCH_REQUEST)
		return;
	if (b->calls_left > 0) {
		b->calls_left--;
		r = ipc_new(IPC_MSG_FETCH_EVENT, m->id);
		ipc_add_str(r, "kind", "tool_call");
		ipc_add_str(r, "call_id", "c1");
		ipc_add_str(r, "name", "read_file");
		ipc_add_str(r, "arguments", "{\"path\":\"a.txt\"}");
		bsend(b, ROLE_FETCH, r);
	} else {
		r = ipc_new(IPC_MSG_FETCH_EVENT, m->id);
		ipc_add_str(r, "kind", "text");
		ipc_add_str(r, "text", "ok");
		bsend(b, ROLE_FETCH, r);
	}
	r = ipc_new(IPC_MSG_FETCH_EVENT, m->id);
	ipc_add_str(r, "kind", "done");
	ipc_add_str(r, "finish_reason", "stop");
	bsend(b, ROLE_FETCH, r);
}

static void
tool(struct bench *b, struct ipc_msg *m)
{
	struct ipc_buf	*r;

	if (m->type == IPC_MSG_TOOL_CONTEXT) {
		r = ipc_new(IPC_MSG_TOOL_CONTEXT_FILES, m->id);
		ipc_add_str(r, "files", "[]");
		ipc_add_str(r, "cwd", "/tmp");
	} else if (m->type == IPC_MSG_TOOL_CALL) {
		r = ipc_new(IPC_MSG_TOOL_RESULT, m->id);
		ipc_add_bool(r, "ok", 1);
		ipc_add_str(r, "output", "{\"content\":\"1|hello\",\"total_lines\":1}");
		ipc_add_u64(r, "ms", 0);
	} else
		return;
	bsend(b, ROLE_TOOL, r);
}

static void
client(struct bench *b, struct ipc_msg *m)
{
	const char	*k;
	size_t		 n;

	if (m->type == IPC_MSG_CHAT_OPENED)
		b->opened = 1;
	else if (m->type == IPC_MSG_CHAT_EVENT &&
	    ipc_get_str(m, "kind", &k, &n) == 0 && n == 4 &&
	    memcmp(k, "done", 4) == 0)
		b->done_id = m->id;
}

/* Serve one frame from whoever has one. */
static void
serve(struct bench *b)
{
	struct pollfd	 pfd[4];
	struct ipc_msg	 m;
	char		 err[256];
	size_t		 i;
	int		 r;

	for (;;) {
		for (i = 0; i < nitems(roles); i++) {
			/* Frames already buffered (timeout 0 never reads). */
			r = ipc_recv_fd(b->fd[roles[i]], b->rb[roles[i]], 0, &m,
			    err, sizeof err);
			if (r == -1)
				fatalx("%s: %s", ipc_role_name(roles[i]), err);
			if (r == 1)
				goto got;
		}
		for (i = 0; i < nitems(roles); i++) {
			pfd[i].fd = b->fd[roles[i]];
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, nitems(roles), 5000) <= 0)
			fatalx("agent stalled");
		for (i = 0; i < nitems(roles); i++) {
			if (!(pfd[i].revents & (POLLIN | POLLHUP)))
				continue;
			r = ipc_recv_fd(b->fd[roles[i]], b->rb[roles[i]], 100, &m,
			    err, sizeof err);
			if (r == -1)
				fatalx("%s: %s", ipc_role_name(roles[i]), err);
			if (r == 1)
				goto got;
		}
	}
got:
	switch (roles[i]) {
	case ROLE_STORE:	store(b, &m); break;
	case ROLE_FETCH:	fetch(b, &m); break;
	case ROLE_TOOL:		tool(b, &m); break;
	default:		client(b, &m); break;
	}
}

static void
open_session(struct bench *b)
{
	static uint64_t	 id = 1;
	struct ipc_buf	*m = ipc_new(IPC_MSG_CHAT_OPEN, id++);

	ipc_add_str(m, "platform", "cli");
	bsend(b, ROLE_CLIENT, m);
	b->opened = 0;
	while (!b->opened)
		serve(b);
}

static void
turn(struct bench *b, int tool_calls)
{
	static uint64_t	 id = 1000000;
	struct ipc_buf	*m = ipc_new(IPC_MSG_CHAT_INPUT, ++id);

	b->calls_left = tool_calls;
	ipc_add_str(m, "text", "hello");
	bsend(b, ROLE_CLIENT, m);
	while (b->done_id != id)
		serve(b);
}

static long
rss_kb(pid_t pid)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kb = -1;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* libipc ping-pong with an echo process: the floor of any agent hop. */
static double
ipc_rt_us(int n)
{
	int		 sv[2], i;
	pid_t		 pid;
	struct ipc_rbuf	*rb;
	struct ipc_msg	 m;
	struct ipc_buf	*b;
	char		 err[128];
	uint64_t	 t0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		fatal("socketpair");
	if ((pid = fork()) == 0) {
		close(sv[0]);
		rb = ipc_rbuf_new(ROLE_STORE, ROLE_AGENT, 0);
		while (ipc_recv_fd(sv[1], rb, -1, &m, err, sizeof err) == 1) {
			b = ipc_new(IPC_MSG_STORE_RESULT, m.id);
			ipc_add_bool(b, "ok", 1);
			ipc_add_str(b, "result", "{\"message_id\":1}");
			ipc_add_u64(b, "message_count", 1);
			if (ipc_send_fd(sv[1], b) == -1)
				_exit(1);
		}
		_exit(0);
	}
	close(sv[1]);
	rb = ipc_rbuf_new(ROLE_AGENT, ROLE_STORE, 0);
	t0 = now_us();
	for (i = 0; i < n; i++) {
		b = ipc_new(IPC_MSG_STORE_CALL, (uint64_t)i + 1);
		ipc_add_str(b, "op", "session.append");
		ipc_add_str(b, "args", "{\"session_id\":\"x\",\"role\":\"user\","
		    "\"content\":\"hello\"}");
		if (ipc_send_fd(sv[0], b) == -1 ||
		    ipc_recv_fd(sv[0], rb, 5000, &m, err, sizeof err) != 1)
			fatalx("echo: %s", err);
	}
	t0 = now_us() - t0;
	close(sv[0]);
	(void)waitpid(pid, NULL, 0);
	ipc_rbuf_free(rb);
	return (double)t0 / n;
}

static void
start_agent(struct bench *b)
{
	char		 home[] = "/tmp/bench-agent-XXXXXX";
	const char	*bin = getenv("AGENT_BIN"), *bdir = getenv("B");
	char		 path[512];
	struct ipc_buf	*m;
	int		 sv[2];
	size_t		 k;

	snprintf(path, sizeof path, "%s/hermes-agent", bdir != NULL &&
	    *bdir != '\0' ? bdir : "build");
	if (mkdtemp(home) == NULL)
		fatal("mkdtemp");
	b->h = harness_spawn(bin ? bin : path, ROLE_AGENT, home,
	    "{\"memory\":{\"nudge_interval\":0},\"skills\":"
	    "{\"creation_nudge_interval\":0}}", NULL, 0);
	(void)rmdir(home);
	if (b->h == NULL)
		fatalx("cannot start the agent");
	for (k = 0; k < 3; k++) {
		b->fd[roles[k]] = harness_peer(b->h, roles[k]);
		b->rb[roles[k]] = ipc_rbuf_new(roles[k], ROLE_AGENT, 0);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		fatal("socketpair");
	m = ipc_new(IPC_MSG_CLIENT_ATTACH, 0);
	ipc_add_u64(m, "uid", (uint64_t)getuid());
	ipc_add_u64(m, "pid", (uint64_t)getpid());
	ipc_add_fd(m, sv[1], 1);
	if (ipc_send_fd(harness_sup_fd(b->h), m) == -1)
		fatal("attach");
	b->fd[ROLE_CLIENT] = sv[0];
	b->rb[ROLE_CLIENT] = ipc_rbuf_new(ROLE_CLIENT, ROLE_AGENT, 0);
}

static void
stop_agent(struct bench *b)
{
	size_t	 k;

	harness_free(b->h);
	b->h = NULL;
	close(b->fd[ROLE_CLIENT]);
	for (k = 0; k < nitems(roles); k++) {
		ipc_rbuf_free(b->rb[roles[k]]);
		b->rb[roles[k]] = NULL;
	}
}

int
main(int argc, char **argv)
{
	struct bench	*b = xcalloc(1, sizeof *b);
	int		 turns = argc > 1 ? atoi(argv[1]) : 200;
	int		 runs = argc > 2 ? atoi(argv[2]) : 7;
	int		 nsess = argc > 3 ? atoi(argv[3]) : 10000;
	double		*tt = xcalloc((size_t)runs, sizeof *tt);
	double		*tc = xcalloc((size_t)runs, sizeof *tc);
	double		*rt = xcalloc((size_t)runs, sizeof *rt);
	int		 r, i;
	uint64_t	 t0;
	long		 rss0, rss1;

	log_init("bench_agent", 0);
	start_agent(b);
	for (r = 0; r < runs; r++) {
		harness_pump(b->h, 1);	/* drain log lines */
		open_session(b);
		turn(b, 0);		/* warm */
		t0 = now_us();
		for (i = 0; i < turns; i++)
			turn(b, 0);
		tt[r] = (double)(now_us() - t0) / turns;
		open_session(b);
		t0 = now_us();
		for (i = 0; i < turns / 10; i++)
			turn(b, 10);
		/* 10 tool iterations + the final call per turn: subtract the
		 * plain turn to isolate one tool iteration. */
		tc[r] = ((double)(now_us() - t0) / (turns / 10) - tt[r]) / 10;
		rt[r] = ipc_rt_us(turns * 5);
	}
	qsort(tt, (size_t)runs, sizeof *tt, cmp_d);
	qsort(tc, (size_t)runs, sizeof *tc, cmp_d);
	qsort(rt, (size_t)runs, sizeof *rt, cmp_d);
	printf("BENCH\tagent turn, instant model, persisted (us)\t%.1f\t%.1f"
	    "\t%.1f\tmedian of %d runs x %d turns (min %.1f max %.1f); "
	    "reference = one libipc round trip; a turn is 4 round trips "
	    "(2 appends, model call, client)\n", tt[runs / 2], rt[runs / 2],
	    tt[runs / 2] / rt[runs / 2], runs, turns, tt[0], tt[runs - 1]);
	printf("BENCH\tagent turns/s, instant model, persisted\t%.0f\t1000\t%.2f"
	    "\tgoal >= 1000 turns/s (DESIGN.md); one session, sequential\n",
	    1e6 / tt[runs / 2], 1e6 / tt[runs / 2] / 1000);
	printf("BENCH\tagent per tool call (us)\t%.1f\t%.1f\t%.1f\tmedian of %d "
	    "runs (min %.1f max %.1f); one iteration = model call + tool "
	    "call + 2 appends; reference = one libipc round trip\n",
	    tc[runs / 2], rt[runs / 2], tc[runs / 2] / rt[runs / 2], runs,
	    tc[0], tc[runs - 1]);

	/* Idle sessions, in a fresh agent (no heap left over from the runs
	 * above): one warm session, then nsess more with one turn each. */
	stop_agent(b);
	start_agent(b);
	open_session(b);
	turn(b, 0);
	rss0 = rss_kb(harness_pid(b->h));
	for (i = 0; i < nsess; i++) {
		open_session(b);
		turn(b, 0);
		if (i % 500 == 0)
			harness_pump(b->h, 1);
	}
	rss1 = rss_kb(harness_pid(b->h));
	printf("BENCH\tagent RSS per idle session (KiB)\t%.2f\t16\t%.3f\t%d "
	    "sessions with one turn each; RSS %ld -> %ld KiB; budget 16 KiB "
	    "(DESIGN.md)\n", (double)(rss1 - rss0) / nsess,
	    (double)(rss1 - rss0) / nsess / 16.0, nsess, rss0, rss1);
	stop_agent(b);
	return 0;
}
