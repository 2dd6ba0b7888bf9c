/*
 * The nats module's pure parts: the outbound envelope, the inbound mapping
 * of each HMPPS domain event it knows (checked against the catalogue's
 * rules) and its refusals, and the dead letter. The publishing and
 * consuming threads are tested against a real nats-server by e2e/nats.sh.
 */
#include "fixtures.h"
#include "test.h"

#include <nomsync/catalogue.h>
#include <nomsync/nats.h>
#include <nomsync/validate.h>

#include <sodium.h>

#include <stdlib.h>
#include <string.h>

/* The envelope of @p ev, parsed (it must be valid JSON). */
static json_t *envelope(const ns_event *ev, int64_t published_at)
{
	size_t len = 0;
	char *text = ns_nats_envelope(ev, published_at, &len);
	json_t *j = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
	CHECK(text != NULL && strlen(text) == len);
	CHECK(json_is_object(j));
	free(text);
	return j;
}

static void test_envelope(void)
{
	ns_identity id;
	ns_event *ev = NULL;
	uint8_t prev[NS_ID_BYTES] = { 0 }, bytes[4096];
	char hex[2 * NS_KEY_BYTES + 1];
	Nomsync__Payload *p = ns_test_received("MDI");
	size_t len;

	CHECK_INT(ns_crypto_init(), 0);
	CHECK_INT(ns_identity_generate(&id, "MDI", NS_ROLE_PRISON), 0);
	CHECK_INT(ns_event_build(&id, 3, prev, 1767603600, 1767603660, "A1234BC", p, &ev), 0);
	json_t *env = envelope(ev, 1767603700);
	CHECK(env != NULL);
	CHECK_STR(json_string_value(json_object_get(env, "eventType")), "nomsync.prisoner.received");
	CHECK_INT(json_integer_value(json_object_get(env, "version")), 1);
	CHECK_STR(json_string_value(json_object_get(env, "occurredAt")), "2026-01-05T09:00:00Z");
	CHECK_STR(json_string_value(json_object_get(env, "publishedAt")), "2026-01-05T09:01:40Z");
	CHECK_STR(json_string_value(json_object_get(env, "description")), "Received into prison");
	json_t *ident = json_array_get(json_object_get(json_object_get(env, "personReference"), "identifiers"), 0);
	CHECK_STR(json_string_value(json_object_get(ident, "type")), "NOMS");
	CHECK_STR(json_string_value(json_object_get(ident, "value")), "A1234BC");
	json_t *info = json_object_get(env, "additionalInformation");
	CHECK_STR(json_string_value(json_object_get(info, "prison")), "MDI");
	CHECK_STR(json_string_value(json_object_get(info, "reason")), "NEW_ADMISSION");
	json_t *nb = json_object_get(env, "nomsync");
	ns_hex(hex, ev->id, NS_ID_BYTES);
	CHECK_STR(json_string_value(json_object_get(nb, "id")), hex);
	ns_hex(hex, id.pk, NS_KEY_BYTES);
	CHECK_STR(json_string_value(json_object_get(nb, "origin")), hex);
	CHECK_STR(json_string_value(json_object_get(nb, "site")), "MDI");
	CHECK_STR(json_string_value(json_object_get(nb, "role")), "prison");
	CHECK_STR(json_string_value(json_object_get(nb, "type")), "prisoner.received");
	CHECK_INT(json_integer_value(json_object_get(nb, "seq")), 3);
	/* The header and signature carried verify on their own. */
	const char *h64 = json_string_value(json_object_get(nb, "header"));
	const char *s64 = json_string_value(json_object_get(nb, "signature"));
	uint8_t sig[NS_SIG_BYTES];
	size_t slen;
	CHECK(h64 && sodium_base642bin(bytes, sizeof(bytes), h64, strlen(h64), NULL, &len, NULL,
				       sodium_base64_VARIANT_ORIGINAL) == 0);
	CHECK_INT(len, ev->header_len);
	CHECK(memcmp(bytes, ev->header, len) == 0);
	CHECK(s64 && sodium_base642bin(sig, sizeof(sig), s64, strlen(s64), NULL, &slen, NULL,
				       sodium_base64_VARIANT_ORIGINAL) == 0 && slen == NS_SIG_BYTES);
	CHECK_INT(crypto_sign_verify_detached(sig, bytes, len, id.pk), 0);
	bytes[len / 2] ^= 1;
	CHECK(crypto_sign_verify_detached(sig, bytes, len, id.pk) != 0);
	CHECK(json_is_string(json_object_get(nb, "payload")));
	json_decref(env);
	ns_event_free(ev);

	/* A CRN is a CRN; a roster change has no personReference. */
	CHECK_INT(ns_event_build(&id, 4, prev, 1767603600, 1767603660, "X123456", p, &ev), 0);
	env = envelope(ev, 0);
	ident = json_array_get(json_object_get(json_object_get(env, "personReference"), "identifiers"), 0);
	CHECK_STR(json_string_value(json_object_get(ident, "type")), "CRN");
	json_decref(env);
	ns_event_free(ev);
	CHECK_INT(ns_event_build(&id, 5, prev, 1767603600, 1767603660, NS_ROSTER_REF, p, &ev), 0);
	env = envelope(ev, 0);
	CHECK(json_object_get(env, "personReference") == NULL);
	json_decref(env);
	ns_event_free(ev);
	nomsync__payload__free_unpacked(p, NULL);
	ns_identity_wipe(&id);
}

