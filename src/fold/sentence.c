/*
 * The fold's sentence area: courts, convictions, sentences, adjustments and
 * the legal status they give (dates.c does the release-date arithmetic).
 *
 * Handlers: court.remanded, court.convicted, court.appearance.recorded,
 * sentence.imposed, sentence.quashed, prisoner.adjustment.recorded,
 * sentence.dates.calculated.
 * View fields: legal_status, verdict_date, offences, court_appearances,
 * sentences, adjustments, dates (with the prison's calculation).
 */
#include "fold_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void ns__legal(struct ns__fold *c, const char *status)
{
	if (c->legal != NULL && strcmp(c->legal, "DEAD") == 0 && strcmp(status, "DEAD") != 0)
		return;
	c->legal = status;
	ns__prov(c, "legal_status");
}

/* Is the current legal status one of a sentenced person. */
static int ns__sentenced(const struct ns__fold *c)
{
	return c->legal != NULL &&
	       (strcmp(c->legal, "SENTENCED") == 0 || strcmp(c->legal, "INDETERMINATE_SENTENCE") == 0 ||
		strcmp(c->legal, "RECALL") == 0);
}

/* court.remanded: a custodial remand. */
void ns__fold_court_remanded(struct ns__fold *c, const Nomsync__Payload *pl)
{
	if (pl->court_remanded->custodial)
		ns__legal(c, "REMAND");
}

/* court.convicted: offences and verdict. */
void ns__fold_court_convicted(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__CourtConvicted *p = pl->court_convicted;

	for (size_t i = 0; i < p->n_offences; i++) {
		const Nomsync__Offence *o = p->offences[i], **offs;
		int32_t od = ns__date(o->offence_date);
		size_t j;

		if (od != NS_DATE_NONE && (c->first_offence == NS_DATE_NONE || od < c->first_offence))
			c->first_offence = od;
		for (j = 0; j < c->noffences; j++)
			if (ns__eq(c->offences[j]->code, o->code) &&
			    ns__eq(c->offences[j]->description, o->description) &&
			    ns__date(c->offences[j]->offence_date) == od)
				break;
		if (j < c->noffences)
			continue; /* the same offence again */
		offs = ns__grow(c, (void *)c->offences, &c->capoffences, c->noffences, sizeof(*offs));
		if (offs == NULL)
			return;
		c->offences = offs;
		c->offences[c->noffences++] = o;
	}
	if (ns__date(p->verdict_date) != NS_DATE_NONE)
		c->verdict = ns__date(p->verdict_date);
	if (!ns__sentenced(c))
		ns__legal(c, "CONVICTED_UNSENTENCED");
}

/* court.appearance.recorded: listed as it comes. */
void ns__fold_court_appearance_recorded(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__CourtAppearanceRecorded *p = pl->court_appearance_recorded;
	json_t *a = ns__obj(c);

	ns__set(c, a, "court", ns__jstr(c, p->court));
	ns__set(c, a, "appearance_date", ns__jdate(c, ns__date(p->appearance_date)));
	ns__set(c, a, "outcome", ns__jstr(c, p->outcome));
	ns__set(c, a, "next_hearing_date", ns__jdate(c, ns__date(p->next_hearing_date)));
	ns__set(c, a, "case_ref", ns__jstr(c, p->case_ref));
	ns__set(c, a, "event", ns__jstr(c, c->f[c->cur].hex));
	ns__push(c, c->appearances, a);
}

/* Is a sentence type custodial (moves legal status). */
static int ns__custodial(const char *type)
{
	static const char *const types[] = { "SDS", "SDS_PLUS", "SDS40", "EDS", "DTO", "LIFE" };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (ns__eq(type, types[i]))
			return 1;
	return 0;
}

/*
 * Legal status from the sentences that stand, NULL if there are none:
 * custodial ones, and community sentences neither quashed nor revoked (the
 * NOMIS enum has no community value, so a community sentence is SENTENCED).
 */
static const char *ns__sentence_status(const struct ns__fold *c)
{
	const char *s = NULL;

	for (size_t i = 0; i < c->nsent; i++) {
		const struct ns__sentence *t = &c->sent[i];
		const char *cs = ns__community_type(t->p->sentence_type) ? ns__community_status(c, t) : NULL;
		if (cs != NULL && strcmp(cs, "QUASHED") != 0 && strcmp(cs, "REVOKED") != 0)
			s = "SENTENCED";
		if (t->quashed || !ns__custodial(t->p->sentence_type))
			continue;
		if (strcmp(t->p->sentence_type, "LIFE") == 0)
			return "INDETERMINATE_SENTENCE";
		s = "SENTENCED";
	}
	return s;
}

