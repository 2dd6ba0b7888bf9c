/*
 * JSON Web Key Sets (RFC 7517, 7518, 8037): trusted public keys for JWT
 * verification. JSON by jansson, base64url by libsodium, keys by OpenSSL 3.
 */
#include "auth_int.h"

#include <nomsync/error.h>

#include <errno.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS__RSA_MIN_BITS 2048
#define NS__RSA_MAX_BITS 8192

const char *ns__alg_name(enum ns__alg alg)
{
	switch (alg) {
	case NS__ALG_RS256:
		return "RS256";
	case NS__ALG_ES256:
		return "ES256";
	case NS__ALG_EDDSA:
		return "EdDSA";
	}
	return "?";
}

enum ns__alg ns__alg_from_name(const char *name)
{
	if (strcmp(name, "RS256") == 0)
		return NS__ALG_RS256;
	if (strcmp(name, "ES256") == 0)
		return NS__ALG_ES256;
	if (strcmp(name, "EdDSA") == 0)
		return NS__ALG_EDDSA;
	return 0;
}

int ns__b64url_decode(const char *text, size_t len, unsigned char **out, size_t *out_len)
{
	size_t cap = len / 4 * 3 + 3, n = 0;
	unsigned char *bin = malloc(cap + 1);

	*out = NULL;
	*out_len = 0;
	if (bin == NULL)
		return NS_ENOMEM;
	if (sodium_base642bin(bin, cap, text, len, NULL, &n, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
		free(bin);
		return NS_EDECODE;
	}
	bin[n] = '\0';
	*out = bin;
	*out_len = n;
	return 0;
}

int ns__b64url_encode(const unsigned char *bin, size_t len, char **out)
{
	size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *s = malloc(cap);

	*out = NULL;
	if (s == NULL)
		return NS_ENOMEM;
	sodium_bin2base64(s, cap, bin, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	*out = s;
	return 0;
}

/* A base64url member of key @p i, decoded; *bin NULL when absent. */
static int ns__member_b64(json_t *key, size_t i, const char *member, int required,
			  unsigned char **bin, size_t *len, ns_diag *d)
{
	json_t *v = json_object_get(key, member);
	int rc;

	*bin = NULL;
	*len = 0;
	if (v == NULL) {
		if (!required)
			return 0;
		return ns_diag_set(d, NS_ECONFIG, member, "key %zu has no '%s'", i, member);
	}
	if (!json_is_string(v))
		return ns_diag_set(d, NS_ECONFIG, member, "key %zu: '%s' is not a string", i,
				   member);
	rc = ns__b64url_decode(json_string_value(v), json_string_length(v), bin, len);
	if (rc == NS_EDECODE || (rc == 0 && *len == 0)) {
		free(*bin);
		*bin = NULL;
		return ns_diag_set(d, NS_ECONFIG, member,
				   "key %zu: '%s' is not unpadded base64url of at least one byte",
				   i, member);
	}
	return rc;
}

/* Refuse private-key members: a trusted set holds public keys only. */
static int ns__no_private(json_t *key, size_t i, const char *const *members, ns_diag *d)
{
	for (; *members != NULL; members++)
		if (json_object_get(key, *members) != NULL)
			return ns_diag_set(d, NS_ECONFIG, *members,
					   "key %zu holds private key material ('%s'): a key set "
					   "must hold public keys only",
					   i, *members);
	return 0;
}

static int ns__rsa_key(json_t *key, size_t i, EVP_PKEY **pk, ns_diag *d)
{
	static const char *const priv[] = { "d", "p", "q", "dp", "dq", "qi", "oth", NULL };
	unsigned char *n = NULL, *e = NULL;
	size_t nlen, elen;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int rc, bits;

	if ((rc = ns__no_private(key, i, priv, d)) != 0)
		return rc;
	if ((rc = ns__member_b64(key, i, "n", 1, &n, &nlen, d)) != 0)
		goto out;
	if ((rc = ns__member_b64(key, i, "e", 1, &e, &elen, d)) != 0)
		goto out;
	rc = NS_ENOMEM;
	if ((bn = BN_bin2bn(n, (int)nlen, NULL)) == NULL ||
	    (be = BN_bin2bn(e, (int)elen, NULL)) == NULL)
		goto out;
	bits = BN_num_bits(bn);
	if (bits < NS__RSA_MIN_BITS || bits > NS__RSA_MAX_BITS) {
		rc = ns_diag_set(d, NS_ECONFIG, "n",
				 "key %zu: an RSA modulus of %d bits (%d to %d allowed)", i, bits,
				 NS__RSA_MIN_BITS, NS__RSA_MAX_BITS);
		goto out;
	}
	if (!BN_is_odd(be) || BN_is_one(be) || BN_num_bits(be) > 64 || !BN_is_odd(bn)) {
		rc = ns_diag_set(d, NS_ECONFIG, BN_is_odd(bn) ? "e" : "n",
				 "key %zu: not a valid RSA public key (%s)", i,
				 BN_is_odd(bn) ? "the exponent must be odd, > 1 and at most 64 bits"
					       : "the modulus is even");
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL)
		goto out;
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, pk, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		rc = ns_diag_set(d, NS_ECONFIG, "n", "key %zu: OpenSSL refused the RSA key", i);
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	free(n);
	free(e);
	return rc;
}

/* The string member @p member of key @p i must equal @p want. */
static int ns__member_is(json_t *key, size_t i, const char *member, const char *want, ns_diag *d)
{
	json_t *v = json_object_get(key, member);

	if (v == NULL)
		return ns_diag_set(d, NS_ECONFIG, member, "key %zu has no '%s'", i, member);
	if (!json_is_string(v) || strcmp(json_string_value(v), want) != 0)
		return ns_diag_set(d, NS_ECONFIG, member,
				   "key %zu: '%s' must be \"%s\" (the only one supported)", i,
				   member, want);
	return 0;
}

static int ns__ec_key(json_t *key, size_t i, EVP_PKEY **pk, ns_diag *d)
{
	static const char *const priv[] = { "d", NULL };
	unsigned char *x = NULL, *y = NULL, point[65];
	size_t xlen, ylen;
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL, *check = NULL;
	int rc;

	if ((rc = ns__no_private(key, i, priv, d)) != 0 ||
	    (rc = ns__member_is(key, i, "crv", "P-256", d)) != 0)
		return rc;
	if ((rc = ns__member_b64(key, i, "x", 1, &x, &xlen, d)) != 0 ||
	    (rc = ns__member_b64(key, i, "y", 1, &y, &ylen, d)) != 0)
		goto out;
	if (xlen != 32 || ylen != 32) {
		rc = ns_diag_set(d, NS_ECONFIG, xlen != 32 ? "x" : "y",
				 "key %zu: '%s' must be 32 bytes for P-256", i,
				 xlen != 32 ? "x" : "y");
		goto out;
	}
	point[0] = 0x04; /* uncompressed point: 04 || x || y (SEC 1) */
	memcpy(point + 1, x, 32);
	memcpy(point + 33, y, 32);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point);
	params[2] = OSSL_PARAM_construct_end();
	rc = NS_ENOMEM;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL)
		goto out;
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, pk, EVP_PKEY_PUBLIC_KEY, params) <= 0 ||
	    (check = EVP_PKEY_CTX_new_from_pkey(NULL, *pk, NULL)) == NULL ||
	    EVP_PKEY_public_check(check) != 1) {
		rc = ns_diag_set(d, NS_ECONFIG, "x", "key %zu: (x, y) is not a point of P-256", i);
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	free(x);
	free(y);
	return rc;
}

