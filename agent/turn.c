/*
 * A turn: user message -> (rebuild) -> (compress) -> streamed model call
 * -> tool calls on their owners (read-only ones in parallel) -> results
 * -> repeat until a final answer. Every message is persisted through the
 * store's session.append before the client hears of it. An iteration
 * budget with a grace call, a loop guard, interrupts, approvals,
 * clarify; at the end the learning loop's reviews and trajectories.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "agent/agent.h"
#include "agent/loop.h"

static void	model_call(struct agent *, struct session *);
static void	proceed(struct agent *, struct session *);
static void	start_calls(struct agent *, struct session *);
static void	try_persist(struct agent *, struct session *);
static void	turn_end(struct agent *, struct session *, int ok,
		    const char *code, const char *text);

static const char grace_budget[] =
"You have reached the maximum number of tool-calling iterations for this "
"turn. Do not call any more tools. Summarize what you have done so far, "
"what remains, and give your best final answer now.";

static const char grace_guard[] =
"The same tool call has failed 3 times in a row with the same arguments. "
"Stop calling tools. Explain to the user what you tried, what failed and "
"what they could do next.";

void
turn_free(struct turn *t)
{
	size_t	 i;

	if (t == NULL)
		return;
	for (i = 0; i < t->ncalls; i++) {
		free(t->calls[i].id);
		free(t->calls[i].name);
		free(t->calls[i].args);
		json_decref(t->calls[i].argv);
		free(t->calls[i].result);
	}
	free(t->calls);
	free(t->text);
	free(t->reasoning);
	free(t->finish);
	free(t->fail_sig);
	free(t->queued);
	free(t->approval_pattern);
	free(t);
}

/* Is this pend still about the session's current turn? */
static struct turn *
live(struct pend *p)
{
	struct session	*s = p->s;

	if (s == NULL || s->turn == NULL || s->turn->gen != p->gen)
		return NULL;
	return s->turn;
}

