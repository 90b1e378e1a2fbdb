/*
 * hermes-agent as a real process in its real sandbox (tests/harness.h),
 * with this test playing llm-fetch, the store, the tool runner and a
 * client: the turn loop end to end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "tests/harness.h"
#include "tests/unit/agent_fake.h"

#define T	3000	/* ms to wait for anything */

static const char *
bstr(struct fake *f, const char *k)
{
	return json_string_value(json_object_get(f->body, k));
}

static const char *
jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Open a session: the agent asks the tool runner for context files. */
static const char *
open_session(struct fake *f)
{
	struct ipc_buf	*b;
	static char	 sid[64];

	(void)fake_open(f, NULL);
	assert_true(fake_expect(f, ROLE_TOOL, IPC_MSG_TOOL_CONTEXT, T));
	b = ipc_new(IPC_MSG_TOOL_CONTEXT_FILES, f->id);
	ipc_add_str(b, "files", "[{\"name\":\"AGENTS.md\",\"path\":\"AGENTS.md\","
	    "\"content\":\"Run make check before committing.\"}]");
	ipc_add_str(b, "cwd", "/work/project");
	fake_send(f, ROLE_TOOL, b);
	assert_true(fake_expect(f, ROLE_CLIENT, IPC_MSG_CHAT_OPENED, T));
	strlcpy(sid, bstr(f, "session_id"), sizeof sid);
	return sid;
}

static struct fake *
start(const char *cfg)
{
	struct fake	*f = fake_start(cfg);

	assert_non_null(f);
	return f;
}

static size_t
count_marks(const json_t *msgs)
{
	size_t		 i, n = 0;
	const json_t	*m;

	json_array_foreach(msgs, i, m)
		if (json_is_true(json_object_get(m, "cache")))
			n++;
	return n;
}

/* A multi-step tool-using turn; persistence before acknowledgement;
 * cache breakpoints and a byte-stable prefix in the requests. */
static void
test_multi_step_turn(void **state)
{
	struct fake	*f = start("{\"model\":{\"default\":\"claude-sonnet-4\"}}");
	const char	*sid = open_session(f);
	struct fsess	*s;
	json_t		*req, *msgs, *req2, *ev;
	uint64_t	 rid, tid, in;
	char		*sys1, *tools1, *t2;
	size_t		 i;

	(void)state;
	s = fake_session(f, sid);
	assert_non_null(s);
	/* The prompt: default identity, memory snapshot, skills, AGENTS.md. */
	assert_non_null(strstr(s->prompt, "You are Hermes Agent"));
	assert_non_null(strstr(s->prompt, "likes tea"));
	assert_non_null(strstr(s->prompt, "    - deploy: Deploy the app"));
	assert_non_null(strstr(s->prompt, "## AGENTS.md\n\nRun make check"));

	in = fake_input(f, "what is in this directory?");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	req = fake_request(f);
	msgs = json_object_get(req, "messages");
	assert_string_equal(jstr(json_array_get(msgs, 0), "role"), "system");
	assert_string_equal(jstr(json_array_get(msgs, 0), "content"), s->prompt);
	assert_string_equal(jstr(json_array_get(msgs, 1), "content"),
	    "what is in this directory?");
	assert_int_equal(json_array_size(json_object_get(req, "tools")), 13);
	assert_true(json_is_true(json_object_get(json_array_get(msgs, 0),
	    "cache")));
	assert_string_equal(jstr(req, "cache_ttl"), "5m");
	/* The user message was persisted before the model was called. */
	assert_int_equal(json_array_size(s->msgs), 1);
	sys1 = json_dumps(json_array_get(msgs, 0), JSON_COMPACT);
	tools1 = json_dumps(json_object_get(req, "tools"), JSON_COMPACT);
	json_decref(req);

	fake_fetch_text(f, rid, "Let me look.");
	fake_fetch_call(f, rid, "call_1", "terminal", "{\"command\":\"ls\"}");
	fake_fetch_usage(f, rid, 5000, 20);
	fake_fetch_done(f, rid, "tool_calls");
	assert_true(fake_expect(f, ROLE_TOOL, IPC_MSG_TOOL_CALL, T));
	tid = f->id;
	assert_string_equal(bstr(f, "name"), "terminal");
	assert_string_equal(bstr(f, "args"), "{\"command\":\"ls\"}");
	assert_string_equal(bstr(f, "session"), sid);
	assert_string_equal(bstr(f, "call_id"), "call_1");
	/* The assistant message with its call is already stored. */
	assert_int_equal(json_array_size(s->msgs), 2);
	assert_string_equal(jstr(json_object_get(json_array_get(json_object_get(
	    json_array_get(s->msgs, 1), "tool_calls"), 0), "function"), "name"),
	    "terminal");
	fake_tool_result(f, tid, 1, "{\"output\":\"a.c\\nb.c\",\"exit_code\":0}");

	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	req2 = fake_request(f);
	msgs = json_object_get(req2, "messages");
	assert_int_equal(json_array_size(msgs), 4);
	assert_string_equal(jstr(json_array_get(msgs, 3), "role"), "tool");
	assert_string_equal(jstr(json_array_get(msgs, 3), "tool_call_id"),
	    "call_1");
	/* system_and_3: system + the last 3 messages. */
	assert_int_equal(count_marks(msgs), 4);
	/* The prefix is byte-stable across calls. */
	t2 = json_dumps(json_object_get(req2, "tools"), JSON_COMPACT);
	assert_string_equal(t2, tools1);
	free(t2);
	json_object_del(json_array_get(msgs, 0), "cache");
	json_object_set_new(json_array_get(msgs, 0), "cache", json_true());
	t2 = json_dumps(json_array_get(msgs, 0), JSON_COMPACT);
	assert_string_equal(t2, sys1);
	free(t2);
	json_decref(req2);
	fake_fetch_text(f, rid, "Two C files.");
	fake_fetch_done(f, rid, "stop");
	ev = fake_client_event(f, "done", T);
	assert_non_null(ev);
	assert_string_equal(jstr(ev, "text"), "Two C files.");
	assert_true(json_is_true(json_object_get(ev, "ok")));
	assert_int_equal(f->id, in);
	assert_int_equal(json_array_size(s->msgs), 4);
	/* Every client acknowledgement came after its message was stored:
	 * tool_end after the tool row, done after the final row. */
	{
		json_int_t tool_row = json_integer_value(json_object_get(
		    json_array_get(s->msgs, 2), "seq"));
		json_int_t final_row = json_integer_value(json_object_get(
		    json_array_get(s->msgs, 3), "seq"));
		json_t *e;
		int saw_end = 0, saw_start = 0;
		json_array_foreach(f->events, i, e) {
			const char *k = jstr(e, "kind");
			json_int_t q = json_integer_value(json_object_get(e,
			    "seq"));
			if (strcmp(k, "tool_start") == 0)
				saw_start = 1;
			if (strcmp(k, "tool_end") == 0) {
				saw_end = 1;
				assert_true(q > tool_row);
				assert_true(json_is_true(json_object_get(e,
				    "ok")));
			}
			if (strcmp(k, "done") == 0)
				assert_true(q > final_row);
		}
		assert_true(saw_start && saw_end);
	}
	free(sys1);
	free(tools1);
	fake_stop(f);
}

