/*
 * The tool registry: one table of every tool the model sees, with its
 * Hermes schema, toolset, owning worker, read-only flag and availability
 * check; and a small JSON-schema validator so a bad call comes back to
 * the model as a tool error it can correct.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ipc/util.h"
#include "agent/agent.h"

static int	always(const struct agent_cfg *);
static int	memory_available(const struct agent_cfg *);

/*
 * Schemas: names, parameters, enums and required lists are Hermes's own
 * (reference/tool_schemas.txt); the table order is the order the tools
 * array is sent in, so it never changes within a session.
 */
static const struct agent_tool tools[] = {
{ "terminal", "terminal", OWNER_TOOL, 0, NULL, always,
"{\"name\":\"terminal\",\"description\":\"Execute shell commands on a Linux environment. "
"Filesystem usually persists between calls. Do NOT use cat/head/tail to read files "
"(use read_file), grep/rg/find to search (use search_files), ls to list directories "
"(use search_files target='files'), sed/awk to edit (use patch), or echo/cat heredoc "
"to create files (use write_file). Reserve terminal for builds, installs, git, "
"processes, scripts, network and package managers. Use background=true for long-running "
"servers and poll them with the process tool.\","
"\"parameters\":{\"type\":\"object\",\"properties\":{"
"\"command\":{\"type\":\"string\",\"description\":\"The command to execute on the VM\"},"
"\"background\":{\"type\":\"boolean\",\"description\":\"Run the command in the background and return a session_id for the process tool.\"},"
"\"timeout\":{\"type\":\"integer\",\"description\":\"Max seconds to wait (default 180). Returns INSTANTLY when the command finishes.\",\"minimum\":1},"
"\"workdir\":{\"type\":\"string\",\"description\":\"Working directory for this command (absolute path). Defaults to the session working directory.\"},"
"\"pty\":{\"type\":\"boolean\",\"description\":\"Run in pseudo-terminal (PTY) mode for interactive CLI tools.\"},"
"\"notify_on_complete\":{\"type\":\"boolean\",\"description\":\"With background=true: be notified automatically when the process finishes.\"},"
"\"watch_patterns\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"description\":\"With background=true: strings to watch for in the output; a match notifies you.\"}"
"},\"required\":[\"command\"]}}" },

{ "process", "terminal", OWNER_TOOL, 0, NULL, always,
"{\"name\":\"process\",\"description\":\"Manage background processes started with "
"terminal(background=true). Actions: 'list' (show all), 'poll' (check status + new output), "
"'log' (full output with pagination), 'wait' (block until done or timeout), 'kill' "
"(terminate), 'write' (send raw stdin data without newline), 'submit' (send data + Enter), "
"'close' (close stdin/send EOF).\","
"\"parameters\":{\"type\":\"object\",\"properties\":{"
"\"action\":{\"type\":\"string\",\"enum\":[\"list\",\"poll\",\"log\",\"wait\",\"kill\",\"write\",\"submit\",\"close\"],\"description\":\"Action to perform on background processes\"},"
"\"session_id\":{\"type\":\"string\",\"description\":\"Process session ID (from terminal background output). Required for all actions except 'list'.\"},"
"\"data\":{\"type\":\"string\",\"description\":\"Text to send to process stdin (for 'write' and 'submit' actions)\"},"
"\"timeout\":{\"type\":\"integer\",\"description\":\"Max seconds to block for 'wait' action.\",\"minimum\":1},"
"\"offset\":{\"type\":\"integer\",\"description\":\"Line offset for 'log' action (default: last 200 lines)\"},"
"\"limit\":{\"type\":\"integer\",\"description\":\"Max lines to return for 'log' action\",\"minimum\":1}"
"},\"required\":[\"action\"]}}" },

{ "read_file", "file", OWNER_TOOL, 1, NULL, always,
"{\"name\":\"read_file\",\"description\":\"Read a text file with line numbers "
"and pagination. Use this instead of cat/head/tail in terminal. Output format: "
"'LINE_NUM|CONTENT'. Suggests similar filenames if not found. Use offset "
"and limit for large files. Reads exceeding ~100K characters are rejected; "
"use offset and limit to read specific sections of large files. Jupyter notebooks "
"(.ipynb), Word documents (.docx), and Excel workbooks (.xlsx) are auto-extracted "
"to readable text. NOTE: Cannot read images or other binary files \\u2014 "
"use vision_analyze for images.\",\"parameters\":{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\",\"description\":\"Path "
"to the file to read (absolute, relative, or ~/path)\"},\"offset\":{\"type\":\"integer\",\"description\":\"Line "
"number to start reading from (1-indexed, default: 1)\",\"default\":1,\"minimum\":1},\"limit\":{\"type\":\"integer\",\"description\":\"Maximum "
"number of lines to read (default: 500, max: 2000)\",\"default\":500,\"maximum\":2000}},\"required\":[\"path\"]}}" },

{ "write_file", "file", OWNER_TOOL, 0, NULL, always,
"{\"name\":\"write_file\",\"description\":\"Write content to a file, completely "
"replacing existing content. Use this instead of echo/cat heredoc in terminal. "
"Creates parent directories automatically. OVERWRITES the entire file \\u2014 "
"use 'patch' for targeted edits. Auto-runs syntax checks on .py/.json/.yaml/.toml "
"and other linted languages; only NEW errors introduced by this write are "
"surfaced (pre-existing errors are filtered out).\",\"parameters\":{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\",\"description\":\"Path "
"to the file to write (will be created if it doesn't exist, overwritten if "
"it does)\"},\"content\":{\"type\":\"string\",\"description\":\"Complete "
"content to write to the file\"},\"cross_profile\":{\"type\":\"boolean\",\"description\":\"Opt "
"out of the cross-profile soft guard. Defaults to false. Set true ONLY after "
"explicit user direction to edit another Hermes profile's skills/plugins/cron/memories "
"\\u2014 by default these writes are blocked with a warning because they "
"affect a different profile than the one this session is running under.\",\"default\":false}},\"required\":[\"path\",\"content\"]}}" },

{ "patch", "file", OWNER_TOOL, 0, NULL, always,
"{\"name\":\"patch\",\"description\":\"Targeted find-and-replace edits in "
"files. Use this instead of sed/awk in terminal. Uses fuzzy matching (9 strategies) "
"so minor whitespace/indentation differences won't break it. Returns a unified "
"diff. Auto-runs syntax checks after editing.\\n\\nREPLACE MODE (mode='replace', "
"default): find a unique string and replace it. REQUIRED PARAMETERS: mode, "
"path, old_string, new_string.\\nPATCH MODE (mode='patch'): apply V4A multi-file "
"patches for bulk changes. REQUIRED PARAMETERS: mode, patch.\",\"parameters\":{\"type\":\"object\",\"properties\":{\"mode\":{\"type\":\"string\",\"enum\":[\"replace\",\"patch\"],\"description\":\"Edit "
"mode. 'replace' (default): requires path + old_string + new_string. 'patch': "
"requires patch content only.\",\"default\":\"replace\"},\"path\":{\"type\":\"string\",\"description\":\"REQUIRED "
"when mode='replace'. File path to edit.\"},\"old_string\":{\"type\":\"string\",\"description\":\"REQUIRED "
"when mode='replace'. Exact text to find and replace. Must be unique in the "
"file unless replace_all=true. Include surrounding context lines to ensure "
"uniqueness.\"},\"new_string\":{\"type\":\"string\",\"description\":\"REQUIRED "
"when mode='replace'. Replacement text. Pass empty string '' to delete the "
"matched text.\"},\"replace_all\":{\"type\":\"boolean\",\"description\":\"Replace "
"all occurrences instead of requiring a unique match (default: false)\",\"default\":false},\"patch\":{\"type\":\"string\",\"description\":\"REQUIRED "
"when mode='patch'. V4A format patch content. Format:\\n*** Begin Patch\\n*** "
"Update File: path/to/file\\n@@ context hint @@\\n context line\\n-removed "
"line\\n+added line\\n*** End Patch\"},\"cross_profile\":{\"type\":\"boolean\",\"description\":\"Opt "
"out of the cross-profile soft guard. Defaults to false. Set true ONLY after "
"explicit user direction to edit another Hermes profile's skills/plugins/cron/memories.\",\"default\":false}},\"required\":[\"mode\"]}}" },

{ "search_files", "file", OWNER_TOOL, 1, NULL, always,
"{\"name\":\"search_files\",\"description\":\"Search file contents or find "
"files by name. Use this instead of grep/rg/find/ls in terminal. Ripgrep-backed, "
"faster than shell equivalents.\\n\\nContent search (target='content'): Regex "
"search inside files. Output modes: full matches with line numbers, file "
"paths only, or match counts.\\n\\nFile search (target='files'): Find files "
"by glob pattern (e.g., '*.py', '*config*'). Also use this instead of ls "
"\\u2014 results sorted by modification time.\",\"parameters\":{\"type\":\"object\",\"properties\":{\"pattern\":{\"type\":\"string\",\"description\":\"Regex "
"pattern for content search, or glob pattern (e.g., '*.py') for file search\"},\"target\":{\"type\":\"string\",\"enum\":[\"content\",\"files\"],\"description\":\"'content' "
"searches inside file contents, 'files' searches for files by name\",\"default\":\"content\"},\"path\":{\"type\":\"string\",\"description\":\"Directory "
"or file to search in (default: current working directory)\",\"default\":\".\"},\"file_glob\":{\"type\":\"string\",\"description\":\"Filter "
"files by pattern in grep mode (e.g., '*.py' to only search Python files)\"},\"limit\":{\"type\":\"integer\",\"description\":\"Maximum "
"number of results to return (default: 50)\",\"default\":50},\"offset\":{\"type\":\"integer\",\"description\":\"Skip "
"first N results for pagination (default: 0)\",\"default\":0},\"output_mode\":{\"type\":\"string\",\"enum\":[\"content\",\"files_only\",\"count\"],\"description\":\"Output "
"format for grep mode: 'content' shows matching lines with line numbers, "
"'files_only' lists file paths, 'count' shows match counts per file\",\"default\":\"content\"},\"context\":{\"type\":\"integer\",\"description\":\"Number "
"of context lines before and after each match (grep mode only)\",\"default\":0}},\"required\":[\"pattern\"]}}" },

{ "memory", "memory", OWNER_STORE, 0, "memory", memory_available,
"{\"name\":\"memory\",\"description\":\"Save durable facts to persistent memory that survive "
"across sessions. Memory is injected into every future turn, so keep entries compact and "
"high-signal.\\n\\nHOW: make ALL your changes in ONE call via an 'operations' array (each "
"item: {action, content?, old_text?}). The batch applies atomically and the char limit is "
"checked only on the FINAL result \\u2014 so a single call can remove/replace stale entries to "
"free room AND add new ones, even when an add alone would overflow. The response reports "
"current/limit chars and confirms completion; one batch call finishes the update, so don't "
"repeat it. Use the bare action/content/old_text fields only for a single lone change.\\n\\n"
"WHEN: save proactively when the user states a preference, correction, or personal detail, "
"or you learn a stable fact about their environment, conventions, or workflow. Priority: "
"user preferences & corrections > environment facts > procedures. The best memory stops the "
"user repeating themselves.\\n\\nIF FULL: an add is rejected with the current entries shown. "
"Reissue as ONE batch that removes or shortens enough stale entries and adds the new one "
"together.\\n\\nTARGETS: 'user' = who the user is (name, role, preferences, style). 'memory' "
"= your notes (environment, conventions, tool quirks, lessons).\\n\\nSKIP: trivial/obvious "
"info, easily re-discovered facts, raw data dumps, task progress, completed-work logs, "
"temporary TODO state (use session_search for those). Reusable procedures belong in a skill, "
"not memory.\","
"\"parameters\":{\"type\":\"object\",\"properties\":{"
"\"action\":{\"type\":\"string\",\"enum\":[\"add\",\"replace\",\"remove\"],\"description\":\"The action to perform (single-op shape). Omit when using 'operations'.\"},"
"\"target\":{\"type\":\"string\",\"enum\":[\"memory\",\"user\"],\"description\":\"Which memory store: 'memory' for personal notes, 'user' for user profile.\"},"
"\"content\":{\"type\":\"string\",\"description\":\"The entry content. Required for 'add' and 'replace' (single-op shape).\"},"
"\"old_text\":{\"type\":\"string\",\"description\":\"REQUIRED for 'replace' and 'remove' (single-op shape): a short unique substring identifying the existing entry to modify. Omit only for 'add'.\"},"
"\"operations\":{\"type\":\"array\",\"description\":\"Batch shape: a list of operations applied atomically in one call against the final char budget. Preferred when making multiple changes or consolidating to make room. Each item is {action, content?, old_text?}.\","
"\"items\":{\"type\":\"object\",\"properties\":{"
"\"action\":{\"type\":\"string\",\"enum\":[\"add\",\"replace\",\"remove\"]},"
"\"content\":{\"type\":\"string\",\"description\":\"Entry content for add/replace.\"},"
"\"old_text\":{\"type\":\"string\",\"description\":\"Substring identifying the entry for replace/remove.\"}"
"},\"required\":[\"action\"]}}"
"},\"required\":[\"target\"]}}" },

{ "skills_list", "skills", OWNER_STORE, 1, "skills.list", always,
"{\"name\":\"skills_list\",\"description\":\"List available skills (name + description). "
"Use skill_view(name) to load full content.\","
"\"parameters\":{\"type\":\"object\",\"properties\":{"
"\"category\":{\"type\":\"string\",\"description\":\"Optional category filter to narrow results\"}"
"},\"required\":[]}}" },

{ "skill_view", "skills", OWNER_STORE, 1, "skills.view", always,
"{\"name\":\"skill_view\",\"description\":\"Skills allow for loading information about "
"specific tasks and workflows, as well as scripts and templates. Load a skill's full content "
"or access its linked files (references, templates, scripts). First call returns SKILL.md "
"content plus a 'linked_files' dict showing available references/templates/scripts. To "
"access those, call again with file_path parameter.\","
"\"parameters\":{\"type\":\"object\",\"properties\":{"
"\"name\":{\"type\":\"string\",\"description\":\"The skill name (use skills_list to see available skills)\"},"
"\"file_path\":{\"type\":\"string\",\"description\":\"OPTIONAL: Path to a linked file within the skill (e.g., 'references/api.md', 'templates/config.yaml', 'scripts/validate.py'). Omit to get the main SKILL.md content.\"}"
"},\"required\":[\"name\"]}}" },

{ "skill_manage", "skills", OWNER_STORE, 0, "skills.manage", always,
"{\"name\":\"skill_manage\",\"description\":\"Manage skills (create, update, delete). Skills "
"are your procedural memory \\u2014 reusable approaches for recurring task types. New skills go "
"to ~/.hermes/skills/; existing skills can be modified wherever they live.\\n\\nActions: "
"create (full SKILL.md + optional category), patch (old_string/new_string \\u2014 preferred for "
"fixes), edit (full SKILL.md rewrite \\u2014 major overhauls only), delete, write_file, "
"remove_file.\\n\\nCreate when: complex task succeeded (5+ calls), errors overcome, "
"user-corrected approach worked, non-trivial workflow discovered, or user asks you to "
"remember a procedure.\\nUpdate when: instructions stale/wrong, OS-specific failures, missing "
"steps or pitfalls found during use. If you used a skill and hit issues not covered by it, "
"patch it immediately.\\n\\nAfter difficult/iterative tasks, offer to save as a skill. Skip "
"for simple one-offs. Confirm with user before creating/deleting.\\n\\nGood skills: trigger "
"conditions, numbered steps with exact commands, pitfalls section, verification steps. Use "
"skill_view() to see format examples.\","
"\"parameters\":{\"type\":\"object\",\"properties\":{"
"\"action\":{\"type\":\"string\",\"enum\":[\"create\",\"patch\",\"edit\",\"delete\",\"write_file\",\"remove_file\"],\"description\":\"The action to perform.\"},"
"\"name\":{\"type\":\"string\",\"description\":\"Skill name (lowercase, hyphens/underscores, max 64 chars). Must match an existing skill for patch/edit/delete/write_file/remove_file.\"},"
"\"content\":{\"type\":\"string\",\"description\":\"Full SKILL.md content (YAML frontmatter + markdown body). Required for 'create' and 'edit'.\"},"
"\"old_string\":{\"type\":\"string\",\"description\":\"Text to find in the file (required for 'patch'). Must be unique unless replace_all=true.\"},"
"\"new_string\":{\"type\":\"string\",\"description\":\"Replacement text (required for 'patch'). Can be empty string to delete the matched text.\"},"
"\"replace_all\":{\"type\":\"boolean\",\"description\":\"For 'patch': replace all occurrences instead of requiring a unique match (default: false).\"},"
"\"category\":{\"type\":\"string\",\"description\":\"Optional category/domain for organizing the skill (e.g., 'devops', 'data-science', 'mlops'). Only used with 'create'.\"},"
"\"file_path\":{\"type\":\"string\",\"description\":\"Path to a supporting file within the skill directory. For 'write_file'/'remove_file': required, must be under references/, templates/, scripts/, or assets/.\"},"
"\"file_content\":{\"type\":\"string\",\"description\":\"Content for the file. Required for 'write_file'.\"},"
"\"absorbed_into\":{\"type\":\"string\",\"description\":\"For 'delete': the umbrella skill this one was merged into, or empty string.\"}"
"},\"required\":[\"action\",\"name\"]}}" },

{ "session_search", "session_search", OWNER_STORE, 1, "session.search", always,
"{\"name\":\"session_search\",\"description\":\"Search past sessions stored in the local "
"session DB, or scroll inside one. FTS5-backed retrieval over the SQLite message store. No "
"LLM calls \\u2014 every shape returns raw messages. Shapes: query= finds sessions matching "
"words; session_id + around_message_id + window scrolls around a message; session_id alone "
"reads a session; no arguments lists recent sessions.\","
"\"parameters\":{\"type\":\"object\",\"properties\":{"
"\"query\":{\"type\":\"string\",\"description\":\"Search query: keywords, phrases in quotes, or boolean operators.\"},"
"\"limit\":{\"type\":\"integer\",\"description\":\"Max sessions to return (default 3).\",\"default\":3},"
"\"sort\":{\"type\":\"string\",\"enum\":[\"newest\",\"oldest\"],\"description\":\"Order of results for browse/discovery.\"},"
"\"session_id\":{\"type\":\"string\",\"description\":\"A session to read or scroll inside.\"},"
"\"around_message_id\":{\"type\":\"integer\",\"description\":\"With session_id: the message to center the window on.\"},"
"\"window\":{\"type\":\"integer\",\"description\":\"With around_message_id: messages on each side (default 5).\"},"
"\"role_filter\":{\"type\":\"string\",\"description\":\"Only messages of these roles (comma-separated: user,assistant,tool).\"},"
"\"profile\":{\"type\":\"string\",\"description\":\"Read another profile's sessions.\"}"
"},\"required\":[]}}" },

{ "todo", "todo", OWNER_AGENT, 0, NULL, always,
"{\"name\":\"todo\",\"description\":\"Manage your task list for the current session. Use for "
"complex tasks with 3+ steps or when the user provides multiple tasks. Call with no "
"parameters to read the current list.\\n\\nWriting:\\n- Provide 'todos' array to create/update "
"items\\n- merge=false (default): replace the entire list with a fresh plan\\n- merge=true: "
"update existing items by id, add any new ones\\n\\nEach item: {id: string, content: string, "
"status: pending|in_progress|completed|cancelled}\\nList order is priority. Only ONE item "
"in_progress at a time.\\nMark items completed immediately when done. If something fails, "
"cancel it and add a revised item.\\n\\nAlways returns the full current list.\","
"\"parameters\":{\"type\":\"object\",\"properties\":{"
"\"todos\":{\"type\":\"array\",\"description\":\"Task items to write. Omit to read current list.\","
"\"items\":{\"type\":\"object\",\"properties\":{"
"\"id\":{\"type\":\"string\",\"description\":\"Unique item identifier\"},"
"\"content\":{\"type\":\"string\",\"description\":\"Task description\"},"
"\"status\":{\"type\":\"string\",\"enum\":[\"pending\",\"in_progress\",\"completed\",\"cancelled\"],\"description\":\"Current status\"}"
"},\"required\":[\"id\",\"content\",\"status\"]}},"
"\"merge\":{\"type\":\"boolean\",\"description\":\"true: update existing items by id, add new ones. false (default): replace the entire list.\",\"default\":false}"
"},\"required\":[]}}" },

{ "clarify", "clarify", OWNER_AGENT, 0, NULL, always,
"{\"name\":\"clarify\",\"description\":\"Ask the user a question when you need clarification, "
"feedback, or a decision before proceeding. Supports two modes:\\n\\n1. **Multiple choice** "
"\\u2014 provide up to 4 choices. The user picks one or types their own answer via a 5th "
"'Other' option.\\n2. **Open-ended** \\u2014 omit choices entirely. The user types a free-form "
"response.\\n\\nUse this tool when the task is genuinely ambiguous, when a decision has "
"meaningful trade-offs, or when you need feedback on your approach. Do NOT use it for simple "
"yes/no confirmation of dangerous commands (the terminal tool handles that).\","
"\"parameters\":{\"type\":\"object\",\"properties\":{"
"\"question\":{\"type\":\"string\",\"description\":\"The question to present to the user.\"},"
"\"choices\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"maxItems\":4,\"description\":\"Up to 4 answer choices. Omit this parameter entirely to ask an open-ended question.\"}"
"},\"required\":[\"question\"]}}" },
};

