/*
 * cli/yamledit.c: dotted-key get/set on config.yaml text that keeps
 * unknown keys, comments, sequences and block scalars; every result is
 * checked to parse with libyaml and to read back the value set.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ipc/util.h"
#include "cli/yamledit.h"

static const char sample[] =
    "# my hermes config\n"
    "_config_version: 33\n"
    "model:\n"
    "  default: gpt-4.1   # the usual\n"
    "  provider: openai\n"
    "  extra_unknown: {a: 1}\n"
    "\n"
    "command_allowlist:\n"
    "- ls\n"
    "- 'git status'\n"
    "display:\n"
    "  personality: kawaii\n"
    "  banner: |\n"
    "    line one: not a key\n"
    "    line two\n"
    "  show_reasoning: false\n"
    "plugins_unknown_to_us:\n"
    "  deep:\n"
    "    deeper: 7\n";

static char *
set_ok(const char *text, const char *key, const char *val)
{
	const char	*err = NULL;
	char		*out, perr[256], *back;

	out = cli_yaml_set(text, key, val, &err);
	assert_non_null(out);
	assert_null(err);
	assert_int_equal(cli_yaml_valid(out, perr, sizeof(perr)), 0);
	back = cli_yaml_get(out, key, &err);
	assert_non_null(back);
	assert_string_equal(back, val);
	free(back);
	return out;
}

static void
get_values(void **state)
{
	const char	*err;
	char		*v;

	(void)state;
	v = cli_yaml_get(sample, "model.default", &err);
	assert_string_equal(v, "gpt-4.1");
	free(v);
	v = cli_yaml_get(sample, "display.show_reasoning", &err);
	assert_string_equal(v, "false");
	free(v);
	v = cli_yaml_get(sample, "plugins_unknown_to_us.deep.deeper", &err);
	assert_string_equal(v, "7");
	free(v);
	/* A section prints as its de-indented lines. */
	v = cli_yaml_get(sample, "plugins_unknown_to_us", &err);
	assert_string_equal(v, "deep:\n  deeper: 7");
	free(v);
	/* Lines inside a block scalar are not keys. */
	assert_null(cli_yaml_get(sample, "display.line one", &err));
	assert_null(cli_yaml_get(sample, "model.nope", &err));
	assert_null(cli_yaml_get(sample, "", &err));
	assert_non_null(err);
}

static void
replace_keeps_rest(void **state)
{
	char	*out;

	(void)state;
	out = set_ok(sample, "model.default", "claude-sonnet-4-5");
	/* Comment on the line kept, everything else byte for byte. */
	assert_non_null(strstr(out, "  default: claude-sonnet-4-5   # the usual\n"));
	assert_non_null(strstr(out, "# my hermes config\n_config_version: 33\n"));
	assert_non_null(strstr(out, "  extra_unknown: {a: 1}\n"));
	assert_non_null(strstr(out, "- 'git status'\n"));
	assert_non_null(strstr(out, "    line one: not a key\n"));
	assert_non_null(strstr(out, "plugins_unknown_to_us:\n  deep:\n    deeper: 7\n"));
	assert_int_equal(strlen(out), strlen(sample) + strlen("claude-sonnet-4-5") -
	    strlen("gpt-4.1"));
	free(out);
}

static void
insert_new_keys(void **state)
{
	char		*out, *out2;
	const char	*err;
	char		*v;

	(void)state;
	/* Into an existing section, after its last child. */
	out = set_ok(sample, "model.base_url", "http://127.0.0.1:8080/v1");
	assert_non_null(strstr(out, "  extra_unknown: {a: 1}\n  base_url: "
	    "http://127.0.0.1:8080/v1\n\ncommand_allowlist:\n"));
	/* A new section with nesting, at the end. */
	out2 = set_ok(out, "terminal.docker.image", "debian:12");
	assert_non_null(strstr(out2, "terminal:\n  docker:\n    image: "
	    "debian:12\n"));
	v = cli_yaml_get(out2, "model.provider", &err);
	assert_string_equal(v, "openai");
	free(v);
	/* After a sequence-valued key at the same indent. */
	free(out);
	out = set_ok("a:\n- 1\n- 2\n", "b", "x");
	assert_string_equal(out, "a:\n- 1\n- 2\nb: x\n");
	free(out);
	free(out2);
	/* An empty file. */
	out = set_ok("", "model.provider", "custom");
	assert_string_equal(out, "model:\n  provider: custom\n");
	free(out);
}

static void
replace_block_scalar(void **state)
{
	char	*out;

	(void)state;
	out = set_ok(sample, "display.banner", "short");
	assert_null(strstr(out, "line one"));
	assert_non_null(strstr(out, "  banner: short\n  show_reasoning: false\n"));
	free(out);
}

static void
quoting(void **state)
{
	char	*out, *q;

	(void)state;
	out = set_ok(sample, "display.personality", "a: b # c");
	assert_non_null(strstr(out, "personality: \"a: b # c\""));
	free(out);
	out = set_ok(sample, "x.y", "-leading dash");
	free(out);
	out = set_ok(sample, "x.y", "quote \" and \\ back");
	free(out);
	q = cli_yaml_scalar("plain text");
	assert_string_equal(q, "plain text");
	free(q);
	q = cli_yaml_scalar("");
	assert_string_equal(q, "\"\"");
	free(q);
}

static void
model_string_becomes_section(void **state)
{
	char		*out, *v;
	const char	*err;

	(void)state;
	out = set_ok("model: gpt-4o  # old style\nother: 1\n", "model.provider",
	    "openrouter");
	v = cli_yaml_get(out, "model.default", &err);
	assert_string_equal(v, "gpt-4o");
	free(v);
	assert_non_null(strstr(out, "other: 1\n"));
	free(out);
}

static void
refusals(void **state)
{
	const char	*err;

	(void)state;
	/* Setting a section to a scalar would drop the unknown keys. */
	assert_null(cli_yaml_set(sample, "model", "x", &err));
	assert_non_null(err);
	assert_null(cli_yaml_set("a: {b: 1}\n", "a.c", "x", &err));
	assert_non_null(err);
	assert_null(cli_yaml_set("a: 1\n", "a.c", "x", &err));
	assert_null(cli_yaml_set(sample, "a..b", "x", &err));
}

static void
top_scalar(void **state)
{
	char	*v;

	(void)state;
	v = cli_yaml_top_scalar("name: x\ndescription: \"a: b\n  c\"\n", "description");
	assert_string_equal(v, "a: b c");
	free(v);
	v = cli_yaml_top_scalar("meta:\n  description: inner\ndescription: >\n  folded\n  text\n",
	    "description");
	assert_string_equal(v, "folded text\n");
	free(v);
	assert_null(cli_yaml_top_scalar("a: 1\n", "description"));
	assert_null(cli_yaml_top_scalar("a: [1\n", "description"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(get_values),
		cmocka_unit_test(replace_keeps_rest),
		cmocka_unit_test(insert_new_keys),
		cmocka_unit_test(replace_block_scalar),
		cmocka_unit_test(quoting),
		cmocka_unit_test(model_string_becomes_section),
		cmocka_unit_test(refusals),
		cmocka_unit_test(top_scalar),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
