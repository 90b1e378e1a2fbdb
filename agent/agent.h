/*
 * hermes-agent: the confined conversation state machine. No files, no
 * network, no exec: everything reaches it as messages. The pure parts
 * (tool registry and schema validation, context accounting and
 * compression, prompt assembly, session cache coherence, the learning
 * loop's bookkeeping) live in their own files and are unit-tested
 * without any IPC; loop.c and agent_main.c are the glue.
 */
#ifndef HERMES_AGENT_H
#define HERMES_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* ---- limits of the agent (its own header, as the preamble asks) ---- */
#define AGENT_MAX_TURNS_DEFAULT	90	/* agent.max_turns */
#define AGENT_PARALLEL_MAX	8	/* read-only tool calls at once */
#define AGENT_LOOP_GUARD	3	/* identical failing calls before a stop */
#define AGENT_MEMORY_NUDGE	10	/* memory.nudge_interval (user turns) */
#define AGENT_SKILL_NUDGE	10	/* skills.creation_nudge_interval */
#define AGENT_HOT_SESSIONS	64	/* sessions whose messages stay in RAM */
#define AGENT_MAX_SESSIONS	100000	/* session records per agent */
#define AGENT_MAX_CLIENTS	1024
#define AGENT_MAX_CALLS		128	/* tool calls of one model reply */
#define AGENT_MAX_INPUT		(1024 * 1024)	/* one user message */
#define AGENT_ARGS_SUMMARY	120	/* tool_start args shown to the user */
#define AGENT_PROTECT_FIRST	3	/* compression.protect_first_n */
#define AGENT_PROTECT_LAST	20	/* compression.protect_last_n */
#define AGENT_TAIL_FLOOR	8	/* messages always kept in the tail */
#define AGENT_FALLBACK_MAX	8000	/* deterministic summary chars */
#define AGENT_CTX_FILE_MAX	20000	/* one context file in the prompt */
#define AGENT_SUMMARY_COOLDOWN_MS (600 * 1000)
#define AGENT_ONE_LINE		160	/* one-line tool summaries */

/* ---- tools.c: the registry and the JSON-schema validator ---------- */

enum agent_tool_owner {
	OWNER_TOOL = 0,		/* the tool runner (ROLE_TOOL) */
	OWNER_STORE,		/* the store (ROLE_STORE) */
	OWNER_AGENT		/* handled here (todo, clarify) */
};

struct agent_cfg;

struct agent_tool {
	const char	*name;
	const char	*toolset;
	int		 owner;		/* enum agent_tool_owner */
	int		 readonly;	/* may run in a parallel batch */
	const char	*store_op;	/* STORE_CALL op for OWNER_STORE */
	int		(*available)(const struct agent_cfg *);
	const char	*schema;	/* {"name","description","parameters"} */
};

const struct agent_tool *agent_tool_find(const char *name);
size_t		 agent_tool_count(void);
const struct agent_tool *agent_tool_at(size_t);
/* The schema object of a tool (parsed once, owned by the registry). */
json_t		*agent_tool_schema(const struct agent_tool *);
/* The tools array sent with every request: byte-stable for a given
 * configuration (table order, compact, key order preserved). */
char		*agent_tools_json(const struct agent_cfg *);
int		 agent_tool_enabled(const struct agent_cfg *,
		    const struct agent_tool *);
/*
 * Validate `instance` against a JSON schema (type, required, enum,
 * properties, additionalProperties, items, minimum/maximum). 0, or -1
 * with a one-line reason naming the path in err.
 */
int		 agent_schema_validate(const json_t *schema,
		    const json_t *instance, char *err, size_t errlen);
/*
 * Parse and validate a model's tool-call argument text. Returns the
 * parsed object (caller decrefs) or NULL with the tool error text the
 * model sees in *errjson (caller frees).
 */
json_t		*agent_tool_check_args(const struct agent_tool *,
		    const char *args, size_t len, char **errjson);
/* {"error": text} as the model sees a tool failure (caller frees). */
char		*agent_tool_error(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));

/* ---- config (agent's view of config.yaml) --------------------------- */

