/*
 * Inbound: HMPPS domain events (REFERENCE.md s. 1, 2.1, 2.4) mapped to
 * nomsync event objects (ns_nats_map). The table is documented in
 * docs/OPERATIONS.md ("NATS: inbound").
 */
#include <nomsync/ident.h>
#include <nomsync/nats.h>

#include <stdio.h>
#include <string.h>

/* What every mapping reads from the envelope. */
typedef struct ns__msg {
	const json_t *info;    /* additionalInformation (an object, maybe empty) */
	const char *occurred;  /* occurredAt */
	char date[11];         /* its date part */
	char noms[NS_REF_MAX]; /* personReference NOMS, "" if none */
	char crn[NS_REF_MAX];  /* personReference CRN, "" if none */
	json_t *out;           /* the array being filled */
	ns_diag *d;
} ns__msg;

/* additionalInformation.@key as text (a string, or an integer written out); NULL and a diag if absent. */
static const char *ns__info(ns__msg *m, const char *key, char *buf, size_t cap, int required)
{
	const json_t *v = json_object_get(m->info, key);
	if (json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) < cap) {
		snprintf(buf, cap, "%s", json_string_value(v));
		return buf;
	}
	if (json_is_integer(v)) {
		snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	if (required || v != NULL)
		ns_diag_set(m->d, NS_EVALID, key, "additionalInformation.%s is %s", key,
			    v == NULL ? "missing" : "not a non-empty string or an integer");
	return NULL;
}

/* A new event object of @p type for @p offender, appended to the output; NULL when out of memory. */
static json_t *ns__event(ns__msg *m, const char *type, const char *offender)
{
	json_t *e = json_pack("{s:s,s:s,s:s}", "type", type, "offender", offender, "occurred_at", m->occurred);
	if (e == NULL || json_array_append_new(m->out, e) != 0)
		return NULL;
	return e;
}

static int ns__set(json_t *e, const char *key, const char *val)
{
	return val == NULL || json_object_set_new(e, key, json_string(val)) == 0 ? 0 : NS_ENOMEM;
}

/* The person: additionalInformation.@key if given, else personReference of @p kind. */
static const char *ns__person(ns__msg *m, const char *key, const char *kind, char *buf)
{
	if (key && ns__info(m, key, buf, NS_REF_MAX, 0))
		return buf;
	const char *ref = strcmp(kind, "NOMS") == 0 ? m->noms : m->crn;
	if (ref[0] == '\0') {
		ns_diag_set(m->d, NS_EVALID, "personReference", "no %s identifier in personReference%s%s", kind,
			    key ? " and no additionalInformation." : "", key ? key : "");
		return NULL;
	}
	return ref;
}

/* Prison movements: prisoner.received and prisoner.released. */
static int ns__movement(ns__msg *m, const char *type, int search)
{
	char noms[NS_REF_MAX], prison[16], reason[48], code[16];
	const char *who = ns__person(m, "nomsNumber", "NOMS", noms);
	if (who == NULL || !ns__info(m, "prisonId", prison, sizeof(prison), 1) ||
	    !ns__info(m, "reason", reason, sizeof(reason), 1))
		return NS_EVALID;
	if (strcmp(type, "prisoner.received") == 0) {
		const char *c = ns__info(m, "nomisMovementReasonCode", code, sizeof(code), 0);
		if (!search && strcmp(reason, "ADMISSION") == 0)
			/* Movement reasons L (licence revoked), Y (recall from DTO), B (recall from HDC). */
			snprintf(reason, sizeof(reason), "%s",
				 c && (!strcmp(c, "L") || !strcmp(c, "Y") || !strcmp(c, "B")) ? "RECALL" : "NEW_ADMISSION");
		else if (search && strcmp(reason, "READMISSION_SWITCH_BOOKING") == 0)
			snprintf(reason, sizeof(reason), "READMISSION");
	}
	json_t *e = ns__event(m, type, who);
	if (e == NULL || ns__set(e, "prison", prison) || ns__set(e, "reason", reason) ||
	    ns__set(e, "movement_reason_code", ns__info(m, "nomisMovementReasonCode", code, sizeof(code), 0)))
		return NS_ENOMEM;
	return 0;
}

static int ns__received(ns__msg *m) { return ns__movement(m, "prisoner.received", 0); }
static int ns__released(ns__msg *m) { return ns__movement(m, "prisoner.released", 0); }
static int ns__search_received(ns__msg *m) { return ns__movement(m, "prisoner.received", 1); }
static int ns__search_released(ns__msg *m) { return ns__movement(m, "prisoner.released", 1); }

