/*
 * Unit tests for the event codec, signatures, identities, dates and times.
 */
#include "fixtures.h"
#include "test.h"

#include <nomsync/catalogue.h>
#include <nomsync/date.h>
#include <nomsync/catalogue.h>
#include <nomsync/event.h>

#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>

static ns_identity mdi;

static ns_event *make(uint64_t seq, const uint8_t *prev)
{
	Nomsync__Payload *p = ns_test_received("MDI");
	ns_event *ev = NULL;
	CHECK_INT(ns_event_build(&mdi, seq, prev, 1767603600, 1767603700, "A1234BC", p, &ev), 0);
	nomsync__payload__free_unpacked(p, NULL);
	return ev;
}

/* Sign an arbitrary header (for malformed-but-signed events) and frame it. */
static uint8_t *frame(const Nomsync__EventHeader *h, const Nomsync__Payload *p, size_t *len)
{
	Nomsync__Event e = NOMSYNC__EVENT__INIT;
	size_t hl = nomsync__event_header__get_packed_size(h);
	size_t pl = p ? nomsync__payload__get_packed_size(p) : 0;
	uint8_t *hb = malloc(hl), *pb = malloc(pl + 1), sig[64], *out;

	nomsync__event_header__pack(h, hb);
	if (p)
		nomsync__payload__pack(p, pb);
	crypto_sign_detached(sig, NULL, hb, hl, mdi.sk);
	e.header.data = hb;
	e.header.len = hl;
	e.signature.data = sig;
	e.signature.len = 64;
	e.payload.data = pb;
	e.payload.len = pl;
	*len = nomsync__event__get_packed_size(&e);
	out = malloc(*len);
	nomsync__event__pack(&e, out);
	free(hb);
	free(pb);
	return out;
}

static void test_roundtrip(void)
{
	ns_event *ev = make(1, NULL), *back = NULL;
	uint8_t id[32];

	CHECK(ev != NULL);
	if (!ev)
		return;
	CHECK_INT(ev->seq, 1);
	CHECK_INT(ev->type, NOMSYNC__EVENT_TYPE__PRISONER_RECEIVED);
	CHECK_STR(ev->offender, "A1234BC");
	CHECK_STR(ev->site, "MDI");
	CHECK_INT(ev->role, NS_ROLE_PRISON);
	CHECK_INT(ev->occurred_at, 1767603600);
	CHECK(memcmp(ev->origin, mdi.pk, 32) == 0);
	ns_hash(id, ev->header, ev->header_len);
	CHECK(memcmp(id, ev->id, 32) == 0);
	CHECK_INT(ns_event_verify(ev), 0);
	CHECK_INT(ns_event_decode(ev->raw, ev->raw_len, &back, NULL), 0);
	CHECK(back && memcmp(back->id, ev->id, 32) == 0);
	CHECK(back && back->payload && strcmp(back->payload->prisoner_received->prison, "MDI") == 0);
	ns_event_free(back);
	ns_event_free(ev);
}

/* recorded_by: signed in the header, decoded back, refused when not a user id, absent by default. */
static void test_recorded_by(void)
{
	Nomsync__Payload *p = ns_test_received("MDI");
	ns_event *ev = NULL, *plain = NULL, *back = NULL;
	Nomsync__EventHeader *h;
	char longest[NS_USER_MAX + 1];

	CHECK_INT(ns_event_build_by(&mdi, 1, NULL, 1767603600, 1767603700, "A1234BC", "PO_SMITH", p, &ev), 0);
	CHECK_INT(ns_event_build(&mdi, 1, NULL, 1767603600, 1767603700, "A1234BC", p, &plain), 0);
	if (ev != NULL && plain != NULL) {
		CHECK_STR(ev->recorded_by, "PO_SMITH");
		CHECK_STR(plain->recorded_by, "");
		CHECK_INT(ns_event_verify(ev), 0);
		CHECK_INT(ns_event_decode(ev->raw, ev->raw_len, &back, NULL), 0);
		CHECK(back != NULL && strcmp(back->recorded_by, "PO_SMITH") == 0);
		/* Signed: another user in the header is another event. */
		CHECK(memcmp(ev->id, plain->id, NS_ID_BYTES) != 0);
		/* Absent, the header is encoded exactly as before the field existed. */
		h = nomsync__event_header__unpack(NULL, plain->header_len, plain->header);
		CHECK(h != NULL && h->recorded_by != NULL && h->recorded_by[0] == '\0');
		if (h != NULL) {
			CHECK_INT(nomsync__event_header__get_packed_size(h), plain->header_len);
			nomsync__event_header__free_unpacked(h, NULL);
		}
	}
	ns_event_free(back);
	ns_event_free(plain);
	ns_event_free(ev);
	ev = NULL;
	CHECK_INT(ns_event_build_by(&mdi, 1, NULL, 1767603600, 1767603700, "A1234BC", "", p, &ev), 0);
	CHECK(ev != NULL && ev->recorded_by[0] == '\0');
	ns_event_free(ev);
	ev = NULL;
	CHECK_INT(ns_event_build_by(&mdi, 1, NULL, 1767603600, 1767603700, "A1234BC", "Jane Doe", p, &ev),
		  NS_EINVAL);
	memset(longest, 'u', sizeof(longest));
	longest[NS_USER_MAX] = '\0';
	CHECK_INT(ns_event_build_by(&mdi, 1, NULL, 1767603600, 1767603700, "A1234BC", longest, p, &ev),
		  NS_EINVAL);
	longest[NS_USER_MAX - 1] = '\0';
	CHECK_INT(ns_event_build_by(&mdi, 1, NULL, 1767603600, 1767603700, "A1234BC", longest, p, &ev), 0);
	ns_event_free(ev);
	nomsync__payload__free_unpacked(p, NULL);
}

