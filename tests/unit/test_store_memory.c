/*
 * The memory tool: § delimited files, 2,200 / 1,375 character limits
 * (characters, not bytes), add / replace / remove by unique substring,
 * atomic batches, a refusal that says how much room is left, the drift
 * guard, and the system-prompt snapshot.
 */
#include <dirent.h>

#include "tests/unit/test_store_common.h"

struct fx {
	char		*home;
	struct store	*s;
};

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));

	f->home = t_home();
	f->s = t_open(f->home);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	t_rmhome(f->home);
	free(f);
	return 0;
}

static json_t *
mem(struct fx *f, const char *args)
{
	return t_tool(f->s, "memory", args);
}

static char *
file_of(struct fx *f, const char *name)
{
	char *p, *t;

	xasprintf(&p, "%s/memories/%s", f->home, name);
	t = store_read_file(p, 1 << 20, NULL);
	free(p);
	return t;
}

static int
success(json_t *r)
{
	return json_is_true(json_object_get(r, "success"));
}

static void
test_add_replace_remove(void **state)
{
	struct fx *f = *state;
	json_t *r;
	char *t;

	r = mem(f, "{\"action\": \"add\", \"target\": \"memory\", \"content\": "
	    "\"User runs Debian 12\"}");
	assert_true(success(r));
	assert_true(json_is_true(json_object_get(r, "done")));
	assert_int_equal(json_integer_value(json_object_get(r, "entry_count")),
	    1);
	assert_string_equal(t_str(r, "usage"), "0% \xe2\x80\x94 19/2,200 chars");
	assert_null(json_object_get(r, "current_entries"));
	json_decref(r);
	r = mem(f, "{\"action\": \"add\", \"content\": \"Project uses "
	    "meson\\nand ninja\"}");
	assert_true(success(r));
	json_decref(r);
	/* Duplicates are not added twice. */
	r = mem(f, "{\"action\": \"add\", \"content\": \"User runs Debian 12\"}");
	assert_string_equal(t_str(r, "message"), "Entry already exists (no "
	    "duplicate added).");
	json_decref(r);
	t = file_of(f, "MEMORY.md");
	assert_string_equal(t, "User runs Debian 12\n\xc2\xa7\nProject uses "
	    "meson\nand ninja");
	free(t);

	r = mem(f, "{\"action\": \"replace\", \"old_text\": \"Debian\", "
	    "\"content\": \"User runs Debian 13\"}");
	assert_true(success(r));
	assert_string_equal(t_str(r, "message"), "Entry replaced.");
	json_decref(r);
	r = mem(f, "{\"action\": \"replace\", \"old_text\": \"u\", "
	    "\"content\": \"x\"}");
	assert_false(success(r));
	assert_non_null(strstr(t_str(r, "error"), "Multiple entries"));
	assert_int_equal(json_array_size(json_object_get(r, "matches")), 2);
	json_decref(r);
	r = mem(f, "{\"action\": \"remove\", \"old_text\": \"FreeBSD\"}");
	assert_false(success(r));
	assert_int_equal(json_array_size(json_object_get(r,
	    "current_entries")), 2);
	json_decref(r);
	r = mem(f, "{\"action\": \"remove\"}");
	assert_false(success(r));
	assert_non_null(strstr(t_str(r, "error"), "needs old_text"));
	json_decref(r);
	r = mem(f, "{\"action\": \"remove\", \"old_text\": \"meson\"}");
	assert_true(success(r));
	json_decref(r);
	t = file_of(f, "MEMORY.md");
	assert_string_equal(t, "User runs Debian 13");
	free(t);
	r = mem(f, "{\"action\": \"add\", \"target\": \"nobody\", "
	    "\"content\": \"x\"}");
	assert_non_null(strstr(t_str(r, "error"), "Invalid target"));
	json_decref(r);
	r = mem(f, "{\"action\": \"frobnicate\"}");
	assert_false(success(r));
	json_decref(r);
}

static void
test_limits(void **state)
{
	struct fx *f = *state;
	char *big, *args, *t;
	json_t *r;
	size_t i;

	/* USER.md: 1,375 characters; multibyte text counts characters. */
	big = xmalloc(1400 * 2 + 1);
	for (i = 0; i < 1370; i++)
		memcpy(big + i * 2, "\xc3\xa9", 2);	/* é */
	big[1370 * 2] = '\0';
	xasprintf(&args, "{\"action\": \"add\", \"target\": \"user\", "
	    "\"content\": \"%s\"}", big);
	r = mem(f, args);
	free(args);
	assert_true(success(r));	/* 2,740 bytes but 1,370 characters */
	json_decref(r);
	r = mem(f, "{\"action\": \"add\", \"target\": \"user\", \"content\": "
	    "\"likes green tea\"}");
	assert_false(success(r));
	assert_non_null(strstr(t_str(r, "error"), "1,370/1,375"));
	/* It says how much room is left: 1375 - 1370 - 3 = 2. */
	assert_non_null(strstr(t_str(r, "error"), "2 chars of room are left"));
	assert_string_equal(t_str(r, "usage"), "1,370/1,375");
	assert_int_equal(json_array_size(json_object_get(r,
	    "current_entries")), 1);
	json_decref(r);
	t = file_of(f, "USER.md");
	assert_int_equal(strlen(t), 2740);
	free(t);
	free(big);
}

