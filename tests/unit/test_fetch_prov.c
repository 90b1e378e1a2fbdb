/*
 * Provider shapes: request builders, stream and body decoders (tool-call
 * argument deltas split across chunks, at every byte boundary of the
 * stream), error classes, Retry-After, backoff.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ipc/util.h"
#include "workers/fetch/fetch.h"

/* ---- an event collector ------------------------------------------- */

struct col {
	char	 text[4096];
	char	 reasoning[1024];
	char	 calls[8][3][256];	/* id, name, args */
	int	 ncalls;
	struct fetch_usage usage;
	int	 nusage;
	char	 done[32];
	int	 ndone;
	int	 order_ok;		/* calls and usage before done */
	char	 sig[64];
	int	 nsig;
};

static void
c_text(void *a, int reasoning, const char *p, size_t n)
{
	struct col	*c = a;
	char		*buf = reasoning ? c->reasoning : c->text;
	size_t		 cap = reasoning ? sizeof(c->reasoning) : sizeof(c->text);

	assert_true(strlen(buf) + n < cap);
	strncat(buf, p, n);
}

static void
c_call(void *a, const char *id, const char *name, const char *args)
{
	struct col	*c = a;

	assert_true(c->ncalls < 8);
	assert_int_equal(c->ndone, 0);
	snprintf(c->calls[c->ncalls][0], 256, "%s", id);
	snprintf(c->calls[c->ncalls][1], 256, "%s", name);
	snprintf(c->calls[c->ncalls][2], 256, "%s", args);
	c->ncalls++;
}

static void
c_usage(void *a, const struct fetch_usage *u)
{
	struct col	*c = a;

	assert_int_equal(c->ndone, 0);
	c->usage = *u;
	c->nusage++;
}

static void
c_sig(void *a, const char *p, size_t n)
{
	struct col	*c = a;

	snprintf(c->sig, sizeof(c->sig), "%.*s", (int)n, p);
	c->nsig++;
}

static void
c_done(void *a, const char *reason)
{
	struct col	*c = a;

	snprintf(c->done, sizeof(c->done), "%s", reason);
	c->ndone++;
}

struct run {
	struct prov_dec		 d;
	const struct prov_shape	*shape;
	int			 rc;
};

static int
on_event(void *arg, const char *event, const char *data, size_t len)
{
	struct run	*r = arg;

	return r->shape->ev(&r->d, event, data, len);
}

/* Feed a stream in two pieces split at `cut`; returns the decoder rc. */
static int
decode(const struct prov_shape *shape, const char *stream, size_t cut,
    struct col *c, struct prov_dec *out)
{
	struct fetch_sink	 sink = { c_text, c_call, c_usage, c_done, c_sig,
	    c };
	struct run		 r;
	struct sse		 s;
	size_t			 n = strlen(stream);
	int			 rc;

	memset(c, 0, sizeof(*c));
	r.shape = shape;
	prov_dec_init(&r.d, &sink);
	sse_init(&s, SSE_MAX_LINE, on_event, &r);
	rc = sse_feed(&s, stream, cut);
	if (rc == 0)
		rc = sse_feed(&s, stream + cut, n - cut);
	if (rc == 0)
		rc = shape->eof(&r.d);
	sse_clear(&s);
	if (out != NULL)
		*out = r.d;
	prov_dec_clear(&r.d);
	return rc;
}

/* ---- OpenAI --------------------------------------------------------- */

static const char oa_stream[] =
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":"
    "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
    "\"finish_reason\":null}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":"
    "\"hmm\"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo \\u00e9\"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
    "\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":"
    "\"get_weather\",\"arguments\":\"\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
    "\"function\":{\"arguments\":\"{\\\"ci\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,"
    "\"id\":\"call_b\",\"type\":\"function\",\"function\":{\"name\":"
    "\"read_file\",\"arguments\":\"{\\\"path\\\":\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
    "\"function\":{\"arguments\":\"ty\\\": \\\"Paris\\\"}\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,"
    "\"function\":{\"arguments\":\" \\\"/tmp/x\\\"}\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
    "\"tool_calls\"}]}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":100,"
    "\"completion_tokens\":20,\"total_tokens\":120,"
    "\"prompt_tokens_details\":{\"cached_tokens\":64},"
    "\"completion_tokens_details\":{\"reasoning_tokens\":7}}}\n\n"
    "data: [DONE]\n\n";

