/*
 * Command line: global options, then an optional subcommand from one
 * table. Options of the chat (-z/-q, -r, -c, -m) may come
 * before or after the word "chat"; every other subcommand gets the rest
 * of argv verbatim and parses it itself.
 */
#include <stdio.h>
#include <string.h>

#include "ipc/util.h"
#include "cli/cli.h"

static const struct cli_cmd cmds[] = {
	{ "chat", cli_cmd_chat, "chat [-q PROMPT] [-r ID|TITLE] [-c] [-m MODEL]",
	  "interactive chat (the default command)" },
	{ "model", cli_cmd_model, "model [PROVIDER [MODEL] [--base-url URL]]",
	  "pick the provider and model (config.yaml)" },
	{ "config", cli_cmd_config, "config get|set KEY [VALUE] | path",
	  "read or change config.yaml (dotted keys)" },
	{ "sessions", cli_cmd_sessions,
	  "sessions list|export|delete|prune|rename|repair [ARGS]",
	  "manage past sessions" },
	{ "skills", cli_cmd_skills, "skills list | view NAME",
	  "list installed skills or show one" },
	{ "doctor", cli_cmd_doctor, "doctor",
	  "check dependencies, config, provider and sandbox" },
	{ "status", cli_cmd_status, "status", "hermesd's worker table" },
	{ "stop", cli_cmd_stop, "stop", "shut hermesd down" },
	{ "version", cli_cmd_version, "version", "print the version" },
	{ "help", cli_cmd_help, "help", "this text" },
};

enum opt_id { O_QUERY, O_RESUME, O_CONT, O_MODEL, O_VERBOSE,
	O_QUIET, O_VERSION, O_HELP };

static const struct {
	char		 shortopt;
	const char	*longopt;
	int		 has_arg;
	enum opt_id	 id;
} opts[] = {
	{ 'z', "oneshot",	1, O_QUERY },
	{ 'q', "query",		1, O_QUERY },
	{ 'r', "resume",	1, O_RESUME },
	{ 'c', "continue",	0, O_CONT },
	{ 'm', "model",		1, O_MODEL },
	{ 'v', "verbose",	0, O_VERBOSE },
	{ 'Q', "quiet",		0, O_QUIET },
	{ 'V', "version",	0, O_VERSION },
	{ 'h', "help",		0, O_HELP },
};

const struct cli_cmd *
cli_cmd_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < nitems(cmds); i++)
		if (strcmp(cmds[i].name, name) == 0)
			return &cmds[i];
	return NULL;
}

static void
apply(struct cli_args *a, enum opt_id id, const char *val)
{
	switch (id) {
	case O_QUERY:	 a->query = val; break;
	case O_RESUME:	 a->resume = val; break;
	case O_CONT:	 a->cont = 1; break;
	case O_MODEL:	 a->model = val; break;
	case O_VERBOSE:	 a->verbose++; break;
	case O_QUIET:	 a->quiet = 1; break;
	case O_VERSION:	 a->version = 1; break;
	case O_HELP:	 a->help = 1; break;
	}
}

/* One option at argv[*i]. 0, or -1 with err set. */
static int
parse_opt(int argc, char **argv, int *i, struct cli_args *a, char *err,
    size_t errlen)
{
	const char	*arg = argv[*i], *eq, *val;
	size_t		 k, len;

	if (arg[1] == '-') {
		eq = strchr(arg + 2, '=');
		len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
		for (k = 0; k < nitems(opts); k++)
			if (strlen(opts[k].longopt) == len &&
			    strncmp(opts[k].longopt, arg + 2, len) == 0)
				break;
		if (k == nitems(opts)) {
			snprintf(err, errlen, "unknown option %s", arg);
			return -1;
		}
		if (!opts[k].has_arg) {
			if (eq != NULL) {
				snprintf(err, errlen, "%.*s takes no value",
				    (int)(len + 2), arg);
				return -1;
			}
			apply(a, opts[k].id, NULL);
			return 0;
		}
		if (eq != NULL)
			val = eq + 1;
		else if (*i + 1 < argc)
			val = argv[++*i];
		else {
			snprintf(err, errlen, "%s needs a value", arg);
			return -1;
		}
		apply(a, opts[k].id, val);
		return 0;
	}
	/* A cluster of short options: -vQ, -zPROMPT, -z PROMPT. */
	for (arg++; *arg != '\0'; arg++) {
		for (k = 0; k < nitems(opts); k++)
			if (opts[k].shortopt == *arg)
				break;
		if (k == nitems(opts)) {
			snprintf(err, errlen, "unknown option -%c", *arg);
			return -1;
		}
		if (!opts[k].has_arg) {
			apply(a, opts[k].id, NULL);
			continue;
		}
		if (arg[1] != '\0')
			val = arg + 1;
		else if (*i + 1 < argc)
			val = argv[++*i];
		else {
			snprintf(err, errlen, "-%c needs a value", *arg);
			return -1;
		}
		apply(a, opts[k].id, val);
		return 0;
	}
	return 0;
}

