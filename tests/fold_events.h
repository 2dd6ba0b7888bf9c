/*
 * Signed events for the fold tests (test_fold*.c): five sites with their
 * keys and chains, the builders that more than one test file uses, folding
 * to a parsed view, and lookups in it. Everything is static: each test
 * program has its own sites and pool.
 */
#ifndef NS_TEST_FOLD_EVENTS_H
#define NS_TEST_FOLD_EVENTS_H

#include <nomsync/date.h>
#include <nomsync/event.h>
#include <nomsync/fold.h>

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#include "test.h"

/* A site that signs events: its identity and chain position. */
struct site {
	ns_identity id;
	uint64_t seq;
	uint8_t last[NS_ID_BYTES];
};

static struct site MDI, LEI, N07, CRT, HUB;

/* Every event built by a test, freed by pool_free(). */
static ns_event *pool[4096];
static size_t npool;

/* Free every event built so far. */
static inline void pool_free(void)
{
	for (size_t i = 0; i < npool; i++)
		ns_event_free(pool[i]);
	npool = 0;
}

/* Keep an event for pool_free(). */
static inline void pool_add(ns_event *ev)
{
	if (npool < sizeof(pool) / sizeof(pool[0]))
		pool[npool++] = ev;
}

/* Fresh keys and chains for the five sites. */
static inline void sites_init(void)
{
	struct {
		struct site *s;
		const char *code;
		ns_role role;
	} all[] = { { &MDI, "MDI", NS_ROLE_PRISON },   { &LEI, "LEI", NS_ROLE_PRISON },
		    { &N07, "N07", NS_ROLE_PROBATION }, { &CRT, "CRT01", NS_ROLE_COURT },
		    { &HUB, "HUB1", NS_ROLE_HUB } };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		memset(all[i].s, 0, sizeof(*all[i].s));
		if (ns_identity_generate(&all[i].s->id, all[i].code, all[i].role) != 0)
			fprintf(stderr, "cannot make identity %s\n", all[i].code);
	}
}

/* Unix seconds of an ISO instant. */
static inline int64_t T(const char *s)
{
	int64_t t = 0;

	if (ns_time_parse(s, &t) != 0)
		fprintf(stderr, "bad time literal %s\n", s);
	return t;
}

/* recorded_at of the next events when set (a future-dated event); else occurred_at + 7 s. */
static int64_t recorded_override;

/* Sign the next event of a site's chain. */
static inline ns_event *emit(struct site *s, int64_t t, const char *off, const Nomsync__Payload *p)
{
	ns_event *ev = NULL;
	int rc;

	s->seq++;
	rc = ns_event_build(&s->id, s->seq, s->seq == 1 ? NULL : s->last, t,
			    recorded_override ? recorded_override : t + 7, off, p, &ev);
	CHECK_INT(rc, 0);
	if (ev == NULL)
		return NULL;
	memcpy(s->last, ev->id, NS_ID_BYTES);
	pool_add(ev);
	return ev;
}

#define STR(x) ((char *)((x) ? (x) : ""))
#define BODY(CASE, field)                                             \
	do {                                                          \
		Nomsync__Payload p_ = NOMSYNC__PAYLOAD__INIT;         \
		p_.body_case = NOMSYNC__PAYLOAD__BODY_##CASE;         \
		p_.field = &m;                                        \
		return emit(s, t, off, &p_);                          \
	} while (0)

/*
 * Folding and looking at the result.
 */

/* Fold, check success, and parse the view. Caller json_decref()s. */
static inline json_t *fold(ns_event **evs, size_t n, ns_fold_summary *sum)
{
	char *text = NULL;
	size_t len = 0;
	json_error_t err;
	json_t *v;

	CHECK_INT(ns_fold(evs, n, &text, &len, sum), 0);
	if (text == NULL)
		return json_object();
	CHECK_INT(len, strlen(text));
	v = json_loads(text, 0, &err);
	CHECK(v != NULL);
	free(text);
	return v ? v : json_object();
}

/* Fold to text. Caller frees. */
static inline char *fold_text(ns_event **evs, size_t n)
{
	char *text = NULL;

	CHECK_INT(ns_fold(evs, n, &text, NULL, NULL), 0);
	return text;
}

/* Follow a dotted path; numeric parts index arrays. NULL if missing. */
static inline json_t *J(json_t *v, const char *path)
{
	char buf[256], *part, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (part = strtok_r(buf, ".", &save); part && v; part = strtok_r(NULL, ".", &save)) {
		if (json_is_array(v))
			v = json_array_get(v, (size_t)strtoul(part, NULL, 10));
		else
			v = json_object_get(v, part);
	}
	return v;
}

