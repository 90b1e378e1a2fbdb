/*
 * A scripted agent for the CLI's black-box tests: run by the real
 * hermesd as hermes-agent (a symlink in a private libexec dir), it takes
 * client connections (CLIENT_ATTACH) and answers chat.def messages in a
 * fixed, documented way, so the CLI's terminal behaviour (streaming,
 * interrupt, approval prompt, errors, exit codes, escapes) is tested
 * whatever the state of the real agent. The end-to-end tests against the
 * real agent and fakellm are in cli_e2e.sh.
 *
 * CHAT_INPUT text -> behaviour:
 *   "slow ..."      "tick " every 50 ms, 200 times; "stop" ends it with
 *                   an "interrupted" error and done{ok: false}
 *   "approve ..."   tool_start, approval (id 7); CHAT_APPROVE -> tool_end
 *                   and text "choice=<choice>"
 *   "provider ..."  error{code: "auth"} and done{ok: false}
 *   "sandbox ..."   tool_end{ok: false}, error{code: "sandbox"}, done
 *   "reason ..."    reasoning "thinking hard", then text "answer"
 *   "escape ..."    text with ESC sequences (the CLI must defuse them)
 *   "tools ..."     two tool calls, then text "done"
 *   anything else   text "echo: <input>" word by word
 * CHAT_COMMAND name args -> CHAT_REPLY "ran <name> <args>" ("stop" also
 * stops the turn; "retry" replays the last input under the command's
 * id; "skill" runs its args as a turn under the command's id;
 * "sessions" with args containing "fail" -> ok false).
 * CHAT_OPEN resume "nosuch" -> ERROR code "notfound".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "ipc/worker.h"
#include "sandbox/sandbox.h"

struct fclient {
	struct ipc_peer	*p;
	struct event	*tick;
	uint64_t	 turn;
	int		 ticks;
	char		*last;
};

static struct worker	*wk;

static void
ev(struct fclient *c, uint64_t id, const char *kind, const char *text)
{
	struct ipc_buf	*b = ipc_new(IPC_MSG_CHAT_EVENT, id);

	ipc_add_str(b, "kind", kind);
	if (text != NULL)
		ipc_add_str(b, "text", text);
	(void)ipc_peer_send(c->p, b);
}

static void
done(struct fclient *c, uint64_t id, int ok, const char *text)
{
	struct ipc_buf	*b = ipc_new(IPC_MSG_CHAT_EVENT, id);

	ipc_add_str(b, "kind", "done");
	ipc_add_bool(b, "ok", ok);
	ipc_add_str(b, "text", text);
	ipc_add_str(b, "data", "{\"input_tokens\":3,\"output_tokens\":5}");
	(void)ipc_peer_send(c->p, b);
	c->turn = 0;
}

static void
tool(struct fclient *c, uint64_t id, const char *kind, const char *name,
    const char *cid, const char *args, int ok, const char *text)
{
	struct ipc_buf	*b = ipc_new(IPC_MSG_CHAT_EVENT, id);

	ipc_add_str(b, "kind", kind);
	ipc_add_str(b, "name", name);
	ipc_add_str(b, "call_id", cid);
	if (args != NULL)
		ipc_add_str(b, "args", args);
	if (strcmp(kind, "tool_end") == 0) {
		ipc_add_u64(b, "ms", 12);
		ipc_add_bool(b, "ok", ok);
		ipc_add_str(b, "text", text);
	}
	(void)ipc_peer_send(c->p, b);
}

static void
err_ev(struct fclient *c, uint64_t id, const char *code, const char *text)
{
	struct ipc_buf	*b = ipc_new(IPC_MSG_CHAT_EVENT, id);

	ipc_add_str(b, "kind", "error");
	ipc_add_str(b, "code", code);
	ipc_add_str(b, "text", text);
	(void)ipc_peer_send(c->p, b);
}

static void
tick_cb(int fd, short what, void *arg)
{
	struct fclient	*c = arg;
	struct timeval	 tv = { 0, 50000 };

	if (c->turn == 0)
		return;
	ev(c, c->turn, "text", "tick ");
	if (++c->ticks >= 200) {
		done(c, c->turn, 1, "");
		return;
	}
	evtimer_add(c->tick, &tv);
}

static void
run_input(struct fclient *c, uint64_t id, const char *text)
{
	struct timeval	 tv = { 0, 50000 };
	char		 buf[4096], *w, *save = NULL;

	c->turn = id;
	if (strncmp(text, "slow", 4) == 0) {
		c->ticks = 0;
		evtimer_add(c->tick, &tv);
	} else if (strncmp(text, "approve", 7) == 0) {
		tool(c, id, "tool_start", "terminal", "c1", "rm -rf /tmp/x", 1,
		    NULL);
		{
			struct ipc_buf *b = ipc_new(IPC_MSG_CHAT_EVENT, id);

			ipc_add_str(b, "kind", "approval");
			ipc_add_u64(b, "approval_id", 7);
			ipc_add_str(b, "text", "rm -rf /tmp/x");
			ipc_add_str(b, "reason", "delete in root path");
			(void)ipc_peer_send(c->p, b);
		}
	} else if (strncmp(text, "provider", 8) == 0) {
		err_ev(c, id, "auth", "401 invalid API key for openrouter");
		done(c, id, 0, "");
	} else if (strncmp(text, "sandbox", 7) == 0) {
		tool(c, id, "tool_start", "terminal", "c2", "curl evil.example",
		    1, NULL);
		tool(c, id, "tool_end", "terminal", "c2", NULL, 0,
		    "blocked by the sandbox");
		err_ev(c, id, "sandbox", "tool-local was killed by seccomp "
		    "(socket)");
		done(c, id, 0, "");
	} else if (strncmp(text, "reason", 6) == 0) {
		ev(c, id, "reasoning", "thinking hard");
		ev(c, id, "text", "answer");
		done(c, id, 1, "answer");
	} else if (strncmp(text, "escape", 6) == 0) {
		ev(c, id, "text", "safe\033[2J\033]0;pwned\007text");
		done(c, id, 1, "");
	} else if (strncmp(text, "tools", 5) == 0) {
		tool(c, id, "tool_start", "read_file", "t1", "notes.txt", 1,
		    NULL);
		tool(c, id, "tool_end", "read_file", "t1", NULL, 1, "12 lines");
		tool(c, id, "tool_start", "terminal", "t2", "ls -la", 1, NULL);
		tool(c, id, "tool_end", "terminal", "t2", NULL, 1, "exit 0");
		ev(c, id, "notice", "memory updated");
		ev(c, id, "text", "done");
		done(c, id, 1, "done");
	} else {
		snprintf(buf, sizeof(buf), "echo: %s", text);
		for (w = strtok_r(buf, " ", &save); w != NULL;
		    w = strtok_r(NULL, " ", &save)) {
			char piece[4200];

			snprintf(piece, sizeof(piece), "%s%s", w,
			    save && *save ? " " : "");
			ev(c, id, "text", piece);
		}
		done(c, id, 1, "");
	}
}

static void
reply(struct fclient *c, uint64_t id, int ok, const char *text)
{
	struct ipc_buf	*b = ipc_new(IPC_MSG_CHAT_REPLY, id);

	ipc_add_bool(b, "ok", ok);
	ipc_add_str(b, "text", text);
	(void)ipc_peer_send(c->p, b);
}

static void
fc_dispatch(struct ipc_peer *p, struct ipc_msg *m, void *arg)
{
	struct fclient	*c = arg;
	struct ipc_buf	*b;
	char		*s, *a, buf[1024];
	uint64_t	 aid = 0;

	switch (m->type) {
	case IPC_MSG_CHAT_OPEN:
		s = ipc_get_strdup(m, "resume");
		if (s != NULL && strcmp(s, "nosuch") == 0) {
			b = ipc_new(IPC_MSG_ERROR, m->id);
			ipc_add_str(b, "code", "notfound");
			ipc_add_str(b, "message", "no session matches 'nosuch'");
			(void)ipc_peer_send(p, b);
			free(s);
			return;
		}
		b = ipc_new(IPC_MSG_CHAT_OPENED, m->id);
		ipc_add_str(b, "session_id", s ? s : "fake-1");
		ipc_add_str(b, "model", "fake-model");
		ipc_add_str(b, "provider", "fakellm");
		ipc_add_u64(b, "message_count", s ? 4 : 0);
		ipc_add_bool(b, "resumed", s != NULL);
		(void)ipc_peer_send(p, b);
		free(s);
		return;
	case IPC_MSG_CHAT_INPUT:
		s = ipc_get_strdup(m, "text");
		free(c->last);
		c->last = xstrdup(s ? s : "");
		run_input(c, m->id, c->last);
		free(s);
		return;
	case IPC_MSG_CHAT_COMMAND:
		s = ipc_get_strdup(m, "name");
		a = ipc_get_strdup(m, "args");
		snprintf(buf, sizeof(buf), "ran %s %s", s, a ? a : "");
		if (strcmp(s, "stop") == 0 && c->turn != 0) {
			event_del(c->tick);
			err_ev(c, c->turn, "interrupted", "stopped by the user");
			done(c, c->turn, 0, "");
		}
		if (strcmp(s, "sessions") == 0 && a && strstr(a, "fail") != NULL)
			reply(c, m->id, 0, "no such session");
		else
			reply(c, m->id, 1, buf);
		/* As the agent does: reply first, then the turn under the
		 * command's id. */
		if (strcmp(s, "retry") == 0 && c->last != NULL)
			run_input(c, m->id, c->last);
		if (strcmp(s, "skill") == 0)
			run_input(c, m->id, a ? a : "");
		free(s);
		free(a);
		return;
	case IPC_MSG_CHAT_APPROVE:
		s = ipc_get_strdup(m, "choice");
		(void)ipc_get_u64(m, "approval_id", &aid);
		tool(c, c->turn, "tool_end", "terminal", "c1", NULL,
		    strcmp(s, "deny") != 0, strcmp(s, "deny") != 0 ? "exit 0" :
		    "denied by the user");
		snprintf(buf, sizeof(buf), "choice=%s id=%llu", s,
		    (unsigned long long)aid);
		ev(c, c->turn, "text", buf);
		done(c, c->turn, 1, buf);
		free(s);
		return;
	default:
		log_warnx("fakeagent: unexpected %s", ipc_msg_name(m->type));
		return;
	}
}

