/*
 * ns_store_verify: re-check the log, the id index, the version vector, the
 * unknown and rejected records, and every stored view against a fresh fold,
 * in one read transaction.
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ns__report(ns_verify_report *r, const char *fmt, const char *a, uint64_t b)
{
	if (r->bad++ == 0)
		snprintf(r->first, sizeof(r->first), fmt, a, (unsigned long long)b);
}

static int ns__id_cmp(const void *key, const void *entry)
{
	return memcmp(key, entry, NS_ID_BYTES);
}

/*
 * Check the log: every event decodes, verifies, sits under its own key and
 * chains, and the id index (ids, or newids while deferred) points at it.
 */
static int ns__verify_log(MDB_txn *txn, ns_store *s, ns_verify_report *r)
{
	MDB_cursor *c;
	MDB_val k, v;
	uint8_t cur[NS_KEY_BYTES], prev_id[NS_ID_BYTES], *newids;
	uint64_t cur_seq = 0;
	size_t nnew, matched = 0;
	int have = 0, g, rc;

	if ((rc = ns__newids_load(txn, s, &newids, &nnew)) != 0) {
		free(newids);
		return rc;
	}
	r->unindexed = nnew;
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->log, &c))) != 0) {
		free(newids);
		return rc;
	}
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		char oh[2 * NS_KEY_BYTES + 1] = "?";
		ns_event *ev;
		r->events++;
		if (k.mv_size != NS__LOGKEY) {
			ns__report(r, "log key of bad size (%s) at entry %llu", "", r->events);
			continue;
		}
		ns_hex(oh, k.mv_data, NS_KEY_BYTES);
		uint64_t seq = ns__get_be64((const uint8_t *)k.mv_data + NS_KEY_BYTES);
		if (ns__decode_stored(&v, 0, NULL, &ev) != 0) {
			ns__report(r, "origin %s seq %llu: event does not decode or its payload hash differs", oh, seq);
			have = 0;
			continue;
		}
		if (ev->type_unknown) {
			/* Of a newer release's type (in unknown), or unreadable and rejected. */
			MDB_val mv;
			int readable = ns_type_name(ev->type) == NULL;
			if (!s->has_upgrade || mdb_get(txn, readable ? s->unknown : s->rejected, &k, &mv) != 0)
				ns__report(r, readable ? "origin %s seq %llu: event of an unknown type is not in unknown"
						       : "origin %s seq %llu: payload does not decode for its type",
					   oh, seq);
		}
		if (ns__sig_pending(txn, s, k.mv_data))
			r->unchecked++; /* authentic by its run's tip; its own signature awaits its check */
		else if (ns_event_verify(ev) != 0)
			ns__report(r, "origin %s seq %llu: signature does not verify", oh, seq);
		if (memcmp(ev->origin, k.mv_data, NS_KEY_BYTES) != 0 || ev->seq != seq)
			ns__report(r, "origin %s seq %llu: stored under the wrong key", oh, seq);
		if (!have || memcmp(cur, ev->origin, NS_KEY_BYTES) != 0) {
			memcpy(cur, ev->origin, NS_KEY_BYTES);
			cur_seq = 0;
			memset(prev_id, 0, sizeof(prev_id));
			have = 1;
		}
		if (ev->seq != cur_seq + 1)
			ns__report(r, "origin %s: gap before seq %llu", oh, seq);
		else if (memcmp(ev->prev, prev_id, NS_ID_BYTES) != 0)
			ns__report(r, "origin %s seq %llu: prev hash does not match the previous event", oh, seq);
		{
			/* In ids, or deferred in newids (or both, mid-pass). */
			MDB_val ik = { NS_ID_BYTES, ev->id }, iv;
			const uint8_t *e = nnew ? bsearch(ev->id, newids, nnew, NS__NEWID, ns__id_cmp) : NULL;
			int deferred = e && memcmp(e + NS_ID_BYTES, k.mv_data, NS__LOGKEY) == 0;
			matched += deferred;
			if (!deferred && (mdb_get(txn, s->ids, &ik, &iv) != 0 || iv.mv_size != NS__LOGKEY ||
					  memcmp(iv.mv_data, k.mv_data, NS__LOGKEY) != 0))
				ns__report(r, "origin %s seq %llu: id index does not point at the event", oh, seq);
		}
		cur_seq = ev->seq;
		memcpy(prev_id, ev->id, NS_ID_BYTES);
		ns_event_free(ev);
	}
	mdb_cursor_close(c);
	free(newids);
	if (matched != nnew)
		ns__report(r, "deferred id index%s: %llu of its entries point at no event", "", nnew - matched);
	return g == MDB_NOTFOUND ? 0 : ns__mdb(g);
}

