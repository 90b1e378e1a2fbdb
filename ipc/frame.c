/*
 * Frame I/O shared by the libevent peer and the blocking API: reading
 * with recvmsg (fds with MSG_CMSG_CLOEXEC, tied to the frame that starts
 * in the read that brought them), and writing queued frames with sendmsg
 * (a frame carrying fds goes in a sendmsg of its own).
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/ipc_priv.h"
#include "ipc/util.h"

#define READ_CHUNK	(64 * 1024)

void
reader_init(struct ipc_reader *rd, int me, int them, int allow_fds)
{
	memset(rd, 0, sizeof(*rd));
	rd->me = me;
	rd->them = them;
	rd->allow_fds = allow_fds;
	msgpack_zone_init(&rd->zone, 4096);
}

void
reader_free(struct ipc_reader *rd)
{
	int	 i;

	for (i = 0; i < rd->nfdq; i++)
		(void)close(rd->fdq[i].fd);
	rd->nfdq = 0;
	if (rd->buf != NULL)
		explicit_bzero(rd->buf, rd->cap);	/* may have held secrets */
	free(rd->buf);
	rd->buf = NULL;
	msgpack_zone_destroy(&rd->zone);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Make room for `need` more bytes after w. */
static void
reserve(struct ipc_reader *rd, size_t need)
{
	size_t	 cap;

	if (rd->r > 0 && (rd->r == rd->w || rd->cap - rd->w < need)) {
		memmove(rd->buf, rd->buf + rd->r, rd->w - rd->r);
		rd->base += rd->r;
		rd->w -= rd->r;
		rd->r = 0;
	}
	if (rd->cap - rd->w >= need)
		return;
	cap = rd->cap == 0 ? READ_CHUNK : rd->cap;
	while (cap - rd->w < need)
		cap *= 2;
	rd->buf = xreallocarray(rd->buf, cap, 1);
	rd->cap = cap;
}

static void
close_fds(int *fds, int n)
{
	int	 i;

	for (i = 0; i < n; i++)
		if (fds[i] != -1)
			(void)close(fds[i]);
}

ssize_t
reader_fill(struct ipc_reader *rd, int fd, char *err, size_t errlen)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
	} cmsgbuf;
	struct msghdr	 msg;
	struct iovec	 iov;
	struct cmsghdr	*cmsg;
	ssize_t		 n;
	size_t		 need = READ_CHUNK, wold, off, cand;
	int		 fds[IPC_MAX_FDS], nfds = 0, i, found = 0;
	uint32_t	 len;

	/* A frame whose header we know gets room for all of it at once. */
	if (rd->w - rd->r >= 4) {
		len = be32(rd->buf + rd->r);
		if (len >= 1 && len <= IPC_MAX_FRAME &&
		    (size_t)len + 4 > rd->w - rd->r &&
		    (size_t)len + 4 - (rd->w - rd->r) > need)
			need = (size_t)len + 4 - (rd->w - rd->r);
	}
	reserve(rd, need);

	memset(&msg, 0, sizeof(msg));
	iov.iov_base = rd->buf + rd->w;
	iov.iov_len = rd->cap - rd->w;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);
	do {
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;

	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		int	*p, k;

		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		p = (int *)CMSG_DATA(cmsg);
		k = (int)((cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < k; i++) {
			if (nfds < IPC_MAX_FDS)
				fds[nfds++] = p[i];
			else
				(void)close(p[i]);
		}
	}
	/*
	 * Truncated control data: the kernel could not install every fd
	 * (out of fds: EMFILE) or the sender sent more than a frame may
	 * carry. The bytes are intact; the frame goes on with the fds that
	 * arrived, and its receiver refuses it if one it needs is missing.
	 */
	if (msg.msg_flags & MSG_CTRUNC)
		log_warnx("a passed fd was lost (out of file descriptors?)");
	wold = rd->w;
	rd->w += (size_t)n;
	if (nfds == 0)
		return n;
	if (!rd->allow_fds) {
		close_fds(fds, nfds);
		snprintf(err, errlen, "fd passing not allowed here");
		errno = EPROTO;
		return -1;
	}
	/* The fds belong to the last frame that starts in this read. */
	cand = 0;
	for (off = rd->r + rd->consume; off < rd->w;) {
		if (off >= wold) {
			cand = off;
			found = 1;
		}
		if (rd->w - off < 4)
			break;
		len = be32(rd->buf + off);
		if (len == 0 || len > IPC_MAX_FRAME)
			break;
		off += 4 + (size_t)len;
	}
	if (!found || rd->nfdq + nfds > READER_MAX_FDQ) {
		close_fds(fds, nfds);
		snprintf(err, errlen, "fds without a frame");
		errno = EPROTO;
		return -1;
	}
	for (i = 0; i < nfds; i++) {
		rd->fdq[rd->nfdq].off = rd->base + cand;
		rd->fdq[rd->nfdq].fd = fds[i];
		rd->nfdq++;
	}
	return n;
}

