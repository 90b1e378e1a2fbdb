/*
 * bench_tool: the tool runner's two figures, each against its floor
 * measured in the same run.
 *  - `true` through agent -> hermes-tool-local -> command sandbox -> agent
 *    (TOOL_CALL to TOOL_RESULT, a fresh sandbox and bash each time) vs a
 *    bare fork+exec+wait of /bin/true.
 *  - read_file of a 1 MB file (agent -> runner -> file helper in the
 *    sandbox -> agent; the whole file is streamed to count its lines) vs
 *    open+read+close of the same file in this process.
 * Medians of N runs; min and max in the notes.
 */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "tests/harness.h"

#define N_TRUE	200
#define N_READ	300

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
stats(uint64_t *v, size_t n, double *med, double *mn, double *mx)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	*med = (double)v[n / 2];
	*mn = (double)v[0];
	*mx = (double)v[n - 1];
}

static uint64_t
one_call(int fd, struct ipc_rbuf *rb, uint64_t id, const char *name,
    const char *args)
{
	struct ipc_buf	*b;
	struct ipc_msg	 m;
	char		 err[256];
	uint64_t	 t0 = now_us();
	int		 ok = 0;

	b = ipc_new(IPC_MSG_TOOL_CALL, id);
	ipc_add_str(b, "name", name);
	ipc_add_str(b, "args", args);
	ipc_add_str(b, "session", "bench");
	if (ipc_send_fd(fd, b) == -1)
		fatal("send");
	if (ipc_recv_fd(fd, rb, 30000, &m, err, sizeof(err)) != 1)
		fatalx("recv: %s", err);
	if (m.type != IPC_MSG_TOOL_RESULT || m.id != id ||
	    ipc_get_bool(&m, "ok", &ok) == -1 || !ok) {
		char *o = ipc_get_strdup(&m, "output");
		fatalx("%s failed: %s", name, o ? o : "?");
	}
	return now_us() - t0;
}

int
main(void)
{
	char		 top[] = "/tmp/hermes-benchtool-XXXXXX", ws[PATH_MAX],
			 home[PATH_MAX], path[PATH_MAX], *cfg, *line;
	const char	*bdir = getenv("B") ? getenv("B") : "build";
	struct harness	*h;
	struct ipc_rbuf	*rb;
	uint64_t	 v[N_READ], id = 1;
	double		 med, mn, mx, rmed, rmn, rmx;
	size_t		 i;
	int		 fd, st;
	pid_t		 pid;

	log_init("bench_tool", 0);
	if (mkdtemp(top) == NULL)
		fatal("mkdtemp");
	snprintf(ws, sizeof(ws), "%s/ws", top);
	snprintf(home, sizeof(home), "%s/home", top);
	if (mkdir(ws, 0755) == -1 || mkdir(home, 0700) == -1)
		fatal("mkdir");
	xasprintf(&cfg, "{\"terminal\": {\"cwd\": \"%s\"}, \"approvals\": "
	    "{\"mode\": \"manual\"}}", ws);
	snprintf(path, sizeof(path), "%s/hermes-tool-local", bdir);
	if ((h = harness_spawn(path, ROLE_TOOL, home, cfg, NULL, 0)) == NULL)
		fatalx("spawn %s", path);
	fd = harness_peer(h, ROLE_AGENT);
	rb = ipc_rbuf_new(ROLE_AGENT, ROLE_TOOL, 0);

	/* `true`, after a warm-up */
	for (i = 0; i < 5; i++)
		(void)one_call(fd, rb, id++, "terminal", "{\"command\": \"true\"}");
	for (i = 0; i < N_TRUE; i++)
		v[i] = one_call(fd, rb, id++, "terminal", "{\"command\": \"true\"}");
	stats(v, N_TRUE, &med, &mn, &mx);
	for (i = 0; i < N_TRUE; i++) {
		uint64_t t0 = now_us();
		if ((pid = fork()) == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		if (pid == -1 || waitpid(pid, &st, 0) != pid)
			fatal("fork/wait");
		v[i] = now_us() - t0;
	}
	stats(v, N_TRUE, &rmed, &rmn, &rmx);
	printf("BENCH\ttool round trip of `true` via runner+sandbox (us)\t%.0f\t"
	    "%.0f\t%.1f\tmedian of %d; hermes min %.0f max %.0f; reference = "
	    "bare fork+exec+wait of /bin/true, min %.0f max %.0f\n", med, rmed,
	    med / rmed, N_TRUE, mn, mx, rmn, rmx);

	/* a 1 MB file: 10,000 lines of 100 bytes */
	snprintf(path, sizeof(path), "%s/one_mb.txt", ws);
	{
		int wfd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		line = xmalloc(100);
		memset(line, 'x', 99);
		line[99] = '\n';
		for (i = 0; i < 10000; i++)
			if (write(wfd, line, 100) != 100)
				fatal("write");
		close(wfd);
		free(line);
	}
	for (i = 0; i < 5; i++)
		(void)one_call(fd, rb, id++, "read_file",
		    "{\"path\": \"one_mb.txt\"}");
	for (i = 0; i < N_READ; i++)
		v[i] = one_call(fd, rb, id++, "read_file",
		    "{\"path\": \"one_mb.txt\"}");
	stats(v, N_READ, &med, &mn, &mx);
	{
		char *buf = xmalloc(1 << 20);
		for (i = 0; i < N_READ; i++) {
			uint64_t t0 = now_us();
			int rfd = open(path, O_RDONLY);
			ssize_t n, tot = 0;
			while ((n = read(rfd, buf, 1 << 20)) > 0)
				tot += n;
			close(rfd);
			if (tot != 1000000)
				fatalx("short read");
			v[i] = now_us() - t0;
		}
		free(buf);
	}
	stats(v, N_READ, &rmed, &rmn, &rmx);
	printf("BENCH\ttool read_file of a 1 MB file (us)\t%.0f\t%.0f\t%.1f\t"
	    "median of %d (first 500 numbered lines returned, whole file scanned "
	    "for total_lines); hermes min %.0f max %.0f; reference = open+read+"
	    "close in-process, min %.0f max %.0f\n", med, rmed, med / rmed,
	    N_READ, mn, mx, rmn, rmx);
	fflush(stdout);

	ipc_rbuf_free(rb);
	harness_free(h);
	xasprintf(&line, "rm -rf '%s'", top);
	if (system(line) != 0)
		log_warnx("cleanup failed");
	free(line);
	free(cfg);
	return 0;
}
