/*
 * Landlock: probe the ABI, build a ruleset per policy kind, restrict.
 * The constants of newer ABIs are spelled out here because Debian 12's
 * kernel headers stop at ABI 2.
 */
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/landlock.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ipc/util.h"
#include "sandbox/sbx_int.h"

#define LL_FS_EXECUTE		(1ULL << 0)
#define LL_FS_WRITE_FILE	(1ULL << 1)
#define LL_FS_READ_FILE		(1ULL << 2)
#define LL_FS_READ_DIR		(1ULL << 3)
#define LL_FS_REMOVE_DIR	(1ULL << 4)
#define LL_FS_REMOVE_FILE	(1ULL << 5)
#define LL_FS_MAKE_CHAR		(1ULL << 6)
#define LL_FS_MAKE_DIR		(1ULL << 7)
#define LL_FS_MAKE_REG		(1ULL << 8)
#define LL_FS_MAKE_SOCK		(1ULL << 9)
#define LL_FS_MAKE_FIFO		(1ULL << 10)
#define LL_FS_MAKE_BLOCK	(1ULL << 11)
#define LL_FS_MAKE_SYM		(1ULL << 12)
#define LL_FS_REFER		(1ULL << 13)	/* ABI 2 */
#define LL_FS_TRUNCATE		(1ULL << 14)	/* ABI 3 */
#define LL_FS_IOCTL_DEV		(1ULL << 15)	/* ABI 5 */
#define LL_NET_BIND_TCP		(1ULL << 0)	/* ABI 4 */
#define LL_NET_CONNECT_TCP	(1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX	(1ULL << 0)	/* ABI 6 */
#define LL_SCOPE_SIGNAL		(1ULL << 1)
#define LL_RULE_PATH_BENEATH	1
#define LL_RULE_NET_PORT	2

#define LL_FS_READ	(LL_FS_READ_FILE | LL_FS_READ_DIR)
#define LL_FS_FILE_ONLY	(LL_FS_EXECUTE | LL_FS_WRITE_FILE | \
			 LL_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)

struct ll_ruleset_attr {
	uint64_t	handled_access_fs;
	uint64_t	handled_access_net;
	uint64_t	scoped;
};

struct ll_path_beneath {
	uint64_t	allowed_access;
	int32_t		parent_fd;
} __attribute__((packed));

int
sbx_ll_abi(void)
{
	long abi;

	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	return abi < 0 ? 0 : (int)abi;
}

static uint64_t
fs_all(int abi)
{
	uint64_t a = (LL_FS_MAKE_SYM << 1) - 1;		/* ABI 1 */

	if (abi >= 2)
		a |= LL_FS_REFER;
	if (abi >= 3)
		a |= LL_FS_TRUNCATE;
	if (abi >= 5)
		a |= LL_FS_IOCTL_DEV;
	return a;
}

/* Allow `access` beneath `path` (a missing path is no error). */
static int
add_path(int rfd, const char *path, uint64_t access, uint64_t handled,
    struct sbx_ll_res *res)
{
	struct ll_path_beneath	 pb;
	struct stat		 st;
	int			 fd, rc;

