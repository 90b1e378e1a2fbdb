/*
 * The model's tool-call arguments: parse + schema validation for every
 * tool, and the one-line summaries built from them.
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
	const struct agent_tool	*t;
	json_t			*v, *schema;
	char			*err, *line, *out, why[256];

	if (size < 1)
		return 0;
	t = agent_tool_at(data[0] % agent_tool_count());
	out = xstrndup((const char *)data + 1, size - 1);
	v = agent_tool_check_args(t, (const char *)data + 1, size - 1, &err);
	if (v == NULL) {
		json_t *e = err != NULL ? json_loads(err, 0, NULL) : NULL;
		/* The model must get a JSON {"error": ...}. */
		if (!json_is_string(json_object_get(e, "error")))
			abort();
		json_decref(e);
		free(err);
	} else {
		line = agent_tool_oneline(t->name, v, out);
		free(line);
		json_decref(v);
	}
	/* The input as a schema against the input as an instance. */
	schema = json_loadb((const char *)data + 1, size - 1, 0, NULL);
	if (schema != NULL) {
		(void)agent_schema_validate(schema, schema, why, sizeof why);
		(void)agent_schema_validate(json_object_get(agent_tool_schema(t),
		    "parameters"), schema, why, sizeof why);
		json_decref(schema);
	}
	free(out);
	return 0;
}
