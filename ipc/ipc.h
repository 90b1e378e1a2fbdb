/*
 * hermes-c IPC: length-prefixed msgpack frames over SOCK_STREAM sockets.
 *
 * Wire format of one frame:
 *	uint32 big-endian length L (1 <= L <= IPC_MAX_FRAME), then L bytes of
 *	msgpack: [type:uint, id:uint, body:map{str key -> value}]
 * Nothing follows the array inside the frame (trailing bytes are refused).
 * fds ride as SCM_RIGHTS on the sendmsg() that carries a frame's first
 * byte; a message type declares how many it may carry.
 *
 * Every message type is declared once, in ipc/msgs/<module>.def (see
 * ipc/msgs.def for the format), with the roles that may send and receive
 * it and its fields. A receiver validates every frame against that table
 * before its dispatch function sees it.
 */
#ifndef HERMES_IPC_H
#define HERMES_IPC_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "ipc/limits.h"

/*
 * Bump on any change to the wire format or the message table.
 */
#define IPC_PROTOCOL_VERSION	2
#define HERMES_VERSION		"0.1.0"

/* Process roles. */
enum ipc_role {
	ROLE_SUPERVISOR = 0,
	ROLE_AGENT,
	ROLE_FETCH,
	ROLE_STORE,
	ROLE_TOOL,
	ROLE_CLIENT,		/* hermes CLI or a third-party client */
	ROLE_BRIDGE,
	ROLE_WEB,
	ROLE_CRON,
	ROLE_MAX
};
#define R(r)		(1u << (r))
#define R_WORKERS	(R(ROLE_AGENT) | R(ROLE_FETCH) | R(ROLE_STORE) | \
			 R(ROLE_TOOL) | R(ROLE_BRIDGE) | R(ROLE_WEB) | R(ROLE_CRON))
#define R_ANY		(R_WORKERS | R(ROLE_SUPERVISOR) | R(ROLE_CLIENT))

const char	*ipc_role_name(enum ipc_role);
int		 ipc_role_from_name(const char *);	/* -1 if unknown */

/* Field types of the message table. */
enum ipc_ftype {
	IPC_T_STR,	/* UTF-8 text, no NUL */
	IPC_T_BIN,
	IPC_T_U64,	/* non-negative integer */
	IPC_T_I64,
	IPC_T_BOOL,
	IPC_T_F64,	/* float or integer */
	IPC_T_ARRAY,
	IPC_T_MAP,
	IPC_T_JSON,	/* a str holding a JSON document (parsed by the user) */
	IPC_T_ANY
};
#define IPC_REQ	1
#define IPC_OPT	0

struct ipc_field {
	const char	*name;
	enum ipc_ftype	 type;
	int		 required;
};

struct ipc_msgdef {
	const char		*name;	/* "store.append" */
	uint32_t		 senders;	/* R() mask */
	uint32_t		 receivers;	/* R() mask */
	int			 maxfds;
	const struct ipc_field	*fields;	/* NULL-name terminated */
};

/* Message types: IPC_MSG_<NAME>, from the .def files. */
#define IPC_MSG_BEGIN(id, name, snd, rcv, fds) IPC_MSG_##id,
#define IPC_FIELD(name, type, req)
#define IPC_MSG_END(id)
enum ipc_msg_type {
	IPC_MSG_NONE = 0,
#include "ipc/msgs.def"
	IPC_MSG_MAX
};
#undef IPC_MSG_BEGIN
#undef IPC_FIELD
#undef IPC_MSG_END

const struct ipc_msgdef *ipc_msgdef(uint32_t type);	/* NULL if unknown */
const char	*ipc_msg_name(uint32_t type);		/* "?" if unknown */

/* ---- building a message -------------------------------------------- */

struct ipc_buf;

struct ipc_buf	*ipc_new(uint32_t type, uint64_t id);
void		 ipc_buf_free(struct ipc_buf *);
/* Scalar fields. */
void	 ipc_add_str(struct ipc_buf *, const char *key, const char *val);
void	 ipc_add_strn(struct ipc_buf *, const char *key, const char *, size_t);
void	 ipc_add_bin(struct ipc_buf *, const char *key, const void *, size_t);
void	 ipc_add_u64(struct ipc_buf *, const char *key, uint64_t);
void	 ipc_add_i64(struct ipc_buf *, const char *key, int64_t);
void	 ipc_add_bool(struct ipc_buf *, const char *key, int);
void	 ipc_add_f64(struct ipc_buf *, const char *key, double);
/* Copy a received object as a field value. */
void	 ipc_add_obj(struct ipc_buf *, const char *key, const msgpack_object *);
/*
 * Nested values: ipc_add_key() counts a field and returns the packer, on
 * which exactly one value must then be packed (ipc_pk_* help).
 */
msgpack_packer *ipc_add_key(struct ipc_buf *, const char *key);
void	 ipc_pk_str(msgpack_packer *, const char *);
void	 ipc_pk_strn(msgpack_packer *, const char *, size_t);
/* Attach an fd (sent with the frame, closed by the sender after send if
 * close_after is set). */
void	 ipc_add_fd(struct ipc_buf *, int fd, int close_after);
/* Finish: the frame bytes (length prefix included). */
const uint8_t *ipc_buf_data(struct ipc_buf *, size_t *len);

/* ---- reading a message -------------------------------------------- */

struct ipc_msg {
	uint32_t		 type;
	uint64_t		 id;
	const msgpack_object	*body;	/* a map, valid during dispatch only */
	int			 fds[IPC_MAX_FDS];
	int			 nfds;	/* the dispatcher takes the fds it uses
					 * by setting them to -1 */
};

