/*
 * IPC round trip through libipc (build, frame, pre-scan, unpack, validate,
 * both ways) vs a raw write/read ping-pong of the same bytes over the same
 * kind of socketpair, measured in the same run.
 *
 *	bench_ipc [round_trips_per_run] [runs]
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "ipc/util.h"

static int
cmp_d(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
readn(int fd, void *p, size_t n)
{
	ssize_t	 r;
	size_t	 off = 0;

	while (off < n) {
		if ((r = read(fd, (char *)p + off, n - off)) <= 0)
			_exit(1);
		off += (size_t)r;
	}
}

static void
raw_echo(int fd, size_t n)
{
	char	 buf[256];

	for (;;) {
		readn(fd, buf, n);
		if (write(fd, buf, n) != (ssize_t)n)
			_exit(1);
	}
}

static void
ipc_echo(int fd)
{
	struct ipc_rbuf	*rb = ipc_rbuf_new(ROLE_AGENT, ROLE_SUPERVISOR, 0);
	struct ipc_msg	 m;
	struct ipc_buf	*b;
	char		 err[128];
	uint64_t	 seq;

	for (;;) {
		if (ipc_recv_fd(fd, rb, -1, &m, err, sizeof(err)) != 1)
			_exit(0);
		(void)ipc_get_u64(&m, "seq", &seq);
		b = ipc_new(IPC_MSG_PONG, m.id);
		ipc_add_u64(b, "seq", seq);
		if (ipc_send_fd(fd, b) == -1)
			_exit(1);
	}
}

static pid_t
spawn(int mode, int *fdp, size_t n)
{
	int	 sv[2];
	pid_t	 pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		fatal("socketpair");
	if ((pid = fork()) == 0) {
		close(sv[0]);
		if (mode == 0)
			raw_echo(sv[1], n);
		ipc_echo(sv[1]);
	}
	close(sv[1]);
	*fdp = sv[0];
	return pid;
}

int
main(int argc, char **argv)
{
	int		 n = argc > 1 ? atoi(argv[1]) : 20000;
	int		 runs = argc > 2 ? atoi(argv[2]) : 7;
	double		 raw[64], lib[64];
	struct ipc_rbuf	*rb;
	struct ipc_msg	 m;
	struct ipc_buf	*b;
	const uint8_t	*frame;
	char		 buf[256], err[128];
	size_t		 flen;
	uint64_t	 t0;
	int		 fd, r, i;
	pid_t		 pid;

	if (runs > 64)
		runs = 64;
	log_init("bench_ipc", 0);
	/* The raw side moves exactly the bytes of one PING frame. */
	b = ipc_new(IPC_MSG_PING, 1);
	ipc_add_u64(b, "seq", 1);
	frame = ipc_buf_data(b, &flen);
	memcpy(buf, frame, flen);
	ipc_buf_free(b);

	for (r = 0; r < runs; r++) {
		pid = spawn(0, &fd, flen);
		t0 = now_us();
		for (i = 0; i < n; i++) {
			if (write(fd, buf, flen) != (ssize_t)flen)
				fatal("write");
			readn(fd, buf, flen);
		}
		raw[r] = (double)(now_us() - t0) / n;
		close(fd);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);

		pid = spawn(1, &fd, 0);
		rb = ipc_rbuf_new(ROLE_SUPERVISOR, ROLE_AGENT, 0);
		t0 = now_us();
		for (i = 0; i < n; i++) {
			b = ipc_new(IPC_MSG_PING, (uint64_t)i);
			ipc_add_u64(b, "seq", (uint64_t)i);
			if (ipc_send_fd(fd, b) == -1)
				fatal("send");
			if (ipc_recv_fd(fd, rb, 5000, &m, err, sizeof(err)) != 1 ||
			    m.type != IPC_MSG_PONG)
				fatalx("recv: %s", err);
		}
		lib[r] = (double)(now_us() - t0) / n;
		ipc_rbuf_free(rb);
		close(fd);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	qsort(raw, (size_t)runs, sizeof(double), cmp_d);
	qsort(lib, (size_t)runs, sizeof(double), cmp_d);
	printf("BENCH\tIPC round trip (libipc PING/PONG, us)\t%.2f\t%.2f\t%.2f\t"
	    "raw write/read of the same %zu bytes; median of %d runs x %d; "
	    "hermes min/max %.2f/%.2f, raw min/max %.2f/%.2f\n",
	    lib[runs / 2], raw[runs / 2], lib[runs / 2] / raw[runs / 2], flen,
	    runs, n, lib[0], lib[runs - 1], raw[0], raw[runs - 1]);
	return 0;
}
