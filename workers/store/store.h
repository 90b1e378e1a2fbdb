/*
 * hermes-store: the only process that opens HERMES_HOME's data.
 *
 * Pure modules (db.c, sessions.c, search.c, memory.c, skills.c, cron.c,
 * traj.c, fsutil.c) work on a struct store and are unit-tested directly;
 * ops.c is the one op table; store.c is the worker (IPC glue only).
 *
 * ---- Protocol (ipc/msgs/store.def) ----------------------------------
 * STORE_CALL {op, args: JSON object} -> STORE_RESULT {ok, result?, error?,
 * code?, message_count?} with the same id. Tool-shaped ops (marked TOOL)
 * return in `result` a JSON *string* whose text is exactly what Hermes's
 * tool returns to the model; pass it through. Errors of tool-shaped ops
 * that the model should see (not found, over the limit, ...) are ok=true
 * with the tool's own {"success": false, "error": ...} text; ok=false
 * means the store itself failed (code: "invalid", "notfound", "toolarge",
 * "nospace", "corrupt", "schema", "busy", "io", "unknown_op").
 *
 * Session ops (message_count is set on every one that reads or writes a
 * session):
 *   session.create  {source?="cli", model?, model_config?, system_prompt?,
 *                    parent_session_id?, session_key?, user_id?, chat_id?,
 *                    chat_type?, thread_id?, cwd?, title?, id?}
 *                   -> {session_id, started_at, title}
 *                   With parent_session_id and no title, a titled parent's
 *                   title continues as "name #2" (lineage rule).
 *   session.get     {session_id? | title? | latest?:true, source?}
 *                   -> the session row as an object (all columns); a title
 *                   resolves to the newest "title" / "title #N".
 *   session.append  {session_id, role, content?, tool_calls? (array or JSON
 *                    text), tool_call_id?, tool_name?, reasoning?,
 *                    reasoning_content?, reasoning_details?, finish_reason?,
 *                    token_count?, timestamp?}
 *                   -> {message_id}; message_count = the new count.
 *   session.load    {session_id} -> {session_id (the lineage tip), title,
 *                    model, source, system_prompt, parent_session_id,
 *                    messages: [{id, role, content, tool_calls (parsed),
 *                    tool_call_id, tool_name, reasoning, finish_reason,
 *                    timestamp}]}  (active rows of the tip, oldest first)
 *   session.end     {session_id, reason} -> {}
 *   session.title   {session_id, title} -> {title}  ("" clears; unique:
 *                    a title in use elsewhere is refused)
 *   session.list    {limit?=20, offset?=0, source?, include_children?,
 *                    total?=true}
 *                   -> {sessions: [{id, title, source, model, started_at,
 *                    ended_at, end_reason, message_count, parent_session_id,
 *                    last_active, preview}], total}
 *   session.export  {session_id?, format: "jsonl"|"md"} -> {text}
 *                   (no session_id: every session, jsonl only)
 *   session.delete  {session_id} -> {deleted: n messages}
 *   session.prune   {older_than_days, source?} -> {deleted: n sessions}
 *                   (ended sessions only)
 *   session.route   {session_key, scope?="", session_id?, entry?}
 *                   get without session_id -> {session_id, entry} or
 *                   {session_id: null}; set with it -> {session_id}
 *   session.search  TOOL session_search {query?, limit?, sort?,
 *                    session_id?, around_message_id?, window?,
 *                    role_filter?, current_session_id?}
 *                   (pass current_session_id: the current lineage is
 *                   left out as Hermes does). Discovery ranks the
 *                   STORE_CANDIDATES newest matches by bm25 (IDF estimated
 *                   from that window), demotes cron, dedupes by lineage;
 *                   CJK goes to the trigram index; a query with no word
 *                   match falls back to substrings over the newest
 *                   STORE_SUBSTRING_WINDOW messages.
 *   session.repair  {} -> {integrity: "ok"|text, fts_rebuilt, messages}
 * Memory:
 *   memory          TOOL memory {action, target, content?, old_text?,
 *                    operations?}
 *   soul.get {} -> {text}: HERMES_HOME/SOUL.md, "" when absent
 *   memory.snapshot {} -> {memory: [entries], user: [entries],
 *                    memory_block, user_block}  (system-prompt blocks,
 *                    "" when empty)
 * Skills:
 *   skills.list     TOOL skills_list {category?}
 *   skills.view     TOOL skill_view {name, file_path?}
 *   skills.manage   TOOL skill_manage {action, name, content?, old_string?,
 *                    new_string?, replace_all?, category?, file_path?,
 *                    file_content?, absorbed_into?}
 *   skills.index    {} -> {skills: [{name, description, category,
 *                    platforms}], invalid: [{path, error}]}
 * Cron and trajectories:
 *   cron.list       {} -> jobs.json's object {jobs: [...], updated_at}
 *   cron.save       {jobs: [...]} -> {count}  (atomic replace)
 *   trajectory.append {record: {...}, completed: bool} -> {file}
 */
