/*
 * Subcommands other than the chat: status, doctor, stop (supervisor
 * modes), model and config (config.yaml, edited here as the user, then
 * SIGHUP to hermesd), sessions (CHAT_COMMAND "sessions" to the agent),
 * skills (read from HERMES_HOME/skills).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "cli/cli.h"
#include "cli/yamledit.h"

#define STATUS_MAX_ROWS	256

/* ---- config.yaml --------------------------------------------------- */

/* Read a whole file of at most max bytes (also /proc files, whose
 * st_size is 0). */
static int
read_file(const char *path, char **out, size_t max)
{
	char		*buf = NULL;
	size_t		 got = 0, cap = 0;
	ssize_t		 n;
	int		 fd, saved;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	for (;;) {
		if (got + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = xreallocarray(buf, 1, cap);
		}
		n = read(fd, buf + got, cap - got - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			free(buf);
			close(fd);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > max) {
			free(buf);
			close(fd);
			errno = EFBIG;
			return -1;
		}
	}
	close(fd);
	buf[got] = '\0';
	*out = buf;
	return 0;
}

char *
cli_config_read(const char *home)
{
	char	 path[PATH_MAX + 16], *text;

	snprintf(path, sizeof(path), "%s/config.yaml", home);
	if (read_file(path, &text, CFG_MAX_FILE) == -1)
		return NULL;
	return text;
}

