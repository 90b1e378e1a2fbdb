/*
 * What the model sees of a command's output: a bounded head/tail
 * collector, Hermes's truncation notice, ANSI stripping and secret
 * redaction. Pure functions; no I/O.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ipc/util.h"
#include "workers/tool/tool.h"

/* ---- string builder ------------------------------------------------- */

void
tool_sb_add(struct tool_sb *sb, const void *p, size_t n)
{
	size_t	 need;

	need = sb->len + n + 1;
	if (need < sb->len)
		fatalx("tool_sb_add: overflow");
	if (need > sb->cap) {
		size_t ncap = sb->cap ? sb->cap : 64;
		while (ncap < need)
			ncap *= 2;
		sb->s = xreallocarray(sb->s, ncap, 1);
		sb->cap = ncap;
	}
	if (n)
		memcpy(sb->s + sb->len, p, n);
	sb->len += n;
	sb->s[sb->len] = '\0';
}

void
tool_sb_adds(struct tool_sb *sb, const char *s)
{
	tool_sb_add(sb, s, strlen(s));
}

void
tool_sb_addc(struct tool_sb *sb, char c)
{
	if (sb->len + 2 <= sb->cap) {
		sb->s[sb->len++] = c;
		sb->s[sb->len] = '\0';
		return;
	}
	tool_sb_add(sb, &c, 1);
}

void
tool_sb_printf(struct tool_sb *sb, const char *fmt, ...)
{
	va_list	 ap;
	char	*p;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("vasprintf");
	tool_sb_add(sb, p, (size_t)n);
	free(p);
}

char *
tool_sb_take(struct tool_sb *sb)
{
	char	*s;

	if (sb->s == NULL)
		return xstrdup("");
	s = sb->s;
	sb->s = NULL;
	sb->len = sb->cap = 0;
	return s;
}

void
tool_sb_free(struct tool_sb *sb)
{
	free(sb->s);
	sb->s = NULL;
	sb->len = sb->cap = 0;
}

/* ---- UTF-8 ------------------------------------------------------------ */

size_t
tool_utf8_chars(const char *s, size_t n)
{
	size_t	 i, c = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			c++;
	return c;
}

/* Length of a valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t
utf8_valid(const unsigned char *s, size_t n)
{
	size_t	 len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

char *
tool_utf8_sanitize(const char *s, size_t n, size_t *outlen)
{
	struct tool_sb	 sb = { 0 };
	const unsigned char *u = (const unsigned char *)s;
	size_t		 i = 0, k, run = 0;

	while (i < n) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		k = utf8_valid(u + i, n - i);
		if (k > 0) {
			i += k;
			continue;
		}
		tool_sb_add(&sb, s + run, i - run);
		tool_sb_add(&sb, "\xef\xbf\xbd", 3);
		run = ++i;
	}
	tool_sb_add(&sb, s + run, n - run);
	if (outlen)
		*outlen = sb.len;
	return tool_sb_take(&sb);
}

/* Byte offset of the start of the last `chars` characters of s[0..n). */
static size_t
utf8_tail_off(const char *s, size_t n, size_t chars)
{
	size_t	 i = n, c = 0;

	if (chars == 0)
		return n;
	while (i > 0) {
		i--;
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (++c == chars)
				return i;
		}
	}
	return 0;
}

/* Byte length of the first `chars` characters of s[0..n). */
static size_t
utf8_head_len(const char *s, size_t n, size_t chars)
{
	size_t	 i, c = 0;

	for (i = 0; i < n; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (c == chars)
				return i;
			c++;
		}
	}
	return n;
}

/* ---- the bounded collector -------------------------------------------- */

struct tool_out {
	size_t	 max_chars;
	size_t	 head_limit;	/* chars */
	size_t	 tail_limit;	/* chars */
	char	*head;
	size_t	 head_len;	/* bytes */
	size_t	 head_chars;
	char	*ring;		/* the last ring_cap bytes after the head */
	size_t	 ring_cap;
	size_t	 ring_pos;	/* next write position */
	size_t	 ring_len;	/* bytes held */
	uint64_t total_chars;
	uint64_t total_bytes;
	int	 head_full;
};

