/*
 * The command sandbox (see cmd.h). The caller clones the sandbox init
 * straight into new user, mount, pid, ipc, uts (and net) namespaces,
 * puts it in a cgroup, then lets it go; the init builds the filesystem
 * view, forks the command (which confines itself further and execs) and
 * reaps until the command exits. Errors travel back on a CLOEXEC pipe,
 * so the spawn is synchronous up to the execve.
 */
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/capability.h>
#include <linux/filter.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
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

#define CG_NAME		"hermes-cmd"
#define CG_V1_PIDS	"/sys/fs/cgroup/pids"
#define CG_V1_MEM	"/sys/fs/cgroup/memory"
#define CG_V2		"/sys/fs/cgroup"
#define INNER_UID	1000		/* the command's uid when we are root */
#define TMP_SIZE	"size=512m"
#define DEFAULT_PATH	"/usr/local/bin:/usr/bin:/bin"

/* The init reports a failed step as "E<text>" on the error pipe. */
struct child {
	const struct sbx_cmd	*c;
	int			 errfd;		/* write end */
	uid_t			 outer_uid;
	gid_t			 outer_gid;
	const struct sock_fprog	*prog;		/* SBX_TOOL_CMD, compiled */
	const char		*user_home;	/* the caller's $HOME */
};

/* SBX_TOOL_CMD compiled once per process, per network setting. */
static struct sock_fprog	 cmd_prog[2];
static pid_t			 cmd_prog_pid[2];

static void
fail(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3),
    noreturn));

static void
fail(int fd, const char *fmt, ...)
{
	char	 b[SBX_CMD_ERRLEN];
	va_list	 ap;
	int	 n, e = errno;

	va_start(ap, fmt);
	n = vsnprintf(b, sizeof b, fmt, ap);
	va_end(ap);
	if (e != 0 && n > 0 && (size_t)n < sizeof b - 32)
		n += snprintf(b + n, sizeof b - (size_t)n, ": %s",
		    strerror(e));
	if (n > 0)
		(void)!write(fd, b, strnlen(b, sizeof b));
	_exit(127);
}

static int
put_file(const char *path, const char *s)
{
	size_t	 n = strlen(s);
	int	 fd, rc = 0;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	if (write(fd, s, n) != (ssize_t)n)
		rc = -1;
	if (close(fd) == -1)
		rc = -1;
	return rc;
}





/* Device nodes a command gets; everything else in /dev is gone. */
static const char *const dev_nodes[] = {
	"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
	"/dev/tty",
};

static const struct { const char *path, *target; } dev_links[] = {
	{ "/dev/fd", "/proc/self/fd" }, { "/dev/stdin", "/proc/self/fd/0" },
	{ "/dev/stdout", "/proc/self/fd/1" },
	{ "/dev/stderr", "/proc/self/fd/2" }, { "/dev/ptmx", "pts/ptmx" },
};

/* A minimal /dev: no disks, no kmsg, no consoles (bwrap's --dev). */
static void
make_dev(int efd)
{
	struct mount_attr	 ro = { .attr_set = MOUNT_ATTR_RDONLY };
	int			 fds[nitems(dev_nodes)], fd;
	size_t			 i;

	for (i = 0; i < nitems(dev_nodes); i++) {
		fds[i] = (int)open_tree(AT_FDCWD, dev_nodes[i],
		    OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (fds[i] == -1 && errno != ENOENT)
			fail(efd, "clone %s", dev_nodes[i]);
	}
	if (mount("hermes-dev", "/dev", "tmpfs", MS_NOSUID | MS_NODEV |
	    MS_NOEXEC, "size=64k,mode=0755") == -1)
		fail(efd, "mount /dev");
	for (i = 0; i < nitems(dev_nodes); i++) {
		if (fds[i] == -1)
			continue;
		if ((fd = open(dev_nodes[i], O_WRONLY | O_CREAT | O_CLOEXEC,
		    0666)) == -1 || close(fd) == -1)
			fail(efd, "create %s", dev_nodes[i]);
		if (move_mount(fds[i], "", AT_FDCWD, dev_nodes[i],
		    MOVE_MOUNT_F_EMPTY_PATH) == -1)
			fail(efd, "attach %s", dev_nodes[i]);
		close(fds[i]);
	}
	for (i = 0; i < nitems(dev_links); i++)
		if (symlink(dev_links[i].target, dev_links[i].path) == -1)
			fail(efd, "symlink %s", dev_links[i].path);
	if (mkdir("/dev/pts", 0755) == -1 || mkdir("/dev/shm", 01777) == -1)
		fail(efd, "mkdir /dev/pts, /dev/shm");
	/* Ptys of its own where the kernel lets a user ns have them. */
	(void)mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	    "newinstance,ptmxmode=0666,mode=0620");
	if (mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
	    "mode=1777," TMP_SIZE) == -1)
		fail(efd, "mount /dev/shm");
	if (mount_setattr(AT_FDCWD, "/dev", 0, &ro, sizeof ro) == -1)
		fail(efd, "read-only /dev");
}

