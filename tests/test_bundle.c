/*
 * Unit tests for bundles (include/nomsync/bundle.h): export and import
 * converge, export since a vector carries only what is missing, every kind
 * of damage (truncation at every length, flipped bytes in events and in the
 * trailer, a wrong count, bad magic, an empty file) is refused with
 * NS_EBUNDLE and a diag naming the problem while the importing store stays
 * exactly as it was, equivocation proofs travel, and a second import of the
 * same bundle changes nothing. The trailer: a format-2 trailer whose site,
 * time or key was changed is refused (the attack that format 1 let through),
 * format-1 bundles still import with their exporter fields flagged as
 * unsigned, and the report gives the key that sealed the bundle.
 */
#define _GNU_SOURCE /* memmem */
#include "test.h"

#include <nomsync/bundle.h>
#include <nomsync/store.h>

#include "core/util.h"

#include <sodium.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char tmproot[] = "/tmp/ns-bundle-test-XXXXXX";
static int nstores;

static ns_store *mkstore(const char *site, ns_role role)
{
	char dir[256];
	ns_store *s = NULL;
	ns_diag d;

	snprintf(dir, sizeof(dir), "%s/s%d-%s", tmproot, nstores++, site);
	CHECK_INT(ns_store_create(dir, site, role, &d), 0);
	CHECK_INT(ns_store_open(dir, NS_STORE_NOSYNC, &s, &d), 0);
	return s;
}

/* Append JSON lines through the store API. */
static int append(ns_store *s, const char *const *lines, size_t n)
{
	ns_input in[8];
	ns_diag d;
	size_t bad;
	int rc = 0;

	memset(in, 0, sizeof(in));
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = ns_input_parse(lines[i], strlen(lines[i]), &in[i], &d);
	if (rc == 0)
		rc = ns_store_append(s, in, n, NULL, &bad, &d);
	for (size_t i = 0; i < n; i++)
		ns_input_clear(&in[i]);
	if (rc != 0)
		fprintf(stderr, "append: %s: %s\n", d.field, d.msg);
	return rc;
}

static const char *const course[] = {
	"{\"type\":\"person.created\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-01-01T09:00:00Z\","
	"\"surname\":\"SMITH\",\"forenames\":\"JOHN\",\"dob\":\"1990-05-17\",\"gender\":\"M\"}",
	"{\"type\":\"prisoner.received\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-01-01T15:00:00Z\","
	"\"prison\":\"MDI\",\"reason\":\"NEW_ADMISSION\"}",
	"{\"type\":\"prisoner.adjustment.recorded\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-01-02T10:00:00Z\","
	"\"adjustment_type\":\"REMAND\",\"days\":30}",
	"{\"type\":\"alert.raised\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-02-01T09:00:00Z\","
	"\"alert_type\":\"H\",\"alert_code\":\"HA\",\"from_date\":\"2024-02-01\"}",
	"{\"type\":\"prisoner.released\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-03-05T09:00:00Z\","
	"\"prison\":\"MDI\",\"reason\":\"RELEASED\"}",
};

static const char *const prob[] = {
	"{\"type\":\"manager.com.allocated\",\"offender\":\"X111111\",\"occurred_at\":\"2024-01-04T09:00:00Z\","
	"\"region\":\"N07\",\"staff\":\"N07P002\"}",
};

