/*
 * The agent's peers played in-process for real-process tests and the
 * benchmark: a minimal in-memory store, and blocking helpers to act as
 * llm-fetch, the tool runner and a client of a real hermes-agent
 * (spawned through tests/harness.h, in its real sandbox).
 */
#ifndef HERMES_TEST_AGENT_FAKE_H
#define HERMES_TEST_AGENT_FAKE_H

#include <stdint.h>

#include <jansson.h>

#include "ipc/ipc.h"

struct harness;

struct fsess {
	char	*id;
	char	*parent;
	char	*prompt;
	char	*end_reason;
	char	*key;
	json_t	*msgs;
};

struct fake {
	struct harness	*h;
	int		 fd[ROLE_MAX];		/* our ends, by the role we play */
	struct ipc_rbuf	*rb[ROLE_MAX];
	int		 sup_fd;
	struct ipc_rbuf	*sup_rb;
	/* the store */
	struct fsess	 sess[256];
	int		 nsess;
	json_t		*ops;		/* [{op, args, seq}] every store call */
	json_t		*events;	/* client events [{kind,..., seq}] */
	uint64_t	 seq;
	int		 store_off;	/* 1: the test answers the store itself */
	int		 route_hit;	/* session.route knows the key */
	int		 sup_hold;	/* 1: do not read the supervisor channel */
	json_t		*allowlist;	/* ALLOWLIST_ADD patterns received */
	/* last message handed to the test */
	int		 role;
	uint32_t	 type;
	uint64_t	 id;
	json_t		*body;		/* fields as JSON (str/num/bool) */
};

struct fake	*fake_start(const char *config_json);
void		 fake_stop(struct fake *);
/* SIGKILL the agent and start a new one on the same (fake) store. */
int		 fake_restart(struct fake *, const char *config_json);
int		 fake_pid(struct fake *);
/* Next frame from fetch/tool/client (store frames are answered inside).
 * 1, 0 on timeout. The frame is in f->role/type/id/body. */
int		 fake_next(struct fake *, int timeout_ms);
/* Wait for a frame of `type` (others: from `role` are failures unless
 * allowed by skip_events: client chat.events are logged and skipped). */
int		 fake_expect(struct fake *, int role, uint32_t type, int timeout_ms);
/* Pump until the client got an event of this kind. */
json_t		*fake_client_event(struct fake *, const char *kind, int timeout_ms);
void		 fake_send(struct fake *, int role, struct ipc_buf *);
/* Client helpers. */
uint64_t	 fake_open(struct fake *, const char *resume);
uint64_t	 fake_input(struct fake *, const char *text);
uint64_t	 fake_command(struct fake *, const char *name, const char *args);
/* Fetch helpers: stream events for request `id`. */
void		 fake_fetch_text(struct fake *, uint64_t id, const char *text);
void		 fake_fetch_call(struct fake *, uint64_t id, const char *call_id,
		    const char *name, const char *args);
void		 fake_fetch_usage(struct fake *, uint64_t id, uint64_t in,
		    uint64_t out);
void		 fake_fetch_done(struct fake *, uint64_t id, const char *finish);
void		 fake_fetch_error(struct fake *, uint64_t id, const char *cls);
/* Tool helpers. */
void		 fake_tool_result(struct fake *, uint64_t id, int ok,
		    const char *output);
/* The parsed "request" of the last FETCH_REQUEST. */
json_t		*fake_request(struct fake *);
struct fsess	*fake_session(struct fake *, const char *id);
/* Store ops seen with this name. */
size_t		 fake_ops_count(struct fake *, const char *op);

#endif