/*
 * /run holds the host's sockets (systemd, dbus, docker, the supervisor's
 * runtime dir): an empty tmpfs instead, keeping only the resolver file
 * /etc/resolv.conf may point into it.
 */
static void
make_run(int efd)
{
	struct mount_attr	 ro = { .attr_set = MOUNT_ATTR_RDONLY };
	char			 res[PATH_MAX], dir[PATH_MAX], *sl;
	int			 rfd = -1, fd;

	if (realpath("/etc/resolv.conf", res) != NULL && sbx_under(res, "/run")) {
		rfd = (int)open_tree(AT_FDCWD, res, OPEN_TREE_CLONE |
		    OPEN_TREE_CLOEXEC);
		if (rfd == -1)
			fail(efd, "clone %s", res);
	}
	if (mount("hermes-run", "/run", "tmpfs", MS_NOSUID | MS_NODEV |
	    MS_NOEXEC, "size=64k,mode=0755") == -1)
		fail(efd, "mount /run");
	if (rfd != -1) {
		strlcpy(dir, res, sizeof dir);
		if ((sl = strrchr(dir, '/')) != NULL)
			*sl = '\0';
		if (sbx_mkdirs(dir) == -1 || (fd = open(res, O_WRONLY | O_CREAT |
		    O_CLOEXEC, 0644)) == -1 || close(fd) == -1 ||
		    move_mount(rfd, "", AT_FDCWD, res,
		    MOVE_MOUNT_F_EMPTY_PATH) == -1)
			fail(efd, "keep %s", res);
		close(rfd);
	}
	if (mount_setattr(AT_FDCWD, "/run", 0, &ro, sizeof ro) == -1)
		fail(efd, "read-only /run");
}

static void
build_view(const struct child *ch)
{
	const struct sbx_cmd	*c = ch->c;
	struct mount_attr	 ro = { .attr_set = MOUNT_ATTR_RDONLY |
	    MOUNT_ATTR_NOSUID };
	struct mount_attr	 ws = { .attr_set = MOUNT_ATTR_NOSUID |
	    MOUNT_ATTR_NODEV, .attr_clr = MOUNT_ATTR_RDONLY };
	static struct sbx_hides	 hides;
	char			 why[SBX_CMD_ERRLEN];
	int			 efd = ch->errfd, wsfd;

	sbx_hides_build(&hides, c->home, c->hide, ch->user_home,
	    c->workspace);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		fail(efd, "make / private");
	wsfd = (int)open_tree(AT_FDCWD, c->workspace, OPEN_TREE_CLONE |
	    OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (wsfd == -1)
		fail(efd, "clone workspace %s", c->workspace);
	if (mount_setattr(wsfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &ws,
	    sizeof ws) == -1)
		fail(efd, "workspace attributes");
	if (mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof ro) == -1)
		fail(efd, "read-only /");
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    NULL) == -1)
		fail(efd, "mount /proc");
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV,
	    "mode=1777," TMP_SIZE) == -1)
		fail(efd, "mount /tmp");
	make_dev(efd);
	make_run(efd);
	if (sbx_hides_apply(&hides, c->workspace, wsfd, why, sizeof why) == -1) {
		errno = 0;
		fail(efd, "%s", why);
	}
	close(wsfd);
	if (sethostname("hermes-sandbox", 14) == -1)
		fail(efd, "sethostname");
}

static void
set_limit(int efd, int res, uint64_t v, const char *what)
{
	struct rlimit rl;

	if (v == 0)
		return;
	rl.rlim_cur = rl.rlim_max = (rlim_t)v;
	if (setrlimit(res, &rl) == -1)
		fail(efd, "setrlimit %s", what);
}

