/*
 * hermes-llm-fetch through its real process (tests/harness.h plays the
 * supervisor, this test plays the agent) against build/fakellm: both
 * API shapes streamed and not, every fault with its error class, the
 * channel still usable after each, retries with Retry-After, key
 * rotation, the fallback chain, cancel, backpressure, 100 concurrent
 * streams, and key custody (a canary key only in the auth header).
 *
 * B (build dir) from the environment, default "build".
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "tests/harness.h"

#define CANARY_OA	"sk-canary-7f3a9c1e5b2d4a6f8e0c"
#define CANARY_AN	"sk-ant-canary-19d8e7f6a5b4c3d2"
#define MAXC		8

struct fl {
	pid_t	 pid;
	int	 port;
};

struct res {
	uint64_t id;
	char	*text;
	size_t	 tlen;
	char	*reasoning;
	char	 calls[MAXC][3][256];
	int	 ncalls;
	int64_t	 in, out, cread, cwrite, rtok;
	int	 nusage;
	char	 finish[32];
	char	 provider[64];
	char	 eclass[32];
	char	 emsg[512];
	int	 nretry;
	uint64_t retry_ms[8];
	char	 retry_class[8][32];
	int	 over;
	char	 sig[64];
	char	*all;		/* every event's strings, for leak checks */
	size_t	 alen;
};

static char		 bdir[256];
static char		 home[] = "/tmp/hermes-fetch-test-XXXXXX";
static struct fl	 F1, F2;
static struct harness	*H, *H2;
static int		 AG, AG2;	/* our agent ends */
static struct ipc_rbuf	*RB, *RB2;
static uint64_t		 nextid = 1;

/* ---- fakellm --------------------------------------------------------- */

