/*
 * Escape suite, per role: for every production profile a forked child
 * enters the profile and attempts each forbidden action; it must end in
 * EPERM/EACCES/EROFS or death by SIGSYS. Every attempt is paired with a
 * positive control: the same child without the profile must succeed, so
 * a broken harness cannot pass. Then the command-sandbox battery.
 *
 * Exit 0: 0 allowed, every control succeeded. 77: skipped (a mechanism
 * is missing and REQUIRE_SANDBOX is not 1). Else 1.
 */
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <linux/if_ether.h>
#include <linux/io_uring.h>
#include <linux/netlink.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ipc/util.h"
#include <seccomp.h>

#include "sandbox/cmd.h"
#include "sandbox/sandbox.h"
#include "tests/sandbox/escape.h"

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT	0x40000000
#endif

/* Child exit codes; X_OTHER + errno for an unexpected error. */
enum { X_OK_ = 0, X_DENIED = 1, X_NOSBX = 3, X_OTHER = 10,
    X_OTHER_ERRNO = 11 };

static struct esc_env	 E;
static int		 tcp_port, tcp_fd;
static pid_t		 target_pid;	/* another "worker" to kill/ptrace */
static int		 prep_fd = -1;	/* opened before the sandbox */

/* Judge an errno: a denial, or a harness problem. */
static int
verdict(int rc, int err)
{
	if (rc >= 0)
		return X_OK_;
	if (err == EPERM || err == EACCES || err == EROFS)
		return X_DENIED;
	return X_OTHER + (err > 0 && err < 200 ? err : 0);
}

/* errno is read after the call has returned. */
static int
vr(long rc)
{
	return verdict(rc < 0 ? -1 : 0, errno);
}

static int
t_socket(int fam, int type, int proto)
{
	int fd = socket(fam, type | SOCK_CLOEXEC, proto);

	return vr(fd);
}

static int a_inet(void) { return t_socket(AF_INET, SOCK_STREAM, 0); }
static int a_inet6(void) { return t_socket(AF_INET6, SOCK_STREAM, 0); }
static int a_unix(void) { return t_socket(AF_UNIX, SOCK_STREAM, 0); }
static int a_netlink(void)
{
	return t_socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
}
static int a_packet(void)
{
	return t_socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
}

static int
a_connect(void)
{
	struct sockaddr_in	 sin;
	int			 fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return vr(-1);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)tcp_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1)
		return vr(-1);
	return X_OK_;
}

static int
a_execve(void)
{
	char *const argv[] = { "sh", "-c", "exit 0", NULL };
	char *const envp[] = { NULL };

	execve("/bin/sh", argv, envp);
	return vr(-1);
}

static int
a_open_outside(void)
{
	char p[512];

	snprintf(p, sizeof p, "%s/secret", E.out);
	return vr(open(p, O_RDONLY | O_CLOEXEC));
}

static int
a_read_env(void)
{
	char p[512];

	snprintf(p, sizeof p, "%s/.env", E.home);
	if (open(p, O_RDONLY | O_CLOEXEC) == -1 && errno == ENOENT)
		return X_DENIED;	/* hidden */
	return vr(open(p, O_RDONLY | O_CLOEXEC));
}

static int
a_open_etc(void)
{
	return vr(open("/etc/passwd", O_RDONLY | O_CLOEXEC));
}

