/*
 * Helpers shared by the files of the validate module (not public).
 */
#ifndef NS_VALIDATE_INTERNAL_H
#define NS_VALIDATE_INTERNAL_H

#include <stddef.h>

/* 1 if c is an ASCII digit. */
int ns__digit(char c);

/* 1 if s has min..max characters, each a capital, a digit or in extra (may be NULL). */
int ns__code_chars(const char *s, size_t min, size_t max, const char *extra);

#endif /* NS_VALIDATE_INTERNAL_H */
