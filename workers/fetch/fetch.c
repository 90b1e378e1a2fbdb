/*
 * llm-fetch: model calls for the agent (ipc/msgs/fetch.def).
 *
 * One request = a chain of attempts. An attempt builds the provider's
 * JSON, picks a key, runs one curl transfer and decodes its stream into
 * provider-neutral events. A failed attempt that sent nothing to the
 * agent yet is retried (jittered exponential backoff, Retry-After
 * honoured) for 429, 5xx and network errors, rotated to another key on
 * 429/401, then moved to the next entry of the fallback chain. Text is
 * batched per event-loop turn: everything decoded during one round of
 * curl work leaves as one event at the end of that round.
 */
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netdb.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "ipc/worker.h"
#include "sandbox/sandbox.h"
#include "workers/fetch/fetch.h"
#include "workers/fetch/fetch_int.h"

#define FETCH_WQ_HIGH		(2u * 1024 * 1024)	/* pause transfers */
#define FETCH_WQ_LOW		(512u * 1024)		/* ... resume */
#define FETCH_CA_MAX		(4u * 1024 * 1024)
#define FETCH_CA_DEFAULT	"/etc/ssl/certs/ca-certificates.crt"

enum { MODE_UNKNOWN = 0, MODE_SSE, MODE_BODY, MODE_ERROR };

struct req {
	TAILQ_ENTRY(req)	 entry;
	TAILQ_ENTRY(req)	 dirty_entry;
	uint64_t		 id;
	json_t			*neutral;
	int			 stream;
	char			 model[256];	/* override for chain_start */
	int			 chain_start, chain_i;
	int			 attempt;	/* retries on this entry */
	int			 rotations;	/* key changes on this entry */
	int			 key_i;
	int			 emitted;	/* the agent has seen output */
	int			 over;		/* done or error sent */
	int			 dirty;
	int			 paused;
	int			 want_sig;	/* "signatures": true */
	struct event		*retry_tm;

	/* The running attempt. */
	CURL			*easy;
	struct curl_slist	*hdrs;
	char			*body;
	const struct prov_shape	*shape;
	struct sse		 sse;
	struct prov_dec		 dec;
	struct fetch_sink	 sink;
	int			 live;
	int			 mode;
	long			 status;
	char			*buf;		/* body, or error body */
	size_t			 blen, bcap;
	int64_t			 retry_after_ms;

	/* Batched text of this loop turn. */
	char			*pend;
	size_t			 plen, pcap;
	int			 pkind;		/* 1: reasoning */
};
TAILQ_HEAD(reqlist, req);

static struct {
	struct worker		*w;
	struct fetch_conf	 conf;
	struct curlev		*ce;
	struct reqlist		 reqs;
	struct reqlist		 dirty;
	int			 nreqs;
	int			 paused;
	struct event		*unpause;
} F;

static void	 attempt_end(struct req *);
static int	 attempt_start(struct req *);
static void	 req_free(struct req *);

/* ---- events to the agent -------------------------------------------- */

static struct ipc_buf *
ev_new(struct req *r, const char *kind)
{
	struct ipc_buf	*b;

	b = ipc_new(IPC_MSG_FETCH_EVENT, r->id);
	ipc_add_str(b, "kind", kind);
	return b;
}

static void
ev_send(struct ipc_buf *b)
{
	if (worker_send(F.w, ROLE_AGENT, b) == -1)
		log_debug("no agent to send an event to");
}

static void
flush_text(struct req *r)
{
	struct ipc_buf	*b;

	if (r->dirty) {
		TAILQ_REMOVE(&F.dirty, r, dirty_entry);
		r->dirty = 0;
	}
	if (r->plen == 0)
		return;
	b = ev_new(r, r->pkind ? "reasoning" : "text");
	ipc_add_strn(b, "text", r->pend, r->plen);
	ev_send(b);
	r->plen = 0;
}

static void
flush_all(void *arg)
{
	struct req	*r;

	while ((r = TAILQ_FIRST(&F.dirty)) != NULL)
		flush_text(r);
}

