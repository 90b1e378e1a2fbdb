/* The agent's peers, played in-process (see agent_fake.h). */
#include <sys/socket.h>

#include <poll.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "tests/harness.h"
#include "tests/unit/agent_fake.h"

static const int played[] = { ROLE_FETCH, ROLE_STORE, ROLE_TOOL, ROLE_CLIENT };

static int
spawn(struct fake *f, const char *config_json)
{
	struct ipc_buf	*b;
	char		 home[] = "/tmp/agent-test-XXXXXX";
	int		 sv[2];
	size_t		 i;
	const char	*bin = getenv("AGENT_BIN"), *bdir = getenv("B");
	char		 path[512];

	/* The binary of this build: $AGENT_BIN, else $B/hermes-agent. */
	snprintf(path, sizeof path, "%s/hermes-agent", bdir != NULL &&
	    *bdir != '\0' ? bdir : "build");
	if (mkdtemp(home) == NULL)
		return -1;
	f->h = harness_spawn(bin != NULL ? bin : path, ROLE_AGENT, home,
	    config_json, NULL, 0);
	(void)rmdir(home);
	if (f->h == NULL)
		return -1;
	for (i = 0; i < ROLE_MAX; i++) {
		if (f->rb[i] != NULL)
			ipc_rbuf_free(f->rb[i]);
		f->rb[i] = NULL;
		f->fd[i] = -1;
	}
	for (i = 0; i < 3; i++) {
		f->fd[played[i]] = harness_peer(f->h, played[i]);
		f->rb[played[i]] = ipc_rbuf_new(played[i], ROLE_AGENT, 0);
	}
	/* The client: its fd arrives as CLIENT_ATTACH, as from hermesd. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	b = ipc_new(IPC_MSG_CLIENT_ATTACH, 0);
	ipc_add_u64(b, "uid", (uint64_t)getuid());
	ipc_add_u64(b, "pid", (uint64_t)getpid());
	ipc_add_fd(b, sv[1], 1);
	if (ipc_send_fd(harness_sup_fd(f->h), b) == -1)
		return -1;
	f->fd[ROLE_CLIENT] = sv[0];
	f->rb[ROLE_CLIENT] = ipc_rbuf_new(ROLE_CLIENT, ROLE_AGENT, 0);
	f->sup_fd = harness_sup_fd(f->h);
	if (f->sup_rb != NULL)
		ipc_rbuf_free(f->sup_rb);
	f->sup_rb = ipc_rbuf_new(ROLE_SUPERVISOR, ROLE_AGENT, 1);
	return 0;
}

struct fake *
fake_start(const char *config_json)
{
	struct fake	*f = xcalloc(1, sizeof *f);

	if (spawn(f, config_json) == -1) {
		free(f);
		return NULL;
	}
	f->ops = json_array();
	f->events = json_array();
	f->allowlist = json_array();
	return f;
}

/* kill -9 the agent and start a fresh one; the store's data stays. */
int
fake_restart(struct fake *f, const char *config_json)
{
	harness_free(f->h);
	f->h = NULL;
	if (f->fd[ROLE_CLIENT] != -1)
		close(f->fd[ROLE_CLIENT]);
	return spawn(f, config_json);
}

int
fake_pid(struct fake *f)
{
	return (int)harness_pid(f->h);
}

void
fake_stop(struct fake *f)
{
	int	 i;

	if (f == NULL)
		return;
	/* A clean SHUTDOWN first, so sanitizer builds check the agent's
	 * heap at exit; then SIGKILL whatever is left (by pid). */
	{
		struct ipc_buf *b = ipc_new(IPC_MSG_SHUTDOWN, 0);
		if (ipc_send_fd(f->sup_fd, b) == 0) {
			char buf[4096];
			uint64_t end = now_ms() + 2000;
			struct pollfd pfd = { f->sup_fd, POLLIN, 0 };
			while (now_ms() < end && poll(&pfd, 1, 100) >= 0 &&
			    (!(pfd.revents & (POLLIN | POLLHUP)) ||
			    read(f->sup_fd, buf, sizeof buf) > 0))
				;
		}
	}
	harness_free(f->h);
	for (i = 0; i < ROLE_MAX; i++)
		if (f->rb[i] != NULL)
			ipc_rbuf_free(f->rb[i]);
	if (f->fd[ROLE_CLIENT] != -1)
		close(f->fd[ROLE_CLIENT]);
	ipc_rbuf_free(f->sup_rb);
	for (i = 0; i < f->nsess; i++) {
		free(f->sess[i].id);
		free(f->sess[i].parent);
		free(f->sess[i].prompt);
		free(f->sess[i].end_reason);
		free(f->sess[i].key);
		json_decref(f->sess[i].msgs);
	}
	json_decref(f->ops);
	json_decref(f->events);
	json_decref(f->allowlist);
	json_decref(f->body);
	free(f);
}

void
fake_send(struct fake *f, int role, struct ipc_buf *b)
{
	if (ipc_send_fd(f->fd[role], b) == -1)
		fatal("fake_send to agent as %s", ipc_role_name(role));
}

/* The message body as JSON: strings, numbers and booleans. */
static json_t *
body_json(const struct ipc_msg *m)
{
	json_t			*o = json_object();
	const msgpack_object	*b = m->body;
	uint32_t		 i;
	char			 key[64];

	if (b == NULL || b->type != MSGPACK_OBJECT_MAP)
		return o;
	for (i = 0; i < b->via.map.size; i++) {
		const msgpack_object *k = &b->via.map.ptr[i].key;
		const msgpack_object *v = &b->via.map.ptr[i].val;
		if (k->type != MSGPACK_OBJECT_STR || k->via.str.size >= sizeof key)
			continue;
		memcpy(key, k->via.str.ptr, k->via.str.size);
		key[k->via.str.size] = '\0';
		switch (v->type) {
		case MSGPACK_OBJECT_STR:
			json_object_set_new(o, key, json_stringn(v->via.str.ptr,
			    v->via.str.size));
			break;
		case MSGPACK_OBJECT_POSITIVE_INTEGER:
			json_object_set_new(o, key,
			    json_integer((json_int_t)v->via.u64));
			break;
		case MSGPACK_OBJECT_NEGATIVE_INTEGER:
			json_object_set_new(o, key, json_integer(v->via.i64));
			break;
		case MSGPACK_OBJECT_BOOLEAN:
			json_object_set_new(o, key, json_boolean(v->via.boolean));
			break;
		default:
			break;
		}
	}
	return o;
}

struct fsess *
fake_session(struct fake *f, const char *id)
{
	int	 i;

	for (i = 0; i < f->nsess; i++)
		if (id != NULL && strcmp(f->sess[i].id, id) == 0)
			return &f->sess[i];
	return NULL;
}

static struct fsess *
tip(struct fake *f, struct fsess *s)
{
	int	 i, moved = 1;

	while (moved) {
		moved = 0;
		for (i = 0; i < f->nsess; i++)
			if (f->sess[i].parent != NULL &&
			    strcmp(f->sess[i].parent, s->id) == 0) {
				s = &f->sess[i];
				moved = 1;
				break;
			}
	}
	return s;
}

static void
store_reply(struct fake *f, uint64_t id, int ok, json_t *result,
    int64_t count)
{
	struct ipc_buf	*b = ipc_new(IPC_MSG_STORE_RESULT, id);
	char		*t;

	ipc_add_bool(b, "ok", ok);
	if (result != NULL) {
		t = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY);
		ipc_add_str(b, "result", t);
		free(t);
		json_decref(result);
	}
	if (!ok) {
		ipc_add_str(b, "error", "unknown op");
		ipc_add_str(b, "code", "unknown_op");
	}
	if (count >= 0)
		ipc_add_u64(b, "message_count", (uint64_t)count);
	fake_send(f, ROLE_STORE, b);
}

