/*
 * hermes-tool-ssh live against a real Debian sshd that this test starts
 * on 127.0.0.1 (host and user keys generated in a temp dir; sshd killed
 * by pid). The "remote" is this machine, so leftover remote processes
 * are visible in /proc and are checked for after every test.
 */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
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

static char	 top[PATH_MAX];
static int	 port;
static pid_t	 sshd = -1;

static const char *
bindir(void)
{
	const char *b = getenv("B");

	return b && *b ? b : "build";
}

static int
sh(const char *fmt, ...)
{
	va_list	 ap;
	char	*c;
	int	 rc;

	va_start(ap, fmt);
	if (vasprintf(&c, fmt, ap) < 0)
		return -1;
	va_end(ap);
	rc = system(c);
	free(c);
	return rc;
}

static int
free_port(void)
{
	struct sockaddr_in	 a = { 0 };
	socklen_t		 l = sizeof(a);
	int			 s = socket(AF_INET, SOCK_STREAM, 0), p;

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) == -1 ||
	    getsockname(s, (struct sockaddr *)&a, &l) == -1)
		return -1;
	p = ntohs(a.sin_port);
	close(s);
	return p;
}

static int
port_open(void)
{
	struct sockaddr_in	 a = { 0 };
	int			 s = socket(AF_INET, SOCK_STREAM, 0), ok;

	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(s);
	return ok;
}

