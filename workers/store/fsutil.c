/*
 * File helpers of the store: atomic replace, bounded reads, and opening
 * paths beneath a directory without following symlinks (skill paths
 * come from the model).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipc/util.h"
#include "workers/store/store.h"

static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd, rc;

	if (strlcpy(dir, path, sizeof(dir)) >= sizeof(dir))
		return -ENAMETOOLONG;
	if ((slash = strrchr(dir, '/')) == NULL)
		strlcpy(dir, ".", sizeof(dir));
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -errno;
	rc = fsync(fd) == -1 ? -errno : 0;
	close(fd);
	return rc;
}

int
store_write_atomic(const char *path, const void *buf, size_t len, int mode)
{
	char tmp[PATH_MAX];
	int fd, err;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    mode);
	if (fd == -1)
		return -errno;
	if (write_all(fd, buf, len) == -1 || fsync(fd) == -1) {
		err = errno;
		close(fd);
		unlink(tmp);
		return -err;
	}
	if (close(fd) == -1) {
		err = errno;
		unlink(tmp);
		return -err;
	}
	if (rename(tmp, path) == -1) {
		err = errno;
		unlink(tmp);
		return -err;
	}
	return fsync_dir_of(path);
}

char *
store_read_file(const char *path, size_t max, size_t *lenp)
{
	struct stat st;
	char *buf;
	size_t len = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		if (errno == 0 || S_ISDIR(st.st_mode))
			errno = EISDIR;
		close(fd);
		return NULL;
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		errno = EFBIG;
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

int
store_mkdirs(const char *path, int mode)
{
	char buf[PATH_MAX];
	char *p;

	if (strlcpy(buf, path, sizeof(buf)) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

static int
rmtree_at(int dfd, const char *name, int depth)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	if (depth > 32) {
		errno = ELOOP;
		return -1;
	}
	if (unlinkat(dfd, name, 0) == 0)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return errno == ENOENT ? 0 : -1;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (rmtree_at(dirfd(d), de->d_name, depth + 1) == -1)
			rc = -1;
	}
	closedir(d);
	if (rc == 0 && unlinkat(dfd, name, AT_REMOVEDIR) == -1)
		rc = -1;
	return rc;
}

int
store_rmtree(const char *path)
{
	return rmtree_at(AT_FDCWD, path, 0);
}

/*
 * Walk dir/rel's directories without following symlinks; return the fd
 * of the last directory and the leaf name in *leaf (inside buf).
 */
static int
parent_beneath(const char *dir, const char *rel, int mkdirs, char *buf,
    size_t buflen, const char **leaf)
{
	char *p, *slash;
	int dfd, nfd, err;

	if (strlcpy(buf, rel, buflen) >= buflen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (buf[0] == '/' || buf[0] == '\0') {
		errno = EINVAL;
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1)
		return -1;
	p = buf;
	while ((slash = strchr(p, '/')) != NULL) {
		*slash = '\0';
		if (*p == '\0' || strcmp(p, ".") == 0 || strcmp(p, "..") == 0) {
			close(dfd);
			errno = EINVAL;
			return -1;
		}
		if (mkdirs && mkdirat(dfd, p, 0755) == -1 && errno != EEXIST) {
			err = errno;
			close(dfd);
			errno = err;
			return -1;
		}
		nfd = openat(dfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		err = errno;
		close(dfd);
		if (nfd == -1) {
			errno = err;
			return -1;
		}
		dfd = nfd;
		p = slash + 1;
	}
	if (*p == '\0' || strcmp(p, ".") == 0 || strcmp(p, "..") == 0) {
		close(dfd);
		errno = EINVAL;
		return -1;
	}
	*leaf = p;
	return dfd;
}

int
store_open_beneath(const char *dir, const char *rel, int flags, int mode,
    int mkdirs)
{
	char buf[PATH_MAX];
	const char *leaf;
	int dfd, fd, err;

	if ((dfd = parent_beneath(dir, rel, mkdirs, buf, sizeof(buf),
	    &leaf)) == -1)
		return -1;
	fd = openat(dfd, leaf, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	err = errno;
	close(dfd);
	errno = err;
	return fd;
}

int
store_write_beneath(const char *dir, const char *rel, const void *data,
    size_t len)
{
	char buf[PATH_MAX], tmp[NAME_MAX + 1];
	const char *leaf;
	int dfd, fd, err = 0;

	if ((dfd = parent_beneath(dir, rel, 1, buf, sizeof(buf), &leaf)) == -1)
		return -errno;
	if (snprintf(tmp, sizeof(tmp), ".%s.tmp.%ld", leaf, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		close(dfd);
		return -ENAMETOOLONG;
	}
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	if (fd == -1) {
		err = errno;
		close(dfd);
		return -err;
	}
	if (write_all(fd, data, len) == -1 || fsync(fd) == -1)
		err = errno;
	if (close(fd) == -1 && err == 0)
		err = errno;
	/* renameat replaces a symlink leaf itself, never its target. */
	if (err == 0 && renameat(dfd, tmp, dfd, leaf) == -1)
		err = errno;
	if (err != 0)
		unlinkat(dfd, tmp, 0);
	else if (fsync(dfd) == -1)
		err = errno;
	close(dfd);
	return -err;
}

int
store_unlink_beneath(const char *dir, const char *rel)
{
	char buf[PATH_MAX];
	const char *leaf;
	struct stat st;
	int dfd, rc = 0;

	if ((dfd = parent_beneath(dir, rel, 0, buf, sizeof(buf), &leaf)) == -1)
		return -errno;
	if (fstatat(dfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == -1)
		rc = -errno;
	else if (S_ISDIR(st.st_mode))
		rc = -EISDIR;
	else if (unlinkat(dfd, leaf, 0) == -1)
		rc = -errno;
	close(dfd);
	return rc;
}
