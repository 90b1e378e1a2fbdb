/*
 * What the model sees: Hermes's 40/60 truncation with its notice, the
 * bounded collector, ANSI stripping, secret redaction, UTF-8 repair.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ipc/util.h"
#include "workers/tool/tool.h"

static void
test_collector_small(void **state)
{
	struct tool_out	*o = tool_out_new(50000);
	char		*s;

	tool_out_add(o, "hello ", 6);
	tool_out_add(o, "world", 5);
	s = tool_out_render(o, NULL);
	assert_string_equal(s, "hello world");
	free(s);
	s = tool_out_render(o, "\n[Command timed out after 5s]");
	assert_string_equal(s, "hello world\n[Command timed out after 5s]");
	free(s);
	tool_out_free(o);
}

static void
test_collector_truncates(void **state)
{
	struct tool_out	*o = tool_out_new(50000);
	char		 buf[4096], *s, *notice;
	size_t		 i, total = 0, hc, tc;

	/* 100,000 chars: 'H' x 30000, then digits cycling */
	memset(buf, 'H', sizeof(buf));
	for (i = 0; total < 30000; i++) {
		size_t n = 30000 - total < sizeof(buf) ? 30000 - total : sizeof(buf);
		tool_out_add(o, buf, n);
		total += n;
	}
	for (; total < 100000; total++) {
		char c = (char)('0' + total % 10);
		tool_out_add(o, &c, 1);
	}
	assert_int_equal(tool_out_total_chars(o), 100000);
	s = tool_out_render(o, NULL);
	assert_int_equal(tool_utf8_chars(s, strlen(s)), 50000);
	notice = strstr(s, "\n\n... [OUTPUT TRUNCATED - ");
	assert_non_null(notice);
	/* budget = 50000 - len(notice); head 40 %, tail the rest */
	{
		const char *end = strstr(notice, "] ...\n\n");
		size_t nl = (size_t)(end + 7 - notice);
		size_t budget = 50000 - nl;
		hc = budget * 4 / 10;
		tc = budget - hc;
		assert_int_equal((size_t)(notice - s), hc);
		assert_int_equal(strlen(end + 7), tc);
		char want[128];
		snprintf(want, sizeof(want), "\n\n... [OUTPUT TRUNCATED - %s chars "
		    "omitted out of 100,000 total] ...\n\n", "50,060");
		/* omitted = total - head - tail */
		char omitted[32];
		size_t om = 100000 - hc - tc;
		snprintf(omitted, sizeof(omitted), "%zu,%03zu", om / 1000, om % 1000);
		snprintf(want, sizeof(want), "\n\n... [OUTPUT TRUNCATED - %s chars "
		    "omitted out of 100,000 total] ...\n\n", omitted);
		assert_memory_equal(notice, want, strlen(want));
	}
	/* the tail is the end of the stream */
	assert_int_equal(s[strlen(s) - 1], '9');
	free(s);
	tool_out_free(o);
}

static void
test_collector_utf8(void **state)
{
	struct tool_out	*o = tool_out_new(100);
	char		*s;
	size_t		 i;

	/* 200 two-byte chars fed one byte at a time */
	for (i = 0; i < 200; i++) {
		tool_out_add(o, "\xc3", 1);
		tool_out_add(o, "\xa9", 1);
	}
	assert_int_equal(tool_out_total_chars(o), 200);
	s = tool_out_render(o, NULL);
	/* never a split character */
	{
		size_t n;
		char *c = tool_utf8_sanitize(s, strlen(s), &n);
		assert_string_equal(c, s);
		free(c);
	}
	free(s);
	tool_out_free(o);
}

static void
test_truncate(void **state)
{
	char	*big = xmalloc(60001), *t;

	memset(big, 'a', 60000);
	big[60000] = '\0';
	t = tool_truncate(big, 50000);
	assert_non_null(strstr(t, "[OUTPUT TRUNCATED - 10,000 chars omitted out "
	    "of 60,000 total]"));
	free(t);
	t = tool_truncate("short", 50000);
	assert_string_equal(t, "short");
	free(t);
	free(big);
}

