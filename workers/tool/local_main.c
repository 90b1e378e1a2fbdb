/*
 * hermes-tool-local: the terminal and file tools on this machine. Every
 * command runs in a fresh command sandbox (sandbox/cmd.h): new user,
 * mount, pid, ipc and net namespaces, the workspace the only writable
 * root, HERMES_HOME and the supervisor's runtime directory invisible,
 * rlimits, a cgroup, landlock, seccomp. Nothing the model wrote runs in
 * this process. The file tools run here, below the workspace fd with
 * openat2(RESOLVE_BENEATH) (see files.c for why).
 */
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <unistd.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "ipc/worker.h"
#include "sandbox/cmd.h"
#include "sandbox/sandbox.h"
#include "workers/tool/exec.h"
#include "workers/tool/runner.h"
#include "workers/tool/tool.h"

static struct {
	char		*helper_path;
	int		 helper_fd;	/* opened before the sandbox: the
					 * command view may hide the build
					 * dir (a private /tmp) */
	pid_t		 helper;
	int		 helper_in;	/* requests */
	int		 helper_out;	/* replies */
	int		 devnull;
	int		 helper_no_as;
	char		*home;
	char		*hide[SBX_CMD_MAX_HIDE];
	int		 nhide;
	int		 network;
	int		 require;
} L;

static pid_t
local_spawn(void *arg, char *const *argv, char *const *envp, const char *cwd,
    int fd_in, int fd_out, int fd_err, char *err, size_t errlen)
{
	struct sbx_cmd		 c;
	struct sbx_cmd_info	 info;
	struct sbx_cmd_limits	 lim = SBX_CMD_LIMITS_DEFAULT;
	pid_t			 pid;

	memset(&c, 0, sizeof(c));
	memset(&info, 0, sizeof(info));
	c.argv = argv;
	c.envp = envp;
	c.cwd = cwd;
	c.workspace = tool_runner_workspace();
	c.home = L.home;
	c.hide = (const char *const *)L.hide;
	c.network = L.network;
	c.require = L.require;
	/* The runner enforces the wall-clock timeout; CPU seconds would
	 * also end long background processes. */
	lim.cpu_s = 0;
	if (L.helper_no_as)
		lim.as_bytes = 0;
	c.limits = lim;
	c.fd_in = fd_in;
	c.fd_out = fd_out;
	c.fd_err = fd_err;
	if (L.helper_no_as)		/* the file tools' helper */
		c.exec_fd = L.helper_fd;
	pid = sbx_cmd_spawn(&c, &info);
	if (pid == -1)
		snprintf(err, errlen, "command sandbox: %s", info.err[0] ?
		    info.err : "spawn failed");
	return pid;
}

static void
local_kill(void *arg, pid_t pid)
{
	(void)sbx_cmd_kill(pid);
}

static void
local_reaped(void *arg, pid_t pid)
{
	sbx_cmd_release(pid);
}

static char **
local_argv(void *arg, const char *command, const char *cwd, int background)
{
	char	**v = xcalloc(6, sizeof(*v));

	v[0] = xstrdup("/bin/bash");
	v[1] = xstrdup("-c");
	v[2] = xstrdup(tool_wrapper_script);
	v[3] = xstrdup("hermes");
	v[4] = xstrdup(command);
	v[5] = NULL;
	return v;
}

static const struct tool_backend local_backend = {
	local_spawn, local_kill, local_reaped, NULL, local_argv
};

/* ---- the file tools' helper (files_main.c) in the command sandbox ---- */

#define HELPER_TIMEOUT_MS	60000

static void
helper_stop(void)
{
	if (L.helper_in != -1)
		close(L.helper_in);
	if (L.helper_out != -1)
		close(L.helper_out);
	L.helper_in = L.helper_out = -1;
	if (L.helper > 0) {
		pid_t p = L.helper;
		(void)sbx_cmd_kill(p);
		/* the SIGCHLD path may reap it first */
		if (waitpid(p, NULL, 0) == p)
			sbx_cmd_release(p);
	}
	L.helper = -1;
}

static void
helper_reaped(pid_t pid, int status)
{
	if (pid == L.helper) {
		sbx_cmd_release(pid);
		L.helper = -1;
		if (L.helper_in != -1)
			close(L.helper_in);
		if (L.helper_out != -1)
			close(L.helper_out);
		L.helper_in = L.helper_out = -1;
	}
}

