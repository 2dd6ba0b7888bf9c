/*
 * Working days in England and Wales: weekends and bank holidays, for the
 * working-day hints of release dates (docs/DOMAIN.md section 7.5).
 *
 * Bank holidays of 2018-2027 are a compiled-in table, copied from the
 * official list (GOV.UK, https://www.gov.uk/bank-holidays.json, division
 * "england-and-wales", which calculate-release-dates-api reads through its
 * BankHolidayApiClient); it includes the one-off changes of 2020, 2022 and
 * 2023 (REFERENCE-2.md s. 8). Outside those years the standing rules are
 * applied: New Year's Day, Good Friday, Easter Monday, the first and last
 * Mondays of May, the last Monday of August, Christmas Day and Boxing Day,
 * each falling on a weekend replaced by the next weekday not already a
 * holiday. One-off changes announced for later years are not known to this
 * code until the table is extended.
 */
#include "fold_int.h"

#define NS__BH_FIRST 2018
#define NS__BH_LAST 2027

/* The table, as YYYYMMDD, in order. */
static const int32_t ns__bank_holidays[] = {
	20180101, 20180330, 20180402, 20180507, 20180528, 20180827, 20181225, 20181226,
	20190101, 20190419, 20190422, 20190506, 20190527, 20190826, 20191225, 20191226,
	20200101, 20200410, 20200413, 20200508, 20200525, 20200831, 20201225, 20201228,
	20210101, 20210402, 20210405, 20210503, 20210531, 20210830, 20211227, 20211228,
	20220103, 20220415, 20220418, 20220502, 20220602, 20220603, 20220829, 20220919,
	20221226, 20221227,
	20230102, 20230407, 20230410, 20230501, 20230508, 20230529, 20230828, 20231225,
	20231226,
	20240101, 20240329, 20240401, 20240506, 20240527, 20240826, 20241225, 20241226,
	20250101, 20250418, 20250421, 20250505, 20250526, 20250825, 20251225, 20251226,
	20260101, 20260403, 20260406, 20260504, 20260525, 20260831, 20261225, 20261228,
	20270101, 20270326, 20270329, 20270503, 20270531, 20270830, 20271227, 20271228,
};

/* Day of the week, 0 Sunday .. 6 Saturday (day 0, 1970-01-01, was a Thursday). */
static int ns__weekday(int32_t day)
{
	return (int)(((int64_t)day % 7 + 7 + 4) % 7);
}

/* Easter Sunday of a Gregorian year (the anonymous Gregorian algorithm). */
static int32_t ns__easter(int y)
{
	int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4, f = (b + 8) / 25;
	int g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30, i = c / 4, k = c % 4;
	int l = (32 + 2 * e + 2 * i - h - k) % 7, m = (a + 11 * h + 22 * l) / 451;
	int month = (h + l - 7 * m + 114) / 31, dom = (h + l - 7 * m + 114) % 31 + 1;

	return ns_date_from_civil(y, month, dom);
}

/* The first Monday on or after a day. */
static int32_t ns__monday_from(int32_t day)
{
	return day + (8 - ns__weekday(day)) % 7;
}

/* Is a day a holiday of @p y by the standing rules (no one-off changes). */
static int ns__rule_holiday(int y, int32_t day)
{
	int32_t newyear = ns_date_from_civil(y, 1, 1), easter = ns__easter(y);
	int32_t xmas = ns_date_from_civil(y, 12, 25), boxing = xmas + 1;
	int32_t list[8];

	list[0] = ns__weekday(newyear) == 0 || ns__weekday(newyear) == 6 ? ns__monday_from(newyear)
									: newyear;
	list[1] = easter - 2;
	list[2] = easter + 1;
	list[3] = ns__monday_from(ns_date_from_civil(y, 5, 1));
	list[4] = ns__monday_from(ns_date_from_civil(y, 5, 25));
	list[5] = ns__monday_from(ns_date_from_civil(y, 8, 25));
	/* Christmas on a weekend moves to the first free weekday, then Boxing Day after it. */
	if (ns__weekday(xmas) == 6) {        /* Saturday: Mon 27, Tue 28 */
		list[6] = xmas + 2;
		list[7] = xmas + 3;
	} else if (ns__weekday(xmas) == 0) { /* Sunday: Boxing Mon 26, Christmas Tue 27 */
		list[6] = xmas + 2;
		list[7] = boxing;
	} else if (ns__weekday(boxing) == 6) { /* Friday Christmas: Boxing Mon 28 */
		list[6] = xmas;
		list[7] = boxing + 2;
	} else {
		list[6] = xmas;
		list[7] = boxing;
	}
	for (int i = 0; i < 8; i++)
		if (list[i] == day)
			return 1;
	return 0;
}

int ns_bank_holiday(int32_t day)
{
	int y, m, d;
	int32_t key;
	size_t lo = 0, hi = sizeof(ns__bank_holidays) / sizeof(ns__bank_holidays[0]);

	ns_date_to_civil(day, &y, &m, &d);
	if (y < NS__BH_FIRST || y > NS__BH_LAST)
		return ns__rule_holiday(y, day);
	key = y * 10000 + m * 100 + d;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ns__bank_holidays[mid] == key)
			return 1;
		if (ns__bank_holidays[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int ns_working_day(int32_t day)
{
	int wd = ns__weekday(day);

	return wd != 0 && wd != 6 && !ns_bank_holiday(day);
}

/* Step from @p day by @p step until a working day; a handful of steps at most. */
static int32_t ns__working_step(int32_t day, int step)
{
	if (day == NS_DATE_NONE)
		return NS_DATE_NONE;
	while (!ns_working_day(day) && day > -NS__DAY_LIMIT && day < NS__DAY_LIMIT)
		day += step;
	return day;
}

int32_t ns_working_day_before(int32_t day)
{
	return ns__working_step(day, -1);
}

int32_t ns_working_day_after(int32_t day)
{
	return ns__working_step(day, 1);
}