int
cli_config_write(const char *home, const char *text, char *err,
    size_t errlen)
{
	char		 path[PATH_MAX + 16], tmp[PATH_MAX + 32], perr[256];
	struct stat	 st;
	mode_t		 mode = 0600;
	size_t		 len = strlen(text), off = 0;
	ssize_t		 n;
	int		 fd;

	if (cli_yaml_valid(text, perr, sizeof(perr)) == -1) {
		snprintf(err, errlen, "the edit would not parse (%s); "
		    "config.yaml left unchanged", perr);
		return -1;
	}
	if (mkdir(home, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", home, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/config.yaml", home);
	snprintf(tmp, sizeof(tmp), "%s/.config.yaml.%d", home, (int)getpid());
	if (stat(path, &st) == 0)
		mode = st.st_mode & 0777;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, mode)) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	while (off < len) {
		if ((n = write(fd, text + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}
	if (off < len || fsync(fd) == -1 || close(fd) == -1) {
		snprintf(err, errlen, "write %s: %s", tmp, strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "rename to %s: %s", path,
		    strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

int
cli_config_get(const char *home, const char *key, char **val)
{
	char		*text;
	const char	*err;

	*val = NULL;
	if ((text = cli_config_read(home)) == NULL)
		return -1;
	*val = cli_yaml_get(text, key, &err);
	free(text);
	return *val == NULL ? -1 : 0;
}

int
cli_config_set(const char *home, const char *key, const char *val,
    char *err, size_t errlen)
{
	char		*text, *out;
	const char	*e;
	int		 r;

	if ((text = cli_config_read(home)) == NULL) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "config.yaml: %s",
			    strerror(errno));
			return -1;
		}
		text = xstrdup("");
	}
	if ((out = cli_yaml_set(text, key, val, &e)) == NULL) {
		snprintf(err, errlen, "%s: %s", key, e);
		free(text);
		return -1;
	}
	r = cli_config_write(home, out, err, errlen);
	free(text);
	free(out);
	return r;
}

/* Tell a running hermesd to re-read its configuration (never starts
 * one). */
void
cli_daemon_reload(void)
{
	struct cli_conn	 c;
	char		 err[512];

	if (cli_connect(&c, "ping", 0, err, sizeof(err)) != CLI_EXIT_OK)
		return;
	if (c.daemon_pid > 1 && kill((pid_t)c.daemon_pid, SIGHUP) == 0)
		printf("hermesd (pid %" PRIu64 ") reloads its configuration\n",
		    c.daemon_pid);
	cli_conn_close(&c);
}

static int
need_home(char *home, size_t len)
{
	if (hermes_home(home, len) == -1) {
		fprintf(stderr, "hermes: cannot work out HERMES_HOME\n");
		return -1;
	}
	return 0;
}

int
cli_cmd_config(struct cli_args *a)
{
	char	 home[PATH_MAX], err[512], *v;

	if (need_home(home, sizeof(home)) == -1)
		return CLI_EXIT_ERROR;
	if (a->argc == 1 && strcmp(a->argv[0], "path") == 0) {
		printf("%s/config.yaml\n", home);
		return CLI_EXIT_OK;
	}
	if (a->argc == 2 && strcmp(a->argv[0], "get") == 0) {
		if (cli_config_get(home, a->argv[1], &v) == -1) {
			fprintf(stderr, "hermes: %s: not set\n", a->argv[1]);
			return CLI_EXIT_NOTFOUND;
		}
		printf("%s\n", v);
		free(v);
		return CLI_EXIT_OK;
	}
	if (a->argc == 3 && strcmp(a->argv[0], "set") == 0) {
		if (cli_config_set(home, a->argv[1], a->argv[2], err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "hermes: %s\n", err);
			return CLI_EXIT_ERROR;
		}
		printf("%s = %s\n", a->argv[1], a->argv[2]);
		cli_daemon_reload();
		return CLI_EXIT_OK;
	}
	fprintf(stderr, "usage: hermes config get KEY | set KEY VALUE | "
	    "path\n");
	return CLI_EXIT_USAGE;
}

/* ---- model ---------------------------------------------------------- */

static const struct {
	const char	*name;
	const char	*key_env;	/* NULL: none needed */
	const char	*model;		/* suggested default */
	int		 base_url;	/* asks for a base URL */
	const char	*url;		/* the provider's own endpoint */
	const char	*help;
} providers[] = {
	{ "openrouter", "OPENROUTER_API_KEY", "anthropic/claude-sonnet-4", 0,
	  "https://openrouter.ai/api/v1", "OpenRouter (many vendors, one key)" },
	{ "anthropic", "ANTHROPIC_API_KEY", "claude-sonnet-4-5", 0,
	  "https://api.anthropic.com", "Anthropic Messages API" },
	{ "openai", "OPENAI_API_KEY", "gpt-4.1", 0, "https://api.openai.com/v1",
	  "OpenAI" },
	{ "nous", "NOUS_API_KEY", "Hermes-4-70B", 0,
	  "https://inference-api.nousresearch.com/v1", "Nous Portal" },
	{ "deepseek", "DEEPSEEK_API_KEY", "deepseek-chat", 0,
	  "https://api.deepseek.com/v1", "DeepSeek" },
	{ "ollama", NULL, "llama3.1", 0, "http://127.0.0.1:11434/v1",
	  "a local Ollama (127.0.0.1:11434)" },
	{ "llamacpp", NULL, "local-model", 0, "http://127.0.0.1:8080/v1",
	  "a local llama.cpp server (127.0.0.1:8080)" },
	{ "custom", NULL, "local-model", 1, NULL,
	  "any OpenAI-compatible server at a base URL (vLLM, LM Studio, ...)" },
};

static int
prompt_line(const char *q, const char *def, char *buf, size_t len)
{
	printf("%s%s%s%s: ", q, def ? " [" : "", def ? def : "",
	    def ? "]" : "");
	fflush(stdout);
	if (fgets(buf, (int)len, stdin) == NULL)
		return -1;
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0' && def != NULL)
		strlcpy(buf, def, len);
	return 0;
}

int
cli_cmd_model(struct cli_args *a)
{
	char		 home[PATH_MAX], err[512], pbuf[64], mbuf[256],
			 ubuf[512], *cur = NULL;
	const char	*prov = NULL, *model = NULL, *url = NULL;
	size_t		 i, k = nitems(providers);
	int		 j;

	if (need_home(home, sizeof(home)) == -1)
		return CLI_EXIT_ERROR;
	for (j = 0; j < a->argc; j++) {
		if (strcmp(a->argv[j], "--base-url") == 0 && j + 1 < a->argc)
			url = a->argv[++j];
		else if (prov == NULL)
			prov = a->argv[j];
		else if (model == NULL)
			model = a->argv[j];
		else {
			fprintf(stderr, "usage: hermes model [PROVIDER [MODEL] "
			    "[--base-url URL]]\n");
			return CLI_EXIT_USAGE;
		}
	}
	if (prov == NULL) {
		if (!isatty(STDIN_FILENO)) {
			fprintf(stderr, "hermes: model: give PROVIDER [MODEL] "
			    "when stdin is not a terminal\n");
			return CLI_EXIT_USAGE;
		}
		if (cli_config_get(home, "model.provider", &cur) == 0)
			printf("current provider: %s\n", cur);
		free(cur);
		cur = NULL;
		for (i = 0; i < nitems(providers); i++)
			printf("  %zu) %-11s %s\n", i + 1, providers[i].name,
			    providers[i].help);
		if (prompt_line("provider (number or name)", "1", pbuf,
		    sizeof(pbuf)) == -1)
			return CLI_EXIT_USAGE;
		i = (size_t)strtoul(pbuf, NULL, 10);
		prov = i >= 1 && i <= nitems(providers) ?
		    providers[i - 1].name : pbuf;
	}
	for (i = 0; i < nitems(providers); i++)
		if (strcmp(providers[i].name, prov) == 0)
			k = i;
	if (model == NULL) {
		if (!isatty(STDIN_FILENO))
			model = k < nitems(providers) ? providers[k].model :
			    NULL;
		else if (prompt_line("model", k < nitems(providers) ?
		    providers[k].model : NULL, mbuf, sizeof(mbuf)) == 0)
			model = mbuf;
	}
	if (model == NULL || *model == '\0') {
		fprintf(stderr, "hermes: model: no model given\n");
		return CLI_EXIT_USAGE;
	}
	if (url == NULL && k < nitems(providers) && providers[k].base_url &&
	    isatty(STDIN_FILENO) && prompt_line("base URL",
	    "http://127.0.0.1:8080/v1", ubuf, sizeof(ubuf)) == 0)
		url = ubuf;
	if (cli_config_set(home, "model.provider", prov, err,
	    sizeof(err)) == -1 ||
	    cli_config_set(home, "model.default", model, err,
	    sizeof(err)) == -1 ||
	    (url != NULL && cli_config_set(home, "model.base_url", url, err,
	    sizeof(err)) == -1)) {
		fprintf(stderr, "hermes: %s\n", err);
		return CLI_EXIT_ERROR;
	}
	printf("provider %s, model %s%s%s written to %s/config.yaml\n", prov,
	    model, url ? ", base URL " : "", url ? url : "", home);
	if (k < nitems(providers) && providers[k].key_env != NULL &&
	    getenv(providers[k].key_env) == NULL)
		printf("put the key in %s/.env: %s=...\n", home,
		    providers[k].key_env);
	cli_daemon_reload();
	return CLI_EXIT_OK;
}

/* ---- supervisor modes ---------------------------------------------- */

int
cli_cmd_status(struct cli_args *a)
{
	struct cli_worker_row	 rows[STATUS_MAX_ROWS];
	struct cli_conn		 c;
	struct cli_out		 o;
	struct ipc_msg		 m;
	const msgpack_object	*w, *e;
	char			 err[512], *strs[STATUS_MAX_ROWS * 2];
	uint64_t		 pid = 0, up = 0;
	size_t			 n = 0, i, ns = 0;
	int			 r;

	(void)a;
	/* Like tmux: no daemon yet, start one (issue #2). */
	if ((r = cli_connect(&c, "status", 1, err, sizeof(err))) !=
	    CLI_EXIT_OK) {
		fprintf(stderr, "hermes: %s\n", err);
		return r;
	}
	r = ipc_recv_fd(c.fd, c.rb, CLI_REPLY_WAIT_MS, &m, err, sizeof(err));
	if (r != 1 || m.type != IPC_MSG_STATUS) {
		fprintf(stderr, "hermes: no status from hermesd (%s)\n",
		    r == 1 ? ipc_msg_name(m.type) : r == 0 ? "timeout" : err);
		cli_conn_close(&c);
		return CLI_EXIT_DAEMON;
	}
	(void)ipc_get_u64(&m, "pid", &pid);
	(void)ipc_get_u64(&m, "uptime_ms", &up);
	if ((w = ipc_get(&m, "workers")) != NULL &&
	    w->type == MSGPACK_OBJECT_ARRAY) {
		for (i = 0; i < w->via.array.size && n < STATUS_MAX_ROWS; i++) {
			e = &w->via.array.ptr[i];
			memset(&rows[n], 0, sizeof(rows[n]));
			strs[ns] = ipc_obj_strdup(ipc_obj_map_get(e, "role"));
			rows[n].role = strs[ns] ? strs[ns] : "?";
			ns++;
			strs[ns] = ipc_obj_strdup(ipc_obj_map_get(e, "state"));
			rows[n].state = strs[ns] ? strs[ns] : "?";
			ns++;
			(void)ipc_obj_u64(ipc_obj_map_get(e, "pid"),
			    &rows[n].pid);
			(void)ipc_obj_u64(ipc_obj_map_get(e, "uptime_ms"),
			    &rows[n].uptime_ms);
			(void)ipc_obj_u64(ipc_obj_map_get(e, "restarts"),
			    &rows[n].restarts);
			(void)ipc_obj_u64(ipc_obj_map_get(e, "rss_kb"),
			    &rows[n].rss_kb);
			n++;
		}
	}
	cli_out_init(&o, stdout, 0);
	cli_print_status(&o, pid, up, rows, n);
	for (i = 0; i < ns; i++)
		free(strs[i]);
	cli_conn_close(&c);
	return CLI_EXIT_OK;
}

int
cli_cmd_stop(struct cli_args *a)
{
	struct cli_conn	 c;
	struct ipc_msg	 m;
	char		 err[512];
	uint64_t	 deadline;
	int		 r;

	(void)a;
	if ((r = cli_connect(&c, "stop", 0, err, sizeof(err))) !=
	    CLI_EXIT_OK) {
		if (r == CLI_EXIT_DAEMON) {
			printf("hermesd is not running\n");
			return CLI_EXIT_OK;
		}
		fprintf(stderr, "hermes: %s\n", err);
		return r;
	}
	/* hermesd closes the connection as it goes down. */
	while ((r = ipc_recv_fd(c.fd, c.rb, 5000, &m, err, sizeof(err))) == 1)
		;
	deadline = now_ms() + 5000;
	while (c.daemon_pid > 1 && kill((pid_t)c.daemon_pid, 0) == 0 &&
	    now_ms() < deadline) {
		struct timespec ts = { 0, 10 * 1000000L };

		nanosleep(&ts, NULL);
	}
	if (c.daemon_pid > 1 && kill((pid_t)c.daemon_pid, 0) == 0) {
		fprintf(stderr, "hermes: hermesd (pid %" PRIu64 ") is still "
		    "running after 5 s\n", c.daemon_pid);
		cli_conn_close(&c);
		return CLI_EXIT_ERROR;
	}
	printf("hermesd (pid %" PRIu64 ") stopped\n", c.daemon_pid);
	cli_conn_close(&c);
	return CLI_EXIT_OK;
}

/* ---- doctor -------------------------------------------------------- */

enum chk { CHK_OK, CHK_WARN, CHK_FAIL };

struct doctor {
	char	 home[PATH_MAX];
	char	 exedir[PATH_MAX];
	int	 fails;
	int	 warns;
	struct cli_out o;
};

static void
report(struct doctor *d, enum chk st, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
report(struct doctor *d, enum chk st, const char *what, const char *fmt, ...)
{
	static const char *const word[] = { "ok", "warn", "FAIL" };
	static const char *const color[] = { "green", "yellow", "red" };
	char	 buf[1024];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cli_out_style(&d->o, color[st]);
	fprintf(d->o.fp, "  %-4s", word[st]);
	cli_out_reset(&d->o);
	fprintf(d->o.fp, "  %-22s %s\n", what, buf);
	if (st == CHK_FAIL)
		d->fails++;
	if (st == CHK_WARN)
		d->warns++;
}

static void
chk_home(struct doctor *d)
{
	struct stat	 st;

	if (stat(d->home, &st) == -1)
		report(d, CHK_WARN, "HERMES_HOME", "%s does not exist yet "
		    "(hermesd creates it)", d->home);
	else if (!S_ISDIR(st.st_mode))
		report(d, CHK_FAIL, "HERMES_HOME", "%s is not a directory",
		    d->home);
	else if (st.st_mode & 022)
		report(d, CHK_WARN, "HERMES_HOME", "%s is writable by others "
		    "(chmod 700)", d->home);
	else
		report(d, CHK_OK, "HERMES_HOME", "%s", d->home);
}

static void
chk_config(struct doctor *d)
{
	char	*text, err[256];

	if ((text = cli_config_read(d->home)) == NULL) {
		report(d, CHK_WARN, "config.yaml", "none (defaults apply; "
		    "hermes model writes one)");
		return;
	}
	if (cli_yaml_valid(text, err, sizeof(err)) == -1)
		report(d, CHK_FAIL, "config.yaml", "does not parse: %s", err);
	else
		report(d, CHK_OK, "config.yaml", "%s/config.yaml parses",
		    d->home);
	free(text);
}

/* Is NAME set in the environment or in HERMES_HOME/.env? */
static int
env_has(const char *home, const char *name)
{
	char	 path[PATH_MAX + 8], *text, *p;
	size_t	 n = strlen(name);
	int	 found = 0;

	if (getenv(name) != NULL && *getenv(name) != '\0')
		return 1;
	snprintf(path, sizeof(path), "%s/.env", home);
	if (read_file(path, &text, CFG_MAX_FILE) == -1)
		return 0;
	for (p = text; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncmp(p, "export ", 7) == 0)
			p += 7;
		if (strncmp(p, name, n) == 0 && (p[n] == '=' || p[n] == ' ') &&
		    p[n + 1 + strspn(p + n + 1, " =\"'")] != '\n')
			found = 1;
	}
	freezero(text, strlen(text) + 1);
	return found;
}

static void
chk_env(struct doctor *d)
{
	char		 path[PATH_MAX + 8];
	struct stat	 st;

	snprintf(path, sizeof(path), "%s/.env", d->home);
	if (stat(path, &st) == -1)
		report(d, CHK_OK, ".env", "none");
	else if (st.st_mode & 077)
		report(d, CHK_WARN, ".env", "%s is readable by others "
		    "(chmod 600)", path);
	else
		report(d, CHK_OK, ".env", "%s, mode 600", path);
}

static void
chk_provider(struct doctor *d)
{
	char	*prov = NULL, *model = NULL, *url = NULL;
	size_t	 i;

	(void)cli_config_get(d->home, "model.provider", &prov);
	(void)cli_config_get(d->home, "model.default", &model);
	(void)cli_config_get(d->home, "model.base_url", &url);
	if (prov == NULL && url == NULL && getenv("OPENAI_BASE_URL") == NULL) {
		for (i = 0; i < nitems(providers); i++)
			if (providers[i].key_env != NULL &&
			    env_has(d->home, providers[i].key_env))
				break;
		if (i == nitems(providers))
			report(d, CHK_FAIL, "provider", "none configured: "
			    "hermes model, or a key in %s/.env", d->home);
		else
			report(d, CHK_OK, "provider", "auto (%s set)",
			    providers[i].key_env);
		goto out;
	}
	for (i = 0; prov != NULL && i < nitems(providers); i++)
		if (strcmp(providers[i].name, prov) == 0)
			break;
	if (prov != NULL && i < nitems(providers) &&
	    providers[i].key_env != NULL && url == NULL &&
	    !env_has(d->home, providers[i].key_env))
		report(d, CHK_FAIL, "provider", "%s needs %s in %s/.env", prov,
		    providers[i].key_env, d->home);
	else
		report(d, CHK_OK, "provider", "%s, model %s%s%s",
		    prov ? prov : "custom", model ? model : "(default)",
		    url ? ", " : "", url ? url : "");
out:
	free(prov);
	free(model);
	free(url);
}

/*
 * Can a TCP connection reach the host of url (within timeout_ms)? Only
 * the transport: keys and the API are the daemon's business. 0 or -1
 * with the reason in err.
 */
static int
tcp_reachable(const char *url, char *hostport, size_t hplen, char *err,
    size_t errlen, int timeout_ms)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	struct pollfd	 pfd;
	char		 host[256], port[8];
	const char	*p, *e, *colon;
	socklen_t	 sl;
	int		 fd = -1, r, soerr = 0;
	size_t		 hl;

	if (strncmp(url, "https://", 8) == 0) {
		p = url + 8;
		strlcpy(port, "443", sizeof(port));
	} else if (strncmp(url, "http://", 7) == 0) {
		p = url + 7;
		strlcpy(port, "80", sizeof(port));
	} else {
		snprintf(err, errlen, "not an http(s) URL: %s", url);
		return -1;
	}
	e = p + strcspn(p, "/?#");
	colon = memchr(p, ':', (size_t)(e - p));
	hl = (size_t)((colon ? colon : e) - p);
	if (hl == 0 || hl >= sizeof(host) || (colon && (size_t)(e - colon - 1) >=
	    sizeof(port))) {
		snprintf(err, errlen, "bad URL: %s", url);
		return -1;
	}
	memcpy(host, p, hl);
	host[hl] = '\0';
	if (colon) {
		memcpy(port, colon + 1, (size_t)(e - colon - 1));
		port[e - colon - 1] = '\0';
	}
	snprintf(hostport, hplen, "%s:%s", host, port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(r));
		return -1;
	}
	snprintf(err, errlen, "no address");
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol)) == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			sl = sizeof(soerr);
			if (poll(&pfd, 1, timeout_ms) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr,
			    &sl) == 0 && soerr == 0)
				break;
			snprintf(err, errlen, "%s", soerr ? strerror(soerr) :
			    "timed out");
		} else
			snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		return -1;
	close(fd);
	return 0;
}

