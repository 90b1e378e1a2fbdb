/*
 * The agent's event-driven core (loop.c, turn.c, cmd.c): sessions keyed
 * by id and by session_key, turns as state machines, every outstanding
 * request to a peer worker in one table keyed by its id.
 */
#ifndef HERMES_AGENT_LOOP_H
#define HERMES_AGENT_LOOP_H

#include <sys/queue.h>

#include <stdint.h>

#include <jansson.h>

#include "ipc/ipc.h"
#include "agent/agent.h"

struct agent;
struct session;
struct pend;

/* A reply from a peer (msg) or its loss (msg NULL: the peer went away). */
typedef void (*pend_fn)(struct agent *, struct pend *, struct ipc_msg *);

struct pend {
	uint64_t	 id;
	int		 role;		/* who owes the reply */
	pend_fn		 cb;
	struct session	*s;
	uint64_t	 gen;		/* the turn generation it belongs to */
	int		 idx;		/* call index, step, ... */
	void		*ctx;		/* owned by the callback */
	int		 multi;		/* stays until a final event (fetch, tool) */
	struct pend	*next;
};

struct client {
	struct agent		*a;
	struct ipc_peer		*peer;
	uint64_t		 uid;
	struct session		*s;	/* the session it talks to */
	char			*platform;
	TAILQ_ENTRY(client)	 entry;
};
TAILQ_HEAD(clientq, client);

enum call_state {
	CALL_WAIT = 0,		/* not started */
	CALL_RUN,		/* sent to its worker */
	CALL_DONE		/* result known */
};

struct call {
	char		*id;		/* the model's tool_call id */
	char		*name;
	char		*args;		/* argument text as the model sent it */
	const struct agent_tool *tool;
	json_t		*argv;		/* parsed, validated; NULL if invalid */
	int		 state;
	uint64_t	 req;		/* request id while running */
	uint64_t	 started_us;
	char		*result;	/* the tool message content */
	int		 ok;
	int		 persisted;
};

enum turn_state {
	T_IDLE = 0,
	T_USER,		/* persisting the user message */
	T_LOAD,		/* rebuilding from the store */
	T_COMPRESS,	/* summariser call / child session */
	T_MODEL,	/* streaming a model call */
	T_ASSIST,	/* persisting the assistant message */
	T_TOOLS,	/* tool calls running */
	T_CLARIFY,	/* waiting for the user's answer */
	T_FINAL		/* persisting the final answer */
};

struct turn {
	uint64_t	 input_id;	/* the CHAT_INPUT (events carry it) */
	struct client	*c;
	int		 state;
	uint64_t	 gen;
	unsigned	 iter;		/* model calls that returned tool calls */
	int		 grace;		/* next call is the grace call */
	const char	*grace_why;
	int		 cancelled;
	int		 failed;
	uint64_t	 fetch_id;	/* model call in flight, 0 if none */
	char		*text;		/* streamed answer text */
	size_t		 textlen;
	char		*reasoning;
	size_t		 reasonlen;
	char		*finish;
	struct call	*calls;
	size_t		 ncalls;
	size_t		 running;	/* calls in flight */
	size_t		 next;		/* next call to start */
	size_t		 persist_next;	/* next result to persist */
	char		*fail_sig;	/* loop guard: last failing call */
	unsigned	 fail_count;
	unsigned	 tool_iters;
	int		 used_skill_manage;
	int		 overflow_retry;
	char		*queued;	/* input that interrupted this turn */
	uint64_t	 queued_id;
	struct client	*queued_c;
	uint64_t	 started_us;
	uint64_t	 approval_call;	/* request id awaiting approval */
	char		*approval_pattern;
	uint64_t	 approval_id;
};

struct usage {
	uint64_t	 input, output, cache_read, cache_write, reasoning;
	uint64_t	 calls;
	uint64_t	 last_prompt;	/* prompt tokens of the last call */
	int		 last_real;	/* last_prompt came from the provider */
};

struct msgtext {
	json_t		*m;	/* referenced: its address stays unique */
	char		*txt;
	size_t		 len;
};

struct session {
	char			*id;
	char			*key;		/* session_key */
	char			*title;
	char			*model;
	char			*platform;
	struct agent_cache_rec	 rec;		/* id + store baseline */
	json_t			*msgs;		/* without the system prompt;
						 * NULL when cold */
	char			*system_prompt;	/* NULL when cold */
	struct turn		*turn;
	struct agent_learn	 learn;
	struct usage		 usage;
	json_t			*todos;
	char			*summary;	/* last compaction summary */
	uint64_t		 summary_fail_until;
	char			*personality_next;
	unsigned		 compress_hold;	/* turns without auto compression */
	int			 opening;	/* prompt inputs outstanding */
	int			 reviewing;
	struct session		*hnext_id;	/* hash chains */
	struct session		*hnext_key;
	TAILQ_ENTRY(session)	 lru;
	int			 hot;
	struct msgtext		*mc;		/* JSON text of msgs[i] */
	size_t			 nmc;
	char			*systext;	/* the system message's text */
	char			*syssrc;
};
TAILQ_HEAD(sessionq, session);

