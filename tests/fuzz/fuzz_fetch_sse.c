/* libFuzzer: the SSE parser, fed in pieces, with a small line limit. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ipc/util.h"
#include "workers/fetch/fetch.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
cb(void *arg, const char *event, const char *data, size_t len)
{
	size_t	*n = arg;

	/* data is NUL-terminated at len; event is a C string. */
	if (data[len] != '\0' || strlen(event) >= 64)
		__builtin_trap();
	*n += len;
	return len == 4 && memcmp(data, "stop", 4) == 0 ? -1 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct sse	 s;
	size_t		 total = 0, off = 0, step;

	if (n < 1)
		return 0;
	step = (size_t)p[0] % 17 + 1;	/* the first byte picks the split */
	sse_init(&s, 256, cb, &total);
	for (off = 1; off < n; off += step)
		if (sse_feed(&s, (const char *)p + off,
		    off + step > n ? n - off : step) == -1)
			break;
	(void)sse_finish(&s);
	sse_clear(&s);
	return 0;
}
