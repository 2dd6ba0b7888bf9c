/*
 * HTTP/JSON API and web page for nomsyncd (see http.h): routing and the
 * handlers. Reads of the store happen on the loop thread (LMDB readers never
 * block); appends go to the thread pool.
 */
#include "http/http_int.h"

#include <nomsync/json.h>
#include <nomsync/validate.h>

#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "web_assets.inc"

#define NS__MAX_PAGE 500

/*
 * Request helpers.
 */

/* Query parameter @name from @query (URL-decoded into @out); 1 if present. */
int ns__query_param(const char *query, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	const char *p = query;

	while (p && *p) {
		const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);
		if ((size_t)(end - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
			size_t o = 0;
			for (const char *q = p + nl + 1; q < end && o + 1 < cap; q++) {
				if (*q == '%' && end - q >= 3) {
					char hex[3] = { q[1], q[2], 0 };
					char *e;
					long v = strtol(hex, &e, 16);
					if (*e == '\0' && e == hex + 2) {
						out[o++] = (char)v;
						q += 2;
						continue;
					}
				}
				out[o++] = *q == '+' ? ' ' : *q;
			}
			out[o] = '\0';
			return 1;
		}
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

static const struct ns_asset *ns__asset(const char *path)
{
	for (const struct ns_asset *a = ns_assets; a->path; a++)
		if (strcmp(a->path, path) == 0)
			return a;
	return NULL;
}

static void ns__serve_asset(ns__conn *c, const char *path, int code)
{
	const struct ns_asset *a = ns__asset(path);
	if (a == NULL) {
		ns__respond_error(c, 404, "not_found", "no such page");
		return;
	}
	ns__respond(c, code, a->type, (const char *)a->data, a->len, NULL);
}

/*
 * API handlers.
 */

static void ns__get_view(ns__conn *c, const char *ref, const char *endpoint)
{
	char *view, canon[NS_REF_MAX];
	size_t len;
	int rc = ns_store_view(c->h->store, ref, &view, &len, canon);

	if (rc == NS_ENOTFOUND) {
		char msg[128];
		snprintf(msg, sizeof(msg), "no person with NOMS number or CRN '%.20s'", ref);
		ns__respond_error(c, 404, "not_found", msg);
		return;
	}
	if (rc != 0) {
		ns__respond_error(c, 500, "store", ns_strerror(rc));
		return;
	}
	if (ns__person_allowed(c, canon, endpoint))
		ns__respond(c, 200, "application/json", view, len, NULL);
	free(view);
}

typedef struct ns__timeline {
	json_t *events, *prov;
	ns_store *store;
} ns__timeline;

static int ns__timeline_cb(void *arg, const ns_event *ev)
{
	ns__timeline *t = arg;
	json_t *j = ns_event_to_json(ev), *sets = json_array();
	char id[2 * NS_ID_BYTES + 1];
	const char *field;
	json_t *pv;

	if (j == NULL || sets == NULL) {
		json_decref(j);
		json_decref(sets);
		return NS_ENOMEM;
	}
	ns_hex(id, ev->id, NS_ID_BYTES);
	json_object_foreach(t->prov, field, pv)
	{
		const char *e = json_string_value(json_object_get(pv, "event"));
		if (e && strcmp(e, id) == 0)
			json_array_append_new(sets, json_string(field));
	}
	json_object_set_new(j, "signature", json_string(ns_event_verify(ev) == 0 ? "valid" : "invalid"));
	json_object_set_new(j, "sets", sets);
	unsigned st = 0; /* revoked events and those awaiting their payload are not in the view: say so */
	if (ns_store_event_state(t->store, ev->origin, ev->seq, &st) == 0 && (st & (NS_EVENT_REVOKED | NS_EVENT_INCOMPLETE)))
		json_object_set_new(j, st & NS_EVENT_REVOKED ? "revoked" : "incomplete", json_true());
	json_array_append_new(t->events, j);
	return 0;
}

static void ns__get_timeline(ns__conn *c, const char *ref, const char *endpoint)
{
	char *view, canon[NS_REF_MAX];
	size_t len;
	ns__timeline t;
	int rc = ns_store_view(c->h->store, ref, &view, &len, canon);

	if (rc == NS_ENOTFOUND) {
		ns__respond_error(c, 404, "not_found", "no such person");
		return;
	}
	if (rc != 0) {
		ns__respond_error(c, 500, "store", ns_strerror(rc));
		return;
	}
	if (!ns__person_allowed(c, canon, endpoint)) {
		free(view);
		return;
	}
	json_t *v = json_loadb(view, len, 0, NULL);
	free(view);
	t.prov = json_object_get(v, "provenance");
	t.events = json_array();
	t.store = c->h->store;
	rc = ns_store_foreach_person(c->h->store, ref, ns__timeline_cb, &t);
	if (rc != 0) {
		json_decref(v);
		json_decref(t.events);
		ns__respond_error(c, 500, "store", ns_strerror(rc));
		return;
	}
	ns__respond_json(c, 200, json_pack("{s:s,s:o}", "offender", canon, "events", t.events));
	json_decref(v);
}

typedef struct ns__caseload {
	char prison[NS_SITE_MAX], region[NS_SITE_MAX], q[64];
	size_t offset, limit, total;
	json_t *keys;
} ns__caseload;

static int ns__caseload_cb(void *arg, const char *key, const ns_fold_summary *s)
{
	ns__caseload *cl = arg;
	if (cl->prison[0] && strcmp(cl->prison, s->prison) != 0)
		return 0;
	if (cl->region[0] && strcmp(cl->region, s->region) != 0)
		return 0;
	if (cl->q[0] && strncasecmp(s->surname, cl->q, strlen(cl->q)) != 0)
		return 0;
	if (cl->total >= cl->offset && json_array_size(cl->keys) < cl->limit)
		json_array_append_new(cl->keys, json_string(key));
	cl->total++;
	return 0;
}

static void ns__get_caseload(ns__conn *c, const char *query, const char *endpoint)
{
	ns__caseload cl;
	char num[32];
	json_t *items;
	size_t i;
	json_t *k;

	memset(&cl, 0, sizeof(cl));
	cl.limit = 50;
	ns__query_param(query, "prison", cl.prison, sizeof(cl.prison));
	ns__query_param(query, "region", cl.region, sizeof(cl.region));
	ns__query_param(query, "q", cl.q, sizeof(cl.q));
	if (ns__query_param(query, "offset", num, sizeof(num)))
		cl.offset = (size_t)strtoul(num, NULL, 10);
	if (ns__query_param(query, "limit", num, sizeof(num)))
		cl.limit = (size_t)strtoul(num, NULL, 10);
	if (cl.limit == 0 || cl.limit > NS__MAX_PAGE) {
		ns__respond_error(c, 400, "bad_request", "limit must be 1 to 500");
		return;
	}
	if (!cl.prison[0] && !cl.region[0] && !cl.q[0]) {
		ns__respond_error(c, 400, "bad_request", "give prison=, region= or q=");
		return;
	}
	cl.keys = json_array();
	int rc = ns_store_summaries(c->h->store, ns__caseload_cb, &cl);
	if (rc != 0) {
		json_decref(cl.keys);
		ns__respond_error(c, 500, "store", ns_strerror(rc));
		return;
	}
	items = json_array();
	json_array_foreach(cl.keys, i, k)
	{
		char *view;
		size_t len;
		if (ns_store_view(c->h->store, json_string_value(k), &view, &len, NULL) != 0)
			continue;
		json_t *v = json_loadb(view, len, 0, NULL);
		free(view);
		if (v == NULL)
			continue;
		json_t *com = json_object_get(json_object_get(v, "managers"), "com");
		json_t *item = json_pack("{s:O?,s:O?,s:O?,s:O?,s:O?,s:O?,s:O?,s:I}", "noms", json_object_get(v, "noms"),
					 "crn", json_object_get(v, "crn"), "name", json_object_get(v, "name"), "status",
					 json_object_get(v, "status"), "prison", json_object_get(v, "prison"), "region",
					 com ? json_object_get(com, "region") : json_null(), "legal_status",
					 json_object_get(v, "legal_status"), "conflicts",
					 (json_int_t)json_array_size(json_object_get(v, "conflicts")));
		json_array_append_new(items, ns__list_item(c, json_string_value(k), endpoint, item));
		json_decref(v);
	}
	json_decref(cl.keys);
	ns__respond_json(c, 200, json_pack("{s:I,s:I,s:I,s:o}", "total", (json_int_t)cl.total, "offset",
				       (json_int_t)cl.offset, "limit", (json_int_t)cl.limit, "items", items));
}

typedef struct ns__append_job {
	uv_work_t work;
	ns__conn *c;
	ns_input *in;
	size_t n, bad;
	uint8_t (*ids)[NS_ID_BYTES];
	ns_diag d;
	int rc;
} ns__append_job;

static void ns__append_work(uv_work_t *w)
{
	ns__append_job *j = w->data;
	j->rc = ns_store_append(j->c->h->store, j->in, j->n, j->ids, &j->bad, &j->d);
}

static void ns__append_done(uv_work_t *w, int status)
{
	ns__append_job *j = w->data;
	ns__conn *c = j->c;
	(void)status;
	c->h->appending--;
	c->busy = 0;
	if (c->closing) {
		ns__conn_close(c);
	} else if (j->rc == NS_ELOCKED) {
		ns__respond_json(c, 409, json_pack("{s:s,s:o}", "error", "held", "message", ns__safe_string(j->d.msg)));
	} else if (j->rc == NS_EVALID || j->rc == NS_EROLE || j->rc == NS_EQUARANTINED) {
		ns__respond_json(c, 422, json_pack("{s:s,s:I,s:o,s:o}", "error", "validation", "index", (json_int_t)j->bad,
					       "field", ns__safe_string(j->d.field), "message", ns__safe_string(j->d.msg)));
	} else if (j->rc != 0) {
		ns__respond_error(c, j->rc == NS_EMAPFULL ? 503 : 500, "store", ns_strerror(j->rc));
	} else {
		json_t *ids = json_array();
		for (size_t i = 0; i < j->n; i++) {
			char hex[2 * NS_ID_BYTES + 1];
			ns_hex(hex, j->ids[i], NS_ID_BYTES);
			json_array_append_new(ids, json_string(hex));
		}
		ns__respond_json(c, 201, json_pack("{s:o}", "ids", ids));
		if (c->h->appended)
			c->h->appended(c->h->status_arg);
	}
	for (size_t i = 0; i < j->n; i++)
		ns_input_clear(&j->in[i]);
	free(j->in);
	free(j->ids);
	free(j);
}

static void ns__post_events(ns__conn *c)
{
	json_error_t je;
	json_t *body = json_loadb(c->body ? c->body : "", c->body_len, JSON_REJECT_DUPLICATES, &je);
	ns__append_job *j;
	size_t n;

	if (body == NULL) {
		char msg[200];
		snprintf(msg, sizeof(msg), "line %d column %d: %s", je.line, je.column, je.text);
		ns__respond_error(c, 400, "bad_json", msg);
		return;
	}
	n = json_is_array(body) ? json_array_size(body) : 1;
	if (!json_is_array(body) && !json_is_object(body)) {
		json_decref(body);
		ns__respond_error(c, 400, "bad_json", "expected an event object or an array of them");
		return;
	}
	if (n == 0 || n > 10000) {
		json_decref(body);
		ns__respond_error(c, 400, "bad_request", "send 1 to 10000 events");
		return;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL || (j->in = calloc(n, sizeof(*j->in))) == NULL || (j->ids = calloc(n, NS_ID_BYTES)) == NULL) {
		if (j)
			free(j->in);
		free(j);
		json_decref(body);
		ns__respond_error(c, 503, "memory", "out of memory");
		return;
	}
	j->c = c;
	j->n = n;
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_is_array(body) ? json_array_get(body, i) : body;
		int rc = ns_input_from_json(o, &j->in[i], &j->d);
		/* The person recording it, signed into the event; the service credential is nobody's. */
		if (rc == 0 && !c->who.service)
			snprintf(j->in[i].recorded_by, sizeof(j->in[i].recorded_by), "%s", c->who.user);
		if (rc != 0) {
			ns__respond_json(c, 422, json_pack("{s:s,s:I,s:o,s:o}", "error", "validation", "index", (json_int_t)i,
						       "field", ns__safe_string(j->d.field), "message", ns__safe_string(j->d.msg)));
			for (size_t k = 0; k < i; k++)
				ns_input_clear(&j->in[k]);
			free(j->in);
			free(j->ids);
			free(j);
			json_decref(body);
			return;
		}
	}
	json_decref(body);
	j->work.data = j;
	c->busy = 1;
	c->h->appending++;
	if (uv_queue_work(c->h->loop, &j->work, ns__append_work, ns__append_done) != 0) {
		c->busy = 0;
		j->rc = NS_EAGAIN;
		ns__append_done(&j->work, 0);
	}
}

unsigned ns_http_appending(const ns_http *h)
{
	return h->appending;
}

static int ns__conflicts_cb(void *arg, const char *key, const ns_fold_summary *s)
{
	(void)key;
	*(uint64_t *)arg += (uint64_t)s->conflicts;
	return 0;
}

/* The store's part of GET /v1/status (and of /metrics): site, counts, vector, counters. */
static json_t *ns__store_status_json(ns_http *h)
{
	const ns_identity *id = ns_store_identity(h->store);
	ns_vv_entry *v = NULL;
	ns_counter *cn = NULL;
	size_t nv = 0, nc = 0;
	uint64_t persons = 0, events = 0, conflicts = 0;
	json_t *j, *counters = json_object();

	ns_store_vector(h->store, &v, &nv);
	ns_store_counters(h->store, &cn, &nc);
	ns_store_stats(h->store, &persons, &events);
	ns_store_summaries(h->store, ns__conflicts_cb, &conflicts);
	for (size_t i = 0; i < nc; i++)
		json_object_set_new(counters, cn[i].name, json_integer((json_int_t)cn[i].value));
	j = json_pack("{s:s,s:s,s:I,s:I,s:I,s:o,s:o}", "site", id->site, "role", ns_role_name(id->role), "events",
		      (json_int_t)events, "persons", (json_int_t)persons, "conflicts_open", (json_int_t)conflicts,
		      "vector", ns_vector_to_json(v, nv), "counters", counters);
	free(v);
	free(cn);
	return j;
}

/* The daemon's live status into @p st: 0, or -1 without a daemon (then nothing to free). */
static int ns__daemon_status(ns_http *h, ns_node_status *st)
{
	return h->status && h->status(h->status_arg, st) == 0 ? 0 : -1;
}

static json_t *ns__status_json(ns_http *h)
{
	json_t *j = ns__store_status_json(h), *daemon = NULL;
	ns_node_status st;

	if (ns__daemon_status(h, &st) == 0) {
		daemon = ns_status_to_json(&st);
		ns_status_free(&st);
	}
	if (daemon) {
		json_object_set(j, "peers", json_object_get(daemon, "peers"));
		json_object_set_new(j, "daemon", daemon);
	} else {
		json_object_set_new(j, "peers", json_array());
	}
	return j;
}

/* Prometheus text exposition format, version 0.0.4. */
/* CPU time of every thread of this process, user and system (0 if unavailable). */
static double ns__process_cpu_seconds(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void ns__get_metrics(ns__conn *c)
{
	ns_http *h = c->h;
	json_t *st = ns__store_status_json(h), *x;
	ns_node_status ds = { 0 };
	const char *k;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ns_fold_stats fs;
	uint64_t size = 0;

	if (ns__daemon_status(h, &ds) != 0)
		memset(&ds, 0, sizeof(ds)); /* no peers */
	if (f == NULL) {
		json_decref(st);
		ns_status_free(&ds);
		ns__respond_error(c, 500, "memory", "out of memory");
		return;
	}
	fprintf(f, "# HELP nomsync_events_total Events by outcome at this node.\n# TYPE nomsync_events_total counter\n");
	json_object_foreach(json_object_get(st, "counters"), k, x)
		if (strncmp(k, "rejected.", 9) != 0)
			fprintf(f, "nomsync_events_total{outcome=\"%s\"} %lld\n", k, (long long)json_integer_value(x));
	fprintf(f, "# HELP nomsync_events_rejected_total Events refused, by reason.\n# TYPE nomsync_events_rejected_total counter\n");
	json_object_foreach(json_object_get(st, "counters"), k, x)
		if (strncmp(k, "rejected.", 9) == 0)
			fprintf(f, "nomsync_events_rejected_total{reason=\"%s\"} %lld\n", k + 9,
				(long long)json_integer_value(x));
	fprintf(f, "# HELP nomsync_events_stored Events held in the log.\n# TYPE nomsync_events_stored gauge\n"
		   "nomsync_events_stored %lld\n",
		(long long)json_integer_value(json_object_get(st, "events")));
	fprintf(f, "# HELP nomsync_persons Persons with a folded view.\n# TYPE nomsync_persons gauge\nnomsync_persons %lld\n",
		(long long)json_integer_value(json_object_get(st, "persons")));
	fprintf(f, "# HELP nomsync_conflicts_open Conflicts flagged in views, awaiting a person.\n"
		   "# TYPE nomsync_conflicts_open gauge\nnomsync_conflicts_open %lld\n",
		(long long)json_integer_value(json_object_get(st, "conflicts_open")));
	fprintf(f, "# HELP nomsync_peer_up 1 if the peer is connected.\n# TYPE nomsync_peer_up gauge\n");
	for (size_t i = 0; i < ds.npeers; i++)
		fprintf(f, "nomsync_peer_up{peer=\"%s\",direction=\"%s\"} %d\n", ds.peers[i].site,
			ds.peers[i].outbound ? "outbound" : "inbound", ds.peers[i].state != NS_PEER_DOWN);
	fprintf(f, "# HELP nomsync_replication_lag_events Events this node holds that the peer lacks.\n"
		   "# TYPE nomsync_replication_lag_events gauge\n");
	for (size_t i = 0; i < ds.npeers; i++)
		fprintf(f, "nomsync_replication_lag_events{peer=\"%s\",direction=\"%s\"} %lld\n", ds.peers[i].site,
			ds.peers[i].outbound ? "outbound" : "inbound", (long long)ds.peers[i].behind_events);
	fprintf(f, "# HELP nomsync_replication_lag_seconds How long the peer has lacked events.\n"
		   "# TYPE nomsync_replication_lag_seconds gauge\n");
	for (size_t i = 0; i < ds.npeers; i++)
		fprintf(f, "nomsync_replication_lag_seconds{peer=\"%s\",direction=\"%s\"} %.3f\n", ds.peers[i].site,
			ds.peers[i].outbound ? "outbound" : "inbound", ds.peers[i].behind_seconds);
	ns_nats_metrics(f, &ds.nats);
	fprintf(f, "# HELP nomsync_local_append_notifications_total Appends by other processes notified "
		   "(ns_store_notify).\n# TYPE nomsync_local_append_notifications_total counter\n"
		   "nomsync_local_append_notifications_total %llu\n",
		(unsigned long long)ds.local_append_notifications);
	ns_status_free(&ds);
	ns_store_fold_stats(h->store, &fs);
	fprintf(f, "# HELP nomsync_fold_seconds Time to re-fold one person.\n# TYPE nomsync_fold_seconds histogram\n");
	for (int b = 0; b < NS_FOLD_BUCKETS; b++)
		fprintf(f, "nomsync_fold_seconds_bucket{le=\"%g\"} %llu\n", ns_fold_bucket_bounds[b],
			(unsigned long long)fs.buckets[b]);
	fprintf(f, "nomsync_fold_seconds_bucket{le=\"+Inf\"} %llu\nnomsync_fold_seconds_sum %.6f\nnomsync_fold_seconds_count %llu\n",
		(unsigned long long)fs.count, fs.sum, (unsigned long long)fs.count);
	size_t pending = 0;
	ns_store_fold_pending(h->store, 0, &pending, NULL);
	fprintf(f, "# HELP nomsync_folds_pending Identifiers whose fold was deferred during catch-up, not yet folded.\n"
		   "# TYPE nomsync_folds_pending gauge\nnomsync_folds_pending %zu\n", pending);
	pending = 0;
	ns_store_index_pending(h->store, 0, &pending, NULL);
	fprintf(f, "# HELP nomsync_ids_pending Events stored during catch-up whose id index entry is deferred.\n"
		   "# TYPE nomsync_ids_pending gauge\nnomsync_ids_pending %zu\n", pending);
	ns_trust_stats ts;
	if (ns_store_trust_stats(h->store, &ts) == 0)
		ns_trust_metrics(f, &ts);
	ns_sig_stats ss;
	if (ns_store_sig_stats(h->store, &ss) == 0)
		ns_sig_metrics(f, &ss);
	double cpu[NS_CPU_ACTIVITIES];
	ns_store_cpu_stats(h->store, cpu);
	fprintf(f, "# HELP nomsync_cpu_seconds_total CPU time of the store's work, by activity (every thread "
		   "doing it).\n# TYPE nomsync_cpu_seconds_total counter\n");
	for (int a = 0; a < NS_CPU_ACTIVITIES; a++)
		fprintf(f, "nomsync_cpu_seconds_total{activity=\"%s\"} %.6f\n", ns_cpu_activity_name(a), cpu[a]);
	fprintf(f, "# HELP nomsync_process_cpu_seconds_total CPU time of the whole process (every thread).\n"
		   "# TYPE nomsync_process_cpu_seconds_total counter\nnomsync_process_cpu_seconds_total %.6f\n",
		ns__process_cpu_seconds());
	ns_store_size(h->store, &size);
	fprintf(f, "# HELP nomsync_lmdb_bytes Bytes used by the LMDB environment.\n# TYPE nomsync_lmdb_bytes gauge\n"
		   "nomsync_lmdb_bytes %llu\n", (unsigned long long)size);
	fprintf(f, "# HELP nomsync_http_responses_total HTTP responses by status class.\n# TYPE nomsync_http_responses_total counter\n");
	for (int cl = 2; cl <= 5; cl++)
		fprintf(f, "nomsync_http_responses_total{class=\"%dxx\"} %llu\n", cl, (unsigned long long)h->requests[cl]);
	fprintf(f, "# HELP nomsync_http_connections Open HTTP connections.\n# TYPE nomsync_http_connections gauge\n"
		   "nomsync_http_connections %zu\n", h->nconns);
	fprintf(f, "# HELP nomsync_http_connections_refused_total HTTP connections refused or closed early, by reason.\n"
		   "# TYPE nomsync_http_connections_refused_total counter\n");
	for (int r = 0; r < NS__NREFUSALS; r++)
		fprintf(f, "nomsync_http_connections_refused_total{reason=\"%s\"} %llu\n", ns__refusal_names[r],
			(unsigned long long)h->refused[r]);
	ns__audit_metrics(h, f);
	ns__tls_metrics(h, f);
	fclose(f);
	json_decref(st);
	ns__respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", buf, len, NULL);
	free(buf);
}

/* GET /v1/catalogue: every event type with its label, roles and field rules. */
static void ns__get_catalogue(ns__conn *c)
{
	ns__respond_json(c, 200, ns_catalogue_to_json());
}

/*
 * GET /v1/refdata: the reference data compiled in (src/validate/data):
 * {"prisons":{code:name}, "regions":{code:name}, "pdus":{code:{"name","region"}}}.
 */
static void ns__get_refdata(ns__conn *c)
{
	json_t *j = json_pack("{s:{},s:{},s:{}}", "prisons", "regions", "pdus");
	const ns_ref_entry *e;
	int bad = j == NULL;

	for (size_t i = 0; !bad && (e = ns_ref_at(NS_REF_PRISONS, i)) != NULL; i++)
		bad = json_object_set_new(json_object_get(j, "prisons"), e->code, json_string(e->name)) != 0;
	for (size_t i = 0; !bad && (e = ns_ref_at(NS_REF_REGIONS, i)) != NULL; i++)
		bad = json_object_set_new(json_object_get(j, "regions"), e->code, json_string(e->name)) != 0;
	for (size_t i = 0; !bad && (e = ns_ref_at(NS_REF_PDUS, i)) != NULL; i++)
		bad = json_object_set_new(json_object_get(j, "pdus"), e->code,
					  json_pack("{s:s,s:s}", "name", e->name, "region", e->region)) != 0;
	if (bad) {
		json_decref(j);
		j = NULL;
	}
	ns__respond_json(c, 200, j);
}

/*
 * The login page again after a wrong token, saying so (WCAG 3.3.1): the
 * title starts "Error:", the message replaces the page's <!--token-error-->
 * marker as an alert, and the field is described by it and marked invalid.
 */
static void ns__login_refused(ns__conn *c)
{
	static const char *const subst[][2] = {
		{ "<title>", "<title>Error: " },
		{ "<!--token-error-->",
		  "<p class=\"error-inline\" id=\"token-error\" role=\"alert\" data-testid=\"token-error\">"
		  "<span class=\"visually-hidden\">Error:</span> That token is not valid. Check it and try again.</p>" },
		{ "aria-describedby=\"token-hint\"", "aria-describedby=\"token-error token-hint\" aria-invalid=\"true\"" },
	};
	const struct ns_asset *a = ns__asset("/login.html");
	size_t extra = 0, o = 0, at = 0;
	char *out;

	for (size_t i = 0; i < sizeof(subst) / sizeof(subst[0]); i++)
		extra += strlen(subst[i][1]);
	if (a == NULL || (out = malloc(a->len + extra)) == NULL) {
		ns__serve_asset(c, "/login.html", 401);
		return;
	}
	/* Each marker once, in page order; a marker missing from the page is skipped. */
	for (size_t i = 0; i < sizeof(subst) / sizeof(subst[0]); i++) {
		size_t pos = at, m = strlen(subst[i][0]);
		while (pos + m <= a->len && memcmp(a->data + pos, subst[i][0], m) != 0)
			pos++;
		if (pos + m > a->len)
			continue;
		memcpy(out + o, a->data + at, pos - at);
		o += pos - at;
		memcpy(out + o, subst[i][1], strlen(subst[i][1]));
		o += strlen(subst[i][1]);
		at = pos + strlen(subst[i][0]);
	}
	memcpy(out + o, a->data + at, a->len - at);
	o += a->len - at;
	ns__respond(c, 401, a->type, out, o, NULL);
	free(out);
}

/* POST /login: a new session for the token or JWT in the form; the cookie carries the session id. */
static void ns__login(ns__conn *c)
{
	char tok[8192], id[2 * NS__SESSION_ID_BYTES + 1], cookie[400];
	ns_principal who;
	ns_diag why;
	long max_age;

	if (c->body == NULL || !ns__query_param(c->body, "token", tok, sizeof(tok)) ||
	    ns__credential(c->h, tok, &who, &why) != 0) {
		sodium_memzero(tok, sizeof(tok));
		ns__login_refused(c);
		return;
	}
	sodium_memzero(tok, sizeof(tok));
	if (ns__session_new(c->h, &who, id, &max_age) != 0) {
		ns__respond_error(c, 503, "memory", "out of memory");
		return;
	}
	snprintf(cookie, sizeof(cookie),
		 "Location: /\r\nSet-Cookie: nomsync_session=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%ld%s\r\n", id,
		 max_age, c->ssl ? "; Secure" : "");
	ns__respond(c, 303, "text/plain", "", 0, cookie);
}

/*
 * POST /logout: ends the session (a cookie request from another site is
 * refused, so no page elsewhere can sign a user out) and clears the cookie.
 * Needs no valid session: signing out of an expired one still clears it.
 */
static void ns__logout(ns__conn *c)
{
	const char *why;
	ns_principal who;

	if (ns__session_principal(c, &who)) {
		if ((why = ns__csrf_refusal(c, 0)) != NULL) {
			ns__respond_error(c, 403, "forbidden", why);
			return;
		}
		ns__session_end(c);
	}
	ns__respond(c, 303, "text/plain", "", 0,
		    c->ssl ? "Location: /\r\nSet-Cookie: nomsync_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0; "
			     "Secure\r\n"
			   : "Location: /\r\nSet-Cookie: nomsync_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0\r\n");
}

void ns__dispatch(ns__conn *c)
{
	struct http_parser_url u;
	char path[2048], query[2048] = "";
	char ref[64];
	int method = c->parser.method;
	enum ns__auth auth;
	const ns__route *r;
	const char *why;
	ns_diag unauth;

	http_parser_url_init(&u);
	if (http_parser_parse_url(c->url, c->url_len, 0, &u) != 0 || !(u.field_set & (1 << UF_PATH)) ||
	    u.field_data[UF_PATH].len >= sizeof(path)) {
		ns__respond_error(c, 400, "bad_request", "malformed request target");
		return;
	}
	memcpy(path, c->url + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
	path[u.field_data[UF_PATH].len] = '\0';
	if ((u.field_set & (1 << UF_QUERY)) && u.field_data[UF_QUERY].len < sizeof(query)) {
		memcpy(query, c->url + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
		query[u.field_data[UF_QUERY].len] = '\0';
	}
	/* The public routes; on a reserved slot they are answered once, then the slot is freed. */
	if (c->probation)
		c->keep_alive = 0;
	if (strcmp(path, "/healthz") == 0) {
		if (method != HTTP_GET && method != HTTP_HEAD)
			ns__respond_error(c, 405, "method_not_allowed", "use GET");
		else
			ns__respond_json(c, 200, json_pack("{s:s}", "status", "ok"));
		return;
	}
	if (strcmp(path, "/login") == 0 && method == HTTP_POST) {
		ns__login(c);
		return;
	}
	if (strcmp(path, "/logout") == 0 && method == HTTP_POST) {
		ns__logout(c);
		return;
	}
	auth = ns__authenticate(c, &unauth);
	if (c->probation) {
		if (auth == NS__AUTH_NONE || auth == NS__AUTH_BAD) {
			ns__count_refusal(c->h, NS__REFUSE_RESERVED, c->addr);
			ns__respond_error(c, 503, "busy",
					  "the server is at its connection limit and serves only authenticated requests");
			return;
		}
		c->probation = 0; /* shown a credential: an ordinary connection from now on */
		c->keep_alive = http_should_keep_alive(&c->parser);
	}
	if (auth == NS__AUTH_NONE || auth == NS__AUTH_BAD) {
		if (method == HTTP_GET && (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0 ||
					   strcmp(path, "/login.html") == 0 || strcmp(path, "/style.css") == 0))
			ns__serve_asset(c, strcmp(path, "/style.css") == 0 ? "/style.css" : "/login.html",
				    strcmp(path, "/style.css") == 0 ? 200 : 401);
		else
			ns__respond_unauthorized(c, &unauth);
		return;
	}
	/*
	 * A signed-in page's request that changes something must come from the page (CSRF); so must a
	 * bearer request a browser sent (a login proxy may inject the bearer into every request).
	 */
	if (method != HTTP_GET && method != HTTP_HEAD &&
	    (why = auth == NS__AUTH_COOKIE ? ns__csrf_refusal(c, strcmp(path, "/v1/events") == 0)
					   : ns__bearer_csrf_refusal(c, strcmp(path, "/v1/events") == 0)) != NULL) {
		ns__respond_error(c, 403, "forbidden", why);
		return;
	}
	if (strcmp(path, "/logout") == 0) {
		ns__respond_error(c, 405, "method_not_allowed", "use POST");
		return;
	}
	if ((r = ns__route_find(path, ref, sizeof(ref))) == NULL) {
		if (method != HTTP_GET)
			ns__respond_error(c, 405, "method_not_allowed", "use GET");
		else if (ns__asset(path))
			ns__serve_asset(c, path, 200);
		else if (strncmp(path, "/v1/offenders/", 14) == 0 && strchr(path + 14, '/') == NULL)
			ns__respond_error(c, 404, "not_found", "no such person");
		else
			ns__respond_error(c, 404, "not_found", "no such resource");
		return;
	}
	if (method != r->method) {
		ns__respond_error(c, 405, "method_not_allowed", r->method == HTTP_POST ? "use POST" : "use GET");
		return;
	}
	if (!ns__route_allowed(c, r, ref))
		return;
	switch (r->id) {
	case NS__R_INDEX: ns__serve_asset(c, "/index.html", 200); break;
	case NS__R_WHOAMI: ns__get_whoami(c); break;
	case NS__R_CATALOGUE: ns__get_catalogue(c); break;
	case NS__R_REFDATA: ns__get_refdata(c); break;
	case NS__R_EVENTS: ns__post_events(c); break;
	case NS__R_SEARCH: ns__get_caseload(c, query, r->endpoint); break;
	case NS__R_VIEW: ns__get_view(c, ref, r->endpoint); break;
	case NS__R_TIMELINE: ns__get_timeline(c, ref, r->endpoint); break;
	case NS__R_CASELOAD: ns__get_figures(c, query, NS__FIG_CASELOAD, r->endpoint); break;
	case NS__R_RELEASES: ns__get_figures(c, query, NS__FIG_RELEASES, r->endpoint); break;
	case NS__R_FIGURES: ns__get_figures(c, query, NS__FIG_FIGURES, r->endpoint); break;
	case NS__R_AUDIT: ns__get_audit(c, query); break;
	case NS__R_STATUS: ns__respond_json(c, 200, ns__status_json(c->h)); break;
	case NS__R_METRICS: ns__get_metrics(c); break;
	default: ns__respond_error(c, 404, "not_found", "no such resource"); break;
	}
}