/* Field access; types are already checked against the table. Each
 * returns 0, or -1 when the (optional) field is absent. */
const msgpack_object *ipc_get(const struct ipc_msg *, const char *key);
int	 ipc_get_str(const struct ipc_msg *, const char *key,
	    const char **p, size_t *len);
char	*ipc_get_strdup(const struct ipc_msg *, const char *key); /* NULL if absent */
int	 ipc_get_bin(const struct ipc_msg *, const char *key,
	    const void **p, size_t *len);
int	 ipc_get_u64(const struct ipc_msg *, const char *key, uint64_t *);
int	 ipc_get_i64(const struct ipc_msg *, const char *key, int64_t *);
int	 ipc_get_bool(const struct ipc_msg *, const char *key, int *);
int	 ipc_get_f64(const struct ipc_msg *, const char *key, double *);
/* Helpers over msgpack objects (nested values). */
int	 ipc_obj_str(const msgpack_object *, const char **p, size_t *len);
char	*ipc_obj_strdup(const msgpack_object *);	/* NULL unless str w/o NUL */
int	 ipc_obj_u64(const msgpack_object *, uint64_t *);
const msgpack_object *ipc_obj_map_get(const msgpack_object *map, const char *key);

/* ---- decoding (exposed for tests and fuzzing) ---------------------- */

/* Walk msgpack bytes: refuse declared lengths beyond the bytes left,
 * containers over IPC_MAX_CONTAINER, nesting over IPC_MAX_DEPTH, and
 * trailing bytes. Returns 0 or -1. */
int	 ipc_prescan(const uint8_t *, size_t);

/*
 * Decode one frame payload (without the length prefix) and validate it
 * against the table for a message sent by `from` to `to`. On success the
 * objects live in `zone` until it is cleared. Error text in `err`.
 */
int	 ipc_decode(const uint8_t *, size_t, msgpack_zone *, int from, int to,
	    int nfds, struct ipc_msg *, char *err, size_t errlen);

/* ---- a libevent peer ------------------------------------------------ */

struct event_base;
struct ipc_peer;

typedef void (*ipc_dispatch_fn)(struct ipc_peer *, struct ipc_msg *, void *);
/* The peer is closed (EOF, error, refused frame). err: NULL at EOF. The
 * callback must ipc_peer_free() the peer (now or later), not use it. */
typedef void (*ipc_close_fn)(struct ipc_peer *, const char *err, void *);
typedef void (*ipc_wm_fn)(struct ipc_peer *, int above_high, void *);

/*
 * fd: a connected SOCK_STREAM socket (made non-blocking here). me: this
 * process's role; them: the remote role (used to validate senders).
 * Frames carrying fds are refused unless allow_fds is set.
 */
struct ipc_peer *ipc_peer_new(struct event_base *, int fd, int me, int them,
	    int allow_fds, ipc_dispatch_fn, ipc_close_fn, void *arg);
void	 ipc_peer_free(struct ipc_peer *);	/* closes the fd */
/* Queue a frame (takes the buffer). -1 if the peer is dead or its queue
 * is past IPC_WQ_MAX (it is then closed). */
int	 ipc_peer_send(struct ipc_peer *, struct ipc_buf *);
/* Send an error frame (code "protocol"; ipc_peer_fail_code: another
 * code, e.g. "version", "auth"), flush what can be flushed, then close. */
void	 ipc_peer_fail(struct ipc_peer *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	 ipc_peer_fail_code(struct ipc_peer *, const char *code,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
size_t	 ipc_peer_queued(const struct ipc_peer *);
void	 ipc_peer_set_wm(struct ipc_peer *, size_t high, size_t low, ipc_wm_fn);
void	 ipc_peer_pause(struct ipc_peer *, int paused);	/* stop reading */
/*
 * Take the fd back and free the peer (the fd stays open). -1 (peer kept)
 * if bytes beyond the last dispatched frame were already read.
 */
int	 ipc_peer_detach(struct ipc_peer *);
/* Block (poll) up to timeout_ms until the write queue is empty. */
int	 ipc_peer_flush_wait(struct ipc_peer *, int timeout_ms);
int	 ipc_peer_fd(const struct ipc_peer *);
int	 ipc_peer_role(const struct ipc_peer *);
void	*ipc_peer_arg(const struct ipc_peer *);
void	 ipc_peer_set_arg(struct ipc_peer *, void *);

/* ---- blocking use (handshakes, CLI, tests) ------------------------- */

/* Write a whole frame (with its fds). 0 or -1 (errno set). */
int	 ipc_send_fd(int fd, struct ipc_buf *);	/* frees the buffer */

struct ipc_rbuf;	/* a reader for blocking use */
struct ipc_rbuf	*ipc_rbuf_new(int me, int them, int allow_fds);
void		 ipc_rbuf_free(struct ipc_rbuf *);
/* The remote role changes (a CLI handed from the supervisor to the agent). */
void		 ipc_rbuf_set_peer(struct ipc_rbuf *, int them);
/*
 * Wait up to timeout_ms (-1: forever) for one valid frame. 1: a message
 * in *msg (valid until the next call); 0: timeout; -1: error or EOF
 * (err says which; "eof" at EOF).
 */
int	 ipc_recv_fd(int fd, struct ipc_rbuf *, int timeout_ms,
	    struct ipc_msg *, char *err, size_t errlen);

#endif
