/*
 * libFuzzer, differential: the fast path for plain text deltas
 * (workers/fetch/fastjson.c) must mean exactly what jansson's path means.
 * The input (first byte: the shape) is one SSE event's data, decoded with
 * the fast path on and off; the events and results must be identical.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ipc/util.h"
#include "workers/fetch/fetch.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct log {
	char	 buf[8192];
	size_t	 len;
};

static void
put(struct log *l, const char *tag, const char *p, size_t n)
{
	size_t	 t = strlen(tag);

	if (l->len + t + n + 2 > sizeof(l->buf))
		return;
	memcpy(l->buf + l->len, tag, t);
	l->len += t;
	memcpy(l->buf + l->len, p, n);
	l->len += n;
	l->buf[l->len++] = '|';
}

static void
l_text(void *a, int r, const char *p, size_t n)
{
	put(a, r ? "R:" : "T:", p, n);
}

static void
l_call(void *a, const char *id, const char *name, const char *args)
{
	put(a, "C:", name, strlen(name));
	put(a, "A:", args, strlen(args));
}

static void
l_usage(void *a, const struct fetch_usage *u)
{
	char	 s[128];

	snprintf(s, sizeof(s), "%lld/%lld", (long long)u->input,
	    (long long)u->output);
	put(a, "U:", s, strlen(s));
}

static void
l_done(void *a, const char *f)
{
	put(a, "D:", f, strlen(f));
}

static void
l_sig(void *a, const char *p, size_t n)
{
	put(a, "S:", p, n);
}

static int
run(const struct prov_shape *shape, const char *p, size_t n, int fast,
    struct log *l, int *eclass)
{
	struct fetch_sink	 sink = { l_text, l_call, l_usage, l_done,
	    l_sig, l };
	struct prov_dec		 d;
	int			 rc;

	prov_fast_enabled = fast;
	prov_dec_init(&d, &sink);
	rc = shape->ev(&d, "", p, n);
	*eclass = d.eclass;
	prov_dec_clear(&d);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
	const struct prov_shape	*shape;
	static struct log	 a, b;
	char			*data;
	int			 ra, rb, ea, eb;

	if (n < 1)
		return 0;
	shape = in[0] & 1 ? &prov_anthropic : &prov_openai;
	data = xmalloc(n);		/* NUL-terminated, as sse.c gives it */
	memcpy(data, in + 1, n - 1);
	data[n - 1] = '\0';
	a.len = b.len = 0;
	ra = run(shape, data, n - 1, 1, &a, &ea);
	rb = run(shape, data, n - 1, 0, &b, &eb);
	if (ra != rb || ea != eb || a.len != b.len ||
	    memcmp(a.buf, b.buf, a.len) != 0)
		__builtin_trap();
	free(data);
	return 0;
}
