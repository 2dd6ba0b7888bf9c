/*
 * The fold's risk area: probation registrations (flags), and what the view
 * derives from them and from tier calculations (docs/DOMAIN.md s. 9.1,
 * REFERENCE-2 s. 3).
 *
 * Handlers: registration.added, registration.removed, tier.calculated.
 * View fields: registrations, risk (rosh, mappa, tier, tier_calculation).
 *
 * RoSH is a Delius registration of one of the types RLRH, RMRH, RHRH, RVHR
 * (LOW, MEDIUM, HIGH, VERY_HIGH); MAPPA is a registration of type MAPP with
 * a category and a level. A registration.removed ends either. When several
 * RoSH registrations are active at once the view shows the one added last
 * in fold order and raises ROSH_DISAGREE naming each other one: Delius keeps
 * one RoSH level per case [unconfirmed: background, not in the research],
 * so two at once mean one site did not see the other's change. The tier is
 * the calculation with the latest calculation_date, the later in fold order
 * on the same date.
 */
#include "fold_int.h"

#include <string.h>

/* The closed lists of src/event/catalogue.def; this file reads the mappa_registers and rosh_* ones. */
#define NS_LIST(name, ...) static const char *const ns__list_##name[] __attribute__((unused)) = { __VA_ARGS__, NULL };
#include "event/catalogue.def"

/* Position of @p s in a NULL-terminated list, or -1. */
static int ns__index(const char *const *list, const char *s)
{
	for (int i = 0; s != NULL && list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return i;
	return -1;
}

/* The RoSH level a register type stands for, or NULL if it is not a RoSH register. */
static const char *ns__rosh_level(const char *type)
{
	int i = ns__index(ns__list_rosh_registers, type);

	return i < 0 ? NULL : ns__list_rosh_levels[i];
}

/* Does a register type concern the risk view (RoSH or MAPPA). */
static int ns__risk_register(const char *type)
{
	return ns__rosh_level(type) != NULL || ns__index(ns__list_mappa_registers, type) >= 0;
}

/* The entry of a register type, added if new. */
static struct ns__registration *ns__registration(struct ns__fold *c, const char *type)
{
	static const struct ns__registration init = { .date = NS_DATE_NONE, .ev = -1 };

	return ns__keyed(c, &c->regs, &c->nregs, &c->capregs, sizeof(init), &init, type);
}

/* registration.added: one entry per register type; a MAPPA one keeps its category and level. */
void ns__fold_registration_added(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__RegistrationAdded *p = pl->registration_added;
	struct ns__registration *rg;

	if ((rg = ns__registration(c, p->register_type)) == NULL)
		return;
	rg->date = ns__date(p->registration_date);
	rg->active = 1;
	rg->category = ns__nz(p->category);
	rg->level = ns__nz(p->level);
	rg->ev = c->cur;
	if (ns__risk_register(p->register_type))
		ns__prov(c, "risk");
}

/* registration.removed: the registration, and the RoSH level or MAPPA status it gave, end. */
void ns__fold_registration_removed(struct ns__fold *c, const Nomsync__Payload *pl)
{
	struct ns__registration *rg;

	if ((rg = ns__registration(c, pl->registration_removed->register_type)) == NULL)
		return;
	rg->active = 0;
	if (ns__risk_register(rg->type))
		ns__prov(c, "risk");
}

/* tier.calculated: kept unless an earlier-dated calculation than the one held. */
void ns__fold_tier_calculated(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__TierCalculated *p = pl->tier_calculated;
	int32_t d = ns__date(p->calculation_date);

	if (c->tier != NULL && d < c->tier_date)
		return;
	c->tier = p;
	c->tier_date = d;
	ns__prov(c, "risk");
}

/* One entry of "registrations". */
static void ns__render_registration(struct ns__fold *c, json_t *o, const void *entry)
{
	const struct ns__registration *r = entry;

	ns__set(c, o, "register_type", ns__jstr(c, r->type));
	ns__set(c, o, "registration_date", ns__jdate(c, r->date));
	ns__set(c, o, "active", json_boolean(r->active));
}

/*
 * The active RoSH registration added last in fold order, or NULL; each other
 * active one is a ROSH_DISAGREE conflict (registrations sorted by type, so
 * the conflicts come in one order).
 */
static const struct ns__registration *ns__rosh(struct ns__fold *c)
{
	const struct ns__registration *best = NULL;

	for (size_t i = 0; i < c->nregs; i++)
		if (c->regs[i].active && ns__rosh_level(c->regs[i].type) != NULL &&
		    (best == NULL || c->regs[i].ev > best->ev))
			best = &c->regs[i];
	for (size_t i = 0; best != NULL && i < c->nregs; i++) {
		const struct ns__registration *r = &c->regs[i];

		if (r == best || !r->active || ns__rosh_level(r->type) == NULL)
			continue;
		ns__conflict(c, "ROSH_DISAGREE", r->ev, best->ev,
			     "RoSH registrations %s (%s, from %s) and %s (%s, from %s) are both active; "
			     "the view shows %s, added later",
			     r->type, ns__rosh_level(r->type), c->f[r->ev].ev->site, best->type,
			     ns__rosh_level(best->type), c->f[best->ev].ev->site, ns__rosh_level(best->type));
	}
	return best;
}

void ns__render_risk(struct ns__fold *c, json_t *v)
{
	const struct ns__registration *rosh;
	json_t *risk = ns__obj(c), *mappa = json_null(), *calc = json_null();

	/* Sorts c->regs by register type. */
	ns__set(c, v, "registrations", ns__render_keyed(c, c->regs, c->nregs, sizeof(*c->regs),
							 ns__render_registration));
	rosh = ns__rosh(c);
	for (size_t i = 0; i < c->nregs; i++)
		if (c->regs[i].active && ns__index(ns__list_mappa_registers, c->regs[i].type) >= 0) {
			mappa = ns__obj(c);
			ns__set(c, mappa, "category", ns__jstr(c, c->regs[i].category));
			ns__set(c, mappa, "level", ns__jstr(c, c->regs[i].level));
			ns__set(c, mappa, "registration_date", ns__jdate(c, c->regs[i].date));
		}
	if (c->tier != NULL) {
		calc = ns__obj(c);
		ns__set(c, calc, "calculation_id", ns__jstr(c, c->tier->calculation_id));
		ns__set(c, calc, "calculation_date", ns__jdate(c, c->tier_date));
	}
	ns__set(c, risk, "rosh", ns__jstr(c, rosh ? ns__rosh_level(rosh->type) : NULL));
	ns__set(c, risk, "mappa", mappa);
	ns__set(c, risk, "tier", ns__jstr(c, c->tier ? c->tier->tier : NULL));
	ns__set(c, risk, "tier_calculation", calc);
	ns__set(c, v, "risk", risk);
}
