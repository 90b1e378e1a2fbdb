/* Token accounting, context lengths, compression, cache breakpoints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "ipc/util.h"
#include "agent/agent.h"

static const char *
role(const json_t *msgs, size_t i)
{
	return json_string_value(json_object_get(json_array_get(msgs, i), "role"));
}

static const char *
content(const json_t *msgs, size_t i)
{
	return json_string_value(json_object_get(json_array_get(msgs, i),
	    "content"));
}

/* user, assistant(tool call), tool, assistant ... repeated n times. */
static json_t *
conversation(int n, size_t pad)
{
	json_t	*m = json_array();
	char	*big = xmalloc(pad + 1), id[32], txt[64];
	int	 i;

	memset(big, 'x', pad);
	big[pad] = '\0';
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof id, "call_%d", i);
		snprintf(txt, sizeof txt, "question %d", i);
		json_array_append_new(m, json_pack("{s:s,s:s}", "role", "user",
		    "content", txt));
		json_array_append_new(m, json_pack("{s:s,s:s,s:[{s:s,s:s,s:s}]}",
		    "role", "assistant", "content", "", "tool_calls", "id", id,
		    "name", "terminal", "arguments",
		    "{\"command\":\"make -C src/app test\"}"));
		json_array_append_new(m, json_pack("{s:s,s:s,s:s,s:s}", "role",
		    "tool", "content", big, "tool_call_id", id, "name",
		    "terminal"));
		json_array_append_new(m, json_pack("{s:s,s:s}", "role",
		    "assistant", "content", "done with that"));
	}
	free(big);
	return m;
}

static void
test_tokens(void **state)
{
	json_t	*m;

	(void)state;
	assert_int_equal(agent_tokens_text(""), 0);
	assert_int_equal(agent_tokens_text("abcd"), 1);
	assert_int_equal(agent_tokens_text("abcde"), 2);
	m = json_pack("{s:s,s:s}", "role", "user", "content",
	    "0123456789012345678901234567890123456789");
	assert_int_equal(agent_tokens_msg(m), 10 + 4);
	json_decref(m);
}

static void
test_context_lengths(void **state)
{
	struct agent_cfg	 cfg;

	(void)state;
	agent_cfg_defaults(&cfg);
	assert_int_equal(agent_context_length(&cfg,
	    "anthropic/claude-sonnet-4"), 200000);
	assert_int_equal(agent_context_length(&cfg, "gpt-4o-mini"), 128000);
	assert_int_equal(agent_context_length(&cfg, "openai/gpt-4.1"), 1047576);
	assert_int_equal(agent_context_length(&cfg, "google/gemini-2.5-pro"),
	    1048576);
	assert_int_equal(agent_context_length(&cfg, "something-unknown"), 128000);
	/* 200k < 512k: the 0.50 threshold is floored to 0.75. */
	assert_int_equal(agent_compress_threshold(&cfg, "claude-opus-4"), 150000);
	/* >= 512k: the configured 0.50 stands. */
	assert_int_equal(agent_compress_threshold(&cfg, "gemini-2.5-pro"),
	    524288);
	/* The override wins, and max_tokens is reserved. */
	assert_int_equal(agent_cfg_load(&cfg, "{\"model\":{\"default\":\"x\","
	    "\"context_length\":10000,\"max_tokens\":2000},\"compression\":"
	    "{\"threshold\":0.9}}"), 0);
	assert_int_equal(agent_context_length(&cfg, "claude"), 10000);
	assert_int_equal(agent_compress_threshold(&cfg, "claude"), 7200);
	agent_cfg_clear(&cfg);
}

