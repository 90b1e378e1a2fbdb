/*
 * llm-fetch internals: configuration, keys, the curl/libevent glue.
 */
#ifndef HERMES_FETCH_INT_H
#define HERMES_FETCH_INT_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "workers/fetch/fetch.h"

#define FETCH_MAX_KEYNAMES	2		/* .env names per provider */
#define FETCH_MAX_KEYLEN	512
#define FETCH_ARENA_SIZE	(64u * 1024)	/* mlocked key memory */

/* Provider flags. */
#define PF_CACHE_ENVELOPE	0x01	/* cache_control on content parts */
#define PF_MAX_COMPLETION	0x02	/* max_completion_tokens */
#define PF_KEY_OPTIONAL		0x04	/* local servers */

/* One row of the provider table. */
struct fetch_provdef {
	const char	*name;		/* Hermes's provider id */
	const char	*shape;		/* prov_shape name */
	const char	*base;		/* default base URL, NULL: required */
	const char	*keys[FETCH_MAX_KEYNAMES];	/* .env names */
	int		 flags;
};
const struct fetch_provdef *fetch_provdef_find(const char *);

enum { KS_FILL_FIRST = 0, KS_ROUND_ROBIN };

struct fetch_key {
	char		*val;		/* in the arena */
	char		 name[128];	/* .env name, for logs */
	uint64_t	 cool_until;	/* ms; rests after 429/401 */
	uint64_t	 uses;
};

/* One entry of the chain (primary, then fallbacks). */
struct fetch_prov {
	char				 provider[64];
	char				 model[256];
	char				 base[512];
	char				 host[256];
	int				 port;
	int				 loopback;
	int				 flags;
	const struct prov_shape		*shape;
	struct fetch_key		 keys[FETCH_MAX_KEYS];
	int				 nkeys;
	int				 strategy;
	int				 next;	/* round robin */
};

struct fetch_arena {
	char		*mem;
	size_t		 size, used;
	int		 locked;
};

struct fetch_conf {
	struct fetch_prov	 chain[FETCH_MAX_CHAIN];
	int			 nchain;
	int			 max_retries;
	uint64_t		 retry_base_ms, retry_max_ms;
	double			 jitter;
	long			 connect_timeout_ms;
	long			 idle_timeout_s;
	struct fetch_arena	 arena;
	char			*ca;		/* CA bundle (PEM) */
	size_t			 calen;
	struct curl_slist	*resolve;	/* pinned host addresses */
};

/* A secret by name: value and length, or NULL. */
typedef const char *(*fetch_secret_fn)(void *, const char *, size_t *);

int	 fetch_arena_init(struct fetch_arena *);
char	*fetch_arena_dup(struct fetch_arena *, const char *, size_t);
void	 fetch_arena_free(struct fetch_arena *);
int	 fetch_conf_parse(struct fetch_conf *, const char *config_json,
	    fetch_secret_fn, void *, char *err, size_t errlen);
void	 fetch_conf_free(struct fetch_conf *);
void	 fetch_redact(const struct fetch_conf *, char *);
int	 fetch_host_loopback(const char *);

/* ---- curlev.c: curl multi_socket on libevent ------------------------ */

struct event_base;
struct curlev;

/* A transfer ended (called outside curl's callbacks; the handle is
 * already removed from the multi handle). */
typedef void (*curlev_done_fn)(CURL *, CURLcode, void *arg);
/* After each round of curl work (flush batched output). */
typedef void (*curlev_after_fn)(void *arg);

struct curlev	*curlev_new(struct event_base *, curlev_done_fn,
		    curlev_after_fn, void *arg);
void		 curlev_free(struct curlev *);
int		 curlev_add(struct curlev *, CURL *);
void		 curlev_remove(struct curlev *, CURL *);
int		 curlev_running(const struct curlev *);

#endif
