/*
 * nomsync read audit: who read (or was refused) whose record (issue 12).
 *
 * Every request that returns a person's data, allowed or refused, leaves one
 * entry per person: time, user, roles, person (NOMS number or CRN), endpoint
 * and outcome. Entries live in their own LMDB environment (<store>/audit),
 * separate from the event store so that reading never contends with ingest,
 * and are kept for [http] audit_days (default 2,555: seven years).
 *
 * Writing is off the request path and batched: ns_audit_submit queues
 * entries for a writer thread that commits them in groups (one
 * transaction per group) and then calls the submitter back on its own
 * libuv loop. The HTTP server sends a response only after that callback,
 * so an entry is committed before its response leaves: a kill -9 after the
 * response loses nothing. The fsync is per group, or deferred by at most
 * ns_audit_opts.sync_ms (then a power cut loses at most that much).
 *
 * Optionally each committed entry is also written as one JSON line to
 * syslog (facility AUTHPRIV, ident "nomsyncd-audit") for the estate's SIEM.
 */
#ifndef NOMSYNC_AUDIT_H
#define NOMSYNC_AUDIT_H

#include <nomsync/auth.h>
#include <nomsync/error.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Outcome of a read. */
enum ns_audit_outcome {
	NS_AUDIT_ALLOWED = 0,    /**< the person's data was returned */
	NS_AUDIT_RESTRICTED = 1, /**< refused: limited-access record (403 restricted_record) */
	NS_AUDIT_NO_ROLE = 2,    /**< refused: the user lacks the role (403) */
	NS_AUDIT_LISTED = 3      /**< shown in a list as restricted, without name or details */
};

/** One audit entry. */
typedef struct ns_audit_entry {
	int64_t at_ms;            /**< Unix milliseconds (filled by ns_audit_submit when 0) */
	char user[NS_USER_MAX];   /**< ns_principal.user */
	unsigned roles;           /**< ns_principal.roles */
	char offender[16];        /**< NOMS number or CRN */
	char endpoint[64];        /**< "GET /v1/offenders/{id}", ... (the route, not the URL) */
	int outcome;              /**< enum ns_audit_outcome */
} ns_audit_entry;

typedef struct ns_audit ns_audit;

/** Options of ns_audit_open. */
typedef struct ns_audit_opts {
	unsigned days;   /**< retention in days (0: 2,555) */
	int syslog;      /**< 1: also one JSON line per entry to syslog */
	size_t map_size; /**< initial LMDB map size in bytes (0: 64 GiB); it doubles when full */
	size_t map_max;  /**< the map grows up to this (0: the larger of map_size and 64 GiB);
			      past it a submission fails with NS_EMAPFULL */
	unsigned sync_ms; /**< 0: each batch is fsynced before its submitters are called back.
			       N: a batch is committed to the operating system (written, not
			       fsynced) before the callback, and fsynced at most N ms later:
			       a kill -9 still loses nothing, a power cut at most N ms of entries */
} ns_audit_opts;

/**
 * @brief Open (creating if needed) the audit environment in @p dir and
 *	start its writer thread.
 *
 * The writer thread also expires entries older than the retention: once at
 * open and then every 24 hours, in bounded transactions between batches (so
 * a large expiry never holds audited responses back for long).
 * @return 0, NS_EIO, NS_ESTORE, NS_ENOMEM
 */
int ns_audit_open(ns_audit **out, const char *dir, const ns_audit_opts *opts, ns_diag *d);

/**
 * @brief Commit everything queued, stop the writer and close (NULL is fine).
 *
 * Call it on the thread of the loop(s) that submitted, while they can still
 * run: the done callbacks not yet delivered are called from here, and each
 * loop's wake-up handle (a uv_async_t) is closed, which completes when that
 * loop next runs (a daemon's shutdown runs it anyway); the object is freed
 * then. Without submissions (read-only, or never used) it is freed at once.
 */
void ns_audit_close(ns_audit *a);

/**
 * Called on the submitter's loop thread once the entries are durable
 * (status 0) or failed: NS_EMAPFULL (the map is at map_max, or the disk is
 * full), NS_ESTORE or NS_EIO. A failed submission is never retried.
 */
