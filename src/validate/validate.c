/*
 * Validation of identifiers, reference codes and event payloads.
 *
 * Three layers, each usable on its own. Identifier predicates (NOMS, CRN,
 * PNC, CRO) implement the formats and mod-23 check letters of REFERENCE.md
 * section 3. Reference-data lookups answer from tables generated at build
 * time from the CSVs in src/validate/data (see gen_refdata.cmake), so the
 * library needs no files at run time. ns_validate_event puts them together
 * with the role table (REFERENCE.md section 6, "Emitter") and one rule
 * function per event type.
 *
 * A rule function checks one payload message and stops at the first broken
 * rule, naming the payload field (as spelt in proto/event.proto, with an
 * index for repeated fields, e.g. "offences[1].offence_date") and the rule
 * in the ns_diag. Nothing here allocates, so nothing here can fail except
 * by finding the input invalid.
 */
#include <nomsync/validate.h>

#include <sodium.h>
#include <nomsync/date.h>

#include <stdio.h>
#include <string.h>

/* Element types of the generated tables. */
struct ns__ref {
	const char *code;
	const char *name;
};

struct ns__pdu_ref {
	const char *pdu;
	const char *region;
};

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

/* 1 if c is an ASCII digit. */
static int ns__digit(char c)
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

/* Find code in a {code, name} table; NULL if absent. */
static const struct ns__ref *ns__ref_find(const struct ns__ref *t, size_t n, const char *code)
{
	if (code == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].code, code) == 0)
			return &t[i];
	return NULL;
}

/* 1 if code is in establishments.csv. */
int ns_is_prison(const char *code)
{
	return ns__ref_find(ns__prisons, NS__COUNT(ns__prisons), code) != NULL;
}

/* Establishment name, or NULL. */
const char *ns_prison_name(const char *code)
{
	const struct ns__ref *r = ns__ref_find(ns__prisons, NS__COUNT(ns__prisons), code);
	return r ? r->name : NULL;
}

/* 1 if code is in probation_regions.csv. */
int ns_is_region(const char *code)
{
	return ns__ref_find(ns__regions, NS__COUNT(ns__regions), code) != NULL;
}

/* Region name, or NULL. */
const char *ns_region_name(const char *code)
{
	const struct ns__ref *r = ns__ref_find(ns__regions, NS__COUNT(ns__regions), code);
	return r ? r->name : NULL;
}

/* 1 if code is in probation_pdus.csv (and, given a region, belongs to it). */
int ns_is_pdu(const char *code, const char *region)
{
	if (code == NULL)
		return 0;
	for (size_t i = 0; i < NS__COUNT(ns__pdus); i++)
		if (strcmp(ns__pdus[i].pdu, code) == 0)
			return region == NULL || strcmp(ns__pdus[i].region, region) == 0;
	return 0;
}

/* Number of establishments compiled in. */
size_t ns_prison_count(void)
{
	return NS__COUNT(ns__prisons);
}

/* Establishment code at index i, or NULL past the end. */
const char *ns_prison_code(size_t i)
{
	return i < NS__COUNT(ns__prisons) ? ns__prisons[i].code : NULL;
}

/* 1 if s has min..max characters, each a capital, a digit or in extra. */
static int ns__code_chars(const char *s, size_t min, size_t max, const char *extra)
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

/*
 * Who may emit what (REFERENCE.md section 6, "Emitter").
 */

#define NS__P (1u << NS_ROLE_PRISON)
#define NS__B (1u << NS_ROLE_PROBATION)
#define NS__C (1u << NS_ROLE_COURT)
#define NS__H (1u << NS_ROLE_HUB)
#define NS__A (1u << NS_ROLE_AUTHORITY)

