/*
 * The fold: one person's signed events -> the offender view (canonical JSON).
 * This file is the driver; the areas of the view live in their own files.
 *
 * ns_fold sorts a copy of the pointer array into the total order
 * (occurred_at, origin key bytes, seq, then event id so that even an origin
 * that equivocated gives one order), drops repeated ids, and then works in
 * three passes:
 *
 *   1. corrections: an event.corrected withdraws its target when it comes
 *      from the target's own origin or from a hub. A correction can itself
 *      be withdrawn, so "withdrawn" is worked out recursively, which makes
 *      the result independent of the order corrections are looked at.
 *   2. apply: every event that is neither withdrawn nor erased goes, in
 *      fold order, to the handler that ns__handlers names for its type
 *      (one dated ahead of its own recorded_at is only listed: FUTURE_DATED),
 *      which updates the state (fold_int.h). Inconsistent facts become
 *      conflicts that name every event involved; the event is still
 *      applied, except where the first value is kept (identifiers, a
 *      sentence id imposed twice).
 *   3. render: each area's render hook (ns__renderers) writes its fields of
 *      the view, then provenance, conflicts and the correction lists are
 *      added, and the whole is dumped compact with sorted keys.
 *
 * The areas: identity.c (person, identifiers, death), custody.c (receptions,
 * releases, transfers, movements), sentence.c (courts, sentences,
 * adjustments, legal status; dates.c does the release-date arithmetic),
 * management.c (offender managers, alerts), licence.c (licence, recall,
 * supervision, programmes), community.c (community sentences:
 * requirements, appointments, enforcement), risk.c (registrations, RoSH,
 * MAPPA, tier), plan.c (the sentence plan), access.c (limited-access
 * offenders); helpers.c has the shared helpers; figures.c reads the store's
 * figures (ns_fold_figures) off the rendered view.
 *
 * To add an area (community requirements, sentence plan, enforcement,
 * risk, ...): write src/fold/<area>.c starting with a comment saying which
 * event types and view fields it holds; add its state to struct ns__fold
 * under a comment naming the file (and any field whose zero value is not
 * "unset" to ns__state_init); write one handler per event type, named
 * ns__fold_<type name with '.' as '_'> and declared in fold_int.h; set
 * them in their types' rows of src/event/catalogue.def; write a render hook for its view fields and
 * add it to ns__renderers; free what it allocates in ns__state_free and copy
 * it in ns__state_copy (the checkpoints of incremental.c).
 * Each view field belongs to one area; record which event set it with
 * ns__prov, and inconsistencies with ns__conflict.
 *
 * Strings in the state point into the events' payloads, which outlive the
 * call. Nothing here reads a clock, a locale or a global: the same set of
 * events gives the same bytes.
 */
#include "fold_int.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Bookkeeping: provenance and conflicts.
 */

/*
 * Record that the event being applied set @p field of the view. Only the
 * field and the event index are kept; later events overwrite them, and the
 * JSON is built once at render (ns__render_prov) for the fields that remain.
 */
void ns__prov(struct ns__fold *c, const char *field)
{
	struct ns__provrec *p;

	for (size_t i = 0; i < c->nprov; i++)
		if (strcmp(c->prov[i].field, field) == 0) {
			c->prov[i].ev = c->cur;
			return;
		}
	if ((p = ns__grow(c, c->prov, &c->capprov, c->nprov, sizeof(*p))) == NULL)
		return;
	c->prov = p;
	c->prov[c->nprov].field = field;
	c->prov[c->nprov++].ev = c->cur;
}

/* The provenance object: field -> {event, site, type, occurred_at[, recorded_by]}. */
static json_t *ns__render_prov(struct ns__fold *c)
{
	json_t *prov = ns__obj(c);
	char when[21];

	for (size_t i = 0; i < c->nprov; i++) {
		const struct ns__fev *f = &c->f[c->prov[i].ev];
		json_t *o = ns__obj(c);

		ns_time_format(when, f->ev->occurred_at);
		ns__set(c, o, "event", ns__jstr(c, f->hex));
		ns__set(c, o, "site", ns__jstr(c, f->ev->site));
		ns__set(c, o, "type", ns__jstr(c, ns_type_name(f->ev->type)));
		ns__set(c, o, "occurred_at", ns__jstr(c, when));
		/* Absent, not null, without it: views of events before it keep their bytes. */
		if (f->ev->recorded_by[0] != '\0')
			ns__set(c, o, "recorded_by", ns__jstr(c, f->ev->recorded_by));
		ns__set(c, prov, c->prov[i].field, o);
	}
	return prov;
}

