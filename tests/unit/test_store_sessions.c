/*
 * Sessions: create, append (message_count), load of a lineage's tip,
 * end, unique titles and the "name #2" rule, list, export, delete, prune,
 * routing, and refusals (oversized, bad role, unknown session).
 */
#include "tests/unit/test_store_common.h"

struct fx {
	char		*home;
	struct store	*s;
};

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));

	f->home = t_home();
	f->s = t_open(f->home);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	t_rmhome(f->home);
	free(f);
	return 0;
}

static char *
new_session(struct store *s, const char *args)
{
	json_t *r = t_ok(s, "session.create", args);
	char *id = xstrdup(t_str(r, "session_id"));

	json_decref(r);
	return id;
}

static void
test_append_load(void **state)
{
	struct fx *f = *state;
	struct store_res res;
	char *id;
	json_t *r, *msgs, *m;

	id = new_session(f->s, "{\"model\": \"m1\", \"system_prompt\": "
	    "\"SYS\", \"source\": \"cli\"}");
	r = t_call(f->s, "session.append", &res, "{\"session_id\": \"%s\", "
	    "\"role\": \"user\", \"content\": \"hello\"}", id);
	assert_true(res.ok);
	assert_true(res.has_count);
	assert_int_equal(res.message_count, 1);
	assert_true(json_integer_value(json_object_get(r, "message_id")) > 0);
	json_decref(r);
	r = t_call(f->s, "session.append", &res, "{\"session_id\": \"%s\", "
	    "\"role\": \"assistant\", \"content\": null, \"tool_calls\": "
	    "[{\"id\": \"c1\", \"type\": \"function\", \"function\": {\"name\": "
	    "\"read_file\", \"arguments\": \"{\\\"path\\\": \\\"a\\\"}\"}}], "
	    "\"finish_reason\": \"tool_calls\", \"reasoning\": \"think\"}", id);
	assert_int_equal(res.message_count, 2);
	json_decref(r);
	r = t_call(f->s, "session.append", &res, "{\"session_id\": \"%s\", "
	    "\"role\": \"tool\", \"content\": \"file body\", \"tool_call_id\": "
	    "\"c1\", \"tool_name\": \"read_file\"}", id);
	assert_int_equal(res.message_count, 3);
	json_decref(r);

	r = t_call(f->s, "session.load", &res, "{\"session_id\": \"%s\"}", id);
	assert_true(res.ok);
	assert_int_equal(res.message_count, 3);
	assert_string_equal(t_str(r, "system_prompt"), "SYS");
	assert_string_equal(t_str(r, "model"), "m1");
	msgs = json_object_get(r, "messages");
	assert_int_equal(json_array_size(msgs), 3);
	m = json_array_get(msgs, 1);
	assert_true(json_is_null(json_object_get(m, "content")));
	assert_string_equal(t_str(m, "reasoning"), "think");
	assert_string_equal(t_str(json_array_get(json_object_get(m,
	    "tool_calls"), 0), "id"), "c1");
	m = json_array_get(msgs, 2);
	assert_string_equal(t_str(m, "tool_call_id"), "c1");
	json_decref(r);
	assert_int_equal(t_sql_int(f->s->dbpath, "SELECT tool_call_count FROM "
	    "sessions"), 1);

	/* get, end: every read returns the count. */
	r = t_call(f->s, "session.end", &res, "{\"session_id\": \"%s\", "
	    "\"reason\": \"user_exit\"}", id);
	assert_true(res.ok);
	assert_int_equal(res.message_count, 3);
	json_decref(r);
	r = t_call(f->s, "session.get", &res, "{\"session_id\": \"%s\"}", id);
	assert_string_equal(t_str(r, "end_reason"), "user_exit");
	assert_int_equal(res.message_count, 3);
	json_decref(r);
	free(id);
}

static void
test_refusals(void **state)
{
	struct fx *f = *state;
	struct store_res res;
	char *id, *big;
	json_t *r;
	size_t n = STORE_MAX_MESSAGE + 10;

	id = new_session(f->s, "{}");
	big = xmalloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\0';
	r = t_call(f->s, "session.append", &res, "{\"session_id\": \"%s\", "
	    "\"role\": \"user\", \"content\": \"%s\"}", id, big);
	assert_null(r);
	assert_false(res.ok);
	assert_string_equal(res.code, "toolarge");
	assert_non_null(strstr(res.error, "not saved"));
	free(big);
	r = t_call(f->s, "session.append", &res, "{\"session_id\": \"%s\", "
	    "\"role\": \"root\", \"content\": \"x\"}", id);
	assert_false(res.ok);
	assert_string_equal(res.code, "invalid");
	r = t_call(f->s, "session.append", &res, "{\"session_id\": "
	    "\"nope\", \"role\": \"user\", \"content\": \"x\"}");
	assert_false(res.ok);
	assert_string_equal(res.code, "notfound");
	r = t_call(f->s, "session.append", &res, "{\"session_id\": \"%s\", "
	    "\"role\": \"user\", \"content\": 42}", id);
	assert_false(res.ok);
	r = t_call(f->s, "session.append", &res, "{\"session_id\": \"%s\", "
	    "\"role\": \"assistant\", \"tool_calls\": \"{not json\"}", id);
	assert_false(res.ok);
	r = t_call(f->s, "session.append", &res, "[1, 2]");
	assert_false(res.ok);
	assert_string_equal(res.code, "invalid");
	r = t_call(f->s, "session.create", &res, "{\"id\": \"../../x\"}");
	assert_false(res.ok);
	r = t_call(f->s, "no.such.op", &res, "{}");
	assert_false(res.ok);
	assert_string_equal(res.code, "unknown_op");
	/* Nothing of the refused writes landed. */
	assert_int_equal(t_sql_int(f->s->dbpath, "SELECT count(*) FROM "
	    "messages"), 0);
	assert_int_equal(t_sql_int(f->s->dbpath, "SELECT message_count FROM "
	    "sessions"), 0);
	free(id);
}

