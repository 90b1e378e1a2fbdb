/*
 * state.db: a database written with Hermes's own schema (built here from
 * its documented DDL, with sessions and messages) opens, is searched and
 * appended to; an older version is migrated; a newer one is refused and
 * left untouched; a corrupt file gets a clear error; ENOSPC writes
 * nothing partial; repair rebuilds the FTS indexes.
 */
#include <sys/mount.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>

#include "tests/unit/test_store_common.h"

/* Hermes's schema version 21 as hermes_state.py creates it. */
static const char hermes_v21[] =
	"CREATE TABLE schema_version (version INTEGER NOT NULL);"
	"CREATE TABLE sessions (id TEXT PRIMARY KEY, source TEXT NOT NULL,"
	" user_id TEXT, session_key TEXT, chat_id TEXT, chat_type TEXT,"
	" thread_id TEXT, display_name TEXT, origin_json TEXT,"
	" expiry_finalized INTEGER DEFAULT 0, model TEXT, model_config TEXT,"
	" system_prompt TEXT, parent_session_id TEXT, started_at REAL NOT NULL,"
	" ended_at REAL, end_reason TEXT, message_count INTEGER DEFAULT 0,"
	" tool_call_count INTEGER DEFAULT 0, input_tokens INTEGER DEFAULT 0,"
	" output_tokens INTEGER DEFAULT 0, cache_read_tokens INTEGER DEFAULT 0,"
	" cache_write_tokens INTEGER DEFAULT 0, reasoning_tokens INTEGER DEFAULT 0,"
	" cwd TEXT, git_branch TEXT, git_repo_root TEXT, billing_provider TEXT,"
	" billing_base_url TEXT, billing_mode TEXT, estimated_cost_usd REAL,"
	" actual_cost_usd REAL, cost_status TEXT, cost_source TEXT,"
	" pricing_version TEXT, title TEXT, api_call_count INTEGER DEFAULT 0,"
	" handoff_state TEXT, handoff_platform TEXT, handoff_error TEXT,"
	" compression_failure_cooldown_until REAL, compression_failure_error TEXT,"
	" compression_fallback_streak INTEGER NOT NULL DEFAULT 0,"
	" rewind_count INTEGER NOT NULL DEFAULT 0,"
	" archived INTEGER NOT NULL DEFAULT 0,"
	" FOREIGN KEY (parent_session_id) REFERENCES sessions(id));"
	"CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" session_id TEXT NOT NULL REFERENCES sessions(id), role TEXT NOT NULL,"
	" content TEXT, tool_call_id TEXT, tool_calls TEXT, tool_name TEXT,"
	" effect_disposition TEXT, timestamp REAL NOT NULL, token_count INTEGER,"
	" finish_reason TEXT, reasoning TEXT, reasoning_content TEXT,"
	" reasoning_details TEXT, codex_reasoning_items TEXT,"
	" codex_message_items TEXT, platform_message_id TEXT,"
	" observed INTEGER DEFAULT 0, active INTEGER NOT NULL DEFAULT 1,"
	" compacted INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE state_meta (key TEXT PRIMARY KEY, value TEXT);"
	"CREATE TABLE gateway_routing (scope TEXT NOT NULL DEFAULT '',"
	" session_key TEXT NOT NULL, entry_json TEXT NOT NULL,"
	" updated_at REAL NOT NULL, PRIMARY KEY (scope, session_key));"
	"CREATE INDEX idx_sessions_source ON sessions(source);"
	"CREATE INDEX idx_messages_session ON messages(session_id, timestamp);"
	"CREATE UNIQUE INDEX idx_sessions_title_unique ON sessions(title)"
	" WHERE title IS NOT NULL;"
	"CREATE VIRTUAL TABLE messages_fts USING fts5(content);"
	"CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN"
	" INSERT INTO messages_fts(rowid, content) VALUES (new.id,"
	" COALESCE(new.content, '') || ' ' || COALESCE(new.tool_name, '') ||"
	" ' ' || COALESCE(new.tool_calls, '')); END;"
	"CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN"
	" DELETE FROM messages_fts WHERE rowid = old.id; END;"
	"CREATE TRIGGER messages_fts_update AFTER UPDATE ON messages BEGIN"
	" DELETE FROM messages_fts WHERE rowid = old.id;"
	" INSERT INTO messages_fts(rowid, content) VALUES (new.id,"
	" COALESCE(new.content, '') || ' ' || COALESCE(new.tool_name, '') ||"
	" ' ' || COALESCE(new.tool_calls, '')); END;"
	"CREATE VIRTUAL TABLE messages_fts_trigram USING fts5(content,"
	" tokenize='trigram');"
	"CREATE TRIGGER messages_fts_trigram_insert AFTER INSERT ON messages BEGIN"
	" INSERT INTO messages_fts_trigram(rowid, content) VALUES (new.id,"
	" COALESCE(new.content, '') || ' ' || COALESCE(new.tool_name, '') ||"
	" ' ' || COALESCE(new.tool_calls, '')); END;"
	"CREATE TRIGGER messages_fts_trigram_delete AFTER DELETE ON messages BEGIN"
	" DELETE FROM messages_fts_trigram WHERE rowid = old.id; END;"
	"INSERT INTO schema_version VALUES (21);";

