/*
 * Read-only queries: views (folding a person whose fold is deferred on the
 * fly), the digest, iteration over events, the version vector and its JSON
 * form, raw events, counters, summaries, sizes; and the scans that collect
 * a whole database into an array (also used by admin.c for proofs).
 */
#include "store_int.h"

#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Visit every record of @dbi in one read transaction. @fn's non-zero return
 * stops the walk and is returned; a cursor error is returned as NS_E*.
 */
static int ns__scan(ns_store *s, MDB_dbi dbi, ns__scan_fn fn, void *arg)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	int rc, g;

	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	if ((rc = ns__mdb(mdb_cursor_open(txn, dbi, &c))) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT))
		if ((rc = fn(arg, &k, &v)) != 0)
			break;
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	if (rc == 0 && g != MDB_NOTFOUND)
		rc = ns__mdb(g);
	return rc;
}

/*
 * Room for the next element of @p a (elements of @p elem bytes; the array
 * doubles from 16), or NULL with *rc = NS_ENOMEM.
 */
void *ns__acc_slot(ns__acc *a, size_t elem, int *rc)
{
	*rc = 0;
	if (a->n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 16;
		void *p = realloc(a->arr, ncap * elem);
		if (p == NULL) {
			*rc = NS_ENOMEM;
			return NULL;
		}
		a->arr = p;
		a->cap = ncap;
	}
	return (char *)a->arr + a->n * elem;
}

/*
 * Collect every record of @p dbi into a new array with @p fn. On failure
 * @p drop (if not NULL) releases what the elements own, the array is freed
 * and *out / *n are NULL / 0.
 */
int ns__collect(ns_store *s, MDB_dbi dbi, ns__scan_fn fn, void (*drop)(void *arr, size_t n), void **out,
		       size_t *n)
{
	ns__acc a = { 0 };
	int rc = ns__scan(s, dbi, fn, &a);

	if (rc != 0) {
		if (drop)
			drop(a.arr, a.n);
		else
			free(a.arr);
		a.arr = NULL;
		a.n = 0;
	}
	*out = a.arr;
	*n = a.n;
	return rc;
}

static int ns__vector_cb(void *arg, const MDB_val *k, const MDB_val *v)
{
	ns__acc *a = arg;
	ns_vv_entry *e;
	int rc;

	if (k->mv_size != NS_KEY_BYTES)
		return NS_ECORRUPT;
	if ((e = ns__acc_slot(a, sizeof(*e), &rc)) == NULL || (rc = ns__vv_decode(e, k->mv_data, v)) != 0)
		return rc;
	a->n++;
	return 0;
}

