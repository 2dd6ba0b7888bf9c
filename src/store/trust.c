/*
 * What a relay cannot forge but could suppress or abuse: events stored
 * without their payload (incomplete until a complete copy arrives),
 * revoked keys (their events from a seq on are never folded or relayed),
 * and the events held for a gap (bounded by a window, by bytes per origin
 * and per sending peer, and by age). See docs/RELIABILITY.md, "Trust
 * hardening (issue 10)".
 *
 *   incomplete  log key -> first seen (8 BE)
 *   revoked     origin  -> from_seq (8 BE)
 *   heldinfo    log key -> first seen (8 BE), length (4 BE), sender (16)
 *   heldsum     origin (32 bytes) or "@" sender (2..16 bytes) -> bytes held (8 BE)
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int ns__trust_open(MDB_txn *txn, ns_store *s, int writable)
{
	struct {
		const char *name;
		MDB_dbi *dbi;
	} dbs[] = {
		{ "incomplete", &s->incomplete },
		{ "revoked", &s->revoked },
		{ "heldinfo", &s->heldinfo },
		{ "heldsum", &s->heldsum },
	};
	int fresh = 0, rc;

	s->has_trust = 0;
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		rc = mdb_dbi_open(txn, dbs[i].name, 0, dbs[i].dbi);
		if (rc == MDB_NOTFOUND && !writable)
			return 0; /* read-only, older store: nothing incomplete, revoked or accounted */
		if (rc == MDB_NOTFOUND) {
			rc = mdb_dbi_open(txn, dbs[i].name, MDB_CREATE, dbs[i].dbi);
			fresh |= dbs[i].dbi == &s->heldinfo;
		}
		if (rc != 0)
			return ns__mdb(rc);
	}
	s->has_trust = 1;
	if (!fresh)
		return 0;
	/* Events held by an older release: account for them, dated to now. */
	MDB_cursor *c;
	MDB_val k, v;
	int g;
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->pending, &c))) != 0)
		return rc;
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0 && rc == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		uint8_t info[NS__HELDINFO] = { 0 }, sum[8];
		MDB_val ik = { NS_KEY_BYTES, k.mv_data }, iv = { NS__HELDINFO, info }, sv;
		uint64_t have = 0;
		if (k.mv_size != NS__LOGKEY)
			continue;
		ns__put_be64(info, (uint64_t)time(NULL));
		ns__put_be32(info + 8, (uint32_t)v.mv_size);
		if ((rc = ns__mdb(mdb_put(txn, s->heldinfo, &k, &iv, 0))) != 0)
			break;
		if (mdb_get(txn, s->heldsum, &ik, &sv) == 0 && sv.mv_size == 8)
			have = ns__get_be64(sv.mv_data);
		ns__put_be64(sum, have + v.mv_size);
		sv.mv_size = 8;
		sv.mv_data = sum;
		rc = ns__mdb(mdb_put(txn, s->heldsum, &ik, &sv, 0));
	}
	mdb_cursor_close(c);
	return rc != 0 ? rc : g == MDB_NOTFOUND ? 0 : ns__mdb(g);
}

static uint64_t ns__count(MDB_txn *txn, MDB_dbi dbi)
{
	MDB_stat st;
	return mdb_stat(txn, dbi, &st) == 0 ? st.ms_entries : 0;
}

int ns__trust_any(MDB_txn *txn, ns_store *s)
{
	return s->has_trust && (ns__count(txn, s->incomplete) > 0 || ns__count(txn, s->revoked) > 0);
}

int ns__is_incomplete(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY])
{
	MDB_val k = { NS__LOGKEY, (void *)lk }, v;
	return s->has_trust && mdb_get(txn, s->incomplete, &k, &v) == 0;
}

