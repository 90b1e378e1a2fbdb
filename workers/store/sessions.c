/*
 * Sessions and messages: create, append, load (the active messages of a
 * lineage's tip), end, titles with the "name #2" rule, list, export,
 * delete, prune, and the gateway's session_key routing table.
 */
#include <sys/random.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "ipc/util.h"
#include "workers/store/store.h"

#define LINEAGE_MAX_HOPS	256

static const char *const roles[] = { "system", "user", "assistant", "tool" };

int
store_session_id(char *buf, size_t len)
{
	struct tm tm;
	time_t t = time(NULL);
	unsigned char r[4];

	if (getentropy(r, sizeof(r)) == -1)
		return -1;
	if (localtime_r(&t, &tm) == NULL)
		return -1;
	if (snprintf(buf, len, "%04d%02d%02d_%02d%02d%02d_%02x%02x%02x%02x",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, r[0], r[1], r[2], r[3]) >= (int)len)
		return -1;
	return 0;
}

/* Session ids: Hermes's format, or anything tame a client chose. */
static int
id_ok(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 128)
		return 0;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_-.:@") == n;
}

static void
bind_opt(sqlite3_stmt *st, int idx, const char *v)
{
	if (v != NULL)
		sqlite3_bind_text(st, idx, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, idx);
}

json_t *
store_session_row(struct store *s, const char *id)
{
	sqlite3_stmt *st = store_stmt(s, ST_SESSION_GET);
	json_t *o = NULL;
	int rc;

	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		o = store_row_json(st);
	else if (rc != SQLITE_DONE)
		store_sqlerr(s, rc, "read session");
	else
		store_fail(s, "notfound", "session not found: %s", id);
	sqlite3_reset(st);
	return o;
}

int64_t
store_message_count(struct store *s, const char *id)
{
	sqlite3_stmt *st = store_stmt(s, ST_SESSION_COUNT);
	int64_t n = -1;
	int rc;

	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		store_fail(s, "notfound", "session not found: %s", id);
	else
		store_sqlerr(s, rc, "read session");
	sqlite3_reset(st);
	return n;
}

/* Whether a title is held by a session other than `id`. */
static int
title_owner(struct store *s, const char *title, char *owner, size_t len)
{
	sqlite3_stmt *st = store_stmt(s, ST_TITLE_OWNER);
	int rc, found = 0;

	sqlite3_bind_text(st, 1, title, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		strlcpy(owner, (const char *)sqlite3_column_text(st, 0), len);
		found = 1;
	} else if (rc != SQLITE_DONE)
		found = store_sqlerr(s, rc, "read title");
	sqlite3_reset(st);
	return found;
}

/* Trim and check a title; returns a copy or NULL with an error. */
static char *
title_clean(struct store *s, const char *in)
{
	const char *e;
	char *t;
	size_t n;

	while (*in == ' ' || *in == '\t')
		in++;
	e = in + strlen(in);
	while (e > in && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	n = (size_t)(e - in);
	if (store_utf8_len(in, n) > STORE_MAX_TITLE) {
		store_fail(s, "invalid", "title is longer than %d characters",
		    STORE_MAX_TITLE);
		return NULL;
	}
	t = xstrndup(in, n);
	for (e = t; *e != '\0'; e++) {
		if ((unsigned char)*e < 0x20 || *e == 0x7f) {
			free(t);
			store_fail(s, "invalid", "title contains control "
			    "characters");
			return NULL;
		}
	}
	return t;
}

char *
store_next_title(struct store *s, const char *title)
{
	sqlite3_stmt *st;
	char *base, *like, *hi, *p, *res;
	long max = 0, n;
	size_t len;
	int rc;

	base = xstrdup(title);
	/* Strip an existing " #N". */
	if ((p = strrchr(base, '#')) != NULL && p > base + 1 && p[-1] == ' ' &&
	    p[1] != '\0' && strspn(p + 1, "0123456789") == strlen(p + 1))
		p[-1] = '\0';
	/* "base #..." sorts between "base #" and "base $": the index. */
	len = strlen(base);
	xasprintf(&like, "%s #", base);
	xasprintf(&hi, "%s $", base);
	rc = sqlite3_prepare_v2(s->db, "SELECT title FROM sessions WHERE "
	    "title = ?1 UNION ALL SELECT title FROM sessions WHERE title >= ?2 "
	    "AND title < ?3", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		free(base);
		free(like);
		free(hi);
		store_sqlerr(s, rc, "title");
		return NULL;
	}
	sqlite3_bind_text(st, 1, base, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, hi, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, like, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);

		if (t == NULL)
			continue;
		if (strcmp(t, base) == 0) {
			if (max < 1)
				max = 1;	/* the unnumbered original: #1 */
			continue;
		}
		p = (char *)t + len + 2;	/* after "base #" */
		if (*p == '\0' || strspn(p, "0123456789") != strlen(p))
			continue;
		if (max < 1)
			max = 1;
		if ((n = strtol(p, NULL, 10)) > max && n < 1000000)
			max = n;
	}
	sqlite3_finalize(st);
	free(like);
	free(hi);
	if (rc != SQLITE_DONE) {
		free(base);
		store_sqlerr(s, rc, "title");
		return NULL;
	}
	if (max == 0)
		return base;
	xasprintf(&res, "%s #%ld", base, max + 1);
	free(base);
	return res;
}

