/*
 * Calendar arithmetic. Conversions use the days-from-civil algorithm
 * (Howard Hinnant), exact for the proleptic Gregorian calendar.
 */
#include <nomsync/date.h>
#include <nomsync/error.h>

#include <stdio.h>
#include <string.h>

int32_t ns_date_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	const int era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153u * (unsigned)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (unsigned)d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int)doe - 719468;
}

void ns_date_to_civil(int32_t z, int *y, int *m, int *d)
{
	z += 719468;
	const int era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const int yy = (int)yoe + era * 400;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yy + (*m <= 2);
}

static int ns__month_days(int y, int m)
{
	static const int len[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return len[m - 1];
}

int ns_date_parse(const char *s, int32_t *days)
{
	int y, m, d;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return NS_EINVAL;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return NS_EINVAL;
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1 || d > ns__month_days(y, m))
		return NS_EINVAL;
	*days = ns_date_from_civil(y, m, d);
	return 0;
}

void ns_date_format(char out[11], int32_t days)
{
	int y, m, d;

	char tmp[48];

	ns_date_to_civil(days, &y, &m, &d);
	if (y >= 0 && m >= 1 && m <= 12 && d >= 1 && d <= 31) {
		/* What the snprintf below writes, without it (a fold formats many dates). */
		y %= 10000;
		out[0] = (char)('0' + y / 1000);
		out[1] = (char)('0' + y / 100 % 10);
		out[2] = (char)('0' + y / 10 % 10);
		out[3] = (char)('0' + y % 10);
		out[4] = out[7] = '-';
		out[5] = (char)('0' + m / 10);
		out[6] = (char)('0' + m % 10);
		out[8] = (char)('0' + d / 10);
		out[9] = (char)('0' + d % 10);
		out[10] = '\0';
		return;
	}
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d", y % 10000, m, d);
	memcpy(out, tmp, 10);
	out[10] = '\0';
}

int32_t ns_date_add(int32_t days, int years, int months, int ndays)
{
	int y, m, d;
	long total;

	ns_date_to_civil(days, &y, &m, &d);
	total = (long)y * 12 + (m - 1) + (long)years * 12 + months;
	y = (int)(total / 12);
	m = (int)(total % 12) + 1;
	if (d > ns__month_days(y, m))
		d = ns__month_days(y, m);
	return ns_date_from_civil(y, m, d) + ndays;
}
