/*
 * Session cache coherence. The agent keeps per-session state keyed by
 * session_key and records the session_id and the store's message_count
 * it was built from:
 *  - a record whose session_id differs from the active one is reused
 *    without invalidation (switching sessions keeps the prompt cache, and
 *    switching back does not rebuild);
 *  - the same session_id with another count in the store means another
 *    process wrote: rebuild from the store;
 *  - after a turn the baseline moves only when the session_id is the same.
 */
#include <stdlib.h>
#include <string.h>

#include "ipc/util.h"
#include "agent/agent.h"

enum agent_cache_verdict
agent_cache_check(const struct agent_cache_rec *r, const char *active_id,
    uint64_t store_count)
{
	if (r == NULL || r->session_id == NULL)
		return CACHE_MISS;
	if (active_id == NULL || strcmp(r->session_id, active_id) != 0)
		return CACHE_REUSE;
	if (store_count != r->baseline)
		return CACHE_REBUILD;
	return CACHE_HIT;
}

void
agent_cache_build(struct agent_cache_rec *r, const char *id, uint64_t count)
{
	if (r->session_id == NULL || strcmp(r->session_id, id) != 0) {
		free(r->session_id);
		r->session_id = xstrdup(id);
	} else
		r->rebuilds++;
	r->baseline = count;
}

int
agent_cache_turn_done(struct agent_cache_rec *r, const char *id,
    uint64_t count)
{
	if (r->session_id == NULL || id == NULL ||
	    strcmp(r->session_id, id) != 0)
		return 0;
	r->baseline = count;
	return 1;
}

void
agent_cache_clear(struct agent_cache_rec *r)
{
	free(r->session_id);
	memset(r, 0, sizeof *r);
}
