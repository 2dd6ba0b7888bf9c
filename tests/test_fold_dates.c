/*
 * Tests for the release-date calculation (ns_release_dates_chain,
 * ns_release_dates_calc) and the working-day helpers; docs/DOMAIN.md section 7.
 *
 * Every expected date below was worked out by hand from the rules (the
 * arithmetic is in the comment above each case), not by running the code:
 *   L        days of the term(s) counted as the Prison Service counts them: the
 *            term ends the day before start + years + months (from the 1st of a
 *            month, at the end of the month before), then + days, both ends
 *            counted; consecutive terms end to end from the first date.
 *   release  first date + (sum over multiplier groups of ceil(days x m)) - 1
 *            - (remand + tagged bail) + UAL + ADA - RADA; expiry first date +
 *            L - 1 - (remand + tagged bail) + UAL; PED (EDS) at 2/3 of the
 *            custodial days.
 *   HDCED    cp = days to release before adjustments; none if cp < 42, the
 *            release date is before first date + 14, a part is SDS+ or EDS, or
 *            a sex offender. cp < 360: first date + max(28, ceil(cp/2)); else
 *            release - 179; then - deductions + UAL, floored at first date + 14,
 *            + ADA - RADA. HDC365 (from 2025-06-03): 730 and 364 instead of
 *            360 and 179 when the HDC180 date is on or after 2025-06-03; if
 *            that HDC365 date is before 2025-06-03, 2025-06-03 itself.
 *   TUSED    CRD + 12 months for licence chains under 2 years with an offence
 *            on or after 2015-02-01 (or none given).
 * "d + n" below is the date n days after d; month lengths are written out.
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

/* One sentence of a case: type, date, term, EDS extension, offence date. */
struct part {
	const char *type, *date;
	int y, m, d, ey, em, ed;
	const char *offence;
};

/* One case: up to three consecutive parts, adjustments, flags and every expected date. */
struct dcase {
	int line;
	struct part p[3];
	ns_adjustments adj;
	unsigned flags;
	int length;
	const char *crd, *sled, *ard, *sed, *led, *ped, *hdced, *tused;
};

#define P(type, date, y, m, d) { type, date, y, m, d, 0, 0, 0, NULL }
#define PO(type, date, y, m, d, off) { type, date, y, m, d, 0, 0, 0, off }
#define PE(date, y, m, d, ey, em, ed) { "EDS", date, y, m, d, ey, em, ed, NULL }
#define NOADJ { 0, 0, 0, 0, 0 }
#define N NULL

