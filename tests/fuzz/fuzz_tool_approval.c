/*
 * The approval analyser (normalisation, quote-aware command starts,
 * word de-obfuscation, the pattern tables, the fail-closed shapes) and
 * the output shaping (ANSI, redaction, truncation) on arbitrary bytes.
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
	static char		*allow[] = { "make *", "recursive delete" };
	static char		*deny[] = { "npm publish*" };
	struct tool_policy	 p = { .mode = TOOL_APPROVE_MANUAL,
	    .allowlist = allow, .nallow = 2, .deny = deny, .ndeny = 1,
	    .home = "/home/u", .hermes_home = "/home/u/.hermes" };
	struct tool_verdict_info vi;
	char			*cmd, *s;
	size_t			 n;

	if (size > 16384)
		return 0;
	cmd = malloc(size + 1);
	if (cmd == NULL)
		return 0;
	memcpy(cmd, data, size);
	cmd[size] = '\0';
	tool_check_command(&p, cmd, &cmd, 1, &vi);
	p.mode = TOOL_APPROVE_OFF;
	tool_check_command(&p, cmd, NULL, 0, &vi);
	s = tool_redact(cmd, size & 1);
	free(s);
	s = tool_truncate(cmd, 64);
	free(s);
	n = tool_strip_ansi(cmd, strlen(cmd));
	cmd[n] = '\0';
	s = tool_utf8_sanitize((const char *)data, size, &n);
	free(s);
	free(cmd);
	return 0;
}
