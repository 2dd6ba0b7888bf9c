/*
 * Erasure (event.erased) and compaction.
 *
 * An event.erased names a target event by id. It is authorised when it
 * comes from the target's origin (the same key, or the same site and role
 * after a key rotation) or from a hub, and names the target's offender;
 * it may not target a roster change or another erasure. The store keeps
 * every erasure it holds in the erasures database (target id -> log key of
 * the erasure, one entry per erasure) and, in the transaction that writes
 * it (ns__erasure_event):
 *
 *   - target held (log or pending) and the erasure authorised: replaces
 *     the stored bytes by the erased encoding (ns_event_encode_erased),
 *     and so every copy in equivocation proofs, re-folds the person and
 *     marks the store for compaction;
 *   - target held and the erasure not authorised: counts rejected.role and
 *     records nothing (the erasure stays in the log, signed and chained:
 *     dropping it would hold every later event of its origin, and make
 *     what a node holds depend on the order events arrived in);
 *   - target not held yet: records it; a target that arrives later is
 *     checked then and, if the erasure is authorised, stored erased
 *     (ns__erasure_bytes), as are its copies in held events and proofs.
 *
 * Erased bytes stay in LMDB's free pages and in the unused part of live
 * pages until the store is compacted (ns_store_compact): a compacting copy
 * writes only the used part of live pages into a new file, which replaces
 * data.mdb while no other process has the store open.
 */
#define _GNU_SOURCE /* F_OFD_SETLK */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NS__SCRUB "scrub" /* meta: "1" while erased bytes may remain in the file */

/* May erasure @p er erase @p target (see the top of this file). */
static int ns__erasure_may(const ns_event *er, const ns_event *target)
{
	if (target->type == NOMSYNC__EVENT_TYPE__EVENT_ERASED || strcmp(target->offender, NS_ROSTER_REF) == 0 ||
	    strcmp(er->offender, target->offender) != 0)
		return 0;
	return memcmp(er->origin, target->origin, NS_KEY_BYTES) == 0 || er->role == NS_ROLE_HUB ||
	       (er->role == target->role && strcmp(er->site, target->site) == 0);
}

/* The target id of erasure @p ev; NS_EVALID if it has none. */
static int ns__erasure_target(const ns_event *ev, uint8_t id[NS_ID_BYTES])
{
	const Nomsync__EventErased *e = ev->payload ? ev->payload->event_erased : NULL;

	if (e == NULL || e->target_event_id == NULL || ns_unhex(id, NS_ID_BYTES, e->target_event_id) != 0)
		return NS_EVALID;
	return 0;
}

static int ns__scrub_due(MDB_txn *txn, ns_store *s)
{
	return ns__meta_put(txn, s, NS__SCRUB, "1");
}

/*
 * Look the erasures of @p target up: 1 if one is authorised, 0 if none is.
 * With @p prune, each that is not authorised is counted (rejected.role)
 * and its record dropped: the target is here and it will never apply.
 */
static int ns__erasure_find(MDB_txn *txn, ns_store *s, const ns_event *target, int prune)
{
	MDB_val k = { NS_ID_BYTES, (void *)target->id }, v;
	uint8_t (*drop)[NS__LOGKEY] = NULL;
	size_t ndrop = 0;
	MDB_cursor *c;
	int rc, g, found = 0;

	if (!s->has_erasures)
		return 0;
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->erasures, &c))) != 0)
		return rc;
	for (g = mdb_cursor_get(c, &k, &v, MDB_SET_KEY); g == 0 && rc == 0;
	     g = mdb_cursor_get(c, &k, &v, MDB_NEXT_DUP)) {
		ns_event *er;
		void *p;
		if (v.mv_size != NS__LOGKEY) {
			rc = NS_ECORRUPT;
			break;
		}
		if ((rc = ns__load(txn, s, v.mv_data, NULL, &er)) != 0)
			break;
		if (ns__erasure_may(er, target))
			found = 1;
		else if (prune && (p = realloc(drop, (ndrop + 1) * sizeof(*drop))) == NULL)
			rc = NS_ENOMEM;
		else if (prune)
			memcpy((drop = p)[ndrop++], v.mv_data, NS__LOGKEY);
		ns_event_free(er);
	}
	mdb_cursor_close(c);
	if (rc == 0 && g != 0 && g != MDB_NOTFOUND)
		rc = ns__mdb(g);
	for (size_t i = 0; i < ndrop && rc == 0; i++) {
		MDB_val dk = { NS_ID_BYTES, (void *)target->id }, dv = { NS__LOGKEY, drop[i] };
		if ((rc = ns__mdb(mdb_del(txn, s->erasures, &dk, &dv))) == 0)
			rc = ns__counter_add(txn, s, ns_reject_name(NS_EROLE), 1);
	}
	free(drop);
	return rc != 0 ? rc : found;
}

