/*
 * nomsync events: codec, hashing and Ed25519 signatures.
 *
 * An event travels and is stored as the protobuf message nomsync.Event
 * (proto/event.proto): the exact signed header bytes, the signature, and the
 * payload bytes. The signature covers the header, and the header carries
 * the BLAKE2b-256 hash of the payload, so erasing a payload keeps the chain
 * verifiable. The event id is BLAKE2b-256 of the header bytes.
 *
 * This module is pure: no I/O except ns_identity_load/save, no globals
 * beyond libsodium's one-time initialisation.
 */
#ifndef NOMSYNC_EVENT_H
#define NOMSYNC_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include <nomsync/error.h>
#include "event.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NS_KEY_BYTES 32    /**< Ed25519 public key */
#define NS_SECRET_BYTES 64 /**< Ed25519 secret key (libsodium layout) */
#define NS_SIG_BYTES 64    /**< Ed25519 signature */
#define NS_ID_BYTES 32     /**< BLAKE2b-256 */
#define NS_REF_MAX 16      /**< offender reference (NOMS or CRN) + NUL */
#define NS_SITE_MAX 16     /**< site code + NUL */
#define NS_EVENT_VERSION 1
#define NS_EVENT_MAX_BYTES (64 * 1024) /**< largest event accepted */

/** Kind of site. Decides which event types a site may sign. */
typedef enum ns_role {
	NS_ROLE_NONE = 0,
	NS_ROLE_PRISON = 1,
	NS_ROLE_PROBATION = 2,
	NS_ROLE_COURT = 3,
	NS_ROLE_HUB = 4,
	NS_ROLE_AUTHORITY = 5 /**< the roster authority: signs roster changes only */
} ns_role;

/** Offender reference carried by roster events, which are about no person. */
#define NS_ROSTER_REF "ROSTER"

/** @brief "prison", "probation", "court", "hub", "authority"; NULL for NS_ROLE_NONE. */
const char *ns_role_name(ns_role role);
/** @brief Parse a role name. @return the role, or NS_ROLE_NONE. */
ns_role ns_role_parse(const char *name);
/** @brief 1 if @p site is a well-formed site code (1-15 of A-Z 0-9 _ -), whatever its role. */
int ns_site_code_ok(const char *site);

/** A site's signing identity. Owned by the caller; wipe with ns_identity_wipe. */
typedef struct ns_identity {
	char site[NS_SITE_MAX];      /**< site code, e.g. "MDI" */
	ns_role role;
	uint8_t pk[NS_KEY_BYTES];
	uint8_t sk[NS_SECRET_BYTES]; /**< private */
} ns_identity;

/**
 * @brief Initialise libsodium. Safe to call many times and from many threads.
 * @return 0 or NS_EINVAL if libsodium cannot start.
 */
int ns_crypto_init(void);

/** @brief Make a fresh key pair for @p site with @p role. */
int ns_identity_generate(ns_identity *id, const char *site, ns_role role);
/**
 * @brief Write the identity to @p path (mode 0600, written atomically).
 * File format: one line "nomsync-key 1 SITE ROLE SECRET_HEX".
 */
int ns_identity_save(const ns_identity *id, const char *path);
/** @brief Read an identity written by ns_identity_save. NS_EKEY if malformed. */
int ns_identity_load(ns_identity *id, const char *path, ns_diag *d);
/** @brief Zero the secret key. */
void ns_identity_wipe(ns_identity *id);

/**
 * Event type numbers from 1 up to (not including) this limit are well
 * formed: one this build does not know is an event of a newer release,
 * stored and relayed but not folded (see ns_event.type_unknown). A type of 0
 * or at or above the limit is malformed.
 */
#define NS_TYPE_LIMIT 65536

/*
 * Names of event types: taken from the event catalogue (the NS_EVENT rows of
 * src/event/catalogue.def, include/nomsync/catalogue.h), keyed by
 * Nomsync__EventType value.
 */
/**
 * @brief "prisoner.received" for NOMSYNC__EVENT_TYPE__PRISONER_RECEIVED;
 * NULL if this build does not know the type, or if the environment variable
 * NOMSYNC_CATALOGUE_HIDE lists it (see ns_type_hide_check).
 */
const char *ns_type_name(uint32_t type);
/** @brief Parse "prisoner.received"; returns 0 if unknown (or hidden). */
uint32_t ns_type_parse(const char *name);
/** @brief Highest event type number known to this build. */
uint32_t ns_type_max(void);

