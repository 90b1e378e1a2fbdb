/*
 * The system prompt (reference/hermes.md §8.2 tiers): stable (identity,
 * tool guidance, skills index, platform hint), context (configured system
 * message, workspace context files), volatile (frozen memory snapshot,
 * the date). Built once per session from its inputs and stored with the
 * session; the same inputs give the same bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ipc/util.h"
#include "agent/agent.h"

static const char memory_guidance[] =
"You have persistent memory across sessions. Save durable facts using the "
"memory tool: user preferences, environment details, tool quirks, and stable "
"conventions. Memory is injected into every turn, so keep it compact and "
"focused on facts that will still matter later. Prioritize what reduces "
"future user steering. Do NOT save task progress, session outcomes, or "
"temporary state; use session_search to recall those from past sessions.";

static const char session_search_guidance[] =
"When the user references something from a past conversation or you suspect "
"relevant cross-session context exists, use session_search to recall it "
"before asking them to repeat themselves.";

static const char skills_guidance[] =
"After completing a complex task (5+ tool calls), fixing a tricky error, or "
"discovering a non-trivial workflow, save the approach as a skill with "
"skill_manage so you can reuse it next time. When using a skill and finding "
"it outdated, incomplete, or wrong, patch it immediately with "
"skill_manage(action='patch') without waiting to be asked.";

static const struct {
	const char	*platform;
	const char	*hint;
} hints[] = {
	{ "cli", "You are a CLI AI Agent. Try not to use markdown but simple "
	    "text renderable inside a terminal." },
	{ "telegram", "You are on a text messaging communication platform, "
	    "Telegram. Please do not use markdown as it does not render. Keep "
	    "replies concise; long answers are split into several messages." },
	{ "discord", "You are in a Discord server or group chat communicating "
	    "with your user. Discord renders a subset of markdown." },
	{ "slack", "You are in a Slack workspace communicating with your "
	    "user. Slack uses its own mrkdwn formatting." },
	{ "whatsapp", "You are on a text messaging communication platform, "
	    "WhatsApp. Please do not use markdown as it does not render." },
	{ "signal", "You are on a text messaging communication platform, "
	    "Signal. Please do not use markdown as it does not render." },
	{ "email", "You are communicating via email. Write clear, "
	    "well-structured responses suitable for email; plain text." },
	{ "cron", "You are running as a scheduled cron job. There is no user "
	    "present: do not ask questions, complete the task and report the "
	    "result." },
};

static const struct {
	const char	*name;
	const char	*text;
} personalities[] = {
	{ "helpful", "You are a helpful, friendly AI assistant." },
	{ "concise", "You are a concise assistant. Keep responses brief and "
	    "to the point." },
	{ "technical", "You are a technical expert. Provide detailed, "
	    "accurate technical information." },
	{ "creative", "You are a creative assistant. Think outside the box "
	    "and offer innovative solutions." },
	{ "teacher", "You are a patient teacher. Explain concepts clearly "
	    "with examples." },
	{ "kawaii", "You are a kawaii assistant! Use cute expressions and "
	    "sparkles, be super enthusiastic about everything." },
	{ "catgirl", "You are Neko-chan, an anime catgirl AI assistant, nya~! "
	    "Add cat-like expressions to your speech." },
	{ "pirate", "Arrr! Ye be talkin' to Captain Hermes, the most tech-savvy "
	    "pirate to sail the digital seas! Speak like a proper buccaneer." },
	{ "shakespeare", "Hark! Thou speakest with an assistant most versed in "
	    "the bardic arts. I shall respond in the eloquent manner of "
	    "William Shakespeare." },
	{ "surfer", "Duuude! You're chatting with the chillest AI on the web, "
	    "bro! Everything's gonna be totally rad." },
	{ "noir", "The rain hammered against the terminal like regrets on a "
	    "guilty conscience. Speak as a hard-boiled detective of the night." },
	{ "uwu", "hewwo! i'm your fwiendwy assistant uwu~ speak in uwu style." },
	{ "philosopher", "Greetings, seeker of wisdom. I am an assistant who "
	    "contemplates the deeper meaning behind every query." },
	{ "hype", "YOOO LET'S GOOOO!!! I am SO PUMPED to help you today! Every "
	    "question is AMAZING!" },
};

const char *
agent_platform_hint(const char *platform)
{
	size_t	 i;

	if (platform == NULL)
		return NULL;
	for (i = 0; i < nitems(hints); i++)
		if (strcmp(hints[i].platform, platform) == 0)
			return hints[i].hint;
	return NULL;
}

const char *
agent_personality(const struct agent_cfg *cfg, const char *name)
{
	size_t		 i;
	const json_t	*v;

	if (name == NULL || *name == '\0')
		return NULL;
	if (cfg != NULL && json_is_object(cfg->personalities)) {
		v = json_object_get(cfg->personalities, name);
		if (json_is_string(v))
			return json_string_value(v);
		if (json_is_object(v) &&
		    json_is_string(json_object_get(v, "system_prompt")))
			return json_string_value(json_object_get(v,
			    "system_prompt"));
	}
	for (i = 0; i < nitems(personalities); i++)
		if (strcmp(personalities[i].name, name) == 0)
			return personalities[i].text;
	return NULL;
}

void
agent_date_line(int64_t t, char *buf, size_t len)
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%A, %B %d, %Y", &tm) == 0)
		strlcpy(buf, "unknown", len);
}

struct sbuf {
	char	*p;
	size_t	 len, cap;
};

static void
sb_add(struct sbuf *b, const char *s)
{
	size_t	 n = strlen(s);

	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xreallocarray(b->p, b->cap, 1);
	}
	memcpy(b->p + b->len, s, n + 1);
	b->len += n;
}

/* A section: separated from what came before by a blank line. */
static void
sb_section(struct sbuf *b, const char *s)
{
	if (s == NULL || *s == '\0')
		return;
	if (b->len > 0)
		sb_add(b, "\n\n");
	sb_add(b, s);
}