/*
 * Record a conflict: its rule, a sentence naming the facts, and the events
 * involved (@p a and @p b, -1 for none) in fold order.
 */
void ns__conflict(struct ns__fold *c, const char *rule, int a, int b, const char *fmt, ...)
{
	char text[512];
	json_t *o = ns__obj(c), *evs = ns__arr(c);
	va_list ap;
	int t;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (a > b) {
		t = a;
		a = b;
		b = t;
	}
	if (a >= 0 && a != b)
		ns__push(c, evs, ns__jstr(c, c->f[a].hex));
	if (b >= 0)
		ns__push(c, evs, ns__jstr(c, c->f[b].hex));
	ns__set(c, o, "rule", ns__jstr(c, rule));
	ns__set(c, o, "description", ns__jstr(c, text));
	ns__set(c, o, "events", evs);
	ns__push(c, c->conflicts, o);
}

/*
 * Dispatch.
 */

/*
 * The handler of each event type: the fold column of the event catalogue
 * (src/event/catalogue.def). NS_NOFOLD types change no person's record
 * (roster changes; event.corrected is applied by ns__corrections, before).
 * The index is the payload's body case, which has the numbering of
 * NOMSYNC__EVENT_TYPE__* (ns_event_decode checks that it is the event's type).
 */
#define NS_NOFOLD NULL
#define NS_EVENT(key, name, label, roles, fold) [NOMSYNC__EVENT_TYPE__##key] = fold,
static ns__fold_fn *const ns__handlers[] = {
	[NOMSYNC__EVENT_TYPE__EVENT_TYPE_UNSPECIFIED] = NULL,
#include "event/catalogue.def"
};
#undef NS_NOFOLD

/* Event types about custody or sentence: suspect after a death. */
static int ns__custody_or_sentence(uint32_t type)
{
	switch (type) {
	case NOMSYNC__EVENT_TYPE__COURT_REMANDED:
	case NOMSYNC__EVENT_TYPE__COURT_CONVICTED:
	case NOMSYNC__EVENT_TYPE__SENTENCE_IMPOSED:
	case NOMSYNC__EVENT_TYPE__PRISONER_RECEIVED:
	case NOMSYNC__EVENT_TYPE__PRISONER_RELEASED:
	case NOMSYNC__EVENT_TYPE__PRISONER_TRANSFERRED:
	case NOMSYNC__EVENT_TYPE__PRISONER_ADJUSTMENT_RECORDED:
	case NOMSYNC__EVENT_TYPE__RECALL_ISSUED:
	case NOMSYNC__EVENT_TYPE__RECALL_RETURNED_TO_CUSTODY:
	case NOMSYNC__EVENT_TYPE__LICENCE_ACTIVATED:
		return 1;
	default:
		return 0;
	}
}

/* Apply the current event (not withdrawn, payload present). */
static void ns__apply(struct ns__fold *c)
{
	const ns_event *ev = c->f[c->cur].ev;
	const Nomsync__Payload *pl = ev->payload;
	uint32_t type = (uint32_t)pl->body_case;

	c->today = ns__day(ev->occurred_at);
	if (c->death_ev >= 0 && ns__custody_or_sentence(type) &&
	    ev->occurred_at > c->f[c->death_ev].ev->occurred_at)
		ns__conflict(c, "EVENT_AFTER_DEATH", c->death_ev, c->cur,
			     "%s recorded at %s after the person's death", ns_type_name(ev->type),
			     ev->site);
	if (type != NOMSYNC__EVENT_TYPE__EVENT_CORRECTED)
		ns__ident_offender(c);
	if (type < sizeof(ns__handlers) / sizeof(ns__handlers[0]) && ns__handlers[type] != NULL)
		ns__handlers[type](c, pl);
}

