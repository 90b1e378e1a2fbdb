/*
 * Anthropic Messages (POST /v1/messages, x-api-key, anthropic-version).
 *
 * Stream: named events message_start (usage: input and cache tokens),
 * content_block_start (text | thinking | tool_use{id, name}),
 * content_block_delta (text_delta | thinking_delta | input_json_delta
 * {partial_json} | signature_delta), content_block_stop, message_delta
 * (stop_reason, cumulative usage.output_tokens), message_stop, ping,
 * error. Unknown events are ignored, as the API asks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/util.h"
#include "workers/fetch/fetch.h"

enum { BLK_OTHER = 0, BLK_TEXT, BLK_THINKING, BLK_TOOL };

static int
fail(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return -1;
}

static json_t *
cache_marker(const json_t *req)
{
	const char	*ttl;

	ttl = json_string_value(json_object_get(req, "cache_ttl"));
	if (ttl != NULL && strcmp(ttl, "1h") == 0)
		return json_pack("{s:s, s:s}", "type", "ephemeral", "ttl", "1h");
	return json_pack("{s:s}", "type", "ephemeral");
}

static void
text_blocks(const json_t *content, json_t *blocks)
{
	const json_t	*p;
	const char	*s;
	size_t		 i;

	if (json_is_string(content)) {
		if (json_string_length(content) > 0)
			json_array_append_new(blocks, json_pack("{s:s, s:O}",
			    "type", "text", "text", content));
		return;
	}
	json_array_foreach(content, i, p) {
		s = json_string_value(json_object_get(p, "text"));
		if (s != NULL && *s != '\0')
			json_array_append_new(blocks, json_pack("{s:s, s:s}",
			    "type", "text", "text", s));
	}
}

/* Reasoning sent back with its signature becomes a thinking block
 * (the API checks the signature; without one it cannot be sent). */
static void
thinking_block(const json_t *m, json_t *blocks)
{
	const json_t	*r, *sig;

	r = json_object_get(m, "reasoning");
	sig = json_object_get(m, "reasoning_signature");
	if (json_is_string(r) && json_is_string(sig) &&
	    json_string_length(sig) > 0)
		json_array_append_new(blocks, json_pack("{s:s, s:O, s:O}",
		    "type", "thinking", "thinking", r, "signature", sig));
}

/*
 * With thinking on, the API wants the thinking blocks of the assistant
 * messages of the current tool loop (after the last user message) sent
 * back. If one is missing its signature, thinking is left off for this
 * request rather than have it refused.
 */
static int
loop_has_unsigned(const json_t *msgs)
{
	const json_t	*m;
	const char	*role;
	size_t		 i, last_user = 0;

	json_array_foreach(msgs, i, m) {
		role = json_string_value(json_object_get(m, "role"));
		if (role != NULL && strcmp(role, "user") == 0)
			last_user = i;
	}
	json_array_foreach(msgs, i, m) {
		if (i < last_user)
			continue;
		role = json_string_value(json_object_get(m, "role"));
		if (role == NULL || strcmp(role, "assistant") != 0 ||
		    json_array_size(json_object_get(m, "tool_calls")) == 0)
			continue;
		if (!json_is_string(json_object_get(m, "reasoning_signature")))
			return 1;
	}
	return 0;
}

/* Append blocks to the last message if it has the same role. */
static void
push(json_t *msgs, const char *role, json_t *blocks)
{
	json_t	*last;

	if (json_array_size(blocks) == 0) {
		json_decref(blocks);
		return;
	}
	last = json_array_get(msgs, json_array_size(msgs) - 1);
	if (last != NULL && strcmp(json_string_value(json_object_get(last,
	    "role")), role) == 0) {
		json_array_extend(json_object_get(last, "content"), blocks);
		json_decref(blocks);
		return;
	}
	json_array_append_new(msgs, json_pack("{s:s, s:o}", "role", role,
	    "content", blocks));
}