/* String at a path, or "(null)" for JSON null / missing. */
static inline const char *JS(json_t *v, const char *path)
{
	json_t *x = J(v, path);

	return json_is_string(x) ? json_string_value(x) : "(null)";
}

/* Integer at a path, or -99999 if it is not one. */
static inline long long JI(json_t *v, const char *path)
{
	json_t *x = J(v, path);

	return json_is_integer(x) ? (long long)json_integer_value(x) : -99999;
}

/* Is the value at a path JSON null (present and null). */
static inline int JNULL(json_t *v, const char *path)
{
	return json_is_null(J(v, path));
}

/* Hex id of an event (a few rotating buffers). */
static inline const char *H(const ns_event *ev)
{
	static char bufs[8][2 * NS_ID_BYTES + 1];
	static int k;
	char *b = bufs[k++ % 8];

	ns_hex(b, ev->id, NS_ID_BYTES);
	return b;
}

/* Number of conflicts with a rule. */
static inline int nconflicts(json_t *v, const char *rule)
{
	json_t *arr = J(v, "conflicts"), *c;
	size_t i;
	int k = 0;

	json_array_foreach (arr, i, c)
		if (strcmp(JS(c, "rule"), rule) == 0)
			k++;
	return k;
}

/* Is there a conflict with @p rule naming exactly @p a then @p b (b may be NULL). */
static inline int has_conflict(json_t *v, const char *rule, const ns_event *a, const ns_event *b)
{
	json_t *arr = J(v, "conflicts"), *c;
	size_t i;

	json_array_foreach (arr, i, c) {
		json_t *evs = J(c, "events");
		size_t want = b ? 2 : 1;
		if (strcmp(JS(c, "rule"), rule) != 0 || json_array_size(evs) != want)
			continue;
		if (strcmp(JS(evs, "0"), H(a)) != 0)
			continue;
		if (b && strcmp(JS(evs, "1"), H(b)) != 0)
			continue;
		if (strlen(JS(c, "description")) < 10)
			continue;
		return 1;
	}
	return 0;
}

/* Is the string @p s in the array at @p path. */
static inline int in_array(json_t *v, const char *path, const char *s)
{
	json_t *arr = J(v, path), *x;
	size_t i;

	json_array_foreach (arr, i, x)
		if (json_is_string(x) && strcmp(json_string_value(x), s) == 0)
			return 1;
	return 0;
}

#define NOMS "A1234BC"
#define CRN "X123456"

/*
 * Builders used by several test files: corrections, and the risk events
 * (registrations, tier).
 */

/* event.corrected naming a target by hex id */
static inline ns_event *e_correct_hex(struct site *s, int64_t t, const char *off, const char *hex)
{
	Nomsync__EventCorrected m = NOMSYNC__EVENT_CORRECTED__INIT;
	m.target_event_id = STR(hex);
	m.reason = "entered in error";
	BODY(EVENT_CORRECTED, event_corrected);
}

/* event.corrected withdrawing @p target */
static inline ns_event *e_correct(struct site *s, int64_t t, const char *off,
				   const ns_event *target)
{
	char hex[2 * NS_ID_BYTES + 1];

	ns_hex(hex, target->id, NS_ID_BYTES);
	return e_correct_hex(s, t, off, hex);
}

/* registration.added */
static inline ns_event *e_reg_added(struct site *s, int64_t t, const char *off, const char *type,
				    const char *date)
{
	Nomsync__RegistrationAdded m = NOMSYNC__REGISTRATION_ADDED__INIT;
	m.register_type = STR(type);
	m.registration_date = STR(date);
	BODY(REGISTRATION_ADDED, registration_added);
}

/* registration.removed */
static inline ns_event *e_reg_removed(struct site *s, int64_t t, const char *off,
				      const char *type)
{
	Nomsync__RegistrationRemoved m = NOMSYNC__REGISTRATION_REMOVED__INIT;
	m.register_type = STR(type);
	m.removal_date = "2026-06-01";
	BODY(REGISTRATION_REMOVED, registration_removed);
}

/* registration.added of a MAPPA registration with its category and level (NULL: none). */
static inline ns_event *e_mappa(struct site *s, int64_t t, const char *off, const char *date,
				const char *category, const char *level)
{
	Nomsync__RegistrationAdded m = NOMSYNC__REGISTRATION_ADDED__INIT;
	m.register_type = "MAPP";
	m.registration_date = STR(date);
	m.category = STR(category);
	m.level = STR(level);
	BODY(REGISTRATION_ADDED, registration_added);
}