static void
fc_close(struct ipc_peer *p, const char *err, void *arg)
{
	struct fclient	*c = arg;

	event_free(c->tick);
	free(c->last);
	free(c);
	ipc_peer_free(p);
}

static void
fa_sup(struct worker *w, struct ipc_msg *m)
{
	struct fclient	*c;

	if (m->type == IPC_MSG_NOTICE)
		return;
	if (m->type != IPC_MSG_CLIENT_ATTACH || m->nfds != 1)
		fatalx("fakeagent: unexpected %s", ipc_msg_name(m->type));
	c = xcalloc(1, sizeof(*c));
	c->tick = evtimer_new(w->base, tick_cb, c);
	c->p = ipc_peer_new(w->base, m->fds[0], ROLE_AGENT, ROLE_CLIENT, 0,
	    fc_dispatch, fc_close, c);
	m->fds[0] = -1;
}

static void
fa_dispatch(struct worker *w, int from, struct ipc_peer *p, struct ipc_msg *m)
{
	(void)w;
	(void)p;
	log_debug("fakeagent: %s from %s ignored", ipc_msg_name(m->type),
	    ipc_role_name(from));
}

int
main(int argc, char **argv)
{
	struct worker_ops	 ops;

	memset(&ops, 0, sizeof(ops));
	ops.role = ROLE_AGENT;
	ops.profile = SBX_AGENT;
	ops.dispatch = fa_dispatch;
	ops.dispatch_sup = fa_sup;
	(void)wk;
	worker_main(argc, argv, &ops);
}
