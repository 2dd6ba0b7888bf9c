/*
 * Limited-access offenders in the fold (src/fold/access.c, docs/DOMAIN.md
 * section 9.3): the view's "access", ns_fold_access's ns_access and
 * ns_access_allows, lists of two sites and of two merged records combined
 * strictly with a conflict, lifts, and the arrival-order property.
 */
#include "fold_events.h"

static const char *const AB[] = { "PO_SMITH", "jane.doe" };
static const char *const BC[] = { "jane.doe", "CASE_ADMIN" };

/* A conflict of @p rule naming @p a and @p b, in either order (same-time events sort by origin key). */
static int conflict_of(json_t *v, const char *rule, const ns_event *a, const ns_event *b)
{
	return has_conflict(v, rule, a, b) || has_conflict(v, rule, b, a);
}

/* Fold with the access state; the parsed view. */
static json_t *fold_acc(ns_event **evs, size_t n, ns_access *a, ns_fold_summary *sum)
{
	char *text = NULL;
	json_t *v;

	CHECK_INT(ns_fold_access(evs, n, &text, NULL, sum, a), 0);
	v = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	CHECK(v != NULL);
	return v ? v : json_object();
}

/* The users of the view's entry of @p mode joined by ',' into @p buf ("" if no entry). */
static const char *users_of(json_t *v, const char *mode, char *buf, size_t cap)
{
	json_t *e, *u;
	size_t i, j, off = 0;

	buf[0] = '\0';
	json_array_foreach(J(v, "access"), i, e)
	{
		if (strcmp(JS(e, "mode"), mode) != 0)
			continue;
		json_array_foreach(J(e, "users"), j, u)
			off += (size_t)snprintf(buf + off, cap - off, "%s%s", j ? "," : "", json_string_value(u));
	}
	return buf;
}

static void test_unrestricted(void)
{
	ns_event *e[2];
	ns_access a;
	ns_fold_summary sum;
	json_t *v;

	sites_init();
	e[0] = e_tier(&N07, T("2024-01-01T09:00:00Z"), CRN, "B2", "T1", "2024-01-01");
	memset(&a, 0xff, sizeof(a));
	v = fold_acc(e, 1, &a, &sum);
	CHECK(J(v, "access") == NULL);
	CHECK(!a.restricted && !a.excluded && a.nallow == 0 && a.ndeny == 0);
	CHECK_INT(sum.restricted, 0);
	CHECK_INT(ns_access_allows(&a, "anyone"), 1);
	CHECK_INT(ns_access_allows(&a, NULL), 1);
	json_decref(v);

	/* A list lifted by the same ref is gone. */
	e[0] = e_restrict(&N07, T("2024-01-02T09:00:00Z"), CRN, "RESTRICTION", AB, 2, "Staff on the caseload");
	e[1] = e_lift(&N07, T("2024-01-03T09:00:00Z"), CRN, "RESTRICTION");
	v = fold_acc(e, 2, &a, &sum);
	CHECK(J(v, "access") == NULL);
	CHECK_STR(JS(v, "provenance.access.event"), H(e[1]));
	CHECK(!a.restricted && sum.restricted == 0);
	json_decref(v);
	pool_free();
}

