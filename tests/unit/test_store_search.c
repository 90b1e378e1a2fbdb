/*
 * session_search: the query sanitiser (hostile syntax never an SQL
 * error), and the four shapes: discovery (lineage dedupe, bookends,
 * window with the anchor, cron demoted, title match, CJK and substring
 * via trigram), scroll, read, browse.
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

static void
test_sanitize(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "docker deploy", "\"docker\" \"deploy\"" },
		{ "chat-send", "\"chat-send\"" },
		{ "P2.2 my-app.config.ts", "\"P2.2\" \"my-app.config.ts\"" },
		{ "\"exact phrase\" other", "\"exact phrase\" \"other\"" },
		{ "deploy*", "\"deploy\"*" },
		{ "***", "" },
		{ "*foo", "\"foo\"" },
		{ "hello AND", "\"hello\"" },
		{ "OR world", "\"world\"" },
		{ "a OR b", "\"a\" OR \"b\"" },
		{ "a AND OR NOT b", "\"a\" AND \"b\"" },
		{ "TODO: fix", "\"TODO\" \"fix\"" },
		{ "col:term", "\"col\" \"term\"" },
		{ "(a) {b} ^c +d", "\"a\" \"b\" \"c\" \"d\"" },
		{ "unbalanced \"quote", "\"unbalanced\" \"quote\"" },
		{ "\"\"", "" },
		{ "NEAR(a b, 3)", "\"NEAR\" \"a\" \"b\" \"3\"" },
		{ "  ", "" },
		{ "naïve café", "\"naïve\" \"café\"" },
	};
	size_t i;

	for (i = 0; i < nitems(cases); i++) {
		char *o = store_fts_sanitize(cases[i].in);

		if (strcmp(o, cases[i].out) != 0)
			fail_msg("sanitize(%s) = [%s], want [%s]", cases[i].in,
			    o, cases[i].out);
		free(o);
	}
}

static char *
mk(struct store *s, const char *args)
{
	json_t *r = t_ok(s, "session.create", args);
	char *id = xstrdup(t_str(r, "session_id"));

	json_decref(r);
	return id;
}

static void
add(struct store *s, const char *sid, const char *role, const char *text)
{
	struct store_res res;
	json_t *r;
	char *esc;

	r = json_string(text);
	esc = json_dumps(r, JSON_ENCODE_ANY);
	json_decref(r);
	r = t_call(s, "session.append", &res, "{\"session_id\": \"%s\", "
	    "\"role\": \"%s\", \"content\": %s}", sid, role, esc);
	free(esc);
	if (!res.ok)
		fail_msg("append: %s", res.error);
	json_decref(r);
}

static void
test_hostile(void **state)
{
	struct fx *f = *state;
	static const char *const q[] = {
		"\"", "\"\"\"", "(", ")", "*", "-", "-foo", "foo-", "a:b:c",
		"NOT", "AND", "OR", "NEAR", "NEAR(", "^", "{a b}:c", "a\"b\"c",
		"'; DROP TABLE messages; --", "\\", "\x01\x02", "a + + b",
		"\"a\" NOT", "\xff\xfe", "%_", "rank:1", "content:x",
		"x OR OR OR y", "\"unterminated (paren", "😀", "ab", "日本",
		"a*b*c", "**a**", "-- comment", "/* c */",
	};
	char *sid = mk(f->s, "{}"), *args;
	size_t i;
	json_t *r, *qs;

	add(f->s, sid, "user", "docker compose up fails on the arm64 host");
	for (i = 0; i < nitems(q); i++) {
		qs = json_string(q[i]);
		if (qs == NULL)	/* invalid UTF-8 cannot travel as JSON */
			continue;
		{
			char *qtext = json_dumps(qs, JSON_ENCODE_ANY);

			xasprintf(&args, "{\"query\": %s}", qtext);
			free(qtext);
		}
		json_decref(qs);
		r = t_tool(f->s, "session.search", args);
		if (!json_is_true(json_object_get(r, "success")))
			fail_msg("query [%s]: %s", q[i], t_str(r, "error"));
		json_decref(r);
		free(args);
	}
	assert_int_equal(f->s->fts_errors, 0);
	free(sid);
}