struct ns__sentence *ns__sentence_find(struct ns__fold *c, const char *id)
{
	if (ns__nz(id) == NULL)
		return NULL;
	for (size_t i = 0; i < c->nsent; i++)
		if (strcmp(c->sent[i].p->sentence_id, id) == 0)
			return &c->sent[i];
	return NULL;
}

/* sentence.imposed: the first imposition of an id is kept. */
void ns__fold_sentence_imposed(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__SentenceImposed *p = pl->sentence_imposed;
	struct ns__sentence *s = ns__sentence_find(c, p->sentence_id), *all;
	const char *status;

	if (s != NULL) {
		const Nomsync__SentenceImposed *q = s->p;
		if (ns__eq(q->sentence_type, p->sentence_type) &&
		    ns__date(q->sentence_date) == ns__date(p->sentence_date) &&
		    q->term_years == p->term_years && q->term_months == p->term_months &&
		    q->term_days == p->term_days)
			return; /* the same sentence again: harmless */
		ns__conflict(c, "SENTENCE_IMPOSED_TWICE", s->ev, c->cur,
			     "sentence %s imposed as %s %uy %um %ud from %s and again as %s %uy %um %ud "
			     "from %s; the first is kept",
			     p->sentence_id, ns__show(q->sentence_type), q->term_years, q->term_months,
			     q->term_days, ns__show(q->sentence_date), ns__show(p->sentence_type),
			     p->term_years, p->term_months, p->term_days, ns__show(p->sentence_date));
		return;
	}
	if ((all = ns__grow(c, c->sent, &c->capsent, c->nsent, sizeof(*all))) == NULL)
		return;
	c->sent = all;
	s = &all[c->nsent++];
	memset(s, 0, sizeof(*s));
	s->p = p;
	s->ev = c->cur;
	s->date = ns__date(p->sentence_date);
	ns__prov(c, "sentences");
	if (ns__custodial(p->sentence_type)) {
		status = ns__sentence_status(c);
		ns__legal(c, status ? status : "SENTENCED");
	} else if (ns__community_type(p->sentence_type)) {
		c->probation = "CURRENT";
		if (!ns__sentenced(c))
			ns__legal(c, "SENTENCED");
	}
}

/* sentence.quashed: the legal status falls back to what remains. */
void ns__fold_sentence_quashed(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__SentenceQuashed *p = pl->sentence_quashed;
	struct ns__sentence *s = ns__sentence_find(c, p->sentence_id);

	if (s == NULL) {
		ns__conflict(c, "SENTENCE_NOT_FOUND", -1, c->cur,
			     "sentence %s quashed but no such sentence was imposed",
			     ns__show(p->sentence_id));
		return;
	}
	s->quashed = 1;
	ns__prov(c, "sentences");
	ns__legal_recompute(c);
}

void ns__legal_recompute(struct ns__fold *c)
{
	const char *status;

	if (c->legal == NULL ||
	    (strcmp(c->legal, "SENTENCED") != 0 && strcmp(c->legal, "INDETERMINATE_SENTENCE") != 0))
		return;
	status = ns__sentence_status(c);
	if (status == NULL && c->noffences > 0)
		status = "CONVICTED_UNSENTENCED";
	if (status == NULL) {
		c->legal = NULL;
		ns__prov(c, "legal_status");
	} else if (strcmp(status, c->legal) != 0) {
		ns__legal(c, status);
	}
}

/* prisoner.adjustment.recorded: day totals. */
void ns__fold_prisoner_adjustment_recorded(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__PrisonerAdjustmentRecorded *p = pl->prisoner_adjustment_recorded;
	const char *t = p->adjustment_type ? p->adjustment_type : "";
	int *total = NULL;

	if (strcmp(t, "REMAND") == 0)
		total = &c->adj.remand;
	else if (strcmp(t, "TAGGED_BAIL") == 0)
		total = &c->adj.tagged_bail;
	else if (strcmp(t, "UNLAWFULLY_AT_LARGE") == 0)
		total = &c->adj.ual;
	else if (strcmp(t, "ADDITIONAL_DAYS_AWARDED") == 0)
		total = &c->adj.ada;
	else if (strcmp(t, "RESTORATION_OF_ADDITIONAL_DAYS_AWARDED") == 0)
		total = &c->adj.rada;
	if (total != NULL)
		*total = ns__sat_add(*total, p->days);
}

