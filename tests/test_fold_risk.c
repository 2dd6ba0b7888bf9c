/*
 * Tests for the fold's risk area (src/fold/risk.c; docs/DOMAIN.md s. 9.1):
 * RoSH from the RLRH/RMRH/RHRH/RVHR registrations, MAPPA category and level
 * from the MAPP registration, the tier from the latest calculation, and
 * ROSH_DISAGREE; each case folded in every arrival order gives one view.
 */
#include "fold_events.h"

/* A second probation site (N55) besides N07. */
static struct site N55;

/* Keys for the five sites of fold_events.h and N55. */
static void risk_sites_init(void)
{
	sites_init();
	memset(&N55, 0, sizeof(N55));
	if (ns_identity_generate(&N55.id, "N55", NS_ROLE_PROBATION) != 0)
		fprintf(stderr, "cannot make identity N55\n");
}

/* Fold @p e in reverse and rotated orders too: each gives the same bytes. */
static void check_orders(ns_event **e, size_t n)
{
	ns_event *perm[32];
	char *base = fold_text(e, n), *text;

	for (size_t r = 0; base != NULL && r < n; r++) {
		for (size_t i = 0; i < n; i++)
			perm[i] = e[(i + r) % n];
		if (r % 2 == 1)
			for (size_t i = 0; i < n / 2; i++) {
				ns_event *t = perm[i];
				perm[i] = perm[n - 1 - i];
				perm[n - 1 - i] = t;
			}
		text = fold_text(perm, n);
		CHECK(text != NULL && strcmp(text, base) == 0);
		free(text);
	}
	free(base);
}

/* No registration or calculation: risk is all null. */
static void test_none(void)
{
	ns_event *e[1];
	json_t *v;

	risk_sites_init();
	e[0] = e_reg_added(&N07, T("2024-01-02T10:00:00Z"), CRN, "IIOM", "2024-01-02");
	v = fold(e, 1, NULL);
	CHECK(json_is_object(J(v, "risk")));
	CHECK_INT(json_object_size(J(v, "risk")), 4);
	CHECK(JNULL(v, "risk.rosh") && JNULL(v, "risk.mappa") && JNULL(v, "risk.tier") &&
	      JNULL(v, "risk.tier_calculation"));
	/* A register type outside risk is listed but sets no risk provenance. */
	CHECK_STR(JS(v, "registrations.0.register_type"), "IIOM");
	CHECK(J(v, "provenance.risk") == NULL);
	json_decref(v);
	pool_free();
}

/* Each RoSH register gives its level; removal ends it. */
static void test_rosh_levels(void)
{
	static const char *codes[] = { "RLRH", "RMRH", "RHRH", "RVHR" };
	static const char *levels[] = { "LOW", "MEDIUM", "HIGH", "VERY_HIGH" };
	ns_event *e[2];
	json_t *v;

	risk_sites_init();
	for (int i = 0; i < 4; i++) {
		e[0] = e_reg_added(&N07, T("2024-01-02T10:00:00Z"), CRN, codes[i], "2024-01-02");
		v = fold(e, 1, NULL);
		CHECK_STR(JS(v, "risk.rosh"), levels[i]);
		CHECK_STR(JS(v, "provenance.risk.event"), H(e[0]));
		CHECK(JNULL(v, "risk.mappa"));
		json_decref(v);
		e[1] = e_reg_removed(&N07, T("2024-02-02T10:00:00Z"), CRN, codes[i]);
		v = fold(e, 2, NULL);
		CHECK(JNULL(v, "risk.rosh"));
		CHECK_STR(JS(v, "provenance.risk.event"), H(e[1]));
		/* The registrations list is as before: the entry stays, inactive. */
		CHECK_STR(JS(v, "registrations.0.register_type"), codes[i]);
		CHECK_STR(JS(v, "registrations.0.registration_date"), "2024-01-02");
		CHECK(json_is_false(J(v, "registrations.0.active")));
		CHECK_INT(json_object_size(J(v, "registrations.0")), 3);
		json_decref(v);
	}
	pool_free();
}

/*
 * A change of level done properly (the new one added, the old removed) shows
 * the new level with no conflict, whichever of the two comes first.
 */
