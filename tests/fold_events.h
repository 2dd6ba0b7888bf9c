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

#endif /* NS_TEST_FOLD_EVENTS_H */
