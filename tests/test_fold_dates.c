/*
 * Tests for ns_release_dates_calc (REFERENCE.md section 5).
 *
 * Every expected date below was worked out by hand from the rules (the
 * arithmetic is in the comment next to each case): L = days from the
 * sentence date to the date plus the term, release = date + ceil(L x m) - 1,
 * expiry = date + L - 1, then adjustments.
 */
#include <nomsync/date.h>
#include <nomsync/fold.h>

#include "test.h"

/* Day number of a "YYYY-MM-DD" literal; NS_DATE_NONE for NULL. */
static int32_t D(const char *s)
{
	int32_t d = NS_DATE_NONE;

	if (s != NULL && ns_date_parse(s, &d) != 0)
		fprintf(stderr, "bad date literal %s\n", s);
	return d;
}

/* A date as text for CHECK_STR ("none" for NS_DATE_NONE). */
static const char *S(int32_t d, char buf[11])
{
	if (d == NS_DATE_NONE)
		return "none";
	ns_date_format(buf, d);
	return buf;
}

/* Run one calculation and compare every date (NULL = none expected). */
static void expect(const char *type, const char *sd, int y, int m, int d, const char *offence,
		   int remand, int tagged, int ual, int ada, int rada, int length, const char *crd,
		   const char *sled, const char *ard, const char *sed, const char *tused, int line)
{
	ns_adjustments adj = { remand, tagged, ual, ada, rada };
	ns_release_dates r;
	char b[11];
	int rc = ns_release_dates_calc(type, D(sd), y, m, d, D(offence), &adj, &r);

	if (rc != 0) {
		fprintf(stderr, "line %d: rc %d\n", line, rc);
		ns_test_failed_checks++;
		return;
	}
	CHECK_INT(r.length_days, length);
	CHECK_STR(S(r.crd, b), crd ? crd : "none");
	CHECK_STR(S(r.sled, b), sled ? sled : "none");
	CHECK_STR(S(r.ard, b), ard ? ard : "none");
	CHECK_STR(S(r.sed, b), sed ? sed : "none");
	CHECK_STR(S(r.tused, b), tused ? tused : "none");
	if (ns_test_failed_checks)
		fprintf(stderr, "  (case at line %d)\n", line);
}

#define EXPECT(...) expect(__VA_ARGS__, __LINE__)

/* The worked example in REFERENCE.md section 5. */
static void test_worked_example(void)
{
	/* L = 366 + 365 = 731; ceil(731/2) = 366 -> 2024-01-01 + 365 = 2024-12-31;
	 * expiry 2024-01-01 + 730 = 2025-12-31. Exactly two years: no TUSED. */
	EXPECT("SDS", "2024-01-01", 2, 0, 0, NULL, 0, 0, 0, 0, 0, 731, "2024-12-31", "2025-12-31",
	       NULL, NULL, NULL);
	/* 30 days remand moves both back by 30. */
	EXPECT("SDS", "2024-01-01", 2, 0, 0, NULL, 30, 0, 0, 0, 0, 731, "2024-12-01", "2025-12-01",
	       NULL, NULL, NULL);
}

/* Halves with odd lengths: ceil matters. */
static void test_sds_rounding(void)
{
	/* 3 months from 2024-01-01: 31+29+31 = 91; ceil(45.5) = 46 -> +45 = 02-15;
	 * expiry +90 = 03-31; TUSED = CRD + 12 months. */
	EXPECT("SDS", "2024-01-01", 0, 3, 0, NULL, 0, 0, 0, 0, 0, 91, "2024-02-15", "2024-03-31",
	       NULL, NULL, "2025-02-15");
	/* 7 days: ceil(3.5) = 4 -> +3. */
	EXPECT("SDS", "2024-03-01", 0, 0, 7, NULL, 0, 0, 0, 0, 0, 7, "2024-03-04", "2024-03-07",
	       NULL, NULL, "2025-03-04");
	/* 10 days: exactly 5 -> +4. */
	EXPECT("SDS", "2024-03-01", 0, 0, 10, NULL, 0, 0, 0, 0, 0, 10, "2024-03-05", "2024-03-10",
	       NULL, NULL, "2025-03-05");
	/* 1 year from 2023-03-15 crosses 2024-02-29: L = 366, 183 -> +182 = 09-13;
	 * expiry +365 = 2024-03-14. */
	EXPECT("SDS", "2023-03-15", 1, 0, 0, "2023-01-01", 0, 0, 0, 0, 0, 366, "2023-09-13",
	       "2024-03-14", NULL, NULL, "2024-09-13");
}