int ns__erased_by_event(MDB_txn *txn, ns_store *s, const ns_event *target)
{
	return ns__erasure_find(txn, s, target, 0);
}

int ns__erasure_bytes(MDB_txn *txn, ns_store *s, const ns_event *ev, MDB_val *v, uint8_t **buf)
{
	size_t len;
	int rc;

	*buf = NULL;
	v->mv_size = ev->raw_len;
	v->mv_data = (void *)ev->raw;
	if (ev->payload_len == 0 || (rc = ns__erasure_find(txn, s, ev, 1)) == 0)
		return 0;
	if (rc < 0 || (rc = ns_event_encode_erased(ev, buf, &len)) != 0)
		return rc;
	v->mv_size = len;
	v->mv_data = *buf;
	return ns__counter_add(txn, s, "erased", 1);
}

/*
 * Replace, in the proof under @p k (value @p v), every copy of an event
 * with a payload for which @p erased says yes; *changed is set if one was.
 */
static int ns__proof_scrub(MDB_txn *txn, ns_store *s, MDB_val *k, const MDB_val *v,
			   int (*erased)(MDB_txn *, ns_store *, const ns_event *, void *), void *arg, int *changed)
{
	const uint8_t *b = v->mv_data;
	uint8_t *part[2] = { NULL, NULL }, *buf;
	size_t len[2];
	const uint8_t *raw[2];
	int rc = 0;

	if (v->mv_size < 8 || (len[0] = ns__get_be32(b)) > v->mv_size - 8 ||
	    (len[1] = ns__get_be32(b + 4 + len[0])) != v->mv_size - 8 - len[0])
		return NS_ECORRUPT;
	raw[0] = b + 4;
	raw[1] = b + 8 + len[0];
	for (int i = 0; i < 2 && rc == 0; i++) {
		ns_event *ev;
		if (ns_event_decode_flags(raw[i], len[i], NS_DECODE_TRUSTED | NS_DECODE_OPAQUE, &ev, NULL) != 0)
			continue; /* not ours to judge: ns_store_add_proof checked both */
		if (ev->payload_len > 0 && (rc = erased(txn, s, ev, arg)) > 0)
			rc = ns_event_encode_erased(ev, &part[i], &len[i]);
		ns_event_free(ev);
	}
	if (rc < 0 || (part[0] == NULL && part[1] == NULL))
		goto out;
	if ((buf = malloc(8 + len[0] + len[1])) == NULL) {
		rc = NS_ENOMEM;
		goto out;
	}
	ns__put_be32(buf, (uint32_t)len[0]);
	memcpy(buf + 4, part[0] ? part[0] : raw[0], len[0]);
	ns__put_be32(buf + 4 + len[0], (uint32_t)len[1]);
	memcpy(buf + 8 + len[0], part[1] ? part[1] : raw[1], len[1]);
	MDB_val nv = { 8 + len[0] + len[1], buf };
	rc = ns__mdb(mdb_put(txn, s->equiv, k, &nv, 0));
	free(buf);
	*changed = 1;
out:
	free(part[0]);
	free(part[1]);
	return rc < 0 ? rc : 0;
}

