/*
 * Validation of identifiers, reference codes and event payloads.
 *
 * Two layers, each usable on its own (the identifier predicates, NOMS, CRN,
 * PNC and CRO, are the event module's: src/event/ident.c). Reference-data lookups answer from tables generated at build
 * time from the CSVs in src/validate/data (see gen_refdata.cmake), so the
 * library needs no files at run time. Who may emit which type and the
 * payload rules come from the event catalogue (include/nomsync/catalogue.h);
 * rules.c interprets them.
 *
 * Nothing here allocates, so nothing here can fail except by finding the
 * input invalid.
 */
#include <nomsync/validate.h>
#include <nomsync/catalogue.h>

#include <string.h>

#include "validate/internal.h"
#include "refdata.inc"

#define NS__COUNT(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Character-class helpers.
 */

/* 1 if c is an ASCII capital. */
static int ns__upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

/* 1 if c is an ASCII digit. See internal.h. */
int ns__digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Reference data (generated from the CSVs).
 */

/* The generated table @p t and its length. */
static const ns_ref_entry *ns__table(ns_ref_table t, size_t *n)
{
	switch (t) {
	case NS_REF_PRISONS:
		*n = NS__COUNT(ns__prisons);
		return ns__prisons;
	case NS_REF_REGIONS:
		*n = NS__COUNT(ns__regions);
		return ns__regions;
	case NS_REF_PDUS:
		*n = NS__COUNT(ns__pdus);
		return ns__pdus;
	}
	*n = 0;
	return NULL;
}

/* Number of entries of a reference table. See validate.h. */
size_t ns_ref_count(ns_ref_table t)
{
	size_t n;

	ns__table(t, &n);
	return n;
}

/* Entry i of a reference table, or NULL past the end. See validate.h. */
const ns_ref_entry *ns_ref_at(ns_ref_table t, size_t i)
{
	size_t n;
	const ns_ref_entry *e = ns__table(t, &n);

	return i < n ? &e[i] : NULL;
}

/* The entry with @p code in table @p t; NULL if absent. */
static const ns_ref_entry *ns__ref_find(ns_ref_table t, const char *code)
{
	size_t n;
	const ns_ref_entry *e = ns__table(t, &n);

	if (code == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(e[i].code, code) == 0)
			return &e[i];
	return NULL;
}

/* 1 if code is in establishments.csv. */
int ns_is_prison(const char *code)
{
	return ns__ref_find(NS_REF_PRISONS, code) != NULL;
}

/* Establishment name, or NULL. */
const char *ns_prison_name(const char *code)
{
	const ns_ref_entry *r = ns__ref_find(NS_REF_PRISONS, code);
	return r ? r->name : NULL;
}

/* 1 if code is in probation_regions.csv. */
int ns_is_region(const char *code)
{
	return ns__ref_find(NS_REF_REGIONS, code) != NULL;
}

/* Region name, or NULL. */
const char *ns_region_name(const char *code)
{
	const ns_ref_entry *r = ns__ref_find(NS_REF_REGIONS, code);
	return r ? r->name : NULL;
}

/* 1 if code is in probation_pdus.csv (and, given a region, belongs to it). */
int ns_is_pdu(const char *code, const char *region)
{
	const ns_ref_entry *r = ns__ref_find(NS_REF_PDUS, code);
	return r != NULL && (region == NULL || strcmp(r->region, region) == 0);
}

/* Number of establishments compiled in. */
size_t ns_prison_count(void)
{
	return ns_ref_count(NS_REF_PRISONS);
}

/* Establishment code at index i, or NULL past the end. */
const char *ns_prison_code(size_t i)
{
	const ns_ref_entry *e = ns_ref_at(NS_REF_PRISONS, i);
	return e ? e->code : NULL;
}

/* 1 if s has min..max characters, each a capital, a digit or in extra. See internal.h. */
int ns__code_chars(const char *s, size_t min, size_t max, const char *extra)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	if (n < min || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!ns__upper(s[i]) && !ns__digit(s[i]) && (extra == NULL || strchr(extra, s[i]) == NULL))
			return 0;
	return 1;
}

/* Site codes by role: see validate.h. */
int ns_validate_site(ns_role role, const char *site, ns_diag *d)
{
	const char *s = site ? site : "";

	switch (role) {
	case NS_ROLE_PRISON:
		if (!ns_is_prison(s))
			return ns_diag_set(d, NS_EVALID, "site",
					   "'%s' is not an establishment code (establishments.csv)", s);
		return 0;
	case NS_ROLE_PROBATION:
		if (!ns_is_region(s))
			return ns_diag_set(d, NS_EVALID, "site",
					   "'%s' is not a probation region code (probation_regions.csv)", s);
		return 0;
	case NS_ROLE_COURT:
		if (!ns__code_chars(s, 2, 8, NULL))
			return ns_diag_set(d, NS_EVALID, "site",
					   "'%s' is not a court code (2-8 capitals and digits)", s);
		return 0;
	case NS_ROLE_HUB:
	case NS_ROLE_AUTHORITY:
		if (!ns__code_chars(s, 2, 15, "-_"))
			return ns_diag_set(d, NS_EVALID, "site",
					   "'%s' is not a %s code (2-15 capitals, digits, '-' or '_')", s,
					   role == NS_ROLE_HUB ? "hub" : "authority");
		return 0;
	default:
		return ns_diag_set(d, NS_EVALID, "role", "unknown site role %d", (int)role);
	}
}

/* 1 if a site of role may sign events of type (the catalogue's roles). */
int ns_role_may_emit(ns_role role, uint32_t type)
{
	const ns_event_spec *t = ns_catalogue_type(type);

	if (role <= NS_ROLE_NONE || role > NS_ROLE_AUTHORITY || t == NULL)
		return 0;
	return (t->roles >> role) & 1u;
}