json_t *
store_session_create(struct store *s, json_t *args)
{
	static const char *const keys[] = { "source", "user_id", "session_key",
	    "chat_id", "chat_type", "thread_id", "model", "model_config",
	    "system_prompt", "parent_session_id", "cwd", "title", "id" };
	const char *v[nitems(keys)];
	char id[64], owner[160];
	char *title = NULL;
	json_t *parent = NULL, *res;
	sqlite3_stmt *st;
	double now = store_now();
	size_t i;
	int rc;

	for (i = 0; i < nitems(keys); i++)
		if (store_arg_str(s, args, keys[i], 0, &v[i]) == -1)
			return NULL;
	if (v[12] != NULL) {
		if (!id_ok(v[12])) {
			store_fail(s, "invalid", "invalid session id");
			return NULL;
		}
		strlcpy(id, v[12], sizeof(id));
	} else if (store_session_id(id, sizeof(id)) == -1) {
		store_fail(s, "io", "cannot make a session id");
		return NULL;
	}
	if (v[0] == NULL)
		v[0] = "cli";
	if (v[9] != NULL && (parent = store_session_row(s, v[9])) == NULL)
		return NULL;
	if (v[11] != NULL && v[11][0] != '\0') {
		if ((title = title_clean(s, v[11])) == NULL)
			goto fail;
	} else if (parent != NULL &&
	    json_is_string(json_object_get(parent, "title"))) {
		/* A continuation carries the lineage's title on: "name #2". */
		title = store_next_title(s, json_string_value(
		    json_object_get(parent, "title")));
		if (title == NULL)
			goto fail;
	}
	if (store_begin(s) == -1)
		goto fail;
	if (title != NULL && title[0] != '\0') {
		if ((rc = title_owner(s, title, owner, sizeof(owner))) != 0) {
			if (rc == 1)
				store_fail(s, "invalid", "Title '%s' is already "
				    "in use by session %s", title, owner);
			goto rollback;
		}
	}
	st = store_stmt(s, ST_SESSION_INSERT);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	bind_opt(st, 2, v[0]);
	for (i = 1; i <= 9; i++)
		bind_opt(st, (int)i + 2, v[i]);
	sqlite3_bind_double(st, 12, now);
	bind_opt(st, 13, v[10]);
	bind_opt(st, 14, title != NULL && title[0] != '\0' ? title : NULL);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		if ((rc & 0xff) == SQLITE_CONSTRAINT)
			store_fail(s, "invalid", "session %s already exists",
			    id);
		else
			store_sqlerr(s, rc, "create session");
		goto rollback;
	}
	if (store_commit(s) == -1)
		goto rollback;
	store_after_write(s);
	res = json_object();
	json_object_set_new(res, "session_id", json_string(id));
	json_object_set_new(res, "started_at", json_real(now));
	json_object_set_new(res, "title", title != NULL && title[0] != '\0' ?
	    json_string(title) : json_null());
	free(title);
	json_decref(parent);
	return res;
 rollback:
	store_rollback(s);
 fail:
	free(title);
	json_decref(parent);
	return NULL;
}

/* A JSON field stored as text: arrays/objects are serialised. */
static char *
json_field_text(struct store *s, json_t *args, const char *key, int *bad)
{
	json_t *v = json_object_get(args, key);
	json_t *parsed;

	*bad = 0;
	if (v == NULL || json_is_null(v))
		return NULL;
	if (json_is_string(v)) {
		/* Already JSON text (Hermes stores tool_calls that way). */
		parsed = json_loads(json_string_value(v), JSON_DECODE_ANY, NULL);
		if (parsed == NULL) {
			*bad = store_fail(s, "invalid", "%s is not valid JSON",
			    key);
			return NULL;
		}
		json_decref(parsed);
		return xstrdup(json_string_value(v));
	}
	if (json_is_array(v) || json_is_object(v))
		return json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII * 0);
	*bad = store_fail(s, "invalid", "%s must be an array or JSON text", key);
	return NULL;
}

