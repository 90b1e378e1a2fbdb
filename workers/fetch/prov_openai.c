/*
 * OpenAI Chat Completions (api.openai.com, OpenRouter, and any
 * OpenAI-compatible base URL: llama.cpp, Ollama, vLLM, LM Studio).
 *
 * Stream: "data: {chat.completion.chunk}" events, choices[0].delta with
 * content / reasoning (OpenRouter) / reasoning_content (DeepSeek, vLLM) /
 * tool_calls[{index, id, function{name, arguments}}] where arguments
 * arrive in pieces; finish_reason on the last choice chunk; with
 * stream_options.include_usage a final chunk with empty choices and
 * usage; then "data: [DONE]".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/util.h"
#include "workers/fetch/fetch.h"

static int
fail(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return -1;
}

/* arguments as the provider wants them: a JSON string. */
static json_t *
args_string(const json_t *a)
{
	char	*s;
	json_t	*j;

	if (a == NULL || json_is_null(a))
		return json_string("{}");
	if (json_is_string(a))
		return json_string(json_string_value(a));
	s = prov_dump(json_incref((json_t *)a));
	j = json_string(s);
	free(s);
	return j;
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

static int
build_message(const json_t *req, const json_t *m, const struct prov_opts *o,
    json_t *out, char *err, size_t errlen)
{
	const char	*role, *s;
	json_t		*om, *content, *calls, *c, *oc, *tc, *parts;
	size_t		 i;
	int		 cache;

	role = json_string_value(json_object_get(m, "role"));
	if (role == NULL)
		return fail(err, errlen, "message without a role");
	if (strcmp(role, "system") != 0 && strcmp(role, "user") != 0 &&
	    strcmp(role, "assistant") != 0 && strcmp(role, "tool") != 0)
		return fail(err, errlen, "unknown message role");
	content = json_object_get(m, "content");
	if (content != NULL && !json_is_string(content) &&
	    !json_is_array(content) && !json_is_null(content))
		return fail(err, errlen, "message content must be a string");
	cache = json_is_true(json_object_get(m, "cache"));

	om = json_pack("{s:s}", "role", role);
	if (content != NULL && json_is_string(content) && cache &&
	    o->cache_envelope && json_string_length(content) > 0) {
		parts = json_pack("[{s:s, s:O, s:o}]", "type", "text", "text",
		    content, "cache_control", cache_marker(req));
		json_object_set_new(om, "content", parts);
	} else if (content != NULL && !json_is_null(content))
		json_object_set(om, "content", (json_t *)content);
	else if (strcmp(role, "assistant") == 0)
		json_object_set_new(om, "content", json_null());
	else
		json_object_set_new(om, "content", json_string(""));

	if (strcmp(role, "tool") == 0) {
		s = json_string_value(json_object_get(m, "tool_call_id"));
		if (s == NULL) {
			json_decref(om);
			return fail(err, errlen, "tool message without "
			    "tool_call_id");
		}
		json_object_set_new(om, "tool_call_id", json_string(s));
	}
	calls = json_object_get(m, "tool_calls");
	if (json_is_array(calls) && json_array_size(calls) > 0 &&
	    strcmp(role, "assistant") == 0) {
		tc = json_array();
		json_array_foreach(calls, i, c) {
			if (!json_is_string(json_object_get(c, "id")) ||
			    !json_is_string(json_object_get(c, "name"))) {
				json_decref(tc);
				json_decref(om);
				return fail(err, errlen, "tool call without "
				    "id or name");
			}
			oc = json_pack("{s:O, s:s, s:{s:O, s:o}}",
			    "id", json_object_get(c, "id"),
			    "type", "function",
			    "function",
			    "name", json_object_get(c, "name"),
			    "arguments",
			    args_string(json_object_get(c, "arguments")));
			json_array_append_new(tc, oc);
		}
		json_object_set_new(om, "tool_calls", tc);
	}
	s = json_string_value(json_object_get(m, "reasoning"));
	if (s != NULL && strcmp(role, "assistant") == 0 &&
	    strcmp(o->provider, "openrouter") == 0)
		json_object_set_new(om, "reasoning", json_string(s));
	json_array_append_new(out, om);
	return 0;
}

static const char *
effort(const char *e)
{
	static const char *const map[][2] = {
		{ "minimal", "minimal" }, { "low", "low" },
		{ "medium", "medium" }, { "high", "high" },
		{ "xhigh", "high" }, { "max", "high" }, { "ultra", "high" },
	};
	size_t	 i;

	for (i = 0; i < nitems(map); i++)
		if (strcmp(e, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

static int
oa_build(const json_t *req, const struct prov_opts *o, char **body,
    char *err, size_t errlen)
{
	json_t		*r, *msgs, *m, *tools, *t, *ot, *v, *params, *fn;
	const char	*e, *name, *desc;
	size_t		 i;

	msgs = json_object_get(req, "messages");
	if (!json_is_array(msgs) || json_array_size(msgs) == 0)
		return fail(err, errlen, "request has no messages");
	r = json_pack("{s:s, s:b}", "model", o->model, "stream", o->stream);
	if (o->stream)
		json_object_set_new(r, "stream_options",
		    json_pack("{s:b}", "include_usage", 1));
	m = json_array();
	json_object_set_new(r, "messages", m);
	json_array_foreach(msgs, i, v) {
		if (!json_is_object(v) ||
		    build_message(req, v, o, m, err, errlen) == -1) {
			if (!json_is_object(v))
				fail(err, errlen, "message is not an object");
			json_decref(r);
			return -1;
		}
	}
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
			params = json_object_get(t, "parameters");
			desc = json_string_value(json_object_get(t,
			    "description"));
			fn = json_pack("{s:s, s:s}", "name", name,
			    "description", desc != NULL ? desc : "");
			if (json_is_object(params))
				json_object_set(fn, "parameters", params);
			else
				json_object_set_new(fn, "parameters",
				    json_pack("{s:s, s:{}}", "type", "object",
				    "properties"));
			json_array_append_new(ot, json_pack("{s:s, s:o}",
			    "type", "function", "function", fn));
		}
		json_object_set_new(r, "tools", ot);
	}
	v = json_object_get(req, "max_tokens");
	if (json_is_integer(v) && json_integer_value(v) > 0)
		json_object_set_new(r, o->max_completion_tokens ?
		    "max_completion_tokens" : "max_tokens",
		    json_integer(json_integer_value(v)));
	v = json_object_get(req, "temperature");
	if (json_is_number(v))
		json_object_set_new(r, "temperature",
		    json_real(json_number_value(v)));
	e = json_string_value(json_object_get(req, "reasoning_effort"));
	if (e != NULL && effort(e) != NULL) {
		if (strcmp(o->provider, "openrouter") == 0)
			json_object_set_new(r, "reasoning",
			    json_pack("{s:s}", "effort", effort(e)));
		else
			json_object_set_new(r, "reasoning_effort",
			    json_string(effort(e)));
	}
	*body = prov_dump(r);
	return 0;
}

static int
oa_auth(const char *key, char out[][512], int n)
{
	if (n < 1 || key == NULL || *key == '\0')
		return 0;
	if (snprintf(out[0], 512, "Authorization: Bearer %s", key) >= 512)
		return 0;
	return 1;
}

static const char *const oa_headers[] = {
	"Content-Type: application/json",
	"Accept: text/event-stream, application/json",
	NULL
};

static void
usage(struct prov_dec *d, const json_t *u)
{
	const json_t	*v, *det;

	if (!json_is_object(u))
		return;
	d->have_usage = 1;
	if (json_is_integer(v = json_object_get(u, "prompt_tokens")))
		d->usage.input = json_integer_value(v);
	if (json_is_integer(v = json_object_get(u, "completion_tokens")))
		d->usage.output = json_integer_value(v);
	det = json_object_get(u, "prompt_tokens_details");
	if (json_is_integer(v = json_object_get(det, "cached_tokens")))
		d->usage.cache_read = json_integer_value(v);
	if (json_is_integer(v = json_object_get(det, "cache_write_tokens")))
		d->usage.cache_write = json_integer_value(v);
	det = json_object_get(u, "completion_tokens_details");
	if (json_is_integer(v = json_object_get(det, "reasoning_tokens")))
		d->usage.reasoning = json_integer_value(v);
}

static int
error_object(struct prov_dec *d, const json_t *e)
{
	const char	*msg, *code;
	char		 clean[200];
	size_t		 i;
	int		 cls = FE_SERVER;

	msg = json_string_value(json_object_get(e, "message"));
	code = json_string_value(json_object_get(e, "code"));
	if (msg == NULL)
		msg = "error in stream";
	if (json_is_integer(json_object_get(e, "code")))
		cls = prov_classify(json_integer_value(json_object_get(e,
		    "code")), msg, strlen(msg));
	else if (code != NULL && strcmp(code, "context_length_exceeded") == 0)
		cls = FE_CONTEXT_OVERFLOW;
	else if (code != NULL && strcmp(code, "rate_limit_exceeded") == 0)
		cls = FE_RATE_LIMIT;
	for (i = 0; msg[i] != '\0' && i + 1 < sizeof(clean); i++)
		clean[i] = (msg[i] >= 0x20 && msg[i] < 0x7f) ? msg[i] : ' ';
	clean[i] = '\0';
	return prov_dec_fail(d, cls, "provider error: %s", clean);
}

static int
tool_delta(struct prov_dec *d, const json_t *calls, int whole)
{
	const json_t		*c, *fn, *a, *ix;
	struct prov_call	*pc;
	const char		*id;
	int64_t			 index;
	size_t			 i;
	char			*s;
	int			 rc;

	json_array_foreach(calls, i, c) {
		if (!json_is_object(c))
			return prov_dec_fail(d, FE_BAD_RESPONSE,
			    "tool call is not an object");
		ix = json_object_get(c, "index");
		id = json_string_value(json_object_get(c, "id"));
		if (json_is_integer(ix))
			index = json_integer_value(ix);
		else if (whole || id != NULL)
			index = 1000000 + d->ncalls;	/* a complete call */
		else if (d->ncalls > 0)
			index = d->calls[d->ncalls - 1].index;
		else
			index = 0;
		if ((pc = prov_call_get(d, index)) == NULL)
			return -1;
		fn = json_object_get(c, "function");
		if (prov_call_set(d, pc, id, json_string_value(
		    json_object_get(fn, "name"))) == -1)
			return -1;
		a = json_object_get(fn, "arguments");
		if (json_is_string(a))
			rc = prov_call_append(d, pc, json_string_value(a),
			    json_string_length(a));
		else if (a != NULL && !json_is_null(a)) {
			s = prov_dump(json_incref((json_t *)a));
			rc = prov_call_append(d, pc, s, strlen(s));
			free(s);
		} else
			rc = 0;
		if (rc == -1)
			return -1;
	}
	return 0;
}

static int
reasoning_text(struct prov_dec *d, const json_t *delta)
{
	const json_t	*v;

	v = json_object_get(delta, "reasoning_content");
	if (!json_is_string(v))
		v = json_object_get(delta, "reasoning");
	if (json_is_string(v))
		return prov_text(d, 1, json_string_value(v),
		    json_string_length(v));
	return 0;
}

static int
finish_reason(struct prov_dec *d, const json_t *ch)
{
	const char	*f;

	f = json_string_value(json_object_get(ch, "finish_reason"));
	if (f == NULL)
		return 0;
	snprintf(d->finish, sizeof(d->finish), "%s", f);
	return prov_calls_emit(d);
}

static int
oa_event(struct prov_dec *d, const char *event, const char *data,
    size_t len)
{
	json_t		*j, *ch, *delta, *v;
	json_error_t	 je;
	struct prov_fast fp;
	int		 rc = 0;

	if (d->ended)
		return 0;
	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		d->finished = 1;
		return prov_end(d);
	}
	if (prov_fast_enabled && prov_fast_scan(0, data, len, &fp) == 0)
		return prov_fast_text(d, &fp);
	j = json_loadb(data, len, 0, &je);
	if (!json_is_object(j)) {
		json_decref(j);
		return prov_dec_fail(d, FE_BAD_RESPONSE,
		    "malformed stream chunk: %s", je.text);
	}
	if (json_is_object(v = json_object_get(j, "error"))) {
		rc = error_object(d, v);
		goto out;
	}
	ch = json_array_get(json_object_get(j, "choices"), 0);
	if (json_is_object(ch)) {
		delta = json_object_get(ch, "delta");
		if (json_is_object(delta)) {
			if ((rc = reasoning_text(d, delta)) == -1)
				goto out;
			v = json_object_get(delta, "content");
			if (json_is_string(v) && (rc = prov_text(d, 0,
			    json_string_value(v), json_string_length(v))) == -1)
				goto out;
			v = json_object_get(delta, "tool_calls");
			if (json_is_array(v) &&
			    (rc = tool_delta(d, v, 0)) == -1)
				goto out;
		}
		if ((rc = finish_reason(d, ch)) == -1)
			goto out;
	}
	v = json_object_get(j, "usage");
	if (json_is_object(v))
		usage(d, v);
out:
	json_decref(j);
	return rc;
}

static int
oa_body(struct prov_dec *d, const char *body, size_t len)
{
	json_t		*j, *ch, *msg, *v;
	json_error_t	 je;
	int		 rc = -1;

	j = json_loadb(body, len, 0, &je);
	if (!json_is_object(j)) {
		json_decref(j);
		return prov_dec_fail(d, FE_BAD_RESPONSE,
		    "malformed response: %s", je.text);
	}
	if (json_is_object(v = json_object_get(j, "error"))) {
		rc = error_object(d, v);
		goto out;
	}
	ch = json_array_get(json_object_get(j, "choices"), 0);
	msg = json_object_get(ch, "message");
	if (!json_is_object(msg)) {
		prov_dec_fail(d, FE_BAD_RESPONSE, "response without a message");
		goto out;
	}
	if (reasoning_text(d, msg) == -1)
		goto out;
	v = json_object_get(msg, "content");
	if (json_is_string(v) && prov_text(d, 0, json_string_value(v),
	    json_string_length(v)) == -1)
		goto out;
	v = json_object_get(msg, "tool_calls");
	if (json_is_array(v) && tool_delta(d, v, 1) == -1)
		goto out;
	usage(d, json_object_get(j, "usage"));
	if (finish_reason(d, ch) == -1)
		goto out;
	d->finished = 1;
	rc = prov_end(d);
out:
	json_decref(j);
	return rc;
}

static int
oa_eof(struct prov_dec *d)
{
	if (d->ended)
		return 0;
	/* Some servers end the stream without [DONE]: a finish reason is
	 * enough to call the answer complete. */
	if (d->finish[0] != '\0')
		return prov_end(d);
	return prov_dec_fail(d, FE_NETWORK, "stream ended before the answer "
	    "was complete");
}

const struct prov_shape prov_openai = {
	.name = "openai",
	.path = "/chat/completions",
	.path_v1 = "/chat/completions",
	.build = oa_build,
	.auth = oa_auth,
	.headers = oa_headers,
	.ev = oa_event,
	.body = oa_body,
	.eof = oa_eof,
};