static int ns__erased_cb(MDB_txn *txn, ns_store *s, const ns_event *ev, void *arg)
{
	(void)arg;
	return ns__erasure_find(txn, s, ev, 0);
}

int ns__erasure_proof(MDB_txn *txn, ns_store *s, const uint8_t origin[NS_KEY_BYTES])
{
	MDB_val k = { NS_KEY_BYTES, (void *)origin }, v;
	int changed = 0, rc;

	if (!s->has_erasures || (rc = mdb_get(txn, s->equiv, &k, &v)) == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return ns__mdb(rc);
	if ((rc = ns__proof_scrub(txn, s, &k, &v, ns__erased_cb, NULL, &changed)) != 0)
		return rc;
	return changed ? ns__scrub_due(txn, s) : 0;
}

/* An erasure being applied, for ns__proof_scrub. */
typedef struct ns__applying {
	const uint8_t *id;
	const ns_event *er;
	int refused;
} ns__applying;

static int ns__applying_cb(MDB_txn *txn, ns_store *s, const ns_event *ev, void *arg)
{
	ns__applying *a = arg;

	(void)txn;
	(void)s;
	if (memcmp(ev->id, a->id, NS_ID_BYTES) != 0)
		return 0;
	if (ns__erasure_may(a->er, ev))
		return 1;
	a->refused = 1;
	return 0;
}

/*
 * The copy of @p id held for a gap, if any: its pending key in @p pk and
 * the event in *ev (malloc'd). Held events are keyed by (origin, seq), so
 * this reads them all; erasures are rare.
 */
static int ns__held_find(MDB_txn *txn, ns_store *s, const uint8_t id[NS_ID_BYTES], uint8_t pk[NS__LOGKEY],
			 ns_event **out)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc, g;

	*out = NULL;
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->pending, &c))) != 0)
		return rc;
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		ns_event *ev;
		if (k.mv_size != NS__LOGKEY || ns__decode_stored(&v, NS_DECODE_TRUSTED, NULL, &ev) != 0)
			continue;
		if (memcmp(ev->id, id, NS_ID_BYTES) == 0) {
			memcpy(pk, k.mv_data, NS__LOGKEY);
			*out = ev;
			break;
		}
		ns_event_free(ev);
	}
	mdb_cursor_close(c);
	return g == 0 || g == MDB_NOTFOUND ? 0 : ns__mdb(g);
}

/* Store the erased form of @p ev under @p key in @p dbi if it has a payload. */
static int ns__put_erased(MDB_txn *txn, ns_store *s, MDB_dbi dbi, const uint8_t key[NS__LOGKEY],
			  const ns_event *ev)
{
	MDB_val k = { NS__LOGKEY, (void *)key }, v;
	uint8_t *buf;
	size_t len;
	int rc;

	if (ev->payload_len == 0)
		return 0;
	if ((rc = ns_event_encode_erased(ev, &buf, &len)) != 0)
		return rc;
	v.mv_size = len;
	v.mv_data = buf;
	rc = ns__mdb(mdb_put(txn, dbi, &k, &v, 0));
	free(buf);
	if (rc == 0)
		rc = ns__counter_add(txn, s, "erased", 1);
	return rc == 0 ? ns__scrub_due(txn, s) : rc;
}