static void test_restriction(void)
{
	ns_event *e[3];
	ns_access a;
	ns_fold_summary sum;
	char buf[256];
	json_t *v, *entry;

	sites_init();
	e[0] = e_restrict(&N07, T("2024-01-02T09:00:00Z"), CRN, "RESTRICTION", AB, 2, "Staff on the caseload");
	v = fold_acc(e, 1, &a, &sum);
	entry = json_array_get(J(v, "access"), 0);
	CHECK_INT(json_array_size(J(v, "access")), 1);
	CHECK_STR(JS(entry, "mode"), "RESTRICTION");
	CHECK_STR(users_of(v, "RESTRICTION", buf, sizeof(buf)), "PO_SMITH,jane.doe");
	CHECK_STR(JS(entry, "reason"), "Staff on the caseload");
	CHECK_STR(JS(entry, "since"), "2024-01-02T09:00:00Z");
	CHECK_STR(JS(entry, "event"), H(e[0]));
	CHECK_STR(JS(v, "provenance.access.event"), H(e[0]));
	CHECK(a.restricted && !a.excluded);
	CHECK_INT(a.nallow, 2);
	CHECK_STR(a.allow[0], "PO_SMITH");
	CHECK_STR(a.allow[1], "jane.doe");
	CHECK_INT(sum.restricted, 1);
	CHECK_INT(ns_access_allows(&a, "PO_SMITH"), 1);
	CHECK_INT(ns_access_allows(&a, "jane.doe"), 1);
	CHECK_INT(ns_access_allows(&a, "CASE_ADMIN"), 0);
	CHECK_INT(ns_access_allows(&a, "po_smith"), 0);
	CHECK_INT(ns_access_allows(&a, ""), 0);
	CHECK_INT(ns_access_allows(&a, NULL), 0);
	CHECK_INT(nconflicts(v, "ACCESS_LISTS_DIFFER"), 0);
	json_decref(v);

	/* The same site's new list replaces its old one: no conflict. */
	e[1] = e_restrict(&N07, T("2024-01-03T09:00:00Z"), CRN, "RESTRICTION", BC, 2, "Changed team");
	v = fold_acc(e, 2, &a, NULL);
	CHECK_STR(users_of(v, "RESTRICTION", buf, sizeof(buf)), "CASE_ADMIN,jane.doe");
	CHECK_STR(JS(json_array_get(J(v, "access"), 0), "reason"), "Changed team");
	CHECK_INT(nconflicts(v, "ACCESS_LISTS_DIFFER"), 0);
	CHECK_INT(ns_access_allows(&a, "PO_SMITH"), 0);
	json_decref(v);

	/* A lift under the other ref of the person does not lift it. */
	e[2] = e_lift(&MDI, T("2024-01-04T09:00:00Z"), NOMS, "RESTRICTION");
	v = fold_acc(e, 3, &a, NULL);
	CHECK_STR(users_of(v, "RESTRICTION", buf, sizeof(buf)), "CASE_ADMIN,jane.doe");
	CHECK(a.restricted);
	json_decref(v);
	pool_free();
}

/* Two sites' lists of one mode: RESTRICTION intersected, EXCLUSION joined, and a conflict. */
static void test_two_sites(void)
{
	ns_event *e[4];
	ns_access a;
	char buf[256];
	json_t *v;

	sites_init();
	e[0] = e_restrict(&N07, T("2024-01-02T09:00:00Z"), CRN, "RESTRICTION", AB, 2, "Probation");
	e[1] = e_restrict(&MDI, T("2024-01-02T09:00:00Z"), CRN, "RESTRICTION", BC, 2, "Prison");
	v = fold_acc(e, 2, &a, NULL);
	CHECK_STR(users_of(v, "RESTRICTION", buf, sizeof(buf)), "jane.doe");
	CHECK(conflict_of(v, "ACCESS_LISTS_DIFFER", e[0], e[1]));
	CHECK_INT(ns_access_allows(&a, "jane.doe"), 1);
	CHECK_INT(ns_access_allows(&a, "PO_SMITH"), 0);
	CHECK_INT(ns_access_allows(&a, "CASE_ADMIN"), 0);
	json_decref(v);

	/* The same users from both: no conflict. */
	e[1] = e_restrict(&MDI, T("2024-01-02T10:00:00Z"), CRN, "RESTRICTION", AB, 2, "Prison");
	v = fold_acc(e, 2, &a, NULL);
	CHECK_INT(nconflicts(v, "ACCESS_LISTS_DIFFER"), 0);
	CHECK_INT(a.nallow, 2);
	json_decref(v);

	e[0] = e_restrict(&N07, T("2024-01-05T09:00:00Z"), CRN, "EXCLUSION", AB, 1, "Probation");
	e[1] = e_restrict(&LEI, T("2024-01-05T09:00:00Z"), CRN, "EXCLUSION", BC, 2, "Prison");
	v = fold_acc(e, 2, &a, NULL);
	CHECK_STR(users_of(v, "EXCLUSION", buf, sizeof(buf)), "CASE_ADMIN,PO_SMITH,jane.doe");
	CHECK(conflict_of(v, "ACCESS_LISTS_DIFFER", e[0], e[1]));
	CHECK(!a.restricted && a.excluded);
	CHECK_INT(a.ndeny, 3);
	CHECK_INT(ns_access_allows(&a, "PO_SMITH"), 0);
	CHECK_INT(ns_access_allows(&a, "CASE_ADMIN"), 0);
	CHECK_INT(ns_access_allows(&a, "someone.else"), 1);
	CHECK_INT(ns_access_allows(&a, ""), 0);
	json_decref(v);

	/* One lift of the mode under the ref ends both sites' lists; a later list stands. */
	e[2] = e_lift(&HUB, T("2024-01-06T09:00:00Z"), CRN, "EXCLUSION");
	e[3] = e_restrict(&N07, T("2024-01-07T09:00:00Z"), CRN, "EXCLUSION", BC + 1, 1, "Again");
	v = fold_acc(e, 4, &a, NULL);
	CHECK_STR(users_of(v, "EXCLUSION", buf, sizeof(buf)), "CASE_ADMIN");
	CHECK_INT(nconflicts(v, "ACCESS_LISTS_DIFFER"), 0);
	CHECK_INT(ns_access_allows(&a, "PO_SMITH"), 1);
	json_decref(v);
	pool_free();
}

