/*
 * Caseloads and regional figures (issue 11 item 7), kept as each fold
 * changes rather than by scanning views per request. At every re-fold
 * (person.c) the view is reduced to a figures record (ns__figrec, in
 * figsum under the canonical ref); in the same transaction the old record's
 * contribution to the aggregate counters (figures) is subtracted and the new
 * one's added, and the staff and release indexes are updated:
 *
 *   figsum   canonical ref                 -> ns__figrec (versioned)
 *   figures  scope NUL name                -> int64 (scope: "E" the estate,
 *                                             "R"region, "P"prison)
 *   staffidx staff code                    -> canonical ref (dupsort)
 *   relidx   day(4, biased BE) ref         -> prison NUL region
 *
 * GET /v1/figures reads one scope's counters (a prefix range of figures)
 * and the release index over 90 days; nothing scans every person.
 */
#include "store_int.h"

#include <nomsync/date.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS__FIG_VERSION 1
#define NS__FIG_RULES 8
#define NS__DAY_BIAS 0x80000000u

typedef struct ns__figrec {
	uint32_t version; /* NS__FIG_VERSION; another value is read as no record */
	char noms[NS_REF_MAX], crn[NS_REF_MAX];
	char prison[NS_SITE_MAX], region[NS_SITE_MAX];
	char pom[32], com[32];
	char status[12];      /* IN_CUSTODY, LICENCE, COMMUNITY, NONE */
	char supervision[16]; /* CUSTODY, LICENCE, COMMUNITY_ORDER, SSO, NONE */
	char tier[8], rosh[12];
	int32_t next_key_date, release_date; /* NS_DATE_NONE if none */
	uint32_t uw_ordered, uw_credited;    /* unpaid work, minutes */
	uint32_t breaches_open, enforcement_due, programmes_completed, conflicts;
	uint32_t nrules;
	char rule[NS__FIG_RULES][32];
	uint32_t rule_n[NS__FIG_RULES];
} ns__figrec;

static void ns__cpy(char *dst, size_t cap, const json_t *s)
{
	const char *v = json_string_value(s);
	snprintf(dst, cap, "%s", v ? v : "");
}

static int32_t ns__jday(const json_t *s)
{
	int32_t d;
	const char *v = json_string_value(s);
	return v && ns_date_parse(v, &d) == 0 ? d : NS_DATE_NONE;
}

#define ns__get json_object_get

/* Reduce a view to its figures record. */
static void ns__figrec_from_view(const json_t *v, ns__figrec *r)
{
	const json_t *mgr = ns__get(v, "managers"), *risk = ns__get(v, "risk"),
		     *dates = ns__get(v, "dates"), *lic = ns__get(v, "licence"), *e;
	const json_t *active = NULL;
	size_t i, j;

	memset(r, 0, sizeof(*r));
	r->version = NS__FIG_VERSION;
	ns__cpy(r->noms, sizeof(r->noms), ns__get(v, "noms"));
	ns__cpy(r->crn, sizeof(r->crn), ns__get(v, "crn"));
	ns__cpy(r->prison, sizeof(r->prison), ns__get(v, "prison"));
	ns__cpy(r->region, sizeof(r->region), ns__get(ns__get(mgr, "com"), "region"));
	ns__cpy(r->pom, sizeof(r->pom), ns__get(ns__get(mgr, "pom"), "staff"));
	ns__cpy(r->com, sizeof(r->com), ns__get(ns__get(mgr, "com"), "staff"));
	ns__cpy(r->tier, sizeof(r->tier), ns__get(risk, "tier"));
	ns__cpy(r->rosh, sizeof(r->rosh), ns__get(risk, "rosh"));
	r->next_key_date = r->release_date = NS_DATE_NONE;
	json_array_foreach(ns__get(v, "community"), i, e)
	{
		const json_t *q, *cmp = ns__get(e, "compliance"), *b;
		if (active == NULL && json_is_string(ns__get(e, "status")) &&
		    strcmp(json_string_value(ns__get(e, "status")), "ACTIVE") == 0)
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
	json_array_foreach(ns__get(v, "programmes"), i, e)
	{
		const char *st = json_string_value(ns__get(e, "status"));
		if (st && strcmp(st, "COMPLETED") == 0)
			r->programmes_completed++;
	}
	/* Supervision: custody first, then an active licence, then an active community sentence. */
	if (r->prison[0]) {
		snprintf(r->supervision, sizeof(r->supervision), "CUSTODY");
		snprintf(r->status, sizeof(r->status), "IN_CUSTODY");
		const json_t *adj = ns__get(dates, "release_date_adjusted");
		r->release_date = ns__jday(json_is_string(adj) ? adj : ns__get(dates, "release_date"));
		r->next_key_date = r->release_date;
	} else if (json_is_object(lic) && json_is_string(ns__get(lic, "status")) &&
		   strcmp(json_string_value(ns__get(lic, "status")), "ACTIVE") == 0) {
		snprintf(r->supervision, sizeof(r->supervision), "LICENCE");
		snprintf(r->status, sizeof(r->status), "LICENCE");
		r->next_key_date = ns__jday(ns__get(lic, "expiry_date"));
	} else if (active != NULL) {
		ns__cpy(r->supervision, sizeof(r->supervision), ns__get(active, "sentence_type"));
		snprintf(r->status, sizeof(r->status), "COMMUNITY");
		r->next_key_date = ns__jday(ns__get(active, "end_date"));
	} else {
		snprintf(r->supervision, sizeof(r->supervision), "NONE");
		snprintf(r->status, sizeof(r->status), "NONE");
	}
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
			if (k == NS__FIG_RULES)
				continue; /* more distinct rules than fit: counted in conflicts only */
			snprintf(r->rule[k], sizeof(r->rule[k]), "%s", rule);
			r->nrules++;
		}
		r->rule_n[k]++;
	}
}

