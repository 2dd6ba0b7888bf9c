/*
 * The fold: events of one person -> the C-NOMIS-style offender view.
 *
 * ns_fold is a pure function. It sorts its input into the total order
 * (occurred_at, origin key, seq), so the same set of events in any arrival
 * order gives a byte-identical view. The view is canonical JSON (jansson,
 * compact, keys sorted); its fields are listed in docs/ARCHITECTURE.md.
 *
 * Inconsistent facts (two receptions with no release between, a release
 * while not in custody, a sentence imposed twice with different terms,
 * two different NOMS numbers, ...) are listed under "conflicts", each with
 * its rule name and the ids of the events involved. The fold never drops
 * such an event silently.
 */
#ifndef NOMSYNC_FOLD_H
#define NOMSYNC_FOLD_H

#include <nomsync/event.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Version of the fold's rules. Bump it in a release that changes what
 * ns_fold makes of the same events: a store whose views were folded by
 * another version marks every person for a re-fold at its first writable
 * open (ns_store_open).
 */
#define NS_FOLD_VERSION 1

/** A few view fields that the store indexes for caseload lists. */
typedef struct ns_fold_summary {
	char noms[NS_REF_MAX];    /**< "" if none */
	char crn[NS_REF_MAX];     /**< "" if none */
	char prison[NS_SITE_MAX]; /**< current establishment, "" if not in custody */
	char region[NS_SITE_MAX]; /**< community offender manager's region, "" if none */
	char surname[64];         /**< upper-cased, "" if unknown */
	int conflicts;            /**< number of open conflicts */
} ns_fold_summary;

/**
 * @brief Fold a person's events into the view.
 *
 * @param[in] evs the events (any order; the array itself is not modified)
 * @param[in] n number of events
 * @param[out] json malloc'd canonical JSON (NUL-terminated), caller frees
 * @param[out] len its length, may be NULL
 * @param[out] sum optional summary for indexes
 * @return 0 or NS_ENOMEM
 */
int ns_fold(ns_event *const *evs, size_t n, char **json, size_t *len, ns_fold_summary *sum);

/**
 * Release dates of one standard determinate sentence.
 * All dates are day numbers (nomsync/date.h), NS_DATE_NONE where absent.
 */
typedef struct ns_release_dates {
	int32_t length_days; /**< L: sentence date to sentence date + term */
	int32_t crd, sled;   /**< conditional release, sentence and licence expiry */
	int32_t ard, sed;    /**< automatic release and sentence expiry (no licence) */
	int32_t tused;       /**< top-up supervision expiry (under 2 years) */
} ns_release_dates;

/** Adjustments in days that move release dates. */
typedef struct ns_adjustments {
	int remand, tagged_bail, ual, ada, rada;
} ns_adjustments;

/**
 * @brief Release dates for a determinate sentence (REFERENCE.md section 5).
 *
 * L = days from the sentence date to the sentence date plus the term;
 * unadjusted release = date + ceil(L x m) - 1 with m = 1/2 (SDS), 2/3
 * (SDS_PLUS) or 2/5 (SDS40); expiry = date + L - 1. CRD = release - (remand
 * + tagged bail) + UAL + ADA - RADA; SLED = expiry - (remand + tagged bail) +
 * UAL. A sentence of one day or less, or under 12 months for an offence
 * before 2015-02-01, gets ARD + SED instead. TUSED = release + 12 months for
 * licence sentences under 2 years.
 *
 * @param[in] type "SDS", "SDS_PLUS" or "SDS40"
 * @param[in] offence_date day number or NS_DATE_NONE
 * @return 0, or NS_EINVAL for a type with no automatic calculation
 */
int ns_release_dates_calc(const char *type, int32_t sentence_date, int years, int months, int days,
			  int32_t offence_date, const ns_adjustments *adj, ns_release_dates *out);

#ifdef __cplusplus
}
#endif
#endif /* NOMSYNC_FOLD_H */
