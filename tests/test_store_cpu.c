/*
 * CPU accounting by activity (ns_store_cpu_stats, issue 13's profile of a
 * catch-up): each entry point charges its own activity, and only its own;
 * nothing is charged to an activity that did not run.
 */
#include "store_util.h"

#include <time.h>

static void cpu(ns_store *s, double out[NS_CPU_ACTIVITIES])
{
	ns_store_cpu_stats(s, out);
	for (int a = 0; a < NS_CPU_ACTIVITIES; a++)
		CHECK(out[a] >= 0);
}

static void test_names(void)
{
	const char *want[NS_CPU_ACTIVITIES] = { "verify", "ingest", "append", "fold", "index", "sigcheck" };

	for (int a = 0; a < NS_CPU_ACTIVITIES; a++)
		CHECK_STR(ns_cpu_activity_name(a), want[a]);
	CHECK(ns_cpu_activity_name(NS_CPU_ACTIVITIES) == NULL);
	CHECK(ns_cpu_activity_name((ns_cpu_activity)-1) == NULL);
	CHECK(ns_thread_cpu_nanos() > 0);
}

static void test_activities(void)
{
	ns_store *mdi = mkstore("MDI", NS_ROLE_PRISON, NULL), *hub = mkstore("HUB1", NS_ROLE_HUB, NULL);
	double c[NS_CPU_ACTIVITIES];
	ns_sigcheck_report r;
	ns_sig_stats st;
	size_t left;
	ns_diag d;
	int res[16];

	cpu(hub, c);
	for (int a = 0; a < NS_CPU_ACTIVITIES; a++)
		CHECK(c[a] == 0); /* a fresh handle has spent nothing */

	/* An append charges append, nothing else. */
	CHECK_INT(append(mdi, course, 3, &d), 0);
	cpu(mdi, c);
	CHECK(c[NS_CPU_APPEND] > 0);
	CHECK(c[NS_CPU_INGEST] == 0 && c[NS_CPU_FOLD] == 0 && c[NS_CPU_SIGCHECK] == 0);

	/* A deferred ingest: the run's signature check, then the writes; no fold yet. */
	evlist a = all_events(mdi);
	CHECK_INT(ns_store_ingest(hub, a.ev, a.n, NS_INGEST_DEFER_FOLD, res, NULL), 0);
	cpu(hub, c);
	CHECK(c[NS_CPU_VERIFY] > 0 && c[NS_CPU_INGEST] > 0);
	CHECK(c[NS_CPU_FOLD] == 0 && c[NS_CPU_APPEND] == 0 && c[NS_CPU_SIGCHECK] == 0);

	/* The deferred id index and folds, then the background checks of the covered signatures. */
	CHECK_INT(ns_store_index_pending(hub, 1000, &left, NULL), 0);
	CHECK_INT(left, 0);
	/* Parallel folds: the calling thread folds too, and its time is charged once (never more than the process's). */
	struct timespec p0, p1;
	CHECK_INT(ns_store_set_fold_threads(hub, 2), 0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &p0);
	CHECK_INT(ns_store_fold_pending(hub, 1000, &left, NULL), 0);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &p1);
	CHECK_INT(left, 0);
	cpu(hub, c);
	CHECK(c[NS_CPU_INDEX] > 0 && c[NS_CPU_FOLD] > 0);
	CHECK(c[NS_CPU_FOLD] <= (double)(p1.tv_sec - p0.tv_sec) + (double)(p1.tv_nsec - p0.tv_nsec) / 1e9);
	CHECK(c[NS_CPU_SIGCHECK] == 0);
	CHECK_INT(ns_store_sig_stats(hub, &st), 0);
	CHECK(st.pending > 0); /* a run of three: two covered by its tip */
	CHECK_INT(ns_store_verify_pending(hub, NULL, 1000, 2, &r, NULL), 0);
	CHECK_INT(r.left, 0);
	cpu(hub, c);
	CHECK(c[NS_CPU_SIGCHECK] > 0);

	/* Work done for the store elsewhere (nomsyncd's batch checks) is added as reported. */
	double before = c[NS_CPU_VERIFY];
	ns_store_cpu_add(hub, NS_CPU_VERIFY, 1500000000u);
	ns_store_cpu_add(hub, NS_CPU_ACTIVITIES, 1); /* out of range: ignored */
	cpu(hub, c);
	CHECK(c[NS_CPU_VERIFY] > before + 1.49 && c[NS_CPU_VERIFY] < before + 1.51);

	evlist_free(&a);
	ns_store_close(mdi);
	ns_store_close(hub);
}

int main(void)
{
	if (mkdtemp(tmproot) == NULL)
		return 1;
	ns_crypto_init();
	RUN(test_names);
	RUN(test_activities);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmproot);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmproot);
	return TEST_SUMMARY();
}
