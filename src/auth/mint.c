/*
 * Test tokens: key generation, the JWKS of local keys and JWT signing
 * (`nomsync token`, the demo and the tests). Not used by the daemon.
 */
#include "auth_int.h"

#include <nomsync/error.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ns_auth_keygen(const char *alg, const char *pem_path, ns_diag *d)
{
	enum ns__alg a = alg != NULL ? ns__alg_from_name(alg) : 0;
	EVP_PKEY *pk = NULL;
	FILE *f;
	int fd, rc = 0;

	if (a == 0)
		return ns_diag_set(d, NS_EINVAL, "alg",
				   "the algorithm must be RS256, ES256 or EdDSA");
	if (a == NS__ALG_RS256)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	else if (a == NS__ALG_ES256)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (pk == NULL)
		return ns_diag_set(d, NS_ENOMEM, "alg", "OpenSSL could not generate a %s key", alg);
	fd = open(pem_path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		rc = ns_diag_set(d, NS_EIO, "key", "cannot create %s: %s%s", pem_path,
				 strerror(errno),
				 errno == EEXIST ? " (an existing key is never overwritten)" : "");
		if (fd >= 0)
			close(fd);
		EVP_PKEY_free(pk);
		return rc;
	}
	if (PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) != 1)
		rc = ns_diag_set(d, NS_EIO, "key", "cannot write %s", pem_path);
	if (fclose(f) != 0 && rc == 0)
		rc = ns_diag_set(d, NS_EIO, "key", "cannot write %s: %s", pem_path,
				 strerror(errno));
	EVP_PKEY_free(pk);
	return rc;
}

/* A kid the key set parser accepts (jwks.c). */
static int ns__kid_ok(const char *kid)
{
	size_t n = kid != NULL ? strlen(kid) : 0;

	if (n == 0 || n >= NS__KID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)kid[i] < 0x20 || kid[i] == 0x7f)
			return 0;
	return 1;
}

/* A PEM key file (private, or public for ns_auth_jwks_of) and its algorithm. */
static int ns__load(const char *path, int need_private, EVP_PKEY **pk, enum ns__alg *alg,
		    ns_diag *d)
{
	FILE *f = fopen(path, "r");
	char group[32] = "";

	*pk = NULL;
	if (f == NULL)
		return ns_diag_set(d, NS_EIO, "key", "cannot open %s: %s", path, strerror(errno));
	*pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	if (*pk == NULL && !need_private) {
		rewind(f);
		*pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	}
	fclose(f);
	ERR_clear_error(); /* the failed first read, or why neither read */
	if (*pk == NULL)
		return ns_diag_set(d, NS_EKEY, "key", "%s is not a PEM %skey", path,
				   need_private ? "private " : "");
	if (EVP_PKEY_is_a(*pk, "RSA") && EVP_PKEY_get_bits(*pk) >= 2048)
		*alg = NS__ALG_RS256;
	else if (EVP_PKEY_is_a(*pk, "EC") &&
		 EVP_PKEY_get_utf8_string_param(*pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
						sizeof group, NULL) == 1 &&
		 strcmp(group, "prime256v1") == 0)
		*alg = NS__ALG_ES256;
	else if (EVP_PKEY_is_a(*pk, "ED25519"))
		*alg = NS__ALG_EDDSA;
	else {
		EVP_PKEY_free(*pk);
		*pk = NULL;
		return ns_diag_set(d, NS_EKEY, "key",
				   "%s is not an RSA (2048 bits or more), P-256 or Ed25519 key",
				   path);
	}
	return 0;
}

/* Set member @p name of @p o to the base64url of @p len bytes. */
static int ns__set_b64(json_t *o, const char *name, const unsigned char *bin, size_t len)
{
	char *s;
	int rc = ns__b64url_encode(bin, len, &s);

	if (rc != 0)
		return rc;
	rc = json_object_set_new(o, name, json_string(s)) == 0 ? 0 : NS_ENOMEM;
	free(s);
	return rc;
}

/* Member @p name: a BIGNUM parameter of @p pk, big-endian, @p pad bytes (0: minimal). */
static int ns__set_bn(json_t *o, const char *name, EVP_PKEY *pk, const char *param, int pad)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	int n;

	if (EVP_PKEY_get_bn_param(pk, param, &bn) != 1)
		return NS_EKEY;
	if (pad > 0)
		n = BN_bn2binpad(bn, buf, pad);
	else
		n = BN_num_bytes(bn) <= (int)sizeof buf ? BN_bn2bin(bn, buf) : -1;
	BN_free(bn);
	return n > 0 ? ns__set_b64(o, name, buf, (size_t)n) : NS_EKEY;
}

