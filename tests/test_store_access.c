/*
 * Limited-access offenders in the store (src/store/access.c): the access
 * record written at each fold and read by ns_store_access, for any ref of
 * the person (a linked CRN, a merged-away NOMS number), a deferred fold,
 * the restricted flag of summaries and caseload lists, verify against a
 * damaged record, and recorded_by through append.
 */
#define _GNU_SOURCE /* memmem */
#include "store_util.h"

#include <nomsync/fold.h>

#include <jansson.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const records[] = {
	"{\"type\":\"person.created\",\"offender\":\"A1111AA\",\"occurred_at\":\"2024-01-01T09:00:00Z\","
	"\"surname\":\"SMITH\",\"forenames\":\"JOHN\",\"dob\":\"1990-05-17\",\"gender\":\"M\"}",
	"{\"type\":\"manager.pom.allocated\",\"offender\":\"A1111AA\",\"occurred_at\":\"2024-01-01T10:00:00Z\","
	"\"prison\":\"MDI\",\"staff\":\"POM01\",\"name\":\"Ann Lee\"}",
	"{\"type\":\"person.created\",\"offender\":\"B2222BB\",\"occurred_at\":\"2024-02-01T09:00:00Z\","
	"\"surname\":\"SMITH\",\"forenames\":\"JOHN\",\"dob\":\"1990-05-17\",\"gender\":\"M\"}",
	"{\"type\":\"person.identifier.added\",\"offender\":\"B2222BB\",\"occurred_at\":\"2024-02-01T10:00:00Z\","
	"\"identifier_type\":\"CRN\",\"value\":\"X123456\"}",
};

/* ns_store_access of @p ref, checking success. */
static ns_access access_of(ns_store *s, const char *ref)
{
	ns_access a;
	ns_diag d;
	int rc = ns_store_access(s, ref, &a, &d);

	if (rc != 0)
		fprintf(stderr, "access %s: %s\n", ref, d.msg);
	CHECK_INT(rc, 0);
	return a;
}

struct seen {
	int n, restricted;
};

static int summary_cb(void *arg, const char *key, const ns_fold_summary *sum)
{
	struct seen *x = arg;
	(void)key;
	x->n++;
	x->restricted += sum->restricted;
	return 0;
}

/* A hub holding everything prison store @p pr has. */
static ns_store *hub_copy(ns_store *pr)
{
	ns_store *h = mkstore("HUB1", NS_ROLE_HUB, NULL);
	evlist l = all_events(pr);
	int *res = calloc(l.n, sizeof(*res));

	CHECK_INT(ns_store_ingest(h, l.ev, l.n, 0, res, NULL), 0);
	for (size_t i = 0; i < l.n; i++)
		CHECK_INT(res[i], NS_INGEST_APPLIED);
	free(res);
	evlist_free(&l);
	return h;
}

