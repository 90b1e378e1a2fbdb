/*
 * state.db: open, schema (Hermes's, version 21), forward migration,
 * prepared statements, transactions, repair.
 *
 * The schema is Hermes's hermes_state.py layout so a user's existing
 * state.db keeps working. Migration is declarative like Hermes's: every
 * table and index is created if missing, every missing column of
 * sessions/messages is added, and FTS tables created late are back-filled
 * from messages. A version newer than ours is refused before anything is
 * written.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ipc/util.h"
#include "workers/store/store.h"

/* Columns of the two tables that grew over Hermes's versions. */
struct column {
	const char	*table;
	const char	*name;
	const char	*decl;
};

static const struct column columns[] = {
	{ "sessions", "id", "TEXT PRIMARY KEY" },
	{ "sessions", "source", "TEXT NOT NULL" },
	{ "sessions", "user_id", "TEXT" },
	{ "sessions", "session_key", "TEXT" },
	{ "sessions", "chat_id", "TEXT" },
	{ "sessions", "chat_type", "TEXT" },
	{ "sessions", "thread_id", "TEXT" },
	{ "sessions", "display_name", "TEXT" },
	{ "sessions", "origin_json", "TEXT" },
	{ "sessions", "expiry_finalized", "INTEGER DEFAULT 0" },
	{ "sessions", "model", "TEXT" },
	{ "sessions", "model_config", "TEXT" },
	{ "sessions", "system_prompt", "TEXT" },
	{ "sessions", "parent_session_id", "TEXT" },
	{ "sessions", "started_at", "REAL NOT NULL" },
	{ "sessions", "ended_at", "REAL" },
	{ "sessions", "end_reason", "TEXT" },
	{ "sessions", "message_count", "INTEGER DEFAULT 0" },
	{ "sessions", "tool_call_count", "INTEGER DEFAULT 0" },
	{ "sessions", "input_tokens", "INTEGER DEFAULT 0" },
	{ "sessions", "output_tokens", "INTEGER DEFAULT 0" },
	{ "sessions", "cache_read_tokens", "INTEGER DEFAULT 0" },
	{ "sessions", "cache_write_tokens", "INTEGER DEFAULT 0" },
	{ "sessions", "reasoning_tokens", "INTEGER DEFAULT 0" },
	{ "sessions", "cwd", "TEXT" },
	{ "sessions", "git_branch", "TEXT" },
	{ "sessions", "git_repo_root", "TEXT" },
	{ "sessions", "billing_provider", "TEXT" },
	{ "sessions", "billing_base_url", "TEXT" },
	{ "sessions", "billing_mode", "TEXT" },
	{ "sessions", "estimated_cost_usd", "REAL" },
	{ "sessions", "actual_cost_usd", "REAL" },
	{ "sessions", "cost_status", "TEXT" },
	{ "sessions", "cost_source", "TEXT" },
	{ "sessions", "pricing_version", "TEXT" },
	{ "sessions", "title", "TEXT" },
	{ "sessions", "api_call_count", "INTEGER DEFAULT 0" },
	{ "sessions", "handoff_state", "TEXT" },
	{ "sessions", "handoff_platform", "TEXT" },
	{ "sessions", "handoff_error", "TEXT" },
	{ "sessions", "compression_failure_cooldown_until", "REAL" },
	{ "sessions", "compression_failure_error", "TEXT" },
	{ "sessions", "compression_fallback_streak",
	    "INTEGER NOT NULL DEFAULT 0" },
	{ "sessions", "rewind_count", "INTEGER NOT NULL DEFAULT 0" },
	{ "sessions", "archived", "INTEGER NOT NULL DEFAULT 0" },
	{ "messages", "id", "INTEGER PRIMARY KEY AUTOINCREMENT" },
	{ "messages", "session_id", "TEXT NOT NULL REFERENCES sessions(id)" },
	{ "messages", "role", "TEXT NOT NULL" },
	{ "messages", "content", "TEXT" },
	{ "messages", "tool_call_id", "TEXT" },
	{ "messages", "tool_calls", "TEXT" },
	{ "messages", "tool_name", "TEXT" },
	{ "messages", "effect_disposition", "TEXT" },
	{ "messages", "timestamp", "REAL NOT NULL" },
	{ "messages", "token_count", "INTEGER" },
	{ "messages", "finish_reason", "TEXT" },
	{ "messages", "reasoning", "TEXT" },
	{ "messages", "reasoning_content", "TEXT" },
	{ "messages", "reasoning_details", "TEXT" },
	{ "messages", "codex_reasoning_items", "TEXT" },
	{ "messages", "codex_message_items", "TEXT" },
	{ "messages", "platform_message_id", "TEXT" },
	{ "messages", "observed", "INTEGER DEFAULT 0" },
	{ "messages", "active", "INTEGER NOT NULL DEFAULT 1" },
	{ "messages", "compacted", "INTEGER NOT NULL DEFAULT 0" },
};

