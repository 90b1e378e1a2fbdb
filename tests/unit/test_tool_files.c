/*
 * The file tools on a temporary workspace: Hermes's output formats,
 * atomic writes, patch all-or-nothing, search, and every path escape
 * refused by openat2(RESOLVE_BENEATH).
 */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <sys/stat.h>

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
#include <jansson.h>

#include "ipc/util.h"
#include "workers/tool/tool.h"

static char		 top[PATH_MAX], ws[PATH_MAX], outside[PATH_MAX];
static struct tool_fs	 fs;

static void
put(const char *rel, const char *data, size_t n)
{
	char	 p[PATH_MAX];
	int	 fd;

	snprintf(p, sizeof(p), "%s/%s", ws, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static char *
slurp(const char *path)
{
	char	 buf[65536];
	int	 fd = open(path, O_RDONLY);
	ssize_t	 n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return xstrdup(buf);
}

static json_t *
J(char *s)
{
	json_t	*j = json_loads(s, 0, NULL);

	if (j == NULL)
		fail_msg("not JSON: %s", s);
	free(s);
	return j;
}

static const char *
S(json_t *j, const char *k)
{
	return json_string_value(json_object_get(j, k));
}

static int
setup(void **state)
{
	strlcpy(top, "/tmp/hermes-toolfiles-XXXXXX", sizeof(top));
	if (mkdtemp(top) == NULL)
		return -1;
	snprintf(ws, sizeof(ws), "%s/ws", top);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	if (mkdir(ws, 0755) == -1 || mkdir(outside, 0755) == -1)
		return -1;
	return tool_fs_open(&fs, ws);
}

static int
teardown(void **state)
{
	char	*cmd;

	tool_fs_close(&fs);
	xasprintf(&cmd, "rm -rf '%s'", top);
	if (system(cmd) == -1)
		return -1;
	free(cmd);
	return 0;
}

static void
test_read(void **state)
{
	json_t	*j;
	char	*longl, *many;
	size_t	 i;

	put("r.txt", "\xef\xbb\xbfone\r\ntwo\nthree", 17);
	j = J(tool_read_file(&fs, NULL, "{\"path\": \"r.txt\"}"));
	assert_string_equal(S(j, "content"), "1|one\n2|two\n3|three");
	assert_int_equal(json_integer_value(json_object_get(j, "total_lines")), 3);
	assert_int_equal(json_integer_value(json_object_get(j, "file_size")), 17);
	assert_true(json_is_false(json_object_get(j, "truncated")));
	json_decref(j);
	/* pagination hint */
	j = J(tool_read_file(&fs, NULL, "{\"path\": \"r.txt\", \"offset\": 1, "
	    "\"limit\": 2}"));
	assert_string_equal(S(j, "hint"), "Use offset=3 to continue reading "
	    "(showing 1-2 of 3 lines)");
	json_decref(j);
	/* relative to cwd, absolute inside */
	{
		char args[PATH_MAX + 64];
		snprintf(args, sizeof(args), "{\"path\": \"%s/r.txt\"}", ws);
		j = J(tool_read_file(&fs, "/elsewhere", args));
		assert_non_null(S(j, "content"));
		json_decref(j);
	}
	/* binary, image */
	put("b.dat", "\x7f" "ELF\0\0\0\1\2\3", 10);
	j = J(tool_read_file(&fs, NULL, "{\"path\": \"b.dat\"}"));
	assert_true(json_is_true(json_object_get(j, "is_binary")));
	assert_non_null(strstr(S(j, "error"), "Binary file"));
	json_decref(j);
	put("p.png", "x", 1);
	j = J(tool_read_file(&fs, NULL, "{\"path\": \"p.png\"}"));
	assert_true(json_is_true(json_object_get(j, "is_image")));
	json_decref(j);
	/* a very long line is cut at 2000 chars */
	longl = xmalloc(5002);
	memset(longl, 'x', 5000);
	longl[5000] = '\n';
	put("long.txt", longl, 5001);
	j = J(tool_read_file(&fs, NULL, "{\"path\": \"long.txt\"}"));
	assert_int_equal(strlen(S(j, "content")), 2 + 2000 + 15);
	assert_non_null(strstr(S(j, "content"), "... [truncated]"));
	json_decref(j);
	free(longl);
	/* the 100,000-char budget: whole lines, next_offset */
	many = xmalloc(2000 * 101 + 1);
	for (i = 0; i < 2000; i++) {
		memset(many + i * 101, 'y', 100);
		many[i * 101 + 100] = '\n';
	}
	put("many.txt", many, 2000 * 101);
	free(many);
	j = J(tool_read_file(&fs, NULL, "{\"path\": \"many.txt\", \"limit\": 2000}"));
	assert_string_equal(S(j, "truncated_by"), "bytes");
	assert_true(strlen(S(j, "content")) <= 100000);
	assert_true(json_integer_value(json_object_get(j, "next_offset")) > 900);
	json_decref(j);
	/* not found, with suggestions */
	j = J(tool_read_file(&fs, NULL, "{\"path\": \"r.tx\"}"));
	assert_string_equal(S(j, "error"), "File not found: r.tx");
	assert_true(json_array_size(json_object_get(j, "similar_files")) >= 1);
	json_decref(j);
	/* secrets in files are redacted */
	put("env.txt", "token ghp_abcdefghijklmnopqrstuvwxyz0123\n", 40);
	j = J(tool_read_file(&fs, NULL, "{\"path\": \"env.txt\"}"));
	assert_null(strstr(S(j, "content"), "klmnop"));
	json_decref(j);
}

static void
test_write(void **state)
{
	json_t		*j;
	struct stat	 st;
	char		 p[PATH_MAX], *s;

	j = J(tool_write_file(&fs, NULL, "{\"path\": \"d1/d2/w.txt\", \"content\": "
	    "\"caf\\u00e9\\n\"}"));
	assert_int_equal(json_integer_value(json_object_get(j, "bytes_written")), 6);
	assert_true(json_is_true(json_object_get(j, "dirs_created")));
	json_decref(j);
	snprintf(p, sizeof(p), "%s/d1/d2/w.txt", ws);
	s = slurp(p);
	assert_string_equal(s, "caf\xc3\xa9\n");
	free(s);
	/* mode kept across the atomic replace, no temp file left */
	assert_int_equal(chmod(p, 0751), 0);
	j = J(tool_write_file(&fs, NULL, "{\"path\": \"d1/d2/w.txt\", \"content\": "
	    "\"v2\"}"));
	json_decref(j);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0751);
	{
		char cmd[PATH_MAX + 64];
		snprintf(cmd, sizeof(cmd), "test $(ls -A '%s/d1/d2' | wc -l) -eq 1",
		    ws);
		assert_int_equal(system(cmd), 0);
	}
}

static void
test_escapes(void **state)
{
	char		 p[PATH_MAX], q[PATH_MAX], args[PATH_MAX + 64], *s;
	json_t		*j;
	size_t		 i;
	static const char *const bad[] = { "../outside/secret", "/etc/passwd",
	    "/proc/self/root/etc/passwd", "up/secret", "fin", "hard",
	    "~/.ssh/id_rsa", "x/../../outside/secret", "magic/etc/hostname",
	    "pfd/3", "" };

	snprintf(p, sizeof(p), "%s/secret", outside);
	assert_int_equal(system("true"), 0);
	{
		int fd = open(p, O_WRONLY | O_CREAT, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "TOPSECRET\n", 10), 10);
		close(fd);
	}
	snprintf(q, sizeof(q), "%s/up", ws);
	assert_int_equal(symlink(outside, q), 0);
	snprintf(q, sizeof(q), "%s/fin", ws);
	assert_int_equal(symlink(p, q), 0);
	snprintf(q, sizeof(q), "%s/hard", ws);
	assert_int_equal(link(p, q), 0);
	snprintf(q, sizeof(q), "%s/magic", ws);
	assert_int_equal(symlink("/proc/self/root", q), 0);
	snprintf(q, sizeof(q), "%s/pfd", ws);
	assert_int_equal(symlink("/proc/self/fd", q), 0);
	snprintf(q, sizeof(q), "%s/x", ws);
	assert_int_equal(mkdir(q, 0755), 0);
	for (i = 0; i < nitems(bad); i++) {
		snprintf(args, sizeof(args), "{\"path\": \"%s\"}", bad[i]);
		j = J(tool_read_file(&fs, NULL, args));
		if (S(j, "error") == NULL)
			fail_msg("read %s allowed", bad[i]);
		json_decref(j);
		snprintf(args, sizeof(args), "{\"path\": \"%s\", \"content\": \"X\"}",
		    bad[i]);
		j = J(tool_write_file(&fs, NULL, args));
		if (S(j, "error") == NULL)
			fail_msg("write %s allowed", bad[i]);
		json_decref(j);
		snprintf(args, sizeof(args), "{\"mode\": \"replace\", \"path\": \"%s\", "
		    "\"old_string\": \"TOP\", \"new_string\": \"X\"}", bad[i]);
		j = J(tool_patch(&fs, NULL, args));
		if (json_is_true(json_object_get(j, "success")))
			fail_msg("patch %s allowed", bad[i]);
		json_decref(j);
	}
	s = slurp(p);
	assert_string_equal(s, "TOPSECRET\n");
	free(s);
	/* search does not follow the symlinks out either */
	j = J(tool_search_files(&fs, NULL, "{\"pattern\": \"TOPSECRET\"}"));
	assert_int_equal(json_integer_value(json_object_get(j, "total_count")), 0);
	json_decref(j);
	j = J(tool_search_files(&fs, NULL, "{\"pattern\": \"x\", \"path\": \"up\"}"));
	assert_non_null(S(j, "error"));
	json_decref(j);
	/* a symlink inside the workspace that stays inside is fine to read */
	put("real.txt", "inside\n", 7);
	snprintf(q, sizeof(q), "%s/alias.txt", ws);
	assert_int_equal(symlink("real.txt", q), 0);
	j = J(tool_read_file(&fs, NULL, "{\"path\": \"alias.txt\"}"));
	assert_string_equal(S(j, "content"), "1|inside");
	json_decref(j);
}

