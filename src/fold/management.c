/*
 * The fold's management area: who manages the person, and the alerts that
 * they raise (registrations are in risk.c).
 *
 * Handlers: manager.pom.allocated, manager.com.allocated,
 * manager.handover.changed, alert.raised, alert.closed.
 * View fields: managers (pom, com, responsible, handover_date), alerts.
 */
#include "fold_int.h"

/* manager.pom.allocated: the prison offender manager. */
void ns__fold_manager_pom_allocated(struct ns__fold *c, const Nomsync__Payload *pl)
{
	c->pom = pl->manager_pom_allocated;
	ns__prov(c, "pom");
}

/* manager.com.allocated: the community offender manager; probation is current. */
void ns__fold_manager_com_allocated(struct ns__fold *c, const Nomsync__Payload *pl)
{
	c->com = pl->manager_com_allocated;
	c->probation = "CURRENT";
	ns__prov(c, "com");
}

/* manager.handover.changed: who is responsible, until custody starts or ends. */
void ns__fold_manager_handover_changed(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__ManagerHandoverChanged *p = pl->manager_handover_changed;

	c->handover = ns__nz(p->responsible);
	if (ns__date(p->handover_date) != NS_DATE_NONE)
		c->handover_date = ns__date(p->handover_date);
}

/* The entry of an alert code, added if new. */
static struct ns__alert *ns__alert(struct ns__fold *c, const char *code)
{
	static const struct ns__alert init = { .from = NS_DATE_NONE, .to = NS_DATE_NONE };

	return ns__keyed(c, &c->alerts, &c->nalerts, &c->capalerts, sizeof(init), &init, code);
}

/* alert.raised: one entry per alert code. */
void ns__fold_alert_raised(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__AlertRaised *p = pl->alert_raised;
	struct ns__alert *al;

	if ((al = ns__alert(c, p->alert_code)) != NULL) {
		al->type = p->alert_type;
		al->from = ns__date(p->from_date);
		al->to = NS_DATE_NONE;
		al->active = 1;
		ns__prov(c, "alerts");
	}
}

/* alert.closed. */
void ns__fold_alert_closed(struct ns__fold *c, const Nomsync__Payload *pl)
{
	struct ns__alert *al;

	if ((al = ns__alert(c, pl->alert_closed->alert_code)) != NULL) {
		al->to = ns__date(pl->alert_closed->to_date);
		al->active = 0;
		ns__prov(c, "alerts");
	}
}

/* One entry of "alerts". */
static void ns__render_alert(struct ns__fold *c, json_t *o, const void *entry)
{
	const struct ns__alert *a = entry;

	ns__set(c, o, "alert_type", ns__jstr(c, a->type));
	ns__set(c, o, "alert_code", ns__jstr(c, a->code));
	ns__set(c, o, "from_date", ns__jdate(c, a->from));
	ns__set(c, o, "to_date", ns__jdate(c, a->to));
	ns__set(c, o, "active", json_boolean(a->active));
}

void ns__render_management(struct ns__fold *c, json_t *v)
{
	json_t *m = ns__obj(c), *pom = json_null(), *com = json_null();
	const char *resp = c->handover;

	if (c->pom != NULL) {
		pom = ns__obj(c);
		ns__set(c, pom, "prison", ns__jstr(c, c->pom->prison));
		ns__set(c, pom, "staff", ns__jstr(c, c->pom->staff));
		ns__set(c, pom, "name", ns__jstr(c, c->pom->name));
	}
	if (c->com != NULL) {
		com = ns__obj(c);
		ns__set(c, com, "region", ns__jstr(c, c->com->region));
		ns__set(c, com, "pdu", ns__jstr(c, c->com->pdu));
		ns__set(c, com, "team", ns__jstr(c, c->com->team));
		ns__set(c, com, "staff", ns__jstr(c, c->com->staff));
		ns__set(c, com, "name", ns__jstr(c, c->com->name));
	}
	if (resp == NULL)
		resp = ns__active(c->custody) ? "POM" : c->com != NULL ? "COM" : NULL;
	ns__set(c, m, "pom", pom);
	ns__set(c, m, "com", com);
	ns__set(c, m, "responsible", ns__jstr(c, resp));
	ns__set(c, m, "handover_date", ns__jdate(c, c->handover_date));
	ns__set(c, v, "managers", m);

	ns__set(c, v, "alerts",
		ns__render_keyed(c, c->alerts, c->nalerts, sizeof(*c->alerts), ns__render_alert));
}