/* Read-only calls run in parallel; a writing call waits for them;
 * results are stored in call order. */
static void
test_parallel_readonly(void **state)
{
	struct fake	*f = start("{}");
	const char	*sid = open_session(f);
	struct fsess	*s = fake_session(f, sid);
	uint64_t	 rid, ids[3];
	int		 i;
	char		 cid[16], args[64];

	(void)state;
	(void)fake_input(f, "read three files then write one");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	for (i = 0; i < 3; i++) {
		snprintf(cid, sizeof cid, "r%d", i);
		snprintf(args, sizeof args, "{\"path\":\"f%d.txt\"}", i);
		fake_fetch_call(f, rid, cid, "read_file", args);
	}
	fake_fetch_call(f, rid, "w0", "write_file",
	    "{\"path\":\"out.txt\",\"content\":\"x\"}");
	fake_fetch_done(f, rid, "tool_calls");
	/* All three reads are in flight at once, before any answer. */
	for (i = 0; i < 3; i++) {
		assert_true(fake_expect(f, ROLE_TOOL, IPC_MSG_TOOL_CALL, T));
		assert_string_equal(bstr(f, "name"), "read_file");
		ids[i] = f->id;
	}
	/* The write is not sent while reads run. */
	assert_int_equal(fake_next(f, 200) == 1 && f->role == ROLE_TOOL, 0);
	fake_tool_result(f, ids[2], 1, "{\"content\":\"2\"}");
	fake_tool_result(f, ids[0], 1, "{\"content\":\"0\"}");
	fake_tool_result(f, ids[1], 1, "{\"content\":\"1\"}");
	assert_true(fake_expect(f, ROLE_TOOL, IPC_MSG_TOOL_CALL, T));
	assert_string_equal(bstr(f, "name"), "write_file");
	fake_tool_result(f, f->id, 1, "{\"success\":true}");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	/* user, assistant, r0, r1, r2, w0 in call order. */
	assert_int_equal(json_array_size(s->msgs), 6);
	for (i = 0; i < 3; i++) {
		snprintf(cid, sizeof cid, "r%d", i);
		assert_string_equal(jstr(json_array_get(s->msgs, 2 + i),
		    "tool_call_id"), cid);
	}
	fake_fetch_text(f, rid, "ok");
	fake_fetch_done(f, rid, "stop");
	assert_non_null(fake_client_event(f, "done", T));
	fake_stop(f);
}

/* Bad arguments come back to the model as a tool error; the iteration
 * budget ends with a grace call without tools. */
static void
test_budget_grace(void **state)
{
	struct fake	*f = start("{\"agent\":{\"max_turns\":2}}");
	const char	*sid = open_session(f);
	struct fsess	*s = fake_session(f, sid);
	uint64_t	 rid;
	json_t		*req, *msgs, *ev;
	int		 it;

	(void)state;
	(void)fake_input(f, "loop forever");
	for (it = 0; it < 2; it++) {
		assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
		rid = f->id;
		req = fake_request(f);
		assert_non_null(json_object_get(req, "tools"));
		json_decref(req);
		/* Invalid: read_file without its path. */
		fake_fetch_call(f, rid, it ? "c2" : "c1", "read_file",
		    "{\"offset\":1}");
		fake_fetch_done(f, rid, "tool_calls");
	}
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	req = fake_request(f);
	/* The grace call: no tools, and told to answer now. */
	assert_null(json_object_get(req, "tools"));
	msgs = json_object_get(req, "messages");
	assert_non_null(strstr(jstr(json_array_get(msgs, json_array_size(msgs) - 1),
	    "content"), "maximum number of tool-calling iterations"));
	/* The validator's error reached the model as the tool result. */
	assert_non_null(strstr(jstr(json_array_get(msgs, 3), "content"),
	    "missing required parameter 'path'"));
	json_decref(req);
	fake_fetch_text(f, rid, "I could not finish.");
	fake_fetch_done(f, rid, "stop");
	ev = fake_client_event(f, "done", T);
	assert_non_null(ev);
	assert_string_equal(jstr(ev, "text"), "I could not finish.");
	/* No tool runner was bothered with an invalid call. */
	assert_int_equal(json_array_size(s->msgs), 6);
	fake_stop(f);
}