/*
 * A header field this build does not know (as field 12, recorded_by, is to a
 * build before it) is skipped: the event decodes and its signature, over
 * the bytes as received, verifies.
 */
static void test_unknown_header_field(void)
{
	ns_event *ev = make(1, NULL), *back = NULL;
	static const uint8_t extra[] = { 0x9a, 0x06, 3, 'a', 'b', 'c' }; /* field 99, "abc" */
	Nomsync__Event e = NOMSYNC__EVENT__INIT;
	uint8_t *hb, sig[64], *out;
	size_t hl, len;

	if (ev == NULL)
		return;
	hl = ev->header_len + sizeof(extra);
	hb = malloc(hl);
	memcpy(hb, ev->header, ev->header_len);
	memcpy(hb + ev->header_len, extra, sizeof(extra));
	crypto_sign_detached(sig, NULL, hb, hl, mdi.sk);
	e.header.data = hb;
	e.header.len = hl;
	e.signature.data = sig;
	e.signature.len = 64;
	e.payload.data = (uint8_t *)ev->payload_bytes;
	e.payload.len = ev->payload_len;
	len = nomsync__event__get_packed_size(&e);
	out = malloc(len);
	nomsync__event__pack(&e, out);
	CHECK_INT(ns_event_decode(out, len, &back, NULL), 0);
	CHECK(back != NULL && back->header_len == hl && ns_event_verify(back) == 0);
	CHECK(back != NULL && back->recorded_by[0] == '\0');
	ns_event_free(back);
	free(out);
	free(hb);
	ns_event_free(ev);
}

static void test_chain_and_ids(void)
{
	ns_event *a = make(1, NULL), *b = make(2, a->id);
	CHECK(memcmp(b->prev, a->id, 32) == 0);
	CHECK(memcmp(a->id, b->id, 32) != 0);
	ns_event_free(a);
	ns_event_free(b);
}

static void test_tamper_every_byte(void)
{
	ns_event *ev = make(1, NULL);
	int caught = 0;

	/* Flipping any single bit of the stored bytes must be detected. */
	for (size_t i = 0; i < ev->raw_len; i++) {
		uint8_t *copy = malloc(ev->raw_len);
		ns_event *t = NULL;
		memcpy(copy, ev->raw, ev->raw_len);
		copy[i] ^= 0x01;
		int rc = ns_event_decode(copy, ev->raw_len, &t, NULL);
		if (rc != 0 || ns_event_verify(t) != 0)
			caught++;
		ns_event_free(t);
		free(copy);
	}
	CHECK_INT(caught, (long long)ev->raw_len);
	ns_event_free(ev);
}

static void test_truncation(void)
{
	ns_event *ev = make(3, (const uint8_t *)"0123456789abcdef0123456789abcdef");
	for (size_t l = 0; l < ev->raw_len; l++) {
		ns_event *t = NULL;
		ns_diag d;
		int rc = ns_event_decode(ev->raw, l, &t, &d);
		if (rc == 0) {
			/* A prefix that still parses must have lost the payload: erased form. */
			CHECK(t->payload == NULL);
		} else {
			CHECK(rc == NS_EDECODE || rc == NS_EHASH);
			CHECK(d.msg[0] != '\0');
		}
		ns_event_free(t);
	}
	ns_event_free(ev);
}