/* ---- the envelope against the jansson-built reference ------------------------------------------- */

static uint64_t rnd_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* A string mixing ASCII, what JSON escapes, UTF-8, and (sometimes) bytes that are not UTF-8. */
static char *rnd_string(void)
{
	static const char *const bits[] = { "a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\x01", "\x1f",
					    "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xe2\x80\xa8",
					    "MDI", "A1234BC", "{}", "u0000" };
	static const char *const bad[] = { "\xff", "\x80", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82" };
	size_t n = rnd() % 12;
	char *s = calloc(1, 8 * n + 8);
	for (size_t i = 0; i < n; i++)
		strcat(s, bits[rnd() % (sizeof(bits) / sizeof(bits[0]))]);
	if (rnd() % 8 == 0)
		strcat(s, bad[rnd() % (sizeof(bad) / sizeof(bad[0]))]);
	return s;
}

static ProtobufCMessage *rnd_message(const ProtobufCMessageDescriptor *desc, int depth);

/* A random value of field @p f at @p dst (defaults often, so that leaving them out is exercised). */
static void rnd_value(const ProtobufCFieldDescriptor *f, void *dst, int depth)
{
	int zero = rnd() % 4 == 0;
	uint64_t r = zero ? 0 : rnd() % 3 == 0 ? rnd() : rnd() % 1000;
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		*(uint32_t *)dst = (uint32_t)r;
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		*(uint64_t *)dst = r;
		break;
	case PROTOBUF_C_TYPE_BOOL:
		*(protobuf_c_boolean *)dst = (protobuf_c_boolean)(r & 1);
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumDescriptor *ed = f->descriptor;
		*(int *)dst = zero ? 0 : rnd() % 10 == 0 ? 999 : ed->values[rnd() % ed->n_values].value;
		break;
	}
	case PROTOBUF_C_TYPE_STRING:
		*(char **)dst = zero ? NULL : rnd_string();
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		*(ProtobufCMessage **)dst = zero || depth > 3 ? NULL : rnd_message(f->descriptor, depth + 1);
		break;
	default:
		break; /* float, double and bytes: none in the schema */
	}
}

static size_t rnd_elsize(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	default:
		return 4;
	}
}

