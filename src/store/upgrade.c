/*
 * Rolling upgrades: events of types this release does not know, and the
 * conversion of an older store at a writable open.
 *
 * An event of a type this build does not know (a newer release's) is
 * stored, indexed and relayed like any other but cannot be folded or
 * checked against its type's rules; its log key is recorded in the unknown
 * database. When a release that knows the type opens the store, each such
 * event is decoded fully and checked: a valid one leaves unknown and its
 * person is re-folded; an invalid one is recorded in rejected, kept in the
 * log (it is signed and chained: later events of its origin depend on it)
 * and never folded. See ns_store_upgrade_report in include/nomsync/store.h.
 */
#include "store_int.h"

#include <nomsync/validate.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ns__decode_stored(const MDB_val *v, unsigned flags, ns__arena *arena, ns_event **ev)
{
	for (;;) {
		int rc = arena ? ns__event_decode_in(arena, v->mv_data, v->mv_size, flags, ev)
			       : ns_event_decode_flags(v->mv_data, v->mv_size, flags, ev, NULL);
		/*
		 * Only an event stored while its type was unknown can hold a
		 * payload this release cannot unpack (it is in unknown or rejected):
		 * return it as opaque, as it was signed.
		 */
		if (rc != NS_EDECODE || (flags & NS_DECODE_OPAQUE))
			return rc;
		flags |= NS_DECODE_OPAQUE;
	}
}

int ns__type_rules(const ns_event *ev)
{
	if (ev->type_unknown) /* a known type decoded opaque: its payload is unreadable */
		return ns_type_name(ev->type) != NULL ? NS_EDECODE : 0;
	if (!ns_role_may_emit(ev->role, ev->type))
		return NS_EROLE;
	return ns_validate_event(ev->role, ev->offender, ev->type, ev->payload, NULL);
}

/* Record the event under @p lk as rejected with @p code, and count it. */
static int ns__reject(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY], int code)
{
	uint8_t b[4];
	MDB_val k = { NS__LOGKEY, (void *)lk }, v = { 4, b };
	int rc;

	ns__put_be32(b, (uint32_t)code);
	if ((rc = ns__mdb(mdb_put(txn, s->rejected, &k, &v, 0))) != 0)
		return rc;
	return ns__counter_add(txn, s, "rejected.upgrade", 1);
}

int ns__note(MDB_txn *txn, ns_store *s, const ns_event *ev, const uint8_t lk[NS__LOGKEY], int bad)
{
	uint8_t b[4];
	MDB_val k = { NS__LOGKEY, (void *)lk }, v = { 4, b };

	if (bad != 0)
		return ns__reject(txn, s, lk, bad);
	if (!ev->type_unknown)
		return 0;
	if (!s->has_upgrade)
		return NS_EINVAL; /* a read-only or unconverted store is never written */
	ns__put_be32(b, ev->type);
	return ns__mdb(mdb_put(txn, s->unknown, &k, &v, 0));
}

int ns__unfolded_any(MDB_txn *txn, ns_store *s)
{
	MDB_stat a, b;

	return s->has_upgrade && mdb_stat(txn, s->rejected, &a) == 0 && mdb_stat(txn, s->unknown, &b) == 0 &&
	       a.ms_entries + b.ms_entries > 0;
}

int ns__unfolded(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY])
{
	MDB_val k = { NS__LOGKEY, (void *)lk }, v;

	return mdb_get(txn, s->rejected, &k, &v) == 0 || mdb_get(txn, s->unknown, &k, &v) == 0;
}

/*
 * Create the databases of format 2 and record the format; fold_version is
 * left to the caller. In the caller's transaction: a store converted from
 * format 1 is converted whole or not at all.
 */
int ns__format2(MDB_txn *txn, ns_store *s)
{
	int rc;

	if ((rc = ns__mdb(mdb_dbi_open(txn, "unknown", MDB_CREATE, &s->unknown))) != 0 ||
	    (rc = ns__mdb(mdb_dbi_open(txn, "rejected", MDB_CREATE, &s->rejected))) != 0)
		return rc;
	return ns__meta_put(txn, s, "format", "2");
}

/* Mark @p ref for a deferred re-fold; count it if it was not marked yet. */
static int ns__mark(MDB_txn *txn, ns_store *s, const void *ref, size_t len, uint64_t *marked)
{
	static const char one = 1;
	MDB_val k = { len, (void *)ref }, v = { 1, (void *)&one };
	int rc = mdb_put(txn, s->dirty, &k, &v, MDB_NOOVERWRITE);

	if (rc == MDB_KEYEXIST)
		return 0;
	if (rc == 0)
		(*marked)++;
	return ns__mdb(rc);
}

/* A new fold version: every person with events is re-folded. */
static int ns__mark_all(MDB_txn *txn, ns_store *s, uint64_t *marked)
{
	MDB_cursor *c;
	MDB_val k, v;
	int g, rc = 0;

	if ((rc = ns__mdb(mdb_cursor_open(txn, s->byref, &c))) != 0)
		return rc;
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0 && rc == 0;
	     g = mdb_cursor_get(c, &k, &v, MDB_NEXT_NODUP))
		rc = ns__mark(txn, s, k.mv_data, k.mv_size, marked);
	mdb_cursor_close(c);
	if (rc == 0 && g != MDB_NOTFOUND)
		rc = ns__mdb(g);
	return rc;
}