/**
 * @brief Check NOMSYNC_CATALOGUE_HIDE, a comma-separated list of type names
 * this process treats as unknown (to rehearse a rolling upgrade: a node
 * started with it behaves as a release without those types). The variable
 * is read once per process.
 * @return 0 (also when unset), or NS_EINVAL if it names a type this build
 *         does not have, with the name in @p d
 */
int ns_type_hide_check(ns_diag *d);

/** Longest user id (ns_is_user_id), in bytes, plus the NUL. */
#define NS_USER_MAX 128

/**
 * @brief 1 if @p s is a user id: 1 to NS_USER_MAX - 1 bytes, each a printable
 * ASCII character other than space (0x21-0x7e). The users of access.restricted
 * and an event's recorded_by are user ids.
 */
int ns_is_user_id(const char *s);

/**
 * A decoded event. Produced by ns_event_decode or ns_event_build and freed
 * with ns_event_free. Every field is read-only for the caller.
 */
typedef struct ns_event {
	uint8_t id[NS_ID_BYTES];          /**< BLAKE2b-256 of header bytes */
	uint8_t origin[NS_KEY_BYTES];
	uint64_t seq;
	uint8_t prev[NS_ID_BYTES];
	int64_t occurred_at;
	int64_t recorded_at;
	uint32_t type;                    /**< Nomsync__EventType, or a newer release's type */
	int type_unknown;                 /**< 1: a type this build does not know; payload not unpacked */
	char offender[NS_REF_MAX];
	char site[NS_SITE_MAX];
	ns_role role;
	/**
	 * The user who recorded the event through the API (EventHeader
	 * recorded_by, a user id), or "" for a site's own processes.
	 */
	char recorded_by[NS_USER_MAX];
	uint8_t payload_hash[NS_ID_BYTES];
	const uint8_t *header;            /**< signed bytes, inside raw */
	size_t header_len;
	const uint8_t *signature;         /**< NS_SIG_BYTES, inside raw */
	/**
	 * The decoded payload: NULL if erased, and also when type_unknown is 1
	 * (or decoded with #NS_DECODE_OPAQUE); tell those apart by payload_len.
	 */
	Nomsync__Payload *payload;
	const uint8_t *payload_bytes;     /**< payload as signed, inside raw; NULL if erased */
	size_t payload_len;               /**< 0 if erased */
	uint8_t *raw;                     /**< the stored encoding (owned) */
	size_t raw_len;
} ns_event;

/**
 * @brief Decode and structurally check an encoded event.
 *
 * Checks the framing, sizes of keys and hashes, version, seq >= 1, a type
 * in 1 .. NS_TYPE_LIMIT - 1, that a present payload hashes to payload_hash,
 * well-formed offender and site strings, a recorded_by that is empty or a
 * user id (ns_is_user_id), and, for a type this build knows,
 * that the payload decodes to the oneof case named by type. An event of a
 * type this build does not know (a newer release's) decodes with
 * type_unknown 1 and its payload left as bytes (payload_bytes), so that it
 * can be stored and relayed although it cannot be folded.
 * Does NOT check the signature (see ns_event_verify).
 *
 * @param[in] buf the encoded nomsync.Event; copied
 * @param[out] out the decoded event, to free with ns_event_free
 * @param[out] d optional detail
 * @return 0, NS_EDECODE, NS_EVERSION, NS_EHASH or NS_ENOMEM
 */
int ns_event_decode(const uint8_t *buf, size_t len, ns_event **out, ns_diag *d);

/** ns_event_decode_flags: skip the payload-hash check (see below). */
#define NS_DECODE_TRUSTED 0x1
/**
 * ns_event_decode_flags: do not unpack the payload; the event comes back as
 * one of an unknown type (type_unknown 1). For stored events whose payload
 * this build cannot read (the store's "rejected" events).
 */
#define NS_DECODE_OPAQUE 0x2

/**
 * @brief ns_event_decode with options.
 *
 * With #NS_DECODE_TRUSTED the BLAKE2b hash of the payload is not
 * recomputed and compared with payload_hash. Only for re-reading bytes that
 * passed a full decode before they were stored (the store's re-folds); all
 * other checks still apply, and ns_store_verify checks the hash anyway.
 *
 * @param[in] flags 0, #NS_DECODE_TRUSTED and/or #NS_DECODE_OPAQUE
 * @return as ns_event_decode; NS_EINVAL for an unknown flag
 */