/*
 * An event whose occurred_at is ahead of its own recorded_at by more than the
 * allowed clock skew: a local append refuses such a time (src/store/write.c),
 * so it came from elsewhere. It stays in the store (it is signed) but is not
 * applied: a time that cannot be true would otherwise win every "latest"
 * rule (custody, legal status, details). The conflict names it.
 */
static void ns__future_dated(struct ns__fold *c)
{
	const ns_event *ev = c->f[c->cur].ev;
	char when[21], rec[21];

	ns_time_format(when, ev->occurred_at);
	ns_time_format(rec, ev->recorded_at);
	ns__conflict(c, "FUTURE_DATED", -1, c->cur,
		     "%s from %s occurred at %s, after it was recorded (%s) by more than %d seconds; "
		     "it is kept but not applied",
		     ns_type_name(ev->type), ev->site, when, rec, NS_CLOCK_SKEW_MAX);
}

/* Is an event's occurred_at ahead of its recorded_at by more than the skew. */
static int ns__is_future(const ns_event *ev)
{
	return ev->recorded_at <= INT64_MAX - NS_CLOCK_SKEW_MAX &&
	       ev->occurred_at > ev->recorded_at + NS_CLOCK_SKEW_MAX;
}

/*
 * Order, duplicates and corrections.
 */

/* Total order: occurred_at, origin bytes, seq, id; an erased copy first. */
static int ns__cmp_events(const void *a, const void *b)
{
	const ns_event *x = *(const ns_event *const *)a, *y = *(const ns_event *const *)b;
	int r;

	if (x->occurred_at != y->occurred_at)
		return x->occurred_at < y->occurred_at ? -1 : 1;
	if ((r = memcmp(x->origin, y->origin, NS_KEY_BYTES)) != 0)
		return r < 0 ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if ((r = memcmp(x->id, y->id, NS_ID_BYTES)) != 0)
		return r < 0 ? -1 : 1;
	return (x->payload != NULL) - (y->payload != NULL);
}

/* An event id and its index in fold order, for looking targets up. */
struct ns__idx {
	const uint8_t *id;
	int i;
};

/* Order (id, index) pairs by id bytes. */
static int ns__cmp_ids(const void *a, const void *b)
{
	return memcmp(((const struct ns__idx *)a)->id, ((const struct ns__idx *)b)->id, NS_ID_BYTES);
}