static void
chk_reachable(struct doctor *d)
{
	char		*prov = NULL, *url = NULL, hp[300] = "", err[512];
	const char	*u = NULL;
	size_t		 i;

	(void)cli_config_get(d->home, "model.provider", &prov);
	(void)cli_config_get(d->home, "model.base_url", &url);
	if (url != NULL)
		u = url;
	else if (prov != NULL) {
		for (i = 0; i < nitems(providers); i++)
			if (strcmp(providers[i].name, prov) == 0)
				u = providers[i].url;
	} else if (getenv("OPENAI_BASE_URL") != NULL)
		u = getenv("OPENAI_BASE_URL");
	if (u == NULL)
		report(d, CHK_WARN, "provider reachable", "cannot tell (no "
		    "base URL known for %s)", prov ? prov : "auto");
	else if (tcp_reachable(u, hp, sizeof(hp), err, sizeof(err),
	    3000) == -1)
		report(d, CHK_FAIL, "provider reachable", "%s: %s",
		    hp[0] ? hp : u, err);
	else
		report(d, CHK_OK, "provider reachable", "%s accepts "
		    "connections (TCP)", hp);
	free(prov);
	free(url);
}

static void
chk_binaries(struct doctor *d)
{
	static const char *const bins[] = { "hermesd", "hermes-agent",
	    "hermes-llm-fetch", "hermes-store", "hermes-tool-local" };
	char	 path[PATH_MAX + 32], missing[512] = "";
	size_t	 i;

	for (i = 0; i < nitems(bins); i++) {
		snprintf(path, sizeof(path), "%s/%s", d->exedir, bins[i]);
		if (access(path, X_OK) == -1) {
			strlcat(missing, " ", sizeof(missing));
			strlcat(missing, bins[i], sizeof(missing));
		}
	}
	if (missing[0] != '\0')
		report(d, CHK_FAIL, "programs", "missing in %s:%s", d->exedir,
		    missing);
	else
		report(d, CHK_OK, "programs", "hermesd and workers in %s",
		    d->exedir);
}

