/*
 * nomsync authentication: who is behind a request (issue 12).
 *
 * People sign in with OAuth2 JWTs issued by the estate's identity service
 * (HMPPS Auth style): the user is the `user_name` claim (or `sub`), roles come
 * from the `authorities` array claim. A node trusts the public keys of a JSON
 * Web Key Set file ([auth] jwks); a token is accepted only when
 *
 *   - its header names a `kid` of a key in the set, and the key's own
 *     algorithm (RS256 for "RSA" keys, ES256 for "EC" P-256 keys, EdDSA for
 *     "OKP" Ed25519 keys) is the one used: the token's `alg` must equal it;
 *     `none` and every HS* are refused whatever the key (no algorithm
 *     confusion);
 *   - the signature verifies with that key (OpenSSL; base64url by libsodium;
 *     JSON by jansson: nothing hand-written);
 *   - `iss` equals [auth] issuer and `aud` (string or array) holds
 *     [auth] audience, when those are configured;
 *   - `exp` is present and now < exp + leeway; `nbf`, when present,
 *     now >= nbf - leeway.
 *
 * Roles map to rights on the API:
 *
 *   ROLE_NOMSYNC_VIEW     views, timelines, searches, caseloads, releases due
 *   ROLE_NOMSYNC_RECORD   POST /v1/events (the user is recorded in the event)
 *   ROLE_NOMSYNC_FIGURES  aggregate figures only, no personal data
 *   ROLE_NOMSYNC_AUDIT    the read audit
 *   ROLE_NOMSYNC_ADMIN    status and metrics
 *
 * The [http] token, when set, is a service credential for machine clients
 * with every role (ns_principal.service = 1, user "service").
 *
 * Thread safety: an ns_auth is read-only after ns_auth_open / ns_auth_parse;
 * ns_auth_verify may be called from any thread. Replace the whole object to
 * reload keys (SIGHUP).
 */
#ifndef NOMSYNC_AUTH_H
#define NOMSYNC_AUTH_H

#include <nomsync/error.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Role bits of ns_principal.roles. */
enum ns_user_role {
	NS_UROLE_VIEW = 1u << 0,    /**< ROLE_NOMSYNC_VIEW */
	NS_UROLE_RECORD = 1u << 1,  /**< ROLE_NOMSYNC_RECORD */
	NS_UROLE_FIGURES = 1u << 2, /**< ROLE_NOMSYNC_FIGURES */
	NS_UROLE_AUDIT = 1u << 3,   /**< ROLE_NOMSYNC_AUDIT */
	NS_UROLE_ADMIN = 1u << 4,   /**< ROLE_NOMSYNC_ADMIN */
	NS_UROLE_ALL = (1u << 5) - 1
};

#define NS_USER_MAX 128 /**< bytes of a user id, NUL included */

/** The person (or service) behind a request. */
typedef struct ns_principal {
	char user[NS_USER_MAX]; /**< user_name, else sub; "service" for the [http] token */
	char name[128];         /**< display name (the `name` claim), "" if none */
	unsigned roles;         /**< NS_UROLE_* bits; unknown authorities are ignored */
	int service;            /**< 1: authenticated by the [http] token */
	int64_t expires;        /**< exp, Unix seconds (0 for the service token) */
} ns_principal;

/** Trusted keys and the claims every token must carry. */
typedef struct ns_auth ns_auth;

/** Settings of the [auth] config section. */
typedef struct ns_auth_opts {
	const char *issuer;   /**< required `iss`, or NULL/"" for any */
	const char *audience; /**< required member of `aud`, or NULL/"" for any */
	unsigned leeway;      /**< seconds of clock skew allowed on exp and nbf (default 60) */
} ns_auth_opts;

/**
 * @brief Load a JSON Web Key Set from a file.
 * @param[out] out the key set; free with ns_auth_close
 * @param[in] jwks_path path of a JWKS file ({"keys": [...]})
 * @param[in] opts issuer, audience, leeway (copied)
 * @param[out] d why the file was refused (which key, which member)
 * @return 0, NS_EIO (unreadable), NS_ECONFIG (not a valid key set: a key
 *	without kid, of an unsupported kty/crv/alg, with bad parameters, or no
 *	key at all), NS_ENOMEM
 */
int ns_auth_open(ns_auth **out, const char *jwks_path, const ns_auth_opts *opts, ns_diag *d);

/** @brief As ns_auth_open, from JWKS text in memory (tests, fuzzing). */
int ns_auth_parse(ns_auth **out, const char *jwks, size_t len, const ns_auth_opts *opts, ns_diag *d);

