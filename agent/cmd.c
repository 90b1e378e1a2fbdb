/*
 * Opening sessions (new, resumed, continued, routed by session_key),
 * the slash commands that reach the agent as CHAT_COMMAND (one table),
 * and compression into a child session.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "agent/agent.h"
#include "agent/loop.h"

/* ---- opening a session -------------------------------------------- */

struct opening {
	struct client	*c;
	uint64_t	 reply_id;
	int		 is_cmd;	/* answer with CHAT_REPLY, not OPENED */
	int		 outstanding;
	char		*key;
	int		 routed;	/* key given by the client */
	char		*platform;
	char		*model;
	char		*soul;
	char		*memory_block;
	char		*user_block;
	char		*skills_index;
	json_t		*ctx_files;
	char		*cwd;
	struct session	*s;
	char		*parent;	/* for /new: nothing; lineage is compression's */
	/* When the inputs are in: NULL creates the session (open_build). */
	void		(*built)(struct agent *, struct opening *);
	void		*arg;
};

static void
opening_free(struct opening *o)
{
	free(o->key);
	free(o->platform);
	free(o->model);
	free(o->soul);
	free(o->memory_block);
	free(o->user_block);
	free(o->skills_index);
	json_decref(o->ctx_files);
	free(o->cwd);
	free(o->parent);
	free(o);
}

static int	 client_alive(struct agent *, struct client *);

static void
opened(struct agent *a, struct opening *o, struct session *s, uint64_t count,
    int resumed)
{
	struct ipc_buf	*b;
	char		*d;

	if (!client_alive(a, o->c))
		return;
	o->c->s = s;
	if (o->is_cmd) {
		json_t *j = json_pack("{s:s,s:s?,s:I,s:s}", "session_id", s->id,
		    "title", s->title, "message_count", (json_int_t)count,
		    "model", s->model ? s->model : a->cfg.model);
		d = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		agent_reply(o->c, o->reply_id, 1, s->title ? s->title : s->id, d);
		free(d);
		return;
	}
	b = ipc_new(IPC_MSG_CHAT_OPENED, o->reply_id);
	ipc_add_str(b, "session_id", s->id);
	if (s->title != NULL)
		ipc_add_str(b, "title", s->title);
	ipc_add_str(b, "model", s->model ? s->model : a->cfg.model);
	ipc_add_str(b, "provider", a->cfg.provider ? a->cfg.provider : "auto");
	ipc_add_u64(b, "message_count", count);
	ipc_add_bool(b, "resumed", resumed);
	if (o->c->peer != NULL)
		(void)ipc_peer_send(o->c->peer, b);
	else
		ipc_buf_free(b);
}

static void
open_fail(struct agent *a, struct opening *o, const char *text)
{
	if (!client_alive(a, o->c))
		return;
	if (o->is_cmd)
		agent_reply(o->c, o->reply_id, 0, text, NULL);
	else
		agent_event_ex(o->c, o->reply_id, "error", "code", "open",
		    "text", text);
}

static int
client_alive(struct agent *a, struct client *c)
{
	struct client	*x;

	if (c == NULL)
		return 0;
	TAILQ_FOREACH(x, &a->clients, entry)
		if (x == c)
			return 1;
	return 0;
}

static void
on_route_set(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	char	 err[256];

	if (!agent_store_ok(m, err, sizeof err, NULL, NULL))
		log_warnx("session.route: %s", err);
	agent_pend_del(a, p);
}

static void
route_set(struct agent *a, struct session *s)
{
	agent_store(a, "session.route", json_pack("{s:s,s:s}", "session_key",
	    s->key, "session_id", s->id), on_route_set, s, NULL);
}

/* A loaded session (resume, continue, routed key). */
static void
on_open_loaded(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	struct opening	*o = p->ctx;
	json_t		*res, *row;
	uint64_t	 count = 0;
	char		 err[256];
	const char	*id;
	struct session	*s;
	size_t		 i;

	agent_pend_del(a, p);
	if (!agent_store_ok(m, err, sizeof err, &res, &count) ||
	    (id = json_string_value(json_object_get(res, "session_id"))) == NULL) {
		open_fail(a, o, err[0] ? err : "no such session");
		json_decref(res);
		opening_free(o);
		return;
	}
	if (count == 0)
		count = json_array_size(json_object_get(res, "messages"));
	s = agent_session_by_id(a, id);
	if (s != NULL) {
		/* Cached: reuse without invalidation unless the store moved. */
		if (agent_cache_check(&s->rec, id, count) == CACHE_REBUILD &&
		    s->turn == NULL) {
			json_decref(s->msgs);
			s->msgs = NULL;
		}
	} else {
		s = agent_session_new(a, o->key);
		agent_session_set_id(a, s, id);
		s->platform = xstrdup(o->platform);
	}
	if (s->msgs == NULL && s->turn == NULL) {
		s->msgs = json_array();
		json_array_foreach(json_object_get(res, "messages"), i, row)
			json_array_append_new(s->msgs, agent_msg_from_store(row));
		free(s->system_prompt);
		/* The stored prompt, byte for byte: the cache survives. */
		row = json_object_get(res, "system_prompt");
		s->system_prompt = xstrdup(json_is_string(row) &&
		    json_string_length(row) > 0 ? json_string_value(row) :
		    AGENT_DEFAULT_IDENTITY);
		agent_cache_build(&s->rec, id, count);
		agent_session_touch(a, s);
	}
	free(s->title);
	s->title = json_is_string(json_object_get(res, "title")) ?
	    xstrdup(json_string_value(json_object_get(res, "title"))) : NULL;
	if (s->model == NULL) {
		row = json_object_get(res, "model");
		s->model = xstrdup(o->model ? o->model : json_is_string(row) &&
		    json_string_length(row) ? json_string_value(row) :
		    a->cfg.model);
	}
	json_decref(res);
	if (o->routed)
		route_set(a, s);
	opened(a, o, s, count, 1);
	opening_free(o);
}