/* Tables other than sessions/messages, and the indexes. */
static const char schema_rest[] =
	"CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);\n"
	"CREATE TABLE IF NOT EXISTS session_model_usage ("
	" session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	" model TEXT NOT NULL,"
	" billing_provider TEXT NOT NULL DEFAULT '',"
	" billing_base_url TEXT NOT NULL DEFAULT '',"
	" billing_mode TEXT NOT NULL DEFAULT '',"
	" api_call_count INTEGER NOT NULL DEFAULT 0,"
	" input_tokens INTEGER NOT NULL DEFAULT 0,"
	" output_tokens INTEGER NOT NULL DEFAULT 0,"
	" cache_read_tokens INTEGER NOT NULL DEFAULT 0,"
	" cache_write_tokens INTEGER NOT NULL DEFAULT 0,"
	" reasoning_tokens INTEGER NOT NULL DEFAULT 0,"
	" estimated_cost_usd REAL NOT NULL DEFAULT 0,"
	" actual_cost_usd REAL NOT NULL DEFAULT 0,"
	" cost_status TEXT, cost_source TEXT, first_seen REAL, last_seen REAL,"
	" PRIMARY KEY (session_id, model, billing_provider, billing_base_url,"
	" billing_mode));\n"
	"CREATE TABLE IF NOT EXISTS state_meta (key TEXT PRIMARY KEY, value TEXT);\n"
	"CREATE TABLE IF NOT EXISTS gateway_routing ("
	" scope TEXT NOT NULL DEFAULT '', session_key TEXT NOT NULL,"
	" entry_json TEXT NOT NULL, updated_at REAL NOT NULL,"
	" PRIMARY KEY (scope, session_key));\n"
	"CREATE TABLE IF NOT EXISTS compression_locks ("
	" session_id TEXT PRIMARY KEY, holder TEXT NOT NULL,"
	" acquired_at REAL NOT NULL, expires_at REAL NOT NULL);\n"
	"CREATE TABLE IF NOT EXISTS async_delegations ("
	" delegation_id TEXT PRIMARY KEY, origin_session TEXT NOT NULL,"
	" origin_ui_session_id TEXT NOT NULL DEFAULT '', parent_session_id TEXT,"
	" state TEXT NOT NULL, dispatched_at REAL NOT NULL, completed_at REAL,"
	" updated_at REAL NOT NULL, event_json TEXT, result_json TEXT,"
	" delivery_state TEXT NOT NULL DEFAULT 'pending',"
	" delivery_attempts INTEGER NOT NULL DEFAULT 0, delivered_at REAL,"
	" owner_pid INTEGER, owner_started_at INTEGER, task_json TEXT,"
	" delivery_claim TEXT, delivery_claimed_at REAL);\n";

