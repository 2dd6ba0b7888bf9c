/*
 * NATS JetStream: the estate's event stream (src/nats, docs/OPERATIONS.md "NATS").
 *
 * Outbound. Every stored event, this site's own and ingested ones, is
 * published to <prefix>.event.<type> in the stream <stream> as an
 * HMPPS-shaped domain event (ns_nats_envelope) with Nats-Msg-Id = the
 * event id in hex, so JetStream drops a copy sent again within the
 * stream's duplicate window. Each origin's events go in seq order. The
 * current view of each person an event touched goes to
 * <prefix>.view.<canonical ref> in <stream>_VIEWS, a stream that keeps one
 * message per subject (JetStream's per-subject limit covers a whole
 * stream, hence the second stream).
 *
 * Publishing is asynchronous (js_PublishMsgAsync) with at most [nats]
 * window messages unacknowledged. What is acknowledged is kept in the
 * store as two version vectors (ns_store_cursor_put): "nats.events", the
 * seq of each origin up to which every event is in the stream, advanced
 * only over a prefix of batches all of whose messages were acknowledged;
 * and "nats.views", the events whose persons' views were published after
 * them. A failed or timed-out publish stops sending; once every message in
 * flight has settled, publishing starts again from the acknowledged
 * position. So a restart of nomsyncd or of NATS resends at most the
 * unacknowledged window, which the duplicate window absorbs.
 *
 * Views are published in passes: when the event publisher has nothing
 * left to send (or every 5 s while it is busy), the persons of the events
 * acknowledged since the last pass have their current views read
 * (ns_store_view) and published, each once. A pass reads views after the
 * events it covers were committed, so the last message on a view subject
 * is the person's latest view.
 *
 * Inbound ([nats] consume): HMPPS domain events on the subject, read by a
 * durable pull consumer, are mapped (ns_nats_map) and appended as this
 * site (ns_store_append), then acknowledged. One that cannot be mapped, or
 * whose events fail validation or the role rule, is published to
 * <prefix>.deadletter (ns_nats_dead_letter) and acknowledged.
 *
 * Threads: ns_nats_start runs threads of its own (the publisher, one
 * helper per further CPU, at most 3, that encodes a share of each batch's
 * envelopes, and with consume the consumer) that call the store directly
 * (its calls are thread-safe); libnats runs its own threads for the
 * connection and the acknowledgements. Nothing runs on the caller's libuv
 * loop, by choice: libnats's libuv adapter moves only the socket I/O onto
 * the loop (acknowledgements and fetched messages are still delivered on
 * libnats threads), while reading events and encoding about 1 KB of JSON
 * per event is CPU work that would stall the loop's replication and HTTP
 * during a catch-up. The daemon needs no hand-off: appends by the consumer
 * reach the peers at the next tick, as appends by another process do.
 */
#ifndef NOMSYNC_NATS_H
#define NOMSYNC_NATS_H

#include <nomsync/config.h>
#include <nomsync/json.h>
#include <nomsync/status.h>
#include <nomsync/store.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Version of the envelope (its "version" field). */
#define NS_NATS_ENVELOPE_VERSION 1

/**
 * @brief The HMPPS-shaped domain event for a stored event, as compact JSON
 * text (malloc'd, NUL-terminated, caller frees; NULL when out of memory):
 *
 *   {"eventType":"nomsync.prisoner.received","version":1,
 *    "occurredAt":"...Z","publishedAt":"...Z","description":"Received into prison",
 *    "personReference":{"identifiers":[{"type":"NOMS","value":"A1234BC"}]},
 *    "additionalInformation":{...the payload as in ns_payload_to_json...},
 *    "nomsync":{"id":hex,"type":"prisoner.received","origin":hex,"site":"MDI",
 *               "role":"prison","seq":7,"prev":hex,"recordedAt":"...Z",
 *               "header":base64,"signature":base64,"payload":base64|null}}
 *
 * header is the signed header bytes: the id is their BLAKE2b-256, the
 * signature is Ed25519 by origin over them, and they hold the BLAKE2b-256
 * of the payload bytes; so a consumer can verify the event from the
 * envelope alone (tests/nats_verify.py). personReference is left out for
 * an offender ref that is neither a NOMS number nor a CRN (roster changes);
 * additionalInformation is {} and payload null for an erased payload.
 * @param[in] published_at Unix seconds for publishedAt
 * @param[out] len optional: the text's length
 */
char *ns_nats_envelope(const ns_event *ev, int64_t published_at, size_t *len);

/**
 * @brief Map one HMPPS domain event (JSON text) to the nomsync events it
 * stands for: a JSON array of event objects as ns_input_from_json takes
 * them (one, or for prisoner-offender-search.prisoner.alerts-updated one
 * per alert added or removed). The mapping table is in docs/OPERATIONS.md
 * ("NATS: inbound"). Nothing is validated beyond what the mapping needs:
 * the caller appends the events, which validates them.
 * @param[out] out new reference, NULL on failure
 * @return 0, NS_EVALID (not JSON, not an HMPPS envelope, an unknown
 *         eventType, or a field the mapping needs missing or mistyped;
 *         @p d says which) or NS_ENOMEM
 */
int ns_nats_map(const char *text, size_t len, json_t **out, ns_diag *d);

/**
 * @brief The dead letter for an inbound message (new reference):
 * {"reason":..., "subject":..., "stream_seq":n, "received_at":"...Z",
 *  "message": the original text (a string, since it may not be JSON)}.
 */
json_t *ns_nats_dead_letter(const char *reason, const char *subject, uint64_t stream_seq, const char *text,
			    size_t len, int64_t now);

typedef struct ns_nats ns_nats;

/** Log callback: @p level is an NS_LOG_* of nomsync/config.h; called from the module's threads. */
typedef void (*ns_nats_log_fn)(void *arg, int level, const char *line);

/**
 * @brief Start publishing @p s to NATS as @p c says (and consuming, with
 * consume). Returns at once: the connection is made, and the streams
 * checked or created, in the background, retried every second while no
 * server answers, so a node starts while NATS is down.
 * @return 0, NS_EINVAL (@p c not enabled), NS_ENOMEM, or NS_ENATS (the
 *         options were refused, e.g. an unreadable TLS or credentials file;
 *         @p d says why)
 */
int ns_nats_start(ns_nats **out, ns_store *s, const ns_nats_conf *c, ns_nats_log_fn log, void *arg,
		  ns_diag *d);

/** @brief The link's counters and lag (thread-safe). */
void ns_nats_status_get(ns_nats *n, ns_nats_status *out);

/**
 * @brief Make the module's threads stop using the store until
 * ns_nats_resume (waits for a store call in progress to end): for
 * ns_store_compact, which needs no other transaction open.
 */
void ns_nats_pause(ns_nats *n);
/** @brief Let the module's threads use the store again. */
void ns_nats_resume(ns_nats *n);

/**
 * @brief Stop: the threads end (messages in flight are left to the
 * duplicate window: they are resent at the next start), the connection
 * closes and @p n is freed. NULL is allowed.
 */
void ns_nats_stop(ns_nats *n);

#ifdef __cplusplus
}
#endif
#endif /* NOMSYNC_NATS_H */