/* Three identical failing calls stop the loop. */
static void
test_loop_guard(void **state)
{
	struct fake	*f = start("{}");
	uint64_t	 rid;
	json_t		*req, *msgs;
	int		 it;

	(void)state;
	(void)open_session(f);
	(void)fake_input(f, "run the failing thing");
	for (it = 0; it < 3; it++) {
		assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
		rid = f->id;
		fake_fetch_call(f, rid, "c", "terminal", "{\"command\":\"false\"}");
		fake_fetch_done(f, rid, "tool_calls");
		assert_true(fake_expect(f, ROLE_TOOL, IPC_MSG_TOOL_CALL, T));
		fake_tool_result(f, f->id, 0,
		    "{\"output\":\"\",\"exit_code\":1,\"error\":\"exit 1\"}");
	}
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	req = fake_request(f);
	assert_null(json_object_get(req, "tools"));
	msgs = json_object_get(req, "messages");
	assert_non_null(strstr(jstr(json_array_get(msgs, json_array_size(msgs) - 1),
	    "content"), "failed 3 times in a row"));
	json_decref(req);
	fake_fetch_text(f, rid, "It keeps failing.");
	fake_fetch_done(f, rid, "stop");
	assert_non_null(fake_client_event(f, "done", T));
	fake_stop(f);
}

/* A new message mid-stream cancels the model call, records the partial
 * answer and starts the new turn. */
static void
test_interrupt_stream(void **state)
{
	struct fake	*f = start("{}");
	const char	*sid = open_session(f);
	struct fsess	*s = fake_session(f, sid);
	uint64_t	 rid, in2;
	json_t		*ev;

	(void)state;
	(void)fake_input(f, "write a long essay");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	fake_fetch_text(f, rid, "Once upon a time");
	assert_non_null(fake_client_event(f, "text", T));
	in2 = fake_input(f, "actually, stop and say hi");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_CANCEL, T));
	assert_int_equal(f->id, rid);
	fake_fetch_error(f, rid, "cancelled");
	ev = fake_client_event(f, "done", T);
	assert_non_null(ev);
	assert_false(json_is_true(json_object_get(ev, "ok")));
	assert_string_equal(jstr(ev, "code"), "interrupted");
	/* What was done is recorded: the partial answer. */
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	assert_int_equal(json_array_size(s->msgs), 3);
	assert_string_equal(jstr(json_array_get(s->msgs, 1), "content"),
	    "Once upon a time");
	assert_string_equal(jstr(json_array_get(s->msgs, 2), "content"),
	    "actually, stop and say hi");
	fake_fetch_text(f, rid, "hi");
	fake_fetch_done(f, rid, "stop");
	ev = fake_client_event(f, "done", T);
	assert_non_null(ev);
	assert_int_equal(f->id, in2);
	fake_stop(f);
}

/* /stop mid-tool cancels the running call; the turn ends cleanly. */
static void
test_interrupt_tool(void **state)
{
	struct fake	*f = start("{}");
	const char	*sid = open_session(f);
	struct fsess	*s = fake_session(f, sid);
	uint64_t	 rid, tid;
	json_t		*ev;

	(void)state;
	(void)fake_input(f, "sleep");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	fake_fetch_call(f, rid, "c1", "terminal", "{\"command\":\"sleep 100\"}");
	fake_fetch_call(f, rid, "c2", "terminal", "{\"command\":\"echo later\"}");
	fake_fetch_done(f, rid, "tool_calls");
	assert_true(fake_expect(f, ROLE_TOOL, IPC_MSG_TOOL_CALL, T));
	tid = f->id;
	(void)fake_command(f, "stop", NULL);
	assert_true(fake_expect(f, ROLE_TOOL, IPC_MSG_TOOL_CANCEL, T));
	assert_int_equal(f->id, tid);
	fake_tool_result(f, tid, 0, "{\"output\":\"[interrupted]\",\"exit_code\":-1}");
	ev = fake_client_event(f, "done", T);
	assert_non_null(ev);
	assert_string_equal(jstr(ev, "code"), "interrupted");
	/* user, assistant(2 calls), both results: the second never ran. */
	assert_int_equal(json_array_size(s->msgs), 4);
	assert_non_null(strstr(jstr(json_array_get(s->msgs, 3), "content"),
	    "Interrupted"));
	fake_stop(f);
}

/* Compression at the threshold: head and tail kept, the middle summarised
 * by the model, a child session linked by parent_session_id. */
