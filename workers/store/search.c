/*
 * session_search, the four shapes of Hermes's current tool: discovery
 * (FTS5 + lineage dedupe + bookends + a window around the match), scroll,
 * read and browse. No LLM.
 *
 * User text never reaches MATCH as syntax: the sanitiser quotes every
 * term ("term", "term"* for a prefix), keeps balanced "phrases", and keeps
 * AND/OR/NOT only between two operands. Ranking is bounded: bm25 orders
 * only the STORE_CANDIDATES most recent matches (perf.md 1d).
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "ipc/util.h"
#include "workers/store/store.h"

#define SEARCH_MAX_TERMS	32
#define WINDOW_DEFAULT		5
#define BOOKEND			3
#define READ_HEAD		20
#define READ_TAIL		10

static const char *const hidden_sources[] = { "subagent", "tool" };
static const char *const demoted_sources[] = { "cron" };

/* ---- the query sanitiser -------------------------------------------- */

enum tok_kind { TOK_TERM, TOK_PHRASE, TOK_OP };

struct tok {
	enum tok_kind	 kind;
	const char	*p;
	size_t		 len;
	int		 prefix;
};

static int
is_special(unsigned char c)
{
	/* Everything FTS5 could read as syntax or that splits words. */
	return c == '+' || c == '{' || c == '}' || c == '(' || c == ')' ||
	    c == ':' || c == '^' || c == '*' || c == ',' || c == ';' ||
	    c == '\\' || c == '[' || c == ']' || c == '\'' || c == '`' ||
	    c == '!' || c == '?' || c == '<' || c == '>' || c == '=' ||
	    c == '|' || c == '&' || c == '~' || c == '$' || c == '%';
}

static int
has_word_char(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (isalnum((unsigned char)p[i]) || (unsigned char)p[i] >= 0x80)
			return 1;
	return 0;
}

/* Split one bare word at special characters into terms. */
static int
add_word(struct tok *t, int n, const char *p, size_t len)
{
	size_t i = 0, j;

	if ((len == 3 && (memcmp(p, "AND", 3) == 0 || memcmp(p, "NOT", 3) == 0))
	    || (len == 2 && memcmp(p, "OR", 2) == 0)) {
		if (n < SEARCH_MAX_TERMS)
			t[n++] = (struct tok){ TOK_OP, p, len, 0 };
		return n;
	}
	while (i < len && n < SEARCH_MAX_TERMS) {
		while (i < len && is_special((unsigned char)p[i]))
			i++;
		j = i;
		while (j < len && !is_special((unsigned char)p[j]))
			j++;
		if (j > i && has_word_char(p + i, j - i))
			t[n++] = (struct tok){ TOK_TERM, p + i, j - i,
			    j < len && p[j] == '*' };
		i = j;
	}
	return n;
}

static int
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

char *
store_fts_sanitize(const char *query)
{
	struct tok t[SEARCH_MAX_TERMS];
	size_t n = strlen(query), i = 0, j, k, o = 0;
	int nt = 0, last_operand = 0, a;
	char *out;

	if (n > STORE_MAX_QUERY) {
		n = STORE_MAX_QUERY;
		/* Do not cut a UTF-8 sequence in half. */
		while (n > 0 && ((unsigned char)query[n] & 0xc0) == 0x80)
			n--;
	}
	while (i < n && nt < SEARCH_MAX_TERMS) {
		if (is_space((unsigned char)query[i])) {
			i++;
			continue;
		}
		if (query[i] == '"') {
			const char *end = memchr(query + i + 1, '"', n - i - 1);

			if (end == NULL) {	/* unmatched: a space */
				i++;
				continue;
			}
			j = (size_t)(end - query);
			if (has_word_char(query + i + 1, j - i - 1))
				t[nt++] = (struct tok){ TOK_PHRASE,
				    query + i + 1, j - i - 1, 0 };
			i = j + 1;
			continue;
		}
		j = i;
		while (j < n && !is_space((unsigned char)query[j]) &&
		    query[j] != '"')
			j++;
		nt = add_word(t, nt, query + i, j - i);
		i = j;
	}
	out = xmalloc(n * 2 + (size_t)SEARCH_MAX_TERMS * 8 + 1);
	for (a = 0; a < nt; a++) {
		if (t[a].kind == TOK_OP) {
			int next = 0, b;

			for (b = a + 1; b < nt && !next; b++)
				next = t[b].kind != TOK_OP;
			if (!last_operand || !next)
				continue;
			memcpy(out + o, " ", 1);
			memcpy(out + o + 1, t[a].p, t[a].len);
			o += 1 + t[a].len;
			last_operand = 0;
			continue;
		}
		if (o > 0)
			out[o++] = ' ';
		out[o++] = '"';
		for (k = 0; k < t[a].len; k++) {
			unsigned char c = (unsigned char)t[a].p[k];

			/* Control bytes become spaces; quotes cannot occur. */
			out[o++] = c < 0x20 ? ' ' : (char)c;
		}
		out[o++] = '"';
		if (t[a].prefix)
			out[o++] = '*';
		last_operand = 1;
	}
	out[o] = '\0';
	return out;
}