static void
send_error(struct req *r, int eclass, long status, const char *msg)
{
	struct ipc_buf	*b;
	char		 clean[512];

	flush_text(r);
	snprintf(clean, sizeof(clean), "%s", msg);
	fetch_redact(&F.conf, clean);
	b = ev_new(r, "error");
	ipc_add_str(b, "error_class", fetch_eclass_name(eclass));
	ipc_add_str(b, "message", clean);
	if (status > 0)
		ipc_add_u64(b, "status", (uint64_t)status);
	ev_send(b);
	r->over = 1;
	log_info("request %llu: %s: %s", (unsigned long long)r->id,
	    fetch_eclass_name(eclass), clean);
}

static void
send_retry(struct req *r, int eclass, long status, uint64_t ms,
    const char *msg, int fallback)
{
	struct fetch_prov	*p = &F.conf.chain[r->chain_i];
	struct ipc_buf		*b;
	char			 clean[512];

	snprintf(clean, sizeof(clean), "%s", msg);
	fetch_redact(&F.conf, clean);
	b = ev_new(r, "retry");
	ipc_add_str(b, "error_class", fetch_eclass_name(eclass));
	if (status > 0)
		ipc_add_u64(b, "status", (uint64_t)status);
	ipc_add_u64(b, "retry_ms", ms);
	ipc_add_u64(b, "attempt", (uint64_t)r->attempt);
	ipc_add_str(b, "message", clean);
	if (fallback) {
		ipc_add_str(b, "provider", p->provider);
		ipc_add_str(b, "model", p->model);
	}
	ev_send(b);
	log_info("request %llu: %s (%s), %s in %llu ms",
	    (unsigned long long)r->id, fetch_eclass_name(eclass), clean,
	    fallback ? "falling back" : "retrying", (unsigned long long)ms);
}

/* ---- the decoder's sink --------------------------------------------- */

static void
sink_text(void *arg, int reasoning, const char *p, size_t n)
{
	struct req	*r = arg;
	size_t		 i, o;

	if (r->over)
		return;
	if (r->plen > 0 && r->pkind != reasoning)
		flush_text(r);
	if (r->plen + n > r->pcap) {
		r->pcap = r->pcap ? r->pcap : 1024;
		while (r->pcap < r->plen + n)
			r->pcap *= 2;
		r->pend = xreallocarray(r->pend, r->pcap, 1);
	}
	/* IPC strings carry no NUL. */
	for (i = 0, o = r->plen; i < n; i++)
		if (p[i] != '\0')
			r->pend[o++] = p[i];
	r->plen = o;
	r->pkind = reasoning;
	r->emitted = 1;
	if (!r->dirty) {
		TAILQ_INSERT_TAIL(&F.dirty, r, dirty_entry);
		r->dirty = 1;
	}
	if (r->plen >= FETCH_EVENT_BATCH)
		flush_text(r);
}

static void
sink_tool_call(void *arg, const char *id, const char *name,
    const char *args)
{
	struct req	*r = arg;
	struct ipc_buf	*b;

	if (r->over)
		return;
	flush_text(r);
	b = ev_new(r, "tool_call");
	ipc_add_str(b, "call_id", id);
	ipc_add_str(b, "name", name);
	ipc_add_str(b, "arguments", args);
	ev_send(b);
	r->emitted = 1;
}

static void
sink_usage(void *arg, const struct fetch_usage *u)
{
	struct req	*r = arg;
	struct ipc_buf	*b;

	if (r->over)
		return;
	flush_text(r);
	b = ev_new(r, "usage");
	if (u->input >= 0)
		ipc_add_u64(b, "input_tokens", (uint64_t)u->input);
	if (u->output >= 0)
		ipc_add_u64(b, "output_tokens", (uint64_t)u->output);
	if (u->cache_read >= 0)
		ipc_add_u64(b, "cache_read", (uint64_t)u->cache_read);
	if (u->cache_write >= 0)
		ipc_add_u64(b, "cache_write", (uint64_t)u->cache_write);
	if (u->reasoning >= 0)
		ipc_add_u64(b, "reasoning_tokens", (uint64_t)u->reasoning);
	ev_send(b);
}