/* Bit (1 << role) is set in ns__emitters[type] when role may emit type. */
static const unsigned ns__emitters[] = {
	[NOMSYNC__EVENT_TYPE__PERSON_CREATED] = NS__P | NS__B | NS__C,
	[NOMSYNC__EVENT_TYPE__PERSON_IDENTIFIER_ADDED] = NS__P | NS__B | NS__H,
	[NOMSYNC__EVENT_TYPE__COURT_REMANDED] = NS__C,
	[NOMSYNC__EVENT_TYPE__COURT_CONVICTED] = NS__C,
	[NOMSYNC__EVENT_TYPE__SENTENCE_IMPOSED] = NS__C,
	[NOMSYNC__EVENT_TYPE__PRISONER_RECEIVED] = NS__P,
	[NOMSYNC__EVENT_TYPE__PRISONER_RELEASED] = NS__P,
	[NOMSYNC__EVENT_TYPE__PRISONER_TRANSFERRED] = NS__P,
	[NOMSYNC__EVENT_TYPE__PRISONER_ADJUSTMENT_RECORDED] = NS__P | NS__C,
	[NOMSYNC__EVENT_TYPE__ALERT_RAISED] = NS__P | NS__B,
	[NOMSYNC__EVENT_TYPE__ALERT_CLOSED] = NS__P | NS__B,
	[NOMSYNC__EVENT_TYPE__MANAGER_POM_ALLOCATED] = NS__P,
	[NOMSYNC__EVENT_TYPE__MANAGER_COM_ALLOCATED] = NS__B,
	[NOMSYNC__EVENT_TYPE__LICENCE_ACTIVATED] = NS__B,
	[NOMSYNC__EVENT_TYPE__RECALL_ISSUED] = NS__B,
	[NOMSYNC__EVENT_TYPE__RECALL_RETURNED_TO_CUSTODY] = NS__P,
	[NOMSYNC__EVENT_TYPE__PROGRAMME_REFERRED] = NS__P | NS__B,
	[NOMSYNC__EVENT_TYPE__PROGRAMME_COMPLETED] = NS__P | NS__B,
	[NOMSYNC__EVENT_TYPE__SUPERVISION_TERMINATED] = NS__B,
	[NOMSYNC__EVENT_TYPE__PERSON_DECEASED] = NS__P | NS__B,
	[NOMSYNC__EVENT_TYPE__EVENT_CORRECTED] = NS__P | NS__B | NS__C | NS__H,
	[NOMSYNC__EVENT_TYPE__COURT_APPEARANCE_RECORDED] = NS__C,
	[NOMSYNC__EVENT_TYPE__SENTENCE_QUASHED] = NS__C,
	[NOMSYNC__EVENT_TYPE__REGISTRATION_ADDED] = NS__B,
	[NOMSYNC__EVENT_TYPE__REGISTRATION_REMOVED] = NS__B,
	[NOMSYNC__EVENT_TYPE__MANAGER_HANDOVER_CHANGED] = NS__P | NS__B,
	[NOMSYNC__EVENT_TYPE__LICENCE_ENDED] = NS__B,
	[NOMSYNC__EVENT_TYPE__ROSTER_SITE_ADDED] = NS__A,
	[NOMSYNC__EVENT_TYPE__ROSTER_KEY_ROTATED] = NS__A,
	[NOMSYNC__EVENT_TYPE__ROSTER_KEY_REVOKED] = NS__A,
};

/* 1 if a site of role may sign events of type. */
int ns_role_may_emit(ns_role role, uint32_t type)
{
	if (role <= NS_ROLE_NONE || role > NS_ROLE_AUTHORITY || type >= NS__COUNT(ns__emitters))
		return 0;
	return (ns__emitters[type] >> role) & 1u;
}

/*
 * Field rules. Each takes the field name for the diag and returns 0 or
 * NS_EVALID. "Optional" means an empty string (proto3's absent value) passes.
 */

/* 1 if a string field is absent (NULL or empty). */
static int ns__empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* A required field must be non-empty. */
static int ns__required(const char *v, const char *field, const char *what, ns_diag *d)
{
	if (ns__empty(v))
		return ns_diag_set(d, NS_EVALID, field, "required for %s", what);
	return 0;
}

/* A required YYYY-MM-DD date; its day number goes to *days if non-NULL. */
static int ns__date(const char *v, const char *field, const char *what, int32_t *days, ns_diag *d)
{
	int32_t t;

	if (ns__empty(v))
		return ns_diag_set(d, NS_EVALID, field, "required for %s (YYYY-MM-DD)", what);
	if (ns_date_parse(v, &t) != 0)
		return ns_diag_set(d, NS_EVALID, field,
				   "'%s' is not a date (YYYY-MM-DD, a real day in 1900-2199)", v);
	if (days != NULL)
		*days = t;
	return 0;
}

/* An optional date: *days is NS_DATE_NONE when absent. */
static int ns__opt_date(const char *v, const char *field, int32_t *days, ns_diag *d)
{
	if (days != NULL)
		*days = NS_DATE_NONE;
	if (ns__empty(v))
		return 0;
	return ns__date(v, field, "", days, d);
}

/* Two dates must not be out of order (either may be NS_DATE_NONE). */
static int ns__order(int32_t first, int32_t second, const char *field, const char *first_name,
		     ns_diag *d)
{
	if (first != NS_DATE_NONE && second != NS_DATE_NONE && second < first)
		return ns_diag_set(d, NS_EVALID, field, "must not be before %s", first_name);
	return 0;
}

/* A required establishment code. */
static int ns__prison(const char *v, const char *field, const char *what, ns_diag *d)
{
	if (ns__empty(v))
		return ns_diag_set(d, NS_EVALID, field, "required for %s (an establishment code)", what);
	if (!ns_is_prison(v))
		return ns_diag_set(d, NS_EVALID, field,
				   "'%s' is not an establishment code (establishments.csv)", v);
	return 0;
}

/* A court code: 2-8 capitals and digits. Required unless optional is set. */
static int ns__court(const char *v, const char *field, const char *what, int optional, ns_diag *d)
{
	if (ns__empty(v)) {
		if (optional)
			return 0;
		return ns_diag_set(d, NS_EVALID, field, "required for %s (a court code)", what);
	}
	if (!ns__code_chars(v, 2, 8, NULL))
		return ns_diag_set(d, NS_EVALID, field,
				   "'%s' is not a court code (2-8 capitals and digits)", v);
	return 0;
}

/*
 * A value from a closed list (NULL-terminated); the message lists the
 * allowed values. Required unless optional is set.
 */