/* Every version vector entry must name the last event of its origin's log. */
static int ns__verify_vector(MDB_txn *txn, ns_store *s, ns_verify_report *r)
{
	MDB_cursor *c;
	MDB_val k, v;
	int g, rc;

	if ((rc = ns__mdb(mdb_cursor_open(txn, s->vv, &c))) != 0)
		return rc;
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		char oh[2 * NS_KEY_BYTES + 1];
		uint8_t lk[NS__LOGKEY];
		MDB_val lkv = { NS__LOGKEY, lk }, lv;
		ns_vv_entry e;
		ns_event *ev;

		if (k.mv_size != NS_KEY_BYTES || ns__vv_decode(&e, k.mv_data, &v) != 0) {
			ns__report(r, "damaged version vector entry%s (%llu)", "", 0);
			continue;
		}
		ns_hex(oh, e.origin, NS_KEY_BYTES);
		ns__logkey(lk, e.origin, e.seq + 1);
		if (mdb_get(txn, s->log, &lkv, &lv) == 0)
			ns__report(r, "origin %s: log holds events past the version vector's seq %llu", oh,
				   e.seq);
		if (e.seq == 0)
			continue;
		ns__logkey(lk, e.origin, e.seq);
		if (mdb_get(txn, s->log, &lkv, &lv) != 0 || ns__decode_stored(&lv, 0, NULL, &ev) != 0) {
			ns__report(r, "origin %s: head event seq %llu is missing or damaged", oh, e.seq);
			continue;
		}
		if (memcmp(ev->id, e.head, NS_ID_BYTES) != 0)
			ns__report(r, "origin %s: version vector head differs from event seq %llu", oh, e.seq);
		ns_event_free(ev);
	}
	mdb_cursor_close(c);
	return g == MDB_NOTFOUND ? 0 : ns__mdb(g);
}

/*
 * Every entry of unknown and rejected names an event of the log; one of
 * unknown, with the event's type.
 */
static int ns__verify_marks(MDB_txn *txn, ns_store *s, ns_verify_report *r)
{
	MDB_dbi dbs[2] = { s->unknown, s->rejected };
	int g = MDB_NOTFOUND, rc;

	for (int i = 0; i < 2 && s->has_upgrade; i++) {
		const char *name = i ? "rejected" : "unknown";
		MDB_cursor *c;
		MDB_val k, v, lv;

		if ((rc = ns__mdb(mdb_cursor_open(txn, dbs[i], &c))) != 0)
			return rc;
		for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
			ns_event *ev = NULL;
			if (k.mv_size != NS__LOGKEY || v.mv_size != 4 || mdb_get(txn, s->log, &k, &lv) != 0 ||
			    ns__decode_stored(&lv, NS_DECODE_TRUSTED, NULL, &ev) != 0 ||
			    (i == 0 && ev->type != ns__get_be32(v.mv_data)))
				ns__report(r, "%s: an entry names no event of the log, or of another type (seq %llu)", name,
					   k.mv_size == NS__LOGKEY ? ns__get_be64((const uint8_t *)k.mv_data + NS_KEY_BYTES)
								   : 0);
			ns_event_free(ev);
		}
		mdb_cursor_close(c);
		if (g != MDB_NOTFOUND)
			break;
	}
	return g == MDB_NOTFOUND ? 0 : ns__mdb(g);
}

/*
 * Every incomplete entry names an event of the log held without its
 * payload; every revocation has a from_seq; every held event is accounted
 * for in heldinfo and heldinfo names only held events.
 */
