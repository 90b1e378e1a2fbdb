/*
 * The FTS5 query sanitiser: whatever the user (or the model) types, the
 * sanitised query must never be an FTS5 syntax error, on either index
 * (unicode61 and trigram). Runs each output against a real FTS5 table.
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

	if (db == NULL)
		init();
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
	free(in);
	return 0;
}