/* Merges and unmerges of NOMS numbers or CRNs. */
static int ns__merge(ns__msg *m, const char *type, const char *kind, const char *survivor_key, const char *removed_key)
{
	char survivor[NS_REF_MAX], removed[NS_REF_MAX];
	if (!ns__info(m, survivor_key, survivor, sizeof(survivor), 1) ||
	    !ns__info(m, removed_key, removed, sizeof(removed), 1))
		return NS_EVALID;
	json_t *e = ns__event(m, type, survivor);
	if (e == NULL || ns__set(e, "identifier_type", kind) || ns__set(e, "survivor", survivor) ||
	    ns__set(e, "removed", removed))
		return NS_ENOMEM;
	return 0;
}

static int ns__prison_merged(ns__msg *m) { return ns__merge(m, "person.merged", "NOMS", "nomsNumber", "removedNomsNumber"); }
static int ns__crn_merged(ns__msg *m) { return ns__merge(m, "person.merged", "CRN", "targetCRN", "sourceCRN"); }
static int ns__crn_unmerged(ns__msg *m) { return ns__merge(m, "person.unmerged", "CRN", "unmergedCRN", "reactivatedCRN"); }

/* prisoner-offender-search.prisoner.alerts-updated: one event per alert code added or removed. */
static int ns__alerts_updated(ns__msg *m)
{
	char noms[NS_REF_MAX];
	const char *who = ns__person(m, "nomsNumber", "NOMS", noms);
	const json_t *lists[2] = { json_object_get(m->info, "alertsAdded"), json_object_get(m->info, "alertsRemoved") };
	size_t n = 0, i;
	json_t *code;

	if (who == NULL)
		return NS_EVALID;
	for (int k = 0; k < 2; k++) {
		if (lists[k] != NULL && !json_is_array(lists[k]))
			return ns_diag_set(m->d, NS_EVALID, k ? "alertsRemoved" : "alertsAdded",
					   "additionalInformation.%s is not an array", k ? "alertsRemoved" : "alertsAdded");
		json_array_foreach(lists[k], i, code)
		{
			const char *c = json_string_value(code);
			char type[2] = { c ? c[0] : 0, 0 };
			if (c == NULL || c[0] == '\0')
				return ns_diag_set(m->d, NS_EVALID, k ? "alertsRemoved" : "alertsAdded",
						   "additionalInformation.%s[%zu] is not an alert code", k ? "alertsRemoved" : "alertsAdded", i);
			json_t *e = ns__event(m, k ? "alert.closed" : "alert.raised", who);
			/* An alert code's first letter is its type (HA: H). */
			if (e == NULL || ns__set(e, "alert_code", c) || (k == 0 && ns__set(e, "alert_type", type)) ||
			    ns__set(e, k ? "to_date" : "from_date", m->date))
				return NS_ENOMEM;
			n++;
		}
	}
	if (n == 0)
		return ns_diag_set(m->d, NS_EVALID, "alertsAdded", "no alert was added or removed");
	return 0;
}

/* person.alert.created / person.alert.inactive (the alerts API): one alert code. */
static int ns__alert(ns__msg *m, int closed)
{
	char code[32];
	const char *who = ns__person(m, NULL, "NOMS", NULL);
	if (who == NULL || !ns__info(m, "alertCode", code, sizeof(code), 1))
		return NS_EVALID;
	char type[2] = { code[0], 0 };
	json_t *e = ns__event(m, closed ? "alert.closed" : "alert.raised", who);
	if (e == NULL || ns__set(e, "alert_code", code) || (!closed && ns__set(e, "alert_type", type)) ||
	    ns__set(e, closed ? "to_date" : "from_date", m->date))
		return NS_ENOMEM;
	return 0;
}

static int ns__alert_created(ns__msg *m) { return ns__alert(m, 0); }
static int ns__alert_inactive(ns__msg *m) { return ns__alert(m, 1); }

/* offender-management.pom.allocated: prisonId and staffCode (staffName optional). */
static int ns__pom(ns__msg *m)
{
	char noms[NS_REF_MAX], prison[16], staff[48], name[128];
	const char *who = ns__person(m, "nomsNumber", "NOMS", noms);
	if (who == NULL || !ns__info(m, "prisonId", prison, sizeof(prison), 1) ||
	    !ns__info(m, "staffCode", staff, sizeof(staff), 1))
		return NS_EVALID;
	json_t *e = ns__event(m, "manager.pom.allocated", who);
	if (e == NULL || ns__set(e, "prison", prison) || ns__set(e, "staff", staff) ||
	    ns__set(e, "name", ns__info(m, "staffName", name, sizeof(name), 0)))
		return NS_ENOMEM;
	return 0;
}