/*
 * The end of the JSON value at @p p (strings, objects and arrays by their
 * quotes and brackets; a bare scalar up to the next ',' or closing bracket),
 * or NULL if it does not end before @p end.
 */
static const char *ns__skip_value(const char *p, const char *end)
{
	int depth = 0;

	for (; p < end; p++) {
		switch (*p) {
		case '"':
			for (p++; p < end && *p != '"'; p++)
				if (*p == '\\')
					p++;
			if (p >= end)
				return NULL;
			if (depth == 0)
				return p + 1;
			break;
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (depth == 0)
				return p;
			if (--depth == 0)
				return p + 1;
			break;
		case ',':
			if (depth == 0)
				return p;
			break;
		}
	}
	return depth == 0 ? p : NULL;
}

static const char *ns__skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/*
 * The top-level keys of a view that its figures record reads, parsed alone:
 * the whole view of a long history (alerts, movements, the timeline's
 * provenance) is many times larger, and parsing all of it made a re-fold of
 * a 500-event offender 0.24 ms slower at p99. NULL if the text is not a
 * JSON object.
 */
static json_t *ns__view_subset(const char *json, size_t len)
{
	static const char *const keys[] = { "noms",  "crn",	"prison",     "managers",  "risk",
					    "dates", "licence", "community", "programmes", "conflicts" };
	const char *p = ns__skip_ws(json, json + len), *end = json + len;
	json_t *o = json_object();

	if (o == NULL || p == end || *p++ != '{')
		goto bad;
	for (;;) {
		if ((p = ns__skip_ws(p, end)) < end && *p == '}')
			return o;
		const char *ks = p + 1, *ke = p < end && *p == '"' ? ns__skip_value(p, end) : NULL, *ve;
		if (ke == NULL || (p = ns__skip_ws(ke, end)) == end || *p != ':')
			goto bad;
		p = ns__skip_ws(p + 1, end);
		if ((ve = ns__skip_value(p, end)) == NULL || ve == p)
			goto bad;
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strlen(keys[i]) == (size_t)(ke - 1 - ks) && memcmp(keys[i], ks, (size_t)(ke - 1 - ks)) == 0) {
				json_t *x = json_loadb(p, (size_t)(ve - p), JSON_DECODE_ANY, NULL);
				if (x == NULL || json_object_set_new(o, keys[i], x) != 0)
					goto bad;
				break;
			}
		if ((p = ns__skip_ws(ve, end)) < end && *p == ',')
			p++;
		else if (p == end || *p != '}')
			goto bad;
	}
bad:
	json_decref(o);
	return NULL;
}

/* Called for each (scope, name, amount) a record contributes. */
typedef int (*ns__add_fn)(void *arg, const char *scope, const char *name, int64_t n);

