/*
 * Unit tests of chain-tip verification (issue 13, part 1), each performing
 * the attack: a valid run costs one signature check; a header changed
 * anywhere in a run breaks its links and is refused; a bad tip falls back
 * to per-event checks that find the first bad event; a relay that
 * substitutes garbage signatures on the intermediate events of a run gets
 * them stored only as covered-unchecked, never relayed, exported or used as
 * evidence, found by the background check (across a restart) and replaced
 * by a valid copy, and the honest origin is never quarantined.
 */
#include "store_util.h"

#include <nomsync/bundle.h>

#include <sodium.h>

#define RUN_N 8

static const char *line_fmt = "{\"type\":\"prisoner.adjustment.recorded\",\"offender\":\"A1234BC\","
			      "\"occurred_at\":\"2024-01-%02dT10:00:00Z\",\"adjustment_type\":\"REMAND\",\"days\":%d}";

/* A fresh origin's chain of @p n events from seq 1, signed as @p id. */
static void chain(const ns_identity *id, size_t n, ns_event **out)
{
	uint8_t head[NS_ID_BYTES] = { 0 };

	for (size_t i = 0; i < n; i++) {
		char line[512];
		ns_input in;
		ns_diag d;
		snprintf(line, sizeof(line), line_fmt, (int)(i % 28) + 1, (int)i + 1);
		CHECK_INT(ns_input_parse(line, strlen(line), &in, &d), 0);
		CHECK_INT(ns_event_build(id, i + 1, head, in.occurred_at, in.occurred_at, in.offender, in.payload,
					 &out[i]),
			  0);
		memcpy(head, out[i]->id, NS_ID_BYTES);
		ns_input_clear(&in);
	}
}

/* A copy of @p ev with @p byte of its encoding XORed by @p mask (decoded again, ids recomputed). */
static ns_event *mutated(const ns_event *ev, size_t byte, uint8_t mask)
{
	uint8_t *buf = malloc(ev->raw_len);
	ns_event *out = NULL;

	memcpy(buf, ev->raw, ev->raw_len);
	buf[byte] ^= mask;
	CHECK_INT(ns_event_decode(buf, ev->raw_len, &out, NULL), 0);
	free(buf);
	return out;
}

/* The copy a relay makes that replaces the signature bytes with garbage: same header, same id. */
static ns_event *garbage_sig(const ns_event *ev)
{
	uint8_t *buf = malloc(ev->raw_len);
	ns_event *out = NULL;

	memcpy(buf, ev->raw, ev->raw_len);
	randombytes_buf(buf + (ev->signature - ev->raw), NS_SIG_BYTES);
	CHECK_INT(ns_event_decode(buf, ev->raw_len, &out, NULL), 0);
	free(buf);
	CHECK(memcmp(out->id, ev->id, NS_ID_BYTES) == 0);
	CHECK(ns_event_verify(out) == NS_ESIG);
	return out;
}

static void free_all(ns_event **ev, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ns_event_free(ev[i]);
}

static int count_cb(void *arg, const ns_event *ev)
{
	(void)ev;
	(*(size_t *)arg)++;
	return 0;
}

/* Events of @p origin the store would relay from seq 1. */
static size_t relayed(ns_store *s, const uint8_t *origin)
{
	size_t n = 0;
	CHECK_INT(ns_store_relay_range(s, origin, 1, 1000, 1 << 20, count_cb, &n), 0);
	return n;
}

static size_t exported(ns_store *s)
{
	size_t n = 0;
	CHECK_INT(ns_store_foreach_since(s, NULL, 0, count_cb, &n), 0);
	return n;
}

static ns_sig_stats sigstats(ns_store *s)
{
	ns_sig_stats st;
	CHECK_INT(ns_store_sig_stats(s, &st), 0);
	return st;
}