int ns__erasure_event(MDB_txn *txn, ns_store *s, const ns_event *ev, const uint8_t lk[NS__LOGKEY],
		      ns__refset *touched)
{
	uint8_t id[NS_ID_BYTES], tk[NS__LOGKEY];
	ns__applying a = { id, ev, 0 };
	ns_event *target = NULL;
	MDB_dbi where = s->log;
	MDB_cursor *c;
	MDB_val k, v;
	int rc, g, changed = 0;

	if (ev->type != NOMSYNC__EVENT_TYPE__EVENT_ERASED || ev->type_unknown || ev->payload == NULL)
		return 0;
	if (!s->has_erasures)
		return NS_EINVAL;
	if ((rc = ns__erasure_target(ev, id)) != 0)
		return rc;
	rc = ns__id_find(txn, s, id, tk);
	if (rc == 0)
		rc = ns__load(txn, s, tk, NULL, &target);
	else if (rc == NS_ENOTFOUND && (rc = ns__held_find(txn, s, id, tk, &target)) == 0)
		where = s->pending;
	if (rc != 0)
		return rc;
	if (target != NULL && !ns__erasure_may(ev, target)) {
		ns_event_free(target);
		return ns__counter_add(txn, s, ns_reject_name(NS_EROLE), 1);
	}
	if (target != NULL) {
		rc = ns__put_erased(txn, s, where, tk, target);
		/* A copy stripped on the way is now erased by its owner: nothing to pull. */
		if (rc == 0 && where == s->log)
			rc = ns__unmark_incomplete(txn, s, tk);
		if (rc == 0 && where == s->log)
			rc = ns__refset_add(touched, target->offender);
		ns_event_free(target);
		if (rc != 0)
			return rc;
	}
	/* Every proof that holds a copy of the target. */
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->equiv, &c))) != 0)
		return rc;
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0 && rc == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT))
		rc = ns__proof_scrub(txn, s, &k, &v, ns__applying_cb, &a, &changed);
	mdb_cursor_close(c);
	if (rc == 0 && g != 0 && g != MDB_NOTFOUND)
		rc = ns__mdb(g);
	if (rc == 0 && changed)
		rc = ns__scrub_due(txn, s);
	if (rc != 0)
		return rc;
	if (target == NULL && a.refused) /* known from a proof only, and not the emitter's to erase */
		return ns__counter_add(txn, s, ns_reject_name(NS_EROLE), 1);
	k.mv_size = NS_ID_BYTES;
	k.mv_data = id;
	v.mv_size = NS__LOGKEY;
	v.mv_data = (void *)lk;
	rc = mdb_put(txn, s->erasures, &k, &v, MDB_NODUPDATA);
	return rc == MDB_KEYEXIST ? 0 : ns__mdb(rc);
}

int ns__erasure_append(MDB_txn *txn, ns_store *s, const ns_input *in, ns_diag *d)
{
	ns_event probe;
	ns_event *target;
	uint8_t id[NS_ID_BYTES], tk[NS__LOGKEY];
	int rc;

	memset(&probe, 0, sizeof(probe));
	probe.payload = in->payload;
	if (ns__erasure_target(&probe, id) != 0 ||
	    ((rc = ns__id_find(txn, s, id, tk)) == NS_ENOTFOUND))
		return ns_diag_set(d, NS_EVALID, "target_event_id", "the event to erase is not held by this site");
	if (rc != 0 || (rc = ns__load(txn, s, tk, NULL, &target)) != 0)
		return rc;
	memcpy(probe.origin, s->id.pk, NS_KEY_BYTES);
	snprintf(probe.site, sizeof(probe.site), "%s", s->id.site);
	probe.role = s->id.role;
	snprintf(probe.offender, sizeof(probe.offender), "%s", in->offender);
	if (target->type == NOMSYNC__EVENT_TYPE__EVENT_ERASED || strcmp(target->offender, NS_ROSTER_REF) == 0)
		rc = ns_diag_set(d, NS_EVALID, "target_event_id", "roster changes and erasures cannot be erased");
	else if (strcmp(in->offender, target->offender) != 0)
		rc = ns_diag_set(d, NS_EVALID, "offender", "an erasure names the offender of the event it erases (%s)",
				 target->offender);
	else if (!ns__erasure_may(&probe, target))
		rc = ns_diag_set(d, NS_EROLE, "target_event_id", "only the emitting site or a hub may erase an event");
	ns_event_free(target);
	return rc;
}

int ns_store_scrub_due(ns_store *s)
{
	MDB_txn *txn;
	char v[4] = "";

	if (ns__txn(s, MDB_RDONLY, &txn) != 0)
		return 0;
	ns__meta_get(txn, s, NS__SCRUB, v, sizeof(v));
	mdb_txn_abort(txn);
	return strcmp(v, "1") == 0;
}

