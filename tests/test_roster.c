/*
 * Unit tests for the roster: parsing, lookups, the trust policy and the
 * curve25519 keys derived from identities.
 */
#include "fixtures.h"
#include "test.h"

#include <nomsync/event.h>
#include <nomsync/roster.h>

#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static ns_identity mdi, lei, n07, hub, court;
static char mdi_hex[65], lei_hex[65], n07_hex[65], hub_hex[65], court_hex[65];

/* A signed prisoner.received event from @p id. */
static ns_event *make(const ns_identity *id)
{
	Nomsync__Payload *p = ns_test_received(id->site);
	ns_event *ev = NULL;
	CHECK_INT(ns_event_build(id, 1, NULL, 1767603600, 1767603700, "A1234BC", p, &ev), 0);
	nomsync__payload__free_unpacked(p, NULL);
	return ev;
}

/* printf into a static buffer (one roster text at a time). */
static const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static const char *fmt(const char *f, ...)
{
	static char buf[4096];
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	CHECK(n > 0 && (size_t)n < sizeof(buf));
	return buf;
}

/* Parse must fail with NS_ECONFIG, the message naming "line N" and containing @p what. */
static void expect_error(const char *text, size_t line, const char *what, int src_line)
{
	ns_roster r;
	ns_diag d;
	char want[32];

	memset(&d, 0, sizeof(d));
	memset(&r, 0x5a, sizeof(r));
	int rc = ns_roster_parse(text, strlen(text), &r, &d);
	snprintf(want, sizeof(want), "line %zu:", line);
	if (rc != NS_ECONFIG || strstr(d.msg, want) == NULL || strstr(d.msg, what) == NULL) {
		fprintf(stderr, "%s:%d: roster error: rc %d, msg \"%s\"; want NS_ECONFIG, \"%s\", \"%s\"\n",
			__FILE__, src_line, rc, d.msg, want, what);
		ns_test_failed_checks++;
	}
	CHECK_STR(d.field, "roster");
	/* A failed parse leaves nothing to free. */
	CHECK(r.e == NULL);
	CHECK_INT(r.n, 0);
	ns_roster_free(&r);
}
#define EXPECT_ERROR(text, line, what) expect_error(text, line, what, __LINE__)

static void test_parse_and_lookup(void)
{
	const char *text = fmt("# site   role       region  key\n"
			       "\n"
			       "MDI      prison     -       %s   # Moorland\n"
			       "   \t\n"
			       "N07\tprobation\tN07\t%s\n"
			       "# a comment line\n"
			       "HUBNE    hub        -       %s\n"
			       "LEI      prison     N55     %s\n"
			       "CRT01    court      -       %s", /* no final newline */
			       mdi_hex, n07_hex, hub_hex, lei_hex, court_hex);
	ns_roster r;
	ns_diag d;
	uint8_t cpk[32], csk[32], zero[32] = { 0 };

	memset(&d, 0, sizeof(d));
	CHECK_INT(ns_roster_parse(text, strlen(text), &r, &d), 0);
	CHECK_STR(d.msg, "");
	CHECK_INT(r.n, 5);
	if (r.n != 5) {
		ns_roster_free(&r);
		return;
	}
	/* Entries keep file order. */
	CHECK_STR(r.e[0].site, "MDI");
	CHECK_INT(r.e[0].role, NS_ROLE_PRISON);
	CHECK_STR(r.e[0].region, "");
	CHECK(memcmp(r.e[0].pk, mdi.pk, 32) == 0);
	CHECK_STR(r.e[1].site, "N07");
	CHECK_INT(r.e[1].role, NS_ROLE_PROBATION);
	CHECK_STR(r.e[1].region, "N07");
	CHECK_STR(r.e[2].site, "HUBNE");
	CHECK_INT(r.e[2].role, NS_ROLE_HUB);
	CHECK_STR(r.e[3].region, "N55");
	CHECK_INT(r.e[4].role, NS_ROLE_COURT);
	CHECK_STR(r.e[4].site, "CRT01");

	/* By key. */
	const ns_identity *ids[] = { &mdi, &n07, &hub, &lei, &court };
	for (size_t i = 0; i < 5; i++) {
		const ns_roster_entry *e = ns_roster_by_key(&r, ids[i]->pk);
		CHECK(e == &r.e[i]);
		/* By site. */
		CHECK(ns_roster_by_site(&r, r.e[i].site) == &r.e[i]);
		/* By curve: the identity's own curve key is the entry's. */
		CHECK_INT(ns_curve_keys(ids[i], cpk, csk), 0);
		CHECK(memcmp(cpk, r.e[i].curve_pk, 32) == 0);
		CHECK(ns_roster_by_curve(&r, cpk) == &r.e[i]);
		/* The curve secret matches the curve public key. */
		uint8_t derived[32];
		CHECK_INT(crypto_scalarmult_base(derived, csk), 0);
		CHECK(memcmp(derived, cpk, 32) == 0);
		/* The Ed25519 key is not a curve key, nor the reverse. */
		CHECK(ns_roster_by_curve(&r, ids[i]->pk) == NULL);
		CHECK(ns_roster_by_key(&r, cpk) == NULL);
	}
	CHECK(ns_roster_by_key(&r, zero) == NULL);
	CHECK(ns_roster_by_curve(&r, zero) == NULL);
	CHECK(ns_roster_by_site(&r, "BMI") == NULL);
	CHECK(ns_roster_by_site(&r, "mdi") == NULL);
	CHECK(ns_roster_by_site(&r, "") == NULL);

	ns_roster_free(&r);
	CHECK(r.e == NULL);
	CHECK_INT(r.n, 0);
	ns_roster_free(&r); /* twice is harmless */
	ns_roster_free(NULL);
}