static int ns__jwk(EVP_PKEY *pk, enum ns__alg alg, const char *kid, json_t **out)
{
	json_t *k = json_object();
	unsigned char raw[32];
	size_t rawlen = sizeof raw;
	int rc = k == NULL ? NS_ENOMEM : 0;

	*out = NULL;
	if (rc == 0 && (json_object_set_new(k, "kid", json_string(kid)) != 0 ||
			json_object_set_new(k, "use", json_string("sig")) != 0 ||
			json_object_set_new(k, "alg", json_string(ns__alg_name(alg))) != 0))
		rc = NS_ENOMEM;
	if (rc == 0 && alg == NS__ALG_RS256) {
		if (json_object_set_new(k, "kty", json_string("RSA")) != 0 ||
		    (rc = ns__set_bn(k, "n", pk, OSSL_PKEY_PARAM_RSA_N, 0)) != 0 ||
		    (rc = ns__set_bn(k, "e", pk, OSSL_PKEY_PARAM_RSA_E, 0)) != 0)
			rc = rc != 0 ? rc : NS_ENOMEM;
	} else if (rc == 0 && alg == NS__ALG_ES256) {
		if (json_object_set_new(k, "kty", json_string("EC")) != 0 ||
		    json_object_set_new(k, "crv", json_string("P-256")) != 0 ||
		    (rc = ns__set_bn(k, "x", pk, OSSL_PKEY_PARAM_EC_PUB_X, 32)) != 0 ||
		    (rc = ns__set_bn(k, "y", pk, OSSL_PKEY_PARAM_EC_PUB_Y, 32)) != 0)
			rc = rc != 0 ? rc : NS_ENOMEM;
	} else if (rc == 0) {
		if (json_object_set_new(k, "kty", json_string("OKP")) != 0 ||
		    json_object_set_new(k, "crv", json_string("Ed25519")) != 0)
			rc = NS_ENOMEM;
		else if (EVP_PKEY_get_raw_public_key(pk, raw, &rawlen) != 1)
			rc = NS_EKEY;
		else
			rc = ns__set_b64(k, "x", raw, rawlen);
	}
	if (rc != 0) {
		json_decref(k);
		return rc;
	}
	*out = k;
	return 0;
}

int ns_auth_jwks_of(const char *const *pem_paths, const char *const *kids, size_t n, char **json,
		    ns_diag *d)
{
	json_t *root = json_object(), *keys = json_array(), *k;
	EVP_PKEY *pk;
	enum ns__alg alg;
	int rc = root == NULL || keys == NULL || json_object_set(root, "keys", keys) != 0
			 ? NS_ENOMEM
			 : 0;

	*json = NULL;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (!ns__kid_ok(kids[i])) {
			rc = ns_diag_set(
				d, NS_EINVAL, "kid",
				"the kid of %s must be 1 to %d bytes, no control characters",
				pem_paths[i], NS__KID_MAX - 1);
			break;
		}
		if ((rc = ns__load(pem_paths[i], 0, &pk, &alg, d)) != 0)
			break;
		rc = ns__jwk(pk, alg, kids[i], &k);
		EVP_PKEY_free(pk);
		if (rc == 0 && json_array_append_new(keys, k) != 0)
			rc = NS_ENOMEM;
		if (rc == NS_EKEY)
			ns_diag_set(d, rc, "key", "cannot read the public key of %s", pem_paths[i]);
	}
	if (rc == 0 && (*json = json_dumps(root, JSON_INDENT(2))) == NULL)
		rc = NS_ENOMEM;
	json_decref(keys);
	json_decref(root);
	return rc;
}

/* Sign @p msg with @p pk: the JOSE form of the signature (r || s for ES256). */
static int ns__sign(EVP_PKEY *pk, enum ns__alg alg, const char *msg, size_t len,
		    unsigned char **sig, size_t *siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	const unsigned char *p;
	size_t derlen = 0;
	ECDSA_SIG *es = NULL;
	int rc = NS_EKEY;

	*sig = NULL;
	if (md == NULL)
		return NS_ENOMEM;
	if (EVP_DigestSignInit(md, NULL, alg == NS__ALG_EDDSA ? NULL : EVP_sha256(), NULL, pk) !=
		    1 ||
	    EVP_DigestSign(md, NULL, &derlen, (const unsigned char *)msg, len) != 1 ||
	    (der = malloc(derlen)) == NULL ||
	    EVP_DigestSign(md, der, &derlen, (const unsigned char *)msg, len) != 1)
		goto out;
	if (alg != NS__ALG_ES256) {
		*sig = der;
		*siglen = derlen;
		der = NULL;
		rc = 0;
		goto out;
	}
	p = der;
	if ((es = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL || (*sig = malloc(64)) == NULL ||
	    BN_bn2binpad(ECDSA_SIG_get0_r(es), *sig, 32) != 32 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(es), *sig + 32, 32) != 32) {
		free(*sig);
		*sig = NULL;
		goto out;
	}
	*siglen = 64;
	rc = 0;
out:
	ECDSA_SIG_free(es);
	free(der);
	EVP_MD_CTX_free(md);
	return rc;
}