static int ns__one_of(const char *v, const char *const *list, const char *field, const char *what,
		      int optional, ns_diag *d)
{
	char names[160];
	size_t off = 0;

	if (ns__empty(v)) {
		if (optional)
			return 0;
		return ns_diag_set(d, NS_EVALID, field, "required for %s", what);
	}
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], v) == 0)
			return 0;
	names[0] = '\0';
	for (size_t i = 0; list[i] != NULL && off < sizeof(names); i++) {
		int w = snprintf(names + off, sizeof(names) - off, "%s%s", i ? ", " : "", list[i]);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	return ns_diag_set(d, NS_EVALID, field, "'%.40s' is not one of %s", v, names);
}

/*
 * An identifier-like token (ids, references, staff codes): 1-64 printable
 * characters, no spaces. Required unless optional is set.
 */
static int ns__token(const char *v, const char *field, const char *what, int optional, ns_diag *d)
{
	size_t n;

	if (ns__empty(v)) {
		if (optional)
			return 0;
		return ns_diag_set(d, NS_EVALID, field, "required for %s", what);
	}
	n = strlen(v);
	if (n > 64)
		return ns_diag_set(d, NS_EVALID, field, "longer than 64 characters");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] <= ' ' || v[i] == 0x7f)
			return ns_diag_set(d, NS_EVALID, field,
					   "'%s' must be printable characters without spaces", v);
	return 0;
}

/* A domain code (alert, register, programme): 1-16 capitals, digits or '_'. */
static int ns__dcode(const char *v, const char *field, const char *what, ns_diag *d)
{
	if (ns__empty(v))
		return ns_diag_set(d, NS_EVALID, field, "required for %s", what);
	if (!ns__code_chars(v, 1, 16, "_"))
		return ns_diag_set(d, NS_EVALID, field, "'%s' is not a code (1-16 capitals, digits or '_')",
				   v);
	return 0;
}

/* Closed lists of domain values (proto/event.proto comments, REFERENCE.md). */
static const char *const ns__genders[] = { "M", "F", "NK", "NS", NULL };
static const char *const ns__id_types[] = { "NOMS", "CRN", "PNC", "CRO", NULL };
static const char *const ns__received_reasons[] = {
	"NEW_ADMISSION", "READMISSION", "TRANSFERRED", "RETURN_FROM_COURT",
	"TEMPORARY_ABSENCE_RETURN", "RECALL", "POST_MERGE_ADMISSION", NULL
};
static const char *const ns__released_reasons[] = {
	"RELEASED", "RELEASED_TO_HOSPITAL", "SENT_TO_COURT", "TRANSFERRED",
	"TEMPORARY_ABSENCE_RELEASE", NULL
};
static const char *const ns__release_types[] = { "CRD", "ARD", "HDC", "PAROLE", "SED", "REMAND_ENDED",
						 NULL };
static const char *const ns__sentence_types[] = { "SDS", "SDS_PLUS", "SDS40", "EDS", "LIFE",
						  "DTO", "COMMUNITY_ORDER", "SSO", NULL };
static const char *const ns__adjustment_types[] = {
	"REMAND", "TAGGED_BAIL", "UNLAWFULLY_AT_LARGE", "ADDITIONAL_DAYS_AWARDED",
	"RESTORATION_OF_ADDITIONAL_DAYS_AWARDED", NULL
};
static const char *const ns__court_adjustment_types[] = { "REMAND", "TAGGED_BAIL", NULL };
static const char *const ns__recall_types[] = { "LR", "FTR_14", "FTR_28", "FTR_56", "FTR_HDC_14",
						"FTR_HDC_28", "CUR_HDC", "IN_HDC", NULL };
static const char *const ns__licence_types[] = { "AP", "PSS", "AP_PSS", NULL };
static const char *const ns__settings[] = { "custody", "community", NULL };
static const char *const ns__outcomes[] = { "COMPLETED", "NOT_COMPLETED", "DESELECTED", NULL };
static const char *const ns__termination_reasons[] = { "EXPIRY", "REVOKED", "DEATH", "OTHER", NULL };
static const char *const ns__responsible[] = { "POM", "COM", NULL };

/* Check an identifier value by the rule of its type. */
static int ns__identifier(const char *type, const char *v, const char *field, ns_diag *d)
{
	if (strcmp(type, "NOMS") == 0 && !ns_is_noms(v))
		return ns_diag_set(d, NS_EVALID, field, "'%s' is not a NOMS number ([A-Z][0-9]{4}[A-Z]{2})", v);
	if (strcmp(type, "CRN") == 0 && !ns_is_crn(v))
		return ns_diag_set(d, NS_EVALID, field, "'%s' is not a CRN ([A-Z][0-9]{6})", v);
	if (strcmp(type, "PNC") == 0 && !ns_is_pnc(v, NULL))
		return ns_diag_set(d, NS_EVALID, field,
				   "'%s' is not a PNC id (YYYY/NNNNNNNC or YY/N..C with a valid check letter)", v);
	if (strcmp(type, "CRO") == 0 && !ns_is_cro(v))
		return ns_diag_set(d, NS_EVALID, field,
				   "'%s' is not a CRO number (NNNNNN/YYC or SFYY/NNNNNNC with a valid check letter)",
				   v);
	return 0;
}

/* Run a check and return its result if it failed. */
#define NS__TRY(expr)                   \
	do {                            \
		int ns__rc_ = (expr);   \
		if (ns__rc_ != 0)       \
			return ns__rc_; \
	} while (0)