static struct fl
fl_start(const char *const *extra)
{
	struct fl	 f = { -1, 0 };
	char		 path[300], line[32], jpath[300];
	const char	*argv[16];
	int		 p[2], i = 0, n;
	ssize_t		 r;

	snprintf(path, sizeof(path), "%s/fakellm", bdir);
	snprintf(jpath, sizeof(jpath), "%s/journal-%d.jsonl", home,
	    (int)getpid());
	argv[i++] = path;
	argv[i++] = "-q";
	argv[i++] = "-p";
	argv[i++] = "0";
	while (extra != NULL && *extra != NULL && i < 14)
		argv[i++] = *extra++;
	argv[i] = NULL;
	assert_int_equal(pipe(p), 0);
	f.pid = fork();
	assert_true(f.pid >= 0);
	if (f.pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	n = 0;
	while (n < (int)sizeof(line) - 1 &&
	    (r = read(p[0], line + n, 1)) == 1 && line[n] != '\n')
		n++;
	line[n] = '\0';
	close(p[0]);
	f.port = atoi(line);
	assert_true(f.port > 0);
	return f;
}

static void
fl_stop(struct fl *f)
{
	int	 st;

	if (f->pid > 0) {
		kill(f->pid, SIGKILL);
		waitpid(f->pid, &st, 0);
		f->pid = -1;
	}
}

static size_t
collect_cb(char *p, size_t s, size_t n, void *arg)
{
	struct res	*r = arg;

	r->all = xreallocarray(r->all, r->alen + s * n + 1, 1);
	memcpy(r->all + r->alen, p, s * n);
	r->alen += s * n;
	r->all[r->alen] = '\0';
	return s * n;
}

/* POST/GET on fakellm's control endpoints; returns the body. */
static char *
fl_http(struct fl *f, const char *path, const char *body)
{
	CURL		*c;
	struct res	 r;
	char		 url[256];

	memset(&r, 0, sizeof(r));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", f->port, path);
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_cleanup(c);
	return r.all != NULL ? r.all : xstrdup("");
}

static void
fl_script(struct fl *f, const char *script)
{
	char	*s = fl_http(f, "/__script", script);

	assert_non_null(strstr(s, "\"ok\""));
	free(s);
}

static json_t *
fl_journal(struct fl *f)
{
	char	*s = fl_http(f, "/__journal", NULL);
	json_t	*j = json_loads(s, 0, NULL);

	free(s);
	assert_true(json_is_array(j));
	return j;
}

/* ---- the agent side -------------------------------------------------- */

static uint64_t
send_req(int fd, const char *json)
{
	struct ipc_buf	*b;
	uint64_t	 id = nextid++;

	b = ipc_new(IPC_MSG_FETCH_REQUEST, id);
	ipc_add_str(b, "request", json);
	assert_int_equal(ipc_send_fd(fd, b), 0);
	return id;
}

static void
send_cancel(int fd, uint64_t id)
{
	struct ipc_buf	*b = ipc_new(IPC_MSG_FETCH_CANCEL, id);

	assert_int_equal(ipc_send_fd(fd, b), 0);
}

static void
addall(struct res *r, const char *s, size_t n)
{
	r->all = xreallocarray(r->all, r->alen + n + 2, 1);
	memcpy(r->all + r->alen, s, n);
	r->alen += n;
	r->all[r->alen++] = '\n';
	r->all[r->alen] = '\0';
}

static void
copy(const struct ipc_msg *m, const char *k, char *out, size_t len)
{
	const char	*s;
	size_t		 n;

	if (ipc_get_str(m, k, &s, &n) == 0)
		snprintf(out, len, "%.*s", (int)n, s);
}

static void
apply(struct res *r, const struct ipc_msg *m)
{
	const char	*kind, *s;
	size_t		 klen, n;
	char		 k[32];
	uint64_t	 v;
	const char	*keys[] = { "text", "call_id", "name", "arguments",
	    "message", "finish_reason", "provider", "model", "error_class" };
	size_t		 i;

	assert_int_equal(ipc_get_str(m, "kind", &kind, &klen), 0);
	snprintf(k, sizeof(k), "%.*s", (int)klen, kind);
	for (i = 0; i < nitems(keys); i++)
		if (ipc_get_str(m, keys[i], &s, &n) == 0)
			addall(r, s, n);
	assert_int_equal(r->over, 0);	/* nothing after done/error */
	if (strcmp(k, "text") == 0 || strcmp(k, "reasoning") == 0) {
		assert_int_equal(ipc_get_str(m, "text", &s, &n), 0);
		assert_true(n > 0);
		if (strcmp(k, "text") == 0) {
			r->text = xreallocarray(r->text, r->tlen + n + 1, 1);
			memcpy(r->text + r->tlen, s, n);
			r->tlen += n;
			r->text[r->tlen] = '\0';
		} else {
			i = r->reasoning ? strlen(r->reasoning) : 0;
			r->reasoning = xreallocarray(r->reasoning, i + n + 1, 1);
			memcpy(r->reasoning + i, s, n);
			r->reasoning[i + n] = '\0';
		}
	} else if (strcmp(k, "signature") == 0) {
		copy(m, "text", r->sig, sizeof(r->sig));
	} else if (strcmp(k, "tool_call") == 0) {
		assert_true(r->ncalls < MAXC);
		copy(m, "call_id", r->calls[r->ncalls][0], 256);
		copy(m, "name", r->calls[r->ncalls][1], 256);
		copy(m, "arguments", r->calls[r->ncalls][2], 256);
		r->ncalls++;
	} else if (strcmp(k, "usage") == 0) {
		r->nusage++;
		r->in = ipc_get_u64(m, "input_tokens", &v) == 0 ? (int64_t)v : -1;
		r->out = ipc_get_u64(m, "output_tokens", &v) == 0 ? (int64_t)v :
		    -1;
		r->cread = ipc_get_u64(m, "cache_read", &v) == 0 ? (int64_t)v :
		    -1;
		r->cwrite = ipc_get_u64(m, "cache_write", &v) == 0 ?
		    (int64_t)v : -1;
		r->rtok = ipc_get_u64(m, "reasoning_tokens", &v) == 0 ?
		    (int64_t)v : -1;
	} else if (strcmp(k, "retry") == 0) {
		if (r->nretry < 8) {
			(void)ipc_get_u64(m, "retry_ms", &r->retry_ms[r->nretry]);
			copy(m, "error_class", r->retry_class[r->nretry], 32);
		}
		r->nretry++;
	} else if (strcmp(k, "done") == 0) {
		copy(m, "finish_reason", r->finish, sizeof(r->finish));
		copy(m, "provider", r->provider, sizeof(r->provider));
		r->over = 1;
	} else if (strcmp(k, "error") == 0) {
		copy(m, "error_class", r->eclass, sizeof(r->eclass));
		copy(m, "message", r->emsg, sizeof(r->emsg));
		r->over = 1;
	} else
		fail_msg("unknown event kind %s", k);
}

/* Wait for the end of request `id` (events for other ids: fatal). */
static void
wait_res(int fd, struct ipc_rbuf *rb, uint64_t id, struct res *r,
    int timeout_ms)
{
	struct ipc_msg	 m;
	char		 err[256];
	uint64_t	 deadline = now_ms() + (uint64_t)timeout_ms;
	int		 rc;

	memset(r, 0, sizeof(*r));
	r->id = id;
	while (!r->over) {
		assert_true(now_ms() < deadline);
		rc = ipc_recv_fd(fd, rb, (int)(deadline - now_ms()), &m, err,
		    sizeof(err));
		if (rc != 1)
			fail_msg("recv: %d %s", rc, err);
		assert_int_equal(m.type, IPC_MSG_FETCH_EVENT);
		assert_int_equal(m.id, id);
		apply(r, &m);
	}
}

static void
res_free(struct res *r)
{
	free(r->text);
	free(r->reasoning);
	free(r->all);
	memset(r, 0, sizeof(*r));
}

static void
run(const char *req, struct res *r, int timeout_ms)
{
	wait_res(AG, RB, send_req(AG, req), r, timeout_ms);
}

#define REQ_OA(extra) "{\"messages\":[{\"role\":\"system\",\"content\":" \
	"\"You are Hermes.\",\"cache\":true},{\"role\":\"user\",\"content\":" \
	"\"what is the weather in Paris?\"}],\"tools\":[{\"name\":" \
	"\"get_weather\",\"description\":\"w\",\"parameters\":{\"type\":" \
	"\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}]" extra "}"
#define REQ_AN(extra) REQ_OA(",\"provider\":\"anthropic\"" extra)

static const char weather[] =
    "{\"turns\":[{\"match\":\"weather\",\"repeat\":true,\"reasoning\":"
    "\"Paris, so \",\"text\":\"Let me check \\u00e9t\\u00e9. \","
    "\"tool_calls\":[{\"id\":\"call_w1\",\"name\":\"get_weather\","
    "\"arguments\":{\"city\":\"Paris\",\"unit\":\"celsius\"}},{\"id\":"
    "\"call_w2\",\"name\":\"clock\",\"arguments\":{}}],\"usage\":{"
    "\"input\":120,\"output\":9,\"cache_read\":64,\"cache_write\":5,"
    "\"reasoning\":3}}]}";

/* One normal request must still work: the channel is usable. */
static void
still_usable(void)
{
	struct res	 r;

	fl_script(&F1, weather);
	run(REQ_OA(""), &r, 10000);
	assert_string_equal(r.finish, "tool_calls");
	assert_int_equal(r.ncalls, 2);
	res_free(&r);
}

/* ---- setup ----------------------------------------------------------- */

static char *
config(int port, int retries)
{
	char	*s;

	xasprintf(&s, "{\"model\":{\"provider\":\"custom\",\"default\":"
	    "\"fake-oa\",\"base_url\":\"http://127.0.0.1:%d/v1\"},"
	    "\"fallback_providers\":[{\"provider\":\"anthropic\",\"model\":"
	    "\"fake-claude\",\"base_url\":\"http://127.0.0.1:%d\"}],"
	    "\"agent\":{\"api_max_retries\":%d},\"fetch\":{\"retry_base_ms\":"
	    "50,\"retry_max_ms\":1500}}", port, port, retries);
	return s;
}

static int
setup(void **state)
{
	const char	*b = getenv("B");
	const char	*secrets[] = { "OPENAI_API_KEY", CANARY_OA,
	    "ANTHROPIC_API_KEY", CANARY_AN, "TELEGRAM_BOT_TOKEN", "unused" };
	char		 path[300], *cfg;

	snprintf(bdir, sizeof(bdir), "%s", b != NULL ? b : "build");
	if (mkdtemp(home) == NULL)
		return -1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	F1 = fl_start(NULL);
	snprintf(path, sizeof(path), "%s/hermes-llm-fetch", bdir);
	cfg = config(F1.port, 2);
	H = harness_spawn(path, ROLE_FETCH, home, cfg, secrets, 3);
	free(cfg);
	if (H == NULL)
		return -1;
	AG = harness_peer(H, ROLE_AGENT);
	RB = ipc_rbuf_new(ROLE_AGENT, ROLE_FETCH, 0);
	return AG >= 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	char	 cmd[400];
	int	 st;

	if (H != NULL) {
		st = harness_free(H);
		/* Killed by us, not crashed. */
		if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL))
			fprintf(stderr, "worker ended with status %d\n", st);
	}
	ipc_rbuf_free(RB);
	fl_stop(&F1);
	fl_stop(&F2);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", home);
	return 0;
}