/* Decode one code point; returns its length (1 on a bad byte). */
static size_t
utf8_cp(const unsigned char *p, size_t left, unsigned *cp)
{
	if (p[0] < 0x80 || left < 2) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0) {
		*cp = ((p[0] & 0x1fu) << 6) | (p[1] & 0x3fu);
		return 2;
	}
	if ((p[0] & 0xf0) == 0xe0 && left >= 3) {
		*cp = ((p[0] & 0x0fu) << 12) | ((p[1] & 0x3fu) << 6) |
		    (p[2] & 0x3fu);
		return 3;
	}
	if ((p[0] & 0xf8) == 0xf0 && left >= 4) {
		*cp = ((p[0] & 0x07u) << 18) | ((p[1] & 0x3fu) << 12) |
		    ((p[2] & 0x3fu) << 6) | (p[3] & 0x3fu);
		return 4;
	}
	*cp = 0xfffd;
	return 1;
}

static int
cp_is_cjk(unsigned c)
{
	return (c >= 0x4e00 && c <= 0x9fff) || (c >= 0x3400 && c <= 0x4dbf) ||
	    (c >= 0x3040 && c <= 0x30ff) || (c >= 0xac00 && c <= 0xd7af) ||
	    (c >= 0xf900 && c <= 0xfaff) || (c >= 0x20000 && c <= 0x2a6df);
}

int
store_has_cjk(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s), n;
	unsigned cp;

	while (left > 0) {
		n = utf8_cp(p, left, &cp);
		if (cp_is_cjk(cp))
			return 1;
		p += n;
		left -= n;
	}
	return 0;
}

/* Every quoted term of a sanitised query has >= 3 characters (trigram). */
static int
terms_trigram_ok(const char *q)
{
	const char *p = q, *e;
	int any = 0;

	while ((p = strchr(p, '"')) != NULL) {
		if ((e = strchr(p + 1, '"')) == NULL)
			break;
		if (store_utf8_len(p + 1, (size_t)(e - p - 1)) < 3)
			return 0;
		any = 1;
		p = e + 1;
	}
	return any;
}

/* ---- helpers for the tool's JSON -------------------------------------- */

static char *
tool_text(json_t *o)
{
	char *s = json_dumps(o, 0);

	json_decref(o);
	return s != NULL ? s : xstrdup("{\"success\": false, \"error\": "
	    "\"internal error\"}");
}

static char *
tool_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
tool_error(const char *fmt, ...)
{
	va_list ap;
	char buf[1024];
	json_t *o;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	o = json_object();
	json_object_set_new(o, "error", json_string(buf) ?: json_string("?"));
	json_object_set_new(o, "success", json_false());
	return tool_text(o);
}

static json_t *
when(json_t *ts)
{
	struct tm tm;
	time_t t;
	char buf[64];

	if (ts == NULL || !json_is_number(ts))
		return json_string("unknown");
	t = (time_t)json_number_value(ts);
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, sizeof(buf), "%B %d, %Y at %I:%M %p", &tm) == 0)
		return json_string("unknown");
	return json_string(buf);
}

static json_t *
session_meta(json_t *row)
{
	json_t *m = json_object();

	json_object_set_new(m, "when", when(json_object_get(row,
	    "started_at")));
	json_object_set(m, "source", json_object_get(row, "source") ?:
	    json_null());
	json_object_set(m, "model", json_object_get(row, "model") ?:
	    json_null());
	json_object_set(m, "title", json_object_get(row, "title") ?:
	    json_null());
	return m;
}

#define MSG_COLS "id, role, content, timestamp, tool_name, tool_calls, " \
	"tool_call_id"

/* A message row slimmed for the tool. */
static json_t *
shape(sqlite3_stmt *st, int64_t anchor)
{
	json_t *m = json_object();
	int64_t id = sqlite3_column_int64(st, 0);
	int i;

	json_object_set_new(m, "id", json_integer(id));
	json_object_set_new(m, "role", store_json_text(
	    (const char *)sqlite3_column_text(st, 1),
	    (size_t)sqlite3_column_bytes(st, 1)));
	json_object_set_new(m, "content", store_json_text(
	    (const char *)sqlite3_column_text(st, 2),
	    (size_t)sqlite3_column_bytes(st, 2)));
	json_object_set_new(m, "timestamp", json_real(sqlite3_column_double(st,
	    3)));
	for (i = 4; i <= 6; i++) {
		const char *v = (const char *)sqlite3_column_text(st, i);

		if (v != NULL && v[0] != '\0')
			json_object_set_new(m, sqlite3_column_name(st, i),
			    store_json_text(v, (size_t)sqlite3_column_bytes(st,
			    i)));
	}
	if (anchor >= 0 && id == anchor)
		json_object_set_new(m, "anchor", json_true());
	return m;
}

/* Messages of a session by a query with ?1 = session, ?2 = id, ?3 = n. */
static json_t *
messages(struct store *s, const char *where_order, const char *sid,
    int64_t id, int64_t n, int64_t anchor, int reverse)
{
	sqlite3_stmt *st;
	json_t *arr = json_array();
	char *sql;
	int rc;

	xasprintf(&sql, "SELECT " MSG_COLS " FROM messages WHERE session_id = "
	    "?1 AND (active = 1 OR compacted = 1) %s", where_order);
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	free(sql);
	if (rc != SQLITE_OK) {
		store_sqlerr(s, rc, "search");
		return arr;
	}
	sqlite3_bind_text(st, 1, sid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, id);
	sqlite3_bind_int64(st, 3, n);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (reverse)
			json_array_insert_new(arr, 0, shape(st, anchor));
		else
			json_array_append_new(arr, shape(st, anchor));
	}
	sqlite3_finalize(st);
	return arr;
}

