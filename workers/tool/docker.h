/*
 * hermes-tool-docker's Engine API helpers (docker.c).
 */
#ifndef HERMES_TOOL_DOCKER_H
#define HERMES_TOOL_DOCKER_H

#include <stddef.h>

/* Demultiplexer state of a non-TTY exec's raw stream. */
struct tool_docker_demux {
	unsigned char	 hdr[8];
	size_t		 hlen;
	size_t		 left;		/* bytes left in the current frame */
	int		 stream;	/* 1 stdout, 2 stderr */
};

/* Feed n bytes; out() gets each payload piece with its stream. */
size_t	 tool_docker_demux(struct tool_docker_demux *, const char *, size_t,
	    void (*out)(void *, int stream, const char *, size_t), void *);
/*
 * One request to the Engine API on the UNIX socket `sock`. json: a body
 * or NULL. demux_out >= 0: the body is an exec's raw stream, written
 * demultiplexed to demux_out (stdout) and demux_err (stderr). Returns
 * the HTTP status or -1; the body in *resp when wanted (malloc'd).
 */
int	 tool_docker_http(const char *sock, const char *method,
	    const char *path, const char *json, char **resp, int demux_out,
	    int demux_err);
/* The hardened container's create body (JSON text, malloc'd). */
char	*tool_docker_create_body(const char *image, const char *workspace,
	    const char *tenant, const char *session, int network,
	    long memory_mb, double cpus);

#endif
