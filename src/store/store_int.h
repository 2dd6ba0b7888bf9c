/*
 * Internals of the store, shared by the files of src/store/ (as SQLite's
 * btreeInt.h is by its B-tree files). Nothing outside src/store/ includes it.
 *
 *   env.c        environment open/create/close, transactions, map growth and
 *                the retry around it, the deferred-work driver, meta,
 *                counters (ns_store_count), version vector records,
 *                big-endian helpers, rejection counter names
 *   write.c      append and ingest: writing events, held events, equivocation
 *   person.c     persons: components, aliases, links, re-folds, deferred
 *                folds (the dirty set), fold latency statistics, CPU by activity
 *   foldcache.c  long histories' decoded events and fold checkpoints, for
 *                late events (ns_fold_inc_run)
 *   foldpar.c    deferred folds on several threads (ns_store_set_fold_threads)
 *   idindex.c    the deferred id index (newids) and lookups by event id
 *   query.c      read-only queries: views, digest, iteration, vector,
 *                counters, summaries, sizes
 *   verify.c     ns_store_verify
 *   admin.c      equivocation proofs, erasure, append hold, key rotation
 *   erase.c      event.erased: applying erasures everywhere a copy is kept,
 *                the erasures database, compaction (ns_store_compact)
 *   pagecache.c  Linux page cache and mapping: ns_store_trim, ns__warm_tail
 *   chain.c      chain-tip verification of runs, the unchecked signatures
 *                (unsig), background checks and replacement of bad copies
 *   upgrade.c    events of types this release does not know (unknown,
 *                rejected), the conversion and re-checks of a writable open
 *   sign.c       signing a run of own events on two cores (append)
 *
 * Conventions: every ns__ function returns 0 or a negative NS_E* code
 * unless it says otherwise; functions taking a transaction neither begin,
 * commit nor abort it; LMDB return codes are turned into NS_E* codes by
 * ns__mdb at the point they are first seen.
 */
#ifndef NS_STORE_INT_H
#define NS_STORE_INT_H

#include <nomsync/store.h>

#include "event/decode.h"

#include <lmdb.h>

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Record layouts (see include/nomsync/store.h for the databases). */
#define NS__LOGKEY 40     /* log key: origin(32) seq(8, big-endian) */
#define NS__SORTKEY 48    /* byref value: occurred(8, biased BE) origin(32) seq(8) */
#define NS__VVREC 67      /* vv value: seq(8) head(32) site(16) role(1) quar(1) held(8) spare(1) */
#define NS__NEWID (NS_ID_BYTES + NS__LOGKEY) /* newids value: id(32) log key(40) */
#define NS__MAX_COMPONENT 256 /* refs followed through links when gathering a person */

