/*
 * Tests for the fold's canonical writer (ns__canonical_text, src/fold/dump.c):
 * its text is json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) byte for byte, and
 * what it does not write (reals, strings that are not UTF-8, very deep trees)
 * it declines, so that the fold falls back to json_dumps.
 */
#include "fold/fold_int.h"

#include "test.h"

#include <stdlib.h>

/* Both writers agree on v (decref'd); 1 if they did. */
static int same_as_jansson(json_t *v)
{
	char *want = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS), *got;
	size_t len = 0;
	int declined = 1, ok;

	got = ns__canonical_text(v, &len, &declined);
	ok = want != NULL && got != NULL && !declined && len == strlen(want) && strcmp(got, want) == 0;
	if (!ok)
		fprintf(stderr, "jansson: %s\nours:    %s\n", want ? want : "(null)", got ? got : "(null)");
	free(want);
	free(got);
	json_decref(v);
	return ok;
}

static int declines(json_t *v)
{
	size_t len = 0;
	int declined = 0;
	char *got = ns__canonical_text(v, &len, &declined);

	json_decref(v);
	free(got);
	return got == NULL && declined;
}

static void test_scalars_and_escapes(void)
{
	CHECK(same_as_jansson(json_pack("{s:i,s:i,s:I,s:I,s:b,s:b,s:n}", "zero", 0, "neg", -42, "max",
					(json_int_t)INT64_MAX, "min", (json_int_t)INT64_MIN, "t", 1, "f", 0,
					"null")));
	CHECK(same_as_jansson(json_pack("{s:s}", "esc", "q\"b\\s/n\nr\rt\tb\bf\fc\x01\x1f\x7f end")));
	json_t *o = json_object();
	json_object_set_new(o, "nul", json_stringn("a\0b", 3));
	json_object_set_new(o, "utf8", json_string("Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf"));
	json_object_setn_new(o, "k\0ey", 4, json_string(""));
	CHECK(same_as_jansson(o));
	CHECK(same_as_jansson(json_pack("{s:[],s:{},s:[[],{}]}", "a", "o", "n")));
	/* Each kind of byte at each place of a long string (the writer scans 8 bytes at a time). */
	const char *odd[] = { "\"", "\\", "\n", "\x1f", "\x7f", "\xc3\xa9", "\xe2\x82\xac", " ", "~" };
	for (size_t k = 0; k < sizeof(odd) / sizeof(odd[0]); k++)
		for (size_t at = 0; at < 24; at++) {
			char str[64];
			memset(str, 'x', 30);
			memcpy(str + at, odd[k], strlen(odd[k]));
			str[30] = '\0';
			CHECK(same_as_jansson(json_pack("[s]", str)));
		}
}

static void test_key_order(void)
{
	/* Prefixes, bytes above 0x7f, and more keys than the writer's small array. */
	json_t *o = json_object();
	const char *keys[] = { "b", "a", "ab", "a\xc3\xa9", "A", "_", "aa", "" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		json_object_set_new(o, keys[i], json_integer((json_int_t)i));
	for (int i = 99; i >= 0; i--) {
		char k[16];
		snprintf(k, sizeof(k), "k%d", i * 7 % 100);
		json_object_set_new(o, k, json_pack("[i,s,{s:i}]", i, k, k, i));
	}
	CHECK(same_as_jansson(o));
}

static void test_declined(void)
{
	CHECK(declines(json_pack("{s:f}", "r", 1.5)));
	CHECK(declines(json_pack("{s:[{s:f}]}", "a", "r", 2.0)));
	CHECK(declines(json_pack("{s:o}", "bad", json_stringn_nocheck("\xc0\xaf", 2))));
	CHECK(declines(json_pack("{s:o}", "surrogate", json_stringn_nocheck("\xed\xa0\x80", 3))));
	CHECK(declines(json_pack("{s:o}", "short", json_stringn_nocheck("a\xe2\x82", 3))));
	json_t *deep = json_array();
	for (int i = 0; i < 600; i++)
		deep = json_pack("[o]", deep);
	CHECK(declines(deep));
}

int main(void)
{
	RUN(test_scalars_and_escapes);
	RUN(test_key_order);
	RUN(test_declined);
	return TEST_SUMMARY();
}