/*
 * Copy the environment in @p dir, compacted, to @p tmp: opened without
 * LMDB's lock file, which is safe only because the caller holds the
 * store exclusively.
 */
/* Copy every entry of the named database @p name from @p rt into a new one in @p dst. */
static int ns__copy_db(MDB_txn *rt, MDB_env *dst, const char *name)
{
	MDB_dbi from, to;
	MDB_cursor *c;
	MDB_txn *wt;
	MDB_val k, v;
	unsigned fl;
	size_t n = 0;
	int rc, g;

	if ((rc = mdb_dbi_open(rt, name, 0, &from)) != 0 || (rc = mdb_dbi_flags(rt, from, &fl)) != 0)
		return ns__mdb(rc);
	if ((rc = mdb_txn_begin(dst, NULL, 0, &wt)) != 0)
		return ns__mdb(rc);
	if ((rc = mdb_dbi_open(wt, name, (fl & (MDB_DUPSORT | MDB_DUPFIXED)) | MDB_CREATE, &to)) != 0 ||
	    (rc = mdb_cursor_open(rt, from, &c)) != 0) {
		mdb_txn_abort(wt);
		return ns__mdb(rc);
	}
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0 && rc == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		rc = mdb_put(wt, to, &k, &v, (fl & MDB_DUPSORT) ? MDB_APPENDDUP : MDB_APPEND);
		if (rc == 0 && ++n % 65536 == 0 && (rc = mdb_txn_commit(wt)) == 0)
			rc = mdb_txn_begin(dst, NULL, 0, &wt);
	}
	mdb_cursor_close(c);
	if (rc == 0 && g != MDB_NOTFOUND)
		rc = g;
	if (rc != 0) {
		mdb_txn_abort(wt);
		return ns__mdb(rc);
	}
	return ns__mdb(mdb_txn_commit(wt));
}

/*
 * LMDB's two meta pages (its data format 1, in host byte order): after the
 * page header (a page number, two 16-bit fields and two more), a magic
 * number, the format version, an address, the map size, two database
 * records (the first one's 32-bit pad holds the page size) of a 32-bit
 * pad, two 16-bit fields and five size_t, the last page, then the
 * transaction id (a size_t).
 */
#define NS__META_AT (sizeof(size_t) + 8)
#define NS__META_PSIZE (8 + sizeof(void *) + sizeof(size_t))
#define NS__META_TXNID (NS__META_PSIZE + 2 * (8 + 5 * sizeof(size_t)) + sizeof(size_t))
#define NS__META_LEN (NS__META_TXNID + sizeof(size_t))
#define NS__META_MAGIC 0xBEEFC0DEu
#define NS__META_VERSION 1u

/*
 * Give the compacted file @p tmp (page size @p psize, last transaction
 * @p own) the transaction id @p txnid of the file it replaces: both meta
 * pages describe its final state, the one LMDB reads for @p txnid as
 * txnid, the other as txnid - 1. A layout other than the one above (seen
 * in the magic, version, page size and @p own) leaves it as it is, and the
 * compaction fails with the store unchanged.
 *
 * LMDB keeps the last transaction id in lock.mdb and picks the meta page
 * a transaction starts from by that id's parity; only the process that
 * opens the store first, alone, sets it again from the data file. A
 * process waiting to open the store during the compaction (a CLI command)
 * may open it first once the lock is released, and then every process
 * works from lock.mdb's id, that of the replaced file. The copy's own ids
 * count its commits from 1: the wrong parity made everyone read and write
 * an unfinished state of the copy (one without the version vector, so a
 * node took every event as new and replicated nothing more), and ids
 * above the old ones made a later fresh open prefer the copy's state to
 * the commits made since. With the old file's id, and both pages holding
 * the final state, every way of opening it reads that state and the ids
 * go on growing from where they were.
 */
