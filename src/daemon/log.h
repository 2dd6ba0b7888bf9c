/*
 * Daemon logging: one line per event, "TIMESTAMP LEVEL message", to stderr
 * (journald adds nothing it needs). The macro checks the level before the
 * arguments are evaluated, as Redis's serverLog does.
 */
#ifndef NS_DAEMON_LOG_H
#define NS_DAEMON_LOG_H

#include <nomsync/config.h>

extern int ns_log_level;

void ns_log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ns_log(level, ...)                                                                         \
	do {                                                                                       \
		if ((level) >= ns_log_level)                                                       \
			ns_log_write((level), __VA_ARGS__);                                        \
	} while (0)

#endif /* NS_DAEMON_LOG_H */