/* person.community.manager.allocated: probationAreaCode (pduCode, teamCode, staffCode, staffName optional). */
static int ns__com(ns__msg *m)
{
	char region[16], pdu[32], team[32], staff[48], name[128];
	const char *who = ns__person(m, NULL, "CRN", NULL);
	if (who == NULL || !ns__info(m, "probationAreaCode", region, sizeof(region), 1))
		return NS_EVALID;
	json_t *e = ns__event(m, "manager.com.allocated", who);
	if (e == NULL || ns__set(e, "region", region) || ns__set(e, "pdu", ns__info(m, "pduCode", pdu, sizeof(pdu), 0)) ||
	    ns__set(e, "team", ns__info(m, "teamCode", team, sizeof(team), 0)) ||
	    ns__set(e, "staff", ns__info(m, "staffCode", staff, sizeof(staff), 0)) ||
	    ns__set(e, "name", ns__info(m, "staffName", name, sizeof(name), 0)))
		return NS_ENOMEM;
	return 0;
}

/* probation-case.prison-identifier.added: the CRN gains the NOMS number (bookingNumber optional). */
static int ns__prison_identifier(ns__msg *m)
{
	char noms[NS_REF_MAX], book[16];
	const char *crn = ns__person(m, NULL, "CRN", NULL), *who = ns__person(m, "nomsNumber", "NOMS", noms);
	if (crn == NULL || who == NULL)
		return NS_EVALID;
	json_t *e = ns__event(m, "person.identifier.added", crn);
	if (e == NULL || ns__set(e, "identifier_type", "NOMS") || ns__set(e, "value", who) ||
	    ns__set(e, "book_number", ns__info(m, "bookingNumber", book, sizeof(book), 0)))
		return NS_ENOMEM;
	return 0;
}

/* probation-case.registration.added / .deleted / .deregistered. */
static int ns__registration(ns__msg *m, int removed)
{
	char code[16], date[40];
	const char *crn = ns__person(m, NULL, "CRN", NULL);
	if (crn == NULL || !ns__info(m, "registerTypeCode", code, sizeof(code), 1))
		return NS_EVALID;
	const char *when = removed ? m->date : ns__info(m, "registrationDate", date, sizeof(date), 0);
	if (when == NULL)
		when = m->date;
	else if (strlen(when) > 10)
		date[10] = '\0'; /* a date-time: its date */
	json_t *e = ns__event(m, removed ? "registration.removed" : "registration.added", crn);
	if (e == NULL || ns__set(e, "register_type", code) ||
	    ns__set(e, removed ? "removal_date" : "registration_date", when))
		return NS_ENOMEM;
	return 0;
}

static int ns__registration_added(ns__msg *m) { return ns__registration(m, 0); }
static int ns__registration_removed(ns__msg *m) { return ns__registration(m, 1); }

/*
 * create-and-vary-a-licence.licence.activated: licenceId, licenceType, and
 * the licence's facts licenceStartDate (default: the date of occurredAt),
 * licenceExpiryDate and conditions[] (strings).
 */
static int ns__licence(ns__msg *m)
{
	char id[48], type[16], start[40], expiry[40];
	const char *crn = ns__person(m, NULL, "CRN", NULL);
	const json_t *conds = json_object_get(m->info, "conditions");
	if (crn == NULL || !ns__info(m, "licenceId", id, sizeof(id), 1) ||
	    !ns__info(m, "licenceType", type, sizeof(type), 1))
		return NS_EVALID;
	if (conds != NULL && !json_is_array(conds))
		return ns_diag_set(m->d, NS_EVALID, "conditions", "additionalInformation.conditions is not an array");
	const char *from = ns__info(m, "licenceStartDate", start, sizeof(start), 0);
	json_t *e = ns__event(m, "licence.activated", crn);
	if (e == NULL || ns__set(e, "licence_id", id) || ns__set(e, "licence_type", type) ||
	    ns__set(e, "start_date", from ? from : m->date) ||
	    ns__set(e, "expiry_date", ns__info(m, "licenceExpiryDate", expiry, sizeof(expiry), 0)) ||
	    json_object_set_new(e, "conditions", conds ? json_deep_copy(conds) : json_array()) != 0)
		return NS_ENOMEM;
	return 0;
}