/* SOUL.md and context files may start with YAML frontmatter. */
static const char *
strip_frontmatter(const char *s, char **own)
{
	const char	*end;

	*own = NULL;
	if (strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	if (strncmp(s, "---", 3) != 0)
		return s;
	if ((end = strstr(s + 3, "\n---")) == NULL)
		return s;
	end += 4;
	while (*end == '\n' || *end == '\r')
		end++;
	return *end != '\0' ? end : s;
}

char *
agent_prompt_build(const struct agent_prompt_in *in)
{
	struct sbuf	 b = { NULL, 0, 0 };
	char		*own, *sec;
	const char	*soul, *hint;
	size_t		 i;
	const json_t	*f;

	sb_add(&b, "");
	/* stable tier */
	if (in->soul != NULL && *in->soul != '\0') {
		soul = strip_frontmatter(in->soul, &own);
		sb_section(&b, soul);
		/* A trailing newline of the file is not part of the prompt. */
		while (b.len > 0 && b.p[b.len - 1] == '\n')
			b.p[--b.len] = '\0';
	} else
		sb_section(&b, AGENT_DEFAULT_IDENTITY);
	if (in->personality != NULL)
		sb_section(&b, in->personality);
	if (in->has_memory_tool)
		sb_section(&b, memory_guidance);
	if (in->has_session_search)
		sb_section(&b, session_search_guidance);
	if (in->has_skills_tools)
		sb_section(&b, skills_guidance);
	if (in->skills_index != NULL)
		sb_section(&b, in->skills_index);
	hint = agent_platform_hint(in->platform);
	sb_section(&b, hint);
	/* context tier */
	sb_section(&b, in->system_message);
	if (json_is_array(in->context_files) &&
	    json_array_size(in->context_files) > 0) {
		sb_section(&b, "# Project Context\n\nThe following project "
		    "context files have been loaded and should be followed:");
		json_array_foreach(in->context_files, i, f) {
			const char *name = json_string_value(json_object_get(f,
			    "name"));
			const char *c = json_string_value(json_object_get(f,
			    "content"));
			if (name == NULL || c == NULL)
				continue;
			c = strip_frontmatter(c, &own);
			xasprintf(&sec, "## %s\n\n%.*s", name, AGENT_CTX_FILE_MAX,
			    c);
			sb_section(&b, sec);
			free(sec);
		}
	}
	/* volatile tier: frozen at session start */
	sb_section(&b, in->memory_block);
	sb_section(&b, in->user_block);
	if (in->date != NULL) {
		xasprintf(&sec, "Conversation started: %s%s%s%s%s", in->date,
		    in->session_id ? "\nSession ID: " : "",
		    in->session_id ? in->session_id : "",
		    in->model ? "\nModel: " : "", in->model ? in->model : "");
		sb_section(&b, sec);
		free(sec);
	}
	return b.p;
}

/* The rule line of Hermes's memory blocks: "═" * 46. */
static void
rule(struct sbuf *b)
{
	int	 i;

	for (i = 0; i < 46; i++)
		sb_add(b, "\xe2\x95\x90");
}

char *
agent_memory_block(const char *target, const json_t *entries, unsigned limit)
{
	struct sbuf	 b = { NULL, 0, 0 }, body = { NULL, 0, 0 };
	size_t		 i;
	const json_t	*e;
	char		 head[200];
	unsigned	 pct;

	if (!json_is_array(entries) || json_array_size(entries) == 0)
		return NULL;
	sb_add(&body, "");
	json_array_foreach(entries, i, e) {
		if (!json_is_string(e))
			continue;
		if (body.len > 0)
			sb_add(&body, "\n\xc2\xa7\n");
		sb_add(&body, json_string_value(e));
	}
	/* Characters, not bytes: count UTF-8 lead bytes. */
	{
		size_t chars = 0, k;
		for (k = 0; k < body.len; k++)
			if (((unsigned char)body.p[k] & 0xc0) != 0x80)
				chars++;
		pct = limit > 0 ? (unsigned)(chars * 100 / limit) : 0;
		snprintf(head, sizeof head, "\n%s [%u%% \xe2\x80\x94 %zu/%u chars]\n",
		    strcmp(target, "user") == 0 ?
		    "USER PROFILE (who the user is)" :
		    "MEMORY (your personal notes)", pct, chars, limit);
	}
	sb_add(&b, "");
	rule(&b);
	sb_add(&b, head);
	rule(&b);
	sb_add(&b, "\n");
	sb_add(&b, body.p);
	free(body.p);
	return b.p;
}

char *
agent_skills_index(const json_t *skills)
{
	struct sbuf	 b = { NULL, 0, 0 };
	size_t		 i, j;
	const json_t	*s, *t;
	const char	*cat, *prev = NULL;
	char		*line;

	if (!json_is_array(skills) || json_array_size(skills) == 0)
		return NULL;
	sb_add(&b, "## Skills (mandatory)\nBefore replying, scan the skills "
	    "below. If one clearly matches your task, load it with "
	    "skill_view(name) and follow its instructions. If a skill has "
	    "issues, fix it with skill_manage(action='patch').\n\n"
	    "<available_skills>\n");
	/* Grouped by category, in the order the store listed them. */
	json_array_foreach(skills, i, s) {
		cat = json_string_value(json_object_get(s, "category"));
		if (cat == NULL)
			cat = "general";
		if (prev != NULL && strcmp(prev, cat) == 0)
			continue;
		{
			int seen = 0;
			json_array_foreach(skills, j, t) {
				const char *c2;
				if (j >= i)
					break;
				c2 = json_string_value(json_object_get(t,
				    "category"));
				if (strcmp(c2 ? c2 : "general", cat) == 0)
					seen = 1;
			}
			if (seen)
				continue;
		}
		prev = cat;
		xasprintf(&line, "%s:\n", cat);
		sb_add(&b, line);
		free(line);
		json_array_foreach(skills, j, t) {
			const char *c2 = json_string_value(json_object_get(t,
			    "category"));
			const char *n = json_string_value(json_object_get(t,
			    "name"));
			const char *d = json_string_value(json_object_get(t,
			    "description"));
			if (n == NULL || strcmp(c2 ? c2 : "general", cat) != 0)
				continue;
			xasprintf(&line, "    - %s: %s\n", n, d ? d : "");
			sb_add(&b, line);
			free(line);
		}
	}
	sb_add(&b, "</available_skills>");
	return b.p;
}
