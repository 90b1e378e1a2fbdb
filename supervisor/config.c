/*
 * config.yaml: libyaml events -> jansson tree (with a side table of where
 * each value is), then a table of the keys hermes-c implements, then the
 * typed fields the supervisor needs.
 *
 * Scalars are typed as PyYAML (YAML 1.1) types them, since that is what
 * Hermes users' files were written against: yes/no/on/off are booleans,
 * 0755 is octal, 1e3 (no dot) is a string. Quoted scalars stay strings.
 * Aliases are resolved by sharing the anchored node; the expanded size and
 * depth are bounded (no billion laughs), an alias to an unfinished anchor
 * (a cycle) is refused, and "<<" merge keys are honoured.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <yaml.h>

#include "ipc/util.h"
#include "supervisor/config.h"

/* Where a value starts: the child `key` (or `index`) of `parent`. */
struct cfg_pos_ent {
	const json_t	*parent;	/* NULL: the document itself */
	char		*key;		/* NULL in arrays */
	size_t		 index;
	unsigned	 line, col;	/* 1-based */
};

struct cfg_pos {
	struct cfg_pos_ent *v;
	size_t		 n, cap;
	uint32_t	*slot;		/* open addressing: index + 1, 0 free */
	size_t		 nslot;		/* a power of two, > 2 * n */
};

struct anchor {
	char		*name;
	json_t		*node;
	size_t		 size;		/* nodes once expanded */
	int		 height;	/* 0 for a scalar */
};

struct frame {
	json_t		*node;		/* the container being filled */
	int		 is_map;
	char		*key;		/* maps: the pending key */
	int		 key_is_merge;	/* the pending key is a plain "<<" */
	unsigned	 key_line, key_col;
	unsigned	 line, col;	/* where the container starts */
	char		*anchor;
	size_t		 nodes_at_start;
	int		 height;	/* of the tallest child */
	json_t		*merges;	/* "<<" sources, in order */
};

struct builder {
	const char	*name;
	struct frame	 stack[CFG_MAX_DEPTH + 1];
	int		 depth;
	json_t		*doc;
	int		 ndocs;
	size_t		 nodes;
	struct anchor	*anchors;
	size_t		 nanchors;
	struct cfg_pos	*pos;
	char		*err;
	size_t		 errlen;
};

static uint32_t
pos_hash(const json_t *parent, const char *key, size_t index)
{
	uint64_t h = (uint64_t)(uintptr_t)parent * 0x9e3779b97f4a7c15ULL;

	if (key != NULL)
		for (; *key != '\0'; key++)
			h = (h ^ (unsigned char)*key) * 0x100000001b3ULL;
	else
		h ^= (uint64_t)index * 0xff51afd7ed558ccdULL;
	return (uint32_t)(h ^ (h >> 29));
}

static int
pos_same(const struct cfg_pos_ent *e, const json_t *parent, const char *key,
    size_t index)
{
	if (e->parent != parent)
		return 0;
	if (key != NULL)
		return e->key != NULL && strcmp(key, e->key) == 0;
	return e->key == NULL && e->index == index;
}

/* The slot of (parent, key|index): its entry, or the free slot for it. */
static uint32_t *
pos_slot(const struct cfg_pos *p, const json_t *parent, const char *key,
    size_t index)
{
	size_t mask = p->nslot - 1, i;

	i = pos_hash(parent, key, index) & mask;
	while (p->slot[i] != 0 &&
	    !pos_same(&p->v[p->slot[i] - 1], parent, key, index))
		i = (i + 1) & mask;
	return &p->slot[i];
}

static void
pos_rehash(struct cfg_pos *p)
{
	size_t i;

	free(p->slot);
	p->nslot = p->nslot ? p->nslot * 2 : 256;
	p->slot = xcalloc(p->nslot, sizeof(*p->slot));
	/* Later entries replace earlier ones for the same value. */
	for (i = 0; i < p->n; i++)
		*pos_slot(p, p->v[i].parent, p->v[i].key, p->v[i].index) =
		    (uint32_t)i + 1;
}

static void
pos_add(struct cfg_pos *p, const json_t *parent, const char *key,
    size_t index, unsigned line, unsigned col)
{
	struct cfg_pos_ent *e;

	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->v = xreallocarray(p->v, p->cap, sizeof(*p->v));
	}
	e = &p->v[p->n++];
	e->parent = parent;
	e->key = key ? xstrdup(key) : NULL;
	e->index = index;
	e->line = line;
	e->col = col;
	if (p->n * 2 >= p->nslot)
		pos_rehash(p);
	else
		*pos_slot(p, parent, key, index) = (uint32_t)p->n;
}

/* The latest entry wins (a duplicate key replaces the earlier value). */
static const struct cfg_pos_ent *
pos_find(const struct cfg_pos *p, const json_t *parent, const char *key,
    size_t index)
{
	uint32_t s;

	if (p == NULL || p->nslot == 0)
		return NULL;
	s = *pos_slot(p, parent, key, index);
	return s != 0 ? &p->v[s - 1] : NULL;
}

static void
pos_free(struct cfg_pos *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		free(p->v[i].key);
	free(p->v);
	free(p->slot);
	free(p);
}

static int
fail_at(char *err, size_t errlen, const char *name, unsigned line,
    unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int
fail_at(char *err, size_t errlen, const char *name, unsigned line,
    unsigned col, const char *fmt, ...)
{
	char msg[CFG_MAX_ERR];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err != NULL && errlen > 0) {
		if (line > 0)
			(void)snprintf(err, errlen, "%s:%u:%u: %s", name, line,
			    col, msg);
		else
			(void)snprintf(err, errlen, "%s: %s", name, msg);
	}
	return -1;
}

#define BFAIL(b, mark, ...)						\
	fail_at((b)->err, (b)->errlen, (b)->name,			\
	    (unsigned)(mark).line + 1, (unsigned)(mark).column + 1, __VA_ARGS__)

/* ---- scalars, as PyYAML's implicit resolvers type them ---- */

static const char *const yaml_true[] = { "yes", "Yes", "YES", "true", "True",
	"TRUE", "on", "On", "ON" };
static const char *const yaml_false[] = { "no", "No", "NO", "false", "False",
	"FALSE", "off", "Off", "OFF" };
static const char *const yaml_null[] = { "~", "null", "Null", "NULL" };

static int
in_list(const char *s, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/* Copy s without '_' into buf; 0 if it does not fit. */
static int
strip_underscores(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s != '\0'; s++) {
		if (*s == '_')
			continue;
		if (o + 1 >= len)
			return 0;
		buf[o++] = *s;
	}
	buf[o] = '\0';
	return 1;
}

static int
all_of(const char *s, const char *set)
{
	int digits = 0;

	for (; *s != '\0'; s++) {
		if (*s == '_')
			continue;
		if (strchr(set, *s) == NULL)
			return 0;
		digits++;
	}
	return digits > 0;
}

/* An integer node, or NULL if s is not a YAML 1.1 int. */
static json_t *
resolve_int(const char *s)
{
	char buf[128];
	const char *p = s;
	int neg = 0, base = 10;
	unsigned long long v;
	char *end;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (p[0] == '0' && p[1] == 'b' && all_of(p + 2, "01")) {
		base = 2;
		p += 2;
	} else if (p[0] == '0' && p[1] == 'x' &&
	    all_of(p + 2, "0123456789abcdefABCDEF")) {
		base = 16;
		p += 2;
	} else if (p[0] == '0' && p[1] != '\0' &&
	    strspn(p + 1, "01234567_") == strlen(p + 1)) {
		base = 8;
		p += 1;
	} else if (strcmp(p, "0") == 0) {
		return json_integer(0);
	} else if (!(p[0] >= '1' && p[0] <= '9' && all_of(p, "0123456789")))
		return NULL;
	if (!strip_underscores(p, buf, sizeof(buf)))
		return NULL;	/* absurdly long: keep it as text */
	errno = 0;
	v = strtoull(buf, &end, base);
	if (*end != '\0')
		return NULL;
	if (errno == ERANGE || v > (unsigned long long)INT64_MAX + neg) {
		/* Beyond json_int_t: keep it as a (lossy) number. */
		double d = strtod(buf, NULL);

		if (base != 10)
			return NULL;
		return json_real(neg ? -d : d);
	}
	if (neg)
		return json_integer(v == (unsigned long long)INT64_MAX + 1 ?
		    INT64_MIN : -(json_int_t)v);
	return json_integer((json_int_t)v);
}