/* Two-thirds and two-fifths. */
static void test_sds_plus_and_40(void)
{
	/* SDS+ 5y from 2021-06-10: 365+365+366+365+365 = 1826; 2/3 = 1217.33 -> 1218,
	 * +1217 = 2024-06-10 (+1096) then +121 = 2024-10-09; expiry +1825 = 2026-06-09. */
	EXPECT("SDS_PLUS", "2021-06-10", 5, 0, 0, NULL, 0, 0, 0, 0, 0, 1826, "2024-10-09",
	       "2026-06-09", NULL, NULL, NULL);
	/* SDS+ 4y from 2020-04-01: 1461 (2024-02-29 inside); 2/3 = 974 exactly, +973 =
	 * 2022-04-01 (+730) then +243 = 2022-11-30; expiry +1460 = 2024-03-31. */
	EXPECT("SDS_PLUS", "2020-04-01", 4, 0, 0, NULL, 0, 0, 0, 0, 0, 1461, "2022-11-30",
	       "2024-03-31", NULL, NULL, NULL);
	/* SDS40 4y from 2024-10-01: 1461 (2028-02-29 inside); 0.4 x 1461 = 584.4 -> 585,
	 * +584 = 2025-10-01 (+365) then +219 = 2026-05-08; expiry +1460 = 2028-09-30. */
	EXPECT("SDS40", "2024-10-01", 4, 0, 0, NULL, 0, 0, 0, 0, 0, 1461, "2026-05-08",
	       "2028-09-30", NULL, NULL, NULL);
	/* SDS40 10 days: 4 exactly -> +3. 5 days: 2 exactly -> +1. 6 days: 2.4 -> 3, +2. */
	EXPECT("SDS40", "2025-01-10", 0, 0, 10, NULL, 0, 0, 0, 0, 0, 10, "2025-01-13", "2025-01-19",
	       NULL, NULL, "2026-01-13");
	EXPECT("SDS40", "2025-01-10", 0, 0, 6, NULL, 0, 0, 0, 0, 0, 6, "2025-01-12", "2025-01-15",
	       NULL, NULL, "2026-01-12");
	/* SDS+ 7 days: 4.67 -> 5, +4. */
	EXPECT("SDS_PLUS", "2025-01-10", 0, 0, 7, NULL, 0, 0, 0, 0, 0, 7, "2025-01-14",
	       "2025-01-16", NULL, NULL, "2026-01-14");
}

/* Calendar edge cases: month ends clamp, leap days count. */
static void test_calendar(void)
{
	/* 2023-01-31 + 1 month = 2023-02-28: L = 28, 14 -> +13 = 02-13, expiry +27 = 02-27. */
	EXPECT("SDS", "2023-01-31", 0, 1, 0, NULL, 0, 0, 0, 0, 0, 28, "2023-02-13", "2023-02-27",
	       NULL, NULL, "2024-02-13");
	/* 2024-01-31 + 1 month = 2024-02-29: L = 29, 14.5 -> 15, +14 = 02-14, expiry +28 = 02-28. */
	EXPECT("SDS", "2024-01-31", 0, 1, 0, NULL, 0, 0, 0, 0, 0, 29, "2024-02-14", "2024-02-28",
	       NULL, NULL, "2025-02-14");
	/* 2024-02-29 + 1 year = 2025-02-28: L = 365, 183 -> +182 = 08-29, expiry +364 = 2025-02-27. */
	EXPECT("SDS", "2024-02-29", 1, 0, 0, NULL, 0, 0, 0, 0, 0, 365, "2024-08-29", "2025-02-27",
	       NULL, NULL, "2025-08-29");
	/* Months then days: 2024-01-31 + 1 month 1 day = 2024-02-29 + 1 = 03-01: L = 30,
	 * 15 -> +14 = 02-14, expiry +29 = 02-29. */
	EXPECT("SDS", "2024-01-31", 0, 1, 1, NULL, 0, 0, 0, 0, 0, 30, "2024-02-14", "2024-02-29",
	       NULL, NULL, "2025-02-14");
	/* A CRD on 29 Feb: TUSED clamps to 28 Feb next year. 2023-08-31 + 1y = 2024-08-31:
	 * L = 366, 183 -> +182 = 2024-02-29; TUSED 2025-02-28; expiry +365 = 2024-08-30. */
	EXPECT("SDS", "2023-08-31", 1, 0, 0, NULL, 0, 0, 0, 0, 0, 366, "2024-02-29", "2024-08-30",
	       NULL, NULL, "2025-02-28");
}

