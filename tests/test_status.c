/*
 * Unit tests of the daemon status (src/status/status.c): the struct through
 * JSON and back gives the same bytes, the JSON form has the keys and types
 * nomsyncd has always written, and a missing or wrongly typed key is refused.
 */
#include <nomsync/status.h>

#include "test.h"

#include <stdlib.h>
#include <string.h>

/*
 * A status file as nomsyncd writes it (keys sorted, indent 2): as before the
 * status had a type, plus the held and incomplete event counts of issue 10 and the append
 * notifications of issue 13.
 */
static const char written[] =
	"{\n"
	"  \"appends_held\": false,\n"
	"  \"connections_refused\": 2,\n"
	"  \"events_held\": 4,\n"
	"  \"events_incomplete\": 3,\n"
	"  \"folds_pending\": 0,\n"
	"  \"frames_rejected\": 1,\n"
	"  \"held_bytes\": 2048,\n"
	"  \"ids_pending\": 5,\n"
	"  \"ingest_queue_batches\": 0,\n"
	"  \"listen\": \"tcp://127.0.0.1:7401\",\n"
	"  \"local_append_notifications\": 6,\n"
	"  \"peers\": [\n"
	"    {\n"
	"      \"behind_events\": 3,\n"
	"      \"behind_seconds\": 1.25,\n"
	"      \"credit\": 31,\n"
	"      \"direction\": \"outbound\",\n"
	"      \"endpoint\": \"tcp://127.0.0.1:7402\",\n"
	"      \"last_contact_ms_ago\": 12,\n"
	"      \"queued_batches\": 0,\n"
	"      \"received_events\": 10,\n"
	"      \"rejected_events\": 0,\n"
	"      \"sent_events\": 40,\n"
	"      \"site\": \"MDI\",\n"
	"      \"state\": \"syncing\"\n"
	"    },\n"
	"    {\n"
	"      \"behind_events\": 0,\n"
	"      \"behind_seconds\": 0.0,\n"
	"      \"credit\": 0,\n"
	"      \"direction\": \"inbound\",\n"
	"      \"endpoint\": \"\",\n"
	"      \"last_contact_ms_ago\": -1,\n"
	"      \"queued_batches\": 0,\n"
	"      \"received_events\": 0,\n"
	"      \"rejected_events\": 0,\n"
	"      \"sent_events\": 0,\n"
	"      \"site\": \"N55\",\n"
	"      \"state\": \"down\"\n"
	"    }\n"
	"  ],\n"
	"  \"pid\": 4242,\n"
	"  \"roster_changes_applied\": 0,\n"
	"  \"signatures\": {\n"
	"    \"bad\": 2,\n"
	"    \"checked_background\": 90,\n"
	"    \"covered\": 100,\n"
	"    \"pending\": 8,\n"
	"    \"replaced\": 1\n"
	"  },\n"
	"  \"site\": \"HUBNE\",\n"
	"  \"uptime_s\": 12.345000000000001,\n"
	"  \"vector\": {\n"
	"    \"0101010101010101010101010101010101010101010101010101010101010101\": {\n"
	"      \"head\": \"0202020202020202020202020202020202020202020202020202020202020202\",\n"
	"      \"held\": 2,\n"
	"      \"quarantined\": false,\n"
	"      \"role\": \"prison\",\n"
	"      \"seq\": 43,\n"
	"      \"site\": \"MDI\"\n"
	"    },\n"
	"    \"0303030303030303030303030303030303030303030303030303030303030303\": {\n"
	"      \"head\": \"0404040404040404040404040404040404040404040404040404040404040404\",\n"
	"      \"held\": 0,\n"
	"      \"quarantined\": true,\n"
	"      \"role\": null,\n"
	"      \"seq\": 7,\n"
	"      \"site\": \"\"\n"
	"    }\n"
	"  },\n"
	"  \"written_at_ms\": 1767600000123\n"
	"}";

static char *dump(const json_t *j)
{
	return json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
}

/* @p text parsed into @p st: 0 or the error. */
static int parse(const char *text, ns_node_status *st, ns_diag *d)
{
	json_t *j = json_loads(text, 0, NULL);
	int rc;
	if (j == NULL)
		return -999;
	rc = ns_status_from_json(j, st, d);
	json_decref(j);
	return rc;
}

