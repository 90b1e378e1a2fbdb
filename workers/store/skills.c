/*
 * Skills: skills/<category>/<name>/SKILL.md with agentskills.io YAML
 * frontmatter (libyaml), the skills_list / skill_view / skill_manage
 * tools, and the index the agent puts in the system prompt.
 *
 * Names and paths come from the model: names are checked against the
 * charset, supporting files must sit under an allowed subdirectory, and
 * every open walks the path without following symlinks.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <yaml.h>

#include "ipc/util.h"
#include "workers/store/store.h"

#define FRONTMATTER_MAX	(64 * 1024)
#define YAML_NODES_MAX	4096
#define SCAN_DEPTH	4
#define VIEW_FILE_MAX	(1024 * 1024)

static const char *const allowed_subdirs[] = { "references", "templates",
    "scripts", "assets" };

/* ---- frontmatter -------------------------------------------------------- */

struct yctx {
	yaml_parser_t	 p;
	int		 nodes;
	char		*err;
	size_t		 errlen;
};

static json_t *ynode(struct yctx *, yaml_event_t *, int depth);

static int
ynext(struct yctx *y, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&y->p, ev)) {
		snprintf(y->err, y->errlen, "invalid YAML frontmatter: %s (line "
		    "%zu)", y->p.problem ? y->p.problem : "syntax error",
		    y->p.problem_mark.line + 1);
		return -1;
	}
	if (++y->nodes > YAML_NODES_MAX) {
		yaml_event_delete(ev);
		snprintf(y->err, y->errlen, "frontmatter is too complex");
		return -1;
	}
	return 0;
}

static json_t *
yscalar(yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;

	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0)
			return json_true();
		if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0)
			return json_false();
		if (len == 0 || strcmp(v, "null") == 0 || strcmp(v, "~") == 0)
			return json_null();
	}
	return store_json_text(v, len);
}

/* Build the value that starts with *ev (consumed). */
static json_t *
ynode(struct yctx *y, yaml_event_t *ev, int depth)
{
	yaml_event_t e;
	json_t *v = NULL, *k;

	if (depth > STORE_YAML_DEPTH) {
		snprintf(y->err, y->errlen, "frontmatter nests too deeply");
		yaml_event_delete(ev);
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		v = yscalar(ev);
		yaml_event_delete(ev);
		return v;
	case YAML_ALIAS_EVENT:
		snprintf(y->err, y->errlen, "YAML aliases are not allowed in "
		    "frontmatter");
		yaml_event_delete(ev);
		return NULL;
	case YAML_SEQUENCE_START_EVENT:
		yaml_event_delete(ev);
		v = json_array();
		for (;;) {
			json_t *item;

			if (ynext(y, &e) == -1)
				goto fail;
			if (e.type == YAML_SEQUENCE_END_EVENT) {
				yaml_event_delete(&e);
				return v;
			}
			if ((item = ynode(y, &e, depth + 1)) == NULL)
				goto fail;
			json_array_append_new(v, item);
		}
	case YAML_MAPPING_START_EVENT:
		yaml_event_delete(ev);
		v = json_object();
		for (;;) {
			json_t *val;
			char *key;

			if (ynext(y, &e) == -1)
				goto fail;
			if (e.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&e);
				return v;
			}
			if (e.type != YAML_SCALAR_EVENT) {
				snprintf(y->err, y->errlen, "frontmatter keys "
				    "must be plain strings");
				yaml_event_delete(&e);
				goto fail;
			}
			k = store_json_text((const char *)e.data.scalar.value,
			    e.data.scalar.length);
			key = xstrdup(json_string_value(k));
			json_decref(k);
			yaml_event_delete(&e);
			if (ynext(y, &e) == -1) {
				free(key);
				goto fail;
			}
			if ((val = ynode(y, &e, depth + 1)) == NULL) {
				free(key);
				goto fail;
			}
			json_object_set_new(v, key, val);
			free(key);
		}
	default:
		snprintf(y->err, y->errlen, "unexpected YAML structure");
		yaml_event_delete(ev);
		return NULL;
	}
 fail:
	json_decref(v);
	return NULL;
}

/* Find the frontmatter: YAML at [*yoff, *yoff + *ylen), body at *body. */
static int
split_frontmatter(const char *text, size_t len, size_t *yoff, size_t *ylen,
    size_t *body)
{
	size_t i = 0, ls, le, k;
	const char *nl;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		i = 3;	/* a BOM */
	if (len - i < 4 || memcmp(text + i, "---", 3) != 0)
		return -1;
	i += 3;
	if (i < len && text[i] == '\r')
		i++;
	if (i >= len || text[i] != '\n')
		return -1;
	*yoff = ++i;
	for (ls = i; ls < len; ls = le + 1) {
		nl = memchr(text + ls, '\n', len - ls);
		le = nl != NULL ? (size_t)(nl - text) : len;
		if (le - ls >= 3 && (memcmp(text + ls, "---", 3) == 0 ||
		    memcmp(text + ls, "...", 3) == 0)) {
			for (k = ls + 3; k < le && (text[k] == ' ' ||
			    text[k] == '\t' || text[k] == '\r'); k++)
				;
			if (k == le) {
				*ylen = ls - *yoff;
				*body = le < len ? le + 1 : len;
				return 0;
			}
		}
		if (nl == NULL)
			break;
	}
	return -1;
}

