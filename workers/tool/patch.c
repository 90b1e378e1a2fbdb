/*
 * patch: Hermes's fuzzy find-and-replace chain, the V4A patch format
 * ("*** Begin Patch") and unified diffs, applied in memory. Pure
 * functions: files.c reads and writes.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/util.h"
#include "workers/tool/tool.h"

/* ---- lines ------------------------------------------------------------- */

struct lines {
	const char	**p;	/* start of each line */
	size_t		 *len;	/* without the newline */
	size_t		  n;
};

static void
split_lines(const char *s, struct lines *l)
{
	size_t	 cap = 16, n = 0;
	const char *p = s, *e;

	l->p = xcalloc(cap, sizeof(*l->p));
	l->len = xcalloc(cap, sizeof(*l->len));
	for (;;) {
		if (n == cap) {
			cap *= 2;
			l->p = xreallocarray(l->p, cap, sizeof(*l->p));
			l->len = xreallocarray(l->len, cap, sizeof(*l->len));
		}
		e = strchr(p, '\n');
		l->p[n] = p;
		l->len[n] = e ? (size_t)(e - p) : strlen(p);
		n++;
		if (e == NULL)
			break;
		p = e + 1;
	}
	l->n = n;
}

static void
free_lines(struct lines *l)
{
	free(l->p);
	free(l->len);
	memset(l, 0, sizeof(*l));
}

/* ---- normalisers for the line-wise strategies --------------------------- */

typedef void (*norm_fn)(const char *, size_t, struct tool_sb *);

static void
n_trim(const char *s, size_t n, struct tool_sb *o)
{
	while (n > 0 && isspace((unsigned char)*s))
		s++, n--;
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	tool_sb_add(o, s, n);
}

static void
n_ws(const char *s, size_t n, struct tool_sb *o)
{
	size_t	 i;
	int	 sp = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == ' ' || s[i] == '\t') {
			sp = 1;
			continue;
		}
		if (sp)
			tool_sb_addc(o, ' ');
		sp = 0;
		tool_sb_addc(o, s[i]);
	}
	if (sp)
		tool_sb_addc(o, ' ');
}

static void
n_indent(const char *s, size_t n, struct tool_sb *o)
{
	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	tool_sb_add(o, s, n);
}

static void
n_unicode(const char *s, size_t n, struct tool_sb *o)
{
	static const struct { const char *u, *a; } map[] = {
		{ "\xe2\x80\x9c", "\"" }, { "\xe2\x80\x9d", "\"" },
		{ "\xe2\x80\x98", "'" }, { "\xe2\x80\x99", "'" },
		{ "\xe2\x80\x94", "--" }, { "\xe2\x80\x93", "-" },
		{ "\xe2\x80\xa6", "..." }, { "\xc2\xa0", " " },
	};
	size_t	 i, m;

	for (i = 0; i < n; ) {
		for (m = 0; m < nitems(map); m++) {
			size_t l = strlen(map[m].u);
			if (i + l <= n && memcmp(s + i, map[m].u, l) == 0) {
				tool_sb_adds(o, map[m].a);
				i += l;
				break;
			}
		}
		if (m == nitems(map))
			tool_sb_addc(o, s[i++]);
	}
}

static char *
norm_line(norm_fn f, const char *s, size_t n)
{
	struct tool_sb	 sb = { 0 };

	f(s, n, &sb);
	return tool_sb_take(&sb);
}

/* A match: byte range [off, off+len) of content. */
struct match {
	size_t	 off;
	size_t	 len;
};

#define MAX_MATCHES	1024

static size_t
find_exact(const char *content, const char *old, struct match *m)
{
	size_t		 k = 0, ol = strlen(old);
	const char	*p = content;

	while (k < MAX_MATCHES && (p = strstr(p, old)) != NULL) {
		m[k].off = (size_t)(p - content);
		m[k].len = ol;
		k++;
		p += ol;
	}
	return k;
}

/*
 * Line-wise: the old text's lines, each normalised by f, equal a run of
 * content lines normalised the same way. first_last_only: only the first
 * and last line are normalised (trimmed boundary).
 */