int64_t
store_session_append(struct store *s, json_t *args, int64_t *msgid)
{
	static const char *const text_keys[] = { "tool_call_id", "tool_name",
	    "finish_reason", "reasoning", "reasoning_content" };
	const char *sid, *role, *tv[nitems(text_keys)];
	char *content = NULL, *tool_calls = NULL, *rdetails = NULL;
	json_t *cv;
	sqlite3_stmt *st;
	size_t i, total = 0;
	int64_t tokens, count = -1;
	double ts;
	int rc, bad, ok_role = 0;

	if (store_arg_str(s, args, "session_id", 1, &sid) == -1 ||
	    store_arg_str(s, args, "role", 1, &role) == -1 ||
	    store_arg_int(s, args, "token_count", -1, &tokens) == -1)
		return -1;
	for (i = 0; i < nitems(roles); i++)
		ok_role |= strcmp(role, roles[i]) == 0;
	if (!ok_role)
		return store_fail(s, "invalid", "invalid message role '%s'",
		    role);
	for (i = 0; i < nitems(text_keys); i++) {
		if (store_arg_str(s, args, text_keys[i], 0, &tv[i]) == -1)
			return -1;
		total += tv[i] != NULL ? strlen(tv[i]) : 0;
	}
	ts = store_now();
	if ((cv = json_object_get(args, "timestamp")) != NULL &&
	    json_is_number(cv))
		ts = json_number_value(cv);
	cv = json_object_get(args, "content");
	if (cv != NULL && json_is_string(cv)) {
		if (strlen(json_string_value(cv)) != json_string_length(cv))
			return store_fail(s, "invalid", "content contains NUL");
		content = xstrdup(json_string_value(cv));
	} else if (cv != NULL && (json_is_array(cv) || json_is_object(cv)))
		content = json_dumps(cv, JSON_COMPACT);	/* multimodal parts */
	else if (cv != NULL && !json_is_null(cv))
		return store_fail(s, "invalid", "content must be a string");
	if ((tool_calls = json_field_text(s, args, "tool_calls", &bad)) == NULL &&
	    bad)
		goto out;
	if ((rdetails = json_field_text(s, args, "reasoning_details", &bad)) ==
	    NULL && bad)
		goto out;
	total += content != NULL ? strlen(content) : 0;
	total += tool_calls != NULL ? strlen(tool_calls) : 0;
	total += rdetails != NULL ? strlen(rdetails) : 0;
	if (total > STORE_MAX_MESSAGE) {
		store_fail(s, "toolarge", "message is %zu bytes, more than the "
		    "%u allowed; it was not saved", total, STORE_MAX_MESSAGE);
		goto out;
	}
	if (store_begin(s) == -1)
		goto out;
	st = store_stmt(s, ST_MSG_INSERT);
	sqlite3_bind_text(st, 1, sid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, role, -1, SQLITE_TRANSIENT);
	bind_opt(st, 3, content);
	bind_opt(st, 4, tv[0]);
	bind_opt(st, 5, tool_calls);
	bind_opt(st, 6, tv[1]);
	sqlite3_bind_double(st, 7, ts);
	if (tokens >= 0)
		sqlite3_bind_int64(st, 8, tokens);
	bind_opt(st, 9, tv[2]);
	bind_opt(st, 10, tv[3]);
	bind_opt(st, 11, tv[4]);
	bind_opt(st, 12, rdetails);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_sqlerr(s, rc, "append message");
		goto rollback;
	}
	*msgid = sqlite3_last_insert_rowid(s->db);
	st = store_stmt(s, ST_SESSION_BUMP);
	sqlite3_bind_text(st, 1, sid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, tool_calls != NULL ? 1 : 0);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		count = sqlite3_column_int64(st, 0);
	else if (rc == SQLITE_DONE)
		store_fail(s, "notfound", "session not found: %s", sid);
	else
		store_sqlerr(s, rc, "append message");
	/* Step to the end so the RETURNING statement completes. */
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (count < 0)
		goto rollback;
	if (store_commit(s) == -1) {
		count = -1;
		goto rollback;
	}
	store_after_write(s);
	goto out;
 rollback:
	store_rollback(s);
 out:
	free(content);
	free(tool_calls);
	free(rdetails);
	return count;
}

