/*
 * Unit tests for the LMDB store: append with validation and group commit,
 * ingest (duplicates, gaps held and drained, equivocation, forged and
 * forbidden events), identity linking, verify against on-disk tampering,
 * convergence of stores fed in different orders, bundles, erasure.
 */
#define _GNU_SOURCE /* memmem */
#include "test.h"

#include <nomsync/bundle.h>
#include <nomsync/store.h>
#include <nomsync/validate.h>

#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store_util.h"

static void test_create_open_errors(void)
{
	char dir[256];
	ns_store *s = mkstore("MDI", NS_ROLE_PRISON, dir), *t = NULL;
	ns_diag d;

	CHECK(s != NULL);
	CHECK_STR(ns_store_identity(s)->site, "MDI");
	CHECK_INT(ns_store_create(dir, "MDI", NS_ROLE_PRISON, &d), NS_EEXIST);
	CHECK_INT(ns_store_create("/tmp/ns-never-x", "XYZ", NS_ROLE_PRISON, &d), NS_EVALID);
	CHECK_INT(ns_store_create("/tmp/ns-never-x", "MDI", NS_ROLE_NONE, &d), NS_EVALID);
	CHECK_INT(ns_store_open("/tmp/ns-no-such-store", 0, &t, &d), NS_ENOTFOUND);
	CHECK(t == NULL);
	ns_store_close(s);

	/* A key that does not belong to the store is refused. */
	char other[256], key[300], okey[300];
	ns_store *o = mkstore("LEI", NS_ROLE_PRISON, other);
	ns_store_close(o);
	snprintf(key, sizeof(key), "%s/site.key", dir);
	snprintf(okey, sizeof(okey), "%s/site.key", other);
	CHECK_INT(rename(okey, key), 0);
	CHECK_INT(ns_store_open(dir, 0, &t, &d), NS_EKEY);
	unlink(key);
	CHECK_INT(ns_store_open(dir, 0, &t, &d), NS_EKEY);
}

static void test_append_and_view(void)
{
	ns_store *s = mkstore("MDI", NS_ROLE_PRISON, NULL);
	ns_diag d;
	char *view;
	size_t len;

	CHECK_INT(append(s, course, 3, &d), 0);
	CHECK_INT(vv_seq(s, ns_store_identity(s)->pk, NULL), 3);
	CHECK_INT(ns_store_view(s, "A1234BC", &view, &len, NULL), 0);
	CHECK(strstr(view, "\"status\":\"ACTIVE IN\"") != NULL);
	CHECK(strstr(view, "\"prison\":\"MDI\"") != NULL);
	free(view);
	CHECK_INT(ns_store_view(s, "Z9999ZZ", &view, &len, NULL), NS_ENOTFOUND);
	CHECK_INT(counter(s, "appended"), 3);
	ns_verify_report r;
	CHECK_INT(ns_store_verify(s, &r), 0);
	CHECK_INT(r.events, 3);
	CHECK_INT(r.views, 1);
	ns_store_close(s);
}

/*
 * After a commit the store keeps the file's tail, where LMDB writes next,
 * extended sparse and cached a page at a time (ns__warm_tail): the file is
 * longer than the used pages, takes no disk space for them, and the store
 * reopens and verifies as before.
 */
static void test_warm_tail(void)
{
	char dir[256], path[300];
	ns_store *s = mkstore("MDI", NS_ROLE_PRISON, dir);
	ns_diag d;
	struct stat st;
	uint64_t used;

	CHECK_INT(append(s, course, 3, &d), 0);
	CHECK_INT(ns_store_size(s, &used), 0);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	CHECK_INT(stat(path, &st), 0);
	CHECK((uint64_t)st.st_size >= used + (16u << 20));
	CHECK((uint64_t)st.st_blocks * 512 < used + (4u << 20));
	ns_store_close(s);
	CHECK_INT(ns_store_open(dir, NS_STORE_NOSYNC, &s, &d), 0);
	CHECK_INT(append(s, course + 2, 1, &d), 0);
	ns_verify_report r;
	CHECK_INT(ns_store_verify(s, &r), 0);
	CHECK_INT(r.events, 4);
	ns_store_close(s);
	/* A read-only open leaves the file alone. */
	CHECK_INT(stat(path, &st), 0);
	off_t size = st.st_size;
	CHECK_INT(ns_store_open(dir, NS_STORE_RDONLY, &s, &d), 0);
	CHECK_INT(ns_store_verify(s, &r), 0);
	ns_store_close(s);
	CHECK_INT(stat(path, &st), 0);
	CHECK_INT((long long)st.st_size, (long long)size);
}

static void test_append_rejects_write_nothing(void)
{
	ns_store *s = mkstore("MDI", NS_ROLE_PRISON, NULL);
	ns_diag d;
	const char *bad_prison[] = {
		course[0],
		"{\"type\":\"prisoner.received\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-01-01T15:00:00Z\","
		"\"prison\":\"XYZ\",\"reason\":\"NEW_ADMISSION\"}",
	};
	const char *bad_role[] = {
		"{\"type\":\"manager.com.allocated\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-01-01T15:00:00Z\","
		"\"region\":\"N07\",\"staff\":\"N07P123\"}",
	};
	const char *bad_noms[] = {
		"{\"type\":\"prisoner.received\",\"offender\":\"A12345C\",\"occurred_at\":\"2024-01-01T15:00:00Z\","
		"\"prison\":\"MDI\",\"reason\":\"NEW_ADMISSION\"}",
	};

	ns_diag_clear(&d);
	CHECK_INT(append(s, bad_prison, 2, &d), NS_EVALID);
	CHECK_STR(d.field, "prison");
	CHECK_INT(append(s, bad_role, 1, &d), NS_EROLE);
	CHECK_INT(append(s, bad_noms, 1, &d), NS_EVALID);
	CHECK_STR(d.field, "offender");
	CHECK_INT(vv_seq(s, ns_store_identity(s)->pk, NULL), 0);
	evlist l = all_events(s);
	CHECK_INT(l.n, 0);
	evlist_free(&l);
	ns_store_close(s);
}

