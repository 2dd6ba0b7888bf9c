/*
 * Validation of identifiers, reference codes and event payloads.
 *
 * Everything an origin signs is checked here before it is appended, and
 * again (role and payload rules) when it is ingested from another site.
 * Rules come from ../shared/domain/REFERENCE.md: NOMS and CRN formats, the
 * PNC and CRO mod-23 check letters, prison codes from establishments.csv,
 * probation regions and PDUs from the probation CSVs (compiled in), ISO
 * dates, closed lists of domain values, and which role may emit which event
 * type (section 6, "Emitter").
 *
 * Each failing check returns NS_EVALID (or NS_EROLE for the role rule) and
 * fills the ns_diag with the field name and the rule broken.
 */
#ifndef NOMSYNC_VALIDATE_H
#define NOMSYNC_VALIDATE_H

#include <nomsync/event.h>
#include <nomsync/ident.h> /* ns_is_noms, ns_is_crn, ns_is_pnc, ns_is_cro */

#ifdef __cplusplus
extern "C" {
#endif

/** @brief 1 if @p code is an establishment code in establishments.csv. */
int ns_is_prison(const char *code);
/** @brief Establishment name for @p code, or NULL. */
const char *ns_prison_name(const char *code);
/** @brief 1 if @p code is a probation region code (N03, N07, N50-N59). */
int ns_is_region(const char *code);
/** @brief Region name for @p code, or NULL. */
const char *ns_region_name(const char *code);
/** @brief 1 if @p code is a PDU code; if @p region is non-NULL it must be the PDU's region. */
int ns_is_pdu(const char *code, const char *region);

/** @brief Number of establishments compiled in, and the code at index i (for demos and tests). */
size_t ns_prison_count(void);
const char *ns_prison_code(size_t i);

/** The reference tables compiled in from src/validate/data. */
typedef enum ns_ref_table {
	NS_REF_PRISONS, /**< establishments.csv */
	NS_REF_REGIONS, /**< probation_regions.csv */
	NS_REF_PDUS     /**< probation_pdus.csv */
} ns_ref_table;

/** One row of a reference table. */
typedef struct ns_ref_entry {
	const char *code;   /**< "MDI", "N55", "N55DNR" */
	const char *name;   /**< "Moorland (HMP & YOI)" */
	const char *region; /**< a PDU's region code; NULL in the other tables */
} ns_ref_entry;

/** @brief Number of rows of reference table @p t. */
size_t ns_ref_count(ns_ref_table t);
/**
 * @brief Row @p i of reference table @p t, in the CSV's order.
 * @return the row (static data), or NULL when @p i is past the end
 */
const ns_ref_entry *ns_ref_at(ns_ref_table t, size_t i);

/**
 * @brief Is @p site a well-formed code for a site of @p role?
 * prison: an establishment code; probation: a region code; court: 2-8
 * capitals and digits; hub: 2-15 capitals, digits, '-' or '_'.
 * @return 0 or NS_EVALID with the rule in @p d
 */
int ns_validate_site(ns_role role, const char *site, ns_diag *d);

/** @brief 1 if a site of @p role may sign events of @p type. */
int ns_role_may_emit(ns_role role, uint32_t type);

/**
 * @brief Validate an event's content: offender reference, type against the
 * role rule, and every payload field (required fields present, dates, codes,
 * closed lists, identifier check letters), by the rules of the event
 * catalogue (include/nomsync/catalogue.h), stopping at the first that fails.
 *
 * @param[in] role the origin's role
 * @param[in] offender NOMS number or CRN
 * @param[in] type the event type
 * @param[in] p the payload; NULL (erased) skips payload checks
 * @return 0, NS_EROLE or NS_EVALID (with field and rule in @p d)
 */
int ns_validate_event(ns_role role, const char *offender, uint32_t type, const Nomsync__Payload *p,
		      ns_diag *d);

#ifdef __cplusplus
}
#endif
#endif /* NOMSYNC_VALIDATE_H */
