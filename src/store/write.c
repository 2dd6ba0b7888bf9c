/*
 * Writing events: ns_store_append signs and appends this site's own events,
 * ns_store_ingest stores events from other sites. Both write each event to
 * the log and its indexes (ns__write), hold an event whose predecessor is
 * missing in pending until the gap fills (ns__drain), keep a proof and
 * quarantine the origin on an equivocation (ns__equivocate), and re-fold
 * (or, with NS_INGEST_DEFER_FOLD, mark) the persons touched, all in one
 * write transaction retried after growing a full map (ns__retry).
 */
#include "store_int.h"

#include <nomsync/validate.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The byref value of @p ev: its place in the fold's total order. */
static void ns__sortkey(uint8_t k[NS__SORTKEY], const ns_event *ev)
{
	ns__put_be64(k, (uint64_t)ev->occurred_at ^ ((uint64_t)1 << 63));
	ns__logkey(k + 8, ev->origin, ev->seq);
}

/* NOMS <-> CRN links make either id find the same person; so do active merges (person.c). */
int ns__links(MDB_txn *txn, ns_store *s, const ns_event *ev, ns__refset *touched)
{
	const Nomsync__PersonIdentifierAdded *p;
	int rc;

	if ((ev->type == NOMSYNC__EVENT_TYPE__PERSON_MERGED ||
	     ev->type == NOMSYNC__EVENT_TYPE__PERSON_UNMERGED) && ev->payload != NULL) {
		uint8_t sk[NS__SORTKEY];
		ns__sortkey(sk, ev);
		return ns__merges(txn, s, ev, sk, touched);
	}
	if (ev->type != NOMSYNC__EVENT_TYPE__PERSON_IDENTIFIER_ADDED || ev->payload == NULL ||
	    (p = ev->payload->person_identifier_added) == NULL)
		return 0;
	if (p->value && (ns_is_noms(p->value) || ns_is_crn(p->value)) && strcmp(p->value, ev->offender) != 0 &&
	    strlen(p->value) < NS_REF_MAX) {
		MDB_val a = { strlen(ev->offender), (void *)ev->offender };
		MDB_val b = { strlen(p->value), p->value };
		if ((rc = mdb_put(txn, s->links, &a, &b, MDB_NODUPDATA)) != 0 && rc != MDB_KEYEXIST)
			return ns__mdb(rc);
		if ((rc = mdb_put(txn, s->links, &b, &a, MDB_NODUPDATA)) != 0 && rc != MDB_KEYEXIST)
			return ns__mdb(rc);
		if ((rc = ns__refset_add(touched, p->value)) != 0)
			return rc;
	}
	return 0;
}

/*
 * Write one chained event and its indexes; note the refs it touches. @p bad
 * is 0, or the ns__type_rules code of an event kept but never folded (no
 * links from it).
 */