int ns_store_vector(ns_store *s, ns_vv_entry **out, size_t *n)
{
	MDB_txn *txn;
	int rc = ns__collect(s, s->vv, ns__vector_cb, NULL, (void **)out, n);

	if (rc != 0 || !s->has_trust || (rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0) {
		if (rc != 0) {
			free(*out);
			*out = NULL;
			*n = 0;
		}
		return rc;
	}
	for (size_t i = 0; i < *n; i++)
		(*out)[i].revoked_from = ns__revoked_from(txn, s, (*out)[i].origin);
	mdb_txn_abort(txn);
	return 0;
}

json_t *ns_vector_to_json(const ns_vv_entry *e, size_t n)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < n; i++) {
		char ok[2 * NS_KEY_BYTES + 1], hk[2 * NS_ID_BYTES + 1];
		ns_hex(ok, e[i].origin, NS_KEY_BYTES);
		ns_hex(hk, e[i].head, NS_ID_BYTES);
		json_t *x = json_pack("{s:s, s:s?, s:I, s:s, s:b, s:I}", "site", e[i].site, "role",
				      ns_role_name(e[i].role), "seq", (json_int_t)e[i].seq, "head", hk,
				      "quarantined", e[i].quarantined, "held", (json_int_t)e[i].held);
		if (x == NULL || json_object_set_new(o, ok, x) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

int ns_vector_from_json(const json_t *j, ns_vv_entry **out, size_t *n, ns_diag *d)
{
	const char *key;
	json_t *val;
	size_t i = 0;
	ns_vv_entry *arr;

	*out = NULL;
	*n = 0;
	if (!json_is_object(j))
		return ns_diag_set(d, NS_EVALID, "vector", "a version vector is a JSON object");
	arr = calloc(json_object_size(j) + 1, sizeof(*arr));
	if (arr == NULL)
		return NS_ENOMEM;
	json_object_foreach((json_t *)j, key, val)
	{
		json_t *seq = json_object_get(val, "seq");
		json_t *head = json_object_get(val, "head");
		if (ns_unhex(arr[i].origin, NS_KEY_BYTES, key) != 0 || !json_is_integer(seq) ||
		    json_integer_value(seq) < 0) {
			free(arr);
			return ns_diag_set(d, NS_EVALID, "vector",
					   "entry '%.70s' needs a 64-hex origin key and a seq >= 0", key);
		}
		arr[i].seq = (uint64_t)json_integer_value(seq);
		if (json_is_string(head))
			ns_unhex(arr[i].head, NS_ID_BYTES, json_string_value(head));
		i++;
	}
	*out = arr;
	*n = i;
	return 0;
}

/* Resolve @ref to its canonical ref through the alias table. */
static int ns__resolve(MDB_txn *txn, ns_store *s, const char *ref, char canon[NS_REF_MAX])
{
	if (strlen(ref) == 0 || strlen(ref) >= NS_REF_MAX)
		return NS_ENOTFOUND;
	return ns__get_str(txn, s->alias, ref, canon, NS_REF_MAX);
}

/* The stored view of the person @p ref identifies (valid until @p txn ends), and its canonical ref. */
static int ns__view_get(MDB_txn *txn, ns_store *s, const char *ref, char canon[NS_REF_MAX], MDB_val *v)
{
	int rc = ns__resolve(txn, s, ref, canon);
	MDB_val k;

	if (rc != 0)
		return rc; /* canon is unset */
	k.mv_size = strlen(canon);
	k.mv_data = canon;
	return ns__mdb(mdb_get(txn, s->views, &k, v));
}

int ns_store_view(ns_store *s, const char *ref, char **json, size_t *len, char canonical[NS_REF_MAX])
{
	char canon[NS_REF_MAX];
	MDB_txn *txn;
	MDB_val v;
	int rc;

	*json = NULL;
	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	if (ns__dirty_count(txn, s) > 0 && strlen(ref) > 0 && strlen(ref) < NS_REF_MAX) {
		/* A person whose fold is deferred: fold now, from the events. */
		ns__refset comp = { 0 };
		if ((rc = ns__component(txn, s, ref, &comp)) == 0 && ns__dirty_any(txn, s, &comp)) {
			size_t n = 0;
			if ((rc = ns__fold_component(txn, s, &comp, json, &n, NULL, NULL)) == 0) {
				if (len)
					*len = n;
				if (canonical)
					snprintf(canonical, NS_REF_MAX, "%s", ns__canonical(&comp));
			}
			free(comp.ref);
			mdb_txn_abort(txn);
			return rc;
		}
		free(comp.ref);
		if (rc != 0) {
			mdb_txn_abort(txn);
			return rc;
		}
	}
	if ((rc = ns__view_get(txn, s, ref, canon, &v)) == 0) {
		*json = malloc(v.mv_size + 1);
		if (*json == NULL) {
			rc = NS_ENOMEM;
		} else {
			memcpy(*json, v.mv_data, v.mv_size);
			(*json)[v.mv_size] = '\0';
			if (len)
				*len = v.mv_size;
			if (canonical)
				memcpy(canonical, canon, NS_REF_MAX);
		}
	}
	mdb_txn_abort(txn);
	return rc;
}

int ns_store_digest(ns_store *s, const char *ref, uint8_t out[NS_ID_BYTES])
{
	crypto_generichash_state st;
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	int rc, g;

	if ((rc = ns__settle(s)) != 0 || (rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	crypto_generichash_init(&st, NULL, 0, NS_ID_BYTES);
	if (ref != NULL) {
		char canon[NS_REF_MAX];
		if ((rc = ns__view_get(txn, s, ref, canon, &v)) == 0)
			crypto_generichash_update(&st, v.mv_data, v.mv_size);
	} else if ((rc = ns__mdb(mdb_cursor_open(txn, s->views, &c))) == 0) {
		static const uint8_t sep = 0;
		for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
			crypto_generichash_update(&st, k.mv_data, k.mv_size);
			crypto_generichash_update(&st, &sep, 1);
			crypto_generichash_update(&st, v.mv_data, v.mv_size);
			crypto_generichash_update(&st, &sep, 1);
		}
		mdb_cursor_close(c);
		if (g != MDB_NOTFOUND)
			rc = ns__mdb(g);
	}
	mdb_txn_abort(txn);
	if (rc == 0)
		crypto_generichash_final(&st, out, NS_ID_BYTES);
	return rc;
}

/* Decode the value of a log cursor position and hand it to @cb. */
static int ns__emit(const MDB_val *v, ns_event_cb cb, void *arg)
{
	ns_event *ev;
	int rc = ns__decode_stored(v, 0, NULL, &ev);

	if (rc != 0)
		return rc == NS_ENOMEM ? rc : NS_ECORRUPT;
	rc = cb(arg, ev);
	ns_event_free(ev);
	return rc;
}

static int ns__foreach(ns_store *s, const ns_vv_entry *since, size_t nsince, int relay, ns_event_cb cb,
			void *arg);

int ns_store_foreach(ns_store *s, ns_event_cb cb, void *arg)
{
	return ns__foreach(s, NULL, 0, 0, cb, arg);
}

int ns_store_foreach_person(ns_store *s, const char *ref, ns_event_cb cb, void *arg)
{
	ns__refset rs = { 0 };
	uint8_t *keys = NULL;
	size_t n = 0;
	MDB_txn *txn;
	int rc;

	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	if ((rc = ns__component(txn, s, ref, &rs)) == 0 &&
	    (rc = ns__component_keys(txn, s, &rs, &keys, &n)) == 0 && n == 0)
		rc = NS_ENOTFOUND;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		MDB_val k = { NS__LOGKEY, keys + i * NS__SORTKEY + 8 }, v;
		if ((rc = ns__mdb(mdb_get(txn, s->log, &k, &v))) == 0)
			rc = ns__emit(&v, cb, arg);
	}
	mdb_txn_abort(txn);
	free(keys);
	free(rs.ref);
	return rc;
}

int ns_store_foreach_since(ns_store *s, const ns_vv_entry *since, size_t nsince, ns_event_cb cb,
			   void *arg)
{
	return ns__foreach(s, since, nsince, 1, cb, arg);
}

/*
 * With @p export, only what may leave the store: not revoked, and each
 * event's own signature checked, now if the background check has not come
 * to it yet (an origin stops at its first bad one).
 */
static int ns__foreach(ns_store *s, const ns_vv_entry *since, size_t nsince, int export, ns_event_cb cb,
			void *arg)
{
	MDB_txn *txn;
	MDB_cursor *vc = NULL, *lc = NULL;
	MDB_val k, v;
	int rc, g;

	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->vv, &vc))) != 0 ||
	    (rc = ns__mdb(mdb_cursor_open(txn, s->log, &lc))) != 0)
		goto out;
	for (g = mdb_cursor_get(vc, &k, &v, MDB_FIRST); g == 0 && rc == 0;
	     g = mdb_cursor_get(vc, &k, &v, MDB_NEXT)) {
		uint8_t origin[NS_KEY_BYTES], lk[NS__LOGKEY];
		uint64_t from = 0;
		MDB_val lkv = { NS__LOGKEY, lk }, lv;
		int lg;

		if (k.mv_size != NS_KEY_BYTES) {
			rc = NS_ECORRUPT;
			break;
		}
		memcpy(origin, k.mv_data, NS_KEY_BYTES);
		for (size_t i = 0; i < nsince; i++)
			if (memcmp(since[i].origin, origin, NS_KEY_BYTES) == 0)
				from = since[i].seq;
		/* A revoked key's events from its revocation on are not handed out. */
		uint64_t revoked = ns__revoked_from(txn, s, origin);
		ns__logkey(lk, origin, from + 1);
		for (lg = mdb_cursor_get(lc, &lkv, &lv, MDB_SET_RANGE);
		     lg == 0 && rc == 0 && lkv.mv_size == NS__LOGKEY &&
		     memcmp(lkv.mv_data, origin, NS_KEY_BYTES) == 0 &&
		     (!revoked || ns__get_be64((const uint8_t *)lkv.mv_data + NS_KEY_BYTES) < revoked);
		     lg = mdb_cursor_get(lc, &lkv, &lv, MDB_NEXT)) {
			if (export && ns__sig_pending(txn, s, lkv.mv_data) && !ns__sig_valid_now(txn, s, lkv.mv_data, &lv))
				break; /* bad: nothing of this origin from here until a valid copy replaces it */
			rc = ns__emit(&lv, cb, arg);
		}
		if (rc == 0 && lg != 0 && lg != MDB_NOTFOUND)
			rc = ns__mdb(lg);
	}
	if (rc == 0 && g != MDB_NOTFOUND)
		rc = ns__mdb(g);
