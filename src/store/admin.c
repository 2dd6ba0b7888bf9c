/*
 * Administration: equivocation proofs (listing, and recording one received
 * from elsewhere), erasing an event's payload (this site appends an
 * event.erased; erase.c applies it), holding appends after a restore, and
 * rotating the site's key.
 */
#include "store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int ns__proof_cb(void *arg, const MDB_val *k, const MDB_val *v)
{
	ns__acc *a = arg;
	const uint8_t *b = v->mv_data;
	uint32_t al, bl;
	ns_proof *p;
	int rc;

	if (v->mv_size < 8 || (al = ns__get_be32(b)) > v->mv_size - 8 ||
	    (bl = ns__get_be32(b + 4 + al)) != v->mv_size - 8 - al || k->mv_size != NS_KEY_BYTES)
		return NS_ECORRUPT;
	if ((p = ns__acc_slot(a, sizeof(*p), &rc)) == NULL)
		return rc;
	memcpy(p->origin, k->mv_data, NS_KEY_BYTES);
	p->a = malloc(al);
	p->b = malloc(bl);
	if (p->a == NULL || p->b == NULL) {
		free(p->a);
		free(p->b);
		return NS_ENOMEM;
	}
	memcpy(p->a, b + 4, al);
	memcpy(p->b, b + 8 + al, bl);
	p->alen = al;
	p->blen = bl;
	a->n++;
	return 0;
}

static void ns__proofs_drop(void *arr, size_t n)
{
	ns_proofs_free(arr, n);
}

int ns_store_proofs(ns_store *s, ns_proof **out, size_t *n)
{
	return ns__collect(s, s->equiv, ns__proof_cb, ns__proofs_drop, (void **)out, n);
}

void ns_proofs_free(ns_proof *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++) {
		free(p[i].a);
		free(p[i].b);
	}
	free(p);
}

int ns_store_add_proof(ns_store *s, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	ns_event *ea = NULL, *eb = NULL;
	ns_vv_entry vv;
	MDB_txn *txn;
	int rc, found;

	if (ns_event_decode(a, alen, &ea, NULL) != 0 || ns_event_decode(b, blen, &eb, NULL) != 0 ||
	    ns_event_verify(ea) != 0 || ns_event_verify(eb) != 0 ||
	    memcmp(ea->origin, eb->origin, NS_KEY_BYTES) != 0 ||
	    !((ea->seq == eb->seq && memcmp(ea->id, eb->id, NS_ID_BYTES) != 0) ||
	      (eb->seq == ea->seq + 1 && memcmp(eb->prev, ea->id, NS_ID_BYTES) != 0))) {
		rc = NS_EINVAL;
		goto out;
	}
	if ((rc = ns__mdb(ns__txn(s, 0, &txn))) != 0)
		goto out;
	if ((rc = ns__vv_get(txn, s, ea->origin, &vv, &found)) != 0) {
		mdb_txn_abort(txn);
		goto out;
	}
	if (!found) {
		snprintf(vv.site, sizeof(vv.site), "%s", ea->site);
		vv.role = ea->role;
	}
	if (vv.quarantined) {
		mdb_txn_abort(txn);
		rc = NS_EEXIST;
		goto out;
	}
	if ((rc = ns__equivocate(txn, s, &vv, a, alen, b, blen)) != 0) {
		mdb_txn_abort(txn);
		goto out;
	}
	rc = ns__mdb(mdb_txn_commit(txn));
out:
	ns_event_free(ea);
	ns_event_free(eb);
	return rc;
}