static void
open_load(struct agent *a, struct opening *o, const char *id)
{
	agent_store(a, "session.load", json_pack("{s:s}", "session_id", id),
	    on_open_loaded, NULL, o);
}

static void
on_open_get(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	struct opening	*o = p->ctx;
	json_t		*res;
	char		 err[256];
	const char	*id;

	agent_pend_del(a, p);
	if (!agent_store_ok(m, err, sizeof err, &res, NULL) ||
	    (id = json_string_value(json_object_get(res, "id"))) == NULL) {
		open_fail(a, o, err[0] ? err : "no such session");
		json_decref(res);
		opening_free(o);
		return;
	}
	open_load(a, o, id);
	json_decref(res);
}

static void	open_new(struct agent *, struct opening *);

static void
on_open_route(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	struct opening	*o = p->ctx;
	json_t		*res;
	char		 err[256];
	const char	*id;

	agent_pend_del(a, p);
	if (agent_store_ok(m, err, sizeof err, &res, NULL) &&
	    (id = json_string_value(json_object_get(res, "session_id"))) != NULL)
		open_load(a, o, id);
	else
		open_new(a, o);
	json_decref(res);
}

/* ---- a new session: gather the prompt's inputs, build, create ------- */

static void
on_created(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	struct opening	*o = p->ctx;
	struct session	*s = o->s;
	json_t		*res;
	char		 err[256];
	const char	*id;

	agent_pend_del(a, p);
	if (!agent_store_ok(m, err, sizeof err, &res, NULL) ||
	    (id = json_string_value(json_object_get(res, "session_id"))) == NULL) {
		s->opening = 0;
		open_fail(a, o, err[0] ? err : "could not create a session");
		json_decref(res);
		opening_free(o);
		return;
	}
	agent_session_set_id(a, s, id);
	if (json_is_string(json_object_get(res, "title")))
		s->title = xstrdup(json_string_value(json_object_get(res,
		    "title")));
	json_decref(res);
	s->msgs = json_array();
	agent_cache_build(&s->rec, s->id, 0);
	s->opening = 0;
	agent_session_touch(a, s);
	if (o->routed)
		route_set(a, s);
	opened(a, o, s, 0, 0);
	opening_free(o);
}

/* The system prompt from the gathered inputs. */
static char *
opening_prompt(struct agent *a, struct opening *o)
{
	struct agent_prompt_in	 in;
	char			 date[64];

	memset(&in, 0, sizeof in);
	agent_date_line((int64_t)time(NULL), date, sizeof date);
	in.soul = o->soul;
	in.memory_block = o->memory_block;
	in.user_block = o->user_block;
	in.skills_index = o->skills_index;
	in.context_files = o->ctx_files;
	in.platform = o->platform;
	in.personality = agent_personality(&a->cfg, a->cfg.personality);
	in.system_message = a->cfg.system_message;
	in.date = date;
	in.model = o->s->model;
	in.has_memory_tool = agent_tool_enabled(&a->cfg,
	    agent_tool_find("memory"));
	in.has_skills_tools = agent_tool_enabled(&a->cfg,
	    agent_tool_find("skill_manage"));
	in.has_session_search = agent_tool_enabled(&a->cfg,
	    agent_tool_find("session_search"));
	return agent_prompt_build(&in);
}

static void
open_build(struct agent *a, struct opening *o)
{
	struct session		*s = o->s;
	json_t			*args;

	free(s->system_prompt);
	s->system_prompt = opening_prompt(a, o);
	args = json_pack("{s:s,s:s,s:s,s:s}", "source", o->platform, "model",
	    s->model, "system_prompt", s->system_prompt, "session_key", s->key);
	if (o->cwd != NULL)
		json_object_set_new(args, "cwd", json_string(o->cwd));
	agent_store(a, "session.create", args, on_created, s, o);
}

static void
open_part_done(struct agent *a, struct opening *o)
{
	if (--o->outstanding > 0)
		return;
	if (o->built != NULL)
		o->built(a, o);
	else
		open_build(a, o);
}

static void
on_open_snapshot(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	struct opening	*o = p->ctx;
	json_t		*res;
	char		 err[256];
	const char	*v;

	agent_pend_del(a, p);
	if (agent_store_ok(m, err, sizeof err, &res, NULL)) {
		if ((v = json_string_value(json_object_get(res, "memory_block")))
		    != NULL && *v != '\0' && a->cfg.memory_on)
			o->memory_block = xstrdup(v);
		else if (a->cfg.memory_on)
			o->memory_block = agent_memory_block("memory",
			    json_object_get(res, "memory"), 2200);
		if ((v = json_string_value(json_object_get(res, "user_block")))
		    != NULL && *v != '\0' && a->cfg.user_profile_on)
			o->user_block = xstrdup(v);
		else if (a->cfg.user_profile_on)
			o->user_block = agent_memory_block("user",
			    json_object_get(res, "user"), 1375);
	} else
		log_warnx("memory.snapshot: %s", err);
	json_decref(res);
	open_part_done(a, o);
}

static void
on_open_skills(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	struct opening	*o = p->ctx;
	json_t		*res;
	char		 err[256];

	agent_pend_del(a, p);
	if (agent_store_ok(m, err, sizeof err, &res, NULL))
		o->skills_index = agent_skills_index(json_object_get(res,
		    "skills"));
	json_decref(res);
	open_part_done(a, o);
}