/*
 * One rule function per event type. W is the type name used in messages.
 */

/* person.created: names, date of birth, gender, optional PNC and CRO. */
static int ns__person_created(const Nomsync__PersonCreated *m, const char *w, ns_diag *d)
{
	NS__TRY(ns__required(m->surname, "surname", w, d));
	NS__TRY(ns__required(m->forenames, "forenames", w, d));
	NS__TRY(ns__date(m->dob, "dob", w, NULL, d));
	NS__TRY(ns__one_of(m->gender, ns__genders, "gender", w, 1, d));
	if (!ns__empty(m->pnc))
		NS__TRY(ns__identifier("PNC", m->pnc, "pnc", d));
	if (!ns__empty(m->cro))
		NS__TRY(ns__identifier("CRO", m->cro, "cro", d));
	return 0;
}

/* person.identifier.added: a typed identifier, checked by its own rule. */
static int ns__identifier_added(const Nomsync__PersonIdentifierAdded *m, const char *w, ns_diag *d)
{
	NS__TRY(ns__one_of(m->identifier_type, ns__id_types, "identifier_type", w, 0, d));
	NS__TRY(ns__required(m->value, "value", w, d));
	NS__TRY(ns__identifier(m->identifier_type, m->value, "value", d));
	return ns__token(m->book_number, "book_number", w, 1, d);
}

/* court.remanded: court and remand date. */
static int ns__court_remanded(const Nomsync__CourtRemanded *m, const char *w, ns_diag *d)
{
	NS__TRY(ns__court(m->court, "court", w, 0, d));
	return ns__date(m->remand_date, "remand_date", w, NULL, d);
}

/* court.convicted: at least one offence with a code; no offence after the verdict. */
static int ns__court_convicted(const Nomsync__CourtConvicted *m, const char *w, ns_diag *d)
{
	char field[48];
	int32_t verdict = NS_DATE_NONE, when = NS_DATE_NONE;

	NS__TRY(ns__date(m->verdict_date, "verdict_date", w, &verdict, d));
	NS__TRY(ns__court(m->court, "court", w, 1, d));
	if (m->n_offences == 0)
		return ns_diag_set(d, NS_EVALID, "offences", "at least one offence is required for %s", w);
	for (size_t i = 0; i < m->n_offences; i++) {
		const Nomsync__Offence *o = m->offences[i];
		if (o == NULL)
			return ns_diag_set(d, NS_EVALID, "offences", "offence %zu is missing", i);
		snprintf(field, sizeof(field), "offences[%zu].code", i);
		NS__TRY(ns__dcode(o->code, field, w, d));
		snprintf(field, sizeof(field), "offences[%zu].offence_date", i);
		NS__TRY(ns__opt_date(o->offence_date, field, &when, d));
		if (when != NS_DATE_NONE && when > verdict)
			return ns_diag_set(d, NS_EVALID, field, "'%s' is after verdict_date %s",
					   o->offence_date, m->verdict_date);
	}
	return 0;
}

/* sentence.imposed: id, date, type, a term (except LIFE), optional court and links. */
static int ns__sentence_imposed(const Nomsync__SentenceImposed *m, const char *w, ns_diag *d)
{
	int32_t sentenced = NS_DATE_NONE, offence = NS_DATE_NONE;

	NS__TRY(ns__token(m->sentence_id, "sentence_id", w, 0, d));
	NS__TRY(ns__date(m->sentence_date, "sentence_date", w, &sentenced, d));
	NS__TRY(ns__one_of(m->sentence_type, ns__sentence_types, "sentence_type", w, 0, d));
	if (strcmp(m->sentence_type, "LIFE") != 0 && m->term_years == 0 && m->term_months == 0 &&
	    m->term_days == 0)
		return ns_diag_set(d, NS_EVALID, "term_years",
				   "a %s sentence needs a term (term_years, term_months or term_days)",
				   m->sentence_type);
	NS__TRY(ns__court(m->court, "court", w, 1, d));
	NS__TRY(ns__token(m->court_case_ref, "court_case_ref", w, 1, d));
	NS__TRY(ns__token(m->consecutive_to, "consecutive_to", w, 1, d));
	if (!ns__empty(m->consecutive_to) && strcmp(m->consecutive_to, m->sentence_id) == 0)
		return ns_diag_set(d, NS_EVALID, "consecutive_to", "a sentence cannot be consecutive to itself");
	NS__TRY(ns__opt_date(m->offence_date, "offence_date", &offence, d));
	if (offence != NS_DATE_NONE && offence > sentenced)
		return ns_diag_set(d, NS_EVALID, "offence_date", "'%s' is after sentence_date %s",
				   m->offence_date, m->sentence_date);
	return 0;
}

/* prisoner.received: establishment and reason. */
static int ns__prisoner_received(const Nomsync__PrisonerReceived *m, const char *w, ns_diag *d)
{
	NS__TRY(ns__prison(m->prison, "prison", w, d));
	NS__TRY(ns__one_of(m->reason, ns__received_reasons, "reason", w, 0, d));
	NS__TRY(ns__token(m->booking_id, "booking_id", w, 1, d));
	NS__TRY(ns__token(m->book_number, "book_number", w, 1, d));
	return ns__token(m->movement_reason_code, "movement_reason_code", w, 1, d);
}

