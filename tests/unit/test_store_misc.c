/*
 * cron/jobs.json, trajectories, and the op table itself (every op is
 * reachable, unknown ops and bad arguments are refused, a store without
 * state.db still serves files).
 */
#include "tests/unit/test_store_common.h"

static void
test_cron(void **state)
{
	char *home = t_home(), *p, *text;
	struct store *s = t_open(home);
	struct store_res res;
	json_t *r;

	r = t_ok(s, "cron.list", "{}");
	assert_int_equal(json_array_size(json_object_get(r, "jobs")), 0);
	json_decref(r);
	r = t_ok(s, "cron.save", "{\"jobs\": [{\"id\": \"a1b2c3d4e5f6\", "
	    "\"name\": \"daily\", \"prompt\": \"summarise\", \"schedule\": "
	    "{\"kind\": \"cron\", \"expr\": \"0 9 * * *\"}, \"enabled\": "
	    "true}]}");
	assert_int_equal(json_integer_value(json_object_get(r, "count")), 1);
	json_decref(r);
	r = t_ok(s, "cron.list", "{}");
	assert_string_equal(t_str(json_array_get(json_object_get(r, "jobs"),
	    0), "name"), "daily");
	assert_true(json_is_string(json_object_get(r, "updated_at")));
	json_decref(r);
	r = t_call(s, "cron.save", &res, "{\"jobs\": [{\"name\": \"no id\"}]}");
	assert_false(res.ok);
	r = t_call(s, "cron.save", &res, "{\"jobs\": 5}");
	assert_false(res.ok);
	/* A broken file is reported, not overwritten by a list. */
	xasprintf(&p, "%s/cron/jobs.json", home);
	assert_int_equal(store_write_atomic(p, "{\"jobs\": [", 10, 0600), 0);
	r = t_call(s, "cron.list", &res, "{}");
	assert_false(res.ok);
	assert_string_equal(res.code, "corrupt");
	text = store_read_file(p, 100, NULL);
	assert_string_equal(text, "{\"jobs\": [");
	free(text);
	free(p);
	store_close(s);
	t_rmhome(home);
}

static void
test_traj(void **state)
{
	char *home = t_home(), *p, *text, *nl;
	struct store *s = t_open(home);
	json_t *r;
	int lines = 0;

	r = t_ok(s, "trajectory.append", "{\"record\": {\"conversations\": "
	    "[{\"from\": \"human\", \"value\": \"hi\"}, {\"from\": \"gpt\", "
	    "\"value\": \"<think>\\n</think>\\nhello\"}], \"model\": \"m\", "
	    "\"completed\": true}, \"completed\": true}");
	assert_string_equal(t_str(r, "file"), "trajectory_samples.jsonl");
	json_decref(r);
	r = t_ok(s, "trajectory.append", "{\"record\": {\"conversations\": []},"
	    " \"completed\": true}");
	json_decref(r);
	r = t_ok(s, "trajectory.append", "{\"record\": {\"x\": 1}, "
	    "\"completed\": false}");
	assert_string_equal(t_str(r, "file"), "failed_trajectories.jsonl");
	json_decref(r);
	xasprintf(&p, "%s/trajectories/trajectory_samples.jsonl", home);
	text = store_read_file(p, 1 << 20, NULL);
	for (nl = text; (nl = strchr(nl, '\n')) != NULL; nl++)
		lines++;
	assert_int_equal(lines, 2);
	r = json_loadb(text, strchr(text, '\n') - text, 0, NULL);
	assert_string_equal(t_str(json_array_get(json_object_get(r,
	    "conversations"), 0), "from"), "human");
	json_decref(r);
	free(text);
	free(p);
	store_close(s);
	t_rmhome(home);
}

static void
test_op_table(void **state)
{
	const char *const *names = store_op_names();
	char *home = t_home();
	struct store *s = t_open(home);
	struct store_res res;
	json_t *r;
	size_t i;

	/* Every op answers an empty object: a result or a clear error. */
	for (i = 0; names[i] != NULL; i++) {
		r = t_call(s, names[i], &res, "{}");
		if (!res.ok && (res.code == NULL || res.error[0] == '\0'))
			fail_msg("%s: error without code or text", names[i]);
		json_decref(r);
	}
	assert_true(i >= 22);
	r = t_call(s, "session.list", &res, "{\"limit\": \"x\"}");
	assert_false(res.ok);
	assert_string_equal(res.code, "invalid");
	r = t_call(s, "session.list", &res, "not json");
	assert_false(res.ok);
	r = t_call(s, "session.list", &res, "{\"a\": 1, \"a\": 2}");
	assert_false(res.ok);
	store_close(s);

	/* Degraded: no state.db, files still served. */
	s = store_open_degraded(home, "schema", "state.db is too new");
	r = t_call(s, "session.append", &res, "{}");
	assert_false(res.ok);
	assert_string_equal(res.code, "schema");
	assert_string_equal(res.error, "state.db is too new");
	r = t_ok(s, "skills.index", "{}");
	json_decref(r);
	store_close(s);
	t_rmhome(home);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cron),
		cmocka_unit_test(test_traj),
		cmocka_unit_test(test_op_table),
	};

	log_init("test_store_misc", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
