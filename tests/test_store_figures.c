/*
 * Caseloads and figures (issue 11 item 7; src/store/figures.c): hand-checked
 * numbers for a small data set, and the incremental counters equal to a
 * recount over every figures record after random appends and re-folds.
 */
#include "store_util.h"

#include <nomsync/date.h>

static int32_t day(const char *s)
{
	int32_t d = 0;
	CHECK_INT(ns_date_parse(s, &d), 0);
	return d;
}

static json_int_t jint(const json_t *o, const char *a, const char *b)
{
	const json_t *v = json_object_get(o, a);
	return json_integer_value(b ? json_object_get(v, b) : v);
}

static void test_small_set(void)
{
	ns_store *pr = mkstore("MDI", NS_ROLE_PRISON, NULL), *pb = mkstore("N55", NS_ROLE_PROBATION, NULL);
	json_t *j;

	/* Two in MDI, one in LEI: population 2 + 1, all three under custody, untiered. */
	append1(pr, "{\"type\":\"prisoner.received\",\"offender\":\"A1111AA\",\"occurred_at\":\"2024-01-02T10:00:00Z\","
		    "\"prison\":\"MDI\",\"reason\":\"NEW_ADMISSION\",\"movement_reason_code\":\"N\"}");
	append1(pr, "{\"type\":\"prisoner.received\",\"offender\":\"A2222AA\",\"occurred_at\":\"2024-01-02T10:00:00Z\","
		    "\"prison\":\"MDI\",\"reason\":\"NEW_ADMISSION\",\"movement_reason_code\":\"N\"}");
	append1(pr, "{\"type\":\"prisoner.received\",\"offender\":\"A3333AA\",\"occurred_at\":\"2024-01-02T10:00:00Z\","
		    "\"prison\":\"LEI\",\"reason\":\"NEW_ADMISSION\",\"movement_reason_code\":\"N\"}");
	append1(pr, "{\"type\":\"manager.pom.allocated\",\"offender\":\"A1111AA\",\"occurred_at\":\"2024-01-03T10:00:00Z\","
		    "\"prison\":\"MDI\",\"staff\":\"POM1\",\"name\":\"A. POM\"}");
	append1(pr, "{\"type\":\"manager.pom.allocated\",\"offender\":\"A2222AA\",\"occurred_at\":\"2024-01-03T10:00:00Z\","
		    "\"prison\":\"MDI\",\"staff\":\"POM1\",\"name\":\"A. POM\"}");
	CHECK_INT(ns_store_figures(pr, NULL, day("2024-02-01"), &j, NULL), 0);
	CHECK_INT(jint(j, "persons", NULL), 3);
	CHECK_INT(jint(j, "population_by_prison", "MDI"), 2);
	CHECK_INT(jint(j, "population_by_prison", "LEI"), 1);
	CHECK_INT(jint(j, "caseload_by_supervision", "CUSTODY"), 3);
	CHECK_INT(jint(j, "caseload_by_tier", "NONE"), 3);
	json_decref(j);
	CHECK_INT(ns_store_caseload(pr, "POM1", &j, NULL), 0);
	CHECK_INT(json_array_size(j), 2);
	CHECK(strcmp(json_string_value(json_object_get(json_array_get(j, 0), "ref")), "A1111AA") == 0);
	CHECK(strcmp(json_string_value(json_object_get(json_array_get(j, 0), "status")), "IN_CUSTODY") == 0);
	json_decref(j);
	/* A transfer re-folds A1111AA: MDI loses one, LEI gains one. */
	append1(pr, "{\"type\":\"prisoner.received\",\"offender\":\"A1111AA\",\"occurred_at\":\"2024-01-05T10:00:00Z\","
		    "\"prison\":\"LEI\",\"reason\":\"TRANSFERRED\",\"movement_reason_code\":\"INT\"}");
	CHECK_INT(ns_store_figures(pr, NULL, day("2024-02-01"), &j, NULL), 0);
	CHECK_INT(jint(j, "population_by_prison", "MDI"), 1);
	CHECK_INT(jint(j, "population_by_prison", "LEI"), 2);
	json_decref(j);

	/* Probation: three people of COM1 in N55, tiers B2, B2, D1; one RoSH HIGH. */
	const char *crn[] = { "X100001", "X100002", "X100003" }, *tier[] = { "B2", "B2", "D1" };
	char line[512];
	for (int i = 0; i < 3; i++) {
		snprintf(line, sizeof(line),
			 "{\"type\":\"manager.com.allocated\",\"offender\":\"%s\",\"occurred_at\":\"2024-01-03T10:00:00Z\","
			 "\"region\":\"N55\",\"pdu\":\"N55DNR\",\"team\":\"T01\",\"staff\":\"COM1\",\"name\":\"B. COM\"}",
			 crn[i]);
		append1(pb, line);
		snprintf(line, sizeof(line),
			 "{\"type\":\"tier.calculated\",\"offender\":\"%s\",\"occurred_at\":\"2024-01-04T10:00:00Z\","
			 "\"tier\":\"%s\",\"calculation_id\":\"T%d\",\"calculation_date\":\"2024-01-04\"}",
			 crn[i], tier[i], i);
		append1(pb, line);
	}
	append1(pb, "{\"type\":\"registration.added\",\"offender\":\"X100001\",\"occurred_at\":\"2024-01-05T10:00:00Z\","
		    "\"register_type\":\"RHRH\",\"registration_date\":\"2024-01-05\"}");
	CHECK_INT(ns_store_figures(pb, "N55", day("2024-02-01"), &j, NULL), 0);
	CHECK_INT(jint(j, "persons", NULL), 3);
	CHECK_INT(jint(j, "caseload_by_supervision", "NONE"), 3); /* no sentence: not under supervision */
	CHECK_INT(json_object_size(json_object_get(j, "caseload_by_tier")), 0);
	json_decref(j);
	CHECK_INT(ns_store_figures(pb, "N07", day("2024-02-01"), &j, NULL), 0);
	CHECK_INT(jint(j, "persons", NULL), 0);
	json_decref(j);
	CHECK_INT(ns_store_caseload(pb, "COM1", &j, NULL), 0);
	CHECK_INT(json_array_size(j), 3);
	CHECK(strcmp(json_string_value(json_object_get(json_array_get(j, 0), "rosh")), "HIGH") == 0);
	CHECK(strcmp(json_string_value(json_object_get(json_array_get(j, 2), "tier")), "D1") == 0);
	char *csv = ns_figures_csv(j);
	CHECK(csv != NULL && strncmp(csv, "ref,noms,crn,status,", 20) == 0);
	CHECK(csv != NULL && strstr(csv, "\r\nX100003,,X100003,NONE,NONE,") != NULL);
	free(csv);
	json_decref(j);
	CHECK_INT(ns_store_releases(pr, "LEI", NULL, day("2024-02-01"), 28, &j, NULL), 0);
	CHECK_INT(json_array_size(j), 0); /* no sentence, no release date */
	json_decref(j);
	ns_store_close(pr);
	ns_store_close(pb);
}