static void test_rosh_change(void)
{
	ns_event *e[4];
	json_t *v;

	risk_sites_init();
	e[0] = e_reg_added(&N07, T("2024-01-02T10:00:00Z"), CRN, "RMRH", "2024-01-02");
	e[1] = e_reg_removed(&N07, T("2024-05-01T10:00:00Z"), CRN, "RMRH");
	e[2] = e_reg_added(&N07, T("2024-05-01T10:00:00Z"), CRN, "RHRH", "2024-05-01");
	v = fold(e, 3, NULL);
	CHECK_STR(JS(v, "risk.rosh"), "HIGH");
	CHECK_INT(json_array_size(J(v, "conflicts")), 0);
	json_decref(v);
	check_orders(e, 3);
	/* Raised again later: the register type is active again. */
	e[3] = e_reg_added(&N07, T("2024-09-01T10:00:00Z"), CRN, "RMRH", "2024-09-01");
	e[1] = e_reg_removed(&N07, T("2024-08-01T10:00:00Z"), CRN, "RHRH");
	v = fold(e, 4, NULL);
	CHECK_STR(JS(v, "risk.rosh"), "MEDIUM");
	CHECK_INT(json_array_size(J(v, "conflicts")), 0);
	json_decref(v);
	pool_free();
}

/*
 * Two RoSH registrations active at once: the view shows the one added last
 * in fold order, and ROSH_DISAGREE names each other active one with it,
 * from one site or two.
 */
static void test_rosh_disagree(void)
{
	ns_event *e[4];
	json_t *v;

	risk_sites_init();
	/* N07 raises HIGH; N55, not having seen it, raises MEDIUM a day later. */
	e[0] = e_reg_added(&N07, T("2024-03-01T10:00:00Z"), CRN, "RHRH", "2024-03-01");
	e[1] = e_reg_added(&N55, T("2024-03-02T10:00:00Z"), CRN, "RMRH", "2024-03-02");
	v = fold(e, 2, NULL);
	CHECK_STR(JS(v, "risk.rosh"), "MEDIUM");
	CHECK_INT(nconflicts(v, "ROSH_DISAGREE"), 1);
	CHECK(has_conflict(v, "ROSH_DISAGREE", e[0], e[1]));
	CHECK(strstr(JS(v, "conflicts.0.description"), "RHRH (HIGH, from N07)") != NULL);
	CHECK(strstr(JS(v, "conflicts.0.description"), "RMRH (MEDIUM, from N55)") != NULL);
	json_decref(v);
	check_orders(e, 2);

	/* The same time at both sites: fold order (origin key bytes) decides, the same in any order. */
	e[2] = e_reg_added(&N07, T("2024-04-01T10:00:00Z"), CRN, "RVHR", "2024-04-01");
	e[3] = e_reg_added(&N55, T("2024-04-01T10:00:00Z"), CRN, "RLRH", "2024-04-01");
	v = fold(e, 4, NULL);
	CHECK_INT(nconflicts(v, "ROSH_DISAGREE"), 3);
	CHECK(strcmp(JS(v, "risk.rosh"), "VERY_HIGH") == 0 || strcmp(JS(v, "risk.rosh"), "LOW") == 0);
	json_decref(v);
	check_orders(e, 4);

	/* Once the other is removed the conflict goes. */
	e[2] = e_reg_removed(&N55, T("2024-04-01T10:00:00Z"), CRN, "RMRH");
	v = fold(e, 3, NULL);
	CHECK_STR(JS(v, "risk.rosh"), "HIGH");
	CHECK_INT(nconflicts(v, "ROSH_DISAGREE"), 0);
	json_decref(v);
	pool_free();
}