static int
tool_use(const json_t *c, json_t *blocks, char *err, size_t errlen)
{
	const json_t	*a;
	json_t		*input;
	json_error_t	 je;

	if (!json_is_string(json_object_get(c, "id")) ||
	    !json_is_string(json_object_get(c, "name")))
		return fail(err, errlen, "tool call without id or name");
	a = json_object_get(c, "arguments");
	if (json_is_string(a)) {
		if (json_string_length(a) == 0)
			input = json_object();
		else if ((input = json_loads(json_string_value(a), 0,
		    &je)) == NULL || !json_is_object(input)) {
			json_decref(input);
			return fail(err, errlen, "tool call arguments are not "
			    "a JSON object");
		}
	} else if (json_is_object(a))
		input = json_incref((json_t *)a);
	else
		input = json_object();
	json_array_append_new(blocks, json_pack("{s:s, s:O, s:O, s:o}",
	    "type", "tool_use", "id", json_object_get(c, "id"),
	    "name", json_object_get(c, "name"), "input", input));
	return 0;
}

static int
convert(const json_t *req, json_t *sys, json_t *msgs, char *err,
    size_t errlen)
{
	const json_t	*m, *content, *calls, *c;
	const char	*role, *id;
	json_t		*blocks, *last;
	size_t		 i, j;

	json_array_foreach(json_object_get(req, "messages"), i, m) {
		role = json_string_value(json_object_get(m, "role"));
		content = json_object_get(m, "content");
		if (role == NULL)
			return fail(err, errlen, "message without a role");
		if (content != NULL && !json_is_null(content) &&
		    !json_is_string(content) && !json_is_array(content))
			return fail(err, errlen, "message content must be a "
			    "string");
		blocks = json_array();
		if (strcmp(role, "system") == 0) {
			text_blocks(content, blocks);
			json_array_extend(sys, blocks);
			json_decref(blocks);
			blocks = NULL;
			last = json_array_get(sys, json_array_size(sys) - 1);
		} else if (strcmp(role, "user") == 0) {
			text_blocks(content, blocks);
			last = json_array_get(blocks, json_array_size(blocks) - 1);
		} else if (strcmp(role, "assistant") == 0) {
			thinking_block(m, blocks);
			text_blocks(content, blocks);
			calls = json_object_get(m, "tool_calls");
			json_array_foreach(calls, j, c) {
				if (tool_use(c, blocks, err, errlen) == -1) {
					json_decref(blocks);
					return -1;
				}
			}
			last = json_array_get(blocks, json_array_size(blocks) - 1);
		} else if (strcmp(role, "tool") == 0) {
			id = json_string_value(json_object_get(m,
			    "tool_call_id"));
			if (id == NULL) {
				json_decref(blocks);
				return fail(err, errlen, "tool message without "
				    "tool_call_id");
			}
			json_array_append_new(blocks, json_pack("{s:s, s:s, "
			    "s:s}", "type", "tool_result", "tool_use_id", id,
			    "content", json_is_string(content) ?
			    json_string_value(content) : ""));
			last = json_array_get(blocks, 0);
			role = "user";
		} else {
			json_decref(blocks);
			return fail(err, errlen, "unknown message role");
		}
		if (last != NULL && json_is_true(json_object_get(m, "cache")))
			json_object_set_new(last, "cache_control",
			    cache_marker(req));
		if (blocks != NULL)
			push(msgs, role, blocks);
	}
	return 0;
}

static const struct {
	const char	*effort;
	int		 budget;
} budgets[] = {
	{ "minimal", 1024 }, { "low", 2048 }, { "medium", 8192 },
	{ "high", 16384 }, { "xhigh", 32768 }, { "max", 32768 },
	{ "ultra", 32768 },
};