	if (path == NULL || *path == '\0')
		return 0;
	if ((fd = open(path, O_PATH | O_CLOEXEC)) == -1) {
		if (errno == ENOENT || errno == ENOTDIR || errno == EACCES)
			return 0;
		snprintf(res->err, sizeof res->err, "open %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(res->err, sizeof res->err, "stat %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		access &= LL_FS_FILE_ONLY;
	pb.allowed_access = access & handled;
	pb.parent_fd = fd;
	rc = 0;
	if (pb.allowed_access != 0 && syscall(SYS_landlock_add_rule, rfd,
	    LL_RULE_PATH_BENEATH, &pb, 0) == -1) {
		snprintf(res->err, sizeof res->err, "landlock rule %s: %s",
		    path, strerror(errno));
		rc = -1;
	} else if (pb.allowed_access != 0)
		res->rules++;
	close(fd);
	return rc;
}

/* CA bundles, resolver and NSS files llm-fetch, bridges and web read. */
static const char *const resolver_paths[] = {
	"/etc/ssl", "/usr/share/ca-certificates", "/usr/lib/ssl",
	"/etc/ca-certificates", "/etc/pki", "/etc/resolv.conf",
	"/run/systemd/resolve", "/etc/hosts", "/etc/host.conf",
	"/etc/nsswitch.conf", "/etc/gai.conf", "/etc/services",
	"/etc/protocols", "/etc/localtime", "/usr/share/zoneinfo",
	"/usr/lib/x86_64-linux-gnu/gconv", "/dev/urandom",
};

int
sbx_ll_apply(enum sbx_ll kind, const char *home, const char *ws,
    const char *const *extra_rw, struct sbx_ll_res *res)
{
	struct ll_ruleset_attr	 attr;
	size_t			 attr_len, i;
	uint64_t		 rw, ro;
	int			 abi, rfd, rc = -1;

	memset(res, 0, sizeof *res);
	if (kind == LLK_NONE)
		return 0;
	if ((abi = sbx_ll_abi()) <= 0)
		return 1;
	res->abi = abi;
	memset(&attr, 0, sizeof attr);
	if (kind == LLK_SCOPE && abi < 6)
		return 1;
	attr.handled_access_fs = kind == LLK_SCOPE ? 0 : fs_all(abi);
	attr_len = sizeof attr.handled_access_fs;
	res->fs = kind != LLK_SCOPE;
	if (abi >= 4) {
		attr.handled_access_net = kind == LLK_SCOPE ? 0 :
		    LL_NET_BIND_TCP;
		if (kind != LLK_RESOLVER && kind != LLK_READ_ALL_NET &&
		    kind != LLK_SCOPE)
			attr.handled_access_net |= LL_NET_CONNECT_TCP;
		attr_len = offsetof(struct ll_ruleset_attr, scoped);
		res->net = attr.handled_access_net != 0;
	}
	if (abi >= 6) {
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
		attr_len = sizeof attr;
		res->scoped = 1;
	}
	rfd = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_len, 0);
	if (rfd == -1) {
		snprintf(res->err, sizeof res->err, "landlock ruleset: %s",
		    strerror(errno));
		return -1;
	}
	rw = attr.handled_access_fs;
	ro = LL_FS_READ | LL_FS_EXECUTE;
	switch (kind) {
	case LLK_DENY_ALL:
		break;
	case LLK_RESOLVER:
		for (i = 0; i < nitems(resolver_paths); i++)
			if (add_path(rfd, resolver_paths[i], LL_FS_READ,
			    rw, res) == -1)
				goto out;
		break;
	case LLK_HOME:
		if (home == NULL) {
			snprintf(res->err, sizeof res->err, "no HERMES_HOME");
			goto out;
		}
		if (add_path(rfd, home, rw, rw, res) == -1 ||
		    add_path(rfd, "/dev/urandom", LL_FS_READ, rw, res) == -1)
			goto out;
		break;
	case LLK_READ_ALL:
	case LLK_READ_ALL_NET:
		if (add_path(rfd, "/", ro, rw, res) == -1 ||
		    add_path(rfd, ws, rw, rw, res) == -1 ||
		    add_path(rfd, "/dev/null", LL_FS_READ | LL_FS_WRITE_FILE |
		    LL_FS_TRUNCATE, rw, res) == -1)
			goto out;
		break;
	case LLK_NONE:
	case LLK_SCOPE:
		break;
	}
	for (i = 0; extra_rw != NULL && extra_rw[i] != NULL; i++)
		if (add_path(rfd, extra_rw[i], rw, rw, res) == -1)
			goto out;
	if (syscall(SYS_landlock_restrict_self, rfd, 0) == -1) {
		snprintf(res->err, sizeof res->err, "landlock restrict: %s",
		    strerror(errno));
		goto out;
	}
	rc = 0;
 out:
	close(rfd);
	return rc;
}
