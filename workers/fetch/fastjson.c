/*
 * A fast path for the chunk that makes up almost every stream: one text
 * delta. A validating single-pass JSON scanner (no allocation) walks the
 * chunk and picks out the few values the decoders read; when the chunk is
 * anything but a plain text delta - a tool call, a finish, usage, an
 * error, a duplicate key, a number jansson might refuse, an escape it
 * might refuse, nesting deeper than expected - it says so and the decoder
 * parses the chunk with jansson as before. So a chunk the fast path takes
 * is one jansson would accept with the same meaning (tests/fuzz/
 * fuzz_fetch_fast.c checks exactly that, differentially).
 */
#include <stdint.h>
#include <string.h>

#include "workers/fetch/fetch.h"

#define FJ_DEPTH	6
#define FJ_NO		(-2)	/* not for the fast path: use jansson */

struct fj {
	const unsigned char	*p, *end;
	int			 depth;
	/* The path to the value being scanned: keys (raw, unescaped). */
	const unsigned char	*key[FJ_DEPTH];
	size_t			 klen[FJ_DEPTH];
	long			 idx[FJ_DEPTH];	/* -1: object member */
	int			 shape;		/* 0 OpenAI, 1 Anthropic */
	struct prov_fast	*out;
	int			 seen[8];
};

static void
ws(struct fj *f)
{
	while (f->p < f->end && (*f->p == ' ' || *f->p == '\t' ||
	    *f->p == '\n' || *f->p == '\r'))
		f->p++;
}

static int
hex4(const unsigned char *p, unsigned *v)
{
	int	 i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		*v <<= 4;
		if (p[i] >= '0' && p[i] <= '9')
			*v |= p[i] - '0';
		else if (p[i] >= 'a' && p[i] <= 'f')
			*v |= p[i] - 'a' + 10;
		else if (p[i] >= 'A' && p[i] <= 'F')
			*v |= p[i] - 'A' + 10;
		else
			return -1;
	}
	return 0;
}

/* One UTF-8 sequence as jansson checks it; its length or 0. */
static int
utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned	 c = p[0], v, i, n;

	if (c < 0x80)
		return 1;
	if (c < 0xc2 || c > 0xf4)
		return 0;
	n = c < 0xe0 ? 2 : (c < 0xf0 ? 3 : 4);
	if ((size_t)(end - p) < n)
		return 0;
	v = c & (0xff >> (n + 1));
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) ||
	    (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff)
		return 0;
	return (int)n;
}

/* A string; *s..*e is its raw inside, *esc if it had escapes. */
static int
string(struct fj *f, const unsigned char **s, const unsigned char **e,
    int *esc)
{
	unsigned	 v, lo;
	int		 n;

	f->p++;			/* the quote */
	*s = f->p;
	*esc = 0;
	while (f->p < f->end && *f->p != '"') {
		if (*f->p < 0x20)
			return -1;
		if (*f->p == '\\') {
			*esc = 1;
			if (f->end - f->p < 2)
				return -1;
			switch (f->p[1]) {
			case '"': case '\\': case '/': case 'b': case 'f':
			case 'n': case 'r': case 't':
				f->p += 2;
				continue;
			case 'u':
				if (f->end - f->p < 6 || hex4(f->p + 2, &v) == -1)
					return -1;
				if (v == 0 || (v >= 0xdc00 && v <= 0xdfff))
					return FJ_NO;
				if (v >= 0xd800 && v <= 0xdbff) {
					if (f->end - f->p < 12 || f->p[6] != '\\' ||
					    f->p[7] != 'u' ||
					    hex4(f->p + 8, &lo) == -1 ||
					    lo < 0xdc00 || lo > 0xdfff)
						return FJ_NO;
					f->p += 12;
				} else
					f->p += 6;
				continue;
			default:
				return -1;
			}
		}
		if ((n = utf8_len(f->p, f->end)) == 0)
			return FJ_NO;
		f->p += n;
	}
	if (f->p >= f->end)
		return -1;
	*e = f->p++;
	return 0;
}

/* Integers of up to 15 digits only (jansson refuses some big ones). */
static int
number(struct fj *f)
{
	int	 digits = 0;

	if (*f->p == '-')
		f->p++;
	if (f->p >= f->end || *f->p < '0' || *f->p > '9')
		return -1;
	if (*f->p == '0' && f->p + 1 < f->end && f->p[1] >= '0' &&
	    f->p[1] <= '9')
		return -1;
	while (f->p < f->end && *f->p >= '0' && *f->p <= '9') {
		f->p++;
		digits++;
	}
	if (f->p < f->end && (*f->p == '.' || *f->p == 'e' || *f->p == 'E'))
		return FJ_NO;
	return digits > 15 ? FJ_NO : 0;
}

static int
word(struct fj *f, const char *w, size_t n)
{
	if ((size_t)(f->end - f->p) < n || memcmp(f->p, w, n) != 0)
		return -1;
	f->p += n;
	return 0;
}