static void test_empty(void)
{
	ns_roster r;
	ns_diag d;
	const char *only_comments = "# nothing here\n\n   \n\t# indented comment\n";

	CHECK_INT(ns_roster_parse("", 0, &r, &d), 0);
	CHECK_INT(r.n, 0);
	ns_roster_free(&r);
	CHECK_INT(ns_roster_parse(only_comments, strlen(only_comments), &r, &d), 0);
	CHECK_INT(r.n, 0);
	CHECK(ns_roster_by_site(&r, "MDI") == NULL);
	CHECK(ns_roster_by_key(&r, mdi.pk) == NULL);
	ns_roster_free(&r);
	/* len bounds the text: what follows is not read. */
	const char *t = fmt("\nMDI prison - %s\n", mdi_hex);
	CHECK_INT(ns_roster_parse(t, 1, &r, &d), 0);
	CHECK_INT(r.n, 0);
	ns_roster_free(&r);
	/* CRLF line endings are whitespace to the parser. */
	t = fmt("MDI prison - %s\r\nN07 probation N07 %s\r\n", mdi_hex, n07_hex);
	CHECK_INT(ns_roster_parse(t, strlen(t), &r, &d), 0);
	CHECK_INT(r.n, 2);
	ns_roster_free(&r);
}

static void test_trust(void)
{
	ns_roster r;
	ns_diag d;
	ns_event *ev_mdi = make(&mdi), *ev_lei = make(&lei);
	const char *t;

	CHECK(ev_mdi != NULL && ev_lei != NULL);
	if (ev_mdi == NULL || ev_lei == NULL)
		goto out;

	/* Listed with the same site and role: trusted. */
	t = fmt("MDI prison - %s\nHUBNE hub - %s\n", mdi_hex, hub_hex);
	CHECK_INT(ns_roster_parse(t, strlen(t), &r, &d), 0);
	CHECK_INT(ns_roster_trust(&r, ev_mdi), 0);
	/* Origin not listed. */
	CHECK_INT(ns_roster_trust(&r, ev_lei), NS_EUNKNOWN);
	ns_roster_free(&r);

	/* Empty roster trusts nobody. */
	CHECK_INT(ns_roster_parse("", 0, &r, &d), 0);
	CHECK_INT(ns_roster_trust(&r, ev_mdi), NS_EUNKNOWN);
	ns_roster_free(&r);

	/* The key is listed as probation N07, but the event claims prison MDI. */
	t = fmt("N07 probation N07 %s\n", mdi_hex);
	CHECK_INT(ns_roster_parse(t, strlen(t), &r, &d), 0);
	CHECK_INT(ns_roster_trust(&r, ev_mdi), NS_EROLE);
	ns_roster_free(&r);

	/* Same role, different site: the key is LEI's in the roster. */
	t = fmt("LEI prison - %s\nMDI prison - %s\n", mdi_hex, lei_hex);
	CHECK_INT(ns_roster_parse(t, strlen(t), &r, &d), 0);
	CHECK_INT(ns_roster_trust(&r, ev_mdi), NS_EROLE);
	CHECK_INT(ns_roster_trust(&r, ev_lei), NS_EROLE);
	ns_roster_free(&r);

	/* Same site code, different role: a hub called MDI. */
	t = fmt("MDI hub - %s\n", mdi_hex);
	CHECK_INT(ns_roster_parse(t, strlen(t), &r, &d), 0);
	CHECK_INT(ns_roster_trust(&r, ev_mdi), NS_EROLE);
	ns_roster_free(&r);
out:
	ns_event_free(ev_mdi);
	ns_event_free(ev_lei);
}

