/*
 * hermesd: the privileged supervisor of hermes-c.
 *
 *	hermesd [-dnsv]
 *	  -d  stay in the foreground, log to stderr
 *	  -n  check the configuration (and what the sandbox can enforce), exit
 *	  -s  system mode: serve the tenants of /etc/hermes/config.yaml
 *	  -v  more verbose (twice: debug)
 */
#include <sys/prctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "sandbox/sandbox.h"
#include "supervisor/config.h"
#include "supervisor/sup.h"

struct sup	 sup;

static struct event	*ev_grace;

static void
usage(void)
{
	fprintf(stderr, "usage: hermesd [-dnsv]\n");
	exit(2);
}

static int
load_tenant(struct tenant *t, char *err, size_t errlen)
{
	struct hermes_config	*cfg = NULL;
	struct env_list		*env = NULL;
	char			 path[4096 + 16];

	/* A config.yaml holding a key must be the tenant's and private. */
	if (config_load_owner(t->home, t->uid, &cfg, err, errlen) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/.env", t->home);
	if (env_load_owner(path, t->uid, &env, err, errlen) == -1) {
		config_free(cfg);
		return -1;
	}
	config_free(t->cfg);
	env_list_free(t->env);
	free(t->config_json);
	t->cfg = cfg;
	t->env = env;
	t->config_json = config_public_json(cfg);
	return 0;
}

static void
setup_tenants(void)
{
	struct hermes_config	*sys;
	struct passwd		*pw;
	const char		*syspath;
	char			 err[CFG_MAX_ERR];
	size_t			 i;

	if (!sup.system_mode) {
		sup.ntenants = 1;
		sup.tenants = xcalloc(1, sizeof(*sup.tenants));
		pw = getpwuid(geteuid());
		sup.tenants[0].name = xstrdup(pw != NULL ? pw->pw_name :
		    "default");
		sup.tenants[0].uid = geteuid();
		sup.tenants[0].gid = getegid();
		sup.tenants[0].home = xstrdup(sup.home);
		if (mkdir(sup.home, 0700) == -1 && errno != EEXIST)
			fatal("%s", sup.home);
		if (load_tenant(&sup.tenants[0], err, sizeof(err)) == -1)
			fatalx("%s", err);
		return;
	}
	/* HERMES_SYSTEM_CONFIG: another file (tests, staging). */
	if ((syspath = getenv("HERMES_SYSTEM_CONFIG")) == NULL ||
	    *syspath != '/')
		syspath = CFG_SYSTEM_CONFIG;
	if (config_load_file(syspath, &sys, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (sys->ntenants == 0)
		fatalx("%s: system mode needs a tenants: map", syspath);
	sup.ntenants = sys->ntenants;
	sup.tenants = xcalloc(sup.ntenants, sizeof(*sup.tenants));
	for (i = 0; i < sys->ntenants; i++) {
		struct tenant	*t = &sup.tenants[i];

		t->name = xstrdup(sys->tenants[i].name);
		t->uid = sys->tenants[i].uid;
		t->gid = sys->tenants[i].gid;
		t->home = xstrdup(sys->tenants[i].home);
		if (load_tenant(t, err, sizeof(err)) == -1)
			fatalx("tenant %s: %s", t->name, err);
	}
	config_free(sys);
}

/* ---- command_allowlist in config.yaml ---------------------------- */

static char *
yaml_quote(const char *s)
{
	size_t	 n = strlen(s), i, j = 0;
	char	*q = xmalloc(n * 4 + 3);

	q[j++] = '"';
	for (i = 0; i < n; i++) {
		unsigned char	 c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			q[j++] = '\\';
			q[j++] = (char)c;
		} else if (c < 0x20) {
			j += (size_t)sprintf(q + j, "\\x%02x", c);
		} else
			q[j++] = (char)c;
	}
	q[j++] = '"';
	q[j] = '\0';
	return q;
}

static char *
read_all(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf;
	long	 n;

	if ((f = fopen(path, "re")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == -1 || (n = ftell(f)) < 0 ||
	    n > CFG_MAX_FILE || fseek(f, 0, SEEK_SET) == -1) {
		fclose(f);
		return NULL;
	}
	buf = xmalloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	fclose(f);
	return buf;
}

static int
write_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
	char	 tmp[4096 + 32];
	int	 fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, mode)) == -1)
		return -1;
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) == -1) {
		close(fd);
		(void)unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) == -1) {
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

int
sup_allowlist_add(struct tenant *t, const char *pattern)
{
	struct hermes_config	*cfg;
	json_t			*list, *v;
	char			 path[4096 + 16], err[CFG_MAX_ERR];
	char			*old = NULL, *q, *out, *line, *rest;
	size_t			 len = 0, i;
	struct stat		 st;
	mode_t			 mode = 0600;

	list = config_get(t->cfg, "command_allowlist");
	json_array_foreach(list, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v),
		    pattern) == 0)
			return 0;
	snprintf(path, sizeof(path), "%s/config.yaml", t->home);
	if (stat(path, &st) == 0)
		mode = st.st_mode & 0777;
	if ((old = read_all(path, &len)) == NULL)
		old = xstrdup("");
	q = yaml_quote(pattern);
	/* A top-level "command_allowlist:" line: add an item below it. */
	line = strstr(old, "\ncommand_allowlist:");
	if (line != NULL)
		line++;
	else if (strncmp(old, "command_allowlist:", 18) == 0)
		line = old;
	if (line != NULL) {
		rest = line + 18;
		while (*rest == ' ' || *rest == '\t')
			rest++;
		if (strncmp(rest, "[]", 2) == 0)
			xasprintf(&out, "%.*s\n  - %s%s", (int)(rest - old), old,
			    q, rest + 2);
		else if (*rest == '\n' || *rest == '\0' || *rest == '#') {
			char	*eol = strchr(rest, '\n');

			if (eol == NULL)
				xasprintf(&out, "%s\n  - %s\n", old, q);
			else
				xasprintf(&out, "%.*s\n  - %s%s",
				    (int)(eol - old), old, q, eol);
		} else {
			free(q);
			free(old);
			log_warnx("config.yaml: command_allowlist is not a "
			    "block list; add \"%s\" by hand", pattern);
			return -1;
		}
	} else
		xasprintf(&out, "%s%scommand_allowlist:\n  - %s\n", old,
		    (len > 0 && old[len - 1] != '\n') ? "\n" : "", q);
	free(q);
	/* Never write a file that no longer parses. */
	if (config_parse(path, out, strlen(out), &cfg, err, sizeof(err)) ==
	    -1) {
		log_warnx("allowlist: %s", err);
		free(out);
		free(old);
		return -1;
	}
	config_free(cfg);
	if (write_atomic(path, out, strlen(out), mode) == -1) {
		log_warn("%s", path);
		free(out);
		free(old);
		return -1;
	}
	log_info("command_allowlist: added %s", pattern);
	free(out);
	free(old);
	return load_tenant(t, err, sizeof(err));
}