static int ns__verify_trust(MDB_txn *txn, ns_store *s, ns_verify_report *r)
{
	MDB_cursor *c;
	MDB_val k, v, lv;
	int g = MDB_NOTFOUND, rc;

	if (!s->has_trust)
		return 0;
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->incomplete, &c))) != 0)
		return rc;
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		ns_event *ev = NULL;
		if (k.mv_size != NS__LOGKEY || v.mv_size != 8 || mdb_get(txn, s->log, &k, &lv) != 0 ||
		    ns__decode_stored(&lv, NS_DECODE_TRUSTED, NULL, &ev) != 0 || ev->payload_len != 0)
			ns__report(r, "incomplete%s: an entry names no event of the log held without payload (seq %llu)",
				   "", k.mv_size == NS__LOGKEY ? ns__get_be64((const uint8_t *)k.mv_data + NS_KEY_BYTES) : 0);
		ns_event_free(ev);
	}
	mdb_cursor_close(c);
	if (g != MDB_NOTFOUND)
		return ns__mdb(g);
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->revoked, &c))) != 0)
		return rc;
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT))
		if (k.mv_size != NS_KEY_BYTES || v.mv_size != 8 || ns__get_be64(v.mv_data) == 0)
			ns__report(r, "revoked%s: a damaged entry (%llu)", "", 0);
	mdb_cursor_close(c);
	if (g != MDB_NOTFOUND)
		return ns__mdb(g);
	if (s->has_unsig) {
		if ((rc = ns__mdb(mdb_cursor_open(txn, s->unsig, &c))) != 0)
			return rc;
		for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT))
			if (k.mv_size != NS__LOGKEY || mdb_get(txn, s->log, &k, &lv) != 0)
				ns__report(r, "unsig%s: an entry names no event of the log (seq %llu)", "",
					   k.mv_size == NS__LOGKEY ? ns__get_be64((const uint8_t *)k.mv_data + NS_KEY_BYTES) : 0);
		mdb_cursor_close(c);
		if (g != MDB_NOTFOUND)
			return ns__mdb(g);
	}
	for (int i = 0; i < 2; i++) {
		MDB_dbi from = i ? s->heldinfo : s->pending, to = i ? s->pending : s->heldinfo;
		if ((rc = ns__mdb(mdb_cursor_open(txn, from, &c))) != 0)
			return rc;
		for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT))
			if (mdb_get(txn, to, &k, &lv) != 0)
				ns__report(r, "%s: a held event is not accounted for (seq %llu)", i ? "heldinfo" : "pending",
					   k.mv_size == NS__LOGKEY ? ns__get_be64((const uint8_t *)k.mv_data + NS_KEY_BYTES) : 0);
		mdb_cursor_close(c);
		if (g != MDB_NOTFOUND)
			return ns__mdb(g);
	}
	return 0;
}

/* Re-fold every person and compare with the stored view. */
static int ns__verify_views(MDB_txn *txn, ns_store *s, ns_verify_report *r)
{
	MDB_cursor *c;
	MDB_val k, v;
	ns__refset rs = { 0 };
	int g, rc, dirty = ns__dirty_count(txn, s) > 0;
	ns_access *acc = calloc(1, sizeof(*acc));

	if (acc == NULL)
		return NS_ENOMEM;
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->views, &c))) != 0) {
		free(acc);
		return rc;
	}
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		char ref[NS_REF_MAX], *json = NULL;
		size_t len = 0;
		r->views++;
		if (k.mv_size >= NS_REF_MAX) {
			ns__report(r, "view key too long%s (%llu)", "", r->views);
			continue;
		}
		memcpy(ref, k.mv_data, k.mv_size);
		ref[k.mv_size] = '\0';
		if ((rc = ns__component(txn, s, ref, &rs)) != 0 ||
		    (rc = ns__fold_component(txn, s, &rs, &json, &len, NULL, acc)) != 0) {
			ns__report(r, "view of %s cannot be re-folded (%llu)", ref, 0);
			continue;
		}
		if (dirty && ns__dirty_any(txn, s, &rs))
			; /* folded fine; the stored view awaits its deferred fold */
		else if (len != v.mv_size || memcmp(json, v.mv_data, len) != 0)
			ns__report(r, "stored view of %s differs from a fresh fold (%llu events)", ref, 0);
		else if (!ns__access_matches(txn, s, ref, acc))
			ns__report(r, "stored access record of %s differs from a fresh fold (%llu)", ref, 0);
		free(json);
	}
	mdb_cursor_close(c);
	free(rs.ref);
	free(acc);
	r->pending = ns__dirty_count(txn, s);
	return g == MDB_NOTFOUND ? 0 : ns__mdb(g);
}

int ns_store_verify(ns_store *s, ns_verify_report *r)
{
	MDB_txn *txn;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	if ((rc = ns__verify_log(txn, s, r)) == 0 && (rc = ns__verify_vector(txn, s, r)) == 0 &&
	    (rc = ns__verify_marks(txn, s, r)) == 0 && (rc = ns__verify_trust(txn, s, r)) == 0)
		rc = ns__verify_views(txn, s, r);
	mdb_txn_abort(txn);
	if (rc != 0)
		return rc;
	return r->bad ? NS_ECORRUPT : 0;
}