struct tool_out *
tool_out_new(size_t max_chars)
{
	struct tool_out	*o;

	if (max_chars == 0)
		max_chars = 1;
	o = xcalloc(1, sizeof(*o));
	o->max_chars = max_chars;
	o->head_limit = max_chars * TOOL_HEAD_PERMILLE / 1000;
	o->tail_limit = max_chars - o->head_limit;
	o->head = xmalloc(o->head_limit * TOOL_CAPTURE_BYTES_PER_CHAR + 4);
	o->ring_cap = o->tail_limit * TOOL_CAPTURE_BYTES_PER_CHAR + 4;
	o->ring = xmalloc(o->ring_cap);
	return o;
}

void
tool_out_free(struct tool_out *o)
{
	if (o == NULL)
		return;
	free(o->head);
	free(o->ring);
	free(o);
}

static void
ring_add(struct tool_out *o, const char *p, size_t n)
{
	size_t	 k;

	if (n >= o->ring_cap) {
		memcpy(o->ring, p + n - o->ring_cap, o->ring_cap);
		o->ring_pos = 0;
		o->ring_len = o->ring_cap;
		return;
	}
	while (n > 0) {
		k = o->ring_cap - o->ring_pos;
		if (k > n)
			k = n;
		memcpy(o->ring + o->ring_pos, p, k);
		o->ring_pos = (o->ring_pos + k) % o->ring_cap;
		o->ring_len += k;
		if (o->ring_len > o->ring_cap)
			o->ring_len = o->ring_cap;
		p += k;
		n -= k;
	}
}

void
tool_out_add(struct tool_out *o, const void *vp, size_t n)
{
	const char	*p = vp;
	size_t		 i;

	o->total_bytes += n;
	o->total_chars += tool_utf8_chars(p, n);
	/* Fill the head character by character (continuations stay with
	 * their lead byte); once full, everything goes to the ring. */
	for (i = 0; i < n && !o->head_full; i++) {
		int cont = ((unsigned char)p[i] & 0xc0) == 0x80;
		if ((!cont && o->head_chars >= o->head_limit) ||
		    o->head_len >= o->head_limit * TOOL_CAPTURE_BYTES_PER_CHAR + 3) {
			o->head_full = 1;
			break;
		}
		o->head[o->head_len++] = p[i];
		if (!cont)
			o->head_chars++;
	}
	if (i < n)
		ring_add(o, p + i, n - i);
}

uint64_t
tool_out_total_chars(const struct tool_out *o)
{
	return o->total_chars;
}

uint64_t
tool_out_total_bytes(const struct tool_out *o)
{
	return o->total_bytes;
}

/* Thousands separators as Python's "{:,}". */
static void
fmt_commas(char *buf, size_t len, uint64_t v)
{
	char	 tmp[32];
	size_t	 n, i, j = 0;

	snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	n = strlen(tmp);
	for (i = 0; i < n && j + 2 < len; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[j++] = ',';
		buf[j++] = tmp[i];
	}
	buf[j] = '\0';
}

/* NUL bytes cannot travel in the C strings downstream: U+2400. */
char *
tool_nul_visible(struct tool_sb *sb)
{
	struct tool_sb	 out = { 0 };
	size_t		 i;

	if (sb->s == NULL || memchr(sb->s, '\0', sb->len) == NULL)
		return tool_sb_take(sb);
	for (i = 0; i < sb->len; i++) {
		if (sb->s[i] == '\0')
			tool_sb_add(&out, "\xe2\x90\x80", 3);
		else
			tool_sb_addc(&out, sb->s[i]);
	}
	tool_sb_free(sb);
	return tool_sb_take(&out);
}

