/*
 * The store's fold paths that issue 13 added: the fold cache (late events
 * into a long history fold from a checkpoint, src/store/foldcache.c) and
 * deferred folds on several threads (src/store/foldpar.c). Each is checked
 * against whole folds of the same events in another store.
 */
#include "store_util.h"

#include <nomsync/date.h>

#include <pthread.h>

/* Event @p k of a long prison history of A1234BC (MDI), day base + k, as JSON. */
static void history_line(char *buf, size_t cap, int k, int32_t base)
{
	char t[21], date[11];
	int32_t day = base + k;

	ns_time_format(t, (int64_t)day * 86400 + 10 * 3600);
	ns_date_format(date, day);
	if (k == 0)
		snprintf(buf, cap,
			 "{\"type\":\"person.created\",\"offender\":\"A1234BC\",\"occurred_at\":\"%s\","
			 "\"surname\":\"LONG\",\"forenames\":\"JOHN\",\"dob\":\"1980-02-03\",\"gender\":\"M\"}", t);
	else if (k == 1 || k % 5 == 1)
		snprintf(buf, cap,
			 "{\"type\":\"prisoner.received\",\"offender\":\"A1234BC\",\"occurred_at\":\"%s\","
			 "\"prison\":\"MDI\",\"reason\":\"NEW_ADMISSION\"}", t);
	else if (k % 5 == 2)
		snprintf(buf, cap,
			 "{\"type\":\"alert.raised\",\"offender\":\"A1234BC\",\"occurred_at\":\"%s\","
			 "\"alert_type\":\"X\",\"alert_code\":\"XSA\",\"from_date\":\"%s\"}", t, date);
	else if (k % 5 == 3)
		snprintf(buf, cap,
			 "{\"type\":\"alert.closed\",\"offender\":\"A1234BC\",\"occurred_at\":\"%s\","
			 "\"alert_code\":\"XSA\",\"to_date\":\"%s\"}", t, date);
	else
		snprintf(buf, cap,
			 "{\"type\":\"prisoner.released\",\"offender\":\"A1234BC\",\"occurred_at\":\"%s\","
			 "\"prison\":\"MDI\",\"reason\":\"RELEASED\"}", t);
}

/* Append @p n history events from @p from to @p s. */
static void append_history(ns_store *s, int from, int n, int32_t base)
{
	char buf[512];
	ns_diag d;

	for (int k = from; k < from + n; k++) {
		const char *l = buf;
		history_line(buf, sizeof(buf), k, base);
		CHECK_INT(append(s, &l, 1, &d), 0);
	}
}

/* The last event of a one-origin store. */
static ns_event *last_event(ns_store *s)
{
	evlist l = all_events(s);
	ns_event *ev = l.n ? l.ev[--l.n] : NULL;

	evlist_free(&l);
	return ev;
}

/* Ingest @p ev into @p x normally and into @p y deferred then folded; their views of A1234BC equal. */
static int both_differ(ns_store *x, ns_store *y, ns_event *ev)
{
	int res = 0, differ;
	size_t left;
	char *vx = NULL, *vy = NULL;
	size_t lx, ly;

	CHECK_INT(ns_store_ingest(x, &ev, 1, 0, &res, NULL), 0);
	CHECK_INT(ns_store_ingest(y, &ev, 1, NS_INGEST_DEFER_FOLD, &res, NULL), 0);
	CHECK_INT(ns_store_fold_pending(y, SIZE_MAX, &left, NULL), 0);
	CHECK_INT(ns_store_view(x, "A1234BC", &vx, &lx, NULL), 0);
	CHECK_INT(ns_store_view(y, "A1234BC", &vy, &ly, NULL), 0);
	differ = vx == NULL || vy == NULL || strcmp(vx, vy) != 0;
	free(vx);
	free(vy);
	return differ;
}

/*
 * Late events into a 300-event history (the fold cache's path: re-folds in
 * the ingesting transaction, from a checkpoint) give the view of a whole
 * fold of the same events; so does an erasure of one of the history's events
 * (the cached copy had its payload), and the store verifies.
 */
