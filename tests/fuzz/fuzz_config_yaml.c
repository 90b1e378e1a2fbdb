/*
 * config.yaml: YAML text -> JSON tree -> validation -> typed fields ->
 * the JSON workers get. No crash, no leak, bounded memory.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "supervisor/config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = { "model", "model.default",
		"terminal.backend", "fallback_providers.0.model",
		"tenants", "a.b.c" };
	struct hermes_config *cfg = NULL;
	char err[CFG_MAX_ERR];
	unsigned line, col;
	size_t i;
	char *s;

	if (config_parse("fuzz.yaml", (const char *)data, size, &cfg, err,
	    sizeof(err)) == -1) {
		if (cfg != NULL || err[0] == '\0')
			abort();
		return 0;
	}
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		(void)config_get(cfg, paths[i]);
		(void)config_where(cfg, paths[i], &line, &col);
	}
	if ((s = config_public_json(cfg)) == NULL)
		abort();
	free(s);
	config_free(cfg);
	return 0;
}
