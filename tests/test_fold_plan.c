/*
 * Tests for the fold's sentence plan (src/fold/plan.c; docs/DOMAIN.md
 * section 9.1): a plan started by a POM in custody and continued by a COM
 * after release, two sites editing one goal or step without seeing each
 * other's change (PLAN_CONCURRENT_UPDATE, both edits kept, the same view in
 * any arrival order), updates of unknown goals and steps, ids added twice,
 * corrections, and the arrival-order property on random plans.
 */
#include "fold_events.h"

/* The goal at index @p i of the view's plan. */
static json_t *goal(json_t *v, int i)
{
	char path[32];

	snprintf(path, sizeof(path), "plan.goals.%d", i);
	return J(v, path);
}

/* A plan written in custody at MDI and continued in the community by N07. */
static void test_custody_to_community(void)
{
	ns_event *e[16];
	size_t n = 0;
	json_t *v, *g1, *g2;

	e[n++] = e_goal(&MDI, T("2024-02-01T10:00:00Z"), NOMS, "G1", "ACCOMMODATION", "Somewhere to live",
			"2024-09-01");
	e[n++] = e_goal(&MDI, T("2024-02-01T10:05:00Z"), NOMS, "G2", "EMPLOYMENT_AND_EDUCATION", "Find work",
			NULL);
	e[n++] = e_step(&MDI, T("2024-02-01T10:10:00Z"), NOMS, "G1", "S1", "Housing referral",
			"PRISON_OFFENDER_MANAGER");
	e[n++] = e_step(&MDI, T("2024-02-01T10:11:00Z"), NOMS, "G1", "S2", "Sign the tenancy", "PERSON");
	e[n++] = e_agreed(&MDI, T("2024-02-01T10:30:00Z"), NOMS, "COULD_NOT_ANSWER");
	e[n++] = e_reviewed(&MDI, T("2024-02-01T10:40:00Z"), NOMS, "INITIAL", "YES", 1, "Induction");
	e[n++] = e_step_upd(&MDI, T("2024-03-01T10:00:00Z"), NOMS, "G1", "S1", "COMPLETED", "NOT_STARTED",
			    "Referral made");
	/* Released; probation carries the plan on under its CRN (the store folds both references of one person together). */
	e[n++] = e_step_upd(&N07, T("2024-06-10T10:00:00Z"), CRN, "G1", "S2", "COMPLETED", "NOT_STARTED", NULL);
	e[n++] = e_goal_upd(&N07, T("2024-06-10T10:05:00Z"), CRN, "G1", "ACHIEVED", "ACTIVE", "Tenancy signed");
	e[n++] = e_goal_upd(&N07, T("2024-06-10T10:06:00Z"), CRN, "G2", "ACTIVE", "FUTURE", NULL);
	e[n++] = e_agreed(&N07, T("2024-06-10T10:30:00Z"), CRN, "AGREED");
	e[n++] = e_reviewed(&N07, T("2024-06-10T10:40:00Z"), CRN, "TRANSFER", "DONT_KNOW", 0, "After release");
	v = fold(e, n, NULL);

	CHECK_INT(json_array_size(J(v, "plan.goals")), 2);
	g1 = goal(v, 0);
	g2 = goal(v, 1);
	CHECK_STR(JS(g1, "goal_id"), "G1");
	CHECK_STR(JS(g1, "area_of_need"), "ACCOMMODATION");
	CHECK_STR(JS(g1, "title"), "Somewhere to live");
	CHECK_STR(JS(g1, "target_date"), "2024-09-01");
	CHECK_STR(JS(g1, "status"), "ACHIEVED");
	CHECK_STR(JS(g1, "site"), "MDI"); /* the site that added it */
	CHECK_STR(JS(g1, "date"), "2024-02-01");
	CHECK_INT(json_array_size(J(g1, "updates")), 1);
	CHECK_STR(JS(g1, "updates.0.site"), "N07");
	CHECK_STR(JS(g1, "updates.0.status"), "ACHIEVED");
	CHECK_STR(JS(g1, "updates.0.previous_status"), "ACTIVE");
	CHECK_STR(JS(g1, "updates.0.note"), "Tenancy signed");
	CHECK_STR(JS(g1, "updates.0.event"), H(e[8]));
	CHECK(json_is_false(J(g1, "updates.0.concurrent")));
	CHECK_INT(json_array_size(J(g1, "steps")), 2);
	CHECK_STR(JS(g1, "steps.0.step_id"), "S1");
	CHECK_STR(JS(g1, "steps.0.description"), "Housing referral");
	CHECK_STR(JS(g1, "steps.0.actor"), "PRISON_OFFENDER_MANAGER");
	CHECK_STR(JS(g1, "steps.0.status"), "COMPLETED");
	CHECK_STR(JS(g1, "steps.0.site"), "MDI");
	CHECK_STR(JS(g1, "steps.0.updates.0.site"), "MDI");
	CHECK_STR(JS(g1, "steps.1.step_id"), "S2");
	CHECK_STR(JS(g1, "steps.1.actor"), "PERSON");
	CHECK_STR(JS(g1, "steps.1.updates.0.site"), "N07");
	CHECK(JNULL(g1, "steps.1.updates.0.note"));

	/* Without a target date a goal is FUTURE until someone makes it ACTIVE. */
	CHECK_STR(JS(g2, "goal_id"), "G2");
	CHECK(JNULL(g2, "target_date"));
	CHECK_STR(JS(g2, "status"), "ACTIVE");
	CHECK_INT(json_array_size(J(g2, "steps")), 0);

	/* The latest agreement; every review. */
	CHECK_STR(JS(v, "plan.agreement.agreement_status"), "AGREED");
	CHECK_STR(JS(v, "plan.agreement.site"), "N07");
	CHECK_STR(JS(v, "plan.agreement.date"), "2024-06-10");
	CHECK(JNULL(v, "plan.agreement.note"));
	CHECK_INT(json_array_size(J(v, "plan.reviews")), 2);
	CHECK_STR(JS(v, "plan.reviews.0.review_type"), "INITIAL");
	CHECK(json_is_true(J(v, "plan.reviews.0.involved")));
	CHECK_STR(JS(v, "plan.reviews.0.site"), "MDI");
	CHECK_STR(JS(v, "plan.reviews.1.review_type"), "TRANSFER");
	CHECK_STR(JS(v, "plan.reviews.1.support_needed"), "DONT_KNOW");
	CHECK(json_is_false(J(v, "plan.reviews.1.involved")));
	CHECK_STR(JS(v, "plan.reviews.1.note"), "After release");
	CHECK_STR(JS(v, "provenance.plan.event"), H(e[11]));
	CHECK_INT(json_array_size(J(v, "conflicts")), 0);
	json_decref(v);
	pool_free();
}

