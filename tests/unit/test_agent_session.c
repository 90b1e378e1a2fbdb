/* Session cache coherence, prompt stability, the learning loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "ipc/util.h"
#include "agent/agent.h"

/* 1. Switching sessions reuses the cached state (no invalidation) and
 * switching back does not rebuild. */
static void
test_cache_switch_reuses(void **state)
{
	struct agent_cache_rec	 r = { 0 };

	(void)state;
	assert_int_equal(agent_cache_check(&r, "A", 0), CACHE_MISS);
	agent_cache_build(&r, "A", 4);
	assert_int_equal(agent_cache_check(&r, "B", 0), CACHE_REUSE);
	assert_int_equal(agent_cache_check(&r, "B", 99), CACHE_REUSE);
	/* Back to A: nothing moved, so a hit, not a rebuild. */
	assert_int_equal(agent_cache_check(&r, "A", 4), CACHE_HIT);
	assert_int_equal(r.rebuilds, 0);
	agent_cache_clear(&r);
}

/* 2. The record holds the session_id it was built from. */
static void
test_cache_record_holds_id(void **state)
{
	struct agent_cache_rec	 r = { 0 };

	(void)state;
	agent_cache_build(&r, "20261122_040000_abcd1234", 7);
	assert_string_equal(r.session_id, "20261122_040000_abcd1234");
	assert_int_equal(r.baseline, 7);
	agent_cache_clear(&r);
}

/* 3. No re-baseline across ids. */
static void
test_cache_no_rebaseline_across_ids(void **state)
{
	struct agent_cache_rec	 r = { 0 };

	(void)state;
	agent_cache_build(&r, "A", 4);
	assert_int_equal(agent_cache_turn_done(&r, "B", 10), 0);
	assert_int_equal(r.baseline, 4);
	assert_string_equal(r.session_id, "A");
	assert_int_equal(agent_cache_check(&r, "A", 4), CACHE_HIT);
	agent_cache_clear(&r);
}

/* 4. Turns of the same id move the baseline. */
static void
test_cache_same_id_rebaselines(void **state)
{
	struct agent_cache_rec	 r = { 0 };

	(void)state;
	agent_cache_build(&r, "A", 4);
	assert_int_equal(agent_cache_turn_done(&r, "A", 8), 1);
	assert_int_equal(r.baseline, 8);
	assert_int_equal(agent_cache_check(&r, "A", 8), CACHE_HIT);
	assert_int_equal(agent_cache_turn_done(&r, "A", 12), 1);
	assert_int_equal(agent_cache_check(&r, "A", 12), CACHE_HIT);
	agent_cache_clear(&r);
}

/* 5. A genuine write by another process rebuilds. */
static void
test_cache_foreign_write_rebuilds(void **state)
{
	struct agent_cache_rec	 r = { 0 };

	(void)state;
	agent_cache_build(&r, "A", 8);
	assert_int_equal(agent_cache_check(&r, "A", 9), CACHE_REBUILD);
	agent_cache_build(&r, "A", 9);
	assert_int_equal(r.rebuilds, 1);
	assert_int_equal(agent_cache_check(&r, "A", 9), CACHE_HIT);
	agent_cache_clear(&r);
}

static void
fill(struct agent_prompt_in *in, json_t *files)
{
	memset(in, 0, sizeof *in);
	in->memory_block = "MEM";
	in->user_block = "USR";
	in->skills_index = "## Skills (mandatory)\n<available_skills>\n"
	    "</available_skills>";
	in->context_files = files;
	in->platform = "cli";
	in->date = "Sunday, November 22, 2026";
	in->model = "claude-sonnet-4";
	in->has_memory_tool = 1;
	in->has_skills_tools = 1;
	in->has_session_search = 1;
}