static int
an_build(const json_t *req, const struct prov_opts *o, char **body,
    char *err, size_t errlen)
{
	json_t		*r, *sys, *msgs, *tools, *t, *ot, *v, *params;
	const char	*e, *name, *desc;
	json_int_t	 max_tokens = FETCH_DEFAULT_MAX_TOKENS;
	size_t		 i;
	int		 budget = 0;

	if (!json_is_array(json_object_get(req, "messages")) ||
	    json_array_size(json_object_get(req, "messages")) == 0)
		return fail(err, errlen, "request has no messages");
	sys = json_array();
	msgs = json_array();
	if (convert(req, sys, msgs, err, errlen) == -1) {
		json_decref(sys);
		json_decref(msgs);
		return -1;
	}
	v = json_object_get(req, "max_tokens");
	if (json_is_integer(v) && json_integer_value(v) > 0)
		max_tokens = json_integer_value(v);
	e = json_string_value(json_object_get(req, "reasoning_effort"));
	for (i = 0; e != NULL && i < nitems(budgets); i++)
		if (strcmp(e, budgets[i].effort) == 0)
			budget = budgets[i].budget;
	if (budget > 0 && loop_has_unsigned(json_object_get(req, "messages")))
		budget = 0;
	if (budget > 0 && max_tokens <= budget)
		max_tokens += budget;
	r = json_pack("{s:s, s:I, s:o, s:b}", "model", o->model,
	    "max_tokens", max_tokens, "messages", msgs, "stream", o->stream);
	if (json_array_size(sys) > 0)
		json_object_set_new(r, "system", sys);
	else
		json_decref(sys);
	if (budget > 0)
		json_object_set_new(r, "thinking", json_pack("{s:s, s:i}",
		    "type", "enabled", "budget_tokens", budget));
	v = json_object_get(req, "temperature");
	if (json_is_number(v) && budget == 0)
		json_object_set_new(r, "temperature",
		    json_real(json_number_value(v)));
	tools = json_object_get(req, "tools");
	if (json_is_array(tools) && json_array_size(tools) > 0) {
		ot = json_array();
		json_array_foreach(tools, i, t) {
			name = json_string_value(json_object_get(t, "name"));
			if (name == NULL) {
				json_decref(ot);
				json_decref(r);
				return fail(err, errlen, "tool without a name");
			}
			desc = json_string_value(json_object_get(t,
			    "description"));
			params = json_object_get(t, "parameters");
			v = json_pack("{s:s}", "name", name);
			if (desc != NULL)
				json_object_set_new(v, "description",
				    json_string(desc));
			if (json_is_object(params))
				json_object_set(v, "input_schema", params);
			else
				json_object_set_new(v, "input_schema",
				    json_pack("{s:s, s:{}}", "type", "object",
				    "properties"));
			json_array_append_new(ot, v);
		}
		json_object_set_new(r, "tools", ot);
	}
	*body = prov_dump(r);
	return 0;
}

static int
an_auth(const char *key, char out[][512], int n)
{
	if (n < 1 || key == NULL || *key == '\0')
		return 0;
	if (snprintf(out[0], 512, "x-api-key: %s", key) >= 512)
		return 0;
	return 1;
}

static const char *const an_headers[] = {
	"Content-Type: application/json",
	"anthropic-version: 2023-06-01",
	"Accept: text/event-stream, application/json",
	NULL
};

static void
usage(struct prov_dec *d, const json_t *u)
{
	const json_t	*v;

	if (!json_is_object(u))
		return;
	d->have_usage = 1;
	d->input_excludes_cache = 1;
	if (json_is_integer(v = json_object_get(u, "input_tokens")))
		d->usage.input = json_integer_value(v);
	if (json_is_integer(v = json_object_get(u, "output_tokens")))
		d->usage.output = json_integer_value(v);
	if (json_is_integer(v = json_object_get(u, "cache_read_input_tokens")))
		d->usage.cache_read = json_integer_value(v);
	if (json_is_integer(v = json_object_get(u,
	    "cache_creation_input_tokens")))
		d->usage.cache_write = json_integer_value(v);
}

static const struct {
	const char	*anthropic;
	const char	*neutral;
} stops[] = {
	{ "end_turn", "stop" },
	{ "stop_sequence", "stop" },
	{ "tool_use", "tool_calls" },
	{ "max_tokens", "length" },
	{ "refusal", "content_filter" },
};