static void test_errors(void)
{
	char bad_hex[65], upper[65];
	uint8_t bad[32], c[32];

	/* Field count: too few, too many (a fifth word). */
	EXPECT_ERROR(fmt("# header\nMDI prison %s\n", mdi_hex), 2, "expected 'SITE ROLE REGION KEY'");
	EXPECT_ERROR(fmt("MDI prison - %s\n\nLEI prison - %s extra\n", mdi_hex, lei_hex), 3,
		     "expected 'SITE ROLE REGION KEY'");
	EXPECT_ERROR("MDI\n", 1, "expected");
	/* A comment ends the fields: the key after '#' is not seen. */
	EXPECT_ERROR(fmt("MDI prison - # %s\n", mdi_hex), 1, "expected");

	/* A long word is one field, never split across two: a key given without
	 * the region column is a field-count error, not a bad region. */
	EXPECT_ERROR(fmt("MDI prison %s # no region\n", mdi_hex), 1, "region '-' if none");
	EXPECT_ERROR(fmt("MDI prison - %s%s%s\n", mdi_hex, lei_hex, n07_hex), 1, "64 hex digits");
	EXPECT_ERROR(fmt("MDI prisonprisonprisonprisonprisonprison - %s\n", mdi_hex), 1,
		     "unknown role 'prisonprisonprisonprisonprisonprison'");

	/* Unknown role (names are lower case). */
	EXPECT_ERROR(fmt("MDI prison - %s\nLEI jail - %s\n", mdi_hex, lei_hex), 2, "unknown role 'jail'");
	EXPECT_ERROR(fmt("MDI PRISON - %s\n", mdi_hex), 1, "unknown role 'PRISON'");

	/* Site code invalid for its role. */
	EXPECT_ERROR(fmt("\n\nXYZ prison - %s\n", mdi_hex), 3, "'XYZ' is not a valid prison site code");
	EXPECT_ERROR(fmt("N07 probation N07 %s\nN99 probation - %s\n", n07_hex, mdi_hex), 2,
		     "'N99' is not a valid probation site code");
	EXPECT_ERROR(fmt("MDI probation N07 %s\n", mdi_hex), 1, "'MDI' is not a valid probation site code");
	EXPECT_ERROR(fmt("N07 prison - %s\n", mdi_hex), 1, "'N07' is not a valid prison site code");
	EXPECT_ERROR(fmt("c1 court - %s\n", mdi_hex), 1, "not a valid court site code");
	EXPECT_ERROR(fmt("HUB.NE hub - %s\n", mdi_hex), 1, "not a valid hub site code");
	/* Longer than NS_SITE_MAX - 1 (valid characters for a hub otherwise). */
	EXPECT_ERROR(fmt("ABCDEFGHIJKLMNOP hub - %s\n", mdi_hex), 1, "not a valid hub site code");

	/* Bad region. */
	EXPECT_ERROR(fmt("MDI prison - %s\nN07 probation N99 %s\n", mdi_hex, n07_hex), 2,
		     "'N99' is not a probation region code");
	EXPECT_ERROR(fmt("MDI prison none %s\n", mdi_hex), 1, "'none' is not a probation region code");

	/* Key not 64 hex digits: short, long, non-hex. */
	EXPECT_ERROR(fmt("MDI prison - %.62s\n", mdi_hex), 1, "64 hex digits");
	EXPECT_ERROR(fmt("MDI prison - %s00\n", mdi_hex), 1, "64 hex digits");
	memcpy(bad_hex, mdi_hex, 65);
	bad_hex[10] = 'g';
	EXPECT_ERROR(fmt("# x\n# y\n# z\nMDI prison - %s\n", bad_hex), 4, "64 hex digits");
	/* Upper-case hex is still hex. */
	for (size_t i = 0; i < 65; i++)
		upper[i] = (char)(mdi_hex[i] >= 'a' && mdi_hex[i] <= 'f' ? mdi_hex[i] - 32 : mdi_hex[i]);
	{
		ns_roster r;
		const char *t = fmt("MDI prison - %s\n", upper);
		CHECK_INT(ns_roster_parse(t, strlen(t), &r, NULL), 0);
		CHECK(r.n == 1 && memcmp(r.e[0].pk, mdi.pk, 32) == 0);
		ns_roster_free(&r);
	}

	/* Well-formed hex that libsodium will not convert to a curve key. First
	 * show libsodium rejects each value, then that the roster does too. */
	static const uint8_t fills[] = { 0x00, 0xff };
	for (size_t i = 0; i < sizeof(fills); i++) {
		memset(bad, fills[i], 32);
		CHECK_INT(crypto_sign_ed25519_pk_to_curve25519(c, bad), -1);
		ns_hex(bad_hex, bad, 32);
		EXPECT_ERROR(fmt("MDI prison - %s\nLEI prison - %s\n", mdi_hex, bad_hex), 2,
			     "valid Ed25519 public key");
	}
	/* y = 2, high (sign) bit set: not a point libsodium accepts. */
	memset(bad, 0, 32);
	bad[0] = 2;
	bad[31] = 0x80;
	CHECK_INT(crypto_sign_ed25519_pk_to_curve25519(c, bad), -1);
	ns_hex(bad_hex, bad, 32);
	EXPECT_ERROR(fmt("MDI prison - %s\n", bad_hex), 1, "valid Ed25519 public key");

	/* Duplicate site (different keys), duplicate key (different sites). */
	EXPECT_ERROR(fmt("MDI prison - %s\nN07 probation N07 %s\nMDI prison - %s\n", mdi_hex, n07_hex, lei_hex),
		     3, "site MDI or its key is listed twice");
	EXPECT_ERROR(fmt("MDI prison - %s\n# again\nLEI prison - %s\n", mdi_hex, mdi_hex), 3,
		     "site LEI or its key is listed twice");

	/* Two keys that differ only in the sign bit: one transport key (fuzz_roster found it). */
	memcpy(bad, mdi.pk, 32);
	bad[31] ^= 0x80;
	uint8_t c2[32];
	CHECK_INT(crypto_sign_ed25519_pk_to_curve25519(c, bad), 0);
	CHECK_INT(crypto_sign_ed25519_pk_to_curve25519(c2, mdi.pk), 0);
	CHECK(memcmp(c, c2, 32) == 0);
	ns_hex(bad_hex, bad, 32);
	EXPECT_ERROR(fmt("MDI prison - %s\nLEI prison - %s\n", mdi_hex, bad_hex), 2,
		     "LEI's key converts to the same transport key as MDI's");

	/* A NULL diag is allowed. */
	{
		ns_roster r;
		CHECK_INT(ns_roster_parse("MDI\n", 4, &r, NULL), NS_ECONFIG);
		ns_roster_free(&r);
	}
}

