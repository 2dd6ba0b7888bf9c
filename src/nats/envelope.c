/*
 * Outbound messages: the HMPPS-shaped envelope of a stored event, and the
 * dead letter of an inbound message (see nomsync/nats.h).
 */
#include <nomsync/catalogue.h>
#include <nomsync/ident.h>
#include <nomsync/json.h>
#include "nats/nats_int.h"

#include <sodium.h>

#include <stdint.h>
#include <stdio.h>
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

static char *ns__room(ns__ntext *t, size_t n)
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

static void ns__raw(ns__ntext *t, const char *s, size_t n)
{
	char *w = ns__room(t, n);
	if (w) {
		memcpy(w, s, n);
		t->len += n;
	}
}

static void ns__lit(ns__ntext *t, const char *s)
{
	ns__raw(t, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at @p s (as jansson accepts it), or 0. */
static size_t ns__utf8_len(const unsigned char *s)
{
	size_t n;
	uint32_t v;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2, v = s[0] & 0x1F;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3, v = s[0] & 0x0F;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4, v = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0; /* also the NUL at the end */
		v = v << 6 | (s[i] & 0x3F);
	}
	if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	return n;
}

static int ns__utf8_valid(const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c;) {
		size_t n = ns__utf8_len(c);
		if (n == 0)
			return 0;
		c += n;
	}
	return 1;
}

/*
 * A JSON string: '"', '\' and control characters escaped, UTF-8 passed
 * through. Text that is not valid UTF-8 has each byte >= 0x80 written as
 * '?' (as ns_payload_to_json shows it).
 */
static void ns__str(ns__ntext *t, const char *s)
{
	static const char hexd[] = "0123456789abcdef";
	int ascii_only = !ns__utf8_valid(s);
	char *w = ns__room(t, 6 * strlen(s) + 2);
	if (w == NULL)
		return;
	*w++ = '"';
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\') {
			*w++ = '\\';
			*w++ = (char)*c;
		} else if (*c < 0x20) {
			memcpy(w, "\\u00", 4);
			w[4] = hexd[*c >> 4];
			w[5] = hexd[*c & 15];
			w += 6;
		} else if (*c >= 0x80 && ascii_only)
			*w++ = '?';
		else
			*w++ = (char)*c;
	}
	*w++ = '"';
	t->len = (size_t)(w - t->p);
}

static void ns__hexs(ns__ntext *t, const uint8_t *b, size_t n)
{
	char *w = ns__room(t, 2 * n + 2);
	if (w == NULL)
		return;
	w[0] = '"';
	ns_hex(w + 1, b, n);
	w[2 * n + 1] = '"';
	t->len += 2 * n + 2;
}

/* Standard base64 with padding, as a JSON string (null for NULL). */
static void ns__b64s(ns__ntext *t, const uint8_t *b, size_t n)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *w;
	size_t i = 0;

	if (b == NULL) {
		ns__lit(t, "null");
		return;
	}
	if ((w = ns__room(t, (n + 2) / 3 * 4 + 2)) == NULL)
		return;
	*w++ = '"';
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
		w[0] = abc[v >> 18];
		w[1] = abc[v >> 12 & 63];
		w[2] = abc[v >> 6 & 63];
		w[3] = abc[v & 63];
		w += 4;
	}
	if (i < n) {
		uint32_t v = (uint32_t)b[i] << 16 | (i + 1 < n ? (uint32_t)b[i + 1] << 8 : 0);
		w[0] = abc[v >> 18];
		w[1] = abc[v >> 12 & 63];
		w[2] = i + 1 < n ? abc[v >> 6 & 63] : '=';
		w[3] = '=';
		w += 4;
	}
	*w++ = '"';
	t->len = (size_t)(w - t->p);
}

static void ns__times(ns__ntext *t, int64_t when)
{
	char s[21];
	ns_time_format(s, when);
	ns__str(t, s);
}

