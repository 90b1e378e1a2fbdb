/*
 * The life of every worker: hello on fd 3, CONFIG, setup (open what it
 * needs), sandbox_enter(), READY, then the event loop. Peer connections to
 * other workers arrive as PEER messages and are kept per role here.
 */
#ifndef HERMES_WORKER_H
#define HERMES_WORKER_H

#include <msgpack.h>

#include "ipc/ipc.h"

struct event_base;

struct worker {
	struct event_base	*base;
	int			 role;		/* enum ipc_role */
	char			*home;		/* HERMES_HOME */
	char			*tenant;
	char			*config_json;	/* config.yaml as JSON text */
	char			*workspace;	/* may be NULL */
	int			 sandbox_on;	/* 0 in sanitizer runs */
	int			 require;	/* sandbox.require */
	int			 network;	/* tools: network for commands */
	char			*sockpath;	/* hermesd's socket (may be NULL) */
	int			 verbose;
	struct ipc_peer		*sup;
	struct ipc_peer		*peers[ROLE_MAX];	/* current peer per role */
	uint64_t		 peer_gen[ROLE_MAX];
	void			*arg;		/* the role's own state */
};

struct worker_ops {
	int	 role;
	int	 profile;			/* enum sbx_profile */
	/*
	 * After CONFIG, before the sandbox: open files, sockets, handles.
	 * `secrets` is the CONFIG secrets map or NULL (copy what you keep;
	 * it is zeroed after setup returns). Return 0, or -1 to exit.
	 */
	int	(*setup)(struct worker *, const msgpack_object *secrets);
	/* Frames from a peer worker of role `from`. */
	void	(*dispatch)(struct worker *, int from, struct ipc_peer *,
		    struct ipc_msg *);
	/* A peer of `role` connected (after a PEER) or went away (NULL). */
	void	(*peer_changed)(struct worker *, int role, struct ipc_peer *);
	/* Supervisor messages the framework does not handle itself (e.g.
	 * CLIENT_ATTACH). NULL: such messages are refused. */
	void	(*dispatch_sup)(struct worker *, struct ipc_msg *);
	/* Before exit on SHUTDOWN or supervisor EOF. */
	void	(*shutdown)(struct worker *);
};

/* Run the worker; never returns. argv: -v raises verbosity. */
void	 worker_main(int argc, char **argv, const struct worker_ops *)
	    __attribute__((noreturn));
/* The current peer of a role, or NULL. */
struct ipc_peer *worker_peer(struct worker *, int role);
/* Send to the current peer of a role; -1 if none. */
int	 worker_send(struct worker *, int role, struct ipc_buf *);
/* Unique request ids for this process. */
uint64_t worker_next_id(void);

#endif
