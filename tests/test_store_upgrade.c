/*
 * Unit tests for rolling upgrades in the store: events of a type this
 * release does not know are stored, indexed and chained but not folded;
 * a release that knows the type re-checks them at its first writable open
 * (re-folding the person, or rejecting an event that breaks the type's
 * rules); a format 1 store is converted; a new fold version re-folds
 * every person.
 *
 * The process hides alert.raised (NOMSYNC_CATALOGUE_HIDE, read once per
 * process) to play the older release, and runs itself again without the
 * variable ("known DIR") to play the newer one.
 */
#include "test.h"

#include <nomsync/store.h>

#include <jansson.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmproot[] = "/tmp/ns-upgrade-test-XXXXXX";
static int nstores;
/* The older release's store, which the newer release then opens. */
static char upgdir[256];

static ns_store *mkstore(const char *site, ns_role role, char *dir_out)
{
	char dir[256];
	ns_store *s = NULL;
	ns_diag d;

	snprintf(dir, sizeof(dir), "%s/s%d-%s", tmproot, nstores++, site);
	CHECK_INT(ns_store_create(dir, site, role, &d), 0);
	CHECK_INT(ns_store_open(dir, NS_STORE_NOSYNC, &s, &d), 0);
	if (dir_out)
		strcpy(dir_out, dir);
	return s;
}

/* Sign and frame an event of any type from packed payload bytes (as a newer release would). */
static ns_event *sign_raw(const ns_identity *id, uint64_t seq, const uint8_t prev[NS_ID_BYTES], int64_t t,
			  const char *off, uint32_t type, const uint8_t *pl, size_t plen)
{
	static const uint8_t zero[NS_ID_BYTES];
	Nomsync__EventHeader h = NOMSYNC__EVENT_HEADER__INIT;
	Nomsync__Event e = NOMSYNC__EVENT__INIT;
	uint8_t hash[NS_ID_BYTES], sig[NS_SIG_BYTES], *hb, *raw;
	size_t hl, rl;
	ns_event *ev = NULL;

	ns_hash(hash, pl, plen);
	h.version = NS_EVENT_VERSION;
	h.origin.data = (uint8_t *)id->pk;
	h.origin.len = NS_KEY_BYTES;
	h.seq = seq;
	h.prev.data = (uint8_t *)(prev ? prev : zero);
	h.prev.len = NS_ID_BYTES;
	h.occurred_at = t;
	h.recorded_at = t;
	h.offender = (char *)off;
	h.type = type;
	h.payload_hash.data = hash;
	h.payload_hash.len = NS_ID_BYTES;
	h.site = (char *)id->site;
	h.role = (char *)ns_role_name(id->role);
	hl = nomsync__event_header__get_packed_size(&h);
	hb = malloc(hl);
	nomsync__event_header__pack(&h, hb);
	crypto_sign_detached(sig, NULL, hb, hl, id->sk);
	e.header.data = hb;
	e.header.len = hl;
	e.signature.data = sig;
	e.signature.len = NS_SIG_BYTES;
	e.payload.data = (uint8_t *)pl;
	e.payload.len = plen;
	rl = nomsync__event__get_packed_size(&e);
	raw = malloc(rl);
	nomsync__event__pack(&e, raw);
	CHECK_INT(ns_event_decode(raw, rl, &ev, NULL), 0);
	free(hb);
	free(raw);
	return ev;
}

/* Pack @p p and sign it as the next event of the chain (seq, prev). */
static ns_event *sign_payload(const ns_identity *id, uint64_t *seq, uint8_t prev[NS_ID_BYTES], int64_t t,
			      const char *off, const Nomsync__Payload *p)
{
	uint8_t buf[1024];
	size_t n = nomsync__payload__pack(p, buf);
	ns_event *ev;

	++*seq;
	ev = sign_raw(id, *seq, *seq == 1 ? NULL : prev, t, off, (uint32_t)p->body_case, buf, n);

	if (ev)
		memcpy(prev, ev->id, NS_ID_BYTES);
	return ev;
}

