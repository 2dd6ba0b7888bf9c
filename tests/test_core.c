/*
 * Unit tests for src/core: error codes and their strings, the diag helper,
 * calendar arithmetic (include/nomsync/date.h), the bump arena and the
 * small shared helpers in core/util.h.
 */
#include "test.h"

#include <nomsync/date.h>
#include <nomsync/error.h>

#include "core/arena.h"
#include "core/util.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmproot[] = "/tmp/ns-core-test-XXXXXX";

/*
 * Errors.
 */

/* Every code from NS_OK down to the last one has its own sentence and name. */
static void test_strerror_distinct(void)
{
	for (int a = NS_OK; a > NS__ERRMIN; a--) {
		const char *ta = ns_strerror(a), *na = ns_err_name(a);
		CHECK(ta != NULL && ta[0] != '\0');
		CHECK(na != NULL && strncmp(na, "NS_", 3) == 0);
		CHECK(strcmp(ta, "unknown error") != 0);
		CHECK(strcmp(na, "NS_E?") != 0);
		for (int b = a - 1; b > NS__ERRMIN; b--) {
			if (strcmp(ta, ns_strerror(b)) == 0 || strcmp(na, ns_err_name(b)) == 0) {
				fprintf(stderr, "codes %d and %d share a string\n", a, b);
				CHECK(0);
			}
		}
	}
	CHECK_STR(ns_strerror(NS_OK), "success");
	CHECK_STR(ns_err_name(NS_OK), "NS_OK");
	CHECK_STR(ns_err_name(NS_ESIG), "NS_ESIG");
	CHECK_STR(ns_err_name(NS_EREVOKED), "NS_EREVOKED");
	CHECK_STR(ns_strerror(NS_EBUNDLE), "bundle is corrupt or its signature does not verify");
	CHECK_STR(ns_strerror(NS_ENOTFOUND), "not found");
}

static void test_strerror_unknown(void)
{
	const int unknown[] = { NS__ERRMIN, NS__ERRMIN - 1, 1, 42, -1000, INT32_MIN };

	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		CHECK_STR(ns_strerror(unknown[i]), "unknown error");
		CHECK_STR(ns_err_name(unknown[i]), "NS_E?");
	}
}

static void test_diag_set(void)
{
	ns_diag d;

	memset(&d, 'x', sizeof(d));
	CHECK_INT(ns_diag_set(&d, NS_EVALID, "prison", "'%s' is not an establishment code (%d)", "MXX", 7),
		  NS_EVALID);
	CHECK_STR(d.field, "prison");
	CHECK_STR(d.msg, "'MXX' is not an establishment code (7)");

	/* A NULL field is stored as empty; the return value is whatever code was given. */
	CHECK_INT(ns_diag_set(&d, NS_OK, NULL, "plain"), NS_OK);
	CHECK_STR(d.field, "");
	CHECK_STR(d.msg, "plain");
	CHECK_INT(ns_diag_set(&d, 12345, "f", "%s", ""), 12345);
	CHECK_STR(d.msg, "");

	/* A NULL diag is allowed and still returns the code. */
	CHECK_INT(ns_diag_set(NULL, NS_EIO, "file", "cannot open %s", "/nowhere"), NS_EIO);

	/* ns_diag_clear empties both; NULL is allowed. */
	ns_diag_set(&d, NS_EIO, "file", "something");
	ns_diag_clear(&d);
	CHECK_STR(d.field, "");
	CHECK_STR(d.msg, "");
	ns_diag_clear(NULL);
}

