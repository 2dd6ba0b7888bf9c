/*
 * Persons. A person is a component of refs (NOMS numbers, CRNs) joined by
 * the links database and by active merges (person.merged not undone by a
 * later person.unmerged of the same pair); its events are found through byref under each ref,
 * folded in sort-key order, and the view and summary are stored under its
 * canonical ref, which alias maps every ref to. Also here: the deferred
 * folds of NS_INGEST_DEFER_FOLD (the dirty database, ns_store_fold_pending)
 * and the fold latency statistics.
 */
#include "store_int.h"

#include <nomsync/validate.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const double ns_fold_bucket_bounds[NS_FOLD_BUCKETS] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
							 0.005,  0.01,    0.025,  0.1,   1.0 };

static uint64_t ns__nanos(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void ns__fold_record(ns_store *s, uint64_t nanos)
{
	__atomic_add_fetch(&s->fold_count, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->fold_nanos, nanos, __ATOMIC_RELAXED);
	for (int i = 0; i < NS_FOLD_BUCKETS; i++)
		if ((double)nanos / 1e9 <= ns_fold_bucket_bounds[i])
			__atomic_add_fetch(&s->fold_buckets[i], 1, __ATOMIC_RELAXED);
}

static const char *const ns__cpu_names[NS_CPU_ACTIVITIES] = {
	[NS_CPU_VERIFY] = "verify", [NS_CPU_INGEST] = "ingest", [NS_CPU_APPEND] = "append",
	[NS_CPU_FOLD] = "fold",     [NS_CPU_INDEX] = "index",   [NS_CPU_SIGCHECK] = "sigcheck",
};

const char *ns_cpu_activity_name(ns_cpu_activity a)
{
	return (unsigned)a < NS_CPU_ACTIVITIES ? ns__cpu_names[a] : NULL;
}

uint64_t ns_thread_cpu_nanos(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void ns_store_cpu_add(ns_store *s, ns_cpu_activity a, uint64_t nanos)
{
	if ((unsigned)a < NS_CPU_ACTIVITIES)
		__atomic_add_fetch(&s->cpu_nanos[a], nanos, __ATOMIC_RELAXED);
}

void ns_store_cpu_stats(ns_store *s, double out[NS_CPU_ACTIVITIES])
{
	for (int a = 0; a < NS_CPU_ACTIVITIES; a++)
		out[a] = (double)__atomic_load_n(&s->cpu_nanos[a], __ATOMIC_RELAXED) / 1e9;
}

void ns_store_fold_stats(ns_store *s, ns_fold_stats *out)
{
	out->count = __atomic_load_n(&s->fold_count, __ATOMIC_RELAXED);
	out->sum = (double)__atomic_load_n(&s->fold_nanos, __ATOMIC_RELAXED) / 1e9;
	for (int i = 0; i < NS_FOLD_BUCKETS; i++)
		out->buckets[i] = __atomic_load_n(&s->fold_buckets[i], __ATOMIC_RELAXED);
}

/*
 * Load the event stored under @p logkey. With @p arena it is decoded into
 * the arena and points into the map (valid until @p txn ends); without, it
 * is malloc'd (free with ns_event_free). Stored bytes passed a full decode
 * on the way in, so the payload hash is not recomputed; verify re-checks it.
 */
int ns__load(MDB_txn *txn, ns_store *s, const uint8_t logkey[NS__LOGKEY], ns__arena *arena,
		    ns_event **ev)
{
	MDB_val k = { NS__LOGKEY, (void *)logkey }, v;
	int rc = mdb_get(txn, s->log, &k, &v);

	if (rc != 0)
		return ns__mdb(rc);
	rc = ns__decode_stored(&v, NS_DECODE_TRUSTED, arena, ev);
	return rc == NS_ENOMEM ? rc : (rc ? NS_ECORRUPT : 0);
}

/*
 * Merges. A person.merged joins two records as a link does; unlike a link
 * (which records no event) a person.unmerged can undo it, so each pair keeps
 * the sort keys of its merge events, and the last one decides: the result is
 * the same in any arrival order. The canonical ref stays the least NOMS
 * number (else CRN) of the joined component, whichever is the survivor.
 */
int ns__merges_open(MDB_txn *txn, ns_store *s, int create)
{
	int rc;

	s->has_merges = 0;
	rc = mdb_dbi_open(txn, "mergeedge", MDB_DUPSORT | (create ? MDB_CREATE : 0), &s->mergeedge);
	if (rc == MDB_NOTFOUND && !create)
		return 0; /* read-only, older store: no merges */
	if (rc == 0)
		rc = mdb_dbi_open(txn, "mergelog", MDB_DUPSORT | MDB_DUPFIXED | (create ? MDB_CREATE : 0),
				  &s->mergelog);
	if (rc != 0)
		return ns__mdb(rc);
	s->has_merges = 1;
	return 0;
}

/* mergelog key of a pair: "survivor>removed". */
static MDB_val ns__merge_key(char buf[2 * NS_REF_MAX], const char *survivor, const char *removed)
{
	MDB_val k;

	k.mv_size = (size_t)snprintf(buf, 2 * NS_REF_MAX, "%s>%s", survivor, removed);
	k.mv_data = buf;
	return k;
}

/* 1 if the last merge event of survivor>removed is a merge, 0 if none or an unmerge, or < 0. */
static int ns__merge_state(MDB_txn *txn, ns_store *s, const char *survivor, const char *removed)
{
	char buf[2 * NS_REF_MAX];
	MDB_val k = ns__merge_key(buf, survivor, removed), v;
	MDB_cursor *c;
	int rc;

	if ((rc = mdb_cursor_open(txn, s->mergelog, &c)) != 0)
		return ns__mdb(rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET);
	if (rc == 0)
		rc = mdb_cursor_get(c, &k, &v, MDB_LAST_DUP);
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return ns__mdb(rc);
	if (v.mv_size != NS__SORTKEY + 1)
		return NS_ECORRUPT;
	return ((const uint8_t *)v.mv_data)[NS__SORTKEY] == 1;
}

/*
 * Add to @p rs the refs merged with @p ref (either way) by an active merge;
 * with @p up, only those @p ref was merged into (its survivors).
 */
static int ns__merged_with(MDB_txn *txn, ns_store *s, const char *ref, int up, ns__refset *rs)
{
	MDB_cursor *c;
	MDB_val k = { strlen(ref), (void *)ref }, v;
	int rc;

	if (!s->has_merges)
		return 0;
	if ((rc = mdb_cursor_open(txn, s->mergeedge, &c)) != 0)
		return ns__mdb(rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_SET);
	while (rc == 0) {
		char other[NS_REF_MAX];
		int on = 0;
		if (v.mv_size < NS_REF_MAX) {
			memcpy(other, v.mv_data, v.mv_size);
			other[v.mv_size] = '\0';
			on = ns__merge_state(txn, s, other, ref);
			if (on == 0 && !up)
				on = ns__merge_state(txn, s, ref, other);
			if (on > 0)
				on = ns__refset_add(rs, other);
		}
		if (on < 0) {
			mdb_cursor_close(c);
			return on;
		}
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_DUP);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : ns__mdb(rc);
}

int ns__merges(MDB_txn *txn, ns_store *s, const ns_event *ev, const uint8_t sk[NS__SORTKEY],
	       ns__refset *touched)
{
	const Nomsync__PersonMerged *m = ev->payload->person_merged;
	const Nomsync__PersonUnmerged *u = ev->payload->person_unmerged;
	int merge = ev->type == NOMSYNC__EVENT_TYPE__PERSON_MERGED;
	const char *sv = merge ? (m ? m->survivor : NULL) : (u ? u->survivor : NULL);
	const char *rm = merge ? (m ? m->removed : NULL) : (u ? u->removed : NULL);
	uint8_t rec[NS__SORTKEY + 1];
	char buf[2 * NS_REF_MAX];
	int rc;

	if (!s->has_merges || sv == NULL || rm == NULL || !*sv || !*rm || strcmp(sv, rm) == 0 ||
	    strlen(sv) >= NS_REF_MAX || strlen(rm) >= NS_REF_MAX)
		return 0;
	MDB_val a = { strlen(sv), (void *)sv }, b = { strlen(rm), (void *)rm };
	MDB_val k = ns__merge_key(buf, sv, rm), v = { sizeof(rec), rec };
	memcpy(rec, sk, NS__SORTKEY);
	rec[NS__SORTKEY] = (uint8_t)merge;
	if ((rc = mdb_put(txn, s->mergeedge, &a, &b, MDB_NODUPDATA)) != 0 && rc != MDB_KEYEXIST)
		return ns__mdb(rc);
	if ((rc = mdb_put(txn, s->mergeedge, &b, &a, MDB_NODUPDATA)) != 0 && rc != MDB_KEYEXIST)
		return ns__mdb(rc);
	if ((rc = mdb_put(txn, s->mergelog, &k, &v, MDB_NODUPDATA)) != 0 && rc != MDB_KEYEXIST)
		return ns__mdb(rc);
	/* The event belongs to both records' streams, so each shows it after an unmerge. */
	for (int i = 0; i < 2; i++) {
		MDB_val rk = i ? b : a, sv2 = { NS__SORTKEY, (void *)sk };
		if ((rc = mdb_put(txn, s->byref, &rk, &sv2, 0)) != 0 && rc != MDB_KEYEXIST)
			return ns__mdb(rc);
	}
	if ((rc = ns__refset_add(touched, sv)) != 0 || (rc = ns__refset_add(touched, rm)) != 0)
		return rc;
	return 0;
}

int ns__merge_cycle(MDB_txn *txn, ns_store *s, const char *survivor, const char *removed)
{
	ns__refset up = { 0 };
	int rc = 0, found = 0;

	if (survivor == NULL || removed == NULL || (rc = ns__refset_add(&up, survivor)) != 0)
		return rc;
	/* Follow survivor up through the records it was merged into. */
	for (size_t i = 0; i < up.n && up.n < NS__MAX_COMPONENT && rc == 0 && !found; i++) {
		found = strcmp(up.ref[i], removed) == 0;
		if (!found)
			rc = ns__merged_with(txn, s, up.ref[i], 1, &up);
	}
	for (size_t i = 0; i < up.n && rc == 0 && !found; i++)
		found = strcmp(up.ref[i], removed) == 0;
	free(up.ref);
	return rc < 0 ? rc : found;
}

/* Refs linked or merged to @ref, transitively: the person's identifiers. */
int ns__component(MDB_txn *txn, ns_store *s, const char *ref, ns__refset *rs)
{
	MDB_cursor *c;
	int rc;

	rs->n = 0;
	if ((rc = ns__refset_add(rs, ref)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->links, &c)) != 0)
		return ns__mdb(rc);
	for (size_t i = 0; i < rs->n && rs->n < NS__MAX_COMPONENT; i++) {
		MDB_val k = { strlen(rs->ref[i]), rs->ref[i] }, v;
		rc = mdb_cursor_get(c, &k, &v, MDB_SET);
		while (rc == 0) {
			char other[NS_REF_MAX];
			if (v.mv_size < NS_REF_MAX) {
				memcpy(other, v.mv_data, v.mv_size);
				other[v.mv_size] = '\0';
				if ((rc = ns__refset_add(rs, other)) != 0)
					break;
			}
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_DUP);
		}
		if (rc == MDB_NOTFOUND)
			rc = ns__merged_with(txn, s, rs->ref[i], 0, rs);
		if (rc != 0 && rc != MDB_NOTFOUND) {
			mdb_cursor_close(c);
			return rc < 0 ? rc : ns__mdb(rc);
		}
	}
	mdb_cursor_close(c);
	return 0;
}

