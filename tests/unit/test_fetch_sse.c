/* SSE parser: line endings, splits at every byte, comments, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ipc/util.h"
#include "workers/fetch/fetch.h"

struct got {
	char	 ev[16][64];
	char	 data[16][256];
	int	 n;
	int	 stop_at;
};

static int
cb(void *arg, const char *event, const char *data, size_t len)
{
	struct got	*g = arg;

	assert_int_equal(strlen(data), len);
	if (g->n < 16) {
		snprintf(g->ev[g->n], sizeof(g->ev[0]), "%s", event);
		snprintf(g->data[g->n], sizeof(g->data[0]), "%s", data);
	}
	g->n++;
	return g->stop_at && g->n >= g->stop_at ? -1 : 0;
}

static const char stream[] =
    ": comment\r\n"
    "event: message_start\r\n"
    "data: {\"a\":1}\r\n"
    "\r\n"
    "data:no-space\n"
    "data:  two-spaces\n"
    "\n"
    "id: 7\rretry: 10\revent: x\rdata: cr\r\r"
    "data\n\n"
    "event: empty\n\n"
    "data: [DONE]\n\n";

static void
check(struct got *g)
{
	assert_int_equal(g->n, 5);
	assert_string_equal(g->ev[0], "message_start");
	assert_string_equal(g->data[0], "{\"a\":1}");
	assert_string_equal(g->ev[1], "");
	assert_string_equal(g->data[1], "no-space\n two-spaces");
	assert_string_equal(g->ev[2], "x");
	assert_string_equal(g->data[2], "cr");
	assert_string_equal(g->data[3], "");
	/* "event: empty" with no data dispatches nothing and resets. */
	assert_string_equal(g->ev[4], "");
	assert_string_equal(g->data[4], "[DONE]");
}

static void
test_whole(void **state)
{
	struct sse	 s;
	struct got	 g = { 0 };

	sse_init(&s, 1024, cb, &g);
	assert_int_equal(sse_feed(&s, stream, sizeof(stream) - 1), 0);
	assert_int_equal(sse_finish(&s), 0);
	check(&g);
	sse_clear(&s);
}

/* Every split point, and byte by byte (CRLF split across feeds). */
static void
test_splits(void **state)
{
	struct sse	 s;
	struct got	 g;
	size_t		 cut, i, n = sizeof(stream) - 1;

	for (cut = 0; cut <= n; cut++) {
		memset(&g, 0, sizeof(g));
		sse_init(&s, 1024, cb, &g);
		assert_int_equal(sse_feed(&s, stream, cut), 0);
		assert_int_equal(sse_feed(&s, stream + cut, n - cut), 0);
		check(&g);
		sse_clear(&s);
	}
	memset(&g, 0, sizeof(g));
	sse_init(&s, 1024, cb, &g);
	for (i = 0; i < n; i++)
		assert_int_equal(sse_feed(&s, stream + i, 1), 0);
	check(&g);
	sse_clear(&s);
}

static void
test_line_limit(void **state)
{
	struct sse	 s;
	struct got	 g = { 0 };
	char		*big;
	size_t		 i;

	big = malloc(5000);
	memcpy(big, "data: ", 6);
	memset(big + 6, 'a', 5000 - 6);
	/* Fed in pieces: refused once the line passes the limit. */
	sse_init(&s, 4096, cb, &g);
	for (i = 0; i < 5000; i += 100)
		if (sse_feed(&s, big + i, 100) == -1)
			break;
	assert_true(i < 5000);
	assert_int_equal(sse_feed(&s, "\n\n", 2), -1);	/* stays failed */
	assert_int_equal(g.n, 0);
	sse_clear(&s);
	/* In one piece with its newline. */
	memset(&g, 0, sizeof(g));
	sse_init(&s, 4096, cb, &g);
	big[4999] = '\n';
	assert_int_equal(sse_feed(&s, big, 5000), -1);
	sse_clear(&s);
	/* Just under the limit is fine. */
	memset(&g, 0, sizeof(g));
	sse_init(&s, 4096, cb, &g);
	assert_int_equal(sse_feed(&s, big, 4000), 0);
	assert_int_equal(sse_feed(&s, "\n\n", 2), 0);
	assert_int_equal(g.n, 1);
	sse_clear(&s);
	free(big);
}

/* Many data lines can't add up past the limit either. */
static void
test_data_limit(void **state)
{
	struct sse	 s;
	struct got	 g = { 0 };
	int		 i, rc = 0;

	sse_init(&s, 1024, cb, &g);
	for (i = 0; i < 100 && rc == 0; i++)
		rc = sse_feed(&s, "data: 0123456789012345678901234567890\n",
		    38);
	assert_int_equal(rc, -1);
	assert_int_equal(g.n, 0);
	sse_clear(&s);
}

static void
test_stop_and_eof(void **state)
{
	struct sse	 s;
	struct got	 g = { 0 };

	g.stop_at = 1;
	sse_init(&s, 1024, cb, &g);
	assert_int_equal(sse_feed(&s, "data: 1\n\ndata: 2\n\n", 18), -1);
	assert_int_equal(g.n, 1);
	sse_clear(&s);
	memset(&g, 0, sizeof(g));
	sse_init(&s, 1024, cb, &g);
	assert_int_equal(sse_feed(&s, "data: 1\n", 8), 0);
	assert_int_equal(sse_finish(&s), 1);	/* unterminated: dropped */
	assert_int_equal(g.n, 0);
	sse_clear(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_splits),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_data_limit),
		cmocka_unit_test(test_stop_and_eof),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