/* Export @p s (events a holder of @p since lacks) to a file; returns its path (static). */
static const char *export_to(ns_store *s, const ns_vv_entry *since, size_t nsince, uint64_t *count)
{
	static char path[300];
	static int n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/b%d.bundle", tmproot, n++);
	f = fopen(path, "wb");
	CHECK(f != NULL);
	CHECK_INT(ns_bundle_export(s, since, nsince, f, count), 0);
	fclose(f);
	return path;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	CHECK_INT(fread(buf, 1, (size_t)n, f), n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void spit(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	if (len)
		CHECK_INT(fwrite(buf, 1, len, f), len);
	fclose(f);
}

/* Everything an import could change: view digest, vector, event and proof counts. */
typedef struct snapshot {
	uint8_t digest[NS_ID_BYTES];
	ns_vv_entry *v;
	size_t nv, nproofs;
	uint64_t persons, events;
} snapshot;

static snapshot snap(ns_store *s)
{
	snapshot x;
	ns_proof *p;

	memset(&x, 0, sizeof(x));
	CHECK_INT(ns_store_digest(s, NULL, x.digest), 0);
	CHECK_INT(ns_store_vector(s, &x.v, &x.nv), 0);
	CHECK_INT(ns_store_stats(s, &x.persons, &x.events), 0);
	CHECK_INT(ns_store_proofs(s, &p, &x.nproofs), 0);
	ns_proofs_free(p, x.nproofs);
	return x;
}

static int vv_equal(const ns_vv_entry *a, size_t na, const ns_vv_entry *b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++) {
		size_t j = 0;
		while (j < nb && memcmp(a[i].origin, b[j].origin, NS_KEY_BYTES) != 0)
			j++;
		if (j == nb || a[i].seq != b[j].seq || a[i].quarantined != b[j].quarantined ||
		    a[i].held != b[j].held || memcmp(a[i].head, b[j].head, NS_ID_BYTES) != 0)
			return 0;
	}
	return 1;
}

static int snap_equal(const snapshot *a, const snapshot *b)
{
	return memcmp(a->digest, b->digest, NS_ID_BYTES) == 0 && vv_equal(a->v, a->nv, b->v, b->nv) &&
	       a->persons == b->persons && a->events == b->events && a->nproofs == b->nproofs;
}

static void snap_free(snapshot *x)
{
	free(x->v);
	x->v = NULL;
}

static uint64_t vv_seq(ns_store *s, const uint8_t *origin, int *quarantined, uint64_t *held)
{
	ns_vv_entry *v;
	size_t n;
	uint64_t seq = 0;

	ns_store_vector(s, &v, &n);
	for (size_t i = 0; i < n; i++)
		if (memcmp(v[i].origin, origin, NS_KEY_BYTES) == 0) {
			seq = v[i].seq;
			if (quarantined)
				*quarantined = v[i].quarantined;
			if (held)
				*held = v[i].held;
		}
	free(v);
	return seq;
}

/* What an import did: events in the bundle, newly applied, duplicates, held, rejected. */
static void report_is(const ns_import_report *r, uint64_t events, uint64_t applied, uint64_t dups,
		      uint64_t held, uint64_t rejected)
{
	CHECK_INT(r->events, events);
	CHECK_INT(r->applied, applied);
	CHECK_INT(r->duplicates, dups);
	CHECK_INT(r->held, held);
	CHECK_INT(r->rejected, rejected);
}

/*
 * A store that already holds events of its own and of another origin, so
 * that "unchanged" after a refused import means something.
 */
static ns_store *victim(void)
{
	ns_store *c = mkstore("LEI", NS_ROLE_PRISON), *n07 = mkstore("N07", NS_ROLE_PROBATION);
	ns_import_report r;
	ns_diag d;
	const char *own[] = {
		"{\"type\":\"person.created\",\"offender\":\"B2345CD\",\"occurred_at\":\"2024-01-01T09:00:00Z\","
		"\"surname\":\"JONES\",\"forenames\":\"ANN\",\"dob\":\"1985-03-02\",\"gender\":\"F\"}",
	};

	CHECK_INT(append(c, own, 1), 0);
	CHECK_INT(append(n07, prob, 1), 0);
	CHECK_INT(ns_bundle_import(c, export_to(n07, NULL, 0, NULL), &r, &d), 0);
	CHECK_INT(r.applied, 1);
	ns_store_close(n07);
	return c;
}

static void test_export_import_converge(void)
{
	ns_store *a = mkstore("MDI", NS_ROLE_PRISON), *b = mkstore("N07", NS_ROLE_PROBATION);
	ns_import_report r;
	uint64_t count = 99;
	ns_diag d;

	CHECK_INT(append(a, course, 3), 0);
	const char *path = export_to(a, NULL, 0, &count);
	CHECK_INT(count, 3);
	memset(&r, 0xff, sizeof(r));
	CHECK_INT(ns_bundle_import(b, path, &r, &d), 0);
	report_is(&r, 3, 3, 0, 0, 0);
	CHECK_INT(r.proofs, 0);
	CHECK_STR(r.exporter, "MDI");

	snapshot sa = snap(a), sb = snap(b);
	CHECK(memcmp(sa.digest, sb.digest, NS_ID_BYTES) == 0);
	CHECK(vv_equal(sa.v, sa.nv, sb.v, sb.nv));
	CHECK_INT(sb.events, 3);
	CHECK_INT(sb.persons, 1);
	snap_free(&sa);
	snap_free(&sb);
	CHECK_INT(ns_store_digest(a, "A1234BC", sa.digest), 0);
	CHECK_INT(ns_store_digest(b, "A1234BC", sb.digest), 0);
	CHECK(memcmp(sa.digest, sb.digest, NS_ID_BYTES) == 0);
	ns_verify_report vr;
	CHECK_INT(ns_store_verify(b, &vr), 0);
	CHECK_INT(vr.events, 3);

	/* An empty store exports a valid, empty bundle: magic and trailer only. */
	ns_store *e = mkstore("BXI", NS_ROLE_PRISON);
	path = export_to(e, NULL, 0, &count);
	CHECK_INT(count, 0);
	size_t len;
	uint8_t *buf = slurp(path, &len);
	CHECK(len > strlen(NS_BUNDLE_MAGIC) && memcmp(buf, NS_BUNDLE_MAGIC, strlen(NS_BUNDLE_MAGIC)) == 0);
	CHECK(buf[strlen(NS_BUNDLE_MAGIC)] == 'T');
	CHECK_INT(ns_bundle_check(buf, len, &r, &d), 0);
	CHECK_INT(r.events, 0);
	CHECK_STR(r.exporter, "BXI");
	free(buf);
	CHECK_INT(ns_bundle_import(b, path, &r, &d), 0);
	CHECK_INT(r.events, 0);
	CHECK_INT(r.applied, 0);
	ns_store_close(e);
	ns_store_close(a);
	ns_store_close(b);
}

static void test_export_since(void)
{
	ns_store *a = mkstore("MDI", NS_ROLE_PRISON), *b = mkstore("N07", NS_ROLE_PROBATION);
	ns_store *fresh = mkstore("LEI", NS_ROLE_PRISON);
	ns_import_report r;
	ns_vv_entry *v;
	size_t nv;
	uint64_t count, held = 0;
	ns_diag d;

	CHECK_INT(append(a, course, 3), 0);
	CHECK_INT(append(b, prob, 1), 0);
	CHECK_INT(ns_bundle_import(b, export_to(a, NULL, 0, NULL), &r, &d), 0);
	CHECK_INT(r.applied, 3);
	CHECK_INT(append(a, course + 3, 2), 0);

	/* Since b's vector (which also names b's own origin, unknown to a): only seq 4 and 5. */
	CHECK_INT(ns_store_vector(b, &v, &nv), 0);
	CHECK_INT(nv, 2);
	const char *path = export_to(a, v, nv, &count);
	free(v);
	CHECK_INT(count, 2);
	size_t len;
	uint8_t *buf = slurp(path, &len);
	CHECK_INT(ns_bundle_check(buf, len, &r, &d), 0);
	CHECK_INT(r.events, 2);
	free(buf);

	/* A store with nothing of MDI holds both: their predecessors are not in the bundle. */
	CHECK_INT(ns_bundle_import(fresh, path, &r, &d), 0);
	report_is(&r, 2, 0, 0, 2, 0);
	CHECK_INT(vv_seq(fresh, ns_store_identity(a)->pk, NULL, &held), 0);
	CHECK_INT(held, 2);

	/* b applies both and converges with a. */
	CHECK_INT(ns_bundle_import(b, path, &r, &d), 0);
	report_is(&r, 2, 2, 0, 0, 0);
	uint8_t da[NS_ID_BYTES], db[NS_ID_BYTES];
	CHECK_INT(ns_store_digest(a, "A1234BC", da), 0);
	CHECK_INT(ns_store_digest(b, "A1234BC", db), 0);
	CHECK(memcmp(da, db, NS_ID_BYTES) == 0);
	CHECK_INT(vv_seq(b, ns_store_identity(a)->pk, NULL, NULL), 5);

	/* Since an up-to-date vector: nothing. Since a's own vector: nothing. */
	CHECK_INT(ns_store_vector(b, &v, &nv), 0);
	export_to(a, v, nv, &count);
	CHECK_INT(count, 0);
	free(v);
	CHECK_INT(ns_store_vector(a, &v, &nv), 0);
	export_to(a, v, nv, &count);
	CHECK_INT(count, 0);
	free(v);
	/* Since an empty vector (nsince 0, not NULL): everything. */
	ns_vv_entry none;
	memset(&none, 0, sizeof(none));
	export_to(a, &none, 0, &count);
	CHECK_INT(count, 5);

	ns_store_close(fresh);
	ns_store_close(a);
	ns_store_close(b);
}

/* Import @p buf (written to a file) into @p c; check it is refused with @p msg in the diag. */
static void refused(ns_store *c, const uint8_t *buf, size_t len, const char *msg, int line)
{
	char path[300];
	ns_import_report r;
	ns_diag d;
	int rc;

	snprintf(path, sizeof(path), "%s/damaged.bundle", tmproot);
	spit(path, buf, len);
	ns_diag_clear(&d);
	rc = ns_bundle_import(c, path, &r, &d);
	if (rc != NS_EBUNDLE || strcmp(d.field, "bundle") != 0 || strstr(d.msg, msg) == NULL) {
		fprintf(stderr, "line %d (len %zu): rc %d, diag %s: '%s', expected '%s'\n", line, len, rc,
			d.field, d.msg, msg);
		CHECK(0);
	}
	CHECK_INT(r.applied + r.duplicates + r.held + r.proofs, 0);
	/* The in-memory check agrees. */
	if (len > 0) {
		ns_diag_clear(&d);
		CHECK_INT(ns_bundle_check(buf, len, &r, &d), NS_EBUNDLE);
		CHECK(strstr(d.msg, msg) != NULL);
	}
}

#define REFUSED(c, buf, len, msg) refused(c, buf, len, msg, __LINE__)

/* Byte offsets of a well-formed bundle's records, and where the trailer's bytes start. */
typedef struct layout {
	size_t at[16];   /* offset of each record's kind byte */
	char kind[16];
	size_t n;
	size_t t, tbody; /* the 'T' record, and its protobuf bytes */
} layout;

static layout parse_layout(const uint8_t *buf, size_t len)
{
	layout l;
	size_t pos = strlen(NS_BUNDLE_MAGIC);
	uint64_t n;

	memset(&l, 0, sizeof(l));
	while (pos < len && l.n < 16) {
		l.at[l.n] = pos;
		l.kind[l.n] = (char)buf[pos++];
		for (int blobs = l.kind[l.n] == 'P' ? 2 : 1; blobs > 0; blobs--) {
			if (ns__varint_read(buf, len, &pos, &n) != 0)
				return l;
			if (l.kind[l.n] == 'T') {
				l.t = l.at[l.n];
				l.tbody = pos;
			}
			pos += (size_t)n;
		}
		l.n++;
	}
	return l;
}

static size_t put_varint(uint8_t *out, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

/* The records of @buf (trailer at @t) under the trailer @tr, re-packed as is (its signature unchanged). */
static uint8_t *repack(const uint8_t *buf, size_t t, const Nomsync__BundleTrailer *tr, size_t *len)
{
	size_t tl = nomsync__bundle_trailer__get_packed_size(tr), hl;
	uint8_t *nb = malloc(t + 11 + tl);

	memcpy(nb, buf, t);
	nb[t] = 'T';
	hl = 1 + put_varint(nb + t + 1, tl);
	nomsync__bundle_trailer__pack(tr, nb + t + hl);
	*len = t + hl + tl;
	return nb;
}

static void test_truncated(void)
{
	ns_store *a = mkstore("MDI", NS_ROLE_PRISON), *c = victim();
	size_t len, mlen = strlen(NS_BUNDLE_MAGIC);
	uint8_t *buf;

	CHECK_INT(append(a, course, 2), 0);
	buf = slurp(export_to(a, NULL, 0, NULL), &len);
	snapshot before = snap(c);
	layout l = parse_layout(buf, len);
	size_t t = l.t;
	CHECK_INT(l.n, 3);
	CHECK(l.kind[0] == 'E' && l.kind[1] == 'E' && l.kind[2] == 'T');
	CHECK(t > mlen && t < len);

	/* Every proper prefix, from empty to one byte short. */
	for (size_t n = 0; n < len; n++) {
		if (n == 0)
			REFUSED(c, buf, n, "is empty");
		else if (n < mlen)
			REFUSED(c, buf, n, "bad magic");
		else if (n == mlen || n == t)
			REFUSED(c, buf, n, "bundle has no trailer (truncated)");
		else
			REFUSED(c, buf, n, "truncated");
	}
	/* Cut inside the trailer record: named by the trailer's offset. */
	char msg[64];
	snprintf(msg, sizeof(msg), "record at byte %zu is truncated", t);
	REFUSED(c, buf, len - 1, msg);

	snapshot after = snap(c);
	CHECK(snap_equal(&before, &after));
	snap_free(&after);
	/* The whole bundle still imports. */
	ns_import_report r;
	ns_diag d;
	char path[300];
	snprintf(path, sizeof(path), "%s/whole.bundle", tmproot);
	spit(path, buf, len);
	CHECK_INT(ns_bundle_import(c, path, &r, &d), 0);
	CHECK_INT(r.applied, 2);
	after = snap(c);
	CHECK(!snap_equal(&before, &after));
	CHECK_INT(after.events, before.events + 2);
	snap_free(&after);
	snap_free(&before);
	free(buf);
	ns_store_close(a);
	ns_store_close(c);
}

static void test_damaged(void)
{
	ns_store *a = mkstore("MDI", NS_ROLE_PRISON), *c = victim();
	size_t len, mlen = strlen(NS_BUNDLE_MAGIC);
	uint8_t *buf, *copy;
	char msg[80];

	CHECK_INT(append(a, course, 2), 0);
	buf = slurp(export_to(a, NULL, 0, NULL), &len);
	copy = malloc(len + 16);
	snapshot before = snap(c);
	layout l = parse_layout(buf, len);
	size_t t = l.t;

	/* A future format version, bad magic, and text that is no bundle. */
	memcpy(copy, buf, len);
	copy[8] = '3';
	REFUSED(c, copy, len, "bundle format 3 is not supported (this nomsync reads formats 1 and 2)");
	copy[8] = 'X';
	REFUSED(c, copy, len, "not a nomsync bundle (bad magic)");
	REFUSED(c, (const uint8_t *)"not a bundle at all", 19, "bad magic");

	/* "SMITH" sits in the first event's payload: its hash no longer matches. */
	memcpy(copy, buf, len);
	uint8_t *smith = memmem(copy, len, "SMITH", 5);
	CHECK(smith != NULL && (size_t)(smith - copy) < t);
	if (smith)
		smith[1] ^= 0x01;
	snprintf(msg, sizeof(msg), "event at byte %zu: ", mlen);
	REFUSED(c, copy, len, msg);

	/*
	 * Every single-bit flip in any byte before the trailer is refused: an
	 * event that still decodes and verifies is caught by the digest.
	 */
	int accepted = 0;
	for (size_t i = 0; i < t; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			ns_diag d;
			memcpy(copy, buf, len);
			copy[i] ^= (uint8_t)(1u << bit);
			if (ns_bundle_check(copy, len, NULL, &d) != NS_EBUNDLE) {
				fprintf(stderr, "flip of bit %d at byte %zu accepted\n", bit, i);
				accepted++;
			}
		}
	}
	CHECK_INT(accepted, 0);

	/* An unknown record kind in place of the first 'E'. */
	memcpy(copy, buf, len);
	copy[mlen] = 'X';
	snprintf(msg, sizeof(msg), "unknown record kind at byte %zu", mlen);
	REFUSED(c, copy, len, msg);

	/* Trailer fields: digest, exporter key, signature, count; bytes after it. */
	Nomsync__BundleTrailer *tr = nomsync__bundle_trailer__unpack(NULL, len - l.tbody, buf + l.tbody);
	CHECK(tr != NULL);
	if (tr != NULL) {
		CHECK_INT(tr->count, 2);
		CHECK_STR(tr->site, "MDI");
		CHECK(memcmp(tr->exporter.data, ns_store_identity(a)->pk, NS_KEY_BYTES) == 0);
		const struct {
			ProtobufCBinaryData *f;
			const char *msg;
		} fields[] = {
			{ &tr->digest, "digest mismatch: the bundle was altered or truncated" },
			{ &tr->exporter, "exporter signature does not verify" },
			{ &tr->signature, "exporter signature does not verify" },
		};
		for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
			memcpy(copy, buf, len);
			uint8_t *at = memmem(copy + t, len - t, fields[k].f->data, fields[k].f->len);
			CHECK(at != NULL);
			if (at == NULL)
				continue;
			at[0] ^= 0x80;
			REFUSED(c, copy, len, fields[k].msg);
			memcpy(copy, buf, len);
			at[fields[k].f->len - 1] ^= 0x01;
			REFUSED(c, copy, len, fields[k].msg);
		}

		/* The right digest but a count of 3: the signature covers the count. */
		tr->count = 3;
		size_t nlen;
		uint8_t *nb = repack(buf, t, tr, &nlen);
		REFUSED(c, nb, nlen, "exporter signature does not verify");
		/* A trailer that is not a protobuf. */
		memset(nb + l.tbody, 0xff, nlen - l.tbody);
		REFUSED(c, nb, nlen, "trailer does not decode");
		free(nb);
		nomsync__bundle_trailer__free_unpacked(tr, NULL);
	}
	memcpy(copy, buf, len);
	memcpy(copy + len, "E\x01x", 3);
	snprintf(msg, sizeof(msg), "bytes after the trailer at %zu", len);
	REFUSED(c, copy, len + 3, msg);

	/* An empty file, and a file that does not exist. */
	REFUSED(c, buf, 0, "is empty");
	ns_import_report r;
	ns_diag d;
	char path[300];
	snprintf(path, sizeof(path), "%s/no-such.bundle", tmproot);
	CHECK_INT(ns_bundle_import(c, path, &r, &d), NS_EIO);
	CHECK(strstr(d.msg, "cannot open") != NULL && strstr(d.msg, "no-such.bundle") != NULL);

	snapshot after = snap(c);
	CHECK(snap_equal(&before, &after));
	snap_free(&after);
	snap_free(&before);
	free(copy);
	free(buf);
	ns_store_close(a);
	ns_store_close(c);
}