static int64_t
count_where(struct store *s, const char *sid, const char *cond, int64_t id)
{
	sqlite3_stmt *st;
	int64_t n = 0;
	char *sql;

	xasprintf(&sql, "SELECT count(*) FROM messages WHERE session_id = ?1 "
	    "AND (active = 1 OR compacted = 1) AND %s", cond);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, sid, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, id);
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	free(sql);
	return n;
}

static int64_t
first_last_id(json_t *arr, int last)
{
	json_t *m = json_array_get(arr, last ? json_array_size(arr) - 1 : 0);

	return m != NULL ? json_integer_value(json_object_get(m, "id")) : -1;
}

/* The window of +-w messages around anchor, with counts either side. */
static json_t *
window_around(struct store *s, const char *sid, int64_t anchor, int64_t w,
    int64_t *before, int64_t *after)
{
	json_t *win, *tail;

	win = messages(s, "AND id <= ?2 ORDER BY id DESC LIMIT ?3 + 1", sid,
	    anchor, w, anchor, 1);
	tail = messages(s, "AND id > ?2 ORDER BY id LIMIT ?3", sid, anchor, w,
	    anchor, 0);
	json_array_extend(win, tail);
	json_decref(tail);
	if (json_array_size(win) > 0) {
		*before = count_where(s, sid, "id < ?2", first_last_id(win, 0));
		*after = count_where(s, sid, "id > ?2", first_last_id(win, 1));
	} else
		*before = *after = 0;
	return win;
}

/* Discovery's view: bookends (outside the window) and the window. */
static void
anchored_view(struct store *s, json_t *entry, const char *sid, int64_t anchor)
{
	int64_t before, after, lo, hi;
	json_t *win;

	win = window_around(s, sid, anchor, WINDOW_DEFAULT, &before, &after);
	lo = first_last_id(win, 0);
	hi = first_last_id(win, 1);
	json_object_set_new(entry, "bookend_start", messages(s,
	    "AND id < ?2 AND role IN ('user', 'assistant') ORDER BY id "
	    "LIMIT ?3", sid, lo, BOOKEND, -1, 0));
	json_object_set_new(entry, "messages", win);
	json_object_set_new(entry, "bookend_end", messages(s,
	    "AND id > ?2 AND role IN ('user', 'assistant') ORDER BY id DESC "
	    "LIMIT ?3", sid, hi, BOOKEND, -1, 1));
	json_object_set_new(entry, "messages_before", json_integer(before));
	json_object_set_new(entry, "messages_after", json_integer(after));
}

static int
in_list(const char *v, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		if (strcmp(v, list[i]) == 0)
			return 1;
	return 0;
}

/* ---- the shapes --------------------------------------------------------- */

static char *
shape_read(struct store *s, const char *sid)
{
	json_t *row, *res, *msgs;
	int64_t total;

	if ((row = store_session_row(s, sid)) == NULL)
		return tool_error("session_id not found: %s", sid);
	total = count_where(s, sid, "?2 = ?2", 0);
	res = json_object();
	json_object_set_new(res, "success", json_true());
	json_object_set_new(res, "mode", json_string("read"));
	json_object_set_new(res, "session_id", json_string(sid));
	json_object_set_new(res, "session_meta", session_meta(row));
	json_object_set_new(res, "message_count", json_integer(total));
	json_object_set_new(res, "truncated", json_boolean(total > READ_HEAD +
	    READ_TAIL));
	if (total > READ_HEAD + READ_TAIL) {
		json_t *tail;
		char buf[256];

		msgs = messages(s, "AND ?2 = ?2 ORDER BY id LIMIT ?3", sid, 0,
		    READ_HEAD, -1, 0);
		tail = messages(s, "AND ?2 = ?2 ORDER BY id DESC LIMIT ?3", sid,
		    0, READ_TAIL, -1, 1);
		json_array_extend(msgs, tail);
		json_decref(tail);
		json_object_set_new(res, "messages", msgs);
		snprintf(buf, sizeof(buf), "Session has %lld messages; showing "
		    "first %d + last %d. Pass around_message_id (any id above) "
		    "to scroll the middle.", (long long)total, READ_HEAD,
		    READ_TAIL);
		json_object_set_new(res, "message", json_string(buf));
	} else
		json_object_set_new(res, "messages", messages(s,
		    "AND ?2 = ?2 ORDER BY id LIMIT ?3", sid, 0, total, -1, 0));
	json_decref(row);
	return tool_text(res);
}