uint64_t ns__revoked_from(MDB_txn *txn, ns_store *s, const uint8_t *origin)
{
	MDB_val k = { NS_KEY_BYTES, (void *)origin }, v;
	if (!s->has_trust || mdb_get(txn, s->revoked, &k, &v) != 0 || v.mv_size != 8)
		return 0;
	return ns__get_be64(v.mv_data);
}

int ns__mark_incomplete(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY])
{
	uint8_t t[8];
	MDB_val k = { NS__LOGKEY, (void *)lk }, v = { 8, t };

	if (!s->has_trust)
		return NS_EINVAL; /* a read-only store is never written */
	ns__put_be64(t, (uint64_t)time(NULL));
	return ns__mdb(mdb_put(txn, s->incomplete, &k, &v, 0));
}

int ns__unmark_incomplete(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY])
{
	MDB_val k = { NS__LOGKEY, (void *)lk };
	int rc;

	if (!s->has_trust)
		return 0;
	rc = mdb_del(txn, s->incomplete, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : ns__mdb(rc);
}

int ns__complete(MDB_txn *txn, ns_store *s, const ns_event *ev, const uint8_t lk[NS__LOGKEY],
		 ns__refset *touched)
{
	MDB_val k = { NS__LOGKEY, (void *)lk }, v = { ev->raw_len, ev->raw };
	int rc;

	if ((rc = ns__mdb(mdb_put(txn, s->log, &k, &v, 0))) != 0 ||
	    (rc = ns__mdb(mdb_del(txn, s->incomplete, &k, NULL))) != 0 ||
	    (rc = ns__counter_add(txn, s, "completed", 1)) != 0)
		return rc;
	if (strcmp(ev->offender, NS_ROSTER_REF) == 0)
		return 0;
	if ((rc = ns__refset_add(touched, ev->offender)) != 0)
		return rc;
	/* Rejected events add no links; an incomplete one could not, having no payload. */
	MDB_val rv;
	if (s->has_upgrade && mdb_get(txn, s->rejected, &k, &rv) == 0)
		return 0;
	return ns__links(txn, s, ev, touched);
}

/* heldsum key of an origin (32 bytes) or of "@" sender. */
static size_t ns__sumkey(uint8_t out[NS_KEY_BYTES], const uint8_t *origin, const char *sender)
{
	if (origin) {
		memcpy(out, origin, NS_KEY_BYTES);
		return NS_KEY_BYTES;
	}
	size_t n = strnlen(sender, NS_SITE_MAX - 1);
	out[0] = '@';
	memcpy(out + 1, sender, n);
	return n + 1;
}

static uint64_t ns__sum_get(MDB_txn *txn, ns_store *s, const uint8_t *key, size_t klen)
{
	MDB_val k = { klen, (void *)key }, v;
	return mdb_get(txn, s->heldsum, &k, &v) == 0 && v.mv_size == 8 ? ns__get_be64(v.mv_data) : 0;
}

static int ns__sum_put(MDB_txn *txn, ns_store *s, const uint8_t *key, size_t klen, uint64_t val)
{
	uint8_t b[8];
	MDB_val k = { klen, (void *)key }, v = { 8, b };
	int rc;

	if (val > 0) {
		ns__put_be64(b, val);
		return ns__mdb(mdb_put(txn, s->heldsum, &k, &v, 0));
	}
	rc = mdb_del(txn, s->heldsum, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : ns__mdb(rc);
}

int ns__hold(MDB_txn *txn, ns_store *s, ns_vv_entry *vv, const ns_event *ev, const char *sender)
{
	uint8_t lk[NS__LOGKEY], ok[NS_KEY_BYTES], sk[NS_KEY_BYTES], info[NS__HELDINFO] = { 0 };
	MDB_val k = { NS__LOGKEY, lk }, v = { ev->raw_len, ev->raw };
	uint64_t ob, sb = 0;
	size_t olen, slen = 0;
	int rc;

	if (s->lim.held_window && ev->seq - vv->seq > s->lim.held_window)
		return NS_EHELDWINDOW;
	if (!s->has_trust)
		return NS_EINVAL;
	if (sender && !*sender)
		sender = NULL;
	olen = ns__sumkey(ok, ev->origin, NULL);
	ob = ns__sum_get(txn, s, ok, olen);
	if (s->lim.origin_bytes && ob + ev->raw_len > s->lim.origin_bytes)
		return NS_EHELDFULL;
	if (sender) {
		slen = ns__sumkey(sk, NULL, sender);
		sb = ns__sum_get(txn, s, sk, slen);
		if (s->lim.sender_bytes && sb + ev->raw_len > s->lim.sender_bytes)
			return NS_EHELDFULL;
	}
	ns__logkey(lk, ev->origin, ev->seq);
	{
		/* Held erased if an erasure this store holds names it (erase.c). */
		uint8_t *erased;
		if ((rc = ns__erasure_bytes(txn, s, ev, &v, &erased)) != 0)
			return rc;
		rc = ns__mdb(mdb_put(txn, s->pending, &k, &v, 0));
		free(erased);
		if (rc != 0)
			return rc;
	}
	ns__put_be64(info, (uint64_t)time(NULL));
	ns__put_be32(info + 8, (uint32_t)ev->raw_len);
	if (sender)
		memcpy(info + 12, sender, slen - 1);
	v.mv_size = NS__HELDINFO;
	v.mv_data = info;
	if ((rc = ns__mdb(mdb_put(txn, s->heldinfo, &k, &v, 0))) != 0 ||
	    (rc = ns__sum_put(txn, s, ok, olen, ob + ev->raw_len)) != 0 ||
	    (sender && (rc = ns__sum_put(txn, s, sk, slen, sb + ev->raw_len)) != 0))
		return rc;
	vv->held++;
	return 0;
}

int ns__unhold(MDB_txn *txn, ns_store *s, ns_vv_entry *vv, const uint8_t lk[NS__LOGKEY])
{
	MDB_val k = { NS__LOGKEY, (void *)lk }, v;
	uint8_t key[NS_KEY_BYTES];
	uint64_t len = 0;
	int rc;

	if ((rc = mdb_get(txn, s->pending, &k, &v)) != 0)
		return rc == MDB_NOTFOUND ? 0 : ns__mdb(rc);
	len = v.mv_size;
	if ((rc = ns__mdb(mdb_del(txn, s->pending, &k, NULL))) != 0)
		return rc;
	if (vv->held)
		vv->held--;
	if (!s->has_trust)
		return 0;
	if ((rc = mdb_get(txn, s->heldinfo, &k, &v)) == 0 && v.mv_size == NS__HELDINFO) {
		char sender[NS_SITE_MAX] = "";
		memcpy(sender, (const uint8_t *)v.mv_data + 12, NS_SITE_MAX - 1);
		if ((rc = ns__mdb(mdb_del(txn, s->heldinfo, &k, NULL))) != 0)
			return rc;
		if (sender[0]) {
			size_t sl = ns__sumkey(key, NULL, sender);
			uint64_t sb = ns__sum_get(txn, s, key, sl);
			if ((rc = ns__sum_put(txn, s, key, sl, sb > len ? sb - len : 0)) != 0)
				return rc;
		}
	} else if (rc != MDB_NOTFOUND && rc != 0) {
		return ns__mdb(rc);
	}
	uint64_t ob = ns__sum_get(txn, s, lk, NS_KEY_BYTES);
	return ns__sum_put(txn, s, lk, NS_KEY_BYTES, ob > len ? ob - len : 0);
}

int ns__unhold_from(MDB_txn *txn, ns_store *s, ns_vv_entry *vv, uint64_t from_seq,
		    const char *counter, uint64_t *dropped)
{
	uint8_t lk[NS__LOGKEY], *keys = NULL;
	MDB_val k = { NS__LOGKEY, lk }, v;
	MDB_cursor *c;
	size_t n = 0, cap = 0;
	int g, rc = 0;

	if (dropped)
		*dropped = 0;
	ns__logkey(lk, vv->origin, from_seq);
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->pending, &c))) != 0)
		return rc;
	for (g = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	     g == 0 && k.mv_size == NS__LOGKEY && memcmp(k.mv_data, vv->origin, NS_KEY_BYTES) == 0;
	     g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (n == cap) {
			void *p = realloc(keys, (cap = cap ? 2 * cap : 64) * NS__LOGKEY);
			if (p == NULL) {
				rc = NS_ENOMEM;
				break;
			}
			keys = p;
		}
		memcpy(keys + n++ * NS__LOGKEY, k.mv_data, NS__LOGKEY);
	}
	mdb_cursor_close(c);
	if (rc == 0 && g != 0 && g != MDB_NOTFOUND)
		rc = ns__mdb(g);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = ns__unhold(txn, s, vv, keys + i * NS__LOGKEY);
	free(keys);
	if (rc == 0 && n > 0 && (rc = ns__counter_add(txn, s, counter, n)) == 0)
		rc = ns__vv_put(txn, s, vv);
	if (rc == 0 && dropped)
		*dropped = n;
	return rc;
}

