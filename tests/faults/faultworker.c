/*
 * A worker that breaks its sockets on purpose, for tests/faults. Run under
 * a role's program name (a symlink hermes-store -> faultworker in a private
 * libexec dir) next to the real workers of the other roles.
 *
 * HERMES_FAULT=midframe:ROLE: once ready and wired to its first peer, the
 * worker writes the start of a frame (a length prefix promising more bytes
 * than ever come) to that peer and to the supervisor, then shuts both
 * sockets for writing and lives on, silent: the supervisor and the peer
 * see a frame cut in the middle and a worker that says nothing more.
 * Without the fault it behaves as a do-nothing worker.
 */
#include <sys/socket.h>

#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "ipc/worker.h"
#include "sandbox/sandbox.h"

#define SUP_FD	3	/* the supervisor channel (ipc/worker.h) */

static const struct {
	const char	*bin;
	int		 role;
	int		 profile;
} names[] = {
	{ "hermes-agent",	ROLE_AGENT,	SBX_AGENT },
	{ "hermes-llm-fetch",	ROLE_FETCH,	SBX_FETCH },
	{ "hermes-store",	ROLE_STORE,	SBX_STORE },
	{ "hermes-tool-local",	ROLE_TOOL,	SBX_TOOL_LOCAL },
};

static int	midframe;
static int	done;

/* A length prefix of 256 bytes followed by 9 of them. */
static void
cut_frame(int fd, const char *what)
{
	static const unsigned char part[] = {
		0x00, 0x00, 0x01, 0x00,
		0x83, 0xa4, 't', 'y', 'p', 'e', 0x01, 0xa2, 'i'
	};

	if (write(fd, part, sizeof(part)) != (ssize_t)sizeof(part))
		log_warn("faultworker: write to %s", what);
	if (shutdown(fd, SHUT_WR) == -1)
		log_warn("faultworker: shutdown %s", what);
}

static void
fw_dispatch(struct worker *w, int from, struct ipc_peer *p, struct ipc_msg *m)
{
	/* Answer nothing: a broken worker. */
}

static void
fw_peer(struct worker *w, int role, struct ipc_peer *p)
{
	if (!midframe || done || p == NULL)
		return;
	done = 1;
	log_warnx("faultworker: cutting a frame to %s and to the supervisor",
	    ipc_role_name(role));
	cut_frame(ipc_peer_fd(p), ipc_role_name(role));
	cut_frame(SUP_FD, "supervisor");
}

static void
fw_sup(struct worker *w, struct ipc_msg *m)
{
	int	 i;

	for (i = 0; i < m->nfds; i++)
		if (m->fds[i] != -1) {
			close(m->fds[i]);
			m->fds[i] = -1;
		}
}

int
main(int argc, char **argv)
{
	struct worker_ops	 ops;
	const char		*f = getenv("HERMES_FAULT");
	char			*name = basename(argv[0]);
	size_t			 i;

	memset(&ops, 0, sizeof(ops));
	for (i = 0; i < nitems(names); i++)
		if (strcmp(names[i].bin, name) == 0)
			break;
	if (i == nitems(names))
		fatalx("faultworker: unknown program name %s", name);
	if (f != NULL && strncmp(f, "midframe:", 9) == 0 &&
	    strcmp(f + 9, ipc_role_name(names[i].role)) == 0)
		midframe = 1;
	ops.role = names[i].role;
	ops.profile = names[i].profile;
	ops.dispatch = fw_dispatch;
	ops.peer_changed = fw_peer;
	ops.dispatch_sup = fw_sup;
	worker_main(argc, argv, &ops);
}