static void
test_plan_head_tail(void **state)
{
	struct agent_cfg		 cfg;
	struct agent_compress_plan	 p;
	json_t				*msgs = conversation(30, 8000);
	size_t				 n = json_array_size(msgs);

	(void)state;
	agent_cfg_defaults(&cfg);
	assert_int_equal(agent_cfg_load(&cfg,
	    "{\"model\":{\"context_length\":20000}}"), 0);
	agent_compress_plan(&cfg, "m", msgs, &p);
	assert_true(p.possible);
	/* Head: the first 3 messages, pushed past the tool result. */
	assert_int_equal(p.head_end, 3);
	assert_string_equal(role(msgs, p.head_end), "assistant");
	/* Tail: at least the floor, never starting on a tool result, and
	 * holding the last user message. */
	assert_true(n - p.tail_start >= AGENT_TAIL_FLOOR);
	assert_string_not_equal(role(msgs, p.tail_start), "tool");
	assert_true(p.tail_start <= n - 4);
	/* Budget: threshold (0.75 * 20000) * 0.20 = 3000 tokens, but the
	 * floor of 8 messages (2 tool results of 2000 tokens) wins. */
	assert_int_equal(n - p.tail_start, 8);
	json_decref(msgs);
	/* Smaller results: the budget takes more, and stays near it. */
	msgs = conversation(30, 2000);
	n = json_array_size(msgs);
	agent_compress_plan(&cfg, "m", msgs, &p);
	assert_true(n - p.tail_start > 8);
	assert_true(p.tail_tokens <= 3000 + 600);
	assert_true(agent_tokens_msgs(msgs, p.tail_start - 1, n) > 3000 ||
	    strcmp(role(msgs, p.tail_start), "tool") == 0);
	json_decref(msgs);
	agent_cfg_clear(&cfg);
}

static void
test_plan_small(void **state)
{
	struct agent_compress_plan	 p;
	json_t				*msgs = conversation(2, 10);

	(void)state;
	agent_compress_plan(NULL, "claude", msgs, &p);
	assert_false(p.possible);
	json_decref(msgs);
}

static void
test_prune(void **state)
{
	json_t	*msgs = conversation(4, 500);
	size_t	 changed;
	char	*one;
	json_t	*args;

	(void)state;
	/* Identical results: only the newest stays; the rest are lines. */
	changed = agent_prune_tool_outputs(msgs, 0, 12);
	assert_int_equal(changed, 3);
	assert_non_null(strstr(content(msgs, 2), "Duplicate tool output"));
	assert_int_equal(strlen(content(msgs, 14)), 500);
	json_decref(msgs);

	msgs = conversation(3, 10);
	json_object_set_new(json_array_get(msgs, 2), "content",
	    json_string("{\"output\":\"a\\nb\",\"exit_code\":2}"));
	json_object_set_new(json_array_get(msgs, 6), "content",
	    json_string("{\"output\":\"zzz\",\"exit_code\":0}"));
	changed = agent_prune_tool_outputs(msgs, 0, 8);
	assert_int_equal(changed, 2);
	assert_string_equal(content(msgs, 2),
	    "[terminal] ran `make -C src/app test` -> exit 2, 1 lines output");
	args = json_pack("{s:s}", "path", "/etc/hosts");
	one = agent_tool_oneline("read_file", args, "1|a\n2|b");
	assert_string_equal(one, "[read_file] /etc/hosts -> 7 chars, 2 lines output");
	free(one);
	json_decref(args);
	json_decref(msgs);
}

static void
test_summary_request(void **state)
{
	json_t		*msgs = conversation(5, 100), *req;
	const char	*u;

	(void)state;
	req = agent_summary_request(msgs, 3, 12, NULL, NULL, 2000);
	assert_int_equal(json_array_size(req), 2);
	assert_non_null(strstr(content(req, 0), "## Historical Task Snapshot"));
	assert_non_null(strstr(content(req, 0), "## Historical Remaining Work"));
	u = content(req, 1);
	assert_non_null(strstr(u, "CONVERSATION EXCERPT"));
	assert_non_null(strstr(u, "[user]: question 1"));
	assert_non_null(strstr(u, "terminal({\"command\""));
	assert_null(strstr(u, "question 0"));	/* head not resummarised */
	json_decref(req);
	/* Later compressions update the previous summary. */
	req = agent_summary_request(msgs, 3, 12, "## Goal\nship it", "tests",
	    2000);
	u = content(req, 1);
	assert_non_null(strstr(u, "PREVIOUS SUMMARY"));
	assert_non_null(strstr(u, "## Goal\nship it"));
	assert_non_null(strstr(u, "NEW TURNS TO INCORPORATE"));
	assert_non_null(strstr(u, "Focus the summary on: tests"));
	json_decref(req);
	/* An earlier summary in the middle is not summarised again. */
	json_object_set_new(json_array_get(msgs, 4), "content",
	    json_string(AGENT_SUMMARY_PREFIX "## Goal\nold"));
	req = agent_summary_request(msgs, 3, 12, "## Goal\nold", NULL, 2000);
	u = content(req, 1);
	assert_null(strstr(u, "[CONTEXT COMPACTION"));
	json_decref(req);
	assert_int_equal(agent_summary_budget(NULL, "claude", 1000), 2000);
	assert_int_equal(agent_summary_budget(NULL, "claude", 500000), 10000);
	json_decref(msgs);
}