static void
test_ansi(void **state)
{
	static const struct { const char *in, *out; } t[] = {
		{ "\033[31mred\033[0m", "red" },
		{ "\033]0;title\007text", "text" },
		{ "\033]8;;http://x\033\\link\033]8;;\033\\", "link" },
		{ "a\033(Bb", "ab" },
		{ "\xc2\x9b" "1mbold", "bold" },
		{ "\033P1;2qdata\033\\after", "after" },
		{ "plain \xc3\xa9t\xc3\xa9", "plain \xc3\xa9t\xc3\xa9" },
		{ "\033[?25l\033[2Kx", "x" },
	};
	size_t	 i;

	for (i = 0; i < nitems(t); i++) {
		char *s = xstrdup(t[i].in);
		size_t n = tool_strip_ansi(s, strlen(s));
		s[n] = '\0';
		assert_string_equal(s, t[i].out);
		free(s);
	}
}

static void
test_redact(void **state)
{
	static const struct { const char *in, *out; int env; } t[] = {
		{ "key sk-proj-abcdefghijklmnop1234", "key sk-pro...1234", 0 },
		{ "sk-short12345", "***", 0 },
		{ "ghp_abcdefghijklmnopqrstuvwxyz0123", "ghp_ab...0123", 0 },
		{ "xoxb-123456789012-abcdefghijk", "xoxb-1...hijk", 0 },
		{ "AKIAABCDEFGHIJKLMNOP", "AKIAAB...MNOP", 0 },
		{ "Authorization: Bearer abcdefghijklmnopqrstuvwxyz",
		  "Authorization: Bearer abcdef...wxyz", 0 },
		{ "authorization: token xyz", "authorization: token ***", 0 },
		{ "x-api-key: 0123456789abcdef0123", "x-api-key: 012345...0123", 0 },
		{ "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----",
		  "[REDACTED PRIVATE KEY]", 0 },
		{ "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE "
		  "KEY-----\nafter", "[REDACTED PRIVATE KEY]\nafter", 0 },
		{ "postgres://user:hunter2@db/x", "postgres://user:***@db/x", 0 },
		{ "https://bob:pw@example.com/", "https://bob:***@example.com/", 0 },
		{ "bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawAA",
		  "bot123456789:***", 0 },
		{ "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_abcd",
		  "eyJhbG...abcd", 0 },
		{ "OPENAI_API_KEY=sk-abc", "OPENAI_API_KEY=***", 1 },
		{ "GITHUB_TOKEN=abcdefghijklmnopqrstuvwxyz", "GITHUB_TOKEN=abcdef...wxyz", 1 },
		{ "PATH=/usr/bin", "PATH=/usr/bin", 1 },
		{ "nothing secret here: skeleton sk-", "nothing secret here: skeleton sk-", 0 },
		{ "task-1234567890abcdef", "task-1234567890abcdef", 0 },
	};
	size_t	 i;

	for (i = 0; i < nitems(t); i++) {
		char *r = tool_redact(t[i].in, t[i].env);
		if (strcmp(r, t[i].out) != 0)
			fail_msg("redact(%s) = %s, want %s", t[i].in, r, t[i].out);
		free(r);
	}
	assert_int_equal(tool_is_env_dump("env"), 1);
	assert_int_equal(tool_is_env_dump("cd x && printenv | sort"), 1);
	assert_int_equal(tool_is_env_dump("environment"), 0);
	assert_int_equal(tool_is_env_dump("ls; echo set"), 0);
}

static void
test_sanitize(void **state)
{
	char	*s;
	size_t	 n;

	s = tool_utf8_sanitize("a\xff" "b\xc3", 4, &n);
	assert_string_equal(s, "a\xef\xbf\xbd" "b\xef\xbf\xbd");
	free(s);
	s = tool_utf8_sanitize("\xed\xa0\x80", 3, &n);	/* surrogate */
	assert_string_equal(s, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
	s = tool_strip(xstrdup("  \n x y \t\n"));
	assert_string_equal(s, "x y");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collector_small),
		cmocka_unit_test(test_collector_truncates),
		cmocka_unit_test(test_collector_utf8),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_ansi),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_sanitize),
	};

	log_init("test_tool_output", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
