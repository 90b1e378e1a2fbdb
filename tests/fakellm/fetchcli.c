/*
 * fetchcli: drive one real hermes-llm-fetch as its agent would, for
 * scripts (tests/regress/fetch_*.sh, bench/). It plays the supervisor
 * through tests/harness.h, sends each request and prints every
 * FETCH_EVENT as one JSON line on stdout.
 *
 * usage: fetchcli [-q] -w worker -c config.json [-e NAME ...] request.json ...
 *
 *   -w worker   path of hermes-llm-fetch
 *   -c file     the CONFIG "config" JSON (config.yaml as JSON)
 *   -e NAME     pass the environment variable NAME to the worker as a
 *               CONFIG secret (as hermesd does with .env), repeatable
 *   -q          print only the final line of each request, and a summary
 *               line {"bytes": text bytes, "events": n, "ms": elapsed}
 * Exit: 0 when every request ended with "done", 1 otherwise.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "tests/harness.h"

#define MAX_SECRETS	16

static const char *const str_fields[] = { "kind", "text", "call_id", "name",
    "arguments", "finish_reason", "error_class", "message", "provider",
    "model" };
static const char *const num_fields[] = { "input_tokens", "output_tokens",
    "cache_read", "cache_write", "reasoning_tokens", "status", "retry_ms",
    "attempt" };

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: fetchcli [-q] -w worker -c config.json "
	    "[-e NAME ...] request.json ...\n");
	exit(2);
}

static char *
slurp(const char *path)
{
	json_t		*j;
	json_error_t	 je;
	char		*s;

	if ((j = json_load_file(path, 0, &je)) == NULL)
		errx(2, "%s:%d: %s", path, je.line, je.text);
	s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

int
main(int argc, char **argv)
{
	const char	*worker = NULL, *cfgpath = NULL;
	const char	*secrets[2 * MAX_SECRETS];
	struct harness	*h;
	struct ipc_rbuf	*rb;
	struct ipc_msg	 m;
	struct ipc_buf	*b;
	json_t		*line;
	const char	*s;
	char		*cfg, *req, ebuf[256], home[] = "/tmp/fetchcli-XXXXXX",
			*out, kind[32];
	size_t		 n, bytes;
	uint64_t	 v, t0, events;
	int		 ch, fd, i, k, nsec = 0, quiet = 0, rc = 0, over;

	while ((ch = getopt(argc, argv, "c:e:qw:")) != -1) {
		switch (ch) {
		case 'c':
			cfgpath = optarg;
			break;
		case 'e':
			if (nsec == MAX_SECRETS)
				errx(2, "too many -e");
			if (getenv(optarg) == NULL)
				break;
			secrets[2 * nsec] = optarg;
			secrets[2 * nsec + 1] = getenv(optarg);
			nsec++;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'w':
			worker = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (worker == NULL || cfgpath == NULL || argc == 0)
		usage();
	if (mkdtemp(home) == NULL)
		err(1, "mkdtemp");
	cfg = slurp(cfgpath);
	h = harness_spawn(worker, ROLE_FETCH, home, cfg, secrets, nsec);
	free(cfg);
	if (h == NULL)
		errx(1, "cannot start %s", worker);
	fd = harness_peer(h, ROLE_AGENT);
	rb = ipc_rbuf_new(ROLE_AGENT, ROLE_FETCH, 0);
	for (k = 0; k < argc; k++) {
		req = slurp(argv[k]);
		b = ipc_new(IPC_MSG_FETCH_REQUEST, (uint64_t)k + 1);
		ipc_add_str(b, "request", req);
		free(req);
		t0 = now_us();
		if (ipc_send_fd(fd, b) == -1)
			err(1, "send");
		over = 0;
		bytes = 0;
		events = 0;
		while (!over) {
			if (ipc_recv_fd(fd, rb, 60000, &m, ebuf,
			    sizeof(ebuf)) != 1)
				errx(1, "no answer from the worker: %s", ebuf);
			if (m.type != IPC_MSG_FETCH_EVENT)
				continue;
			events++;
			line = json_object();
			for (i = 0; i < (int)nitems(str_fields); i++)
				if (ipc_get_str(&m, str_fields[i], &s, &n) == 0)
					json_object_set_new(line, str_fields[i],
					    json_stringn(s, n));
			for (i = 0; i < (int)nitems(num_fields); i++)
				if (ipc_get_u64(&m, num_fields[i], &v) == 0)
					json_object_set_new(line, num_fields[i],
					    json_integer((json_int_t)v));
			snprintf(kind, sizeof(kind), "%s", json_string_value(
			    json_object_get(line, "kind")));
			if (strcmp(kind, "text") == 0)
				bytes += json_string_length(json_object_get(line,
				    "text"));
			if (strcmp(kind, "done") == 0 ||
			    strcmp(kind, "error") == 0) {
				over = 1;
				if (strcmp(kind, "error") == 0)
					rc = 1;
			}
			if (!quiet || over) {
				out = json_dumps(line, JSON_COMPACT);
				printf("%s\n", out);
				free(out);
			}
			json_decref(line);
		}
		if (quiet)
			printf("{\"bytes\":%zu,\"events\":%llu,\"ms\":%.3f}\n",
			    bytes, (unsigned long long)events,
			    (double)(now_us() - t0) / 1000.0);
		fflush(stdout);
	}
	ipc_rbuf_free(rb);
	harness_free(h);
	rmdir(home);
	return rc;
}