struct ns_store {
	MDB_env *env;
	MDB_dbi log, ids, byref, links, alias, views, summary, vv, pending, equiv, counters, meta;
	MDB_dbi dirty; /* refs whose fold is deferred (NS_INGEST_DEFER_FOLD) */
	MDB_dbi newids; /* id index entries deferred by the same flag (ns__newid_put) */
	int has_dirty; /* 0 for a read-only open of a store made before it existed */
	int has_newids; /* likewise for newids */
	MDB_dbi erasures; /* target event id -> log key of each event.erased naming it (erase.c) */
	int has_erasures; /* likewise for erasures */
	MDB_dbi unknown, rejected; /* format 2: see upgrade.c */
	int has_upgrade; /* unknown and rejected are open: 0 for a read-only open of a format 1 store */
	ns_upgrade_report upgrade; /* what the open did (ns_store_upgrade_report) */
	/* trust.c: incomplete events, revocations, held event bookkeeping */
	MDB_dbi incomplete, revoked, heldinfo, heldsum;
	int has_trust; /* they are open: 0 for a read-only open of a store made before them */
	/* figures.c: per-person figures records, aggregate counters, staff and release indexes */
	MDB_dbi figsum, figures, staffidx, relidx;
	int has_figures; /* likewise */
	/* person.c: merges. mergeedge: ref -> the other ref of every merge pair naming it (both ways,
	 * never removed); mergelog: "survivor>removed" -> sort key + 1 (merge) or 0 (unmerge) of each
	 * merge event of the pair, whose last (greatest sort key) says whether the merge is active. */
	MDB_dbi mergeedge, mergelog;
	int has_merges; /* likewise */
	/* access.c: the access state of each restricted person (canonical ref) */
	MDB_dbi access;
	int has_access; /* likewise */
	/* chain.c: events stored on a run tip's signature whose own signature is not checked yet */
	MDB_dbi unsig;
	int has_unsig; /* likewise */
	ns_store_limits lim;
	/* Where ns_store_expire_held stopped (only the writer touches it). */
	uint8_t expire_at[NS__LOGKEY];
	int expire_have;
	/*
	 * Set for the length of a write transaction that defers its id index
	 * entries to newids (NS_INGEST_DEFER_FOLD), and the next newids key
	 * (0: not looked up yet in this transaction). Only the writer, which
	 * holds LMDB's write lock, touches them.
	 */
	int txn_defer_ids;
	uint64_t newid_next;
	/* idindex.c: the partitions of the id index pass in progress, spooled to a temporary file */
	struct ns__idspool *idspool;
	ns_identity id;
	char dir[PATH_MAX];
	unsigned flags;
	ns_trust_fn trust;
	void *trust_arg;
	size_t map_max;
	/*
	 * The data.mdb mapping, found in /proc/self/maps for ns_store_trim.
	 * LMDB remaps only inside mdb_env_set_mapsize, which the store calls
	 * under map_lock (ns__txn, ns__grow) and after which the address is
	 * looked up again.
	 */
	pthread_mutex_t map_lock;
	void *map_addr;
	size_t map_len;
	int map_looked;
	/*
	 * ns__warm_tail: a read-only descriptor on data.mdb advised
	 * POSIX_FADV_RANDOM, and how far the file is cached (under map_lock).
	 */
	int warm_fd;
	uint64_t warm_end;
	/* Fold latency, updated by whichever thread commits; read with atomics. */
	uint64_t fold_count, fold_nanos, fold_buckets[NS_FOLD_BUCKETS];
	/* CPU by activity (ns_store_cpu_stats), nanoseconds, added with atomics by any thread. */
	uint64_t cpu_nanos[NS_CPU_ACTIVITIES];
	/* foldcache.c: long histories' decoded events and fold checkpoints, under fcache_lock */
	struct ns__fcache *fcache;
	pthread_mutex_t fcache_lock;
	size_t fcache_max; /* bytes (ns_store_set_fold_cache); 0: no cache */
	/* persons folded in parallel by ns_store_fold_pending (ns_store_set_fold_threads), 1 or more */
	unsigned fold_threads;
};

/*
 * A set of offender refs (touched by a batch, or one person's), each once.
 * The block ref points to also holds a hash index of the refs after the cap
 * slots (ns__refset_add), so free(ref) frees both; hashed: how many of the
 * refs it indexes (a caller may empty the set by setting n to 0).
 */
typedef struct ns__refset {
	char (*ref)[NS_REF_MAX];
	size_t n, cap, hashed;
} ns__refset;

/*
 * env.c
 */

/* An LMDB return code as an NS_E* code (MDB_MAP_FULL, ENOSPC... -> NS_EMAPFULL). */
int ns__mdb(int rc);
void ns__put_be64(uint8_t *p, uint64_t v);
uint64_t ns__get_be64(const uint8_t *p);
void ns__put_be32(uint8_t *p, uint32_t v);
uint32_t ns__get_be32(const uint8_t *p);
/* The log key of (origin, seq). */
void ns__logkey(uint8_t k[NS__LOGKEY], const uint8_t *origin, uint64_t seq);
/* Add @p ref to @p rs unless it is there; NS_ENOMEM. */
int ns__refset_add(ns__refset *rs, const char *ref);

