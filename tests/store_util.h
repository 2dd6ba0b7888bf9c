/*
 * Helpers shared by the store's unit tests (tests/test_store*.c): a fresh
 * store under a temporary root, appends from JSON lines, collecting events,
 * counters and vector entries, and a small course of events.
 */
#ifndef NS_TEST_STORE_UTIL_H
#define NS_TEST_STORE_UTIL_H

#include "test.h"

#include <nomsync/json.h>
#include <nomsync/store.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tmproot[] = "/tmp/ns-store-test-XXXXXX";
static int nstores;

static inline ns_store *mkstore(const char *site, ns_role role, char *dir_out)
{
	char dir[256];
	ns_store *s = NULL;
	ns_diag d;

	snprintf(dir, sizeof(dir), "%s/s%d-%s", tmproot, nstores++, site);
	CHECK_INT(ns_store_create(dir, site, role, &d), 0);
	CHECK_INT(ns_store_open(dir, NS_STORE_NOSYNC, &s, &d), 0);
	if (dir_out)
		strcpy(dir_out, dir);
	return s;
}

/* Append JSON lines; returns the store's result. */
static inline int append(ns_store *s, const char *const *lines, size_t n, ns_diag *d)
{
	ns_input *in = calloc(n, sizeof(*in));
	size_t bad;
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++)
		rc = ns_input_parse(lines[i], strlen(lines[i]), &in[i], d);
	if (rc == 0)
		rc = ns_store_append(s, in, n, NULL, &bad, d);
	for (size_t i = 0; i < n; i++)
		ns_input_clear(&in[i]);
	free(in);
	return rc;
}

/* Append one JSON event line; it must be accepted (the refusal printed otherwise). */
static inline void append1(ns_store *s, const char *line)
{
	ns_diag d;
	const char *lines[1] = { line };
	int rc = append(s, lines, 1, &d);
	if (rc != 0)
		fprintf(stderr, "append: %s: %s\n", d.field, d.msg);
	CHECK_INT(rc, 0);
}

/* Collect every event of a store. */
typedef struct evlist {
	ns_event **ev;
	size_t n;
} evlist;

static inline int collect(void *arg, const ns_event *ev)
{
	evlist *l = arg;
	ns_event *copy;
	if (ns_event_decode(ev->raw, ev->raw_len, &copy, NULL) != 0)
		return NS_ECORRUPT;
	l->ev = realloc(l->ev, (l->n + 1) * sizeof(*l->ev));
	l->ev[l->n++] = copy;
	return 0;
}

static inline void evlist_free(evlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		ns_event_free(l->ev[i]);
	free(l->ev);
	l->ev = NULL;
	l->n = 0;
}

static inline evlist all_events(ns_store *s)
{
	evlist l = { 0 };
	CHECK_INT(ns_store_foreach(s, collect, &l), 0);
	return l;
}

static inline uint64_t counter(ns_store *s, const char *name)
{
	ns_counter *c;
	size_t n;
	uint64_t v = 0;
	ns_store_counters(s, &c, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(c[i].name, name) == 0)
			v = c[i].value;
	free(c);
	return v;
}

static inline uint64_t vv_seq(ns_store *s, const uint8_t *origin, int *quarantined)
{
	ns_vv_entry *v;
	size_t n;
	uint64_t seq = 0;
	ns_store_vector(s, &v, &n);
	for (size_t i = 0; i < n; i++)
		if (memcmp(v[i].origin, origin, 32) == 0) {
			seq = v[i].seq;
			if (quarantined)
				*quarantined = v[i].quarantined;
		}
	free(v);
	return seq;
}

static const char *const course[] = {
	"{\"type\":\"person.created\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-01-01T09:00:00Z\","
	"\"surname\":\"SMITH\",\"forenames\":\"JOHN\",\"dob\":\"1990-05-17\",\"gender\":\"M\"}",
	"{\"type\":\"prisoner.received\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-01-01T15:00:00Z\","
	"\"prison\":\"MDI\",\"reason\":\"NEW_ADMISSION\"}",
	"{\"type\":\"prisoner.adjustment.recorded\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-01-02T10:00:00Z\","
	"\"adjustment_type\":\"REMAND\",\"days\":30}",
};

#endif /* NS_TEST_STORE_UTIL_H */