/*
 * PyYAML's float: [-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?
 * (a dot is required; .inf and .nan stay strings, JSON has neither).
 */
static json_t *
resolve_float(const char *s)
{
	char buf[128];
	const char *p = s;
	int mant = 0, sign = 0;
	double d;
	char *end;

	if (*p == '-' || *p == '+') {
		p++;
		sign = 1;
	}
	if (isdigit((unsigned char)*p)) {
		while (isdigit((unsigned char)*p) || *p == '_')
			p++;
		mant = 1;
	} else if (sign)
		return NULL;	/* "-.5" is a string to PyYAML */
	if (*p != '.')
		return NULL;
	p++;
	while (isdigit((unsigned char)*p) || *p == '_') {
		if (*p != '_')
			mant = 1;
		p++;
	}
	if (!mant)
		return NULL;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p != '-' && *p != '+')
			return NULL;
		p++;
		if (!isdigit((unsigned char)*p))
			return NULL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p != '\0' || !strip_underscores(s, buf, sizeof(buf)))
		return NULL;
	d = strtod(buf, &end);
	if (*end != '\0' || !isfinite(d))
		return NULL;
	return json_real(d);
}

/*
 * YAML 1.1 base 60: [-+]?[1-9][0-9_]*(:[0-5]?[0-9])+ is an int (1:30 is
 * 90), [-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]* a float.
 */
static json_t *
resolve_base60(const char *s)
{
	const char *p = s;
	uint64_t v = 0;
	int neg = 0, groups = 0, lead;
	double frac = 0, scale = 0.1;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (!isdigit((unsigned char)*p))
		return NULL;
	lead = *p != '0';
	for (; isdigit((unsigned char)*p) || *p == '_'; p++) {
		if (*p == '_')
			continue;
		if (v > (UINT64_MAX - 9) / 10)
			return NULL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	while (*p == ':') {
		unsigned g;

		p++;
		if (!isdigit((unsigned char)*p))
			return NULL;
		g = (unsigned)(*p++ - '0');
		if (isdigit((unsigned char)*p)) {
			if (g > 5)
				return NULL;
			g = g * 10 + (unsigned)(*p++ - '0');
		}
		if (v > (UINT64_MAX - 59) / 60)
			return NULL;
		v = v * 60 + g;
		groups++;
	}
	if (groups == 0)
		return NULL;
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p) || *p == '_'; p++) {
			if (*p == '_')
				continue;
			frac += (*p - '0') * scale;
			scale /= 10;
		}
		if (*p != '\0')
			return NULL;
		return json_real((neg ? -1.0 : 1.0) * ((double)v + frac));
	}
	if (*p != '\0' || !lead || v > (uint64_t)INT64_MAX)
		return NULL;
	return json_integer(neg ? -(json_int_t)v : (json_int_t)v);
}

static json_t *
resolve_plain(const char *s, size_t len)
{
	json_t *v;

	if (len == 0 || in_list(s, yaml_null, nitems(yaml_null)))
		return json_null();
	if (in_list(s, yaml_true, nitems(yaml_true)))
		return json_true();
	if (in_list(s, yaml_false, nitems(yaml_false)))
		return json_false();
	if (strlen(s) == len) {
		if ((v = resolve_int(s)) != NULL)
			return v;
		if ((v = resolve_float(s)) != NULL)
			return v;
		if ((v = resolve_base60(s)) != NULL)
			return v;
	}
	return json_stringn(s, len);
}

#define YTAG "tag:yaml.org,2002:"

/* An explicitly tagged scalar (!!str, !!int, ...). */
static json_t *
resolve_tagged(struct builder *b, const yaml_event_t *ev, const char *tag,
    const char *s, size_t len)
{
	json_t *v = NULL;

	if (strcmp(tag, "!") == 0 || strcmp(tag, YTAG "str") == 0) {
		if ((v = json_stringn(s, len)) == NULL)
			BFAIL(b, ev->start_mark, "string is not valid UTF-8");
		return v;
	}
	if (strcmp(tag, YTAG "null") == 0)
		return json_null();
	if (strlen(s) != len)
		v = NULL;
	else if (strcmp(tag, YTAG "bool") == 0) {
		if (in_list(s, yaml_true, nitems(yaml_true)))
			v = json_true();
		else if (in_list(s, yaml_false, nitems(yaml_false)))
			v = json_false();
	} else if (strcmp(tag, YTAG "int") == 0)
		v = resolve_int(s);
	else if (strcmp(tag, YTAG "float") == 0) {
		if ((v = resolve_float(s)) == NULL)
			v = resolve_int(s);
		if (v != NULL && json_is_integer(v)) {
			json_t *r = json_real((double)json_integer_value(v));

			json_decref(v);
			v = r;
		}
	} else {
		BFAIL(b, ev->start_mark, "unsupported tag %s", tag);
		return NULL;
	}
	if (v == NULL)
		BFAIL(b, ev->start_mark, "\"%.40s\" is not a valid %s", s,
		    tag + strlen(YTAG));
	return v;
}

/* ---- the tree ---- */

static struct anchor *
anchor_find(struct builder *b, const char *name)
{
	size_t i;

	/* The latest definition of a name wins, as in YAML. */
	for (i = b->nanchors; i-- > 0;)
		if (strcmp(b->anchors[i].name, name) == 0)
			return &b->anchors[i];
	return NULL;
}

static int
anchor_add(struct builder *b, const yaml_mark_t *mark, const char *name,
    json_t *node, size_t size, int height)
{
	struct anchor *a;

	if (b->nanchors >= CFG_MAX_ANCHORS)
		return BFAIL(b, *mark, "more than %d anchors", CFG_MAX_ANCHORS);
	b->anchors = xreallocarray(b->anchors, b->nanchors + 1,
	    sizeof(*b->anchors));
	a = &b->anchors[b->nanchors++];
	a->name = xstrdup(name);
	a->node = json_incref(node);
	a->size = size;
	a->height = height;
	return 0;
}

static int
count_nodes(struct builder *b, const yaml_mark_t *mark, size_t n)
{
	if (n > CFG_MAX_NODES || b->nodes > CFG_MAX_NODES - n)
		return BFAIL(b, *mark, "more than %d values (aliases "
		    "expanded); refusing", CFG_MAX_NODES);
	b->nodes += n;
	return 0;
}

/*
 * Put a finished value (a reference is taken over) where the open
 * container expects it. `height` is the value's own nesting.
 */
