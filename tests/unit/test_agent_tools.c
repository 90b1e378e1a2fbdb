/* The tool registry and the JSON-schema validator. */
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

static const char *const hermes_core[] = {
	"terminal", "process", "read_file", "write_file", "patch",
	"search_files", "memory", "skills_list", "skill_view", "skill_manage",
	"session_search", "todo", "clarify",
};

static void
test_registry_complete(void **state)
{
	size_t			 i;
	const struct agent_tool	*t;
	json_t			*s;

	(void)state;
	assert_int_equal(agent_tool_count(), nitems(hermes_core));
	for (i = 0; i < nitems(hermes_core); i++) {
		t = agent_tool_find(hermes_core[i]);
		assert_non_null(t);
		s = agent_tool_schema(t);
		assert_string_equal(json_string_value(json_object_get(s, "name")),
		    hermes_core[i]);
		assert_true(json_is_string(json_object_get(s, "description")));
		assert_string_equal(json_string_value(json_object_get(
		    json_object_get(s, "parameters"), "type")), "object");
	}
	assert_null(agent_tool_find("send_message"));
	assert_null(agent_tool_find(NULL));
}

static void
test_registry_owners(void **state)
{
	(void)state;
	assert_int_equal(agent_tool_find("terminal")->owner, OWNER_TOOL);
	assert_int_equal(agent_tool_find("memory")->owner, OWNER_STORE);
	assert_string_equal(agent_tool_find("memory")->store_op, "memory");
	assert_string_equal(agent_tool_find("session_search")->store_op,
	    "session.search");
	assert_string_equal(agent_tool_find("skill_manage")->store_op,
	    "skills.manage");
	assert_int_equal(agent_tool_find("todo")->owner, OWNER_AGENT);
	assert_int_equal(agent_tool_find("clarify")->owner, OWNER_AGENT);
	/* Hermes's parallel-safe set. */
	assert_true(agent_tool_find("read_file")->readonly);
	assert_true(agent_tool_find("search_files")->readonly);
	assert_true(agent_tool_find("session_search")->readonly);
	assert_true(agent_tool_find("skill_view")->readonly);
	assert_true(agent_tool_find("skills_list")->readonly);
	assert_false(agent_tool_find("terminal")->readonly);
	assert_false(agent_tool_find("write_file")->readonly);
	assert_false(agent_tool_find("clarify")->readonly);
}

/* Hermes's required lists and enums (reference/tool_schemas.txt). */
static void
test_schema_matches_reference(void **state)
{
	static const struct {
		const char *tool, *required, *enum_prop, *enum_vals;
	} ref[] = {
		{ "terminal", "[\"command\"]", NULL, NULL },
		{ "process", "[\"action\"]", "action",
		  "[\"list\",\"poll\",\"log\",\"wait\",\"kill\",\"write\",\"submit\",\"close\"]" },
		{ "read_file", "[\"path\"]", NULL, NULL },
		{ "write_file", "[\"path\",\"content\"]", NULL, NULL },
		{ "patch", "[\"mode\"]", "mode", "[\"replace\",\"patch\"]" },
		{ "search_files", "[\"pattern\"]", "output_mode",
		  "[\"content\",\"files_only\",\"count\"]" },
		{ "memory", "[\"target\"]", "action",
		  "[\"add\",\"replace\",\"remove\"]" },
		{ "skills_list", "[]", NULL, NULL },
		{ "skill_view", "[\"name\"]", NULL, NULL },
		{ "skill_manage", "[\"action\",\"name\"]", "action",
		  "[\"create\",\"patch\",\"edit\",\"delete\",\"write_file\",\"remove_file\"]" },
		{ "session_search", "[]", "sort", "[\"newest\",\"oldest\"]" },
		{ "todo", "[]", NULL, NULL },
		{ "clarify", "[\"question\"]", NULL, NULL },
	};
	size_t	 i;
	json_t	*p, *want;

	(void)state;
	for (i = 0; i < nitems(ref); i++) {
		p = json_object_get(agent_tool_schema(agent_tool_find(
		    ref[i].tool)), "parameters");
		want = json_loads(ref[i].required, 0, NULL);
		assert_true(json_equal(json_object_get(p, "required"), want));
		json_decref(want);
		if (ref[i].enum_prop == NULL)
			continue;
		want = json_loads(ref[i].enum_vals, 0, NULL);
		assert_true(json_equal(json_object_get(json_object_get(
		    json_object_get(p, "properties"), ref[i].enum_prop), "enum"),
		    want));
		json_decref(want);
	}
}

static void
test_tools_json_stable(void **state)
{
	struct agent_cfg	 cfg;
	char			*a, *b;
	json_t			*arr;

	(void)state;
	agent_cfg_defaults(&cfg);
	a = agent_tools_json(&cfg);
	b = agent_tools_json(&cfg);
	assert_string_equal(a, b);
	arr = json_loads(a, 0, NULL);
	assert_int_equal(json_array_size(arr), agent_tool_count());
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    arr, 0), "name")), "terminal");
	json_decref(arr);
	free(b);
	/* A disabled toolset drops its tools, the rest keep their order. */
	assert_int_equal(agent_cfg_load(&cfg,
	    "{\"agent\":{\"disabled_toolsets\":[\"memory\",\"clarify\"]}}"), 0);
	b = agent_tools_json(&cfg);
	arr = json_loads(b, 0, NULL);
	assert_int_equal(json_array_size(arr), agent_tool_count() - 2);
	assert_null(strstr(b, "\"name\":\"memory\""));
	json_decref(arr);
	free(a);
	free(b);
	agent_cfg_clear(&cfg);
}

