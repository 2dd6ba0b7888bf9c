/*
 * The fold's sentence plan area: one plan per person, which follows them
 * from custody into the community (docs/DOMAIN.md section 9.2; REFERENCE-2
 * s. 1, hmpps-sentence-plan). The prison offender manager and the probation
 * practitioner both write it; the NOMS number and the CRN of one person fold
 * into one view, so a plan started in custody is continued after release.
 *
 * Handlers: plan.goal.added, plan.goal.updated, plan.step.added,
 * plan.step.updated, plan.agreed, plan.reviewed.
 * View field: plan {goals, agreement, reviews}.
 *
 * Goals and steps are "items" (a step is an item with a step id, under its
 * goal's id), in the order they were added. Every status update is kept
 * with its site and note. An update names the status its writer saw
 * (previous_status); when that is not the status the fold holds at that
 * point and the update sets yet another status, two sites changed the item
 * without seeing each other's change: conflict PLAN_CONCURRENT_UPDATE. The
 * item's status is then the one set by the update last in fold order (the
 * total order of fold.c, so every node shows the same), and both updates
 * stay in its "updates" list, the later one marked "concurrent": nothing
 * either site wrote is lost.
 */
#include "fold_int.h"

#include <stdio.h>

/* The item for (goal, step), step NULL for the goal itself; -1 if none. */
static int ns__plan_find(const struct ns__fold *c, const char *goal, const char *step)
{
	for (size_t i = 0; i < c->nplan; i++)
		if (ns__eq(c->plan[i].goal_id, goal) && ns__eq(c->plan[i].step_id, step) &&
		    (c->plan[i].step_id == NULL) == (step == NULL))
			return (int)i;
	return -1;
}

/* "goal G1" or "step S1 of goal G1", for conflict descriptions. */
static const char *ns__plan_name(char buf[160], const char *goal, const char *step)
{
	if (step == NULL)
		snprintf(buf, 160, "goal %.64s", ns__show(goal));
	else
		snprintf(buf, 160, "step %.64s of goal %.64s", ns__show(step), ns__show(goal));
	return buf;
}

/*
 * Add a goal (@p step NULL) or a step. @p what and @p text are the goal's
 * area of need and title, or the step's actor and description. The same
 * id added again with other details is PLAN_ITEM_ADDED_TWICE and the first
 * is kept (the same details again are a harmless duplicate, as when both
 * sites replay one plan).
 */
static void ns__plan_add(struct ns__fold *c, const char *goal, const char *step, const char *what,
			 const char *text, int32_t target, const char *status)
{
	struct ns__plan_item *all, *it;
	int k = ns__plan_find(c, goal, step);
	char name[160];

	if (k >= 0) {
		it = &c->plan[k];
		if (!ns__eq(it->what, what) || !ns__eq(it->text, text) || it->target != target)
			ns__conflict(c, "PLAN_ITEM_ADDED_TWICE", it->ev, c->cur,
				     "%s added again by %s with other details; the first (%s, \"%.80s\") is kept",
				     ns__plan_name(name, goal, step), c->f[c->cur].ev->site, ns__show(it->what),
				     ns__show(it->text));
		return;
	}
	if ((all = ns__grow(c, c->plan, &c->capplan, c->nplan, sizeof(*all))) == NULL)
		return;
	c->plan = all;
	it = &all[c->nplan++];
	it->goal_id = goal;
	it->step_id = step;
	it->what = what;
	it->text = text;
	it->target = target;
	it->status = status;
	it->ev = it->status_ev = c->cur;
	ns__prov(c, "plan");
}

/*
 * Update the status of a goal (@p step NULL) or step: see the comment at
 * the top. An unknown item is PLAN_GOAL_NOT_FOUND or PLAN_STEP_NOT_FOUND and
 * nothing changes. Two sites that set the same new status agree: no conflict.
 */