static int ns__okp_key(json_t *key, size_t i, EVP_PKEY **pk, ns_diag *d)
{
	static const char *const priv[] = { "d", NULL };
	unsigned char *x = NULL;
	size_t xlen;
	int rc;

	if ((rc = ns__no_private(key, i, priv, d)) != 0 ||
	    (rc = ns__member_is(key, i, "crv", "Ed25519", d)) != 0 ||
	    (rc = ns__member_b64(key, i, "x", 1, &x, &xlen, d)) != 0)
		return rc;
	if (xlen != 32)
		rc = ns_diag_set(d, NS_ECONFIG, "x", "key %zu: 'x' must be 32 bytes for Ed25519",
				 i);
	else if ((*pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, xlen)) == NULL)
		rc = ns_diag_set(d, NS_ECONFIG, "x", "key %zu: OpenSSL refused the Ed25519 key", i);
	free(x);
	return rc;
}

/* kid, use, key_ops and alg of key @p i; the algorithm it implies for @p kty. */
static int ns__key_meta(json_t *key, size_t i, const char *kty, ns__key *k, ns_diag *d)
{
	json_t *kid = json_object_get(key, "kid"), *use = json_object_get(key, "use");
	json_t *ops = json_object_get(key, "key_ops"), *alg = json_object_get(key, "alg");
	const char *s;
	enum ns__alg want = strcmp(kty, "RSA") == 0  ? NS__ALG_RS256
			    : strcmp(kty, "EC") == 0 ? NS__ALG_ES256
						     : NS__ALG_EDDSA;

	if (kid == NULL)
		return ns_diag_set(d, NS_ECONFIG, "kid", "key %zu has no 'kid'", i);
	s = json_is_string(kid) ? json_string_value(kid) : NULL;
	if (s == NULL || json_string_length(kid) == 0 || json_string_length(kid) >= NS__KID_MAX ||
	    strlen(s) != json_string_length(kid))
		return ns_diag_set(d, NS_ECONFIG, "kid",
				   "key %zu: 'kid' must be a string of 1 to %d bytes", i,
				   NS__KID_MAX - 1);
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return ns_diag_set(d, NS_ECONFIG, "kid",
					   "key %zu: 'kid' holds a control character", i);
	memcpy(k->kid, s, strlen(s) + 1);
	if (use != NULL && (!json_is_string(use) || strcmp(json_string_value(use), "sig") != 0))
		return ns_diag_set(d, NS_ECONFIG, "use",
				   "key %zu ('%s'): 'use' must be \"sig\" when present", i, k->kid);
	if (ops != NULL) {
		size_t j;
		json_t *op;
		int verify = 0;

		if (!json_is_array(ops))
			return ns_diag_set(d, NS_ECONFIG, "key_ops",
					   "key %zu ('%s'): 'key_ops' is not an array", i, k->kid);
		json_array_foreach(ops, j, op)
			if (json_is_string(op) && strcmp(json_string_value(op), "verify") == 0)
				verify = 1;
		if (!verify)
			return ns_diag_set(d, NS_ECONFIG, "key_ops",
					   "key %zu ('%s'): 'key_ops' does not allow \"verify\"", i,
					   k->kid);
	}
	if (alg != NULL &&
	    (!json_is_string(alg) || ns__alg_from_name(json_string_value(alg)) != want))
		return ns_diag_set(d, NS_ECONFIG, "alg",
				   "key %zu ('%s'): 'alg' must be \"%s\" for a key of kty \"%s\"",
				   i, k->kid, ns__alg_name(want), kty);
	k->alg = want;
	return 0;
}