struct agent {
	struct agent_cfg	 cfg;
	char			*tools_json;	/* byte-stable tools array */
	json_t			*tools;
	char			*home;
	char			*workspace;
	struct clientq		 clients;
	size_t			 nclients;
	struct session		**by_id;
	struct session		**by_key;
	size_t			 nbuckets;
	size_t			 nsessions;
	struct sessionq		 hotq;		/* LRU of sessions with messages */
	size_t			 nhot;
	struct pend		**pend;
	size_t			 npbuckets;
	uint64_t		 gen;
	/* How messages leave: worker_send in the worker, fakes in tests. */
	int			(*send)(struct agent *, int role, struct ipc_buf *);
	int			(*send_sup)(struct agent *, struct ipc_buf *);
	void			*io;
	uint64_t		 turns_done;
	uint64_t		 tool_calls_done;
};

/* loop.c */
struct agent	*agent_new(const char *config_json, const char *home,
		    const char *workspace);
void		 agent_free(struct agent *);
uint64_t	 agent_next_id(void);
struct pend	*agent_pend_add(struct agent *, uint64_t id, int role, pend_fn,
		    struct session *, void *ctx);
struct pend	*agent_pend_find(struct agent *, uint64_t id);
void		 agent_pend_del(struct agent *, struct pend *);
void		 agent_peer_lost(struct agent *, int role);
void		 agent_dispatch(struct agent *, int from, struct ipc_msg *);
struct session	*agent_session_by_id(struct agent *, const char *);
struct session	*agent_session_by_key(struct agent *, const char *);
struct session	*agent_session_new(struct agent *, const char *key);
void		 agent_session_set_id(struct agent *, struct session *,
		    const char *id);
void		 agent_session_touch(struct agent *, struct session *);
void		 agent_session_evict(struct agent *, struct session *);
/* STORE_CALL with a JSON args object (stolen). Returns the request id. */
uint64_t	 agent_store(struct agent *, const char *op, json_t *args,
		    pend_fn, struct session *, void *ctx);
uint64_t	 agent_store_with_id(struct agent *, uint64_t id, const char *op,
		    json_t *args, pend_fn, struct session *, void *ctx, int idx);
/* FETCH_REQUEST with a chosen id (request text stolen). */
uint64_t	 agent_send_fetch_text(struct agent *, uint64_t id, char *txt,
		    pend_fn, struct session *, void *ctx);
/* FETCH_REQUEST with a chosen id (request stolen). */
uint64_t	 agent_send_fetch(struct agent *, uint64_t id, json_t *req,
		    pend_fn, struct session *, void *ctx);
json_t		*agent_msg_from_store(const json_t *);
json_t		*agent_msg_to_store(const char *, const json_t *);
int		 agent_store_ok(struct ipc_msg *, char *, size_t, json_t **,
		    uint64_t *);
/* Client I/O. */
struct client	*agent_client_new(struct agent *, struct ipc_peer *, uint64_t uid);
void		 agent_client_free(struct agent *, struct client *);
void		 agent_client_dispatch(struct agent *, struct client *,
		    struct ipc_msg *);
void		 agent_event(struct client *, uint64_t id, const char *kind,
		    const char *text);
void		 agent_event_ex(struct client *, uint64_t id, const char *kind,
		    const char *k1, const char *v1, const char *k2, const char *v2);
void		 agent_reply(struct client *, uint64_t id, int ok,
		    const char *text, const char *data_json);
void		 agent_notice(struct agent *, struct session *, const char *);

/* turn.c */
void		 turn_start(struct agent *, struct session *, struct client *,
		    uint64_t input_id, const char *text);
void		 turn_interrupt(struct agent *, struct session *, const char *why);
void		 turn_input(struct agent *, struct session *, struct client *,
		    uint64_t id, const char *text);
void		 turn_approve(struct agent *, struct client *, uint64_t approval_id,
		    const char *choice);
void		 turn_tool_notify(struct agent *, const char *session,
		    const char *text);
json_t		*turn_request(struct agent *, struct session *, int with_tools,
		    json_t *extra_msgs);
char		*turn_request_text(struct agent *, struct session *,
		    int with_tools, json_t *extra_msgs);
void		 session_text_cache_clear(struct session *);
void		 turn_free(struct turn *);
void		 review_start(struct agent *, struct session *, int mask);
void		 trajectory_save(struct agent *, struct session *, int completed);
char		*todo_apply(json_t **todos, const json_t *args);

/* cmd.c */
void		 cmd_dispatch(struct agent *, struct client *, uint64_t id,
		    const char *name, const char *args);
void		 chat_open(struct agent *, struct client *, uint64_t id,
		    struct ipc_msg *);
void		 compress_start(struct agent *, struct session *, const char *focus,
		    void (*done)(struct agent *, struct session *, int ok, void *),
		    void *arg);

#endif