static void
on_open_soul(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	struct opening	*o = p->ctx;
	json_t		*res;
	char		 err[256];
	const char	*t;

	agent_pend_del(a, p);
	/* No SOUL.md (or no soul op in this store): the default identity. */
	if (agent_store_ok(m, err, sizeof err, &res, NULL) &&
	    (t = json_string_value(json_object_get(res, "text"))) != NULL &&
	    *t != '\0')
		o->soul = xstrdup(t);
	json_decref(res);
	open_part_done(a, o);
}

static void
on_open_context(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	struct opening	*o = p->ctx;
	const char	*s;
	size_t		 n;

	agent_pend_del(a, p);
	if (m != NULL && m->type == IPC_MSG_TOOL_CONTEXT_FILES) {
		if (ipc_get_str(m, "files", &s, &n) == 0)
			o->ctx_files = json_loadb(s, n, 0, NULL);
		o->cwd = ipc_get_strdup(m, "cwd");
	}
	open_part_done(a, o);
}

static void	gather(struct agent *, struct opening *);

static void
open_new(struct agent *a, struct opening *o)
{
	struct session	*s;

	s = agent_session_new(a, o->key);
	s->platform = xstrdup(o->platform);
	s->model = xstrdup(o->model ? o->model : a->cfg.model);
	s->opening = 1;
	o->s = s;
	gather(a, o);
}

/* Ask for the prompt's inputs: memory snapshot, skills index, SOUL.md
 * (store), workspace context files (tool runner). */
static void
gather(struct agent *a, struct opening *o)
{
	struct session	*s = o->s;
	struct ipc_buf	*b;
	uint64_t	 id;

	o->outstanding = 4;
	agent_store(a, "memory.snapshot", json_object(), on_open_snapshot, NULL,
	    o);
	agent_store(a, "skills.index", json_object(), on_open_skills, NULL, o);
	agent_store(a, "soul.get", json_object(), on_open_soul, NULL, o);
	id = agent_next_id();
	b = ipc_new(IPC_MSG_TOOL_CONTEXT, id);
	ipc_add_str(b, "session", s->key);
	agent_pend_add(a, id, ROLE_TOOL, on_open_context, NULL, o);
	if (a->send(a, ROLE_TOOL, b) == -1) {
		struct pend *p = agent_pend_find(a, id);
		if (p != NULL)
			p->cb(a, p, NULL);
	}
}

static struct opening *
opening_new(struct agent *a, struct client *c, uint64_t id, const char *key,
    const char *platform, const char *model)
{
	struct opening	*o = xcalloc(1, sizeof *o);
	static uint64_t	 seq;

	o->c = c;
	o->reply_id = id;
	o->platform = xstrdup(platform ? platform : (c->platform ?
	    c->platform : "cli"));
	o->model = model ? xstrdup(model) : NULL;
	if (key != NULL) {
		o->key = xstrdup(key);
		o->routed = 1;
	} else
		/* CLI sessions: one per open, unless resumed. */
		xasprintf(&o->key, "cli:%llu:%llu", (unsigned long long)c->uid,
		    (unsigned long long)++seq);
	return o;
}

void
chat_open(struct agent *a, struct client *c, uint64_t id, struct ipc_msg *m)
{
	char		*key = ipc_get_strdup(m, "session_key");
	char		*resume = ipc_get_strdup(m, "resume");
	char		*platform = ipc_get_strdup(m, "platform");
	char		*model = ipc_get_strdup(m, "model");
	int		 cont = 0;
	struct opening	*o;

	(void)ipc_get_bool(m, "continue", &cont);
	if (platform != NULL) {
		free(c->platform);
		c->platform = xstrdup(platform);
	}
	o = opening_new(a, c, id, key, platform, model);
	if (resume != NULL && *resume != '\0') {
		/* An id or a title. */
		json_t *args = strchr(resume, ' ') == NULL &&
		    isdigit((unsigned char)resume[0]) && strchr(resume, '_') ?
		    json_pack("{s:s}", "session_id", resume) :
		    json_pack("{s:s}", "title", resume);
		agent_store(a, "session.get", args, on_open_get, NULL, o);
	} else if (cont)
		agent_store(a, "session.get", json_pack("{s:b,s:s}", "latest", 1,
		    "source", o->platform), on_open_get, NULL, o);
	else if (key != NULL)
		agent_store(a, "session.route", json_pack("{s:s}",
		    "session_key", key), on_open_route, NULL, o);
	else
		open_new(a, o);
	free(key);
	free(resume);
	free(platform);
	free(model);
}

/* ---- a child session holding given messages ------------------------ */

struct child {
	json_t		*msgs;
	const char	*reason;	/* end_reason of the parent */
	size_t		 acked;
	int		 failed;
	uint64_t	 count;
	char		*old;
	void		(*done)(struct agent *, struct session *, int, void *);
	void		*arg;
};

static void
child_finish(struct agent *a, struct session *s, struct child *ch, int ok)
{
	if (ok) {
		json_decref(s->msgs);
		s->msgs = json_incref(ch->msgs);
		agent_cache_build(&s->rec, s->id, ch->count);
		s->usage.last_real = 0;
		if (strncmp(s->key, "cli:", 4) != 0)
			route_set(a, s);
	}
	ch->done(a, s, ok, ch->arg);
	json_decref(ch->msgs);
	free(ch->old);
	free(ch);
}

static void
on_child_append(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	struct child	*ch = p->ctx;
	struct session	*s = p->s;
	char		 err[256];
	uint64_t	 count = 0;

	agent_pend_del(a, p);
	if (!agent_store_ok(m, err, sizeof err, NULL, &count)) {
		log_warnx("child session: %s", err);
		ch->failed = 1;
	}
	if (count > ch->count)
		ch->count = count;
	if (++ch->acked == json_array_size(ch->msgs))
		child_finish(a, s, ch, !ch->failed);
}

