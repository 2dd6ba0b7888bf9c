/*
 * JSON forms of events, using jansson.
 *
 * Input: one JSON object per event, as `nomsync append` and POST /v1/events
 * take it:
 *
 *   {"type":"prisoner.received","offender":"A1234BC",
 *    "occurred_at":"2026-01-05T09:00:00Z","prison":"MDI","reason":"NEW_ADMISSION"}
 *
 * `type`, `offender` and `occurred_at` form the envelope; every other key is
 * a payload field, named exactly as in proto/event.proto. The mapping is
 * driven by the protobuf-c descriptors, so it covers every event type and
 * rejects unknown keys and wrong JSON types by field name.
 *
 * Output: the same shape for a payload, plus envelope fields for a stored
 * event (id, origin, site, role, seq, prev, recorded_at, signature status).
 */
#ifndef NOMSYNC_JSON_H
#define NOMSYNC_JSON_H

#include <jansson.h>
#include <nomsync/event.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Longest line of JSON text ns_input_parse accepts (64 KiB). */
#define NS_JSON_LINE_MAX (64 * 1024)

/** A parsed event request, before it is signed. Free with ns_input_clear. */
typedef struct ns_input {
	uint32_t type;
	char offender[NS_REF_MAX];
	int64_t occurred_at;
	Nomsync__Payload *payload; /**< owned */
	/**
	 * "" or the user id (ns_is_user_id) of the person recording the event,
	 * signed into its header. Never read from the JSON (a "recorded_by" key
	 * is an unknown field): the caller that authenticated the user sets it.
	 */
	char recorded_by[NS_USER_MAX];
} ns_input;

/**
 * @brief Parse one JSON event object (already parsed by jansson).
 * @p in is overwritten (clear a previous result first) and left zeroed on
 * failure. Payload values are converted, not validated: see
 * ns_validate_event.
 * @return 0, NS_ENOMEM, or NS_EVALID with the field and problem in @p d
 */
int ns_input_from_json(const json_t *obj, ns_input *in, ns_diag *d);

/**
 * @brief Parse one line of JSON text (at most NS_JSON_LINE_MAX bytes).
 * NS_EVALID names "json" for a syntax error, a line that is too long, or
 * text that is not an object; duplicate keys are a syntax error.
 */
int ns_input_parse(const char *text, size_t len, ns_input *in, ns_diag *d);

/** @brief Free what an ns_input owns; leaves it zeroed. */
void ns_input_clear(ns_input *in);

/**
 * @brief Storage size of one value of a protobuf-c field type: the stride
 * of a repeated field's array, for code that walks a payload's fields by
 * their descriptors (this module's JSON, the NATS envelope).
 */
size_t ns_pb_value_size(ProtobufCType type);

/**
 * @brief 1 if a walker of the payload's fields leaves the non-repeated
 * field @p f of message @p m out: a oneof member that is not the one set,
 * or an optional scalar whose has_ flag is clear (optional strings and
 * messages are told by their pointer); else 0.
 */
int ns_pb_field_skipped(const ProtobufCFieldDescriptor *f, const void *m);

/**
 * @brief Payload fields as a JSON object (new reference), keys as in the
 * schema; defaults omitted. An empty object for NULL or a payload with no
 * body; NULL on allocation failure.
 */
json_t *ns_payload_to_json(const Nomsync__Payload *p);

/**
 * @brief A stored event as JSON: id, type, offender, occurred_at,
 * recorded_at, origin (hex), site, role, seq, prev (hex), recorded_by (only
 * when the event names who recorded it), payload (object, or null if
 * erased). New reference, NULL on allocation failure.
 */
json_t *ns_event_to_json(const ns_event *ev);

/**
 * @brief The event catalogue (include/nomsync/catalogue.h) as JSON, for
 * GET /v1/catalogue and `nomsync catalogue --json`:
 *
 *   {"types":[{"type":6,"name":"prisoner.received","label":"Received into prison",
 *     "roles":["prison"],
 *     "fields":[{"field":"prison","kind":"prison","label":"prison","required":true,
 *                "repeated":false}, {"field":"reason","kind":"enum",...,"values":[...]}, ...],
 *     "checks":[{"kind":"differ","field":"to_prison","other":"from_prison"}, ...]}, ...]}
 *
 * Types in catalogue order; fields and checks in the order they are
 * checked. A rule also carries, where its kind has them, "other" (the
 * field it reads), "value", "values", "min", "max" (distinct: most elements),
 * "role", "nonempty", and for a nested message its own "fields" and "checks". New reference, NULL on
 * allocation failure.
 */
json_t *ns_catalogue_to_json(void);

#ifdef __cplusplus
}
#endif
#endif /* NOMSYNC_JSON_H */