/* Every event of @p from ingested by @p to (as replication would bring them). */
static void copy_all(ns_store *from, ns_store *to)
{
	evlist l = all_events(from);
	int *res = calloc(l.n ? l.n : 1, sizeof(*res));
	CHECK_INT(ns_store_ingest(to, l.ev, l.n, 0, res, NULL), 0);
	for (size_t i = 0; i < l.n; i++)
		CHECK(res[i] == NS_INGEST_APPLIED || res[i] == NS_INGEST_DUPLICATE);
	free(res);
	evlist_free(&l);
}

static const char *jstr(const json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "(null)";
}

/* A caseload entry's flags joined by ',' (a static buffer). */
static const char *flags(const json_t *e)
{
	static char buf[128];
	size_t i, n = 0;
	const json_t *f;
	buf[0] = '\0';
	json_array_foreach(json_object_get(e, "flags"), i, f)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? "," : "", json_string_value(f));
	return buf;
}

/* The caseload entry of @p ref in array @p a, or NULL. */
static const json_t *entry(const json_t *a, const char *ref)
{
	size_t i;
	const json_t *e;
	json_array_foreach(a, i, e)
		if (strcmp(jstr(e, "ref"), ref) == 0)
			return e;
	return NULL;
}

#define EV(type, off, at) "{\"type\":\"" type "\",\"offender\":\"" off "\",\"occurred_at\":\"" at "T10:00:00Z\","
#define COM(off, region, staff)                                                                            \
	EV("manager.com.allocated", off, "2022-01-03") "\"region\":\"" region "\","  \
						       "\"team\":\"T01\",\"staff\":\"" staff "\",\"name\":\"B. COM\"}"