/* ---- doctor ------------------------------------------------------- */

char *
sup_doctor_json(struct tenant *t)
{
	json_t		*doc, *roles, *r, *secrets, *rep;
	struct proc	*p;
	char		*s;
	size_t		 i;
	int		 role;

	doc = json_object();
	json_object_set_new(doc, "hermesd", json_pack("{s:i,s:i,s:s,s:b}",
	    "pid", (int)getpid(), "protocol", IPC_PROTOCOL_VERSION,
	    "socket", sup.sockpath, "sandbox", sup.sandbox_on));
	json_object_set_new(doc, "config", json_pack("{s:s,s:b,s:s?,s:s?,"
	    "s:s?,s:s,s:s,s:b}", "path", t->cfg->path, "present",
	    t->cfg->present, "model", t->cfg->model, "provider",
	    t->cfg->provider, "base_url", t->cfg->base_url, "backend",
	    config_backend_name(t->cfg->backend), "approvals",
	    config_approvals_name(t->cfg->approvals), "sandbox_require",
	    t->cfg->sandbox_require));
	secrets = json_array();
	for (i = 0; t->env != NULL && i < t->env->nvars; i++)
		json_array_append_new(secrets,
		    json_string(t->env->vars[i].name));
	json_object_set_new(doc, "secrets", secrets);
	roles = json_array();
	for (role = 0; role < ROLE_MAX; role++) {
		p = &t->procs[role];
		if (p->t == NULL || !t->active[role])
			continue;
		rep = p->sandbox != NULL ? json_loads(p->sandbox, 0, NULL) :
		    NULL;
		r = json_pack("{s:s,s:s,s:s,s:i,s:i,s:o}", "role",
		    ipc_role_name(role), "program", p->bin, "state",
		    proc_state_name(p->state), "pid", (int)p->pid, "restarts",
		    p->restarts, "sandbox", rep != NULL ? rep : json_null());
		json_array_append_new(roles, r);
	}
	json_object_set_new(doc, "roles", roles);
	if (sandbox_probe_json(&s) == 0 && s != NULL) {
		json_object_set_new(doc, "kernel", json_loads(s, 0, NULL));
		free(s);
	}
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s != NULL ? s : xstrdup("{}");
}

