/*
 * Cron jobs: cron/jobs.json holds {"jobs": [...], "updated_at": iso}, as
 * Hermes's cron/jobs.py writes it. The store only keeps the file; the
 * cron worker owns the schedule semantics.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipc/util.h"
#include "workers/store/store.h"

static char *
jobs_path(struct store *s)
{
	char *p;

	xasprintf(&p, "%s/cron/jobs.json", s->home);
	return p;
}

json_t *
store_cron_list(struct store *s)
{
	char *path = jobs_path(s), *text;
	json_error_t je;
	json_t *o;
	size_t len;

	text = store_read_file(path, STORE_CRON_MAX, &len);
	free(path);
	if (text == NULL) {
		if (errno != ENOENT) {
			store_fail(s, errno == EFBIG ? "toolarge" : "io",
			    "cannot read cron/jobs.json: %s", strerror(errno));
			return NULL;
		}
		return json_pack("{s:[],s:n}", "jobs", "updated_at");
	}
	o = json_loadb(text, len, 0, &je);
	free(text);
	if (o == NULL || !json_is_array(json_object_get(o, "jobs"))) {
		json_decref(o);
		store_fail(s, "corrupt", "cron/jobs.json is not a {\"jobs\": "
		    "[...]} document%s%s", o == NULL ? ": " : "",
		    o == NULL ? je.text : "");
		return NULL;
	}
	return o;
}

json_t *
store_cron_save(struct store *s, json_t *args)
{
	json_t *jobs = json_object_get(args, "jobs"), *job, *doc, *res;
	char *path, *text, iso[64];
	struct tm tm;
	time_t now = time(NULL);
	size_t i;
	int rc;

	if (!json_is_array(jobs)) {
		store_fail(s, "invalid", "cron.save needs jobs: [...]");
		return NULL;
	}
	json_array_foreach(jobs, i, job) {
		if (!json_is_object(job) ||
		    !json_is_string(json_object_get(job, "id"))) {
			store_fail(s, "invalid", "cron job %zu has no string id",
			    i);
			return NULL;
		}
	}
	localtime_r(&now, &tm);
	strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%S%z", &tm);
	doc = json_pack("{s:O,s:s}", "jobs", jobs, "updated_at", iso);
	text = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	if (text == NULL || strlen(text) > STORE_CRON_MAX) {
		free(text);
		store_fail(s, "toolarge", "cron jobs are larger than %d bytes",
		    STORE_CRON_MAX);
		return NULL;
	}
	xasprintf(&path, "%s/cron", s->home);
	if (store_mkdirs(path, 0700) == -1) {
		store_fail(s, "io", "cannot create cron/: %s", strerror(errno));
		free(path);
		free(text);
		return NULL;
	}
	free(path);
	path = jobs_path(s);
	rc = store_write_atomic(path, text, strlen(text), 0600);
	free(path);
	free(text);
	if (rc < 0) {
		store_fail(s, rc == -ENOSPC || rc == -EFBIG ? "nospace" : "io",
		    "cannot write cron/jobs.json: %s (the previous file is "
		    "unchanged)", strerror(-rc));
		return NULL;
	}
	res = json_object();
	json_object_set_new(res, "count", json_integer((json_int_t)
	    json_array_size(jobs)));
	return res;
}
