/*
 * The Docker Engine API pieces of hermes-tool-docker that tests reach
 * directly: HTTP over the UNIX socket (libcurl), the raw-stream
 * demultiplexer, the hardened container's create body.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ipc/util.h"
#include "workers/tool/docker.h"
#include "workers/tool/tool.h"

#define API		"http://localhost/v1.41"


struct sink {
	struct tool_sb	 body;
	/* raw stream demultiplexing (exec start) */
	int		 demux;
	int		 fd_out;
	int		 fd_err;
	struct tool_docker_demux dm;
};

static void
write_all(int fd, const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0 && fd >= 0) {
		w = write(fd, p, n);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/*
 * The raw stream of a non-TTY exec: frames of an 8-byte header
 * {stream: 0 stdin, 1 stdout, 2 stderr; 0, 0, 0; size: uint32 BE} then
 * size bytes.
 */
size_t
tool_docker_demux(struct tool_docker_demux *d, const char *p, size_t n,
    void (*out)(void *, int stream, const char *, size_t), void *arg)
{
	size_t	 used = 0, k;

	while (used < n) {
		if (d->left == 0) {
			k = 8 - d->hlen;
			if (k > n - used)
				k = n - used;
			memcpy(d->hdr + d->hlen, p + used, k);
			d->hlen += k;
			used += k;
			if (d->hlen < 8)
				break;
			d->stream = d->hdr[0];
			d->left = ((size_t)d->hdr[4] << 24) | ((size_t)d->hdr[5] << 16) |
			    ((size_t)d->hdr[6] << 8) | d->hdr[7];
			d->hlen = 0;
			continue;
		}
		k = d->left < n - used ? d->left : n - used;
		out(arg, d->stream, p + used, k);
		d->left -= k;
		used += k;
	}
	return used;
}

static void
sink_out(void *arg, int stream, const char *p, size_t n)
{
	struct sink	*s = arg;

	write_all(stream == 2 ? s->fd_err : s->fd_out, p, n);
}

static size_t
on_body(char *p, size_t sz, size_t nm, void *arg)
{
	struct sink		*s = arg;
	size_t			 n = sz * nm;

	if (s->demux) {
		(void)tool_docker_demux(&s->dm, p, n, sink_out, s);
		return n;
	}
	if (s->body.len + n > 16u * 1024 * 1024)
		return 0;
	tool_sb_add(&s->body, p, n);
	return n;
}

/* One API request. Returns the HTTP status (or -1), the body in *resp
 * (malloc'd, may be NULL). */
int
tool_docker_http(const char *sock, const char *method, const char *path,
    const char *json, char **resp, int demux_out, int demux_err)
{
	CURL			*c;
	struct curl_slist	*h = NULL;
	struct sink		 s;
	char			*url;
	long			 code = -1;
	CURLcode		 rc;

	memset(&s, 0, sizeof(s));
	s.demux = demux_out >= 0;
	s.fd_out = demux_out;
	s.fd_err = demux_err;
	if (resp)
		*resp = NULL;
	if ((c = curl_easy_init()) == NULL)
		return -1;
	xasprintf(&url, "%s%s", API, path);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	if (!s.demux)
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	if (json != NULL) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(url);
	if (resp && s.body.len)
		*resp = tool_sb_take(&s.body);
	tool_sb_free(&s.body);
	return rc == CURLE_OK ? (int)code : -1;
}


char *
tool_docker_create_body(const char *image, const char *workspace,
    const char *tenant, const char *session, int network, long memory_mb,
    double cpus)
{
	json_t	*o, *hc;
	char	*s, *bind;

	xasprintf(&bind, "%s:/workspace", workspace);
	hc = json_pack("{s:[s], s:[s], s:[s,s,s], s:[s], s:I, s:I, s:I, s:s, "
	    "s:{s:s, s:s, s:s}, s:b}",
	    "Binds", bind,
	    "CapDrop", "ALL",
	    "CapAdd", "DAC_OVERRIDE", "CHOWN", "FOWNER",
	    "SecurityOpt", "no-new-privileges",
	    "PidsLimit", (json_int_t)256,
	    "Memory", (json_int_t)memory_mb * 1024 * 1024,
	    "NanoCpus", (json_int_t)(cpus * 1e9),
	    "NetworkMode", network ? "bridge" : "none",
	    "Tmpfs", "/tmp", "rw,nosuid,size=512m", "/var/tmp",
	    "rw,nosuid,size=256m", "/run", "rw,nosuid,size=64m",
	    "Init", 1);
	o = json_pack("{s:s, s:[s,s], s:s, s:{s:s, s:s, s:s}, s:o, s:b}",
	    "Image", image, "Cmd", "sleep", "infinity", "WorkingDir",
	    "/workspace", "Labels", "hermes-agent", "1", "hermes-tenant",
	    tenant, "hermes-session", session, "HostConfig", hc,
	    "NetworkDisabled", !network);
	free(bind);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