static int ns__contrib_scope(const ns__figrec *r, const char *scope, ns__add_fn add, void *arg)
{
	char name[64];
	int rc = add(arg, scope, "persons", 1);

	if (rc == 0 && r->prison[0]) {
		snprintf(name, sizeof(name), "pop:%s", r->prison);
		rc = add(arg, scope, name, 1);
	}
	if (rc == 0) {
		snprintf(name, sizeof(name), "sup:%s", r->supervision);
		rc = add(arg, scope, name, 1);
	}
	if (rc == 0 && strcmp(r->supervision, "NONE") != 0) {
		snprintf(name, sizeof(name), "tier:%s", r->tier[0] ? r->tier : "NONE");
		rc = add(arg, scope, name, 1);
	}
	if (rc == 0)
		rc = add(arg, scope, "uw:ordered", r->uw_ordered);
	if (rc == 0)
		rc = add(arg, scope, "uw:credited", r->uw_credited);
	if (rc == 0)
		rc = add(arg, scope, "breaches_open", r->breaches_open);
	if (rc == 0)
		rc = add(arg, scope, "enforcement_due", r->enforcement_due);
	if (rc == 0)
		rc = add(arg, scope, "programme_completions", r->programmes_completed);
	for (uint32_t k = 0; k < r->nrules && k < NS__FIG_RULES && rc == 0; k++) {
		snprintf(name, sizeof(name), "conflict:%s", r->rule[k]);
		rc = add(arg, scope, name, r->rule_n[k]);
	}
	return rc;
}

/* Every counter a record contributes to: the estate, its region, its prison. */
static int ns__contrib(const ns__figrec *r, ns__add_fn add, void *arg)
{
	char scope[NS_SITE_MAX + 1];
	int rc = ns__contrib_scope(r, "E", add, arg);

	if (rc == 0 && r->region[0]) {
		snprintf(scope, sizeof(scope), "R%s", r->region);
		rc = ns__contrib_scope(r, scope, add, arg);
	}
	if (rc == 0 && r->prison[0]) {
		snprintf(scope, sizeof(scope), "P%s", r->prison);
		rc = ns__contrib_scope(r, scope, add, arg);
	}
	return rc;
}

struct ns__dbadd {
	MDB_txn *txn;
	ns_store *s;
	int sign;
};

/* Add sign * n to a figures counter; a counter that reaches zero is deleted. */
static int ns__db_add(void *arg, const char *scope, const char *name, int64_t n)
{
	struct ns__dbadd *a = arg;
	char key[NS_SITE_MAX + 72];
	size_t sl = strlen(scope), nl = strlen(name);
	int64_t cur = 0;
	MDB_val k = { sl + 1 + nl, key }, v;
	int g;

	if (n == 0)
		return 0;
	memcpy(key, scope, sl + 1);
	memcpy(key + sl + 1, name, nl);
	if ((g = mdb_get(a->txn, a->s->figures, &k, &v)) == 0 && v.mv_size == sizeof(cur))
		memcpy(&cur, v.mv_data, sizeof(cur));
	else if (g != 0 && g != MDB_NOTFOUND)
		return ns__mdb(g);
	cur += a->sign * n;
	if (cur == 0)
		return ns__mdb(mdb_del(a->txn, a->s->figures, &k, NULL));
	v.mv_size = sizeof(cur);
	v.mv_data = &cur;
	return ns__mdb(mdb_put(a->txn, a->s->figures, &k, &v, 0));
}

static int ns__figrec_get(MDB_txn *txn, ns_store *s, const char *ref, ns__figrec *r)
{
	MDB_val k = { strlen(ref), (void *)ref }, v;
	int g = mdb_get(txn, s->figsum, &k, &v);

	if (g != 0)
		return g == MDB_NOTFOUND ? NS_ENOTFOUND : ns__mdb(g);
	if (v.mv_size != sizeof(*r))
		return NS_ENOTFOUND; /* another version's record: contributes nothing */
	memcpy(r, v.mv_data, sizeof(*r));
	return r->version == NS__FIG_VERSION ? 0 : NS_ENOTFOUND;
}

static void ns__relkey(uint8_t *key, int32_t day, const char *ref, size_t *len)
{
	size_t rl = strlen(ref);
	ns__put_be32(key, (uint32_t)day + NS__DAY_BIAS);
	memcpy(key + 4, ref, rl);
	*len = 4 + rl;
}