static void test_payload_hash(void)
{
	ns_event *ev = make(1, NULL), *t = NULL;
	uint8_t *copy = malloc(ev->raw_len);
	ns_diag d;

	/* Last byte belongs to the payload: hash check catches it before the signature. */
	memcpy(copy, ev->raw, ev->raw_len);
	copy[ev->raw_len - 1] ^= 0x20;
	CHECK_INT(ns_event_decode(copy, ev->raw_len, &t, &d), NS_EHASH);
	CHECK_STR(d.field, "payload");
	free(copy);
	ns_event_free(ev);
}

static void test_erased_still_verifies(void)
{
	ns_event *ev = make(1, NULL), *t = NULL;
	uint8_t *er;
	size_t elen;

	CHECK_INT(ns_event_encode_erased(ev, &er, &elen), 0);
	CHECK(elen < ev->raw_len);
	CHECK_INT(ns_event_decode(er, elen, &t, NULL), 0);
	CHECK(t && t->payload == NULL);
	CHECK(t && memcmp(t->id, ev->id, 32) == 0);
	CHECK(t && ns_event_verify(t) == 0);
	ns_event_free(t);
	free(er);
	ns_event_free(ev);
}

static void test_forged_signature(void)
{
	ns_identity other;
	ns_event *ev = make(1, NULL), *t = NULL;
	uint8_t *copy = malloc(ev->raw_len);

	ns_identity_generate(&other, "LEI", NS_ROLE_PRISON);
	/* Replace the signature with one by another key over the same header. */
	memcpy(copy, ev->raw, ev->raw_len);
	crypto_sign_detached(copy + (ev->signature - ev->raw), NULL, ev->header, ev->header_len,
			     other.sk);
	CHECK_INT(ns_event_decode(copy, ev->raw_len, &t, NULL), 0);
	CHECK_INT(ns_event_verify(t), NS_ESIG);
	ns_event_free(t);
	free(copy);
	ns_event_free(ev);
}

static void test_malformed_frames(void)
{
	ns_event *t = NULL;
	ns_diag d;
	static const uint8_t unknown_field[] = { 0x22, 0x01, 0x00 };
	static const uint8_t varint_field[] = { 0x08, 0x01 };
	static const uint8_t short_sig[] = { 0x0a, 0x01, 0x08, 0x12, 0x02, 0x00, 0x00 };
	static const uint8_t bad_len[] = { 0x0a, 0x7f, 0x00 };
	uint8_t big[NS_EVENT_MAX_BYTES + 1];

	CHECK_INT(ns_event_decode(NULL, 0, &t, &d), NS_EDECODE);
	CHECK_INT(ns_event_decode(unknown_field, sizeof(unknown_field), &t, &d), NS_EDECODE);
	CHECK_INT(ns_event_decode(varint_field, sizeof(varint_field), &t, &d), NS_EDECODE);
	CHECK_INT(ns_event_decode(short_sig, sizeof(short_sig), &t, &d), NS_EDECODE);
	CHECK_STR(d.field, "signature");
	CHECK_INT(ns_event_decode(bad_len, sizeof(bad_len), &t, &d), NS_EDECODE);
	memset(big, 0, sizeof(big));
	CHECK_INT(ns_event_decode(big, sizeof(big), &t, &d), NS_EDECODE);
	CHECK(t == NULL);

	/* Repeated header field. */
	ns_event *ev = make(1, NULL);
	uint8_t *dup = malloc(ev->raw_len + ev->header_len + 4);
	size_t hdr_total = (size_t)(ev->signature - ev->raw) - 2; /* tag+len of sig */
	memcpy(dup, ev->raw, hdr_total);
	memcpy(dup + hdr_total, ev->raw, ev->raw_len);
	CHECK_INT(ns_event_decode(dup, hdr_total + ev->raw_len, &t, &d), NS_EDECODE);
	free(dup);
	ns_event_free(ev);
}