/* ---- signals ------------------------------------------------------ */

static void
grace_cb(evutil_socket_t fd, short ev, void *arg)
{
	log_warnx("workers still running after %d ms: killing them",
	    SUP_GRACE_MS);
	proc_killall(SIGKILL);
}

static void
shutdown_begin(void)
{
	struct timeval	 tv = { SUP_GRACE_MS / 1000, (SUP_GRACE_MS % 1000) *
			    1000 };

	if (sup.shutting_down)
		return;
	sup.shutting_down = 1;
	log_info("shutting down");
	control_close();
	proc_shutdown_all();
	if (proc_all_dead()) {
		event_base_loopexit(sup.base, NULL);
		return;
	}
	ev_grace = evtimer_new(sup.base, grace_cb, NULL);
	(void)evtimer_add(ev_grace, &tv);
}

static void
reload(void)
{
	char	 err[CFG_MAX_ERR];
	size_t	 i;

	for (i = 0; i < sup.ntenants; i++) {
		struct tenant	*t = &sup.tenants[i];

		if (load_tenant(t, err, sizeof(err)) == -1) {
			log_warnx("reload: %s (keeping the old configuration)",
			    err);
			return;
		}
		t->procs[ROLE_TOOL].bin =
		    t->cfg->backend == CFG_BACKEND_SSH ? "hermes-tool-ssh" :
		    t->cfg->backend == CFG_BACKEND_DOCKER ?
		    "hermes-tool-docker" : "hermes-tool-local";
	}
	log_info("configuration reloaded: restarting workers");
	proc_restart_all();
}

static void
signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	switch (sig) {
	case SIGCHLD:
		proc_sigchld();
		if (sup.shutting_down && proc_all_dead())
			event_base_loopexit(sup.base, NULL);
		break;
	case SIGTERM:
	case SIGINT:
		shutdown_begin();
		break;
	case SIGHUP:
		if (!sup.shutting_down)
			reload();
		break;
	}
}

static void
heartbeat_cb(evutil_socket_t fd, short ev, void *arg)
{
	proc_heartbeat();
}

/* What this kernel can enforce, per role (hermesd -n). */
static void
print_probe(void)
{
	json_t		*doc;
	char		*text = NULL, *pretty;

	if (sandbox_probe_json(&text) == -1 || text == NULL) {
		printf("sandbox: probe failed\n");
		return;
	}
	if ((doc = json_loads(text, 0, NULL)) == NULL) {
		printf("sandbox: %s\n", text);
		free(text);
		return;
	}
	pretty = json_dumps(doc, JSON_INDENT(2));
	printf("sandbox (what this kernel enforces):\n%s\n",
	    pretty != NULL ? pretty : text);
	free(pretty);
	json_decref(doc);
	free(text);
}

static void
check_only(void)
{
	struct tenant	*t;
	size_t		 i;

	for (i = 0; i < sup.ntenants; i++) {
		t = &sup.tenants[i];
		printf("tenant %s (uid %d): %s %s\n", t->name, (int)t->uid,
		    t->cfg->path, t->cfg->present ? "ok" : "(absent: defaults)");
		printf("  model %s, provider %s%s%s, terminal %s, approvals "
		    "%s, sandbox.require %s\n",
		    t->cfg->model != NULL ? t->cfg->model : "(none)",
		    t->cfg->provider != NULL ? t->cfg->provider : "auto",
		    t->cfg->base_url != NULL ? ", base_url " : "",
		    t->cfg->base_url != NULL ? t->cfg->base_url : "",
		    config_backend_name(t->cfg->backend),
		    config_approvals_name(t->cfg->approvals),
		    t->cfg->sandbox_require ? "true" : "false");
		printf("  .env: %zu entries\n", t->env != NULL ?
		    t->env->nvars : (size_t)0);
	}
	print_probe();
}

