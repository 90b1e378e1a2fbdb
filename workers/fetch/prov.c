/*
 * What every API shape shares: the shape table, tool-call assembly from
 * deltas, the end of a response, error classes, backoff.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ipc/util.h"
#include "workers/fetch/fetch.h"

static const struct prov_shape *const shapes[] = {
	&prov_openai,
	&prov_anthropic,
};

const struct prov_shape *
prov_shape_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < nitems(shapes); i++)
		if (strcmp(shapes[i]->name, name) == 0)
			return shapes[i];
	return NULL;
}

static const char *const eclass_names[FE_MAX] = {
	[FE_NONE] = "none",
	[FE_AUTH] = "auth",
	[FE_RATE_LIMIT] = "rate_limit",
	[FE_CONTEXT_OVERFLOW] = "context_overflow",
	[FE_SERVER] = "server",
	[FE_NETWORK] = "network",
	[FE_BAD_RESPONSE] = "bad_response",
	[FE_CANCELLED] = "cancelled",
	[FE_BAD_REQUEST] = "bad_request",
};

const char *
fetch_eclass_name(int c)
{
	if (c < 0 || c >= FE_MAX)
		return "bad_response";
	return eclass_names[c];
}

int
fetch_eclass_retryable(int c)
{
	return c == FE_RATE_LIMIT || c == FE_SERVER || c == FE_NETWORK;
}

/* ---- decoder state -------------------------------------------------- */

void
prov_dec_init(struct prov_dec *d, const struct fetch_sink *sink)
{
	memset(d, 0, sizeof(*d));
	d->sink = sink;
	d->usage.input = d->usage.output = d->usage.cache_read =
	    d->usage.cache_write = d->usage.reasoning = -1;
}

void
prov_dec_clear(struct prov_dec *d)
{
	int	 i;

	for (i = 0; i < d->ncalls; i++) {
		free(d->calls[i].id);
		free(d->calls[i].name);
		free(d->calls[i].args);
	}
	d->ncalls = 0;
	free(d->sig);
	d->sig = NULL;
	d->siglen = 0;
}

int
prov_dec_fail(struct prov_dec *d, int eclass, const char *fmt, ...)
{
	va_list	 ap;

	if (d->eclass == FE_NONE) {
		d->eclass = eclass;
		va_start(ap, fmt);
		vsnprintf(d->err, sizeof(d->err), fmt, ap);
		va_end(ap);
	}
	return -1;
}

struct prov_call *
prov_call_get(struct prov_dec *d, int64_t index)
{
	struct prov_call	*c;
	int			 i;

	for (i = 0; i < d->ncalls; i++)
		if (d->calls[i].index == index)
			return &d->calls[i];
	if (d->ncalls >= FETCH_MAX_TOOL_CALLS) {
		prov_dec_fail(d, FE_BAD_RESPONSE, "more than %d tool calls",
		    FETCH_MAX_TOOL_CALLS);
		return NULL;
	}
	c = &d->calls[d->ncalls++];
	memset(c, 0, sizeof(*c));
	c->index = index;
	return c;
}

int
prov_call_set(struct prov_dec *d, struct prov_call *c, const char *id,
    const char *name)
{
	if (id != NULL && *id != '\0' && c->id == NULL) {
		if (strlen(id) >= FETCH_MAX_ID)
			return prov_dec_fail(d, FE_BAD_RESPONSE,
			    "tool call id too long");
		c->id = xstrdup(id);
	}
	if (name != NULL && *name != '\0') {
		if (strlen(name) >= FETCH_MAX_ID)
			return prov_dec_fail(d, FE_BAD_RESPONSE,
			    "tool name too long");
		if (c->name == NULL)
			c->name = xstrdup(name);
	}
	return 0;
}

