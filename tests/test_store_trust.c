/*
 * Unit tests of the store's trust hardening (issue 10), each performing the
 * attack: a relay strips payloads (the event must stay incomplete, never
 * fold as empty, and the genuine copy must complete it); events held for a
 * gap across a revocation (re-checked when they drain, purged when the
 * revocation is applied); a roster member parking events at far seqs
 * (window, byte caps per origin and per sender, expiry); and a revocation
 * from seq N of a key whose events are already stored (left out of folds,
 * relay and export).
 */
#include "store_util.h"

#include <sodium.h>
#include <time.h>

/* Sign @p n events from JSON lines as @p id, chained from seq @p first (prev @p prev). */
static void chain(const ns_identity *id, const char *const *lines, size_t n, uint64_t first,
		  const uint8_t *prev, ns_event **out)
{
	uint8_t head[NS_ID_BYTES] = { 0 };

	if (prev)
		memcpy(head, prev, NS_ID_BYTES);
	for (size_t i = 0; i < n; i++) {
		ns_input in;
		ns_diag d;
		CHECK_INT(ns_input_parse(lines[i], strlen(lines[i]), &in, &d), 0);
		CHECK_INT(ns_event_build(id, first + i, head, in.occurred_at, in.occurred_at, in.offender, in.payload,
					 &out[i]),
			  0);
		memcpy(head, out[i]->id, NS_ID_BYTES);
		ns_input_clear(&in);
	}
}

/* The copy of @p ev a relay that drops payloads would send. */
static ns_event *stripped(const ns_event *ev)
{
	uint8_t *buf;
	size_t len;
	ns_event *out = NULL;

	CHECK_INT(ns_event_encode_erased(ev, &buf, &len), 0);
	CHECK_INT(ns_event_decode(buf, len, &out, NULL), 0);
	free(buf);
	return out;
}

static int digests_equal(ns_store *a, ns_store *b)
{
	uint8_t da[NS_ID_BYTES], db[NS_ID_BYTES];
	CHECK_INT(ns_store_digest(a, NULL, da), 0);
	CHECK_INT(ns_store_digest(b, NULL, db), 0);
	return memcmp(da, db, NS_ID_BYTES) == 0;
}

static char *view_of(ns_store *s, const char *ref)
{
	char *json = NULL;
	CHECK_INT(ns_store_view(s, ref, &json, NULL, NULL), 0);
	return json ? json : strdup("");
}

static void verify_ok(ns_store *s)
{
	ns_verify_report r;
	CHECK_INT(ns_store_verify(s, &r), 0);
	if (r.bad)
		fprintf(stderr, "verify: %s\n", r.first);
}

