/*
 * The view's figures (ns_fold_figures): what the store's caseload and
 * figures record holds of a person, read from the view object that
 * ns_fold_figured has just rendered, before it is written out as text. The
 * store once parsed ten keys of the view's text again for this at every
 * re-fold (docs/PERFORMANCE.md A.7).
 */
#include "fold_int.h"

#include <stdio.h>
#include <stddef.h>
#include <string.h>

static void ns__fig_cpy(char *dst, size_t cap, const json_t *s)
{
	const char *v = json_string_value(s);
	snprintf(dst, cap, "%s", v ? v : "");
}

static int32_t ns__fig_day(const json_t *s)
{
	int32_t d;
	const char *v = json_string_value(s);
	return v && ns_date_parse(v, &d) == 0 ? d : NS_DATE_NONE;
}

/* Is @p v the string @p s. */
static int ns__fig_is(const json_t *v, const char *s)
{
	return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

#define ns__get json_object_get

/* The community sentences' unpaid work, programmes, breaches and enforcement; the first active one. */
static const json_t *ns__fig_community(const json_t *v, ns_fold_figures *r)
{
	const json_t *active = NULL, *e;
	size_t i, j;

	json_array_foreach(ns__get(v, "community"), i, e)
	{
		const json_t *q, *cmp = ns__get(e, "compliance"), *b;
		if (active == NULL && ns__fig_is(ns__get(e, "status"), "ACTIVE"))
			active = e;
		json_array_foreach(ns__get(e, "requirements"), j, q)
		{
			const char *cat = json_string_value(ns__get(q, "category"));
			const char *st = json_string_value(ns__get(q, "status"));
			if (cat && strcmp(cat, "UNPAID_WORK") == 0) {
				const json_t *m = ns__get(q, "completed_minutes");
				r->uw_ordered += (uint32_t)json_integer_value(ns__get(q, "required")) * 60;
				r->uw_credited += m ? (uint32_t)json_integer_value(m)
						    : (uint32_t)json_integer_value(ns__get(q, "completed")) * 60;
			}
			if (cat && st && strcmp(cat, "PROGRAMME") == 0 && strcmp(st, "COMPLETED") == 0)
				r->programmes_completed++;
		}
		json_array_foreach(ns__get(cmp, "breaches"), j, b)
			if (json_is_null(ns__get(b, "outcome")))
				r->breaches_open++;
		if (json_is_true(ns__get(cmp, "enforcement_due")))
			r->enforcement_due++;
	}
	return active;
}

/* The conflicts, counted and by rule (the first NS_FOLD_FIG_RULES distinct rules). */
static void ns__fig_conflicts(const json_t *v, ns_fold_figures *r)
{
	const json_t *e;
	size_t i;

	json_array_foreach(ns__get(v, "conflicts"), i, e)
	{
		const char *rule = json_string_value(ns__get(e, "rule"));
		uint32_t k;
		r->conflicts++;
		if (rule == NULL)
			continue;
		for (k = 0; k < r->nrules && strcmp(r->rule[k], rule) != 0; k++)
			;
		if (k == r->nrules) {
			if (k == NS_FOLD_FIG_RULES)
				continue; /* more distinct rules than fit: counted in conflicts only */
			snprintf(r->rule[k], sizeof(r->rule[k]), "%s", rule);
			r->nrules++;
		}
		r->rule_n[k]++;
	}
}

void ns__figures(const json_t *v, ns_fold_figures *r)
{
	const json_t *mgr = ns__get(v, "managers"), *risk = ns__get(v, "risk"),
		     *dates = ns__get(v, "dates"), *lic = ns__get(v, "licence"), *e, *active;
	size_t i;

	memset(r, 0, offsetof(ns_fold_figures, access)); /* access: filled by the render, before */
	ns__fig_cpy(r->noms, sizeof(r->noms), ns__get(v, "noms"));
	ns__fig_cpy(r->crn, sizeof(r->crn), ns__get(v, "crn"));
	ns__fig_cpy(r->prison, sizeof(r->prison), ns__get(v, "prison"));
	ns__fig_cpy(r->region, sizeof(r->region), ns__get(ns__get(mgr, "com"), "region"));
	ns__fig_cpy(r->pom, sizeof(r->pom), ns__get(ns__get(mgr, "pom"), "staff"));
	ns__fig_cpy(r->com, sizeof(r->com), ns__get(ns__get(mgr, "com"), "staff"));
	ns__fig_cpy(r->tier, sizeof(r->tier), ns__get(risk, "tier"));
	ns__fig_cpy(r->rosh, sizeof(r->rosh), ns__get(risk, "rosh"));
	r->next_key_date = r->release_date = NS_DATE_NONE;
	active = ns__fig_community(v, r);
	json_array_foreach(ns__get(v, "programmes"), i, e)
		if (ns__fig_is(ns__get(e, "status"), "COMPLETED"))
			r->programmes_completed++;
	/* Supervision: custody first, then an active licence, then an active community sentence. */
	if (r->prison[0]) {
		snprintf(r->supervision, sizeof(r->supervision), "CUSTODY");
		snprintf(r->status, sizeof(r->status), "IN_CUSTODY");
		const json_t *adj = ns__get(dates, "release_date_adjusted");
		r->release_date = ns__fig_day(json_is_string(adj) ? adj : ns__get(dates, "release_date"));
		r->next_key_date = r->release_date;
	} else if (json_is_object(lic) && ns__fig_is(ns__get(lic, "status"), "ACTIVE")) {
		snprintf(r->supervision, sizeof(r->supervision), "LICENCE");
		snprintf(r->status, sizeof(r->status), "LICENCE");
		r->next_key_date = ns__fig_day(ns__get(lic, "expiry_date"));
	} else if (active != NULL) {
		ns__fig_cpy(r->supervision, sizeof(r->supervision), ns__get(active, "sentence_type"));
		snprintf(r->status, sizeof(r->status), "COMMUNITY");
		r->next_key_date = ns__fig_day(ns__get(active, "end_date"));
	} else {
		snprintf(r->supervision, sizeof(r->supervision), "NONE");
		snprintf(r->status, sizeof(r->status), "NONE");
	}
	ns__fig_conflicts(v, r);
}
