/*
 * hermesd: the supervisor. Spawns, confines, wires and restarts the
 * workers of each tenant; authenticates clients on the control socket and
 * hands chat connections to their tenant's agent.
 */
#ifndef HERMES_SUP_H
#define HERMES_SUP_H

#include <sys/types.h>

#include <stdint.h>

#include "ipc/ipc.h"
#include "supervisor/config.h"

struct event;
struct event_base;

enum proc_state {
	PS_STOPPED = 0,
	PS_STARTING,		/* forked, no READY yet */
	PS_READY,
	PS_BACKOFF,		/* dead, restart scheduled */
	PS_FAILED,		/* intensity limit hit: given up */
};

struct tenant;

struct proc {
	struct tenant	*t;
	int		 role;
	const char	*bin;		/* program name in the libexec dir */
	pid_t		 pid;
	struct ipc_peer	*peer;
	enum proc_state	 state;
	uint64_t	 spawned_ms;	/* fork time */
	uint64_t	 spawned_us;
	uint64_t	 ready_ms;	/* READY time, 0 before */
	uint64_t	 died_ms;
	int		 restarts;	/* total */
	uint64_t	 recent[SUP_RESTART_INTENSITY + 1];	/* restart times */
	int		 nrecent;
	uint64_t	 backoff_ms;
	struct event	*timer;		/* backoff, handshake deadline */
	int		 missed;	/* unanswered pings */
	uint64_t	 gen;		/* bumps at every start */
	char		*sandbox;	/* READY report (JSON text) */
	int		 stopping;	/* shutdown or reload: no restart */
	uint64_t	 last_restart_ms;	/* restart-to-ready measurement */
};

struct tenant {
	char		*name;
	uid_t		 uid;
	gid_t		 gid;
	char		*home;
	struct hermes_config *cfg;
	struct env_list	*env;
	char		*config_json;	/* public config for workers */
	struct proc	 procs[ROLE_MAX];	/* indexed by role */
	int		 active[ROLE_MAX];	/* roles this tenant runs */
	struct client	*waiting;	/* chat clients waiting for the agent */
};

struct sup {
	struct event_base *base;
	int		 foreground;
	int		 system_mode;
	int		 verbose;
	int		 sandbox_on;
	uint64_t	 started_ms;
	char		 libexec[4096];	/* where worker binaries are */
	char		 sockpath[4096];
	char		 home[4096];	/* personal mode HERMES_HOME */
	struct tenant	*tenants;
	size_t		 ntenants;
	int		 shutting_down;
	int		 logfd;
	char		 logpath[4096 + 32];
};

extern struct sup	 sup;

/* proc.c */
void		 proc_init_tenant(struct tenant *);
void		 proc_start_all(void);
void		 proc_start(struct proc *);
void		 proc_sigchld(void);
void		 proc_heartbeat(void);
void		 proc_shutdown_all(void);
int		 proc_all_dead(void);
void		 proc_killall(int sig);
void		 proc_restart_all(void);	/* SIGHUP */
const char	*proc_state_name(enum proc_state);
long		 proc_rss_kb(pid_t);
void		 proc_notify(struct tenant *, int role, const char *state,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* control.c */
struct client;
int		 control_listen(void);
void		 control_close(void);
int		 control_attach(struct tenant *, struct client *);
void		 control_agent_ready(struct tenant *);
void		 control_agent_failed(struct tenant *);
void		 control_notice_all(struct tenant *, const char *role,
		    const char *state, const char *msg);

/* logfile.c */
void		 sup_log_open(void);
void		 sup_log_line(const char *who, pid_t, int level, const char *line);

/* hermesd.c */
int		 sup_allowlist_add(struct tenant *, const char *pattern);
char		*sup_doctor_json(struct tenant *);

#endif