/* ---- tests ------------------------------------------------------------ */

static void
check_weather(struct res *r)
{
	assert_string_equal(r->text, "Let me check \xc3\xa9t\xc3\xa9. ");
	assert_string_equal(r->reasoning, "Paris, so ");
	assert_int_equal(r->ncalls, 2);
	assert_string_equal(r->calls[0][0], "call_w1");
	assert_string_equal(r->calls[0][1], "get_weather");
	assert_string_equal(r->calls[0][2],
	    "{\"city\":\"Paris\",\"unit\":\"celsius\"}");
	assert_string_equal(r->calls[1][1], "clock");
	assert_string_equal(r->calls[1][2], "{}");
	assert_int_equal(r->nusage, 1);
	assert_int_equal(r->in, 120);
	assert_int_equal(r->out, 9);
	assert_int_equal(r->cread, 64);
	assert_string_equal(r->finish, "tool_calls");
}

static void
test_openai_stream(void **state)
{
	struct res	 r;
	json_t		*j, *e, *body;

	fl_script(&F1, weather);
	run(REQ_OA(""), &r, 10000);
	check_weather(&r);
	assert_int_equal(r.rtok, 3);
	assert_string_equal(r.provider, "custom");
	res_free(&r);
	/* What fakellm received. */
	j = fl_journal(&F1);
	e = json_array_get(j, json_array_size(j) - 1);
	assert_string_equal(json_string_value(json_object_get(e, "path")),
	    "/v1/chat/completions");
	body = json_loads(json_string_value(json_object_get(e, "body")), 0,
	    NULL);
	assert_non_null(body);
	assert_string_equal(json_string_value(json_object_get(body, "model")),
	    "fake-oa");
	assert_true(json_is_true(json_object_get(body, "stream")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    e, "headers"), "authorization")), "Bearer " CANARY_OA);
	json_decref(body);
	json_decref(j);
}

