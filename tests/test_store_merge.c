/*
 * Merges (issue 11 item 5; src/store/person.c, src/fold/identity.c): a merge
 * makes either id find one record folded from both event streams, with
 * merged_from; an unmerge rebuilds both; a cycle is refused at append and
 * flagged when it arrives by replication; any arrival order gives the same
 * views.
 */
#include "store_util.h"

#include <jansson.h>

/* Two records of one man: a prison's A1111AA and B2222BB, and a CRN linked to B2222BB. */
static const char *const two_records[] = {
	"{\"type\":\"person.created\",\"offender\":\"A1111AA\",\"occurred_at\":\"2024-01-01T09:00:00Z\","
	"\"surname\":\"SMITH\",\"forenames\":\"JOHN\",\"dob\":\"1990-05-17\",\"gender\":\"M\"}",
	"{\"type\":\"prisoner.received\",\"offender\":\"A1111AA\",\"occurred_at\":\"2024-01-01T15:00:00Z\","
	"\"prison\":\"MDI\",\"reason\":\"NEW_ADMISSION\"}",
	"{\"type\":\"person.created\",\"offender\":\"B2222BB\",\"occurred_at\":\"2024-02-01T09:00:00Z\","
	"\"surname\":\"SMITH\",\"forenames\":\"JOHN\",\"dob\":\"1990-05-17\",\"gender\":\"M\"}",
	"{\"type\":\"person.identifier.added\",\"offender\":\"B2222BB\",\"occurred_at\":\"2024-02-01T10:00:00Z\","
	"\"identifier_type\":\"CRN\",\"value\":\"X123456\"}",
	"{\"type\":\"prisoner.adjustment.recorded\",\"offender\":\"B2222BB\","
	"\"occurred_at\":\"2024-02-02T10:00:00Z\",\"adjustment_type\":\"REMAND\",\"days\":30}",
};

static const char *merge_line(const char *type, const char *when, const char *survivor, const char *removed)
{
	static char buf[512];
	snprintf(buf, sizeof(buf),
		 "{\"type\":\"%s\",\"offender\":\"%s\",\"occurred_at\":\"%s\","
		 "\"identifier_type\":\"NOMS\",\"survivor\":\"%s\",\"removed\":\"%s\"}",
		 type, survivor, when, survivor, removed);
	return buf;
}

/* The view of @p ref and its canonical ref. */
static json_t *view(ns_store *s, const char *ref, char canon[NS_REF_MAX])
{
	char *json = NULL;
	json_t *v;
	CHECK_INT(ns_store_view(s, ref, &json, NULL, canon), 0);
	v = json ? json_loads(json, 0, NULL) : NULL;
	free(json);
	CHECK(v != NULL);
	return v;
}

/* Number of conflicts of @p rule in a view. */
static int conflicts(const json_t *v, const char *rule)
{
	const json_t *c;
	size_t i;
	int n = 0;
	json_array_foreach(json_object_get(v, "conflicts"), i, c)
		n += strcmp(json_string_value(json_object_get(c, "rule")), rule) == 0;
	return n;
}

/* A hub holding the prison's two records. */
static ns_store *hub_with_records(ns_store *pr, const char *site)
{
	ns_store *h = mkstore(site, NS_ROLE_HUB, NULL);
	evlist l = all_events(pr);
	int *res = calloc(l.n, sizeof(*res));
	CHECK_INT(ns_store_ingest(h, l.ev, l.n, 0, res, NULL), 0);
	for (size_t i = 0; i < l.n; i++)
		CHECK_INT(res[i], NS_INGEST_APPLIED);
	free(res);
	evlist_free(&l);
	return h;
}