out:
	if (lc)
		mdb_cursor_close(lc);
	if (vc)
		mdb_cursor_close(vc);
	mdb_txn_abort(txn);
	return rc;
}

/* With @p relay, up to the first event whose signature is unchecked (ns__relay_limit). */
static int ns__range(ns_store *s, const uint8_t origin[NS_KEY_BYTES], uint64_t from, size_t max, size_t max_bytes,
		     int relay, ns_event_cb cb, void *arg)
{
	uint8_t lk[NS__LOGKEY];
	MDB_val k = { NS__LOGKEY, lk }, v;
	MDB_txn *txn;
	MDB_cursor *c;
	size_t n = 0, bytes = 0;
	int rc, g;

	ns__logkey(lk, origin, from);
	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->log, &c))) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	uint64_t revoked = relay ? ns__relay_limit(txn, s, origin) : ns__revoked_from(txn, s, origin);
	for (g = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	     g == 0 && n < max && (n == 0 || bytes + v.mv_size <= max_bytes) && k.mv_size == NS__LOGKEY &&
	     memcmp(k.mv_data, origin, NS_KEY_BYTES) == 0 &&
	     (!revoked || ns__get_be64((const uint8_t *)k.mv_data + NS_KEY_BYTES) < revoked);
	     g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if ((rc = ns__emit(&v, cb, arg)) != 0)
			break;
		n++;
		bytes += v.mv_size;
	}
	if (rc == 0 && g != 0 && g != MDB_NOTFOUND)
		rc = ns__mdb(g);
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return rc;
}