int
cli_parse_args(int argc, char **argv, struct cli_args *a, char *err,
    size_t errlen)
{
	const struct cli_cmd	*chat = cli_cmd_find("chat");
	int			 i;

	memset(a, 0, sizeof(*a));
	err[0] = '\0';
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		}
		if (arg[0] == '-' && arg[1] != '\0') {
			if (parse_opt(argc, argv, &i, a, err, errlen) == -1)
				return CLI_EXIT_USAGE;
			continue;
		}
		if (a->cmd != NULL)
			break;		/* an operand of chat */
		if ((a->cmd = cli_cmd_find(arg)) == NULL) {
			snprintf(err, errlen, "unknown command '%s' "
			    "(hermes help lists them)", arg);
			return CLI_EXIT_USAGE;
		}
		if (a->cmd != chat) {
			i++;
			break;		/* the subcommand parses the rest */
		}
	}
	a->argc = argc - i;
	a->argv = argv + i;
	if (a->cmd == NULL)
		a->cmd = chat;
	if (a->cmd == chat && a->argc > 0) {
		snprintf(err, errlen, "unexpected argument '%s' (quote the "
		    "prompt: hermes -z \"...\")", a->argv[0]);
		return CLI_EXIT_USAGE;
	}
	if (a->resume != NULL && a->cont) {
		snprintf(err, errlen, "-r and -c exclude each other");
		return CLI_EXIT_USAGE;
	}
	if (a->query != NULL && a->query[0] == '\0') {
		snprintf(err, errlen, "empty prompt");
		return CLI_EXIT_USAGE;
	}
	if (a->cmd != chat && (a->query || a->resume || a->cont)) {
		snprintf(err, errlen, "-z/-q, -r and -c go with chat, not %s",
		    a->cmd->name);
		return CLI_EXIT_USAGE;
	}
	return CLI_EXIT_OK;
}

void
cli_usage(FILE *fp)
{
	size_t	 i;

	fprintf(fp,
	    "usage: hermes [-vQ] [-m MODEL] [-r ID|TITLE | -c]"
	    " [-z PROMPT]\n"
	    "       hermes COMMAND [ARGS]\n"
	    "       hermes -V | --version\n\ncommands:\n");
	for (i = 0; i < nitems(cmds); i++)
		fprintf(fp, "  %-58s %s\n", cmds[i].usage, cmds[i].help);
	fprintf(fp,
	    "\noptions:\n"
	    "  -z, --oneshot PROMPT   one turn, print the answer, exit\n"
	    "  -q, --query PROMPT     the same, as chat -q\n"
	    "  -r, --resume ID|TITLE  resume a session\n"
	    "  -c, --continue         continue the latest session\n"
	    "  -m, --model MODEL      model for this session\n"
	    "  -Q, --quiet            no banner or tool lines\n"
	    "  -v, --verbose          more detail\n"
	    "\nexit status:\n"
	    "  0 ok, 1 error, 2 usage, 3 hermesd unreachable, 4 provider error,\n"
	    "  5 protocol version mismatch, 6 not found, 7 refused by the "
	    "sandbox or approval,\n"
	    "  130 interrupted\n"
	    "\nenvironment: HERMES_HOME (default ~/.hermes), HERMES_SOCKET, "
	    "NO_COLOR\n");
}
