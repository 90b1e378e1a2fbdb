/*
 * The tool runner's protocol side: sessions (shell state, session
 * approvals), calls (pending approval, running, waiting), the background
 * process registry, and the dispatch of ipc/msgs/tool.def.
 *
 * A call that needs approval is held here, with the exact command bytes
 * the user was shown; TOOL_APPROVE runs those bytes, nothing else. The
 * agent never sends a command to be run "because it was approved".
 */
#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "ipc/worker.h"
#include "workers/tool/exec.h"
#include "workers/tool/runner.h"
#include "workers/tool/tool.h"

#define ERRLEN	256

struct session {
	LIST_ENTRY(session)	 entry;
	char			*id;
	struct tool_shstate	 sh;
	char			**approved;	/* exact commands ("session") */
	size_t			 napproved;
};

enum call_state { C_APPROVAL, C_RUNNING, C_WAITING };

struct call {
	TAILQ_ENTRY(call)	 entry;
	uint64_t		 id;
	enum call_state		 state;
	char			*name;
	char			*session;
	json_t			*args;
	char			*command;	/* terminal: what runs */
	uint64_t		 approval_id;
	char			*approval_note;
	char			*pattern;
	struct tool_job		*job;		/* foreground job */
	struct bgproc		*waiting_on;	/* process wait */
	struct event		*timer;		/* process wait timeout */
	unsigned		 wait_s;
	char			*wait_note;
	uint64_t		 start_ms;
	/* execute_code: the script's tool channel */
	int			 rpc_fd;
	struct event		*rpc_ev;
	struct tool_sb		 rpc_in;
	int			 rpc_calls;
	struct call		*parent;	/* a call made by a script */
	int			 is_code;
	/* file tools on a remote backend: which step */
	int			 fop;
	char			*fop_path;
	char			*fop_data;
};

struct bgproc {
	LIST_ENTRY(bgproc)	 entry;
	char			 id[24];	/* proc_<12hex> */
	char			*session;
	char			*cwd;
	struct tool_job		*job;
	time_t			 started;
	int			 notify;
	uint64_t		 last_used;
};

static struct {
	struct worker		*w;
	const struct tool_backend *be;
	const struct tool_runner_conf *conf;
	json_t			*config;
	struct tool_fs		 fs;
	struct tool_policy	 pol;
	unsigned		 timeout_s;
	unsigned		 approval_timeout_s;
	size_t			 max_chars;
	char			**base_env;
	struct event		*ev_chld;
	uint64_t		 next_approval;
	LIST_HEAD(, session)	 sessions;
	TAILQ_HEAD(, call)	 calls;
	LIST_HEAD(, bgproc)	 procs;
	size_t			 nprocs;
} R;

static void	 call_finish(struct call *, int ok, const char *output,
		    int have_exit, int exit_code);
static void	 run_terminal(struct call *);

/* ---- config ------------------------------------------------------------ */

static json_t *
cfg_path(const char *a, const char *b)
{
	json_t	*o = json_object_get(R.config, a);

	if (b == NULL || o == NULL)
		return o;
	return json_object_get(o, b);
}

static char **
str_list(json_t *arr, size_t *n)
{
	char	**v;
	size_t	 i, k = 0;

	*n = 0;
	if (!json_is_array(arr))
		return NULL;
	v = xcalloc(json_array_size(arr) + 1, sizeof(*v));
	for (i = 0; i < json_array_size(arr); i++) {
		json_t *e = json_array_get(arr, i);
		if (json_is_string(e))
			v[k++] = xstrdup(json_string_value(e));
	}
	*n = k;
	return v;
}

static void
build_base_env(void)
{
	static const char *const keep[] = { "LANG", "LC_ALL", "TZ", "USER",
	    "LOGNAME" };
	json_t		*pass;
	char		**v;
	size_t		 n = 0, i, cap = 16;
	const char	*home = getenv("HOME");

	v = xcalloc(cap, sizeof(*v));
	xasprintf(&v[n++], "PATH=%s", "/usr/local/sbin:/usr/local/bin:"
	    "/usr/sbin:/usr/bin:/sbin:/bin");
	xasprintf(&v[n++], "HOME=%s", home && *home ? home : R.fs.root);
	xasprintf(&v[n++], "TERM=%s", "dumb");
	xasprintf(&v[n++], "PAGER=%s", "cat");
	xasprintf(&v[n++], "GIT_PAGER=%s", "cat");
	for (i = 0; i < nitems(keep); i++) {
		const char *x = getenv(keep[i]);
		if (x != NULL) {
			if (n + 2 >= cap)
				v = xreallocarray(v, cap *= 2, sizeof(*v));
			xasprintf(&v[n++], "%s=%s", keep[i], x);
		}
	}
	if (getenv("LANG") == NULL)
		xasprintf(&v[n++], "LANG=C.UTF-8");
	/* terminal.env_passthrough: names copied from the runner's env
	 * (which the supervisor already scrubbed of keys). */
	pass = cfg_path("terminal", "env_passthrough");
	for (i = 0; json_is_array(pass) && i < json_array_size(pass); i++) {
		const char *nm = json_string_value(json_array_get(pass, i));
		const char *x = nm ? getenv(nm) : NULL;
		if (x == NULL)
			continue;
		if (n + 2 >= cap)
			v = xreallocarray(v, cap *= 2, sizeof(*v));
		xasprintf(&v[n++], "%s=%s", nm, x);
	}
	v[n] = NULL;
	R.base_env = v;
}

static void
on_sigchld(evutil_socket_t s, short ev, void *arg)
{
	tool_reap_children();
}

int
tool_runner_setup(struct worker *w, const struct tool_backend *be,
    const struct tool_runner_conf *conf)
{
	json_error_t	 je;
	json_t		*v;
	const char	*ws, *mode;

	memset(&R, 0, sizeof(R));
	LIST_INIT(&R.sessions);
	TAILQ_INIT(&R.calls);
	LIST_INIT(&R.procs);
	R.w = w;
	R.be = be;
	R.conf = conf;
	R.config = json_loads(w->config_json, 0, &je);
	if (R.config == NULL || !json_is_object(R.config)) {
		log_warnx("tool: CONFIG is not a JSON object: %s", je.text);
		return -1;
	}
	ws = w->workspace;
	if (ws == NULL || *ws == '\0')
		ws = json_string_value(cfg_path("terminal", "cwd"));
	if (conf->remote) {
		/* a path on the remote host; "" is the remote home */
		ws = conf->remote_root ? conf->remote_root :
		    json_string_value(cfg_path("terminal", "cwd"));
		memset(&R.fs, 0, sizeof(R.fs));
		R.fs.rootfd = -1;
		R.fs.root = xstrdup(ws != NULL && strcmp(ws, ".") != 0 ? ws : "");
		goto configured;
	}
	if (ws == NULL || *ws == '\0' || strcmp(ws, ".") == 0) {
		log_warnx("tool: no workspace (CONFIG.workspace or "
		    "terminal.cwd)");
		return -1;
	}
	/* The runner holds no fd of the workspace (the file tools run in
	 * the helper); it only needs the canonical path. */
	{
		char rp[PATH_MAX];
		if (realpath(ws, rp) == NULL) {
			log_warn("tool: workspace %s", ws);
			return -1;
		}
		memset(&R.fs, 0, sizeof(R.fs));
		R.fs.rootfd = -1;
		R.fs.root = xstrdup(rp);
		/* sandbox_enter() runs after setup with w->workspace: the
		 * runner's own view keeps this directory writable. */
		if (w->workspace == NULL || strcmp(w->workspace, rp) != 0)
			w->workspace = xstrdup(rp);
	}
configured:
	v = json_object_get(R.config, "file_read_max_chars");
	if (json_is_integer(v) && json_integer_value(v) > 0)
		R.fs.read_max_chars = (size_t)json_integer_value(v);
	R.timeout_s = TOOL_DEFAULT_TIMEOUT_S;
	v = cfg_path("terminal", "timeout");
	if (json_is_integer(v) && json_integer_value(v) > 0)
		R.timeout_s = (unsigned)json_integer_value(v);
	R.approval_timeout_s = 60;	/* approvals.timeout */
	v = cfg_path("approvals", "timeout");
	if (json_is_integer(v) && json_integer_value(v) > 0)
		R.approval_timeout_s = (unsigned)json_integer_value(v);
	R.max_chars = TOOL_MAX_OUTPUT;
	v = cfg_path("tool_output", "max_bytes");
	if (json_is_integer(v) && json_integer_value(v) > 100)
		R.max_chars = (size_t)json_integer_value(v);
	/* approvals.mode: manual | smart | off. "smart" needs an auxiliary
	 * LLM this process cannot reach; it asks the user, like manual. */
	/* YAML 1.1 reads a bare `off` as false */
	mode = json_string_value(cfg_path("approvals", "mode"));
	R.pol.mode = (mode != NULL && strcmp(mode, "off") == 0) ||
	    json_is_false(cfg_path("approvals", "mode")) ?
	    TOOL_APPROVE_OFF : TOOL_APPROVE_MANUAL;
	/* With a configured sudo password, Hermes feeds it itself: the
	 * sudo -S guard is then not about guessing. */
	R.pol.sudo_password = json_is_string(cfg_path("terminal",
	    "sudo_password"));
	R.pol.allowlist = str_list(json_object_get(R.config,
	    "command_allowlist"), &R.pol.nallow);
	R.pol.deny = str_list(cfg_path("approvals", "deny"), &R.pol.ndeny);
	R.pol.home = getenv("HOME");
	R.pol.hermes_home = w->home;
	if (tool_approval_init() == -1)
		return -1;
	build_base_env();
	R.ev_chld = evsignal_new(w->base, SIGCHLD, on_sigchld, NULL);
	if (R.ev_chld == NULL || evsignal_add(R.ev_chld, NULL) == -1) {
		log_warnx("tool: SIGCHLD event");
		return -1;
	}
	log_info("tool-%s: workspace %s, approvals %s, timeout %us",
	    conf->name, R.fs.root, R.pol.mode == TOOL_APPROVE_OFF ? "off" :
	    "manual", R.timeout_s);
	return 0;
}