static size_t
find_lines(const char *content, const char *old, norm_fn f,
    int first_last_only, struct match *m)
{
	struct lines	 c, o;
	char		**cn, **on;
	size_t		 i, j, k = 0, on_n;

	split_lines(content, &c);
	split_lines(old, &o);
	on_n = o.n;
	/* a trailing newline in old adds an empty last line: drop it */
	if (on_n > 1 && o.len[on_n - 1] == 0)
		on_n--;
	cn = xcalloc(c.n, sizeof(*cn));
	on = xcalloc(on_n, sizeof(*on));
	for (i = 0; i < c.n; i++)
		cn[i] = norm_line(f, c.p[i], c.len[i]);
	for (j = 0; j < on_n; j++) {
		if (first_last_only && j != 0 && j != on_n - 1)
			on[j] = xstrndup(o.p[j], o.len[j]);
		else
			on[j] = norm_line(f, o.p[j], o.len[j]);
	}
	for (i = 0; on_n > 0 && i + on_n <= c.n && k < MAX_MATCHES; i++) {
		for (j = 0; j < on_n; j++) {
			const char *cl = cn[i + j];
			char *raw = NULL;
			if (first_last_only && j != 0 && j != on_n - 1)
				cl = raw = xstrndup(c.p[i + j], c.len[i + j]);
			int eq = strcmp(cl, on[j]) == 0;
			free(raw);
			if (!eq)
				break;
		}
		if (j == on_n) {
			m[k].off = (size_t)(c.p[i] - content);
			m[k].len = (size_t)(c.p[i + on_n - 1] + c.len[i + on_n - 1] -
			    c.p[i]);
			k++;
			i += on_n - 1;
		}
	}
	for (i = 0; i < c.n; i++)
		free(cn[i]);
	for (j = 0; j < on_n; j++)
		free(on[j]);
	free(cn);
	free(on);
	free_lines(&c);
	free_lines(&o);
	return k;
}

/* First and last lines equal after trimming, same number of lines, and
 * at least half of the middle lines equal after trimming. */
static size_t
find_block_anchor(const char *content, const char *old, struct match *m)
{
	struct lines	 c, o;
	size_t		 i, j, k = 0, on_n, same, mid;

	split_lines(content, &c);
	split_lines(old, &o);
	on_n = o.n;
	if (on_n > 1 && o.len[on_n - 1] == 0)
		on_n--;
	if (on_n < 3)
		goto out;
	char *first = norm_line(n_trim, o.p[0], o.len[0]);
	char *last = norm_line(n_trim, o.p[on_n - 1], o.len[on_n - 1]);
	for (i = 0; i + on_n <= c.n && k < MAX_MATCHES; i++) {
		char *a = norm_line(n_trim, c.p[i], c.len[i]);
		char *b = norm_line(n_trim, c.p[i + on_n - 1],
		    c.len[i + on_n - 1]);
		int ok = strcmp(a, first) == 0 && strcmp(b, last) == 0 &&
		    *first != '\0';
		free(a);
		free(b);
		if (!ok)
			continue;
		same = 0;
		mid = on_n - 2;
		for (j = 1; j + 1 < on_n; j++) {
			char *x = norm_line(n_trim, c.p[i + j], c.len[i + j]);
			char *y = norm_line(n_trim, o.p[j], o.len[j]);
			same += strcmp(x, y) == 0;
			free(x);
			free(y);
		}
		if (mid == 0 || same * 2 >= mid) {
			m[k].off = (size_t)(c.p[i] - content);
			m[k].len = (size_t)(c.p[i + on_n - 1] +
			    c.len[i + on_n - 1] - c.p[i]);
			k++;
			i += on_n - 1;
		}
	}
	free(first);
	free(last);
out:
	free_lines(&c);
	free_lines(&o);
	return k;
}

static char *
unescape_newlines(const char *s)
{
	struct tool_sb	 sb = { 0 };

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] == 'n') {
			tool_sb_addc(&sb, '\n');
			s++;
		} else if (s[0] == '\\' && s[1] == 't') {
			tool_sb_addc(&sb, '\t');
			s++;
		} else
			tool_sb_addc(&sb, *s);
	}
	return tool_sb_take(&sb);
}

