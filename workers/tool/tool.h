/*
 * hermes-tool-*: the tool runners. Pure parts (output shaping, approval
 * analysis, file tools, patch) are separate files so the unit tests and
 * fuzzers link them without the worker glue.
 */
#ifndef HERMES_TOOL_H
#define HERMES_TOOL_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/* Bounds of the tool runners (Hermes's values where it has one). */
#define TOOL_HEAD_PERMILLE	400		/* 40 % head, 60 % tail */
#define TOOL_CAPTURE_BYTES_PER_CHAR 4		/* UTF-8 worst case */
#define TOOL_MAX_FG_TIMEOUT_S	600		/* foreground hard cap */
#define TOOL_BG_MAX		64		/* tracked background processes */
#define TOOL_BG_BUFFER		200000		/* rolling output per process */
#define TOOL_READ_MAX_LINES	2000
#define TOOL_READ_DEFAULT_LINES	500
#define TOOL_READ_MAX_LINE_LEN	2000
#define TOOL_READ_MAX_CHARS	100000		/* file_read_max_chars */
#define TOOL_FILE_MAX_BYTES	(64u * 1024 * 1024)	/* read/patch a file at most */
#define TOOL_WRITE_MAX_BYTES	(16u * 1024 * 1024)
#define TOOL_SEARCH_DEFAULT_LIMIT 50
#define TOOL_SEARCH_MAX_FILES	100000		/* files visited per search */
#define TOOL_SEARCH_MAX_DEPTH	64
#define TOOL_CONTEXT_MAX_CHARS	20000		/* per context file */
#define TOOL_MAX_CHAINED	50		/* manual mode: more fails closed */
#define TOOL_STATE_MAX		(256u * 1024)	/* env+cwd dump after a command */
#define TOOL_EXEC_CODE_TIMEOUT_S 300
#define TOOL_EXEC_CODE_MAX_CALLS 50
#define TOOL_EXEC_CODE_STDOUT	50000
#define TOOL_EXEC_CODE_STDERR	10000

/* ---- a growable byte string ---------------------------------------- */

struct tool_sb {
	char	*s;
	size_t	 len;
	size_t	 cap;
};

