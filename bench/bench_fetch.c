/*
 * llm-fetch benchmarks, each against a floor measured in the same run:
 *
 * 1. Per-chunk cost of the worker's hot path: one streamed chunk through
 *    the SSE parser, the provider decoder and the re-encoding as a
 *    FETCH_EVENT frame (unbatched: one frame per chunk, the worst case),
 *    vs jansson parsing the same chunk's JSON alone.
 * 2. A ~10 MB SSE stream from fakellm through a real hermes-llm-fetch to
 *    this process acting as the agent (decoding every event), vs the
 *    `curl` CLI fetching the same stream from the same fakellm.
 * 3. Per-token latency: fakellm writes its clock into each delta as it
 *    sends it; the time until the agent (this process) has the event,
 *    vs until libcurl alone, in this process, has the bytes.
 *
 *	bench_fetch [runs]	(B: build dir, default "build")
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ipc/ipc.h"
#include "ipc/limits.h"
#include "ipc/util.h"
#include "tests/harness.h"
#include "workers/fetch/fetch.h"

#define CHUNKS		100000
#define STREAM_TEXT	3800000		/* text bytes: ~10 MB of SSE */

static int
cmp_d(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return v[n / 2];
}

/* ---- 1. per chunk ----------------------------------------------------- */

struct pc {
	struct prov_dec		 d;
	const struct prov_shape	*shape;
	uint64_t		 id;
	size_t			 bytes;
};

static struct pc	*PC;

static void
pc_text(void *a, int reasoning, const char *p, size_t n)
{
	struct ipc_buf	*b;
	size_t		 len;

	/* What the worker does per event: one FETCH_EVENT frame. */
	b = ipc_new(IPC_MSG_FETCH_EVENT, PC->id);
	ipc_add_str(b, "kind", reasoning ? "reasoning" : "text");
	ipc_add_strn(b, "text", p, n);
	(void)ipc_buf_data(b, &len);
	PC->bytes += len;
	ipc_buf_free(b);
}

static void
pc_call(void *a, const char *id, const char *name, const char *args)
{
}

static void
pc_usage(void *a, const struct fetch_usage *u)
{
}

static void
pc_done(void *a, const char *f)
{
}

static int
pc_ev(void *arg, const char *event, const char *data, size_t len)
{
	struct pc	*p = arg;

	return p->shape->ev(&p->d, event, data, len);
}

static const char oa_chunk[] =
    "data: {\"id\":\"chatcmpl-8x2\",\"object\":\"chat.completion.chunk\","
    "\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"system_fingerprint\":"
    "\"fp_1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" token\"},"
    "\"logprobs\":null,\"finish_reason\":null}]}\n\n";
static const char an_chunk[] =
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"text_delta\",\"text\":\" token\"}}\n\n";

static void
per_chunk(const char *label, const struct prov_shape *shape,
    const char *chunk, const char *json, int runs)
{
	struct fetch_sink	 sink = { pc_text, pc_call, pc_usage, pc_done,
	    NULL, NULL };
	struct pc		 p;
	struct sse		 s;
	json_t			*j;
	json_error_t		 je;
	double			*ours, *ref, mo, mr;
	uint64_t		 t0;
	size_t			 clen = strlen(chunk), jlen = strlen(json);
	int			 r, i;

	ours = xcalloc((size_t)runs, sizeof(double));
	ref = xcalloc((size_t)runs, sizeof(double));
	for (r = 0; r < runs; r++) {
		memset(&p, 0, sizeof(p));
		p.shape = shape;
		p.id = 7;
		PC = &p;
		prov_dec_init(&p.d, &sink);
		sse_init(&s, SSE_MAX_LINE, pc_ev, &p);
		t0 = now_us();
		for (i = 0; i < CHUNKS; i++)
			if (sse_feed(&s, chunk, clen) == -1)
				fatalx("bench: chunk refused");
		ours[r] = (double)(now_us() - t0) * 1000.0 / CHUNKS;
		sse_clear(&s);
		prov_dec_clear(&p.d);
		if (p.bytes == 0)
			fatalx("bench: nothing encoded");

		t0 = now_us();
		for (i = 0; i < CHUNKS; i++) {
			if ((j = json_loadb(json, jlen, 0, &je)) == NULL)
				fatalx("bench: json");
			json_decref(j);
		}
		ref[r] = (double)(now_us() - t0) * 1000.0 / CHUNKS;
	}
	mo = median(ours, runs);
	mr = median(ref, runs);
	printf("BENCH\tfetch per-chunk parse+re-encode (%s, %zu B chunk)\t"
	    "%.0f ns\t%.0f ns\t%.2f\tmedian of %d x %d chunks (min %.0f max "
	    "%.0f); reference: jansson parse of the chunk's JSON alone\n",
	    label, clen, mo, mr, mo / mr, runs, CHUNKS, ours[0],
	    ours[runs - 1]);
	free(ours);
	free(ref);
}

