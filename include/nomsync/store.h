/*
 * The store: one site's event log, indexes and folded views in LMDB.
 *
 * Layout of DIR:
 *   DIR/data.mdb, DIR/lock.mdb   the LMDB environment
 *   DIR/site.key                 the site's Ed25519 secret key (mode 0600)
 *
 * Named databases inside the environment:
 *   log      origin(32) seq(8, big-endian)  -> event bytes as signed
 *   ids      event id(32)                   -> origin(32) seq(8)
 *   byref    offender ref                   -> sort key (dupsort; see below)
 *   links    ref                            -> linked ref (dupsort; NOMS<->CRN)
 *   alias    ref                            -> canonical ref of its person
 *   views    canonical ref                  -> view JSON (canonical bytes)
 *   summary  canonical ref                  -> ns_fold_summary (for caseloads)
 *   vv       origin(32)                     -> version vector entry
 *   pending  origin(32) seq(8)              -> event held until its gap fills
 *   equiv    origin(32)                     -> equivocation proof (two events)
 *   counters name                           -> uint64 (rejections by reason)
 *   meta     name                           -> site, role, public key, format
 *
 * The sort key is occurred_at(8, biased big-endian) origin(32) seq(8): the
 * fold's total order, so a person's events come out of byref already sorted.
 *
 * Every append or ingest call is one write transaction (group commit) that
 * also re-folds each person it touched; it is durable when the call returns.
 * The store is silent: it returns codes and fills ns_diag, never prints.
 */
#ifndef NOMSYNC_STORE_H
#define NOMSYNC_STORE_H

#include <nomsync/event.h>
#include <nomsync/fold.h>
#include <nomsync/json.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ns_store ns_store;

/** Flags for ns_store_open. */
#define NS_STORE_RDONLY 0x1  /**< read-only transactions only */
#define NS_STORE_NOSYNC 0x2  /**< no fsync on commit (tests and benchmarks only) */

/** Default LMDB map size (sparse; grows on demand up to this). */
#define NS_STORE_MAPSIZE ((size_t)16 << 30)

/**
 * @brief Create a new store in @p dir (created if missing, must be empty of
 * a store) with a fresh key for site @p site of @p role.
 * @return 0, NS_EEXIST if a store is there, NS_EVALID for a bad site code
 *         (diag names the rule), NS_EIO or NS_ESTORE
 */
int ns_store_create(const char *dir, const char *site, ns_role role, ns_diag *d);

/**
 * @brief Open an existing store.
 * @param[out] out the store, to close with ns_store_close
 * @return 0, NS_ENOTFOUND if @p dir holds no store, NS_EKEY, NS_ESTORE
 */
int ns_store_open(const char *dir, unsigned flags, ns_store **out, ns_diag *d);

/** @brief Close the store. NULL is allowed. */
void ns_store_close(ns_store *s);

/** @brief This site's identity (site code, role, keys). */
const ns_identity *ns_store_identity(const ns_store *s);

/** @brief The store's directory. */
const char *ns_store_dir(const ns_store *s);

/**
 * @brief Validate, sign and append @p n events as this site, in one
 * durable transaction.
 *
 * Every input is validated first (ns_validate_event, plus for
 * event.corrected that the target exists and was emitted by this site or
 * this site is a hub). If any input fails, nothing is written, @p bad is set
 * to its index and @p d names the field and rule.
 *
 * @param[out] ids optional, n event ids of the appended events
 * @return 0, NS_EVALID, NS_EROLE, NS_EQUARANTINED, NS_EMAPFULL, NS_ESTORE
 */
int ns_store_append(ns_store *s, const ns_input *in, size_t n, uint8_t (*ids)[NS_ID_BYTES],
		    size_t *bad, ns_diag *d);

