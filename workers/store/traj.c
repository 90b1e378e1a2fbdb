/*
 * Trajectories: ShareGPT-style JSONL records (Hermes's
 * trajectory_samples.jsonl / failed_trajectories.jsonl), one line per
 * record, under HERMES_HOME/trajectories/. A line is written whole or
 * not at all: a short write is cut back off.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/util.h"
#include "workers/store/store.h"

#define TRAJ_LINE_MAX	(8u * 1024 * 1024)

json_t *
store_traj_append(struct store *s, json_t *args)
{
	json_t *rec = json_object_get(args, "record"), *res;
	const char *file;
	char *dir, *path, *line;
	struct stat st;
	size_t len, off = 0;
	ssize_t n;
	int fd, completed, err = 0;

	if (!json_is_object(rec)) {
		store_fail(s, "invalid", "trajectory.append needs record: {...}");
		return NULL;
	}
	if (store_arg_bool(s, args, "completed", 1, &completed) == -1)
		return NULL;
	file = completed ? "trajectory_samples.jsonl" :
	    "failed_trajectories.jsonl";
	line = json_dumps(rec, JSON_COMPACT);
	if (line == NULL || (len = strlen(line)) > TRAJ_LINE_MAX) {
		free(line);
		store_fail(s, "toolarge", "trajectory record is larger than %u "
		    "bytes", TRAJ_LINE_MAX);
		return NULL;
	}
	line[len++] = '\n';	/* json_dumps's NUL becomes the newline */
	xasprintf(&dir, "%s/trajectories", s->home);
	if (store_mkdirs(dir, 0700) == -1) {
		store_fail(s, "io", "cannot create trajectories/: %s",
		    strerror(errno));
		free(dir);
		free(line);
		return NULL;
	}
	xasprintf(&path, "%s/%s", dir, file);
	free(dir);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	free(path);
	if (fd == -1 || fstat(fd, &st) == -1) {
		store_fail(s, "io", "cannot open %s: %s", file, strerror(errno));
		if (fd != -1)
			close(fd);
		free(line);
		return NULL;
	}
	while (off < len) {
		n = write(fd, line + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n == 0 ? EIO : errno;
			break;
		}
		off += (size_t)n;
	}
	if (err == 0 && fsync(fd) == -1)
		err = errno;
	if (err != 0 && ftruncate(fd, st.st_size) == -1)
		log_warn("trajectories: cannot cut a partial line");
	close(fd);
	free(line);
	if (err != 0) {
		store_fail(s, err == ENOSPC || err == EFBIG || err == EDQUOT ?
		    "nospace" : "io", "cannot append to %s: %s (nothing was "
		    "written)", file, strerror(err));
		return NULL;
	}
	res = json_object();
	json_object_set_new(res, "file", json_string(file));
	return res;
}
