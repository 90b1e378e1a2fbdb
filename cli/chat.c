/*
 * The chat: a session opened with the agent over the control socket
 * (handed over by hermesd after WELCOME), interactive with libedit or
 * one-shot (-z / chat -q).
 *
 * Interactive input uses libedit's native API with our own character
 * reader (EL_GETCFN), which waits on stdin and on a self-pipe written by
 * the SIGINT handler, so Ctrl+C ends the line being edited without
 * libedit's own signal handling. During a turn the terminal is cooked
 * and we wait on the socket and the self-pipe: the first Ctrl+C sends
 * CHAT_COMMAND "stop", the second leaves.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <histedit.h>
#include <jansson.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "cli/cli.h"

#define CHAT_MAX_TOOLS	32	/* tool calls in flight shown at once */
#define CHAT_HISTORY	1000	/* history entries kept */

struct tool_slot {
	char	*call_id;
	char	*name;
	char	*args;
};

struct cli_chat {
	struct cli_conn	 conn;
	struct cli_out	 out;		/* answers */
	struct cli_out	 info;		/* tool lines, notices (stderr in
					 * one-shot mode) */
	struct cli_out	 err;		/* errors: stderr */
	struct cli_args	*args;
	char		 home[PATH_MAX];
	char		 histfile[PATH_MAX + 32];
	int		 interactive;	/* libedit on a terminal */
	int		 show_reasoning;
	int		 in_reasoning;
	int		 streamed;	/* answer text seen in this turn */
	int		 transient;	/* a "running" tool line is shown */
	int		 exit_code;	/* of the last turn */
	int		 turn_over;
	int		 quit;
	uint64_t	 turn_id;
	uint64_t	 cmd_id;
	uint64_t	 stop_id;	/* the "stop" sent on Ctrl+C */
	int		 cmd_done;
	char		**skills;
	char		**skill_paths;
	size_t		 nskills;
	struct tool_slot tools[CHAT_MAX_TOOLS];
	EditLine	*el;
	History		*hist;
	FILE		*in;
	const char	*prompt;
};

static volatile sig_atomic_t	sigints;
static volatile sig_atomic_t	winched;	/* the terminal was resized */
static uint64_t			last_sigint_ms;	/* a second Ctrl+C soon
						 * after the first leaves */
#define CHAT_SECOND_CTRLC_MS	2000
static int			sigpipe_fd[2] = { -1, -1 };

static void
on_sigint(int sig)
{
	int	 saved = errno;
	char	 c = 'i';

	(void)sig;
	sigints++;
	if (write(sigpipe_fd[1], &c, 1) == -1) {
		/* the pipe is full: the flag is already set */
	}
	errno = saved;
}

static void
on_sigwinch(int sig)
{
	(void)sig;
	winched = 1;
}

static void
drain_sigpipe(void)
{
	char	 buf[64];

	while (read(sigpipe_fd[0], buf, sizeof(buf)) > 0)
		;
}