/* Decode a vv record of @p origin; NS_ECORRUPT if it has the wrong size. */
int ns__vv_decode(ns_vv_entry *e, const uint8_t *origin, const MDB_val *v);
/* Read the vv entry of @p origin; a fresh zero entry (*found 0) if the origin is new. */
int ns__vv_get(MDB_txn *txn, ns_store *s, const uint8_t *origin, ns_vv_entry *e, int *found);
int ns__vv_put(MDB_txn *txn, ns_store *s, const ns_vv_entry *e);
/* Add @p n to counter @p name (nothing if n is 0). */
int ns__counter_add(MDB_txn *txn, ns_store *s, const char *name, uint64_t n);
/* Meta value @p name as a string; NS_ENOTFOUND, or NS_ECORRUPT if it needs more than @p cap. */
int ns__meta_get(MDB_txn *txn, ns_store *s, const char *name, char *out, size_t cap);
int ns__meta_put(MDB_txn *txn, ns_store *s, const char *name, const char *val);
/* The value under string key @p key in @p dbi, NUL-terminated (as ns__meta_get). */
int ns__get_str(MDB_txn *txn, MDB_dbi dbi, const char *key, char *out, size_t cap);
/* DIR/site.key */
void ns__keypath(char *out, size_t cap, const char *dir);

/*
 * Create and open the environment of @p dir and its databases (creating
 * them unless NS_STORE_RDONLY) into s->env; NS_ENOTFOUND, or an NS_E* code.
 */
int ns__open_env(ns_store *s, const char *dir, unsigned flags);
/*
 * Begin a transaction (MDB_RDONLY or 0), adopting a map another process
 * grew. Returns an LMDB code: wrap it in ns__mdb.
 */
int ns__txn(ns_store *s, unsigned flags, MDB_txn **txn);
/* A failed commit as NS_E* with a message in @p d ("nothing was written: ..."). */
int ns__commit_error(ns_store *s, int mrc, ns_diag *d);
/*
 * Run @p once (one whole write transaction, begun and ended by it) and, if
 * it failed because the map is full, grow the map and run it again (at most
 * 16 times, up to map_max). @p d is cleared before each retry. Returns what
 * the last run returned.
 */
int ns__retry(ns_store *s, int (*once)(ns_store *s, void *arg), void *arg, ns_diag *d);
/*
 * Deferred work of one kind (ns_store_fold_pending, ns_store_index_pending):
 * @p have is 0 when the store predates the kind's database; @p count counts
 * what is pending; @p step does one step of at most @p max in a write
 * transaction. See ns_store_fold_pending for the contract.
 */
int ns__pending(ns_store *s, int have, size_t (*count)(MDB_txn *, ns_store *),
		int (*step)(MDB_txn *, ns_store *, size_t), size_t max, size_t *left, ns_diag *d);

/*
 * write.c
 */

/*
 * Keep the proof that @p vv's origin equivocated (raw events @p a and @p b,
 * unless a proof is held already), count it, and quarantine the origin.
 */
int ns__equivocate(MDB_txn *txn, ns_store *s, ns_vv_entry *vv, const uint8_t *a, size_t alen,
		   const uint8_t *b, size_t blen);

/*
 * person.c
 */

/*
 * Load the event stored under @p logkey. With @p arena it is decoded into
 * the arena and points into the map (valid until @p txn ends); without, it
 * is malloc'd (free with ns_event_free).
 */
int ns__load(MDB_txn *txn, ns_store *s, const uint8_t logkey[NS__LOGKEY], ns__arena *arena,
	     ns_event **ev);
/* Refs linked to @p ref, transitively (into @p rs, emptied first): the person's identifiers. */
int ns__component(MDB_txn *txn, ns_store *s, const char *ref, ns__refset *rs);
/* Canonical ref of a component: the least NOMS number, else the least ref. */
const char *ns__canonical(const ns__refset *rs);
/* Sort keys (NS__SORTKEY each, malloc'd) of every event of a component, sorted, unique. */
int ns__component_keys(MDB_txn *txn, ns_store *s, const ns__refset *rs, uint8_t **keys,
		       size_t *nkeys);
/* Fold a component's events: *json malloc'd; @p sum and @p acc may be NULL. */
int ns__fold_component(MDB_txn *txn, ns_store *s, const ns__refset *rs, char **json, size_t *len,
		       ns_fold_summary *sum, ns_access *acc);
/*
 * ns__fold_component, and the view's figures into @p fig (may be NULL). With
 * @p canon (the component's canonical ref; only in a write transaction) a
 * long history goes through the fold cache (foldcache.c).
 */
int ns__fold_figured(MDB_txn *txn, ns_store *s, const ns__refset *rs, const char *canon, char **json,
		     size_t *len, ns_fold_summary *sum, ns_fold_figures *fig, uint8_t **kept, size_t *nkept);