/*
 * MDI and N07 change goal G1 from ACTIVE, each without seeing the other's
 * change: the later (fold order) shows, both updates are listed, the later
 * marked concurrent, and one conflict names both; the same in any order.
 */
static void test_concurrent_goal(void)
{
	ns_event *e[4];
	char *base;
	json_t *v;

	sites_init();
	e[0] = e_goal(&MDI, T("2024-02-01T10:00:00Z"), NOMS, "G1", "FINANCES", "Clear debts", "2024-12-01");
	e[1] = e_goal_upd(&MDI, T("2024-06-10T10:00:00Z"), NOMS, "G1", "ACHIEVED", "ACTIVE", "Paid off");
	e[2] = e_goal_upd(&N07, T("2024-06-10T11:00:00Z"), CRN, "G1", "REMOVED", "ACTIVE", "Not needed");
	v = fold(e, 3, NULL);
	CHECK_STR(JS(v, "plan.goals.0.status"), "REMOVED");
	CHECK_INT(json_array_size(J(v, "plan.goals.0.updates")), 2);
	CHECK_STR(JS(v, "plan.goals.0.updates.0.status"), "ACHIEVED");
	CHECK_STR(JS(v, "plan.goals.0.updates.0.note"), "Paid off");
	CHECK(json_is_false(J(v, "plan.goals.0.updates.0.concurrent")));
	CHECK_STR(JS(v, "plan.goals.0.updates.1.status"), "REMOVED");
	CHECK_STR(JS(v, "plan.goals.0.updates.1.site"), "N07");
	CHECK(json_is_true(J(v, "plan.goals.0.updates.1.concurrent")));
	CHECK_INT(nconflicts(v, "PLAN_CONCURRENT_UPDATE"), 1);
	CHECK(has_conflict(v, "PLAN_CONCURRENT_UPDATE", e[1], e[2]));
	CHECK(strstr(JS(v, "conflicts.0.description"), "goal G1 set to REMOVED by N07, who saw it ACTIVE, "
							 "but MDI had set it to ACHIEVED") != NULL);
	base = fold_text(e, 3);
	CHECK(base != NULL && orders_differ(e, 3, base, 40) == 0);
	free(base);
	json_decref(v);

	/* At the same instant, the origin keys order them: still one view for any order. */
	e[3] = e_goal_upd(&LEI, T("2024-06-10T10:00:00Z"), NOMS, "G1", "FUTURE", "ACTIVE", NULL);
	base = fold_text(e, 4);
	CHECK(base != NULL && orders_differ(e, 4, base, 40) == 0);
	v = json_loads(base ? base : "{}", 0, NULL);
	CHECK_INT(nconflicts(v, "PLAN_CONCURRENT_UPDATE"), 2);
	CHECK_INT(json_array_size(J(v, "plan.goals.0.updates")), 3);
	CHECK_STR(JS(v, "plan.goals.0.status"), "REMOVED");
	free(base);
	json_decref(v);
	pool_free();
}