static void
test_prompt_stable(void **state)
{
	struct agent_prompt_in	 in;
	json_t			*files;
	char			*a, *b, *c;
	const char		*soul, *mem, *ctx;

	(void)state;
	files = json_loads("[{\"name\":\"AGENTS.md\",\"path\":\"AGENTS.md\","
	    "\"content\":\"Use tabs.\"}]", 0, NULL);
	fill(&in, files);
	a = agent_prompt_build(&in);
	b = agent_prompt_build(&in);
	assert_string_equal(a, b);	/* byte-stable */
	/* Default identity, guidance, tiers in Hermes's order. */
	assert_true(strncmp(a, "You are Hermes Agent, an intelligent AI "
	    "assistant created by Nous Research.", 70) == 0);
	soul = strstr(a, "## Skills (mandatory)");
	ctx = strstr(a, "## AGENTS.md\n\nUse tabs.");
	mem = strstr(a, "MEM\n\nUSR");
	assert_non_null(soul);
	assert_non_null(ctx);
	assert_non_null(mem);
	assert_true(soul < ctx && ctx < mem);
	assert_non_null(strstr(a, "You are a CLI AI Agent."));
	assert_non_null(strstr(a, "Conversation started: Sunday, November 22, "
	    "2026"));
	/* No clock time: stable across the day. */
	assert_null(strstr(a, ":00"));
	/* SOUL.md replaces the default identity; frontmatter stripped. */
	in.soul = "---\nname: x\n---\nYou are Zed.\n";
	c = agent_prompt_build(&in);
	assert_true(strncmp(c, "You are Zed.\n\nYou have persistent memory", 40)
	    == 0);
	assert_null(strstr(c, "Nous Research"));
	free(a);
	free(b);
	free(c);
	json_decref(files);
}

static void
test_memory_block(void **state)
{
	json_t	*e = json_loads("[\"likes tea\",\"uses vim\"]", 0, NULL);
	char	*b;
	char	 rule[46 * 3 + 1];
	int	 i;

	(void)state;
	for (i = 0; i < 46; i++)
		memcpy(rule + i * 3, "\xe2\x95\x90", 3);
	rule[46 * 3] = '\0';
	b = agent_memory_block("memory", e, 2200);
	assert_true(strncmp(b, rule, strlen(rule)) == 0);
	assert_non_null(strstr(b, "\nMEMORY (your personal notes) [0% \xe2\x80\x94 "
	    "20/2200 chars]\n"));
	assert_non_null(strstr(b, "likes tea\n\xc2\xa7\nuses vim"));
	free(b);
	b = agent_memory_block("user", e, 1375);
	assert_non_null(strstr(b, "USER PROFILE (who the user is) [1% "));
	free(b);
	json_decref(e);
	e = json_array();
	assert_null(agent_memory_block("memory", e, 2200));
	json_decref(e);
}

static void
test_skills_index(void **state)
{
	json_t	*s = json_loads("[{\"name\":\"a\",\"description\":\"da\","
	    "\"category\":\"dev\"},{\"name\":\"b\",\"description\":\"db\","
	    "\"category\":\"ops\"},{\"name\":\"c\",\"description\":\"dc\","
	    "\"category\":\"dev\"}]", 0, NULL);
	char	*t;

	(void)state;
	t = agent_skills_index(s);
	assert_non_null(strstr(t, "## Skills (mandatory)"));
	assert_non_null(strstr(t, "<available_skills>\ndev:\n    - a: da\n"
	    "    - c: dc\nops:\n    - b: db\n</available_skills>"));
	free(t);
	json_decref(s);
}

static void
test_nudges(void **state)
{
	struct agent_learn	 l = { 0 };
	int			 i, due;

	(void)state;
	for (i = 1; i < 10; i++)
		assert_int_equal(agent_learn_turn_done(&l, 10, 10, 0, 0), 0);
	assert_int_equal(agent_learn_turn_done(&l, 10, 10, 0, 0), LEARN_MEMORY);
	assert_int_equal(agent_learn_turn_done(&l, 10, 10, 0, 0), 0);
	/* A complex task: 10+ tool iterations, no skill_manage. */
	due = agent_learn_turn_done(&l, 10, 10, 12, 0);
	assert_int_equal(due, LEARN_SKILL);
	/* skill_manage was used: the counter restarts. */
	assert_int_equal(agent_learn_turn_done(&l, 10, 10, 9, 1), 0);
	assert_int_equal(agent_learn_turn_done(&l, 10, 10, 9, 0), 0);
	assert_int_equal(agent_learn_turn_done(&l, 10, 10, 1, 0), LEARN_SKILL);
	/* Disabled intervals never fire. */
	memset(&l, 0, sizeof l);
	for (i = 0; i < 30; i++)
		assert_int_equal(agent_learn_turn_done(&l, 0, 0, 20, 0), 0);
	assert_non_null(strstr(agent_review_prompt(LEARN_MEMORY), "memory"));
	assert_non_null(strstr(agent_review_prompt(LEARN_SKILL), "skill"));
	assert_non_null(strstr(agent_review_prompt(LEARN_MEMORY | LEARN_SKILL),
	    "**Skills**"));
	assert_true(agent_review_tool_ok("memory"));
	assert_true(agent_review_tool_ok("skill_manage"));
	assert_false(agent_review_tool_ok("terminal"));
	assert_false(agent_review_tool_ok("write_file"));
}

