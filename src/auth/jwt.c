/*
 * JWT verification (RFC 7519, compact JWS of RFC 7515): the key is chosen by
 * `kid`, the algorithm is the key's own, then the registered claims.
 */
#include "auth_int.h"

#include <nomsync/error.h>

#include <jansson.h>
#include <math.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Claims and header values bigger than this are not plausible. */
#define NS__TIME_MAX 253402300799.0 /* 9999-12-31T23:59:59Z */

static int ns__refuse(ns_diag *d, const char *reason, const char *fmt, const char *arg)
{
	return ns_diag_set(d, NS_EAUTH, reason, fmt, arg);
}

/* Decode one base64url part as a JSON object. */
static int ns__json_part(const char *s, size_t len, const char *what, json_t **out, ns_diag *d)
{
	unsigned char *bin;
	size_t n;
	int rc = ns__b64url_decode(s, len, &bin, &n);

	*out = NULL;
	if (rc == NS_ENOMEM)
		return rc;
	if (rc != 0)
		return ns__refuse(d, "malformed", "the token's %s is not base64url", what);
	*out = json_loadb((const char *)bin, n, JSON_REJECT_DUPLICATES, NULL);
	free(bin);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return ns__refuse(d, "malformed", "the token's %s is not a JSON object", what);
	}
	return 0;
}

static void ns__iso(double t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, cap, "%.0f", t);
}

/* JOSE ES256 signature (r || s, 32 bytes each) to the DER form OpenSSL verifies. */
static int ns__es256_der(const unsigned char *sig, unsigned char **der, int *derlen)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);

	*der = NULL;
	*derlen = 0;
	if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
		ECDSA_SIG_free(es);
		BN_free(r);
		BN_free(s);
		return NS_ENOMEM;
	}
	*derlen = i2d_ECDSA_SIG(es, der);
	ECDSA_SIG_free(es);
	return *derlen > 0 ? 0 : NS_ENOMEM;
}

/* 1: the signature verifies; 0: it does not; NS_ENOMEM. */
static int ns__sig_ok(const ns__key *k, const char *signed_part, size_t signed_len,
		      const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	int derlen = 0, rc, ok;

	if (md == NULL)
		return NS_ENOMEM;
	if (k->alg == NS__ALG_ES256) {
		if (siglen != 64) {
			EVP_MD_CTX_free(md);
			return 0;
		}
		if ((rc = ns__es256_der(sig, &der, &derlen)) != 0) {
			EVP_MD_CTX_free(md);
			return rc;
		}
		sig = der;
		siglen = (size_t)derlen;
	} else if (k->alg == NS__ALG_EDDSA && siglen != 64) {
		EVP_MD_CTX_free(md);
		return 0;
	} else if (k->alg == NS__ALG_RS256 && siglen != (size_t)EVP_PKEY_get_size(k->pk)) {
		EVP_MD_CTX_free(md);
		return 0;
	}
	ok = EVP_DigestVerifyInit(md, NULL, k->alg == NS__ALG_EDDSA ? NULL : EVP_sha256(), NULL,
				  k->pk) == 1 &&
	     EVP_DigestVerify(md, sig, siglen, (const unsigned char *)signed_part, signed_len) == 1;
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	return ok;
}