/* Adjustments. */
static void test_adjustments(void)
{
	/* UAL 10, ADA 14, RADA 4: release +20 = 2025-01-20; expiry +UAL only = 2026-01-10. */
	EXPECT("SDS", "2024-01-01", 2, 0, 0, NULL, 0, 0, 10, 14, 4, 731, "2025-01-20", "2026-01-10",
	       NULL, NULL, NULL);
	/* Remand 10 + tagged bail 15 = 25: 2024-12-06 and 2025-12-06. */
	EXPECT("SDS", "2024-01-01", 2, 0, 0, NULL, 10, 15, 0, 0, 0, 731, "2024-12-06", "2025-12-06",
	       NULL, NULL, NULL);
	/* ADA alone moves release, not expiry. */
	EXPECT("SDS", "2024-01-01", 2, 0, 0, NULL, 0, 0, 0, 42, 0, 731, "2025-02-11", "2025-12-31",
	       NULL, NULL, NULL);
	/* TUSED moves with the release date: 3 months, remand 10: CRD 02-15 - 10 = 02-05. */
	EXPECT("SDS", "2024-01-01", 0, 3, 0, NULL, 10, 0, 0, 0, 0, 91, "2024-02-05", "2024-03-21",
	       NULL, NULL, "2025-02-05");
	/* adj NULL means none. */
	{
		ns_release_dates r;
		CHECK_INT(ns_release_dates_calc("SDS", D("2024-01-01"), 2, 0, 0, NS_DATE_NONE, NULL, &r), 0);
		CHECK_INT(r.crd, D("2024-12-31"));
	}
}

/* Deductions beyond the custodial part: release on the sentence date. */
static void test_immediate_release(void)
{
	/* 6 months from 2024-01-01: L = 182, 91 -> +90 = 03-31. Remand 100 > 90 days:
	 * CRD = sentence date; expiry +181 - 100 = +81 = 03-22. */
	EXPECT("SDS", "2024-01-01", 0, 6, 0, NULL, 100, 0, 0, 0, 0, 182, "2024-01-01", "2024-03-22",
	       NULL, NULL, "2025-01-01");
	/* Remand 200 exceeds the whole sentence: both on the sentence date. */
	EXPECT("SDS", "2024-01-01", 0, 6, 0, NULL, 200, 0, 0, 0, 0, 182, "2024-01-01", "2024-01-01",
	       NULL, NULL, "2025-01-01");
	/* Remand 60 + tagged bail 30 = exactly the 90 days to release: the sentence
	 * date itself; expiry +181 - 90 = +91 = 04-01. */
	EXPECT("SDS", "2024-01-01", 0, 6, 0, NULL, 60, 30, 0, 0, 0, 182, "2024-01-01", "2024-04-01",
	       NULL, NULL, "2025-01-01");
}

/* No licence: one day, or under 12 months for an offence before 2015-02-01. */
static void test_ard_sed(void)
{
	/* One day: L = 1, ceil(0.5) = 1 -> +0. */
	EXPECT("SDS", "2024-05-10", 0, 0, 1, NULL, 0, 0, 0, 0, 0, 1, NULL, NULL, "2024-05-10",
	       "2024-05-10", NULL);
	/* 11 months from 2015-03-01: L = 337, 168.5 -> 169, +168 = 2015-08-16,
	 * expiry +336 = 2016-01-31. Offence 2015-01-31 is pre-ORA: ARD/SED. */
	EXPECT("SDS", "2015-03-01", 0, 11, 0, "2015-01-31", 0, 0, 0, 0, 0, 337, NULL, NULL,
	       "2015-08-16", "2016-01-31", NULL);
	/* Offence on 2015-02-01 itself: licence, TUSED. */
	EXPECT("SDS", "2015-03-01", 0, 11, 0, "2015-02-01", 0, 0, 0, 0, 0, 337, "2015-08-16",
	       "2016-01-31", NULL, NULL, "2016-08-16");
	/* No offence date known: licence. */
	EXPECT("SDS", "2015-03-01", 0, 11, 0, NULL, 0, 0, 0, 0, 0, 337, "2015-08-16", "2016-01-31",
	       NULL, NULL, "2016-08-16");
	/* Exactly 12 months for a pre-ORA offence is not "under 12 months": 2014-06-01,
	 * L = 365, 182.5 -> 183, +182 = 11-30; expiry +364 = 2015-05-31. */
	EXPECT("SDS", "2014-06-01", 1, 0, 0, "2014-01-01", 0, 0, 0, 0, 0, 365, "2014-11-30",
	       "2015-05-31", NULL, NULL, "2015-11-30");
	/* ARD with adjustments: 3 months pre-ORA, remand 5, ADA 2: 02-15 - 3 = 02-12;
	 * SED 03-31 - 5 = 03-26. */
	EXPECT("SDS", "2024-01-01", 0, 3, 0, "2014-12-31", 5, 0, 0, 2, 0, 91, NULL, NULL,
	       "2024-02-12", "2024-03-26", NULL);
}

