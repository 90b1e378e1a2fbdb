/*
 * The op table: one entry per STORE_CALL op (documented in store.h).
 * Handlers fill a struct store_res; tool-shaped ops return the tool's
 * text as a JSON string.
 */
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/util.h"
#include "workers/store/store.h"

typedef int (*op_fn)(struct store *, json_t *args, struct store_res *);

static void
set_count(struct store *s, struct store_res *r, json_t *args)
{
	const char *sid = json_string_value(json_object_get(args,
	    "session_id"));
	int64_t n;

	if (sid != NULL && (n = store_message_count(s, sid)) >= 0) {
		r->has_count = 1;
		r->message_count = (uint64_t)n;
	}
}

static int
json_result(struct store_res *r, json_t *v)
{
	if (v == NULL)
		return -1;
	r->result = v;
	return 0;
}

static int
tool_result(struct store_res *r, char *text)
{
	if (text == NULL)
		return -1;
	r->result = json_string(text);
	free(text);
	return r->result != NULL ? 0 : -1;
}

static int
op_session_create(struct store *s, json_t *a, struct store_res *r)
{
	if (json_result(r, store_session_create(s, a)) == -1)
		return -1;
	r->has_count = 1;
	r->message_count = 0;
	return 0;
}

static int
op_session_get(struct store *s, json_t *a, struct store_res *r)
{
	if (json_result(r, store_session_get(s, a)) == -1)
		return -1;
	r->has_count = 1;
	r->message_count = (uint64_t)json_integer_value(json_object_get(
	    r->result, "message_count"));
	return 0;
}

static int
op_session_append(struct store *s, json_t *a, struct store_res *r)
{
	int64_t id = 0, n;

	if ((n = store_session_append(s, a, &id)) < 0)
		return -1;
	r->result = json_pack("{s:I}", "message_id", (json_int_t)id);
	r->has_count = 1;
	r->message_count = (uint64_t)n;
	return 0;
}

static int
op_session_load(struct store *s, json_t *a, struct store_res *r)
{
	uint64_t n = 0;

	if (json_result(r, store_session_load(s, a, &n)) == -1)
		return -1;
	r->has_count = 1;
	r->message_count = n;
	return 0;
}

static int
op_session_end(struct store *s, json_t *a, struct store_res *r)
{
	if (store_session_end(s, a) == -1)
		return -1;
	r->result = json_object();
	set_count(s, r, a);
	return 0;
}

static int
op_session_title(struct store *s, json_t *a, struct store_res *r)
{
	if (json_result(r, store_session_title(s, a)) == -1)
		return -1;
	set_count(s, r, a);
	return 0;
}

static int
op_session_list(struct store *s, json_t *a, struct store_res *r)
{
	return json_result(r, store_session_list(s, a));
}

static int
op_session_export(struct store *s, json_t *a, struct store_res *r)
{
	return json_result(r, store_session_export(s, a));
}

static int
op_session_delete(struct store *s, json_t *a, struct store_res *r)
{
	return json_result(r, store_session_delete(s, a));
}

static int
op_session_prune(struct store *s, json_t *a, struct store_res *r)
{
	return json_result(r, store_session_prune(s, a));
}

static int
op_session_route(struct store *s, json_t *a, struct store_res *r)
{
	return json_result(r, store_session_route(s, a));
}

static int
op_session_search(struct store *s, json_t *a, struct store_res *r)
{
	return tool_result(r, store_session_search(s, a));
}

static int
op_session_repair(struct store *s, json_t *a, struct store_res *r)
{
	return json_result(r, store_repair(s));
}

static int
op_memory(struct store *s, json_t *a, struct store_res *r)
{
	return tool_result(r, store_memory_tool(s, a));
}

static int
op_memory_snapshot(struct store *s, json_t *a, struct store_res *r)
{
	return json_result(r, store_memory_snapshot(s));
}

/* SOUL.md, the agent's identity (HERMES_HOME/SOUL.md as in Hermes);
 * absent, too big or not UTF-8: "" and the agent uses its default. */
#define STORE_MAX_SOUL	(64 * 1024)
static int
op_soul_get(struct store *s, json_t *a, struct store_res *r)
{
	json_t	*text = NULL;
	char	*path, *buf;
	size_t	 len = 0;

	xasprintf(&path, "%s/SOUL.md", s->home);
	if ((buf = store_read_file(path, STORE_MAX_SOUL, &len)) != NULL &&
	    (text = json_stringn(buf, len)) == NULL)
		log_warnx("%s is not UTF-8: ignored", path);
	else if (buf == NULL && errno != ENOENT)
		log_warn("%s", path);
	free(buf);
	free(path);
	return json_result(r, json_pack("{s:o}", "text",
	    text != NULL ? text : json_string("")));
}