static int ns__compact_txnid(const char *tmp, size_t psize, size_t own, size_t txnid)
{
	uint8_t meta[2][NS__META_LEN];
	size_t id[2];
	int fd, rc = 0;

	if (txnid == 0 || psize < NS__META_AT + NS__META_LEN)
		return NS_ESTORE;
	if ((fd = open(tmp, O_RDWR | O_CLOEXEC)) < 0)
		return NS_EIO;
	for (int i = 0; i < 2 && rc == 0; i++) {
		uint32_t magic, version, ps;
		if (pread(fd, meta[i], NS__META_LEN, (off_t)(i * psize + NS__META_AT)) != (ssize_t)NS__META_LEN) {
			rc = NS_EIO;
			break;
		}
		memcpy(&magic, meta[i], 4);
		memcpy(&version, meta[i] + 4, 4);
		memcpy(&ps, meta[i] + NS__META_PSIZE, 4);
		memcpy(&id[i], meta[i] + NS__META_TXNID, sizeof(size_t));
		if (magic != NS__META_MAGIC || version != NS__META_VERSION || ps != psize)
			rc = NS_ESTORE;
	}
	if (rc == 0 && (id[0] > id[1] ? id[0] : id[1]) != own)
		rc = NS_ESTORE;
	for (int i = 0; i < 2 && rc == 0; i++) {
		uint8_t out[NS__META_LEN];
		size_t t = (txnid & 1) == (size_t)i ? txnid : txnid - 1;
		memcpy(out, meta[id[1] > id[0]], NS__META_LEN);
		memcpy(out + NS__META_TXNID, &t, sizeof(size_t));
		if (pwrite(fd, out, NS__META_LEN, (off_t)(i * psize + NS__META_AT)) != (ssize_t)NS__META_LEN)
			rc = NS_EIO;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = NS_EIO;
	close(fd);
	return rc;
}

/*
 * Write a compacted copy of the store in @p dir to the file @p tmp.
 *
 * A logical copy, entry by entry into a new environment, not LMDB's page
 * copy (mdb_env_copyfd2 with MDB_CP_COMPACT): that one leaves out free
 * pages but copies live pages whole, and a live page keeps, in the gap
 * between its node pointers and its data, the bytes of entries deleted or
 * rewritten on it, so an erased payload could survive compaction. In the
 * new environment every page starts zeroed and is only appended to, so
 * it holds nothing but the live entries.
 */
static int ns__compact_copy(const char *dir, const char *tmp, size_t map)
{
	char lockfile[PATH_MAX + 48];
	MDB_env *env, *dst = NULL;
	MDB_txn *rt = NULL;
	MDB_cursor *c = NULL;
	MDB_dbi main;
	MDB_val k, v;
	MDB_stat st = { 0 };
	MDB_envinfo di = { 0 };
	size_t txnid = 0;
	int rc, g;

	snprintf(lockfile, sizeof(lockfile), "%s-lock", tmp);
	unlink(tmp);
	if ((rc = mdb_env_create(&env)) != 0)
		return ns__mdb(rc);
	mdb_env_set_maxdbs(env, 32);
	if ((rc = mdb_env_set_mapsize(env, map)) != 0 ||
	    (rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOLOCK, 0600)) != 0 ||
	    (rc = mdb_env_create(&dst)) != 0 || (rc = mdb_env_set_maxdbs(dst, 32)) != 0 ||
	    (rc = mdb_env_set_mapsize(dst, map)) != 0 ||
	    (rc = mdb_env_open(dst, tmp, MDB_NOSUBDIR | MDB_NOSYNC, 0600)) != 0 ||
	    (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &rt)) != 0 || (rc = mdb_dbi_open(rt, NULL, 0, &main)) != 0 ||
	    (rc = mdb_cursor_open(rt, main, &c)) != 0)
		goto out;
	/* The main database names the others. */
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0 && rc == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		char name[64];
		if (k.mv_size == 0 || k.mv_size >= sizeof(name)) {
			rc = MDB_INCOMPATIBLE;
			break;
		}
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		if ((rc = ns__copy_db(rt, dst, name)) != 0)
			goto out_ns; /* already an NS_E code: skip ns__mdb */
	}
	if (rc == 0 && g != MDB_NOTFOUND)
		rc = g;
	if (rc == 0 && (rc = mdb_env_sync(dst, 1)) == 0 && (rc = mdb_env_stat(dst, &st)) == 0)
		rc = mdb_env_info(dst, &di);
	if (rc == 0)
		txnid = mdb_txn_id(rt);