static int ns__write(MDB_txn *txn, ns_store *s, const ns_event *ev, ns__refset *touched, int bad)
{
	uint8_t lk[NS__LOGKEY], sk[NS__SORTKEY], *erased;
	MDB_val k, v;
	int rc;

	ns__logkey(lk, ev->origin, ev->seq);
	k.mv_size = NS__LOGKEY;
	k.mv_data = lk;
	if ((rc = ns__erasure_bytes(txn, s, ev, &v, &erased)) != 0) /* erased before it came */
		return rc;
	/*
	 * An origin's events come in seq order, mostly after every key held, so
	 * the put is tried as an append (LMDB then splits a full last page by
	 * starting a new one); an append refused (a key not after the last) is
	 * an ordinary put.
	 */
	if ((rc = mdb_put(txn, s->log, &k, &v, MDB_APPEND)) == MDB_KEYEXIST)
		rc = mdb_put(txn, s->log, &k, &v, MDB_NOOVERWRITE);
	free(erased);
	if (rc != 0)
		return ns__mdb(rc);
	k.mv_size = NS_ID_BYTES;
	k.mv_data = (void *)ev->id;
	v.mv_size = NS__LOGKEY;
	v.mv_data = lk;
	if (s->txn_defer_ids)
		rc = ns__newid_put(txn, s, ev->id, lk);
	else
		rc = ns__mdb(mdb_put(txn, s->ids, &k, &v, 0));
	if (rc != 0 || (rc = ns__note(txn, s, ev, lk, bad)) != 0 ||
	    (!bad && (rc = ns__erasure_event(txn, s, ev, lk, touched)) != 0))
		return rc;
	/*
	 * Without payload bytes: erased, if a signed erasure this store holds
	 * may erase it (erase.c); otherwise stripped on the way, so incomplete
	 * until a copy with its payload arrives.
	 */
	if (ev->payload_len == 0) {
		if ((rc = ns__erased_by_event(txn, s, ev)) < 0)
			return rc;
		if (rc == 0 && (rc = ns__mark_incomplete(txn, s, lk)) != 0)
			return rc;
	}
	if (strcmp(ev->offender, NS_ROSTER_REF) == 0)
		return 0; /* roster changes concern no person: log and id index only */
	ns__sortkey(sk, ev);
	k.mv_size = strlen(ev->offender);
	k.mv_data = (void *)ev->offender;
	v.mv_size = NS__SORTKEY;
	v.mv_data = sk;
	if ((rc = mdb_put(txn, s->byref, &k, &v, 0)) != 0 && rc != MDB_KEYEXIST)
		return ns__mdb(rc);
	if ((rc = ns__refset_add(touched, ev->offender)) != 0)
		return rc;
	return bad ? 0 : ns__links(txn, s, ev, touched);
}

/* Keep a proof of equivocation by @origin and quarantine it. */
int ns__equivocate(MDB_txn *txn, ns_store *s, ns_vv_entry *vv, const uint8_t *a, size_t alen,
			  const uint8_t *b, size_t blen)
{
	MDB_val k = { NS_KEY_BYTES, vv->origin }, v;
	uint8_t *buf;
	int rc;

	rc = mdb_get(txn, s->equiv, &k, &v);
	if (rc == MDB_NOTFOUND) {
		buf = malloc(8 + alen + blen);
		if (buf == NULL)
			return NS_ENOMEM;
		buf[0] = (uint8_t)(alen >> 24);
		buf[1] = (uint8_t)(alen >> 16);
		buf[2] = (uint8_t)(alen >> 8);
		buf[3] = (uint8_t)alen;
		memcpy(buf + 4, a, alen);
		buf[4 + alen] = (uint8_t)(blen >> 24);
		buf[5 + alen] = (uint8_t)(blen >> 16);
		buf[6 + alen] = (uint8_t)(blen >> 8);
		buf[7 + alen] = (uint8_t)blen;
		memcpy(buf + 8 + alen, b, blen);
		v.mv_size = 8 + alen + blen;
		v.mv_data = buf;
		rc = mdb_put(txn, s->equiv, &k, &v, 0);
		free(buf);
		if (rc != 0)
			return ns__mdb(rc);
		if ((rc = ns__counter_add(txn, s, "equivocations", 1)) != 0 ||
		    (rc = ns__erasure_proof(txn, s, vv->origin)) != 0)
			return rc;
	} else if (rc != 0) {
		return ns__mdb(rc);
	}
	vv->quarantined = 1;
	return ns__vv_put(txn, s, vv);
}

/*
 * @p ev, the next seq of @p vv's origin, forks from the chain held (its prev
 * is not the id of event vv->seq): keep that event and @p ev as the proof.
 */
static int ns__fork(MDB_txn *txn, ns_store *s, ns_vv_entry *vv, const ns_event *ev)
{
	uint8_t hk[NS__LOGKEY];
	MDB_val k = { NS__LOGKEY, hk }, v;
	int rc;

	ns__logkey(hk, vv->origin, vv->seq);
	/* A proof carries both signatures: the head's own must be checked (chain.c). */
	if ((rc = ns__sig_evidence(txn, s, hk)) != 0)
		return rc;
	if ((rc = mdb_get(txn, s->log, &k, &v)) != 0)
		return ns__mdb(rc);
	return ns__equivocate(txn, s, vv, v.mv_data, v.mv_size, ev->raw, ev->raw_len);
}

/*
 * The checks a held event must pass again when its gap fills, since the
 * roster may have changed while it waited: the trust policy (origin
 * listed, role, revocation) and the store's own revocation record.
 */
