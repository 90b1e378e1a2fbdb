/*
 * cli/out.c: formatting (durations, sizes, tool lines, the status
 * table), escape codes only on a terminal, and no control characters
 * from the model ever reaching the terminal.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli.h"

static void
durations_and_sizes(void **state)
{
	char	 b[32];

	(void)state;
	cli_fmt_duration(b, sizeof(b), 0);
	assert_string_equal(b, "0ms");
	cli_fmt_duration(b, sizeof(b), 999);
	assert_string_equal(b, "999ms");
	cli_fmt_duration(b, sizeof(b), 1234);
	assert_string_equal(b, "1.2s");
	cli_fmt_duration(b, sizeof(b), 61000);
	assert_string_equal(b, "1m01s");
	cli_fmt_duration(b, sizeof(b), 3600000 + 120000);
	assert_string_equal(b, "1h02m");
	cli_fmt_duration(b, sizeof(b), 90000000);
	assert_string_equal(b, "1d01h");
	cli_fmt_rss(b, sizeof(b), 2860);
	assert_string_equal(b, "2860K");
	cli_fmt_rss(b, sizeof(b), 20480);
	assert_string_equal(b, "20.0M");
}

static void
sanitize(void **state)
{
	char	 b[64];
	size_t	 n;

	(void)state;
	n = cli_sanitize(b, sizeof(b), "a\033[31mred\r\nx\ty", 14, 1);
	assert_string_equal(b, "a?[31mred?\nx\ty");
	assert_int_equal(n, strlen(b));
	cli_sanitize(b, sizeof(b), "a\nb", 3, 0);
	assert_string_equal(b, "a b");
	/* C1 CSI (U+009B) is replaced, other UTF-8 kept. */
	cli_sanitize(b, sizeof(b), "\xc2\x9b" "2J caf\xc3\xa9", 10, 1);
	assert_string_equal(b, "?2J caf\xc3\xa9");
	/* Bounded. */
	n = cli_sanitize(b, 4, "abcdef", 6, 1);
	assert_int_equal(n, 3);
	assert_string_equal(b, "abc");
}

static void
summary(void **state)
{
	char	 b[256];

	(void)state;
	cli_fmt_summary(b, sizeof(b), "  ls   -la\n/tmp  ", 60);
	assert_string_equal(b, "ls -la /tmp");
	cli_fmt_summary(b, sizeof(b), "abcdefghij", 5);
	assert_string_equal(b, "abcde...");
	/* Multi-byte characters count as one and are not split. */
	cli_fmt_summary(b, sizeof(b), "\xc3\xa9\xc3\xa9\xc3\xa9", 2);
	assert_string_equal(b, "\xc3\xa9\xc3\xa9...");
	cli_fmt_summary(b, sizeof(b), "x\033[2Jy", 60);
	assert_string_equal(b, "x [2Jy");
}

static void
tool_line(void **state)
{
	char	 b[512];

	(void)state;
	cli_fmt_tool_line(b, sizeof(b), "terminal", "ls -la /tmp", 120, 1,
	    "exit 0");
	assert_string_equal(b, "  [terminal] ls -la /tmp  (120ms) ok: exit 0");
	cli_fmt_tool_line(b, sizeof(b), "read_file", "", 2500, 0, "");
	assert_string_equal(b, "  [read_file]  (2.5s) failed");
	cli_fmt_tool_line(b, sizeof(b), "write_file", "path=/x\ncontent=...",
	    5, 1, NULL);
	assert_null(strchr(b, '\n'));
	/* JSON arguments: the telling key, else the first string. */
	cli_fmt_tool_line(b, sizeof(b), "terminal",
	    "{\"timeout\":5,\"command\":\"make  -j2\"}", 5, 1, "exit 0");
	assert_string_equal(b, "  [terminal] make -j2  (5ms) ok: exit 0");
	cli_fmt_args(b, sizeof(b), "{\"n\":1,\"city\":\"Paris\"}", 60);
	assert_string_equal(b, "Paris");
	cli_fmt_args(b, sizeof(b), "{\"n\":1}", 60);
	assert_string_equal(b, "");
	cli_fmt_args(b, sizeof(b), "{not json", 60);
	assert_string_equal(b, "{not json");
}

