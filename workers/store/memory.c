/*
 * The `memory` tool: memories/MEMORY.md and USER.md, entries separated by
 * "\n§\n", limits counted in characters (2,200 / 1,375). Every write is
 * atomic (temp file, fsync, rename, fsync dir). A file that does not
 * round-trip through the parser is not rewritten (a .bak.<ts> is kept).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipc/util.h"
#include "workers/store/store.h"

#define DELIM		"\n\xc2\xa7\n"	/* "\n§\n" */
#define DELIM_LEN	4
#define MEMORY_FILE_MAX	(1024 * 1024)
#define PREVIEW_CHARS	80

size_t
store_utf8_len(const char *p, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if (((unsigned char)p[i] & 0xc0) != 0x80)
			n++;
	return n;
}

struct target {
	const char	*name;		/* "memory" | "user" */
	const char	*file;
	int		 limit;
	const char	*header;
};

static void
target_of(struct store *s, const char *name, struct target *t)
{
	if (strcmp(name, "user") == 0)
		*t = (struct target){ "user", "USER.md", s->user_limit,
		    "USER PROFILE (who the user is)" };
	else
		*t = (struct target){ "memory", "MEMORY.md", s->memory_limit,
		    "MEMORY (your personal notes)" };
}

static char *
path_of(struct store *s, const struct target *t)
{
	char *p;

	xasprintf(&p, "%s/memories/%s", s->home, t->file);
	return p;
}

static char *
strip(const char *p, size_t len)
{
	while (len > 0 && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')) {
		p++;
		len--;
	}
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\n' ||
	    p[len - 1] == '\t' || p[len - 1] == '\r'))
		len--;
	return xstrndup(p, len);
}

/* Split file text into entries (stripped, empties dropped). */
static json_t *
parse(const char *raw)
{
	json_t *arr = json_array();
	const char *p = raw, *d;
	char *e;

	for (;;) {
		d = strstr(p, DELIM);
		e = strip(p, d != NULL ? (size_t)(d - p) : strlen(p));
		if (e[0] != '\0')
			json_array_append_new(arr, store_json_text(e,
			    strlen(e)));
		free(e);
		if (d == NULL)
			break;
		p = d + DELIM_LEN;
	}
	return arr;
}

static char *
render(json_t *entries)
{
	size_t i, len = 0, off = 0;
	json_t *v;
	char *out;

	json_array_foreach(entries, i, v)
		len += json_string_length(v) + DELIM_LEN;
	out = xmalloc(len + 1);
	json_array_foreach(entries, i, v) {
		if (i > 0) {
			memcpy(out + off, DELIM, DELIM_LEN);
			off += DELIM_LEN;
		}
		memcpy(out + off, json_string_value(v), json_string_length(v));
		off += json_string_length(v);
	}
	out[off] = '\0';
	return out;
}

static size_t
chars_of(json_t *entries)
{
	char *r = render(entries);
	size_t n = store_utf8_len(r, strlen(r));

	free(r);
	return n;
}

