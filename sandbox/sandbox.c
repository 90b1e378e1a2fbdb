/*
 * sandbox_enter(): confine the calling process per its profile, in this
 * order: environment scrub, fd census, rlimits, dumpable off, (runner:
 * its own user+mount[+net] namespace), no_new_privs, landlock (rules
 * before the filter, which forbids the landlock calls), the arch check,
 * then the profile's seccomp filter. Everything it did or could not do
 * goes into the report.
 */
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/util.h"
#include "sandbox/cmd.h"
#include "sandbox/sandbox.h"
#include "sandbox/sbx_int.h"

#define REPORT_LEN	2048
#define DEGR_MAX	8

int		 sbx_own_netns;
static char	 report[REPORT_LEN] = "{\"profile\":\"none\",\"enforced\":false}";

/* Substrings of environment names that carry secrets. */
static const char *const secret_words[] = {
	"KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL",
	"AUTH", "COOKIE", "SESSION",
};

const char *
sandbox_profile_name(enum sbx_profile p)
{
	const struct sbx_prof *pr = sbx_prof_get(p);

	return pr ? pr->name : "?";
}

const char *
sandbox_report(void)
{
	return report;
}

void
sbx_json_str(char *buf, size_t len, const char *s)
{
	size_t	 o = strlen(buf);

	if (o + 1 >= len)
		return;
	buf[o++] = '"';
	for (; s != NULL && *s != '\0' && o + 7 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20)
			o += (size_t)snprintf(buf + o, len - o, "\\u%04x", c);
		else
			buf[o++] = (char)c;
	}
	if (o + 1 < len)
		buf[o++] = '"';
	buf[o] = '\0';
}

static void
cat(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
cat(char *buf, size_t len, const char *fmt, ...)
{
	size_t	 o = strlen(buf);
	va_list	 ap;

	if (o >= len)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(buf + o, len - o, fmt, ap);
	va_end(ap);
}

/* Remove variables whose name looks like a secret. Returns the count. */
static int
scrub_env(void)
{
	extern char	**environ;
	char		  name[256];
	size_t		  i, n;
	int		  count = 0, again = 1;

	while (again) {
		again = 0;
		for (i = 0; environ != NULL && environ[i] != NULL; i++) {
			const char *eq = strchr(environ[i], '=');
			size_t w;

			n = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
			if (n == 0 || n >= sizeof name)
				continue;
			memcpy(name, environ[i], n);
			name[n] = '\0';
			for (w = 0; w < nitems(secret_words); w++)
				if (strcasestr(name, secret_words[w]) != NULL)
					break;
			if (w == nitems(secret_words))
				continue;
			if (unsetenv(name) == 0) {
				count++;
				again = 1;
				break;
			}
		}
	}
	return count;
}

/* Count the open fds by kind; a directory fd is worth a warning. */
static void
fd_census(int *total, int *dirs)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	int		 fd, self;

	*total = *dirs = 0;
	if ((d = opendir("/proc/self/fd")) == NULL)
		return;
	self = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		fd = atoi(de->d_name);
		if (fd == self)
			continue;
		(*total)++;
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
			(*dirs)++;
	}
	closedir(d);
}

static int
write_file(const char *path, const char *s)
{
	int	 fd, rc = 0;
	size_t	 n = strlen(s);

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	if (write(fd, s, n) != (ssize_t)n)
		rc = -1;
	if (close(fd) == -1)
		rc = -1;
	return rc;
}

/*
 * The runner: enter a user namespace of its own (with its mount ns, and
 * net ns when the network is off) so the mount and namespace calls its
 * command setup needs reach nothing of the host, and its capabilities
 * over the host are gone even when it runs as root.
 */