int
prov_call_append(struct prov_dec *d, struct prov_call *c, const char *p,
    size_t n)
{
	size_t	 ncap;

	if (n == 0)
		return 0;
	if (c->emitted)
		return prov_dec_fail(d, FE_BAD_RESPONSE,
		    "arguments after the end of a tool call");
	if (c->alen + n + 1 > FETCH_MAX_TOOL_ARGS)
		return prov_dec_fail(d, FE_BAD_RESPONSE,
		    "tool call arguments over %u bytes", FETCH_MAX_TOOL_ARGS);
	if (c->alen + n + 1 > c->acap) {
		ncap = c->acap ? c->acap : 64;
		while (ncap < c->alen + n + 1)
			ncap *= 2;
		c->args = xreallocarray(c->args, ncap, 1);
		c->acap = ncap;
	}
	memcpy(c->args + c->alen, p, n);
	c->alen += n;
	c->args[c->alen] = '\0';
	return 0;
}

int
prov_args_valid(const char *p, size_t n)
{
	json_t		*j;
	json_error_t	 e;

	j = json_loadb(p, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
	if (j == NULL)
		return 0;
	json_decref(j);
	return 1;
}

int
prov_call_emit(struct prov_dec *d, struct prov_call *c)
{
	const char	*args;
	size_t		 i;

	if (c->emitted)
		return 0;
	c->emitted = 1;
	if (c->name == NULL)
		return prov_dec_fail(d, FE_BAD_RESPONSE,
		    "tool call without a name");
	if (c->id == NULL)
		xasprintf(&c->id, "call_%lld", (long long)c->index);
	args = "{}";
	if (c->args != NULL) {
		for (i = 0; i < c->alen && isspace((unsigned char)c->args[i]);
		    i++)
			;
		if (i < c->alen) {
			if (!prov_args_valid(c->args, c->alen))
				return prov_dec_fail(d, FE_BAD_RESPONSE,
				    "tool call %s: arguments are not valid "
				    "JSON", c->name);
			args = c->args;
		}
	}
	d->sink->tool_call(d->sink->arg, c->id, c->name, args);
	return 0;
}

int
prov_calls_emit(struct prov_dec *d)
{
	int	 i;

	for (i = 0; i < d->ncalls; i++)
		if (prov_call_emit(d, &d->calls[i]) == -1)
			return -1;
	return 0;
}

int
prov_text(struct prov_dec *d, int reasoning, const char *p, size_t n)
{
	if (n == 0)
		return 0;
	d->textlen += n;
	if (d->textlen > FETCH_MAX_TEXT)
		return prov_dec_fail(d, FE_BAD_RESPONSE,
		    "response text over %u bytes", FETCH_MAX_TEXT);
	d->sink->text(d->sink->arg, reasoning, p, n);
	return 0;
}

int
prov_end(struct prov_dec *d)
{
	if (d->ended)
		return 0;
	if (prov_calls_emit(d) == -1)
		return -1;
	d->ended = 1;
	/* input_tokens counts every prompt token, cached ones included. */
	if (d->input_excludes_cache && d->usage.input >= 0) {
		if (d->usage.cache_read > 0)
			d->usage.input += d->usage.cache_read;
		if (d->usage.cache_write > 0)
			d->usage.input += d->usage.cache_write;
	}
	if (d->have_usage)
		d->sink->usage(d->sink->arg, &d->usage);
	d->sink->done(d->sink->arg, d->finish[0] != '\0' ? d->finish :
	    (d->ncalls > 0 ? "tool_calls" : "stop"));
	return 0;
}

int	 prov_fast_enabled = 1;

/* Hand the text a fast scan found to the sink. */
int
prov_fast_text(struct prov_dec *d, const struct prov_fast *f)
{
	char	 stack[1024], *buf;
	size_t	 n;
	int	 rc;

	if (f->text == NULL || f->len == 0)
		return 0;
	if (!f->escaped)
		return prov_text(d, f->reasoning, f->text, f->len);
	buf = f->len < sizeof(stack) ? stack : xmalloc(f->len + 1);
	n = prov_fast_unescape(f->text, f->len, buf);
	rc = prov_text(d, f->reasoning, buf, n);
	if (buf != stack)
		free(buf);
	return rc;
}

/* ---- errors --------------------------------------------------------- */

static const char *const overflow_words[] = {
	"context_length_exceeded",
	"context length",
	"context window",
	"prompt is too long",
	"maximum context",
	"too many tokens",
	"input is too long",
	"reduce the length",
};

int
prov_classify(long status, const char *body, size_t len)
{
	char	*low;
	size_t	 i;
	int	 overflow = 0;

	if (status == 401 || status == 403 || status == 402)
		return FE_AUTH;
	if (status == 429)
		return FE_RATE_LIMIT;
	if (status == 408 || status >= 500)
		return FE_SERVER;
	if (status == 413)
		return FE_CONTEXT_OVERFLOW;
	if (status >= 400) {
		if (len > FETCH_MAX_ERRBODY)
			len = FETCH_MAX_ERRBODY;
		low = xmalloc(len + 1);
		for (i = 0; i < len; i++)
			low[i] = tolower((unsigned char)body[i]);
		low[len] = '\0';
		for (i = 0; i < nitems(overflow_words); i++)
			if (strstr(low, overflow_words[i]) != NULL)
				overflow = 1;
		free(low);
		return overflow ? FE_CONTEXT_OVERFLOW : FE_BAD_REQUEST;
	}
	return FE_BAD_RESPONSE;
}

/* Keep printable ASCII only, one line, bounded. */
static void
clean(const char *in, char *out, size_t outlen)
{
	size_t	 o = 0;

	for (; *in != '\0' && o + 1 < outlen; in++)
		out[o++] = (*in >= 0x20 && *in < 0x7f) ? *in : ' ';
	out[o] = '\0';
}

void
prov_errmsg(long status, const char *body, size_t len, char *out,
    size_t outlen)
{
	json_t		*j, *e, *m;
	json_error_t	 je;
	const char	*msg = NULL;
	char		 tmp[256];

	j = json_loadb(body, len, 0, &je);
	if (j != NULL) {
		e = json_object_get(j, "error");
		if (json_is_object(e))
			m = json_object_get(e, "message");
		else if (json_is_string(e))
			m = e;
		else
			m = json_object_get(j, "message");
		if (json_is_string(m))
			msg = json_string_value(m);
	}
	clean(msg != NULL ? msg : "", tmp, sizeof(tmp));
	if (status > 0)
		snprintf(out, outlen, "HTTP %ld%s%s", status,
		    tmp[0] != '\0' ? ": " : "", tmp);
	else
		snprintf(out, outlen, "%s", tmp);
	json_decref(j);
}

/* ---- backoff -------------------------------------------------------- */

uint64_t
prov_backoff_ms(int attempt, uint64_t base, uint64_t max, double jitter,
    int64_t retry_after_ms, double r)
{
	double	 d;
	int	 i;

	if (attempt < 1)
		attempt = 1;
	d = (double)base;
	for (i = 1; i < attempt && d < (double)max; i++)
		d *= 2;
	if (d > (double)max)
		d = (double)max;
	d *= 1.0 - jitter / 2 + jitter * r;
	if (retry_after_ms >= 0 && (double)retry_after_ms > d)
		d = (double)retry_after_ms;
	if (d > (double)max)
		d = (double)max;
	if (d < 0)
		d = 0;
	return (uint64_t)d;
}

int64_t
prov_retry_after_ms(const char *v, time_t now)
{
	struct tm	 tm;
	char		*end;
	long long	 s;
	time_t		 t;

	while (*v == ' ' || *v == '\t')
		v++;
	if (isdigit((unsigned char)*v)) {
		s = strtoll(v, &end, 10);
		while (*end == ' ' || *end == '\t' || *end == '\r' ||
		    *end == '\n')
			end++;
		if (*end != '\0' || s < 0 || s > 86400)
			return -1;
		return (int64_t)s * 1000;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL)
		return -1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	if (t <= now)
		return 0;
	if (t - now > 86400)
		return -1;
	return (int64_t)(t - now) * 1000;
}

char *
prov_dump(json_t *j)
{
	char	*s;

	s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(j);
	if (s == NULL)
		fatalx("json_dumps failed");
	return s;
}
