/*
 * Outbound messages: the HMPPS-shaped envelope of a stored event, and the
 * dead letter of an inbound message (see nomsync/nats.h).
 */
#include <nomsync/catalogue.h>
#include <nomsync/ident.h>
#include <nomsync/nats.h>

#include <sodium.h>

#include <stdlib.h>
#include <string.h>

/* @p len bytes as standard base64 (new JSON string; JSON null for NULL). */
static json_t *ns__b64(const uint8_t *buf, size_t len)
{
	if (buf == NULL)
		return json_null();
	size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *out = malloc(cap);
	if (out == NULL)
		return NULL;
	sodium_bin2base64(out, cap, buf, len, sodium_base64_VARIANT_ORIGINAL);
	json_t *j = json_string(out);
	free(out);
	return j;
}

static json_t *ns__hexj(const uint8_t *buf, size_t len)
{
	char hex[2 * 64 + 1];
	ns_hex(hex, buf, len);
	return json_string(hex);
}

static json_t *ns__timej(int64_t t)
{
	char s[21];
	ns_time_format(s, t);
	return json_string(s);
}

json_t *ns_nats_envelope(const ns_event *ev, int64_t published_at)
{
	const ns_event_spec *spec = ev->type_unknown ? NULL : ns_catalogue_type(ev->type);
	const char *tname = ns_type_name(ev->type);
	char etype[96];
	json_t *env, *nb, *info;

	if (tname)
		snprintf(etype, sizeof(etype), "nomsync.%s", tname);
	else
		snprintf(etype, sizeof(etype), "nomsync.type-%u", (unsigned)ev->type);
	info = ev->payload ? ns_payload_to_json(ev->payload) : json_object();
	nb = json_pack("{s:o,s:s,s:o,s:s,s:s,s:I,s:o,s:o,s:o,s:o,s:o}", "id", ns__hexj(ev->id, NS_ID_BYTES), "type",
		       etype + 8, "origin", ns__hexj(ev->origin, NS_KEY_BYTES), "site", ev->site, "role",
		       ns_role_name(ev->role) ? ns_role_name(ev->role) : "", "seq", (json_int_t)ev->seq, "prev",
		       ns__hexj(ev->prev, NS_ID_BYTES), "recordedAt", ns__timej(ev->recorded_at), "header",
		       ns__b64(ev->header, ev->header_len), "signature", ns__b64(ev->signature, NS_SIG_BYTES),
		       "payload", ns__b64(ev->payload_bytes, ev->payload_len));
	env = json_pack("{s:s,s:i,s:o,s:o,s:s,s:o,s:o}", "eventType", etype, "version", NS_NATS_ENVELOPE_VERSION,
			"occurredAt", ns__timej(ev->occurred_at), "publishedAt", ns__timej(published_at),
			"description", spec ? spec->label : etype + 8, "additionalInformation", info, "nomsync", nb);
	if (env == NULL)
		return NULL;
	const char *kind = ns_is_noms(ev->offender) ? "NOMS" : ns_is_crn(ev->offender) ? "CRN" : NULL;
	if (kind &&
	    json_object_set_new(env, "personReference",
				json_pack("{s:[{s:s,s:s}]}", "identifiers", "type", kind, "value", ev->offender)) != 0) {
		json_decref(env);
		return NULL;
	}
	return env;
}

json_t *ns_nats_dead_letter(const char *reason, const char *subject, uint64_t stream_seq, const char *text,
			    size_t len, int64_t now)
{
	/* Bytes that are not UTF-8 are kept as base64. */
	json_t *utf8 = json_stringn(text ? text : "", text ? len : 0);
	json_t *msg = utf8 ? utf8 : ns__b64((const uint8_t *)text, len);
	return json_pack("{s:s,s:s,s:I,s:o,s:o,s:b}", "reason", reason, "subject", subject ? subject : "",
			 "stream_seq", (json_int_t)stream_seq, "received_at", ns__timej(now), "message", msg,
			 "message_base64", utf8 == NULL);
}