static json_t	*parsed[nitems(tools)];

static int
always(const struct agent_cfg *cfg)
{
	(void)cfg;
	return 1;
}

static int
memory_available(const struct agent_cfg *cfg)
{
	return cfg == NULL || cfg->memory_on || cfg->user_profile_on;
}

const struct agent_tool *
agent_tool_find(const char *name)
{
	size_t	 i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < nitems(tools); i++)
		if (strcmp(tools[i].name, name) == 0)
			return &tools[i];
	return NULL;
}

size_t
agent_tool_count(void)
{
	return nitems(tools);
}

const struct agent_tool *
agent_tool_at(size_t i)
{
	return i < nitems(tools) ? &tools[i] : NULL;
}

json_t *
agent_tool_schema(const struct agent_tool *t)
{
	size_t		 i = (size_t)(t - tools);
	json_error_t	 e;

	if (i >= nitems(tools))
		fatalx("%s: not a registry entry", __func__);
	if (parsed[i] == NULL) {
		parsed[i] = json_loads(t->schema, 0, &e);
		if (parsed[i] == NULL)
			fatalx("tool %s: bad schema: %s at %d", t->name, e.text,
			    e.position);
	}
	return parsed[i];
}

int
agent_tool_enabled(const struct agent_cfg *cfg, const struct agent_tool *t)
{
	size_t	 i;
	json_t	*v;

	if (!t->available(cfg))
		return 0;
	if (cfg != NULL && json_is_array(cfg->disabled_toolsets)) {
		json_array_foreach(cfg->disabled_toolsets, i, v)
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), t->toolset) == 0)
				return 0;
	}
	return 1;
}

