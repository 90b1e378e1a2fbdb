/*
 * Helpers shared by the store's unit tests: a private HERMES_HOME per
 * test, running ops through the op table, and reading tool JSON.
 */
#ifndef TEST_STORE_COMMON_H
#define TEST_STORE_COMMON_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "ipc/util.h"
#include "workers/store/store.h"

static inline char *
t_home(void)
{
	char *d = xstrdup("/tmp/hermes-store-test.XXXXXX");

	assert_non_null(mkdtemp(d));
	return d;
}

static inline void
t_rmhome(char *d)
{
	store_rmtree(d);
	free(d);
}

static inline struct store *
t_open(const char *home)
{
	char err[512];
	struct store *s = store_open(home, err, sizeof(err));

	if (s == NULL)
		fail_msg("store_open: %s", err);
	return s;
}

/* Run an op; returns the result (owned) or NULL; *res keeps the rest. */
static inline json_t *
t_call(struct store *s, const char *op, struct store_res *res,
    const char *fmt, ...)
{
	char *args;
	va_list ap;
	json_t *r;

	va_start(ap, fmt);
	if (vasprintf(&args, fmt, ap) == -1)
		fail_msg("vasprintf");
	va_end(ap);
	store_call(s, op, args, strlen(args), res);
	free(args);
	r = res->result;
	res->result = NULL;
	return r;
}

/* An op that must succeed. */
static inline json_t *
t_ok(struct store *s, const char *op, const char *args)
{
	struct store_res res;
	json_t *r = t_call(s, op, &res, "%s", args);

	if (!res.ok)
		fail_msg("%s %s: %s (%s)", op, args, res.error,
		    res.code ? res.code : "?");
	return r;
}

/* A tool-shaped op: parse the tool's text. */
static inline json_t *
t_tool(struct store *s, const char *op, const char *args)
{
	json_t *r = t_ok(s, op, args), *parsed;

	assert_true(json_is_string(r));
	parsed = json_loads(json_string_value(r), 0, NULL);
	if (parsed == NULL)
		fail_msg("%s: tool text is not JSON: %s", op,
		    json_string_value(r));
	json_decref(r);
	return parsed;
}

static inline const char *
t_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static inline int64_t
t_sql_int(const char *dbpath, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static inline char *
t_sql_text(const char *dbpath, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char *v = NULL;

	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v != NULL ? v : xstrdup("");
}

static inline void
t_exec(const char *dbpath, const char *sql)
{
	sqlite3 *db;
	char *err = NULL;

	assert_int_equal(sqlite3_open(dbpath, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s", err);
	sqlite3_close(db);
}

#endif