/* Rows as Hermes writes them: an OpenAI-shaped tool call and its result. */
static const char hermes_rows[] =
	"PRAGMA journal_mode=WAL;"
	"INSERT INTO sessions (id, source, model, system_prompt, started_at,"
	" message_count, tool_call_count, title) VALUES ('20260301_101500_a1b2c3d4',"
	" 'cli', 'anthropic/claude-sonnet-4', 'You are Hermes.', 1772360100.5, 4,"
	" 1, 'kubernetes migration');"
	"INSERT INTO messages (session_id, role, content, timestamp) VALUES"
	" ('20260301_101500_a1b2c3d4', 'user', 'How do I drain a kubernetes node"
	" before the upgrade?', 1772360101.0);"
	"INSERT INTO messages (session_id, role, content, tool_calls, timestamp,"
	" finish_reason) VALUES ('20260301_101500_a1b2c3d4', 'assistant', NULL,"
	" '[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":"
	"\"terminal\",\"arguments\":\"{\\\"command\\\":\\\"kubectl drain node-7\\\"}\"}}]',"
	" 1772360102.0, 'tool_calls');"
	"INSERT INTO messages (session_id, role, content, tool_call_id, tool_name,"
	" timestamp) VALUES ('20260301_101500_a1b2c3d4', 'tool', 'node/node-7"
	" drained', 'call_1', 'terminal', 1772360103.0);"
	"INSERT INTO messages (session_id, role, content, timestamp) VALUES"
	" ('20260301_101500_a1b2c3d4', 'assistant', 'The node is drained; you can"
	" upgrade it now.', 1772360104.0);"
	"INSERT INTO sessions (id, source, started_at, message_count) VALUES"
	" ('20260302_090000_deadbeef', 'telegram', 1772442000.0, 1);"
	"INSERT INTO messages (session_id, role, content, timestamp) VALUES"
	" ('20260302_090000_deadbeef', 'user', '我想学习数据库索引的原理', 1772442001.0);";