/* Index of the event with @p id in @p by_id (sorted by id), or -1. */
static int ns__find_id(const struct ns__idx *by_id, size_t n, const uint8_t *id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = memcmp(by_id[mid].id, id, NS_ID_BYTES);
		if (r == 0)
			return by_id[mid].i;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* May correction @p k withdraw its target: same origin, or a hub. */
static int ns__authorised(const struct ns__fold *c, int k)
{
	const ns_event *corr = c->f[k].ev, *target = c->f[c->f[k].target].ev;

	return memcmp(corr->origin, target->origin, NS_KEY_BYTES) == 0 || corr->role == NS_ROLE_HUB;
}

/*
 * Is event @p t withdrawn: some authorised correction that is not itself
 * withdrawn names it. Ids are hashes, so corrections cannot form a cycle;
 * the in-progress mark only guards against one anyway.
 */
static int ns__voided(struct ns__fold *c, const int *corr, size_t ncorr, int t)
{
	struct ns__fev *e = &c->f[t];
	int v = 0;

	if (e->state == 2)
		return e->voided;
	if (e->state == 1 || !e->targeted)
		return 0;
	e->state = 1;
	for (size_t i = 0; i < ncorr && !v; i++)
		if (c->f[corr[i]].target == t && ns__authorised(c, corr[i]) &&
		    !ns__voided(c, corr, ncorr, corr[i]))
			v = 1;
	e->state = 2;
	e->voided = v;
	return v;
}

/*
 * The correction pre-pass: resolve targets, work out which events are
 * withdrawn, list them, and record unauthorised corrections as conflicts.
 */
static int ns__corrections(struct ns__fold *c)
{
	struct ns__idx *by_id = NULL;
	int *corr = NULL;
	size_t ncorr = 0;
	uint8_t id[NS_ID_BYTES];

	for (size_t i = 0; i < c->n; i++)
		if (c->f[i].ev->payload != NULL &&
		    c->f[i].ev->payload->body_case == NOMSYNC__PAYLOAD__BODY_EVENT_CORRECTED)
			ncorr++;
	if (ncorr == 0)
		return 0;
	by_id = malloc(c->n * sizeof(*by_id));
	corr = malloc(ncorr * sizeof(*corr));
	if (by_id == NULL || corr == NULL) {
		free(by_id);
		free(corr);
		return NS_ENOMEM;
	}
	for (size_t i = 0; i < c->n; i++) {
		by_id[i].id = c->f[i].ev->id;
		by_id[i].i = (int)i;
	}
	qsort(by_id, c->n, sizeof(*by_id), ns__cmp_ids);

	ncorr = 0;
	for (size_t i = 0; i < c->n; i++) {
		const Nomsync__Payload *pl = c->f[i].ev->payload;
		if (pl == NULL || pl->body_case != NOMSYNC__PAYLOAD__BODY_EVENT_CORRECTED || c->f[i].future ||
		    ns_unhex(id, NS_ID_BYTES, pl->event_corrected->target_event_id) != 0)
			continue;
		c->f[i].target = ns__find_id(by_id, c->n, id);
		if (c->f[i].target < 0)
			continue; /* target not (yet) here: nothing to withdraw */
		c->f[c->f[i].target].targeted = 1;
		corr[ncorr++] = (int)i;
	}
	for (size_t i = 0; i < c->n; i++)
		if (ns__voided(c, corr, ncorr, (int)i))
			ns__push(c, c->corrected, ns__jstr(c, c->f[i].hex));
	for (size_t i = 0; i < ncorr; i++) {
		int k = corr[i], t = c->f[k].target;
		if (c->f[k].voided || ns__authorised(c, k))
			continue;
		c->cur = k;
		ns__conflict(c, "CORRECTION_NOT_AUTHORISED", t, k,
			     "%s at %s tried to withdraw a %s event of %s; only the origin or a hub may",
			     ns_type_name(c->f[k].ev->type), c->f[k].ev->site, ns_type_name(c->f[t].ev->type),
			     c->f[t].ev->site);
	}
	free(by_id);
	free(corr);
	return 0;
}

/*
 * Rendering.
 */

/* The areas' render hooks, run in this order. */
static ns__render_fn *const ns__renderers[] = {
	ns__render_identity, ns__render_custody, ns__render_sentence, ns__render_management,
	ns__render_licence, ns__render_community, ns__render_risk, ns__render_plan, ns__render_access,
};

/* The whole view object. Takes the lists built during the fold. */
static json_t *ns__render(struct ns__fold *c)
{
	json_t *v = ns__obj(c);

	for (size_t i = 0; i < sizeof(ns__renderers) / sizeof(ns__renderers[0]); i++)
		ns__renderers[i](c, v);
	/* Last: a render hook may still note provenance (sentence.c: "dates"). */
	ns__set(c, v, "conflicts", json_incref(c->conflicts));
	ns__set(c, v, "provenance", ns__render_prov(c));
	ns__set(c, v, "corrected", c->corrected);
	ns__set(c, v, "erased", c->erased);
	c->corrected = c->erased = NULL;
	ns__set(c, v, "event_count", ns__jint(c, (json_int_t)c->n));
	return v;
}

/*
 * Canonical text of the view in a plain malloc'd buffer (the caller of
 * ns_fold frees with free()): ns__canonical_text, else, for what it
 * declines, json_dumps, which uses jansson's allocator (a program may have
 * replaced it).
 */
static char *ns__dump(struct ns__fold *c, const json_t *view)
{
	json_malloc_t jmalloc;
	json_free_t jfree;
	char *text, *out;
	size_t len;
	int declined;

	if ((out = ns__canonical_text(view, &len, &declined)) != NULL || !declined) {
		if (out == NULL)
			c->rc = NS_ENOMEM;
		return out;
	}
	text = json_dumps(view, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL) {
		c->rc = NS_ENOMEM;
		return NULL;
	}
	len = strlen(text);
	out = malloc(len + 1);
	if (out == NULL)
		c->rc = NS_ENOMEM;
	else
		memcpy(out, text, len + 1);
	json_get_alloc_funcs(&jmalloc, &jfree);
	jfree(text);
	return out;
}

/* Copy @p s into a fixed buffer, upper-cased if asked, truncating. */
static void ns__copy(char *dst, size_t size, const char *s, int upper)
{
	size_t i = 0;

	for (; s != NULL && s[i] != '\0' && i + 1 < size; i++)
		dst[i] = upper && s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 32) : s[i];
	dst[i] = '\0';
}