static int
place(struct builder *b, const yaml_mark_t *mark, json_t *v, int height)
{
	struct frame *f;
	unsigned line = (unsigned)mark->line + 1, col = (unsigned)mark->column + 1;

	if (b->depth == 0) {
		if (b->doc != NULL) {
			json_decref(v);
			return BFAIL(b, *mark, "more than one document");
		}
		b->doc = v;
		pos_add(b->pos, NULL, NULL, 0, line, col);
		return 0;
	}
	f = &b->stack[b->depth - 1];
	if (height + 1 > f->height)
		f->height = height + 1;
	if (!f->is_map) {
		if (json_array_append_new(f->node, v) == -1)
			return BFAIL(b, *mark, "out of memory");
		pos_add(b->pos, f->node, NULL, json_array_size(f->node) - 1,
		    line, col);
		return 0;
	}
	if (f->key == NULL) {
		/* A key: only scalars (or aliases of strings) can be keys. */
		if (!json_is_string(v)) {
			json_decref(v);
			return BFAIL(b, *mark, "only plain scalars can be "
			    "mapping keys here");
		}
		if (strlen(json_string_value(v)) != json_string_length(v)) {
			json_decref(v);
			return BFAIL(b, *mark, "NUL byte in a key");
		}
		f->key = xstrdup(json_string_value(v));
		f->key_line = line;
		f->key_col = col;
		json_decref(v);
		return 0;
	}
	if (f->key_is_merge) {
		f->key_is_merge = 0;
		free(f->key);
		f->key = NULL;
		if (json_is_object(v)) {
			if (json_array_append_new(f->merges, v) == -1)
				return BFAIL(b, *mark, "out of memory");
			return 0;
		}
		if (json_is_array(v)) {
			size_t i;
			json_t *e;

			json_array_foreach(v, i, e) {
				if (!json_is_object(e)) {
					json_decref(v);
					return BFAIL(b, *mark, "\"<<\" takes "
					    "a mapping or a list of mappings");
				}
				if (json_array_append(f->merges, e) == -1) {
					json_decref(v);
					return BFAIL(b, *mark, "out of memory");
				}
			}
			json_decref(v);
			return 0;
		}
		json_decref(v);
		return BFAIL(b, *mark, "\"<<\" takes a mapping or a list of "
		    "mappings");
	}
	if (json_object_set_new(f->node, f->key, v) == -1) {
		free(f->key);
		f->key = NULL;
		return BFAIL(b, *mark, "key is not valid UTF-8");
	}
	pos_add(b->pos, f->node, f->key, 0, line, col);
	free(f->key);
	f->key = NULL;
	return 0;
}

static int
on_scalar(struct builder *b, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t len = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	const char *anchor = (const char *)ev->data.scalar.anchor;
	struct frame *f = b->depth > 0 ? &b->stack[b->depth - 1] : NULL;
	int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	json_t *v;

	if (count_nodes(b, &ev->start_mark, 1) == -1)
		return -1;
	if (f != NULL && f->is_map && f->key == NULL) {
		/* Keys stay text; a plain "<<" is a merge key. */
		v = json_stringn(s, len);
		if (v == NULL)
			return BFAIL(b, ev->start_mark, "key is not valid "
			    "UTF-8");
		if (anchor != NULL && anchor_add(b, &ev->start_mark, anchor,
		    v, 1, 0) == -1) {
			json_decref(v);
			return -1;
		}
		if (place(b, &ev->start_mark, v, 0) == -1)
			return -1;
		f->key_is_merge = plain && tag == NULL && strcmp(s, "<<") == 0;
		return 0;
	}
	if (tag != NULL) {
		if ((v = resolve_tagged(b, ev, tag, s, len)) == NULL)
			return -1;
	} else if ((v = plain ? resolve_plain(s, len) :
	    json_stringn(s, len)) == NULL)
		return BFAIL(b, ev->start_mark, "string is not valid UTF-8");
	if (anchor != NULL && anchor_add(b, &ev->start_mark, anchor, v, 1,
	    0) == -1) {
		json_decref(v);
		return -1;
	}
	return place(b, &ev->start_mark, v, 0);
}

static int
on_alias(struct builder *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct anchor *a = anchor_find(b, name);
	struct frame *f = b->depth > 0 ? &b->stack[b->depth - 1] : NULL;

	if (a == NULL)
		return BFAIL(b, ev->start_mark, "alias *%s names no finished "
		    "anchor", name);
	if (b->depth + a->height > CFG_MAX_DEPTH)
		return BFAIL(b, ev->start_mark, "alias *%s nests deeper than "
		    "%d levels", name, CFG_MAX_DEPTH);
	if (count_nodes(b, &ev->start_mark, a->size) == -1)
		return -1;
	if (f != NULL && f->is_map && f->key == NULL && json_is_string(a->node))
		f->key_is_merge = 0;
	return place(b, &ev->start_mark, json_incref(a->node), a->height);
}

static int
container_tag_ok(const char *tag, int is_map)
{
	if (tag == NULL || strcmp(tag, "!") == 0)
		return 1;
	return strcmp(tag, is_map ? YTAG "map" : YTAG "seq") == 0;
}

static int
on_start(struct builder *b, const yaml_event_t *ev, int is_map)
{
	struct frame *f, *up = b->depth > 0 ? &b->stack[b->depth - 1] : NULL;
	const char *tag, *anchor;

	tag = (const char *)(is_map ? ev->data.mapping_start.tag :
	    ev->data.sequence_start.tag);
	anchor = (const char *)(is_map ? ev->data.mapping_start.anchor :
	    ev->data.sequence_start.anchor);
	if (up != NULL && up->is_map && up->key == NULL)
		return BFAIL(b, ev->start_mark, "a %s cannot be a mapping key",
		    is_map ? "mapping" : "list");
	if (!container_tag_ok(tag, is_map))
		return BFAIL(b, ev->start_mark, "unsupported tag %s", tag);
	if (b->depth >= CFG_MAX_DEPTH)
		return BFAIL(b, ev->start_mark, "nested deeper than %d levels",
		    CFG_MAX_DEPTH);
	if (count_nodes(b, &ev->start_mark, 1) == -1)
		return -1;
	f = &b->stack[b->depth++];
	memset(f, 0, sizeof(*f));
	f->node = is_map ? json_object() : json_array();
	f->is_map = is_map;
	f->line = (unsigned)ev->start_mark.line + 1;
	f->col = (unsigned)ev->start_mark.column + 1;
	f->anchor = anchor != NULL ? xstrdup(anchor) : NULL;
	f->nodes_at_start = b->nodes - 1;
	f->merges = is_map ? json_array() : NULL;
	if (f->node == NULL || (is_map && f->merges == NULL))
		return BFAIL(b, ev->start_mark, "out of memory");
	return 0;
}

/* "<<": keys of the sources that the mapping does not set itself. */
static int
apply_merges(struct builder *b, struct frame *f)
{
	size_t i;
	json_t *src, *v;
	const char *k;

	json_array_foreach(f->merges, i, src) {
		json_object_foreach(src, k, v) {
			const struct cfg_pos_ent *e;

			if (json_object_get(f->node, k) != NULL)
				continue;
			if (json_object_set(f->node, k, v) == -1)
				return fail_at(b->err, b->errlen, b->name,
				    f->line, f->col, "out of memory");
			e = pos_find(b->pos, src, k, 0);
			pos_add(b->pos, f->node, k, 0, e ? e->line : f->line,
			    e ? e->col : f->col);
		}
	}
	return 0;
}

static void
frame_clear(struct frame *f)
{
	json_decref(f->node);
	json_decref(f->merges);
	free(f->key);
	free(f->anchor);
	memset(f, 0, sizeof(*f));
}

static int
on_end(struct builder *b, const yaml_event_t *ev)
{
	struct frame *f = &b->stack[b->depth - 1];
	yaml_mark_t mark;
	json_t *node;
	int height, rc = 0;
	size_t size;

	if (f->is_map && apply_merges(b, f) == -1)
		return -1;
	node = json_incref(f->node);
	height = f->height > 0 ? f->height : 1;
	size = b->nodes - f->nodes_at_start;
	memset(&mark, 0, sizeof(mark));
	mark.line = f->line - 1;
	mark.column = f->col - 1;
	if (f->anchor != NULL)
		rc = anchor_add(b, &mark, f->anchor, node, size, height);
	frame_clear(f);
	b->depth--;
	if (rc == -1) {
		json_decref(node);
		return -1;
	}
	(void)ev;
	return place(b, &mark, node, height);
}

static void
builder_clear(struct builder *b)
{
	size_t i;

	while (b->depth > 0)
		frame_clear(&b->stack[--b->depth]);
	for (i = 0; i < b->nanchors; i++) {
		free(b->anchors[i].name);
		json_decref(b->anchors[i].node);
	}
	free(b->anchors);
	b->anchors = NULL;
	b->nanchors = 0;
}

