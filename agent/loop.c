/*
 * The agent's tables: sessions (by id and by session_key, an LRU of the
 * ones whose messages stay in memory), clients, and every request
 * outstanding at a peer worker. Peer replies are routed to the callback
 * registered with their request id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "agent/agent.h"
#include "agent/loop.h"

#define NBUCKETS	16384
#define NPBUCKETS	1024

static uint64_t	 next_id = 1;

uint64_t
agent_next_id(void)
{
	return next_id++;
}

static size_t
strhash(const char *s, size_t n)
{
	uint64_t	 h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)(h % n);
}

struct agent *
agent_new(const char *config_json, const char *home, const char *workspace)
{
	struct agent	*a = xcalloc(1, sizeof *a);
	json_error_t	 e;

	agent_cfg_defaults(&a->cfg);
	if (agent_cfg_load(&a->cfg, config_json) == -1)
		log_warnx("config: using defaults");
	a->tools_json = agent_tools_json(&a->cfg);
	if ((a->tools = json_loads(a->tools_json, 0, &e)) == NULL)
		fatalx("tools: %s", e.text);
	a->home = home ? xstrdup(home) : NULL;
	a->workspace = workspace ? xstrdup(workspace) : NULL;
	TAILQ_INIT(&a->clients);
	TAILQ_INIT(&a->hotq);
	a->nbuckets = NBUCKETS;
	a->by_id = xcalloc(a->nbuckets, sizeof *a->by_id);
	a->by_key = xcalloc(a->nbuckets, sizeof *a->by_key);
	a->npbuckets = NPBUCKETS;
	a->pend = xcalloc(a->npbuckets, sizeof *a->pend);
	return a;
}

static void
session_free(struct session *s)
{
	free(s->id);
	free(s->key);
	free(s->title);
	free(s->model);
	free(s->platform);
	agent_cache_clear(&s->rec);
	json_decref(s->msgs);
	free(s->system_prompt);
	turn_free(s->turn);
	session_text_cache_clear(s);
	json_decref(s->todos);
	free(s->summary);
	free(s->personality_next);
	free(s);
}

void
agent_free(struct agent *a)
{
	size_t		 i;
	struct session	*s, *n;
	struct pend	*p, *pn;
	struct client	*c;

	if (a == NULL)
		return;
	while ((c = TAILQ_FIRST(&a->clients)) != NULL)
		agent_client_free(a, c);
	for (i = 0; i < a->nbuckets; i++)
		for (s = a->by_id[i]; s != NULL; s = n) {
			n = s->hnext_id;
			session_free(s);
		}
	for (i = 0; i < a->npbuckets; i++)
		for (p = a->pend[i]; p != NULL; p = pn) {
			pn = p->next;
			free(p);
		}
	free(a->by_id);
	free(a->by_key);
	free(a->pend);
	free(a->tools_json);
	json_decref(a->tools);
	free(a->home);
	free(a->workspace);
	agent_cfg_clear(&a->cfg);
	free(a);
}

/* ---- pending requests --------------------------------------------- */

struct pend *
agent_pend_add(struct agent *a, uint64_t id, int role, pend_fn cb,
    struct session *s, void *ctx)
{
	struct pend	*p = xcalloc(1, sizeof *p);
	size_t		 b = id % a->npbuckets;

	p->id = id;
	p->role = role;
	p->cb = cb;
	p->s = s;
	p->ctx = ctx;
	p->gen = s != NULL && s->turn != NULL ? s->turn->gen : 0;
	p->next = a->pend[b];
	a->pend[b] = p;
	return p;
}

struct pend *
agent_pend_find(struct agent *a, uint64_t id)
{
	struct pend	*p;

	for (p = a->pend[id % a->npbuckets]; p != NULL; p = p->next)
		if (p->id == id)
			return p;
	return NULL;
}

void
agent_pend_del(struct agent *a, struct pend *p)
{
	struct pend	**pp;

	for (pp = &a->pend[p->id % a->npbuckets]; *pp != NULL;
	    pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			free(p);
			return;
		}
}

/* A peer went away: everything it owed fails (callbacks see NULL). */
void
agent_peer_lost(struct agent *a, int role)
{
	size_t		 i;
	struct pend	*p;
	int		 again = 1;

	while (again) {
		again = 0;
		for (i = 0; i < a->npbuckets && !again; i++)
			for (p = a->pend[i]; p != NULL; p = p->next)
				if (p->role == role) {
					pend_fn cb = p->cb;
					/* The callback deletes p. */
					cb(a, p, NULL);
					again = 1;
					break;
				}
	}
}