#define TIER(off, tier)                                                                                     \
	EV("tier.calculated", off, "2022-01-04") "\"tier\":\"" tier "\",\"calculation_id\":\"T" off "\","      \
						 "\"calculation_date\":\"2022-01-04\"}"

/*
 * Community orders, an SSO, a licence and custody, all seen at one node
 * (a probation node that received the court's and the prison's events).
 * Every expected number is derived by hand below.
 */
static void test_supervision_and_compliance(void)
{
	ns_store *crt = mkstore("CRT01", NS_ROLE_COURT, NULL), *pr = mkstore("MDI", NS_ROLE_PRISON, NULL),
		 *pb = mkstore("N55", NS_ROLE_PROBATION, NULL);
	json_t *j, *a;

	/*
	 * X000001: community order from 2022-01-10, 12 months: ends 2023-01-09
	 * (sentence date + term - 1 day). Unpaid work 100 hours ordered; credited
	 * 480 + 150 = 630 minutes = 10 h 30 min. A warning on 2022-03-01, then an
	 * unacceptable absence (UAAB, a failure to comply) on 2022-03-15, within
	 * 12 months of the warning and no breach since: enforcement due.
	 */
	append1(crt, EV("sentence.imposed", "X000001", "2022-01-10")
		"\"sentence_id\":\"S1\",\"sentence_type\":\"COMMUNITY_ORDER\",\"sentence_date\":\"2022-01-10\","
		"\"term_months\":12,\"court\":\"CRT01\",\"offence_date\":\"2021-12-01\",\"requirements\":["
		"{\"requirement_id\":\"UW1\",\"category\":\"UNPAID_WORK\",\"length\":100,\"unit\":\"HOURS\"},"
		"{\"requirement_id\":\"RAR1\",\"category\":\"RAR\",\"length\":20,\"unit\":\"DAYS\"}]}");
	append1(pb, COM("X000001", "N55", "COM1"));
	append1(pb, TIER("X000001", "B2"));
	append1(pb, EV("appointment.outcome.recorded", "X000001", "2022-02-01")
		"\"sentence_id\":\"S1\",\"requirement_id\":\"UW1\",\"appointment_date\":\"2022-02-01\","
		"\"outcome\":\"ATTC\",\"minutes_credited\":480}");
	append1(pb, EV("appointment.outcome.recorded", "X000001", "2022-02-08")
		"\"sentence_id\":\"S1\",\"requirement_id\":\"UW1\",\"appointment_date\":\"2022-02-08\","
		"\"outcome\":\"ATTC\",\"minutes_credited\":150}");
	append1(pb, EV("enforcement.warning.issued", "X000001", "2022-03-01")
		"\"sentence_id\":\"S1\",\"warning_date\":\"2022-03-01\"}");
	append1(pb, EV("appointment.outcome.recorded", "X000001", "2022-03-15")
		"\"sentence_id\":\"S1\",\"appointment_date\":\"2022-03-15\",\"outcome\":\"UAAB\"}");

	/*
	 * X000002: suspended sentence order from 2022-02-01, operational period
	 * 18 months (custodial term 6 months): ends 2023-07-31. Unpaid work 150
	 * hours ordered, 90 minutes credited. A breach initiated on 2022-04-01
	 * and not concluded: one breach open; no warning, so no enforcement due.
	 */
	append1(crt, EV("sentence.imposed", "X000002", "2022-02-01")
		"\"sentence_id\":\"S2\",\"sentence_type\":\"SSO\",\"sentence_date\":\"2022-02-01\","
		"\"term_months\":18,\"suspended_months\":6,\"court\":\"CRT01\",\"offence_date\":\"2021-12-01\","
		"\"requirements\":[{\"requirement_id\":\"UW2\",\"category\":\"UNPAID_WORK\",\"length\":150,"
		"\"unit\":\"HOURS\"}]}");
	append1(pb, COM("X000002", "N55", "COM1"));
	append1(pb, TIER("X000002", "C1"));
	append1(pb, EV("appointment.outcome.recorded", "X000002", "2022-02-15")
		"\"sentence_id\":\"S2\",\"requirement_id\":\"UW2\",\"appointment_date\":\"2022-02-15\","
		"\"outcome\":\"ATTC\",\"minutes_credited\":90}");
	append1(pb, EV("breach.initiated", "X000002", "2022-04-01")
		"\"sentence_id\":\"S2\",\"breach_id\":\"B1\",\"breach_date\":\"2022-04-01\",\"reason\":\"absences\"}");

	/*
	 * X000003: on licence from 2022-03-01 to 2022-09-01 (next key date: the
	 * expiry). X000004: community order from 2022-01-05, 6 months (ends
	 * 2022-07-04), its programme requirement completed: one programme
	 * completion; untiered, so tier NONE in the caseload by tier.
	 */
	append1(pb, COM("X000003", "N55", "COM2"));
	append1(pb, TIER("X000003", "A1"));
	append1(pb, EV("licence.activated", "X000003", "2022-03-01")
		"\"licence_id\":\"L1\",\"licence_type\":\"AP\",\"start_date\":\"2022-03-01\","
		"\"expiry_date\":\"2022-09-01\",\"conditions\":[\"standard\"]}");
	append1(crt, EV("sentence.imposed", "X000004", "2022-01-05")
		"\"sentence_id\":\"S4\",\"sentence_type\":\"COMMUNITY_ORDER\",\"sentence_date\":\"2022-01-05\","
		"\"term_months\":6,\"court\":\"CRT01\",\"offence_date\":\"2021-12-01\",\"requirements\":["
		"{\"requirement_id\":\"P1\",\"category\":\"PROGRAMME\",\"length\":24,\"unit\":\"DAYS\"}]}");
	append1(pb, COM("X000004", "N55", "COM2"));
	append1(pb, EV("requirement.ended", "X000004", "2022-05-01")
		"\"sentence_id\":\"S4\",\"requirement_id\":\"P1\",\"reason\":\"COMPLETED\"}");

	/*
	 * A1111AA: in MDI, SDS 1 year from 2021-11-01: SLED 2022-10-31; CRD at
	 * half of the 365 days, rounded up to 183 days: 2021-11-01 + 182 =
	 * 2022-05-02, the early May bank holiday (first Monday of May 2022), so the
	 * effective release date is the previous working day, Friday 2022-04-29.
	 * The prison's own calculation says CRD 2022-05-03 and gives no HDCED or
	 * TUSED, which nomsync calculates: DATES_DISAGREE once per date that
	 * differs (crd, hdced, tused), three open conflicts of that rule.
	 * COM in N55. A2222AA: in MDI, SDS 2 years from 2021-11-01: CRD
	 * 2021-11-01 + 364 = 2022-10-31 (a Monday, no holiday); COM in N07.
	 */
	const char *prison_lines[] = {
		EV("prisoner.received", "A1111AA", "2021-11-01")
		"\"prison\":\"MDI\",\"reason\":\"NEW_ADMISSION\",\"movement_reason_code\":\"N\"}",
		EV("prisoner.received", "A2222AA", "2021-11-01")
		"\"prison\":\"MDI\",\"reason\":\"NEW_ADMISSION\",\"movement_reason_code\":\"N\"}",
		EV("manager.pom.allocated", "A1111AA", "2021-11-02") "\"prison\":\"MDI\",\"staff\":\"POM1\","
		"\"name\":\"A. POM\"}",
	};
	for (int i = 0; i < 3; i++)
		append1(pr, prison_lines[i]);
	append1(crt, EV("sentence.imposed", "A1111AA", "2021-11-01")
		"\"sentence_id\":\"S5\",\"sentence_type\":\"SDS\",\"sentence_date\":\"2021-11-01\","
		"\"term_years\":1,\"court\":\"CRT01\",\"offence_date\":\"2021-10-01\"}");
	append1(crt, EV("sentence.imposed", "A2222AA", "2021-11-01")
		"\"sentence_id\":\"S6\",\"sentence_type\":\"SDS\",\"sentence_date\":\"2021-11-01\","
		"\"term_years\":2,\"court\":\"CRT01\",\"offence_date\":\"2021-10-01\"}");
	append1(pb, COM("A1111AA", "N55", "COM2"));
	append1(pb, COM("A2222AA", "N07", "COM3"));
	copy_all(crt, pb);
	copy_all(pr, pb);
	append1(pr, EV("sentence.dates.calculated", "A1111AA", "2021-11-05")
		"\"calculation_id\":\"C1\",\"crd\":\"2022-05-03\",\"sled\":\"2022-10-31\"}");
	copy_all(pr, pb); /* the earlier ones again: duplicates */

	/* The estate as of 2022-04-25. */
	CHECK_INT(ns_store_figures(pb, NULL, day("2022-04-25"), &j, NULL), 0);
	CHECK_INT(jint(j, "persons", NULL), 6);
	CHECK_INT(jint(j, "population_by_prison", "MDI"), 2);
	CHECK_INT(json_object_size(json_object_get(j, "population_by_prison")), 1);
	/* Custody: A1111AA, A2222AA; orders X000001, X000004; SSO X000002; licence X000003. */
	CHECK_INT(jint(j, "caseload_by_supervision", "CUSTODY"), 2);
	CHECK_INT(jint(j, "caseload_by_supervision", "COMMUNITY_ORDER"), 2);
	CHECK_INT(jint(j, "caseload_by_supervision", "SSO"), 1);
	CHECK_INT(jint(j, "caseload_by_supervision", "LICENCE"), 1);
	/* Tiers: B2, C1, A1; untiered: X000004 and both in custody. */
	CHECK_INT(jint(j, "caseload_by_tier", "B2"), 1);
	CHECK_INT(jint(j, "caseload_by_tier", "C1"), 1);
	CHECK_INT(jint(j, "caseload_by_tier", "A1"), 1);
	CHECK_INT(jint(j, "caseload_by_tier", "NONE"), 3);
	/* From 2022-04-25: 29 April is within 7 days ([25 Apr, 2 May)); 31 October is beyond 90. */
	CHECK_INT(jint(j, "releases_due", "7"), 1);
	CHECK_INT(jint(j, "releases_due", "28"), 1);
	CHECK_INT(jint(j, "releases_due", "90"), 1);
	/* Ordered 100 + 150 = 250 h; credited 630 + 90 = 720 minutes = 12 h. */
	CHECK_INT(jint(j, "unpaid_work", "hours_ordered"), 250);
	CHECK_INT(jint(j, "unpaid_work", "hours_credited"), 12);
	CHECK_INT(jint(j, "breaches_open", NULL), 1);
	CHECK_INT(jint(j, "enforcement_due", NULL), 1);
	CHECK_INT(jint(j, "programme_completions", NULL), 1);
	CHECK_INT(jint(j, "conflicts_by_rule", "DATES_DISAGREE"), 3);
	CHECK_INT(ns_store_figures_recount(pb, NULL, day("2022-04-25"), &a, NULL), 0);
	CHECK(json_equal(j, a));
	json_decref(a);
	json_decref(j);

	/* Region N07: only A2222AA; nothing due within 90 days of 2022-04-25. */
	CHECK_INT(ns_store_figures(pb, "N07", day("2022-04-25"), &j, NULL), 0);
	CHECK_INT(jint(j, "persons", NULL), 1);
	CHECK_INT(jint(j, "population_by_prison", "MDI"), 1);
	CHECK_INT(jint(j, "releases_due", "90"), 0);
	CHECK_INT(json_object_size(json_object_get(j, "conflicts_by_rule")), 0);
	json_decref(j);
	/* As of 2022-08-20: 31 October is 72 days on, within 90 but not 28. */
	CHECK_INT(ns_store_figures(pb, "N07", day("2022-08-20"), &j, NULL), 0);
	CHECK_INT(jint(j, "releases_due", "28"), 0);
	CHECK_INT(jint(j, "releases_due", "90"), 1);
	json_decref(j);

	/* Releases: the window is [as_of, as_of + days): 29 April is in 5 days' but not in 4 days'. */
	CHECK_INT(ns_store_releases(pb, "MDI", NULL, day("2022-04-25"), 5, &a, NULL), 0);
	CHECK_INT(json_array_size(a), 1);
	CHECK_STR(jstr(json_array_get(a, 0), "ref"), "A1111AA");
	CHECK_STR(jstr(json_array_get(a, 0), "release_date"), "2022-04-29");
	CHECK_STR(jstr(json_array_get(a, 0), "region"), "N55");
	json_decref(a);
	CHECK_INT(ns_store_releases(pb, "MDI", NULL, day("2022-04-25"), 4, &a, NULL), 0);
	CHECK_INT(json_array_size(a), 0);
	json_decref(a);
	/* By region, 200 days: A2222AA in N07 only; both in date order for MDI. */
	CHECK_INT(ns_store_releases(pb, NULL, "N07", day("2022-04-25"), 200, &a, NULL), 0);
	CHECK_INT(json_array_size(a), 1);
	CHECK_STR(jstr(json_array_get(a, 0), "release_date"), "2022-10-31");
	json_decref(a);
	CHECK_INT(ns_store_releases(pb, "MDI", NULL, day("2022-04-25"), 200, &a, NULL), 0);
	CHECK_INT(json_array_size(a), 2);
	CHECK_STR(jstr(json_array_get(a, 0), "ref"), "A1111AA");
	CHECK_STR(jstr(json_array_get(a, 1), "ref"), "A2222AA");
	json_decref(a);
	CHECK_INT(ns_store_releases(pb, "MDI", NULL, day("2022-04-25"), 3661, &a, NULL), NS_EINVAL);
	CHECK(a == NULL);

	/* COM1's caseload: the order (enforcement due) and the SSO (in breach). */
	CHECK_INT(ns_store_caseload(pb, "COM1", &a, NULL), 0);
	CHECK_INT(json_array_size(a), 2);
	const json_t *e = entry(a, "X000001");
	CHECK(e != NULL);
	CHECK_STR(jstr(e, "status"), "COMMUNITY");
	CHECK_STR(jstr(e, "supervision"), "COMMUNITY_ORDER");
	CHECK_STR(jstr(e, "next_key_date"), "2023-01-09");
	CHECK_STR(jstr(e, "tier"), "B2");
	CHECK_STR(flags(e), "ENFORCEMENT_DUE");
	e = entry(a, "X000002");
	CHECK(e != NULL);
	CHECK_STR(jstr(e, "supervision"), "SSO");
	CHECK_STR(jstr(e, "next_key_date"), "2023-07-31");
	CHECK_STR(flags(e), "IN_BREACH");
	json_decref(a);
	/* COM2: the licence (key date its expiry), the completed-programme order and A1111AA in custody. */
	CHECK_INT(ns_store_caseload(pb, "COM2", &a, NULL), 0);
	CHECK_INT(json_array_size(a), 3);
	e = entry(a, "X000003");
	CHECK(e != NULL);
	CHECK_STR(jstr(e, "status"), "LICENCE");
	CHECK_STR(jstr(e, "next_key_date"), "2022-09-01");
	e = entry(a, "A1111AA");
	CHECK(e != NULL);
	CHECK_STR(jstr(e, "status"), "IN_CUSTODY");
	CHECK_STR(jstr(e, "prison"), "MDI");
	CHECK_STR(jstr(e, "pom"), "POM1");
	CHECK_STR(jstr(e, "next_key_date"), "2022-04-29");
	CHECK_STR(flags(e), "CONFLICTS");
	json_decref(a);
	/* The POM's caseload is the same person, found by the POM's code. */
	CHECK_INT(ns_store_caseload(pb, "POM1", &a, NULL), 0);
	CHECK_INT(json_array_size(a), 1);
	json_decref(a);
	CHECK_INT(ns_store_caseload(pb, "NOBODY", &a, NULL), 0);
	CHECK_INT(json_array_size(a), 0);
	json_decref(a);

	ns_store_close(crt);
	ns_store_close(pr);
	ns_store_close(pb);
}