/* libyaml's reader reports a byte offset, not a mark. */
static void
offset_mark(const char *buf, size_t len, size_t off, yaml_mark_t *m)
{
	size_t i, ls = 0;

	m->line = 0;
	for (i = 0; i < off && i < len; i++)
		if (buf[i] == '\n') {
			m->line++;
			ls = i + 1;
		}
	m->column = off - ls;
}

/* YAML text -> a JSON tree (NULL for an empty document) and positions. */
static int
yaml_to_json(const char *name, const char *buf, size_t len, json_t **out,
    struct cfg_pos *pos, char *err, size_t errlen)
{
	struct builder b;
	yaml_parser_t parser;
	yaml_event_t ev;
	int done = 0, rc = 0;

	memset(&b, 0, sizeof(b));
	b.name = name;
	b.pos = pos;
	b.err = err;
	b.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	*out = NULL;
	if (len > CFG_MAX_FILE)
		return fail_at(err, errlen, name, 0, 0, "larger than %d bytes",
		    CFG_MAX_FILE);
	if (!yaml_parser_initialize(&parser))
		return fail_at(err, errlen, name, 0, 0, "libyaml: out of "
		    "memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	while (!done && rc == 0) {
		if (!yaml_parser_parse(&parser, &ev)) {
			yaml_mark_t m = parser.problem_mark;

			if (parser.error == YAML_READER_ERROR)
				offset_mark(buf, len, parser.problem_offset,
				    &m);
			rc = fail_at(err, errlen, name, (unsigned)m.line + 1,
			    (unsigned)m.column + 1, "%s%s%s",
			    parser.problem ? parser.problem : "syntax error",
			    parser.context ? " " : "",
			    parser.context ? parser.context : "");
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++b.ndocs > 1)
				rc = BFAIL(&b, ev.start_mark, "more than one "
				    "document");
			break;
		case YAML_SCALAR_EVENT:
			rc = on_scalar(&b, &ev);
			break;
		case YAML_ALIAS_EVENT:
			rc = on_alias(&b, &ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
			rc = on_start(&b, &ev, 0);
			break;
		case YAML_MAPPING_START_EVENT:
			rc = on_start(&b, &ev, 1);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			rc = on_end(&b, &ev);
			break;
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
		case YAML_NO_EVENT:
			break;
		default:
			rc = BFAIL(&b, ev.start_mark, "unexpected YAML event");
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	builder_clear(&b);
	if (rc == -1) {
		json_decref(b.doc);
		return -1;
	}
	*out = b.doc;
	return 0;
}

/* ---- known keys ---- */

#define T_NULL	0x01
#define T_BOOL	0x02
#define T_INT	0x04
#define T_REAL	0x08
#define T_STR	0x10
#define T_MAP	0x20
#define T_LIST	0x40
#define T_NUM	(T_INT | T_REAL)

#define R_OFFBOOL	0x01	/* enum: false means "off" (YAML 1.1) */
#define R_RANGE		0x02	/* number within [min, max] */

struct cfg_rule {
	const char		*path;	/* dotted; "*" any key, "[]" each item */
	unsigned		 types;
	unsigned		 flags;
	double			 min, max;
	const char *const	*choices;	/* NULL-terminated */
};

static const char *const ch_backend[] = { "local", "ssh", "docker", NULL };
static const char *const ch_approvals[] = { "manual", "smart", "off", NULL };
static const char *const ch_cron_mode[] = { "deny", "approve", NULL };
static const char *const ch_effort[] = { "", "none", "minimal", "low",
	"medium", "high", "xhigh", "max", "ultra", NULL };
static const char *const ch_progress[] = { "off", "new", "all", "verbose",
	"log", NULL };
static const char *const ch_busy[] = { "interrupt", "queue", "steer", NULL };
static const char *const ch_bgnotify[] = { "all", "result", "error", "off",
	NULL };
static const char *const ch_home_mode[] = { "auto", "real", "profile", NULL };
static const char *const ch_reset[] = { "both", "idle", "daily", "none",
	NULL };
static const char *const ch_cache_ttl[] = { "5m", "1h", NULL };

#define NUM(p, lo, hi)	{ p, T_NUM, R_RANGE, lo, hi, NULL }
#define INT(p, lo, hi)	{ p, T_INT, R_RANGE, lo, hi, NULL }
#define STR(p)		{ p, T_STR, 0, 0, 0, NULL }
#define BOOL(p)		{ p, T_BOOL, 0, 0, 0, NULL }
#define MAP(p)		{ p, T_MAP, 0, 0, 0, NULL }
#define LIST(p)		{ p, T_LIST, 0, 0, 0, NULL }
#define ENUM(p, c)	{ p, T_STR, 0, 0, 0, c }
#define ENUMOFF(p, c)	{ p, T_STR | T_BOOL, R_OFFBOOL, 0, 0, c }

/*
 * The keys hermes-c implements, with Hermes's names. Null is accepted for
 * every key (it means "the default"), except for list items. Anything not
 * listed is kept in the tree and ignored.
 */
static const struct cfg_rule cfg_rules[] = {
	{ "model", T_STR | T_MAP, 0, 0, 0, NULL },
	STR("model.default"),
	STR("model.model"),
	STR("model.provider"),
	STR("model.base_url"),
	STR("model.api_key"),
	STR("model.api_mode"),
	INT("model.context_length", 1, 1e9),
	INT("model.max_tokens", 1, 1e9),
	MAP("model.default_headers"),
	MAP("providers"),
	MAP("providers.*"),
	STR("providers.*.base_url"),
	STR("providers.*.api_key"),
	STR("providers.*.key_env"),
	NUM("providers.*.request_timeout_seconds", 0, 1e6),
	MAP("providers.*.extra_headers"),
	LIST("custom_providers"),
	MAP("custom_providers.[]"),
	STR("custom_providers.[].name"),
	STR("custom_providers.[].base_url"),
	STR("custom_providers.[].api_key"),
	STR("custom_providers.[].model"),
	LIST("fallback_providers"),
	MAP("fallback_providers.[]"),
	STR("fallback_providers.[].provider"),
	STR("fallback_providers.[].model"),
	STR("fallback_providers.[].base_url"),
	STR("fallback_providers.[].api_key"),
	MAP("fallback_model"),
	STR("fallback_model.provider"),
	STR("fallback_model.model"),
	STR("fallback_model.base_url"),

	MAP("terminal"),
	ENUM("terminal.backend", ch_backend),
	STR("terminal.cwd"),
	INT("terminal.timeout", 1, 86400),
	INT("terminal.lifetime_seconds", 0, 1e9),
	ENUM("terminal.home_mode", ch_home_mode),
	LIST("terminal.env_passthrough"),
	STR("terminal.env_passthrough.[]"),
	BOOL("terminal.persistent_shell"),
	STR("terminal.sudo_password"),
	STR("terminal.ssh_host"),
	STR("terminal.ssh_user"),
	INT("terminal.ssh_port", 1, 65535),
	STR("terminal.ssh_key"),
	STR("terminal.docker_image"),
	BOOL("terminal.docker_mount_cwd_to_workspace"),
	BOOL("terminal.docker_run_as_host_user"),
	LIST("terminal.docker_forward_env"),
	STR("terminal.docker_forward_env.[]"),
	LIST("terminal.docker_extra_args"),
	STR("terminal.docker_extra_args.[]"),
	NUM("terminal.container_cpu", 0, 1024),
	INT("terminal.container_memory", 0, 1e9),
	INT("terminal.container_disk", 0, 1e9),
	BOOL("terminal.container_persistent"),

	MAP("approvals"),
	{ "approvals.mode", T_STR | T_BOOL, R_OFFBOOL, 0, 0, ch_approvals },
	INT("approvals.timeout", 1, 86400),
	ENUM("approvals.cron_mode", ch_cron_mode),
	LIST("approvals.deny"),
	STR("approvals.deny.[]"),
	LIST("command_allowlist"),
	STR("command_allowlist.[]"),

	MAP("agent"),
	INT("agent.max_turns", 1, 100000),
	NUM("agent.gateway_timeout", 0, 1e9),
	INT("agent.api_max_retries", 0, 100),
	ENUM("agent.reasoning_effort", ch_effort),
	BOOL("agent.verbose"),
	LIST("agent.disabled_toolsets"),
	STR("agent.disabled_toolsets.[]"),
	MAP("agent.personalities"),

	MAP("compression"),
	BOOL("compression.enabled"),
	NUM("compression.threshold", 0, 1),
	NUM("compression.target_ratio", 0, 1),
	INT("compression.protect_last_n", 0, 1e6),
	INT("compression.protect_first_n", 0, 1e6),
	INT("compression.hygiene_hard_message_limit", 0, 1e9),
	BOOL("compression.abort_on_summary_failure"),
	MAP("prompt_caching"),
	ENUM("prompt_caching.cache_ttl", ch_cache_ttl),

	MAP("memory"),
	BOOL("memory.memory_enabled"),
	BOOL("memory.user_profile_enabled"),
	INT("memory.memory_char_limit", 0, 1e7),
	INT("memory.user_char_limit", 0, 1e7),
	INT("memory.nudge_interval", 0, 1e6),
	INT("memory.flush_min_turns", 0, 1e6),
	MAP("skills"),
	LIST("skills.external_dirs"),
	STR("skills.external_dirs.[]"),
	INT("skills.creation_nudge_interval", 0, 1e6),

	MAP("display"),
	BOOL("display.compact"),
	ENUMOFF("display.tool_progress", ch_progress),
	BOOL("display.show_reasoning"),
	BOOL("display.streaming"),
	ENUM("display.busy_input_mode", ch_busy),
	ENUMOFF("display.background_process_notifications", ch_bgnotify),
	BOOL("display.bell_on_complete"),
	BOOL("display.timestamps"),
	STR("display.skin"),
	STR("display.personality"),

	MAP("tool_output"),
	INT("tool_output.max_bytes", 1, 1e9),
	INT("tool_output.max_lines", 1, 1e9),
	INT("tool_output.max_line_length", 1, 1e9),
	INT("file_read_max_chars", 1, 1e9),
	MAP("code_execution"),
	INT("code_execution.timeout", 1, 86400),
	INT("code_execution.max_tool_calls", 0, 1e6),
	MAP("delegation"),
	INT("delegation.max_iterations", 1, 1e6),
	MAP("session_reset"),
	ENUM("session_reset.mode", ch_reset),
	INT("session_reset.idle_minutes", 0, 1e9),
	INT("session_reset.at_hour", 0, 23),
	INT("max_concurrent_sessions", 0, 1e6),
	STR("timezone"),
	MAP("mcp_servers"),
	MAP("mcp_servers.*"),
	STR("mcp_servers.*.command"),
	LIST("mcp_servers.*.args"),
	STR("mcp_servers.*.args.[]"),
	MAP("mcp_servers.*.env"),
	STR("mcp_servers.*.url"),
	MAP("mcp_servers.*.headers"),
	NUM("mcp_servers.*.timeout", 0, 1e6),

	/* hermes-c's own keys */
	MAP("sandbox"),
	BOOL("sandbox.require"),
	BOOL("sandbox.network"),
	MAP("limits"),
	INT("limits.max_clients_per_uid", 1, 1024),
	INT("limits.command_memory_mb", 0, 1e7),
	INT("limits.command_max_procs", 0, 1e6),
	MAP("tenants"),
	MAP("tenants.*"),
	{ "tenants.*.uid", T_INT | T_STR, 0, 0, 0, NULL },
	STR("tenants.*.home"),
};

struct vstate {
	const struct hermes_config *cfg;
	char		*err;
	size_t		 errlen;
};

static unsigned
type_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_NULL:
		return T_NULL;
	case JSON_TRUE:
	case JSON_FALSE:
		return T_BOOL;
	case JSON_INTEGER:
		return T_INT;
	case JSON_REAL:
		return T_REAL;
	case JSON_STRING:
		return T_STR;
	case JSON_OBJECT:
		return T_MAP;
	case JSON_ARRAY:
		return T_LIST;
	}
	return 0;
}