int ns__refset_has(const ns__refset *rs, const char *ref)
{
	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->ref[i], ref) == 0)
			return 1;
	return 0;
}

/* Canonical ref of a component: the least NOMS number, else the least ref. */
const char *ns__canonical(const ns__refset *rs)
{
	const char *best = NULL;
	int best_noms = 0;

	for (size_t i = 0; i < rs->n; i++) {
		int noms = ns_is_noms(rs->ref[i]);
		if (best == NULL || (noms && !best_noms) ||
		    (noms == best_noms && strcmp(rs->ref[i], best) < 0)) {
			best = rs->ref[i];
			best_noms = noms;
		}
	}
	return best;
}

static int ns__cmp_sortkey(const void *a, const void *b)
{
	return memcmp(a, b, NS__SORTKEY);
}

/* Sort keys of every event of a component, sorted and de-duplicated. */
int ns__component_keys(MDB_txn *txn, ns_store *s, const ns__refset *rs, uint8_t **keys,
			      size_t *nkeys)
{
	MDB_cursor *c;
	uint8_t *k = NULL;
	size_t n = 0, cap = 0;
	int rc;

	*keys = NULL;
	*nkeys = 0;
	if ((rc = mdb_cursor_open(txn, s->byref, &c)) != 0)
		return ns__mdb(rc);
	for (size_t i = 0; i < rs->n; i++) {
		MDB_val mk = { strlen(rs->ref[i]), (void *)rs->ref[i] }, v;
		rc = mdb_cursor_get(c, &mk, &v, MDB_SET);
		while (rc == 0) {
			if (v.mv_size != NS__SORTKEY) {
				rc = NS_ECORRUPT;
				break;
			}
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				void *p = realloc(k, cap * NS__SORTKEY);
				if (p == NULL) {
					rc = NS_ENOMEM;
					break;
				}
				k = p;
			}
			memcpy(k + n * NS__SORTKEY, v.mv_data, NS__SORTKEY);
			n++;
			rc = mdb_cursor_get(c, &mk, &v, MDB_NEXT_DUP);
		}
		if (rc != MDB_NOTFOUND) {
			mdb_cursor_close(c);
			free(k);
			return rc < 0 ? rc : ns__mdb(rc);
		}
	}
	mdb_cursor_close(c);
	if (n > 1) {
		size_t w = 1;
		qsort(k, n, NS__SORTKEY, ns__cmp_sortkey);
		for (size_t i = 1; i < n; i++)
			if (memcmp(k + i * NS__SORTKEY, k + (w - 1) * NS__SORTKEY, NS__SORTKEY) != 0)
				memmove(k + w++ * NS__SORTKEY, k + i * NS__SORTKEY, NS__SORTKEY);
		n = w;
	}
	*keys = k;
	*nkeys = n;
	return 0;
}