static const struct dcase cases[] = {
	/* 1. REFERENCE.md s. 5 worked example. SDS 2y from 2024-01-01 (1st of the month):
	 * ends 2025-12-31, L = 366 + 365 = 731; cp = ceil(731/2) = 366 -> CRD +365 =
	 * 2024-12-31; SLED +730 = 2025-12-31. cp >= 360: HDCED = CRD - 179 = +186 =
	 * 2024-07-05 (Jan 31, Feb 29, Mar 31, Apr 30, May 31, Jun 30 = 182 -> Jul 1, +4).
	 * L = 731 is not under 2 years (731): no TUSED. */
	{ __LINE__, { P("SDS", "2024-01-01", 2, 0, 0) }, NOADJ, 0, 731,
	  "2024-12-31", "2025-12-31", N, N, N, N, "2024-07-05", N },
	/* 2. The same with 30 days remand: CRD 2024-12-01, SLED 2025-12-01; HDCED +366 -
	 * 180 - 30 = +156 = Jun 1 (+152) + 4 = 2024-06-05. */
	{ __LINE__, { P("SDS", "2024-01-01", 2, 0, 0) }, { 30, 0, 0, 0, 0 }, 0, 731,
	  "2024-12-01", "2025-12-01", N, N, N, N, "2024-06-05", N },
	/* 3. SDS 3 months from 2024-01-01: 31 + 29 + 31 = 91; cp = ceil(45.5) = 46 ->
	 * CRD +45 = 2024-02-15; SLED +90 = 2024-03-31; HDCED max(28, 23) = +28 =
	 * 2024-01-29; TUSED CRD + 12 months = 2025-02-15. */
	{ __LINE__, { P("SDS", "2024-01-01", 0, 3, 0) }, NOADJ, 0, 91,
	  "2024-02-15", "2024-03-31", N, N, N, N, "2024-01-29", "2025-02-15" },
	/* 4. 7 days from 2024-03-01: L = 7; ceil(3.5) = 4 -> +3 = 03-04; SLED +6 = 03-07;
	 * cp 4 < 42: no HDCED. */
	{ __LINE__, { P("SDS", "2024-03-01", 0, 0, 7) }, NOADJ, 0, 7,
	  "2024-03-04", "2024-03-07", N, N, N, N, N, "2025-03-04" },
	/* 5. 10 days: exactly 5 -> +4 = 03-05; SLED +9 = 03-10; cp 5: no HDCED. */
	{ __LINE__, { P("SDS", "2024-03-01", 0, 0, 10) }, NOADJ, 0, 10,
	  "2024-03-05", "2024-03-10", N, N, N, N, N, "2025-03-05" },
	/* 6. 1 year from 2023-03-15 ends 2024-03-14 (Feb 29 inside): L = 366; cp 183 ->
	 * +182 = 2023-09-13; SLED +365 = 2024-03-14; HDCED max(28, 92) = +92: Mar 15 +17 =
	 * Apr 1, +30 May 1 (+47), +31 Jun 1 (+78), +14 = 2023-06-15. */
	{ __LINE__, { PO("SDS", "2023-03-15", 1, 0, 0, "2023-01-01") }, NOADJ, 0, 366,
	  "2023-09-13", "2024-03-14", N, N, N, N, "2023-06-15", "2024-09-13" },
	/* 7. SDS+ 5y from 2021-06-10, ends 2026-06-09: 365+365+366+365+365 = 1826;
	 * 2/3 = 1217.33 -> 1218, +1217 = 2024-06-10 (+1096) + 121 = 2024-10-09; SLED
	 * +1825 = 2026-06-09. SDS+: no HDCED. */
	{ __LINE__, { P("SDS_PLUS", "2021-06-10", 5, 0, 0) }, NOADJ, 0, 1826,
	  "2024-10-09", "2026-06-09", N, N, N, N, N, N },
	/* 8. SDS+ 4y from 2020-04-01: 1461 (2024-02-29 inside); 974 exactly, +973 =
	 * 2022-04-01 (+730) + 243 = 2022-11-30; SLED +1460 = 2024-03-31. */
	{ __LINE__, { P("SDS_PLUS", "2020-04-01", 4, 0, 0) }, NOADJ, 0, 1461,
	  "2022-11-30", "2024-03-31", N, N, N, N, N, N },
	/* 9. SDS40 4y from 2024-10-01: 1461 (2028-02-29 inside); 584.4 -> 585, +584 =
	 * 2025-10-01 (+365) + 219 = 2026-05-08; SLED +1460 = 2028-09-30. HDC180: cp 585 >=
	 * 360, +585 - 180 = +405 = 2025-11-10, after 2025-06-03, so HDC365: 585 < 730,
	 * max(28, 293) = +293: Oct 31, Nov 30, Dec 31, Jan 31, Feb 28, Mar 31, Apr 30,
	 * May 31, Jun 30 = 273 -> Jul 1 2025, +20 = 2025-07-21 (after 2025-06-03). */
	{ __LINE__, { P("SDS40", "2024-10-01", 4, 0, 0) }, NOADJ, 0, 1461,
	  "2026-05-08", "2028-09-30", N, N, N, N, "2025-07-21", N },
	/* 10. SDS40 10 days: 4 exactly -> +3 = 01-13; SLED +9 = 01-19. */
	{ __LINE__, { P("SDS40", "2025-01-10", 0, 0, 10) }, NOADJ, 0, 10,
	  "2025-01-13", "2025-01-19", N, N, N, N, N, "2026-01-13" },
	/* 11. SDS40 6 days: 2.4 -> 3, +2 = 01-12; SLED +5 = 01-15. */
	{ __LINE__, { P("SDS40", "2025-01-10", 0, 0, 6) }, NOADJ, 0, 6,
	  "2025-01-12", "2025-01-15", N, N, N, N, N, "2026-01-12" },
	/* 12. SDS+ 7 days: 4.67 -> 5, +4 = 01-14; SLED +6 = 01-16. */
	{ __LINE__, { P("SDS_PLUS", "2025-01-10", 0, 0, 7) }, NOADJ, 0, 7,
	  "2025-01-14", "2025-01-16", N, N, N, N, N, "2026-01-14" },
	/* 13. Month end: 1 month from 2023-01-31 ends 2023-01-30 + 1 month = 02-28 (clamped):
	 * L = 29 (Jan 31 .. Feb 28); ceil(14.5) = 15 -> +14 = 02-14; SLED +28 = 02-28. */
	{ __LINE__, { P("SDS", "2023-01-31", 0, 1, 0) }, NOADJ, 0, 29,
	  "2023-02-14", "2023-02-28", N, N, N, N, N, "2024-02-14" },
	/* 14. 1 month from 2024-01-31 ends 02-29: L = 30; 15 -> +14 = 02-14; SLED +29 = 02-29. */
	{ __LINE__, { P("SDS", "2024-01-31", 0, 1, 0) }, NOADJ, 0, 30,
	  "2024-02-14", "2024-02-29", N, N, N, N, N, "2025-02-14" },
	/* 15. 1 year from 2024-02-29 ends 2024-02-28 + 1y = 2025-02-28: L = 366; 183 ->
	 * +182 = 2024-08-29; SLED +365 = 2025-02-28; HDCED +92: Mar 1 (+1), Apr 1 (+32),
	 * May 1 (+62), May 31 (+92). */
	{ __LINE__, { P("SDS", "2024-02-29", 1, 0, 0) }, NOADJ, 0, 366,
	  "2024-08-29", "2025-02-28", N, N, N, N, "2024-05-31", "2025-08-29" },
	/* 16. 1 month 1 day from 2024-01-31: 02-29 + 1 = 03-01, L = 31; 16 -> +15 = 02-15;
	 * SLED +30 = 03-01. */
	{ __LINE__, { P("SDS", "2024-01-31", 0, 1, 1) }, NOADJ, 0, 31,
	  "2024-02-15", "2024-03-01", N, N, N, N, N, "2025-02-15" },
	/* 17. A CRD on 29 Feb: 1y from 2023-08-31 ends 2024-08-30: L = 366; 183 -> +182 =
	 * 2024-02-29; TUSED clamps to 2025-02-28; HDCED +92: Sep 1 (+1), Oct 1 (+31),
	 * Nov 1 (+62), Dec 1 (+92). */
	{ __LINE__, { P("SDS", "2023-08-31", 1, 0, 0) }, NOADJ, 0, 366,
	  "2024-02-29", "2024-08-30", N, N, N, N, "2023-12-01", "2025-02-28" },
	/* 18. UAL 10, ADA 14, RADA 4 on case 1: release +20 = 2025-01-20; expiry +UAL =
	 * 2026-01-10; HDCED +366 - 180 + 10 = +196, + 14 - 4 = +206 = Jul 1 (+182) + 24 =
	 * 2024-07-25. */
	{ __LINE__, { P("SDS", "2024-01-01", 2, 0, 0) }, { 0, 0, 10, 14, 4 }, 0, 731,
	  "2025-01-20", "2026-01-10", N, N, N, N, "2024-07-25", N },
	/* 19. Remand 10 + tagged bail 15 = 25: 2024-12-06, 2025-12-06; HDCED +186 - 25 =
	 * +161 = Jun 1 (+152) + 9 = 2024-06-10. */
	{ __LINE__, { P("SDS", "2024-01-01", 2, 0, 0) }, { 10, 15, 0, 0, 0 }, 0, 731,
	  "2024-12-06", "2025-12-06", N, N, N, N, "2024-06-10", N },
	/* 20. ADA 42 moves release (2025-02-11) and HDCED (+186 + 42 = +228 = Aug 1 (+213)
	 * + 15 = 2024-08-16), not expiry. */
	{ __LINE__, { P("SDS", "2024-01-01", 2, 0, 0) }, { 0, 0, 0, 42, 0 }, 0, 731,
	  "2025-02-11", "2025-12-31", N, N, N, N, "2024-08-16", N },
	/* 21. Case 3 with 10 days remand: CRD 02-15 - 10 = 02-05, SLED 03-21, TUSED
	 * 2025-02-05; HDCED 28 - 10 = +18 = 01-19 (after +14 = 01-15: no floor). */
	{ __LINE__, { P("SDS", "2024-01-01", 0, 3, 0) }, { 10, 0, 0, 0, 0 }, 0, 91,
	  "2024-02-05", "2024-03-21", N, N, N, N, "2024-01-19", "2025-02-05" },
	/* 22. 6 months from 2024-01-01: L = 182, cp 91 -> +90 = 03-31. Remand 100 > 90:
	 * CRD = sentence date; SLED +181 - 100 = +81 = 03-22. CRD before +14: no HDCED. */
	{ __LINE__, { P("SDS", "2024-01-01", 0, 6, 0) }, { 100, 0, 0, 0, 0 }, 0, 182,
	  "2024-01-01", "2024-03-22", N, N, N, N, N, "2025-01-01" },
	/* 23. Remand 200 exceeds the whole sentence: both on the sentence date. */
	{ __LINE__, { P("SDS", "2024-01-01", 0, 6, 0) }, { 200, 0, 0, 0, 0 }, 0, 182,
	  "2024-01-01", "2024-01-01", N, N, N, N, N, "2025-01-01" },
	/* 24. Remand 60 + tagged bail 30 = exactly the 90 days: the sentence date;
	 * SLED +181 - 90 = +91 = 04-01. */
	{ __LINE__, { P("SDS", "2024-01-01", 0, 6, 0) }, { 60, 30, 0, 0, 0 }, 0, 182,
	  "2024-01-01", "2024-04-01", N, N, N, N, N, "2025-01-01" },
	/* 25. One day: L = 1, ceil(0.5) = 1 -> +0: ARD = SED = the sentence date. */
	{ __LINE__, { P("SDS", "2024-05-10", 0, 0, 1) }, NOADJ, 0, 1,
	  N, N, "2024-05-10", "2024-05-10", N, N, N, N },
	/* 26. 11 months from 2015-03-01: L = 337 (ends 2016-01-31); 169 -> +168 =
	 * 2015-08-16; expiry +336 = 2016-01-31. Offence 2015-01-31 is pre-ORA and L <
	 * 365: ARD/SED. HDCED max(28, 85) = +85: Apr 1 (+31), May 1 (+61), May 25 (+85). */
	{ __LINE__, { PO("SDS", "2015-03-01", 0, 11, 0, "2015-01-31") }, NOADJ, 0, 337,
	  N, N, "2015-08-16", "2016-01-31", N, N, "2015-05-25", N },
	/* 27. Offence on 2015-02-01 itself: licence, TUSED 2016-08-16. */
	{ __LINE__, { PO("SDS", "2015-03-01", 0, 11, 0, "2015-02-01") }, NOADJ, 0, 337,
	  "2015-08-16", "2016-01-31", N, N, N, N, "2015-05-25", "2016-08-16" },
	/* 28. No offence date known: licence. */
	{ __LINE__, { P("SDS", "2015-03-01", 0, 11, 0) }, NOADJ, 0, 337,
	  "2015-08-16", "2016-01-31", N, N, N, N, "2015-05-25", "2016-08-16" },
	/* 29. Exactly 12 months for a pre-ORA offence is not "under 12 months": from
	 * 2014-06-01, L = 365, 183 -> +182 = 11-30; SLED +364 = 2015-05-31. Pre-ORA: no
	 * TUSED. HDCED +92: Jul 1 (+30), Aug 1 (+61), Sep 1 (+92). */
	{ __LINE__, { PO("SDS", "2014-06-01", 1, 0, 0, "2014-01-01") }, NOADJ, 0, 365,
	  "2014-11-30", "2015-05-31", N, N, N, N, "2014-09-01", N },
	/* 30. ARD with adjustments: 3 months pre-ORA, remand 5, ADA 2: 02-15 - 3 = 02-12;
	 * SED 03-31 - 5 = 03-26; HDCED 28 - 5 = +23 = 01-24, + 2 = 01-26. */
	{ __LINE__, { PO("SDS", "2024-01-01", 0, 3, 0, "2014-12-31") }, { 5, 0, 0, 2, 0 }, 0, 91,
	  N, N, "2024-02-12", "2024-03-26", N, N, "2024-01-26", N },
	/* 31. 1y 11m 30d from 2024-01-01: to the end of Nov 2025, + 30 = 2025-12-30:
	 * L = 730 < 731. 365 -> +364 = 2024-12-30; SLED +729 = 2025-12-30; TUSED
	 * 2025-12-30. cp 365 >= 360: HDCED = CRD - 179 = +185 = 2024-07-04. */
	{ __LINE__, { P("SDS", "2024-01-01", 1, 11, 30) }, NOADJ, 0, 730,
	  "2024-12-30", "2025-12-30", N, N, N, N, "2024-07-04", "2025-12-30" },
	/* 32. 2 years from 2025-03-01 = 730 days, equal to 2 years: no TUSED. 365 -> +364
	 * = 2026-02-28. HDC180 +365 - 180 = +185 = 2025-09-02 (Apr 1 +31, May 1 +61, Jun 1
	 * +92, Jul 1 +122, Aug 1 +153, Sep 1 +184), after 2025-06-03: HDC365, 365 < 730:
	 * max(28, 183) = +183 = 2025-08-31. */
	{ __LINE__, { P("SDS", "2025-03-01", 2, 0, 0) }, NOADJ, 0, 730,
	  "2026-02-28", "2027-02-28", N, N, N, N, "2025-08-31", N },
	/* 33. 23 months from 2025-03-01 = 702 days; 351 -> +350 = 2026-02-14. HDC180:
	 * 351 < 360, +176 = 2025-08-24 (Aug 1 +153, +23), after 2025-06-03: HDC365 also
	 * +176 = 2025-08-24. */
	{ __LINE__, { P("SDS", "2025-03-01", 0, 23, 0) }, NOADJ, 0, 702,
	  "2026-02-14", "2027-01-31", N, N, N, N, "2025-08-24", "2027-02-14" },
	/* 34. Issue 11: SDS 8 weeks then SDS 1 year consecutive, both 2021-11-01. Expiry:
	 * 56 days -> 2021-12-27, then 1 year from 12-27 ends 2022-12-26 (365): L = 421,
	 * SLED +420 = 2022-12-26. One multiplier group of 421 days: ceil(210.5) = 211 ->
	 * CRD +210 = 2022-05-30 (Dec 1 +30, Jan 1 +61, Feb 1 +92, Mar 1 +120, Apr 1 +151,
	 * May 1 +181, +29). HDCED max(28, 106) = +106 = Feb 1 (+92) + 14 = 2022-02-15.
	 * TUSED 2023-05-30. */
	{ __LINE__, { P("SDS", "2021-11-01", 0, 0, 56), P("SDS", "2021-11-01", 1, 0, 0) }, NOADJ, 0,
	  421, "2022-05-30", "2022-12-26", N, N, N, N, "2022-02-15", "2023-05-30" },
	/* 35. REFERENCE-2 s. 5 test 14-day-hdced-rule-1: SDS 17 months from 2021-09-21
	 * ends 2023-02-20: L = 365 + 153 = 518; 259 -> +258 - 118 = +140 = 2022-02-08;
	 * SLED +517 - 118 = +399 = 2022-10-25. HDCED max(28, 130) - 118 = +12 = 10-03, on
	 * or before +14 = 10-05: 2021-10-05. TUSED 2023-02-08. */
	{ __LINE__, { P("SDS", "2021-09-21", 0, 17, 0) }, { 118, 0, 0, 0, 0 }, 0, 518,
	  "2022-02-08", "2022-10-25", N, N, N, N, "2021-10-05", "2023-02-08" },
	/* 36. SDS 1y then SDS+ 4y consecutive from 2024-01-01. Expiry: 1y + 4y = 5y to
	 * 2028-12-31, L = 366+365+365+365+366 = 1827. Release: SDS group 366 -> 183,
	 * notional +182 = 2024-07-01; SDS+ group from 07-02: 4y to 2028-07-01 = 1461 ->
	 * 974; 183 + 974 = 1157 -> CRD +1156 = 2027-01-01 (+1096) + 60 = 2027-03-02.
	 * SDS+ part: no HDCED. */
	{ __LINE__, { P("SDS", "2024-01-01", 1, 0, 0), P("SDS_PLUS", "2024-01-01", 4, 0, 0) }, NOADJ,
	  0, 1827, "2027-03-02", "2028-12-31", N, N, N, N, N, N },
	/* 37. SDS40 2y then SDS 1y consecutive from 2025-01-01: expiry 3y, L = 1095,
	 * SLED 2027-12-31. SDS40 group: 730 x 0.4 = 292, notional +291 = 2025-10-19; SDS
	 * group from 10-20: 1y = 365 -> 183; 292 + 183 = 475 -> CRD +474 = 2026-01-01
	 * (+365) + 109 = 2026-04-20. HDC180 +475 - 180 = +295 = 2025-10-23, after
	 * 2025-06-03: HDC365 max(28, 238) = +238 = Aug 1 (+212) + 26 = 2025-08-27. */
	{ __LINE__, { P("SDS40", "2025-01-01", 2, 0, 0), P("SDS", "2025-01-01", 1, 0, 0) }, NOADJ,
	  0, 1095, "2026-04-20", "2027-12-31", N, N, N, N, "2025-08-27", N },
	/* 38. EDS 4y custodial + 3y extension from 2020-01-01: custodial 1461 days ->
	 * CRD +1460 = 2023-12-31; PED ceil(1461 x 2/3) = 974 -> +973 = 2022-01-01 (+731) +
	 * 242 = 2022-08-31; SLED 7y: +2556 = 2026-12-31 (L = 2557). No HDCED, no TUSED. */
	{ __LINE__, { PE("2020-01-01", 4, 0, 0, 3, 0, 0) }, NOADJ, 0, 2557,
	  "2023-12-31", "2026-12-31", N, N, N, "2022-08-31", N, N },
	/* 39. The same with 100 days remand: CRD 2023-12-31 - 100 = 2023-09-22 (Dec 1 -30,
	 * Oct 31 -61, Oct 1 -91, -9); PED 2022-08-31 - 100 = 2022-05-23 (Jul 31 -31, Jun 30
	 * -62, May 31 -92, -8); SLED 2026-12-31 - 100 = 2026-09-22. */
	{ __LINE__, { PE("2020-01-01", 4, 0, 0, 3, 0, 0) }, { 100, 0, 0, 0, 0 }, 0, 2557,
	  "2023-09-22", "2026-09-22", N, N, N, "2022-05-23", N, N },
	/* 40. SDS 2y then EDS 4y + 3y consecutive from 2020-01-01. Expiry 2y + 7y = 9y to
	 * 2028-12-31: L = 9 x 365 + 3 = 3288. SDS group: 731 -> 366, notional 2020-12-31;
	 * EDS group from 2021-01-01: 4y = 1461 at 1 -> 1461; PED 366 + ceil(974) = 1340
	 * -> +1339 = 2023-01-01 (+1096) + 243 = 2023-09-01; CRD 366 + 1461 = 1827 ->
	 * +1826 = 2024-12-31. */
	{ __LINE__, { P("SDS", "2020-01-01", 2, 0, 0), PE("2020-01-01", 4, 0, 0, 3, 0, 0) }, NOADJ, 0,
	  3288, "2024-12-31", "2028-12-31", N, N, N, "2023-09-01", N, N },
	/* 41. A registered sex offender: case 1 without HDCED. */
	{ __LINE__, { P("SDS", "2024-01-01", 2, 0, 0) }, NOADJ, NS_RD_SEX_OFFENDER, 731,
	  "2024-12-31", "2025-12-31", N, N, N, N, N, N },
	/* 42. HDC365 at or above its midpoint: SDS 4y from 2026-01-01, L = 1461; cp 731
	 * -> CRD +730 = 2028-01-01. HDC180 (+731 - 180) is after 2025-06-03; HDC365: 731
	 * >= 730, +731 - 365 = +366 = 2027-01-02 (CRD - 364). SLED +1460 = 2029-12-31. */
	{ __LINE__, { P("SDS", "2026-01-01", 4, 0, 0) }, NOADJ, 0, 1461,
	  "2028-01-01", "2029-12-31", N, N, N, N, "2027-01-02", N },
	/* 43. HDC365 below its midpoint: SDS 3y from 2025-07-01 = 1096 (2028-02-29);
	 * cp 548 -> CRD +547 = 2026-07-01 (+365) + 182 = 2026-12-30; SLED +1095 =
	 * 2028-06-30. HDC365 max(28, 274) = +274 = Apr 1 2026 (Aug 1 +31, Sep 1 +62, Oct 1
	 * +92, Nov 1 +123, Dec 1 +153, Jan 1 +184, Feb 1 +215, Mar 1 +243, Apr 1 +274). */
	{ __LINE__, { P("SDS", "2025-07-01", 3, 0, 0) }, NOADJ, 0, 1096,
	  "2026-12-30", "2028-06-30", N, N, N, N, "2026-04-01", N },
	/* 44. Defaulted to the HDC365 commencement: SDS 4y from 2024-01-01, L = 1461, cp
	 * 731 -> CRD +730 = 2025-12-31. HDC180 +551 = 2025-01-01 (+366) + 185 = 2025-07-05,
	 * on or after 2025-06-03; HDC365 +366 = 2025-01-01, before it: 2025-06-03. */
	{ __LINE__, { P("SDS", "2024-01-01", 4, 0, 0) }, NOADJ, 0, 1461,
	  "2025-12-31", "2027-12-31", N, N, N, N, "2025-06-03", N },
	/* 45. Pre-CJA 2003 regime: sentenced 2004-06-01 (before LASPO), offence
	 * 2004-01-01 (before 2005-04-04), 2y = 730 days: CRD + LED + SED. CRD 365 -> +364 =
	 * 2005-05-31; LED ceil(730 x 3/4) = 548 -> +547 = 2005-06-01 (+365) + 182 =
	 * 2005-11-30; SED +729 = 2006-05-31. HDCED = CRD - 179 = +185 = Dec 1 (+183) + 2 =
	 * 2004-12-03. Pre-ORA: no TUSED. */
	{ __LINE__, { PO("SDS", "2004-06-01", 2, 0, 0, "2004-01-01") }, NOADJ, 0, 730,
	  "2005-05-31", N, N, "2006-05-31", "2005-11-30", N, "2004-12-03", N },
	/* 46. The same regime, 5 years (4 or more): CRD + SLED. L = 1826 (2008-02-29);
	 * 913 -> +912 = 2006-06-01 (+730) + 182 = 2006-11-30; SLED +1825 = 2009-05-31;
	 * HDCED +913 - 180 = +733 = 2006-06-04. */
	{ __LINE__, { PO("SDS", "2004-06-01", 5, 0, 0, "2004-01-01") }, NOADJ, 0, 1826,
	  "2006-11-30", "2009-05-31", N, N, N, N, "2006-06-04", N },
	/* 47. Months and days of consecutive parts are laid end to end: SDS 3 months then
	 * 10 days from 2024-01-01: 91 days to 04-01, + 10 = 04-10: L = 101, SLED +100 =
	 * 2024-04-10; 51 -> +50 = 2024-02-20; HDCED max(28, 26) = +28 = 01-29. */
	{ __LINE__, { P("SDS", "2024-01-01", 0, 3, 0), P("SDS", "2024-01-01", 0, 0, 10) }, NOADJ, 0,
	  101, "2024-02-20", "2024-04-10", N, N, N, N, "2024-01-29", "2025-02-20" },
	/* 48. Three parts, the last SDS again (its group is the first): SDS 6m, SDS40 6m,
	 * SDS 6m from 2025-01-01. Expiry 18 months ends 2026-06-30: L = 546. SDS group (parts
	 * 1 and 3, 12 months from 2025-01-01 = 365) -> 183, notional +182 = 2025-07-02; SDS40
	 * group from 07-03: 6 months to 2026-01-02 = 184 -> 73.6 -> 74; 257 -> CRD +256 =
	 * 2025-09-14 (Feb 1 +31, Mar 1 +59, Apr 1 +90, May 1 +120, Jun 1 +151, Jul 1 +181,
	 * Aug 1 +212, Sep 1 +243, +13). HDC180 257 < 360: +129 = 2025-05-10 (May 1 +120, +9),
	 * before 2025-06-03. TUSED 2026-09-14. */
	{ __LINE__, { P("SDS", "2025-01-01", 0, 6, 0), P("SDS40", "2025-01-01", 0, 6, 0),
		      P("SDS", "2025-01-01", 0, 6, 0) }, NOADJ, 0,
	  546, "2025-09-14", "2026-06-30", N, N, N, N, "2025-05-10", "2026-09-14" },
};