static const struct {
	unsigned	 type;
	const char	*name;
} type_names[] = {
	{ T_NULL, "null" },
	{ T_BOOL, "true or false" },
	{ T_INT, "an integer" },
	{ T_REAL, "a number" },
	{ T_STR, "a string" },
	{ T_MAP, "a mapping" },
	{ T_LIST, "a list" },
};

static const char *
type_name(unsigned t)
{
	size_t i;

	for (i = 0; i < nitems(type_names); i++)
		if (type_names[i].type == t)
			return type_names[i].name;
	return "?";
}

static void
types_text(unsigned types, char *buf, size_t len)
{
	size_t i;

	buf[0] = '\0';
	if ((types & T_NUM) == T_NUM)
		types &= ~T_INT;
	for (i = 0; i < nitems(type_names); i++) {
		if (!(types & type_names[i].type))
			continue;
		if (buf[0] != '\0')
			(void)strlcat(buf, " or ", len);
		(void)strlcat(buf, type_names[i].name, len);
	}
}

static int
choice_index(const char *const *choices, const char *s)
{
	int i;

	for (i = 0; choices[i] != NULL; i++)
		if (strcasecmp(choices[i], s) == 0)
			return i;
	return -1;
}

static int
vfail(struct vstate *vs, const json_t *parent, const char *key,
    size_t index, const char *shown, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int
vfail(struct vstate *vs, const json_t *parent, const char *key,
    size_t index, const char *shown, const char *fmt, ...)
{
	const struct cfg_pos_ent *e;
	char msg[CFG_MAX_ERR];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e = pos_find(vs->cfg->pos, parent, key, index);
	return fail_at(vs->err, vs->errlen, vs->cfg->path, e ? e->line : 0,
	    e ? e->col : 0, "%s: %s", shown, msg);
}

static int
check_value(struct vstate *vs, const struct cfg_rule *r, const json_t *v,
    const json_t *parent, const char *key, size_t index, const char *shown,
    int is_item)
{
	unsigned t = type_of(v), allowed = r->types;
	char want[128];

	if (!is_item)
		allowed |= T_NULL;
	if (t == T_NULL && (allowed & T_NULL))
		return 0;
	if (t == T_INT && (allowed & T_REAL))
		t = T_REAL;
	if (!(allowed & t)) {
		types_text(r->types, want, sizeof(want));
		return vfail(vs, parent, key, index, shown, "expected %s, "
		    "got %s", want, type_name(type_of(v)));
	}
	if ((r->flags & R_RANGE) && json_is_number(v)) {
		double d = json_number_value(v);

		if (d < r->min || d > r->max)
			return vfail(vs, parent, key, index, shown, "%g is out "
			    "of range [%g, %g]", d, r->min, r->max);
	}
	if (r->choices != NULL && json_is_string(v) &&
	    choice_index(r->choices, json_string_value(v)) == -1) {
		char list[256] = "";
		int i;

		for (i = 0; r->choices[i] != NULL; i++) {
			if (r->choices[i][0] == '\0')
				continue;
			if (list[0] != '\0')
				(void)strlcat(list, ", ", sizeof(list));
			(void)strlcat(list, r->choices[i], sizeof(list));
		}
		return vfail(vs, parent, key, index, shown, "\"%s\" is not one "
		    "of: %s", json_string_value(v), list);
	}
	return 0;
}

/* Apply rule r from path segment `seg` on, below node v. */
static int
walk_rule(struct vstate *vs, const struct cfg_rule *r, const char *seg,
    const json_t *v, const json_t *parent, const char *key, size_t index,
    const char *shown, int is_item)
{
	char next[256], sub[512];
	const char *dot, *k;
	size_t len, i;
	json_t *c;

	if (seg == NULL)
		return check_value(vs, r, v, parent, key, index, shown,
		    is_item);
	dot = strchr(seg, '.');
	len = dot ? (size_t)(dot - seg) : strlen(seg);
	if (len >= sizeof(next))
		return 0;
	memcpy(next, seg, len);
	next[len] = '\0';
	seg = dot ? dot + 1 : NULL;
	if (strcmp(next, "[]") == 0) {
		if (!json_is_array(v))
			return 0;
		json_array_foreach(v, i, c) {
			(void)snprintf(sub, sizeof(sub), "%s[%zu]", shown, i);
			if (walk_rule(vs, r, seg, c, v, NULL, i, sub, 1) == -1)
				return -1;
		}
		return 0;
	}
	if (!json_is_object(v))
		return 0;
	if (strcmp(next, "*") == 0) {
		json_object_foreach((json_t *)v, k, c) {
			(void)snprintf(sub, sizeof(sub), "%s%s%s", shown,
			    shown[0] ? "." : "", k);
			if (walk_rule(vs, r, seg, c, v, k, 0, sub, 0) == -1)
				return -1;
		}
		return 0;
	}
	if ((c = json_object_get(v, next)) == NULL)
		return 0;
	(void)snprintf(sub, sizeof(sub), "%s%s%s", shown, shown[0] ? "." : "",
	    next);
	return walk_rule(vs, r, seg, c, v, next, 0, sub, 0);
}

static int
validate(const struct hermes_config *cfg, char *err, size_t errlen)
{
	struct vstate vs = { cfg, err, errlen };
	size_t i;

	for (i = 0; i < nitems(cfg_rules); i++)
		if (walk_rule(&vs, &cfg_rules[i], cfg_rules[i].path, cfg->root,
		    NULL, NULL, 0, "", 0) == -1)
			return -1;
	return 0;
}

/* ---- typed fields ---- */

static const char *
get_str(const struct hermes_config *cfg, const char *path)
{
	json_t *v = config_get(cfg, path);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static long
get_long(const struct hermes_config *cfg, const char *path, long def)
{
	json_t *v = config_get(cfg, path);

	return json_is_integer(v) ? (long)json_integer_value(v) : def;
}

static int
get_bool(const struct hermes_config *cfg, const char *path, int def)
{
	json_t *v = config_get(cfg, path);

	return json_is_boolean(v) ? json_is_true(v) : def;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static const struct {
	const char	*path;
	size_t		 off;
	long		 def;
} long_fields[] = {
	{ "terminal.timeout", offsetof(struct hermes_config, terminal_timeout),
	  TOOL_DEFAULT_TIMEOUT_S },
	{ "approvals.timeout",
	  offsetof(struct hermes_config, approvals_timeout), 60 },
	{ "agent.max_turns", offsetof(struct hermes_config, max_turns), 90 },
	{ "limits.max_clients_per_uid",
	  offsetof(struct hermes_config, max_clients_per_uid),
	  SUP_MAX_CONN_PER_UID },
	{ "limits.command_memory_mb",
	  offsetof(struct hermes_config, command_memory_mb), 0 },
	{ "limits.command_max_procs",
	  offsetof(struct hermes_config, command_max_procs), 0 },
};

static const struct {
	const char	*path;
	size_t		 off;
	int		 def;
} bool_fields[] = {
	{ "sandbox.require", offsetof(struct hermes_config, sandbox_require),
	  0 },
	{ "sandbox.network", offsetof(struct hermes_config, sandbox_network),
	  0 },
};

static const struct {
	const char	*path;
	size_t		 off;
} str_fields[] = {
	{ "model.provider", offsetof(struct hermes_config, provider) },
	{ "model.base_url", offsetof(struct hermes_config, base_url) },
	{ "model.api_key", offsetof(struct hermes_config, api_key) },
	{ "terminal.cwd", offsetof(struct hermes_config, terminal_cwd) },
};

static int
valid_tenant_name(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return 0;
	return n > 0 && n <= 32;
}

static int
load_tenant(struct hermes_config *cfg, struct cfg_tenant *t,
    const char *name, const json_t *tv, char *err, size_t errlen)
{
	struct vstate vs = { cfg, err, errlen };
	json_t *uid = json_object_get(tv, "uid");
	json_t *home = json_object_get(tv, "home");
	char shown[128];
	struct passwd *pw;

	(void)snprintf(shown, sizeof(shown), "tenants.%s", name);
	if (!valid_tenant_name(name))
		return vfail(&vs, config_get(cfg, "tenants"), name, 0, shown,
		    "tenant names are 1-32 letters, digits, '_' or '-'");
	if (!json_is_object(tv))
		return vfail(&vs, config_get(cfg, "tenants"), name, 0, shown,
		    "expected a mapping with uid and home");
	(void)snprintf(shown, sizeof(shown), "tenants.%s.uid", name);
	if (json_is_integer(uid)) {
		json_int_t u = json_integer_value(uid);

		if (u < 0 || u >= (json_int_t)UINT32_MAX)
			return vfail(&vs, tv, "uid", 0, shown, "not a uid");
		t->uid = (uid_t)u;
		pw = getpwuid(t->uid);
	} else if (json_is_string(uid)) {
		if ((pw = getpwnam(json_string_value(uid))) == NULL)
			return vfail(&vs, tv, "uid", 0, shown, "no user "
			    "\"%s\"", json_string_value(uid));
		t->uid = pw->pw_uid;
	} else
		return vfail(&vs, config_get(cfg, "tenants"), name, 0, shown,
		    "missing (a uid number or user name)");
	t->gid = pw != NULL ? pw->pw_gid : (gid_t)t->uid;
	(void)snprintf(shown, sizeof(shown), "tenants.%s.home", name);
	if (json_is_string(home))
		t->home = xstrdup(json_string_value(home));
	else if (pw != NULL && pw->pw_dir != NULL && pw->pw_dir[0] == '/')
		(void)xasprintf(&t->home, "%s/.hermes", pw->pw_dir);
	else
		return vfail(&vs, config_get(cfg, "tenants"), name, 0, shown,
		    "missing, and uid %u has no home directory",
		    (unsigned)t->uid);
	if (t->home[0] != '/')
		return vfail(&vs, tv, "home", 0, shown, "must be an absolute "
		    "path");
	t->name = xstrdup(name);
	return 0;
}

static int
load_tenants(struct hermes_config *cfg, char *err, size_t errlen)
{
	json_t *tenants = config_get(cfg, "tenants"), *tv;
	struct vstate vs = { cfg, err, errlen };
	const char *name;
	size_t i;

	if (!json_is_object(tenants))
		return 0;
	if (json_object_size(tenants) > CFG_MAX_TENANTS)
		return vfail(&vs, cfg->root, "tenants", 0, "tenants", "more "
		    "than %d tenants", CFG_MAX_TENANTS);
	cfg->tenants = xcalloc(json_object_size(tenants) + 1,
	    sizeof(*cfg->tenants));
	json_object_foreach(tenants, name, tv) {
		struct cfg_tenant *t = &cfg->tenants[cfg->ntenants];
		char shown[128];

		(void)snprintf(shown, sizeof(shown), "tenants.%s.uid", name);
		if (load_tenant(cfg, t, name, tv, err, errlen) == -1) {
			free(t->home);
			t->home = NULL;
			return -1;
		}
		cfg->ntenants++;
		for (i = 0; i + 1 < cfg->ntenants; i++)
			if (cfg->tenants[i].uid == t->uid)
				return vfail(&vs, tv, "uid", 0, shown, "uid %u "
				    "is also tenant %s's", (unsigned)t->uid,
				    cfg->tenants[i].name);
	}
	return 0;
}

/* A key whose value is a credential (compared without case). */
static int
secret_key(const char *k)
{
	static const char *const exact[] = { "api_key", "key", "password",
		"sudo_password", "token", "secret", "authorization" };
	static const char *const suffix[] = { "_api_key", "_token", "_secret",
		"_password", "_apikey" };
	size_t i, n = strlen(k), m;

	for (i = 0; i < nitems(exact); i++)
		if (strcasecmp(k, exact[i]) == 0)
			return 1;
	for (i = 0; i < nitems(suffix); i++) {
		m = strlen(suffix[i]);
		if (n > m && strcasecmp(k + n - m, suffix[i]) == 0)
			return 1;
	}
	return 0;
}

static int
has_secret(const json_t *v, int depth)
{
	const char *k;
	json_t *c;
	size_t i;

	if (depth > CFG_MAX_DEPTH)
		return 0;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, c) {
			if (secret_key(k) && ((json_is_string(c) &&
			    json_string_length(c) > 0) || json_is_number(c)))
				return 1;
			if (has_secret(c, depth + 1))
				return 1;
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, c)
			if (has_secret(c, depth + 1))
				return 1;
	}
	return 0;
}

static void
strip_secrets(json_t *v, int depth)
{
	const char *k;
	json_t *c;
	void *tmp;
	size_t i;

	if (depth > CFG_MAX_DEPTH)
		return;
	if (json_is_object(v)) {
		json_object_foreach_safe(v, tmp, k, c) {
			if (secret_key(k))
				json_object_del(v, k);
			else
				strip_secrets(c, depth + 1);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, c)
			strip_secrets(c, depth + 1);
	}
}

static void
each_secret(const json_t *v, char *path, size_t len, size_t plen, int depth,
    cfg_secret_fn fn, void *arg)
{
	const char *k;
	json_t *c;
	size_t i, n;

	if (depth > CFG_MAX_DEPTH)
		return;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, k, c) {
			n = (size_t)snprintf(path + plen, len - plen, "%s%s",
			    plen ? "." : "", k);
			if (n >= len - plen)
				continue;
			if (secret_key(k) && json_is_string(c) &&
			    json_string_length(c) > 0)
				fn(path, json_string_value(c), arg);
			else
				each_secret(c, path, len, plen + n, depth + 1,
				    fn, arg);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, c) {
			n = (size_t)snprintf(path + plen, len - plen, "%s%zu",
			    plen ? "." : "", i);
			if (n < len - plen)
				each_secret(c, path, len, plen + n, depth + 1,
				    fn, arg);
		}
	}
	path[plen] = '\0';
}