static void test_merge_then_unmerge(void)
{
	ns_diag d;
	ns_store *pr = mkstore("MDI", NS_ROLE_PRISON, NULL);
	CHECK_INT(append(pr, two_records, 5, &d), 0);
	ns_store *h = hub_with_records(pr, "HUB");
	char ca[NS_REF_MAX], cb[NS_REF_MAX], cx[NS_REF_MAX];
	json_t *a, *b, *x;

	append1(h, merge_line("person.merged", "2024-03-01T09:00:00Z", "B2222BB", "A1111AA"));
	a = view(h, "A1111AA", ca);
	b = view(h, "B2222BB", cb);
	x = view(h, "X123456", cx);
	/* One record under the least NOMS number, found by every id. */
	CHECK_STR(ca, "A1111AA");
	CHECK_STR(cb, "A1111AA");
	CHECK_STR(cx, "A1111AA");
	CHECK(json_equal(a, b));
	CHECK_INT(json_integer_value(json_object_get(a, "event_count")), 6);
	CHECK_STR(json_string_value(json_object_get(a, "noms")), "B2222BB");
	CHECK_STR(json_string_value(json_object_get(a, "crn")), "X123456");
	CHECK_INT(json_array_size(json_object_get(a, "merged_from")), 1);
	CHECK_STR(json_string_value(json_array_get(json_object_get(a, "merged_from"), 0)), "A1111AA");
	/* Both streams: A1111AA's reception and B2222BB's remand. */
	CHECK_STR(json_string_value(json_object_get(a, "prison")), "MDI");
	CHECK_INT(conflicts(a, "IDENTIFIER_MISMATCH"), 0);
	json_decref(a);
	json_decref(b);
	json_decref(x);

	append1(h, merge_line("person.unmerged", "2024-03-02T09:00:00Z", "B2222BB", "A1111AA"));
	a = view(h, "A1111AA", ca);
	b = view(h, "B2222BB", cb);
	x = view(h, "X123456", cx);
	CHECK_STR(ca, "A1111AA");
	CHECK_STR(cb, "B2222BB");
	CHECK_STR(cx, "B2222BB");
	CHECK(json_object_get(a, "merged_from") == NULL);
	CHECK(json_object_get(b, "merged_from") == NULL);
	CHECK_STR(json_string_value(json_object_get(a, "noms")), "A1111AA");
	CHECK_STR(json_string_value(json_object_get(b, "noms")), "B2222BB");
	/* Each keeps its own events, and the merge and unmerge. */
	CHECK_INT(json_integer_value(json_object_get(a, "event_count")), 4);
	CHECK_INT(json_integer_value(json_object_get(b, "event_count")), 5);
	json_decref(a);
	json_decref(b);
	json_decref(x);

	/* Merged again: one record again. */
	append1(h, merge_line("person.merged", "2024-03-03T09:00:00Z", "B2222BB", "A1111AA"));
	b = view(h, "B2222BB", cb);
	CHECK_STR(cb, "A1111AA");
	CHECK_INT(json_array_size(json_object_get(b, "merged_from")), 1);
	json_decref(b);
	ns_store_close(h);
	ns_store_close(pr);
}

static void test_cycle_refused(void)
{
	ns_diag d;
	ns_store *h = mkstore("HUB", NS_ROLE_HUB, NULL);
	const char *lines[1];

	append1(h, merge_line("person.merged", "2024-03-01T09:00:00Z", "B2222BB", "A1111AA"));
	lines[0] = merge_line("person.merged", "2024-03-01T10:00:00Z", "A1111AA", "B2222BB");
	CHECK_INT(append(h, lines, 1, &d), NS_EVALID);
	CHECK_STR(d.field, "removed");
	CHECK(strstr(d.msg, "cycle") != NULL);
	/* Longer: A into B, B into C, then C into A. */
	append1(h, merge_line("person.merged", "2024-03-01T11:00:00Z", "C3333CC", "B2222BB"));
	lines[0] = merge_line("person.merged", "2024-03-01T12:00:00Z", "A1111AA", "C3333CC");
	CHECK_INT(append(h, lines, 1, &d), NS_EVALID);
	CHECK_STR(d.field, "removed");
	/* Once B is unmerged from C, C into A makes no cycle. */
	append1(h, merge_line("person.unmerged", "2024-03-01T13:00:00Z", "C3333CC", "B2222BB"));
	append1(h, merge_line("person.merged", "2024-03-01T14:00:00Z", "A1111AA", "C3333CC"));
	ns_store_close(h);
}

/* The person.merged event of a list. */
static ns_event **merge_of(evlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->ev[i]->type == NOMSYNC__EVENT_TYPE__PERSON_MERGED)
			return &l->ev[i];
	CHECK(0);
	return NULL;
}