static void
stop_reason(struct prov_dec *d, const char *s)
{
	size_t	 i;

	if (s == NULL)
		return;
	for (i = 0; i < nitems(stops); i++)
		if (strcmp(s, stops[i].anthropic) == 0) {
			s = stops[i].neutral;
			break;
		}
	snprintf(d->finish, sizeof(d->finish), "%s", s);
}

static const struct {
	const char	*type;
	int		 eclass;
} errtypes[] = {
	{ "authentication_error", FE_AUTH },
	{ "permission_error", FE_AUTH },
	{ "billing_error", FE_AUTH },
	{ "rate_limit_error", FE_RATE_LIMIT },
	{ "overloaded_error", FE_SERVER },
	{ "api_error", FE_SERVER },
	{ "timeout_error", FE_SERVER },
	{ "request_too_large", FE_CONTEXT_OVERFLOW },
	{ "invalid_request_error", FE_BAD_REQUEST },
};

static int
error_event(struct prov_dec *d, const json_t *j)
{
	const json_t	*e;
	const char	*type, *msg;
	char		 clean[200];
	size_t		 i;
	int		 cls = FE_SERVER;

	e = json_object_get(j, "error");
	type = json_string_value(json_object_get(e, "type"));
	msg = json_string_value(json_object_get(e, "message"));
	if (msg == NULL)
		msg = "error in stream";
	for (i = 0; type != NULL && i < nitems(errtypes); i++)
		if (strcmp(type, errtypes[i].type) == 0)
			cls = errtypes[i].eclass;
	if (cls == FE_BAD_REQUEST &&
	    prov_classify(400, msg, strlen(msg)) == FE_CONTEXT_OVERFLOW)
		cls = FE_CONTEXT_OVERFLOW;
	for (i = 0; msg[i] != '\0' && i + 1 < sizeof(clean); i++)
		clean[i] = (msg[i] >= 0x20 && msg[i] < 0x7f) ? msg[i] : ' ';
	clean[i] = '\0';
	return prov_dec_fail(d, cls, "provider error: %s", clean);
}

static int
block_start(struct prov_dec *d, int64_t index, const json_t *b)
{
	const char		*type;
	const json_t		*v;
	struct prov_call	*c;
	char			*s;
	int			 rc;

	type = json_string_value(json_object_get(b, "type"));
	if (type == NULL)
		return prov_dec_fail(d, FE_BAD_RESPONSE, "content block "
		    "without a type");
	if (index < 0 || index >= FETCH_MAX_TOOL_CALLS)
		return prov_dec_fail(d, FE_BAD_RESPONSE, "content block "
		    "index out of range");
	if (strcmp(type, "text") == 0) {
		d->blocktype[index] = BLK_TEXT;
		v = json_object_get(b, "text");
		return json_is_string(v) ? prov_text(d, 0,
		    json_string_value(v), json_string_length(v)) : 0;
	}
	if (strcmp(type, "thinking") == 0) {
		d->blocktype[index] = BLK_THINKING;
		v = json_object_get(b, "thinking");
		return json_is_string(v) ? prov_text(d, 1,
		    json_string_value(v), json_string_length(v)) : 0;
	}
	if (strcmp(type, "tool_use") == 0) {
		d->blocktype[index] = BLK_TOOL;
		if ((c = prov_call_get(d, index)) == NULL)
			return -1;
		if (prov_call_set(d, c, json_string_value(json_object_get(b,
		    "id")), json_string_value(json_object_get(b, "name"))) == -1)
			return -1;
		v = json_object_get(b, "input");
		if (json_is_object(v) && json_object_size(v) > 0) {
			s = prov_dump(json_incref((json_t *)v));
			rc = prov_call_append(d, c, s, strlen(s));
			free(s);
			return rc;
		}
		return 0;
	}
	d->blocktype[index] = BLK_OTHER;
	return 0;
}