static void
sink_done(void *arg, const char *finish)
{
	struct req		*r = arg;
	struct fetch_prov	*p = &F.conf.chain[r->chain_i];
	struct ipc_buf		*b;

	if (r->over)
		return;
	flush_text(r);
	b = ev_new(r, "done");
	ipc_add_str(b, "finish_reason", finish);
	ipc_add_str(b, "provider", p->provider);
	ipc_add_str(b, "model", r->chain_i == r->chain_start &&
	    r->model[0] != '\0' ? r->model : p->model);
	ev_send(b);
	r->over = 1;
}

static void
sink_signature(void *arg, const char *sig, size_t n)
{
	struct req	*r = arg;
	struct ipc_buf	*b;

	if (r->over || !r->want_sig)
		return;
	flush_text(r);
	b = ev_new(r, "signature");
	ipc_add_strn(b, "text", sig, n);
	ev_send(b);
}

/* ---- curl callbacks -------------------------------------------------- */

static int
on_sse(void *arg, const char *event, const char *data, size_t len)
{
	struct req	*r = arg;

	return r->shape->ev(&r->dec, event, data, len);
}

static int
buf_add(struct req *r, const char *p, size_t n, size_t max)
{
	if (r->blen + n > max)
		return -1;
	if (r->blen + n + 1 > r->bcap) {
		r->bcap = r->bcap ? r->bcap : 4096;
		while (r->bcap < r->blen + n + 1)
			r->bcap *= 2;
		r->buf = xreallocarray(r->buf, r->bcap, 1);
	}
	memcpy(r->buf + r->blen, p, n);
	r->blen += n;
	r->buf[r->blen] = '\0';
	return 0;
}

static void
pick_mode(struct req *r)
{
	char	*ct = NULL;

	(void)curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->status < 200 || r->status >= 300) {
		r->mode = MODE_ERROR;
		return;
	}
	(void)curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ct);
	if (ct != NULL && strncasecmp(ct, "text/event-stream", 17) == 0)
		r->mode = MODE_SSE;
	else
		r->mode = MODE_BODY;
}

static size_t
on_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct req	*r = arg;
	size_t		 n = size * nmemb;

	if (r->over)
		return n;		/* drain what follows the end */
	if (r->mode == MODE_UNKNOWN)
		pick_mode(r);
	switch (r->mode) {
	case MODE_ERROR:
		/* Keep the start of an error body to classify it. */
		if (r->blen < FETCH_MAX_ERRBODY)
			(void)buf_add(r, p, r->blen + n > FETCH_MAX_ERRBODY ?
			    FETCH_MAX_ERRBODY - r->blen : n, FETCH_MAX_ERRBODY);
		return n;
	case MODE_BODY:
		if (buf_add(r, p, n, FETCH_MAX_BODY) == -1) {
			prov_dec_fail(&r->dec, FE_BAD_RESPONSE, "response "
			    "body over %u bytes", FETCH_MAX_BODY);
			return 0;
		}
		return n;
	default:
		break;
	}
	if (F.paused) {
		r->paused = 1;
		return CURL_WRITEFUNC_PAUSE;
	}
	if (sse_feed(&r->sse, p, n) == -1) {
		prov_dec_fail(&r->dec, FE_BAD_RESPONSE, "SSE line over %u "
		    "bytes", SSE_MAX_LINE);
		return 0;		/* ends the transfer */
	}
	return n;
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct req	*r = arg;
	size_t		 n = size * nmemb;
	char		 v[128];

	if (n > 12 && strncasecmp(p, "retry-after:", 12) == 0 &&
	    n - 12 < sizeof(v)) {
		memcpy(v, p + 12, n - 12);
		v[n - 12] = '\0';
		r->retry_after_ms = prov_retry_after_ms(v, time(NULL));
	}
	return n;
}

/* ---- attempts --------------------------------------------------------- */

static int
pick_key(struct fetch_prov *p)
{
	uint64_t	 now = now_ms(), best = UINT64_MAX;
	int		 i, k, pick = -1;

	if (p->nkeys == 0)
		return -1;
	for (i = 0; i < p->nkeys; i++) {
		k = p->strategy == KS_ROUND_ROBIN ? (p->next + i) % p->nkeys :
		    i;
		if (p->keys[k].cool_until <= now) {
			pick = k;
			break;
		}
		if (p->keys[k].cool_until < best) {
			best = p->keys[k].cool_until;
			pick = k;
		}
	}
	if (p->strategy == KS_ROUND_ROBIN)
		p->next = (pick + 1) % p->nkeys;
	p->keys[pick].uses++;
	return pick;
}

