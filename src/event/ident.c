/*
 * Offender and case identifiers: NOMS numbers, CRNs, PNC ids and CRO
 * numbers, with the formats and mod-23 check letters of docs/DOMAIN.md
 * (identifiers). In the event module because every layer above needs them:
 * decoding (an event's offender), validation (payload fields) and the fold
 * (linking a person's identifiers, canonical PNC ids).
 */
#include <nomsync/ident.h>

#include <string.h>

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

