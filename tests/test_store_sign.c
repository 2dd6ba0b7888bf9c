/*
 * Unit tests for the two-core signing of own appends (src/store/sign.c): a
 * batch appended in one call, in runs split by a correction and an
 * erasure, stores exactly the bytes that ns_event_build makes one event at
 * a time with the same key; every signature verifies; an event the batch
 * refuses (by a store check, or by the checks made while the helper thread
 * builds) leaves nothing written; ns_event_sign refuses another site's key.
 */
#include "test.h"

#include <nomsync/store.h>

#include <sodium.h>
#include <stdlib.h>

#include "store_util.h"

#define NBATCH 300

/* Line @p i of a batch: person.created and alert.raised for a few offenders. */
static void line_for(char *buf, size_t cap, size_t i)
{
	unsigned who = (unsigned)(i % 37);

	if (i % 3 == 0)
		snprintf(buf, cap,
			 "{\"type\":\"person.created\",\"offender\":\"A%04uBC\",\"occurred_at\":\"2024-01-01T09:%02u:00Z\","
			 "\"surname\":\"SMITH\",\"forenames\":\"JOHN\",\"dob\":\"1990-05-17\",\"gender\":\"M\"}",
			 1000 + who, (unsigned)(i % 60));
	else
		snprintf(buf, cap,
			 "{\"type\":\"alert.raised\",\"offender\":\"A%04uBC\",\"occurred_at\":\"2024-02-01T10:%02u:00Z\","
			 "\"alert_type\":\"R\",\"alert_code\":\"RSP\",\"from_date\":\"2024-02-01\"}",
			 1000 + who, (unsigned)(i % 60));
}

/* Each stored event is the one ns_event_build makes from its fields and the payload as signed. */
static void check_as_built(ns_store *s, size_t want)
{
	const ns_identity *id = ns_store_identity(s);
	evlist l = all_events(s);

	CHECK_INT(l.n, want);
	for (size_t i = 0; i < l.n; i++) {
		const ns_event *ev = l.ev[i];
		ns_event *again = NULL;

		CHECK_INT(ns_event_verify(ev), 0);
		if (ev->payload == NULL)
			continue; /* erased: its header and signature are checked by the verify above */
		CHECK_INT(ns_event_build(id, ev->seq, ev->prev, ev->occurred_at, ev->recorded_at, ev->offender,
					 ev->payload, &again),
			  0);
		CHECK(again != NULL && again->raw_len == ev->raw_len && memcmp(again->raw, ev->raw, ev->raw_len) == 0);
		ns_event_free(again);
	}
	evlist_free(&l);
}

static int append_ids(ns_store *s, char lines[][600], size_t n, uint8_t (*ids)[NS_ID_BYTES], size_t *bad)
{
	ns_input *in = calloc(n, sizeof(*in));
	ns_diag d;
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++)
		rc = ns_input_parse(lines[i], strlen(lines[i]), &in[i], &d);
	if (rc == 0)
		rc = ns_store_append(s, in, n, ids, bad, &d);
	for (size_t i = 0; i < n; i++)
		ns_input_clear(&in[i]);
	free(in);
	return rc;
}