static int
usable_other_key(struct fetch_prov *p, int except)
{
	uint64_t	 now = now_ms();
	int		 i;

	for (i = 0; i < p->nkeys; i++)
		if (i != except && p->keys[i].cool_until <= now)
			return 1;
	return 0;
}

static void
set_common(CURL *e, struct fetch_prov *p)
{
	struct curl_blob	 blob;

	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR,
	    p->loopback ? "http,https" : "https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_USERAGENT, "hermes-c/llm-fetch");
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    F.conf.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, F.conf.idle_timeout_s);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 65536L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	if (F.conf.ca != NULL) {
		blob.data = F.conf.ca;
		blob.len = F.conf.calen;
		blob.flags = CURL_BLOB_NOCOPY;
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
		curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	}
	if (F.conf.resolve != NULL)
		curl_easy_setopt(e, CURLOPT_RESOLVE, F.conf.resolve);
}

static int
attempt_start(struct req *r)
{
	struct fetch_prov	*p = &F.conf.chain[r->chain_i];
	struct prov_opts	 o;
	const char *const	*h;
	char			 auth[2][512], err[256], *url;
	size_t			 bl;
	int			 i, n;

	memset(&o, 0, sizeof(o));
	o.model = r->chain_i == r->chain_start && r->model[0] != '\0' ?
	    r->model : p->model;
	o.provider = p->provider;
	o.stream = r->stream;
	o.cache_envelope = (p->flags & PF_CACHE_ENVELOPE) != 0;
	o.max_completion_tokens = (p->flags & PF_MAX_COMPLETION) != 0;
	r->shape = p->shape;
	if (r->shape->build(r->neutral, &o, &r->body, err, sizeof(err)) == -1) {
		send_error(r, FE_BAD_REQUEST, 0, err);
		return -1;
	}
	bl = strlen(p->base);
	xasprintf(&url, "%s%s", p->base, bl >= 3 &&
	    strcmp(p->base + bl - 3, "/v1") == 0 ? r->shape->path :
	    r->shape->path_v1);

	if ((r->easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init");
	set_common(r->easy, p);
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);

	for (h = r->shape->headers; *h != NULL; h++)
		r->hdrs = curl_slist_append(r->hdrs, *h);
	r->key_i = pick_key(p);
	if (r->key_i >= 0) {
		n = r->shape->auth(p->keys[r->key_i].val, auth, 2);
		for (i = 0; i < n; i++)
			r->hdrs = curl_slist_append(r->hdrs, auth[i]);
		explicit_bzero(auth, sizeof(auth));
	}
	r->hdrs = curl_slist_append(r->hdrs, "Expect:");
	if (r->hdrs == NULL)
		fatalx("curl_slist_append");
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->hdrs);

	r->sink = (struct fetch_sink){ sink_text, sink_tool_call, sink_usage,
	    sink_done, sink_signature, r };
	prov_dec_init(&r->dec, &r->sink);
	sse_init(&r->sse, SSE_MAX_LINE, on_sse, r);
	r->live = 1;
	r->mode = MODE_UNKNOWN;
	r->status = 0;
	r->blen = 0;
	r->retry_after_ms = -1;
	log_debug("request %llu: %s %s attempt %d key %s",
	    (unsigned long long)r->id, p->provider, o.model, r->attempt,
	    r->key_i >= 0 ? p->keys[r->key_i].name : "none");
	if (curlev_add(F.ce, r->easy) == -1) {
		send_error(r, FE_NETWORK, 0, "cannot start the transfer");
		attempt_end(r);
		return -1;
	}
	return 0;
}

static void
zero_slist(struct curl_slist *l)
{
	for (; l != NULL; l = l->next)
		if (l->data != NULL)
			explicit_bzero(l->data, strlen(l->data));
}

