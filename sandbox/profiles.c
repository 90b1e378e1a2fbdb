/*
 * The one table of profiles, and the named syscall groups they are
 * built from (in the spirit of systemd's seccomp-util groups). A rule
 * may carry argument comparisons; rules of one syscall with different
 * actions must not overlap (libseccomp refuses that).
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <sched.h>
#include <termios.h>

#include "ipc/util.h"
#include "sandbox/sbx_int.h"

#define A(s)		{ s, R_ALLOW, 0, {{0}} }
#define EP(s)		{ s, R_EPERM, 0, {{0}} }
#define EA(s)		{ s, R_EACCES, 0, {{0}} }
#define NOSYS(s)	{ s, R_ENOSYS, 0, {{0}} }
#define C(arg, op, v)	{ arg, op, v, 0 }
#define M(arg, m, v)	{ arg, SCMP_CMP_MASKED_EQ, m, v }

#define FD_MAX		0x7fffffffull	/* dirfd above: AT_FDCWD */
#define OPEN_WRITES	(O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)
#define CLONE_NS	(CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | \
			 CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | \
			 CLONE_NEWCGROUP)
#define CLONE_THR	(CLONE_THREAD | CLONE_VM | CLONE_SIGHAND)

static const struct sbx_rule g_base[] = {
	A("exit"), A("exit_group"), A("restart_syscall"), A("futex"),
	A("set_robust_list"), A("get_robust_list"), A("set_tid_address"),
	A("rseq"), A("sched_yield"), A("sched_getaffinity"), A("getpid"),
	A("gettid"), A("getppid"), A("getuid"), A("geteuid"), A("getgid"),
	A("getegid"), A("getresuid"), A("getresgid"), A("getgroups"),
	A("getrandom"), A("uname"), A("sysinfo"), A("getrusage"),
	A("times"), A("getcpu"), A("clock_gettime"), A("clock_getres"),
	A("gettimeofday"), A("time"), A("nanosleep"), A("clock_nanosleep"),
	A("membarrier"),
	/* getrlimit is prlimit64(0, r, NULL, old): reading only. */
	{ "prlimit64", R_ALLOW, 2, { C(0, SCMP_CMP_EQ, 0),
	    C(2, SCMP_CMP_EQ, 0) } },
	{ "prctl", R_ALLOW, 1, { C(0, SCMP_CMP_EQ, PR_SET_NAME) } },
	{ "prctl", R_ALLOW, 1, { C(0, SCMP_CMP_EQ, PR_GET_NAME) } },
	{ "prctl", R_ALLOW, 1, { C(0, SCMP_CMP_EQ, PR_GET_DUMPABLE) } },
	{ "prctl", R_ALLOW, 1, { C(0, SCMP_CMP_EQ, PR_GET_SECCOMP) } },
	{ "prctl", R_ALLOW, 1, { C(0, SCMP_CMP_EQ, PR_GET_NO_NEW_PRIVS) } },
};

static const struct sbx_rule g_memory[] = {
	A("brk"), A("munmap"), A("mremap"), A("madvise"), A("mlock"),
	A("munlock"), A("mincore"),
	{ "mmap", R_ALLOW, 1, { M(2, PROT_EXEC, 0) } },
	{ "mmap", R_EPERM, 1, { M(2, PROT_EXEC, PROT_EXEC) } },
	{ "mprotect", R_ALLOW, 1, { M(2, PROT_EXEC, 0) } },
	{ "mprotect", R_EPERM, 1, { M(2, PROT_EXEC, PROT_EXEC) } },
	{ "pkey_mprotect", R_EPERM, 0, {{0}} },
};

