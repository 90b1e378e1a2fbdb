/*
 * curl's multi_socket API driven by libevent (the "hiperfifo" pattern):
 * curl tells us which sockets to watch (socket callback) and when to
 * call it back (timer callback); libevent tells curl what is ready.
 *
 * Rules kept here: the timer callback only arms a libevent timer, never
 * calls into curl; finished transfers are collected with
 * curl_multi_info_read() after curl_multi_socket_action() returns, so no
 * handle is removed inside a curl callback.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "ipc/util.h"
#include "workers/fetch/fetch_int.h"

struct curlev {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	int			 running;
	curlev_done_fn		 done;
	curlev_after_fn		 after;
	void			*arg;
};

struct sockev {
	struct curlev		*ce;
	struct event		*ev;
	curl_socket_t		 fd;
};

static void
collect(struct curlev *ce)
{
	CURLMsg		*msg;
	CURL		*easy;
	CURLcode	 rc;
	int		 left;

	while ((msg = curl_multi_info_read(ce->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		easy = msg->easy_handle;
		rc = msg->data.result;
		if (curl_multi_remove_handle(ce->multi, easy) != CURLM_OK)
			fatalx("curl_multi_remove_handle");
		ce->done(easy, rc, ce->arg);
	}
	if (ce->after != NULL)
		ce->after(ce->arg);
}

static void
on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct curlev	*ce = arg;
	int		 action = 0;
	CURLMcode	 mc;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	mc = curl_multi_socket_action(ce->multi, fd, action, &ce->running);
	if (mc != CURLM_OK)
		log_warnx("curl_multi_socket_action: %s",
		    curl_multi_strerror(mc));
	collect(ce);
	if (ce->running <= 0 && evtimer_pending(ce->timer, NULL))
		evtimer_del(ce->timer);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct curlev	*ce = arg;
	CURLMcode	 mc;

	mc = curl_multi_socket_action(ce->multi, CURL_SOCKET_TIMEOUT, 0,
	    &ce->running);
	if (mc != CURLM_OK)
		log_warnx("curl_multi_socket_action: %s",
		    curl_multi_strerror(mc));
	collect(ce);
}

/* CURLMOPT_TIMERFUNCTION: arm (or disarm) our timer; nothing else. */
static int
timer_cb(CURLM *multi, long ms, void *arg)
{
	struct curlev	*ce = arg;
	struct timeval	 tv;

	if (ms < 0) {
		evtimer_del(ce->timer);
		return 0;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ce->timer, &tv);
	return 0;
}

/* CURLMOPT_SOCKETFUNCTION: watch, change or forget a socket. */
static int
socket_cb(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct curlev	*ce = arg;
	struct sockev	*se = sockp;
	short		 kind;

	if (what == CURL_POLL_REMOVE) {
		if (se != NULL) {
			event_free(se->ev);
			free(se);
			curl_multi_assign(ce->multi, fd, NULL);
		}
		return 0;
	}
	kind = EV_PERSIST;
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (se == NULL) {
		se = xcalloc(1, sizeof(*se));
		se->ce = ce;
		se->fd = fd;
		curl_multi_assign(ce->multi, fd, se);
	} else
		event_free(se->ev);
	se->ev = event_new(ce->base, fd, kind, on_socket, ce);
	if (se->ev == NULL || event_add(se->ev, NULL) == -1)
		fatalx("event_add for a curl socket");
	return 0;
}

struct curlev *
curlev_new(struct event_base *base, curlev_done_fn done,
    curlev_after_fn after, void *arg)
{
	struct curlev	*ce;

	ce = xcalloc(1, sizeof(*ce));
	ce->base = base;
	ce->done = done;
	ce->after = after;
	ce->arg = arg;
	if ((ce->multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init");
	if ((ce->timer = evtimer_new(base, on_timer, ce)) == NULL)
		fatalx("evtimer_new");
	curl_multi_setopt(ce->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(ce->multi, CURLMOPT_SOCKETDATA, ce);
	curl_multi_setopt(ce->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(ce->multi, CURLMOPT_TIMERDATA, ce);
	curl_multi_setopt(ce->multi, CURLMOPT_PIPELINING,
	    (long)CURLPIPE_MULTIPLEX);
	curl_multi_setopt(ce->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 64L);
	curl_multi_setopt(ce->multi, CURLMOPT_MAXCONNECTS, 64L);
	return ce;
}

void
curlev_free(struct curlev *ce)
{
	if (ce == NULL)
		return;
	curl_multi_cleanup(ce->multi);
	event_free(ce->timer);
	free(ce);
}

int
curlev_add(struct curlev *ce, CURL *easy)
{
	if (curl_multi_add_handle(ce->multi, easy) != CURLM_OK)
		return -1;
	return 0;
}

/* Not from inside a curl callback. */
void
curlev_remove(struct curlev *ce, CURL *easy)
{
	if (curl_multi_remove_handle(ce->multi, easy) != CURLM_OK)
		log_warnx("curl_multi_remove_handle failed");
}

int
curlev_running(const struct curlev *ce)
{
	return ce->running;
}