static void
test_discover(void **state)
{
	struct fx *f = *state;
	char *a, *a2, *b, *c, *args, buf[64];
	json_t *r, *res0, *msgs;
	int i, anchor_seen = 0;
	size_t k;

	a = mk(f->s, "{\"title\": \"db tuning\", \"model\": \"m\"}");
	for (i = 0; i < 20; i++) {
		snprintf(buf, sizeof(buf), "filler message %d", i);
		add(f->s, a, i % 2 ? "assistant" : "user", buf);
	}
	add(f->s, a, "user", "the postgres autovacuum settings are wrong");
	for (i = 0; i < 20; i++) {
		snprintf(buf, sizeof(buf), "after message %d", i);
		add(f->s, a, i % 2 ? "assistant" : "user", buf);
	}
	/* A continuation of a mentions it too: deduped by lineage. */
	xasprintf(&args, "{\"session_id\": \"%s\", \"reason\": "
	    "\"compression\"}", a);
	json_decref(t_ok(f->s, "session.end", args));
	free(args);
	xasprintf(&args, "{\"parent_session_id\": \"%s\"}", a);
	a2 = mk(f->s, args);
	free(args);
	add(f->s, a2, "assistant", "autovacuum again in the continuation");
	/* A cron session with many hits: demoted below the others. */
	c = mk(f->s, "{\"source\": \"cron\"}");
	for (i = 0; i < 5; i++)
		add(f->s, c, "assistant", "autovacuum autovacuum autovacuum "
		    "report");
	b = mk(f->s, "{}");
	add(f->s, b, "user", "is autovacuum safe during backups?");

	r = t_tool(f->s, "session.search", "{\"query\": \"autovacuum\", "
	    "\"limit\": 5}");
	assert_string_equal(t_str(r, "mode"), "discover");
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 3);
	/* cron last. */
	res0 = json_array_get(json_object_get(r, "results"), 2);
	assert_string_equal(t_str(res0, "source"), "cron");
	for (k = 0; k < 2; k++) {
		json_t *e = json_array_get(json_object_get(r, "results"), k);

		if (strcmp(t_str(e, "session_id"), b) == 0)
			continue;
		/* The a lineage: either a (with bookends) or a2. */
		if (strcmp(t_str(e, "session_id"), a) == 0) {
			assert_int_equal(json_array_size(json_object_get(e,
			    "bookend_start")), 3);
			assert_int_equal(json_array_size(json_object_get(e,
			    "bookend_end")), 3);
			msgs = json_object_get(e, "messages");
			assert_int_equal(json_array_size(msgs), 11);
			for (i = 0; i < 11; i++)
				if (json_is_true(json_object_get(
				    json_array_get(msgs, i), "anchor")))
					anchor_seen = 1;
			assert_true(anchor_seen);
			assert_int_equal(json_integer_value(json_object_get(e,
			    "messages_before")), 15);
			assert_string_equal(t_str(e, "title"), "db tuning");
		} else {
			assert_string_equal(t_str(e, "session_id"), a2);
			assert_string_equal(t_str(e, "parent_session_id"), a);
		}
	}
	json_decref(r);

	/* Excluding the current lineage. */
	xasprintf(&args, "{\"query\": \"autovacuum\", \"limit\": 5, "
	    "\"current_session_id\": \"%s\"}", a2);
	r = t_tool(f->s, "session.search", args);
	free(args);
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 2);
	json_decref(r);

	/* newest / oldest sorts and role filter. */
	r = t_tool(f->s, "session.search", "{\"query\": \"autovacuum\", "
	    "\"sort\": \"newest\", \"limit\": 1}");
	assert_string_equal(t_str(json_array_get(json_object_get(r,
	    "results"), 0), "session_id"), b);
	json_decref(r);
	r = t_tool(f->s, "session.search", "{\"query\": \"autovacuum\", "
	    "\"role_filter\": \"assistant\", \"limit\": 5}");
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 2);
	json_decref(r);

	/* Title match comes first. */
	r = t_tool(f->s, "session.search", "{\"query\": \"'db tuning'\"}");
	res0 = json_array_get(json_object_get(r, "results"), 0);
	assert_string_equal(t_str(res0, "matched_role"), "session_title");
	json_decref(r);

	/* Substring fallback through the trigram index. */
	r = t_tool(f->s, "session.search", "{\"query\": \"utovacu\"}");
	assert_true(json_integer_value(json_object_get(r, "count")) >= 1);
	json_decref(r);
	r = t_tool(f->s, "session.search", "{\"query\": \"zzzzqqq\"}");
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 0);
	assert_string_equal(t_str(r, "message"), "No matching sessions found.");
	json_decref(r);
	assert_int_equal(f->s->fts_errors, 0);
	free(a);
	free(a2);
	free(b);
	free(c);
}

