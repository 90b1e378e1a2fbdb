/*
 * fakellm: a scripted fake model provider for tests, `make demo` and
 * benchmarks. It speaks OpenAI Chat Completions (streamed and not) and
 * Anthropic Messages (streamed and not) as the providers document them,
 * and injects faults on request.
 *
 * usage: fakellm [-q] [-p port] [-s script.json] [-j journal.jsonl]
 *                [-i instant-text] [-k key ...]
 *
 *   -p port   listen on 127.0.0.1:port (only loopback, ever); with -p 0
 *             (the default) a free port is chosen and printed on stdout
 *             as one line, then stdout is flushed.
 *   -s file   the script (format below); POST /__script replaces it.
 *   -j file   append one JSON line per request received (the journal).
 *   -i text   instant mode: every request is answered at once with this
 *             text (benchmarks); no script matching.
 *   -k key    accept only this key (repeatable): a request whose
 *             "Authorization: Bearer K" / "x-api-key: K" is not one of
 *             them gets 401 in the provider's format.
 *   -q        no log lines on stderr.
 *
 * Endpoints: POST /v1/chat/completions and /chat/completions (OpenAI),
 * POST /v1/messages and /messages (Anthropic), GET /__journal (every
 * request so far as a JSON array: method, path, headers, body, turn),
 * POST /__script (load a script from the body, reset its state), POST
 * /__reset (clear the journal), GET /health.
 *
 * A script is {"turns": [turn, ...], "instant": "text"?}. For each
 * request the first turn that is not used up and matches is played:
 *   "match": "s"        the last user message contains s
 *   "match_tool": "s"   the last tool result contains s
 *   (neither: matches any request; so plain turns play in order)
 *   "repeat": true      the turn is not used up by playing it
 * and it answers with
 *   "text", "reasoning": strings streamed in deltas (split after each
 *                       space, or every "chunk" bytes)
 *   "text_bytes": n     n bytes of generated text instead of "text"
 *   "echo": true        "text" followed by the last user message
 *   "stamp": n          n deltas, each the sender's CLOCK_MONOTONIC in
 *                       µs (16 digits) written as it leaves (latency)
 *   "tool_calls": [{"id", "name", "arguments": object or string}]:
 *                       arguments are streamed in 7-byte pieces
 *   "finish_reason", "usage": {"input", "output", "cache_read",
 *                       "cache_write", "reasoning"}: overrides
 *   "delay_ms": n       pause between stream events
 *   "fault": one of
 *       "429"        429 with Retry-After: "retry_after" (default 1)
 *       "500"        500 with an error body ("529" too)
 *       "401"        401 invalid key
 *       "redirect"   307 to another path (clients must not follow)
 *       "context"    400 "context length exceeded" in the provider's words
 *       "slow"       the first byte only after "first_byte_ms" (2000)
 *       "disconnect" half the stream, then the connection is dropped
 *       "malformed"  a stream event whose data is not JSON
 *       "hugeline"   one 10 MB SSE line
 *       "endless"    a stream that never ends (a delta every 20 ms)
 * A request header "X-Fakellm-Fault: name" injects a fault in any mode.
 * A request that no turn matches is answered with a fixed text and
 * marked "unmatched" in the journal.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#define HUGE_LINE	(10u * 1024 * 1024)
#define MAX_BODY	(64u * 1024 * 1024)
#define MAX_KEYS	8
#define JOURNAL_KEEP	10000	/* entries GET /__journal keeps */
#define ARG_PIECE	7
#define STAMP		"0000000000000000"	/* 16 digits, µs */

enum api { API_OPENAI, API_ANTHROPIC };

static struct event_base *base;
static json_t	*script;	/* {"turns": [...]} */
static char	*used;		/* per turn */
static size_t	 nturns;
static json_t	*journal;	/* array */
static FILE	*journal_fp;
static const char *instant;
static const char *keys[MAX_KEYS];
static int	 nkeys;
static int	 quiet;
static unsigned long reqno;
static char	*cur_user;	/* last user text of the request played */

/* One streamed answer in progress. */
struct out {
	struct evhttp_request	*req;
	struct evhttp_connection *conn;
	struct event		*tm;
	char			**ev;	/* SSE events, each complete */
	size_t			 nev, next, cap;
	int			 delay_ms;
	int			 first_byte_ms;
	int			 started;
	int			 endless;
	int			 disconnect;
	int			 stamp;	/* fill STAMP placeholders on send */
	enum api		 api;
	char			*model;
};

static void	 out_free(struct out *);