void
agent_dispatch(struct agent *a, int from, struct ipc_msg *m)
{
	struct pend	*p;
	char		*s, *text;

	switch (m->type) {
	case IPC_MSG_FETCH_EVENT:
	case IPC_MSG_STORE_RESULT:
	case IPC_MSG_TOOL_RESULT:
	case IPC_MSG_TOOL_APPROVAL:
	case IPC_MSG_TOOL_CONTEXT_FILES:
	case IPC_MSG_ERROR:
		if ((p = agent_pend_find(a, m->id)) == NULL || p->role != from) {
			log_debug("%s id %llu from %s: nobody waits",
			    ipc_msg_name(m->type), (unsigned long long)m->id,
			    ipc_role_name(from));
			return;
		}
		p->cb(a, p, m);
		break;
	case IPC_MSG_TOOL_NOTIFY:
		s = ipc_get_strdup(m, "session");
		text = ipc_get_strdup(m, "text");
		if (s != NULL && text != NULL)
			turn_tool_notify(a, s, text);
		free(s);
		free(text);
		break;
	default:
		log_warnx("unexpected %s from %s", ipc_msg_name(m->type),
		    ipc_role_name(from));
		break;
	}
}

/* ---- store calls ---------------------------------------------------- */

uint64_t
agent_store(struct agent *a, const char *op, json_t *args, pend_fn cb,
    struct session *s, void *ctx)
{
	return agent_store_with_id(a, agent_next_id(), op, args, cb, s, ctx, 0);
}

uint64_t
agent_store_with_id(struct agent *a, uint64_t id, const char *op, json_t *args,
    pend_fn cb, struct session *s, void *ctx, int idx)
{
	struct ipc_buf	*b = ipc_new(IPC_MSG_STORE_CALL, id);
	char		*txt;

	txt = json_dumps(args, JSON_COMPACT);
	json_decref(args);
	if (txt == NULL)
		fatalx("%s: json_dumps", __func__);
	ipc_add_str(b, "op", op);
	ipc_add_str(b, "args", txt);
	free(txt);
	if (cb != NULL)
		agent_pend_add(a, id, ROLE_STORE, cb, s, ctx)->idx = idx;
	if (a->send(a, ROLE_STORE, b) == -1 && cb != NULL) {
		struct pend *p = agent_pend_find(a, id);
		/* No store: the callback learns it now. */
		if (p != NULL)
			p->cb(a, p, NULL);
	}
	return id;
}

/* ---- sessions ------------------------------------------------------- */

