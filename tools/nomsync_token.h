/* `nomsync token`: test keys, their JWKS and minted JWTs (tools/nomsync_token.c). */
#ifndef NS_TOOLS_NOMSYNC_TOKEN_H
#define NS_TOOLS_NOMSYNC_TOKEN_H

/* The usage lines of `nomsync token`, for nomsync's usage text. */
#define NS__TOKEN_USAGE                                                                            \
	"  token keygen --alg RS256|ES256|EdDSA --out KEY.pem [--kid K]\n"                         \
	"                                   a new signing key for test tokens (mode 0600; with\n"  \
	"                                   --kid, print its JWKS) (no --dir)\n"                   \
	"  token jwks KEY.pem[:KID]...      the JWKS of keys ([auth] jwks; KID defaults to the\n"  \
	"                                   file name without .pem) (no --dir)\n"                  \
	"  token mint --key KEY.pem --user U [--kid K] [--name NAME] [--roles R,...]\n"            \
	"             [--iss I] [--aud A] [--ttl SECONDS] [--nbf-in SECONDS] [--alg ALG]\n"        \
	"                                   print a JWT for U; R: VIEW, RECORD, FIGURES, AUDIT,\n" \
	"                                   ADMIN, ALL (or ROLE_NOMSYNC_*); --ttl default 3600,\n" \
	"                                   negative for an expired token (no --dir)\n"

/* Run `nomsync token ...` (argv[0] is "token"); returns the exit status. */
int ns__cmd_token(int argc, char **argv);

#endif /* NS_TOOLS_NOMSYNC_TOKEN_H */