static void
logx(const char *fmt, ...)
{
	va_list	 ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "fakellm: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

static int
load_script(json_t *j)
{
	json_t	*t;

	if (!json_is_object(j))
		return -1;
	t = json_object_get(j, "turns");
	if (t != NULL && !json_is_array(t))
		return -1;
	json_decref(script);
	script = json_incref(j);
	nturns = json_array_size(t);
	free(used);
	used = calloc(nturns + 1, 1);
	if (used == NULL)
		err(1, "calloc");
	return 0;
}

/* ---- the request ------------------------------------------------- */

static void
append_text(json_t *content, char **out)
{
	json_t	*p;
	size_t	 i;
	const char *s, *type;
	char	*n;

	if (json_is_string(content)) {
		free(*out);
		*out = strdup(json_string_value(content));
		return;
	}
	json_array_foreach(content, i, p) {
		type = json_string_value(json_object_get(p, "type"));
		s = json_string_value(json_object_get(p, "text"));
		if (type != NULL && strcmp(type, "text") == 0 && s != NULL) {
			if (asprintf(&n, "%s%s", *out ? *out : "", s) == -1)
				err(1, "asprintf");
			free(*out);
			*out = n;
		}
	}
}

/* The last user text and the last tool result of a request body. */
static void
last_texts(json_t *body, char **user, char **tool)
{
	json_t		*m, *c, *b;
	const char	*role, *type;
	size_t		 i, k;
	char		*u, *t;

	*user = *tool = NULL;
	json_array_foreach(json_object_get(body, "messages"), i, m) {
		role = json_string_value(json_object_get(m, "role"));
		c = json_object_get(m, "content");
		if (role == NULL)
			continue;
		if (strcmp(role, "tool") == 0) {
			t = NULL;
			append_text(c, &t);
			free(*tool);
			*tool = t;
		} else if (strcmp(role, "user") == 0) {
			u = NULL;
			if (json_is_array(c)) {
				json_array_foreach(c, k, b) {
					type = json_string_value(
					    json_object_get(b, "type"));
					if (type != NULL && strcmp(type,
					    "tool_result") == 0) {
						t = NULL;
						append_text(json_object_get(b,
						    "content"), &t);
						free(*tool);
						*tool = t;
					}
				}
			}
			append_text(c, &u);
			if (u != NULL) {
				free(*user);
				*user = u;
			}
		}
	}
}

static json_t *
pick_turn(json_t *body, int *index)
{
	json_t		*t;
	const char	*m, *mt;
	char		*user, *tool;
	size_t		 i;
	int		 ok;

	*index = -1;
	last_texts(body, &user, &tool);
	json_array_foreach(json_object_get(script, "turns"), i, t) {
		if (used[i] && !json_is_true(json_object_get(t, "repeat")))
			continue;
		m = json_string_value(json_object_get(t, "match"));
		mt = json_string_value(json_object_get(t, "match_tool"));
		ok = 1;
		if (m != NULL && (user == NULL || strstr(user, m) == NULL))
			ok = 0;
		if (mt != NULL && (tool == NULL || strstr(tool, mt) == NULL))
			ok = 0;
		if (ok) {
			used[i] = 1;
			*index = (int)i;
			free(user);
			free(tool);
			return t;
		}
	}
	free(user);
	free(tool);
	return NULL;
}

/* ---- building answers -------------------------------------------- */

static void
out_push(struct out *o, char *ev)
{
	if (o->nev == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 64;
		o->ev = reallocarray(o->ev, o->cap, sizeof(*o->ev));
		if (o->ev == NULL)
			err(1, "reallocarray");
	}
	o->ev[o->nev++] = ev;
}

static void
push_json(struct out *o, const char *event, json_t *j)
{
	char	*s, *ev;

	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (s == NULL)
		errx(1, "json_dumps");
	if (event != NULL) {
		if (asprintf(&ev, "event: %s\ndata: %s\n\n", event, s) == -1)
			err(1, "asprintf");
	} else if (asprintf(&ev, "data: %s\n\n", s) == -1)
		err(1, "asprintf");
	free(s);
	out_push(o, ev);
}

/* Split text into deltas: every `chunk` bytes (on a UTF-8 boundary) or
 * after each space. Returns the pieces' count; calls fn for each. */
static size_t
split(const char *s, size_t len, int chunk,
    void (*fn)(void *, const char *, size_t), void *arg)
{
	size_t	 i = 0, n, count = 0;

	while (i < len) {
		if (chunk > 0) {
			n = (size_t)chunk;
			if (i + n > len)
				n = len - i;
			while (i + n < len &&
			    ((unsigned char)s[i + n] & 0xc0) == 0x80)
				n++;
		} else {
			n = 0;
			while (i + n < len && s[i + n] != ' ')
				n++;
			if (i + n < len)
				n++;
		}
		fn(arg, s + i, n);
		i += n;
		count++;
	}
	return count;
}

struct gen {
	struct out	*o;
	int		 reasoning;
	int		 index;
	size_t		 count;
};

static json_t *
oa_chunk(struct out *o, json_t *delta, const char *finish)
{
	return json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:s?}]}",
	    "id", "chatcmpl-fake", "object", "chat.completion.chunk",
	    "created", (json_int_t)time(NULL), "model", o->model,
	    "choices", "index", 0, "delta", delta, "finish_reason", finish);
}

static void
oa_text(void *arg, const char *p, size_t n)
{
	struct gen	*g = arg;

	push_json(g->o, NULL, oa_chunk(g->o, json_pack("{s:s%}",
	    g->reasoning ? "reasoning_content" : "content", p, n), NULL));
	g->count++;
}

static void
oa_args(void *arg, const char *p, size_t n)
{
	struct gen	*g = arg;

	push_json(g->o, NULL, oa_chunk(g->o, json_pack("{s:[{s:i, s:{s:s%}}]}",
	    "tool_calls", "index", g->index, "function", "arguments", p, n),
	    NULL));
}

static void
an_text(void *arg, const char *p, size_t n)
{
	struct gen	*g = arg;

	push_json(g->o, "content_block_delta", json_pack("{s:s, s:i, "
	    "s:{s:s, s:s%}}", "type", "content_block_delta", "index", g->index,
	    "delta", "type", g->reasoning ? "thinking_delta" : "text_delta",
	    g->reasoning ? "thinking" : "text", p, n));
	g->count++;
}

static void
an_args(void *arg, const char *p, size_t n)
{
	struct gen	*g = arg;

	push_json(g->o, "content_block_delta", json_pack("{s:s, s:i, "
	    "s:{s:s, s:s%}}", "type", "content_block_delta", "index", g->index,
	    "delta", "type", "input_json_delta", "partial_json", p, n));
}

static char *
args_text(json_t *c)
{
	json_t	*a = json_object_get(c, "arguments");

	if (json_is_string(a))
		return strdup(json_string_value(a));
	if (a == NULL)
		return strdup("{}");
	return json_dumps(a, JSON_COMPACT);
}

