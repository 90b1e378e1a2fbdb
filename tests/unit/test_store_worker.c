/*
 * hermes-store through its real process and sandbox (tests/harness.h
 * plays the supervisor, we play the agent):
 *  - the ops work after sandbox_enter (DB, memory, skills, search);
 *  - kill -9 during 1,000 appends: integrity_check is ok and every
 *    append acknowledged before the kill is in state.db.
 */
#include <sys/wait.h>

#include <signal.h>
#include <time.h>

#include "ipc/ipc.h"
#include "tests/harness.h"
#include "tests/unit/test_store_common.h"

#define APPENDS		1000
#define PIPELINE	16

static char store_path[512];

struct conn {
	struct harness	*h;
	int		 fd;
	struct ipc_rbuf	*rb;
	uint64_t	 next_id;
};

static void
conn_open(struct conn *c, const char *home)
{
	memset(c, 0, sizeof(*c));
	c->h = harness_spawn(store_path, ROLE_STORE, home, "{\"memory\": "
	    "{\"memory_char_limit\": 2200}}", NULL, 0);
	if (c->h == NULL)
		fail_msg("cannot spawn %s", store_path);
	c->fd = harness_peer(c->h, ROLE_AGENT);
	assert_true(c->fd >= 0);
	c->rb = ipc_rbuf_new(ROLE_AGENT, ROLE_STORE, 0);
	c->next_id = 1;
}

static int
conn_close(struct conn *c)
{
	int st;

	ipc_rbuf_free(c->rb);
	st = harness_free(c->h);
	return st;
}

static uint64_t
send_call(struct conn *c, const char *op, const char *args)
{
	struct ipc_buf *b = ipc_new(IPC_MSG_STORE_CALL, c->next_id);

	ipc_add_str(b, "op", op);
	ipc_add_str(b, "args", args);
	if (ipc_send_fd(c->fd, b) == -1)
		return 0;
	return c->next_id++;
}

struct reply {
	uint64_t	 id;
	int		 ok;
	json_t		*result;
	char		 error[512];
	char		 code[32];
	int		 has_count;
	uint64_t	 count;
};

/* 1 with a reply, -1 at EOF/error. */
static int
recv_reply(struct conn *c, struct reply *r)
{
	struct ipc_msg m;
	char err[256];
	const char *p;
	size_t n;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = ipc_recv_fd(c->fd, c->rb, 10000, &m, err, sizeof(err));
	if (rc != 1)
		return -1;
	assert_int_equal(m.type, IPC_MSG_STORE_RESULT);
	r->id = m.id;
	assert_int_equal(ipc_get_bool(&m, "ok", &r->ok), 0);
	if (ipc_get_str(&m, "result", &p, &n) == 0)
		r->result = json_loadb(p, n, JSON_DECODE_ANY, NULL);
	if (ipc_get_str(&m, "error", &p, &n) == 0)
		snprintf(r->error, sizeof(r->error), "%.*s", (int)n, p);
	if (ipc_get_str(&m, "code", &p, &n) == 0)
		snprintf(r->code, sizeof(r->code), "%.*s", (int)n, p);
	r->has_count = ipc_get_u64(&m, "message_count", &r->count) == 0;
	return 1;
}

static json_t *
call_ok(struct conn *c, const char *op, const char *args, struct reply *r)
{
	uint64_t id = send_call(c, op, args);

	assert_true(id > 0);
	assert_int_equal(recv_reply(c, r), 1);
	assert_int_equal(r->id, id);
	if (!r->ok)
		fail_msg("%s: %s (%s)\nworker log:\n%s", op, r->error, r->code,
		    harness_logs(c->h));
	return r->result;
}