/* sentence.dates.calculated: the prison's latest calculation is kept. */
void ns__fold_sentence_dates_calculated(struct ns__fold *c, const Nomsync__Payload *pl)
{
	c->calc = pl->sentence_dates_calculated;
	c->calc_ev = c->cur; /* shown as dates.prison_calculation.event */
}

/* Later of two optional dates. */
static int32_t ns__later(int32_t a, int32_t b)
{
	if (a == NS_DATE_NONE)
		return b;
	if (b == NS_DATE_NONE)
		return a;
	return a > b ? a : b;
}

int ns__term_ok(const struct ns__sentence *s)
{
	const Nomsync__SentenceImposed *p = s->p;

	return s->date != NS_DATE_NONE && p->term_years <= NS__MAX_YEARS &&
	       p->term_months <= NS__MAX_MONTHS && p->term_days <= NS__MAX_DAYS &&
	       p->extension_years <= NS__MAX_YEARS && p->extension_months <= NS__MAX_MONTHS &&
	       p->extension_days <= NS__MAX_DAYS;
}

/*
 * A registered sex offender, for HDCED: an active NOMIS alert of type S with
 * code SOR (sex offence register) or SR (on the sex offender register), as
 * calculate-release-dates-api reads it (Person.isActiveSexOffender), or an
 * active registration with one of those codes. [unconfirmed] The research
 * found no nDelius register type for the sex offender register, so a
 * probation site records it with the NOMIS code.
 */
static int ns__sex_offender(const struct ns__fold *c)
{
	for (size_t i = 0; i < c->nalerts; i++)
		if (c->alerts[i].active && ns__eq(c->alerts[i].type, "S") &&
		    (ns__eq(c->alerts[i].code, "SOR") || ns__eq(c->alerts[i].code, "SR")))
			return 1;
	for (size_t i = 0; i < c->nregs; i++)
		if (c->regs[i].active && (ns__eq(c->regs[i].type, "SOR") || ns__eq(c->regs[i].type, "SR")))
			return 1;
	return 0;
}

/*
 * The active custodial sentence that sentence @p i is consecutive to, passing
 * over quashed ones to what they were consecutive to: its index, -1 for none,
 * -2 when the id names no sentence at all.
 */
static int ns__consecutive_to(struct ns__fold *c, size_t i)
{
	const char *id = c->sent[i].p->consecutive_to;

	for (size_t step = 0; step <= c->nsent && ns__nz(id) != NULL; step++) {
		struct ns__sentence *s = ns__sentence_find(c, id);
		if (s == NULL)
			return -2;
		if (!s->quashed)
			return ns__custodial(s->p->sentence_type) ? (int)(s - c->sent) : -1;
		id = s->p->consecutive_to;
	}
	return -1;
}

/*
 * Each sentence's predecessor in its consecutive chain into @p pred. A
 * consecutive_to naming no sentence is SENTENCE_NOT_FOUND and a loop
 * (A after B after A) CONSECUTIVE_CYCLE; the loop is cut at its first
 * sentence in fold order, which then starts the chain.
 */
static void ns__chains(struct ns__fold *c, int *pred)
{
	for (size_t i = 0; i < c->nsent; i++) {
		pred[i] = c->sent[i].quashed ? -1 : ns__consecutive_to(c, i);
		if (pred[i] == -2) {
			ns__conflict(c, "SENTENCE_NOT_FOUND", -1, c->sent[i].ev,
				     "sentence %s is consecutive to %s but no such sentence was imposed; "
				     "it is calculated as concurrent",
				     c->sent[i].p->sentence_id, c->sent[i].p->consecutive_to);
			pred[i] = -1;
		}
	}
	for (size_t i = 0; i < c->nsent; i++) {
		int j = pred[i];
		for (size_t step = 0; step < c->nsent && j >= 0 && j != (int)i; step++)
			j = pred[j];
		if (j != (int)i)
			continue;
		ns__conflict(c, "CONSECUTIVE_CYCLE", c->sent[pred[i]].ev, c->sent[i].ev,
			     "sentences %s and %s are consecutive to each other (through a loop); "
			     "the chain is calculated from %s",
			     c->sent[i].p->sentence_id, c->sent[pred[i]].p->sentence_id,
			     c->sent[i].p->sentence_id);
		pred[i] = -1;
	}
}

