/*
 * The closed learning loop's bookkeeping: when a background review is due
 * (memory every N user turns, skills after N tool iterations without a
 * skill_manage call), the review prompts, what a review may touch, the
 * notice the user sees, and trajectories in Hermes's ShareGPT format
 * (reference/hermes.md §5, §13).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ipc/util.h"
#include "agent/agent.h"

int
agent_learn_turn_done(struct agent_learn *l, unsigned mem_every,
    unsigned skill_every, unsigned tool_iters, int used_skill_manage)
{
	int	 due = 0;

	l->user_turns++;
	l->tool_iters += tool_iters;
	if (used_skill_manage) {
		l->skill_manage_used = 1;
		l->tool_iters = 0;
	}
	if (mem_every > 0 && l->user_turns >= mem_every) {
		due |= LEARN_MEMORY;
		l->user_turns = 0;
	}
	if (skill_every > 0 && l->tool_iters >= skill_every) {
		due |= LEARN_SKILL;
		l->tool_iters = 0;
	}
	return due;
}

static const char memory_review[] =
"Review the conversation above and consider saving to memory if "
"appropriate.\n\nFocus on:\n1. Has the user revealed things about "
"themselves - their persona, desires, preferences, or personal details "
"worth remembering?\n2. Has the user expressed expectations about how you "
"should behave, their work style, or ways they want you to operate?\n\n"
"If something stands out, save it using the memory tool (one batch call). "
"If nothing is worth saving, just say 'Nothing to save.' and stop.";

static const char skill_review[] =
"Review the conversation above and consider saving or updating a skill if "
"appropriate.\n\nFocus on: was a non-trivial approach used to complete a "
"task that required trial and error, or changing course due to "
"experiential findings along the way, or did the user expect or desire a "
"different method or outcome? Did a skill you used turn out to be wrong or "
"incomplete?\n\nIf a relevant skill already exists, patch it with what you "
"learned (skill_manage action='patch'). Otherwise, create a new skill if "
"the approach is reusable. If nothing is worth saving, just say 'Nothing to "
"save.' and stop.";

static const char both_review[] =
"Review the conversation above and consider two things:\n\n**Memory**: Has "
"the user revealed things about themselves - their persona, preferences, "
"or personal details - or expectations about how you should work? If so, "
"save them with the memory tool.\n\n**Skills**: Was a non-trivial approach "
"used that required trial and error, or did a skill you used turn out to "
"be wrong? If so, create or patch a skill with skill_manage.\n\nOnly act if "
"there's something genuinely worth saving. If nothing stands out, just say "
"'Nothing to save.' and stop.";

const char *
agent_review_prompt(int mask)
{
	if ((mask & (LEARN_MEMORY | LEARN_SKILL)) == (LEARN_MEMORY | LEARN_SKILL))
		return both_review;
	if (mask & LEARN_SKILL)
		return skill_review;
	return memory_review;
}

/* A review may read skills and write memory and skills, nothing else. */
static const char *const review_tools[] = {
	"memory", "skills_list", "skill_view", "skill_manage",
};

int
agent_review_tool_ok(const char *name)
{
	size_t	 i;

	for (i = 0; i < nitems(review_tools); i++)
		if (strcmp(review_tools[i], name) == 0)
			return 1;
	return 0;
}

/* changes: [{"tool": name, "args": {...}, "ok": bool}] */
char *
agent_review_notice(const json_t *changes)
{
	char		 out[1024] = "", part[256];
	size_t		 i;
	const json_t	*c, *a;
	const char	*tool, *act, *what;

	json_array_foreach(changes, i, c) {
		if (!json_is_true(json_object_get(c, "ok")))
			continue;
		tool = json_string_value(json_object_get(c, "tool"));
		a = json_object_get(c, "args");
		if (tool == NULL)
			continue;
		if (strcmp(tool, "memory") == 0) {
			const json_t *ops = json_object_get(a, "operations");
			what = json_string_value(json_object_get(a, "target"));
			act = json_string_value(json_object_get(a, "action"));
			if (json_is_array(ops))
				snprintf(part, sizeof part, "%zu change(s) to %s",
				    json_array_size(ops),
				    what && strcmp(what, "user") == 0 ?
				    "user profile" : "memory");
			else
				snprintf(part, sizeof part, "%s %s",
				    act ? act : "update",
				    what && strcmp(what, "user") == 0 ?
				    "user profile entry" : "memory entry");
		} else if (strcmp(tool, "skill_manage") == 0) {
			act = json_string_value(json_object_get(a, "action"));
			what = json_string_value(json_object_get(a, "name"));
			snprintf(part, sizeof part, "skill %s: %s",
			    act ? act : "update", what ? what : "?");
		} else
			continue;
		if (out[0] != '\0')
			strlcat(out, "; ", sizeof out);
		strlcat(out, part, sizeof out);
	}
	if (out[0] == '\0')
		return NULL;
	{
		char *s;
		xasprintf(&s, "Background review saved: %s", out);
		return s;
	}
}

static void
conv_add(json_t *conv, const char *from, const char *value)
{
	json_array_append_new(conv, json_pack("{s:s,s:s}", "from", from,
	    "value", value));
}