/* Long fields and messages are cut to fit, NUL-terminated, the prefix kept. */
static void test_diag_truncation(void)
{
	char longfield[200], longmsg[1000];
	ns_diag d;

	memset(longfield, 'f', sizeof(longfield) - 1);
	longfield[sizeof(longfield) - 1] = '\0';
	memset(longmsg, 'm', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	longmsg[0] = '<';
	CHECK_INT(ns_diag_set(&d, NS_EVALID, longfield, "%s tail", longmsg), NS_EVALID);
	CHECK_INT(strlen(d.field), sizeof(d.field) - 1);
	CHECK_INT(strlen(d.msg), sizeof(d.msg) - 1);
	CHECK(strncmp(d.field, longfield, sizeof(d.field) - 1) == 0);
	CHECK(d.msg[0] == '<');
	CHECK(strncmp(d.msg, longmsg, sizeof(d.msg) - 1) == 0);
	CHECK(strstr(d.msg, "tail") == NULL);

	/* Exactly fitting: sizeof - 1 characters survive whole. */
	memset(longmsg, 'a', sizeof(d.msg) - 1);
	longmsg[sizeof(d.msg) - 1] = '\0';
	ns_diag_set(&d, NS_EVALID, "", "%s", longmsg);
	CHECK_STR(d.msg, longmsg);
}

/*
 * Dates.
 */

static int32_t day(const char *s)
{
	int32_t d = NS_DATE_NONE;
	CHECK_INT(ns_date_parse(s, &d), 0);
	return d;
}

static void fmt(char out[11], int32_t d)
{
	ns_date_format(out, d);
}

static void test_date_epoch_and_civil(void)
{
	int y, m, d;

	CHECK_INT(ns_date_from_civil(1970, 1, 1), 0);
	CHECK_INT(ns_date_from_civil(1970, 1, 2), 1);
	CHECK_INT(ns_date_from_civil(1969, 12, 31), -1);
	/* 2000-03-01: 30 years of 365 days plus 7 leap days (72..96) = 10957 to 2000-01-01, + 31 + 29. */
	CHECK_INT(ns_date_from_civil(2000, 1, 1), 10957);
	CHECK_INT(ns_date_from_civil(2000, 3, 1), 10957 + 31 + 29);
	/* 1900-01-01: 70 years back, 17 leap days (1904..1968) = 70 * 365 + 17 = 25567. */
	CHECK_INT(ns_date_from_civil(1900, 1, 1), -25567);
	ns_date_to_civil(-25567, &y, &m, &d);
	CHECK(y == 1900 && m == 1 && d == 1);
	ns_date_to_civil(10957 + 31 + 28, &y, &m, &d);
	CHECK(y == 2000 && m == 2 && d == 29);
	/* to_civil inverts from_civil for every day of 1899-12-01 .. 2200-01-31. */
	int bad = 0;
	for (int32_t z = ns_date_from_civil(1899, 12, 1); z <= ns_date_from_civil(2200, 1, 31); z++) {
		ns_date_to_civil(z, &y, &m, &d);
		if (ns_date_from_civil(y, m, d) != z)
			bad++;
	}
	CHECK_INT(bad, 0);
}

static void test_date_parse_format_roundtrip(void)
{
	const char *good[] = { "1900-01-01", "1970-01-01", "1999-12-31", "2000-02-29", "2024-02-29",
			       "2024-12-31", "2100-02-28", "2199-12-31" };
	char out[11];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		fmt(out, day(good[i]));
		CHECK_STR(out, good[i]);
	}
	/* Every day in a leap year and a common one round-trips through text. */
	int bad = 0;
	for (int32_t z = day("2023-01-01"); z <= day("2024-12-31"); z++) {
		int32_t back;
		fmt(out, z);
		if (ns_date_parse(out, &back) != 0 || back != z)
			bad++;
	}
	CHECK_INT(bad, 0);
	/* format writes exactly 10 characters and a NUL. */
	memset(out, '#', sizeof(out));
	fmt(out, 0);
	CHECK_STR(out, "1970-01-01");
}

static void test_date_invalid(void)
{
	const char *bad[] = {
		"2023-02-29", /* 2023 is not a leap year */
		"1900-02-29", /* divisible by 100, not by 400 */
		"2100-02-29",
		"2024-02-30",
		"2024-04-31", /* April has 30 days */
		"2024-06-31", "2024-09-31", "2024-11-31",
		"2024-00-10", "2024-13-01", "2024-01-00", "2024-01-32",
		"1899-12-31", /* before the range */
		"2200-01-01", /* after it */
		"2024-1-01", "2024/01/01", "2024-01-1 ", " 2024-01-01", "2024-01-01T00:00:00Z",
		"20240101", "2024-0a-01", "+024-01-01", "-024-01-01", "", "2024-01-0\x80",
	};
	int32_t d = 12345;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = ns_date_parse(bad[i], &d);
		if (rc != NS_EINVAL)
			fprintf(stderr, "'%s' gave %d\n", bad[i], rc);
		CHECK_INT(rc, NS_EINVAL);
	}
	CHECK_INT(ns_date_parse(NULL, &d), NS_EINVAL);
	/* A refused date leaves the output alone. */
	CHECK_INT(d, 12345);
}

