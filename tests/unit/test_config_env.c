/*
 * HERMES_HOME/.env: python-dotenv syntax, errors with FILE:LINE:COL, the
 * secrecy checks (mode, owner, symlink) and the locked value memory.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ipc/util.h"
#include "supervisor/config.h"

static char tmpdir[64];

static const char *
fixture(const char *name)
{
	static char path[PATH_MAX];
	const char *dir = getenv("HERMES_CONFIG_FIXTURES");

	(void)snprintf(path, sizeof(path), "%s/%s",
	    dir ? dir : "tests/fixtures/config", name);
	return path;
}

static void
write_file(const char *path, const char *text, size_t len, mode_t mode)
{
	int fd;

	(void)unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static int
setup_dir(void **state)
{
	(void)state;
	(void)snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_config_env.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct env_list *
env_ok(const char *text)
{
	struct env_list *l = NULL;
	char err[CFG_MAX_ERR] = "";

	if (env_parse(".env", text, strlen(text), &l, err, sizeof(err)) != 0)
		fail_msg("unexpected error: %s\n--\n%s", err, text);
	assert_non_null(l);
	return l;
}

static void
env_fails(const char *text, size_t len, const char *want)
{
	struct env_list *l = (void *)1;
	char err[CFG_MAX_ERR] = "";

	if (env_parse(".env", text, len, &l, err, sizeof(err)) != -1)
		fail_msg("accepted, want \"%s\"\n--\n%s", want, text);
	assert_null(l);
	if (strcmp(err, want) != 0)
		fail_msg("want \"%s\"\n got \"%s\"", want, err);
}

static void
test_fixture(void **state)
{
	struct env_list *l = NULL;
	char err[CFG_MAX_ERR] = "", path[PATH_MAX], cmd[4 * PATH_MAX];

	(void)state;
	/* Copy it so the mode is ours to set (git does not keep 0600). */
	(void)snprintf(path, sizeof(path), "%s/.env", tmpdir);
	(void)snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 600 '%s'",
	    fixture("full.env"), path, path);
	assert_int_equal(system(cmd), 0);
	if (env_load(path, &l, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(l->nvars, 8);
	assert_string_equal(env_get(l, "OPENROUTER_API_KEY"),
	    "sk-or-v1-0123456789abcdef");
	assert_string_equal(env_get(l, "ANTHROPIC_API_KEY"),
	    "sk-ant-\"quoted\"");
	assert_string_equal(env_get(l, "OPENAI_API_KEY"),
	    "sk-literal\\n${NOT_EXPANDED}");
	assert_string_equal(env_get(l, "OPENAI_BASE_URL"),
	    "http://127.0.0.1:8080/v1");
	assert_string_equal(env_get(l, "PROXY_KEY"),
	    "sk-or-v1-0123456789abcdef");
	assert_string_equal(env_get(l, "MULTI"), "line one\nline two");
	assert_string_equal(env_get(l, "TELEGRAM_BOT_TOKEN"),
	    "123:abc#not-a-comment");
	assert_string_equal(env_get(l, "EMPTY"), "");
	assert_null(env_get(l, "NOPE"));
	assert_int_equal(l->vars[0].line, 2);
	assert_int_equal(l->vars[5].line, 7);	/* MULTI spans 7-8 */
	assert_int_equal(l->vars[6].line, 9);
	assert_int_equal(l->vars[7].line, 10);
	/* Every value lives in the locked arena; the raw text is gone. */
	{
		size_t i;

		for (i = 0; i < l->nvars; i++) {
			const unsigned char *v =
			    (const unsigned char *)l->vars[i].value;

			assert_true(v >= l->arena && v < l->arena + l->arenasz);
		}
		assert_null(memmem(l->arena, l->arenasz, "# the Anthropic",
		    15));
	}
	env_list_free(l);
	env_list_free(NULL);
}

static void
test_syntax(void **state)
{
	struct env_list *l;

	(void)state;
	l = env_ok("A=1\nB = two words  \nexport\tC=3\n  D=4\n"
	    "E=x # comment\nF=\"q # not comment\" # comment\n"
	    "G='single \\' \\\\ \\n'\nH=\"\\t\\a\\\\\\\"\\q\"\n"
	    "I=${A}${B}\nJ=\"${NOPE:-fallback}\"\nK=${NOPE}\n"
	    "L=${A:-unused}\nM=$A ${ not}\nexport=5\n"
	    "N=crlf\r\nO=\"crlf\"\r\n\n# end\n"
	    "BARE\nA=again\nP.Q-R=dots\n");
	assert_string_equal(env_get(l, "A"), "again");
	assert_string_equal(env_get(l, "B"), "two words");
	assert_string_equal(env_get(l, "C"), "3");
	assert_string_equal(env_get(l, "D"), "4");
	assert_string_equal(env_get(l, "E"), "x");
	assert_string_equal(env_get(l, "F"), "q # not comment");
	assert_string_equal(env_get(l, "G"), "single ' \\ \\n");
	assert_string_equal(env_get(l, "H"), "\t\a\\\"\\q");
	assert_string_equal(env_get(l, "I"), "1two words");
	assert_string_equal(env_get(l, "J"), "fallback");
	assert_string_equal(env_get(l, "K"), "");
	assert_string_equal(env_get(l, "L"), "1");
	assert_string_equal(env_get(l, "M"), "$A ${ not}");
	assert_string_equal(env_get(l, "export"), "5");
	assert_string_equal(env_get(l, "N"), "crlf");
	assert_string_equal(env_get(l, "O"), "crlf");
	assert_string_equal(env_get(l, "P.Q-R"), "dots");
	assert_null(env_get(l, "BARE"));
	env_list_free(l);

	l = env_ok("");
	assert_int_equal(l->nvars, 0);
	env_list_free(l);
	l = env_ok("\n\n   \n# only comments\n");
	assert_int_equal(l->nvars, 0);
	env_list_free(l);
	l = env_ok("NOEOL=last");
	assert_string_equal(env_get(l, "NOEOL"), "last");
	env_list_free(l);
	/* Expansion can grow a value, within bounds. */
	l = env_ok("A=0123456789\nB=${A}${A}${A}${A}${A}${A}${A}${A}\n");
	assert_int_equal(strlen(env_get(l, "B")), 80);
	env_list_free(l);
}

static void
test_errors(void **state)
{
	char big[64];

	(void)state;
	env_fails("A=\"open\n\nB=2\n", 13, ".env:1:3: unterminated "
	    "double-quoted value");
	env_fails("OK=1\nA='open", 12, ".env:2:3: unterminated "
	    "single-quoted value");
	env_fails("A=1\n9B=2\n", 8, ".env:2:1: expected a variable name");
	env_fails("A=1\n  =2\n", 8, ".env:2:3: expected a variable name");
	env_fails("A 1\n", 4, ".env:1:3: expected '=' after A");
	env_fails("A=\"x\" junk\n", 11, ".env:1:7: unexpected text after "
	    "the value");
	env_fails("M=\"a\nb\" c\n", 10, ".env:2:4: unexpected text after "
	    "the value");
	env_fails("A=x\0y\n", 6, ".env:1:4: NUL byte");
	env_fails("A=${}\n", 6, ".env:1:3: bad ${} name");
	{
		char *s = xmalloc(8 * 5000 + 16);
		size_t o = 0, i;

		o += (size_t)snprintf(s, 16, "A=1\nB=");
		for (i = 0; i < 5000; i++)
			o += (size_t)snprintf(s + o, 9, "${A}${A}");
		env_fails(s, o, ".env:2:16387: more than 4096 ${} expansions");
		free(s);
	}
	{
		char *s = xmalloc(CFG_MAX_FILE + 2);
		struct env_list *l = (void *)1;
		char err[CFG_MAX_ERR];

		memset(s, '#', CFG_MAX_FILE + 1);
		assert_int_equal(env_parse(".env", s, CFG_MAX_FILE + 1, &l, err,
		    sizeof(err)), -1);
		assert_string_equal(err, ".env: larger than 1048576 bytes");
		free(s);
	}
	/* Expansion bomb: doubling 40 times is refused, not allocated. */
	{
		char *s = xmalloc(4096);
		size_t o = 0, i;

		o += (size_t)snprintf(s, 4096, "V0=xxxxxxxxxxxxxxxxxxxxxxxx\n");
		for (i = 1; i < 40; i++)
			o += (size_t)snprintf(s + o, 4096 - o,
			    "V%zu=${V%zu}${V%zu}\n", i, i - 1, i - 1);
		(void)snprintf(big, sizeof(big), ".env:");
		{
			struct env_list *l = (void *)1;
			char err[CFG_MAX_ERR];

			assert_int_equal(env_parse(".env", s, o, &l, err,
			    sizeof(err)), -1);
			assert_null(l);
			assert_non_null(strstr(err, "value too long after ${} "
			    "expansion"));
			assert_non_null(strstr(err, big));
		}
		free(s);
	}
}

static long
vmlck_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	(void)fclose(f);
	return kb;
}

