/*
 * GET /v1/caseload?staff=CODE, /v1/releases?prison=X|region=Y&days=N and
 * /v1/figures[?region=Y] (issue 11 item 7), each as JSON or, with
 * format=csv, as CSV. The store keeps what they read at each fold
 * (src/store/figures.c); "today" is the node's clock (UTC) unless as_of=
 * names a date (for tests and for figures as of a past day). Restricted
 * people in the lists are masked (access.c); the figures are counts only.
 */
#include "http/http_int.h"

#include <nomsync/date.h>
#include <nomsync/store.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

static int ns__today(const char *query, int32_t *day)
{
	char asof[16];
	time_t now = time(NULL);
	struct tm tm;

	if (ns__query_param(query, "as_of", asof, sizeof(asof)))
		return ns_date_parse(asof, day);
	gmtime_r(&now, &tm);
	*day = ns_date_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	return 0;
}

/*
 * The people of a caseload or releases list that c->who may not read, as
 * {"offender", "restricted": true} only (the CSV's row says RESTRICTED in its
 * flags); the figures are counts and name nobody.
 */
static void ns__mask_list(ns__conn *c, json_t *list, const char *endpoint)
{
	size_t i;
	json_t *item;

	json_array_foreach(list, i, item)
	{
		const char *ref = json_string_value(json_object_get(item, "ref"));
		json_t *shown = ns__list_item(c, ref ? ref : "", endpoint, json_incref(item));
		if (shown != item) {
			json_object_set_new(shown, "ref", json_string(ref ? ref : ""));
			json_object_set_new(shown, "flags", json_pack("[s]", "RESTRICTED"));
		}
		json_array_set_new(list, i, shown);
	}
}

void ns__get_figures(ns__conn *c, const char *query, enum ns__fig_route which, const char *endpoint)
{
	char staff[64], prison[NS_SITE_MAX], region[NS_SITE_MAX], days[16], fmt[8];
	/* An empty prison= or region= is no filter (as a form leaves it). */
	int has_prison = ns__query_param(query, "prison", prison, sizeof(prison)) && prison[0];
	int has_region = ns__query_param(query, "region", region, sizeof(region)) && region[0];
	int has_fmt = ns__query_param(query, "format", fmt, sizeof(fmt));
	int csv = has_fmt && strcmp(fmt, "csv") == 0;
	int32_t today;
	json_t *out = NULL;
	ns_diag d = { 0 };
	int rc;

	if (has_fmt && !csv && strcmp(fmt, "json") != 0) {
		/* Not silently JSON: a script asking for another format would parse the wrong thing. */
		ns__respond_error(c, 400, "bad_request", "format must be json or csv");
		return;
	}
	if (ns__today(query, &today) != 0) {
		ns__respond_error(c, 400, "bad_request", "as_of must be YYYY-MM-DD");
		return;
	}
	if (which == NS__FIG_CASELOAD) {
		if (!ns__query_param(query, "staff", staff, sizeof(staff)) || !staff[0]) {
			ns__respond_error(c, 400, "bad_request", "give staff=");
			return;
		}
		rc = ns_store_caseload(c->h->store, staff, &out, &d);
	} else if (which == NS__FIG_RELEASES) {
		char *end = NULL;
		long n = ns__query_param(query, "days", days, sizeof(days)) ? strtol(days, &end, 10) : 28;
		if ((end != NULL && (*end != '\0' || end == days)) || n < 0 || n > 3660) {
			ns__respond_error(c, 400, "bad_request", "days must be 0 to 3660");
			return;
		}
		if (!has_prison && !has_region) {
			ns__respond_error(c, 400, "bad_request", "give prison= or region=");
			return;
		}
		rc = ns_store_releases(c->h->store, has_prison ? prison : NULL, has_region ? region : NULL,
				       today, (int)n, &out, &d);
	} else
		rc = ns_store_figures(c->h->store, has_region ? region : NULL, today, &out, &d);
	if (rc != 0) {
		ns__respond_error(c, 500, "store", ns_strerror(rc));
		return;
	}
	if (which != NS__FIG_FIGURES)
		ns__mask_list(c, out, endpoint);
	if (!csv) {
		ns__respond_json(c, 200, out);
		return;
	}
	char *text = ns_figures_csv(out);
	json_decref(out);
	if (text == NULL) {
		ns__respond_error(c, 500, "internal", "out of memory");
		return;
	}
	ns__respond(c, 200, "text/csv; charset=utf-8", text, strlen(text), NULL);
	free(text);
}