static void test_date_leap_years(void)
{
	int32_t d;

	/* 2000: divisible by 400, leap. 1900: by 100 only, not. 2024: by 4, leap. 2023: not. */
	CHECK_INT(ns_date_parse("2000-02-29", &d), 0);
	CHECK_INT(ns_date_parse("1900-02-29", &d), NS_EINVAL);
	CHECK_INT(ns_date_parse("2024-02-29", &d), 0);
	CHECK_INT(ns_date_parse("2023-02-29", &d), NS_EINVAL);
	/* Year lengths: 1 Jan to 1 Jan. */
	CHECK_INT(day("2001-01-01") - day("2000-01-01"), 366);
	CHECK_INT(day("1901-01-01") - day("1900-01-01"), 365);
	CHECK_INT(day("2025-01-01") - day("2024-01-01"), 366);
	CHECK_INT(day("2024-01-01") - day("2023-01-01"), 365);
	/* 400 years of the Gregorian cycle: 146097 days. */
	CHECK_INT(ns_date_from_civil(2400, 1, 1) - ns_date_from_civil(2000, 1, 1), 146097);
}

/* ns_date_add(days, years, months, ndays) as a string, for readable checks. */
static const char *add(const char *from, int years, int months, int ndays)
{
	static char out[11];
	fmt(out, ns_date_add(day(from), years, months, ndays));
	return out;
}

static void test_date_add(void)
{
	/* Plain days, across month and year ends. */
	CHECK_STR(add("2024-01-01", 0, 0, 0), "2024-01-01");
	CHECK_STR(add("2024-01-31", 0, 0, 1), "2024-02-01");
	CHECK_STR(add("2024-02-28", 0, 0, 1), "2024-02-29"); /* leap year */
	CHECK_STR(add("2023-02-28", 0, 0, 1), "2023-03-01");
	CHECK_STR(add("2024-12-31", 0, 0, 1), "2025-01-01");
	CHECK_STR(add("2024-03-01", 0, 0, -1), "2024-02-29");
	/* 2024-01-01 + 365 days = 2024-12-31 (2024 has 366 days). */
	CHECK_STR(add("2024-01-01", 0, 0, 365), "2024-12-31");

	/* Months: the day clamps to the end of a shorter month. */
	CHECK_STR(add("2024-01-31", 0, 1, 0), "2024-02-29"); /* leap February */
	CHECK_STR(add("2023-01-31", 0, 1, 0), "2023-02-28");
	CHECK_STR(add("2024-03-31", 0, 1, 0), "2024-04-30");
	CHECK_STR(add("2024-01-30", 0, 1, 0), "2024-02-29");
	CHECK_STR(add("2024-01-15", 0, 1, 0), "2024-02-15"); /* no clamp needed */
	/* Clamping is per call: Jan 31 + 1 month = Feb 29, + 1 more month = Mar 29 (not 31). */
	CHECK_STR(add(add("2024-01-31", 0, 1, 0), 0, 1, 0), "2024-03-29");
	/* ... but Jan 31 + 2 months in one call = Mar 31. */
	CHECK_STR(add("2024-01-31", 0, 2, 0), "2024-03-31");
	/* Across the year: Nov 30 + 3 months = Feb 30 -> clamped to Feb 28 2025. */
	CHECK_STR(add("2024-11-30", 0, 3, 0), "2025-02-28");
	CHECK_STR(add("2024-12-15", 0, 1, 0), "2025-01-15");
	CHECK_STR(add("2024-01-15", 0, 12, 0), "2025-01-15");
	CHECK_STR(add("2024-01-15", 0, 25, 0), "2026-02-15");
	/* Negative months: Mar 31 - 1 month = Feb 31 -> Feb 29 (2024). */
	CHECK_STR(add("2024-03-31", 0, -1, 0), "2024-02-29");
	CHECK_STR(add("2024-01-15", 0, -1, 0), "2023-12-15");
	CHECK_STR(add("2024-01-15", 0, -13, 0), "2022-12-15");

	/* Years: Feb 29 + 1 year = Feb 29 2025 -> clamped to Feb 28; + 4 years stays Feb 29. */
	CHECK_STR(add("2024-02-29", 1, 0, 0), "2025-02-28");
	CHECK_STR(add("2024-02-29", 4, 0, 0), "2028-02-29");
	CHECK_STR(add("2024-02-29", -1, 0, 0), "2023-02-28");
	/* 2096-02-29 + 4 years: 2100 is not leap -> 2100-02-28. */
	CHECK_STR(add("2096-02-29", 4, 0, 0), "2100-02-28");
	/* 1996-02-29 + 4 years: 2000 is leap -> stays 2000-02-29. */
	CHECK_STR(add("1996-02-29", 4, 0, 0), "2000-02-29");

	/*
	 * Years and months are added together first, then the day clamped once,
	 * then days added: 2023-01-31 + 1y 1m = 2024-02-31 -> 2024-02-29, - 1 day
	 * = 2024-02-28. A 2-year term less a day from 2024-01-01 ends 2025-12-31.
	 */
	CHECK_STR(add("2023-01-31", 1, 1, -1), "2024-02-28");
	CHECK_STR(add("2024-01-01", 2, 0, -1), "2025-12-31");
	/* Years and months as months: 1 year 6 months == 18 months. */
	CHECK_INT(ns_date_add(day("2024-08-31"), 1, 6, 0), ns_date_add(day("2024-08-31"), 0, 18, 0));
	CHECK_STR(add("2024-08-31", 1, 6, 0), "2026-02-28");
}