/* Fill the index summary from the final state. */
static void ns__summary(const struct ns__fold *c, ns_fold_summary *sum)
{
	memset(sum, 0, sizeof(*sum));
	ns__copy(sum->noms, sizeof(sum->noms), ns__ident_get(c, "NOMS"), 0);
	ns__copy(sum->crn, sizeof(sum->crn), ns__ident_get(c, "CRN"), 0);
	ns__copy(sum->prison, sizeof(sum->prison), ns__active(c->custody) ? c->prison : NULL, 0);
	ns__copy(sum->region, sizeof(sum->region), c->com ? c->com->region : NULL, 0);
	ns__copy(sum->surname, sizeof(sum->surname), c->surname, 1);
	sum->conflicts = (int)json_array_size(c->conflicts);
	sum->restricted = c->restricted;
}

/* An empty state: fields that are unset but not zero, and the lists built while folding. */
void ns__state_init(struct ns__fold *c)
{
	memset(c, 0, sizeof(*c));
	c->person_ev = c->cust_ev = c->death_ev = c->recall_ev = c->lic_ev = c->calc_ev = c->sup_end_ev =
		c->agree_ev = -1;
	c->dob = c->reception = c->deceased = c->verdict = c->first_offence = c->handover_date =
		c->tier_date = NS_DATE_NONE;
	c->appearances = ns__arr(c);
	c->conflicts = ns__arr(c);
	c->corrected = ns__arr(c);
	c->erased = ns__arr(c);
}

/* A copy of @p n elements of @p size at @p *arr into a block of its own; *arr NULL and c->rc set on failure. */
static void ns__dup(struct ns__fold *c, void *arrp, size_t *n, size_t *cap, size_t size)
{
	void *src, *p = NULL;

	memcpy(&src, arrp, sizeof(src));
	if (*n > 0 && (p = malloc(*n * size)) != NULL)
		memcpy(p, src, *n * size);
	else if (*n > 0)
		c->rc = NS_ENOMEM;
	if (p == NULL)
		*n = 0;
	*cap = *n;
	memcpy(arrp, &p, sizeof(p));
}

/* A deep copy of @p j, NULL (with c->rc set) on failure. */
static json_t *ns__jcopy(struct ns__fold *c, json_t *j)
{
	json_t *r = j != NULL ? json_deep_copy(j) : NULL;

	if (j != NULL && r == NULL)
		c->rc = NS_ENOMEM;
	return r;
}

/*
 * A copy of the state @p src that owns its own lists (the events and their
 * order, f and n, are not copied: dst->f is NULL). Strings and payload
 * pointers still point into the events. On failure dst->rc is NS_ENOMEM and
 * dst can still be given to ns__state_free.
 */