/* A message of @p desc with random fields: repeated ones 0-3 long, one member of each oneof at most. */
static ProtobufCMessage *rnd_message(const ProtobufCMessageDescriptor *desc, int depth)
{
	ProtobufCMessage *m = calloc(1, desc->sizeof_message);
	protobuf_c_message_init(desc, m);
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		char *member = (char *)m + f->offset, *q = (char *)m + f->quantifier_offset;
		if (f->type == PROTOBUF_C_TYPE_BYTES || f->type == PROTOBUF_C_TYPE_FLOAT ||
		    f->type == PROTOBUF_C_TYPE_DOUBLE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = rnd() % 4, size = rnd_elsize(f->type);
			char *elems = n ? calloc(n, size) : NULL;
			for (size_t j = 0; j < n; j++) {
				rnd_value(f, elems + j * size, depth);
				if (f->type == PROTOBUF_C_TYPE_MESSAGE && *(void **)(elems + j * size) == NULL)
					*(void **)(elems + j * size) = rnd_message(f->descriptor, depth + 1);
				if (f->type == PROTOBUF_C_TYPE_STRING && *(char **)(elems + j * size) == NULL)
					*(char **)(elems + j * size) = rnd_string();
			}
			*(size_t *)q = n;
			*(char **)member = elems;
		} else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (*(uint32_t *)q != 0 || rnd() % 2)
				continue;
			*(uint32_t *)q = f->id;
			rnd_value(f, member, depth);
		} else {
			if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
			    f->type != PROTOBUF_C_TYPE_MESSAGE)
				*(protobuf_c_boolean *)q = (protobuf_c_boolean)(rnd() & 1);
			rnd_value(f, member, depth);
		}
	}
	return m;
}

static json_t *ref_time(int64_t t)
{
	char s[21];
	ns_time_format(s, t);
	return json_string(s);
}

static json_t *ref_hex(const uint8_t *b, size_t n)
{
	char hex[2 * 64 + 1];
	ns_hex(hex, b, n);
	return json_string(hex);
}

static json_t *ref_b64(const uint8_t *b, size_t n)
{
	char out[8192];
	if (b == NULL)
		return json_null();
	sodium_bin2base64(out, sizeof(out), b, n, sodium_base64_VARIANT_ORIGINAL);
	return json_string(out);
}

/* The envelope as the jansson implementation built it: the reference the text writer must equal. */
static json_t *ref_envelope(const ns_event *ev, int64_t published_at)
{
	const ns_event_spec *spec = ns_catalogue_type(ev->type);
	const char *tname = ns_type_name(ev->type);
	const char *kind = ns_is_noms(ev->offender) ? "NOMS" : ns_is_crn(ev->offender) ? "CRN" : NULL;
	char et[96];
	snprintf(et, sizeof(et), "nomsync.%s", tname);
	json_t *env = json_pack("{s:s,s:i,s:o,s:o,s:s}", "eventType", et, "version", NS_NATS_ENVELOPE_VERSION,
				"occurredAt", ref_time(ev->occurred_at), "publishedAt", ref_time(published_at),
				"description", spec->label);
	if (kind)
		json_object_set_new(env, "personReference",
				    json_pack("{s:[{s:s,s:s}]}", "identifiers", "type", kind, "value", ev->offender));
	json_object_set_new(env, "additionalInformation", ev->payload ? ns_payload_to_json(ev->payload) : json_object());
	json_object_set_new(env, "nomsync",
			    json_pack("{s:o,s:s,s:o,s:s,s:s,s:I,s:o,s:o,s:o,s:o,s:o}", "id", ref_hex(ev->id, NS_ID_BYTES),
				      "type", tname, "origin", ref_hex(ev->origin, NS_KEY_BYTES), "site", ev->site, "role",
				      ns_role_name(ev->role), "seq", (json_int_t)ev->seq, "prev",
				      ref_hex(ev->prev, NS_ID_BYTES), "recordedAt", ref_time(ev->recorded_at), "header",
				      ref_b64(ev->header, ev->header_len), "signature", ref_b64(ev->signature, NS_SIG_BYTES),
				      "payload", ref_b64(ev->payload_bytes, ev->payload_len)));
	return env;
}