static void
xasprintf_(char **p, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	if (vasprintf(p, fmt, ap) == -1)
		err(1, "vasprintf");
	va_end(ap);
}

static char *
turn_text(json_t *t, size_t *len)
{
	json_t		*v;
	char		*s;
	size_t		 i, n;
	static const char words[] = "lorem ipsum dolor sit amet consectetur "
	    "adipiscing elit sed do eiusmod tempor incididunt ut labore ";

	v = json_object_get(t, "stamp");
	if (json_is_integer(v) && json_integer_value(v) > 0 &&
	    json_integer_value(v) <= 100000) {
		n = (size_t)json_integer_value(v) * (sizeof(STAMP));
		if ((s = malloc(n + 1)) == NULL)
			err(1, "malloc");
		for (i = 0; i < n; i += sizeof(STAMP)) {
			memcpy(s + i, STAMP, sizeof(STAMP) - 1);
			s[i + sizeof(STAMP) - 1] = ' ';
		}
		s[n] = '\0';
		*len = n;
		return s;
	}
	v = json_object_get(t, "text_bytes");
	if (json_is_integer(v) && json_integer_value(v) > 0) {
		n = (size_t)json_integer_value(v);
		if (n > MAX_BODY)
			n = MAX_BODY;
		if ((s = malloc(n + 1)) == NULL)
			err(1, "malloc");
		for (i = 0; i < n; i++)
			s[i] = words[i % (sizeof(words) - 1)];
		s[n] = '\0';
		*len = n;
		return s;
	}
	v = json_object_get(t, "text");
	if (json_is_true(json_object_get(t, "echo")))
		xasprintf_(&s, "%s%s", json_is_string(v) ? json_string_value(v) :
		    "", cur_user != NULL ? cur_user : "");
	else
		s = strdup(json_is_string(v) ? json_string_value(v) : "");
	if (s == NULL)
		err(1, "strdup");
	*len = strlen(s);
	return s;
}