/** @brief Free a key set (NULL is fine). */
void ns_auth_close(ns_auth *a);

/** @brief Number of keys in the set. */
size_t ns_auth_nkeys(const ns_auth *a);

/**
 * @brief Verify a compact JWT and read the principal from it.
 * @param[in] a trusted keys and required claims
 * @param[in] token the JWT (without "Bearer ")
 * @param[in] len its length
 * @param[in] now current Unix time, seconds
 * @param[out] p the user, name, roles and expiry (zeroed on failure)
 * @param[out] d on NS_EAUTH: d->field is the reason, one of "malformed",
 *	"alg_refused", "unknown_key", "bad_signature", "expired",
 *	"not_yet_valid", "wrong_issuer", "wrong_audience", "no_user";
 *	d->msg a sentence for the 401 response
 * @return 0, NS_EAUTH, NS_ENOMEM
 */
int ns_auth_verify(const ns_auth *a, const char *token, size_t len, int64_t now, ns_principal *p,
		   ns_diag *d);

/*
 * User roles are "uroles": event.h's ns_role_name() names a site's role
 * (prison, probation...), a different thing.
 */

/** @brief "ROLE_NOMSYNC_VIEW" etc. for one role bit; NULL for anything else. */
const char *ns_urole_name(unsigned role);

/** @brief The role bit for an authority string, 0 if it is not a nomsync role. */
unsigned ns_urole_from_name(const char *authority);

/*
 * Test tokens (`nomsync token`, the demo, the tests). A node never signs:
 * these read private keys from local PEM files.
 */

/**
 * @brief Generate a signing key and write it as a PKCS#8 PEM file (mode 0600).
 * @param[in] alg "RS256" (RSA 2048), "ES256" (P-256) or "EdDSA" (Ed25519)
 * @param[in] pem_path where to write; an existing file is never overwritten
 * @return 0, NS_EINVAL (unknown alg), NS_EIO (file exists or cannot be written)
 */
int ns_auth_keygen(const char *alg, const char *pem_path, ns_diag *d);

/**
 * @brief The JWKS text ({"keys": [...]}) of the public halves of PEM keys.
 * @param[in] pem_paths @p n PEM files, private or public keys (RSA >= 2048
 *	bits, P-256 or Ed25519)
 * @param[in] kids the kid of each key
 * @param[out] json the key set, NUL-terminated; free() it
 * @return 0, NS_EINVAL (bad kid), NS_EIO, NS_EKEY (not a usable key), NS_ENOMEM
 */
int ns_auth_jwks_of(const char *const *pem_paths, const char *const *kids, size_t n, char **json,
		    ns_diag *d);

/** Claims of a minted token. */
typedef struct ns_auth_claims {
	const char *user;     /**< user_name and sub (required) */
	const char *name;     /**< `name`, or NULL */
	unsigned roles;       /**< NS_UROLE_* bits, written as `authorities` */
	const char *issuer;   /**< `iss`, or NULL */
	const char *audience; /**< `aud`, or NULL */
	int64_t issued;       /**< `iat`, Unix seconds */
	int64_t expires;      /**< `exp`, Unix seconds */
	int64_t not_before;   /**< `nbf`, or 0 for none */
} ns_auth_claims;

/**
 * @brief Mint a JWT signed by a local private key.
 * @param[in] pem_path the private key (PEM)
 * @param[in] kid the `kid` of the header (as in the JWKS)
 * @param[in] alg NULL for the key's own algorithm, or a check that it is this one
 * @param[out] jwt the compact token; free() it
 * @return 0, NS_EINVAL (bad user, kid or alg), NS_EIO, NS_EKEY, NS_ENOMEM
 */
int ns_auth_mint(const char *pem_path, const char *kid, const char *alg, const ns_auth_claims *c,
		 char **jwt, ns_diag *d);

/**
 * @brief Sign a header and payload exactly as given (JSON text, not checked)
 *	with a local private key, in the key's algorithm: for tests that need
 *	odd tokens (wrong alg, no kid, no exp...).
 * @param[out] jwt the compact token; free() it
 * @return 0, NS_EIO, NS_EKEY, NS_ENOMEM
 */
int ns_auth_sign(const char *pem_path, const char *header, const char *payload, char **jwt,
		 ns_diag *d);

#ifdef __cplusplus
}
#endif
#endif /* NOMSYNC_AUTH_H */
