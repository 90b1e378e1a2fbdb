/*
 * The agent's view of config.yaml (handed over as JSON in CONFIG). Key
 * names are Hermes's (reference/hermes.md §15).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ipc/util.h"
#include "agent/agent.h"

void
agent_cfg_defaults(struct agent_cfg *c)
{
	memset(c, 0, sizeof *c);
	c->model = xstrdup("anthropic/claude-sonnet-4");
	c->provider = xstrdup("auto");
	c->max_turns = AGENT_MAX_TURNS_DEFAULT;
	c->threshold = 0.50;
	c->target_ratio = 0.20;
	c->compression_on = 1;
	c->protect_first = AGENT_PROTECT_FIRST;
	c->protect_last = AGENT_PROTECT_LAST;
	c->cache_ttl = xstrdup("5m");
	c->memory_nudge = AGENT_MEMORY_NUDGE;
	c->skill_nudge = AGENT_SKILL_NUDGE;
	c->memory_on = 1;
	c->user_profile_on = 1;
}

void
agent_cfg_clear(struct agent_cfg *c)
{
	free(c->model);
	free(c->provider);
	free(c->cache_ttl);
	free(c->personality);
	free(c->system_message);
	json_decref(c->personalities);
	json_decref(c->platform_hints);
	json_decref(c->disabled_toolsets);
	memset(c, 0, sizeof *c);
}

static json_t *
path(json_t *root, const char *a, const char *b)
{
	json_t	*v = json_object_get(root, a);

	if (b == NULL || !json_is_object(v))
		return b == NULL ? v : NULL;
	return json_object_get(v, b);
}

static void
set_str(char **dst, json_t *v)
{
	if (!json_is_string(v) || json_string_length(v) == 0)
		return;
	free(*dst);
	*dst = xstrdup(json_string_value(v));
}

static void
set_uint(unsigned *dst, json_t *v, unsigned lo, unsigned hi)
{
	json_int_t	 i;

	if (!json_is_integer(v))
		return;
	i = json_integer_value(v);
	if (i >= lo && i <= hi)
		*dst = (unsigned)i;
}

static void
set_u64(uint64_t *dst, json_t *v)
{
	if (json_is_integer(v) && json_integer_value(v) > 0)
		*dst = (uint64_t)json_integer_value(v);
}

static void
set_bool(int *dst, json_t *v)
{
	if (json_is_boolean(v))
		*dst = json_is_true(v);
}

static void
set_ratio(double *dst, json_t *v)
{
	if (json_is_number(v) && json_number_value(v) > 0.0 &&
	    json_number_value(v) <= 1.0)
		*dst = json_number_value(v);
}

static void
set_obj(json_t **dst, json_t *v, int want_array)
{
	if (want_array ? !json_is_array(v) : !json_is_object(v))
		return;
	json_decref(*dst);
	*dst = json_incref(v);
}

int
agent_cfg_load(struct agent_cfg *c, const char *text)
{
	json_t		*root, *m;
	json_error_t	 e;

	if (text == NULL || *text == '\0')
		return 0;
	if ((root = json_loads(text, 0, &e)) == NULL) {
		log_warnx("config: %s", e.text);
		return -1;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		return -1;
	}
	m = json_object_get(root, "model");
	if (json_is_string(m))		/* model: "name" shorthand */
		set_str(&c->model, m);
	else {
		set_str(&c->model, path(root, "model", "default"));
		set_str(&c->model, path(root, "model", "model"));
		set_str(&c->provider, path(root, "model", "provider"));
		set_u64(&c->context_length, path(root, "model", "context_length"));
		set_u64(&c->max_tokens, path(root, "model", "max_tokens"));
	}
	set_uint(&c->max_turns, path(root, "agent", "max_turns"), 1, 100000);
	set_bool(&c->save_trajectories, path(root, "agent", "save_trajectories"));
	set_str(&c->system_message, path(root, "agent", "system_prompt"));
	set_obj(&c->disabled_toolsets, path(root, "agent", "disabled_toolsets"), 1);
	set_bool(&c->compression_on, path(root, "compression", "enabled"));
	set_ratio(&c->threshold, path(root, "compression", "threshold"));
	set_ratio(&c->target_ratio, path(root, "compression", "target_ratio"));
	set_uint(&c->protect_first, path(root, "compression", "protect_first_n"),
	    0, 1000);
	set_uint(&c->protect_last, path(root, "compression", "protect_last_n"),
	    0, 100000);
	set_bool(&c->abort_on_summary_failure,
	    path(root, "compression", "abort_on_summary_failure"));
	set_str(&c->cache_ttl, path(root, "prompt_caching", "cache_ttl"));
	set_bool(&c->memory_on, path(root, "memory", "memory_enabled"));
	set_bool(&c->user_profile_on, path(root, "memory", "user_profile_enabled"));
	set_uint(&c->memory_nudge, path(root, "memory", "nudge_interval"), 0,
	    100000);
	set_uint(&c->skill_nudge, path(root, "skills", "creation_nudge_interval"),
	    0, 100000);
	set_str(&c->personality, path(root, "display", "personality"));
	set_obj(&c->personalities, path(root, "personalities", NULL), 0);
	set_obj(&c->platform_hints, path(root, "platform_hints", NULL), 0);
	json_decref(root);
	return 0;
}