static void
on_child_created(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	struct child	*ch = p->ctx;
	struct session	*s = p->s;
	json_t		*res, *msg;
	char		 err[256];
	const char	*id;
	size_t		 i;

	agent_pend_del(a, p);
	if (!agent_store_ok(m, err, sizeof err, &res, NULL) ||
	    (id = json_string_value(json_object_get(res, "session_id"))) == NULL) {
		log_warnx("child session: %s", err);
		json_decref(res);
		child_finish(a, s, ch, 0);
		return;
	}
	agent_session_set_id(a, s, id);
	free(s->title);
	s->title = json_is_string(json_object_get(res, "title")) ?
	    xstrdup(json_string_value(json_object_get(res, "title"))) : NULL;
	json_decref(res);
	agent_store(a, "session.end", json_pack("{s:s,s:s}", "session_id",
	    ch->old, "reason", ch->reason), NULL, NULL, NULL);
	if (json_array_size(ch->msgs) == 0) {
		child_finish(a, s, ch, 1);
		return;
	}
	/* The store keeps order: the appends land as sent. */
	json_array_foreach(ch->msgs, i, msg)
		agent_store(a, "session.append", agent_msg_to_store(s->id, msg),
		    on_child_append, s, ch);
}

/* Continue `s` in a child session (parent_session_id = the old id) that
 * holds `msgs` (stolen). */
static void
child_session(struct agent *a, struct session *s, json_t *msgs,
    const char *reason,
    void (*done)(struct agent *, struct session *, int, void *), void *arg)
{
	struct child	*ch = xcalloc(1, sizeof *ch);

	ch->msgs = msgs;
	ch->reason = reason;
	ch->done = done;
	ch->arg = arg;
	ch->old = xstrdup(s->id);
	agent_store(a, "session.create", json_pack("{s:s,s:s,s:s?,s:s,s:s}",
	    "parent_session_id", s->id, "system_prompt", s->system_prompt ?
	    s->system_prompt : "", "model", s->model, "source",
	    s->platform ? s->platform : "cli", "session_key", s->key),
	    on_child_created, s, ch);
}

/* ---- compression ------------------------------------------------------ */

struct compress {
	struct agent_compress_plan plan;
	json_t		*work;		/* pruned copy */
	json_t		*out;		/* the compressed conversation */
	char		*text;
	size_t		 textlen;
	size_t		 before;
	uint64_t	 tokens_before;
	void		(*done)(struct agent *, struct session *, int, void *);
	void		*arg;
};

static void
compress_done(struct agent *a, struct session *s, int ok, void *arg)
{
	struct compress	*cp = arg;
	char		 note[256];

	if (ok) {
		uint64_t after = agent_tokens_text(s->system_prompt) +
		    agent_tokens_msgs(s->msgs, 0, json_array_size(s->msgs));
		/* Anti-thrash: a compression that saved under 10% holds off
		 * the automatic one for a few turns. */
		s->compress_hold = after * 10 > cp->tokens_before * 9 ? 5 : 0;
		snprintf(note, sizeof note, "Context compressed: %zu -> %zu "
		    "messages, ~%llu -> ~%llu tokens; continuing in session %s",
		    cp->before, json_array_size(s->msgs),
		    (unsigned long long)cp->tokens_before,
		    (unsigned long long)(agent_tokens_text(s->system_prompt) +
		    agent_tokens_msgs(s->msgs, 0, json_array_size(s->msgs))),
		    s->id);
		agent_notice(a, s, note);
		log_info("%s", note);
	}
	cp->done(a, s, ok, cp->arg);
	json_decref(cp->work);
	free(cp->text);
	free(cp);
}

/* The active todo items survive compression, added to the summary
 * message (Hermes re-injects pending and in-progress items only). */
static void
todo_reinject(struct session *s, json_t *out, size_t at)
{
	static const struct {
		const char	*status, *mark;
	} marks[] = { { "in_progress", "[>]" }, { "pending", "[ ]" } };
	char		*text = NULL, *t;
	size_t		 i, k;
	json_t		*it, *sm;
	const char	*st, *id, *c;

	if (!json_is_array(s->todos))
		return;
	json_array_foreach(s->todos, i, it) {
		st = json_string_value(json_object_get(it, "status"));
		id = json_string_value(json_object_get(it, "id"));
		c = json_string_value(json_object_get(it, "content"));
		for (k = 0; k < nitems(marks); k++)
			if (st != NULL && strcmp(st, marks[k].status) == 0)
				break;
		if (k == nitems(marks) || id == NULL || c == NULL)
			continue;
		xasprintf(&t, "%s\n- %s %s. %s (%s)", text != NULL ? text :
		    "[Your active task list was preserved across context "
		    "compression]", marks[k].mark, id, c, st);
		free(text);
		text = t;
	}
	if (text == NULL)
		return;
	/* Into the summary message: the latest user message stays last. */
	sm = json_array_get(out, at);
	if (sm != NULL && json_is_string(json_object_get(sm, "content"))) {
		xasprintf(&t, "%s\n\n%s", json_string_value(json_object_get(sm,
		    "content")), text);
		json_object_set_new(sm, "content", json_string(t));
		free(t);
	}
	free(text);
}

static void
compress_rebuilt(struct agent *a, struct opening *o)
{
	struct compress	*cp = o->arg;
	struct session	*s = o->s;
	json_t		*out = cp->out;

	cp->out = NULL;
	free(s->system_prompt);
	s->system_prompt = opening_prompt(a, o);
	opening_free(o);
	child_session(a, s, out, "compression", compress_done, cp);
}

