/*
 * JWT and JWKS verification (nomsync/auth.h): tokens minted at run time with
 * keys generated into a temporary directory, then every refusal by reason.
 */
#include "test.h"

#include <nomsync/auth.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOW 1800000000 /* 2027-01-15T08:00:00Z */
#define ISS "https://sign-in.hmpps.example/auth/issuer"
#define AUD "nomsync"

static char dir[64];
static char rsa_pem[128], ec_pem[128], ed_pem[128], forger_pem[128];
static char *jwks_text; /* r1 (RSA), e1 (EC), d1 (Ed25519) */
static ns_auth *auth;

static void path(char *out, const char *name)
{
	snprintf(out, 128, "%s/%s", dir, name);
}

static int setup(void)
{
	const char *pems[3], *kids[3] = { "r1", "e1", "d1" };
	ns_auth_opts o = { ISS, AUD, 60 };
	ns_diag d = { { 0 } };

	snprintf(dir, sizeof dir, "/tmp/ns_test_auth.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	path(rsa_pem, "rsa.pem");
	path(ec_pem, "ec.pem");
	path(ed_pem, "ed.pem");
	path(forger_pem, "forger.pem");
	if (ns_auth_keygen("RS256", rsa_pem, &d) || ns_auth_keygen("ES256", ec_pem, &d) ||
	    ns_auth_keygen("EdDSA", ed_pem, &d) || ns_auth_keygen("RS256", forger_pem, &d)) {
		fprintf(stderr, "keygen: %s\n", d.msg);
		return -1;
	}
	pems[0] = rsa_pem;
	pems[1] = ec_pem;
	pems[2] = ed_pem;
	if (ns_auth_jwks_of(pems, kids, 3, &jwks_text, &d) != 0 ||
	    ns_auth_parse(&auth, jwks_text, strlen(jwks_text), &o, &d) != 0) {
		fprintf(stderr, "jwks: %s\n", d.msg);
		return -1;
	}
	return 0;
}

static void teardown(void)
{
	const char *files[] = { rsa_pem, ec_pem, ed_pem, forger_pem };

	for (size_t i = 0; i < 4; i++)
		unlink(files[i]);
	rmdir(dir);
	ns_auth_close(auth);
	free(jwks_text);
}

static ns_auth_claims claims(void)
{
	ns_auth_claims c = { "JSMITH_GEN",
			     "Jane Smith",
			     NS_UROLE_VIEW | NS_UROLE_RECORD,
			     ISS,
			     AUD,
			     NOW - 10,
			     NOW + 3600,
			     0 };
	return c;
}

static char *mint(const char *pem, const char *kid, const ns_auth_claims *c)
{
	char *jwt = NULL;
	ns_diag d = { { 0 } };

	if (ns_auth_mint(pem, kid, NULL, c, &jwt, &d) != 0)
		fprintf(stderr, "mint: %s\n", d.msg);
	return jwt;
}

static char *sign(const char *pem, const char *header, const char *payload)
{
	char *jwt = NULL;
	ns_diag d = { { 0 } };

	if (ns_auth_sign(pem, header, payload, &jwt, &d) != 0)
		fprintf(stderr, "sign: %s\n", d.msg);
	return jwt;
}

/* Verify at @p now; "" for accepted, else the reason. Frees @p jwt. */
static const char *verify_at(char *jwt, int64_t now, ns_principal *p)
{
	static ns_diag d;
	ns_principal tmp;
	int rc;

	if (jwt == NULL)
		return "(no token)";
	memset(&d, 0, sizeof d);
	rc = ns_auth_verify(auth, jwt, strlen(jwt), now, p != NULL ? p : &tmp, &d);
	free(jwt);
	if (rc == 0)
		return "";
	if (rc != NS_EAUTH)
		return "(not NS_EAUTH)";
	if (d.msg[0] == '\0')
		return "(no message)";
	return d.field;
}

static const char *verify(char *jwt)
{
	return verify_at(jwt, NOW, NULL);
}

static char *b64(const void *bin, size_t len)
{
	size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *s = malloc(cap);

	sodium_bin2base64(s, cap, bin, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return s;
}

/* header.payload.signature from JSON texts and raw signature bytes. */
static char *assemble(const char *header, const char *payload, const void *sig, size_t siglen)
{
	char *h = b64(header, strlen(header)), *b = b64(payload, strlen(payload));
	char *s = b64(sig, siglen), *out = malloc(strlen(h) + strlen(b) + strlen(s) + 3);

	sprintf(out, "%s.%s.%s", h, b, s);
	free(h);
	free(b);
	free(s);
	return out;
}

static const char *payload_ok = "{\"user_name\":\"JSMITH_GEN\",\"iss\":\"" ISS "\",\"aud\":\"" AUD
				"\",\"exp\":1800003600,\"authorities\":[\"ROLE_NOMSYNC_VIEW\"]}";

static void test_valid_each_alg(void)
{
	const char *pems[3] = { rsa_pem, ec_pem, ed_pem }, *kids[3] = { "r1", "e1", "d1" };
	ns_auth_claims c = claims();

	CHECK_INT(ns_auth_nkeys(auth), 3);
	for (int i = 0; i < 3; i++) {
		ns_principal p;

		CHECK_STR(verify_at(mint(pems[i], kids[i], &c), NOW, &p), "");
		CHECK_STR(p.user, "JSMITH_GEN");
		CHECK_STR(p.name, "Jane Smith");
		CHECK_INT(p.roles, NS_UROLE_VIEW | NS_UROLE_RECORD);
		CHECK_INT(p.expires, NOW + 3600);
		CHECK_INT(p.service, 0);
	}
}

static void test_claims_read(void)
{
	ns_principal p;

	/* sub when there is no user_name; unknown authorities ignored; aud array. */
	CHECK_STR(verify_at(sign(rsa_pem, "{\"alg\":\"RS256\",\"kid\":\"r1\"}",
				 "{\"sub\":\"probation.officer@example.gov.uk\",\"iss\":\"" ISS
				 "\",\"aud\":[\"other\",\"" AUD "\"],\"exp\":1800000100,"
				 "\"authorities\":[\"ROLE_PRISON\",\"ROLE_NOMSYNC_AUDIT\","
				 "\"ROLE_NOMSYNC_ADMIN\",\"ROLE_NOMSYNC_FIGURES\"]}"),
			    NOW, &p),
		  "");
	CHECK_STR(p.user, "probation.officer@example.gov.uk");
	CHECK_STR(p.name, "");
	CHECK_INT(p.roles, NS_UROLE_AUDIT | NS_UROLE_ADMIN | NS_UROLE_FIGURES);
	/* user_name wins over sub; no authorities: no roles. */
	CHECK_STR(verify_at(sign(ed_pem, "{\"alg\":\"EdDSA\",\"kid\":\"d1\",\"typ\":\"JWT\"}",
				 "{\"sub\":\"x\",\"user_name\":\"AB12\",\"iss\":\"" ISS
				 "\",\"aud\":\"" AUD "\",\"exp\":1800000100.5}"),
			    NOW, &p),
		  "");
	CHECK_STR(p.user, "AB12");
	CHECK_INT(p.roles, 0);
	/* A long name is cut at a character boundary. */
	{
		char payload[600], name[300] = "";

		for (int i = 0; i < 100; i++)
			strcat(name, "\xc3\xa9"); /* é */
		snprintf(payload, sizeof payload,
			 "{\"sub\":\"u\",\"name\":\"%s\",\"iss\":\"" ISS "\",\"aud\":\"" AUD
			 "\",\"exp\":1800000100}",
			 name);
		CHECK_STR(verify_at(sign(ec_pem, "{\"alg\":\"ES256\",\"kid\":\"e1\"}", payload),
				    NOW, &p),
			  "");
		CHECK_INT(strlen(p.name), 126);
	}
}

static void test_forged(void)
{
	ns_auth_claims c = claims();
	ns_principal p;

	/* Signed by a key not in the set, under a trusted kid. */
	CHECK_STR(verify_at(mint(forger_pem, "r1", &c), NOW, &p), "bad_signature");
	CHECK_STR(p.user, "");
	/* OpenSSL's error queue is left empty (a TLS read on the thread relies on it). */
	CHECK(ERR_peek_error() == 0);
	/* A valid token with its payload swapped for another user's. */
	{
		char *good = mint(rsa_pem, "r1", &c), *other, *forged;
		ns_auth_claims c2 = claims();
		char *dot1, *dot2, *odot1, *odot2;

		c2.user = "ADMIN_USER";
		c2.roles = NS_UROLE_ALL;
		other = mint(rsa_pem, "r1", &c2);
		dot1 = strchr(good, '.');
		dot2 = strchr(dot1 + 1, '.');
		odot1 = strchr(other, '.');
		odot2 = strchr(odot1 + 1, '.');
		forged = malloc(strlen(good) + strlen(other));
		sprintf(forged, "%.*s%.*s%s", (int)(dot1 - good), good, (int)(odot2 - odot1), odot1,
			dot2);
		CHECK_STR(verify(forged), "bad_signature");
		free(good);
		free(other);
	}
}

static void test_time(void)
{
	ns_auth_claims c = claims();

	c.expires = NOW - 61;
	CHECK_STR(verify(mint(ec_pem, "e1", &c)), "expired");
	c.expires = NOW - 60; /* now == exp + leeway: expired */
	CHECK_STR(verify(mint(ec_pem, "e1", &c)), "expired");
	c.expires = NOW - 59; /* within the leeway */
	CHECK_STR(verify(mint(ec_pem, "e1", &c)), "");
	c = claims();
	c.not_before = NOW + 61;
	CHECK_STR(verify(mint(ed_pem, "d1", &c)), "not_yet_valid");
	c.not_before = NOW + 60; /* now == nbf - leeway: valid */
	CHECK_STR(verify(mint(ed_pem, "d1", &c)), "");
	c.not_before = NOW - 1;
	CHECK_STR(verify(mint(ed_pem, "d1", &c)), "");
	/* Missing exp, or not a number. */
	CHECK_STR(verify(sign(rsa_pem, "{\"alg\":\"RS256\",\"kid\":\"r1\"}",
			      "{\"sub\":\"u\",\"iss\":\"" ISS "\",\"aud\":\"" AUD "\"}")),
		  "malformed");
	CHECK_STR(verify(sign(rsa_pem, "{\"alg\":\"RS256\",\"kid\":\"r1\"}",
			      "{\"sub\":\"u\",\"iss\":\"" ISS "\",\"aud\":\"" AUD
			      "\",\"exp\":\"1800003600\"}")),
		  "malformed");
}

static void test_message(void)
{
	ns_auth_claims c = claims();
	ns_principal p;
	ns_diag d = { { 0 } };
	char *jwt;

	c.expires = 1795773600; /* 2026-11-27T10:00:00Z */
	jwt = mint(rsa_pem, "r1", &c);
	CHECK_INT(ns_auth_verify(auth, jwt, strlen(jwt), NOW, &p, &d), NS_EAUTH);
	CHECK_STR(d.msg, "the token expired at 2026-11-27T10:00:00Z");
	free(jwt);
	jwt = mint(rsa_pem, "nope", &c);
	CHECK_INT(ns_auth_verify(auth, jwt, strlen(jwt), NOW, &p, &d), NS_EAUTH);
	CHECK_STR(d.msg, "no trusted key has kid 'nope'");
	free(jwt);
}

static void test_issuer_audience(void)
{
	ns_auth_claims c = claims();

	c.issuer = "https://evil.example";
	CHECK_STR(verify(mint(rsa_pem, "r1", &c)), "wrong_issuer");
	c.issuer = NULL;
	CHECK_STR(verify(mint(rsa_pem, "r1", &c)), "wrong_issuer");
	c = claims();
	c.audience = "another-service";
	CHECK_STR(verify(mint(rsa_pem, "r1", &c)), "wrong_audience");
	c.audience = NULL;
	CHECK_STR(verify(mint(rsa_pem, "r1", &c)), "wrong_audience");
	CHECK_STR(verify(sign(rsa_pem, "{\"alg\":\"RS256\",\"kid\":\"r1\"}",
			      "{\"sub\":\"u\",\"iss\":\"" ISS
			      "\",\"aud\":[\"a\",\"b\"],\"exp\":1800003600}")),
		  "wrong_audience");
	/* No issuer or audience configured: any is accepted. */
	{
		ns_auth *any;
		ns_auth_opts o = { NULL, "", 0 };
		ns_principal p;
		ns_diag d;
		char *jwt;

		CHECK_INT(ns_auth_parse(&any, jwks_text, strlen(jwks_text), &o, &d), 0);
		c.issuer = "https://elsewhere";
		jwt = mint(rsa_pem, "r1", &c);
		CHECK_INT(ns_auth_verify(any, jwt, strlen(jwt), NOW, &p, &d), 0);
		free(jwt);
		/* leeway 0: exp == now is expired */
		c.expires = NOW;
		jwt = mint(rsa_pem, "r1", &c);
		CHECK_INT(ns_auth_verify(any, jwt, strlen(jwt), NOW, &p, &d), NS_EAUTH);
		CHECK_STR(d.field, "expired");
		free(jwt);
		ns_auth_close(any);
	}
}

static void test_alg_none(void)
{
	CHECK_STR(verify(assemble("{\"alg\":\"none\",\"kid\":\"r1\"}", payload_ok, "", 0)),
		  "alg_refused");
	/* "none" with an empty signature part, the classic form. */
	{
		char *t = assemble("{\"alg\":\"none\"}", payload_ok, "x", 1);

		*strrchr(t, '.') = '\0';
		strcat(t, ".");
		CHECK_STR(verify(t), "alg_refused");
	}
	CHECK_STR(verify(assemble("{\"alg\":\"NONE\",\"kid\":\"r1\"}", payload_ok, "x", 1)),
		  "alg_refused");
	CHECK_STR(verify(assemble("{\"alg\":\"RS512\",\"kid\":\"r1\"}", payload_ok, "x", 1)),
		  "alg_refused");
	CHECK_STR(verify(assemble("{\"kid\":\"r1\"}", payload_ok, "x", 1)), "malformed");
}

/* Algorithm confusion: HS256 keyed with the RSA public key's PEM (as a naive library would). */
static void test_hs256_confusion(void)
{
	FILE *f = fopen(rsa_pem, "r");
	EVP_PKEY *pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	BIO *bio = BIO_new(BIO_s_mem());
	char *pub, *h, *b, *msg, *t;
	long publen;
	unsigned char mac[32];
	unsigned maclen = sizeof mac;
	const char *algs[] = { "HS256", "HS384", "HS512" };

	fclose(f);
	PEM_write_bio_PUBKEY(bio, pk);
	publen = BIO_get_mem_data(bio, &pub);
	for (int i = 0; i < 3; i++) {
		char header[64];

		snprintf(header, sizeof header, "{\"alg\":\"%s\",\"kid\":\"r1\",\"typ\":\"JWT\"}",
			 algs[i]);
		h = b64(header, strlen(header));
		b = b64(payload_ok, strlen(payload_ok));
		msg = malloc(strlen(h) + strlen(b) + 2);
		sprintf(msg, "%s.%s", h, b);
		HMAC(EVP_sha256(), pub, (int)publen, (unsigned char *)msg, strlen(msg), mac,
		     &maclen);
		t = assemble(header, payload_ok, mac, maclen);
		CHECK_STR(verify(t), "alg_refused");
		free(h);
		free(b);
		free(msg);
	}
	BIO_free(bio);
	EVP_PKEY_free(pk);
}

static void test_keys(void)
{
	ns_auth_claims c = claims();
	const char *pay = "{\"sub\":\"u\",\"iss\":\"" ISS "\",\"aud\":\"" AUD
			  "\",\"exp\":1800003600}";

	/* The token's alg must be the key's: an RS256 header with the ES256 kid. */
	CHECK_STR(verify(sign(rsa_pem, "{\"alg\":\"RS256\",\"kid\":\"e1\"}", pay)), "alg_refused");
	/* ... and an ES256 header naming the RSA key, signed by the EC key. */
	CHECK_STR(verify(sign(ec_pem, "{\"alg\":\"ES256\",\"kid\":\"r1\"}", pay)), "alg_refused");
	/* The right alg and kid, signed by another algorithm's key. */
	CHECK_STR(verify(sign(ed_pem, "{\"alg\":\"ES256\",\"kid\":\"e1\"}", pay)), "bad_signature");
	CHECK_STR(verify(mint(rsa_pem, "r2", &c)), "unknown_key");
	CHECK_STR(verify(sign(rsa_pem, "{\"alg\":\"RS256\"}", pay)), "unknown_key");
	CHECK_STR(verify(sign(rsa_pem, "{\"alg\":\"RS256\",\"kid\":7}", pay)), "unknown_key");
	CHECK_STR(verify(sign(rsa_pem, "{\"alg\":\"RS256\",\"kid\":\"r1\",\"crit\":[\"exp\"]}",
			      pay)),
		  "malformed");
}

static void test_user(void)
{
	const char *h = "{\"alg\":\"EdDSA\",\"kid\":\"d1\"}";
	ns_auth_claims c = claims();
	char user[200];

	CHECK_STR(verify(sign(ed_pem, h,
			      "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":1800003600}")),
		  "no_user");
	CHECK_STR(verify(sign(ed_pem, h,
			      "{\"sub\":\"\",\"iss\":\"" ISS "\",\"aud\":\"" AUD
			      "\",\"exp\":1800003600}")),
		  "no_user");
	CHECK_STR(verify(sign(ed_pem, h,
			      "{\"user_name\":\"a b\",\"iss\":\"" ISS "\",\"aud\":\"" AUD
			      "\",\"exp\":1800003600}")),
		  "no_user");
	CHECK_STR(verify(sign(ed_pem, h,
			      "{\"user_name\":[\"a\"],\"sub\":\"b\",\"iss\":\"" ISS
			      "\",\"aud\":\"" AUD "\",\"exp\":1800003600}")),
		  "no_user");
	memset(user, 'u', NS_USER_MAX);
	user[NS_USER_MAX] = '\0';
	c.user = user;
	CHECK_INT(ns_auth_mint(ed_pem, "d1", NULL, &c, &(char *){ NULL }, NULL), NS_EINVAL);
	CHECK_STR(verify(sign(ed_pem, h,
			      "{\"sub\":\"u\",\"authorities\":\"ROLE_NOMSYNC_VIEW\",\"iss\":\"" ISS
			      "\",\"aud\":\"" AUD "\",\"exp\":1800003600}")),
		  "malformed");
	CHECK_STR(verify(sign(ed_pem, h,
			      "{\"sub\":\"u\",\"name\":\"a\\nb\",\"iss\":\"" ISS "\",\"aud\":\"" AUD
			      "\",\"exp\":1800003600}")),
		  "malformed");
}

static void test_malformed(void)
{
	ns_auth_claims c = claims();
	char *good = mint(rsa_pem, "r1", &c), *t, *big;
	size_t n = strlen(good);

	CHECK_STR(verify(strdup("")), "malformed");
	CHECK_STR(verify(strdup("abc")), "malformed");
	t = strdup(good);
	*strrchr(t, '.') = '\0'; /* two parts */
	CHECK_STR(verify(t), "malformed");
	t = malloc(n + 3);
	sprintf(t, "%s.x", good); /* four parts */
	CHECK_STR(verify(t), "malformed");
	t = strdup(good);
	t[2] = '*'; /* bad base64 in the header */
	CHECK_STR(verify(t), "malformed");
	t = strdup(good);
	t[n - 3] = '='; /* bad base64 in the signature */
	CHECK_STR(verify(t), "malformed");
	CHECK_STR(verify(assemble("not json", payload_ok, "x", 1)), "malformed");
	CHECK_STR(verify(assemble("[\"alg\"]", payload_ok, "x", 1)), "malformed");
	CHECK_STR(verify(assemble("{\"alg\":\"RS256\",\"alg\":\"none\",\"kid\":\"r1\"}", payload_ok,
				  "x", 1)),
		  "malformed");
	CHECK_STR(verify(sign(rsa_pem, "{\"alg\":\"RS256\",\"kid\":\"r1\"}", "not json")),
		  "malformed");
	CHECK_STR(verify(sign(rsa_pem, "{\"alg\":\"RS256\",\"kid\":\"r1\"}", "42")), "malformed");
	big = malloc(20000);
	memset(big, 'A', 19999);
	big[19999] = '\0';
	big[100] = '.';
	big[200] = '.';
	CHECK_STR(verify(big), "malformed");
	/* Not NUL-terminated: only len bytes are read. */
	{
		ns_principal p;
		ns_diag d;
		char *buf = malloc(n);

		memcpy(buf, good, n);
		CHECK_INT(ns_auth_verify(auth, buf, n, NOW, &p, &d), 0);
		CHECK_INT(ns_auth_verify(auth, buf, n - 1, NOW, &p, &d), NS_EAUTH);
		free(buf);
	}
	free(good);
}

/* Parse @p jwks; return the diag field ("" if accepted). */
static const char *jwks_refusal(const char *jwks)
{
	static ns_diag d;
	ns_auth *a = NULL;
	int rc = ns_auth_parse(&a, jwks, strlen(jwks), NULL, &d);

	ns_auth_close(a);
	if (rc == 0)
		return "";
	return rc == NS_ECONFIG && d.msg[0] != '\0' ? d.field : "(not NS_ECONFIG)";
}

/* The test set with key @p i edited: member @p m set to @p v (NULL: removed). */
static char *jwks_edit(size_t i, const char *m, json_t *v)
{
	json_t *root = json_loads(jwks_text, 0, NULL);
	json_t *key = json_array_get(json_object_get(root, "keys"), i);
	char *s;

	if (v != NULL)
		json_object_set_new(key, m, v);
	else
		json_object_del(key, m);
	s = json_dumps(root, 0);
	json_decref(root);
	return s;
}

static void check_edit(size_t i, const char *m, json_t *v, const char *want)
{
	char *s = jwks_edit(i, m, v);

	CHECK_STR(jwks_refusal(s), want);
	free(s);
}

static void test_jwks_refused(void)
{
	ns_diag d;

	CHECK_STR(jwks_refusal("{\"keys\":[]}"), "keys");
	CHECK_STR(jwks_refusal("{}"), "keys");
	CHECK_STR(jwks_refusal("[]"), "keys");
	CHECK_STR(jwks_refusal("{\"keys\":[1]}"), "keys");
	CHECK_STR(jwks_refusal("not json"), "jwks");
	CHECK_STR(jwks_refusal("{\"keys\":[{\"kty\":\"oct\",\"kid\":\"h\",\"k\":\"c2VjcmV0\"}]}"),
		  "kty");
	check_edit(0, "n", NULL, "n");
	check_edit(0, "e", json_string("AQ=="), "e"); /* padded */
	check_edit(0, "e", json_string("Ag"), "e");   /* even */
	check_edit(0, "kid", NULL, "kid");
	check_edit(0, "kid", json_string(""), "kid");
	check_edit(0, "kid", json_integer(3), "kid");
	check_edit(1, "kid", json_string("r1"), "kid"); /* duplicate */
	check_edit(0, "use", json_string("enc"), "use");
	check_edit(0, "alg", json_string("RS384"), "alg");
	check_edit(1, "alg", json_string("RS256"), "alg");
	check_edit(2, "alg", json_string("none"), "alg");
	check_edit(0, "key_ops", json_pack("[s]", "sign"), "key_ops");
	check_edit(0, "d", json_string("AQAB"), "d"); /* private key material */
	check_edit(1, "crv", json_string("P-384"), "crv");
	check_edit(1, "crv", NULL, "crv");
	check_edit(1, "x", json_string("AAAA"), "x");
	check_edit(1, "y", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
		   "x"); /* not on curve */
	check_edit(2, "crv", json_string("Ed448"), "crv");
	check_edit(2, "x", json_string("AAAA"), "x");
	check_edit(2, "kty", json_string("EC"), "alg"); /* an EdDSA key said to be EC */
	/* An RSA key of 1024 bits. */
	{
		EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
		BIGNUM *bn = NULL;
		unsigned char buf[128];
		int len;
		char *n;

		EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &bn);
		len = BN_bn2bin(bn, buf);
		n = b64(buf, (size_t)len);
		check_edit(0, "n", json_string(n), "n");
		free(n);
		BN_free(bn);
		EVP_PKEY_free(pk);
	}
	/* Keys accepted with the optional members a real identity service sends. */
	{
		char *s = jwks_edit(0, "x5t", json_string("abc"));

		CHECK_STR(jwks_refusal(s), "");
		free(s);
		check_edit(0, "key_ops", json_pack("[s]", "verify"), "");
		check_edit(0, "alg", NULL, "");
	}
	/* From a file. */
	{
		char p[128];
		FILE *f;
		ns_auth *a;

		path(p, "jwks.json");
		CHECK_INT(ns_auth_open(&a, p, NULL, &d), NS_EIO);
		f = fopen(p, "w");
		fputs(jwks_text, f);
		fclose(f);
		CHECK_INT(ns_auth_open(&a, p, NULL, &d), 0);
		CHECK_INT(ns_auth_nkeys(a), 3);
		ns_auth_close(a);
		unlink(p);
	}
}

static void test_mint_tools(void)
{
	ns_diag d = { { 0 } };
	const char *pems[1] = { forger_pem }, *kids[1] = { "" };
	char *json = NULL, *jwt = NULL;
	ns_auth_claims c = claims();

	CHECK_INT(ns_auth_keygen("HS256", "/nonexistent", &d), NS_EINVAL);
	CHECK_INT(ns_auth_keygen("RS256", rsa_pem, &d), NS_EIO); /* never overwritten */
	CHECK_INT(ns_auth_jwks_of(pems, kids, 1, &json, &d), NS_EINVAL);
	kids[0] = "a\tb";
	CHECK_INT(ns_auth_jwks_of(pems, kids, 1, &json, &d), NS_EINVAL);
	CHECK_INT(ns_auth_mint(rsa_pem, "a\nb", NULL, &c, &jwt, &d), NS_EINVAL);
	/* No key set at all: every token is refused. */
	{
		ns_principal p;
		char *t = mint(rsa_pem, "r1", &c);

		CHECK_INT(ns_auth_verify(NULL, t, strlen(t), NOW, &p, &d), NS_EAUTH);
		CHECK_STR(d.field, "unknown_key");
		free(t);
	}
	CHECK_INT(ns_auth_mint(rsa_pem, "r1", "ES256", &c, &jwt, &d), NS_EINVAL);
	CHECK_INT(ns_auth_mint(jwks_text, "r1", NULL, &c, &jwt, &d), NS_EIO);
	CHECK(jwt == NULL && json == NULL);
}

int main(void)
{
	int rc;

	if (setup() != 0) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	RUN(test_valid_each_alg);
	RUN(test_claims_read);
	RUN(test_forged);
	RUN(test_time);
	RUN(test_message);
	RUN(test_issuer_audience);
	RUN(test_alg_none);
	RUN(test_hs256_confusion);
	RUN(test_keys);
	RUN(test_user);
	RUN(test_malformed);
	RUN(test_jwks_refused);
	RUN(test_mint_tools);
	rc = TEST_SUMMARY();
	teardown();
	return rc;
}
