/*
 * Conversations as the store and the model hand them over (any JSON):
 * compression planning, pruning, summaries, cache marks, trajectories.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ipc/util.h"
#include "agent/agent.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_cfg		 cfg;
	struct agent_compress_plan	 p;
	json_t				*msgs, *work, *out, *req;
	char				*s;

	msgs = json_loadb((const char *)data, size, 0, NULL);
	if (!json_is_array(msgs)) {
		json_decref(msgs);
		return 0;
	}
	agent_cfg_defaults(&cfg);
	cfg.context_length = 2000;	/* small: plans with a middle */
	agent_compress_plan(&cfg, "m", msgs, &p);
	if (p.head_end > p.tail_start || p.tail_start > json_array_size(msgs))
		abort();
	work = json_deep_copy(msgs);
	(void)agent_prune_tool_outputs(work, p.head_end, p.tail_start);
	s = agent_fallback_summary(work, p.head_end, p.tail_start);
	if (strlen(s) > AGENT_FALLBACK_MAX)
		abort();
	out = agent_compress_apply(work, &p, s);
	agent_cache_marks(out);
	free(s);
	req = agent_summary_request(work, p.head_end, p.tail_start, "prev", NULL,
	    2000);
	s = agent_trajectory_line(work, "sys", "[]", "m", 1, 0);
	free(s);
	(void)agent_tokens_msgs(msgs, 0, json_array_size(msgs));
	json_decref(req);
	json_decref(out);
	json_decref(work);
	json_decref(msgs);
	agent_cfg_clear(&cfg);
	return 0;
}