json_t *
store_skill_frontmatter(const char *text, size_t len, size_t *body_off,
    char *err, size_t errlen)
{
	struct yctx y;
	yaml_event_t ev;
	json_t *root = NULL;
	size_t off, ylen, body;
	int done = 0;

	if (split_frontmatter(text, len, &off, &ylen, &body) == -1) {
		snprintf(err, errlen, "SKILL.md must start with YAML frontmatter "
		    "(---) closed by a --- line");
		return NULL;
	}
	if (ylen > FRONTMATTER_MAX) {
		snprintf(err, errlen, "frontmatter is larger than %d bytes",
		    FRONTMATTER_MAX);
		return NULL;
	}
	memset(&y, 0, sizeof(y));
	y.err = err;
	y.errlen = errlen;
	err[0] = '\0';
	if (!yaml_parser_initialize(&y.p)) {
		snprintf(err, errlen, "cannot initialise the YAML parser");
		return NULL;
	}
	yaml_parser_set_input_string(&y.p, (const unsigned char *)text + off,
	    ylen);
	while (!done) {
		if (ynext(&y, &ev) == -1)
			break;
		switch (ev.type) {
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_START_EVENT:
			yaml_event_delete(&ev);
			break;
		case YAML_STREAM_END_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			yaml_event_delete(&ev);
			done = 1;
			break;
		default:
			if (root != NULL) {
				yaml_event_delete(&ev);
				snprintf(err, errlen, "more than one YAML "
				    "document in frontmatter");
				json_decref(root);
				root = NULL;
				done = 1;
				break;
			}
			if ((root = ynode(&y, &ev, 0)) == NULL)
				done = 1;
			break;
		}
	}
	yaml_parser_delete(&y.p);
	if (root == NULL) {
		if (err[0] == '\0')
			snprintf(err, errlen, "empty frontmatter");
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		snprintf(err, errlen, "frontmatter must be a YAML mapping");
		return NULL;
	}
	if (body_off != NULL)
		*body_off = body;
	return root;
}

int
store_skill_name_ok(const char *n)
{
	size_t len = strlen(n);

	if (len == 0 || len > STORE_SKILL_NAME_MAX)
		return 0;
	if (!((n[0] >= 'a' && n[0] <= 'z') || (n[0] >= '0' && n[0] <= '9')))
		return 0;
	return strspn(n, "abcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

int
store_skill_relpath_ok(const char *p, char *err, size_t errlen)
{
	const char *c, *e;
	size_t i, n;
	int ok = 0;

	if (p[0] == '\0' || p[0] == '/' || strlen(p) > 512) {
		snprintf(err, errlen, "file_path must be a relative path inside "
		    "the skill");
		return 0;
	}
	for (c = p; *c != '\0'; c = *e ? e + 1 : e) {
		if ((e = strchr(c, '/')) == NULL)
			e = c + strlen(c);
		n = (size_t)(e - c);
		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.')) {
			snprintf(err, errlen, "Path traversal ('..') is not "
			    "allowed.");
			return 0;
		}
		for (i = 0; i < n; i++) {
			if ((unsigned char)c[i] < 0x20 || c[i] == '\\') {
				snprintf(err, errlen, "file_path contains "
				    "invalid characters");
				return 0;
			}
		}
	}
	for (i = 0; i < nitems(allowed_subdirs); i++) {
		n = strlen(allowed_subdirs[i]);
		if (strncmp(p, allowed_subdirs[i], n) == 0 && p[n] == '/' &&
		    p[n + 1] != '\0')
			ok = 1;
	}
	if (!ok)
		snprintf(err, errlen, "file_path must be under one of "
		    "references/, templates/, scripts/, assets/");
	return ok;
}

/* ---- scanning ----------------------------------------------------------- */

struct skill {
	char	*name;
	char	*description;
	char	*category;	/* NULL at the top level */
	char	*rel;		/* skills/-relative directory */
	json_t	*fm;
	int	 platform_ok;
};

struct scan {
	struct skill	*v;
	size_t		 n, cap;
	json_t		*invalid;	/* [{path, error}] */
};

static char *
skills_root(struct store *s)
{
	char *p;

	xasprintf(&p, "%s/skills", s->home);
	return p;
}

static int
platform_ok(json_t *fm)
{
	json_t *pl = json_object_get(fm, "platforms"), *v;
	size_t i;

	if (pl == NULL || json_is_null(pl))
		return 1;
	if (json_is_string(pl))
		return strcmp(json_string_value(pl), "linux") == 0;
	if (!json_is_array(pl) || json_array_size(pl) == 0)
		return 1;
	json_array_foreach(pl, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), "linux")
		    == 0)
			return 1;
	return 0;
}

static void
add_invalid(struct scan *sc, const char *rel, const char *err)
{
	json_t *o = json_object();
	char *p;

	xasprintf(&p, "%s/SKILL.md", rel);
	json_object_set_new(o, "path", store_json_text(p, strlen(p)));
	json_object_set_new(o, "error", store_json_text(err, strlen(err)));
	json_array_append_new(sc->invalid, o);
	free(p);
}