/*
 * The attack on the trailer: in format 1 a real bundle whose trailer was
 * changed from site MDI to LDI, or given another export time, still passed
 * ns_bundle_check and the report named LDI as the exporter, because the
 * signature covered the digest of the records only. Every field a reader
 * reports is signed now: each such change is refused and changes nothing.
 */
static void test_trailer_tampered(void)
{
	ns_store *a = mkstore("MDI", NS_ROLE_PRISON), *c = victim();
	ns_identity other;
	ns_import_report r;
	ns_diag d;
	size_t len, nlen;
	uint8_t *buf, *nb;

	CHECK_INT(append(a, course, 2), 0);
	buf = slurp(export_to(a, NULL, 0, NULL), &len);
	layout l = parse_layout(buf, len);
	snapshot before = snap(c);
	Nomsync__BundleTrailer *tr = nomsync__bundle_trailer__unpack(NULL, len - l.tbody, buf + l.tbody);
	CHECK(tr != NULL);
	if (tr == NULL)
		return;
	char *site = tr->site;
	int64_t created = tr->created_at;
	ProtobufCBinaryData key = tr->exporter;

	/* Untouched, the re-packed bundle checks and names MDI. */
	nb = repack(buf, l.t, tr, &nlen);
	CHECK_INT(ns_bundle_check(nb, nlen, &r, &d), 0);
	CHECK_STR(r.exporter, "MDI");
	free(nb);

	tr->site = "LDI";
	nb = repack(buf, l.t, tr, &nlen);
	REFUSED(c, nb, nlen, "exporter signature does not verify (it covers the trailer's site, time, count and key)");
	free(nb);
	tr->site = site;

	tr->created_at = created + 3600;
	nb = repack(buf, l.t, tr, &nlen);
	REFUSED(c, nb, nlen, "exporter signature does not verify");
	free(nb);
	tr->created_at = created;

	/* Another key in the trailer, the signature left as it was. */
	ns_identity_generate(&other, "MDI", NS_ROLE_PRISON);
	tr->exporter.data = other.pk;
	nb = repack(buf, l.t, tr, &nlen);
	REFUSED(c, nb, nlen, "exporter signature does not verify");
	free(nb);
	tr->exporter = key;

	snapshot after = snap(c);
	CHECK(snap_equal(&before, &after));
	snap_free(&after);
	snap_free(&before);
	nomsync__bundle_trailer__free_unpacked(tr, NULL);
	free(buf);
	ns_store_close(a);
	ns_store_close(c);
}