static int	 value(struct fj *);

enum { V_STR, V_NULL, V_SCALAR, V_OBJ, V_ARR };

static int
is(const unsigned char *k, size_t kl, const char *w)
{
	return kl == strlen(w) && memcmp(k, w, kl) == 0;
}

/* The text of a plain delta, once. */
static int
take(struct fj *f, int slot, int kind, const unsigned char *s,
    const unsigned char *e, int esc)
{
	if (f->seen[slot]++)
		return FJ_NO;
	if (kind == V_NULL && f->shape == 0)
		return 0;
	if (kind != V_STR)
		return FJ_NO;
	f->out->text = (const char *)s;
	f->out->len = (size_t)(e - s);
	f->out->escaped = esc;
	return 0;
}

/* OpenAI: {"choices":[{"delta":{"content":"..."}, "finish_reason":null,
 * ...}], "usage":null?, ...} and nothing the decoder would act on. */
static int
visit_openai(struct fj *f, int kind, const unsigned char *s,
    const unsigned char *e, int esc)
{
	const unsigned char	*k = f->key[f->depth - 1];
	size_t			 kl = f->klen[f->depth - 1];

	if (f->depth == 1) {
		if (is(k, kl, "error") || is(k, kl, "usage"))
			return kind == V_NULL ? 0 : FJ_NO;
		if (is(k, kl, "choices"))
			return !f->seen[0]++ && kind == V_ARR ?
			    0 : FJ_NO;
		return 0;
	}
	if (!is(f->key[0], f->klen[0], "choices"))
		return 0;			/* inside other members */
	if (f->idx[1] != 0)
		return FJ_NO;			/* a second choice */
	switch (f->depth) {
	case 2:
		return kind == V_OBJ ? 0 : FJ_NO;
	case 3:
		if (is(k, kl, "finish_reason"))
			return kind == V_NULL ? 0 : FJ_NO;
		if (is(k, kl, "delta"))
			return !f->seen[1]++ && kind == V_OBJ ?
			    0 : FJ_NO;
		return 0;			/* index, logprobs, ... */
	case 4:
		if (!is(f->key[2], f->klen[2], "delta"))
			return 0;
		if (is(k, kl, "content"))
			return take(f, 2, kind, s, e, esc);
		if (is(k, kl, "role") || (is(k, kl, "refusal") &&
		    kind == V_NULL))
			return 0;
		return FJ_NO;			/* tool_calls, reasoning ... */
	default:
		return 0;
	}
}

/* Anthropic: {"type":"content_block_delta","index":n,"delta":{"type":
 * "text_delta"|"thinking_delta","text"|"thinking":"..."}} */
static int
visit_anthropic(struct fj *f, int kind, const unsigned char *s,
    const unsigned char *e, int esc)
{
	const unsigned char	*k = f->key[f->depth - 1];
	size_t			 kl = f->klen[f->depth - 1];

	if (f->depth == 1) {
		if (is(k, kl, "type")) {
			if (f->seen[0]++ || kind != V_STR || esc ||
			    !is(s, (size_t)(e - s), "content_block_delta"))
				return FJ_NO;
			f->out->type_ok = 1;
		} else if (is(k, kl, "delta")) {
			if (f->seen[1]++ || kind != V_OBJ)
				return FJ_NO;
		} else if (is(k, kl, "index") && f->seen[3]++)
			return FJ_NO;
		return 0;
	}
	if (!is(f->key[0], f->klen[0], "delta"))
		return 0;
	if (f->depth != 2)
		return FJ_NO;
	if (is(k, kl, "type")) {
		if (f->seen[4]++ || kind != V_STR || esc)
			return FJ_NO;
		if (is(s, (size_t)(e - s), "text_delta"))
			f->out->reasoning = 0;
		else if (is(s, (size_t)(e - s), "thinking_delta"))
			f->out->reasoning = 1;
		else
			return FJ_NO;
		f->out->delta_ok = 1;
		return 0;
	}
	if (is(k, kl, "text") || is(k, kl, "thinking")) {
		f->out->textkey = is(k, kl, "thinking");
		return take(f, 2, kind, s, e, esc);
	}
	return FJ_NO;
}

static int
visit(struct fj *f, int kind, const unsigned char *s, const unsigned char *e,
    int esc)
{
	if (f->depth == 0)
		return 0;
	return f->shape == 0 ? visit_openai(f, kind, s, e, esc) :
	    visit_anthropic(f, kind, s, e, esc);
}