static json_int_t
usage_of(json_t *t, const char *k, json_int_t dflt)
{
	json_t	*v = json_object_get(json_object_get(t, "usage"), k);

	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* Anthropic's input_tokens leave out the cached part; a script's
 * "input" is the whole prompt, as OpenAI counts it. */
static json_int_t
an_input(json_t *t, json_int_t dflt)
{
	json_int_t	 n = usage_of(t, "input", dflt) - usage_of(t,
			    "cache_read", 0) - usage_of(t, "cache_write", 0);

	return n > 0 ? n : 0;
}

static const char *
finish_of(json_t *t, enum api api)
{
	const char	*f = json_string_value(json_object_get(t,
			    "finish_reason"));
	int		 tools = json_array_size(json_object_get(t,
			    "tool_calls")) > 0;

	if (f != NULL)
		return f;
	if (api == API_OPENAI)
		return tools ? "tool_calls" : "stop";
	return tools ? "tool_use" : "end_turn";
}

static void
oa_stream(struct out *o, json_t *t, json_int_t in_tokens, int usage)
{
	struct gen	 g = { o, 0, 0, 0 };
	json_t		*c, *v;
	char		*s, *a;
	size_t		 i, len;
	int		 chunk = (int)json_integer_value(json_object_get(t,
			    "chunk"));

	push_json(o, NULL, oa_chunk(o, json_pack("{s:s, s:s}", "role",
	    "assistant", "content", ""), NULL));
	v = json_object_get(t, "reasoning");
	if (json_is_string(v)) {
		g.reasoning = 1;
		split(json_string_value(v), json_string_length(v), chunk,
		    oa_text, &g);
		g.reasoning = 0;
	}
	s = turn_text(t, &len);
	split(s, len, chunk, oa_text, &g);
	free(s);
	json_array_foreach(json_object_get(t, "tool_calls"), i, c) {
		push_json(o, NULL, oa_chunk(o, json_pack("{s:[{s:i, s:s, s:s, "
		    "s:{s:s, s:s}}]}", "tool_calls", "index", (int)i, "id",
		    json_string_value(json_object_get(c, "id")) ?
		    json_string_value(json_object_get(c, "id")) : "call_x",
		    "type", "function", "function", "name",
		    json_string_value(json_object_get(c, "name")) ?
		    json_string_value(json_object_get(c, "name")) : "tool",
		    "arguments", ""), NULL));
		g.index = (int)i;
		a = args_text(c);
		split(a, strlen(a), ARG_PIECE, oa_args, &g);
		free(a);
	}
	push_json(o, NULL, oa_chunk(o, json_object(), finish_of(t,
	    API_OPENAI)));
	if (usage)
		push_json(o, NULL, json_pack("{s:s, s:s, s:I, s:s, s:[], "
		    "s:{s:I, s:I, s:I, s:{s:I}, s:{s:I}}}",
		    "id", "chatcmpl-fake", "object", "chat.completion.chunk",
		    "created", (json_int_t)time(NULL), "model", o->model,
		    "choices", "usage",
		    "prompt_tokens", usage_of(t, "input", in_tokens),
		    "completion_tokens", usage_of(t, "output", (json_int_t)
		    g.count), "total_tokens", usage_of(t, "input", in_tokens) +
		    usage_of(t, "output", (json_int_t)g.count),
		    "prompt_tokens_details", "cached_tokens",
		    usage_of(t, "cache_read", 0),
		    "completion_tokens_details", "reasoning_tokens",
		    usage_of(t, "reasoning", 0)));
	out_push(o, strdup("data: [DONE]\n\n"));
}

static void
an_stream(struct out *o, json_t *t, json_int_t in_tokens)
{
	struct gen	 g = { o, 0, 0, 0 };
	json_t		*c, *v;
	char		*s, *a;
	size_t		 i, len;
	int		 chunk = (int)json_integer_value(json_object_get(t,
			    "chunk")), block = 0;

	push_json(o, "message_start", json_pack("{s:s, s:{s:s, s:s, s:s, "
	    "s:[], s:s, s:n, s:n, s:{s:I, s:I, s:I, s:i}}}", "type",
	    "message_start", "message", "id", "msg_fake", "type", "message",
	    "role", "assistant", "content", "model", o->model, "stop_reason",
	    "stop_sequence", "usage", "input_tokens", an_input(t, in_tokens),
	    "cache_creation_input_tokens", usage_of(t,
	    "cache_write", 0), "cache_read_input_tokens", usage_of(t,
	    "cache_read", 0), "output_tokens", 1));
	v = json_object_get(t, "reasoning");
	if (json_is_string(v)) {
		push_json(o, "content_block_start", json_pack("{s:s, s:i, "
		    "s:{s:s, s:s}}", "type", "content_block_start", "index",
		    block, "content_block", "type", "thinking", "thinking", ""));
		g.reasoning = 1;
		g.index = block;
		split(json_string_value(v), json_string_length(v), chunk,
		    an_text, &g);
		g.reasoning = 0;
		push_json(o, "content_block_delta", json_pack("{s:s, s:i, "
		    "s:{s:s, s:s}}", "type", "content_block_delta", "index",
		    block, "delta", "type", "signature_delta", "signature",
		    "ZmFrZQ=="));
		push_json(o, "content_block_stop", json_pack("{s:s, s:i}",
		    "type", "content_block_stop", "index", block));
		block++;
	}
	s = turn_text(t, &len);
	if (len > 0) {
		push_json(o, "content_block_start", json_pack("{s:s, s:i, "
		    "s:{s:s, s:s}}", "type", "content_block_start", "index",
		    block, "content_block", "type", "text", "text", ""));
		push_json(o, "ping", json_pack("{s:s}", "type", "ping"));
		g.index = block;
		split(s, len, chunk, an_text, &g);
		push_json(o, "content_block_stop", json_pack("{s:s, s:i}",
		    "type", "content_block_stop", "index", block));
		block++;
	}
	free(s);
	json_array_foreach(json_object_get(t, "tool_calls"), i, c) {
		push_json(o, "content_block_start", json_pack("{s:s, s:i, "
		    "s:{s:s, s:s, s:s, s:{}}}", "type", "content_block_start",
		    "index", block, "content_block", "type", "tool_use", "id",
		    json_string_value(json_object_get(c, "id")) ?
		    json_string_value(json_object_get(c, "id")) : "toolu_x",
		    "name", json_string_value(json_object_get(c, "name")) ?
		    json_string_value(json_object_get(c, "name")) : "tool",
		    "input"));
		g.index = block;
		a = args_text(c);
		split(a, strlen(a), ARG_PIECE, an_args, &g);
		free(a);
		push_json(o, "content_block_stop", json_pack("{s:s, s:i}",
		    "type", "content_block_stop", "index", block));
		block++;
	}
	push_json(o, "message_delta", json_pack("{s:s, s:{s:s, s:n}, s:{s:I}}",
	    "type", "message_delta", "delta", "stop_reason", finish_of(t,
	    API_ANTHROPIC), "stop_sequence", "usage", "output_tokens",
	    usage_of(t, "output", (json_int_t)g.count)));
	push_json(o, "message_stop", json_pack("{s:s}", "type",
	    "message_stop"));
}

static json_t *
oa_body(json_t *t, const char *model, json_int_t in_tokens)
{
	json_t	*msg, *calls, *c, *v;
	char	*s, *a;
	size_t	 i, len;

	s = turn_text(t, &len);
	msg = json_pack("{s:s}", "role", "assistant");
	if (len > 0 || json_array_size(json_object_get(t, "tool_calls")) == 0)
		json_object_set_new(msg, "content", json_stringn(s, len));
	else
		json_object_set_new(msg, "content", json_null());
	free(s);
	v = json_object_get(t, "reasoning");
	if (json_is_string(v))
		json_object_set(msg, "reasoning_content", v);
	if (json_array_size(json_object_get(t, "tool_calls")) > 0) {
		calls = json_array();
		json_array_foreach(json_object_get(t, "tool_calls"), i, c) {
			a = args_text(c);
			json_array_append_new(calls, json_pack("{s:s, s:s, "
			    "s:{s:s, s:s}}", "id", json_string_value(
			    json_object_get(c, "id")) ? json_string_value(
			    json_object_get(c, "id")) : "call_x", "type",
			    "function", "function", "name", json_string_value(
			    json_object_get(c, "name")) ? json_string_value(
			    json_object_get(c, "name")) : "tool", "arguments",
			    a));
			free(a);
		}
		json_object_set_new(msg, "tool_calls", calls);
	}
	return json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:s}], "
	    "s:{s:I, s:I, s:I, s:{s:I}, s:{s:I}}}", "id", "chatcmpl-fake",
	    "object", "chat.completion", "created", (json_int_t)time(NULL),
	    "model", model, "choices", "index", 0, "message", msg,
	    "finish_reason", finish_of(t, API_OPENAI), "usage",
	    "prompt_tokens", usage_of(t, "input", in_tokens),
	    "completion_tokens", usage_of(t, "output", 1), "total_tokens",
	    usage_of(t, "input", in_tokens) + usage_of(t, "output", 1),
	    "prompt_tokens_details", "cached_tokens", usage_of(t, "cache_read",
	    0), "completion_tokens_details", "reasoning_tokens", usage_of(t,
	    "reasoning", 0));
}