static int
a_write_outside(void)
{
	char p[512];

	snprintf(p, sizeof p, "%s/written-%d", E.out, (int)getpid());
	return vr(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
}

static int
a_ptrace(void)
{
	long rc = ptrace(PTRACE_ATTACH, target_pid, NULL, NULL);

	if (rc == 0)
		(void)ptrace(PTRACE_DETACH, target_pid, NULL, NULL);
	return vr((int)rc);
}

static int
a_io_uring(void)
{
	struct io_uring_params p;

	memset(&p, 0, sizeof p);
	return vr((int)syscall(SYS_io_uring_setup, 1, &p));
}

/* Mount a tmpfs on out/mnt; the parent checks the host sees it. */
static int
a_mount(void)
{
	char p[512];

	snprintf(p, sizeof p, "%s/mnt", E.out);
	if (mount("hermes-escape", p, "tmpfs", 0, "size=16k") == -1)
		return vr(-1);
	snprintf(p, sizeof p, "%s/mnt/marker", E.out);
	return vr(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
}

static int
a_unshare(void)
{
	return vr(unshare(CLONE_NEWUSER));
}

static int
a_setns(void)
{
	return vr(setns(prep_fd, 0));
}

static int
a_kill(void)
{
	return vr(kill(target_pid, SIGCONT));
}

/* SIGIO to another process through F_SETOWN on a socket. */
static int
a_setown(void)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return vr(-1);
	return vr(fcntl(sv[0], F_SETOWN, target_pid));
}

static int
a_memfd_exec(void)
{
	char *const	 argv[] = { "true", NULL };
	char *const	 envp[] = { NULL };
	char		 buf[65536];
	ssize_t		 n;
	int		 fd;

	if ((fd = (int)syscall(SYS_memfd_create, "x", 0)) == -1)
		return vr(-1);
	while ((n = read(prep_fd, buf, sizeof buf)) > 0)
		if (write(fd, buf, (size_t)n) != n)
			return vr(-1);
	fexecve(fd, argv, envp);
	return vr(-1);
}

static int
a_mmap_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return vr(p == MAP_FAILED ? -1 : 0);
}

static int
a_fork(void)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	return vr(pid);
}

/* Raw calls: "succeeds" = the kernel answered (not EPERM/SIGSYS). */
static int
raw(long rc)
{
	if (rc >= 0)
		return X_OK_;
	if (errno == EPERM || errno == EACCES)
		return X_DENIED;
	return X_OK_;
}