/* The counters kept at each fold equal a recount, whatever the order of changes. */
static void test_incremental_equals_recount(void)
{
	ns_store *pr = mkstore("MDI", NS_ROLE_PRISON, NULL), *pb = mkstore("N55", NS_ROLE_PROBATION, NULL);
	const char *prisons[] = { "MDI", "LEI", "HMI" }, *tiers[] = { "A1", "B2", "C3", "D0" };
	char line[512];
	unsigned seed = 11;

	for (int i = 0; i < 120; i++) {
		int p = rand_r(&seed) % 12;
		snprintf(line, sizeof(line),
			 "{\"type\":\"prisoner.received\",\"offender\":\"A%04dAA\",\"occurred_at\":\"2024-01-%02dT10:00:00Z\","
			 "\"prison\":\"%s\",\"reason\":\"NEW_ADMISSION\",\"movement_reason_code\":\"N\"}",
			 p, 1 + i % 28, prisons[rand_r(&seed) % 3]);
		append1(pr, line);
		snprintf(line, sizeof(line),
			 "{\"type\":\"tier.calculated\",\"offender\":\"X%06d\",\"occurred_at\":\"2024-01-%02dT10:00:00Z\","
			 "\"tier\":\"%s\",\"calculation_id\":\"T%d\",\"calculation_date\":\"2024-01-01\"}",
			 p, 1 + i % 28, tiers[rand_r(&seed) % 4], i);
		append1(pb, line);
		if (i % 5 == 0) {
			snprintf(line, sizeof(line),
				 "{\"type\":\"manager.com.allocated\",\"offender\":\"X%06d\",\"occurred_at\":"
				 "\"2024-01-%02dT11:00:00Z\",\"region\":\"N55\",\"pdu\":\"N55DNR\",\"team\":\"T01\","
				 "\"staff\":\"COM%d\",\"name\":\"B. COM\"}",
				 p, 1 + i % 28, rand_r(&seed) % 3);
			append1(pb, line);
		}
	}
	ns_store *both[] = { pr, pb };
	const char *regions[] = { NULL, "N55" };
	for (int k = 0; k < 2; k++)
		for (int r = 0; r < 2; r++) {
			json_t *a, *b;
			CHECK_INT(ns_store_figures(both[k], regions[r], day("2024-01-10"), &a, NULL), 0);
			CHECK_INT(ns_store_figures_recount(both[k], regions[r], day("2024-01-10"), &b, NULL), 0);
			CHECK(json_equal(a, b));
			json_decref(a);
			json_decref(b);
		}
	json_t *a;
	CHECK_INT(ns_store_figures(pr, NULL, day("2024-01-10"), &a, NULL), 0);
	CHECK_INT(jint(a, "persons", NULL), 12);
	json_decref(a);
	ns_store_close(pr);
	ns_store_close(pb);
}

int main(void)
{
	if (mkdtemp(tmproot) == NULL)
		return 1;
	ns_crypto_init();
	RUN(test_small_set);
	RUN(test_supervision_and_compliance);
	RUN(test_incremental_equals_recount);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmproot);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmproot);
	return TEST_SUMMARY();
}
