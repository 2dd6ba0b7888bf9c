/*
 * Release dates of one standard determinate sentence (REFERENCE.md s. 5).
 *
 * Everything is whole days (nomsync/date.h). The sentence length L is the
 * calendar distance from the sentence date to the sentence date plus the
 * term, so month ends clamp and leap days count. The release point is
 * ceil(L x m) with m an exact fraction (1/2, 2/3, 2/5), worked out in
 * integers so that no floating-point rounding can move a date. Adjustments
 * then move release (remand, tagged bail, UAL, ADA, RADA) and expiry
 * (remand, tagged bail, UAL); neither date is ever before the sentence date.
 *
 * Only the SDS family has an automatic calculation; other types are
 * NS_EINVAL and the caller shows no calculated dates for them.
 */
#include "fold_int.h"

#include <string.h>

/* Release multiplier of a sentence type as num/den; -1 if it has none. */
static int ns__multiplier(const char *type, int *num, int *den)
{
	if (strcmp(type, "SDS") == 0) {
		*num = 1;
		*den = 2;
	} else if (strcmp(type, "SDS_PLUS") == 0) {
		*num = 2;
		*den = 3;
	} else if (strcmp(type, "SDS40") == 0) {
		*num = 2;
		*den = 5;
	} else {
		return -1;
	}
	return 0;
}

/* Clamp a day count into the range the calendar helpers handle. */
int32_t ns__clamp_day(int64_t d)
{
	if (d > NS__DAY_LIMIT)
		return NS__DAY_LIMIT;
	if (d < -NS__DAY_LIMIT)
		return -NS__DAY_LIMIT;
	return (int32_t)d;
}

/*
 * Release dates for a determinate sentence. See fold.h. Adjustments are
 * summed in 64 bits so that absurd totals cannot overflow; results are
 * clamped to the sentence date from below.
 */
int ns_release_dates_calc(const char *type, int32_t sentence_date, int years, int months, int days,
			  int32_t offence_date, const ns_adjustments *adj, ns_release_dates *out)
{
	static const ns_adjustments none;
	int num, den, ard_sed;
	int64_t len, rel, exp, ded, year_len, two_years;
	int32_t ora;

	if (out == NULL || type == NULL || ns__multiplier(type, &num, &den) != 0)
		return NS_EINVAL;
	if (sentence_date == NS_DATE_NONE || sentence_date > NS__DAY_LIMIT ||
	    sentence_date < -NS__DAY_LIMIT || years < 0 || months < 0 || days < 0 ||
	    years > NS__MAX_YEARS || months > NS__MAX_MONTHS || days > NS__MAX_DAYS)
		return NS_EINVAL;
	if (adj == NULL)
		adj = &none;

	out->crd = out->sled = out->ard = out->sed = out->tused = NS_DATE_NONE;
	len = (int64_t)ns_date_add(sentence_date, years, months, days) - sentence_date;
	out->length_days = (int32_t)len;

	/* Unadjusted: release = date + ceil(L x m) - 1, expiry = date + L - 1. */
	rel = sentence_date + (len * num + den - 1) / den - 1;
	exp = sentence_date + len - 1;

	ded = (int64_t)adj->remand + adj->tagged_bail;
	rel = rel - ded + adj->ual + adj->ada - adj->rada;
	exp = exp - ded + adj->ual;
	if (rel < sentence_date)
		rel = sentence_date; /* deductions exceed the custodial part: immediate release */
	if (exp < sentence_date)
		exp = sentence_date;

	/* One day or less, or under 12 months for an offence before ORA 2014: no licence. */
	ora = ns_date_from_civil(2015, 2, 1);
	year_len = (int64_t)ns_date_add(sentence_date, 0, 12, 0) - sentence_date;
	ard_sed = len <= 1 ||
		  (len < year_len && offence_date != NS_DATE_NONE && offence_date < ora);
	if (ard_sed) {
		out->ard = ns__clamp_day(rel);
		out->sed = ns__clamp_day(exp);
		return 0;
	}
	out->crd = ns__clamp_day(rel);
	out->sled = ns__clamp_day(exp);

	/* Top-up supervision: licence sentences of under two years. */
	two_years = (int64_t)ns_date_add(sentence_date, 2, 0, 0) - sentence_date;
	if (len < two_years)
		out->tused = ns__clamp_day(ns_date_add(out->crd, 0, 12, 0));
	return 0;
}
