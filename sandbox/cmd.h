/*
 * The command sandbox: how tool-local runs one command.
 *
 *	struct sbx_cmd c = {
 *		.argv = argv, .envp = envp,		// envp: clean, no keys
 *		.workspace = "/srv/ws", .cwd = NULL,	// cwd NULL: workspace
 *		.home = home, .hide = hide,		// made invisible
 *		.network = 0,
 *		.limits = SBX_CMD_LIMITS_DEFAULT,
 *		.fd_in = -1, .fd_out = out[1], .fd_err = out[1],
 *	};
 *	struct sbx_cmd_info info;
 *	pid_t pid = sbx_cmd_spawn(&c, &info);	// -1: info.err says why
 *	...				// read out[0] until EOF
 *	waitpid(pid, &st, 0);		// the command's status (see below)
 *	sbx_cmd_release(pid);		// cleanup after reaping
 *
 * The returned pid is the init (pid 1) of a new pid namespace, not the
 * command itself: kill(pid, SIGKILL) kills the whole sandbox, every
 * background process included (0 orphans). When the command exits, the
 * init exits with the same status (a command killed by signal N makes
 * the init exit with 128 + N, as a shell reports it), and the kernel
 * kills whatever the command left running. The init also dies when the
 * calling process dies (PR_SET_PDEATHSIG). SIGTERM, SIGINT and SIGHUP
 * sent to the init are forwarded to the command's processes.
 *
 * Inside: new user, mount, pid, ipc and uts namespaces, plus an empty
 * network namespace (loopback down) unless `network` is set: a new one,
 * or, when the caller entered SBX_TOOL_LOCAL without network, the
 * runner's own empty one (a net ns costs ~1 ms to make). / is
 * mounted read-only, nosuid; the workspace is the only writable root;
 * /tmp, /dev/shm and /run are private tmpfs (the resolver file that
 * /etc/resolv.conf points to under /run is kept); /dev holds only null,
 * zero, full, random, urandom, tty, a private devpts and shm; /proc is
 * the new pid namespace's own; `home` (HERMES_HOME), every `hide` path,
 * /etc/shadow, /etc/gshadow, sshd's host keys and the credential stores
 * in the caller's $HOME (.ssh, .gnupg, .aws, .docker, .kube, .netrc, ...)
 * are covered by an empty read-only tmpfs (a file: by /dev/null). The
 * command runs as a non-root uid of its user namespace without
 * capabilities, with no_new_privs, the limits below, a cgroup (pids,
 * memory) where one can be made, landlock (read/exec everywhere, write
 * only the workspace, /tmp, /dev/shm and /dev; TCP denied when the
 * network is off; abstract UNIX sockets and signals scoped where the
 * kernel has it), and last, just before execve, the seccomp profile
 * SBX_TOOL_CMD (the always-denied set, and socket(): none without
 * network, no AF_UNIX or AF_PACKET with it, since connect() to a host
 * UNIX socket path is stopped neither by a read-only mount nor by
 * landlock; socketpair() works). Its session is new (setsid).
 *
 * The cgroup (pids.max, memory limit) belongs to the caller: the first
 * spawn moves the calling process into hermes-cmd/r<pid> and every
 * sandbox inherits it, so the limits cap the runner's commands together
 * (moving a process between cgroups costs an RCU grace period, ~10 ms
 * on cgroup v1, paid once instead of per command). Commands get
 * oom_score_adj 1000, so a memory bomb kills the command, not the
 * runner. Limit changes between spawns are written through.
 *
 * sbx_cmd_spawn() is synchronous up to the execve: it returns only once
 * the command is running, or with -1 when any step failed (including
 * execve itself, e.g. ENOENT), or when `require` is set and a mechanism
 * (cgroup, landlock) is unavailable.
 *
 * The calling process needs: clone with namespace flags, mount,
 * mount_setattr, open_tree, move_mount, setrlimit, prctl, seccomp,
 * landlock_*, execve (its own profile, SBX_TOOL_LOCAL, allows them).
 */
#ifndef HERMES_SANDBOX_CMD_H
#define HERMES_SANDBOX_CMD_H

#include <sys/types.h>

#include <stdint.h>

#define SBX_CMD_MAX_HIDE	16		/* entries of sbx_cmd.hide */
#define SBX_CMD_ERRLEN		256		/* sbx_cmd_info.err */

/* Per-command limits; 0 means "no limit of this kind". */
struct sbx_cmd_limits {
	unsigned	 cpu_s;		/* RLIMIT_CPU, seconds */
	uint64_t	 as_bytes;	/* RLIMIT_AS, per process */
	unsigned	 nproc;		/* cgroup pids.max (and RLIMIT_NPROC,
					   which the kernel ignores for root) */
	uint64_t	 fsize_bytes;	/* RLIMIT_FSIZE */
	unsigned	 nofile;	/* RLIMIT_NOFILE */
	uint64_t	 mem_bytes;	/* cgroup memory limit, whole sandbox */
};

/* cpu 180 s, 4 GiB AS, 256 processes, 1 GiB files, 1024 fds, 2 GiB mem. */
#define SBX_CMD_LIMITS_DEFAULT { 180, 4ull << 30, 256, 1ull << 30, 1024, \
	2ull << 30 }

struct sbx_cmd {
	char *const	 *argv;		/* argv[0]: a path, or a name looked
					   up in envp's PATH */
	char *const	 *envp;		/* the whole environment: already
					   clean, no keys; NULL = empty */
	const char	 *cwd;		/* start directory (inside the sandbox
					   view); NULL = workspace */
	const char	 *workspace;	/* required: the only writable root */
	const char	 *home;		/* HERMES_HOME; NULL: none to hide */
	const char *const *hide;	/* NULL-terminated extra paths to hide
					   (the supervisor's runtime/socket
					   dir, secrets), or NULL */
	int		  network;	/* 0: no network (default) */
	int		  require;	/* 1: fail instead of degrading */
	struct sbx_cmd_limits limits;
	int		  fd_in;	/* become 0, 1, 2; -1: /dev/null. */
	int		  fd_out;	/* All other fds are closed in the */
	int		  fd_err;	/* command. */
	int		  exec_fd;	/* > 0: execveat() this fd (an ELF
					   program opened before, e.g. a
					   helper the view hides, like one
					   under /tmp); 0: exec argv[0] */
};

/* What a spawn enforced (or why it failed). */
struct sbx_cmd_info {
	int		 userns;	/* 1 when each was set up */
	int		 netns;
	int		 cgroup;	/* pids+memory limits in force */
	int		 landlock_abi;	/* 0: no landlock */
	int		 seccomp;
	char		 err[SBX_CMD_ERRLEN];	/* "" or the failed step */
};

/*
 * Start argv in a fresh command sandbox. Returns the pid of the
 * sandbox's init (a child of the caller: reap it with waitpid), or -1
 * with info->err set (info may be NULL). SIGCHLD of the caller must not
 * be SIG_IGN.
 */
pid_t	 sbx_cmd_spawn(const struct sbx_cmd *, struct sbx_cmd_info *);
/* kill(pid, SIGKILL): the init, hence the whole sandbox. 0 or -1. */
int	 sbx_cmd_kill(pid_t);
/* After reaping `pid`: remove what it left behind (nothing for a
 * command; the cgroup of a runner process that used sbx_cmd_spawn). */
void	 sbx_cmd_release(pid_t);
/* What sbx_cmd_spawn would enforce on this kernel, as JSON text
 * (caller frees). NULL on allocation failure. */
char	*sbx_cmd_probe_json(void);

#endif