static void test_access_record(void)
{
	ns_store *pr = mkstore("MDI", NS_ROLE_PRISON, NULL), *s = pr;
	ns_access a;
	ns_diag d;
	struct seen seen = { 0, 0 };
	json_t *list;

	for (size_t i = 0; i < sizeof(records) / sizeof(records[0]); i++)
		append1(s, records[i]);
	CHECK_INT(ns_store_access(s, "Z9999ZZ", &a, &d), NS_ENOTFOUND);
	CHECK_INT(ns_store_access(s, "", &a, &d), NS_ENOTFOUND);
	a = access_of(s, "A1111AA");
	CHECK(!a.restricted && !a.excluded && ns_access_allows(&a, "anyone"));

	/* Restricted under the CRN: every ref of the person answers. */
	append1(s, "{\"type\":\"access.restricted\",\"offender\":\"X123456\",\"occurred_at\":\"2024-03-01T09:00:00Z\","
		   "\"mode\":\"RESTRICTION\",\"users\":[\"jane.doe\",\"PO_SMITH\"],\"reason\":\"Staff case\"}");
	a = access_of(s, "B2222BB");
	CHECK(a.restricted && !a.excluded);
	CHECK_INT(a.nallow, 2);
	CHECK_STR(a.allow[0], "PO_SMITH");
	CHECK_STR(a.allow[1], "jane.doe");
	a = access_of(s, "X123456");
	CHECK(a.restricted && ns_access_allows(&a, "jane.doe") && !ns_access_allows(&a, "CASE_ADMIN"));
	a = access_of(s, "A1111AA");
	CHECK(!a.restricted);

	/* A exclusion on the other record; after the merge both ids answer for the joined person. */
	append1(s, "{\"type\":\"access.restricted\",\"offender\":\"A1111AA\",\"occurred_at\":\"2024-03-02T09:00:00Z\","
		   "\"mode\":\"EXCLUSION\",\"users\":[\"PO_SMITH\"],\"reason\":\"Conflict of interest\"}");
	s = hub_copy(pr);
	append1(s, "{\"type\":\"person.merged\",\"offender\":\"B2222BB\",\"occurred_at\":\"2024-03-03T09:00:00Z\","
		   "\"identifier_type\":\"NOMS\",\"survivor\":\"B2222BB\",\"removed\":\"A1111AA\"}");
	for (int i = 0; i < 3; i++) {
		a = access_of(s, (const char *[]){ "A1111AA", "B2222BB", "X123456" }[i]);
		CHECK(a.restricted && a.excluded);
		CHECK_INT(ns_access_allows(&a, "jane.doe"), 1);
		CHECK_INT(ns_access_allows(&a, "PO_SMITH"), 0);
	}
	CHECK_INT(ns_store_summaries(s, summary_cb, &seen), 0);
	CHECK_INT(seen.n, 1);
	CHECK_INT(seen.restricted, 1);
	CHECK_INT(ns_store_caseload(s, "POM01", &list, &d), 0);
	CHECK_INT(json_array_size(list), 1);
	CHECK(json_is_true(json_object_get(json_array_get(list, 0), "restricted")));
	json_decref(list);

	/* Unmerged: A keeps its exclusion alone, B its restriction. */
	append1(s, "{\"type\":\"person.unmerged\",\"offender\":\"B2222BB\",\"occurred_at\":\"2024-03-04T09:00:00Z\","
		   "\"identifier_type\":\"NOMS\",\"survivor\":\"B2222BB\",\"removed\":\"A1111AA\"}");
	a = access_of(s, "A1111AA");
	CHECK(!a.restricted && a.excluded);
	a = access_of(s, "B2222BB");
	CHECK(a.restricted && !a.excluded);

	/* Lifted: the record goes, and so do the flags. */
	append1(s, "{\"type\":\"access.lifted\",\"offender\":\"A1111AA\",\"occurred_at\":\"2024-03-05T09:00:00Z\","
		   "\"mode\":\"EXCLUSION\"}");
	a = access_of(s, "A1111AA");
	CHECK(!a.restricted && !a.excluded);
	CHECK_INT(ns_store_caseload(s, "POM01", &list, &d), 0);
	CHECK(json_is_false(json_object_get(json_array_get(list, 0), "restricted")));
	json_decref(list);
	seen.n = seen.restricted = 0;
	CHECK_INT(ns_store_summaries(s, summary_cb, &seen), 0);
	CHECK_INT(seen.n, 2);
	CHECK_INT(seen.restricted, 1);
	ns_store_close(s);
	ns_store_close(pr);
}

/* An ingest that defers its fold: the access state is already the new one. */
static void test_deferred_fold(void)
{
	ns_store *src = mkstore("N07", NS_ROLE_PROBATION, NULL), *dst = mkstore("HUB1", NS_ROLE_HUB, NULL);
	evlist l;
	int res[8];
	ns_access a;

	append1(src, "{\"type\":\"tier.calculated\",\"offender\":\"X123456\",\"occurred_at\":\"2024-03-01T09:00:00Z\","
		     "\"tier\":\"B2\",\"calculation_id\":\"T1\",\"calculation_date\":\"2024-03-01\"}");
	l = all_events(src);
	CHECK_INT(ns_store_ingest(dst, l.ev, l.n, 0, res, NULL), 0);
	evlist_free(&l);
	append1(src, "{\"type\":\"access.restricted\",\"offender\":\"X123456\",\"occurred_at\":\"2024-03-02T09:00:00Z\","
		     "\"mode\":\"RESTRICTION\",\"users\":[\"PO_SMITH\"],\"reason\":\"Staff case\"}");
	l = all_events(src);
	CHECK_INT(ns_store_ingest(dst, l.ev, l.n, NS_INGEST_DEFER_FOLD, res, NULL), 0);
	evlist_free(&l);
	a = access_of(dst, "X123456");
	CHECK(a.restricted && a.nallow == 1 && !ns_access_allows(&a, "jane.doe"));
	CHECK_INT(ns_store_fold_pending(dst, 100, NULL, NULL), 0);
	a = access_of(dst, "X123456");
	CHECK(a.restricted && a.nallow == 1 && ns_access_allows(&a, "PO_SMITH"));
	ns_store_close(src);
	ns_store_close(dst);
}

static int last_event(void *arg, const ns_event *ev)
{
	json_t **out = arg;
	json_decref(*out);
	*out = ns_event_to_json(ev);
	return 0;
}