char *
store_lineage_tip(struct store *s, const char *id)
{
	char *cur = xstrdup(id);
	int hops, rc;

	for (hops = 0; hops < LINEAGE_MAX_HOPS; hops++) {
		sqlite3_stmt *st = store_stmt(s, ST_SESSION_CHILD_TIP);

		sqlite3_bind_text(st, 1, cur, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW) {
			sqlite3_reset(st);
			break;
		}
		free(cur);
		cur = xstrdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_reset(st);
	}
	return cur;
}

char *
store_lineage_root(struct store *s, const char *id)
{
	char *cur = xstrdup(id);
	int hops, rc;

	for (hops = 0; hops < LINEAGE_MAX_HOPS; hops++) {
		sqlite3_stmt *st = store_stmt(s, ST_SESSION_PARENT);
		const char *p;

		sqlite3_bind_text(st, 1, cur, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(st);
		p = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) :
		    NULL;
		if (p == NULL || strcmp(p, cur) == 0) {
			sqlite3_reset(st);
			break;
		}
		free(cur);
		cur = xstrdup(p);
		sqlite3_reset(st);
	}
	return cur;
}

/* One loaded message, with tool_calls parsed back into JSON. */
static json_t *
load_row(sqlite3_stmt *st)
{
	json_t *m = store_row_json(st), *tc, *parsed;
	const char *keys[] = { "tool_calls", "reasoning_details" };
	size_t i;

	for (i = 0; i < nitems(keys); i++) {
		tc = json_object_get(m, keys[i]);
		if (tc == NULL || !json_is_string(tc))
			continue;
		parsed = json_loads(json_string_value(tc), JSON_DECODE_ANY,
		    NULL);
		if (parsed != NULL)
			json_object_set_new(m, keys[i], parsed);
	}
	return m;
}

json_t *
store_session_load(struct store *s, json_t *args, uint64_t *count)
{
	static const char *const copy[] = { "title", "model", "source",
	    "system_prompt", "parent_session_id", "started_at", "ended_at",
	    "end_reason" };
	const char *sid;
	char *tip;
	json_t *row, *res, *msgs;
	sqlite3_stmt *st;
	size_t i;
	int rc;

	if (store_arg_str(s, args, "session_id", 1, &sid) == -1)
		return NULL;
	if ((row = store_session_row(s, sid)) == NULL)
		return NULL;
	tip = store_lineage_tip(s, sid);
	if (strcmp(tip, sid) != 0) {
		json_decref(row);
		if ((row = store_session_row(s, tip)) == NULL) {
			free(tip);
			return NULL;
		}
	}
	res = json_object();
	json_object_set_new(res, "session_id", json_string(tip));
	for (i = 0; i < nitems(copy); i++) {
		json_t *v = json_object_get(row, copy[i]);

		json_object_set(res, copy[i], v != NULL ? v : json_null());
	}
	*count = (uint64_t)json_integer_value(json_object_get(row,
	    "message_count"));
	json_decref(row);
	msgs = json_array();
	st = store_stmt(s, ST_MSG_LOAD);
	sqlite3_bind_text(st, 1, tip, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(msgs, load_row(st));
	sqlite3_reset(st);
	free(tip);
	if (rc != SQLITE_DONE) {
		store_sqlerr(s, rc, "load session");
		json_decref(msgs);
		json_decref(res);
		return NULL;
	}
	json_object_set_new(res, "messages", msgs);
	return res;
}

int
store_session_end(struct store *s, json_t *args)
{
	const char *sid, *reason;
	sqlite3_stmt *st;
	int rc;

	if (store_arg_str(s, args, "session_id", 1, &sid) == -1 ||
	    store_arg_str(s, args, "reason", 0, &reason) == -1)
		return -1;
	if (store_begin(s) == -1)
		return -1;
	st = store_stmt(s, ST_SESSION_END);
	sqlite3_bind_text(st, 1, sid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(st, 2, store_now());
	bind_opt(st, 3, reason != NULL ? reason : "user_exit");
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_sqlerr(s, rc, "end session");
		goto fail;
	}
	if (sqlite3_changes(s->db) == 0) {
		store_fail(s, "notfound", "session not found: %s", sid);
		goto fail;
	}
	if (store_commit(s) == -1)
		goto fail;
	store_after_write(s);
	return 0;
 fail:
	store_rollback(s);
	return -1;
}

json_t *
store_session_title(struct store *s, json_t *args)
{
	const char *sid, *in;
	char owner[160], *title;
	sqlite3_stmt *st;
	json_t *res;
	int rc;

	if (store_arg_str(s, args, "session_id", 1, &sid) == -1 ||
	    store_arg_str(s, args, "title", 0, &in) == -1)
		return NULL;
	if ((title = title_clean(s, in != NULL ? in : "")) == NULL)
		return NULL;
	if (store_begin(s) == -1) {
		free(title);
		return NULL;
	}
	if (title[0] != '\0' &&
	    (rc = title_owner(s, title, owner, sizeof(owner))) != 0) {
		if (rc == 1 && strcmp(owner, sid) != 0)
			store_fail(s, "invalid", "Title '%s' is already in use "
			    "by session %s", title, owner);
		else if (rc == 1)
			goto done;	/* already this session's */
		goto fail;
	}
	st = store_stmt(s, ST_TITLE_SET);
	sqlite3_bind_text(st, 1, sid, -1, SQLITE_TRANSIENT);
	bind_opt(st, 2, title[0] != '\0' ? title : NULL);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_sqlerr(s, rc, "set title");
		goto fail;
	}
	if (sqlite3_changes(s->db) == 0) {
		store_fail(s, "notfound", "session not found: %s", sid);
		goto fail;
	}
 done:
	if (store_commit(s) == -1)
		goto fail;
	store_after_write(s);
	res = json_object();
	json_object_set_new(res, "title", title[0] ? json_string(title) :
	    json_null());
	free(title);
	return res;
 fail:
	store_rollback(s);
	free(title);
	return NULL;
}