static void
test_titles_lineage(void **state)
{
	struct fx *f = *state;
	struct store_res res;
	char *a, *b, *c, *d;
	json_t *r;

	a = new_session(f->s, "{\"title\": \"my project\"}");
	r = t_call(f->s, "session.create", &res, "{\"title\": \"my project\"}");
	assert_false(res.ok);
	assert_non_null(strstr(res.error, "already in use"));
	/* A continuation carries the title on: "my project #2", "#3". */
	r = t_call(f->s, "session.end", &res, "{\"session_id\": \"%s\", "
	    "\"reason\": \"compression\"}", a);
	json_decref(r);
	{
		char *args;

		xasprintf(&args, "{\"parent_session_id\": \"%s\"}", a);
		r = t_ok(f->s, "session.create", args);
		free(args);
	}
	assert_string_equal(t_str(r, "title"), "my project #2");
	b = xstrdup(t_str(r, "session_id"));
	json_decref(r);
	{
		char *next = store_next_title(f->s, "my project #2");

		assert_string_equal(next, "my project #3");
		free(next);
		next = store_next_title(f->s, "fresh 100%_x");
		assert_string_equal(next, "fresh 100%_x");
		free(next);
	}
	/* Title lookups resolve to the newest of the lineage. */
	r = t_ok(f->s, "session.get", "{\"title\": \"my project\"}");
	assert_string_equal(t_str(r, "id"), b);
	json_decref(r);
	/* load of the root follows the compression chain to the tip. */
	r = t_call(f->s, "session.append", &res, "{\"session_id\": \"%s\", "
	    "\"role\": \"user\", \"content\": \"on the tip\"}", b);
	json_decref(r);
	r = t_call(f->s, "session.load", &res, "{\"session_id\": \"%s\"}", a);
	assert_string_equal(t_str(r, "session_id"), b);
	assert_int_equal(json_array_size(json_object_get(r, "messages")), 1);
	assert_int_equal(res.message_count, 1);
	json_decref(r);
	{
		char *root = store_lineage_root(f->s, b);

		assert_string_equal(root, a);
		free(root);
	}
	/* Titles: set, conflict, clear, too long, control chars. */
	c = new_session(f->s, "{}");
	r = t_call(f->s, "session.title", &res, "{\"session_id\": \"%s\", "
	    "\"title\": \"  other  \"}", c);
	assert_true(res.ok);
	assert_string_equal(t_str(r, "title"), "other");
	json_decref(r);
	d = new_session(f->s, "{}");
	r = t_call(f->s, "session.title", &res, "{\"session_id\": \"%s\", "
	    "\"title\": \"other\"}", d);
	assert_false(res.ok);
	assert_non_null(strstr(res.error, c));
	r = t_call(f->s, "session.title", &res, "{\"session_id\": \"%s\", "
	    "\"title\": \"a\\nb\"}", d);
	assert_false(res.ok);
	r = t_call(f->s, "session.title", &res, "{\"session_id\": \"%s\", "
	    "\"title\": \"\"}", c);
	assert_true(res.ok);
	json_decref(r);
	r = t_call(f->s, "session.title", &res, "{\"session_id\": \"%s\", "
	    "\"title\": \"other\"}", d);
	assert_true(res.ok);
	json_decref(r);
	free(a);
	free(b);
	free(c);
	free(d);
}