static int
sig_add(struct prov_dec *d, const char *p, size_t n)
{
	if (d->siglen + n + 1 > FETCH_MAX_SIGNATURE)
		return prov_dec_fail(d, FE_BAD_RESPONSE, "thinking signature "
		    "over %u bytes", FETCH_MAX_SIGNATURE);
	d->sig = xreallocarray(d->sig, d->siglen + n + 1, 1);
	memcpy(d->sig + d->siglen, p, n);
	d->siglen += n;
	d->sig[d->siglen] = '\0';
	return 0;
}

/* A thinking block ended: hand its signature on. */
static void
sig_emit(struct prov_dec *d)
{
	if (d->siglen > 0 && d->sink->signature != NULL)
		d->sink->signature(d->sink->arg, d->sig, d->siglen);
	d->siglen = 0;
}

static int
block_delta(struct prov_dec *d, int64_t index, const json_t *delta)
{
	const char	*type;
	const json_t	*v;

	type = json_string_value(json_object_get(delta, "type"));
	if (type == NULL)
		return prov_dec_fail(d, FE_BAD_RESPONSE, "delta without a "
		    "type");
	if (strcmp(type, "text_delta") == 0) {
		v = json_object_get(delta, "text");
		return json_is_string(v) ? prov_text(d, 0,
		    json_string_value(v), json_string_length(v)) : 0;
	}
	if (strcmp(type, "thinking_delta") == 0) {
		v = json_object_get(delta, "thinking");
		return json_is_string(v) ? prov_text(d, 1,
		    json_string_value(v), json_string_length(v)) : 0;
	}
	if (strcmp(type, "input_json_delta") == 0) {
		if (index < 0 || index >= FETCH_MAX_TOOL_CALLS ||
		    d->blocktype[index] != BLK_TOOL)
			return prov_dec_fail(d, FE_BAD_RESPONSE,
			    "input_json_delta outside a tool_use block");
		v = json_object_get(delta, "partial_json");
		if (!json_is_string(v))
			return 0;
		return prov_call_append(d, prov_call_get(d, index),
		    json_string_value(v), json_string_length(v));
	}
	if (strcmp(type, "signature_delta") == 0) {
		v = json_object_get(delta, "signature");
		if (!json_is_string(v))
			return 0;
		return sig_add(d, json_string_value(v), json_string_length(v));
	}
	return 0;	/* citations_delta, ... */
}

static int
dispatch(struct prov_dec *d, const char *type, const json_t *j)
{
	const json_t	*v;
	int64_t		 index;

	index = json_is_integer(json_object_get(j, "index")) ?
	    json_integer_value(json_object_get(j, "index")) : -1;
	if (strcmp(type, "message_start") == 0) {
		usage(d, json_object_get(json_object_get(j, "message"),
		    "usage"));
		return 0;
	}
	if (strcmp(type, "content_block_start") == 0)
		return block_start(d, index, json_object_get(j,
		    "content_block"));
	if (strcmp(type, "content_block_delta") == 0)
		return block_delta(d, index, json_object_get(j, "delta"));
	if (strcmp(type, "content_block_stop") == 0) {
		if (index >= 0 && index < FETCH_MAX_TOOL_CALLS &&
		    d->blocktype[index] == BLK_TOOL)
			return prov_call_emit(d, prov_call_get(d, index));
		if (index >= 0 && index < FETCH_MAX_TOOL_CALLS &&
		    d->blocktype[index] == BLK_THINKING)
			sig_emit(d);
		return 0;
	}
	if (strcmp(type, "message_delta") == 0) {
		v = json_object_get(j, "delta");
		stop_reason(d, json_string_value(json_object_get(v,
		    "stop_reason")));
		usage(d, json_object_get(j, "usage"));
		d->anthropic_stop = 1;
		return 0;
	}
	if (strcmp(type, "message_stop") == 0) {
		d->finished = 1;
		return prov_end(d);
	}
	if (strcmp(type, "error") == 0)
		return error_event(d, j);
	return 0;	/* ping and unknown events */
}