/* Two hubs merge the same pair opposite ways; replication flags it the same on both. */
static void test_cycle_by_replication(void)
{
	ns_diag d;
	ns_store *pr = mkstore("MDI", NS_ROLE_PRISON, NULL);
	CHECK_INT(append(pr, two_records, 5, &d), 0);
	ns_store *h1 = hub_with_records(pr, "HUB"), *h2 = hub_with_records(pr, "HUB2");
	uint8_t d1[NS_ID_BYTES], d2[NS_ID_BYTES];
	int res[1];
	json_t *v;

	append1(h1, merge_line("person.merged", "2024-03-01T09:00:00Z", "B2222BB", "A1111AA"));
	append1(h2, merge_line("person.merged", "2024-03-01T10:00:00Z", "A1111AA", "B2222BB"));
	evlist l1 = all_events(h1), l2 = all_events(h2);
	CHECK_INT(ns_store_ingest(h1, merge_of(&l2), 1, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_APPLIED);
	CHECK_INT(ns_store_ingest(h2, merge_of(&l1), 1, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_APPLIED);
	v = view(h1, "B2222BB", NULL);
	CHECK_INT(conflicts(v, "MERGE_CYCLE"), 1);
	CHECK_INT(json_array_size(json_object_get(v, "merged_from")), 2);
	json_decref(v);
	CHECK_INT(ns_store_digest(h1, NULL, d1), 0);
	CHECK_INT(ns_store_digest(h2, NULL, d2), 0);
	CHECK(memcmp(d1, d2, NS_ID_BYTES) == 0);
	evlist_free(&l1);
	evlist_free(&l2);
	ns_store_close(h1);
	ns_store_close(h2);
	ns_store_close(pr);
}

/* Same events, several arrival orders, one fold at a time or deferred: the same digest. */
static void test_any_order(void)
{
	ns_diag d;
	ns_store *pr = mkstore("MDI", NS_ROLE_PRISON, NULL);
	CHECK_INT(append(pr, two_records, 5, &d), 0);
	append1(pr, "{\"type\":\"person.created\",\"offender\":\"C3333CC\",\"occurred_at\":\"2024-02-05T09:00:00Z\","
		    "\"surname\":\"JONES\",\"forenames\":\"JO\",\"dob\":\"1991-05-17\",\"gender\":\"F\"}");
	ns_store *h = hub_with_records(pr, "HUB");
	append1(h, merge_line("person.merged", "2024-03-01T09:00:00Z", "B2222BB", "A1111AA"));
	append1(h, merge_line("person.merged", "2024-03-01T10:00:00Z", "C3333CC", "B2222BB"));
	append1(h, merge_line("person.unmerged", "2024-03-02T09:00:00Z", "C3333CC", "B2222BB"));
	append1(h, merge_line("person.merged", "2024-03-03T09:00:00Z", "C3333CC", "A1111AA"));
	evlist all = { 0 };
	CHECK_INT(ns_store_foreach(h, collect, &all), 0);
	uint8_t want[NS_ID_BYTES], got[NS_ID_BYTES];
	CHECK_INT(ns_store_digest(h, NULL, want), 0);

	unsigned seed = 11;
	for (int round = 0; round < 8; round++) {
		ns_store *x = mkstore("HUB2", NS_ROLE_HUB, NULL);
		ns_event **evs = malloc(all.n * sizeof(*evs));
		memcpy(evs, all.ev, all.n * sizeof(*evs));
		if (round == 1)
			for (size_t i = 0; i < all.n / 2; i++) {
				ns_event *t = evs[i];
				evs[i] = evs[all.n - 1 - i];
				evs[all.n - 1 - i] = t;
			}
		else if (round > 1)
			for (size_t i = all.n - 1; i > 0; i--) {
				seed = seed * 1103515245u + 12345u;
				size_t j = (seed >> 8) % (i + 1);
				ns_event *t = evs[i];
				evs[i] = evs[j];
				evs[j] = t;
			}
		unsigned flags = round % 2 ? NS_INGEST_DEFER_FOLD : 0;
		for (size_t i = 0; i < all.n; i++) {
			int res;
			CHECK_INT(ns_store_ingest(x, &evs[i], 1, flags, &res, NULL), 0);
			CHECK(res == NS_INGEST_APPLIED || res == NS_INGEST_HELD);
		}
		CHECK_INT(ns_store_digest(x, NULL, got), 0);
		CHECK(memcmp(got, want, NS_ID_BYTES) == 0);
		free(evs);
		ns_store_close(x);
	}
	/*
	 * A into C, through the final state: one record of all three under
	 * A1111AA. A1111AA is merged away twice (into B2222BB and into C3333CC):
	 * merged_from names it once.
	 */
	char canon[NS_REF_MAX];
	json_t *v = view(h, "C3333CC", canon);
	CHECK_STR(canon, "A1111AA");
	CHECK_INT(json_array_size(json_object_get(v, "merged_from")), 1);
	CHECK_STR(json_string_value(json_array_get(json_object_get(v, "merged_from"), 0)), "A1111AA");
	json_decref(v);
	evlist_free(&all);
	ns_store_close(h);
	ns_store_close(pr);
}

int main(void)
{
	if (mkdtemp(tmproot) == NULL)
		return 1;
	ns_crypto_init();
	RUN(test_merge_then_unmerge);
	RUN(test_cycle_refused);
	RUN(test_cycle_by_replication);
	RUN(test_any_order);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmproot);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmproot);
	return TEST_SUMMARY();
}