void ns_store_set_limits(ns_store *s, const ns_store_limits *lim)
{
	s->lim = *lim;
}

uint64_t ns_vv_relay_seq(const ns_vv_entry *e)
{
	return e->revoked_from && e->revoked_from <= e->seq ? e->revoked_from - 1 : e->seq;
}

int ns_store_event_state(ns_store *s, const uint8_t origin[NS_KEY_BYTES], uint64_t seq, unsigned *state)
{
	uint8_t lk[NS__LOGKEY];
	MDB_txn *txn;
	int rc;

	*state = 0;
	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	ns__logkey(lk, origin, seq);
	if (ns__is_incomplete(txn, s, lk))
		*state |= NS_EVENT_INCOMPLETE;
	uint64_t from = ns__revoked_from(txn, s, origin);
	if (from && seq >= from)
		*state |= NS_EVENT_REVOKED;
	if (ns__sig_pending(txn, s, lk))
		*state |= NS_EVENT_UNCHECKED;
	mdb_txn_abort(txn);
	return 0;
}

int ns_store_incomplete(ns_store *s, size_t max, uint8_t (**ids)[NS_ID_BYTES], size_t *n, uint64_t *total)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	int g, rc;

	*ids = NULL;
	*n = 0;
	if (total)
		*total = 0;
	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	if (!s->has_trust) {
		mdb_txn_abort(txn);
		return 0;
	}
	if (total)
		*total = ns__count(txn, s->incomplete);
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->incomplete, &c))) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0 && *n < max && rc == 0;
	     g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		ns_event *ev;
		if (k.mv_size != NS__LOGKEY || (rc = ns__load(txn, s, k.mv_data, NULL, &ev)) != 0) {
			rc = rc ? rc : NS_ECORRUPT;
			break;
		}
		if (*ids == NULL && (*ids = malloc(max * NS_ID_BYTES)) == NULL)
			rc = NS_ENOMEM;
		else
			memcpy((*ids)[(*n)++], ev->id, NS_ID_BYTES);
		ns_event_free(ev);
	}
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	if (rc == 0 && g != 0 && g != MDB_NOTFOUND && *n < max)
		rc = ns__mdb(g);
	if (rc != 0) {
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	return rc;
}