static json_t *
an_body(json_t *t, const char *model, json_int_t in_tokens)
{
	json_t		*content, *c, *v, *input;
	json_error_t	 je;
	char		*s, *a;
	size_t		 i, len;

	content = json_array();
	v = json_object_get(t, "reasoning");
	if (json_is_string(v))
		json_array_append_new(content, json_pack("{s:s, s:O, s:s}",
		    "type", "thinking", "thinking", v, "signature",
		    "ZmFrZQ=="));
	s = turn_text(t, &len);
	if (len > 0)
		json_array_append_new(content, json_pack("{s:s, s:s%}", "type",
		    "text", "text", s, len));
	free(s);
	json_array_foreach(json_object_get(t, "tool_calls"), i, c) {
		a = args_text(c);
		input = json_loads(a, 0, &je);
		free(a);
		if (input == NULL)
			input = json_object();
		json_array_append_new(content, json_pack("{s:s, s:s, s:s, "
		    "s:o}", "type", "tool_use", "id", json_string_value(
		    json_object_get(c, "id")) ? json_string_value(
		    json_object_get(c, "id")) : "toolu_x", "name",
		    json_string_value(json_object_get(c, "name")) ?
		    json_string_value(json_object_get(c, "name")) : "tool",
		    "input", input));
	}
	return json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:n, s:{s:I, s:I, "
	    "s:I, s:I}}", "id", "msg_fake", "type", "message", "role",
	    "assistant", "content", content, "model", model, "stop_reason",
	    finish_of(t, API_ANTHROPIC), "stop_sequence", "usage",
	    "input_tokens", an_input(t, in_tokens), "output_tokens",
	    usage_of(t, "output", 1), "cache_creation_input_tokens",
	    usage_of(t, "cache_write", 0), "cache_read_input_tokens",
	    usage_of(t, "cache_read", 0));
}

static json_t *
error_body(enum api api, const char *type, const char *code,
    const char *msg)
{
	if (api == API_ANTHROPIC)
		return json_pack("{s:s, s:{s:s, s:s}}", "type", "error",
		    "error", "type", type, "message", msg);
	return json_pack("{s:{s:s, s:s, s:n, s:s?}}", "error", "message", msg,
	    "type", type, "param", "code", code);
}

/* ---- sending ------------------------------------------------------- */