/* Add (sign 1) or remove (-1) a record's index entries and counters. */
static int ns__figrec_apply(MDB_txn *txn, ns_store *s, const char *ref, const ns__figrec *r, int sign)
{
	struct ns__dbadd a = { txn, s, sign };
	const char *staff[2] = { r->pom, r->com };
	int rc = ns__contrib(r, ns__db_add, &a);

	for (int i = 0; i < 2 && rc == 0; i++) {
		if (!staff[i][0] || (i == 1 && strcmp(staff[0], staff[1]) == 0))
			continue;
		MDB_val k = { strlen(staff[i]), (void *)staff[i] }, v = { strlen(ref), (void *)ref };
		int g = sign > 0 ? mdb_put(txn, s->staffidx, &k, &v, MDB_NODUPDATA)
				 : mdb_del(txn, s->staffidx, &k, &v);
		if (g != 0 && g != MDB_NOTFOUND && g != MDB_KEYEXIST)
			rc = ns__mdb(g);
	}
	if (rc == 0 && r->release_date != NS_DATE_NONE) {
		uint8_t key[4 + NS_REF_MAX];
		char val[2 * NS_SITE_MAX];
		size_t kl, pl = strlen(r->prison), gl = strlen(r->region);
		ns__relkey(key, r->release_date, ref, &kl);
		memcpy(val, r->prison, pl + 1);
		memcpy(val + pl + 1, r->region, gl);
		MDB_val k = { kl, key }, v = { pl + 1 + gl, val };
		int g = sign > 0 ? mdb_put(txn, s->relidx, &k, &v, 0) : mdb_del(txn, s->relidx, &k, NULL);
		if (g != 0 && g != MDB_NOTFOUND)
			rc = ns__mdb(g);
	}
	return rc;
}

int ns__figures_drop(MDB_txn *txn, ns_store *s, const char *ref)
{
	ns__figrec old;
	MDB_val k = { strlen(ref), (void *)ref };
	int rc;

	if (!s->has_figures)
		return 0;
	if ((rc = ns__figrec_get(txn, s, ref, &old)) == NS_ENOTFOUND)
		rc = 0;
	else if (rc == 0)
		rc = ns__figrec_apply(txn, s, ref, &old, -1);
	if (rc == 0 && (rc = mdb_del(txn, s->figsum, &k, NULL)) == MDB_NOTFOUND)
		rc = 0;
	return rc > 0 ? ns__mdb(rc) : rc;
}

int ns__figures_update(MDB_txn *txn, ns_store *s, const char *ref, const char *json, size_t len)
{
	ns__figrec r;
	json_t *v;
	int rc;

	if (!s->has_figures)
		return 0;
	if ((v = ns__view_subset(json, len)) == NULL)
		return NS_ECORRUPT;
	ns__figrec_from_view(v, &r);
	json_decref(v);
	/*
	 * Most re-folds (an alert, a movement within a prison) leave the record
	 * as it was: then nothing is written (the bench's late-event re-fold
	 * took 0.24 ms longer at p99 when every one dropped and re-added some
	 * sixty counters). Both records are zeroed before they are filled, so
	 * equal contents compare equal byte for byte.
	 */
	ns__figrec old;
	if ((rc = ns__figrec_get(txn, s, ref, &old)) == 0 && memcmp(&old, &r, sizeof(r)) == 0)
		return 0;
	if (rc != 0 && rc != NS_ENOTFOUND)
		return rc;
	if ((rc = ns__figures_drop(txn, s, ref)) != 0)
		return rc;
	if ((rc = ns__figrec_apply(txn, s, ref, &r, 1)) != 0)
		return rc;
	MDB_val k = { strlen(ref), (void *)ref }, val = { sizeof(r), &r };
	return ns__mdb(mdb_put(txn, s->figsum, &k, &val, 0));
}