static void
compress_finish(struct agent *a, struct session *s, struct compress *cp,
    const char *summary)
{
	json_t	*out;

	struct opening	*o;

	free(s->summary);
	s->summary = xstrdup(summary);
	out = agent_compress_apply(cp->work, &cp->plan, summary);
	todo_reinject(s, out, cp->plan.head_end);
	/* The one time the prompt changes: the child session gets one built
	 * afresh (memory written since the start shows up now). */
	cp->out = out;
	o = xcalloc(1, sizeof *o);
	o->key = xstrdup(s->key);
	o->platform = xstrdup(s->platform ? s->platform : "cli");
	o->s = s;
	o->built = compress_rebuilt;
	o->arg = cp;
	gather(a, o);
}

static void
on_summary(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	struct compress	*cp = p->ctx;
	struct session	*s = p->s;
	const char	*k = "error", *t;
	size_t		 n = 5, tn;
	char		*fb;

	if (m != NULL && ipc_get_str(m, "kind", &k, &n) == 0 && n == 4 &&
	    strncmp(k, "text", 4) == 0) {
		if (ipc_get_str(m, "text", &t, &tn) == 0) {
			cp->text = xreallocarray(cp->text, cp->textlen + tn + 1, 1);
			memcpy(cp->text + cp->textlen, t, tn);
			cp->textlen += tn;
			cp->text[cp->textlen] = '\0';
		}
		return;
	}
	if (m != NULL && !(n == 4 && strncmp(k, "done", 4) == 0) &&
	    !(n == 5 && strncmp(k, "error", 5) == 0))
		return;		/* usage, retry, ... */
	agent_pend_del(a, p);
	if (m != NULL && n == 4 && cp->textlen > 0) {
		compress_finish(a, s, cp, cp->text);
		return;
	}
	/* The summariser failed: a deterministic summary instead. */
	s->summary_fail_until = now_ms() + AGENT_SUMMARY_COOLDOWN_MS;
	if (a->cfg.abort_on_summary_failure) {
		compress_done(a, s, 0, cp);
		return;
	}
	fb = agent_fallback_summary(cp->work, cp->plan.head_end,
	    cp->plan.tail_start);
	compress_finish(a, s, cp, fb);
	free(fb);
}

void
compress_start(struct agent *a, struct session *s, const char *focus,
    void (*done)(struct agent *, struct session *, int, void *), void *arg)
{
	struct compress	*cp;
	json_t		*req, *msgs;
	uint64_t	 mid, budget;
	char		*fb;
	const char	*model = s->model ? s->model : a->cfg.model;

	if (s->msgs == NULL) {
		done(a, s, 0, arg);
		return;
	}
	cp = xcalloc(1, sizeof *cp);
	cp->done = done;
	cp->arg = arg;
	cp->before = json_array_size(s->msgs);
	cp->tokens_before = agent_tokens_text(s->system_prompt) +
	    agent_tokens_msgs(s->msgs, 0, cp->before);
	agent_compress_plan(&a->cfg, model, s->msgs, &cp->plan);
	if (!cp->plan.possible) {
		free(cp);
		done(a, s, 0, arg);
		return;
	}
	/* After a restart the last summary is still in the messages. */
	if (s->summary == NULL) {
		size_t i;
		const char *t;
		for (i = 0; i < cp->before; i++)
			if ((t = agent_summary_text(json_array_get(s->msgs, i)))
			    != NULL) {
				free(s->summary);
				s->summary = xstrdup(t);
			}
	}
	cp->work = json_deep_copy(s->msgs);
	(void)agent_prune_tool_outputs(cp->work, cp->plan.head_end,
	    cp->plan.tail_start);
	if (now_ms() < s->summary_fail_until) {
		fb = agent_fallback_summary(cp->work, cp->plan.head_end,
		    cp->plan.tail_start);
		compress_finish(a, s, cp, fb);
		free(fb);
		return;
	}
	mid = agent_tokens_msgs(cp->work, cp->plan.head_end, cp->plan.tail_start);
	budget = agent_summary_budget(&a->cfg, model, mid);
	msgs = agent_summary_request(cp->work, cp->plan.head_end,
	    cp->plan.tail_start, s->summary, focus, budget);
	req = json_pack("{s:s,s:o,s:b,s:I}", "model", model, "messages", msgs,
	    "stream", 0, "max_tokens", (json_int_t)(budget * 2));
	(void)agent_send_fetch(a, agent_next_id(), req, on_summary, s, cp);
}

/* ---- slash commands ------------------------------------------------------- */

struct cmdctx {
	struct client	*c;
	uint64_t	 id;
	char		*arg;
};

static struct cmdctx *
cmdctx(struct client *c, uint64_t id, const char *arg)
{
	struct cmdctx	*x = xcalloc(1, sizeof *x);

	x->c = c;
	x->id = id;
	x->arg = arg ? xstrdup(arg) : NULL;
	return x;
}

static void
cmdctx_free(struct cmdctx *x)
{
	free(x->arg);
	free(x);
}

/* A store op whose result goes back as the command's reply. */
static void
on_cmd_store(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	struct cmdctx	*x = p->ctx;
	json_t		*res;
	char		 err[256], *d = NULL, *text = NULL;

	agent_pend_del(a, p);
	if (!client_alive(a, x->c)) {
		cmdctx_free(x);
		return;
	}
	if (agent_store_ok(m, err, sizeof err, &res, NULL)) {
		if (json_is_string(res))
			text = xstrdup(json_string_value(res));
		else {
			d = json_dumps(res, JSON_COMPACT | JSON_ENCODE_ANY);
			if (json_is_string(json_object_get(res, "text")))
				text = xstrdup(json_string_value(
				    json_object_get(res, "text")));
			else if (json_is_array(json_object_get(res, "sessions"))) {
				size_t i, len = 0;
				json_t *r;
				text = xstrdup("");
				json_array_foreach(json_object_get(res,
				    "sessions"), i, r) {
					char *line;
					const char *rid = json_string_value(
					    json_object_get(r, "id"));
					const char *rt = json_string_value(
					    json_object_get(r, "title"));
					xasprintf(&line, "%s  %-30s  %lld msgs\n",
					    rid != NULL ? rid : "?",
					    rt != NULL ? rt : "",
					    (long long)json_integer_value(
					    json_object_get(r, "message_count")));
					text = xreallocarray(text, len +
					    strlen(line) + 1, 1);
					memcpy(text + len, line, strlen(line) + 1);
					len += strlen(line);
					free(line);
				}
			} else
				text = xstrdup(d ? d : "ok");
		}
		agent_reply(x->c, x->id, 1, text, d);
		json_decref(res);
	} else
		agent_reply(x->c, x->id, 0, err, NULL);
	free(d);
	free(text);
	cmdctx_free(x);
}