/* An old Hermes database (schema 6): fewer columns, no trigram index. */
static const char hermes_v6[] =
	"CREATE TABLE schema_version (version INTEGER NOT NULL);"
	"CREATE TABLE sessions (id TEXT PRIMARY KEY, source TEXT NOT NULL,"
	" user_id TEXT, model TEXT, model_config TEXT, system_prompt TEXT,"
	" parent_session_id TEXT, started_at REAL NOT NULL, ended_at REAL,"
	" end_reason TEXT, message_count INTEGER DEFAULT 0,"
	" tool_call_count INTEGER DEFAULT 0, input_tokens INTEGER DEFAULT 0,"
	" output_tokens INTEGER DEFAULT 0);"
	"CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" session_id TEXT NOT NULL REFERENCES sessions(id), role TEXT NOT NULL,"
	" content TEXT, tool_call_id TEXT, tool_calls TEXT, tool_name TEXT,"
	" timestamp REAL NOT NULL, token_count INTEGER, finish_reason TEXT);"
	"CREATE VIRTUAL TABLE messages_fts USING fts5(content);"
	"CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN"
	" INSERT INTO messages_fts(rowid, content) VALUES (new.id,"
	" COALESCE(new.content, '')); END;"
	"INSERT INTO schema_version VALUES (6);"
	"INSERT INTO sessions (id, source, started_at, message_count) VALUES"
	" ('20250101_120000_00000001', 'cli', 1735732800.0, 2);"
	"INSERT INTO messages (session_id, role, content, timestamp) VALUES"
	" ('20250101_120000_00000001', 'user', 'postgres vacuum schedule',"
	" 1735732801.0);"
	"INSERT INTO messages (session_id, role, content, timestamp) VALUES"
	" ('20250101_120000_00000001', 'assistant', '日本語のテキスト検索',"
	" 1735732802.0);";

static char *
dbpath(const char *home)
{
	char *p;

	xasprintf(&p, "%s/state.db", home);
	return p;
}

static void
test_hermes_fixture(void **state)
{
	char *home = t_home(), *db = dbpath(home);
	struct store *s;
	struct store_res res;
	json_t *r, *m;

	t_exec(db, hermes_v21);
	t_exec(db, hermes_rows);
	s = t_open(home);
	assert_int_equal(store_schema_version(s), 21);

	/* Searched: the unicode61 index Hermes filled. */
	r = t_tool(s, "session.search", "{\"query\": \"drain kubernetes\"}");
	assert_true(json_is_true(json_object_get(r, "success")));
	assert_string_equal(t_str(r, "mode"), "discover");
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 1);
	m = json_array_get(json_object_get(r, "results"), 0);
	assert_string_equal(t_str(m, "session_id"), "20260301_101500_a1b2c3d4");
	assert_string_equal(t_str(m, "title"), "kubernetes migration");
	assert_non_null(strstr(t_str(m, "snippet"), ">>>"));
	json_decref(r);
	/* The tool call JSON is indexed too. */
	r = t_tool(s, "session.search", "{\"query\": \"kubectl\", "
	    "\"role_filter\": \"assistant\"}");
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 1);
	json_decref(r);
	/* CJK goes through the trigram index Hermes filled. */
	r = t_tool(s, "session.search", "{\"query\": \"数据库索引\"}");
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 1);
	json_decref(r);

	/* Loaded: tool_calls come back as JSON, message_count as stored. */
	r = t_call(s, "session.load", &res,
	    "{\"session_id\": \"20260301_101500_a1b2c3d4\"}");
	assert_true(res.ok);
	assert_int_equal(res.message_count, 4);
	assert_string_equal(t_str(r, "system_prompt"), "You are Hermes.");
	m = json_array_get(json_object_get(r, "messages"), 1);
	assert_string_equal(t_str(json_object_get(json_array_get(
	    json_object_get(m, "tool_calls"), 0), "function"), "name"),
	    "terminal");
	json_decref(r);

	/* Appended to: count moves on and the new text is searchable. */
	r = t_call(s, "session.append", &res, "{\"session_id\": "
	    "\"20260301_101500_a1b2c3d4\", \"role\": \"user\", \"content\": "
	    "\"now cordon the etcd nodes\"}");
	assert_true(res.ok);
	assert_int_equal(res.message_count, 5);
	json_decref(r);
	r = t_tool(s, "session.search", "{\"query\": \"cordon etcd\"}");
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 1);
	json_decref(r);
	store_close(s);

	/* Nothing lost, and Hermes's FTS triggers saw our row too. */
	assert_int_equal(t_sql_int(db, "SELECT count(*) FROM messages"), 6);
	assert_int_equal(t_sql_int(db, "SELECT count(*) FROM messages_fts "
	    "WHERE messages_fts MATCH 'etcd'"), 1);
	assert_int_equal(t_sql_int(db, "SELECT version FROM schema_version"),
	    21);
	free(db);
	t_rmhome(home);
}

