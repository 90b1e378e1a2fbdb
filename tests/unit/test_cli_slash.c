/*
 * cli/slash.c: one table of slash commands with Hermes's names; parsing,
 * aliases, completion of commands and skill names.
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
hermes_names_present(void **state)
{
	static const char *const want[] = { "new", "reset", "model", "retry",
	    "undo", "compress", "usage", "skills", "personality", "stop",
	    "resume", "sessions", "title", "help", "exit" };
	const struct cli_slash	*s;
	const char		*args;
	char			 name[64], line[80];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(line, sizeof(line), "/%s", want[i]);
		assert_int_equal(cli_slash_parse(line, &s, name, sizeof(name),
		    &args), 0);
		assert_non_null(s);
		if (s->where == SLASH_AGENT)
			assert_non_null(s->agent_cmd);
		else
			assert_int_not_equal(s->local, SL_NONE);
	}
	/* Names and aliases are unique across the table. */
	for (i = 0; i < cli_slash_count; i++) {
		size_t j;

		for (j = i + 1; j < cli_slash_count; j++) {
			assert_string_not_equal(cli_slash_table[i].name,
			    cli_slash_table[j].name);
			if (cli_slash_table[i].alias && cli_slash_table[j].alias)
				assert_string_not_equal(cli_slash_table[i].alias,
				    cli_slash_table[j].alias);
		}
	}
}

static void
parse_args_and_aliases(void **state)
{
	const struct cli_slash	*s;
	const char		*args;
	char			 name[64];

	(void)state;
	assert_int_equal(cli_slash_parse("/reset", &s, name, sizeof(name),
	    &args), 0);
	assert_string_equal(s->agent_cmd, "new");
	assert_int_equal(cli_slash_parse("  /title  My big  day", &s, name,
	    sizeof(name), &args), 0);
	assert_string_equal(s->name, "title");
	assert_string_equal(args, "My big  day");
	assert_int_equal(cli_slash_parse("/quit", &s, name, sizeof(name),
	    &args), 0);
	assert_int_equal(s->local, SL_EXIT);
	/* Unknown: NULL entry, name kept (a skill perhaps). */
	assert_int_equal(cli_slash_parse("/arxiv find papers", &s, name,
	    sizeof(name), &args), 0);
	assert_null(s);
	assert_string_equal(name, "arxiv");
	assert_string_equal(args, "find papers");
	/* Not commands: plain text, paths, "/ x". */
	assert_int_equal(cli_slash_parse("hello /help", &s, name, sizeof(name),
	    &args), -1);
	assert_int_equal(cli_slash_parse("//etc/passwd", &s, name,
	    sizeof(name), &args), -1);
	assert_int_equal(cli_slash_parse("/ x", &s, name, sizeof(name), &args),
	    -1);
	assert_int_equal(cli_slash_parse("/", &s, name, sizeof(name), &args),
	    -1);
}

struct got {
	char	 buf[1024];
};

static void
collect(const char *s, void *arg)
{
	struct got *g = arg;

	strcat(g->buf, s);
	strcat(g->buf, " ");
}

static void
completion(void **state)
{
	const char *const	 skills[] = { "arxiv", "research-notes",
	    "resumable" };
	struct got		 g;

	(void)state;
	memset(&g, 0, sizeof(g));
	cli_slash_complete("/he", skills, 3, collect, &g);
	assert_string_equal(g.buf, "/help ");
	memset(&g, 0, sizeof(g));
	cli_slash_complete("/res", skills, 3, collect, &g);
	assert_string_equal(g.buf, "/reset /resume /research-notes /resumable ");
	memset(&g, 0, sizeof(g));
	cli_slash_complete("/arx", skills, 3, collect, &g);
	assert_string_equal(g.buf, "/arxiv ");
	memset(&g, 0, sizeof(g));
	cli_slash_complete("he", skills, 3, collect, &g);
	assert_string_equal(g.buf, "");
	memset(&g, 0, sizeof(g));
	cli_slash_complete("/", skills, 0, collect, &g);
	assert_non_null(strstr(g.buf, "/new /reset /model "));
}

static void
help_lists_every_entry(void **state)
{
	struct cli_out	 o;
	char		*buf = NULL;
	size_t		 len = 0, i;
	FILE		*fp;

	(void)state;
	fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	cli_out_init(&o, fp, 1);
	cli_slash_help(&o);
	fclose(fp);
	for (i = 0; i < cli_slash_count; i++) {
		char n[64];

		snprintf(n, sizeof(n), "/%s", cli_slash_table[i].name);
		assert_non_null(strstr(buf, n));
	}
	assert_null(strchr(buf, '\033'));
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hermes_names_present),
		cmocka_unit_test(parse_args_and_aliases),
		cmocka_unit_test(completion),
		cmocka_unit_test(help_lists_every_entry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
