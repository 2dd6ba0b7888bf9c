/*
 * Named cursors: small values a consumer of the store (the NATS publisher)
 * keeps beside the log, in meta under "cursor.<name>" (see ns_store_cursor_get).
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#define NS__CURSOR_NAME_MAX 64

static int ns__cursor_key(char *out, size_t cap, const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > NS__CURSOR_NAME_MAX)
		return NS_EINVAL;
	snprintf(out, cap, "cursor.%s", name);
	return 0;
}

int ns_store_cursor_get(ns_store *s, const char *name, uint8_t **out, size_t *len)
{
	char key[NS__CURSOR_NAME_MAX + 8];
	MDB_txn *txn;
	MDB_val k, v;
	int rc;

	*out = NULL;
	*len = 0;
	if ((rc = ns__cursor_key(key, sizeof(key), name)) != 0)
		return rc;
	k = (MDB_val){ strlen(key), key };
	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	rc = mdb_get(txn, s->meta, &k, &v);
	if (rc == 0) {
		if ((*out = malloc(v.mv_size ? v.mv_size : 1)) == NULL)
			rc = NS_ENOMEM;
		else {
			memcpy(*out, v.mv_data, v.mv_size);
			*len = v.mv_size;
		}
	} else
		rc = rc == MDB_NOTFOUND ? NS_ENOTFOUND : ns__mdb(rc);
	mdb_txn_abort(txn);
	return rc;
}

typedef struct ns__cursor_put {
	const char *key;
	const uint8_t *val;
	size_t len;
} ns__cursor_put;

static int ns__cursor_put_once(ns_store *s, void *arg)
{
	ns__cursor_put *p = arg;
	MDB_txn *txn;
	MDB_val k = { strlen(p->key), (void *)p->key }, v = { p->len, (void *)p->val };
	int rc;

	if ((rc = ns__mdb(ns__txn(s, 0, &txn))) != 0)
		return rc;
	if ((rc = ns__mdb(mdb_put(txn, s->meta, &k, &v, 0))) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return ns__mdb(mdb_txn_commit(txn));
}

int ns_store_cursor_put(ns_store *s, const char *name, const uint8_t *val, size_t len)
{
	char key[NS__CURSOR_NAME_MAX + 8];
	int rc;

	if ((rc = ns__cursor_key(key, sizeof(key), name)) != 0 || (val == NULL && len))
		return rc ? rc : NS_EINVAL;
	if (s->flags & NS_STORE_RDONLY)
		return NS_EINVAL;
	return ns__retry(s, ns__cursor_put_once, &(ns__cursor_put){ key, val, len }, NULL);
}
