/*
 * Allocation, logging and string helpers shared by every program.
 */
#ifndef HERMES_UTIL_H
#define HERMES_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc/limits.h"

#ifndef nitems
#define nitems(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* x* allocators die on OOM. */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 freezero(void *, size_t);	/* explicit_bzero then free */

size_t	 strlcpy(char *, const char *, size_t);
size_t	 strlcat(char *, const char *, size_t);

/* Monotonic clock. */
uint64_t now_ms(void);
uint64_t now_us(void);

/* Logging. Before log_set_sink() lines go to stderr. */
enum log_level { LOG_L_WARN = 0, LOG_L_INFO = 1, LOG_L_DEBUG = 2 };
typedef void (*log_sink_fn)(int level, const char *line, void *arg);

void	 log_init(const char *procname, int verbose);
void	 log_set_verbose(int);
int	 log_get_verbose(void);
void	 log_set_sink(log_sink_fn, void *);
/* Called before fatal() exits (workers flush queued log lines). */
void	 log_set_flush(void (*)(void));
const char *log_procname(void);
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * The control socket of hermesd: $HERMES_SOCKET if set, else personal
 * mode $XDG_RUNTIME_DIR/hermes/hermesd.sock (falling back to
 * $HERMES_HOME/run/hermesd.sock), system mode /run/hermes/hermesd.sock.
 * HERMES_HOME: $HERMES_HOME or ~/.hermes. 0 or -1.
 */
int	 hermes_home(char *buf, size_t len);
int	 hermes_socket_path(int system_mode, char *buf, size_t len);

/* Close every fd >= lowfd. */
void	 closefrom_fd(int lowfd);
/* Set O_NONBLOCK. */
int	 set_nonblock(int);

#endif