/*
 * The view @p json (of @p len bytes) with "incomplete": the ids (hex) of
 * the person's events stored without their payload, which the fold left
 * out. Canonical as ns_fold writes it (compact, keys sorted).
 */
static int ns__note_incomplete(char **json, size_t *len, json_t *ids)
{
	json_malloc_t jmalloc;
	json_free_t jfree;
	json_t *v = json_loadb(*json, *len, 0, NULL);
	char *text;

	if (v == NULL || json_object_set(v, "incomplete", ids) != 0) {
		json_decref(v);
		return NS_ENOMEM;
	}
	text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(v);
	if (text == NULL)
		return NS_ENOMEM;
	free(*json);
	*len = strlen(text);
	*json = malloc(*len + 1);
	if (*json != NULL)
		memcpy(*json, text, *len + 1);
	json_get_alloc_funcs(&jmalloc, &jfree);
	jfree(text); /* jansson's allocator, which a program may have replaced */
	return *json ? 0 : NS_ENOMEM;
}

int ns__fold_component(MDB_txn *txn, ns_store *s, const ns__refset *rs, char **json,
			      size_t *len, ns_fold_summary *sum, ns_access *acc)
{
	ns_fold_figures *fig;
	int rc;

	if (acc == NULL)
		return ns__fold_figured(txn, s, rs, NULL, json, len, sum, NULL, NULL, NULL);
	if ((fig = malloc(sizeof(*fig))) == NULL)
		return NS_ENOMEM;
	rc = ns__fold_figured(txn, s, rs, NULL, json, len, sum, fig, NULL, NULL);
	memset(acc, 0, sizeof(*acc));
	if (rc == 0)
		*acc = fig->access;
	free(fig);
	return rc;
}

