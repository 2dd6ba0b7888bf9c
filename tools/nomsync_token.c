/*
 * nomsync token keygen | jwks | mint: local keys and JWTs for the demo and
 * the tests (nomsync/auth.h). A real deployment trusts its identity
 * service's JWKS instead.
 */
#include "nomsync_token.h"

#include <nomsync/auth.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int ns__token_usage(void)
{
	fputs("usage: nomsync token COMMAND [ARGS]\n\n" NS__TOKEN_USAGE, stderr);
	return 2;
}

static int ns__token_fail(const char *what, int rc, const ns_diag *d)
{
	fprintf(stderr, "nomsync: token %s: %s\n", what, d->msg[0] ? d->msg : ns_strerror(rc));
	return 1;
}

/* The default kid of a key file: its name without directories and ".pem". */
static char *ns__default_kid(const char *pem)
{
	const char *base = strrchr(pem, '/');
	size_t n;
	char *kid;

	base = base != NULL ? base + 1 : pem;
	n = strlen(base);
	if (n > 4 && strcmp(base + n - 4, ".pem") == 0)
		n -= 4;
	if ((kid = malloc(n + 1)) != NULL) {
		memcpy(kid, base, n);
		kid[n] = '\0';
	}
	return kid;
}

static int ns__print_jwks(const char *const *pems, const char *const *kids, size_t n)
{
	ns_diag d;
	char *json;
	int rc;

	ns_diag_clear(&d);
	if ((rc = ns_auth_jwks_of(pems, kids, n, &json, &d)) != 0)
		return ns__token_fail("jwks", rc, &d);
	printf("%s\n", json);
	free(json);
	return 0;
}

static int ns__keygen(int argc, char **argv)
{
	const char *alg = NULL, *out = NULL, *kid = NULL;
	ns_diag d;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--alg") == 0 && i + 1 < argc)
			alg = argv[++i];
		else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (strcmp(argv[i], "--kid") == 0 && i + 1 < argc)
			kid = argv[++i];
		else
			return ns__token_usage();
	}
	if (alg == NULL || out == NULL)
		return ns__token_usage();
	ns_diag_clear(&d);
	if ((rc = ns_auth_keygen(alg, out, &d)) != 0)
		return ns__token_fail("keygen", rc, &d);
	return kid != NULL ? ns__print_jwks(&out, &kid, 1) : 0;
}

static int ns__jwks(int argc, char **argv)
{
	const char **pems, **kids;
	char **own;
	int n = argc - 1, rc;

	if (n < 1)
		return ns__token_usage();
	pems = calloc((size_t)n, sizeof *pems);
	kids = calloc((size_t)n, sizeof *kids);
	own = calloc((size_t)n * 2, sizeof *own);
	rc = pems == NULL || kids == NULL || own == NULL;
	for (int i = 0; rc == 0 && i < n; i++) {
		char *colon = strrchr(argv[i + 1], ':');

		own[2 * i] = strdup(argv[i + 1]);
		if (own[2 * i] == NULL) {
			rc = 1;
			break;
		}
		pems[i] = own[2 * i];
		if (colon != NULL) {
			own[2 * i][colon - argv[i + 1]] = '\0';
			kids[i] = own[2 * i] + (colon - argv[i + 1]) + 1;
		} else if ((kids[i] = own[2 * i + 1] = ns__default_kid(pems[i])) == NULL) {
			rc = 1;
		}
	}
	if (rc != 0)
		fprintf(stderr, "nomsync: token jwks: out of memory\n");
	else
		rc = ns__print_jwks(pems, kids, (size_t)n);
	for (int i = 0; own != NULL && i < 2 * n; i++)
		free(own[i]);
	free(own);
	free(pems);
	free(kids);
	return rc;
}

/* "VIEW,RECORD" or "ROLE_NOMSYNC_VIEW,..." or "ALL"; -1 on an unknown role. */
static long ns__roles(const char *list)
{
	char buf[256], *save = NULL;
	unsigned roles = 0;

	if (strlen(list) >= sizeof buf)
		return -1;
	strcpy(buf, list);
	for (char *r = strtok_r(buf, ",", &save); r != NULL; r = strtok_r(NULL, ",", &save)) {
		char full[64];
		unsigned bit;

		if (strcmp(r, "ALL") == 0) {
			roles |= NS_UROLE_ALL;
			continue;
		}
		snprintf(full, sizeof full, "%s%s",
			 strncmp(r, "ROLE_", 5) == 0 ? "" : "ROLE_NOMSYNC_", r);
		if ((bit = ns_urole_from_name(full)) == 0) {
			fprintf(stderr, "nomsync: token mint: unknown role '%s'\n", r);
			return -1;
		}
		roles |= bit;
	}
	return roles;
}

/* A whole number of seconds, within +-10 years. */
static int ns__seconds(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *out > 315360000L || *out < -315360000L) {
		fprintf(stderr, "nomsync: token mint: '%s' is not a number of seconds\n", s);
		return -1;
	}
	return 0;
}

static int ns__mint(int argc, char **argv)
{
	const char *key = NULL, *kid = NULL, *alg = NULL;
	ns_auth_claims c = { NULL };
	long ttl = 3600, nbf_in = 0, roles = 0;
	int has_nbf = 0, rc;
	char *jwt = NULL, *def_kid = NULL;
	ns_diag d;
	time_t now = time(NULL);

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL)
			return ns__token_usage();
		i++;
		if (strcmp(a, "--key") == 0)
			key = v;
		else if (strcmp(a, "--kid") == 0)
			kid = v;
		else if (strcmp(a, "--alg") == 0)
			alg = v;
		else if (strcmp(a, "--user") == 0)
			c.user = v;
		else if (strcmp(a, "--name") == 0)
			c.name = v;
		else if (strcmp(a, "--iss") == 0)
			c.issuer = v;
		else if (strcmp(a, "--aud") == 0)
			c.audience = v;
		else if (strcmp(a, "--roles") == 0) {
			if ((roles = ns__roles(v)) < 0)
				return 2;
		} else if (strcmp(a, "--ttl") == 0) {
			if (ns__seconds(v, &ttl) != 0)
				return 2;
		} else if (strcmp(a, "--nbf-in") == 0) {
			if (ns__seconds(v, &nbf_in) != 0)
				return 2;
			has_nbf = 1;
		} else
			return ns__token_usage();
	}
	if (key == NULL || c.user == NULL)
		return ns__token_usage();
	if (kid == NULL && (kid = def_kid = ns__default_kid(key)) == NULL)
		return 1;
	c.roles = (unsigned)roles;
	c.issued = now;
	c.expires = now + ttl;
	c.not_before = has_nbf ? now + nbf_in : 0;
	ns_diag_clear(&d);
	rc = ns_auth_mint(key, kid, alg, &c, &jwt, &d);
	free(def_kid);
	if (rc != 0)
		return ns__token_fail("mint", rc, &d);
	printf("%s\n", jwt);
	free(jwt);
	return 0;
}

int ns__cmd_token(int argc, char **argv)
{
	int rc;

	if (argc < 2)
		return ns__token_usage();
	if (strcmp(argv[1], "keygen") == 0)
		rc = ns__keygen(argc - 1, argv + 1);
	else if (strcmp(argv[1], "jwks") == 0)
		rc = ns__jwks(argc - 1, argv + 1);
	else if (strcmp(argv[1], "mint") == 0)
		rc = ns__mint(argc - 1, argv + 1);
	else
		return ns__token_usage();
	if (fflush(stdout) != 0) {
		fprintf(stderr, "nomsync: write error on stdout\n");
		rc = 1;
	}
	return rc;
}