out:
	rc = ns__mdb(rc);
out_ns:
	if (c)
		mdb_cursor_close(c);
	if (rt)
		mdb_txn_abort(rt);
	if (dst)
		mdb_env_close(dst);
	mdb_env_close(env);
	unlink(lockfile);
	return rc != 0 ? rc : ns__compact_txnid(tmp, st.ms_psize, di.me_last_txnid, txnid);
}

int ns_store_compact(ns_store *s, ns_diag *d)
{
	char lock[PATH_MAX + 16], data[PATH_MAX + 16], tmp[PATH_MAX + 32];
	struct flock fl;
	MDB_envinfo info;
	MDB_txn *txn;
	int fd, rc, dfd;

	if (s->flags & NS_STORE_RDONLY)
		return ns_diag_set(d, NS_EINVAL, "store", "a read-only store cannot be compacted");
	snprintf(lock, sizeof(lock), "%s/lock.mdb", s->dir);
	snprintf(data, sizeof(data), "%s/data.mdb", s->dir);
	snprintf(tmp, sizeof(tmp), "%s/data.mdb.compact", s->dir);
	if (mdb_env_info(s->env, &info) != 0)
		return NS_ESTORE;
	/*
	 * Every process with the environment open holds a shared fcntl lock
	 * on byte 0 of lock.mdb, and one that opens it asks for an exclusive
	 * one first. So, once ours is released by closing the environment, an
	 * exclusive open-file-description lock there succeeds only if no
	 * other process has the store open, and keeps others from opening it
	 * (they wait) until the compacted file is in place.
	 */
	if ((fd = open(lock, O_RDWR | O_CLOEXEC)) < 0)
		return ns_diag_set(d, NS_EIO, "store", "cannot open %s: %s", lock, strerror(errno));
	mdb_env_close(s->env);
	s->env = NULL;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_len = 1;
	if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
		rc = ns_diag_set(d, NS_ELOCKED, "store",
				 "another process has the store open: compaction postponed (nothing changed)");
		close(fd);
		goto reopen;
	}
	rc = ns__compact_copy(s->dir, tmp, info.me_mapsize);
	if (rc == 0 && rename(tmp, data) != 0)
		rc = NS_EIO;
	if (rc == 0 && (dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		if (fsync(dfd) != 0)
			rc = NS_EIO;
		close(dfd);
	}
	if (rc != 0) {
		unlink(tmp);
		ns_diag_set(d, rc, "store", "compaction failed, the store is unchanged: %s", ns_strerror(rc));
	}
	close(fd); /* releases the lock: the new file is in place */
reopen:
	/* The old file's descriptor and mapping are gone: look them up again. */
	pthread_mutex_lock(&s->map_lock);
	s->map_looked = 0;
	s->map_addr = NULL;
	s->warm_end = 0;
	pthread_mutex_unlock(&s->map_lock);
	if (s->warm_fd >= 0) {
		close(s->warm_fd);
		if ((s->warm_fd = open(data, O_RDONLY | O_CLOEXEC)) >= 0)
			posix_fadvise(s->warm_fd, 0, 0, POSIX_FADV_RANDOM);
	}
	{
		int orc = ns__open_env(s, s->dir, s->flags);
		if (orc != 0)
			return ns_diag_set(d, orc, "store", "cannot reopen the store after compaction: %s",
					   ns_strerror(orc));
	}
	if (rc != 0)
		return rc;
	if ((rc = ns__mdb(ns__txn(s, 0, &txn))) != 0)
		return rc;
	if ((rc = ns__meta_put(txn, s, NS__SCRUB, "0")) != 0 ||
	    (rc = ns__counter_add(txn, s, "compactions", 1)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return ns__mdb(mdb_txn_commit(txn));
}
