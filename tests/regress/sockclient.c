/*
 * A control-socket client for the supervisor's tests: speaks the protocol
 * well or badly on purpose.
 *
 *	sockclient SOCK status          print the worker table as lines
 *	                                "role pid state restarts rss_kb"
 *	sockclient SOCK ping N          N ping round trips; prints µs p50 p99
 *	sockclient SOCK chat            hello chat; print the agent's first frame
 *	sockclient SOCK cycles N        N connect/hello/close cycles
 *	sockclient SOCK garbage|truncated|oversize|badversion|badtype|nohello
 *	                                misbehave; exit 0 if the daemon answered
 *	                                with an error frame (or closed) as it must
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "ipc/util.h"

static int
dial(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("connect %s", path);
	return fd;
}

static int	expect_error(int);

static void
hello(int fd, const char *mode, uint64_t version)
{
	struct ipc_buf	*b = ipc_new(IPC_MSG_CLIENT_HELLO, 1);

	ipc_add_u64(b, "version", version);
	ipc_add_str(b, "mode", mode);
	if (ipc_send_fd(fd, b) == -1) {
		/* Refused before our hello: show why, and fail. */
		(void)expect_error(fd);
		exit(1);
	}
}

static int
recv1(int fd, struct ipc_rbuf *rb, struct ipc_msg *m)
{
	char	 err[256];
	int	 r;

	r = ipc_recv_fd(fd, rb, 5000, m, err, sizeof(err));
	if (r == 0)
		fatalx("timeout");
	if (r == 1 && m->type == IPC_MSG_ERROR) {
		const char	*s;
		size_t		 n;

		(void)ipc_get_str(m, "message", &s, &n);
		fatalx("error: %.*s", (int)n, s);
	}
	if (r == -1 && strcmp(err, "eof") != 0)
		fatalx("recv: %s", err);
	return r;
}