#ifndef HERMES_STORE_H
#define HERMES_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Limits of the store (kept here, not in ipc/limits.h, by team rule). */
#define STORE_SCHEMA_VERSION	21		/* Hermes's SCHEMA_VERSION */
#define STORE_MAX_MESSAGE	(4u * 1024 * 1024)	/* one message, all fields */
#define STORE_MAX_QUERY		2048		/* FTS query bytes kept */
#define STORE_MAX_TITLE		100
#define STORE_BUSY_TIMEOUT_MS	1000
#define STORE_CANDIDATES	2000		/* recency-bounded rank set */
#define STORE_SCAN_LIMIT	300		/* FTS rows before dedupe */
#define STORE_SUBSTRING_WINDOW	20000		/* messages the substring
						 * fallback searches */
#define STORE_MEMORY_LIMIT	2200		/* chars, MEMORY.md */
#define STORE_USER_LIMIT	1375		/* chars, USER.md */
#define STORE_SKILL_NAME_MAX	64
#define STORE_SKILL_DESC_MAX	1024
#define STORE_SKILL_MAX		100000		/* SKILL.md chars */
#define STORE_SKILL_FILE_MAX	(1024 * 1024)	/* supporting file bytes */
#define STORE_SKILL_SCAN_MAX	4096		/* SKILL.md files per scan */
#define STORE_YAML_DEPTH	16
#define STORE_CRON_MAX		(4 * 1024 * 1024)
#define STORE_CHECKPOINT_EVERY	50		/* writes between checkpoints */
#define STORE_EXPORT_MAX	(64u * 1024 * 1024)

struct sqlite3;
struct sqlite3_stmt;

enum store_stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SESSION_INSERT,
	ST_SESSION_GET,
	ST_SESSION_COUNT,
	ST_SESSION_BUMP,
	ST_SESSION_END,
	ST_SESSION_CHILD_TIP,
	ST_SESSION_PARENT,
	ST_MSG_INSERT,
	ST_MSG_LOAD,
	ST_TITLE_OWNER,
	ST_TITLE_SET,
	ST_ROUTE_GET,
	ST_ROUTE_SET,
	ST_MAX
};

struct store {
	struct sqlite3		*db;
	struct sqlite3_stmt	*st[ST_MAX];
	char			*home;
	char			*dbpath;
	int			 memory_limit;
	int			 user_limit;
	unsigned		 writes;	/* since the last checkpoint */
	int			 fts_ok;
	int			 trigram_ok;
	unsigned		 fts_errors;	/* MATCH refused a query (a bug) */
	char			 err[512];	/* last error, one line */
	char			*open_err;	/* why there is no db (degraded) */
	const char		*open_code;
	const char		*code;		/* last error code */
};

/* One op's outcome. */
struct store_res {
	int		 ok;
	json_t		*result;	/* owned; NULL if none */
	int		 has_count;
	uint64_t	 message_count;
	const char	*code;
	char		 error[512];
};

/* ---- db.c ------------------------------------------------------------ */
extern const char *store_last_code;	/* code of the last failed open */
/* Open (creating or migrating) HERMES_HOME's state.db. NULL + err. */
struct store	*store_open(const char *home, char *err, size_t errlen);
/* A store without state.db (it could not be opened): file ops work,
 * session ops answer with the open error. */
struct store	*store_open_degraded(const char *home, const char *code,
		    const char *err);
