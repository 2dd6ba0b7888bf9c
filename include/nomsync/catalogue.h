/*
 * The event catalogue: one table describing every event type.
 *
 * Each type has one row in src/event/catalogue.def (an X-macro file): its
 * name ("prisoner.received"), its human label ("Received into prison"), the
 * roles that may emit it, its fold handler, and then, in the order they are
 * checked, its rules: one field rule per payload field (what kind of value
 * the field holds, whether it is required, its closed list of values, ...)
 * and the cross-field checks between them. The type number is the
 * Nomsync__EventType value and the nomsync.Payload oneof case.
 *
 * Everything that needs to know the event types one by one reads this
 * table: the type names (ns_type_name, ns_type_parse), validation
 * (ns_validate_event interprets the rules), the JSON mapping, the CLI's
 * `nomsync catalogue`, GET /v1/catalogue, the web page's labels, nomsync-gen
 * and the fold's dispatch. tests/test_catalogue.c checks the table against
 * proto/event.proto: every type has a row and every payload field a rule.
 *
 * The table is static data: every pointer returned here is valid for the
 * life of the program and must not be freed.
 */
#ifndef NOMSYNC_CATALOGUE_H
#define NOMSYNC_CATALOGUE_H

#include <stddef.h>
#include <stdint.h>

#include <nomsync/event.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Role bits for ns_event_spec.roles: bit (1 << role) per role that may emit the type. */
#define NS_R_PRISON (1u << NS_ROLE_PRISON)
#define NS_R_PROBATION (1u << NS_ROLE_PROBATION)
#define NS_R_COURT (1u << NS_ROLE_COURT)
#define NS_R_HUB (1u << NS_ROLE_HUB)
#define NS_R_AUTHORITY (1u << NS_ROLE_AUTHORITY)

/** Rule flags (ns_rule.flags). */
#define NS_OPT 0x0u      /**< the field may be empty (proto3's absent value) */
#define NS_REQ 0x1u      /**< the field must be given; for a repeated field, every element */
#define NS_NONEMPTY 0x2u /**< a repeated field needs at least one element */

/**
 * Kinds of rule. Field rules say what a field holds; checks relate two
 * fields (or a field and the emitting role) and run where they stand in
 * the row order, after the rules of the fields they read.
 */
typedef enum ns_rule_kind {
	NS_RULE_NONE = 0,
	/* Field rules. An optional field that is empty passes all of them. */
	NS_RULE_TEXT,     /**< free text */
	NS_RULE_TOKEN,    /**< an id or reference: 1-64 printable characters, no spaces */
	NS_RULE_CODE,     /**< a domain code (alert, register, programme, offence): 1-16 capitals, digits or '_' */
	NS_RULE_DATE,     /**< YYYY-MM-DD, a real day in 1900-2199 */
	NS_RULE_PRISON,   /**< an establishment code (establishments.csv) */
	NS_RULE_COURT,    /**< a court code: 2-8 capitals and digits */
	NS_RULE_REGION,   /**< a probation region code (probation_regions.csv) */
	NS_RULE_PDU,      /**< a PDU code (probation_pdus.csv) of the region in field `other` */
	NS_RULE_ENUM,     /**< one of `values` */
	NS_RULE_IDENT,    /**< an identifier of the fixed type `value` (NOMS, CRN, PNC, CRO) */
	NS_RULE_IDENT_OF, /**< an identifier of the type named by field `other` */
	NS_RULE_INT,      /**< an integer, at least `min` */
	NS_RULE_BOOL,     /**< true or false */
	NS_RULE_EVENT_ID, /**< an event id: 64 lower-case hex characters */
	NS_RULE_KEY,      /**< an Ed25519 public key in 64 hex digits (empty is invalid) */
	NS_RULE_ROLE,     /**< a site role: prison, probation, court or hub (empty is invalid) */
	NS_RULE_SITE,     /**< a site code valid for the role in field `other` (ns_validate_site) */
	NS_RULE_MESSAGE,  /**< nested message(s), each checked by the rules of `sub` */
	NS_RULE_USER,     /**< a user id (ns_is_user_id): 1-127 printable ASCII characters, no spaces */
	/* Checks across fields. */
	NS_CHECK_NOT_BEFORE,     /**< date `field`, if given, is not before date `other` */
	NS_CHECK_NOT_AFTER,      /**< date `field`, if given, is not after date `other` */
	NS_CHECK_NOT_AFTER_OUTER, /**< as NOT_AFTER, `other` being a field of the enclosing message */
	NS_CHECK_DIFFER,         /**< `field`, if given, differs from `other` */
	NS_CHECK_TERM,           /**< unless `field` is `value`, one of the integer fields `values` is non-zero
				      (the error names the first of them) */
	NS_CHECK_ROLE_ONLY,      /**< a site of `role` may only put one of `values` in `field` */
	NS_CHECK_ONLY_FOR,       /**< `field`, if given (non-empty, non-zero, or with elements), only
				      when `other` is one of `values` */
	NS_CHECK_WHEN,           /**< when `other` is `value`, `field` is one of `values` */
	NS_CHECK_DISTINCT,       /**< the elements of repeated string `field` are distinct, at most
				      `max` of them */
} ns_rule_kind;