static int ns__recheck_held(MDB_txn *txn, ns_store *s, const ns_event *ev)
{
	uint64_t from = ns__revoked_from(txn, s, ev->origin);
	int rc;

	if (from && ev->seq >= from)
		return NS_EREVOKED;
	if (s->trust && (rc = s->trust(s->trust_arg, ev)) != 0)
		return rc;
	return 0;
}

/*
 * Apply held successors of @vv's head while they chain. A held event that
 * no longer passes the trust checks is dropped with every held event of its
 * origin after it (the same checks refuse them all), each counted as
 * rejected.<reason>.
 */
static int ns__drain(MDB_txn *txn, ns_store *s, ns_vv_entry *vv, ns__refset *touched,
		     uint64_t *applied)
{
	for (;;) {
		uint8_t lk[NS__LOGKEY];
		MDB_val k = { NS__LOGKEY, lk }, v;
		ns_event *ev;
		int rc;

		ns__logkey(lk, vv->origin, vv->seq + 1);
		rc = mdb_get(txn, s->pending, &k, &v);
		if (rc == MDB_NOTFOUND)
			return 0;
		if (rc != 0)
			return ns__mdb(rc);
		if ((rc = ns__decode_stored(&v, 0, NULL, &ev)) != 0)
			return rc == NS_ENOMEM ? rc : NS_ECORRUPT;
		if (memcmp(ev->prev, vv->head, NS_ID_BYTES) != 0) {
			/*
			 * The held event forks from what we hold: proof with our head,
			 * unless the head's signature is bad (then it stays held until a
			 * valid copy of the head replaces it).
			 */
			rc = ns__fork(txn, s, vv, ev);
			ns_event_free(ev);
			return rc == NS_EAGAIN ? 0 : rc;
		}
		if ((rc = ns__recheck_held(txn, s, ev)) != 0) {
			uint64_t seq = ev->seq;
			ns_event_free(ev);
			return ns__unhold_from(txn, s, vv, seq, ns_reject_name(rc), NULL);
		}
		/*
		 * Held while its type was unknown, it missed the type's rules:
		 * check them now (a no-op for an event that passed them).
		 */
		rc = ns__write(txn, s, ev, touched, ns__type_rules(ev));
		if (rc == 0) {
			vv->seq = ev->seq;
			memcpy(vv->head, ev->id, NS_ID_BYTES);
			(*applied)++;
			rc = ns__unhold(txn, s, vv, lk);
		}
		ns_event_free(ev);
		if (rc != 0)
			return rc;
	}
}

/* The checks of an own event that need no store access. */
static int ns__own_valid(const ns_identity *id, const ns_input *in, int64_t now, ns_diag *d)
{
	int rc;

	if (in->payload == NULL)
		return ns_diag_set(d, NS_EVALID, "payload", "event has no payload");
	if ((rc = ns_validate_event(id->role, in->offender, in->type, in->payload, d)) != 0)
		return rc;
	if (in->recorded_by[0] != '\0' && !ns_is_user_id(in->recorded_by))
		return ns_diag_set(d, NS_EVALID, "recorded_by",
				   "'%.40s' is not a user id (1-127 printable characters, no spaces)", in->recorded_by);
	/* A business time ahead of this clock would win every "latest" rule of the fold. */
	if (now <= INT64_MAX - NS_CLOCK_SKEW_MAX && in->occurred_at > now + NS_CLOCK_SKEW_MAX) {
		char when[21];
		ns_time_format(when, in->occurred_at);
		return ns_diag_set(d, NS_EVALID, "occurred_at", "%s is more than %d minutes ahead of this node's clock",
				   when, NS_CLOCK_SKEW_MAX / 60);
	}
	return 0;
}

/* An own event the store checks against the events written before it (ns__append_check). */
static int ns__append_checked(const ns_input *in)
{
	return in->type == NOMSYNC__EVENT_TYPE__EVENT_CORRECTED || in->type == NOMSYNC__EVENT_TYPE__EVENT_ERASED ||
	       in->type == NOMSYNC__EVENT_TYPE__PERSON_MERGED;
}