/* Both modes in force: listed under RESTRICTION and not under EXCLUSION. */
static void test_both_modes(void)
{
	ns_event *e[2];
	ns_access a;
	json_t *v;

	sites_init();
	e[0] = e_restrict(&N07, T("2024-01-02T09:00:00Z"), CRN, "RESTRICTION", AB, 2, "Probation");
	e[1] = e_restrict(&N07, T("2024-01-03T09:00:00Z"), CRN, "EXCLUSION", AB + 1, 1, "Conflict of interest");
	v = fold_acc(e, 2, &a, NULL);
	CHECK_INT(json_array_size(J(v, "access")), 2);
	CHECK_STR(JS(json_array_get(J(v, "access"), 0), "mode"), "EXCLUSION");
	CHECK_STR(JS(json_array_get(J(v, "access"), 1), "mode"), "RESTRICTION");
	CHECK(a.restricted && a.excluded);
	CHECK_INT(ns_access_allows(&a, "PO_SMITH"), 1);
	CHECK_INT(ns_access_allows(&a, "jane.doe"), 0);
	CHECK_INT(ns_access_allows(&a, "CASE_ADMIN"), 0);
	json_decref(v);
	pool_free();
}

/* Two merged records fold together: their lists combine strictly; a lift of one leaves the other. */
static void test_merged_records(void)
{
	ns_event *e[4];
	ns_access a;
	char buf[256];
	json_t *v;

	sites_init();
	e[0] = e_restrict(&MDI, T("2024-01-02T09:00:00Z"), "A1111AA", "RESTRICTION", AB, 2, "Record A");
	e[1] = e_restrict(&MDI, T("2024-01-03T09:00:00Z"), "B2222BB", "RESTRICTION", BC, 2, "Record B");
	v = fold_acc(e, 2, &a, NULL);
	CHECK_STR(users_of(v, "RESTRICTION", buf, sizeof(buf)), "jane.doe");
	CHECK(conflict_of(v, "ACCESS_LISTS_DIFFER", e[0], e[1]));
	json_decref(v);

	e[2] = e_lift(&MDI, T("2024-01-01T09:00:00Z"), "B2222BB", "RESTRICTION"); /* before: nothing */
	e[3] = e_lift(&MDI, T("2024-01-04T09:00:00Z"), "A1111AA", "RESTRICTION");
	v = fold_acc(e, 4, &a, NULL);
	CHECK_STR(users_of(v, "RESTRICTION", buf, sizeof(buf)), "CASE_ADMIN,jane.doe");
	CHECK_INT(nconflicts(v, "ACCESS_LISTS_DIFFER"), 0);
	CHECK_INT(ns_access_allows(&a, "PO_SMITH"), 0);
	json_decref(v);
	pool_free();
}