/*
 * Keep in @p keys (n sort keys, compacted in place) those of the events a
 * view is folded from: rejected or unchecked events stay in the log and the
 * timeline, not in the view; nor do revoked events, nor, until completed,
 * those without their payload, whose ids go to *incomplete (NULL if none).
 */
int ns__fold_select(MDB_txn *txn, ns_store *s, uint8_t *keys, size_t *n, json_t **incomplete)
{
	ns__arena arena = NS__ARENA_INIT;
	int skip = ns__unfolded_any(txn, s), trust = ns__trust_any(txn, s), rc = 0;
	size_t m = 0;

	*incomplete = NULL;
	for (size_t i = 0; i < *n && rc == 0; i++) {
		const uint8_t *lk = keys + i * NS__SORTKEY + 8;
		if (skip && ns__unfolded(txn, s, lk))
			continue;
		if (trust) {
			uint64_t from = ns__revoked_from(txn, s, lk);
			if (from && ns__get_be64(lk + NS_KEY_BYTES) >= from)
				continue;
			if (ns__is_incomplete(txn, s, lk)) {
				ns_event *ev;
				char hex[2 * NS_ID_BYTES + 1];
				if ((rc = ns__load(txn, s, lk, &arena, &ev)) != 0)
					break;
				ns_hex(hex, ev->id, NS_ID_BYTES);
				if ((*incomplete == NULL && (*incomplete = json_array()) == NULL) ||
				    json_array_append_new(*incomplete, json_string(hex)) != 0)
					rc = NS_ENOMEM;
				continue;
			}
		}
		if (m != i)
			memcpy(keys + m * NS__SORTKEY, keys + i * NS__SORTKEY, NS__SORTKEY);
		m++;
	}
	ns__arena_free(&arena);
	*n = m;
	return rc;
}