static void
check_oa(struct col *c)
{
	assert_string_equal(c->text, "Hello \xc3\xa9");
	assert_string_equal(c->reasoning, "hmm");
	assert_int_equal(c->ncalls, 2);
	assert_string_equal(c->calls[0][0], "call_a");
	assert_string_equal(c->calls[0][1], "get_weather");
	assert_string_equal(c->calls[0][2], "{\"city\": \"Paris\"}");
	assert_string_equal(c->calls[1][0], "call_b");
	assert_string_equal(c->calls[1][1], "read_file");
	assert_string_equal(c->calls[1][2], "{\"path\": \"/tmp/x\"}");
	assert_int_equal(c->nusage, 1);
	assert_int_equal(c->usage.input, 100);
	assert_int_equal(c->usage.output, 20);
	assert_int_equal(c->usage.cache_read, 64);
	assert_int_equal(c->usage.cache_write, -1);
	assert_int_equal(c->usage.reasoning, 7);
	assert_int_equal(c->ndone, 1);
	assert_string_equal(c->done, "tool_calls");
}

static void
test_oa_stream(void **state)
{
	struct col	 c;
	size_t		 cut;

	for (cut = 0; cut <= strlen(oa_stream); cut++) {
		assert_int_equal(decode(&prov_openai, oa_stream, cut, &c,
		    NULL), 0);
		check_oa(&c);
	}
}

static void
test_oa_faults(void **state)
{
	struct col	 c;
	struct prov_dec	 d;

	/* Malformed JSON. */
	assert_int_equal(decode(&prov_openai, "data: {\"choices\":[\n\n", 0,
	    &c, &d), -1);
	assert_int_equal(d.eclass, FE_BAD_RESPONSE);
	/* Arguments that never become JSON. */
	assert_int_equal(decode(&prov_openai,
	    "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,"
	    "\"id\":\"x\",\"function\":{\"name\":\"f\",\"arguments\":"
	    "\"{\\\"a\\\":\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n", 0,
	    &c, &d), -1);
	assert_int_equal(d.eclass, FE_BAD_RESPONSE);
	assert_int_equal(c.ncalls, 0);
	/* Stream cut before any finish: a network error. */
	assert_int_equal(decode(&prov_openai,
	    "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n", 0,
	    &c, &d), -1);
	assert_int_equal(d.eclass, FE_NETWORK);
	assert_string_equal(c.text, "a");
	assert_int_equal(c.ndone, 0);
	/* An error object inside the stream. */
	assert_int_equal(decode(&prov_openai,
	    "data: {\"error\":{\"message\":\"This model's maximum context "
	    "length is 8192\",\"code\":\"context_length_exceeded\"}}\n\n", 0,
	    &c, &d), -1);
	assert_int_equal(d.eclass, FE_CONTEXT_OVERFLOW);
	/* Finish without [DONE] is complete; no arguments mean {}. */
	assert_int_equal(decode(&prov_openai,
	    "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,"
	    "\"id\":\"x\",\"function\":{\"name\":\"f\"}}]},"
	    "\"finish_reason\":\"tool_calls\"}]}\n\n", 0, &c, &d), 0);
	assert_int_equal(c.ncalls, 1);
	assert_string_equal(c.calls[0][2], "{}");
	assert_int_equal(c.ndone, 1);
	/* Too many calls. */
	{
		char	*big = NULL, *p;
		int	 i;
		size_t	 len = 0;

		for (i = 0; i < FETCH_MAX_TOOL_CALLS + 1; i++) {
			xasprintf(&p, "%sdata: {\"choices\":[{\"delta\":{"
			    "\"tool_calls\":[{\"index\":%d,\"id\":\"i%d\","
			    "\"function\":{\"name\":\"f\",\"arguments\":"
			    "\"{}\"}}]}}]}\n\n", big ? big : "", i, i);
			free(big);
			big = p;
		}
		len = strlen(big);
		assert_int_equal(decode(&prov_openai, big, len / 2, &c, &d),
		    -1);
		assert_int_equal(d.eclass, FE_BAD_RESPONSE);
		free(big);
	}
}