/* prisoner.released: establishment, reason, optional release type. */
static int ns__prisoner_released(const Nomsync__PrisonerReleased *m, const char *w, ns_diag *d)
{
	NS__TRY(ns__prison(m->prison, "prison", w, d));
	NS__TRY(ns__one_of(m->reason, ns__released_reasons, "reason", w, 0, d));
	NS__TRY(ns__one_of(m->release_type, ns__release_types, "release_type", w, 1, d));
	return ns__token(m->movement_reason_code, "movement_reason_code", w, 1, d);
}

/* prisoner.transferred: two different establishments. */
static int ns__prisoner_transferred(const Nomsync__PrisonerTransferred *m, const char *w, ns_diag *d)
{
	NS__TRY(ns__prison(m->from_prison, "from_prison", w, d));
	NS__TRY(ns__prison(m->to_prison, "to_prison", w, d));
	if (strcmp(m->from_prison, m->to_prison) == 0)
		return ns_diag_set(d, NS_EVALID, "to_prison", "must differ from from_prison (%s)",
				   m->from_prison);
	return 0;
}

/* prisoner.adjustment.recorded: type (courts: remand and tagged bail only), days > 0. */
static int ns__adjustment(ns_role role, const Nomsync__PrisonerAdjustmentRecorded *m, const char *w,
			  ns_diag *d)
{
	int32_t from = NS_DATE_NONE, to = NS_DATE_NONE;

	NS__TRY(ns__one_of(m->adjustment_type, ns__adjustment_types, "adjustment_type", w, 0, d));
	if (role == NS_ROLE_COURT && ns__one_of(m->adjustment_type, ns__court_adjustment_types,
						"adjustment_type", w, 0, NULL) != 0)
		return ns_diag_set(d, NS_EVALID, "adjustment_type",
				   "a court may only record REMAND or TAGGED_BAIL, not '%s'",
				   m->adjustment_type);
	if (m->days <= 0)
		return ns_diag_set(d, NS_EVALID, "days", "must be greater than 0 (got %d)", (int)m->days);
	NS__TRY(ns__opt_date(m->from_date, "from_date", &from, d));
	NS__TRY(ns__opt_date(m->to_date, "to_date", &to, d));
	NS__TRY(ns__order(from, to, "to_date", "from_date", d));
	return ns__token(m->sentence_id, "sentence_id", w, 1, d);
}

/* alert.raised: alert type and code, from date. */
static int ns__alert_raised(const Nomsync__AlertRaised *m, const char *w, ns_diag *d)
{
	NS__TRY(ns__dcode(m->alert_type, "alert_type", w, d));
	NS__TRY(ns__dcode(m->alert_code, "alert_code", w, d));
	return ns__date(m->from_date, "from_date", w, NULL, d);
}

/* alert.closed: alert code and to date. */
static int ns__alert_closed(const Nomsync__AlertClosed *m, const char *w, ns_diag *d)
{
	NS__TRY(ns__dcode(m->alert_code, "alert_code", w, d));
	return ns__date(m->to_date, "to_date", w, NULL, d);
}

/* manager.pom.allocated: establishment and staff. */
static int ns__pom_allocated(const Nomsync__ManagerPomAllocated *m, const char *w, ns_diag *d)
{
	NS__TRY(ns__prison(m->prison, "prison", w, d));
	return ns__token(m->staff, "staff", w, 0, d);
}

/* manager.com.allocated: region, and a PDU of that region if given. */
static int ns__com_allocated(const Nomsync__ManagerComAllocated *m, const char *w, ns_diag *d)
{
	if (ns__empty(m->region))
		return ns_diag_set(d, NS_EVALID, "region", "required for %s (a probation region code)", w);
	if (!ns_is_region(m->region))
		return ns_diag_set(d, NS_EVALID, "region",
				   "'%s' is not a probation region code (probation_regions.csv)", m->region);
	if (!ns__empty(m->pdu) && !ns_is_pdu(m->pdu, NULL))
		return ns_diag_set(d, NS_EVALID, "pdu", "'%s' is not a PDU code (probation_pdus.csv)", m->pdu);
	if (!ns__empty(m->pdu) && !ns_is_pdu(m->pdu, m->region))
		return ns_diag_set(d, NS_EVALID, "pdu", "PDU '%s' is not in region %s", m->pdu, m->region);
	NS__TRY(ns__token(m->team, "team", w, 1, d));
	return ns__token(m->staff, "staff", w, 1, d);
}

/* licence.activated: id, type, start (and expiry not before it), conditions. */
static int ns__licence_activated(const Nomsync__LicenceActivated *m, const char *w, ns_diag *d)
{
	char field[48];
	int32_t start = NS_DATE_NONE, expiry = NS_DATE_NONE;

	NS__TRY(ns__token(m->licence_id, "licence_id", w, 0, d));
	NS__TRY(ns__one_of(m->licence_type, ns__licence_types, "licence_type", w, 0, d));
	NS__TRY(ns__date(m->start_date, "start_date", w, &start, d));
	NS__TRY(ns__opt_date(m->expiry_date, "expiry_date", &expiry, d));
	NS__TRY(ns__order(start, expiry, "expiry_date", "start_date", d));
	for (size_t i = 0; i < m->n_conditions; i++) {
		snprintf(field, sizeof(field), "conditions[%zu]", i);
		NS__TRY(ns__required(m->conditions[i], field, w, d));
	}
	return 0;
}

