/*
 * The store: one site's event log, indexes and folded views in LMDB.
 *
 * Layout of DIR:
 *   DIR/data.mdb, DIR/lock.mdb   the LMDB environment
 *   DIR/site.key                 the site's Ed25519 secret key (mode 0600);
 *                                site.key.old-<16 hex> after ns_store_rekey
 *   DIR/nomsyncd.notify          while nomsyncd runs: the Unix datagram socket
 *                                (mode 0600) ns_store_notify writes to
 *
 * Named databases inside the environment (BE: big-endian):
 *   log      origin(32) seq(8 BE)           -> event bytes as signed (a payload
 *                                              erased by an event.erased is gone)
 *   ids      event id(32)                   -> origin(32) seq(8 BE)
 *   byref    offender ref                   -> sort key (dupsort; see below)
 *   links    ref                            -> linked ref (dupsort; NOMS<->CRN, both
 *                                              ways, from person.identifier.added)
 *   alias    ref                            -> canonical ref of its person (every
 *                                              ref of a folded person, itself included)
 *   views    canonical ref                  -> view JSON (canonical bytes)
 *   summary  canonical ref                  -> ns_fold_summary, as the struct's bytes
 *                                              (for caseloads)
 *   vv       origin(32)                     -> version vector entry: seq(8 BE) head(32)
 *                                              site(16) role(1) quarantined(1) held(8 BE)
 *                                              spare(1)
 *   pending  origin(32) seq(8 BE)           -> event bytes, held until its gap fills
 *   equiv    origin(32)                     -> equivocation proof: len(4 BE) event a,
 *                                              len(4 BE) event b
 *   counters name                           -> uint64 BE: appended, ingested,
 *                                              duplicates, held, equivocations, erased,
 *                                              compactions, rejected.<reason> (ns_reject_name), and
 *                                              any name given to ns_store_count
 *   meta     name                           -> format ("2"), fold_version (NS_FOLD_VERSION
 *                                              of the views), site, role, pk (public key
 *                                              hex), hold ("1" while appends are held),
 *                                              newids.pass (progress of an id index pass),
 *                                              scrub ("1" until compacted after an erasure),
 *                                              cursor.<name> (ns_store_cursor_put: e.g. the
 *                                              NATS publisher's acknowledged positions)
 *   dirty    offender ref                   -> 1 byte: the person's fold is deferred
 *   newids   counter(8 BE, appended)        -> event id(32) origin(32) seq(8 BE) whose
 *                                              ids entry is deferred
 *   erasures target event id(32)            -> origin(32) seq(8 BE) of each event.erased
 *                                              naming it (dupsort; see src/store/erase.c)
 *   figsum   canonical ref                  -> the person's figures record (versioned;
 *                                              src/store/figures.c), written at each fold
 *   figures  scope NUL counter name         -> int64: aggregate counters of the estate
 *                                              ("E"), a region ("R"code), a prison ("P"code)
 *   staffidx staff code                     -> canonical ref (dupsort): POM and COM caseloads
 *   relidx   day(4 BE, biased) ref          -> prison NUL COM region: people in custody by
 *                                              effective (working-day-adjusted) release date
 *   unknown  origin(32) seq(8 BE)           -> type(4 BE): events of a type this build
 *                                              did not know when they were stored (not
 *                                              folded; re-checked once a release knows it)
 *   rejected origin(32) seq(8 BE)           -> NS_E* code (4 BE, two's complement): such
 *                                              events found invalid by that re-check
 *                                              (kept in the log, never folded)
 *   incomplete origin(32) seq(8 BE)         -> first seen (8 BE, Unix seconds): events
 *                                              stored without their payload (relayed so
 *                                              is the chain, never folded) until a copy
 *                                              with the payload completes them
 *   revoked  origin(32)                     -> from_seq (8 BE): the key's events from
 *                                              this seq are revoked (ns_store_revoke):
 *                                              never folded, relayed or exported
 *   heldinfo origin(32) seq(8 BE)           -> first seen (8 BE) length (4 BE) sender
 *                                              (16, NUL padded): one per pending event
 *   heldsum  origin(32) | "@" sender        -> bytes held (8 BE), per origin and per
 *                                              sending peer (ns_store_set_limits)
 *   access   canonical ref                  -> the person's access state (ns_store_access;
 *                                              src/store/access.c), written at each fold;
 *                                              none when the person is unrestricted
 *   unsig    origin(32) seq(8 BE)           -> state(1: 0 unchecked, 1 bad) first seen
 *                                              (8 BE) sender (16, NUL padded): events
 *                                              stored on a run tip's signature whose own
 *                                              signature is not checked yet (see
 *                                              ns_verify_runs); never relayed or exported
 *
 * The sort key is occurred_at(8, BE, sign bit flipped) origin(32) seq(8 BE):
 * the fold's total order, so a person's events come out of byref already
 * sorted. A person is the set of refs joined by links; its canonical ref is
 * its least NOMS number, else its least ref. Roster changes (offender
 * NS_ROSTER_REF) are in log and ids only. dirty and newids are created by
 * the first writable open of a store made before them; a read-only open of
 * such a store sees nothing pending. unknown and rejected came with format
 * 2 (see ns_store_upgrade_report). incomplete, revoked, heldinfo and heldsum
 * are created by the first writable open of a store made before them (held
 * events found then are dated to that open); a read-only open of such a
 * store sees none. unsig likewise (no format change: an older release
 * opening the store ignores it, so run ns_store_verify_pending to the end
 * before downgrading).
 *
 * Writes. Every append, ingest, fold or index step is one write transaction
 * (group commit), durable when the call returns (unless NS_STORE_NOSYNC);
 * if it fails nothing of it is written. If LMDB's map fills, the map is
 * doubled (up to NOMSYNC_MAP_MAX) and the whole transaction run again. An
 * append or ingest re-folds each person it touched before it commits, so
 * views are never behind the log, except that an ingest with
 * NS_INGEST_DEFER_FOLD marks the persons in dirty instead and defers its id
 * index entries to newids (see that flag, ns_store_fold_pending and
 * ns_store_index_pending).
 *
 * Threading. The environment is opened with MDB_NOTLS and no call leaves a
 * transaction open, so any call may be made from any thread: read calls run
 * concurrently with each other and with a write call (they see the last
 * commit), and write calls, from threads or other processes, wait for
 * LMDB's single writer lock. Not to be run concurrently with any other call
 * on the same store: ns_store_close, ns_store_set_trust (set it before the
 * first ingest) and ns_store_rekey (it replaces the identity that
 * ns_store_identity returns and append signs with). Growing the map remaps
 * it, which LMDB allows only while no other transaction of this process is
 * open; the store grows it only when NOMSYNC_MAP_SIZE starts the map below
 * NOMSYNC_MAP_MAX (by default the map starts at its maximum and never
 * grows), so a process that sets it must not read from one thread while
 * another writes. Another process growing the map is adopted at the next
 * transaction.
 *
 * Buffers. Every buffer a call returns through an out parameter is malloc'd
 * and the caller's to free (with free(), or the function named); pointers
 * handed to callbacks are valid only during the callback. The store is
 * silent: it returns 0 or a negative NS_E* code and fills the optional
 * ns_diag (NULL allowed), never prints.
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
#define NS_STORE_RDONLY 0x1  /**< read-only: write calls fail (NS_EINVAL or NS_ESTORE) */
#define NS_STORE_NOSYNC 0x2  /**< no fsync on commit (tests and benchmarks only) */

