/*
 * The fold's custody area: where the person is held.
 *
 * Handlers: prisoner.received, prisoner.released, prisoner.transferred
 * (recall.returned_to_custody, in licence.c, moves custody here too).
 * View fields: status, in_out, prison, last_prison, reception_date,
 * movements, last_movement.
 *
 * A reception while already in custody, a release while not in custody or
 * from another prison, and a transfer from elsewhere are conflicts; the
 * event is still applied.
 */
#include "fold_int.h"

#include <string.h>

static const char *const ns__status_names[] = { NULL, "ACTIVE IN", "ACTIVE OUT", "ACTIVE TRN",
						"INACTIVE OUT" };
static const char *const ns__inout_names[] = { NULL, "IN", "OUT", "TRN", "OUT" };

int ns__active(int custody)
{
	return custody == NS__IN || custody == NS__OUT || custody == NS__TRN;
}

/* Custody status for a description. */
static const char *ns__status_text(int custody)
{
	return custody == NS__NEVER ? "never in custody" : ns__status_names[custody];
}

/*
 * @p prison is the current establishment while active, and the last
 * establishment either way. A handover override lapses when custody starts
 * or ends.
 */
void ns__custody(struct ns__fold *c, int state, const char *prison)
{
	if (ns__active(state) != ns__active(c->custody))
		c->handover = NULL;
	prison = ns__nz(prison);
	if (prison != NULL)
		c->last_prison = prison;
	c->custody = state;
	c->prison = ns__active(state) ? (prison ? prison : c->prison) : NULL;
	c->cust_ev = c->cur;
	ns__prov(c, "status");
	ns__prov(c, "prison");
}

void ns__movement(struct ns__fold *c, const char *type, const char *reason, int32_t date,
		  const char *from, const char *to, const char *at)
{
	struct ns__move *m;

	if ((m = ns__grow(c, c->moves, &c->capmoves, c->nmoves, sizeof(*m))) == NULL)
		return;
	c->moves = m;
	m += c->nmoves++;
	m->type = type;
	m->reason = reason;
	m->date = date;
	m->from = from;
	m->to = to;
	m->at = at;
	m->ev = c->cur;
}

/* prisoner.received. */
void ns__fold_prisoner_received(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__PrisonerReceived *p = pl->prisoner_received;
	const char *reason = ns__nz(p->reason) ? p->reason : "NEW_ADMISSION";
	int court = strcmp(reason, "RETURN_FROM_COURT") == 0;
	int tap = strcmp(reason, "TEMPORARY_ABSENCE_RETURN") == 0;

	if (court || tap) {
		if (c->custody != NS__OUT)
			ns__conflict(c, "RETURN_NOT_OUT", c->cust_ev, c->cur,
				     "received at %s (%s) but the status was %s%s%s", ns__show(p->prison),
				     reason, ns__status_text(c->custody), c->prison ? " at " : "",
				     c->prison ? c->prison : "");
	} else if (c->custody == NS__IN ||
		   (c->custody == NS__TRN && strcmp(reason, "TRANSFERRED") != 0)) {
		ns__conflict(c, "RECEIVED_WHILE_IN_CUSTODY", c->cust_ev, c->cur,
			     "received at %s (%s) while %s at %s with no release or transfer between",
			     ns__show(p->prison), reason, ns__status_names[c->custody],
			     ns__show(c->prison));
	}
	ns__custody(c, NS__IN, p->prison);
	ns__movement(c, court ? "CRT" : tap ? "TAP" : "ADM", reason, c->today, NULL, p->prison,
		     p->prison);
	if (strcmp(reason, "NEW_ADMISSION") == 0 || strcmp(reason, "READMISSION") == 0 ||
	    strcmp(reason, "RECALL") == 0)
		c->reception = c->today;
}

