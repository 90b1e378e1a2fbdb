/*
 * config.yaml edits by lines (see yamledit.h). The file is split into
 * lines; each line is classified (blank/comment, "key: value", "- item",
 * other, block-scalar content) and a dotted key is found by walking
 * mappings by indentation. Edits replace or insert whole lines, so every
 * byte the CLI does not own stays as it was.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "ipc/util.h"
#include "cli/yamledit.h"

enum ykind { Y_BLANK, Y_KEY, Y_SEQ, Y_OTHER, Y_CONT };

struct yline {
	const char	*s;		/* start of line */
	size_t		 len;		/* without the newline */
	int		 indent;
	enum ykind	 kind;
	const char	*key;		/* Y_KEY: key text (unquoted) */
	size_t		 keylen;
	const char	*val;		/* Y_KEY: value, comment cut off */
	size_t		 vallen;
	const char	*tail;		/* Y_KEY: " # comment" after the value */
};

struct ydoc {
	struct yline	*l;
	size_t		 n;
};

/* Where a value's comment starts: " #" outside quotes, or the end. */
static const char *
comment_start(const char *p, const char *end)
{
	const char	*begin = p;
	char		 q = 0;

	for (; p < end; p++) {
		if (q) {
			if (*p == '\\' && q == '"' && p + 1 < end)
				p++;
			else if (*p == q)
				q = 0;
		} else if (*p == '"' || *p == '\'')
			q = *p;
		else if (*p == '#' && (p == begin || p[-1] == ' ' || p[-1] == '\t'))
			return p;
	}
	return end;
}

static void
classify(struct yline *y)
{
	const char	*p = y->s, *end = y->s + y->len, *k, *c;
	char		 q;

	while (p < end && *p == ' ')
		p++;
	y->indent = (int)(p - y->s);
	if (p == end || *p == '#') {
		y->kind = Y_BLANK;
		return;
	}
	if (*p == '-' && (p + 1 == end || p[1] == ' ')) {
		y->kind = Y_SEQ;
		return;
	}
	y->kind = Y_OTHER;
	/* A key: plain or quoted text followed by ':' and space/end. */
	k = p;
	if (*p == '"' || *p == '\'') {
		q = *p++;
		while (p < end && *p != q)
			p++;
		if (p == end)
			return;
		y->key = k + 1;
		y->keylen = (size_t)(p - k - 1);
		p++;
		if (p == end || *p != ':')
			return;
	} else {
		while (p < end && !(*p == ':' && (p + 1 == end || p[1] == ' ' ||
		    p[1] == '\t')))
			p++;
		if (p == end)
			return;
		y->key = k;
		y->keylen = (size_t)(p - k);
		while (y->keylen > 0 && k[y->keylen - 1] == ' ')
			y->keylen--;
	}
	p++;	/* ':' */
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	c = comment_start(p, end);
	y->tail = c;
	while (c > p && (c[-1] == ' ' || c[-1] == '\t'))
		c--;
	y->tail = c;
	y->val = p;
	y->vallen = (size_t)(c - p);
	y->kind = Y_KEY;
}