static char *
shape_scroll(struct store *s, const char *sid, int64_t anchor, int64_t w,
    const char *current)
{
	json_t *row, *res, *win;
	char *owner = NULL, *ra, *rb, *warning = NULL;
	int64_t before, after;
	sqlite3_stmt *st;

	if (w < 1 || w > 20)
		w = w < 1 ? 1 : 20;
	if (current != NULL) {
		ra = store_lineage_root(s, sid);
		rb = store_lineage_root(s, current);
		if (strcmp(ra, rb) == 0) {
			free(ra);
			free(rb);
			return tool_error("scroll rejected: anchor lives in the "
			    "current session lineage (already in your active "
			    "context)");
		}
		free(ra);
		free(rb);
	}
	if ((row = store_session_row(s, sid)) == NULL)
		return tool_error("session_id not found: %s", sid);
	win = window_around(s, sid, anchor, w, &before, &after);
	if (json_array_size(win) == 0 || count_where(s, sid, "id = ?2",
	    anchor) == 0) {
		/* The anchor may live in a child of the same lineage. */
		if (sqlite3_prepare_v2(s->db, "SELECT session_id FROM messages "
		    "WHERE id = ?1", -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, anchor);
			if (sqlite3_step(st) == SQLITE_ROW)
				owner = xstrdup((const char *)
				    sqlite3_column_text(st, 0));
			sqlite3_finalize(st);
		}
		json_decref(win);
		win = NULL;
		if (owner != NULL && strcmp(owner, sid) != 0) {
			ra = store_lineage_root(s, sid);
			rb = store_lineage_root(s, owner);
			if (strcmp(ra, rb) == 0) {
				json_decref(row);
				row = store_session_row(s, owner);
				win = window_around(s, owner, anchor, w,
				    &before, &after);
				xasprintf(&warning, "around_message_id %lld "
				    "lives in %s (child of %s); rebound "
				    "transparently", (long long)anchor, owner,
				    sid);
			}
			free(ra);
			free(rb);
		}
		if (win == NULL || row == NULL) {
			json_decref(row);
			json_decref(win);
			free(owner);
			return tool_error("around_message_id %lld not in "
			    "session_id %s", (long long)anchor, sid);
		}
	}
	res = json_object();
	json_object_set_new(res, "success", json_true());
	json_object_set_new(res, "mode", json_string("scroll"));
	json_object_set_new(res, "session_id", json_string(warning != NULL ?
	    owner : sid));
	json_object_set_new(res, "around_message_id", json_integer(anchor));
	json_object_set_new(res, "session_meta", session_meta(row));
	json_object_set_new(res, "window", json_integer(w));
	json_object_set_new(res, "messages", win);
	json_object_set_new(res, "messages_before", json_integer(before));
	json_object_set_new(res, "messages_after", json_integer(after));
	if (warning != NULL)
		json_object_set_new(res, "warning", json_string(warning));
	free(warning);
	free(owner);
	json_decref(row);
	return tool_text(res);
}

static char *
shape_browse(struct store *s, int64_t limit, const char *current)
{
	json_t *args, *list, *res, *arr, *row;
	char *croot = NULL;
	size_t i;

	args = json_pack("{s:I,s:b}", "limit", (json_int_t)limit + 5, "total",
	    0);
	list = store_session_list(s, args);
	json_decref(args);
	if (list == NULL)
		return tool_error("Failed to list recent sessions: %s", s->err);
	if (current != NULL)
		croot = store_lineage_root(s, current);
	arr = json_array();
	json_array_foreach(json_object_get(list, "sessions"), i, row) {
		const char *id = json_string_value(json_object_get(row, "id"));
		json_t *r;

		if (id == NULL || (croot != NULL && strcmp(id, croot) == 0) ||
		    (current != NULL && strcmp(id, current) == 0))
			continue;
		r = json_object();
		json_object_set_new(r, "session_id", json_string(id));
		json_object_set(r, "title", json_object_get(row, "title"));
		json_object_set(r, "source", json_object_get(row, "source"));
		json_object_set(r, "started_at", json_object_get(row,
		    "started_at"));
		json_object_set(r, "last_active", json_object_get(row,
		    "last_active"));
		json_object_set(r, "message_count", json_object_get(row,
		    "message_count"));
		json_object_set(r, "preview", json_object_get(row, "preview"));
		json_array_append_new(arr, r);
		if ((int64_t)json_array_size(arr) >= limit)
			break;
	}
	free(croot);
	json_decref(list);
	res = json_object();
	json_object_set_new(res, "success", json_true());
	json_object_set_new(res, "mode", json_string("browse"));
	json_object_set(res, "results", arr);
	json_object_set_new(res, "count", json_integer((json_int_t)
	    json_array_size(arr)));
	{
		char buf[200];

		snprintf(buf, sizeof(buf), "Showing %zu most recent sessions. "
		    "Pass a query= to search, or session_id+around_message_id "
		    "to scroll.", json_array_size(arr));
		json_object_set_new(res, "message", json_string(buf));
	}
	json_decref(arr);
	return tool_text(res);
}

static int64_t	max_rowid(struct store *);

/* ---- bounded bm25 ------------------------------------------------------ */

#define BM25_K1	1.2
#define BM25_B	0.75

/*
 * hermes_rank(fts, idf0, idf1, ...): Okapi BM25 as FTS5's bm25() computes
 * it, but with the IDF of each phrase supplied by the caller. bm25() finds
 * each phrase's document count by reading its whole doclist (20-30 ms for
 * a common word at 1M messages); the caller estimates it from the recency
 * window instead (see phrase_idf()). Lower is better, as with bm25().
 */