/* Run every case of the table, comparing every date (NULL = none expected). */
static void test_table(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dcase *c = &cases[i];
		ns_sentence_part parts[3];
		ns_release_dates r;
		size_t n = 0;
		char b[11];
		int before = ns_test_failed_checks, rc;

		for (; n < 3 && c->p[n].type != NULL; n++) {
			parts[n] = (ns_sentence_part){ c->p[n].type, D(c->p[n].date), c->p[n].y, c->p[n].m,
						       c->p[n].d, c->p[n].ey, c->p[n].em, c->p[n].ed,
						       D(c->p[n].offence) };
		}
		rc = ns_release_dates_chain(parts, n, &c->adj, c->flags, &r);
		CHECK_INT(rc, 0);
		if (rc != 0)
			continue;
		CHECK_INT(r.length_days, c->length);
		CHECK_STR(S(r.crd, b), c->crd ? c->crd : "none");
		CHECK_STR(S(r.sled, b), c->sled ? c->sled : "none");
		CHECK_STR(S(r.ard, b), c->ard ? c->ard : "none");
		CHECK_STR(S(r.sed, b), c->sed ? c->sed : "none");
		CHECK_STR(S(r.led, b), c->led ? c->led : "none");
		CHECK_STR(S(r.ped, b), c->ped ? c->ped : "none");
		CHECK_STR(S(r.hdced, b), c->hdced ? c->hdced : "none");
		CHECK_STR(S(r.tused, b), c->tused ? c->tused : "none");
		if (ns_test_failed_checks != before)
			fprintf(stderr, "  (case at line %d)\n", c->line);
	}
	CHECK(sizeof(cases) / sizeof(cases[0]) >= 40);
}

