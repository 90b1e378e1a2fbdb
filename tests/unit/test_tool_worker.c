/*
 * hermes-tool-local through its real process and command sandbox: we
 * play the agent (tests/harness.h plays the supervisor). Every test ends
 * by checking that no process is left whose cwd is in the test's
 * workspace (every sandboxed command starts there) and none of the
 * test's marker commands is still running.
 */
/* Paths here are short temp paths; truncation cannot happen. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "tests/harness.h"

struct T {
	char		 ws[PATH_MAX];
	char		 home[PATH_MAX];
	char		 top[PATH_MAX];
	struct harness	*h;
	int		 fd;
	struct ipc_rbuf	*rb;
	uint64_t	 id;
	pid_t		 wpid;
};

struct reply {
	uint32_t	 type;		/* TOOL_RESULT or TOOL_APPROVAL */
	int		 ok;
	int64_t		 exit_code;
	char		*output;	/* result output or approval command */
	uint64_t	 approval_id;
	char		*reason;
	json_t		*json;		/* output parsed, when JSON */
};

static void
reply_free(struct reply *r)
{
	free(r->output);
	free(r->reason);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

static const char *
bindir(void)
{
	const char *b = getenv("B");

	return b && *b ? b : "build";
}

static void
rm_rf(const char *p)
{
	char	*cmd;

	if (xasprintf(&cmd, "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'", p,
	    p) > 0) {
		if (system(cmd) == -1)
			fprintf(stderr, "rm -rf %s failed\n", p);
		free(cmd);
	}
}

static struct T *
t_start(const char *mode, const char *extra)
{
	struct T	*t = xcalloc(1, sizeof(*t));
	char		 path[PATH_MAX], *cfg;

	strlcpy(t->top, "/tmp/hermes-tooltest-XXXXXX", sizeof(t->top));
	if (mkdtemp(t->top) == NULL)
		fail_msg("mkdtemp");
	snprintf(t->ws, sizeof(t->ws), "%s/ws", t->top);
	snprintf(t->home, sizeof(t->home), "%s/home", t->top);
	assert_int_equal(mkdir(t->ws, 0755), 0);
	assert_int_equal(mkdir(t->home, 0700), 0);
	xasprintf(&cfg, "{\"terminal\": {\"cwd\": \"%s\", \"timeout\": 20}, "
	    "\"approvals\": {\"mode\": \"%s\"}%s}", t->ws, mode, extra ? extra : "");
	snprintf(path, sizeof(path), "%s/hermes-tool-local", bindir());
	t->h = harness_spawn(path, ROLE_TOOL, t->home, cfg, NULL, 0);
	free(cfg);
	assert_non_null(t->h);
	t->wpid = harness_pid(t->h);
	t->fd = harness_peer(t->h, ROLE_AGENT);
	assert_true(t->fd >= 0);
	t->rb = ipc_rbuf_new(ROLE_AGENT, ROLE_TOOL, 0);
	t->id = 100;
	return t;
}

/* No process left behind: none with its cwd under our workspace, none
 * running one of the marker commands. */
static int
leftovers(const struct T *t)
{
	DIR		*d;
	struct dirent	*de;
	char		 p[64], link[PATH_MAX], cmd[4096];
	ssize_t		 n;
	int		 found = 0, fd;

	if ((d = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/cwd", de->d_name);
		n = readlink(p, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			if (strncmp(link, t->ws, strlen(t->ws)) == 0) {
				fprintf(stderr, "leftover pid %s cwd %s\n",
				    de->d_name, link);
				found++;
				continue;
			}
		}
		snprintf(p, sizeof(p), "/proc/%s/cmdline", de->d_name);
		if ((fd = open(p, O_RDONLY)) == -1)
			continue;
		n = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		if (n <= 0)
			continue;
		cmd[n] = '\0';
		if (strcmp(cmd, "sleep") == 0 && strncmp(cmd + 6, "777", 3) == 0) {
			fprintf(stderr, "leftover pid %s: sleep %s\n", de->d_name,
			    cmd + 6);
			found++;
		}
	}
	closedir(d);
	return found;
}

static void
t_stop(struct T *t)
{
	int	 i;

	ipc_rbuf_free(t->rb);
	harness_free(t->h);
	/* the sandbox inits die with the runner (PDEATHSIG); give the
	 * kernel a moment, then there must be nothing. */
	for (i = 0; i < 50 && leftovers(t) > 0; i++)
		usleep(20000);
	assert_int_equal(leftovers(t), 0);
	rm_rf(t->top);
	free(t);
}

static void
send_call(struct T *t, const char *name, const char *args, const char *session)
{
	struct ipc_buf	*b;

	b = ipc_new(IPC_MSG_TOOL_CALL, ++t->id);
	ipc_add_str(b, "name", name);
	ipc_add_str(b, "args", args);
	ipc_add_str(b, "session", session ? session : "s1");
	assert_int_equal(ipc_send_fd(t->fd, b), 0);
}

static void
recv_reply(struct T *t, struct reply *r, int timeout_ms)
{
	struct ipc_msg	 m;
	char		 err[256];
	int		 rc, ok;

	memset(r, 0, sizeof(*r));
	for (;;) {
		rc = ipc_recv_fd(t->fd, t->rb, timeout_ms, &m, err, sizeof(err));
		if (rc != 1) {
			fprintf(stderr, "recv: %s\nworker logs:\n%s\n", rc == 0 ?
			    "timeout" : err, harness_logs(t->h));
			fail_msg("no reply");
		}
		if (m.type == IPC_MSG_TOOL_NOTIFY)
			continue;
		break;
	}
	r->type = m.type;
	if (m.type == IPC_MSG_TOOL_RESULT) {
		assert_int_equal(m.id, t->id);
		assert_int_equal(ipc_get_bool(&m, "ok", &ok), 0);
		r->ok = ok;
		r->exit_code = -999;
		(void)ipc_get_i64(&m, "exit_code", &r->exit_code);
		r->output = ipc_get_strdup(&m, "output");
		assert_non_null(r->output);
		r->json = json_loads(r->output, 0, NULL);
		if (getenv("TEST_VERBOSE") != NULL)
			fprintf(stderr, "result: %.500s\n", r->output);
	} else if (m.type == IPC_MSG_TOOL_APPROVAL) {
		assert_int_equal(m.id, t->id);
		assert_int_equal(ipc_get_u64(&m, "approval_id", &r->approval_id), 0);
		r->output = ipc_get_strdup(&m, "command");
		r->reason = ipc_get_strdup(&m, "reason");
	} else
		fail_msg("unexpected %s", ipc_msg_name(m.type));
}

static void
call(struct T *t, const char *name, const char *args, struct reply *r)
{
	send_call(t, name, args, NULL);
	recv_reply(t, r, 60000);
}

static const char *
jget(struct reply *r, const char *k)
{
	json_t	*v;

	assert_non_null(r->json);
	v = json_object_get(r->json, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static char *
terminal_args(const char *cmd, const char *extra)
{
	json_t	*o = json_pack("{s:s}", "command", cmd);
	char	*s, *e;

	s = json_dumps(o, 0);
	json_decref(o);
	if (extra) {
		s[strlen(s) - 1] = '\0';
		xasprintf(&e, "%s, %s}", s, extra);
		free(s);
		s = e;
	}
	return s;
}

static void
run(struct T *t, const char *cmd, const char *extra, struct reply *r)
{
	char	*a = terminal_args(cmd, extra);

	call(t, "terminal", a, r);
	free(a);
}

/* ---- tests --------------------------------------------------------------- */

static void
test_echo_and_state(void **state)
{
	struct T	*t = t_start("manual", NULL);
	struct reply	 r;
	char		 want[PATH_MAX + 16];

	run(t, "echo hello; echo err >&2", NULL, &r);
	assert_int_equal(r.type, IPC_MSG_TOOL_RESULT);
	assert_int_equal(r.exit_code, 0);
	assert_string_equal(jget(&r, "output"), "hello\nerr");
	reply_free(&r);

	/* cwd and exported variables carry to the next fresh bash */
	run(t, "mkdir -p sub && cd sub && export HERMES_T=ok42", NULL, &r);
	assert_int_equal(r.exit_code, 0);
	reply_free(&r);
	run(t, "pwd; echo $HERMES_T", NULL, &r);
	snprintf(want, sizeof(want), "%s/sub\nok42", t->ws);
	assert_string_equal(jget(&r, "output"), want);
	reply_free(&r);

	/* exit codes, and Hermes's note for grep's 1 */
	run(t, "grep nothing /dev/null", NULL, &r);
	assert_int_equal(r.exit_code, 1);
	assert_string_equal(json_string_value(json_object_get(r.json,
	    "exit_code_meaning")), "No matches found (not an error)");
	reply_free(&r);

	/* secrets in output are redacted, ANSI stripped */
	run(t, "printf '\\033[31mred\\033[0m key sk-abcdefghijklmnopqrstuvwx\\n'",
	    NULL, &r);
	assert_string_equal(jget(&r, "output"), "red key sk-abc...uvwx");
	reply_free(&r);
	t_stop(t);
}

static void
test_sandboxed(void **state)
{
	struct T	*t = t_start("manual", NULL);
	struct reply	 r;
	char		*cmd;

	/* HERMES_HOME is invisible, the workspace the only writable root */
	xasprintf(&cmd, "echo secret > '%s/../home-probe' 2>&1; ls -A '%s' | wc -l;"
	    " touch /usr/hermes-probe 2>/dev/null && echo WROTE || echo ro",
	    t->ws, t->home);
	{
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s/canary", t->home);
		int fd = open(p, O_WRONLY | O_CREAT, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	run(t, cmd, NULL, &r);
	free(cmd);
	assert_non_null(strstr(jget(&r, "output"), "0\nro"));
	reply_free(&r);
	t_stop(t);
}

static void
test_timeout_kills_group(void **state)
{
	struct T	*t = t_start("manual", NULL);
	struct reply	 r;
	uint64_t	 t0 = now_ms();

	/* a never-ending command with a child in the background */
	run(t, "sleep 7771 & sleep 7772; echo never", "\"timeout\": 2", &r);
	assert_int_equal(r.exit_code, 124);
	assert_non_null(strstr(jget(&r, "output"),
	    "[Command timed out after 2s]"));
	assert_null(strstr(jget(&r, "output"), "never"));
	assert_true(now_ms() - t0 < 10000);
	reply_free(&r);
	/* both sleeps are gone now, not only at the end */
	{
		int i, n = 1;
		for (i = 0; i < 50 && (n = leftovers(t)) > 0; i++)
			usleep(20000);
		assert_int_equal(n, 0);
	}
	t_stop(t);
}

static void
test_gigabyte_output(void **state)
{
	struct T	*t = t_start("manual", NULL);
	struct reply	 r;
	char		 p[64], line[256];
	const char	*out;
	FILE		*f;
	long		 hwm = -1;

	run(t, "head -c 1073741824 /dev/zero | tr '\\0' a; echo; echo END",
	    "\"timeout\": 120", &r);
	assert_int_equal(r.exit_code, 0);
	out = jget(&r, "output");
	assert_non_null(out);
	assert_non_null(strstr(out, "[OUTPUT TRUNCATED - "));
	assert_non_null(strstr(out, "out of 1,073,741,829 total]"));
	assert_true(strlen(out) <= 50000);
	assert_string_equal(out + strlen(out) - 3, "END");
	reply_free(&r);
	snprintf(p, sizeof(p), "/proc/%d/status", (int)t->wpid);
	assert_non_null(f = fopen(p, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &hwm) == 1)
			break;
	fclose(f);
	fprintf(stderr, "runner peak RSS after 1 GiB: %ld kB\n", hwm);
	assert_true(hwm > 0 && hwm < 64 * 1024);
	t_stop(t);
}

static void
test_binary_output(void **state)
{
	struct T	*t = t_start("manual", NULL);
	struct reply	 r;

	/* random bytes (minus ESC and the C1 lead byte, which would start an
	 * escape sequence that legitimately swallows what follows) */
	run(t, "head -c 4096 /dev/urandom | tr -d '\\033\\302'; "
	    "printf '\\0\\377\\376 tail'", NULL, &r);
	assert_int_equal(r.type, IPC_MSG_TOOL_RESULT);
	assert_non_null(r.json);	/* still valid JSON and UTF-8 */
	assert_non_null(strstr(jget(&r, "output"), "\xe2\x90\x80\xef\xbf\xbd\xef\xbf\xbd tail"));
	reply_free(&r);
	t_stop(t);
}

static void
test_approval_flow(void **state)
{
	struct T	*t = t_start("manual", NULL);
	struct reply	 r;
	struct ipc_buf	*b;
	char		*a;

	/* hardline: refused, never asked */
	run(t, "rm -rf /", NULL, &r);
	assert_int_equal(r.type, IPC_MSG_TOOL_RESULT);
	assert_string_equal(jget(&r, "status"), "blocked");
	assert_non_null(strstr(jget(&r, "error"), "hardline"));
	reply_free(&r);

	/* dangerous: asked; deny */
	a = terminal_args("mkdir -p d/e && rm -r d && echo removed", NULL);
	send_call(t, "terminal", a, NULL);
	recv_reply(t, &r, 10000);
	assert_int_equal(r.type, IPC_MSG_TOOL_APPROVAL);
	assert_string_equal(r.output, "mkdir -p d/e && rm -r d && echo removed");
	assert_non_null(strstr(r.reason, "recursive delete"));
	b = ipc_new(IPC_MSG_TOOL_APPROVE, t->id);
	ipc_add_u64(b, "approval_id", r.approval_id);
	ipc_add_str(b, "choice", "deny");
	assert_int_equal(ipc_send_fd(t->fd, b), 0);
	reply_free(&r);
	recv_reply(t, &r, 10000);
	assert_int_equal(r.type, IPC_MSG_TOOL_RESULT);
	assert_string_equal(jget(&r, "status"), "blocked");
	reply_free(&r);

	/* approve for the session: runs exactly that, once asked */
	send_call(t, "terminal", a, NULL);
	recv_reply(t, &r, 10000);
	assert_int_equal(r.type, IPC_MSG_TOOL_APPROVAL);
	b = ipc_new(IPC_MSG_TOOL_APPROVE, t->id);
	ipc_add_u64(b, "approval_id", r.approval_id + 1000);	/* wrong id */
	ipc_add_str(b, "choice", "once");
	assert_int_equal(ipc_send_fd(t->fd, b), 0);
	b = ipc_new(IPC_MSG_TOOL_APPROVE, t->id);
	ipc_add_u64(b, "approval_id", r.approval_id);
	ipc_add_str(b, "choice", "session");
	assert_int_equal(ipc_send_fd(t->fd, b), 0);
	reply_free(&r);
	recv_reply(t, &r, 10000);
	assert_int_equal(r.type, IPC_MSG_TOOL_RESULT);
	assert_string_equal(jget(&r, "output"), "removed");
	assert_non_null(json_object_get(r.json, "approval"));
	reply_free(&r);

	/* the same bytes again: no question */
	send_call(t, "terminal", a, NULL);
	recv_reply(t, &r, 10000);
	assert_int_equal(r.type, IPC_MSG_TOOL_RESULT);
	reply_free(&r);
	free(a);

	/* a changed command asks again */
	a = terminal_args("mkdir -p d/e && rm -r d && echo removed ", NULL);
	send_call(t, "terminal", a, NULL);
	recv_reply(t, &r, 10000);
	assert_int_equal(r.type, IPC_MSG_TOOL_APPROVAL);
	reply_free(&r);
	/* cancel while pending: a blocked result, nothing ran */
	b = ipc_new(IPC_MSG_TOOL_CANCEL, t->id);
	assert_int_equal(ipc_send_fd(t->fd, b), 0);
	recv_reply(t, &r, 10000);
	assert_int_equal(r.type, IPC_MSG_TOOL_RESULT);
	assert_string_equal(jget(&r, "status"), "blocked");
	reply_free(&r);
	free(a);

	/* unanalysable shapes fail closed: asked */
	run(t, "echo $(id -u)", NULL, &r);
	assert_int_equal(r.type, IPC_MSG_TOOL_APPROVAL);
	reply_free(&r);
	t_stop(t);
}

static void
test_approvals_off(void **state)
{
	struct T	*t = t_start("off", ", \"command_allowlist\": []");
	struct reply	 r;

	run(t, "mkdir -p d && rm -r d && echo gone", NULL, &r);
	assert_int_equal(r.type, IPC_MSG_TOOL_RESULT);
	assert_string_equal(jget(&r, "output"), "gone");
	reply_free(&r);
	/* the hardline floor holds in mode off */
	run(t, "mkfs.ext4 /dev/sda1", NULL, &r);
	assert_int_equal(r.type, IPC_MSG_TOOL_RESULT);
	assert_string_equal(jget(&r, "status"), "blocked");
	reply_free(&r);
	t_stop(t);
}

static void
test_approvals_off_yaml_bool(void **state)
{
	/* `approvals: {mode: off}` arrives as false from YAML 1.1 */
	struct T	*t = t_start("manual", ", \"approvals\": {\"mode\": false}");
	struct reply	 r;

	run(t, "mkdir -p d && rm -r d && echo gone", NULL, &r);
	assert_int_equal(r.type, IPC_MSG_TOOL_RESULT);
	assert_string_equal(jget(&r, "output"), "gone");
	reply_free(&r);
	t_stop(t);
}

static void
test_approval_timeout(void **state)
{
	struct T	*t = t_start("manual", ", \"approvals\": {\"mode\": "
	    "\"manual\", \"timeout\": 1}");
	struct reply	 r;
	char		*a = terminal_args("mkdir -p q && rm -r q", NULL);

	send_call(t, "terminal", a, NULL);
	free(a);
	recv_reply(t, &r, 5000);
	assert_int_equal(r.type, IPC_MSG_TOOL_APPROVAL);
	reply_free(&r);
	/* nobody answers: denied after approvals.timeout */
	recv_reply(t, &r, 5000);
	assert_int_equal(r.type, IPC_MSG_TOOL_RESULT);
	assert_string_equal(jget(&r, "status"), "blocked");
	assert_non_null(strstr(jget(&r, "error"), "Silence is not consent"));
	reply_free(&r);
	t_stop(t);
}

static void
test_cancel_running(void **state)
{
	struct T	*t = t_start("manual", NULL);
	struct reply	 r;
	struct ipc_buf	*b;
	char		*a = terminal_args("echo started; sleep 7773", NULL);

	send_call(t, "terminal", a, NULL);
	free(a);
	usleep(300000);
	b = ipc_new(IPC_MSG_TOOL_CANCEL, t->id);
	assert_int_equal(ipc_send_fd(t->fd, b), 0);
	recv_reply(t, &r, 10000);
	assert_int_equal(r.exit_code, 130);
	assert_non_null(strstr(jget(&r, "output"), "[Command interrupted]"));
	reply_free(&r);
	t_stop(t);
}

static void
test_background(void **state)
{
	struct T	*t = t_start("manual", NULL);
	struct reply	 r;
	char		 id[64], *a;
	const char	*s;

	run(t, "echo bg-out; read x; echo got:$x; sleep 7774",
	    "\"background\": true", &r);
	s = jget(&r, "session_id");
	assert_non_null(s);
	assert_int_equal(strlen(s), 17);
	assert_int_equal(strncmp(s, "proc_", 5), 0);
	assert_true(strspn(s + 5, "0123456789abcdef") == 12);
	strlcpy(id, s, sizeof(id));
	reply_free(&r);

	xasprintf(&a, "{\"action\": \"submit\", \"session_id\": \"%s\", "
	    "\"data\": \"hi\"}", id);
	call(t, "process", a, &r);
	free(a);
	assert_string_equal(jget(&r, "status"), "ok");
	reply_free(&r);
	usleep(300000);
	xasprintf(&a, "{\"action\": \"poll\", \"session_id\": \"%s\"}", id);
	call(t, "process", a, &r);
	free(a);
	assert_string_equal(jget(&r, "status"), "running");
	assert_non_null(strstr(jget(&r, "output_preview"), "got:hi"));
	reply_free(&r);

	xasprintf(&a, "{\"action\": \"wait\", \"session_id\": \"%s\", "
	    "\"timeout\": 1}", id);
	call(t, "process", a, &r);
	free(a);
	assert_string_equal(jget(&r, "status"), "timeout");
	reply_free(&r);

	call(t, "process", "{\"action\": \"list\"}", &r);
	assert_int_equal(json_array_size(json_object_get(r.json, "processes")), 1);
	reply_free(&r);

	xasprintf(&a, "{\"action\": \"kill\", \"session_id\": \"%s\"}", id);
	call(t, "process", a, &r);
	free(a);
	assert_string_equal(jget(&r, "status"), "killed");
	reply_free(&r);
	xasprintf(&a, "{\"action\": \"wait\", \"session_id\": \"%s\"}", id);
	call(t, "process", a, &r);
	free(a);
	assert_string_equal(jget(&r, "status"), "exited");
	reply_free(&r);
	{
		int i, n = 1;
		for (i = 0; i < 50 && (n = leftovers(t)) > 0; i++)
			usleep(20000);
		assert_int_equal(n, 0);
	}
	t_stop(t);
}

static void
test_notify_and_session_end(void **state)
{
	struct T	*t = t_start("manual", NULL);
	struct reply	 r;
	struct ipc_buf	*b;
	struct ipc_msg	 m;
	char		 err[128], *text;
	int		 i, n = 1;

	/* notify_on_complete: a TOOL_NOTIFY when it ends */
	run(t, "echo done-bg", "\"background\": true, \"notify_on_complete\": true",
	    &r);
	assert_non_null(jget(&r, "session_id"));
	reply_free(&r);
	assert_int_equal(ipc_recv_fd(t->fd, t->rb, 10000, &m, err, sizeof(err)), 1);
	assert_int_equal(m.type, IPC_MSG_TOOL_NOTIFY);
	text = ipc_get_strdup(&m, "text");
	assert_non_null(strstr(text, "done-bg"));
	assert_non_null(strstr(text, "exit code 0"));
	free(text);

	/* the session ends: its background processes are killed */
	run(t, "sleep 7775", "\"background\": true", &r);
	reply_free(&r);
	b = ipc_new(IPC_MSG_TOOL_SESSION_END, 0);
	ipc_add_str(b, "session", "s1");
	assert_int_equal(ipc_send_fd(t->fd, b), 0);
	for (i = 0; i < 100 && (n = leftovers(t)) > 0; i++)
		usleep(20000);
	assert_int_equal(n, 0);
	call(t, "process", "{\"action\": \"list\"}", &r);
	assert_int_equal(json_array_size(json_object_get(r.json, "processes")), 0);
	reply_free(&r);
	t_stop(t);
}

static void
test_files_and_traversal(void **state)
{
	struct T	*t = t_start("manual", NULL);
	struct reply	 r;
	char		 p[PATH_MAX], q[PATH_MAX], *a;
	static const char *const bad[] = { "../home/canary", "/etc/passwd",
	    "/proc/self/root/etc/passwd", "linkdir/passwd", "finallink",
	    "hard", "~/.bashrc", "sub/../../home/canary", "magic/etc/passwd" };
	size_t		 i;
	int		 fd;

	/* write, read with line numbers */
	call(t, "write_file", "{\"path\": \"a/b.txt\", \"content\": "
	    "\"one\\ntwo\\nthree\\n\"}", &r);
	assert_int_equal(json_integer_value(json_object_get(r.json,
	    "bytes_written")), 14);
	reply_free(&r);
	call(t, "read_file", "{\"path\": \"a/b.txt\", \"offset\": 2, \"limit\": 1}",
	    &r);
	assert_string_equal(jget(&r, "content"), "2|two");
	assert_int_equal(json_integer_value(json_object_get(r.json,
	    "total_lines")), 3);
	assert_true(json_is_true(json_object_get(r.json, "truncated")));
	reply_free(&r);

	/* escapes of every kind are refused */
	snprintf(p, sizeof(p), "%s/canary", t->home);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "SECRET\n", 7), 7);
	close(fd);
	snprintf(q, sizeof(q), "%s/linkdir", t->ws);
	assert_int_equal(symlink("/etc", q), 0);
	snprintf(q, sizeof(q), "%s/finallink", t->ws);
	assert_int_equal(symlink(p, q), 0);
	snprintf(q, sizeof(q), "%s/hard", t->ws);
	assert_int_equal(link(p, q), 0);
	snprintf(q, sizeof(q), "%s/magic", t->ws);
	assert_int_equal(symlink("/proc/self/root", q), 0);
	snprintf(q, sizeof(q), "%s/sub", t->ws);
	assert_int_equal(mkdir(q, 0755), 0);
	for (i = 0; i < nitems(bad); i++) {
		xasprintf(&a, "{\"path\": \"%s\"}", bad[i]);
		call(t, "read_file", a, &r);
		assert_non_null(jget(&r, "error"));
		assert_null(strstr(r.output, "SECRET"));
		assert_null(strstr(r.output, "root:"));
		reply_free(&r);
		free(a);
		xasprintf(&a, "{\"path\": \"%s\", \"content\": \"pwned\"}", bad[i]);
		call(t, "write_file", a, &r);
		assert_non_null(jget(&r, "error"));
		reply_free(&r);
		free(a);
	}
	/* the canary is untouched */
	{
		char buf[32] = { 0 };
		fd = open(p, O_RDONLY);
		assert_int_equal(read(fd, buf, sizeof(buf) - 1), 7);
		close(fd);
		assert_string_equal(buf, "SECRET\n");
	}

	/* a patch that does not apply: clear error, file unchanged */
	call(t, "patch", "{\"mode\": \"replace\", \"path\": \"a/b.txt\", "
	    "\"old_string\": \"four\", \"new_string\": \"4\"}", &r);
	assert_true(json_is_false(json_object_get(r.json, "success")));
	assert_non_null(jget(&r, "error"));
	reply_free(&r);
	call(t, "patch", "{\"mode\": \"patch\", \"patch\": \"*** Begin Patch\\n"
	    "*** Update File: a/b.txt\\n@@\\n one\\n-zwei\\n+2\\n*** End Patch\"}",
	    &r);
	assert_true(json_is_false(json_object_get(r.json, "success")));
	reply_free(&r);
	call(t, "read_file", "{\"path\": \"a/b.txt\"}", &r);
	assert_string_equal(jget(&r, "content"), "1|one\n2|two\n3|three");
	reply_free(&r);

	/* one that applies */
	call(t, "patch", "{\"mode\": \"patch\", \"patch\": \"*** Begin Patch\\n"
	    "*** Update File: a/b.txt\\n@@\\n one\\n-two\\n+2\\n*** End Patch\"}",
	    &r);
	assert_true(json_is_true(json_object_get(r.json, "success")));
	reply_free(&r);
	call(t, "search_files", "{\"pattern\": \"^2$\"}", &r);
	assert_int_equal(json_integer_value(json_object_get(r.json,
	    "total_count")), 1);
	reply_free(&r);
	t_stop(t);
}

static void
test_context_files(void **state)
{
	struct T	*t = t_start("manual", NULL);
	struct ipc_buf	*b;
	struct ipc_msg	 m;
	char		 p[PATH_MAX], err[128], *files;
	json_t		*j;
	int		 fd;

	snprintf(p, sizeof(p), "%s/AGENTS.md", t->ws);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	assert_int_equal(write(fd, "be nice\n", 8), 8);
	close(fd);
	b = ipc_new(IPC_MSG_TOOL_CONTEXT, ++t->id);
	ipc_add_str(b, "session", "s1");
	assert_int_equal(ipc_send_fd(t->fd, b), 0);
	assert_int_equal(ipc_recv_fd(t->fd, t->rb, 5000, &m, err, sizeof(err)), 1);
	assert_int_equal(m.type, IPC_MSG_TOOL_CONTEXT_FILES);
	files = ipc_get_strdup(&m, "files");
	j = json_loads(files, 0, NULL);
	assert_int_equal(json_array_size(j), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0),
	    "content")), "be nice\n");
	json_decref(j);
	free(files);
	t_stop(t);
}

static void
test_execute_code(void **state)
{
	struct T	*t = t_start("manual", NULL);
	struct reply	 r;
	json_t		*a;
	char		*s;

	call(t, "write_file", "{\"path\": \"data.txt\", \"content\": \"42\\n\"}",
	    &r);
	reply_free(&r);
	a = json_pack("{s:s}", "code",
	    "from hermes_tools import terminal, read_file\n"
	    "r = terminal('echo from-script; id -u')\n"
	    "print('T', r['output'].splitlines()[0], r['exit_code'])\n"
	    "f = read_file('data.txt')\n"
	    "print('F', f['content'])\n"
	    "d = terminal('mkdir -p x && rm -r x')\n"
	    "print('D', d.get('status'))\n"
	    "n = 0\n"
	    "for i in range(60):\n"
	    "    if 'limit' in str(read_file('data.txt').get('error', '')):\n"
	    "        n += 1\n"
	    "print('L', n)\n");
	s = json_dumps(a, 0);
	json_decref(a);
	call(t, "execute_code", s, &r);
	free(s);
	assert_string_equal(jget(&r, "status"), "success");
	assert_non_null(strstr(jget(&r, "output"), "T from-script 0"));
	assert_non_null(strstr(jget(&r, "output"), "F 1|42"));
	/* what needs approval cannot run from a script */
	assert_non_null(strstr(jget(&r, "output"), "D blocked"));
	/* 50 calls per script: 3 made, 47 more allowed, 13 refused */
	assert_non_null(strstr(jget(&r, "output"), "L 13"));
	assert_int_equal(json_integer_value(json_object_get(r.json,
	    "tool_calls_made")), 63);
	reply_free(&r);

	/* a failing script: status error with the traceback */
	call(t, "execute_code", "{\"code\": \"raise SystemExit(3)\"}", &r);
	assert_string_equal(jget(&r, "status"), "error");
	reply_free(&r);
	/* bash flavour */
	call(t, "execute_code", "{\"language\": \"bash\", \"code\": "
	    "\"hermes_tool terminal '{\\\"command\\\": \\\"echo via-bash\\\"}'\"}",
	    &r);
	assert_string_equal(jget(&r, "status"), "success");
	assert_non_null(strstr(jget(&r, "output"), "via-bash"));
	reply_free(&r);
	t_stop(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo_and_state),
		cmocka_unit_test(test_sandboxed),
		cmocka_unit_test(test_timeout_kills_group),
		cmocka_unit_test(test_gigabyte_output),
		cmocka_unit_test(test_binary_output),
		cmocka_unit_test(test_approval_flow),
		cmocka_unit_test(test_approvals_off),
		cmocka_unit_test(test_approvals_off_yaml_bool),
		cmocka_unit_test(test_approval_timeout),
		cmocka_unit_test(test_cancel_running),
		cmocka_unit_test(test_background),
		cmocka_unit_test(test_notify_and_session_end),
		cmocka_unit_test(test_files_and_traversal),
		cmocka_unit_test(test_context_files),
		cmocka_unit_test(test_execute_code),
	};

	log_init("test_tool_worker", 0);
	/* No command sandbox on this kernel (no user namespaces...): say
	 * so and skip, rather than fail every test for the same reason. */
	{
		struct T *t = t_start("manual", NULL);
		struct reply r;
		run(t, "true", NULL, &r);
		if (r.exit_code != 0 && strstr(r.output, "command sandbox") != NULL) {
			printf("SKIP: %s\n", r.output);
			reply_free(&r);
			t_stop(t);
			return 77;
		}
		reply_free(&r);
		t_stop(t);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