static void
test_openai_body(void **state)
{
	struct res	 r;

	fl_script(&F1, weather);
	run(REQ_OA(",\"stream\":false"), &r, 10000);
	check_weather(&r);
	res_free(&r);
}

static void
test_anthropic_stream(void **state)
{
	struct res	 r;
	json_t		*j, *e, *body;

	fl_script(&F1, weather);
	run(REQ_AN(",\"model\":\"claude-x\",\"max_tokens\":100,"
	    "\"signatures\":true"), &r, 10000);
	check_weather(&r);
	assert_int_equal(r.cwrite, 5);
	assert_string_equal(r.provider, "anthropic");
	assert_string_equal(r.sig, "ZmFrZQ==");	/* the thinking signature */
	res_free(&r);
	j = fl_journal(&F1);
	e = json_array_get(j, json_array_size(j) - 1);
	assert_string_equal(json_string_value(json_object_get(e, "path")),
	    "/v1/messages");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    e, "headers"), "x-api-key")), CANARY_AN);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    e, "headers"), "anthropic-version")), "2023-06-01");
	body = json_loads(json_string_value(json_object_get(e, "body")), 0,
	    NULL);
	assert_string_equal(json_string_value(json_object_get(body, "model")),
	    "claude-x");
	assert_non_null(json_object_get(json_array_get(json_object_get(body,
	    "system"), 0), "cache_control"));
	json_decref(body);
	json_decref(j);
}

static void
test_anthropic_body(void **state)
{
	struct res	 r;

	fl_script(&F1, weather);
	run(REQ_AN(",\"stream\":false"), &r, 10000);
	check_weather(&r);
	assert_string_equal(r.sig, "");	/* not asked for */
	res_free(&r);
}

struct fault {
	const char	*script;
	const char	*eclass;	/* NULL: success */
	int		 retries_oa;	/* retry events from an OpenAI start */
	int		 retries_an;	/* ... from an Anthropic start; -2: skip */
};

static void
fault_case(const char *req, const struct fault *f, int retries)
{
	struct res	 r;

	fl_script(&F1, f->script);
	run(req, &r, 20000);
	if (f->eclass == NULL) {
		if (r.eclass[0] != '\0')
			fail_msg("script %s: %s (%s)", f->script, r.eclass,
			    r.emsg);
		assert_true(r.finish[0] != '\0');
	} else if (strcmp(r.eclass, f->eclass) != 0)
		fail_msg("script %s: class %s (%s), want %s", f->script,
		    r.eclass, r.emsg, f->eclass);
	if (r.nretry != retries)
		fail_msg("script %s: %d retry events, want %d", f->script,
		    r.nretry, retries);
	res_free(&r);
	still_usable();
}

/*
 * With api_max_retries 2 and the chain custom (OpenAI) -> anthropic:
 * retryable classes get 2 retries per entry, then the fallback (one
 * more "retry" event); auth falls back at once; context overflow never
 * retries; a failure after output was sent never retries.
 */