/* Undo an attempt; its handle is already out of the multi handle. */
static void
attempt_end(struct req *r)
{
	if (r->easy != NULL) {
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	zero_slist(r->hdrs);
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
	free(r->body);
	r->body = NULL;
	if (r->live) {
		sse_clear(&r->sse);
		prov_dec_clear(&r->dec);
		r->live = 0;
	}
	free(r->buf);
	r->buf = NULL;
	r->blen = r->bcap = 0;
	r->paused = 0;
}

static void
on_retry_timer(evutil_socket_t fd, short what, void *arg)
{
	struct req	*r = arg;

	if (attempt_start(r) == -1)
		req_free(r);
}

static void
schedule(struct req *r, uint64_t ms)
{
	struct timeval	 tv;

	if (r->retry_tm == NULL &&
	    (r->retry_tm = evtimer_new(F.w->base, on_retry_timer, r)) == NULL)
		fatalx("evtimer_new");
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	evtimer_add(r->retry_tm, &tv);
}

static double
rnd(void)
{
	return (double)arc4random() / 4294967296.0;
}

/* An attempt failed: retry, rotate, fall back, or report. */
static void
attempt_failed(struct req *r, int eclass, long status, const char *msg)
{
	struct fetch_prov	*p = &F.conf.chain[r->chain_i];
	int64_t			 ra = r->retry_after_ms;
	uint64_t		 ms;
	int			 key = r->key_i;

	attempt_end(r);
	if (r->emitted || eclass == FE_CANCELLED)
		goto report;
	if ((eclass == FE_RATE_LIMIT || eclass == FE_AUTH) && key >= 0) {
		p->keys[key].cool_until = now_ms() + (ra > 0 ? (uint64_t)ra :
		    FETCH_KEY_COOLDOWN_MS);
		if (usable_other_key(p, key) && r->rotations + 1 < p->nkeys) {
			r->rotations++;
			log_info("%s: key %s rests, trying another",
			    p->provider, p->keys[key].name);
			send_retry(r, eclass, status, 0, msg, 0);
			schedule(r, 0);
			return;
		}
	}
	if (fetch_eclass_retryable(eclass) &&
	    r->attempt < F.conf.max_retries) {
		r->attempt++;
		ms = prov_backoff_ms(r->attempt, F.conf.retry_base_ms,
		    F.conf.retry_max_ms, F.conf.jitter, ra, rnd());
		send_retry(r, eclass, status, ms, msg, 0);
		schedule(r, ms);
		return;
	}
	if (eclass != FE_CONTEXT_OVERFLOW && eclass != FE_BAD_REQUEST &&
	    r->chain_i + 1 < F.conf.nchain) {
		r->chain_i++;
		r->attempt = 0;
		r->rotations = 0;
		send_retry(r, eclass, status, 0, msg, 1);
		schedule(r, 0);
		return;
	}
report:
	send_error(r, eclass, status, msg);
	req_free(r);
}

/* curlev: a transfer ended. */
static void
on_done(CURL *easy, CURLcode rc, void *arg)
{
	struct req	*r = NULL;
	char		 msg[300];
	int		 eclass = FE_NONE;

	(void)curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
	if (r == NULL)
		fatalx("transfer without a request");
	if (r->mode == MODE_UNKNOWN && rc == CURLE_OK)
		pick_mode(r);
	msg[0] = '\0';
	if (!r->over) {
		if (r->dec.eclass != FE_NONE) {
			eclass = r->dec.eclass;
			snprintf(msg, sizeof(msg), "%s", r->dec.err);
		} else if (rc != CURLE_OK) {
			eclass = FE_NETWORK;
			snprintf(msg, sizeof(msg), "network: %s",
			    curl_easy_strerror(rc));
		} else if (r->mode == MODE_ERROR) {
			eclass = prov_classify(r->status, r->buf ? r->buf : "",
			    r->blen);
			prov_errmsg(r->status, r->buf ? r->buf : "", r->blen,
			    msg, sizeof(msg));
		} else if (r->mode == MODE_BODY) {
			if (r->shape->body(&r->dec, r->buf ? r->buf : "",
			    r->blen) == -1) {
				eclass = r->dec.eclass;
				snprintf(msg, sizeof(msg), "%s", r->dec.err);
			}
		} else if (r->shape->eof(&r->dec) == -1) {
			eclass = r->dec.eclass;
			snprintf(msg, sizeof(msg), "%s", r->dec.err);
		}
	}
	if (eclass == FE_NONE && !r->over) {
		eclass = FE_BAD_RESPONSE;
		snprintf(msg, sizeof(msg), "response ended without an answer");
	}
	if (eclass != FE_NONE) {
		flush_text(r);
		attempt_failed(r, eclass, r->mode == MODE_ERROR ? r->status : 0,
		    msg);
		return;
	}
	req_free(r);
}

/* ---- requests --------------------------------------------------------- */

static struct req *
req_find(uint64_t id)
{
	struct req	*r;

	TAILQ_FOREACH(r, &F.reqs, entry)
		if (r->id == id)
			return r;
	return NULL;
}

static void
req_free(struct req *r)
{
	if (r == NULL)
		return;
	if (r->easy != NULL)
		curlev_remove(F.ce, r->easy);
	attempt_end(r);
	if (r->dirty)
		TAILQ_REMOVE(&F.dirty, r, dirty_entry);
	if (r->retry_tm != NULL)
		event_free(r->retry_tm);
	TAILQ_REMOVE(&F.reqs, r, entry);
	F.nreqs--;
	json_decref(r->neutral);
	free(r->pend);
	free(r);
}

static void
reply_error(uint64_t id, int eclass, const char *msg)
{
	struct req	 tmp;

	memset(&tmp, 0, sizeof(tmp));
	tmp.id = id;
	send_error(&tmp, eclass, 0, msg);
}

static void
on_request(struct ipc_msg *m)
{
	struct req	*r;
	json_t		*j, *v;
	json_error_t	 je;
	const char	*s, *prov;
	size_t		 len;
	int		 i;

	if (req_find(m->id) != NULL) {
		log_warnx("request id %llu already in flight",
		    (unsigned long long)m->id);
		return;
	}
	if (F.nreqs >= FETCH_MAX_INFLIGHT) {
		reply_error(m->id, FE_RATE_LIMIT, "too many requests in flight");
		return;
	}
	if (ipc_get_str(m, "request", &s, &len) == -1) {
		reply_error(m->id, FE_BAD_REQUEST, "no request");
		return;
	}
	j = json_loadb(s, len, 0, &je);
	if (!json_is_object(j)) {
		json_decref(j);
		reply_error(m->id, FE_BAD_REQUEST, "request is not a JSON "
		    "object");
		return;
	}
	if (F.conf.nchain == 0) {
		json_decref(j);
		reply_error(m->id, FE_BAD_REQUEST, "no provider configured");
		return;
	}
	r = xcalloc(1, sizeof(*r));
	r->id = m->id;
	r->neutral = j;
	r->key_i = -1;
	v = json_object_get(j, "stream");
	r->stream = v == NULL || json_is_true(v);
	r->want_sig = json_is_true(json_object_get(j, "signatures"));
	prov = json_string_value(json_object_get(j, "provider"));
	if (prov != NULL) {
		for (i = 0; i < F.conf.nchain; i++)
			if (strcasecmp(F.conf.chain[i].provider, prov) == 0)
				break;
		if (i == F.conf.nchain) {
			json_decref(j);
			free(r);
			reply_error(m->id, FE_BAD_REQUEST, "provider is not "
			    "configured");
			return;
		}
		r->chain_start = r->chain_i = i;
	}
	s = json_string_value(json_object_get(j, "base_url"));
	if (s != NULL && strcmp(s, F.conf.chain[r->chain_i].base) != 0) {
		json_decref(j);
		free(r);
		reply_error(m->id, FE_BAD_REQUEST, "base_url is not the "
		    "configured one");
		return;
	}
	s = json_string_value(json_object_get(j, "model"));
	if (s != NULL && strlen(s) < sizeof(r->model))
		snprintf(r->model, sizeof(r->model), "%s", s);
	TAILQ_INSERT_TAIL(&F.reqs, r, entry);
	F.nreqs++;
	if (attempt_start(r) == -1)
		req_free(r);
}

static void
on_cancel(uint64_t id)
{
	struct req	*r;

	if ((r = req_find(id)) == NULL || r->over)
		return;
	if (r->easy != NULL) {
		curlev_remove(F.ce, r->easy);
		attempt_end(r);
	}
	if (r->retry_tm != NULL)
		evtimer_del(r->retry_tm);
	send_error(r, FE_CANCELLED, 0, "cancelled");
	req_free(r);
}

static void
cancel_all(void)
{
	struct req	*r;

	while ((r = TAILQ_FIRST(&F.reqs)) != NULL)
		req_free(r);
}

/* ---- backpressure ----------------------------------------------------- */

static void
on_unpause(evutil_socket_t fd, short what, void *arg)
{
	struct req	*r;

	if (F.paused)
		return;
	TAILQ_FOREACH(r, &F.reqs, entry) {
		if (r->paused && r->easy != NULL) {
			r->paused = 0;
			curl_easy_pause(r->easy, CURLPAUSE_CONT);
		}
	}
	flush_all(NULL);
}

static void
on_wm(struct ipc_peer *p, int above, void *arg)
{
	F.paused = above;
	log_debug("agent channel %s: transfers %s", above ? "full" :
	    "drained", above ? "pause" : "resume");
	if (!above)
		event_active(F.unpause, 0, 0);
}

/* ---- worker hooks ---------------------------------------------------- */

static void
fetch_dispatch(struct worker *w, int from, struct ipc_peer *p,
    struct ipc_msg *m)
{
	if (from != ROLE_AGENT) {
		log_warnx("%s from %s refused", ipc_msg_name(m->type),
		    ipc_role_name(from));
		return;
	}
	switch (m->type) {
	case IPC_MSG_FETCH_REQUEST:
		on_request(m);
		break;
	case IPC_MSG_FETCH_CANCEL:
		on_cancel(m->id);
		break;
	default:
		log_warnx("unexpected %s from the agent",
		    ipc_msg_name(m->type));
		break;
	}
}

static void
fetch_peer_changed(struct worker *w, int role, struct ipc_peer *p)
{
	if (role != ROLE_AGENT)
		return;
	/* Requests of a gone agent have no one to answer. */
	cancel_all();
	F.paused = 0;
	if (p != NULL)
		ipc_peer_set_wm(p, FETCH_WQ_HIGH, FETCH_WQ_LOW, on_wm);
}

static const char *
secret_lookup(void *arg, const char *name, size_t *len)
{
	const msgpack_object	*map = arg;
	const msgpack_object_kv	*kv;
	uint32_t		 i;
	size_t			 n = strlen(name);

	if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (i = 0; i < map->via.map.size; i++) {
		kv = &map->via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR ||
		    kv->val.type != MSGPACK_OBJECT_STR ||
		    kv->key.via.str.size != n ||
		    memcmp(kv->key.via.str.ptr, name, n) != 0)
			continue;
		if (memchr(kv->val.via.str.ptr, '\0', kv->val.via.str.size) ||
		    memchr(kv->val.via.str.ptr, '\n', kv->val.via.str.size) ||
		    memchr(kv->val.via.str.ptr, '\r', kv->val.via.str.size))
			return NULL;	/* would break a header */
		*len = kv->val.via.str.size;
		return kv->val.via.str.ptr;
	}
	return NULL;
}

