/*
 * The escape suite (tests/sandbox): shared state of escape.c (per-role
 * syscall attempts) and battery.c (the command sandbox battery).
 */
#ifndef HERMES_TEST_ESCAPE_H
#define HERMES_TEST_ESCAPE_H

#include <sys/types.h>

struct esc_env {
	char	 base[256];	/* /var/tmp/hermes-escape-XXXXXX */
	char	 home[300];	/* base/home: .env, config.yaml */
	char	 ws[300];	/* base/ws */
	char	 out[300];	/* base/out: outside every root */
	char	 run[300];	/* base/run: the "supervisor" socket dir */
	char	 self[4096];	/* this binary, for helper modes */
	int	 require;	/* REQUIRE_SANDBOX=1 */
};

struct esc_row {
	const char	*role;
	int		 attempts, denied, allowed, ctl_fail, skipped;
};

void	 esc_row_print(const struct esc_row *);
/* Run the command battery; fills the row. */
void	 esc_battery(const struct esc_env *, struct esc_row *);
/* Helper modes run inside the sandbox (argv[1] starts with "--"). */
int	 esc_helper(int argc, char **argv);
/* A listening socket: TCP on 127.0.0.1 (port out), UDP, UNIX path,
 * abstract name. Nonblocking. */
int	 esc_listen_tcp(int *port);
int	 esc_listen_udp(int *port);
int	 esc_listen_unix(const char *path, int abstract);
/* Accept (or receive) everything pending; returns the count. */
int	 esc_drain(int fd, int dgram);

#endif