static void
test_batch(void **state)
{
	struct fx *f = *state;
	json_t *r;
	char *t;

	r = mem(f, "{\"target\": \"memory\", \"operations\": ["
	    "{\"action\": \"add\", \"content\": \"one\"},"
	    "{\"action\": \"add\", \"content\": \"two\"},"
	    "{\"action\": \"add\", \"content\": \"three\"}]}");
	assert_true(success(r));
	assert_string_equal(t_str(r, "message"), "Applied 3 operation(s).");
	json_decref(r);
	/* All or nothing: the third op fails, nothing changes. */
	r = mem(f, "{\"operations\": ["
	    "{\"action\": \"remove\", \"old_text\": \"one\"},"
	    "{\"action\": \"add\", \"content\": \"four\"},"
	    "{\"action\": \"replace\", \"old_text\": \"missing\", "
	    "\"content\": \"x\"}]}");
	assert_false(success(r));
	assert_non_null(strstr(t_str(r, "error"), "Operation 3 (replace)"));
	assert_non_null(strstr(t_str(r, "error"), "No operations were applied"));
	json_decref(r);
	t = file_of(f, "MEMORY.md");
	assert_string_equal(t, "one\n\xc2\xa7\ntwo\n\xc2\xa7\nthree");
	free(t);
	/* Checked against the limit only at the end. */
	f->s->memory_limit = 25;	/* "two" + delimiter + 16 = 22 */
	r = mem(f, "{\"operations\": ["
	    "{\"action\": \"add\", \"content\": \"a long new entry\"},"
	    "{\"action\": \"remove\", \"old_text\": \"one\"},"
	    "{\"action\": \"remove\", \"old_text\": \"three\"}]}");
	assert_true(success(r));
	json_decref(r);
	r = mem(f, "{\"operations\": [{\"action\": \"add\", \"content\": "
	    "\"overflowing\"}]}");
	assert_false(success(r));
	assert_non_null(strstr(t_str(r, "error"), "over the limit"));
	json_decref(r);
}

static void
test_drift_and_snapshot(void **state)
{
	struct fx *f = *state;
	struct dirent *de;
	char *p;
	json_t *r;
	DIR *d;
	int baks = 0, tmps = 0;

	r = mem(f, "{\"action\": \"add\", \"content\": \"alpha\"}");
	json_decref(r);
	r = mem(f, "{\"action\": \"add\", \"target\": \"user\", \"content\": "
	    "\"Name: Ada\"}");
	json_decref(r);
	r = t_ok(f->s, "memory.snapshot", "{}");
	assert_string_equal(json_string_value(json_array_get(json_object_get(r,
	    "user"), 0)), "Name: Ada");
	assert_non_null(strstr(t_str(r, "memory_block"), "MEMORY (your personal "
	    "notes) [0% \xe2\x80\x94 5/2,200 chars]"));
	assert_non_null(strstr(t_str(r, "user_block"), "USER PROFILE (who the "
	    "user is)"));
	assert_int_equal(strncmp(t_str(r, "user_block"), "\xe2\x95\x90", 3), 0);
	json_decref(r);

	/* Something else edited the file in a way that does not round-trip:
	 * a rewrite is refused and a backup kept. Appending still works. */
	xasprintf(&p, "%s/memories/MEMORY.md", f->home);
	assert_int_equal(store_write_atomic(p, "alpha\n\xc2\xa7\n\n\xc2\xa7\n"
	    "beta  \n\n\xc2\xa7\n", 17, 0600), 0);
	free(p);
	r = mem(f, "{\"action\": \"remove\", \"old_text\": \"alpha\"}");
	assert_false(success(r));
	assert_non_null(strstr(t_str(r, "error"), "round-trip"));
	json_decref(r);
	xasprintf(&p, "%s/memories", f->home);
	d = opendir(p);
	while ((de = readdir(d)) != NULL) {
		baks += strstr(de->d_name, ".bak.") != NULL;
		tmps += strstr(de->d_name, ".tmp") != NULL;
	}
	closedir(d);
	free(p);
	assert_int_equal(baks, 1);
	assert_int_equal(tmps, 0);	/* atomic writes leave no temp files */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_replace_remove, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drift_and_snapshot, setup,
		    teardown),
	};

	log_init("test_store_memory", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