static void test_late_events(void)
{
	ns_store *mdi = mkstore("MDI", NS_ROLE_PRISON, NULL), *lei = mkstore("LEI", NS_ROLE_PRISON, NULL);
	ns_store *x = mkstore("HUB1", NS_ROLE_HUB, NULL), *y = mkstore("HUB2", NS_ROLE_HUB, NULL);
	int32_t base = ns_date_from_civil(2020, 1, 1);
	ns_verify_report r;
	int res[512], differ = 0;
	size_t left;
	char line[512];
	ns_diag d;

	append_history(mdi, 0, 300, base);
	evlist h = all_events(mdi);
	CHECK_INT(ns_store_ingest(x, h.ev, h.n, 0, res, NULL), 0);
	CHECK_INT(ns_store_ingest(y, h.ev, h.n, NS_INGEST_DEFER_FOLD, res, NULL), 0);
	CHECK_INT(ns_store_fold_pending(y, SIZE_MAX, &left, NULL), 0);
	uint64_t seed = 0x2545f4914f6cdd1dULL;
	for (int i = 0; i < 16; i++) {
		char t[21], date[11];
		const char *l = line;
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		int32_t day = base + (int32_t)((seed >> 33) % 300);
		ns_time_format(t, (int64_t)day * 86400 + 13 * 3600);
		ns_date_format(date, day);
		snprintf(line, sizeof(line),
			 "{\"type\":\"alert.raised\",\"offender\":\"A1234BC\",\"occurred_at\":\"%s\","
			 "\"alert_type\":\"H\",\"alert_code\":\"HA%d\",\"from_date\":\"%s\"}", t, i % 3, date);
		CHECK_INT(append(lei, &l, 1, &d), 0);
		ns_event *ev = last_event(lei);
		differ += both_differ(x, y, ev);
		ns_event_free(ev);
	}
	/* An erasure by the origin of an event in the middle of the history. */
	char hex[2 * NS_ID_BYTES + 1];
	const char *l = line;
	ns_hex(hex, h.ev[150]->id, NS_ID_BYTES);
	snprintf(line, sizeof(line),
		 "{\"type\":\"event.erased\",\"offender\":\"A1234BC\",\"occurred_at\":\"2021-06-01T09:00:00Z\","
		 "\"target_event_id\":\"%s\",\"reason\":\"DATA_PROTECTION_REQUEST\"}", hex);
	CHECK_INT(append(mdi, &l, 1, &d), 0);
	ns_event *er = last_event(mdi);
	differ += both_differ(x, y, er);
	ns_event_free(er);
	/* And a late event after it, from the rebuilt entry. */
	snprintf(line, sizeof(line),
		 "{\"type\":\"alert.raised\",\"offender\":\"A1234BC\",\"occurred_at\":\"2020-03-01T13:00:00Z\","
		 "\"alert_type\":\"H\",\"alert_code\":\"HB\",\"from_date\":\"2020-03-01\"}");
	CHECK_INT(append(lei, &l, 1, &d), 0);
	ns_event *ev = last_event(lei);
	differ += both_differ(x, y, ev);
	ns_event_free(ev);
	CHECK_INT(differ, 0);
	CHECK_INT(ns_store_verify(x, &r), 0);
	evlist_free(&h);
	ns_store_close(mdi);
	ns_store_close(lei);
	ns_store_close(x);
	ns_store_close(y);
}

struct ingester {
	ns_store *s;
	evlist *l;
};

/* Ingest every event one at a time, folded at once (a live path running beside the deferred folds). */
static void *ingest_all(void *arg)
{
	struct ingester *g = arg;
	int res = 0;

	for (size_t i = 0; i < g->l->n; i++)
		if (ns_store_ingest(g->s, &g->l->ev[i], 1, 0, &res, NULL) != 0)
			return arg;
	return NULL;
}

/*
 * Deferred folds on 1, 2 and 3 threads give the same digest, stored views
 * that verify, and no pending fold; also while another thread ingests more
 * events for the same persons (a person changed between its fold and the
 * write is folded again there).
 */