static void
test_oa_body(void **state)
{
	struct fetch_sink	 sink;
	struct prov_dec		 d;
	struct col		 c;
	const char		*body =
	    "{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[{"
	    "\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
	    "\"Sure.\",\"tool_calls\":[{\"id\":\"call_1\",\"type\":"
	    "\"function\",\"function\":{\"name\":\"terminal\",\"arguments\":"
	    "\"{\\\"command\\\":\\\"ls\\\"}\"}}]},\"finish_reason\":"
	    "\"tool_calls\"}],\"usage\":{\"prompt_tokens\":5,"
	    "\"completion_tokens\":3}}";

	memset(&c, 0, sizeof(c));
	sink = (struct fetch_sink){ c_text, c_call, c_usage, c_done,
	    c_sig, &c };
	prov_dec_init(&d, &sink);
	assert_int_equal(prov_openai.body(&d, body, strlen(body)), 0);
	prov_dec_clear(&d);
	assert_string_equal(c.text, "Sure.");
	assert_int_equal(c.ncalls, 1);
	assert_string_equal(c.calls[0][0], "call_1");
	assert_string_equal(c.calls[0][1], "terminal");
	assert_string_equal(c.calls[0][2], "{\"command\":\"ls\"}");
	assert_int_equal(c.usage.input, 5);
	assert_string_equal(c.done, "tool_calls");
}

/* ---- Anthropic ------------------------------------------------------ */