static const struct sbx_rule g_signal[] = {
	A("rt_sigaction"), A("rt_sigprocmask"), A("rt_sigreturn"),
	A("sigaltstack"), A("rt_sigpending"), A("rt_sigtimedwait"),
	A("rt_sigsuspend"),
	{ "kill", R_ALLOW, 1, { C(0, SCMP_CMP_EQ, SBX_SELF) } },
	{ "kill", R_EPERM, 1, { C(0, SCMP_CMP_NE, SBX_SELF) } },
	{ "tgkill", R_ALLOW, 1, { C(0, SCMP_CMP_EQ, SBX_SELF) } },
	{ "tgkill", R_EPERM, 1, { C(0, SCMP_CMP_NE, SBX_SELF) } },
};

static const struct sbx_rule g_event[] = {
	A("epoll_create1"), A("epoll_create"), A("epoll_ctl"),
	A("epoll_wait"), A("epoll_pwait"), A("epoll_pwait2"), A("poll"),
	A("ppoll"), A("select"), A("pselect6"), A("eventfd2"), A("pipe2"),
	A("pipe"), A("timerfd_create"), A("timerfd_settime"),
	A("timerfd_gettime"),
};

static const struct sbx_rule g_fdio[] = {
	A("read"), A("write"), A("readv"), A("writev"), A("pread64"),
	A("pwrite64"), A("preadv"), A("pwritev"), A("close"),
	A("close_range"), A("lseek"), A("dup"), A("dup2"), A("dup3"),
	A("fstat"), A("fstatfs"),
	/* fcntl: not F_SETOWN/F_SETSIG (SIGIO to another process). */
	{ "fcntl", R_ALLOW, 1, { C(1, SCMP_CMP_EQ, F_DUPFD) } },
	{ "fcntl", R_ALLOW, 1, { C(1, SCMP_CMP_EQ, F_DUPFD_CLOEXEC) } },
	{ "fcntl", R_ALLOW, 1, { C(1, SCMP_CMP_EQ, F_GETFD) } },
	{ "fcntl", R_ALLOW, 1, { C(1, SCMP_CMP_EQ, F_SETFD) } },
	{ "fcntl", R_ALLOW, 1, { C(1, SCMP_CMP_EQ, F_GETFL) } },
	{ "fcntl", R_ALLOW, 1, { C(1, SCMP_CMP_EQ, F_SETFL) } },
	{ "fcntl", R_ALLOW, 1, { C(1, SCMP_CMP_EQ, F_GETLK) } },
	{ "fcntl", R_ALLOW, 1, { C(1, SCMP_CMP_EQ, F_SETLK) } },
	{ "fcntl", R_ALLOW, 1, { C(1, SCMP_CMP_EQ, F_SETLKW) } },
	{ "fcntl", R_ALLOW, 1, { C(1, SCMP_CMP_EQ, F_OFD_GETLK) } },
	{ "fcntl", R_ALLOW, 1, { C(1, SCMP_CMP_EQ, F_OFD_SETLK) } },
	{ "fcntl", R_ALLOW, 1, { C(1, SCMP_CMP_EQ, F_OFD_SETLKW) } },
	{ "fcntl", R_ALLOW, 1, { C(1, SCMP_CMP_EQ, F_GETPIPE_SZ) } },
	{ "fcntl", R_ALLOW, 1, { C(1, SCMP_CMP_EQ, F_SETPIPE_SZ) } },
	{ "fcntl", R_ALLOW, 1, { C(1, SCMP_CMP_EQ, F_GETOWN) } },
	{ "fcntl", R_EPERM, 1, { C(1, SCMP_CMP_EQ, F_SETOWN) } },
	{ "fcntl", R_EPERM, 1, { C(1, SCMP_CMP_EQ, F_SETOWN_EX) } },
	{ "fcntl", R_EPERM, 1, { C(1, SCMP_CMP_EQ, F_SETSIG) } },
	/* fstat() is newfstatat(fd, "", AT_EMPTY_PATH): fds only. */
	{ "newfstatat", R_ALLOW, 2, { C(0, SCMP_CMP_LE, FD_MAX),
	    M(3, AT_EMPTY_PATH, AT_EMPTY_PATH) } },
	{ "statx", R_ALLOW, 2, { C(0, SCMP_CMP_LE, FD_MAX),
	    M(2, AT_EMPTY_PATH, AT_EMPTY_PATH) } },
	{ "ioctl", R_ALLOW, 1, { C(1, SCMP_CMP_EQ, FIONREAD) } },
	{ "ioctl", R_ALLOW, 1, { C(1, SCMP_CMP_EQ, FIONBIO) } },
	{ "ioctl", R_ALLOW, 1, { C(1, SCMP_CMP_EQ, FIOCLEX) } },
	{ "ioctl", R_ALLOW, 1, { C(1, SCMP_CMP_EQ, FIONCLEX) } },
	{ "ioctl", R_ENOTTY, 1, { C(1, SCMP_CMP_EQ, TCGETS) } },
};

