/*
 * The command-sandbox battery: what a prompt-injected model would try
 * from the shell tool. Each case runs a shell script through
 * sbx_cmd_spawn() and judges the result from the host side (listener
 * counts, files on the host, output canaries, exit status); each has a
 * positive control that proves the harness can see the action happen.
 */
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/util.h"
#include "sandbox/cmd.h"
#include "sandbox/sandbox.h"
#include "tests/sandbox/escape.h"

#define OUTMAX	8192

/* ASan reserves terabytes of address space: no RLIMIT_AS under it (the
 * memory cgroup still caps the memory bomb). */
#ifdef HERMES_SANITIZE
#define TEST_AS	0
#else
#define TEST_AS	(512ull << 20)
#endif

static const struct esc_env *E;
static int	 tcp_fd, tcp_port, udp_fd, udp_port, unix_fd, abs_fd;
static char	 abs_name[64];

int
esc_listen_tcp(int *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof sin;
	int			 fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    listen(fd, 64) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) == -1) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

int
esc_listen_udp(int *port)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof sin;
	int			 fd;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) == -1) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

int
esc_listen_unix(const char *path, int abstract)
{
	struct sockaddr_un	 sun;
	socklen_t		 len;
	int			 fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (abstract) {
		strlcpy(sun.sun_path + 1, path, sizeof sun.sun_path - 1);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
		    strlen(path));
	} else {
		strlcpy(sun.sun_path, path, sizeof sun.sun_path);
		len = sizeof sun;
	}
	if (bind(fd, (struct sockaddr *)&sun, len) == -1 ||
	    listen(fd, 16) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
esc_drain(int fd, int dgram)
{
	char	 b[512];
	int	 n = 0, c;

	for (;;) {
		if (dgram) {
			if (recv(fd, b, sizeof b, MSG_DONTWAIT) < 0)
				break;
		} else {
			if ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) == -1)
				break;
			close(c);
		}
		n++;
	}
	return n;
}

/* Helper modes, run as commands inside (and outside) the sandbox. */
static int
h_connect_unix(const char *path, int abstract)
{
	struct sockaddr_un	 sun;
	socklen_t		 len;
	int			 fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return 1;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (abstract) {
		strlcpy(sun.sun_path + 1, path, sizeof sun.sun_path - 1);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
		    strlen(path));
	} else {
		strlcpy(sun.sun_path, path, sizeof sun.sun_path);
		len = sizeof sun;
	}
	return connect(fd, (struct sockaddr *)&sun, len) == -1 ? 1 : 0;
}

static int
h_count_procs(void)
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	if ((d = opendir("/proc")) == NULL)
		return 1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] >= '0' && de->d_name[0] <= '9')
			n++;
	closedir(d);
	printf("%d\n", n);
	return 0;
}

/* Fork until refused; children wait. Prints how many it got. */
static int
h_fork_bomb(int max)
{
	pid_t	 pid;
	int	 n = 0;

	for (n = 0; n < max; n++) {
		if ((pid = fork()) == -1)
			break;
		if (pid == 0) {
			pause();
			_exit(0);
		}
	}
	printf("%d\n", n);
	fflush(stdout);
	return 0;
}

static int
h_mem_bomb(long mib)
{
	char	*p;
	long	 i;

	for (i = 0; i < mib; i++) {
		if ((p = malloc(1 << 20)) == NULL) {
			printf("enomem at %ld MiB\n", i);
			return 3;
		}
		memset(p, 0x5a, 1 << 20);
	}
	printf("allocated %ld MiB\n", mib);
	return 0;
}

int
esc_helper(int argc, char **argv)
{
	if (strcmp(argv[1], "--connect-unix") == 0 && argc > 2)
		return h_connect_unix(argv[2], 0);
	if (strcmp(argv[1], "--connect-abstract") == 0 && argc > 2)
		return h_connect_unix(argv[2], 1);
	if (strcmp(argv[1], "--count-procs") == 0)
		return h_count_procs();
	if (strcmp(argv[1], "--fork-bomb") == 0 && argc > 2)
		return h_fork_bomb(atoi(argv[2]));
	if (strcmp(argv[1], "--mem-bomb") == 0 && argc > 2)
		return h_mem_bomb(atol(argv[2]));
	if (strcmp(argv[1], "--sleeper") == 0) {
		for (;;)
			pause();
	}
	fprintf(stderr, "unknown helper %s\n", argv[1]);
	return 2;
}