/* The header: alg acceptable, kid names a key whose algorithm is alg. */
static int ns__header(const ns_auth *a, json_t *h, const ns__key **key, ns_diag *d)
{
	json_t *alg = json_object_get(h, "alg"), *kid = json_object_get(h, "kid");
	const char *an, *kn;
	enum ns__alg want;

	if (!json_is_string(alg))
		return ns__refuse(d, "malformed", "the token header has no %s", "alg");
	an = json_string_value(alg);
	want = ns__alg_from_name(an);
	if (want == 0)
		return ns_diag_set(
			d, NS_EAUTH, "alg_refused",
			"the token's algorithm '%.40s' is refused (only RS256, ES256 and "
			"EdDSA with a trusted key)",
			an);
	if (json_object_get(h, "crit") != NULL)
		return ns__refuse(d, "malformed", "the token header has critical extensions (%s)",
				  "crit");
	if (kid == NULL)
		return ns__refuse(d, "unknown_key", "the token header names no key (%s)", "kid");
	if (!json_is_string(kid))
		return ns__refuse(d, "unknown_key", "the token header's %s is not a string", "kid");
	kn = json_string_value(kid);
	*key = NULL;
	for (size_t i = 0; i < a->n; i++)
		if (strlen(a->keys[i].kid) == json_string_length(kid) &&
		    strcmp(a->keys[i].kid, kn) == 0)
			*key = &a->keys[i];
	if (*key == NULL)
		return ns_diag_set(d, NS_EAUTH, "unknown_key", "no trusted key has kid '%.100s'",
				   kn);
	if ((*key)->alg != want)
		return ns_diag_set(d, NS_EAUTH, "alg_refused",
				   "the token says %s but the trusted key '%.100s' is %s", an,
				   (*key)->kid, ns__alg_name((*key)->alg));
	return 0;
}

/* A NumericDate claim: 1 present, 0 absent, NS_EAUTH not a date. */
static int ns__date(json_t *c, const char *name, double *out, ns_diag *d)
{
	json_t *v = json_object_get(c, name);

	if (v == NULL)
		return 0;
	*out = json_number_value(v);
	if (!json_is_number(v) || !isfinite(*out) || *out < 0 || *out > NS__TIME_MAX)
		return ns__refuse(d, "malformed", "the token's %s claim is not a date (seconds)",
				  name);
	*out = (double)(int64_t)*out; /* whole seconds (>= 0: truncation is floor) */
	return 1;
}

static int ns__time_claims(const ns_auth *a, json_t *c, int64_t now, ns_principal *p, ns_diag *d)
{
	double exp, nbf;
	char when[40];
	int rc;

	if ((rc = ns__date(c, "exp", &exp, d)) < 0)
		return rc;
	if (rc == 0)
		return ns__refuse(d, "malformed",
				  "the token has no %s claim (an expiry is required)", "exp");
	if ((double)now >= exp + a->leeway) {
		ns__iso(exp, when, sizeof when);
		return ns__refuse(d, "expired", "the token expired at %s", when);
	}
	if ((rc = ns__date(c, "nbf", &nbf, d)) < 0)
		return rc;
	if (rc == 1 && (double)now < nbf - a->leeway) {
		ns__iso(nbf, when, sizeof when);
		return ns__refuse(d, "not_yet_valid", "the token is not valid before %s", when);
	}
	p->expires = (int64_t)exp;
	return 0;
}

static int ns__iss_aud(const ns_auth *a, json_t *c, ns_diag *d)
{
	json_t *iss = json_object_get(c, "iss"), *aud = json_object_get(c, "aud"), *v;
	size_t i;

	if (a->issuer != NULL &&
	    (!json_is_string(iss) || strcmp(json_string_value(iss), a->issuer) != 0))
		return ns__refuse(d, "wrong_issuer", "the token was not issued by '%.150s'",
				  a->issuer);
	if (a->audience == NULL)
		return 0;
	if (json_is_string(aud) && strcmp(json_string_value(aud), a->audience) == 0)
		return 0;
	if (json_is_array(aud))
		json_array_foreach(aud, i, v)
			if (json_is_string(v) && strcmp(json_string_value(v), a->audience) == 0)
				return 0;
	return ns__refuse(d, "wrong_audience", "the token is not meant for audience '%.150s'",
			  a->audience);
}

