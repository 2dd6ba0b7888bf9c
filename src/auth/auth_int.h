/* Internals of the auth module: the key set shared by jwks.c, jwt.c and mint.c. */
#ifndef NS_AUTH_INT_H
#define NS_AUTH_INT_H

#include <nomsync/auth.h>

#include <openssl/evp.h>

#define NS__KID_MAX 128         /* bytes of a kid, NUL included */
#define NS__JWKS_MAX_KEYS 64    /* keys in one set */
#define NS__JWKS_MAX (1u << 20) /* bytes of a JWKS file */
#define NS__JWT_MAX 8192        /* bytes of a compact JWT */

/* Signature algorithms a trusted key may have. */
enum ns__alg { NS__ALG_RS256 = 1, NS__ALG_ES256, NS__ALG_EDDSA };

typedef struct ns__key {
	char kid[NS__KID_MAX];
	enum ns__alg alg;
	EVP_PKEY *pk;
} ns__key;

struct ns_auth {
	ns__key *keys;
	size_t n;
	char *issuer;   /* NULL: any */
	char *audience; /* NULL: any */
	unsigned leeway;
};

/* "RS256", "ES256", "EdDSA" for a key's algorithm. */
const char *ns__alg_name(enum ns__alg alg);

/* The algorithm named @p name (JOSE spelling), 0 if not one nomsync verifies. */
enum ns__alg ns__alg_from_name(const char *name);

/*
 * Decode unpadded base64url text (libsodium) into a new buffer of *out_len
 * bytes (NUL-terminated for convenience). Returns 0, NS_EDECODE or NS_ENOMEM.
 */
int ns__b64url_decode(const char *text, size_t len, unsigned char **out, size_t *out_len);

/* Encode @p len bytes as unpadded base64url into a new NUL-terminated string. */
int ns__b64url_encode(const unsigned char *bin, size_t len, char **out);

#endif /* NS_AUTH_INT_H */