int ns_event_decode_flags(const uint8_t *buf, size_t len, unsigned flags, ns_event **out, ns_diag *d);

/**
 * @brief Check the Ed25519 signature of a decoded event.
 * Thread-safe; touches only @p ev.
 * @return 0 or NS_ESIG
 */
int ns_event_verify(const ns_event *ev);

/**
 * @brief ns_event_build, naming the user who recorded the event.
 * @param[in] recorded_by NULL or "" for none, else a user id (ns_is_user_id),
 *   signed in the header's recorded_by
 * @return 0, NS_EINVAL (also for a @p recorded_by that is not a user id) or NS_ENOMEM
 */
int ns_event_build_by(const ns_identity *id, uint64_t seq, const uint8_t prev[NS_ID_BYTES],
		      int64_t occurred_at, int64_t recorded_at, const char *offender,
		      const char *recorded_by, const Nomsync__Payload *payload, ns_event **out);

/**
 * @brief Build, sign and encode an event.
 *
 * The payload must have its oneof case set; its case is the event type.
 *
 * @param[in] id the signing identity
 * @param[in] seq origin sequence (>= 1)
 * @param[in] prev id of the origin's previous event (all zeros for seq 1)
 * @param[in] occurred_at business time (Unix seconds)
 * @param[in] recorded_at append time (Unix seconds)
 * @param[in] offender NOMS number or CRN
 * @param[in] payload the payload message
 * @param[out] out the new event, to free with ns_event_free
 * @return 0, NS_EINVAL or NS_ENOMEM
 */
int ns_event_build(const ns_identity *id, uint64_t seq, const uint8_t prev[NS_ID_BYTES],
		   int64_t occurred_at, int64_t recorded_at, const char *offender,
		   const Nomsync__Payload *payload, ns_event **out);

/**
 * @brief ns_event_build_by without the signature: its 64 bytes are zero.
 *
 * The id (the hash of the header) does not cover the signature, so a run of
 * events can be built in order, each with the previous one's id as prev,
 * and signed afterwards (ns_event_sign) in any order or on several threads;
 * putting each signature in place of the zeros gives the bytes
 * ns_event_build makes (Ed25519 signatures are deterministic).
 *
 * @return as ns_event_build
 */
int ns_event_build_unsigned(const ns_identity *id, uint64_t seq, const uint8_t prev[NS_ID_BYTES],
			    int64_t occurred_at, int64_t recorded_at, const char *offender,
			    const char *recorded_by, const Nomsync__Payload *payload, ns_event **out);

/**
 * @brief The signature of an event built by ns_event_build_unsigned.
 * Thread-safe; reads @p ev and @p id only.
 * @param[in] ev the event; its origin must be @p id's key
 * @param[in] id the identity that built it
 * @param[out] sig its signature, which goes where ev's signature bytes are
 * @return 0 or NS_EINVAL
 */
int ns_event_sign(const ns_event *ev, const ns_identity *id, uint8_t sig[NS_SIG_BYTES]);

/**
 * @brief Encoding of @p ev with its payload removed (erased), still verifiable.
 * @param[out] out malloc'd bytes, caller frees
 */
int ns_event_encode_erased(const ns_event *ev, uint8_t **out, size_t *out_len);

/** @brief Free an event. NULL is allowed. */
void ns_event_free(ns_event *ev);

/** @brief BLAKE2b-256 of @p len bytes. */
void ns_hash(uint8_t out[NS_ID_BYTES], const void *buf, size_t len);

/** @brief Lower-case hex of @p len bytes into @p out (2*len+1 bytes). */
void ns_hex(char *out, const uint8_t *buf, size_t len);
/** @brief Parse exactly 2*len hex characters. @return 0 or NS_EINVAL. */
int ns_unhex(uint8_t *out, size_t len, const char *hex);

/** @brief Format Unix seconds as "YYYY-MM-DDTHH:MM:SSZ" (21 bytes). */
void ns_time_format(char out[21], int64_t t);
/** @brief Parse "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM)" or "YYYY-MM-DD". @return 0 or NS_EINVAL. */
int ns_time_parse(const char *s, int64_t *t);

#ifdef __cplusplus
}
#endif
#endif /* NOMSYNC_EVENT_H */
