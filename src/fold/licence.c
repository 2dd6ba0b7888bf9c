/*
 * The fold's licence area: release on licence, recall, supervision in the
 * community, and accredited programmes.
 *
 * Handlers: licence.activated, licence.ended, recall.issued,
 * recall.returned_to_custody, supervision.terminated, programme.referred,
 * programme.completed.
 * View fields: licence, probation_status, recall, recall_type, programmes.
 */
#include "fold_int.h"

/* licence.activated: the current licence. */
void ns__fold_licence_activated(struct ns__fold *c, const Nomsync__Payload *pl)
{
	c->lic = pl->licence_activated;
	c->lic_status = "ACTIVE";
	c->lic_ev = c->cur;
	c->probation = "CURRENT";
	ns__prov(c, "licence");
}

/* licence.ended: only the current licence can end. */
void ns__fold_licence_ended(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__LicenceEnded *p = pl->licence_ended;

	if (c->lic == NULL || (ns__nz(p->licence_id) && !ns__eq(p->licence_id, c->lic->licence_id))) {
		ns__conflict(c, "LICENCE_NOT_FOUND", c->lic ? c->lic_ev : -1, c->cur,
			     "licence %s ended but the current licence is %s", ns__show(p->licence_id),
			     c->lic ? ns__show(c->lic->licence_id) : "(none)");
		return;
	}
	c->lic_status = "ENDED";
	ns__prov(c, "licence");
}

/* recall.issued: the licence is revoked. */
void ns__fold_recall_issued(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__RecallIssued *p = pl->recall_issued;

	if (c->custody == NS__IN)
		ns__conflict(c, "RECALL_WHILE_IN_CUSTODY", c->cust_ev, c->cur,
			     "recall %s issued while ACTIVE IN at %s", ns__show(p->recall_id),
			     ns__show(c->prison));
	c->recall = 1;
	c->recall_open = 1;
	c->recall_ev = c->cur;
	c->recall_type = ns__nz(p->recall_type);
	ns__prov(c, "recall");
	ns__legal(c, "RECALL");
	if (c->lic != NULL) {
		c->lic_status = "REVOKED";
		ns__prov(c, "licence");
	}
}

/* recall.returned_to_custody: closes the open recall; received unless already in. */
void ns__fold_recall_returned_to_custody(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__RecallReturnedToCustody *p = pl->recall_returned_to_custody;
	int32_t date = ns__date(p->return_date);

	if (date == NS_DATE_NONE)
		date = c->today;
	if (!c->recall_open)
		ns__conflict(c, "RETURN_NOT_RECALLED", c->recall_ev, c->cur,
			     "returned to custody at %s on recall but no recall was open",
			     ns__show(p->prison));
	c->recall_open = 0;
	c->recall_ev = c->cur;
	c->adj.ual = ns__sat_add(c->adj.ual, p->ual_days);
	ns__legal(c, "RECALL");
	if (c->custody == NS__IN && ns__eq(c->prison, p->prison))
		return; /* already received on recall: nothing moves */
	if (c->custody == NS__IN)
		ns__conflict(c, "RECEIVED_WHILE_IN_CUSTODY", c->cust_ev, c->cur,
			     "returned to custody at %s on recall while ACTIVE IN at %s",
			     ns__show(p->prison), ns__show(c->prison));
	ns__custody(c, NS__IN, p->prison);
	ns__movement(c, "ADM", "RECALL", date, NULL, p->prison, p->prison);
	c->reception = date;
}

/*
 * supervision.terminated: ends the licence and the community sentences
 * imposed before it (community.c reads sup_end_*); the person was known to
 * probation.
 */
void ns__fold_supervision_terminated(struct ns__fold *c, const Nomsync__Payload *pl)
{
	c->sup_end_ev = c->cur;
	c->sup_end_reason = pl->supervision_terminated->reason;
	if (c->lic != NULL) {
		c->lic_status = "ENDED";
		ns__prov(c, "licence");
	}
	c->probation = "PREVIOUSLY_KNOWN";
}

/* The entry of a programme code, added if new. */
static struct ns__programme *ns__programme(struct ns__fold *c, const char *code)
{
	static const struct ns__programme init = { .referred = NS_DATE_NONE,
						   .completed = NS_DATE_NONE };

	return ns__keyed(c, &c->prog, &c->nprog, &c->capprog, sizeof(init), &init, code);
}

/* programme.referred: one entry per programme code. */
void ns__fold_programme_referred(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__ProgrammeReferred *p = pl->programme_referred;
	struct ns__programme *pg;

	if ((pg = ns__programme(c, p->programme)) != NULL) {
		pg->status = "REFERRED";
		if (ns__nz(p->setting))
			pg->setting = p->setting;
		pg->referred = ns__date(p->referral_date);
		pg->completed = NS_DATE_NONE;
		ns__prov(c, "programmes");
	}
}

/* programme.completed: with its outcome, COMPLETED if none is given. */
void ns__fold_programme_completed(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__ProgrammeCompleted *p = pl->programme_completed;
	struct ns__programme *pg;

	if ((pg = ns__programme(c, p->programme)) != NULL) {
		pg->status = ns__nz(p->outcome) ? p->outcome : "COMPLETED";
		if (ns__nz(p->setting))
			pg->setting = p->setting;
		pg->completed = ns__date(p->completion_date);
		ns__prov(c, "programmes");
	}
}

/* One entry of "programmes". */
static void ns__render_programme(struct ns__fold *c, json_t *o, const void *entry)
{
	const struct ns__programme *p = entry;

	ns__set(c, o, "programme", ns__jstr(c, p->code));
	ns__set(c, o, "setting", ns__jstr(c, p->setting));
	ns__set(c, o, "status", ns__jstr(c, p->status));
	ns__set(c, o, "referral_date", ns__jdate(c, p->referred));
	ns__set(c, o, "completion_date", ns__jdate(c, p->completed));
}

void ns__render_licence(struct ns__fold *c, json_t *v)
{
	json_t *lic = json_null();

	if (c->lic != NULL) {
		json_t *conds = ns__arr(c);
		lic = ns__obj(c);
		for (size_t i = 0; i < c->lic->n_conditions; i++)
			ns__push(c, conds, ns__jstr(c, c->lic->conditions[i]));
		ns__set(c, lic, "licence_id", ns__jstr(c, c->lic->licence_id));
		ns__set(c, lic, "licence_type", ns__jstr(c, c->lic->licence_type));
		ns__set(c, lic, "start_date", ns__jdate(c, ns__date(c->lic->start_date)));
		ns__set(c, lic, "expiry_date", ns__jdate(c, ns__date(c->lic->expiry_date)));
		ns__set(c, lic, "conditions", conds);
		ns__set(c, lic, "status", ns__jstr(c, c->lic_status));
	}
	ns__set(c, v, "licence", lic);
	ns__set(c, v, "probation_status", ns__jstr(c, c->probation));
	ns__set(c, v, "recall", json_boolean(c->recall));
	ns__set(c, v, "recall_type", ns__jstr(c, c->recall_type));
	ns__set(c, v, "programmes",
		ns__render_keyed(c, c->prog, c->nprog, sizeof(*c->prog), ns__render_programme));
}