/* MAPPA: category and level from the active MAPP registration; removal ends it. */
static void test_mappa(void)
{
	ns_event *e[4];
	json_t *v;

	risk_sites_init();
	e[0] = e_mappa(&N07, T("2024-01-10T10:00:00Z"), CRN, "2024-01-10", "M2", "M1");
	e[1] = e_reg_added(&N07, T("2024-01-11T10:00:00Z"), CRN, "RHRH", "2024-01-11");
	v = fold(e, 2, NULL);
	CHECK_STR(JS(v, "risk.mappa.category"), "M2");
	CHECK_STR(JS(v, "risk.mappa.level"), "M1");
	CHECK_STR(JS(v, "risk.mappa.registration_date"), "2024-01-10");
	CHECK_STR(JS(v, "risk.rosh"), "HIGH");
	/* The registrations list does not show category or level. */
	CHECK_STR(JS(v, "registrations.0.register_type"), "MAPP");
	CHECK(J(v, "registrations.0.category") == NULL);
	json_decref(v);

	/* Managed at level 2 from a later registration (the latest in fold order counts). */
	e[2] = e_mappa(&N07, T("2024-06-01T10:00:00Z"), CRN, "2024-06-01", "M2", "M2");
	v = fold(e, 3, NULL);
	CHECK_STR(JS(v, "risk.mappa.level"), "M2");
	CHECK_STR(JS(v, "risk.mappa.registration_date"), "2024-06-01");
	CHECK_STR(JS(v, "provenance.risk.event"), H(e[2]));
	json_decref(v);
	check_orders(e, 3);

	/* Removed: mappa null, RoSH unchanged. */
	e[3] = e_reg_removed(&N07, T("2024-09-01T10:00:00Z"), CRN, "MAPP");
	v = fold(e, 4, NULL);
	CHECK(JNULL(v, "risk.mappa"));
	CHECK_STR(JS(v, "risk.rosh"), "HIGH");
	json_decref(v);

	/* A MAPP registration without category or level (accepted): both null. */
	e[0] = e_mappa(&N07, T("2024-10-01T10:00:00Z"), CRN, "2024-10-01", NULL, NULL);
	v = fold(e, 1, NULL);
	CHECK(json_is_object(J(v, "risk.mappa")));
	CHECK(JNULL(v, "risk.mappa.category") && JNULL(v, "risk.mappa.level"));
	json_decref(v);
	pool_free();
}

/* Tier: the latest calculation_date wins, then fold order; an older one arriving late is ignored. */
static void test_tier(void)
{
	ns_event *e[4];
	json_t *v;

	risk_sites_init();
	e[0] = e_tier(&N07, T("2024-02-01T10:00:00Z"), CRN, "B2", "calc-1", "2024-02-01");
	v = fold(e, 1, NULL);
	CHECK_STR(JS(v, "risk.tier"), "B2");
	CHECK_STR(JS(v, "risk.tier_calculation.calculation_id"), "calc-1");
	CHECK_STR(JS(v, "risk.tier_calculation.calculation_date"), "2024-02-01");
	CHECK_STR(JS(v, "provenance.risk.event"), H(e[0]));
	json_decref(v);

	/* Recorded later but calculated earlier (a replayed message): B2 stays. */
	e[1] = e_tier(&N55, T("2024-03-01T10:00:00Z"), CRN, "D0", "calc-0", "2024-01-15");
	v = fold(e, 2, NULL);
	CHECK_STR(JS(v, "risk.tier"), "B2");
	CHECK_STR(JS(v, "provenance.risk.event"), H(e[0]));
	json_decref(v);

	/* A newer calculation (v3 tier), then one of the same date later in fold order. */
	e[2] = e_tier(&N07, T("2024-04-01T10:00:00Z"), CRN, "C", "calc-2", "2024-04-01");
	e[3] = e_tier(&N55, T("2024-04-01T12:00:00Z"), CRN, "B2S", "calc-3", "2024-04-01");
	v = fold(e, 4, NULL);
	CHECK_STR(JS(v, "risk.tier"), "B2S");
	CHECK_STR(JS(v, "risk.tier_calculation.calculation_id"), "calc-3");
	CHECK_INT(json_array_size(J(v, "conflicts")), 0);
	json_decref(v);
	check_orders(e, 4);
	pool_free();
}

/* Withdrawing the registration that set RoSH (event.corrected by its origin) takes it away. */
static void test_corrected(void)
{
	ns_event *e[3];
	json_t *v;

	risk_sites_init();
	e[0] = e_reg_added(&N07, T("2024-01-02T10:00:00Z"), CRN, "RMRH", "2024-01-02");
	e[1] = e_reg_added(&N07, T("2024-01-03T10:00:00Z"), CRN, "RVHR", "2024-01-03");
	e[2] = e_correct(&N07, T("2024-01-04T10:00:00Z"), CRN, e[1]);
	v = fold(e, 3, NULL);
	CHECK_STR(JS(v, "risk.rosh"), "MEDIUM");
	CHECK_INT(nconflicts(v, "ROSH_DISAGREE"), 0);
	json_decref(v);
	pool_free();
}

int main(void)
{
	if (ns_crypto_init() != 0)
		return 1;
	RUN(test_none);
	RUN(test_rosh_levels);
	RUN(test_rosh_change);
	RUN(test_rosh_disagree);
	RUN(test_mappa);
	RUN(test_tier);
	RUN(test_corrected);
	pool_free();
	return TEST_SUMMARY();
}