static int
own_userns(int network, char *why, size_t len)
{
	char	 map[64];
	uid_t	 uid = geteuid();
	gid_t	 gid = getegid();
	int	 flags = CLONE_NEWUSER | CLONE_NEWNS;

	if (!network)
		flags |= CLONE_NEWNET;
	if (unshare(flags) == -1) {
		snprintf(why, len, "unshare: %s", strerror(errno));
		return -1;
	}
	snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (write_file("/proc/self/uid_map", map) == -1 ||
	    write_file("/proc/self/setgroups", "deny") == -1) {
		snprintf(why, len, "uid_map: %s", strerror(errno));
		return -1;
	}
	snprintf(map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	if (write_file("/proc/self/gid_map", map) == -1) {
		snprintf(why, len, "gid_map: %s", strerror(errno));
		return -1;
	}
	sbx_own_netns = !network;
	return 0;
}

/*
 * The runner's own view, in its own mount namespace: everything
 * read-only and nosuid except the workspace, /proc and the cgroup
 * controllers it must write to set up command sandboxes.
 */
static const char *const runner_rw[] = {
	"/proc", "/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory",
	"/sys/fs/cgroup/unified",
};

static int
is_mount_root(const char *path)
{
	struct statx	 stx;

	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS,
	    &stx) == -1)
		return 0;
	return (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	    (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

#define RW_EXTRA_MAX	8

static int
runner_view(const struct sbx_ctx *ctx, char *why, size_t len)
{
	static struct sbx_hides	 hides;
	const char		*uh = getenv("HOME"), *ws = ctx->workspace;
	struct mount_attr	 ro = { .attr_set = MOUNT_ATTR_RDONLY |
	    MOUNT_ATTR_NOSUID };
	struct mount_attr	 rw = { .attr_clr = MOUNT_ATTR_RDONLY };
	size_t			 i, nx = 0;
	int			 wsfd = -1, xfd[RW_EXTRA_MAX], rc = -1;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1) {
		snprintf(why, len, "private /: %s", strerror(errno));
		return -1;
	}
	if (ws != NULL && (wsfd = (int)open_tree(AT_FDCWD, ws,
	    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE)) == -1) {
		snprintf(why, len, "workspace %s: %s", ws, strerror(errno));
		return -1;
	}
	/* Extra writable paths (tool-ssh's control dir), cloned likewise. */
	for (; ctx->rw_extra != NULL && ctx->rw_extra[nx] != NULL &&
	    nx < RW_EXTRA_MAX; nx++)
		if ((xfd[nx] = (int)open_tree(AT_FDCWD, ctx->rw_extra[nx],
		    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE)) ==
		    -1) {
			snprintf(why, len, "%s: %s", ctx->rw_extra[nx],
			    strerror(errno));
			goto out;
		}
	if (mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof ro)
	    == -1) {
		snprintf(why, len, "read-only /: %s", strerror(errno));
		goto out;
	}
	for (i = 0; i < nitems(runner_rw); i++)
		if (is_mount_root(runner_rw[i]) && mount_setattr(AT_FDCWD,
		    runner_rw[i], 0, &rw, sizeof rw) == -1) {
			snprintf(why, len, "%s: %s", runner_rw[i],
			    strerror(errno));
			goto out;
		}
	/* HERMES_HOME (.env, config.yaml), host secrets, credentials. */
	if (uh == NULL || *uh != '/')
		uh = geteuid() == 0 ? "/root" : NULL;
	sbx_hides_build(&hides, ctx->home, NULL, uh, ws);
	if (sbx_hides_apply(&hides, ws, wsfd, why, len) == -1)
		goto out;
	for (i = 0; i < nx; i++)
		if (move_mount(xfd[i], "", AT_FDCWD, ctx->rw_extra[i],
		    MOVE_MOUNT_F_EMPTY_PATH) == -1) {
			snprintf(why, len, "%s: %s", ctx->rw_extra[i],
			    strerror(errno));
			goto out;
		}
	rc = 0;
 out:
	if (wsfd != -1)
		close(wsfd);
	while (nx-- > 0)
		if (xfd[nx] != -1)
			close(xfd[nx]);
	return rc;
}

static int
env_is(const char *name, const char *val)
{
	const char *v = getenv(name);

	return v != NULL && strcmp(v, val) == 0;
}