static void
store_handle(struct fake *f, uint64_t id, const char *op, json_t *args)
{
	struct fsess	*s;
	json_t		*row, *rows;
	char		 sid[64];
	const char	*v;
	size_t		 i;

	json_array_append_new(f->ops, json_pack("{s:s,s:O,s:I}", "op", op,
	    "args", args, "seq", (json_int_t)++f->seq));
	if (strcmp(op, "session.create") == 0) {
		s = &f->sess[f->nsess];
		snprintf(sid, sizeof sid, "20261122_0400%02d_fake%04d",
		    f->nsess, f->nsess);
		f->nsess++;
		s->id = xstrdup(sid);
		v = json_string_value(json_object_get(args, "parent_session_id"));
		s->parent = v ? xstrdup(v) : NULL;
		v = json_string_value(json_object_get(args, "system_prompt"));
		s->prompt = v ? xstrdup(v) : NULL;
		v = json_string_value(json_object_get(args, "session_key"));
		s->key = v ? xstrdup(v) : NULL;
		s->msgs = json_array();
		store_reply(f, id, 1, json_pack("{s:s,s:f}", "session_id", sid,
		    "started_at", 1.0), 0);
	} else if (strcmp(op, "session.append") == 0) {
		s = fake_session(f, json_string_value(json_object_get(args,
		    "session_id")));
		if (s == NULL) {
			store_reply(f, id, 0, NULL, -1);
			return;
		}
		row = json_deep_copy(args);
		json_object_del(row, "session_id");
		json_object_set_new(row, "seq", json_integer((json_int_t)f->seq));
		json_array_append_new(s->msgs, row);
		store_reply(f, id, 1, json_pack("{s:I}", "message_id",
		    (json_int_t)json_array_size(s->msgs)),
		    (int64_t)json_array_size(s->msgs));
	} else if (strcmp(op, "session.load") == 0 ||
	    strcmp(op, "session.get") == 0) {
		s = fake_session(f, json_string_value(json_object_get(args,
		    "session_id")));
		if (s == NULL && json_is_true(json_object_get(args, "latest")) &&
		    f->nsess > 0)
			s = &f->sess[f->nsess - 1];
		if (s == NULL && f->nsess > 0 &&
		    json_string_value(json_object_get(args, "title")) != NULL)
			s = &f->sess[0];
		if (s == NULL) {
			store_reply(f, id, 0, NULL, -1);
			return;
		}
		if (op[8] == 'l')
			s = tip(f, s);
		rows = json_deep_copy(s->msgs);
		json_array_foreach(rows, i, row)
			json_object_del(row, "seq");
		store_reply(f, id, 1, json_pack("{s:s,s:s,s:s,s:s?,s:o,s:I}",
		    op[8] == 'l' ? "session_id" : "id", s->id, "model", "fake-model",
		    "system_prompt", s->prompt ? s->prompt : "", "parent_session_id",
		    s->parent, "messages", rows, "message_count",
		    (json_int_t)json_array_size(s->msgs)),
		    (int64_t)json_array_size(s->msgs));
	} else if (strcmp(op, "session.route") == 0) {
		if (json_object_get(args, "session_id") != NULL)
			store_reply(f, id, 1, json_pack("{s:O}", "session_id",
			    json_object_get(args, "session_id")), -1);
		else if (f->route_hit && f->nsess > 0)
			store_reply(f, id, 1, json_pack("{s:s}", "session_id",
			    f->sess[f->nsess - 1].id), -1);
		else
			store_reply(f, id, 1, json_pack("{s:n}", "session_id"), -1);
	} else if (strcmp(op, "session.end") == 0) {
		s = fake_session(f, json_string_value(json_object_get(args,
		    "session_id")));
		if (s != NULL) {
			free(s->end_reason);
			s->end_reason = xstrdup(json_string_value(json_object_get(
			    args, "reason")));
		}
		store_reply(f, id, 1, json_object(), -1);
	} else if (strcmp(op, "memory.snapshot") == 0)
		store_reply(f, id, 1, json_pack("{s:[s],s:[],s:s,s:s}", "memory",
		    "likes tea", "user", "memory_block", "", "user_block", ""), -1);
	else if (strcmp(op, "skills.index") == 0)
		store_reply(f, id, 1, json_pack("{s:[{s:s,s:s,s:s}]}", "skills",
		    "name", "deploy", "description", "Deploy the app",
		    "category", "ops"), -1);
	else if (strcmp(op, "memory") == 0 || strcmp(op, "skills.manage") == 0 ||
	    strcmp(op, "skills.view") == 0 || strcmp(op, "skills.list") == 0 ||
	    strcmp(op, "session.search") == 0)
		store_reply(f, id, 1, json_string("{\"success\":true,"
		    "\"content\":\"# Deploy\\nrun make deploy\"}"), -1);
	else if (strcmp(op, "trajectory.append") == 0 ||
	    strcmp(op, "session.title") == 0)
		store_reply(f, id, 1, json_object(), -1);
	else if (strcmp(op, "session.list") == 0)
		store_reply(f, id, 1, json_pack("{s:[],s:i}", "sessions", "total",
		    0), -1);
	else
		store_reply(f, id, 0, NULL, -1);
}