const char *
tool_runner_workspace(void)
{
	return R.fs.root;
}

const struct json_t *
tool_runner_config(void)
{
	return R.config;
}

/* ---- sessions ------------------------------------------------------------ */

static struct session *
session_get(const char *id)
{
	struct session	*s;

	LIST_FOREACH(s, &R.sessions, entry)
		if (strcmp(s->id, id) == 0)
			return s;
	s = xcalloc(1, sizeof(*s));
	s->id = xstrdup(id);
	tool_shstate_init(&s->sh, R.conf->remote ? NULL : R.base_env,
	    R.fs.root);
	LIST_INSERT_HEAD(&R.sessions, s, entry);
	return s;
}

static void
session_free(struct session *s)
{
	size_t	 i;

	LIST_REMOVE(s, entry);
	tool_shstate_free(&s->sh);
	for (i = 0; i < s->napproved; i++)
		free(s->approved[i]);
	free(s->approved);
	free(s->id);
	free(s);
}

/* ---- replies ------------------------------------------------------------- */

static void
send_result(uint64_t id, int ok, const char *output, uint64_t ms,
    int have_exit, int exit_code)
{
	struct ipc_buf	*b;
	char		*clean;
	size_t		 n;

	clean = tool_utf8_sanitize(output, strlen(output), &n);
	b = ipc_new(IPC_MSG_TOOL_RESULT, id);
	ipc_add_bool(b, "ok", ok);
	ipc_add_strn(b, "output", clean, n);
	ipc_add_u64(b, "ms", ms);
	if (have_exit)
		ipc_add_i64(b, "exit_code", exit_code);
	if (worker_send(R.w, ROLE_AGENT, b) == -1)
		log_warnx("tool: result %llu: no agent",
		    (unsigned long long)id);
	free(clean);
}

static struct call *
call_new(uint64_t id, const char *name, const char *session, json_t *args)
{
	struct call	*c;

	c = xcalloc(1, sizeof(*c));
	c->id = id;
	c->name = xstrdup(name);
	c->session = xstrdup(session);
	c->args = args;
	c->start_ms = now_ms();
	c->rpc_fd = -1;
	TAILQ_INSERT_TAIL(&R.calls, c, entry);
	return c;
}

static void
call_free(struct call *c)
{
	struct call	*k;

	TAILQ_REMOVE(&R.calls, c, entry);
	/* calls made by this script lose their channel */
	TAILQ_FOREACH(k, &R.calls, entry)
		if (k->parent == c) {
			k->parent = NULL;
			k->is_code = -1;	/* orphaned: result dropped */
			if (k->job)
				tool_job_kill(k->job, TOOL_END_CANCEL);
		}
	if (c->rpc_ev)
		event_free(c->rpc_ev);
	if (c->rpc_fd != -1)
		close(c->rpc_fd);
	tool_sb_free(&c->rpc_in);
	if (c->job)
		tool_job_free(c->job);
	if (c->timer)
		event_free(c->timer);
	json_decref(c->args);
	free(c->name);
	free(c->session);
	free(c->command);
	free(c->approval_note);
	free(c->pattern);
	free(c->wait_note);
	free(c->fop_path);
	free(c->fop_data);
	free(c);
}

static void	 rpc_reply(struct call *, const char *);

static void
call_finish(struct call *c, int ok, const char *output, int have_exit,
    int exit_code)
{
	if (c->parent != NULL)
		rpc_reply(c->parent, output);
	else if (c->is_code != -1)
		send_result(c->id, ok, output, now_ms() - c->start_ms, have_exit,
		    exit_code);
	call_free(c);
}

static struct call *
call_find(uint64_t id)
{
	struct call	*c;

	TAILQ_FOREACH(c, &R.calls, entry)
		if (c->id == id)
			return c;
	return NULL;
}

static char *
dumpj(json_t *o)
{
	char	*s = json_dumps(o, JSON_REAL_PRECISION(10));

	json_decref(o);
	if (s == NULL)
		fatalx("json_dumps");
	return s;
}

static json_t *
jtext(const char *s)
{
	char	*c;
	size_t	 n;
	json_t	*j;

	c = tool_utf8_sanitize(s, strlen(s), &n);
	j = json_stringn(c, n);
	free(c);
	return j ? j : json_string("");
}

/* ---- terminal ------------------------------------------------------------- */

static const char *
exit_meaning(const char *command, int code)
{
	static const struct { const char *cmd; const char *note; } t[] = {
		{ "grep", "No matches found (not an error)" },
		{ "egrep", "No matches found (not an error)" },
		{ "fgrep", "No matches found (not an error)" },
		{ "rg", "No matches found (not an error)" },
		{ "ag", "No matches found (not an error)" },
		{ "ack", "No matches found (not an error)" },
		{ "diff", "Files differ (expected, not an error)" },
		{ "colordiff", "Files differ (expected, not an error)" },
		{ "find", "Some directories were inaccessible (partial "
		  "results may still be valid)" },
		{ "test", "Condition evaluated to false (expected, not an "
		  "error)" },
		{ "[", "Condition evaluated to false (expected, not an error)" },
	};
	const char	*last = command, *p, *w, *slash;
	char		 word[64];
	size_t		 i, n;

	if (code != 1)
		return NULL;
	for (p = command; *p; p++)
		if (*p == ';' || *p == '|' || *p == '&')
			last = p + 1;
	w = last;
	for (;;) {
		while (*w == ' ' || *w == '\t' || *w == '\n')
			w++;
		n = strcspn(w, " \t\n");
		if (n == 0)
			return NULL;
		if (memchr(w, '=', n) == NULL || *w == '-')
			break;
		w += n;
	}
	if (n >= sizeof(word))
		return NULL;
	memcpy(word, w, n);
	word[n] = '\0';
	slash = strrchr(word, '/');
	for (i = 0; i < nitems(t); i++)
		if (strcmp(slash ? slash + 1 : word, t[i].cmd) == 0)
			return t[i].note;
	return NULL;
}

static void
terminal_error(struct call *c, const char *status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
terminal_error(struct call *c, const char *status, const char *fmt, ...)
{
	va_list	 ap;
	char	*m, *out;
	json_t	*o;

	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		fatal("vasprintf");
	va_end(ap);
	o = json_object();
	json_object_set_new(o, "output", json_string(""));
	json_object_set_new(o, "exit_code", json_integer(-1));
	json_object_set_new(o, "error", jtext(m));
	if (status)
		json_object_set_new(o, "status", json_string(status));
	out = dumpj(o);
	free(m);
	call_finish(c, 0, out, 1, -1);
	free(out);
}

static void
fg_done(struct tool_job *j, void *arg)
{
	struct call	*c = arg;
	struct session	*s = session_get(c->session);
	const char	*st, *meaning;
	size_t		 stlen;
	char		*raw, *out, *red;
	int		 code;
	json_t		*o;

	code = tool_job_exit_code(j);
	switch (tool_job_end(j)) {
	case TOOL_END_TIMEOUT:
		code = 124;
		break;
	case TOOL_END_CANCEL:
	case TOOL_END_KILLED:
		code = 130;
		break;
	default:
		if ((st = tool_job_state(j, &stlen)) != NULL &&
		    tool_shstate_parse(&s->sh, st, stlen) == -1)
			log_debug("tool: state dump of call %llu unparsable",
			    (unsigned long long)c->id);
		break;
	}
	raw = tool_job_output(j);
	{
		size_t n = tool_strip_ansi(raw, strlen(raw));
		raw[n] = '\0';
	}
	red = tool_redact(raw, tool_is_env_dump(c->command));
	free(raw);
	tool_strip(red);
	o = json_object();
	json_object_set_new(o, "output", jtext(red));
	json_object_set_new(o, "exit_code", json_integer(code));
	json_object_set_new(o, "error", json_null());
	free(red);
	if (c->approval_note)
		json_object_set_new(o, "approval", jtext(code == 130 ?
		    "Command required approval and was approved by the user, "
		    "then interrupted." : c->approval_note));
	if ((meaning = exit_meaning(c->command, code)) != NULL)
		json_object_set_new(o, "exit_code_meaning", json_string(meaning));
	out = dumpj(o);
	/* the job is freed with the call */
	call_finish(c, code == 0, out, 1, code);
	free(out);
}

static struct bgproc *
proc_find(const char *id)
{
	struct bgproc	*p;

	LIST_FOREACH(p, &R.procs, entry)
		if (strcmp(p->id, id) == 0)
			return p;
	return NULL;
}

static void
proc_free(struct bgproc *p)
{
	LIST_REMOVE(p, entry);
	R.nprocs--;
	tool_job_free(p->job);
	free(p->session);
	free(p->cwd);
	free(p);
}

static void	 wait_answer(struct call *, struct bgproc *, int timed_out);

static void
bg_done(struct tool_job *j, void *arg)
{
	struct bgproc	*p = arg;
	struct call	*c, *next;
	struct ipc_buf	*b;
	char		*tail, *text;

	/* Answer the calls waiting on it. */
	for (c = TAILQ_FIRST(&R.calls); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->state == C_WAITING && c->waiting_on == p)
			wait_answer(c, p, 0);
	}
	if (!p->notify)
		return;
	tail = tool_job_tail(j, 2000);
	{
		size_t n = tool_strip_ansi(tail, strlen(tail));
		tail[n] = '\0';
	}
	xasprintf(&text, "[Background process %s finished with exit code %d]"
	    "\nCommand: %s\nOutput (last 2000 chars):\n%s", p->id,
	    tool_job_exit_code(j), tool_job_command(j), tail);
	free(tail);
	b = ipc_new(IPC_MSG_TOOL_NOTIFY, 0);
	ipc_add_str(b, "session", p->session);
	ipc_add_str(b, "process_id", p->id);
	ipc_add_i64(b, "exit_code", tool_job_exit_code(j));
	{
		char *red = tool_redact(text, 0), *clean;
		size_t n;
		clean = tool_utf8_sanitize(red, strlen(red), &n);
		ipc_add_strn(b, "text", clean, n);
		free(clean);
		free(red);
	}
	free(text);
	(void)worker_send(R.w, ROLE_AGENT, b);
}