int
sandbox_enter(enum sbx_profile id, const struct sbx_ctx *ctx)
{
	static const struct sbx_ctx	 none;
	const struct sbx_prof		*p = sbx_prof_get(id);
	const char			*degr[DEGR_MAX];
	struct sbx_ll_res		 ll;
	struct rlimit			 rl;
	char				 why[160] = "";
	int				 ndegr = 0, debug, nrules = 0;
	int				 scrubbed = 0, fds = 0, dirfds = 0;
	int				 userns = 0, arch = 0, rc, llrc = 0;
	int				 view = 0;

	if (ctx == NULL)
		ctx = &none;
	if (p == NULL) {
		log_warnx("sandbox: unknown profile %d", (int)id);
		return -1;
	}
	report[0] = '\0';
	cat(report, sizeof report, "{\"profile\":");
	sbx_json_str(report, sizeof report, p->name);
	if (env_is("HERMES_SANDBOX", "off")) {
		cat(report, sizeof report, ",\"enforced\":false,\"reason\":"
		    "\"HERMES_SANDBOX=off\"}");
		log_info("sandbox: %s: off (HERMES_SANDBOX=off)", p->name);
		return 0;
	}
	debug = env_is("SANDBOX_DEBUG", "1");
	memset(&ll, 0, sizeof ll);

	if (p->flags & F_SCRUB_ENV)
		scrubbed = scrub_env();
	fd_census(&fds, &dirfds);
	if (dirfds > 0 && p->ll != LLK_NONE)
		degr[ndegr++] = "directory fd held";

	if (p->flags & F_NODUMP) {
		rl.rlim_cur = rl.rlim_max = 0;
		if (setrlimit(RLIMIT_CORE, &rl) == -1 ||
		    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
			log_warn("sandbox: %s: dumpable/core", p->name);
			return -1;
		}
	}
	if ((p->flags & F_NOFORK) && geteuid() != 0) {
		rl.rlim_cur = rl.rlim_max = 0;
		if (setrlimit(RLIMIT_NPROC, &rl) == -1) {
			log_warn("sandbox: %s: RLIMIT_NPROC", p->name);
			return -1;
		}
	}
	if (p->flags & F_OWN_USERNS) {
		if (own_userns(ctx->network || (p->flags & F_KEEP_NET), why,
		    sizeof why) == 0) {
			userns = 1;
			if (runner_view(ctx, why, sizeof why) == 0)
				view = 1;
			else
				degr[ndegr++] = "read-only view";
		} else
			degr[ndegr++] = "own user namespace";
	}
	if ((p->flags & F_NNP) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
	    == -1) {
		log_warn("sandbox: %s: no_new_privs", p->name);
		return -1;
	}
	if (p->ll != LLK_NONE) {
		llrc = sbx_ll_apply(p->ll, ctx->home, ctx->workspace,
		    ctx->rw_extra, &ll);
		if (llrc == -1) {
			log_warnx("sandbox: %s: %s", p->name, ll.err);
			return -1;
		}
		if (llrc == 1)
			degr[ndegr++] = p->ll == LLK_SCOPE ?
			    "landlock signal scoping unavailable" :
			    "landlock unavailable";
	}
	if (p->dflt != D_NONE) {
		if (debug && (rc = sbx_debug_handler()) != 0) {
			log_warnx("sandbox: SIGSYS handler: %s", strerror(-rc));
			return -1;
		}
		if ((p->flags & F_ARCH) && (rc = sbx_arch_filter()) != 0) {
			log_warnx("sandbox: %s: arch filter: %s", p->name,
			    strerror(-rc));
			return -1;
		}
		arch = (p->flags & F_ARCH) != 0;
		if ((rc = sbx_seccomp_load(p, ctx->network, debug,
		    &nrules)) != 0) {
			log_warnx("sandbox: %s: seccomp: %s", p->name,
			    strerror(-rc));
			return -1;
		}
	}

	cat(report, sizeof report, ",\"enforced\":true,\"seccomp\":%s",
	    p->dflt == D_NONE ? "false" : "true");
	if (p->dflt != D_NONE)
		cat(report, sizeof report, ",\"seccomp_default\":\"%s\","
		    "\"seccomp_rules\":%d,\"arch_check\":%s", p->dflt ==
		    D_ALLOW ? "allow" : debug ? "trap" : "kill", nrules,
		    arch ? "true" : "false");
	cat(report, sizeof report, ",\"no_new_privs\":%s,\"dumpable\":%s",
	    (p->flags & F_NNP) ? "true" : "false",
	    (p->flags & F_NODUMP) ? "false" : "true");
	if (p->ll == LLK_NONE)
		cat(report, sizeof report, ",\"landlock\":\"not used\"");
	else if (llrc == 1)
		cat(report, sizeof report, ",\"landlock\":\"unavailable\"");
	else
		cat(report, sizeof report, ",\"landlock\":{\"abi\":%d,"
		    "\"rules\":%d,\"fs\":%s,\"net\":%s,\"scoped\":%s}",
		    ll.abi, ll.rules, ll.fs ? "true" : "false",
		    ll.net ? "true" : "false", ll.scoped ? "true" : "false");
	cat(report, sizeof report, ",\"namespaces\":[");
	if (userns)
		cat(report, sizeof report, "\"user\",\"mount\"%s",
		    sbx_own_netns ? ",\"net\"" : "");
	cat(report, sizeof report, "]%s,\"env_scrubbed\":%d,\"fds\":%d,"
	    "\"degraded\":[", view ? ",\"view\":\"read-only but workspace\"" :
	    "", scrubbed, fds);
	for (rc = 0; rc < ndegr; rc++) {
		if (rc > 0)
			cat(report, sizeof report, ",");
		sbx_json_str(report, sizeof report, degr[rc]);
	}
	cat(report, sizeof report, "]");
	if (why[0] != '\0') {
		cat(report, sizeof report, ",\"note\":");
		sbx_json_str(report, sizeof report, why);
	}
	cat(report, sizeof report, "}");

	if (ndegr > 0) {
		log_warnx("sandbox: %s: degraded: %s%s%s", p->name, degr[0],
		    why[0] ? ": " : "", why);
		if (ctx->require) {
			log_warnx("sandbox: %s: sandbox.require is set: "
			    "refusing to run degraded", p->name);
			return -1;
		}
	}
	return 0;
}