static const char an_stream[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
    "\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":"
    "\"claude\",\"stop_reason\":null,\"usage\":{\"input_tokens\":25,"
    "\"cache_creation_input_tokens\":10,\"cache_read_input_tokens\":90,"
    "\"output_tokens\":1}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
    "{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"thinking_delta\",\"thinking\":\"let me see\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"signature_delta\",\"signature\":\"abc\"}}\n\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: ping\n"
    "data: {\"type\": \"ping\"}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":"
    "{\"type\":\"text\",\"text\":\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"text_delta\",\"text\":\"Okay\"}}\n\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":"
    "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\","
    "\"input\":{}}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"{\\\"location\\\": \\\"Par\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"is\\\"}\"}}\n\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":2}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
    "\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":"
    "89}}\n\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n\n";

static void
test_an_stream(void **state)
{
	struct col	 c;
	size_t		 cut;

	for (cut = 0; cut <= strlen(an_stream); cut++) {
		assert_int_equal(decode(&prov_anthropic, an_stream, cut, &c,
		    NULL), 0);
		assert_string_equal(c.text, "Okay");
		assert_string_equal(c.reasoning, "let me see");
		assert_int_equal(c.nsig, 1);
		assert_string_equal(c.sig, "abc");
		assert_int_equal(c.ncalls, 1);
		assert_string_equal(c.calls[0][0], "toolu_1");
		assert_string_equal(c.calls[0][1], "get_weather");
		assert_string_equal(c.calls[0][2], "{\"location\": \"Paris\"}");
		/* 25 uncached + 90 read + 10 written. */
		assert_int_equal(c.usage.input, 125);
		assert_int_equal(c.usage.output, 89);
		assert_int_equal(c.usage.cache_read, 90);
		assert_int_equal(c.usage.cache_write, 10);
		assert_string_equal(c.done, "tool_calls");
		assert_int_equal(c.ndone, 1);
	}
}

static void
test_an_faults(void **state)
{
	struct col	 c;
	struct prov_dec	 d;

	assert_int_equal(decode(&prov_anthropic,
	    "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
	    "\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n", 0, &c,
	    &d), -1);
	assert_int_equal(d.eclass, FE_SERVER);
	assert_int_equal(decode(&prov_anthropic,
	    "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
	    "\"invalid_request_error\",\"message\":\"prompt is too long: "
	    "300000 tokens > 200000 maximum\"}}\n\n", 0, &c, &d), -1);
	assert_int_equal(d.eclass, FE_CONTEXT_OVERFLOW);
	assert_int_equal(decode(&prov_anthropic,
	    "event: message_start\ndata: {\"type\":\"message_start\","
	    "\"message\":{}}\n\n", 0, &c, &d), -1);
	assert_int_equal(d.eclass, FE_NETWORK);	/* no message_stop */
	assert_int_equal(decode(&prov_anthropic,
	    "event: content_block_delta\ndata: {\"type\":"
	    "\"content_block_delta\",\"index\":3,\"delta\":{\"type\":"
	    "\"input_json_delta\",\"partial_json\":\"{\"}}\n\n", 0, &c, &d),
	    -1);
	assert_int_equal(d.eclass, FE_BAD_RESPONSE);
	assert_int_equal(decode(&prov_anthropic, "data: {oops\n\n", 0, &c,
	    &d), -1);
	assert_int_equal(d.eclass, FE_BAD_RESPONSE);
}

static void
test_an_body(void **state)
{
	struct fetch_sink	 sink;
	struct prov_dec		 d;
	struct col		 c;
	const char		*body =
	    "{\"id\":\"msg\",\"type\":\"message\",\"role\":\"assistant\","
	    "\"content\":[{\"type\":\"thinking\",\"thinking\":\"hm\","
	    "\"signature\":\"c2ln\"},{\"type\":\"text\",\"text\":\"Hi\"},"
	    "{\"type\":\"tool_use\",\"id\":\"toolu_9\",\"name\":\"memory\",\"input\":"
	    "{\"action\":\"add\"}}],\"stop_reason\":\"tool_use\",\"usage\":"
	    "{\"input_tokens\":12,\"output_tokens\":6}}";

	memset(&c, 0, sizeof(c));
	sink = (struct fetch_sink){ c_text, c_call, c_usage, c_done,
	    c_sig, &c };
	prov_dec_init(&d, &sink);
	assert_int_equal(prov_anthropic.body(&d, body, strlen(body)), 0);
	prov_dec_clear(&d);
	assert_string_equal(c.text, "Hi");
	assert_string_equal(c.reasoning, "hm");
	assert_string_equal(c.sig, "c2ln");
	assert_int_equal(c.ncalls, 1);
	assert_string_equal(c.calls[0][0], "toolu_9");
	assert_string_equal(c.calls[0][2], "{\"action\":\"add\"}");
	assert_int_equal(c.usage.output, 6);
	assert_string_equal(c.done, "tool_calls");
}

/* ---- builders ------------------------------------------------------- */

static const char neutral[] =
    "{\"messages\":["
    "{\"role\":\"system\",\"content\":\"You are Hermes.\",\"cache\":true},"
    "{\"role\":\"user\",\"content\":\"weather?\"},"
    "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"id\":"
    "\"call_1\",\"name\":\"get_weather\",\"arguments\":"
    "\"{\\\"city\\\":\\\"Paris\\\"}\"},{\"id\":\"call_2\",\"name\":\"clock\","
    "\"arguments\":{}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"sunny\"},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":\"noon\","
    "\"cache\":true}],"
    "\"tools\":[{\"name\":\"get_weather\",\"description\":\"Weather\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":"
    "{\"type\":\"string\"}}}}],"
    "\"max_tokens\":1000,\"temperature\":0.5,\"reasoning_effort\":\"high\"}";

static json_t *
build(const struct prov_shape *shape, const char *provider, int stream)
{
	struct prov_opts o = { "m-1", provider, stream, 0, 0 };
	json_t		*req, *out;
	char		*body, err[128];

	req = json_loads(neutral, 0, NULL);
	assert_non_null(req);
	o.cache_envelope = strcmp(provider, "openrouter") == 0;
	assert_int_equal(shape->build(req, &o, &body, err, sizeof(err)), 0);
	out = json_loads(body, 0, NULL);
	assert_non_null(out);
	free(body);
	json_decref(req);
	return out;
}

static void
test_build_openai(void **state)
{
	json_t	*r, *m, *c;

	r = build(&prov_openai, "custom", 1);
	assert_string_equal(json_string_value(json_object_get(r, "model")),
	    "m-1");
	assert_true(json_is_true(json_object_get(r, "stream")));
	assert_true(json_is_true(json_object_get(json_object_get(r,
	    "stream_options"), "include_usage")));
	m = json_object_get(r, "messages");
	assert_int_equal(json_array_size(m), 5);
	c = json_array_get(json_object_get(json_array_get(m, 2),
	    "tool_calls"), 1);
	assert_string_equal(json_string_value(json_object_get(c, "type")),
	    "function");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    c, "function"), "arguments")), "{}");
	assert_string_equal(json_string_value(json_object_get(json_array_get(m,
	    3), "tool_call_id")), "call_1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_array_get(json_object_get(r, "tools"), 0), "function"),
	    "name")), "get_weather");
	assert_int_equal(json_integer_value(json_object_get(r, "max_tokens")),
	    1000);
	assert_string_equal(json_string_value(json_object_get(r,
	    "reasoning_effort")), "high");
	/* Plain OpenAI-compatible: no cache envelope. */
	assert_true(json_is_string(json_object_get(json_array_get(m, 0),
	    "content")));
	json_decref(r);

	r = build(&prov_openai, "openrouter", 0);
	assert_null(json_object_get(r, "stream_options"));
	m = json_object_get(r, "messages");
	c = json_array_get(json_object_get(json_array_get(m, 0), "content"),
	    0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    c, "cache_control"), "type")), "ephemeral");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    r, "reasoning"), "effort")), "high");
	json_decref(r);
}