int ns__figures_open(MDB_txn *txn, ns_store *s, int writable)
{
	const char *names[] = { "figsum", "figures", "staffidx", "relidx" };
	MDB_dbi *dbis[] = { &s->figsum, &s->figures, &s->staffidx, &s->relidx };
	int created = 0, rc;

	s->has_figures = 0;
	rc = mdb_dbi_open(txn, names[0], 0, dbis[0]);
	if (rc == MDB_NOTFOUND && !writable)
		return 0; /* read-only, older store: no figures */
	if (rc == MDB_NOTFOUND)
		created = 1;
	else if (rc != 0)
		return ns__mdb(rc);
	for (int i = 0; i < 4; i++) {
		unsigned f = (writable ? MDB_CREATE : 0) | (i == 2 ? MDB_DUPSORT : 0);
		if ((rc = mdb_dbi_open(txn, names[i], f, dbis[i])) != 0)
			return ns__mdb(rc);
	}
	s->has_figures = 1;
	if (created && s->has_dirty) {
		/* A store folded before figures existed: re-fold everyone to fill them in. */
		MDB_cursor *c;
		MDB_val k, v;
		static const char one = 1;
		if ((rc = mdb_cursor_open(txn, s->summary, &c)) != 0)
			return ns__mdb(rc);
		int g;
		for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0;
		     g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
			MDB_val dv = { 1, (void *)&one };
			if ((g = mdb_put(txn, s->dirty, &k, &dv, 0)) != 0)
				break;
		}
		mdb_cursor_close(c);
		if (g != 0 && g != MDB_NOTFOUND)
			return ns__mdb(g);
	}
	return 0;
}

/* --- reading -------------------------------------------------------------- */

static json_t *ns__jdate_or_null(int32_t d)
{
	char buf[11];
	if (d == NS_DATE_NONE)
		return json_null();
	ns_date_format(buf, d);
	return json_string(buf);
}

static json_t *ns__jstr_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

/* A person as caseload and releases list them; @p txn reads whether access is restricted. */
static json_t *ns__figrec_json(MDB_txn *txn, ns_store *s, const char *ref, const ns__figrec *r)
{
	json_t *flags = json_array(), *o;
	if (r->breaches_open)
		json_array_append_new(flags, json_string("IN_BREACH"));
	if (r->enforcement_due)
		json_array_append_new(flags, json_string("ENFORCEMENT_DUE"));
	if (r->conflicts)
		json_array_append_new(flags, json_string("CONFLICTS"));
	o = json_pack("{s:s,s:o,s:o,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "ref", ref, "noms",
			 ns__jstr_or_null(r->noms), "crn", ns__jstr_or_null(r->crn), "status", r->status,
			 "supervision", r->supervision, "prison", ns__jstr_or_null(r->prison), "region",
			 ns__jstr_or_null(r->region), "pom", ns__jstr_or_null(r->pom), "com",
			 ns__jstr_or_null(r->com), "tier", ns__jstr_or_null(r->tier), "rosh",
			 ns__jstr_or_null(r->rosh), "next_key_date", ns__jdate_or_null(r->next_key_date),
			 "release_date", ns__jdate_or_null(r->release_date), "flags", flags);
	if (o != NULL && json_object_set_new(o, "restricted", json_boolean(ns__access_has(txn, s, ref))) != 0) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

static int ns__read_txn(ns_store *s, MDB_txn **txn, ns_diag *d)
{
	int rc;
	if (!s->has_figures) {
		ns_diag_set(d, NS_ENOTFOUND, NULL, "store has no figures (opened read-only before its first writable open)");
		return NS_ENOTFOUND;
	}
	if ((rc = ns__txn(s, MDB_RDONLY, txn)) != 0)
		return ns__mdb(rc);
	return 0;
}

int ns_store_caseload(ns_store *s, const char *staff, json_t **out, ns_diag *d)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k = { strlen(staff), (void *)staff }, v;
	int rc, g;

	*out = NULL;
	if ((rc = ns__read_txn(s, &txn, d)) != 0)
		return rc;
	json_t *arr = json_array();
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->staffidx, &c))) == 0) {
		for (g = mdb_cursor_get(c, &k, &v, MDB_SET); g == 0 && rc == 0;
		     g = mdb_cursor_get(c, &k, &v, MDB_NEXT_DUP)) {
			char ref[NS_REF_MAX];
			ns__figrec r;
			if (v.mv_size >= NS_REF_MAX) {
				rc = NS_ECORRUPT;
				break;
			}
			memcpy(ref, v.mv_data, v.mv_size);
			ref[v.mv_size] = '\0';
			if ((rc = ns__figrec_get(txn, s, ref, &r)) == 0)
				json_array_append_new(arr, ns__figrec_json(txn, s, ref, &r));
			else if (rc == NS_ENOTFOUND)
				rc = 0;
		}
		if (rc == 0 && g != MDB_NOTFOUND)
			rc = ns__mdb(g);
		mdb_cursor_close(c);
	}
	mdb_txn_abort(txn);
	if (rc != 0)
		json_decref(arr);
	else
		*out = arr;
	return rc;
}

