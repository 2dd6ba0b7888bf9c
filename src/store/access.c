/*
 * Limited-access offenders in the store (docs/DOMAIN.md section 9.3): the
 * access state of each restricted person, written by the fold commit
 * (ns__refold) so that a read can be checked with one LMDB get and no JSON:
 *
 *   access   canonical ref -> flags(1: 1 RESTRICTION, 2 EXCLUSION) nallow(1)
 *                             ndeny(1), then nallow + ndeny NUL-terminated
 *                             user ids (allow list, then deny list, sorted)
 *
 * A person without a record is unrestricted.
 */
#include "store_int.h"

#include <stdlib.h>
#include <string.h>

int ns__access_open(MDB_txn *txn, ns_store *s, int create)
{
	int rc = mdb_dbi_open(txn, "access", create ? MDB_CREATE : 0, &s->access);

	s->has_access = rc == 0;
	if (rc == MDB_NOTFOUND && !create)
		return 0; /* read-only, older store: nobody restricted yet */
	return ns__mdb(rc);
}

int ns__access_put(MDB_txn *txn, ns_store *s, const char *ref, const ns_access *a)
{
	MDB_val k = { strlen(ref), (void *)ref }, v;
	uint8_t *buf, *p;
	int rc;

	if (!s->has_access)
		return 0;
	if (!a->restricted && !a->excluded) {
		rc = mdb_del(txn, s->access, &k, NULL);
		return rc == MDB_NOTFOUND ? 0 : ns__mdb(rc);
	}
	if ((buf = malloc(3 + (a->nallow + a->ndeny) * sizeof(a->allow[0]))) == NULL)
		return NS_ENOMEM;
	p = buf;
	*p++ = (uint8_t)((a->restricted ? 1 : 0) | (a->excluded ? 2 : 0));
	*p++ = (uint8_t)a->nallow;
	*p++ = (uint8_t)a->ndeny;
	for (size_t i = 0; i < a->nallow + a->ndeny; i++) {
		const char *u = i < a->nallow ? a->allow[i] : a->deny[i - a->nallow];
		size_t n = strlen(u) + 1;
		memcpy(p, u, n);
		p += n;
	}
	v.mv_size = (size_t)(p - buf);
	v.mv_data = buf;
	rc = ns__mdb(mdb_put(txn, s->access, &k, &v, 0));
	free(buf);
	return rc;
}

int ns__access_drop(MDB_txn *txn, ns_store *s, const char *ref)
{
	MDB_val k = { strlen(ref), (void *)ref };
	int rc;

	if (!s->has_access)
		return 0;
	rc = mdb_del(txn, s->access, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : ns__mdb(rc);
}

int ns__access_has(MDB_txn *txn, ns_store *s, const char *ref)
{
	MDB_val k = { strlen(ref), (void *)ref }, v;

	/* A read error answers restricted: a list never shows what it cannot vouch for. */
	return s->has_access && mdb_get(txn, s->access, &k, &v) != MDB_NOTFOUND;
}

/* Decode a stored record; NS_ECORRUPT if it is not one. */
static int ns__access_decode(const MDB_val *v, ns_access *out)
{
	const uint8_t *p = v->mv_data, *end = p + v->mv_size;
	size_t total;

	if (v->mv_size < 3 || p[1] > NS_ACCESS_MAX_USERS || p[2] > NS_ACCESS_MAX_USERS ||
	    (p[0] & ~3u) != 0)
		return NS_ECORRUPT;
	out->restricted = (p[0] & 1) != 0;
	out->excluded = (p[0] & 2) != 0;
	out->nallow = p[1];
	out->ndeny = p[2];
	total = out->nallow + out->ndeny;
	p += 3;
	for (size_t i = 0; i < total; i++) {
		char *dst = i < out->nallow ? out->allow[i] : out->deny[i - out->nallow];
		const uint8_t *nul = memchr(p, '\0', (size_t)(end - p));
		if (nul == NULL || (size_t)(nul - p) >= sizeof(out->allow[0]))
			return NS_ECORRUPT;
		memcpy(dst, p, (size_t)(nul - p) + 1);
		p = nul + 1;
	}
	return p == end ? 0 : NS_ECORRUPT;
}

int ns__access_matches(MDB_txn *txn, ns_store *s, const char *ref, const ns_access *a)
{
	MDB_val k = { strlen(ref), (void *)ref }, v;
	ns_access *stored;
	int g, same;

	if (!s->has_access)
		return 1;
	if ((g = mdb_get(txn, s->access, &k, &v)) == MDB_NOTFOUND)
		return !a->restricted && !a->excluded;
	if (g != 0 || (stored = calloc(1, sizeof(*stored))) == NULL)
		return 0;
	same = ns__access_decode(&v, stored) == 0 && memcmp(stored, a, sizeof(*a)) == 0;
	free(stored);
	return same;
}

int ns_store_access(ns_store *s, const char *offender, ns_access *out, ns_diag *d)
{
	char canon[NS_REF_MAX];
	MDB_txn *txn;
	MDB_val k, v;
	int rc;

	memset(out, 0, sizeof(*out));
	if (offender == NULL || offender[0] == '\0' || strlen(offender) >= NS_REF_MAX)
		return ns_diag_set(d, NS_ENOTFOUND, "offender", "no such person");
	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return ns_diag_set(d, NS_ESTORE, NULL, "cannot read the store: %s", ns_strerror(rc));
	if (ns__dirty_count(txn, s) > 0) {
		/* A person whose fold is deferred: the stored record may be behind; fold now. */
		ns__refset comp = { 0 };
		if ((rc = ns__component(txn, s, offender, &comp)) == 0 && ns__dirty_any(txn, s, &comp)) {
			char *json = NULL;
			size_t len = 0;
			rc = ns__fold_component(txn, s, &comp, &json, &len, NULL, out);
			free(json);
			free(comp.ref);
			mdb_txn_abort(txn);
			if (rc != 0)
				memset(out, 0, sizeof(*out));
			return rc == 0 ? 0
				       : ns_diag_set(d, NS_ESTORE, NULL, "cannot fold %s: %s", offender,
						     ns_strerror(rc));
		}
		free(comp.ref);
		if (rc != 0) {
			mdb_txn_abort(txn);
			return ns_diag_set(d, NS_ESTORE, NULL, "cannot read %s: %s", offender, ns_strerror(rc));
		}
	}
	rc = ns__get_str(txn, s->alias, offender, canon, NS_REF_MAX);
	if (rc == NS_ENOTFOUND) {
		mdb_txn_abort(txn);
		return ns_diag_set(d, NS_ENOTFOUND, "offender", "no person %s", offender);
	}
	if (rc == 0 && s->has_access) {
		k.mv_size = strlen(canon);
		k.mv_data = canon;
		int g = mdb_get(txn, s->access, &k, &v);
		if (g == 0)
			rc = ns__access_decode(&v, out);
		else if (g != MDB_NOTFOUND)
			rc = ns__mdb(g);
	}
	mdb_txn_abort(txn);
	if (rc != 0) {
		memset(out, 0, sizeof(*out));
		return ns_diag_set(d, NS_ESTORE, NULL, "cannot read the access record of %s: %s", offender,
				   ns_strerror(rc));
	}
	return 0;
}