int ns_auth_sign(const char *pem_path, const char *header, const char *payload, char **jwt,
		 ns_diag *d)
{
	EVP_PKEY *pk;
	enum ns__alg alg;
	char *h = NULL, *b = NULL, *s = NULL, *msg = NULL;
	unsigned char *sig = NULL;
	size_t siglen, mlen;
	int rc;

	*jwt = NULL;
	if ((rc = ns__load(pem_path, 1, &pk, &alg, d)) != 0)
		return rc;
	if ((rc = ns__b64url_encode((const unsigned char *)header, strlen(header), &h)) != 0 ||
	    (rc = ns__b64url_encode((const unsigned char *)payload, strlen(payload), &b)) != 0)
		goto out;
	mlen = strlen(h) + 1 + strlen(b);
	rc = NS_ENOMEM;
	if ((msg = malloc(mlen + 1)) == NULL)
		goto out;
	snprintf(msg, mlen + 1, "%s.%s", h, b);
	if ((rc = ns__sign(pk, alg, msg, mlen, &sig, &siglen)) != 0) {
		ns_diag_set(d, rc, "key", "OpenSSL could not sign with %s", pem_path);
		goto out;
	}
	if ((rc = ns__b64url_encode(sig, siglen, &s)) != 0)
		goto out;
	rc = NS_ENOMEM;
	if ((*jwt = malloc(mlen + 1 + strlen(s) + 1)) == NULL)
		goto out;
	sprintf(*jwt, "%s.%s", msg, s);
	rc = 0;
out:
	EVP_PKEY_free(pk);
	free(h);
	free(b);
	free(s);
	free(msg);
	free(sig);
	return rc;
}

static int ns__claims_json(const ns_auth_claims *c, char **out)
{
	json_t *o = json_object(), *roles = json_array();
	int bad = o == NULL || roles == NULL;

	*out = NULL;
	if (!bad)
		bad |= json_object_set_new(o, "user_name", json_string(c->user)) |
		       json_object_set_new(o, "sub", json_string(c->user)) |
		       json_object_set_new(o, "iat", json_integer(c->issued)) |
		       json_object_set_new(o, "exp", json_integer(c->expires));
	if (!bad && c->name != NULL && c->name[0] != '\0')
		bad |= json_object_set_new(o, "name", json_string(c->name));
	if (!bad && c->issuer != NULL && c->issuer[0] != '\0')
		bad |= json_object_set_new(o, "iss", json_string(c->issuer));
	if (!bad && c->audience != NULL && c->audience[0] != '\0')
		bad |= json_object_set_new(o, "aud", json_string(c->audience));
	if (!bad && c->not_before != 0)
		bad |= json_object_set_new(o, "nbf", json_integer(c->not_before));
	for (unsigned bit = 1; !bad && bit <= NS_UROLE_ALL; bit <<= 1)
		if (c->roles & bit)
			bad |= json_array_append_new(roles, json_string(ns_urole_name(bit)));
	if (!bad)
		bad |= json_object_set(o, "authorities", roles);
	if (!bad)
		bad = (*out = json_dumps(o, JSON_COMPACT)) == NULL;
	json_decref(roles);
	json_decref(o);
	return bad ? NS_ENOMEM : 0;
}

int ns_auth_mint(const char *pem_path, const char *kid, const char *alg, const ns_auth_claims *c,
		 char **jwt, ns_diag *d)
{
	EVP_PKEY *pk;
	enum ns__alg key_alg;
	json_t *h;
	char *header = NULL, *payload = NULL;
	int rc;

	*jwt = NULL;
	if (c->user == NULL || c->user[0] == '\0' || strlen(c->user) >= NS_USER_MAX)
		return ns_diag_set(d, NS_EINVAL, "user", "the user id must be 1 to %d bytes",
				   NS_USER_MAX - 1);
	if (!ns__kid_ok(kid))
		return ns_diag_set(d, NS_EINVAL, "kid",
				   "the kid must be 1 to %d bytes, no control characters",
				   NS__KID_MAX - 1);
	if ((rc = ns__load(pem_path, 1, &pk, &key_alg, d)) != 0)
		return rc;
	EVP_PKEY_free(pk);
	if (alg != NULL && ns__alg_from_name(alg) != key_alg)
		return ns_diag_set(d, NS_EINVAL, "alg", "the key in %s signs %s, not %s", pem_path,
				   ns__alg_name(key_alg), alg);
	h = json_pack("{s:s, s:s, s:s}", "alg", ns__alg_name(key_alg), "typ", "JWT", "kid", kid);
	if (h == NULL || (header = json_dumps(h, JSON_COMPACT)) == NULL ||
	    ns__claims_json(c, &payload) != 0)
		rc = NS_ENOMEM;
	else
		rc = ns_auth_sign(pem_path, header, payload, jwt, d);
	json_decref(h);
	free(header);
	free(payload);
	return rc;
}