static void
test_build_anthropic(void **state)
{
	json_t	*r, *m, *b;

	r = build(&prov_anthropic, "anthropic", 1);
	/* System split out with its cache marker. */
	b = json_array_get(json_object_get(r, "system"), 0);
	assert_string_equal(json_string_value(json_object_get(b, "text")),
	    "You are Hermes.");
	assert_non_null(json_object_get(b, "cache_control"));
	m = json_object_get(r, "messages");
	/* user, assistant (tool_use x2, empty text dropped), user (two
	 * tool_results merged). */
	assert_int_equal(json_array_size(m), 3);
	b = json_object_get(json_array_get(m, 1), "content");
	assert_int_equal(json_array_size(b), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(b,
	    0), "type")), "tool_use");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_array_get(b, 0), "input"), "city")), "Paris");
	b = json_object_get(json_array_get(m, 2), "content");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    m, 2), "role")), "user");
	assert_int_equal(json_array_size(b), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(b,
	    1), "tool_use_id")), "call_2");
	assert_non_null(json_object_get(json_array_get(b, 1),
	    "cache_control"));
	/* reasoning_effort "high", but the tool loop's assistant message
	 * has no signed reasoning: thinking stays off, temperature stays. */
	assert_null(json_object_get(r, "thinking"));
	assert_int_equal(json_integer_value(json_object_get(r, "max_tokens")),
	    1000);
	assert_non_null(json_object_get(r, "temperature"));
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(r, "tools"), 0), "name")), "get_weather");
	assert_non_null(json_object_get(json_array_get(json_object_get(r,
	    "tools"), 0), "input_schema"));
	json_decref(r);
}

/* Thinking: signed reasoning goes back as a thinking block; an unsigned
 * one in the current tool loop turns thinking off for the request. */