/* 1 if @p s (of @p len bytes) is a usable user id: printable ASCII, no space. */
static int ns__user_ok(const char *s, size_t len)
{
	if (len == 0 || len >= NS_USER_MAX || strlen(s) != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

/* Copy a display name, cut at a UTF-8 character boundary if too long. */
static int ns__name(json_t *c, ns_principal *p, ns_diag *d)
{
	json_t *v = json_object_get(c, "name");
	const char *s;
	size_t n;

	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return ns__refuse(d, "malformed", "the token's %s claim is not a string", "name");
	s = json_string_value(v);
	n = json_string_length(v);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return ns__refuse(d, "malformed",
					  "the token's %s claim holds a control character", "name");
	if (n >= sizeof p->name) {
		n = sizeof p->name - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(p->name, s, n);
	p->name[n] = '\0';
	return 0;
}

static int ns__who(json_t *c, ns_principal *p, ns_diag *d)
{
	json_t *u = json_object_get(c, "user_name"), *auth = json_object_get(c, "authorities"), *v;
	const char *claim = "user_name";
	size_t i;
	int rc;

	if (u == NULL) {
		u = json_object_get(c, "sub");
		claim = "sub";
	}
	if (u == NULL)
		return ns__refuse(d, "no_user", "the token names no user (%s or sub)", "user_name");
	if (!json_is_string(u) || !ns__user_ok(json_string_value(u), json_string_length(u)))
		return ns_diag_set(d, NS_EAUTH, "no_user",
				   "the token's %s claim is not a user id (1 to %d printable ASCII "
				   "characters, no spaces)",
				   claim, NS_USER_MAX - 1);
	memcpy(p->user, json_string_value(u), json_string_length(u) + 1);
	if ((rc = ns__name(c, p, d)) != 0)
		return rc;
	if (auth == NULL)
		return 0;
	if (!json_is_array(auth))
		return ns__refuse(d, "malformed", "the token's %s claim is not an array",
				  "authorities");
	json_array_foreach(auth, i, v) {
		if (!json_is_string(v))
			return ns__refuse(d, "malformed", "the token's %s claim holds a non-string",
					  "authorities");
		p->roles |= ns_urole_from_name(json_string_value(v));
	}
	return 0;
}

int ns_auth_verify(const ns_auth *a, const char *token, size_t len, int64_t now, ns_principal *p,
		   ns_diag *d)
{
	const char *dot1, *dot2;
	json_t *header = NULL, *claims = NULL;
	const ns__key *key = NULL;
	unsigned char *sig = NULL;
	size_t siglen;
	int rc;

	memset(p, 0, sizeof *p);
	if (a == NULL)
		return ns_diag_set(d, NS_EAUTH, "unknown_key",
				   "this node trusts no JWT keys ([auth] jwks)");
	if (len == 0 || len > NS__JWT_MAX)
		return ns_diag_set(d, NS_EAUTH, "malformed",
				   "the token is empty or longer than %d bytes", NS__JWT_MAX);
	dot1 = memchr(token, '.', len);
	dot2 = dot1 != NULL ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL)
		return ns__refuse(d, "malformed", "the token is not %s (header.payload.signature)",
				  "a compact JWS");
	if ((rc = ns__json_part(token, (size_t)(dot1 - token), "header", &header, d)) != 0)
		goto out;
	if ((rc = ns__header(a, header, &key, d)) != 0)
		goto out;
	rc = ns__b64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), &sig, &siglen);
	if (rc == NS_EDECODE || (rc == 0 && siglen == 0))
		rc = ns__refuse(d, "malformed", "the token's %s is missing or not base64url",
				"signature");
	if (rc != 0)
		goto out;
	rc = ns__sig_ok(key, token, (size_t)(dot2 - token), sig, siglen);
	if (rc == 0)
		rc = ns_diag_set(d, NS_EAUTH, "bad_signature",
				 "the token's signature does not verify with the trusted key '%s'",
				 key->kid);
	if (rc != 1)
		goto out;
	if ((rc = ns__json_part(dot1 + 1, (size_t)(dot2 - dot1 - 1), "payload", &claims, d)) != 0 ||
	    (rc = ns__time_claims(a, claims, now, p, d)) != 0 ||
	    (rc = ns__iss_aud(a, claims, d)) != 0 || (rc = ns__who(claims, p, d)) != 0)
		goto out;
	rc = 0;
out:
	/* OpenSSL's reasons for a bad signature stay on this thread's error queue,
	 * where a TLS read on the same thread would take them for its own. */
	ERR_clear_error();
	if (rc != 0)
		memset(p, 0, sizeof *p);
	free(sig);
	json_decref(header);
	json_decref(claims);
	return rc;
}
