/*
 * hermes, the command-line client of hermesd.
 *
 * Files: main.c (argument parsing, subcommand table), conn.c (control
 * socket, start-on-demand, hello), chat.c (interactive and one-shot
 * chat), slash.c (the slash-command table), out.c (output formatting,
 * TTY or plain), cmds.c (subcommands), yamledit.c (config.yaml edits).
 */
#ifndef HERMES_CLI_H
#define HERMES_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_CONNECT_WAIT_MS	5000	/* waiting for an on-demand hermesd */
#define CLI_REPLY_WAIT_MS	30000	/* a supervisor or command reply */
#define CLI_PASTE_MS		0	/* input already waiting after a newline
					 * is a paste (terminals write a paste
					 * at once; waiting would delay Enter) */
#define CLI_MAX_INPUT		(256 * 1024)	/* one chat message */
#define CLI_MAX_SKILLS		512	/* skill names offered for completion */
#define CLI_SUMMARY_MAX		60	/* tool argument summary, characters */

/* Exit codes a script can rely on (hermes --help, hermes(1)). */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_ERROR = 1,	/* anything else that went wrong */
	CLI_EXIT_USAGE = 2,	/* bad command line */
	CLI_EXIT_DAEMON = 3,	/* hermesd unreachable or could not start */
	CLI_EXIT_PROVIDER = 4,	/* the model provider failed (auth, rate
				 * limit, network, server, ...) */
	CLI_EXIT_VERSION = 5,	/* protocol version mismatch with hermesd */
	CLI_EXIT_NOTFOUND = 6,	/* no such session, skill or key */
	CLI_EXIT_DENIED = 7,	/* a tool or sandbox refusal ended the turn */
	CLI_EXIT_INTERRUPTED = 130	/* Ctrl+C */
};

/* ---- argument parsing (main.c) ------------------------------------- */

struct cli_cmd;

struct cli_args {
	const struct cli_cmd *cmd;	/* the subcommand (default: chat) */
	const char	*query;		/* -z / chat -q: one-shot prompt */
	const char	*resume;	/* -r ID|TITLE */
	int		 cont;		/* -c */
	const char	*model;		/* -m */
	int		 verbose;
	int		 quiet;		/* -Q: no banner, no tool lines */
	int		 version;	/* -V */
	int		 help;
	int		 argc;		/* operands of the subcommand */
	char		**argv;
};

typedef int (*cli_cmd_fn)(struct cli_args *);

struct cli_cmd {
	const char	*name;
	cli_cmd_fn	 fn;
	const char	*usage;
	const char	*help;
};

/* Parse argv. CLI_EXIT_OK, or CLI_EXIT_USAGE with a message in err. */
int	 cli_parse_args(int argc, char **argv, struct cli_args *,
	    char *err, size_t errlen);
const struct cli_cmd *cli_cmd_find(const char *);
void	 cli_usage(FILE *);

/* ---- connection (conn.c) ------------------------------------------- */

struct ipc_rbuf;

struct cli_conn {
	int		 fd;
	struct ipc_rbuf	*rb;
	uint64_t	 daemon_pid;
	char		 tenant[64];
	uint64_t	 next_id;
};

/* Connect, say CLIENT_HELLO{mode}, read WELCOME. autostart: start
 * hermesd when nobody listens. Returns CLI_EXIT_OK or an exit code with
 * a one-line reason in err. */
int	 cli_connect(struct cli_conn *, const char *mode, int autostart,
	    char *err, size_t errlen);
/* After WELCOME in chat mode: the agent speaks from now on. */
void	 cli_conn_to_agent(struct cli_conn *);
void	 cli_conn_close(struct cli_conn *);
/* The directory of this executable (for hermesd). */
int	 cli_exe_dir(char *, size_t);

/* ---- output (out.c) ------------------------------------------------ */

struct cli_out {
	FILE	*fp;
	int	 tty;		/* escape codes allowed */
	int	 col;		/* cursor column is not 0 */
};

void	 cli_out_init(struct cli_out *, FILE *, int force_plain);
/* Write model or tool text, with control characters made harmless
 * (ESC, CR and the other C0 codes never reach the terminal). */
void	 cli_out_text(struct cli_out *, const char *, size_t);
/* Start a new line if the cursor is not at column 0. */
void	 cli_out_eol(struct cli_out *);
/* style: "dim", "bold", "red", "yellow", "green", "cyan" (TTY only). */
void	 cli_out_style(struct cli_out *, const char *style);
void	 cli_out_reset(struct cli_out *);

