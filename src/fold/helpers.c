/*
 * Small helpers shared by the fold's files: string and date tests, the
 * JSON builders that remember a failure in the state instead of returning
 * one, growable arrays, and keyed lists (one entry per code or type).
 */
#include "fold_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

const char *ns__nz(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

int ns__eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

int ns__eq_nocase(const char *a, const char *b)
{
	a = a ? a : "";
	b = b ? b : "";
	for (; *a && *b; a++, b++) {
		char x = *a >= 'a' && *a <= 'z' ? (char)(*a - 32) : *a;
		char y = *b >= 'a' && *b <= 'z' ? (char)(*b - 32) : *b;
		if (x != y)
			return 0;
	}
	return *a == *b;
}

int32_t ns__date(const char *s)
{
	int32_t d;

	return s != NULL && ns_date_parse(s, &d) == 0 ? d : NS_DATE_NONE;
}

int32_t ns__day(int64_t t)
{
	int64_t d = t / 86400;

	if (t % 86400 < 0)
		d--;
	return ns__clamp_day(d);
}

int ns__sat_add(int a, int64_t b)
{
	int64_t s = (int64_t)a + b;

	if (s > INT_MAX / 4)
		return INT_MAX / 4;
	if (s < -(INT_MAX / 4))
		return -(INT_MAX / 4);
	return (int)s;
}

const char *ns__show(const char *s)
{
	return ns__nz(s) ? s : "(none)";
}

const char *ns__show_date(char buf[11], int32_t d)
{
	if (d == NS_DATE_NONE)
		return "(none)";
	ns_date_format(buf, d);
	return buf;
}

/* Strict UTF-8 check (no overlongs, surrogates or code points past U+10FFFF). */
static int ns__utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	int n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) || (c == 0xf0 && s[1] < 0x90) ||
	    (c == 0xf4 && s[1] > 0x8f))
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

json_t *ns__jstr(struct ns__fold *c, const char *s)
{
	const unsigned char *p;
	json_t *v;
	char *fixed;
	size_t i = 0;
	int k, bad = 0;

	if (ns__nz(s) == NULL)
		return json_null();
	for (p = (const unsigned char *)s; *p; p += k) {
		if (*p < 0x80) { /* most of the view's text is ASCII */
			k = 1;
			continue;
		}
		if ((k = ns__utf8_len(p)) == 0) {
			bad = 1;
			break;
		}
	}
	if (!bad) {
		/* Checked above as jansson would check it. */
		v = json_stringn_nocheck(s, (size_t)((const char *)p - s));
	} else {
		fixed = malloc(strlen(s) + 1);
		if (fixed == NULL) {
			c->rc = NS_ENOMEM;
			return NULL;
		}
		for (p = (const unsigned char *)s; *p; p += k) {
			if ((k = ns__utf8_len(p)) == 0) {
				fixed[i++] = '?';
				k = 1;
			} else {
				memcpy(fixed + i, p, (size_t)k);
				i += (size_t)k;
			}
		}
		fixed[i] = '\0';
		v = json_string(fixed);
		free(fixed);
	}
	if (v == NULL)
		c->rc = NS_ENOMEM;
	return v;
}

/* Remember a failed allocation of @p v; returns v. */
static json_t *ns__checked(struct ns__fold *c, json_t *v)
{
	if (v == NULL)
		c->rc = NS_ENOMEM;
	return v;
}

json_t *ns__jdate(struct ns__fold *c, int32_t d)
{
	char buf[11];

	if (d == NS_DATE_NONE)
		return json_null();
	ns_date_format(buf, d);
	return ns__checked(c, json_string(buf));
}

json_t *ns__jint(struct ns__fold *c, json_int_t i)
{
	return ns__checked(c, json_integer(i));
}

json_t *ns__obj(struct ns__fold *c)
{
	return ns__checked(c, json_object());
}

json_t *ns__arr(struct ns__fold *c)
{
	return ns__checked(c, json_array());
}

void ns__set(struct ns__fold *c, json_t *obj, const char *key, json_t *v)
{
	const unsigned char *k = (const unsigned char *)key;
	int rc;

	while (*k && *k < 0x80)
		k++;
	/* An ASCII key (all of the view's but a few) needs no UTF-8 check. */
	rc = *k ? json_object_set_new(obj, key, v) : json_object_set_new_nocheck(obj, key, v);
	if (rc != 0)
		c->rc = NS_ENOMEM;
}

void ns__push(struct ns__fold *c, json_t *arr, json_t *v)
{
	if (json_array_append_new(arr, v) != 0)
		c->rc = NS_ENOMEM;
}

void *ns__grow(struct ns__fold *c, void *arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 8;
	p = realloc(arr, ncap * size);
	if (p == NULL) {
		c->rc = NS_ENOMEM;
		return NULL;
	}
	*cap = ncap;
	return p;
}

/* The key of a keyed-list entry: its first member. */
static const char *ns__key(const void *entry)
{
	const char *k;

	memcpy(&k, entry, sizeof(k));
	return k;
}

/*
 * The array pointer is read and written through memcpy, so that one
 * function serves arrays of any entry type.
 */
void *ns__keyed(struct ns__fold *c, void *arrp, size_t *n, size_t *cap, size_t size,
		const void *init, const char *key)
{
	char *arr, *e;

	key = key ? key : "";
	memcpy(&arr, arrp, sizeof(arr));
	for (size_t i = 0; i < *n; i++)
		if (strcmp(ns__key(arr + i * size), key) == 0)
			return arr + i * size;
	if ((arr = ns__grow(c, arr, cap, *n, size)) == NULL)
		return NULL;
	memcpy(arrp, &arr, sizeof(arr));
	e = arr + (*n)++ * size;
	memcpy(e, init, size);
	memcpy(e, &key, sizeof(key));
	return e;
}

/* Order keyed-list entries by key. */
static int ns__cmp_keyed(const void *a, const void *b)
{
	return strcmp(ns__key(a), ns__key(b));
}

json_t *ns__render_keyed(struct ns__fold *c, void *arr, size_t n, size_t size, ns__entry_fn *fn)
{
	json_t *out = ns__arr(c);

	if (n > 1)
		qsort(arr, n, size, ns__cmp_keyed);
	for (size_t i = 0; i < n; i++) {
		json_t *o = ns__obj(c);
		fn(c, o, (const char *)arr + i * size);
		ns__push(c, out, o);
	}
	return out;
}