static void
send_json(struct evhttp_request *req, int code, const char *reason,
    json_t *j)
{
	struct evbuffer	*b;
	char		*s;

	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	b = evbuffer_new();
	if (s == NULL || b == NULL)
		errx(1, "out of memory");
	evbuffer_add(b, s, strlen(s));
	free(s);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

static void
out_closed(struct evhttp_connection *conn, void *arg)
{
	struct out	*o = arg;

	logx("client closed a stream");
	o->req = NULL;
	o->conn = NULL;
	out_free(o);
}

static void
out_free(struct out *o)
{
	size_t	 i;

	if (o->conn != NULL)
		evhttp_connection_set_closecb(o->conn, NULL, NULL);
	if (o->tm != NULL)
		event_free(o->tm);
	for (i = 0; i < o->nev; i++)
		free(o->ev[i]);
	free(o->ev);
	free(o->model);
	free(o);
}

/* Write the monotonic clock (µs) into each STAMP of an event about to
 * leave: the receiver measures the latency of every hop after this. */
static void
fill_stamps(char *ev)
{
	struct timespec	 ts;
	char		 now[sizeof(STAMP)], *p;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(now, sizeof(now), "%016llu", (unsigned long long)
	    ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
	for (p = ev; (p = strstr(p, STAMP)) != NULL; p += sizeof(STAMP) - 1)
		memcpy(p, now, sizeof(STAMP) - 1);
}

static void
out_tick(evutil_socket_t fd, short ev, void *arg)
{
	struct out	*o = arg;
	struct evbuffer	*b;
	struct timeval	 tv;
	size_t		 upto, i;
	char		*s;

	if (o->disconnect && o->next >= o->nev / 2 && o->started) {
		/* Drop the connection without the terminating chunk. */
		logx("dropping a stream mid-way (fault)");
		evhttp_connection_set_closecb(o->conn, NULL, NULL);
		evhttp_connection_free(o->conn);
		o->conn = NULL;
		out_free(o);
		return;
	}
	if (!o->started) {
		evhttp_add_header(evhttp_request_get_output_headers(o->req),
		    "Content-Type", "text/event-stream");
		evhttp_add_header(evhttp_request_get_output_headers(o->req),
		    "Cache-Control", "no-cache");
		evhttp_send_reply_start(o->req, 200, "OK");
		o->started = 1;
	}
	b = evbuffer_new();
	if (b == NULL)
		errx(1, "evbuffer_new");
	upto = o->delay_ms > 0 ? o->next + 1 : o->nev;
	if (o->disconnect && upto > o->nev / 2)
		upto = o->nev / 2;
	if (upto > o->nev)
		upto = o->nev;
	for (i = o->next; i < upto; i++) {
		if (o->stamp)
			fill_stamps(o->ev[i]);
		evbuffer_add(b, o->ev[i], strlen(o->ev[i]));
	}
	o->next = upto;
	if (o->endless && o->next >= o->nev) {
		s = o->api == API_ANTHROPIC ?
		    "event: content_block_delta\ndata: {\"type\":"
		    "\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
		    "\"text_delta\",\"text\":\".\"}}\n\n" :
		    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":"
		    "\".\"},\"finish_reason\":null}]}\n\n";
		evbuffer_add(b, s, strlen(s));
	}
	if (evbuffer_get_length(b) > 0)
		evhttp_send_reply_chunk(o->req, b);
	evbuffer_free(b);
	if (o->next >= o->nev && !o->endless && !o->disconnect) {
		evhttp_send_reply_end(o->req);
		out_free(o);
		return;
	}
	tv.tv_sec = 0;
	tv.tv_usec = o->endless ? 20000 : (o->disconnect ? 100000 :
	    o->delay_ms * 1000);
	evtimer_add(o->tm, &tv);
}

static void
out_start(struct out *o)
{
	struct timeval	 tv;

	o->conn = evhttp_request_get_connection(o->req);
	evhttp_connection_set_closecb(o->conn, out_closed, o);
	o->tm = evtimer_new(base, out_tick, o);
	if (o->tm == NULL)
		errx(1, "evtimer_new");
	tv.tv_sec = o->first_byte_ms / 1000;
	tv.tv_usec = (o->first_byte_ms % 1000) * 1000;
	evtimer_add(o->tm, &tv);
}

/* A delayed non-streamed reply (fault "slow"). */
struct later {
	struct evhttp_request	*req;
	json_t			*body;
	struct event		*tm;
};

static void
later_fire(evutil_socket_t fd, short ev, void *arg)
{
	struct later	*l = arg;

	evhttp_connection_set_closecb(evhttp_request_get_connection(l->req),
	    NULL, NULL);
	send_json(l->req, 200, "OK", l->body);
	event_free(l->tm);
	free(l);
}

static void
later_closed(struct evhttp_connection *conn, void *arg)
{
	struct later	*l = arg;

	json_decref(l->body);
	event_free(l->tm);
	free(l);
}

/* ---- handlers ------------------------------------------------------ */

static json_t *
headers_json(struct evhttp_request *req)
{
	struct evkeyvalq	*h = evhttp_request_get_input_headers(req);
	struct evkeyval		*kv;
	json_t			*j = json_object();
	char			 low[128];
	size_t			 i;

	TAILQ_FOREACH(kv, h, next) {
		for (i = 0; kv->key[i] != '\0' && i + 1 < sizeof(low); i++)
			low[i] = (kv->key[i] >= 'A' && kv->key[i] <= 'Z') ?
			    kv->key[i] + 32 : kv->key[i];
		low[i] = '\0';
		json_object_set_new(j, low, json_string(kv->value));
	}
	return j;
}

static void
record(struct evhttp_request *req, const char *body, size_t len,
    int turn, int unmatched, const char *fault)
{
	json_t	*e;
	char	*s;

	e = json_pack("{s:I, s:s, s:s, s:o, s:s%, s:i, s:b}", "n",
	    (json_int_t)reqno, "method", evhttp_request_get_command(req) ==
	    EVHTTP_REQ_POST ? "POST" : "GET", "path",
	    evhttp_request_get_uri(req), "headers", headers_json(req), "body",
	    body, len, "turn", turn, "unmatched", unmatched);
	if (e == NULL) {	/* body not UTF-8 */
		e = json_pack("{s:I, s:s, s:o, s:s}", "n", (json_int_t)reqno,
		    "path", evhttp_request_get_uri(req), "headers",
		    headers_json(req), "body", "(not UTF-8)");
	}
	if (fault != NULL)
		json_object_set_new(e, "fault", json_string(fault));
	if (journal_fp != NULL) {
		s = json_dumps(e, JSON_COMPACT);
		if (s != NULL) {
			fprintf(journal_fp, "%s\n", s);
			fflush(journal_fp);
			free(s);
		}
	}
	json_array_append_new(journal, e);
	if (json_array_size(journal) > JOURNAL_KEEP)
		json_array_remove(journal, 0);
}

static int
key_ok(struct evhttp_request *req)
{
	struct evkeyvalq	*h = evhttp_request_get_input_headers(req);
	const char		*a, *x;
	int			 i;

	if (nkeys == 0)
		return 1;
	a = evhttp_find_header(h, "Authorization");
	x = evhttp_find_header(h, "x-api-key");
	for (i = 0; i < nkeys; i++) {
		if (x != NULL && strcmp(x, keys[i]) == 0)
			return 1;
		if (a != NULL && strncmp(a, "Bearer ", 7) == 0 &&
		    strcmp(a + 7, keys[i]) == 0)
			return 1;
	}
	return 0;
}

static void
handle_llm(struct evhttp_request *req, enum api api)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	struct later	*l;
	struct timeval	 tv;
	struct out	*o;
	json_t		*body, *turn, *tmp = NULL, *v;
	json_error_t	 je;
	const char	*fault, *model;
	char		*raw, ra[32];
	size_t		 len;
	json_int_t	 in_tokens;
	int		 idx = -1, stream, unmatched = 0, usage;

	reqno++;
	len = evbuffer_get_length(in);
	if (len > MAX_BODY) {
		evhttp_send_error(req, 413, "too large");
		return;
	}
	raw = malloc(len + 1);
	if (raw == NULL)
		err(1, "malloc");
	evbuffer_copyout(in, raw, len);
	raw[len] = '\0';
	body = json_loadb(raw, len, 0, &je);
	if (!json_is_object(body)) {
		record(req, raw, len, -1, 1, NULL);
		free(raw);
		json_decref(body);
		send_json(req, 400, "Bad Request", error_body(api,
		    "invalid_request_error", NULL, "body is not a JSON object"));
		return;
	}
	in_tokens = (json_int_t)(len / 4);
	model = json_string_value(json_object_get(body, "model"));
	if (model == NULL)
		model = "fake-model";
	stream = json_is_true(json_object_get(body, "stream"));
	usage = json_is_true(json_object_get(json_object_get(body,
	    "stream_options"), "include_usage"));

	{
		char	*tool = NULL;

		free(cur_user);
		last_texts(body, &cur_user, &tool);
		free(tool);
	}
	fault = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "X-Fakellm-Fault");
	if (instant != NULL) {
		tmp = json_pack("{s:s}", "text", instant);
		turn = tmp;
	} else if ((turn = pick_turn(body, &idx)) == NULL) {
		tmp = json_pack("{s:s}", "text",
		    "(fakellm) no scripted reply for this request");
		turn = tmp;
		unmatched = 1;
	}
	if (fault == NULL)
		fault = json_string_value(json_object_get(turn, "fault"));
	record(req, raw, len, idx, unmatched, fault);
	free(raw);
	logx("%s %s turn %d%s%s", api == API_OPENAI ? "openai" :
	    "anthropic", stream ? "stream" : "body", idx,
	    fault ? " fault " : "", fault ? fault : "");

	if (!key_ok(req)) {
		send_json(req, 401, "Unauthorized", error_body(api,
		    "authentication_error", "invalid_api_key",
		    "Incorrect API key provided"));
		goto done;
	}
	if (fault != NULL && strcmp(fault, "429") == 0) {
		v = json_object_get(turn, "retry_after");
		snprintf(ra, sizeof(ra), "%lld", json_is_integer(v) ?
		    (long long)json_integer_value(v) : 1LL);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", ra);
		send_json(req, 429, "Too Many Requests", error_body(api,
		    "rate_limit_error", "rate_limit_exceeded",
		    "Rate limit reached, retry later"));
		goto done;
	}
	if (fault != NULL && (strcmp(fault, "500") == 0 ||
	    strcmp(fault, "529") == 0)) {
		send_json(req, atoi(fault), "Server Error", error_body(api,
		    strcmp(fault, "529") == 0 ? "overloaded_error" : "api_error",
		    NULL, "The server had an error processing your request"));
		goto done;
	}
	if (fault != NULL && strcmp(fault, "redirect") == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Location", "/elsewhere/v1/chat/completions");
		send_json(req, 307, "Temporary Redirect", error_body(api,
		    "api_error", NULL, "moved"));
		goto done;
	}
	if (fault != NULL && strcmp(fault, "401") == 0) {
		send_json(req, 401, "Unauthorized", error_body(api,
		    "authentication_error", "invalid_api_key",
		    "Incorrect API key provided"));
		goto done;
	}
	if (fault != NULL && strcmp(fault, "context") == 0) {
		send_json(req, 400, "Bad Request", api == API_OPENAI ?
		    error_body(api, "invalid_request_error",
		    "context_length_exceeded", "This model's maximum context "
		    "length is 8192 tokens. However, your messages resulted in "
		    "9000 tokens.") : error_body(api, "invalid_request_error",
		    NULL, "prompt is too long: 250000 tokens > 200000 maximum"));
		goto done;
	}
	if (!stream) {
		v = api == API_OPENAI ? oa_body(turn, model, in_tokens) :
		    an_body(turn, model, in_tokens);
		if (fault != NULL && strcmp(fault, "slow") == 0) {
			l = calloc(1, sizeof(*l));
			if (l == NULL)
				err(1, "calloc");
			l->req = req;
			l->body = v;
			l->tm = evtimer_new(base, later_fire, l);
			v = json_object_get(turn, "first_byte_ms");
			tv.tv_sec = 0;
			tv.tv_usec = 0;
			tv.tv_sec = (json_is_integer(v) ?
			    json_integer_value(v) : 2000) / 1000;
			tv.tv_usec = ((json_is_integer(v) ?
			    json_integer_value(v) : 2000) % 1000) * 1000;
			evhttp_connection_set_closecb(
			    evhttp_request_get_connection(req), later_closed, l);
			evtimer_add(l->tm, &tv);
		} else if (fault != NULL && strcmp(fault, "malformed") == 0) {
			json_decref(v);
			evhttp_add_header(evhttp_request_get_output_headers(req),
			    "Content-Type", "application/json");
			{
				struct evbuffer *b = evbuffer_new();

				evbuffer_add_printf(b, "{\"id\":\"x\","
				    "\"choices\":[{\"message\":");
				evhttp_send_reply(req, 200, "OK", b);
				evbuffer_free(b);
			}
		} else
			send_json(req, 200, "OK", v);
		goto done;
	}

	o = calloc(1, sizeof(*o));
	if (o == NULL)
		err(1, "calloc");
	o->req = req;
	o->api = api;
	o->model = strdup(model);
	v = json_object_get(turn, "delay_ms");
	o->delay_ms = json_is_integer(v) ? (int)json_integer_value(v) : 0;
	o->stamp = json_is_integer(json_object_get(turn, "stamp"));
	if (api == API_OPENAI)
		oa_stream(o, turn, in_tokens, usage);
	else
		an_stream(o, turn, in_tokens);
	if (fault != NULL && strcmp(fault, "slow") == 0) {
		v = json_object_get(turn, "first_byte_ms");
		o->first_byte_ms = json_is_integer(v) ?
		    (int)json_integer_value(v) : 2000;
	} else if (fault != NULL && strcmp(fault, "disconnect") == 0) {
		o->disconnect = 1;
	} else if (fault != NULL && strcmp(fault, "endless") == 0) {
		o->endless = 1;
		o->nev--;		/* no end: drop [DONE] / message_stop */
		free(o->ev[o->nev]);
		/* ... and whatever says it is finishing. */
		while (o->nev > 1 && (strstr(o->ev[o->nev - 1],
		    "finish_reason\":\"") != NULL || strstr(o->ev[o->nev - 1],
		    "\"usage\"") != NULL || strstr(o->ev[o->nev - 1],
		    "message_delta") != NULL)) {
			o->nev--;
			free(o->ev[o->nev]);
		}
	} else if (fault != NULL && strcmp(fault, "malformed") == 0) {
		out_push(o, NULL);
		memmove(&o->ev[2], &o->ev[1], (o->nev - 2) * sizeof(*o->ev));
		o->ev[1] = strdup(api == API_OPENAI ?
		    "data: {\"choices\":[{\"delta\":{\"content\":\"oops\n\n" :
		    "event: content_block_delta\ndata: {\"type\":\"content_blo\n\n");
	} else if (fault != NULL && strcmp(fault, "hugeline") == 0) {
		char	*h = malloc(HUGE_LINE + 16);

		if (h == NULL)
			err(1, "malloc");
		memcpy(h, "data: ", 6);
		memset(h + 6, 'x', HUGE_LINE);
		memcpy(h + 6 + HUGE_LINE, "\n\n", 3);
		out_push(o, NULL);
		memmove(&o->ev[2], &o->ev[1], (o->nev - 2) * sizeof(*o->ev));
		o->ev[1] = h;
	}
	out_start(o);
done:
	json_decref(tmp);
	json_decref(body);
}