/* Re-check one event of unknown, whose type this release knows. */
static int ns__recheck(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY], ns_upgrade_report *r)
{
	ns__arena arena = NS__ARENA_INIT;
	ns__refset touched = { 0 };
	ns_event *ev;
	int rc, bad;

	if ((rc = ns__load(txn, s, lk, &arena, &ev)) != 0) {
		ns__arena_free(&arena);
		return rc == NS_ENOTFOUND ? NS_ECORRUPT : rc;
	}
	r->events_checked++;
	if ((bad = ns__type_rules(ev)) != 0) {
		r->events_rejected++;
		rc = ns__reject(txn, s, lk, bad);
	} else if (strcmp(ev->offender, NS_ROSTER_REF) != 0 && (rc = ns__links(txn, s, ev, &touched)) == 0 &&
		   (rc = ns__refset_add(&touched, ev->offender)) == 0) {
		for (size_t i = 0; i < touched.n && rc == 0; i++)
			rc = ns__mark(txn, s, touched.ref[i], strlen(touched.ref[i]), &r->persons_marked);
	}
	free(touched.ref);
	ns__arena_free(&arena);
	return rc;
}

/* The whole upgrade, in one write transaction (run by ns__retry). */
static int ns__upgrade_once(ns_store *s, void *arg)
{
	ns_diag *d = arg;
	ns_upgrade_report r = { 0 };
	char fmt[8], fv[16] = "1";
	MDB_txn *txn;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	int rc, g, changed = 0;

	if ((rc = ns__mdb(ns__txn(s, 0, &txn))) != 0)
		return rc;
	r.to_format = NS_STORE_FORMAT;
	if ((rc = ns__meta_get(txn, s, "format", fmt, sizeof(fmt))) != 0)
		goto out;
	if (strcmp(fmt, "1") == 0) {
		if ((rc = ns__format2(txn, s)) != 0)
			goto out;
		r.from_format = 1;
		changed = 1;
	} else if (!s->has_upgrade) {
		rc = NS_ECORRUPT; /* format 2 without its databases */
		goto out;
	}
	/* A format 1 store has no fold_version: its views are of fold version 1. */
	if ((rc = ns__meta_get(txn, s, "fold_version", fv, sizeof(fv))) != 0 && rc != NS_ENOTFOUND)
		goto out;
	r.from_fold = (uint32_t)strtoul(fv, NULL, 10);
	if (r.from_fold != NS_FOLD_VERSION || rc == NS_ENOTFOUND) {
		snprintf(fv, sizeof(fv), "%u", (unsigned)NS_FOLD_VERSION);
		if ((rc = ns__meta_put(txn, s, "fold_version", fv)) != 0 ||
		    (r.from_fold != NS_FOLD_VERSION && (rc = ns__mark_all(txn, s, &r.persons_marked)) != 0))
			goto out;
		changed = 1;
	}
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->unknown, &c))) != 0)
		goto out;
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != NS__LOGKEY || v.mv_size != 4) {
			rc = NS_ECORRUPT;
			goto out;
		}
		if (ns_type_name(ns__get_be32(v.mv_data)) == NULL) {
			r.events_unknown++;
			continue;
		}
		uint8_t lk[NS__LOGKEY];
		memcpy(lk, k.mv_data, NS__LOGKEY);
		if ((rc = ns__recheck(txn, s, lk, &r)) != 0 || (rc = ns__mdb(mdb_cursor_del(c, 0))) != 0)
			goto out;
		changed = 1;
	}
	if (g != MDB_NOTFOUND) {
		rc = ns__mdb(g);
		goto out;
	}
	mdb_cursor_close(c);
	c = NULL;
	if (!changed) {
		mdb_txn_abort(txn);
		s->upgrade = r;
		return 0;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return ns__commit_error(s, rc, d);
	s->upgrade = r;
	return 0;
out:
	if (c)
		mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return rc;
}

int ns__upgrade(ns_store *s, ns_diag *d)
{
	int rc = ns__retry(s, ns__upgrade_once, d, d);

	if (rc == 0)
		s->has_upgrade = 1;
	else if (d && d->msg[0] == '\0')
		ns_diag_set(d, rc, "store", "cannot bring the store up to this release: %s", ns_strerror(rc));
	return rc;
}

void ns_store_upgrade_report(const ns_store *s, ns_upgrade_report *out)
{
	*out = s->upgrade;
}

/* Append to @p out (NUL-terminated, of @p cap bytes), "; "-separated from what it holds. */
static void ns__describe_add(char *out, size_t cap, const char *fmt, ...)
{
	size_t n = strlen(out);
	va_list ap;

	if (n > 0 && n + 2 < cap) {
		memcpy(out + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(out + n, cap - n, fmt, ap);
	va_end(ap);
}

size_t ns_upgrade_describe(const ns_upgrade_report *r, char *out, size_t cap)
{
	if (cap == 0)
		return 0;
	out[0] = '\0';
	if (r->from_format != 0)
		ns__describe_add(out, cap, "store converted from format %d to %d", r->from_format, r->to_format);
	if (r->from_fold != 0 && r->from_fold != NS_FOLD_VERSION)
		ns__describe_add(out, cap, "views were folded by fold version %u: %llu persons to re-fold",
				 (unsigned)r->from_fold, (unsigned long long)r->persons_marked);
	if (r->events_checked != 0)
		ns__describe_add(out, cap,
				 "re-checked %llu events of types new to this release: %llu rejected, %llu persons to "
				 "re-fold",
				 (unsigned long long)r->events_checked, (unsigned long long)r->events_rejected,
				 (unsigned long long)r->persons_marked);
	return strlen(out);
}