/*
 * 200 events of every catalogue type with random payloads (strings with
 * escapes, control characters, UTF-8 and bytes that are not UTF-8, enum
 * values known and not, 64-bit values, nested and repeated messages,
 * defaults): the envelope written as text, parsed, equals the reference.
 */
static void test_envelope_reference(void)
{
	static const char *const refs[] = { "A1234BC", "X123456", NS_ROSTER_REF };
	ns_identity id;
	uint8_t prev[NS_ID_BYTES] = { 7 };
	size_t checked = 0, mismatched = 0;

	CHECK_INT(ns_crypto_init(), 0);
	CHECK_INT(ns_identity_generate(&id, "MDI", NS_ROLE_PRISON), 0);
	for (size_t i = 0; i < ns_catalogue_count(); i++) {
		const ns_event_spec *spec = ns_catalogue_at(i);
		const ProtobufCFieldDescriptor *bf = ns_catalogue_body(spec->type);
		if (ns_catalogue_type(spec->type) == NULL || bf == NULL)
			continue;
		for (int k = 0; k < 200; k++) {
			Nomsync__Payload p = NOMSYNC__PAYLOAD__INIT;
			ProtobufCMessage *body = rnd_message(bf->descriptor, 0);
			ns_event *ev = NULL;
			p.body_case = (Nomsync__Payload__BodyCase)spec->type;
			memcpy((char *)&p + bf->offset, &body, sizeof(body));
			int64_t at = (int64_t)(rnd() % 4000000000u) - 1000000000;
			CHECK_INT(ns_event_build(&id, 1 + rnd() % 100000, prev, at, at + 60, refs[k % 3], &p, &ev), 0);
			if (ev == NULL) {
				protobuf_c_message_free_unpacked(body, NULL);
				continue;
			}
			json_t *got = envelope(ev, at + 120), *want = ref_envelope(ev, at + 120);
			if (!json_equal(got, want)) {
				if (mismatched++ < 3) {
					char *g = json_dumps(got, JSON_COMPACT), *w = json_dumps(want, JSON_COMPACT);
					fprintf(stderr, "%s:\n got  %s\n want %s\n", spec->name, g, w);
					free(g);
					free(w);
				}
			}
			checked++;
			json_decref(got);
			json_decref(want);
			ns_event_free(ev);
			protobuf_c_message_free_unpacked(body, NULL);
		}
	}
	CHECK(checked >= 200 * 20);
	CHECK_INT(mismatched, 0);
	ns_identity_wipe(&id);
}

/*
 * Map @p msg; expect @p want (JSON array text) exactly, and every event to
 * pass the catalogue's rules for @p role.
 */
static void expect_map(const char *msg, const char *want, ns_role role, int line)
{
	json_t *out = NULL, *w = json_loads(want, 0, NULL), *e;
	ns_diag d;
	size_t i;
	int rc = ns_nats_map(msg, strlen(msg), &out, &d);

	if (rc != 0 || w == NULL || !json_equal(out, w)) {
		char *got = out ? json_dumps(out, JSON_SORT_KEYS) : NULL;
		fprintf(stderr, "test_nats.c:%d: mapped %d (%s) to %s\n", line, rc, rc ? d.msg : "", got ? got : "-");
		free(got);
		ns_test_failed_checks++;
	}
	json_array_foreach(out, i, e)
	{
		ns_input in;
		memset(&in, 0, sizeof(in));
		int vrc = ns_input_from_json(e, &in, &d);
		if (vrc == 0)
			vrc = ns_validate_event(role, in.offender, in.type, in.payload, &d);
		if (vrc != 0) {
			fprintf(stderr, "test_nats.c:%d: mapped event %zu is refused: %s\n", line, i, d.msg);
			ns_test_failed_checks++;
		}
		ns_input_clear(&in);
	}
	json_decref(out);
	json_decref(w);
}
#define EXPECT_MAP(msg, want, role) expect_map(msg, want, role, __LINE__)