static int
load_ca(const char *path)
{
	struct stat	 st;
	ssize_t		 n;
	size_t		 off = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || st.st_size <= 0 ||
	    (size_t)st.st_size > FETCH_CA_MAX) {
		close(fd);
		return -1;
	}
	F.conf.ca = xmalloc((size_t)st.st_size);
	while (off < (size_t)st.st_size) {
		n = read(fd, F.conf.ca + off, (size_t)st.st_size - off);
		if (n <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}
	close(fd);
	F.conf.calen = off;
	return off > 0 ? 0 : -1;
}

/* Resolve each provider host now (the sandbox has no resolver) and pin
 * the addresses for curl: connections go where setup resolved. */
static void
pin_hosts(void)
{
	struct addrinfo		 hints, *res, *ai;
	struct fetch_prov	*p;
	struct in_addr		 a4;
	char			 line[1024], addr[INET6_ADDRSTRLEN + 2];
	int			 i, j, n, dup;

	for (i = 0; i < F.conf.nchain; i++) {
		p = &F.conf.chain[i];
		if (inet_pton(AF_INET, p->host, &a4) == 1 || p->host[0] == '[')
			continue;		/* a literal address */
		for (dup = 0, j = 0; j < i; j++)
			if (strcasecmp(F.conf.chain[j].host, p->host) == 0 &&
			    F.conf.chain[j].port == p->port)
				dup = 1;
		if (dup)
			continue;
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		if (getaddrinfo(p->host, NULL, &hints, &res) != 0) {
			log_warnx("%s: cannot resolve %s now; it will fail "
			    "in the sandbox", p->provider, p->host);
			continue;
		}
		n = snprintf(line, sizeof(line), "%s:%d:", p->host, p->port);
		for (ai = res, j = 0; ai != NULL && j < 8; ai = ai->ai_next) {
			if (ai->ai_family == AF_INET)
				inet_ntop(AF_INET, &((struct sockaddr_in *)
				    ai->ai_addr)->sin_addr, addr, sizeof(addr));
			else if (ai->ai_family == AF_INET6) {
				addr[0] = '[';
				inet_ntop(AF_INET6, &((struct sockaddr_in6 *)
				    ai->ai_addr)->sin6_addr, addr + 1,
				    sizeof(addr) - 2);
				strlcat(addr, "]", sizeof(addr));
			} else
				continue;
			if (strstr(line + n - 1, addr) != NULL)
				continue;
			strlcat(line, j++ ? "," : "", sizeof(line));
			strlcat(line, addr, sizeof(line));
		}
		freeaddrinfo(res);
		if (j == 0)
			continue;
		F.conf.resolve = curl_slist_append(F.conf.resolve, line);
		log_debug("pinned %s", line);
	}
}