char *
tool_out_render(const struct tool_out *o, const char *suffix)
{
	struct tool_sb	 sb = { 0 }, tail = { 0 };
	char		 notice[160], a[32], b[32], *out;
	size_t		 slen, sfx_chars, avail, budget, hc, tc, i;
	uint64_t	 omitted;

	if (suffix == NULL)
		suffix = "";
	slen = strlen(suffix);
	sfx_chars = tool_utf8_chars(suffix, slen);

	/* The tail bytes in order. */
	if (o->ring_len == o->ring_cap) {
		tool_sb_add(&tail, o->ring + o->ring_pos,
		    o->ring_cap - o->ring_pos);
		tool_sb_add(&tail, o->ring, o->ring_pos);
	} else
		tool_sb_add(&tail, o->ring, o->ring_len);
	if (tail.s == NULL)
		tool_sb_add(&tail, "", 0);

	if (sfx_chars >= o->max_chars) {
		size_t off = utf8_tail_off(suffix, slen, o->max_chars);
		tool_sb_free(&tail);
		return xstrdup(suffix + off);
	}
	avail = o->max_chars - sfx_chars;
	if (o->total_chars <= avail) {
		tool_sb_add(&sb, o->head, o->head_len);
		tool_sb_add(&sb, tail.s, tail.len);
		tool_sb_adds(&sb, suffix);
		tool_sb_free(&tail);
		return tool_nul_visible(&sb);
	}
	notice[0] = '\0';
	for (i = 0; i < 4; i++) {
		char upd[160];
		budget = avail > strlen(notice) ? avail - strlen(notice) : 0;
		hc = budget * TOOL_HEAD_PERMILLE / 1000;
		tc = budget - hc;
		omitted = o->total_chars > hc + tc ? o->total_chars - hc - tc : 0;
		fmt_commas(a, sizeof(a), omitted);
		fmt_commas(b, sizeof(b), o->total_chars);
		snprintf(upd, sizeof(upd), "\n\n... [OUTPUT TRUNCATED - %s chars "
		    "omitted out of %s total] ...\n\n", a, b);
		if (strcmp(upd, notice) == 0)
			break;
		strlcpy(notice, upd, sizeof(notice));
	}
	budget = avail > strlen(notice) ? avail - strlen(notice) : 0;
	hc = budget * TOOL_HEAD_PERMILLE / 1000;
	tc = budget - hc;
	tool_sb_add(&sb, o->head, utf8_head_len(o->head, o->head_len, hc));
	tool_sb_adds(&sb, notice);
	if (tc > 0) {
		size_t off = utf8_tail_off(tail.s, tail.len, tc);
		tool_sb_add(&sb, tail.s + off, tail.len - off);
	}
	tool_sb_adds(&sb, suffix);
	tool_sb_free(&tail);
	out = tool_nul_visible(&sb);
	return out;
}

char *
tool_truncate(const char *s, size_t max_chars)
{
	struct tool_sb	 sb = { 0 };
	size_t		 n = strlen(s), chars, hc, tc, off;
	char		 a[32], b[32];

	chars = tool_utf8_chars(s, n);
	if (chars <= max_chars)
		return xstrdup(s);
	hc = max_chars * TOOL_HEAD_PERMILLE / 1000;
	tc = max_chars - hc;
	fmt_commas(a, sizeof(a), chars - hc - tc);
	fmt_commas(b, sizeof(b), chars);
	tool_sb_add(&sb, s, utf8_head_len(s, n, hc));
	tool_sb_printf(&sb, "\n\n... [OUTPUT TRUNCATED - %s chars omitted out "
	    "of %s total] ...\n\n", a, b);
	off = utf8_tail_off(s, n, tc);
	tool_sb_add(&sb, s + off, n - off);
	return tool_sb_take(&sb);
}

/* ---- ANSI --------------------------------------------------------------- */

/*
 * ECMA-48: CSI (ESC [ or C1 0x9b) params/intermediates then a final byte
 * 0x40-0x7e; OSC (ESC ] or 0x9d) up to BEL or ST; DCS/SOS/PM/APC (ESC P X
 * ^ _ or C1 0x90 0x98 0x9e 0x9f) up to ST; other ESC + one byte. C1
 * controls arrive UTF-8 encoded (0xc2 0x80-0x9f).
 */