int ns__load_keys(MDB_txn *txn, ns_store *s, const uint8_t *keys, size_t n, ns__arena *arena,
		  ns_event **evs)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++)
		rc = ns__load(txn, s, keys + i * NS__SORTKEY + 8, arena, &evs[i]);
	return rc;
}

/* Load and fold one component; its events live in one arena (or the fold cache's). */
int ns__fold_figured(MDB_txn *txn, ns_store *s, const ns__refset *rs, const char *canon, char **json,
		     size_t *len, ns_fold_summary *sum, ns_fold_figures *fig, uint8_t **kept, size_t *nkept)
{
	ns__arena arena = NS__ARENA_INIT;
	uint8_t *keys;
	size_t n;
	ns_event **evs;
	json_t *incomplete = NULL;
	int rc;

	if ((rc = ns__component_keys(txn, s, rs, &keys, &n)) != 0)
		return rc;
	rc = ns__fold_select(txn, s, keys, &n, &incomplete);
	if (rc == 0 && canon != NULL && n >= NS__FCACHE_MIN && s->fcache_max > 0) {
		rc = ns__fcache_fold(txn, s, canon, keys, n, json, len, sum, fig);
	} else if (rc == 0) {
		if ((evs = ns__arena_alloc(&arena, (n ? n : 1) * sizeof(*evs))) == NULL)
			rc = NS_ENOMEM;
		if (rc == 0 && (rc = ns__load_keys(txn, s, keys, n, &arena, evs)) == 0)
			rc = ns_fold_figured(evs, n, json, len, sum, fig);
	}
	if (rc == 0 && incomplete != NULL && (rc = ns__note_incomplete(json, len, incomplete)) != 0) {
		free(*json);
		*json = NULL;
	}
	json_decref(incomplete);
	ns__arena_free(&arena);
	if (rc == 0 && kept != NULL) {
		*kept = keys;
		*nkept = n;
	} else {
		free(keys);
	}
	return rc;
}

/* Persons whose fold is deferred; 0 if none (or on error). */
size_t ns__dirty_count(MDB_txn *txn, ns_store *s)
{
	MDB_stat st;

	if (!s->has_dirty || mdb_stat(txn, s->dirty, &st) != 0)
		return 0;
	return st.ms_entries;
}

