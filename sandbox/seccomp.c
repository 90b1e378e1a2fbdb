/*
 * Build a profile's libseccomp filter from its named groups, the raw arch
 * check, and the SANDBOX_DEBUG SIGSYS reporter.
 */
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/util.h"
#include "sandbox/sbx_int.h"

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT	0x40000000
#endif

static uint32_t
act_of(enum sbx_act a, uint32_t kill)
{
	switch (a) {
	case R_ALLOW:
		return SCMP_ACT_ALLOW;
	case R_EPERM:
		return SCMP_ACT_ERRNO(EPERM);
	case R_EACCES:
		return SCMP_ACT_ERRNO(EACCES);
	case R_ENOSYS:
		return SCMP_ACT_ERRNO(ENOSYS);
	case R_ENOTTY:
		return SCMP_ACT_ERRNO(ENOTTY);
	case R_KILL:
	default:
		return kill;
	}
}

/* Does any selected group hold an unconditional rule for `sys`? */
static const struct sbx_rule *
uncond(uint32_t groups, const char *sys)
{
	size_t	 g, i;

	for (g = 0; g < G_MAX; g++) {
		if (!(groups & GB(g)))
			continue;
		for (i = 0; i < sbx_groups[g].n; i++) {
			const struct sbx_rule *r = &sbx_groups[g].rules[i];

			if (r->n == 0 && strcmp(r->sys, sys) == 0)
				return r;
		}
	}
	return NULL;
}

static uint32_t
prof_groups(const struct sbx_prof *p, int network)
{
	uint32_t g = p->groups;

	if (p->flags & F_NET_BY_CTX)
		g |= network ? GB(G_SOCK_IP) : GB(G_SOCK_NONE);
	if (p->id == SBX_TOOL_CMD)
		g |= network ? GB(G_CMD_NET) : GB(G_CMD_NONET);
	return g;
}

/*
 * Rules of one syscall from several groups: an unconditional rule wins
 * over narrower ones (a broad group allows the whole call); two
 * unconditional rules must agree.
 */
static int
add_rules(scmp_filter_ctx ctx, uint32_t groups, uint32_t kill, int *count)
{
	struct scmp_arg_cmp	 cmp[3];
	const struct sbx_rule	*u;
	size_t			 g, i;
	unsigned		 k;
	int			 nr, rc;
	uint64_t		 self = (uint64_t)getpid();

	for (g = 0; g < G_MAX; g++) {
		if (!(groups & GB(g)))
			continue;
		for (i = 0; i < sbx_groups[g].n; i++) {
			const struct sbx_rule *r = &sbx_groups[g].rules[i];

			nr = seccomp_syscall_resolve_name(r->sys);
			if (nr == __NR_SCMP_ERROR || nr < 0)
				continue;	/* not on this arch/libseccomp */
			u = uncond(groups, r->sys);
			if (u != NULL && r->n > 0)
				continue;
			if (u != NULL && u->act != r->act) {
				log_warnx("sandbox: %s: conflicting rules",
				    r->sys);
				return -EINVAL;
			}
			for (k = 0; k < r->n; k++) {
				cmp[k].arg = r->c[k].arg;
				cmp[k].op = r->c[k].op;
				cmp[k].datum_a = r->c[k].a == SBX_SELF ?
				    self : r->c[k].a;
				cmp[k].datum_b = r->c[k].b;
			}
			rc = seccomp_rule_add_array(ctx, act_of(r->act, kill),
			    nr, r->n, cmp);
			if (rc == -EEXIST)
				continue;
			if (rc != 0) {
				log_warnx("sandbox: rule %s (%s): %s", r->sys,
				    sbx_groups[g].name, strerror(-rc));
				return rc;
			}
			(*count)++;
		}
	}
	return 0;
}

