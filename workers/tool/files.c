/*
 * The file tools: read_file, write_file, patch, search_files and the
 * context files, done in the runner itself below one directory fd (the
 * workspace) with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), so
 * `..`, absolute symlinks, magic links (/proc/self/root, /proc/N/fd/M)
 * and symlinks that leave the workspace are refused by the kernel, not by
 * string checks. Writes also refuse any symlink in the path
 * (RESOLVE_NO_SYMLINKS) and hardlinked targets; reads refuse hardlinked
 * files (a second name for a file outside the workspace).
 *
 * Why here and not in a sandboxed helper: the runner is itself confined
 * (SBX_TOOL_LOCAL: seccomp, landlock writes only in the workspace), and a
 * helper per read_file would cost a sandbox spawn (~1 ms) against the
 * 100 us goal. The command sandbox is for code the model wrote; these
 * tools run code we wrote, on paths the kernel resolves beneath the root.
 */
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/openat2.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ipc/util.h"
#include "workers/tool/tool.h"

static const char *const binary_exts[] = { ".exe", ".dll", ".so", ".o",
	".a", ".bin", ".zip", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z",
	".rar", ".tar", ".jar", ".class", ".pyc", ".pyo", ".wasm", ".pdf",
	".mp3", ".mp4", ".avi", ".mov", ".mkv", ".wav", ".flac", ".ogg",
	".ttf", ".otf", ".woff", ".woff2", ".sqlite", ".db", ".dylib",
	".iso", ".img", ".dmg" };
static const char *const image_exts[] = { ".png", ".jpg", ".jpeg", ".gif",
	".webp", ".bmp", ".ico", ".tiff", ".tif", ".svg" };

static int
has_ext(const char *path, const char *const *exts, size_t n)
{
	const char	*dot = strrchr(path, '.'), *slash = strrchr(path, '/');
	size_t		 i;

	if (dot == NULL || (slash != NULL && dot < slash))
		return 0;
	for (i = 0; i < n; i++)
		if (strcasecmp(dot, exts[i]) == 0)
			return 1;
	return 0;
}

/* ---- JSON helpers ------------------------------------------------------ */

static char *
dump(json_t *o)
{
	char	*s;

	s = json_dumps(o, 0);
	json_decref(o);
	if (s == NULL)
		fatalx("json_dumps");
	return s;
}


static json_t *
jstr(const char *s, size_t n)
{
	char	*c;
	json_t	*j;

	c = tool_utf8_sanitize(s, n, &n);
	j = json_stringn(c, n);
	free(c);
	if (j == NULL)
		fatalx("json_stringn");
	return j;
}

static json_t *
parse_args(const char *args_json, char **err)
{
	json_error_t	 je;
	json_t		*a;

	a = json_loads(args_json, JSON_REJECT_DUPLICATES, &je);
	if (a == NULL || !json_is_object(a)) {
		json_decref(a);
		*err = tool_json_error("Invalid arguments: %s", a ? "not an "
		    "object" : je.text);
		return NULL;
	}
	return a;
}