int ns_store_get_complete(ns_store *s, const uint8_t id[NS_ID_BYTES], uint8_t **out, size_t *len)
{
	uint8_t lk[NS__LOGKEY];
	MDB_txn *txn;
	ns_event *ev = NULL;
	int rc;

	*out = NULL;
	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	if ((rc = ns__id_find(txn, s, id, lk)) == 0 && (rc = ns__load(txn, s, lk, NULL, &ev)) == 0) {
		uint64_t from = ns__revoked_from(txn, s, ev->origin);
		if (ev->payload_len == 0 || (from && ev->seq >= from) || ns__sig_pending(txn, s, lk))
			rc = NS_ENOTFOUND;
		else if ((*out = malloc(ev->raw_len)) == NULL)
			rc = NS_ENOMEM;
		else {
			memcpy(*out, ev->raw, ev->raw_len);
			*len = ev->raw_len;
		}
	}
	ns_event_free(ev);
	mdb_txn_abort(txn);
	return rc;
}

/* The arguments of ns_store_revoke, for ns__retry. */
typedef struct ns__revoke_args {
	const uint8_t *key;
	uint64_t from;
	int *changed;
} ns__revoke_args;

static int ns__revoke_once(ns_store *s, void *arg)
{
	const ns__revoke_args *a = arg;
	ns__refset touched = { 0 };
	uint8_t lk[NS__LOGKEY], b[8];
	MDB_val k = { NS_KEY_BYTES, (void *)a->key }, v = { 8, b };
	MDB_cursor *c = NULL;
	MDB_txn *txn;
	ns_vv_entry vv;
	uint64_t events = 0;
	int found, g, rc;

	*a->changed = 0;
	if ((rc = ns__mdb(ns__txn(s, 0, &txn))) != 0)
		return rc;
	uint64_t old = ns__revoked_from(txn, s, a->key);
	if (old && old <= a->from) {
		mdb_txn_abort(txn);
		return 0;
	}
	ns__put_be64(b, a->from);
	if ((rc = ns__mdb(mdb_put(txn, s->revoked, &k, &v, 0))) != 0 ||
	    (rc = ns__vv_get(txn, s, a->key, &vv, &found)) != 0 ||
	    (found && (rc = ns__unhold_from(txn, s, &vv, a->from, "revoked.held", NULL)) != 0))
		goto out;
	/* Persons with a stored event of the key at or after from_seq: re-fold without them. */
	ns__logkey(lk, a->key, a->from);
	k.mv_size = NS__LOGKEY;
	k.mv_data = lk;
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->log, &c))) != 0)
		goto out;
	for (g = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	     g == 0 && rc == 0 && k.mv_size == NS__LOGKEY && memcmp(k.mv_data, a->key, NS_KEY_BYTES) == 0;
	     g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		ns_event *ev;
		if ((rc = ns__decode_stored(&v, NS_DECODE_TRUSTED, NULL, &ev)) != 0) {
			rc = rc == NS_ENOMEM ? rc : NS_ECORRUPT;
			break;
		}
		events++;
		if (strcmp(ev->offender, NS_ROSTER_REF) != 0)
			rc = ns__refset_add(&touched, ev->offender);
		ns_event_free(ev);
	}
	mdb_cursor_close(c);
	if (rc == 0 && g != 0 && g != MDB_NOTFOUND)
		rc = ns__mdb(g);
	if (rc == 0 && (rc = ns__counter_add(txn, s, "revoked.events", events)) == 0)
		rc = ns__refold(txn, s, &touched);