static const struct sbx_rule g_sockio[] = {
	A("recvmsg"), A("sendmsg"), A("recvfrom"), A("sendto"),
	A("recvmmsg"), A("sendmmsg"), A("shutdown"), A("getsockname"),
	A("getpeername"), A("getsockopt"), A("setsockopt"),
	{ "socketpair", R_ALLOW, 1, { C(0, SCMP_CMP_EQ, AF_UNIX) } },
};

/* libc probes paths (locale, nss, tz): refuse politely. */
static const struct sbx_rule g_path_deny[] = {
	EA("open"), EA("openat"), EA("stat"), EA("lstat"), EA("access"),
	EA("faccessat"), EA("faccessat2"), EA("readlink"), EA("readlinkat"),
	NOSYS("openat2"),
	{ "newfstatat", R_EACCES, 1, { C(0, SCMP_CMP_GT, FD_MAX) } },
	{ "newfstatat", R_EACCES, 1, { M(3, AT_EMPTY_PATH, 0) } },
	{ "statx", R_EACCES, 1, { C(0, SCMP_CMP_GT, FD_MAX) } },
	{ "statx", R_EACCES, 1, { M(2, AT_EMPTY_PATH, 0) } },
};

/* Opening read-only; where is landlock's business. */
static const struct sbx_rule g_file_ro[] = {
	{ "openat", R_ALLOW, 1, { M(2, OPEN_WRITES, 0) } },
	{ "openat", R_EACCES, 1, { M(2, O_WRONLY, O_WRONLY) } },
	{ "openat", R_EACCES, 1, { M(2, O_RDWR, O_RDWR) } },
	{ "openat", R_EACCES, 1, { M(2, O_CREAT, O_CREAT) } },
	{ "openat", R_EACCES, 1, { M(2, O_TRUNC, O_TRUNC) } },
	{ "openat", R_EACCES, 1, { M(2, O_APPEND, O_APPEND) } },
	{ "open", R_ALLOW, 1, { M(1, OPEN_WRITES, 0) } },
	{ "open", R_EACCES, 1, { M(1, O_WRONLY, O_WRONLY) } },
	{ "open", R_EACCES, 1, { M(1, O_RDWR, O_RDWR) } },
	{ "open", R_EACCES, 1, { M(1, O_CREAT, O_CREAT) } },
	{ "open", R_EACCES, 1, { M(1, O_TRUNC, O_TRUNC) } },
	{ "open", R_EACCES, 1, { M(1, O_APPEND, O_APPEND) } },
	A("stat"), A("lstat"), A("access"), A("faccessat"), A("faccessat2"),
	A("readlink"), A("readlinkat"), A("getdents64"), A("getcwd"),
	A("statfs"), NOSYS("openat2"),
	{ "newfstatat", R_ALLOW, 0, {{0}} }, { "statx", R_ALLOW, 0, {{0}} },
};