/* Can this process make a user namespace? Probed in a child. */
static int
probe_userns(void)
{
	pid_t	 pid;
	int	 st;

	if ((pid = fork()) == -1)
		return 0;
	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0 ? 0 : 1);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return 0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int
probe_seccomp(void)
{
	return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 &&
	    access("/proc/sys/kernel/seccomp/actions_avail", R_OK) == 0;
}

int
sandbox_probe_json(char **out)
{
	const struct sbx_prof	*p;
	char			*cmdj, *buf;
	size_t			 len = 8192;
	int			 abi, seccomp, userns, i, first;

	*out = NULL;
	abi = sbx_ll_abi();
	seccomp = probe_seccomp();
	userns = probe_userns();
	if ((cmdj = sbx_cmd_probe_json()) == NULL)
		return -1;
	if ((buf = calloc(1, len)) == NULL) {
		free(cmdj);
		return -1;
	}
	cat(buf, len, "{\"kernel\":{\"seccomp\":%s,\"landlock_abi\":%d,"
	    "\"userns\":%s,\"off\":%s},\"command_sandbox\":%s,\"roles\":[",
	    seccomp ? "true" : "false", abi, userns ? "true" : "false",
	    env_is("HERMES_SANDBOX", "off") ? "true" : "false", cmdj);
	free(cmdj);
	for (i = SBX_SUPERVISOR; i < SBX_MAX; i++) {
		p = &sbx_profiles[i];
		cat(buf, len, "%s{\"profile\":", i > SBX_SUPERVISOR ? "," : "");
		sbx_json_str(buf, len, p->name);
		cat(buf, len, ",\"seccomp\":%s,\"landlock\":",
		    p->dflt != D_NONE && seccomp ? "true" : "false");
		if (p->ll == LLK_NONE)
			cat(buf, len, "\"not used\"");
		else if (abi == 0)
			cat(buf, len, "\"unavailable\"");
		else
			cat(buf, len, "{\"abi\":%d,\"net\":%s,\"scoped\":%s}",
			    abi, abi >= 4 ? "true" : "false",
			    abi >= 6 ? "true" : "false");
		cat(buf, len, ",\"degraded\":[");
		first = 1;
		if (p->dflt != D_NONE && !seccomp) {
			cat(buf, len, "\"seccomp unavailable\"");
			first = 0;
		}
		if (p->ll != LLK_NONE && abi == 0) {
			cat(buf, len, "%s\"landlock unavailable\"",
			    first ? "" : ",");
			first = 0;
		}
		if ((p->flags & F_OWN_USERNS) && !userns)
			cat(buf, len, "%s\"own user namespace\"",
			    first ? "" : ",");
		cat(buf, len, "]}");
	}
	cat(buf, len, "]}");
	*out = buf;
	return 0;
}