char *
tool_fuzzy_replace(const char *content, const char *old, const char *new,
    int replace_all, int *count, const char **strategy, char **err)
{
	static const char *const names[] = { "exact", "line_trimmed",
	    "whitespace_normalized", "indentation_flexible",
	    "escape_normalized", "trimmed_boundary", "unicode_normalized",
	    "block_anchor" };
	struct match	*m;
	struct tool_sb	 sb = { 0 };
	size_t		 k = 0, s, i, pos;
	char		*unesc = NULL;

	*count = 0;
	*err = NULL;
	if (*old == '\0') {
		*err = xstrdup("old_string cannot be empty");
		return NULL;
	}
	if (strcmp(old, new) == 0) {
		*err = xstrdup("old_string and new_string are identical");
		return NULL;
	}
	m = xcalloc(MAX_MATCHES, sizeof(*m));
	for (s = 0; s < nitems(names) && k == 0; s++) {
		switch (s) {
		case 0:
			k = find_exact(content, old, m);
			break;
		case 1:
			k = find_lines(content, old, n_trim, 0, m);
			break;
		case 2:
			k = find_lines(content, old, n_ws, 0, m);
			break;
		case 3:
			k = find_lines(content, old, n_indent, 0, m);
			break;
		case 4:
			unesc = unescape_newlines(old);
			if (strcmp(unesc, old) != 0)
				k = find_exact(content, unesc, m);
			free(unesc);
			break;
		case 5:
			k = find_lines(content, old, n_trim, 1, m);
			break;
		case 6:
			k = find_lines(content, old, n_unicode, 0, m);
			break;
		case 7:
			k = find_block_anchor(content, old, m);
			break;
		}
		if (k > 0)
			*strategy = names[s];
	}
	if (k == 0) {
		free(m);
		*err = xstrdup("Could not find a match for old_string in the "
		    "file");
		return NULL;
	}
	if (k > 1 && !replace_all) {
		free(m);
		xasprintf(err, "Found %zu matches for old_string. Provide more "
		    "context to make it unique, or use replace_all=True.", k);
		return NULL;
	}
	pos = 0;
	for (i = 0; i < k; i++) {
		tool_sb_add(&sb, content + pos, m[i].off - pos);
		tool_sb_adds(&sb, new);
		pos = m[i].off + m[i].len;
	}
	tool_sb_adds(&sb, content + pos);
	*count = (int)k;
	free(m);
	return tool_sb_take(&sb);
}

/* ---- parsing V4A and unified diffs ---------------------------------------- */

static void
hunk_add(struct tool_hunk *h, char prefix, const char *t, size_t n)
{
	h->lines = xreallocarray(h->lines, h->nlines + 1, sizeof(*h->lines));
	h->lines[h->nlines].prefix = prefix;
	h->lines[h->nlines].text = xstrndup(t, n);
	h->nlines++;
}

static struct tool_hunk *
file_new_hunk(struct tool_patch_file *f)
{
	f->hunks = xreallocarray(f->hunks, f->nhunks + 1, sizeof(*f->hunks));
	memset(&f->hunks[f->nhunks], 0, sizeof(f->hunks[0]));
	return &f->hunks[f->nhunks++];
}

static struct tool_patch_file *
set_new_file(struct tool_patchset *ps, enum tool_patch_op op, const char *p,
    size_t n)
{
	struct tool_patch_file *f;

	while (n > 0 && isspace((unsigned char)*p))
		p++, n--;
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	ps->files = xreallocarray(ps->files, ps->nfiles + 1, sizeof(*ps->files));
	f = &ps->files[ps->nfiles++];
	memset(f, 0, sizeof(*f));
	f->op = op;
	f->path = xstrndup(p, n);
	return f;
}

static int
startswith(const char *l, size_t n, const char *p)
{
	size_t	 pl = strlen(p);

	return n >= pl && memcmp(l, p, pl) == 0;
}