static int ns__one_key(json_t *key, size_t i, ns__key *k, ns_diag *d)
{
	json_t *kty = json_object_get(key, "kty");
	const char *t;
	int rc;

	if (!json_is_object(key))
		return ns_diag_set(d, NS_ECONFIG, "keys", "key %zu is not a JSON object", i);
	if (kty == NULL)
		return ns_diag_set(d, NS_ECONFIG, "kty", "key %zu has no 'kty'", i);
	t = json_is_string(kty) ? json_string_value(kty) : "";
	if (strcmp(t, "RSA") != 0 && strcmp(t, "EC") != 0 && strcmp(t, "OKP") != 0)
		return ns_diag_set(d, NS_ECONFIG, "kty",
				   "key %zu: kty must be \"RSA\", \"EC\" (P-256) or \"OKP\" "
				   "(Ed25519)",
				   i);
	if ((rc = ns__key_meta(key, i, t, k, d)) != 0)
		return rc;
	if (k->alg == NS__ALG_RS256)
		return ns__rsa_key(key, i, &k->pk, d);
	if (k->alg == NS__ALG_ES256)
		return ns__ec_key(key, i, &k->pk, d);
	return ns__okp_key(key, i, &k->pk, d);
}

static int ns__strdup_opt(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL || *s == '\0')
		return 0;
	return (*out = strdup(s)) == NULL ? NS_ENOMEM : 0;
}

