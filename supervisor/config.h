/*
 * HERMES_HOME/config.yaml and HERMES_HOME/.env, read by the supervisor only.
 *
 * config.yaml is parsed with libyaml's event API into a jansson tree (keys
 * in file order, YAML 1.1 scalars as PyYAML types them, unknown keys kept),
 * then the keys hermes-c implements are checked against a table; a wrong
 * type or value is reported as "FILE:LINE:COL: message". The whole tree
 * travels to workers as JSON (config_public_json(), secrets removed).
 *
 * Makefile lines for supervisor/module.mk (owned by the lead):
 *
 *   CONFIG_SRCS	:= supervisor/config.c supervisor/envfile.c
 *   # add $(call objs,$(CONFIG_SRCS)) to hermesd's objects and
 *   # jansson yaml-0.1 to its $(call libs,...)
 *   UNIT_TESTS	+= $(B)/tests/test_config $(B)/tests/test_config_env
 *   $(B)/tests/test_config: $(call objs,tests/unit/test_config.c \
 *   	$(CONFIG_SRCS)) $(LIBIPC)
 *   	$(LINK) $(call libs,jansson yaml-0.1 cmocka)
 *   $(B)/tests/test_config_env: $(call objs,tests/unit/test_config_env.c \
 *   	$(CONFIG_SRCS)) $(LIBIPC)
 *   	$(LINK) $(call libs,jansson yaml-0.1 cmocka)
 *   FUZZ_TARGETS	+= fuzz_config_yaml fuzz_config_env
 *   FUZZ_SRCS_fuzz_config_yaml = $(CONFIG_SRCS) $(IPC_SRCS)
 *   FUZZ_LIBS_fuzz_config_yaml = jansson yaml-0.1 libevent msgpack
 *   FUZZ_SRCS_fuzz_config_env = $(CONFIG_SRCS) $(IPC_SRCS)
 *   FUZZ_LIBS_fuzz_config_env = jansson yaml-0.1 libevent msgpack
 *
 * The tests read their fixtures from tests/fixtures/config/ relative to the
 * working directory (tests/run.sh runs from the top of the tree) or from
 * $HERMES_CONFIG_FIXTURES.
 */
#ifndef HERMES_CONFIG_H
#define HERMES_CONFIG_H

#include <sys/types.h>

#include <stddef.h>

#include <jansson.h>

#include "ipc/limits.h"

/* Bounds of this module (CFG_MAX_FILE and CFG_MAX_DEPTH: ipc/limits.h). */
#define CFG_MAX_NODES		100000	/* JSON nodes, aliases expanded */
#define CFG_MAX_ANCHORS		1024	/* distinct anchors in one file */
#define CFG_MAX_TENANTS		1024
#define CFG_MAX_ENV_VARS	4096	/* entries in one .env */
#define CFG_MAX_ERR		512	/* a useful size for error buffers */

#define CFG_SYSTEM_CONFIG	"/etc/hermes/config.yaml"

enum cfg_backend {
	CFG_BACKEND_LOCAL = 0,
	CFG_BACKEND_SSH,
	CFG_BACKEND_DOCKER,
};

enum cfg_approvals {
	CFG_APPROVALS_MANUAL = 0,
	CFG_APPROVALS_SMART,
	CFG_APPROVALS_OFF,
};

/* System mode: one tenant = one uid with its own HERMES_HOME. */
struct cfg_tenant {
	char		*name;
	uid_t		 uid;
	gid_t		 gid;		/* primary group of uid (passwd) */
	char		*home;		/* absolute */
};

struct cfg_pos;

struct hermes_config {
	char		*path;		/* the config.yaml looked at */
	int		 present;	/* it existed */
	json_t		*root;		/* the whole document (an object) */

	/* model: a string, or {default|model, provider, base_url, ...} */
	char		*model;		/* NULL: none configured */
	char		*provider;	/* "auto" by default */
	char		*base_url;	/* NULL: the provider's */
	char		*api_key;	/* model.api_key; NULL: from .env */
	int		 has_secrets;	/* config.yaml holds a secret value */

	enum cfg_backend backend;	/* terminal.backend */
	char		*terminal_cwd;	/* terminal.cwd, NULL: "." */
	long		 terminal_timeout;	/* seconds, default 180 */
	enum cfg_approvals approvals;	/* approvals.mode, default smart */
	long		 approvals_timeout;	/* seconds, default 60 */
	long		 max_turns;	/* agent.max_turns, default 90 */

	int		 sandbox_require;	/* sandbox.require, default 0 */
	int		 sandbox_network;	/* sandbox.network, default 0 */