/*
 * ns__fold_figured, timed in the fold statistics; with @p kept, the sort keys
 * of the events folded (malloc'd), to tell later whether they are still the
 * person's (the parallel folds of foldpar.c).
 */
int ns__fold_timed(MDB_txn *txn, ns_store *s, const ns__refset *comp, const char *canon, char **json,
		   size_t *len, ns_fold_summary *sum, ns_fold_figures *fig, uint8_t **kept, size_t *nkept);
/*
 * Store a person's fold: the view, figures record and summary under
 * @p canon, every ref of @p comp aliased to it (and, with @p dirty, no longer
 * pending), and the views of refs that joined it dropped.
 */
int ns__fold_store(MDB_txn *txn, ns_store *s, const ns__refset *comp, const char *canon, int dirty,
		   const char *json, size_t len, const ns_fold_summary *sum, const ns_fold_figures *fig);
/* The keys a view is folded from, as ns__fold_figured selects them (compacted in place). */
int ns__fold_select(MDB_txn *txn, ns_store *s, uint8_t *keys, size_t *n, json_t **incomplete);
/* Whether @p ref is in @p rs. */
int ns__refset_has(const ns__refset *rs, const char *ref);
/* Load the events under @p keys (n sort keys) into @p evs (decoded into @p arena). */
int ns__load_keys(MDB_txn *txn, ns_store *s, const uint8_t *keys, size_t n, ns__arena *arena,
		  ns_event **evs);

/*
 * foldcache.c: for persons of NS__FCACHE_MIN events or more re-folded in
 * write transactions, the decoded events and an ns_fold_inc (checkpoints of
 * the fold state), so that a late event loads only what is new and folds
 * from the checkpoint before it.
 */
#define NS__FCACHE_MIN (2 * NS_FOLD_CHECKPOINT)
/* Fold the events under @p keys (n sort keys, sorted) of the person @p canon. */
int ns__fcache_fold(MDB_txn *txn, ns_store *s, const char *canon, const uint8_t *keys, size_t n,
		    char **json, size_t *len, ns_fold_summary *sum, ns_fold_figures *fig);
/* foldpar.c: most threads ns_store_set_fold_threads accepts */
#define NS__FOLD_THREADS_MAX 64
/* ns_store_fold_pending's step on s->fold_threads threads (writable store, max > 0). */
int ns__fold_parallel(ns_store *s, size_t max, size_t *left, ns_diag *d);

/* Forget every person (after a write transaction that did not commit). */
void ns__fcache_clear(ns_store *s);
/* Free the cache (ns_store_close). */
void ns__fcache_free(ns_store *s);
/* Persons whose fold is deferred; 0 if none (or on error). */
size_t ns__dirty_count(MDB_txn *txn, ns_store *s);
/* 1 if any ref of @p comp awaits a deferred fold. */
int ns__dirty_any(MDB_txn *txn, ns_store *s, const ns__refset *comp);
/* Mark touched refs pending instead of folding them (NS_INGEST_DEFER_FOLD). */
int ns__defer(MDB_txn *txn, ns_store *s, const ns__refset *touched);
/* Re-fold every person touched, store views, summaries and aliases, clear their marks. */
int ns__refold(MDB_txn *txn, ns_store *s, const ns__refset *touched);
/* Complete every deferred fold on a writable store (before ns_store_digest). */
int ns__settle(ns_store *s);

/*
 * idindex.c
 */

/* Defer the id index entry of (id, lk) to newids (s->txn_defer_ids set). */
int ns__newid_put(MDB_txn *txn, ns_store *s, const uint8_t id[NS_ID_BYTES],
		  const uint8_t lk[NS__LOGKEY]);
/* Free the spool of an id index pass (ns_store_close; a handle's spool dies with it). */
void ns__idspool_free(ns_store *s);
/* Nonzero: id index steps scan newids instead of spooling it (for tests). */
extern int ns__idspool_off;
/* The log key of the event with this id: from ids, else from newids; NS_ENOTFOUND. */
int ns__id_find(MDB_txn *txn, ns_store *s, const uint8_t id[NS_ID_BYTES], uint8_t lk[NS__LOGKEY]);
/* Entries in newids; 0 if none (or on error). */
size_t ns__newids_count(MDB_txn *txn, ns_store *s);
/* Every newids value (NS__NEWID bytes each, malloc'd even on failure), sorted by id. */
int ns__newids_load(MDB_txn *txn, ns_store *s, uint8_t **out, size_t *n);