/* "2,200" */
static void
fmt_num(char *buf, size_t len, size_t v)
{
	char tmp[32];
	size_t n, i, o = 0;

	n = (size_t)snprintf(tmp, sizeof(tmp), "%zu", v);
	for (i = 0; i < n && o + 2 < len; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
}

static json_t *
usage_short(json_t *entries, const struct target *t)
{
	char a[32], b[32], buf[80];

	fmt_num(a, sizeof(a), chars_of(entries));
	fmt_num(b, sizeof(b), (size_t)t->limit);
	snprintf(buf, sizeof(buf), "%s/%s", a, b);
	return json_string(buf);
}

static int
pct_of(size_t cur, int limit)
{
	int p = limit > 0 ? (int)((cur * 100) / (size_t)limit) : 0;

	return p > 100 ? 100 : p;
}

/* An error the model can act on: the live entries and usage. */
static char *
fail_entries(json_t *entries, const struct target *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static char *
fail_entries(json_t *entries, const struct target *t, const char *fmt, ...)
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
	json_object_set(o, "current_entries", entries);
	json_object_set_new(o, "usage", usage_short(entries, t));
	return store_tool_text(o);
}

static char *
success(json_t *entries, const struct target *t, const char *msg)
{
	char a[32], b[32], buf[128];
	size_t cur = chars_of(entries);
	json_t *o = json_object();

	fmt_num(a, sizeof(a), cur);
	fmt_num(b, sizeof(b), (size_t)t->limit);
	snprintf(buf, sizeof(buf), "%d%% \xe2\x80\x94 %s/%s chars",
	    pct_of(cur, t->limit), a, b);
	json_object_set_new(o, "success", json_true());
	json_object_set_new(o, "done", json_true());
	json_object_set_new(o, "target", json_string(t->name));
	json_object_set_new(o, "usage", json_string(buf));
	json_object_set_new(o, "entry_count", json_integer((json_int_t)
	    json_array_size(entries)));
	json_object_set_new(o, "message", json_string(msg));
	json_object_set_new(o, "note", json_string("Write saved. This update "
	    "is complete \xe2\x80\x94 do not repeat it."));
	return store_tool_text(o);
}

/* Load a target's entries. *drift: the file would not round-trip. */
static json_t *
load(struct store *s, const struct target *t, int *drift, char **rawp)
{
	char *path = path_of(s, t), *raw, *r, *st;
	json_t *entries;
	size_t len;

	*drift = 0;
	raw = store_read_file(path, MEMORY_FILE_MAX, &len);
	free(path);
	if (raw == NULL) {
		if (errno != ENOENT) {
			store_fail(s, "io", "cannot read %s: %s", t->file,
			    strerror(errno));
			return NULL;
		}
		raw = xstrdup("");
		len = 0;
	}
	if (strlen(raw) != len) {
		free(raw);
		store_fail(s, "invalid", "%s contains NUL bytes", t->file);
		return NULL;
	}
	entries = parse(raw);
	r = render(entries);
	st = strip(raw, len);
	*drift = strcmp(r, st) != 0;
	free(r);
	free(st);
	if (rawp != NULL)
		*rawp = raw;
	else
		free(raw);
	return entries;
}

static int
save(struct store *s, const struct target *t, json_t *entries)
{
	char *path = path_of(s, t), *text = render(entries), *dir;
	int rc;

	xasprintf(&dir, "%s/memories", s->home);
	if (store_mkdirs(dir, 0700) == -1)
		log_warn("%s", dir);
	free(dir);
	rc = store_write_atomic(path, text, strlen(text), 0600);
	free(path);
	free(text);
	if (rc < 0)
		return store_fail(s, rc == -ENOSPC || rc == -EDQUOT ||
		    rc == -EFBIG ? "nospace" : "io", "cannot write %s: %s "
		    "(the previous file is unchanged)", t->file,
		    strerror(-rc));
	return 0;
}

static char *
drift_error(struct store *s, const struct target *t, const char *raw)
{
	char *path = path_of(s, t), *bak;
	int rc;

	xasprintf(&bak, "%s.bak.%lld", path, (long long)time(NULL));
	rc = store_write_atomic(bak, raw, strlen(raw), 0600);
	free(path);
	if (rc < 0) {
		free(bak);
		return store_tool_fail("Refusing to write %s: file on disk has content "
		    "that wouldn't round-trip through the memory tool, and no "
		    "backup could be saved (%s).", t->file, strerror(-rc));
	}
	path = store_tool_fail("Refusing to write %s: file on disk has content that "
	    "wouldn't round-trip through the memory tool (likely added by the "
	    "patch tool, a shell append, a manual edit, or a concurrent "
	    "session). A snapshot was saved to %s. Resolve the drift first "
	    "\xe2\x80\x94 either rewrite the file as a clean \xc2\xa7-delimited "
	    "list of entries, or move the extra content out \xe2\x80\x94 then "
	    "retry.", t->file, bak);
	free(bak);
	return path;
}

static int
find(json_t *entries, const char *old, size_t *idx)
{
	size_t i, n = 0;
	json_t *v;
	const char *first = NULL;

	json_array_foreach(entries, i, v) {
		if (strstr(json_string_value(v), old) == NULL)
			continue;
		if (first == NULL) {
			first = json_string_value(v);
			*idx = i;
			n = 1;
		} else if (strcmp(first, json_string_value(v)) != 0)
			n = 2;	/* distinct entries match */
	}
	return (int)n;
}

static json_t *
previews(json_t *entries, const char *old)
{
	json_t *arr = json_array(), *v;
	size_t i, k, n, cut;
	const char *e;
	char *p;

	json_array_foreach(entries, i, v) {
		e = json_string_value(v);
		if (strstr(e, old) == NULL)
			continue;
		n = strlen(e);
		/* PREVIEW_CHARS characters, not bytes. */
		for (cut = 0, k = 0; cut < n && k < PREVIEW_CHARS; k++) {
			cut++;
			while (cut < n && ((unsigned char)e[cut] & 0xc0) == 0x80)
				cut++;
		}
		xasprintf(&p, "%.*s%s", (int)cut, e, cut < n ? "..." : "");
		json_array_append_new(arr, json_string(p));
		free(p);
	}
	return arr;
}

static int
contains(json_t *entries, const char *c)
{
	size_t i;
	json_t *v;

	json_array_foreach(entries, i, v)
		if (strcmp(json_string_value(v), c) == 0)
			return 1;
	return 0;
}

static char *
over_limit_add(json_t *entries, const struct target *t, const char *content)
{
	char a[32], b[32];
	size_t cur = chars_of(entries), used, left;

	/* A new entry also costs the 3-character delimiter. */
	used = cur + (cur > 0 ? 3 : 0);
	left = used < (size_t)t->limit ? (size_t)t->limit - used : 0;
	fmt_num(a, sizeof(a), cur);
	fmt_num(b, sizeof(b), (size_t)t->limit);
	return fail_entries(entries, t, "Memory at %s/%s chars. Adding this "
	    "entry (%zu chars) would exceed the limit: %zu chars of room are "
	    "left. Consolidate now: use 'replace' to merge overlapping entries "
	    "into shorter ones or 'remove' stale or less important entries "
	    "(see current_entries below), then retry this add \xe2\x80\x94 all "
	    "in this turn.", a, b, store_utf8_len(content, strlen(content)),
	    left);
}

static char *
op_add(struct store *s, const struct target *t, const char *in)
{
	json_t *entries;
	char *content = strip(in, strlen(in)), *res;
	int drift;

	if (content[0] == '\0') {
		free(content);
		return store_tool_fail("Content cannot be empty.");
	}
	/* Appending never clobbers what is there: no drift guard. */
	if ((entries = load(s, t, &drift, NULL)) == NULL) {
		free(content);
		return NULL;
	}
	if (contains(entries, content)) {
		res = success(entries, t, "Entry already exists (no duplicate "
		    "added).");
		goto out;
	}
	json_array_append_new(entries, json_string(content));
	if (chars_of(entries) > (size_t)t->limit) {
		json_array_remove(entries, json_array_size(entries) - 1);
		res = over_limit_add(entries, t, content);
		goto out;
	}
	if (save(s, t, entries) == -1) {
		res = NULL;
		goto out;
	}
	res = success(entries, t, "Entry added.");
 out:
	free(content);
	json_decref(entries);
	return res;
}

static char *
op_edit(struct store *s, const struct target *t, const char *old_in,
    const char *new_in, int remove)
{
	json_t *entries, *test;
	char *old = strip(old_in, strlen(old_in)), *raw = NULL, *res;
	char *content = new_in ? strip(new_in, strlen(new_in)) : NULL;
	char a[32], b[32];
	size_t idx = 0;
	int drift, n;

	if (old[0] == '\0') {
		res = store_tool_fail("old_text cannot be empty.");
		goto out0;
	}
	if (!remove && (content == NULL || content[0] == '\0')) {
		res = store_tool_fail("new_content cannot be empty. Use 'remove' to "
		    "delete entries.");
		goto out0;
	}
	if ((entries = load(s, t, &drift, &raw)) == NULL) {
		res = NULL;
		goto out0;
	}
	if (drift) {
		res = drift_error(s, t, raw);
		goto out;
	}
	if ((n = find(entries, old, &idx)) == 0) {
		res = fail_entries(entries, t, "No entry matched '%s'. Check "
		    "current_entries below and retry with the exact text of the "
		    "entry you want to %s.", old, remove ? "remove" : "replace");
		goto out;
	}
	if (n > 1) {
		json_t *o = json_object();

		json_object_set_new(o, "success", json_false());
		xasprintf(&res, "Multiple entries matched '%s'. Be more "
		    "specific.", old);
		json_object_set_new(o, "error", store_json_text(res,
		    strlen(res)));
		free(res);
		json_object_set_new(o, "matches", previews(entries, old));
		res = store_tool_text(o);
		goto out;
	}
	test = json_copy(entries);
	if (remove)
		json_array_remove(test, idx);
	else
		json_array_set_new(test, idx, json_string(content));
	if (!remove && chars_of(test) > (size_t)t->limit) {
		fmt_num(a, sizeof(a), chars_of(test));
		fmt_num(b, sizeof(b), (size_t)t->limit);
		json_decref(test);
		res = fail_entries(entries, t, "Replacement would put memory at "
		    "%s/%s chars. Shorten the new content, or 'remove' other "
		    "stale or less important entries to make room (see "
		    "current_entries below), then retry \xe2\x80\x94 all in this "
		    "turn.", a, b);
		goto out;
	}
	if (save(s, t, test) == -1) {
		json_decref(test);
		res = NULL;
		goto out;
	}
	res = success(test, t, remove ? "Entry removed." : "Entry replaced.");
	json_decref(test);
 out:
	json_decref(entries);
	free(raw);
 out0:
	free(old);
	free(content);
	return res;
}

static char *
batch_error(json_t *entries, const struct target *t, const char *msg)
{
	return fail_entries(entries, t, "%s No operations were applied (batch "
	    "is all-or-nothing).", msg);
}

static char *
op_batch(struct store *s, const struct target *t, json_t *ops)
{
	json_t *entries, *work, *op;
	char *raw = NULL, *res = NULL, pos[64], msg[1024], a[32], b[32];
	size_t i, idx = 0;
	int drift, n;

	if (!json_is_array(ops) || json_array_size(ops) == 0)
		return store_tool_fail(json_is_array(ops) ? "operations list is "
		    "empty." : "operations must be a list of {action, content?, "
		    "old_text?} objects.");
	if ((entries = load(s, t, &drift, &raw)) == NULL)
		return NULL;
	if (drift) {
		res = drift_error(s, t, raw);
		json_decref(entries);
		free(raw);
		return res;
	}
	work = json_copy(entries);
	json_array_foreach(ops, i, op) {
		const char *act = json_string_value(json_object_get(op,
		    "action"));
		const char *cin = json_string_value(json_object_get(op,
		    "content"));
		const char *oin = json_string_value(json_object_get(op,
		    "old_text"));
		char *c = strip(cin ? cin : "", cin ? strlen(cin) : 0);
		char *o = strip(oin ? oin : "", oin ? strlen(oin) : 0);

		snprintf(pos, sizeof(pos), "Operation %zu (%s)", i + 1,
		    act ? act : "unknown");
		msg[0] = '\0';
		if (act != NULL && strcmp(act, "add") == 0) {
			if (c[0] == '\0')
				snprintf(msg, sizeof(msg), "%s: content is "
				    "required.", pos);
			else if (!contains(work, c))
				json_array_append_new(work, json_string(c));
		} else if (act != NULL && (strcmp(act, "replace") == 0 ||
		    strcmp(act, "remove") == 0)) {
			int rm = act[2] == 'm';

			if (o[0] == '\0')
				snprintf(msg, sizeof(msg), "%s: old_text is "
				    "required.", pos);
			else if (!rm && c[0] == '\0')
				snprintf(msg, sizeof(msg), "%s: content is "
				    "required (use action='remove' to delete).",
				    pos);
			else if ((n = find(work, o, &idx)) == 0)
				snprintf(msg, sizeof(msg), "%s: no entry matched "
				    "'%s'.", pos, o);
			else if (n > 1)
				snprintf(msg, sizeof(msg), "%s: '%s' matched "
				    "multiple distinct entries -- be more "
				    "specific.", pos, o);
			else if (rm)
				json_array_remove(work, idx);
			else
				json_array_set_new(work, idx, json_string(c));
		} else
			snprintf(msg, sizeof(msg), "%s: unknown action. Use add, "
			    "replace, or remove.", pos);
		free(c);
		free(o);
		if (msg[0] != '\0') {
			res = batch_error(entries, t, msg);
			goto out;
		}
	}
	if (chars_of(work) > (size_t)t->limit) {
		fmt_num(a, sizeof(a), chars_of(work));
		fmt_num(b, sizeof(b), (size_t)t->limit);
		res = fail_entries(entries, t, "After applying all %zu "
		    "operations, memory would be at %s/%s chars -- over the "
		    "limit by %zu. Remove or shorten more entries in the same "
		    "batch (see current_entries below), then retry.",
		    json_array_size(ops), a, b, chars_of(work) -
		    (size_t)t->limit);
		goto out;
	}
	if (save(s, t, work) == -1)
		goto out;
	snprintf(msg, sizeof(msg), "Applied %zu operation(s).",
	    json_array_size(ops));
	res = success(work, t, msg);
 out:
	json_decref(work);
	json_decref(entries);
	free(raw);
	return res;
}

char *
store_memory_tool(struct store *s, json_t *args)
{
	const char *action, *target, *content, *old;
	struct target t;
	json_t *ops;

	if (store_arg_str(s, args, "action", 0, &action) == -1 ||
	    store_arg_str(s, args, "target", 0, &target) == -1 ||
	    store_arg_str(s, args, "content", 0, &content) == -1 ||
	    store_arg_str(s, args, "old_text", 0, &old) == -1)
		return store_tool_fail("%s", s->err);
	if (target == NULL)
		target = "memory";
	if (strcmp(target, "memory") != 0 && strcmp(target, "user") != 0)
		return store_tool_fail("Invalid target '%s'. Use 'memory' or 'user'.",
		    target);
	target_of(s, target, &t);
	ops = json_object_get(args, "operations");
	if (ops != NULL && !json_is_null(ops) && !(json_is_array(ops) &&
	    json_array_size(ops) == 0))
		return op_batch(s, &t, ops);
	if (action == NULL)
		return store_tool_fail("Unknown action 'None'. Use: add, replace, "
		    "remove");
	if (strcmp(action, "add") == 0) {
		if (content == NULL || content[0] == '\0')
			return store_tool_fail("Content is required for 'add' "
			    "action.");
		return op_add(s, &t, content);
	}
	if (strcmp(action, "replace") == 0 || strcmp(action, "remove") == 0) {
		int rm = action[2] == 'm';
		json_t *entries;
		int drift;
		char *res;

		if (!rm && old != NULL && old[0] != '\0' &&
		    (content == NULL || content[0] == '\0'))
			return store_tool_fail("content is required for 'replace' "
			    "action.");
		if (old == NULL || old[0] == '\0') {
			if ((entries = load(s, &t, &drift, NULL)) == NULL)
				return NULL;
			res = fail_entries(entries, &t, "'%s' needs old_text -- "
			    "a short unique substring of the entry to %s. None "
			    "was provided. Reissue the %s with old_text set to "
			    "part of one of the current_entries below.", action,
			    action, action);
			json_decref(entries);
			return res;
		}
		return op_edit(s, &t, old, content, rm);
	}
	return store_tool_fail("Unknown action '%s'. Use: add, replace, remove",
	    action);
}

static json_t *
block(struct store *s, const struct target *t, json_t *entries)
{
	char a[32], b[32], *r, *out;
	static const char bar[] =
	    "\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90"
	    "\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90\xe2\x95\x90";
	char sep[46 * 3 + 1];
	size_t cur, i;
	json_t *v;

	(void)s;
	if (json_array_size(entries) == 0)
		return json_string("");
	for (i = 0; i < 46; i++)
		memcpy(sep + i * 3, bar, 3);
	sep[46 * 3] = '\0';
	r = render(entries);
	cur = store_utf8_len(r, strlen(r));
	fmt_num(a, sizeof(a), cur);
	fmt_num(b, sizeof(b), (size_t)t->limit);
	xasprintf(&out, "%s\n%s [%d%% \xe2\x80\x94 %s/%s chars]\n%s\n%s", sep,
	    t->header, pct_of(cur, t->limit), a, b, sep, r);
	v = json_string(out);
	free(out);
	free(r);
	return v;
}

json_t *
store_memory_snapshot(struct store *s)
{
	static const char *const names[] = { "memory", "user" };
	json_t *res = json_object(), *entries;
	struct target t;
	char key[32];
	size_t i;
	int drift;

	for (i = 0; i < nitems(names); i++) {
		target_of(s, names[i], &t);
		if ((entries = load(s, &t, &drift, NULL)) == NULL) {
			json_decref(res);
			return NULL;
		}
		snprintf(key, sizeof(key), "%s_block", names[i]);
		json_object_set_new(res, key, block(s, &t, entries));
		json_object_set_new(res, names[i], entries);
	}
	return res;
}
