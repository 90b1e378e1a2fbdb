/*
 * hermes-store: the worker. CONFIG gives HERMES_HOME; setup opens
 * state.db (and its WAL) and creates the data directories before the
 * sandbox goes on; then every STORE_CALL from the agent, cron, bridges or
 * web runs through the op table (ops.c) and is answered with a
 * STORE_RESULT of the same id.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ipc/ipc.h"
#include "ipc/util.h"
#include "ipc/worker.h"
#include "sandbox/sandbox.h"
#include "workers/store/store.h"

#define REPLY_SLACK	4096	/* frame bytes beside the result */

static const char *const data_dirs[] = { "memories", "skills", "cron",
    "trajectories" };

static int
store_setup(struct worker *w, const msgpack_object *secrets)
{
	struct store *s;
	char err[512], *p;
	struct tm tm;
	time_t now = time(NULL);
	size_t i;

	(void)secrets;
	/* localtime() reads /etc/localtime once: do it before the sandbox. */
	tzset();
	localtime_r(&now, &tm);
	if (store_mkdirs(w->home, 0700) == -1) {
		log_warn("%s", w->home);
		return -1;
	}
	for (i = 0; i < nitems(data_dirs); i++) {
		xasprintf(&p, "%s/%s", w->home, data_dirs[i]);
		if (store_mkdirs(p, 0700) == -1)
			log_warn("%s", p);
		free(p);
	}
	if ((s = store_open(w->home, err, sizeof(err))) == NULL) {
		/* Keep serving memory and skills; sessions get the error. */
		log_warnx("state.db: %s", err);
		s = store_open_degraded(w->home, store_last_code, err);
	}
	store_configure(s, w->config_json);
	w->arg = s;
	return 0;
}

static void
reply(struct ipc_peer *peer, uint64_t id, struct store_res *r)
{
	struct ipc_buf *b;
	char *text = NULL;

	if (r->ok && r->result != NULL) {
		text = json_dumps(r->result, JSON_COMPACT | JSON_ENCODE_ANY);
		if (text == NULL || strlen(text) > IPC_MAX_FRAME - REPLY_SLACK) {
			free(text);
			text = NULL;
			r->ok = 0;
			r->has_count = 0;
			r->code = "toolarge";
			snprintf(r->error, sizeof(r->error), "the result is "
			    "larger than one IPC frame (%u bytes)",
			    IPC_MAX_FRAME);
		}
	}
	b = ipc_new(IPC_MSG_STORE_RESULT, id);
	ipc_add_bool(b, "ok", r->ok);
	if (text != NULL)
		ipc_add_str(b, "result", text);
	if (!r->ok) {
		ipc_add_str(b, "error", r->error);
		ipc_add_str(b, "code", r->code != NULL ? r->code : "io");
	}
	if (r->has_count)
		ipc_add_u64(b, "message_count", r->message_count);
	free(text);
	if (ipc_peer_send(peer, b) == -1)
		log_warnx("store: reply %llu dropped", (unsigned long long)id);
}

static void
store_dispatch_call(struct worker *w, struct ipc_peer *peer,
    struct ipc_msg *msg)
{
	struct store *s = w->arg;
	struct store_res r;
	const char *op, *args;
	size_t oplen, alen;
	char opbuf[64];
	uint64_t t0 = now_us();

	if (ipc_get_str(msg, "op", &op, &oplen) == -1 ||
	    ipc_get_str(msg, "args", &args, &alen) == -1) {
		ipc_peer_fail(peer, "store.call without op or args");
		return;
	}
	if (oplen >= sizeof(opbuf)) {
		memset(&r, 0, sizeof(r));
		r.code = "unknown_op";
		strlcpy(r.error, "unknown store op", sizeof(r.error));
		reply(peer, msg->id, &r);
		return;
	}
	memcpy(opbuf, op, oplen);
	opbuf[oplen] = '\0';
	store_call(s, opbuf, args, alen, &r);
	if (!r.ok)
		log_info("store: %s failed: %s", opbuf, r.error);
	log_debug("store: %s %s in %llu us", opbuf, r.ok ? "ok" : "failed",
	    (unsigned long long)(now_us() - t0));
	reply(peer, msg->id, &r);
	store_res_free(&r);
}

static void
store_dispatch(struct worker *w, int from, struct ipc_peer *peer,
    struct ipc_msg *msg)
{
	switch (msg->type) {
	case IPC_MSG_STORE_CALL:
		store_dispatch_call(w, peer, msg);
		break;
	default:
		ipc_peer_fail(peer, "store: unexpected %s from %s",
		    ipc_msg_name(msg->type), ipc_role_name(from));
		break;
	}
}

static void
store_shutdown(struct worker *w)
{
	store_close(w->arg);
	w->arg = NULL;
}

static const struct worker_ops store_ops = {
	.role = ROLE_STORE,
	.profile = SBX_STORE,
	.setup = store_setup,
	.dispatch = store_dispatch,
	.peer_changed = NULL,
	.dispatch_sup = NULL,
	.shutdown = store_shutdown,
};

int
main(int argc, char **argv)
{
	worker_main(argc, argv, &store_ops);
}