/* A valid run: one signature check authenticates it; the others are checked in the background. */
static void test_valid_run(void)
{
	ns_identity o;
	ns_event *ev[RUN_N];
	int res[RUN_N] = { 0 };
	uint8_t cov[RUN_N];
	ns_sigcheck_report r;
	ns_verify_report vr;

	CHECK_INT(ns_identity_generate(&o, "MDI", NS_ROLE_PRISON), 0);
	chain(&o, RUN_N, ev);
	CHECK_INT((int)ns_verify_runs(ev, RUN_N, res, cov), 1);
	for (int i = 0; i < RUN_N; i++) {
		CHECK_INT(res[i], 0);
		CHECK_INT(cov[i], i < RUN_N - 1);
	}
	/* Two origins interleaved in one batch: two runs, two checks. */
	ns_identity o2;
	ns_event *ev2[3], *mix[6];
	int res2[6] = { 0 };
	uint8_t cov2[6];
	CHECK_INT(ns_identity_generate(&o2, "LEI", NS_ROLE_PRISON), 0);
	chain(&o2, 3, ev2);
	for (int i = 0; i < 3; i++) {
		mix[i] = ev[i];
		mix[3 + i] = ev2[i];
	}
	CHECK_INT((int)ns_verify_runs(mix, 6, res2, cov2), 2);
	CHECK(cov2[0] && cov2[1] && !cov2[2] && cov2[3] && cov2[4] && !cov2[5]);

	ns_store *b = mkstore("N07", NS_ROLE_PROBATION, NULL);
	CHECK_INT(ns_store_ingest(b, ev, RUN_N, 0, res, NULL), 0);
	for (int i = 0; i < RUN_N; i++)
		CHECK_INT(res[i], NS_INGEST_APPLIED);
	CHECK_INT(sigstats(b).pending, RUN_N - 1);
	CHECK_INT(sigstats(b).covered, RUN_N - 1);
	/* Not relayed or served before its own signature is checked; exported after a check on demand. */
	CHECK_INT(relayed(b, o.pk), 0);
	CHECK_INT(exported(b), RUN_N);
	CHECK_INT(sigstats(b).pending, RUN_N - 1);
	uint8_t *raw = NULL;
	size_t len;
	CHECK_INT(ns_store_get_complete(b, ev[2]->id, &raw, &len), NS_ENOTFOUND);
	CHECK_INT(ns_store_verify(b, &vr), 0);
	CHECK_INT(vr.unchecked, RUN_N - 1);
	unsigned state;
	CHECK_INT(ns_store_event_state(b, o.pk, 1, &state), 0);
	CHECK_INT(state, NS_EVENT_UNCHECKED);
	CHECK_INT(ns_store_event_state(b, o.pk, RUN_N, &state), 0);
	CHECK_INT(state, 0);
	/* The background check, in two steps. */
	CHECK_INT(ns_store_verify_pending(b, NULL, 3, 2, &r, NULL), 0);
	CHECK_INT(r.checked, 3);
	CHECK_INT(r.left, RUN_N - 4);
	CHECK_INT(relayed(b, o.pk), 3);
	CHECK_INT(ns_store_verify_pending(b, o.pk, 100, 0, &r, NULL), 0);
	CHECK_INT(r.checked, RUN_N - 4);
	CHECK_INT(r.bad, 0);
	CHECK_INT(r.left, 0);
	CHECK_INT(relayed(b, o.pk), RUN_N);
	CHECK_INT(exported(b), RUN_N);
	CHECK_INT(ns_store_get_complete(b, ev[2]->id, &raw, &len), 0);
	free(raw);
	CHECK_INT(sigstats(b).background, RUN_N - 1);
	CHECK_INT(ns_store_verify(b, &vr), 0);
	CHECK_INT(vr.unchecked, 0);
	free_all(ev, RUN_N);
	free_all(ev2, 3);
	ns_store_close(b);
}

/* A header changed anywhere in a run breaks its links: that event is refused, no signature is covered. */
static void test_broken_link(void)
{
	ns_identity o;
	ns_event *ev[RUN_N];

	CHECK_INT(ns_identity_generate(&o, "MDI", NS_ROLE_PRISON), 0);
	chain(&o, RUN_N, ev);
	/* Seq 1's prev must be zero (decode refuses another), so from seq 2. */
	for (int k = 1; k < RUN_N; k++) {
		ns_event *run[RUN_N], *bad;
		int res[RUN_N] = { 0 };
		uint8_t cov[RUN_N];
		/* Flip a bit of the event's prev inside its signed header. */
		const uint8_t *at = NULL;
		for (size_t p = 0; at == NULL && p + NS_ID_BYTES <= ev[k]->header_len; p++)
			if (memcmp(ev[k]->header + p, ev[k]->prev, NS_ID_BYTES) == 0)
				at = ev[k]->header + p;
		CHECK(at != NULL);
		bad = mutated(ev[k], (size_t)(at - ev[k]->raw) + 5, 0x10);
		for (int i = 0; i < RUN_N; i++)
			run[i] = i == k ? bad : ev[i];
		CHECK_INT((int)ns_verify_runs(run, RUN_N, res, cov), RUN_N);
		for (int i = 0; i < RUN_N; i++) {
			CHECK_INT(res[i], i == k ? NS_ESIG : 0);
			CHECK_INT(cov[i], 0);
		}
		ns_store *b = mkstore("N07", NS_ROLE_PROBATION, NULL);
		CHECK_INT(ns_store_ingest(b, run, RUN_N, 0, res, NULL), 0);
		int q = 0;
		for (int i = 0; i < RUN_N; i++)
			CHECK_INT(res[i], i < k ? NS_INGEST_APPLIED : i == k ? NS_ESIG : NS_INGEST_HELD);
		CHECK_INT(vv_seq(b, o.pk, &q), (uint64_t)k);
		CHECK_INT(q, 0);
		CHECK_INT(counter(b, "rejected.signature"), 1);
		CHECK_INT(sigstats(b).pending, 0);
		ns_event_free(bad);
		ns_store_close(b);
	}
	free_all(ev, RUN_N);
}