/* The checks of an own event against the store: the target of a correction, an erasure, a merge cycle. */
static int ns__append_check(MDB_txn *txn, ns_store *s, const ns_input *in, ns_diag *d)
{
	int rc;

	if (in->type == NOMSYNC__EVENT_TYPE__EVENT_CORRECTED) {
		const char *hex = in->payload->event_corrected ? in->payload->event_corrected->target_event_id : NULL;
		uint8_t tid[NS_ID_BYTES], tlk[NS__LOGKEY];
		int found = ns_unhex(tid, NS_ID_BYTES, hex) == 0 ? ns__id_find(txn, s, tid, tlk) : NS_ENOTFOUND;
		if (found == NS_ENOTFOUND)
			return ns_diag_set(d, NS_EVALID, "target_event_id", "the event to correct is not held by this site");
		if (found != 0)
			return found;
		if (s->id.role != NS_ROLE_HUB && memcmp(tlk, s->id.pk, NS_KEY_BYTES) != 0)
			return ns_diag_set(d, NS_EROLE, "target_event_id",
					   "only the emitting site or a hub may correct an event");
	}
	if (in->type == NOMSYNC__EVENT_TYPE__EVENT_ERASED && (rc = ns__erasure_append(txn, s, in, d)) != 0)
		return rc;
	if (in->type == NOMSYNC__EVENT_TYPE__PERSON_MERGED && in->payload->person_merged) {
		const Nomsync__PersonMerged *m = in->payload->person_merged;
		if ((rc = ns__merge_cycle(txn, s, m->survivor, m->removed)) > 0)
			return ns_diag_set(d, NS_EVALID, "removed",
					   "%s is already merged, directly or through others, into %s: merging %s "
					   "into it would make a cycle",
					   m->survivor, m->removed, m->removed);
		return rc;
	}
	return 0;
}

/*
 * Put @p sig, the signature of @p ev, written by ns__write while it was
 * zero, into the stored copy (which an erasure may have stripped of its
 * payload: the signature follows the header in either form).
 */
static int ns__put_signature(MDB_txn *txn, ns_store *s, const ns_event *ev, const uint8_t sig[NS_SIG_BYTES])
{
	size_t off = (size_t)(ev->signature - ev->raw);
	uint8_t lk[NS__LOGKEY], *copy;
	MDB_val k = { NS__LOGKEY, lk }, v;
	int rc;

	ns__logkey(lk, ev->origin, ev->seq);
	if ((rc = mdb_get(txn, s->log, &k, &v)) != 0)
		return ns__mdb(rc);
	if (v.mv_size < off + NS_SIG_BYTES || memcmp((uint8_t *)v.mv_data, ev->raw, off) != 0)
		return NS_ECORRUPT;
	if ((copy = malloc(v.mv_size)) == NULL)
		return NS_ENOMEM;
	memcpy(copy, v.mv_data, v.mv_size);
	memcpy(copy + off, sig, NS_SIG_BYTES);
	v.mv_data = copy;
	rc = ns__mdb(mdb_put(txn, s->log, &k, &v, 0));
	free(copy);
	return rc;
}

/* The arguments of ns_store_append, for ns__retry. */
typedef struct ns__append_args {
	const ns_input *in;
	size_t n;
	uint8_t (*ids)[NS_ID_BYTES];
	size_t *bad;
	ns_diag *d;
} ns__append_args;