static void test_parallel_folds(void)
{
	ns_store *mdi = mkstore("MDI", NS_ROLE_PRISON, NULL), *n07 = mkstore("N07", NS_ROLE_PROBATION, NULL);
	ns_store *st[3];
	uint8_t dg[3][32];
	ns_verify_report r;
	int *res;
	size_t left;
	ns_diag d;

	/*
	 * 240 persons with a few events each, and more events for them from
	 * probation: above 96 persons a call is pipelined (foldpar.c).
	 */
	for (int p = 0; p < 240; p++) {
		char l1[512], l2[512], l3[512];
		const char *ls[] = { l1, l2 };
		snprintf(l1, sizeof(l1),
			 "{\"type\":\"person.created\",\"offender\":\"A%04dBC\",\"occurred_at\":\"2024-01-01T09:00:00Z\","
			 "\"surname\":\"P%d\",\"forenames\":\"JOHN\",\"dob\":\"1990-05-17\",\"gender\":\"M\"}", p, p);
		snprintf(l2, sizeof(l2),
			 "{\"type\":\"prisoner.received\",\"offender\":\"A%04dBC\",\"occurred_at\":\"2024-01-02T09:00:00Z\","
			 "\"prison\":\"MDI\",\"reason\":\"NEW_ADMISSION\"}", p);
		CHECK_INT(append(mdi, ls, 2, &d), 0);
		snprintf(l3, sizeof(l3),
			 "{\"type\":\"alert.raised\",\"offender\":\"A%04dBC\",\"occurred_at\":\"2024-01-01T12:00:00Z\","
			 "\"alert_type\":\"X\",\"alert_code\":\"XSA\",\"from_date\":\"2024-01-01\"}", p);
		const char *l = l3;
		CHECK_INT(append(n07, &l, 1, &d), 0);
	}
	evlist a = all_events(mdi), b = all_events(n07);
	res = calloc(a.n + b.n, sizeof(*res));
	CHECK_INT(ns_store_set_fold_threads(mdi, 0), NS_EINVAL);
	CHECK_INT(ns_store_set_fold_threads(mdi, 65), NS_EINVAL);
	for (int i = 0; i < 3; i++) {
		st[i] = mkstore("HUB1", NS_ROLE_HUB, NULL);
		CHECK_INT(ns_store_set_fold_threads(st[i], (unsigned)i + 1), 0);
		CHECK_INT(ns_store_ingest(st[i], a.ev, a.n, NS_INGEST_DEFER_FOLD, res, NULL), 0);
		if (i == 2) {
			/* Probation's events arrive live while the folds run. */
			struct ingester g = { st[i], &b };
			pthread_t th;
			unsigned k = 0;
			CHECK_INT(pthread_create(&th, NULL, ingest_all, &g), 0);
			do
				CHECK_INT(ns_store_fold_pending(st[i], k++ % 2 ? 7 : 200, &left, NULL), 0);
			while (left > 0);
			void *ret;
			pthread_join(th, &ret);
			CHECK(ret == NULL);
		} else {
			CHECK_INT(ns_store_ingest(st[i], b.ev, b.n, NS_INGEST_DEFER_FOLD, res, NULL), 0);
		}
		/* Any step size, up to one past everything pending. */
		CHECK_INT(ns_store_fold_pending(st[i], i == 1 ? SIZE_MAX : 16, &left, NULL), 0);
		while (left > 0)
			CHECK_INT(ns_store_fold_pending(st[i], 16, &left, NULL), 0);
		CHECK_INT(ns_store_verify(st[i], &r), 0);
		CHECK_INT(r.pending, 0);
		CHECK_INT(ns_store_digest(st[i], NULL, dg[i]), 0);
	}
	CHECK(memcmp(dg[0], dg[1], 32) == 0);
	CHECK(memcmp(dg[0], dg[2], 32) == 0);
	free(res);
	evlist_free(&a);
	evlist_free(&b);
	for (int i = 0; i < 3; i++)
		ns_store_close(st[i]);
	ns_store_close(mdi);
	ns_store_close(n07);
}

int main(void)
{
	if (ns_crypto_init() != 0 || mkdtemp(tmproot) == NULL)
		return 1;
	RUN(test_late_events);
	RUN(test_parallel_folds);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmproot);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmproot);
	return TEST_SUMMARY();
}