static const char *
arg_str(json_t *a, const char *k)
{
	json_t	*v = json_object_get(a, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static long long
arg_int(json_t *a, const char *k, long long def)
{
	json_t	*v = json_object_get(a, k);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (long long)json_real_value(v);
	if (json_is_string(v)) {
		char *e;
		long long x = strtoll(json_string_value(v), &e, 10);
		if (*e == '\0' && e != json_string_value(v))
			return x;
	}
	return def;
}

static int
arg_bool(json_t *a, const char *k)
{
	json_t	*v = json_object_get(a, k);

	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_string(v))
		return strcasecmp(json_string_value(v), "true") == 0;
	return 0;
}

/* ---- the root and path mapping ----------------------------------------- */

int
tool_fs_open(struct tool_fs *fs, const char *workspace)
{
	char	 rp[PATH_MAX];

	memset(fs, 0, sizeof(*fs));
	fs->rootfd = -1;
	if (realpath(workspace, rp) == NULL)
		return -1;
	fs->rootfd = open(rp, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs->rootfd == -1)
		return -1;
	fs->root = xstrdup(rp);
	fs->read_max_chars = TOOL_READ_MAX_CHARS;
	return 0;
}

void
tool_fs_close(struct tool_fs *fs)
{
	if (fs->rootfd != -1)
		close(fs->rootfd);
	free(fs->root);
	fs->root = NULL;
	fs->rootfd = -1;
}

/* Collapse "//" and "/./"; keep ".." (the kernel judges it). */
static void
clean_path(const char *in, struct tool_sb *out)
{
	const char	*p = in;

	while (*p) {
		if (*p == '/') {
			while (p[1] == '/')
				p++;
			if (p[1] == '.' && (p[2] == '/' || p[2] == '\0')) {
				p += 2;
				continue;
			}
		}
		tool_sb_addc(out, *p++);
	}
}

int
tool_fs_relpath(const struct tool_fs *fs, const char *cwd, const char *path,
    char *out, size_t outlen, const char **err)
{
	struct tool_sb	 sb = { 0 }, c = { 0 };
	const char	*rel;
	size_t		 rl = strlen(fs->root);
	char		*full;

	*err = NULL;
	if (path == NULL || *path == '\0') {
		*err = "path required";
		return -1;
	}
	if (strlen(path) >= PATH_MAX || memchr(path, '\0', strlen(path) + 1) !=
	    path + strlen(path)) {
		*err = "path too long";
		return -1;
	}
	if (path[0] == '~') {
		*err = "path is outside the workspace";
		return -1;
	}
	if (path[0] == '/')
		tool_sb_adds(&sb, path);
	else {
		if (cwd != NULL && cwd[0] == '/')
			tool_sb_adds(&sb, cwd);
		else
			tool_sb_adds(&sb, fs->root);
		tool_sb_addc(&sb, '/');
		tool_sb_adds(&sb, path);
	}
	full = tool_sb_take(&sb);
	clean_path(full, &c);
	free(full);
	full = tool_sb_take(&c);
	if (strncmp(full, fs->root, rl) != 0 ||
	    (full[rl] != '/' && full[rl] != '\0')) {
		free(full);
		*err = "path is outside the workspace";
		return -1;
	}
	rel = full + rl;
	while (*rel == '/')
		rel++;
	if (*rel == '\0')
		rel = ".";
	if (strlcpy(out, rel, outlen) >= outlen) {
		free(full);
		*err = "path too long";
		return -1;
	}
	{
		size_t n = strlen(out);
		while (n > 1 && out[n - 1] == '/')
			out[--n] = '\0';
	}
	free(full);
	return 0;
}

int
tool_fs_openat(const struct tool_fs *fs, const char *rel, int flags,
    mode_t mode, int nofollow)
{
	struct open_how	 how;
	long		 fd;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(flags | O_CLOEXEC);
	if (flags & O_CREAT)
		how.mode = mode;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	if (nofollow)
		how.resolve |= RESOLVE_NO_SYMLINKS;
	do
		fd = syscall(SYS_openat2, fs->rootfd, rel, &how, sizeof(how));
	while (fd == -1 && errno == EAGAIN);
	return (int)fd;
}

static const char *
open_err(int e)
{
	switch (e) {
	case EXDEV:
		return "path escapes the workspace (refused)";
	case ELOOP:
		return "path goes through a symlink (refused)";
	case ENOENT:
		return "not found";
	case EACCES:
	case EPERM:
		return "permission denied";
	case EISDIR:
		return "is a directory";
	case ENOTDIR:
		return "a parent is not a directory";
	default:
		return strerror(e);
	}
}

int
tool_fs_read_all(const struct tool_fs *fs, const char *rel, char **data,
    size_t *len, const char **err)
{
	struct stat	 st;
	struct tool_sb	 sb = { 0 };
	char		 buf[65536];
	ssize_t		 r;
	int		 fd;

	*err = NULL;
	*data = NULL;
	*len = 0;
	if ((fd = tool_fs_openat(fs, rel, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0,
	    0)) == -1) {
		int e = errno;
		*err = open_err(e);
		return -e;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		*err = S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file";
		return -EINVAL;
	}
	if (st.st_nlink > 1) {
		close(fd);
		*err = "file has several hard links (refused)";
		return -EPERM;
	}
	if ((uint64_t)st.st_size > TOOL_FILE_MAX_BYTES) {
		close(fd);
		*err = "file too large";
		return -EFBIG;
	}
	tool_sb_add(&sb, "", 0);
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		if (sb.len + (size_t)r > TOOL_FILE_MAX_BYTES) {
			close(fd);
			tool_sb_free(&sb);
			*err = "file too large";
			return -EFBIG;
		}
		tool_sb_add(&sb, buf, (size_t)r);
	}
	close(fd);
	if (r == -1) {
		int e = errno;
		tool_sb_free(&sb);
		*err = strerror(e);
		return -e;
	}
	*len = sb.len;
	*data = tool_sb_take(&sb);
	return 0;
}

/* mkdir -p of the parents of rel, each step beneath the root and without
 * symlinks. 0 or -errno. */
static int
mkdir_parents(const struct tool_fs *fs, const char *rel, int *created)
{
	char	*p = xstrdup(rel), *s;
	int	 fd, rc = 0;

	for (s = strchr(p, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (*p != '\0' && strcmp(p, ".") != 0) {
			fd = tool_fs_openat(fs, p, O_PATH | O_DIRECTORY, 0, 1);
			if (fd >= 0)
				close(fd);
			else if (errno == ENOENT) {
				/* mkdirat relative to the root is safe only
				 * because the parent was just resolved beneath */
				char *slash = strrchr(p, '/');
				int pfd = fs->rootfd, own = 0;
				const char *name = p;
				if (slash != NULL) {
					*slash = '\0';
					pfd = tool_fs_openat(fs, p, O_PATH |
					    O_DIRECTORY, 0, 1);
					*slash = '/';
					if (pfd == -1) {
						rc = -errno;
						break;
					}
					own = 1;
					name = slash + 1;
				}
				if (mkdirat(pfd, name, 0777) == -1 && errno != EEXIST)
					rc = -errno;
				else
					*created = 1;
				if (own)
					close(pfd);
				if (rc)
					break;
			} else {
				rc = -errno;
				break;
			}
		}
		*s = '/';
	}
	free(p);
	return rc;
}

int
tool_fs_write_atomic(const struct tool_fs *fs, const char *rel,
    const char *data, size_t len, int *created_dirs)
{
	char		*dir, *base, tmp[NAME_MAX + 1];
	const char	*slash;
	struct stat	 st;
	mode_t		 mode = 0666;
	int		 dfd, fd, rc, tries;
	size_t		 off = 0;
	ssize_t		 w;

	*created_dirs = 0;
	if ((rc = mkdir_parents(fs, rel, created_dirs)) != 0)
		return rc;
	slash = strrchr(rel, '/');
	dir = slash ? xstrndup(rel, (size_t)(slash - rel)) : xstrdup(".");
	base = xstrdup(slash ? slash + 1 : rel);
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		free(dir);
		free(base);
		return -EISDIR;
	}
	dfd = tool_fs_openat(fs, dir, O_RDONLY | O_DIRECTORY, 0, 1);
	free(dir);
	if (dfd == -1) {
		rc = -errno;
		free(base);
		return rc;
	}
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISLNK(st.st_mode))
			rc = -ELOOP;
		else if (!S_ISREG(st.st_mode))
			rc = -EISDIR;
		else if (st.st_nlink > 1)
			rc = -EMLINK;
		mode = st.st_mode & 07777;
		if (rc) {
			close(dfd);
			free(base);
			return rc;
		}
	}
	for (tries = 0; tries < 16; tries++) {
		snprintf(tmp, sizeof(tmp), ".%.200s.hermes-tmp-%08x", base,
		    (unsigned)arc4random());
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, mode);
		if (fd != -1 || errno != EEXIST)
			break;
	}
	if (fd == -1) {
		rc = -errno;
		close(dfd);
		free(base);
		return rc;
	}
	if (mode != 0666)
		(void)fchmod(fd, mode);
	while (off < len) {
		w = write(fd, data + off, len - off);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		off += (size_t)w;
	}
	if (close(fd) == -1 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(dfd, tmp, dfd, base) == -1)
		rc = -errno;
	if (rc != 0)
		(void)unlinkat(dfd, tmp, 0);
	close(dfd);
	free(base);
	return rc;
}