/* recall.issued: id, recall type, revocation date, sentence ids. */
static int ns__recall_issued(const Nomsync__RecallIssued *m, const char *w, ns_diag *d)
{
	char field[48];

	NS__TRY(ns__token(m->recall_id, "recall_id", w, 0, d));
	NS__TRY(ns__one_of(m->recall_type, ns__recall_types, "recall_type", w, 0, d));
	NS__TRY(ns__date(m->revocation_date, "revocation_date", w, NULL, d));
	for (size_t i = 0; i < m->n_sentence_ids; i++) {
		snprintf(field, sizeof(field), "sentence_ids[%zu]", i);
		NS__TRY(ns__token(m->sentence_ids[i], field, w, 0, d));
	}
	return 0;
}

/* recall.returned_to_custody: establishment, return date, UAL days >= 0. */
static int ns__recall_returned(const Nomsync__RecallReturnedToCustody *m, const char *w, ns_diag *d)
{
	NS__TRY(ns__prison(m->prison, "prison", w, d));
	NS__TRY(ns__date(m->return_date, "return_date", w, NULL, d));
	if (m->ual_days < 0)
		return ns_diag_set(d, NS_EVALID, "ual_days", "must not be negative (got %d)", (int)m->ual_days);
	return ns__token(m->recall_id, "recall_id", w, 1, d);
}

/* programme.referred: programme code, setting, referral date. */
static int ns__programme_referred(const Nomsync__ProgrammeReferred *m, const char *w, ns_diag *d)
{
	NS__TRY(ns__dcode(m->programme, "programme", w, d));
	NS__TRY(ns__one_of(m->setting, ns__settings, "setting", w, 0, d));
	return ns__date(m->referral_date, "referral_date", w, NULL, d);
}

/* programme.completed: programme code, setting, outcome, completion date. */
static int ns__programme_completed(const Nomsync__ProgrammeCompleted *m, const char *w, ns_diag *d)
{
	NS__TRY(ns__dcode(m->programme, "programme", w, d));
	NS__TRY(ns__one_of(m->setting, ns__settings, "setting", w, 0, d));
	NS__TRY(ns__one_of(m->outcome, ns__outcomes, "outcome", w, 0, d));
	return ns__date(m->completion_date, "completion_date", w, NULL, d);
}

/* supervision.terminated: reason and date. */
static int ns__supervision_terminated(const Nomsync__SupervisionTerminated *m, const char *w,
				      ns_diag *d)
{
	NS__TRY(ns__one_of(m->reason, ns__termination_reasons, "reason", w, 0, d));
	return ns__date(m->termination_date, "termination_date", w, NULL, d);
}

/* person.deceased: date of death. */
static int ns__person_deceased(const Nomsync__PersonDeceased *m, const char *w, ns_diag *d)
{
	return ns__date(m->date_of_death, "date_of_death", w, NULL, d);
}

/* event.corrected: a 64-hex-character event id and a reason. */
static int ns__event_corrected(const Nomsync__EventCorrected *m, const char *w, ns_diag *d)
{
	const char *id = m->target_event_id;
	size_t n = id ? strlen(id) : 0;

	if (n == 0)
		return ns_diag_set(d, NS_EVALID, "target_event_id", "required for %s", w);
	for (size_t i = 0; i < n; i++)
		if (!ns__digit(id[i]) && !(id[i] >= 'a' && id[i] <= 'f'))
			n = 0;
	if (n != 2 * NS_ID_BYTES)
		return ns_diag_set(d, NS_EVALID, "target_event_id",
				   "'%.80s' is not an event id (64 lower-case hex characters)", id);
	return ns__required(m->reason, "reason", w, d);
}

/* court.appearance.recorded: court, date, next hearing not before it. */
static int ns__appearance(const Nomsync__CourtAppearanceRecorded *m, const char *w, ns_diag *d)
{
	int32_t when = NS_DATE_NONE, next = NS_DATE_NONE;

	NS__TRY(ns__court(m->court, "court", w, 0, d));
	NS__TRY(ns__date(m->appearance_date, "appearance_date", w, &when, d));
	NS__TRY(ns__opt_date(m->next_hearing_date, "next_hearing_date", &next, d));
	NS__TRY(ns__order(when, next, "next_hearing_date", "appearance_date", d));
	return ns__token(m->case_ref, "case_ref", w, 1, d);
}

/* sentence.quashed: the sentence id. */
static int ns__sentence_quashed(const Nomsync__SentenceQuashed *m, const char *w, ns_diag *d)
{
	return ns__token(m->sentence_id, "sentence_id", w, 0, d);
}

/* registration.added: register type and date. */
static int ns__registration_added(const Nomsync__RegistrationAdded *m, const char *w, ns_diag *d)
{
	NS__TRY(ns__dcode(m->register_type, "register_type", w, d));
	return ns__date(m->registration_date, "registration_date", w, NULL, d);
}

/* registration.removed: register type and date. */
static int ns__registration_removed(const Nomsync__RegistrationRemoved *m, const char *w, ns_diag *d)
{
	NS__TRY(ns__dcode(m->register_type, "register_type", w, d));
	return ns__date(m->removal_date, "removal_date", w, NULL, d);
}