/* A bad tip: per-event checks find the first bad event; the good ones before it are taken. */
static void test_bad_tip(void)
{
	ns_identity o;
	ns_event *ev[RUN_N], *run[RUN_N];
	int res[RUN_N] = { 0 };
	uint8_t cov[RUN_N];

	CHECK_INT(ns_identity_generate(&o, "MDI", NS_ROLE_PRISON), 0);
	chain(&o, RUN_N, ev);
	for (int i = 0; i < RUN_N; i++)
		run[i] = ev[i];
	run[3] = garbage_sig(ev[3]);
	run[RUN_N - 1] = garbage_sig(ev[RUN_N - 1]);
	CHECK_INT((int)ns_verify_runs(run, RUN_N, res, cov), RUN_N);
	for (int i = 0; i < RUN_N; i++) {
		CHECK_INT(res[i], i == 3 || i == RUN_N - 1 ? NS_ESIG : 0);
		CHECK_INT(cov[i], 0);
	}
	/* One event alone whose signature fails. */
	int one = 0;
	CHECK_INT((int)ns_verify_runs(&run[3], 1, &one, cov), 1);
	CHECK_INT(one, NS_ESIG);

	ns_store *b = mkstore("N07", NS_ROLE_PROBATION, NULL);
	memset(res, 0, sizeof(res));
	CHECK_INT(ns_store_ingest(b, run, RUN_N, 0, res, NULL), 0);
	CHECK_INT(res[2], NS_INGEST_APPLIED);
	CHECK_INT(res[3], NS_ESIG);
	CHECK_INT(vv_seq(b, o.pk, NULL), 3);
	CHECK_INT(sigstats(b).pending, 0);
	ns_event_free(run[3]);
	ns_event_free(run[RUN_N - 1]);
	free_all(ev, RUN_N);
	ns_store_close(b);
}

/*
 * A relay substitutes garbage signatures on the intermediate events of a
 * run: stored covered-unchecked, never relayed or exported; the background
 * check (after a restart) finds them, names the relay, and valid copies
 * from a peer replace them. The origin is never quarantined.
 */