/*
 * Arena.
 */

static void test_arena_many_small(void)
{
	ns__arena a = NS__ARENA_INIT;
	enum { N = 20000 };
	unsigned char **p = malloc(N * sizeof(*p));
	int misaligned = 0, clobbered = 0;

	/* Sizes 1..97: each block aligned for any type, and each keeps its own bytes. */
	for (int i = 0; i < N; i++) {
		size_t n = (size_t)(i % 97) + 1;
		p[i] = ns__arena_alloc(&a, n);
		CHECK(p[i] != NULL);
		if (p[i] == NULL)
			break;
		if ((uintptr_t)p[i] % _Alignof(max_align_t) != 0)
			misaligned++;
		memset(p[i], i & 0xff, n);
	}
	for (int i = 0; i < N && p[i]; i++) {
		size_t n = (size_t)(i % 97) + 1;
		for (size_t k = 0; k < n; k++)
			if (p[i][k] != (unsigned char)(i & 0xff))
				clobbered++;
	}
	CHECK_INT(misaligned, 0);
	CHECK_INT(clobbered, 0);
	/* More than one chunk was needed: (N * ~64 bytes) > 16 KiB. */
	CHECK(a.head != NULL);
	ns__arena_free(&a);
	CHECK(a.head == NULL);
	free(p);
}

static void test_arena_alignment_and_zero(void)
{
	ns__arena a = NS__ARENA_INIT;
	char *x = ns__arena_alloc(&a, 1), *y = ns__arena_alloc(&a, 1);
	long double *ld = ns__arena_alloc(&a, sizeof(long double) * 3);
	void *z = ns__arena_alloc(&a, 0), *w = ns__arena_alloc(&a, 8);

	CHECK(x != NULL && y != NULL && ld != NULL && w != NULL);
	/* One byte still takes a whole aligned slot: the next block is at least that far on. */
	CHECK((size_t)(y - x) >= _Alignof(max_align_t) || (size_t)(x - y) >= _Alignof(max_align_t));
	CHECK((uintptr_t)ld % _Alignof(long double) == 0);
	ld[0] = 1.5L;
	ld[2] = 2.5L;
	CHECK(ld[0] + ld[2] == 4.0L);
	/* A zero-byte request does not fail and does not overlap what follows it. */
	(void)z;
	CHECK((uintptr_t)w % _Alignof(max_align_t) == 0);
	ns__arena_free(&a);
}

static void test_arena_large(void)
{
	ns__arena a = NS__ARENA_INIT;
	unsigned char *small = ns__arena_alloc(&a, 100);
	size_t big = (size_t)3 << 20; /* larger than the biggest ordinary chunk (1 MiB) */
	unsigned char *b = ns__arena_alloc(&a, big);
	unsigned char *after = ns__arena_alloc(&a, 100);

	CHECK(small != NULL && b != NULL && after != NULL);
	if (small && b && after) {
		memset(small, 0x11, 100);
		memset(b, 0x22, big);
		memset(after, 0x33, 100);
		CHECK(b[0] == 0x22 && b[big - 1] == 0x22);
		CHECK(small[0] == 0x11 && small[99] == 0x11);
		CHECK(after[0] == 0x33 && after[99] == 0x33);
		CHECK((uintptr_t)b % _Alignof(max_align_t) == 0);
	}
	/* An impossible size fails cleanly instead of wrapping around. */
	CHECK(ns__arena_alloc(&a, SIZE_MAX) == NULL);
	CHECK(ns__arena_alloc(&a, SIZE_MAX - 8) == NULL);
	ns__arena_free(&a);
}

static void test_arena_reuse(void)
{
	ns__arena a = NS__ARENA_INIT;

	/* Free on an empty arena is a no-op; the arena is reusable after every free (ASan checks leaks). */
	ns__arena_free(&a);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 5000; i++) {
			int *v = ns__arena_alloc(&a, sizeof(int) * 8);
			CHECK(v != NULL);
			if (v == NULL)
				break;
			v[0] = i;
			v[7] = round;
		}
		CHECK(a.head != NULL);
		ns__arena_free(&a);
		CHECK(a.head == NULL);
		CHECK_INT(a.chunk, 0);
	}
}