static int
pump_store(struct fake *f)
{
	struct ipc_msg	 m;
	char		 err[256];
	const char	*op, *a;
	size_t		 ol, al;
	char		 opbuf[64];
	json_t		*args;
	int		 n = 0;

	if (f->store_off)
		return 0;
	while (ipc_recv_fd(f->fd[ROLE_STORE], f->rb[ROLE_STORE], 1, &m, err,
	    sizeof err) == 1) {
		if (m.type != IPC_MSG_STORE_CALL ||
		    ipc_get_str(&m, "op", &op, &ol) == -1 ||
		    ipc_get_str(&m, "args", &a, &al) == -1 || ol >= sizeof opbuf)
			fatalx("fake store: bad frame");
		memcpy(opbuf, op, ol);
		opbuf[ol] = '\0';
		args = json_loadb(a, al, 0, NULL);
		store_handle(f, m.id, opbuf, args ? args : json_object());
		json_decref(args);
		n++;
	}
	return n;
}

/* Log lines from the agent (kept off the test's way unless asked for);
 * other supervisor-bound frames are kept for the test (sup_pending). */
static void
pump_sup(struct fake *f)
{
	struct ipc_msg	 m;
	char		 err[256];
	const char	*l;
	size_t		 n;

	if (f->sup_hold)
		return;
	while (ipc_recv_fd(f->sup_fd, f->sup_rb, 1, &m, err, sizeof err) == 1) {
		if (m.type == IPC_MSG_LOG) {
			if (getenv("HARNESS_VERBOSE") != NULL &&
			    ipc_get_str(&m, "line", &l, &n) == 0)
				fprintf(stderr, "[agent] %.*s\n", (int)n, l);
			continue;
		}
		if (m.type == IPC_MSG_ALLOWLIST_ADD &&
		    ipc_get_str(&m, "pattern", &l, &n) == 0)
			json_array_append_new(f->allowlist, json_stringn(l, n));
	}
}