/* Updates that agree, or that do not say what their writer saw, are no conflict. */
static void test_no_conflict(void)
{
	ns_event *e[5];
	json_t *v;

	sites_init();
	e[0] = e_goal(&MDI, T("2024-02-01T10:00:00Z"), NOMS, "G1", "DRUG_USE", "Stay clean", NULL);
	e[1] = e_goal_upd(&MDI, T("2024-03-01T10:00:00Z"), NOMS, "G1", "ACTIVE", "FUTURE", NULL);
	/* N07 makes the same change without having seen MDI's: both agree. */
	e[2] = e_goal_upd(&N07, T("2024-03-01T11:00:00Z"), CRN, "G1", "ACTIVE", "FUTURE", NULL);
	/* No previous status: nothing to compare. */
	e[3] = e_goal_upd(&N07, T("2024-04-01T11:00:00Z"), CRN, "G1", "ACHIEVED", NULL, NULL);
	/* A progress note: the status stays. */
	e[4] = e_goal_upd(&N07, T("2024-05-01T11:00:00Z"), CRN, "G1", "ACHIEVED", "ACHIEVED", "Still clean");
	v = fold(e, 5, NULL);
	CHECK_INT(json_array_size(J(v, "conflicts")), 0);
	CHECK_STR(JS(v, "plan.goals.0.status"), "ACHIEVED");
	CHECK_INT(json_array_size(J(v, "plan.goals.0.updates")), 4);
	CHECK(JNULL(v, "plan.goals.0.updates.2.previous_status"));
	CHECK_STR(JS(v, "plan.goals.0.updates.3.note"), "Still clean");
	json_decref(v);
	pool_free();
}