char *
agent_tools_json(const struct agent_cfg *cfg)
{
	json_t	*arr = json_array();
	char	*s;
	size_t	 i;

	for (i = 0; i < nitems(tools); i++) {
		if (!agent_tool_enabled(cfg, &tools[i]))
			continue;
		if (json_array_append(arr, agent_tool_schema(&tools[i])) == -1)
			fatalx("%s: json", __func__);
	}
	s = json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(arr);
	if (s == NULL)
		fatalx("%s: json_dumps", __func__);
	return s;
}

char *
agent_tool_error(const char *fmt, ...)
{
	va_list	 ap;
	char	*msg, *s;
	json_t	*o;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("%s: vasprintf", __func__);
	va_end(ap);
	o = json_pack("{s:s}", "error", msg);
	free(msg);
	if (o == NULL)
		fatalx("%s: json_pack", __func__);
	s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	if (s == NULL)
		fatalx("%s: json_dumps", __func__);
	return s;
}

/* ---- the validator ------------------------------------------------- */

struct vtype {
	const char	*name;
	int		(*is)(const json_t *);
};

static int	is_string(const json_t *v) { return json_is_string(v); }
static int	is_integer(const json_t *v)
{
	double	 d;

	if (json_is_integer(v))
		return 1;
	/* 3.0 counts as an integer, as JSON Schema says. */
	if (!json_is_real(v))
		return 0;
	d = json_real_value(v);
	return d == (double)(long long)d;
}
static int	is_number(const json_t *v) { return json_is_number(v); }
static int	is_boolean(const json_t *v) { return json_is_boolean(v); }
static int	is_object(const json_t *v) { return json_is_object(v); }
static int	is_array(const json_t *v) { return json_is_array(v); }
static int	is_null(const json_t *v) { return json_is_null(v); }

