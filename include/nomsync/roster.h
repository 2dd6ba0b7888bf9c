/*
 * The roster: which sites exist, their role, region and Ed25519 key.
 *
 * A roster file is plain text, one site a line, '#' starts a comment:
 *
 *   # site   role       region  ed25519 public key (64 hex)
 *   MDI      prison     N55     3b6a27bc...
 *   N55      probation  N55     9f2c...
 *   HUBNE    hub        -       0d1e...
 *
 * The daemon admits a ZeroMQ peer only if its CURVE key is the curve25519
 * form of a roster key (libsodium's ed25519-to-curve25519 conversion), and
 * ingests an event only if its origin key is in the roster with the same
 * site code and role as the event claims.
 */
#ifndef NOMSYNC_ROSTER_H
#define NOMSYNC_ROSTER_H

#include <nomsync/event.h>
#include <nomsync/store.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ns_roster_entry {
	char site[NS_SITE_MAX];
	ns_role role;
	char region[8];                 /**< probation region code, "" if none */
	uint8_t pk[NS_KEY_BYTES];       /**< Ed25519 */
	uint8_t curve_pk[NS_KEY_BYTES]; /**< curve25519 form, for CURVE */
	uint64_t revoked_from;          /**< 0, or events with seq >= this are refused */
} ns_roster_entry;

typedef struct ns_roster {
	ns_roster_entry *e; /**< owned */
	size_t n;
	int has_authority;                  /**< roster changes accepted from @p authority */
	uint8_t authority[NS_KEY_BYTES];
} ns_roster;

/** The line a signed roster file carries: "# nomsync-roster-signature HEX". */
#define NS_ROSTER_SIG_PREFIX "# nomsync-roster-signature "

/**
 * @brief Check a roster file's signature by the authority key: Ed25519 over
 * the file's bytes without the signature line.
 * @return 0, or NS_ECONFIG (unsigned, malformed or wrong signature)
 */
int ns_roster_check_signature(const char *text, size_t len, const uint8_t authority[NS_KEY_BYTES], ns_diag *d);

/**
 * @brief Sign roster text with the authority identity: the text without any
 * old signature line, then a new signature line. @param[out] out malloc'd.
 */
int ns_roster_sign(const char *text, size_t len, const ns_identity *authority, char **out, size_t *out_len);

/**
 * @brief Load a roster file, checking its signature when @p authority is
 * non-NULL (and remembering the authority for roster changes).
 */
int ns_roster_load_signed(const char *path, const uint8_t *authority, ns_roster *r, ns_diag *d);

/**
 * @brief Apply a roster change signed by the authority (roster.site.added,
 * roster.key.rotated, roster.key.revoked). The caller has verified the
 * event; events from any other origin are refused with NS_EUNKNOWN. A
 * change without its payload (stripped by a relay, or erased) is never
 * applied as if empty: NS_EAGAIN.
 * @return 0, NS_EUNKNOWN, NS_EVALID (e.g. rotating a key that is not listed),
 *         NS_EAGAIN (no payload)
 */
int ns_roster_apply(ns_roster *r, const ns_event *ev, ns_diag *d);

/** Called for a stored roster change that ns_roster_apply refused. */
typedef void (*ns_roster_warn_fn)(void *arg, const ns_event *ev, const ns_diag *d);

/**
 * @brief The roster in force at a node: the roster file (signature checked
 * when @p authority is non-NULL), then, with an authority, every roster
 * change signed by it that @p store holds, applied in seq order. A change
 * that cannot be applied is skipped and reported to @p warn (may be NULL).
 * A change held without its payload (incomplete) stops there: it and every
 * later change wait until its payload arrives (@p applied is the seq before it).
 *
 * @param[out] applied optional: the authority seq read up to (0 if none)
 * @return 0, or as ns_roster_load_signed, or a store error (in @p d)
 */
int ns_roster_load_store(const char *path, const uint8_t *authority, ns_store *store, ns_roster *out,
			 uint64_t *applied, ns_roster_warn_fn warn, void *warn_arg, ns_diag *d);

/**
 * @brief Make the revocations of roster @p r take effect on the events
 * @p store already holds: ns_store_revoke for every revoked key (a no-op for
 * one applied before).
 * @param[out] changed optional: keys whose revocation changed the store
 * @return 0 or a store error (in @p d)
 */
int ns_roster_enforce(const ns_roster *r, ns_store *store, size_t *changed, ns_diag *d);
/**
 * @brief Parse roster text. Every line is checked: site code valid for its
 * role, key well formed and a valid curve point, no site or key twice.
 * @return 0 or NS_ECONFIG with the line and problem in @p d
 */
int ns_roster_parse(const char *text, size_t len, ns_roster *r, ns_diag *d);
/** @brief Read and parse a roster file. */
int ns_roster_load(const char *path, ns_roster *r, ns_diag *d);
/** @brief Free a roster's entries. */
void ns_roster_free(ns_roster *r);

const ns_roster_entry *ns_roster_by_key(const ns_roster *r, const uint8_t pk[NS_KEY_BYTES]);
const ns_roster_entry *ns_roster_by_curve(const ns_roster *r, const uint8_t curve_pk[NS_KEY_BYTES]);
const ns_roster_entry *ns_roster_by_site(const ns_roster *r, const char *site);

/**
 * @brief Trust policy for ns_store_set_trust (arg is an ns_roster *):
 * NS_EUNKNOWN if the origin key is not in the roster, NS_EROLE if the event's
 * site or role differ from the roster's, NS_EREVOKED if the key was revoked
 * from a seq at or below the event's. Roster changes are accepted only from
 * the authority key.
 */
int ns_roster_trust(void *roster, const ns_event *ev);

/** @brief Curve25519 key pair derived from an Ed25519 identity (for CURVE). */
int ns_curve_keys(const ns_identity *id, uint8_t pk[NS_KEY_BYTES], uint8_t sk[NS_KEY_BYTES]);

#ifdef __cplusplus
}
#endif
#endif /* NOMSYNC_ROSTER_H */
