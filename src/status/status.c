/*
 * The daemon status (include/nomsync/status.h): its JSON form, written by
 * nomsyncd and read back by nomsync status, and the strict parser.
 */
#include <nomsync/status.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const ns__state_names[] = { "down", "handshake", "syncing", "live" };

const char *ns_peer_state_name(ns_peer_state s)
{
	return (unsigned)s < sizeof(ns__state_names) / sizeof(*ns__state_names) ? ns__state_names[s] : "down";
}

static json_t *ns__peer_to_json(const ns_peer_status *p)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f}", "site", p->site, "direction",
			 p->outbound ? "outbound" : "inbound", "endpoint", p->endpoint, "state",
			 ns_peer_state_name(p->state), "last_contact_ms_ago", (json_int_t)p->last_contact_ms_ago,
			 "behind_events", (json_int_t)p->behind_events, "sent_events", (json_int_t)p->sent_events,
			 "received_events", (json_int_t)p->received_events, "rejected_events",
			 (json_int_t)p->rejected_events, "credit", (json_int_t)p->credit, "queued_batches",
			 (json_int_t)p->queued_batches, "behind_seconds", p->behind_seconds);
}

static json_t *ns__node_to_json(const ns_node_status *st, json_t *peers)
{
	json_t *j = json_pack("{s:s,s:I,s:I,s:f,s:s,s:o,s:o,s:I,s:I,s:I,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "site", st->site, "pid",
			 (json_int_t)st->pid, "written_at_ms", (json_int_t)st->written_at_ms, "uptime_s",
			 st->uptime_s, "listen", st->listen, "peers", peers, "vector",
			 ns_vector_to_json(st->vector, st->nvector), "ingest_queue_batches",
			 (json_int_t)st->ingest_queue_batches, "frames_rejected", (json_int_t)st->frames_rejected,
			 "connections_refused", (json_int_t)st->connections_refused, "appends_held",
			 st->appends_held, "folds_pending", (json_int_t)st->folds_pending, "ids_pending",
			 (json_int_t)st->ids_pending, "roster_changes_applied",
			 (json_int_t)st->roster_changes_applied, "events_incomplete", (json_int_t)st->events_incomplete,
			 "events_held", (json_int_t)st->events_held, "held_bytes", (json_int_t)st->held_bytes,
			 "local_append_notifications", (json_int_t)st->local_append_notifications);
	const ns_nats_status *ns = &st->nats;
	if (j && ns->enabled &&
	    json_object_set_new(j, "nats",
				json_pack("{s:b,s:I,s:I,s:I,s:I,s:f,s:I,s:I}", "connected", ns->connected, "published",
					  (json_int_t)ns->published, "views_published", (json_int_t)ns->views_published,
					  "failed", (json_int_t)ns->failed, "lag_events", (json_int_t)ns->lag_events,
					  "lag_seconds", ns->lag_seconds, "consumed", (json_int_t)ns->consumed,
					  "dead_letters", (json_int_t)ns->dead_letters)) != 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

json_t *ns_status_to_json(const ns_node_status *st)
{
	json_t *peers = json_array(), *j;

	for (size_t i = 0; peers && i < st->npeers; i++)
		if (json_array_append_new(peers, ns__peer_to_json(&st->peers[i])) != 0) {
			json_decref(peers);
			return NULL;
		}
	if ((j = ns__node_to_json(st, peers)) == NULL ||
	    json_object_set_new(j, "signatures",
				json_pack("{s:I,s:I,s:I,s:I,s:I}", "covered", (json_int_t)st->sigs_covered, "pending",
					  (json_int_t)st->sigs_pending, "bad", (json_int_t)st->sigs_bad,
					  "checked_background", (json_int_t)st->sigs_background, "replaced",
					  (json_int_t)st->sigs_replaced)) != 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/*
 * Strict readers: @where names the object ("" at the top, "peers[3].", ...)
 * for the diag.
 */

static int ns__bad(ns_diag *d, const char *where, const char *key, const char *want)
{
	return ns_diag_set(d, NS_EVALID, "status", "'%s%s' is missing or not %s", where, key, want);
}

static int ns__get_int(const json_t *o, const char *where, const char *key, int64_t min, int64_t *out,
		       ns_diag *d)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < min)
		return ns__bad(d, where, key, min == 0 ? "an integer >= 0" : "an integer");
	*out = (int64_t)json_integer_value(v);
	return 0;
}

static int ns__get_u64(const json_t *o, const char *where, const char *key, uint64_t *out, ns_diag *d)
{
	int64_t v = 0;
	int rc = ns__get_int(o, where, key, 0, &v, d);
	if (rc == 0)
		*out = (uint64_t)v;
	return rc;
}

/* A key added after status files were first written: absent reads as 0. */
static int ns__get_u64_opt(const json_t *o, const char *where, const char *key, uint64_t *out, ns_diag *d)
{
	*out = 0;
	return json_object_get(o, key) ? ns__get_u64(o, where, key, out, d) : 0;
}

static int ns__get_real(const json_t *o, const char *where, const char *key, double *out, ns_diag *d)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_real(v))
		return ns__bad(d, where, key, "a real number");
	*out = json_real_value(v);
	return 0;
}