/* manager.handover.changed: date and who is responsible. */
static int ns__handover(const Nomsync__ManagerHandoverChanged *m, const char *w, ns_diag *d)
{
	NS__TRY(ns__date(m->handover_date, "handover_date", w, NULL, d));
	return ns__one_of(m->responsible, ns__responsible, "responsible", w, 0, d);
}

/* licence.ended: licence id and end date. */
static int ns__licence_ended(const Nomsync__LicenceEnded *m, const char *w, ns_diag *d)
{
	NS__TRY(ns__token(m->licence_id, "licence_id", w, 0, d));
	return ns__date(m->end_date, "end_date", w, NULL, d);
}

/* Dispatch to the rule function of the payload's type. */
static int ns__roster_change(const Nomsync__Payload *p, ns_diag *d);

static int ns__payload(ns_role role, uint32_t type, const Nomsync__Payload *p, ns_diag *d)
{
	const char *w = ns_type_name(type);

	switch (p->body_case) {
	case NOMSYNC__PAYLOAD__BODY_PERSON_CREATED:
		return ns__person_created(p->person_created, w, d);
	case NOMSYNC__PAYLOAD__BODY_PERSON_IDENTIFIER_ADDED:
		return ns__identifier_added(p->person_identifier_added, w, d);
	case NOMSYNC__PAYLOAD__BODY_COURT_REMANDED:
		return ns__court_remanded(p->court_remanded, w, d);
	case NOMSYNC__PAYLOAD__BODY_COURT_CONVICTED:
		return ns__court_convicted(p->court_convicted, w, d);
	case NOMSYNC__PAYLOAD__BODY_SENTENCE_IMPOSED:
		return ns__sentence_imposed(p->sentence_imposed, w, d);
	case NOMSYNC__PAYLOAD__BODY_PRISONER_RECEIVED:
		return ns__prisoner_received(p->prisoner_received, w, d);
	case NOMSYNC__PAYLOAD__BODY_PRISONER_RELEASED:
		return ns__prisoner_released(p->prisoner_released, w, d);
	case NOMSYNC__PAYLOAD__BODY_PRISONER_TRANSFERRED:
		return ns__prisoner_transferred(p->prisoner_transferred, w, d);
	case NOMSYNC__PAYLOAD__BODY_PRISONER_ADJUSTMENT_RECORDED:
		return ns__adjustment(role, p->prisoner_adjustment_recorded, w, d);
	case NOMSYNC__PAYLOAD__BODY_ALERT_RAISED:
		return ns__alert_raised(p->alert_raised, w, d);
	case NOMSYNC__PAYLOAD__BODY_ALERT_CLOSED:
		return ns__alert_closed(p->alert_closed, w, d);
	case NOMSYNC__PAYLOAD__BODY_MANAGER_POM_ALLOCATED:
		return ns__pom_allocated(p->manager_pom_allocated, w, d);
	case NOMSYNC__PAYLOAD__BODY_MANAGER_COM_ALLOCATED:
		return ns__com_allocated(p->manager_com_allocated, w, d);
	case NOMSYNC__PAYLOAD__BODY_LICENCE_ACTIVATED:
		return ns__licence_activated(p->licence_activated, w, d);
	case NOMSYNC__PAYLOAD__BODY_RECALL_ISSUED:
		return ns__recall_issued(p->recall_issued, w, d);
	case NOMSYNC__PAYLOAD__BODY_RECALL_RETURNED_TO_CUSTODY:
		return ns__recall_returned(p->recall_returned_to_custody, w, d);
	case NOMSYNC__PAYLOAD__BODY_PROGRAMME_REFERRED:
		return ns__programme_referred(p->programme_referred, w, d);
	case NOMSYNC__PAYLOAD__BODY_PROGRAMME_COMPLETED:
		return ns__programme_completed(p->programme_completed, w, d);
	case NOMSYNC__PAYLOAD__BODY_SUPERVISION_TERMINATED:
		return ns__supervision_terminated(p->supervision_terminated, w, d);
	case NOMSYNC__PAYLOAD__BODY_PERSON_DECEASED:
		return ns__person_deceased(p->person_deceased, w, d);
	case NOMSYNC__PAYLOAD__BODY_EVENT_CORRECTED:
		return ns__event_corrected(p->event_corrected, w, d);
	case NOMSYNC__PAYLOAD__BODY_COURT_APPEARANCE_RECORDED:
		return ns__appearance(p->court_appearance_recorded, w, d);
	case NOMSYNC__PAYLOAD__BODY_SENTENCE_QUASHED:
		return ns__sentence_quashed(p->sentence_quashed, w, d);
	case NOMSYNC__PAYLOAD__BODY_REGISTRATION_ADDED:
		return ns__registration_added(p->registration_added, w, d);
	case NOMSYNC__PAYLOAD__BODY_REGISTRATION_REMOVED:
		return ns__registration_removed(p->registration_removed, w, d);
	case NOMSYNC__PAYLOAD__BODY_MANAGER_HANDOVER_CHANGED:
		return ns__handover(p->manager_handover_changed, w, d);
	case NOMSYNC__PAYLOAD__BODY_LICENCE_ENDED:
		return ns__licence_ended(p->licence_ended, w, d);
	case NOMSYNC__PAYLOAD__BODY_ROSTER_SITE_ADDED:
	case NOMSYNC__PAYLOAD__BODY_ROSTER_KEY_ROTATED:
	case NOMSYNC__PAYLOAD__BODY_ROSTER_KEY_REVOKED:
		return ns__roster_change(p, d);
	default:
		return ns_diag_set(d, NS_EVALID, "type", "no rules for payload case %d", (int)p->body_case);
	}
}

