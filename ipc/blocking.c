/*
 * Blocking use of the frame layer: handshakes, the CLI, tests.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/ipc_priv.h"
#include "ipc/util.h"

struct ipc_rbuf {
	struct ipc_reader	 rd;
};

int
ipc_send_fd(int fd, struct ipc_buf *b)
{
	struct ipc_bufq	 q;
	struct pollfd	 pfd;
	size_t		 queued;
	int		 saved;

	(void)ipc_buf_data(b, &queued);
	TAILQ_INIT(&q);
	TAILQ_INSERT_TAIL(&q, b, entry);
	while (!TAILQ_EMPTY(&q)) {
		if (bufq_write(fd, &q, &queued) == -1) {
			saved = errno;
			while ((b = TAILQ_FIRST(&q)) != NULL) {
				TAILQ_REMOVE(&q, b, entry);
				ipc_buf_free(b);
			}
			errno = saved;
			return -1;
		}
		if (TAILQ_EMPTY(&q))
			break;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
			return -1;
	}
	return 0;
}

struct ipc_rbuf *
ipc_rbuf_new(int me, int them, int allow_fds)
{
	struct ipc_rbuf	*rb = xcalloc(1, sizeof(*rb));

	reader_init(&rb->rd, me, them, allow_fds);
	return rb;
}

void
ipc_rbuf_free(struct ipc_rbuf *rb)
{
	if (rb == NULL)
		return;
	reader_free(&rb->rd);
	free(rb);
}

void
ipc_rbuf_set_peer(struct ipc_rbuf *rb, int them)
{
	rb->rd.them = them;
}

int
ipc_recv_fd(int fd, struct ipc_rbuf *rb, int timeout_ms, struct ipc_msg *m,
    char *err, size_t errlen)
{
	struct pollfd	 pfd;
	uint64_t	 deadline = 0;
	ssize_t		 n;
	int		 r, wait;

	if (timeout_ms >= 0)
		deadline = now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		r = reader_next(&rb->rd, m, err, errlen);
		if (r != 0)
			return r;
		wait = -1;
		if (timeout_ms >= 0) {
			uint64_t	 now = now_ms();

			/* Past the deadline: still look once (timeout 0). */
			wait = now >= deadline ? 0 : (int)(deadline - now);
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		r = poll(&pfd, 1, wait);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
		if (r == 0)
			return 0;
		n = reader_fill(&rb->rd, fd, err, errlen);
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			if (errno != EPROTO)
				snprintf(err, errlen, "read: %s",
				    strerror(errno));
			return -1;
		}
		if (n == 0) {
			snprintf(err, errlen, "eof");
			return -1;
		}
	}
}
