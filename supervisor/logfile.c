/*
 * The supervisor's log: stderr in the foreground, otherwise
 * HERMES_HOME/logs/hermesd.log, rotated at SUP_LOG_MAX (SUP_LOG_KEEP kept).
 * Worker lines arrive as LOG messages and are written with role and pid.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipc/util.h"
#include "supervisor/sup.h"

static const char *const level_names[] = { "warn", "info", "debug" };

static void
log_rotate(void)
{
	char	 from[4096 + 64], to[4096 + 64];
	int	 i;

	for (i = SUP_LOG_KEEP - 1; i >= 1; i--) {
		snprintf(from, sizeof(from), "%s.%d", sup.logpath, i);
		snprintf(to, sizeof(to), "%s.%d", sup.logpath, i + 1);
		(void)rename(from, to);
	}
	snprintf(to, sizeof(to), "%s.1", sup.logpath);
	(void)rename(sup.logpath, to);
	sup_log_open();
}

static void
write_line(const char *text)
{
	struct stat	 st;
	char		 ts[32], buf[LOG_MAX_LINE + 128];
	time_t		 now = time(NULL);
	struct tm	 tm;
	int		 n;

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(buf, sizeof(buf), "%s %s\n", ts, text);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	if (sup.logfd == -1) {
		if (write(STDERR_FILENO, buf, (size_t)n) == -1)
			return;		/* nowhere left to say it */
		return;
	}
	if (write(sup.logfd, buf, (size_t)n) == -1)
		return;
	if (fstat(sup.logfd, &st) == 0 && st.st_size > (off_t)SUP_LOG_MAX)
		log_rotate();
}

static void
own_sink(int level, const char *line, void *arg)
{
	char	 buf[LOG_MAX_LINE + 64];

	snprintf(buf, sizeof(buf), "hermesd[%d]: %s", (int)getpid(), line);
	write_line(buf);
}

void
sup_log_open(void)
{
	char	 dir[4096 + 16];
	int	 fd;

	if (sup.foreground) {
		sup.logfd = -1;
		log_set_sink(own_sink, NULL);
		return;
	}
	if ((size_t)snprintf(dir, sizeof(dir), "%s/logs", sup.home) >=
	    sizeof(dir) || (mkdir(dir, 0700) == -1 && errno != EEXIST))
		return;
	if ((size_t)snprintf(sup.logpath, sizeof(sup.logpath), "%s/hermesd.log",
	    dir) >= sizeof(sup.logpath))
		return;
	fd = open(sup.logpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd == -1)
		return;
	if (sup.logfd != -1)
		close(sup.logfd);
	sup.logfd = fd;
	log_set_sink(own_sink, NULL);
}

void
sup_log_line(const char *who, pid_t pid, int level, const char *line)
{
	char	 buf[LOG_MAX_LINE + 128];
	char	 clean[LOG_MAX_LINE];
	size_t	 i;

	if (level > log_get_verbose())
		return;
	/* A worker's line is one line: no forged entries. */
	for (i = 0; line[i] != '\0' && i < sizeof(clean) - 1; i++)
		clean[i] = (line[i] == '\n' || line[i] == '\r' ||
		    ((unsigned char)line[i] < 0x20 && line[i] != '\t')) ?
		    ' ' : line[i];
	clean[i] = '\0';
	snprintf(buf, sizeof(buf), "%s[%d]: %s%s%s", who, (int)pid,
	    level == LOG_L_WARN ? "" : level_names[level > 2 ? 2 : level],
	    level == LOG_L_WARN ? "" : ": ", clean);
	write_line(buf);
}