/* ---- read_file ---------------------------------------------------------- */

static int
looks_binary(const char *s, size_t n)
{
	size_t	 i, np = 0, m = n < 1000 ? n : 1000;

	if (m == 0)
		return 0;
	for (i = 0; i < m; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0)
			return 1;
		if (c < 32 && c != '\n' && c != '\r' && c != '\t')
			np++;
	}
	return np * 100 > m * 30;
}

static json_t *
similar_files(const struct tool_fs *fs, const char *rel)
{
	json_t		*arr = json_array();
	char		*dir, *base;
	const char	*slash = strrchr(rel, '/');
	struct dirent	*de;
	DIR		*d;
	int		 dfd;

	dir = slash ? xstrndup(rel, (size_t)(slash - rel)) : xstrdup(".");
	base = xstrdup(slash ? slash + 1 : rel);
	dfd = tool_fs_openat(fs, dir, O_RDONLY | O_DIRECTORY, 0, 0);
	if (dfd != -1 && (d = fdopendir(dfd)) != NULL) {
		while ((de = readdir(d)) != NULL && json_array_size(arr) < 5) {
			if (de->d_name[0] == '.' && base[0] != '.')
				continue;
			if (strcasestr(de->d_name, base) != NULL ||
			    (strlen(base) >= 3 && strncasecmp(de->d_name, base,
			    3) == 0)) {
				char *p;
				xasprintf(&p, "%s%s%s", slash ? dir : "",
				    slash ? "/" : "", de->d_name);
				json_array_append_new(arr, jstr(p, strlen(p)));
				free(p);
			}
		}
		closedir(d);
	} else if (dfd != -1)
		close(dfd);
	free(dir);
	free(base);
	return arr;
}

/* Append "N|line" (cut at TOOL_READ_MAX_LINE_LEN chars) unless it would
 * pass the character budget. */
static void
emit_line(struct tool_sb *content, size_t *content_chars, struct tool_sb *cur,
    long long lineno, size_t budget, int *over, size_t *kept)
{
	struct tool_sb	 one = { 0 };
	const char	*ln = cur->s ? cur->s : "";
	size_t		 ll = cur->len, lc, oc;

	if (ll > 0 && ln[ll - 1] == '\r')
		ll--;
	lc = tool_utf8_chars(ln, ll);
	{
		char num[32];
		int nn = snprintf(num, sizeof(num), "%lld|", lineno);
		tool_sb_add(&one, num, (size_t)nn);
	}
	if (lc > TOOL_READ_MAX_LINE_LEN) {
		size_t bl = 0, k = 0;
		while (bl < ll) {
			if (((unsigned char)ln[bl] & 0xc0) != 0x80 &&
			    ++k > TOOL_READ_MAX_LINE_LEN)
				break;
			bl++;
		}
		tool_sb_add(&one, ln, bl);
		tool_sb_adds(&one, "... [truncated]");
	} else
		tool_sb_add(&one, ln, ll);
	oc = tool_utf8_chars(one.s, one.len);
	if (*content_chars + oc + (content->len ? 1 : 0) > budget && *kept > 0)
		*over = 1;
	else {
		if (content->len) {
			tool_sb_addc(content, '\n');
			(*content_chars)++;
		}
		tool_sb_add(content, one.s, one.len);
		*content_chars += oc;
		(*kept)++;
	}
	tool_sb_free(&one);
	cur->len = 0;
}

/* The read itself, from an open fd (a local file, or a memfd holding a
 * remote file's bytes). Takes the fd and the parsed args. */