static void ns__uint(ns__ntext *t, uint64_t v)
{
	char s[24], *e = s + sizeof(s), *c = e;
	do
		*--c = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	ns__raw(t, c, (size_t)(e - c));
}

static void ns__int(ns__ntext *t, int64_t v)
{
	if (v < 0) {
		ns__raw(t, "-", 1);
		ns__uint(t, (uint64_t)0 - (uint64_t)v);
	} else
		ns__uint(t, (uint64_t)v);
}

static void ns__real(ns__ntext *t, double v)
{
	/* As jansson writes a real: %.17g, with ".0" if it would read as an integer. */
	char s[40];
	int n = snprintf(s, sizeof(s), "%.17g", v);
	ns__raw(t, s, (size_t)n);
	if (strpbrk(s, ".eEni") == NULL)
		ns__lit(t, ".0");
}

static void ns__object(ns__ntext *t, const ProtobufCMessage *m);

/*
 * The value at @p src of field @p f (ns_payload_to_json's form); 1 if it is
 * the proto3 default (written all the same: the caller rolls back).
 */
static int ns__value(ns__ntext *t, const ProtobufCFieldDescriptor *f, const void *src)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		ns__int(t, *(const int32_t *)src);
		return *(const int32_t *)src == 0;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		ns__uint(t, *(const uint32_t *)src);
		return *(const uint32_t *)src == 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		ns__int(t, *(const int64_t *)src);
		return *(const int64_t *)src == 0;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: {
		uint64_t v = *(const uint64_t *)src;
		if (v > (uint64_t)INT64_MAX)
			ns__raw(t, "\"", 1);
		ns__uint(t, v);
		if (v > (uint64_t)INT64_MAX)
			ns__raw(t, "\"", 1);
		return v == 0;
	}
	case PROTOBUF_C_TYPE_FLOAT:
		ns__real(t, *(const float *)src);
		return *(const float *)src == 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		ns__real(t, *(const double *)src);
		return *(const double *)src == 0;
	case PROTOBUF_C_TYPE_BOOL:
		ns__lit(t, *(const protobuf_c_boolean *)src ? "true" : "false");
		return *(const protobuf_c_boolean *)src == 0;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)src);
		if (ev)
			ns__str(t, ev->name);
		else
			ns__int(t, *(const int *)src);
		return *(const int *)src == 0;
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)src;
		ns__str(t, s ? s : "");
		return s == NULL || s[0] == '\0';
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)src;
		if (sub)
			ns__object(t, sub);
		else
			ns__lit(t, "{}");
		return sub == NULL;
	}
	case PROTOBUF_C_TYPE_BYTES:
		break;
	}
	t->failed = 1;
	return 0;
}

/* The fields of @p m with non-default values, as ns_payload_to_json writes them (keys in field order). */
static void ns__object(ns__ntext *t, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *desc = m->descriptor;
	int first = 1;

	ns__raw(t, "{", 1);
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		const char *member = (const char *)m + f->offset;
		size_t mark = t->len;

		if (f->type == PROTOBUF_C_TYPE_BYTES)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)m + f->quantifier_offset), size = ns_pb_value_size(f->type);
			const char *elems = *(char *const *)member;
			if (n == 0 || elems == NULL)
				continue;
			ns__lit(t, first ? "\"" : ",\"");
			ns__lit(t, f->name); /* field names are [a-z_0-9] */
			ns__raw(t, "\":[", 3);
			for (size_t j = 0; j < n; j++) {
				if (j)
					ns__raw(t, ",", 1);
				ns__value(t, f, elems + j * size);
			}
			ns__raw(t, "]", 1);
		} else {
			if (ns_pb_field_skipped(f, m))
				continue;
			ns__lit(t, first ? "\"" : ",\"");
			ns__lit(t, f->name);
			ns__raw(t, "\":", 2);
			if (ns__value(t, f, member) && f->label == PROTOBUF_C_LABEL_NONE) {
				if (!t->failed)
					t->len = mark; /* a default: left out */
				continue;
			}
		}
		first = 0;
	}
	ns__raw(t, "}", 1);
}