static int
parse_v4a(struct lines *L, struct tool_patchset *ps, char *err, size_t errlen)
{
	struct tool_patch_file	*f = NULL;
	struct tool_hunk	*h = NULL;
	size_t			 i;
	int			 begun = 0, ended = 0;

	for (i = 0; i < L->n && !ended; i++) {
		const char *l = L->p[i];
		size_t n = L->len[i];
		if (n > 0 && l[n - 1] == '\r')
			n--;
		if (startswith(l, n, "*** Begin Patch") ||
		    startswith(l, n, "***Begin Patch")) {
			begun = 1;
			continue;
		}
		if (startswith(l, n, "*** End Patch") ||
		    startswith(l, n, "***End Patch")) {
			ended = 1;
			continue;
		}
		if (startswith(l, n, "*** Update File:")) {
			f = set_new_file(ps, TOOL_P_UPDATE, l + 16, n - 16);
			h = NULL;
			continue;
		}
		if (startswith(l, n, "*** Add File:")) {
			f = set_new_file(ps, TOOL_P_ADD, l + 13, n - 13);
			h = file_new_hunk(f);
			continue;
		}
		if (startswith(l, n, "*** Delete File:")) {
			f = set_new_file(ps, TOOL_P_DELETE, l + 16, n - 16);
			h = NULL;
			continue;
		}
		if (startswith(l, n, "*** Move File:")) {
			const char *arrow = memmem(l, n, "->", 2);
			if (arrow == NULL) {
				snprintf(err, errlen, "line %zu: Move File needs "
				    "'old -> new'", i + 1);
				return -1;
			}
			f = set_new_file(ps, TOOL_P_MOVE, l + 14,
			    (size_t)(arrow - l) - 14);
			const char *np = arrow + 2;
			size_t nn = n - (size_t)(np - l);
			while (nn > 0 && isspace((unsigned char)*np))
				np++, nn--;
			while (nn > 0 && isspace((unsigned char)np[nn - 1]))
				nn--;
			f->new_path = xstrndup(np, nn);
			h = NULL;
			continue;
		}
		if (startswith(l, n, "*** Move to:") && f != NULL &&
		    f->op == TOOL_P_UPDATE) {
			const char *np = l + 12;
			size_t nn = n - 12;
			while (nn > 0 && isspace((unsigned char)*np))
				np++, nn--;
			free(f->new_path);
			f->new_path = xstrndup(np, nn);
			continue;
		}
		if (startswith(l, n, "*** End of File"))
			continue;
		if (f == NULL) {
			if (n == 0)
				continue;
			snprintf(err, errlen, "line %zu: expected '*** Update "
			    "File:', '*** Add File:', '*** Delete File:' or "
			    "'*** Move File:'", i + 1);
			return -1;
		}
		if (f->op == TOOL_P_UPDATE && startswith(l, n, "@@")) {
			h = file_new_hunk(f);
			const char *a = l + 2, *b = l + n;
			while (a < b && isspace((unsigned char)*a))
				a++;
			if (b - a >= 2 && b[-1] == '@' && b[-2] == '@')
				b -= 2;
			while (b > a && isspace((unsigned char)b[-1]))
				b--;
			if (b > a)
				h->hint = xstrndup(a, (size_t)(b - a));
			continue;
		}
		if (f->op == TOOL_P_ADD) {
			if (n > 0 && l[0] == '+')
				hunk_add(h, '+', l + 1, n - 1);
			else if (n > 0) {
				snprintf(err, errlen, "line %zu: lines of an added "
				    "file must start with '+'", i + 1);
				return -1;
			}
			continue;
		}
		if (f->op == TOOL_P_UPDATE) {
			if (h == NULL)
				h = file_new_hunk(f);
			if (n == 0)
				hunk_add(h, ' ', "", 0);
			else if (l[0] == ' ' || l[0] == '-' || l[0] == '+')
				hunk_add(h, l[0], l + 1, n - 1);
			else {
				snprintf(err, errlen, "line %zu: hunk lines must "
				    "start with ' ', '-' or '+'", i + 1);
				return -1;
			}
			continue;
		}
		if (n > 0) {
			snprintf(err, errlen, "line %zu: unexpected content after "
			    "a Delete/Move File line", i + 1);
			return -1;
		}
	}
	if (!begun) {
		snprintf(err, errlen, "missing '*** Begin Patch'");
		return -1;
	}
	if (ps->nfiles == 0) {
		snprintf(err, errlen, "no file operations in the patch");
		return -1;
	}
	return 0;
}