/* bm25 decides among the candidates, not recency. */
static void
test_rank(void **state)
{
	struct fx *f = *state;
	char *a = mk(f->s, "{}"), *b = mk(f->s, "{}");
	json_t *r;

	add(f->s, a, "user", "kernel kernel kernel panic at boot");
	add(f->s, b, "user", "a long message that mentions the kernel only "
	    "once among many other words about lunch and the weather");
	r = t_tool(f->s, "session.search", "{\"query\": \"kernel\", "
	    "\"limit\": 1}");
	assert_string_equal(t_str(json_array_get(json_object_get(r,
	    "results"), 0), "session_id"), a);
	json_decref(r);
	r = t_tool(f->s, "session.search", "{\"query\": \"kernel\", "
	    "\"limit\": 1, \"sort\": \"newest\"}");
	assert_string_equal(t_str(json_array_get(json_object_get(r,
	    "results"), 0), "session_id"), b);
	json_decref(r);
	assert_int_equal(f->s->fts_errors, 0);
	free(a);
	free(b);
}

static void
test_cjk(void **state)
{
	struct fx *f = *state;
	char *a = mk(f->s, "{}");
	json_t *r;

	add(f->s, a, "user", "请帮我优化数据库索引的性能");
	r = t_tool(f->s, "session.search", "{\"query\": \"数据库索引\"}");
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 1);
	assert_non_null(strstr(t_str(json_array_get(json_object_get(r,
	    "results"), 0), "snippet"), ">>>"));
	json_decref(r);
	assert_int_equal(f->s->fts_errors, 0);
	free(a);
}

static void
test_scroll_read_browse(void **state)
{
	struct fx *f = *state;
	char *a, *b, *args, buf[64];
	json_t *r, *msgs;
	int64_t first;
	int i;

	a = mk(f->s, "{\"title\": \"long one\"}");
	for (i = 0; i < 40; i++) {
		snprintf(buf, sizeof(buf), "msg %d", i);
		add(f->s, a, i % 2 ? "assistant" : "user", buf);
	}
	b = mk(f->s, "{}");
	add(f->s, b, "user", "short");

	/* read: first 20 + last 10. */
	xasprintf(&args, "{\"session_id\": \"%s\"}", a);
	r = t_tool(f->s, "session.search", args);
	free(args);
	assert_string_equal(t_str(r, "mode"), "read");
	assert_true(json_is_true(json_object_get(r, "truncated")));
	assert_int_equal(json_integer_value(json_object_get(r,
	    "message_count")), 40);
	msgs = json_object_get(r, "messages");
	assert_int_equal(json_array_size(msgs), 30);
	assert_string_equal(t_str(json_array_get(msgs, 29), "content"),
	    "msg 39");
	first = json_integer_value(json_object_get(json_array_get(msgs, 0),
	    "id"));
	assert_string_equal(t_str(json_object_get(r, "session_meta"), "title"),
	    "long one");
	json_decref(r);

	/* scroll around message 20 with window 3. */
	xasprintf(&args, "{\"session_id\": \"%s\", \"around_message_id\": "
	    "%lld, \"window\": 3}", a, (long long)first + 20);
	r = t_tool(f->s, "session.search", args);
	free(args);
	assert_string_equal(t_str(r, "mode"), "scroll");
	msgs = json_object_get(r, "messages");
	assert_int_equal(json_array_size(msgs), 7);
	assert_true(json_is_true(json_object_get(json_array_get(msgs, 3),
	    "anchor")));
	assert_int_equal(json_integer_value(json_object_get(r,
	    "messages_before")), 17);
	assert_int_equal(json_integer_value(json_object_get(r,
	    "messages_after")), 16);
	json_decref(r);
	/* An anchor from another session is refused. */
	xasprintf(&args, "{\"session_id\": \"%s\", \"around_message_id\": "
	    "%lld}", b, (long long)first);
	r = t_tool(f->s, "session.search", args);
	free(args);
	assert_false(json_is_true(json_object_get(r, "success")));
	json_decref(r);
	r = t_tool(f->s, "session.search", "{\"session_id\": \"nope\"}");
	assert_non_null(strstr(t_str(r, "error"), "not found"));
	json_decref(r);

	/* browse: recent sessions, newest first. */
	r = t_tool(f->s, "session.search", "{}");
	assert_string_equal(t_str(r, "mode"), "browse");
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 2);
	assert_string_equal(t_str(json_array_get(json_object_get(r,
	    "results"), 0), "preview"), "short");
	json_decref(r);
	xasprintf(&args, "{\"current_session_id\": \"%s\", \"limit\": 10}", b);
	r = t_tool(f->s, "session.search", args);
	free(args);
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 1);
	json_decref(r);
	free(a);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rank, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cjk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scroll_read_browse, setup,
		    teardown),
	};

	log_init("test_store_search", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