static void
set_limits(int efd, const struct sbx_cmd_limits *l)
{
	set_limit(efd, RLIMIT_CPU, l->cpu_s, "cpu");
	set_limit(efd, RLIMIT_AS, l->as_bytes, "as");
	set_limit(efd, RLIMIT_NPROC, l->nproc, "nproc");
	set_limit(efd, RLIMIT_FSIZE, l->fsize_bytes, "fsize");
	set_limit(efd, RLIMIT_NOFILE, l->nofile, "nofile");
	{
		struct rlimit rl = { 0, 0 };	/* no core files */

		if (setrlimit(RLIMIT_CORE, &rl) == -1)
			fail(efd, "setrlimit core");
	}
}

static const char *
env_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

static void
exec_cmd(int efd, int exec_fd, char *const *argv, char *const *envp)
    __attribute__((noreturn));

static void
exec_cmd(int efd, int exec_fd, char *const *argv, char *const *envp)
{
	static char *const	 empty[] = { NULL };
	char			 path[PATH_MAX];
	const char		*p, *e;
	size_t			 n;
	int			 saved = ENOENT;

	if (envp == NULL)
		envp = empty;
	if (exec_fd > 0) {
		(void)syscall(SYS_execveat, exec_fd, "", argv, envp,
		    AT_EMPTY_PATH);
		fail(efd, "execveat %s", argv[0]);
	}
	if (strchr(argv[0], '/') != NULL) {
		execve(argv[0], argv, envp);
		fail(efd, "execve %s", argv[0]);
	}
	if ((p = env_get(envp, "PATH")) == NULL)
		p = DEFAULT_PATH;
	while (*p != '\0') {
		e = strchrnul(p, ':');
		n = (size_t)(e - p);
		if (n > 0 && n + strlen(argv[0]) + 2 < sizeof path) {
			memcpy(path, p, n);
			path[n] = '/';
			strlcpy(path + n + 1, argv[0], sizeof path - n - 1);
			execve(path, argv, envp);
			if (errno != ENOENT && errno != ENOTDIR)
				saved = errno;
		}
		p = *e ? e + 1 : e;
	}
	errno = saved;
	fail(efd, "execve %s", argv[0]);
}

static void
drop_caps(int efd)
{
	int cap;

	for (cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1 &&
		    errno != EINVAL)
			fail(efd, "drop capability %d", cap);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL)
		fail(efd, "clear ambient capabilities");
}

/* Close every fd >= 3 but a and b (either may be -1). */
static void
close_except(int a, int b)
{
	unsigned	 lo = 3;
	int		 keep[2], i, t;

	keep[0] = a;
	keep[1] = b;
	if (keep[0] > keep[1]) {
		t = keep[0];
		keep[0] = keep[1];
		keep[1] = t;
	}
	for (i = 0; i < 2; i++) {
		if (keep[i] < (int)lo)
			continue;
		if ((unsigned)keep[i] > lo)
			(void)close_range(lo, (unsigned)keep[i] - 1, 0);
		lo = (unsigned)keep[i] + 1;
	}
	(void)close_range(lo, ~0u, 0);
}

/* The command itself: fds, session, landlock, filters, exec. */
static void
command(const struct child *ch) __attribute__((noreturn));

static void
command(const struct child *ch)
{
	const struct sbx_cmd	*c = ch->c;
	const char		*rw[] = { "/tmp", "/dev/shm", "/dev/tty", NULL };
	struct sbx_ll_res	 ll;
	int			 fds[3] = { c->fd_in, c->fd_out, c->fd_err };
	int			 efd = ch->errfd, i, nul = -1, n, xfd = -1;

	if (setsid() == -1)
		fail(efd, "setsid");
	for (i = 0; i < 3; i++) {
		if (fds[i] >= 0)
			continue;
		if (nul == -1 && (nul = open("/dev/null", O_RDWR)) == -1)
			fail(efd, "/dev/null");
		fds[i] = nul;
	}
	/* Move the error pipe out of the way of 0..2 first. */
	if (efd <= 2) {
		if ((efd = fcntl(efd, F_DUPFD_CLOEXEC, 3)) == -1)
			fail(ch->errfd, "dup");
	}
	for (i = 0; i < 3; i++)
		if (fds[i] <= 2 && fds[i] != i) {
			if ((fds[i] = fcntl(fds[i], F_DUPFD, 3)) == -1)
				fail(efd, "dup");
		}
	for (i = 0; i < 3; i++)
		if (dup2(fds[i], i) == -1)
			fail(efd, "dup2 %d", i);
	/* The program to exec by fd, out of the way of 0..2 too. */
	if (c->exec_fd > 0 && (xfd = fcntl(c->exec_fd, F_DUPFD_CLOEXEC, 3))
	    == -1)
		fail(efd, "dup exec_fd");
	/* Every other fd goes; the error pipe closes at execve. */
	close_except(efd, xfd);
	if (chdir(c->cwd ? c->cwd : c->workspace) == -1)
		fail(efd, "chdir %s", c->cwd ? c->cwd : c->workspace);
	(void)put_file("/proc/self/oom_score_adj", "1000");
	n = sbx_ll_apply(c->network ? LLK_READ_ALL_NET : LLK_READ_ALL, NULL,
	    c->workspace, rw, &ll);
	if (n == -1)
		fail(efd, "landlock: %s", ll.err);
	if (n == 1 && c->require) {
		errno = ENOSYS;
		fail(efd, "landlock unavailable and sandbox.require is set");
	}
	drop_caps(efd);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fail(efd, "no_new_privs");
	if ((n = sbx_arch_filter()) != 0) {
		errno = -n;
		fail(efd, "arch filter");
	}
	if ((n = sbx_seccomp_install(ch->prog)) != 0) {
		errno = -n;
		fail(efd, "seccomp");
	}
	exec_cmd(efd, xfd, c->argv, c->envp);
}

