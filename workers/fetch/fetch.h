/*
 * llm-fetch: the only process that talks to model providers and the only
 * holder of their keys. See ipc/msgs/fetch.def for the agent's protocol.
 *
 *   fetch.c           worker life: config, keys, dispatch, requests,
 *                     retries, fallback, cancel, backpressure
 *   fetch_conf.c      provider table (name -> API shape, base URL, key
 *                     names) and the config/secrets parsing
 *   curlev.c          curl multi_socket on libevent
 *   sse.c             bounded incremental SSE parser
 *   prov.c            the API-shape table, shared decoder helpers
 *                     (tool-call assembly), error classes, backoff
 *   prov_openai.c     OpenAI Chat Completions
 *   prov_anthropic.c  Anthropic Messages
 */
#ifndef HERMES_FETCH_H
#define HERMES_FETCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

/* Limits of this worker (the shared ones are in ipc/limits.h). */
#define FETCH_MAX_TOOL_CALLS	128		/* calls in one response */
#define FETCH_MAX_TOOL_ARGS	(4u * 1024 * 1024)	/* one call's arguments */
#define FETCH_MAX_TEXT		(64u * 1024 * 1024)	/* text of one response */
#define FETCH_MAX_BODY		(32u * 1024 * 1024)	/* non-streamed body */
#define FETCH_MAX_ERRBODY	(64u * 1024)	/* error body kept to classify */
#define FETCH_MAX_KEYS		16		/* NAME, NAME_2 ... NAME_16 */
#define FETCH_MAX_CHAIN		8		/* primary + fallbacks */
#define FETCH_MAX_INFLIGHT	4096		/* requests at once */
#define FETCH_MAX_ID		256		/* tool call id, name */
#define FETCH_DEFAULT_MAX_TOKENS 4096		/* Anthropic requires one */
#define FETCH_EVENT_BATCH	(256u * 1024)	/* flush a text batch past this */
#define FETCH_KEY_COOLDOWN_MS	60000		/* a key that got 429/401 rests */
#define FETCH_MAX_SIGNATURE	(64u * 1024)	/* one thinking signature */

/* Error classes (fetch.def "error_class"). */
enum fetch_eclass {
	FE_NONE = 0,
	FE_AUTH,
	FE_RATE_LIMIT,
	FE_CONTEXT_OVERFLOW,
	FE_SERVER,
	FE_NETWORK,
	FE_BAD_RESPONSE,
	FE_CANCELLED,
	FE_BAD_REQUEST,
	FE_MAX
};
const char	*fetch_eclass_name(int);
int		 fetch_eclass_retryable(int);

/* ---- SSE (sse.c) ---------------------------------------------------- */

/* One dispatched event: event name ("" if none) and its data (NUL
 * terminated, without the final newline). Return 0 to go on, -1 to stop
 * the parse (sse_feed then returns -1). */
typedef int (*sse_event_fn)(void *arg, const char *event, const char *data,
    size_t datalen);

struct sse {
	char		*line;		/* a line split across feeds */
	size_t		 llen, lcap;
	char		*data;		/* data of the event being built */
	size_t		 dlen, dcap;
	char		 event[64];
	int		 have_data;
	int		 after_cr;	/* last byte was CR: skip one LF */
	int		 failed;
	size_t		 max_line;
	sse_event_fn	 cb;
	void		*arg;
};

void	 sse_init(struct sse *, size_t max_line, sse_event_fn, void *);
/* 0, or -1: a line (or an event's data) over max_line, or the callback
 * stopped. After -1 the parser refuses further input. */
int	 sse_feed(struct sse *, const char *, size_t);
/* End of stream: dispatches nothing (an unterminated event is dropped,
 * as the spec says). Returns 1 if bytes of an incomplete line were left. */
int	 sse_finish(struct sse *);
void	 sse_clear(struct sse *);

/* ---- provider-neutral events (prov.c) ------------------------------- */

struct fetch_usage {
	int64_t	 input, output, cache_read, cache_write, reasoning;	/* -1: unknown */
};

struct fetch_sink {
	void	(*text)(void *, int reasoning, const char *, size_t);
	void	(*tool_call)(void *, const char *id, const char *name,
		    const char *args);
	void	(*usage)(void *, const struct fetch_usage *);
	void	(*done)(void *, const char *finish_reason);
	/* The opaque signature of the reasoning just streamed (Anthropic
	 * thinking), to be sent back with it in later requests. */
	void	(*signature)(void *, const char *, size_t);
	void	*arg;
};

/* One tool call being assembled from deltas. */
struct prov_call {
	int64_t	 index;			/* provider's index */
	char	*id;
	char	*name;
	char	*args;
	size_t	 alen, acap;
	int	 emitted;
};