/*
 * The dates of the chain that ends at sentence @p i (first sentence first)
 * into its rd; has_rd is 0 when a part has no automatic calculation.
 * @p parts has room for nsent parts.
 */
static void ns__chain_dates(struct ns__fold *c, const int *pred, size_t i, ns_sentence_part *parts,
			    unsigned flags)
{
	struct ns__sentence *s = &c->sent[i];
	size_t n = 0;
	int j = (int)i;

	s->has_rd = 0;
	if (s->quashed || !ns__custodial(s->p->sentence_type))
		return;
	for (; j >= 0 && n < c->nsent; j = pred[j])
		n++;
	j = (int)i;
	for (size_t k = n; k-- > 0; j = pred[j]) {
		const struct ns__sentence *t = &c->sent[j];
		const Nomsync__SentenceImposed *p = t->p;
		int eds = ns__eq(p->sentence_type, "EDS");
		int32_t od = ns__date(p->offence_date);

		if (!ns__term_ok(t))
			return;
		memset(&parts[k], 0, sizeof(parts[k]));
		parts[k].type = p->sentence_type;
		parts[k].sentence_date = t->date;
		parts[k].years = (int)p->term_years;
		parts[k].months = (int)p->term_months;
		parts[k].days = (int)p->term_days;
		if (eds) {
			parts[k].ext_years = (int)p->extension_years;
			parts[k].ext_months = (int)p->extension_months;
			parts[k].ext_days = (int)p->extension_days;
		}
		parts[k].offence_date = od != NS_DATE_NONE ? od : c->first_offence;
	}
	s->has_rd = ns_release_dates_chain(parts, n, &c->adj, flags, &s->rd) == 0;
}

/* The date types of a calculation: view key, the field of ns_release_dates. */
static const struct {
	const char *key;
	size_t off;
} ns__date_types[] = {
	{ "crd", offsetof(ns_release_dates, crd) },     { "ard", offsetof(ns_release_dates, ard) },
	{ "sled", offsetof(ns_release_dates, sled) },   { "sed", offsetof(ns_release_dates, sed) },
	{ "led", offsetof(ns_release_dates, led) },     { "hdced", offsetof(ns_release_dates, hdced) },
	{ "ped", offsetof(ns_release_dates, ped) },     { "tused", offsetof(ns_release_dates, tused) },
};
#define NS__NDATE_TYPES (sizeof(ns__date_types) / sizeof(ns__date_types[0]))

/* A date of a calculation by its index in ns__date_types. */
static int32_t ns__rd_get(const ns_release_dates *rd, size_t t)
{
	return *(const int32_t *)(const void *)((const char *)rd + ns__date_types[t].off);
}

/* The prison's date of a type, as given (NULL if it does not apply). */
static const char *ns__calc_get(const Nomsync__SentenceDatesCalculated *p, size_t t)
{
	const char *const v[] = { p->crd, p->ard, p->sled, p->sed, p->led, p->hdced, p->ped, p->tused };

	return ns__nz(v[t]);
}

/*
 * The prison's calculation against nomsync's: one DATES_DISAGREE per date
 * type that differs (a date on one side only differs too), naming both
 * values, the sentence whose chain gave nomsync's and the calculation event.
 */
static void ns__compare_calc(struct ns__fold *c, const ns_release_dates *mine, const int *src,
			     int gov)
{
	const Nomsync__SentenceDatesCalculated *p = c->calc;
	char a[11], b[11];

	for (size_t t = 0; t < NS__NDATE_TYPES; t++) {
		int32_t ours = ns__rd_get(mine, t), theirs = ns__date(ns__calc_get(p, t));
		if (ours == theirs)
			continue;
		ns__conflict(c, "DATES_DISAGREE", src[t] >= 0 ? src[t] : gov, c->calc_ev,
			     "%s: nomsync calculates %s, the prison's calculation %s gives %s",
			     ns__date_types[t].key, ns__show_date(a, ours), ns__show(p->calculation_id),
			     ns__show_date(b, theirs));
	}
}

/*
 * Release dates of every chain (a sentence alone is a chain of one), then
 * the person's dates into "dates": of the chains that end at a sentence no
 * other is consecutive to, the latest of each date type. HDCED is the latest
 * of each chain's HDCED, or of its release date where it has none; it is
 * shown only if some chain has one and it falls before the release date.
 */