static void
test_list_export_delete(void **state)
{
	struct fx *f = *state;
	struct store_res res;
	char *a, *b, *line;
	json_t *r, *row;
	int i;

	a = new_session(f->s, "{\"title\": \"alpha\"}");
	b = new_session(f->s, "{\"source\": \"telegram\"}");
	for (i = 0; i < 3; i++) {
		r = t_call(f->s, "session.append", &res, "{\"session_id\": "
		    "\"%s\", \"role\": \"%s\", \"content\": \"line %d\"}", a,
		    i % 2 ? "assistant" : "user", i);
		assert_true(res.ok);
		json_decref(r);
	}
	r = t_ok(f->s, "session.list", "{}");
	assert_int_equal(json_integer_value(json_object_get(r, "total")), 2);
	assert_int_equal(json_array_size(json_object_get(r, "sessions")), 2);
	json_decref(r);
	r = t_ok(f->s, "session.list", "{\"source\": \"cli\"}");
	assert_int_equal(json_array_size(json_object_get(r, "sessions")), 1);
	row = json_array_get(json_object_get(r, "sessions"), 0);
	assert_string_equal(t_str(row, "title"), "alpha");
	assert_string_equal(t_str(row, "preview"), "line 0");
	assert_int_equal(json_integer_value(json_object_get(row,
	    "message_count")), 3);
	json_decref(r);

	r = t_call(f->s, "session.export", &res, "{\"session_id\": \"%s\", "
	    "\"format\": \"jsonl\"}", a);
	assert_true(res.ok);
	line = xstrdup(t_str(r, "text"));
	json_decref(r);
	r = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
	assert_non_null(r);
	assert_string_equal(t_str(r, "id"), a);
	assert_int_equal(json_array_size(json_object_get(r, "messages")), 3);
	json_decref(r);
	free(line);
	r = t_call(f->s, "session.export", &res, "{\"session_id\": \"%s\", "
	    "\"format\": \"md\"}", a);
	assert_non_null(strstr(t_str(r, "text"), "# alpha"));
	assert_non_null(strstr(t_str(r, "text"), "## assistant"));
	json_decref(r);
	r = t_ok(f->s, "session.export", "{}");
	{
		const char *t = t_str(r, "text");
		int lines = 0;

		for (; *t; t++)
			lines += *t == '\n';
		assert_int_equal(lines, 2);
	}
	json_decref(r);
	r = t_call(f->s, "session.export", &res, "{\"format\": \"pdf\"}");
	assert_false(res.ok);

	r = t_call(f->s, "session.delete", &res, "{\"session_id\": \"%s\"}", a);
	assert_true(res.ok);
	assert_int_equal(json_integer_value(json_object_get(r, "deleted")), 3);
	json_decref(r);
	r = t_call(f->s, "session.delete", &res, "{\"session_id\": \"%s\"}", a);
	assert_false(res.ok);
	assert_string_equal(res.code, "notfound");
	assert_int_equal(t_sql_int(f->s->dbpath, "SELECT count(*) FROM "
	    "messages_fts WHERE messages_fts MATCH 'line'"), 0);

	/* prune: only ended sessions older than the cut. */
	t_exec(f->s->dbpath, "UPDATE sessions SET started_at = 1000, "
	    "ended_at = 1001");
	{
		char *c = new_session(f->s, "{}");

		r = t_ok(f->s, "session.prune", "{\"older_than_days\": 30}");
		assert_int_equal(json_integer_value(json_object_get(r,
		    "deleted")), 1);
		json_decref(r);
		assert_int_equal(t_sql_int(f->s->dbpath, "SELECT count(*) FROM "
		    "sessions"), 1);
		free(c);
	}
	free(a);
	free(b);
}

static void
test_route(void **state)
{
	struct fx *f = *state;
	json_t *r;

	r = t_ok(f->s, "session.route", "{\"session_key\": \"telegram:42\"}");
	assert_true(json_is_null(json_object_get(r, "session_id")));
	json_decref(r);
	r = t_ok(f->s, "session.route", "{\"session_key\": \"telegram:42\", "
	    "\"session_id\": \"S1\", \"entry\": {\"platform\": \"telegram\"}}");
	json_decref(r);
	r = t_ok(f->s, "session.route", "{\"session_key\": \"telegram:42\", "
	    "\"session_id\": \"S2\"}");
	json_decref(r);
	r = t_ok(f->s, "session.route", "{\"session_key\": \"telegram:42\"}");
	assert_string_equal(t_str(r, "session_id"), "S2");
	assert_string_equal(t_str(json_object_get(r, "entry"), "session_key"),
	    "telegram:42");
	json_decref(r);
	r = t_ok(f->s, "session.route", "{\"session_key\": \"telegram:42\", "
	    "\"scope\": \"other\"}");
	assert_true(json_is_null(json_object_get(r, "session_id")));
	json_decref(r);
}

static void
test_latest(void **state)
{
	struct fx *f = *state;
	char *a, *b;
	json_t *r;

	a = new_session(f->s, "{\"id\": \"20260101_000000_00000001\"}");
	b = new_session(f->s, "{\"id\": \"20260101_000000_00000002\"}");
	t_exec(f->s->dbpath, "UPDATE sessions SET started_at = 5 WHERE id = "
	    "'20260101_000000_00000001'");
	r = t_ok(f->s, "session.get", "{\"latest\": true}");
	assert_string_equal(t_str(r, "id"), b);
	json_decref(r);
	free(a);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_load, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_titles_lineage, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_list_export_delete, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_route, setup, teardown),
		cmocka_unit_test_setup_teardown(test_latest, setup, teardown),
	};

	log_init("test_store_sessions", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