static int
file_contains(const char *path, const char *word)
{
	char	*text;
	int	 r;

	if (read_file(path, &text, 65536) == -1)
		return -1;
	r = strstr(text, word) != NULL;
	free(text);
	return r;
}

static void
chk_kernel(struct doctor *d)
{
	int	 r;

	r = file_contains("/proc/self/status", "Seccomp_filters:");
	if (r == 1 || file_contains("/proc/self/status", "Seccomp:") == 1)
		report(d, CHK_OK, "seccomp", "available");
	else
		report(d, CHK_FAIL, "seccomp", "not available in this kernel");
	r = file_contains("/sys/kernel/security/lsm", "landlock");
	if (r == 1)
		report(d, CHK_OK, "landlock", "enabled");
	else if (r == 0)
		report(d, CHK_WARN, "landlock", "not enabled (paths confined "
		    "by namespaces only)");
	else
		report(d, CHK_OK, "landlock", "no securityfs here; hermesd "
		    "probes it (report below)");
	{
		char *t = NULL;

		if (access("/proc/self/ns/user", F_OK) == -1 ||
		    read_file("/proc/sys/user/max_user_namespaces", &t,
		    64) == -1)
			report(d, CHK_WARN, "user namespaces", "not available");
		else if (strtol(t, NULL, 10) <= 0)
			report(d, CHK_WARN, "user namespaces", "disabled "
			    "(max_user_namespaces 0)");
		else
			report(d, CHK_OK, "user namespaces", "available");
		free(t);
	}
}