static void test_load(void)
{
	char path[] = "/tmp/ns_test_roster_XXXXXX";
	ns_roster r;
	ns_diag d;
	int fd = mkstemp(path);
	const char *t;

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	t = fmt("# test roster\nMDI prison - %s\nN07 probation N07 %s\n", mdi_hex, n07_hex);
	CHECK_INT(write(fd, t, strlen(t)), (long long)strlen(t));
	close(fd);
	CHECK_INT(ns_roster_load(path, &r, &d), 0);
	CHECK_INT(r.n, 2);
	CHECK(ns_roster_by_key(&r, n07.pk) != NULL && strcmp(ns_roster_by_key(&r, n07.pk)->site, "N07") == 0);
	ns_roster_free(&r);

	/* Errors in a loaded file name the line too. */
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0);
	t = fmt("MDI prison - %s\nXYZ prison - %s\n", mdi_hex, lei_hex);
	CHECK_INT(write(fd, t, strlen(t)), (long long)strlen(t));
	close(fd);
	memset(&d, 0, sizeof(d));
	CHECK_INT(ns_roster_load(path, &r, &d), NS_ECONFIG);
	CHECK(strstr(d.msg, "line 2:") != NULL);
	CHECK(r.e == NULL && r.n == 0);

	/* Empty file. */
	fd = open(path, O_WRONLY | O_TRUNC);
	close(fd);
	CHECK_INT(ns_roster_load(path, &r, &d), 0);
	CHECK_INT(r.n, 0);
	ns_roster_free(&r);
	unlink(path);

	/* Missing file. */
	memset(&d, 0, sizeof(d));
	CHECK_INT(ns_roster_load(path, &r, &d), NS_ECONFIG);
	CHECK(strstr(d.msg, path) != NULL);
	CHECK(r.e == NULL && r.n == 0);
	CHECK_INT(ns_roster_load("/nonexistent/dir/roster", &r, NULL), NS_ECONFIG);
}

