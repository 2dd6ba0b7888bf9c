/*
 * Who is behind a request and what they may do (issue 12; see http_int.h).
 *
 * Authentication: "Authorization: Bearer X" where X is the [http] token (the
 * service principal: user "service", every role) or a JWT that ns_auth_verify
 * accepts with the node's [auth] keys; or a web session cookie, which carries
 * the principal that signed in. A failed credential gets 401 with the reason
 * and an RFC 6750 WWW-Authenticate header.
 *
 * Authorisation: the route table below is the one place that says which role
 * each route needs; ns__dispatch looks every request up in it.
 */
#include "http/http_int.h"

#include <arpa/inet.h>
#include <sodium.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/*
 * The routes. {id} is one path segment naming a person (NOMS number or CRN).
 * role 0: any authenticated principal. person: the URL names one person (a
 * refusal is audited against them).
 */
static const ns__route ns__routes[] = {
	{ NS__R_INDEX, HTTP_GET, "/", "GET /", 0, 0 },
	{ NS__R_WHOAMI, HTTP_GET, "/v1/whoami", "GET /v1/whoami", 0, 0 },
	{ NS__R_CATALOGUE, HTTP_GET, "/v1/catalogue", "GET /v1/catalogue", 0, 0 },
	{ NS__R_REFDATA, HTTP_GET, "/v1/refdata", "GET /v1/refdata", 0, 0 },
	{ NS__R_EVENTS, HTTP_POST, "/v1/events", "POST /v1/events", NS_UROLE_RECORD, 0 },
	{ NS__R_SEARCH, HTTP_GET, "/v1/offenders", "GET /v1/offenders", NS_UROLE_VIEW, 0 },
	{ NS__R_VIEW, HTTP_GET, "/v1/offenders/{id}", "GET /v1/offenders/{id}", NS_UROLE_VIEW, 1 },
	{ NS__R_TIMELINE, HTTP_GET, "/v1/offenders/{id}/events", "GET /v1/offenders/{id}/events", NS_UROLE_VIEW, 1 },
	{ NS__R_CASELOAD, HTTP_GET, "/v1/caseload", "GET /v1/caseload", NS_UROLE_VIEW, 0 },
	{ NS__R_RELEASES, HTTP_GET, "/v1/releases", "GET /v1/releases", NS_UROLE_VIEW, 0 },
	{ NS__R_FIGURES, HTTP_GET, "/v1/figures", "GET /v1/figures", NS_UROLE_FIGURES, 0 },
	{ NS__R_AUDIT, HTTP_GET, "/v1/audit", "GET /v1/audit", NS_UROLE_AUDIT, 0 },
	{ NS__R_STATUS, HTTP_GET, "/v1/status", "GET /v1/status", NS_UROLE_ADMIN, 0 },
	{ NS__R_METRICS, HTTP_GET, "/metrics", "GET /metrics", NS_UROLE_ADMIN, 0 },
};

/* 1 if @p path matches @p pattern; the {id} segment, if any, into @p ref. */
static int ns__route_matches(const char *pattern, const char *path, char *ref, size_t cap)
{
	const char *id = strstr(pattern, "{id}");

	if (id == NULL)
		return strcmp(pattern, path) == 0;
	size_t pre = (size_t)(id - pattern);
	if (strncmp(pattern, path, pre) != 0)
		return 0;
	const char *seg = path + pre, *tail = id + 4;
	size_t sl = strcspn(seg, "/");
	if (sl == 0 || sl >= cap || strcmp(seg + sl, tail) != 0)
		return 0;
	memcpy(ref, seg, sl);
	ref[sl] = '\0';
	return 1;
}

const ns__route *ns__route_find(const char *path, char *ref, size_t cap)
{
	for (size_t i = 0; i < sizeof(ns__routes) / sizeof(ns__routes[0]); i++)
		if (ns__route_matches(ns__routes[i].path, path, ref, cap))
			return &ns__routes[i];
	return NULL;
}

int ns__route_allowed(ns__conn *c, const ns__route *r, const char *ref)
{
	char msg[160];
	const char *role;

	if ((c->who.roles & r->role) == r->role)
		return 1;
	role = ns_urole_name(r->role);
	if (r->person)
		ns__audit_note(c, ref, r->endpoint, NS_AUDIT_NO_ROLE);
	snprintf(msg, sizeof(msg), "%s needs the role %s", r->endpoint, role);
	ns__respond_json(c, 403, json_pack("{s:s,s:s,s:s}", "error", "forbidden", "role", role, "message", msg));
	return 0;
}

/* The service principal of the [http] token. */
static void ns__service(ns_principal *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->user, sizeof(p->user), "%s", "service");
	snprintf(p->name, sizeof(p->name), "%s", "Service credential ([http] token)");
	p->roles = NS_UROLE_ALL;
	p->service = 1;
}

