/*
 * patch: the fuzzy replace chain, V4A and unified-diff parsing and
 * application, and the diff we report.
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

static char *
replace(const char *content, const char *old, const char *new, int all,
    const char **strategy, int *count)
{
	char	*err = NULL, *r;

	r = tool_fuzzy_replace(content, old, new, all, count, strategy, &err);
	if (r == NULL) {
		free(err);
		return NULL;
	}
	return r;
}

static void
test_fuzzy(void **state)
{
	const char	*st;
	char		*r, *err;
	int		 n;

	r = replace("a = 1\nb = 2\n", "b = 2", "b = 3", 0, &st, &n);
	assert_string_equal(r, "a = 1\nb = 3\n");
	assert_string_equal(st, "exact");
	free(r);
	/* trailing spaces differ: line_trimmed */
	r = replace("def f():\n    x = 1   \n    return x\n",
	    "    x = 1\n    return x", "    return 1", 0, &st, &n);
	assert_string_equal(r, "def f():\n    return 1\n");
	assert_string_equal(st, "line_trimmed");
	free(r);
	/* inner whitespace differs */
	r = replace("if (a  &&   b) {\n", "if (a && b) {", "if (a) {", 0, &st, &n);
	assert_string_equal(r, "if (a) {\n");
	free(r);
	/* indentation differs */
	r = replace("\t\tfoo();\n\t\tbar();\n", "  foo();\n  bar();", "\t\tbaz();",
	    0, &st, &n);
	assert_string_equal(r, "\t\tbaz();\n");
	free(r);
	/* literal \n in old_string */
	r = replace("one\ntwo\n", "one\\ntwo", "1\n2", 0, &st, &n);
	assert_string_equal(r, "1\n2\n");
	assert_string_equal(st, "escape_normalized");
	free(r);
	/* smart quotes in the file */
	r = replace("say \xe2\x80\x9chi\xe2\x80\x9d\n", "say \"hi\"", "say \"bye\"",
	    0, &st, &n);
	assert_non_null(r);
	assert_string_equal(st, "unicode_normalized");
	free(r);
	/* several matches need replace_all */
	assert_null(tool_fuzzy_replace("x\nx\n", "x", "y", 0, &n, &st, &err));
	assert_non_null(strstr(err, "Found 2 matches"));
	free(err);
	r = replace("x\nx\n", "x", "y", 1, &st, &n);
	assert_string_equal(r, "y\ny\n");
	assert_int_equal(n, 2);
	free(r);
	/* no match, empty old, identical */
	assert_null(tool_fuzzy_replace("abc", "zzz", "y", 0, &n, &st, &err));
	free(err);
	assert_null(tool_fuzzy_replace("abc", "", "y", 0, &n, &st, &err));
	assert_string_equal(err, "old_string cannot be empty");
	free(err);
	assert_null(tool_fuzzy_replace("abc", "a", "a", 0, &n, &st, &err));
	free(err);
}

static void
test_v4a(void **state)
{
	struct tool_patchset	 ps;
	char			 err[256], *r;
	const char		*p =
	    "*** Begin Patch\n"
	    "*** Update File: src/a.py\n"
	    "@@ def two @@\n"
	    " def two():\n"
	    "-    return 2\n"
	    "+    return 22\n"
	    "*** Add File: new.txt\n"
	    "+hello\n"
	    "+world\n"
	    "*** Delete File: old.txt\n"
	    "*** Move File: x.c -> y.c\n"
	    "*** End Patch\n";

	assert_int_equal(tool_patch_parse(p, &ps, err, sizeof(err)), 0);
	assert_int_equal(ps.nfiles, 4);
	assert_int_equal(ps.files[0].op, TOOL_P_UPDATE);
	assert_string_equal(ps.files[0].path, "src/a.py");
	assert_string_equal(ps.files[0].hunks[0].hint, "def two");
	assert_int_equal(ps.files[1].op, TOOL_P_ADD);
	assert_int_equal(ps.files[2].op, TOOL_P_DELETE);
	assert_int_equal(ps.files[3].op, TOOL_P_MOVE);
	assert_string_equal(ps.files[3].new_path, "y.c");
	r = tool_patch_apply_hunks("def one():\n    return 2\ndef two():\n"
	    "    return 2\n", &ps.files[0], err, sizeof(err));
	assert_non_null(r);
	/* the hint picks the second "return 2" */
	assert_string_equal(r, "def one():\n    return 2\ndef two():\n"
	    "    return 22\n");
	free(r);
	/* does not apply: NULL with a clear error */
	assert_null(tool_patch_apply_hunks("nothing here\n", &ps.files[0], err,
	    sizeof(err)));
	assert_non_null(strstr(err, "does not apply"));
	tool_patchset_free(&ps);

	assert_int_equal(tool_patch_parse("just text", &ps, err, sizeof(err)), -1);
	assert_int_equal(tool_patch_parse("*** Begin Patch\n*** Update File: a\n"
	    "garbage line\n*** End Patch", &ps, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 3"));
}

static void
test_unified(void **state)
{
	struct tool_patchset	 ps;
	char			 err[256], *r;
	const char		*d =
	    "diff --git a/f.txt b/f.txt\n"
	    "--- a/f.txt\n"
	    "+++ b/f.txt\n"
	    "@@ -2,3 +2,3 @@\n"
	    " b\n"
	    "-c\n"
	    "+C\n"
	    " d\n"
	    "--- /dev/null\n"
	    "+++ b/n.txt\n"
	    "@@ -0,0 +1 @@\n"
	    "+new\n";

	assert_int_equal(tool_patch_parse(d, &ps, err, sizeof(err)), 0);
	assert_int_equal(ps.nfiles, 2);
	assert_string_equal(ps.files[0].path, "f.txt");
	assert_int_equal(ps.files[1].op, TOOL_P_ADD);
	r = tool_patch_apply_hunks("a\nb\nc\nd\ne\n", &ps.files[0], err,
	    sizeof(err));
	assert_string_equal(r, "a\nb\nC\nd\ne\n");
	free(r);
	tool_patchset_free(&ps);
	/* a truncated hunk is refused */
	assert_int_equal(tool_patch_parse("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n",
	    &ps, err, sizeof(err)), -1);
}

static void
test_diff(void **state)
{
	char	*d;

	d = tool_unified_diff("a\nb\nc\n", "a\nB\nc\n", "f");
	assert_string_equal(d, "--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
	free(d);
	d = tool_unified_diff("same\n", "same\n", "f");
	assert_string_equal(d, "");
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fuzzy),
		cmocka_unit_test(test_v4a),
		cmocka_unit_test(test_unified),
		cmocka_unit_test(test_diff),
	};

	log_init("test_tool_patch", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