static int a_bpf(void) { return raw(syscall(SYS_bpf, 0, NULL, 0)); }
static int a_perf(void)
{
	return raw(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
}
static int a_keyctl(void) { return raw(syscall(SYS_keyctl, 0, -3, 0)); }
static int a_personality(void)
{
	return raw(syscall(SYS_personality, 0xffffffffUL));
}
static int a_pvm(void)
{
	return raw(syscall(SYS_process_vm_readv, target_pid, NULL, 0, NULL,
	    0, 0));
}
static int a_ufd(void) { return raw(syscall(SYS_userfaultfd, 0)); }
static int a_obh(void)
{
	return raw(syscall(SYS_open_by_handle_at, -1, NULL, 0));
}
static int a_chroot(void) { return raw(syscall(SYS_chroot, "/")); }
static int a_initmod(void)
{
	return raw(syscall(SYS_init_module, NULL, 0, ""));
}
static int a_reboot(void) { return raw(syscall(SYS_reboot, 0, 0, 0, NULL)); }

/* getpid with the x32 bit: the arch check must kill it. */
static int
a_x32(void)
{
	(void)syscall(__X32_SYSCALL_BIT | SYS_getpid);
	return X_OK_;
}

/* i386 getpid (20) through int $0x80. */
static int
a_i386(void)
{
#if defined(__x86_64__)
	long ret = 20;

	__asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
	(void)ret;
#endif
	return X_OK_;
}

/* Prepare fds the attempt needs, before the sandbox. */
static void p_ns(void) { prep_fd = open("/proc/self/ns/uts", O_RDONLY); }
static void p_true(void) { prep_fd = open("/bin/true", O_RDONLY); }

/* Roles for which an action is the role's job ("by design"). */
#define R(p)	(1u << (p))
#define NETR	(R(SBX_FETCH) | R(SBX_BRIDGE) | R(SBX_WEB) | R(SBX_TOOL_SSH))
#define RUNR	(R(SBX_TOOL_LOCAL) | R(SBX_TOOL_DOCKER) | R(SBX_TOOL_SSH))
#define FILR	(RUNR)

enum chk { C_NONE, C_SIGSYS, C_HOSTMNT, C_HOSTFILE, C_ACCEPT };

struct attempt {
	const char	*name;
	int		(*fn)(void);
	void		(*prep)(void);
	unsigned	 by_design;	/* roles where it is allowed */
	enum chk	 check;
};

static const struct attempt attempts[] = {
	{ "socket AF_INET", a_inet, NULL, NETR, C_NONE },
	{ "socket AF_INET6", a_inet6, NULL, NETR, C_NONE },
	{ "socket AF_UNIX", a_unix, NULL, R(SBX_TOOL_DOCKER) |
	    R(SBX_TOOL_SSH), C_NONE },
	{ "read HERMES_HOME/.env", a_read_env, NULL, R(SBX_STORE), C_NONE },
	{ "socket AF_NETLINK", a_netlink, NULL, 0, C_NONE },
	{ "socket AF_PACKET", a_packet, NULL, 0, C_NONE },
	{ "connect loopback", a_connect, NULL, NETR, C_ACCEPT },
	{ "execve /bin/sh", a_execve, NULL, RUNR, C_NONE },
	{ "fork", a_fork, NULL, RUNR, C_NONE },
	{ "open outside roots", a_open_outside, NULL, FILR, C_NONE },
	{ "open /etc/passwd", a_open_etc, NULL, FILR, C_NONE },
	{ "write outside roots", a_write_outside, NULL, 0, C_HOSTFILE },
	{ "ptrace other pid", a_ptrace, NULL, 0, C_NONE },
	{ "io_uring_setup", a_io_uring, NULL, 0, C_NONE },
	{ "mount (host sees it)", a_mount, NULL, 0, C_HOSTMNT },
	{ "unshare user ns", a_unshare, NULL, R(SBX_TOOL_LOCAL), C_NONE },
	{ "setns", a_setns, p_ns, 0, C_NONE },
	{ "kill other pid", a_kill, NULL, 0, C_NONE },
	{ "F_SETOWN other pid", a_setown, NULL, RUNR, C_NONE },
	{ "memfd_create+exec", a_memfd_exec, p_true, RUNR, C_NONE },
	{ "mmap PROT_EXEC", a_mmap_exec, NULL, RUNR, C_NONE },
	{ "bpf", a_bpf, NULL, 0, C_NONE },
	{ "perf_event_open", a_perf, NULL, 0, C_NONE },
	{ "keyctl", a_keyctl, NULL, 0, C_NONE },
	{ "personality", a_personality, NULL, 0, C_NONE },
	{ "process_vm_readv", a_pvm, NULL, 0, C_NONE },
	{ "userfaultfd", a_ufd, NULL, 0, C_NONE },
	{ "open_by_handle_at", a_obh, NULL, 0, C_NONE },
	{ "chroot", a_chroot, NULL, 0, C_NONE },
	{ "init_module", a_initmod, NULL, 0, C_NONE },
	{ "reboot", a_reboot, NULL, 0, C_NONE },
	{ "x32 getpid", a_x32, NULL, 0, C_SIGSYS },
	{ "i386 int $0x80 getpid", a_i386, NULL, 0, C_SIGSYS },
};

static const enum sbx_profile roles[] = {
	SBX_AGENT, SBX_FETCH, SBX_STORE, SBX_TOOL_LOCAL, SBX_TOOL_DOCKER,
	SBX_TOOL_SSH, SBX_BRIDGE, SBX_WEB, SBX_CRON,
};

/* Run one attempt in a child; returns X_* or -SIGNAL. */
static int
run(const struct attempt *a, enum sbx_profile prof)
{
	struct sbx_ctx	 ctx = { .home = E.home, .workspace = E.ws,
	    .require = E.require };
	pid_t		 pid;
	int		 st, devnull;

	fflush(NULL);
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if ((devnull = open("/dev/null", O_WRONLY)) != -1) {
			/* the sandbox's own warnings are noise here */
			if (prof != SBX_NONE)
				(void)dup2(devnull, STDERR_FILENO);
		}
		if (a->prep)
			a->prep();
		if (prof != SBX_NONE && sandbox_enter(prof, &ctx) == -1)
			_exit(X_NOSBX);
		_exit(a->fn());
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			fatal("waitpid");
	if (WIFSIGNALED(st))
		return -WTERMSIG(st);
	return WEXITSTATUS(st);
}

static int
host_marker(const char *rel, int cleanup_mount)
{
	char	 p[512];
	int	 seen;

	snprintf(p, sizeof p, "%s/%s", E.out, rel);
	seen = access(p, F_OK) == 0;
	if (cleanup_mount) {
		snprintf(p, sizeof p, "%s/mnt", E.out);
		while (umount2(p, MNT_DETACH) == 0)
			;
	}
	return seen;
}

static void
clean_written(void)
{
	char	 cmd[600];

	snprintf(cmd, sizeof cmd, "rm -f %s/written-*", E.out);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup failed\n");
}

/* 1 = the action happened. */
static int
happened(const struct attempt *a, int r)
{
	int	 acc;

	switch (a->check) {
	case C_SIGSYS:
		return r != -SIGSYS;
	case C_HOSTMNT:
		return host_marker("mnt/marker", 1);
	case C_HOSTFILE: {
		char	 cmd[600];

		snprintf(cmd, sizeof cmd, "ls %s/written-* >/dev/null 2>&1",
		    E.out);
		acc = system(cmd) == 0;
		clean_written();
		return acc;
	}
	case C_ACCEPT:
		acc = esc_drain(tcp_fd, 0);
		return acc > 0 || r == X_OK_;
	case C_NONE:
		break;
	}
	return r == X_OK_;
}

static const char *
show(int r)
{
	static char b[32];

	switch (r) {
	case X_OK_:
		return "succeeded";
	case X_DENIED:
		return "EPERM/EACCES";
	case X_OTHER:
		return "other error";
	case X_NOSBX:
		return "sandbox_enter failed";
	}
	if (r >= X_OTHER_ERRNO) {
		snprintf(b, sizeof b, "error: %s", strerror(r - X_OTHER));
		return b;
	}
	snprintf(b, sizeof b, "signal %s", r == -SIGSYS ? "SIGSYS" :
	    strsignal(-r));
	return b;
}

void
esc_row_print(const struct esc_row *r)
{
	printf("%-12s %8d %7d %8d %8d %8d\n", r->role, r->attempts,
	    r->denied, r->allowed, r->ctl_fail, r->skipped);
}

/* Controls run once per attempt (they do not depend on the role). */
static int	 ctl_ok[sizeof attempts / sizeof attempts[0]];

static void
controls(void)
{
	size_t	 i;
	int	 r, ok;

	for (i = 0; i < nitems(attempts); i++) {
		const struct attempt *a = &attempts[i];

		r = run(a, SBX_NONE);
		if (a->check == C_SIGSYS)
			ok = r != -SIGSYS;
		else
			ok = happened(a, r);
		if (a->check == C_SIGSYS && r == -SIGSEGV) {
			/* no ia32 emulation: the vector cannot be tried */
			ctl_ok[i] = -1;
			printf("  skip  %-24s kernel lacks ia32 emulation "
			    "(control got SIGSEGV)\n", a->name);
			continue;
		}
		ctl_ok[i] = ok;
		if (!ok)
			printf("  FAIL  control %-24s %s\n", a->name, show(r));
	}
}

static void
role(enum sbx_profile prof, struct esc_row *row)
{
	size_t	 i;
	int	 r, h;

	memset(row, 0, sizeof *row);
	row->role = sandbox_profile_name(prof);
	for (i = 0; i < nitems(attempts); i++) {
		const struct attempt *a = &attempts[i];

		if (a->by_design & R(prof))
			continue;
		if (ctl_ok[i] == -1) {
			row->skipped++;
			continue;
		}
		row->attempts++;
		if (!ctl_ok[i])
			row->ctl_fail++;
		r = run(a, prof);
		if (r == X_NOSBX) {
			row->allowed++;
			printf("  FAIL  %-11s %-24s sandbox_enter failed\n",
			    row->role, a->name);
			continue;
		}
		h = happened(a, r);
		if (h || r >= X_OTHER) {
			row->allowed++;
			printf("  FAIL  %-11s %-24s %s\n", row->role, a->name,
			    show(r));
		} else
			row->denied++;
	}
}

/*
 * Checks of the machinery itself, each with its control: SANDBOX_DEBUG
 * names the syscall, the report says what was enforced, the supervisor
 * is not dumpable, secrets leave the environment, no_new_privs is set.
 */
static int
child_text(enum sbx_profile prof, int debug, int what, char *out,
    size_t len, int *status)
{
	struct sbx_ctx	 ctx = { .home = E.home, .workspace = E.ws };
	ssize_t		 n;
	size_t		 got = 0;
	pid_t		 pid;
	int		 p[2];

	if (pipe(p) == -1)
		fatal("pipe");
	fflush(NULL);
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		close(p[0]);
		(void)dup2(p[1], STDERR_FILENO);
		if (debug)
			setenv("SANDBOX_DEBUG", "1", 1);
		setenv("HERMES_TEST_API_KEY", "sk-canary", 1);
		if (prof != SBX_NONE && sandbox_enter(prof, &ctx) == -1)
			_exit(X_NOSBX);
		switch (what) {
		case 0:		/* a forbidden call */
			(void)socket(AF_INET, SOCK_STREAM, 0);
			break;
		case 1:
			dprintf(p[1], "%s", sandbox_report());
			break;
		case 2:
			dprintf(p[1], "dumpable=%d",
			    prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
			break;
		case 3:
			dprintf(p[1], "key=%s", getenv("HERMES_TEST_API_KEY") ?
			    getenv("HERMES_TEST_API_KEY") : "(none)");
			break;
		case 4:
			dprintf(p[1], "nnp=%d",
			    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
			break;
		}
		_exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], out + got, len - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(p[0]);
	while (waitpid(pid, status, 0) == -1)
		if (errno != EINTR)
			fatal("waitpid");
	return 0;
}

/*
 * Simulate an older kernel in a child (landlock_create_ruleset ->
 * ENOSYS, user namespaces -> EPERM) and check that sandbox.require
 * fails closed while the default degrades and says so.
 */
#define NO_LANDLOCK	1
#define NO_USERNS	2
#define EXEC_FD		4	/* run home/true (hidden inside) */
#define EXEC_FD_SET	8	/* ... by fd */

static int
degraded(enum sbx_profile prof, int require, int block, char *out,
    size_t len)
{
	struct sbx_ctx	 ctx = { .home = E.home, .workspace = E.ws,
	    .require = require };
	scmp_filter_ctx	 f;
	ssize_t		 n;
	size_t		 got = 0;
	pid_t		 pid;
	int		 p[2], st;

	if (pipe(p) == -1)
		fatal("pipe");
	fflush(NULL);
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		close(p[0]);
		(void)dup2(p[1], STDERR_FILENO);
		if ((f = seccomp_init(SCMP_ACT_ALLOW)) == NULL)
			_exit(2);
		if (((block & NO_LANDLOCK) && seccomp_rule_add(f,
		    SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(landlock_create_ruleset),
		    0) != 0) || ((block & NO_USERNS) && (seccomp_rule_add(f,
		    SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 0) != 0 ||
		    seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone),
		    1, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER,
		    CLONE_NEWUSER)) != 0)) || seccomp_load(f) != 0)
			_exit(2);
		if (prof == SBX_TOOL_CMD) {
			static char tp[600];
			char *argv[] = { "/bin/true", NULL };
			struct sbx_cmd c;
			struct sbx_cmd_info info;
			struct sbx_cmd_limits l = SBX_CMD_LIMITS_DEFAULT;
			pid_t cp;

			memset(&c, 0, sizeof c);
			c.argv = argv;
			c.workspace = E.ws;
			c.require = require;
			c.home = E.home;
			c.limits = l;
			c.fd_in = c.fd_out = c.fd_err = -1;
			if (block & EXEC_FD) {
				/* /bin/true copied into the hidden home */
				snprintf(tp, sizeof tp, "%s/true", E.home);
				argv[0] = tp;
				if ((block & EXEC_FD_SET) && (c.exec_fd =
				    open(tp, O_RDONLY | O_CLOEXEC)) == -1)
					_exit(2);
			}
			cp = sbx_cmd_spawn(&c, &info);
			dprintf(p[1], "spawn=%s %s", cp == -1 ? "failed" : "ok",
			    info.err);
			if (cp > 0)
				(void)waitpid(cp, NULL, 0);
			_exit(0);
		}
		if (sandbox_enter(prof, &ctx) == -1) {
			dprintf(p[1], "\nenter=failed");
			_exit(0);
		}
		dprintf(p[1], "\nenter=ok %s", sandbox_report());
		_exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], out + got, len - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(p[0]);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			fatal("waitpid");
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void
checks(struct esc_row *row)
{
	char	 t[2048];
	int	 st, ok, ctl;

	memset(row, 0, sizeof *row);
	row->role = "machinery";
#define CHECK(name, good, control) do {					\
	row->attempts++;						\
	if (good)							\
		row->denied++;						\
	else {								\
		row->allowed++;						\
		printf("  FAIL  check %s: %s\n", name, t);		\
	}								\
	if (!(control)) {						\
		row->ctl_fail++;					\
		printf("  FAIL  check control %s\n", name);		\
	}								\
} while (0)
	child_text(SBX_NONE, 1, 0, t, sizeof t, &st);
	ctl = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	child_text(SBX_AGENT, 1, 0, t, sizeof t, &st);
	ok = WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS &&
	    strstr(t, "syscall socket ") != NULL;
	CHECK("SANDBOX_DEBUG names the syscall", ok, ctl);

	child_text(SBX_AGENT, 0, 1, t, sizeof t, &st);
	ok = strstr(t, "\"profile\":\"agent\"") != NULL &&
	    strstr(t, "\"seccomp\":true") != NULL &&
	    strstr(t, "\"landlock\":{\"abi\":") != NULL &&
	    strstr(t, "\"degraded\":[]") != NULL;
	CHECK("report: agent enforced, not degraded", ok, 1);
	setenv("HERMES_SANDBOX", "off", 1);
	child_text(SBX_AGENT, 0, 1, t, sizeof t, &st);
	unsetenv("HERMES_SANDBOX");
	ok = strstr(t, "\"enforced\":false") != NULL &&
	    strstr(t, "HERMES_SANDBOX=off") != NULL;
	CHECK("report: HERMES_SANDBOX=off says so", ok, 1);

	child_text(SBX_NONE, 0, 2, t, sizeof t, &st);
	ctl = strcmp(t, "dumpable=1") == 0;
	child_text(SBX_SUPERVISOR, 0, 2, t, sizeof t, &st);
	CHECK("supervisor not dumpable", strcmp(t, "dumpable=0") == 0, ctl);

	child_text(SBX_NONE, 0, 3, t, sizeof t, &st);
	ctl = strcmp(t, "key=sk-canary") == 0;
	child_text(SBX_FETCH, 0, 3, t, sizeof t, &st);
	CHECK("environment scrubbed", strcmp(t, "key=(none)") == 0, ctl);

	child_text(SBX_NONE, 0, 4, t, sizeof t, &st);
	ctl = strcmp(t, "nnp=0") == 0;
	child_text(SBX_STORE, 0, 4, t, sizeof t, &st);
	CHECK("no_new_privs", strcmp(t, "nnp=1") == 0, ctl);

	/* Degradation: reported by default, refused with require. */
	ok = degraded(SBX_AGENT, 0, NO_LANDLOCK, t, sizeof t) &&
	    strstr(t, "enter=ok") != NULL &&
	    strstr(t, "\"landlock\":\"unavailable\"") != NULL &&
	    strstr(t, "\"degraded\":[\"landlock unavailable\"]") != NULL;
	CHECK("no landlock: agent degrades and says so", ok, 1);
	ok = degraded(SBX_AGENT, 1, NO_LANDLOCK, t, sizeof t) &&
	    strstr(t, "enter=failed") != NULL;
	CHECK("no landlock + require: agent refuses", ok, 1);
	ok = degraded(SBX_STORE, 1, NO_LANDLOCK, t, sizeof t) &&
	    strstr(t, "enter=failed") != NULL;
	CHECK("no landlock + require: store refuses", ok, 1);
	ok = degraded(SBX_TOOL_LOCAL, 1, NO_USERNS, t, sizeof t) &&
	    strstr(t, "enter=failed") != NULL;
	CHECK("no user ns + require: tool-local refuses", ok, 1);
	ok = degraded(SBX_TOOL_CMD, 0, NO_USERNS, t, sizeof t) &&
	    strstr(t, "spawn=failed") != NULL;
	CHECK("no user ns: no command sandbox (no host shell)", ok, 1);
	ok = degraded(SBX_TOOL_CMD, 1, NO_LANDLOCK, t, sizeof t) &&
	    strstr(t, "spawn=failed") != NULL;
	ctl = degraded(SBX_TOOL_CMD, 0, NO_LANDLOCK, t, sizeof t) &&
	    strstr(t, "spawn=ok") != NULL;
	CHECK("no landlock + require: command refused", ok, ctl);
	ok = degraded(SBX_TOOL_CMD, 0, EXEC_FD | EXEC_FD_SET, t, sizeof t) &&
	    strstr(t, "spawn=ok") != NULL;
	ctl = degraded(SBX_TOOL_CMD, 0, EXEC_FD, t, sizeof t) &&
	    strstr(t, "spawn=failed") != NULL;
	if (!ctl)
		printf("  (control: %s)\n", t);
	CHECK("exec_fd runs a program the view hides", ok, ctl);