static const char schema_indexes[] =
	"CREATE INDEX IF NOT EXISTS idx_sessions_source ON sessions(source);\n"
	"CREATE INDEX IF NOT EXISTS idx_sessions_source_id ON sessions(source, id);\n"
	"CREATE INDEX IF NOT EXISTS idx_sessions_parent ON sessions(parent_session_id);\n"
	"CREATE INDEX IF NOT EXISTS idx_sessions_started ON sessions(started_at DESC);\n"
	"CREATE INDEX IF NOT EXISTS idx_messages_session ON messages(session_id, timestamp);\n"
	"CREATE INDEX IF NOT EXISTS idx_compression_locks_expires ON compression_locks(expires_at);\n"
	"CREATE INDEX IF NOT EXISTS idx_session_model_usage_session ON session_model_usage(session_id);\n"
	"CREATE INDEX IF NOT EXISTS idx_session_model_usage_model ON session_model_usage(model);\n"
	"CREATE INDEX IF NOT EXISTS idx_async_delegations_delivery"
	" ON async_delegations(delivery_state, completed_at);\n"
	"CREATE INDEX IF NOT EXISTS idx_messages_platform_msg_id"
	" ON messages(session_id, platform_message_id)"
	" WHERE platform_message_id IS NOT NULL;\n"
	"CREATE INDEX IF NOT EXISTS idx_messages_session_active"
	" ON messages(session_id, active, timestamp);\n"
	"CREATE INDEX IF NOT EXISTS idx_messages_active_null"
	" ON messages(active) WHERE active IS NULL;\n"
	"CREATE INDEX IF NOT EXISTS idx_sessions_session_key"
	" ON sessions(session_key, started_at DESC);\n"
	"CREATE INDEX IF NOT EXISTS idx_sessions_gateway_peer"
	" ON sessions(source, user_id, chat_id, chat_type, thread_id, started_at DESC);\n"
	"CREATE INDEX IF NOT EXISTS idx_sessions_handoff_state"
	" ON sessions(handoff_state, started_at);\n"
	"CREATE UNIQUE INDEX IF NOT EXISTS idx_sessions_title_unique"
	" ON sessions(title) WHERE title IS NOT NULL;\n"
	"UPDATE messages SET active = 1 WHERE active IS NULL;\n";

/* The text indexed for a message row (same expression as Hermes). */
#define FTS_TEXT(r) "COALESCE(" r ".content, '') || ' ' || COALESCE(" r \
	".tool_name, '') || ' ' || COALESCE(" r ".tool_calls, '')"

struct fts_def {
	const char	*table;
	const char	*create;
	const char	*triggers;
	const char	*backfill;
};

static const struct fts_def fts_defs[] = {
	{ "messages_fts",
	  "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(content);",
	  "CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN"
	  " INSERT INTO messages_fts(rowid, content) VALUES (new.id, " FTS_TEXT("new") "); END;\n"
	  "CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN"
	  " DELETE FROM messages_fts WHERE rowid = old.id; END;\n"
	  "CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE ON messages BEGIN"
	  " DELETE FROM messages_fts WHERE rowid = old.id;"
	  " INSERT INTO messages_fts(rowid, content) VALUES (new.id, " FTS_TEXT("new") "); END;\n",
	  "INSERT INTO messages_fts(rowid, content) SELECT id, " FTS_TEXT("messages")
	  " FROM messages;" },
	{ "messages_fts_trigram",
	  "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts_trigram USING fts5(content,"
	  " tokenize='trigram');",
	  "CREATE TRIGGER IF NOT EXISTS messages_fts_trigram_insert AFTER INSERT ON messages BEGIN"
	  " INSERT INTO messages_fts_trigram(rowid, content) VALUES (new.id, " FTS_TEXT("new") "); END;\n"
	  "CREATE TRIGGER IF NOT EXISTS messages_fts_trigram_delete AFTER DELETE ON messages BEGIN"
	  " DELETE FROM messages_fts_trigram WHERE rowid = old.id; END;\n"
	  "CREATE TRIGGER IF NOT EXISTS messages_fts_trigram_update AFTER UPDATE ON messages BEGIN"
	  " DELETE FROM messages_fts_trigram WHERE rowid = old.id;"
	  " INSERT INTO messages_fts_trigram(rowid, content) VALUES (new.id, " FTS_TEXT("new") "); END;\n",
	  "INSERT INTO messages_fts_trigram(rowid, content) SELECT id, "
	  FTS_TEXT("messages") " FROM messages;" },
};