static char *
read_stream(int fd, off_t size, const char *path, json_t *a,
    size_t read_max_chars)
{
	char		 buf[65536];
	struct tool_sb	 cur = { 0 }, content = { 0 };
	json_t		*o;
	long long	 offset, limit, lineno = 1, end, total = 0;
	ssize_t		 r;
	size_t		 kept_lines = 0, first_chunk = 1, content_chars = 0;
	int		 binary_checked = 0, over_budget = 0;
	char		 last = '\n';
	struct {
		off_t	 st_size;
	}		 st = { size };

	offset = arg_int(a, "offset", 1);
	limit = arg_int(a, "limit", TOOL_READ_DEFAULT_LINES);
	if (offset < 1)
		offset = 1;
	if (limit < 1)
		limit = TOOL_READ_DEFAULT_LINES;
	if (limit > TOOL_READ_MAX_LINES)
		limit = TOOL_READ_MAX_LINES;
	end = offset + limit - 1;
	if (has_ext(path, image_exts, nitems(image_exts))) {
		close(fd);
		json_decref(a);
		return dump(json_pack("{s:b,s:b,s:I,s:s}", "is_image", 1,
		    "is_binary", 1, "file_size", (json_int_t)st.st_size, "hint",
		    "Image file detected. Automatically redirected to "
		    "vision_analyze tool. Use vision_analyze with this file path "
		    "to inspect the image contents."));
	}
	/* Stream: count every line, keep those in [offset, end]. */
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		size_t s = 0;
		if (!binary_checked) {
			binary_checked = 1;
			if (has_ext(path, binary_exts, nitems(binary_exts)) ||
			    looks_binary(buf, (size_t)r)) {
				close(fd);
				json_decref(a);
				return dump(json_pack("{s:b,s:I,s:s}",
				    "is_binary", 1, "file_size",
				    (json_int_t)st.st_size, "error", "Binary "
				    "file - cannot display as text. Use "
				    "appropriate tools to handle this file "
				    "type."));
			}
			/* UTF-8 BOM */
			if (first_chunk && r >= 3 && memcmp(buf, "\xef\xbb\xbf",
			    3) == 0)
				s = 3;
			first_chunk = 0;
		}
		{
			const char *q = buf + s, *e = buf + r, *nl;
			while (q < e) {
				nl = memchr(q, '\n', (size_t)(e - q));
				size_t seg = nl ? (size_t)(nl - q) : (size_t)(e - q);
				if (lineno >= offset && lineno <= end &&
				    !over_budget) {
					size_t room = 4 * TOOL_READ_MAX_LINE_LEN + 64;
					room = cur.len < room ? room - cur.len : 0;
					tool_sb_add(&cur, q, seg < room ? seg : room);
					if (nl != NULL)
						emit_line(&content, &content_chars, &cur,
						    lineno, read_max_chars,
						    &over_budget, &kept_lines);
				}
				if (nl == NULL) {
					last = e[-1];
					break;
				}
				lineno++;
				total++;
				last = '\n';
				q = nl + 1;
			}
		}
	}
	close(fd);
	/* A last line without a newline. */
	if (last != '\n') {
		if (lineno >= offset && lineno <= end && !over_budget &&
		    cur.len > 0)
			emit_line(&content, &content_chars, &cur, lineno,
			    read_max_chars, &over_budget, &kept_lines);
		total++;	/* wc -l would not count it; lines the model sees */
	}
	tool_sb_free(&cur);
	if (r == -1) {
		tool_sb_free(&content);
		json_decref(a);
		return tool_json_error("Failed to read file: %s", strerror(errno));
	}
	{
		char *c = tool_sb_take(&content), *red;
		red = tool_redact(c, 0);
		free(c);
		o = json_object();
		json_object_set_new(o, "content", jstr(red, strlen(red)));
		free(red);
	}
	json_object_set_new(o, "total_lines", json_integer(total));
	json_object_set_new(o, "file_size", json_integer(st.st_size));
	if (over_budget) {
		long long next = offset + (long long)kept_lines;
		json_object_set_new(o, "truncated", json_true());
		json_object_set_new(o, "is_binary", json_false());
		json_object_set_new(o, "is_image", json_false());
		json_object_set_new(o, "truncated_by", json_string("bytes"));
		json_object_set_new(o, "next_offset", json_integer(next));
		json_object_set_new(o, "hint", json_sprintf("Output truncated "
		    "at the %zu-char read budget after %zu line(s) (showing "
		    "lines %lld-%lld of %lld). Use offset=%lld to continue.",
		    read_max_chars, kept_lines, offset, next - 1, total,
		    next));
	} else {
		int trunc = total > end;
		json_object_set_new(o, "truncated", json_boolean(trunc));
		json_object_set_new(o, "is_binary", json_false());
		json_object_set_new(o, "is_image", json_false());
		if (trunc)
			json_object_set_new(o, "hint", json_sprintf("Use "
			    "offset=%lld to continue reading (showing "
			    "%lld-%lld of %lld lines)", end + 1, offset, end,
			    total));
	}
	json_decref(a);
	return dump(o);
}


char *
tool_read_fd(int fd, off_t size, const char *path, const char *args_json,
    size_t read_max_chars)
{
	char	*err = NULL;
	json_t	*a;

	if ((a = parse_args(args_json, &err)) == NULL) {
		close(fd);
		return err;
	}
	return read_stream(fd, size, path, a, read_max_chars ? read_max_chars :
	    TOOL_READ_MAX_CHARS);
}