static void
cmd_store(struct agent *a, struct client *c, uint64_t id, const char *op,
    json_t *args)
{
	agent_store(a, op, args, on_cmd_store, c->s, cmdctx(c, id, NULL));
}

static int
need_session(struct client *c, uint64_t id)
{
	if (c->s != NULL && c->s->id != NULL && !c->s->opening)
		return 1;
	agent_reply(c, id, 0, "no session is open", NULL);
	return 0;
}

static void
cmd_stop(struct agent *a, struct client *c, uint64_t id, const char *args)
{
	if (!need_session(c, id))
		return;
	if (c->s->turn == NULL) {
		agent_reply(c, id, 1, "nothing is running", NULL);
		return;
	}
	turn_interrupt(a, c->s, "/stop");
	agent_reply(c, id, 1, "stopping", NULL);
}

/* The index of the start of the last n user turns, or -1. */
static long
last_user_turns(const json_t *msgs, unsigned n)
{
	size_t		 i = json_array_size(msgs);
	const char	*r;

	while (i-- > 0) {
		r = json_string_value(json_object_get(json_array_get(msgs, i),
		    "role"));
		if (r != NULL && strcmp(r, "user") == 0 && --n == 0)
			return (long)i;
	}
	return -1;
}

struct rewind {
	struct client	*c;
	uint64_t	 id;
	char		*retry;	/* text to run again, or NULL */
	unsigned	 n;
};

static void
rewind_done(struct agent *a, struct session *s, int ok, void *arg)
{
	struct rewind	*r = arg;
	char		 text[128];

	if (!client_alive(a, r->c))
		r->c = NULL;
	if (!ok)
		agent_reply(r->c, r->id, 0, "could not rewind the session", NULL);
	else if (r->retry != NULL) {
		agent_reply(r->c, r->id, 1, "retrying", NULL);
		turn_start(a, s, r->c, r->id, r->retry);
	} else {
		snprintf(text, sizeof text, "undid %u turn(s); %zu messages "
		    "left (session %s)", r->n, json_array_size(s->msgs), s->id);
		agent_reply(r->c, r->id, 1, text, NULL);
	}
	free(r->retry);
	free(r);
}

/* /undo and /retry: the kept messages continue in a child session (the
 * store has no row deactivation op; see the report). */
static void
rewind_session(struct agent *a, struct client *c, uint64_t id, unsigned n,
    int retry)
{
	struct session	*s = c->s;
	long		 at;
	json_t		*kept;
	struct rewind	*r;
	size_t		 i;

	if (s->turn != NULL) {
		agent_reply(c, id, 0, "a turn is running; /stop it first", NULL);
		return;
	}
	if (s->msgs == NULL ||
	    (at = last_user_turns(s->msgs, n)) < 0) {
		agent_reply(c, id, 0, "nothing to undo", NULL);
		return;
	}
	r = xcalloc(1, sizeof *r);
	r->c = c;
	r->id = id;
	r->n = n;
	if (retry) {
		const char *u = json_string_value(json_object_get(
		    json_array_get(s->msgs, (size_t)at), "content"));
		r->retry = xstrdup(u != NULL ? u : "");
	}
	kept = json_array();
	for (i = 0; i < (size_t)at; i++)
		json_array_append(kept, json_array_get(s->msgs, i));
	child_session(a, s, kept, "rewind", rewind_done, r);
}

static void
cmd_retry(struct agent *a, struct client *c, uint64_t id, const char *args)
{
	if (need_session(c, id))
		rewind_session(a, c, id, 1, 1);
}

static void
cmd_undo(struct agent *a, struct client *c, uint64_t id, const char *args)
{
	long	 n = args != NULL && *args != '\0' ? strtol(args, NULL, 10) : 1;

	if (n < 1 || n > 1000) {
		agent_reply(c, id, 0, "usage: /undo [N]", NULL);
		return;
	}
	if (need_session(c, id))
		rewind_session(a, c, id, (unsigned)n, 0);
}

static void
cmd_new(struct agent *a, struct client *c, uint64_t id, const char *args)
{
	struct session	*old = c->s;
	struct opening	*o;
	struct ipc_buf	*b;

	if (old != NULL && old->id != NULL) {
		if (old->turn != NULL)
			turn_interrupt(a, old, "/new");
		agent_store(a, "session.end", json_pack("{s:s,s:s}",
		    "session_id", old->id, "reason", "new_session"), NULL, NULL,
		    NULL);
		b = ipc_new(IPC_MSG_TOOL_SESSION_END, 0);
		ipc_add_str(b, "session", old->id);
		(void)a->send(a, ROLE_TOOL, b);
	}
	o = opening_new(a, c, id, old != NULL && strncmp(old->key, "cli:", 4) ?
	    old->key : NULL, old ? old->platform : NULL, old ? old->model : NULL);
	o->is_cmd = 1;
	open_new(a, o);
}