static int
group_setup(void **state)
{
	char	 cfg[PATH_MAX], *conf;
	FILE	*f;
	int	 i;

	if (access("/usr/sbin/sshd", X_OK) == -1) {
		fprintf(stderr, "SKIP: /usr/sbin/sshd not installed\n");
		return -1;
	}
	strlcpy(top, "/tmp/hermes-sshtest-XXXXXX", sizeof(top));
	if (mkdtemp(top) == NULL)
		return -1;
	if (sh("ssh-keygen -q -t ed25519 -N '' -f %s/host_key && "
	    "ssh-keygen -q -t ed25519 -N '' -f %s/user_key && "
	    "cp %s/user_key.pub %s/authorized_keys && mkdir -p %s/remote/sub",
	    top, top, top, top, top) != 0)
		return -1;
	/* sshd's privilege separation directory */
	if (access("/run/sshd", F_OK) == -1 && mkdir("/run/sshd", 0755) == -1)
		return -1;
	port = free_port();
	snprintf(cfg, sizeof(cfg), "%s/sshd_config", top);
	xasprintf(&conf, "Port %d\nListenAddress 127.0.0.1\nHostKey %s/host_key\n"
	    "PidFile %s/sshd.pid\nAuthorizedKeysFile %s/authorized_keys\n"
	    "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
	    "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
	    "LogLevel ERROR\nMaxSessions 64\nMaxStartups 64\n", port, top, top,
	    top);
	f = fopen(cfg, "w");
	fputs(conf, f);
	fclose(f);
	free(conf);
	if ((sshd = fork()) == 0) {
		execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-e", "-f", cfg,
		    (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 250 && !port_open(); i++)
		usleep(20000);
	if (!port_open())
		return -1;
	/* known_hosts: exactly the host key of this server */
	if (sh("printf '[127.0.0.1]:%d ' > %s/known_hosts && "
	    "cat %s/host_key.pub >> %s/known_hosts && "
	    "ssh-keygen -q -t ed25519 -N '' -f %s/other_key && "
	    "printf '[127.0.0.1]:%d ' > %s/wrong_hosts && "
	    "cat %s/other_key.pub >> %s/wrong_hosts", port, top, top, top, top,
	    port, top, top, top) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	int	 st;

	if (sshd > 0) {
		kill(sshd, SIGTERM);
		waitpid(sshd, &st, 0);
	}
	if (top[0])
		sh("rm -rf %s", top);
	return 0;
}

/* Anything of ours still running: remote commands (marker "hermes-"
 * argv[0] or our sleeps) and ssh clients using our keys. */
static int
leftovers_of(int all)
{
	DIR		*d = opendir("/proc");
	struct dirent	*de;
	char		 p[64], cmd[8192];
	int		 fd, found = 0;
	ssize_t		 n, i;

	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/cmdline", de->d_name);
		if ((fd = open(p, O_RDONLY)) == -1)
			continue;
		n = read(fd, cmd, sizeof(cmd) - 1);
		close(fd);
		if (n <= 0)
			continue;
		cmd[n] = '\0';
		for (i = 0; i < n; i++)
			if (cmd[i] == '\0')
				cmd[i] = ' ';
		if (strncmp(cmd, "sleep 778", 9) == 0 || (all &&
		    strstr(cmd, top) != NULL && strstr(cmd, "sshd") == NULL)) {
			fprintf(stderr, "leftover %s: %s\n", de->d_name, cmd);
			found++;
		}
	}
	closedir(d);
	return found;
}

/* Everything, once the worker is gone. */
static int
leftovers(void)
{
	return leftovers_of(1);
}

/* The remote commands, while the worker (and its master) still run. */
static int
remote_leftovers(void)
{
	return leftovers_of(0);
}

struct W {
	struct harness	*h;
	int		 fd;
	struct ipc_rbuf	*rb;
	uint64_t	 id;
};

static struct W *
w_start(const char *known)
{
	struct W	*w = xcalloc(1, sizeof(*w));
	char		 path[PATH_MAX], home[PATH_MAX], *cfg;

	snprintf(home, sizeof(home), "%s/home", top);
	(void)mkdir(home, 0700);
	xasprintf(&cfg, "{\"terminal\": {\"backend\": \"ssh\", \"ssh_host\": "
	    "\"127.0.0.1\", \"ssh_port\": %d, \"ssh_user\": \"root\", "
	    "\"ssh_key\": \"%s/user_key\", \"ssh_known_hosts\": \"%s/%s\", "
	    "\"cwd\": \"%s/remote\", \"timeout\": 20}, \"approvals\": "
	    "{\"mode\": \"manual\"}}", port, top, top, known, top);
	snprintf(path, sizeof(path), "%s/hermes-tool-ssh", bindir());
	w->h = harness_spawn(path, ROLE_TOOL, home, cfg, NULL, 0);
	free(cfg);
	assert_non_null(w->h);
	w->fd = harness_peer(w->h, ROLE_AGENT);
	w->rb = ipc_rbuf_new(ROLE_AGENT, ROLE_TOOL, 0);
	w->id = 1;
	return w;
}

static void
w_stop(struct W *w)
{
	int	 i;

	ipc_rbuf_free(w->rb);
	harness_free(w->h);
	free(w);
	for (i = 0; i < 100 && leftovers() > 0; i++)
		usleep(50000);
	assert_int_equal(leftovers(), 0);
}

static json_t *
term(struct W *w, const char *cmd, const char *extra, int64_t *code)
{
	struct ipc_buf	*b;
	struct ipc_msg	 m;
	json_t		*a = json_pack("{s:s}", "command", cmd), *j;
	char		*s, err[256];

	if (extra) {
		json_t *e = json_loads(extra, 0, NULL);
		json_object_update(a, e);
		json_decref(e);
	}
	s = json_dumps(a, 0);
	json_decref(a);
	b = ipc_new(IPC_MSG_TOOL_CALL, ++w->id);
	ipc_add_str(b, "name", "terminal");
	ipc_add_str(b, "args", s);
	ipc_add_str(b, "session", "ssh1");
	free(s);
	assert_int_equal(ipc_send_fd(w->fd, b), 0);
	if (ipc_recv_fd(w->fd, w->rb, 60000, &m, err, sizeof(err)) != 1) {
		fprintf(stderr, "recv: %s\n%s\n", err, harness_logs(w->h));
		fail();
	}
	assert_int_equal(m.type, IPC_MSG_TOOL_RESULT);
	*code = -999;
	(void)ipc_get_i64(&m, "exit_code", code);
	s = ipc_get_strdup(&m, "output");
	if (getenv("TEST_VERBOSE"))
		fprintf(stderr, "result: %.400s\n", s);
	j = json_loads(s, 0, NULL);
	free(s);
	assert_non_null(j);
	return j;
}

static const char *
out(json_t *j)
{
	const char *s = json_string_value(json_object_get(j, "output"));

	return s ? s : "";
}

static void
test_ssh_basic(void **state)
{
	struct W	*w = w_start("known_hosts");
	json_t		*j;
	int64_t		 code;
	char		 want[PATH_MAX];

	j = term(w, "echo over-ssh; echo $SSH_CONNECTION | cut -d' ' -f3", NULL,
	    &code);
	assert_int_equal(code, 0);
	assert_string_equal(out(j), "over-ssh\n127.0.0.1");
	json_decref(j);
	/* fresh remote shell each time, cwd and exports carried */
	j = term(w, "cd sub && export HERMES_SSH_T=v1", NULL, &code);
	json_decref(j);
	j = term(w, "pwd; echo $HERMES_SSH_T; exit 3", NULL, &code);
	snprintf(want, sizeof(want), "%s/remote/sub\nv1", top);
	assert_string_equal(out(j), want);
	assert_int_equal(code, 3);
	json_decref(j);
	w_stop(w);
}

static void
test_ssh_timeout(void **state)
{
	struct W	*w = w_start("known_hosts");
	json_t		*j;
	int64_t		 code;
	int		 i;

	j = term(w, "sleep 7781 & sleep 7782", "{\"timeout\": 2}", &code);
	assert_int_equal(code, 124);
	assert_non_null(strstr(out(j), "[Command timed out after 2s]"));
	json_decref(j);
	/* the remote process group is gone, not just the ssh client */
	for (i = 0; i < 100 && remote_leftovers() > 0; i++)
		usleep(50000);
	assert_int_equal(remote_leftovers(), 0);
	/* background: start, poll, kill */
	j = term(w, "echo bg; sleep 7783", "{\"background\": true}", &code);
	{
		struct ipc_buf *b;
		struct ipc_msg m;
		char *a, err[128], *o;
		const char *id = json_string_value(json_object_get(j,
		    "session_id"));
		assert_non_null(id);
		usleep(500000);
		xasprintf(&a, "{\"action\": \"kill\", \"session_id\": \"%s\"}", id);
		b = ipc_new(IPC_MSG_TOOL_CALL, ++w->id);
		ipc_add_str(b, "name", "process");
		ipc_add_str(b, "args", a);
		ipc_add_str(b, "session", "ssh1");
		free(a);
		assert_int_equal(ipc_send_fd(w->fd, b), 0);
		assert_int_equal(ipc_recv_fd(w->fd, w->rb, 20000, &m, err,
		    sizeof(err)), 1);
		o = ipc_get_strdup(&m, "output");
		assert_non_null(strstr(o, "killed"));
		free(o);
	}
	json_decref(j);
	for (i = 0; i < 100 && remote_leftovers() > 0; i++)
		usleep(50000);
	assert_int_equal(remote_leftovers(), 0);
	w_stop(w);
}

static json_t *
callj(struct W *w, const char *name, const char *args)
{
	struct ipc_buf	*b;
	struct ipc_msg	 m;
	char		*s, err[256];
	json_t		*j;

	b = ipc_new(IPC_MSG_TOOL_CALL, ++w->id);
	ipc_add_str(b, "name", name);
	ipc_add_str(b, "args", args);
	ipc_add_str(b, "session", "ssh1");
	assert_int_equal(ipc_send_fd(w->fd, b), 0);
	assert_int_equal(ipc_recv_fd(w->fd, w->rb, 60000, &m, err, sizeof(err)),
	    1);
	assert_int_equal(m.type, IPC_MSG_TOOL_RESULT);
	s = ipc_get_strdup(&m, "output");
	if (getenv("TEST_VERBOSE"))
		fprintf(stderr, "%s: %.300s\n", name, s);
	j = json_loads(s, 0, NULL);
	free(s);
	assert_non_null(j);
	return j;
}

static const char *
js(json_t *j, const char *k)
{
	const char *s = json_string_value(json_object_get(j, k));

	return s ? s : "";
}

static void
test_ssh_files(void **state)
{
	struct W	*w = w_start("known_hosts");
	json_t		*j;
	char		 p[PATH_MAX], buf[64] = { 0 };
	int		 fd;

	/* the file tools run on the remote side */
	j = callj(w, "write_file", "{\"path\": \"deep/er/f.txt\", \"content\": "
	    "\"alpha\\nbeta\\ngamma\\n\"}");
	assert_int_equal(json_integer_value(json_object_get(j, "bytes_written")),
	    17);
	assert_true(json_is_true(json_object_get(j, "dirs_created")));
	json_decref(j);
	snprintf(p, sizeof(p), "%s/remote/deep/er/f.txt", top);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 17);
	close(fd);
	j = callj(w, "read_file", "{\"path\": \"deep/er/f.txt\", \"offset\": 2}");
	assert_string_equal(js(j, "content"), "2|beta\n3|gamma");
	assert_int_equal(json_integer_value(json_object_get(j, "total_lines")), 3);
	json_decref(j);
	j = callj(w, "read_file", "{\"path\": \"nope.txt\"}");
	assert_string_equal(js(j, "error"), "File not found: nope.txt");
	json_decref(j);
	j = callj(w, "search_files", "{\"pattern\": \"^be\"}");
	assert_int_equal(json_integer_value(json_object_get(j, "total_count")), 1);
	assert_string_equal(js(json_array_get(json_object_get(j, "matches"), 0),
	    "path"), "deep/er/f.txt");
	json_decref(j);
	j = callj(w, "search_files", "{\"pattern\": \"*.txt\", \"target\": "
	    "\"files\"}");
	assert_int_equal(json_integer_value(json_object_get(j, "total_count")), 1);
	json_decref(j);
	j = callj(w, "patch", "{\"path\": \"deep/er/f.txt\", \"old_string\": "
	    "\"beta\", \"new_string\": \"BETA\"}");
	assert_true(json_is_true(json_object_get(j, "success")));
	assert_non_null(strstr(js(j, "diff"), "+BETA"));
	json_decref(j);
	/* does not apply: unchanged */
	j = callj(w, "patch", "{\"path\": \"deep/er/f.txt\", \"old_string\": "
	    "\"delta\", \"new_string\": \"x\"}");
	assert_true(json_is_false(json_object_get(j, "success")));
	json_decref(j);
	fd = open(p, O_RDONLY);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 17);
	close(fd);
	assert_string_equal(buf, "alpha\nBETA\ngamma\n");
	w_stop(w);
}