static void
test_locked(void **state)
{
	struct env_list *l;
	long before, during;

	(void)state;
	before = vmlck_kb();
	l = env_ok("KEY=secret\n");
	during = vmlck_kb();
#if defined(__SANITIZE_ADDRESS__) || defined(HERMES_SANITIZE)
	/* ASan's mlock() interceptor does nothing. */
	(void)during;
	print_message("sanitizer build: VmLck not checked\n");
	env_list_free(l);
	return;
#endif
	if (l->locked) {
		assert_true(during >= before + (long)(l->arenasz / 1024));
		env_list_free(l);
		assert_int_equal(vmlck_kb(), before);
	} else {
		/* RLIMIT_MEMLOCK too small here: still works, unlocked. */
		print_message("mlock refused (RLIMIT_MEMLOCK); values kept "
		    "unlocked\n");
		assert_string_equal(env_get(l, "KEY"), "secret");
		env_list_free(l);
	}
}

static void
test_secrecy(void **state)
{
	struct env_list *l = (void *)1;
	char path[PATH_MAX], link[PATH_MAX], err[CFG_MAX_ERR];
	char want[2 * PATH_MAX + 128];

	(void)state;
	(void)snprintf(path, sizeof(path), "%s/.env", tmpdir);
	/* Absent: no secrets, no error. */
	(void)unlink(path);
	assert_int_equal(env_load(path, &l, err, sizeof(err)), 0);
	assert_int_equal(l->nvars, 0);
	env_list_free(l);

	write_file(path, "OPENAI_API_KEY=sk-1\n", 20, 0644);
	assert_int_equal(env_load(path, &l, err, sizeof(err)), -1);
	assert_null(l);
	(void)snprintf(want, sizeof(want), "%s: holds secrets but is "
	    "accessible by group or others (mode 0644); fix: chmod 600 %s",
	    path, path);
	assert_string_equal(err, want);
	assert_int_equal(chmod(path, 0660), 0);
	assert_int_equal(env_load(path, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "(mode 0660); fix: chmod 600"));
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(env_load(path, &l, err, sizeof(err)), 0);
	assert_string_equal(env_get(l, "OPENAI_API_KEY"), "sk-1");
	env_list_free(l);

	/* A symlink is refused even when its target is fine. */
	(void)snprintf(link, sizeof(link), "%s/.env.link", tmpdir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(env_load(link, &l, err, sizeof(err)), -1);
	assert_null(l);
	assert_non_null(strstr(err, ".env.link: holds secrets and is a "
	    "symbolic link, which is refused"));
	/* A directory, a fifo. */
	assert_int_equal(env_load(tmpdir, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	(void)snprintf(link, sizeof(link), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(link, 0600), 0);
	assert_int_equal(env_load(link, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	/* A syntax error in the file names the file. */
	write_file(path, "GOOD=1\nBAD LINE\n", 16, 0600);
	assert_int_equal(env_load(path, &l, err, sizeof(err)), -1);
	(void)snprintf(want, sizeof(want), "%s:2:5: expected '=' after BAD",
	    path);
	assert_string_equal(err, want);
	/* Owner: a file of another uid is refused unless it is the owner
	 * given (system mode: the tenant). Needs root to set up. */
	if (geteuid() == 0) {
		write_file(path, "K=v\n", 4, 0600);
		assert_int_equal(chown(path, 4242, 4242), 0);
		assert_int_equal(env_load(path, &l, err, sizeof(err)), -1);
		(void)snprintf(want, sizeof(want), "%s: holds secrets but is "
		    "owned by uid 4242, not by uid 0 or root; fix: chown 0 %s",
		    path, path);
		assert_string_equal(err, want);
		assert_int_equal(env_load_owner(path, 4242, &l, err,
		    sizeof(err)), 0);
		assert_string_equal(env_get(l, "K"), "v");
		env_list_free(l);
	} else
		print_message("not root: owner check not exercised\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixture),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_locked),
		cmocka_unit_test(test_secrecy),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