int ns_store_erase(ns_store *s, const uint8_t id[NS_ID_BYTES], const char *reason, const char *requested_by,
		   uint8_t out[NS_ID_BYTES], ns_diag *d)
{
	char hex[2 * NS_ID_BYTES + 1];
	Nomsync__Payload pl = NOMSYNC__PAYLOAD__INIT;
	Nomsync__EventErased er = NOMSYNC__EVENT_ERASED__INIT;
	ns_input in;
	ns_event *target = NULL;
	uint8_t lk[NS__LOGKEY], ids[1][NS_ID_BYTES];
	MDB_txn *txn;
	int rc;

	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	if ((rc = ns__id_find(txn, s, id, lk)) == 0)
		rc = ns__load(txn, s, lk, NULL, &target);
	mdb_txn_abort(txn);
	if (rc == NS_ENOTFOUND)
		return ns_diag_set(d, rc, "target_event_id", "the event to erase is not held by this site");
	if (rc != 0)
		return rc;
	memset(&in, 0, sizeof(in));
	in.type = NOMSYNC__EVENT_TYPE__EVENT_ERASED;
	snprintf(in.offender, sizeof(in.offender), "%s", target->offender);
	in.occurred_at = (int64_t)time(NULL);
	ns_event_free(target);
	ns_hex(hex, id, NS_ID_BYTES);
	er.target_event_id = hex;
	er.reason = (char *)(reason ? reason : "");
	er.requested_by = (char *)(requested_by ? requested_by : "");
	pl.body_case = NOMSYNC__PAYLOAD__BODY_EVENT_ERASED;
	pl.event_erased = &er;
	in.payload = &pl;
	if ((rc = ns_store_append(s, &in, 1, ids, NULL, d)) == 0 && out != NULL)
		memcpy(out, ids[0], NS_ID_BYTES);
	return rc;
}

int ns_store_hold(ns_store *s, int hold)
{
	MDB_txn *txn;
	int rc;

	if ((rc = ns__mdb(ns__txn(s, 0, &txn))) != 0)
		return rc;
	if ((rc = ns__meta_put(txn, s, "hold", hold ? "1" : "0")) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return ns__mdb(mdb_txn_commit(txn));
}

int ns_store_held(ns_store *s)
{
	MDB_txn *txn;
	char hold[4] = "";

	if (ns__txn(s, MDB_RDONLY, &txn) != 0)
		return 0;
	ns__meta_get(txn, s, "hold", hold, sizeof(hold));
	mdb_txn_abort(txn);
	return strcmp(hold, "1") == 0;
}

int ns_store_rekey(ns_store *s, ns_diag *d)
{
	char path[PATH_MAX + 16], old[PATH_MAX + 64], pkhex[2 * NS_KEY_BYTES + 1], oldhex[17];
	ns_identity id;
	MDB_txn *txn = NULL;
	int rc;

	if ((rc = ns_identity_generate(&id, s->id.site, s->id.role)) != 0)
		return rc;
	ns__keypath(path, sizeof(path), s->dir);
	ns_hex(oldhex, s->id.pk, 8);
	snprintf(old, sizeof(old), "%s.old-%s", path, oldhex);
	if (link(path, old) != 0 && errno != EEXIST) {
		ns_identity_wipe(&id);
		return ns_diag_set(d, NS_EIO, "key", "cannot keep the old key as %s: %s", old, strerror(errno));
	}
	ns_hex(pkhex, id.pk, NS_KEY_BYTES);
	if ((rc = ns__mdb(ns__txn(s, 0, &txn))) != 0 || (rc = ns__meta_put(txn, s, "pk", pkhex)) != 0) {
		if (rc != 0 && txn)
			mdb_txn_abort(txn);
		ns_identity_wipe(&id);
		return rc;
	}
	/* Key file first: a crash between the two leaves a key the store refuses, never a lost key. */
	if ((rc = ns_identity_save(&id, path)) != 0) {
		mdb_txn_abort(txn);
		ns_identity_wipe(&id);
		return ns_diag_set(d, rc, "key", "cannot write %s", path);
	}
	if ((rc = ns__mdb(mdb_txn_commit(txn))) != 0) {
		ns_identity_wipe(&id);
		return rc;
	}
	ns_identity_wipe(&s->id);
	s->id = id;
	return 0;
}