static void test_signed_but_invalid_headers(void)
{
	Nomsync__EventHeader h = NOMSYNC__EVENT_HEADER__INIT;
	Nomsync__Payload *p = ns_test_received("MDI");
	uint8_t zero[32] = { 0 }, hash[32], *buf, pb[512];
	size_t len, pl = nomsync__payload__pack(p, pb);
	ns_event *t = NULL;
	ns_diag d;

	ns_hash(hash, pb, pl);
	h.version = 1;
	h.origin.data = mdi.pk;
	h.origin.len = 32;
	h.seq = 1;
	h.prev.data = zero;
	h.prev.len = 32;
	h.offender = "A1234BC";
	h.type = NOMSYNC__EVENT_TYPE__PRISONER_RECEIVED;
	h.payload_hash.data = hash;
	h.payload_hash.len = 32;
	h.site = "MDI";
	h.role = "prison";

	buf = frame(&h, p, &len);
	CHECK_INT(ns_event_decode(buf, len, &t, &d), 0);
	ns_event_free(t);
	t = NULL;
	free(buf);

	/* recorded_by, when present, must be a user id. */
	h.recorded_by = "PO_SMITH";
	buf = frame(&h, p, &len);
	CHECK_INT(ns_event_decode(buf, len, &t, &d), 0);
	CHECK(t != NULL && strcmp(t->recorded_by, "PO_SMITH") == 0);
	ns_event_free(t);
	t = NULL;
	free(buf);
	h.recorded_by = "PO SMITH";
	buf = frame(&h, p, &len);
	CHECK_INT(ns_event_decode(buf, len, &t, &d), NS_EDECODE);
	CHECK_STR(d.field, "recorded_by");
	free(buf);
	h.recorded_by = "";

	h.version = 2;
	buf = frame(&h, p, &len);
	CHECK_INT(ns_event_decode(buf, len, &t, &d), NS_EVERSION);
	free(buf);
	h.version = 1;

	h.seq = 0;
	buf = frame(&h, p, &len);
	CHECK_INT(ns_event_decode(buf, len, &t, &d), NS_EDECODE);
	CHECK_STR(d.field, "seq");
	free(buf);
	h.seq = 1;

	h.type = NOMSYNC__EVENT_TYPE__PERSON_CREATED; /* payload is a reception */
	buf = frame(&h, p, &len);
	CHECK_INT(ns_event_decode(buf, len, &t, &d), NS_EDECODE);
	CHECK_STR(d.field, "payload");
	free(buf);
	/* 0 and numbers from NS_TYPE_LIMIT are malformed (999 is only unknown: below). */
	h.type = 0;
	buf = frame(&h, p, &len);
	CHECK_INT(ns_event_decode(buf, len, &t, &d), NS_EDECODE);
	CHECK_STR(d.field, "type");
	free(buf);
	h.type = NS_TYPE_LIMIT;
	buf = frame(&h, p, &len);
	CHECK_INT(ns_event_decode(buf, len, &t, &d), NS_EDECODE);
	CHECK_STR(d.field, "type");
	free(buf);
	h.type = NOMSYNC__EVENT_TYPE__PRISONER_RECEIVED;

	h.offender = "a1234bc; DROP";
	buf = frame(&h, p, &len);
	CHECK_INT(ns_event_decode(buf, len, &t, &d), NS_EDECODE);
	CHECK_STR(d.field, "offender");
	free(buf);
	h.offender = "A1234BC";

	h.role = "warden";
	buf = frame(&h, p, &len);
	CHECK_INT(ns_event_decode(buf, len, &t, &d), NS_EDECODE);
	free(buf);
	h.role = "prison";

	h.origin.len = 31;
	buf = frame(&h, p, &len);
	CHECK_INT(ns_event_decode(buf, len, &t, &d), NS_EDECODE);
	free(buf);
	CHECK(t == NULL);
	nomsync__payload__free_unpacked(p, NULL);
}

/* A signed header of type @p type, as a newer release would sign it, framed with @p p. */
static uint8_t *frame_typed(uint32_t type, uint32_t version, uint64_t seq, const char *offender,
			    const Nomsync__Payload *p, size_t *len)
{
	Nomsync__EventHeader h = NOMSYNC__EVENT_HEADER__INIT;
	uint8_t zero[32] = { 0 }, hash[32], pb[512];
	size_t pl = p ? nomsync__payload__pack(p, pb) : 0;

	ns_hash(hash, pb, pl);
	h.version = version;
	h.origin.data = mdi.pk;
	h.origin.len = 32;
	h.seq = seq;
	h.prev.data = zero;
	h.prev.len = 32;
	h.occurred_at = 1767603600;
	h.recorded_at = 1767603700;
	h.offender = (char *)offender;
	h.type = type;
	h.payload_hash.data = hash;
	h.payload_hash.len = 32;
	h.site = "MDI";
	h.role = "prison";
	return frame(&h, p, len);
}