/* The prepared statement table. */
static const struct {
	enum store_stmt	 id;
	const char	*sql;
} stmts[] = {
	{ ST_BEGIN, "BEGIN IMMEDIATE" },
	{ ST_COMMIT, "COMMIT" },
	{ ST_ROLLBACK, "ROLLBACK" },
	{ ST_SESSION_INSERT,
	  "INSERT INTO sessions (id, source, user_id, session_key, chat_id,"
	  " chat_type, thread_id, model, model_config, system_prompt,"
	  " parent_session_id, started_at, cwd, title, message_count)"
	  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 0)" },
	{ ST_SESSION_GET, "SELECT * FROM sessions WHERE id = ?1" },
	{ ST_SESSION_COUNT,
	  "SELECT COALESCE(message_count, 0) FROM sessions WHERE id = ?1" },
	{ ST_SESSION_BUMP,
	  "UPDATE sessions SET message_count = COALESCE(message_count, 0) + 1,"
	  " tool_call_count = COALESCE(tool_call_count, 0) + ?2 WHERE id = ?1"
	  " RETURNING message_count" },
	{ ST_SESSION_END,
	  "UPDATE sessions SET ended_at = ?2, end_reason = ?3 WHERE id = ?1" },
	{ ST_SESSION_CHILD_TIP,
	  "SELECT c.id FROM sessions c JOIN sessions p ON p.id = c.parent_session_id"
	  " WHERE c.parent_session_id = ?1 AND p.end_reason = 'compression'"
	  " ORDER BY c.started_at DESC LIMIT 1" },
	{ ST_SESSION_PARENT,
	  "SELECT parent_session_id FROM sessions WHERE id = ?1" },
	{ ST_MSG_INSERT,
	  "INSERT INTO messages (session_id, role, content, tool_call_id,"
	  " tool_calls, tool_name, timestamp, token_count, finish_reason,"
	  " reasoning, reasoning_content, reasoning_details, active, compacted)"
	  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 1, 0)" },
	{ ST_MSG_LOAD,
	  "SELECT id, role, content, tool_calls, tool_call_id, tool_name,"
	  " reasoning, finish_reason, timestamp, reasoning_content,"
	  " reasoning_details FROM messages WHERE session_id = ?1 AND active = 1"
	  " ORDER BY timestamp, id" },
	{ ST_TITLE_OWNER, "SELECT id FROM sessions WHERE title = ?1" },
	{ ST_TITLE_SET, "UPDATE sessions SET title = ?2 WHERE id = ?1" },
	{ ST_ROUTE_GET,
	  "SELECT entry_json FROM gateway_routing WHERE scope = ?1 AND"
	  " session_key = ?2" },
	{ ST_ROUTE_SET,
	  "INSERT INTO gateway_routing (scope, session_key, entry_json, updated_at)"
	  " VALUES (?1, ?2, ?3, ?4) ON CONFLICT(scope, session_key) DO UPDATE SET"
	  " entry_json = excluded.entry_json, updated_at = excluded.updated_at" },
};

const char *store_last_code;

double
store_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
store_fail(struct store *s, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	s->code = code;
	return -1;
}