int
cli_cmd_doctor(struct cli_args *a)
{
	struct doctor	 d;
	struct cli_conn	 c;
	struct ipc_msg	 m;
	char		 err[1024], *rep;
	int		 r;

	(void)a;
	memset(&d, 0, sizeof(d));
	cli_out_init(&d.o, stdout, 0);
	if (need_home(d.home, sizeof(d.home)) == -1)
		return CLI_EXIT_ERROR;
	if (getenv("HERMES_LIBEXEC") != NULL &&
	    getenv("HERMES_LIBEXEC")[0] == '/')
		strlcpy(d.exedir, getenv("HERMES_LIBEXEC"), sizeof(d.exedir));
	else if (cli_exe_dir(d.exedir, sizeof(d.exedir)) == -1)
		strlcpy(d.exedir, ".", sizeof(d.exedir));
	printf("local checks:\n");
	chk_home(&d);
	chk_config(&d);
	chk_env(&d);
	chk_provider(&d);
	chk_reachable(&d);
	chk_binaries(&d);
	chk_kernel(&d);
	fflush(stdout);
	if ((r = cli_connect(&c, "doctor", 1, err, sizeof(err))) !=
	    CLI_EXIT_OK) {
		report(&d, CHK_FAIL, "hermesd", "%s", err);
		printf("%d failed, %d warnings\n", d.fails, d.warns);
		return r;
	}
	report(&d, CHK_OK, "hermesd", "pid %" PRIu64 ", protocol %d",
	    c.daemon_pid, IPC_PROTOCOL_VERSION);
	r = ipc_recv_fd(c.fd, c.rb, CLI_REPLY_WAIT_MS, &m, err, sizeof(err));
	if (r != 1 || m.type != IPC_MSG_DOCTOR ||
	    (rep = ipc_get_strdup(&m, "report")) == NULL) {
		report(&d, CHK_FAIL, "hermesd report", "none (%s)",
		    r == 1 ? ipc_msg_name(m.type) : r == 0 ? "timeout" : err);
		cli_conn_close(&c);
		printf("%d failed, %d warnings\n", d.fails, d.warns);
		return CLI_EXIT_DAEMON;
	}
	printf("\nhermesd report (what the running kernel enforces per "
	    "role):\n");
	cli_print_json(&d.o, rep);
	free(rep);
	cli_conn_close(&c);
	printf("\n%d failed, %d warnings\n", d.fails, d.warns);
	return d.fails > 0 ? CLI_EXIT_ERROR : CLI_EXIT_OK;
}