int
reader_next(struct ipc_reader *rd, struct ipc_msg *m, char *err, size_t errlen)
{
	uint32_t	 len;
	uint64_t	 start;
	int		 fds[IPC_MAX_FDS], nfds = 0, i, j;

	if (rd->consume > 0) {
		rd->r += rd->consume;
		rd->consume = 0;
		msgpack_zone_clear(&rd->zone);
	}
	if (rd->w - rd->r < 4)
		return 0;
	len = be32(rd->buf + rd->r);
	if (len == 0 || len > IPC_MAX_FRAME) {
		snprintf(err, errlen, "frame length %u out of range", len);
		return -1;
	}
	if (rd->w - rd->r < 4 + (size_t)len)
		return 0;

	/* Take this frame's fds; stray ones before it are closed. */
	start = rd->base + rd->r;
	for (i = 0, j = 0; i < rd->nfdq; i++) {
		if (rd->fdq[i].off < start)
			(void)close(rd->fdq[i].fd);
		else if (rd->fdq[i].off == start && nfds < IPC_MAX_FDS)
			fds[nfds++] = rd->fdq[i].fd;
		else
			rd->fdq[j++] = rd->fdq[i];
	}
	rd->nfdq = j;

	rd->consume = 4 + (size_t)len;
	if (ipc_decode(rd->buf + rd->r + 4, len, &rd->zone, rd->them, rd->me,
	    nfds, m, err, errlen) == -1) {
		close_fds(fds, nfds);
		return -1;
	}
	for (i = 0; i < nfds; i++)
		m->fds[i] = fds[i];
	m->nfds = nfds;
	return 1;
}

void
reader_feed(struct ipc_reader *rd, const void *p, size_t n)
{
	reserve(rd, n);
	memcpy(rd->buf + rd->w, p, n);
	rd->w += n;
}

void
msg_close_fds(struct ipc_msg *m)
{
	close_fds(m->fds, m->nfds);
	m->nfds = 0;
}

int
bufq_write(int fd, struct ipc_bufq *q, size_t *queued)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
	} cmsgbuf;
	struct iovec	 iov[16];
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct ipc_buf	*b, *next;
	size_t		 left;
	ssize_t		 n;
	int		 niov = 0;

	while ((b = TAILQ_FIRST(q)) != NULL) {
		memset(&msg, 0, sizeof(msg));
		niov = 0;
		if (b->nfds > 0 && b->off == 0) {
			iov[niov].iov_base = b->data;
			iov[niov++].iov_len = b->len;
			memset(&cmsgbuf, 0, sizeof(cmsgbuf));
			msg.msg_control = cmsgbuf.buf;
			msg.msg_controllen = CMSG_SPACE(sizeof(int) * b->nfds);
			cmsg = CMSG_FIRSTHDR(&msg);
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			cmsg->cmsg_len = CMSG_LEN(sizeof(int) * b->nfds);
			memcpy(CMSG_DATA(cmsg), b->fds, sizeof(int) * b->nfds);
		} else {
			for (; b != NULL && niov < (int)nitems(iov);
			    b = TAILQ_NEXT(b, entry)) {
				if (b->nfds > 0 && b->off == 0 && niov > 0)
					break;
				iov[niov].iov_base = b->data + b->off;
				iov[niov++].iov_len = b->len - b->off;
			}
		}
		msg.msg_iov = iov;
		msg.msg_iovlen = niov;
		do {
			n = sendmsg(fd, &msg, MSG_NOSIGNAL);
		} while (n == -1 && errno == EINTR);
		if (n == -1)
			return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
		left = (size_t)n;
		*queued -= left;
		for (b = TAILQ_FIRST(q); b != NULL && left > 0; b = next) {
			next = TAILQ_NEXT(b, entry);
			if (left < b->len - b->off) {
				b->off += left;
				left = 0;
				break;
			}
			left -= b->len - b->off;
			b->off = b->len;
			TAILQ_REMOVE(q, b, entry);
			ipc_buf_free(b);
		}
		if (TAILQ_FIRST(q) != NULL && TAILQ_FIRST(q)->off > 0)
			return 0;	/* a short write: the socket is full */
	}
	return 0;
}
