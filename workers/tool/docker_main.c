/*
 * hermes-tool-docker: the terminal tool in a Docker container, through
 * the Engine API on its UNIX socket with libcurl (no docker CLI).
 *
 * One hardened container per session (sleep infinity; no new privileges,
 * every capability dropped but DAC_OVERRIDE, CHOWN, FOWNER as Hermes
 * keeps, pids/memory/cpu limits, tmpfs /tmp /var/tmp /run, network none
 * unless terminal.docker_network, the workspace bind-mounted at
 * /workspace, label hermes-agent=1 and hermes-tenant=<tenant>), reused
 * for the session, removed at session end and exit; containers of this
 * tenant left by an earlier run (orphans) are removed at start.
 *
 * Each command is an exec in the container, run by a child of this
 * process that speaks the API (create exec, start it and demultiplex the
 * raw stream: stdout to the job's output, stderr to its state pipe, then
 * read the exit code) and exits with the command's status; so the job
 * machinery is the same as for tool-local and tool-ssh. A timeout kills
 * the child and the command's process group in the container (by a
 * marker in its argv[0], with a second exec).
 *
 * Config: terminal.docker_image, terminal.docker_socket (default
 * /var/run/docker.sock), terminal.docker_network, container_cpu,
 * container_memory (MiB), the workspace (CONFIG.workspace or
 * terminal.cwd).
 */
#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "ipc/worker.h"
#include "sandbox/sandbox.h"
#include "workers/tool/docker.h"
#include "workers/tool/exec.h"
#include "workers/tool/runner.h"
#include "workers/tool/tool.h"

#define MAX_JOBS	256
#define MAX_CONTAINERS	64

static struct {
	char	*sock;
	char	*image;
	char	*workspace;	/* host path */
	char	*tenant;
	int	 network;
	long	 memory_mb;
	double	 cpus;
	struct {
		char	*session;
		char	*id;
	}	 ct[MAX_CONTAINERS];
	struct {
		pid_t	 pid;
		char	 token[32];
		char	*cid;
	}	 jobs[MAX_JOBS];
	char	 next_token[32];
	char	*next_cid;
} D;

/* Remove this tenant's containers (orphans of an earlier run, or ours at
 * exit). Returns how many were removed. */
static int
remove_tenant_containers(void)
{
	char	*path, *resp = NULL, *filt, *enc;
	json_t	*arr;
	size_t	 i;
	int	 n = 0;
	CURL	*c = curl_easy_init();

	xasprintf(&filt, "{\"label\":[\"hermes-agent=1\",\"hermes-tenant=%s\"]}",
	    D.tenant);
	enc = curl_easy_escape(c, filt, 0);
	xasprintf(&path, "/containers/json?all=1&filters=%s", enc);
	curl_free(enc);
	curl_easy_cleanup(c);
	free(filt);
	if (tool_docker_http(D.sock, "GET", path, NULL, &resp, -1, -1) != 200) {
		free(path);
		free(resp);
		return -1;
	}
	free(path);
	arr = json_loads(resp ? resp : "[]", 0, NULL);
	free(resp);
	for (i = 0; json_is_array(arr) && i < json_array_size(arr); i++) {
		const char *id = json_string_value(json_object_get(
		    json_array_get(arr, i), "Id"));
		if (id == NULL)
			continue;
		xasprintf(&path, "/containers/%s?force=1&v=1", id);
		if (tool_docker_http(D.sock, "DELETE", path, NULL, NULL, -1,
		    -1) / 100 == 2)
			n++;
		free(path);
	}
	json_decref(arr);
	return n;
}

static const char *
container_for(const char *session, char *err, size_t errlen)
{
	char	*body, *resp = NULL, *path, name[80];
	json_t	*j;
	size_t	 i, slot = MAX_CONTAINERS;
	int	 st;

	for (i = 0; i < MAX_CONTAINERS; i++) {
		if (D.ct[i].session != NULL && strcmp(D.ct[i].session, session) == 0)
			return D.ct[i].id;
		if (D.ct[i].session == NULL && slot == MAX_CONTAINERS)
			slot = i;
	}
	if (slot == MAX_CONTAINERS) {
		snprintf(err, errlen, "too many containers");
		return NULL;
	}
	body = tool_docker_create_body(D.image, D.workspace, D.tenant, session,
	    D.network, D.memory_mb, D.cpus);
	snprintf(name, sizeof(name), "hermes-%.20s-%08x", D.tenant, arc4random());
	for (i = 0; name[i]; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' &&
		    name[i] <= '9') || name[i] == '-' || (name[i] >= 'A' &&
		    name[i] <= 'Z')))
			name[i] = '-';
	xasprintf(&path, "/containers/create?name=%s", name);
	st = tool_docker_http(D.sock, "POST", path, body, &resp, -1, -1);
	free(path);
	free(body);
	if (st != 201) {
		snprintf(err, errlen, "docker: create container (%s): HTTP %d %.200s",
		    D.image, st, resp ? resp : "");
		free(resp);
		return NULL;
	}
	j = json_loads(resp, 0, NULL);
	free(resp);
	if (json_string_value(json_object_get(j, "Id")) == NULL) {
		json_decref(j);
		snprintf(err, errlen, "docker: create: no Id");
		return NULL;
	}
	D.ct[slot].id = xstrdup(json_string_value(json_object_get(j, "Id")));
	D.ct[slot].session = xstrdup(session);
	json_decref(j);
	xasprintf(&path, "/containers/%s/start", D.ct[slot].id);
	st = tool_docker_http(D.sock, "POST", path, NULL, &resp, -1, -1);
	free(path);
	free(resp);
	if (st != 204 && st != 304) {
		snprintf(err, errlen, "docker: start container: HTTP %d", st);
		return NULL;
	}
	return D.ct[slot].id;
}

