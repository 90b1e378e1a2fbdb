/*
 * A libevent peer: reads frames with their fds, validates them against the
 * message table, dispatches whole frames only, and writes a queue with
 * high/low watermarks. (libevent bufferevents cannot carry fds.)
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "ipc/ipc_priv.h"
#include "ipc/util.h"

struct ipc_peer {
	int			 fd;
	int			 me, them;
	struct event		*rev, *wev;
	struct ipc_reader	 rd;
	struct ipc_bufq		 wq;
	size_t			 queued;
	size_t			 wm_high, wm_low;
	int			 above;
	ipc_wm_fn		 wm_cb;
	ipc_dispatch_fn		 dispatch;
	ipc_close_fn		 on_close;
	void			*arg;
	int			 dead;		/* closed: no more callbacks */
	int			 freed;		/* free once callbacks return */
	int			 busy;		/* inside a callback */
	int			 paused;
};

static void	peer_read_cb(evutil_socket_t, short, void *);
static void	peer_write_cb(evutil_socket_t, short, void *);

struct ipc_peer *
ipc_peer_new(struct event_base *base, int fd, int me, int them,
    int allow_fds, ipc_dispatch_fn dispatch, ipc_close_fn on_close, void *arg)
{
	struct ipc_peer	*p;

	if (set_nonblock(fd) == -1)
		fatal("ipc_peer_new: fcntl");
	p = xcalloc(1, sizeof(*p));
	p->fd = fd;
	p->me = me;
	p->them = them;
	p->dispatch = dispatch;
	p->on_close = on_close;
	p->arg = arg;
	p->wm_high = IPC_WQ_HIGH;
	p->wm_low = IPC_WQ_LOW;
	TAILQ_INIT(&p->wq);
	reader_init(&p->rd, me, them, allow_fds);
	p->rev = event_new(base, fd, EV_READ | EV_PERSIST, peer_read_cb, p);
	p->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, peer_write_cb, p);
	if (p->rev == NULL || p->wev == NULL)
		fatalx("ipc_peer_new: event_new");
	if (event_add(p->rev, NULL) == -1)
		fatalx("ipc_peer_new: event_add");
	return p;
}

static void
peer_destroy(struct ipc_peer *p)
{
	struct ipc_buf	*b;

	event_free(p->rev);
	event_free(p->wev);
	while ((b = TAILQ_FIRST(&p->wq)) != NULL) {
		TAILQ_REMOVE(&p->wq, b, entry);
		ipc_buf_free(b);
	}
	reader_free(&p->rd);
	if (p->fd != -1)
		(void)close(p->fd);
	free(p);
}

void
ipc_peer_free(struct ipc_peer *p)
{
	if (p == NULL)
		return;
	p->dead = 1;
	(void)event_del(p->rev);
	(void)event_del(p->wev);
	if (p->busy) {
		p->freed = 1;
		return;
	}
	peer_destroy(p);
}

/* The connection is over: tell the owner once. */
static void
peer_closed(struct ipc_peer *p, const char *err)
{
	if (p->dead)
		return;
	p->dead = 1;
	(void)event_del(p->rev);
	(void)event_del(p->wev);
	p->busy++;
	p->on_close(p, err, p->arg);
	p->busy--;
	if (p->freed && p->busy == 0)
		peer_destroy(p);
}

static void
peer_flush(struct ipc_peer *p)
{
	if (bufq_write(p->fd, &p->wq, &p->queued) == -1) {
		char	 err[128];

		snprintf(err, sizeof(err), "write: %s", strerror(errno));
		peer_closed(p, err);
		return;
	}
	if (TAILQ_EMPTY(&p->wq))
		(void)event_del(p->wev);
	else
		(void)event_add(p->wev, NULL);
	if (p->above && p->queued <= p->wm_low) {
		p->above = 0;
		if (p->wm_cb != NULL) {
			p->busy++;
			p->wm_cb(p, 0, p->arg);
			p->busy--;
		}
	}
}

static void
peer_write_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct ipc_peer	*p = arg;

	p->busy++;
	peer_flush(p);
	p->busy--;
	if (p->freed && p->busy == 0)
		peer_destroy(p);
}

int
ipc_peer_send(struct ipc_peer *p, struct ipc_buf *b)
{
	size_t	 len;
	int	 rv;

	(void)ipc_buf_data(b, &len);
	if (p->dead) {
		ipc_buf_free(b);
		return -1;
	}
	p->busy++;
	TAILQ_INSERT_TAIL(&p->wq, b, entry);
	p->queued += len;
	if (p->queued > IPC_WQ_MAX)
		peer_closed(p, "write queue over its limit");
	if (!p->dead && !p->above && p->queued > p->wm_high) {
		p->above = 1;
		if (p->wm_cb != NULL)
			p->wm_cb(p, 1, p->arg);
	}
	/* Write at once when nothing else was pending: saves a loop turn. */
	if (!p->dead) {
		if (TAILQ_FIRST(&p->wq) == b && p->busy == 1)
			peer_flush(p);
		else
			(void)event_add(p->wev, NULL);
	}
	rv = p->dead ? -1 : 0;
	p->busy--;
	if (p->freed && p->busy == 0)
		peer_destroy(p);
	return rv;
}

