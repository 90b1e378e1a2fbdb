/*
 * Play the supervisor for one worker binary (see harness.h).
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "tests/harness.h"

struct harness {
	pid_t		 pid;
	int		 fd;		/* our end of the worker's fd 3 */
	int		 role;
	struct ipc_rbuf	*rb;
	char		*logs;
	size_t		 loglen;
	int		 peers[ROLE_MAX];
	uint64_t	 gen;
};

static void
add_log(struct harness *h, const char *s, size_t n)
{
	h->logs = xreallocarray(h->logs, h->loglen + n + 2, 1);
	memcpy(h->logs + h->loglen, s, n);
	h->loglen += n;
	h->logs[h->loglen++] = '\n';
	h->logs[h->loglen] = '\0';
}

/* Handle one supervisor-side message; 1 if it was READY. */
static int
handle(struct harness *h, struct ipc_msg *m)
{
	const char	*s;
	size_t		 n;
	struct ipc_buf	*b;
	uint64_t	 seq;

	switch (m->type) {
	case IPC_MSG_LOG:
		if (ipc_get_str(m, "line", &s, &n) == 0)
			add_log(h, s, n);
		if (getenv("HARNESS_VERBOSE") != NULL)
			fprintf(stderr, "[worker] %.*s\n", (int)n, s);
		return 0;
	case IPC_MSG_READY:
		return 1;
	case IPC_MSG_PING:
		(void)ipc_get_u64(m, "seq", &seq);
		b = ipc_new(IPC_MSG_PONG, m->id);
		ipc_add_u64(b, "seq", seq);
		(void)ipc_send_fd(h->fd, b);
		return 0;
	default:
		return 0;
	}
}

struct harness *
harness_spawn(const char *path, int role, const char *home,
    const char *config_json, const char *const *secrets, int nsecrets)
{
	struct harness	*h;
	struct ipc_msg	 m;
	struct ipc_buf	*b;
	msgpack_packer	*pk;
	const char	*sb;
	char		 err[256];
	int		 sv[2], i, r;
	uint64_t	 deadline;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return NULL;
	h = xcalloc(1, sizeof(*h));
	h->role = role;
	for (i = 0; i < ROLE_MAX; i++)
		h->peers[i] = -1;
	switch ((h->pid = fork())) {
	case -1:
		free(h);
		return NULL;
	case 0:
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(sv[1], 3) == -1)
			_exit(127);
		closefrom_fd(4);
		execl(path, path, (char *)NULL);
		fprintf(stderr, "harness: exec %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	h->fd = sv[0];
	h->rb = ipc_rbuf_new(ROLE_SUPERVISOR, role, 0);
	r = ipc_recv_fd(h->fd, h->rb, 5000, &m, err, sizeof(err));
	if (r != 1 || m.type != IPC_MSG_HELLO) {
		fprintf(stderr, "harness: no hello from %s: %s\n", path,
		    r == 0 ? "timeout" : err);
		harness_free(h);
		return NULL;
	}
	b = ipc_new(IPC_MSG_CONFIG, 0);
	ipc_add_str(b, "home", home);
	ipc_add_str(b, "tenant", "test");
	ipc_add_str(b, "config", config_json != NULL ? config_json : "{}");
	if (secrets != NULL && nsecrets > 0) {
		pk = ipc_add_key(b, "secrets");
		msgpack_pack_map(pk, (size_t)nsecrets);
		for (i = 0; i < nsecrets; i++) {
			ipc_pk_str(pk, secrets[2 * i]);
			ipc_pk_str(pk, secrets[2 * i + 1]);
		}
	}
	sb = getenv("HERMES_SANDBOX");
	ipc_add_bool(b, "sandbox", !(sb != NULL && strcmp(sb, "off") == 0));
	if (getenv("HARNESS_VERBOSE") != NULL)
		ipc_add_u64(b, "verbose", 2);
	if (getenv("HARNESS_WORKSPACE") != NULL)
		ipc_add_str(b, "workspace", getenv("HARNESS_WORKSPACE"));
	if (ipc_send_fd(h->fd, b) == -1) {
		harness_free(h);
		return NULL;
	}
	deadline = now_ms() + 5000;
	for (;;) {
		uint64_t	 now = now_ms();

		if (now >= deadline) {
			fprintf(stderr, "harness: %s not ready\n", path);
			harness_free(h);
			return NULL;
		}
		r = ipc_recv_fd(h->fd, h->rb, (int)(deadline - now), &m, err,
		    sizeof(err));
		if (r == 1 && handle(h, &m))
			break;
		if (r == -1) {
			fprintf(stderr, "harness: %s: %s\n%s", path, err,
			    h->logs != NULL ? h->logs : "");
			harness_free(h);
			return NULL;
		}
	}
	return h;
}

int
harness_peer(struct harness *h, int as_role)
{
	struct ipc_buf	*b;
	int		 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	b = ipc_new(IPC_MSG_PEER, 0);
	ipc_add_str(b, "role", ipc_role_name(as_role));
	ipc_add_u64(b, "pid", (uint64_t)getpid());
	ipc_add_u64(b, "gen", ++h->gen);
	ipc_add_fd(b, sv[1], 1);
	if (ipc_send_fd(h->fd, b) == -1) {
		close(sv[0]);
		return -1;
	}
	if (h->peers[as_role] != -1)
		close(h->peers[as_role]);
	h->peers[as_role] = sv[0];
	return sv[0];
}

pid_t
harness_pid(const struct harness *h)
{
	return h->pid;
}

int
harness_sup_fd(const struct harness *h)
{
	return h->fd;
}

void
harness_pump(struct harness *h, int ms)
{
	struct ipc_msg	 m;
	char		 err[256];
	uint64_t	 deadline = now_ms() + (uint64_t)ms;

	for (;;) {
		uint64_t	 now = now_ms();

		if (now >= deadline)
			return;
		if (ipc_recv_fd(h->fd, h->rb, (int)(deadline - now), &m, err,
		    sizeof(err)) != 1)
			return;
		(void)handle(h, &m);
	}
}

const char *
harness_logs(struct harness *h)
{
	harness_pump(h, 50);
	return h->logs != NULL ? h->logs : "";
}

int
harness_free(struct harness *h)
{
	int	 status = 0, i;

	if (h == NULL)
		return 0;
	if (h->pid > 0) {
		(void)kill(h->pid, SIGKILL);
		while (waitpid(h->pid, &status, 0) == -1 && errno == EINTR)
			;
	}
	for (i = 0; i < ROLE_MAX; i++)
		if (h->peers[i] != -1)
			close(h->peers[i]);
	close(h->fd);
	ipc_rbuf_free(h->rb);
	free(h->logs);
	free(h);
	return status;
}