/** Per-event outcome of ns_store_ingest (or a negative NS_E* rejection). */
enum ns_ingest_result {
	NS_INGEST_APPLIED = 0,   /**< new, chained, written and folded */
	NS_INGEST_DUPLICATE = 1, /**< already held; nothing changed */
	NS_INGEST_HELD = 2,      /**< predecessor missing; held until the gap fills */
	NS_INGEST_PROOF = 3      /**< an equivocation proof, recorded */
};

/** Flags for ns_store_ingest. */
#define NS_INGEST_VERIFIED 0x1 /**< signatures already checked by the caller */
/**
 * Store the events but do not re-fold the persons they touch, nor insert
 * their ids into the id index (see ns_store_index_pending): mark them
 * pending instead, in the same transaction (a daemon catching up folds each
 * person once at the end rather than once per batch). Reads stay correct:
 * ns_store_view folds a pending person on the fly, ns_store_digest
 * completes pending folds first on a writable store, and ns_store_verify
 * re-folds a pending person but cannot compare its stored view.
 * ns_store_summaries (caseload lists) shows a pending person as of its last
 * fold until ns_store_fold_pending, which a daemon runs as soon as no
 * batches are queued, has folded it.
 */
#define NS_INGEST_DEFER_FOLD 0x2

/**
 * Optional trust policy consulted for every ingested event (the roster).
 * Return 0 to accept, or NS_EUNKNOWN / NS_EROLE to reject.
 */
typedef int (*ns_trust_fn)(void *arg, const ns_event *ev);
void ns_store_set_trust(ns_store *s, ns_trust_fn fn, void *arg);

/**
 * @brief Ingest events from other sites (or this site's own, from a peer),
 * in one durable transaction.
 *
 * Each event is checked: signature (unless NS_INGEST_VERIFIED), trust
 * policy, role rule and payload validation. Duplicates are idempotent; an
 * event whose predecessor is missing is held; when a predecessor arrives the
 * held successors are applied in order. Two different events with the same
 * (origin, seq), or an event whose prev does not match the stored
 * predecessor, are an equivocation: both are kept as a proof, the origin is
 * quarantined and further events from it are refused.
 *
 * With NS_INGEST_VERIFIED the caller has checked signatures; an entry of
 * @p results that is non-zero on input (e.g. NS_ESIG from the caller's
 * check, or NS_EDECODE) is counted as that rejection and skipped.
 *
 * @param[in,out] results n outcomes (enum ns_ingest_result or negative NS_E*)
 * @return 0 if the batch was processed (individual rejections are in
 *         @p results), or NS_EMAPFULL / NS_ESTORE / NS_ENOMEM, in which case
 *         nothing was written
 */
int ns_store_ingest(ns_store *s, ns_event *const *evs, size_t n, unsigned flags, int *results,
		    ns_diag *d);

/**
 * @brief Fold up to @p max persons marked pending by NS_INGEST_DEFER_FOLD,
 * in one durable transaction, and store their views.
 *
 * @param[in] max persons to fold; 0 only counts
 * @param[out] left optional: persons still pending afterwards
 * @return 0, or NS_EMAPFULL / NS_ESTORE / NS_ENOMEM (nothing written)
 */
int ns_store_fold_pending(ns_store *s, size_t max, size_t *left, ns_diag *d);

/**
 * @brief Move id index entries deferred by NS_INGEST_DEFER_FOLD into the
 * id index: one step of a pass, in one durable transaction.
 *
 * A deferred commit appends each event's (id, log key) to a side table in
 * arrival order instead of inserting it into the id index, whose random
 * keys make every insert dirty a page of its own; until it is indexed, a
 * lookup by id (corrections, erasure) scans that table. A pass covers the
 * entries present when it starts, split by the ids' leading bytes into
 * steps of about @p max / 2 entries, so each step writes only its own range
 * of the index; the entries leave the side table when the pass completes.
 *
 * @param[in] max entries a step may hold in memory; 0 only counts
 * @param[out] left optional: events still awaiting the index afterwards
 * @return 0, or NS_EMAPFULL / NS_ESTORE / NS_ENOMEM / NS_ECORRUPT (nothing
 *         written)
 */
