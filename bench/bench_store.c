/*
 * bench_store [messages]: the store's figures, each against bare SQLite
 * measured in the same run. messages: argument, else $BENCH_STORE_MESSAGES,
 * else 1,000,000 (the first run at 1M generates ~1.4 GB in ~7 minutes).
 *
 *  1. append rate, messages/s with synchronous=FULL (one fsync'd commit
 *     per message): session.append through the op table (JSON in, JSON
 *     out, message_count bump, both FTS indexes) vs a bare autocommit
 *     INSERT into the same schema.
 *  2. session_search discovery at N messages (default 1,000,000):
 *     p50/p99 of the whole discovery op (bounded bm25 over a recency
 *     window, lineage dedupe, snippet, bookends, window, tool JSON) vs the
 *     bare FTS5 query Hermes runs (MATCH + snippet + ORDER BY rank
 *     LIMIT 20) on the same database.
 *
 * The generated database is cached under $B/bench/store-<N>/ (Zipf text
 * over a 2,000-word vocabulary, ~200 bytes per message, 50 per session).
 * Output: BENCH<TAB>figure<TAB>ours<TAB>reference<TAB>ratio<TAB>notes.
 */
#include <sys/stat.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ipc/util.h"
#include "workers/store/store.h"

#define VOCAB		2000
#define PER_SESSION	50
#define APPEND_N	1000
#define REPS		3
#define QUERIES		50	/* per class */

static char words[VOCAB][16];
static double zipf_cdf[VOCAB];
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
vocab_init(void)
{
	static const char *const syl[] = { "ka", "lo", "mi", "ne", "tor", "sa",
	    "vi", "dre", "qu", "pan", "ex", "ul", "ro", "fi", "gen", "bas" };
	double sum = 0;
	int i, k, n;

	for (i = 0; i < VOCAB; i++) {
		words[i][0] = '\0';
		/* 2-4 syllables, unique by construction (base-16 digits). */
		n = i < 16 ? 1 : i < 256 ? 2 : 3;
		for (k = 0, sum += 0; k <= n; k++) {
			int d = k == n ? i % 7 : (i >> (4 * k)) & 15;

			strlcat(words[i], syl[d], sizeof(words[i]));
		}
	}
	for (i = 0, sum = 0; i < VOCAB; i++)
		sum += 1.0 / (i + 1);
	for (i = 0; i < VOCAB; i++)
		zipf_cdf[i] = (i ? zipf_cdf[i - 1] : 0) + 1.0 / (i + 1) / sum;
}