/* tier.calculated */
static inline ns_event *e_tier(struct site *s, int64_t t, const char *off, const char *tier,
			       const char *id, const char *date)
{
	Nomsync__TierCalculated m = NOMSYNC__TIER_CALCULATED__INIT;
	m.tier = STR(tier);
	m.calculation_id = STR(id);
	m.calculation_date = STR(date);
	BODY(TIER_CALCULATED, tier_calculated);
}

/* Decode a copy of an event with its payload erased. */
static inline ns_event *erased_copy(const ns_event *ev)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	ns_event *out = NULL;

	CHECK_INT(ns_event_encode_erased(ev, &buf, &len), 0);
	CHECK_INT(ns_event_decode(buf, len, &out, NULL), 0);
	free(buf);
	if (out != NULL) {
		CHECK(out->payload == NULL);
		CHECK(memcmp(out->id, ev->id, NS_ID_BYTES) == 0);
		pool_add(out);
	}
	return out;
}

/* Decode a second, independent copy of an event. */
static inline ns_event *copy_of(const ns_event *ev)
{
	ns_event *out = NULL;

	CHECK_INT(ns_event_decode(ev->raw, ev->raw_len, &out, NULL), 0);
	if (out != NULL)
		pool_add(out);
	return out;
}


/* xorshift64*: a fixed-seed PRNG so that failures reproduce. */
static uint64_t rng_state;

/* Next pseudo-random number. */
static inline uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