static void
test_fallback(void **state)
{
	json_t	*msgs = conversation(6, 50);
	char	*s;

	(void)state;
	json_object_set_new(json_array_get(msgs, 10), "content",
	    json_string("Error: cannot open src/app/main.c: no such file"));
	s = agent_fallback_summary(msgs, 3, 20);
	assert_non_null(strstr(s, "## Historical Pending User Asks"));
	assert_non_null(strstr(s, "- question 4"));
	assert_non_null(strstr(s, "- terminal({\"command\":\"make -C src/app test\"})"));
	assert_non_null(strstr(s, "src/app/main.c"));
	assert_non_null(strstr(s, "Error: cannot open"));
	assert_true(strlen(s) <= AGENT_FALLBACK_MAX);
	free(s);
	json_decref(msgs);
}

static void
test_apply(void **state)
{
	struct agent_cfg		 cfg;
	struct agent_compress_plan	 p;
	json_t				*msgs = conversation(30, 2000), *out;
	size_t				 n = json_array_size(msgs), i;

	(void)state;
	agent_cfg_defaults(&cfg);
	assert_int_equal(agent_cfg_load(&cfg,
	    "{\"model\":{\"context_length\":20000}}"), 0);
	agent_compress_plan(&cfg, "m", msgs, &p);
	out = agent_compress_apply(msgs, &p, "## Goal\nx");
	assert_int_equal(json_array_size(out), p.head_end + 1 + (n - p.tail_start));
	for (i = 0; i < p.head_end; i++)
		assert_true(json_equal(json_array_get(out, i),
		    json_array_get(msgs, i)));
	/* The head ends on a tool result: the summary is a user message. */
	assert_string_equal(role(out, p.head_end), "user");
	assert_string_equal(agent_summary_text(json_array_get(out, p.head_end)),
	    "## Goal\nx");
	assert_true(json_equal(json_array_get(out, json_array_size(out) - 1),
	    json_array_get(msgs, n - 1)));
	json_decref(out);
	json_decref(msgs);
	agent_cfg_clear(&cfg);
}

static void
test_cache_marks(void **state)
{
	json_t	*msgs = json_array(), *c;
	size_t	 i, marked = 0;

	(void)state;
	json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", "system",
	    "content", "sys"));
	c = conversation(3, 10);
	json_array_extend(msgs, c);
	json_decref(c);
	agent_cache_marks(msgs);
	for (i = 0; i < json_array_size(msgs); i++)
		if (json_is_true(json_object_get(json_array_get(msgs, i),
		    "cache")))
			marked++;
	/* system_and_3: the system prompt and the last 3 messages that can
	 * carry one (the tool-only assistant message is skipped). */
	assert_int_equal(marked, 4);
	assert_true(json_is_true(json_object_get(json_array_get(msgs, 0),
	    "cache")));
	assert_true(json_is_true(json_object_get(json_array_get(msgs, 12),
	    "cache")));
	assert_true(json_is_true(json_object_get(json_array_get(msgs, 11),
	    "cache")));
	assert_true(json_is_true(json_object_get(json_array_get(msgs, 9),
	    "cache")));
	assert_null(json_object_get(json_array_get(msgs, 10), "cache"));
	/* Marking again moves the marks, it does not add more. */
	json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", "user",
	    "content", "more"));
	agent_cache_marks(msgs);
	marked = 0;
	for (i = 0; i < json_array_size(msgs); i++)
		if (json_object_get(json_array_get(msgs, i), "cache"))
			marked++;
	assert_int_equal(marked, 4);
	json_decref(msgs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_context_lengths),
		cmocka_unit_test(test_plan_head_tail),
		cmocka_unit_test(test_plan_small),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_summary_request),
		cmocka_unit_test(test_fallback),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_cache_marks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