char *
tool_read_file(const struct tool_fs *fs, const char *cwd, const char *args_json)
{
	char		 rel[PATH_MAX], *err = NULL;
	const char	*path, *perr;
	struct stat	 st;
	json_t		*a, *o;
	int		 fd;

	if ((a = parse_args(args_json, &err)) == NULL)
		return err;
	path = arg_str(a, "path");
	if (tool_fs_relpath(fs, cwd, path, rel, sizeof(rel), &perr) == -1) {
		err = tool_json_error("%s: %s", perr, path ? path : "");
		json_decref(a);
		return err;
	}
	if ((fd = tool_fs_openat(fs, rel, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0,
	    0)) == -1) {
		int e = errno;
		if (e == ENOENT) {
			o = json_object();
			json_object_set_new(o, "error", json_sprintf(
			    "File not found: %s", path));
			json_t *sim = similar_files(fs, rel);
			if (json_array_size(sim) > 0)
				json_object_set_new(o, "similar_files", sim);
			else
				json_decref(sim);
			json_decref(a);
			return dump(o);
		}
		err = tool_json_error("Cannot read %s: %s", path, open_err(e));
		json_decref(a);
		return err;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_nlink > 1) {
		err = tool_json_error("Cannot read %s: %s", path,
		    S_ISDIR(st.st_mode) ? "is a directory (use search_files to "
		    "list it)" : st.st_nlink > 1 && S_ISREG(st.st_mode) ?
		    "file has several hard links (refused)" :
		    "not a regular file");
		close(fd);
		json_decref(a);
		return err;
	}
	return read_stream(fd, st.st_size, path, a, fs->read_max_chars);
}

/* ---- write_file --------------------------------------------------------- */

char *
tool_write_file(const struct tool_fs *fs, const char *cwd, const char *args_json)
{
	char		 rel[PATH_MAX], *err = NULL;
	const char	*path, *content, *perr;
	size_t		 len;
	json_t		*a;
	int		 rc, created;

	if ((a = parse_args(args_json, &err)) == NULL)
		return err;
	path = arg_str(a, "path");
	content = arg_str(a, "content");
	if (content == NULL) {
		json_decref(a);
		return tool_json_error("content required");
	}
	len = json_string_length(json_object_get(a, "content"));
	if (len > TOOL_WRITE_MAX_BYTES) {
		json_decref(a);
		return tool_json_error("content too large (%zu bytes)", len);
	}
	if (tool_fs_relpath(fs, cwd, path, rel, sizeof(rel), &perr) == -1) {
		err = tool_json_error("%s: %s", perr, path ? path : "");
		json_decref(a);
		return err;
	}
	rc = tool_fs_write_atomic(fs, rel, content, len, &created);
	if (rc != 0) {
		err = tool_json_error("Failed to write file: %s: %s", path,
		    rc == -EMLINK ? "file has several hard links (refused)" :
		    open_err(-rc));
		json_decref(a);
		return err;
	}
	json_decref(a);
	return dump(json_pack("{s:I,s:b}", "bytes_written", (json_int_t)len,
	    "dirs_created", created));
}

/* ---- patch -------------------------------------------------------------- */

struct staged {
	char	*rel;
	char	*display;
	char	*data;		/* NULL: delete */
	int	 created;
};

static char *
patch_error(const char *msg)
{
	char	*m = tool_utf8_sanitize(msg, strlen(msg), NULL);
	char	*s = dump(json_pack("{s:b,s:s}", "success", 0, "error", m));

	free(m);
	return s;
}

