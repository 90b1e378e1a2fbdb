/*
 * SKILL.md frontmatter (libyaml into jansson) and skill-relative paths:
 * both come from the model. No crash, no leak, bounded work; an accepted
 * path never contains a ".." or empty component and never starts with /.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers/store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], *p;
	size_t body = 0;
	json_t *fm;

	fm = store_skill_frontmatter((const char *)data, size, &body, err,
	    sizeof(err));
	if (fm != NULL) {
		if (!json_is_object(fm) || body > size)
			abort();
		json_decref(fm);
	}
	p = malloc(size + 1);
	if (p == NULL)
		return 0;
	memcpy(p, data, size);
	p[size] = '\0';
	if (store_skill_relpath_ok(p, err, sizeof(err))) {
		if (p[0] == '/' || strstr(p, "//") != NULL ||
		    strcmp(p, "..") == 0 || strncmp(p, "../", 3) == 0 ||
		    strstr(p, "/../") != NULL || strstr(p, "/./") != NULL ||
		    (strlen(p) >= 3 && strcmp(p + strlen(p) - 3, "/..") == 0))
			abort();
	}
	(void)store_skill_name_ok(p);
	free(p);
	return 0;
}