static int ns__append_once(ns_store *s, void *arg)
{
	const ns__append_args *a = arg;
	const ns_input *in = a->in;
	size_t n = a->n, *bad = a->bad;
	uint8_t (*ids)[NS_ID_BYTES] = a->ids;
	ns_diag *d = a->d;
	ns__refset touched = { 0 };
	ns_event **evs = NULL;
	uint8_t (*sigs)[NS_SIG_BYTES] = NULL;
	ns_vv_entry vv;
	MDB_txn *txn;
	int64_t now = (int64_t)time(NULL);
	int rc;

	if (bad)
		*bad = 0;
	if (s->flags & NS_STORE_RDONLY)
		return NS_EINVAL;
	if ((rc = ns__mdb(ns__txn(s, 0, &txn))) != 0)
		return rc;
	{
		char hold[4] = "";
		if (ns__meta_get(txn, s, "hold", hold, sizeof(hold)) == 0 && strcmp(hold, "1") == 0) {
			rc = ns_diag_set(d, NS_ELOCKED, "store",
					 "appends are held after a restore until nomsyncd has caught up this site's own "
					 "events from its peers (see docs/OPERATIONS.md)");
			goto abort;
		}
	}
	if ((rc = ns__vv_get(txn, s, s->id.pk, &vv, NULL)) != 0)
		goto abort;
	if (vv.quarantined) {
		rc = ns_diag_set(d, NS_EQUARANTINED, "origin",
				 "this site's own key is quarantined after an equivocation");
		goto abort;
	}
	snprintf(vv.site, sizeof(vv.site), "%s", s->id.site);
	vv.role = s->id.role;
	if ((evs = calloc(n ? n : 1, sizeof(*evs))) == NULL || (sigs = malloc((n ? n : 1) * NS_SIG_BYTES)) == NULL) {
		rc = NS_ENOMEM;
		goto abort;
	}
	/*
	 * In runs that start at an event the store must check against what is
	 * written before it (ns__append_check) and end before the next one. A
	 * helper thread builds a run in order with zero signatures, each
	 * checked here (ns__own_valid) while it is built and written as soon
	 * as it is, then signs it into sigs (sign.c); after the last run the touched
	 * persons are re-folded (the fold reads no signature) as the signing
	 * goes on; then the signatures go into the written events.
	 */
	for (size_t i = 0, end; i < n; i = end) {
		ns__signer *g;
		for (end = i + 1; end < n && !ns__append_checked(&in[end]); end++)
			;
		/* Checked before the store checks it (and again with the others below). */
		if ((ns__append_checked(&in[i]) && (rc = ns__own_valid(&s->id, &in[i], now, d)) != 0) ||
		    (rc = ns__append_check(txn, s, &in[i], d)) != 0) {
			if (bad)
				*bad = i;
			goto abort;
		}
		if ((rc = ns__signer_start(&g, &s->id, in + i, now, vv.seq, vv.head, evs + i, sigs + i, end - i)) != 0)
			goto abort;
		for (size_t k = i; k < end && rc == 0; k++) {
			/* Checked here while the helper thread builds it. */
			if ((rc = ns__own_valid(&s->id, &in[k], now, d)) != 0) {
				if (bad)
					*bad = k;
				break;
			}
			if ((rc = ns__signer_event(g, k - i)) != 0) {
				if (bad)
					*bad = k;
				ns_diag_set(d, rc, "event", "cannot build event: %s", ns_strerror(rc));
				break;
			}
			vv.seq = evs[k]->seq;
			memcpy(vv.head, evs[k]->id, NS_ID_BYTES);
			rc = ns__write(txn, s, evs[k], &touched, 0);
		}
		if (rc == 0 && end == n)
			rc = ns__refold(txn, s, &touched);
		ns__signer_finish(g, rc != 0);
		for (size_t k = i; k < end && rc == 0; k++) {
			rc = ns__put_signature(txn, s, evs[k], sigs[k]);
			if (ids)
				memcpy(ids[k], evs[k]->id, NS_ID_BYTES);
			ns_event_free(evs[k]);
			evs[k] = NULL;
		}
		if (rc != 0)
			goto abort;
	}
	free(evs);
	evs = NULL;
	free(sigs);
	sigs = NULL;
	if ((rc = ns__vv_put(txn, s, &vv)) != 0 || (rc = ns__counter_add(txn, s, "appended", n)) != 0 ||
	    (n == 0 && (rc = ns__refold(txn, s, &touched)) != 0))
		goto abort;
	{
		int mrc = mdb_txn_commit(txn);
		free(touched.ref);
		if (mrc != 0)
			rc = ns__commit_error(s, mrc, d);
		else
			ns__warm_tail(s);
	}
	return rc;
abort:
	mdb_txn_abort(txn);
	free(touched.ref);
	for (size_t i = 0; evs && i < n; i++)
		ns_event_free(evs[i]);
	free(evs);
	free(sigs);
	if (rc == NS_EMAPFULL)
		ns_diag_set(d, rc, "store", "nothing was written: the store's map or the disk is full");
	return rc;
}

