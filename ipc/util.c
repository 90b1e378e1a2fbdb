/*
 * Allocation, string, time and fd helpers.
 */
#include <sys/stat.h>
#include <sys/syscall.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipc/util.h"

void *
xmalloc(size_t n)
{
	void	*p;

	if (n == 0)
		fatalx("xmalloc: zero size");
	if ((p = malloc(n)) == NULL)
		fatal("xmalloc: %zu bytes", n);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0)
		fatalx("xcalloc: zero size");
	if ((p = calloc(nmemb, size)) == NULL)
		fatal("xcalloc: %zu * %zu bytes", nmemb, size);
	return p;
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0)
		fatalx("xreallocarray: zero size");
	if ((p = reallocarray(ptr, nmemb, size)) == NULL)
		fatal("xreallocarray: %zu * %zu bytes", nmemb, size);
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("xstrdup");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		fatal("xstrndup");
	return p;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n == -1)
		fatal("xasprintf");
	return n;
}

void
freezero(void *p, size_t n)
{
	if (p == NULL)
		return;
	explicit_bzero(p, n);
	free(p);
}

size_t
strlcpy(char *dst, const char *src, size_t dsize)
{
	size_t	 len = strlen(src);

	if (dsize != 0) {
		size_t	 n = len >= dsize ? dsize - 1 : len;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

size_t
strlcat(char *dst, const char *src, size_t dsize)
{
	size_t	 dlen = strnlen(dst, dsize);

	if (dlen == dsize)
		return dlen + strlen(src);
	return dlen + strlcpy(dst + dlen, src, dsize - dlen);
}

uint64_t
now_us(void)
{
	struct timespec	 ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("clock_gettime");
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
now_ms(void)
{
	return now_us() / 1000;
}

int
hermes_home(char *buf, size_t len)
{
	const char	*h;
	struct passwd	*pw;

	if ((h = getenv("HERMES_HOME")) != NULL && *h != '\0') {
		if (strlcpy(buf, h, len) >= len)
			return -1;
		return 0;
	}
	if ((h = getenv("HOME")) == NULL || *h == '\0') {
		if ((pw = getpwuid(getuid())) == NULL)
			return -1;
		h = pw->pw_dir;
	}
	if ((size_t)snprintf(buf, len, "%s/.hermes", h) >= len)
		return -1;
	return 0;
}

int
hermes_socket_path(int system_mode, char *buf, size_t len)
{
	const char	*s;
	char		 home[4096];

	if ((s = getenv("HERMES_SOCKET")) != NULL && *s != '\0') {
		if (strlcpy(buf, s, len) >= len)
			return -1;
		return 0;
	}
	if (system_mode) {
		if (strlcpy(buf, "/run/hermes/hermesd.sock", len) >= len)
			return -1;
		return 0;
	}
	if ((s = getenv("XDG_RUNTIME_DIR")) != NULL && *s == '/') {
		if ((size_t)snprintf(buf, len, "%s/hermes/hermesd.sock", s) >=
		    len)
			return -1;
		return 0;
	}
	if (hermes_home(home, sizeof(home)) == -1)
		return -1;
	if ((size_t)snprintf(buf, len, "%s/run/hermesd.sock", home) >= len)
		return -1;
	return 0;
}

void
closefrom_fd(int lowfd)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd, dfd;
	char		*end;
	long		 v;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0) == 0)
		return;
#endif
	if ((d = opendir("/proc/self/fd")) == NULL) {
		for (fd = lowfd; fd < 65536; fd++)
			(void)close(fd);
		return;
	}
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		v = strtol(de->d_name, &end, 10);
		if (*end != '\0' || v < lowfd || v == dfd)
			continue;
		(void)close((int)v);
	}
	closedir(d);
}

int
set_nonblock(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	if (fl & O_NONBLOCK)
		return 0;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}