/* After misbehaving: an error frame or a close is the right answer. */
static int
expect_error(int fd)
{
	struct ipc_rbuf	*rb = ipc_rbuf_new(ROLE_CLIENT, ROLE_SUPERVISOR, 0);
	struct ipc_msg	 m;
	const char	*s;
	size_t		 n;
	char		 err[256];
	int		 r;

	r = ipc_recv_fd(fd, rb, 10000, &m, err, sizeof(err));
	if (r == 1 && m.type == IPC_MSG_ERROR) {
		(void)ipc_get_str(&m, "message", &s, &n);
		printf("error: %.*s\n", (int)n, s);
		r = 0;
	} else if (r == -1 && strcmp(err, "eof") == 0) {
		printf("closed\n");
		r = 0;
	} else {
		printf("unexpected: %s\n", r == 1 ? ipc_msg_name(m.type) : err);
		r = 1;
	}
	ipc_rbuf_free(rb);
	return r;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct ipc_rbuf	*rb;
	struct ipc_msg	 m;
	const msgpack_object *w, *o;
	const char	*s;
	size_t		 n;
	uint32_t	 i;
	int		 fd, k, count;
	uint64_t	*lat, t0;
	uint8_t		 raw[64];

	if (argc < 3)
		fatalx("usage: sockclient SOCK CMD [N]");
	count = argc > 3 ? atoi(argv[3]) : 1;
	if (strcmp(argv[2], "cycles") == 0) {
		for (k = 0; k < count; k++) {
			fd = dial(argv[1]);
			hello(fd, "ping", IPC_PROTOCOL_VERSION);
			rb = ipc_rbuf_new(ROLE_CLIENT, ROLE_SUPERVISOR, 0);
			if (recv1(fd, rb, &m) != 1 || m.type != IPC_MSG_WELCOME)
				fatalx("cycle %d: no welcome", k);
			ipc_rbuf_free(rb);
			close(fd);
		}
		printf("%d cycles\n", count);
		return 0;
	}
	if (strcmp(argv[2], "hold") == 0) {
		/* N connections at once: how many are served, how many
		 * refused (and with what), then all closed. */
		int	*fds = xcalloc((size_t)count, sizeof(int));
		int	 ok = 0, refused = 0, closed = 0;
		char	 err[256];

		for (k = 0; k < count; k++) {
			struct ipc_buf	*b = ipc_new(IPC_MSG_CLIENT_HELLO, 1);

			fds[k] = dial(argv[1]);
			ipc_add_u64(b, "version", IPC_PROTOCOL_VERSION);
			ipc_add_str(b, "mode", "ping");
			/* Refused before our hello (EPIPE): read why below. */
			(void)ipc_send_fd(fds[k], b);
		}
		for (k = 0; k < count; k++) {
			rb = ipc_rbuf_new(ROLE_CLIENT, ROLE_SUPERVISOR, 0);
			if (ipc_recv_fd(fds[k], rb, 5000, &m, err,
			    sizeof(err)) == 1) {
				if (m.type == IPC_MSG_WELCOME)
					ok++;
				else
					refused++;
			} else
				closed++;
			ipc_rbuf_free(rb);
		}
		printf("served=%d refused=%d closed=%d\n", ok, refused, closed);
		usleep(300000);
		for (k = 0; k < count; k++)
			close(fds[k]);
		free(fds);
		return 0;
	}
	fd = dial(argv[1]);
	rb = ipc_rbuf_new(ROLE_CLIENT, ROLE_SUPERVISOR, 0);
	if (strcmp(argv[2], "status") == 0) {
		hello(fd, "status", IPC_PROTOCOL_VERSION);
		if (recv1(fd, rb, &m) != 1 || m.type != IPC_MSG_WELCOME)
			fatalx("no welcome");
		if (recv1(fd, rb, &m) != 1 || m.type != IPC_MSG_STATUS)
			fatalx("no status");
		w = ipc_get(&m, "workers");
		for (i = 0; i < w->via.array.size; i++) {
			uint64_t	 pid = 0, rs = 0;
			int64_t		 rss = 0;
			const char	*st;
			size_t		 stn;

			o = &w->via.array.ptr[i];
			(void)ipc_obj_str(ipc_obj_map_get(o, "role"), &s, &n);
			(void)ipc_obj_str(ipc_obj_map_get(o, "state"), &st, &stn);
			(void)ipc_obj_u64(ipc_obj_map_get(o, "pid"), &pid);
			(void)ipc_obj_u64(ipc_obj_map_get(o, "restarts"), &rs);
			if (ipc_obj_map_get(o, "rss_kb") != NULL)
				rss = ipc_obj_map_get(o, "rss_kb")->via.i64;
			printf("%.*s %llu %.*s %llu %lld\n", (int)n, s,
			    (unsigned long long)pid, (int)stn, st,
			    (unsigned long long)rs, (long long)rss);
		}
		ipc_rbuf_free(rb);
		close(fd);
		return 0;
	}
	if (strcmp(argv[2], "ping") == 0) {
		hello(fd, "ping", IPC_PROTOCOL_VERSION);
		if (recv1(fd, rb, &m) != 1 || m.type != IPC_MSG_WELCOME)
			fatalx("no welcome");
		lat = xcalloc((size_t)count, sizeof(*lat));
		for (k = 0; k < count; k++) {
			struct ipc_buf	*b = ipc_new(IPC_MSG_PING, (uint64_t)k);

			ipc_add_u64(b, "seq", (uint64_t)k);
			t0 = now_us();
			if (ipc_send_fd(fd, b) == -1)
				fatal("send");
			if (recv1(fd, rb, &m) != 1 || m.type != IPC_MSG_PONG)
				fatalx("no pong");
			lat[k] = now_us() - t0;
		}
		qsort(lat, (size_t)count, sizeof(*lat), cmp_u64);
		printf("%llu %llu\n", (unsigned long long)lat[count / 2],
		    (unsigned long long)lat[(count * 99) / 100]);
		free(lat);
		ipc_rbuf_free(rb);
		close(fd);
		return 0;
	}
	if (strcmp(argv[2], "chat") == 0) {
		hello(fd, "chat", IPC_PROTOCOL_VERSION);
		if (recv1(fd, rb, &m) != 1 || m.type != IPC_MSG_WELCOME)
			fatalx("no welcome");
		ipc_rbuf_set_peer(rb, ROLE_AGENT);
		if (recv1(fd, rb, &m) != 1)
			fatalx("no frame from the agent");
		printf("%s", ipc_msg_name(m.type));
		if (ipc_get_str(&m, "text", &s, &n) == 0)
			printf(" %.*s", (int)n, s);
		printf("\n");
		ipc_rbuf_free(rb);
		close(fd);
		return 0;
	}
	if (strcmp(argv[2], "garbage") == 0) {
		memcpy(raw, "\x00\x00\x00\x08garbage!", 12);
		if (write(fd, raw, 12) != 12)
			fatal("write");
	} else if (strcmp(argv[2], "truncated") == 0) {
		/* A length promising more than ever comes, then a close. */
		memcpy(raw, "\x00\x00\x01\x00\x93\x01", 6);
		if (write(fd, raw, 6) != 6)
			fatal("write");
		shutdown(fd, SHUT_WR);
	} else if (strcmp(argv[2], "oversize") == 0) {
		memcpy(raw, "\x7f\xff\xff\xff", 4);
		if (write(fd, raw, 4) != 4)
			fatal("write");
	} else if (strcmp(argv[2], "badversion") == 0) {
		hello(fd, "status", IPC_PROTOCOL_VERSION + 1000);
	} else if (strcmp(argv[2], "badtype") == 0) {
		/* A message a client may not send. */
		struct ipc_buf	*b = ipc_new(IPC_MSG_SHUTDOWN, 1);

		if (ipc_send_fd(fd, b) == -1)
			fatal("send");
	} else if (strcmp(argv[2], "nohello") == 0) {
		/* Say nothing: the daemon must drop us after its deadline. */
	} else if (strcmp(argv[2], "bomb") == 0) {
		/* msgpack array32 of 16M elements in a 5-byte body. */
		memcpy(raw, "\x00\x00\x00\x05\xdd\x00\xff\xff\xff", 9);
		if (write(fd, raw, 9) != 9)
			fatal("write");
	} else
		fatalx("unknown command %s", argv[2]);
	ipc_rbuf_free(rb);
	k = expect_error(fd);
	close(fd);
	return k;
}