static void test_batch_as_built(void)
{
	static char lines[NBATCH][600];
	static uint8_t ids[NBATCH][NS_ID_BYTES];
	ns_store *s = mkstore("MDI", NS_ROLE_PRISON, NULL);
	char hex[2 * NS_ID_BYTES + 1];
	ns_verify_report r;
	size_t bad = 0;

	for (size_t i = 0; i < NBATCH; i++)
		line_for(lines[i], sizeof(lines[i]), i);
	CHECK_INT(append_ids(s, lines, NBATCH, ids, &bad), 0);
	check_as_built(s, NBATCH);

	/* A second batch in three runs: a correction and an erasure of first-batch events start two. */
	for (size_t i = 0; i < NBATCH; i++)
		line_for(lines[i], sizeof(lines[i]), i + 7);
	ns_hex(hex, ids[4], NS_ID_BYTES);
	snprintf(lines[100], sizeof(lines[100]),
		 "{\"type\":\"event.corrected\",\"offender\":\"A1004BC\",\"occurred_at\":\"2024-03-01T09:00:00Z\","
		 "\"target_event_id\":\"%s\",\"reason\":\"entered in error\"}",
		 hex);
	ns_hex(hex, ids[5], NS_ID_BYTES);
	snprintf(lines[200], sizeof(lines[200]),
		 "{\"type\":\"event.erased\",\"offender\":\"A1005BC\",\"occurred_at\":\"2024-06-01T09:00:00Z\","
		 "\"target_event_id\":\"%s\",\"reason\":\"DATA_PROTECTION_REQUEST\"}",
		 hex);
	CHECK_INT(append_ids(s, lines, NBATCH, NULL, &bad), 0);
	check_as_built(s, 2 * NBATCH);
	CHECK_INT(ns_store_verify(s, &r), 0);
	CHECK_INT(r.events, 2 * NBATCH);

	/* A refused event in the middle of a run (a correction of an unknown event): nothing written. */
	for (size_t i = 0; i < NBATCH; i++)
		line_for(lines[i], sizeof(lines[i]), i + 11);
	snprintf(lines[150], sizeof(lines[150]),
		 "{\"type\":\"event.corrected\",\"offender\":\"A1004BC\",\"occurred_at\":\"2024-03-01T09:00:00Z\","
		 "\"target_event_id\":\"%064d\",\"reason\":\"entered in error\"}",
		 7);
	CHECK_INT(append_ids(s, lines, NBATCH, NULL, &bad), NS_EVALID);
	CHECK_INT(bad, 150);
	CHECK_INT(vv_seq(s, ns_store_identity(s)->pk, NULL), 2 * NBATCH);
	check_as_built(s, 2 * NBATCH);

	/*
	 * An event failing the checks that need no store, deep in a run (checked
	 * while the helper thread builds the events after it): nothing written.
	 */
	for (size_t i = 0; i < NBATCH; i++)
		line_for(lines[i], sizeof(lines[i]), i + 13);
	snprintf(lines[250], sizeof(lines[250]),
		 "{\"type\":\"alert.raised\",\"offender\":\"A1004BC\",\"occurred_at\":\"2099-02-01T10:00:00Z\","
		 "\"alert_type\":\"R\",\"alert_code\":\"RSP\",\"from_date\":\"2024-02-01\"}");
	CHECK_INT(append_ids(s, lines, NBATCH, NULL, &bad), NS_EVALID);
	CHECK_INT(bad, 250);
	CHECK_INT(vv_seq(s, ns_store_identity(s)->pk, NULL), 2 * NBATCH);
	check_as_built(s, 2 * NBATCH);
	/* The same batch without it appends, as built. */
	line_for(lines[250], sizeof(lines[250]), 250 + 13);
	CHECK_INT(append_ids(s, lines, NBATCH, NULL, &bad), 0);
	check_as_built(s, 3 * NBATCH);
	ns_store_close(s);
}

/* One event per call (signed without the helper thread) is stored as built too. */
static void test_one_by_one_same(void)
{
	static char lines[NBATCH][600];
	ns_store *a = mkstore("MDI", NS_ROLE_PRISON, NULL);
	size_t bad;

	for (size_t i = 0; i < NBATCH; i++) {
		line_for(lines[i], sizeof(lines[i]), i);
		CHECK_INT(append_ids(a, &lines[i], 1, NULL, &bad), 0);
	}
	check_as_built(a, NBATCH);
	ns_store_close(a);
}

/* ns_event_build_unsigned then ns_event_sign gives ns_event_build's bytes; another key is refused. */
static void test_event_sign(void)
{
	ns_store *a = mkstore("MDI", NS_ROLE_PRISON, NULL), *b = mkstore("LEI", NS_ROLE_PRISON, NULL);
	const ns_identity *id = ns_store_identity(a);
	ns_event *u = NULL, *full = NULL;
	uint8_t sig[NS_SIG_BYTES];
	char line[600];
	ns_input in;
	ns_diag d;

	line_for(line, sizeof(line), 1);
	CHECK_INT(ns_input_parse(line, strlen(line), &in, &d), 0);
	CHECK_INT(ns_event_build_unsigned(id, 1, NULL, in.occurred_at, 1767600000, in.offender, NULL, in.payload, &u), 0);
	CHECK_INT(ns_event_build(id, 1, NULL, in.occurred_at, 1767600000, in.offender, in.payload, &full), 0);
	CHECK(u != NULL && full != NULL);
	CHECK_INT(ns_event_verify(u), NS_ESIG); /* zero signature */
	CHECK(memcmp(u->id, full->id, NS_ID_BYTES) == 0);
	CHECK_INT(ns_event_sign(u, id, sig), 0);
	CHECK(memcmp(sig, full->signature, NS_SIG_BYTES) == 0);
	CHECK_INT(ns_event_sign(u, ns_store_identity(b), sig), NS_EINVAL);
	CHECK_INT(ns_event_sign(NULL, id, sig), NS_EINVAL);
	ns_event_free(u);
	ns_event_free(full);
	ns_input_clear(&in);
	ns_store_close(a);
	ns_store_close(b);
}

int main(void)
{
	if (mkdtemp(tmproot) == NULL)
		return 1;
	ns_crypto_init();
	RUN(test_batch_as_built);
	RUN(test_one_by_one_same);
	RUN(test_event_sign);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmproot);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmproot);
	return TEST_SUMMARY();
}
