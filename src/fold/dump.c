/*
 * The canonical text of a view: what json_dumps(view, JSON_COMPACT |
 * JSON_SORT_KEYS) writes, byte for byte, but written straight into one
 * malloc'd buffer. jansson's dump went through a callback per token, a
 * strbuffer and a sorted key array per object, and was the largest single
 * cost of a fold through the store (about 40 % of a deferred fold's
 * instructions). The rules are jansson's: no whitespace; object keys sorted
 * by their bytes (a shorter key first when one is a prefix of the other);
 * strings copied as they are except '"', '\\' and control characters
 * (\b \f \n \r \t, else \u00XX in upper case); integers as "%lld"; true,
 * false, null. What this writer does not write the same way it declines
 * (reals, strings that are not UTF-8, very deep trees), and the caller
 * falls back to json_dumps: the fold never stores a real, and its strings
 * passed jansson's UTF-8 check when they were made.
 */
#include "fold_int.h"

#include <stdlib.h>
#include <string.h>

#define NS__DUMP_DEPTH 512 /* deeper trees are left to json_dumps */
#define NS__ONES 0x0101010101010101ull

struct ns__out {
	char *p;
	size_t n, cap;
	int rc; /* 0, NS__DUMP_NOMEM or NS__DUMP_DECLINE */
};

enum { NS__DUMP_NOMEM = 1, NS__DUMP_DECLINE = 2 };

/* Room for @p more bytes; 0 if there is none (rc set). */
static int ns__room(struct ns__out *o, size_t more)
{
	if (o->rc)
		return 0;
	if (o->cap - o->n >= more)
		return 1;
	size_t cap = o->cap ? o->cap : 1024;
	while (cap - o->n < more)
		cap *= 2;
	char *p = realloc(o->p, cap);
	if (p == NULL) {
		o->rc = NS__DUMP_NOMEM;
		return 0;
	}
	o->p = p;
	o->cap = cap;
	return 1;
}

static void ns__put(struct ns__out *o, const char *s, size_t n)
{
	if (ns__room(o, n)) {
		memcpy(o->p + o->n, s, n);
		o->n += n;
	}
}

/* Length of the valid UTF-8 sequence at s (of at most n bytes) led by a byte >= 0x80; 0 if invalid. */
static size_t ns__utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		len = 2;
		cp = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		len = 3;
		cp = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

static void ns__put_string(struct ns__out *o, const char *str, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0;

	/* At most 6 bytes out per byte in, and the quotes. */
	if (!ns__room(o, 6 * len + 2))
		return;
	char *w = o->p + o->n;
	*w++ = '"';
	while (i < len) {
		/* Eight plain ASCII bytes at a time: none < 0x20, >= 0x80, '"' or '\\'. */
		while (len - i >= 8) {
			uint64_t x, q, b;
			memcpy(&x, s + i, 8);
			q = x ^ (NS__ONES * '"');
			b = x ^ (NS__ONES * '\\');
			if (((x - NS__ONES * 0x20) | (q - NS__ONES) | (b - NS__ONES) | x) & (NS__ONES * 0x80))
				break;
			i += 8;
		}
		if (i >= len)
			break;
		unsigned char ch = s[i];
		/* 0x20 to 0x7f but '"' and '\\' as they are; UTF-8 checked apart. */
		if ((unsigned char)(ch - 0x20) < 0x60 && ch != '"' && ch != '\\') {
			i++;
			continue;
		}
		if (ch >= 0x80) {
			size_t l = ns__utf8_seq(s + i, len - i);
			if (l == 0) {
				o->rc = NS__DUMP_DECLINE;
				return;
			}
			i += l;
			continue;
		}
		memcpy(w, s + run, i - run);
		w += i - run;
		*w++ = '\\';
		switch (ch) {
		case '"': *w++ = '"'; break;
		case '\\': *w++ = '\\'; break;
		case '\b': *w++ = 'b'; break;
		case '\f': *w++ = 'f'; break;
		case '\n': *w++ = 'n'; break;
		case '\r': *w++ = 'r'; break;
		case '\t': *w++ = 't'; break;
		default:
			memcpy(w, "u00", 3);
			w[3] = hex[ch >> 4];
			w[4] = hex[ch & 15];
			w += 5;
		}
		run = ++i;
	}
	memcpy(w, s + run, len - run);
	w += len - run;
	*w++ = '"';
	o->n = (size_t)(w - o->p);
}