void ns__state_copy(struct ns__fold *dst, const struct ns__fold *src)
{
	/*
	 * Every list of the state must be copied here and freed in
	 * ns__state_free. A field added to struct ns__fold changes its size:
	 * check this function, then the number.
	 */
	_Static_assert(sizeof(void *) != 8 || sizeof(struct ns__fold) == 744,
		       "struct ns__fold changed: copy its new lists in ns__state_copy");
	memcpy(dst, src, sizeof(*dst));
	dst->f = NULL;
	dst->n = 0;
	ns__dup(dst, &dst->prov, &dst->nprov, &dst->capprov, sizeof(*dst->prov));
	ns__dup(dst, &dst->ids, &dst->nids, &dst->capids, sizeof(*dst->ids));
	ns__dup(dst, &dst->merges, &dst->nmerges, &dst->capmerges, sizeof(*dst->merges));
	ns__dup(dst, &dst->moves, &dst->nmoves, &dst->capmoves, sizeof(*dst->moves));
	ns__dup(dst, (void *)&dst->offences, &dst->noffences, &dst->capoffences, sizeof(*dst->offences));
	ns__dup(dst, &dst->sent, &dst->nsent, &dst->capsent, sizeof(*dst->sent));
	ns__dup(dst, &dst->alerts, &dst->nalerts, &dst->capalerts, sizeof(*dst->alerts));
	ns__dup(dst, &dst->prog, &dst->nprog, &dst->capprog, sizeof(*dst->prog));
	ns__dup(dst, &dst->appts, &dst->nappts, &dst->capappts, sizeof(*dst->appts));
	ns__dup(dst, &dst->warns, &dst->nwarns, &dst->capwarns, sizeof(*dst->warns));
	ns__dup(dst, &dst->reqends, &dst->nreqends, &dst->capreqends, sizeof(*dst->reqends));
	ns__dup(dst, &dst->breaches, &dst->nbreaches, &dst->capbreaches, sizeof(*dst->breaches));
	ns__dup(dst, &dst->regs, &dst->nregs, &dst->capregs, sizeof(*dst->regs));
	ns__dup(dst, &dst->plan, &dst->nplan, &dst->capplan, sizeof(*dst->plan));
	ns__dup(dst, &dst->plan_upd, &dst->nplan_upd, &dst->capplan_upd, sizeof(*dst->plan_upd));
	ns__dup(dst, &dst->reviews, &dst->nreviews, &dst->capreviews, sizeof(*dst->reviews));
	ns__dup(dst, &dst->alists, &dst->nalists, &dst->capalists, sizeof(*dst->alists));
	dst->conflicts = ns__jcopy(dst, src->conflicts);
	dst->corrected = ns__jcopy(dst, src->corrected);
	dst->erased = ns__jcopy(dst, src->erased);
	dst->appearances = ns__jcopy(dst, src->appearances);
}

/* Release everything the state owns. */
void ns__state_free(struct ns__fold *c)
{
	free(c->f);
	free(c->ids);
	free(c->merges);
	free((void *)c->offences);
	free(c->sent);
	free(c->prog);
	free(c->alerts);
	free(c->regs);
	free(c->moves);
	free(c->appts);
	free(c->warns);
	free(c->reqends);
	free(c->breaches);
	free(c->plan);
	free(c->plan_upd);
	free(c->reviews);
	free(c->alists);
	json_decref(c->appearances);
	json_decref(c->conflicts);
	free(c->prov);
	json_decref(c->corrected);
	json_decref(c->erased);
}

int ns__fold_order(ns_event *const *evs, size_t n, struct ns__fev **fp, size_t *np)
{
	const ns_event **sorted;
	struct ns__fev *f;
	size_t m = 0;

	*fp = NULL;
	*np = 0;
	if ((evs == NULL && n > 0) || n > INT_MAX / 2)
		return NS_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (evs[i] == NULL)
			return NS_EINVAL;
	/* Sort a copy of the pointers, then keep one event per id. */
	sorted = malloc((n ? n : 1) * sizeof(*sorted));
	f = malloc((n ? n : 1) * sizeof(*f));
	if (sorted == NULL || f == NULL) {
		free((void *)sorted);
		free(f);
		return NS_ENOMEM;
	}
	if (n > 0) {
		size_t i = 1;
		memcpy((void *)sorted, evs, n * sizeof(*sorted));
		/* The store passes a person's events nearly in this order already (by sort key). */
		while (i < n && ns__cmp_events(&sorted[i - 1], &sorted[i]) <= 0)
			i++;
		if (i < n)
			qsort((void *)sorted, n, sizeof(*sorted), ns__cmp_events);
	}
	for (size_t i = 0; i < n; i++) {
		/* A view is folded only from the event types this release knows. */
		if (sorted[i]->type_unknown)
			continue;
		if (m > 0 && memcmp(f[m - 1].ev->id, sorted[i]->id, NS_ID_BYTES) == 0)
			continue;
		memset(&f[m], 0, sizeof(f[m]));
		f[m].ev = sorted[i];
		f[m].target = -1;
		f[m].future = ns__is_future(sorted[i]);
		ns_hex(f[m].hex, sorted[i]->id, NS_ID_BYTES);
		m++;
	}
	free((void *)sorted);
	*fp = f;
	*np = m;
	return 0;
}