static struct bgproc *
proc_slot(void)
{
	struct bgproc	*p, *old = NULL;

	if (R.nprocs < TOOL_BG_MAX)
		return NULL;
	/* evict the least recently used finished process */
	LIST_FOREACH(p, &R.procs, entry)
		if (tool_job_done(p->job) && (old == NULL ||
		    p->last_used < old->last_used))
			old = p;
	if (old != NULL)
		proc_free(old);
	return old;
}

static void
start_background(struct call *c, struct session *s, const char *cwd)
{
	struct tool_job_spec	 sp = { 0 };
	struct bgproc		*p;
	char			 err[ERRLEN];
	json_t			*o;
	char			*out;

	(void)proc_slot();
	if (R.nprocs >= TOOL_BG_MAX) {
		terminal_error(c, "error", "Too many background processes (%d); "
		    "kill some with process(action=\"kill\")", TOOL_BG_MAX);
		return;
	}
	p = xcalloc(1, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "proc_%06x%06x",
	    arc4random() & 0xffffff, arc4random() & 0xffffff);
	p->session = xstrdup(c->session);
	p->cwd = xstrdup(cwd);
	p->started = time(NULL);
	p->notify = json_is_true(json_object_get(c->args, "notify_on_complete"));
	p->last_used = now_ms();
	sp.command = c->command;
	sp.state = &s->sh;
	sp.cwd = cwd;
	sp.background = 1;
	p->job = tool_job_start(R.w->base, R.be, &sp, bg_done, p, err,
	    sizeof(err));
	if (p->job == NULL) {
		free(p->session);
		free(p->cwd);
		free(p);
		terminal_error(c, "error", "Failed to start background process: "
		    "%s", err);
		return;
	}
	LIST_INSERT_HEAD(&R.procs, p, entry);
	R.nprocs++;
	o = json_object();
	json_object_set_new(o, "output", json_string("Background process "
	    "started"));
	json_object_set_new(o, "session_id", json_string(p->id));
	json_object_set_new(o, "pid", json_integer(tool_job_pid(p->job)));
	json_object_set_new(o, "exit_code", json_integer(0));
	json_object_set_new(o, "error", json_null());
	if (c->approval_note)
		json_object_set_new(o, "approval", jtext(c->approval_note));
	if (json_is_true(json_object_get(c->args, "pty")))
		json_object_set_new(o, "pty_note", json_string("PTY is not "
		    "available in the command sandbox; ran with pipes"));
	out = dumpj(o);
	call_finish(c, 1, out, 1, 0);
	free(out);
}

static void
run_terminal(struct call *c)
{
	struct session		*s = session_get(c->session);
	struct tool_job_spec	 sp = { 0 };
	const char		*wd;
	char			 err[ERRLEN], *cwd = NULL;
	long long		 to;
	json_t			*t;

	wd = json_string_value(json_object_get(c->args, "workdir"));
	if (wd != NULL && *wd != '\0') {
		if (wd[0] == '/')
			cwd = xstrdup(wd);
		else
			xasprintf(&cwd, "%s/%s", s->sh.cwd, wd);
	} else
		cwd = xstrdup(s->sh.cwd);
	if (json_is_true(json_object_get(c->args, "background"))) {
		start_background(c, s, cwd);
		free(cwd);
		return;
	}
	t = json_object_get(c->args, "timeout");
	to = json_is_integer(t) ? json_integer_value(t) : json_is_real(t) ?
	    (long long)json_real_value(t) : 0;
	sp.command = c->command;
	sp.state = &s->sh;
	sp.cwd = cwd;
	sp.timeout_s = to > 0 ? (unsigned)to : R.timeout_s;
	sp.max_chars = R.max_chars;
	c->state = C_RUNNING;
	c->job = tool_job_start(R.w->base, R.be, &sp, fg_done, c, err,
	    sizeof(err));
	if (c->job == NULL && strcmp(cwd, R.fs.root) != 0 &&
	    (wd == NULL || *wd == '\0')) {
		/* the session's cwd is gone: back to the workspace */
		free(s->sh.cwd);
		s->sh.cwd = xstrdup(R.fs.root);
		sp.cwd = R.fs.root;
		c->job = tool_job_start(R.w->base, R.be, &sp, fg_done, c, err,
		    sizeof(err));
	}
	free(cwd);
	if (c->job == NULL)
		terminal_error(c, "error", "Command execution failed: %s", err);
}

static void
on_approval_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct call	*c = arg;

	terminal_error(c, "blocked", "BLOCKED: Command timed out without user "
	    "response. The user has NOT consented to this action. Do NOT retry "
	    "this command, do NOT rephrase it, and do NOT attempt the same "
	    "outcome via a different command. Stop the current workflow and "
	    "wait for the user to respond before taking any further "
	    "destructive or irreversible action. Silence is not consent.");
}

static void
ask_approval(struct call *c, const struct tool_verdict_info *vi)
{
	struct ipc_buf	*b;
	char		*clean;
	size_t		 n;

	c->state = C_APPROVAL;
	c->approval_id = ++R.next_approval;
	c->pattern = xstrdup(c->command);
	free(c->approval_note);
	xasprintf(&c->approval_note, "Command required approval (%s) and was "
	    "approved by the user.", vi->reason);
	b = ipc_new(IPC_MSG_TOOL_APPROVAL, c->id);
	ipc_add_u64(b, "approval_id", c->approval_id);
	clean = tool_utf8_sanitize(c->command, strlen(c->command), &n);
	ipc_add_strn(b, "command", clean, n);
	free(clean);
	ipc_add_str(b, "reason", vi->reason);
	ipc_add_str(b, "pattern", c->pattern);
	if (worker_send(R.w, ROLE_AGENT, b) == -1) {
		terminal_error(c, "blocked", "BLOCKED: Failed to send approval "
		    "request to user. Do NOT retry.");
		return;
	}
	/* approvals.timeout: silence is a deny */
	c->timer = evtimer_new(R.w->base, on_approval_timeout, c);
	{
		struct timeval tv = { (time_t)R.approval_timeout_s, 0 };
		evtimer_add(c->timer, &tv);
	}
}

static void
tool_terminal(struct call *c)
{
	struct session		*s = session_get(c->session);
	struct tool_verdict_info vi;
	json_t			*cmd = json_object_get(c->args, "command");
	json_t			*t;

	if (!json_is_string(cmd)) {
		terminal_error(c, "error", "Invalid command: expected string, "
		    "got %s", cmd == NULL ? "NoneType" : json_is_integer(cmd) ?
		    "int" : json_is_array(cmd) ? "list" : json_is_object(cmd) ?
		    "dict" : "other");
		return;
	}
	if (strlen(json_string_value(cmd)) != json_string_length(cmd)) {
		terminal_error(c, "error", "Invalid command: contains NUL");
		return;
	}
	c->command = xstrdup(json_string_value(cmd));
	t = json_object_get(c->args, "timeout");
	if (!json_is_true(json_object_get(c->args, "background")) &&
	    json_is_integer(t) && json_integer_value(t) > TOOL_MAX_FG_TIMEOUT_S) {
		char *o;
		xasprintf(&o, "{\"error\": \"Foreground timeout %llds exceeds the "
		    "maximum of %ds. Use background=true with "
		    "notify_on_complete=true for long-running commands.\"}",
		    (long long)json_integer_value(t), TOOL_MAX_FG_TIMEOUT_S);
		call_finish(c, 0, o, 0, 0);
		free(o);
		return;
	}
	tool_check_command(&R.pol, c->command, s->approved, s->napproved, &vi);
	switch (vi.verdict) {
	case TOOL_V_ALLOW:
		run_terminal(c);
		return;
	case TOOL_V_BLOCK:
		if (vi.hardline)
			terminal_error(c, "blocked", "BLOCKED (hardline): %s. This "
			    "command is on the unconditional blocklist and cannot "
			    "be executed via the agent — not even with --yolo, "
			    "/yolo, approvals.mode=off, or cron approve mode. If "
			    "you genuinely need to run it, run it yourself in a "
			    "terminal outside the agent.", vi.reason);
		else
			terminal_error(c, "blocked", "BLOCKED: %s. It cannot be "
			    "executed via the agent. Do NOT retry or rephrase "
			    "this command.", vi.reason);
		return;
	case TOOL_V_ASK:
		if (c->parent != NULL) {
			terminal_error(c, "blocked", "BLOCKED: %s. Commands that "
			    "need the user's approval cannot run from "
			    "execute_code; call the terminal tool directly.",
			    vi.reason);
			return;
		}
		ask_approval(c, &vi);
		return;
	}
}