/*
 * A bundle of @a's events in format @version, sealed by @id at @when: the
 * records of a fresh export under that format's magic and trailer. Its
 * path (static).
 */
static const char *sealed_as(ns_store *a, int version, const ns_identity *id, int64_t when, uint64_t count)
{
	static char path[300];
	size_t len, mlen = strlen(NS_BUNDLE_MAGIC), tlen;
	uint8_t *buf = slurp(export_to(a, NULL, 0, NULL), &len), digest[NS_ID_BYTES], *tb = NULL;
	layout l = parse_layout(buf, len);
	FILE *f;

	memcpy(buf, version == 1 ? NS_BUNDLE_MAGIC_V1 : NS_BUNDLE_MAGIC, mlen);
	crypto_generichash(digest, NS_ID_BYTES, buf, l.t, NULL, 0);
	CHECK_INT(ns_bundle_trailer(version, id, digest, count, when, &tb, &tlen), 0);
	snprintf(path, sizeof(path), "%s/sealed-v%d.bundle", tmproot, version);
	f = fopen(path, "wb");
	CHECK(f != NULL);
	CHECK_INT(fwrite(buf, 1, l.t, f), l.t);
	CHECK_INT(fwrite(tb, 1, tlen, f), tlen);
	fclose(f);
	free(tb);
	free(buf);
	return path;
}