/* Whether any ref of a component is pending a deferred fold. */
int ns__dirty_any(MDB_txn *txn, ns_store *s, const ns__refset *comp)
{
	for (size_t i = 0; i < comp->n; i++) {
		MDB_val k = { strlen(comp->ref[i]), comp->ref[i] }, v;
		if (mdb_get(txn, s->dirty, &k, &v) == 0)
			return 1;
	}
	return 0;
}

/* Mark touched refs pending instead of folding them (NS_INGEST_DEFER_FOLD). */
int ns__defer(MDB_txn *txn, ns_store *s, const ns__refset *touched)
{
	static const char one = 1;
	int rc = 0;

	for (size_t i = 0; i < touched->n && rc == 0; i++) {
		MDB_val k = { strlen(touched->ref[i]), touched->ref[i] }, v = { 1, (void *)&one };
		rc = ns__mdb(mdb_put(txn, s->dirty, &k, &v, 0));
	}
	return rc;
}

int ns__fold_store(MDB_txn *txn, ns_store *s, const ns__refset *comp, const char *canon, int dirty,
		   const char *json, size_t len, const ns_fold_summary *sum, const ns_fold_figures *fig)
{
	MDB_val k = { strlen(canon), (void *)canon }, v = { len, (void *)json };
	int rc = ns__mdb(mdb_put(txn, s->views, &k, &v, 0));

	if (rc == 0)
		rc = ns__figures_update(txn, s, canon, fig);
	if (rc != 0)
		return rc;
	v.mv_size = sizeof(*sum);
	v.mv_data = (void *)sum;
	if ((rc = ns__mdb(mdb_put(txn, s->summary, &k, &v, 0))) != 0 ||
	    (rc = ns__access_put(txn, s, canon, &fig->access)) != 0)
		return rc;
	/* Point every ref at the canonical one; drop views of merged persons. */
	for (size_t i = 0; i < comp->n && rc == 0; i++) {
		MDB_val ak = { strlen(comp->ref[i]), comp->ref[i] }, av;
		int g;

		if (dirty && (g = mdb_del(txn, s->dirty, &ak, NULL)) != 0 && g != MDB_NOTFOUND)
			return ns__mdb(g);
		g = mdb_get(txn, s->alias, &ak, &av);
		if (g == 0 && av.mv_size == strlen(canon) && memcmp(av.mv_data, canon, av.mv_size) == 0)
			continue;
		if (g == 0) {
			MDB_val old = { av.mv_size, av.mv_data };
			char oldref[NS_REF_MAX];
			if (old.mv_size < NS_REF_MAX) {
				memcpy(oldref, old.mv_data, old.mv_size);
				oldref[old.mv_size] = '\0';
				/*
				 * The old canonical ref's view goes if it joined this
				 * person; after an unmerge it may head the other part.
				 */
				if (strcmp(oldref, canon) != 0 && ns__refset_has(comp, oldref)) {
					MDB_val ok = { strlen(oldref), oldref };
					int r1 = mdb_del(txn, s->views, &ok, NULL);
					int r2 = mdb_del(txn, s->summary, &ok, NULL);
					int r3 = ns__figures_drop(txn, s, oldref);
					int r4 = ns__access_drop(txn, s, oldref);
					if ((r1 && r1 != MDB_NOTFOUND) || (r2 && r2 != MDB_NOTFOUND) || r3 || r4)
						return NS_ESTORE;
				}
			}
		} else if (g != MDB_NOTFOUND) {
			return ns__mdb(g);
		}
		MDB_val nv = { strlen(canon), (void *)canon };
		rc = ns__mdb(mdb_put(txn, s->alias, &ak, &nv, 0));
	}
	return rc;
}