static void
rank_fn(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx,
    int nval, sqlite3_value **vals)
{
	double tf[SEARCH_MAX_TERMS] = { 0 }, avgdl, score = 0, idf, norm;
	sqlite3_int64 nrow = 0, total = 0;
	int nphrase, ninst = 0, i, ip, ic, io, dl = 0, rc;

	nphrase = api->xPhraseCount(fts);
	if ((rc = api->xInstCount(fts, &ninst)) != SQLITE_OK) {
		sqlite3_result_error_code(ctx, rc);
		return;
	}
	for (i = 0; i < ninst; i++) {
		if (api->xInst(fts, i, &ip, &ic, &io) == SQLITE_OK && ip >= 0 &&
		    ip < SEARCH_MAX_TERMS)
			tf[ip] += 1;
	}
	if (api->xRowCount(fts, &nrow) != SQLITE_OK ||
	    api->xColumnTotalSize(fts, -1, &total) != SQLITE_OK ||
	    api->xColumnSize(fts, -1, &dl) != SQLITE_OK) {
		sqlite3_result_error(ctx, "hermes_rank: no statistics", -1);
		return;
	}
	avgdl = nrow > 0 && total > 0 ? (double)total / (double)nrow : 1.0;
	norm = BM25_K1 * (1 - BM25_B + BM25_B * (double)dl / avgdl);
	for (i = 0; i < nphrase && i < SEARCH_MAX_TERMS; i++) {
		idf = i < nval ? sqlite3_value_double(vals[i]) : 1.0;
		score += idf * (tf[i] * (BM25_K1 + 1)) / (tf[i] + norm);
	}
	sqlite3_result_double(ctx, -score);
}

int
store_search_init(struct store *s)
{
	fts5_api *api = NULL;
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(s->db, "SELECT fts5(?1)", -1, &st, NULL) !=
	    SQLITE_OK)
		return store_fail(s, "io", "SQLite has no FTS5");
	sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW || api == NULL || api->iVersion < 2)
		return store_fail(s, "io", "SQLite's FTS5 API is unavailable");
	if (api->xCreateFunction(api, "hermes_rank", NULL, rank_fn, NULL) !=
	    SQLITE_OK)
		return store_fail(s, "io", "cannot register hermes_rank");
	return 0;
}

/*
 * The IDF of each quoted phrase of a sanitised query, in FTS5's phrase
 * order. Document counts come from the recency window: exact when a phrase
 * has fewer than STORE_CANDIDATES matches, else extrapolated from the
 * rowid span those newest matches cover (rowids are dense).
 */
static int
phrase_idf(struct store *s, const char *table, const char *match,
    int64_t nrows, double *idf, int max)
{
	sqlite3_stmt *st;
	const char *p = match, *e;
	char *sql, *one;
	int n = 0;

	xasprintf(&sql, "SELECT count(*), min(r) FROM (SELECT rowid AS r FROM "
	    "%1$s WHERE %1$s MATCH ?1 ORDER BY rowid DESC LIMIT %2$d)", table,
	    STORE_CANDIDATES);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		free(sql);
		return 0;
	}
	free(sql);
	while (n < max && (p = strchr(p, '"')) != NULL &&
	    (e = strchr(p + 1, '"')) != NULL) {
		double df = 0, span;

		xasprintf(&one, "%.*s%s", (int)(e - p + 1), p, e[1] == '*' ?
		    "*" : "");
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, one, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW) {
			df = (double)sqlite3_column_int64(st, 0);
			span = (double)(nrows - sqlite3_column_int64(st, 1) + 1);
			if (df >= STORE_CANDIDATES && span > 0)
				df = df * (double)nrows / span;
		}
		free(one);
		idf[n] = log(((double)nrows - df + 0.5) / (df + 0.5));
		if (idf[n] <= 0)
			idf[n] = 1e-6;
		n++;
		p = e + 1;
	}
	sqlite3_finalize(st);
	return n;
}

struct hit {
	int64_t	 id;
	char	*sid;		/* NULL until looked up */
	char	*role;
	char	*source;
	double	 score;		/* lower is better */
	int	 state;		/* 0 unknown, 1 kept, -1 filtered out */
	int	 demoted;
};

static void
hits_free(struct hit *h, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		free(h[i].sid);
		free(h[i].role);
		free(h[i].source);
	}
}

static int
hit_cmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	if (x->score != y->score)
		return x->score < y->score ? -1 : 1;
	return x->id > y->id ? -1 : x->id < y->id;	/* newer first */
}

/* The filters of discovery, for one message id (?1) and roles (?2..). */
#define HIT_FILTER \
	"(m.active = 1 OR m.compacted = 1) AND s.source NOT IN ('subagent', " \
	"'tool') AND m.role IN (%s)"

struct hits {
	struct hit	*h;
	int		 n;
	sqlite3_stmt	*lookup;	/* ranked: filters, one id at a time */
};

/* Look a ranked candidate up (once): 1 kept, -1 filtered out. */
static int
hit_load(struct hits *hs, int i)
{
	struct hit *h = &hs->h[i];
	const char *src;

	if (h->state != 0)
		return h->state;
	h->state = -1;
	if (hs->lookup == NULL)
		return -1;
	sqlite3_reset(hs->lookup);
	sqlite3_bind_int64(hs->lookup, 1, h->id);
	if (sqlite3_step(hs->lookup) == SQLITE_ROW) {
		h->sid = xstrdup((const char *)sqlite3_column_text(hs->lookup,
		    0));
		h->role = xstrdup((const char *)sqlite3_column_text(hs->lookup,
		    1));
		src = (const char *)sqlite3_column_text(hs->lookup, 2);
		h->source = xstrdup(src != NULL ? src : "unknown");
		h->demoted = in_list(h->source, demoted_sources,
		    nitems(demoted_sources));
		h->state = 1;
	}
	return h->state;
}