out:
	free(touched.ref);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return ns__commit_error(s, rc, NULL);
	*a->changed = 1;
	return 0;
}

int ns_store_revoke(ns_store *s, const uint8_t key[NS_KEY_BYTES], uint64_t from_seq, int *changed,
		    ns_diag *d)
{
	int dummy;
	ns__revoke_args a = { key, from_seq, changed ? changed : &dummy };

	*a.changed = 0;
	if (from_seq == 0 || (s->flags & NS_STORE_RDONLY) || !s->has_trust)
		return ns_diag_set(d, NS_EINVAL, "revoke", "a revocation needs from_seq >= 1 and a writable store");
	return ns__retry(s, ns__revoke_once, &a, d);
}

/* The arguments of ns_store_expire_held, for ns__retry. */
typedef struct ns__expire_args {
	int64_t now, ttl;
	size_t max;
	uint64_t *expired;
} ns__expire_args;

static int ns__expire_once(ns_store *s, void *arg)
{
	const ns__expire_args *a = arg;
	uint8_t *keys = NULL;
	size_t n = 0, seen = 0;
	MDB_cursor *c;
	MDB_val k, v;
	MDB_txn *txn;
	int g, rc;

	*a->expired = 0;
	if ((rc = ns__mdb(ns__txn(s, 0, &txn))) != 0)
		return rc;
	if ((keys = malloc((a->max ? a->max : 1) * NS__LOGKEY)) == NULL) {
		mdb_txn_abort(txn);
		return NS_ENOMEM;
	}
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->heldinfo, &c))) != 0)
		goto out;
	k.mv_size = NS__LOGKEY;
	k.mv_data = s->expire_at;
	g = mdb_cursor_get(c, &k, &v, s->expire_have ? MDB_SET_RANGE : MDB_FIRST);
	for (; g == 0 && seen < a->max; g = mdb_cursor_get(c, &k, &v, MDB_NEXT), seen++)
		if (k.mv_size == NS__LOGKEY && v.mv_size == NS__HELDINFO &&
		    (int64_t)ns__get_be64(v.mv_data) + a->ttl <= a->now)
			memcpy(keys + n++ * NS__LOGKEY, k.mv_data, NS__LOGKEY);
	/* Resume at the next entry, or from the start once the end is reached. */
	s->expire_have = g == 0 && k.mv_size == NS__LOGKEY;
	if (s->expire_have)
		memcpy(s->expire_at, k.mv_data, NS__LOGKEY);
	mdb_cursor_close(c);
	if (g != 0 && g != MDB_NOTFOUND)
		rc = ns__mdb(g);
	for (size_t i = 0; i < n && rc == 0; i++) {
		ns_vv_entry vv;
		const uint8_t *lk = keys + i * NS__LOGKEY;
		if ((rc = ns__vv_get(txn, s, lk, &vv, NULL)) == 0 && (rc = ns__unhold(txn, s, &vv, lk)) == 0)
			rc = ns__vv_put(txn, s, &vv);
	}
	if (rc == 0)
		rc = ns__counter_add(txn, s, "expired.held", n);