static void
test_migrate_old(void **state)
{
	char *home = t_home(), *db = dbpath(home);
	struct store *s;
	json_t *r;

	t_exec(db, hermes_v6);
	s = t_open(home);
	store_close(s);
	assert_int_equal(t_sql_int(db, "SELECT version FROM schema_version"),
	    STORE_SCHEMA_VERSION);
	assert_int_equal(t_sql_int(db, "SELECT count(*) FROM "
	    "pragma_table_info('messages') WHERE name IN ('active', "
	    "'compacted', 'reasoning')"), 3);
	assert_int_equal(t_sql_int(db, "SELECT count(*) FROM "
	    "pragma_table_info('sessions') WHERE name IN ('title', "
	    "'session_key', 'archived')"), 3);
	assert_int_equal(t_sql_int(db, "SELECT count(*) FROM messages WHERE "
	    "active = 1"), 2);
	/* The trigram index was created and back-filled. */
	s = t_open(home);
	r = t_tool(s, "session.search", "{\"query\": \"テキスト検索\"}");
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 1);
	json_decref(r);
	r = t_ok(s, "session.append", "{\"session_id\": "
	    "\"20250101_120000_00000001\", \"role\": \"user\", \"content\": "
	    "\"and autovacuum\"}");
	json_decref(r);
	store_close(s);
	assert_int_equal(t_sql_int(db, "SELECT message_count FROM sessions"), 3);
	free(db);
	t_rmhome(home);
}

static char *
slurp(const char *path, size_t *len)
{
	char *p = store_read_file(path, 1 << 26, len);

	assert_non_null(p);
	return p;
}

static void
test_newer_refused(void **state)
{
	char *home = t_home(), *db = dbpath(home), *before, *after, err[512];
	struct stat st;
	size_t l1, l2;

	t_exec(db, hermes_v21);
	t_exec(db, "UPDATE schema_version SET version = 99; "
	    "INSERT INTO sessions (id, source, started_at) VALUES "
	    "('x', 'cli', 1.0)");
	before = slurp(db, &l1);
	assert_null(store_open(home, err, sizeof(err)));
	assert_non_null(strstr(err, "newer"));
	assert_non_null(strstr(err, "99"));
	assert_string_equal(store_last_code, "schema");
	after = slurp(db, &l2);
	assert_int_equal(l1, l2);
	assert_memory_equal(before, after, l1);
	/* Not even switched to WAL. */
	{
		char *wal;

		xasprintf(&wal, "%s-wal", db);
		assert_int_equal(stat(wal, &st), -1);
		free(wal);
	}
	free(before);
	free(after);
	free(db);
	t_rmhome(home);
}

static void
test_corrupt(void **state)
{
	char *home = t_home(), *db = dbpath(home), err[512];
	static const char junk[] = "this is not an SQLite database, only text "
	    "that is long enough to have a header...........................";
	struct store *s;
	struct store_res res;
	json_t *r;

	assert_int_equal(store_write_atomic(db, junk, sizeof(junk), 0600), 0);
	assert_null(store_open(home, err, sizeof(err)));
	assert_string_equal(store_last_code, "corrupt");
	assert_non_null(strstr(err, "corrupt"));
	assert_non_null(strstr(err, "repair"));
	/* Degraded: sessions answer with that error, memory still works. */
	s = store_open_degraded(home, store_last_code, err);
	r = t_call(s, "session.list", &res, "{}");
	assert_null(r);
	assert_false(res.ok);
	assert_string_equal(res.code, "corrupt");
	r = t_tool(s, "memory", "{\"action\": \"add\", \"target\": \"user\", "
	    "\"content\": \"likes tea\"}");
	assert_true(json_is_true(json_object_get(r, "success")));
	json_decref(r);
	store_close(s);
	free(db);
	t_rmhome(home);
}