static json_t *ns__render_dates(struct ns__fold *c)
{
	ns_release_dates all;
	int32_t release, hdc = NS_DATE_NONE;
	json_t *d = ns__obj(c), *wd = ns__obj(c);
	int *pred = NULL, gov = -1, any = 0, any_hdc = 0, src[NS__NDATE_TYPES];
	ns_sentence_part *parts = NULL;
	unsigned flags = ns__sex_offender(c) ? NS_RD_SEX_OFFENDER : 0;

	memset(&all, 0, sizeof(all));
	for (size_t t = 0; t < NS__NDATE_TYPES; t++) {
		*(int32_t *)(void *)((char *)&all + ns__date_types[t].off) = NS_DATE_NONE;
		src[t] = -1;
	}
	if (c->nsent > 0) {
		pred = malloc(c->nsent * sizeof(*pred));
		parts = malloc(c->nsent * sizeof(*parts));
		if (pred == NULL || parts == NULL) {
			c->rc = NS_ENOMEM;
			free(pred);
			free(parts);
			return d;
		}
		ns__chains(c, pred);
		for (size_t i = 0; i < c->nsent; i++)
			ns__chain_dates(c, pred, i, parts, flags);
	}
	for (size_t i = 0; i < c->nsent; i++) {
		const struct ns__sentence *s = &c->sent[i];
		size_t j;

		for (j = 0; j < c->nsent; j++)
			if (pred[j] == (int)i && !c->sent[j].quashed)
				break;
		if (!s->has_rd || j < c->nsent)
			continue; /* no dates, or not the end of its chain */
		any = 1;
		for (size_t t = 0; t < NS__NDATE_TYPES; t++) {
			int32_t *acc = (int32_t *)(void *)((char *)&all + ns__date_types[t].off);
			int32_t v = ns__rd_get(&s->rd, t);
			if (v != NS_DATE_NONE && (*acc == NS_DATE_NONE || v > *acc)) {
				*acc = v;
				src[t] = s->ev;
			}
		}
		any_hdc |= s->rd.hdced != NS_DATE_NONE;
		hdc = ns__later(hdc, s->rd.hdced != NS_DATE_NONE ? s->rd.hdced
								  : ns__later(s->rd.crd, s->rd.ard));
	}
	release = ns__later(all.crd, all.ard);
	all.hdced = any_hdc && hdc < release ? hdc : NS_DATE_NONE;
	for (size_t t = 0; t < NS__NDATE_TYPES; t++)
		ns__set(c, d, ns__date_types[t].key, ns__jdate(c, ns__rd_get(&all, t)));
	ns__set(c, d, "release_date", ns__jdate(c, release));
	ns__set(c, d, "release_date_type",
		ns__jstr(c, release == NS_DATE_NONE ? NULL : release == all.crd ? "CRD" : "ARD"));
	/* Working-day hints: release dates back to the previous working day, HDCED forward. */
	ns__set(c, d, "release_date_adjusted", ns__jdate(c, ns_working_day_before(release)));
	ns__set(c, wd, "crd", ns__jdate(c, ns_working_day_before(all.crd)));
	ns__set(c, wd, "ard", ns__jdate(c, ns_working_day_before(all.ard)));
	ns__set(c, wd, "ped", ns__jdate(c, ns_working_day_before(all.ped)));
	ns__set(c, wd, "hdced", ns__jdate(c, ns_working_day_after(all.hdced)));
	ns__set(c, d, "working_day", wd);
	ns__set(c, d, "prison_calculation", json_null());
	for (size_t i = 0; i < c->nsent && release != NS_DATE_NONE && gov < 0; i++)
		if (c->sent[i].has_rd &&
		    (c->sent[i].rd.crd == release || c->sent[i].rd.ard == release))
			gov = c->sent[i].ev;
	if (c->calc != NULL) {
		const Nomsync__SentenceDatesCalculated *p = c->calc;
		json_t *pc = ns__obj(c);
		ns__set(c, pc, "calculation_id", ns__jstr(c, p->calculation_id));
		ns__set(c, pc, "booking_id", ns__jstr(c, ns__nz(p->booking_id)));
		for (size_t t = 0; t < NS__NDATE_TYPES; t++)
			ns__set(c, pc, ns__date_types[t].key, ns__jdate(c, ns__date(ns__calc_get(p, t))));
		ns__set(c, pc, "prrd", ns__jdate(c, ns__date(p->prrd)));
		ns__set(c, pc, "event", ns__jstr(c, c->f[c->calc_ev].hex));
		ns__set(c, d, "prison_calculation", pc);
		if (any)
			ns__compare_calc(c, &all, src, gov);
	}
	if (gov >= 0) {
		c->cur = gov;
		ns__prov(c, "dates");
	}
	free(pred);
	free(parts);
	return d;
}