/* What a bundle's report says of its exporter: the key that sealed it, its claims, its format. */
static void test_report_exporter(void)
{
	ns_store *a = mkstore("MDI", NS_ROLE_PRISON), *b = mkstore("N07", NS_ROLE_PROBATION);
	const ns_identity *mdi = ns_store_identity(a);
	ns_identity rogue, bad;
	ns_import_report r;
	uint8_t *tb = NULL, digest[NS_ID_BYTES] = { 0 };
	size_t tlen;
	ns_diag d;

	CHECK_INT(append(a, course, 2), 0);
	int64_t t0 = (int64_t)time(NULL);
	const char *path = export_to(a, NULL, 0, NULL);
	int64_t t1 = (int64_t)time(NULL);
	size_t len;
	uint8_t *buf = slurp(path, &len);
	CHECK(memcmp(buf, "NSBUNDLE2\n", 10) == 0);
	CHECK_INT(ns_bundle_check(buf, len, &r, &d), 0);
	CHECK_INT(r.version, 2);
	CHECK_STR(r.exporter, "MDI");
	CHECK(memcmp(r.exporter_key, mdi->pk, NS_KEY_BYTES) == 0);
	CHECK(r.created_at >= t0 && r.created_at <= t1);
	free(buf);

	/*
	 * Anyone can re-seal a bundle under their own key and claim any site:
	 * it checks, and the report gives the rogue's key, for a roster to judge.
	 */
	ns_identity_generate(&rogue, "MDI", NS_ROLE_PRISON);
	CHECK_INT(ns_bundle_import(b, sealed_as(a, 2, &rogue, 1767225600, 2), &r, &d), 0);
	report_is(&r, 2, 2, 0, 0, 0);
	CHECK_STR(r.exporter, "MDI");
	CHECK(memcmp(r.exporter_key, rogue.pk, NS_KEY_BYTES) == 0);
	CHECK(memcmp(r.exporter_key, mdi->pk, NS_KEY_BYTES) != 0);
	CHECK_INT(r.created_at, 1767225600);

	/* Signed, but a count that is not the bundle's; a site that is no site code. */
	ns_store *c = mkstore("LEI", NS_ROLE_PRISON);
	snapshot before = snap(c);
	buf = slurp(sealed_as(a, 2, mdi, 1767225600, 3), &len);
	REFUSED(c, buf, len, "trailer counts 3 events, found 2");
	free(buf);
	bad = *mdi;
	snprintf(bad.site, sizeof(bad.site), "M\033[2J");
	buf = slurp(sealed_as(a, 2, &bad, 1767225600, 2), &len);
	REFUSED(c, buf, len, "trailer names no valid site code");
	free(buf);
	snapshot after = snap(c);
	CHECK(snap_equal(&before, &after));
	snap_free(&after);
	snap_free(&before);

	CHECK_INT(ns_bundle_trailer(3, mdi, digest, 0, 0, &tb, &tlen), NS_EINVAL);
	CHECK(tb == NULL);
	ns_identity_wipe(&rogue);
	ns_store_close(c);
	ns_store_close(a);
	ns_store_close(b);
}