static void
cmd_resume(struct agent *a, struct client *c, uint64_t id, const char *args)
{
	struct opening	*o;

	if (args == NULL || *args == '\0') {
		cmd_store(a, c, id, "session.list", json_pack("{s:i}", "limit",
		    20));
		return;
	}
	o = opening_new(a, c, id, NULL, NULL, NULL);
	o->is_cmd = 1;
	agent_store(a, "session.get", strchr(args, '_') != NULL &&
	    strchr(args, ' ') == NULL ? json_pack("{s:s}", "session_id", args) :
	    json_pack("{s:s}", "title", args), on_open_get, NULL, o);
}

static void
cmd_compress_done(struct agent *a, struct session *s, int ok, void *arg)
{
	struct cmdctx	*x = arg;

	if (client_alive(a, x->c))
		agent_reply(x->c, x->id, ok, ok ? "compressed" :
		    "nothing to compress", NULL);
	cmdctx_free(x);
}

static void
cmd_compress(struct agent *a, struct client *c, uint64_t id, const char *args)
{
	const char	*focus = NULL;

	if (!need_session(c, id))
		return;
	if (c->s->turn != NULL) {
		agent_reply(c, id, 0, "a turn is running", NULL);
		return;
	}
	if (args != NULL && strncmp(args, "focus ", 6) == 0)
		focus = args + 6;
	compress_start(a, c->s, focus, cmd_compress_done, cmdctx(c, id, NULL));
}

static void
cmd_usage(struct agent *a, struct client *c, uint64_t id, const char *args)
{
	struct session	*s;
	const char	*model;
	char		*text, *d;
	json_t		*j;
	uint64_t	 est;

	if (!need_session(c, id))
		return;
	s = c->s;
	model = s->model ? s->model : a->cfg.model;
	est = s->msgs != NULL ? agent_tokens_text(s->system_prompt) +
	    agent_tokens_msgs(s->msgs, 0, json_array_size(s->msgs)) : 0;
	j = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b}",
	    "model", model, "input_tokens", (json_int_t)s->usage.input,
	    "output_tokens", (json_int_t)s->usage.output,
	    "cache_read_tokens", (json_int_t)s->usage.cache_read,
	    "cache_write_tokens", (json_int_t)s->usage.cache_write,
	    "reasoning_tokens", (json_int_t)s->usage.reasoning,
	    "api_calls", (json_int_t)s->usage.calls,
	    "context_tokens", (json_int_t)(s->usage.last_real ?
	    s->usage.last_prompt : est),
	    "context_length", (json_int_t)agent_context_length(&a->cfg, model),
	    "compress_at", (json_int_t)agent_compress_threshold(&a->cfg, model),
	    "estimated", !s->usage.last_real);
	xasprintf(&text, "Model: %s\nContext: %llu / %llu tokens%s "
	    "(compression at %llu)\nTokens: %llu in, %llu out, %llu cache "
	    "read, %llu cache write, %llu reasoning\nAPI calls: %llu",
	    model, (unsigned long long)(s->usage.last_real ?
	    s->usage.last_prompt : est),
	    (unsigned long long)agent_context_length(&a->cfg, model),
	    s->usage.last_real ? "" : " (estimated)",
	    (unsigned long long)agent_compress_threshold(&a->cfg, model),
	    (unsigned long long)s->usage.input,
	    (unsigned long long)s->usage.output,
	    (unsigned long long)s->usage.cache_read,
	    (unsigned long long)s->usage.cache_write,
	    (unsigned long long)s->usage.reasoning,
	    (unsigned long long)s->usage.calls);
	d = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	agent_reply(c, id, 1, text, d);
	free(text);
	free(d);
}

static void
cmd_model(struct agent *a, struct client *c, uint64_t id, const char *args)
{
	char	*text;

	if (!need_session(c, id))
		return;
	if (args != NULL && *args != '\0') {
		free(c->s->model);
		c->s->model = xstrdup(args);
	}
	xasprintf(&text, "model: %s", c->s->model ? c->s->model : a->cfg.model);
	agent_reply(c, id, 1, text, NULL);
	free(text);
}

static void
cmd_title(struct agent *a, struct client *c, uint64_t id, const char *args)
{
	if (!need_session(c, id))
		return;
	if (args == NULL || *args == '\0') {
		agent_reply(c, id, 1, c->s->title ? c->s->title : "(untitled)",
		    NULL);
		return;
	}
	free(c->s->title);
	c->s->title = xstrdup(args);
	cmd_store(a, c, id, "session.title", json_pack("{s:s,s:s}",
	    "session_id", c->s->id, "title", args));
}

static void
cmd_personality(struct agent *a, struct client *c, uint64_t id,
    const char *args)
{
	char	*text;

	if (args == NULL || *args == '\0') {
		agent_reply(c, id, 1, a->cfg.personality ? a->cfg.personality :
		    "(none)", NULL);
		return;
	}
	if (strcmp(args, "none") != 0 && agent_personality(&a->cfg, args) == NULL) {
		agent_reply(c, id, 0, "unknown personality", NULL);
		return;
	}
	free(a->cfg.personality);
	a->cfg.personality = strcmp(args, "none") ? xstrdup(args) : NULL;
	/* The prompt is byte-stable within a session (prompt cache). */
	xasprintf(&text, "personality %s takes effect in the next session "
	    "(/new)", args);
	agent_reply(c, id, 1, text, NULL);
	free(text);
}