/* Read and check one skill directory (rel to root). */
static void
load_skill(const char *root, const char *rel, struct scan *sc)
{
	char err[256], *text, *path;
	const char *name, *desc, *slash;
	size_t len, body, i;
	struct skill sk;
	json_t *fm;
	int fd;

	fd = store_open_beneath(root, rel, O_RDONLY | O_DIRECTORY, 0, 0);
	if (fd == -1)
		return;
	close(fd);
	xasprintf(&path, "%s/%s/SKILL.md", root, rel);
	text = store_read_file(path, (size_t)STORE_SKILL_MAX * 4, &len);
	free(path);
	if (text == NULL) {
		if (errno != ENOENT)
			add_invalid(sc, rel, errno == EFBIG ?
			    "SKILL.md is too large" : strerror(errno));
		return;
	}
	if ((fm = store_skill_frontmatter(text, len, &body, err,
	    sizeof(err))) == NULL) {
		add_invalid(sc, rel, err);
		free(text);
		return;
	}
	slash = strrchr(rel, '/');
	name = json_string_value(json_object_get(fm, "name"));
	if (name == NULL)
		name = slash ? slash + 1 : rel;
	desc = json_string_value(json_object_get(fm, "description"));
	if (!store_skill_name_ok(name)) {
		add_invalid(sc, rel, "invalid skill name");
		goto out;
	}
	for (i = 0; i < sc->n; i++) {
		if (strcmp(sc->v[i].name, name) == 0) {
			add_invalid(sc, rel, "duplicate skill name");
			goto out;
		}
	}
	if (sc->n >= STORE_SKILL_SCAN_MAX)
		goto out;
	memset(&sk, 0, sizeof(sk));
	sk.name = xstrdup(name);
	if (desc == NULL || desc[0] == '\0') {
		/* Hermes falls back to the first non-heading body line. */
		const char *p = text + body, *e;

		desc = "";
		while (*p != '\0') {
			e = strchr(p, '\n');
			if (e == NULL)
				e = p + strlen(p);
			while (p < e && (*p == ' ' || *p == '\t'))
				p++;
			if (p < e && *p != '#') {
				sk.description = xstrndup(p, (size_t)(e - p));
				break;
			}
			p = *e ? e + 1 : e;
		}
	}
	if (sk.description == NULL)
		sk.description = xstrdup(desc);
	if (store_utf8_len(sk.description, strlen(sk.description)) >
	    STORE_SKILL_DESC_MAX) {
		/* Cut to the limit (on a character boundary) with "...". */
		size_t k = 0, c = 0;

		while (sk.description[k] != '\0' && c < STORE_SKILL_DESC_MAX - 3) {
			k++;
			while (((unsigned char)sk.description[k] & 0xc0) == 0x80)
				k++;
			c++;
		}
		strcpy(sk.description + k, "...");
	}
	if (slash != NULL)
		sk.category = xstrndup(rel, strcspn(rel, "/"));
	sk.rel = xstrdup(rel);
	sk.fm = fm;
	fm = NULL;
	sk.platform_ok = platform_ok(sk.fm);
	if (sc->n == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 16;
		sc->v = xreallocarray(sc->v, sc->cap, sizeof(*sc->v));
	}
	sc->v[sc->n++] = sk;
 out:
	json_decref(fm);
	free(text);
}