static void ns__plan_update(struct ns__fold *c, const char *goal, const char *step, const char *status,
			    const char *prev, const char *note)
{
	struct ns__plan_update *all, *u;
	struct ns__plan_item *it;
	int k = ns__plan_find(c, goal, step), concurrent;
	char name[160];

	if (k < 0) {
		ns__conflict(c, step ? "PLAN_STEP_NOT_FOUND" : "PLAN_GOAL_NOT_FOUND", -1, c->cur,
			     "%s updated by %s to %s but it was never added", ns__plan_name(name, goal, step),
			     c->f[c->cur].ev->site, ns__show(status));
		return;
	}
	if ((all = ns__grow(c, c->plan_upd, &c->capplan_upd, c->nplan_upd, sizeof(*all))) == NULL)
		return;
	c->plan_upd = all;
	it = &c->plan[k];
	concurrent = ns__nz(prev) && !ns__eq(prev, it->status) && !ns__eq(status, it->status);
	if (concurrent)
		ns__conflict(c, "PLAN_CONCURRENT_UPDATE", it->status_ev, c->cur,
			     "%s set to %s by %s, who saw it %s, but %s had set it to %s; "
			     "both edits are kept and %s shows",
			     ns__plan_name(name, goal, step), status, c->f[c->cur].ev->site, prev,
			     c->f[it->status_ev].ev->site, ns__show(it->status), status);
	u = &all[c->nplan_upd++];
	u->item = k;
	u->ev = c->cur;
	u->concurrent = concurrent;
	u->status = status;
	u->prev = ns__nz(prev);
	u->note = ns__nz(note);
	it->status = status;
	it->status_ev = c->cur;
	ns__prov(c, "plan");
}

/* plan.goal.added: ACTIVE with a target date, FUTURE without (hmpps-sentence-plan). */
void ns__fold_plan_goal_added(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__PlanGoalAdded *p = pl->plan_goal_added;
	int32_t target = ns__date(p->target_date);

	ns__plan_add(c, p->goal_id, NULL, p->area_of_need, p->title, target,
		     target == NS_DATE_NONE ? "FUTURE" : "ACTIVE");
}

/* plan.goal.updated */
void ns__fold_plan_goal_updated(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__PlanGoalUpdated *p = pl->plan_goal_updated;

	ns__plan_update(c, p->goal_id, NULL, p->status, p->previous_status, p->note);
}

/* plan.step.added: under a goal already added, else PLAN_GOAL_NOT_FOUND. */
void ns__fold_plan_step_added(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__PlanStepAdded *p = pl->plan_step_added;
	char name[160];

	if (ns__plan_find(c, p->goal_id, NULL) < 0) {
		ns__conflict(c, "PLAN_GOAL_NOT_FOUND", -1, c->cur,
			     "step %s added by %s to %s, which was never added", ns__show(p->step_id),
			     c->f[c->cur].ev->site, ns__plan_name(name, p->goal_id, NULL));
		return;
	}
	ns__plan_add(c, p->goal_id, p->step_id, p->actor, p->description, NS_DATE_NONE, "NOT_STARTED");
}

/* plan.step.updated */
void ns__fold_plan_step_updated(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__PlanStepUpdated *p = pl->plan_step_updated;

	ns__plan_update(c, p->goal_id, ns__nz(p->step_id) ? p->step_id : "", p->status, p->previous_status,
			p->note);
}

/* plan.agreed: the latest agreement (or refusal) is the plan's. */
void ns__fold_plan_agreed(struct ns__fold *c, const Nomsync__Payload *pl)
{
	(void)pl;
	c->agree_ev = c->cur;
	ns__prov(c, "plan");
}

/* plan.reviewed: every review is listed, in fold order. */
void ns__fold_plan_reviewed(struct ns__fold *c, const Nomsync__Payload *pl)
{
	int *all;

	(void)pl;
	if ((all = ns__grow(c, c->reviews, &c->capreviews, c->nreviews, sizeof(*all))) == NULL)
		return;
	c->reviews = all;
	all[c->nreviews++] = c->cur;
	ns__prov(c, "plan");
}

/* Site and day of event @p ev into object @p o. */
static void ns__plan_written(struct ns__fold *c, json_t *o, int ev)
{
	const ns_event *e = c->f[ev].ev;

	ns__set(c, o, "site", ns__jstr(c, e->site));
	ns__set(c, o, "date", ns__jdate(c, ns__day(e->occurred_at)));
}