static int
build(const struct sbx_prof *p, int network, int debug, int *nrules,
    scmp_filter_ctx *out)
{
	scmp_filter_ctx	 ctx;
	uint32_t	 kill = debug ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS;
	uint32_t	 dflt;
	int		 rc, count = 0;

	*nrules = 0;
	dflt = p->dflt == D_ALLOW ? SCMP_ACT_ALLOW : kill;
	if ((ctx = seccomp_init(dflt)) == NULL)
		return -ENOMEM;
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS)) != 0 ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0)) != 0 ||
	    (rc = add_rules(ctx, prof_groups(p, network), kill,
	    &count)) != 0) {
		seccomp_release(ctx);
		return rc;
	}
	*nrules = count;
	*out = ctx;
	return 0;
}

int
sbx_seccomp_load(const struct sbx_prof *p, int network, int debug,
    int *nrules)
{
	scmp_filter_ctx	 ctx;
	int		 rc;

	*nrules = 0;
	if (p->dflt == D_NONE)
		return 0;
	if ((rc = build(p, network, debug, nrules, &ctx)) != 0)
		return rc;
	rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
}

int
sbx_seccomp_compile(const struct sbx_prof *p, int network,
    struct sock_fprog *prog)
{
	scmp_filter_ctx	 ctx;
	struct sock_filter *f = NULL;
	size_t		 len = 0, cap = 0;
	ssize_t		 n;
	int		 rc, nrules, fd[2];

	memset(prog, 0, sizeof *prog);
	if (p->dflt == D_NONE)
		return 0;
	if ((rc = build(p, network, 0, &nrules, &ctx)) != 0)
		return rc;
	if (pipe2(fd, O_CLOEXEC) == -1) {
		rc = -errno;
		seccomp_release(ctx);
		return rc;
	}
	/* A filter of BPF_MAXINSNS fits in a pipe's 64 KiB buffer. */
	rc = seccomp_export_bpf(ctx, fd[1]);
	seccomp_release(ctx);
	close(fd[1]);
	while (rc == 0) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			f = xreallocarray(f, cap, 1);
		}
		if ((n = read(fd[0], (char *)f + len, cap - len)) == -1) {
			if (errno == EINTR)
				continue;
			rc = -errno;
		} else if (n == 0)
			break;
		else
			len += (size_t)n;
	}
	close(fd[0]);
	if (rc != 0 || len == 0 || len % sizeof *f != 0) {
		free(f);
		return rc ? rc : -EINVAL;
	}
	prog->filter = f;
	prog->len = (unsigned short)(len / sizeof *f);
	return 0;
}

int
sbx_seccomp_install(const struct sock_fprog *prog)
{
	if (prog->len == 0)
		return 0;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) == -1)
		return -errno;
	return 0;
}

/*
 * Kill anything that is not a native x86_64 call: other audit arches
 * (i386 via int $0x80) and x32 numbers. Stacked with the profile's own
 * filter, independent of how libseccomp lays out its arch checks.
 */
int
sbx_arch_filter(void)
{
#if defined(__x86_64__)
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, __X32_SYSCALL_BIT, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = nitems(f), .filter = f };

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == -1)
		return -errno;
	return 0;
#else
	return 0;	/* libseccomp's own arch check covers others */
#endif
}

static void
sigsys_report(int sig, siginfo_t *si, void *uctx)
{
	char		 buf[160];
	char		*name;
	int		 n;

	(void)uctx;
	/* Debug only: we are about to die, allocation is acceptable. */
	name = seccomp_syscall_resolve_num_arch(si->si_arch, si->si_syscall);
	n = snprintf(buf, sizeof buf, "%s[%d]: sandbox: syscall %s (%d, "
	    "arch 0x%x) denied by the seccomp filter\n", log_procname() ?
	    log_procname() : "hermes", (int)getpid(), name ? name : "?",
	    si->si_syscall, si->si_arch);
	if (n > 0)
		(void)!write(STDERR_FILENO, buf, (size_t)n < sizeof buf ?
		    (size_t)n : sizeof buf - 1);
	/* Die of SIGSYS once the handler returns. */
	signal(sig, SIG_DFL);
	(void)!kill(getpid(), sig);
}

int
sbx_debug_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = sigsys_report;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1)
		return -errno;
	return 0;
}