static void
walk(const char *root, const char *rel, int depth, struct scan *sc)
{
	struct dirent *de;
	char *sub;
	DIR *d;
	int fd, has_skill = 0;

	fd = rel[0] ? store_open_beneath(root, rel, O_RDONLY | O_DIRECTORY, 0,
	    0) : open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, "SKILL.md") == 0)
			has_skill = 1;
	if (has_skill && rel[0] != '\0') {
		load_skill(root, rel, sc);
		closedir(d);
		return;
	}
	rewinddir(d);
	while (depth < SCAN_DEPTH && (de = readdir(d)) != NULL) {
		/* .archive, .hub and friends are bookkeeping, not skills. */
		if (de->d_name[0] == '.' || de->d_type == DT_LNK ||
		    (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
			continue;
		xasprintf(&sub, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
		walk(root, sub, depth + 1, sc);
		free(sub);
	}
	closedir(d);
}

static int
skill_cmp(const void *a, const void *b)
{
	const struct skill *x = a, *y = b;
	int c = strcmp(x->category ? x->category : "", y->category ?
	    y->category : "");

	return c != 0 ? c : strcmp(x->name, y->name);
}

static void
scan(struct store *s, struct scan *sc)
{
	char *root = skills_root(s);

	memset(sc, 0, sizeof(*sc));
	sc->invalid = json_array();
	walk(root, "", 0, sc);
	free(root);
	if (sc->n > 0)
		qsort(sc->v, sc->n, sizeof(*sc->v), skill_cmp);
}

static void
scan_free(struct scan *sc)
{
	size_t i;

	for (i = 0; i < sc->n; i++) {
		free(sc->v[i].name);
		free(sc->v[i].description);
		free(sc->v[i].category);
		free(sc->v[i].rel);
		json_decref(sc->v[i].fm);
	}
	free(sc->v);
	json_decref(sc->invalid);
}

static struct skill *
lookup(struct scan *sc, const char *name)
{
	size_t i;

	for (i = 0; i < sc->n; i++)
		if (strcmp(sc->v[i].name, name) == 0)
			return &sc->v[i];
	/* A directory name that differs from the frontmatter name. */
	for (i = 0; i < sc->n; i++) {
		const char *b = strrchr(sc->v[i].rel, '/');

		if (strcmp(b ? b + 1 : sc->v[i].rel, name) == 0)
			return &sc->v[i];
	}
	return NULL;
}

/* ---- tool text -------------------------------------------------------- */

static char *
ok_message(const char *msg, json_t *extra)
{
	json_t *o = json_object();

	json_object_set_new(o, "success", json_true());
	json_object_set_new(o, "message", store_json_text(msg, strlen(msg)));
	if (extra != NULL) {
		json_object_update(o, extra);
		json_decref(extra);
	}
	return store_tool_text(o);
}

char *
store_skills_list(struct store *s, json_t *args)
{
	const char *category;
	struct scan sc;
	json_t *o, *arr, *cats;
	size_t i;

	if (store_arg_str(s, args, "category", 0, &category) == -1)
		return store_tool_fail("%s", s->err);
	scan(s, &sc);
	o = json_object();
	arr = json_array();
	cats = json_array();
	for (i = 0; i < sc.n; i++) {
		struct skill *k = &sc.v[i];
		json_t *e;

		if (!k->platform_ok || (category != NULL && (k->category ==
		    NULL || strcmp(k->category, category) != 0)))
			continue;
		e = json_object();
		json_object_set_new(e, "name", json_string(k->name));
		json_object_set_new(e, "description", store_json_text(
		    k->description, strlen(k->description)));
		json_object_set_new(e, "category", k->category ?
		    json_string(k->category) : json_null());
		json_array_append_new(arr, e);
		if (k->category != NULL && (json_array_size(cats) == 0 ||
		    strcmp(json_string_value(json_array_get(cats,
		    json_array_size(cats) - 1)), k->category) != 0))
			json_array_append_new(cats, json_string(k->category));
	}
	json_object_set_new(o, "success", json_true());
	json_object_set_new(o, "skills", arr);
	json_object_set_new(o, "categories", cats);
	if (sc.n == 0)
		json_object_set_new(o, "message", json_string("No skills found "
		    "in skills/ directory."));
	else {
		json_object_set_new(o, "count", json_integer((json_int_t)
		    json_array_size(arr)));
		json_object_set_new(o, "hint", json_string("Use skill_view(name) "
		    "to see full content, tags, and linked files"));
	}
	scan_free(&sc);
	return store_tool_text(o);
}

json_t *
store_skills_index(struct store *s)
{
	struct scan sc;
	json_t *o, *arr;
	size_t i;

	scan(s, &sc);
	arr = json_array();
	for (i = 0; i < sc.n; i++) {
		struct skill *k = &sc.v[i];
		json_t *e = json_object(), *pl;

		json_object_set_new(e, "name", json_string(k->name));
		json_object_set_new(e, "description", store_json_text(
		    k->description, strlen(k->description)));
		json_object_set_new(e, "category", k->category ?
		    json_string(k->category) : json_null());
		pl = json_object_get(k->fm, "platforms");
		json_object_set(e, "platforms", pl ? pl : json_null());
		json_object_set_new(e, "available", json_boolean(k->platform_ok));
		json_array_append_new(arr, e);
	}
	o = json_object();
	json_object_set_new(o, "skills", arr);
	json_object_set(o, "invalid", sc.invalid);
	scan_free(&sc);
	return o;
}

/* Files under the allowed subdirectories of a skill (2 levels). */
static json_t *
linked_files(const char *root, const char *rel)
{
	json_t *o = json_object();
	struct dirent *de;
	char *sub;
	size_t i;
	DIR *d;
	int fd;

	for (i = 0; i < nitems(allowed_subdirs); i++) {
		json_t *arr = json_array();

		xasprintf(&sub, "%s/%s", rel, allowed_subdirs[i]);
		fd = store_open_beneath(root, sub, O_RDONLY | O_DIRECTORY, 0, 0);
		free(sub);
		if (fd != -1 && (d = fdopendir(fd)) != NULL) {
			while ((de = readdir(d)) != NULL &&
			    json_array_size(arr) < 200) {
				if (de->d_name[0] == '.' || de->d_type != DT_REG)
					continue;
				xasprintf(&sub, "%s/%s", allowed_subdirs[i],
				    de->d_name);
				json_array_append_new(arr, store_json_text(sub,
				    strlen(sub)));
				free(sub);
			}
			closedir(d);
		} else if (fd != -1)
			close(fd);
		if (json_array_size(arr) > 0)
			json_object_set_new(o, allowed_subdirs[i], arr);
		else
			json_decref(arr);
	}
	if (json_object_size(o) == 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
hermes_list(json_t *fm, const char *key)
{
	json_t *meta = json_object_get(json_object_get(fm, "metadata"),
	    "hermes");
	json_t *v = json_object_get(meta, key);

	if (v == NULL)
		v = json_object_get(fm, key);
	if (json_is_array(v))
		return json_copy(v);
	if (json_is_string(v)) {	/* "a, b" */
		json_t *arr = json_array();
		char *c = xstrdup(json_string_value(v)), *p, *save;

		for (p = strtok_r(c, ",", &save); p; p = strtok_r(NULL, ",",
		    &save)) {
			while (*p == ' ')
				p++;
			if (*p != '\0')
				json_array_append_new(arr, json_string(p));
		}
		free(c);
		return arr;
	}
	return json_array();
}

static char *
view_file(const char *root, struct skill *k, const char *file)
{
	char err[256], *rel, *data;
	struct stat st;
	ssize_t n;
	size_t len = 0;
	json_t *o, *lf, *text;
	const char *dot;
	int fd;

	if (!store_skill_relpath_ok(file, err, sizeof(err))) {
		o = json_object();
		json_object_set_new(o, "success", json_false());
		json_object_set_new(o, "error", json_string(err));
		json_object_set_new(o, "hint", json_string("Use a relative path "
		    "within the skill directory"));
		return store_tool_text(o);
	}
	xasprintf(&rel, "%s/%s", k->rel, file);
	fd = store_open_beneath(root, rel, O_RDONLY, 0, 0);
	free(rel);
	if (fd == -1 || fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		if (fd != -1)
			close(fd);
		o = json_object();
		json_object_set_new(o, "success", json_false());
		xasprintf(&rel, "File '%s' not found in skill '%s'.", file,
		    k->name);
		json_object_set_new(o, "error", store_json_text(rel,
		    strlen(rel)));
		free(rel);
		lf = linked_files(root, k->rel);
		json_object_set_new(o, "available_files", lf ? lf :
		    json_object());
		json_object_set_new(o, "hint", json_string("Use one of the "
		    "available file paths listed above"));
		return store_tool_text(o);
	}
	if (st.st_size > VIEW_FILE_MAX) {
		close(fd);
		return store_tool_fail("File '%s' is larger than %d bytes.", file,
		    VIEW_FILE_MAX);
	}
	data = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size && (n = read(fd, data + len,
	    (size_t)st.st_size - len)) > 0)
		len += (size_t)n;
	close(fd);
	data[len] = '\0';
	o = json_object();
	json_object_set_new(o, "success", json_true());
	json_object_set_new(o, "name", json_string(k->name));
	json_object_set_new(o, "file", store_json_text(file, strlen(file)));
	text = memchr(data, '\0', len) == NULL ? json_stringn(data, len) :
	    NULL;
	if (text == NULL) {
		const char *b = strrchr(file, '/');

		xasprintf(&rel, "[Binary file: %s, size: %zu bytes]", b ? b + 1 :
		    file, len);
		json_object_set_new(o, "content", store_json_text(rel,
		    strlen(rel)));
		json_object_set_new(o, "is_binary", json_true());
		free(rel);
	} else {
		json_object_set_new(o, "content", text);
		dot = strrchr(file, '.');
		json_object_set_new(o, "file_type", json_string(dot &&
		    strchr(dot, '/') == NULL ? dot : ""));
	}
	free(data);
	return store_tool_text(o);
}

char *
store_skill_view(struct store *s, json_t *args)
{
	const char *name, *file;
	struct scan sc;
	struct skill *k;
	char *root, *path, *text, *res;
	json_t *o, *lf, *avail;
	size_t len, i;

	if (store_arg_str(s, args, "name", 1, &name) == -1 ||
	    store_arg_str(s, args, "file_path", 0, &file) == -1)
		return store_tool_fail("%s", s->err);
	if (!store_skill_name_ok(name) && strchr(name, '/') == NULL)
		return store_tool_fail("Invalid skill name '%s'.", name);
	if (strchr(name, '/') != NULL)	/* "category/name" */
		name = strrchr(name, '/') + 1;
	scan(s, &sc);
	if ((k = lookup(&sc, name)) == NULL) {
		o = json_object();
		json_object_set_new(o, "success", json_false());
		xasprintf(&res, "Skill '%s' not found.", name);
		json_object_set_new(o, "error", store_json_text(res,
		    strlen(res)));
		free(res);
		avail = json_array();
		for (i = 0; i < sc.n && i < 20; i++)
			json_array_append_new(avail, json_string(sc.v[i].name));
		json_object_set_new(o, "available_skills", avail);
		json_object_set_new(o, "hint", json_string("Use skills_list to "
		    "see all available skills"));
		scan_free(&sc);
		return store_tool_text(o);
	}
	root = skills_root(s);
	if (file != NULL && file[0] != '\0') {
		res = view_file(root, k, file);
		free(root);
		scan_free(&sc);
		return res;
	}
	xasprintf(&path, "%s/%s/SKILL.md", root, k->rel);
	text = store_read_file(path, (size_t)STORE_SKILL_MAX * 4, &len);
	if (text == NULL) {
		res = store_tool_fail("Failed to read skill '%s': %s", name,
		    strerror(errno));
		goto out;
	}
	if (!k->platform_ok) {
		free(text);
		res = store_tool_fail("Skill '%s' is not supported on this platform.",
		    name);
		goto out;
	}
	o = json_object();
	json_object_set_new(o, "success", json_true());
	json_object_set_new(o, "name", json_string(k->name));
	if (json_is_string(json_object_get(k->fm, "description")))
		json_object_set(o, "description", json_object_get(k->fm,
		    "description"));
	else
		json_object_set_new(o, "description", json_string(""));
	json_object_set_new(o, "tags", hermes_list(k->fm, "tags"));
	json_object_set_new(o, "related_skills", hermes_list(k->fm,
	    "related_skills"));
	json_object_set_new(o, "content", store_json_text(text, len));
	free(text);
	xasprintf(&res, "%s/SKILL.md", k->rel);
	json_object_set_new(o, "path", json_string(res));
	free(res);
	xasprintf(&res, "%s/%s", root, k->rel);
	json_object_set_new(o, "skill_dir", json_string(res));
	free(res);
	lf = linked_files(root, k->rel);
	json_object_set_new(o, "linked_files", lf ? lf : json_null());
	json_object_set_new(o, "usage_hint", lf ? json_string("To view linked "
	    "files, call skill_view(name, file_path) where file_path is e.g. "
	    "'references/api.md' or 'assets/config.yaml'") : json_null());
	json_object_set_new(o, "required_environment_variables",
	    hermes_list(k->fm, "required_environment_variables"));
	json_object_set_new(o, "required_commands", json_array());
	json_object_set_new(o, "missing_required_environment_variables",
	    json_array());
	json_object_set_new(o, "missing_credential_files", json_array());
	json_object_set_new(o, "missing_required_commands", json_array());
	json_object_set_new(o, "setup_needed", json_false());
	json_object_set_new(o, "setup_skipped", json_false());
	json_object_set_new(o, "readiness_status", json_string("available"));
	res = store_tool_text(o);
 out:
	free(path);
	free(root);
	scan_free(&sc);
	return res;
}

/* ---- skill_manage ------------------------------------------------------- */

/* Check a full SKILL.md text; NULL if fine, else a message (static). */
static const char *
check_skill_md(const char *content, char *err, size_t errlen)
{
	size_t len = strlen(content);
	json_t *fm, *name, *desc;

	if (store_utf8_len(content, len) > STORE_SKILL_MAX) {
		snprintf(err, errlen, "SKILL.md content is %zu characters "
		    "(limit: 100,000). Move detail into references/ files.",
		    store_utf8_len(content, len));
		return err;
	}
	if ((fm = store_skill_frontmatter(content, len, NULL, err, errlen)) ==
	    NULL)
		return err;
	name = json_object_get(fm, "name");
	desc = json_object_get(fm, "description");
	if (!json_is_string(name) || json_string_length(name) == 0)
		snprintf(err, errlen, "Frontmatter must include 'name'.");
	else if (!json_is_string(desc) || json_string_length(desc) == 0)
		snprintf(err, errlen, "Frontmatter must include 'description'.");
	else if (store_utf8_len(json_string_value(desc),
	    json_string_length(desc)) > STORE_SKILL_DESC_MAX)
		snprintf(err, errlen, "Description exceeds %d characters.",
		    STORE_SKILL_DESC_MAX);
	else
		err[0] = '\0';
	json_decref(fm);
	return err[0] ? err : NULL;
}

static const char *
name_error(const char *name, char *err, size_t errlen)
{
	if (name == NULL || name[0] == '\0')
		snprintf(err, errlen, "Skill name is required.");
	else if (strlen(name) > STORE_SKILL_NAME_MAX)
		snprintf(err, errlen, "Skill name exceeds %d characters.",
		    STORE_SKILL_NAME_MAX);
	else if (!store_skill_name_ok(name))
		snprintf(err, errlen, "Invalid skill name '%.80s'. Use lowercase "
		    "letters, numbers, hyphens, dots, and underscores. Must "
		    "start with a letter or digit.", name);
	else
		return NULL;
	return err;
}

static char *
io_fail(struct store *s, int rc, const char *what)
{
	store_fail(s, rc == -ENOSPC || rc == -EDQUOT || rc == -EFBIG ?
	    "nospace" : "io", "%s: %s", what, strerror(-rc));
	return store_tool_fail("%s: %s", what, strerror(-rc));
}

static char *
m_create(struct store *s, const char *root, struct scan *sc, const char *name,
    json_t *args)
{
	const char *content, *category;
	char err[512], *rel;
	json_t *extra;
	int rc;

	if (store_arg_str(s, args, "content", 0, &content) == -1 ||
	    store_arg_str(s, args, "category", 0, &category) == -1)
		return store_tool_fail("%s", s->err);
	if (content == NULL || content[0] == '\0')
		return store_tool_fail("content is required for 'create' (the full SKILL.md "
		    "with YAML frontmatter).");
	if (category != NULL && category[0] != '\0' &&
	    (strlen(category) > STORE_SKILL_NAME_MAX ||
	    !store_skill_name_ok(category)))
		return store_tool_fail("Invalid category '%.80s'. Use lowercase letters, "
		    "numbers, hyphens, dots, and underscores.", category);
	if (check_skill_md(content, err, sizeof(err)) != NULL)
		return store_tool_fail("%s", err);
	if (lookup(sc, name) != NULL)
		return store_tool_fail("A skill named '%s' already exists at %s.", name,
		    lookup(sc, name)->rel);
	if (category != NULL && category[0] != '\0')
		xasprintf(&rel, "%s/%s/SKILL.md", category, name);
	else
		xasprintf(&rel, "%s/SKILL.md", name);
	rc = store_write_beneath(root, rel, content, strlen(content));
	if (rc < 0) {
		free(rel);
		return io_fail(s, rc, "cannot write SKILL.md");
	}
	rel[strlen(rel) - strlen("/SKILL.md")] = '\0';
	extra = json_object();
	json_object_set_new(extra, "path", json_string(rel));
	json_object_set_new(extra, "category", category && category[0] ?
	    json_string(category) : json_null());
	free(rel);
	snprintf(err, sizeof(err), "Skill '%s' created.", name);
	return ok_message(err, extra);
}

static char *
m_edit(struct store *s, const char *root, struct skill *k, json_t *args)
{
	const char *content;
	char err[512], *rel;
	int rc;

	if (store_arg_str(s, args, "content", 0, &content) == -1)
		return store_tool_fail("%s", s->err);
	if (content == NULL || content[0] == '\0')
		return store_tool_fail("content is required for 'edit' (the full new "
		    "SKILL.md).");
	if (check_skill_md(content, err, sizeof(err)) != NULL)
		return store_tool_fail("%s", err);
	xasprintf(&rel, "%s/SKILL.md", k->rel);
	rc = store_write_beneath(root, rel, content, strlen(content));
	free(rel);
	if (rc < 0)
		return io_fail(s, rc, "cannot write SKILL.md");
	snprintf(err, sizeof(err), "Skill '%s' updated (full rewrite).",
	    k->name);
	return ok_message(err, NULL);
}

static size_t
count_occ(const char *hay, const char *needle)
{
	size_t n = 0, l = strlen(needle);
	const char *p = hay;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += l;
	}
	return n;
}

static char *
m_patch(struct store *s, const char *root, struct skill *k, json_t *args)
{
	const char *old, *new, *file, *p, *q;
	char err[512], *rel, *text, *out;
	size_t len, n, olen, nlen, o;
	int all, rc, fd;

	if (store_arg_str(s, args, "old_string", 0, &old) == -1 ||
	    store_arg_str(s, args, "new_string", 0, &new) == -1 ||
	    store_arg_str(s, args, "file_path", 0, &file) == -1 ||
	    store_arg_bool(s, args, "replace_all", 0, &all) == -1)
		return store_tool_fail("%s", s->err);
	if (old == NULL || old[0] == '\0')
		return store_tool_fail("old_string is required for 'patch'.");
	if (new == NULL)
		return store_tool_fail("new_string is required for 'patch' (use \"\" to "
		    "delete the text).");
	if (file != NULL && file[0] != '\0') {
		if (!store_skill_relpath_ok(file, err, sizeof(err)))
			return store_tool_fail("%s", err);
		xasprintf(&rel, "%s/%s", k->rel, file);
	} else {
		file = NULL;
		xasprintf(&rel, "%s/SKILL.md", k->rel);
	}
	fd = store_open_beneath(root, rel, O_RDONLY, 0, 0);
	if (fd == -1) {
		free(rel);
		return store_tool_fail("File not found: %s", file ? file : "SKILL.md");
	}
	close(fd);
	{
		char *abs;

		xasprintf(&abs, "%s/%s", root, rel);
		text = store_read_file(abs, STORE_SKILL_FILE_MAX, &len);
		free(abs);
	}
	if (text == NULL) {
		free(rel);
		return store_tool_fail("Cannot read %s: %s", file ? file : "SKILL.md",
		    strerror(errno));
	}
	n = count_occ(text, old);
	if (n == 0 || (n > 1 && !all)) {
		free(text);
		free(rel);
		if (n == 0)
			return store_tool_fail("old_string not found in %s. Use skill_view "
			    "to see the current text.", file ? file :
			    "SKILL.md");
		return store_tool_fail("old_string matched %zu times in %s. Add more "
		    "context to make it unique, or pass replace_all=true.", n,
		    file ? file : "SKILL.md");
	}
	olen = strlen(old);
	nlen = strlen(new);
	out = xmalloc(len + (nlen > olen ? (nlen - olen) * n : 0) + 1);
	for (p = text, o = 0; (q = strstr(p, old)) != NULL; ) {
		memcpy(out + o, p, (size_t)(q - p));
		o += (size_t)(q - p);
		memcpy(out + o, new, nlen);
		o += nlen;
		p = q + olen;
		if (!all)
			break;
	}
	strcpy(out + o, p);
	free(text);
	if (file == NULL && check_skill_md(out, err, sizeof(err)) != NULL) {
		free(out);
		free(rel);
		return store_tool_fail("Patch would break SKILL.md structure: %s", err);
	}
	if (strlen(out) > STORE_SKILL_FILE_MAX) {
		free(out);
		free(rel);
		return store_tool_fail("Patched file would exceed %d bytes.",
		    STORE_SKILL_FILE_MAX);
	}
	rc = store_write_beneath(root, rel, out, strlen(out));
	free(out);
	free(rel);
	if (rc < 0)
		return io_fail(s, rc, "cannot write the patched file");
	snprintf(err, sizeof(err), "Patched %s in skill '%s' (%zu "
	    "replacement%s).", file ? file : "SKILL.md", k->name, all ? n : 1,
	    (all ? n : 1) > 1 ? "s" : "");
	return ok_message(err, NULL);
}

static char *
m_delete(struct store *s, const char *root, struct scan *sc, struct skill *k,
    json_t *args)
{
	const char *into;
	char msg[512], *from, *arch, *to;
	int rc;

	if (store_arg_str(s, args, "absorbed_into", 0, &into) == -1)
		return store_tool_fail("%s", s->err);
	if (into != NULL && into[0] != '\0') {
		if (strcmp(into, k->name) == 0)
			return store_tool_fail("absorbed_into='%s' cannot equal the skill "
			    "being deleted.", into);
		if (lookup(sc, into) == NULL)
			return store_tool_fail("absorbed_into='%s' is not an existing "
			    "skill.", into);
	}
	/* Archive, never destroy (the curator does the same). */
	xasprintf(&arch, "%s/.archive", root);
	if (mkdir(arch, 0755) == -1 && errno != EEXIST) {
		rc = -errno;
		free(arch);
		return io_fail(s, rc, "cannot create skills/.archive");
	}
	xasprintf(&from, "%s/%s", root, k->rel);
	xasprintf(&to, "%s/%s.%lld", arch, k->name, (long long)time(NULL));
	rc = rename(from, to) == -1 ? -errno : 0;
	free(from);
	free(to);
	free(arch);
	if (rc < 0)
		return io_fail(s, rc, "cannot archive the skill");
	if (into != NULL && into[0] != '\0')
		snprintf(msg, sizeof(msg), "Skill '%s' deleted (absorbed into "
		    "'%s'; archived under skills/.archive/).", k->name, into);
	else
		snprintf(msg, sizeof(msg), "Skill '%s' deleted (archived under "
		    "skills/.archive/).", k->name);
	return ok_message(msg, NULL);
}

static char *
m_write_file(struct store *s, const char *root, struct skill *k, json_t *args)
{
	const char *file, *data;
	char err[512], *rel;
	json_t *v;
	int rc;

	if (store_arg_str(s, args, "file_path", 0, &file) == -1)
		return store_tool_fail("%s", s->err);
	v = json_object_get(args, "file_content");
	if (file == NULL || file[0] == '\0')
		return store_tool_fail("file_path is required for 'write_file'.");
	if (!json_is_string(v))
		return store_tool_fail("file_content is required for 'write_file'.");
	data = json_string_value(v);
	if (!store_skill_relpath_ok(file, err, sizeof(err)))
		return store_tool_fail("%s", err);
	if (json_string_length(v) > STORE_SKILL_FILE_MAX)
		return store_tool_fail("File content is %zu bytes (limit: 1,048,576 bytes / "
		    "1 MiB). Split it into smaller files.",
		    json_string_length(v));
	xasprintf(&rel, "%s/%s", k->rel, file);
	rc = store_write_beneath(root, rel, data, json_string_length(v));
	free(rel);
	if (rc < 0)
		return io_fail(s, rc, "cannot write the file");
	snprintf(err, sizeof(err), "File '%s' written to skill '%s'.", file,
	    k->name);
	return ok_message(err, NULL);
}

static char *
m_remove_file(struct store *s, const char *root, struct skill *k,
    json_t *args)
{
	const char *file;
	char err[512], *rel;
	int rc;

	if (store_arg_str(s, args, "file_path", 0, &file) == -1)
		return store_tool_fail("%s", s->err);
	if (file == NULL || file[0] == '\0')
		return store_tool_fail("file_path is required for 'remove_file'.");
	if (!store_skill_relpath_ok(file, err, sizeof(err)))
		return store_tool_fail("%s", err);
	xasprintf(&rel, "%s/%s", k->rel, file);
	rc = store_unlink_beneath(root, rel);
	free(rel);
	if (rc == -ENOENT)
		return store_tool_fail("File '%s' not found in skill '%s'.", file, k->name);
	if (rc < 0)
		return io_fail(s, rc, "cannot remove the file");
	snprintf(err, sizeof(err), "File '%s' removed from skill '%s'.", file,
	    k->name);
	return ok_message(err, NULL);
}

typedef char *(*manage_fn)(struct store *, const char *root, struct scan *,
    struct skill *, const char *name, json_t *args);

static char *
h_create(struct store *s, const char *root, struct scan *sc, struct skill *k,
    const char *name, json_t *args)
{
	return m_create(s, root, sc, name, args);
}

static char *
h_edit(struct store *s, const char *root, struct scan *sc, struct skill *k,
    const char *name, json_t *args)
{
	return m_edit(s, root, k, args);
}

static char *
h_patch(struct store *s, const char *root, struct scan *sc, struct skill *k,
    const char *name, json_t *args)
{
	return m_patch(s, root, k, args);
}

static char *
h_delete(struct store *s, const char *root, struct scan *sc, struct skill *k,
    const char *name, json_t *args)
{
	return m_delete(s, root, sc, k, args);
}

static char *
h_write_file(struct store *s, const char *root, struct scan *sc,
    struct skill *k, const char *name, json_t *args)
{
	return m_write_file(s, root, k, args);
}

static char *
h_remove_file(struct store *s, const char *root, struct scan *sc,
    struct skill *k, const char *name, json_t *args)
{
	return m_remove_file(s, root, k, args);
}

/* skill_manage's actions: name, must the skill exist, handler. */
static const struct {
	const char	*name;
	int		 existing;
	manage_fn	 fn;
} manage_actions[] = {
	{ "create", 0, h_create },
	{ "patch", 1, h_patch },
	{ "edit", 1, h_edit },
	{ "delete", 1, h_delete },
	{ "write_file", 1, h_write_file },
	{ "remove_file", 1, h_remove_file },
};

char *
store_skill_manage(struct store *s, json_t *args)
{
	const char *action, *name;
	char err[256], *root, *res;
	struct scan sc;
	struct skill *k;
	size_t i;

	if (store_arg_str(s, args, "action", 1, &action) == -1 ||
	    store_arg_str(s, args, "name", 0, &name) == -1)
		return store_tool_fail("%s", s->err);
	for (i = 0; i < nitems(manage_actions); i++)
		if (strcmp(action, manage_actions[i].name) == 0)
			break;
	if (i == nitems(manage_actions))
		return store_tool_fail("Unknown action '%s'. Use: create, edit, patch, "
		    "delete, write_file, remove_file", action);
	if (name_error(name, err, sizeof(err)) != NULL)
		return store_tool_fail("%s", err);
	root = skills_root(s);
	if (store_mkdirs(root, 0755) == -1) {
		res = io_fail(s, -errno, "cannot create skills/");
		free(root);
		return res;
	}
	scan(s, &sc);
	k = lookup(&sc, name);
	if (manage_actions[i].existing && k == NULL)
		res = store_tool_fail("Skill '%s' not found.", name);
	else
		res = manage_actions[i].fn(s, root, &sc, k, name, args);
	scan_free(&sc);
	free(root);
	return res;
}
