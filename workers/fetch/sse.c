/*
 * A bounded, incremental parser for text/event-stream (the WHATWG
 * "server-sent events" interpretation rules): lines end in CRLF, LF or
 * CR (a CRLF may be split across feeds), ":" starts a comment, one space
 * after the field's colon is dropped, "data" lines are joined with LF,
 * an empty line dispatches. Neither a line nor an event's data may grow
 * past max_line; a stream that tries fails instead of allocating.
 */
#include <stdlib.h>
#include <string.h>

#include "ipc/util.h"
#include "workers/fetch/fetch.h"

void
sse_init(struct sse *s, size_t max_line, sse_event_fn cb, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->max_line = max_line;
	s->cb = cb;
	s->arg = arg;
}

void
sse_clear(struct sse *s)
{
	free(s->line);
	free(s->data);
	s->line = s->data = NULL;
	s->llen = s->lcap = s->dlen = s->dcap = 0;
}

static int
grow(char **buf, size_t *cap, size_t need)
{
	size_t	 ncap;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 256;
	while (ncap < need)
		ncap *= 2;
	*buf = xreallocarray(*buf, ncap, 1);
	*cap = ncap;
	return 0;
}

static int
dispatch(struct sse *s)
{
	int	 rc = 0;

	if (s->have_data) {
		/* Drop the LF that followed the last data line. */
		if (s->dlen > 0)
			s->dlen--;
		s->data[s->dlen] = '\0';
		rc = s->cb(s->arg, s->event, s->data, s->dlen);
	}
	s->dlen = 0;
	s->have_data = 0;
	s->event[0] = '\0';
	return rc;
}

static int
field(struct sse *s, const char *line, size_t len)
{
	const char	*colon, *val;
	size_t		 flen, vlen;

	if (len == 0)
		return dispatch(s);
	if (line[0] == ':')
		return 0;			/* comment */
	colon = memchr(line, ':', len);
	if (colon != NULL) {
		flen = colon - line;
		val = colon + 1;
		vlen = len - flen - 1;
		if (vlen > 0 && *val == ' ') {
			val++;
			vlen--;
		}
	} else {
		flen = len;
		val = "";
		vlen = 0;
	}
	if (flen == 4 && memcmp(line, "data", 4) == 0) {
		if (s->dlen + vlen + 2 > s->max_line)
			return -1;
		grow(&s->data, &s->dcap, s->dlen + vlen + 2);
		memcpy(s->data + s->dlen, val, vlen);
		s->dlen += vlen;
		s->data[s->dlen++] = '\n';
		s->have_data = 1;
	} else if (flen == 5 && memcmp(line, "event", 5) == 0) {
		if (vlen >= sizeof(s->event))
			vlen = sizeof(s->event) - 1;
		memcpy(s->event, val, vlen);
		s->event[vlen] = '\0';
	}
	/* "id", "retry" and unknown fields are ignored. */
	return 0;
}

static const char *
eol(const char *p, size_t n)
{
	const char	*lf, *cr;

	lf = memchr(p, '\n', n);
	cr = memchr(p, '\r', lf != NULL ? (size_t)(lf - p) : n);
	return cr != NULL ? cr : lf;
}

int
sse_feed(struct sse *s, const char *p, size_t n)
{
	const char	*e;
	size_t		 l;
	int		 rc;

	if (s->failed)
		return -1;
	while (n > 0) {
		if (s->after_cr) {
			s->after_cr = 0;
			if (*p == '\n') {
				p++;
				n--;
				continue;
			}
		}
		e = eol(p, n);
		if (e == NULL) {
			if (s->llen + n > s->max_line)
				goto fail;
			grow(&s->line, &s->lcap, s->llen + n);
			memcpy(s->line + s->llen, p, n);
			s->llen += n;
			return 0;
		}
		l = e - p;
		if (s->llen > 0) {
			if (s->llen + l > s->max_line)
				goto fail;
			grow(&s->line, &s->lcap, s->llen + l);
			memcpy(s->line + s->llen, p, l);
			s->llen += l;
			rc = field(s, s->line, s->llen);
			s->llen = 0;
		} else {
			if (l > s->max_line)
				goto fail;
			rc = field(s, p, l);
		}
		if (rc != 0)
			goto fail;
		if (*e == '\r')
			s->after_cr = 1;
		p = e + 1;
		n -= l + 1;
	}
	return 0;
fail:
	s->failed = 1;
	return -1;
}

int
sse_finish(struct sse *s)
{
	return s->llen > 0 || s->have_data;
}