/* A 64-hex Ed25519 public key that converts to a curve point. */
static int ns__key_field(const char *v, const char *field, ns_diag *d)
{
	uint8_t k[NS_KEY_BYTES], c[NS_KEY_BYTES];
	if (ns_unhex(k, NS_KEY_BYTES, v) != 0 || crypto_sign_ed25519_pk_to_curve25519(c, k) != 0)
		return ns_diag_set(d, NS_EVALID, field, "must be an Ed25519 public key in 64 hex digits");
	return 0;
}

/* Roster changes: a site valid for its role, well-formed keys. */
static int ns__roster_change(const Nomsync__Payload *p, ns_diag *d)
{
	int rc;
	if (p->body_case == NOMSYNC__PAYLOAD__BODY_ROSTER_SITE_ADDED) {
		const Nomsync__RosterSiteAdded *x = p->roster_site_added;
		ns_role r = ns_role_parse(x->role);
		if (r == NS_ROLE_NONE || r == NS_ROLE_AUTHORITY)
			return ns_diag_set(d, NS_EVALID, "role", "must be prison, probation, court or hub");
		if ((rc = ns_validate_site(r, x->site, d)) != 0)
			return rc;
		if (!ns__empty(x->region) && !ns_is_region(x->region))
			return ns_diag_set(d, NS_EVALID, "region", "'%.20s' is not a probation region code", x->region);
		return ns__key_field(x->key, "key", d);
	}
	if (p->body_case == NOMSYNC__PAYLOAD__BODY_ROSTER_KEY_ROTATED) {
		const Nomsync__RosterKeyRotated *x = p->roster_key_rotated;
		if ((rc = ns__required(x->site, "site", "roster.key.rotated", d)) != 0 ||
		    (rc = ns__key_field(x->old_key, "old_key", d)) != 0 || (rc = ns__key_field(x->new_key, "new_key", d)) != 0)
			return rc;
		if (strcmp(x->old_key, x->new_key) == 0)
			return ns_diag_set(d, NS_EVALID, "new_key", "must differ from old_key");
		return 0;
	}
	const Nomsync__RosterKeyRevoked *x = p->roster_key_revoked;
	if ((rc = ns__required(x->site, "site", "roster.key.revoked", d)) != 0 || (rc = ns__key_field(x->key, "key", d)) != 0)
		return rc;
	if (x->from_seq == 0)
		return ns_diag_set(d, NS_EVALID, "from_seq", "must be 1 or more (1 revokes every event of the key)");
	return 0;
}

/* 1 if the oneof member selected by body_case is set (found by reflection). */
static int ns__body_present(const Nomsync__Payload *p)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field(&nomsync__payload__descriptor, (unsigned)p->body_case);
	const void *body;

	if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE)
		return 0;
	memcpy(&body, (const char *)p + f->offset, sizeof(body));
	return body != NULL;
}

/* Validate an event's offender, type, role and payload. See validate.h. */
int ns_validate_event(ns_role role, const char *offender, uint32_t type, const Nomsync__Payload *p,
		      ns_diag *d)
{
	const char *tname = ns_type_name(type);
	const char *rname = ns_role_name(role);

	int roster = type == NOMSYNC__EVENT_TYPE__ROSTER_SITE_ADDED || type == NOMSYNC__EVENT_TYPE__ROSTER_KEY_ROTATED ||
		     type == NOMSYNC__EVENT_TYPE__ROSTER_KEY_REVOKED;
	if (roster && (offender == NULL || strcmp(offender, NS_ROSTER_REF) != 0))
		return ns_diag_set(d, NS_EVALID, "offender", "roster changes carry the offender \"%s\"", NS_ROSTER_REF);
	if (!roster && !ns_is_noms(offender) && !ns_is_crn(offender))
		return ns_diag_set(d, NS_EVALID, "offender",
				   "'%.20s' is not a NOMS number ([A-Z][0-9]{4}[A-Z]{2}) or a CRN ([A-Z][0-9]{6})",
				   offender ? offender : "");
	if (tname == NULL)
		return ns_diag_set(d, NS_EVALID, "type", "unknown event type %u", (unsigned)type);
	if (!ns_role_may_emit(role, type))
		return ns_diag_set(d, NS_EROLE, "type", "a %s site may not emit %s",
				   rname ? rname : "role-less", tname);
	if (p == NULL)
		return 0; /* erased: nothing left to check */
	if ((uint32_t)p->body_case != type || !ns__body_present(p)) {
		const char *got = ns_type_name((uint32_t)p->body_case);
		return ns_diag_set(d, NS_EVALID, "type", "payload is %s but the event type is %s",
				   got ? got : "empty", tname);
	}
	return ns__payload(role, type, p, d);
}