/* ---- sessions (through the agent) ---------------------------------- */

static const char *const session_ops[] = {
	"list", "export", "delete", "prune", "rename", "repair",
};

int
cli_cmd_sessions(struct cli_args *a)
{
	char	 args[4096] = "";
	size_t	 i;
	int	 j;

	if (a->argc == 0) {
		strlcpy(args, "list", sizeof(args));
	} else {
		for (i = 0; i < nitems(session_ops); i++)
			if (strcmp(a->argv[0], session_ops[i]) == 0)
				break;
		if (i == nitems(session_ops)) {
			fprintf(stderr, "usage: hermes sessions list|export|"
			    "delete|prune|rename|repair [ARGS]\n");
			return CLI_EXIT_USAGE;
		}
		for (j = 0; j < a->argc; j++) {
			if (j > 0)
				strlcat(args, " ", sizeof(args));
			if (strlcat(args, a->argv[j], sizeof(args)) >=
			    sizeof(args)) {
				fprintf(stderr, "hermes: arguments too long\n");
				return CLI_EXIT_USAGE;
			}
		}
	}
	return cli_agent_command("sessions", args, !isatty(STDOUT_FILENO));
}

/* ---- skills (read locally) ----------------------------------------- */

/* The description: line of SKILL.md's front matter. */
static void
skill_description(const char *path, char *out, size_t len)
{
	char		*text, *v, *end;

	out[0] = '\0';
	if (read_file(path, &text, 1024 * 1024) == -1)
		return;
	if (strncmp(text, "---", 3) == 0 &&
	    (end = strstr(text + 3, "\n---")) != NULL) {
		*end = '\0';
		if ((v = cli_yaml_top_scalar(text + 3, "description")) != NULL) {
			cli_fmt_summary(out, len, v, 70);
			free(v);
		}
	}
	free(text);
}