static const struct sbx_rule g_file_rw[] = {
	A("openat"), A("open"), A("stat"), A("lstat"), A("access"),
	A("faccessat"), A("faccessat2"), A("readlink"), A("readlinkat"),
	A("getdents64"), A("getcwd"), A("statfs"), A("newfstatat"),
	A("statx"), A("fsync"), A("fdatasync"), A("ftruncate"),
	A("fallocate"), A("rename"), A("renameat"), A("renameat2"),
	A("unlink"), A("unlinkat"), A("mkdir"), A("mkdirat"), A("rmdir"),
	A("fchmod"), A("fchown"), A("flock"), A("utimensat"), A("umask"),
	A("openat2"),
};

static const struct sbx_rule g_thread[] = {
	{ "clone", R_ALLOW, 1, { M(0, CLONE_THR | CLONE_NS, CLONE_THR) } },
	NOSYS("clone3"),
};

static const struct sbx_rule g_net_client[] = {
	{ "socket", R_ALLOW, 2, { C(0, SCMP_CMP_EQ, AF_INET),
	    M(1, 0xf, SOCK_STREAM) } },
	{ "socket", R_ALLOW, 2, { C(0, SCMP_CMP_EQ, AF_INET),
	    M(1, 0xf, SOCK_DGRAM) } },
	{ "socket", R_ALLOW, 2, { C(0, SCMP_CMP_EQ, AF_INET6),
	    M(1, 0xf, SOCK_STREAM) } },
	{ "socket", R_ALLOW, 2, { C(0, SCMP_CMP_EQ, AF_INET6),
	    M(1, 0xf, SOCK_DGRAM) } },
	/* glibc probes these (nscd, __check_pf) and copes. */
	{ "socket", R_EPERM, 1, { C(0, SCMP_CMP_EQ, AF_UNIX) } },
	{ "socket", R_EPERM, 1, { C(0, SCMP_CMP_EQ, AF_NETLINK) } },
	A("connect"), A("poll"),
};

/* tool-local without network: no socket at all (socketpair works). */
static const struct sbx_rule g_sock_none[] = {
	EP("socket"),
};

/*
 * tool-local with network: IP only. Not AF_UNIX: connect() to a host
 * socket path (docker, systemd) passes read-only mounts and landlock.
 */
static const struct sbx_rule g_sock_ip[] = {
	{ "socket", R_ALLOW, 1, { C(0, SCMP_CMP_EQ, AF_INET) } },
	{ "socket", R_ALLOW, 1, { C(0, SCMP_CMP_EQ, AF_INET6) } },
	{ "socket", R_EPERM, 1, { C(0, SCMP_CMP_EQ, AF_UNIX) } },
	{ "socket", R_EPERM, 1, { C(0, SCMP_CMP_EQ, AF_NETLINK) } },
	{ "socket", R_EPERM, 1, { C(0, SCMP_CMP_EQ, AF_PACKET) } },
};

/* tool-docker: the docker socket only. */
static const struct sbx_rule g_sock_unix[] = {
	{ "socket", R_ALLOW, 1, { C(0, SCMP_CMP_EQ, AF_UNIX) } },
	{ "socket", R_EPERM, 1, { C(0, SCMP_CMP_NE, AF_UNIX) } },
};

/* A runner with network: IP and UNIX, no raw packets or netlink. */
static const struct sbx_rule g_sock_net[] = {
	{ "socket", R_ALLOW, 1, { C(0, SCMP_CMP_EQ, AF_UNIX) } },
	{ "socket", R_ALLOW, 1, { C(0, SCMP_CMP_EQ, AF_INET) } },
	{ "socket", R_ALLOW, 1, { C(0, SCMP_CMP_EQ, AF_INET6) } },
	{ "socket", R_EPERM, 1, { C(0, SCMP_CMP_EQ, AF_NETLINK) } },
	{ "socket", R_EPERM, 1, { C(0, SCMP_CMP_EQ, AF_PACKET) } },
};

static const struct sbx_rule g_process[] = {
	A("clone"), A("fork"), A("vfork"), A("execve"), A("execveat"),
	A("wait4"), A("waitid"), A("kill"), A("tgkill"), A("tkill"),
	A("setsid"), A("setpgid"), A("getpgid"), A("getpgrp"), A("getsid"),
	A("pidfd_open"), A("pidfd_send_signal"), NOSYS("clone3"),
};

