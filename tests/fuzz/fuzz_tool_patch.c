/*
 * The patch parser (V4A and unified diffs), hunk application and the
 * fuzzy replace chain, on arbitrary bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/util.h"
#include "workers/tool/tool.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tool_patchset	 ps;
	char			 err[256], *text, *r, *e, *parts[3];
	const char		*st;
	size_t			 i, k;
	int			 n;

	if (size > 65536)
		return 0;
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (tool_patch_parse(text, &ps, err, sizeof(err)) == 0) {
		for (i = 0; i < ps.nfiles; i++) {
			r = tool_patch_apply_hunks("a\nb\n\nc d\n  e\nf\n",
			    &ps.files[i], err, sizeof(err));
			free(r);
		}
		tool_patchset_free(&ps);
	}
	/* content \x01 old \x01 new */
	parts[0] = text;
	for (k = 1; k < 3; k++) {
		char *p = strchr(parts[k - 1], '\x01');
		if (p == NULL)
			break;
		*p = '\0';
		parts[k] = p + 1;
	}
	if (k == 3) {
		e = NULL;
		r = tool_fuzzy_replace(parts[0], parts[1], parts[2], size & 1, &n,
		    &st, &e);
		free(r);
		free(e);
		r = tool_unified_diff(parts[0], parts[1], "f");
		free(r);
	}
	free(text);
	return 0;
}