/* ---- 2. a 10 MB stream ------------------------------------------------ */

static pid_t
start_fakellm(const char *bdir, int *port)
{
	char	 path[300], line[32];
	int	 p[2], n = 0;
	pid_t	 pid;

	snprintf(path, sizeof(path), "%s/fakellm", bdir);
	if (pipe(p) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl(path, path, "-q", "-p", "0", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (n < (int)sizeof(line) - 1 && read(p[0], line + n, 1) == 1 &&
	    line[n] != '\n')
		n++;
	line[n] = '\0';
	close(p[0]);
	*port = atoi(line);
	if (*port <= 0)
		fatalx("fakellm did not start");
	return pid;
}

static int
sh(const char *cmd, char *out, size_t outlen)
{
	FILE	*fp;
	size_t	 n;

	if ((fp = popen(cmd, "r")) == NULL)
		return -1;
	n = fread(out, 1, outlen - 1, fp);
	out[n] = '\0';
	return pclose(fp) == 0 ? 0 : -1;
}

static void
stream(const char *bdir, int runs)
{
	struct harness	*h;
	struct ipc_rbuf	*rb;
	struct ipc_msg	 m;
	struct ipc_buf	*b;
	double		*ours, *ref, *ttfb, sse_bytes = 0, mo, mr, first;
	char		 cmd[1024], out[256], err[256], path[300], *cfg, *script;
	char		 home[] = "/tmp/bench-fetch-XXXXXX";
	const char	*s, *req = "{\"messages\":[{\"role\":\"user\",\"content\":"
	    "\"stream please\"}]}";
	size_t		 n, got;
	uint64_t	 t0, id = 1;
	int		 port, r, over, st;
	pid_t		 fl;
	double		 secs;

	ours = xcalloc((size_t)runs, sizeof(double));
	ref = xcalloc((size_t)runs, sizeof(double));
	ttfb = xcalloc((size_t)runs, sizeof(double));
	fl = start_fakellm(bdir, &port);
	xasprintf(&script, "{\"turns\":[{\"text_bytes\":%d,\"chunk\":100,"
	    "\"repeat\":true}]}", STREAM_TEXT);
	snprintf(cmd, sizeof(cmd), "curl -sf -o /dev/null "
	    "http://127.0.0.1:%d/__script -d '%s'", port, script);
	if (sh(cmd, out, sizeof(out)) == -1)
		fatalx("cannot load the fakellm script (is curl installed?)");
	free(script);

	if (mkdtemp(home) == NULL)
		fatal("mkdtemp");
	snprintf(path, sizeof(path), "%s/hermes-llm-fetch", bdir);
	xasprintf(&cfg, "{\"model\":{\"provider\":\"custom\",\"default\":"
	    "\"bench\",\"base_url\":\"http://127.0.0.1:%d/v1\"}}", port);
	h = harness_spawn(path, ROLE_FETCH, home, cfg, NULL, 0);
	free(cfg);
	if (h == NULL)
		fatalx("cannot start %s", path);
	rb = ipc_rbuf_new(ROLE_AGENT, ROLE_FETCH, 0);
	{
		int	 fd = harness_peer(h, ROLE_AGENT);

		for (r = 0; r < runs; r++) {
			/* The reference: curl, same request, same server. */
			snprintf(cmd, sizeof(cmd), "curl -sN -o /dev/null -w "
			    "'%%{size_download} %%{time_total} "
			    "%%{time_starttransfer}' -H "
			    "'Content-Type: application/json' -d "
			    "'{\"model\":\"bench\",\"stream\":true,\"messages\":"
			    "[{\"role\":\"user\",\"content\":\"stream please\"}]}' "
			    "http://127.0.0.1:%d/v1/chat/completions", port);
			if (sh(cmd, out, sizeof(out)) == -1 ||
			    sscanf(out, "%lf %lf %lf", &sse_bytes, &secs,
			    &first) != 3)
				fatalx("curl failed: %s", out);
			ref[r] = secs * 1000.0;
			ttfb[r] = first * 1000.0;

			b = ipc_new(IPC_MSG_FETCH_REQUEST, id);
			ipc_add_str(b, "request", req);
			t0 = now_us();
			if (ipc_send_fd(fd, b) == -1)
				fatal("send");
			over = 0;
			got = 0;
			while (!over) {
				if (ipc_recv_fd(fd, rb, 30000, &m, err,
				    sizeof(err)) != 1)
					fatalx("worker: %s", err);
				if (ipc_get_str(&m, "kind", &s, &n) == -1)
					continue;
				if (n == 4 && memcmp(s, "text", 4) == 0 &&
				    ipc_get_str(&m, "text", &s, &n) == 0)
					got += n;
				else if ((n == 4 && memcmp(s, "done", 4) == 0) ||
				    (n == 5 && memcmp(s, "error", 5) == 0))
					over = 1;
			}
			ours[r] = (double)(now_us() - t0) / 1000.0;
			if (got != STREAM_TEXT)
				fatalx("llm-fetch delivered %zu of %d bytes",
				    got, STREAM_TEXT);
			id++;
		}
	}
	mo = median(ours, runs);
	mr = median(ref, runs);
	first = median(ttfb, runs);
	printf("BENCH\tfetch %.1f MB SSE stream through llm-fetch to the "
	    "agent\t%.1f ms\t%.1f ms\t%.2f\tmedian of %d (min %.1f max "
	    "%.1f); reference: curl CLI fetching the same stream from the "
	    "same fakellm (its time_total); both include fakellm's %.0f ms "
	    "before the first byte (curl time_starttransfer); after it "
	    "%.0f ms vs %.0f ms\n", sse_bytes / 1e6, mo, mr, mo / mr, runs,
	    ours[0], ours[runs - 1], first, mo - first, mr - first);
	ipc_rbuf_free(rb);
	harness_free(h);
	kill(fl, SIGKILL);
	waitpid(fl, &st, 0);
	rmdir(home);
	free(ours);
	free(ref);
	free(ttfb);
}

/* ---- 3. per-token latency -------------------------------------------- */

#define LAT_TOKENS	300

struct arrivals {
	char		*buf;
	size_t		 len, cap;
	size_t		*end;		/* per write: bytes so far ... */
	uint64_t	*at;		/* ... and when */
	size_t		 n, ncap;
};

static size_t
arrive(char *p, size_t size, size_t nmemb, void *arg)
{
	struct arrivals	*a = arg;
	size_t		 n = size * nmemb;
	uint64_t	 t = now_us();

	if (a->len + n > a->cap) {
		a->cap = (a->len + n) * 2;
		a->buf = xreallocarray(a->buf, a->cap, 1);
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
	if (a->n == a->ncap) {
		a->ncap = a->ncap ? a->ncap * 2 : 256;
		a->end = xreallocarray(a->end, a->ncap, sizeof(*a->end));
		a->at = xreallocarray(a->at, a->ncap, sizeof(*a->at));
	}
	a->end[a->n] = a->len;
	a->at[a->n++] = t;
	return n;
}

/* Latencies of every 16-digit stamp in p[0..n) received at `at`, or (at
 * == 0) at the time its last byte arrived per `a`. */
static size_t
stamps(const char *p, size_t n, uint64_t at, const struct arrivals *a,
    double *out, size_t max)
{
	size_t	 i, j, k = 0, w = 0;
	uint64_t v, t;

	for (i = 0; i + 16 <= n && k < max; i++) {
		for (j = 0; j < 16 && p[i + j] >= '0' && p[i + j] <= '9'; j++)
			;
		if (j != 16 || (i > 0 && p[i - 1] >= '0' && p[i - 1] <= '9') ||
		    (i + 16 < n && p[i + 16] >= '0' && p[i + 16] <= '9'))
			continue;
		v = strtoull(p + i, NULL, 10);
		t = at;
		if (a != NULL) {
			while (w < a->n && a->end[w] < i + 16)
				w++;
			t = w < a->n ? a->at[w] : 0;
		}
		if (t >= v)
			out[k++] = (double)(t - v);
		i += 15;
	}
	return k;
}

static double
pct(double *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), cmp_d);
	return v[(size_t)((double)(n - 1) * p)];
}

static void
latency(const char *bdir)
{
	struct harness	*h;
	struct ipc_rbuf	*rb;
	struct ipc_msg	 m;
	struct ipc_buf	*b;
	struct arrivals	 a;
	CURL		*c;
	struct curl_slist *hd = NULL;
	double		*ours, *ref;
	char		 cmd[512], out[256], err[256], path[300], url[128], *cfg;
	char		 home[] = "/tmp/bench-fetch-XXXXXX";
	const char	*s, *req = "{\"messages\":[{\"role\":\"user\","
	    "\"content\":\"stamp\"}]}";
	size_t		 n, no = 0, nr = 0, max = LAT_TOKENS * 2;
	int		 port, over, st, fd;
	pid_t		 fl;

	ours = xcalloc(max, sizeof(double));
	ref = xcalloc(max, sizeof(double));
	fl = start_fakellm(bdir, &port);
	snprintf(cmd, sizeof(cmd), "curl -sf -o /dev/null "
	    "http://127.0.0.1:%d/__script -d '{\"turns\":[{\"stamp\":%d,"
	    "\"delay_ms\":3,\"repeat\":true}]}'", port, LAT_TOKENS);
	if (sh(cmd, out, sizeof(out)) == -1)
		fatalx("cannot load the fakellm script");

	/* The floor: libcurl alone reading the stream in this process. */
	memset(&a, 0, sizeof(a));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/chat/completions",
	    port);
	c = curl_easy_init();
	hd = curl_slist_append(hd, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"model\":\"b\",\"stream\":"
	    "true,\"messages\":[{\"role\":\"user\",\"content\":\"s\"}]}");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, arrive);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
	if (curl_easy_perform(c) != CURLE_OK)
		fatalx("libcurl reference failed");
	curl_easy_cleanup(c);
	curl_slist_free_all(hd);
	nr = stamps(a.buf, a.len, 0, &a, ref, max);
	free(a.buf);
	free(a.end);
	free(a.at);

	/* Through llm-fetch to the agent. */
	if (mkdtemp(home) == NULL)
		fatal("mkdtemp");
	snprintf(path, sizeof(path), "%s/hermes-llm-fetch", bdir);
	xasprintf(&cfg, "{\"model\":{\"provider\":\"custom\",\"default\":"
	    "\"bench\",\"base_url\":\"http://127.0.0.1:%d/v1\"}}", port);
	h = harness_spawn(path, ROLE_FETCH, home, cfg, NULL, 0);
	free(cfg);
	if (h == NULL)
		fatalx("cannot start %s", path);
	fd = harness_peer(h, ROLE_AGENT);
	rb = ipc_rbuf_new(ROLE_AGENT, ROLE_FETCH, 0);
	b = ipc_new(IPC_MSG_FETCH_REQUEST, 1);
	ipc_add_str(b, "request", req);
	if (ipc_send_fd(fd, b) == -1)
		fatal("send");
	for (over = 0; !over; ) {
		if (ipc_recv_fd(fd, rb, 30000, &m, err, sizeof(err)) != 1)
			fatalx("worker: %s", err);
		if (ipc_get_str(&m, "kind", &s, &n) == -1)
			continue;
		if (n == 4 && memcmp(s, "text", 4) == 0 &&
		    ipc_get_str(&m, "text", &s, &n) == 0)
			no += stamps(s, n, now_us(), NULL, ours + no, max - no);
		else if (n == 4 || n == 5)
			over = memcmp(s, "done", 4) == 0 ||
			    memcmp(s, "error", 5) == 0;
	}
	ipc_rbuf_free(rb);
	harness_free(h);
	kill(fl, SIGKILL);
	waitpid(fl, &st, 0);
	rmdir(home);
	if (no < LAT_TOKENS / 2 || nr < LAT_TOKENS / 2)
		fatalx("latency: %zu/%zu stamps", no, nr);
	printf("BENCH\tfetch per-token latency p50, fakellm send to agent "
	    "has it\t%.0f us\t%.0f us\t%.2f\t%zu tokens 3 ms apart; "
	    "reference: the same stream read by libcurl alone in-process "
	    "(sender to libcurl's write callback)\n", pct(ours, no, 0.5),
	    pct(ref, nr, 0.5), pct(ours, no, 0.5) / pct(ref, nr, 0.5), no);
	printf("BENCH\tfetch per-token latency p99\t%.0f us\t%.0f us\t%.2f\t"
	    "same run\n", pct(ours, no, 0.99), pct(ref, nr, 0.99),
	    pct(ours, no, 0.99) / pct(ref, nr, 0.99));
	free(ours);
	free(ref);
}

int
main(int argc, char **argv)
{
	const char	*b = getenv("B");
	char		 dir[256], *slash;
	int		 runs = argc > 1 ? atoi(argv[1]) : 7;

	/* The build directory: $B, else the one this program is in
	 * ($B/bench/bench_fetch). */
	if (b == NULL) {
		snprintf(dir, sizeof(dir), "%s", argv[0]);
		if ((slash = strrchr(dir, '/')) != NULL) {
			*slash = '\0';
			if ((slash = strrchr(dir, '/')) != NULL) {
				*slash = '\0';
				b = dir;
			} else if (strcmp(dir, "bench") == 0)
				b = ".";
		}
	}

	if (runs < 1)
		runs = 1;
	log_init("bench_fetch", 0);
	per_chunk("OpenAI", &prov_openai, oa_chunk, strstr(oa_chunk, "{"),
	    runs);
	{
		char	*json = xstrdup(strstr(an_chunk, "{"));

		json[strlen(json) - 2] = '\0';
		per_chunk("Anthropic", &prov_anthropic, an_chunk, json, runs);
		free(json);
	}
	stream(b != NULL ? b : "build", runs);
	latency(b != NULL ? b : "build");
	return 0;
}