static void test_curve_keys(void)
{
	uint8_t pk1[32], sk1[32], pk2[32], sk2[32];

	/* Deterministic, distinct per identity. */
	CHECK_INT(ns_curve_keys(&mdi, pk1, sk1), 0);
	CHECK_INT(ns_curve_keys(&mdi, pk2, sk2), 0);
	CHECK(memcmp(pk1, pk2, 32) == 0 && memcmp(sk1, sk2, 32) == 0);
	CHECK_INT(ns_curve_keys(&lei, pk2, sk2), 0);
	CHECK(memcmp(pk1, pk2, 32) != 0);

	/* An identity whose public key is not a valid point. */
	ns_identity broken = mdi;
	memset(broken.pk, 0, sizeof(broken.pk));
	CHECK_INT(ns_curve_keys(&broken, pk1, sk1), NS_EKEY);
	ns_identity_wipe(&broken);
}

/* Build an authority event with a roster payload (seq @seq of @auth). */
static ns_event *roster_event(const ns_identity *auth, uint64_t seq, const uint8_t *prev, Nomsync__Payload *p)
{
	ns_event *ev = NULL;
	CHECK_INT(ns_event_build(auth, seq, prev, 1767603600, 1767603600, NS_ROSTER_REF, p, &ev), 0);
	return ev;
}

