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

static void append1(ns_store *s, const char *line)
{
	ns_diag d;
	const char *lines[1] = { line };
	int rc = append(s, lines, 1, &d);
	if (rc != 0)
		fprintf(stderr, "append: %s\n", d.msg);
	CHECK_INT(rc, 0);
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
	RUN(test_incremental_equals_recount);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmproot);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmproot);
	return TEST_SUMMARY();
}
