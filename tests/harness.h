/*
 * Test harness: play the supervisor for one real worker binary, so a
 * worker's protocol can be tested through its real process and sandbox
 * without hermesd. (Whole-system tests use tests/regress/lib.sh.)
 *
 *	struct harness *h = harness_spawn("build/hermes-store", ROLE_STORE,
 *	    home, "{\"model\":{}}", NULL, 0);
 *	int fd = harness_peer(h, ROLE_AGENT);	// we act as the agent
 *	ipc_send_fd(fd, buf); ipc_recv_fd(fd, rb, 5000, &msg, err, sizeof err);
 *	harness_free(h);			// SIGKILL + reap, by pid
 */
#ifndef HERMES_TEST_HARNESS_H
#define HERMES_TEST_HARNESS_H

#include <sys/types.h>

struct harness;

/*
 * Fork+exec `path` with its supervisor channel on fd 3, answer HELLO with
 * CONFIG {home, tenant "test", config_json, secrets (n NAME/VALUE pairs,
 * may be NULL), sandbox per HERMES_SANDBOX (off -> false)}, and wait for
 * READY (5 s). NULL on failure (reason on stderr).
 */
struct harness	*harness_spawn(const char *path, int role, const char *home,
		    const char *config_json, const char *const *secrets,
		    int nsecrets);
/*
 * Create a socketpair, hand one end to the worker as PEER{role: as_role},
 * return our end (blocking; closed by harness_free).
 */
int		 harness_peer(struct harness *, int as_role);
pid_t		 harness_pid(const struct harness *);
int		 harness_sup_fd(const struct harness *);	/* our fd 3 end */
/* Collected LOG lines from the worker, "\n"-joined (valid until free). */
const char	*harness_logs(struct harness *);
/* Pump supervisor-side messages (LOG, PONG) for up to ms. */
void		 harness_pump(struct harness *, int ms);
/* SIGKILL, reap, close everything. Returns the wait status. */
int		 harness_free(struct harness *);

#endif