/* A pseudo-random number below @p n. */
static inline unsigned pick(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* A random date string in 2023-2026. */
static inline const char *rdate(char *buf)
{
	int32_t d = ns_date_from_civil(2023, 1, 1) + (int32_t)pick(4 * 365);

	ns_date_format(buf, d);
	return buf;
}


/* Fisher-Yates shuffle of an event pointer array. */
static inline void shuffle(ns_event **a, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(rnd() % i);
		ns_event *t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}


/*
 * The arrival-order property: @p rounds shuffled orders of the @p n events
 * (every fourth also with duplicates, the same pointers and separately
 * decoded copies) each fold to @p base. Returns how many did not.
 */
static inline int orders_differ(ns_event **evs, size_t n, const char *base, int rounds)
{
	ns_event *perm[512];
	int differ = 0;

	if (n + 30 > sizeof(perm) / sizeof(perm[0]))
		return -1;
	for (int r = 0; r < rounds; r++) {
		size_t m = n;
		char *text;

		memcpy(perm, evs, n * sizeof(*evs));
		if (r % 4 == 3) {
			for (int k = 0; k < 20; k++)
				perm[m++] = evs[pick((unsigned)n)];
			for (int k = 0; k < 10; k++)
				perm[m++] = copy_of(evs[pick((unsigned)n)]);
		}
		shuffle(perm, m);
		text = fold_text(perm, m);
		if (text == NULL || strcmp(text, base) != 0)
			differ++;
		free(text);
	}
	return differ;
}


/* plan.goal.added */
static inline ns_event *e_goal(struct site *s, int64_t t, const char *off, const char *goal, const char *area,
			       const char *title, const char *target)
{
	Nomsync__PlanGoalAdded m = NOMSYNC__PLAN_GOAL_ADDED__INIT;
	m.goal_id = STR(goal);
	m.area_of_need = STR(area);
	m.title = STR(title);
	m.target_date = STR(target);
	BODY(PLAN_GOAL_ADDED, plan_goal_added);
}

/* plan.goal.updated */
static inline ns_event *e_goal_upd(struct site *s, int64_t t, const char *off, const char *goal,
				   const char *status, const char *prev, const char *note)
{
	Nomsync__PlanGoalUpdated m = NOMSYNC__PLAN_GOAL_UPDATED__INIT;
	m.goal_id = STR(goal);
	m.status = STR(status);
	m.previous_status = STR(prev);
	m.note = STR(note);
	BODY(PLAN_GOAL_UPDATED, plan_goal_updated);
}

/* plan.step.added */
static inline ns_event *e_step(struct site *s, int64_t t, const char *off, const char *goal, const char *step,
			       const char *description, const char *actor)
{
	Nomsync__PlanStepAdded m = NOMSYNC__PLAN_STEP_ADDED__INIT;
	m.goal_id = STR(goal);
	m.step_id = STR(step);
	m.description = STR(description);
	m.actor = STR(actor);
	BODY(PLAN_STEP_ADDED, plan_step_added);
}

/* plan.step.updated */
static inline ns_event *e_step_upd(struct site *s, int64_t t, const char *off, const char *goal,
				   const char *step, const char *status, const char *prev, const char *note)
{
	Nomsync__PlanStepUpdated m = NOMSYNC__PLAN_STEP_UPDATED__INIT;
	m.goal_id = STR(goal);
	m.step_id = STR(step);
	m.status = STR(status);
	m.previous_status = STR(prev);
	m.note = STR(note);
	BODY(PLAN_STEP_UPDATED, plan_step_updated);
}

/* plan.agreed */
static inline ns_event *e_agreed(struct site *s, int64_t t, const char *off, const char *status)
{
	Nomsync__PlanAgreed m = NOMSYNC__PLAN_AGREED__INIT;
	m.agreement_status = STR(status);
	BODY(PLAN_AGREED, plan_agreed);
}

/* plan.reviewed */
static inline ns_event *e_reviewed(struct site *s, int64_t t, const char *off, const char *type,
				   const char *support, int involved, const char *note)
{
	Nomsync__PlanReviewed m = NOMSYNC__PLAN_REVIEWED__INIT;
	m.review_type = STR(type);
	m.support_needed = STR(support);
	m.involved = involved;
	m.note = STR(note);
	BODY(PLAN_REVIEWED, plan_reviewed);
}

/*
 * One random plan event from prison or probation site @p s: few goal and
 * step ids, and updates that often name a stale previous status, so that
 * unknown items and concurrent edits come up.
 */
static inline ns_event *random_plan(struct site *s, int64_t t)
{
	static const char *goals[] = { "G1", "G2" }, *steps[] = { "P1", "P2" };
	static const char *gst[] = { "ACTIVE", "FUTURE", "ACHIEVED", "REMOVED", "" };
	static const char *sst[] = { "NOT_STARTED", "IN_PROGRESS", "COMPLETED", "CANNOT_BE_DONE_YET",
				     "NO_LONGER_NEEDED", "" };
	const char *off = s == &N07 ? CRN : NOMS, *g = goals[pick(2)];
	char d[11];

	switch (pick(6)) {
	case 0:
		return e_goal(s, t, off, g, pick(2) ? "ACCOMMODATION" : "FINANCES", pick(2) ? "Home" : "Debts",
			      pick(2) ? rdate(d) : NULL);
	case 1:
		return e_goal_upd(s, t, off, g, gst[pick(4)], gst[pick(5)], pick(2) ? "note" : NULL);
	case 2:
		return e_step(s, t, off, g, steps[pick(2)], "Referral", pick(2) ? "PERSON" : "CRS_PROVIDER");
	case 3:
		return e_step_upd(s, t, off, g, steps[pick(2)], sst[pick(5)], sst[pick(6)], NULL);
	case 4:
		return e_agreed(s, t, off, pick(2) ? "AGREED" : "DO_NOT_AGREE");
	default:
		return e_reviewed(s, t, off, pick(2) ? "REVIEW" : "TRANSFER", "YES", (int)pick(2), "Seen");
	}
}

/* access.restricted of @p mode listing the @p n users. */
static inline ns_event *e_restrict(struct site *s, int64_t t, const char *off, const char *mode,
				   const char *const *users, size_t n, const char *reason)
{
	Nomsync__AccessRestricted m = NOMSYNC__ACCESS_RESTRICTED__INIT;
	m.mode = STR(mode);
	m.users = (char **)users;
	m.n_users = n;
	m.reason = STR(reason);
	BODY(ACCESS_RESTRICTED, access_restricted);
}

/* access.lifted of @p mode */
static inline ns_event *e_lift(struct site *s, int64_t t, const char *off, const char *mode)
{
	Nomsync__AccessLifted m = NOMSYNC__ACCESS_LIFTED__INIT;
	m.mode = STR(mode);
	BODY(ACCESS_LIFTED, access_lifted);
}

/*
 * One random access event from site @p s (not a court): few users, both
 * modes, under either ref, so that lists from two sites and lifts meet.
 */
static inline ns_event *random_access(struct site *s, int64_t t)
{
	static const char *const users[] = { "PO_SMITH", "POM_JONES", "CASE_ADMIN", "jane.doe" };
	const char *off = pick(2) ? NOMS : CRN, *mode = pick(2) ? "RESTRICTION" : "EXCLUSION";
	size_t first = pick(3);

	if (pick(3) == 0)
		return e_lift(s, t, off, mode);
	return e_restrict(s, t, off, mode, users + first, 1 + pick((unsigned)(4 - first)), "Staff on the caseload");
}

#endif /* NS_TEST_FOLD_EVENTS_H */