static void
test_ops_in_sandbox(void **state)
{
	char *home = t_home(), args[512];
	struct conn c;
	struct reply r;
	json_t *j, *t;

	conn_open(&c, home);
	j = call_ok(&c, "session.create", "{\"title\": \"sandboxed\"}", &r);
	assert_true(r.has_count);
	assert_int_equal(r.count, 0);
	snprintf(args, sizeof(args), "{\"session_id\": \"%s\", \"role\": "
	    "\"user\", \"content\": \"where is the quarterly report\"}",
	    t_str(j, "session_id"));
	json_decref(call_ok(&c, "session.append", args, &r));
	assert_int_equal(r.count, 1);
	snprintf(args, sizeof(args), "{\"session_id\": \"%s\"}",
	    t_str(j, "session_id"));
	json_decref(call_ok(&c, "session.load", args, &r));
	assert_int_equal(r.count, 1);
	json_decref(j);

	/* Tool-shaped ops: the result is the tool's text. */
	j = call_ok(&c, "session.search", "{\"query\": \"quarterly\"}", &r);
	assert_true(json_is_string(j));
	t = json_loads(json_string_value(j), 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(t, "count")), 1);
	json_decref(t);
	json_decref(j);
	j = call_ok(&c, "memory", "{\"action\": \"add\", \"target\": \"user\", "
	    "\"content\": \"prefers metric units\"}", &r);
	assert_non_null(strstr(json_string_value(j), "\"success\": true"));
	json_decref(j);
	/* New files and directories after the sandbox is on. */
	j = call_ok(&c, "skills.manage", "{\"action\": \"create\", \"name\": "
	    "\"report\", \"category\": \"office\", \"content\": \"---\\nname: "
	    "report\\ndescription: Write the report\\n---\\nBody\\n\"}", &r);
	assert_non_null(strstr(json_string_value(j), "\"success\": true"));
	json_decref(j);
	j = call_ok(&c, "skills.manage", "{\"action\": \"write_file\", "
	    "\"name\": \"report\", \"file_path\": \"templates/t.md\", "
	    "\"file_content\": \"x\"}", &r);
	assert_non_null(strstr(json_string_value(j), "\"success\": true"));
	json_decref(j);
	/* delete archives: a rename across directories (landlock REFER). */
	j = call_ok(&c, "skills.manage", "{\"action\": \"delete\", "
	    "\"name\": \"report\"}", &r);
	if (strstr(json_string_value(j), "\"success\": true") == NULL)
		fail_msg("delete in the sandbox: %s", json_string_value(j));
	json_decref(j);
	json_decref(call_ok(&c, "cron.save", "{\"jobs\": []}", &r));
	json_decref(call_ok(&c, "trajectory.append", "{\"record\": {}}", &r));
	json_decref(call_ok(&c, "session.repair", "{}", &r));

	/* Refusals travel as ok=false with a code. */
	assert_true(send_call(&c, "drop.tables", "{}") > 0);
	assert_int_equal(recv_reply(&c, &r), 1);
	assert_false(r.ok);
	assert_null(r.result);
	assert_string_equal(r.code, "unknown_op");
	assert_true(send_call(&c, "session.append", "{\"session_id\": \"x\", "
	    "\"role\": \"user\"}") > 0);
	assert_int_equal(recv_reply(&c, &r), 1);
	assert_false(r.ok);
	assert_string_equal(r.code, "notfound");
	/* The worker is still alive after all of that, and confined. */
	assert_int_equal(kill(harness_pid(c.h), 0), 0);
	if (getenv("HERMES_SANDBOX") == NULL ||
	    strcmp(getenv("HERMES_SANDBOX"), "off") != 0) {
		char path[64], *st;

		snprintf(path, sizeof(path), "/proc/%d/status",
		    (int)harness_pid(c.h));
		st = store_read_file(path, 1 << 16, NULL);
		if (st == NULL || strlen(st) == 0) {
			/* /proc files report size 0: read them by hand. */
			FILE *fp = fopen(path, "r");
			size_t n;

			free(st);
			st = xcalloc(1, 8192);
			assert_non_null(fp);
			n = fread(st, 1, 8191, fp);
			st[n] = '\0';
			fclose(fp);
		}
		assert_non_null(strstr(st, "Seccomp:\t2"));
		assert_non_null(strstr(st, "NoNewPrivs:\t1"));
		free(st);
	}
	conn_close(&c);
	t_rmhome(home);
}