/* ---- the job backend --------------------------------------------------- */

static char **
docker_argv(void *arg, const char *command, const char *cwd, int background)
{
	char	**v = xcalloc(8, sizeof(char *));

	snprintf(D.next_token, sizeof(D.next_token), "hermes-%08x%08x",
	    arc4random(), arc4random());
	v[0] = xstrdup("setsid");
	v[1] = xstrdup("-w");
	v[2] = xstrdup("bash");
	v[3] = xstrdup("-c");
	v[4] = xstrdup(tool_wrapper_script);
	v[5] = xstrdup(D.next_token);
	v[6] = xstrdup(command);
	v[7] = NULL;
	return v;
}

/* In the child: create and run the exec, stream, exit with its code. */
static void __attribute__((noreturn))
exec_child(const char *cid, char *const *argv, char *const *envp,
    const char *cwd, int fd_in, int fd_out, int fd_err)
{
	json_t	*o, *cmd = json_array(), *env = json_array(), *j;
	char	*body, *resp = NULL, *path;
	size_t	 i;
	int	 st, code = 127;

	for (i = 0; argv[i] != NULL; i++)
		json_array_append_new(cmd, json_string(argv[i]));
	for (i = 0; envp != NULL && envp[i] != NULL; i++)
		json_array_append_new(env, json_string(envp[i]));
	o = json_pack("{s:b, s:b, s:b, s:o, s:o, s:s}", "AttachStdout", 1,
	    "AttachStderr", 1, "Tty", 0, "Cmd", cmd, "Env", env, "WorkingDir",
	    cwd && *cwd ? cwd : "/workspace");
	body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	xasprintf(&path, "/containers/%s/exec", cid);
	st = tool_docker_http(D.sock, "POST", path, body, &resp, -1, -1);
	free(path);
	free(body);
	if (st != 201) {
		dprintf(fd_out, "docker: exec create: HTTP %d %s\n", st,
		    resp ? resp : "");
		_exit(126);
	}
	j = json_loads(resp, 0, NULL);
	free(resp);
	xasprintf(&path, "/exec/%s/start", json_string_value(json_object_get(j,
	    "Id")));
	st = tool_docker_http(D.sock, "POST", path,
	    "{\"Detach\":false,\"Tty\":false}", NULL, fd_out, fd_err);
	free(path);
	close(fd_err);
	if (st != 200) {
		dprintf(fd_out, "docker: exec start: HTTP %d\n", st);
		_exit(126);
	}
	xasprintf(&path, "/exec/%s/json", json_string_value(json_object_get(j,
	    "Id")));
	json_decref(j);
	if (tool_docker_http(D.sock, "GET", path, NULL, &resp, -1, -1) == 200) {
		j = json_loads(resp, 0, NULL);
		if (json_is_integer(json_object_get(j, "ExitCode")))
			code = (int)json_integer_value(json_object_get(j,
			    "ExitCode"));
		json_decref(j);
	}
	_exit(code & 0xff);
}

static pid_t
docker_spawn(void *arg, char *const *argv, char *const *envp, const char *cwd,
    int fd_in, int fd_out, int fd_err, char *err, size_t errlen)
{
	const char	*cid;
	pid_t		 pid;
	size_t		 i;

	if ((cid = container_for(D.next_cid ? D.next_cid : "default", err,
	    errlen)) == NULL)
		return -1;
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		exec_child(cid, argv, envp, cwd, fd_in, fd_out, fd_err);
	}
	for (i = 0; i < MAX_JOBS; i++)
		if (D.jobs[i].pid == 0) {
			D.jobs[i].pid = pid;
			strlcpy(D.jobs[i].token, D.next_token,
			    sizeof(D.jobs[i].token));
			D.jobs[i].cid = xstrdup(cid);
			break;
		}
	return pid;
}