/* Each release index entry in [from, to): its day, ref, prison and region. */
typedef int (*ns__rel_fn)(void *arg, MDB_txn *txn, int32_t day, const char *ref, const char *prison,
			  const char *region);

static int ns__releases_scan(ns_store *s, MDB_txn *txn, int32_t from, int32_t to, ns__rel_fn fn,
			     void *arg)
{
	MDB_cursor *c;
	uint8_t start[4];
	MDB_val k = { 4, start }, v;
	int rc, g;

	ns__put_be32(start, (uint32_t)from + NS__DAY_BIAS);
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->relidx, &c))) != 0)
		return rc;
	for (g = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); g == 0 && rc == 0;
	     g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		char ref[NS_REF_MAX], pr[NS_SITE_MAX], rg[NS_SITE_MAX];
		if (k.mv_size < 5 || k.mv_size - 4 >= NS_REF_MAX) {
			rc = NS_ECORRUPT;
			break;
		}
		int32_t day = (int32_t)(ns__get_be32(k.mv_data) - NS__DAY_BIAS);
		if (day >= to)
			break;
		memcpy(ref, (const char *)k.mv_data + 4, k.mv_size - 4);
		ref[k.mv_size - 4] = '\0';
		const char *val = v.mv_data, *nul = memchr(val, '\0', v.mv_size);
		size_t pl = nul ? (size_t)(nul - val) : v.mv_size, gl = nul ? v.mv_size - pl - 1 : 0;
		if (pl >= NS_SITE_MAX || gl >= NS_SITE_MAX) {
			rc = NS_ECORRUPT;
			break;
		}
		memcpy(pr, val, pl);
		pr[pl] = '\0';
		memcpy(rg, val + pl + (nul ? 1 : 0), gl);
		rg[gl] = '\0';
		rc = fn(arg, txn, day, ref, pr, rg);
	}
	if (rc == 0 && g != 0 && g != MDB_NOTFOUND)
		rc = ns__mdb(g);
	mdb_cursor_close(c);
	return rc;
}

struct ns__relq {
	ns_store *s;
	const char *prison, *region;
	json_t *arr;
	int32_t today;
	int64_t due[3];
};

static int ns__relq_match(const struct ns__relq *q, const char *prison, const char *region)
{
	return (!q->prison || strcmp(q->prison, prison) == 0) && (!q->region || strcmp(q->region, region) == 0);
}

static int ns__release_item(void *arg, MDB_txn *txn, int32_t day, const char *ref, const char *prison,
			    const char *region)
{
	struct ns__relq *q = arg;
	ns__figrec r;
	int rc;

	(void)day;
	if (!ns__relq_match(q, prison, region))
		return 0;
	if ((rc = ns__figrec_get(txn, q->s, ref, &r)) != 0)
		return rc == NS_ENOTFOUND ? 0 : rc;
	json_array_append_new(q->arr, ns__figrec_json(txn, q->s, ref, &r));
	return 0;
}

/* Windows of "releases due" in the figures, in days from today (today included). */
static const int ns__windows[3] = { 7, 28, 90 };

static void ns__due_add(struct ns__relq *q, int32_t day)
{
	for (int i = 0; i < 3; i++)
		if (day >= q->today && day < q->today + ns__windows[i])
			q->due[i]++;
}

static int ns__release_count(void *arg, MDB_txn *txn, int32_t day, const char *ref, const char *prison,
			     const char *region)
{
	(void)txn;
	(void)ref;
	if (ns__relq_match(arg, prison, region))
		ns__due_add(arg, day);
	return 0;
}