/*
 * @buf under the other format's @magic, its trailer's digest made to match:
 * the magic alone is caught by the digest, and with the digest fixed the
 * signature fails, since the formats sign different things.
 */
static void swap_format(ns_store *c, uint8_t *buf, size_t len, const char *magic)
{
	layout l = parse_layout(buf, len);
	Nomsync__BundleTrailer *tr = nomsync__bundle_trailer__unpack(NULL, len - l.tbody, buf + l.tbody);
	uint8_t digest[NS_ID_BYTES], *nb;
	size_t nlen;

	memcpy(buf, magic, strlen(magic));
	REFUSED(c, buf, len, "digest mismatch: the bundle was altered or truncated");
	CHECK(tr != NULL);
	if (tr == NULL)
		return;
	CHECK_INT(tr->digest.len, NS_ID_BYTES);
	crypto_generichash(digest, NS_ID_BYTES, buf, l.t, NULL, 0);
	memcpy(tr->digest.data, digest, NS_ID_BYTES);
	nb = repack(buf, l.t, tr, &nlen);
	REFUSED(c, nb, nlen, "exporter signature does not verify");
	free(nb);
	nomsync__bundle_trailer__free_unpacked(tr, NULL);
}

/*
 * Format 1 (written before the trailer was sealed) still imports; its
 * report says so (version 1), because its site and time are nobody's word:
 * a format-1 trailer re-labelled LDI still checks. A format-1 trailer under
 * the format-2 magic, and the reverse, are refused: a bundle cannot be
 * passed off as the other format.
 */