static volatile sig_atomic_t fwd_sig;

static void
init_forward(int sig)
{
	fwd_sig = sig;
	(void)kill(-1, sig);
}

/* pid 1 of the sandbox. */
static void
sandbox_init(struct child *ch) __attribute__((noreturn));

static void
sandbox_init(struct child *ch)
{
	const struct sbx_cmd	*c = ch->c;
	struct sigaction	 sa;
	char			 map[64];
	uid_t			 in_uid;
	gid_t			 in_gid;
	pid_t			 cmd, w;
	int			 st, efd = ch->errfd;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		fail(efd, "pdeathsig");
	in_uid = ch->outer_uid ? ch->outer_uid : INNER_UID;
	in_gid = ch->outer_gid ? ch->outer_gid : INNER_UID;
	if (put_file("/proc/self/setgroups", "deny") == -1)
		fail(efd, "setgroups deny");
	snprintf(map, sizeof map, "%u %u 1\n", (unsigned)in_uid,
	    (unsigned)ch->outer_uid);
	if (put_file("/proc/self/uid_map", map) == -1)
		fail(efd, "uid_map");
	snprintf(map, sizeof map, "%u %u 1\n", (unsigned)in_gid,
	    (unsigned)ch->outer_gid);
	if (put_file("/proc/self/gid_map", map) == -1)
		fail(efd, "gid_map");

	build_view(ch);
	set_limits(efd, &c->limits);

	if ((cmd = fork()) == -1)
		fail(efd, "fork");
	if (cmd == 0)
		command(ch);
	close(efd);

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = init_forward;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
	for (;;) {
		w = waitpid(-1, &st, 0);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			_exit(127);
		}
		if (w != cmd)
			continue;
		/* Our exit kills whatever the command left behind. */
		if (WIFEXITED(st))
			_exit(WEXITSTATUS(st));
		_exit(128 + WTERMSIG(st));
	}
}

/* cgroups: v1 pids+memory controllers, or a v2 hierarchy. */
static int
cg_v2(void)
{
	return access(CG_V2 "/cgroup.controllers", F_OK) == 0;
}

/*
 * The cgroup is the runner's, shared by all its commands: the caller
 * moves itself in at its first spawn and every sandbox inherits it.
 * Moving a process between cgroups costs an RCU grace period (~10 ms
 * on cgroup v1), which a per-command cgroup would pay on every command.
 */
static struct {
	pid_t			 owner;
	int			 ok;
	struct sbx_cmd_limits	 lim;
} cg;

static void
cg_path(char *buf, size_t len, const char *root, pid_t pid)
{
	if (pid > 0)
		snprintf(buf, len, "%s/%s/r%d", root, CG_NAME, (int)pid);
	else
		snprintf(buf, len, "%s/%s", root, CG_NAME);
}

static int
cg_put(const char *dir, const char *file, const char *val)
{
	char p[PATH_MAX];

	snprintf(p, sizeof p, "%s/%s", dir, file);
	return put_file(p, val);
}

/* Remove the empty cgroups of runners that are gone. */
static void
cg_sweep(const char *base)
{
	struct dirent	*de;
	DIR		*d;
	char		 p[PATH_MAX];

	if ((d = opendir(base)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || de->d_type != DT_DIR)
			continue;
		snprintf(p, sizeof p, "%s/%s", base, de->d_name);
		(void)rmdir(p);		/* EBUSY while in use */
	}
	closedir(d);
}