/**
 * Default LMDB map size and limit (sparse: only what is used takes disk
 * space). The environment NOMSYNC_MAP_SIZE (bytes, >= 1 MiB) sets a smaller
 * initial map, which doubles on demand up to NOMSYNC_MAP_MAX (default this).
 */
#define NS_STORE_MAPSIZE ((size_t)16 << 30)

/**
 * @brief Create a new store in @p dir (created, mode 0700, if missing; it
 * must not hold a data.mdb) with a fresh key for site @p site of @p role,
 * and close it again.
 * @return 0, NS_EINVAL (NULL argument), NS_EEXIST if a store is there,
 *         NS_EVALID for a bad role or site code (diag names the rule),
 *         NS_EIO, NS_ENOTFOUND (the directory vanished) or NS_ESTORE
 */
int ns_store_create(const char *dir, const char *site, ns_role role, ns_diag *d);

/**
 * @brief Open an existing store.
 *
 * A writable open first brings the store up to this release, in one
 * transaction (see ns_store_upgrade_report), and refuses to open if
 * NOMSYNC_CATALOGUE_HIDE names an unknown type (ns_type_hide_check).
 *
 * @param[in] flags NS_STORE_RDONLY, NS_STORE_NOSYNC
 * @param[out] out the store, to close with ns_store_close (NULL on failure)
 * @return 0, NS_EINVAL, NS_ENOMEM, NS_ENOTFOUND if @p dir holds no store,
 *         NS_ECORRUPT (metadata missing), NS_EVERSION (store format), NS_EKEY
 *         (site.key unreadable or not this store's), NS_ESTORE, NS_EMAPFULL
 *         (no room to upgrade the store)
 */
int ns_store_open(const char *dir, unsigned flags, ns_store **out, ns_diag *d);

/** @brief Close the store. NULL is allowed. */
void ns_store_close(ns_store *s);

/**
 * @brief This site's identity (site code, role, keys): the store's own,
 * valid until ns_store_close; ns_store_rekey replaces its contents.
 */
const ns_identity *ns_store_identity(const ns_store *s);

/** @brief The store's directory, as given to ns_store_open; valid until ns_store_close. */
const char *ns_store_dir(const ns_store *s);

/**
 * @brief Validate, sign and append @p n events as this site, in one
 * durable transaction, re-folding the persons they touch.
 *
 * Every input is validated first (ns_validate_event, plus for
 * event.corrected that the target is held, in ids or still in newids, and
 * was emitted by this site or this site is a hub). If any input fails,
 * nothing is written, @p bad is set to its index and @p d names the field
 * and rule.
 *
 * @param[out] ids optional, n event ids of the appended events
 * @param[out] bad optional, index of the input that failed (0 otherwise)
 * @return 0, NS_EVALID, NS_EROLE, NS_ELOCKED (appends held, see
 *         ns_store_hold), NS_EQUARANTINED (this site's key), NS_EINVAL
 *         (read-only store), NS_EMAPFULL, NS_ENOMEM, NS_ESTORE; @p d says
 *         why where it can
 */
int ns_store_append(ns_store *s, const ns_input *in, size_t n, uint8_t (*ids)[NS_ID_BYTES],
		    size_t *bad, ns_diag *d);

/**
 * @brief Tell the nomsyncd serving this store that events were appended.
 *
 * Sends one empty datagram, without blocking, to DIR/nomsyncd.notify (see
 * ns_store_notify_listen); the daemon then pushes the new events to its
 * peers at once rather than at its next tick. Call it after a successful
 * ns_store_append from any process other than the daemon. Without a daemon
 * (no socket, or a stale one) or with its queue full, nothing happens: the
 * daemon's tick finds the events anyway.
 *
 * @return 0, or NS_EINVAL for a read-only store
 */
int ns_store_notify(ns_store *s);

/**
 * @brief Bind the notification socket DIR/nomsyncd.notify (for nomsyncd).
 *
 * Removes a stale socket of a stopped daemon first, and makes the new one
 * mode 0600 (only the store's owner may notify). The descriptor is
 * non-blocking; each datagram read from it is one ns_store_notify.
 *
 * @param[out] fd the bound socket, to close with ns_store_notify_unlisten
 * @return 0, NS_ELOCKED (another process listens on it), NS_ENOTFOUND or
 *         NS_ESTORE, with the reason in @p d
 */
int ns_store_notify_listen(const char *dir, int *fd, ns_diag *d);

/** @brief Close @p fd from ns_store_notify_listen and remove the socket. -1 is allowed. */
void ns_store_notify_unlisten(const char *dir, int fd);

/** Per-event outcome of ns_store_ingest (or a negative NS_E* rejection). */
enum ns_ingest_result {
	NS_INGEST_APPLIED = 0,   /**< new, chained, written and folded */
	NS_INGEST_DUPLICATE = 1, /**< already held; nothing changed */
	NS_INGEST_HELD = 2,      /**< predecessor missing; held until the gap fills */
	NS_INGEST_PROOF = 3      /**< reserved, never given: an event that proves an
				      equivocation is rejected as NS_EEQUIV (its proof is kept) */
};