static int ns__get_bool(const json_t *o, const char *where, const char *key, int *out, ns_diag *d)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_boolean(v))
		return ns__bad(d, where, key, "a boolean");
	*out = json_is_true(v);
	return 0;
}

static int ns__get_str(const json_t *o, const char *where, const char *key, char *out, size_t cap, ns_diag *d)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_string(v) || json_string_length(v) >= cap)
		return ns__bad(d, where, key, "a string of the right length");
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

/* One of @names (n of them), by index. */
static int ns__get_name(const json_t *o, const char *where, const char *key, const char *const *names, int n,
			int *out, ns_diag *d)
{
	const char *s = json_string_value(json_object_get(o, key));
	for (int i = 0; s && i < n; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	return ns__bad(d, where, key, "a known name");
}

static int ns__peer_from_json(const json_t *o, size_t i, ns_peer_status *p, ns_diag *d)
{
	static const char *const dirs[] = { "inbound", "outbound" };
	char where[40];
	int state = 0, rc;

	snprintf(where, sizeof(where), "peers[%zu].", i);
	if (!json_is_object(o))
		return ns_diag_set(d, NS_EVALID, "status", "'%.38s' is not an object", where);
	if ((rc = ns__get_str(o, where, "site", p->site, sizeof(p->site), d)) != 0 ||
	    (rc = ns__get_name(o, where, "direction", dirs, 2, &p->outbound, d)) != 0 ||
	    (rc = ns__get_str(o, where, "endpoint", p->endpoint, sizeof(p->endpoint), d)) != 0 ||
	    (rc = ns__get_name(o, where, "state", ns__state_names, 4, &state, d)) != 0 ||
	    (rc = ns__get_int(o, where, "last_contact_ms_ago", INT64_MIN, &p->last_contact_ms_ago, d)) != 0 ||
	    (rc = ns__get_u64(o, where, "behind_events", &p->behind_events, d)) != 0 ||
	    (rc = ns__get_real(o, where, "behind_seconds", &p->behind_seconds, d)) != 0 ||
	    (rc = ns__get_u64(o, where, "sent_events", &p->sent_events, d)) != 0 ||
	    (rc = ns__get_u64(o, where, "received_events", &p->received_events, d)) != 0 ||
	    (rc = ns__get_u64(o, where, "rejected_events", &p->rejected_events, d)) != 0 ||
	    (rc = ns__get_u64(o, where, "credit", &p->credit, d)) != 0 ||
	    (rc = ns__get_u64(o, where, "queued_batches", &p->queued_batches, d)) != 0)
		return rc;
	p->state = (ns_peer_state)state;
	return 0;
}

/* ns_vector_from_json reads origin, seq and head; the status keeps every field of an entry. */
static int ns__vector_from_json(const json_t *j, ns_node_status *st, ns_diag *d)
{
	const char *key;
	json_t *e;
	size_t i = 0;
	int rc;

	if ((rc = ns_vector_from_json(j, &st->vector, &st->nvector, d)) != 0)
		return rc;
	json_object_foreach((json_t *)j, key, e)
	{
		ns_vv_entry *v = &st->vector[i++];
		json_t *role = json_object_get(e, "role"), *head = json_object_get(e, "head");
		char where[80];
		uint8_t h[NS_ID_BYTES];

		snprintf(where, sizeof(where), "vector.%.64s.", key);
		if ((rc = ns__get_str(e, where, "site", v->site, sizeof(v->site), d)) != 0 ||
		    (rc = ns__get_bool(e, where, "quarantined", &v->quarantined, d)) != 0 ||
		    (rc = ns__get_u64(e, where, "held", &v->held, d)) != 0)
			return rc;
		if (!json_is_string(head) || ns_unhex(h, NS_ID_BYTES, json_string_value(head)) != 0)
			return ns__bad(d, where, "head", "a 64-hex event id");
		/* ns_vector_to_json writes null for a role without a name. */
		if (!json_is_null(role) && (!json_is_string(role) ||
					    (v->role = ns_role_parse(json_string_value(role))) == NS_ROLE_NONE))
			return ns__bad(d, where, "role", "a role name or null");
	}
	return 0;
}

int ns_status_from_json(const json_t *j, ns_node_status *st, ns_diag *d)
{
	json_t *peers = json_object_get(j, "peers"), *p;
	size_t i;
	int rc;

	memset(st, 0, sizeof(*st));
	if (!json_is_object(j))
		return ns_diag_set(d, NS_EVALID, "status", "the status is not a JSON object");
	if ((rc = ns__get_str(j, "", "site", st->site, sizeof(st->site), d)) != 0 ||
	    (rc = ns__get_int(j, "", "pid", 0, &st->pid, d)) != 0 ||
	    (rc = ns__get_u64(j, "", "written_at_ms", &st->written_at_ms, d)) != 0 ||
	    (rc = ns__get_real(j, "", "uptime_s", &st->uptime_s, d)) != 0 ||
	    (rc = ns__get_str(j, "", "listen", st->listen, sizeof(st->listen), d)) != 0 ||
	    (rc = ns__get_u64(j, "", "ingest_queue_batches", &st->ingest_queue_batches, d)) != 0 ||
	    (rc = ns__get_u64(j, "", "frames_rejected", &st->frames_rejected, d)) != 0 ||
	    (rc = ns__get_u64(j, "", "connections_refused", &st->connections_refused, d)) != 0 ||
	    (rc = ns__get_bool(j, "", "appends_held", &st->appends_held, d)) != 0 ||
	    (rc = ns__get_u64(j, "", "folds_pending", &st->folds_pending, d)) != 0 ||
	    (rc = ns__get_u64(j, "", "ids_pending", &st->ids_pending, d)) != 0 ||
	    (rc = ns__get_u64(j, "", "roster_changes_applied", &st->roster_changes_applied, d)) != 0 ||
	    (rc = ns__get_u64_opt(j, "", "events_incomplete", &st->events_incomplete, d)) != 0 ||
	    (rc = ns__get_u64_opt(j, "", "events_held", &st->events_held, d)) != 0 ||
	    (rc = ns__get_u64_opt(j, "", "held_bytes", &st->held_bytes, d)) != 0 ||
	    (rc = ns__get_u64_opt(j, "", "local_append_notifications", &st->local_append_notifications, d)) != 0)
		return rc;
	json_t *nj = json_object_get(j, "nats");
	if (nj != NULL) {
		ns_nats_status *ns = &st->nats;
		if (!json_is_object(nj))
			return ns__bad(d, "", "nats", "an object");
		ns->enabled = 1;
		if ((rc = ns__get_bool(nj, "nats.", "connected", &ns->connected, d)) != 0 ||
		    (rc = ns__get_u64(nj, "nats.", "published", &ns->published, d)) != 0 ||
		    (rc = ns__get_u64(nj, "nats.", "views_published", &ns->views_published, d)) != 0 ||
		    (rc = ns__get_u64(nj, "nats.", "failed", &ns->failed, d)) != 0 ||
		    (rc = ns__get_u64(nj, "nats.", "lag_events", &ns->lag_events, d)) != 0 ||
		    (rc = ns__get_real(nj, "nats.", "lag_seconds", &ns->lag_seconds, d)) != 0 ||
		    (rc = ns__get_u64(nj, "nats.", "consumed", &ns->consumed, d)) != 0 ||
		    (rc = ns__get_u64(nj, "nats.", "dead_letters", &ns->dead_letters, d)) != 0)
			return rc;
	}
	if (!json_is_array(peers))
		return ns__bad(d, "", "peers", "an array");
	if (json_array_size(peers) > 0 &&
	    (st->peers = calloc(json_array_size(peers), sizeof(*st->peers))) == NULL)
		return NS_ENOMEM;
	json_array_foreach(peers, i, p)
	{
		if ((rc = ns__peer_from_json(p, i, &st->peers[i], d)) != 0)
			return rc;
		st->npeers++;
	}
	const json_t *sig = json_object_get(j, "signatures");
	if (sig != NULL && (!json_is_object(sig) ||
			    (rc = ns__get_u64(sig, "signatures.", "covered", &st->sigs_covered, d)) != 0 ||
			    (rc = ns__get_u64(sig, "signatures.", "pending", &st->sigs_pending, d)) != 0 ||
			    (rc = ns__get_u64(sig, "signatures.", "bad", &st->sigs_bad, d)) != 0 ||
			    (rc = ns__get_u64(sig, "signatures.", "checked_background", &st->sigs_background, d)) != 0 ||
			    (rc = ns__get_u64(sig, "signatures.", "replaced", &st->sigs_replaced, d)) != 0))
		return rc ? rc : ns__bad(d, "", "signatures", "an object");
	if (json_object_get(j, "vector") == NULL)
		return ns__bad(d, "", "vector", "an object");
	return ns__vector_from_json(json_object_get(j, "vector"), st, d);
}

void ns_status_free(ns_node_status *st)
{
	free(st->peers);
	free(st->vector);
	memset(st, 0, sizeof(*st));
}

void ns_sig_metrics(FILE *f, const ns_sig_stats *ss)
{
	static const char *const name[][3] = {
		{ "signatures_pending", "gauge", "Events authenticated by a run tip whose own signature awaits its check." },
		{ "signatures_bad", "gauge", "Events whose stored signature was found bad, awaiting a valid copy." },
		{ "signatures_covered_total", "counter", "Events stored on a run tip's signature." },
		{ "signatures_checked_background_total", "counter", "Covered signatures checked in the background." },
		{ "signatures_replaced_total", "counter", "Bad signatures replaced by a valid copy from a peer." },
	};
	const uint64_t value[] = { ss->pending, ss->bad, ss->covered, ss->background, ss->replaced };

	for (size_t i = 0; i < sizeof(value) / sizeof(value[0]); i++)
		fprintf(f, "# HELP nomsync_%s %s\n# TYPE nomsync_%s %s\nnomsync_%s %llu\n", name[i][0], name[i][2],
			name[i][0], name[i][1], name[i][0], (unsigned long long)value[i]);
}

void ns_trust_metrics(FILE *f, const ns_trust_stats *ts)
{
	static const char *const gauge[][2] = {
		{ "events_incomplete", "Events stored without their payload, awaiting it from a peer." },
		{ "events_held", "Events held for a gap in their origin's chain." },
		{ "held_bytes", "Bytes of the events held for a gap." },
	};
	const uint64_t value[] = { ts->incomplete, ts->held, ts->held_bytes };

	for (size_t i = 0; i < sizeof(value) / sizeof(value[0]); i++)
		fprintf(f, "# HELP nomsync_%s %s\n# TYPE nomsync_%s gauge\nnomsync_%s %llu\n", gauge[i][0], gauge[i][1],
			gauge[i][0], gauge[i][0], (unsigned long long)value[i]);
}

void ns_nats_metrics(FILE *f, const ns_nats_status *ns)
{
	static const char *const name[][3] = {
		{ "connected", "gauge", "1 while connected to a NATS server." },
		{ "lag_events", "gauge", "Stored events not yet acknowledged by the NATS stream." },
		{ "published_total", "counter", "Event messages acknowledged by the NATS stream." },
		{ "views_published_total", "counter", "View messages acknowledged by the NATS views stream." },
		{ "failed_total", "counter", "NATS publishes that failed or timed out (resent)." },
		{ "consumed_total", "counter", "Inbound NATS messages appended as events." },
		{ "dead_letters_total", "counter", "Inbound NATS messages sent to the dead-letter subject." },
	};
	const uint64_t value[] = { (uint64_t)ns->connected, ns->lag_events, ns->published, ns->views_published,
				   ns->failed, ns->consumed, ns->dead_letters };

	if (!ns->enabled)
		return;
	for (size_t i = 0; i < sizeof(value) / sizeof(value[0]); i++)
		fprintf(f, "# HELP nomsync_nats_%s %s\n# TYPE nomsync_nats_%s %s\nnomsync_nats_%s %llu\n", name[i][0],
			name[i][2], name[i][0], name[i][1], name[i][0], (unsigned long long)value[i]);
	fprintf(f, "# HELP nomsync_nats_lag_seconds Age of the oldest stored event not yet acknowledged by NATS.\n"
		   "# TYPE nomsync_nats_lag_seconds gauge\nnomsync_nats_lag_seconds %.3f\n",
		ns->lag_seconds);
}
