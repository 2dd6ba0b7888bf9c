/*
 * The fold's community area: community orders and suspended sentence orders
 * (sentence.imposed with sentence_type COMMUNITY_ORDER or SSO, kept by
 * sentence.c), their requirements, the appointments probation records
 * against them, and enforcement (docs/DOMAIN.md section 8.5).
 *
 * Handlers: appointment.outcome.recorded, requirement.ended,
 * enforcement.warning.issued, breach.initiated, breach.concluded.
 * View fields: community (one entry per community sentence, with its
 * requirements and compliance).
 *
 * An event naming a sentence that is not a community sentence is
 * SENTENCE_NOT_FOUND, a requirement the order does not have
 * REQUIREMENT_NOT_FOUND, and the conclusion of a breach never initiated
 * BREACH_NOT_FOUND. Progress and compliance are worked out at render from
 * the business dates of the events (appointment, warning, breach dates), so
 * they do not depend on the order in which the events were recorded.
 */
#include "fold_int.h"

#include <stdlib.h>
#include <string.h>

/* Contact outcomes that are a failure to comply (REFERENCE-2.md s. 2.3). */
static const char *const ns__failures[] = { "AFTC", "ATSH", "UAAB", "AFTA", "ATFI" };

/*
 * Contact outcomes where the person attended: a RAR day counts only for a
 * contact that is not unattended (community-api Contact.java).
 * [unconfirmed] which codes mean "attended": these are the ones whose Delius
 * description begins "Attended" or "Sent Home" (REFERENCE-2.md s. 2.3).
 */
static const char *const ns__attended[] = { "ATTC", "AFTC", "ATSS", "ATSH" };

/* Is @p v one of the @p n strings of @p list. */
static int ns__one_of(const char *v, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ns__eq(v, list[i]))
			return 1;
	return 0;
}

#define NS__ONE_OF(v, list) ns__one_of((v), (list), sizeof(list) / sizeof((list)[0]))

int ns__community_type(const char *type)
{
	return ns__eq(type, "COMMUNITY_ORDER") || ns__eq(type, "SSO");
}

const char *ns__community_status(const struct ns__fold *c, const struct ns__sentence *s)
{
	if (s->quashed)
		return "QUASHED";
	for (size_t i = 0; i < c->nbreaches; i++)
		if (ns__eq(c->breaches[i].sentence, s->p->sentence_id) &&
		    ns__eq(c->breaches[i].outcome, "ORDER_REVOKED"))
			return "REVOKED";
	/* supervision.terminated ends the orders imposed before it. */
	if (c->sup_end_ev > s->ev) {
		if (ns__eq(c->sup_end_reason, "EXPIRY"))
			return "COMPLETED";
		return ns__eq(c->sup_end_reason, "REVOKED") ? "REVOKED" : "TERMINATED";
	}
	return "ACTIVE";
}

/* The community sentence an event names, or NULL after a SENTENCE_NOT_FOUND conflict. */
static struct ns__sentence *ns__order(struct ns__fold *c, const char *id)
{
	struct ns__sentence *s = ns__sentence_find(c, id);
	const char *what = ns_type_name(c->f[c->cur].ev->type);

	if (s != NULL && ns__community_type(s->p->sentence_type))
		return s;
	if (s != NULL)
		ns__conflict(c, "SENTENCE_NOT_FOUND", s->ev, c->cur,
			     "%s names sentence %s, which is a %s sentence, not a community sentence", what,
			     ns__show(id), ns__show(s->p->sentence_type));
	else
		ns__conflict(c, "SENTENCE_NOT_FOUND", -1, c->cur,
			     "%s names sentence %s but no such sentence was imposed", what, ns__show(id));
	return NULL;
}

/* The requirement @p id of order @p s, or NULL after a REQUIREMENT_NOT_FOUND conflict. */
static const Nomsync__Requirement *ns__requirement(struct ns__fold *c, const struct ns__sentence *s,
						   const char *id)
{
	for (size_t i = 0; i < s->p->n_requirements; i++)
		if (s->p->requirements[i] != NULL && ns__eq(s->p->requirements[i]->requirement_id, id))
			return s->p->requirements[i];
	ns__conflict(c, "REQUIREMENT_NOT_FOUND", s->ev, c->cur,
		     "%s names requirement %s, which sentence %s does not have",
		     ns_type_name(c->f[c->cur].ev->type), ns__show(id), ns__show(s->p->sentence_id));
	return NULL;
}

/*
 * appointment.outcome.recorded: kept for the order's progress and
 * compliance; a later outcome for the same appointment id replaces the
 * earlier one. One naming an unknown requirement still counts for compliance.
 */