static void
handle(struct evhttp_request *req, void *arg)
{
	const char	*path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(
			    req));
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct evbuffer	*in, *b;
	json_t		*j;
	json_error_t	 je;
	char		*s;
	size_t		 len;

	if (path == NULL)
		path = "/";
	if (cmd == EVHTTP_REQ_POST && (strcmp(path, "/v1/chat/completions") ==
	    0 || strcmp(path, "/chat/completions") == 0)) {
		handle_llm(req, API_OPENAI);
		return;
	}
	if (cmd == EVHTTP_REQ_POST && (strcmp(path, "/v1/messages") == 0 ||
	    strcmp(path, "/messages") == 0)) {
		handle_llm(req, API_ANTHROPIC);
		return;
	}
	if (cmd == EVHTTP_REQ_GET && strcmp(path, "/__journal") == 0) {
		send_json(req, 200, "OK", json_incref(journal));
		return;
	}
	if (cmd == EVHTTP_REQ_POST && strcmp(path, "/__reset") == 0) {
		json_array_clear(journal);
		send_json(req, 200, "OK", json_pack("{s:b}", "ok", 1));
		return;
	}
	if (cmd == EVHTTP_REQ_POST && strcmp(path, "/__script") == 0) {
		in = evhttp_request_get_input_buffer(req);
		len = evbuffer_get_length(in);
		s = malloc(len + 1);
		if (s == NULL)
			err(1, "malloc");
		evbuffer_copyout(in, s, len);
		j = json_loadb(s, len, 0, &je);
		free(s);
		if (j == NULL || load_script(j) == -1) {
			json_decref(j);
			send_json(req, 400, "Bad Request", json_pack("{s:s}",
			    "error", "bad script"));
			return;
		}
		json_decref(j);
		send_json(req, 200, "OK", json_pack("{s:b}", "ok", 1));
		return;
	}
	if (cmd == EVHTTP_REQ_GET && strcmp(path, "/health") == 0) {
		b = evbuffer_new();
		evbuffer_add_printf(b, "ok\n");
		evhttp_send_reply(req, 200, "OK", b);
		evbuffer_free(b);
		return;
	}
	evhttp_send_error(req, 404, "not found");
}

