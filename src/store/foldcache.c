/*
 * The fold cache: for persons with a long history (NS__FCACHE_MIN events or
 * more) re-folded in a write transaction, the decoded events of the last
 * fold and its ns_fold_inc (checkpoints of the fold state every
 * NS_FOLD_CHECKPOINT events, src/fold/incremental.c). A late event then
 * loads and decodes only the events not already held, and is folded from the
 * checkpoint before its position; the view is byte for byte that of a whole
 * fold (tests/test_fold.c test_incremental, tests/test_store.c).
 *
 * An entry holds the sort keys of its events. It is used only when every
 * one of them is still among the person's keys (events are only added), and
 * is otherwise rebuilt from the store: a revocation, an unmerge or another
 * process's change leaves a key out. An event whose stored bytes may change
 * under the same key, an erased target, comes with an event.erased, and a
 * merge changes who the person is: a new event of either kind rebuilds the
 * entry too. Entries are updated inside write transactions, so a
 * transaction that does not commit could leave one holding events that are
 * not stored: ns__retry clears the whole cache after any failed attempt.
 *
 * Memory: the decoded events of each entry live in its own arena; the entries are kept to s->fcache_max bytes in all (an estimate of
 * their arenas, event lists and checkpoints), dropping the least recently
 * used (ns_store_set_fold_cache). Everything is under s->fcache_lock.
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS__FCACHE_ENTRIES 1024

struct ns__fentry {
	char ref[NS_REF_MAX];
	uint8_t *keys; /* sort keys, sorted, of evs */
	ns_event **evs;
	size_t n, cap;
	ns__arena arena; /* raw copies of the stored bytes and the events decoded from them */
	size_t abytes;   /* estimate of what the arena and the checkpoints hold */
	size_t bytes;    /* the same with the lists: what the entry counts in the cache */
	ns_fold_inc *fi;
	uint64_t used;
};

struct ns__fcache {
	struct ns__fentry *e;
	size_t n;
	size_t bytes;
	uint64_t tick;
};

/*
 * Bytes an event costs: the decoded event with its payload, the fold's
 * record of it (ns__fev) and its share of the checkpoints; measured about
 * 1.15 KiB (RSS) for the 230-byte events of the benchmark's long histories.
 */
static size_t ns__event_cost(size_t stored_len)
{
	return 2 * stored_len + 700;
}

static void ns__fentry_clear(struct ns__fentry *e)
{
	ns_fold_inc_free(e->fi);
	ns__arena_free(&e->arena);
	free(e->keys);
	free(e->evs);
	memset(e, 0, sizeof(*e));
}

static void ns__fcache_drop(struct ns__fcache *c, size_t i)
{
	c->bytes -= c->e[i].bytes;
	ns__fentry_clear(&c->e[i]);
	c->e[i] = c->e[--c->n];
}

void ns__fcache_clear(ns_store *s)
{
	pthread_mutex_lock(&s->fcache_lock);
	if (s->fcache != NULL)
		while (s->fcache->n > 0)
			ns__fcache_drop(s->fcache, 0);
	pthread_mutex_unlock(&s->fcache_lock);
}

void ns__fcache_free(ns_store *s)
{
	ns__fcache_clear(s);
	if (s->fcache != NULL) {
		free(s->fcache->e);
		free(s->fcache);
		s->fcache = NULL;
	}
}

/* The entry of @p ref, a new empty one (evicting the least recently used if full), or NULL. */
static struct ns__fentry *ns__fentry_get(struct ns__fcache *c, const char *ref)
{
	size_t lru = 0;

	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->e[i].ref, ref) == 0)
			return &c->e[i];
		if (c->e[i].used < c->e[lru].used)
			lru = i;
	}
	if (c->n == NS__FCACHE_ENTRIES)
		ns__fcache_drop(c, lru);
	struct ns__fentry *e = &c->e[c->n];
	memset(e, 0, sizeof(*e));
	snprintf(e->ref, sizeof(e->ref), "%s", ref);
	if ((e->fi = ns_fold_inc_new()) == NULL)
		return NULL;
	c->n++;
	return e;
}

/* Keep the cache within its budget, dropping least recently used entries other than @p keep. */
static void ns__fcache_trim(struct ns__fcache *c, const char *keep, size_t max)
{
	while (c->bytes > max && c->n > 1) {
		size_t lru = SIZE_MAX;
		for (size_t i = 0; i < c->n; i++)
			if (strcmp(c->e[i].ref, keep) != 0 && (lru == SIZE_MAX || c->e[i].used < c->e[lru].used))
				lru = i;
		if (lru == SIZE_MAX)
			return;
		ns__fcache_drop(c, lru);
	}
}

/*
 * Load the event under a sort key into the entry's arena. The decoded event
 * (its payload unpacked into the arena) outlives the transaction; the
 * pointers into the stored bytes (raw, header, signature, payload_bytes) do
 * not, and the fold reads none of them: they are cleared.
 */