void ns__fold_appointment_outcome_recorded(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__AppointmentOutcomeRecorded *p = pl->appointment_outcome_recorded;
	struct ns__sentence *s = ns__order(c, p->sentence_id);
	struct ns__appt *a;

	if (s == NULL)
		return;
	if (ns__nz(p->requirement_id) != NULL)
		(void)ns__requirement(c, s, p->requirement_id);
	for (size_t i = 0; i < c->nappts && ns__nz(p->appointment_id) != NULL; i++)
		if (ns__eq(c->appts[i].p->sentence_id, p->sentence_id) &&
		    ns__eq(c->appts[i].p->appointment_id, p->appointment_id))
			c->appts[i].replaced = 1;
	if ((a = ns__grow(c, c->appts, &c->capappts, c->nappts, sizeof(*a))) == NULL)
		return;
	c->appts = a;
	a += c->nappts++;
	a->p = p;
	a->date = ns__date(p->appointment_date);
	a->ev = c->cur;
	a->replaced = 0;
	ns__prov(c, "community");
}

/* requirement.ended: the requirement's status becomes the reason. */
void ns__fold_requirement_ended(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__RequirementEnded *p = pl->requirement_ended;
	struct ns__sentence *s = ns__order(c, p->sentence_id);
	struct ns__reqend *r;

	if (s == NULL || ns__requirement(c, s, p->requirement_id) == NULL)
		return;
	if ((r = ns__grow(c, c->reqends, &c->capreqends, c->nreqends, sizeof(*r))) == NULL)
		return;
	c->reqends = r;
	r += c->nreqends++;
	r->p = p;
	r->ev = c->cur;
	ns__prov(c, "community");
}

/* enforcement.warning.issued. */
void ns__fold_enforcement_warning_issued(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__EnforcementWarningIssued *p = pl->enforcement_warning_issued;
	struct ns__warning *w;

	if (ns__order(c, p->sentence_id) == NULL)
		return;
	if ((w = ns__grow(c, c->warns, &c->capwarns, c->nwarns, sizeof(*w))) == NULL)
		return;
	c->warns = w;
	w += c->nwarns++;
	w->sentence = p->sentence_id;
	w->date = ns__date(p->warning_date);
	w->ev = c->cur;
	ns__prov(c, "community");
}

/* The entry of a breach id, added if new (ev -1 until initiated). */
static struct ns__breach *ns__breach(struct ns__fold *c, const char *id)
{
	static const struct ns__breach init = { .date = NS_DATE_NONE, .concluded = NS_DATE_NONE, .ev = -1 };

	return ns__keyed(c, &c->breaches, &c->nbreaches, &c->capbreaches, sizeof(init), &init, id);
}

/* breach.initiated: the first initiation of a breach id is kept. */
void ns__fold_breach_initiated(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__BreachInitiated *p = pl->breach_initiated;
	struct ns__breach *b;

	if (ns__order(c, p->sentence_id) == NULL || (b = ns__breach(c, p->breach_id)) == NULL || b->ev >= 0)
		return;
	b->sentence = p->sentence_id;
	b->reason = p->reason;
	b->date = ns__date(p->breach_date);
	b->ev = c->cur;
	ns__prov(c, "community");
}

/*
 * breach.concluded: the court's outcome; the breach ends on its conclusion
 * date (the event's day if none is given). ORDER_REVOKED ends the order, and
 * the legal status falls back to what remains.
 */
void ns__fold_breach_concluded(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__BreachConcluded *p = pl->breach_concluded;
	struct ns__breach *b = NULL;
	int32_t date = ns__date(p->conclusion_date);

	for (size_t i = 0; i < c->nbreaches && b == NULL; i++)
		if (ns__eq(c->breaches[i].id, p->breach_id))
			b = &c->breaches[i];
	if (b == NULL) {
		ns__conflict(c, "BREACH_NOT_FOUND", -1, c->cur,
			     "breach %s concluded (%s) but no such breach was initiated", ns__show(p->breach_id),
			     ns__show(p->outcome));
		return;
	}
	b->outcome = p->outcome;
	b->concluded = date != NS_DATE_NONE ? date : c->today;
	ns__prov(c, "community");
	if (ns__eq(p->outcome, "ORDER_REVOKED"))
		ns__legal_recompute(c);
}

/* Order day numbers. */
static int ns__cmp_day(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

	return (x > y) - (x < y);
}

/*
 * Does appointment @p a count for requirement @p r (of category @p cat) of
 * order @p s: it names @p r, or names none and @p r is the order's first
 * requirement of that category.
 */