static char *
gpt_turn(const json_t *m)
{
	const char	*c = json_string_value(json_object_get(m, "content"));
	const char	*r = json_string_value(json_object_get(m, "reasoning"));
	const json_t	*calls = json_object_get(m, "tool_calls"), *tc, *a;
	char		*s, *t, *call;
	size_t		 i;
	json_t		*o, *args;

	xasprintf(&s, "<think>\n%s\n</think>\n%s", r ? r : "", c ? c : "");
	if (!json_is_array(calls))
		return s;
	json_array_foreach(calls, i, tc) {
		a = json_object_get(tc, "arguments");
		args = json_is_string(a) ? json_loads(json_string_value(a), 0,
		    NULL) : json_incref((json_t *)a);
		if (args == NULL)
			args = json_object();
		o = json_pack("{s:s?,s:o}", "name", json_string_value(
		    json_object_get(tc, "name")), "arguments", args);
		call = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
		json_decref(o);
		xasprintf(&t, "%s\n<tool_call>\n%s\n</tool_call>", s,
		    call ? call : "{}");
		free(call);
		free(s);
		s = t;
	}
	return s;
}

char *
agent_trajectory_line(const json_t *msgs, const char *system,
    const char *tools_json, const char *model, int completed, int64_t now)
{
	json_t		*conv = json_array(), *root, *o;
	size_t		 i, n = json_array_size(msgs);
	const json_t	*m;
	const char	*role;
	char		*sys, *turn, *tools_text = NULL, *line, ts[32];
	time_t		 tt = (time_t)now;
	struct tm	 tm;

	xasprintf(&sys, "You are a function calling AI model. You are provided "
	    "with function signatures within <tools> </tools> XML tags. You "
	    "may call one or more functions to assist with the user query. If "
	    "available tools are not relevant in assisting with user query, "
	    "just respond in natural conversational language. Don't make "
	    "assumptions about what values to plug into functions. After "
	    "calling & executing the functions, you will be provided with "
	    "function results within <tool_response> </tool_response> XML "
	    "tags.\n<tools>\n%s\n</tools>\nFor each function call return a "
	    "JSON object, with the following pydantic model json schema for "
	    "each tool call: {'title': 'FunctionCall', 'type': 'object', "
	    "'properties': {'name': {'title': 'Name', 'type': 'string'}, "
	    "'arguments': {'title': 'Arguments', 'type': 'object'}}, "
	    "'required': ['name', 'arguments']}\nEach function call should be "
	    "enclosed within <tool_call> </tool_call> XML tags.\nExample:\n"
	    "<tool_call>\n{'name': <function-name>,'arguments': "
	    "<args-dict>}\n</tool_call>%s%s", tools_json ? tools_json : "[]",
	    system ? "\n\n" : "", system ? system : "");
	conv_add(conv, "system", sys);
	free(sys);
	for (i = 0; i < n; i++) {
		m = json_array_get(msgs, i);
		role = json_string_value(json_object_get(m, "role"));
		if (role == NULL || strcmp(role, "system") == 0)
			continue;
		if (strcmp(role, "user") == 0) {
			const char *c = json_string_value(json_object_get(m,
			    "content"));
			conv_add(conv, "human", c ? c : "");
		} else if (strcmp(role, "assistant") == 0) {
			turn = gpt_turn(m);
			conv_add(conv, "gpt", turn);
			free(turn);
		} else if (strcmp(role, "tool") == 0) {
			/* Consecutive tool results form one tool turn. */
			char *acc = xstrdup(""), *t, *blk;
			for (; i < n; i++) {
				const json_t *tm2 = json_array_get(msgs, i);
				const char *r2 = json_string_value(
				    json_object_get(tm2, "role"));
				json_t *content;
				const char *ctext;
				if (r2 == NULL || strcmp(r2, "tool") != 0)
					break;
				ctext = json_string_value(json_object_get(tm2,
				    "content"));
				content = ctext ? json_loads(ctext, 0, NULL) : NULL;
				if (content == NULL)
					content = json_string(ctext ? ctext : "");
				o = json_pack("{s:s?,s:s?,s:o}", "tool_call_id",
				    json_string_value(json_object_get(tm2,
				    "tool_call_id")), "name", json_string_value(
				    json_object_get(tm2, "name")), "content",
				    content);
				blk = json_dumps(o, JSON_COMPACT |
				    JSON_ENSURE_ASCII);
				json_decref(o);
				xasprintf(&t, "%s%s<tool_response>\n%s\n"
				    "</tool_response>", acc, acc[0] ? "\n" : "",
				    blk ? blk : "{}");
				free(blk);
				free(acc);
				acc = t;
			}
			i--;
			conv_add(conv, "tool", acc);
			free(acc);
		}
	}
	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		strlcpy(ts, "", sizeof ts);
	root = json_pack("{s:o,s:s,s:s,s:b}", "conversations", conv,
	    "timestamp", ts, "model", model ? model : "", "completed",
	    completed);
	free(tools_text);
	if (root == NULL)
		fatalx("%s: json_pack", __func__);
	line = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(root);
	if (line == NULL)
		fatalx("%s: json_dumps", __func__);
	return line;
}