static int ns__fentry_load(MDB_txn *txn, ns_store *s, struct ns__fentry *e, const uint8_t *key,
			   ns_event **ev)
{
	MDB_val k = { NS__LOGKEY, (void *)(key + 8) }, v;
	int rc = mdb_get(txn, s->log, &k, &v);

	if (rc != 0)
		return ns__mdb(rc);
	rc = ns__decode_stored(&v, NS_DECODE_TRUSTED, &e->arena, ev);
	if (rc != 0)
		return rc == NS_ENOMEM ? rc : NS_ECORRUPT;
	(*ev)->raw = NULL;
	(*ev)->raw_len = 0;
	(*ev)->header = NULL;
	(*ev)->header_len = 0;
	(*ev)->signature = NULL;
	(*ev)->payload_bytes = NULL;
	e->abytes += ns__event_cost(v.mv_size);
	return 0;
}

/* Does a new event change what the entry's older events mean: an erasure or a merge. */
static int ns__rebuilds(const ns_event *ev)
{
	return ev->type == NOMSYNC__EVENT_TYPE__EVENT_ERASED || ev->type == NOMSYNC__EVENT_TYPE__PERSON_MERGED ||
	       ev->type == NOMSYNC__EVENT_TYPE__PERSON_UNMERGED;
}

/*
 * The entry's events for the person's @p keys: those it holds, and the
 * others loaded. NS_EAGAIN if the entry must be rebuilt (a key it holds is
 * gone, or a new event is an erasure or a merge).
 */
static int ns__fentry_update(MDB_txn *txn, ns_store *s, struct ns__fentry *e, const uint8_t *keys,
			     size_t n)
{
	uint8_t *nk = malloc(n * NS__SORTKEY);
	ns_event **ne = malloc(n * sizeof(*ne));
	size_t j = 0;
	int rc = 0;

	if (nk == NULL || ne == NULL) {
		free(nk);
		free(ne);
		return NS_ENOMEM;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		const uint8_t *k = keys + i * NS__SORTKEY;
		int r = j < e->n ? memcmp(e->keys + j * NS__SORTKEY, k, NS__SORTKEY) : 1;
		if (r < 0) {
			rc = NS_EAGAIN; /* a key held is no longer the person's */
		} else if (r == 0) {
			ne[i] = e->evs[j++];
		} else if ((rc = ns__fentry_load(txn, s, e, k, &ne[i])) == 0 && e->n > 0 &&
			   ns__rebuilds(ne[i])) {
			rc = NS_EAGAIN;
		}
		memcpy(nk + i * NS__SORTKEY, k, NS__SORTKEY);
	}
	if (rc == 0 && j < e->n)
		rc = NS_EAGAIN;
	if (rc != 0) {
		free(nk);
		free(ne);
		return rc;
	}
	free(e->keys);
	free(e->evs);
	e->keys = nk;
	e->evs = ne;
	e->n = e->cap = n;
	return 0;
}

int ns__fcache_fold(MDB_txn *txn, ns_store *s, const char *canon, const uint8_t *keys, size_t n,
		    char **json, size_t *len, ns_fold_summary *sum, ns_fold_figures *fig)
{
	struct ns__fcache *c;
	struct ns__fentry *e;
	int rc;

	pthread_mutex_lock(&s->fcache_lock);
	if (s->fcache == NULL && (s->fcache = calloc(1, sizeof(*s->fcache))) != NULL &&
	    (s->fcache->e = calloc(NS__FCACHE_ENTRIES, sizeof(*s->fcache->e))) == NULL) {
		free(s->fcache);
		s->fcache = NULL;
	}
	if ((c = s->fcache) == NULL || (e = ns__fentry_get(c, canon)) == NULL) {
		pthread_mutex_unlock(&s->fcache_lock);
		return NS_ENOMEM;
	}
	rc = ns__fentry_update(txn, s, e, keys, n);
	if (rc == NS_EAGAIN) {
		/* Start again: the old events go, and with them the checkpoints that point into them. */
		char ref[NS_REF_MAX];
		memcpy(ref, e->ref, sizeof(ref));
		c->bytes -= e->bytes;
		ns__fentry_clear(e);
		memcpy(e->ref, ref, sizeof(ref));
		rc = (e->fi = ns_fold_inc_new()) == NULL ? NS_ENOMEM : ns__fentry_update(txn, s, e, keys, n);
	}
	if (rc == 0)
		rc = ns_fold_inc_run(e->fi, e->evs, e->n, json, len, sum, fig, NULL);
	e->used = ++c->tick;
	c->bytes -= e->bytes;
	e->bytes = e->abytes + e->n * (sizeof(*e->evs) + NS__SORTKEY);
	c->bytes += e->bytes;
	if (rc != 0)
		ns__fcache_drop(c, (size_t)(e - c->e));
	else
		ns__fcache_trim(c, canon, s->fcache_max);
	pthread_mutex_unlock(&s->fcache_lock);
	return rc;
}

void ns_store_set_fold_cache(ns_store *s, size_t bytes)
{
	s->fcache_max = bytes;
	if (bytes == 0)
		ns__fcache_clear(s);
}