/** Flags for ns_store_ingest. */
#define NS_INGEST_VERIFIED 0x1 /**< signatures already checked by the caller */
/**
 * Store the events but do not re-fold the persons they touch, nor insert
 * their ids into the id index: in the same transaction, mark the persons'
 * refs in dirty (ns_store_fold_pending folds them later) and append the id
 * entries to newids (ns_store_index_pending indexes them later), so a
 * daemon catching up folds each person once at the end rather than once per
 * batch. Meanwhile:
 * - ns_store_view folds a pending person on the fly (not stored);
 * - ns_store_digest completes every pending fold first on a writable store
 *   (a read-only store digests the stored views);
 * - ns_store_verify re-folds a pending person but cannot compare its stored
 *   view (counted in its report's pending), and checks deferred id entries
 *   where they are (unindexed);
 * - ns_store_summaries (caseload lists) and ns_store_stats show a pending
 *   person as of its last fold: not at all if it has never been folded;
 * - lookups by id (corrections, erasure) scan newids.
 * A daemon runs the deferred work as soon as no batches are queued.
 */
#define NS_INGEST_DEFER_FOLD 0x2

/**
 * Optional trust policy consulted for every ingested event (the roster),
 * after its signature check and before any transaction, on the thread
 * calling ns_store_ingest. Return 0 to accept, or a negative NS_E* code
 * (NS_EUNKNOWN, NS_EROLE, NS_EREVOKED) to reject the event with it.
 */
typedef int (*ns_trust_fn)(void *arg, const ns_event *ev);
/** @brief Set (or with NULL clear) the trust policy; not while an ingest runs. */
void ns_store_set_trust(ns_store *s, ns_trust_fn fn, void *arg);

/**
 * Limits on events held for a gap (pending), checked by ingest. 0 means no
 * limit. An event whose seq is more than held_window past its origin's
 * contiguous seq is refused (NS_EHELDWINDOW, counted rejected.held_window);
 * one that would take the bytes held for its origin past origin_bytes, or
 * for the peer that sent it past sender_bytes, is refused (NS_EHELDFULL,
 * rejected.held_full).
 */
typedef struct ns_store_limits {
	uint64_t held_window;  /**< seqs ahead of the contiguous seq (default 100000) */
	uint64_t origin_bytes; /**< bytes held per origin (default 8 MiB) */
	uint64_t sender_bytes; /**< bytes held per sending peer (default 32 MiB) */
} ns_store_limits;

/** Defaults of ns_store_limits, in force from ns_store_open. */
#define NS_HELD_WINDOW 100000
#define NS_HELD_ORIGIN_BYTES ((uint64_t)8 << 20)
#define NS_HELD_SENDER_BYTES ((uint64_t)32 << 20)

/** @brief Set the held limits; not while an ingest runs. */
void ns_store_set_limits(ns_store *s, const ns_store_limits *lim);

/**
 * @brief Ingest events from other sites (or this site's own, from a peer),
 * in one durable transaction that also re-folds the persons they touch
 * (unless NS_INGEST_DEFER_FOLD).
 *
 * Each event is checked: signature (unless NS_INGEST_VERIFIED; by runs, see
 * ns_verify_runs and ns_store_ingest_covered), trust
 * policy, role rule and payload validation. Duplicates are idempotent; an
 * event whose predecessor is missing is held; when a predecessor arrives the
 * held successors are applied in order. Two different events with the same
 * (origin, seq), or an event whose prev does not match the stored
 * predecessor, are an equivocation: both are kept as a proof, the origin is
 * quarantined and further events from it are refused.
 *
 * An event of a type this build does not know (ns_event.type_unknown, a
 * newer release's) gets the same signature, trust and chain checks but not
 * the role rule or payload validation, which this build cannot know: it is
 * stored, indexed, relayed and exported like any other, recorded in the
 * unknown database, and left out of views (so the origin's later events are
 * not held behind it). A held event drained when its type has become known
 * is checked then; one breaking its type's rules is stored but recorded in
 * rejected (see ns_store_upgrade_report).
 *
 * With NS_INGEST_VERIFIED the caller has checked signatures; an entry of
 * @p results that is non-zero on input (e.g. NS_ESIG from the caller's
 * check, or NS_EDECODE) is counted as that rejection and skipped.
 *
 * Each rejection is counted under ns_reject_name(code); the batch also
 * counts ingested, duplicates and held.
 *
 * @param[in] evs n decoded events; a NULL entry is rejected as NS_EDECODE
 * @param[in] flags NS_INGEST_VERIFIED, NS_INGEST_DEFER_FOLD
 * @param[in,out] results n outcomes (enum ns_ingest_result or negative NS_E*)
 * @param[out] d optional: cleared, then on failure the detail where known
 *         (e.g. "nothing was written: the disk holding DIR is full (...)")
 * @return 0 if the batch was processed (individual rejections are in
 *         @p results), or NS_EMAPFULL / NS_ESTORE / NS_ENOMEM / NS_ECORRUPT,
 *         in which case nothing was written; NS_EINVAL on a read-only store
 */
int ns_store_ingest(ns_store *s, ns_event *const *evs, size_t n, unsigned flags, int *results,
		    ns_diag *d);

/**
 * @brief ns_store_ingest_from for events whose signatures the caller checked
 * by runs (ns_verify_runs), so implying NS_INGEST_VERIFIED.
 * @param[in] covered NULL (every signature checked), or n flags: 1 for an
 *            event authenticated by a later event's signature through the
 *            chain but whose own signature was not checked. Such an event is
 *            stored with its signature unchecked (unsig) when it extends its
 *            origin's chain; before it is held for a gap, completes or
 *            replaces a copy, or serves in an equivocation proof, its own
 *            signature is checked (NS_ESIG if it fails).
 */
int ns_store_ingest_covered(ns_store *s, ns_event *const *evs, size_t n, unsigned flags,
			    const char *const *senders, const uint8_t *covered, int *results,
			    ns_diag *d);

/**
 * @brief ns_store_ingest, naming the peer each event came from so that the
 * bytes held for a gap are capped per sender as well as per origin (see
 * ns_store_limits).
 * @param[in] senders NULL, or n sender tags (site codes, NULL or "" for
 *            none; at most NS_SITE_MAX - 1 characters are used)
 */