static int
members(struct fj *f, int array)
{
	const unsigned char	*ks, *ke;
	long			 i = 0;
	int			 rc, esc;

	f->p++;
	ws(f);
	if (f->p < f->end && *f->p == (array ? ']' : '}')) {
		f->p++;
		return 0;
	}
	if (f->depth >= FJ_DEPTH)
		return FJ_NO;
	for (;;) {
		ws(f);
		if (array) {
			f->key[f->depth] = NULL;
			f->klen[f->depth] = 0;
			f->idx[f->depth] = i++;
		} else {
			if (f->p >= f->end || *f->p != '"')
				return -1;
			if ((rc = string(f, &ks, &ke, &esc)) != 0)
				return rc;
			if (esc)
				return FJ_NO;
			f->key[f->depth] = ks;
			f->klen[f->depth] = (size_t)(ke - ks);
			f->idx[f->depth] = -1;
			ws(f);
			if (f->p >= f->end || *f->p != ':')
				return -1;
			f->p++;
			ws(f);
		}
		f->depth++;
		rc = value(f);
		f->depth--;
		if (rc != 0)
			return rc;
		ws(f);
		if (f->p >= f->end)
			return -1;
		if (*f->p == ',') {
			f->p++;
			continue;
		}
		if (*f->p == (array ? ']' : '}')) {
			f->p++;
			return 0;
		}
		return -1;
	}
}

static int
value(struct fj *f)
{
	const unsigned char	*s, *e;
	int			 rc, esc;

	if (f->p >= f->end)
		return -1;
	switch (*f->p) {
	case '"':
		if ((rc = string(f, &s, &e, &esc)) != 0)
			return rc;
		return visit(f, V_STR, s, e, esc);
	case '{':
	case '[':
		if ((rc = visit(f, *f->p == '[' ? V_ARR : V_OBJ, NULL, NULL,
		    0)) != 0)
			return rc;
		return members(f, *f->p == '[');
	case 't':
		if (word(f, "true", 4) == -1)
			return -1;
		return visit(f, V_SCALAR, NULL, NULL, 0);
	case 'f':
		if (word(f, "false", 5) == -1)
			return -1;
		return visit(f, V_SCALAR, NULL, NULL, 0);
	case 'n':
		if (word(f, "null", 4) == -1)
			return -1;
		return visit(f, V_NULL, NULL, NULL, 0);
	default:
		if ((rc = number(f)) != 0)
			return rc;
		return visit(f, V_SCALAR, NULL, NULL, 0);
	}
}

int
prov_fast_scan(int shape, const char *p, size_t n, struct prov_fast *o)
{
	struct fj	 f;
	int		 rc;

	memset(&f, 0, sizeof(f));
	memset(o, 0, sizeof(*o));
	f.p = (const unsigned char *)p;
	f.end = f.p + n;
	f.shape = shape;
	f.out = o;
	ws(&f);
	if (f.p >= f.end || *f.p != '{')
		return -1;
	if ((rc = value(&f)) != 0)
		return -1;
	ws(&f);
	if (f.p != f.end)
		return -1;
	if (shape == 0)
		return f.seen[0] == 1 ? 0 : -1;	/* "choices" was there */
	return o->type_ok && o->delta_ok && o->text != NULL &&
	    o->textkey == o->reasoning ? 0 : -1;
}

/* Unescape a string the scanner accepted into out (len+1 bytes). */
size_t
prov_fast_unescape(const char *s, size_t n, char *out)
{
	const unsigned char	*p = (const unsigned char *)s;
	const unsigned char	*end = p + n;
	unsigned		 v, lo;
	size_t			 o = 0;

	while (p < end) {
		if (*p != '\\') {
			out[o++] = (char)*p++;
			continue;
		}
		switch (p[1]) {
		case 'b': out[o++] = '\b'; p += 2; continue;
		case 'f': out[o++] = '\f'; p += 2; continue;
		case 'n': out[o++] = '\n'; p += 2; continue;
		case 'r': out[o++] = '\r'; p += 2; continue;
		case 't': out[o++] = '\t'; p += 2; continue;
		case 'u':
			(void)hex4(p + 2, &v);
			p += 6;
			if (v >= 0xd800 && v <= 0xdbff) {
				(void)hex4(p + 2, &lo);
				p += 6;
				v = 0x10000 + ((v - 0xd800) << 10) +
				    (lo - 0xdc00);
			}
			if (v < 0x80)
				out[o++] = (char)v;
			else if (v < 0x800) {
				out[o++] = (char)(0xc0 | (v >> 6));
				out[o++] = (char)(0x80 | (v & 0x3f));
			} else if (v < 0x10000) {
				out[o++] = (char)(0xe0 | (v >> 12));
				out[o++] = (char)(0x80 | ((v >> 6) & 0x3f));
				out[o++] = (char)(0x80 | (v & 0x3f));
			} else {
				out[o++] = (char)(0xf0 | (v >> 18));
				out[o++] = (char)(0x80 | ((v >> 12) & 0x3f));
				out[o++] = (char)(0x80 | ((v >> 6) & 0x3f));
				out[o++] = (char)(0x80 | (v & 0x3f));
			}
			continue;
		default:		/* " \ / */
			out[o++] = (char)p[1];
			p += 2;
		}
	}
	out[o] = '\0';
	return o;
}
