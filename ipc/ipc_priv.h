/*
 * Internals of libipc shared between its files.
 */
#ifndef HERMES_IPC_PRIV_H
#define HERMES_IPC_PRIV_H

#include <sys/queue.h>

#include <msgpack.h>

#include "ipc/ipc.h"

struct ipc_buf {
	uint32_t		 type;
	uint8_t			*data;
	size_t			 len, cap;
	size_t			 off;		/* bytes already written */
	int			 nfields;
	int			 finished;
	msgpack_packer		 pk;
	int			 fds[IPC_MAX_FDS];
	int			 close_fds[IPC_MAX_FDS];
	int			 nfds;
	TAILQ_ENTRY(ipc_buf)	 entry;
};
TAILQ_HEAD(ipc_bufq, ipc_buf);

#define READER_MAX_FDQ	(IPC_MAX_FDS * 4)

struct ipc_fdrec {
	uint64_t	 off;		/* stream offset of the frame's start */
	int		 fd;
};

/* Incoming bytes and fds of one connection. */
struct ipc_reader {
	uint8_t		*buf;
	size_t		 r, w, cap;	/* unconsumed data is buf[r..w) */
	uint64_t	 base;		/* stream offset of buf[0] */
	size_t		 consume;	/* frame to drop before the next */
	struct ipc_fdrec fdq[READER_MAX_FDQ];
	int		 nfdq;
	int		 allow_fds;
	int		 me, them;
	msgpack_zone	 zone;
};

void	 reader_init(struct ipc_reader *, int me, int them, int allow_fds);
void	 reader_free(struct ipc_reader *);
/* One recvmsg: >0 bytes, 0 EOF, -1 error (errno; EAGAIN possible, and
 * EPROTO with err set for an fd protocol violation). */
ssize_t	 reader_fill(struct ipc_reader *, int fd, char *err, size_t errlen);
/* 1: a valid message in *m (valid until the next call); 0: need more
 * bytes; -1: the stream is broken (err says why). */
int	 reader_next(struct ipc_reader *, struct ipc_msg *, char *err,
	    size_t errlen);
/* Append bytes as if read (tests, fuzzing). */
void	 reader_feed(struct ipc_reader *, const void *, size_t);
/* Close fds of a message the dispatcher did not take. */
void	 msg_close_fds(struct ipc_msg *);

/* Write as much of the queue as the socket takes: 0 (maybe more left),
 * -1 error (errno; EAGAIN is not an error: 0). */
int	 bufq_write(int fd, struct ipc_bufq *, size_t *queued);

#endif