static const char *
strip_ab(const char *p, size_t n, size_t *outn)
{
	const char	*tab;

	while (n > 0 && (*p == ' '))
		p++, n--;
	tab = memchr(p, '\t', n);
	if (tab)
		n = (size_t)(tab - p);
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	if (n > 2 && (p[0] == 'a' || p[0] == 'b') && p[1] == '/')
		p += 2, n -= 2;
	*outn = n;
	return p;
}

static int
parse_unified(struct lines *L, struct tool_patchset *ps, char *err,
    size_t errlen)
{
	struct tool_patch_file	*f = NULL;
	struct tool_hunk	*h = NULL;
	size_t			 i, pn, oldn = 0, newn = 0;
	const char		*oldp = NULL;
	size_t			 oldplen = 0;
	long			 remain_old = 0, remain_new = 0;

	for (i = 0; i < L->n; i++) {
		const char *l = L->p[i];
		size_t n = L->len[i];
		if (n > 0 && l[n - 1] == '\r')
			n--;
		if (h != NULL && (remain_old > 0 || remain_new > 0)) {
			char c = n ? l[0] : ' ';
			if (c == '\\')
				continue;	/* \ No newline at end of file */
			if (c != ' ' && c != '-' && c != '+') {
				snprintf(err, errlen, "line %zu: hunk ended early",
				    i + 1);
				return -1;
			}
			hunk_add(h, c, n ? l + 1 : "", n ? n - 1 : 0);
			if (c != '+')
				remain_old--;
			if (c != '-')
				remain_new--;
			continue;
		}
		if (startswith(l, n, "--- ")) {
			oldp = strip_ab(l + 4, n - 4, &oldplen);
			continue;
		}
		if (startswith(l, n, "+++ ")) {
			const char *np = strip_ab(l + 4, n - 4, &pn);
			if (pn == 9 && memcmp(np, "/dev/null", 9) == 0) {
				if (oldp == NULL) {
					snprintf(err, errlen, "line %zu: '+++ /dev/null' "
					    "without a '---' line", i + 1);
					return -1;
				}
				f = set_new_file(ps, TOOL_P_DELETE, oldp, oldplen);
			} else if (oldp && oldplen == 9 &&
			    memcmp(oldp, "/dev/null", 9) == 0) {
				f = set_new_file(ps, TOOL_P_ADD, np, pn);
			} else
				f = set_new_file(ps, TOOL_P_UPDATE, np, pn);
			h = NULL;
			continue;
		}
		if (startswith(l, n, "@@ ") && f != NULL) {
			long os, ns;
			char *tmp = xstrndup(l, n);
			oldn = newn = 1;
			if (sscanf(tmp, "@@ -%ld,%zu +%ld,%zu", &os, &oldn, &ns,
			    &newn) != 4) {
				oldn = newn = 1;
				if (sscanf(tmp, "@@ -%ld +%ld,%zu", &os, &ns,
				    &newn) != 3 && sscanf(tmp, "@@ -%ld,%zu +%ld",
				    &os, &oldn, &ns) != 3 && sscanf(tmp,
				    "@@ -%ld +%ld", &os, &ns) != 2) {
					free(tmp);
					snprintf(err, errlen, "line %zu: bad hunk "
					    "header", i + 1);
					return -1;
				}
			}
			free(tmp);
			h = file_new_hunk(f);
			h->old_start = os;
			remain_old = (long)oldn;
			remain_new = (long)newn;
			continue;
		}
		/* git headers, "diff --git", "index ..." etc. */
	}
	if (ps->nfiles == 0) {
		snprintf(err, errlen, "no files in the diff");
		return -1;
	}
	if (remain_old > 0 || remain_new > 0) {
		snprintf(err, errlen, "the last hunk is incomplete");
		return -1;
	}
	return 0;
}