/* The envelope around @p type, @p refs (personReference identifiers) and @p info. */
static char *hmpps(const char *type, const char *refs, const char *info)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf),
		 "{\"eventType\":\"%s\",\"version\":1,\"occurredAt\":\"2026-01-05T09:00:00Z\","
		 "\"publishedAt\":\"2026-01-05T09:45:00Z\",\"description\":\"x\","
		 "\"personReference\":{\"identifiers\":[%s]},\"additionalInformation\":%s}",
		 type, refs, info);
	return buf;
}

#define NOMS "{\"type\":\"NOMS\",\"value\":\"A1234BC\"}"
#define CRN "{\"type\":\"CRN\",\"value\":\"X123456\"}"
#define ENV_HEAD "\"offender\":\"A1234BC\",\"occurred_at\":\"2026-01-05T09:00:00Z\""
#define ENV_CRN "\"offender\":\"X123456\",\"occurred_at\":\"2026-01-05T09:00:00Z\""

static void test_map_prison(void)
{
	EXPECT_MAP(hmpps("prison-offender-events.prisoner.received", NOMS,
			 "{\"nomsNumber\":\"A1234BC\",\"prisonId\":\"MDI\",\"reason\":\"ADMISSION\","
			 "\"currentLocation\":\"IN_PRISON\",\"currentPrisonStatus\":\"UNDER_PRISON_CARE\","
			 "\"nomisMovementReasonCode\":\"24\",\"details\":\"ACTIVE IN:ADM-24\"}"),
		   "[{\"type\":\"prisoner.received\"," ENV_HEAD ",\"prison\":\"MDI\",\"reason\":\"NEW_ADMISSION\","
		   "\"movement_reason_code\":\"24\"}]",
		   NS_ROLE_PRISON);
	/* Admission on a recall movement reason (L: licence revoked). */
	EXPECT_MAP(hmpps("prison-offender-events.prisoner.received", NOMS,
			 "{\"nomsNumber\":\"A1234BC\",\"prisonId\":\"LEI\",\"reason\":\"ADMISSION\",\"nomisMovementReasonCode\":\"L\"}"),
		   "[{\"type\":\"prisoner.received\"," ENV_HEAD ",\"prison\":\"LEI\",\"reason\":\"RECALL\","
		   "\"movement_reason_code\":\"L\"}]",
		   NS_ROLE_PRISON);
	/* A transfer arrives as a receive with reason TRANSFERRED. */
	EXPECT_MAP(hmpps("prison-offender-events.prisoner.received", NOMS,
			 "{\"nomsNumber\":\"A1234BC\",\"prisonId\":\"LEI\",\"reason\":\"TRANSFERRED\",\"nomisMovementReasonCode\":\"INT\"}"),
		   "[{\"type\":\"prisoner.received\"," ENV_HEAD ",\"prison\":\"LEI\",\"reason\":\"TRANSFERRED\","
		   "\"movement_reason_code\":\"INT\"}]",
		   NS_ROLE_PRISON);
	EXPECT_MAP(hmpps("prison-offender-events.prisoner.released", NOMS,
			 "{\"nomsNumber\":\"A1234BC\",\"prisonId\":\"MDI\",\"reason\":\"RELEASED\",\"nomisMovementReasonCode\":\"CR\"}"),
		   "[{\"type\":\"prisoner.released\"," ENV_HEAD ",\"prison\":\"MDI\",\"reason\":\"RELEASED\","
		   "\"movement_reason_code\":\"CR\"}]",
		   NS_ROLE_PRISON);
	EXPECT_MAP(hmpps("prisoner-offender-search.prisoner.received", NOMS,
			 "{\"nomsNumber\":\"A1234BC\",\"prisonId\":\"MDI\",\"reason\":\"READMISSION_SWITCH_BOOKING\"}"),
		   "[{\"type\":\"prisoner.received\"," ENV_HEAD ",\"prison\":\"MDI\",\"reason\":\"READMISSION\"}]",
		   NS_ROLE_PRISON);
	EXPECT_MAP(hmpps("prisoner-offender-search.prisoner.released", NOMS,
			 "{\"nomsNumber\":\"A1234BC\",\"prisonId\":\"MDI\",\"reason\":\"SENT_TO_COURT\"}"),
		   "[{\"type\":\"prisoner.released\"," ENV_HEAD ",\"prison\":\"MDI\",\"reason\":\"SENT_TO_COURT\"}]",
		   NS_ROLE_PRISON);
	EXPECT_MAP(hmpps("prisoner-offender-search.prisoner.alerts-updated", NOMS,
			 "{\"nomsNumber\":\"A1234BC\",\"bookingId\":1205032,\"alertsAdded\":[\"HA\",\"XSA\"],"
			 "\"alertsRemoved\":[\"VU\"]}"),
		   "[{\"type\":\"alert.raised\"," ENV_HEAD ",\"alert_code\":\"HA\",\"alert_type\":\"H\",\"from_date\":\"2026-01-05\"},"
		   "{\"type\":\"alert.raised\"," ENV_HEAD ",\"alert_code\":\"XSA\",\"alert_type\":\"X\",\"from_date\":\"2026-01-05\"},"
		   "{\"type\":\"alert.closed\"," ENV_HEAD ",\"alert_code\":\"VU\",\"to_date\":\"2026-01-05\"}]",
		   NS_ROLE_PRISON);
	EXPECT_MAP(hmpps("person.alert.created", NOMS, "{\"alertUuid\":\"u\",\"alertCode\":\"HA\",\"source\":\"DPS\"}"),
		   "[{\"type\":\"alert.raised\"," ENV_HEAD ",\"alert_code\":\"HA\",\"alert_type\":\"H\",\"from_date\":\"2026-01-05\"}]",
		   NS_ROLE_PRISON);
	EXPECT_MAP(hmpps("person.alert.inactive", NOMS, "{\"alertCode\":\"HA\"}"),
		   "[{\"type\":\"alert.closed\"," ENV_HEAD ",\"alert_code\":\"HA\",\"to_date\":\"2026-01-05\"}]",
		   NS_ROLE_PRISON);
	EXPECT_MAP(hmpps("offender-management.pom.allocated", NOMS,
			 "{\"prisonId\":\"MDI\",\"staffCode\":485926,\"staffName\":\"Pat Smith\"}"),
		   "[{\"type\":\"manager.pom.allocated\"," ENV_HEAD ",\"prison\":\"MDI\",\"staff\":\"485926\","
		   "\"name\":\"Pat Smith\"}]",
		   NS_ROLE_PRISON);
	EXPECT_MAP(hmpps("prison-offender-events.prisoner.merged", NOMS,
			 "{\"nomsNumber\":\"A1234BC\",\"removedNomsNumber\":\"A5678DE\",\"bookingId\":\"1\",\"reason\":\"MERGE\"}"),
		   "[{\"type\":\"person.merged\"," ENV_HEAD ",\"identifier_type\":\"NOMS\",\"survivor\":\"A1234BC\","
		   "\"removed\":\"A5678DE\"}]",
		   NS_ROLE_HUB);
}