int ns__fold_prepass(struct ns__fold *c)
{
	int rc = ns__corrections(c);

	if (rc == 0)
		ns__merges_scan(c);
	return rc;
}

void ns__fold_apply(struct ns__fold *c, size_t from, size_t to)
{
	for (size_t i = from; i < to && c->rc == 0; i++) {
		c->cur = (int)i;
		if (c->f[i].ev->payload == NULL) /* erased, withdrawn or not */
			ns__push(c, c->erased, ns__jstr(c, c->f[i].hex));
		if (c->f[i].voided || c->f[i].ev->payload == NULL)
			continue;
		if (c->f[i].future)
			ns__future_dated(c);
		else
			ns__apply(c);
	}
}

int ns__fold_finish(struct ns__fold *c, char **json, size_t *len, ns_fold_summary *sum,
		    ns_fold_figures *fig)
{
	struct ns__arena arena;
	json_t *view = NULL;
	char *out = NULL;
	int rc;

	c->access = fig != NULL ? &fig->access : NULL;
	/* The view is built in an arena; closed after the state that shares lists with it is freed. */
	ns__arena_open(&arena);
	if (c->rc == 0)
		view = ns__render(c);
	if (c->rc == 0)
		out = ns__dump(c, view);
	if (c->rc == 0 && fig != NULL)
		ns__figures(view, fig);
	ns__arena_drop(&arena, view);
	if (c->rc == 0 && sum != NULL)
		ns__summary(c, sum);
	rc = c->rc;
	ns__state_free(c);
	ns__arena_close(&arena);
	if (rc != 0) {
		free(out);
		return rc;
	}
	*json = out;
	if (len != NULL)
		*len = strlen(out);
	return 0;
}

int ns_fold(ns_event *const *evs, size_t n, char **json, size_t *len, ns_fold_summary *sum)
{
	return ns_fold_figured(evs, n, json, len, sum, NULL);
}

int ns_fold_access(ns_event *const *evs, size_t n, char **json, size_t *len, ns_fold_summary *sum,
		   ns_access *access)
{
	ns_fold_figures *fig;
	int rc;

	if (access == NULL)
		return ns_fold_figured(evs, n, json, len, sum, NULL);
	if ((fig = malloc(sizeof(*fig))) == NULL) {
		if (json != NULL)
			*json = NULL;
		return NS_ENOMEM;
	}
	rc = ns_fold_figured(evs, n, json, len, sum, fig);
	memset(access, 0, sizeof(*access));
	if (rc == 0)
		*access = fig->access;
	free(fig);
	return rc;
}

/*
 * Fold a person's events into the view. See fold.h. Returns 0, NS_EINVAL
 * for a missing argument or a NULL event, or NS_ENOMEM.
 */
int ns_fold_figured(ns_event *const *evs, size_t n, char **json, size_t *len, ns_fold_summary *sum,
		    ns_fold_figures *fig)
{
	struct ns__fold c;
	int rc;

	if (json != NULL)
		*json = NULL;
	if (len != NULL)
		*len = 0;
	if (json == NULL)
		return NS_EINVAL;
	ns__state_init(&c);
	if ((rc = ns__fold_order(evs, n, &c.f, &c.n)) != 0 || (rc = ns__fold_prepass(&c)) != 0) {
		ns__state_free(&c);
		return rc;
	}
	ns__fold_apply(&c, 0, c.n);
	return ns__fold_finish(&c, json, len, sum, fig);
}