static void
test_patch_tool(void **state)
{
	json_t	*j;
	char	 p[PATH_MAX], *s;

	put("pt.txt", "alpha\nbeta\ngamma\n", 17);
	put("pu.txt", "one\n", 4);
	snprintf(p, sizeof(p), "%s/pt.txt", ws);
	j = J(tool_patch(&fs, NULL, "{\"mode\": \"replace\", \"path\": \"pt.txt\", "
	    "\"old_string\": \"beta\", \"new_string\": \"BETA\"}"));
	assert_true(json_is_true(json_object_get(j, "success")));
	assert_non_null(strstr(S(j, "diff"), "-beta\n+BETA"));
	json_decref(j);
	/* all-or-nothing: the second file's hunk fails, the first file is
	 * not written either */
	j = J(tool_patch(&fs, NULL, "{\"mode\": \"patch\", \"patch\": "
	    "\"*** Begin Patch\\n*** Update File: pt.txt\\n-alpha\\n+ALPHA\\n"
	    "*** Update File: pu.txt\\n-nope\\n+x\\n*** End Patch\"}"));
	assert_true(json_is_false(json_object_get(j, "success")));
	assert_non_null(strstr(S(j, "error"), "does not apply"));
	json_decref(j);
	s = slurp(p);
	assert_string_equal(s, "alpha\nBETA\ngamma\n");
	free(s);
	/* add + delete + update in one go */
	j = J(tool_patch(&fs, NULL, "{\"mode\": \"patch\", \"patch\": "
	    "\"*** Begin Patch\\n*** Add File: added.txt\\n+new\\n"
	    "*** Delete File: pu.txt\\n*** Update File: pt.txt\\n gamma\\n+delta\\n"
	    "*** End Patch\"}"));
	assert_true(json_is_true(json_object_get(j, "success")));
	json_decref(j);
	s = slurp(p);
	assert_string_equal(s, "alpha\nBETA\ngamma\ndelta\n");
	free(s);
	snprintf(p, sizeof(p), "%s/pu.txt", ws);
	assert_int_equal(access(p, F_OK), -1);
	/* a unified diff */
	j = J(tool_patch(&fs, NULL, "{\"mode\": \"patch\", \"patch\": "
	    "\"--- a/added.txt\\n+++ b/added.txt\\n@@ -1 +1 @@\\n-new\\n+newer\\n\"}"));
	assert_true(json_is_true(json_object_get(j, "success")));
	json_decref(j);
}