	long		 max_clients_per_uid;	/* limits.max_clients_per_uid */
	long		 command_memory_mb;	/* limits.command_memory_mb, 0 */
	long		 command_max_procs;	/* limits.command_max_procs, 0 */

	struct cfg_tenant *tenants;	/* tenants: (system mode) */
	size_t		 ntenants;

	struct cfg_pos	*pos;		/* where each value is in the file */
};

/*
 * Read HERMES_HOME/config.yaml (home NULL: hermes_home()). An absent file
 * gives the defaults. 0, or -1 with "FILE:LINE:COL: message" (or
 * "FILE: message") in err.
 */
int	 config_load(const char *home, struct hermes_config **,
	    char *err, size_t errlen);
/*
 * System mode: root reads a tenant's HERMES_HOME/config.yaml; a file
 * holding secrets may then be owned by the tenant's uid (or root).
 */
int	 config_load_owner(const char *home, uid_t owner,
	    struct hermes_config **, char *err, size_t errlen);
/* Same for an explicit file (system mode: CFG_SYSTEM_CONFIG). */
int	 config_load_file(const char *path, struct hermes_config **,
	    char *err, size_t errlen);
/* Parse YAML text; `name` is used in messages. For tests and fuzzing. */
int	 config_parse(const char *name, const char *buf, size_t len,
	    struct hermes_config **, char *err, size_t errlen);
void	 config_free(struct hermes_config *);

/* The node at a dotted path ("terminal.backend"), or NULL. Borrowed. */
json_t	*config_get(const struct hermes_config *, const char *path);
/* Where the value at a dotted path starts (1-based); -1 if unknown. */
int	 config_where(const struct hermes_config *, const char *path,
	    unsigned *line, unsigned *col);
/*
 * The document as compact JSON for workers, with every secret-looking
 * value (api_key, *_api_key, *_token, *_secret, *password) removed.
 * Caller frees with free().
 */
char	*config_public_json(const struct hermes_config *);
/*
 * Call fn for every secret string that config_public_json() removes, by
 * dotted path ("model.api_key", "fallback_providers.0.api_key",
 * "mcp_servers.gh.env.GITHUB_TOKEN"): what llm-fetch (or whoever needs
 * one) gets in its CONFIG secrets map instead.
 */
typedef void (*cfg_secret_fn)(const char *path, const char *value, void *);
void	 config_foreach_secret(const struct hermes_config *, cfg_secret_fn,
	    void *);
/* The tenant of a uid, or NULL. */
const struct cfg_tenant *config_tenant_by_uid(const struct hermes_config *,
	    uid_t);
const char *config_backend_name(enum cfg_backend);
const char *config_approvals_name(enum cfg_approvals);

/*
 * A file that holds secrets must be a regular file, owned by the running
 * euid or root, and have no group/other permission bits. The path is
 * opened with O_NOFOLLOW (a symlink is refused) and checked through the
 * fd. 0 ok, -1 with a message saying how to fix it.
 */
int	 config_check_secrecy(const char *path, char *err, size_t errlen);
/* Same, also accepting `owner` (system mode: the tenant's uid). */
int	 config_check_secrecy_owner(const char *path, uid_t owner,
	    char *err, size_t errlen);
/* The check on an already open fd (path only for messages). */
int	 config_check_secrecy_fd(int fd, const char *path, uid_t owner,
	    char *err, size_t errlen);

/*
 * .env: KEY=VALUE lines (python-dotenv syntax: export, quotes, escapes
 * in double quotes, ${VAR} from earlier lines, # comments). Values live
 * in one mlock()ed, MADV_DONTDUMP mapping that is zeroed on free.
 */
struct env_var {
	char		*name;
	char		*value;		/* inside the locked mapping */
	unsigned	 line;
};

struct env_list {
	struct env_var	*vars;
	size_t		 nvars;
	unsigned char	*arena;		/* mmap()ed */
	size_t		 arenasz;
	size_t		 used;
	int		 locked;	/* mlock() succeeded */
};

/*
 * Read and check a .env (absent: an empty list, 0). The file must pass
 * config_check_secrecy_owner(path, owner); env_load uses the euid.
 */
int	 env_load(const char *path, struct env_list **, char *err,
	    size_t errlen);
int	 env_load_owner(const char *path, uid_t owner, struct env_list **,
	    char *err, size_t errlen);
/* Parse .env text (no permission check); for tests and fuzzing. */
int	 env_parse(const char *name, const char *buf, size_t len,
	    struct env_list **, char *err, size_t errlen);
const char *env_get(const struct env_list *, const char *name);
void	 env_list_free(struct env_list *);

#endif