static void test_substituted(void)
{
	char dir[256], bpath[300];
	ns_identity o;
	ns_event *ev[RUN_N], *run[RUN_N];
	int res[RUN_N] = { 0 }, q = 0;
	const char *senders[RUN_N];
	ns_sigcheck_report r;
	ns_verify_report vr;
	ns_diag d;

	CHECK_INT(ns_identity_generate(&o, "MDI", NS_ROLE_PRISON), 0);
	chain(&o, RUN_N, ev);
	run[0] = ev[0];
	run[RUN_N - 1] = ev[RUN_N - 1];
	for (int i = 1; i < RUN_N - 1; i++)
		run[i] = garbage_sig(ev[i]);
	for (int i = 0; i < RUN_N; i++)
		senders[i] = "EVIL";
	ns_store *b = mkstore("N07", NS_ROLE_PROBATION, dir);
	CHECK_INT(ns_store_ingest_from(b, run, RUN_N, 0, senders, res, NULL), 0);
	for (int i = 0; i < RUN_N; i++)
		CHECK_INT(res[i], NS_INGEST_APPLIED);
	CHECK_INT(sigstats(b).pending, RUN_N - 1);
	CHECK_INT(relayed(b, o.pk), 0);
	CHECK_INT(exported(b), 1); /* seq 1 checked on demand; seq 2 fails */
	/* A bundle exported now carries none of the garbage. */
	snprintf(bpath, sizeof(bpath), "%s/out.bundle", dir);
	FILE *f = fopen(bpath, "wb");
	CHECK(f != NULL);
	uint64_t count = 99;
	CHECK_INT(ns_bundle_export(b, NULL, 0, f, &count), 0);
	fclose(f);
	CHECK_INT(count, 1);
	ns_store *c = mkstore("N55", NS_ROLE_PROBATION, NULL);
	ns_import_report ir;
	CHECK_INT(ns_bundle_import(c, bpath, &ir, &d), 0);
	CHECK_INT(vv_seq(c, o.pk, NULL), 1);
	CHECK_INT(sigstats(c).pending, 0);
	/* Not a problem for verify while unchecked: authentic headers. */
	CHECK_INT(ns_store_verify(b, &vr), 0);
	CHECK_INT(vr.unchecked, RUN_N - 1);

	/* A restart loses nothing: the set is durable. */
	ns_store_close(b);
	CHECK_INT(ns_store_open(dir, NS_STORE_NOSYNC, &b, &d), 0);
	CHECK_INT(sigstats(b).pending, RUN_N - 1);
	CHECK_INT(ns_store_verify_pending(b, NULL, 100, 2, &r, NULL), 0);
	CHECK_INT(r.checked, 1);
	CHECK_INT(r.bad, RUN_N - 2);
	CHECK_INT(r.left, 0);
	CHECK_INT(sigstats(b).bad, RUN_N - 2);
	CHECK_INT(counter(b, "sig.bad.EVIL"), RUN_N - 2);
	CHECK_INT(relayed(b, o.pk), 1); /* seq 1 checked; seq 2 is bad */
	ns_bad_sig *bs;
	size_t nbs;
	CHECK_INT(ns_store_bad_signatures(b, 100, &bs, &nbs), 0);
	CHECK_INT(nbs, RUN_N - 2);
	CHECK_INT(bs[0].seq, 2);
	CHECK_STR(bs[0].sender, "EVIL");
	free(bs);
	vv_seq(b, o.pk, &q);
	CHECK_INT(q, 0);

	/* The same relay again, or the same garbage: still bad, not replaced. */
	memset(res, 0, sizeof(res));
	CHECK_INT(ns_store_ingest_from(b, run, RUN_N, 0, senders, res, NULL), 0);
	CHECK_INT(sigstats(b).bad, RUN_N - 2);

	/* A genuine origin's different event at a bad seq cannot be proved yet: refused, no quarantine. */
	ns_event *fork[1];
	{
		char line[512];
		ns_input in;
		snprintf(line, sizeof(line), line_fmt, 27, 99);
		CHECK_INT(ns_input_parse(line, strlen(line), &in, &d), 0);
		CHECK_INT(ns_event_build(&o, 3, ev[1]->id, in.occurred_at, in.occurred_at, in.offender, in.payload,
					 &fork[0]),
			  0);
		ns_input_clear(&in);
	}
	int fres = 0;
	CHECK_INT(ns_store_ingest(b, fork, 1, 0, &fres, NULL), 0);
	CHECK_INT(fres, NS_EAGAIN);
	vv_seq(b, o.pk, &q);
	CHECK_INT(q, 0);
	CHECK_INT(counter(b, "equivocations"), 0);

	/* Valid copies from an honest peer (a run again: covered, so each is checked as it replaces). */
	for (int i = 0; i < RUN_N; i++)
		senders[i] = "HUB";
	memset(res, 0, sizeof(res));
	CHECK_INT(ns_store_ingest_from(b, ev, RUN_N, 0, senders, res, NULL), 0);
	for (int i = 0; i < RUN_N; i++)
		CHECK_INT(res[i], NS_INGEST_DUPLICATE);
	ns_sig_stats st = sigstats(b);
	CHECK_INT(st.bad, 0);
	CHECK_INT(st.pending, 0);
	CHECK_INT(st.replaced, RUN_N - 2);
	CHECK_INT(relayed(b, o.pk), RUN_N);
	CHECK_INT(ns_store_verify(b, &vr), 0);
	CHECK_INT(vr.unchecked, 0);
	/* Now the genuine fork is provable: the origin did sign two events for seq 3. */
	fres = 0;
	CHECK_INT(ns_store_ingest(b, fork, 1, 0, &fres, NULL), 0);
	CHECK_INT(fres, NS_EEQUIV);
	ns_proof *pr;
	size_t np;
	CHECK_INT(ns_store_proofs(b, &pr, &np), 0);
	CHECK_INT(np, 1);
	ns_proofs_free(pr, np);

	ns_event_free(fork[0]);
	for (int i = 1; i < RUN_N - 1; i++)
		ns_event_free(run[i]);
	free_all(ev, RUN_N);
	ns_store_close(b);
	ns_store_close(c);
}

