/*
 * Validation of identifiers, reference codes and event payloads.
 *
 * Three layers, each usable on its own. Identifier predicates (NOMS, CRN,
 * PNC, CRO) implement the formats and mod-23 check letters of REFERENCE.md
 * section 3. Reference-data lookups answer from tables generated at build
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

/* The 23 check letters shared by PNC and CRO (no I, O or S). */
static const char ns__check_letters[] = "ZABCDEFGHJKLMNPQRTUVWXY";

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

/* 1 if the n characters at s are all digits. */
static int ns__digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!ns__digit(s[i]))
			return 0;
	return 1;
}

/* Length of the run of digits at the start of s. */
static size_t ns__digit_run(const char *s)
{
	size_t n = 0;
	while (ns__digit(s[n]))
		n++;
	return n;
}

/* Accumulate n decimal digits at s onto v (v * 10^n + digits). */
static unsigned long long ns__acc(unsigned long long v, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	return v;
}

/* The check letter for the decimal number YY || serial padded to width. */
static char ns__check_letter(const char *yy, const char *serial, size_t n, size_t width)
{
	/* Leading zeros of the padding do not change the value. */
	unsigned long long v = ns__acc(ns__acc(0, yy, 2), "0000000", width > n ? width - n : 0);

	v = ns__acc(v, serial, n);
	return ns__check_letters[v % 23];
}

/*
 * Identifiers (REFERENCE.md section 3).
 */

/* NOMS number: [A-Z][0-9]{4}[A-Z]{2}. */
int ns_is_noms(const char *s)
{
	return s != NULL && strlen(s) == 7 && ns__upper(s[0]) && ns__digits(s + 1, 4) &&
	       ns__upper(s[5]) && ns__upper(s[6]);
}

/* CRN: [A-Z][0-9]{6}. */
int ns_is_crn(const char *s)
{
	return s != NULL && strlen(s) == 7 && ns__upper(s[0]) && ns__digits(s + 1, 6);
}

/*
 * PNC id. Long form YYYY/NNNNNNNC (year 19xx or 20xx, serial exactly 7
 * digits) or short form YY/N{1,7}C. The check letter is computed from the
 * two-digit year and the serial padded to 7. A short-form year 39-99 is
 * taken as 19xx, anything else as 20xx, for the canonical long form.
 */
int ns_is_pnc(const char *s, char canonical[14])
{
	const char *yy, *serial;
	char century[3];
	size_t n, len;

	if (s == NULL)
		return 0;
	len = strlen(s);
	if (len == 13 && s[4] == '/' && ns__digits(s, 4) && ns__digits(s + 5, 7) &&
	    (memcmp(s, "19", 2) == 0 || memcmp(s, "20", 2) == 0)) {
		memcpy(century, s, 2);
		yy = s + 2;
		serial = s + 5;
		n = 7;
	} else if (len >= 5 && len <= 11 && s[2] == '/' && ns__digits(s, 2) &&
		   (n = ns__digit_run(s + 3)) >= 1 && n <= 7 && len == 3 + n + 1) {
		int year = (s[0] - '0') * 10 + (s[1] - '0');
		memcpy(century, year >= 39 ? "19" : "20", 2);
		yy = s;
		serial = s + 3;
	} else {
		return 0;
	}
	if (s[len - 1] != ns__check_letter(yy, serial, n, 7))
		return 0;
	if (canonical != NULL) {
		/* CCYY/ + serial padded to 7 + check letter */
		memcpy(canonical, century, 2);
		memcpy(canonical + 2, yy, 2);
		canonical[4] = '/';
		memset(canonical + 5, '0', 7 - n);
		memcpy(canonical + 12 - n, serial, n);
		canonical[12] = s[len - 1];
		canonical[13] = '\0';
	}
	return 1;
}

/*
 * CRO number. Standard form N{1,6}/YYC, check letter from YY || serial
 * padded to 6; or SF form SFYY/N{1,6}C, check letter from YY || serial as
 * written (as hmpps-person-record's CROIdentifier does).
 */
int ns_is_cro(const char *s)
{
	size_t n, len;

	if (s == NULL)
		return 0;
	len = strlen(s);
	if (s[0] == 'S' && s[1] == 'F') {
		/* SFYY/N{1,6}C */
		if (!ns__digits(s + 2, 2) || s[4] != '/')
			return 0;
		n = ns__digit_run(s + 5);
		if (n < 1 || n > 6 || len != 5 + n + 1)
			return 0;
		return s[len - 1] == ns__check_letter(s + 2, s + 5, n, n);
	}
	/* N{1,6}/YYC */
	n = ns__digit_run(s);
	if (n < 1 || n > 6 || len != n + 4 || s[n] != '/' || !ns__digits(s + n + 1, 2))
		return 0;
	return s[len - 1] == ns__check_letter(s + n + 1, s, n, 6);
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