static void
grow(char **buf, size_t *len, const char *s, size_t n)
{
	*buf = xreallocarray(*buf, *len + n + 1, 1);
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/* ---- messages <-> the store -------------------------------------- */

static json_t *
msg_to_store(const char *sid, const json_t *m)
{
	json_t		*o = json_object(), *calls, *oc, *v;
	const json_t	*tc;
	size_t		 i;

	json_object_set_new(o, "session_id", json_string(sid));
	json_object_set(o, "role", json_object_get(m, "role"));
	if ((v = json_object_get(m, "content")) != NULL)
		json_object_set(o, "content", v);
	if ((v = json_object_get(m, "tool_call_id")) != NULL)
		json_object_set(o, "tool_call_id", v);
	if ((v = json_object_get(m, "name")) != NULL)
		json_object_set(o, "tool_name", v);
	if ((v = json_object_get(m, "reasoning")) != NULL)
		json_object_set(o, "reasoning", v);
	if ((v = json_object_get(m, "finish_reason")) != NULL)
		json_object_set(o, "finish_reason", v);
	calls = json_object_get(m, "tool_calls");
	if (json_is_array(calls) && json_array_size(calls) > 0) {
		/* Stored in OpenAI's shape, as Hermes's state.db has it. */
		oc = json_array();
		json_array_foreach(calls, i, tc)
			json_array_append_new(oc, json_pack("{s:O,s:s,s:{s:O,s:O}}",
			    "id", json_object_get(tc, "id"), "type", "function",
			    "function", "name", json_object_get(tc, "name"),
			    "arguments", json_object_get(tc, "arguments")));
		json_object_set_new(o, "tool_calls", oc);
	}
	return o;
}

static json_t *
msg_from_store(const json_t *row)
{
	json_t		*m = json_object(), *calls, *tc2, *v;
	const json_t	*tc, *fn;
	size_t		 i;

	json_object_set(m, "role", json_object_get(row, "role"));
	v = json_object_get(row, "content");
	json_object_set_new(m, "content", json_is_string(v) ?
	    json_incref((json_t *)v) : json_string(""));
	if (json_is_string(v = json_object_get(row, "tool_call_id")))
		json_object_set(m, "tool_call_id", v);
	if (json_is_string(v = json_object_get(row, "tool_name")))
		json_object_set(m, "name", v);
	if (json_is_string(v = json_object_get(row, "reasoning")) &&
	    json_string_length(v) > 0)
		json_object_set(m, "reasoning", v);
	v = json_object_get(row, "tool_calls");
	if (json_is_string(v))
		v = calls = json_loads(json_string_value(v), 0, NULL);
	else
		calls = NULL;
	if (json_is_array(v) && json_array_size(v) > 0) {
		tc2 = json_array();
		json_array_foreach(v, i, tc) {
			fn = json_object_get(tc, "function");
			if (!json_is_object(fn))
				fn = tc;
			json_array_append_new(tc2, json_pack("{s:O?,s:O?,s:O?}",
			    "id", json_object_get(tc, "id"), "name",
			    json_object_get(fn, "name"), "arguments",
			    json_object_get(fn, "arguments")));
		}
		json_object_set_new(m, "tool_calls", tc2);
	}
	json_decref(calls);
	return m;
}

static int
store_ok(struct ipc_msg *m, char *err, size_t len, json_t **result,
    uint64_t *count)
{
	int		 ok = 0;
	const char	*s;
	size_t		 n;

	if (result != NULL)
		*result = NULL;
	if (m == NULL) {
		strlcpy(err, "the store is not available", len);
		return 0;
	}
	if (m->type == IPC_MSG_ERROR) {
		if (ipc_get_str(m, "message", &s, &n) == 0)
			snprintf(err, len, "%.*s", (int)n, s);
		return 0;
	}
	(void)ipc_get_bool(m, "ok", &ok);
	if (count != NULL)
		(void)ipc_get_u64(m, "message_count", count);
	if (!ok) {
		if (ipc_get_str(m, "error", &s, &n) == 0)
			snprintf(err, len, "%.*s", (int)n, s);
		else
			strlcpy(err, "store error", len);
		return 0;
	}
	if (result != NULL && ipc_get_str(m, "result", &s, &n) == 0)
		*result = json_loadb(s, n, JSON_DECODE_ANY, NULL);
	return 1;
}


json_t *
agent_msg_from_store(const json_t *row)
{
	return msg_from_store(row);
}

json_t *
agent_msg_to_store(const char *sid, const json_t *m)
{
	return msg_to_store(sid, m);
}

int
agent_store_ok(struct ipc_msg *m, char *err, size_t len, json_t **result,
    uint64_t *count)
{
	return store_ok(m, err, len, result, count);
}

static void
persist(struct agent *a, struct session *s, const json_t *msg, pend_fn cb,
    int idx)
{
	(void)agent_store_with_id(a, agent_next_id(), "session.append",
	    msg_to_store(s->id, msg), cb, s, NULL, idx);
}

/* ---- the start of a turn ------------------------------------------- */

static void
on_loaded(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	struct session	*s = p->s;
	struct turn	*t = live(p);
	json_t		*res, *rows, *row;
	uint64_t	 count = 0;
	char		 err[256];
	size_t		 i;

	agent_pend_del(a, p);
	if (t == NULL)
		return;
	if (!store_ok(m, err, sizeof err, &res, &count)) {
		turn_end(a, s, 0, "store", err);
		return;
	}
	rows = json_object_get(res, "messages");
	json_decref(s->msgs);
	s->msgs = json_array();
	json_array_foreach(rows, i, row)
		json_array_append_new(s->msgs, msg_from_store(row));
	if (json_is_string(json_object_get(res, "system_prompt")) &&
	    json_string_length(json_object_get(res, "system_prompt")) > 0) {
		free(s->system_prompt);
		s->system_prompt = xstrdup(json_string_value(json_object_get(res,
		    "system_prompt")));
	}
	if (s->system_prompt == NULL)
		s->system_prompt = xstrdup(AGENT_DEFAULT_IDENTITY);
	json_decref(res);
	agent_cache_build(&s->rec, s->id, count ? count :
	    json_array_size(s->msgs));
	s->usage.last_real = 0;
	agent_session_touch(a, s);
	proceed(a, s);
}

static void
load_session(struct agent *a, struct session *s)
{
	s->turn->state = T_LOAD;
	agent_store(a, "session.load", json_pack("{s:s}", "session_id", s->id),
	    on_loaded, s, NULL);
}

static void
on_user_saved(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	struct session	*s = p->s;
	struct turn	*t = live(p);
	uint64_t	 count = 0;
	char		 err[256];

	agent_pend_del(a, p);
	if (t == NULL)
		return;
	if (!store_ok(m, err, sizeof err, NULL, &count)) {
		/* Not persisted: not part of the conversation either. */
		if (s->msgs != NULL && json_array_size(s->msgs) > 0)
			json_array_remove(s->msgs, json_array_size(s->msgs) - 1);
		turn_end(a, s, 0, "store", err);
		return;
	}
	/* Another process wrote since our baseline: rebuild from the store. */
	log_debug("session %s: stored %llu, baseline %llu (%s)", s->id,
	    (unsigned long long)count, (unsigned long long)s->rec.baseline,
	    s->msgs == NULL ? "cold" : "hot");
	if (s->msgs == NULL || s->system_prompt == NULL ||
	    agent_cache_check(&s->rec, s->id, count - 1) != CACHE_HIT) {
		load_session(a, s);
		return;
	}
	agent_cache_turn_done(&s->rec, s->id, count);
	proceed(a, s);
}

void
turn_start(struct agent *a, struct session *s, struct client *c,
    uint64_t input_id, const char *text)
{
	struct turn	*t = xcalloc(1, sizeof *t);
	json_t		*um;

	t->input_id = input_id;
	t->c = c;
	t->gen = ++a->gen;
	t->started_us = now_us();
	t->state = T_USER;
	s->turn = t;
	um = json_pack("{s:s,s:s}", "role", "user", "content", text);
	if (s->msgs != NULL)
		json_array_append(s->msgs, um);
	agent_session_touch(a, s);
	persist(a, s, um, on_user_saved, 0);
	json_decref(um);
}

void
turn_input(struct agent *a, struct session *s, struct client *c, uint64_t id,
    const char *text)
{
	struct turn	*t = s->turn;
	struct call	*cl;
	json_t		*r;
	size_t		 i;

	if (t == NULL) {
		turn_start(a, s, c, id, text);
		return;
	}
	if (t->state == T_CLARIFY && !t->cancelled) {
		/* The answer to a clarify question. */
		for (i = 0; i < t->ncalls; i++) {
			cl = &t->calls[i];
			if (cl->tool == NULL || strcmp(cl->name, "clarify") != 0 ||
			    cl->state != CALL_RUN)
				continue;
			r = json_pack("{s:O?,s:s}", "question",
			    json_object_get(cl->argv, "question"),
			    "user_response", text);
			cl->result = json_dumps(r, JSON_COMPACT);
			json_decref(r);
			cl->ok = 1;
			cl->state = CALL_DONE;
			t->running--;
		}
		t->state = T_TOOLS;
		try_persist(a, s);
		start_calls(a, s);
		return;
	}
	/* A new message interrupts and redirects the running turn. */
	free(t->queued);
	t->queued = xstrdup(text);
	t->queued_id = id;
	t->queued_c = c;
	turn_interrupt(a, s, "new input");
}

/* ---- compression before a call ------------------------------------ */

static uint64_t
prompt_estimate(struct session *s)
{
	uint64_t	 est;

	est = agent_tokens_text(s->system_prompt) +
	    agent_tokens_msgs(s->msgs, 0, json_array_size(s->msgs));
	if (s->usage.last_real && s->usage.last_prompt > est)
		est = s->usage.last_prompt;
	return est;
}

static void
after_compress(struct agent *a, struct session *s, int ok, void *arg)
{
	(void)arg;
	if (s->turn == NULL)
		return;
	if (s->turn->cancelled) {
		turn_end(a, s, 0, "interrupted", "interrupted");
		return;
	}
	model_call(a, s);
}

static void
proceed(struct agent *a, struct session *s)
{
	struct turn	*t = s->turn;

	if (t->cancelled) {
		turn_end(a, s, 0, "interrupted", "interrupted");
		return;
	}
	if (t->iter == 0 && t->overflow_retry == 0 && s->compress_hold > 0)
		s->compress_hold--;
	if (a->cfg.compression_on && s->compress_hold == 0 &&
	    prompt_estimate(s) >= agent_compress_threshold(&a->cfg,
	    s->model ? s->model : a->cfg.model)) {
		t->state = T_COMPRESS;
		compress_start(a, s, NULL, after_compress, NULL);
		return;
	}
	model_call(a, s);
}

/* ---- the model call -------------------------------------------------- */

/* ---- the request text ------------------------------------------------
 * Built by hand from cached pieces: the tools array text (byte-stable,
 * made once), the system message, and each message's JSON text cached
 * beside it (messages never change once appended), so a call costs a
 * copy of the history, not a re-serialisation. */

struct sb {
	char	*p;
	size_t	 len, cap;
};

static void
sb_addn(struct sb *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_add(struct sb *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

static void
sb_json(struct sb *b, json_t *v)
{
	char	*t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (t == NULL)
		fatalx("%s: json_dumps", __func__);
	sb_add(b, t);
	free(t);
	json_decref(v);
}

/* A message's text, with "cache":true when it carries a breakpoint. */
static void
sb_msg(struct sb *b, const char *txt, size_t len, int mark)
{
	if (!mark || len < 2) {
		sb_addn(b, txt, len);
		return;
	}
	sb_addn(b, txt, len - 1);
	sb_add(b, ",\"cache\":true}");
}

void
session_text_cache_clear(struct session *s)
{
	size_t	 i;

	for (i = 0; i < s->nmc; i++) {
		json_decref(s->mc[i].m);
		free(s->mc[i].txt);
	}
	free(s->mc);
	s->mc = NULL;
	s->nmc = 0;
	free(s->systext);
	s->systext = NULL;
	free(s->syssrc);
	s->syssrc = NULL;
}

static const char *
msg_text(struct session *s, size_t i, json_t *m, size_t *len)
{
	struct msgtext	*c;

	if (i >= s->nmc) {
		s->mc = xreallocarray(s->mc, i + 16, sizeof *s->mc);
		memset(s->mc + s->nmc, 0, (i + 16 - s->nmc) * sizeof *s->mc);
		s->nmc = i + 16;
	}
	c = &s->mc[i];
	/* The reference held keeps the address from being reused. */
	if (c->m != m) {
		json_decref(c->m);
		free(c->txt);
		c->m = json_incref(m);
		c->txt = json_dumps(m, JSON_COMPACT);
		if (c->txt == NULL)
			fatalx("%s: json_dumps", __func__);
		c->len = strlen(c->txt);
	}
	*len = c->len;
	return c->txt;
}

char *
turn_request_text(struct agent *a, struct session *s, int with_tools,
    json_t *extra)
{
	struct sb	 b = { NULL, 0, 0 };
	size_t		 i, n = json_array_size(s->msgs), ne, len, marks[3];
	size_t		 nmarks = 0, k;
	json_t		*m;
	const char	*txt;
	char		 num[48];

	ne = extra != NULL ? json_array_size(extra) : 0;
	/* system_and_3: the last 3 messages that can carry a breakpoint. */
	for (i = n + ne; i-- > 0 && nmarks < 3;) {
		m = i < n ? json_array_get(s->msgs, i) :
		    json_array_get(extra, i - n);
		if (agent_cacheable(m))
			marks[nmarks++] = i;
	}
	sb_add(&b, "{\"model\":");
	sb_json(&b, json_string(s->model ? s->model : a->cfg.model));
	sb_add(&b, ",\"stream\":true,\"cache_ttl\":");
	sb_json(&b, json_string(a->cfg.cache_ttl ? a->cfg.cache_ttl : "5m"));
	if (a->cfg.max_tokens > 0) {
		snprintf(num, sizeof num, ",\"max_tokens\":%llu",
		    (unsigned long long)a->cfg.max_tokens);
		sb_add(&b, num);
	}
	if (with_tools) {
		sb_add(&b, ",\"tools\":");
		sb_add(&b, a->tools_json);
	}
	sb_add(&b, ",\"messages\":[");
	if (s->systext == NULL || s->syssrc == NULL || s->system_prompt == NULL ||
	    strcmp(s->syssrc, s->system_prompt) != 0) {
		free(s->systext);
		free(s->syssrc);
		s->syssrc = xstrdup(s->system_prompt ? s->system_prompt : "");
		{
			json_t *sm = json_pack("{s:s,s:s,s:b}", "role",
			    "system", "content", s->syssrc, "cache", 1);
			s->systext = json_dumps(sm, JSON_COMPACT);
			json_decref(sm);
			if (s->systext == NULL)
				fatalx("%s: json_dumps", __func__);
		}
	}
	sb_add(&b, s->systext);
	for (i = 0; i < n + ne; i++) {
		int mark = 0;
		for (k = 0; k < nmarks; k++)
			if (marks[k] == i)
				mark = 1;
		sb_add(&b, ",");
		if (i < n) {
			txt = msg_text(s, i, json_array_get(s->msgs, i), &len);
			sb_msg(&b, txt, len, mark);
		} else {
			char *t = json_dumps(json_array_get(extra, i - n),
			    JSON_COMPACT);
			if (t == NULL)
				fatalx("%s: json_dumps", __func__);
			sb_msg(&b, t, strlen(t), mark);
			free(t);
		}
	}
	sb_add(&b, "]}");
	json_decref(extra);
	return b.p;
}

/* The same request as a JSON object (tests, summaries). */
json_t *
turn_request(struct agent *a, struct session *s, int with_tools,
    json_t *extra)
{
	char	*t = turn_request_text(a, s, with_tools, extra);
	json_t	*req = json_loads(t, 0, NULL);

	free(t);
	if (req == NULL)
		fatalx("%s: request is not JSON", __func__);
	return req;
}

uint64_t
agent_send_fetch_text(struct agent *a, uint64_t id, char *txt, pend_fn cb,
    struct session *s, void *ctx)
{
	struct ipc_buf	*b = ipc_new(IPC_MSG_FETCH_REQUEST, id);
	struct pend	*p;

	ipc_add_str(b, "request", txt);
	free(txt);
	p = agent_pend_add(a, id, ROLE_FETCH, cb, s, ctx);
	p->multi = 1;
	if (a->send(a, ROLE_FETCH, b) == -1)
		p->cb(a, p, NULL);
	return id;
}

uint64_t
agent_send_fetch(struct agent *a, uint64_t id, json_t *req, pend_fn cb,
    struct session *s, void *ctx)
{
	char	*txt = json_dumps(req, JSON_COMPACT);

	json_decref(req);
	if (txt == NULL)
		fatalx("%s: json_dumps", __func__);
	return agent_send_fetch_text(a, id, txt, cb, s, ctx);
}

static void
add_call(struct turn *t, struct ipc_msg *m)
{
	struct call	*c;

	if (t->ncalls >= AGENT_MAX_CALLS)
		return;
	t->calls = xreallocarray(t->calls, t->ncalls + 1, sizeof *t->calls);
	c = &t->calls[t->ncalls++];
	memset(c, 0, sizeof *c);
	c->id = ipc_get_strdup(m, "call_id");
	c->name = ipc_get_strdup(m, "name");
	c->args = ipc_get_strdup(m, "arguments");
	if (c->id == NULL)
		xasprintf(&c->id, "call_%zu", t->ncalls);
	if (c->name == NULL)
		c->name = xstrdup("");
	if (c->args == NULL)
		c->args = xstrdup("{}");
}

static void
record_usage(struct session *s, struct ipc_msg *m)
{
	uint64_t	 in = 0, out = 0, cr = 0, cw = 0, r = 0;

	(void)ipc_get_u64(m, "input_tokens", &in);
	(void)ipc_get_u64(m, "output_tokens", &out);
	(void)ipc_get_u64(m, "cache_read", &cr);
	(void)ipc_get_u64(m, "cache_write", &cw);
	(void)ipc_get_u64(m, "reasoning_tokens", &r);
	s->usage.input += in;
	s->usage.output += out;
	s->usage.cache_read += cr;
	s->usage.cache_write += cw;
	s->usage.reasoning += r;
	s->usage.last_prompt = in + cr + cw;
	s->usage.last_real = 1;
}

static void	model_done(struct agent *, struct session *);

static void
on_fetch(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	struct session	*s = p->s;
	struct turn	*t = live(p);
	const char	*kind = "error", *txt;
	size_t		 n;
	char		*cls = NULL, *msg = NULL;

	if (m != NULL && m->type == IPC_MSG_FETCH_EVENT &&
	    ipc_get_str(m, "kind", &txt, &n) == 0) {
		static const char *const kinds[] = { "text", "reasoning",
		    "tool_call", "usage", "retry", "done", "error" };
		size_t i;

		kind = NULL;
		for (i = 0; i < nitems(kinds); i++)
			if (strlen(kinds[i]) == n && memcmp(kinds[i], txt, n) == 0)
				kind = kinds[i];
		/* A kind this agent does not know (e.g. "signature"): not
		 * an error, nothing to do with it. */
		if (kind == NULL) {
			log_debug("fetch event \"%.*s\" ignored", (int)n, txt);
			return;
		}
	}
	if (t == NULL || t->fetch_id != p->id) {
		if (strcmp(kind, "done") == 0 || strcmp(kind, "error") == 0 ||
		    m == NULL)
			agent_pend_del(a, p);
		return;
	}
	if (strcmp(kind, "text") == 0 || strcmp(kind, "reasoning") == 0) {
		if (ipc_get_str(m, "text", &txt, &n) == -1)
			return;
		if (kind[0] == 't')
			grow(&t->text, &t->textlen, txt, n);
		else
			grow(&t->reasoning, &t->reasonlen, txt, n);
		if (!t->cancelled) {
			char *piece = xstrndup(txt, n);
			agent_event(t->c, t->input_id, kind, piece);
			free(piece);
		}
		return;
	}
	if (strcmp(kind, "tool_call") == 0) {
		add_call(t, m);
		return;
	}
	if (strcmp(kind, "usage") == 0) {
		record_usage(s, m);
		return;
	}
	if (strcmp(kind, "retry") == 0) {
		msg = ipc_get_strdup(m, "message");
		agent_event(t->c, t->input_id, "notice", msg != NULL ? msg :
		    "retrying the model call");
		free(msg);
		return;
	}
	/* done or error: the call is over. */
	agent_pend_del(a, p);
	t->fetch_id = 0;
	s->usage.calls++;
	if (strcmp(kind, "done") == 0) {
		free(t->finish);
		t->finish = ipc_get_strdup(m, "finish_reason");
		model_done(a, s);
		return;
	}
	if (m != NULL) {
		cls = ipc_get_strdup(m, "error_class");
		msg = ipc_get_strdup(m, "message");
	}
	if (cls != NULL && strcmp(cls, "cancelled") == 0)
		t->cancelled = 1;
	else if (cls != NULL && strcmp(cls, "context_overflow") == 0 &&
	    !t->overflow_retry && t->textlen == 0 && t->ncalls == 0) {
		/* Compress and try once more. */
		t->overflow_retry = 1;
		free(cls);
		free(msg);
		t->state = T_COMPRESS;
		compress_start(a, s, NULL, after_compress, NULL);
		return;
	} else {
		t->failed = 1;
		agent_event_ex(t->c, t->input_id, "error", "code",
		    cls ? cls : "fetch", "text", msg ? msg :
		    (m == NULL ? "llm-fetch went away" : "model call failed"));
	}
	free(cls);
	free(msg);
	model_done(a, s);
}

static void
model_call(struct agent *a, struct session *s)
{
	struct turn	*t = s->turn;
	json_t		*extra = NULL;
	char		*req;
	size_t		 i;

	/* A fresh slate for this call. */
	for (i = 0; i < t->ncalls; i++) {
		free(t->calls[i].id);
		free(t->calls[i].name);
		free(t->calls[i].args);
		json_decref(t->calls[i].argv);
		free(t->calls[i].result);
	}
	free(t->calls);
	t->calls = NULL;
	t->ncalls = t->next = t->running = t->persist_next = 0;
	free(t->text);
	t->text = NULL;
	t->textlen = 0;
	free(t->reasoning);
	t->reasoning = NULL;
	t->reasonlen = 0;
	if (t->grace)
		extra = json_pack("[{s:s,s:s}]", "role", "user", "content",
		    t->grace_why != NULL ? t->grace_why : grace_budget);
	req = turn_request_text(a, s, !t->grace, extra);
	if (t->grace)
		t->grace = 2;	/* used */
	t->state = T_MODEL;
	/* The id is known before the send, so a failed send finds it. */
	t->fetch_id = agent_next_id();
	(void)agent_send_fetch_text(a, t->fetch_id, req, on_fetch, s, NULL);
}

/* ---- after the model answered --------------------------------------- */

static void
on_assist_saved(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	struct session	*s = p->s;
	struct turn	*t = live(p);
	uint64_t	 count = 0;
	char		 err[256];
	size_t		 i;
	struct call	*c;
	char		*ej;

	agent_pend_del(a, p);
	if (t == NULL)
		return;
	if (!store_ok(m, err, sizeof err, NULL, &count)) {
		turn_end(a, s, 0, "store", err);
		return;
	}
	agent_cache_turn_done(&s->rec, s->id, count);
	if (t->failed) {
		turn_end(a, s, 0, "fetch", t->text ? t->text : "");
		return;
	}
	if (t->ncalls == 0) {
		turn_end(a, s, !t->cancelled, t->cancelled ? "interrupted" :
		    NULL, t->text ? t->text : "");
		return;
	}
	t->iter++;
	t->tool_iters++;
	t->state = T_TOOLS;
	for (i = 0; i < t->ncalls; i++) {
		c = &t->calls[i];
		c->tool = agent_tool_find(c->name);
		if (c->tool == NULL || !agent_tool_enabled(&a->cfg, c->tool)) {
			c->result = agent_tool_error("Unknown tool '%s'. "
			    "Available tools are listed in your tool "
			    "definitions.", c->name);
			c->state = CALL_DONE;
			continue;
		}
		c->argv = agent_tool_check_args(c->tool, c->args,
		    strlen(c->args), &ej);
		if (c->argv == NULL) {
			c->result = ej;
			c->state = CALL_DONE;
		}
		if (strcmp(c->name, "skill_manage") == 0)
			t->used_skill_manage = 1;
		if (t->cancelled && c->state != CALL_DONE) {
			c->result = agent_tool_error("Interrupted: the user "
			    "stopped the turn before this call ran.");
			c->state = CALL_DONE;
		}
	}
	start_calls(a, s);
	try_persist(a, s);
}

static void
model_done(struct agent *a, struct session *s)
{
	struct turn	*t = s->turn;
	json_t		*am, *calls;
	size_t		 i;

	if (t->cancelled || t->failed || t->grace == 2) {
		/* No tool calls after an interrupt, a failure or the grace
		 * call: record only the text. */
		for (i = 0; i < t->ncalls; i++) {
			free(t->calls[i].id);
			free(t->calls[i].name);
			free(t->calls[i].args);
		}
		free(t->calls);
		t->calls = NULL;
		t->ncalls = 0;
	}
	if (t->textlen == 0 && t->ncalls == 0 && (t->cancelled || t->failed)) {
		turn_end(a, s, 0, t->cancelled ? "interrupted" : "fetch",
		    t->cancelled ? "interrupted" : "model call failed");
		return;
	}
	am = json_pack("{s:s,s:s}", "role", "assistant", "content",
	    t->text ? t->text : "");
	if (t->reasoning != NULL)
		json_object_set_new(am, "reasoning", json_string(t->reasoning));
	if (t->finish != NULL)
		json_object_set_new(am, "finish_reason", json_string(t->finish));
	if (t->ncalls > 0) {
		calls = json_array();
		for (i = 0; i < t->ncalls; i++)
			json_array_append_new(calls, json_pack("{s:s,s:s,s:s}",
			    "id", t->calls[i].id, "name", t->calls[i].name,
			    "arguments", t->calls[i].args));
		json_object_set_new(am, "tool_calls", calls);
	}
	t->state = T_ASSIST;
	json_array_append(s->msgs, am);
	persist(a, s, am, on_assist_saved, 0);
	json_decref(am);
}

/* ---- tool calls ------------------------------------------------------ */

static int
result_failed(const char *out)
{
	json_t	*o;
	int	 failed = 0;

	if (out == NULL)
		return 1;
	o = json_loads(out, 0, NULL);
	if (json_is_object(o)) {
		json_t *e = json_object_get(o, "error");
		/* {"error": null} (tool-local's shape) is a success. */
		if ((e != NULL && !json_is_null(e) && !(json_is_string(e) &&
		    json_string_length(e) == 0)) ||
		    json_is_false(json_object_get(o, "success")))
			failed = 1;
	}
	json_decref(o);
	return failed;
}

static void
call_finished(struct agent *a, struct session *s, struct call *c)
{
	struct turn	*t = s->turn;
	char		*sig;
	json_t		*canon;

	a->tool_calls_done++;
	if (!c->ok || result_failed(c->result)) {
		c->ok = 0;
		canon = c->argv != NULL ? c->argv : NULL;
		{
			char *at = canon ? json_dumps(canon, JSON_COMPACT |
			    JSON_SORT_KEYS) : xstrdup(c->args);
			xasprintf(&sig, "%s %s", c->name, at ? at : "");
			free(at);
		}
		if (t->fail_sig != NULL && strcmp(t->fail_sig, sig) == 0)
			t->fail_count++;
		else {
			free(t->fail_sig);
			t->fail_sig = xstrdup(sig);
			t->fail_count = 1;
		}
		free(sig);
	} else if (t->fail_sig != NULL) {
		free(t->fail_sig);
		t->fail_sig = NULL;
		t->fail_count = 0;
	}
}

static void
on_tool(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	struct session	*s = p->s;
	struct turn	*t = live(p);
	struct call	*c;
	const char	*txt;
	size_t		 n;
	uint64_t	 ms = 0, aid = 0, pid;
	char		*cmd, *reason;

	if (t == NULL || (size_t)p->idx >= t->ncalls ||
	    t->calls[p->idx].req != p->id) {
		if (m == NULL || m->type != IPC_MSG_TOOL_APPROVAL)
			agent_pend_del(a, p);
		return;
	}
	c = &t->calls[p->idx];
	if (m != NULL && m->type == IPC_MSG_TOOL_APPROVAL) {
		(void)ipc_get_u64(m, "approval_id", &aid);
		cmd = ipc_get_strdup(m, "command");
		reason = ipc_get_strdup(m, "reason");
		free(t->approval_pattern);
		t->approval_pattern = ipc_get_strdup(m, "pattern");
		t->approval_id = aid;
		t->approval_call = p->id;
		if (t->c != NULL) {
			struct ipc_buf *b = ipc_new(IPC_MSG_CHAT_EVENT,
			    t->input_id);
			ipc_add_str(b, "kind", "approval");
			ipc_add_u64(b, "approval_id", aid);
			ipc_add_str(b, "text", cmd ? cmd : "");
			ipc_add_str(b, "reason", reason ? reason : "");
			ipc_add_str(b, "call_id", c->id);
			if (t->c->peer != NULL)
				(void)ipc_peer_send(t->c->peer, b);
			else
				ipc_buf_free(b);
		}
		free(cmd);
		free(reason);
		return;
	}
	pid = p->id;
	agent_pend_del(a, p);
	if (m == NULL) {
		c->result = agent_tool_error("The tool runner went away while "
		    "running this call; it may be restarting. Try again.");
		c->ok = 0;
	} else if (m->type == IPC_MSG_ERROR) {
		char *e = ipc_get_strdup(m, "message");
		c->result = agent_tool_error("%s", e ? e : "tool error");
		free(e);
		c->ok = 0;
	} else {
		c->ok = 0;
		(void)ipc_get_bool(m, "ok", &c->ok);
		(void)ipc_get_u64(m, "ms", &ms);
		if (ipc_get_str(m, "output", &txt, &n) == 0)
			c->result = xstrndup(txt, n);
		else
			c->result = xstrdup("");
	}
	if (t->approval_call == pid)
		t->approval_call = 0;
	c->state = CALL_DONE;
	t->running--;
	call_finished(a, s, c);
	try_persist(a, s);
	start_calls(a, s);
}

static void
on_store_tool(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	struct session	*s = p->s;
	struct turn	*t = live(p);
	struct call	*c;
	json_t		*res;
	char		 err[256];

	uint64_t	 pid = p->id;
	int		 idx = p->idx;

	agent_pend_del(a, p);
	if (t == NULL || (size_t)idx >= t->ncalls || t->calls[idx].req != pid)
		return;
	c = &t->calls[idx];
	if (store_ok(m, err, sizeof err, &res, NULL)) {
		/* Tool-shaped ops: a JSON string holding the tool's text. */
		if (json_is_string(res))
			c->result = xstrdup(json_string_value(res));
		else
			c->result = json_dumps(res, JSON_COMPACT | JSON_ENCODE_ANY);
		c->ok = 1;
		json_decref(res);
	} else {
		c->result = agent_tool_error("%s", err);
		c->ok = 0;
	}
	c->state = CALL_DONE;
	t->running--;
	call_finished(a, s, c);
	try_persist(a, s);
	start_calls(a, s);
}

/* The todo tool (Hermes's tools/todo_tool.py semantics). */
char *
todo_apply(json_t **todos, const json_t *args)
{
	const json_t	*items = json_object_get(args, "todos"), *it;
	json_t		*old;
	int		 merge = json_is_true(json_object_get(args, "merge"));
	size_t		 i, j;
	json_t		*out, *sum;
	char		*s;
	unsigned	 cnt[4] = { 0, 0, 0, 0 };
	static const char *const st[] = { "pending", "in_progress", "completed",
	    "cancelled" };

	if (*todos == NULL)
		*todos = json_array();
	if (json_is_array(items)) {
		if (!merge)
			json_array_clear(*todos);
		json_array_foreach(items, i, it) {
			int found = 0;
			if (merge) {
				json_array_foreach(*todos, j, old) {
					if (json_equal(json_object_get(old, "id"),
					    json_object_get(it, "id"))) {
						{
						json_t *cp = json_deep_copy(it);
						if (json_object_update(old, cp) == -1)
							log_warnx("todo: update");
						json_decref(cp);
					}
						found = 1;
						break;
					}
				}
			}
			if (!found)
				json_array_append_new(*todos, json_deep_copy(it));
		}
	}
	json_array_foreach(*todos, i, it)
		for (j = 0; j < nitems(st); j++)
			if (json_is_string(json_object_get(it, "status")) &&
			    strcmp(json_string_value(json_object_get(it,
			    "status")), st[j]) == 0)
				cnt[j]++;
	sum = json_pack("{s:i,s:i,s:i,s:i,s:i}", "total",
	    (int)json_array_size(*todos), "pending", cnt[0], "in_progress",
	    cnt[1], "completed", cnt[2], "cancelled", cnt[3]);
	out = json_pack("{s:O,s:o}", "todos", *todos, "summary", sum);
	s = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	return s;
}

static void
summarize_args(const struct call *c, char *buf, size_t len)
{
	size_t	 i;

	snprintf(buf, len, "%s", c->args);
	if (strlen(c->args) >= AGENT_ARGS_SUMMARY && len > AGENT_ARGS_SUMMARY) {
		i = AGENT_ARGS_SUMMARY - 4;
		while (i > 0 && ((unsigned char)buf[i] & 0xc0) == 0x80)
			i--;
		strlcpy(buf + i, "...", len - i);
	}
}

static void
launch(struct agent *a, struct session *s, size_t idx)
{
	struct turn	*t = s->turn;
	struct call	*c = &t->calls[idx];
	struct ipc_buf	*b;
	struct pend	*p;
	char		*txt, argsum[AGENT_ARGS_SUMMARY + 8];
	json_t		*args;

	c->state = CALL_RUN;
	c->started_us = now_us();
	t->running++;
	summarize_args(c, argsum, sizeof argsum);
	if (t->c != NULL) {
		b = ipc_new(IPC_MSG_CHAT_EVENT, t->input_id);
		ipc_add_str(b, "kind", "tool_start");
		ipc_add_str(b, "name", c->name);
		ipc_add_str(b, "args", argsum);
		ipc_add_str(b, "call_id", c->id);
		if (t->c->peer != NULL)
			(void)ipc_peer_send(t->c->peer, b);
		else
			ipc_buf_free(b);
	}
	switch (c->tool->owner) {
	case OWNER_TOOL:
		c->req = agent_next_id();
		b = ipc_new(IPC_MSG_TOOL_CALL, c->req);
		txt = json_dumps(c->argv, JSON_COMPACT);
		ipc_add_str(b, "name", c->name);
		ipc_add_str(b, "args", txt ? txt : "{}");
		ipc_add_str(b, "session", s->id);
		ipc_add_str(b, "call_id", c->id);
		free(txt);
		p = agent_pend_add(a, c->req, ROLE_TOOL, on_tool, s, NULL);
		p->idx = (int)idx;
		p->multi = 1;
		if (a->send(a, ROLE_TOOL, b) == -1)
			p->cb(a, p, NULL);
		break;
	case OWNER_STORE:
		args = json_deep_copy(c->argv);
		if (strcmp(c->name, "session_search") == 0)
			json_object_set_new(args, "current_session_id",
			    json_string(s->id));
		c->req = agent_next_id();
		agent_store_with_id(a, c->req, c->tool->store_op, args,
		    on_store_tool, s, NULL, (int)idx);
		break;
	case OWNER_AGENT:
		if (strcmp(c->name, "todo") == 0) {
			c->result = todo_apply(&s->todos, c->argv);
			c->ok = 1;
			c->state = CALL_DONE;
			t->running--;
			call_finished(a, s, c);
		} else {
			/* clarify: the next CHAT_INPUT answers it. */
			t->state = T_CLARIFY;
			if (t->c != NULL) {
				b = ipc_new(IPC_MSG_CHAT_EVENT, t->input_id);
				ipc_add_str(b, "kind", "clarify");
				ipc_add_str(b, "text", json_string_value(
				    json_object_get(c->argv, "question")));
				if (json_is_array(json_object_get(c->argv,
				    "choices"))) {
					txt = json_dumps(json_object_get(c->argv,
					    "choices"), JSON_COMPACT);
					ipc_add_str(b, "data", txt ? txt : "[]");
					free(txt);
				}
				ipc_add_str(b, "call_id", c->id);
				if (t->c->peer != NULL)
					(void)ipc_peer_send(t->c->peer, b);
				else
					ipc_buf_free(b);
			} else {
				c->result = agent_tool_error("clarify is not "
				    "available: no user is attached to this "
				    "session. Proceed with your best judgement.");
				c->state = CALL_DONE;
				t->running--;
			}
		}
		break;
	}
}

/* Start what may start: a read-only call joins a running read-only
 * batch (up to AGENT_PARALLEL_MAX); anything else runs alone. */
static void
start_calls(struct agent *a, struct session *s)
{
	struct turn	*t = s->turn;
	struct call	*c;
	size_t		 i;
	int		 batch_ro;

	if (t == NULL || t->state != T_TOOLS)
		return;
	while (t->next < t->ncalls) {
		c = &t->calls[t->next];
		if (c->state == CALL_DONE) {
			t->next++;
			continue;
		}
		if (t->cancelled) {
			c->result = agent_tool_error("Interrupted: the user "
			    "stopped the turn before this call ran.");
			c->state = CALL_DONE;
			t->next++;
			continue;
		}
		if (t->running > 0) {
			batch_ro = 1;
			for (i = 0; i < t->next; i++)
				if (t->calls[i].state == CALL_RUN &&
				    !t->calls[i].tool->readonly)
					batch_ro = 0;
			if (!batch_ro || !c->tool->readonly ||
			    t->running >= AGENT_PARALLEL_MAX)
				break;
		}
		t->next++;
		launch(a, s, t->next - 1);
		if (s->turn != t || t->state == T_CLARIFY)
			return;
		if (!c->tool->readonly && c->state == CALL_RUN)
			break;
	}
	try_persist(a, s);
}

static void	after_tools(struct agent *, struct session *);

static void
on_tool_saved(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	struct session	*s = p->s;
	struct turn	*t = live(p);
	struct call	*c;
	uint64_t	 count = 0;
	char		 err[256], ms[32];
	struct ipc_buf	*b;

	int		 idx = p->idx;

	agent_pend_del(a, p);
	if (t == NULL || (size_t)idx >= t->ncalls)
		return;
	c = &t->calls[idx];
	if (!store_ok(m, err, sizeof err, NULL, &count)) {
		turn_end(a, s, 0, "store", err);
		return;
	}
	agent_cache_turn_done(&s->rec, s->id, count);
	c->persisted = 2;
	/* Persisted: now the client may hear of it. */
	if (t->c != NULL && t->c->peer != NULL) {
		char *oneline = agent_tool_oneline(c->name, c->argv, c->result);
		b = ipc_new(IPC_MSG_CHAT_EVENT, t->input_id);
		ipc_add_str(b, "kind", "tool_end");
		ipc_add_str(b, "name", c->name);
		ipc_add_str(b, "call_id", c->id);
		ipc_add_u64(b, "ms", c->started_us ?
		    (now_us() - c->started_us) / 1000 : 0);
		ipc_add_bool(b, "ok", c->ok);
		ipc_add_str(b, "text", oneline);
		free(oneline);
		(void)ipc_peer_send(t->c->peer, b);
	}
	(void)ms;
	if (t->persist_next == t->ncalls && t->running == 0) {
		size_t i;
		for (i = 0; i < t->ncalls; i++)
			if (t->calls[i].persisted != 2)
				return;
		after_tools(a, s);
	}
}

/* Results join the conversation in call order. */
static void
try_persist(struct agent *a, struct session *s)
{
	struct turn	*t = s->turn;
	struct call	*c;
	json_t		*tm;

	if (t == NULL)
		return;
	while (t->persist_next < t->ncalls &&
	    t->calls[t->persist_next].state == CALL_DONE) {
		c = &t->calls[t->persist_next];
		tm = json_pack("{s:s,s:s,s:s,s:s}", "role", "tool", "content",
		    c->result ? c->result : "", "tool_call_id", c->id, "name",
		    c->name);
		json_array_append(s->msgs, tm);
		c->persisted = 1;
		persist(a, s, tm, on_tool_saved, (int)t->persist_next);
		json_decref(tm);
		t->persist_next++;
		if (s->turn != t)
			return;
	}
}

static void
after_tools(struct agent *a, struct session *s)
{
	struct turn	*t = s->turn;

	if (t->cancelled) {
		turn_end(a, s, 0, "interrupted", "interrupted");
		return;
	}
	if (t->fail_count >= AGENT_LOOP_GUARD) {
		agent_event(t->c, t->input_id, "notice", "Loop guard: the same "
		    "tool call failed 3 times in a row; asking the model to "
		    "stop and explain.");
		t->grace = 1;
		t->grace_why = grace_guard;
	} else if (t->iter >= a->cfg.max_turns) {
		char note[128];
		snprintf(note, sizeof note, "Iteration budget of %u reached; "
		    "one last call for a final answer.", a->cfg.max_turns);
		agent_event(t->c, t->input_id, "notice", note);
		t->grace = 1;
		t->grace_why = grace_budget;
	}
	proceed(a, s);
}

/* ---- the end of a turn ------------------------------------------------ */

static void
turn_end(struct agent *a, struct session *s, int ok, const char *code,
    const char *text)
{
	struct turn	*t = s->turn;
	struct ipc_buf	*b;
	json_t		*u;
	char		*ut, *queued;
	uint64_t	 qid;
	struct client	*qc;
	int		 due = 0;

	if (t == NULL)
		return;
	if (t->c != NULL && t->c->peer != NULL) {
		if (!ok && code != NULL && strcmp(code, "interrupted") != 0 &&
		    strcmp(code, "fetch") != 0)
			agent_event_ex(t->c, t->input_id, "error", "code", code,
			    "text", text);
		u = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s?}",
		    "input_tokens", (json_int_t)s->usage.input,
		    "output_tokens", (json_int_t)s->usage.output,
		    "cache_read_tokens", (json_int_t)s->usage.cache_read,
		    "cache_write_tokens", (json_int_t)s->usage.cache_write,
		    "reasoning_tokens", (json_int_t)s->usage.reasoning,
		    "api_calls", (json_int_t)s->usage.calls,
		    "iterations", (json_int_t)t->iter,
		    "ms", (json_int_t)((now_us() - t->started_us) / 1000),
		    "code", code);
		ut = json_dumps(u, JSON_COMPACT);
		json_decref(u);
		b = ipc_new(IPC_MSG_CHAT_EVENT, t->input_id);
		ipc_add_str(b, "kind", "done");
		ipc_add_str(b, "text", ok ? (text ? text : "") :
		    (t->text ? t->text : ""));
		ipc_add_bool(b, "ok", ok);
		if (code != NULL)
			ipc_add_str(b, "code", code);
		if (ut != NULL)
			ipc_add_str(b, "data", ut);
		free(ut);
		(void)ipc_peer_send(t->c->peer, b);
	}
	a->turns_done++;
	if (ok)
		due = agent_learn_turn_done(&s->learn, a->cfg.memory_nudge,
		    a->cfg.skill_nudge, t->tool_iters, t->used_skill_manage);
	if (a->cfg.save_trajectories && s->msgs != NULL)
		trajectory_save(a, s, ok);
	queued = t->queued;
	t->queued = NULL;
	qid = t->queued_id;
	qc = t->queued_c;
	s->turn = NULL;
	turn_free(t);
	if (due != 0 && !s->reviewing && s->msgs != NULL)
		review_start(a, s, due);
	if (queued != NULL) {
		turn_start(a, s, qc, qid, queued);
		free(queued);
	}
}

void
turn_interrupt(struct agent *a, struct session *s, const char *why)
{
	struct turn	*t = s->turn;
	struct ipc_buf	*b;
	size_t		 i;
	struct call	*c;

	if (t == NULL || t->cancelled)
		return;
	t->cancelled = 1;
	log_debug("session %s: interrupt (%s)", s->id, why);
	switch (t->state) {
	case T_MODEL:
		if (t->fetch_id != 0) {
			b = ipc_new(IPC_MSG_FETCH_CANCEL, t->fetch_id);
			if (a->send(a, ROLE_FETCH, b) == -1)
				log_warnx("cancel: no llm-fetch");
		}
		break;
	case T_TOOLS:
	case T_CLARIFY:
		for (i = 0; i < t->ncalls; i++) {
			c = &t->calls[i];
			if (c->state == CALL_RUN && c->tool->owner == OWNER_TOOL) {
				b = ipc_new(IPC_MSG_TOOL_CANCEL, c->req);
				(void)a->send(a, ROLE_TOOL, b);
			} else if (c->state == CALL_RUN &&
			    c->tool->owner == OWNER_AGENT) {
				c->result = agent_tool_error("The user "
				    "interrupted before answering.");
				c->state = CALL_DONE;
				t->running--;
			}
		}
		t->state = T_TOOLS;
		start_calls(a, s);
		try_persist(a, s);
		break;
	default:
		/* Persisting or loading: the next step sees the flag. */
		break;
	}
}

void
turn_approve(struct agent *a, struct client *c, uint64_t approval_id,
    const char *choice)
{
	struct session	*s = c->s;
	struct turn	*t = s != NULL ? s->turn : NULL;
	struct ipc_buf	*b;

	if (t == NULL || t->approval_call == 0 || t->approval_id != approval_id) {
		agent_event_ex(c, 0, "error", "code", "approval", "text",
		    "no such approval is pending");
		return;
	}
	b = ipc_new(IPC_MSG_TOOL_APPROVE, t->approval_call);
	ipc_add_u64(b, "approval_id", approval_id);
	ipc_add_str(b, "choice", choice);
	(void)a->send(a, ROLE_TOOL, b);
	if (strcmp(choice, "always") == 0 && t->approval_pattern != NULL &&
	    a->send_sup != NULL) {
		b = ipc_new(IPC_MSG_ALLOWLIST_ADD, 0);
		ipc_add_str(b, "pattern", t->approval_pattern);
		(void)a->send_sup(a, b);
	}
	t->approval_call = 0;
}

void
turn_tool_notify(struct agent *a, const char *sid, const char *text)
{
	struct session	*s = agent_session_by_id(a, sid);
	struct client	*c, *found = NULL;

	if (s == NULL)
		return;
	TAILQ_FOREACH(c, &a->clients, entry)
		if (c->s == s)
			found = c;
	if (s->turn == NULL)
		turn_start(a, s, found, 0, text);
	else if (s->turn->queued == NULL) {
		s->turn->queued = xstrdup(text);
		s->turn->queued_c = found;
	}
}

/* ---- background review (memory and skill nudges) ------------------------- */

struct review {
	int		 mask;
	json_t		*msgs;		/* extra messages after the conversation */
	json_t		*changes;
	unsigned	 iter;
	uint64_t	 fetch_id;
	char		*text;
	size_t		 textlen;
	json_t		*calls;		/* [{id,name,arguments}] */
	size_t		 pending;	/* store calls outstanding */
	json_t		*results;	/* tool messages in call order */
};

#define REVIEW_MAX_ITER	5

static void	review_call(struct agent *, struct session *, struct review *);

static void
review_finish(struct agent *a, struct session *s, struct review *r)
{
	char	*note;

	note = agent_review_notice(r->changes);
	if (note != NULL) {
		agent_notice(a, s, note);
		log_info("session %s: %s", s->id, note);
		free(note);
	}
	s->reviewing = 0;
	json_decref(r->msgs);
	json_decref(r->changes);
	json_decref(r->calls);
	json_decref(r->results);
	free(r->text);
	free(r);
}

static void
on_review_store(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	struct review	*r = p->ctx;
	struct session	*s = p->s;
	json_t		*res, *call, *args, *tm;
	char		 err[256], *out;
	int		 ok;

	size_t		 idx = (size_t)p->idx;

	call = json_array_get(r->calls, idx);
	agent_pend_del(a, p);
	ok = store_ok(m, err, sizeof err, &res, NULL);
	if (ok)
		out = json_is_string(res) ? xstrdup(json_string_value(res)) :
		    json_dumps(res, JSON_COMPACT | JSON_ENCODE_ANY);
	else
		out = agent_tool_error("%s", err);
	json_decref(res);
	args = json_loads(json_string_value(json_object_get(call, "arguments")),
	    0, NULL);
	json_array_append_new(r->changes, json_pack("{s:O,s:o,s:b}", "tool",
	    json_object_get(call, "name"), "args", args ? args : json_object(),
	    "ok", ok && !result_failed(out)));
	tm = json_pack("{s:s,s:s,s:O,s:O}", "role", "tool", "content", out,
	    "tool_call_id", json_object_get(call, "id"), "name",
	    json_object_get(call, "name"));
	json_array_set_new(r->results, idx, tm);
	free(out);
	if (--r->pending == 0) {
		size_t i;
		json_t *t;
		json_array_foreach(r->results, i, t)
			json_array_append(r->msgs, t);
		review_call(a, s, r);
	}
}

static void
on_review_fetch(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	struct review	*r = p->ctx;
	struct session	*s = p->s;
	const char	*k, *txt;
	size_t		 n, i;
	json_t		*call, *am, *args;
	const struct agent_tool *tool;
	char		*ej;

	if (m != NULL && (ipc_get_str(m, "kind", &k, &n) == -1 ||
	    (strncmp(k, "done", n) != 0 && strncmp(k, "error", n) != 0))) {
		if (n == 4 && strncmp(k, "text", 4) == 0 &&
		    ipc_get_str(m, "text", &txt, &n) == 0)
			grow(&r->text, &r->textlen, txt, n);
		else if (n == 9 && strncmp(k, "tool_call", 9) == 0) {
			char *cid = ipc_get_strdup(m, "call_id");
			char *nm = ipc_get_strdup(m, "name");
			char *ar = ipc_get_strdup(m, "arguments");
			json_array_append_new(r->calls, json_pack("{s:s,s:s,s:s}",
			    "id", cid ? cid : "call", "name", nm ? nm : "",
			    "arguments", ar ? ar : "{}"));
			free(cid);
			free(nm);
			free(ar);
		}
		return;
	}
	agent_pend_del(a, p);
	if (m == NULL || strncmp(k, "error", n) == 0 ||
	    json_array_size(r->calls) == 0) {
		review_finish(a, s, r);
		return;
	}
	/* The assistant's calls, then each allowed call on the store. */
	am = json_pack("{s:s,s:s,s:O}", "role", "assistant", "content",
	    r->text ? r->text : "", "tool_calls", r->calls);
	json_array_append_new(r->msgs, am);
	json_decref(r->results);
	r->results = json_array();
	json_array_foreach(r->calls, i, call)
		json_array_append_new(r->results, json_null());
	json_array_foreach(r->calls, i, call) {
		const char *name = json_string_value(json_object_get(call,
		    "name"));
		const char *argt = json_string_value(json_object_get(call,
		    "arguments"));
		tool = agent_tool_find(name);
		if (tool == NULL || !agent_review_tool_ok(name) ||
		    tool->owner != OWNER_STORE) {
			ej = agent_tool_error("Only memory and skill tools are "
			    "available during a background review.");
			json_array_set_new(r->results, i, json_pack(
			    "{s:s,s:s,s:O,s:s}", "role", "tool", "content", ej,
			    "tool_call_id", json_object_get(call, "id"), "name",
			    name ? name : ""));
			free(ej);
			continue;
		}
		args = agent_tool_check_args(tool, argt, strlen(argt), &ej);
		if (args == NULL) {
			json_array_set_new(r->results, i, json_pack(
			    "{s:s,s:s,s:O,s:s}", "role", "tool", "content", ej,
			    "tool_call_id", json_object_get(call, "id"), "name",
			    name));
			free(ej);
			continue;
		}
		r->pending++;
		(void)agent_store_with_id(a, agent_next_id(), tool->store_op,
		    args, on_review_store, s, r, (int)i);
	}
	if (r->pending == 0) {
		json_t *t;
		json_array_foreach(r->results, i, t)
			json_array_append(r->msgs, t);
		review_call(a, s, r);
	}
}

static void
review_call(struct agent *a, struct session *s, struct review *r)
{
	char	*req;

	if (r->iter++ >= REVIEW_MAX_ITER || s->msgs == NULL) {
		review_finish(a, s, r);
		return;
	}
	json_decref(r->calls);
	r->calls = json_array();
	free(r->text);
	r->text = NULL;
	r->textlen = 0;
	/* The conversation as the main loop sends it (same prefix, same
	 * tools: the prompt cache carries over), then the review. */
	req = turn_request_text(a, s, 1, json_deep_copy(r->msgs));
	r->fetch_id = agent_next_id();
	(void)agent_send_fetch_text(a, r->fetch_id, req, on_review_fetch, s, r);
}

void
review_start(struct agent *a, struct session *s, int mask)
{
	struct review	*r = xcalloc(1, sizeof *r);

	r->mask = mask;
	r->msgs = json_pack("[{s:s,s:s}]", "role", "user", "content",
	    agent_review_prompt(mask));
	r->changes = json_array();
	r->calls = json_array();
	r->results = json_array();
	s->reviewing = 1;
	log_debug("session %s: background review (%s%s)", s->id,
	    (mask & LEARN_MEMORY) ? "memory" : "",
	    (mask & LEARN_SKILL) ? " skills" : "");
	review_call(a, s, r);
}

/* ---- trajectories ------------------------------------------------------- */

static void
on_traj(struct agent *a, struct pend *p, struct ipc_msg *m)
{
	char	 err[256];

	if (!store_ok(m, err, sizeof err, NULL, NULL))
		log_warnx("trajectory: %s", err);
	agent_pend_del(a, p);
}

void
trajectory_save(struct agent *a, struct session *s, int completed)
{
	char	*line;
	json_t	*rec;

	line = agent_trajectory_line(s->msgs, s->system_prompt, a->tools_json,
	    s->model ? s->model : a->cfg.model, completed, (int64_t)time(NULL));
	rec = json_loads(line, 0, NULL);
	free(line);
	if (rec == NULL)
		return;
	agent_store(a, "trajectory.append", json_pack("{s:o,s:b}", "record",
	    rec, "completed", completed), on_traj, s, NULL);
}
