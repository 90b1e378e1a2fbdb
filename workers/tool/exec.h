/*
 * Running commands for the tool runners: one job = one command in a
 * fresh `bash -c` wrapper, its output streamed through a pipe into a
 * bounded collector (foreground) or a rolling buffer (background), its
 * shell state (cwd, exported variables) reported on a second pipe, its
 * timeout, its kill. How the process is made is the backend's business
 * (tool-local: the command sandbox; tool-ssh: the ssh client).
 */
#ifndef HERMES_TOOL_EXEC_H
#define HERMES_TOOL_EXEC_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct tool_job;

/* Shell state carried from one command to the next (per session). */
struct tool_shstate {
	char	**env;		/* NAME=VALUE, NULL-terminated */
	size_t	  nenv;
	char	 *cwd;		/* absolute */
};

void	 tool_shstate_init(struct tool_shstate *, char *const *env,
	    const char *cwd);
void	 tool_shstate_free(struct tool_shstate *);
/* Parse the wrapper's state dump (cwd NUL NAME=VALUE NUL ...) into st;
 * 0, or -1 (st unchanged) when malformed. */
int	 tool_shstate_parse(struct tool_shstate *, const char *, size_t);

/* The bash script that wraps a command: $1 is the command. State goes to
 * the original fd 2 (the state pipe); the command's stderr joins its
 * stdout as in Hermes. */
extern const char tool_wrapper_script[];

/*
 * A backend's spawn: start argv with stdout on fd_out, stderr on fd_err,
 * stdin from fd_in (-1: /dev/null), in cwd with envp. Returns the pid to
 * wait for and kill (killing it must end everything the command
 * started), or -1 with err set.
 */
typedef pid_t (*tool_spawn_fn)(void *arg, char *const *argv,
	    char *const *envp, const char *cwd, int fd_in, int fd_out,
	    int fd_err, char *err, size_t errlen);
typedef void (*tool_reap_fn)(void *arg, pid_t);
typedef void (*tool_kill_fn)(void *arg, pid_t);

struct tool_backend {
	tool_spawn_fn	 spawn;
	tool_kill_fn	 kill;
	tool_reap_fn	 reaped;	/* after waitpid; may be NULL */
	void		*arg;
	/* Build the argv for a command (wrapper included); malloc'd
	 * NULL-terminated vector of malloc'd strings. */
	char		**(*argv)(void *arg, const char *command,
			    const char *cwd, int background);
};

enum tool_job_end { TOOL_END_EXIT, TOOL_END_TIMEOUT, TOOL_END_CANCEL,
	TOOL_END_KILLED };

typedef void (*tool_job_cb)(struct tool_job *, void *arg);

struct tool_job_spec {
	const char		*command;
	const struct tool_shstate *state;	/* env and cwd to start with */
	const char		*cwd;		/* overrides state->cwd */
	unsigned		 timeout_s;	/* 0: none */
	size_t			 max_chars;	/* foreground output bound */
	int			 background;	/* rolling buffer, stdin pipe */
	int			 stdin_fd;	/* >= 0: the command's stdin (the
						   job takes it); else none */
	const char *const	*extra_env;	/* NAME=VALUE added, or NULL */
};

struct tool_job	*tool_job_start(struct event_base *,
		    const struct tool_backend *, const struct tool_job_spec *,
		    tool_job_cb done, void *arg, char *err, size_t errlen);
/* Kill (TOOL_END_CANCEL or TOOL_END_KILLED as the reason); done() still
 * follows once the process is reaped. */
void		 tool_job_kill(struct tool_job *, enum tool_job_end);
/* Call from the SIGCHLD handler for every reaped pid. 1 if it was ours. */
int		 tool_job_reaped(pid_t, int status);
/* Free a finished job (after done()). */
void		 tool_job_free(struct tool_job *);

pid_t		 tool_job_pid(const struct tool_job *);
int		 tool_job_done(const struct tool_job *);
int		 tool_job_exit_code(const struct tool_job *);	/* 128+sig */
enum tool_job_end tool_job_end(const struct tool_job *);
uint64_t	 tool_job_elapsed_ms(const struct tool_job *);
const char	*tool_job_command(const struct tool_job *);
/* Foreground: the rendered output (Hermes's truncation, plus the
 * timeout/interrupt suffix). Malloc'd. */
char		*tool_job_output(const struct tool_job *);
/* Background: the last `chars` characters of the rolling buffer
 * (0: all). Malloc'd. */
char		*tool_job_tail(const struct tool_job *, size_t chars);
/* The state dump after a clean exit, or NULL. */
const char	*tool_job_state(const struct tool_job *, size_t *len);
/* Background stdin: 0 or -1. close_after: close stdin afterwards. */
int		 tool_job_write(struct tool_job *, const char *, size_t,
		    int close_after);
int		 tool_job_close_stdin(struct tool_job *);
int		 tool_job_has_stdin(const struct tool_job *);

/* Reap every child (WNOHANG) and route it to its job; pids that are not
 * jobs go to tool_reap_other when set. */
void		 tool_reap_children(void);
extern void	(*tool_reap_other)(pid_t, int status);

#endif