static void
on_approve(struct ipc_msg *m)
{
	struct call	*c = call_find(m->id);
	struct session	*s;
	const char	*choice;
	size_t		 clen;
	uint64_t	 aid;

	if (c == NULL || c->state != C_APPROVAL) {
		log_warnx("tool: approval for unknown call %llu",
		    (unsigned long long)m->id);
		return;
	}
	if (ipc_get_u64(m, "approval_id", &aid) == -1 ||
	    ipc_get_str(m, "choice", &choice, &clen) == -1)
		return;
	if (aid != c->approval_id) {
		log_warnx("tool: approval id mismatch for call %llu",
		    (unsigned long long)m->id);
		return;
	}
	if (clen == 4 && memcmp(choice, "once", 4) == 0)
		;
	else if (clen == 7 && memcmp(choice, "session", 7) == 0) {
		s = session_get(c->session);
		s->approved = xreallocarray(s->approved, s->napproved + 1,
		    sizeof(char *));
		s->approved[s->napproved++] = xstrdup(c->command);
	} else if (clen == 6 && memcmp(choice, "always", 6) == 0) {
		/* The agent writes it to command_allowlist (ALLOWLIST_ADD);
		 * this process keeps it for its lifetime. */
		R.pol.allowlist = xreallocarray(R.pol.allowlist, R.pol.nallow + 2,
		    sizeof(char *));
		R.pol.allowlist[R.pol.nallow++] = xstrdup(c->command);
		R.pol.allowlist[R.pol.nallow] = NULL;
	} else {
		terminal_error(c, "blocked", "BLOCKED: User denied this command. "
		    "The user has NOT consented to this action. Do NOT retry "
		    "this command, do NOT rephrase it, and do NOT attempt the "
		    "same outcome via a different command. Stop the current "
		    "workflow and wait for the user to respond before taking "
		    "any further destructive or irreversible action.");
		return;
	}
	if (c->timer != NULL) {
		event_free(c->timer);
		c->timer = NULL;
	}
	/* What runs is c->command: the bytes the user was shown. */
	run_terminal(c);
}

/* ---- process ------------------------------------------------------------ */

static void
wait_answer(struct call *c, struct bgproc *p, int timed_out)
{
	json_t	*o = json_object();
	char	*tail, *out;

	tail = tool_job_tail(p->job, timed_out ? 1000 : 2000);
	{
		size_t n = tool_strip_ansi(tail, strlen(tail));
		tail[n] = '\0';
	}
	if (!timed_out) {
		json_object_set_new(o, "status", json_string("exited"));
		json_object_set_new(o, "command", jtext(tool_job_command(p->job)));
		json_object_set_new(o, "exit_code",
		    json_integer(tool_job_exit_code(p->job)));
		json_object_set_new(o, "output", jtext(tail));
		if (c->wait_note)
			json_object_set_new(o, "timeout_note", jtext(c->wait_note));
	} else {
		json_object_set_new(o, "status", json_string("timeout"));
		json_object_set_new(o, "command", jtext(tool_job_command(p->job)));
		json_object_set_new(o, "output", jtext(tail));
		if (c->wait_note)
			json_object_set_new(o, "timeout_note", jtext(c->wait_note));
		else {
			char *n;
			xasprintf(&n, "Waited %us, process still running",
			    c->wait_s);
			json_object_set_new(o, "timeout_note", jtext(n));
			free(n);
		}
	}
	free(tail);
	out = dumpj(o);
	{
		char *red = tool_redact(out, 0);
		call_finish(c, 1, red, 0, 0);
		free(red);
	}
	free(out);
}

static void
on_wait_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct call	*c = arg;

	wait_answer(c, c->waiting_on, 1);
}