/* Decoder state of one attempt; shared by every API shape. */
struct prov_dec {
	const struct fetch_sink	*sink;
	struct prov_call	 calls[FETCH_MAX_TOOL_CALLS];
	int			 ncalls;
	struct fetch_usage	 usage;
	int			 have_usage;
	char			 finish[32];
	int			 finished;	/* terminal event seen */
	int			 ended;		/* done delivered */
	int			 eclass;	/* on error */
	char			 err[256];
	size_t			 textlen;
	int			 blocktype[FETCH_MAX_TOOL_CALLS]; /* anthropic */
	int			 anthropic_stop;	/* message_delta seen */
	int			 input_excludes_cache;	/* Anthropic counts */
	char			*sig;		/* thinking signature */
	size_t			 siglen;
};

void	 prov_dec_init(struct prov_dec *, const struct fetch_sink *);
void	 prov_dec_clear(struct prov_dec *);
int	 prov_dec_fail(struct prov_dec *, int eclass, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
struct prov_call *prov_call_get(struct prov_dec *, int64_t index);
int	 prov_call_append(struct prov_dec *, struct prov_call *, const char *,
	    size_t);
int	 prov_call_set(struct prov_dec *, struct prov_call *, const char *id,
	    const char *name);
/* Validate and emit one call (or every call not yet emitted). */
int	 prov_call_emit(struct prov_dec *, struct prov_call *);
int	 prov_calls_emit(struct prov_dec *);
int	 prov_text(struct prov_dec *, int reasoning, const char *, size_t);
/* Usage (if any), then done. Once. */
int	 prov_end(struct prov_dec *);

/* Options a builder needs besides the neutral request. */
struct prov_opts {
	const char	*model;
	const char	*provider;	/* "openrouter", "anthropic", ... */
	int		 stream;
	int		 cache_envelope;	/* OpenRouter-style cache_control */
	int		 max_completion_tokens;	/* OpenAI's newer name */
};

/* One entry per API shape. */
struct prov_shape {
	const char	*name;		/* "openai", "anthropic" */
	const char	*path;		/* appended to the base URL */
	const char	*path_v1;	/* when the base URL lacks /v1 */
	/* Provider JSON body from the neutral request. 0 or -1 (err). */
	int	(*build)(const json_t *req, const struct prov_opts *,
		    char **body, char *err, size_t errlen);
	/* Header lines for a key ("Authorization: Bearer ..."), into out,
	 * at most n; returns how many. The caller zeroes them. */
	int	(*auth)(const char *key, char out[][512], int n);
	/* Extra fixed header lines, NULL-terminated. */
	const char *const *headers;
	int	(*ev)(struct prov_dec *, const char *event, const char *data,
		    size_t len);
	int	(*body)(struct prov_dec *, const char *, size_t);
	/* The stream ended (EOF): 0 if complete. */
	int	(*eof)(struct prov_dec *);
};

extern const struct prov_shape prov_openai;
extern const struct prov_shape prov_anthropic;
const struct prov_shape *prov_shape_find(const char *name);

/*
 * The fast path for plain text deltas (fastjson.c). 0: the chunk is a
 * valid JSON plain text delta of that shape (0 OpenAI, 1 Anthropic) and
 * text/len (raw, escaped if `escaped`; NULL if none) is its text; -1:
 * anything else (parse it with jansson).
 */
struct prov_fast {
	const char	*text;
	size_t		 len;
	int		 escaped;
	int		 reasoning;
	int		 textkey;
	int		 type_ok, delta_ok;
};
extern int	 prov_fast_enabled;	/* tests compare both paths */
int	 prov_fast_scan(int shape, const char *, size_t, struct prov_fast *);
size_t	 prov_fast_unescape(const char *, size_t, char *);
int	 prov_fast_text(struct prov_dec *, const struct prov_fast *);

/* Class of an HTTP error answer. */
int	 prov_classify(long status, const char *body, size_t len);
/* A short, key-free message from an error body (provider's "message"). */
void	 prov_errmsg(long status, const char *body, size_t len, char *out,
	    size_t outlen);
/*
 * Backoff before attempt `attempt` (1 = the first retry): jittered
 * exponential, base * 2^(attempt-1) capped at max, times a random factor
 * in [1 - jitter/2, 1 + jitter/2]; a Retry-After (ms, -1 if none) wins
 * when larger, capped at max. r: a random value in [0, 1).
 */
uint64_t prov_backoff_ms(int attempt, uint64_t base, uint64_t max,
	    double jitter, int64_t retry_after_ms, double r);
/* Retry-After header value: delta-seconds or an HTTP date. ms or -1. */
int64_t	 prov_retry_after_ms(const char *value, time_t now);

/* The worker's life (fetch.c); never returns. */
void	 fetch_main(int, char **) __attribute__((noreturn));

/* Helpers for the builders. */
char	*prov_dump(json_t *);	/* compact dump, takes the reference */
int	 prov_args_valid(const char *, size_t);

#endif
