/*
 * The fold's sentence area: courts, convictions, sentences, adjustments and
 * the legal status they give (dates.c does the release-date arithmetic).
 *
 * Handlers: court.remanded, court.convicted, court.appearance.recorded,
 * sentence.imposed, sentence.quashed, prisoner.adjustment.recorded.
 * View fields: legal_status, verdict_date, offences, court_appearances,
 * sentences, adjustments, dates.
 */
#include "fold_int.h"

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

/* Legal status from the active custodial sentences, NULL if there are none. */
static const char *ns__sentence_status(const struct ns__fold *c)
{
	const char *s = NULL;

	for (size_t i = 0; i < c->nsent; i++) {
		if (c->sent[i].quashed || !ns__custodial(c->sent[i].p->sentence_type))
			continue;
		if (strcmp(c->sent[i].p->sentence_type, "LIFE") == 0)
			return "INDETERMINATE_SENTENCE";
		s = "SENTENCED";
	}
	return s;
}

/* The sentence with an id, or NULL. */
static struct ns__sentence *ns__sentence_find(struct ns__fold *c, const char *id)
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
	} else if (ns__eq(p->sentence_type, "COMMUNITY_ORDER") || ns__eq(p->sentence_type, "SSO")) {
		c->probation = "CURRENT";
	}
}

/* sentence.quashed: the legal status falls back to what remains. */
void ns__fold_sentence_quashed(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__SentenceQuashed *p = pl->sentence_quashed;
	struct ns__sentence *s = ns__sentence_find(c, p->sentence_id);
	const char *status;

	if (s == NULL) {
		ns__conflict(c, "SENTENCE_NOT_FOUND", -1, c->cur,
			     "sentence %s quashed but no such sentence was imposed",
			     ns__show(p->sentence_id));
		return;
	}
	s->quashed = 1;
	ns__prov(c, "sentences");
	if (c->legal != NULL && (strcmp(c->legal, "SENTENCED") == 0 ||
				 strcmp(c->legal, "INDETERMINATE_SENTENCE") == 0)) {
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

/* Later of two optional dates. */
static int32_t ns__later(int32_t a, int32_t b)
{
	if (a == NS_DATE_NONE)
		return b;
	if (b == NS_DATE_NONE)
		return a;
	return a > b ? a : b;
}

/* Has a sentence a date and a term within the limits that dates are worked out for. */
static int ns__term_ok(const struct ns__sentence *s)
{
	return s->date != NS_DATE_NONE && s->p->term_years <= NS__MAX_YEARS &&
	       s->p->term_months <= NS__MAX_MONTHS && s->p->term_days <= NS__MAX_DAYS;
}

/*
 * Release dates of every active SDS-family sentence, then the governing
 * (latest) dates into "dates".
 */
static json_t *ns__render_dates(struct ns__fold *c)
{
	int32_t crd = NS_DATE_NONE, sled = NS_DATE_NONE, ard = NS_DATE_NONE, sed = NS_DATE_NONE;
	int32_t tused = NS_DATE_NONE, release;
	json_t *d = ns__obj(c);
	int gov = -1;

	for (size_t i = 0; i < c->nsent; i++) {
		struct ns__sentence *s = &c->sent[i];
		const Nomsync__SentenceImposed *p = s->p;
		int32_t od = ns__date(p->offence_date);

		if (od == NS_DATE_NONE)
			od = c->first_offence;
		s->has_rd = !s->quashed && ns__term_ok(s) &&
			    ns_release_dates_calc(p->sentence_type, s->date, (int)p->term_years,
						  (int)p->term_months, (int)p->term_days, od, &c->adj,
						  &s->rd) == 0;
		if (!s->has_rd)
			continue;
		crd = ns__later(crd, s->rd.crd);
		sled = ns__later(sled, s->rd.sled);
		ard = ns__later(ard, s->rd.ard);
		sed = ns__later(sed, s->rd.sed);
		tused = ns__later(tused, s->rd.tused);
	}
	release = ns__later(crd, ard);
	ns__set(c, d, "crd", ns__jdate(c, crd));
	ns__set(c, d, "sled", ns__jdate(c, sled));
	ns__set(c, d, "ard", ns__jdate(c, ard));
	ns__set(c, d, "sed", ns__jdate(c, sed));
	ns__set(c, d, "tused", ns__jdate(c, tused));
	ns__set(c, d, "release_date", ns__jdate(c, release));
	ns__set(c, d, "release_date_type",
		ns__jstr(c, release == NS_DATE_NONE ? NULL : release == crd ? "CRD" : "ARD"));
	for (size_t i = 0; i < c->nsent && release != NS_DATE_NONE && gov < 0; i++)
		if (c->sent[i].has_rd &&
		    (c->sent[i].rd.crd == release || c->sent[i].rd.ard == release))
			gov = c->sent[i].ev;
	if (gov >= 0) {
		c->cur = gov;
		ns__prov(c, "dates");
	}
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
			int32_t l = ns_date_add(s->date, (int)p->term_years, (int)p->term_months,
						(int)p->term_days) - s->date;
			if (l > 0)
				len = ns__jint(c, l);
		}
		ns__set(c, term, "years", ns__jint(c, p->term_years));
		ns__set(c, term, "months", ns__jint(c, p->term_months));
		ns__set(c, term, "days", ns__jint(c, p->term_days));
		ns__set(c, o, "sentence_id", ns__jstr(c, p->sentence_id));
		ns__set(c, o, "sentence_type", ns__jstr(c, p->sentence_type));
		ns__set(c, o, "sentence_date", ns__jdate(c, s->date));
		ns__set(c, o, "term", term);
		ns__set(c, o, "length_days", len);
		ns__set(c, o, "status", ns__jstr(c, s->quashed ? "QUASHED" : "ACTIVE"));
		ns__set(c, o, "court", ns__jstr(c, p->court));
		ns__set(c, o, "crd", ns__jdate(c, s->has_rd ? s->rd.crd : NS_DATE_NONE));
		ns__set(c, o, "sled", ns__jdate(c, s->has_rd ? s->rd.sled : NS_DATE_NONE));
		ns__set(c, o, "ard", ns__jdate(c, s->has_rd ? s->rd.ard : NS_DATE_NONE));
		ns__set(c, o, "sed", ns__jdate(c, s->has_rd ? s->rd.sed : NS_DATE_NONE));
		ns__set(c, o, "tused", ns__jdate(c, s->has_rd ? s->rd.tused : NS_DATE_NONE));
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