/* recorded_by: set by the caller, checked, signed, shown in the event's JSON and the provenance. */
static void test_recorded_by(void)
{
	static const char line[] =
		"{\"type\":\"access.restricted\",\"offender\":\"X123456\",\"occurred_at\":\"2024-03-02T09:00:00Z\","
		"\"mode\":\"EXCLUSION\",\"users\":[\"PO_SMITH\"],\"reason\":\"Conflict of interest\"}";
	static const char forged[] =
		"{\"type\":\"access.lifted\",\"offender\":\"X123456\",\"occurred_at\":\"2024-03-02T09:00:00Z\","
		"\"mode\":\"EXCLUSION\",\"recorded_by\":\"PO_SMITH\"}";
	ns_store *s = mkstore("N07", NS_ROLE_PROBATION, NULL);
	ns_input in;
	ns_diag d;
	size_t bad;
	char *json = NULL;
	json_t *v, *ev = NULL;

	CHECK_INT(ns_input_parse(forged, strlen(forged), &in, &d), NS_EVALID);
	CHECK_STR(d.field, "recorded_by");
	CHECK_INT(ns_input_parse(line, strlen(line), &in, &d), 0);
	snprintf(in.recorded_by, sizeof(in.recorded_by), "%s", "PO SMITH");
	CHECK_INT(ns_store_append(s, &in, 1, NULL, &bad, &d), NS_EVALID);
	CHECK_STR(d.field, "recorded_by");
	snprintf(in.recorded_by, sizeof(in.recorded_by), "%s", "jane.doe@justice.gov.uk");
	CHECK_INT(ns_store_append(s, &in, 1, NULL, &bad, &d), 0);
	ns_input_clear(&in);

	CHECK_INT(ns_store_foreach(s, last_event, &ev), 0);
	CHECK_STR(json_string_value(json_object_get(ev, "recorded_by")), "jane.doe@justice.gov.uk");
	json_decref(ev);
	CHECK_INT(ns_store_view(s, "X123456", &json, NULL, NULL), 0);
	v = json ? json_loads(json, 0, NULL) : NULL;
	CHECK(v != NULL);
	CHECK_STR(json_string_value(json_object_get(json_object_get(json_object_get(v, "provenance"), "access"),
						    "recorded_by")),
		  "jane.doe@justice.gov.uk");
	json_decref(v);
	free(json);

	/* Without it, neither the event's JSON nor the provenance has the key. */
	append1(s, "{\"type\":\"access.lifted\",\"offender\":\"X123456\",\"occurred_at\":\"2024-03-03T09:00:00Z\","
		   "\"mode\":\"EXCLUSION\"}");
	ev = NULL;
	CHECK_INT(ns_store_foreach(s, last_event, &ev), 0);
	CHECK(ev != NULL && json_object_get(ev, "recorded_by") == NULL);
	json_decref(ev);
	CHECK_INT(ns_store_view(s, "X123456", &json, NULL, NULL), 0);
	v = json ? json_loads(json, 0, NULL) : NULL;
	CHECK(v != NULL);
	CHECK(json_object_get(json_object_get(json_object_get(v, "provenance"), "access"), "recorded_by") == NULL);
	json_decref(v);
	free(json);
	ns_store_close(s);
}

/* Flip bit 0 of the byte after the first occurrence of @p needle (@p n bytes) in a file. */
static int flip_after(const char *path, const char *needle, size_t n)
{
	int fd = open(path, O_RDWR), hit = 0;
	struct stat st;
	char *m;

	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m != MAP_FAILED) {
		char *at = memmem(m, (size_t)st.st_size, needle, n);
		if (at != NULL) {
			at[1] ^= 0x01;
			hit = 1;
		}
		msync(m, (size_t)st.st_size, MS_SYNC);
		munmap(m, (size_t)st.st_size);
	}
	close(fd);
	return hit;
}

/* ns_store_verify compares the access records with a fresh fold; a damaged one is an error, never "unrestricted". */
static void test_verify(void)
{
	static const char record[] = "\x01\x01\x00ZQ_USER_ONE"; /* RESTRICTION, 1 allowed, 0 denied, the user */
	char dir[256], path[300];
	ns_store *s = mkstore("N07", NS_ROLE_PROBATION, dir);
	ns_verify_report r;
	ns_access a;
	ns_diag d;

	append1(s, "{\"type\":\"access.restricted\",\"offender\":\"X123456\",\"occurred_at\":\"2024-03-02T09:00:00Z\","
		   "\"mode\":\"RESTRICTION\",\"users\":[\"ZQ_USER_ONE\"],\"reason\":\"Staff case\"}");
	CHECK_INT(ns_store_verify(s, &r), 0);
	ns_store_close(s);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	CHECK(flip_after(path, record, sizeof(record) - 1));
	CHECK_INT(ns_store_open(dir, 0, &s, &d), 0);
	CHECK_INT(ns_store_verify(s, &r), NS_ECORRUPT);
	CHECK(strstr(r.first, "access record of X123456") != NULL);
	CHECK_INT(ns_store_access(s, "X123456", &a, &d), NS_ESTORE);
	ns_store_close(s);
}

int main(void)
{
	if (mkdtemp(tmproot) == NULL || ns_crypto_init() != 0)
		return 1;
	RUN(test_access_record);
	RUN(test_deferred_fold);
	RUN(test_recorded_by);
	RUN(test_verify);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmproot);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmproot);
	return TEST_SUMMARY();
}
