/*
 * Daemon log lines: ISO-8601 UTC timestamp with milliseconds, level, text.
 */
#include "daemon/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

int ns_log_level = NS_LOG_INFO;

void ns_log_write(int level, const char *fmt, ...)
{
	static const char *const names[] = { "DEBUG", "INFO", "WARN", "ERROR" };
	char line[2048], ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;
	int n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ldZ %-5s ", ts, now.tv_nsec / 1000000,
		     names[level < 0 ? 0 : level > 3 ? 3 : level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}