static void test_format1_still_imports(void)
{
	ns_store *a = mkstore("MDI", NS_ROLE_PRISON), *b = mkstore("N07", NS_ROLE_PROBATION);
	const ns_identity *mdi = ns_store_identity(a);
	ns_import_report r;
	ns_diag d;
	size_t len, nlen;
	uint8_t *buf, *nb;

	CHECK_INT(append(a, course, 3), 0);
	const char *path = sealed_as(a, 1, mdi, 1700000000, 3);
	buf = slurp(path, &len);
	CHECK(memcmp(buf, "NSBUNDLE1\n", 10) == 0);
	CHECK_INT(ns_bundle_check(buf, len, &r, &d), 0);
	CHECK_INT(ns_bundle_import(b, path, &r, &d), 0);
	report_is(&r, 3, 3, 0, 0, 0);
	CHECK_INT(r.version, 1);
	CHECK_STR(r.exporter, "MDI");
	CHECK(memcmp(r.exporter_key, mdi->pk, NS_KEY_BYTES) == 0);
	CHECK_INT(r.created_at, 1700000000);
	uint8_t da[NS_ID_BYTES], db[NS_ID_BYTES];
	CHECK_INT(ns_store_digest(a, NULL, da), 0);
	CHECK_INT(ns_store_digest(b, NULL, db), 0);
	CHECK(memcmp(da, db, NS_ID_BYTES) == 0);

	layout l = parse_layout(buf, len);
	Nomsync__BundleTrailer *tr = nomsync__bundle_trailer__unpack(NULL, len - l.tbody, buf + l.tbody);
	CHECK(tr != NULL);
	if (tr != NULL) {
		char *site = tr->site;
		tr->site = "LDI";
		nb = repack(buf, l.t, tr, &nlen);
		CHECK_INT(ns_bundle_check(nb, nlen, &r, &d), 0);
		CHECK_INT(r.version, 1);
		CHECK_STR(r.exporter, "LDI");
		free(nb);
		tr->site = site;
		nomsync__bundle_trailer__free_unpacked(tr, NULL);
	}

	ns_store *c = mkstore("LEI", NS_ROLE_PRISON);
	swap_format(c, buf, len, NS_BUNDLE_MAGIC);
	free(buf);
	buf = slurp(sealed_as(a, 2, mdi, 1700000000, 3), &len);
	swap_format(c, buf, len, NS_BUNDLE_MAGIC_V1);
	free(buf);
	ns_store_close(c);
	ns_store_close(a);
	ns_store_close(b);
}

/*
 * An equivocating origin: b holds MDI's seq 1 and 2 and then a different
 * seq 1, and so a proof. A bundle from b carries the events and the proof;
 * the importer records the proof and quarantines MDI too.
 */