/* The same for a step: two sites move it from NOT_STARTED to different statuses. */
static void test_concurrent_step(void)
{
	ns_event *e[5];
	char *base;
	json_t *v;

	sites_init();
	e[0] = e_goal(&MDI, T("2024-02-01T10:00:00Z"), NOMS, "G1", "ALCOHOL_USE", "Drink less", NULL);
	e[1] = e_step(&MDI, T("2024-02-01T10:01:00Z"), NOMS, "G1", "S1", "Alcohol course", "PROGRAMME_STAFF");
	e[2] = e_step_upd(&N07, T("2024-06-10T10:00:00Z"), CRN, "G1", "S1", "IN_PROGRESS", "NOT_STARTED", NULL);
	e[3] = e_step_upd(&MDI, T("2024-06-10T10:30:00Z"), NOMS, "G1", "S1", "CANNOT_BE_DONE_YET", "NOT_STARTED",
			  "Waiting list");
	/* N07 then sees MDI's change and completes it: in step. */
	e[4] = e_step_upd(&N07, T("2024-07-10T10:00:00Z"), CRN, "G1", "S1", "COMPLETED", "CANNOT_BE_DONE_YET",
			  NULL);
	v = fold(e, 5, NULL);
	CHECK_INT(nconflicts(v, "PLAN_CONCURRENT_UPDATE"), 1);
	CHECK(has_conflict(v, "PLAN_CONCURRENT_UPDATE", e[2], e[3]));
	CHECK(strstr(JS(v, "conflicts.0.description"), "step S1 of goal G1") != NULL);
	CHECK_STR(JS(v, "plan.goals.0.steps.0.status"), "COMPLETED");
	CHECK_INT(json_array_size(J(v, "plan.goals.0.steps.0.updates")), 3);
	CHECK(json_is_true(J(v, "plan.goals.0.steps.0.updates.1.concurrent")));
	CHECK(json_is_false(J(v, "plan.goals.0.steps.0.updates.2.concurrent")));
	CHECK_INT(json_array_size(J(v, "plan.goals.0.updates")), 0);
	base = fold_text(e, 5);
	CHECK(base != NULL && orders_differ(e, 5, base, 40) == 0);
	free(base);
	json_decref(v);
	pool_free();
}

/* Updates of goals and steps never added are conflicts and change nothing. */
static void test_unknown_items(void)
{
	ns_event *e[5];
	json_t *v;

	sites_init();
	e[0] = e_goal_upd(&N07, T("2024-02-01T10:00:00Z"), CRN, "G9", "ACHIEVED", "ACTIVE", NULL);
	e[1] = e_step(&N07, T("2024-02-01T10:01:00Z"), CRN, "G9", "S1", "Orphan", "OTHER");
	e[2] = e_goal(&MDI, T("2024-02-02T10:00:00Z"), NOMS, "G1", "FINANCES", "Budget", NULL);
	e[3] = e_step_upd(&N07, T("2024-02-03T10:00:00Z"), CRN, "G1", "S7", "COMPLETED", NULL, NULL);
	e[4] = e_step_upd(&N07, T("2024-02-03T10:01:00Z"), CRN, "G9", "S1", "COMPLETED", NULL, NULL);
	v = fold(e, 5, NULL);
	CHECK_INT(nconflicts(v, "PLAN_GOAL_NOT_FOUND"), 2);
	CHECK(has_conflict(v, "PLAN_GOAL_NOT_FOUND", e[0], NULL));
	CHECK(has_conflict(v, "PLAN_GOAL_NOT_FOUND", e[1], NULL));
	CHECK_INT(nconflicts(v, "PLAN_STEP_NOT_FOUND"), 2);
	CHECK(has_conflict(v, "PLAN_STEP_NOT_FOUND", e[3], NULL));
	CHECK(has_conflict(v, "PLAN_STEP_NOT_FOUND", e[4], NULL));
	CHECK_INT(json_array_size(J(v, "plan.goals")), 1);
	CHECK_STR(JS(v, "plan.goals.0.status"), "FUTURE");
	CHECK_INT(json_array_size(J(v, "plan.goals.0.steps")), 0);
	CHECK_INT(json_array_size(J(v, "plan.goals.0.updates")), 0);
	json_decref(v);
	pool_free();
}