static void test_read_written(void)
{
	ns_node_status st;
	ns_diag d;
	const char *text = written;

	CHECK_INT(parse(text, &st, &d), 0);
	CHECK_STR(st.site, "HUBNE");
	CHECK_INT(st.pid, 4242);
	CHECK_INT(st.written_at_ms, 1767600000123LL);
	CHECK(st.uptime_s == 12.345);
	CHECK_STR(st.listen, "tcp://127.0.0.1:7401");
	CHECK_INT(st.npeers, 2);
	CHECK_STR(st.peers[0].site, "MDI");
	CHECK_INT(st.peers[0].outbound, 1);
	CHECK_INT(st.peers[0].state, NS_PEER_SYNCING);
	CHECK_INT(st.peers[0].behind_events, 3);
	CHECK(st.peers[0].behind_seconds == 1.25);
	CHECK_INT(st.peers[0].credit, 31);
	CHECK_INT(st.peers[0].sent_events, 40);
	CHECK_INT(st.peers[1].outbound, 0);
	CHECK_INT(st.peers[1].state, NS_PEER_DOWN);
	CHECK_INT(st.peers[1].last_contact_ms_ago, -1);
	CHECK_INT(st.nvector, 2);
	CHECK_INT(st.vector[0].seq, 43);
	CHECK_INT(st.vector[0].held, 2);
	CHECK_INT(st.vector[0].role, NS_ROLE_PRISON);
	CHECK_STR(st.vector[0].site, "MDI");
	CHECK_INT(st.vector[0].head[31], 2);
	CHECK_INT(st.vector[1].quarantined, 1);
	CHECK_INT(st.vector[1].role, NS_ROLE_NONE);
	CHECK_INT(st.connections_refused, 2);
	CHECK_INT(st.frames_rejected, 1);
	CHECK_INT(st.ids_pending, 5);
	CHECK_INT(st.appends_held, 0);
	CHECK_INT(st.events_incomplete, 3);
	CHECK_INT(st.events_held, 4);
	CHECK_INT(st.held_bytes, 2048);
	CHECK_INT(st.sigs_covered, 100);
	CHECK_INT(st.sigs_pending, 8);
	CHECK_INT(st.sigs_bad, 2);
	CHECK_INT(st.sigs_background, 90);
	CHECK_INT(st.sigs_replaced, 1);
	CHECK_INT(st.local_append_notifications, 6);

	/* Back to JSON: byte for byte what was read. */
	json_t *j = ns_status_to_json(&st);
	char *again = dump(j);
	CHECK_STR(again, text);
	free(again);
	json_decref(j);
	ns_status_free(&st);
	CHECK(st.peers == NULL && st.vector == NULL && st.npeers == 0);

	/* A file written before those counts existed still reads (as 0). */
	char *older = strdup(written);
	for (const char *k = "events_held"; k; k = strcmp(k, "events_held") == 0 ? "events_incomplete"
						   : strcmp(k, "events_incomplete") == 0 ? "held_bytes"
						   : strcmp(k, "held_bytes") == 0	 ? "local_append_notifications"
											 : NULL) {
		char *at = strstr(older, k) - 3, *nl = strchr(at + 1, '\n');
		memmove(at, nl, strlen(nl) + 1);
	}
	CHECK(strstr(older, "held_bytes") == NULL);
	{
		/* Nor the signatures of chain-tip verification. */
		char *at = strstr(older, "  \"signatures\""), *end = strstr(at, "},\n") + 3;
		memmove(at, end, strlen(end) + 1);
	}
	CHECK_INT(parse(older, &st, &d), 0);
	CHECK_INT(st.events_incomplete + st.events_held + st.held_bytes + st.local_append_notifications, 0);
	CHECK_INT(st.sigs_covered + st.sigs_pending + st.sigs_bad, 0);
	CHECK_INT(st.ids_pending, 5);
	ns_status_free(&st);
	free(older);
}