/*
 * The candidates of one FTS table into hs (room for STORE_CANDIDATES).
 *
 * Ranked (no sort): the STORE_CANDIDATES newest matches are read in rowid
 * order, FTS5 stopping there, with hermes_rank() (bm25 with windowed IDF),
 * and sorted here; the filters are applied lazily, best first, by
 * hit_load(). FTS5's own ORDER BY rank would score every match, and
 * bm25() would read every phrase's whole doclist.
 * newest/oldest: the filtered rows in rowid order, up to max.
 */
static int
fts_hits(struct store *s, const char *table, const char *match,
    const char *sort, const char **roles, int nroles, int64_t min_rowid,
    struct hits *hs, int max)
{
	sqlite3_stmt *st;
	char *sql, *rank, *p, rolesql[128] = "";
	double idf[SEARCH_MAX_TERMS];
	int rc, n = 0, i, ranked = sort == NULL, nidf = 0;

	hs->n = 0;	/* the caller freed what was there */
	for (i = 0; i < nroles; i++) {
		char b[16];

		snprintf(b, sizeof(b), "%s?%d", i ? ", " : "", i + 2);
		strlcat(rolesql, b, sizeof(rolesql));
	}
	if (ranked) {
		nidf = phrase_idf(s, table, match, max_rowid(s), idf,
		    SEARCH_MAX_TERMS);
		xasprintf(&rank, "hermes_rank(%s", table);
		for (i = 0; i < nidf; i++) {
			xasprintf(&p, "%s, ?%d", rank, 10 + i);
			free(rank);
			rank = p;
		}
		xasprintf(&sql, "SELECT rowid, %s) FROM %s WHERE %s MATCH ?1 "
		    "AND rowid >= ?9 ORDER BY rowid DESC LIMIT %d", rank, table,
		    table, STORE_CANDIDATES);
		free(rank);
	} else
		xasprintf(&sql, "SELECT m.id, 0, m.session_id, m.role, s.source "
		    "FROM %s f JOIN messages m ON m.id = f.rowid JOIN sessions s "
		    "ON s.id = m.session_id WHERE %s MATCH ?1 AND f.rowid >= ?9 "
		    "AND " HIT_FILTER " ORDER BY f.rowid %s LIMIT %d", table,
		    table, rolesql, strcmp(sort, "oldest") == 0 ? "ASC" :
		    "DESC", max);
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	free(sql);
	if (rc != SQLITE_OK) {
		s->fts_errors++;	/* our SQL is wrong: a bug */
		log_warnx("search: %s", sqlite3_errmsg(s->db));
		return store_sqlerr(s, rc, "search");
	}
	sqlite3_bind_text(st, 1, match, -1, SQLITE_TRANSIENT);
	if (!ranked)
		for (i = 0; i < nroles; i++)
			sqlite3_bind_text(st, i + 2, roles[i], -1,
			    SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 9, min_rowid);
	for (i = 0; i < nidf; i++)
		sqlite3_bind_double(st, 10 + i, idf[i]);
	while (n < STORE_CANDIDATES && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct hit *h = &hs->h[n++];

		memset(h, 0, sizeof(*h));
		h->id = sqlite3_column_int64(st, 0);
		h->score = sqlite3_column_double(st, 1);
		if (ranked)
			continue;
		h->sid = xstrdup((const char *)sqlite3_column_text(st, 2));
		h->role = xstrdup((const char *)sqlite3_column_text(st, 3));
		h->source = xstrdup(sqlite3_column_text(st, 4) ?
		    (const char *)sqlite3_column_text(st, 4) : "unknown");
		h->demoted = in_list(h->source, demoted_sources,
		    nitems(demoted_sources));
		h->state = 1;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		/* A query FTS5 still refuses: no results, never an error
		 * for the user; counted so tests and fuzzing catch it. */
		s->fts_errors++;
		log_warnx("search: FTS refused [%s]: %s", match,
		    sqlite3_errmsg(s->db));
	}
	sqlite3_finalize(st);
	hs->n = n;
	if (!ranked || n == 0)
		return n;
	qsort(hs->h, (size_t)n, sizeof(*hs->h), hit_cmp);
	xasprintf(&sql, "SELECT m.session_id, m.role, s.source FROM messages m "
	    "JOIN sessions s ON s.id = m.session_id WHERE m.id = ?1 AND "
	    HIT_FILTER, rolesql);
	rc = sqlite3_prepare_v2(s->db, sql, -1, &hs->lookup, NULL);
	free(sql);
	if (rc != SQLITE_OK) {
		s->fts_errors++;
		return store_sqlerr(s, rc, "search");
	}
	for (i = 0; i < nroles; i++)
		sqlite3_bind_text(hs->lookup, i + 2, roles[i], -1,
		    SQLITE_TRANSIENT);
	return n;
}

static int64_t
max_rowid(struct store *s)
{
	sqlite3_stmt *st;
	int64_t v = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT max(id) FROM messages", -1, &st,
	    NULL) != SQLITE_OK)
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static json_t *
snippet(struct store *s, const char *table, const char *match, int64_t id)
{
	sqlite3_stmt *st;
	json_t *v = NULL;
	char *sql;

	xasprintf(&sql, "SELECT snippet(%1$s, 0, '>>>', '<<<', '...', 40) FROM "
	    "%1$s WHERE %1$s MATCH ?1 AND rowid = ?2", table);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, match, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, id);
		if (sqlite3_step(st) == SQLITE_ROW)
			v = store_json_text((const char *)
			    sqlite3_column_text(st, 0),
			    (size_t)sqlite3_column_bytes(st, 0));
		sqlite3_finalize(st);
	}
	free(sql);
	return v != NULL ? v : json_string("");
}

