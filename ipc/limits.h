/*
 * Every bound of hermes-c in one place (as Redis keeps them).
 */
#ifndef HERMES_LIMITS_H
#define HERMES_LIMITS_H

#define IPC_MAX_FRAME		(16u * 1024 * 1024)	/* bytes after the length */
#define IPC_MAX_DEPTH		16		/* msgpack nesting */
#define IPC_MAX_CONTAINER	65536		/* elements of one array/map */
#define IPC_MAX_FDS		4		/* fds carried by one frame */
#define IPC_MAX_FIELDS		32		/* fields of one message body */
#define IPC_WQ_HIGH		(8u * 1024 * 1024)	/* write queue high watermark */
#define IPC_WQ_LOW		(1u * 1024 * 1024)	/* ... and low */
#define IPC_WQ_MAX		(64u * 1024 * 1024)	/* peer is dropped past this */

#define SUP_MAX_CONN_PER_UID	64		/* control socket clients per uid */
#define SUP_FD_RESERVE		16		/* accept pauses this close to EMFILE */
#define SUP_RESTART_MIN_MS	100		/* first restart backoff */
#define SUP_RESTART_MAX_MS	30000		/* backoff cap */
#define SUP_RESTART_INTENSITY	5		/* more than this many restarts ... */
#define SUP_RESTART_PERIOD_S	60		/* ... in this many seconds: failed */
#define SUP_HEARTBEAT_MS	2000		/* ping interval */
#define SUP_HEARTBEAT_MISSES	3		/* unanswered pings before a kill */
#define SUP_HANDSHAKE_MS	5000		/* hello must arrive within */
#define SUP_GRACE_MS		2000		/* SIGTERM to SIGKILL at shutdown */
#define SUP_LOG_MAX		(4u * 1024 * 1024)	/* log file size before rotation */
#define SUP_LOG_KEEP		3		/* rotated logs kept */

#define CFG_MAX_FILE		(1024 * 1024)	/* config.yaml, .env */
#define CFG_MAX_DEPTH		32

#define LOG_MAX_LINE		2048

#define SSE_MAX_LINE		(1024 * 1024)	/* one SSE line */
#define TOOL_MAX_OUTPUT		50000		/* characters the model sees */
#define TOOL_DEFAULT_TIMEOUT_S	180

#endif
