/*
 * Cost of sandbox_enter() per role (median of N forks, µs), and the
 * per-command overhead of the command sandbox: sbx_cmd_spawn() running
 * /bin/true against a bare fork+exec of /bin/true, both measured here.
 * Prints BENCH lines (docs/HACKING.md).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipc/util.h"
#include "sandbox/cmd.h"
#include "sandbox/sandbox.h"

#define N_ENTER	41
#define N_CMD	41

static uint64_t
us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int
cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
stats(uint64_t *v, int n, uint64_t *med, uint64_t *mn, uint64_t *mx)
{
	qsort(v, (size_t)n, sizeof *v, cmp);
	*med = v[n / 2];
	*mn = v[0];
	*mx = v[n - 1];
}

/* Time sandbox_enter() inside a fork; the child reports through a pipe. */
static int
enter_cost(enum sbx_profile p, const struct sbx_ctx *ctx, uint64_t *out)
{
	uint64_t	 t;
	pid_t		 pid;
	int		 fd[2], st;

	if (pipe(fd) == -1)
		return -1;
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		close(fd[0]);
		t = us();
		if (sandbox_enter(p, ctx) == -1)
			_exit(1);
		t = us() - t;
		if (write(fd[1], &t, sizeof t) != sizeof t)
			_exit(2);
		_exit(0);
	}
	close(fd[1]);
	if (read(fd[0], out, sizeof *out) != sizeof *out)
		*out = UINT64_MAX;
	close(fd[0]);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int
readall(int fd, void *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = read(fd, buf, len)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			return -1;
		}
		buf = (char *)buf + n;
		len -= (size_t)n;
	}
	return 0;
}

static uint64_t
bare_true(void)
{
	char *const	 argv[] = { "true", NULL };
	char *const	 envp[] = { NULL };
	uint64_t	 t = us();
	pid_t		 pid;
	int		 st;

	if ((pid = fork()) == 0) {
		execve("/bin/true", argv, envp);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			fatal("waitpid");
	return us() - t;
}

static uint64_t
sbx_true(const char *ws, const char *home)
{
	char *const		 argv[] = { "/bin/true", NULL };
	struct sbx_cmd		 c;
	struct sbx_cmd_info	 info;
	struct sbx_cmd_limits	 l = SBX_CMD_LIMITS_DEFAULT;
	uint64_t		 t = us();
	pid_t			 pid;
	int			 st;

	memset(&c, 0, sizeof c);
	c.argv = argv;
	c.workspace = ws;
	c.home = home;
	c.limits = l;
	c.fd_in = c.fd_out = c.fd_err = -1;
	if ((pid = sbx_cmd_spawn(&c, &info)) == -1) {
		fprintf(stderr, "spawn: %s\n", info.err);
		return UINT64_MAX;
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			fatal("waitpid");
	t = us() - t;
	sbx_cmd_release(pid);
	return t;
}

int
main(void)
{
	static const enum sbx_profile roles[] = {
		SBX_SUPERVISOR, SBX_AGENT, SBX_FETCH, SBX_STORE,
		SBX_TOOL_LOCAL, SBX_TOOL_DOCKER, SBX_TOOL_SSH, SBX_BRIDGE,
		SBX_WEB, SBX_CRON,
	};
	char		 base[] = "/var/tmp/hermes-bench-XXXXXX";
	char		 ws[64], home[64], cmd[96];
	uint64_t	 v[N_CMD], b[N_CMD], med, mn, mx, bmed, bmn, bmx;
	struct sbx_ctx	 ctx;
	size_t		 r;
	pid_t		 pid;
	int		 i, ok, pfd[2], confined = 0;

	log_init("bench_sandbox", 0);
	if (mkdtemp(base) == NULL)
		fatal("mkdtemp");
	snprintf(ws, sizeof ws, "%s/ws", base);
	snprintf(home, sizeof home, "%s/home", base);
	if (mkdir(ws, 0755) == -1 || mkdir(home, 0755) == -1)
		fatal("mkdir");
	memset(&ctx, 0, sizeof ctx);
	ctx.home = home;
	ctx.workspace = ws;
	ctx.require = 0;
	ctx.network = 0;

	for (r = 0; r < nitems(roles); r++) {
		ok = 1;
		for (i = 0; i < N_ENTER; i++)
			if (enter_cost(roles[r], &ctx, &v[i]) == -1)
				ok = 0;
		if (!ok) {
			printf("BENCH\tsandbox_enter %s (us)\tfailed\t-\t-\t"
			    "sandbox_enter returned -1\n",
			    sandbox_profile_name(roles[r]));
			continue;
		}
		stats(v, N_ENTER, &med, &mn, &mx);
		printf("BENCH\tsandbox_enter %s (us)\t%llu\t-\t-\tmedian of "
		    "%d forks, min %llu max %llu\n",
		    sandbox_profile_name(roles[r]), (unsigned long long)med,
		    N_ENTER, (unsigned long long)mn, (unsigned long long)mx);
	}

	/*
	 * The production path: a runner confined by the tool-local profile
	 * spawns the command sandboxes; the bare fork+exec runs in the same
	 * process, interleaved so drift hits both alike.
	 */
	if (pipe(pfd) == -1)
		fatal("pipe");
	if ((pid = fork()) == 0) {
		close(pfd[0]);
		confined = sandbox_enter(SBX_TOOL_LOCAL, &ctx) == 0;
		for (i = 0; i < N_CMD; i++) {
			b[i] = bare_true();
			v[i] = sbx_true(ws, home);
		}
		if (write(pfd[1], &confined, sizeof confined) < 0 ||
		    write(pfd[1], b, sizeof b) < 0 ||
		    write(pfd[1], v, sizeof v) < 0)
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	if (readall(pfd[0], &confined, sizeof confined) == -1 ||
	    readall(pfd[0], b, sizeof b) == -1 ||
	    readall(pfd[0], v, sizeof v) == -1)
		fatalx("runner child failed");
	close(pfd[0]);
	while (waitpid(pid, &i, 0) == -1)
		if (errno != EINTR)
			fatal("waitpid");
	sbx_cmd_release(pid);		/* the runner child's cgroup */
	stats(v, N_CMD, &med, &mn, &mx);
	stats(b, N_CMD, &bmed, &bmn, &bmx);
	if (mx == UINT64_MAX)
		printf("BENCH\tcommand sandbox /bin/true (us)\tfailed\t%llu\t-"
		    "\tsbx_cmd_spawn failed\n", (unsigned long long)bmed);
	else
		printf("BENCH\tcommand sandbox /bin/true (us)\t%llu\t%llu\t"
		    "%.2f\tsbx_cmd_spawn+wait vs bare fork+exec+wait from a "
		    "%s runner, median of %d; sandbox min %llu max %llu, bare "
		    "min %llu max %llu\n", (unsigned long long)med,
		    (unsigned long long)bmed, bmed ? (double)med / (double)bmed
		    : 0.0, confined ? "tool-local confined" : "UNCONFINED",
		    N_CMD, (unsigned long long)mn, (unsigned long long)mx,
		    (unsigned long long)bmn, (unsigned long long)bmx);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
	return 0;
}