static int
op_skills_list(struct store *s, json_t *a, struct store_res *r)
{
	return tool_result(r, store_skills_list(s, a));
}

static int
op_skills_view(struct store *s, json_t *a, struct store_res *r)
{
	return tool_result(r, store_skill_view(s, a));
}

static int
op_skills_manage(struct store *s, json_t *a, struct store_res *r)
{
	return tool_result(r, store_skill_manage(s, a));
}

static int
op_skills_index(struct store *s, json_t *a, struct store_res *r)
{
	return json_result(r, store_skills_index(s));
}

static int
op_cron_list(struct store *s, json_t *a, struct store_res *r)
{
	return json_result(r, store_cron_list(s));
}

static int
op_cron_save(struct store *s, json_t *a, struct store_res *r)
{
	return json_result(r, store_cron_save(s, a));
}

static int
op_traj_append(struct store *s, json_t *a, struct store_res *r)
{
	return json_result(r, store_traj_append(s, a));
}

#define DB	1	/* needs state.db */

static const struct {
	const char	*name;
	op_fn		 fn;
	int		 flags;
} ops[] = {
	{ "session.create", op_session_create, DB },
	{ "session.get", op_session_get, DB },
	{ "session.append", op_session_append, DB },
	{ "session.load", op_session_load, DB },
	{ "session.end", op_session_end, DB },
	{ "session.title", op_session_title, DB },
	{ "session.list", op_session_list, DB },
	{ "session.export", op_session_export, DB },
	{ "session.delete", op_session_delete, DB },
	{ "session.prune", op_session_prune, DB },
	{ "session.route", op_session_route, DB },
	{ "session.search", op_session_search, DB },
	{ "session.repair", op_session_repair, DB },
	{ "memory", op_memory, 0 },
	{ "memory.snapshot", op_memory_snapshot, 0 },
	{ "soul.get", op_soul_get, 0 },
	{ "skills.list", op_skills_list, 0 },
	{ "skills.view", op_skills_view, 0 },
	{ "skills.manage", op_skills_manage, 0 },
	{ "skills.index", op_skills_index, 0 },
	{ "cron.list", op_cron_list, 0 },
	{ "cron.save", op_cron_save, 0 },
	{ "trajectory.append", op_traj_append, 0 },
};

const char *const *
store_op_names(void)
{
	static const char *names[nitems(ops) + 1];
	size_t i;

	for (i = 0; i < nitems(ops); i++)
		names[i] = ops[i].name;
	names[i] = NULL;
	return names;
}

void
store_call(struct store *s, const char *op, const char *args_json,
    size_t args_len, struct store_res *res)
{
	json_error_t je;
	json_t *args;
	size_t i;

	memset(res, 0, sizeof(*res));
	s->err[0] = '\0';
	s->code = NULL;
	for (i = 0; i < nitems(ops); i++)
		if (strcmp(op, ops[i].name) == 0)
			break;
	if (i == nitems(ops)) {
		res->code = "unknown_op";
		snprintf(res->error, sizeof(res->error), "unknown store op "
		    "'%.64s'", op);
		return;
	}
	if ((ops[i].flags & DB) && s->db == NULL) {
		res->code = s->open_code;
		strlcpy(res->error, s->open_err ? s->open_err : "no state.db",
		    sizeof(res->error));
		return;
	}
	args = json_loadb(args_json, args_len, JSON_REJECT_DUPLICATES, &je);
	if (args == NULL || !json_is_object(args)) {
		json_decref(args);
		res->code = "invalid";
		snprintf(res->error, sizeof(res->error), "%s: args must be a "
		    "JSON object%s%s", op, args == NULL ? ": " : "",
		    args == NULL ? je.text : "");
		return;
	}
	if (ops[i].fn(s, args, res) == 0) {
		res->ok = 1;
		if (res->result == NULL)
			res->result = json_object();
	} else {
		json_decref(res->result);
		res->result = NULL;
		res->has_count = 0;
		res->code = s->code != NULL ? s->code : "io";
		strlcpy(res->error, s->err[0] ? s->err : "store error",
		    sizeof(res->error));
	}
	json_decref(args);
}

void
store_res_free(struct store_res *r)
{
	json_decref(r->result);
	r->result = NULL;
}