static void
peer_vfail(struct ipc_peer *p, const char *code, const char *fmt, va_list ap)
{
	struct ipc_buf	*b;
	char		 msg[256];
	struct pollfd	 pfd;
	uint64_t	 deadline;

	if (p->dead)
		return;
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	b = ipc_new(IPC_MSG_ERROR, 0);
	ipc_add_str(b, "code", code);
	ipc_add_str(b, "message", msg);
	(void)ipc_buf_data(b, &(size_t){0});
	TAILQ_INSERT_TAIL(&p->wq, b, entry);
	p->queued += b->len;
	/* Best effort, bounded: the peer may not be reading. */
	deadline = now_ms() + 100;
	while (!TAILQ_EMPTY(&p->wq) && now_ms() < deadline) {
		if (bufq_write(p->fd, &p->wq, &p->queued) == -1)
			break;
		if (TAILQ_EMPTY(&p->wq))
			break;
		pfd.fd = p->fd;
		pfd.events = POLLOUT;
		(void)poll(&pfd, 1, 10);
	}
	(void)shutdown(p->fd, SHUT_WR);
	peer_closed(p, msg);
}

void
ipc_peer_fail(struct ipc_peer *p, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	peer_vfail(p, "protocol", fmt, ap);
	va_end(ap);
}

void
ipc_peer_fail_code(struct ipc_peer *p, const char *code, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	peer_vfail(p, code, fmt, ap);
	va_end(ap);
}

static void
peer_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct ipc_peer	*p = arg;
	struct ipc_msg	 m;
	char		 err[256] = "";
	ssize_t		 n;
	int		 r, rounds;

	p->busy++;
	for (rounds = 0; rounds < 4 && !p->dead && !p->paused; rounds++) {
		n = reader_fill(&p->rd, p->fd, err, sizeof(err));
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EPROTO)
				ipc_peer_fail(p, "%s", err);
			else {
				snprintf(err, sizeof(err), "read: %s",
				    strerror(errno));
				peer_closed(p, err);
			}
			break;
		}
		while (!p->dead && !p->paused) {
			r = reader_next(&p->rd, &m, err, sizeof(err));
			if (r == 0)
				break;
			if (r == -1) {
				log_debug("%s peer: %s", ipc_role_name(p->them),
				    err);
				ipc_peer_fail(p, "%s", err);
				break;
			}
			p->dispatch(p, &m, p->arg);
			msg_close_fds(&m);
		}
		if (n == 0 && !p->dead) {
			if (p->rd.w - p->rd.r - p->rd.consume > 0)
				peer_closed(p, "connection closed mid-frame");
			else
				peer_closed(p, NULL);
			break;
		}
	}
	p->busy--;
	if (p->freed && p->busy == 0)
		peer_destroy(p);
}

size_t
ipc_peer_queued(const struct ipc_peer *p)
{
	return p->queued;
}

void
ipc_peer_set_wm(struct ipc_peer *p, size_t high, size_t low, ipc_wm_fn fn)
{
	p->wm_high = high;
	p->wm_low = low;
	p->wm_cb = fn;
}

void
ipc_peer_pause(struct ipc_peer *p, int paused)
{
	if (p->dead || p->paused == paused)
		return;
	p->paused = paused;
	if (paused)
		(void)event_del(p->rev);
	else {
		(void)event_add(p->rev, NULL);
		/* Frames may already be buffered: look at once. */
		event_active(p->rev, EV_READ, 0);
	}
}

int
ipc_peer_flush_wait(struct ipc_peer *p, int timeout_ms)
{
	struct pollfd	 pfd;
	uint64_t	 deadline = now_ms() + (uint64_t)timeout_ms;

	while (!p->dead && !TAILQ_EMPTY(&p->wq)) {
		if (bufq_write(p->fd, &p->wq, &p->queued) == -1)
			return -1;
		if (TAILQ_EMPTY(&p->wq))
			break;
		if (now_ms() >= deadline)
			return -1;
		pfd.fd = p->fd;
		pfd.events = POLLOUT;
		(void)poll(&pfd, 1, 10);
	}
	return 0;
}

int
ipc_peer_detach(struct ipc_peer *p)
{
	int	 fd;

	if (p->rd.w - p->rd.r - p->rd.consume > 0 || p->rd.nfdq > 0 ||
	    !TAILQ_EMPTY(&p->wq))
		return -1;
	fd = p->fd;
	p->fd = -1;
	ipc_peer_free(p);
	return fd;
}

int
ipc_peer_fd(const struct ipc_peer *p)
{
	return p->fd;
}

int
ipc_peer_role(const struct ipc_peer *p)
{
	return p->them;
}

void *
ipc_peer_arg(const struct ipc_peer *p)
{
	return p->arg;
}

void
ipc_peer_set_arg(struct ipc_peer *p, void *arg)
{
	p->arg = arg;
}