/* 10.1: a relay strips the payloads of a site's events. */
static void test_strip_then_complete(void)
{
	ns_store *a = mkstore("MDI", NS_ROLE_PRISON, NULL), *b = mkstore("N07", NS_ROLE_PROBATION, NULL);
	ns_diag d;
	int res[3];

	CHECK_INT(append(a, course, 3, &d), 0);
	evlist l = all_events(a);
	ns_event *strip[3] = { stripped(l.ev[0]), stripped(l.ev[1]), stripped(l.ev[2]) };

	/* The stripped copies take their place in the chain but fold as nothing. */
	CHECK_INT(ns_store_ingest(b, strip, 3, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_APPLIED);
	CHECK_INT(res[2], NS_INGEST_APPLIED);
	CHECK_INT(vv_seq(b, l.ev[0]->origin, NULL), 3);
	char *v = view_of(b, "A1234BC");
	CHECK(strstr(v, "\"incomplete\":[") != NULL);
	CHECK(strstr(v, "SMITH") == NULL);
	free(v);
	unsigned st = 0;
	CHECK_INT(ns_store_event_state(b, l.ev[1]->origin, 2, &st), 0);
	/* Covered by its run's tip too (its own signature checked in the background). */
	CHECK_INT(st, NS_EVENT_INCOMPLETE | NS_EVENT_UNCHECKED);
	uint8_t (*ids)[NS_ID_BYTES];
	size_t n;
	uint64_t total;
	CHECK_INT(ns_store_incomplete(b, 2, &ids, &n, &total), 0);
	CHECK_INT(n, 2);
	CHECK_INT(total, 3);
	CHECK(n == 2 && memcmp(ids[0], l.ev[0]->id, NS_ID_BYTES) == 0);
	free(ids);
	ns_trust_stats ts;
	CHECK_INT(ns_store_trust_stats(b, &ts), 0);
	CHECK_INT(ts.incomplete, 3);
	verify_ok(b);

	/* A payload pull finds complete copies only. */
	uint8_t *raw;
	size_t len;
	CHECK_INT(ns_store_get_complete(b, l.ev[0]->id, &raw, &len), NS_ENOTFOUND);
	CHECK_INT(ns_store_get_complete(a, l.ev[0]->id, &raw, &len), 0);
	CHECK(len == l.ev[0]->raw_len && memcmp(raw, l.ev[0]->raw, len) == 0);
	free(raw);

	/* Stripped again: still a duplicate. The genuine copies complete them. */
	CHECK_INT(ns_store_ingest(b, strip, 1, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_DUPLICATE);
	CHECK_INT(ns_store_ingest(b, l.ev, 3, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_APPLIED);
	CHECK_INT(res[2], NS_INGEST_APPLIED);
	CHECK_INT(counter(b, "completed"), 3);
	CHECK_INT(ns_store_trust_stats(b, &ts), 0);
	CHECK_INT(ts.incomplete, 0);
	CHECK(digests_equal(a, b));
	v = view_of(b, "A1234BC");
	CHECK(strstr(v, "SMITH") != NULL && strstr(v, "incomplete") == NULL);
	free(v);
	verify_ok(b);

	/* Held stripped, then the genuine copy replaces it before the gap fills. */
	ns_store *c = mkstore("N07", NS_ROLE_PROBATION, NULL);
	CHECK_INT(ns_store_ingest(c, &strip[2], 1, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_HELD);
	CHECK_INT(ns_store_ingest(c, &l.ev[2], 1, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_HELD);
	CHECK_INT(ns_store_ingest(c, l.ev, 2, 0, res, NULL), 0);
	CHECK_INT(vv_seq(c, l.ev[0]->origin, NULL), 3);
	CHECK(digests_equal(a, c));
	CHECK_INT(ns_store_trust_stats(c, &ts), 0);
	CHECK_INT(ts.incomplete + ts.held + ts.held_bytes, 0);
	verify_ok(c);

	for (int i = 0; i < 3; i++)
		ns_event_free(strip[i]);
	evlist_free(&l);
	ns_store_close(a);
	ns_store_close(b);
	ns_store_close(c);
}

/* A trust policy that revokes one key from a seq (as the roster does). */
static struct {
	uint8_t key[NS_KEY_BYTES];
	uint64_t from;
} revocation;

static int trust_revocation(void *arg, const ns_event *ev)
{
	(void)arg;
	if (revocation.from && memcmp(ev->origin, revocation.key, NS_KEY_BYTES) == 0 && ev->seq >= revocation.from)
		return NS_EREVOKED;
	return 0;
}

static const char *const four[] = {
	"{\"type\":\"prisoner.received\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-01-01T15:00:00Z\","
	"\"prison\":\"MDI\",\"reason\":\"NEW_ADMISSION\"}",
	"{\"type\":\"prisoner.adjustment.recorded\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-01-02T10:00:00Z\","
	"\"adjustment_type\":\"REMAND\",\"days\":30}",
	"{\"type\":\"prisoner.adjustment.recorded\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-01-03T10:00:00Z\","
	"\"adjustment_type\":\"REMAND\",\"days\":40}",
	"{\"type\":\"prisoner.adjustment.recorded\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-01-04T10:00:00Z\","
	"\"adjustment_type\":\"REMAND\",\"days\":50}",
};

/* 10.3: a stolen key's seq 3-4 held before a revocation from seq 3 must not drain once seq 2 arrives. */
static void test_held_across_revocation(void)
{
	ns_identity thief;
	ns_event *ev[4];
	int res[4];

	CHECK_INT(ns_identity_generate(&thief, "MDI", NS_ROLE_PRISON), 0);
	chain(&thief, four, 4, 1, NULL, ev);
	memcpy(revocation.key, thief.pk, NS_KEY_BYTES);

	/* The roster changes while 3-4 are held: the drain re-checks them. */
	ns_store *b = mkstore("N07", NS_ROLE_PROBATION, NULL);
	ns_store_set_trust(b, trust_revocation, NULL);
	revocation.from = 0;
	CHECK_INT(ns_store_ingest(b, ev, 1, 0, res, NULL), 0);
	CHECK_INT(ns_store_ingest(b, ev + 2, 2, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_HELD);
	CHECK_INT(res[1], NS_INGEST_HELD);
	revocation.from = 3;
	CHECK_INT(ns_store_ingest(b, ev + 1, 1, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_APPLIED);
	CHECK_INT(vv_seq(b, thief.pk, NULL), 2);
	CHECK_INT(counter(b, "rejected.revoked"), 2);
	ns_trust_stats ts;
	CHECK_INT(ns_store_trust_stats(b, &ts), 0);
	CHECK_INT(ts.held, 0);
	verify_ok(b);
	ns_store_close(b);

	/* Applying the revocation to the store purges the held events at once. */
	ns_store *c = mkstore("N07", NS_ROLE_PROBATION, NULL);
	revocation.from = 0;
	CHECK_INT(ns_store_ingest(c, ev, 1, 0, res, NULL), 0);
	CHECK_INT(ns_store_ingest(c, ev + 2, 2, 0, res, NULL), 0);
	int changed = 0;
	CHECK_INT(ns_store_revoke(c, thief.pk, 3, &changed, NULL), 0);
	CHECK_INT(changed, 1);
	CHECK_INT(counter(c, "revoked.held"), 2);
	CHECK_INT(ns_store_trust_stats(c, &ts), 0);
	CHECK_INT(ts.held + ts.held_bytes, 0);
	/* Even without a trust policy (an import without the roster), the store refuses them. */
	CHECK_INT(ns_store_ingest(c, ev + 1, 3, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_APPLIED);
	CHECK_INT(res[1], NS_EREVOKED);
	CHECK_INT(res[2], NS_EREVOKED);
	CHECK_INT(vv_seq(c, thief.pk, NULL), 2);
	verify_ok(c);
	ns_store_close(c);
	for (int i = 0; i < 4; i++)
		ns_event_free(ev[i]);
	revocation.from = 0;
}

/* 10.4: a roster member parks events at seqs that never fill. */
static void test_park_bounded(void)
{
	enum { PARK = 2000 };
	ns_identity rogue;
	ns_event **ev = calloc(PARK, sizeof(*ev));
	int *res = calloc(PARK, sizeof(*res));
	uint8_t prev[NS_ID_BYTES];
	uint64_t before, after;

	CHECK_INT(ns_identity_generate(&rogue, "MDI", NS_ROLE_PRISON), 0);
	randombytes_buf(prev, sizeof(prev));
	for (size_t i = 0; i < PARK; i++)
		chain(&rogue, four, 1, 1000000 + 2 * i, prev, &ev[i]);

	/* Far beyond the window: refused, the store does not grow. */
	ns_store *b = mkstore("N07", NS_ROLE_PROBATION, NULL);
	CHECK_INT(ns_store_size(b, &before), 0);
	CHECK_INT(ns_store_ingest(b, ev, PARK, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_EHELDWINDOW);
	CHECK_INT(counter(b, "rejected.held_window"), PARK);
	CHECK_INT(ns_store_size(b, &after), 0);
	CHECK(after <= before + 64 * 1024);

	/* Within the window: capped in bytes per origin, then per sender. */
	ns_store_limits lim = { 2000000, 40 * ev[0]->raw_len, 0 };
	ns_store_set_limits(b, &lim);
	CHECK_INT(ns_store_ingest(b, ev, 100, 0, res, NULL), 0);
	CHECK_INT(res[39], NS_INGEST_HELD);
	CHECK_INT(res[40], NS_EHELDFULL);
	CHECK_INT(counter(b, "rejected.held_full"), 60);
	ns_trust_stats ts;
	CHECK_INT(ns_store_trust_stats(b, &ts), 0);
	CHECK_INT(ts.held, 40);
	CHECK(ts.held_bytes <= lim.origin_bytes);

	ns_store *c = mkstore("N07", NS_ROLE_PROBATION, NULL);
	ns_identity other;
	ns_event *ev2[30];
	const char *hub[100];
	CHECK_INT(ns_identity_generate(&other, "LEI", NS_ROLE_PRISON), 0);
	for (size_t i = 0; i < 30; i++)
		chain(&other, four, 1, 5 + i, prev, &ev2[i]);
	for (size_t i = 0; i < 100; i++)
		hub[i] = "HUBNE";
	lim.origin_bytes = 0;
	lim.sender_bytes = 25 * ev[0]->raw_len;
	ns_store_set_limits(c, &lim);
	CHECK_INT(ns_store_ingest_from(c, ev, 20, 0, hub, res, NULL), 0);
	CHECK_INT(res[19], NS_INGEST_HELD);
	CHECK_INT(ns_store_ingest_from(c, ev2, 10, 0, hub, res, NULL), 0);
	CHECK(res[4] == NS_INGEST_HELD && res[9] == NS_EHELDFULL); /* the sender's cap covers both origins */
	CHECK_INT(ns_store_ingest_from(c, ev2 + 10, 5, 0, NULL, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_HELD); /* another sender is not affected */
	verify_ok(c);

	/* Expiry, in steps. */
	uint64_t expired = 0, total = 0;
	for (int step = 0; step < 100 && (expired > 0 || total == 0); step++) {
		CHECK_INT(ns_store_expire_held(c, (int64_t)time(NULL) + 10, 5, 7, &expired, NULL), 0);
		total += expired;
	}
	CHECK_INT(total, 30);
	CHECK_INT(ns_store_trust_stats(c, &ts), 0);
	CHECK_INT(ts.held, 0);
	CHECK_INT(ts.held_bytes, 0);
	CHECK_INT(counter(c, "expired.held"), total);
	CHECK_INT(ns_store_ingest_from(c, ev, 20, 0, hub, res, NULL), 0);
	CHECK_INT(res[19], NS_INGEST_HELD); /* the sender's bytes were given back */
	verify_ok(c);

	for (size_t i = 0; i < PARK; i++)
		ns_event_free(ev[i]);
	for (size_t i = 0; i < 30; i++)
		ns_event_free(ev2[i]);
	free(ev);
	free(res);
	ns_store_close(b);
	ns_store_close(c);
}

static int count_cb(void *arg, const ns_event *ev)
{
	(void)ev;
	(*(size_t *)arg)++;
	return 0;
}

/* 10.8: a revocation from seq N reaches events stored before it. */
static void test_revoke_stored(void)
{
	ns_identity thief;
	ns_event *ev[4];
	int res[4];

	CHECK_INT(ns_identity_generate(&thief, "MDI", NS_ROLE_PRISON), 0);
	chain(&thief, four, 4, 1, NULL, ev);
	ns_store *b = mkstore("N07", NS_ROLE_PROBATION, NULL), *ref = mkstore("N07", NS_ROLE_PROBATION, NULL);
	ns_sigcheck_report sr;
	CHECK_INT(ns_store_ingest(b, ev, 4, 0, res, NULL), 0);
	CHECK_INT(ns_store_verify_pending(b, NULL, 100, 1, &sr, NULL), 0); /* the run's covered signatures */
	CHECK_INT(ns_store_ingest(ref, ev, 2, 0, res, NULL), 0);
	CHECK(!digests_equal(b, ref));

	int changed = 0;
	CHECK_INT(ns_store_revoke(b, thief.pk, 3, &changed, NULL), 0);
	CHECK_INT(changed, 1);
	CHECK_INT(counter(b, "revoked.events"), 2);
	/* Folded as if it had never held them: the same views as a node that refused them. */
	CHECK(digests_equal(b, ref));
	/* Not relayed or exported. */
	size_t n = 0;
	CHECK_INT(ns_store_foreach(b, count_cb, &n), 0);
	CHECK_INT(n, 2);
	n = 0;
	CHECK_INT(ns_store_read_range(b, thief.pk, 1, 100, 1 << 20, count_cb, &n), 0);
	CHECK_INT(n, 2);
	/* The timeline still lists them, marked. */
	n = 0;
	CHECK_INT(ns_store_foreach_person(b, "A1234BC", count_cb, &n), 0);
	CHECK_INT(n, 4);
	unsigned st;
	CHECK_INT(ns_store_event_state(b, thief.pk, 4, &st), 0);
	CHECK_INT(st, NS_EVENT_REVOKED);
	CHECK_INT(ns_store_event_state(b, thief.pk, 2, &st), 0);
	CHECK_INT(st, 0);
	uint8_t *raw;
	size_t len;
	CHECK_INT(ns_store_get_complete(b, ev[3]->id, &raw, &len), NS_ENOTFOUND);
	ns_vv_entry *v;
	size_t nv;
	CHECK_INT(ns_store_vector(b, &v, &nv), 0);
	CHECK(nv == 1 && v[0].seq == 4 && v[0].revoked_from == 3 && ns_vv_relay_seq(&v[0]) == 2);
	free(v);
	verify_ok(b);

	/* Again, or from a later seq: nothing changes. From seq 1: everything. */
	CHECK_INT(ns_store_revoke(b, thief.pk, 4, &changed, NULL), 0);
	CHECK_INT(changed, 0);
	CHECK_INT(ns_store_revoke(b, thief.pk, 1, &changed, NULL), 0);
	CHECK_INT(changed, 1);
	n = 0;
	CHECK_INT(ns_store_foreach(b, count_cb, &n), 0);
	CHECK_INT(n, 0);
	char *view = view_of(b, "A1234BC");
	CHECK(strstr(view, "MDI") == NULL);
	free(view);
	verify_ok(b);

	for (int i = 0; i < 4; i++)
		ns_event_free(ev[i]);
	ns_store_close(b);
	ns_store_close(ref);
}

int main(void)
{
	if (mkdtemp(tmproot) == NULL)
		return 1;
	ns_crypto_init();
	RUN(test_strip_then_complete);
	RUN(test_held_across_revocation);
	RUN(test_park_bounded);
	RUN(test_revoke_stored);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmproot);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmproot);
	return TEST_SUMMARY();
}
