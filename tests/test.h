/*
 * A minimal test harness: TEST functions, CHECK macros that record the
 * failure and carry on, and a main() helper that prints "N passed, M failed".
 */
#ifndef NS_TEST_H
#define NS_TEST_H

#include <stdio.h>
#include <string.h>

static int ns_test_failed_checks;
static int ns_test_passed, ns_test_failed;

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			ns_test_failed_checks++;                                           \
		}                                                                          \
	} while (0)

#define CHECK_INT(a, b)                                                                    \
	do {                                                                               \
		long long ns_a_ = (long long)(a), ns_b_ = (long long)(b);                  \
		if (ns_a_ != ns_b_) {                                                      \
			fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", __FILE__,   \
				__LINE__, #a, ns_a_, #b, ns_b_);                           \
			ns_test_failed_checks++;                                           \
		}                                                                          \
	} while (0)

#define CHECK_STR(a, b)                                                                    \
	do {                                                                               \
		const char *ns_a_ = (a), *ns_b_ = (b);                                     \
		if (ns_a_ == NULL || ns_b_ == NULL || strcmp(ns_a_, ns_b_) != 0) {         \
			fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, \
				__LINE__, #a, ns_a_ ? ns_a_ : "(null)", ns_b_ ? ns_b_ : "(null)"); \
			ns_test_failed_checks++;                                           \
		}                                                                          \
	} while (0)

#define RUN(fn)                                                                            \
	do {                                                                               \
		int ns_before_ = ns_test_failed_checks;                                    \
		fn();                                                                      \
		if (ns_test_failed_checks == ns_before_) {                                 \
			ns_test_passed++;                                                  \
			printf("ok   %s\n", #fn);                                          \
		} else {                                                                   \
			ns_test_failed++;                                                  \
			printf("FAIL %s\n", #fn);                                          \
		}                                                                          \
	} while (0)

#define TEST_SUMMARY()                                                                     \
	(printf("%d passed, %d failed\n", ns_test_passed, ns_test_failed), ns_test_failed ? 1 : 0)

#endif /* NS_TEST_H */