struct result {
	int	 status;	/* wait status of the init, or -1 */
	char	 out[OUTMAX];
	int	 spawned;
};

static char *const envp[] = {
	"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C",
#ifdef HERMES_SANITIZE
	/* LeakSanitizer's exit check needs ptrace, which is denied here. */
	"ASAN_OPTIONS=detect_leaks=0",
#endif
	NULL
};

/* Run `script` with /bin/sh, sandboxed or bare; collect output. */
static void
run_sh(const char *script, int sandboxed, const struct sbx_cmd_limits *lim,
    struct result *r)
{
	char *const		 argv[] = { "sh", "-c", (char *)script, NULL };
	const char *const	 hide[] = { E->run, NULL };
	struct sbx_cmd		 c;
	struct sbx_cmd_info	 info;
	struct sbx_cmd_limits	 dl = SBX_CMD_LIMITS_DEFAULT;
	size_t			 got = 0;

	if (TEST_AS == 0)
		dl.as_bytes = 0;
	ssize_t			 n;
	pid_t			 pid;
	int			 p[2];

	memset(r, 0, sizeof *r);
	r->status = -1;
	if (pipe2(p, O_CLOEXEC) == -1)
		fatal("pipe");
	fflush(NULL);
	if (sandboxed) {
		/*
		 * The production path: a runner child confines itself with
		 * the tool-local profile, then spawns the command sandbox.
		 */
		struct sbx_ctx	 ctx = { .home = E->home,
		    .workspace = E->ws, .require = E->require };
		pid_t		 init;
		int		 st;

		if ((pid = fork()) == -1)
			fatal("fork");
		if (pid == 0) {
			close(p[0]);
			if (sandbox_enter(SBX_TOOL_LOCAL, &ctx) == -1) {
				dprintf(p[1], "spawn: runner sandbox_enter "
				    "failed");
				_exit(125);
			}
			memset(&c, 0, sizeof c);
			c.argv = argv;
			c.envp = envp;
			c.workspace = E->ws;
			c.home = E->home;
			c.hide = hide;
			c.network = 0;
			c.require = E->require;
			c.limits = lim ? *lim : dl;
			c.fd_in = -1;
			c.fd_out = p[1];
			c.fd_err = p[1];
			init = sbx_cmd_spawn(&c, &info);
			if (init == -1) {
				dprintf(p[1], "spawn: %s", info.err);
				_exit(125);
			}
			close(p[1]);
			while (waitpid(init, &st, 0) == -1)
				if (errno != EINTR)
					_exit(124);
			sbx_cmd_release(init);
			_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 124);
		}
	} else {
		if ((pid = fork()) == -1)
			fatal("fork");
		if (pid == 0) {
			(void)dup2(p[1], 1);
			(void)dup2(p[1], 2);
			if (chdir(E->ws) == -1)
				_exit(126);
			execve("/bin/sh", argv, envp);
			_exit(127);
		}
	}
	r->spawned = 1;
	close(p[1]);
	while ((n = read(p[0], r->out + got, sizeof r->out - 1 - got)) > 0)
		if ((got += (size_t)n) >= sizeof r->out - 1)
			break;
	r->out[got] = '\0';
	close(p[0]);
	while (waitpid(pid, &r->status, 0) == -1)
		if (errno != EINTR)
			fatal("waitpid");
	if (sandboxed && WIFEXITED(r->status) && WEXITSTATUS(r->status) == 125)
		r->spawned = 0;
	if (sandboxed)
		sbx_cmd_release(pid);	/* the runner child's cgroup */
}

static int
exited0(const struct result *r)
{
	return r->status != -1 && WIFEXITED(r->status) &&
	    WEXITSTATUS(r->status) == 0;
}

static int
host_exists(const char *rel)
{
	char p[512];

	snprintf(p, sizeof p, "%s/%s", E->out, rel);
	return access(p, F_OK) == 0;
}

static void
host_rm(const char *rel)
{
	char p[512];

	snprintf(p, sizeof p, "%s/%s", E->out, rel);
	(void)unlink(p);
}