/* Joined exclusions longer than ns_access holds: nobody may read, never a shortened exclusion. */
static void test_exclusion_overflow(void)
{
	static char names[2 * NS_ACCESS_MAX_USERS][8];
	const char *first[NS_ACCESS_MAX_USERS], *second[NS_ACCESS_MAX_USERS];
	ns_event *e[3];
	ns_access a;
	json_t *v;

	for (size_t i = 0; i < 2 * NS_ACCESS_MAX_USERS; i++)
		snprintf(names[i], sizeof(names[i]), "U%03zu", i);
	for (size_t i = 0; i < NS_ACCESS_MAX_USERS; i++) {
		first[i] = names[i];
		second[i] = names[NS_ACCESS_MAX_USERS + i];
	}
	sites_init();
	e[0] = e_restrict(&N07, T("2024-01-02T09:00:00Z"), CRN, "EXCLUSION", first, NS_ACCESS_MAX_USERS, "A");
	v = fold_acc(e, 1, &a, NULL);
	CHECK(a.excluded && !a.restricted);
	CHECK_INT(a.ndeny, NS_ACCESS_MAX_USERS);
	json_decref(v);
	e[1] = e_restrict(&MDI, T("2024-01-02T09:00:00Z"), CRN, "EXCLUSION", second, NS_ACCESS_MAX_USERS, "B");
	e[2] = e_restrict(&MDI, T("2024-01-02T09:00:00Z"), CRN, "RESTRICTION", AB, 2, "C");
	v = fold_acc(e, 3, &a, NULL);
	CHECK_INT(json_array_size(J(json_array_get(J(v, "access"), 0), "users")), 2 * NS_ACCESS_MAX_USERS);
	CHECK(a.restricted);
	CHECK_INT(a.nallow, 0);
	CHECK_INT(ns_access_allows(&a, "PO_SMITH"), 0);
	CHECK_INT(ns_access_allows(&a, "someone.else"), 0);
	json_decref(v);
	pool_free();
}

/* A correction by the origin withdraws a list; a lift that is withdrawn lifts nothing. */
static void test_corrected(void)
{
	ns_event *e[3];
	ns_access a;
	json_t *v;

	sites_init();
	e[0] = e_restrict(&N07, T("2024-01-02T09:00:00Z"), CRN, "RESTRICTION", AB, 2, "Probation");
	e[1] = e_lift(&N07, T("2024-01-03T09:00:00Z"), CRN, "RESTRICTION");
	e[2] = e_correct(&N07, T("2024-01-04T09:00:00Z"), CRN, e[1]);
	v = fold_acc(e, 3, &a, NULL);
	CHECK(a.restricted);
	json_decref(v);
	e[1] = e_correct(&N07, T("2024-01-03T09:00:00Z"), CRN, e[0]);
	v = fold_acc(e, 2, &a, NULL);
	CHECK(J(v, "access") == NULL && !a.restricted);
	json_decref(v);
	pool_free();
}

/* Any arrival order, duplicates included, gives the same view and access state. */
static void test_order_independence(void)
{
	struct site *origins[] = { &MDI, &LEI, &N07, &HUB };
	ns_event *evs[64];

	for (int set = 0; set < 6; set++) {
		size_t n = 12 + (size_t)set * 4;
		char *base;

		rng_state = 0x5bd1e995ULL + (uint64_t)set;
		sites_init();
		for (size_t i = 0; i < n; i++)
			evs[i] = random_access(origins[pick(4)], T("2024-01-01T09:00:00Z") + (int64_t)pick(5) * 3600);
		base = fold_text(evs, n);
		CHECK(base != NULL);
		if (base != NULL)
			CHECK_INT(orders_differ(evs, n, base, 100), 0);
		free(base);
		pool_free();
	}
}

int main(void)
{
	if (ns_crypto_init() != 0)
		return 1;
	sites_init();
	RUN(test_unrestricted);
	RUN(test_restriction);
	RUN(test_two_sites);
	RUN(test_both_modes);
	RUN(test_merged_records);
	RUN(test_exclusion_overflow);
	RUN(test_corrected);
	RUN(test_order_independence);
	pool_free();
	return TEST_SUMMARY();
}