int ns_store_index_pending(ns_store *s, size_t max, size_t *left, ns_diag *d);

/** One version vector entry. */
typedef struct ns_vv_entry {
	uint8_t origin[NS_KEY_BYTES];
	uint64_t seq;                /**< highest contiguous seq held */
	uint8_t head[NS_ID_BYTES];   /**< id of event seq */
	char site[NS_SITE_MAX];
	ns_role role;
	int quarantined;             /**< 1 after equivocation */
	uint64_t held;               /**< events held beyond a gap */
} ns_vv_entry;

/**
 * @brief The version vector, sorted by origin key.
 * @param[out] out malloc'd array, caller frees
 */
int ns_store_vector(ns_store *s, ns_vv_entry **out, size_t *n);

/** @brief JSON form of a version vector (new reference): {"<origin hex>": {...}}. */
json_t *ns_vector_to_json(const ns_vv_entry *v, size_t n);
/** @brief Parse the JSON form. @return 0 or NS_EVALID. */
int ns_vector_from_json(const json_t *j, ns_vv_entry **out, size_t *n, ns_diag *d);

/**
 * @brief The folded view of the person with NOMS number or CRN @p ref.
 * @param[out] json malloc'd NUL-terminated view, caller frees
 * @param[out] canonical optional, the person's canonical ref
 * @return 0 or NS_ENOTFOUND
 */
int ns_store_view(ns_store *s, const char *ref, char **json, size_t *len,
		  char canonical[NS_REF_MAX]);

/**
 * @brief Digest for convergence checks: BLAKE2b-256 over every view in key
 * order (ref == NULL), or over one person's view.
 */
int ns_store_digest(ns_store *s, const char *ref, uint8_t out[NS_ID_BYTES]);

/** Callback for iterations; return non-zero to stop (that value is returned). */
typedef int (*ns_event_cb)(void *arg, const ns_event *ev);

/** @brief Every stored event, by (origin, seq). */
int ns_store_foreach(ns_store *s, ns_event_cb cb, void *arg);
/** @brief One person's events (either id finds them all) in fold order. */
int ns_store_foreach_person(ns_store *s, const char *ref, ns_event_cb cb, void *arg);
/**
 * @brief Events that a holder of version vector @p since lacks, by origin
 * then seq. @p since may be NULL (everything).
 */
int ns_store_foreach_since(ns_store *s, const ns_vv_entry *since, size_t nsince, ns_event_cb cb,
			   void *arg);

/**
 * @brief Events of one origin from seq @p from, in order, at most @p max
 * events or about @p max_bytes bytes (at least one event if any).
 * @return 0 or a store error; the callback's non-zero return stops and is returned
 */
int ns_store_read_range(ns_store *s, const uint8_t origin[NS_KEY_BYTES], uint64_t from, size_t max,
			size_t max_bytes, ns_event_cb cb, void *arg);

/** @brief Add @p n to the counter @p name (e.g. "rejected.decode"). */
int ns_store_count(ns_store *s, const char *name, uint64_t n);

/** @brief Counter name under which a rejection code is counted ("rejected.signature", ...). */
const char *ns_reject_name(int code);

/** @brief Raw bytes of event (origin, seq). @param[out] out malloc'd. */
int ns_store_get(ns_store *s, const uint8_t origin[NS_KEY_BYTES], uint64_t seq, uint8_t **out,
		 size_t *len);

/** Report of ns_store_verify. */
typedef struct ns_verify_report {
	uint64_t events;      /**< events checked */
	uint64_t views;       /**< views re-folded and compared */
	uint64_t bad;         /**< problems found */
	uint64_t pending;     /**< refs awaiting a deferred fold (their views are re-folded, not compared) */
	uint64_t unindexed;   /**< events whose id index entry is deferred (checked where they are) */
	char first[256];      /**< description of the first problem */
} ns_verify_report;

