/*
 * The read audit of one request (see http_int.h and nomsync/audit.h): the
 * handlers note each person whose data they return or refuse; the notes go
 * to the audit store with the response.
 */
#include "http/http_int.h"

#include <stdlib.h>
#include <string.h>

#define NS__AUDIT_LIMIT 1000     /* entries per GET /v1/audit unless limit= says */
#define NS__AUDIT_LIMIT_MAX 100000

int ns__audit_note(ns__conn *c, const char *offender, const char *endpoint, int outcome)
{
	if (outcome >= NS_AUDIT_ALLOWED && outcome <= NS_AUDIT_LISTED)
		c->h->reads[outcome]++;
	if (!c->h->opts.audit)
		return 0;
	if (c->naudit == c->audit_cap) {
		size_t cap = c->audit_cap ? 2 * c->audit_cap : 4;
		ns_audit_entry *n = realloc(c->audit, cap * sizeof(*n));
		if (!n)
			return NS_ENOMEM;
		c->audit = n;
		c->audit_cap = cap;
	}
	ns_audit_entry *e = &c->audit[c->naudit++];
	memset(e, 0, sizeof(*e));
	snprintf(e->user, sizeof(e->user), "%s", c->who.user);
	e->roles = c->who.roles;
	snprintf(e->offender, sizeof(e->offender), "%s", offender);
	snprintf(e->endpoint, sizeof(e->endpoint), "%s", endpoint);
	e->outcome = outcome;
	return 0;
}

void ns__audit_clear(ns__conn *c)
{
	free(c->audit);
	c->audit = NULL;
	c->naudit = c->audit_cap = 0;
}

/* One query parameter's name at @p p (up to '=' or '&'), checked against those GET /v1/audit knows. */
static int ns__audit_param_known(const char *p, size_t len)
{
	static const char *const known[] = { "offender", "user", "from", "to", "limit" };
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strlen(known[i]) == len && strncmp(p, known[i], len) == 0)
			return 1;
	return 0;
}

typedef struct ns__audit_out {
	FILE *f;
	size_t n;
	int failed;
} ns__audit_out;

static int ns__audit_row(void *arg, const ns_audit_entry *e)
{
	ns__audit_out *o = arg;
	char *j = ns_audit_entry_json(e);
	if (j == NULL) {
		o->failed = 1;
		return 1;
	}
	fprintf(o->f, "%s%s", o->n++ ? "," : "", j);
	free(j);
	return 0;
}

void ns__get_audit(ns__conn *c, const char *query)
{
	char off[64] = "", user[NS_USER_MAX] = "", from[64], to[64], limit[32], bad[64];
	ns_audit_query q = { 0 };
	ns__audit_out o = { 0 };
	char *buf = NULL, *end;
	size_t len = 0;
	ns_diag d;

	if (c->h->opts.audit == NULL) {
		ns__respond_error(c, 404, "not_found", "the read audit is off on this node ([http] audit = off)");
		return;
	}
	for (const char *p = query; *p;) {
		size_t nl = strcspn(p, "=&");
		if (!ns__audit_param_known(p, nl)) {
			snprintf(bad, sizeof(bad), "unknown query parameter '%.*s'", (int)(nl < 32 ? nl : 32), p);
			ns__respond_error(c, 400, "bad_request", bad);
			return;
		}
		p += strcspn(p, "&");
		p += *p == '&';
	}
	int has_off = ns__query_param(query, "offender", off, sizeof(off));
	int has_user = ns__query_param(query, "user", user, sizeof(user));
	if ((has_off && !off[0]) || (has_user && !user[0]) || (!has_off && !has_user)) {
		ns__respond_error(c, 400, "bad_request", "give offender=ID or user=U (or both)");
		return;
	}
	if (strlen(off) >= sizeof(((ns_audit_entry *)0)->offender)) {
		ns__respond_error(c, 400, "bad_request", "offender: not a NOMS number or CRN");
		return;
	}
	if ((ns__query_param(query, "from", from, sizeof(from)) && ns_audit_parse_time(from, 0, &q.from_ms) != 0) ||
	    (ns__query_param(query, "to", to, sizeof(to)) && ns_audit_parse_time(to, 1, &q.to_ms) != 0)) {
		ns__respond_error(c, 400, "bad_request",
				  "from and to are dates (YYYY-MM-DD) or times (YYYY-MM-DDTHH:MM:SS[.mmm]Z)");
		return;
	}
	q.limit = NS__AUDIT_LIMIT;
	if (ns__query_param(query, "limit", limit, sizeof(limit))) {
		unsigned long v = strtoul(limit, &end, 10);
		if (limit[0] < '1' || limit[0] > '9' || *end || v > NS__AUDIT_LIMIT_MAX) {
			ns__respond_error(c, 400, "bad_request", "limit is a whole number from 1 to 100000");
			return;
		}
		q.limit = v;
	}
	q.offender = has_off ? off : NULL;
	q.user = has_user ? user : NULL;
	if ((o.f = open_memstream(&buf, &len)) == NULL) {
		ns__respond_error(c, 500, "memory", "out of memory");
		return;
	}
	fputs("{\"entries\":[", o.f);
	ns_diag_clear(&d);
	int rc = ns_audit_query_run(c->h->opts.audit, &q, ns__audit_row, &o, &d);
	fputs("]}", o.f);
	fclose(o.f);
	if (rc != 0 || o.failed)
		ns__respond_error(c, 500, "audit", rc ? d.msg : "out of memory");
	else
		ns__respond(c, 200, "application/json", buf, len, NULL);
	free(buf);
}

void ns__audit_metrics(ns_http *h, FILE *f)
{
	ns_audit_stats st = { 0 };

	fprintf(f, "# HELP nomsync_http_reads_total Reads of a person's data by outcome (refused: restricted, "
		   "no_role; listed: shown as restricted in a list).\n# TYPE nomsync_http_reads_total counter\n");
	for (int o = NS_AUDIT_ALLOWED; o <= NS_AUDIT_LISTED; o++)
		fprintf(f, "nomsync_http_reads_total{outcome=\"%s\"} %llu\n", ns_audit_outcome_name(o),
			(unsigned long long)h->reads[o]);
	if (h->opts.audit == NULL)
		return;
	ns_audit_get_stats(h->opts.audit, &st);
	fprintf(f, "# HELP nomsync_audit_entries_total Read audit entries committed.\n"
		   "# TYPE nomsync_audit_entries_total counter\nnomsync_audit_entries_total %llu\n"
		   "# HELP nomsync_audit_batches_total Read audit write transactions committed.\n"
		   "# TYPE nomsync_audit_batches_total counter\nnomsync_audit_batches_total %llu\n"
		   "# HELP nomsync_audit_failed_total Read audit entries whose commit failed (their responses "
		   "were 503 audit_unavailable).\n"
		   "# TYPE nomsync_audit_failed_total counter\nnomsync_audit_failed_total %llu\n"
		   "# HELP nomsync_audit_queued Read audit entries waiting for the writer.\n"
		   "# TYPE nomsync_audit_queued gauge\nnomsync_audit_queued %llu\n"
		   "# HELP nomsync_audit_unavailable_total Responses replaced by 503 audit_unavailable.\n"
		   "# TYPE nomsync_audit_unavailable_total counter\nnomsync_audit_unavailable_total %llu\n",
		(unsigned long long)st.entries, (unsigned long long)st.batches, (unsigned long long)st.failed,
		(unsigned long long)st.queued, (unsigned long long)h->audit_refused);
}