static int
zipf_word(void)
{
	double u = (double)(rnd() % 1000000) / 1e6;
	int lo = 0, hi = VOCAB - 1, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (zipf_cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
text(char *buf, size_t len)
{
	size_t o = 0, target = 120 + rnd() % 160;

	buf[0] = '\0';
	while (o < target && o + 20 < len) {
		const char *w = words[zipf_word()];

		o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? " " : "", w);
	}
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(double *v, int n, double p)
{
	int i = (int)ceil(p * n) - 1;

	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

static void
must(int rc, sqlite3 *db, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		fatalx("%s: %s", what, sqlite3_errmsg(db));
}

/* Fill a fresh store database with n messages (cached). */
static void
generate(const char *home, long n)
{
	char err[512], buf[1024], sid[64];
	struct store *s;
	sqlite3_stmt *ins_s, *ins_m;
	sqlite3 *db;
	long i, done = 0;
	double t0 = now_s(), ts = 1.7e9;

	if ((s = store_open(home, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	db = s->db;
	{
		sqlite3_stmt *q;

		must(sqlite3_prepare_v2(db, "SELECT value FROM state_meta WHERE "
		    "key = 'bench_messages'", -1, &q, NULL), db, "meta");
		if (sqlite3_step(q) == SQLITE_ROW)
			done = atol((const char *)sqlite3_column_text(q, 0));
		sqlite3_finalize(q);
	}
	if (done == n) {
		store_close(s);
		return;
	}
	if (done != 0)
		fatalx("%s holds a partial benchmark database; remove it", home);
	fprintf(stderr, "bench_store: generating %ld messages in %s ...\n", n,
	    home);
	must(sqlite3_exec(db, "PRAGMA synchronous=OFF; PRAGMA cache_size=-262144",
	    NULL, NULL, NULL), db,
	    "pragma");
	must(sqlite3_prepare_v2(db, "INSERT INTO sessions (id, source, "
	    "started_at, ended_at, message_count, title) VALUES (?1, ?2, ?3, ?3 + "
	    "3600, ?4, NULL)", -1, &ins_s, NULL), db, "prepare");
	must(sqlite3_prepare_v2(db, "INSERT INTO messages (session_id, role, "
	    "content, timestamp) VALUES (?1, ?2, ?3, ?4)", -1, &ins_m, NULL), db,
	    "prepare");
	for (i = 0; i < n; i++) {
		if (i % 10000 == 0)
			must(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), db,
			    "begin");
		if (i % PER_SESSION == 0) {
			snprintf(sid, sizeof(sid), "20250101_000000_%08lx",
			    i / PER_SESSION);
			sqlite3_reset(ins_s);
			sqlite3_bind_text(ins_s, 1, sid, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins_s, 2, (i / PER_SESSION) % 10 == 9 ?
			    "cron" : "cli", -1, SQLITE_STATIC);
			sqlite3_bind_double(ins_s, 3, ts);
			sqlite3_bind_int(ins_s, 4, PER_SESSION);
			must(sqlite3_step(ins_s), db, "insert session");
		}
		text(buf, sizeof(buf));
		sqlite3_reset(ins_m);
		sqlite3_bind_text(ins_m, 1, sid, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins_m, 2, i % 2 ? "assistant" : "user", -1,
		    SQLITE_STATIC);
		sqlite3_bind_text(ins_m, 3, buf, -1, SQLITE_STATIC);
		sqlite3_bind_double(ins_m, 4, ts += 1.0);
		must(sqlite3_step(ins_m), db, "insert message");
		if (i % 10000 == 9999 || i == n - 1) {
			must(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), db,
			    "commit");
			if (i % 100000 == 99999)
				fprintf(stderr, "  %ld (%.0f rows/s)\n", i + 1,
				    (i + 1) / (now_s() - t0));
		}
	}
	sqlite3_finalize(ins_s);
	sqlite3_finalize(ins_m);
	/* As after a bulk import (perf.md 1d): merge the FTS segments. */
	must(sqlite3_exec(db, "INSERT INTO messages_fts(messages_fts) VALUES "
	    "('optimize'); INSERT INTO messages_fts_trigram("
	    "messages_fts_trigram) VALUES ('optimize');", NULL, NULL, NULL),
	    db, "optimize");
	snprintf(buf, sizeof(buf), "INSERT OR REPLACE INTO state_meta VALUES "
	    "('bench_messages', '%ld')", n);
	must(sqlite3_exec(db, buf, NULL, NULL, NULL), db, "meta");
	must(sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
	    NULL), db, "checkpoint");
	fprintf(stderr, "bench_store: generated in %.1f s\n", now_s() - t0);
	store_close(s);
}

/* Appends/s through the op table on a fresh store database. */
static double
append_ours(const char *dir, int rep)
{
	char home[600], err[512], args[1024], body[600], sid[64];
	struct store_res res;
	struct store *s;
	double t0, t;
	int i;

	snprintf(home, sizeof(home), "%s/append-ours-%d", dir, rep);
	store_rmtree(home);
	if (store_mkdirs(home, 0700) == -1 ||
	    (s = store_open(home, err, sizeof(err))) == NULL)
		fatalx("append home: %s", err);
	store_call(s, "session.create", "{}", 2, &res);
	strlcpy(sid, json_string_value(json_object_get(res.result,
	    "session_id")), sizeof(sid));
	store_res_free(&res);
	t0 = now_s();
	for (i = 0; i < APPEND_N; i++) {
		text(body, sizeof(body));
		snprintf(args, sizeof(args), "{\"session_id\": \"%s\", \"role\": "
		    "\"user\", \"content\": \"%s\"}", sid, body);
		store_call(s, "session.append", args, strlen(args), &res);
		if (!res.ok)
			fatalx("append: %s", res.error);
		store_res_free(&res);
	}
	t = now_s() - t0;
	store_close(s);
	store_rmtree(home);
	return APPEND_N / t;
}

/* Appends/s with bare SQLite: same schema, autocommit, synchronous=FULL. */
static double
append_bare(const char *dir, int rep)
{
	char home[600], err[512], body[600], path[700];
	struct store *s;
	sqlite3 *db;
	sqlite3_stmt *st;
	double t0, t;
	int i;

	snprintf(home, sizeof(home), "%s/append-bare-%d", dir, rep);
	store_rmtree(home);
	if (store_mkdirs(home, 0700) == -1 ||
	    (s = store_open(home, err, sizeof(err))) == NULL)
		fatalx("append home: %s", err);
	store_close(s);	/* only for the schema */
	snprintf(path, sizeof(path), "%s/state.db", home);
	must(sqlite3_open(path, &db), db, "open");
	must(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
	    "INSERT INTO sessions (id, source, started_at) VALUES ('s', 'cli', "
	    "0)", NULL, NULL, NULL), db, "setup");
	must(sqlite3_prepare_v2(db, "INSERT INTO messages (session_id, role, "
	    "content, timestamp) VALUES ('s', 'user', ?1, ?2)", -1, &st, NULL),
	    db, "prepare");
	t0 = now_s();
	for (i = 0; i < APPEND_N; i++) {
		text(body, sizeof(body));
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, body, -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 2, (double)i);
		must(sqlite3_step(st), db, "insert");
	}
	t = now_s() - t0;
	sqlite3_finalize(st);
	sqlite3_close(db);
	store_rmtree(home);
	return APPEND_N / t;
}

static double
median3(double *v)
{
	qsort(v, REPS, sizeof(*v), cmp_d);
	return v[REPS / 2];
}

int
main(int argc, char **argv)
{
	const char *b = getenv("B") ? getenv("B") : "build";
	char dir[512], home[600], path[700], err[512], args[256];
	const char *qs[4 * QUERIES];
	char qbuf[4 * QUERIES][40];
	double ours[REPS], bare[REPS], a, r;
	double *lo, *lb;
	long n = argc > 1 ? atol(argv[1]) :
	    getenv("BENCH_STORE_MESSAGES") != NULL ?
	    atol(getenv("BENCH_STORE_MESSAGES")) : 1000000;
	struct store_res res;
	struct store *s;
	sqlite3 *db;
	sqlite3_stmt *st;
	int i, k, nq = 0, rep;

	log_init("bench_store", 0);
	if (n < 1000)
		fatalx("usage: bench_store [messages >= 1000]");
	vocab_init();
	snprintf(dir, sizeof(dir), "%s/bench", b);
	snprintf(home, sizeof(home), "%s/store-%ld", dir, n);
	if (store_mkdirs(home, 0700) == -1)
		fatal("%s", home);

	/* 1. Append rate, synchronous=FULL, on the same filesystem. */
	for (rep = 0; rep < REPS; rep++) {
		ours[rep] = append_ours(dir, rep);
		bare[rep] = append_bare(dir, rep);
	}
	{
		double omin = ours[0], omax = ours[0], bmin = bare[0],
		    bmax = bare[0];

		for (rep = 1; rep < REPS; rep++) {
			omin = fmin(omin, ours[rep]);
			omax = fmax(omax, ours[rep]);
			bmin = fmin(bmin, bare[rep]);
			bmax = fmax(bmax, bare[rep]);
		}
		a = median3(ours);
		r = median3(bare);
		printf("BENCH\tstore append, msgs/s (synchronous=FULL, %d per "
		    "run)\t%.0f\t%.0f\t%.2f\tmedian of %d; ours %.0f-%.0f, bare "
		    "autocommit INSERT %.0f-%.0f; ratio = ours/bare\n", APPEND_N,
		    a, r, a / r, REPS, omin, omax, bmin, bmax);
		fflush(stdout);
	}

	/* 2. Discovery at n messages. */
	generate(home, n);
	for (k = 0; k < 4; k++) {
		for (i = 0; i < QUERIES; i++, nq++) {
			int w;

			switch (k) {
			case 0:	/* common */
				w = (int)(rnd() % 10);
				snprintf(qbuf[nq], sizeof(qbuf[nq]), "%s",
				    words[w]);
				break;
			case 1:	/* mid */
				w = 100 + (int)(rnd() % 200);
				snprintf(qbuf[nq], sizeof(qbuf[nq]), "%s",
				    words[w]);
				break;
			case 2:	/* rare */
				w = 1500 + (int)(rnd() % 500);
				snprintf(qbuf[nq], sizeof(qbuf[nq]), "%s",
				    words[w]);
				break;
			default:	/* two words */
				snprintf(qbuf[nq], sizeof(qbuf[nq]), "%s %s",
				    words[rnd() % 300], words[rnd() % 300]);
				break;
			}
			qs[nq] = qbuf[nq];
		}
	}
	if ((s = store_open(home, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	snprintf(path, sizeof(path), "%s/state.db", home);
	must(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), db, "open");
	/* What Hermes's search_messages runs, without its filters. */
	must(sqlite3_prepare_v2(db, "SELECT m.id, m.session_id, "
	    "snippet(messages_fts, 0, '>>>', '<<<', '...', 40) FROM messages_fts "
	    "JOIN messages m ON m.id = messages_fts.rowid WHERE messages_fts "
	    "MATCH ?1 ORDER BY rank LIMIT 20", -1, &st, NULL), db, "prepare");
	lo = xcalloc((size_t)nq, sizeof(double));
	lb = xcalloc((size_t)nq, sizeof(double));
	for (rep = 0; rep < 2; rep++) {	/* pass 0 warms the caches */
		for (i = 0; i < nq; i++) {
			char *m = store_fts_sanitize(qs[i]);
			double t0 = now_s();

			snprintf(args, sizeof(args), "{\"query\": \"%s\"}", qs[i]);
			store_call(s, "session.search", args, strlen(args), &res);
			if (!res.ok)
				fatalx("search: %s", res.error);
			store_res_free(&res);
			lo[i] = (now_s() - t0) * 1e3;
			t0 = now_s();
			sqlite3_reset(st);
			sqlite3_bind_text(st, 1, m, -1, SQLITE_TRANSIENT);
			while (sqlite3_step(st) == SQLITE_ROW)
				;
			lb[i] = (now_s() - t0) * 1e3;
			free(m);
		}
	}
	{
		double op50 = pct(lo, nq, 0.5), op99 = pct(lo, nq, 0.99),
		    omax = lo[nq - 1];
		double bp50 = pct(lb, nq, 0.5), bp99 = pct(lb, nq, 0.99),
		    bmax = lb[nq - 1];

		printf("BENCH\tsession_search discovery p50, ms (%ld msgs)\t%.2f"
		    "\t%.2f\t%.2f\t%d queries: 1 word common/mid/rare + 2 words; "
		    "ours = whole tool op (bounded bm25, dedupe, snippet, "
		    "bookends, window, JSON); ref = bare FTS5 MATCH+snippet ORDER "
		    "BY rank LIMIT 20\n", n, op50, bp50, op50 / bp50, nq);
		printf("BENCH\tsession_search discovery p99, ms (%ld msgs)\t%.2f"
		    "\t%.2f\t%.2f\tmax ours %.2f ms, bare %.2f ms\n", n, op99,
		    bp99, op99 / bp99, omax, bmax);
	}
	sqlite3_finalize(st);
	/* 3. Browse (session_search with no arguments) on the same DB. */
	must(sqlite3_prepare_v2(db, "SELECT id, title, source, started_at, "
	    "message_count FROM sessions ORDER BY started_at DESC LIMIT 3", -1,
	    &st, NULL), db, "prepare");
	for (rep = 0; rep < 2; rep++) {
		for (i = 0; i < nq; i++) {
			double t0 = now_s();

			store_call(s, "session.search", "{}", 2, &res);
			if (!res.ok)
				fatalx("browse: %s", res.error);
			store_res_free(&res);
			lo[i] = (now_s() - t0) * 1e3;
			t0 = now_s();
			sqlite3_reset(st);
			while (sqlite3_step(st) == SQLITE_ROW)
				;
			lb[i] = (now_s() - t0) * 1e3;
		}
	}
	{
		double op50 = pct(lo, nq, 0.5), op99 = pct(lo, nq, 0.99);
		double bp50 = pct(lb, nq, 0.5), bp99 = pct(lb, nq, 0.99);

		printf("BENCH\tsession_search browse p50, ms (%ld msgs, %ld "
		    "sessions)\t%.2f\t%.3f\t%.0f\tours = tool op (3 newest "
		    "root sessions with preview and last_active); ref = bare "
		    "SELECT of the 3 newest rows; p99 ours %.2f, bare %.3f\n", n,
		    n / PER_SESSION, op50, bp50, op50 / bp50, op99, bp99);
	}
	free(lo);
	free(lb);
	sqlite3_finalize(st);
	sqlite3_close(db);
	store_close(s);
	return 0;
}