static void ns__put_int(struct ns__out *o, json_int_t v)
{
	char buf[24], *e = buf + sizeof(buf), *b = e;
	/* Through unsigned: the least value has no positive counterpart. */
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

	do
		*--b = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--b = '-';
	ns__put(o, b, (size_t)(e - b));
}

struct ns__member {
	const char *key;
	size_t len;
	json_t *value;
};

static int ns__member_less(const struct ns__member *a, const struct ns__member *b)
{
	size_t m = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->key, b->key, m);
	return c < 0 || (c == 0 && a->len < b->len);
}

static void ns__put_value(struct ns__out *o, const json_t *v, int depth);

static void ns__put_object(struct ns__out *o, const json_t *v, int depth)
{
	struct ns__member stack[32], *m = stack;
	size_t n = json_object_size(v), k = 0;

	if (n > sizeof(stack) / sizeof(stack[0]) && (m = malloc(n * sizeof(*m))) == NULL) {
		o->rc = NS__DUMP_NOMEM;
		return;
	}
	/* Insertion sort: a view's objects have a few keys each. */
	for (void *it = json_object_iter((json_t *)v); it != NULL && k < n;
	     it = json_object_iter_next((json_t *)v, it)) {
		struct ns__member x = { json_object_iter_key(it), json_object_iter_key_len(it),
					json_object_iter_value(it) };
		size_t j = k++;
		while (j > 0 && ns__member_less(&x, &m[j - 1])) {
			m[j] = m[j - 1];
			j--;
		}
		m[j] = x;
	}
	ns__put(o, "{", 1);
	for (size_t i = 0; i < k && !o->rc; i++) {
		if (i > 0)
			ns__put(o, ",", 1);
		ns__put_string(o, m[i].key, m[i].len);
		ns__put(o, ":", 1);
		ns__put_value(o, m[i].value, depth + 1);
	}
	ns__put(o, "}", 1);
	if (m != stack)
		free(m);
}

static void ns__put_value(struct ns__out *o, const json_t *v, int depth)
{
	if (o->rc)
		return;
	if (depth > NS__DUMP_DEPTH) {
		o->rc = NS__DUMP_DECLINE;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		ns__put_object(o, v, depth);
		break;
	case JSON_ARRAY:
		ns__put(o, "[", 1);
		for (size_t i = 0, n = json_array_size(v); i < n && !o->rc; i++) {
			if (i > 0)
				ns__put(o, ",", 1);
			ns__put_value(o, json_array_get(v, i), depth + 1);
		}
		ns__put(o, "]", 1);
		break;
	case JSON_STRING:
		ns__put_string(o, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		ns__put_int(o, json_integer_value(v));
		break;
	case JSON_TRUE:
		ns__put(o, "true", 4);
		break;
	case JSON_FALSE:
		ns__put(o, "false", 5);
		break;
	case JSON_NULL:
		ns__put(o, "null", 4);
		break;
	default: /* JSON_REAL */
		o->rc = NS__DUMP_DECLINE;
	}
}

char *ns__canonical_text(const json_t *v, size_t *len, int *declined)
{
	struct ns__out o = { NULL, 0, 0, 0 };

	*declined = 0;
	ns__put_value(&o, v, 0);
	ns__put(&o, "", 1); /* the terminating NUL */
	if (o.rc) {
		free(o.p);
		*declined = o.rc == NS__DUMP_DECLINE;
		return NULL;
	}
	*len = o.n - 1;
	return o.p;
}