static const struct {
	const char *event_type;
	int (*map)(ns__msg *m);
} ns__table[] = {
	{ "prison-offender-events.prisoner.received", ns__received },
	{ "prison-offender-events.prisoner.released", ns__released },
	{ "prison-offender-events.prisoner.merged", ns__prison_merged },
	{ "prisoner-offender-search.prisoner.received", ns__search_received },
	{ "prisoner-offender-search.prisoner.released", ns__search_released },
	{ "prisoner-offender-search.prisoner.alerts-updated", ns__alerts_updated },
	{ "person.alert.created", ns__alert_created },
	{ "person.alert.inactive", ns__alert_inactive },
	{ "offender-management.pom.allocated", ns__pom },
	{ "probation-case.prison-identifier.added", ns__prison_identifier },
	{ "probation-case.registration.added", ns__registration_added },
	{ "probation-case.registration.deleted", ns__registration_removed },
	{ "probation-case.registration.deregistered", ns__registration_removed },
	{ "person.community.manager.allocated", ns__com },
	{ "create-and-vary-a-licence.licence.activated", ns__licence },
	{ "probation-case.merge.completed", ns__crn_merged },
	{ "probation-case.unmerge.completed", ns__crn_unmerged },
};

/* personReference.identifiers[] into m->noms / m->crn. */
static int ns__identifiers(ns__msg *m, const json_t *env)
{
	const json_t *pr = json_object_get(env, "personReference"), *ids, *id;
	size_t i;

	if (pr == NULL)
		return 0;
	ids = json_object_get(pr, "identifiers");
	if (!json_is_object(pr) || !json_is_array(ids))
		return ns_diag_set(m->d, NS_EVALID, "personReference",
				   "personReference is not an object with an identifiers array");
	json_array_foreach(ids, i, id)
	{
		const char *type = json_string_value(json_object_get(id, "type"));
		const char *value = json_string_value(json_object_get(id, "value"));
		if (type == NULL || value == NULL)
			return ns_diag_set(m->d, NS_EVALID, "personReference",
					   "personReference.identifiers[%zu] lacks a string type or value", i);
		if (strlen(value) >= NS_REF_MAX)
			continue;
		if (strcmp(type, "NOMS") == 0)
			snprintf(m->noms, sizeof(m->noms), "%s", value);
		else if (strcmp(type, "CRN") == 0)
			snprintf(m->crn, sizeof(m->crn), "%s", value);
	}
	return 0;
}

int ns_nats_map(const char *text, size_t len, json_t **out, ns_diag *d)
{
	json_error_t err;
	json_t *env;
	ns__msg m = { .d = d };
	const char *type;
	int rc = NS_EVALID;

	*out = NULL;
	if ((env = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err)) == NULL)
		return ns_diag_set(d, NS_EVALID, "json", "not JSON: %s (line %d, column %d)", err.text, err.line,
				   err.column);
	if (!json_is_object(env)) {
		ns_diag_set(d, NS_EVALID, "json", "not a JSON object");
		goto done;
	}
	type = json_string_value(json_object_get(env, "eventType"));
	m.occurred = json_string_value(json_object_get(env, "occurredAt"));
	m.info = json_object_get(env, "additionalInformation");
	if (type == NULL) {
		ns_diag_set(d, NS_EVALID, "eventType", "eventType is missing or not a string");
		goto done;
	}
	if (m.occurred == NULL || strlen(m.occurred) < 10) {
		ns_diag_set(d, NS_EVALID, "occurredAt", "occurredAt is missing or not a date-time");
		goto done;
	}
	if (!json_is_integer(json_object_get(env, "version"))) {
		ns_diag_set(d, NS_EVALID, "version", "version is missing or not an integer");
		goto done;
	}
	if (m.info != NULL && !json_is_object(m.info)) {
		ns_diag_set(d, NS_EVALID, "additionalInformation", "additionalInformation is not an object");
		goto done;
	}
	memcpy(m.date, m.occurred, 10);
	if ((rc = ns__identifiers(&m, env)) != 0)
		goto done;
	for (size_t i = 0; i < sizeof(ns__table) / sizeof(ns__table[0]); i++)
		if (strcmp(type, ns__table[i].event_type) == 0) {
			json_t *empty = m.info ? NULL : json_object();
			if (empty)
				m.info = empty;
			if ((m.out = json_array()) == NULL)
				rc = NS_ENOMEM;
			else if ((rc = ns__table[i].map(&m)) != 0) {
				json_decref(m.out);
				m.out = NULL;
			}
			json_decref(empty);
			*out = m.out;
			goto done;
		}
	rc = ns_diag_set(d, NS_EVALID, "eventType", "eventType %s is not one nomsync maps", type);
done:
	json_decref(env);
	return rc;
}
