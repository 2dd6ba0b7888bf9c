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

static json_t *ns__timej(int64_t t)
{
	char s[21];
	ns_time_format(s, t);
	return json_string(s);
}

/* A growing text buffer; a failed allocation sticks (len is then meaningless, text NULL). */
typedef struct ns__text {
	char *p;
	size_t len, cap;
	int failed;
} ns__text;

static char *ns__room(ns__text *t, size_t n)
{
	if (t->failed)
		return NULL;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 1024;
		while (t->len + n + 1 > cap)
			cap *= 2;
		char *p = realloc(t->p, cap);
		if (p == NULL) {
			t->failed = 1;
			return NULL;
		}
		t->p = p;
		t->cap = cap;
	}
	return t->p + t->len;
}

static void ns__raw(ns__text *t, const char *s, size_t n)
{
	char *w = ns__room(t, n);
	if (w) {
		memcpy(w, s, n);
		t->len += n;
	}
}

static void ns__lit(ns__text *t, const char *s)
{
	ns__raw(t, s, strlen(s));
}

/* A JSON string (the values written here are codes and labels, but escape anyway). */
static void ns__str(ns__text *t, const char *s)
{
	char *w = ns__room(t, 6 * strlen(s) + 2);
	if (w == NULL)
		return;
	*w++ = '"';
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\') {
			*w++ = '\\';
			*w++ = (char)*c;
		} else if (*c < 0x20)
			w += sprintf(w, "\\u%04x", *c);
		else
			*w++ = (char)*c;
	}
	*w++ = '"';
	t->len = (size_t)(w - t->p);
}

static void ns__hexs(ns__text *t, const uint8_t *b, size_t n)
{
	char *w = ns__room(t, 2 * n + 2);
	if (w == NULL)
		return;
	w[0] = '"';
	ns_hex(w + 1, b, n);
	w[2 * n + 1] = '"';
	t->len += 2 * n + 2;
}

static void ns__b64s(ns__text *t, const uint8_t *b, size_t n)
{
	size_t enc = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *w;
	if (b == NULL) {
		ns__lit(t, "null");
		return;
	}
	if ((w = ns__room(t, enc + 2)) == NULL)
		return;
	w[0] = '"';
	sodium_bin2base64(w + 1, enc, b, n, sodium_base64_VARIANT_ORIGINAL);
	w[enc] = '"'; /* over the NUL */
	t->len += enc + 1;
}

static void ns__times(ns__text *t, int64_t when)
{
	char s[21];
	ns_time_format(s, when);
	ns__str(t, s);
}

static void ns__uint(ns__text *t, uint64_t v)
{
	char s[24];
	ns__raw(t, s, (size_t)snprintf(s, sizeof(s), "%llu", (unsigned long long)v));
}

char *ns_nats_envelope(const ns_event *ev, int64_t published_at, size_t *len)
{
	const ns_event_spec *spec = ev->type_unknown ? NULL : ns_catalogue_type(ev->type);
	const char *tname = ns_type_name(ev->type), *role = ns_role_name(ev->role);
	const char *kind = ns_is_noms(ev->offender) ? "NOMS" : ns_is_crn(ev->offender) ? "CRN" : NULL;
	char type[80];
	ns__text t = { 0 };

	if (tname)
		snprintf(type, sizeof(type), "%s", tname);
	else
		snprintf(type, sizeof(type), "type-%u", (unsigned)ev->type);
	ns__lit(&t, "{\"eventType\":\"nomsync.");
	ns__raw(&t, type, strlen(type)); /* names are [a-z._-] */
	ns__lit(&t, "\",\"version\":");
	ns__uint(&t, NS_NATS_ENVELOPE_VERSION);
	ns__lit(&t, ",\"occurredAt\":");
	ns__times(&t, ev->occurred_at);
	ns__lit(&t, ",\"publishedAt\":");
	ns__times(&t, published_at);
	ns__lit(&t, ",\"description\":");
	ns__str(&t, spec ? spec->label : type);
	if (kind) {
		ns__lit(&t, ",\"personReference\":{\"identifiers\":[{\"type\":");
		ns__str(&t, kind);
		ns__lit(&t, ",\"value\":");
		ns__str(&t, ev->offender);
		ns__lit(&t, "}]}");
	}
	ns__lit(&t, ",\"additionalInformation\":");
	json_t *info = ev->payload ? ns_payload_to_json(ev->payload) : json_object();
	char *itext = info ? json_dumps(info, JSON_COMPACT) : NULL;
	json_decref(info);
	if (itext == NULL)
		t.failed = 1;
	else
		ns__lit(&t, itext);
	free(itext);
	ns__lit(&t, ",\"nomsync\":{\"id\":");
	ns__hexs(&t, ev->id, NS_ID_BYTES);
	ns__lit(&t, ",\"type\":");
	ns__str(&t, type);
	ns__lit(&t, ",\"origin\":");
	ns__hexs(&t, ev->origin, NS_KEY_BYTES);
	ns__lit(&t, ",\"site\":");
	ns__str(&t, ev->site);
	ns__lit(&t, ",\"role\":");
	ns__str(&t, role ? role : "");
	ns__lit(&t, ",\"seq\":");
	ns__uint(&t, ev->seq);
	ns__lit(&t, ",\"prev\":");
	ns__hexs(&t, ev->prev, NS_ID_BYTES);
	ns__lit(&t, ",\"recordedAt\":");
	ns__times(&t, ev->recorded_at);
	ns__lit(&t, ",\"header\":");
	ns__b64s(&t, ev->header, ev->header_len);
	ns__lit(&t, ",\"signature\":");
	ns__b64s(&t, ev->signature, NS_SIG_BYTES);
	ns__lit(&t, ",\"payload\":");
	ns__b64s(&t, ev->payload_bytes, ev->payload_len);
	ns__lit(&t, "}}");
	if (t.failed || ns__room(&t, 0) == NULL) {
		free(t.p);
		return NULL;
	}
	t.p[t.len] = '\0';
	if (len)
		*len = t.len;
	return t.p;
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