int ns_store_append(ns_store *s, const ns_input *in, size_t n, uint8_t (*ids)[NS_ID_BYTES],
		    size_t *bad, ns_diag *d)
{
	ns__append_args a = { in, n, ids, bad, d };
	uint64_t t0 = ns_thread_cpu_nanos();
	int rc = ns__retry(s, ns__append_once, &a, d);

	ns__cpu_charge(s, NS_CPU_APPEND, t0);
	return rc;
}

/* Checks that need no store access, after the signatures (by runs): trust, role and content. */
static int ns__precheck(ns_store *s, const ns_event *ev)
{
	int rc;

	if (s->trust && (rc = s->trust(s->trust_arg, ev)) != 0)
		return rc;
	if (ns_validate_site(ev->role, ev->site, NULL) != 0)
		return NS_EVALID;
	return ns__type_rules(ev); /* none for a type this release does not know */
}

/*
 * An event authenticated by a run's tip (@p covered) must have its own
 * signature checked before it is held, completes or replaces a copy, or
 * serves as evidence: 0 if it verifies (*covered cleared), else NS_ESIG.
 */
static int ns__own_sig(const ns_event *ev, int *covered)
{
	if (!*covered)
		return 0;
	if (ns_event_verify(ev) != 0)
		return NS_ESIG;
	*covered = 0;
	return 0;
}

/*
 * Ingest one pre-checked event from @p sender (may be NULL) inside the batch
 * transaction; @p covered: its own signature is not checked (see
 * ns_store_ingest_covered).
 */