/* The payload as ns_payload_to_json makes it ({} when there is none or its type is not known). */
static void ns__payload(ns__ntext *t, const Nomsync__Payload *p)
{
	const ProtobufCFieldDescriptor *bf;
	const ProtobufCMessage *body = NULL;

	if (p != NULL && ns_catalogue_type((uint32_t)p->body_case) != NULL &&
	    (bf = ns_catalogue_body((uint32_t)p->body_case)) != NULL)
		memcpy(&body, (const char *)p + bf->offset, sizeof(body));
	if (body)
		ns__object(t, body);
	else
		ns__lit(t, "{}");
}

int ns__nats_envelope_to(ns__ntext *t, const ns_event *ev, int64_t published_at)
{
	const ns_event_spec *spec = ev->type_unknown ? NULL : ns_catalogue_type(ev->type);
	const char *tname = ns_type_name(ev->type), *role = ns_role_name(ev->role);
	const char *kind = ns_is_noms(ev->offender) ? "NOMS" : ns_is_crn(ev->offender) ? "CRN" : NULL;
	char type[80];

	t->len = 0;
	t->failed = 0;
	if (tname)
		snprintf(type, sizeof(type), "%s", tname);
	else
		snprintf(type, sizeof(type), "type-%u", (unsigned)ev->type);
	ns__lit(t, "{\"eventType\":\"nomsync.");
	ns__raw(t, type, strlen(type)); /* names are [a-z._-] */
	ns__lit(t, "\",\"version\":");
	ns__uint(t, NS_NATS_ENVELOPE_VERSION);
	ns__lit(t, ",\"occurredAt\":");
	ns__times(t, ev->occurred_at);
	ns__lit(t, ",\"publishedAt\":");
	ns__times(t, published_at);
	ns__lit(t, ",\"description\":");
	ns__str(t, spec ? spec->label : type);
	if (kind) {
		ns__lit(t, ",\"personReference\":{\"identifiers\":[{\"type\":");
		ns__str(t, kind);
		ns__lit(t, ",\"value\":");
		ns__str(t, ev->offender);
		ns__lit(t, "}]}");
	}
	ns__lit(t, ",\"additionalInformation\":");
	ns__payload(t, ev->payload);
	ns__lit(t, ",\"nomsync\":{\"id\":");
	ns__hexs(t, ev->id, NS_ID_BYTES);
	ns__lit(t, ",\"type\":");
	ns__str(t, type);
	ns__lit(t, ",\"origin\":");
	ns__hexs(t, ev->origin, NS_KEY_BYTES);
	ns__lit(t, ",\"site\":");
	ns__str(t, ev->site);
	ns__lit(t, ",\"role\":");
	ns__str(t, role ? role : "");
	ns__lit(t, ",\"seq\":");
	ns__uint(t, ev->seq);
	ns__lit(t, ",\"prev\":");
	ns__hexs(t, ev->prev, NS_ID_BYTES);
	ns__lit(t, ",\"recordedAt\":");
	ns__times(t, ev->recorded_at);
	ns__lit(t, ",\"header\":");
	ns__b64s(t, ev->header, ev->header_len);
	ns__lit(t, ",\"signature\":");
	ns__b64s(t, ev->signature, NS_SIG_BYTES);
	ns__lit(t, ",\"payload\":");
	ns__b64s(t, ev->payload_bytes, ev->payload_len);
	ns__lit(t, "}}");
	if (t->failed || ns__room(t, 0) == NULL)
		return NS_ENOMEM;
	t->p[t->len] = '\0';
	return 0;
}

char *ns_nats_envelope(const ns_event *ev, int64_t published_at, size_t *len)
{
	ns__ntext t = { 0 };

	if (ns__nats_envelope_to(&t, ev, published_at) != 0) {
		free(t.p);
		return NULL;
	}
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