/* ns_release_dates_calc is the one-part chain; adj NULL means none. */
static void test_single(void)
{
	ns_release_dates r;

	CHECK_INT(ns_release_dates_calc("SDS", D("2024-01-01"), 2, 0, 0, NS_DATE_NONE, NULL, &r), 0);
	CHECK_INT(r.crd, D("2024-12-31"));
	CHECK_INT(r.hdced, D("2024-07-05"));
	/* EDS alone: custodial term only, so SLED is the end of it (no extension). 4y from
	 * 2020-01-01: CRD = SLED = 2023-12-31, PED 2022-08-31 (case 38). */
	CHECK_INT(ns_release_dates_calc("EDS", D("2020-01-01"), 4, 0, 0, NS_DATE_NONE, NULL, &r), 0);
	CHECK_INT(r.crd, D("2023-12-31"));
	CHECK_INT(r.sled, D("2023-12-31"));
	CHECK_INT(r.ped, D("2022-08-31"));
}

/* The Prison Service's count of a term (PSI 5.5). */
static void test_term_days(void)
{
	/* From the 1st: to the end of the month before: 2021-03-01 + 1 month = 31 days. */
	CHECK_INT(ns_term_days(D("2021-03-01"), 0, 1, 0), 31);
	/* Otherwise the day before start + term: 2021-01-31 -> 02-28: 29 days. */
	CHECK_INT(ns_term_days(D("2021-01-31"), 0, 1, 0), 29);
	/* 2021-02-15 + 1 month ends 03-14: 28 days. */
	CHECK_INT(ns_term_days(D("2021-02-15"), 0, 1, 0), 28);
	/* Days only: exactly that many. */
	CHECK_INT(ns_term_days(D("2021-02-15"), 0, 0, 56), 56);
	CHECK_INT(ns_term_days(D("2021-02-15"), 0, 0, 0), 0);
}