/* Read memory limits etc. from config.yaml as JSON (may be NULL). */
void		 store_configure(struct store *, const char *config_json);
void		 store_close(struct store *);
/* Set s->err/s->code; returns -1. */
int		 store_fail(struct store *, const char *code, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
/* Map a SQLite error to a store error; returns -1. */
int		 store_sqlerr(struct store *, int rc, const char *what);
int		 store_begin(struct store *);	/* BEGIN IMMEDIATE, retried */
int		 store_commit(struct store *);
void		 store_rollback(struct store *);
void		 store_after_write(struct store *);
struct sqlite3_stmt *store_stmt(struct store *, enum store_stmt);
int		 store_schema_version(struct store *);
/* integrity_check + FTS rebuild. */
json_t		*store_repair(struct store *);
double		 store_now(void);	/* Unix time, float seconds */
/* Arguments: 0, or -1 with an "invalid" error. *out is NULL when the key
 * is absent or null. */
int		 store_arg_str(struct store *, json_t *args, const char *key,
		    int required, const char **out);
int		 store_arg_int(struct store *, json_t *args, const char *key,
		    int64_t def, int64_t *out);
int		 store_arg_bool(struct store *, json_t *args, const char *key,
		    int def, int *out);
/* A JSON string from bytes; invalid UTF-8 becomes U+FFFD. */
json_t		*store_json_text(const char *, size_t);
/* A tool's reply text from a JSON object (consumed), and the
 * {"success": false, "error": ...} reply the tools share. */
char		*store_tool_text(json_t *);
char		*store_tool_fail(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
/* The current row of a statement as an object keyed by column name. */
json_t		*store_row_json(struct sqlite3_stmt *);

/* ---- sessions.c ------------------------------------------------------ */
int	 store_session_id(char *buf, size_t len);	/* YYYYMMDD_HHMMSS_8hex */
json_t	*store_session_create(struct store *, json_t *args);
json_t	*store_session_get(struct store *, json_t *args);
json_t	*store_session_row(struct store *, const char *id);	/* NULL: none */
int64_t	 store_session_append(struct store *, json_t *args, int64_t *msgid);
json_t	*store_session_load(struct store *, json_t *args, uint64_t *count);
int	 store_session_end(struct store *, json_t *args);
json_t	*store_session_title(struct store *, json_t *args);
char	*store_next_title(struct store *, const char *base);
json_t	*store_session_list(struct store *, json_t *args);
json_t	*store_session_export(struct store *, json_t *args);
json_t	*store_session_delete(struct store *, json_t *args);
json_t	*store_session_prune(struct store *, json_t *args);
json_t	*store_session_route(struct store *, json_t *args);
int64_t	 store_message_count(struct store *, const char *id);
/* The root of a session's lineage (follows parent_session_id). */
char	*store_lineage_root(struct store *, const char *id);
char	*store_lineage_tip(struct store *, const char *id);

/* ---- search.c -------------------------------------------------------- */
/* Register hermes_rank() (bounded bm25) on the connection. */
int	 store_search_init(struct store *);
/* Make user text safe for FTS5 MATCH: each term quoted. "" = nothing. */
char	*store_fts_sanitize(const char *query);
int	 store_has_cjk(const char *);
/* session_search: the tool's JSON text. */
char	*store_session_search(struct store *, json_t *args);

/* ---- memory.c -------------------------------------------------------- */
char	*store_memory_tool(struct store *, json_t *args);
json_t	*store_memory_snapshot(struct store *);
size_t	 store_utf8_len(const char *, size_t);

/* ---- skills.c -------------------------------------------------------- */
/* Parse SKILL.md frontmatter into an object; NULL + err if invalid. */
json_t	*store_skill_frontmatter(const char *text, size_t len, size_t *body_off,
	    char *err, size_t errlen);
char	*store_skills_list(struct store *, json_t *args);
char	*store_skill_view(struct store *, json_t *args);
char	*store_skill_manage(struct store *, json_t *args);
json_t	*store_skills_index(struct store *);
int	 store_skill_name_ok(const char *);
/* A relative path inside a skill: allowed subdir, no "..", no "/". */
int	 store_skill_relpath_ok(const char *, char *err, size_t errlen);

/* ---- cron.c, traj.c -------------------------------------------------- */
json_t	*store_cron_list(struct store *);
json_t	*store_cron_save(struct store *, json_t *args);
json_t	*store_traj_append(struct store *, json_t *args);

/* ---- fsutil.c -------------------------------------------------------- */
/* Write a file atomically (temp, fsync, rename, fsync dir). 0 or -errno. */
int	 store_write_atomic(const char *path, const void *, size_t, int mode);
/* Read a whole file up to max bytes; NULL + errno (EFBIG when larger). */
char	*store_read_file(const char *path, size_t max, size_t *len);
int	 store_mkdirs(const char *path, int mode);
/* Remove a directory tree without following symlinks. */
int	 store_rmtree(const char *path);
/* Open dir/rel without following any symlink, creating parent
 * directories when mkdirs is set. -1 + errno. */
int	 store_open_beneath(const char *dir, const char *rel, int flags,
	    int mode, int mkdirs);
/* Atomically write dir/rel (parents created, no symlink followed).
 * 0 or -errno. */
int	 store_write_beneath(const char *dir, const char *rel, const void *,
	    size_t);
int	 store_unlink_beneath(const char *dir, const char *rel);

/* ---- ops.c ----------------------------------------------------------- */
/* Run one op: the single table of ops. res is filled; always returns. */
void	 store_call(struct store *, const char *op, const char *args_json,
	    size_t args_len, struct store_res *res);
void	 store_res_free(struct store_res *);
/* The names of all ops, NULL-terminated (for tests and docs). */
const char *const *store_op_names(void);

#endif