/* What ordinary programs (shells, compilers, interpreters) use. */
static const struct sbx_rule g_system[] = {
	A("open"), A("openat"), A("openat2"), A("stat"), A("lstat"),
	A("fstat"), A("newfstatat"), A("statx"), A("access"), A("faccessat"),
	A("faccessat2"), A("readlink"), A("readlinkat"), A("getdents"),
	A("getdents64"), A("getcwd"), A("chdir"), A("fchdir"), A("statfs"),
	A("fstatfs"), A("fsync"), A("fdatasync"), A("sync_file_range"),
	A("syncfs"), A("truncate"), A("ftruncate"), A("fallocate"),
	A("fadvise64"), A("readahead"), A("rename"), A("renameat"),
	A("renameat2"), A("unlink"), A("unlinkat"), A("mkdir"),
	A("mkdirat"), A("rmdir"), A("creat"), A("link"), A("linkat"),
	A("symlink"), A("symlinkat"), A("chmod"), A("fchmod"),
	A("fchmodat"), A("chown"), A("fchown"), A("lchown"), A("fchownat"),
	A("umask"), A("utime"), A("utimes"), A("utimensat"), A("futimesat"),
	A("mknod"), A("mknodat"), A("flock"), A("setxattr"), A("lsetxattr"),
	A("fsetxattr"), A("getxattr"), A("lgetxattr"), A("fgetxattr"),
	A("listxattr"), A("llistxattr"), A("flistxattr"),
	A("removexattr"), A("lremovexattr"), A("fremovexattr"),
	A("inotify_init"), A("inotify_init1"), A("inotify_add_watch"),
	A("inotify_rm_watch"), A("sendfile"), A("splice"), A("tee"),
	A("vmsplice"), A("copy_file_range"), A("preadv2"), A("pwritev2"),
	A("ioctl"), A("fcntl"), A("mmap"), A("mprotect"), A("msync"),
	A("mlockall"),
	A("munlockall"), A("memfd_create"), A("shmget"), A("shmat"),
	A("shmdt"), A("shmctl"), A("semget"), A("semop"), A("semctl"),
	A("semtimedop"), A("msgget"), A("msgsnd"), A("msgrcv"),
	A("msgctl"), A("mq_open"), A("mq_unlink"), A("mq_timedsend"),
	A("mq_timedreceive"), A("mq_notify"), A("mq_getsetattr"),
	A("socketpair"), A("connect"), A("bind"),
	A("listen"), A("accept"), A("accept4"), A("pause"), A("alarm"),
	A("getitimer"), A("setitimer"), A("timer_create"),
	A("timer_settime"), A("timer_gettime"), A("timer_getoverrun"),
	A("timer_delete"), A("signalfd"), A("signalfd4"), A("eventfd"),
	A("rt_sigqueueinfo"), A("rt_tgsigqueueinfo"), A("tkill"),
	A("getpriority"), A("setpriority"), A("sched_setaffinity"),
	A("sched_getparam"), A("sched_setparam"), A("sched_getscheduler"),
	A("sched_setscheduler"), A("sched_get_priority_max"),
	A("sched_get_priority_min"), A("sched_rr_get_interval"),
	A("sched_getattr"), A("sched_setattr"), A("ioprio_get"),
	A("ioprio_set"), A("capget"), A("setuid"), A("setgid"),
	A("setreuid"), A("setregid"), A("setresuid"), A("setresgid"),
	A("setfsuid"), A("setfsgid"), A("setgroups"), A("arch_prctl"),
	A("prctl"), A("prlimit64"), A("getrlimit"), A("setrlimit"),
	A("futex_waitv"), A("get_mempolicy"), A("set_mempolicy"),
	A("mbind"), A("close_range"),
	A("landlock_create_ruleset"), A("landlock_add_rule"),
	A("landlock_restrict_self"), A("seccomp"),
};