int ns_auth_parse(ns_auth **out, const char *jwks, size_t len, const ns_auth_opts *opts, ns_diag *d)
{
	json_error_t jerr;
	json_t *root, *keys;
	ns_auth *a;
	size_t i, n;
	int rc;

	*out = NULL;
	if (len > NS__JWKS_MAX)
		return ns_diag_set(d, NS_ECONFIG, "jwks", "the key set is larger than %u bytes",
				   NS__JWKS_MAX);
	root = json_loadb(jwks, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return ns_diag_set(d, NS_ECONFIG, "jwks", "not JSON: %s (line %d)", jerr.text,
				   jerr.line);
	keys = json_object_get(root, "keys");
	if (!json_is_object(root) || !json_is_array(keys)) {
		json_decref(root);
		return ns_diag_set(d, NS_ECONFIG, "keys",
				   "a key set is a JSON object with a 'keys' array");
	}
	n = json_array_size(keys);
	if (n == 0 || n > NS__JWKS_MAX_KEYS) {
		json_decref(root);
		return ns_diag_set(d, NS_ECONFIG, "keys",
				   "the key set has %zu keys (1 to %d allowed)", n,
				   NS__JWKS_MAX_KEYS);
	}
	if ((a = calloc(1, sizeof *a)) == NULL || (a->keys = calloc(n, sizeof *a->keys)) == NULL) {
		free(a);
		json_decref(root);
		return NS_ENOMEM;
	}
	a->leeway = opts != NULL ? opts->leeway : 60;
	if (opts != NULL && ((rc = ns__strdup_opt(opts->issuer, &a->issuer)) != 0 ||
			     (rc = ns__strdup_opt(opts->audience, &a->audience)) != 0))
		goto fail;
	for (i = 0; i < n; i++) {
		if ((rc = ns__one_key(json_array_get(keys, i), i, &a->keys[i], d)) != 0) {
			EVP_PKEY_free(a->keys[i].pk);
			goto fail;
		}
		a->n++;
		for (size_t j = 0; j < i; j++)
			if (strcmp(a->keys[j].kid, a->keys[i].kid) == 0) {
				rc = ns_diag_set(d, NS_ECONFIG, "kid",
						 "keys %zu and %zu have the same kid '%s'", j, i,
						 a->keys[i].kid);
				goto fail;
			}
	}
	json_decref(root);
	*out = a;
	return 0;
fail:
	json_decref(root);
	ns_auth_close(a);
	ERR_clear_error(); /* OpenSSL's reasons are in d; leave the thread's queue empty */
	return rc;
}

int ns_auth_open(ns_auth **out, const char *jwks_path, const ns_auth_opts *opts, ns_diag *d)
{
	FILE *f;
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	if ((f = fopen(jwks_path, "rb")) == NULL)
		return ns_diag_set(d, NS_EIO, "jwks", "cannot open the key set %s: %s", jwks_path,
				   strerror(errno));
	if ((buf = malloc(NS__JWKS_MAX + 1)) == NULL) {
		fclose(f);
		return NS_ENOMEM;
	}
	len = fread(buf, 1, NS__JWKS_MAX + 1, f);
	if (ferror(f))
		rc = ns_diag_set(d, NS_EIO, "jwks", "cannot read the key set %s", jwks_path);
	else if (len > NS__JWKS_MAX)
		rc = ns_diag_set(d, NS_ECONFIG, "jwks", "the key set %s is larger than %u bytes",
				 jwks_path, NS__JWKS_MAX);
	else
		rc = ns_auth_parse(out, buf, len, opts, d);
	fclose(f);
	free(buf);
	return rc;
}

void ns_auth_close(ns_auth *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->n; i++)
		EVP_PKEY_free(a->keys[i].pk);
	free(a->keys);
	free(a->issuer);
	free(a->audience);
	free(a);
}

size_t ns_auth_nkeys(const ns_auth *a)
{
	return a != NULL ? a->n : 0;
}
