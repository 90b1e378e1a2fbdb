/*
 * .env: the dotenv parser (quotes, escapes, ${} expansion) on any bytes.
 * No crash, no leak; every value is a C string inside the arena.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct env_list *l = NULL;
	char err[CFG_MAX_ERR];
	size_t i;

	if (env_parse(".env", (const char *)data, size, &l, err,
	    sizeof(err)) == -1) {
		if (l != NULL || err[0] == '\0')
			abort();
		return 0;
	}
	for (i = 0; i < l->nvars; i++) {
		const unsigned char *v = (const unsigned char *)l->vars[i].value;

		if (v < l->arena || v >= l->arena + l->arenasz ||
		    strlen(l->vars[i].value) >= l->arenasz ||
		    env_get(l, l->vars[i].name) == NULL)
			abort();
	}
	env_list_free(l);
	return 0;
}
