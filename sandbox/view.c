/*
 * Hiding paths in a private mount namespace: HERMES_HOME, the runtime
 * dir, host secrets and the credential stores of the caller's user are
 * covered by an empty tmpfs (a file: by /dev/null), then the workspace,
 * cloned before, is attached again even when it lies beneath one of
 * them. Used by the runner's own view and by the command sandbox.
 */
#include <sys/mount.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ipc/util.h"
#include "sandbox/sbx_int.h"

/* Relative to the caller's $HOME: nothing a command needs to read. */
static const char *const home_secrets[] = {
	".ssh", ".gnupg", ".aws", ".azure", ".config/gcloud", ".docker",
	".kube", ".netrc", ".git-credentials", ".pgpass", ".npmrc",
	".pypirc", ".hermes",
};

static const char *const host_secrets[] = {
	"/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-",
	"/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key",
	"/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_dsa_key",
};

int
sbx_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return strncmp(path, dir, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/');
}

int
sbx_mkdirs(const char *path)
{
	char	 p[PATH_MAX];
	char	*s;

	if (strlcpy(p, path, sizeof p) >= sizeof p) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	if (mkdir(p, 0755) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

void
sbx_hides_build(struct sbx_hides *h, const char *home,
    const char *const *extra, const char *user_home, const char *ws)
{
	size_t i;

	memset(h, 0, sizeof *h);
	if (home != NULL && *home == '/')
		h->p[h->n++] = home;
	for (i = 0; extra != NULL && extra[i] != NULL && i < SBX_HIDE_EXTRA;
	    i++)
		h->p[h->n++] = extra[i];
	for (i = 0; i < nitems(host_secrets); i++)
		h->p[h->n++] = host_secrets[i];
	for (i = 0; user_home != NULL && i < nitems(home_secrets) &&
	    i < SBX_HIDE_HOME; i++) {
		if ((size_t)snprintf(h->buf[i], sizeof h->buf[i], "%s/%s",
		    user_home, home_secrets[i]) >= sizeof h->buf[i])
			continue;
		h->p[h->n++] = h->buf[i];
	}
}

static int
why_errno(char *why, size_t len, const char *what, const char *path)
{
	snprintf(why, len, "%s %s: %s", what, path, strerror(errno));
	return -1;
}

/* Cover `path` with an empty tmpfs (a file: with /dev/null). Returns
 * 1 when covered, 0 when there is nothing to cover, -1 on error. */
static int
hide_one(const char *path, char *why, size_t len)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		if (errno == ENOENT || errno == ENOTDIR || errno == EACCES)
			return 0;
		return why_errno(why, len, "hide", path);
	}
	if (S_ISDIR(st.st_mode)) {
		if (mount("hermes-hidden", path, "tmpfs", MS_NOSUID | MS_NODEV |
		    MS_NOEXEC, "size=64k,mode=0755") == -1)
			return why_errno(why, len, "hide", path);
	} else if (mount("/dev/null", path, NULL, MS_BIND, NULL) == -1)
		return why_errno(why, len, "hide", path);
	return 1;
}

int
sbx_hides_apply(struct sbx_hides *h, const char *ws, int wsfd,
    char *why, size_t len)
{
	struct mount_attr	 ro = { .attr_set = MOUNT_ATTR_RDONLY };
	size_t			 i;
	int			 r;

	for (i = 0; i < h->n; i++) {
		if ((r = hide_one(h->p[i], why, len)) == -1)
			return -1;
		h->done[i] = (unsigned char)r;
	}
	if (ws != NULL && wsfd != -1) {
		if (sbx_mkdirs(ws) == -1)
			return why_errno(why, len, "workspace mount point", ws);
		if (move_mount(wsfd, "", AT_FDCWD, ws,
		    MOVE_MOUNT_F_EMPTY_PATH) == -1)
			return why_errno(why, len, "attach workspace", ws);
		/* What lies inside the workspace is hidden again on top. */
		for (i = 0; i < h->n; i++) {
			if (!sbx_under(h->p[i], ws))
				continue;
			if ((r = hide_one(h->p[i], why, len)) == -1)
				return -1;
			h->done[i] = (unsigned char)r;
		}
	}
	/* Only what we covered: a setattr elsewhere would hit the mount
	 * that holds the path (the workspace, say). */
	for (i = 0; i < h->n; i++)
		if (h->done[i] && mount_setattr(AT_FDCWD, h->p[i], 0, &ro,
		    sizeof ro) == -1)
			return why_errno(why, len, "read-only", h->p[i]);
	return 0;
}