size_t
tool_strip_ansi(char *s, size_t n)
{
	size_t	 i = 0, j = 0;
	unsigned char c, kind;

	while (i < n) {
		c = (unsigned char)s[i];
		kind = 0;
		if (c == 0x1b && i + 1 < n) {
			kind = (unsigned char)s[i + 1];
			i += 2;
		} else if (c == 0x1b) {
			i++;
			continue;
		} else if (c == 0xc2 && i + 1 < n &&
		    ((unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f)) {
			/* C1 as 7-bit equivalent: 0x9b -> '[' etc. */
			kind = (unsigned char)s[i + 1] - 0x40;
			i += 2;
		} else {
			s[j++] = s[i++];
			continue;
		}
		switch (kind) {
		case '[':
			while (i < n && ((unsigned char)s[i] < 0x40 ||
			    (unsigned char)s[i] > 0x7e))
				i++;
			if (i < n)
				i++;
			break;
		case ']':
		case 'P':
		case 'X':
		case '^':
		case '_':
			while (i < n) {
				if (kind == ']' && s[i] == '\a') {
					i++;
					break;
				}
				if (s[i] == 0x1b && i + 1 < n && s[i + 1] == '\\') {
					i += 2;
					break;
				}
				if ((unsigned char)s[i] == 0xc2 && i + 1 < n &&
				    (unsigned char)s[i + 1] == 0x9c) {
					i += 2;
					break;
				}
				i++;
			}
			break;
		default:
			/* Two-byte escapes; charset designations take one more. */
			if ((kind == '(' || kind == ')' || kind == '*' ||
			    kind == '+' || kind == '#' || kind == '%') && i < n)
				i++;
			break;
		}
	}
	if (j < n)
		s[j] = '\0';
	return j;
}

char *
tool_strip(char *s)
{
	size_t	 n;
	char	*p = s;

	while (*p && isspace((unsigned char)*p))
		p++;
	n = strlen(p);
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	memmove(s, p, n);
	s[n] = '\0';
	return s;
}

/* ---- secret redaction ---------------------------------------------------- */

/* Vendor prefixes: { prefix, charset, minimum body length }. */
enum cs { CS_ALNUM, CS_ALNUM_DASH_US, CS_ALNUM_US, CS_ALNUM_DASH, CS_UPPER_NUM,
	CS_B64URL_EQ };

static const struct prefix_rule {
	const char	*prefix;
	enum cs		 cs;
	size_t		 min;
} prefix_rules[] = {
	{ "sk-", CS_ALNUM_DASH_US, 10 },	/* OpenAI, OpenRouter, Anthropic */
	{ "ghp_", CS_ALNUM, 10 },
	{ "github_pat_", CS_ALNUM_US, 10 },
	{ "gho_", CS_ALNUM, 10 },
	{ "ghu_", CS_ALNUM, 10 },
	{ "ghs_", CS_ALNUM, 10 },
	{ "ghr_", CS_ALNUM, 10 },
	{ "xoxb-", CS_ALNUM_DASH, 10 },
	{ "xoxa-", CS_ALNUM_DASH, 10 },
	{ "xoxp-", CS_ALNUM_DASH, 10 },
	{ "xoxr-", CS_ALNUM_DASH, 10 },
	{ "xoxs-", CS_ALNUM_DASH, 10 },
	{ "xapp-", CS_ALNUM_DASH, 10 },
	{ "AIza", CS_ALNUM_DASH_US, 30 },
	{ "pplx-", CS_ALNUM, 10 },
	{ "fal_", CS_ALNUM_DASH_US, 10 },
	{ "fc-", CS_ALNUM, 10 },
	{ "bb_live_", CS_ALNUM_DASH_US, 10 },
	{ "gAAAA", CS_B64URL_EQ, 20 },
	{ "AKIA", CS_UPPER_NUM, 16 },
	{ "sk_live_", CS_ALNUM, 10 },
	{ "sk_test_", CS_ALNUM, 10 },
	{ "rk_live_", CS_ALNUM, 10 },
	{ "SG.", CS_ALNUM_DASH_US, 10 },
	{ "hf_", CS_ALNUM, 10 },
	{ "r8_", CS_ALNUM, 10 },
	{ "npm_", CS_ALNUM, 10 },
	{ "pypi-", CS_ALNUM_DASH_US, 10 },
	{ "dop_v1_", CS_ALNUM, 10 },
	{ "doo_v1_", CS_ALNUM, 10 },
	{ "am_", CS_ALNUM_DASH_US, 10 },
	{ "sk_", CS_ALNUM_US, 10 },
	{ "tvly-", CS_ALNUM, 10 },
	{ "exa_", CS_ALNUM, 10 },
	{ "gsk_", CS_ALNUM, 10 },
	{ "syt_", CS_ALNUM, 10 },
	{ "hsk-", CS_ALNUM, 10 },
	{ "mem0_", CS_ALNUM, 10 },
	{ "brv_", CS_ALNUM, 10 },
	{ "xai-", CS_ALNUM, 30 },
	{ "ntn_", CS_ALNUM, 10 },
	{ "fw-", CS_ALNUM, 30 },
	{ "fw_", CS_ALNUM, 30 },
	{ "fpk_", CS_ALNUM, 30 },
};

static int
in_cs(enum cs cs, unsigned char c)
{
	switch (cs) {
	case CS_ALNUM:
		return isalnum(c);
	case CS_ALNUM_DASH_US:
		return isalnum(c) || c == '-' || c == '_';
	case CS_ALNUM_US:
		return isalnum(c) || c == '_';
	case CS_ALNUM_DASH:
		return isalnum(c) || c == '-';
	case CS_UPPER_NUM:
		return isupper(c) || isdigit(c);
	case CS_B64URL_EQ:
		return isalnum(c) || c == '_' || c == '-' || c == '=';
	}
	return 0;
}

static int
tokch(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_';
}

/* Hermes's _mask_token: under 18 chars "***", else 6 + "..." + 4. */
static void
mask_token(struct tool_sb *sb, const char *t, size_t n)
{
	if (n < 18) {
		tool_sb_adds(sb, "***");
		return;
	}
	tool_sb_add(sb, t, 6);
	tool_sb_adds(sb, "...");
	tool_sb_add(sb, t + n - 4, 4);
}

/* One pass: known prefixes at a token boundary. Plain spans are copied
 * in bulk. */
static char *
redact_prefixes(const char *s)
{
	static unsigned char first[256];
	static int	 first_init;
	struct tool_sb	 sb = { 0 };
	size_t		 i = 0, n = strlen(s), r, pl, k, copied = 0;

	if (!first_init) {
		for (r = 0; r < nitems(prefix_rules); r++)
			first[(unsigned char)prefix_rules[r].prefix[0]] = 1;
		first_init = 1;
	}
	while (i < n) {
		if (!first[(unsigned char)s[i]] ||
		    (i > 0 && tokch((unsigned char)s[i - 1]))) {
			i++;
			continue;
		}
		for (r = 0; r < nitems(prefix_rules); r++) {
			const struct prefix_rule *pr = &prefix_rules[r];
			if (pr->prefix[0] != s[i])
				continue;
			pl = strlen(pr->prefix);
			if (strncmp(s + i, pr->prefix, pl) != 0)
				continue;
			if (strcmp(pr->prefix, "xapp-") == 0) {
				/* xapp-<digits>-<body> */
				k = i + pl;
				while (k < n && isdigit((unsigned char)s[k]))
					k++;
				if (k == i + pl || k >= n || s[k] != '-')
					continue;
				pl = k + 1 - i;
			}
			k = i + pl;
			while (k < n && in_cs(pr->cs, (unsigned char)s[k]))
				k++;
			if (k - (i + pl) < pr->min)
				continue;
			if (pr->cs == CS_UPPER_NUM && k - (i + pl) != 16)
				continue;
			if (k < n && tokch((unsigned char)s[k]))
				continue;
			tool_sb_add(&sb, s + copied, i - copied);
			mask_token(&sb, s + i, k - i);
			i = copied = k;
			break;
		}
		if (r == nitems(prefix_rules))
			i++;
	}
	tool_sb_add(&sb, s + copied, n - copied);
	return tool_sb_take(&sb);
}

static int
ci_prefix(const char *s, const char *p)
{
	return strncasecmp(s, p, strlen(p)) == 0;
}

/* "Authorization: Bearer xyz", "Proxy-Authorization: Basic ...", and
 * api-key style headers. */
static char *
redact_headers(const char *s)
{
	static const char *const hdrs[] = { "x-api-key", "x-goog-api-key",
	    "api-key", "apikey", "x-api-token", "x-auth-token",
	    "x-access-token" };
	struct tool_sb	 sb = { 0 };
	size_t		 i = 0, n = strlen(s), k, h, t;

	while (i < n) {
		size_t hl = 0;
		int auth = 0;
		int lc = tolower((unsigned char)s[i]);
		if (lc != 'p' && lc != 'a' && lc != 'x') {
			tool_sb_addc(&sb, s[i++]);
			continue;
		}
		if (ci_prefix(s + i, "proxy-authorization:"))
			hl = 20, auth = 1;
		else if (ci_prefix(s + i, "authorization:"))
			hl = 14, auth = 1;
		else if (i == 0 || !isalnum((unsigned char)s[i - 1])) {
			for (h = 0; h < nitems(hdrs); h++) {
				size_t l = strlen(hdrs[h]);
				if (ci_prefix(s + i, hdrs[h])) {
					k = i + l;
					while (k < n && (s[k] == ' ' || s[k] == '\t'))
						k++;
					if (k < n && s[k] == ':') {
						hl = k + 1 - i;
						break;
					}
				}
			}
		}
		if (hl == 0) {
			tool_sb_addc(&sb, s[i++]);
			continue;
		}
		k = i + hl;
		while (k < n && isspace((unsigned char)s[k]) && s[k] != '\n')
			k++;
		tool_sb_add(&sb, s + i, k - i);
		if (auth) {
			/* optional scheme word followed by space */
			t = k;
			if (t < n && isalpha((unsigned char)s[t])) {
				while (t < n && (isalnum((unsigned char)s[t]) ||
				    strchr("_.+-", s[t]) != NULL))
					t++;
				if (t < n && (s[t] == ' ' || s[t] == '\t')) {
					while (t < n && (s[t] == ' ' || s[t] == '\t'))
						t++;
					tool_sb_add(&sb, s + k, t - k);
					k = t;
				}
			}
		}
		t = k;
		while (t < n && !isspace((unsigned char)s[t]) && s[t] != '"' &&
		    s[t] != '\'')
			t++;
		if (t > k)
			mask_token(&sb, s + k, t - k);
		i = t;
	}
	return tool_sb_take(&sb);
}

static char *
redact_private_keys(const char *s)
{
	struct tool_sb	 sb = { 0 };
	const char	*p = s, *b, *e, *q;

	while ((b = strstr(p, "-----BEGIN")) != NULL) {
		/* "-----BEGIN[A-Z ]*PRIVATE KEY-----" */
		q = b + 10;
		while (*q == ' ' || (*q >= 'A' && *q <= 'Z'))
			q++;
		if (strncmp(q, "-----", 5) != 0 || q - b < 21 ||
		    strncmp(q - 11, "PRIVATE KEY", 11) != 0) {
			tool_sb_add(&sb, p, (size_t)(b + 10 - p));
			p = b + 10;
			continue;
		}
		e = strstr(q + 5, "-----END");
		while (e != NULL) {
			q = e + 8;
			while (*q == ' ' || (*q >= 'A' && *q <= 'Z'))
				q++;
			if (strncmp(q, "-----", 5) == 0 &&
			    strncmp(q - 11, "PRIVATE KEY", 11) == 0)
				break;
			e = strstr(e + 8, "-----END");
		}
		if (e == NULL)
			break;
		tool_sb_add(&sb, p, (size_t)(b - p));
		tool_sb_adds(&sb, "[REDACTED PRIVATE KEY]");
		p = q + 5;
	}
	tool_sb_adds(&sb, p);
	return tool_sb_take(&sb);
}

/* JWTs: eyJ + 10 b64url chars, up to two more dot segments. */
static char *
redact_jwt(const char *s)
{
	struct tool_sb	 sb = { 0 };
	size_t		 i = 0, n = strlen(s), k, seg, t;

	while (i < n) {
		if (strncmp(s + i, "eyJ", 3) == 0) {
			k = i + 3;
			while (k < n && (isalnum((unsigned char)s[k]) ||
			    s[k] == '_' || s[k] == '-'))
				k++;
			if (k - i - 3 >= 10) {
				for (seg = 0; seg < 2; seg++) {
					if (k >= n || s[k] != '.')
						break;
					t = k + 1;
					while (t < n && (isalnum((unsigned char)s[t]) ||
					    strchr("_=-", s[t]) != NULL))
						t++;
					if (t - k - 1 < 4)
						break;
					k = t;
				}
				mask_token(&sb, s + i, k - i);
				i = k;
				continue;
			}
		}
		tool_sb_addc(&sb, s[i++]);
	}
	return tool_sb_take(&sb);
}

/* scheme://user:PASSWORD@host for DB schemes (password -> ***) and
 * http(s)/ws/ftp userinfo passwords. */
static char *
redact_url_passwords(const char *s)
{
	static const char *const schemes[] = { "postgresql://", "postgres://",
	    "mysql://", "mongodb+srv://", "mongodb://", "redis://", "amqp://",
	    "https://", "http://", "wss://", "ws://", "ftp://" };
	struct tool_sb	 sb = { 0 };
	size_t		 i = 0, n = strlen(s), k, c, a, h;

	while (i < n) {
		size_t sl = 0;
		for (h = 0; h < nitems(schemes); h++)
			if (ci_prefix(s + i, schemes[h])) {
				sl = strlen(schemes[h]);
				break;
			}
		if (sl == 0) {
			tool_sb_addc(&sb, s[i++]);
			continue;
		}
		k = i + sl;
		c = k;
		while (c < n && s[c] != ':' && s[c] != '@' && s[c] != '/' &&
		    !isspace((unsigned char)s[c]))
			c++;
		if (c < n && s[c] == ':' && c > k) {
			a = c + 1;
			while (a < n && s[a] != '@' && s[a] != '/' &&
			    !isspace((unsigned char)s[a]))
				a++;
			if (a < n && s[a] == '@' && a > c + 1) {
				tool_sb_add(&sb, s + i, c + 1 - i);
				tool_sb_adds(&sb, "***");
				i = a;
				continue;
			}
		}
		tool_sb_add(&sb, s + i, sl);
		i += sl;
	}
	return tool_sb_take(&sb);
}

/* Telegram bot tokens: [bot]<8+ digits>:<30+ [-A-Za-z0-9_]>. */
static char *
redact_telegram(const char *s)
{
	struct tool_sb	 sb = { 0 };
	size_t		 i = 0, n = strlen(s), d, t;

	while (i < n) {
		if (isdigit((unsigned char)s[i]) &&
		    (i == 0 || !isdigit((unsigned char)s[i - 1]))) {
			d = i;
			while (d < n && isdigit((unsigned char)s[d]))
				d++;
			if (d - i >= 8 && d < n && s[d] == ':') {
				t = d + 1;
				while (t < n && tokch((unsigned char)s[t]))
					t++;
				if (t - d - 1 >= 30) {
					tool_sb_add(&sb, s + i, d + 1 - i);
					tool_sb_adds(&sb, "***");
					i = t;
					continue;
				}
			}
			tool_sb_add(&sb, s + i, d - i);
			i = d;
			continue;
		}
		tool_sb_addc(&sb, s[i++]);
	}
	return tool_sb_take(&sb);
}

static int
secret_name(const char *name, size_t n)
{
	static const char *const words[] = { "APIKEY", "API_KEY", "TOKEN",
	    "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH" };
	size_t	 w, l, i;

	for (w = 0; w < nitems(words); w++) {
		l = strlen(words[w]);
		for (i = 0; i + l <= n; i++)
			if (strncmp(name + i, words[w], l) == 0)
				return 1;
	}
	return 0;
}

/* NAME=value for upper-case names that look secret (env dumps). */
static char *
redact_env_assign(const char *s)
{
	struct tool_sb	 sb = { 0 };
	size_t		 i = 0, n = strlen(s), k, v, e;

	while (i < n) {
		if ((i == 0 || !(isupper((unsigned char)s[i - 1]) ||
		    isdigit((unsigned char)s[i - 1]) || s[i - 1] == '_')) &&
		    (isupper((unsigned char)s[i]) || s[i] == '_')) {
			k = i;
			while (k < n && (isupper((unsigned char)s[k]) ||
			    isdigit((unsigned char)s[k]) || s[k] == '_'))
				k++;
			v = k;
			while (v < n && (s[v] == ' ' || s[v] == '\t'))
				v++;
			if (v < n && s[v] == '=' && secret_name(s + i, k - i)) {
				v++;
				while (v < n && (s[v] == ' ' || s[v] == '\t'))
					v++;
				char q = (v < n && (s[v] == '"' || s[v] == '\'')) ?
				    s[v] : 0;
				size_t vs = v + (q ? 1 : 0);
				e = vs;
				while (e < n && !isspace((unsigned char)s[e]) &&
				    (q == 0 || s[e] != q))
					e++;
				if (e > vs && strncmp(s + vs, "os.getenv", 9) != 0 &&
				    strncmp(s + vs, "os.environ", 10) != 0 &&
				    strncmp(s + vs, "process.env", 11) != 0) {
					tool_sb_add(&sb, s + i, vs - i);
					mask_token(&sb, s + vs, e - vs);
					i = e;
					continue;
				}
			}
			tool_sb_add(&sb, s + i, k - i);
			i = k;
			continue;
		}
		tool_sb_addc(&sb, s[i++]);
	}
	return tool_sb_take(&sb);
}

char *
tool_redact(const char *in, int env_dump)
{
	/* Each pass with the substring that gates it (as Hermes gates its
	 * regexes), so plain text costs a few scans. */
	static const struct {
		char		*(*fn)(const char *);
		const char	*gate;
	} passes[] = {
		{ redact_prefixes, NULL },
		{ redact_headers, ":" },
		{ redact_telegram, ":" },
		{ redact_private_keys, "-----BEGIN" },
		{ redact_url_passwords, "://" },
		{ redact_jwt, "eyJ" },
	};
	char	*cur, *next;
	size_t	 p;

	cur = xstrdup(in);
	if (env_dump && strchr(cur, '=') != NULL) {
		next = redact_env_assign(cur);
		free(cur);
		cur = next;
	}
	for (p = 0; p < nitems(passes); p++) {
		if (passes[p].gate != NULL && strstr(cur, passes[p].gate) == NULL)
			continue;
		next = passes[p].fn(cur);
		free(cur);
		cur = next;
	}
	return cur;
}

int
tool_is_env_dump(const char *cmd)
{
	static const char *const dumpers[] = { "env", "printenv", "set",
	    "export", "declare" };
	const char	*p = cmd;
	size_t		 i, l;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '(')
			p++;
		for (i = 0; i < nitems(dumpers); i++) {
			l = strlen(dumpers[i]);
			if (strncmp(p, dumpers[i], l) == 0 &&
			    (p[l] == '\0' || strchr(" \t\n;|&)", p[l]) != NULL))
				return 1;
		}
		p += strcspn(p, ";|&\n");
		if (*p == '\0')
			return 0;
		while (*p == ';' || *p == '|' || *p == '&' || *p == '\n')
			p++;
	}
}

/* {"error": "..."} (Hermes's tool_error). */
char *
tool_json_error(const char *fmt, ...)
{
	va_list	 ap;
	char	*m, *s, *out;
	json_t	*o;

	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		fatal("vasprintf");
	va_end(ap);
	s = tool_utf8_sanitize(m, strlen(m), NULL);
	free(m);
	o = json_pack("{s:s}", "error", s);
	free(s);
	if (o == NULL || (out = json_dumps(o, 0)) == NULL)
		fatalx("json");
	json_decref(o);
	return out;
}