static void test_round_trip(void)
{
	ns_node_status st = { 0 }, back;
	ns_peer_status peer = { 0 };
	ns_vv_entry v = { 0 };
	ns_diag d;

	snprintf(st.site, sizeof(st.site), "N55");
	snprintf(st.listen, sizeof(st.listen), "tcp://0.0.0.0:7401");
	st.pid = 1;
	st.written_at_ms = 1;
	st.uptime_s = 0.1 + 0.2; /* not exact in binary: must survive the text form */
	st.appends_held = 1;
	st.folds_pending = 9;
	st.roster_changes_applied = 3;
	st.events_incomplete = 7;
	st.held_bytes = 4096;
	st.sigs_bad = 3;
	st.sigs_replaced = 2;
	st.local_append_notifications = 11;
	snprintf(peer.site, sizeof(peer.site), "HUBNE");
	peer.state = NS_PEER_LIVE;
	peer.behind_seconds = 1.0 / 3.0;
	peer.queued_batches = 4;
	st.peers = &peer;
	st.npeers = 1;
	memset(v.origin, 0xab, sizeof(v.origin));
	v.seq = 1;
	v.role = NS_ROLE_PROBATION;
	snprintf(v.site, sizeof(v.site), "N55");
	st.vector = &v;
	st.nvector = 1;

	json_t *j = ns_status_to_json(&st);
	char *text = dump(j);
	json_decref(j);
	CHECK_INT(parse(text, &back, &d), 0);
	CHECK(back.uptime_s == st.uptime_s);
	CHECK(back.peers[0].behind_seconds == peer.behind_seconds);
	CHECK_INT(back.peers[0].state, NS_PEER_LIVE);
	CHECK_INT(back.peers[0].outbound, 0);
	CHECK_INT(back.peers[0].queued_batches, 4);
	CHECK_INT(back.appends_held, 1);
	CHECK_INT(back.folds_pending, 9);
	CHECK_INT(back.roster_changes_applied, 3);
	CHECK_INT(back.events_incomplete, 7);
	CHECK_INT(back.held_bytes, 4096);
	CHECK_INT(back.sigs_bad, 3);
	CHECK_INT(back.sigs_replaced, 2);
	CHECK_INT(back.local_append_notifications, 11);
	CHECK_INT(back.nvector, 1);
	CHECK(memcmp(&back.vector[0], &v, sizeof(v)) == 0);
	j = ns_status_to_json(&back);
	char *again = dump(j);
	CHECK_STR(again, text);
	free(again);
	json_decref(j);
	ns_status_free(&back);
	free(text);
}

/* @p text with the first @p from replaced by @p to must be refused, the diag naming @p key. */
static void refused(const char *text, const char *from, const char *to, const char *key)
{
	char buf[sizeof(written) + 64];
	const char *at = strstr(text, from);
	ns_node_status st;
	ns_diag d = { "", "" };

	CHECK(at != NULL);
	if (at == NULL)
		return;
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	int rc = parse(buf, &st, &d);
	ns_status_free(&st);
	if (rc != NS_EVALID || strstr(d.msg, key) == NULL)
		fprintf(stderr, "  replacing %s by %s: rc %d, diag %s\n", from, to, rc, d.msg);
	CHECK_INT(rc, NS_EVALID);
	CHECK(strstr(d.msg, key) != NULL);
}

static void test_strict(void)
{
	const char *text = written;
	ns_node_status st;
	ns_diag d;

	/* Missing keys. */
	refused(text, "\"pid\": 4242,", "", "'pid'");
	refused(text, "\"ids_pending\": 5,", "", "'ids_pending'");
	refused(text, "\"credit\": 31,", "", "'peers[0].credit'");
	refused(text, "\"held\": 2,", "", ".held'");
	/* Wrong types. */
	refused(text, "\"appends_held\": false", "\"appends_held\": 0", "'appends_held'");
	refused(text, "\"uptime_s\": 12.345000000000001", "\"uptime_s\": 12", "'uptime_s'");
	refused(text, "\"behind_seconds\": 1.25", "\"behind_seconds\": \"1.25\"", "'peers[0].behind_seconds'");
	refused(text, "\"pid\": 4242", "\"pid\": \"4242\"", "'pid'");
	refused(text, "\"frames_rejected\": 1", "\"frames_rejected\": -1", "'frames_rejected'");
	refused(text, "\"state\": \"syncing\"", "\"state\": \"asleep\"", "'peers[0].state'");
	refused(text, "\"direction\": \"outbound\"", "\"direction\": 1", "'peers[0].direction'");
	refused(text, "\"role\": \"prison\"", "\"role\": \"warden\"", ".role'");
	refused(text, "\"quarantined\": true", "\"quarantined\": 1", ".quarantined'");
	refused(text, "\"listen\": \"tcp://127.0.0.1:7401\"", "\"listen\": null", "'listen'");
	refused(text, "\"peers\": [", "\"peerz\": [", "'peers'");
	/* Not an object at all. */
	CHECK_INT(parse("[1, 2]", &st, &d), NS_EVALID);
	ns_status_free(&st);
	CHECK_INT(parse("{}", &st, &d), NS_EVALID);
	ns_status_free(&st);
}