static json_t *
one_row(struct store *s, const char *sql, const char *a, const char *b)
{
	sqlite3_stmt *st;
	json_t *o = NULL;
	int rc;

	if ((rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) != SQLITE_OK) {
		store_sqlerr(s, rc, "query");
		return NULL;
	}
	if (a != NULL)
		sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
	if (b != NULL)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		o = store_row_json(st);
	else if (rc == SQLITE_DONE)
		store_fail(s, "notfound", "no such session");
	else
		store_sqlerr(s, rc, "query");
	sqlite3_finalize(st);
	return o;
}

/* The newest session titled lo<digits> ("name #N"); NULL if none. */
static json_t *
title_variant(struct store *s, const char *lo, const char *hi)
{
	sqlite3_stmt *st;
	json_t *o = NULL;
	size_t len = strlen(lo);
	int rc;

	s->code = NULL;
	rc = sqlite3_prepare_v2(s->db, "SELECT * FROM sessions WHERE title >= "
	    "?1 AND title < ?2 ORDER BY started_at DESC", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		store_sqlerr(s, rc, "title");
		return NULL;
	}
	sqlite3_bind_text(st, 1, lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hi, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = NULL;
		int i;

		for (i = 0; i < sqlite3_column_count(st); i++)
			if (strcmp(sqlite3_column_name(st, i), "title") == 0)
				t = (const char *)sqlite3_column_text(st, i);
		if (t != NULL && strlen(t) > len &&
		    strspn(t + len, "0123456789") == strlen(t + len)) {
			o = store_row_json(st);
			break;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		store_sqlerr(s, rc, "title");
	sqlite3_finalize(st);
	return o;
}

json_t *
store_session_get(struct store *s, json_t *args)
{
	const char *sid, *title, *source;
	char *like, *hi;
	json_t *o;
	int latest;

	if (store_arg_str(s, args, "session_id", 0, &sid) == -1 ||
	    store_arg_str(s, args, "title", 0, &title) == -1 ||
	    store_arg_str(s, args, "source", 0, &source) == -1 ||
	    store_arg_bool(s, args, "latest", 0, &latest) == -1)
		return NULL;
	if (sid != NULL)
		return store_session_row(s, sid);
	if (title != NULL) {
		/* The newest numbered variant wins, else the exact title
		 * (range scans of the title index, never LIKE). */
		xasprintf(&like, "%s #", title);
		xasprintf(&hi, "%s $", title);
		o = title_variant(s, like, hi);
		free(like);
		free(hi);
		if (o == NULL && s->code == NULL)
			o = one_row(s, "SELECT * FROM sessions WHERE title = ?1",
			    title, NULL);
		if (o == NULL && s->code != NULL && strcmp(s->code,
		    "notfound") == 0)
			store_fail(s, "notfound", "no session titled '%s'",
			    title);
		return o;
	}
	if (latest) {
		if (source != NULL)
			return one_row(s, "SELECT * FROM sessions WHERE source "
			    "= ?1 ORDER BY started_at DESC LIMIT 1", source,
			    NULL);
		return one_row(s, "SELECT * FROM sessions WHERE source NOT IN "
		    "('subagent', 'tool') ORDER BY started_at DESC LIMIT 1",
		    NULL, NULL);
	}
	store_fail(s, "invalid", "session.get needs session_id, title or "
	    "latest");
	return NULL;
}

json_t *
store_session_list(struct store *s, json_t *args)
{
	const char *source;
	int64_t limit, offset, total = 0;
	int children, want_total = 1, rc;
	sqlite3_stmt *st;
	json_t *res, *arr;
	char *sql, *where;

	if (store_arg_str(s, args, "source", 0, &source) == -1 ||
	    store_arg_int(s, args, "limit", 20, &limit) == -1 ||
	    store_arg_int(s, args, "offset", 0, &offset) == -1 ||
	    store_arg_bool(s, args, "include_children", 0, &children) == -1 ||
	    store_arg_bool(s, args, "total", 1, &want_total) == -1)
		return NULL;
	if (limit < 1 || limit > 1000)
		limit = limit < 1 ? 1 : 1000;
	if (offset < 0)
		offset = 0;
	/* Unary + keeps the planner on idx_sessions_started (newest
	 * first, stop at the page) rather than the parent or source one. */
	xasprintf(&where, "%s %s", source != NULL ? "+s.source = ?1" :
	    "+s.source NOT IN ('subagent', 'tool')",
	    children ? "" : "AND +s.parent_session_id IS NULL");
	/* The total apart: a window count would evaluate the per-row
	 * subqueries below for every session (0.4 s at 20,000). */
	xasprintf(&sql, "SELECT count(*) FROM sessions s WHERE %s", where);
	rc = want_total ? sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) :
	    SQLITE_DONE;
	free(sql);
	if (rc == SQLITE_DONE)
		rc = SQLITE_OK;
	else if (rc == SQLITE_OK) {
		if (source != NULL)
			sqlite3_bind_text(st, 1, source, -1, SQLITE_TRANSIENT);
		if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			total = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		}
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_OK) {
		free(where);
		store_sqlerr(s, rc, "list sessions");
		return NULL;
	}
	xasprintf(&sql, "SELECT s.id, s.title, s.source, s.model, s.started_at,"
	    " s.ended_at, s.end_reason, s.message_count, s.parent_session_id,"
	    " COALESCE((SELECT max(timestamp) FROM messages m WHERE"
	    " m.session_id = s.id), s.started_at) AS last_active,"
	    " COALESCE((SELECT substr(replace(content, char(10), ' '), 1, 63)"
	    " FROM messages m WHERE m.session_id = s.id AND m.role = 'user'"
	    " ORDER BY m.id LIMIT 1), '') AS preview"
	    " FROM (SELECT * FROM sessions s WHERE %s"
	    " ORDER BY s.started_at DESC LIMIT %lld OFFSET %lld) s"
	    " ORDER BY s.started_at DESC", where, (long long)limit,
	    (long long)offset);
	free(where);
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	free(sql);
	if (rc != SQLITE_OK) {
		store_sqlerr(s, rc, "list sessions");
		return NULL;
	}
	if (source != NULL)
		sqlite3_bind_text(st, 1, source, -1, SQLITE_TRANSIENT);
	res = json_object();
	arr = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, store_row_json(st));
	sqlite3_finalize(st);
	json_object_set_new(res, "sessions", arr);
	if (want_total)
		json_object_set_new(res, "total", json_integer(total));
	if (rc != SQLITE_DONE) {
		json_decref(res);
		store_sqlerr(s, rc, "list sessions");
		return NULL;
	}
	return res;
}

