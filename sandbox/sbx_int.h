/*
 * sandbox/ internals: the profile table, syscall groups, landlock.
 */
#ifndef HERMES_SBX_INT_H
#define HERMES_SBX_INT_H

#include <stddef.h>
#include <stdint.h>

#include <seccomp.h>

#include "sandbox/sandbox.h"

/* Actions of a rule. */
enum sbx_act { R_ALLOW, R_EPERM, R_EACCES, R_ENOSYS, R_ENOTTY, R_KILL };

#define SBX_SELF	UINT64_MAX	/* a comparison value: getpid() */

struct sbx_cmp {
	unsigned		 arg;
	enum scmp_compare	 op;
	uint64_t		 a;	/* value, or mask for MASKED_EQ */
	uint64_t		 b;	/* value for MASKED_EQ */
};

struct sbx_rule {
	const char	*sys;
	enum sbx_act	 act;
	unsigned	 n;
	struct sbx_cmp	 c[3];
};

/* Named syscall groups (as systemd's @groups). */
enum sbx_group {
	G_BASE,		/* exit, futex, ids, clocks, sleeping, rseq */
	G_MEMORY,	/* heap growth; never an executable mapping */
	G_SIGNAL,	/* handlers, masks, signals to itself only */
	G_EVENT,	/* epoll, poll, eventfd, pipes, timerfd */
	G_FDIO,		/* I/O and stat on fds already held */
	G_SOCKIO,	/* I/O on sockets already held, socketpair(AF_UNIX) */
	G_PATH_DENY,	/* path lookups answer EACCES (libc probes) */
	G_FILE_RO,	/* open read-only, stat, readdir (landlock: where) */
	G_FILE_RW,	/* create, write, sync, rename, unlink (landlock) */
	G_THREAD,	/* clone(CLONE_THREAD...) only; clone3 -> ENOSYS */
	G_NET_CLIENT,	/* socket(AF_INET/6, stream/dgram), connect */
	G_PROCESS,	/* fork, exec, wait, signals to anyone */
	G_SYSTEM,	/* the broad set ordinary programs use */
	G_NS_SETUP,	/* namespaces, mounts, limits, filters: cmd setup */
	G_DENY_EPERM,	/* the always-denied set, as EPERM (default-allow) */
	G_CMD_NONET,	/* command without network: socket() -> EPERM */
	G_CMD_NET,	/* command with network: AF_UNIX, AF_PACKET EPERM */
	G_SOCK_UNIX,	/* tool-docker: socket(AF_UNIX) only */
	G_SOCK_NET,	/* tool-ssh: UNIX (ControlMaster), INET, INET6 */
	G_SOCK_NONE,	/* tool-local, network off: no socket() */
	G_SOCK_IP,	/* tool-local, network on: INET, INET6 */
	G_MAX
};

#define GB(g)	(1u << (g))

struct sbx_group_def {
	const char		*name;
	const struct sbx_rule	*rules;
	size_t			 n;
};

/* Landlock policy kinds. */
enum sbx_ll {
	LLK_NONE,	/* not applied (the role mounts: landlock forbids it) */
	LLK_DENY_ALL,	/* no file access at all, no TCP */
	LLK_RESOLVER,	/* read CA bundle and resolver files; TCP connect */
	LLK_HOME,	/* read/write HERMES_HOME only; no TCP */
	LLK_READ_ALL,	/* read/exec everywhere, write workspace; no TCP */
	LLK_READ_ALL_NET,	/* the same with TCP connect */
	LLK_SCOPE		/* no fs rules (they forbid mounts): only
				   signal and abstract-socket scoping */
};

enum sbx_dflt { D_KILL, D_ALLOW, D_NONE };

#define F_NNP		0x01	/* no_new_privs */
#define F_NODUMP	0x02	/* PR_SET_DUMPABLE 0, RLIMIT_CORE 0 */
#define F_SCRUB_ENV	0x04	/* drop *KEY*, *TOKEN*, *SECRET*, ... */
#define F_ARCH		0x08	/* raw arch + x32 check filter */
#define F_OWN_USERNS	0x10	/* enter own user+mount ns (drop host caps) */
#define F_NOFORK	0x20	/* RLIMIT_NPROC 0 (non-root) */
#define F_NET_BY_CTX	0x40	/* G_SOCK_IP or G_SOCK_NONE per ctx->network;
				   own net ns when off */
#define F_KEEP_NET	0x80	/* F_OWN_USERNS: never a net ns of its own */

struct sbx_prof {
	enum sbx_profile	 id;
	const char		*name;
	enum sbx_dflt		 dflt;
	uint32_t		 groups;
	enum sbx_ll		 ll;
	unsigned		 flags;
};

extern const struct sbx_prof	 sbx_profiles[SBX_MAX];
extern const struct sbx_group_def sbx_groups[G_MAX];

const struct sbx_prof *sbx_prof_get(enum sbx_profile);

/*
 * Build and load a profile's seccomp filter (debug: trap instead of
 * kill). Returns 0 or -errno; on success *nrules is the rule count.
 */
int	 sbx_seccomp_load(const struct sbx_prof *, int network, int debug,
	    int *nrules);
struct sock_fprog;
/*
 * Compile a profile once (no SBX_SELF rules: the command profile) into
 * a BPF program (filter malloc'd), to install later, e.g. in a child
 * between fork and exec, with sbx_seccomp_install(). 0 or -errno.
 */
int	 sbx_seccomp_compile(const struct sbx_prof *, int network,
	    struct sock_fprog *);
int	 sbx_seccomp_install(const struct sock_fprog *);
/* The raw BPF arch check: kill anything not native x86_64 or x32. */
int	 sbx_arch_filter(void);
/* Install the SIGSYS reporter used with SANDBOX_DEBUG=1. */
int	 sbx_debug_handler(void);

/* Landlock. */
int	 sbx_ll_abi(void);	/* 0: unavailable */
struct sbx_ll_res {
	int	 abi;
	int	 rules;
	int	 fs, net, scoped;	/* what was handled */
	char	 err[128];
};
/*
 * Restrict the calling process per `kind`. 0 enforced, 1 landlock
 * unavailable (res->abi 0), -1 error (res->err).
 */
int	 sbx_ll_apply(enum sbx_ll kind, const char *home, const char *ws,
	    const char *const *extra_rw, struct sbx_ll_res *res);

/* view.c: hiding paths in a private mount namespace. */
#define SBX_HIDE_EXTRA	16
#define SBX_HIDE_HOME	16
#define SBX_HIDE_MAX	(2 + SBX_HIDE_EXTRA + SBX_HIDE_HOME + 8)
struct sbx_hides {
	const char	*p[SBX_HIDE_MAX];
	unsigned char	 done[SBX_HIDE_MAX];
	size_t		 n;
	char		 buf[SBX_HIDE_HOME][4096];
};
int	 sbx_under(const char *path, const char *dir);
int	 sbx_mkdirs(const char *path);
/* HERMES_HOME, extra paths, host secrets, the user's credential stores. */
void	 sbx_hides_build(struct sbx_hides *, const char *home,
	    const char *const *extra, const char *user_home, const char *ws);
/* Cover them, attach the cloned workspace (wsfd, may be -1), make the
 * covers read-only. 0, or -1 with why. */
int	 sbx_hides_apply(struct sbx_hides *, const char *ws, int wsfd,
	    char *why, size_t len);

/* Set by sandbox_enter() when the caller entered its own empty net ns. */
extern int	 sbx_own_netns;

/* Append a JSON string (quoted, escaped) to buf. */
void	 sbx_json_str(char *buf, size_t len, const char *s);

#endif