int ns_store_ingest_from(ns_store *s, ns_event *const *evs, size_t n, unsigned flags,
			 const char *const *senders, int *results, ns_diag *d);

/**
 * @brief Fold up to @p max persons marked pending by NS_INGEST_DEFER_FOLD,
 * in one durable transaction, and store their views, summaries and
 * aliases (a normal re-fold, which also clears the marks of every ref of
 * each person folded). With more than one fold thread
 * (ns_store_set_fold_threads) the persons are folded on that many threads,
 * each in a read transaction, and stored in one write transaction; a person
 * whose events changed in between is folded again there, so the views are
 * the same whatever the number of threads. There, a @p max above 96 is
 * taken in durable transactions of at most 96 persons, each written while
 * the next are folded; on failure those committed before it stay.
 *
 * @param[in] max marked refs to take (each with its whole person); 0 only
 *            counts (in a read transaction)
 * @param[out] left optional: marked refs still pending afterwards (0 on failure)
 * @param[out] d optional: cleared, then on failure the detail where known
 * @return 0, or NS_EMAPFULL / NS_ESTORE / NS_ENOMEM / NS_ECORRUPT (nothing
 *         written); on a read-only store only counting works: NS_EINVAL if
 *         @p max > 0 and anything is pending
 */
int ns_store_fold_pending(ns_store *s, size_t max, size_t *left, ns_diag *d);

/**
 * @brief Set the number of threads ns_store_fold_pending folds on (the
 * calling thread and n - 1 it starts for each call); 1 by default. Not while
 * ns_store_fold_pending runs.
 *
 * @param[in] n 1 to 64
 * @return 0, or NS_EINVAL outside that range
 */
int ns_store_set_fold_threads(ns_store *s, unsigned n);

/**
 * @brief Set the memory of the fold cache, 64 MiB by default; 0 turns it off.
 *
 * A person of 128 events or more re-folded by an append or an ingest keeps
 * its decoded events and checkpoints of the fold state (ns_fold_inc) while
 * they fit (the least recently folded go first; the last one folded
 * stays); a late event for it then loads only what is new and folds from
 * the checkpoint before it. About
 * 1.2 KiB per event (a 500-event history: some 600 KiB). Deferred folds
 * (ns_store_fold_pending) do not use it. Not while an append or ingest runs.
 */
void ns_store_set_fold_cache(ns_store *s, size_t bytes);

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
 * The pass's progress is kept in meta, so a restart resumes it.
 *
 * @param[in] max entries a step may hold in memory; 0 only counts
 * @param[out] left optional: events still awaiting the index afterwards
 *         (in newids; 0 on failure)
 * @param[out] d optional: cleared, then on failure the detail where known
 * @return 0, or NS_EMAPFULL / NS_ESTORE / NS_ENOMEM / NS_ECORRUPT (nothing
 *         written); on a read-only store as ns_store_fold_pending
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
	uint64_t revoked_from;       /**< ns_store_vector: 0, or the seq the key is revoked from */
} ns_vv_entry;

/**
 * @brief The highest seq of @p e's origin that this store offers to peers:
 * seq, or less if the key's later events are revoked.
 */
uint64_t ns_vv_relay_seq(const ns_vv_entry *e);

/**
 * @brief The version vector, sorted by origin key: every origin this store
 * holds events, held events or a proof of.
 * @param[out] out malloc'd array, caller frees (NULL on failure)
 * @param[out] n entries
 */
int ns_store_vector(ns_store *s, ns_vv_entry **out, size_t *n);

/** @brief JSON form of a version vector (new reference): {"<origin hex>": {...}}. */
json_t *ns_vector_to_json(const ns_vv_entry *v, size_t n);
/**
 * @brief Parse the JSON form (origin and seq required, head optional; the
 * other fields are not read). @param[out] out malloc'd, caller frees.
 * @return 0, NS_EVALID or NS_ENOMEM.
 */
int ns_vector_from_json(const json_t *j, ns_vv_entry **out, size_t *n, ns_diag *d);

/**
 * @brief The access state of the person with NOMS number or CRN @p offender
 * (any ref of the person, a merged-away one included: the joined person's),
 * as of their current fold: who may read the record (ns_access_allows;
 * docs/DOMAIN.md section 9.3). One LMDB get through the alias table, no JSON,
 * except for a person whose fold is deferred, who is folded on the fly.
 *
 * @param[out] out all zero when the person is unrestricted, and on failure:
 *   a caller enforcing access must refuse the read on any non-zero return
 * @return 0, NS_ENOTFOUND (no such person), NS_ESTORE (a store error or a
 *   damaged record), with @p d saying which
 */
int ns_store_access(ns_store *s, const char *offender, ns_access *out, ns_diag *d);

/**
 * @brief The folded view of the person with NOMS number or CRN @p ref (any
 * ref of the person). A person whose fold is deferred is folded on the fly
 * from its events.
 * @param[out] json malloc'd NUL-terminated view, caller frees (NULL on failure)
 * @param[out] len optional, its length
 * @param[out] canonical optional, the person's canonical ref
 * @return 0, NS_ENOTFOUND, or NS_ENOMEM / NS_ECORRUPT / NS_ESTORE
 */
int ns_store_view(ns_store *s, const char *ref, char **json, size_t *len,
		  char canonical[NS_REF_MAX]);

/**
 * @brief Digest for convergence checks: BLAKE2b-256 over every view in key
 * order, each as canonical ref, 0, view, 0 (ref == NULL), or over one
 * person's view alone. On a writable store every deferred fold is completed
 * first (write transactions); a read-only store digests the stored views.
 * @return 0, NS_ENOTFOUND (unknown @p ref) or a store error
 */
int ns_store_digest(ns_store *s, const char *ref, uint8_t out[NS_ID_BYTES]);

/**
 * Callback for iterations: @p ev is decoded by the store and freed after
 * the callback returns. Return non-zero to stop (that value is returned).
 */
typedef int (*ns_event_cb)(void *arg, const ns_event *ev);

/** @brief Every stored event, by (origin, seq). */
int ns_store_foreach(ns_store *s, ns_event_cb cb, void *arg);
/**
 * @brief One person's events (any of its refs finds them all) in fold order.
 * @return 0, NS_ENOTFOUND if none, a store error or the callback's value
 */