/*
 * query.c: whole-database scans into arrays.
 */

/* Called for each record; a non-zero return stops the scan and is returned. */
typedef int (*ns__scan_fn)(void *arg, const MDB_val *k, const MDB_val *v);

/*
 * An array built by a scan, one element per record: the callback asks
 * ns__acc_slot for room, fills the slot and counts it with a->n++.
 */
typedef struct ns__acc {
	void *arr;
	size_t n, cap;
} ns__acc;

/* Room for the next element of @p a (@p elem bytes each), or NULL with *rc = NS_ENOMEM. */
void *ns__acc_slot(ns__acc *a, size_t elem, int *rc);
/*
 * Collect every record of @p dbi into a new array with @p fn (its arg is an
 * ns__acc) in one read transaction. On failure @p drop (if not NULL)
 * releases what the elements own, the array is freed and *out / *n are
 * NULL / 0.
 */
int ns__collect(ns_store *s, MDB_dbi dbi, ns__scan_fn fn, void (*drop)(void *arr, size_t n),
		void **out, size_t *n);

/*
 * upgrade.c
 */

/*
 * Decode stored event bytes (ns__event_decode_in with @p arena, else
 * ns_event_decode_flags). A payload this release cannot unpack, which only
 * an event stored while its type was unknown can have, comes back as
 * NS_DECODE_OPAQUE would give it, as it was signed.
 */
int ns__decode_stored(const MDB_val *v, unsigned flags, ns__arena *arena, ns_event **ev);
/*
 * The rules of @p ev's type that ingest checks after the signature and the
 * trust policy: the role rule and payload validation; none for a type this
 * release does not know; NS_EDECODE for a known type whose payload it
 * cannot unpack. Returns 0, NS_EROLE, NS_EVALID or NS_EDECODE.
 */
int ns__type_rules(const ns_event *ev);
/*
 * After ns__write of @p ev under @p lk: record it in rejected with @p bad
 * (a non-zero ns__type_rules code) and count it, or, for a type this
 * release does not know, in unknown.
 */
int ns__note(MDB_txn *txn, ns_store *s, const ns_event *ev, const uint8_t lk[NS__LOGKEY], int bad);
/* 1 if rejected or unknown holds any event (so that folds look their events up). */
int ns__unfolded_any(MDB_txn *txn, ns_store *s);
/*
 * 1 if the event under @p lk is never folded: rejected, or in unknown (of a
 * type unknown to this release, or known but not yet re-checked because the
 * store was opened read-only).
 */
int ns__unfolded(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY]);
/* Create unknown and rejected and set meta format to "2" (fold_version is the caller's). */
int ns__format2(MDB_txn *txn, ns_store *s);
/* A writable open: convert, mark for re-folds and re-check unknown (see ns_store_upgrade_report). */
int ns__upgrade(ns_store *s, ns_diag *d);

/*
 * write.c
 */

/* NOMS <-> CRN links of a person.identifier.added; notes the refs they touch. */
int ns__links(MDB_txn *txn, ns_store *s, const ns_event *ev, ns__refset *touched);

/*
 * person.c: merges
 */

/* Open (or, @p create, create) the merge databases. */
int ns__merges_open(MDB_txn *txn, ns_store *s, int create);

/*
 * Access records (access.c). ns__access_open opens (or, writable, creates)
 * the access database; ns__access_put writes a person's record under its
 * canonical ref, or deletes it when @p a restricts nothing; ns__access_drop
 * deletes it (the person joined another).
 */
int ns__access_open(MDB_txn *txn, ns_store *s, int create);
int ns__access_put(MDB_txn *txn, ns_store *s, const char *ref, const ns_access *a);
int ns__access_drop(MDB_txn *txn, ns_store *s, const char *ref);
/* 1 if the person with canonical ref @p ref has an access record (either list in force), else 0. */
int ns__access_has(MDB_txn *txn, ns_store *s, const char *ref);
/* 1 if the stored access record of @p ref is @p a (a fresh fold's, zeroed before it was filled; no record
 * for an unrestricted person), else 0. */