static void
test_repair(void **state)
{
	char *home = t_home(), *db = dbpath(home);
	struct store *s;
	json_t *r;

	t_exec(db, hermes_v21);
	t_exec(db, hermes_rows);
	/* An index out of step: a row written while a trigger was gone. */
	t_exec(db, "DROP TRIGGER messages_fts_insert; DROP TRIGGER "
	    "messages_fts_trigram_insert; INSERT INTO messages "
	    "(session_id, role, content, timestamp) VALUES "
	    "('20260302_090000_deadbeef', 'user', 'zeppelin airship', 5.0)");
	s = t_open(home);	/* recreates the trigger, keeps the gap */
	r = t_tool(s, "session.search", "{\"query\": \"zeppelin\"}");
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 0);
	json_decref(r);
	r = t_ok(s, "session.repair", "{}");
	assert_string_equal(t_str(r, "integrity"), "ok");
	assert_true(json_is_true(json_object_get(r, "fts_rebuilt")));
	assert_int_equal(json_integer_value(json_object_get(r, "messages")), 6);
	json_decref(r);
	r = t_tool(s, "session.search", "{\"query\": \"zeppelin\"}");
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 1);
	json_decref(r);
	store_close(s);
	free(db);
	t_rmhome(home);
}

/*
 * ENOSPC: a 1 MiB tmpfs as HERMES_HOME. Appends until the disk is full
 * must fail with "nospace", keep every acknowledged row, and work again
 * once space returns. Needs mount(2) (root); skipped otherwise.
 */
static char *enospc_home;

/* Unmount and remove even when an assertion left the test early. */
static int
enospc_teardown(void **state)
{
	if (enospc_home != NULL) {
		(void)umount2(enospc_home, MNT_DETACH);
		t_rmhome(enospc_home);
		enospc_home = NULL;
	}
	return 0;
}