#undef CHECK
}

static void
mkdir_or_die(const char *p)
{
	if (mkdir(p, 0755) == -1 && errno != EEXIST)
		fatal("mkdir %s", p);
}

static void
put(const char *dir, const char *name, const char *text)
{
	char	 p[512];
	FILE	*f;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	if ((f = fopen(p, "w")) == NULL)
		fatal("%s", p);
	fputs(text, f);
	if (fclose(f) != 0)
		fatal("%s", p);
}

static void
cleanup(void)
{
	char cmd[600];

	if (target_pid > 0) {
		kill(target_pid, SIGKILL);
		waitpid(target_pid, NULL, 0);
	}
	if (E.base[0] != '\0') {
		snprintf(cmd, sizeof cmd, "%s/mnt", E.out);
		while (umount2(cmd, MNT_DETACH) == 0)
			;
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", E.base);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup of %s failed\n", E.base);
	}
}

#define KOK	"{\"kernel\":{\"seccomp\":true,"

/* The mechanisms this run needs; missing ones skip or fail. */
static int
missing(void)
{
	char	*j = NULL;
	int	 miss = 0;

	if (sandbox_probe_json(&j) == -1)
		fatalx("probe");
	printf("kernel: %s\n", j);
	if (strncmp(j, KOK, sizeof KOK - 1) != 0 ||
	    strstr(j, "\"landlock_abi\":0,") != NULL ||
	    strstr(j, "\"userns\":false") != NULL ||
	    strstr(j, "\"cgroup\":false") != NULL)
		miss = 1;
	free(j);
	return miss;
}