int ns_store_releases(ns_store *s, const char *prison, const char *region, int32_t today, int days,
		      json_t **out, ns_diag *d)
{
	struct ns__relq q = { s, prison, region, json_array(), today, { 0 } };
	MDB_txn *txn;
	int rc;

	*out = NULL;
	if (days < 0 || days > 3660) {
		json_decref(q.arr);
		ns_diag_set(d, NS_EINVAL, "days", "days must be 0 to 3660");
		return NS_EINVAL;
	}
	if ((rc = ns__read_txn(s, &txn, d)) != 0) {
		json_decref(q.arr);
		return rc;
	}
	rc = ns__releases_scan(s, txn, today, today + days, ns__release_item, &q);
	mdb_txn_abort(txn);
	if (rc != 0)
		json_decref(q.arr);
	else
		*out = q.arr;
	return rc;
}

/* The figures of one scope from its counters (name -> integer) and release counts. */
static json_t *ns__render(const char *region, int32_t today, json_t *counters, const int64_t due[3])
{
	json_t *pop = json_object(), *sup = json_object(), *tier = json_object(), *conf = json_object();
	const char *name;
	json_t *val;
	char asof[11];
	json_int_t n;

	json_object_foreach(counters, name, val)
	{
		n = json_integer_value(val);
		if (strncmp(name, "pop:", 4) == 0)
			json_object_set_new(pop, name + 4, json_integer(n));
		else if (strncmp(name, "sup:", 4) == 0)
			json_object_set_new(sup, name + 4, json_integer(n));
		else if (strncmp(name, "tier:", 5) == 0)
			json_object_set_new(tier, name + 5, json_integer(n));
		else if (strncmp(name, "conflict:", 9) == 0)
			json_object_set_new(conf, name + 9, json_integer(n));
	}
	ns_date_format(asof, today);
#define NS__C(k) ((json_int_t)json_integer_value(json_object_get(counters, k)))
	return json_pack("{s:o,s:s,s:I,s:o,s:o,s:o,s:{s:I,s:I,s:I},s:{s:I,s:I},s:I,s:I,s:I,s:o}", "region",
			 region ? json_string(region) : json_null(), "as_of", asof, "persons",
			 NS__C("persons"), "population_by_prison", pop, "caseload_by_supervision", sup,
			 "caseload_by_tier", tier, "releases_due", "7", (json_int_t)due[0], "28",
			 (json_int_t)due[1], "90", (json_int_t)due[2], "unpaid_work", "hours_ordered",
			 NS__C("uw:ordered") / 60, "hours_credited", NS__C("uw:credited") / 60,
			 "breaches_open", NS__C("breaches_open"), "enforcement_due",
			 NS__C("enforcement_due"), "programme_completions",
			 NS__C("programme_completions"), "conflicts_by_rule", conf);
#undef NS__C
}

static void ns__scope(char *out, size_t cap, const char *region)
{
	snprintf(out, cap, region ? "R%s" : "E", region);
}

int ns_store_figures(ns_store *s, const char *region, int32_t today, json_t **out, ns_diag *d)
{
	struct ns__relq q = { s, NULL, region, NULL, today, { 0 } };
	char scope[NS_SITE_MAX + 1];
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	int rc, g;

	*out = NULL;
	ns__scope(scope, sizeof(scope), region);
	if ((rc = ns__read_txn(s, &txn, d)) != 0)
		return rc;
	json_t *counters = json_object();
	size_t sl = strlen(scope) + 1;
	k.mv_size = sl;
	k.mv_data = scope;
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->figures, &c))) == 0) {
		for (g = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		     g == 0 && k.mv_size > sl && memcmp(k.mv_data, scope, sl) == 0;
		     g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
			char name[80];
			int64_t n;
			if (k.mv_size - sl >= sizeof(name) || v.mv_size != sizeof(n)) {
				rc = NS_ECORRUPT;
				break;
			}
			memcpy(name, (const char *)k.mv_data + sl, k.mv_size - sl);
			name[k.mv_size - sl] = '\0';
			memcpy(&n, v.mv_data, sizeof(n));
			json_object_set_new(counters, name, json_integer(n));
		}
		if (rc == 0 && g != 0 && g != MDB_NOTFOUND)
			rc = ns__mdb(g);
		mdb_cursor_close(c);
	}
	if (rc == 0)
		rc = ns__releases_scan(s, txn, today, today + ns__windows[2], ns__release_count, &q);
	mdb_txn_abort(txn);
	if (rc == 0)
		*out = ns__render(region, today, counters, q.due);
	json_decref(counters);
	return rc;
}

struct ns__recount {
	const char *scope;
	json_t *counters;
};