/* Formatting into buffers (testable). All return the length written. */
size_t	 cli_fmt_duration(char *, size_t, uint64_t ms);
size_t	 cli_fmt_rss(char *, size_t, uint64_t kb);
size_t	 cli_fmt_summary(char *, size_t, const char *text, size_t max);
/* A tool's arguments in short: JSON objects by their telling key
 * ("command", "path", ...), anything else squeezed. */
size_t	 cli_fmt_args(char *, size_t, const char *args, size_t max);
size_t	 cli_fmt_tool_line(char *, size_t, const char *name,
	    const char *args, uint64_t ms, int ok, const char *outcome);
/* Copy text with control characters replaced (newline kept if
 * keep_nl). */
size_t	 cli_sanitize(char *, size_t, const char *, size_t, int keep_nl);

struct cli_worker_row {
	const char	*role;
	uint64_t	 pid;
	const char	*state;
	uint64_t	 uptime_ms;
	uint64_t	 restarts;
	uint64_t	 rss_kb;
};
/* The worker table, one header line plus one line per row. */
void	 cli_print_status(struct cli_out *, uint64_t pid, uint64_t uptime_ms,
	    const struct cli_worker_row *, size_t);
/* A JSON document as an indented "key: value" outline. */
struct json_t;
void	 cli_print_json(struct cli_out *, const char *json);

/* ---- slash commands (slash.c) -------------------------------------- */

enum cli_slash_where { SLASH_LOCAL, SLASH_AGENT };

/* What a local command does (chat.c has the handlers, by this index). */
enum cli_slash_local {
	SL_NONE = 0,
	SL_HELP,
	SL_EXIT,
	SL_REASONING,
	SL_MAX
};

struct cli_slash {
	const char	*name;		/* without '/' */
	const char	*alias;		/* or NULL */
	const char	*args;		/* argument spec for /help */
	enum cli_slash_where where;
	const char	*agent_cmd;	/* CHAT_COMMAND name (SLASH_AGENT) */
	enum cli_slash_local local;	/* SLASH_LOCAL */
	const char	*help;
};

extern const struct cli_slash cli_slash_table[];
extern const size_t cli_slash_count;

/*
 * Split "/name rest" into the table entry (or NULL: maybe a skill) and
 * its args. *name gets the command word (without '/'). 0, or -1 if line
 * is not a slash command.
 */
int	 cli_slash_parse(const char *line, const struct cli_slash **,
	    char *name, size_t namelen, const char **args);
/* Completion candidates for a prefix ("/he"): table names, then skills.
 * Calls fn for each match in order. */
void	 cli_slash_complete(const char *prefix, const char *const *skills,
	    size_t nskills, void (*fn)(const char *, void *), void *arg);
void	 cli_slash_help(struct cli_out *);

/* ---- chat (chat.c) ------------------------------------------------- */

int	 cli_chat_run(struct cli_args *);
/* One command over a chat connection (hermes sessions ...). */
int	 cli_agent_command(const char *name, const char *args, int json);

/* Skills under HERMES_HOME/skills (names, malloc'd). */
size_t	 cli_skills_scan(const char *home, char ***names, char ***paths);
void	 cli_skills_free(char **, size_t);

/* Map a chat "error" event code to an exit code. */
int	 cli_error_exit(const char *code);

/* ---- subcommands (cmds.c) ------------------------------------------ */

int	 cli_cmd_chat(struct cli_args *);
int	 cli_cmd_status(struct cli_args *);
int	 cli_cmd_doctor(struct cli_args *);
int	 cli_cmd_stop(struct cli_args *);
int	 cli_cmd_model(struct cli_args *);
int	 cli_cmd_config(struct cli_args *);
int	 cli_cmd_sessions(struct cli_args *);
int	 cli_cmd_skills(struct cli_args *);
int	 cli_cmd_version(struct cli_args *);
int	 cli_cmd_help(struct cli_args *);

/* config.yaml helpers: read the file (NULL if absent), write atomically
 * after checking it parses, ask a running hermesd to reload. */
char	*cli_config_read(const char *home);
int	 cli_config_write(const char *home, const char *text, char *err,
	    size_t errlen);
int	 cli_config_get(const char *home, const char *key, char **val);
int	 cli_config_set(const char *home, const char *key, const char *val,
	    char *err, size_t errlen);
void	 cli_daemon_reload(void);

#endif