static int
cg_limits(const char *dir, const struct sbx_cmd_limits *l, int v2, int i)
{
	char v[32];

	if ((v2 || i == 0) && l->nproc) {
		snprintf(v, sizeof v, "%u", l->nproc);
		if (cg_put(dir, "pids.max", v) == -1)
			return -1;
	}
	if ((v2 || i == 1) && l->mem_bytes) {
		snprintf(v, sizeof v, "%llu", (unsigned long long)l->mem_bytes);
		if (cg_put(dir, v2 ? "memory.max" : "memory.limit_in_bytes",
		    v) == -1)
			return -1;
		if (v2)
			(void)cg_put(dir, "memory.swap.max", "0");
	}
	return 0;
}

/* Put the calling process in its cgroup with limits. 1 ok, 0 not. */
static int
cg_enter(const struct sbx_cmd_limits *l, char *why, size_t len)
{
	const char	*roots[2];
	char		 dir[256], v[32];
	pid_t		 self = getpid();
	int		 i, n, v2 = cg_v2(), same;

	if (cg.owner == self && !cg.ok)
		return 0;
	same = cg.owner == self && memcmp(&cg.lim, l, sizeof *l) == 0;
	if (same)
		return 1;
	if (v2) {
		roots[0] = CG_V2;
		n = 1;
	} else {
		roots[0] = CG_V1_PIDS;
		roots[1] = CG_V1_MEM;
		n = 2;
	}
	for (i = 0; i < n; i++) {
		cg_path(dir, sizeof dir, roots[i], self);
		if (cg.owner == self) {		/* new limits only */
			if (cg_limits(dir, l, v2, i) == -1)
				goto bad;
			continue;
		}
		if (v2)
			(void)put_file(CG_V2 "/cgroup.subtree_control",
			    "+pids +memory");
		cg_path(dir, sizeof dir, roots[i], 0);
		if (mkdir(dir, 0755) == -1 && errno != EEXIST)
			goto bad;
		if (v2 && cg_put(dir, "cgroup.subtree_control",
		    "+pids +memory") == -1)
			goto bad;
		cg_sweep(dir);
		cg_path(dir, sizeof dir, roots[i], self);
		if (mkdir(dir, 0755) == -1 && errno != EEXIST)
			goto bad;
		if (cg_limits(dir, l, v2, i) == -1)
			goto bad;
		snprintf(v, sizeof v, "%d", (int)self);
		if (cg_put(dir, "cgroup.procs", v) == -1)
			goto bad;
	}
	cg.owner = self;
	cg.ok = 1;
	cg.lim = *l;
	return 1;
 bad:
	strlcpy(why, dir, len);
	strlcat(why, ": ", len);
	strlcat(why, strerror(errno), len);
	cg.owner = self;
	cg.ok = 0;
	return 0;
}

/* Remove the (empty) cgroup of a runner that has exited. */
static void
cg_remove(pid_t pid)
{
	char dir[256];

	if (cg_v2()) {
		cg_path(dir, sizeof dir, CG_V2, pid);
		(void)rmdir(dir);
		return;
	}
	cg_path(dir, sizeof dir, CG_V1_PIDS, pid);
	(void)rmdir(dir);
	cg_path(dir, sizeof dir, CG_V1_MEM, pid);
	(void)rmdir(dir);
}

void
sbx_cmd_release(pid_t pid)
{
	/* Commands have no cgroup of their own; a reaped runner does. */
	cg_remove(pid);
}

int
sbx_cmd_kill(pid_t pid)
{
	if (pid <= 0) {
		errno = EINVAL;
		return -1;
	}
	return kill(pid, SIGKILL);
}