int
store_sqlerr(struct store *s, int rc, const char *what)
{
	const char *code;

	switch (rc & 0xff) {
	case SQLITE_FULL:
		code = "nospace";
		break;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		code = "corrupt";
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		code = "busy";
		break;
	case SQLITE_TOOBIG:
		code = "toolarge";
		break;
	case SQLITE_CONSTRAINT:
		code = "invalid";
		break;
	default:
		code = "io";
		break;
	}
	if ((rc & 0xff) == SQLITE_FULL)
		return store_fail(s, code, "%s: the disk is full (nothing was "
		    "written)", what);
	if (code[0] == 'c' && code[1] == 'o')
		return store_fail(s, code, "%s: state.db is corrupt (%s); run "
		    "`hermes sessions repair`", what, sqlite3_errstr(rc));
	return store_fail(s, code, "%s: %s", what, s->db != NULL ?
	    sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

static int
exec(struct store *s, const char *sql, const char *what)
{
	int rc;

	if ((rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL)) != SQLITE_OK)
		return store_sqlerr(s, rc, what);
	return 0;
}

/* 1 if a table exists, 0 if not, -1 on error. */
static int
table_exists(struct store *s, const char *name)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(s->db, "SELECT 1 FROM sqlite_master WHERE "
	    "name = ?1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_sqlerr(s, rc, "open state.db");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return store_sqlerr(s, rc, "open state.db");
}

int
store_schema_version(struct store *s)
{
	sqlite3_stmt *st;
	int rc, v = 0;

	if ((rc = table_exists(s, "schema_version")) <= 0)
		return rc;
	rc = sqlite3_prepare_v2(s->db, "SELECT version FROM schema_version "
	    "LIMIT 1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_sqlerr(s, rc, "read schema_version");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_sqlerr(s, rc, "read schema_version");
	return v;
}

static int
create_table(struct store *s, const char *table, const char *tail)
{
	char *sql, *p;
	size_t i;
	int rc;

	sql = xstrdup("");
	for (i = 0; i < nitems(columns); i++) {
		if (strcmp(columns[i].table, table) != 0)
			continue;
		xasprintf(&p, "%s%s%s %s", sql, sql[0] ? ", " : "",
		    columns[i].name, columns[i].decl);
		free(sql);
		sql = p;
	}
	xasprintf(&p, "CREATE TABLE IF NOT EXISTS %s (%s%s)", table, sql, tail);
	free(sql);
	rc = exec(s, p, "create schema");
	free(p);
	return rc;
}

/* Add the columns a table of an older version lacks. */
static int
reconcile(struct store *s, const char *table)
{
	sqlite3_stmt *st;
	char *sql, *decl, *q;
	size_t i;
	int rc, found;

	for (i = 0; i < nitems(columns); i++) {
		if (strcmp(columns[i].table, table) != 0)
			continue;
		xasprintf(&sql, "SELECT 1 FROM pragma_table_info('%s') WHERE "
		    "name = ?1", table);
		rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
		free(sql);
		if (rc != SQLITE_OK)
			return store_sqlerr(s, rc, "migrate schema");
		sqlite3_bind_text(st, 1, columns[i].name, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		found = rc == SQLITE_ROW;
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return store_sqlerr(s, rc, "migrate schema");
		if (found)
			continue;
		/* ADD COLUMN cannot add a key; NOT NULL needs a default. */
		decl = xstrdup(columns[i].decl);
		if (strstr(decl, "PRIMARY KEY") != NULL) {
			free(decl);
			return store_fail(s, "schema", "state.db table %s has no "
			    "%s key column; refusing to migrate it", table,
			    columns[i].name);
		}
		if ((q = strstr(decl, "NOT NULL")) != NULL &&
		    strstr(decl, "DEFAULT") == NULL)
			memcpy(q, "        ", 8);
		xasprintf(&sql, "ALTER TABLE %s ADD COLUMN %s %s", table,
		    columns[i].name, decl);
		free(decl);
		rc = exec(s, sql, "migrate schema");
		free(sql);
		if (rc == -1)
			return -1;
		log_info("state.db: added column %s.%s", table,
		    columns[i].name);
	}
	return 0;
}

static int
setup_fts(struct store *s)
{
	size_t i;
	int had, ok = 1;

	for (i = 0; i < nitems(fts_defs); i++) {
		if ((had = table_exists(s, fts_defs[i].table)) == -1)
			return -1;
		if (sqlite3_exec(s->db, fts_defs[i].create, NULL, NULL,
		    NULL) != SQLITE_OK) {
			/* No FTS5 or no trigram tokenizer in this SQLite. */
			log_warnx("state.db: %s unavailable: %s",
			    fts_defs[i].table, sqlite3_errmsg(s->db));
			if (i == 0)
				ok = 0;
			continue;
		}
		if (exec(s, fts_defs[i].triggers, "create FTS triggers") == -1)
			return -1;
		if (!had) {
			if (exec(s, fts_defs[i].backfill, "index messages") == -1)
				return -1;
		}
		if (i == 0)
			s->fts_ok = 1;
		else
			s->trigram_ok = 1;
	}
	if (!ok)
		s->fts_ok = 0;
	return 0;
}

static int
migrate(struct store *s, int version)
{
	char *sql;

	if (store_begin(s) == -1)
		return -1;
	if (exec(s, schema_rest, "create schema") == -1 ||
	    create_table(s, "sessions",
	    ", FOREIGN KEY (parent_session_id) REFERENCES sessions(id)") == -1 ||
	    create_table(s, "messages", "") == -1 ||
	    reconcile(s, "sessions") == -1 || reconcile(s, "messages") == -1 ||
	    exec(s, schema_indexes, "create indexes") == -1 ||
	    setup_fts(s) == -1)
		goto fail;
	if (version == 0)
		xasprintf(&sql, "DELETE FROM schema_version; INSERT INTO "
		    "schema_version (version) VALUES (%d)", STORE_SCHEMA_VERSION);
	else
		xasprintf(&sql, "UPDATE schema_version SET version = %d",
		    STORE_SCHEMA_VERSION);
	if (exec(s, sql, "write schema_version") == -1) {
		free(sql);
		goto fail;
	}
	free(sql);
	if (store_commit(s) == -1)
		goto fail;
	if (version != 0 && version < STORE_SCHEMA_VERSION)
		log_info("state.db: migrated schema %d -> %d", version,
		    STORE_SCHEMA_VERSION);
	return 0;
 fail:
	store_rollback(s);
	return -1;
}

static int
prepare_all(struct store *s)
{
	size_t i;
	int rc;

	for (i = 0; i < nitems(stmts); i++) {
		rc = sqlite3_prepare_v3(s->db, stmts[i].sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[stmts[i].id], NULL);
		if (rc != SQLITE_OK)
			return store_sqlerr(s, rc, "prepare statements");
	}
	return 0;
}

struct store *
store_open(const char *home, char *err, size_t errlen)
{
	struct store *s;
	int rc, version;

	s = xcalloc(1, sizeof(*s));
	s->home = xstrdup(home);
	s->memory_limit = STORE_MEMORY_LIMIT;
	s->user_limit = STORE_USER_LIMIT;
	xasprintf(&s->dbpath, "%s/state.db", home);

	rc = sqlite3_open_v2(s->dbpath, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		store_sqlerr(s, rc, "open state.db");
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	/* Read the version before anything can write to the file. */
	if ((version = store_schema_version(s)) == -1)
		goto fail;
	if (version > STORE_SCHEMA_VERSION) {
		store_fail(s, "schema", "%s has schema version %d, newer than "
		    "this hermes-store understands (%d); refusing to open it "
		    "(the file was not changed)", s->dbpath, version,
		    STORE_SCHEMA_VERSION);
		goto fail;
	}
	/* WAL unless the filesystem cannot do it (Hermes falls back too). */
	if (exec(s, "PRAGMA journal_mode=WAL", "open state.db") == -1 ||
	    exec(s, "PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY;"
	    " PRAGMA foreign_keys=OFF", "open state.db") == -1)
		goto fail;
	if (migrate(s, version) == -1)
		goto fail;
	if (prepare_all(s) == -1)
		goto fail;
	if (s->fts_ok && store_search_init(s) == -1)
		goto fail;
	return s;
 fail:
	strlcpy(err, s->err, errlen);
	store_last_code = s->code;
	store_close(s);
	return NULL;
}

struct store *
store_open_degraded(const char *home, const char *code, const char *err)
{
	struct store *s;

	s = xcalloc(1, sizeof(*s));
	s->home = xstrdup(home);
	s->memory_limit = STORE_MEMORY_LIMIT;
	s->user_limit = STORE_USER_LIMIT;
	xasprintf(&s->dbpath, "%s/state.db", home);
	s->open_err = xstrdup(err);
	s->open_code = code != NULL ? code : "io";
	return s;
}

void
store_configure(struct store *s, const char *config_json)
{
	json_t *cfg, *mem, *v;

	if (config_json == NULL ||
	    (cfg = json_loads(config_json, 0, NULL)) == NULL)
		return;
	mem = json_object_get(cfg, "memory");
	v = json_object_get(mem, "memory_char_limit");
	if (json_is_integer(v) && json_integer_value(v) > 0 &&
	    json_integer_value(v) < 1000000)
		s->memory_limit = (int)json_integer_value(v);
	v = json_object_get(mem, "user_char_limit");
	if (json_is_integer(v) && json_integer_value(v) > 0 &&
	    json_integer_value(v) < 1000000)
		s->user_limit = (int)json_integer_value(v);
	json_decref(cfg);
}

void
store_close(struct store *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < ST_MAX; i++)
		sqlite3_finalize(s->st[i]);
	if (s->db != NULL)
		sqlite3_close(s->db);
	free(s->home);
	free(s->dbpath);
	free(s->open_err);
	free(s);
}

sqlite3_stmt *
store_stmt(struct store *s, enum store_stmt id)
{
	sqlite3_stmt *st = s->st[id];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

static int
step_simple(struct store *s, enum store_stmt id, const char *what)
{
	sqlite3_stmt *st = store_stmt(s, id);
	int rc;

	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_sqlerr(s, rc, what);
	return 0;
}

int
store_begin(struct store *s)
{
	int i, rc = SQLITE_OK;

	/* busy_timeout covers 1 s; then retry with jitter like Hermes. */
	if (s->st[ST_BEGIN] == NULL)	/* during open, before prepare_all */
		return exec(s, "BEGIN IMMEDIATE", "begin");
	for (i = 0; i < 15; i++) {
		sqlite3_stmt *st = store_stmt(s, ST_BEGIN);

		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc == SQLITE_DONE)
			return 0;
		if ((rc & 0xff) != SQLITE_BUSY)
			break;
		usleep(20000 + (unsigned)(random() % 130000));
	}
	return store_sqlerr(s, rc, "begin");
}

int
store_commit(struct store *s)
{
	if (s->st[ST_COMMIT] == NULL)
		return exec(s, "COMMIT", "commit");
	return step_simple(s, ST_COMMIT, "commit");
}

void
store_rollback(struct store *s)
{
	if (sqlite3_get_autocommit(s->db))
		return;
	if (sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK)
		log_warnx("rollback: %s", sqlite3_errmsg(s->db));
}

void
store_after_write(struct store *s)
{
	int rc;

	if (++s->writes < STORE_CHECKPOINT_EVERY)
		return;
	s->writes = 0;
	rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	    NULL, NULL);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		log_warnx("checkpoint: %s", sqlite3_errmsg(s->db));
}

json_t *
store_repair(struct store *s)
{
	sqlite3_stmt *st;
	json_t *res;
	char *text = NULL, *p;
	size_t i;
	int rc;

	rc = sqlite3_prepare_v2(s->db, "PRAGMA integrity_check", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		store_sqlerr(s, rc, "integrity_check");
		return NULL;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *line = (const char *)sqlite3_column_text(st, 0);

		xasprintf(&p, "%s%s%s", text ? text : "", text ? "\n" : "",
		    line ? line : "");
		free(text);
		text = p;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(text);
		store_sqlerr(s, rc, "integrity_check");
		return NULL;
	}
	res = json_object();
	json_object_set_new(res, "integrity", json_string(text ? text : "?"));
	free(text);
	if (store_begin(s) == -1) {
		json_decref(res);
		return NULL;
	}
	for (i = 0; i < nitems(fts_defs); i++) {
		if ((i == 0 && !s->fts_ok) || (i == 1 && !s->trigram_ok))
			continue;
		/* Drop and rebuild: works even when the index is corrupt. */
		xasprintf(&p, "DROP TABLE IF EXISTS %s; %s %s %s INSERT INTO "
		    "%s(%s) VALUES('optimize');", fts_defs[i].table,
		    fts_defs[i].create, fts_defs[i].triggers,
		    fts_defs[i].backfill, fts_defs[i].table, fts_defs[i].table);
		rc = exec(s, p, "rebuild FTS");
		free(p);
		if (rc == -1) {
			store_rollback(s);
			json_decref(res);
			return NULL;
		}
	}
	if (store_commit(s) == -1) {
		store_rollback(s);
		json_decref(res);
		return NULL;
	}
	json_object_set_new(res, "fts_rebuilt", json_boolean(s->fts_ok));
	rc = sqlite3_prepare_v2(s->db, "SELECT count(*) FROM messages", -1, &st,
	    NULL);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		json_object_set_new(res, "messages",
		    json_integer(sqlite3_column_int64(st, 0)));
	sqlite3_finalize(st);
	return res;
}

int
store_arg_str(struct store *s, json_t *args, const char *key, int required,
    const char **out)
{
	json_t *v = json_object_get(args, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (required)
			return store_fail(s, "invalid", "missing argument %s",
			    key);
		return 0;
	}
	if (!json_is_string(v))
		return store_fail(s, "invalid", "argument %s must be a string",
		    key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return store_fail(s, "invalid", "argument %s contains NUL", key);
	*out = json_string_value(v);
	return 0;
}

int
store_arg_int(struct store *s, json_t *args, const char *key, int64_t def,
    int64_t *out)
{
	json_t *v = json_object_get(args, key);
	char *end;

	*out = def;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		*out = (int64_t)json_real_value(v);
		return 0;
	}
	if (json_is_string(v)) {	/* models send "5" */
		errno = 0;
		*out = strtoll(json_string_value(v), &end, 10);
		if (errno == 0 && end != json_string_value(v) && *end == '\0')
			return 0;
	}
	return store_fail(s, "invalid", "argument %s must be an integer", key);
}

int
store_arg_bool(struct store *s, json_t *args, const char *key, int def,
    int *out)
{
	json_t *v = json_object_get(args, key);

	*out = def;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	return store_fail(s, "invalid", "argument %s must be a boolean", key);
}

/* Length of a valid UTF-8 sequence at p, or 0. */
static size_t
utf8_seq(const unsigned char *p, size_t left)
{
	size_t n, i;
	uint32_t c;

	if (p[0] < 0x80)
		return p[0] != 0;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		c = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		c = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		c = p[0] & 0x07;
	} else
		return 0;
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) ||
	    (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

char *
store_tool_text(json_t *o)
{
	char *s = json_dumps(o, 0);

	json_decref(o);
	return s != NULL ? s : xstrdup("{\"success\": false}");
}

char *
store_tool_fail(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	json_t *o;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	o = json_object();
	json_object_set_new(o, "success", json_false());
	json_object_set_new(o, "error", store_json_text(buf, strlen(buf)));
	return store_tool_text(o);
}

json_t *
store_json_text(const char *p, size_t len)
{
	const unsigned char *u = (const unsigned char *)p;
	json_t *v;
	char *buf;
	size_t i, o, n;

	if (p == NULL)
		return json_null();
	/* JSON can carry NUL as an escape, but most readers refuse it. */
	if (memchr(p, '\0', len) == NULL && (v = json_stringn(p, len)) != NULL)
		return v;
	/* Invalid UTF-8 or NUL from an old row: replace, never fail. */
	buf = xmalloc(len * 3 + 1);
	for (i = o = 0; i < len; ) {
		if ((n = utf8_seq(u + i, len - i)) == 0) {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(buf + o, u + i, n);
		o += n;
		i += n;
	}
	v = json_stringn(buf, o);
	free(buf);
	return v != NULL ? v : json_string("");
}

json_t *
store_row_json(sqlite3_stmt *st)
{
	json_t *o = json_object();
	int i, n = sqlite3_column_count(st);

	for (i = 0; i < n; i++) {
		const char *name = sqlite3_column_name(st, i);
		json_t *v;

		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER:
			v = json_integer(sqlite3_column_int64(st, i));
			break;
		case SQLITE_FLOAT:
			v = json_real(sqlite3_column_double(st, i));
			break;
		case SQLITE_TEXT:
			v = store_json_text(
			    (const char *)sqlite3_column_text(st, i),
			    (size_t)sqlite3_column_bytes(st, i));
			break;
		case SQLITE_BLOB:	/* not ours; show its size */
			v = json_integer(sqlite3_column_bytes(st, i));
			break;
		default:
			v = json_null();
			break;
		}
		json_object_set_new(o, name, v);
	}
	return o;
}