/* A session whose title is the query (quotes and spaces stripped). */
static json_t *
title_match(struct store *s, const char *query, const char *croot,
    char **rootp)
{
	json_t *args, *row, *entry;
	const char *sid, *title;
	char *q, *root;
	int64_t first = -1;
	size_t n;

	while (*query == ' ' || *query == '`' || *query == '\'' ||
	    *query == '"')
		query++;
	q = xstrdup(query);
	n = strlen(q);
	while (n > 0 && (q[n - 1] == ' ' || q[n - 1] == '`' ||
	    q[n - 1] == '\'' || q[n - 1] == '"'))
		q[--n] = '\0';
	if (n == 0) {
		free(q);
		return NULL;
	}
	args = json_pack("{s:s}", "title", q);
	row = args != NULL ? store_session_get(s, args) : NULL;
	json_decref(args);
	if (row == NULL) {
		free(q);
		return NULL;
	}
	sid = json_string_value(json_object_get(row, "id"));
	root = store_lineage_root(s, sid);
	if ((croot != NULL && strcmp(root, croot) == 0) || in_list(
	    json_string_value(json_object_get(row, "source")), hidden_sources,
	    nitems(hidden_sources))) {
		free(root);
		free(q);
		json_decref(row);
		return NULL;
	}
	entry = json_object();
	json_object_set_new(entry, "session_id", json_string(sid));
	json_object_set_new(entry, "when", when(json_object_get(row,
	    "started_at")));
	json_object_set(entry, "source", json_object_get(row, "source"));
	json_object_set_new(entry, "model", json_is_string(json_object_get(row,
	    "model")) ? json_copy(json_object_get(row, "model")) :
	    json_string("unknown"));
	title = json_string_value(json_object_get(row, "title"));
	json_object_set_new(entry, "title", json_string(title ? title : q));
	json_object_set_new(entry, "matched_role",
	    json_string("session_title"));
	{
		json_t *m = messages(s, "AND ?2 = ?2 ORDER BY id LIMIT ?3", sid,
		    0, 1, -1, 0);

		if (json_array_size(m) > 0)
			first = json_integer_value(json_object_get(
			    json_array_get(m, 0), "id"));
		json_decref(m);
	}
	json_object_set_new(entry, "match_message_id", first >= 0 ?
	    json_integer(first) : json_null());
	{
		char *snip;

		xasprintf(&snip, "Session title matched: %s", title ? title : q);
		json_object_set_new(entry, "snippet", json_string(snip));
		free(snip);
	}
	if (first >= 0)
		anchored_view(s, entry, sid, first);
	if (strcmp(root, sid) != 0)
		json_object_set_new(entry, "parent_session_id",
		    json_string(root));
	*rootp = root;
	free(q);
	json_decref(row);
	return entry;
}

