/*
 * The FTS5 query sanitiser: whatever the user (or the model) types, the
 * sanitised query must never be an FTS5 syntax error, on either index
 * (unicode61 and trigram). Runs each output against a real FTS5 table,
 * then the whole discovery op (hermes_rank, IDF window, trigram
 * fallback) on a small real store, which must count no FTS error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "workers/store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static sqlite3 *db;
static sqlite3_stmt *q[2];
static struct store *st;
static char home[] = "/tmp/fuzz_store_fts.XXXXXX";

static void
cleanup(void)
{
	store_close(st);
	store_rmtree(home);
}

static void
store_init(void)
{
	static const char *const texts[] = {
		"docker compose up fails on the arm64 host",
		"chat-send P2.2 my-app.config.ts TODO: fix",
		"请帮我优化数据库索引的性能", "日本語のテキスト検索",
		"kernel kernel panic at boot", "the quick brown fox",
	};
	char err[256], *sid;
	json_t *a, *r;
	int64_t id;
	size_t i;

	if (mkdtemp(home) == NULL || (st = store_open(home, err,
	    sizeof(err))) == NULL)
		abort();
	atexit(cleanup);
	a = json_object();
	if ((r = store_session_create(st, a)) == NULL)
		abort();
	json_decref(a);
	sid = strdup(json_string_value(json_object_get(r, "session_id")));
	json_decref(r);
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		a = json_pack("{s:s,s:s,s:s}", "session_id", sid, "role",
		    i % 2 ? "assistant" : "user", "content", texts[i]);
		if (store_session_append(st, a, &id) < 0)
			abort();
		json_decref(a);
	}
	free(sid);
}

static void
init(void)
{
	static const char *const sql[] = {
		"SELECT rowid FROM f WHERE f MATCH ?1 ORDER BY rank LIMIT 5",
		"SELECT rowid FROM t WHERE t MATCH ?1 LIMIT 5",
	};
	int i;

	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    sqlite3_exec(db, "CREATE VIRTUAL TABLE f USING fts5(content);"
	    "CREATE VIRTUAL TABLE t USING fts5(content, tokenize='trigram');"
	    "INSERT INTO f VALUES ('docker compose up on arm64'),"
	    " ('chat-send P2.2 my-app.config.ts'), ('数据库索引 テキスト');"
	    "INSERT INTO t SELECT content FROM f;", NULL, NULL, NULL) !=
	    SQLITE_OK)
		abort();
	for (i = 0; i < 2; i++)
		if (sqlite3_prepare_v2(db, sql[i], -1, &q[i], NULL) != SQLITE_OK)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in, *out;
	int i, rc;

	if (db == NULL) {
		init();
		store_init();
	}
	if (size > 4096)
		return 0;
	in = malloc(size + 1);
	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	out = store_fts_sanitize(in);
	(void)store_has_cjk(out);
	if (out[0] != '\0') {
		for (i = 0; i < 2; i++) {
			sqlite3_reset(q[i]);
			sqlite3_bind_text(q[i], 1, out, -1, SQLITE_TRANSIENT);
			while ((rc = sqlite3_step(q[i])) == SQLITE_ROW)
				;
			if (rc != SQLITE_DONE) {
				fprintf(stderr, "input [%s] -> [%s]: %s\n", in,
				    out, sqlite3_errmsg(db));
				abort();
			}
		}
	}
	free(out);
	{
		json_t *args = json_object(), *v = json_string(in);
		char *text;

		if (v != NULL) {	/* valid UTF-8 only, as JSON brings */
			json_object_set_new(args, "query", v);
			text = store_session_search(st, args);
			if (text == NULL || st->fts_errors != 0) {
				fprintf(stderr, "discovery [%s] failed\n", in);
				abort();
			}
			free(text);
		}
		json_decref(args);
	}
	free(in);
	return 0;
}