int ns_store_foreach_person(ns_store *s, const char *ref, ns_event_cb cb, void *arg);
/**
 * @brief Events that a holder of version vector @p since lacks (seq above
 * its entry for the origin), by origin then seq. @p since may be NULL
 * (everything). Held events (pending) are not included, nor revoked ones:
 * what may be exported. An event whose own signature is not checked yet
 * (see ns_verify_runs) is checked now; an origin's events stop at its first
 * one whose signature is bad.
 */
int ns_store_foreach_since(ns_store *s, const ns_vv_entry *since, size_t nsince, ns_event_cb cb,
			   void *arg);

/**
 * @brief Events of one origin from seq @p from, in order, at most @p max
 * events or about @p max_bytes bytes (at least one event if any), up to
 * (not including) a revoked seq. Events whose own signature is not checked
 * yet are included (their headers are authentic: see ns_verify_runs).
 * @return 0 or a store error; the callback's non-zero return stops and is returned
 */
int ns_store_read_range(ns_store *s, const uint8_t origin[NS_KEY_BYTES], uint64_t from, size_t max,
			size_t max_bytes, ns_event_cb cb, void *arg);
/**
 * @brief ns_store_read_range up to (not including) the origin's first event
 * whose own signature is not checked yet: what may be relayed to a peer.
 */
int ns_store_relay_range(ns_store *s, const uint8_t origin[NS_KEY_BYTES], uint64_t from, size_t max,
			 size_t max_bytes, ns_event_cb cb, void *arg);

/**
 * @brief Read the named cursor @p name (1 to 64 characters): an opaque
 * value a consumer of the log keeps durably beside it (meta
 * "cursor.<name>"), such as the positions the NATS publisher has had
 * acknowledged (src/nats).
 * @param[out] out malloc'd copy, caller frees (NULL if not set)
 * @return 0, NS_ENOTFOUND (never set), NS_EINVAL (bad name), NS_ENOMEM or a store error
 */
int ns_store_cursor_get(ns_store *s, const char *name, uint8_t **out, size_t *len);
/**
 * @brief Set the named cursor @p name to @p len bytes, in its own durable
 * write transaction.
 * @return 0, NS_EINVAL (bad name or a read-only store) or a store error
 */
int ns_store_cursor_put(ns_store *s, const char *name, const uint8_t *val, size_t len);

/** @brief Add @p n to the counter @p name (e.g. "rejected.frame"), in its own write transaction. */
int ns_store_count(ns_store *s, const char *name, uint64_t n);

/** @brief Counter name under which a rejection code is counted ("rejected.signature", ...). */
const char *ns_reject_name(int code);

/**
 * @brief Raw bytes of event (origin, seq) as stored.
 * @param[out] out malloc'd, caller frees (NULL on failure)
 * @return 0, NS_ENOTFOUND, NS_ENOMEM or NS_ESTORE
 */
int ns_store_get(ns_store *s, const uint8_t origin[NS_KEY_BYTES], uint64_t seq, uint8_t **out,
		 size_t *len);

/*
 * Trust: incomplete events, revoked keys, bounded held events (trust.c).
 *
 * Payloads. The event id hashes the header, not the payload, so anyone
 * relaying an event can drop its payload without breaking the signature.
 * An ingested event without payload bytes is therefore stored as
 * incomplete, not as erased: it takes its place in the chain (so later
 * seqs are not held behind it) and is relayed as it is, but it is never
 * folded; the person's view lists its id under "incomplete". The first copy
 * of the event that arrives with a payload matching payload_hash (ingest
 * checks it) completes it: the stored bytes are replaced, the incomplete
 * mark removed and the person re-folded (counted "completed"). This site's
 * own ns_store_erase is not affected: an erased event is not incomplete.
 */

/** ns_store_event_state flags. */
#define NS_EVENT_INCOMPLETE 0x1 /**< stored without its payload, awaiting a complete copy */
#define NS_EVENT_REVOKED 0x2    /**< signed by a key revoked from this seq or earlier */
#define NS_EVENT_UNCHECKED 0x4  /**< header authentic by its run's tip; its own signature not yet
				     checked, or found bad and awaiting a valid copy (ns_verify_runs) */

/**
 * @brief The trust state of stored event (origin, seq): 0 or NS_EVENT_* flags.
 * @return 0, or a store error
 */
int ns_store_event_state(ns_store *s, const uint8_t origin[NS_KEY_BYTES], uint64_t seq,
			 unsigned *state);

/**
 * @brief Ids of up to @p max incomplete events (oldest log key first), to
 * pull their payloads from peers.
 * @param[out] ids malloc'd array of *n ids (NULL if none), caller frees
 * @param[out] total optional: how many events are incomplete
 */
int ns_store_incomplete(ns_store *s, size_t max, uint8_t (**ids)[NS_ID_BYTES], size_t *n,
			uint64_t *total);

/**
 * @brief Raw bytes of the event with id @p id, only if this store holds it
 * with its payload, its signature checked, and it is not revoked (the
 * answer to a payload pull).
 * @param[out] out malloc'd, caller frees (NULL on failure)
 * @return 0, NS_ENOTFOUND (not held, held without payload, or revoked),
 *         NS_ENOMEM or a store error
 */
int ns_store_get_complete(ns_store *s, const uint8_t id[NS_ID_BYTES], uint8_t **out, size_t *len);

/**
 * @brief Apply a revocation of @p key from seq @p from_seq (roster.key.revoked),
 * in one durable transaction: record it (a later revocation of the same
 * key from a higher seq changes nothing), drop the key's held events from
 * that seq (counted "revoked.held"), and re-fold every person with a stored
 * event of the key at or after it, without those events (counted
 * "revoked.events"). From then on those events are refused by ingest
 * (rejected.revoked), left out of folds, not relayed (ns_store_read_range,
 * ns_store_foreach_since and ns_store_foreach skip them) and shown as
 * revoked by ns_store_event_state.
 * @param[out] changed optional: 1 if the store changed, 0 if it had it already
 * @return 0, NS_EINVAL (from_seq 0, or a read-only store) or a store error
 */