typedef void (*ns_audit_done_fn)(void *arg, int status);

/**
 * @brief Queue @p n entries (copied); @p done runs on @p loop after their commit.
 *
 * Call it on @p loop's thread (the loop's wake-up handle is made there on
 * first use). Entries with at_ms 0 get the current time.
 * @param[in] loop a uv_loop_t * (void * so this header needs no uv.h)
 * @return 0, NS_ENOMEM, NS_EINVAL (closing, read-only, or @p n is 0); on error
 *	@p done is not called
 */
int ns_audit_submit(ns_audit *a, void *loop, const ns_audit_entry *e, size_t n,
		    ns_audit_done_fn done, void *arg);

/** A query: entries of one person and/or one user, in [from_ms, to_ms). */
typedef struct ns_audit_query {
	const char *offender; /**< NULL: any */
	const char *user;     /**< NULL: any */
	int64_t from_ms;      /**< 0: from the start */
	int64_t to_ms;        /**< 0: to the end */
	size_t limit;         /**< 0: no limit */
} ns_audit_query;

/** Called per matching entry, oldest first; return non-zero to stop. */
typedef int (*ns_audit_row_fn)(void *arg, const ns_audit_entry *e);

/**
 * @brief Read committed entries (any thread, or another process: the CLI
 *	opens the environment read-only with ns_audit_open_readonly).
 * @return 0, NS_ESTORE
 */
int ns_audit_query_run(ns_audit *a, const ns_audit_query *q, ns_audit_row_fn fn, void *arg,
		       ns_diag *d);

/**
 * @brief Open an existing audit environment for reading only (no writer
 *	thread), e.g. from the CLI while the daemon writes to it.
 * @return 0, NS_ENOTFOUND (no audit there), NS_ESTORE
 */
int ns_audit_open_readonly(ns_audit **out, const char *dir, ns_diag *d);

/**
 * @brief Delete entries older than the retention (at_ms < now_ms - days),
 *	with their index entries; returns how many through @p removed (may be NULL).
 *	Any thread; the writer thread calls it itself (see ns_audit_open).
 * @return 0, NS_EINVAL (read-only), NS_ESTORE, NS_EMAPFULL
 */
int ns_audit_expire(ns_audit *a, int64_t now_ms, uint64_t *removed, ns_diag *d);

/** Counters for /metrics. */
typedef struct ns_audit_stats {
	uint64_t entries;    /**< entries committed since open */
	uint64_t batches;    /**< write transactions committed since open */
	uint64_t failed;     /**< entries whose commit failed */
	uint64_t queued;     /**< entries waiting now */
	uint64_t by_outcome[4]; /**< committed entries by enum ns_audit_outcome */
} ns_audit_stats;

/** @brief Snapshot of the counters (any thread). */
void ns_audit_get_stats(ns_audit *a, ns_audit_stats *s);

/** @brief "allowed", "restricted", "no_role", "listed". */
const char *ns_audit_outcome_name(int outcome);

/**
 * @brief Parse a query bound: a date "YYYY-MM-DD" (midnight UTC; with
 *	@p end set, the midnight after it, so that to=DATE includes the day) or
 *	"YYYY-MM-DDTHH:MM:SS[.mmm]Z".
 * @return 0, NS_EINVAL
 */
int ns_audit_parse_time(const char *text, int end, int64_t *ms);

/** @brief "YYYY-MM-DDTHH:MM:SS.mmmZ" of Unix milliseconds into @p buf (at least 32 bytes). */
void ns_audit_format_time(int64_t ms, char *buf, size_t cap);

/**
 * @brief One entry as a compact JSON object {"at","endpoint","offender",
 *	"outcome","roles":[names],"user"}: the syslog line, the CLI's --json
 *	line and an element of GET /v1/audit's "entries".
 * @return a string to free(), NULL when out of memory
 */
char *ns_audit_entry_json(const ns_audit_entry *e);

#ifdef __cplusplus
}
#endif
#endif /* NOMSYNC_AUDIT_H */