/** @brief 1 if @p kind is a cross-field check, 0 if a field rule. */
#define NS_RULE_IS_CHECK(kind) ((kind) >= NS_CHECK_NOT_BEFORE)


struct ns_message_spec;

/** One rule of a message: a field rule or a check (see ns_rule_kind). */
typedef struct ns_rule {
	ns_rule_kind kind;
	const char *field;          /**< the field, named as in proto/event.proto */
	const char *other;          /**< the other field a rule or check reads, or NULL */
	unsigned flags;             /**< NS_REQ, NS_NONEMPTY */
	const char *const *values;  /**< NULL-terminated list (ENUM, TERM, ROLE_ONLY, ONLY_FOR, WHEN),
					 or NULL */
	const char *value;          /**< IDENT: identifier type; TERM: the value needing no term;
					 WHEN: the value of `other` the check applies to */
	long long min;              /**< INT: smallest value; DISTINCT: most elements */
	ns_role role;               /**< ROLE_ONLY: the role restricted */
	const struct ns_message_spec *sub; /**< MESSAGE: the nested message's rules */
	const char *label;          /**< field rules: what the field is, for people */
	const char *msg;            /**< NULL, or a printf format with at most one %s (the field's
					 value) replacing the rule's usual message */
	const char *owner;          /**< the catalogue.def key the row names (checked by the tests) */
} ns_rule;

/** The rules of one message: an event payload or a nested message. */
typedef struct ns_message_spec {
	const char *key;     /**< the catalogue.def key: "PRISONER_RECEIVED", "OFFENCE" */
	const char *label;   /**< what one message is called */
	const ns_rule *rules; /**< in the order they are checked */
	size_t nrules;
} ns_message_spec;

/** One event type. */
typedef struct ns_event_spec {
	uint32_t type;             /**< Nomsync__EventType value = nomsync.Payload oneof case */
	const char *name;          /**< "prisoner.received" */
	const char *label;         /**< "Received into prison" */
	unsigned roles;            /**< NS_R_* bits of the roles that may emit it */
	ns_message_spec payload;   /**< the payload message's rules */
} ns_event_spec;

/**
 * @brief The spec of event type @p type, or NULL if this build does not know
 * it or NOMSYNC_CATALOGUE_HIDE hides it (see ns_type_hide_check).
 */
const ns_event_spec *ns_catalogue_type(uint32_t type);

/** @brief The spec of the type named @p name ("prisoner.received"), or NULL (unknown or hidden). */
const ns_event_spec *ns_catalogue_find(const char *name);

/** @brief Number of event types in the catalogue (hidden ones included, as in ns_catalogue_at). */
size_t ns_catalogue_count(void);

/**
 * @brief The i-th event type, in catalogue.def order (ascending type numbers).
 * @return the spec, or NULL when @p i >= ns_catalogue_count()
 */
const ns_event_spec *ns_catalogue_at(size_t i);

/**
 * @brief The field rule for @p field of message @p m.
 * @return the rule, or NULL if @p m has no field rule of that name
 */
const ns_rule *ns_catalogue_field(const ns_message_spec *m, const char *field);

/**
 * @brief Check that @p value is in the closed list of field @p field of
 * event type @p type, for programs that write events (nomsync-gen).
 * @return the catalogue's copy of @p value, or NULL if the field has no
 * such value (or is not an ENUM field)
 */
const char *ns_catalogue_value(uint32_t type, const char *field, const char *value);

/**
 * @brief The nomsync.Payload oneof field carrying event type @p type
 * (its descriptor gives the payload message), found by reflection.
 * @return the field, or NULL if @p type has no message field in Payload
 */
const ProtobufCFieldDescriptor *ns_catalogue_body(uint32_t type);

/**
 * @brief 1 if rule @p r can apply to protobuf field @p f: string kinds to
 * string fields, INT to integer fields, BOOL to bool, MESSAGE to message
 * fields; repeated fields only of strings or messages. Checks always fit.
 */
int ns_rule_fits(const ns_rule *r, const ProtobufCFieldDescriptor *f);

/**
 * @brief Lower-case name of a rule kind: "text", "token", "code", "date",
 * "prison", "court", "region", "pdu", "enum", "identifier",
 * "identifier_of", "integer", "bool", "event_id", "key", "role", "site",
 * "message", "user", "not_before", "not_after", "not_after_outer", "differ",
 * "term", "role_only", "only_for", "when", "distinct".
 * @return the name, or NULL for an unknown kind
 */
const char *ns_rule_kind_name(ns_rule_kind kind);

#ifdef __cplusplus
}
#endif
#endif /* NOMSYNC_CATALOGUE_H */