/* TUSED: licence sentences strictly under two years. */
static void test_tused(void)
{
	/* 1y 11m 30d from 2024-01-01 = 2025-12-31: L = 730 < 731. 365 -> +364 = 2024-12-30;
	 * expiry +729 = 2025-12-30; TUSED 2025-12-30. */
	EXPECT("SDS", "2024-01-01", 1, 11, 30, NULL, 0, 0, 0, 0, 0, 730, "2024-12-30", "2025-12-30",
	       NULL, NULL, "2025-12-30");
	/* 2 years from a non-leap span: 2025-03-01 -> 2027-03-01 = 730, equal: none. */
	EXPECT("SDS", "2025-03-01", 2, 0, 0, NULL, 0, 0, 0, 0, 0, 730, "2026-02-28", "2027-02-28",
	       NULL, NULL, NULL);
	/* 23 months from 2025-03-01 = 2027-02-01: L = 702, 351 -> +350 = 2026-02-14. */
	EXPECT("SDS", "2025-03-01", 0, 23, 0, NULL, 0, 0, 0, 0, 0, 702, "2026-02-14", "2027-01-31",
	       NULL, NULL, "2027-02-14");
}

/* Types without an automatic calculation and bad arguments. */
static void test_invalid(void)
{
	ns_release_dates r;
	const char *bad[] = { "EDS", "LIFE", "DTO", "COMMUNITY_ORDER", "SSO", "", "sds" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT(ns_release_dates_calc(bad[i], D("2024-01-01"), 2, 0, 0, NS_DATE_NONE, NULL, &r),
			  NS_EINVAL);
	CHECK_INT(ns_release_dates_calc(NULL, D("2024-01-01"), 2, 0, 0, NS_DATE_NONE, NULL, &r),
		  NS_EINVAL);
	CHECK_INT(ns_release_dates_calc("SDS", NS_DATE_NONE, 2, 0, 0, NS_DATE_NONE, NULL, &r),
		  NS_EINVAL);
	CHECK_INT(ns_release_dates_calc("SDS", D("2024-01-01"), -1, 0, 0, NS_DATE_NONE, NULL, &r),
		  NS_EINVAL);
	CHECK_INT(ns_release_dates_calc("SDS", D("2024-01-01"), 2, 0, 0, NS_DATE_NONE, NULL, NULL),
		  NS_EINVAL);
	CHECK_INT(ns_release_dates_calc("SDS", D("2024-01-01"), 100000, 0, 0, NS_DATE_NONE, NULL, &r),
		  NS_EINVAL);
}

/* Huge adjustments neither overflow nor break the calendar. */
static void test_extremes(void)
{
	ns_adjustments adj = { 0, 0, 2000000000, 2000000000, 0 };
	ns_release_dates r;

	CHECK_INT(ns_release_dates_calc("SDS", D("2024-01-01"), 2, 0, 0, NS_DATE_NONE, &adj, &r), 0);
	CHECK(r.crd > D("2199-12-31"));
	CHECK(r.tused == NS_DATE_NONE);
	adj = (ns_adjustments){ 2000000000, 2000000000, 0, 0, 2000000000 };
	CHECK_INT(ns_release_dates_calc("SDS", D("2024-01-01"), 1, 0, 0, NS_DATE_NONE, &adj, &r), 0);
	CHECK_INT(r.crd, D("2024-01-01"));
	CHECK_INT(r.sled, D("2024-01-01"));
	CHECK_INT(r.tused, D("2025-01-01"));
}

/* Run every test; exit status 1 if any failed. */
int main(void)
{
	RUN(test_worked_example);
	RUN(test_sds_rounding);
	RUN(test_sds_plus_and_40);
	RUN(test_calendar);
	RUN(test_adjustments);
	RUN(test_immediate_release);
	RUN(test_ard_sed);
	RUN(test_tused);
	RUN(test_invalid);
	RUN(test_extremes);
	return TEST_SUMMARY();
}
