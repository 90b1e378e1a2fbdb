/*
 * HERMES_HOME/.env: the secrets, read by the supervisor only.
 *
 * The syntax is python-dotenv's, which is what Hermes users' files use:
 *   # comment
 *   KEY=value            value up to " #", trailing blanks trimmed
 *   export KEY = value
 *   KEY='literal'        \' and \\ are the only escapes
 *   KEY="a\nb ${OTHER}"  \\ \' \" \a \b \f \n \r \t \v; ${VAR} and
 *                        ${VAR:-default} from earlier lines (also unquoted)
 *   KEY                  no "=": ignored, as python-dotenv does
 * Quoted values may span lines. A later KEY replaces an earlier one.
 *
 * The file is read straight into one anonymous mapping that is mlock()ed
 * (where RLIMIT_MEMLOCK allows) and MADV_DONTDUMP; the decoded values are
 * written into the same mapping, the raw text is zeroed once parsed, and
 * the whole mapping is zeroed before munmap().
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/util.h"
#include "supervisor/config.h"

/* Each ${} looks through the variables so far: keep the product small. */
#define ENV_MAX_EXPAND	4096

struct envp {
	const char	*name;		/* file name for messages */
	const char	*buf;
	size_t		 len;
	size_t		 off;
	unsigned	 line;
	size_t		 linestart;	/* offset of the current line */
	struct env_list	*list;
	unsigned	 nexpand;	/* ${} expanded so far */
	char		*err;
	size_t		 errlen;
};