int ns_store_read_range(ns_store *s, const uint8_t origin[NS_KEY_BYTES], uint64_t from, size_t max,
			size_t max_bytes, ns_event_cb cb, void *arg)
{
	return ns__range(s, origin, from, max, max_bytes, 0, cb, arg);
}

int ns_store_relay_range(ns_store *s, const uint8_t origin[NS_KEY_BYTES], uint64_t from, size_t max,
			 size_t max_bytes, ns_event_cb cb, void *arg)
{
	return ns__range(s, origin, from, max, max_bytes, 1, cb, arg);
}

int ns_store_get(ns_store *s, const uint8_t origin[NS_KEY_BYTES], uint64_t seq, uint8_t **out,
		 size_t *len)
{
	uint8_t lk[NS__LOGKEY];
	MDB_val k = { NS__LOGKEY, lk }, v;
	MDB_txn *txn;
	int rc;

	*out = NULL;
	ns__logkey(lk, origin, seq);
	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	if ((rc = ns__mdb(mdb_get(txn, s->log, &k, &v))) == 0) {
		if ((*out = malloc(v.mv_size)) == NULL) {
			rc = NS_ENOMEM;
		} else {
			memcpy(*out, v.mv_data, v.mv_size);
			*len = v.mv_size;
		}
	}
	mdb_txn_abort(txn);
	return rc;
}

static int ns__counter_cb(void *arg, const MDB_val *k, const MDB_val *v)
{
	ns__acc *a = arg;
	int rc;
	ns_counter *c = ns__acc_slot(a, sizeof(*c), &rc);

	if (c == NULL)
		return rc;
	a->n++;
	size_t l = k->mv_size < sizeof(c->name) - 1 ? k->mv_size : sizeof(c->name) - 1;
	memcpy(c->name, k->mv_data, l);
	c->name[l] = '\0';
	c->value = v->mv_size == 8 ? ns__get_be64(v->mv_data) : 0;
	return 0;
}

int ns_store_counters(ns_store *s, ns_counter **out, size_t *n)
{
	return ns__collect(s, s->counters, ns__counter_cb, NULL, (void **)out, n);
}

typedef struct ns__summary_ctx {
	ns_summary_cb cb;
	void *arg;
} ns__summary_ctx;

static int ns__summary_cb(void *arg, const MDB_val *k, const MDB_val *v)
{
	ns__summary_ctx *x = arg;
	char key[NS_REF_MAX];
	ns_fold_summary sum;

	/* A summary stored before `restricted` existed reads as unrestricted until its re-fold. */
	if (k->mv_size >= NS_REF_MAX ||
	    (v->mv_size != sizeof(sum) && v->mv_size != offsetof(ns_fold_summary, restricted)))
		return NS_ECORRUPT;
	memcpy(key, k->mv_data, k->mv_size);
	key[k->mv_size] = '\0';
	memset(&sum, 0, sizeof(sum));
	memcpy(&sum, v->mv_data, v->mv_size);
	return x->cb(x->arg, key, &sum);
}

int ns_store_summaries(ns_store *s, ns_summary_cb cb, void *arg)
{
	ns__summary_ctx x = { cb, arg };
	return ns__scan(s, s->summary, ns__summary_cb, &x);
}

int ns_store_size(ns_store *s, uint64_t *bytes)
{
	MDB_envinfo info;
	MDB_stat st;
	int rc;

	if ((rc = ns__mdb(mdb_env_info(s->env, &info))) != 0 || (rc = ns__mdb(mdb_env_stat(s->env, &st))) != 0)
		return rc;
	*bytes = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
	return 0;
}

int ns_store_stats(ns_store *s, uint64_t *persons, uint64_t *events)
{
	MDB_txn *txn;
	MDB_stat st;
	int rc;

	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	if ((rc = ns__mdb(mdb_stat(txn, s->views, &st))) == 0) {
		*persons = st.ms_entries;
		if ((rc = ns__mdb(mdb_stat(txn, s->log, &st))) == 0)
			*events = st.ms_entries;
	}
	mdb_txn_abort(txn);
	return rc;
}