/*
 * Bank holidays (England and Wales) and working days. Expected values are
 * the GOV.UK list for the years of the table; calculate-release-dates-api's
 * WorkingDayServiceTest and NonFridayReleaseServiceTest for the moves.
 */
static void test_working_days(void)
{
	/* The one-off changes (REFERENCE-2 s. 8) are in the table. */
	CHECK(ns_bank_holiday(D("2020-05-08")) && !ns_bank_holiday(D("2020-05-04")));
	CHECK(ns_bank_holiday(D("2022-06-02")) && ns_bank_holiday(D("2022-06-03")));
	CHECK(!ns_bank_holiday(D("2022-05-30")) && ns_bank_holiday(D("2022-09-19")));
	CHECK(ns_bank_holiday(D("2023-05-08")) && ns_bank_holiday(D("2023-05-01")));
	/* Substitute days: 2021-12-27/28 (Christmas on a Saturday), 2022-01-03. */
	CHECK(ns_bank_holiday(D("2021-12-27")) && ns_bank_holiday(D("2021-12-28")));
	CHECK(ns_bank_holiday(D("2022-01-03")) && !ns_bank_holiday(D("2022-01-01")));
	/* WorkingDayServiceTest: previous working day from Sat 2021-10-23 is Fri 10-22;
	 * from the bank holiday Mon 2021-12-27 it is Fri 12-24. */
	CHECK_INT(ns_working_day_before(D("2021-10-23")), D("2021-10-22"));
	CHECK_INT(ns_working_day_before(D("2021-12-27")), D("2021-12-24"));
	/* A working day stays; Easter: Good Friday 2024-03-29 back to Thu 03-28, Easter
	 * Monday 2024-04-01 forward to Tue 04-02. */
	CHECK_INT(ns_working_day_before(D("2024-03-27")), D("2024-03-27"));
	CHECK_INT(ns_working_day_before(D("2024-03-29")), D("2024-03-28"));
	CHECK_INT(ns_working_day_after(D("2024-04-01")), D("2024-04-02"));
	/* Sat 2024-07-06 forward to Mon 07-08; Christmas 2026: Fri 25, Boxing Day Sat 26
	 * moved to Mon 28, so Fri 12-25 forward is Tue 12-29. */
	CHECK_INT(ns_working_day_after(D("2024-07-06")), D("2024-07-08"));
	CHECK_INT(ns_working_day_after(D("2026-12-25")), D("2026-12-29"));
	CHECK_INT(ns_working_day_before(NS_DATE_NONE), NS_DATE_NONE);
	/* Outside the table, the standing rules: Easter 2030 is 04-21 (Good Friday 04-19,
	 * Easter Monday 04-22); 2028-12-25 is a Monday; 2033 Christmas on a Sunday:
	 * Boxing Day Mon 26 and Christmas Tue 27; 2017-01-02 (New Year's Day on a Sunday);
	 * early May 2016-05-02, spring 2016-05-30, summer 2016-08-29. */
	CHECK(ns_bank_holiday(D("2030-04-19")) && ns_bank_holiday(D("2030-04-22")));
	CHECK(ns_bank_holiday(D("2028-12-25")) && ns_bank_holiday(D("2028-12-26")));
	CHECK(ns_bank_holiday(D("2033-12-26")) && ns_bank_holiday(D("2033-12-27")));
	CHECK(ns_bank_holiday(D("2017-01-02")) && !ns_bank_holiday(D("2017-01-03")));
	CHECK(ns_bank_holiday(D("2016-05-02")) && ns_bank_holiday(D("2016-05-30")) &&
	      ns_bank_holiday(D("2016-08-29")));
	CHECK(!ns_bank_holiday(D("2030-05-13")) && ns_working_day(D("2030-05-13")));
	CHECK(!ns_working_day(D("2030-05-11")));
}

/* Types without an automatic calculation and bad arguments. */
static void test_invalid(void)
{
	ns_release_dates r;
	const char *bad[] = { "LIFE", "DTO", "COMMUNITY_ORDER", "SSO", "", "sds" };

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
	RUN(test_table);
	RUN(test_single);
	RUN(test_term_days);
	RUN(test_working_days);
	RUN(test_invalid);
	RUN(test_extremes);
	return TEST_SUMMARY();
}