static int
setup_signals(void)
{
	struct sigaction	 sa;

	if (sigpipe_fd[0] == -1 &&
	    pipe2(sigpipe_fd, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: poll() must wake up */
	if (sigaction(SIGINT, &sa, NULL) == -1)
		return -1;
	sa.sa_handler = on_sigwinch;
	if (sigaction(SIGWINCH, &sa, NULL) == -1)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* ---- error codes -------------------------------------------------- */

static const struct {
	const char	*code;
	int		 exit;
} error_exits[] = {
	{ "auth",		CLI_EXIT_PROVIDER },
	{ "rate_limit",		CLI_EXIT_PROVIDER },
	{ "context_overflow",	CLI_EXIT_PROVIDER },
	{ "server",		CLI_EXIT_PROVIDER },
	{ "network",		CLI_EXIT_PROVIDER },
	{ "bad_response",	CLI_EXIT_PROVIDER },
	{ "bad_request",	CLI_EXIT_PROVIDER },
	{ "provider",		CLI_EXIT_PROVIDER },
	{ "sandbox",		CLI_EXIT_DENIED },
	{ "denied",		CLI_EXIT_DENIED },
	{ "approval",		CLI_EXIT_DENIED },
	{ "notfound",		CLI_EXIT_NOTFOUND },
	{ "cancelled",		CLI_EXIT_INTERRUPTED },
	{ "interrupted",	CLI_EXIT_INTERRUPTED },
};

int
cli_error_exit(const char *code)
{
	size_t	 i;

	for (i = 0; code != NULL && i < nitems(error_exits); i++)
		if (strcmp(error_exits[i].code, code) == 0)
			return error_exits[i].exit;
	return CLI_EXIT_ERROR;
}

/* ---- skills (for completion and /<skill-name>) -------------------- */

static void
skills_walk(const char *dir, int depth, char ***names, char ***paths,
    size_t *n)
{
	char		 sub[PATH_MAX], md[PATH_MAX + 16];
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;

	if (depth > 3 || *n >= CLI_MAX_SKILLS || (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL && *n < CLI_MAX_SKILLS) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir,
		    de->d_name) >= sizeof(sub))
			continue;
		if (stat(sub, &st) == -1 || !S_ISDIR(st.st_mode))
			continue;
		snprintf(md, sizeof(md), "%s/SKILL.md", sub);
		if (access(md, R_OK) == 0) {
			*names = xreallocarray(*names, *n + 1, sizeof(char *));
			*paths = xreallocarray(*paths, *n + 1, sizeof(char *));
			(*names)[*n] = xstrdup(de->d_name);
			(*paths)[*n] = xstrdup(md);
			(*n)++;
		} else
			skills_walk(sub, depth + 1, names, paths, n);
	}
	closedir(d);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t
cli_skills_scan(const char *home, char ***names, char ***paths)
{
	char	 dir[PATH_MAX + 16], **nm = NULL, **pt = NULL, *t;
	size_t	 n = 0, i, j;

	snprintf(dir, sizeof(dir), "%s/skills", home);
	skills_walk(dir, 0, &nm, &pt, &n);
	/* Sort names, keeping paths alongside (insertion sort; n small). */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && cmp_str(&nm[j - 1], &nm[j]) > 0; j--) {
			t = nm[j]; nm[j] = nm[j - 1]; nm[j - 1] = t;
			t = pt[j]; pt[j] = pt[j - 1]; pt[j - 1] = t;
		}
	*names = nm;
	if (paths != NULL)
		*paths = pt;
	else
		cli_skills_free(pt, n);
	return n;
}

void
cli_skills_free(char **v, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
chat_rescan_skills(struct cli_chat *c)
{
	cli_skills_free(c->skills, c->nskills);
	cli_skills_free(c->skill_paths, c->nskills);
	c->nskills = cli_skills_scan(c->home, &c->skills, &c->skill_paths);
}

static int
is_skill(struct cli_chat *c, const char *name)
{
	size_t	 i;

	for (i = 0; i < c->nskills; i++)
		if (strcmp(c->skills[i], name) == 0)
			return 1;
	return 0;
}

/* ---- output helpers ----------------------------------------------- */

static void
clear_transient(struct cli_chat *c)
{
	if (c->transient && c->info.tty) {
		fputs("\r\033[K", c->info.fp);
		c->info.col = 0;
	}
	c->transient = 0;
}

static void
end_reasoning(struct cli_chat *c)
{
	if (c->in_reasoning) {
		cli_out_reset(&c->info);
		cli_out_eol(&c->info);
		fflush(c->info.fp);
		c->in_reasoning = 0;
	}
}

static void
say(struct cli_out *o, const char *style, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(struct cli_out *o, const char *style, const char *fmt, ...)
{
	char	 buf[2048];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cli_out_eol(o);
	if (style != NULL)
		cli_out_style(o, style);
	cli_out_text(o, buf, strlen(buf));
	if (style != NULL)
		cli_out_reset(o);
	cli_out_eol(o);
	fflush(o->fp);
}

static char *
msg_str(const struct ipc_msg *m, const char *key)
{
	char	*s = ipc_get_strdup(m, key);

	return s != NULL ? s : xstrdup("");
}

/* ---- events of a turn --------------------------------------------- */

typedef void (*event_fn)(struct cli_chat *, const struct ipc_msg *);

static void
ev_text(struct cli_chat *c, const struct ipc_msg *m)
{
	const char	*s;
	size_t		 len;

	if (ipc_get_str(m, "text", &s, &len) == -1)
		return;
	clear_transient(c);
	end_reasoning(c);
	cli_out_text(&c->out, s, len);
	c->streamed = 1;
}

static void
ev_reasoning(struct cli_chat *c, const struct ipc_msg *m)
{
	const char	*s;
	size_t		 len;

	if (!c->show_reasoning || ipc_get_str(m, "text", &s, &len) == -1)
		return;
	clear_transient(c);
	if (!c->in_reasoning) {
		cli_out_eol(&c->out);
		cli_out_eol(&c->info);
		cli_out_style(&c->info, "dim");
		cli_out_text(&c->info, "(reasoning) ", 12);
		c->in_reasoning = 1;
	}
	/* Not the answer: with -z it goes to stderr with the tool lines. */
	cli_out_text(&c->info, s, len);
}

static struct tool_slot *
tool_slot(struct cli_chat *c, const char *call_id, int create)
{
	size_t	 i;

	for (i = 0; i < CHAT_MAX_TOOLS; i++)
		if (c->tools[i].call_id != NULL &&
		    strcmp(c->tools[i].call_id, call_id) == 0)
			return &c->tools[i];
	if (!create)
		return NULL;
	for (i = 0; i < CHAT_MAX_TOOLS; i++)
		if (c->tools[i].call_id == NULL) {
			c->tools[i].call_id = xstrdup(call_id);
			return &c->tools[i];
		}
	return NULL;
}

static void
tool_slot_free(struct tool_slot *t)
{
	free(t->call_id);
	free(t->name);
	free(t->args);
	memset(t, 0, sizeof(*t));
}

static void
ev_tool_start(struct cli_chat *c, const struct ipc_msg *m)
{
	char			*id = msg_str(m, "call_id"), line[512], sum[256];
	struct tool_slot	*t;

	if ((t = tool_slot(c, id, 1)) != NULL) {
		free(t->name);
		free(t->args);
		t->name = msg_str(m, "name");
		t->args = msg_str(m, "args");
		if (c->info.tty && !c->args->quiet) {
			end_reasoning(c);
			clear_transient(c);
			cli_out_eol(&c->out);
			cli_fmt_args(sum, sizeof(sum), t->args,
			    CLI_SUMMARY_MAX);
			snprintf(line, sizeof(line), "  [%s] %s ...", t->name,
			    sum);
			cli_out_eol(&c->info);
			cli_out_style(&c->info, "dim");
			cli_out_text(&c->info, line, strlen(line));
			cli_out_reset(&c->info);
			fflush(c->info.fp);
			c->transient = 1;
		}
	}
	free(id);
}

static void
ev_tool_end(struct cli_chat *c, const struct ipc_msg *m)
{
	char			*id = msg_str(m, "call_id"), *name, *text;
	char			 line[1024];
	struct tool_slot	*t;
	uint64_t		 ms = 0;
	int			 ok = 1;

	(void)ipc_get_u64(m, "ms", &ms);
	(void)ipc_get_bool(m, "ok", &ok);
	name = msg_str(m, "name");
	text = msg_str(m, "text");
	t = tool_slot(c, id, 0);
	clear_transient(c);
	if (!c->args->quiet) {
		end_reasoning(c);
		cli_out_eol(&c->out);
		cli_fmt_tool_line(line, sizeof(line),
		    name[0] ? name : t && t->name ? t->name : "tool",
		    t ? t->args : "", ms, ok, text);
		cli_out_eol(&c->info);
		cli_out_style(&c->info, ok ? "dim" : "yellow");
		cli_out_text(&c->info, line, strlen(line));
		cli_out_reset(&c->info);
		cli_out_eol(&c->info);
		fflush(c->info.fp);
	}
	if (t != NULL)
		tool_slot_free(t);
	free(id);
	free(name);
	free(text);
}

/* Read one answer line for an approval, outside libedit's history. */
static int
read_choice(struct cli_chat *c, char *buf, size_t len)
{
	const char	*line;
	int		 n;
	size_t		 l;

	if (c->interactive) {
		c->prompt = "  allow? [o]nce / [s]ession / [a]lways / [d]eny: ";
		sigints = 0;
		drain_sigpipe();
		line = el_gets(c->el, &n);
		c->prompt = "> ";
		if (line == NULL || sigints > 0)
			return -1;
		strlcpy(buf, line, len);
	} else {
		fputs("  allow? [o]nce / [s]ession / [a]lways / [d]eny: ",
		    c->info.fp);
		fflush(c->info.fp);
		if (fgets(buf, (int)len, c->in) == NULL)
			return -1;
	}
	l = strcspn(buf, "\r\n");
	buf[l] = '\0';
	return 0;
}

static const struct {
	const char	*word;
	const char	*choice;
} choices[] = {
	{ "o", "once" }, { "once", "once" }, { "y", "once" }, { "yes", "once" },
	{ "s", "session" }, { "session", "session" },
	{ "a", "always" }, { "always", "always" },
	{ "d", "deny" }, { "deny", "deny" }, { "n", "deny" }, { "no", "deny" },
};

static void
ev_approval(struct cli_chat *c, const struct ipc_msg *m)
{
	char		*cmd = msg_str(m, "text"), *reason = msg_str(m, "reason");
	char		 ans[64];
	const char	*choice = NULL;
	struct ipc_buf	*b;
	uint64_t	 aid = 0;
	size_t		 i;

	(void)ipc_get_u64(m, "approval_id", &aid);
	clear_transient(c);
	end_reasoning(c);
	cli_out_eol(&c->out);
	fflush(c->out.fp);
	say(&c->info, "yellow", "  ! approval needed: %s", cmd);
	if (reason[0] != '\0')
		say(&c->info, NULL, "    reason: %s", reason);
	while (choice == NULL) {
		if (read_choice(c, ans, sizeof(ans)) == -1) {
			choice = "deny";
			break;
		}
		for (i = 0; i < nitems(choices); i++)
			if (strcasecmp(ans, choices[i].word) == 0)
				choice = choices[i].choice;
		if (choice == NULL && !c->interactive)
			choice = "deny";
	}
	say(&c->info, "dim", "  -> %s", choice);
	b = ipc_new(IPC_MSG_CHAT_APPROVE, m->id);
	ipc_add_u64(b, "approval_id", aid);
	ipc_add_str(b, "choice", choice);
	if (ipc_send_fd(c->conn.fd, b) == -1)
		say(&c->err, "red", "error: send: %s", strerror(errno));
	free(cmd);
	free(reason);
}

static void
ev_notice(struct cli_chat *c, const struct ipc_msg *m)
{
	char	*text = msg_str(m, "text");

	if (!c->args->quiet) {
		clear_transient(c);
		end_reasoning(c);
		cli_out_eol(&c->out);
		say(&c->info, "cyan", "  * %s", text);
	}
	free(text);
}

static void
ev_error(struct cli_chat *c, const struct ipc_msg *m)
{
	char	*code = msg_str(m, "code"), *text = msg_str(m, "text");
	char	 line[1024];

	clear_transient(c);
	end_reasoning(c);
	cli_out_eol(&c->out);
	fflush(c->out.fp);
	cli_fmt_summary(line, sizeof(line), text, 400);
	if (cli_error_exit(code) == CLI_EXIT_INTERRUPTED)
		say(&c->info, "dim", "(interrupted: %s)", line);
	else if (cli_error_exit(code) == CLI_EXIT_PROVIDER)
		say(&c->err, "red", "provider error (%s): %s", code, line);
	else if (cli_error_exit(code) == CLI_EXIT_DENIED)
		say(&c->err, "red", "sandbox: %s", line);
	else
		say(&c->err, "red", "error (%s): %s", code[0] ? code : "agent",
		    line);
	c->exit_code = cli_error_exit(code);
	free(code);
	free(text);
}

/* The model asks the user (clarify tool): the next line is the answer,
 * so the prompt comes back. */
static void
ev_clarify(struct cli_chat *c, const struct ipc_msg *m)
{
	char		*q = msg_str(m, "text"), *data = msg_str(m, "data");
	json_t		*opts = json_loads(data, 0, NULL), *v;
	size_t		 i;

	clear_transient(c);
	end_reasoning(c);
	cli_out_eol(&c->out);
	fflush(c->out.fp);
	say(&c->info, "yellow", "  ? %s", q);
	json_array_foreach(opts, i, v)
		if (json_is_string(v))
			say(&c->info, NULL, "    %zu. %s", i + 1,
			    json_string_value(v));
	json_decref(opts);
	c->turn_over = 1;
	free(q);
	free(data);
}

static void
ev_done(struct cli_chat *c, const struct ipc_msg *m)
{
	const char	*s;
	size_t		 len;
	int		 ok = 1;

	clear_transient(c);
	end_reasoning(c);
	if (!c->streamed && ipc_get_str(m, "text", &s, &len) == 0 && len > 0)
		cli_out_text(&c->out, s, len);
	cli_out_eol(&c->out);
	fflush(c->out.fp);
	(void)ipc_get_bool(m, "ok", &ok);
	if (!ok && c->exit_code == CLI_EXIT_OK)
		c->exit_code = CLI_EXIT_ERROR;
	if (ok && c->exit_code == CLI_EXIT_INTERRUPTED)
		c->exit_code = CLI_EXIT_OK;
	c->turn_over = 1;
}

static const struct {
	const char	*kind;
	event_fn	 fn;
} events[] = {
	{ "text",	ev_text },
	{ "reasoning",	ev_reasoning },
	{ "tool_start",	ev_tool_start },
	{ "tool_end",	ev_tool_end },
	{ "approval",	ev_approval },
	{ "notice",	ev_notice },
	{ "error",	ev_error },
	{ "clarify",	ev_clarify },
	{ "done",	ev_done },
};

static void
on_reply(struct cli_chat *c, const struct ipc_msg *m)
{
	const char	*s;
	size_t		 len;
	int		 ok = 1;

	(void)ipc_get_bool(m, "ok", &ok);
	if (m->id == c->cmd_id)
		c->cmd_done = ok ? 1 : 2;
	if (m->id == c->stop_id && ok)
		return;		/* we said so already */
	if (ipc_get_str(m, "text", &s, &len) == -1 || len == 0) {
		if (ipc_get_str(m, "data", &s, &len) == 0 && len > 0) {
			char *d = xstrndup(s, len);

			cli_print_json(&c->out, d);
			free(d);
		}
		return;
	}
	cli_out_eol(&c->out);
	if (!ok) {
		cli_out_style(&c->err, "red");
		cli_out_text(&c->err, s, len);
		cli_out_reset(&c->err);
		cli_out_eol(&c->err);
		fflush(c->err.fp);
		return;
	}
	cli_out_text(&c->out, s, len);
	cli_out_eol(&c->out);
	fflush(c->out.fp);
}

static void
on_error_frame(struct cli_chat *c, const struct ipc_msg *m)
{
	char	*code = msg_str(m, "code"), *msg = msg_str(m, "message");

	clear_transient(c);
	end_reasoning(c);
	cli_out_eol(&c->out);
	say(&c->err, "red", "error (%s): %s", code, msg);
	if (m->id == c->turn_id) {
		c->exit_code = cli_error_exit(code);
		if (c->exit_code == CLI_EXIT_OK)
			c->exit_code = CLI_EXIT_ERROR;
		c->turn_over = 1;
	}
	if (m->id == c->cmd_id)
		c->cmd_done = 2;
	free(code);
	free(msg);
}

static void
dispatch(struct cli_chat *c, const struct ipc_msg *m)
{
	const char	*kind;
	size_t		 len, i;

	switch (m->type) {
	case IPC_MSG_CHAT_EVENT:
		if (ipc_get_str(m, "kind", &kind, &len) == -1)
			return;
		for (i = 0; i < nitems(events); i++)
			if (strlen(events[i].kind) == len &&
			    memcmp(events[i].kind, kind, len) == 0) {
				events[i].fn(c, m);
				return;
			}
		if (c->args->verbose)
			say(&c->err, "dim", "(unknown event %.*s)", (int)len,
			    kind);
		return;
	case IPC_MSG_CHAT_REPLY:
		on_reply(c, m);
		return;
	case IPC_MSG_ERROR:
		on_error_frame(c, m);
		return;
	case IPC_MSG_NOTICE:
		return;
	default:
		if (c->args->verbose)
			say(&c->err, "dim", "(ignored %s)",
			    ipc_msg_name(m->type));
		return;
	}
}

/*
 * Read and dispatch frames until done() says so. Ctrl+C: the first
 * sends "stop", the second returns CLI_EXIT_INTERRUPTED. Returns
 * CLI_EXIT_OK or an exit code.
 */
static int
pump(struct cli_chat *c, int (*done)(struct cli_chat *), int allow_stop)
{
	struct pollfd	 pfd[2];
	struct ipc_msg	 m;
	char		 err[256];
	int		 r, seen = 0;

	sigints = 0;
	drain_sigpipe();
	while (!done(c)) {
		pfd[0].fd = c->conn.fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = sigpipe_fd[0];
		pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, -1) == -1 && errno != EINTR) {
			say(&c->err, "red", "error: poll: %s", strerror(errno));
			return CLI_EXIT_ERROR;
		}
		/* Drain before reading the counter: a signal after this
		 * leaves a byte that wakes the next poll. */
		if (pfd[1].revents & POLLIN)
			drain_sigpipe();
		if (sigints > seen) {
			seen = sigints;
			last_sigint_ms = now_ms();
			if (seen >= 2 || !allow_stop) {
				clear_transient(c);
				end_reasoning(c);
				cli_out_eol(&c->out);
				say(&c->err, NULL, "interrupted");
				return CLI_EXIT_INTERRUPTED;
			}
			clear_transient(c);
			end_reasoning(c);
			cli_out_eol(&c->out);
			say(&c->info, "yellow", "^C stopping the turn "
			    "(Ctrl+C again to leave)");
			{
				struct ipc_buf *b;

				c->stop_id = c->conn.next_id++;
				b = ipc_new(IPC_MSG_CHAT_COMMAND, c->stop_id);

				ipc_add_str(b, "name", "stop");
				if (ipc_send_fd(c->conn.fd, b) == -1)
					return CLI_EXIT_DAEMON;
			}
			c->exit_code = CLI_EXIT_INTERRUPTED;
		}
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		/* Every frame already buffered, then wait again. (A 1 ms
		 * timeout: ipc_recv_fd with 0 returns before reading.) */
		for (;;) {
			r = ipc_recv_fd(c->conn.fd, c->conn.rb, 1, &m, err,
			    sizeof(err));
			if (r == 0)
				break;
			if (r == -1) {
				clear_transient(c);
				end_reasoning(c);
				cli_out_eol(&c->out);
				say(&c->err, "red", "error: hermesd closed the "
				    "connection (%s)", err);
				return CLI_EXIT_DAEMON;
			}
			dispatch(c, &m);
			if (done(c))
				break;
		}
	}
	/* A second Ctrl+C that came while the stopped turn ended. */
	if (seen >= 1 && sigints > seen) {
		say(&c->err, NULL, "interrupted");
		return CLI_EXIT_INTERRUPTED;
	}
	return CLI_EXIT_OK;
}

static int
turn_done(struct cli_chat *c)
{
	return c->turn_over;
}

static int
cmd_done(struct cli_chat *c)
{
	return c->cmd_done != 0;
}

static int
cmd_and_turn_done(struct cli_chat *c)
{
	return c->cmd_done == 2 || (c->cmd_done == 1 && c->turn_over);
}

static int
send_input(struct cli_chat *c, const char *text)
{
	struct ipc_buf	*b;
	int		 r;

	c->turn_id = c->conn.next_id++;
	c->turn_over = 0;
	c->streamed = 0;
	c->exit_code = CLI_EXIT_OK;
	b = ipc_new(IPC_MSG_CHAT_INPUT, c->turn_id);
	ipc_add_str(b, "text", text);
	if (ipc_send_fd(c->conn.fd, b) == -1) {
		say(&c->err, "red", "error: send: %s", strerror(errno));
		return CLI_EXIT_DAEMON;
	}
	if ((r = pump(c, turn_done, 1)) != CLI_EXIT_OK)
		return r;
	return c->exit_code;
}

/* A CHAT_COMMAND; with starts_turn, also wait for the turn it starts
 * (same id). */
static int
send_command(struct cli_chat *c, const char *name, const char *args,
    int starts_turn)
{
	struct ipc_buf	*b;
	int		 r;

	c->cmd_id = c->conn.next_id++;
	c->cmd_done = 0;
	c->turn_id = c->cmd_id;
	c->turn_over = 0;
	c->streamed = 0;
	c->exit_code = CLI_EXIT_OK;
	b = ipc_new(IPC_MSG_CHAT_COMMAND, c->cmd_id);
	ipc_add_str(b, "name", name);
	if (args != NULL && *args != '\0')
		ipc_add_str(b, "args", args);
	if (ipc_send_fd(c->conn.fd, b) == -1) {
		say(&c->err, "red", "error: send: %s", strerror(errno));
		return CLI_EXIT_DAEMON;
	}
	r = pump(c, starts_turn ? cmd_and_turn_done : cmd_done, starts_turn);
	if (r != CLI_EXIT_OK)
		return r;
	if (c->cmd_done == 2)
		return c->exit_code != CLI_EXIT_OK ? c->exit_code :
		    CLI_EXIT_ERROR;
	return c->exit_code;
}

/* ---- opening the session ----------------------------------------- */

static int
opened_done(struct cli_chat *c)
{
	return c->cmd_done != 0;
}

static int
open_session(struct cli_chat *c)
{
	struct ipc_buf	*b;
	struct ipc_msg	 m;
	char		 err[256], sid[128] = "", model[128] = "", prov[64] = "",
			 title[256] = "";
	const char	*s;
	size_t		 len;
	uint64_t	 count = 0, id;
	int		 r, resumed = 0;

	id = c->conn.next_id++;
	b = ipc_new(IPC_MSG_CHAT_OPEN, id);
	ipc_add_str(b, "platform", "cli");
	if (c->args->resume != NULL)
		ipc_add_str(b, "resume", c->args->resume);
	if (c->args->cont)
		ipc_add_bool(b, "continue", 1);
	if (c->args->model != NULL)
		ipc_add_str(b, "model", c->args->model);
	if (ipc_send_fd(c->conn.fd, b) == -1) {
		say(&c->err, "red", "error: send: %s", strerror(errno));
		return CLI_EXIT_DAEMON;
	}
	(void)opened_done;
	for (;;) {
		r = ipc_recv_fd(c->conn.fd, c->conn.rb, CLI_REPLY_WAIT_MS, &m,
		    err, sizeof(err));
		if (r == 0) {
			say(&c->err, "red", "error: the agent did not open a "
			    "session within %d ms", CLI_REPLY_WAIT_MS);
			return CLI_EXIT_DAEMON;
		}
		if (r == -1) {
			say(&c->err, "red", "error: hermesd closed the "
			    "connection (%s)", err);
			return CLI_EXIT_DAEMON;
		}
		if (m.type == IPC_MSG_CHAT_OPENED)
			break;
		if (m.type == IPC_MSG_ERROR) {
			char *code = msg_str(&m, "code");
			char *msg = msg_str(&m, "message");

			say(&c->err, "red", "error: %s", msg);
			r = strcmp(code, "notfound") == 0 ? CLI_EXIT_NOTFOUND :
			    cli_error_exit(code);
			free(code);
			free(msg);
			return r == CLI_EXIT_OK ? CLI_EXIT_ERROR : r;
		}
		c->exit_code = CLI_EXIT_OK;
		dispatch(c, &m);
		/* The agent may refuse the open with an "error" event. */
		if (c->exit_code != CLI_EXIT_OK) {
			const char *t;

			if (ipc_get_str(&m, "text", &t, &len) == 0 &&
			    memmem(t, len, "no session", 10) != NULL)
				return CLI_EXIT_NOTFOUND;
			return c->exit_code;
		}
	}
	if (ipc_get_str(&m, "session_id", &s, &len) == 0)
		cli_sanitize(sid, sizeof(sid), s, len, 0);
	if (ipc_get_str(&m, "model", &s, &len) == 0)
		cli_sanitize(model, sizeof(model), s, len, 0);
	if (ipc_get_str(&m, "provider", &s, &len) == 0)
		cli_sanitize(prov, sizeof(prov), s, len, 0);
	if (ipc_get_str(&m, "title", &s, &len) == 0)
		cli_sanitize(title, sizeof(title), s, len, 0);
	(void)ipc_get_u64(&m, "message_count", &count);
	(void)ipc_get_bool(&m, "resumed", &resumed);
	if (c->interactive && !c->args->quiet) {
		cli_out_style(&c->info, "bold");
		fprintf(c->info.fp, "hermes-c %s", HERMES_VERSION);
		cli_out_reset(&c->info);
		fprintf(c->info.fp, "  model %s%s%s%s  session %s%s%s%s\n",
		    model, prov[0] ? " (" : "", prov, prov[0] ? ")" : "", sid,
		    title[0] ? " \"" : "", title, title[0] ? "\"" : "");
		if (resumed)
			fprintf(c->info.fp, "resumed, %" PRIu64 " messages\n",
			    count);
		fprintf(c->info.fp, "/help for commands, Ctrl+C stops a turn, "
		    "/exit leaves.\n");
		fflush(c->info.fp);
	} else if (c->args->verbose)
		fprintf(stderr, "session %s, model %s\n", sid, model);
	return CLI_EXIT_OK;
}

/* ---- libedit ------------------------------------------------------ */

static int
chat_getc(EditLine *el, wchar_t *wc)
{
	struct cli_chat	*c;
	struct pollfd	 pfd[2];
	mbstate_t	 st;
	char		 buf[8];
	size_t		 n = 0, r;
	ssize_t		 got;

	if (el_get(el, EL_CLIENTDATA, &c) != 0)
		return -1;
	memset(&st, 0, sizeof(st));
	for (;;) {
		pfd[0].fd = fileno(c->in);
		pfd[0].events = POLLIN;
		pfd[1].fd = sigpipe_fd[0];
		pfd[1].events = POLLIN;
		if (sigints > 0)
			return -1;
		if (poll(pfd, 2, -1) == -1) {
			if (errno != EINTR)
				return -1;
			if (winched) {
				winched = 0;
				el_resize(el);
			}
			continue;
		}
		if (pfd[1].revents & POLLIN) {
			drain_sigpipe();
			return -1;
		}
		if (!(pfd[0].revents & (POLLIN | POLLHUP)))
			continue;
		got = read(fileno(c->in), buf + n, 1);
		if (got == 0)
			return 0;
		if (got == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		n++;
		r = mbrtowc(wc, buf, n, &st);
		if (r == (size_t)-2 && n < sizeof(buf) - 1) {
			memset(&st, 0, sizeof(st));
			continue;	/* an incomplete sequence */
		}
		if (r == (size_t)-1 || r == (size_t)-2)
			*wc = (wchar_t)(unsigned char)buf[0];
		return 1;
	}
}

static char *
chat_prompt(EditLine *el)
{
	struct cli_chat	*c;

	if (el_get(el, EL_CLIENTDATA, &c) != 0)
		return (char *)"> ";
	return (char *)c->prompt;
}

struct complete_ctx {
	char	**match;
	size_t	 n;
};

static void
complete_add(const char *s, void *arg)
{
	struct complete_ctx	*x = arg;

	x->match = xreallocarray(x->match, x->n + 1, sizeof(char *));
	x->match[x->n++] = xstrdup(s);
}

/* Tab: complete the slash command or skill name at the start of the
 * line; with several matches, extend to their common prefix or list
 * them. */
static unsigned char
chat_complete(EditLine *el, int ch)
{
	struct cli_chat		*c;
	const LineInfo		*li = el_line(el);
	struct complete_ctx	 x = { NULL, 0 };
	char			 word[256];
	size_t			 wlen, common, i, k;
	unsigned char		 rv = CC_REFRESH_BEEP;

	(void)ch;
	if (el_get(el, EL_CLIENTDATA, &c) != 0)
		return CC_ERROR;
	wlen = (size_t)(li->cursor - li->buffer);
	if (wlen == 0 || wlen >= sizeof(word) || li->buffer[0] != '/' ||
	    memchr(li->buffer, ' ', wlen) != NULL)
		return CC_REFRESH_BEEP;
	memcpy(word, li->buffer, wlen);
	word[wlen] = '\0';
	if (c->nskills == 0)
		chat_rescan_skills(c);
	cli_slash_complete(word, (const char *const *)c->skills, c->nskills,
	    complete_add, &x);
	if (x.n == 0)
		goto out;
	if (x.n == 1) {
		if (el_insertstr(el, x.match[0] + wlen) == -1 ||
		    el_insertstr(el, " ") == -1)
			goto out;
		rv = CC_REFRESH;
		goto out;
	}
	common = strlen(x.match[0]);
	for (i = 1; i < x.n; i++) {
		for (k = 0; k < common && x.match[i][k] == x.match[0][k]; k++)
			;
		common = k;
	}
	if (common > wlen) {
		char ext[256];

		memcpy(ext, x.match[0] + wlen, common - wlen);
		ext[common - wlen] = '\0';
		if (el_insertstr(el, ext) == 0)
			rv = CC_REFRESH;
		goto out;
	}
	fputc('\n', stdout);
	for (i = 0; i < x.n; i++)
		fprintf(stdout, "%s%s", x.match[i], i + 1 < x.n ? "  " : "\n");
	fflush(stdout);
	rv = CC_REDISPLAY;
out:
	for (i = 0; i < x.n; i++)
		free(x.match[i]);
	free(x.match);
	return rv;
}

static int
editline_init(struct cli_chat *c)
{
	HistEvent	 ev;

	setlocale(LC_CTYPE, "");
	if ((c->el = el_init("hermes", c->in, stdout, stderr)) == NULL)
		return -1;
	c->prompt = "> ";
	el_set(c->el, EL_CLIENTDATA, c);
	el_set(c->el, EL_EDITOR, "emacs");
	el_set(c->el, EL_PROMPT, chat_prompt);
	el_set(c->el, EL_GETCFN, chat_getc);
	el_set(c->el, EL_ADDFN, "hermes-complete",
	    "complete a slash command or skill", chat_complete);
	el_set(c->el, EL_BIND, "^I", "hermes-complete", NULL);
	if ((c->hist = history_init()) == NULL)
		return -1;
	history(c->hist, &ev, H_SETSIZE, CHAT_HISTORY);
	history(c->hist, &ev, H_SETUNIQUE, 1);
	el_set(c->el, EL_HIST, history, c->hist);
	snprintf(c->histfile, sizeof(c->histfile), "%s/.hermes_history",
	    c->home);
	(void)history(c->hist, &ev, H_LOAD, c->histfile);
	return 0;
}

/* ---- local slash commands ----------------------------------------- */

typedef int (*local_fn)(struct cli_chat *, const char *);

static int
sl_help(struct cli_chat *c, const char *args)
{
	(void)args;
	cli_slash_help(&c->out);
	if (c->nskills > 0) {
		size_t i;

		fprintf(c->out.fp, "  skills:");
		for (i = 0; i < c->nskills; i++)
			fprintf(c->out.fp, " /%s", c->skills[i]);
		fputc('\n', c->out.fp);
	}
	fflush(c->out.fp);
	return CLI_EXIT_OK;
}

static int
sl_exit(struct cli_chat *c, const char *args)
{
	(void)args;
	c->quit = 1;
	return CLI_EXIT_OK;
}

static int
sl_reasoning(struct cli_chat *c, const char *args)
{
	if (strcmp(args, "show") == 0 || strcmp(args, "on") == 0)
		c->show_reasoning = 1;
	else if (strcmp(args, "hide") == 0 || strcmp(args, "off") == 0)
		c->show_reasoning = 0;
	else if (*args == '\0')
		c->show_reasoning = !c->show_reasoning;
	else {
		say(&c->err, "red", "usage: /reasoning [show|hide]");
		return CLI_EXIT_USAGE;
	}
	say(&c->info, "dim", "reasoning %s", c->show_reasoning ? "shown" :
	    "hidden");
	return CLI_EXIT_OK;
}

static const local_fn local_fns[SL_MAX] = {
	[SL_HELP] = sl_help,
	[SL_EXIT] = sl_exit,
	[SL_REASONING] = sl_reasoning,
};

/* A line from the user: a slash command or a message. */
static int
handle_line(struct cli_chat *c, const char *line)
{
	const struct cli_slash	*s;
	const char		*args;
	char			 name[128], *sk;
	int			 r;

	if (cli_slash_parse(line, &s, name, sizeof(name), &args) == -1)
		return send_input(c, line);
	if (s != NULL && s->where == SLASH_LOCAL)
		return local_fns[s->local](c, args);
	if (s != NULL)
		return send_command(c, s->agent_cmd, args, 0);
	if (!is_skill(c, name))
		chat_rescan_skills(c);
	if (!is_skill(c, name)) {
		say(&c->err, "red", "unknown command /%s (/help lists them)",
		    name);
		return CLI_EXIT_USAGE;
	}
	xasprintf(&sk, "%s%s%s", name, *args ? " " : "", args);
	r = send_command(c, "skill", sk, 1);
	free(sk);
	return r;
}

/* "/retry" starts a turn too. */
static int
starts_turn(const char *line)
{
	return strncmp(line, "/retry", 6) == 0 &&
	    (line[6] == '\0' || line[6] == ' ');
}

/* Read one message: continuation lines (trailing backslash) and pasted
 * lines (more input already waiting) join into one. NULL at EOF. */
static char *
read_message(struct cli_chat *c, int *interrupted)
{
	struct pollfd	 pfd;
	const char	*line;
	char		*msg = NULL;
	size_t		 len = 0, l;
	int		 n, more;
	HistEvent	 ev;

	*interrupted = 0;
	c->prompt = "> ";
	for (;;) {
		sigints = 0;
		drain_sigpipe();
		line = el_gets(c->el, &n);
		if (sigints > 0) {
			*interrupted = 1;
			fputs("^C\n", stdout);
			fflush(stdout);
			free(msg);
			return NULL;
		}
		if (line == NULL || n <= 0) {
			if (msg != NULL)
				return msg;
			return NULL;
		}
		l = strcspn(line, "\n");
		more = 0;
		if (l > 0 && line[l - 1] == '\\') {
			l--;
			more = 1;
		}
		if (len + l + 2 > CLI_MAX_INPUT) {
			say(&c->err, "red", "input too long (max %d bytes)",
			    CLI_MAX_INPUT);
			free(msg);
			return xstrdup("");
		}
		msg = xreallocarray(msg, 1, len + l + 2);
		if (len > 0)
			msg[len++] = '\n';
		memcpy(msg + len, line, l);
		len += l;
		msg[len] = '\0';
		pfd.fd = fileno(c->in);
		pfd.events = POLLIN;
		if (!more && poll(&pfd, 1, CLI_PASTE_MS) == 1 &&
		    (pfd.revents & POLLIN))
			more = 1;
		if (!more)
			break;
		c->prompt = "... ";
	}
	if (len > 0)
		history(c->hist, &ev, H_ENTER, msg);
	return msg;
}

/* After the turn, not before it: rewriting the file costs more than the
 * round trip of an instant answer. Private (0600): people paste keys. */
static void
save_history(struct cli_chat *c)
{
	HistEvent	 ev;
	mode_t		 old = umask(077);

	(void)history(c->hist, &ev, H_SAVE, c->histfile);
	umask(old);
}

static int
interactive_loop(struct cli_chat *c)
{
	char	*msg;
	int	 intr, last_intr = 0, r = CLI_EXIT_OK;

	while (!c->quit) {
		msg = read_message(c, &intr);
		if (msg == NULL) {
			if (intr && (last_intr || now_ms() - last_sigint_ms <
			    CHAT_SECOND_CTRLC_MS))
				return CLI_EXIT_INTERRUPTED;
			if (intr)
				last_sigint_ms = now_ms();
			if (intr && !last_intr) {
				say(&c->info, "dim", "(Ctrl+C again or /exit "
				    "to leave)");
				last_intr = 1;
				continue;
			}
			if (!intr)
				fputc('\n', stdout);
			break;
		}
		last_intr = 0;
		if (msg[strspn(msg, " \t\n")] == '\0') {
			free(msg);
			continue;
		}
		if (starts_turn(msg))
			r = send_command(c, "retry", "", 1);
		else
			r = handle_line(c, msg);
		free(msg);
		save_history(c);
		if (r == CLI_EXIT_DAEMON || (r == CLI_EXIT_INTERRUPTED &&
		    sigints >= 2))
			return r;
	}
	return CLI_EXIT_OK;
}

/* stdin is not a terminal: each line is a message, no editing. */
static int
plain_loop(struct cli_chat *c)
{
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 n;
	int	 r = CLI_EXIT_OK;

	while (!c->quit && (n = getline(&line, &cap, c->in)) != -1) {
		line[strcspn(line, "\n")] = '\0';
		if (line[strspn(line, " \t")] == '\0')
			continue;
		r = starts_turn(line) ? send_command(c, "retry", "", 1) :
		    handle_line(c, line);
		if (r == CLI_EXIT_DAEMON || r == CLI_EXIT_INTERRUPTED)
			break;
	}
	free(line);
	return r;
}

/* display.show_reasoning from config.yaml. */
static int
config_show_reasoning(const char *home)
{
	char	*v = NULL;
	int	 on = 0;

	if (cli_config_get(home, "display.show_reasoning", &v) == 0 &&
	    v != NULL)
		on = strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 ||
		    strcmp(v, "on") == 0;
	free(v);
	return on;
}

static void
chat_free(struct cli_chat *c)
{
	size_t	 i;

	if (c->el != NULL)
		el_end(c->el);
	if (c->hist != NULL)
		history_end(c->hist);
	for (i = 0; i < CHAT_MAX_TOOLS; i++)
		tool_slot_free(&c->tools[i]);
	cli_skills_free(c->skills, c->nskills);
	cli_skills_free(c->skill_paths, c->nskills);
	cli_conn_close(&c->conn);
}

int
cli_chat_run(struct cli_args *a)
{
	struct cli_chat	 c;
	char		 err[1024];
	int		 r;

	memset(&c, 0, sizeof(c));
	c.args = a;
	c.in = stdin;
	c.conn.fd = -1;
	if (hermes_home(c.home, sizeof(c.home)) == -1) {
		fprintf(stderr, "hermes: cannot work out HERMES_HOME\n");
		return CLI_EXIT_ERROR;
	}
	cli_out_init(&c.out, stdout, 0);
	cli_out_init(&c.err, stderr, 0);
	cli_out_init(&c.info, a->query ? stderr : stdout, 0);
	c.interactive = a->query == NULL && isatty(STDIN_FILENO);
	c.show_reasoning = config_show_reasoning(c.home);
	c.nskills = cli_skills_scan(c.home, &c.skills, &c.skill_paths);
	/* Until the session is open, Ctrl+C just ends the program. */
	if ((r = cli_connect(&c.conn, "chat", 1, err, sizeof(err))) !=
	    CLI_EXIT_OK) {
		fprintf(stderr, "hermes: %s\n", err);
		chat_free(&c);
		return r;
	}
	cli_conn_to_agent(&c.conn);
	if ((r = open_session(&c)) != CLI_EXIT_OK)
		goto out;
	if (setup_signals() == -1) {
		fprintf(stderr, "hermes: signals: %s\n", strerror(errno));
		r = CLI_EXIT_ERROR;
		goto out;
	}
	if (a->query != NULL) {
		r = handle_line(&c, a->query);
		goto out;
	}
	if (c.interactive) {
		if (editline_init(&c) == -1) {
			fprintf(stderr, "hermes: libedit init failed\n");
			r = CLI_EXIT_ERROR;
			goto out;
		}
		r = interactive_loop(&c);
	} else
		r = plain_loop(&c);
out:
	fflush(stdout);
	chat_free(&c);
	return r;
}

/* hermes sessions ..., over a chat connection, without a session. */
int
cli_agent_command(const char *name, const char *args, int json)
{
	struct cli_args	 a;
	struct cli_chat	 c;
	char		 err[1024];
	int		 r;

	memset(&a, 0, sizeof(a));
	memset(&c, 0, sizeof(c));
	c.args = &a;
	c.in = stdin;
	cli_out_init(&c.out, stdout, json);
	cli_out_init(&c.err, stderr, 0);
	cli_out_init(&c.info, stderr, 0);
	if (hermes_home(c.home, sizeof(c.home)) == -1 ||
	    setup_signals() == -1)
		return CLI_EXIT_ERROR;
	if ((r = cli_connect(&c.conn, "chat", 1, err, sizeof(err))) !=
	    CLI_EXIT_OK) {
		fprintf(stderr, "hermes: %s\n", err);
		return r;
	}
	cli_conn_to_agent(&c.conn);
	r = send_command(&c, name, args, 0);
	chat_free(&c);
	return r;
}