static char *
shape_discover(struct store *s, const char *query, const char **roles,
    int nroles, int64_t limit, const char *sort, const char *current)
{
	struct hits hs;
	struct hit *h;
	json_t *res, *results, *seen, *tentry;
	char *match, *croot = NULL, *troot = NULL;
	const char *table = "messages_fts";
	int n = 0, i, pass, kept;

	memset(&hs, 0, sizeof(hs));
	hs.h = h = xcalloc(STORE_CANDIDATES, sizeof(*h));
	match = store_fts_sanitize(query);
	if (current != NULL)
		croot = store_lineage_root(s, current);
	tentry = title_match(s, query, croot, &troot);
	if (match[0] != '\0' && s->fts_ok) {
		int cjk = store_has_cjk(match);

		if (cjk && s->trigram_ok && terms_trigram_ok(match))
			table = "messages_fts_trigram";
		/* Trigram phrases are costly to rank (every candidate is a
		 * phrase of 3-grams): they are ordered by recency instead. */
		n = fts_hits(s, table, match, table[12] == '_' && sort == NULL ?
		    "newest" : sort, roles, nroles, 0, &hs, STORE_SCAN_LIMIT);
		/* Ranked: candidates exist, but may all be filtered out. */
		for (i = 0, kept = 0; i < n && !kept; i++)
			kept = hit_load(&hs, i) == 1;
		if (n > 0 && !kept)
			n = 0;
		/*
		 * Substring fallback (e.g. "ocker" in "docker"): a rare
		 * Latin-script phrase of 3-grams must be checked against
		 * every row holding its 3-grams, so it only covers the most
		 * recent STORE_SUBSTRING_WINDOW messages.
		 */
		if (n <= 0 && !cjk && s->trigram_ok &&
		    terms_trigram_ok(match)) {
			table = "messages_fts_trigram";
			hits_free(h, hs.n);
			hs.n = 0;
			sqlite3_finalize(hs.lookup);
			hs.lookup = NULL;
			n = fts_hits(s, table, match, sort != NULL ? sort :
			    "newest", roles, nroles, max_rowid(s) -
			    STORE_SUBSTRING_WINDOW, &hs, STORE_SCAN_LIMIT);
		}
		if (n < 0)
			n = 0;
	}
	res = json_object();
	json_object_set_new(res, "success", json_true());
	json_object_set_new(res, "mode", json_string("discover"));
	json_object_set_new(res, "query", json_string(query));
	if (n == 0 && tentry == NULL) {
		json_object_set_new(res, "results", json_array());
		json_object_set_new(res, "count", json_integer(0));
		json_object_set_new(res, "message",
		    json_string("No matching sessions found."));
		goto out;
	}
	results = json_array();
	seen = json_object();
	if (tentry != NULL) {
		json_object_set_new(seen, troot, json_true());
		json_array_append_new(results, tentry);
	}
	/* Interactive sessions first; the order within each class stays. */
	for (pass = 0; pass < 2; pass++) {
		/* Like Hermes: look at no more than STORE_SCAN_LIMIT rows. */
		for (i = 0, kept = 0; i < n && kept < STORE_SCAN_LIMIT &&
		    (int64_t)json_object_size(seen) < limit; i++) {
			json_t *e;
			char *root;

			if (hit_load(&hs, i) != 1)
				continue;
			kept++;
			if (h[i].demoted != pass)
				continue;
			if (current != NULL && strcmp(h[i].sid, current) == 0)
				continue;
			root = store_lineage_root(s, h[i].sid);
			if ((croot != NULL && strcmp(root, croot) == 0) ||
			    json_object_get(seen, root) != NULL) {
				free(root);
				continue;
			}
			json_object_set_new(seen, root, json_true());
			{
				json_t *row = store_session_row(s, root);

				if (row == NULL)
					row = json_object();
				e = json_object();
				json_object_set_new(e, "session_id",
				    json_string(h[i].sid));
				json_object_set_new(e, "when", when(
				    json_object_get(row, "started_at")));
				json_object_set_new(e, "source",
				    json_string(h[i].source));
				json_object_set_new(e, "model",
				    json_is_string(json_object_get(row,
				    "model")) ? json_copy(json_object_get(row,
				    "model")) : json_string("unknown"));
				json_object_set(e, "title", json_object_get(row,
				    "title") ?: json_null());
				json_decref(row);
			}
			json_object_set_new(e, "matched_role",
			    json_string(h[i].role));
			json_object_set_new(e, "match_message_id",
			    json_integer(h[i].id));
			json_object_set_new(e, "snippet", snippet(s, table,
			    match, h[i].id));
			anchored_view(s, e, h[i].sid, h[i].id);
			if (strcmp(root, h[i].sid) != 0)
				json_object_set_new(e, "parent_session_id",
				    json_string(root));
			json_array_append_new(results, e);
			free(root);
		}
	}
	json_object_set_new(res, "results", results);
	json_object_set_new(res, "count", json_integer((json_int_t)
	    json_array_size(results)));
	json_object_set_new(res, "sessions_searched", json_integer(
	    (json_int_t)json_object_size(seen)));
	json_decref(seen);
 out:
	hits_free(h, hs.n);
	sqlite3_finalize(hs.lookup);
	free(h);
	free(match);
	free(croot);
	free(troot);
	return tool_text(res);
}

char *
store_session_search(struct store *s, json_t *args)
{
	const char *query, *sid, *sort, *rf, *current, *profile;
	const char *roles[4];
	char rbuf[128], *p, *save;
	int64_t limit, anchor, w;
	json_t *av;
	int nroles = 0;

	if (store_arg_str(s, args, "query", 0, &query) == -1 ||
	    store_arg_str(s, args, "session_id", 0, &sid) == -1 ||
	    store_arg_str(s, args, "sort", 0, &sort) == -1 ||
	    store_arg_str(s, args, "role_filter", 0, &rf) == -1 ||
	    store_arg_str(s, args, "current_session_id", 0, &current) == -1 ||
	    store_arg_str(s, args, "profile", 0, &profile) == -1 ||
	    store_arg_int(s, args, "limit", 3, &limit) == -1 ||
	    store_arg_int(s, args, "window", WINDOW_DEFAULT, &w) == -1)
		return tool_error("%s", s->err);
	if (profile != NULL && profile[0] != '\0')
		return tool_error("profile '%s': cross-profile reads are not "
		    "available in this store", profile);
	/* "@session:<profile>/<id>" links: keep the id. */
	if (sid != NULL && (p = strchr(sid, '/')) != NULL && p[1] != '\0')
		sid = p + 1;
	av = json_object_get(args, "around_message_id");
	if (sid != NULL && sid[0] != '\0' && av != NULL && !json_is_null(av)) {
		if (store_arg_int(s, args, "around_message_id", 0, &anchor) == -1)
			return tool_error("scroll requires integer "
			    "around_message_id");
		return shape_scroll(s, sid, anchor, w, current);
	}
	if (sid != NULL && sid[0] != '\0')
		return shape_read(s, sid);
	if (limit < 1 || limit > 10)
		limit = limit < 1 ? 1 : 10;
	while (query != NULL && is_space((unsigned char)*query))
		query++;
	if (query == NULL || query[0] == '\0')
		return shape_browse(s, limit, current);
	if (rf != NULL) {
		strlcpy(rbuf, rf, sizeof(rbuf));
		for (p = strtok_r(rbuf, ", ", &save); p != NULL && nroles < 4;
		    p = strtok_r(NULL, ", ", &save))
			roles[nroles++] = p;
	}
	if (nroles == 0) {
		roles[0] = "user";
		roles[1] = "assistant";
		nroles = 2;
	}
	if (sort != NULL && strcmp(sort, "newest") != 0 &&
	    strcmp(sort, "oldest") != 0)
		sort = NULL;
	return shape_discover(s, query, roles, nroles, limit, sort, current);
}