static void test_unknown_type(void)
{
	Nomsync__Payload *p = ns_test_received("MDI");
	uint8_t *buf, *er;
	size_t len, elen;
	ns_event *t = NULL, *e = NULL;
	ns_diag d;

	/* A newer release's type 999: header checked, payload hashed but kept as bytes. */
	buf = frame_typed(999, 1, 1, "A1234BC", p, &len);
	CHECK_INT(ns_event_decode(buf, len, &t, &d), 0);
	CHECK(t != NULL);
	if (t != NULL) {
		CHECK_INT(t->type, 999);
		CHECK_INT(t->type_unknown, 1);
		CHECK(t->payload == NULL);
		CHECK(t->payload_len > 0 && t->payload_bytes != NULL);
		CHECK(t->payload_bytes >= t->raw && t->payload_bytes + t->payload_len <= t->raw + t->raw_len);
		CHECK_STR(t->offender, "A1234BC");
		CHECK_INT(ns_event_verify(t), 0);
		/* Erased, it is still of an unknown type, and now without payload bytes. */
		CHECK_INT(ns_event_encode_erased(t, &er, &elen), 0);
		CHECK_INT(ns_event_decode(er, elen, &e, NULL), 0);
		CHECK(e && e->type_unknown == 1 && e->payload == NULL && e->payload_len == 0);
		CHECK(e && memcmp(e->id, t->id, 32) == 0 && ns_event_verify(e) == 0);
		ns_event_free(e);
		free(er);
	}
	ns_event_free(t);
	t = NULL;

	/* Its payload hash is still checked. */
	buf[len - 1] ^= 0x20;
	CHECK_INT(ns_event_decode(buf, len, &t, &d), NS_EHASH);
	CHECK_STR(d.field, "payload");
	CHECK_INT(ns_event_decode_flags(buf, len, NS_DECODE_TRUSTED, &t, NULL), 0);
	ns_event_free(t);
	t = NULL;
	free(buf);

	/* The header rules still apply. */
	buf = frame_typed(999, 2, 1, "A1234BC", p, &len);
	CHECK_INT(ns_event_decode(buf, len, &t, &d), NS_EVERSION);
	free(buf);
	buf = frame_typed(999, 1, 0, "A1234BC", p, &len);
	CHECK_INT(ns_event_decode(buf, len, &t, &d), NS_EDECODE);
	CHECK_STR(d.field, "seq");
	free(buf);
	buf = frame_typed(999, 1, 1, "a1234bc", p, &len);
	CHECK_INT(ns_event_decode(buf, len, &t, &d), NS_EDECODE);
	CHECK_STR(d.field, "offender");
	free(buf);
	buf = frame_typed(NS_TYPE_LIMIT - 1, 1, 1, "A1234BC", NULL, &len);
	CHECK_INT(ns_event_decode(buf, len, &t, &d), 0);
	CHECK(t && t->type_unknown == 1 && t->payload_len == 0);
	ns_event_free(t);
	t = NULL;
	free(buf);
	CHECK(t == NULL);
	nomsync__payload__free_unpacked(p, NULL);
}

static void test_opaque(void)
{
	ns_event *ev = make(1, NULL), *t = NULL;

	CHECK_INT(ev->type_unknown, 0);
	CHECK(ev->payload != NULL && ev->payload_len > 0);
	CHECK_INT(ns_event_decode_flags(ev->raw, ev->raw_len, NS_DECODE_OPAQUE, &t, NULL), 0);
	CHECK(t && t->type_unknown == 1 && t->payload == NULL && t->payload_len == ev->payload_len);
	CHECK(t && t->type == ev->type && memcmp(t->id, ev->id, 32) == 0);
	ns_event_free(t);
	CHECK_INT(ns_event_decode_flags(ev->raw, ev->raw_len, 0x80, &t, NULL), NS_EINVAL);
	ns_event_free(ev);
}

