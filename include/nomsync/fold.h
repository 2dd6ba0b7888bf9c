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
#define NS_FOLD_VERSION 3

/** A few view fields that the store indexes for caseload lists. */
typedef struct ns_fold_summary {
	char noms[NS_REF_MAX];    /**< "" if none */
	char crn[NS_REF_MAX];     /**< "" if none */
	char prison[NS_SITE_MAX]; /**< current establishment, "" if not in custody */
	char region[NS_SITE_MAX]; /**< community offender manager's region, "" if none */
	char surname[64];         /**< upper-cased, "" if unknown */
	int conflicts;            /**< number of open conflicts */
	int restricted;           /**< 1 if a RESTRICTION or EXCLUSION list is in force (ns_access) */
} ns_fold_summary;

/** Most users one access list holds (access.restricted's users), and ns_access's capacity. */
#define NS_ACCESS_MAX_USERS 64

/**
 * Who may read a limited-access offender's record (docs/DOMAIN.md section
 * 9.3): the RESTRICTION and EXCLUSION lists in force, each the combination
 * of every list standing for the person (RESTRICTION lists intersected,
 * EXCLUSION lists joined). All zero when the record is unrestricted. If
 * the joined EXCLUSION lists hold more than NS_ACCESS_MAX_USERS users the
 * record is answered as restricted to nobody (restricted 1, nallow 0), never
 * with an exclusion cut short.
 */
typedef struct ns_access {
	int restricted;   /**< 1: a RESTRICTION list is in force: only its users may read */
	int excluded;     /**< 1: an EXCLUSION list is in force: its users may not read */
	size_t nallow;    /**< users in allow */
	size_t ndeny;     /**< users in deny */
	char allow[NS_ACCESS_MAX_USERS][128]; /**< the RESTRICTION users, sorted (strcmp) */
	char deny[NS_ACCESS_MAX_USERS][128];  /**< the EXCLUSION users, sorted (strcmp) */
} ns_access;

/**
 * @brief May @p user read the record whose access state is @p a: under a
 * RESTRICTION only a listed user, under an EXCLUSION anyone not listed
 * (both in force: listed under RESTRICTION and not under EXCLUSION).
 * Service principals (no user) are the caller's to decide.
 * @return 1 if allowed, 0 if not (also for a NULL or empty @p user on a
 *         restricted or excluded record)
 */
int ns_access_allows(const ns_access *a, const char *user);

/**
 * @brief ns_fold, also giving the access state of the person (docs/DOMAIN.md
 * section 9.3).
 * @param[out] access optional; all zero when the record is unrestricted
 * @return as ns_fold
 */
int ns_fold_access(ns_event *const *evs, size_t n, char **json, size_t *len, ns_fold_summary *sum,
		   ns_access *access);

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
 * Largest amount, in seconds, by which an event's occurred_at may be ahead
 * of the clock that records it (5 minutes). A local append refuses more
 * (NS_EVALID, field "occurred_at"); the fold lists an event whose
 * occurred_at is ahead of its own recorded_at by more under the conflict
 * FUTURE_DATED and does not apply it (docs/DOMAIN.md section 10).
 */
#define NS_CLOCK_SKEW_MAX 300

/**
 * Release dates of a determinate sentence or of a consecutive chain.
 * All dates are day numbers (nomsync/date.h), NS_DATE_NONE where absent.
 */
typedef struct ns_release_dates {
	int32_t length_days; /**< L: days from the first sentence date to the end of the chain */
	int32_t crd, sled;   /**< conditional release, sentence and licence expiry */
	int32_t ard, sed;    /**< automatic release and sentence expiry (no licence) */
	int32_t led;         /**< licence expiry before the sentence expiry (pre-2005 regime) */
	int32_t ped;         /**< parole eligibility (EDS) */
	int32_t hdced;       /**< home detention curfew eligibility */
	int32_t tused;       /**< top-up supervision expiry (under 2 years) */
} ns_release_dates;