static int ns__map_add(void *arg, const char *scope, const char *name, int64_t n)
{
	struct ns__recount *x = arg;
	if (n == 0 || strcmp(scope, x->scope) != 0)
		return 0;
	json_int_t cur = json_integer_value(json_object_get(x->counters, name));
	return json_object_set_new(x->counters, name, json_integer(cur + n)) ? NS_ENOMEM : 0;
}

int ns_store_figures_recount(ns_store *s, const char *region, int32_t today, json_t **out, ns_diag *d)
{
	struct ns__relq q = { s, NULL, region, NULL, today, { 0 } };
	char scope[NS_SITE_MAX + 1];
	struct ns__recount x = { scope, json_object() };
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	int rc, g;

	*out = NULL;
	ns__scope(scope, sizeof(scope), region);
	if ((rc = ns__read_txn(s, &txn, d)) != 0) {
		json_decref(x.counters);
		return rc;
	}
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->figsum, &c))) == 0) {
		for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0 && rc == 0;
		     g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
			ns__figrec r;
			if (v.mv_size != sizeof(r))
				continue;
			memcpy(&r, v.mv_data, sizeof(r));
			if (r.version != NS__FIG_VERSION)
				continue;
			rc = ns__contrib(&r, ns__map_add, &x);
			if (r.release_date != NS_DATE_NONE && ns__relq_match(&q, r.prison, r.region))
				ns__due_add(&q, r.release_date);
		}
		if (rc == 0 && g != MDB_NOTFOUND)
			rc = ns__mdb(g);
		mdb_cursor_close(c);
	}
	mdb_txn_abort(txn);
	if (rc == 0)
		*out = ns__render(region, today, x.counters, q.due);
	json_decref(x.counters);
	return rc;
}

/* --- CSV ------------------------------------------------------------------ */

static void ns__csv_cell(FILE *f, const json_t *v)
{
	char *text = NULL;
	size_t i;
	const json_t *e;

	if (json_is_string(v))
		text = strdup(json_string_value(v));
	else if (json_is_array(v)) {
		size_t len = 1;
		json_array_foreach(v, i, e) len += strlen(json_string_value(e) ? json_string_value(e) : "") + 1;
		if ((text = calloc(1, len)) != NULL)
			json_array_foreach(v, i, e)
			{
				if (i)
					strcat(text, ";");
				strcat(text, json_string_value(e) ? json_string_value(e) : "");
			}
	} else if (!json_is_null(v) && v != NULL)
		text = json_dumps(v, JSON_ENCODE_ANY);
	if (text == NULL)
		return;
	if (strpbrk(text, ",\"\r\n") != NULL) {
		fputc('"', f);
		for (const char *p = text; *p; p++) {
			if (*p == '"')
				fputc('"', f);
			fputc(*p, f);
		}
		fputc('"', f);
	} else
		fputs(text, f);
	free(text);
}

char *ns_figures_csv(const json_t *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *key, *sub;
	json_t *val, *sv;
	size_t i;

	if (f == NULL)
		return NULL;
	if (json_is_array(v)) {
		/* The columns of ns__figrec_json but restricted, named even when there are no rows. */
		static const char *const cols[] = {
			"ref", "noms", "crn", "status", "supervision", "prison", "region",
			"pom", "com", "tier", "rosh", "next_key_date", "release_date", "flags",
		};
		const size_t ncols = sizeof(cols) / sizeof(cols[0]);
		for (size_t k = 0; k < ncols; k++)
			fprintf(f, "%s%s", k ? "," : "", cols[k]);
		fputs("\r\n", f);
		json_array_foreach(v, i, val)
		{
			for (size_t k = 0; k < ncols; k++) {
				if (k)
					fputc(',', f);
				ns__csv_cell(f, json_object_get(val, cols[k]));
			}
			fputs("\r\n", f);
		}
	} else {
		/* The figures: one row per number, "figure,key,value". */
		fputs("figure,key,value\r\n", f);
		json_object_foreach((json_t *)v, key, val)
		{
			if (json_is_object(val)) {
				json_object_foreach(val, sub, sv)
				{
					fprintf(f, "%s,", key);
					fprintf(f, "%s,", sub);
					ns__csv_cell(f, sv);
					fputs("\r\n", f);
				}
			} else {
				fprintf(f, "%s,,", key);
				ns__csv_cell(f, val);
				fputs("\r\n", f);
			}
		}
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
