/*
 * Fuzz target: JWKS parsing and JWT verification (nomsync/auth.h).
 *
 * Two kinds of input:
 *
 *   JWKS "\n\n" TOKEN ["\n" TOKEN]...
 *       ns_auth_parse on the key set (unterminated, exact-size copy); each
 *       token line (at most 16) verified against it, or against the
 *       harness's own set when the fuzzed one is refused.
 *   "signed\n" HEADER-JSON "\n" PAYLOAD-JSON
 *       the header and payload, whatever they say, signed with the harness's
 *       Ed25519 key (kid "fz", made at start-up), so that the claims checks
 *       after the signature are reached; verified against the harness's set
 *       (fz EdDSA, rs RS256, ec ES256; issuer "iss-fz", audience "aud-fz").
 *
 * Invariants: ns_auth_parse gives 0 with 1 to 64 keys, or NS_ECONFIG with a
 * message; ns_auth_verify gives 0 with a printable user id, a terminated
 * name, only NS_UROLE_* bits and exp + leeway after now, or NS_EAUTH with
 * one of the documented reasons, a message and a zeroed principal.
 */
#include "fuzz_common.h"

#include <nomsync/auth.h>

#define FZ_NOW 1800000000
#define FZ_LEEWAY 60

static ns_auth *fz_set;
static char fz_key[600];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = ns_fuzz_scratch(), *pems[3], *kids[3] = { "fz", "rs", "ec" };
	static char paths[3][600];
	const char *algs[3] = { "EdDSA", "RS256", "ES256" };
	ns_auth_opts o = { "iss-fz", "aud-fz", FZ_LEEWAY };
	ns_diag d;
	char *jwks;

	(void)argc;
	(void)argv;
	for (int i = 0; i < 3; i++) {
		snprintf(paths[i], sizeof paths[i], "%s/jwt-%s.pem", dir, kids[i]);
		pems[i] = paths[i];
		if (ns_auth_keygen(algs[i], paths[i], &d) != 0)
			ns_fuzz_die("keygen %s: %s", algs[i], d.msg);
	}
	snprintf(fz_key, sizeof fz_key, "%s", paths[0]);
	if (ns_auth_jwks_of(pems, kids, 3, &jwks, &d) != 0 ||
	    ns_auth_parse(&fz_set, jwks, strlen(jwks), &o, &d) != 0)
		ns_fuzz_die("the harness's key set: %s", d.msg);
	free(jwks);
	return 0;
}

static void check_verify(const ns_auth *a, const char *tok, size_t len)
{
	static const char *const reasons[] = { "malformed",     "alg_refused",    "unknown_key",
					       "bad_signature", "expired",        "not_yet_valid",
					       "wrong_issuer",  "wrong_audience", "no_user" };
	ns_principal p, zero;
	ns_diag d;
	int rc, known = 0;

	ns_diag_clear(&d);
	memset(&p, 0xa5, sizeof p);
	rc = ns_auth_verify(a, tok, len, FZ_NOW, &p, &d);
	if (rc != 0) {
		if (rc != NS_EAUTH)
			ns_fuzz_die("ns_auth_verify returned %s", ns_err_name(rc));
		for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
			known |= strcmp(d.field, reasons[i]) == 0;
		if (!known || d.msg[0] == '\0')
			ns_fuzz_die("refused with reason '%s' and message '%s'", d.field, d.msg);
		memset(&zero, 0, sizeof zero);
		if (memcmp(&p, &zero, sizeof p) != 0)
			ns_fuzz_die("a refused token left a principal behind");
		return;
	}
	if (strnlen(p.user, sizeof p.user) >= sizeof p.user || p.user[0] == '\0' ||
	    strnlen(p.name, sizeof p.name) >= sizeof p.name)
		ns_fuzz_die("accepted with an empty or unterminated user or name");
	for (const char *c = p.user; *c; c++)
		if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			ns_fuzz_die("accepted user id with byte 0x%02x", (unsigned char)*c);
	if ((p.roles & ~(unsigned)NS_UROLE_ALL) != 0 || p.service != 0)
		ns_fuzz_die("accepted with roles %#x, service %d", p.roles, p.service);
	if (p.expires + FZ_LEEWAY <= FZ_NOW)
		ns_fuzz_die("accepted a token that expired at %lld", (long long)p.expires);
}

static void signed_input(const char *text, size_t len)
{
	const char *nl = memchr(text, '\n', len);
	char *header, *payload, *jwt = NULL;
	ns_diag d;
	int rc;

	if (nl == NULL)
		return;
	header = strndup(text, (size_t)(nl - text));
	payload = strndup(nl + 1, len - (size_t)(nl + 1 - text));
	if (header == NULL || payload == NULL)
		ns_fuzz_die("out of memory");
	rc = ns_auth_sign(fz_key, header, payload, &jwt, &d);
	if (rc != 0)
		ns_fuzz_die("ns_auth_sign: %s", d.msg);
	check_verify(fz_set, jwt, strlen(jwt));
	free(jwt);
	free(header);
	free(payload);
}

static void jwks_input(const char *text, size_t len)
{
	const char *sep = NULL, *tok, *end = text + len;
	ns_auth *a = NULL;
	ns_diag d;
	int rc;

	for (const char *p = text; p + 1 < end; p++)
		if (p[0] == '\n' && p[1] == '\n') {
			sep = p;
			break;
		}
	ns_diag_clear(&d);
	rc = ns_auth_parse(&a, text, sep != NULL ? (size_t)(sep - text) : len, NULL, &d);
	if (rc != 0 && (rc != NS_ECONFIG || d.msg[0] == '\0' || a != NULL))
		ns_fuzz_die("ns_auth_parse returned %s ('%s')", ns_err_name(rc), d.msg);
	if (rc == 0 && (ns_auth_nkeys(a) < 1 || ns_auth_nkeys(a) > 64))
		ns_fuzz_die("a key set of %zu keys", ns_auth_nkeys(a));
	tok = sep != NULL ? sep + 2 : end;
	for (int n = 0; tok < end && n < 16; n++) {
		const char *nl = memchr(tok, '\n', (size_t)(end - tok));
		const char *stop = nl != NULL ? nl : end;
		/* An exact-size copy, so that reading past the length is caught. */
		size_t tlen = (size_t)(stop - tok);
		char *copy = malloc(tlen ? tlen : 1);

		if (copy == NULL)
			ns_fuzz_die("out of memory");
		memcpy(copy, tok, tlen);
		check_verify(a != NULL ? a : fz_set, copy, tlen);
		free(copy);
		tok = stop + 1;
	}
	ns_auth_close(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	if (size >= 7 && memcmp(text, "signed\n", 7) == 0)
		signed_input(text + 7, size - 7);
	else
		jwks_input(text, size);
	free(text);
	return 0;
}