static void
test_enospc(void **state)
{
	char *home = enospc_home = t_home(), *db, *ballast, *mem, content[8192];
	struct store_res res;
	struct store *s;
	json_t *r, *sess;
	int i, acked = 0, full = 0, fd;

	if (mount("tmpfs", home, "tmpfs", 0, "size=1m") == -1) {
		print_message("SKIP ENOSPC: mount tmpfs: %s (needs root)\n",
		    strerror(errno));
		skip();
	}
	db = dbpath(home);
	/* 192 KiB of ballast to give back later. */
	xasprintf(&ballast, "%s/ballast", home);
	fd = open(ballast, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	memset(content, 'b', sizeof(content));
	for (i = 0; i < 24; i++)
		assert_int_equal(write(fd, content, sizeof(content)),
		    (ssize_t)sizeof(content));
	close(fd);
	xasprintf(&mem, "%s/memories", home);
	assert_int_equal(store_mkdirs(mem, 0700), 0);
	s = t_open(home);
	sess = t_ok(s, "session.create", "{}");
	for (i = 0; i < (int)sizeof(content) - 1; i++)
		content[i] = (char)('a' + (i * 7 + i / 13) % 26);
	content[sizeof(content) - 1] = '\0';
	for (i = 0; i < 400 && !full; i++) {
		r = t_call(s, "session.append", &res, "{\"session_id\": \"%s\", "
		    "\"role\": \"user\", \"content\": \"n%d %s\"}",
		    t_str(sess, "session_id"), i, content);
		if (res.ok) {
			acked++;
			assert_int_equal(res.message_count, acked);
		} else {
			assert_string_equal(res.code, "nospace");
			assert_non_null(strstr(res.error, "full"));
			full = 1;
		}
		json_decref(r);
	}
	assert_true(full);
	assert_true(acked > 0);
	/* A memory write on the full disk: refused, old file intact. */
	r = t_call(s, "memory", &res, "{\"action\": \"add\", \"target\": "
	    "\"memory\", \"content\": \"%.*s\"}", 2000, content);
	if (res.ok)	/* the tiny write may still fit */
		json_decref(r);
	else
		assert_string_equal(res.code, "nospace");
	/* Space returns: the store keeps working without a restart. */
	assert_int_equal(unlink(ballast), 0);
	r = t_call(s, "session.append", &res, "{\"session_id\": \"%s\", "
	    "\"role\": \"user\", \"content\": \"after\"}",
	    t_str(sess, "session_id"));
	assert_true(res.ok);
	assert_int_equal(res.message_count, acked + 1);
	json_decref(r);
	store_close(s);
	{
		char *ic = t_sql_text(db, "PRAGMA integrity_check");

		assert_string_equal(ic, "ok");
		free(ic);
	}
	assert_int_equal(t_sql_int(db, "SELECT count(*) FROM messages"),
	    acked + 1);
	json_decref(sess);
	free(mem);
	free(ballast);
	free(db);
}

/* Rows another program wrote badly: invalid UTF-8, a blob, broken
 * tool_calls JSON, NULL active. Loaded and searched without failing. */
static void
test_malformed_rows(void **state)
{
	char *home = t_home(), *db = dbpath(home);
	struct store *s;
	struct store_res res;
	json_t *r, *m;
	char *text;

	t_exec(db, hermes_v21);
	t_exec(db, hermes_rows);
	t_exec(db, "INSERT INTO messages (session_id, role, content, timestamp)"
	    " VALUES ('20260302_090000_deadbeef', 'assistant', CAST(X'6F6B20FF"
	    "FE20766F6C63616E6F' AS TEXT), 2.0);"
	    "INSERT INTO messages (session_id, role, content, tool_calls, "
	    "timestamp) VALUES ('20260302_090000_deadbeef', 'assistant', "
	    "X'00010203', '[{broken', 3.0);");
	s = t_open(home);
	r = t_call(s, "session.load", &res,
	    "{\"session_id\": \"20260302_090000_deadbeef\"}");
	assert_true(res.ok);
	assert_int_equal(json_array_size(json_object_get(r, "messages")), 3);
	m = json_array_get(json_object_get(r, "messages"), 0);
	/* The bad bytes became U+FFFD; the text around them survived. */
	assert_non_null(strstr(t_str(m, "content"), "volcano"));
	m = json_array_get(json_object_get(r, "messages"), 1);
	assert_string_equal(t_str(m, "tool_calls"), "[{broken");
	text = json_dumps(r, 0);
	assert_non_null(text);
	free(text);
	json_decref(r);
	r = t_tool(s, "session.search", "{\"query\": \"volcano\"}");
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 1);
	json_decref(r);
	r = t_tool(s, "session.search",
	    "{\"session_id\": \"20260302_090000_deadbeef\"}");
	assert_true(json_is_true(json_object_get(r, "success")));
	json_decref(r);
	r = t_ok(s, "session.export", "{}");
	json_decref(r);
	store_close(s);
	free(db);
	t_rmhome(home);
}

static void
test_ids(void **state)
{
	char id[64];
	size_t i;

	assert_int_equal(store_session_id(id, sizeof(id)), 0);
	assert_int_equal(strlen(id), 24);
	for (i = 0; i < 24; i++) {
		if (i == 8 || i == 15)
			assert_int_equal(id[i], '_');
		else if (i < 15)
			assert_true(id[i] >= '0' && id[i] <= '9');
		else
			assert_non_null(strchr("0123456789abcdef", id[i]));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hermes_fixture),
		cmocka_unit_test(test_migrate_old),
		cmocka_unit_test(test_newer_refused),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_repair),
		cmocka_unit_test_teardown(test_enospc, enospc_teardown),
		cmocka_unit_test(test_malformed_rows),
		cmocka_unit_test(test_ids),
	};

	log_init("test_store_db", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