struct session *
agent_session_by_id(struct agent *a, const char *id)
{
	struct session	*s;

	if (id == NULL)
		return NULL;
	for (s = a->by_id[strhash(id, a->nbuckets)]; s != NULL; s = s->hnext_id)
		if (s->id != NULL && strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

struct session *
agent_session_by_key(struct agent *a, const char *key)
{
	struct session	*s;

	if (key == NULL)
		return NULL;
	for (s = a->by_key[strhash(key, a->nbuckets)]; s != NULL;
	    s = s->hnext_key)
		if (strcmp(s->key, key) == 0)
			return s;
	return NULL;
}

struct session *
agent_session_new(struct agent *a, const char *key)
{
	struct session	*s = xcalloc(1, sizeof *s);
	size_t		 b = strhash(key, a->nbuckets);

	s->key = xstrdup(key);
	s->hnext_key = a->by_key[b];
	a->by_key[b] = s;
	a->nsessions++;
	return s;
}

static void
unlink_id(struct agent *a, struct session *s)
{
	struct session	**pp;

	if (s->id == NULL)
		return;
	for (pp = &a->by_id[strhash(s->id, a->nbuckets)]; *pp != NULL;
	    pp = &(*pp)->hnext_id)
		if (*pp == s) {
			*pp = s->hnext_id;
			break;
		}
}

void
agent_session_set_id(struct agent *a, struct session *s, const char *id)
{
	size_t	 b;

	unlink_id(a, s);
	free(s->id);
	s->id = xstrdup(id);
	b = strhash(id, a->nbuckets);
	s->hnext_id = a->by_id[b];
	a->by_id[b] = s;
}

/* Drop an idle session's messages; they are reloaded from the store. */
void
agent_session_evict(struct agent *a, struct session *s)
{
	if (!s->hot || s->turn != NULL || s->reviewing || s->opening)
		return;
	TAILQ_REMOVE(&a->hotq, s, lru);
	s->hot = 0;
	a->nhot--;
	json_decref(s->msgs);
	s->msgs = NULL;
	free(s->system_prompt);
	s->system_prompt = NULL;
	json_decref(s->todos);
	s->todos = NULL;
	session_text_cache_clear(s);
}

void
agent_session_touch(struct agent *a, struct session *s)
{
	struct session	*o, *prev;

	if (s->hot)
		TAILQ_REMOVE(&a->hotq, s, lru);
	else
		a->nhot++;
	s->hot = 1;
	TAILQ_INSERT_HEAD(&a->hotq, s, lru);
	/* Keep at most AGENT_HOT_SESSIONS warm; evict idle ones. */
	for (o = TAILQ_LAST(&a->hotq, sessionq); o != NULL &&
	    a->nhot > AGENT_HOT_SESSIONS; o = prev) {
		prev = TAILQ_PREV(o, sessionq, lru);
		if (o != s)
			agent_session_evict(a, o);
	}
}

/* ---- clients -------------------------------------------------------- */

struct client *
agent_client_new(struct agent *a, struct ipc_peer *peer, uint64_t uid)
{
	struct client	*c = xcalloc(1, sizeof *c);

	c->a = a;
	c->peer = peer;
	c->uid = uid;
	TAILQ_INSERT_TAIL(&a->clients, c, entry);
	a->nclients++;
	return c;
}

void
agent_client_free(struct agent *a, struct client *c)
{
	size_t		 i;
	struct session	*s;

	TAILQ_REMOVE(&a->clients, c, entry);
	a->nclients--;
	/* Sessions keep running their turn; they just lose their listener. */
	for (i = 0; i < a->nbuckets; i++)
		for (s = a->by_key[i]; s != NULL; s = s->hnext_key)
			if (s->turn != NULL) {
				if (s->turn->c == c)
					s->turn->c = NULL;
				if (s->turn->queued_c == c)
					s->turn->queued_c = NULL;
			}
	/* A CLI session ends with its client: the tool runner forgets its
	 * approvals and cwd and stops its background processes. (Gateway
	 * sessions, routed by key, outlive their connection.) */
	if (c->s != NULL && c->s->id != NULL && c->s->turn == NULL &&
	    strncmp(c->s->key, "cli:", 4) == 0 && a->send != NULL) {
		struct ipc_buf *b = ipc_new(IPC_MSG_TOOL_SESSION_END, 0);
		ipc_add_str(b, "session", c->s->id);
		(void)a->send(a, ROLE_TOOL, b);
	}
	if (c->peer != NULL)
		ipc_peer_free(c->peer);
	free(c->platform);
	free(c);
}

static void
csend(struct client *c, struct ipc_buf *b)
{
	if (c == NULL || c->peer == NULL) {
		ipc_buf_free(b);
		return;
	}
	(void)ipc_peer_send(c->peer, b);
}

void
agent_event(struct client *c, uint64_t id, const char *kind, const char *text)
{
	agent_event_ex(c, id, kind, "text", text, NULL, NULL);
}

void
agent_event_ex(struct client *c, uint64_t id, const char *kind,
    const char *k1, const char *v1, const char *k2, const char *v2)
{
	struct ipc_buf	*b;

	if (c == NULL)
		return;
	b = ipc_new(IPC_MSG_CHAT_EVENT, id);
	ipc_add_str(b, "kind", kind);
	if (k1 != NULL && v1 != NULL)
		ipc_add_str(b, k1, v1);
	if (k2 != NULL && v2 != NULL)
		ipc_add_str(b, k2, v2);
	csend(c, b);
}

void
agent_reply(struct client *c, uint64_t id, int ok, const char *text,
    const char *data)
{
	struct ipc_buf	*b;

	if (c == NULL)
		return;
	b = ipc_new(IPC_MSG_CHAT_REPLY, id);
	ipc_add_bool(b, "ok", ok);
	ipc_add_str(b, "text", text != NULL ? text : "");
	if (data != NULL)
		ipc_add_str(b, "data", data);
	csend(c, b);
}

/* A notice to every client attached to the session. */
void
agent_notice(struct agent *a, struct session *s, const char *text)
{
	struct client	*c;

	TAILQ_FOREACH(c, &a->clients, entry)
		if (c->s == s)
			agent_event(c, 0, "notice", text);
}

static char *
strdup_field(struct ipc_msg *m, const char *key)
{
	return ipc_get_strdup(m, key);
}

void
agent_client_dispatch(struct agent *a, struct client *c, struct ipc_msg *m)
{
	char		*text, *name, *args, *choice;
	uint64_t	 approval_id = 0;

	switch (m->type) {
	case IPC_MSG_CHAT_OPEN:
		chat_open(a, c, m->id, m);
		break;
	case IPC_MSG_CHAT_INPUT:
		text = strdup_field(m, "text");
		if (c->s == NULL || c->s->opening) {
			agent_event_ex(c, m->id, "error", "code", "no_session",
			    "text", "open a session first (chat.open)");
		} else if (text == NULL || strlen(text) > AGENT_MAX_INPUT) {
			agent_event_ex(c, m->id, "error", "code", "invalid",
			    "text", "input too large or not text");
		} else
			turn_input(a, c->s, c, m->id, text);
		free(text);
		break;
	case IPC_MSG_CHAT_COMMAND:
		name = strdup_field(m, "name");
		args = strdup_field(m, "args");
		cmd_dispatch(a, c, m->id, name != NULL ? name : "", args);
		free(name);
		free(args);
		break;
	case IPC_MSG_CHAT_APPROVE:
		choice = strdup_field(m, "choice");
		(void)ipc_get_u64(m, "approval_id", &approval_id);
		turn_approve(a, c, approval_id, choice != NULL ? choice : "deny");
		free(choice);
		break;
	case IPC_MSG_PING:
		{
			struct ipc_buf *b = ipc_new(IPC_MSG_PONG, m->id);
			uint64_t seq = 0;
			(void)ipc_get_u64(m, "seq", &seq);
			ipc_add_u64(b, "seq", seq);
			csend(c, b);
		}
		break;
	default:
		agent_reply(c, m->id, 0, "unexpected message", NULL);
		break;
	}
}