static void
test_build_thinking(void **state)
{
	struct prov_opts o = { "c", "anthropic", 1, 0, 0 };
	const char	*signed_req = "{\"reasoning_effort\":\"high\","
	    "\"max_tokens\":1000,\"temperature\":0.3,"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
	    "{\"role\":\"assistant\",\"reasoning\":\"think\","
	    "\"reasoning_signature\":\"SIG\",\"tool_calls\":[{\"id\":\"t1\","
	    "\"name\":\"f\",\"arguments\":\"{}\"}]},{\"role\":\"tool\","
	    "\"tool_call_id\":\"t1\",\"content\":\"r\"}]}";
	json_t		*req, *out, *b;
	char		*body, err[128], *unsigned_req;

	req = json_loads(signed_req, 0, NULL);
	assert_int_equal(prov_anthropic.build(req, &o, &body, err,
	    sizeof(err)), 0);
	out = json_loads(body, 0, NULL);
	free(body);
	b = json_array_get(json_object_get(json_array_get(json_object_get(out,
	    "messages"), 1), "content"), 0);
	assert_string_equal(json_string_value(json_object_get(b, "type")),
	    "thinking");
	assert_string_equal(json_string_value(json_object_get(b, "signature")),
	    "SIG");
	/* Budget 16384 > max_tokens 1000: max_tokens grows; no
	 * temperature with thinking on. */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(out,
	    "thinking"), "budget_tokens")), 16384);
	assert_int_equal(json_integer_value(json_object_get(out,
	    "max_tokens")), 17384);
	assert_null(json_object_get(out, "temperature"));
	json_decref(out);
	json_decref(req);

	unsigned_req = xstrdup(signed_req);
	memcpy(strstr(unsigned_req, "reasoning_signature"), "reasoning_signaturX",
	    19);
	req = json_loads(unsigned_req, 0, NULL);
	free(unsigned_req);
	assert_int_equal(prov_anthropic.build(req, &o, &body, err,
	    sizeof(err)), 0);
	out = json_loads(body, 0, NULL);
	free(body);
	assert_null(json_object_get(out, "thinking"));
	b = json_array_get(json_object_get(json_array_get(json_object_get(out,
	    "messages"), 1), "content"), 0);
	assert_string_equal(json_string_value(json_object_get(b, "type")),
	    "tool_use");
	json_decref(out);
	json_decref(req);
}

static void
test_build_refuses(void **state)
{
	struct prov_opts o = { "m", "custom", 1, 0, 0 };
	const char	*bad[] = {
		"{}",
		"{\"messages\":[]}",
		"{\"messages\":[{\"content\":\"x\"}]}",
		"{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}",
		"{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}",
		"{\"messages\":[{\"role\":\"user\",\"content\":5}]}",
	};
	json_t		*req;
	char		*body, err[128];
	size_t		 i;

	for (i = 0; i < nitems(bad); i++) {
		req = json_loads(bad[i], 0, NULL);
		assert_non_null(req);
		assert_int_equal(prov_openai.build(req, &o, &body, err,
		    sizeof(err)), -1);
		assert_int_equal(prov_anthropic.build(req, &o, &body, err,
		    sizeof(err)), -1);
		json_decref(req);
	}
}

static void
test_auth(void **state)
{
	char	 h[2][512];

	assert_int_equal(prov_openai.auth("sk-test", h, 2), 1);
	assert_string_equal(h[0], "Authorization: Bearer sk-test");
	assert_int_equal(prov_anthropic.auth("sk-ant", h, 2), 1);
	assert_string_equal(h[0], "x-api-key: sk-ant");
	assert_int_equal(prov_openai.auth("", h, 2), 0);
}

/* ---- errors and backoff --------------------------------------------- */