int ns_store_revoke(ns_store *s, const uint8_t key[NS_KEY_BYTES], uint64_t from_seq, int *changed,
		    ns_diag *d);

/**
 * @brief Drop held events first seen more than @p ttl seconds before
 * @p now: one step, visiting at most @p max held events from where the
 * previous step stopped, in one durable transaction (counted "expired.held").
 * @param[out] expired optional: events dropped by this step
 * @return 0, NS_EINVAL (read-only store) or a store error
 */
int ns_store_expire_held(ns_store *s, int64_t now, int64_t ttl, size_t max, uint64_t *expired,
			 ns_diag *d);

/** Gauges of ns_store_trust_stats. */
typedef struct ns_trust_stats {
	uint64_t incomplete;   /**< events stored without their payload */
	uint64_t held;         /**< events held for a gap */
	uint64_t held_bytes;   /**< their bytes */
	uint64_t revoked_keys; /**< keys with a revocation applied */
} ns_trust_stats;
/** @brief Current gauges (all zero on a read-only open of a store made before them). */
int ns_store_trust_stats(ns_store *s, ns_trust_stats *out);

/** Report of ns_store_verify. */
typedef struct ns_verify_report {
	uint64_t events;      /**< events checked */
	uint64_t views;       /**< views re-folded and compared */
	uint64_t bad;         /**< problems found */
	uint64_t pending;     /**< refs awaiting a deferred fold (their views are re-folded, not compared) */
	uint64_t unindexed;   /**< events whose id index entry is deferred (checked where they are) */
	uint64_t unchecked;   /**< events whose own signature awaits its background check (unsig):
				   a bad one is counted here, not as a problem, while it awaits a
				   valid copy */
	char first[256];      /**< description of the first problem */
} ns_verify_report;

/**
 * @brief Re-check everything, in one read transaction: decode, payload
 * hash, signature, key/header agreement, gapless chain links, id index
 * (ids, or newids while deferred), version vector, and every stored view
 * against a fresh fold (a person whose fold is deferred is re-folded, not
 * compared).
 * @return 0 if all is well, NS_ECORRUPT if anything failed (see report),
 *         or a store error
 */
int ns_store_verify(ns_store *s, ns_verify_report *r);

/*
 * Chain-tip verification (chain.c; docs/PROTOCOL.md, "Chain-tip verification").
 */

/**
 * @brief Authenticate @p n decoded events by runs: a run is a maximal
 * sequence of adjacent entries of one origin with consecutive seqs (none
 * NULL or already refused in @p res). If every event of a run links to the
 * one before it (prev == its id, a BLAKE2b-256 of the header) and the last
 * event's signature verifies, every header of the run is authentic: the
 * earlier events are marked @p covered, their own signatures unchecked.
 * Otherwise (a broken link, a bad tip) every event of the run is verified
 * on its own and a failing one gets NS_ESIG, so no event is ever accepted
 * that per-event verification would refuse for its header.
 * @param[in,out] res n results: non-zero entries are skipped; NS_ESIG set
 * @param[out] covered n flags: 1 if the event's own signature was not checked
 * @return the number of Ed25519 verifications made
 */
size_t ns_verify_runs(ns_event *const *evs, size_t n, int *res, uint8_t *covered);

/** What one ns_store_verify_pending step did. */
typedef struct ns_sigcheck_report {
	uint64_t checked; /**< signatures found valid (no longer pending) */
	uint64_t bad;     /**< signatures found bad: marked, counted sig.bad and sig.bad.<sender> */
	uint64_t left;    /**< events still awaiting their check afterwards */
} ns_sigcheck_report;

/**
 * @brief Check the signatures of up to @p max events stored with their
 * signature unchecked (unsig), on @p threads threads at the lowest CPU
 * priority (0: one per online CPU), and record the results in one durable
 * transaction: a valid one leaves unsig (counted sig.checked and
 * sig.background); a bad one is marked bad and counted, and waits for a
 * valid copy (same id) from a peer, which ingest takes in its place
 * (sig.replaced). The set is durable, so a step lost to a crash is done
 * again after the restart. @p origin (or NULL) is checked first: an origin
 * a peer waits for.
 * @return 0, NS_EINVAL (read-only store, unless @p max is 0: only counts),
 *         or a store error
 */
int ns_store_verify_pending(ns_store *s, const uint8_t *origin, size_t max, unsigned threads,
			    ns_sigcheck_report *r, ns_diag *d);

/** Gauges and counters of chain-tip verification. */
typedef struct ns_sig_stats {
	uint64_t covered;    /**< events stored on a tip's signature (counter sig.covered) */
	uint64_t pending;    /**< events whose signature awaits its check now */
	uint64_t bad;        /**< events whose signature was found bad, awaiting a valid copy */
	uint64_t checked;    /**< signatures of covered events checked since (sig.checked) */
	uint64_t background; /**< of those, checked by ns_store_verify_pending (sig.background) */
	uint64_t replaced;   /**< bad copies replaced by a valid copy (sig.replaced) */
} ns_sig_stats;
/** @brief Current figures (all zero on a read-only open of a store made before them). */
int ns_store_sig_stats(ns_store *s, ns_sig_stats *out);

/** An event whose stored signature was found bad. */
typedef struct ns_bad_sig {
	uint8_t origin[NS_KEY_BYTES];
	uint64_t seq;
	int64_t found;             /**< when it was found bad (Unix seconds) */
	char sender[NS_SITE_MAX];  /**< the peer that supplied the bad copy ("" if unknown) */
} ns_bad_sig;
/**
 * @brief Up to @p max events whose stored signature is bad, by log key: to
 * ask peers for a valid copy.
 * @param[out] out malloc'd array of *n (NULL if none), caller frees
 */
int ns_store_bad_signatures(ns_store *s, size_t max, ns_bad_sig **out, size_t *n);

/** Counters kept by the store (rejections by reason, totals). */
typedef struct ns_counter {
	char name[48];
	uint64_t value;
} ns_counter;
/** @brief All counters, sorted by name. @param[out] out malloc'd, caller frees. */
int ns_store_counters(ns_store *s, ns_counter **out, size_t *n);

