/*
 * The running daemon's status: what nomsyncd writes to
 * DIR/nomsyncd.status.json every second, serves as "daemon" in GET
 * /v1/status and renders in /metrics, and what `nomsync status` reads back.
 *
 * The JSON form (keys sorted when written):
 *
 *   {"site": "MDI", "pid": 123, "written_at_ms": 1767600000000,
 *    "uptime_s": 12.5, "listen": "tcp://0.0.0.0:7401",
 *    "peers": [{"site", "direction": "outbound"|"inbound", "endpoint",
 *               "state": "down"|"handshake"|"syncing"|"live",
 *               "last_contact_ms_ago" (-1: never), "behind_events",
 *               "behind_seconds" (real), "sent_events", "received_events",
 *               "rejected_events", "credit", "queued_batches"}, ...],
 *    "vector": {version vector, as ns_vector_to_json},
 *    "ingest_queue_batches", "frames_rejected", "connections_refused",
 *    "appends_held" (boolean), "folds_pending", "ids_pending",
 *    "roster_changes_applied", "events_incomplete", "events_held", "held_bytes",
 *    "local_append_notifications",
 *    "signatures": {"covered", "pending", "bad", "checked_background", "replaced"}}
 *
 * Reading is strict: every key must be present with its JSON type, except
 * "events_incomplete", "events_held", "held_bytes" and
 * "local_append_notifications" (added later; 0 when absent).
 */
#ifndef NOMSYNC_STATUS_H
#define NOMSYNC_STATUS_H

#include <nomsync/store.h>

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Where a peer's session stands. */
typedef enum ns_peer_state {
	NS_PEER_DOWN = 0,  /**< no contact within the peer timeout */
	NS_PEER_HANDSHAKE, /**< connected, its Hello not yet received */
	NS_PEER_SYNCING,   /**< it lacks events this node holds */
	NS_PEER_LIVE       /**< it lacks nothing this node holds */
} ns_peer_state;

/** One peer of the node. */
typedef struct ns_peer_status {
	char site[NS_SITE_MAX];
	int outbound;                /**< 1: this node dials it; 0: it dialled in */
	char endpoint[256];          /**< "" for an inbound peer */
	ns_peer_state state;
	int64_t last_contact_ms_ago; /**< -1: never */
	uint64_t behind_events;      /**< events held here that it lacks */
	double behind_seconds;       /**< how long it has lacked them (0 when in sync) */
	uint64_t sent_events, received_events, rejected_events;
	uint64_t credit;             /**< Events messages it still lets us send */
	uint64_t queued_batches;     /**< its batches in our ingest queue */
} ns_peer_status;

/** The node as a whole. Free the arrays with ns_status_free. */
/** The NATS JetStream link of a node with a [nats] section (src/nats). */
typedef struct ns_nats_status {
	int enabled;                /**< 0: no [nats] section (nothing below is shown) */
	int connected;              /**< 1 while connected to a server */
	uint64_t published;         /**< event messages acknowledged by the stream */
	uint64_t views_published;   /**< view messages acknowledged */
	uint64_t failed;            /**< publishes that failed or timed out (resent) */
	uint64_t lag_events;        /**< stored events not yet acknowledged */
	double lag_seconds;         /**< age (recorded_at) of the oldest of them, 0 if none */
	uint64_t consumed;          /**< inbound messages appended as events */
	uint64_t dead_letters;      /**< inbound messages sent to <prefix>.deadletter */
} ns_nats_status;

typedef struct ns_node_status {
	char site[NS_SITE_MAX];
	int64_t pid;
	uint64_t written_at_ms;      /**< wall clock, ms since the epoch */
	double uptime_s;
	char listen[256];            /**< the replication endpoint */
	ns_peer_status *peers;       /**< malloc'd */
	size_t npeers;
	ns_vv_entry *vector;         /**< malloc'd */
	size_t nvector;
	uint64_t ingest_queue_batches;
	uint64_t frames_rejected;
	uint64_t connections_refused; /**< handshakes from keys not in the roster */
	int appends_held;            /**< restored store catching up its own events */
	uint64_t folds_pending;
	uint64_t ids_pending;
	uint64_t roster_changes_applied;
	uint64_t events_incomplete;  /**< stored without their payload, awaiting it (ns_trust_stats) */
	uint64_t events_held;        /**< held for a gap */
	uint64_t held_bytes;         /**< their bytes */
	ns_nats_status nats;         /**< JSON "nats" (only when enabled) */
	/* Chain-tip verification (ns_store_sig_stats); 0 when read from a node before it. */
	uint64_t sigs_covered;       /**< events stored on a run tip's signature, in all */
	uint64_t sigs_pending;       /**< of those, awaiting their own signature's background check */
	uint64_t sigs_bad;           /**< found with a bad signature, awaiting a valid copy from a peer */
	uint64_t sigs_background;    /**< checked in the background, in all */
	uint64_t sigs_replaced;      /**< bad copies replaced by valid ones, in all */
	uint64_t local_append_notifications; /**< ns_store_notify datagrams read (0 when absent) */
} ns_node_status;

/** @brief "down", "handshake", "syncing" or "live". */
const char *ns_peer_state_name(ns_peer_state s);

/**
 * @brief The JSON form of @p st (new reference).
 * @return the object, or NULL when out of memory
 */
json_t *ns_status_to_json(const ns_node_status *st);

/**
 * @brief Parse the JSON form into @p out (zeroed first; free with ns_status_free,
 * also after an error).
 * @return 0, NS_EVALID (a key missing or of the wrong type, named in @p d) or NS_ENOMEM
 */
int ns_status_from_json(const json_t *j, ns_node_status *out, ns_diag *d);

/**
 * @brief Write the store's trust gauges (ns_store_trust_stats) to @p f in
 * the Prometheus text format: nomsync_events_incomplete,
 * nomsync_events_held and nomsync_held_bytes, each with HELP and TYPE lines.
 */
void ns_trust_metrics(FILE *f, const ns_trust_stats *ts);

/**
 * @brief Write the NATS gauges and counters of @p ns (nothing if not
 * enabled) to @p f in the Prometheus text format: nomsync_nats_connected,
 * nomsync_nats_lag_events, nomsync_nats_lag_seconds and the totals
 * nomsync_nats_published_total, nomsync_nats_views_published_total,
 * nomsync_nats_failed_total, nomsync_nats_consumed_total,
 * nomsync_nats_dead_letters_total.
 */
void ns_nats_metrics(FILE *f, const ns_nats_status *ns);

/**
 * @brief Write the chain-tip verification figures (ns_store_sig_stats) to
 * @p f in the Prometheus text format: gauges nomsync_signatures_pending and
 * nomsync_signatures_bad, counters nomsync_signatures_covered_total,
 * nomsync_signatures_checked_background_total and
 * nomsync_signatures_replaced_total (bad copies by peer are the store
 * counters sig.bad.<site>).
 */
void ns_sig_metrics(FILE *f, const ns_sig_stats *ss);

/** @brief Free the arrays of @p st and zero it. */
void ns_status_free(ns_node_status *st);

#ifdef __cplusplus
}
#endif

#endif /* NOMSYNC_STATUS_H */