static ns_event *person(const ns_identity *id, uint64_t *seq, uint8_t prev[32], int64_t t, const char *off)
{
	Nomsync__Payload p = NOMSYNC__PAYLOAD__INIT;
	Nomsync__PersonCreated m = NOMSYNC__PERSON_CREATED__INIT;

	m.surname = "KHAN";
	m.forenames = "EMMA";
	m.dob = "2003-07-01";
	m.gender = "F";
	p.body_case = NOMSYNC__PAYLOAD__BODY_PERSON_CREATED;
	p.person_created = &m;
	return sign_payload(id, seq, prev, t, off, &p);
}

static ns_event *received(const ns_identity *id, uint64_t *seq, uint8_t prev[32], int64_t t, const char *off)
{
	Nomsync__Payload p = NOMSYNC__PAYLOAD__INIT;
	Nomsync__PrisonerReceived m = NOMSYNC__PRISONER_RECEIVED__INIT;

	m.prison = "MDI";
	m.reason = "NEW_ADMISSION";
	p.body_case = NOMSYNC__PAYLOAD__BODY_PRISONER_RECEIVED;
	p.prisoner_received = &m;
	return sign_payload(id, seq, prev, t, off, &p);
}

/* alert.raised; a from_date that is not a date breaks the type's payload rules. */
static ns_event *alert(const ns_identity *id, uint64_t *seq, uint8_t prev[32], int64_t t, const char *off,
		       const char *code, const char *from)
{
	Nomsync__Payload p = NOMSYNC__PAYLOAD__INIT;
	Nomsync__AlertRaised m = NOMSYNC__ALERT_RAISED__INIT;

	m.alert_type = "X";
	m.alert_code = (char *)code;
	m.from_date = (char *)from;
	p.body_case = NOMSYNC__PAYLOAD__BODY_ALERT_RAISED;
	p.alert_raised = &m;
	return sign_payload(id, seq, prev, t, off, &p);
}

static int count_cb(void *arg, const ns_event *ev)
{
	size_t *n = arg;

	(void)ev;
	(*n)++;
	return 0;
}

static int unknown_cb(void *arg, const ns_event *ev)
{
	size_t *n = arg;

	if (ev->type_unknown && ev->payload == NULL && ev->payload_len > 0)
		(*n)++;
	return 0;
}