static int
an_event(struct prov_dec *d, const char *event, const char *data,
    size_t len)
{
	json_t		*j;
	json_error_t	 je;
	struct prov_fast fp;
	const char	*type;
	int		 rc;

	if (d->ended)
		return 0;
	if (prov_fast_enabled && prov_fast_scan(1, data, len, &fp) == 0)
		return prov_fast_text(d, &fp);
	j = json_loadb(data, len, 0, &je);
	if (!json_is_object(j)) {
		json_decref(j);
		return prov_dec_fail(d, FE_BAD_RESPONSE,
		    "malformed stream event: %s", je.text);
	}
	type = json_string_value(json_object_get(j, "type"));
	if (type == NULL)
		type = event;
	rc = dispatch(d, type, j);
	json_decref(j);
	return rc;
}

static int
an_body(struct prov_dec *d, const char *body, size_t len)
{
	json_t			*j, *b;
	json_error_t		 je;
	struct prov_call	*c;
	const char		*type;
	size_t			 i;
	char			*s;
	int			 rc = -1;

	j = json_loadb(body, len, 0, &je);
	if (!json_is_object(j)) {
		json_decref(j);
		return prov_dec_fail(d, FE_BAD_RESPONSE,
		    "malformed response: %s", je.text);
	}
	type = json_string_value(json_object_get(j, "type"));
	if (type != NULL && strcmp(type, "error") == 0) {
		rc = error_event(d, j);
		goto out;
	}
	if (!json_is_array(json_object_get(j, "content"))) {
		prov_dec_fail(d, FE_BAD_RESPONSE, "response without content");
		goto out;
	}
	json_array_foreach(json_object_get(j, "content"), i, b) {
		type = json_string_value(json_object_get(b, "type"));
		if (type == NULL)
			continue;
		if (strcmp(type, "text") == 0 && prov_text(d, 0,
		    json_string_value(json_object_get(b, "text")) ?
		    json_string_value(json_object_get(b, "text")) : "",
		    json_string_length(json_object_get(b, "text"))) == -1)
			goto out;
		if (strcmp(type, "thinking") == 0) {
			if (prov_text(d, 1, json_string_value(json_object_get(b,
			    "thinking")) ? json_string_value(json_object_get(b,
			    "thinking")) : "", json_string_length(
			    json_object_get(b, "thinking"))) == -1)
				goto out;
			if (json_is_string(json_object_get(b, "signature"))) {
				if (sig_add(d, json_string_value(json_object_get(b,
				    "signature")), json_string_length(
				    json_object_get(b, "signature"))) == -1)
					goto out;
				sig_emit(d);
			}
		}
		if (strcmp(type, "tool_use") == 0) {
			if ((c = prov_call_get(d, (int64_t)i)) == NULL)
				goto out;
			if (prov_call_set(d, c, json_string_value(
			    json_object_get(b, "id")), json_string_value(
			    json_object_get(b, "name"))) == -1)
				goto out;
			if (json_is_object(json_object_get(b, "input"))) {
				s = prov_dump(json_incref(json_object_get(b,
				    "input")));
				rc = prov_call_append(d, c, s, strlen(s));
				free(s);
				if (rc == -1)
					goto out;
				rc = -1;
			}
		}
	}
	stop_reason(d, json_string_value(json_object_get(j, "stop_reason")));
	usage(d, json_object_get(j, "usage"));
	d->finished = 1;
	rc = prov_end(d);
out:
	json_decref(j);
	return rc;
}

static int
an_eof(struct prov_dec *d)
{
	if (d->ended)
		return 0;
	return prov_dec_fail(d, FE_NETWORK, "stream ended before "
	    "message_stop");
}

const struct prov_shape prov_anthropic = {
	.name = "anthropic",
	.path = "/messages",
	.path_v1 = "/v1/messages",
	.build = an_build,
	.auth = an_auth,
	.headers = an_headers,
	.ev = an_event,
	.body = an_body,
	.eof = an_eof,
};