static void test_ingest_dup_gap_drain(void)
{
	ns_store *a = mkstore("MDI", NS_ROLE_PRISON, NULL), *b = mkstore("N07", NS_ROLE_PROBATION, NULL);
	ns_diag d;
	int res[3];

	CHECK_INT(append(a, course, 3, &d), 0);
	evlist l = all_events(a);
	CHECK_INT(l.n, 3);
	/* Deliver 3 then 2: both held. Then 1 drains everything. */
	ns_event *late[2] = { l.ev[2], l.ev[1] };
	CHECK_INT(ns_store_ingest(b, late, 2, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_HELD);
	CHECK_INT(res[1], NS_INGEST_HELD);
	CHECK_INT(vv_seq(b, l.ev[0]->origin, NULL), 0);
	CHECK_INT(ns_store_ingest(b, late, 1, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_DUPLICATE);
	CHECK_INT(ns_store_ingest(b, l.ev, 1, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_APPLIED);
	CHECK_INT(vv_seq(b, l.ev[0]->origin, NULL), 3);
	CHECK_INT(ns_store_ingest(b, l.ev, 3, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_DUPLICATE);
	CHECK_INT(res[2], NS_INGEST_DUPLICATE);
	uint8_t da[32], db[32];
	ns_store_digest(a, NULL, da);
	ns_store_digest(b, NULL, db);
	CHECK(memcmp(da, db, 32) == 0);
	ns_verify_report r;
	CHECK_INT(ns_store_verify(b, &r), 0);
	evlist_free(&l);
	ns_store_close(a);
	ns_store_close(b);
}

static void test_ingest_rejections(void)
{
	ns_store *b = mkstore("N07", NS_ROLE_PROBATION, NULL);
	ns_identity court, rogue;
	ns_event *ev = NULL, *forged = NULL;
	ns_input in;
	ns_diag d;
	int res[2];

	/* A court signing a prison reception: decodes, verifies, but the role rule refuses it. */
	ns_identity_generate(&court, "SHEFCC", NS_ROLE_COURT);
	CHECK_INT(ns_input_parse(course[1], strlen(course[1]), &in, &d), 0);
	CHECK_INT(ns_event_build(&court, 1, NULL, in.occurred_at, in.occurred_at, in.offender, in.payload, &ev), 0);
	CHECK_INT(ns_store_ingest(b, &ev, 1, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_EROLE);
	ns_event_free(ev);

	/* A forged signature: another key's signature over the header. */
	ns_identity_generate(&rogue, "MDI", NS_ROLE_PRISON);
	ns_identity_generate(&court, "MDI", NS_ROLE_PRISON);
	CHECK_INT(ns_event_build(&court, 1, NULL, in.occurred_at, in.occurred_at, in.offender, in.payload, &ev), 0);
	uint8_t *copy = malloc(ev->raw_len);
	memcpy(copy, ev->raw, ev->raw_len);
	crypto_sign_detached(copy + (ev->signature - ev->raw), NULL, ev->header, ev->header_len, rogue.sk);
	CHECK_INT(ns_event_decode(copy, ev->raw_len, &forged, NULL), 0);
	CHECK_INT(ns_store_ingest(b, &forged, 1, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_ESIG);
	free(copy);
	ns_event_free(forged);
	ns_event_free(ev);
	ns_input_clear(&in);

	CHECK_INT(counter(b, "rejected.role"), 1);
	CHECK_INT(counter(b, "rejected.signature"), 1);
	evlist l = all_events(b);
	CHECK_INT(l.n, 0);
	evlist_free(&l);
	ns_store_close(b);
}

static void test_equivocation(void)
{
	ns_store *b = mkstore("N07", NS_ROLE_PROBATION, NULL);
	ns_identity mdi;
	ns_input in1, in2;
	ns_event *e1, *e1b, *e2, *e3, *e4;
	ns_diag d;
	int res[4], q = 0;

	ns_identity_generate(&mdi, "MDI", NS_ROLE_PRISON);
	ns_input_parse(course[0], strlen(course[0]), &in1, &d);
	ns_input_parse(course[1], strlen(course[1]), &in2, &d);
	ns_event_build(&mdi, 1, NULL, in1.occurred_at, 1, in1.offender, in1.payload, &e1);
	ns_event_build(&mdi, 1, NULL, in2.occurred_at, 1, in2.offender, in2.payload, &e1b);
	ns_event_build(&mdi, 2, e1->id, in2.occurred_at, 2, in2.offender, in2.payload, &e2);
	ns_event_build(&mdi, 3, e2->id, in2.occurred_at, 3, in2.offender, in2.payload, &e3);
	ns_event_build(&mdi, 4, e3->id, in2.occurred_at, 4, in2.offender, in2.payload, &e4);

	ns_event *batch[2] = { e1, e2 };
	CHECK_INT(ns_store_ingest(b, batch, 2, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_APPLIED);
	CHECK_INT(res[1], NS_INGEST_APPLIED);
	/* Same (origin, seq), different content. */
	CHECK_INT(ns_store_ingest(b, &e1b, 1, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_EEQUIV);
	CHECK_INT(vv_seq(b, mdi.pk, &q), 2);
	CHECK_INT(q, 1);
	CHECK_INT(ns_store_ingest(b, &e3, 1, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_EQUARANTINED);
	ns_proof *p;
	size_t np;
	CHECK_INT(ns_store_proofs(b, &p, &np), 0);
	CHECK_INT(np, 1);
	if (np == 1) {
		CHECK(memcmp(p[0].origin, mdi.pk, 32) == 0);
		/* The proof convinces a fresh store too. */
		ns_store *c = mkstore("LEI", NS_ROLE_PRISON, NULL);
		CHECK_INT(ns_store_add_proof(c, p[0].a, p[0].alen, p[0].b, p[0].blen), 0);
		CHECK_INT(ns_store_add_proof(c, p[0].a, p[0].alen, p[0].b, p[0].blen), NS_EEXIST);
		CHECK_INT(ns_store_ingest(c, &e1, 1, 0, res, NULL), 0);
		CHECK_INT(res[0], NS_EQUARANTINED);
		ns_store_close(c);
		/* Two identical events prove nothing. */
		ns_store *c2 = mkstore("BXI", NS_ROLE_PRISON, NULL);
		CHECK_INT(ns_store_add_proof(c2, p[0].a, p[0].alen, p[0].a, p[0].alen), NS_EINVAL);
		ns_store_close(c2);
	}
	ns_proofs_free(p, np);
	CHECK_INT(counter(b, "equivocations"), 1);

	/* A fork through prev: seq 4 held, then a different seq 3 chain. */
	ns_store *f = mkstore("WWI", NS_ROLE_PRISON, NULL);
	ns_event *e3x;
	ns_event_build(&mdi, 3, e1->id, in2.occurred_at, 9, in2.offender, in2.payload, &e3x);
	ns_event *fb[3] = { e1, e2, e3x };
	CHECK_INT(ns_store_ingest(f, fb, 3, 0, res, NULL), 0);
	CHECK_INT(res[2], NS_EEQUIV);
	CHECK_INT(vv_seq(f, mdi.pk, &q), 2);
	CHECK_INT(q, 1);
	ns_store_close(f);

	ns_event_free(e1);
	ns_event_free(e1b);
	ns_event_free(e2);
	ns_event_free(e3);
	ns_event_free(e3x);
	ns_event_free(e4);
	ns_input_clear(&in1);
	ns_input_clear(&in2);
	ns_store_close(b);
}

static void test_linking(void)
{
	ns_store *p = mkstore("N07", NS_ROLE_PROBATION, NULL);
	ns_diag d;
	const char *lines[] = {
		"{\"type\":\"manager.com.allocated\",\"offender\":\"X123456\",\"occurred_at\":\"2024-06-01T09:00:00Z\","
		"\"region\":\"N07\",\"staff\":\"N07P001\"}",
		"{\"type\":\"person.identifier.added\",\"offender\":\"X123456\",\"occurred_at\":\"2024-06-02T09:00:00Z\","
		"\"identifier_type\":\"NOMS\",\"value\":\"A1234BC\"}",
	};
	char *v1, *v2, canon[NS_REF_MAX];
	size_t l;

	CHECK_INT(append(p, lines, 1, &d), 0);
	CHECK_INT(ns_store_view(p, "X123456", &v1, &l, canon), 0);
	CHECK_STR(canon, "X123456");
	free(v1);
	CHECK_INT(append(p, lines + 1, 1, &d), 0);
	CHECK_INT(ns_store_view(p, "X123456", &v1, &l, canon), 0);
	CHECK_STR(canon, "A1234BC");
	CHECK_INT(ns_store_view(p, "A1234BC", &v2, &l, NULL), 0);
	CHECK_STR(v1, v2);
	CHECK(strstr(v1, "\"crn\":\"X123456\"") != NULL);
	CHECK(strstr(v1, "\"noms\":\"A1234BC\"") != NULL);
	free(v1);
	free(v2);
	uint64_t persons, events;
	ns_store_stats(p, &persons, &events);
	CHECK_INT(persons, 1);
	CHECK_INT(events, 2);
	ns_verify_report r;
	CHECK_INT(ns_store_verify(p, &r), 0);
	ns_store_close(p);
}

/* Flip one byte of @needle's first occurrence in a file. */
static int flip_in_file(const char *path, const char *needle)
{
	int fd = open(path, O_RDWR);
	struct stat st;
	fstat(fd, &st);
	char *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *hit = memmem(m, (size_t)st.st_size, needle, strlen(needle));
	if (hit)
		hit[1] ^= 0x01;
	msync(m, (size_t)st.st_size, MS_SYNC);
	munmap(m, (size_t)st.st_size);
	close(fd);
	return hit != NULL;
}

static void test_verify_detects_tampering(void)
{
	char dir[256], path[300];
	ns_store *s = mkstore("MDI", NS_ROLE_PRISON, dir);
	ns_verify_report r;
	ns_diag d;

	CHECK_INT(append(s, course, 3, &d), 0);
	ns_store_close(s);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	/* "SMITH" appears in the signed payload and in the view: flip the first. */
	CHECK(flip_in_file(path, "SMITH"));
	CHECK_INT(ns_store_open(dir, 0, &s, &d), 0);
	CHECK_INT(ns_store_verify(s, &r), NS_ECORRUPT);
	CHECK(r.bad > 0);
	CHECK(r.first[0] != '\0');
	ns_store_close(s);

	/* A tampered view alone is caught by re-folding. */
	s = mkstore("LEI", NS_ROLE_PRISON, dir);
	CHECK_INT(append(s, course, 2, &d), 0);
	ns_store_close(s);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	CHECK(flip_in_file(path, "\"status\":\"ACTIVE IN\""));
	CHECK_INT(ns_store_open(dir, 0, &s, &d), 0);
	CHECK_INT(ns_store_verify(s, &r), NS_ECORRUPT);
	CHECK(strstr(r.first, "view") != NULL);
	ns_store_close(s);
}

static void test_convergence_any_order(void)
{
	ns_store *mdi = mkstore("MDI", NS_ROLE_PRISON, NULL), *n07 = mkstore("N07", NS_ROLE_PROBATION, NULL);
	ns_store *x = mkstore("HUB1", NS_ROLE_HUB, NULL), *y = mkstore("HUB2", NS_ROLE_HUB, NULL);
	ns_diag d;
	const char *prob[] = {
		"{\"type\":\"person.identifier.added\",\"offender\":\"X654321\",\"occurred_at\":\"2024-01-03T09:00:00Z\","
		"\"identifier_type\":\"NOMS\",\"value\":\"A1234BC\"}",
		"{\"type\":\"manager.com.allocated\",\"offender\":\"X654321\",\"occurred_at\":\"2024-01-04T09:00:00Z\","
		"\"region\":\"N07\",\"staff\":\"N07P001\"}",
		"{\"type\":\"prisoner.released\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-01-05T09:00:00Z\","
		"\"prison\":\"MDI\",\"reason\":\"RELEASED\"}",
	};
	int res[16];

	CHECK_INT(append(mdi, course, 3, &d), 0);
	CHECK_INT(append(n07, prob, 2, &d), 0);
	CHECK_INT(append(n07, prob + 2, 1, &d), NS_EROLE); /* probation cannot release */
	evlist a = all_events(mdi), b = all_events(n07);
	/* x gets mdi then n07; y gets n07 reversed then mdi reversed. */
	CHECK_INT(ns_store_ingest(x, a.ev, a.n, 0, res, NULL), 0);
	CHECK_INT(ns_store_ingest(x, b.ev, b.n, 0, res, NULL), 0);
	for (size_t i = b.n; i-- > 0;)
		CHECK_INT(ns_store_ingest(y, &b.ev[i], 1, 0, res, NULL), 0);
	for (size_t i = a.n; i-- > 0;)
		CHECK_INT(ns_store_ingest(y, &a.ev[i], 1, 0, res, NULL), 0);
	uint8_t dx[32], dy[32];
	CHECK_INT(ns_store_digest(x, NULL, dx), 0);
	CHECK_INT(ns_store_digest(y, NULL, dy), 0);
	CHECK(memcmp(dx, dy, 32) == 0);
	CHECK_INT(ns_store_digest(x, "X654321", dx), 0);
	CHECK_INT(ns_store_digest(y, "A1234BC", dy), 0);
	CHECK(memcmp(dx, dy, 32) == 0);
	evlist_free(&a);
	evlist_free(&b);
	ns_store_close(mdi);
	ns_store_close(n07);
	ns_store_close(x);
	ns_store_close(y);
}

/* A probation area's events for the deferred-work tests: a CRN linked to A1234BC, and another person. */
static const char *const prob[] = {
	"{\"type\":\"person.identifier.added\",\"offender\":\"X654321\",\"occurred_at\":\"2024-01-03T09:00:00Z\","
	"\"identifier_type\":\"NOMS\",\"value\":\"A1234BC\"}",
	"{\"type\":\"manager.com.allocated\",\"offender\":\"X654321\",\"occurred_at\":\"2024-01-04T09:00:00Z\","
	"\"region\":\"N07\",\"staff\":\"N07P001\"}",
	"{\"type\":\"manager.com.allocated\",\"offender\":\"X111111\",\"occurred_at\":\"2024-01-04T09:00:00Z\","
	"\"region\":\"N07\",\"staff\":\"N07P002\"}",
};

/*
 * NS_INGEST_DEFER_FOLD: events stored, folds pending; views read on the fly
 * equal a normal ingest's; verify re-folds without comparing; a normal
 * ingest of a pending person clears its mark; fold_pending finishes the rest
 * and the stored views and digest equal the normally folded store's.
 */
static void test_deferred_folds(void)
{
	char dir[256];
	ns_store *mdi = mkstore("MDI", NS_ROLE_PRISON, NULL), *n07 = mkstore("N07", NS_ROLE_PROBATION, NULL);
	ns_store *x = mkstore("HUB1", NS_ROLE_HUB, NULL), *y = mkstore("HUB2", NS_ROLE_HUB, dir);
	ns_verify_report r;
	size_t left = 99;
	ns_diag d;
	int res[16];
	char *vx, *vy, canon[NS_REF_MAX];
	size_t lx, ly;
	uint8_t dx[32], dy[32];

	CHECK_INT(append(mdi, course, 3, &d), 0);
	CHECK_INT(append(n07, prob, 3, &d), 0);
	evlist a = all_events(mdi), b = all_events(n07);
	CHECK_INT(ns_store_ingest(x, a.ev, a.n, 0, res, NULL), 0);
	CHECK_INT(ns_store_ingest(x, b.ev, b.n, 0, res, NULL), 0);
	CHECK_INT(ns_store_ingest(y, a.ev, a.n, NS_INGEST_DEFER_FOLD, res, NULL), 0);
	CHECK_INT(ns_store_ingest(y, b.ev, b.n, NS_INGEST_DEFER_FOLD, res, NULL), 0);
	CHECK_INT(ns_store_fold_pending(y, 0, &left, NULL), 0);
	CHECK(left >= 2);
	/* Read through any identifier while pending: a fresh fold, same bytes. */
	CHECK_INT(ns_store_view(x, "X654321", &vx, &lx, NULL), 0);
	CHECK_INT(ns_store_view(y, "X654321", &vy, &ly, canon), 0);
	CHECK_STR(canon, "A1234BC");
	CHECK_STR(vx, vy);
	free(vy);
	CHECK_INT(ns_store_view(y, "A1234BC", &vy, &ly, NULL), 0);
	CHECK_STR(vx, vy);
	free(vy);
	CHECK_INT(ns_store_verify(y, &r), 0);
	CHECK(r.pending > 0);
	/* A normal ingest for a pending person folds it and clears its marks (A1234BC and X654321). */
	const char *more[] = { "{\"type\":\"alert.raised\",\"offender\":\"A1234BC\",\"occurred_at\":"
			       "\"2024-02-01T09:00:00Z\",\"alert_type\":\"H\",\"alert_code\":\"HA\","
			       "\"from_date\":\"2024-02-01\"}" };
	CHECK_INT(left, 3);
	CHECK_INT(append(mdi, more, 1, &d), 0);
	evlist c = all_events(mdi);
	CHECK_INT(ns_store_ingest(x, c.ev, c.n, 0, res, NULL), 0);
	CHECK_INT(ns_store_ingest(y, c.ev, c.n, 0, res, NULL), 0);
	CHECK_INT(ns_store_fold_pending(y, 0, &left, NULL), 0);
	CHECK_INT(left, 1);
	size_t before = left;
	/* Reopen (pending marks are durable), then fold in steps of one. */
	ns_store_close(y);
	CHECK_INT(ns_store_open(dir, 0, &y, &d), 0);
	CHECK_INT(ns_store_fold_pending(y, 0, &left, NULL), 0);
	CHECK_INT(left, before);
	CHECK_INT(ns_store_fold_pending(y, 1, &left, NULL), 0);
	CHECK_INT(left, 0);
	CHECK_INT(ns_store_verify(y, &r), 0);
	CHECK_INT(r.pending, 0);
	CHECK_INT(ns_store_digest(x, NULL, dx), 0);
	CHECK_INT(ns_store_digest(y, NULL, dy), 0);
	CHECK(memcmp(dx, dy, 32) == 0);
	free(vx);
	CHECK_INT(ns_store_view(x, "X111111", &vx, &lx, NULL), 0);
	CHECK_INT(ns_store_view(y, "X111111", &vy, &ly, NULL), 0);
	CHECK_STR(vx, vy);
	free(vx);
	free(vy);
	evlist_free(&a);
	evlist_free(&b);
	evlist_free(&c);
	ns_store_close(mdi);
	ns_store_close(n07);
	ns_store_close(x);
	ns_store_close(y);
}

/*
 * Deferred id index: a deferred ingest keeps ids out of the index; lookups
 * by id (a hub's correction, erasure), duplicate detection and verify work
 * meanwhile; passes in several steps survive a reopen, leave entries that
 * arrive mid-pass for the next pass, and end with every id indexed.
 */
static int correct(ns_store *s, const uint8_t id[NS_ID_BYTES], ns_diag *d)
{
	char hex[2 * NS_ID_BYTES + 1], line[512];
	const char *l = line;

	ns_hex(hex, id, NS_ID_BYTES);
	snprintf(line, sizeof(line),
		 "{\"type\":\"event.corrected\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-03-01T09:00:00Z\","
		 "\"target_event_id\":\"%s\",\"reason\":\"entered in error\"}",
		 hex);
	return append(s, &l, 1, d);
}

static void test_deferred_ids(void)
{
	char dir[256];
	ns_store *mdi = mkstore("MDI", NS_ROLE_PRISON, NULL), *n07 = mkstore("N07", NS_ROLE_PROBATION, NULL);
	ns_store *y = mkstore("HUB2", NS_ROLE_HUB, dir);
	ns_verify_report r;
	size_t left = 99;
	ns_diag d;
	int res[16];
	uint8_t unknown[NS_ID_BYTES] = { 1 };

	CHECK_INT(append(mdi, course, 3, &d), 0);
	CHECK_INT(append(n07, prob + 2, 1, &d), 0);
	evlist a = all_events(mdi), b = all_events(n07);
	CHECK_INT(ns_store_ingest(y, a.ev, a.n, NS_INGEST_DEFER_FOLD, res, NULL), 0);
	CHECK_INT(ns_store_index_pending(y, 0, &left, NULL), 0);
	CHECK_INT(left, 3);
	/* The same events again: duplicates, not a fork. */
	CHECK_INT(ns_store_ingest(y, a.ev, a.n, NS_INGEST_DEFER_FOLD, res, NULL), 0);
	for (size_t i = 0; i < a.n; i++)
		CHECK_INT(res[i], NS_INGEST_DUPLICATE);
	CHECK_INT(ns_store_index_pending(y, 0, &left, NULL), 0);
	CHECK_INT(left, 3);
	CHECK_INT(ns_store_verify(y, &r), 0);
	CHECK_INT(r.unindexed, 3);
	/* Found by id while deferred; an unknown id is still refused. */
	CHECK_INT(correct(y, a.ev[1]->id, &d), 0);
	CHECK_INT(correct(y, unknown, &d), NS_EVALID);
	CHECK_INT(ns_store_erase(y, a.ev[2]->id, "DATA_PROTECTION_REQUEST", NULL, NULL, &d), 0);
	CHECK_INT(ns_store_erase(y, unknown, "DATA_PROTECTION_REQUEST", NULL, NULL, &d), NS_ENOTFOUND);
	/* A pass of three steps (max 2: one entry per step), reopened mid-pass. */
	CHECK_INT(ns_store_index_pending(y, 2, &left, NULL), 0);
	CHECK_INT(left, 3);
	ns_store_close(y);
	CHECK_INT(ns_store_open(dir, NS_STORE_NOSYNC, &y, &d), 0);
	CHECK_INT(ns_store_verify(y, &r), 0);
	/* Entries arriving mid-pass wait for the next one. */
	CHECK_INT(ns_store_ingest(y, b.ev, b.n, NS_INGEST_DEFER_FOLD, res, NULL), 0);
	CHECK_INT(ns_store_index_pending(y, 2, &left, NULL), 0);
	CHECK_INT(left, 4);
	CHECK_INT(ns_store_index_pending(y, 2, &left, NULL), 0);
	CHECK_INT(left, 1);
	CHECK_INT(ns_store_verify(y, &r), 0);
	CHECK_INT(r.unindexed, 1);
	CHECK_INT(ns_store_index_pending(y, 2, &left, NULL), 0);
	CHECK_INT(left, 0);
	CHECK_INT(ns_store_verify(y, &r), 0);
	CHECK_INT(r.unindexed, 0);
	CHECK_INT(r.events, 6); /* with the hub's correction and erasure */
	CHECK_INT(ns_store_erase(y, b.ev[0]->id, "RETENTION_EXPIRED", "DPO-2024-17", NULL, &d), 0);
	CHECK_INT(ns_store_fold_pending(y, SIZE_MAX, &left, NULL), 0);
	CHECK_INT(ns_store_verify(y, &r), 0);
	evlist_free(&a);
	evlist_free(&b);
	ns_store_close(mdi);
	ns_store_close(n07);
	ns_store_close(y);
}

/*
 * A deferred id index pass of many partitions, read from its spool (one scan
 * of newids per pass, ns__index_step) or by scanning newids at each step:
 * interrupted by new entries and by a reopen, both ways index every event
 * once: verify finds each event under its id and ids holds one entry each.
 */
extern int ns__idspool_off;
static void index_many(int spool)
{
	char dir[256], line[256], cmd[600];
	ns_store *mdi = mkstore("MDI", NS_ROLE_PRISON, NULL), *n07 = mkstore("N07", NS_ROLE_PROBATION, NULL);
	ns_store *y = mkstore("HUB2", NS_ROLE_HUB, dir);
	ns_sigcheck_report sr;
	ns_verify_report r;
	size_t left = 0, steps = 0;
	ns_diag d;

	ns__idspool_off = !spool;
	for (int p = 0; p < 100; p++) {
		snprintf(line, sizeof(line), "{\"type\":\"person.created\",\"offender\":\"A%04dBC\",\"occurred_at\":"
			 "\"2024-01-01T09:00:00Z\",\"surname\":\"SMITH\",\"forenames\":\"JOHN\",\"dob\":\"1990-05-17\","
			 "\"gender\":\"M\"}", p);
		append1(mdi, line);
		for (int k = 0; k < 3; k++) {
			snprintf(line, sizeof(line), "{\"type\":\"alert.raised\",\"offender\":\"A%04dBC\",\"occurred_at\":"
				 "\"2024-02-0%dT09:00:00Z\",\"alert_type\":\"H\",\"alert_code\":\"HA\",\"from_date\":\"2024-02-01\"}",
				 p, k + 1);
			append1(mdi, line);
		}
	}
	CHECK_INT(append(n07, prob + 2, 1, &d), 0);
	evlist a = all_events(mdi), b = all_events(n07);
	int *res = calloc(a.n, sizeof(*res));
	CHECK_INT(ns_store_ingest(y, a.ev, a.n, NS_INGEST_DEFER_FOLD, res, NULL), 0);
	/* 16 entries per step: 25 partitions. A reopen after 5 steps; new entries after 10. */
	for (;;) {
		CHECK_INT(ns_store_index_pending(y, 32, &left, NULL), 0);
		if (++steps == 5) {
			ns_store_close(y);
			CHECK_INT(ns_store_open(dir, NS_STORE_NOSYNC, &y, &d), 0);
		}
		if (steps == 10)
			CHECK_INT(ns_store_ingest(y, b.ev, b.n, NS_INGEST_DEFER_FOLD, res, NULL), 0);
		if (left == 0 || steps > 100)
			break;
	}
	CHECK_INT(left, 0);
	CHECK(steps >= 26); /* 25 partitions, then the late entry's own pass */
	CHECK_INT(ns_store_verify_pending(y, NULL, 100000, 2, &sr, NULL), 0);
	CHECK_INT(ns_store_verify(y, &r), 0);
	CHECK_INT(r.unindexed, 0);
	CHECK_INT(r.events, 401);
	CHECK_INT(r.bad, 0);
	/* Every event found by its id. */
	for (size_t i = 0; i < a.n; i++) {
		uint8_t *raw;
		size_t len;
		CHECK_INT(ns_store_get_complete(y, a.ev[i]->id, &raw, &len), 0);
		free(raw);
	}
	ns_store_close(y);
	snprintf(cmd, sizeof(cmd), "mdb_stat -s ids %s | awk '/Entries:/ { print $2 }'", dir);
	FILE *f = popen(cmd, "r");
	CHECK(f != NULL && fgets(line, sizeof(line), f) != NULL);
	CHECK_INT(atoi(line), 401);
	pclose(f);
	free(res);
	evlist_free(&a);
	evlist_free(&b);
	ns_store_close(mdi);
	ns_store_close(n07);
	ns__idspool_off = 0;
}

static void test_deferred_ids_spool(void)
{
	index_many(1);
	index_many(0);
}

/* Digest folds what is pending first: same digest as folding at once. */
static void test_deferred_digest(void)
{
	ns_store *mdi = mkstore("MDI", NS_ROLE_PRISON, NULL);
	ns_store *x = mkstore("HUB1", NS_ROLE_HUB, NULL), *y = mkstore("HUB2", NS_ROLE_HUB, NULL);
	ns_diag d;
	int res[16];
	size_t left = 0;
	uint8_t dx[32], dy[32];

	CHECK_INT(append(mdi, course, 3, &d), 0);
	evlist a = all_events(mdi);
	CHECK_INT(ns_store_ingest(x, a.ev, a.n, 0, res, NULL), 0);
	CHECK_INT(ns_store_ingest(y, a.ev, a.n, NS_INGEST_DEFER_FOLD, res, NULL), 0);
	CHECK_INT(ns_store_digest(x, NULL, dx), 0);
	CHECK_INT(ns_store_digest(y, NULL, dy), 0);
	CHECK(memcmp(dx, dy, 32) == 0);
	CHECK_INT(ns_store_fold_pending(y, 0, &left, NULL), 0);
	CHECK_INT(left, 0);
	evlist_free(&a);
	ns_store_close(mdi);
	ns_store_close(x);
	ns_store_close(y);
}

static void test_bundles(void)
{
	char path[300];
	ns_store *a = mkstore("MDI", NS_ROLE_PRISON, NULL), *b = mkstore("N07", NS_ROLE_PROBATION, NULL);
	ns_import_report r;
	ns_diag d;
	FILE *f;

	CHECK_INT(append(a, course, 3, &d), 0);
	snprintf(path, sizeof(path), "%s/a.bundle", tmproot);
	f = fopen(path, "wb");
	uint64_t count;
	CHECK_INT(ns_bundle_export(a, NULL, 0, f, &count), 0);
	fclose(f);
	CHECK_INT(count, 3);
	CHECK_INT(ns_bundle_import(b, path, &r, &d), 0);
	CHECK_INT(r.applied, 3);
	CHECK_INT(ns_bundle_import(b, path, &r, &d), 0);
	CHECK_INT(r.duplicates, 3);
	CHECK_INT(r.applied, 0);

	/* Export since b's vector: nothing new. */
	ns_vv_entry *v;
	size_t nv;
	ns_store_vector(b, &v, &nv);
	f = fopen(path, "wb");
	CHECK_INT(ns_bundle_export(a, v, nv, f, &count), 0);
	fclose(f);
	CHECK_INT(count, 0);
	free(v);

	/* Corrupt and truncated bundles change nothing. */
	f = fopen(path, "wb");
	ns_bundle_export(a, NULL, 0, f, &count);
	fclose(f);
	ns_store *c = mkstore("LEI", NS_ROLE_PRISON, NULL);
	struct stat st;
	stat(path, &st);
	CHECK(truncate(path, st.st_size - 5) == 0);
	CHECK_INT(ns_bundle_import(c, path, &r, &d), NS_EBUNDLE);
	f = fopen(path, "wb");
	ns_bundle_export(a, NULL, 0, f, &count);
	fclose(f);
	CHECK(flip_in_file(path, "SMITH"));
	ns_diag_clear(&d);
	CHECK_INT(ns_bundle_import(c, path, &r, &d), NS_EBUNDLE);
	CHECK(d.msg[0] != '\0');
	f = fopen(path, "wb");
	fputs("not a bundle at all", f);
	fclose(f);
	CHECK_INT(ns_bundle_import(c, path, &r, &d), NS_EBUNDLE);
	CHECK_INT(ns_bundle_import(c, "/tmp/ns-no-such-bundle", &r, &d), NS_EIO);
	evlist l = all_events(c);
	CHECK_INT(l.n, 0);
	evlist_free(&l);
	ns_store_close(c);
	ns_store_close(a);
	ns_store_close(b);
}

static void test_erase(void)
{
	ns_store *s = mkstore("MDI", NS_ROLE_PRISON, NULL);
	ns_diag d;
	ns_verify_report r;

	CHECK_INT(append(s, course, 3, &d), 0);
	evlist l = all_events(s);
	CHECK_INT(ns_store_erase(s, l.ev[0]->id, "DATA_PROTECTION_REQUEST", NULL, NULL, &d), 0);
	CHECK_INT(ns_store_verify(s, &r), 0);
	evlist after = all_events(s);
	CHECK(after.n == 4 && after.ev[0]->payload == NULL);
	char *view;
	size_t len;
	CHECK_INT(ns_store_view(s, "A1234BC", &view, &len, NULL), 0);
	CHECK(strstr(view, "SMITH") == NULL);
	free(view);
	evlist_free(&l);
	evlist_free(&after);
	ns_store_close(s);
}

/*
 * Erasure by a signed event.erased: a distinctive surname, replicated,
 * erased at its origin, gone from every store's file after compaction.
 */
#define SURNAME "QUIXOTEWORTH"

static const char *const named[] = {
	"{\"type\":\"person.created\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-01-01T09:00:00Z\","
	"\"surname\":\"" SURNAME "\",\"forenames\":\"JOHN\",\"dob\":\"1990-05-17\",\"gender\":\"M\"}",
	"{\"type\":\"prisoner.received\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-01-01T15:00:00Z\","
	"\"prison\":\"MDI\",\"reason\":\"NEW_ADMISSION\"}",
};

/* Occurrences of @p needle in DIR/data.mdb (what grep -c would see, and more). */
static size_t copies(const char *dir, const char *needle)
{
	char path[300];
	size_t n = 0, len = strlen(needle);
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if ((fd = open(path, O_RDONLY)) < 0 || fstat(fd, &st) != 0) {
		CHECK(0);
		return 0;
	}
	char *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	for (char *p = m, *end = m + st.st_size; (p = memmem(p, (size_t)(end - p), needle, len)) != NULL; p++)
		n++;
	munmap(m, (size_t)st.st_size);
	close(fd);
	return n;
}

/* Sign JSON @p line as @p id at @p seq after @p prev. */
static ns_event *signed_line(const ns_identity *id, uint64_t seq, const uint8_t *prev, const char *line)
{
	ns_input in;
	ns_event *ev = NULL;
	ns_diag d;

	CHECK_INT(ns_input_parse(line, strlen(line), &in, &d), 0);
	CHECK_INT(ns_event_build(id, seq, prev, in.occurred_at, in.occurred_at, in.offender, in.payload, &ev), 0);
	ns_input_clear(&in);
	return ev;
}

/* An event.erased of @p target signed by @p id at seq 1. */
static ns_event *erasure_by(const ns_identity *id, const ns_event *target)
{
	char hex[2 * NS_ID_BYTES + 1], line[512];

	ns_hex(hex, target->id, NS_ID_BYTES);
	snprintf(line, sizeof(line),
		 "{\"type\":\"event.erased\",\"offender\":\"%s\",\"occurred_at\":\"2024-06-01T09:00:00Z\","
		 "\"target_event_id\":\"%s\",\"reason\":\"DATA_PROTECTION_REQUEST\"}",
		 target->offender, hex);
	return signed_line(id, 1, NULL, line);
}

/* The stored copy of event @p id has no payload (1), has one (0), or is not stored (-1). */
static int stored_erased(ns_store *s, const uint8_t id[NS_ID_BYTES])
{
	evlist l = all_events(s);
	int r = -1;

	for (size_t i = 0; i < l.n; i++)
		if (memcmp(l.ev[i]->id, id, NS_ID_BYTES) == 0)
			r = l.ev[i]->payload == NULL;
	evlist_free(&l);
	return r;
}

static int view_has(ns_store *s, const char *ref, const char *needle)
{
	char *view = NULL;
	size_t len;
	int r = ns_store_view(s, ref, &view, &len, NULL) == 0 && strstr(view, needle) != NULL;

	free(view);
	return r;
}

static void test_erasure_replicates(void)
{
	char dm[256], dh[256], dp[256];
	ns_store *m = mkstore("MDI", NS_ROLE_PRISON, dm), *h = mkstore("HUB1", NS_ROLE_HUB, dh);
	ns_store *p = mkstore("N07", NS_ROLE_PROBATION, dp);
	uint8_t eid[NS_ID_BYTES], dg[3][NS_ID_BYTES];
	ns_verify_report r;
	ns_diag d;
	int res[8];

	CHECK_INT(append(m, named, 2, &d), 0);
	evlist a = all_events(m);
	CHECK_INT(ns_store_ingest(h, a.ev, a.n, 0, res, NULL), 0);
	CHECK_INT(ns_store_ingest(p, a.ev, a.n, 0, res, NULL), 0);
	CHECK(copies(dm, SURNAME) > 0 && copies(dh, SURNAME) > 0 && copies(dp, SURNAME) > 0);
	CHECK(view_has(p, "A1234BC", SURNAME));

	/* A bad reason, then the origin's erasure. */
	CHECK_INT(ns_store_erase(m, a.ev[0]->id, "BECAUSE", NULL, eid, &d), NS_EVALID);
	CHECK_STR(d.field, "reason");
	CHECK_INT(ns_store_erase(m, a.ev[0]->id, "DATA_PROTECTION_REQUEST", "DPO-2024-17", eid, &d), 0);
	CHECK_INT(stored_erased(m, a.ev[0]->id), 1);
	CHECK(!view_has(m, "A1234BC", SURNAME));
	CHECK_INT(ns_store_scrub_due(m), 1);
	/* An erasure cannot itself be erased. */
	CHECK_INT(ns_store_erase(m, eid, "RECORDED_IN_ERROR", NULL, NULL, &d), NS_EVALID);

	/* It replicates: the peers erase their copies too. */
	evlist b = all_events(m);
	CHECK_INT(b.n, 3);
	CHECK_INT(ns_store_ingest(h, b.ev, b.n, 0, res, NULL), 0);
	CHECK_INT(res[2], NS_INGEST_APPLIED);
	CHECK_INT(ns_store_ingest(p, b.ev + 2, 1, 0, res, NULL), 0);
	ns_store *all[3] = { m, h, p };
	const char *dirs[3] = { dm, dh, dp };
	for (int i = 0; i < 3; i++) {
		CHECK_INT(stored_erased(all[i], a.ev[0]->id), 1);
		CHECK(!view_has(all[i], "A1234BC", SURNAME));
		CHECK_INT(counter(all[i], "erased"), 1);
		CHECK_INT(ns_store_compact(all[i], &d), 0);
		CHECK_INT(ns_store_scrub_due(all[i]), 0);
		CHECK_INT(copies(dirs[i], SURNAME), 0);
		CHECK_INT(ns_store_verify(all[i], &r), 0);
		CHECK_INT(ns_store_digest(all[i], NULL, dg[i]), 0);
		CHECK_INT(counter(all[i], "compactions"), 1);
	}
	CHECK(memcmp(dg[0], dg[1], NS_ID_BYTES) == 0 && memcmp(dg[0], dg[2], NS_ID_BYTES) == 0);
	/* The store works after its reopen, and the genuine copy coming back changes nothing. */
	CHECK_INT(ns_store_ingest(p, a.ev, a.n, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_DUPLICATE);
	CHECK_INT(append(m, course + 2, 1, &d), 0);
	CHECK_INT(copies(dp, SURNAME), 0);
	CHECK_INT(stored_erased(p, a.ev[0]->id), 1);

	/* While another process has the store open, nothing changes. */
	if (fork() == 0) {
		ns_store *o = NULL;
		ns_store_open(dh, NS_STORE_RDONLY, &o, NULL);
		sleep(2);
		_exit(0);
	}
	usleep(300000);
	CHECK_INT(ns_store_compact(h, &d), NS_ELOCKED);
	CHECK_INT(stored_erased(h, a.ev[0]->id), 1);
	wait(NULL);
	CHECK_INT(ns_store_compact(h, &d), 0);
	evlist_free(&a);
	evlist_free(&b);
	ns_store_close(m);
	ns_store_close(h);
	ns_store_close(p);
}

/* The whole of file @p path (malloc'd) and its size in *len; NULL if it cannot be read. */
static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *b = NULL;
	int fd = open(path, O_RDONLY);

	if (fd >= 0 && fstat(fd, &st) == 0 && (b = malloc((size_t)st.st_size + 1)) != NULL &&
	    read(fd, b, (size_t)st.st_size) != st.st_size) {
		free(b);
		b = NULL;
	}
	if (fd >= 0)
		close(fd);
	*len = b ? (size_t)st.st_size : 0;
	return b;
}

static const char *const alert =
	"{\"type\":\"alert.raised\",\"offender\":\"A1234BC\",\"occurred_at\":\"2026-02-01T10:00:00Z\","
	"\"alert_type\":\"X\",\"alert_code\":\"XSA\",\"from_date\":\"2026-02-01\"}";

/*
 * A process waiting to open the store while it is compacted (a CLI command
 * beside the daemon) may open it first once the compaction lets go; the
 * daemon's reopen then finds it open, and no one sets lock.mdb's last
 * transaction id again from the new file. Simulated: lock.mdb as it was
 * before the compaction, and a child holding LMDB's shared lock so that
 * the store opens without resetting it. The store reads whole, and a
 * commit made then is what a later fresh open sees (before the fix, that
 * open took the copy's higher transaction ids for the newer state and lost
 * the commit; in e2e.erase the daemon's own reopen read the copy's
 * unfinished state, without a version vector). Twice, so that the
 * replaced file's last transaction id has either parity.
 */
static void test_compact_stale_lock(void)
{
	for (int round = 0; round < 2; round++) {
		char dir[256], lock[300], go;
		ns_store *s = mkstore("MDI", NS_ROLE_PRISON, dir);
		uint8_t *saved;
		size_t saved_len, n;
		ns_vv_entry *v = NULL;
		ns_verify_report r;
		int up[2], down[2];
		ns_diag d;
		pid_t pid;

		CHECK_INT(append(s, named, 2, &d), 0);
		if (round == 1)
			append1(s, course[2]); /* one commit more: the other parity */
		evlist a = all_events(s);
		size_t held = a.n + 1;
		CHECK_INT(ns_store_erase(s, a.ev[0]->id, "DATA_PROTECTION_REQUEST", NULL, NULL, &d), 0);
		ns_store_close(s);
		snprintf(lock, sizeof(lock), "%s/lock.mdb", dir);
		CHECK((saved = slurp(lock, &saved_len)) != NULL);
		CHECK_INT(ns_store_open(dir, NS_STORE_NOSYNC, &s, &d), 0);
		CHECK_INT(ns_store_compact(s, &d), 0);
		CHECK_INT(copies(dir, SURNAME), 0);
		ns_store_close(s);

		/* lock.mdb as the process that got in first found it, and that process still there. */
		int fd = open(lock, O_WRONLY);
		CHECK(fd >= 0 && write(fd, saved, saved_len) == (ssize_t)saved_len);
		close(fd);
		free(saved);
		CHECK(pipe(up) == 0 && pipe(down) == 0);
		if ((pid = fork()) == 0) {
			struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
			int lfd = open(lock, O_RDWR);
			go = lfd >= 0 && fcntl(lfd, F_SETLK, &fl) == 0 ? 'y' : 'n';
			if (write(up[1], &go, 1) != 1 || read(down[0], &go, 1) != 1)
				_exit(1);
			_exit(0);
		}
		CHECK(read(up[0], &go, 1) == 1 && go == 'y');
		CHECK_INT(ns_store_open(dir, NS_STORE_NOSYNC, &s, &d), 0);
		evlist b = all_events(s);
		CHECK_INT(b.n, held);
		CHECK_INT(stored_erased(s, a.ev[0]->id), 1);
		CHECK_INT(ns_store_vector(s, &v, &n), 0);
		CHECK(n == 1 && v[0].seq == held);
		free(v);
		append1(s, alert);
		ns_store_close(s);
		CHECK(write(down[1], "x", 1) == 1);
		waitpid(pid, NULL, 0);
		close(up[0]);
		close(up[1]);
		close(down[0]);
		close(down[1]);

		/* Opened alone, afresh: the commit made meanwhile is there. */
		CHECK_INT(ns_store_open(dir, NS_STORE_NOSYNC, &s, &d), 0);
		evlist c = all_events(s);
		CHECK_INT(c.n, held + 1);
		CHECK_INT(ns_store_verify(s, &r), 0);
		ns_store_close(s);
		evlist_free(&a);
		evlist_free(&b);
		evlist_free(&c);
	}
}

static void test_erasure_unauthorised(void)
{
	ns_store *m = mkstore("MDI", NS_ROLE_PRISON, NULL), *l = mkstore("LEI", NS_ROLE_PRISON, NULL);
	ns_store *h = mkstore("HUB1", NS_ROLE_HUB, NULL), *q = mkstore("HUB2", NS_ROLE_HUB, NULL);
	ns_identity rogue;
	ns_diag d;
	int res[8];

	CHECK_INT(append(m, named, 2, &d), 0);
	evlist a = all_events(m);
	CHECK_INT(ns_store_ingest(l, a.ev, a.n, 0, res, NULL), 0);
	CHECK_INT(ns_store_ingest(h, a.ev, a.n, 0, res, NULL), 0);
	/* Another prison may not append one... */
	CHECK_INT(ns_store_erase(l, a.ev[0]->id, "DATA_PROTECTION_REQUEST", NULL, NULL, &d), NS_EROLE);
	CHECK_STR(d.msg, "only the emitting site or a hub may erase an event");
	/* ...and one that signs it anyway has no effect where it arrives, before or after the target. */
	ns_identity_generate(&rogue, "LEI", NS_ROLE_PRISON);
	ns_event *er = erasure_by(&rogue, a.ev[0]);
	CHECK_INT(ns_store_ingest(h, &er, 1, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_APPLIED);
	CHECK_INT(stored_erased(h, a.ev[0]->id), 0);
	CHECK(view_has(h, "A1234BC", SURNAME));
	CHECK_INT(counter(h, "rejected.role"), 1);
	CHECK_INT(ns_store_scrub_due(h), 0);
	CHECK_INT(ns_store_ingest(q, &er, 1, 0, res, NULL), 0);
	CHECK_INT(ns_store_ingest(q, a.ev, a.n, 0, res, NULL), 0);
	CHECK_INT(stored_erased(q, a.ev[0]->id), 0);
	CHECK_INT(counter(q, "rejected.role"), 1);
	uint8_t dh[NS_ID_BYTES], dq[NS_ID_BYTES];
	CHECK_INT(ns_store_digest(h, NULL, dh), 0);
	CHECK_INT(ns_store_digest(q, NULL, dq), 0);
	CHECK(memcmp(dh, dq, NS_ID_BYTES) == 0);
	ns_event_free(er);
	evlist_free(&a);
	ns_store_close(m);
	ns_store_close(l);
	ns_store_close(h);
	ns_store_close(q);
}

/* A hub's erasure before its target, of a copy held for a gap, and of copies in proofs. */
static void test_erasure_order_held_proofs(void)
{
	char dw[256], dv[256];
	ns_store *a = mkstore("HUB1", NS_ROLE_HUB, NULL), *w = mkstore("N07", NS_ROLE_PROBATION, dw);
	ns_store *v = mkstore("LEI", NS_ROLE_PRISON, dv), *v2 = mkstore("BXI", NS_ROLE_PRISON, NULL);
	ns_identity mdi, hub;
	ns_diag d;
	int res[8];

	ns_identity_generate(&mdi, "MDI", NS_ROLE_PRISON);
	ns_identity_generate(&hub, "HUB9", NS_ROLE_HUB);
	ns_event *e1 = signed_line(&mdi, 1, NULL, named[1]);
	ns_event *e2 = signed_line(&mdi, 2, e1->id, named[0]);
	ns_event *e2b = signed_line(&mdi, 2, e1->id, course[2]);
	ns_event *er = erasure_by(&hub, e2);

	/* Erasure first: the target is stored erased when it comes. */
	CHECK_INT(ns_store_ingest(a, &er, 1, 0, res, NULL), 0);
	ns_event *chain[2] = { e1, e2 };
	CHECK_INT(ns_store_ingest(a, chain, 2, 0, res, NULL), 0);
	CHECK_INT(res[1], NS_INGEST_APPLIED);
	CHECK_INT(stored_erased(a, e2->id), 1);
	CHECK(!view_has(a, "A1234BC", SURNAME));
	CHECK_INT(counter(a, "erased"), 1);

	/* Held for a gap, erased while held, stored erased when the gap fills. */
	CHECK_INT(ns_store_ingest(w, &e2, 1, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_HELD);
	CHECK_INT(ns_store_ingest(w, &er, 1, 0, res, NULL), 0);
	CHECK_INT(ns_store_compact(w, &d), 0);
	CHECK_INT(copies(dw, SURNAME), 0);
	CHECK_INT(ns_store_ingest(w, &e1, 1, 0, res, NULL), 0);
	CHECK_INT(stored_erased(w, e2->id), 1);
	CHECK_INT(copies(dw, SURNAME), 0);

	/* In an equivocation proof: erased there too, and in the log. */
	CHECK_INT(ns_store_ingest(v, chain, 2, 0, res, NULL), 0);
	CHECK_INT(ns_store_ingest(v, &e2b, 1, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_EEQUIV);
	CHECK_INT(ns_store_ingest(v, &er, 1, 0, res, NULL), 0);
	CHECK_INT(stored_erased(v, e2->id), 1);
	ns_proof *p;
	size_t np;
	CHECK_INT(ns_store_proofs(v, &p, &np), 0);
	CHECK_INT(np, 1);
	for (size_t i = 0; i < np; i++) {
		ns_event *pa = NULL, *pb = NULL;
		CHECK_INT(ns_event_decode(p[i].a, p[i].alen, &pa, NULL), 0);
		CHECK_INT(ns_event_decode(p[i].b, p[i].blen, &pb, NULL), 0);
		CHECK(pa && pb && memcmp(pa->id, e2->id, NS_ID_BYTES) == 0 && pa->payload == NULL);
		CHECK(pb && pb->payload != NULL); /* the other copy is not the target */
		/* A proof arriving after the erasure is stored erased, and still proves. */
		CHECK_INT(ns_store_ingest(v2, &er, 1, 0, res, NULL), 0);
		CHECK_INT(ns_store_add_proof(v2, e2->raw, e2->raw_len, e2b->raw, e2b->raw_len), 0);
		ns_event_free(pa);
		ns_event_free(pb);
	}
	ns_proofs_free(p, np);
	CHECK_INT(ns_store_proofs(v2, &p, &np), 0);
	CHECK_INT(np, 1);
	if (np == 1) {
		ns_event *pa = NULL;
		CHECK_INT(ns_event_decode(p[0].a, p[0].alen, &pa, NULL), 0);
		CHECK(pa && pa->payload == NULL);
		ns_event_free(pa);
	}
	ns_proofs_free(p, np);
	CHECK_INT(ns_store_compact(v, &d), 0);
	CHECK_INT(copies(dv, SURNAME), 0);

	ns_event_free(e1);
	ns_event_free(e2);
	ns_event_free(e2b);
	ns_event_free(er);
	ns_store_close(a);
	ns_store_close(w);
	ns_store_close(v);
	ns_store_close(v2);
}

static void test_vector_json(void)
{
	ns_vv_entry e[2], *back;
	size_t n;
	ns_diag d;

	memset(e, 0, sizeof(e));
	memset(e[0].origin, 0xab, 32);
	e[0].seq = 42;
	strcpy(e[0].site, "MDI");
	e[0].role = NS_ROLE_PRISON;
	memset(e[1].origin, 0x01, 32);
	e[1].seq = 7;
	json_t *j = ns_vector_to_json(e, 2);
	CHECK_INT(ns_vector_from_json(j, &back, &n, &d), 0);
	CHECK_INT(n, 2);
	for (size_t i = 0; i < n; i++)
		CHECK(back[i].seq == (back[i].origin[0] == 0xab ? 42u : 7u));
	free(back);
	json_decref(j);
	j = json_pack("{s:{s:i}}", "nothex", "seq", 1);
	CHECK_INT(ns_vector_from_json(j, &back, &n, &d), NS_EVALID);
	json_decref(j);
	j = json_array();
	CHECK_INT(ns_vector_from_json(j, &back, &n, &d), NS_EVALID);
	json_decref(j);
}

int main(void)
{
	if (mkdtemp(tmproot) == NULL)
		return 1;
	ns_crypto_init();
	RUN(test_create_open_errors);
	RUN(test_append_and_view);
	RUN(test_warm_tail);
	RUN(test_append_rejects_write_nothing);
	RUN(test_ingest_dup_gap_drain);
	RUN(test_ingest_rejections);
	RUN(test_equivocation);
	RUN(test_linking);
	RUN(test_verify_detects_tampering);
	RUN(test_convergence_any_order);
	RUN(test_deferred_folds);
	RUN(test_deferred_digest);
	RUN(test_deferred_ids);
	RUN(test_deferred_ids_spool);
	RUN(test_bundles);
	RUN(test_erase);
	RUN(test_erasure_replicates);
	RUN(test_compact_stale_lock);
	RUN(test_erasure_unauthorised);
	RUN(test_erasure_order_held_proofs);
	RUN(test_vector_json);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmproot);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmproot);
	return TEST_SUMMARY();
}