int
tool_patch_parse(const char *text, struct tool_patchset *ps, char *err,
    size_t errlen)
{
	struct lines	 L;
	int		 rc;

	memset(ps, 0, sizeof(*ps));
	err[0] = '\0';
	split_lines(text, &L);
	if (strstr(text, "*** Begin Patch") || strstr(text, "***Begin Patch"))
		rc = parse_v4a(&L, ps, err, errlen);
	else if (strstr(text, "\n+++ ") || strncmp(text, "+++ ", 4) == 0 ||
	    strncmp(text, "--- ", 4) == 0)
		rc = parse_unified(&L, ps, err, errlen);
	else {
		snprintf(err, errlen, "not a V4A patch ('*** Begin Patch') or "
		    "a unified diff ('--- a/x' / '+++ b/x')");
		rc = -1;
	}
	free_lines(&L);
	if (rc == -1)
		tool_patchset_free(ps);
	return rc;
}

void
tool_patchset_free(struct tool_patchset *ps)
{
	size_t	 i, j, k;

	for (i = 0; i < ps->nfiles; i++) {
		struct tool_patch_file *f = &ps->files[i];
		for (j = 0; j < f->nhunks; j++) {
			for (k = 0; k < f->hunks[j].nlines; k++)
				free(f->hunks[j].lines[k].text);
			free(f->hunks[j].lines);
			free(f->hunks[j].hint);
		}
		free(f->hunks);
		free(f->path);
		free(f->new_path);
	}
	free(ps->files);
	memset(ps, 0, sizeof(*ps));
}

/* ---- applying hunks ---------------------------------------------------- */

/* Find old lines (exact, then trimmed) in the content lines from `from`,
 * nearest to `near` (0-based) when several. -1 if none. */
static long
locate(char **cl, size_t cn, char **ol, size_t on, size_t from, long near)
{
	size_t	 i, j;
	long	 best = -1;
	int	 pass;

	for (pass = 0; pass < 2; pass++) {
		for (i = from; i + on <= cn; i++) {
			for (j = 0; j < on; j++) {
				if (pass == 0) {
					if (strcmp(cl[i + j], ol[j]) != 0)
						break;
				} else {
					char *a = norm_line(n_trim, cl[i + j],
					    strlen(cl[i + j]));
					char *b = norm_line(n_trim, ol[j],
					    strlen(ol[j]));
					int eq = strcmp(a, b) == 0;
					free(a);
					free(b);
					if (!eq)
						break;
				}
			}
			if (j == on) {
				if (near < 0)
					return (long)i;
				if (best < 0 || labs((long)i - near) <
				    labs(best - near))
					best = (long)i;
			}
		}
		if (best >= 0)
			return best;
	}
	return -1;
}

char *
tool_patch_apply_hunks(const char *content, const struct tool_patch_file *f,
    char *err, size_t errlen)
{
	struct lines	 L;
	char		**cl;
	size_t		 cn, i, j, k, from = 0;
	int		 trailing_nl;
	struct tool_sb	 sb = { 0 };

	trailing_nl = *content == '\0' || content[strlen(content) - 1] == '\n';
	split_lines(content, &L);
	cn = L.n;
	if (trailing_nl && cn > 0 && L.len[cn - 1] == 0)
		cn--;
	cl = xcalloc(cn + 1, sizeof(*cl));
	for (i = 0; i < cn; i++)
		cl[i] = xstrndup(L.p[i], L.len[i]);
	free_lines(&L);

	for (k = 0; k < f->nhunks; k++) {
		const struct tool_hunk *h = &f->hunks[k];
		char **ol = xcalloc(h->nlines + 1, sizeof(*ol));
		char **nl = xcalloc(h->nlines + 1, sizeof(*nl));
		size_t on = 0, nn = 0;
		long at;

		for (j = 0; j < h->nlines; j++) {
			if (h->lines[j].prefix != '+')
				ol[on++] = h->lines[j].text;
			if (h->lines[j].prefix != '-')
				nl[nn++] = h->lines[j].text;
		}
		if (h->hint != NULL) {
			/* start after the line carrying the hint */
			for (i = from; i < cn; i++)
				if (strstr(cl[i], h->hint) != NULL)
					break;
			if (i < cn && on > 0 &&
			    strstr(ol[0], h->hint) == NULL)
				from = i + 1;
			else if (i < cn)
				from = i;
		}
		if (on == 0)
			at = h->hint != NULL ? (long)from : (long)cn;
		else
			at = locate(cl, cn, ol, on, from,
			    h->old_start > 0 ? h->old_start - 1 : -1);
		if (at < 0) {
			snprintf(err, errlen, "hunk %zu does not apply: its "
			    "context/removed lines were not found in %s "
			    "(starting \"%.60s\")", k + 1, f->path,
			    on ? ol[0] : "");
			free(ol);
			free(nl);
			for (i = 0; i < cn; i++)
				free(cl[i]);
			free(cl);
			return NULL;
		}
		/* splice */
		char **ncl = xcalloc(cn - on + nn + 1, sizeof(*ncl));
		size_t w = 0;
		for (i = 0; i < (size_t)at; i++)
			ncl[w++] = cl[i];
		for (j = 0; j < nn; j++)
			ncl[w++] = xstrdup(nl[j]);
		for (i = (size_t)at; i < (size_t)at + on; i++)
			free(cl[i]);
		for (i = (size_t)at + on; i < cn; i++)
			ncl[w++] = cl[i];
		free(cl);
		cl = ncl;
		cn = w;
		from = (size_t)at + nn;
		free(ol);
		free(nl);
	}
	for (i = 0; i < cn; i++) {
		tool_sb_adds(&sb, cl[i]);
		if (i + 1 < cn || trailing_nl)
			tool_sb_addc(&sb, '\n');
		free(cl[i]);
	}
	free(cl);
	return tool_sb_take(&sb);
}