static void
test_compression(void **state)
{
	struct fake	*f = start("{\"model\":{\"context_length\":8000},\"memory\":{\"nudge_interval\":0}}");
	const char	*sid = open_session(f);
	struct fsess	*s = fake_session(f, sid), *child;
	uint64_t	 rid;
	json_t		*req, *msgs, *ev;
	char		 q[64], big[2100];
	int		 turn;

	(void)state;
	memset(big, 'y', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	/* Threshold: 0.75 * 8000 = 6000 tokens; each turn adds ~550. */
	for (turn = 0; turn < 14; turn++) {
		snprintf(q, sizeof q, "question %d", turn);
		(void)fake_input(f, q);
		assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
		req = fake_request(f);
		rid = f->id;
		if (json_is_false(json_object_get(req, "stream"))) {
			json_decref(req);
			break;	/* the summariser */
		}
		json_decref(req);
		if (turn == 0) {
			/* A plan that must survive the compression. */
			fake_fetch_call(f, rid, "t0", "todo", "{\"todos\":["
			    "{\"id\":\"1\",\"content\":\"answer every "
			    "question\",\"status\":\"in_progress\"},"
			    "{\"id\":\"2\",\"content\":\"done item\","
			    "\"status\":\"completed\"}]}");
			fake_fetch_done(f, rid, "tool_calls");
			assert_true(fake_expect(f, ROLE_FETCH,
			    IPC_MSG_FETCH_REQUEST, T));
			rid = f->id;
		}
		fake_fetch_text(f, rid, big);
		fake_fetch_done(f, rid, "stop");
		assert_non_null(fake_client_event(f, "done", T));
	}
	assert_true(turn < 14);
	req = fake_request(f);
	msgs = json_object_get(req, "messages");
	assert_non_null(strstr(jstr(json_array_get(msgs, 0), "content"),
	    "## Historical Task Snapshot"));
	/* The middle starts after the head (question 0, the todo call and
	 * its result). */
	assert_non_null(strstr(jstr(json_array_get(msgs, 1), "content"),
	    "[user]: question 2"));
	assert_null(strstr(jstr(json_array_get(msgs, 1), "content"),
	    "[user]: question 0\n"));
	json_decref(req);
	fake_fetch_text(f, rid, "## Goal\nanswer questions");
	fake_fetch_done(f, rid, "stop");
	/* The child's prompt is rebuilt from fresh inputs. */
	assert_true(fake_expect(f, ROLE_TOOL, IPC_MSG_TOOL_CONTEXT, T));
	{
		struct ipc_buf *b = ipc_new(IPC_MSG_TOOL_CONTEXT_FILES, f->id);
		ipc_add_str(b, "files", "[{\"name\":\"AGENTS.md\",\"path\":"
		    "\"AGENTS.md\",\"content\":\"Run make check before "
		    "committing.\"}]");
		ipc_add_str(b, "cwd", "/work/project");
		fake_send(f, ROLE_TOOL, b);
	}
	/* Then the turn continues with the compressed context. */
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	req = fake_request(f);
	msgs = json_object_get(req, "messages");
	/* system, head (question 0, the todo call and its result), summary
	 * (with the active todo item), tail */
	assert_string_equal(jstr(json_array_get(msgs, 1), "content"),
	    "question 0");
	assert_string_equal(jstr(json_array_get(msgs, 3), "role"), "tool");
	assert_non_null(strstr(jstr(json_array_get(msgs, 4), "content"),
	    "[CONTEXT COMPACTION"));
	assert_non_null(strstr(jstr(json_array_get(msgs, 4), "content"),
	    "## Goal\nanswer questions"));
	assert_non_null(strstr(jstr(json_array_get(msgs, 4), "content"),
	    "- [>] 1. answer every question (in_progress)"));
	assert_null(strstr(jstr(json_array_get(msgs, 4), "content"),
	    "done item"));
	snprintf(q, sizeof q, "question %d", turn);
	assert_string_equal(jstr(json_array_get(msgs, json_array_size(msgs) - 1),
	    "content"), q);
	assert_true(json_array_size(msgs) < (size_t)(2 * turn + 1));
	json_decref(req);
	/* The lineage: the old session ended by compression, the child
	 * holds the compressed conversation. */
	s = fake_session(f, sid);
	assert_string_equal(s->end_reason, "compression");
	child = &f->sess[f->nsess - 1];
	assert_string_equal(child->parent, sid);
	/* Same inputs, same day: the rebuilt prompt has the same bytes. */
	assert_string_equal(child->prompt, s->prompt);
	fake_fetch_text(f, rid, "done");
	fake_fetch_done(f, rid, "stop");
	ev = fake_client_event(f, "done", T);
	assert_non_null(ev);
	assert_string_equal(jstr(json_array_get(child->msgs,
	    json_array_size(child->msgs) - 1), "content"), "done");
	fake_stop(f);
}

/* Session cache: same-id turns do not reload; a write by another
 * process makes the next turn rebuild from the store. */
static void
test_foreign_write_rebuilds(void **state)
{
	struct fake	*f = start("{}");
	const char	*sid = open_session(f);
	struct fsess	*s = fake_session(f, sid);
	uint64_t	 rid;
	json_t		*req, *msgs;
	int		 i;

	(void)state;
	for (i = 0; i < 2; i++) {
		(void)fake_input(f, "hello");
		assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
		rid = f->id;
		fake_fetch_text(f, rid, "hi");
		fake_fetch_done(f, rid, "stop");
		assert_non_null(fake_client_event(f, "done", T));
	}
	if (fake_ops_count(f, "session.load") != 0)
		fprintf(stderr, "%s\n", json_dumps(f->ops, JSON_COMPACT));
	assert_int_equal(fake_ops_count(f, "session.load"), 0);
	/* Another process (a gateway, a second CLI) appends a message. */
	json_array_append_new(s->msgs, json_pack("{s:s,s:s}", "role", "user",
	    "content", "written elsewhere"));
	json_array_append_new(s->msgs, json_pack("{s:s,s:s}", "role",
	    "assistant", "content", "noted elsewhere"));
	(void)fake_input(f, "and now?");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	assert_int_equal(fake_ops_count(f, "session.load"), 1);
	req = fake_request(f);
	msgs = json_object_get(req, "messages");
	assert_int_equal(json_array_size(msgs), 1 + 7);
	assert_string_equal(jstr(json_array_get(msgs, 5), "content"),
	    "written elsewhere");
	json_decref(req);
	fake_fetch_text(f, rid, "ok");
	fake_fetch_done(f, rid, "stop");
	assert_non_null(fake_client_event(f, "done", T));
	fake_stop(f);
}

/* The memory nudge: a background review whose tool calls go to the
 * store, visible to the user as a notice; it does not block the next
 * turn. */
static void
test_memory_nudge(void **state)
{
	struct fake	*f = start("{\"memory\":{\"nudge_interval\":2}}");
	uint64_t	 rid, review;
	json_t		*req, *msgs, *ev;
	int		 i;

	(void)state;
	(void)open_session(f);
	for (i = 0; i < 2; i++) {
		(void)fake_input(f, i ? "I prefer tabs" : "hi");
		assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
		rid = f->id;
		fake_fetch_text(f, rid, "ok");
		fake_fetch_done(f, rid, "stop");
		assert_non_null(fake_client_event(f, "done", T));
	}
	/* The review call. */
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	review = f->id;
	req = fake_request(f);
	msgs = json_object_get(req, "messages");
	assert_non_null(strstr(jstr(json_array_get(msgs, json_array_size(msgs) - 1),
	    "content"), "consider saving to memory"));
	json_decref(req);
	/* Meanwhile the user goes on: not blocked by the review. */
	(void)fake_input(f, "next question");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	fake_fetch_call(f, review, "m1", "memory", "{\"target\":\"user\","
	    "\"action\":\"add\",\"content\":\"prefers tabs\"}");
	fake_fetch_done(f, review, "tool_calls");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	review = f->id;
	assert_int_equal(fake_ops_count(f, "memory"), 1);
	fake_fetch_text(f, review, "Saved.");
	fake_fetch_done(f, review, "stop");
	ev = fake_client_event(f, "notice", T);
	assert_non_null(ev);
	assert_string_equal(jstr(ev, "text"),
	    "Background review saved: add user profile entry");
	fake_fetch_text(f, rid, "answer");
	fake_fetch_done(f, rid, "stop");
	assert_non_null(fake_client_event(f, "done", T));
	fake_stop(f);
}

/* The skill nudge after 10+ tool iterations: skill_manage reaches the
 * store. */
static void
test_skill_nudge(void **state)
{
	struct fake	*f = start("{\"skills\":{\"creation_nudge_interval\":3}}");
	uint64_t	 rid;
	json_t		*req, *msgs;
	int		 it;

	(void)state;
	(void)open_session(f);
	(void)fake_input(f, "build the project");
	for (it = 0; it < 3; it++) {
		char c[8];
		assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
		rid = f->id;
		snprintf(c, sizeof c, "c%d", it);
		fake_fetch_call(f, rid, c, "terminal", it == 1 ?
		    "{\"command\":\"make\"}" : "{\"command\":\"make -j8\"}");
		fake_fetch_done(f, rid, "tool_calls");
		assert_true(fake_expect(f, ROLE_TOOL, IPC_MSG_TOOL_CALL, T));
		fake_tool_result(f, f->id, 1, "{\"output\":\"ok\",\"exit_code\":0}");
	}
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	fake_fetch_text(f, rid, "built");
	fake_fetch_done(f, rid, "stop");
	assert_non_null(fake_client_event(f, "done", T));
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	req = fake_request(f);
	msgs = json_object_get(req, "messages");
	assert_non_null(strstr(jstr(json_array_get(msgs, json_array_size(msgs) - 1),
	    "content"), "saving or updating a skill"));
	json_decref(req);
	fake_fetch_call(f, rid, "s1", "skill_manage", "{\"action\":\"create\","
	    "\"name\":\"build-project\",\"content\":\"---\\nname: build-project"
	    "\\ndescription: build\\n---\\nrun make -j8\"}");
	/* Not allowed in a review: never reaches the tool runner. */
	fake_fetch_call(f, rid, "s2", "terminal", "{\"command\":\"rm -rf /\"}");
	fake_fetch_done(f, rid, "tool_calls");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	assert_int_equal(fake_ops_count(f, "skills.manage"), 1);
	fake_fetch_done(f, rid, "stop");
	assert_non_null(fake_client_event(f, "notice", T));
	assert_string_equal(bstr(f, "text"),
	    "Background review saved: skill create: build-project");
	fake_stop(f);
}

/* Approvals are relayed; "always" also reaches the supervisor. */
static void
test_approval_always(void **state)
{
	struct fake	*f = start("{}");
	uint64_t	 rid, tid;
	struct ipc_buf	*b;
	json_t		*ev;
	int		 r, got = 0;

	(void)state;
	(void)open_session(f);
	(void)fake_input(f, "clean up");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	fake_fetch_call(f, rid, "c1", "terminal", "{\"command\":\"rm -rf build\"}");
	fake_fetch_done(f, rid, "tool_calls");
	assert_true(fake_expect(f, ROLE_TOOL, IPC_MSG_TOOL_CALL, T));
	tid = f->id;
	b = ipc_new(IPC_MSG_TOOL_APPROVAL, tid);
	ipc_add_u64(b, "approval_id", 77);
	ipc_add_str(b, "command", "rm -rf build");
	ipc_add_str(b, "reason", "recursive delete");
	ipc_add_str(b, "pattern", "rm -rf build");
	fake_send(f, ROLE_TOOL, b);
	ev = fake_client_event(f, "approval", T);
	assert_non_null(ev);
	assert_int_equal(json_integer_value(json_object_get(ev, "approval_id")),
	    77);
	assert_string_equal(jstr(ev, "text"), "rm -rf build");
	b = ipc_new(IPC_MSG_CHAT_APPROVE, 9);
	ipc_add_u64(b, "approval_id", 77);
	ipc_add_str(b, "choice", "always");
	fake_send(f, ROLE_CLIENT, b);
	assert_true(fake_expect(f, ROLE_TOOL, IPC_MSG_TOOL_APPROVE, T));
	assert_int_equal(f->id, tid);
	assert_string_equal(bstr(f, "choice"), "always");
	for (r = 0; r < 100 && json_array_size(f->allowlist) == 0; r++)
		(void)fake_next(f, 20);
	got = json_array_size(f->allowlist) == 1 && strcmp(json_string_value(
	    json_array_get(f->allowlist, 0)), "rm -rf build") == 0;
	assert_true(got);
	fake_tool_result(f, tid, 1, "{\"output\":\"\",\"exit_code\":0}");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	fake_fetch_text(f, rid, "cleaned");
	fake_fetch_done(f, rid, "stop");
	assert_non_null(fake_client_event(f, "done", T));
	fake_stop(f);
}

/* kill -9 of the agent mid-turn: the session is intact in the store and
 * the next message continues it (with what was persisted). */
static void
test_kill9_resume(void **state)
{
	struct fake	*f = start("{}");
	char		 sid[64];
	uint64_t	 rid;
	json_t		*req, *msgs, *ev;

	(void)state;
	strlcpy(sid, open_session(f), sizeof sid);
	(void)fake_input(f, "first question");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	fake_fetch_text(f, rid, "first answer");
	fake_fetch_done(f, rid, "stop");
	assert_non_null(fake_client_event(f, "done", T));
	(void)fake_input(f, "second question");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	fake_fetch_text(f, f->id, "half an ans");
	/* Mid-stream: SIGKILL, as a crash would. */
	assert_int_equal(fake_restart(f, "{}"), 0);
	(void)fake_open(f, sid);
	assert_true(fake_expect(f, ROLE_CLIENT, IPC_MSG_CHAT_OPENED, T));
	assert_string_equal(bstr(f, "session_id"), sid);
	assert_int_equal(json_integer_value(json_object_get(f->body,
	    "message_count")), 3);
	assert_true(json_is_true(json_object_get(f->body, "resumed")));
	(void)fake_input(f, "are you back?");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	req = fake_request(f);
	msgs = json_object_get(req, "messages");
	/* The stored prompt, byte for byte, then the history. */
	assert_string_equal(jstr(json_array_get(msgs, 0), "content"),
	    fake_session(f, sid)->prompt);
	assert_int_equal(json_array_size(msgs), 5);
	assert_string_equal(jstr(json_array_get(msgs, 2), "content"),
	    "first answer");
	assert_string_equal(jstr(json_array_get(msgs, 3), "content"),
	    "second question");
	assert_string_equal(jstr(json_array_get(msgs, 4), "content"),
	    "are you back?");
	json_decref(req);
	fake_fetch_text(f, rid, "yes");
	fake_fetch_done(f, rid, "stop");
	ev = fake_client_event(f, "done", T);
	assert_non_null(ev);
	fake_stop(f);
}

/* The agent runs under its seccomp filter unless told otherwise. */
static void
test_sandboxed(void **state)
{
	struct fake	*f;
	char		 path[64], line[256];
	FILE		*fp;
	int		 mode = -1;
	const char	*sb = getenv("HERMES_SANDBOX");

	(void)state;
	if (sb != NULL && strcmp(sb, "off") == 0)
		skip();
	f = start("{}");
	(void)open_session(f);
	snprintf(path, sizeof path, "/proc/%d/status", fake_pid(f));
	assert_non_null(fp = fopen(path, "r"));
	while (fgets(line, sizeof line, fp) != NULL)
		if (sscanf(line, "Seccomp: %d", &mode) == 1)
			break;
	fclose(fp);
	assert_int_equal(mode, 2);
	fake_stop(f);
}

/* Slash commands: /usage, /undo, unknown. */
static void
test_commands(void **state)
{
	struct fake	*f = start("{}");
	const char	*sid = open_session(f);
	uint64_t	 rid, cid;
	struct fsess	*child;

	(void)state;
	(void)fake_input(f, "hello");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	fake_fetch_text(f, rid, "hi");
	fake_fetch_usage(f, rid, 1234, 5);
	fake_fetch_done(f, rid, "stop");
	assert_non_null(fake_client_event(f, "done", T));
	cid = fake_command(f, "usage", NULL);
	assert_true(fake_expect(f, ROLE_CLIENT, IPC_MSG_CHAT_REPLY, T));
	assert_int_equal(f->id, cid);
	assert_non_null(strstr(bstr(f, "text"), "Context: 1234 / 200000"));
	cid = fake_command(f, "undo", NULL);
	assert_true(fake_expect(f, ROLE_CLIENT, IPC_MSG_CHAT_REPLY, T));
	assert_true(json_is_true(json_object_get(f->body, "ok")));
	child = &f->sess[f->nsess - 1];
	assert_string_equal(child->parent, sid);
	assert_int_equal(json_array_size(child->msgs), 0);
	cid = fake_command(f, "frobnicate", NULL);
	assert_true(fake_expect(f, ROLE_CLIENT, IPC_MSG_CHAT_REPLY, T));
	assert_false(json_is_true(json_object_get(f->body, "ok")));
	fake_stop(f);
}

/* More commands: /title, /retry, /skill, /sessions, /new, /compress. */
static void
test_commands_more(void **state)
{
	struct fake	*f = start("{\"agent\":{\"save_trajectories\":true}}");
	const char	*sid = open_session(f);
	uint64_t	 rid, cid;
	json_t		*req, *msgs, *ev;
	struct fsess	*s;
	char		 first[64];

	(void)state;
	strlcpy(first, sid, sizeof first);
	(void)fake_input(f, "hello");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	fake_fetch_text(f, rid, "hi");
	fake_fetch_done(f, rid, "stop");
	assert_non_null(fake_client_event(f, "done", T));
	/* Trajectories go through the store, in Hermes's ShareGPT shape. */
	assert_int_equal(fake_ops_count(f, "trajectory.append"), 1);
	{
		json_t *o = json_array_get(f->ops, json_array_size(f->ops) - 1);
		size_t i;
		json_array_foreach(f->ops, i, o)
			if (strcmp(jstr(o, "op"), "trajectory.append") == 0)
				break;
		assert_string_equal(jstr(json_array_get(json_object_get(
		    json_object_get(json_object_get(o, "args"), "record"),
		    "conversations"), 1), "from"), "human");
	}
	cid = fake_command(f, "title", "my chat");
	assert_true(fake_expect(f, ROLE_CLIENT, IPC_MSG_CHAT_REPLY, T));
	assert_int_equal(f->id, cid);
	assert_int_equal(fake_ops_count(f, "session.title"), 1);
	/* /retry: the last user message again, in a rewound session. */
	cid = fake_command(f, "retry", NULL);
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	req = fake_request(f);
	msgs = json_object_get(req, "messages");
	assert_int_equal(json_array_size(msgs), 2);
	assert_string_equal(jstr(json_array_get(msgs, 1), "content"), "hello");
	json_decref(req);
	fake_fetch_text(f, rid, "hi again");
	fake_fetch_done(f, rid, "stop");
	ev = fake_client_event(f, "done", T);
	assert_non_null(ev);
	assert_string_equal(jstr(ev, "text"), "hi again");
	/* /skill loads the skill as a user message of a new turn. */
	cid = fake_command(f, "skill", "deploy to staging");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	req = fake_request(f);
	msgs = json_object_get(req, "messages");
	{
		const char *u = jstr(json_array_get(msgs, json_array_size(msgs) - 1),
		    "content");
		assert_non_null(strstr(u, "invoked the \"deploy\" skill"));
		assert_non_null(strstr(u, "run make deploy"));
		assert_non_null(strstr(u, "to staging"));
	}
	json_decref(req);
	fake_fetch_text(f, rid, "deployed");
	fake_fetch_done(f, rid, "stop");
	assert_non_null(fake_client_event(f, "done", T));
	/* /sessions is forwarded to the store. */
	cid = fake_command(f, "sessions", "list 5");
	assert_true(fake_expect(f, ROLE_CLIENT, IPC_MSG_CHAT_REPLY, T));
	assert_int_equal(f->id, cid);
	assert_true(json_is_true(json_object_get(f->body, "ok")));
	assert_int_equal(fake_ops_count(f, "session.list"), 1);
	/* /compress with too little history: says so. */
	cid = fake_command(f, "compress", NULL);
	assert_true(fake_expect(f, ROLE_CLIENT, IPC_MSG_CHAT_REPLY, T));
	assert_false(json_is_true(json_object_get(f->body, "ok")));
	/* /new: a new session, the old one ended. */
	cid = fake_command(f, "new", NULL);
	assert_true(fake_expect(f, ROLE_TOOL, IPC_MSG_TOOL_SESSION_END, T));
	assert_true(fake_expect(f, ROLE_TOOL, IPC_MSG_TOOL_CONTEXT, T));
	{
		struct ipc_buf *b = ipc_new(IPC_MSG_TOOL_CONTEXT_FILES, f->id);
		ipc_add_str(b, "files", "[]");
		ipc_add_str(b, "cwd", "/w");
		fake_send(f, ROLE_TOOL, b);
	}
	assert_true(fake_expect(f, ROLE_CLIENT, IPC_MSG_CHAT_REPLY, T));
	assert_int_equal(f->id, cid);
	/* /retry continued in a child; /new ended that one. */
	s = fake_session(f, first);
	assert_string_equal(s->end_reason, "rewind");
	s = &f->sess[f->nsess - 2];
	assert_string_equal(s->parent, first);
	assert_string_equal(s->end_reason, "new_session");
	{
		json_t *d = json_loads(bstr(f, "data"), 0, NULL);
		assert_string_not_equal(jstr(d, "session_id"), first);
		json_decref(d);
	}
	fake_stop(f);
}

/* llm-fetch restarts mid-turn: the turn ends with an error, the agent
 * keeps serving and the next turn works on the new connection. */
static void
test_fetch_restart(void **state)
{
	struct fake	*f = start("{}");
	uint64_t	 rid;
	json_t		*ev;

	(void)state;
	(void)open_session(f);
	(void)fake_input(f, "hello");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	/* The supervisor hands over a new llm-fetch connection. */
	ipc_rbuf_free(f->rb[ROLE_FETCH]);
	f->fd[ROLE_FETCH] = harness_peer(f->h, ROLE_FETCH);
	f->rb[ROLE_FETCH] = ipc_rbuf_new(ROLE_FETCH, ROLE_AGENT, 0);
	ev = fake_client_event(f, "done", T);
	assert_non_null(ev);
	assert_false(json_is_true(json_object_get(ev, "ok")));
	(void)fake_input(f, "again");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	fake_fetch_text(f, rid, "back");
	fake_fetch_done(f, rid, "stop");
	ev = fake_client_event(f, "done", T);
	assert_non_null(ev);
	assert_true(json_is_true(json_object_get(ev, "ok")));
	fake_stop(f);
}

/* clarify: the question goes to the user; the next input answers it. */
static void
test_clarify(void **state)
{
	struct fake	*f = start("{}");
	uint64_t	 rid;
	json_t		*ev, *req, *msgs, *res;

	(void)state;
	(void)open_session(f);
	(void)fake_input(f, "set things up");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	fake_fetch_call(f, rid, "q1", "clarify", "{\"question\":\"Which "
	    "database?\",\"choices\":[\"sqlite\",\"postgres\"]}");
	fake_fetch_done(f, rid, "tool_calls");
	ev = fake_client_event(f, "clarify", T);
	assert_non_null(ev);
	assert_string_equal(jstr(ev, "text"), "Which database?");
	assert_string_equal(jstr(ev, "data"), "[\"sqlite\",\"postgres\"]");
	(void)fake_input(f, "sqlite");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	req = fake_request(f);
	msgs = json_object_get(req, "messages");
	res = json_loads(jstr(json_array_get(msgs, json_array_size(msgs) - 1),
	    "content"), 0, NULL);
	assert_string_equal(jstr(res, "user_response"), "sqlite");
	json_decref(res);
	json_decref(req);
	fake_fetch_text(f, rid, "Using sqlite.");
	fake_fetch_done(f, rid, "stop");
	assert_non_null(fake_client_event(f, "done", T));
	fake_stop(f);
}

/* A background process finished (TOOL_NOTIFY): its note starts a turn. */
static void
test_tool_notify(void **state)
{
	struct fake	*f = start("{}");
	const char	*sid = open_session(f);
	struct ipc_buf	*b;
	json_t		*req, *msgs;
	uint64_t	 rid;

	(void)state;
	b = ipc_new(IPC_MSG_TOOL_NOTIFY, 0);
	ipc_add_str(b, "session", sid);
	ipc_add_str(b, "process_id", "proc_1");
	ipc_add_i64(b, "exit_code", 0);
	ipc_add_str(b, "text", "[Background process proc_1 finished: exit 0]");
	fake_send(f, ROLE_TOOL, b);
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	req = fake_request(f);
	msgs = json_object_get(req, "messages");
	assert_non_null(strstr(jstr(json_array_get(msgs, 1), "content"),
	    "proc_1 finished"));
	json_decref(req);
	fake_fetch_text(f, rid, "The build finished.");
	fake_fetch_done(f, rid, "stop");
	assert_non_null(fake_client_event(f, "done", T));
	fake_stop(f);
}

/* Idle sessions drop their messages (64 stay warm) and reload them from
 * the store when used again. */
static void
test_idle_eviction(void **state)
{
	struct fake	*f = start("{\"memory\":{\"nudge_interval\":0}}");
	char		 first[64];
	uint64_t	 rid;
	json_t		*req, *msgs;
	int		 i;

	(void)state;
	strlcpy(first, open_session(f), sizeof first);
	(void)fake_input(f, "remember the number 42");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	fake_fetch_text(f, rid, "ok, 42");
	fake_fetch_done(f, rid, "stop");
	assert_non_null(fake_client_event(f, "done", T));
	for (i = 0; i < 70; i++)
		(void)open_session(f);
	assert_int_equal(fake_ops_count(f, "session.load"), 0);
	(void)fake_open(f, first);
	assert_true(fake_expect(f, ROLE_CLIENT, IPC_MSG_CHAT_OPENED, T));
	assert_string_equal(bstr(f, "session_id"), first);
	(void)fake_input(f, "which number?");
	assert_true(fake_expect(f, ROLE_FETCH, IPC_MSG_FETCH_REQUEST, T));
	rid = f->id;
	assert_int_equal(fake_ops_count(f, "session.load"), 1);
	req = fake_request(f);
	msgs = json_object_get(req, "messages");
	assert_int_equal(json_array_size(msgs), 4);
	assert_string_equal(jstr(json_array_get(msgs, 2), "content"), "ok, 42");
	assert_string_equal(jstr(json_array_get(msgs, 0), "content"),
	    fake_session(f, first)->prompt);
	json_decref(req);
	fake_fetch_text(f, rid, "42");
	fake_fetch_done(f, rid, "stop");
	assert_non_null(fake_client_event(f, "done", T));
	fake_stop(f);
}

/* Gateway chats are routed by session_key: the first open creates the
 * session and records the route, the next one continues it. */
static void
test_session_key_route(void **state)
{
	struct fake	*f = start("{}");
	struct ipc_buf	*b;
	char		 sid[64];
	size_t		 i, sets = 0;
	json_t		*o;

	(void)state;
	b = ipc_new(IPC_MSG_CHAT_OPEN, 1);
	ipc_add_str(b, "session_key", "agent:main:telegram:dm:42");
	ipc_add_str(b, "platform", "telegram");
	fake_send(f, ROLE_CLIENT, b);
	assert_true(fake_expect(f, ROLE_TOOL, IPC_MSG_TOOL_CONTEXT, T));
	b = ipc_new(IPC_MSG_TOOL_CONTEXT_FILES, f->id);
	ipc_add_str(b, "files", "[]");
	ipc_add_str(b, "cwd", "/w");
	fake_send(f, ROLE_TOOL, b);
	assert_true(fake_expect(f, ROLE_CLIENT, IPC_MSG_CHAT_OPENED, T));
	strlcpy(sid, bstr(f, "session_id"), sizeof sid);
	assert_false(json_is_true(json_object_get(f->body, "resumed")));
	assert_string_equal(fake_session(f, sid)->key, "agent:main:telegram:dm:42");
	assert_non_null(strstr(fake_session(f, sid)->prompt, "Telegram"));
	/* The store now knows the route. */
	f->route_hit = 1;
	b = ipc_new(IPC_MSG_CHAT_OPEN, 2);
	ipc_add_str(b, "session_key", "agent:main:telegram:dm:42");
	ipc_add_str(b, "platform", "telegram");
	fake_send(f, ROLE_CLIENT, b);
	assert_true(fake_expect(f, ROLE_CLIENT, IPC_MSG_CHAT_OPENED, T));
	assert_string_equal(bstr(f, "session_id"), sid);
	assert_true(json_is_true(json_object_get(f->body, "resumed")));
	json_array_foreach(f->ops, i, o)
		if (strcmp(jstr(o, "op"), "session.route") == 0 &&
		    json_object_get(json_object_get(o, "args"), "session_id"))
			sets++;
	assert_true(sets >= 1);
	fake_stop(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_multi_step_turn),
		cmocka_unit_test(test_parallel_readonly),
		cmocka_unit_test(test_budget_grace),
		cmocka_unit_test(test_loop_guard),
		cmocka_unit_test(test_interrupt_stream),
		cmocka_unit_test(test_interrupt_tool),
		cmocka_unit_test(test_compression),
		cmocka_unit_test(test_foreign_write_rebuilds),
		cmocka_unit_test(test_memory_nudge),
		cmocka_unit_test(test_skill_nudge),
		cmocka_unit_test(test_approval_always),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_kill9_resume),
		cmocka_unit_test(test_sandboxed),
		cmocka_unit_test(test_commands_more),
		cmocka_unit_test(test_fetch_restart),
		cmocka_unit_test(test_clarify),
		cmocka_unit_test(test_tool_notify),
		cmocka_unit_test(test_idle_eviction),
		cmocka_unit_test(test_session_key_route),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