static int ns__counts_for(const struct ns__appt *a, const Nomsync__SentenceImposed *s,
			  const Nomsync__Requirement *r, const char *cat)
{
	if (a->replaced || !ns__eq(a->p->sentence_id, s->sentence_id))
		return 0;
	if (ns__nz(a->p->requirement_id) != NULL)
		return ns__eq(a->p->requirement_id, r->requirement_id);
	for (size_t i = 0; i < s->n_requirements; i++)
		if (s->requirements[i] != NULL && ns__eq(s->requirements[i]->category, cat))
			return s->requirements[i] == r;
	return 0;
}

/*
 * Progress of one requirement into @p o: unpaid work as hours credited (Delius
 * keeps minutes: whole hours in "completed", the minutes in
 * "completed_minutes"), RAR as distinct days with an attended RAR contact
 * (several on one day count as one day); other categories have no count.
 */
static void ns__progress(struct ns__fold *c, json_t *o, const Nomsync__SentenceImposed *s,
			 const Nomsync__Requirement *r)
{
	int upw = ns__eq(r->category, "UNPAID_WORK"), rar = ns__eq(r->category, "RAR");
	long long minutes = 0;
	int32_t *days = NULL;
	size_t ndays = 0, distinct = 0;

	if (rar && c->nappts > 0 && (days = malloc(c->nappts * sizeof(*days))) == NULL) {
		c->rc = NS_ENOMEM;
		return;
	}
	for (size_t i = 0; i < c->nappts && (upw || rar); i++) {
		const struct ns__appt *a = &c->appts[i];
		if (!ns__counts_for(a, s, r, r->category))
			continue;
		if (upw)
			minutes += a->p->minutes_credited;
		else if (a->p->rar && a->date != NS_DATE_NONE && NS__ONE_OF(a->p->outcome, ns__attended))
			days[ndays++] = a->date;
	}
	if (ndays > 1)
		qsort(days, ndays, sizeof(*days), ns__cmp_day);
	for (size_t i = 0; i < ndays; i++)
		distinct += i == 0 || days[i] != days[i - 1];
	free(days);
	if (upw) {
		ns__set(c, o, "completed", ns__jint(c, minutes / 60));
		ns__set(c, o, "completed_minutes", ns__jint(c, minutes));
	} else {
		ns__set(c, o, "completed", rar ? ns__jint(c, (json_int_t)distinct) : json_null());
	}
}

/* The "requirements" of order @p s with status @p status. */
static json_t *ns__render_requirements(struct ns__fold *c, const struct ns__sentence *s,
				       const char *status)
{
	json_t *arr = ns__arr(c);

	/* An order that ended takes its open requirements with it. */
	if (strcmp(status, "COMPLETED") == 0)
		status = "TERMINATED";
	for (size_t i = 0; i < s->p->n_requirements; i++) {
		const Nomsync__Requirement *r = s->p->requirements[i];
		const Nomsync__RequirementEnded *end = NULL;
		json_t *o;

		if (r == NULL)
			continue;
		for (size_t k = 0; k < c->nreqends; k++)
			if (ns__eq(c->reqends[k].p->sentence_id, s->p->sentence_id) &&
			    ns__eq(c->reqends[k].p->requirement_id, r->requirement_id))
				end = c->reqends[k].p; /* the last in fold order */
		o = ns__obj(c);
		ns__set(c, o, "requirement_id", ns__jstr(c, r->requirement_id));
		ns__set(c, o, "category", ns__jstr(c, r->category));
		ns__set(c, o, "required", ns__jint(c, r->length));
		ns__set(c, o, "unit", ns__jstr(c, r->unit));
		ns__progress(c, o, s->p, r);
		ns__set(c, o, "status", ns__jstr(c, end ? end->reason : status));
		ns__set(c, o, "end_date", ns__jdate(c, end ? ns__date(end->end_date) : NS_DATE_NONE));
		ns__push(c, arr, o);
	}
	return arr;
}

/*
 * Is enforcement due on order @p id: a failure to comply within 12 months
 * after an earlier warning, with no breach initiated on or after the day of
 * that failure. Criminal Justice Act 2003 Sch. 8 and 12: a second failure
 * within 12 months of a warning must go back to court (REFERENCE-2.md s. 8,
 * [unconfirmed]: background, not from a source read).
 */
static int ns__enforcement_due(const struct ns__fold *c, const char *id)
{
	for (size_t i = 0; i < c->nappts; i++) {
		const struct ns__appt *a = &c->appts[i];
		int warned = 0, breached = 0;

		if (a->replaced || a->date == NS_DATE_NONE || !ns__eq(a->p->sentence_id, id) ||
		    !NS__ONE_OF(a->p->outcome, ns__failures))
			continue;
		for (size_t k = 0; k < c->nwarns && !warned; k++)
			warned = ns__eq(c->warns[k].sentence, id) && c->warns[k].date < a->date &&
				 a->date <= ns_date_add(c->warns[k].date, 0, 12, 0);
		for (size_t k = 0; k < c->nbreaches && !breached; k++)
			breached = c->breaches[k].ev >= 0 && ns__eq(c->breaches[k].sentence, id) &&
				   c->breaches[k].date >= a->date;
		if (warned && !breached)
			return 1;
	}
	return 0;
}