/* Helper mode: one attempt by name, in whatever sandbox we are in. */
static int
attempt_by_name(const char *name)
{
	size_t	 i;
	int	 r;

	for (i = 0; i < nitems(attempts); i++) {
		if (strcmp(attempts[i].name, name) != 0)
			continue;
		if ((target_pid = fork()) == 0) {
			for (;;)
				pause();
		}
		if (attempts[i].prep)
			attempts[i].prep();
		r = attempts[i].fn();
		if (target_pid > 0) {
			(void)kill(target_pid, SIGKILL);
			(void)waitpid(target_pid, NULL, 0);
		}
		return r;
	}
	fprintf(stderr, "no attempt %s\n", name);
	return 2;
}

int
main(int argc, char **argv)
{
	struct esc_row	 rows[16], bat;
	size_t		 i, n = 0;
	int		 bad = 0, miss;
	const char	*rq;

	if (argc > 2 && strcmp(argv[1], "--attempt") == 0)
		return attempt_by_name(argv[2]);
	if (argc > 1 && strncmp(argv[1], "--", 2) == 0)
		return esc_helper(argc, argv);
	log_init("sandbox_escape", 0);
	/*
	 * HERMES_SANDBOX=off is for workers in sanitizer runs; this suite
	 * tests the sandbox itself, and runs it under ASan as well.
	 */
	if (unsetenv("HERMES_SANDBOX") == -1)
		fatal("unsetenv");
	rq = getenv("REQUIRE_SANDBOX");
	E.require = rq != NULL && strcmp(rq, "1") == 0;
	miss = missing();
	if (miss && !E.require) {
		printf("skip: this kernel lacks seccomp, landlock or user "
		    "namespaces (set REQUIRE_SANDBOX=1 to fail instead)\n");
		return 77;
	}
	snprintf(E.base, sizeof E.base, "/var/tmp/hermes-escape-XXXXXX");
	if (mkdtemp(E.base) == NULL)
		fatal("mkdtemp");
	atexit(cleanup);
	/* A copy of this binary the sandboxes can see wherever the build
	 * lives (a build under /tmp would be hidden by the private /tmp). */
	{
		char cmd[9000];

		snprintf(E.self, sizeof E.self, "%s/escape-helper", E.base);
		snprintf(cmd, sizeof cmd, "cp /proc/%d/exe '%s' && chmod 755 "
		    "'%s'", (int)getpid(), E.self, E.self);
		if (system(cmd) != 0)
			fatalx("cannot copy the helper binary");
	}
	snprintf(E.home, sizeof E.home, "%s/home", E.base);
	snprintf(E.ws, sizeof E.ws, "%s/ws", E.base);
	snprintf(E.out, sizeof E.out, "%s/out", E.base);
	snprintf(E.run, sizeof E.run, "%s/run", E.base);
	mkdir_or_die(E.home);
	mkdir_or_die(E.ws);
	mkdir_or_die(E.out);
	mkdir_or_die(E.run);
	{
		char p[512];

		snprintf(p, sizeof p, "%s/mnt", E.out);
		mkdir_or_die(p);
	}
	put(E.home, ".env", "OPENROUTER_API_KEY=sk-canary-4f1c9e2b7a\n");
	put(E.home, "config.yaml", "model: canary-config-77a1\n");
	put(E.out, "secret", "outside-canary\n");
	{
		char cmd[9000];

		snprintf(cmd, sizeof cmd, "cp /bin/true '%s/true'", E.home);
		if (system(cmd) != 0)
			fatalx("cannot copy /bin/true");
	}

	if ((tcp_fd = esc_listen_tcp(&tcp_port)) == -1)
		fatal("listen");
	if ((target_pid = fork()) == 0) {
		for (;;)
			pause();
	}

	printf("escape suite: %zu attempts per role (by-design actions "
	    "of a role are not counted)\n", nitems(attempts));
	controls();
	for (i = 0; i < nitems(roles); i++)
		role(roles[i], &rows[n++]);
	checks(&rows[n++]);
	esc_battery(&E, &bat);
	if (esc_drain(tcp_fd, 0) != 0) {
		printf("  FAIL  the loopback listener accepted a "
		    "connection from a confined child\n");
		bad = 1;
	}

	printf("\n%-12s %8s %7s %8s %8s %8s\n", "role", "attempts", "denied",
	    "allowed", "ctl_fail", "skipped");
	for (i = 0; i < n; i++) {
		esc_row_print(&rows[i]);
		if (rows[i].allowed || rows[i].ctl_fail)
			bad = 1;
	}
	esc_row_print(&bat);
	if (bat.allowed || bat.ctl_fail)
		bad = 1;
	if (E.require && bat.skipped > 0 && bat.attempts == 0)
		bad = 1;
	printf("\nsandbox escape suite: %s\n", bad ? "FAILED" : "ok");
	return bad ? 1 : 0;
}