void
config_foreach_secret(const struct hermes_config *cfg, cfg_secret_fn fn,
    void *arg)
{
	char path[1024] = "";

	if (cfg != NULL && cfg->root != NULL)
		each_secret(cfg->root, path, sizeof(path), 0, 0, fn, arg);
}

static void
load_typed(struct hermes_config *cfg)
{
	json_t *model = config_get(cfg, "model"), *mode;
	const char *s;
	size_t i;

	if (json_is_string(model))
		cfg->model = xstrdup(json_string_value(model));
	else if ((s = get_str(cfg, "model.default")) != NULL ||
	    (s = get_str(cfg, "model.model")) != NULL)
		cfg->model = xstrdup(s);
	for (i = 0; i < nitems(str_fields); i++)
		*(char **)((char *)cfg + str_fields[i].off) =
		    dup_or_null(get_str(cfg, str_fields[i].path));
	if (cfg->provider == NULL)
		cfg->provider = xstrdup("auto");
	for (i = 0; i < nitems(long_fields); i++)
		*(long *)((char *)cfg + long_fields[i].off) =
		    get_long(cfg, long_fields[i].path, long_fields[i].def);
	for (i = 0; i < nitems(bool_fields); i++)
		*(int *)((char *)cfg + bool_fields[i].off) =
		    get_bool(cfg, bool_fields[i].path, bool_fields[i].def);
	if ((s = get_str(cfg, "terminal.backend")) != NULL)
		cfg->backend = (enum cfg_backend)choice_index(ch_backend, s);
	/* As Hermes: YAML 1.1 reads "mode: off" as false. */
	mode = config_get(cfg, "approvals.mode");
	if (json_is_string(mode))
		cfg->approvals = (enum cfg_approvals)choice_index(ch_approvals,
		    json_string_value(mode));
	else if (json_is_boolean(mode))
		cfg->approvals = json_is_true(mode) ? CFG_APPROVALS_MANUAL :
		    CFG_APPROVALS_OFF;
	else
		cfg->approvals = CFG_APPROVALS_SMART;
	cfg->has_secrets = has_secret(cfg->root, 0);
}