int
cli_cmd_skills(struct cli_args *a)
{
	char	 home[PATH_MAX], desc[512], **names, **paths, *text;
	size_t	 n, i;
	int	 r = CLI_EXIT_OK;

	if (need_home(home, sizeof(home)) == -1)
		return CLI_EXIT_ERROR;
	n = cli_skills_scan(home, &names, &paths);
	if (a->argc == 0 || (a->argc == 1 && strcmp(a->argv[0], "list") == 0)) {
		if (n == 0)
			printf("no skills in %s/skills\n", home);
		for (i = 0; i < n; i++) {
			skill_description(paths[i], desc, sizeof(desc));
			printf("%-28s %s\n", names[i], desc);
		}
	} else if (a->argc == 2 && strcmp(a->argv[0], "view") == 0) {
		for (i = 0; i < n; i++)
			if (strcmp(names[i], a->argv[1]) == 0)
				break;
		if (i == n) {
			fprintf(stderr, "hermes: no skill named %s\n",
			    a->argv[1]);
			r = CLI_EXIT_NOTFOUND;
		} else if (read_file(paths[i], &text, 1024 * 1024) == -1) {
			fprintf(stderr, "hermes: %s: %s\n", paths[i],
			    strerror(errno));
			r = CLI_EXIT_ERROR;
		} else {
			struct cli_out o;

			cli_out_init(&o, stdout, 0);
			cli_out_text(&o, text, strlen(text));
			cli_out_eol(&o);
			free(text);
		}
	} else {
		fprintf(stderr, "usage: hermes skills list | view NAME\n");
		r = CLI_EXIT_USAGE;
	}
	cli_skills_free(names, n);
	cli_skills_free(paths, n);
	return r;
}

/* ---- the rest ------------------------------------------------------ */

int
cli_cmd_chat(struct cli_args *a)
{
	return cli_chat_run(a);
}

int
cli_cmd_version(struct cli_args *a)
{
	(void)a;
	printf("hermes %s (protocol %d)\n", HERMES_VERSION,
	    IPC_PROTOCOL_VERSION);
	return CLI_EXIT_OK;
}

int
cli_cmd_help(struct cli_args *a)
{
	(void)a;
	cli_usage(stdout);
	return CLI_EXIT_OK;
}