int ns__fold_timed(MDB_txn *txn, ns_store *s, const ns__refset *comp, const char *canon, char **json,
		   size_t *len, ns_fold_summary *sum, ns_fold_figures *fig, uint8_t **kept, size_t *nkept)
{
	uint64_t t0 = ns__nanos();
	int rc;

	memset(sum, 0, sizeof(*sum));
	rc = ns__fold_figured(txn, s, comp, canon, json, len, sum, fig, kept, nkept);
	if (rc == 0)
		ns__fold_record(s, ns__nanos() - t0);
	return rc;
}

/*
 * Re-fold every person touched by a batch and store their views; with
 * @p cached, long histories through the fold cache.
 */
static int ns__refold_ex(MDB_txn *txn, ns_store *s, const ns__refset *touched, int cached)
{
	ns__refset comp = { 0 }, done = { 0 };
	int rc = 0, dirty = ns__dirty_count(txn, s) > 0;

	for (size_t t = 0; t < touched->n && rc == 0; t++) {
		const char *canon;
		char *json = NULL;
		size_t len = 0;
		ns_fold_summary sum;
		ns_fold_figures fig;

		if ((rc = ns__component(txn, s, touched->ref[t], &comp)) != 0)
			break;
		canon = ns__canonical(&comp);
		if (ns__refset_has(&done, canon))
			continue;
		if ((rc = ns__refset_add(&done, canon)) != 0)
			break;
		rc = ns__fold_timed(txn, s, &comp, cached ? canon : NULL, &json, &len, &sum, &fig, NULL, NULL);
		if (rc == 0)
			rc = ns__fold_store(txn, s, &comp, canon, dirty, json, len, &sum, &fig);
		free(json);
	}
	free(comp.ref);
	free(done.ref);
	return rc;
}

int ns__refold(MDB_txn *txn, ns_store *s, const ns__refset *touched)
{
	return ns__refold_ex(txn, s, touched, 1);
}

/* One step of ns_store_fold_pending: fold up to max pending persons. */
static int ns__fold_step(MDB_txn *txn, ns_store *s, size_t max)
{
	ns__refset set = { 0 };
	MDB_cursor *c;
	MDB_val k, v;
	int rc, g;

	if ((rc = ns__mdb(mdb_cursor_open(txn, s->dirty, &c))) != 0)
		return rc;
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0 && set.n < max && rc == 0;
	     g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		char ref[NS_REF_MAX];
		if (k.mv_size == 0 || k.mv_size >= NS_REF_MAX) {
			rc = NS_ECORRUPT;
			break;
		}
		memcpy(ref, k.mv_data, k.mv_size);
		ref[k.mv_size] = '\0';
		rc = ns__refset_add(&set, ref);
	}
	mdb_cursor_close(c);
	if (rc == 0 && g != 0 && g != MDB_NOTFOUND)
		rc = ns__mdb(g);
	/* ns__refold_ex clears the pending mark of every ref it folds; catch-up bypasses the fold cache. */
	if (rc == 0)
		rc = ns__refold_ex(txn, s, &set, 0);
	free(set.ref);
	return rc;
}

int ns_store_fold_pending(ns_store *s, size_t max, size_t *left, ns_diag *d)
{
	uint64_t t0 = ns_thread_cpu_nanos();
	int rc;

	if (s->fold_threads > 1 && s->has_dirty && max > 0 && !(s->flags & NS_STORE_RDONLY))
		rc = ns__fold_parallel(s, max, left, d);
	else
		rc = ns__pending(s, s->has_dirty, ns__dirty_count, ns__fold_step, max, left, d);
	ns__cpu_charge(s, NS_CPU_FOLD, t0);
	return rc;
}

int ns_store_set_fold_threads(ns_store *s, unsigned n)
{
	if (n < 1 || n > NS__FOLD_THREADS_MAX)
		return NS_EINVAL;
	s->fold_threads = n;
	return 0;
}

/* Complete every deferred fold (ns_store_digest does first, on a writable store). */
int ns__settle(ns_store *s)
{
	size_t left = 0;
	int rc;

	if (!s->has_dirty || (s->flags & NS_STORE_RDONLY))
		return 0;
	do
		rc = ns_store_fold_pending(s, 1024, &left, NULL);
	while (rc == 0 && left > 0);
	return rc;
}