static void test_identity_files(void)
{
	char path[] = "/tmp/ns-test-key-XXXXXX";
	int fd = mkstemp(path);
	ns_identity back;
	ns_diag d;
	FILE *f;

	close(fd);
	unlink(path);
	CHECK_INT(ns_identity_save(&mdi, path), 0);
	CHECK_INT(ns_identity_load(&back, path, &d), 0);
	CHECK(memcmp(back.pk, mdi.pk, 32) == 0 && memcmp(back.sk, mdi.sk, 64) == 0);
	CHECK_STR(back.site, "MDI");
	CHECK_INT(back.role, NS_ROLE_PRISON);
	f = fopen(path, "w");
	fputs("nomsync-key 1 MDI prison 00zz\n", f);
	fclose(f);
	CHECK_INT(ns_identity_load(&back, path, &d), NS_EKEY);
	CHECK_STR(d.field, "key");
	unlink(path);
	CHECK_INT(ns_identity_load(&back, path, &d), NS_EKEY);
}

static void test_dates_and_times(void)
{
	int32_t d;
	int64_t t;
	char buf[21];

	CHECK_INT(ns_date_parse("2024-01-01", &d), 0);
	CHECK_INT(ns_date_add(d, 2, 0, 0) - d, 731);
	ns_date_format(buf, ns_date_add(d, 0, 0, 365));
	CHECK_STR(buf, "2024-12-31");
	CHECK_INT(ns_date_parse("2024-01-31", &d), 0);
	ns_date_format(buf, ns_date_add(d, 0, 1, 0));
	CHECK_STR(buf, "2024-02-29");
	CHECK_INT(ns_date_parse("2023-02-29", &d), NS_EINVAL);
	CHECK_INT(ns_date_parse("2024-13-01", &d), NS_EINVAL);
	CHECK_INT(ns_date_parse("24-01-01", &d), NS_EINVAL);
	CHECK_INT(ns_date_parse("2024-01-01x", &d), NS_EINVAL);
	CHECK_INT(ns_time_parse("2026-01-05T09:00:00Z", &t), 0);
	CHECK_INT(t, 1767603600);
	ns_time_format(buf, t);
	CHECK_STR(buf, "2026-01-05T09:00:00Z");
	CHECK_INT(ns_time_parse("2026-01-05T10:00:00+01:00", &t), 0);
	CHECK_INT(t, 1767603600);
	CHECK_INT(ns_time_parse("2026-01-05T09:00:00.250Z", &t), 0);
	CHECK_INT(ns_time_parse("2026-01-05T09:00:00", &t), NS_EINVAL);
	CHECK_INT(ns_time_parse("2026-01-05T25:00:00Z", &t), NS_EINVAL);
	CHECK_INT(ns_time_parse("2026-01-05", &t), 0);
	CHECK_INT(t, 1767571200);
}

static void test_type_names(void)
{
	size_t named = 0;

	/* Every EventType of the schema has a name (the numbers may have gaps). */
	for (unsigned k = 0; k < nomsync__event_type__descriptor.n_values; k++) {
		uint32_t i = (uint32_t)nomsync__event_type__descriptor.values[k].value;
		if (i == 0)
			continue;
		CHECK(ns_type_name(i) != NULL);
		CHECK_INT(ns_type_parse(ns_type_name(i)), i);
		named++;
	}
	CHECK_INT(named, ns_catalogue_count());
	CHECK_INT(ns_type_parse("prisoner.escaped"), 0);
	CHECK(ns_type_name(0) == NULL);
	CHECK_STR(ns_type_name(NOMSYNC__EVENT_TYPE__RECALL_RETURNED_TO_CUSTODY), "recall.returned_to_custody");
	CHECK_INT(ns_role_parse("probation"), NS_ROLE_PROBATION);
	CHECK_INT(ns_role_parse("governor"), NS_ROLE_NONE);
	CHECK_STR(ns_strerror(NS_ESIG), "signature does not verify");
	CHECK_STR(ns_err_name(NS_EEQUIV), "NS_EEQUIV");
	CHECK_STR(ns_strerror(-999), "unknown error");
}

int main(void)
{
	CHECK_INT(ns_identity_generate(&mdi, "MDI", NS_ROLE_PRISON), 0);
	RUN(test_roundtrip);
	RUN(test_recorded_by);
	RUN(test_unknown_header_field);
	RUN(test_chain_and_ids);
	RUN(test_tamper_every_byte);
	RUN(test_truncation);
	RUN(test_payload_hash);
	RUN(test_erased_still_verifies);
	RUN(test_forged_signature);
	RUN(test_malformed_frames);
	RUN(test_signed_but_invalid_headers);
	RUN(test_unknown_type);
	RUN(test_opaque);
	RUN(test_identity_files);
	RUN(test_dates_and_times);
	RUN(test_type_names);
	return TEST_SUMMARY();
}