int
fake_next(struct fake *f, int timeout_ms)
{
	static const int roles[] = { ROLE_CLIENT, ROLE_FETCH, ROLE_TOOL };
	uint64_t	 deadline = now_ms() + (uint64_t)timeout_ms;
	struct ipc_msg	 m;
	char		 err[256];
	size_t		 i;
	int		 r;

	for (;;) {
		pump_store(f);
		pump_sup(f);
		for (i = 0; i < nitems(roles); i++) {
			r = ipc_recv_fd(f->fd[roles[i]], f->rb[roles[i]], 1, &m,
			    err, sizeof err);
			if (r == -1)
				fatalx("fake: %s: %s", ipc_role_name(roles[i]),
				    err);
			if (r == 0)
				continue;
			f->role = roles[i];
			f->type = m.type;
			f->id = m.id;
			json_decref(f->body);
			f->body = body_json(&m);
			if (m.type == IPC_MSG_CHAT_EVENT) {
				json_t *e = json_deep_copy(f->body);
				json_object_set_new(e, "seq",
				    json_integer((json_int_t)++f->seq));
				json_object_set_new(e, "id",
				    json_integer((json_int_t)m.id));
				json_array_append_new(f->events, e);
			}
			return 1;
		}
		if (now_ms() >= deadline)
			return 0;
	}
}

int
fake_expect(struct fake *f, int role, uint32_t type, int timeout_ms)
{
	uint64_t	 deadline = now_ms() + (uint64_t)timeout_ms;

	while (now_ms() < deadline) {
		if (fake_next(f, (int)(deadline - now_ms())) != 1)
			return 0;
		if (f->role == role && f->type == type)
			return 1;
		if (f->type == IPC_MSG_CHAT_EVENT || f->type == IPC_MSG_CHAT_REPLY)
			continue;
		fprintf(stderr, "fake_expect: wanted %s from %s, got %s from %s: "
		    "%s\n", ipc_msg_name(type), ipc_role_name(role),
		    ipc_msg_name(f->type), ipc_role_name(f->role),
		    json_dumps(f->body, JSON_COMPACT));
		return 0;
	}
	return 0;
}