static int
helper_start(char *err, size_t errlen)
{
	char	*argv[4], maxc[32], *envp[] = { "PATH=/usr/bin:/bin",
	    "LANG=C.UTF-8", NULL };
	int	 in[2], out[2];
	const json_t *v;

	v = json_object_get(tool_runner_config(), "file_read_max_chars");
	snprintf(maxc, sizeof(maxc), "%lld", json_is_integer(v) ?
	    (long long)json_integer_value(v) : 0LL);
	if (pipe2(in, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if (pipe2(out, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		return -1;
	}
	/* our own code: no per-process address-space cap (sanitizer
	 * builds reserve terabytes of shadow memory) */
	L.helper_no_as = 1;
	argv[0] = L.helper_path;
	argv[1] = (char *)tool_runner_workspace();
	argv[2] = maxc;
	argv[3] = NULL;
	L.helper = local_spawn(NULL, argv, envp, NULL, in[0], out[1],
	    L.devnull, err, errlen);
	L.helper_no_as = 0;
	close(in[0]);
	close(out[1]);
	if (L.helper == -1) {
		close(in[1]);
		close(out[0]);
		return -1;
	}
	L.helper_in = in[1];
	L.helper_out = out[0];
	return 0;
}

static int
io_full(int fd, void *p, size_t n, int wr, uint64_t deadline)
{
	char		*b = p;
	ssize_t		 r;
	struct pollfd	 pfd;

	while (n > 0) {
		pfd.fd = fd;
		pfd.events = wr ? POLLOUT : POLLIN;
		uint64_t now = now_ms();
		if (now >= deadline)
			return -1;
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		r = wr ? write(fd, b, n) : read(fd, b, n);
		if (r == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static char *
local_files(const char *tool, const char *cwd, const char *args)
{
	char		 err[256] = "", *req, *rep;
	unsigned char	 hdr[4];
	size_t		 tl = strlen(tool), cl = strlen(cwd), al = strlen(args);
	size_t		 len = tl + 1 + cl + 1 + al;
	uint32_t	 rl;
	uint64_t	 deadline;
	int		 attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		if (L.helper_in == -1 && helper_start(err, sizeof(err)) == -1)
			return tool_json_error("file tools unavailable: %s", err);
		deadline = now_ms() + HELPER_TIMEOUT_MS;
		req = xmalloc(len + 4);
		req[0] = (char)(len >> 24);
		req[1] = (char)(len >> 16);
		req[2] = (char)(len >> 8);
		req[3] = (char)len;
		memcpy(req + 4, tool, tl + 1);
		memcpy(req + 4 + tl + 1, cwd, cl + 1);
		memcpy(req + 4 + tl + 1 + cl + 1, args, al);
		if (io_full(L.helper_in, req, len + 4, 1, deadline) == -1 ||
		    io_full(L.helper_out, hdr, 4, 0, deadline) == -1) {
			free(req);
			helper_stop();
			continue;	/* a dead helper: start a new one once */
		}
		free(req);
		rl = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) |
		    ((uint32_t)hdr[2] << 8) | hdr[3];
		if (rl > 256u * 1024 * 1024) {
			helper_stop();
			return tool_json_error("file tools: bad reply");
		}
		rep = xmalloc((size_t)rl + 1);
		if (io_full(L.helper_out, rep, rl, 0, deadline) == -1) {
			free(rep);
			helper_stop();
			return tool_json_error("file tools: no reply (timeout)");
		}
		rep[rl] = '\0';
		return rep;
	}
	return tool_json_error("file tools: the helper died");
}

static const struct tool_runner_conf local_conf = { "local", local_files,
	0, NULL, 1, 0 };

static int
local_setup(struct worker *w, const msgpack_object *secrets)
{
	char		 sock[PATH_MAX];

	char		 exe[PATH_MAX];
	ssize_t		 n;

	L.helper = -1;
	L.helper_in = L.helper_out = -1;
	if (tool_runner_setup(w, &local_backend, &local_conf) == -1)
		return -1;
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return -1;
	exe[n] = '\0';
	xasprintf(&L.helper_path, "%s/hermes-tool-files", dirname(exe));
	if (access(L.helper_path, X_OK) == -1 || (L.helper_fd =
	    open(L.helper_path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("tool: %s", L.helper_path);
		return -1;
	}
	if ((L.devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		return -1;
	tool_reap_other = helper_reaped;
	L.home = w->home;
	/* The supervisor's control socket directory: invisible. */
	if (w->sockpath != NULL && strlcpy(sock, w->sockpath, sizeof(sock)) <
	    sizeof(sock))
		L.hide[L.nhide++] = xstrdup(dirname(sock));
	else if (hermes_socket_path(0, sock, sizeof(sock)) == 0)
		L.hide[L.nhide++] = xstrdup(dirname(sock));
	L.hide[L.nhide] = NULL;
	L.network = w->network;		/* decided by the supervisor */
	L.require = w->require;
	return 0;
}

static void
local_shutdown(struct worker *w)
{
	tool_runner_shutdown(w);
	helper_stop();
}

static void
local_dispatch(struct worker *w, int from, struct ipc_peer *peer,
    struct ipc_msg *m)
{
	tool_runner_dispatch(w, from, peer, m);
}

static const struct worker_ops ops = {
	.role = ROLE_TOOL,
	.profile = SBX_TOOL_LOCAL,
	.setup = local_setup,
	.dispatch = local_dispatch,
	.peer_changed = tool_runner_peer_changed,
	.shutdown = local_shutdown,
};

int
main(int argc, char **argv)
{
	worker_main(argc, argv, &ops);
}