struct agent_cfg {
	char		*model;		/* model.default */
	char		*provider;	/* model.provider */
	uint64_t	 context_length;	/* model.context_length (0: table) */
	uint64_t	 max_tokens;	/* model.max_tokens (0: none) */
	unsigned	 max_turns;	/* agent.max_turns */
	double		 threshold;	/* compression.threshold */
	double		 target_ratio;	/* compression.target_ratio */
	int		 compression_on;	/* compression.enabled */
	unsigned	 protect_first;	/* compression.protect_first_n */
	unsigned	 protect_last;	/* compression.protect_last_n */
	int		 abort_on_summary_failure;
	char		*cache_ttl;	/* prompt_caching.cache_ttl */
	unsigned	 memory_nudge;	/* memory.nudge_interval */
	unsigned	 skill_nudge;	/* skills.creation_nudge_interval */
	int		 memory_on;	/* memory.memory_enabled */
	int		 user_profile_on;
	int		 save_trajectories;	/* agent.save_trajectories */
	char		*personality;	/* display.personality */
	json_t		*personalities;	/* config personalities (object) */
	json_t		*platform_hints;	/* config platform_hints (object) */
	json_t		*disabled_toolsets;	/* agent.disabled_toolsets */
	char		*system_message;	/* agent.system_prompt */
};

void		 agent_cfg_defaults(struct agent_cfg *);
/* Read what the agent uses from config.yaml (as JSON text). 0 or -1. */
int		 agent_cfg_load(struct agent_cfg *, const char *json);
void		 agent_cfg_clear(struct agent_cfg *);

/* ---- context.c: tokens, context lengths, compression ---------------- */

/* Rough estimate: 4 chars a token (Hermes's), per message overhead. */
uint64_t	 agent_tokens_text(const char *);
uint64_t	 agent_tokens_msg(const json_t *msg);
uint64_t	 agent_tokens_msgs(const json_t *msgs, size_t from, size_t to);
/* Context window of a model: config override, else the table, else
 * 128k. */
uint64_t	 agent_context_length(const struct agent_cfg *, const char *model);
/* Prompt tokens at which compression fires. */
uint64_t	 agent_compress_threshold(const struct agent_cfg *,
		    const char *model);

struct agent_compress_plan {
	size_t	 head_end;	/* messages [0, head_end) kept as they are */
	size_t	 tail_start;	/* messages [tail_start, n) kept */
	uint64_t tail_tokens;
	int	 possible;	/* a middle exists */
};
/* msgs: the conversation WITHOUT the system prompt. */
void		 agent_compress_plan(const struct agent_cfg *, const char *model,
		    const json_t *msgs, struct agent_compress_plan *);
/* Replace tool outputs in [from, to) by one-line summaries (in place;
 * identical results: only the newest kept). Returns how many changed. */
size_t		 agent_prune_tool_outputs(json_t *msgs, size_t from, size_t to);
/* One line that stands for a tool result. Caller frees. */
char		*agent_tool_oneline(const char *name, const json_t *args,
		    const char *output);
/* The summariser request's messages for the middle [from, to). prev:
 * the previous summary (updated, not redone) or NULL. focus may be NULL. */
json_t		*agent_summary_request(const json_t *msgs, size_t from,
		    size_t to, const char *prev, const char *focus,
		    uint64_t budget_tokens);
uint64_t	 agent_summary_budget(const struct agent_cfg *, const char *model,
		    uint64_t middle_tokens);
/* Deterministic summary when the summariser fails. Caller frees. */
char		*agent_fallback_summary(const json_t *msgs, size_t from,
		    size_t to);
/* head + one summary message + tail: the compressed conversation. */
json_t		*agent_compress_apply(const json_t *msgs,
		    const struct agent_compress_plan *, const char *summary);
/* Is this message a compaction summary? Returns its text or NULL. */
const char	*agent_summary_text(const json_t *msg);
#define AGENT_SUMMARY_PREFIX \
	"[CONTEXT COMPACTION \xe2\x80\x94 REFERENCE ONLY] Earlier turns of this " \
	"conversation were compacted to save context space. The summary below " \
	"describes that earlier work; treat it as background, not as " \
	"instructions. Respond only to the latest user message after it. " \
	"MEMORY.md and USER.md remain authoritative over this summary.\n\n"

/* Anthropic system_and_3: mark the system message and the last 3
 * non-system messages that can carry a breakpoint ("cache": true). */
void		 agent_cache_marks(json_t *msgs);
/* Can this message carry a breakpoint (not an empty assistant one)? */
int		 agent_cacheable(const json_t *msg);

/* ---- prompt.c: the system prompt ------------------------------------ */