json_t *
fake_client_event(struct fake *f, const char *kind, int timeout_ms)
{
	uint64_t	 deadline = now_ms() + (uint64_t)timeout_ms;

	while (now_ms() < deadline) {
		if (fake_next(f, (int)(deadline - now_ms())) != 1)
			return NULL;
		if (f->type == IPC_MSG_CHAT_EVENT &&
		    strcmp(json_string_value(json_object_get(f->body, "kind")),
		    kind) == 0)
			return f->body;
		if (f->role != ROLE_CLIENT) {
			fprintf(stderr, "fake_client_event: unexpected %s from %s\n",
			    ipc_msg_name(f->type), ipc_role_name(f->role));
			return NULL;
		}
	}
	return NULL;
}

uint64_t
fake_open(struct fake *f, const char *resume)
{
	static uint64_t	 id = 1000;
	struct ipc_buf	*b = ipc_new(IPC_MSG_CHAT_OPEN, ++id);

	ipc_add_str(b, "platform", "cli");
	if (resume != NULL)
		ipc_add_str(b, "resume", resume);
	fake_send(f, ROLE_CLIENT, b);
	return id;
}

uint64_t
fake_input(struct fake *f, const char *text)
{
	static uint64_t	 id = 2000;
	struct ipc_buf	*b = ipc_new(IPC_MSG_CHAT_INPUT, ++id);

	ipc_add_str(b, "text", text);
	fake_send(f, ROLE_CLIENT, b);
	return id;
}

uint64_t
fake_command(struct fake *f, const char *name, const char *args)
{
	static uint64_t	 id = 3000;
	struct ipc_buf	*b = ipc_new(IPC_MSG_CHAT_COMMAND, ++id);

	ipc_add_str(b, "name", name);
	if (args != NULL)
		ipc_add_str(b, "args", args);
	fake_send(f, ROLE_CLIENT, b);
	return id;
}

static struct ipc_buf *
fev(uint64_t id, const char *kind)
{
	struct ipc_buf	*b = ipc_new(IPC_MSG_FETCH_EVENT, id);

	ipc_add_str(b, "kind", kind);
	return b;
}

void
fake_fetch_text(struct fake *f, uint64_t id, const char *text)
{
	struct ipc_buf	*b = fev(id, "text");

	ipc_add_str(b, "text", text);
	fake_send(f, ROLE_FETCH, b);
}

void
fake_fetch_call(struct fake *f, uint64_t id, const char *call_id,
    const char *name, const char *args)
{
	struct ipc_buf	*b = fev(id, "tool_call");

	ipc_add_str(b, "call_id", call_id);
	ipc_add_str(b, "name", name);
	ipc_add_str(b, "arguments", args);
	fake_send(f, ROLE_FETCH, b);
}

void
fake_fetch_usage(struct fake *f, uint64_t id, uint64_t in, uint64_t out)
{
	struct ipc_buf	*b = fev(id, "usage");

	ipc_add_u64(b, "input_tokens", in);
	ipc_add_u64(b, "output_tokens", out);
	fake_send(f, ROLE_FETCH, b);
}

void
fake_fetch_done(struct fake *f, uint64_t id, const char *finish)
{
	struct ipc_buf	*b = fev(id, "done");

	ipc_add_str(b, "finish_reason", finish);
	ipc_add_str(b, "provider", "fake");
	ipc_add_str(b, "model", "fake-model");
	fake_send(f, ROLE_FETCH, b);
}

void
fake_fetch_error(struct fake *f, uint64_t id, const char *cls)
{
	struct ipc_buf	*b = fev(id, "error");

	ipc_add_str(b, "error_class", cls);
	ipc_add_str(b, "message", cls);
	fake_send(f, ROLE_FETCH, b);
}

void
fake_tool_result(struct fake *f, uint64_t id, int ok, const char *output)
{
	struct ipc_buf	*b = ipc_new(IPC_MSG_TOOL_RESULT, id);

	ipc_add_bool(b, "ok", ok);
	ipc_add_str(b, "output", output);
	ipc_add_u64(b, "ms", 1);
	fake_send(f, ROLE_TOOL, b);
}

json_t *
fake_request(struct fake *f)
{
	const char	*t = json_string_value(json_object_get(f->body, "request"));

	return t != NULL ? json_loads(t, 0, NULL) : NULL;
}

size_t
fake_ops_count(struct fake *f, const char *op)
{
	size_t	 i, n = 0;
	json_t	*o;

	json_array_foreach(f->ops, i, o)
		if (strcmp(json_string_value(json_object_get(o, "op")), op) == 0)
			n++;
	return n;
}
