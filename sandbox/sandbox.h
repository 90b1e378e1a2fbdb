/*
 * Per-role confinement. sandbox_enter() is the only entry point; one
 * table of profiles (sandbox/profiles.c) says what each role may do.
 */
#ifndef HERMES_SANDBOX_H
#define HERMES_SANDBOX_H

enum sbx_profile {
	SBX_NONE = 0,		/* tests only */
	SBX_SUPERVISOR,		/* light hardening: not dumpable, no core */
	SBX_AGENT,
	SBX_FETCH,
	SBX_STORE,
	SBX_TOOL_LOCAL,		/* the tool-local runner itself */
	SBX_TOOL_CMD,		/* what tool-local runs (command sandbox) */
	SBX_TOOL_DOCKER,
	SBX_TOOL_SSH,
	SBX_BRIDGE,
	SBX_WEB,
	SBX_CRON,
	SBX_MAX
};

struct sbx_ctx {
	const char	*home;		/* HERMES_HOME (store's only root) */
	const char	*workspace;	/* tool roots */
	int		 require;	/* sandbox.require: fail when degraded */
	int		 network;	/* command sandbox: network on */
	/* NULL-terminated extra paths the role may write beneath (landlock
	 * roles: e.g. tool-ssh's ControlPath directory), or NULL. */
	const char *const *rw_extra;
};

/*
 * Confine the calling process. Returns 0, or -1 with a message logged
 * when confinement failed (or is degraded and ctx->require is set): the
 * caller must then exit. HERMES_SANDBOX=off (sanitizer runs) skips it.
 */
int		 sandbox_enter(enum sbx_profile, const struct sbx_ctx *);
const char	*sandbox_profile_name(enum sbx_profile);
/* What the last sandbox_enter() enforced, as a JSON object text (static). */
const char	*sandbox_report(void);
/*
 * What this kernel can enforce, per role and for the command sandbox,
 * without entering anything (hermesd -n, hermes doctor): a JSON object
 * text in *out (caller frees). 0, or -1 on allocation failure.
 */
int		 sandbox_probe_json(char **out);

#endif