static int ns__ingest_one(MDB_txn *txn, ns_store *s, const ns_event *ev, const char *sender, int covered,
			  ns__refset *touched, uint64_t *applied, uint64_t *marked)
{
	uint8_t lk[NS__LOGKEY];
	MDB_val k = { NS__LOGKEY, lk }, v;
	ns_vv_entry vv;
	int found, rc;

	if ((rc = ns__vv_get(txn, s, ev->origin, &vv, &found)) != 0)
		return rc;
	if (!found) {
		snprintf(vv.site, sizeof(vv.site), "%s", ev->site);
		vv.role = ev->role;
	}
	if (vv.quarantined)
		return NS_EQUARANTINED;
	uint64_t revoked = ns__revoked_from(txn, s, ev->origin);
	if (revoked && ev->seq >= revoked)
		return NS_EREVOKED;
	ns__logkey(lk, ev->origin, ev->seq);
	rc = mdb_get(txn, s->log, &k, &v);
	if (rc == 0) {
		/*
		 * The same (origin, seq): the same event, or a fork. The same bytes
		 * are the same event; otherwise compare ids (the hash of the
		 * header), since either copy's payload may have been erased.
		 */
		int same = v.mv_size == ev->raw_len && memcmp(v.mv_data, ev->raw, ev->raw_len) == 0;
		if (!same) {
			ns_event *held;
			if ((rc = ns__decode_stored(&v, NS_DECODE_TRUSTED, NULL, &held)) != 0)
				return rc == NS_ENOMEM ? rc : NS_ECORRUPT;
			same = memcmp(held->id, ev->id, NS_ID_BYTES) == 0;
			ns_event_free(held);
		}
		if (same && ev->payload_len > 0 && ns__is_incomplete(txn, s, lk)) {
			/* The payload of an event stored without it (decode checked its hash). */
			if ((rc = ns__own_sig(ev, &covered)) != 0 || (rc = ns__complete(txn, s, ev, lk, touched)) != 0 ||
			    (rc = ns__sig_checked(txn, s, lk)) != 0)
				return rc;
			return NS_INGEST_APPLIED;
		}
		if (same) {
			/* A copy held with its signature unchecked or bad: a checked copy replaces it. */
			if (ns__sig_pending(txn, s, lk) && (rc = ns__sig_replace(txn, s, ev, lk, &v, !covered)) != 0)
				return rc;
			return NS_INGEST_DUPLICATE;
		}
		/* A proof carries both signatures: both must be checked. */
		if ((rc = ns__own_sig(ev, &covered)) != 0 || (rc = ns__sig_evidence(txn, s, lk)) != 0)
			return rc;
		if ((rc = mdb_get(txn, s->log, &k, &v)) != 0)
			return ns__mdb(rc);
		rc = ns__equivocate(txn, s, &vv, v.mv_data, v.mv_size, ev->raw, ev->raw_len);
		return rc ? rc : NS_EEQUIV;
	}
	if (rc != MDB_NOTFOUND)
		return ns__mdb(rc);
	if (ev->seq == vv.seq + 1) {
		if (memcmp(ev->prev, vv.head, NS_ID_BYTES) != 0) {
			if ((rc = ns__own_sig(ev, &covered)) != 0)
				return rc;
			rc = ns__fork(txn, s, &vv, ev);
			return rc ? rc : NS_EEQUIV;
		}
		if ((rc = ns__write(txn, s, ev, touched, 0)) != 0)
			return rc;
		if (covered) {
			if ((rc = ns__sig_mark(txn, s, lk, sender)) != 0)
				return rc;
			(*marked)++;
		}
		vv.seq = ev->seq;
		memcpy(vv.head, ev->id, NS_ID_BYTES);
		(*applied)++;
		if ((rc = ns__drain(txn, s, &vv, touched, applied)) != 0)
			return rc;
		if (vv.quarantined)
			return NS_INGEST_APPLIED; /* drain found a fork further on */
		if ((rc = ns__vv_put(txn, s, &vv)) != 0)
			return rc;
		return NS_INGEST_APPLIED;
	}
	/* A gap: hold it (its own signature checked), unless a different event already holds the slot. */
	if ((rc = ns__own_sig(ev, &covered)) != 0)
		return rc;
	rc = mdb_get(txn, s->pending, &k, &v);
	if (rc == 0) {
		uint8_t id[NS_ID_BYTES];
		size_t held_payload;
		ns_event *held;
		if ((rc = ns__decode_stored(&v, 0, NULL, &held)) != 0)
			return rc == NS_ENOMEM ? rc : NS_ECORRUPT;
		memcpy(id, held->id, NS_ID_BYTES);
		held_payload = held->payload_len;
		ns_event_free(held);
		if (memcmp(id, ev->id, NS_ID_BYTES) != 0) {
			rc = ns__equivocate(txn, s, &vv, v.mv_data, v.mv_size, ev->raw, ev->raw_len);
			return rc ? rc : NS_EEQUIV;
		}
		if (held_payload > 0 || ev->payload_len == 0)
			return NS_INGEST_DUPLICATE;
		/* Held without its payload: keep this complete copy instead. */
		if ((rc = ns__unhold(txn, s, &vv, lk)) != 0)
			return rc;
	} else if (rc != MDB_NOTFOUND) {
		return ns__mdb(rc);
	}
	if ((rc = ns__hold(txn, s, &vv, ev, sender)) != 0)
		return rc;
	if ((rc = ns__vv_put(txn, s, &vv)) != 0)
		return rc;
	return NS_INGEST_HELD;
}

/* The arguments of ns_store_ingest, for ns__retry. */
typedef struct ns__ingest_args {
	ns_event *const *evs;
	size_t n;
	unsigned flags;
	int *results;
	const int *saved; /* with NS_INGEST_VERIFIED: the caller's pre-check results */
	const char *const *senders;
	const uint8_t *covered; /* NULL, or per event: its own signature is not checked */
	ns_diag *d;
} ns__ingest_args;