static int
fetch_setup(struct worker *w, const msgpack_object *secrets)
{
	struct rlimit	 rl = { 0, 0 };
	json_t		*cfg;
	const char	*ca = NULL;
	char		 err[256];
	int		 i, https = 0;

	F.w = w;
	TAILQ_INIT(&F.reqs);
	TAILQ_INIT(&F.dirty);
	/* The keys live here: no core, no ptrace by the same uid. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		log_warn("prctl(PR_SET_DUMPABLE)");
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		log_warn("setrlimit(RLIMIT_CORE)");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("curl_global_init failed");
		return -1;
	}
	if (fetch_conf_parse(&F.conf, w->config_json, secret_lookup,
	    (void *)secrets, err, sizeof(err)) == -1) {
		/* Serve anyway: every request answers with the reason. */
		log_warnx("providers: %s", err);
	}
	for (i = 0; i < F.conf.nchain; i++) {
		log_info("provider %d: %s %s at %s (%s API, %d key%s)", i,
		    F.conf.chain[i].provider, F.conf.chain[i].model,
		    F.conf.chain[i].host, F.conf.chain[i].shape->name,
		    F.conf.chain[i].nkeys, F.conf.chain[i].nkeys == 1 ? "" :
		    "s");
		if (!F.conf.chain[i].loopback ||
		    strncasecmp(F.conf.chain[i].base, "https:", 6) == 0)
			https = 1;
	}
	cfg = json_loads(w->config_json, 0, NULL);
	ca = json_string_value(json_object_get(json_object_get(cfg, "fetch"),
	    "ca_file"));
	if (https && load_ca(ca != NULL ? ca : FETCH_CA_DEFAULT) == -1)
		log_warnx("cannot read the CA bundle %s: TLS will fail",
		    ca != NULL ? ca : FETCH_CA_DEFAULT);
	json_decref(cfg);
	pin_hosts();
	F.ce = curlev_new(w->base, on_done, flush_all, NULL);
	if ((F.unpause = event_new(w->base, -1, 0, on_unpause, NULL)) == NULL)
		return -1;
	return 0;
}

static void
fetch_shutdown(struct worker *w)
{
	cancel_all();
	curlev_free(F.ce);
	F.ce = NULL;
	fetch_conf_free(&F.conf);
	curl_global_cleanup();
}

static const struct worker_ops fetch_ops = {
	.role = ROLE_FETCH,
	.profile = SBX_FETCH,
	.setup = fetch_setup,
	.dispatch = fetch_dispatch,
	.peer_changed = fetch_peer_changed,
	.shutdown = fetch_shutdown,
};

void
fetch_main(int argc, char **argv)
{
	worker_main(argc, argv, &fetch_ops);
}
