/*
 * libipc: builders and readers, the pre-scan, validation against the
 * message table, the frame reader (split frames, fds), the libevent peer
 * (dispatch of whole frames only, fd passing, watermarks, errors).
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "ipc/ipc.h"
#include "ipc/ipc_priv.h"
#include "ipc/util.h"

static int
decode_buf(struct ipc_buf *b, int from, int to, msgpack_zone *z,
    struct ipc_msg *m, char *err)
{
	size_t		 len;
	const uint8_t	*p = ipc_buf_data(b, &len);

	return ipc_decode(p + 4, len - 4, z, from, to, 0, m, err, 256);
}

static void
test_roundtrip(void **state)
{
	struct ipc_buf	*b;
	struct ipc_msg	 m;
	msgpack_zone	 z;
	char		 err[256];
	const char	*s;
	size_t		 n;
	uint64_t	 u;
	int		 v;

	msgpack_zone_init(&z, 1024);
	b = ipc_new(IPC_MSG_CONFIG, 77);
	ipc_add_str(b, "home", "/h");
	ipc_add_str(b, "tenant", "t\xc3\xa9");
	ipc_add_str(b, "config", "{\"a\":1}");
	ipc_add_u64(b, "verbose", 3);
	ipc_add_bool(b, "sandbox", 1);
	assert_int_equal(decode_buf(b, ROLE_SUPERVISOR, ROLE_STORE, &z, &m,
	    err), 0);
	assert_int_equal(m.type, IPC_MSG_CONFIG);
	assert_int_equal(m.id, 77);
	assert_int_equal(ipc_get_str(&m, "tenant", &s, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(s, "t\xc3\xa9", 3);
	assert_int_equal(ipc_get_u64(&m, "verbose", &u), 0);
	assert_int_equal(u, 3);
	assert_int_equal(ipc_get_bool(&m, "sandbox", &v), 0);
	assert_true(v);
	assert_int_equal(ipc_get_str(&m, "workspace", &s, &n), -1);
	ipc_buf_free(b);
	msgpack_zone_destroy(&z);
}

static void
expect_refused(struct ipc_buf *b, int from, int to, const char *what)
{
	struct ipc_msg	 m;
	msgpack_zone	 z;
	char		 err[256] = "";

	msgpack_zone_init(&z, 1024);
	assert_int_equal(decode_buf(b, from, to, &z, &m, err), -1);
	if (strstr(err, what) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, what);
	ipc_buf_free(b);
	msgpack_zone_destroy(&z);
}

static void
test_validation(void **state)
{
	struct ipc_buf	*b;

	/* Missing required field. */
	b = ipc_new(IPC_MSG_HELLO, 1);
	ipc_add_u64(b, "version", 1);
	ipc_add_str(b, "role", "agent");
	expect_refused(b, ROLE_AGENT, ROLE_SUPERVISOR, "missing field pid");
	/* Wrong type. */
	b = ipc_new(IPC_MSG_PING, 1);
	ipc_add_str(b, "seq", "1");
	expect_refused(b, ROLE_SUPERVISOR, ROLE_AGENT, "wrong type");
	/* Unknown field. */
	b = ipc_new(IPC_MSG_PING, 1);
	ipc_add_u64(b, "seq", 1);
	ipc_add_u64(b, "extra", 1);
	expect_refused(b, ROLE_SUPERVISOR, ROLE_AGENT, "unknown field");
	/* Duplicate field. */
	b = ipc_new(IPC_MSG_PING, 1);
	ipc_add_u64(b, "seq", 1);
	ipc_add_u64(b, "seq", 2);
	expect_refused(b, ROLE_SUPERVISOR, ROLE_AGENT, "duplicate");
	/* A sender that may not send it. */
	b = ipc_new(IPC_MSG_SHUTDOWN, 1);
	expect_refused(b, ROLE_CLIENT, ROLE_SUPERVISOR, "not allowed from");
	/* A receiver that may not receive it. */
	b = ipc_new(IPC_MSG_CLIENT_ATTACH, 1);
	ipc_add_u64(b, "uid", 1);
	ipc_add_u64(b, "pid", 1);
	expect_refused(b, ROLE_SUPERVISOR, ROLE_STORE, "not for");
	/* Invalid UTF-8 and embedded NUL in a str field. */
	b = ipc_new(IPC_MSG_LOG, 1);
	ipc_add_u64(b, "level", 1);
	ipc_add_strn(b, "line", "a\xff", 2);
	expect_refused(b, ROLE_STORE, ROLE_SUPERVISOR, "wrong type");
	b = ipc_new(IPC_MSG_LOG, 1);
	ipc_add_u64(b, "level", 1);
	ipc_add_strn(b, "line", "a\0b", 3);
	expect_refused(b, ROLE_STORE, ROLE_SUPERVISOR, "wrong type");
}