static void
on_signal(evutil_socket_t sig, short ev, void *arg)
{
	event_base_loopbreak(base);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: fakellm [-q] [-p port] [-s script.json] "
	    "[-j journal.jsonl] [-i instant-text] [-k key ...]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct evhttp			*http;
	struct evhttp_bound_socket	*sock;
	struct sockaddr_in		 sin;
	struct event			*sigint, *sigterm;
	socklen_t			 sl = sizeof(sin);
	json_error_t			 je;
	json_t				*j;
	const char			*script_path = NULL, *journal_path = NULL;
	int				 ch, port = 0;

	while ((ch = getopt(argc, argv, "i:j:k:p:qs:")) != -1) {
		switch (ch) {
		case 'i':
			instant = optarg;
			break;
		case 'j':
			journal_path = optarg;
			break;
		case 'k':
			if (nkeys == MAX_KEYS)
				errx(2, "too many keys");
			keys[nkeys++] = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			if (port < 0 || port > 65535)
				usage();
			break;
		case 'q':
			quiet = 1;
			break;
		case 's':
			script_path = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	signal(SIGPIPE, SIG_IGN);
	journal = json_array();
	if (script_path != NULL) {
		if ((j = json_load_file(script_path, 0, &je)) == NULL)
			errx(1, "%s:%d: %s", script_path, je.line, je.text);
		if (load_script(j) == -1)
			errx(1, "%s: not a script", script_path);
		json_decref(j);
	} else {
		j = json_pack("{s:[]}", "turns");
		load_script(j);
		json_decref(j);
	}
	if (journal_path != NULL &&
	    (journal_fp = fopen(journal_path, "ae")) == NULL)
		err(1, "%s", journal_path);

	if ((base = event_base_new()) == NULL)
		errx(1, "event_base_new");
	if ((http = evhttp_new(base)) == NULL)
		errx(1, "evhttp_new");
	evhttp_set_max_body_size(http, MAX_BODY);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_gencb(http, handle, NULL);
	if ((sock = evhttp_bind_socket_with_handle(http, "127.0.0.1",
	    (ev_uint16_t)port)) == NULL)
		errx(1, "cannot listen on 127.0.0.1:%d", port);
	if (getsockname(evhttp_bound_socket_get_fd(sock),
	    (struct sockaddr *)&sin, &sl) == -1)
		err(1, "getsockname");
	if (port == 0) {
		printf("%d\n", ntohs(sin.sin_port));
		fflush(stdout);
	}
	logx("listening on 127.0.0.1:%d", ntohs(sin.sin_port));
	sigint = evsignal_new(base, SIGINT, on_signal, NULL);
	sigterm = evsignal_new(base, SIGTERM, on_signal, NULL);
	evsignal_add(sigint, NULL);
	evsignal_add(sigterm, NULL);
	event_base_dispatch(base);
	event_free(sigint);
	event_free(sigterm);
	evhttp_free(http);
	event_base_free(base);
	json_decref(journal);
	json_decref(script);
	free(used);
	if (journal_fp != NULL)
		fclose(journal_fp);
	return 0;
}