static void
test_ssh_strict_host_key(void **state)
{
	struct W	*w = w_start("wrong_hosts");
	json_t		*j;
	int64_t		 code;

	j = term(w, "echo should-not-run", NULL, &code);
	assert_int_equal(code, -1);
	{
		char *d = json_dumps(j, 0);
		assert_null(strstr(d, "should-not-run\""));
		free(d);
	}
	assert_non_null(strstr(json_string_value(json_object_get(j, "error")),
	    "ssh"));
	json_decref(j);
	w_stop(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ssh_basic),
		cmocka_unit_test(test_ssh_timeout),
		cmocka_unit_test(test_ssh_files),
		cmocka_unit_test(test_ssh_strict_host_key),
	};

	log_init("test_tool_ssh", 0);
	if (access("/usr/sbin/sshd", X_OK) == -1 ||
	    access("/usr/bin/ssh", X_OK) == -1 ||
	    access("/usr/bin/ssh-keygen", X_OK) == -1) {
		printf("SKIP: openssh-server/openssh-client not installed\n");
		return 77;
	}
	if (group_setup(NULL) != 0) {
		printf("SKIP: could not start sshd on 127.0.0.1 (%s)\n", top);
		group_teardown(NULL);
		return 77;
	}
	{
		int rc = cmocka_run_group_tests(tests, NULL, NULL);
		group_teardown(NULL);
		return rc;
	}
}