/* prisoner.released: to the community, to court, on temporary absence, or in transit. */
void ns__fold_prisoner_released(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__PrisonerReleased *p = pl->prisoner_released;
	const char *reason = ns__nz(p->reason) ? p->reason : "RELEASED";
	const char *type;
	int state;

	if (c->custody != NS__IN)
		ns__conflict(c, "RELEASED_NOT_IN_CUSTODY", c->cust_ev, c->cur,
			     "released from %s (%s) but the status was %s", ns__show(p->prison), reason,
			     ns__status_text(c->custody));
	else if (!ns__eq(c->prison, p->prison))
		ns__conflict(c, "RELEASED_FROM_OTHER_PRISON", c->cust_ev, c->cur,
			     "released from %s (%s) but held at %s", ns__show(p->prison), reason,
			     ns__show(c->prison));
	if (strcmp(reason, "SENT_TO_COURT") == 0) {
		state = NS__OUT;
		type = "CRT";
	} else if (strcmp(reason, "TEMPORARY_ABSENCE_RELEASE") == 0) {
		state = NS__OUT;
		type = "TAP";
	} else if (strcmp(reason, "TRANSFERRED") == 0) {
		state = NS__TRN;
		type = "TRN";
	} else {
		state = NS__INACTIVE;
		type = "REL";
	}
	ns__custody(c, state, p->prison);
	ns__movement(c, type, reason, c->today, p->prison, NULL, p->prison);
}

/* prisoner.transferred: from one establishment straight into another. */
void ns__fold_prisoner_transferred(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__PrisonerTransferred *p = pl->prisoner_transferred;

	if (c->custody != NS__IN && c->custody != NS__TRN)
		ns__conflict(c, "TRANSFER_NOT_IN_CUSTODY", c->cust_ev, c->cur,
			     "transferred from %s to %s but the status was %s", ns__show(p->from_prison),
			     ns__show(p->to_prison), ns__status_text(c->custody));
	else if (!ns__eq(c->prison, p->from_prison))
		ns__conflict(c, "TRANSFER_FROM_OTHER_PRISON", c->cust_ev, c->cur,
			     "transferred from %s to %s but held at %s", ns__show(p->from_prison),
			     ns__show(p->to_prison), ns__show(c->prison));
	ns__custody(c, NS__IN, p->to_prison);
	ns__movement(c, "TRN", ns__nz(p->reason), c->today, p->from_prison, p->to_prison,
		     p->to_prison);
}

/* The type, reason and date of a movement into @p o. */
static void ns__render_move(struct ns__fold *c, json_t *o, const struct ns__move *mv)
{
	ns__set(c, o, "type", ns__jstr(c, mv->type));
	ns__set(c, o, "reason", ns__jstr(c, mv->reason));
	ns__set(c, o, "date", ns__jdate(c, mv->date));
}

void ns__render_custody(struct ns__fold *c, json_t *v)
{
	json_t *arr = ns__arr(c), *last = json_null();

	ns__set(c, v, "status", ns__jstr(c, ns__status_names[c->custody]));
	ns__set(c, v, "in_out", ns__jstr(c, ns__inout_names[c->custody]));
	ns__set(c, v, "prison", ns__jstr(c, ns__active(c->custody) ? c->prison : NULL));
	ns__set(c, v, "last_prison", ns__jstr(c, c->last_prison));
	ns__set(c, v, "reception_date", ns__jdate(c, c->reception));
	for (size_t i = 0; i < c->nmoves; i++) {
		const struct ns__move *mv = &c->moves[i];
		json_t *m = ns__obj(c);

		ns__render_move(c, m, mv);
		ns__set(c, m, "from", ns__jstr(c, mv->from));
		ns__set(c, m, "to", ns__jstr(c, mv->to));
		ns__set(c, m, "event", ns__jstr(c, c->f[mv->ev].hex));
		ns__push(c, arr, m);
	}
	if (c->nmoves > 0) {
		const struct ns__move *mv = &c->moves[c->nmoves - 1];

		last = ns__obj(c);
		ns__render_move(c, last, mv);
		ns__set(c, last, "prison", ns__jstr(c, mv->at));
	}
	ns__set(c, v, "last_movement", last);
	ns__set(c, v, "movements", arr);
}