static void
test_classify(void **state)
{
	const char	*ovf = "{\"error\":{\"message\":\"This model's maximum "
	    "context length is 4096 tokens\",\"code\":"
	    "\"context_length_exceeded\"}}";
	char		 msg[128];

	assert_int_equal(prov_classify(401, "", 0), FE_AUTH);
	assert_int_equal(prov_classify(403, "", 0), FE_AUTH);
	assert_int_equal(prov_classify(429, "", 0), FE_RATE_LIMIT);
	assert_int_equal(prov_classify(500, "", 0), FE_SERVER);
	assert_int_equal(prov_classify(529, "", 0), FE_SERVER);
	assert_int_equal(prov_classify(413, "", 0), FE_CONTEXT_OVERFLOW);
	assert_int_equal(prov_classify(400, ovf, strlen(ovf)),
	    FE_CONTEXT_OVERFLOW);
	assert_int_equal(prov_classify(400, "{}", 2), FE_BAD_REQUEST);
	prov_errmsg(400, ovf, strlen(ovf), msg, sizeof(msg));
	assert_string_equal(msg, "HTTP 400: This model's maximum context "
	    "length is 4096 tokens");
	prov_errmsg(502, "<html>\n", 7, msg, sizeof(msg));
	assert_string_equal(msg, "HTTP 502");
	assert_true(fetch_eclass_retryable(FE_RATE_LIMIT));
	assert_true(fetch_eclass_retryable(FE_NETWORK));
	assert_false(fetch_eclass_retryable(FE_AUTH));
	assert_false(fetch_eclass_retryable(FE_CONTEXT_OVERFLOW));
	assert_string_equal(fetch_eclass_name(FE_CONTEXT_OVERFLOW),
	    "context_overflow");
}

static void
test_backoff(void **state)
{
	/* No jitter: doubling from base, capped. */
	assert_int_equal(prov_backoff_ms(1, 100, 10000, 0, -1, 0.5), 100);
	assert_int_equal(prov_backoff_ms(2, 100, 10000, 0, -1, 0.5), 200);
	assert_int_equal(prov_backoff_ms(4, 100, 10000, 0, -1, 0.5), 800);
	assert_int_equal(prov_backoff_ms(30, 100, 10000, 0, -1, 0.5), 10000);
	/* Jitter 0.5: within [0.75, 1.25] of the step. */
	assert_int_equal(prov_backoff_ms(1, 1000, 60000, 0.5, -1, 0), 750);
	assert_int_equal(prov_backoff_ms(1, 1000, 60000, 0.5, -1, 0.999),
	    1249);
	/* Retry-After wins when longer, capped at max. */
	assert_int_equal(prov_backoff_ms(1, 100, 10000, 0, 3000, 0.5), 3000);
	assert_int_equal(prov_backoff_ms(1, 100, 10000, 0, 99000, 0.5),
	    10000);
	assert_int_equal(prov_backoff_ms(3, 1000, 10000, 0, 10, 0.5), 4000);
}

static void
test_retry_after(void **state)
{
	time_t	 now = 1700000000;	/* Tue, 14 Nov 2023 22:13:20 GMT */

	assert_int_equal(prov_retry_after_ms("2", now), 2000);
	assert_int_equal(prov_retry_after_ms(" 0 ", now), 0);
	assert_int_equal(prov_retry_after_ms("Tue, 14 Nov 2023 22:13:25 GMT",
	    now), 5000);
	assert_int_equal(prov_retry_after_ms("Tue, 14 Nov 2023 22:13:00 GMT",
	    now), 0);
	assert_int_equal(prov_retry_after_ms("soon", now), -1);
	assert_int_equal(prov_retry_after_ms("-5", now), -1);
	assert_int_equal(prov_retry_after_ms("99999999999", now), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oa_stream),
		cmocka_unit_test(test_oa_faults),
		cmocka_unit_test(test_oa_body),
		cmocka_unit_test(test_an_stream),
		cmocka_unit_test(test_an_faults),
		cmocka_unit_test(test_an_body),
		cmocka_unit_test(test_build_openai),
		cmocka_unit_test(test_build_anthropic),
		cmocka_unit_test(test_build_thinking),
		cmocka_unit_test(test_build_refuses),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_retry_after),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