/** Adjustments in days that move release dates. */
typedef struct ns_adjustments {
	int remand, tagged_bail, ual, ada, rada;
} ns_adjustments;

/** One sentence of a consecutive chain, first to last. */
typedef struct ns_sentence_part {
	const char *type;        /**< "SDS", "SDS_PLUS", "SDS40" or "EDS" */
	int32_t sentence_date;   /**< day number; the chain counts from the first part's */
	int years, months, days; /**< the term; for EDS the custodial term */
	int ext_years, ext_months, ext_days; /**< EDS extension period (licence), else 0 */
	int32_t offence_date;    /**< day number or NS_DATE_NONE (counts as on or after 2015-02-01) */
} ns_sentence_part;

/** Flag of ns_release_dates_chain: the person is a registered sex offender (no HDCED). */
#define NS_RD_SEX_OFFENDER 1u

/**
 * @brief Release dates of a chain of consecutive sentences (one part: a
 * single sentence), as calculate-release-dates-api does (docs/DOMAIN.md
 * section 7).
 *
 * Expiry: the terms (with EDS extension periods) added together and counted
 * from the first sentence date. Release: parts grouped by release
 * multiplier (SDS 1/2, SDS_PLUS 2/3, SDS40 2/5) in order of first appearance,
 * EDS parts last (multiplier 1, giving PED at 2/3 of their custodial days);
 * each group counts from the previous group's notional release + 1 and
 * contributes ceil(days x m). Adjustments apply once, to the aggregate:
 * release and PED - (remand + tagged bail) + UAL + ADA - RADA, expiry -
 * (remand + tagged bail) + UAL. Then ARD/SED, CRD/SLED or CRD/LED/SED by
 * length and regime, HDCED (42-day minimum custodial period, 14-day floor,
 * 28-day minimum, HDC365 from 2025-06-03; none with EDS or SDS_PLUS parts
 * or for a sex offender) and TUSED.
 *
 * @param[in] parts the chain, first sentence first
 * @param[in] n number of parts, 1 or more
 * @param[in] adj adjustments, may be NULL (none)
 * @param[in] flags NS_RD_SEX_OFFENDER or 0
 * @param[out] out the dates
 * @return 0, or NS_EINVAL for a type with no automatic calculation, a part
 *         with no date or a term out of range
 */
int ns_release_dates_chain(const ns_sentence_part *parts, size_t n, const ns_adjustments *adj,
			   unsigned flags, ns_release_dates *out);

/**
 * @brief Release dates of one sentence: ns_release_dates_chain with one part
 * (no extension period) and no flags.
 *
 * @param[in] type "SDS", "SDS_PLUS", "SDS40" or "EDS"
 * @param[in] offence_date day number or NS_DATE_NONE
 * @return 0, or NS_EINVAL for a type with no automatic calculation
 */
int ns_release_dates_calc(const char *type, int32_t sentence_date, int years, int months, int days,
			  int32_t offence_date, const ns_adjustments *adj, ns_release_dates *out);

/**
 * @brief Days of a term counted from @p start, as the Prison Service counts
 * a sentence (PSI 5.5, calculate-release-dates-api Duration.getLengthInDays):
 * the term ends the day before start + years + months (from the 1st of a
 * month, at the end of the last month), then + days; the length counts both
 * ends. So 1 month from 2021-01-31 is 29 days, from 2021-03-01 31 days.
 */
int32_t ns_term_days(int32_t start, int years, int months, int days);

/** @brief Is a day an England and Wales bank holiday (docs/DOMAIN.md section 7.5). */
int ns_bank_holiday(int32_t day);

/** @brief Is a day a working day: Monday to Friday and not a bank holiday. */
int ns_working_day(int32_t day);

/** @brief The day itself if it is a working day, else the previous working day. */
int32_t ns_working_day_before(int32_t day);

/** @brief The day itself if it is a working day, else the next working day. */
int32_t ns_working_day_after(int32_t day);

#ifdef __cplusplus
}
#endif
#endif /* NOMSYNC_FOLD_H */