static const struct fault faults[] = {
	{ "{\"turns\":[{\"fault\":\"429\",\"retry_after\":0},"
	    "{\"text\":\"ok\"}]}", NULL, 1, 1 },
	{ "{\"turns\":[{\"fault\":\"500\"},{\"fault\":\"500\"},{\"fault\":"
	    "\"500\"},{\"text\":\"from fallback\"}]}", NULL, 3, -2 },
	{ "{\"turns\":[{\"fault\":\"500\",\"repeat\":true}]}", "server", 5,
	    2 },
	{ "{\"turns\":[{\"fault\":\"529\",\"repeat\":true}]}", "server", 5,
	    2 },
	{ "{\"turns\":[{\"fault\":\"429\",\"retry_after\":0,\"repeat\":"
	    "true}]}", "rate_limit", 5, 2 },
	{ "{\"turns\":[{\"fault\":\"401\",\"repeat\":true}]}", "auth", 1,
	    0 },
	{ "{\"turns\":[{\"fault\":\"context\",\"repeat\":true}]}",
	    "context_overflow", 0, 0 },
	{ "{\"turns\":[{\"fault\":\"slow\",\"first_byte_ms\":300,\"text\":"
	    "\"late\"}]}", NULL, 0, 0 },
	{ "{\"turns\":[{\"fault\":\"disconnect\",\"text\":\"a b c d e f g h "
	    "i j k l m n o p\",\"repeat\":true}]}", "network", 0, 0 },
	{ "{\"turns\":[{\"fault\":\"malformed\",\"text\":\"a b c\","
	    "\"repeat\":true}]}", "bad_response", 1, 0 },
	{ "{\"turns\":[{\"fault\":\"hugeline\",\"text\":\"a b c\","
	    "\"repeat\":true}]}", "bad_response", 1, 0 },
};

static void
test_faults_openai(void **state)
{
	size_t	 i;

	for (i = 0; i < nitems(faults); i++)
		fault_case(REQ_OA(""), &faults[i], faults[i].retries_oa);
}

static void
test_faults_anthropic(void **state)
{
	size_t	 i;

	/* Anthropic is the end of the chain: no fallback after it. */
	for (i = 0; i < nitems(faults); i++)
		if (faults[i].retries_an != -2)
			fault_case(REQ_AN(""), &faults[i],
			    faults[i].retries_an);
}

static void
test_faults_body(void **state)
{
	static const struct fault f[] = {
		{ "{\"turns\":[{\"fault\":\"malformed\",\"repeat\":true}]}",
		    "bad_response", 1, 0 },
		{ "{\"turns\":[{\"fault\":\"context\",\"repeat\":true}]}",
		    "context_overflow", 0, 0 },
		{ "{\"turns\":[{\"fault\":\"slow\",\"first_byte_ms\":200,"
		    "\"text\":\"late\"}]}", NULL, 0, 0 },
		{ "{\"turns\":[{\"fault\":\"429\",\"retry_after\":0},"
		    "{\"text\":\"ok\"}]}", NULL, 1, 1 },
	};
	size_t	 i;

	for (i = 0; i < nitems(f); i++) {
		fault_case(REQ_OA(",\"stream\":false"), &f[i], f[i].retries_oa);
		fault_case(REQ_AN(",\"stream\":false"), &f[i], f[i].retries_an);
	}
}

/* Redirects are not followed: a 307 is a bad response, and nothing was
 * asked of the path it pointed to. */
static void
test_no_redirect(void **state)
{
	struct res	 r;
	json_t		*j, *e;
	size_t		 i;

	fl_script(&F1, "{\"turns\":[{\"fault\":\"redirect\",\"repeat\":true}]}");
	run(REQ_AN(""), &r, 10000);
	assert_string_equal(r.eclass, "bad_response");
	assert_non_null(strstr(r.emsg, "307"));
	res_free(&r);
	j = fl_journal(&F1);
	json_array_foreach(j, i, e)
		assert_null(strstr(json_string_value(json_object_get(e,
		    "path")), "elsewhere"));
	json_decref(j);
	still_usable();
}

/* Retry-After: 1 is honoured (the backoff alone would be ~50 ms). */
static void
test_retry_after(void **state)
{
	struct res	 r;
	uint64_t	 t0 = now_ms();

	fl_script(&F1, "{\"turns\":[{\"fault\":\"429\",\"retry_after\":1},"
	    "{\"text\":\"after the wait\"}]}");
	run(REQ_OA(""), &r, 10000);
	assert_string_equal(r.text, "after the wait");
	assert_int_equal(r.nretry, 1);
	assert_int_equal(r.retry_ms[0], 1000);
	assert_string_equal(r.retry_class[0], "rate_limit");
	assert_true(now_ms() - t0 >= 1000);
	res_free(&r);
}