static const struct vtype vtypes[] = {
	{ "string", is_string },
	{ "integer", is_integer },
	{ "number", is_number },
	{ "boolean", is_boolean },
	{ "object", is_object },
	{ "array", is_array },
	{ "null", is_null },
};

static const char *
json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:	return "object";
	case JSON_ARRAY:	return "array";
	case JSON_STRING:	return "string";
	case JSON_INTEGER:	return "integer";
	case JSON_REAL:		return "number";
	case JSON_TRUE:
	case JSON_FALSE:	return "boolean";
	case JSON_NULL:		return "null";
	default:		return "?";
	}
}

static int
type_ok(const char *want, const json_t *v)
{
	size_t	 i;

	for (i = 0; i < nitems(vtypes); i++)
		if (strcmp(vtypes[i].name, want) == 0)
			return vtypes[i].is(v);
	return 1;	/* unknown type words do not reject */
}

static int	validate(const json_t *, const json_t *, const char *, char *,
		    size_t, int);

static int
vfail(char *err, size_t len, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

static const char *
pname(const char *path)
{
	return path[0] != '\0' ? path : "arguments";
}

static int
check_type(const json_t *schema, const json_t *v, const char *path,
    char *err, size_t len)
{
	const json_t	*t = json_object_get(schema, "type");
	size_t		 i;
	const json_t	*e;
	char		 want[128] = "";

	if (t == NULL)
		return 0;
	if (json_is_string(t)) {
		if (type_ok(json_string_value(t), v))
			return 0;
		return vfail(err, len, "'%s' must be of type %s, got %s",
		    pname(path), json_string_value(t), json_kind(v));
	}
	if (!json_is_array(t))
		return 0;
	json_array_foreach(t, i, e) {
		if (!json_is_string(e))
			continue;
		if (type_ok(json_string_value(e), v))
			return 0;
		if (want[0] != '\0')
			strlcat(want, " or ", sizeof want);
		strlcat(want, json_string_value(e), sizeof want);
	}
	return vfail(err, len, "'%s' must be of type %s, got %s", pname(path),
	    want, json_kind(v));
}

static int
check_enum(const json_t *schema, const json_t *v, const char *path,
    char *err, size_t len)
{
	const json_t	*en = json_object_get(schema, "enum");
	size_t		 i;
	const json_t	*e;
	char		 allowed[512] = "", *dump;

	if (!json_is_array(en))
		return 0;
	json_array_foreach(en, i, e)
		if (json_equal(e, v))
			return 0;
	json_array_foreach(en, i, e) {
		dump = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
		if (dump == NULL)
			continue;
		if (allowed[0] != '\0')
			strlcat(allowed, ", ", sizeof allowed);
		strlcat(allowed, dump, sizeof allowed);
		free(dump);
	}
	dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	vfail(err, len, "'%s' must be one of [%s], got %.60s", pname(path),
	    allowed, dump != NULL ? dump : "?");
	free(dump);
	return -1;
}

static int
check_bounds(const json_t *schema, const json_t *v, const char *path,
    char *err, size_t len)
{
	const json_t	*m;
	double		 d;

	if (json_is_number(v)) {
		d = json_number_value(v);
		if ((m = json_object_get(schema, "minimum")) != NULL &&
		    json_is_number(m) && d < json_number_value(m))
			return vfail(err, len, "'%s' must be >= %g, got %g",
			    pname(path), json_number_value(m), d);
		if ((m = json_object_get(schema, "maximum")) != NULL &&
		    json_is_number(m) && d > json_number_value(m))
			return vfail(err, len, "'%s' must be <= %g, got %g",
			    pname(path), json_number_value(m), d);
	}
	if (json_is_array(v) &&
	    (m = json_object_get(schema, "maxItems")) != NULL &&
	    json_is_integer(m) &&
	    (json_int_t)json_array_size(v) > json_integer_value(m))
		return vfail(err, len, "'%s' may have at most %lld items, got %zu",
		    pname(path), (long long)json_integer_value(m),
		    json_array_size(v));
	return 0;
}

static int
check_object(const json_t *schema, const json_t *v, const char *path,
    char *err, size_t len, int depth)
{
	const json_t	*props = json_object_get(schema, "properties");
	const json_t	*req = json_object_get(schema, "required");
	const json_t	*addl = json_object_get(schema, "additionalProperties");
	const json_t	*e, *sub, *val;
	const char	*key;
	size_t		 i;
	char		 sp[256];

	if (json_is_array(req)) {
		json_array_foreach(req, i, e) {
			if (!json_is_string(e))
				continue;
			if (json_object_get(v, json_string_value(e)) == NULL)
				return vfail(err, len,
				    "missing required parameter '%s%s%s'",
				    path, path[0] ? "." : "",
				    json_string_value(e));
		}
	}
	json_object_foreach((json_t *)v, key, val) {
		snprintf(sp, sizeof sp, "%s%s%s", path, path[0] ? "." : "", key);
		sub = json_is_object(props) ? json_object_get(props, key) : NULL;
		if (sub == NULL) {
			if (json_is_false(addl))
				return vfail(err, len, "unknown parameter '%s'",
				    sp);
			if (json_is_object(addl))
				sub = addl;
			else
				continue;
		}
		if (validate(sub, val, sp, err, len, depth + 1) == -1)
			return -1;
	}
	return 0;
}

static int
validate(const json_t *schema, const json_t *v, const char *path, char *err,
    size_t len, int depth)
{
	const json_t	*items, *e;
	size_t		 i;
	char		 sp[256];

	if (depth > 32)
		return vfail(err, len, "'%s' is nested too deeply", pname(path));
	if (!json_is_object(schema))
		return 0;
	if (check_type(schema, v, path, err, len) == -1 ||
	    check_enum(schema, v, path, err, len) == -1 ||
	    check_bounds(schema, v, path, err, len) == -1)
		return -1;
	if (json_is_object(v))
		return check_object(schema, v, path, err, len, depth);
	if (json_is_array(v) &&
	    json_is_object(items = json_object_get(schema, "items"))) {
		json_array_foreach(v, i, e) {
			snprintf(sp, sizeof sp, "%s[%zu]", pname(path), i);
			if (validate(items, e, sp, err, len, depth + 1) == -1)
				return -1;
		}
	}
	return 0;
}

int
agent_schema_validate(const json_t *schema, const json_t *instance, char *err,
    size_t errlen)
{
	if (errlen > 0)
		err[0] = '\0';
	return validate(schema, instance, "", err, errlen, 0);
}

json_t *
agent_tool_check_args(const struct agent_tool *t, const char *args, size_t len,
    char **errjson)
{
	json_t		*v, *params;
	json_error_t	 e;
	char		 why[512];

	*errjson = NULL;
	if (args == NULL || len == 0) {
		v = json_object();
	} else if ((v = json_loadb(args, len, JSON_REJECT_DUPLICATES, &e))
	    == NULL) {
		*errjson = agent_tool_error("Invalid JSON in arguments for tool "
		    "'%s': %s (at character %d). Send the arguments as one JSON "
		    "object and call the tool again.", t->name, e.text,
		    e.position);
		return NULL;
	}
	params = json_object_get(agent_tool_schema(t), "parameters");
	if (!json_is_object(v)) {
		json_decref(v);
		*errjson = agent_tool_error("Invalid arguments for tool '%s': "
		    "the arguments must be a JSON object. Fix the arguments and "
		    "call the tool again.", t->name);
		return NULL;
	}
	if (agent_schema_validate(params, v, why, sizeof why) == -1) {
		json_decref(v);
		*errjson = agent_tool_error("Invalid arguments for tool '%s': %s. "
		    "Fix the arguments and call the tool again.", t->name, why);
		return NULL;
	}
	return v;
}