static void test_map_probation(void)
{
	EXPECT_MAP(hmpps("probation-case.prison-identifier.added", CRN "," NOMS, "{\"bookingNumber\":\"51132A\"}"),
		   "[{\"type\":\"person.identifier.added\"," ENV_CRN ",\"identifier_type\":\"NOMS\",\"value\":\"A1234BC\","
		   "\"book_number\":\"51132A\"}]",
		   NS_ROLE_PROBATION);
	EXPECT_MAP(hmpps("probation-case.registration.added", CRN,
			 "{\"registerTypeCode\":\"RHRH\",\"registrationId\":\"7\",\"registrationDate\":\"2026-01-04T00:00:00Z\"}"),
		   "[{\"type\":\"registration.added\"," ENV_CRN ",\"register_type\":\"RHRH\",\"registration_date\":\"2026-01-04\"}]",
		   NS_ROLE_PROBATION);
	EXPECT_MAP(hmpps("probation-case.registration.deregistered", CRN, "{\"registerTypeCode\":\"RHRH\"}"),
		   "[{\"type\":\"registration.removed\"," ENV_CRN ",\"register_type\":\"RHRH\",\"removal_date\":\"2026-01-05\"}]",
		   NS_ROLE_PROBATION);
	EXPECT_MAP(hmpps("probation-case.registration.deleted", CRN, "{\"registerTypeCode\":\"RMRH\"}"),
		   "[{\"type\":\"registration.removed\"," ENV_CRN ",\"register_type\":\"RMRH\",\"removal_date\":\"2026-01-05\"}]",
		   NS_ROLE_PROBATION);
	EXPECT_MAP(hmpps("person.community.manager.allocated", CRN,
			 "{\"allocationId\":\"9\",\"probationAreaCode\":\"N07\",\"staffCode\":\"N07A123\"}"),
		   "[{\"type\":\"manager.com.allocated\"," ENV_CRN ",\"region\":\"N07\",\"staff\":\"N07A123\"}]",
		   NS_ROLE_PROBATION);
	EXPECT_MAP(hmpps("create-and-vary-a-licence.licence.activated", CRN "," NOMS,
			 "{\"licenceId\":90,\"licenceType\":\"AP\",\"licenceExpiryDate\":\"2027-01-05\",\"conditions\":[\"Curfew\"]}"),
		   "[{\"type\":\"licence.activated\"," ENV_CRN ",\"licence_id\":\"90\",\"licence_type\":\"AP\","
		   "\"start_date\":\"2026-01-05\",\"expiry_date\":\"2027-01-05\",\"conditions\":[\"Curfew\"]}]",
		   NS_ROLE_PROBATION);
	EXPECT_MAP(hmpps("probation-case.merge.completed", CRN, "{\"sourceCRN\":\"X654321\",\"targetCRN\":\"X123456\"}"),
		   "[{\"type\":\"person.merged\"," ENV_CRN ",\"identifier_type\":\"CRN\",\"survivor\":\"X123456\","
		   "\"removed\":\"X654321\"}]",
		   NS_ROLE_HUB);
	EXPECT_MAP(hmpps("probation-case.unmerge.completed", CRN,
			 "{\"reactivatedCRN\":\"X654321\",\"unmergedCRN\":\"X123456\"}"),
		   "[{\"type\":\"person.unmerged\"," ENV_CRN ",\"identifier_type\":\"CRN\",\"survivor\":\"X123456\","
		   "\"removed\":\"X654321\"}]",
		   NS_ROLE_HUB);
}

