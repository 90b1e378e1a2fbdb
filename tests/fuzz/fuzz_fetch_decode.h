/* Shared by the provider decoder fuzz targets: the input is fed as an
 * SSE stream (split where its first byte says) into the shape's stream
 * decoder, then as one body into its body decoder. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ipc/limits.h"
#include "ipc/util.h"
#include "workers/fetch/fetch.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
f_text(void *a, int r, const char *p, size_t n)
{
	if (n > 0 && (p[0] == 1 && p[n - 1] == 2))
		*(size_t *)a += n;
}

static void
f_call(void *a, const char *id, const char *name, const char *args)
{
	/* Emitted arguments are valid JSON. */
	if (!prov_args_valid(args, strlen(args)) || *id == '\0' ||
	    *name == '\0')
		__builtin_trap();
}

static void
f_usage(void *a, const struct fetch_usage *u)
{
}

static void
f_done(void *a, const char *f)
{
	if (*f == '\0')
		__builtin_trap();
}

static void
f_sig(void *a, const char *p, size_t n)
{
	if (n == 0)
		__builtin_trap();
}

struct fz {
	struct prov_dec		 d;
	const struct prov_shape	*shape;
};

static int
f_ev(void *arg, const char *event, const char *data, size_t len)
{
	struct fz	*z = arg;

	return z->shape->ev(&z->d, event, data, len);
}

static int
fuzz_shape(const struct prov_shape *shape, const uint8_t *p, size_t n)
{
	size_t			 junk = 0, cut;
	struct fetch_sink	 sink = { f_text, f_call, f_usage, f_done,
	    f_sig, &junk };
	struct fz		 z;
	struct sse		 s;

	if (n < 1)
		return 0;
	cut = n > 1 ? (size_t)p[0] * (n - 1) / 256 + 1 : 1;
	z.shape = shape;
	prov_dec_init(&z.d, &sink);
	sse_init(&s, SSE_MAX_LINE, f_ev, &z);
	if (sse_feed(&s, (const char *)p + 1, cut - 1) == 0 &&
	    sse_feed(&s, (const char *)p + cut, n - cut) == 0)
		(void)shape->eof(&z.d);
	sse_clear(&s);
	prov_dec_clear(&z.d);

	prov_dec_init(&z.d, &sink);
	(void)shape->body(&z.d, (const char *)p + 1, n - 1);
	prov_dec_clear(&z.d);
	return 0;
}