static void
test_search(void **state)
{
	json_t	*j;
	char	 p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/src", ws);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/.git", ws);
	assert_int_equal(mkdir(p, 0755), 0);
	put("src/a.c", "int main(void)\n{\n\treturn needle;\n}\n", 34);
	put("src/b.h", "\n\n#define needle 1\n", 19);
	put(".git/c", "needle\n", 7);
	j = J(tool_search_files(&fs, NULL, "{\"pattern\": \"needle\"}"));
	assert_int_equal(json_integer_value(json_object_get(j, "total_count")), 2);
	{
		json_t *m = json_object_get(j, "matches");
		size_t i;
		int saw_b = 0;
		for (i = 0; i < json_array_size(m); i++)
			if (strcmp(S(json_array_get(m, i), "path"), "src/b.h") == 0) {
				assert_int_equal(json_integer_value(json_object_get(
				    json_array_get(m, i), "line")), 3);
				saw_b = 1;
			}
		assert_true(saw_b);
	}
	json_decref(j);
	j = J(tool_search_files(&fs, NULL, "{\"pattern\": \"needle\", "
	    "\"file_glob\": \"*.c\", \"output_mode\": \"files_only\"}"));
	assert_int_equal(json_array_size(json_object_get(j, "files")), 1);
	json_decref(j);
	j = J(tool_search_files(&fs, NULL, "{\"pattern\": \"*.h\", \"target\": "
	    "\"files\"}"));
	assert_string_equal(json_string_value(json_array_get(json_object_get(j,
	    "files"), 0)), "src/b.h");
	json_decref(j);
	j = J(tool_search_files(&fs, NULL, "{\"pattern\": \"needle\", "
	    "\"output_mode\": \"count\"}"));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j,
	    "counts"), "src/a.c")), 1);
	json_decref(j);
	j = J(tool_search_files(&fs, NULL, "{\"pattern\": \"(unbalanced\"}"));
	assert_non_null(S(j, "error"));
	json_decref(j);
}

static void
test_context(void **state)
{
	json_t	*j;
	char	 p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/proj", ws);
	assert_int_equal(mkdir(p, 0755), 0);
	put(".hermes.md", "root rules\n", 11);
	put("proj/AGENTS.md", "agents\n", 7);
	j = J(tool_context_files(&fs, p));
	assert_int_equal(json_array_size(j), 2);
	assert_string_equal(S(json_array_get(j, 0), "name"), ".hermes.md");
	assert_string_equal(S(json_array_get(j, 1), "content"), "agents\n");
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_patch_tool),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_context),
	};

	log_init("test_tool_files", 0);
	return cmocka_run_group_tests(tests, setup, teardown);
}
