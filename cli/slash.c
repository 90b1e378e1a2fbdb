/*
 * The slash commands of the chat: one table, Hermes's names
 * (hermes_cli/commands.py COMMAND_REGISTRY). Help and completion are
 * generated from it; anything not in it that names a skill becomes
 * CHAT_COMMAND "skill" with "name rest".
 */
#include <stdio.h>
#include <string.h>

#include "ipc/util.h"
#include "cli/cli.h"

const struct cli_slash cli_slash_table[] = {
	{ "new", "reset", "[name]", SLASH_AGENT, "new", SL_NONE,
	  "start a fresh session (new id, empty history)" },
	{ "model", NULL, "[model] [--provider NAME]", SLASH_AGENT, "model",
	  SL_NONE, "show or switch the model" },
	{ "retry", NULL, "", SLASH_AGENT, "retry", SL_NONE,
	  "send the last message again" },
	{ "undo", NULL, "[N]", SLASH_AGENT, "undo", SL_NONE,
	  "drop the last N user turns" },
	{ "compress", "compact", "[focus topic]", SLASH_AGENT, "compress",
	  SL_NONE, "compress the conversation context now" },
	{ "usage", NULL, "", SLASH_AGENT, "usage", SL_NONE,
	  "token usage of this session" },
	{ "skills", NULL, "[list|view NAME]", SLASH_AGENT, "skills", SL_NONE,
	  "list or show skills (/<skill-name> runs one)" },
	{ "personality", NULL, "[name]", SLASH_AGENT, "personality", SL_NONE,
	  "show or set the personality" },
	{ "stop", NULL, "", SLASH_AGENT, "stop", SL_NONE,
	  "interrupt the running turn and background processes" },
	{ "resume", NULL, "[id|title]", SLASH_AGENT, "resume", SL_NONE,
	  "resume a past session" },
	{ "sessions", NULL, "[list]", SLASH_AGENT, "sessions", SL_NONE,
	  "list past sessions" },
	{ "title", NULL, "[name]", SLASH_AGENT, "title", SL_NONE,
	  "show or set the session title" },
	{ "reasoning", NULL, "[show|hide]", SLASH_LOCAL, NULL, SL_REASONING,
	  "show or hide the model's reasoning" },
	{ "help", "commands", "", SLASH_LOCAL, NULL, SL_HELP,
	  "this list" },
	{ "exit", "quit", "", SLASH_LOCAL, NULL, SL_EXIT,
	  "leave the chat (the session is kept)" },
};
const size_t cli_slash_count = nitems(cli_slash_table);

int
cli_slash_parse(const char *line, const struct cli_slash **cmd, char *name,
    size_t namelen, const char **args)
{
	const char	*p, *e;
	size_t		 i, len;

	*cmd = NULL;
	while (*line == ' ' || *line == '\t')
		line++;
	if (line[0] != '/' || line[1] == '\0' || line[1] == ' ' ||
	    line[1] == '/')
		return -1;
	p = line + 1;
	for (e = p; *e != '\0' && *e != ' ' && *e != '\t' && *e != '\n'; e++)
		;
	len = (size_t)(e - p);
	if (len >= namelen)
		return -1;
	memcpy(name, p, len);
	name[len] = '\0';
	while (*e == ' ' || *e == '\t' || *e == '\n')
		e++;
	*args = e;
	for (i = 0; i < cli_slash_count; i++) {
		const struct cli_slash *s = &cli_slash_table[i];

		if (strcmp(s->name, name) == 0 ||
		    (s->alias != NULL && strcmp(s->alias, name) == 0)) {
			*cmd = s;
			break;
		}
	}
	return 0;
}

void
cli_slash_complete(const char *prefix, const char *const *skills,
    size_t nskills, void (*fn)(const char *, void *), void *arg)
{
	char	 buf[256];
	size_t	 i, len;

	if (prefix[0] != '/')
		return;
	prefix++;
	len = strlen(prefix);
	for (i = 0; i < cli_slash_count; i++) {
		const struct cli_slash *s = &cli_slash_table[i];

		if (strncmp(s->name, prefix, len) == 0) {
			snprintf(buf, sizeof(buf), "/%s", s->name);
			fn(buf, arg);
		}
		if (s->alias != NULL && strncmp(s->alias, prefix, len) == 0) {
			snprintf(buf, sizeof(buf), "/%s", s->alias);
			fn(buf, arg);
		}
	}
	for (i = 0; i < nskills; i++)
		if (strncmp(skills[i], prefix, len) == 0) {
			snprintf(buf, sizeof(buf), "/%s", skills[i]);
			fn(buf, arg);
		}
}

void
cli_slash_help(struct cli_out *o)
{
	char	 left[80];
	size_t	 i;

	for (i = 0; i < cli_slash_count; i++) {
		const struct cli_slash *s = &cli_slash_table[i];

		snprintf(left, sizeof(left), "/%s%s%s%s%s", s->name,
		    s->alias ? " (/" : "", s->alias ? s->alias : "",
		    s->alias ? ")" : "", "");
		fprintf(o->fp, "  %-22s %-26s %s\n", left, s->args, s->help);
	}
	fprintf(o->fp, "  %-22s %-26s %s\n", "/<skill-name>", "[text]",
	    "run a skill (its instructions join your message)");
	fprintf(o->fp, "  End a line with \\ to continue it; Ctrl+C stops a "
	    "running turn, twice leaves.\n");
	fflush(o->fp);
}