/* Only the command sandbox's setup (the tool-local runner) needs these. */
static const struct sbx_rule g_ns_setup[] = {
	A("unshare"), A("mount"), A("umount2"), A("mount_setattr"),
	A("open_tree"), A("move_mount"), A("pivot_root"), A("sethostname"),
	A("capset"),
};

/*
 * The always-denied set, as EPERM, for default-allow filters (the
 * command sandbox); default-deny profiles simply never allow them.
 */
static const struct sbx_rule g_deny_eperm[] = {
	EP("io_uring_setup"), EP("io_uring_enter"), EP("io_uring_register"),
	EP("ptrace"), EP("process_vm_readv"), EP("process_vm_writev"),
	EP("bpf"), EP("perf_event_open"), EP("userfaultfd"), EP("keyctl"),
	EP("add_key"), EP("request_key"), EP("mount"), EP("umount2"),
	EP("mount_setattr"), EP("open_tree"), EP("move_mount"),
	EP("fsopen"), EP("fsconfig"), EP("fsmount"), EP("fspick"),
	EP("pivot_root"), EP("chroot"), EP("unshare"), EP("setns"),
	EP("kexec_load"), EP("kexec_file_load"), EP("init_module"),
	EP("finit_module"), EP("delete_module"), EP("reboot"),
	EP("personality"), EP("open_by_handle_at"), EP("name_to_handle_at"),
	EP("swapon"), EP("swapoff"), EP("acct"), EP("quotactl"),
	EP("syslog"), EP("settimeofday"), EP("clock_settime"),
	EP("clock_adjtime"), EP("adjtimex"), EP("sethostname"),
	EP("setdomainname"), EP("iopl"), EP("ioperm"), EP("vhangup"),
	EP("lookup_dcookie"), EP("fanotify_init"), EP("pidfd_getfd"),
	EP("kcmp"), EP("move_pages"), EP("migrate_pages"),
	EP("uselib"), EP("ustat"), EP("sysfs"), EP("_sysctl"),
	EP("nfsservctl"), EP("create_module"), EP("get_kernel_syms"),
	EP("query_module"),
	/* Its own namespaces are not for the command to make. */
	{ "clone", R_EPERM, 1, { M(0, CLONE_NEWUSER, CLONE_NEWUSER) } },
	{ "clone", R_EPERM, 1, { M(0, CLONE_NEWNS, CLONE_NEWNS) } },
	{ "clone", R_EPERM, 1, { M(0, CLONE_NEWNET, CLONE_NEWNET) } },
	{ "clone", R_EPERM, 1, { M(0, CLONE_NEWPID, CLONE_NEWPID) } },
	/* clone3 hides its flags in memory: make libc fall back to clone. */
	NOSYS("clone3"),
	/* TIOCSTI/TIOCLINUX push input into a terminal. */
	{ "ioctl", R_EPERM, 1, { M(1, 0xffffffffu, TIOCSTI) } },
	{ "ioctl", R_EPERM, 1, { M(1, 0xffffffffu, TIOCLINUX) } },
};

/*
 * Commands create no named-socket clients: connect() to a UNIX socket
 * path is not stopped by a read-only mount or by landlock, and the host
 * has root's sockets (docker, systemd, tmux) in places no list of hidden
 * paths covers. socketpair() stays. Without network, no socket at all.
 */
static const struct sbx_rule g_cmd_nonet[] = {
	EP("socket"),
};

static const struct sbx_rule g_cmd_net[] = {
	{ "socket", R_EPERM, 1, { C(0, SCMP_CMP_EQ, AF_UNIX) } },
	{ "socket", R_EPERM, 1, { C(0, SCMP_CMP_EQ, AF_PACKET) } },
};