static void
seterr(struct sbx_cmd_info *info, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
seterr(struct sbx_cmd_info *info, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(info->err, sizeof info->err, fmt, ap);
	va_end(ap);
}

pid_t
sbx_cmd_spawn(const struct sbx_cmd *c, struct sbx_cmd_info *out)
{
	struct sbx_cmd_info	 local;
	struct sbx_cmd_info	*info = out ? out : &local;
	struct child		 ch;
	struct stat		 st;
	char			 why[SBX_CMD_ERRLEN] = "";
	int			 ep[2], flags, status, net, rc;
	ssize_t			 n;
	size_t			 got = 0;
	pid_t			 pid;

	memset(info, 0, sizeof *info);
	if (c == NULL || c->argv == NULL || c->argv[0] == NULL ||
	    c->workspace == NULL || c->workspace[0] != '/') {
		seterr(info, "bad command (argv, absolute workspace)");
		errno = EINVAL;
		return -1;
	}
	if (stat(c->workspace, &st) == -1 || !S_ISDIR(st.st_mode)) {
		seterr(info, "workspace %s: %s", c->workspace,
		    strerror(errno ? errno : ENOTDIR));
		return -1;
	}
	if (pipe2(ep, O_CLOEXEC) == -1) {
		seterr(info, "pipe: %s", strerror(errno));
		return -1;
	}
	net = c->network ? 1 : 0;
	if (net && sbx_own_netns) {
		seterr(info, "network requested, but this runner was confined "
		    "without network (sbx_ctx.network 0)");
		close(ep[0]);
		close(ep[1]);
		return -1;
	}
	if (cmd_prog_pid[net] != getpid()) {
		if ((rc = sbx_seccomp_compile(sbx_prof_get(SBX_TOOL_CMD), net,
		    &cmd_prog[net])) != 0) {
			seterr(info, "seccomp: %s", strerror(-rc));
			close(ep[0]);
			close(ep[1]);
			return -1;
		}
		cmd_prog_pid[net] = getpid();
	}
	memset(&ch, 0, sizeof ch);
	ch.prog = &cmd_prog[net];
	if ((ch.user_home = getenv("HOME")) == NULL || ch.user_home[0] != '/')
		ch.user_home = geteuid() == 0 ? "/root" : NULL;
	ch.c = c;
	ch.errfd = ep[1];
	ch.outer_uid = geteuid();
	ch.outer_gid = getegid();
	info->cgroup = cg_enter(&c->limits, why, sizeof why);
	if (!info->cgroup && c->require) {
		seterr(info, "no cgroup and sandbox.require is set (%s)", why);
		close(ep[0]);
		close(ep[1]);
		return -1;
	}
	flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC |
	    CLONE_NEWUTS;
	/* A runner without network already sits in its own empty net ns. */
	if (!c->network && !sbx_own_netns)
		flags |= CLONE_NEWNET;
	pid = (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
	if (pid == 0) {
		close(ep[0]);
		sandbox_init(&ch);
	}
	close(ep[1]);
	if (pid == -1) {
		seterr(info, "clone (user namespaces): %s", strerror(errno));
		close(ep[0]);
		return -1;
	}
	info->userns = 1;
	info->netns = !c->network;
	for (;;) {
		n = read(ep[0], info->err + got, sizeof info->err - 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0 || (got += (size_t)n) >= sizeof info->err - 1)
			break;
	}
	info->err[got] = '\0';
	close(ep[0]);
	if (got > 0) {
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		return -1;
	}
	info->landlock_abi = sbx_ll_abi();
	info->seccomp = 1;
	return pid;
}

char *
sbx_cmd_probe_json(void)
{
	char	*s;
	char	 why[128] = "", degr[128];
	pid_t	 pid;
	int	 st, userns = 0, cgok = 0, abi = sbx_ll_abi();
	struct sbx_cmd_limits l = { 0, 0, 64, 0, 0, 64ull << 20 };

	pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWNS |
	    CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, 0);
	if (pid == 0)
		_exit(0);
	if (pid > 0) {
		userns = 1;
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
	}
	/* A child tries the cgroup, so the caller stays where it is. */
	if ((pid = fork()) == 0)
		_exit(cg_enter(&l, why, sizeof why) ? 0 : 1);
	if (pid > 0) {
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
		cgok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
		cg_remove(pid);
	}
	degr[0] = '\0';
	if (!userns)
		strlcat(degr, ",\"no user namespaces: no shell tool\"",
		    sizeof degr);
	if (!cgok)
		strlcat(degr, ",\"no cgroup\"", sizeof degr);
	if (!abi)
		strlcat(degr, ",\"no landlock\"", sizeof degr);
	if (xasprintf(&s, "{\"userns\":%s,\"cgroup\":%s,\"cgroup_version\":%d,"
	    "\"landlock_abi\":%d,\"seccomp\":true,\"degraded\":[%s]}",
	    userns ? "true" : "false", cgok ? "true" : "false", cg_v2() ? 2 : 1,
	    abi, degr[0] ? degr + 1 : "") == -1)
		return NULL;
	return s;
}