/*
 * Covered events never serve as evidence or wait in pending unchecked: a
 * gap makes each own signature count, and a fork is judged on checked
 * signatures only.
 */
static void test_gap_and_fork(void)
{
	ns_identity o;
	ns_event *ev[RUN_N], *run[4];
	int res[4] = { 0 }, q = 0;

	CHECK_INT(ns_identity_generate(&o, "MDI", NS_ROLE_PRISON), 0);
	chain(&o, RUN_N, ev);
	/* Seqs 4..7 with a garbage signature on 5, to a store holding 1..2: a gap. */
	run[0] = ev[3];
	run[1] = garbage_sig(ev[4]);
	run[2] = ev[5];
	run[3] = ev[6];
	ns_store *b = mkstore("N07", NS_ROLE_PROBATION, NULL);
	int res2[2] = { 0 };
	CHECK_INT(ns_store_ingest(b, ev, 2, 0, res2, NULL), 0);
	CHECK_INT(ns_store_ingest(b, run, 4, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_HELD);
	CHECK_INT(res[1], NS_ESIG);
	CHECK_INT(res[2], NS_INGEST_HELD);
	CHECK_INT(res[3], NS_INGEST_HELD);
	/* The gap fills; the rest drain; only seq 1 (covered by seq 2) awaited its check. */
	int r1 = 0;
	CHECK_INT(ns_store_ingest(b, &ev[2], 1, 0, &r1, NULL), 0);
	CHECK_INT(vv_seq(b, o.pk, &q), 4);
	CHECK_INT(sigstats(b).pending, 1);

	/*
	 * A fork of seq 5 whose own signature is garbage, covered by a valid
	 * seq 6: refused for its signature, never a proof against the origin.
	 */
	ns_event *alt[2];
	{
		char line[512];
		ns_input in;
		ns_diag d;
		snprintf(line, sizeof(line), line_fmt, 20, 77);
		CHECK_INT(ns_input_parse(line, strlen(line), &in, &d), 0);
		/* Signed by the origin with a prev that is not seq 4's id, then its signature garbled. */
		ns_event *f;
		CHECK_INT(ns_event_build(&o, 5, ev[0]->id, in.occurred_at, in.occurred_at, in.offender, in.payload, &f),
			  0);
		alt[0] = garbage_sig(f);
		ns_event_free(f);
		CHECK_INT(ns_event_build(&o, 6, alt[0]->id, in.occurred_at, in.occurred_at, in.offender, in.payload,
					 &alt[1]),
			  0);
		ns_input_clear(&in);
	}
	/* A store holding seqs 1..4, nothing held. */
	ns_store *c = mkstore("N55", NS_ROLE_PROBATION, NULL);
	int ar[4] = { 0 };
	CHECK_INT(ns_store_ingest(c, ev, 4, 0, ar, NULL), 0);
	memset(ar, 0, sizeof(ar));
	CHECK_INT(ns_store_ingest(c, alt, 2, 0, ar, NULL), 0);
	CHECK_INT(ar[0], NS_ESIG);
	CHECK_INT(ar[1], NS_INGEST_HELD);
	vv_seq(c, o.pk, &q);
	CHECK_INT(q, 0);
	CHECK_INT(counter(c, "equivocations"), 0);
	ns_store_close(c);
	ns_event_free(alt[0]);
	ns_event_free(alt[1]);
	ns_event_free(run[1]);
	free_all(ev, RUN_N);
	ns_store_close(b);
}

int main(void)
{
	if (mkdtemp(tmproot) == NULL)
		return 1;
	ns_crypto_init();
	RUN(test_valid_run);
	RUN(test_broken_link);
	RUN(test_bad_tip);
	RUN(test_substituted);
	RUN(test_gap_and_fork);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmproot);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmproot);
	return TEST_SUMMARY();
}
