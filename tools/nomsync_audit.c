/*
 * nomsync audit: the read audit of a node (<dir>/audit), opened read-only so
 * that it works while nomsyncd runs. A table, or with --json one JSON object
 * per line (the format of GET /v1/audit's entries and of the syslog lines).
 */
#include "nomsync_audit.h"

#include <nomsync/audit.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int audit_usage(const char *why)
{
	fprintf(stderr, "nomsync: audit: %s\nusage: nomsync --dir DIR audit [--offender ID] [--user U] "
			"[--from DATE] [--to DATE] [--limit N] [--json]\n", why);
	return 2;
}

typedef struct audit_out {
	int json, failed;
	size_t n;
} audit_out;

static int audit_row(void *arg, const ns_audit_entry *e)
{
	audit_out *o = arg;
	if (o->json) {
		char *j = ns_audit_entry_json(e);
		if (j == NULL) {
			o->failed = 1;
			return 1;
		}
		printf("%s\n", j);
		free(j);
	} else {
		char at[32], roles[128] = "";
		size_t rl = 0;
		ns_audit_format_time(e->at_ms, at, sizeof(at));
		for (unsigned bit = 1; bit & NS_UROLE_ALL; bit <<= 1)
			if (e->roles & bit)
				rl += (size_t)snprintf(roles + rl, rl < sizeof(roles) ? sizeof(roles) - rl : 0, "%s%s",
						       rl ? "," : "", ns_urole_name(bit) + 13); /* past "ROLE_NOMSYNC_" */
		if (o->n == 0)
			printf("%-24s  %-20s  %-10s  %-10s  %-28s  %s\n", "AT", "USER", "OFFENDER", "OUTCOME", "ENDPOINT",
			       "ROLES");
		printf("%-24s  %-20s  %-10s  %-10s  %-28s  %s\n", at, e->user, e->offender,
		       ns_audit_outcome_name(e->outcome), e->endpoint, roles[0] ? roles : "-");
	}
	o->n++;
	return 0;
}

int cmd_audit(const char *dir, int argc, char **argv)
{
	ns_audit_query q = { 0 };
	audit_out o = { 0 };
	char path[PATH_MAX];
	ns_audit *a;
	ns_diag d;
	char *end;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(opt, "--json") == 0) {
			o.json = 1;
			continue;
		}
		if (v == NULL)
			return audit_usage(strncmp(opt, "--", 2) == 0 ? "an option needs a value" : "unexpected argument");
		i++;
		if (strcmp(opt, "--offender") == 0)
			q.offender = v;
		else if (strcmp(opt, "--user") == 0)
			q.user = v;
		else if (strcmp(opt, "--from") == 0 || strcmp(opt, "--to") == 0) {
			if (ns_audit_parse_time(v, opt[2] == 't', opt[2] == 't' ? &q.to_ms : &q.from_ms) != 0)
				return audit_usage("--from and --to take YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[.mmm]Z");
		} else if (strcmp(opt, "--limit") == 0) {
			q.limit = strtoul(v, &end, 10);
			if (v[0] < '1' || v[0] > '9' || *end)
				return audit_usage("--limit takes a whole number from 1");
		} else {
			return audit_usage("unknown option");
		}
	}
	if (dir == NULL)
		return audit_usage("--dir is required");
	if ((size_t)snprintf(path, sizeof(path), "%s/audit", dir) >= sizeof(path))
		return audit_usage("--dir is too long");
	ns_diag_clear(&d);
	if ((rc = ns_audit_open_readonly(&a, path, &d)) != 0) {
		fprintf(stderr, "nomsync: audit: %s\n", d.msg[0] ? d.msg : ns_strerror(rc));
		return 1;
	}
	rc = ns_audit_query_run(a, &q, audit_row, &o, &d);
	ns_audit_close(a);
	if (rc != 0 || o.failed) {
		fprintf(stderr, "nomsync: audit: %s\n", rc ? d.msg : "out of memory");
		return 1;
	}
	if (!o.json && o.n == 0)
		fprintf(stderr, "nomsync: audit: no entries\n");
	if (fflush(stdout) != 0) {
		fprintf(stderr, "nomsync: write error on stdout\n");
		return 1;
	}
	return 0;
}