/* The "sentences" array; run after ns__render_dates. */
static json_t *ns__render_sentences(struct ns__fold *c)
{
	json_t *arr = ns__arr(c);

	for (size_t i = 0; i < c->nsent; i++) {
		const struct ns__sentence *s = &c->sent[i];
		const Nomsync__SentenceImposed *p = s->p;
		json_t *o = ns__obj(c), *term = ns__obj(c), *len = json_null();

		if (ns__term_ok(s)) {
			int32_t l = ns_term_days(s->date, (int)p->term_years, (int)p->term_months,
						 (int)p->term_days);
			if (l > 0)
				len = ns__jint(c, l);
		}
		ns__set(c, term, "years", ns__jint(c, p->term_years));
		ns__set(c, term, "months", ns__jint(c, p->term_months));
		ns__set(c, term, "days", ns__jint(c, p->term_days));
		if (ns__eq(p->sentence_type, "EDS")) {
			json_t *ext = ns__obj(c);
			ns__set(c, ext, "years", ns__jint(c, p->extension_years));
			ns__set(c, ext, "months", ns__jint(c, p->extension_months));
			ns__set(c, ext, "days", ns__jint(c, p->extension_days));
			ns__set(c, o, "extension", ext);
		}
		ns__set(c, o, "sentence_id", ns__jstr(c, p->sentence_id));
		ns__set(c, o, "sentence_type", ns__jstr(c, p->sentence_type));
		ns__set(c, o, "sentence_date", ns__jdate(c, s->date));
		ns__set(c, o, "consecutive_to", ns__jstr(c, ns__nz(p->consecutive_to)));
		ns__set(c, o, "term", term);
		ns__set(c, o, "length_days", len);
		ns__set(c, o, "status", ns__jstr(c, s->quashed ? "QUASHED" : "ACTIVE"));
		ns__set(c, o, "court", ns__jstr(c, p->court));
		for (size_t t = 0; t < NS__NDATE_TYPES; t++)
			ns__set(c, o, ns__date_types[t].key,
				ns__jdate(c, s->has_rd ? ns__rd_get(&s->rd, t) : NS_DATE_NONE));
		ns__set(c, o, "event", ns__jstr(c, c->f[s->ev].hex));
		ns__push(c, arr, o);
	}
	return arr;
}

void ns__render_sentence(struct ns__fold *c, json_t *v)
{
	json_t *adj = ns__obj(c), *offs = ns__arr(c);

	ns__set(c, v, "legal_status", ns__jstr(c, c->legal));
	ns__set(c, v, "verdict_date", ns__jdate(c, c->verdict));
	for (size_t i = 0; i < c->noffences; i++) {
		json_t *o = ns__obj(c);
		ns__set(c, o, "code", ns__jstr(c, c->offences[i]->code));
		ns__set(c, o, "description", ns__jstr(c, c->offences[i]->description));
		ns__set(c, o, "offence_date", ns__jdate(c, ns__date(c->offences[i]->offence_date)));
		ns__push(c, offs, o);
	}
	ns__set(c, v, "offences", offs);
	ns__set(c, adj, "remand", ns__jint(c, c->adj.remand));
	ns__set(c, adj, "tagged_bail", ns__jint(c, c->adj.tagged_bail));
	ns__set(c, adj, "unlawfully_at_large", ns__jint(c, c->adj.ual));
	ns__set(c, adj, "additional_days_awarded", ns__jint(c, c->adj.ada));
	ns__set(c, adj, "restoration_of_additional_days_awarded", ns__jint(c, c->adj.rada));
	ns__set(c, v, "adjustments", adj);
	ns__set(c, v, "dates", ns__render_dates(c));
	ns__set(c, v, "sentences", ns__render_sentences(c));
	ns__set(c, v, "court_appearances", c->appearances);
	c->appearances = NULL; /* the view owns it now */
}