/*
 * util.h
 */

static void test_varint_read(void)
{
	struct {
		const char *bytes;
		size_t len;
		uint64_t value;
	} ok[] = {
		{ "\x00", 1, 0 },
		{ "\x01", 1, 1 },
		{ "\x7f", 1, 127 },
		{ "\x80\x01", 2, 128 },
		{ "\xac\x02", 2, 300 },
		{ "\xff\xff\x03", 3, 65535 },
		{ "\xff\xff\xff\xff\x0f", 5, 0xffffffffu },
		{ "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10, UINT64_MAX },
		/* A redundant (non-minimal) encoding of 1 is still read as 1. */
		{ "\x81\x80\x00", 3, 1 },
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		size_t pos = 0;
		uint64_t v = 99;
		CHECK_INT(ns__varint_read((const uint8_t *)ok[i].bytes, ok[i].len, &pos, &v), 0);
		CHECK(v == ok[i].value);
		CHECK_INT(pos, ok[i].len);
	}

	/* Two in a row, read from the middle of a buffer. */
	const uint8_t two[] = { 'E', 0x96, 0x01, 0x05, 'T' };
	size_t pos = 1;
	uint64_t v;
	CHECK_INT(ns__varint_read(two, sizeof(two), &pos, &v), 0);
	CHECK_INT(v, 150);
	CHECK_INT(pos, 3);
	CHECK_INT(ns__varint_read(two, sizeof(two), &pos, &v), 0);
	CHECK_INT(v, 5);
	CHECK_INT(pos, 4);

	/* Truncated: the continuation bit set on the last byte, or nothing at all. */
	const uint8_t trunc[] = { 0x80, 0x80 };
	pos = 0;
	CHECK_INT(ns__varint_read(trunc, sizeof(trunc), &pos, &v), -1);
	pos = 0;
	CHECK_INT(ns__varint_read(trunc, 0, &pos, &v), -1);
	pos = 2;
	CHECK_INT(ns__varint_read(trunc, sizeof(trunc), &pos, &v), -1);
	/* Longer than 10 bytes. */
	const uint8_t eleven[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 };
	pos = 0;
	CHECK_INT(ns__varint_read(eleven, sizeof(eleven), &pos, &v), -1);
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	CHECK_INT(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void test_read_file(void)
{
	char path[300], *buf = (char *)1;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/f", tmproot);
	write_file(path, "abc\0def", 7);
	CHECK_INT(ns__read_file(path, 7, &buf, &len), 0);
	CHECK_INT(len, 7);
	CHECK(buf != NULL && memcmp(buf, "abc\0def", 7) == 0 && buf[7] == '\0');
	free(buf);

	/* One byte over the limit is refused and nothing is returned. */
	buf = (char *)1;
	CHECK_INT(ns__read_file(path, 6, &buf, &len), NS_EINVAL);
	CHECK(buf == NULL);

	/* An empty file is an empty, terminated string. */
	write_file(path, "", 0);
	CHECK_INT(ns__read_file(path, 0, &buf, &len), 0);
	CHECK_INT(len, 0);
	CHECK(buf != NULL && buf[0] == '\0');
	free(buf);

	/* Missing file: NS_EIO with errno saying why. */
	snprintf(path, sizeof(path), "%s/missing", tmproot);
	errno = 0;
	CHECK_INT(ns__read_file(path, 100, &buf, &len), NS_EIO);
	CHECK_INT(errno, ENOENT);
	CHECK(buf == NULL);

	/* A directory is refused (NS_EIO or NS_EINVAL, depending on what the filesystem reports for its size). */
	CHECK_INT(ns__read_file(tmproot, 1 << 20, &buf, &len) < 0, 1);
	CHECK(buf == NULL);
}

int main(void)
{
	if (mkdtemp(tmproot) == NULL)
		return 1;
	RUN(test_strerror_distinct);
	RUN(test_strerror_unknown);
	RUN(test_diag_set);
	RUN(test_diag_truncation);
	RUN(test_date_epoch_and_civil);
	RUN(test_date_parse_format_roundtrip);
	RUN(test_date_invalid);
	RUN(test_date_leap_years);
	RUN(test_date_add);
	RUN(test_arena_many_small);
	RUN(test_arena_alignment_and_zero);
	RUN(test_arena_large);
	RUN(test_arena_reuse);
	RUN(test_varint_read);
	RUN(test_read_file);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmproot);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmproot);
	return TEST_SUMMARY();
}