/* ---- loading ---- */

static struct hermes_config *
config_new(const char *path)
{
	struct hermes_config *cfg = xcalloc(1, sizeof(*cfg));

	cfg->path = xstrdup(path);
	cfg->pos = xcalloc(1, sizeof(*cfg->pos));
	return cfg;
}

/* Parse, validate and type; takes the document text. */
static int
config_build(struct hermes_config *cfg, const char *buf, size_t len,
    char *err, size_t errlen)
{
	json_t *doc = NULL;

	if (buf != NULL && yaml_to_json(cfg->path, buf, len, &doc, cfg->pos,
	    err, errlen) == -1)
		return -1;
	if (doc == NULL || json_is_null(doc)) {
		json_decref(doc);
		doc = json_object();
		if (doc == NULL)
			return fail_at(err, errlen, cfg->path, 0, 0,
			    "out of memory");
	} else if (!json_is_object(doc)) {
		const struct cfg_pos_ent *e = pos_find(cfg->pos, NULL, NULL, 0);

		json_decref(doc);
		return fail_at(err, errlen, cfg->path, e ? e->line : 0,
		    e ? e->col : 0, "the document must be a mapping of keys");
	}
	cfg->root = doc;
	if (validate(cfg, err, errlen) == -1)
		return -1;
	load_typed(cfg);
	return load_tenants(cfg, err, errlen);
}

int
config_parse(const char *name, const char *buf, size_t len,
    struct hermes_config **out, char *err, size_t errlen)
{
	struct hermes_config *cfg = config_new(name);