static void test_signed_roster_and_changes(void)
{
	ns_identity auth, rogue, wdi, mdi2;
	char *signed_text;
	size_t slen;
	ns_roster r;
	ns_diag d;
	const char *text = fmt("MDI prison - %s\nHUBNE hub - %s\n", mdi_hex, hub_hex);

	ns_identity_generate(&auth, "AUTHORITY", NS_ROLE_AUTHORITY);
	ns_identity_generate(&rogue, "AUTHORITY", NS_ROLE_AUTHORITY);
	CHECK_INT(ns_roster_check_signature(text, strlen(text), auth.pk, &d), NS_ECONFIG);
	CHECK(strstr(d.msg, "not signed") != NULL);
	CHECK_INT(ns_roster_sign(text, strlen(text), &auth, &signed_text, &slen), 0);
	CHECK_INT(ns_roster_check_signature(signed_text, slen, auth.pk, &d), 0);
	CHECK_INT(ns_roster_check_signature(signed_text, slen, rogue.pk, &d), NS_ECONFIG);
	/* Re-signing replaces the old signature line. */
	char *again;
	size_t alen;
	CHECK_INT(ns_roster_sign(signed_text, slen, &auth, &again, &alen), 0);
	CHECK_INT(alen, slen);
	free(again);
	signed_text[0] = 'W'; /* MDI -> WDI: altered after signing */
	CHECK_INT(ns_roster_check_signature(signed_text, slen, auth.pk, &d), NS_ECONFIG);
	CHECK(strstr(d.msg, "does not verify") != NULL);
	signed_text[0] = 'M';
	CHECK_INT(ns_roster_parse(signed_text, slen, &r, &d), 0);
	CHECK_INT(r.n, 2);
	r.has_authority = 1;
	memcpy(r.authority, auth.pk, 32);

	/* Add a site. */
	Nomsync__Payload p = NOMSYNC__PAYLOAD__INIT;
	Nomsync__RosterSiteAdded add = NOMSYNC__ROSTER_SITE_ADDED__INIT;
	char wdi_hex[65], mdi2_hex[65];
	ns_identity_generate(&wdi, "WDI", NS_ROLE_PRISON);
	ns_hex(wdi_hex, wdi.pk, 32);
	add.site = "WDI";
	add.role = "prison";
	add.key = wdi_hex;
	p.body_case = NOMSYNC__PAYLOAD__BODY_ROSTER_SITE_ADDED;
	p.roster_site_added = &add;
	ns_event *e1 = roster_event(&auth, 1, NULL, &p), *forged = roster_event(&rogue, 1, NULL, &p);
	CHECK_INT(ns_roster_apply(&r, forged, &d), NS_EUNKNOWN);
	CHECK_INT(ns_roster_trust(&r, forged), NS_EUNKNOWN);
	CHECK_INT(ns_roster_trust(&r, e1), 0);
	CHECK_INT(ns_roster_apply(&r, e1, &d), 0);
	CHECK_INT(ns_roster_apply(&r, e1, &d), 0); /* idempotent */
	CHECK_INT(r.n, 3);
	CHECK(ns_roster_by_site(&r, "WDI") != NULL);
	ns_event *w = make(&wdi);
	CHECK_INT(ns_roster_trust(&r, w), 0);
	/* A site whose key is WDI's with the sign bit flipped: WDI's transport key, refused. */
	char twin_hex[65];
	uint8_t twin[32];
	memcpy(twin, wdi.pk, 32);
	twin[31] ^= 0x80;
	ns_hex(twin_hex, twin, 32);
	add.site = "LEI";
	add.key = twin_hex;
	ns_event *et = roster_event(&auth, 9, NULL, &p);
	CHECK_INT(ns_roster_apply(&r, et, &d), NS_EVALID);
	CHECK(strstr(d.msg, "transport key") != NULL);
	CHECK_INT(r.n, 3);
	ns_event_free(et);

	/* Rotate MDI's key, then revoke the old one from seq 2. */
	Nomsync__RosterKeyRotated rot = NOMSYNC__ROSTER_KEY_ROTATED__INIT;
	ns_identity_generate(&mdi2, "MDI", NS_ROLE_PRISON);
	ns_hex(mdi2_hex, mdi2.pk, 32);
	rot.site = "MDI";
	rot.old_key = mdi_hex;
	rot.new_key = mdi2_hex;
	p.body_case = NOMSYNC__PAYLOAD__BODY_ROSTER_KEY_ROTATED;
	p.roster_key_rotated = &rot;
	ns_event *e2 = roster_event(&auth, 2, e1->id, &p);
	CHECK_INT(ns_roster_apply(&r, e2, &d), 0);
	CHECK(memcmp(ns_roster_by_site(&r, "MDI")->pk, mdi2.pk, 32) == 0);
	Nomsync__RosterKeyRevoked rev = NOMSYNC__ROSTER_KEY_REVOKED__INIT;
	rev.site = "MDI";
	rev.key = mdi_hex;
	rev.from_seq = 2;
	p.body_case = NOMSYNC__PAYLOAD__BODY_ROSTER_KEY_REVOKED;
	p.roster_key_revoked = &rev;
	ns_event *e3 = roster_event(&auth, 3, e2->id, &p);
	CHECK_INT(ns_roster_apply(&r, e3, &d), 0);
	ns_event *old1 = make(&mdi); /* seq 1: before the revocation point */
	CHECK_INT(ns_roster_trust(&r, old1), 0);
	Nomsync__Payload *rp = ns_test_received("MDI");
	ns_event *old2 = NULL;
	ns_event_build(&mdi, 2, old1->id, 1767603600, 1767603600, "A1234BC", rp, &old2);
	nomsync__payload__free_unpacked(rp, NULL);
	CHECK_INT(ns_roster_trust(&r, old2), NS_EREVOKED);
	ns_event *new1 = make(&mdi2);
	CHECK_INT(ns_roster_trust(&r, new1), 0);
	uint8_t cpk[32], csk[32];
	ns_curve_keys(&mdi, cpk, csk);
	CHECK(ns_roster_by_curve(&r, cpk) == NULL); /* a revoked key may not connect */
	ns_curve_keys(&mdi2, cpk, csk);
	CHECK(ns_roster_by_curve(&r, cpk) != NULL);
	/* Rotating a key that is not listed is refused. */
	rot.old_key = wdi_hex;
	rot.site = "LEI";
	p.body_case = NOMSYNC__PAYLOAD__BODY_ROSTER_KEY_ROTATED;
	p.roster_key_rotated = &rot;
	ns_event *e4 = roster_event(&auth, 4, e3->id, &p);
	CHECK_INT(ns_roster_apply(&r, e4, &d), NS_EVALID);
	/* Rotating to a key that is a listed site's transport key is refused. */
	rot.site = "WDI";
	rot.old_key = wdi_hex;
	memcpy(twin, hub.pk, 32);
	twin[31] ^= 0x80;
	ns_hex(twin_hex, twin, 32);
	rot.new_key = twin_hex;
	size_t before = r.n;
	ns_event *e5 = roster_event(&auth, 5, e4->id, &p);
	CHECK_INT(ns_roster_apply(&r, e5, &d), NS_EVALID);
	CHECK(strstr(d.msg, "transport key") != NULL);
	CHECK_INT(r.n, before);
	ns_event_free(e5);
	for (ns_event **e = (ns_event *[]){ e1, e2, e3, e4, forged, w, old1, old2, new1 }; *e != new1; e++)
		ns_event_free(*e);
	ns_event_free(new1);
	ns_roster_free(&r);
	free(signed_text);
}