/* The trust gauges of /metrics. */
static void test_trust_metrics(void)
{
	ns_trust_stats ts = { 3, 4, 2048, 1 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ns_trust_metrics(f, &ts);
	fclose(f);
	CHECK(strstr(buf, "# TYPE nomsync_events_incomplete gauge\nnomsync_events_incomplete 3\n") != NULL);
	CHECK(strstr(buf, "\nnomsync_events_held 4\n") != NULL);
	CHECK(strstr(buf, "# HELP nomsync_held_bytes Bytes of the events held for a gap.\n") != NULL);
	CHECK(strstr(buf, "\nnomsync_held_bytes 2048\n") != NULL);
	free(buf);
}

/* The nats object: absent when not enabled, round trip, strict, and its metrics. */
static void test_nats(void)
{
	ns_node_status st, back;
	ns_diag d;
	char *buf = NULL;
	size_t len = 0;

	memset(&st, 0, sizeof(st));
	snprintf(st.site, sizeof(st.site), "MDI");
	json_t *j = ns_status_to_json(&st);
	CHECK(json_object_get(j, "nats") == NULL);
	json_decref(j);
	st.nats = (ns_nats_status){ 1, 1, 90, 7, 2, 11, 1.5, 4, 3 };
	j = ns_status_to_json(&st);
	char *text = dump(j);
	json_decref(j);
	CHECK_INT(parse(text, &back, &d), 0);
	CHECK(memcmp(&back.nats, &st.nats, sizeof(st.nats)) == 0);
	ns_status_free(&back);
	char *bad = strdup(text), *p = strstr(bad, "\"lag_events\"");
	CHECK(p != NULL);
	memcpy(p, "\"lag_eventz\"", 12);
	CHECK_INT(parse(bad, &back, &d), NS_EVALID);
	CHECK(strstr(d.msg, "nats.lag_events") != NULL);
	ns_status_free(&back);
	free(bad);
	free(text);
	FILE *f = open_memstream(&buf, &len);
	ns_nats_metrics(f, &st.nats);
	fclose(f);
	CHECK(strstr(buf, "# TYPE nomsync_nats_lag_events gauge\nnomsync_nats_lag_events 11\n") != NULL);
	CHECK(strstr(buf, "\nnomsync_nats_published_total 90\n") != NULL);
	CHECK(strstr(buf, "\nnomsync_nats_dead_letters_total 3\n") != NULL);
	CHECK(strstr(buf, "\nnomsync_nats_lag_seconds 1.500\n") != NULL);
	free(buf);
	buf = NULL;
	st.nats.enabled = 0;
	f = open_memstream(&buf, &len);
	ns_nats_metrics(f, &st.nats);
	fclose(f);
	CHECK_INT(len, 0);
	free(buf);
}

static void test_sig_metrics(void)
{
	ns_sig_stats ss = { .covered = 100, .pending = 8, .bad = 2, .checked = 91, .background = 90, .replaced = 1 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ns_sig_metrics(f, &ss);
	fclose(f);
	CHECK(strstr(buf, "# TYPE nomsync_signatures_pending gauge\nnomsync_signatures_pending 8\n") != NULL);
	CHECK(strstr(buf, "\nnomsync_signatures_bad 2\n") != NULL);
	CHECK(strstr(buf, "# TYPE nomsync_signatures_covered_total counter\nnomsync_signatures_covered_total 100\n") !=
	      NULL);
	CHECK(strstr(buf, "\nnomsync_signatures_checked_background_total 90\n") != NULL);
	CHECK(strstr(buf, "\nnomsync_signatures_replaced_total 1\n") != NULL);
	free(buf);
}

int main(void)
{
	RUN(test_read_written);
	RUN(test_nats);
	RUN(test_trust_metrics);
	RUN(test_sig_metrics);
	RUN(test_round_trip);
	RUN(test_strict);
	return TEST_SUMMARY();
}
