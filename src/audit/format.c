/*
 * Text forms of the read audit (see nomsync/audit.h): query bounds, times and
 * the JSON of one entry (syslog, CLI, GET /v1/audit).
 */
#include <nomsync/audit.h>

#include <jansson.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Digits at @p s, exactly @p n of them, as a number; -1 if not. */
static int ns__digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int ns_audit_parse_time(const char *text, int end, int64_t *ms)
{
	struct tm tm = { 0 }, back;
	size_t len = text ? strlen(text) : 0;
	int msec = 0, y, mo, da, h = 0, mi = 0, se = 0;

	if (len < 10 || text[4] != '-' || text[7] != '-' || (y = ns__digits(text, 4)) < 1970 ||
	    (mo = ns__digits(text + 5, 2)) < 1 || mo > 12 || (da = ns__digits(text + 8, 2)) < 1 || da > 31)
		return NS_EINVAL;
	if (len > 10) {
		if ((len != 20 && len != 24) || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
		    text[len - 1] != 'Z' || (h = ns__digits(text + 11, 2)) < 0 || h > 23 ||
		    (mi = ns__digits(text + 14, 2)) < 0 || mi > 59 || (se = ns__digits(text + 17, 2)) < 0 || se > 59)
			return NS_EINVAL;
		if (len == 24 && (text[19] != '.' || (msec = ns__digits(text + 20, 3)) < 0))
			return NS_EINVAL;
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = da;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	time_t t = timegm(&tm);
	if (t == (time_t)-1 || gmtime_r(&t, &back) == NULL || back.tm_mday != da)
		return NS_EINVAL; /* 2026-02-30 and the like */
	if (len == 10 && end)
		t += 86400;
	*ms = (int64_t)t * 1000 + msec;
	return 0;
}

void ns_audit_format_time(int64_t ms, char *buf, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char day[24];

	if (ms < 0 || gmtime_r(&t, &tm) == NULL || strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, cap, "?");
		return;
	}
	snprintf(buf, cap, "%s.%03dZ", day, (int)(ms % 1000));
}

/* @p src with every byte outside printable ASCII as '?' (for strings that are not UTF-8). */
static const char *ns__ascii(char *dst, size_t cap, const char *src)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)src; *p && n + 1 < cap; p++)
		dst[n++] = *p >= 0x20 && *p < 0x7f ? (char)*p : '?';
	dst[n] = '\0';
	return dst;
}

char *ns_audit_entry_json(const ns_audit_entry *e)
{
	char at[32], user[sizeof(e->user)], off[sizeof(e->offender)], ep[sizeof(e->endpoint)];
	json_t *roles = json_array(), *o;
	char *txt;

	if (roles == NULL)
		return NULL;
	for (unsigned bit = 1; bit & NS_UROLE_ALL; bit <<= 1)
		if (e->roles & bit)
			json_array_append_new(roles, json_string(ns_urole_name(bit)));
	ns_audit_format_time(e->at_ms, at, sizeof(at));
	o = json_pack("{s:s,s:s,s:s,s:s,s:O,s:s}", "at", at, "endpoint", e->endpoint, "offender", e->offender,
		      "outcome", ns_audit_outcome_name(e->outcome), "roles", roles, "user", e->user);
	if (o == NULL) /* a string that is not UTF-8: shown with '?' for the bytes outside ASCII */
		o = json_pack("{s:s,s:s,s:s,s:s,s:O,s:s}", "at", at, "endpoint",
			      ns__ascii(ep, sizeof(ep), e->endpoint), "offender", ns__ascii(off, sizeof(off), e->offender),
			      "outcome", ns_audit_outcome_name(e->outcome), "roles", roles, "user",
			      ns__ascii(user, sizeof(user), e->user));
	json_decref(roles);
	if (o == NULL)
		return NULL;
	txt = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return txt;
}