static void
test_prescan(void **state)
{
	/* array32 declaring 16M elements in 5 bytes: refused, no alloc. */
	static const uint8_t bomb[] = { 0xdd, 0x00, 0xff, 0xff, 0xff };
	static const uint8_t map32[] = { 0xdf, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t str32[] = { 0xdb, 0x00, 0x00, 0x10, 0x00, 'a' };
	static const uint8_t trailing[] = { 0x90, 0x00 };
	static const uint8_t ext[] = { 0xd4, 0x01, 0x02 };
	static const uint8_t ok[] = { 0x92, 0xa1, 'x', 0x80 };
	uint8_t		 deep[64];
	size_t		 i;

	assert_int_equal(ipc_prescan(bomb, sizeof(bomb)), -1);
	assert_int_equal(ipc_prescan(map32, sizeof(map32)), -1);
	assert_int_equal(ipc_prescan(str32, sizeof(str32)), -1);
	assert_int_equal(ipc_prescan(trailing, sizeof(trailing)), -1);
	assert_int_equal(ipc_prescan(ext, sizeof(ext)), -1);
	assert_int_equal(ipc_prescan(ok, sizeof(ok)), 0);
	/* Nesting: IPC_MAX_DEPTH arrays deep is fine, one more is not. */
	for (i = 0; i < IPC_MAX_DEPTH; i++)
		deep[i] = 0x91;
	deep[IPC_MAX_DEPTH] = 0x00;
	assert_int_equal(ipc_prescan(deep, IPC_MAX_DEPTH + 1), 0);
	for (i = 0; i <= IPC_MAX_DEPTH; i++)
		deep[i] = 0x91;
	deep[IPC_MAX_DEPTH + 1] = 0x00;
	assert_int_equal(ipc_prescan(deep, IPC_MAX_DEPTH + 2), -1);
}

/* The reader: frames split anywhere, oversized lengths refused early. */
static void
test_reader_split(void **state)
{
	struct ipc_reader	 rd;
	struct ipc_msg		 m;
	struct ipc_buf		*b;
	const uint8_t		*p;
	uint8_t			 two[512];
	size_t			 len, i, total;
	char			 err[256];
	int			 got = 0;

	b = ipc_new(IPC_MSG_PING, 5);
	ipc_add_u64(b, "seq", 9);
	p = ipc_buf_data(b, &len);
	memcpy(two, p, len);
	memcpy(two + len, p, len);
	total = 2 * len;
	reader_init(&rd, ROLE_AGENT, ROLE_SUPERVISOR, 0);
	for (i = 0; i < total; i++) {
		reader_feed(&rd, two + i, 1);
		while (reader_next(&rd, &m, err, sizeof(err)) == 1) {
			assert_int_equal(m.type, IPC_MSG_PING);
			got++;
			/* Only whole frames: never before the last byte. */
			assert_true(i == len - 1 || i == total - 1);
		}
	}
	assert_int_equal(got, 2);
	reader_free(&rd);
	ipc_buf_free(b);

	reader_init(&rd, ROLE_AGENT, ROLE_SUPERVISOR, 0);
	reader_feed(&rd, "\xff\xff\xff\xff", 4);
	assert_int_equal(reader_next(&rd, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "out of range"));
	assert_true(rd.cap < 1024 * 1024);	/* nothing reserved for it */
	reader_free(&rd);
	reader_init(&rd, ROLE_AGENT, ROLE_SUPERVISOR, 0);
	reader_feed(&rd, "\x00\x00\x00\x00", 4);
	assert_int_equal(reader_next(&rd, &m, err, sizeof(err)), -1);
	reader_free(&rd);
}

/* fds: passed with their frame; refused where fd passing is off. */
static void
test_fd_passing(void **state)
{
	struct ipc_rbuf	*rb;
	struct ipc_msg	 m;
	struct ipc_buf	*b;
	int		 sv[2], pfd[2];
	char		 err[256], c = 0;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	b = ipc_new(IPC_MSG_PEER, 1);
	ipc_add_str(b, "role", "store");
	ipc_add_u64(b, "pid", 1);
	ipc_add_u64(b, "gen", 1);
	ipc_add_fd(b, pfd[1], 1);
	assert_int_equal(ipc_send_fd(sv[0], b), 0);
	rb = ipc_rbuf_new(ROLE_AGENT, ROLE_SUPERVISOR, 1);
	assert_int_equal(ipc_recv_fd(sv[1], rb, 1000, &m, err, sizeof(err)), 1);
	assert_int_equal(m.nfds, 1);
	assert_true(fcntl(m.fds[0], F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(m.fds[0], "x", 1), 1);
	assert_int_equal(read(pfd[0], &c, 1), 1);
	assert_int_equal(c, 'x');
	close(m.fds[0]);
	ipc_rbuf_free(rb);

	/* An fd on a message that declares none: the frame is refused. */
	assert_int_equal(pipe2(pfd + 0, O_CLOEXEC), 0);
	b = ipc_new(IPC_MSG_PING, 1);
	ipc_add_u64(b, "seq", 1);
	ipc_add_fd(b, pfd[1], 1);
	assert_int_equal(ipc_send_fd(sv[0], b), 0);
	rb = ipc_rbuf_new(ROLE_AGENT, ROLE_SUPERVISOR, 1);
	assert_int_equal(ipc_recv_fd(sv[1], rb, 1000, &m, err, sizeof(err)),
	    -1);
	ipc_rbuf_free(rb);

	/* fd passing off (a client): refused. */
	b = ipc_new(IPC_MSG_PING, 1);
	ipc_add_u64(b, "seq", 1);
	ipc_add_fd(b, pfd[0], 1);
	assert_int_equal(ipc_send_fd(sv[0], b), 0);
	rb = ipc_rbuf_new(ROLE_SUPERVISOR, ROLE_CLIENT, 0);
	assert_int_equal(ipc_recv_fd(sv[1], rb, 1000, &m, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "not allowed"));
	ipc_rbuf_free(rb);
	close(sv[0]);
	close(sv[1]);
}

/* ---- the libevent peer -------------------------------------------- */

struct pstate {
	struct event_base	*base;
	int			 got;
	int			 closed;
	char			 err[256];
	int			 above, below;
	uint64_t		 last_seq;
};

static void
p_dispatch(struct ipc_peer *p, struct ipc_msg *m, void *arg)
{
	struct pstate	*s = arg;

	(void)ipc_get_u64(m, "seq", &s->last_seq);
	s->got++;
}

static void
p_close(struct ipc_peer *p, const char *err, void *arg)
{
	struct pstate	*s = arg;

	s->closed = 1;
	strlcpy(s->err, err != NULL ? err : "eof", sizeof(s->err));
	ipc_peer_free(p);
	event_base_loopbreak(s->base);
}

static void
p_wm(struct ipc_peer *p, int above, void *arg)
{
	struct pstate	*s = arg;

	if (above)
		s->above++;
	else
		s->below++;
}

static void
loop_for(struct event_base *base, int ms)
{
	struct timeval	 tv = { 0, ms * 1000 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static void
test_peer(void **state)
{
	struct pstate	 s;
	struct ipc_peer	*a, *b;
	struct ipc_buf	*m;
	int		 sv[2], i;

	memset(&s, 0, sizeof(s));
	s.base = event_base_new();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	a = ipc_peer_new(s.base, sv[0], ROLE_SUPERVISOR, ROLE_AGENT, 0,
	    p_dispatch, p_close, &s);
	b = ipc_peer_new(s.base, sv[1], ROLE_AGENT, ROLE_SUPERVISOR, 0,
	    p_dispatch, p_close, &s);
	for (i = 0; i < 1000; i++) {
		m = ipc_new(IPC_MSG_PING, (uint64_t)i);
		ipc_add_u64(m, "seq", (uint64_t)i);
		assert_int_equal(ipc_peer_send(a, m), 0);
	}
	loop_for(s.base, 200);
	assert_int_equal(s.got, 1000);
	assert_int_equal(s.last_seq, 999);

	/* Watermarks: b does not read; a's queue crosses high, then low. */
	ipc_peer_pause(b, 1);
	ipc_peer_set_wm(a, 64 * 1024, 16 * 1024, p_wm);
	for (i = 0; i < 20000; i++) {
		m = ipc_new(IPC_MSG_NOTICE, 0);
		ipc_add_str(m, "role", "store");
		ipc_add_str(m, "state", "ready");
		ipc_add_str(m, "message", "0123456789012345678901234567890123"
		    "456789012345678901234567890123456789");
		if (ipc_peer_send(a, m) == -1)
			break;
	}
	loop_for(s.base, 50);
	assert_int_equal(s.above, 1);
	assert_true(ipc_peer_queued(a) > 64 * 1024);
	ipc_peer_pause(b, 0);
	s.got = 0;
	loop_for(s.base, 500);
	assert_int_equal(s.closed, 0);
	assert_int_equal(s.got, 20000);
	assert_int_equal(s.below, 1);
	assert_int_equal(ipc_peer_queued(a), 0);

	/* A bad frame: the receiver answers with an error and closes. */
	assert_int_equal(write(sv[0], "\x00\x00\x00\x02\x91\x00", 6), 6);
	event_base_dispatch(s.base);
	assert_int_equal(s.closed, 1);
	ipc_peer_free(a);
	event_base_free(s.base);
}

/* EOF in the middle of a frame is reported as such. */
static void
test_peer_midframe(void **state)
{
	struct pstate	 s;
	int		 sv[2];

	memset(&s, 0, sizeof(s));
	s.base = event_base_new();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	(void)ipc_peer_new(s.base, sv[1], ROLE_AGENT, ROLE_SUPERVISOR, 0,
	    p_dispatch, p_close, &s);
	assert_int_equal(write(sv[0], "\x00\x00\x00\x10\x93", 5), 5);
	close(sv[0]);
	event_base_dispatch(s.base);
	assert_int_equal(s.got, 0);
	assert_non_null(strstr(s.err, "mid-frame"));
	event_base_free(s.base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_validation),
		cmocka_unit_test(test_prescan),
		cmocka_unit_test(test_reader_split),
		cmocka_unit_test(test_fd_passing),
		cmocka_unit_test(test_peer),
		cmocka_unit_test(test_peer_midframe),
	};

	log_init("test_ipc", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