/* An id added again: the same details are a harmless duplicate, others a conflict (first kept). */
static void test_added_twice(void)
{
	ns_event *e[6];
	json_t *v;

	sites_init();
	e[0] = e_goal(&MDI, T("2024-02-01T10:00:00Z"), NOMS, "G1", "FINANCES", "Budget", "2024-10-01");
	e[1] = e_goal(&N07, T("2024-02-02T10:00:00Z"), CRN, "G1", "FINANCES", "Budget", "2024-10-01");
	e[2] = e_goal(&N07, T("2024-02-03T10:00:00Z"), CRN, "G1", "ACCOMMODATION", "Flat", NULL);
	e[3] = e_step(&MDI, T("2024-02-04T10:00:00Z"), NOMS, "G1", "S1", "Debt advice", "PARTNERSHIP_AGENCY");
	e[4] = e_step(&N07, T("2024-02-05T10:00:00Z"), CRN, "G1", "S1", "Debt advice", "OTHER");
	/* A step id is unique within its goal only. */
	e[5] = e_goal(&N07, T("2024-02-06T10:00:00Z"), CRN, "G2", "FINANCES", "Savings", NULL);
	v = fold(e, 6, NULL);
	CHECK_INT(nconflicts(v, "PLAN_ITEM_ADDED_TWICE"), 2);
	CHECK(has_conflict(v, "PLAN_ITEM_ADDED_TWICE", e[0], e[2]));
	CHECK(has_conflict(v, "PLAN_ITEM_ADDED_TWICE", e[3], e[4]));
	CHECK_INT(json_array_size(J(v, "plan.goals")), 2);
	CHECK_STR(JS(v, "plan.goals.0.area_of_need"), "FINANCES");
	CHECK_STR(JS(v, "plan.goals.0.site"), "MDI");
	CHECK_STR(JS(v, "plan.goals.0.steps.0.actor"), "PARTNERSHIP_AGENCY");
	CHECK_INT(json_array_size(J(v, "plan.goals.1.steps")), 0);
	json_decref(v);
	pool_free();
}

/* A withdrawn plan event is not applied; an erased one counts but sets nothing. */
static void test_corrected(void)
{
	ns_event *e[4];
	json_t *v;

	sites_init();
	e[0] = e_goal(&MDI, T("2024-02-01T10:00:00Z"), NOMS, "G1", "HEALTH_AND_WELLBEING", "See a GP", NULL);
	e[1] = e_goal_upd(&MDI, T("2024-02-02T10:00:00Z"), NOMS, "G1", "REMOVED", "FUTURE", "Wrong person");
	e[2] = e_correct(&MDI, T("2024-02-02T11:00:00Z"), NOMS, e[1]);
	e[3] = erased_copy(e_reviewed(&MDI, T("2024-02-03T10:00:00Z"), NOMS, "REVIEW", "NO", 1, "Seen"));
	v = fold(e, 4, NULL);
	CHECK_STR(JS(v, "plan.goals.0.status"), "FUTURE");
	CHECK_INT(json_array_size(J(v, "plan.goals.0.updates")), 0);
	CHECK_INT(json_array_size(J(v, "plan.reviews")), 0);
	CHECK(in_array(v, "corrected", H(e[1])));
	json_decref(v);
	pool_free();
}

/* Random plans from three sites, folded in 100 orders each: one view, with concurrent edits among them. */
static void test_order_independence(void)
{
	struct site *origins[] = { &MDI, &LEI, &N07 };
	ns_event *evs[96];
	int concurrent = 0;

	for (int set = 0; set < 6; set++) {
		size_t n = 40 + (size_t)set * 10;
		int64_t t = T("2024-01-01T09:00:00Z");
		char *base;

		rng_state = 0x5eed5eedULL + (uint64_t)set;
		sites_init();
		for (size_t i = 0; i < n; i++) {
			/* Coarse steps so that sites often share an occurred_at. */
			t += (int64_t)pick(3) * 3600;
			evs[i] = i > 0 && pick(8) == 0 ? e_correct(&MDI, t, NOMS, evs[pick((unsigned)i)])
						       : random_plan(origins[pick(3)], t);
			if (evs[i] == NULL)
				return;
		}
		base = fold_text(evs, n);
		if (base == NULL)
			continue;
		{
			json_t *v = json_loads(base, 0, NULL);
			concurrent += nconflicts(v, "PLAN_CONCURRENT_UPDATE");
			CHECK(json_array_size(J(v, "plan.goals")) > 0);
			json_decref(v);
		}
		CHECK_INT(orders_differ(evs, n, base, 100), 0);
		free(base);
		pool_free();
	}
	CHECK(concurrent > 0);
}

int main(void)
{
	if (ns_crypto_init() != 0)
		return 1;
	sites_init();
	RUN(test_custody_to_community);
	RUN(test_concurrent_goal);
	RUN(test_no_conflict);
	RUN(test_concurrent_step);
	RUN(test_unknown_items);
	RUN(test_added_twice);
	RUN(test_corrected);
	RUN(test_order_independence);
	pool_free();
	return TEST_SUMMARY();
}