static void
docker_kill(void *arg, pid_t pid)
{
	size_t	 i;
	char	*body, *path, *resp = NULL;
	json_t	*j;

	for (i = 0; i < MAX_JOBS; i++) {
		if (D.jobs[i].pid != pid)
			continue;
		/* the process group in the container, by its marker */
		xasprintf(&body, "{\"AttachStdout\":false,\"AttachStderr\":false,"
		    "\"Cmd\":[\"sh\",\"-c\",\"for p in $(pgrep -f '[%c]%s'); do "
		    "kill -KILL -- -$p $p; done 2>/dev/null; true\"]}",
		    D.jobs[i].token[0], D.jobs[i].token + 1);
		xasprintf(&path, "/containers/%s/exec", D.jobs[i].cid);
		if (tool_docker_http(D.sock, "POST", path, body, &resp, -1,
		    -1) == 201 && (j = json_loads(resp, 0, NULL)) != NULL) {
			char *sp;
			xasprintf(&sp, "/exec/%s/start", json_string_value(
			    json_object_get(j, "Id")));
			(void)tool_docker_http(D.sock, "POST", sp,
			    "{\"Detach\":true,\"Tty\":false}", NULL, -1, -1);
			free(sp);
			json_decref(j);
		}
		free(resp);
		free(path);
		free(body);
		break;
	}
	(void)kill(pid, SIGKILL);
}

static void
docker_reaped(void *arg, pid_t pid)
{
	size_t	 i;

	for (i = 0; i < MAX_JOBS; i++)
		if (D.jobs[i].pid == pid) {
			D.jobs[i].pid = 0;
			free(D.jobs[i].cid);
			D.jobs[i].cid = NULL;
		}
}

static const struct tool_backend docker_backend = {
	docker_spawn, docker_kill, docker_reaped, NULL, docker_argv
};

static const struct tool_runner_conf docker_conf = { "docker", NULL,
	1, "/workspace", 0, 1 };

static int
docker_setup(struct worker *w, const msgpack_object *secrets)
{
	const json_t	*cfg, *t, *v;
	char		 rp[PATH_MAX];
	const char	*ws;
	int		 n;

	if (curl_global_init(CURL_GLOBAL_NOTHING) != 0)
		return -1;
	if (tool_runner_setup(w, &docker_backend, &docker_conf) == -1)
		return -1;
	cfg = tool_runner_config();
	t = json_object_get(cfg, "terminal");
	v = json_object_get(t, "docker_socket");
	D.sock = xstrdup(json_is_string(v) ? json_string_value(v) :
	    "/var/run/docker.sock");
	v = json_object_get(t, "docker_image");
	D.image = xstrdup(json_is_string(v) ? json_string_value(v) :
	    "nikolaik/python-nodejs:python3.11-nodejs20");
	D.network = w->network || json_is_true(json_object_get(t,
	    "docker_network"));
	v = json_object_get(t, "container_memory");
	D.memory_mb = json_is_integer(v) ? (long)json_integer_value(v) : 5120;
	v = json_object_get(t, "container_cpu");
	D.cpus = json_is_number(v) ? json_number_value(v) : 1.0;
	D.tenant = xstrdup(w->tenant);
	ws = w->workspace ? w->workspace : json_string_value(json_object_get(t,
	    "cwd"));
	if (ws == NULL || realpath(ws, rp) == NULL) {
		log_warnx("tool-docker: no workspace to mount");
		return -1;
	}
	D.workspace = xstrdup(rp);
	if ((n = remove_tenant_containers()) > 0)
		log_info("tool-docker: removed %d orphaned container(s)", n);
	else if (n < 0)
		log_warnx("tool-docker: engine at %s does not answer", D.sock);
	return 0;
}

static void
docker_shutdown(struct worker *w)
{
	tool_runner_shutdown(w);
	(void)remove_tenant_containers();
}

static void
docker_dispatch(struct worker *w, int from, struct ipc_peer *peer,
    struct ipc_msg *m)
{
	/* the container is per session: note which before the call runs */
	if (m->type == IPC_MSG_TOOL_CALL) {
		free(D.next_cid);
		D.next_cid = ipc_get_strdup(m, "session");
	}
	tool_runner_dispatch(w, from, peer, m);
}

static const struct worker_ops ops = {
	.role = ROLE_TOOL,
	.profile = SBX_TOOL_DOCKER,
	.setup = docker_setup,
	.dispatch = docker_dispatch,
	.peer_changed = tool_runner_peer_changed,
	.shutdown = docker_shutdown,
};

int
main(int argc, char **argv)
{
	worker_main(argc, argv, &ops);
}