static int ns__ingest_once(ns_store *s, void *arg)
{
	const ns__ingest_args *a = arg;
	ns_event *const *evs = a->evs;
	size_t n = a->n;
	unsigned flags = a->flags;
	int *results = a->results;
	ns_diag *d = a->d;
	ns__refset touched = { 0 };
	uint64_t applied = 0, dups = 0, held = 0, marked = 0;
	MDB_txn *txn;
	int rc;

	ns_diag_clear(d);
	/* A retry must start from the caller's pre-check results. */
	memcpy(results, a->saved, n * sizeof(*results));
	if (s->flags & NS_STORE_RDONLY)
		return NS_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (results[i] == 0)
			results[i] = evs[i] ? ns__precheck(s, evs[i]) : NS_EDECODE;
	if ((rc = ns__txn(s, 0, &txn)) != 0) {
		ns_diag_set(d, ns__mdb(rc), "store", "cannot begin a write: %s", mdb_strerror(rc));
		return ns__mdb(rc);
	}
	s->txn_defer_ids = (flags & NS_INGEST_DEFER_FOLD) != 0 && s->has_newids;
	s->newid_next = 0;
	for (size_t i = 0; i < n; i++) {
		if (results[i] == 0) {
			rc = ns__ingest_one(txn, s, evs[i], a->senders ? a->senders[i] : NULL,
					    a->covered ? a->covered[i] : 0, &touched, &applied, &marked);
			if (rc == NS_ENOMEM || rc == NS_EMAPFULL || rc == NS_ESTORE || rc == NS_ECORRUPT)
				goto abort;
			results[i] = rc;
		}
		if (results[i] == NS_INGEST_DUPLICATE)
			dups++;
		else if (results[i] == NS_INGEST_HELD)
			held++;
		else if (results[i] < 0 && (rc = ns__counter_add(txn, s, ns_reject_name(results[i]), 1)) != 0)
			goto abort;
	}
	if ((rc = ns__counter_add(txn, s, "ingested", applied)) != 0 ||
	    (rc = ns__counter_add(txn, s, "duplicates", dups)) != 0 ||
	    (rc = ns__counter_add(txn, s, "held", held)) != 0 ||
	    (rc = ns__counter_add(txn, s, "sig.covered", marked)) != 0 ||
	    (rc = (flags & NS_INGEST_DEFER_FOLD) ? ns__defer(txn, s, &touched) : ns__refold(txn, s, &touched)) != 0)
		goto abort;
	s->txn_defer_ids = 0;
	rc = mdb_txn_commit(txn);
	free(touched.ref);
	if (rc != 0)
		return ns__commit_error(s, rc, d);
	ns__warm_tail(s);
	return 0;
abort:
	s->txn_defer_ids = 0;
	mdb_txn_abort(txn);
	free(touched.ref);
	return rc;
}

int ns_store_ingest(ns_store *s, ns_event *const *evs, size_t n, unsigned flags, int *results,
		    ns_diag *d)
{
	return ns_store_ingest_from(s, evs, n, flags, NULL, results, d);
}

int ns_store_ingest_from(ns_store *s, ns_event *const *evs, size_t n, unsigned flags,
			 const char *const *senders, int *results, ns_diag *d)
{
	uint8_t *covered = NULL;
	int rc;

	if (flags & NS_INGEST_VERIFIED)
		return ns_store_ingest_covered(s, evs, n, flags, senders, NULL, results, d);
	/* Signatures by runs (chain.c): one verify per contiguous run of an origin. */
	if ((covered = malloc(n ? n : 1)) == NULL)
		return NS_ENOMEM;
	for (size_t i = 0; i < n; i++)
		results[i] = evs[i] ? 0 : NS_EDECODE;
	uint64_t t0 = ns_thread_cpu_nanos();
	ns_verify_runs(evs, n, results, covered);
	ns__cpu_charge(s, NS_CPU_VERIFY, t0);
	rc = ns_store_ingest_covered(s, evs, n, flags, senders, covered, results, d);
	free(covered);
	return rc;
}

int ns_store_ingest_covered(ns_store *s, ns_event *const *evs, size_t n, unsigned flags,
			    const char *const *senders, const uint8_t *covered, int *results, ns_diag *d)
{
	ns__ingest_args a = { evs, n, flags | NS_INGEST_VERIFIED, results, NULL, senders, covered, d };
	int *saved, rc;

	if ((saved = malloc((n ? n : 1) * sizeof(*saved))) == NULL)
		return NS_ENOMEM;
	memcpy(saved, results, n * sizeof(*saved));
	a.saved = saved;
	uint64_t t0 = ns_thread_cpu_nanos();
	rc = ns__retry(s, ns__ingest_once, &a, d);
	ns__cpu_charge(s, NS_CPU_INGEST, t0);
	free(saved);
	return rc;
}