int ns__credential(ns_http *h, const char *tok, ns_principal *p, ns_diag *why)
{
	size_t tl = strlen(h->token), n = strlen(tok);

	memset(p, 0, sizeof(*p));
	if (n == 0)
		return ns_diag_set(why, NS_EAUTH, "missing", "a bearer token is required");
	if (n == tl && tl > 0 && sodium_memcmp(tok, h->token, tl) == 0) {
		ns__service(p);
		return 0;
	}
	if (h->opts.auth == NULL)
		return ns_diag_set(why, NS_EAUTH, "invalid", "the bearer token is not valid");
	/*
	 * A client sends the same JWT with every request: remember the ones that
	 * verified (by hash, direct-mapped), and check only the expiry again.
	 * An ES256 or EdDSA verification costs 50-85 us, the hash under 1 us.
	 * A token is remembered only until its exp (no leeway): after that it
	 * goes through ns_auth_verify again, which gives the reason.
	 */
	int64_t now = (int64_t)time(NULL);
	uint8_t hash[32];
	crypto_generichash(hash, sizeof(hash), (const uint8_t *)tok, n, NULL, 0);
	ns__jwt_seen *seen = &h->jwt_seen[hash[0] % NS__JWT_SEEN];
	if (seen->who.expires > now && sodium_memcmp(seen->hash, hash, sizeof(hash)) == 0) {
		*p = seen->who;
		return 0;
	}
	int rc = ns_auth_verify(h->opts.auth, tok, n, now, p, why);
	if (rc == 0 && p->expires > now) {
		memcpy(seen->hash, hash, sizeof(hash));
		seen->who = *p;
	}
	if (rc != 0 && rc != NS_EAUTH)
		ns_diag_set(why, rc, "internal", "the token could not be checked: %s", ns_strerror(rc));
	return rc;
}

/* The service credential was used: say so through the log hook, at most every NS__LOG_EVERY_MS. */
static void ns__log_service(ns__conn *c)
{
	ns_http *h = c->h;
	uint64_t now = uv_now(h->loop);
	char ip[INET_ADDRSTRLEN] = "?", line[200];

	h->service_uses++;
	if (h->opts.log == NULL || (h->service_logged_at != 0 && now - h->service_logged_at < NS__LOG_EVERY_MS))
		return;
	h->service_logged_at = now ? now : 1;
	inet_ntop(AF_INET, &c->addr, ip, sizeof(ip));
	snprintf(line, sizeof(line),
		 "http: the service credential ([http] token) was used, from %s; %llu requests so far (logged at "
		 "most every %d s)",
		 ip, (unsigned long long)h->service_uses, NS__LOG_EVERY_MS / 1000);
	h->opts.log(h->opts.log_arg, line);
}

enum ns__auth ns__authenticate(ns__conn *c, ns_diag *why)
{
	memset(&c->who, 0, sizeof(c->who));
	if (strncasecmp(c->auth, "Bearer ", 7) == 0) {
		if (ns__credential(c->h, c->auth + 7, &c->who, why) != 0)
			return NS__AUTH_BAD;
		if (c->who.service)
			ns__log_service(c);
		return NS__AUTH_BEARER;
	}
	if (c->auth[0]) {
		ns_diag_set(why, NS_EAUTH, "invalid", "the Authorization header must be \"Bearer TOKEN\"");
		return NS__AUTH_BAD;
	}
	if (ns__session_principal(c, &c->who))
		return NS__AUTH_COOKIE;
	ns_diag_set(why, NS_EAUTH, "missing", "a bearer token is required");
	return NS__AUTH_NONE;
}

void ns__respond_unauthorized(ns__conn *c, const ns_diag *why)
{
	char desc[200], extra[300];
	size_t n = 0;

	/* error_description is a quoted string of printable ASCII without '"' or '\' (RFC 6750 3). */
	for (const unsigned char *p = (const unsigned char *)why->msg; *p && n < sizeof(desc) - 1; p++)
		desc[n++] = (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\') ? (char)*p : '\'';
	desc[n] = '\0';
	if (strcmp(why->field, "missing") == 0)
		snprintf(extra, sizeof(extra), "WWW-Authenticate: Bearer\r\n");
	else
		snprintf(extra, sizeof(extra), "WWW-Authenticate: Bearer error=\"invalid_token\", error_description=\"%s\"\r\n",
			 desc);
	json_t *j = json_pack("{s:s,s:o,s:o}", "error", "unauthorized", "reason", ns__safe_string(why->field),
			      "message", ns__safe_string(why->msg));
	char *txt = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	if (txt == NULL) {
		ns__respond(c, 500, "application/json", "{\"error\":\"internal\"}", 20, NULL);
		return;
	}
	ns__respond(c, 401, "application/json", txt, strlen(txt), extra);
	free(txt);
}

/* GET /v1/whoami: the principal behind the request. */
void ns__get_whoami(ns__conn *c)
{
	json_t *roles = json_array();

	for (unsigned bit = 1; bit & NS_UROLE_ALL; bit <<= 1)
		if (c->who.roles & bit)
			json_array_append_new(roles, json_string(ns_urole_name(bit)));
	ns__respond_json(c, 200, json_pack("{s:o,s:o,s:o,s:b}", "user", ns__safe_string(c->who.user), "name",
				       ns__safe_string(c->who.name), "roles", roles, "service", c->who.service));
}