out:
	free(keys);
	if (rc != 0) {
		mdb_txn_abort(txn);
		s->expire_have = 0;
		return rc;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return ns__commit_error(s, rc, NULL);
	*a->expired = n;
	return 0;
}

int ns_store_expire_held(ns_store *s, int64_t now, int64_t ttl, size_t max, uint64_t *expired, ns_diag *d)
{
	uint64_t dummy;
	ns__expire_args a = { now, ttl, max, expired ? expired : &dummy };

	*a.expired = 0;
	if (s->flags & NS_STORE_RDONLY)
		return ns_diag_set(d, NS_EINVAL, "store", "read-only store");
	if (!s->has_trust || max == 0)
		return 0;
	return ns__retry(s, ns__expire_once, &a, d);
}

int ns_store_trust_stats(ns_store *s, ns_trust_stats *out)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	int g, rc;

	memset(out, 0, sizeof(*out));
	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	out->held = ns__count(txn, s->pending);
	if (!s->has_trust) {
		mdb_txn_abort(txn);
		return 0;
	}
	out->incomplete = ns__count(txn, s->incomplete);
	out->revoked_keys = ns__count(txn, s->revoked);
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->heldsum, &c))) == 0) {
		for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT))
			if (k.mv_size == NS_KEY_BYTES && v.mv_size == 8)
				out->held_bytes += ns__get_be64(v.mv_data);
		mdb_cursor_close(c);
		if (g != MDB_NOTFOUND)
			rc = ns__mdb(g);
	}
	mdb_txn_abort(txn);
	return rc;
}