static void
proc_entry(json_t *arr, struct bgproc *p)
{
	char		 ts[32], *tail;
	struct tm	 tm;

	localtime_r(&p->started, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	tail = tool_job_tail(p->job, 200);
	json_array_append_new(arr, json_pack("{s:s,s:o,s:o,s:I,s:s,s:I,s:s,s:o}",
	    "session_id", p->id, "command", jtext(tool_job_command(p->job)),
	    "cwd", jtext(p->cwd), "pid", (json_int_t)tool_job_pid(p->job),
	    "started_at", ts, "uptime_seconds",
	    (json_int_t)(time(NULL) - p->started), "status",
	    tool_job_done(p->job) ? "exited" : "running", "output_preview",
	    jtext(tail)));
	free(tail);
}

static void
tool_process(struct call *c)
{
	const char	*action = json_string_value(json_object_get(c->args,
	    "action"));
	const char	*id = json_string_value(json_object_get(c->args,
	    "session_id"));
	struct bgproc	*p = NULL;
	json_t		*o;
	char		*out, *tail;

	if (action == NULL) {
		out = tool_json_error("action required");
		call_finish(c, 0, out, 0, 0);
		free(out);
		return;
	}
	if (strcmp(action, "list") == 0) {
		json_t *arr = json_array();
		LIST_FOREACH(p, &R.procs, entry)
			if (strcmp(p->session, c->session) == 0)
				proc_entry(arr, p);
		out = dumpj(json_pack("{s:o}", "processes", arr));
		call_finish(c, 1, out, 0, 0);
		free(out);
		return;
	}
	if (id == NULL || (p = proc_find(id)) == NULL ||
	    strcmp(p->session, c->session) != 0) {
		out = dumpj(json_pack("{s:s,s:o}", "status", "not_found", "error",
		    json_sprintf("No process with ID %s", id ? id : "")));
		call_finish(c, 0, out, 0, 0);
		free(out);
		return;
	}
	p->last_used = now_ms();
	o = json_object();
	if (strcmp(action, "poll") == 0) {
		tail = tool_job_tail(p->job, 1000);
		tail[tool_strip_ansi(tail, strlen(tail))] = '\0';
		json_object_set_new(o, "session_id", json_string(p->id));
		json_object_set_new(o, "command", jtext(tool_job_command(p->job)));
		json_object_set_new(o, "status", json_string(
		    tool_job_done(p->job) ? "exited" : "running"));
		json_object_set_new(o, "pid", json_integer(tool_job_pid(p->job)));
		json_object_set_new(o, "uptime_seconds",
		    json_integer(time(NULL) - p->started));
		json_object_set_new(o, "output_preview", jtext(tail));
		if (tool_job_done(p->job))
			json_object_set_new(o, "exit_code",
			    json_integer(tool_job_exit_code(p->job)));
		free(tail);
	} else if (strcmp(action, "log") == 0) {
		long long off = 0, lim = 200, total = 0, k;
		json_t *v;
		struct tool_sb sel = { 0 };
		char **lines = NULL, *save = NULL, *l;
		size_t nl = 0;
		v = json_object_get(c->args, "offset");
		if (json_is_integer(v) && json_integer_value(v) > 0)
			off = json_integer_value(v);
		v = json_object_get(c->args, "limit");
		if (json_is_integer(v) && json_integer_value(v) > 0)
			lim = json_integer_value(v);
		tail = tool_job_tail(p->job, 0);
		tail[tool_strip_ansi(tail, strlen(tail))] = '\0';
		for (l = strtok_r(tail, "\n", &save); l != NULL;
		    l = strtok_r(NULL, "\n", &save)) {
			lines = xreallocarray(lines, nl + 1, sizeof(*lines));
			lines[nl++] = l;
		}
		total = (long long)nl;
		long long from = off == 0 ? (total > lim ? total - lim : 0) : off;
		long long cnt = 0;
		for (k = from; k < total && k < from + lim; k++, cnt++) {
			if (sel.len)
				tool_sb_addc(&sel, '\n');
			tool_sb_adds(&sel, lines[k]);
		}
		json_object_set_new(o, "session_id", json_string(p->id));
		json_object_set_new(o, "command", jtext(tool_job_command(p->job)));
		json_object_set_new(o, "status", json_string(
		    tool_job_done(p->job) ? "exited" : "running"));
		json_object_set_new(o, "output", jtext(sel.s ? sel.s : ""));
		json_object_set_new(o, "total_lines", json_integer(total));
		json_object_set_new(o, "showing", json_sprintf("%lld lines", cnt));
		tool_sb_free(&sel);
		free(lines);
		free(tail);
	} else if (strcmp(action, "wait") == 0) {
		json_t *v = json_object_get(c->args, "timeout");
		unsigned to = R.timeout_s;
		json_decref(o);
		if (json_is_integer(v) && json_integer_value(v) > 0) {
			if ((unsigned long long)json_integer_value(v) > R.timeout_s)
				xasprintf(&c->wait_note, "Requested wait of %llds "
				    "was clamped to configured limit of %us",
				    (long long)json_integer_value(v), R.timeout_s);
			else
				to = (unsigned)json_integer_value(v);
		}
		c->wait_s = to;
		if (tool_job_done(p->job)) {
			wait_answer(c, p, 0);
			return;
		}
		c->state = C_WAITING;
		c->waiting_on = p;
		c->timer = evtimer_new(R.w->base, on_wait_timeout, c);
		{
			struct timeval tv = { (time_t)to, 0 };
			evtimer_add(c->timer, &tv);
		}
		return;
	} else if (strcmp(action, "kill") == 0) {
		if (tool_job_done(p->job)) {
			json_object_set_new(o, "status", json_string("already_exited"));
			json_object_set_new(o, "error", json_string("Process has "
			    "already finished"));
		} else {
			tool_job_kill(p->job, TOOL_END_KILLED);
			json_object_set_new(o, "status", json_string("killed"));
			json_object_set_new(o, "session_id", json_string(p->id));
		}
	} else if (strcmp(action, "write") == 0 || strcmp(action, "submit") == 0 ||
	    strcmp(action, "close") == 0) {
		const char *data = json_string_value(json_object_get(c->args,
		    "data"));
		if (tool_job_done(p->job)) {
			json_object_set_new(o, "status", json_string("already_exited"));
			json_object_set_new(o, "error", json_string("Process has "
			    "already finished"));
		} else if (strcmp(action, "close") == 0) {
			if (tool_job_close_stdin(p->job) == 0) {
				json_object_set_new(o, "status", json_string("ok"));
				json_object_set_new(o, "message",
				    json_string("stdin closed"));
			} else {
				json_object_set_new(o, "status", json_string("error"));
				json_object_set_new(o, "error", json_string("Process "
				    "stdin not available"));
			}
		} else {
			struct tool_sb d = { 0 };
			tool_sb_adds(&d, data ? data : "");
			if (strcmp(action, "submit") == 0)
				tool_sb_addc(&d, '\n');
			if (tool_job_write(p->job, d.s ? d.s : "", d.len, 0) == 0) {
				json_object_set_new(o, "status", json_string("ok"));
				json_object_set_new(o, "bytes_written",
				    json_integer((json_int_t)d.len));
			} else {
				json_object_set_new(o, "status", json_string("error"));
				json_object_set_new(o, "error", json_string("Process "
				    "stdin not available"));
			}
			tool_sb_free(&d);
		}
	} else {
		json_decref(o);
		out = tool_json_error("Unknown action: %s", action);
		call_finish(c, 0, out, 0, 0);
		free(out);
		return;
	}
	out = dumpj(o);
	{
		char *red = tool_redact(out, 0);
		call_finish(c, 1, red, 0, 0);
		free(red);
	}
	free(out);
}

/* ---- file tools --------------------------------------------------------- */

static void	 remote_file_tool(struct call *);

static void
file_tool(struct call *c)
{
	struct session	*s = session_get(c->session);
	char		*args, *out;
	json_t		*o;
	int		 ok;

	if (R.conf->files == NULL) {
		remote_file_tool(c);
		return;
	}
	args = json_dumps(c->args, 0);
	if (args == NULL)
		fatalx("json_dumps");
	out = R.conf->files(c->name, s->sh.cwd, args);
	free(args);
	o = json_loads(out, 0, NULL);
	ok = o != NULL && json_object_get(o, "error") == NULL &&
	    !json_is_false(json_object_get(o, "success"));
	json_decref(o);
	call_finish(c, ok, out, 0, 0);
	free(out);
}

/* ---- file tools on a remote backend (ssh, docker) ------------------------ */

/*
 * Run as small shell programs on the remote side through the same jobs
 * as commands: reads come back base64-encoded (exact bytes) and are
 * formatted here exactly as locally; writes go in on stdin to a temp
 * file that is renamed over the target; searches use grep -rnIE / find.
 * The remote host is the boundary here, as it is for the terminal.
 */
enum { FOP_READ = 1, FOP_WRITE, FOP_SEARCH, FOP_PATCH_READ, FOP_PATCH_WRITE };

#define REMOTE_READ_MAX	(4 * 1024 * 1024)
#define INLINE_WRITE_MAX	(90 * 1024)	/* base64 of it < 128 KiB */

static void	 fop_done(struct tool_job *, void *);

static void
shq_add(struct tool_sb *sb, const char *s)
{
	tool_sb_addc(sb, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			tool_sb_adds(sb, "'\\''");
		else
			tool_sb_addc(sb, *s);
	}
	tool_sb_addc(sb, '\'');
}

static int
b64v(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static char *
b64_decode(const char *s, size_t *outlen)
{
	size_t	 n = strlen(s), o = 0;
	char	*out = xmalloc(n * 3 / 4 + 4);
	unsigned acc = 0;
	int	 bits = 0, v;

	for (; *s; s++) {
		if ((v = b64v((unsigned char)*s)) < 0)
			continue;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

static int
memfd_of(const char *data, size_t len)
{
	int	 fd = memfd_create("hermes-file", MFD_CLOEXEC);
	size_t	 off = 0;
	ssize_t	 w;

	if (fd == -1)
		return -1;
	while (off < len) {
		if ((w = write(fd, data + off, len - off)) <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	(void)lseek(fd, 0, SEEK_SET);
	return fd;
}

static char *
remote_abs(struct session *s, const char *path)
{
	char	*p;

	if (path[0] == '/' || s->sh.cwd == NULL || s->sh.cwd[0] == '\0')
		return xstrdup(path);
	xasprintf(&p, "%s/%s", s->sh.cwd, path);
	return p;
}

static void
fop_start(struct call *c, int op, const char *cmd, int stdin_fd,
    size_t max_chars)
{
	struct session		*s = session_get(c->session);
	struct tool_job_spec	 sp = { 0 };
	char			 err[ERRLEN], *o;

	c->fop = op;
	free(c->command);
	c->command = xstrdup(cmd);
	sp.command = c->command;
	sp.state = &s->sh;
	sp.timeout_s = R.timeout_s;
	sp.max_chars = max_chars;
	sp.stdin_fd = stdin_fd;
	c->state = C_RUNNING;
	if (c->job != NULL) {
		tool_job_free(c->job);
		c->job = NULL;
	}
	c->job = tool_job_start(R.w->base, R.be, &sp, fop_done, c, err,
	    sizeof(err));
	if (c->job == NULL) {
		o = tool_json_error("%s failed: %s", c->name, err);
		call_finish(c, 0, o, 0, 0);
		free(o);
	}
}

static void
fop_read_cmd(struct tool_sb *sb, const char *path)
{
	tool_sb_adds(sb, "f=");
	shq_add(sb, path);
	tool_sb_printf(sb, "; [ -e \"$f\" ] || { echo NOENT; exit 3; }; "
	    "[ -d \"$f\" ] && { echo ISDIR; exit 4; }; s=$(wc -c < \"$f\") || "
	    "exit 5; [ \"$s\" -gt %d ] && { echo BIG; exit 6; }; echo \"$s\"; "
	    "base64 -w0 -- \"$f\"", REMOTE_READ_MAX);
}

static void
fop_write(struct call *c, const char *path, const char *data, size_t len,
    int op)
{
	struct tool_sb	 sb = { 0 };
	int		 fd;
	char		*o;

	if (R.conf->no_stdin) {
		/* one argv string carries the bytes: bash -c's argument is
		 * bounded by MAX_ARG_STRLEN (128 KiB) */
		static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
		    "opqrstuvwxyz0123456789+/";
		size_t i;
		if (len > INLINE_WRITE_MAX) {
			o = tool_json_error("write_file: %zu bytes is more than this "
			    "backend takes in one write (%d); write it in parts with "
			    "the terminal tool", len, INLINE_WRITE_MAX);
			call_finish(c, 0, o, 0, 0);
			free(o);
			return;
		}
		tool_sb_adds(&sb, "printf %s '");
		for (i = 0; i < len; i += 3) {
			unsigned v = (unsigned char)data[i] << 16;
			if (i + 1 < len)
				v |= (unsigned char)data[i + 1] << 8;
			if (i + 2 < len)
				v |= (unsigned char)data[i + 2];
			tool_sb_addc(&sb, b64[(v >> 18) & 63]);
			tool_sb_addc(&sb, b64[(v >> 12) & 63]);
			tool_sb_addc(&sb, i + 1 < len ? b64[(v >> 6) & 63] : '=');
			tool_sb_addc(&sb, i + 2 < len ? b64[v & 63] : '=');
		}
		tool_sb_adds(&sb, "' | base64 -d | { p=");
		shq_add(&sb, path);
		tool_sb_adds(&sb, "; d=$(dirname -- \"$p\"); n=false; [ -d \"$d\" ] || "
		    "n=true; mkdir -p -- \"$d\" || exit 5; t=\"$p.hermes-tmp.$$\"; "
		    "if cat > \"$t\" && mv -f -- \"$t\" \"$p\"; then echo \"$n\"; "
		    "else rm -f -- \"$t\"; exit 5; fi; }");
		fop_start(c, op, sb.s, -1, 4096);
		tool_sb_free(&sb);
		return;
	}
	if ((fd = memfd_of(data, len)) == -1) {
		o = tool_json_error("write_file: memfd: %s", strerror(errno));
		call_finish(c, 0, o, 0, 0);
		free(o);
		return;
	}
	tool_sb_adds(&sb, "p=");
	shq_add(&sb, path);
	tool_sb_adds(&sb, "; d=$(dirname -- \"$p\"); n=false; [ -d \"$d\" ] || "
	    "n=true; mkdir -p -- \"$d\" || exit 5; t=\"$p.hermes-tmp.$$\"; "
	    "if cat > \"$t\" && mv -f -- \"$t\" \"$p\"; then echo \"$n\"; else "
	    "rm -f -- \"$t\"; exit 5; fi");
	fop_start(c, op, sb.s, fd, 4096);
	tool_sb_free(&sb);
}

static void
remote_file_tool(struct call *c)
{
	struct session	*s = session_get(c->session);
	const char	*path = json_string_value(json_object_get(c->args, "path"));
	struct tool_sb	 sb = { 0 };
	char		*o;

	if (strcmp(c->name, "search_files") == 0) {
		const char *pat = json_string_value(json_object_get(c->args,
		    "pattern"));
		const char *target = json_string_value(json_object_get(c->args,
		    "target"));
		const char *glob = json_string_value(json_object_get(c->args,
		    "file_glob"));
		json_t *lv = json_object_get(c->args, "limit");
		json_t *ov = json_object_get(c->args, "offset");
		long long lim = json_is_integer(lv) && json_integer_value(lv) > 0 ?
		    json_integer_value(lv) : TOOL_SEARCH_DEFAULT_LIMIT;
		long long off = json_is_integer(ov) && json_integer_value(ov) > 0 ?
		    json_integer_value(ov) : 0;
		if (pat == NULL) {
			o = tool_json_error("pattern required");
			call_finish(c, 0, o, 0, 0);
			free(o);
			return;
		}
		tool_sb_adds(&sb, "cd -- ");
		shq_add(&sb, path ? path : ".");
		tool_sb_adds(&sb, " 2>/dev/null || { echo NODIR; exit 3; }; ");
		if (target != NULL && strcmp(target, "files") == 0) {
			tool_sb_adds(&sb, "find . -path ./.git -prune -o -type f "
			    "-name ");
			shq_add(&sb, pat);
			tool_sb_adds(&sb, " -print");
		} else {
			tool_sb_adds(&sb, "grep -rnIE --exclude-dir=.git "
			    "--exclude-dir=node_modules ");
			if (glob != NULL) {
				tool_sb_adds(&sb, "--include=");
				shq_add(&sb, glob);
				tool_sb_addc(&sb, ' ');
			}
			tool_sb_adds(&sb, "-e ");
			shq_add(&sb, pat);
			tool_sb_adds(&sb, " . 2>/dev/null");
		}
		tool_sb_printf(&sb, " | head -n %lld", off + lim + 1);
		c->fop_data = NULL;
		free(c->fop_path);
		xasprintf(&c->fop_path, "%lld %lld %d", off, lim,
		    target != NULL && strcmp(target, "files") == 0);
		fop_start(c, FOP_SEARCH, sb.s, -1, 2000000);
		tool_sb_free(&sb);
		return;
	}
	if (path == NULL || *path == '\0') {
		o = tool_json_error("path required");
		call_finish(c, 0, o, 0, 0);
		free(o);
		return;
	}
	c->fop_path = remote_abs(s, path);
	if (strcmp(c->name, "read_file") == 0) {
		fop_read_cmd(&sb, c->fop_path);
		fop_start(c, FOP_READ, sb.s, -1, REMOTE_READ_MAX / 3 * 4 + 4096);
	} else if (strcmp(c->name, "write_file") == 0) {
		json_t *ct = json_object_get(c->args, "content");
		if (!json_is_string(ct)) {
			o = tool_json_error("content required");
			call_finish(c, 0, o, 0, 0);
			free(o);
			return;
		}
		c->fop_data = xstrdup(json_string_value(ct));
		fop_write(c, c->fop_path, json_string_value(ct),
		    json_string_length(ct), FOP_WRITE);
	} else if (strcmp(c->name, "patch") == 0) {
		const char *mode = json_string_value(json_object_get(c->args,
		    "mode"));
		if (mode != NULL && strcmp(mode, "replace") != 0) {
			o = tool_json_error("patch mode=%s is not available on this "
			    "backend yet; use mode=replace", mode);
			call_finish(c, 0, o, 0, 0);
			free(o);
			return;
		}
		fop_read_cmd(&sb, c->fop_path);
		fop_start(c, FOP_PATCH_READ, sb.s, -1, REMOTE_READ_MAX / 3 * 4 +
		    4096);
	}
	tool_sb_free(&sb);
}

static void
fop_done(struct tool_job *j, void *arg)
{
	struct call	*c = arg;
	const char	*path = json_string_value(json_object_get(c->args, "path"));
	char		*out = tool_job_output(j), *o = NULL, *data, *nl;
	int		 code = tool_job_exit_code(j);
	size_t		 len;
	json_t		*r;

	if (tool_job_end(j) != TOOL_END_EXIT) {
		o = tool_json_error("%s: timed out or interrupted", c->name);
		goto done;
	}
	switch (c->fop) {
	case FOP_READ:
	case FOP_PATCH_READ:
		if (code == 3) {
			o = tool_json_error("File not found: %s", path);
			break;
		}
		if (code == 4 || code == 6 || code != 0) {
			o = tool_json_error("Cannot read %s: %s", path, code == 4 ?
			    "is a directory" : code == 6 ? "file too large" :
			    "read failed");
			break;
		}
		nl = strchr(out, '\n');
		data = b64_decode(nl ? nl + 1 : "", &len);
		if (c->fop == FOP_READ) {
			char *args = json_dumps(c->args, 0);
			int fd = memfd_of(data, len);
			o = fd == -1 ? tool_json_error("memfd: %s", strerror(errno)) :
			    tool_read_fd(fd, (off_t)len, path, args, R.fs.read_max_chars);
			free(args);
			free(data);
			break;
		}
		/* patch: replace, then write back */
		if (strlen(data) != len) {
			free(data);
			o = xstrdup("{\"success\": false, \"error\": \"file contains "
			    "NUL bytes; not patched\"}");
			break;
		}
		{
			const char *st = NULL;
			char *ferr = NULL, *nc;
			int cnt;
			const char *old = json_string_value(json_object_get(c->args,
			    "old_string"));
			const char *new = json_string_value(json_object_get(c->args,
			    "new_string"));
			if (old == NULL || new == NULL) {
				free(data);
				o = tool_json_error("old_string and new_string "
				    "required");
				break;
			}
			nc = tool_fuzzy_replace(data, old, new, json_is_true(
			    json_object_get(c->args, "replace_all")), &cnt, &st,
			    &ferr);
			if (nc == NULL) {
				r = json_pack("{s:b,s:o}", "success", 0, "error",
				    jtext(ferr));
				o = dumpj(r);
				free(ferr);
				free(data);
				break;
			}
			c->fop_data = tool_unified_diff(data, nc, path);
			free(data);
			free(out);
			fop_write(c, c->fop_path, nc, strlen(nc), FOP_PATCH_WRITE);
			free(nc);
			return;
		}
	case FOP_WRITE:
		if (code != 0) {
			o = tool_json_error("Failed to write file: %s", path);
			break;
		}
		r = json_pack("{s:I,s:b}", "bytes_written",
		    (json_int_t)strlen(c->fop_data), "dirs_created",
		    strncmp(out, "true", 4) == 0);
		o = dumpj(r);
		break;
	case FOP_PATCH_WRITE:
		if (code != 0) {
			r = json_pack("{s:b,s:s}", "success", 0, "error",
			    "Failed to write changes");
			o = dumpj(r);
			break;
		}
		r = json_pack("{s:b,s:o,s:[s]}", "success", 1, "diff",
		    jtext(c->fop_data), "files_modified", path);
		o = dumpj(r);
		break;
	case FOP_SEARCH: {
		long long off = 0, lim = 0, seen = 0;
		int files = 0;
		char *save = NULL, *line;
		json_t *arr = json_array();
		sscanf(c->fop_path, "%lld %lld %d", &off, &lim, &files);
		if (code == 3 && strncmp(out, "NODIR", 5) == 0) {
			json_decref(arr);
			o = tool_json_error("Search failed: no such directory");
			break;
		}
		for (line = strtok_r(out, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			if (seen++ < off)
				continue;
			if ((long long)json_array_size(arr) >= lim)
				break;
			if (strncmp(line, "./", 2) == 0)
				line += 2;
			if (files)
				json_array_append_new(arr, jtext(line));
			else {
				char *c1 = strchr(line, ':'), *c2;
				if (c1 == NULL || (c2 = strchr(c1 + 1, ':')) == NULL)
					continue;
				*c1 = *c2 = '\0';
				json_array_append_new(arr, json_pack("{s:o,s:I,s:o}",
				    "path", jtext(line), "line",
				    (json_int_t)strtoll(c1 + 1, NULL, 10), "content",
				    jtext(c2 + 1)));
			}
		}
		r = json_object();
		json_object_set_new(r, "total_count", json_integer(
		    (json_int_t)json_array_size(arr)));
		if (json_array_size(arr))
			json_object_set_new(r, files ? "files" : "matches", arr);
		else
			json_decref(arr);
		if (seen > off + lim)
			json_object_set_new(r, "truncated", json_true());
		o = dumpj(r);
		break;
	}
	default:
		o = tool_json_error("internal: unknown file step");
	}
done:
	free(out);
	{
		json_t *t = json_loads(o, 0, NULL);
		int ok = t != NULL && json_object_get(t, "error") == NULL;
		json_decref(t);
		call_finish(c, ok, o, 0, 0);
	}
	free(o);
}

/* ---- execute_code ------------------------------------------------------- */

/*
 * The script runs in the command sandbox like any command; its stdin is
 * one end of a socketpair, the tool channel: one JSON request per line
 * {"tool": name, "args": {...}}, one JSON result per line back (Hermes's
 * protocol over its RPC socket). Scripts may call terminal, read_file,
 * write_file, search_files and patch, at most TOOL_EXEC_CODE_MAX_CALLS
 * times; they cannot ask for approvals.
 */
static const char py_boot[] =
	"import json, os, socket, sys, types\n"
	"_s = socket.socket(fileno=0)\n"
	"def _call(tool, args):\n"
	"    args = {k: v for k, v in args.items() if v is not None}\n"
	"    _s.sendall((json.dumps({'tool': tool, 'args': args}) + '\\n').encode())\n"
	"    buf = b''\n"
	"    while not buf.endswith(b'\\n'):\n"
	"        c = _s.recv(65536)\n"
	"        if not c:\n"
	"            raise RuntimeError('tool channel closed')\n"
	"        buf += c\n"
	"    r = json.loads(buf.decode())\n"
	"    if isinstance(r, str):\n"
	"        try:\n"
	"            return json.loads(r)\n"
	"        except ValueError:\n"
	"            return r\n"
	"    return r\n"
	"def terminal(command, timeout=None, workdir=None):\n"
	"    return _call('terminal', {'command': command, 'timeout': timeout, 'workdir': workdir})\n"
	"def read_file(path, offset=1, limit=500):\n"
	"    return _call('read_file', {'path': path, 'offset': offset, 'limit': limit})\n"
	"def write_file(path, content):\n"
	"    return _call('write_file', {'path': path, 'content': content})\n"
	"def search_files(pattern, target='content', path='.', file_glob=None, limit=50, offset=0, output_mode='content', context=0):\n"
	"    return _call('search_files', {'pattern': pattern, 'target': target, 'path': path, 'file_glob': file_glob, 'limit': limit, 'offset': offset, 'output_mode': output_mode, 'context': context})\n"
	"def patch(path=None, old_string=None, new_string=None, replace_all=False, mode='replace', patch=None):\n"
	"    return _call('patch', {'mode': mode, 'path': path, 'old_string': old_string, 'new_string': new_string, 'replace_all': replace_all, 'patch': patch})\n"
	"def web_search(query, limit=5):\n"
	"    return _call('web_search', {'query': query, 'limit': limit})\n"
	"def web_extract(urls, char_limit=None):\n"
	"    return _call('web_extract', {'urls': urls, 'char_limit': char_limit})\n"
	"_m = types.ModuleType('hermes_tools')\n"
	"for _n in ('terminal', 'read_file', 'write_file', 'search_files', 'patch', 'web_search', 'web_extract'):\n"
	"    setattr(_m, _n, globals()[_n])\n"
	"sys.modules['hermes_tools'] = _m\n"
	"_code = os.environ.pop('HERMES_CODE')\n"
	"os.environ.pop('HERMES_BOOT', None)\n"
	"exec(compile(_code, '<execute_code>', 'exec'), {'__name__': '__main__'})\n";

static const char sh_boot[] =
	"hermes_tool() { builtin printf '{\"tool\": \"%s\", \"args\": %s}\\n' \"$1\" "
	"\"${2:-{\\}}\" >&0 && IFS= builtin read -r __hermes_reply <&0 && "
	"builtin printf '%s\\n' \"$__hermes_reply\"; }\n";

void
rpc_reply(struct call *p, const char *output)
{
	json_t		*j;
	char		*line;
	size_t		 n, off = 0;
	ssize_t		 w;

	if (p->rpc_fd == -1)
		return;
	/* one line: re-encode compactly (no raw newlines) */
	j = json_loads(output, 0, NULL);
	line = j ? json_dumps(j, JSON_COMPACT) : xstrdup("{\"error\": "
	    "\"bad tool result\"}");
	json_decref(j);
	n = strlen(line);
	line = xreallocarray(line, n + 2, 1);
	line[n++] = '\n';
	while (off < n) {
		w = write(p->rpc_fd, line + off, n - off);
		if (w == -1 && (errno == EINTR || errno == EAGAIN)) {
			usleep(1000);
			continue;
		}
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(line);
}

static void	 run_tool(struct call *);

static void
rpc_line(struct call *p, const char *line)
{
	static const char *const allowed[] = { "terminal", "read_file",
	    "write_file", "search_files", "patch" };
	json_t		*req, *args;
	const char	*tool;
	struct call	*k;
	size_t		 i;
	char		*e;

	req = json_loads(line, 0, NULL);
	tool = json_string_value(json_object_get(req, "tool"));
	args = json_object_get(req, "args");
	if (tool == NULL || (args != NULL && !json_is_object(args))) {
		e = tool_json_error("bad request: {\"tool\": name, \"args\": {}}");
		rpc_reply(p, e);
		free(e);
		json_decref(req);
		return;
	}
	if (++p->rpc_calls > TOOL_EXEC_CODE_MAX_CALLS) {
		e = tool_json_error("Tool call limit reached (%d per script)",
		    TOOL_EXEC_CODE_MAX_CALLS);
		rpc_reply(p, e);
		free(e);
		json_decref(req);
		return;
	}
	for (i = 0; i < nitems(allowed); i++)
		if (strcmp(tool, allowed[i]) == 0)
			break;
	if (i == nitems(allowed)) {
		e = tool_json_error("%s is not available from execute_code in "
		    "this runner", tool);
		rpc_reply(p, e);
		free(e);
		json_decref(req);
		return;
	}
	/* A call of its own, id 0, answered on the channel. */
	k = call_new(0, tool, p->session, args ? json_incref(args) :
	    json_object());
	k->parent = p;
	json_decref(req);
	run_tool(k);
}

static void
on_rpc(evutil_socket_t fd, short ev, void *arg)
{
	struct call	*p = arg;
	char		 buf[65536], *nl;
	ssize_t		 r;

	r = read(fd, buf, sizeof(buf));
	if (r <= 0) {
		if (r == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		event_del(p->rpc_ev);
		return;
	}
	if (p->rpc_in.len + (size_t)r > 4u * 1024 * 1024) {
		/* a request this large is not a request */
		event_del(p->rpc_ev);
		return;
	}
	tool_sb_add(&p->rpc_in, buf, (size_t)r);
	while (p->rpc_in.len > 0 && (nl = memchr(p->rpc_in.s, '\n',
	    p->rpc_in.len)) != NULL) {
		char *line = xstrndup(p->rpc_in.s, (size_t)(nl - p->rpc_in.s));
		size_t rest = p->rpc_in.len - (size_t)(nl + 1 - p->rpc_in.s);
		memmove(p->rpc_in.s, nl + 1, rest);
		p->rpc_in.len = rest;
		p->rpc_in.s[rest] = '\0';
		rpc_line(p, line);
		free(line);
	}
}

static void
code_done(struct tool_job *j, void *arg)
{
	struct call	*c = arg;
	char		*raw, *red, *out, *msg;
	json_t		*o;
	int		 code = tool_job_exit_code(j);
	enum tool_job_end end = tool_job_end(j);
	uint64_t	 ms = tool_job_elapsed_ms(j);

	raw = tool_job_output(j);
	raw[tool_strip_ansi(raw, strlen(raw))] = '\0';
	red = tool_redact(raw, 0);
	free(raw);
	o = json_object();
	if (end == TOOL_END_TIMEOUT) {
		xasprintf(&msg, "Script timed out after %ds and was killed.",
		    TOOL_EXEC_CODE_TIMEOUT_S);
		json_object_set_new(o, "status", json_string("timeout"));
		json_object_set_new(o, "output", jtext(red));
		json_object_set_new(o, "error", jtext(msg));
		free(msg);
	} else if (end != TOOL_END_EXIT) {
		struct tool_sb t = { 0 };
		tool_sb_adds(&t, red);
		tool_sb_adds(&t, "\n[execution interrupted — user sent a new "
		    "message]");
		json_object_set_new(o, "status", json_string("interrupted"));
		json_object_set_new(o, "output", jtext(t.s));
		tool_sb_free(&t);
	} else if (code != 0) {
		json_object_set_new(o, "status", json_string("error"));
		json_object_set_new(o, "output", jtext(red));
		json_object_set_new(o, "error", json_sprintf("Script exited with "
		    "code %d", code));
	} else {
		json_object_set_new(o, "status", json_string("success"));
		json_object_set_new(o, "output", jtext(red));
	}
	free(red);
	json_object_set_new(o, "tool_calls_made", json_integer(c->rpc_calls));
	json_object_set_new(o, "duration_seconds", json_real((double)(ms / 10) /
	    100.0));
	out = dumpj(o);
	call_finish(c, end == TOOL_END_EXIT && code == 0, out, 1, code);
	free(out);
}

static void
tool_execute_code(struct call *c)
{
	struct session		*s = session_get(c->session);
	struct tool_job_spec	 sp = { 0 };
	const char		*code = json_string_value(json_object_get(c->args,
	    "code"));
	const char		*lang = json_string_value(json_object_get(c->args,
	    "language"));
	char			*env[5], err[ERRLEN], *o;
	int			 sv[2], py;

	if (code == NULL || !R.conf->code) {
		o = tool_json_error(code == NULL ? "code required" : "execute_code "
		    "is not available on this backend");
		call_finish(c, 0, o, 0, 0);
		free(o);
		return;
	}
	if (c->parent != NULL) {
		o = tool_json_error("execute_code cannot be nested");
		call_finish(c, 0, o, 0, 0);
		free(o);
		return;
	}
	py = lang == NULL || strncmp(lang, "py", 2) == 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		o = tool_json_error("socketpair: %s", strerror(errno));
		call_finish(c, 0, o, 0, 0);
		free(o);
		return;
	}
	xasprintf(&env[0], "HERMES_BOOT=%s", py ? py_boot : sh_boot);
	xasprintf(&env[1], "HERMES_CODE=%s", code);
	env[2] = xstrdup("PYTHONDONTWRITEBYTECODE=1");
	env[3] = xstrdup("PYTHONUNBUFFERED=1");
	env[4] = NULL;
	c->is_code = 1;
	c->rpc_fd = sv[0];
	(void)set_nonblock(sv[0]);
	c->rpc_ev = event_new(R.w->base, sv[0], EV_READ | EV_PERSIST, on_rpc, c);
	event_add(c->rpc_ev, NULL);
	c->command = xstrdup(py ? "exec python3 -c \"$HERMES_BOOT\"" :
	    "eval \"$HERMES_BOOT\"; unset HERMES_BOOT; __c=$HERMES_CODE; "
	    "unset HERMES_CODE; eval \"$__c\"");
	sp.command = c->command;
	sp.state = &s->sh;
	sp.timeout_s = TOOL_EXEC_CODE_TIMEOUT_S;
	sp.max_chars = TOOL_EXEC_CODE_STDOUT;
	sp.stdin_fd = sv[1];
	sp.extra_env = (const char *const *)env;
	c->state = C_RUNNING;
	c->job = tool_job_start(R.w->base, R.be, &sp, code_done, c, err,
	    sizeof(err));
	for (py = 0; py < 4; py++)
		free(env[py]);
	if (c->job == NULL) {
		o = tool_json_error("execute_code failed: %s", err);
		call_finish(c, 0, o, 0, 0);
		free(o);
	}
}

/* ---- dispatch ------------------------------------------------------------ */

static const struct {
	const char	*name;
	void		(*run)(struct call *);
} tools[] = {
	{ "terminal", tool_terminal },
	{ "process", tool_process },
	{ "read_file", file_tool },
	{ "write_file", file_tool },
	{ "patch", file_tool },
	{ "search_files", file_tool },
	{ "execute_code", tool_execute_code },
};

static void
run_tool(struct call *c)
{
	size_t	 i;
	char	*out;

	for (i = 0; i < nitems(tools); i++)
		if (strcmp(tools[i].name, c->name) == 0) {
			tools[i].run(c);
			return;
		}
	out = tool_json_error("Unknown tool: %s", c->name);
	call_finish(c, 0, out, 0, 0);
	free(out);
}

static void
on_call(struct ipc_msg *m)
{
	char		*name, *session, *args_s, *out;
	json_t		*args;
	json_error_t	 je;
	struct call	*c;
	size_t		 i;

	name = ipc_get_strdup(m, "name");
	session = ipc_get_strdup(m, "session");
	args_s = ipc_get_strdup(m, "args");
	if (name == NULL || session == NULL || args_s == NULL) {
		send_result(m->id, 0, "{\"error\": \"bad tool call\"}", 0, 0, 0);
		goto out;
	}
	if (call_find(m->id) != NULL) {
		log_warnx("tool: duplicate call id %llu",
		    (unsigned long long)m->id);
		goto out;
	}
	args = json_loads(args_s, 0, &je);
	if (args == NULL || !json_is_object(args)) {
		json_decref(args);
		out = tool_json_error("Invalid tool arguments (not a JSON object)"
		    ": %s", je.text);
		send_result(m->id, 0, out, 0, 0, 0);
		free(out);
		goto out;
	}
	c = call_new(m->id, name, session, args);
	for (i = 0; i < nitems(tools); i++) {
		if (strcmp(tools[i].name, name) != 0)
			continue;
		tools[i].run(c);
		goto out;
	}
	out = tool_json_error("Unknown tool: %s", name);
	call_finish(c, 0, out, 0, 0);
	free(out);
out:
	free(name);
	free(session);
	free(args_s);
}

static void
on_cancel(struct ipc_msg *m)
{
	struct call	*c = call_find(m->id);

	if (c == NULL)
		return;
	switch (c->state) {
	case C_RUNNING:
		if (c->job)
			tool_job_kill(c->job, TOOL_END_CANCEL);
		break;
	case C_APPROVAL:
		terminal_error(c, "blocked", "BLOCKED: Command interrupted "
		    "before the user approved it. The user has NOT consented to "
		    "this action.");
		break;
	case C_WAITING: {
		char *o = dumpj(json_pack("{s:s,s:o,s:s}", "status",
		    "interrupted", "command", jtext(tool_job_command(
		    c->waiting_on->job)), "note", "User sent a new message -- "
		    "wait interrupted"));
		call_finish(c, 0, o, 0, 0);
		free(o);
		break;
	}
	}
}

static void
on_context(struct ipc_msg *m)
{
	struct ipc_buf	*b;
	char		*session, *cwd, *files;
	struct session	*s;

	session = ipc_get_strdup(m, "session");
	cwd = ipc_get_strdup(m, "cwd");
	s = session_get(session ? session : "default");
	files = R.conf->files != NULL ? R.conf->files("context", cwd ? cwd :
	    s->sh.cwd, "{}") : xstrdup("[]");
	{
		json_t *j = json_loads(files, 0, NULL);
		if (!json_is_array(j)) {
			log_warnx("tool: context files: %s", files);
			free(files);
			files = xstrdup("[]");
		}
		json_decref(j);
	}
	b = ipc_new(IPC_MSG_TOOL_CONTEXT_FILES, m->id);
	ipc_add_str(b, "files", files);
	ipc_add_str(b, "cwd", cwd ? cwd : s->sh.cwd);
	(void)worker_send(R.w, ROLE_AGENT, b);
	free(files);
	free(session);
	free(cwd);
}

static void
on_session_end(struct ipc_msg *m)
{
	struct bgproc	*p, *pn;
	struct session	*s;
	struct call	*c, *cn;
	char		*id = ipc_get_strdup(m, "session");

	if (id == NULL)
		return;
	for (c = TAILQ_FIRST(&R.calls); c != NULL; c = cn) {
		cn = TAILQ_NEXT(c, entry);
		if (strcmp(c->session, id) == 0 && c->state == C_WAITING)
			on_cancel(&(struct ipc_msg){ .id = c->id });
	}
	for (p = LIST_FIRST(&R.procs); p != NULL; p = pn) {
		pn = LIST_NEXT(p, entry);
		if (strcmp(p->session, id) == 0)
			proc_free(p);	/* kills and reaps */
	}
	LIST_FOREACH(s, &R.sessions, entry)
		if (strcmp(s->id, id) == 0) {
			session_free(s);
			break;
		}
	free(id);
}

void
tool_runner_dispatch(struct worker *w, int from, struct ipc_peer *peer,
    struct ipc_msg *m)
{
	if (from != ROLE_AGENT) {
		log_warnx("tool: message %s from %s refused",
		    ipc_msg_name(m->type), ipc_role_name(from));
		return;
	}
	switch (m->type) {
	case IPC_MSG_TOOL_CALL:
		on_call(m);
		break;
	case IPC_MSG_TOOL_APPROVE:
		on_approve(m);
		break;
	case IPC_MSG_TOOL_CANCEL:
		on_cancel(m);
		break;
	case IPC_MSG_TOOL_CONTEXT:
		on_context(m);
		break;
	case IPC_MSG_TOOL_SESSION_END:
		on_session_end(m);
		break;
	default:
		log_warnx("tool: unexpected %s", ipc_msg_name(m->type));
		break;
	}
}

void
tool_runner_peer_changed(struct worker *w, int role, struct ipc_peer *peer)
{
	struct call	*c, *cn;

	if (role != ROLE_AGENT || peer != NULL)
		return;
	/* The agent went away: nobody will answer approvals or read results;
	 * stop what runs for it (background processes stay). */
	for (c = TAILQ_FIRST(&R.calls); c != NULL; c = cn) {
		cn = TAILQ_NEXT(c, entry);
		if (c->state == C_RUNNING && c->job)
			tool_job_kill(c->job, TOOL_END_CANCEL);
		else
			call_free(c);
	}
}

void
tool_runner_shutdown(struct worker *w)
{
	struct bgproc	*p;
	struct call	*c;

	while ((c = TAILQ_FIRST(&R.calls)) != NULL)
		call_free(c);
	while ((p = LIST_FIRST(&R.procs)) != NULL)
		proc_free(p);
	while (!LIST_EMPTY(&R.sessions))
		session_free(LIST_FIRST(&R.sessions));
}