/** An equivocation proof: two signed events of one origin that conflict. */
typedef struct ns_proof {
	uint8_t origin[NS_KEY_BYTES];
	uint8_t *a, *b; /**< raw events (malloc'd) */
	size_t alen, blen;
} ns_proof;
/** @brief All proofs held, by origin. @param[out] out free with ns_proofs_free. */
int ns_store_proofs(ns_store *s, ns_proof **out, size_t *n);
/** @brief Free an array of @p n proofs and their events. NULL is allowed. */
void ns_proofs_free(ns_proof *p, size_t n);
/**
 * @brief Record a proof received from elsewhere after checking it: both
 * events verify, same origin, and either the same seq with different ids or
 * b at seq+1 of a with a prev that is not a's id.
 * @return 0 (recorded, origin quarantined), NS_EEXIST if the origin is
 *         already quarantined (nothing written), NS_EINVAL if it proves
 *         nothing, or a store error
 */
int ns_store_add_proof(ns_store *s, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/**
 * @brief Erase the payload of event @p id (data protection): append a
 * signed event.erased naming it, which this store applies at once and every
 * node that ingests it applies too: the stored event, and every copy held
 * for a gap or in an equivocation proof, is replaced by its erased encoding
 * (the chain still verifies), and the person is re-folded. Only the event's
 * origin site or a hub may erase it. The bytes leave the file only when the
 * store is compacted: see ns_store_compact.
 * @param[in] reason DATA_PROTECTION_REQUEST, RETENTION_EXPIRED or RECORDED_IN_ERROR
 * @param[in] requested_by a reference of the request (not a name), or NULL
 * @param[out] out the erasure event's id, or NULL
 * @return 0, NS_ENOTFOUND if no event has that id, NS_EROLE if this site
 *         may not erase it, NS_EVALID (a bad reason, a roster change or an
 *         erasure as target), NS_ELOCKED (appends held), or a store error
 */
int ns_store_erase(ns_store *s, const uint8_t id[NS_ID_BYTES], const char *reason, const char *requested_by,
		   uint8_t out[NS_ID_BYTES], ns_diag *d);

/**
 * @brief 1 if an erasure was applied since the store was last compacted, so
 * that erased bytes may remain in the file's free pages (0 otherwise).
 */
int ns_store_scrub_due(ns_store *s);

/**
 * @brief Compact the store: copy its live data (only the used part of each
 * live page) into a new file that atomically replaces data.mdb, so that no
 * byte of an erased payload remains in the file or in a backup taken after.
 * The environment is closed and reopened: no other thread may use @p s and
 * no transaction may be open during the call, and no other process may
 * have the store open (else NS_ELOCKED and nothing changes; try later).
 * Counted as "compactions"; clears ns_store_scrub_due.
 * @return 0, NS_ELOCKED, NS_EINVAL (read-only), NS_EIO or a store error
 */
int ns_store_compact(ns_store *s, ns_diag *d);

/**
 * Callback for ns_store_summaries: @p key is the person's canonical ref;
 * both are valid during the callback only. Non-zero stops and is returned.
 */
typedef int (*ns_summary_cb)(void *arg, const char *key, const ns_fold_summary *sum);
/**
 * @brief Every folded person's summary, in canonical-ref order (as of its
 * last fold: see NS_INGEST_DEFER_FOLD).
 */
int ns_store_summaries(ns_store *s, ns_summary_cb cb, void *arg);

/**
 * @brief The caseload of a POM or COM: every person whose prison or
 * community offender manager has staff code @p staff, as the figures
 * records hold them (as of each person's last fold).
 *
 * @param[out] out a new JSON array of objects: ref, noms, crn, status
 *   (IN_CUSTODY, LICENCE, COMMUNITY, NONE), supervision (CUSTODY, LICENCE,
 *   COMMUNITY_ORDER, SSO, NONE), prison, region (the COM's), pom, com, tier,
 *   rosh, next_key_date (release in custody, licence expiry on licence, the
 *   order's end in the community), release_date (effective, custody only),
 *   flags (IN_BREACH, ENFORCEMENT_DUE, CONFLICTS), restricted (true when a
 *   RESTRICTION or EXCLUSION list is in force: ns_store_access); caller json_decrefs
 * @return 0, NS_ENOTFOUND if the store has no figures databases (a
 *   read-only open of an older store), or an NS_E* code
 */
int ns_store_caseload(ns_store *s, const char *staff, json_t **out, ns_diag *d);
/**
 * @brief People in custody due out in [@p today, @p today + @p days) by
 * effective (working-day-adjusted) release date, in date order, filtered by
 * @p prison and/or the COM's @p region (each NULL for any).
 *
 * @param[out] out a new JSON array, each item as ns_store_caseload's
 * @return 0, NS_EINVAL if days is outside 0..3660, NS_ENOTFOUND as above
 */
int ns_store_releases(ns_store *s, const char *prison, const char *region, int32_t today, int days,
		      json_t **out, ns_diag *d);
/**
 * @brief Figures of a COM region (@p region) or of the whole estate (NULL):
 * read from the aggregate counters kept at each fold, and from the release
 * index over 90 days from @p today (a day number).
 *
 * @param[out] out a new JSON object: region, as_of, persons,
 *   population_by_prison, caseload_by_supervision, caseload_by_tier (people
 *   under supervision; "NONE" if untiered), releases_due {"7","28","90"},
 *   unpaid_work {hours_ordered, hours_credited}, breaches_open,
 *   enforcement_due (orders), programme_completions, conflicts_by_rule
 * @return 0, NS_ENOTFOUND as above, or an NS_E* code
 */
int ns_store_figures(ns_store *s, const char *region, int32_t today, json_t **out, ns_diag *d);
/**
 * @brief The same figures recomputed by scanning every person's figures
 * record: a check of the incremental counters (tests, verification), not
 * for serving requests.
 */
int ns_store_figures_recount(ns_store *s, const char *region, int32_t today, json_t **out,
			     ns_diag *d);
/**
 * @brief CSV text (RFC 4180, CRLF) of a caseload or releases array (one row
 * per person, flags joined by ';') or of figures ("figure,key,value").
 * @return malloc'd NUL-terminated text, or NULL on allocation failure
 */
char *ns_figures_csv(const json_t *v);

/** Fold latency histogram buckets (upper bounds in seconds), cumulative counts. */
#define NS_FOLD_BUCKETS 10
extern const double ns_fold_bucket_bounds[NS_FOLD_BUCKETS];
typedef struct ns_fold_stats {
	uint64_t count;                   /**< folds since the store was opened */
	double sum;                       /**< total seconds */
	uint64_t buckets[NS_FOLD_BUCKETS]; /**< folds taking <= bound (cumulative) */
} ns_fold_stats;
/** @brief Fold latencies of this store handle since it was opened (thread-safe read). */
void ns_store_fold_stats(ns_store *s, ns_fold_stats *out);

/**
 * What a store handle spends CPU on, by activity (ns_store_cpu_stats). Each
 * figure is the CPU time of the threads doing that work (user and system,
 * CLOCK_THREAD_CPUTIME_ID), whichever thread: the caller's and the threads a
 * call starts (parallel folds, background signature checks), never time
 * spent waiting; the append's signer thread is not counted. Work the store cannot see (a caller's
 * network and decoding) is the process's CPU time less their sum.
 */
typedef enum ns_cpu_activity {
	NS_CPU_VERIFY,   /**< signature checks before ingest: ns_verify_runs in ns_store_ingest_from,
			      and what a caller reports with ns_store_cpu_add (nomsyncd's batches) */
	NS_CPU_INGEST,   /**< ns_store_ingest*: checks, writes, and the folds of commits that do not defer them */
	NS_CPU_APPEND,   /**< ns_store_append on the caller's thread: build, sign, write, re-fold */
	NS_CPU_FOLD,     /**< deferred folds (ns_store_fold_pending), every fold thread */
	NS_CPU_INDEX,    /**< the deferred id index (ns_store_index_pending) */
	NS_CPU_SIGCHECK, /**< background signature checks (ns_store_verify_pending), every thread */
	NS_CPU_ACTIVITIES
} ns_cpu_activity;
/** @brief The activity's name in metrics and reports ("verify", "ingest", ...), or NULL if out of range. */
const char *ns_cpu_activity_name(ns_cpu_activity a);
/** @brief Seconds of CPU each activity took on this store handle since it was opened (thread-safe). */
void ns_store_cpu_stats(ns_store *s, double out[NS_CPU_ACTIVITIES]);
/** @brief Add @p nanos of CPU to activity @p a (work done for the store outside it; thread-safe). */
void ns_store_cpu_add(ns_store *s, ns_cpu_activity a, uint64_t nanos);
/** @brief The calling thread's CPU time in nanoseconds (CLOCK_THREAD_CPUTIME_ID; 0 if unavailable). */
uint64_t ns_thread_cpu_nanos(void);

/** @brief Bytes the LMDB environment uses ((last page number + 1) x page size). */
int ns_store_size(ns_store *s, uint64_t *bytes);

/**
 * @brief Hold appends (after restoring a backup): until released, this site
 * may not sign new events, because its backup may lack events it signed
 * after the backup was taken, and signing again from an older head would be
 * an equivocation. nomsyncd releases the hold once every configured peer has
 * reported a vector and none holds more of this site's own events than the
 * store does (it pulls them back first). The hold is kept in meta ("hold"),
 * so it survives a restart.
 */
int ns_store_hold(ns_store *s, int hold);
/** @brief 1 if appends are held (0 if that cannot be read). */
int ns_store_held(ns_store *s);

/**
 * @brief Replace this site's key (rotation): a new Ed25519 key signs from now
 * on; the old key's events stay valid. The old key file is kept as
 * site.key.old-<first 16 hex of the old key>. The roster authority must list
 * the new key (roster.key.rotated) for peers to accept it. Not while any
 * other call on @p s runs (ns_store_identity's contents change).
 * @return 0, NS_EIO (diag), a key or store error
 */
int ns_store_rekey(ns_store *s, ns_diag *d);

/**
 * @brief Drop this process's resident pages of the LMDB map (madvise
 * MADV_DONTNEED). The map is read-only and shared, so pages fault back in
 * from the page cache unchanged; this only keeps the node's resident set
 * from growing to the size of the store during a large catch-up. Linux
 * only (the mapping is found in /proc/self/maps); a no-op where it is not
 * found. Thread-safe.
 */
void ns_store_trim(ns_store *s);

/** @brief Number of folded persons (views) and events held (log). */
int ns_store_stats(ns_store *s, uint64_t *persons, uint64_t *events);

/** Store format this release writes; it also opens format 1 (converted on a writable open). */
#define NS_STORE_FORMAT 2

/** What a writable ns_store_open did to bring the store up to this release. */
typedef struct ns_upgrade_report {
	int from_format;          /**< format converted from, 0 if none was needed */
	int to_format;            /**< NS_STORE_FORMAT */
	uint32_t from_fold;       /**< fold version the views were folded with */
	uint64_t persons_marked;  /**< refs marked for a deferred re-fold */
	uint64_t events_checked;  /**< stored events of types unknown when stored, known now, re-checked */
	uint64_t events_rejected; /**< of those, events that break their type's rules (kept, never folded) */
	uint64_t events_unknown;  /**< events of types this release still does not know */
} ns_upgrade_report;

/**
 * @brief What the open of @p s did to upgrade the store: all zero but
 * to_format for a read-only open; for a store that was current, also
 * from_fold (NS_FOLD_VERSION) and events_unknown.
 *
 * A writable open, in one transaction: converts a format 1 store to format
 * 2 (creating the "unknown" and "rejected" databases and meta
 * "fold_version"); if meta fold_version differs from NS_FOLD_VERSION, marks
 * every person for a deferred re-fold; and re-checks every event recorded
 * in "unknown" whose type this release knows (role rule and payload rules):
 * a valid one leaves "unknown" and its person is marked for a re-fold, an
 * invalid one is recorded in "rejected" (counted as "rejected.upgrade") and
 * never folded. Marked persons are re-folded as after NS_INGEST_DEFER_FOLD.
 */
void ns_store_upgrade_report(const ns_store *s, ns_upgrade_report *out);

/**
 * @brief One line describing what the open did, for logs, e.g. "store
 * converted from format 1 to 2; re-checked 3 events of types new to this
 * release: 1 rejected, 2 persons to re-fold".
 * @return the length of the text, 0 (and "") if the open changed nothing
 */
size_t ns_upgrade_describe(const ns_upgrade_report *r, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* NOMSYNC_STORE_H */