/* ---- a unified diff of one change region ------------------------------- */

char *
tool_unified_diff(const char *old, const char *new, const char *path)
{
	struct lines	 a, b;
	struct tool_sb	 sb = { 0 };
	size_t		 an, bn, pre = 0, suf = 0, s, ae, be, i;

	split_lines(old, &a);
	split_lines(new, &b);
	an = a.n;
	bn = b.n;
	if (an > 0 && a.len[an - 1] == 0)
		an--;
	if (bn > 0 && b.len[bn - 1] == 0)
		bn--;
	while (pre < an && pre < bn && a.len[pre] == b.len[pre] &&
	    memcmp(a.p[pre], b.p[pre], a.len[pre]) == 0)
		pre++;
	while (suf < an - pre && suf < bn - pre &&
	    a.len[an - 1 - suf] == b.len[bn - 1 - suf] &&
	    memcmp(a.p[an - 1 - suf], b.p[bn - 1 - suf], a.len[an - 1 - suf]) == 0)
		suf++;
	if (pre == an && pre == bn) {
		free_lines(&a);
		free_lines(&b);
		return xstrdup("");
	}
	s = pre > 3 ? pre - 3 : 0;
	ae = an - suf + (suf > 3 ? 3 : suf);
	be = bn - suf + (suf > 3 ? 3 : suf);
	tool_sb_printf(&sb, "--- a/%s\n+++ b/%s\n", path, path);
	tool_sb_printf(&sb, "@@ -%zu,%zu +%zu,%zu @@\n",
	    ae - s ? s + 1 : s, ae - s, be - s ? s + 1 : s, be - s);
	for (i = s; i < pre; i++) {
		tool_sb_addc(&sb, ' ');
		tool_sb_add(&sb, a.p[i], a.len[i]);
		tool_sb_addc(&sb, '\n');
	}
	for (i = pre; i < an - suf; i++) {
		tool_sb_addc(&sb, '-');
		tool_sb_add(&sb, a.p[i], a.len[i]);
		tool_sb_addc(&sb, '\n');
	}
	for (i = pre; i < bn - suf; i++) {
		tool_sb_addc(&sb, '+');
		tool_sb_add(&sb, b.p[i], b.len[i]);
		tool_sb_addc(&sb, '\n');
	}
	for (i = an - suf; i < ae; i++) {
		tool_sb_addc(&sb, ' ');
		tool_sb_add(&sb, a.p[i], a.len[i]);
		tool_sb_addc(&sb, '\n');
	}
	free_lines(&a);
	free_lines(&b);
	return tool_sb_take(&sb);
}