static uint64_t counter(ns_store *s, const char *name)
{
	ns_counter *c = NULL;
	size_t n = 0;
	uint64_t v = 0;

	CHECK_INT(ns_store_counters(s, &c, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (strcmp(c[i].name, name) == 0)
			v = c[i].value;
	free(c);
	return v;
}

/* [number of alerts, event_count] of a person's view, as JSON text. */
static void view_shape(ns_store *s, const char *ref, char *out, size_t cap)
{
	char *json = NULL;
	json_t *v;

	out[0] = '\0';
	CHECK_INT(ns_store_view(s, ref, &json, NULL, NULL), 0);
	if (json == NULL)
		return;
	v = json_loads(json, 0, NULL);
	snprintf(out, cap, "[%zu,%lld]", json_array_size(json_object_get(v, "alerts")),
		 (long long)json_integer_value(json_object_get(v, "event_count")));
	json_decref(v);
	free(json);
}

static int rejects(void *arg, const ns_event *ev)
{
	(void)arg;
	(void)ev;
	return NS_EUNKNOWN;
}

/*
 * The older release (alert.raised hidden): MDI's chain of person.created,
 * alert (valid), prisoner.received, alert (invalid date), and a type 999 no
 * release knows, all for A0001AB, into a store in upgdir.
 */
static void test_ingest_unknown(void)
{
	char *dir = upgdir;
	ns_identity mdi;
	ns_store *s = mkstore("HUB1", NS_ROLE_HUB, dir), *t;
	uint8_t prev[NS_ID_BYTES], pl[] = { 0x0a, 0x03, 'a', 'b', 'c' };
	uint64_t seq = 0;
	ns_event *ev[5];
	int res[5];
	size_t n = 0;
	ns_vv_entry *vv = NULL;
	char shape[32];
	ns_verify_report r;
	ns_upgrade_report up;

	CHECK_INT(ns_identity_generate(&mdi, "MDI", NS_ROLE_PRISON), 0);
	ev[0] = person(&mdi, &seq, prev, 1704124800, "A0001AB");
	ev[1] = alert(&mdi, &seq, prev, 1704211200, "A0001AB", "XSA", "2024-01-02");
	ev[2] = received(&mdi, &seq, prev, 1704297600, "A0001AB");
	ev[3] = alert(&mdi, &seq, prev, 1704384000, "A0001AB", "XCU", "not a date");
	seq++;
	ev[4] = sign_raw(&mdi, seq, ev[3] ? ev[3]->id : prev, 1704470400, "A0001AB", 999, pl, sizeof(pl));
	for (int i = 0; i < 5; i++)
		if (ev[i] == NULL)
			return;
	memcpy(prev, ev[4]->id, NS_ID_BYTES);
	CHECK(ev[1]->type_unknown && ev[3]->type_unknown && ev[4]->type_unknown);
	CHECK(!ev[0]->type_unknown && !ev[2]->type_unknown);

	/* Signature and trust still apply to an unknown type. */
	{
		uint8_t *bad = malloc(ev[1]->raw_len);
		ns_event *forged = NULL;
		memcpy(bad, ev[1]->raw, ev[1]->raw_len);
		bad[ev[1]->signature - ev[1]->raw] ^= 1;
		CHECK_INT(ns_event_decode(bad, ev[1]->raw_len, &forged, NULL), 0);
		t = mkstore("HUB2", NS_ROLE_HUB, NULL);
		res[0] = 0;
		CHECK_INT(ns_store_ingest(t, &forged, 1, 0, res, NULL), 0);
		CHECK_INT(res[0], NS_ESIG);
		ns_store_set_trust(t, rejects, NULL);
		CHECK_INT(ns_store_ingest(t, &ev[1], 1, 0, res, NULL), 0);
		CHECK_INT(res[0], NS_EUNKNOWN);
		ns_store_close(t);
		ns_event_free(forged);
		free(bad);
	}

	/* Applied with their successors; 4 arrives after 5, which is held and then drained. */
	CHECK_INT(ns_store_ingest(s, ev, 3, 0, res, NULL), 0);
	for (int i = 0; i < 3; i++)
		CHECK_INT(res[i], NS_INGEST_APPLIED);
	CHECK_INT(ns_store_ingest(s, &ev[4], 1, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_HELD);
	CHECK_INT(ns_store_ingest(s, &ev[3], 1, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_APPLIED);
	CHECK_INT(ns_store_vector(s, &vv, &n), 0);
	CHECK_INT(n, 1);
	if (n == 1) {
		CHECK_INT(vv[0].seq, 5);
		CHECK_INT(vv[0].held, 0);
	}
	free(vv);
	/* A duplicate of an unknown event is a duplicate. */
	CHECK_INT(ns_store_ingest(s, &ev[1], 1, 0, res, NULL), 0);
	CHECK_INT(res[0], NS_INGEST_DUPLICATE);

	/* Stored and indexed (the timeline shows them), read back as unknown, never folded. */
	n = 0;
	CHECK_INT(ns_store_foreach_person(s, "A0001AB", count_cb, &n), 0);
	CHECK_INT(n, 5);
	n = 0;
	CHECK_INT(ns_store_foreach(s, unknown_cb, &n), 0);
	CHECK_INT(n, 3);
	view_shape(s, "A0001AB", shape, sizeof(shape));
	CHECK_STR(shape, "[0,2]");
	CHECK_INT(ns_store_verify(s, &r), 0);
	CHECK_INT(r.events, 5);
	ns_store_upgrade_report(s, &up);
	CHECK_INT(up.to_format, NS_STORE_FORMAT);
	CHECK_INT(up.from_format, 0);
	CHECK_INT(up.events_checked, 0);
	ns_store_close(s);
	/* A reopen by the same release changes nothing. */
	CHECK_INT(ns_store_open(dir, NS_STORE_NOSYNC, &s, NULL), 0);
	ns_store_upgrade_report(s, &up);
	CHECK_INT(up.events_checked, 0);
	CHECK_INT(up.events_unknown, 3);
	{
		char line[256];
		CHECK_INT(ns_upgrade_describe(&up, line, sizeof(line)), 0);
		CHECK_STR(line, "");
	}
	/*
	 * Held behind a gap: seq 7, another invalid alert, arrives without seq
	 * 6, which the newer release receives later (its bytes in a file).
	 */
	{
		ns_event *e6 = received(&mdi, &seq, prev, 1704556800, "A0001AB");
		ns_event *e7 = alert(&mdi, &seq, prev, 1704643200, "A0001AB", "XEL", "2024-13-45");
		char path[300];
		FILE *f;

		snprintf(path, sizeof(path), "%s.ev6", dir);
		CHECK((f = fopen(path, "wb")) != NULL);
		if (f && e6) {
			CHECK_INT(fwrite(e6->raw, 1, e6->raw_len, f), e6->raw_len);
			fclose(f);
		}
		CHECK_INT(ns_store_ingest(s, &e7, 1, 0, res, NULL), 0);
		CHECK_INT(res[0], NS_INGEST_HELD);
		ns_event_free(e6);
		ns_event_free(e7);
	}
	ns_store_close(s);
	for (int i = 0; i < 5; i++)
		ns_event_free(ev[i]);
}

/* The newer release opens the older release's store (run in a process that hides nothing). */
static void test_known(void)
{
	const char *dir = upgdir;
	ns_store *s = NULL;
	ns_upgrade_report up;
	ns_verify_report r;
	char shape[32], line[256];
	size_t n = 0;

	/* Read-only, nothing is re-checked: the events it cannot vouch for stay out of views. */
	CHECK_INT(ns_store_open(dir, NS_STORE_RDONLY, &s, NULL), 0);
	if (s == NULL)
		return;
	ns_store_upgrade_report(s, &up);
	CHECK_INT(up.events_checked, 0);
	view_shape(s, "A0001AB", shape, sizeof(shape));
	CHECK_STR(shape, "[0,2]");
	CHECK_INT(ns_store_verify(s, &r), 0);
	ns_store_close(s);

	CHECK_INT(ns_store_open(dir, NS_STORE_NOSYNC, &s, NULL), 0);
	if (s == NULL)
		return;
	ns_store_upgrade_report(s, &up);
	CHECK_INT(up.from_format, 0);
	CHECK_INT(up.events_checked, 2);
	CHECK_INT(up.events_rejected, 1);
	CHECK_INT(up.events_unknown, 1);
	CHECK_INT(up.persons_marked, 1);
	ns_upgrade_describe(&up, line, sizeof(line));
	CHECK_STR(line, "re-checked 2 events of types new to this release: 1 rejected, 1 persons to re-fold");
	CHECK_INT(counter(s, "rejected.upgrade"), 1);
	/* The valid alert is folded now; the invalid one never is. */
	view_shape(s, "A0001AB", shape, sizeof(shape));
	CHECK_STR(shape, "[1,3]");
	CHECK_INT(ns_store_fold_pending(s, 16, &n, NULL), 0);
	CHECK_INT(n, 0);
	view_shape(s, "A0001AB", shape, sizeof(shape));
	CHECK_STR(shape, "[1,3]");
	n = 0;
	CHECK_INT(ns_store_foreach_person(s, "A0001AB", count_cb, &n), 0);
	CHECK_INT(n, 5);
	n = 0;
	CHECK_INT(ns_store_foreach(s, unknown_cb, &n), 0);
	CHECK_INT(n, 1); /* type 999 only */
	CHECK_INT(ns_store_verify(s, &r), 0);
	ns_store_close(s);

	/* The held invalid alert, drained once seq 6 arrives, is checked then: rejected. */
	{
		char path[300];
		uint8_t buf[4096];
		size_t len = 0;
		ns_event *e6 = NULL;
		ns_vv_entry *vv = NULL;
		int res = 0;
		FILE *f;

		snprintf(path, sizeof(path), "%s.ev6", dir);
		CHECK((f = fopen(path, "rb")) != NULL);
		if (f) {
			len = fread(buf, 1, sizeof(buf), f);
			fclose(f);
		}
		CHECK_INT(ns_event_decode(buf, len, &e6, NULL), 0);
		CHECK_INT(ns_store_open(dir, NS_STORE_NOSYNC, &s, NULL), 0);
		CHECK_INT(ns_store_ingest(s, &e6, 1, 0, &res, NULL), 0);
		CHECK_INT(res, NS_INGEST_APPLIED);
		CHECK_INT(ns_store_vector(s, &vv, &n), 0);
		CHECK(n == 1 && vv[0].seq == 7 && vv[0].held == 0);
		free(vv);
		CHECK_INT(counter(s, "rejected.upgrade"), 2);
		view_shape(s, "A0001AB", shape, sizeof(shape));
		CHECK_STR(shape, "[1,4]");
		n = 0;
		CHECK_INT(ns_store_foreach_person(s, "A0001AB", count_cb, &n), 0);
		CHECK_INT(n, 7);
		CHECK_INT(ns_store_verify(s, &r), 0);
		ns_store_close(s);
		ns_event_free(e6);
	}

	/* Done once: the next open has nothing to re-check. */
	CHECK_INT(ns_store_open(dir, NS_STORE_NOSYNC, &s, NULL), 0);
	ns_store_upgrade_report(s, &up);
	CHECK_INT(up.events_checked, 0);
	CHECK_INT(up.events_unknown, 1);
	ns_store_close(s);
}

/* Run this test binary again without the hide list, as the newer release. */
static void test_reopen_known(void)
{
	const char *dir = upgdir;
	int status = -1;
	pid_t pid = fork();

	if (pid == 0) {
		unsetenv("NOMSYNC_CATALOGUE_HIDE");
		execl("/proc/self/exe", "test_store_upgrade", "known", dir, (char *)NULL);
		_exit(127);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Edit a closed store with LMDB directly: meta values (NULL deletes) and dropped databases. */
static void lmdb_edit(const char *dir, const char *format, const char *fold_version, int drop_new)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta, dbi;

	CHECK_INT(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 32);
	CHECK_INT(mdb_env_open(env, dir, 0, 0600), 0);
	CHECK_INT(mdb_txn_begin(env, NULL, 0, &txn), 0);
	CHECK_INT(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	const char *names[] = { "format", "fold_version" }, *vals[] = { format, fold_version };
	for (int i = 0; i < 2; i++) {
		MDB_val k = { strlen(names[i]), (void *)names[i] }, v = { vals[i] ? strlen(vals[i]) : 0, (void *)vals[i] };
		if (vals[i])
			CHECK_INT(mdb_put(txn, meta, &k, &v, 0), 0);
		else
			mdb_del(txn, meta, &k, NULL);
	}
	for (int i = 0; drop_new && i < 2; i++) {
		CHECK_INT(mdb_dbi_open(txn, i ? "rejected" : "unknown", 0, &dbi), 0);
		CHECK_INT(mdb_drop(txn, dbi, 1), 0);
	}
	CHECK_INT(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* A meta value of a closed store, "" if absent; and whether database @p db exists. */
static void lmdb_read(const char *dir, const char *name, char *out, size_t cap, const char *db, int *exists)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta, dbi;
	MDB_val k = { strlen(name), (void *)name }, v;

	out[0] = '\0';
	CHECK_INT(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 32);
	CHECK_INT(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
	CHECK_INT(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	CHECK_INT(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	if (mdb_get(txn, meta, &k, &v) == 0 && v.mv_size < cap) {
		memcpy(out, v.mv_data, v.mv_size);
		out[v.mv_size] = '\0';
	}
	*exists = mdb_dbi_open(txn, db, 0, &dbi) == 0;
	mdb_txn_abort(txn);
	mdb_env_close(env);
}

/* A few events of two persons appended by a prison. */
static void fill(ns_store *s)
{
	static const char *const lines[] = {
		"{\"type\":\"person.created\",\"offender\":\"A1234BC\",\"occurred_at\":\"2026-01-05T09:00:00Z\","
		"\"surname\":\"SMITH\",\"forenames\":\"JOHN\",\"dob\":\"1980-01-01\",\"gender\":\"M\"}",
		"{\"type\":\"prisoner.received\",\"offender\":\"A1234BC\",\"occurred_at\":\"2026-01-05T10:00:00Z\","
		"\"prison\":\"MDI\",\"reason\":\"NEW_ADMISSION\"}",
		"{\"type\":\"prisoner.received\",\"offender\":\"A5678DE\",\"occurred_at\":\"2026-01-06T10:00:00Z\","
		"\"prison\":\"MDI\",\"reason\":\"NEW_ADMISSION\"}",
	};
	ns_input in[3];
	size_t bad;
	ns_diag d;

	for (int i = 0; i < 3; i++)
		CHECK_INT(ns_input_parse(lines[i], strlen(lines[i]), &in[i], &d), 0);
	CHECK_INT(ns_store_append(s, in, 3, NULL, &bad, &d), 0);
	for (int i = 0; i < 3; i++)
		ns_input_clear(&in[i]);
}

static void test_format1_conversion(void)
{
	char dir[256], val[16];
	ns_store *s = mkstore("MDI", NS_ROLE_PRISON, dir);
	uint8_t before[NS_ID_BYTES], after[NS_ID_BYTES];
	ns_upgrade_report up;
	ns_verify_report r;
	int exists;

	fill(s);
	CHECK_INT(ns_store_digest(s, NULL, before), 0);
	ns_store_close(s);
	lmdb_read(dir, "format", val, sizeof(val), "unknown", &exists);
	CHECK_STR(val, "2");
	CHECK(exists);
	/* What the previous release left: format 1, no fold_version, no unknown or rejected. */
	lmdb_edit(dir, "1", NULL, 1);
	lmdb_read(dir, "format", val, sizeof(val), "unknown", &exists);
	CHECK_STR(val, "1");
	CHECK(!exists);

	/* A read-only open reads it as it is. */
	CHECK_INT(ns_store_open(dir, NS_STORE_RDONLY, &s, NULL), 0);
	ns_store_upgrade_report(s, &up);
	CHECK_INT(up.from_format, 0);
	CHECK_INT(ns_store_digest(s, NULL, after), 0);
	CHECK(memcmp(before, after, NS_ID_BYTES) == 0);
	CHECK_INT(ns_store_verify(s, &r), 0);
	ns_store_close(s);
	lmdb_read(dir, "format", val, sizeof(val), "rejected", &exists);
	CHECK_STR(val, "1");

	/* A writable open converts it. */
	CHECK_INT(ns_store_open(dir, NS_STORE_NOSYNC, &s, NULL), 0);
	ns_store_upgrade_report(s, &up);
	CHECK_INT(up.from_format, 1);
	CHECK_INT(up.to_format, 2);
	CHECK_INT(up.from_fold, 1);
	/* Its views were folded by fold version 1: re-folded if this release's fold is later. */
	CHECK_INT(up.persons_marked, NS_FOLD_VERSION == 1 ? 0 : 2);
	{
		char line[256];
		ns_upgrade_describe(&up, line, sizeof(line));
		CHECK_STR(line, NS_FOLD_VERSION == 1 ? "store converted from format 1 to 2"
						     : "store converted from format 1 to 2; views were folded by "
						       "fold version 1: 2 persons to re-fold");
	}
	CHECK_INT(ns_store_digest(s, NULL, after), 0);
	CHECK(memcmp(before, after, NS_ID_BYTES) == 0);
	CHECK_INT(ns_store_verify(s, &r), 0);
	fill(s); /* still writable as before */
	ns_store_close(s);
	lmdb_read(dir, "format", val, sizeof(val), "unknown", &exists);
	CHECK_STR(val, "2");
	CHECK(exists);
	lmdb_read(dir, "fold_version", val, sizeof(val), "rejected", &exists);
	CHECK_INT(atoi(val), NS_FOLD_VERSION);
	CHECK(exists);

	/* A format this release does not know is refused, untouched. */
	lmdb_edit(dir, "3", "1", 0);
	{
		ns_diag d;
		CHECK_INT(ns_store_open(dir, 0, &s, &d), NS_EVERSION);
		CHECK_STR(d.msg, "store format 3 is not supported");
	}
}

static void test_fold_version(void)
{
	char dir[256];
	ns_store *s = mkstore("MDI", NS_ROLE_PRISON, dir);
	uint8_t before[NS_ID_BYTES], after[NS_ID_BYTES];
	ns_upgrade_report up;
	size_t left = 0;

	fill(s);
	CHECK_INT(ns_store_digest(s, NULL, before), 0);
	ns_store_close(s);
	lmdb_edit(dir, "2", "0", 0); /* views folded by an older fold */
	CHECK_INT(ns_store_open(dir, NS_STORE_NOSYNC, &s, NULL), 0);
	ns_store_upgrade_report(s, &up);
	CHECK_INT(up.from_fold, 0);
	CHECK_INT(up.persons_marked, 2);
	CHECK_INT(ns_store_fold_pending(s, 0, &left, NULL), 0);
	CHECK_INT(left, 2);
	/* Closed before the re-fold (as by kill -9): the marks remain and the next open adds none. */
	ns_store_close(s);
	CHECK_INT(ns_store_open(dir, NS_STORE_NOSYNC, &s, NULL), 0);
	ns_store_upgrade_report(s, &up);
	CHECK_INT(up.from_fold, NS_FOLD_VERSION);
	CHECK_INT(up.persons_marked, 0);
	CHECK_INT(ns_store_fold_pending(s, 0, &left, NULL), 0);
	CHECK_INT(left, 2);
	CHECK_INT(ns_store_fold_pending(s, 16, &left, NULL), 0);
	CHECK_INT(left, 0);
	CHECK_INT(ns_store_digest(s, NULL, after), 0);
	CHECK(memcmp(before, after, NS_ID_BYTES) == 0);
	ns_store_close(s);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "known") == 0) {
		snprintf(upgdir, sizeof(upgdir), "%s", argv[2]);
		RUN(test_known);
		return TEST_SUMMARY();
	}
	setenv("NOMSYNC_CATALOGUE_HIDE", "alert.raised", 1);
	if (ns_crypto_init() != 0 || mkdtemp(tmproot) == NULL)
		return 1;
	RUN(test_ingest_unknown);
	RUN(test_reopen_known);
	RUN(test_format1_conversion);
	RUN(test_fold_version);
	{
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmproot);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmproot);
	}
	return TEST_SUMMARY();
}