/**
 * @brief Re-check everything: decode, payload hash, signature, key/header
 * agreement, gapless chain links, id index, version vector, and every view
 * against a fresh fold.
 * @return 0 if all is well, NS_ECORRUPT if anything failed (see report)
 */
int ns_store_verify(ns_store *s, ns_verify_report *r);

/** Counters kept by the store (rejections by reason, totals). */
typedef struct ns_counter {
	char name[48];
	uint64_t value;
} ns_counter;
/** @brief All counters, sorted by name. @param[out] out malloc'd. */
int ns_store_counters(ns_store *s, ns_counter **out, size_t *n);

/** An equivocation proof: two signed events of one origin that conflict. */
typedef struct ns_proof {
	uint8_t origin[NS_KEY_BYTES];
	uint8_t *a, *b; /**< raw events (malloc'd) */
	size_t alen, blen;
} ns_proof;
/** @brief All proofs held. Free with ns_proofs_free. */
int ns_store_proofs(ns_store *s, ns_proof **out, size_t *n);
void ns_proofs_free(ns_proof *p, size_t n);
/**
 * @brief Record a proof received from elsewhere after checking it: both
 * events verify, same origin, and either the same seq with different ids or
 * b at seq+1 of a with a prev that is not a's id.
 * @return 0 (recorded, origin quarantined), NS_EEXIST if already known,
 *         NS_EINVAL if it proves nothing
 */
int ns_store_add_proof(ns_store *s, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/** @brief Erase the payload of event @p id (data protection); the chain still verifies. */
int ns_store_erase(ns_store *s, const uint8_t id[NS_ID_BYTES]);

/** Callback for ns_store_summaries: @p key is the person's canonical ref. */
typedef int (*ns_summary_cb)(void *arg, const char *key, const ns_fold_summary *sum);
/** @brief Every person's summary, in canonical-ref order. */
int ns_store_summaries(ns_store *s, ns_summary_cb cb, void *arg);

/** Fold latency histogram buckets (upper bounds in seconds), cumulative counts. */
#define NS_FOLD_BUCKETS 10
extern const double ns_fold_bucket_bounds[NS_FOLD_BUCKETS];
typedef struct ns_fold_stats {
	uint64_t count;                   /**< folds since the store was opened */
	double sum;                       /**< total seconds */
	uint64_t buckets[NS_FOLD_BUCKETS]; /**< folds taking <= bound (cumulative) */
} ns_fold_stats;
/** @brief Fold latencies measured by this process (thread-safe read). */
void ns_store_fold_stats(ns_store *s, ns_fold_stats *out);

/** @brief Bytes the LMDB environment uses (last page number x page size). */
int ns_store_size(ns_store *s, uint64_t *bytes);

/**
 * @brief Hold appends (after restoring a backup): until released, this site
 * may not sign new events, because its backup may lack events it signed
 * after the backup was taken, and signing again from an older head would be
 * an equivocation. nomsyncd releases the hold once every configured peer has
 * reported a vector and none holds more of this site's own events than the
 * store does (it pulls them back first).
 */
int ns_store_hold(ns_store *s, int hold);
/** @brief 1 if appends are held. */
int ns_store_held(ns_store *s);

/**
 * @brief Replace this site's key (rotation): a new Ed25519 key signs from now
 * on; the old key's events stay valid. The old key file is kept as
 * site.key.old-<first 16 hex of the old key>. The roster authority must list
 * the new key (roster.key.rotated) for peers to accept it.
 */
int ns_store_rekey(ns_store *s, ns_diag *d);

/**
 * @brief Drop this process's resident pages of the LMDB map (madvise
 * MADV_DONTNEED). The map is read-only and shared, so pages fault back in
 * from the page cache unchanged; this only keeps the node's resident set
 * from growing to the size of the store during a large catch-up.
 */
void ns_store_trim(ns_store *s);

/** @brief Number of persons (views) and events held. */
int ns_store_stats(ns_store *s, uint64_t *persons, uint64_t *events);

#ifdef __cplusplus
}
#endif
#endif /* NOMSYNC_STORE_H */