static int
ydoc_parse(const char *text, struct ydoc *d)
{
	const char	*p = text, *nl;
	size_t		 cap = 0, i;
	int		 blk = -1;	/* indent of a block scalar's key */

	d->l = NULL;
	d->n = 0;
	while (*p != '\0') {
		nl = strchr(p, '\n');
		if (d->n == cap) {
			cap = cap ? cap * 2 : 64;
			d->l = xreallocarray(d->l, cap, sizeof(*d->l));
		}
		memset(&d->l[d->n], 0, sizeof(d->l[0]));
		d->l[d->n].s = p;
		d->l[d->n].len = nl ? (size_t)(nl - p) : strlen(p);
		d->n++;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	for (i = 0; i < d->n; i++) {
		struct yline *y = &d->l[i];

		classify(y);
		if (blk >= 0) {
			if (y->kind == Y_BLANK || y->indent > blk) {
				y->kind = Y_CONT;
				continue;
			}
			blk = -1;
		}
		if (y->kind == Y_KEY && y->vallen > 0 &&
		    (y->val[0] == '|' || y->val[0] == '>'))
			blk = y->indent;
		if (y->kind == Y_OTHER && y->len >= 3 &&
		    strncmp(y->s, "---", 3) == 0)
			y->kind = Y_BLANK;
	}
	return 0;
}

/* End (exclusive) of the block of the key at line i. */
static size_t
block_end(const struct ydoc *d, size_t i)
{
	const struct yline	*k = &d->l[i];
	size_t			 j, last = i + 1;

	for (j = i + 1; j < d->n; j++) {
		const struct yline *y = &d->l[j];

		if (y->kind == Y_BLANK || y->kind == Y_CONT) {
			if (y->kind == Y_CONT)
				last = j + 1;
			continue;
		}
		if (y->indent > k->indent ||
		    (y->kind == Y_SEQ && y->indent == k->indent &&
		    k->vallen == 0)) {
			last = j + 1;
			continue;
		}
		break;
	}
	return last;
}

/* Find key `name` among the direct children in [lo, hi) of a parent at
 * indent pind. Returns the line or -1; *cind: the children's indent. */
static long
find_child(const struct ydoc *d, size_t lo, size_t hi, int pind,
    const char *name, int *cind)
{
	size_t	 j, nlen = strlen(name);
	int	 ci = -1;

	for (j = lo; j < hi; j++) {
		const struct yline *y = &d->l[j];

		if (y->kind == Y_BLANK || y->kind == Y_CONT)
			continue;
		if (y->indent <= pind)
			continue;
		if (ci < 0)
			ci = y->indent;
		if (y->indent != ci || y->kind != Y_KEY)
			continue;
		if (y->keylen == nlen && memcmp(y->key, name, nlen) == 0) {
			*cind = ci;
			return (long)j;
		}
	}
	*cind = ci;
	return -1;
}

static int
split_key(const char *key, char parts[][CLI_YAML_MAX_KEY], size_t *np)
{
	const char	*p = key, *dot;
	size_t		 n = 0, len;

	if (*key == '\0' || strlen(key) >= CLI_YAML_MAX_KEY)
		return -1;
	for (;;) {
		dot = strchr(p, '.');
		len = dot ? (size_t)(dot - p) : strlen(p);
		if (len == 0 || n == CLI_YAML_MAX_PARTS)
			return -1;
		memcpy(parts[n], p, len);
		parts[n][len] = '\0';
		n++;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	*np = n;
	return 0;
}

/*
 * Walk the path as far as it exists. Returns how many components were
 * found; line[i], end[i]: the line and block end of component i.
 */
static size_t
walk(const struct ydoc *d, char parts[][CLI_YAML_MAX_KEY], size_t np,
    long *line, size_t *end, int *cind)
{
	size_t	 lo = 0, hi = d->n, k;
	int	 pind = -1, ci;
	long	 j;

	for (k = 0; k < np; k++) {
		j = find_child(d, lo, hi, pind, parts[k], &ci);
		cind[k] = ci;
		if (j < 0)
			return k;
		line[k] = j;
		end[k] = block_end(d, (size_t)j);
		lo = (size_t)j + 1;
		hi = end[k];
		pind = d->l[j].indent;
	}
	return np;
}

static char *
unquote(const char *v, size_t len)
{
	char	*out, *o;
	size_t	 i;

	if (len >= 2 && v[0] == '\'' && v[len - 1] == '\'') {
		out = o = xmalloc(len);
		for (i = 1; i + 1 < len; i++) {
			*o++ = v[i];
			if (v[i] == '\'' && v[i + 1] == '\'')
				i++;
		}
		*o = '\0';
		return out;
	}
	if (len >= 2 && v[0] == '"' && v[len - 1] == '"') {
		out = o = xmalloc(len);
		for (i = 1; i + 1 < len; i++) {
			if (v[i] == '\\' && i + 2 < len) {
				i++;
				switch (v[i]) {
				case 'n': *o++ = '\n'; break;
				case 't': *o++ = '\t'; break;
				default: *o++ = v[i]; break;
				}
			} else
				*o++ = v[i];
		}
		*o = '\0';
		return out;
	}
	return xstrndup(v, len);
}

char *
cli_yaml_get(const char *text, const char *key, const char **err)
{
	char		 parts[CLI_YAML_MAX_PARTS][CLI_YAML_MAX_KEY];
	long		 line[CLI_YAML_MAX_PARTS];
	size_t		 end[CLI_YAML_MAX_PARTS], np, found, j, cap, len;
	int		 cind[CLI_YAML_MAX_PARTS], base = -1;
	struct ydoc	 d;
	const struct yline *y;
	char		*out = NULL;

	*err = NULL;
	if (split_key(key, parts, &np) == -1) {
		*err = "bad key";
		return NULL;
	}
	ydoc_parse(text, &d);
	found = walk(&d, parts, np, line, end, cind);
	if (found < np)
		goto done;
	y = &d.l[line[np - 1]];
	if (y->vallen > 0 && y->val[0] != '|' && y->val[0] != '>') {
		out = unquote(y->val, y->vallen);
		goto done;
	}
	/* A section or block scalar: its lines, de-indented. */
	cap = 1;
	for (j = (size_t)line[np - 1] + 1; j < end[np - 1]; j++)
		cap += d.l[j].len + 1;
	out = xmalloc(cap);
	out[0] = '\0';
	len = 0;
	for (j = (size_t)line[np - 1] + 1; j < end[np - 1]; j++) {
		const struct yline *c = &d.l[j];
		size_t skip;

		if (c->len == 0 || (c->kind == Y_BLANK && c->indent == (int)c->len))
			continue;
		if (base < 0)
			base = c->indent;
		skip = (size_t)(c->indent < base ? c->indent : base);
		memcpy(out + len, c->s + skip, c->len - skip);
		len += c->len - skip;
		out[len++] = '\n';
		out[len] = '\0';
	}
	if (len > 0)
		out[len - 1] = '\0';
done:
	free(d.l);
	return out;
}

static int
needs_quotes(const char *v)
{
	const char	*p;
	static const char first_bad[] = "!&*-?[]{}|>'\"%@`#,:";

	if (*v == '\0')
		return 1;
	if (strchr(first_bad, v[0]) != NULL && !(v[0] == '-' &&
	    isdigit((unsigned char)v[1])))
		return 1;
	if (v[0] == ' ' || v[strlen(v) - 1] == ' ')
		return 1;
	for (p = v; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 1;
		if (*p == ':' && (p[1] == ' ' || p[1] == '\0'))
			return 1;
		if (*p == '#' && p > v && p[-1] == ' ')
			return 1;
	}
	return 0;
}

char *
cli_yaml_scalar(const char *v)
{
	char		*out, *o;
	const char	*p;

	if (!needs_quotes(v))
		return xstrdup(v);
	out = o = xmalloc(strlen(v) * 4 + 3);
	*o++ = '"';
	for (p = v; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else if (c == '\t') {
			*o++ = '\\';
			*o++ = 't';
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(o, 5, "\\x%02x", c);
			o += 4;
		} else
			*o++ = (char)c;
	}
	*o++ = '"';
	*o = '\0';
	return out;
}

struct sbuf {
	char	*s;
	size_t	 len, cap;
};

static void
sb_add(struct sbuf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 1024;
		b->s = xreallocarray(b->s, 1, b->cap);
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void
sb_indent(struct sbuf *b, int n)
{
	while (n-- > 0)
		sb_add(b, " ", 1);
}

/* Copy lines [lo, hi) as they were, each with its newline. */
static void
sb_lines(struct sbuf *b, const struct ydoc *d, size_t lo, size_t hi)
{
	size_t	 j;

	for (j = lo; j < hi; j++) {
		sb_add(b, d->l[j].s, d->l[j].len);
		sb_add(b, "\n", 1);
	}
}

static int
is_flow(const struct yline *y)
{
	return y->vallen > 0 && (y->val[0] == '{' || y->val[0] == '[');
}

char *
cli_yaml_set(const char *text, const char *key, const char *value,
    const char **err)
{
	char		 parts[CLI_YAML_MAX_PARTS][CLI_YAML_MAX_KEY];
	long		 line[CLI_YAML_MAX_PARTS];
	size_t		 end[CLI_YAML_MAX_PARTS], np, found, k, j, at;
	int		 cind[CLI_YAML_MAX_PARTS], ind;
	struct ydoc	 d;
	struct sbuf	 b = { NULL, 0, 0 };
	char		*sv, *old = NULL;
	const struct yline *y;

	*err = NULL;
	if (split_key(key, parts, &np) == -1) {
		*err = "bad key (use dotted names like model.provider)";
		return NULL;
	}
	ydoc_parse(text, &d);
	found = walk(&d, parts, np, line, end, cind);
	sv = cli_yaml_scalar(value);

	if (found == np) {
		y = &d.l[line[np - 1]];
		if (is_flow(y) || (y->vallen == 0 &&
		    end[np - 1] > (size_t)line[np - 1] + 1)) {
			*err = "key is a section, not a value";
			goto fail;
		}
		sb_lines(&b, &d, 0, (size_t)line[np - 1]);
		sb_add(&b, y->s, (size_t)(y->val - y->s));
		if (y->vallen == 0 && (y->val == y->s + y->len ||
		    y->val[-1] == ':'))
			sb_str(&b, " ");
		sb_str(&b, sv);
		/* Keep a trailing comment, drop a replaced block scalar. */
		sb_add(&b, y->tail, (size_t)(y->s + y->len - y->tail));
		sb_add(&b, "\n", 1);
		at = y->vallen > 0 && (y->val[0] == '|' || y->val[0] == '>') ?
		    end[np - 1] : (size_t)line[np - 1] + 1;
		sb_lines(&b, &d, at, d.n);
		goto out;
	}

	/* Missing from component `found` on: insert under the ancestor. */
	if (found > 0) {
		y = &d.l[line[found - 1]];
		if (is_flow(y)) {
			*err = "parent is written in flow style ({...}); edit it by hand";
			goto fail;
		}
		if (y->vallen > 0) {
			/* Hermes accepts "model: name": turn it into a section
			 * with the name as model.default. */
			if (found == 1 && strcmp(parts[0], "model") == 0 &&
			    y->val[0] != '|' && y->val[0] != '>') {
				old = unquote(y->val, y->vallen);
			} else {
				*err = "parent key holds a value, not a section";
				goto fail;
			}
		}
		at = end[found - 1];
		/* Insert after the last line with content, not after the
		 * blank lines and comments that lead into the next key. */
		while (at > (size_t)line[found - 1] + 1 &&
		    d.l[at - 1].kind == Y_BLANK)
			at--;
		ind = cind[found] > y->indent ? cind[found] : y->indent + 2;
	} else {
		at = d.n;
		while (at > 0 && d.l[at - 1].kind == Y_BLANK &&
		    d.l[at - 1].len == 0)
			at--;
		ind = cind[0] >= 0 ? cind[0] : 0;
	}
	if (old != NULL) {
		y = &d.l[line[0]];
		sb_lines(&b, &d, 0, (size_t)line[0]);
		sb_add(&b, y->s, (size_t)(y->val - y->s));
		while (b.len > 0 && b.s[b.len - 1] == ' ')
			b.len--;
		b.s[b.len] = '\0';
		sb_add(&b, y->tail, (size_t)(y->s + y->len - y->tail));
		sb_str(&b, "\n");
		if (!(np == 2 && strcmp(parts[1], "default") == 0)) {
			char *ov = cli_yaml_scalar(old);

			sb_indent(&b, ind);
			sb_str(&b, "default: ");
			sb_str(&b, ov);
			sb_str(&b, "\n");
			free(ov);
		}
		sb_lines(&b, &d, (size_t)line[0] + 1, at);
	} else
		sb_lines(&b, &d, 0, at);
	if (b.len > 0 && b.s[b.len - 1] != '\n')
		sb_add(&b, "\n", 1);
	for (k = found; k < np; k++) {
		sb_indent(&b, ind);
		sb_str(&b, parts[k]);
		sb_str(&b, ":");
		if (k + 1 == np) {
			sb_str(&b, " ");
			sb_str(&b, sv);
		}
		sb_str(&b, "\n");
		ind += 2;
	}
	for (j = at; j < d.n; j++) {
		sb_add(&b, d.l[j].s, d.l[j].len);
		if (j + 1 < d.n || d.l[j].s[d.l[j].len] == '\n')
			sb_add(&b, "\n", 1);
	}
out:
	free(sv);
	free(old);
	free(d.l);
	if (b.s == NULL)
		b.s = xstrdup("");
	return b.s;
fail:
	free(sv);
	free(old);
	free(d.l);
	free(b.s);
	return NULL;
}

int
cli_yaml_valid(const char *text, char *err, size_t errlen)
{
	yaml_parser_t	 p;
	yaml_event_t	 ev;
	int		 done = 0, rc = 0;

	if (!yaml_parser_initialize(&p)) {
		snprintf(err, errlen, "yaml parser init failed");
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text,
	    strlen(text));
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			snprintf(err, errlen, "line %zu: %s",
			    p.problem_mark.line + 1,
			    p.problem ? p.problem : "parse error");
			rc = -1;
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return rc;
}

char *
cli_yaml_top_scalar(const char *text, const char *key)
{
	yaml_parser_t	 p;
	yaml_event_t	 ev;
	int		 depth = 0, want_value = 0, is_key = 1, done = 0;
	char		*out = NULL;

	if (!yaml_parser_initialize(&p))
		return NULL;
	yaml_parser_set_input_string(&p, (const unsigned char *)text,
	    strlen(text));
	while (!done && yaml_parser_parse(&p, &ev)) {
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT:
			if (depth == 1)
				is_key = 1;	/* a value of the top map */
			depth++;
			want_value = 0;
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			break;
		case YAML_SCALAR_EVENT:
			if (depth != 1)
				break;
			if (want_value) {
				out = xstrndup((const char *)ev.data.scalar.value,
				    ev.data.scalar.length);
				done = 1;
			} else if (is_key)
				want_value = strcmp((const char *)
				    ev.data.scalar.value, key) == 0;
			is_key = !is_key;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return out;
}
