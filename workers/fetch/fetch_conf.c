/*
 * Providers and keys. The provider table maps Hermes's provider names to
 * an API shape, a default base URL and the .env names of its keys; the
 * config (config.yaml as JSON) picks the primary and the fallback chain;
 * the keys come from the CONFIG secrets map and live in one mlocked,
 * non-dumpable arena that is zeroed when freed.
 */
#include <sys/mman.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "ipc/util.h"
#include "workers/fetch/fetch.h"
#include "workers/fetch/fetch_int.h"

static const struct fetch_provdef provdefs[] = {
	{ "openrouter", "openai", "https://openrouter.ai/api/v1",
	    { "OPENROUTER_API_KEY" }, PF_CACHE_ENVELOPE },
	{ "openai", "openai", "https://api.openai.com/v1",
	    { "OPENAI_API_KEY" }, PF_MAX_COMPLETION },
	{ "openai-api", "openai", "https://api.openai.com/v1",
	    { "OPENAI_API_KEY" }, PF_MAX_COMPLETION },
	{ "anthropic", "anthropic", "https://api.anthropic.com",
	    { "ANTHROPIC_API_KEY" }, 0 },
	{ "nous", "openai", "https://inference-api.nousresearch.com/v1",
	    { "NOUS_API_KEY" }, 0 },
	{ "deepseek", "openai", "https://api.deepseek.com/v1",
	    { "DEEPSEEK_API_KEY" }, 0 },
	{ "xai", "openai", "https://api.x.ai/v1", { "XAI_API_KEY" }, 0 },
	{ "gemini", "openai",
	    "https://generativelanguage.googleapis.com/v1beta/openai",
	    { "GEMINI_API_KEY", "GOOGLE_API_KEY" }, 0 },
	{ "zai", "openai", "https://api.z.ai/api/paas/v4",
	    { "GLM_API_KEY", "ZAI_API_KEY" }, 0 },
	{ "kimi-coding", "openai", "https://api.moonshot.ai/v1",
	    { "KIMI_API_KEY" }, 0 },
	{ "huggingface", "openai", "https://router.huggingface.co/v1",
	    { "HF_TOKEN" }, 0 },
	/* Any OpenAI-compatible server: base_url from the config (or
	 * OPENAI_BASE_URL); a key only if the server wants one. */
	{ "custom", "openai", NULL, { "OPENAI_API_KEY" }, PF_KEY_OPTIONAL },
	{ "ollama", "openai", "http://127.0.0.1:11434/v1",
	    { "OLLAMA_API_KEY" }, PF_KEY_OPTIONAL },
	{ "vllm", "openai", "http://127.0.0.1:8000/v1",
	    { "VLLM_API_KEY" }, PF_KEY_OPTIONAL },
	{ "llamacpp", "openai", "http://127.0.0.1:8080/v1",
	    { "LLAMACPP_API_KEY" }, PF_KEY_OPTIONAL },
	{ "lmstudio", "openai", "http://127.0.0.1:1234/v1",
	    { "LMSTUDIO_API_KEY" }, PF_KEY_OPTIONAL },
};

const struct fetch_provdef *
fetch_provdef_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < nitems(provdefs); i++)
		if (strcasecmp(provdefs[i].name, name) == 0)
			return &provdefs[i];
	return NULL;
}

/* ---- the key arena -------------------------------------------------- */

int
fetch_arena_init(struct fetch_arena *a)
{
	memset(a, 0, sizeof(*a));
	a->size = FETCH_ARENA_SIZE;
	a->mem = mmap(NULL, a->size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a->mem == MAP_FAILED) {
		a->mem = NULL;
		return -1;
	}
	if (mlock(a->mem, a->size) == -1)
		log_warn("mlock of the key arena");
	else
		a->locked = 1;
	if (madvise(a->mem, a->size, MADV_DONTDUMP) == -1)
		log_warn("madvise(MADV_DONTDUMP)");
	return 0;
}