static void
test_kill9_appends(void **state)
{
	char *home = t_home(), *db, args[256], *ic;
	unsigned char *acked = xcalloc(APPENDS, 1);
	struct conn c;
	struct reply r;
	json_t *j;
	char sid[64];
	int sent = 0, nacked = 0, inflight = 0, kill_at, i, status;
	uint64_t first_id;

	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	kill_at = 300 + (int)(random() % 500);
	conn_open(&c, home);
	j = call_ok(&c, "session.create", "{}", &r);
	strlcpy(sid, t_str(j, "session_id"), sizeof(sid));
	json_decref(j);
	first_id = c.next_id;
	/* Appends pipelined PIPELINE deep; kill -9 with requests in flight. */
	while (sent < APPENDS || inflight > 0) {
		while (sent < APPENDS && inflight < PIPELINE) {
			snprintf(args, sizeof(args), "{\"session_id\": \"%s\", "
			    "\"role\": \"user\", \"content\": \"append-%d\"}",
			    sid, sent);
			if (send_call(&c, "session.append", args) == 0)
				break;
			sent++;
			inflight++;
		}
		if (nacked == kill_at) {
			assert_int_equal(kill(harness_pid(c.h), SIGKILL), 0);
			break;
		}
		if (recv_reply(&c, &r) != 1)
			break;
		inflight--;
		json_decref(r.result);
		assert_true(r.ok);
		i = (int)(r.id - first_id);
		assert_true(i >= 0 && i < APPENDS);
		acked[i] = 1;
		nacked++;
		/* Every acknowledgement carries the new count. */
		assert_true(r.has_count);
		assert_int_equal(r.count, (uint64_t)nacked);
	}
	status = conn_close(&c);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	print_message("killed after %d acknowledged appends (%d sent)\n",
	    nacked, sent);

	xasprintf(&db, "%s/state.db", home);
	ic = t_sql_text(db, "PRAGMA integrity_check");
	assert_string_equal(ic, "ok");
	free(ic);
	for (i = 0; i < APPENDS; i++) {
		char sql[160];

		if (!acked[i])
			continue;
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM messages WHERE "
		    "content = 'append-%d'", i);
		if (t_sql_int(db, sql) != 1)
			fail_msg("acknowledged append %d is missing", i);
	}
	assert_true(t_sql_int(db, "SELECT count(*) FROM messages") >= nacked);
	/* The count column agrees with the rows (one transaction each). */
	assert_int_equal(t_sql_int(db, "SELECT message_count FROM sessions"),
	    t_sql_int(db, "SELECT count(*) FROM messages"));

	/* A restarted store opens it and carries on. */
	conn_open(&c, home);
	snprintf(args, sizeof(args), "{\"session_id\": \"%s\", \"role\": "
	    "\"user\", \"content\": \"after restart\"}", sid);
	json_decref(call_ok(&c, "session.append", args, &r));
	assert_int_equal(r.count, (uint64_t)t_sql_int(db, "SELECT count(*) "
	    "FROM messages"));
	j = call_ok(&c, "session.search", "{\"query\": \"restart\"}", &r);
	assert_non_null(strstr(json_string_value(j), "\"count\": 1"));
	json_decref(j);
	conn_close(&c);
	free(db);
	free(acked);
	t_rmhome(home);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ops_in_sandbox),
		cmocka_unit_test(test_kill9_appends),
	};
	const char *b = getenv("B");

	snprintf(store_path, sizeof(store_path), "%s/hermes-store",
	    b != NULL ? b : "build");
	signal(SIGPIPE, SIG_IGN);
	log_init("test_store_worker", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