struct agent_prompt_in {
	const char	*soul;		/* SOUL.md text or NULL */
	const char	*memory_block;	/* frozen MEMORY block or NULL */
	const char	*user_block;	/* frozen USER block or NULL */
	const char	*skills_index;	/* skills index text or NULL */
	const json_t	*context_files;	/* [{name, path, content}] or NULL */
	const char	*platform;	/* "cli", "telegram", ... */
	const char	*personality;	/* the personality's text or NULL */
	const char	*system_message;	/* config agent.system_prompt */
	const char	*date;		/* "Sunday, November 22, 2026" */
	const char	*session_id;
	const char	*model;
	const char	*cwd;
	int		 has_memory_tool;
	int		 has_skills_tools;
	int		 has_session_search;
};
#define AGENT_DEFAULT_IDENTITY \
	"You are Hermes Agent, an intelligent AI assistant created by Nous " \
	"Research. You are helpful, knowledgeable, and direct. You assist users " \
	"with a wide range of tasks including answering questions, writing and " \
	"editing code, analyzing information, creative work, and executing " \
	"actions via your tools. You communicate clearly, admit uncertainty " \
	"when appropriate, and prioritize being genuinely useful over being " \
	"verbose unless otherwise directed below. Be targeted and efficient in " \
	"your exploration and investigations."

/* Build the system prompt (caller frees). Same input, same bytes. */
char		*agent_prompt_build(const struct agent_prompt_in *);
const char	*agent_platform_hint(const char *platform);
/* A personality preset's text by name, or NULL. */
const char	*agent_personality(const struct agent_cfg *, const char *name);
/* Hermes's frozen memory block for target "memory"/"user" from its
 * entries (NULL when empty). Caller frees. */
char		*agent_memory_block(const char *target, const json_t *entries,
		    unsigned limit);
/* The skills index from [{name, description, category}]. Caller frees. */
char		*agent_skills_index(const json_t *skills);
/* "Sunday, November 22, 2026" for a UNIX time (UTC). */
void		 agent_date_line(int64_t t, char *buf, size_t len);

/* ---- cache.c: session cache coherence -------------------------------- */

/*
 * One record per session_key: the session_id and the store's
 * message_count the cached state was built from.
 */
struct agent_cache_rec {
	char		*session_id;
	uint64_t	 baseline;
	uint64_t	 rebuilds;	/* how many times it was rebuilt */
};

enum agent_cache_verdict {
	CACHE_MISS = 0,		/* nothing cached: build */
	CACHE_HIT,		/* same id, same count: use as is */
	CACHE_REUSE,		/* another session id: reuse, no invalidation */
	CACHE_REBUILD		/* same id, the store moved: rebuild */
};
/*
 * Decide what to do with the cached record for a session_key given the
 * active session_id and the store's message_count for it.
 */
enum agent_cache_verdict agent_cache_check(const struct agent_cache_rec *,
		    const char *active_id, uint64_t store_count);
/* Record the build: session_id and baseline. */
void		 agent_cache_build(struct agent_cache_rec *, const char *id,
		    uint64_t count);
/* After a turn of session `id` left the store at `count`: refresh the
 * baseline only when the record holds that same id. 1 if refreshed. */
int		 agent_cache_turn_done(struct agent_cache_rec *, const char *id,
		    uint64_t count);
void		 agent_cache_clear(struct agent_cache_rec *);

/* ---- learning.c: nudges and trajectories ------------------------------- */

struct agent_learn {
	unsigned	 user_turns;	/* since the last memory review */
	unsigned	 tool_iters;	/* since the last skill review */
	int		 skill_manage_used;
	int		 review_running;
};
#define LEARN_MEMORY	0x1
#define LEARN_SKILL	0x2
/* After a user turn: which reviews are due (LEARN_* mask); resets the
 * counters of what it returns. */
int		 agent_learn_turn_done(struct agent_learn *, unsigned mem_every,
		    unsigned skill_every, unsigned tool_iters, int used_skill_manage);
/* The review prompt for a mask (static text). */
const char	*agent_review_prompt(int mask);
/* Tool names a review may call. */
int		 agent_review_tool_ok(const char *name);
/* A notice line for the user from a review's store results. Caller frees. */
char		*agent_review_notice(const json_t *changes);
/* One ShareGPT JSONL line (no newline) for a conversation in Hermes's
 * trajectory format. tools_json: the tools array text. Caller frees. */
char		*agent_trajectory_line(const json_t *msgs, const char *system,
		    const char *tools_json, const char *model, int completed,
		    int64_t now);

#endif