void	 tool_sb_add(struct tool_sb *, const void *, size_t);
void	 tool_sb_adds(struct tool_sb *, const char *);
void	 tool_sb_addc(struct tool_sb *, char);
void	 tool_sb_printf(struct tool_sb *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
char	*tool_sb_take(struct tool_sb *);	/* NUL-terminated; resets */
void	 tool_sb_free(struct tool_sb *);

/* ---- output.c: what the model sees of a command's output ------------ */

/*
 * A bounded collector: keeps the first 40% and a ring of the last 60% of
 * max_chars characters of a stream of any length (Hermes's
 * _BoundedOutputCollector), so memory stays O(max_chars).
 */
struct tool_out;

struct tool_out	*tool_out_new(size_t max_chars);
void		 tool_out_free(struct tool_out *);
void		 tool_out_add(struct tool_out *, const void *, size_t);
uint64_t	 tool_out_total_chars(const struct tool_out *);
uint64_t	 tool_out_total_bytes(const struct tool_out *);
/* Render within max_chars with Hermes's truncation notice, keeping
 * `suffix` ("\n[Command timed out after 180s]") whole. Malloc'd. */
char		*tool_out_render(const struct tool_out *, const char *suffix);

/* Take the builder's bytes as a C string, NUL bytes shown as U+2400. */
char		*tool_nul_visible(struct tool_sb *);
/* Number of UTF-8 characters (lead bytes) in a buffer. */
size_t	 tool_utf8_chars(const char *, size_t);
/* Replace invalid UTF-8 with U+FFFD. Malloc'd, NUL-terminated. */
char	*tool_utf8_sanitize(const char *, size_t, size_t *outlen);
/* Truncate text longer than max_chars keeping 40% head / 60% tail, with
 * Hermes's notice. Malloc'd. */
char	*tool_truncate(const char *, size_t max_chars);
/* Strip ANSI escape sequences (CSI, OSC, DCS/SOS/PM/APC, 2-byte ESC,
 * 8-bit C1 forms). In place; returns the new length. */
size_t	 tool_strip_ansi(char *, size_t);
/*
 * Redact known secret shapes (vendor key prefixes, Authorization and
 * api-key headers, private key blocks, JWTs, DB/URL passwords, Telegram
 * bot tokens; NAME=value for secret-looking names when env_dump).
 * Malloc'd.
 */
char	*tool_redact(const char *, int env_dump);
/* Does the command dump the environment (env, printenv, set, export,
 * declare as the first word of a segment)? */
int	 tool_is_env_dump(const char *command);
/* Strip leading and trailing whitespace in place. */
char	*tool_strip(char *);

/* ---- approval.c ---------------------------------------------------- */

enum tool_verdict {
	TOOL_V_ALLOW = 0,	/* run it */
	TOOL_V_ASK,		/* ask the user (manual mode) */
	TOOL_V_BLOCK		/* never (hardline, sudo -S, user deny) */
};

enum tool_approval_mode {
	TOOL_APPROVE_MANUAL = 0,
	TOOL_APPROVE_OFF
};

struct tool_policy {
	enum tool_approval_mode	 mode;
	char			**allowlist;	/* command_allowlist */
	size_t			 nallow;
	char			**deny;		/* approvals.deny globs */
	size_t			 ndeny;
	int			 sudo_password;	/* SUDO_PASSWORD configured */
	const char		*home;		/* $HOME for path folding */
	const char		*hermes_home;
};

struct tool_verdict_info {
	enum tool_verdict	 verdict;
	char			 reason[512];	/* description(s) */
	char			 key[128];	/* primary pattern key */
	int			 hardline;
	int			 unanalysable;	/* failed closed on shape */
};

int	 tool_approval_init(void);	/* compile the tables; 0 or -1 */
void	 tool_approval_fini(void);
/* Hardline check alone: 1 and the description, or 0. */
int	 tool_hardline(const char *command, const char **desc);
/* Dangerous-pattern check alone: 1 and the description, or 0. */
int	 tool_dangerous(const char *command, const char **desc);
/*
 * Shapes the analyser cannot see through: nested sh -c, $(...),
 * backticks, heredocs, env -S, eval, more than TOOL_MAX_CHAINED chained
 * commands. 1 and a description, or 0.
 */
int	 tool_unanalysable(const char *command, const char **desc);
/* The whole decision (Hermes's check_all_command_guards order), with
 * session approvals passed as exact commands. */
void	 tool_check_command(const struct tool_policy *, const char *command,
	    char *const *session_ok, size_t nsession_ok,
	    struct tool_verdict_info *);
int	 tool_allowlisted(const struct tool_policy *, const char *command,
	    const char *pattern_key);
/* Normalise for detection (ANSI, NUL, line continuations, backslash
 * escapes, empty quotes, $IFS). Malloc'd. */
char	*tool_normalize_command(const char *);

/* ---- files.c -------------------------------------------------------- */

struct tool_fs {
	int	 rootfd;	/* O_PATH|O_DIRECTORY of the workspace */
	char	*root;		/* its absolute path, no trailing slash */
	size_t	 read_max_chars;
};

int	 tool_fs_open(struct tool_fs *, const char *workspace);
void	 tool_fs_close(struct tool_fs *);
/*
 * Map a model-supplied path (absolute, ~, or relative to cwd, an
 * absolute directory inside the workspace) to a path relative to the
 * workspace root. -1 with *err set when it cannot be inside.
 */
int	 tool_fs_relpath(const struct tool_fs *, const char *cwd,
	    const char *path, char *out, size_t outlen, const char **err);
/* openat2(RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS[|NO_SYMLINKS]) below the
 * root. -1 with errno. */
int	 tool_fs_openat(const struct tool_fs *, const char *rel, int flags,
	    mode_t mode, int nofollow);

/* {"error": "..."}, Hermes's tool_error(). Malloc'd. */
char	*tool_json_error(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
/* The tools: JSON args text in, JSON result text out (malloc'd). */
char	*tool_read_file(const struct tool_fs *, const char *cwd,
	    const char *args_json);
/* read_file's formatting over an open fd (taken) of `size` bytes. */
char	*tool_read_fd(int fd, off_t size, const char *path,
	    const char *args_json, size_t read_max_chars);
char	*tool_write_file(const struct tool_fs *, const char *cwd,
	    const char *args_json);
char	*tool_patch(const struct tool_fs *, const char *cwd,
	    const char *args_json);
char	*tool_search_files(const struct tool_fs *, const char *cwd,
	    const char *args_json);
/* Context files for the system prompt: a JSON array text. */
char	*tool_context_files(const struct tool_fs *, const char *cwd);
/* Atomic write of a whole file below the root (rel path). 0 or -errno. */
int	 tool_fs_write_atomic(const struct tool_fs *, const char *rel,
	    const char *data, size_t len, int *created_dirs);
/* Read a whole regular file below the root. 0 or -errno; *err set for
 * refusals (symlink, hardlink, too big). */
int	 tool_fs_read_all(const struct tool_fs *, const char *rel,
	    char **data, size_t *len, const char **err);

/* ---- patch.c -------------------------------------------------------- */

/*
 * Replace old with new in content with Hermes's strategy chain (exact,
 * line-trimmed, whitespace-normalised, indentation-flexible,
 * escape-normalised, trimmed-boundary, unicode-normalised, block-anchor).
 * Returns the new content (malloc'd) and the number of replacements, or
 * NULL with *err (malloc'd message).
 */
char	*tool_fuzzy_replace(const char *content, const char *old,
	    const char *new, int replace_all, int *count,
	    const char **strategy, char **err);

enum tool_patch_op { TOOL_P_ADD, TOOL_P_UPDATE, TOOL_P_DELETE, TOOL_P_MOVE };

struct tool_hunk_line {
	char	 prefix;	/* ' ', '-', '+' */
	char	*text;		/* without newline */
};

struct tool_hunk {
	char			*hint;		/* @@ context hint @@ or NULL */
	struct tool_hunk_line	*lines;
	size_t			 nlines;
	long			 old_start;	/* unified diff: 1-based, 0 unknown */
};

struct tool_patch_file {
	enum tool_patch_op	 op;
	char			*path;
	char			*new_path;	/* move target */
	struct tool_hunk	*hunks;
	size_t			 nhunks;
};

struct tool_patchset {
	struct tool_patch_file	*files;
	size_t			 nfiles;
};

/* Parse a V4A ("*** Begin Patch") or unified diff ("--- a/x", "+++ b/x",
 * "@@ -l,n +l,n @@"). 0, or -1 with err. */
int	 tool_patch_parse(const char *text, struct tool_patchset *,
	    char *err, size_t errlen);
void	 tool_patchset_free(struct tool_patchset *);
/* Apply the hunks of one file to its content. New content (malloc'd) or
 * NULL with err. */
char	*tool_patch_apply_hunks(const char *content,
	    const struct tool_patch_file *, char *err, size_t errlen);
/* A unified diff of old -> new (one hunk around the changed region). */
char	*tool_unified_diff(const char *old, const char *new,
	    const char *path);

#endif
