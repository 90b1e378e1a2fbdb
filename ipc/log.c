/*
 * Logging: to stderr until a sink is set (workers send lines to the
 * supervisor as LOG messages; the supervisor writes them to its log).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/util.h"

static const char	*log_name = "hermes";
static int		 log_verbose;
static log_sink_fn	 log_sink;
static void		*log_sink_arg;
static int		 log_in_sink;
static void		(*log_flush)(void);

void
log_init(const char *procname, int verbose)
{
	log_name = procname;
	log_verbose = verbose;
}

void
log_set_verbose(int v)
{
	log_verbose = v;
}

int
log_get_verbose(void)
{
	return log_verbose;
}

const char *
log_procname(void)
{
	return log_name;
}

void
log_set_sink(log_sink_fn fn, void *arg)
{
	log_sink = fn;
	log_sink_arg = arg;
}

static void
vlog(int level, const char *errstr, const char *fmt, va_list ap)
{
	char	 line[LOG_MAX_LINE];
	int	 n;

	if (level > log_verbose)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	if (errstr != NULL && (size_t)n < sizeof(line)) {
		(void)strlcat(line, ": ", sizeof(line));
		(void)strlcat(line, errstr, sizeof(line));
	}
	if (log_sink != NULL && !log_in_sink) {
		log_in_sink = 1;
		log_sink(level, line, log_sink_arg);
		log_in_sink = 0;
		return;
	}
	dprintf(STDERR_FILENO, "%s[%d]: %s\n", log_name, (int)getpid(), line);
}

void
log_set_flush(void (*fn)(void))
{
	log_flush = fn;
}

static void __attribute__((noreturn))
die(void)
{
	if (log_flush != NULL)
		log_flush();
	exit(1);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vlog(LOG_L_WARN, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_L_WARN, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_L_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_L_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	vlog(LOG_L_WARN, strerror(saved), fmt, ap);
	va_end(ap);
	die();
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_L_WARN, NULL, fmt, ap);
	va_end(ap);
	die();
}