#define GRP(name, a) [name] = { #name, a, nitems(a) }
const struct sbx_group_def sbx_groups[G_MAX] = {
	GRP(G_BASE, g_base), GRP(G_MEMORY, g_memory),
	GRP(G_SIGNAL, g_signal), GRP(G_EVENT, g_event),
	GRP(G_FDIO, g_fdio), GRP(G_SOCKIO, g_sockio),
	GRP(G_PATH_DENY, g_path_deny), GRP(G_FILE_RO, g_file_ro),
	GRP(G_FILE_RW, g_file_rw), GRP(G_THREAD, g_thread),
	GRP(G_NET_CLIENT, g_net_client),
	GRP(G_PROCESS, g_process), GRP(G_SYSTEM, g_system),
	GRP(G_NS_SETUP, g_ns_setup), GRP(G_DENY_EPERM, g_deny_eperm),
	GRP(G_CMD_NONET, g_cmd_nonet), GRP(G_CMD_NET, g_cmd_net),
	GRP(G_SOCK_UNIX, g_sock_unix), GRP(G_SOCK_NONE, g_sock_none),
	GRP(G_SOCK_IP, g_sock_ip),
	GRP(G_SOCK_NET, g_sock_net),
};

#define CORE	(GB(G_BASE) | GB(G_MEMORY) | GB(G_SIGNAL) | GB(G_EVENT) | \
		 GB(G_FDIO) | GB(G_SOCKIO))
#define WORKER	(F_NNP | F_NODUMP | F_SCRUB_ENV | F_ARCH)
#define RUNNER	(CORE | GB(G_PROCESS) | GB(G_SYSTEM))

const struct sbx_prof sbx_profiles[SBX_MAX] = {
	{ SBX_NONE, "none", D_NONE, 0, LLK_NONE, 0 },
	{ SBX_SUPERVISOR, "supervisor", D_NONE, 0, LLK_NONE, F_NODUMP },
	{ SBX_AGENT, "agent", D_KILL, CORE | GB(G_PATH_DENY), LLK_DENY_ALL,
	    WORKER | F_NOFORK },
	{ SBX_FETCH, "llm-fetch", D_KILL, CORE | GB(G_FILE_RO) |
	    GB(G_THREAD) | GB(G_NET_CLIENT), LLK_RESOLVER, WORKER | F_NOFORK },
	{ SBX_STORE, "store", D_KILL, CORE | GB(G_FILE_RW) | GB(G_THREAD),
	    LLK_HOME, WORKER | F_NOFORK },
	{ SBX_TOOL_LOCAL, "tool-local", D_KILL, RUNNER | GB(G_NS_SETUP),
	    LLK_SCOPE, WORKER | F_OWN_USERNS | F_NET_BY_CTX },
	{ SBX_TOOL_CMD, "tool-cmd", D_ALLOW, GB(G_DENY_EPERM), LLK_NONE,
	    F_NNP | F_ARCH },
	{ SBX_TOOL_DOCKER, "tool-docker", D_KILL, RUNNER | GB(G_SOCK_UNIX),
	    LLK_READ_ALL, WORKER | F_OWN_USERNS },
	{ SBX_TOOL_SSH, "tool-ssh", D_KILL, RUNNER | GB(G_SOCK_NET),
	    LLK_READ_ALL_NET, WORKER | F_OWN_USERNS | F_KEEP_NET },
	{ SBX_BRIDGE, "bridge", D_KILL, CORE | GB(G_FILE_RO) |
	    GB(G_THREAD) | GB(G_NET_CLIENT), LLK_RESOLVER, WORKER | F_NOFORK },
	{ SBX_WEB, "web", D_KILL, CORE | GB(G_FILE_RO) | GB(G_THREAD) |
	    GB(G_NET_CLIENT), LLK_RESOLVER, WORKER | F_NOFORK },
	{ SBX_CRON, "cron", D_KILL, CORE | GB(G_PATH_DENY), LLK_DENY_ALL,
	    WORKER | F_NOFORK },
};

const struct sbx_prof *
sbx_prof_get(enum sbx_profile p)
{
	if ((int)p < 0 || p >= SBX_MAX)
		return NULL;
	return &sbx_profiles[p];
}