static char *
check(const char *tool, const char *args)
{
	char	*err;
	json_t	*v;

	v = agent_tool_check_args(agent_tool_find(tool), args,
	    args ? strlen(args) : 0, &err);
	if (v != NULL) {
		assert_null(err);
		json_decref(v);
		return NULL;
	}
	assert_non_null(err);
	return err;
}

static void
expect_error(const char *tool, const char *args, const char *needle)
{
	char	*e = check(tool, args);
	json_t	*o;

	assert_non_null(e);
	o = json_loads(e, 0, NULL);
	assert_non_null(o);
	assert_true(json_is_string(json_object_get(o, "error")));
	if (strstr(json_string_value(json_object_get(o, "error")), needle)
	    == NULL)
		fail_msg("'%s' lacks '%s'", e, needle);
	json_decref(o);
	free(e);
}

static void
test_validate_ok(void **state)
{
	(void)state;
	assert_null(check("read_file", "{\"path\":\"/etc/hosts\"}"));
	assert_null(check("read_file", "{\"path\":\"a\",\"offset\":3,\"limit\":20}"));
	assert_null(check("terminal", "{\"command\":\"ls\",\"background\":false,"
	    "\"timeout\":5,\"watch_patterns\":[\"ready\"]}"));
	assert_null(check("skills_list", NULL));	/* no arguments */
	assert_null(check("skills_list", "{}"));
	assert_null(check("todo", "{\"todos\":[{\"id\":\"1\",\"content\":\"x\","
	    "\"status\":\"pending\"}],\"merge\":true}"));
	assert_null(check("memory", "{\"target\":\"user\",\"operations\":["
	    "{\"action\":\"add\",\"content\":\"likes tea\"}]}"));
	/* 5.0 is an integer for JSON Schema. */
	assert_null(check("read_file", "{\"path\":\"a\",\"limit\":5.0}"));
	/* Unknown extra keys are tolerated (no additionalProperties). */
	assert_null(check("read_file", "{\"path\":\"a\",\"encoding\":\"x\"}"));
}

static void
test_validate_errors(void **state)
{
	(void)state;
	expect_error("read_file", "{}", "missing required parameter 'path'");
	expect_error("read_file", "{\"path\":7}",
	    "'path' must be of type string, got integer");
	expect_error("read_file", "{\"path\":\"a\",\"limit\":\"ten\"}",
	    "'limit' must be of type integer");
	expect_error("read_file", "{\"path\":\"a\",\"limit\":1.5}",
	    "must be of type integer, got number");
	expect_error("read_file", "{\"path\":\"a\",\"offset\":0}",
	    "'offset' must be >= 1");
	expect_error("read_file", "{\"path\":\"a\",\"limit\":5000}",
	    "'limit' must be <= 2000");
	expect_error("process", "{\"action\":\"explode\"}",
	    "'action' must be one of [\"list\", \"poll\"");
	expect_error("todo", "{\"todos\":[{\"id\":\"1\",\"content\":\"x\","
	    "\"status\":\"done\"}]}", "'todos[0].status' must be one of");
	expect_error("todo", "{\"todos\":[{\"id\":\"1\"}]}",
	    "missing required parameter 'todos[0].content'");
	expect_error("clarify", "{\"question\":\"q\",\"choices\":[\"a\",\"b\","
	    "\"c\",\"d\",\"e\"]}", "at most 4 items");
	expect_error("terminal", "{\"command\":\"ls\"", "Invalid JSON");
	expect_error("terminal", "[\"ls\"]", "must be a JSON object");
	expect_error("terminal", "{\"command\":\"a\",\"command\":\"b\"}",
	    "Invalid JSON");
	expect_error("memory", "{\"target\":\"memory\",\"operations\":[{}]}",
	    "missing required parameter 'operations[0].action'");
}

static void
test_validate_generic(void **state)
{
	json_t	*schema, *v;
	char	 err[256];

	(void)state;
	schema = json_loads("{\"type\":\"object\",\"additionalProperties\":false,"
	    "\"properties\":{\"a\":{\"type\":[\"string\",\"null\"]},"
	    "\"b\":{\"type\":\"object\",\"additionalProperties\":"
	    "{\"type\":\"integer\"}}}}", 0, NULL);
	v = json_loads("{\"a\":null,\"b\":{\"x\":1,\"y\":2}}", 0, NULL);
	assert_int_equal(agent_schema_validate(schema, v, err, sizeof err), 0);
	json_decref(v);
	v = json_loads("{\"a\":1}", 0, NULL);
	assert_int_equal(agent_schema_validate(schema, v, err, sizeof err), -1);
	assert_non_null(strstr(err, "string or null"));
	json_decref(v);
	v = json_loads("{\"zzz\":1}", 0, NULL);
	assert_int_equal(agent_schema_validate(schema, v, err, sizeof err), -1);
	assert_non_null(strstr(err, "unknown parameter 'zzz'"));
	json_decref(v);
	v = json_loads("{\"b\":{\"x\":\"no\"}}", 0, NULL);
	assert_int_equal(agent_schema_validate(schema, v, err, sizeof err), -1);
	assert_non_null(strstr(err, "'b.x' must be of type integer"));
	json_decref(v);
	json_decref(schema);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registry_complete),
		cmocka_unit_test(test_registry_owners),
		cmocka_unit_test(test_schema_matches_reference),
		cmocka_unit_test(test_tools_json_stable),
		cmocka_unit_test(test_validate_ok),
		cmocka_unit_test(test_validate_errors),
		cmocka_unit_test(test_validate_generic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
