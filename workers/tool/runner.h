/*
 * The tool protocol (ipc/msgs/tool.def) served over a backend: shared by
 * hermes-tool-local and hermes-tool-ssh.
 */
#ifndef HERMES_TOOL_RUNNER_H
#define HERMES_TOOL_RUNNER_H

#include "ipc/worker.h"
#include "workers/tool/exec.h"

struct tool_runner_conf {
	const char	*name;		/* "local", "ssh" */
	/* The file tools (read_file, write_file, patch, search_files,
	 * "context"): the JSON result, malloc'd. */
	char		*(*files)(const char *tool, const char *cwd,
			    const char *args_json);
	int		 remote;	/* the workspace is a remote path */
	const char	*remote_root;	/* remote: start directory (else
					   terminal.cwd, else the home) */
	int		 code;		/* execute_code available */
	int		 no_stdin;	/* remote commands get no stdin: file
					   writes travel inline (small only) */
};

/* From setup(): parse CONFIG, open the workspace, SIGCHLD. 0 or -1. */
int	 tool_runner_setup(struct worker *, const struct tool_backend *,
	    const struct tool_runner_conf *);
void	 tool_runner_dispatch(struct worker *, int from, struct ipc_peer *,
	    struct ipc_msg *);
void	 tool_runner_peer_changed(struct worker *, int role, struct ipc_peer *);
void	 tool_runner_shutdown(struct worker *);
/* The workspace (absolute), after setup. */
const char *tool_runner_workspace(void);
/* The parsed CONFIG JSON (borrowed), after setup. */
struct json_t;
const struct json_t *tool_runner_config(void);

#endif