/* /sessions list|export|delete|prune|rename|repair ... -> the store. */
static void
cmd_sessions(struct agent *a, struct client *c, uint64_t id, const char *args)
{
	char		 sub[32] = "list", a1[256] = "", a2[256] = "";
	const char	*rest = "";
	json_t		*j = NULL;

	if (args != NULL)
		(void)sscanf(args, "%31s %255s", sub, a1);
	if (args != NULL && (rest = strchr(args, ' ')) != NULL) {
		rest++;
		if ((rest = strchr(rest, ' ')) != NULL)
			strlcpy(a2, rest + 1, sizeof a2);
	}
	if (strcmp(sub, "list") == 0)
		j = json_pack("{s:i}", "limit", a1[0] ? atoi(a1) : 20);
	else if (strcmp(sub, "export") == 0 && a1[0])
		j = json_pack("{s:s,s:s}", "session_id", a1, "format",
		    a2[0] ? a2 : "jsonl");
	else if (strcmp(sub, "export") == 0)
		j = json_pack("{s:s}", "format", "jsonl");
	else if (strcmp(sub, "delete") == 0 && a1[0])
		j = json_pack("{s:s}", "session_id", a1);
	else if (strcmp(sub, "prune") == 0)
		j = json_pack("{s:i}", "older_than_days", a1[0] ? atoi(a1) : 90);
	else if (strcmp(sub, "rename") == 0 && a1[0] && a2[0]) {
		strlcpy(sub, "title", sizeof sub);
		j = json_pack("{s:s,s:s}", "session_id", a1, "title", a2);
	} else if (strcmp(sub, "repair") == 0)
		j = json_object();
	if (j == NULL) {
		agent_reply(c, id, 0, "usage: /sessions [list [N] | export [id "
		    "[jsonl|md]] | delete id | prune [days] | rename id title | "
		    "repair]", NULL);
		return;
	}
	{
		char op[48];
		snprintf(op, sizeof op, "session.%s", sub);
		cmd_store(a, c, id, op, j);
	}
}

static void
cmd_skills(struct agent *a, struct client *c, uint64_t id, const char *args)
{
	cmd_store(a, c, id, "skills.list", args != NULL && *args != '\0' ?
	    json_pack("{s:s}", "category", args) : json_object());
}

static void
on_skill_loaded(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	struct cmdctx	*x = p->ctx;
	struct session	*s = p->s;
	json_t		*res, *tool;
	char		 err[256], *text;
	const char	*content, *name, *rest;

	agent_pend_del(a, p);
	if (!client_alive(a, x->c)) {
		cmdctx_free(x);
		return;
	}
	if (!agent_store_ok(m, err, sizeof err, &res, NULL)) {
		agent_reply(x->c, x->id, 0, err, NULL);
		cmdctx_free(x);
		return;
	}
	tool = json_is_string(res) ? json_loads(json_string_value(res), 0,
	    NULL) : json_incref(res);
	content = json_string_value(json_object_get(tool, "content"));
	if (content == NULL || json_is_false(json_object_get(tool, "success"))) {
		const char *e = json_string_value(json_object_get(tool,
		    "error"));
		agent_reply(x->c, x->id, 0, e != NULL ? e : "no such skill",
		    NULL);
	} else {
		name = x->arg;
		rest = strchr(name, ' ');
		/* Loaded as a user message, not into the system prompt, so
		 * the prompt cache survives. */
		xasprintf(&text, "[SYSTEM: The user has invoked the \"%.*s\" "
		    "skill, indicating they want you to follow its "
		    "instructions. The full skill content is loaded below.]"
		    "\n\n%s%s%s", rest ? (int)(rest - name) : (int)strlen(name),
		    name, content, rest ? "\n\nThe user has provided the "
		    "following instruction alongside the skill invocation: " :
		    "", rest ? rest + 1 : "");
		agent_reply(x->c, x->id, 1, "skill loaded", NULL);
		if (s->turn == NULL)
			turn_start(a, s, x->c, x->id, text);
		else
			turn_input(a, s, x->c, x->id, text);
		free(text);
	}
	json_decref(tool);
	json_decref(res);
	cmdctx_free(x);
}

static void
cmd_skill(struct agent *a, struct client *c, uint64_t id, const char *args)
{
	char	 name[128];

	if (!need_session(c, id))
		return;
	if (args == NULL || sscanf(args, "%127s", name) != 1) {
		agent_reply(c, id, 0, "usage: /skill <name> [instruction]", NULL);
		return;
	}
	agent_store(a, "skills.view", json_pack("{s:s}", "name", name),
	    on_skill_loaded, c->s, cmdctx(c, id, args));
}

static const struct {
	const char	*name;
	void		(*fn)(struct agent *, struct client *, uint64_t,
			    const char *);
	const char	*help;
} cmds[] = {
	{ "stop", cmd_stop, "interrupt the running turn" },
	{ "retry", cmd_retry, "send the last user message again" },
	{ "undo", cmd_undo, "drop the last N user turns" },
	{ "new", cmd_new, "start a new session" },
	{ "reset", cmd_new, "start a new session" },
	{ "compress", cmd_compress, "compress the context now [focus <topic>]" },
	{ "compact", cmd_compress, "compress the context now" },
	{ "usage", cmd_usage, "tokens and context use" },
	{ "model", cmd_model, "show or switch the session's model" },
	{ "title", cmd_title, "show or set the session title" },
	{ "personality", cmd_personality, "set the personality (next session)" },
	{ "sessions", cmd_sessions, "list/export/delete/prune/rename/repair" },
	{ "skills", cmd_skills, "list skills" },
	{ "resume", cmd_resume, "resume a session by id or title" },
	{ "skill", cmd_skill, "load a skill into this turn" },
};

void
cmd_dispatch(struct agent *a, struct client *c, uint64_t id, const char *name,
    const char *args)
{
	size_t	 i;
	char	*text;

	if (*name == '/')
		name++;
	for (i = 0; i < nitems(cmds); i++)
		if (strcmp(cmds[i].name, name) == 0) {
			cmds[i].fn(a, c, id, args);
			return;
		}
	xasprintf(&text, "unknown command /%s", name);
	agent_reply(c, id, 0, text, NULL);
	free(text);
}