	*out = NULL;
	cfg->present = 1;
	if (config_build(cfg, buf, len, err, errlen) == -1) {
		config_free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

/* Read a whole regular file of at most CFG_MAX_FILE bytes from fd. */
static int
read_bounded(int fd, const char *path, char **out, size_t *outlen,
    char *err, size_t errlen)
{
	struct stat st;
	size_t cap, len = 0;
	ssize_t n;
	char *buf;

	if (fstat(fd, &st) == -1)
		return fail_at(err, errlen, path, 0, 0, "fstat: %s",
		    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail_at(err, errlen, path, 0, 0, "not a regular file");
	if (st.st_size > CFG_MAX_FILE)
		return fail_at(err, errlen, path, 0, 0, "larger than %d bytes; "
		    "refusing", CFG_MAX_FILE);
	cap = (size_t)st.st_size + 1;
	buf = xmalloc(cap + 1);
	for (;;) {
		n = read(fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			int e = errno;

			freezero(buf, cap + 1);
			return fail_at(err, errlen, path, 0, 0, "read: %s",
			    strerror(e));
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap) {
			/* It grew while we read it. */
			freezero(buf, cap + 1);
			return fail_at(err, errlen, path, 0, 0, "changed while "
			    "being read");
		}
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

static int
config_load_path(const char *path, uid_t owner, struct hermes_config **out,
    char *err, size_t errlen)
{
	struct hermes_config *cfg;
	char *buf = NULL;
	size_t len = 0;
	int fd, rc;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	cfg = config_new(path);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1 && errno != ENOENT) {
		rc = fail_at(err, errlen, path, 0, 0, "%s", strerror(errno));
		config_free(cfg);
		return rc;
	}
	if (fd != -1) {
		cfg->present = 1;
		if (read_bounded(fd, path, &buf, &len, err, errlen) == -1) {
			(void)close(fd);
			config_free(cfg);
			return -1;
		}
	}
	rc = config_build(cfg, buf, len, err, errlen);
	/* The text may hold an api_key. */
	if (buf != NULL)
		freezero(buf, len + 1);
	if (rc == 0 && fd != -1 && cfg->has_secrets)
		rc = config_check_secrecy_fd(fd, path, owner, err, errlen);
	if (fd != -1)
		(void)close(fd);
	if (rc == -1) {
		config_free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

int
config_load_file(const char *path, struct hermes_config **out, char *err,
    size_t errlen)
{
	return config_load_path(path, geteuid(), out, err, errlen);
}

int
config_load(const char *home, struct hermes_config **out, char *err,
    size_t errlen)
{
	return config_load_owner(home, geteuid(), out, err, errlen);
}

int
config_load_owner(const char *home, uid_t owner, struct hermes_config **out,
    char *err, size_t errlen)
{
	char homebuf[PATH_MAX], path[PATH_MAX];

	*out = NULL;
	if (home == NULL) {
		if (hermes_home(homebuf, sizeof(homebuf)) == -1)
			return fail_at(err, errlen, "HERMES_HOME", 0, 0,
			    "cannot tell (set HERMES_HOME or HOME)");
		home = homebuf;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/config.yaml", home) >=
	    sizeof(path))
		return fail_at(err, errlen, home, 0, 0, "path too long");
	return config_load_path(path, owner, out, err, errlen);
}

void
config_free(struct hermes_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->ntenants; i++) {
		free(cfg->tenants[i].name);
		free(cfg->tenants[i].home);
	}
	free(cfg->tenants);
	free(cfg->model);
	free(cfg->provider);
	free(cfg->base_url);
	if (cfg->api_key != NULL)
		freezero(cfg->api_key, strlen(cfg->api_key));
	free(cfg->terminal_cwd);
	json_decref(cfg->root);
	pos_free(cfg->pos);
	free(cfg->path);
	free(cfg);
}

/* Walk a dotted path; numeric segments index lists. */
static json_t *
lookup(const struct hermes_config *cfg, const char *path,
    const json_t **parentp, char *lastkey, size_t lastlen, size_t *lastidx)
{
	const json_t *parent = NULL;
	json_t *v;
	char seg[256];
	const char *p = path, *dot;
	size_t len;

	if (cfg == NULL || cfg->root == NULL || path == NULL)
		return NULL;
	v = cfg->root;
	while (*p != '\0') {
		dot = strchr(p, '.');
		len = dot ? (size_t)(dot - p) : strlen(p);
		if (len == 0 || len >= sizeof(seg))
			return NULL;
		memcpy(seg, p, len);
		seg[len] = '\0';
		parent = v;
		if (json_is_object(v)) {
			v = json_object_get(v, seg);
			if (lastkey != NULL)
				(void)strlcpy(lastkey, seg, lastlen);
		} else if (json_is_array(v)) {
			char *end;
			unsigned long i = strtoul(seg, &end, 10);

			if (*end != '\0' || !isdigit((unsigned char)seg[0]))
				return NULL;
			v = json_array_get(v, i);
			if (lastkey != NULL)
				lastkey[0] = '\0';
			if (lastidx != NULL)
				*lastidx = i;
		} else
			return NULL;
		if (v == NULL)
			return NULL;
		p = dot ? dot + 1 : p + len;
	}
	if (parentp != NULL)
		*parentp = parent;
	return v;
}

json_t *
config_get(const struct hermes_config *cfg, const char *path)
{
	return lookup(cfg, path, NULL, NULL, 0, NULL);
}

int
config_where(const struct hermes_config *cfg, const char *path,
    unsigned *line, unsigned *col)
{
	const struct cfg_pos_ent *e;
	const json_t *parent = NULL;
	char key[256] = "";
	size_t idx = 0;

	if (lookup(cfg, path, &parent, key, sizeof(key), &idx) == NULL)
		return -1;
	e = pos_find(cfg->pos, parent, key[0] ? key : NULL, idx);
	if (e == NULL)
		return -1;
	*line = e->line;
	*col = e->col;
	return 0;
}

/*
 * YAML 1.1 turned an unquoted "off" into false: give workers the word.
 * approvals.mode: true means "manual", as in Hermes.
 */
static void
normalize_offbool(json_t *root)
{
	const struct cfg_rule *r;
	json_t *parent, *v;
	char path[128], *dot;
	size_t i;

	for (i = 0; i < nitems(cfg_rules); i++) {
		r = &cfg_rules[i];
		if (!(r->flags & R_OFFBOOL) || strchr(r->path, '*') != NULL ||
		    strlen(r->path) >= sizeof(path))
			continue;
		(void)strlcpy(path, r->path, sizeof(path));
		if ((dot = strrchr(path, '.')) == NULL)
			continue;
		*dot = '\0';
		parent = json_object_get(root, path);
		v = json_object_get(parent, dot + 1);
		if (json_is_false(v))
			json_object_set_new(parent, dot + 1, json_string("off"));
		else if (json_is_true(v) && strcmp(r->path, "approvals.mode") == 0)
			json_object_set_new(parent, dot + 1,
			    json_string("manual"));
	}
}

char *
config_public_json(const struct hermes_config *cfg)
{
	json_t *copy;
	char *s;

	if (cfg == NULL || cfg->root == NULL)
		return NULL;
	if ((copy = json_deep_copy(cfg->root)) == NULL)
		return NULL;
	strip_secrets(copy, 0);
	normalize_offbool(copy);
	s = json_dumps(copy, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(copy);
	return s;
}

const struct cfg_tenant *
config_tenant_by_uid(const struct hermes_config *cfg, uid_t uid)
{
	size_t i;

	for (i = 0; cfg != NULL && i < cfg->ntenants; i++)
		if (cfg->tenants[i].uid == uid)
			return &cfg->tenants[i];
	return NULL;
}

const char *
config_backend_name(enum cfg_backend b)
{
	if ((unsigned)b >= nitems(ch_backend) - 1)
		return "?";
	return ch_backend[b];
}

const char *
config_approvals_name(enum cfg_approvals a)
{
	if ((unsigned)a >= nitems(ch_approvals) - 1)
		return "?";
	return ch_approvals[a];
}

/* ---- files holding secrets ---- */

int
config_check_secrecy_fd(int fd, const char *path, uid_t owner, char *err,
    size_t errlen)
{
	struct stat st;
	uid_t me = geteuid();

	if (fstat(fd, &st) == -1)
		return fail_at(err, errlen, path, 0, 0, "fstat: %s",
		    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail_at(err, errlen, path, 0, 0, "holds secrets but is "
		    "not a regular file");
	if (st.st_uid != me && st.st_uid != 0 && st.st_uid != owner)
		return fail_at(err, errlen, path, 0, 0, "holds secrets but is "
		    "owned by uid %u, not by uid %u or root; fix: chown %u %s",
		    (unsigned)st.st_uid, (unsigned)me, (unsigned)me, path);
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return fail_at(err, errlen, path, 0, 0, "holds secrets but is "
		    "accessible by group or others (mode %04o); fix: chmod 600 "
		    "%s", (unsigned)(st.st_mode & 07777), path);
	return 0;
}

int
config_check_secrecy_owner(const char *path, uid_t owner, char *err,
    size_t errlen)
{
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
	    O_NONBLOCK);
	if (fd == -1 && errno == ELOOP)
		return fail_at(err, errlen, path, 0, 0, "holds secrets and is "
		    "a symbolic link, which is refused; fix: replace the link "
		    "with the file itself (cp --remove-destination "
		    "\"$(readlink -f %s)\" %s; chmod 600 %s)", path, path, path);
	if (fd == -1)
		return fail_at(err, errlen, path, 0, 0, "%s", strerror(errno));
	rc = config_check_secrecy_fd(fd, path, owner, err, errlen);
	(void)close(fd);
	return rc;
}

int
config_check_secrecy(const char *path, char *err, size_t errlen)
{
	return config_check_secrecy_owner(path, geteuid(), err, errlen);
}