char *
tool_patch(const struct tool_fs *fs, const char *cwd, const char *args_json)
{
	char		 rel[PATH_MAX], *err = NULL, *data = NULL, *nc, *ferr;
	char		 perrbuf[512];
	const char	*mode, *path, *perr, *strategy = NULL;
	struct tool_patchset ps;
	struct staged	*st = NULL;
	size_t		 nst = 0, i, len;
	json_t		*a, *o, *mod, *cre, *del;
	struct tool_sb	 diff = { 0 };
	int		 count, rc, created;

	if ((a = parse_args(args_json, &err)) == NULL)
		return err;
	mode = arg_str(a, "mode");
	if (mode == NULL)
		mode = "replace";
	if (strcmp(mode, "replace") == 0) {
		const char *old = arg_str(a, "old_string");
		const char *new = arg_str(a, "new_string");
		path = arg_str(a, "path");
		if (path == NULL) {
			json_decref(a);
			return tool_json_error("path required");
		}
		if (old == NULL || new == NULL) {
			json_decref(a);
			return tool_json_error("old_string and new_string required");
		}
		if (tool_fs_relpath(fs, cwd, path, rel, sizeof(rel), &perr) == -1) {
			err = patch_error(perr);
			json_decref(a);
			return err;
		}
		if (tool_fs_read_all(fs, rel, &data, &len, &perr) != 0) {
			snprintf(perrbuf, sizeof(perrbuf), "Failed to read file: "
			    "%s: %s", path, perr);
			json_decref(a);
			return patch_error(perrbuf);
		}
		if (strlen(data) != len) {
			free(data);
			json_decref(a);
			return patch_error("file contains NUL bytes; not patched");
		}
		nc = tool_fuzzy_replace(data, old, new, arg_bool(a, "replace_all"),
		    &count, &strategy, &ferr);
		if (nc == NULL) {
			snprintf(perrbuf, sizeof(perrbuf), "%s", ferr);
			free(ferr);
			free(data);
			json_decref(a);
			return patch_error(perrbuf);
		}
		rc = tool_fs_write_atomic(fs, rel, nc, strlen(nc), &created);
		if (rc != 0) {
			snprintf(perrbuf, sizeof(perrbuf), "Failed to write "
			    "changes: %s", open_err(-rc));
			free(nc);
			free(data);
			json_decref(a);
			return patch_error(perrbuf);
		}
		{
			char *d = tool_unified_diff(data, nc, path);
			o = json_pack("{s:b,s:o,s:[s]}", "success", 1, "diff",
			    jstr(d, strlen(d)), "files_modified", path);
			free(d);
		}
		free(nc);
		free(data);
		json_decref(a);
		return dump(o);
	}
	if (strcmp(mode, "patch") != 0) {
		err = tool_json_error("Unknown mode: %s", mode);
		json_decref(a);
		return err;
	}
	if (arg_str(a, "patch") == NULL) {
		json_decref(a);
		return tool_json_error("patch content required");
	}
	if (tool_patch_parse(arg_str(a, "patch"), &ps, perrbuf,
	    sizeof(perrbuf)) == -1) {
		char m[600];
		snprintf(m, sizeof(m), "Failed to parse patch: %s", perrbuf);
		json_decref(a);
		return patch_error(m);
	}
	/* Stage every change in memory first: nothing is written unless all
	 * of them apply. */
	for (i = 0; i < ps.nfiles; i++) {
		struct tool_patch_file *f = &ps.files[i];
		char *old = NULL;
		size_t olen;
		if (tool_fs_relpath(fs, cwd, f->path, rel, sizeof(rel), &perr) ==
		    -1) {
			snprintf(perrbuf, sizeof(perrbuf), "%s: %s", perr, f->path);
			goto fail;
		}
		st = xreallocarray(st, nst + 2, sizeof(*st));
		memset(&st[nst], 0, 2 * sizeof(*st));
		st[nst].rel = xstrdup(rel);
		st[nst].display = xstrdup(f->path);
		if (f->op == TOOL_P_ADD) {
			struct tool_sb c = { 0 };
			size_t k;
			int fd = tool_fs_openat(fs, rel, O_PATH, 0, 0);
			if (fd != -1) {
				close(fd);
				snprintf(perrbuf, sizeof(perrbuf), "cannot add %s: "
				    "it already exists", f->path);
				nst++;
				goto fail;
			}
			for (k = 0; f->nhunks && k < f->hunks[0].nlines; k++) {
				tool_sb_adds(&c, f->hunks[0].lines[k].text);
				tool_sb_addc(&c, '\n');
			}
			st[nst].data = tool_sb_take(&c);
			st[nst].created = 1;
			nst++;
			continue;
		}
		if (tool_fs_read_all(fs, rel, &old, &olen, &perr) != 0) {
			snprintf(perrbuf, sizeof(perrbuf), "cannot read %s: %s",
			    f->path, perr);
			nst++;
			goto fail;
		}
		if (f->op == TOOL_P_DELETE) {
			free(old);
			nst++;
			continue;
		}
		if (f->nhunks > 0) {
			nc = tool_patch_apply_hunks(old, f, perrbuf,
			    sizeof(perrbuf));
			if (nc == NULL) {
				free(old);
				nst++;
				goto fail;
			}
		} else
			nc = xstrdup(old);
		{
			char *d = tool_unified_diff(old, nc, f->path);
			tool_sb_adds(&diff, d);
			free(d);
		}
		free(old);
		if (f->new_path != NULL) {
			/* move: delete the old name, create the new */
			st[nst].data = NULL;
			nst++;
			if (tool_fs_relpath(fs, cwd, f->new_path, rel, sizeof(rel),
			    &perr) == -1) {
				free(nc);
				snprintf(perrbuf, sizeof(perrbuf), "%s: %s", perr,
				    f->new_path);
				goto fail;
			}
			st[nst].rel = xstrdup(rel);
			st[nst].display = xstrdup(f->new_path);
			st[nst].created = 1;
		}
		st[nst].data = nc;
		nst++;
	}
	/* Commit. Writes are atomic per file. */
	mod = json_array();
	cre = json_array();
	del = json_array();
	for (i = 0; i < nst; i++) {
		if (st[i].data != NULL) {
			rc = tool_fs_write_atomic(fs, st[i].rel, st[i].data,
			    strlen(st[i].data), &created);
			if (rc != 0) {
				snprintf(perrbuf, sizeof(perrbuf), "Failed to write "
				    "%s: %s", st[i].display, open_err(-rc));
				json_decref(mod);
				json_decref(cre);
				json_decref(del);
				goto fail;
			}
			json_array_append_new(st[i].created ? cre : mod,
			    jstr(st[i].display, strlen(st[i].display)));
		} else {
			char *slash = strrchr(st[i].rel, '/');
			char *dir = slash ? xstrndup(st[i].rel,
			    (size_t)(slash - st[i].rel)) : xstrdup(".");
			int dfd = tool_fs_openat(fs, dir, O_RDONLY | O_DIRECTORY,
			    0, 1);
			free(dir);
			if (dfd == -1 || unlinkat(dfd, slash ? slash + 1 :
			    st[i].rel, 0) == -1) {
				snprintf(perrbuf, sizeof(perrbuf), "Failed to "
				    "delete %s: %s", st[i].display,
				    strerror(errno));
				if (dfd != -1)
					close(dfd);
				json_decref(mod);
				json_decref(cre);
				json_decref(del);
				goto fail;
			}
			close(dfd);
			json_array_append_new(del, jstr(st[i].display,
			    strlen(st[i].display)));
		}
	}
	o = json_object();
	json_object_set_new(o, "success", json_true());
	if (diff.len)
		json_object_set_new(o, "diff", jstr(diff.s, diff.len));
	if (json_array_size(mod))
		json_object_set(o, "files_modified", mod);
	if (json_array_size(cre))
		json_object_set(o, "files_created", cre);
	if (json_array_size(del))
		json_object_set(o, "files_deleted", del);
	json_decref(mod);
	json_decref(cre);
	json_decref(del);
	for (i = 0; i < nst; i++) {
		free(st[i].rel);
		free(st[i].display);
		free(st[i].data);
	}
	free(st);
	tool_sb_free(&diff);
	tool_patchset_free(&ps);
	json_decref(a);
	return dump(o);
fail:
	for (i = 0; i < nst; i++) {
		free(st[i].rel);
		free(st[i].display);
		free(st[i].data);
	}
	free(st);
	tool_sb_free(&diff);
	tool_patchset_free(&ps);
	json_decref(a);
	return patch_error(perrbuf);
}