static void test_proofs_carried(void)
{
	ns_store *b = mkstore("N07", NS_ROLE_PROBATION), *c = mkstore("LEI", NS_ROLE_PRISON);
	ns_identity mdi;
	ns_input in1, in2;
	ns_event *e1, *e1b, *e2;
	ns_import_report r;
	ns_diag d;
	int res[2], q = 0;

	ns_identity_generate(&mdi, "MDI", NS_ROLE_PRISON);
	CHECK_INT(ns_input_parse(course[0], strlen(course[0]), &in1, &d), 0);
	CHECK_INT(ns_input_parse(course[1], strlen(course[1]), &in2, &d), 0);
	ns_event_build(&mdi, 1, NULL, in1.occurred_at, 1, in1.offender, in1.payload, &e1);
	ns_event_build(&mdi, 1, NULL, in2.occurred_at, 1, in2.offender, in2.payload, &e1b);
	ns_event_build(&mdi, 2, e1->id, in2.occurred_at, 2, in2.offender, in2.payload, &e2);
	ns_event *batch[2] = { e1, e2 };
	CHECK_INT(ns_store_ingest(b, batch, 2, 0, res, NULL), 0);
	CHECK_INT(ns_store_ingest(b, &e1b, 1, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_EEQUIV);

	uint64_t count;
	const char *path = export_to(b, NULL, 0, &count);
	CHECK_INT(count, 2);
	size_t len;
	uint8_t *buf = slurp(path, &len);
	CHECK_INT(ns_bundle_check(buf, len, &r, &d), 0);
	CHECK_INT(r.events, 2); /* proofs are not counted as events */
	CHECK_STR(r.exporter, "N07");

	CHECK_INT(ns_bundle_import(c, path, &r, &d), 0);
	CHECK_INT(r.applied, 2);
	CHECK_INT(r.proofs, 1);
	CHECK_INT(vv_seq(c, mdi.pk, &q, NULL), 2);
	CHECK_INT(q, 1);
	ns_proof *p;
	size_t np;
	CHECK_INT(ns_store_proofs(c, &p, &np), 0);
	CHECK_INT(np, 1);
	if (np == 1)
		CHECK(memcmp(p[0].origin, mdi.pk, NS_KEY_BYTES) == 0);
	ns_proofs_free(p, np);
	/* Quarantined: MDI's events are refused at c now. */
	ns_event *e3;
	ns_event_build(&mdi, 3, e2->id, in2.occurred_at, 3, in2.offender, in2.payload, &e3);
	CHECK_INT(ns_store_ingest(c, &e3, 1, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_EQUARANTINED);
	ns_event_free(e3);

	/* Again: nothing new, the proof already known. */
	snapshot s1 = snap(c);
	CHECK_INT(ns_bundle_import(c, path, &r, &d), 0);
	CHECK_INT(r.proofs, 0);
	CHECK_INT(r.applied, 0);
	snapshot s2 = snap(c);
	CHECK(snap_equal(&s1, &s2));
	CHECK_INT(s2.nproofs, 1);
	snap_free(&s1);
	snap_free(&s2);

	/* A flipped byte in the proof's second event: refused, with the proof's offset. */
	ns_store *fresh = mkstore("BXI", NS_ROLE_PRISON);
	snapshot f0 = snap(fresh);
	layout l = parse_layout(buf, len);
	CHECK_INT(l.n, 4);
	CHECK(l.kind[0] == 'E' && l.kind[1] == 'E' && l.kind[2] == 'P' && l.kind[3] == 'T');
	if (l.n == 4) {
		uint8_t *copy = malloc(len);
		memcpy(copy, buf, len);
		/* The last byte of record P: inside its second event. */
		copy[l.t - 1] ^= 0x01;
		char msg[64];
		snprintf(msg, sizeof(msg), "event at byte %zu: ", l.at[2]);
		REFUSED(fresh, copy, len, msg);
		free(copy);
	}
	snapshot f1 = snap(fresh);
	CHECK(snap_equal(&f0, &f1));
	CHECK_INT(f1.nproofs, 0);
	snap_free(&f0);
	snap_free(&f1);
	ns_store_close(fresh);

	free(buf);
	ns_event_free(e1);
	ns_event_free(e1b);
	ns_event_free(e2);
	ns_input_clear(&in1);
	ns_input_clear(&in2);
	ns_store_close(b);
	ns_store_close(c);
}

static void test_import_twice_idempotent(void)
{
	ns_store *a = mkstore("MDI", NS_ROLE_PRISON), *c = victim();
	ns_import_report r;
	ns_diag d;

	CHECK_INT(append(a, course, 5), 0);
	const char *path = export_to(a, NULL, 0, NULL);
	char keep[300];
	snprintf(keep, sizeof(keep), "%s", path);
	CHECK_INT(ns_bundle_import(c, keep, &r, &d), 0);
	CHECK_INT(r.applied, 5);
	snapshot s1 = snap(c);
	CHECK_INT(ns_bundle_import(c, keep, &r, &d), 0);
	report_is(&r, 5, 0, 5, 0, 0);
	snapshot s2 = snap(c);
	CHECK(snap_equal(&s1, &s2));
	snap_free(&s1);
	snap_free(&s2);
	ns_verify_report vr;
	CHECK_INT(ns_store_verify(c, &vr), 0);
	CHECK_INT(vr.events, 7);
	ns_store_close(a);
	ns_store_close(c);
}

int main(void)
{
	if (mkdtemp(tmproot) == NULL)
		return 1;
	ns_crypto_init();
	RUN(test_export_import_converge);
	RUN(test_export_since);
	RUN(test_truncated);
	RUN(test_damaged);
	RUN(test_trailer_tampered);
	RUN(test_report_exporter);
	RUN(test_format1_still_imports);
	RUN(test_proofs_carried);
	RUN(test_import_twice_idempotent);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmproot);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmproot);
	return TEST_SUMMARY();
}