/* A stream that never ends stops at once on cancel. */
static void
test_cancel(void **state)
{
	struct ipc_msg	 m;
	struct res	 r;
	char		 err[256];
	uint64_t	 id, t0;
	int		 seen = 0;

	fl_script(&F1, "{\"turns\":[{\"fault\":\"endless\",\"text\":\"x\"}]}");
	id = send_req(AG, REQ_OA(""));
	memset(&r, 0, sizeof(r));
	while (seen < 5) {	/* the stream is flowing */
		assert_int_equal(ipc_recv_fd(AG, RB, 5000, &m, err,
		    sizeof(err)), 1);
		apply(&r, &m);
		seen++;
	}
	t0 = now_ms();
	send_cancel(AG, id);
	while (!r.over) {
		assert_int_equal(ipc_recv_fd(AG, RB, 2000, &m, err,
		    sizeof(err)), 1);
		apply(&r, &m);
	}
	assert_string_equal(r.eclass, "cancelled");
	assert_true(now_ms() - t0 < 1000);
	res_free(&r);
	/* Nothing more arrives for it. */
	assert_int_equal(ipc_recv_fd(AG, RB, 200, &m, err, sizeof(err)), 0);
	/* Cancel while waiting for a slow first byte. */
	fl_script(&F1, "{\"turns\":[{\"fault\":\"slow\",\"first_byte_ms\":"
	    "5000,\"text\":\"never\"}]}");
	id = send_req(AG, REQ_AN(""));
	usleep(100000);
	send_cancel(AG, id);
	wait_res(AG, RB, id, &r, 2000);
	assert_string_equal(r.eclass, "cancelled");
	res_free(&r);
	/* Cancel of an unknown id: ignored. */
	send_cancel(AG, 999999);
	still_usable();
}

/* 100 concurrent streams through one worker. */
static void
test_concurrent(void **state)
{
	struct res	*rs;
	struct ipc_msg	 m;
	char		 req[512], want[128], err[256];
	uint64_t	 first, deadline;
	int		 i, done = 0, n = 100;

	fl_script(&F1, "{\"turns\":[{\"echo\":true,\"text\":\"echo: \","
	    "\"chunk\":3,\"delay_ms\":5,\"repeat\":true}]}");
	rs = xcalloc((size_t)n, sizeof(*rs));
	first = nextid;
	for (i = 0; i < n; i++) {
		snprintf(req, sizeof(req), "{%s\"messages\":[{\"role\":\"user\","
		    "\"content\":\"stream number %d\"}]}", i % 2 ?
		    "\"provider\":\"anthropic\"," : "", i);
		rs[i].id = send_req(AG, req);
	}
	deadline = now_ms() + 30000;
	while (done < n) {
		assert_true(now_ms() < deadline);
		assert_int_equal(ipc_recv_fd(AG, RB, 10000, &m, err,
		    sizeof(err)), 1);
		assert_true(m.id >= first && m.id < first + (uint64_t)n);
		apply(&rs[m.id - first], &m);
		if (rs[m.id - first].over)
			done++;
	}
	for (i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "echo: stream number %d", i);
		if (rs[i].eclass[0] != '\0')
			fail_msg("stream %d: %s %s", i, rs[i].eclass,
			    rs[i].emsg);
		assert_string_equal(rs[i].text, want);
		assert_string_equal(rs[i].finish, "stop");
		res_free(&rs[i]);
	}
	free(rs);
}

static long
rss_kb(pid_t pid)
{
	char	 path[64], line[256];
	long	 kb, rss = -1;
	FILE	*fp;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			rss = kb;
	fclose(fp);
	return rss;
}

/* The agent stops reading: the worker pauses instead of queueing a
 * 30 MB answer (its RSS grows by little more than the 2 MB watermark);
 * it all arrives, intact, once the agent reads again. */
static void
test_backpressure(void **state)
{
	struct ipc_msg	 m;
	struct res	 r;
	char		 err[256];
	uint64_t	 id;
	long		 before, during;
	size_t		 i;

	fl_script(&F1, "{\"turns\":[{\"text_bytes\":30000000,\"chunk\":4000}]}");
	before = rss_kb(harness_pid(H));
	id = send_req(AG, REQ_OA(""));
	usleep(2500000);	/* the worker fills the socket and pauses */
	during = rss_kb(harness_pid(H));
	fprintf(stderr, "backpressure: worker RSS %ld kB before, %ld kB "
	    "while the agent does not read\n", before, during);
#ifndef HERMES_SANITIZE
	/* (ASan's quarantine and shadow memory make RSS meaningless.) */
	if (before > 0 && during - before > 12 * 1024)
		fail_msg("worker RSS grew by %ld kB while the agent did not "
		    "read", during - before);
#endif
	memset(&r, 0, sizeof(r));
	while (!r.over) {
		assert_int_equal(ipc_recv_fd(AG, RB, 20000, &m, err,
		    sizeof(err)), 1);
		assert_int_equal(m.id, id);
		apply(&r, &m);
	}
	assert_string_equal(r.eclass, "");
	assert_int_equal(r.tlen, 30000000);
	for (i = 0; i < r.tlen; i += 997)
		assert_true((r.text[i] >= 'a' && r.text[i] <= 'z') ||
		    r.text[i] == ' ');
	res_free(&r);
}

