/*
 * cli/args.c: the command line of hermes (options before and after
 * "chat", subcommand operands verbatim, usage errors).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cli/cli.h"

static int
parse(struct cli_args *a, char *err, size_t errlen, ...)
{
	char	*argv[32];
	int	 argc = 0;
	va_list	 ap;

	va_start(ap, errlen);
	argv[argc++] = (char *)"hermes";
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	return cli_parse_args(argc, argv, a, err, errlen);
}

static void
defaults_to_chat(void **state)
{
	struct cli_args	 a;
	char		 err[256];

	(void)state;
	assert_int_equal(parse(&a, err, sizeof(err), NULL), CLI_EXIT_OK);
	assert_string_equal(a.cmd->name, "chat");
	assert_null(a.query);
	assert_int_equal(a.argc, 0);
}

static void
oneshot_forms(void **state)
{
	struct cli_args	 a;
	char		 err[256];

	(void)state;
	assert_int_equal(parse(&a, err, sizeof(err), "-z", "hi there", NULL),
	    CLI_EXIT_OK);
	assert_string_equal(a.query, "hi there");
	assert_int_equal(parse(&a, err, sizeof(err), "chat", "-q", "x", NULL),
	    CLI_EXIT_OK);
	assert_string_equal(a.cmd->name, "chat");
	assert_string_equal(a.query, "x");
	assert_int_equal(parse(&a, err, sizeof(err), "--oneshot=y", NULL),
	    CLI_EXIT_OK);
	assert_string_equal(a.query, "y");
	assert_int_equal(parse(&a, err, sizeof(err), "-zinline", NULL),
	    CLI_EXIT_OK);
	assert_string_equal(a.query, "inline");
	assert_int_equal(parse(&a, err, sizeof(err), "-vQ", "--query", "q",
	    "-m", "gpt", NULL), CLI_EXIT_OK);
	assert_int_equal(a.verbose, 1);
	assert_int_equal(a.quiet, 1);
	assert_string_equal(a.model, "gpt");
}

static void
resume_continue(void **state)
{
	struct cli_args	 a;
	char		 err[256];

	(void)state;
	assert_int_equal(parse(&a, err, sizeof(err), "-r", "my title", NULL),
	    CLI_EXIT_OK);
	assert_string_equal(a.resume, "my title");
	assert_int_equal(parse(&a, err, sizeof(err), "--continue", NULL),
	    CLI_EXIT_OK);
	assert_int_equal(a.cont, 1);
	assert_int_equal(parse(&a, err, sizeof(err), "-c", "-r", "x", NULL),
	    CLI_EXIT_USAGE);
	assert_non_null(strstr(err, "-r and -c"));
}

static void
subcommands_get_operands(void **state)
{
	struct cli_args	 a;
	char		 err[256];

	(void)state;
	assert_int_equal(parse(&a, err, sizeof(err), "config", "set",
	    "model.default", "-x", NULL), CLI_EXIT_OK);
	assert_string_equal(a.cmd->name, "config");
	assert_int_equal(a.argc, 3);
	assert_string_equal(a.argv[0], "set");
	assert_string_equal(a.argv[2], "-x");
	assert_int_equal(parse(&a, err, sizeof(err), "-v", "sessions", "list",
	    NULL), CLI_EXIT_OK);
	assert_string_equal(a.cmd->name, "sessions");
	assert_int_equal(a.verbose, 1);
	assert_int_equal(a.argc, 1);
	assert_non_null(cli_cmd_find("status"));
	assert_non_null(cli_cmd_find("doctor"));
	assert_null(cli_cmd_find("bogus"));
}

static void
version_and_help(void **state)
{
	struct cli_args	 a;
	char		 err[256];

	(void)state;
	assert_int_equal(parse(&a, err, sizeof(err), "--version", NULL),
	    CLI_EXIT_OK);
	assert_int_equal(a.version, 1);
	assert_int_equal(parse(&a, err, sizeof(err), "-V", NULL), CLI_EXIT_OK);
	assert_int_equal(a.version, 1);
	assert_int_equal(parse(&a, err, sizeof(err), "-h", NULL), CLI_EXIT_OK);
	assert_int_equal(a.help, 1);
}

static void
usage_errors(void **state)
{
	struct cli_args	 a;
	char		 err[256];

	(void)state;
	assert_int_equal(parse(&a, err, sizeof(err), "frobnicate", NULL),
	    CLI_EXIT_USAGE);
	assert_non_null(strstr(err, "frobnicate"));
	assert_int_equal(parse(&a, err, sizeof(err), "--nope", NULL),
	    CLI_EXIT_USAGE);
	assert_int_equal(parse(&a, err, sizeof(err), "-z", NULL),
	    CLI_EXIT_USAGE);
	assert_non_null(strstr(err, "needs a value"));
	assert_int_equal(parse(&a, err, sizeof(err), "-z", "", NULL),
	    CLI_EXIT_USAGE);
	assert_int_equal(parse(&a, err, sizeof(err), "chat", "loose words",
	    NULL), CLI_EXIT_USAGE);
	assert_int_equal(parse(&a, err, sizeof(err), "-z", "p", "status",
	    NULL), CLI_EXIT_USAGE);
	assert_int_equal(parse(&a, err, sizeof(err), "--continue=1", NULL),
	    CLI_EXIT_USAGE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults_to_chat),
		cmocka_unit_test(oneshot_forms),
		cmocka_unit_test(resume_continue),
		cmocka_unit_test(subcommands_get_operands),
		cmocka_unit_test(version_and_help),
		cmocka_unit_test(usage_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
