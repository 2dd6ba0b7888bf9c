/*
 * Calendar arithmetic for legal dates.
 *
 * Dates are whole days since 1970-01-01 (proleptic Gregorian, no time
 * zone), which is how sentence arithmetic counts: a sentence date plus a
 * term is a calendar operation, then days are added or taken away.
 */
#ifndef NOMSYNC_DATE_H
#define NOMSYNC_DATE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NS_DATE_NONE INT32_MIN /**< no date */

/** @brief Days since the epoch of a civil date. Month 1-12. */
int32_t ns_date_from_civil(int y, int m, int d);
/** @brief Civil date of a day number. */
void ns_date_to_civil(int32_t days, int *y, int *m, int *d);
/**
 * @brief Parse a strict "YYYY-MM-DD" (years 1900-2199, real calendar days).
 * @return 0 or NS_EINVAL
 */
int ns_date_parse(const char *s, int32_t *days);
/** @brief Format as "YYYY-MM-DD" into 11 bytes. */
void ns_date_format(char out[11], int32_t days);
/**
 * @brief Add years, months and days as a calendar does: months first (the
 * day clamped to the end of a shorter month, 31 Jan + 1 month = 28/29 Feb),
 * then days.
 */
int32_t ns_date_add(int32_t days, int years, int months, int ndays);

#ifdef __cplusplus
}
#endif
#endif /* NOMSYNC_DATE_H */