/* ---- search_files (built in: a walk beneath the root) -------------------- */

struct search {
	const struct tool_fs *fs;
	int		 content;	/* target content vs files */
	regex_t		 rx;
	const char	*pattern;
	const char	*glob;
	int		 mode;		/* 0 content, 1 files_only, 2 count */
	long long	 offset, limit, seen;
	size_t		 visited;
	json_t		*matches, *files, *counts;
	int		 truncated;
	struct fent {
		char	*path;
		time_t	 mtime;
	}		*fents;
	size_t		 nfents;
};

static void
search_file(struct search *s, int dfd, const char *name, const char *rel,
    const struct stat *st)
{
	char		*data, *line, *save = NULL;
	struct stat	 fst;
	size_t		 n = 0, cap;
	ssize_t		 r;
	long long	 lineno = 0, hits = 0;
	int		 fd;

	if (!S_ISREG(st->st_mode) || st->st_nlink > 1 ||
	    st->st_size > 8 * 1024 * 1024)
		return;
	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1)
		return;
	/* what was opened, not what was stat'ed */
	if (fstat(fd, &fst) == -1 || !S_ISREG(fst.st_mode) || fst.st_nlink > 1 ||
	    fst.st_size > 8 * 1024 * 1024) {
		close(fd);
		return;
	}
	cap = (size_t)fst.st_size + 1;
	data = xmalloc(cap);
	while (n + 1 < cap && (r = read(fd, data + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	data[n] = '\0';
	if (memchr(data, '\0', n < 8192 ? n : 8192) != NULL) {
		free(data);
		return;
	}
	for (line = data; line != NULL && *line != '\0'; line = save) {
		char *nl = strchr(line, '\n');
		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		lineno++;
		if (regexec(&s->rx, line, 0, NULL, 0) != 0)
			continue;
		hits++;
		if (s->mode == 0) {
			s->seen++;
			if (s->seen <= s->offset)
				continue;
			if ((long long)json_array_size(s->matches) >= s->limit) {
				s->truncated = 1;
				continue;
			}
			size_t ll = strlen(line);
			if (ll > 0 && line[ll - 1] == '\r')
				ll--;
			json_array_append_new(s->matches, json_pack("{s:o,s:I,s:o}",
			    "path", jstr(rel, strlen(rel)), "line",
			    (json_int_t)lineno, "content", jstr(line, ll)));
		}
	}
	free(data);
	if (hits > 0 && s->mode == 1) {
		s->seen++;
		if (s->seen > s->offset) {
			if ((long long)json_array_size(s->files) < s->limit)
				json_array_append_new(s->files, jstr(rel,
				    strlen(rel)));
			else
				s->truncated = 1;
		}
	}
	if (hits > 0 && s->mode == 2)
		json_object_set_new(s->counts, rel, json_integer(hits));
}

static void
walk(struct search *s, int dfd, const char *prefix, int depth)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		*rel;
	int		 sub;

	if (depth > TOOL_SEARCH_MAX_DEPTH)
		return;
	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (++s->visited > TOOL_SEARCH_MAX_FILES) {
			s->truncated = 1;
			break;
		}
		if (de->d_name[0] == '.')
			continue;	/* hidden files and .git, as ripgrep */
		if (strcmp(de->d_name, "node_modules") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if (*prefix)
			xasprintf(&rel, "%s/%s", prefix, de->d_name);
		else
			rel = xstrdup(de->d_name);
		if (S_ISDIR(st.st_mode)) {
			sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			if (sub != -1)
				walk(s, sub, rel, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			if (s->content) {
				if (s->glob == NULL || fnmatch(s->glob, de->d_name,
				    0) == 0)
					search_file(s, dirfd(d), de->d_name, rel, &st);
			} else if (fnmatch(s->pattern, de->d_name, 0) == 0 ||
			    fnmatch(s->pattern, rel, FNM_PATHNAME) == 0) {
				s->fents = xreallocarray(s->fents, s->nfents + 1,
				    sizeof(*s->fents));
				s->fents[s->nfents].path = xstrdup(rel);
				s->fents[s->nfents].mtime = st.st_mtime;
				s->nfents++;
			}
		}
		free(rel);
	}
	closedir(d);
}

static int
fent_cmp(const void *a, const void *b)
{
	const struct fent *x = a, *y = b;

	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? 1 : -1;
	return strcmp(x->path, y->path);
}

char *
tool_search_files(const struct tool_fs *fs, const char *cwd,
    const char *args_json)
{
	struct search	 s;
	char		 rel[PATH_MAX], *err = NULL, ebuf[256];
	const char	*target, *path, *perr, *om;
	json_t		*a, *o;
	size_t		 i;
	int		 dfd, rc;

	if ((a = parse_args(args_json, &err)) == NULL)
		return err;
	memset(&s, 0, sizeof(s));
	s.fs = fs;
	s.pattern = arg_str(a, "pattern");
	if (s.pattern == NULL || *s.pattern == '\0') {
		json_decref(a);
		return tool_json_error("pattern required");
	}
	target = arg_str(a, "target");
	s.content = target == NULL || strcmp(target, "content") == 0 ||
	    strcmp(target, "grep") == 0;
	path = arg_str(a, "path");
	if (path == NULL)
		path = ".";
	s.glob = arg_str(a, "file_glob");
	om = arg_str(a, "output_mode");
	s.mode = om == NULL || strcmp(om, "content") == 0 ? 0 :
	    strcmp(om, "files_only") == 0 ? 1 : strcmp(om, "count") == 0 ? 2 : 0;
	s.limit = arg_int(a, "limit", TOOL_SEARCH_DEFAULT_LIMIT);
	s.offset = arg_int(a, "offset", 0);
	if (s.limit < 1)
		s.limit = TOOL_SEARCH_DEFAULT_LIMIT;
	if (s.offset < 0)
		s.offset = 0;
	if (tool_fs_relpath(fs, cwd, path, rel, sizeof(rel), &perr) == -1) {
		err = tool_json_error("%s: %s", perr, path);
		json_decref(a);
		return err;
	}
	if (s.content) {
		rc = regcomp(&s.rx, s.pattern, REG_EXTENDED | REG_NOSUB);
		if (rc != 0) {
			regerror(rc, &s.rx, ebuf, sizeof(ebuf));
			err = tool_json_error("Search failed: invalid regex: %s",
			    ebuf);
			json_decref(a);
			return err;
		}
	}
	if ((dfd = tool_fs_openat(fs, rel, O_RDONLY | O_DIRECTORY, 0, 0)) == -1) {
		int e = errno;
		if (s.content)
			regfree(&s.rx);
		err = tool_json_error("Search failed: %s: %s", path, open_err(e));
		json_decref(a);
		return err;
	}
	s.matches = json_array();
	s.files = json_array();
	s.counts = json_object();
	walk(&s, dfd, strcmp(rel, ".") == 0 ? "" : rel, 0);
	o = json_object();
	if (s.content) {
		regfree(&s.rx);
		json_object_set_new(o, "total_count", json_integer(
		    s.mode == 2 ? (json_int_t)json_object_size(s.counts) :
		    (json_int_t)s.seen));
		if (json_array_size(s.matches))
			json_object_set(o, "matches", s.matches);
		if (json_array_size(s.files))
			json_object_set(o, "files", s.files);
		if (json_object_size(s.counts))
			json_object_set(o, "counts", s.counts);
	} else {
		qsort(s.fents, s.nfents, sizeof(*s.fents), fent_cmp);
		json_object_set_new(o, "total_count", json_integer(
		    (json_int_t)s.nfents));
		for (i = 0; i < s.nfents; i++) {
			if ((long long)i >= s.offset && (long long)i < s.offset +
			    s.limit)
				json_array_append_new(s.files, jstr(s.fents[i].path,
				    strlen(s.fents[i].path)));
			else if ((long long)i >= s.offset + s.limit)
				s.truncated = 1;
			free(s.fents[i].path);
		}
		free(s.fents);
		if (json_array_size(s.files))
			json_object_set(o, "files", s.files);
	}
	if (s.truncated)
		json_object_set_new(o, "truncated", json_true());
	json_decref(s.matches);
	json_decref(s.files);
	json_decref(s.counts);
	json_decref(a);
	return dump(o);
}

/* ---- context files -------------------------------------------------------- */

static void
add_context(const struct tool_fs *fs, json_t *arr, const char *rel,
    const char *name)
{
	char		*data, *t;
	size_t		 len;
	const char	*err;

	if (tool_fs_read_all(fs, rel, &data, &len, &err) != 0)
		return;
	t = tool_truncate(data, TOOL_CONTEXT_MAX_CHARS);
	free(data);
	json_array_append_new(arr, json_pack("{s:s,s:o,s:o}", "name", name,
	    "path", jstr(rel, strlen(rel)), "content", jstr(t, strlen(t))));
	free(t);
}

char *
tool_context_files(const struct tool_fs *fs, const char *cwd)
{
	static const char *const cwd_only[] = { "AGENTS.md", "CLAUDE.md",
	    ".cursorrules" };
	char		 rel[PATH_MAX], *dir, *p;
	const char	*perr;
	json_t		*arr = json_array();
	size_t		 i;
	int		 fd;

	if (tool_fs_relpath(fs, cwd, ".", rel, sizeof(rel), &perr) == -1)
		strlcpy(rel, ".", sizeof(rel));
	/* .hermes.md / HERMES.md: from cwd up to the git root (or the
	 * workspace root), the nearest wins. */
	dir = xstrdup(rel);
	for (;;) {
		const char *names[] = { ".hermes.md", "HERMES.md" };
		int found = 0;
		for (i = 0; i < nitems(names) && !found; i++) {
			xasprintf(&p, "%s/%s", dir, names[i]);
			fd = tool_fs_openat(fs, p, O_PATH, 0, 0);
			if (fd != -1) {
				close(fd);
				add_context(fs, arr, p, names[i]);
				found = 1;
			}
			free(p);
		}
		if (found)
			break;
		xasprintf(&p, "%s/.git", dir);
		fd = tool_fs_openat(fs, p, O_PATH, 0, 0);
		free(p);
		if (fd != -1) {
			close(fd);
			break;
		}
		if (strcmp(dir, ".") == 0)
			break;
		p = strrchr(dir, '/');
		if (p == NULL)
			strlcpy(dir, ".", strlen(dir) + 1);
		else
			*p = '\0';
	}
	free(dir);
	for (i = 0; i < nitems(cwd_only); i++) {
		xasprintf(&p, "%s/%s", rel, cwd_only[i]);
		add_context(fs, arr, p, cwd_only[i]);
		free(p);
	}
	return dump(arr);
}