static int
efail(struct envp *p, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
efail(struct envp *p, size_t at, const char *fmt, ...)
{
	char msg[CFG_MAX_ERR];
	unsigned line = 1;
	size_t i, ls = 0;
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Recount: quoted values can span lines. */
	for (i = 0; i < at && i < p->len; i++)
		if (p->buf[i] == '\n') {
			line++;
			ls = i + 1;
		}
	if (p->err != NULL && p->errlen > 0)
		(void)snprintf(p->err, p->errlen, "%s:%u:%zu: %s", p->name,
		    line, at - ls + 1, msg);
	return -1;
}

static int
ffail(char *err, size_t errlen, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
ffail(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
	char msg[CFG_MAX_ERR];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err != NULL && errlen > 0)
		(void)snprintf(err, errlen, "%s: %s", name, msg);
	return -1;
}

static struct env_list *
list_new(size_t textlen)
{
	struct env_list *l = xcalloc(1, sizeof(*l));
	long pg = sysconf(_SC_PAGESIZE);
	size_t page = pg > 0 ? (size_t)pg : 4096, want;
	void *m;

	/* The text, then room for the values (${} can grow them). */
	want = (textlen + 1) * 3 + 4096;
	l->arenasz = (want + page - 1) / page * page;
	m = mmap(NULL, l->arenasz, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		fatal("mmap %zu", l->arenasz);
	l->arena = m;
	(void)madvise(m, l->arenasz, MADV_DONTDUMP);
	l->locked = mlock(m, l->arenasz) == 0;
	l->used = textlen + 1;
	return l;
}

void
env_list_free(struct env_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->nvars; i++)
		free(l->vars[i].name);
	free(l->vars);
	if (l->arena != NULL) {
		explicit_bzero(l->arena, l->arenasz);
		if (l->locked)
			(void)munlock(l->arena, l->arenasz);
		(void)munmap(l->arena, l->arenasz);
	}
	free(l);
}

const char *
env_get(const struct env_list *l, const char *name)
{
	size_t i;

	for (i = 0; l != NULL && i < l->nvars; i++)
		if (strcmp(l->vars[i].name, name) == 0)
			return l->vars[i].value;
	return NULL;
}

/* Append bytes to the value being built in the arena. */
static int
put(struct envp *p, size_t at, const char *s, size_t n)
{
	struct env_list *l = p->list;

	if (n >= l->arenasz - l->used)
		return efail(p, at, "value too long after ${} expansion");
	memcpy(l->arena + l->used, s, n);
	l->used += n;
	return 0;
}

static int
is_name_start(int c)
{
	return isalpha(c) || c == '_';
}

static int
is_name_char(int c)
{
	return isalnum(c) || c == '_' || c == '.' || c == '-';
}

/* "${NAME}" or "${NAME:-default}" at p->off; expands it. */
static int
expand(struct envp *p, size_t end)
{
	size_t start = p->off, nb, ne, db = 0, de = 0;
	char name[256];
	const char *v;

	nb = start + 2;
	ne = nb;
	while (ne < end && is_name_char((unsigned char)p->buf[ne]))
		ne++;
	if (ne < end && p->buf[ne] == ':' && ne + 1 < end &&
	    p->buf[ne + 1] == '-') {
		db = ne + 2;
		de = db;
		while (de < end && p->buf[de] != '}')
			de++;
		if (de >= end)
			return 0;
		p->off = de + 1;
	} else if (ne < end && p->buf[ne] == '}')
		p->off = ne + 1;
	else
		return 0;	/* not an expansion: copied as text */
	if (ne == nb || ne - nb >= sizeof(name))
		return efail(p, start, "bad ${} name");
	if (++p->nexpand > ENV_MAX_EXPAND)
		return efail(p, start, "more than %d ${} expansions",
		    ENV_MAX_EXPAND);
	memcpy(name, p->buf + nb, ne - nb);
	name[ne - nb] = '\0';
	v = env_get(p->list, name);
	if (v != NULL && *v != '\0')
		return put(p, start, v, strlen(v));
	if (db != 0)
		return put(p, start, p->buf + db, de - db);
	return 0;
}

static int
set_var(struct envp *p, size_t at, unsigned line, const char *name,
    size_t namelen, size_t vstart)
{
	struct env_list *l = p->list;
	char *value = (char *)l->arena + vstart;
	size_t i;

	if (l->used >= l->arenasz)
		return efail(p, at, "value too long");
	l->arena[l->used++] = '\0';
	for (i = 0; i < l->nvars; i++) {
		if (strlen(l->vars[i].name) == namelen &&
		    memcmp(l->vars[i].name, name, namelen) == 0) {
			explicit_bzero(l->vars[i].value,
			    strlen(l->vars[i].value));
			l->vars[i].value = value;
			l->vars[i].line = line;
			return 0;
		}
	}
	if (l->nvars >= CFG_MAX_ENV_VARS)
		return efail(p, at, "more than %d variables", CFG_MAX_ENV_VARS);
	l->vars = xreallocarray(l->vars, l->nvars + 1, sizeof(*l->vars));
	l->vars[l->nvars].name = xstrndup(name, namelen);
	l->vars[l->nvars].value = value;
	l->vars[l->nvars].line = line;
	l->nvars++;
	return 0;
}

static const struct {
	char	 in, out;
} dq_escapes[] = {
	{ '\\', '\\' }, { '\'', '\'' }, { '"', '"' }, { 'a', '\a' },
	{ 'b', '\b' }, { 'f', '\f' }, { 'n', '\n' }, { 'r', '\r' },
	{ 't', '\t' }, { 'v', '\v' },
};

static int
quoted(struct envp *p, char q)
{
	size_t open = p->off, i;
	char c;

	p->off++;
	while (p->off < p->len) {
		c = p->buf[p->off];
		if (c == q) {
			p->off++;
			return 0;
		}
		if (c == '\n')
			p->line++;
		if (c == '\\' && p->off + 1 < p->len) {
			char n = p->buf[p->off + 1];

			for (i = 0; i < nitems(dq_escapes); i++)
				if (dq_escapes[i].in == n && (q == '"' ||
				    n == '\'' || n == '\\'))
					break;
			if (i < nitems(dq_escapes)) {
				if (put(p, p->off, &dq_escapes[i].out, 1) == -1)
					return -1;
				p->off += 2;
				continue;
			}
		}
		if (q == '"' && c == '$' && p->off + 1 < p->len &&
		    p->buf[p->off + 1] == '{') {
			size_t before = p->off;

			if (expand(p, p->len) == -1)
				return -1;
			if (p->off != before)
				continue;
		}
		if (put(p, p->off, &c, 1) == -1)
			return -1;
		p->off++;
	}
	return efail(p, open, "unterminated %s-quoted value",
	    q == '"' ? "double" : "single");
}

static int
unquoted(struct envp *p)
{
	size_t end = p->off, last;

	while (end < p->len && p->buf[end] != '\n')
		end++;
	/* A comment starts at a '#' after a blank. */
	for (last = p->off; last < end; last++)
		if (p->buf[last] == '#' && last > p->off &&
		    (p->buf[last - 1] == ' ' || p->buf[last - 1] == '\t'))
			break;
	while (last > p->off && (p->buf[last - 1] == ' ' ||
	    p->buf[last - 1] == '\t' || p->buf[last - 1] == '\r'))
		last--;
	while (p->off < last) {
		char c = p->buf[p->off];

		if (c == '$' && p->off + 1 < last && p->buf[p->off + 1] == '{') {
			size_t before = p->off;

			if (expand(p, last) == -1)
				return -1;
			if (p->off != before)
				continue;
		}
		if (put(p, p->off, &c, 1) == -1)
			return -1;
		p->off++;
	}
	p->off = end;
	return 0;
}

static void
skip_blanks(struct envp *p)
{
	while (p->off < p->len && (p->buf[p->off] == ' ' ||
	    p->buf[p->off] == '\t'))
		p->off++;
}

/* After a value: blanks, an optional comment, end of line. */
static int
end_of_line(struct envp *p)
{
	skip_blanks(p);
	if (p->off < p->len && p->buf[p->off] == '#')
		while (p->off < p->len && p->buf[p->off] != '\n')
			p->off++;
	if (p->off < p->len && p->buf[p->off] == '\r')
		p->off++;
	if (p->off < p->len && p->buf[p->off] != '\n')
		return efail(p, p->off, "unexpected text after the value");
	return 0;
}

static int
parse_line(struct envp *p)
{
	size_t nstart, nlen, vstart, keyat;
	unsigned keyline = p->line;
	char c;

	skip_blanks(p);
	if (p->off >= p->len || p->buf[p->off] == '\n' ||
	    p->buf[p->off] == '#' || p->buf[p->off] == '\r')
		return end_of_line(p) == -1 ? -1 : 0;
	if (p->len - p->off >= 7 && memcmp(p->buf + p->off, "export", 6) == 0 &&
	    (p->buf[p->off + 6] == ' ' || p->buf[p->off + 6] == '\t')) {
		p->off += 6;
		skip_blanks(p);
	}
	keyat = nstart = p->off;
	if (p->off >= p->len || !is_name_start((unsigned char)p->buf[p->off]))
		return efail(p, p->off, "expected a variable name");
	while (p->off < p->len && is_name_char((unsigned char)p->buf[p->off]))
		p->off++;
	nlen = p->off - nstart;
	skip_blanks(p);
	if (p->off >= p->len || p->buf[p->off] == '\n' ||
	    p->buf[p->off] == '#' || p->buf[p->off] == '\r')
		return end_of_line(p);	/* a bare name: no value */
	if (p->buf[p->off] != '=')
		return efail(p, p->off, "expected '=' after %.*s", (int)nlen,
		    p->buf + nstart);
	p->off++;
	skip_blanks(p);
	vstart = p->list->used;
	c = p->off < p->len ? p->buf[p->off] : '\n';
	if (c == '"' || c == '\'') {
		if (quoted(p, c) == -1 || end_of_line(p) == -1)
			return -1;
	} else if (unquoted(p) == -1)
		return -1;
	return set_var(p, keyat, keyline, p->buf + nstart, nlen, vstart);
}

/* Parse text already placed at the start of l->arena. */
static int
parse_arena(const char *name, struct env_list *l, size_t len, char *err,
    size_t errlen)
{
	struct envp p;
	const char *nul;

	memset(&p, 0, sizeof(p));
	p.name = name;
	p.buf = (const char *)l->arena;
	p.len = len;
	p.list = l;
	p.err = err;
	p.errlen = errlen;
	p.line = 1;
	if ((nul = memchr(p.buf, '\0', len)) != NULL)
		return efail(&p, (size_t)(nul - p.buf), "NUL byte");
	while (p.off < p.len) {
		if (parse_line(&p) == -1)
			return -1;
		if (p.off < p.len && p.buf[p.off] == '\n')
			p.off++;
		p.line++;
	}
	/* Only the decoded values stay. */
	explicit_bzero(l->arena, len);
	return 0;
}

int
env_parse(const char *name, const char *buf, size_t len,
    struct env_list **out, char *err, size_t errlen)
{
	struct env_list *l;

	*out = NULL;
	if (len > CFG_MAX_FILE)
		return ffail(err, errlen, name, "larger than %d bytes",
		    CFG_MAX_FILE);
	l = list_new(len);
	memcpy(l->arena, buf, len);
	if (parse_arena(name, l, len, err, errlen) == -1) {
		env_list_free(l);
		return -1;
	}
	*out = l;
	return 0;
}

int
env_load_owner(const char *path, uid_t owner, struct env_list **out,
    char *err, size_t errlen)
{
	struct env_list *l;
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY |
	    O_NONBLOCK);
	if (fd == -1 && errno == ENOENT) {
		*out = list_new(0);
		return 0;
	}
	if (fd == -1 && errno == ELOOP)
		/* Let the secrecy check word the message. */
		return config_check_secrecy_owner(path, owner, err, errlen);
	if (fd == -1)
		return ffail(err, errlen, path, "%s", strerror(errno));
	if (config_check_secrecy_fd(fd, path, owner, err, errlen) == -1 ||
	    fstat(fd, &st) == -1) {
		(void)close(fd);
		return -1;
	}
	if (st.st_size > CFG_MAX_FILE) {
		(void)close(fd);
		return ffail(err, errlen, path, "larger than %d bytes; refusing",
		    CFG_MAX_FILE);
	}
	l = list_new((size_t)st.st_size);
	for (;;) {
		n = read(fd, l->arena + len, (size_t)st.st_size + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || (n > 0 && len + (size_t)n > (size_t)st.st_size)) {
			int e = n == -1 ? errno : 0;

			(void)close(fd);
			env_list_free(l);
			return ffail(err, errlen, path, "%s", e ?
			    strerror(e) : "changed while being read");
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	(void)close(fd);
	if (parse_arena(path, l, len, err, errlen) == -1) {
		env_list_free(l);
		return -1;
	}
	*out = l;
	return 0;
}

int
env_load(const char *path, struct env_list **out, char *err, size_t errlen)
{
	return env_load_owner(path, geteuid(), out, err, errlen);
}