/*
 * The "compliance" of order @p id: failures to comply since the last breach
 * ended (Delius failureToComplyCount), warnings, breaches (in fold order) and
 * whether one is open, and whether enforcement is due while the order is active.
 */
static json_t *ns__render_compliance(struct ns__fold *c, const char *id, const char *status)
{
	json_t *o = ns__obj(c), *breaches = ns__arr(c);
	int32_t breach_end = NS_DATE_NONE, last_warning = NS_DATE_NONE;
	int failures = 0, warnings = 0, open = 0;

	for (size_t i = 0; i < c->nbreaches; i++) {
		const struct ns__breach *b = &c->breaches[i];
		json_t *x;
		if (b->ev < 0 || !ns__eq(b->sentence, id))
			continue;
		if (b->outcome == NULL)
			open = 1;
		else if (breach_end == NS_DATE_NONE || b->concluded > breach_end)
			breach_end = b->concluded;
		x = ns__obj(c);
		ns__set(c, x, "breach_id", ns__jstr(c, b->id));
		ns__set(c, x, "breach_date", ns__jdate(c, b->date));
		ns__set(c, x, "reason", ns__jstr(c, b->reason));
		ns__set(c, x, "outcome", ns__jstr(c, b->outcome));
		ns__set(c, x, "conclusion_date", ns__jdate(c, b->concluded));
		ns__push(c, breaches, x);
	}
	for (size_t i = 0; i < c->nappts; i++) {
		const struct ns__appt *a = &c->appts[i];
		if (!a->replaced && ns__eq(a->p->sentence_id, id) && NS__ONE_OF(a->p->outcome, ns__failures) &&
		    (breach_end == NS_DATE_NONE || a->date > breach_end))
			failures++;
	}
	for (size_t i = 0; i < c->nwarns; i++) {
		if (!ns__eq(c->warns[i].sentence, id))
			continue;
		warnings++;
		if (last_warning == NS_DATE_NONE || c->warns[i].date > last_warning)
			last_warning = c->warns[i].date;
	}
	ns__set(c, o, "failures_to_comply", ns__jint(c, failures));
	ns__set(c, o, "warnings", ns__jint(c, warnings));
	ns__set(c, o, "last_warning_date", ns__jdate(c, last_warning));
	ns__set(c, o, "in_breach", json_boolean(open));
	ns__set(c, o, "enforcement_due",
		json_boolean(strcmp(status, "ACTIVE") == 0 && ns__enforcement_due(c, id)));
	ns__set(c, o, "breaches", breaches);
	return o;
}

void ns__render_community(struct ns__fold *c, json_t *v)
{
	json_t *arr = ns__arr(c);

	for (size_t i = 0; i < c->nsent; i++) {
		const struct ns__sentence *s = &c->sent[i];
		const Nomsync__SentenceImposed *p = s->p;
		const char *status;
		int32_t end = NS_DATE_NONE;
		json_t *o;

		if (!ns__community_type(p->sentence_type))
			continue;
		status = ns__community_status(c, s);
		/* The order ends the day before sentence date + term (an SSO's operational period). */
		if (ns__term_ok(s)) {
			int32_t len = ns_term_days(s->date, (int)p->term_years, (int)p->term_months,
						   (int)p->term_days);
			if (len > 0)
				end = ns__clamp_day((int64_t)s->date + len - 1);
		}
		o = ns__obj(c);
		ns__set(c, o, "sentence_id", ns__jstr(c, p->sentence_id));
		ns__set(c, o, "sentence_type", ns__jstr(c, p->sentence_type));
		ns__set(c, o, "start_date", ns__jdate(c, s->date));
		ns__set(c, o, "end_date", ns__jdate(c, end));
		ns__set(c, o, "status", ns__jstr(c, status));
		if (ns__eq(p->sentence_type, "SSO")) {
			json_t *t = ns__obj(c);
			ns__set(c, t, "months", ns__jint(c, p->suspended_months));
			ns__set(c, t, "days", ns__jint(c, p->suspended_days));
			ns__set(c, o, "suspended_term", t);
		}
		ns__set(c, o, "requirements", ns__render_requirements(c, s, status));
		ns__set(c, o, "compliance", ns__render_compliance(c, p->sentence_id, status));
		ns__set(c, o, "event", ns__jstr(c, c->f[s->ev].hex));
		ns__push(c, arr, o);
	}
	ns__set(c, v, "community", arr);
}