static char *
capture_status(int plain)
{
	struct cli_worker_row rows[] = {
		{ "agent", 101, "ready", 5000, 0, 2384 },
		{ "llm-fetch", 102, "failed", 61000, 5, 20480 },
		{ "evil\033[2J", 103, "ready", 1, 0, 1 },
	};
	struct cli_out	 o;
	char		*buf = NULL;
	size_t		 len = 0;
	FILE		*fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	cli_out_init(&o, fp, plain);
	o.tty = !plain;		/* a memstream is never a terminal */
	cli_print_status(&o, 100, 7000, rows, 3);
	fclose(fp);
	return buf;
}

static void
status_table(void **state)
{
	char	*plain, *tty;

	(void)state;
	plain = capture_status(1);
	assert_non_null(strstr(plain, "hermesd pid 100, up 7.0s\n"));
	assert_non_null(strstr(plain, "ROLE"));
	assert_non_null(strstr(plain, "RESTARTS"));
	assert_non_null(strstr(plain, "agent                 101  ready"));
	assert_non_null(strstr(plain, "failed"));
	assert_non_null(strstr(plain, "20.0M"));
	assert_null(strchr(plain, '\033'));
	/* On a terminal: colours, but never the model's/worker's escapes. */
	tty = capture_status(0);
	assert_non_null(strstr(tty, "\033[32m"));
	assert_null(strstr(tty, "\033[2J"));
	free(plain);
	free(tty);
}

static void
plain_when_not_a_tty(void **state)
{
	struct cli_out	 o;
	char		*buf = NULL;
	size_t		 len = 0;
	FILE		*fp = open_memstream(&buf, &len);

	(void)state;
	cli_out_init(&o, fp, 0);	/* a memstream: not a terminal */
	assert_int_equal(o.tty, 0);
	cli_out_style(&o, "red");
	cli_out_text(&o, "hello \033]0;title\007 world", 22);
	cli_out_reset(&o);
	cli_out_eol(&o);
	cli_print_json(&o, "{\"sandbox\":{\"seccomp\":true,\"landlock\":"
	    "\"enforced\",\"roles\":[\"agent\",\"store\"]}}");
	cli_print_json(&o, "{\"roles\":[{\"role\":\"agent\",\"pid\":7,"
	    "\"ns\":[]},{}]}");
	fclose(fp);
	assert_null(strchr(buf, '\033'));
	assert_null(strchr(buf, '\007'));
	assert_non_null(strstr(buf, "hello ?]0;title? world\n"));
	assert_non_null(strstr(buf, "sandbox:\n  seccomp: yes\n  landlock: "
	    "enforced\n  roles:\n    - agent\n    - store\n"));
	assert_non_null(strstr(buf, "roles:\n  - role: agent\n    pid: 7\n"
	    "    ns: -\n  - {}\n"));
	free(buf);
}

static void
error_codes(void **state)
{
	(void)state;
	assert_int_equal(cli_error_exit("auth"), CLI_EXIT_PROVIDER);
	assert_int_equal(cli_error_exit("rate_limit"), CLI_EXIT_PROVIDER);
	assert_int_equal(cli_error_exit("network"), CLI_EXIT_PROVIDER);
	assert_int_equal(cli_error_exit("sandbox"), CLI_EXIT_DENIED);
	assert_int_equal(cli_error_exit("cancelled"), CLI_EXIT_INTERRUPTED);
	assert_int_equal(cli_error_exit("whatever"), CLI_EXIT_ERROR);
	assert_int_equal(cli_error_exit(NULL), CLI_EXIT_ERROR);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(durations_and_sizes),
		cmocka_unit_test(sanitize),
		cmocka_unit_test(summary),
		cmocka_unit_test(tool_line),
		cmocka_unit_test(status_table),
		cmocka_unit_test(plain_when_not_a_tty),
		cmocka_unit_test(error_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
