/* Unit tests of the read audit (src/audit): durable batches, queries, expiry, read-only, map growth. */
#include "test.h"

#include <nomsync/audit.h>

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#define DAY_MS 86400000LL

static char base_dir[128], tmp_dir[256];

static void remove_dir(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base_dir);
	if (base_dir[0] && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", base_dir);
}

static void fresh_dir(void)
{
	remove_dir();
	snprintf(base_dir, sizeof(base_dir), "/tmp/nomsync-audit.XXXXXX");
	if (mkdtemp(base_dir) == NULL)
		abort();
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/audit", base_dir); /* ns_audit_open creates it */
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ns_audit_entry entry(int64_t at, const char *user, const char *off, int outcome)
{
	ns_audit_entry e;
	memset(&e, 0, sizeof(e));
	e.at_ms = at;
	snprintf(e.user, sizeof(e.user), "%s", user);
	snprintf(e.offender, sizeof(e.offender), "%s", off);
	snprintf(e.endpoint, sizeof(e.endpoint), "GET /v1/offenders/{id}");
	e.roles = NS_UROLE_VIEW | NS_UROLE_AUDIT;
	e.outcome = outcome;
	return e;
}

typedef struct done_count {
	int calls, ok, mapfull, other;
	int64_t last_status;
} done_count;

static void on_done(void *arg, int status)
{
	done_count *dc = arg;
	dc->calls++;
	if (status == 0)
		dc->ok++;
	else if (status == NS_EMAPFULL)
		dc->mapfull++;
	else
		dc->other++;
	dc->last_status = status;
}

/* Submit entries one submission each and run the loop until every callback came. */
static void submit_all(ns_audit *a, uv_loop_t *loop, const ns_audit_entry *e, size_t n, done_count *dc)
{
	for (size_t i = 0; i < n; i++)
		CHECK_INT(ns_audit_submit(a, loop, &e[i], 1, on_done, dc), 0);
	uv_run(loop, UV_RUN_DEFAULT);
}

static void close_audit(ns_audit *a, uv_loop_t *loop)
{
	ns_audit_close(a);
	uv_run(loop, UV_RUN_DEFAULT);
}

typedef struct rows {
	ns_audit_entry e[64];
	size_t n;
} rows;

static int collect(void *arg, const ns_audit_entry *e)
{
	rows *r = arg;
	if (r->n < 64)
		r->e[r->n] = *e;
	r->n++;
	return 0;
}

static size_t query(ns_audit *a, const char *off, const char *user, int64_t from, int64_t to, size_t limit,
		    rows *r)
{
	ns_audit_query q = { off, user, from, to, limit };
	memset(r, 0, sizeof(*r));
	CHECK_INT(ns_audit_query_run(a, &q, collect, r, NULL), 0);
	return r->n;
}

static void test_submit_durable(void)
{
	uv_loop_t loop;
	ns_audit *a;
	done_count dc = { 0 };
	ns_audit_stats st;
	rows r;

	fresh_dir();
	uv_loop_init(&loop);
	CHECK_INT(ns_audit_open(&a, tmp_dir, NULL, NULL), 0);
	ns_audit_entry e[3] = { entry(0, "alice", "A1234BC", NS_AUDIT_ALLOWED),
				entry(0, "alice", "X123456", NS_AUDIT_RESTRICTED),
				entry(0, "bob", "A1234BC", NS_AUDIT_NO_ROLE) };
	int64_t before = now_ms();
	CHECK_INT(ns_audit_submit(a, &loop, e, 3, on_done, &dc), 0);
	CHECK_INT(dc.calls, 0); /* never called before the loop runs */
	uv_run(&loop, UV_RUN_DEFAULT); /* returns once the callback ran: the handle is referenced only while waiting */
	CHECK_INT(dc.calls, 1);
	CHECK_INT(dc.ok, 1);
	CHECK_INT(query(a, NULL, NULL, 0, 0, 0, &r), 3);
	CHECK_STR(r.e[0].user, "alice");
	CHECK_STR(r.e[1].offender, "X123456");
	CHECK_INT(r.e[1].outcome, NS_AUDIT_RESTRICTED);
	CHECK_STR(r.e[2].endpoint, "GET /v1/offenders/{id}");
	CHECK_INT(r.e[2].roles, NS_UROLE_VIEW | NS_UROLE_AUDIT);
	CHECK(r.e[0].at_ms >= before && r.e[0].at_ms <= now_ms()); /* at_ms 0: stamped at submission */
	ns_audit_get_stats(a, &st);
	CHECK_INT(st.entries, 3);
	CHECK(st.batches >= 1);
	CHECK_INT(st.failed, 0);
	CHECK_INT(st.queued, 0);
	CHECK_INT(st.by_outcome[NS_AUDIT_ALLOWED], 1);
	CHECK_INT(st.by_outcome[NS_AUDIT_NO_ROLE], 1);
	/* Bad submissions are refused and not called back. */
	ns_audit_entry bad = entry(0, "u", "A1234BC", 7);
	CHECK_INT(ns_audit_submit(a, &loop, &bad, 1, on_done, &dc), NS_EINVAL);
	CHECK_INT(ns_audit_submit(a, &loop, e, 0, on_done, &dc), NS_EINVAL);
	close_audit(a, &loop);
	CHECK_INT(dc.calls, 1);
	CHECK_INT(uv_loop_close(&loop), 0); /* every handle of the audit closed */
}

static void test_query(void)
{
	uv_loop_t loop;
	ns_audit *a;
	done_count dc = { 0 };
	rows r;
	int64_t t = now_ms() - 10 * DAY_MS;

	fresh_dir();
	uv_loop_init(&loop);
	CHECK_INT(ns_audit_open(&a, tmp_dir, NULL, NULL), 0);
	/* Submitted out of time order: queries answer in time order. */
	ns_audit_entry e[6] = { entry(t + 5000, "bob", "A1111AA", NS_AUDIT_ALLOWED),
				entry(t + 1000, "alice", "A1111AA", NS_AUDIT_ALLOWED),
				entry(t + 2000, "alice", "B2222BB", NS_AUDIT_LISTED),
				entry(t + 3000, "bob", "B2222BB", NS_AUDIT_RESTRICTED),
				entry(t + 4000, "alice", "A1111AA", NS_AUDIT_NO_ROLE),
				entry(t + 4000, "alice", "A1111AA", NS_AUDIT_ALLOWED) }; /* same millisecond */
	submit_all(a, &loop, e, 6, &dc);
	CHECK_INT(dc.ok, 6);
	CHECK_INT(query(a, "A1111AA", NULL, 0, 0, 0, &r), 4);
	CHECK_INT(r.e[0].at_ms, t + 1000);
	CHECK_INT(r.e[3].at_ms, t + 5000);
	CHECK_INT(query(a, NULL, "alice", 0, 0, 0, &r), 4);
	CHECK_INT(r.e[1].at_ms, t + 2000);
	CHECK_INT(query(a, "A1111AA", "alice", 0, 0, 0, &r), 3);
	CHECK_INT(query(a, NULL, "bob", t + 3000, t + 5000, 0, &r), 1); /* [from, to) */
	CHECK_STR(r.e[0].offender, "B2222BB");
	CHECK_INT(query(a, NULL, NULL, t + 2000, 0, 0, &r), 5);
	CHECK_INT(query(a, NULL, NULL, 0, t + 2000, 0, &r), 1);
	CHECK_INT(query(a, "A1111AA", NULL, 0, 0, 2, &r), 2);
	CHECK_INT(r.e[1].at_ms, t + 4000);
	CHECK_INT(query(a, NULL, NULL, 0, 0, 3, &r), 3);
	CHECK_INT(query(a, "Z9999ZZ", NULL, 0, 0, 0, &r), 0);
	CHECK_INT(query(a, NULL, "carol", 0, 0, 0, &r), 0);
	CHECK_INT(query(a, "B2222BB", "carol", 0, 0, 0, &r), 0);
	close_audit(a, &loop);
	uv_loop_close(&loop);
}

static void test_reopen_and_readonly(void)
{
	uv_loop_t loop;
	ns_audit *a, *ro;
	done_count dc = { 0 };
	rows r;
	int64_t t = now_ms();

	fresh_dir();
	uv_loop_init(&loop);
	CHECK_INT(ns_audit_open_readonly(&ro, tmp_dir, NULL), NS_ENOTFOUND);
	CHECK_INT(ns_audit_open(&a, tmp_dir, NULL, NULL), 0);
	ns_audit_entry e[2] = { entry(t, "alice", "A1111AA", NS_AUDIT_ALLOWED),
				entry(t + 1, "bob", "A1111AA", NS_AUDIT_ALLOWED) };
	submit_all(a, &loop, e, 1, &dc);
	/* A reader while the writer is open (the CLI while the daemon runs) sees what is committed. */
	CHECK_INT(ns_audit_open_readonly(&ro, tmp_dir, NULL), 0);
	CHECK_INT(query(ro, "A1111AA", NULL, 0, 0, 0, &r), 1);
	CHECK_INT(ns_audit_submit(ro, &loop, e, 1, on_done, &dc), NS_EINVAL);
	CHECK_INT(ns_audit_expire(ro, t, NULL, NULL), NS_EINVAL);
	submit_all(a, &loop, e + 1, 1, &dc);
	CHECK_INT(query(ro, "A1111AA", NULL, 0, 0, 0, &r), 2);
	close_audit(a, &loop);
	/* Reopened: everything is still there, and new keys do not overwrite old ones (and the
	 * entries also go to syslog: the path runs, what syslog does with them is not checked here). */
	ns_audit_opts o = { .syslog = 1 };
	CHECK_INT(ns_audit_open(&a, tmp_dir, &o, NULL), 0);
	submit_all(a, &loop, e, 2, &dc);
	CHECK_INT(dc.ok, 4);
	CHECK_INT(query(a, "A1111AA", NULL, 0, 0, 0, &r), 4);
	CHECK_INT(query(ro, NULL, "bob", 0, 0, 0, &r), 2);
	close_audit(a, &loop);
	ns_audit_close(ro);
	uv_loop_close(&loop);
}

static void test_expire(void)
{
	uv_loop_t loop;
	ns_audit *a;
	done_count dc = { 0 };
	ns_audit_opts o = { .days = 5 };
	uint64_t removed = 99;
	rows r;
	int64_t t = now_ms();

	fresh_dir();
	uv_loop_init(&loop);
	CHECK_INT(ns_audit_open(&a, tmp_dir, &o, NULL), 0);
	ns_audit_entry e[3] = { entry(t - 2 * DAY_MS, "alice", "A1111AA", NS_AUDIT_ALLOWED),
				entry(t - 3 * DAY_MS, "bob", "A1111AA", NS_AUDIT_ALLOWED),
				entry(t - DAY_MS, "bob", "B2222BB", NS_AUDIT_ALLOWED) };
	submit_all(a, &loop, e, 3, &dc);
	CHECK_INT(ns_audit_expire(a, t, &removed, NULL), 0); /* all within 5 days */
	CHECK_INT(removed, 0);
	/* As if 3.5 days later: the entries older than 5 days then (2 and 3 days old now) go. */
	CHECK_INT(ns_audit_expire(a, t + 3 * DAY_MS + DAY_MS / 2, &removed, NULL), 0);
	CHECK_INT(removed, 2);
	CHECK_INT(query(a, NULL, NULL, 0, 0, 0, &r), 1);
	CHECK_STR(r.e[0].offender, "B2222BB");
	CHECK_INT(query(a, "A1111AA", NULL, 0, 0, 0, &r), 0); /* the index entries went too */
	CHECK_INT(query(a, NULL, "alice", 0, 0, 0, &r), 0);
	CHECK_INT(query(a, NULL, "bob", 0, 0, 0, &r), 1);
	close_audit(a, &loop);
	/* The writer expires at open: with 1 day of retention, the last one (1 day old) goes by itself. */
	o.days = 1;
	CHECK_INT(ns_audit_open(&a, tmp_dir, &o, NULL), 0);
	for (int i = 0; i < 200 && query(a, NULL, NULL, 0, 0, 0, &r) > 0; i++)
		usleep(10000);
	CHECK_INT(r.n, 0);
	close_audit(a, &loop);
	uv_loop_close(&loop);
}

static void test_map_growth(void)
{
	uv_loop_t loop;
	ns_audit *a;
	done_count dc = { 0 };
	ns_audit_stats st;
	ns_audit_entry *e = calloc(20000, sizeof(*e));
	rows r;
	int64_t t = now_ms();

	/* A 64 KiB map grows (doubling) to hold 20,000 entries. */
	fresh_dir();
	uv_loop_init(&loop);
	ns_audit_opts o = { .map_size = 64 << 10 };
	CHECK_INT(ns_audit_open(&a, tmp_dir, &o, NULL), 0);
	for (int i = 0; i < 20000; i++) {
		char off[16];
		snprintf(off, sizeof(off), "A%04dAA", i % 500);
		e[i] = entry(t + i, "alice", off, NS_AUDIT_ALLOWED);
	}
	for (int i = 0; i < 20; i++)
		CHECK_INT(ns_audit_submit(a, &loop, e + 1000 * i, 1000, on_done, &dc), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_INT(dc.ok, 20);
	CHECK_INT(query(a, "A0007AA", NULL, 0, 0, 0, &r), 40);
	close_audit(a, &loop);

	/* Capped at 128 KiB: submissions fail with NS_EMAPFULL, counted, and nothing is lost silently. */
	fresh_dir();
	memset(&dc, 0, sizeof(dc));
	o = (ns_audit_opts){ .map_size = 64 << 10, .map_max = 128 << 10 };
	CHECK_INT(ns_audit_open(&a, tmp_dir, &o, NULL), 0);
	for (int i = 0; i < 20; i++)
		CHECK_INT(ns_audit_submit(a, &loop, e + 1000 * i, 1000, on_done, &dc), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_INT(dc.calls, 20);
	CHECK(dc.mapfull > 0);
	CHECK_INT(dc.other, 0);
	ns_audit_get_stats(a, &st);
	CHECK_INT(st.failed, 1000 * (uint64_t)dc.mapfull);
	CHECK_INT(st.entries, 1000 * (uint64_t)dc.ok);
	CHECK_INT(query(a, NULL, NULL, 0, 0, 0, &r), 1000 * (size_t)dc.ok); /* what was acknowledged is there */
	close_audit(a, &loop);
	uv_loop_close(&loop);
	free(e);
}

static void test_formats(void)
{
	int64_t ms = -1;
	char buf[32];

	CHECK_INT(ns_audit_parse_time("2026-11-27", 0, &ms), 0);
	CHECK_INT(ms, 1795737600000LL);
	CHECK_INT(ns_audit_parse_time("2026-11-27", 1, &ms), 0); /* to=DATE includes the day */
	CHECK_INT(ms, 1795737600000LL + DAY_MS);
	CHECK_INT(ns_audit_parse_time("2026-11-27T13:45:07Z", 0, &ms), 0);
	CHECK_INT(ms, 1795737600000LL + (13 * 3600 + 45 * 60 + 7) * 1000LL);
	CHECK_INT(ns_audit_parse_time("2026-11-27T13:45:07.250Z", 1, &ms), 0);
	ns_audit_format_time(ms, buf, sizeof(buf));
	CHECK_STR(buf, "2026-11-27T13:45:07.250Z");
	const char *bad[] = { "", "2026-11", "2026-02-30", "2026-13-01", "26-11-27", "2026-11-27T25:00:00Z",
			      "2026-11-27T13:45:07", "2026-11-27 13:45:07Z", "2026-11-27T13:45:07.25Z", "yesterday",
			      "1969-12-31", "2026-11-27x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(ns_audit_parse_time(bad[i], 0, &ms), NS_EINVAL);
	ns_audit_entry e = entry(1795737600123LL, "j\"o", "A1234BC", NS_AUDIT_LISTED);
	char *j = ns_audit_entry_json(&e);
	CHECK_STR(j, "{\"at\":\"2026-11-27T00:00:00.123Z\",\"endpoint\":\"GET /v1/offenders/{id}\","
		     "\"offender\":\"A1234BC\",\"outcome\":\"listed\","
		     "\"roles\":[\"ROLE_NOMSYNC_VIEW\",\"ROLE_NOMSYNC_AUDIT\"],\"user\":\"j\\\"o\"}");
	free(j);
	snprintf(e.user, sizeof(e.user), "bad\xff");
	j = ns_audit_entry_json(&e); /* not UTF-8: still JSON */
	CHECK(j && strstr(j, "\"user\":\"bad?\""));
	free(j);
}

/* Seconds for @p seq submissions of @p e made one at a time, each waited for. */
static double one_at_a_time(ns_audit *a, uv_loop_t *loop, const ns_audit_entry *e, done_count *dc, int seq)
{
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < seq; i++) {
		ns_audit_submit(a, loop, e, 1, on_done, dc);
		uv_run(loop, UV_RUN_DEFAULT);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

/*
 * Throughput and latency (printed; the figures go in the report, the checks only keep them sane).
 */
static void test_throughput(void)
{
	uv_loop_t loop;
	ns_audit *a;
	done_count dc = { 0 };
	enum { N = 20000, SEQ = 100 };
	ns_audit_entry e = entry(0, "alice", "A1234BC", NS_AUDIT_ALLOWED);
	struct timespec t0, t1;

	fresh_dir();
	uv_loop_init(&loop);
	CHECK_INT(ns_audit_open(&a, tmp_dir, NULL, NULL), 0);
	/* Many requests at once (one entry each): the writer batches them. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < N; i++)
		ns_audit_submit(a, &loop, &e, 1, on_done, &dc);
	uv_run(&loop, UV_RUN_DEFAULT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK_INT(dc.ok, N);
	ns_audit_stats st;
	ns_audit_get_stats(a, &st);
	printf("audit: %d single-entry submissions in %.3f s: %.0f entries/s in %llu batches\n", N, s, N / s,
	       (unsigned long long)st.batches);
	/* One request at a time: the added latency is one synced commit. */
	s = one_at_a_time(a, &loop, &e, &dc, SEQ);
	CHECK_INT(dc.ok, N + SEQ);
	printf("audit: one submission at a time: %.2f ms each\n", 1000 * s / SEQ);
	close_audit(a, &loop);
	/* The same with fsync deferred (audit_sync = 1): a write, no fsync, per submission. */
	ns_audit_opts o = { .sync_ms = 1000 };
	CHECK_INT(ns_audit_open(&a, tmp_dir, &o, NULL), 0);
	s = one_at_a_time(a, &loop, &e, &dc, SEQ);
	CHECK_INT(dc.ok, N + 2 * SEQ);
	printf("audit: one submission at a time, fsync deferred: %.3f ms each\n", 1000 * s / SEQ);
	close_audit(a, &loop);
	uv_loop_close(&loop);
}

/*
 * sync_ms > 0: a batch is written (not fsynced) before its callback, so a
 * process killed right after the callback (kill -9 after the response) has
 * lost nothing: a child submits, sees its callback and dies with _exit and
 * without closing; the parent finds every entry.
 */
static void test_deferred_sync(void)
{
	enum { N = 50 };
	ns_audit *a;
	rows r;
	int status = 0;

	fresh_dir();
	pid_t pid = fork();
	if (pid == 0) {
		uv_loop_t loop;
		done_count dc = { 0 };
		ns_audit_opts o = { .sync_ms = 60000 }; /* no fsync before the process dies */
		ns_audit_entry e = entry(0, "carol", "A1234BC", NS_AUDIT_ALLOWED);
		uv_loop_init(&loop);
		if (ns_audit_open(&a, tmp_dir, &o, NULL) != 0)
			_exit(2);
		for (int i = 0; i < N; i++) {
			ns_audit_submit(a, &loop, &e, 1, on_done, &dc);
			uv_run(&loop, UV_RUN_DEFAULT);
		}
		_exit(dc.ok == N ? 0 : 3); /* the response has left: die at once */
	}
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_INT(ns_audit_open_readonly(&a, tmp_dir, NULL), 0);
	CHECK_INT(query(a, NULL, "carol", 0, 0, 0, &r), N);
	ns_audit_close(a);

	/* And the timed fsync runs: entries stay readable across a clean reopen. */
	uv_loop_t loop;
	done_count dc = { 0 };
	ns_audit_opts o = { .sync_ms = 20 };
	ns_audit_entry e = entry(0, "dave", "X123456", NS_AUDIT_LISTED);
	uv_loop_init(&loop);
	CHECK_INT(ns_audit_open(&a, tmp_dir, &o, NULL), 0);
	CHECK_INT(ns_audit_submit(a, &loop, &e, 1, on_done, &dc), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_INT(dc.ok, 1);
	usleep(60 * 1000); /* past sync_ms: the writer has fsynced */
	close_audit(a, &loop);
	uv_loop_close(&loop);
	CHECK_INT(ns_audit_open_readonly(&a, tmp_dir, NULL), 0);
	CHECK_INT(query(a, NULL, "dave", 0, 0, 0, &r), 1);
	CHECK_INT(query(a, NULL, "carol", 0, 0, 0, &r), N);
	ns_audit_close(a);
}

int main(void)
{
	RUN(test_submit_durable);
	RUN(test_query);
	RUN(test_reopen_and_readonly);
	RUN(test_expire);
	RUN(test_map_growth);
	RUN(test_formats);
	RUN(test_deferred_sync);
	RUN(test_throughput);
	remove_dir();
	return TEST_SUMMARY();
}