/* ns_nats_map refuses with NS_EVALID and a message containing @p what. */
static void expect_refused(const char *msg, const char *what, int line)
{
	json_t *out = (json_t *)1;
	ns_diag d;
	int rc = ns_nats_map(msg, strlen(msg), &out, &d);
	if (rc != NS_EVALID || out != NULL || strstr(d.msg, what) == NULL) {
		fprintf(stderr, "test_nats.c:%d: rc %d, msg \"%s\"; want NS_EVALID, \"%s\"\n", line, rc, d.msg, what);
		ns_test_failed_checks++;
	}
}
#define EXPECT_REFUSED(msg, what) expect_refused(msg, what, __LINE__)

static void test_map_refused(void)
{
	EXPECT_REFUSED("{\"eventType\":", "not JSON");
	EXPECT_REFUSED("[1,2]", "not a JSON object");
	EXPECT_REFUSED("{\"version\":1,\"occurredAt\":\"2026-01-05T09:00:00Z\"}", "eventType is missing");
	EXPECT_REFUSED(hmpps("prisoner-offender-search.prisoner.updated", NOMS, "{}"),
		       "eventType prisoner-offender-search.prisoner.updated is not one nomsync maps");
	EXPECT_REFUSED("{\"eventType\":\"person.alert.created\",\"version\":1}", "occurredAt is missing");
	EXPECT_REFUSED("{\"eventType\":\"person.alert.created\",\"occurredAt\":\"2026-01-05T09:00:00Z\"}",
		       "version is missing");
	EXPECT_REFUSED(hmpps("prison-offender-events.prisoner.received", NOMS, "{\"prisonId\":\"MDI\"}"),
		       "additionalInformation.reason is missing");
	EXPECT_REFUSED(hmpps("prison-offender-events.prisoner.received", NOMS, "{\"prisonId\":[],\"reason\":\"ADMISSION\"}"),
		       "additionalInformation.prisonId is not a non-empty string");
	EXPECT_REFUSED(hmpps("prison-offender-events.prisoner.received", NOMS, "[]"), "additionalInformation is not an object");
	EXPECT_REFUSED(hmpps("probation-case.registration.added", NOMS, "{\"registerTypeCode\":\"RHRH\"}"),
		       "no CRN identifier in personReference");
	EXPECT_REFUSED(hmpps("person.alert.created", "{\"type\":\"NOMS\"}", "{\"alertCode\":\"HA\"}"),
		       "identifiers[0] lacks a string type or value");
	EXPECT_REFUSED(hmpps("prisoner-offender-search.prisoner.alerts-updated", NOMS,
			     "{\"nomsNumber\":\"A1234BC\",\"alertsAdded\":[],\"alertsRemoved\":[]}"),
		       "no alert was added or removed");
	EXPECT_REFUSED(hmpps("prisoner-offender-search.prisoner.alerts-updated", NOMS,
			     "{\"nomsNumber\":\"A1234BC\",\"alertsAdded\":[7]}"),
		       "alertsAdded[0] is not an alert code");
	EXPECT_REFUSED(hmpps("create-and-vary-a-licence.licence.activated", CRN,
			     "{\"licenceId\":1,\"licenceType\":\"AP\",\"conditions\":\"none\"}"),
		       "conditions is not an array");
	/* Mapped but invalid: the append's validation refuses it (the consumer dead-letters it). */
	json_t *out = NULL;
	ns_diag d;
	ns_input in;
	const char *m = hmpps("prison-offender-events.prisoner.released", NOMS,
			      "{\"nomsNumber\":\"A1234BC\",\"prisonId\":\"MDI\",\"reason\":\"UNKNOWN\"}");
	CHECK_INT(ns_nats_map(m, strlen(m), &out, &d), 0);
	memset(&in, 0, sizeof(in));
	CHECK_INT(ns_input_from_json(json_array_get(out, 0), &in, &d), 0);
	CHECK_INT(ns_validate_event(NS_ROLE_PRISON, in.offender, in.type, in.payload, &d), NS_EVALID);
	ns_input_clear(&in);
	json_decref(out);
}