/* Every message (active or not) of one session. */
static json_t *
all_messages(struct store *s, const char *sid)
{
	sqlite3_stmt *st;
	json_t *arr;
	int rc;

	rc = sqlite3_prepare_v2(s->db, "SELECT * FROM messages WHERE "
	    "session_id = ?1 ORDER BY timestamp, id", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		store_sqlerr(s, rc, "export");
		return NULL;
	}
	sqlite3_bind_text(st, 1, sid, -1, SQLITE_TRANSIENT);
	arr = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(arr, load_row(st));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		store_sqlerr(s, rc, "export");
		return NULL;
	}
	return arr;
}

struct strbuf {
	char	*p;
	size_t	 len, cap;
};

static void
sb_add(struct strbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xreallocarray(b->p, 1, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_str(struct strbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static int
export_one(struct store *s, const char *sid, int md, struct strbuf *b)
{
	json_t *row, *msgs, *m;
	const char *t;
	char *line;
	size_t i;

	if ((row = store_session_row(s, sid)) == NULL)
		return -1;
	if ((msgs = all_messages(s, sid)) == NULL) {
		json_decref(row);
		return -1;
	}
	if (!md) {
		json_object_set_new(row, "messages", msgs);
		line = json_dumps(row, JSON_COMPACT);
		sb_str(b, line);
		sb_str(b, "\n");
		free(line);
		json_decref(row);
		return 0;
	}
	t = json_string_value(json_object_get(row, "title"));
	xasprintf(&line, "# %s\n\n- Session: %s\n- Source: %s\n- Model: %s\n"
	    "- Messages: %zu\n\n", t != NULL ? t : sid, sid,
	    json_string_value(json_object_get(row, "source")) ?: "?",
	    json_string_value(json_object_get(row, "model")) ?: "?",
	    json_array_size(msgs));
	sb_str(b, line);
	free(line);
	json_array_foreach(msgs, i, m) {
		const char *role = json_string_value(json_object_get(m, "role"));
		const char *c = json_string_value(json_object_get(m, "content"));
		json_t *tc = json_object_get(m, "tool_calls");

		xasprintf(&line, "## %s%s%s\n\n", role ? role : "?",
		    json_is_string(json_object_get(m, "tool_name")) ? ": " : "",
		    json_string_value(json_object_get(m, "tool_name")) ?: "");
		sb_str(b, line);
		free(line);
		if (c != NULL) {
			sb_str(b, c);
			sb_str(b, "\n\n");
		}
		if (tc != NULL && !json_is_null(tc)) {
			char *d = json_dumps(tc, JSON_INDENT(2));

			sb_str(b, "```json\n");
			sb_str(b, d ? d : "");
			sb_str(b, "\n```\n\n");
			free(d);
		}
	}
	json_decref(msgs);
	json_decref(row);
	return 0;
}

json_t *
store_session_export(struct store *s, json_t *args)
{
	const char *sid, *format;
	struct strbuf b = { NULL, 0, 0 };
	sqlite3_stmt *st;
	json_t *res;
	int md, rc;

	if (store_arg_str(s, args, "session_id", 0, &sid) == -1 ||
	    store_arg_str(s, args, "format", 0, &format) == -1)
		return NULL;
	if (format == NULL)
		format = "jsonl";
	if (strcmp(format, "jsonl") != 0 && strcmp(format, "md") != 0) {
		store_fail(s, "invalid", "export format must be jsonl or md");
		return NULL;
	}
	md = format[0] == 'm';
	sb_str(&b, "");
	if (sid != NULL) {
		if (export_one(s, sid, md, &b) == -1)
			goto fail;
	} else {
		if (md) {
			store_fail(s, "invalid", "md export needs a session_id");
			goto fail;
		}
		rc = sqlite3_prepare_v2(s->db, "SELECT id FROM sessions ORDER "
		    "BY started_at", -1, &st, NULL);
		if (rc != SQLITE_OK) {
			store_sqlerr(s, rc, "export");
			goto fail;
		}
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (export_one(s, (const char *)sqlite3_column_text(st,
			    0), 0, &b) == -1 || b.len > STORE_EXPORT_MAX) {
				if (b.len > STORE_EXPORT_MAX)
					store_fail(s, "toolarge", "export is "
					    "larger than %u bytes; export "
					    "sessions one by one",
					    STORE_EXPORT_MAX);
				sqlite3_finalize(st);
				goto fail;
			}
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			store_sqlerr(s, rc, "export");
			goto fail;
		}
	}
	res = json_object();
	json_object_set_new(res, "text", json_stringn(b.p, b.len));
	free(b.p);
	return res;
 fail:
	free(b.p);
	return NULL;
}

static int
delete_one(struct store *s, const char *sid, int64_t *nmsgs)
{
	static const char *const sqls[] = {
		"DELETE FROM messages WHERE session_id = ?1",
		"UPDATE sessions SET parent_session_id = NULL WHERE "
		"parent_session_id = ?1",
		"DELETE FROM session_model_usage WHERE session_id = ?1",
		"DELETE FROM compression_locks WHERE session_id = ?1",
		"DELETE FROM sessions WHERE id = ?1",
	};
	sqlite3_stmt *st;
	size_t i;
	int rc;

	for (i = 0; i < nitems(sqls); i++) {
		rc = sqlite3_prepare_v2(s->db, sqls[i], -1, &st, NULL);
		if (rc != SQLITE_OK)
			return store_sqlerr(s, rc, "delete session");
		sqlite3_bind_text(st, 1, sid, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return store_sqlerr(s, rc, "delete session");
		if (i == 0 && nmsgs != NULL)
			*nmsgs = sqlite3_changes(s->db);
		if (i == nitems(sqls) - 1 && sqlite3_changes(s->db) == 0)
			return store_fail(s, "notfound", "session not found: %s",
			    sid);
	}
	return 0;
}

json_t *
store_session_delete(struct store *s, json_t *args)
{
	const char *sid;
	int64_t n = 0;
	json_t *res;

	if (store_arg_str(s, args, "session_id", 1, &sid) == -1)
		return NULL;
	if (store_begin(s) == -1)
		return NULL;
	if (delete_one(s, sid, &n) == -1 || store_commit(s) == -1) {
		store_rollback(s);
		return NULL;
	}
	store_after_write(s);
	res = json_object();
	json_object_set_new(res, "deleted", json_integer(n));
	return res;
}

json_t *
store_session_prune(struct store *s, json_t *args)
{
	const char *source;
	int64_t days, n = 0;
	sqlite3_stmt *st;
	json_t *ids, *v, *res;
	size_t i;
	int rc;

	if (store_arg_int(s, args, "older_than_days", -1, &days) == -1 ||
	    store_arg_str(s, args, "source", 0, &source) == -1)
		return NULL;
	if (days < 0) {
		store_fail(s, "invalid", "older_than_days is required");
		return NULL;
	}
	if (store_begin(s) == -1)
		return NULL;
	rc = sqlite3_prepare_v2(s->db, "SELECT id FROM sessions WHERE ended_at "
	    "IS NOT NULL AND started_at < ?1 AND (?2 IS NULL OR source = ?2)",
	    -1, &st, NULL);
	if (rc != SQLITE_OK) {
		store_sqlerr(s, rc, "prune");
		goto fail;
	}
	sqlite3_bind_double(st, 1, store_now() - (double)days * 86400.0);
	bind_opt(st, 2, source);
	ids = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(ids, json_string((const char *)
		    sqlite3_column_text(st, 0)));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(ids);
		store_sqlerr(s, rc, "prune");
		goto fail;
	}
	json_array_foreach(ids, i, v) {
		if (delete_one(s, json_string_value(v), NULL) == -1) {
			json_decref(ids);
			goto fail;
		}
		n++;
	}
	json_decref(ids);
	if (store_commit(s) == -1)
		goto fail;
	store_after_write(s);
	res = json_object();
	json_object_set_new(res, "deleted", json_integer(n));
	return res;
 fail:
	store_rollback(s);
	return NULL;
}

json_t *
store_session_route(struct store *s, json_t *args)
{
	const char *key, *scope, *sid;
	json_t *entry, *res, *e;
	sqlite3_stmt *st;
	char *text;
	int rc;

	if (store_arg_str(s, args, "session_key", 1, &key) == -1 ||
	    store_arg_str(s, args, "scope", 0, &scope) == -1 ||
	    store_arg_str(s, args, "session_id", 0, &sid) == -1)
		return NULL;
	if (scope == NULL)
		scope = "";
	res = json_object();
	if (sid == NULL) {
		st = store_stmt(s, ST_ROUTE_GET);
		sqlite3_bind_text(st, 1, scope, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			e = json_loads((const char *)sqlite3_column_text(st, 0),
			    0, NULL);
			if (e == NULL || !json_is_object(e)) {
				json_decref(e);
				e = json_object();
			}
			json_object_set(res, "session_id",
			    json_object_get(e, "session_id") ?: json_null());
			json_object_set_new(res, "entry", e);
		} else
			json_object_set_new(res, "session_id", json_null());
		sqlite3_reset(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			json_decref(res);
			store_sqlerr(s, rc, "route");
			return NULL;
		}
		return res;
	}
	entry = json_object_get(args, "entry");
	e = json_is_object(entry) ? json_deep_copy(entry) : json_object();
	json_object_set_new(e, "session_key", json_string(key));
	json_object_set_new(e, "session_id", json_string(sid));
	text = json_dumps(e, JSON_COMPACT);
	json_decref(e);
	if (store_begin(s) == -1) {
		free(text);
		json_decref(res);
		return NULL;
	}
	st = store_stmt(s, ST_ROUTE_SET);
	sqlite3_bind_text(st, 1, scope, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, text, -1, SQLITE_TRANSIENT);
	sqlite3_bind_double(st, 4, store_now());
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	free(text);
	if (rc != SQLITE_DONE || store_commit(s) == -1) {
		if (rc != SQLITE_DONE)
			store_sqlerr(s, rc, "route");
		store_rollback(s);
		json_decref(res);
		return NULL;
	}
	store_after_write(s);
	json_object_set_new(res, "session_id", json_string(sid));
	return res;
}