static void
test_review_notice(void **state)
{
	json_t	*c = json_loads("[{\"tool\":\"memory\",\"args\":{\"target\":"
	    "\"user\",\"operations\":[{},{}]},\"ok\":true},{\"tool\":"
	    "\"skill_manage\",\"args\":{\"action\":\"create\",\"name\":"
	    "\"deploy-app\"},\"ok\":true},{\"tool\":\"skill_manage\",\"args\":"
	    "{\"action\":\"patch\",\"name\":\"x\"},\"ok\":false}]", 0, NULL);
	char	*n;

	(void)state;
	n = agent_review_notice(c);
	assert_string_equal(n, "Background review saved: 2 change(s) to user "
	    "profile; skill create: deploy-app");
	free(n);
	json_decref(c);
	c = json_array();
	assert_null(agent_review_notice(c));
	json_decref(c);
}

static void
test_trajectory(void **state)
{
	json_t		*msgs, *line, *conv;
	char		*s;
	const char	*v;

	(void)state;
	msgs = json_loads("[{\"role\":\"user\",\"content\":\"hi\"},"
	    "{\"role\":\"assistant\",\"content\":\"\",\"reasoning\":\"think\","
	    "\"tool_calls\":[{\"id\":\"c1\",\"name\":\"read_file\","
	    "\"arguments\":\"{\\\"path\\\":\\\"a\\\"}\"}]},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"name\":\"read_file\","
	    "\"content\":\"{\\\"content\\\":\\\"1|x\\\"}\"},"
	    "{\"role\":\"assistant\",\"content\":\"done\"}]", 0, NULL);
	s = agent_trajectory_line(msgs, "SYS", "[]", "m1", 1, 0);
	assert_null(strchr(s, '\n'));
	line = json_loads(s, 0, NULL);
	assert_non_null(line);
	assert_string_equal(json_string_value(json_object_get(line, "model")),
	    "m1");
	assert_true(json_is_true(json_object_get(line, "completed")));
	assert_string_equal(json_string_value(json_object_get(line,
	    "timestamp")), "1970-01-01T00:00:00");
	conv = json_object_get(line, "conversations");
	assert_int_equal(json_array_size(conv), 5);
	v = json_string_value(json_object_get(json_array_get(conv, 0), "value"));
	assert_non_null(strstr(v, "<tools>\n[]\n</tools>"));
	assert_non_null(strstr(v, "\n\nSYS"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    conv, 1), "from")), "human");
	v = json_string_value(json_object_get(json_array_get(conv, 2), "value"));
	assert_string_equal(v, "<think>\nthink\n</think>\n\n<tool_call>\n"
	    "{\"name\":\"read_file\",\"arguments\":{\"path\":\"a\"}}\n"
	    "</tool_call>");
	v = json_string_value(json_object_get(json_array_get(conv, 3), "value"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    conv, 3), "from")), "tool");
	assert_string_equal(v, "<tool_response>\n{\"tool_call_id\":\"c1\","
	    "\"name\":\"read_file\",\"content\":{\"content\":\"1|x\"}}\n"
	    "</tool_response>");
	v = json_string_value(json_object_get(json_array_get(conv, 4), "value"));
	assert_string_equal(v, "<think>\n\n</think>\ndone");
	json_decref(line);
	free(s);
	json_decref(msgs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cache_switch_reuses),
		cmocka_unit_test(test_cache_record_holds_id),
		cmocka_unit_test(test_cache_no_rebaseline_across_ids),
		cmocka_unit_test(test_cache_same_id_rebaselines),
		cmocka_unit_test(test_cache_foreign_write_rebuilds),
		cmocka_unit_test(test_prompt_stable),
		cmocka_unit_test(test_memory_block),
		cmocka_unit_test(test_skills_index),
		cmocka_unit_test(test_nudges),
		cmocka_unit_test(test_review_notice),
		cmocka_unit_test(test_trajectory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