static void test_dead_letter(void)
{
	json_t *dl = ns_nats_dead_letter("cannot map: x", "hmpps.in", 42, "{\"a\":1}", 7, 1767603600);
	CHECK_STR(json_string_value(json_object_get(dl, "reason")), "cannot map: x");
	CHECK_STR(json_string_value(json_object_get(dl, "subject")), "hmpps.in");
	CHECK_INT(json_integer_value(json_object_get(dl, "stream_seq")), 42);
	CHECK_STR(json_string_value(json_object_get(dl, "received_at")), "2026-01-05T09:00:00Z");
	CHECK_STR(json_string_value(json_object_get(dl, "message")), "{\"a\":1}");
	CHECK(json_is_false(json_object_get(dl, "message_base64")));
	json_decref(dl);
	dl = ns_nats_dead_letter("r", "s", 1, "\xff\xfe", 2, 0);
	CHECK_STR(json_string_value(json_object_get(dl, "message")), "//4=");
	CHECK(json_is_true(json_object_get(dl, "message_base64")));
	json_decref(dl);
}

int main(void)
{
	RUN(test_envelope);
	RUN(test_envelope_reference);
	RUN(test_map_prison);
	RUN(test_map_probation);
	RUN(test_map_refused);
	RUN(test_dead_letter);
	return TEST_SUMMARY();
}