int
main(int argc, char **argv)
{
	struct event	*ev_sig[4], *ev_hb;
	struct timeval	 hb = { SUP_HEARTBEAT_MS / 1000,
			    (SUP_HEARTBEAT_MS % 1000) * 1000 };
	const int	 sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
	const char	*sb, *le;
	char		 exe[4096];
	ssize_t		 n;
	int		 c, check = 0, pfd[2] = { -1, -1 }, i, nullfd;
	char		 ok = 1;

	log_init("hermesd", 0);
	sup.logfd = -1;
	while ((c = getopt(argc, argv, "dnsv")) != -1) {
		switch (c) {
		case 'd':
			sup.foreground = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 's':
			sup.system_mode = 1;
			break;
		case 'v':
			sup.verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_set_verbose(LOG_L_INFO + sup.verbose);
	sb = getenv("HERMES_SANDBOX");
	sup.sandbox_on = !(sb != NULL && strcmp(sb, "off") == 0);

	if ((le = getenv("HERMES_LIBEXEC")) != NULL && *le == '/')
		strlcpy(sup.libexec, le, sizeof(sup.libexec));
	else {
		if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) ==
		    -1)
			fatal("readlink /proc/self/exe");
		exe[n] = '\0';
		strlcpy(sup.libexec, dirname(exe), sizeof(sup.libexec));
	}
	if (hermes_home(sup.home, sizeof(sup.home)) == -1)
		fatalx("cannot tell HERMES_HOME");
	if (hermes_socket_path(sup.system_mode, sup.sockpath,
	    sizeof(sup.sockpath)) == -1)
		fatalx("cannot tell the control socket path");
	setup_tenants();
	if (check) {
		check_only();
		exit(0);
	}

	if (!sup.foreground) {
		if (pipe2(pfd, O_CLOEXEC) == -1)
			fatal("pipe");
		switch (fork()) {
		case -1:
			fatal("fork");
		case 0:
			close(pfd[0]);
			if (setsid() == -1)
				fatal("setsid");
			break;
		default:
			/* Return once the socket listens (or say why not). */
			close(pfd[1]);
			while ((n = read(pfd[0], &ok, 1)) == -1 &&
			    errno == EINTR)
				;
			exit(n == 1 ? 0 : 1);
		}
	}
	sup_log_open();
	if (!sup.foreground && (nullfd = open("/dev/null", O_RDWR)) != -1) {
		(void)dup2(nullfd, 0);
		(void)dup2(nullfd, 1);
		if (sup.logfd != -1)
			(void)dup2(sup.logfd, 2);
		if (nullfd > 2)
			close(nullfd);
	}
	(void)signal(SIGPIPE, SIG_IGN);
	if (sandbox_enter(SBX_SUPERVISOR, NULL) == -1)
		fatalx("supervisor hardening failed");
	if ((sup.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	sup.started_ms = now_ms();
	for (i = 0; i < 4; i++) {
		ev_sig[i] = evsignal_new(sup.base, sigs[i], signal_cb, NULL);
		if (ev_sig[i] == NULL || evsignal_add(ev_sig[i], NULL) == -1)
			fatalx("evsignal");
	}
	for (i = 0; i < (int)sup.ntenants; i++)
		proc_init_tenant(&sup.tenants[i]);
	if (control_listen() == -1)
		exit(1);
	log_info("hermes-c %s, protocol %d, listening on %s", HERMES_VERSION,
	    IPC_PROTOCOL_VERSION, sup.sockpath);
	proc_start_all();
	ev_hb = event_new(sup.base, -1, EV_PERSIST, heartbeat_cb, NULL);
	(void)event_add(ev_hb, &hb);
	if (pfd[1] != -1) {
		if (write(pfd[1], &ok, 1) != 1)
			log_warn("telling the parent we are ready");
		close(pfd[1]);
	}
	event_base_dispatch(sup.base);
	log_info("bye");
	return 0;
}
