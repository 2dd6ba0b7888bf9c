/*
 * Release dates of a determinate sentence or a consecutive chain
 * (docs/DOMAIN.md section 7, after calculate-release-dates-api; REFERENCE.md
 * s. 5 and REFERENCE-2.md s. 5).
 *
 * Everything is whole days (nomsync/date.h). A term is counted as the
 * Prison Service counts it (ns_term_days), so month ends and leap days
 * count. A release point is ceil(days x m) with m an exact fraction (1/2,
 * 2/3, 2/5, 1), worked out in integers so that no floating-point rounding can
 * move a date. Adjustments then move release and PED (remand, tagged bail,
 * UAL, ADA, RADA) and expiry (remand, tagged bail, UAL), once for the whole
 * chain; no date is ever before the first sentence date.
 *
 * The SDS family and EDS have an automatic calculation; other types are
 * NS_EINVAL and the caller shows no calculated dates for them.
 */
#include "fold_int.h"

#include <string.h>

/* Days of the rules (calculate-release-dates-api ImportantDates.kt, hdced: params). */
#define NS__HDC_MIN_CUSTODIAL 42 /* no HDCED below this many days to release */
#define NS__HDC_MIN_ON_HDC 14    /* HDCED never earlier than sentence date + 14 */
#define NS__HDC_MIN_HALF 28      /* below the midpoint, at least 28 days in custody */
#define NS__HDC180_MIDPOINT 360
#define NS__HDC180_DEDUCTION 179
#define NS__HDC365_MIDPOINT 730
#define NS__HDC365_DEDUCTION 364

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
	} else if (strcmp(type, "EDS") == 0) {
		/* Discretionary release: CRD at the end of the custodial term, PED at 2/3. */
		*num = 1;
		*den = 1;
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

/* Days of a term from @p start (PSI 5.5). See fold.h. */
int32_t ns_term_days(int32_t start, int years, int months, int days)
{
	int y, m, d;
	int64_t end;

	ns_date_to_civil(start, &y, &m, &d);
	if (d == 1 && (years != 0 || months != 0))
		end = (int64_t)ns_date_add(start, years, months, 0) - 1; /* to the end of a month */
	else
		end = ns_date_add(start - 1, years, months, 0);
	return (int32_t)(end + days - start + 1);
}

/*
 * Consecutive terms laid end to end, as calculate-release-dates-api's
 * DurationAggregator does: adjacent year/month parts are summed, and so are
 * adjacent day parts; each run is then counted from the day after the
 * previous one ends.
 */
struct ns__walk {
	int32_t date; /* first day of the pending run */
	int cls;      /* pending run: 0 none, 1 years and months, 2 days */
	int y, m, d;
};

static void ns__walk_flush(struct ns__walk *w)
{
	if (w->cls != 0)
		w->date += ns_term_days(w->date, w->y, w->m, w->d);
	w->cls = w->y = w->m = w->d = 0;
}

static void ns__walk_add(struct ns__walk *w, int y, int m, int d)
{
	int cls = d != 0 ? 2 : 1;

	if (y == 0 && m == 0 && d == 0)
		return;
	if (w->cls != 0 && w->cls != cls)
		ns__walk_flush(w);
	w->cls = cls;
	w->y += y;
	w->m += m;
	w->d += d;
}

/* One part's term into a walk: its years and months, then its days. */
static void ns__walk_part(struct ns__walk *w, const ns_sentence_part *p, int with_extension)
{
	ns__walk_add(w, p->years + (with_extension ? p->ext_years : 0),
		     p->months + (with_extension ? p->ext_months : 0), 0);
	ns__walk_add(w, 0, 0, p->days + (with_extension ? p->ext_days : 0));
}

/* ceil(days x num / den) for days >= 0. */
static int64_t ns__ceil_part(int64_t days, int num, int den)
{
	return (days * num + den - 1) / den;
}

/*
 * One HDCED calculation (calculate-release-dates-api HdcedCalculator.kt):
 * below the midpoint, sentence date + max(28, ceil(cp / 2)); at or above it,
 * the release point less the deduction. Both less deductions plus UAL, with
 * no -1 (the count starts the day after sentence). If the date with only the
 * deductions is on or before sentence date + 14, it is sentence date + 14 +
 * UAL. Returns the date with UAL added; ADA - RADA are added by the caller.
 */
static int64_t ns__hdced_one(int64_t start, int64_t cp, int64_t ded, int64_t ual, int midpoint,
			     int deduction)
{
	int64_t days, half = (cp + 1) / 2;

	if (cp < midpoint)
		days = (half > NS__HDC_MIN_HALF ? half : NS__HDC_MIN_HALF) - ded + ual;
	else
		days = cp - (deduction + 1) - ded + ual;
	if (start + NS__HDC_MIN_ON_HDC >= start + days - ual)
		days = NS__HDC_MIN_ON_HDC + ual;
	return start + days;
}

/* Checks of one part: a calculable type, a date, terms within the limits. */
static int ns__part_ok(const ns_sentence_part *p)
{
	int num, den;

	return p->type != NULL && ns__multiplier(p->type, &num, &den) == 0 &&
	       p->sentence_date != NS_DATE_NONE && p->sentence_date <= NS__DAY_LIMIT &&
	       p->sentence_date >= -NS__DAY_LIMIT && p->years >= 0 && p->months >= 0 && p->days >= 0 &&
	       p->ext_years >= 0 && p->ext_months >= 0 && p->ext_days >= 0;
}

/*
 * Release dates of a chain. See fold.h. Adjustments are summed in 64 bits so
 * that absurd totals cannot overflow; results are clamped to the first
 * sentence date from below and to NS__DAY_LIMIT.
 */
int ns_release_dates_chain(const ns_sentence_part *parts, size_t n, const ns_adjustments *adj,
			   unsigned flags, ns_release_dates *out)
{
	static const ns_adjustments none;
	const int32_t ora = ns_date_from_civil(2015, 2, 1), cja = ns_date_from_civil(2005, 4, 4),
		      laspo = ns_date_from_civil(2012, 12, 3), hdc365 = ns_date_from_civil(2025, 6, 3);
	int64_t sum_y = 0, sum_m = 0, sum_d = 0, len, to_release = 0, to_ped = -1;
	int64_t ded, aw, rel, exp, start, year, four_years;
	int has_eds = 0, has_plus = 0, post_ora = 0, old_regime, before365 = 0, after365 = 0;
	int32_t notional = NS_DATE_NONE;
	struct ns__walk w;

	if (out == NULL || parts == NULL || n == 0)
		return NS_EINVAL;
	for (size_t i = 0; i < n; i++) {
		const ns_sentence_part *p = &parts[i];
		if (!ns__part_ok(p))
			return NS_EINVAL;
		sum_y += (int64_t)p->years + p->ext_years;
		sum_m += (int64_t)p->months + p->ext_months;
		sum_d += (int64_t)p->days + p->ext_days;
		has_eds |= strcmp(p->type, "EDS") == 0;
		has_plus |= strcmp(p->type, "SDS_PLUS") == 0;
		post_ora |= p->offence_date == NS_DATE_NONE || p->offence_date >= ora;
		before365 |= p->sentence_date < hdc365;
		after365 |= p->sentence_date >= hdc365;
	}
	/* The limits bound the whole chain, so no calendar sum can overflow. */
	if (sum_y > NS__MAX_YEARS || sum_m > NS__MAX_MONTHS || sum_d > NS__MAX_DAYS)
		return NS_EINVAL;
	if (adj == NULL)
		adj = &none;
	start = parts[0].sentence_date;
	out->crd = out->sled = out->ard = out->sed = out->led = out->ped = out->hdced = out->tused =
		NS_DATE_NONE;

	/* Expiry: every term (with extension periods) end to end from the first date. */
	memset(&w, 0, sizeof(w));
	w.date = (int32_t)start;
	for (size_t i = 0; i < n; i++)
		ns__walk_part(&w, &parts[i], 1);
	ns__walk_flush(&w);
	len = w.date - start;
	out->length_days = (int32_t)len;

	/*
	 * Release: groups of one multiplier in order of first appearance, EDS
	 * last; each from the day after the previous group's notional release.
	 */
	for (size_t k = 0; k <= n; k++) {
		int eds_group = k == n, num = 1, den = 1;
		int32_t from;
		int64_t days;
		size_t j;

		if (!eds_group) {
			int pn, pd;
			if (strcmp(parts[k].type, "EDS") == 0)
				continue;
			ns__multiplier(parts[k].type, &num, &den);
			for (j = 0; j < k; j++)
				if (strcmp(parts[j].type, "EDS") != 0 &&
				    ns__multiplier(parts[j].type, &pn, &pd) == 0 && pn * den == num * pd)
					break;
			if (j < k)
				continue; /* that multiplier's group is done */
		} else if (!has_eds) {
			break;
		}
		memset(&w, 0, sizeof(w));
		w.date = from = notional == NS_DATE_NONE ? (int32_t)start : notional + 1;
		for (j = eds_group ? 0 : k; j < n; j++) {
			int pn, pd, is_eds = strcmp(parts[j].type, "EDS") == 0;
			ns__multiplier(parts[j].type, &pn, &pd);
			if (eds_group ? is_eds : (!is_eds && pn * den == num * pd))
				ns__walk_part(&w, &parts[j], 0);
		}
		ns__walk_flush(&w);
		days = w.date - from;
		if (eds_group)
			to_ped = to_release + ns__ceil_part(days, 2, 3);
		days = ns__ceil_part(days, num, den);
		notional = ns__clamp_day(from + days - 1);
		to_release += days;
	}

	/* Adjustments, once for the chain. */
	ded = (int64_t)adj->remand + adj->tagged_bail;
	aw = (int64_t)adj->ada - adj->rada;
	rel = start + to_release - 1 - ded + adj->ual + aw;
	exp = start + len - 1 - ded + adj->ual;
	if (rel < start)
		rel = start; /* deductions exceed the custodial part: immediate release */
	if (exp < start)
		exp = start;
	if (to_ped >= 0) {
		int64_t ped = start + to_ped - 1 - ded + adj->ual + aw;
		out->ped = ns__clamp_day(ped < start ? start : ped);
	}

	/*
	 * Which dates. No licence (ARD + SED): one day or less, or under 12
	 * months with every offence before ORA 2014. The pre-CJA 2003 regime
	 * (sentenced before LASPO, every offence before CJA 2005 commencement):
	 * 12 months to 4 years is CRD + LED + SED, LED at 3/4 of the sentence.
	 */
	year = ns_term_days((int32_t)start, 1, 0, 0);
	four_years = ns_term_days((int32_t)start, 4, 0, 0);
	old_regime = !has_eds && start < laspo;
	for (size_t i = 0; i < n && old_regime; i++)
		old_regime = parts[i].offence_date != NS_DATE_NONE && parts[i].offence_date < cja;
	if (!has_eds && (len <= 1 || (!post_ora && len < year))) {
		out->ard = ns__clamp_day(rel);
		out->sed = ns__clamp_day(exp);
	} else if (old_regime && len < four_years) {
		int64_t led = start + ns__ceil_part(len, 3, 4) - 1 - ded + adj->ual;
		out->crd = ns__clamp_day(rel);
		out->led = ns__clamp_day(led < start ? start : led);
		out->sed = ns__clamp_day(exp);
	} else {
		out->crd = ns__clamp_day(rel);
		out->sled = ns__clamp_day(exp);
	}

	/* HDCED: SDS family only, no SDS+ part, not a sex offender. */
	if (!has_eds && !has_plus && !(flags & NS_RD_SEX_OFFENDER) &&
	    rel >= start + NS__HDC_MIN_ON_HDC && to_release >= NS__HDC_MIN_CUSTODIAL) {
		int64_t h180 = ns__hdced_one(start, to_release, ded, adj->ual, NS__HDC180_MIDPOINT,
					     NS__HDC180_DEDUCTION),
			h365 = ns__hdced_one(start, to_release, ded, adj->ual, NS__HDC365_MIDPOINT,
					     NS__HDC365_DEDUCTION),
			cmp = h180;

		/* A chain sentenced both before and after HDC365 is not eligible before it. */
		if (n > 1 && before365 && after365 && cmp < hdc365)
			cmp = hdc365;
		if (cmp < hdc365)
			out->hdced = ns__clamp_day(h180 + aw);
		else if (h365 >= hdc365)
			out->hdced = ns__clamp_day(h365 + aw);
		else
			out->hdced = ns__clamp_day(hdc365 + aw);
	}

	/* Top-up supervision: licence (CRD + SLED) chains under two years with an ORA offence. */
	if (out->sled != NS_DATE_NONE && !has_eds && post_ora && len < ns_term_days((int32_t)start, 2, 0, 0))
		out->tused = ns__clamp_day(ns_date_add(out->crd, 0, 12, 0));
	return 0;
}

/* One sentence. See fold.h. */
int ns_release_dates_calc(const char *type, int32_t sentence_date, int years, int months, int days,
			  int32_t offence_date, const ns_adjustments *adj, ns_release_dates *out)
{
	ns_sentence_part p;

	memset(&p, 0, sizeof(p));
	p.type = type;
	p.sentence_date = sentence_date;
	p.years = years;
	p.months = months;
	p.days = days;
	p.offence_date = offence_date;
	if (years > NS__MAX_YEARS || months > NS__MAX_MONTHS || days > NS__MAX_DAYS)
		return NS_EINVAL;
	return ns_release_dates_chain(&p, 1, adj, 0, out);
}