/* Bad requests are refused with a class, the worker lives on. */
static void
test_bad_requests(void **state)
{
	struct res	 r;
	const char	*bad[] = {
		"not json",
		"{\"messages\":[]}",
		"{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}",
		"{\"provider\":\"nowhere\",\"messages\":[{\"role\":\"user\","
		    "\"content\":\"x\"}]}",
		"{\"base_url\":\"https://evil.example\",\"messages\":[{\"role\":"
		    "\"user\",\"content\":\"x\"}]}",
	};
	size_t		 i;

	for (i = 0; i < nitems(bad); i++) {
		run(bad[i], &r, 5000);
		assert_string_equal(r.eclass, "bad_request");
		res_free(&r);
	}
	still_usable();
}

static int
contains(const char *hay, size_t n, const char *needle)
{
	return memmem(hay, n, needle, strlen(needle)) != NULL;
}

static void
scan_proc(void)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[300], buf[65536];
	const char	*files[] = { "environ", "cmdline" };
	ssize_t		 n;
	size_t		 i;
	int		 fd;

	d = opendir("/proc");
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		for (i = 0; i < nitems(files); i++) {
			snprintf(path, sizeof(path), "/proc/%s/%s", de->d_name,
			    files[i]);
			if ((fd = open(path, O_RDONLY)) == -1)
				continue;
			n = read(fd, buf, sizeof(buf));
			close(fd);
			if (n <= 0)
				continue;
			if (contains(buf, (size_t)n, "canary"))
				fail_msg("canary in %s", path);
		}
	}
	closedir(d);
}

/* The canary keys appear only in the auth header fakellm received: not
 * in bodies, events, logs (a verbose worker logs every attempt), nor any
 * process's environment or command line. */
static void
test_canary(void **state)
{
	const char	*secrets[] = { "OPENAI_API_KEY", CANARY_OA,
	    "ANTHROPIC_API_KEY", CANARY_AN };
	struct harness	*h;
	struct ipc_rbuf	*rb;
	struct res	 r;
	json_t		*j, *e, *hv;
	const char	*k, *s;
	char		 path[300], *cfg, *logs, line[256];
	size_t		 i;
	int		 fd, auth_seen = 0, found = 0;
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/hermes-llm-fetch", bdir);
	cfg = config(F1.port, 1);
	setenv("HARNESS_VERBOSE", "1", 1);
	h = harness_spawn(path, ROLE_FETCH, home, cfg, secrets, 2);
	unsetenv("HARNESS_VERBOSE");
	free(cfg);
	assert_non_null(h);
	fd = harness_peer(h, ROLE_AGENT);
	rb = ipc_rbuf_new(ROLE_AGENT, ROLE_FETCH, 0);

	/* Auth errors: the message must not echo the key. */
	fl_script(&F1, "{\"turns\":[{\"fault\":\"401\",\"repeat\":true}]}");
	wait_res(fd, rb, send_req(fd, REQ_OA("")), &r, 10000);
	assert_string_equal(r.eclass, "auth");
	assert_false(contains(r.all, r.alen, "canary"));
	res_free(&r);
	fl_script(&F1, weather);
	wait_res(fd, rb, send_req(fd, REQ_OA("")), &r, 10000);
	assert_false(contains(r.all, r.alen, "canary"));
	res_free(&r);
	wait_res(fd, rb, send_req(fd, REQ_AN("")), &r, 10000);
	assert_false(contains(r.all, r.alen, "canary"));
	res_free(&r);

	j = fl_journal(&F1);
	assert_true(json_array_size(j) > 0);
	json_array_foreach(j, i, e) {
		s = json_string_value(json_object_get(e, "body"));
		assert_non_null(s);
		assert_null(strstr(s, "canary"));
		assert_null(strstr(json_string_value(json_object_get(e,
		    "path")), "canary"));
		json_object_foreach(json_object_get(e, "headers"), k, hv) {
			s = json_string_value(hv);
			if (strstr(s, "canary") == NULL)
				continue;
			assert_true(strcmp(k, "authorization") == 0 ||
			    strcmp(k, "x-api-key") == 0);
			auth_seen++;
		}
	}
	assert_true(auth_seen > 0);
	json_decref(j);

	harness_pump(h, 300);
	logs = xstrdup(harness_logs(h) != NULL ? harness_logs(h) : "");
	assert_non_null(strstr(logs, "key OPENAI_API_KEY"));
	assert_null(strstr(logs, "canary"));
	free(logs);
	harness_pump(H, 100);
	if (harness_logs(H) != NULL)
		assert_null(strstr(harness_logs(H), "canary"));
	scan_proc();
	/* The key memory is locked (ASan makes mlock a no-op), and the
	 * worker is confined unless the sandbox is off. */
	snprintf(path, sizeof(path), "/proc/%d/status", (int)harness_pid(h));
	fp = fopen(path, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
#ifndef HERMES_SANITIZE
		if (strncmp(line, "VmLck:", 6) == 0) {
			found++;
			assert_null(strstr(line, " 0 kB"));
		}
#endif
		if (strncmp(line, "Seccomp:", 8) == 0 && (getenv(
		    "HERMES_SANDBOX") == NULL || strcmp(getenv(
		    "HERMES_SANDBOX"), "off") != 0)) {
			found++;
			assert_non_null(strstr(line, "2"));
		}
	}
	fclose(fp);
	(void)found;
	ipc_rbuf_free(rb);
	harness_free(h);
}

