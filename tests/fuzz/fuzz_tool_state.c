/*
 * The shell-state dump a sandboxed command reports after it exits (cwd,
 * NUL, `export -p`): written by code the model controls, parsed by the
 * runner.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/util.h"
#include "workers/tool/exec.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char		*base[] = { "PATH=/bin", "HOME=/h", NULL };
	struct tool_shstate	 st;

	if (size > 262144)
		return 0;
	tool_shstate_init(&st, base, "/w");
	(void)tool_shstate_parse(&st, (const char *)data, size);
	tool_shstate_free(&st);
	return 0;
}