char *
fetch_arena_dup(struct fetch_arena *a, const char *s, size_t n)
{
	char	*p;

	if (a->mem == NULL || a->used + n + 1 > a->size)
		return NULL;
	p = a->mem + a->used;
	memcpy(p, s, n);
	p[n] = '\0';
	a->used += n + 1;
	return p;
}

void
fetch_arena_free(struct fetch_arena *a)
{
	if (a->mem == NULL)
		return;
	explicit_bzero(a->mem, a->size);
	if (a->locked)
		(void)munlock(a->mem, a->size);
	(void)munmap(a->mem, a->size);
	a->mem = NULL;
}

/* ---- config --------------------------------------------------------- */

static int
parse_base(struct fetch_prov *p, char *err, size_t errlen)
{
	CURLU		*u;
	char		*scheme = NULL, *host = NULL, *port = NULL;
	int		 rc = -1;
	size_t		 n;

	n = strlen(p->base);
	while (n > 0 && p->base[n - 1] == '/')
		p->base[--n] = '\0';
	if ((u = curl_url()) == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, p->base, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(err, errlen, "%s: base_url is not a URL", p->provider);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK) {
		snprintf(err, errlen, "%s: base_url has no port", p->provider);
		goto out;
	}
	snprintf(p->host, sizeof(p->host), "%s", host);
	p->port = atoi(port);
	p->loopback = fetch_host_loopback(p->host);
	if (strcasecmp(scheme, "https") != 0 &&
	    !(strcasecmp(scheme, "http") == 0 && p->loopback)) {
		snprintf(err, errlen, "%s: base_url must be https (plain http "
		    "only to loopback)", p->provider);
		goto out;
	}
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

int
fetch_host_loopback(const char *h)
{
	if (strcasecmp(h, "localhost") == 0 || strcmp(h, "[::1]") == 0 ||
	    strcmp(h, "::1") == 0)
		return 1;
	/* 127.0.0.0/8 as a dotted quad. */
	if (strncmp(h, "127.", 4) == 0) {
		for (h += 4; *h != '\0'; h++)
			if (!isdigit((unsigned char)*h) && *h != '.')
				return 0;
		return 1;
	}
	return 0;
}

static const char *
jstr(const json_t *o, const char *k)
{
	const char	*s = json_string_value(json_object_get(o, k));

	return s != NULL && *s != '\0' ? s : NULL;
}

static const struct {
	const char	*name;
	int		 strategy;
} strategies[] = {
	{ "fill_first", KS_FILL_FIRST },
	{ "round_robin", KS_ROUND_ROBIN },
	{ "random", KS_ROUND_ROBIN },		/* spread: close enough */
	{ "least_used", KS_ROUND_ROBIN },
};

static void
load_keys(struct fetch_conf *c, struct fetch_prov *p,
    const struct fetch_provdef *d, fetch_secret_fn secret, void *arg)
{
	const char	*v;
	char		 name[128];
	size_t		 len;
	int		 i, k;

	/* config.yaml's model.api_key (the supervisor strips it from the
	 * config and hands it over as this secret) comes first for the
	 * primary model, as in Hermes. */
	if (c->nchain == 0 && (v = secret(arg, "model.api_key", &len)) !=
	    NULL && len > 0 && len < FETCH_MAX_KEYLEN &&
	    (p->keys[0].val = fetch_arena_dup(&c->arena, v, len)) != NULL) {
		snprintf(p->keys[0].name, sizeof(p->keys[0].name),
		    "model.api_key");
		p->nkeys = 1;
	}

	for (k = 0; k < FETCH_MAX_KEYNAMES && d->keys[k] != NULL; k++) {
		for (i = 1; i <= FETCH_MAX_KEYS &&
		    p->nkeys < FETCH_MAX_KEYS; i++) {
			if (i == 1)
				snprintf(name, sizeof(name), "%s", d->keys[k]);
			else
				snprintf(name, sizeof(name), "%s_%d",
				    d->keys[k], i);
			if ((v = secret(arg, name, &len)) == NULL || len == 0)
				continue;
			if (len >= FETCH_MAX_KEYLEN) {
				log_warnx("%s: %s is too long, ignored",
				    p->provider, name);
				continue;
			}
			p->keys[p->nkeys].val = fetch_arena_dup(&c->arena, v,
			    len);
			if (p->keys[p->nkeys].val == NULL) {
				log_warnx("key arena full");
				return;
			}
			snprintf(p->keys[p->nkeys].name,
			    sizeof(p->keys[0].name), "%s", name);
			p->nkeys++;
		}
	}
}

static int
add_entry(struct fetch_conf *c, const json_t *root, const char *provider,
    const char *model, const char *base, const char *api_mode,
    fetch_secret_fn secret, void *arg, char *err, size_t errlen)
{
	const struct fetch_provdef	*d;
	struct fetch_prov		*p;
	const char			*shape, *s;
	size_t				 i, len;

	if (c->nchain >= FETCH_MAX_CHAIN) {
		snprintf(err, errlen, "fallback chain longer than %d",
		    FETCH_MAX_CHAIN);
		return -1;
	}
	if (provider == NULL)
		provider = base != NULL ? "custom" : "openrouter";
	if ((d = fetch_provdef_find(provider)) == NULL) {
		snprintf(err, errlen, "unknown provider %.64s", provider);
		return -1;
	}
	if (model == NULL) {
		snprintf(err, errlen, "%s: no model", provider);
		return -1;
	}
	p = &c->chain[c->nchain];
	memset(p, 0, sizeof(*p));
	snprintf(p->provider, sizeof(p->provider), "%s", d->name);
	if (strlen(model) >= sizeof(p->model)) {
		snprintf(err, errlen, "%s: model name too long", provider);
		return -1;
	}
	snprintf(p->model, sizeof(p->model), "%s", model);
	if (base == NULL && strcmp(d->name, "custom") == 0 &&
	    (s = secret(arg, "OPENAI_BASE_URL", &len)) != NULL && len > 0 &&
	    len < sizeof(p->base)) {
		memcpy(p->base, s, len);
		p->base[len] = '\0';
	} else if (base != NULL)
		snprintf(p->base, sizeof(p->base), "%s", base);
	else if (d->base != NULL)
		snprintf(p->base, sizeof(p->base), "%s", d->base);
	else {
		snprintf(err, errlen, "%s: no base_url", provider);
		return -1;
	}
	shape = d->shape;
	if (api_mode != NULL && strcmp(api_mode, "anthropic_messages") == 0)
		shape = "anthropic";
	else if (api_mode != NULL && strcmp(api_mode, "chat_completions") == 0)
		shape = "openai";
	if ((p->shape = prov_shape_find(shape)) == NULL) {
		snprintf(err, errlen, "%s: no API shape %s", provider, shape);
		return -1;
	}
	p->flags = d->flags;
	if (parse_base(p, err, errlen) == -1)
		return -1;
	s = jstr(json_object_get(root, "credential_pool_strategies"),
	    d->name);
	p->strategy = KS_FILL_FIRST;
	for (i = 0; s != NULL && i < nitems(strategies); i++)
		if (strcmp(s, strategies[i].name) == 0)
			p->strategy = strategies[i].strategy;
	load_keys(c, p, d, secret, arg);
	if (p->nkeys == 0 && !(p->flags & PF_KEY_OPTIONAL) && !p->loopback)
		log_warnx("%s: no key in the environment (%s)", d->name,
		    d->keys[0]);
	c->nchain++;
	return 0;
}

static int64_t
jint(const json_t *o, const char *k, int64_t dflt, int64_t lo, int64_t hi)
{
	const json_t	*v = json_object_get(o, k);
	int64_t		 x;

	if (!json_is_integer(v))
		return dflt;
	x = json_integer_value(v);
	return x < lo ? lo : (x > hi ? hi : x);
}

int
fetch_conf_parse(struct fetch_conf *c, const char *config_json,
    fetch_secret_fn secret, void *arg, char *err, size_t errlen)
{
	json_t		*root, *m, *fb, *e, *f;
	json_error_t	 je;
	const char	*model;
	size_t		 i;
	int		 rc = -1;

	if (c->arena.mem == NULL && fetch_arena_init(&c->arena) == -1) {
		snprintf(err, errlen, "cannot map the key arena");
		return -1;
	}
	root = json_loads(config_json, 0, &je);
	if (!json_is_object(root)) {
		snprintf(err, errlen, "config is not a JSON object");
		json_decref(root);
		return -1;
	}
	m = json_object_get(root, "model");
	if (json_is_string(m)) {
		/* "model: vendor/name" alone: OpenRouter, as Hermes does. */
		if (add_entry(c, root, NULL, json_string_value(m), NULL, NULL,
		    secret, arg, err, errlen) == -1)
			goto out;
	} else if (json_is_object(m)) {
		model = jstr(m, "default");
		if (model == NULL)
			model = jstr(m, "model");
		if (add_entry(c, root, jstr(m, "provider"), model,
		    jstr(m, "base_url"), jstr(m, "api_mode"), secret, arg, err,
		    errlen) == -1)
			goto out;
	} else {
		snprintf(err, errlen, "config has no model section");
		goto out;
	}
	fb = json_object_get(root, "fallback_providers");
	if (json_is_object(json_object_get(root, "fallback_model")) &&
	    !json_is_array(fb)) {
		e = json_object_get(root, "fallback_model");
		if (add_entry(c, root, jstr(e, "provider"), jstr(e, "model"),
		    jstr(e, "base_url"), jstr(e, "api_mode"), secret, arg, err,
		    errlen) == -1)
			goto out;
	}
	json_array_foreach(fb, i, e) {
		if (add_entry(c, root, jstr(e, "provider"), jstr(e, "model"),
		    jstr(e, "base_url"), jstr(e, "api_mode"), secret, arg, err,
		    errlen) == -1)
			goto out;
	}
	c->max_retries = (int)jint(json_object_get(root, "agent"),
	    "api_max_retries", 3, 0, 20);
	f = json_object_get(root, "fetch");
	c->retry_base_ms = (uint64_t)jint(f, "retry_base_ms", 5000, 0,
	    600000);
	c->retry_max_ms = (uint64_t)jint(f, "retry_max_ms", 120000, 0,
	    3600000);
	c->connect_timeout_ms = jint(f, "connect_timeout_ms", 15000, 100,
	    600000);
	c->idle_timeout_s = jint(f, "idle_timeout_s", 300, 1, 86400);
	c->jitter = 0.5;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

/* Replace every run of 6+ characters of `s` that also occurs in one of
 * the keys by '*': provider messages sometimes echo a masked key. */
void
fetch_redact(const struct fetch_conf *c, char *s)
{
	const struct fetch_prov	*p;
	const char		*k;
	size_t			 n, i, j, best, l;
	int			 e, x;

	n = strlen(s);
	for (i = 0; i < n; i++) {
		best = 0;
		for (e = 0; e < c->nchain; e++) {
			p = &c->chain[e];
			for (x = 0; x < p->nkeys; x++) {
				k = p->keys[x].val;
				for (j = 0; k[j] != '\0'; j++) {
					for (l = 0; i + l < n && k[j + l] !=
					    '\0' && s[i + l] == k[j + l]; l++)
						;
					if (l > best)
						best = l;
				}
			}
		}
		if (best >= 6) {
			memset(s + i, '*', best);
			i += best - 1;
		}
	}
}

void
fetch_conf_free(struct fetch_conf *c)
{
	fetch_arena_free(&c->arena);
	if (c->ca != NULL)
		freezero(c->ca, c->calen);
	c->ca = NULL;
	curl_slist_free_all(c->resolve);
	c->resolve = NULL;
	memset(c->chain, 0, sizeof(c->chain));
	c->nchain = 0;
}