int ns__access_matches(MDB_txn *txn, ns_store *s, const char *ref, const ns_access *a);
/* Record a person.merged / person.unmerged (sort key @p sk): index it under both refs, note them. */
int ns__merges(MDB_txn *txn, ns_store *s, const ns_event *ev, const uint8_t sk[NS__SORTKEY],
	       ns__refset *touched);
/* 1 if @p survivor is already merged, directly or through others, into @p removed; 0; or < 0. */
int ns__merge_cycle(MDB_txn *txn, ns_store *s, const char *survivor, const char *removed);

/*
 * trust.c
 */

#define NS__HELDINFO (8 + 4 + NS_SITE_MAX) /* heldinfo value: first seen, length, sender */

/* Open (creating on a writable open) incomplete, revoked, heldinfo and heldsum. */
int ns__trust_open(MDB_txn *txn, ns_store *s, int writable);
/* 1 if any event is incomplete or any key revoked (so that folds look events up). */
int ns__trust_any(MDB_txn *txn, ns_store *s);
/* 1 if the event under @p lk is incomplete. */
int ns__is_incomplete(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY]);
/* The seq @p origin is revoked from, 0 if it is not. */
uint64_t ns__revoked_from(MDB_txn *txn, ns_store *s, const uint8_t *origin);
/* After ns__write of a payload-less ingested event: mark it incomplete. */
int ns__mark_incomplete(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY]);
/* An erasure reached the event under @p lk: it is erased, no longer incomplete. */
int ns__unmark_incomplete(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY]);
/*
 * @p ev, a copy with its payload of the incomplete event stored under @p lk:
 * store its bytes, unmark it, add its links and note its refs.
 */
int ns__complete(MDB_txn *txn, ns_store *s, const ns_event *ev, const uint8_t lk[NS__LOGKEY],
		 ns__refset *touched);
/*
 * Hold @p ev (seq beyond vv->seq + 1) in pending for @p sender (may be NULL),
 * within the limits: NS_EHELDWINDOW, NS_EHELDFULL, or 0 (vv->held counted,
 * not written back).
 */
int ns__hold(MDB_txn *txn, ns_store *s, ns_vv_entry *vv, const ns_event *ev, const char *sender);
/* Drop the held event under @p lk: pending, heldinfo, the sums, vv->held (not written back). */
int ns__unhold(MDB_txn *txn, ns_store *s, ns_vv_entry *vv, const uint8_t lk[NS__LOGKEY]);
/*
 * Drop every held event of @p vv's origin from @p from_seq, counting each
 * under @p counter; vv written back. *dropped (optional) gets the count.
 */
int ns__unhold_from(MDB_txn *txn, ns_store *s, ns_vv_entry *vv, uint64_t from_seq,
		    const char *counter, uint64_t *dropped);

/*
 * erase.c
 */

/*
 * 1 if an erasure this store holds may erase @p target (by its id, origin,
 * site, role and offender), 0 if none does; a payload-less copy of such a
 * target is legitimately erased. Negative on a store error.
 */
int ns__erased_by_event(MDB_txn *txn, ns_store *s, const ns_event *target);
/*
 * The bytes to store for @p ev, arriving in the log or pending: its erased
 * encoding (*buf malloc'd, free after the put) if an erasure it holds may
 * erase it, else ev->raw (*buf NULL). Erasures that may not are counted
 * (rejected.role) and forgotten.
 */
int ns__erasure_bytes(MDB_txn *txn, ns_store *s, const ns_event *ev, MDB_val *v, uint8_t **buf);
/*
 * After ns__write of @p ev under @p lk: if it is an event.erased, apply it
 * to every copy of its target and record it (see erase.c); the refs whose
 * views change go to @p touched.
 */
int ns__erasure_event(MDB_txn *txn, ns_store *s, const ns_event *ev, const uint8_t lk[NS__LOGKEY],
		      ns__refset *touched);