/* Processes on the host whose cmdline holds `mark`; kill=1 kills them. */
static int
host_procs(const char *mark, int killem)
{
	struct dirent	*de;
	DIR		*d;
	char		 p[300], b[1024];
	ssize_t		 n, i;
	int		 fd, count = 0;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof p, "/proc/%s/cmdline", de->d_name);
		if ((fd = open(p, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		n = read(fd, b, sizeof b - 1);
		close(fd);
		if (n <= 0)
			continue;
		for (i = 0; i < n; i++)
			if (b[i] == '\0')
				b[i] = ' ';
		b[n] = '\0';
		if (strstr(b, mark) == NULL)
			continue;
		count++;
		if (killem)
			(void)kill(atoi(de->d_name), SIGKILL);
	}
	closedir(d);
	return count;
}

/*
 * A case: `attack` runs sandboxed and must not achieve its effect;
 * `control` (usually the same script, bare) must achieve it.
 */
struct bcase {
	const char	*name;
	const char	*need;		/* binary that must exist, or NULL */
	int		(*fn)(int sandboxed);	/* 1 = the effect happened */
	int		 ctl_sandboxed;	/* control runs in the sandbox */
};

static char	 script[8192];

#define S(...)	snprintf(script, sizeof script, __VA_ARGS__)

static int
net_effect(int sandboxed)
{
	struct result r;

	run_sh(script, sandboxed, NULL, &r);
	return esc_drain(tcp_fd, 0) > 0;
}

static int b_curl(int s)
{
	S("curl -s -m 2 http://127.0.0.1:%d/ >/dev/null", tcp_port);
	return net_effect(s);
}
static int b_wget(int s)
{
	S("wget -q -T 2 -t 1 -O /dev/null http://127.0.0.1:%d/", tcp_port);
	return net_effect(s);
}
static int b_nc(int s)
{
	S("echo hi | nc -w 1 127.0.0.1 %d", tcp_port);
	return net_effect(s);
}
static int b_devtcp(int s)
{
	S("bash -c 'echo hi > /dev/tcp/127.0.0.1/%d'", tcp_port);
	return net_effect(s);
}

static int
b_dns(int s)
{
	struct result r;

	/* A DNS query to a resolver on loopback (bash /dev/udp). */
	S("bash -c 'printf \"\\x12\\x34\\x01\\x00\\x00\\x01\\x00\\x00"
	    "\\x00\\x00\\x00\\x00\\x07example\\x03com\\x00\\x00\\x01\\x00"
	    "\\x01\" > /dev/udp/127.0.0.1/%d'", udp_port);
	run_sh(script, s, NULL, &r);
	usleep(50000);
	return esc_drain(udp_fd, 1) > 0;
}

static int
b_getent(int s)
{
	struct result r;

	/* Name resolution through libc: only /etc/hosts works inside. */
	run_sh("getent ahosts localhost >/dev/null", s, NULL, &r);
	return exited0(&r);
}

static int
b_write_out(int s)
{
	struct result r;
	int e;

	S("echo x > %s/w1", E->out);
	run_sh(script, s, NULL, &r);
	e = host_exists("w1");
	host_rm("w1");
	return e;
}

static int
b_write_ws(int s)
{
	struct result r;

	/* The one writable root works (a control for the others). */
	S("echo x > %s/inws && cat %s/inws", E->ws, E->ws);
	run_sh(script, s, NULL, &r);
	return exited0(&r) && strcmp(r.out, "x\n") == 0;
}

static int
b_symlink(int s)
{
	struct result r;
	int e;

	S("rm -f l; ln -s %s/sym l && echo x > l", E->out);
	run_sh(script, s, NULL, &r);
	e = host_exists("sym");
	host_rm("sym");
	return e;
}

static int
b_hardlink(int s)
{
	struct result r;
	int e;

	S("rm -f hl; ln %s/.env hl && cat hl", E->home);
	run_sh(script, s, NULL, &r);
	e = strstr(r.out, "sk-canary") != NULL;
	S("%s/hl", E->ws);
	(void)unlink(script);
	return e;
}

static int
b_read_env(int s)
{
	struct result r;

	S("cat %s/.env; ls -A %s | sed 's/^/LS:/'", E->home, E->home);
	run_sh(script, s, NULL, &r);
	return strstr(r.out, "sk-canary") != NULL ||
	    strstr(r.out, "LS:.env") != NULL;
}

static int
b_read_config(int s)
{
	struct result r;

	S("cat %s/config.yaml", E->home);
	run_sh(script, s, NULL, &r);
	return strstr(r.out, "canary-config") != NULL;
}

static int
b_shadow(int s)
{
	struct result r;

	run_sh("cat /etc/shadow", s, NULL, &r);
	return strstr(r.out, "root:") != NULL;
}

static int
b_devices(int s)
{
	struct result r;

	/* Disks, kmsg, memory, consoles: only null/zero/tty & co remain. */
	run_sh("ls /dev | grep -E '^(sd|vd|xvd|nvme|loop|kmsg|mem|port|"
	    "console|tty[0-9])'", s, NULL, &r);
	return exited0(&r);
}

static int
b_unix_sock(int s)
{
	struct result r;

	S("%s --connect-unix %s/hermesd.sock", E->self, E->run);
	run_sh(script, s, NULL, &r);
	return esc_drain(unix_fd, 0) > 0;
}

static int	 other_fd;

static int
b_unix_other(int s)
{
	struct result r;

	/* A socket in no hidden directory: socket(AF_UNIX) itself fails. */
	S("%s --connect-unix %s/other.sock", E->self, E->out);
	run_sh(script, s, NULL, &r);
	return esc_drain(other_fd, 0) > 0;
}

static int
b_abstract(int s)
{
	struct result r;

	S("%s --connect-abstract %s", E->self, abs_name);
	run_sh(script, s, NULL, &r);
	return esc_drain(abs_fd, 0) > 0;
}

static int
b_procs(int s)
{
	struct result r;

	/* "Seeing other processes": more than the sandbox's own few. */
	S("%s --count-procs", E->self);
	run_sh(script, s, NULL, &r);
	return atoi(r.out) > 8;
}

static int
b_ps(int s)
{
	struct result r;

	run_sh("ps -e --no-headers | wc -l", s, NULL, &r);
	return atoi(r.out) > 8;
}

static int
b_setuid(int s)
{
	struct result r;

	/* A setuid copy of a shell must not give root (uid 0). */
	run_sh("cp /bin/bash /tmp/sb && chmod u+s /tmp/sb && "
	    "/tmp/sb -p -c 'id -u; id -u' && rm -f /tmp/sb", s, NULL, &r);
	return strncmp(r.out, "0\n", 2) == 0;
}

static int
b_nnp(int s)
{
	struct result r;

	run_sh("grep -q 'NoNewPrivs:.*0' /proc/self/status", s, NULL, &r);
	return exited0(&r);
}

static int
b_mount(int s)
{
	struct result r;

	S("mkdir -p m; mount -t tmpfs x m && touch m/marker && "
	    "ls m/marker");
	run_sh(script, s, NULL, &r);
	if (!s) {
		S("%s/m", E->ws);
		(void)umount2(script, MNT_DETACH);
	}
	return exited0(&r);
}

static int
b_unshare(int s)
{
	struct result r;

	run_sh("unshare -U -r true", s, NULL, &r);
	return exited0(&r);
}

static int
b_forkbomb(int s)
{
	struct sbx_cmd_limits	 l = SBX_CMD_LIMITS_DEFAULT;
	struct result		 r;

	l.nproc = 64;
	l.as_bytes = TEST_AS;
	S("%s --fork-bomb 2000", E->self);
	run_sh(script, s, &l, &r);
	/* Bare control: 40 forks show the helper works. */
	return s ? atoi(r.out) >= 200 : 0;
}

static int
b_fork_ok(int s)
{
	struct sbx_cmd_limits	 l = SBX_CMD_LIMITS_DEFAULT;
	struct result		 r;

	l.nproc = 64;
	l.as_bytes = TEST_AS;
	S("%s --fork-bomb 20", E->self);
	run_sh(script, s, &l, &r);
	return atoi(r.out) == 20;
}

static int
b_membomb(int s)
{
	struct sbx_cmd_limits	 l = SBX_CMD_LIMITS_DEFAULT;
	struct result		 r, r2;

	l.as_bytes = TEST_AS;
	l.mem_bytes = 256ull << 20;
	S("%s --mem-bomb 4096", E->self);
	run_sh(script, s, &l, &r);
	/* Only that command died: the next one runs fine. */
	run_sh("echo alive", s, &l, &r2);
	return exited0(&r) || strcmp(r2.out, "alive\n") != 0;
}

static int
b_mem_ok(int s)
{
	struct sbx_cmd_limits	 l = SBX_CMD_LIMITS_DEFAULT;
	struct result		 r;

	l.as_bytes = TEST_AS;
	l.mem_bytes = 256ull << 20;
	S("%s --mem-bomb 32", E->self);
	run_sh(script, s, &l, &r);
	return exited0(&r);
}

static int
b_orphan(int s)
{
	struct result	 r;
	char		 mark[64];
	int		 n;

	snprintf(mark, sizeof mark, "orphan-mark-%d-%d", (int)getpid(), s);
	S("%s --sleeper %s >/dev/null 2>&1 & sleep 0.1; exit 0", E->self,
	    mark);
	run_sh(script, s, NULL, &r);
	usleep(100000);
	n = host_procs(mark, 0);
	(void)host_procs(mark, 1);
	return n > 0;
}

/* Forbidden syscalls from inside the command sandbox (escape.c's
 * attempts, run by the helper): exit 1 (EPERM) or 159 (SIGSYS). */
static const char *const cmd_syscalls[] = {
	"ptrace other pid", "io_uring_setup", "bpf", "perf_event_open",
	"keyctl", "userfaultfd", "open_by_handle_at", "init_module",
	"reboot", "unshare user ns", "setns", "personality",
	"process_vm_readv", "chroot",
	"x32 getpid", "i386 int $0x80 getpid", "socket AF_PACKET",
	"socket AF_INET", "socket AF_NETLINK",
};

static int	 syscalls_failed;

static int
b_syscalls(int s)
{
	struct result	 r;
	size_t		 i, o = 0;
	char		 line[128];
	int		 code, hit = 0;

	o += (size_t)snprintf(script + o, sizeof script - o, "H=%s;", E->self);
	for (i = 0; i < nitems(cmd_syscalls) && o < sizeof script; i++)
		o += (size_t)snprintf(script + o, sizeof script - o,
		    " \"$H\" --attempt '%s' >/dev/null 2>&1; echo \"%zu=$?\";",
		    cmd_syscalls[i], i);
	run_sh(script, s, NULL, &r);
	syscalls_failed = 0;
	for (i = 0; i < nitems(cmd_syscalls); i++) {
		const char *p;

		snprintf(line, sizeof line, "%zu=", i);
		if ((p = strstr(r.out, line)) == NULL ||
		    (p != r.out && p[-1] != '\n')) {
			hit++;
			continue;
		}
		code = atoi(p + strlen(line));
		if (s && code != 1 && code != 128 + SIGSYS) {
			printf("  FAIL  command syscall %-24s exit %d\n",
			    cmd_syscalls[i], code);
			hit++;
		} else if (!s && code != 0) {
			printf("  FAIL  bare control syscall %-24s exit %d\n",
			    cmd_syscalls[i], code);
			syscalls_failed++;
		}
	}
	/* The bare run is the control: every call must work there. */
	return s ? hit > 0 : syscalls_failed == 0;
}

static const struct bcase cases[] = {
	{ "forbidden syscalls", NULL, b_syscalls, 0 },
	{ "curl to loopback", "curl", b_curl, 0 },
	{ "wget to loopback", "wget", b_wget, 0 },
	{ "nc to loopback", "nc", b_nc, 0 },
	{ "bash /dev/tcp loopback", "bash", b_devtcp, 0 },
	{ "dns query to loopback", "bash", b_dns, 0 },
	{ "write outside workspace", NULL, b_write_out, 0 },
	{ "symlink escape", NULL, b_symlink, 0 },
	{ "hardlink HERMES_HOME/.env", NULL, b_hardlink, 0 },
	{ "read HERMES_HOME/.env", NULL, b_read_env, 0 },
	{ "read config.yaml", NULL, b_read_config, 0 },
	{ "read /etc/shadow", NULL, b_shadow, 0 },
	{ "host devices in /dev", NULL, b_devices, 0 },
	{ "supervisor UNIX socket", NULL, b_unix_sock, 0 },
	{ "abstract UNIX socket", NULL, b_abstract, 0 },
	{ "UNIX socket elsewhere", NULL, b_unix_other, 0 },
	{ "see other processes", NULL, b_procs, 0 },
	{ "ps -e", "ps", b_ps, 0 },
	{ "setuid copy of bash", "bash", b_setuid, 0 },
	{ "no_new_privs off", NULL, b_nnp, 0 },
	{ "mount tmpfs", "mount", b_mount, 0 },
	{ "unshare -U -r", "unshare", b_unshare, 0 },
	{ "orphan left running", NULL, b_orphan, 0 },
	{ "fork bomb (pids cap 64)", NULL, b_forkbomb, -1 },
	{ "memory bomb (256 MiB)", NULL, b_membomb, -1 },
};

/* Positive controls that run inside the sandbox (harness + function). */
static const struct bcase inside_ok[] = {
	{ "write in workspace", NULL, b_write_ws, 1 },
	{ "getent /etc/hosts", "getent", b_getent, 1 },
	{ "20 forks", NULL, b_fork_ok, 1 },
	{ "32 MiB allocation", NULL, b_mem_ok, 1 },
};

static int
have(const char *bin)
{
	char		 p[256];
	const char	*dirs[] = { "/usr/local/bin", "/usr/bin", "/bin",
	    "/usr/sbin", "/sbin" };
	size_t		 i;

	for (i = 0; i < nitems(dirs); i++) {
		snprintf(p, sizeof p, "%s/%s", dirs[i], bin);
		if (access(p, X_OK) == 0)
			return 1;
	}
	return 0;
}

void
esc_battery(const struct esc_env *env, struct esc_row *row)
{
	struct result	 r;
	char		 p[512];
	size_t		 i;
	int		 h;

	E = env;
	memset(row, 0, sizeof *row);
	row->role = "command";
	if ((tcp_fd = esc_listen_tcp(&tcp_port)) == -1 ||
	    (udp_fd = esc_listen_udp(&udp_port)) == -1)
		fatal("listen");
	snprintf(p, sizeof p, "%s/hermesd.sock", E->run);
	if ((unix_fd = esc_listen_unix(p, 0)) == -1)
		fatal("listen %s", p);
	snprintf(p, sizeof p, "%s/other.sock", E->out);
	if ((other_fd = esc_listen_unix(p, 0)) == -1)
		fatal("listen %s", p);
	snprintf(abs_name, sizeof abs_name, "hermes-escape-%d", (int)getpid());
	if ((abs_fd = esc_listen_unix(abs_name, 1)) == -1)
		fatal("listen @%s", abs_name);

	/* Can the sandbox run at all? */
	run_sh("true", 1, NULL, &r);
	if (!r.spawned || !exited0(&r)) {
		printf("  %s  command sandbox unavailable: %s\n",
		    E->require ? "FAIL" : "skip", r.out);
		row->skipped = (int)nitems(cases);
		if (E->require)
			row->ctl_fail++;
		return;
	}
	for (i = 0; i < nitems(inside_ok); i++) {
		if (inside_ok[i].need && !have(inside_ok[i].need))
			continue;
		if (!inside_ok[i].fn(1)) {
			row->ctl_fail++;
			printf("  FAIL  command control %s\n",
			    inside_ok[i].name);
		}
	}
	for (i = 0; i < nitems(cases); i++) {
		const struct bcase *c = &cases[i];

		if (c->need && !have(c->need)) {
			printf("  skip  command %-26s %s is not installed\n",
			    c->name, c->need);
			row->skipped++;
			continue;
		}
		row->attempts++;
		if (c->ctl_sandboxed == 0 && !c->fn(0)) {
			row->ctl_fail++;
			printf("  FAIL  command control %s (bare run did not "
			    "succeed)\n", c->name);
		}
		h = c->fn(1);
		if (h) {
			row->allowed++;
			printf("  FAIL  command %-26s allowed\n", c->name);
		} else
			row->denied++;
	}
	close(tcp_fd);
	close(udp_fd);
	close(unix_fd);
	close(abs_fd);
	close(other_fd);
}
