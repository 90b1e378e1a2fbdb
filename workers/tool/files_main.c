/*
 * hermes-tool-files: the file tools' helper. tool-local starts one per
 * runner inside the command sandbox (the workspace the only writable
 * root, HERMES_HOME invisible, seccomp, landlock) and sends it requests
 * on stdin; inside, every path is still resolved beneath the workspace
 * with openat2(RESOLVE_BENEATH). Two walls: the sandbox's view and the
 * kernel's path resolution.
 *
 * Frames both ways: a 4-byte big-endian length, then the bytes.
 * Request: "tool" NUL "cwd" NUL "args JSON". Reply: the tool's JSON.
 * argv[1]: the workspace.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/util.h"
#include "workers/tool/tool.h"

#define FRAME_MAX	(64u * 1024 * 1024)

static int
read_full(int fd, void *p, size_t n)
{
	char	*b = p;
	ssize_t	 r;

	while (n > 0) {
		r = read(fd, b, n);
		if (r == 0)
			return 0;
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += r;
		n -= (size_t)r;
	}
	return 1;
}

static int
write_full(int fd, const void *p, size_t n)
{
	const char	*b = p;
	ssize_t		 w;

	while (n > 0) {
		w = write(fd, b, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static const struct {
	const char	*name;
	char		*(*fn)(const struct tool_fs *, const char *, const char *);
} tools[] = {
	{ "read_file", tool_read_file },
	{ "write_file", tool_write_file },
	{ "patch", tool_patch },
	{ "search_files", tool_search_files },
};

int
main(int argc, char **argv)
{
	struct tool_fs	 fs;
	unsigned char	 hdr[4];
	uint32_t	 len;
	char		*req, *tool, *cwd, *args, *out;
	size_t		 i, olen;
	int		 r;

	log_init("tool-files", 0);
	(void)signal(SIGPIPE, SIG_IGN);
	if (argc < 2 || tool_fs_open(&fs, argv[1]) == -1) {
		fprintf(stderr, "usage: hermes-tool-files workspace\n");
		return 2;
	}
	if (argc >= 3)
		fs.read_max_chars = (size_t)strtoul(argv[2], NULL, 10);
	if (fs.read_max_chars == 0)
		fs.read_max_chars = TOOL_READ_MAX_CHARS;
	for (;;) {
		r = read_full(0, hdr, 4);
		if (r <= 0)
			return r == 0 ? 0 : 1;
		len = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) |
		    ((uint32_t)hdr[2] << 8) | hdr[3];
		if (len == 0 || len > FRAME_MAX)
			return 1;
		req = xmalloc((size_t)len + 1);
		if (read_full(0, req, len) != 1)
			return 1;
		req[len] = '\0';
		tool = req;
		cwd = memchr(req, '\0', len);
		args = cwd ? memchr(cwd + 1, '\0', len - (size_t)(cwd + 1 - req)) :
		    NULL;
		out = NULL;
		if (cwd != NULL && args != NULL) {
			cwd++;
			args++;
			if (strcmp(tool, "context") == 0)
				out = tool_context_files(&fs, cwd);
			for (i = 0; out == NULL && i < nitems(tools); i++)
				if (strcmp(tools[i].name, tool) == 0)
					out = tools[i].fn(&fs, cwd, args);
		}
		if (out == NULL)
			out = tool_json_error("bad request");
		olen = strlen(out);
		hdr[0] = (unsigned char)(olen >> 24);
		hdr[1] = (unsigned char)(olen >> 16);
		hdr[2] = (unsigned char)(olen >> 8);
		hdr[3] = (unsigned char)olen;
		if (write_full(1, hdr, 4) == -1 || write_full(1, out, olen) == -1)
			return 1;
		free(out);
		free(req);
	}
}