/* After a proof of @p origin is recorded: erase the copies in it that an erasure names. */
int ns__erasure_proof(MDB_txn *txn, ns_store *s, const uint8_t origin[NS_KEY_BYTES]);
/* Before this site appends event.erased @p in: its target is held and the site may erase it. */
int ns__erasure_append(MDB_txn *txn, ns_store *s, const ns_input *in, ns_diag *d);

/*
 * sign.c: a run of own events built and signed on two cores
 */

typedef struct ns__signer ns__signer;
/*
 * Start building evs[0 .. n) from in[0 .. n) in order (ns_event_build_unsigned,
 * recorded at @p now, the first after @p seq and @p head), then signing them
 * into sigs[0 .. n).
 */
int ns__signer_start(ns__signer **out, const ns_identity *id, const ns_input *in, int64_t now, uint64_t seq,
		     const uint8_t head[NS_ID_BYTES], ns_event **evs, uint8_t (*sigs)[NS_SIG_BYTES], size_t n);
/* Wait until evs[k] is built (call for k = 0 .. n-1 in order): 0, or the error building it. */
int ns__signer_event(ns__signer *g, size_t k);
/* After every ns__signer_event: sign what is left, join and free; or, with @p abandon, stop. */
void ns__signer_finish(ns__signer *g, int abandon);

/*
 * pagecache.c
 */

/* figures.c: caseloads and regional figures */

/* Open (creating, and marking every person for a re-fold, on a writable open) the figures databases. */
int ns__figures_open(MDB_txn *txn, ns_store *s, int writable);
/* After a re-fold of @p ref whose view has figures @p fig: replace its figures record and contribution. */
int ns__figures_update(MDB_txn *txn, ns_store *s, const char *ref, const ns_fold_figures *fig);
/* @p ref is no longer a canonical ref (merged): withdraw its figures record and contribution. */
int ns__figures_drop(MDB_txn *txn, ns_store *s, const char *ref);

/*
 * chain.c
 */

/* Open (creating on a writable open) unsig. */
int ns__sig_open(MDB_txn *txn, ns_store *s, int writable);
/*
 * After ns__write of @p ev, authenticated by a later event's signature:
 * record it unchecked (the caller counts sig.covered).
 */
int ns__sig_mark(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY], const char *sender);
/* 1 if the signature of the event under @p lk is unchecked or bad. */
int ns__sig_pending(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY]);
/* The event under @p lk now has its own signature checked (a copy that verified replaced it). */
int ns__sig_checked(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY]);
/*
 * 1 if the stored event under @p lk (bytes @p stored), whose signature is
 * unchecked, verifies now (a read-only check before it is exported); 0 if
 * it fails or is marked bad.
 */
int ns__sig_valid_now(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY], const MDB_val *stored);
/*
 * Before the stored event under @p lk serves as evidence (an equivocation
 * proof): check its own signature if it is unchecked. 0 if it verifies;
 * NS_EAGAIN if it is bad (marked and counted: a valid copy must replace it
 * first).
 */
int ns__sig_evidence(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY]);
/*
 * @p ev has the id of the stored event under @p lk (bytes @p stored) whose
 * signature is unchecked or bad: take its bytes (keeping a stored payload
 * erasure) if its own signature is checked (@p own_checked) or, for a bad
 * copy, verifies now; counted sig.checked or sig.replaced. 0 otherwise too.
 */
int ns__sig_replace(MDB_txn *txn, ns_store *s, const ns_event *ev, const uint8_t lk[NS__LOGKEY],
		    const MDB_val *stored, int own_checked);
/*
 * The first seq of @p origin not relayed, exported or served: its first
 * event whose signature is unchecked, or its revocation's from_seq (0: none).
 */
uint64_t ns__relay_limit(MDB_txn *txn, ns_store *s, const uint8_t *origin);

/* After a commit: cache the file's tail one page per folio (see pagecache.c). */
void ns__warm_tail(ns_store *s);

/* Charge the calling thread's CPU since @p since (ns_thread_cpu_nanos) to activity @p a. */
static inline void ns__cpu_charge(ns_store *s, ns_cpu_activity a, uint64_t since)
{
	uint64_t now = ns_thread_cpu_nanos();
	if (now > since)
		__atomic_add_fetch(&s->cpu_nanos[a], now - since, __ATOMIC_RELAXED);
}

#endif /* NS_STORE_INT_H */