/* Two keys, fill_first: the first is refused (401), the second is used
 * from then on; round robin is covered by the journal order. */
static void
test_key_rotation(void **state)
{
	const char	*extra[] = { "-k", "sk-good-2", NULL };
	const char	*secrets[] = { "OPENAI_API_KEY", "sk-bad-1",
	    "OPENAI_API_KEY_2", "sk-good-2" };
	struct res	 r;
	json_t		*j;
	char		 path[300], *cfg;
	int		 i;

	F2 = fl_start(extra);
	snprintf(path, sizeof(path), "%s/hermes-llm-fetch", bdir);
	xasprintf(&cfg, "{\"model\":{\"provider\":\"openai\",\"model\":"
	    "\"gpt-fake\",\"base_url\":\"http://127.0.0.1:%d/v1\"},\"agent\":"
	    "{\"api_max_retries\":0}}", F2.port);
	H2 = harness_spawn(path, ROLE_FETCH, home, cfg, secrets, 2);
	free(cfg);
	assert_non_null(H2);
	AG2 = harness_peer(H2, ROLE_AGENT);
	RB2 = ipc_rbuf_new(ROLE_AGENT, ROLE_FETCH, 0);
	fl_script(&F2, "{\"turns\":[{\"text\":\"hello\",\"repeat\":true}]}");
	for (i = 0; i < 3; i++) {
		wait_res(AG2, RB2, send_req(AG2, "{\"messages\":[{\"role\":"
		    "\"user\",\"content\":\"hi\"}]}"), &r, 10000);
		assert_string_equal(r.text, "hello");
		assert_int_equal(r.nretry, i == 0 ? 1 : 0);
		res_free(&r);
	}
	j = fl_journal(&F2);
	assert_int_equal(json_array_size(j), 4);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_array_get(j, 0), "headers"), "authorization")),
	    "Bearer sk-bad-1");
	for (i = 1; i < 4; i++)
		assert_string_equal(json_string_value(json_object_get(
		    json_object_get(json_array_get(j, i), "headers"),
		    "authorization")), "Bearer sk-good-2");
	/* OpenAI proper uses max_completion_tokens; the journal body says
	 * which model went out. */
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_array_get(j, 1), "body")), "gpt-fake"));
	json_decref(j);
	harness_free(H2);
	H2 = NULL;
	ipc_rbuf_free(RB2);
	fl_stop(&F2);
}

/* Last: SHUTDOWN ends the worker cleanly (exit 0) after all the faults
 * above; in sanitizer builds LeakSanitizer runs at that exit and turns
 * any leak into a non-zero status. */
static void
test_clean_exit(void **state)
{
	struct ipc_buf	*b = ipc_new(IPC_MSG_SHUTDOWN, 0);
	char		 path[64], st[512];
	uint64_t	 deadline = now_ms() + 10000;
	FILE		*fp;
	int		 status, zombie = 0;

	assert_int_equal(ipc_send_fd(harness_sup_fd(H), b), 0);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)harness_pid(H));
	while (!zombie && now_ms() < deadline) {
		if ((fp = fopen(path, "r")) == NULL)
			break;
		if (fgets(st, sizeof(st), fp) != NULL &&
		    strstr(st, ") Z ") != NULL)
			zombie = 1;
		fclose(fp);
		if (!zombie)
			usleep(20000);
	}
	assert_true(zombie);
	status = harness_free(H);
	H = NULL;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("worker ended with status 0x%x", status);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_openai_stream),
		cmocka_unit_test(test_openai_body),
		cmocka_unit_test(test_anthropic_stream),
		cmocka_unit_test(test_anthropic_body),
		cmocka_unit_test(test_faults_openai),
		cmocka_unit_test(test_faults_anthropic),
		cmocka_unit_test(test_faults_body),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_no_redirect),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_canary),
		cmocka_unit_test(test_key_rotation),
		cmocka_unit_test(test_clean_exit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