/* The "updates" list of item @p k. */
static json_t *ns__plan_updates(struct ns__fold *c, int k)
{
	json_t *arr = ns__arr(c);

	for (size_t i = 0; i < c->nplan_upd; i++) {
		const struct ns__plan_update *u = &c->plan_upd[i];
		json_t *o;

		if (u->item != k)
			continue;
		o = ns__obj(c);
		ns__set(c, o, "status", ns__jstr(c, u->status));
		ns__set(c, o, "previous_status", ns__jstr(c, u->prev));
		ns__set(c, o, "note", ns__jstr(c, u->note));
		ns__set(c, o, "concurrent", json_boolean(u->concurrent));
		ns__set(c, o, "event", ns__jstr(c, c->f[u->ev].hex));
		ns__plan_written(c, o, u->ev);
		ns__push(c, arr, o);
	}
	return arr;
}

/* One goal with its steps. */
static json_t *ns__render_goal(struct ns__fold *c, int k)
{
	const struct ns__plan_item *g = &c->plan[k];
	json_t *o = ns__obj(c), *steps = ns__arr(c);

	for (size_t i = 0; i < c->nplan; i++) {
		const struct ns__plan_item *s = &c->plan[i];
		json_t *so;

		if (s->step_id == NULL || !ns__eq(s->goal_id, g->goal_id))
			continue;
		so = ns__obj(c);
		ns__set(c, so, "step_id", ns__jstr(c, s->step_id));
		ns__set(c, so, "description", ns__jstr(c, s->text));
		ns__set(c, so, "actor", ns__jstr(c, s->what));
		ns__set(c, so, "status", ns__jstr(c, s->status));
		ns__set(c, so, "updates", ns__plan_updates(c, (int)i));
		ns__plan_written(c, so, s->ev);
		ns__push(c, steps, so);
	}
	ns__set(c, o, "goal_id", ns__jstr(c, g->goal_id));
	ns__set(c, o, "area_of_need", ns__jstr(c, g->what));
	ns__set(c, o, "title", ns__jstr(c, g->text));
	ns__set(c, o, "status", ns__jstr(c, g->status));
	ns__set(c, o, "target_date", ns__jdate(c, g->target));
	ns__set(c, o, "steps", steps);
	ns__set(c, o, "updates", ns__plan_updates(c, k));
	ns__plan_written(c, o, g->ev);
	return o;
}

void ns__render_plan(struct ns__fold *c, json_t *v)
{
	json_t *plan = ns__obj(c), *goals = ns__arr(c), *reviews = ns__arr(c), *agree = json_null();

	for (size_t i = 0; i < c->nplan; i++)
		if (c->plan[i].step_id == NULL)
			ns__push(c, goals, ns__render_goal(c, (int)i));
	if (c->agree_ev >= 0) {
		const Nomsync__PlanAgreed *p = c->f[c->agree_ev].ev->payload->plan_agreed;

		agree = ns__obj(c);
		ns__set(c, agree, "agreement_status", ns__jstr(c, p->agreement_status));
		ns__set(c, agree, "note", ns__jstr(c, ns__nz(p->note)));
		ns__plan_written(c, agree, c->agree_ev);
	}
	for (size_t i = 0; i < c->nreviews; i++) {
		const Nomsync__PlanReviewed *p = c->f[c->reviews[i]].ev->payload->plan_reviewed;
		json_t *o = ns__obj(c);

		ns__set(c, o, "review_type", ns__jstr(c, p->review_type));
		ns__set(c, o, "support_needed", ns__jstr(c, p->support_needed));
		ns__set(c, o, "involved", json_boolean(p->involved));
		ns__set(c, o, "note", ns__jstr(c, ns__nz(p->note)));
		ns__plan_written(c, o, c->reviews[i]);
		ns__push(c, reviews, o);
	}
	ns__set(c, plan, "goals", goals);
	ns__set(c, plan, "agreement", agree);
	ns__set(c, plan, "reviews", reviews);
	ns__set(c, v, "plan", plan);
}