/*
 * 10.2: a relay strips the authority's roster.key.revoked. The roster in
 * force stops before it (later changes wait) instead of skipping it, and
 * once its payload arrives the revocation takes effect, also on the revoked
 * key's events the store took in meanwhile.
 */
static void test_stripped_revocation(void)
{
	char dir[] = "/tmp/ns_test_roster_store_XXXXXX", path[300], store_dir[300];
	ns_identity auth;
	ns_store *s = NULL;
	ns_roster r;
	ns_diag d;
	uint64_t applied = 0;
	int res[4];

	CHECK(mkdtemp(dir) != NULL);
	ns_identity_generate(&auth, "AUTHORITY", NS_ROLE_AUTHORITY);
	snprintf(path, sizeof(path), "%s/roster", dir);
	snprintf(store_dir, sizeof(store_dir), "%s/n07", dir);
	const char *text = fmt("MDI prison - %s\nN07 probation N07 %s\n", mdi_hex, n07_hex);
	char *signed_text;
	size_t slen;
	CHECK_INT(ns_roster_sign(text, strlen(text), &auth, &signed_text, &slen), 0);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL && fwrite(signed_text, 1, slen, f) == slen);
	fclose(f);
	free(signed_text);
	CHECK_INT(ns_store_create(store_dir, "N07", NS_ROLE_PROBATION, &d), 0);
	CHECK_INT(ns_store_open(store_dir, NS_STORE_NOSYNC, &s, &d), 0);

	/* Authority: 1 revokes MDI from seq 2; 2 adds LEI. */
	Nomsync__Payload p = NOMSYNC__PAYLOAD__INIT;
	Nomsync__RosterKeyRevoked rev = NOMSYNC__ROSTER_KEY_REVOKED__INIT;
	rev.site = "MDI";
	rev.key = mdi_hex;
	rev.from_seq = 2;
	p.body_case = NOMSYNC__PAYLOAD__BODY_ROSTER_KEY_REVOKED;
	p.roster_key_revoked = &rev;
	ns_event *e1 = roster_event(&auth, 1, NULL, &p);
	Nomsync__RosterSiteAdded add = NOMSYNC__ROSTER_SITE_ADDED__INIT;
	add.site = "LEI";
	add.role = "prison";
	add.key = lei_hex;
	p.body_case = NOMSYNC__PAYLOAD__BODY_ROSTER_SITE_ADDED;
	p.roster_site_added = &add;
	ns_event *e2 = roster_event(&auth, 2, e1->id, &p);
	uint8_t *buf;
	size_t blen;
	ns_event *e1s = NULL;
	CHECK_INT(ns_event_encode_erased(e1, &buf, &blen), 0);
	CHECK_INT(ns_event_decode(buf, blen, &e1s, NULL), 0);
	free(buf);

	ns_event *stripped[2] = { e1s, e2 };
	CHECK_INT(ns_store_ingest(s, stripped, 2, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_APPLIED);
	CHECK_INT(ns_roster_load_store(path, auth.pk, s, &r, &applied, NULL, NULL, &d), 0);
	CHECK_INT(applied, 0); /* the stripped revocation and the change after it wait */
	CHECK_INT(ns_roster_by_key(&r, mdi.pk)->revoked_from, 0);
	CHECK(ns_roster_by_key(&r, lei.pk) == NULL);
	ns_roster_free(&r);

	/* MDI's seq 1 and 2 arrive meanwhile; then the revocation's payload. */
	ns_event *m1 = make(&mdi), *m2 = NULL;
	Nomsync__Payload *rp = ns_test_received("MDI");
	CHECK_INT(ns_event_build(&mdi, 2, m1->id, 1767603600, 1767603600, "A1234BC", rp, &m2), 0);
	nomsync__payload__free_unpacked(rp, NULL);
	ns_event *ms[2] = { m1, m2 };
	CHECK_INT(ns_store_ingest(s, ms, 2, 0, res, NULL), 0);
	CHECK_INT(ns_store_ingest(s, &e1, 1, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_APPLIED); /* completed */
	CHECK_INT(ns_roster_load_store(path, auth.pk, s, &r, &applied, NULL, NULL, &d), 0);
	CHECK_INT(applied, 2);
	CHECK_INT(ns_roster_by_key(&r, mdi.pk)->revoked_from, 2);
	CHECK(ns_roster_by_key(&r, lei.pk) != NULL);
	size_t changed = 0;
	CHECK_INT(ns_roster_enforce(&r, s, &changed, &d), 0);
	CHECK_INT(changed, 1);
	unsigned st = 0;
	CHECK_INT(ns_store_event_state(s, mdi.pk, 2, &st), 0);
	CHECK_INT(st, NS_EVENT_REVOKED);
	CHECK_INT(ns_roster_enforce(&r, s, &changed, &d), 0);
	CHECK_INT(changed, 0);
	ns_roster_free(&r);

	for (ns_event **e = (ns_event *[]){ e1, e2, e1s, m1, m2, NULL }; *e; e++)
		ns_event_free(*e);
	ns_store_close(s);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_INT(system(cmd), 0);
}

int main(void)
{
	ns_identity *ids[] = { &mdi, &lei, &n07, &hub, &court };
	char *hex[] = { mdi_hex, lei_hex, n07_hex, hub_hex, court_hex };

	if (ns_identity_generate(&mdi, "MDI", NS_ROLE_PRISON) != 0 ||
	    ns_identity_generate(&lei, "LEI", NS_ROLE_PRISON) != 0 ||
	    ns_identity_generate(&n07, "N07", NS_ROLE_PROBATION) != 0 ||
	    ns_identity_generate(&hub, "HUBNE", NS_ROLE_HUB) != 0 ||
	    ns_identity_generate(&court, "CRT01", NS_ROLE_COURT) != 0) {
		fprintf(stderr, "cannot generate identities\n");
		return 1;
	}
	for (size_t i = 0; i < 5; i++)
		ns_hex(hex[i], ids[i]->pk, 32);

	RUN(test_parse_and_lookup);
	RUN(test_empty);
	RUN(test_trust);
	RUN(test_errors);
	RUN(test_load);
	RUN(test_curve_keys);
	RUN(test_signed_roster_and_changes);
	RUN(test_stripped_revocation);

	for (size_t i = 0; i < 5; i++)
		ns_identity_wipe(ids[i]);
	return TEST_SUMMARY();
}
