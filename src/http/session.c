/*
 * Web sign-in sessions and the CSRF checks on cookie requests (see http.h).
 *
 * POST /login with the token or a JWT makes a session for its principal (ending
 * no later than the JWT): 32 random bytes, sent to the
 * browser as the HttpOnly cookie nomsync_session (hex) and kept here only as
 * their BLAKE2b hash with an expiry, in a table of at most NS__MAX_SESSIONS
 * (when full, the session closest to its expiry makes room). So the cookie
 * never carries the token or JWT, a stolen cookie dies with its session, and POST
 * /logout really ends it.
 *
 * SameSite=Strict does not stop requests from other ports of the same host
 * or from sibling subdomains (same site, other origin), so a cookie request
 * that changes something must also show it comes from the page: an Origin
 * naming this server's Host (scheme https on a TLS listener; http or https
 * on a plain one, for a TLS proxy that passes Host on), or, without Origin
 * (or with "null"), Sec-Fetch-Site: same-origin; and
 * POST /v1/events must be application/json, which no cross-origin form or
 * "simple" request can send. A bearer request is checked the same way when
 * it shows a browser sent it (Origin, or Sec-Fetch-Site other than "none"):
 * an estate login proxy that injects "Authorization: Bearer" into every
 * browser request turns the bearer into an ambient credential, like a
 * cookie. Machine clients send neither header and are not checked.
 */
#include "http/http_int.h"

#include <sodium.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define NS__COOKIE_NAME "nomsync_session="

static void ns__session_hash(uint8_t out[32], const char *id)
{
	crypto_generichash(out, 32, (const uint8_t *)id, strlen(id), NULL, 0);
}

/* The session id in the request's Cookie header into @p id; 1 if there is a well-formed one. */
static int ns__cookie_id(const ns__conn *c, char id[2 * NS__SESSION_ID_BYTES + 1])
{
	const size_t nl = sizeof(NS__COOKIE_NAME) - 1, il = 2 * NS__SESSION_ID_BYTES;

	for (const char *k = strstr(c->cookie, NS__COOKIE_NAME); k; k = strstr(k + 1, NS__COOKIE_NAME)) {
		if (k != c->cookie && k[-1] != ' ' && k[-1] != ';')
			continue; /* the tail of another cookie's name */
		const char *v = k + nl;
		size_t n = strcspn(v, "; ");
		if (n != il || strspn(v, "0123456789abcdef") < il)
			return 0;
		memcpy(id, v, il);
		id[il] = '\0';
		return 1;
	}
	return 0;
}

static void ns__session_drop(ns_http *h, size_t i)
{
	h->sessions[i] = h->sessions[--h->nsessions];
}

/* The live session with id @p id, or -1 (an expired one is dropped on the way). */
static long ns__session_find(ns_http *h, const char *id)
{
	uint8_t hash[32];
	uint64_t now = uv_now(h->loop);

	ns__session_hash(hash, id);
	for (size_t i = 0; i < h->nsessions; i++) {
		if (memcmp(h->sessions[i].hash, hash, sizeof(hash)) != 0)
			continue;
		if (h->sessions[i].expires <= now) {
			ns__session_drop(h, i);
			return -1;
		}
		return (long)i;
	}
	return -1;
}

int ns__session_principal(ns__conn *c, ns_principal *who)
{
	char id[2 * NS__SESSION_ID_BYTES + 1];
	long i;

	if (!ns__cookie_id(c, id) || (i = ns__session_find(c->h, id)) < 0)
		return 0;
	*who = c->h->sessions[i].who;
	return 1;
}

int ns__session_new(ns_http *h, const ns_principal *who, char id[2 * NS__SESSION_ID_BYTES + 1], long *max_age)
{
	uint8_t raw[NS__SESSION_ID_BYTES];
	uint64_t now = uv_now(h->loop);
	double life = h->opts.session_lifetime;
	size_t slot;

	/* A session signed in with a JWT ends with the token. */
	if (who->expires != 0 && (double)(who->expires - (int64_t)time(NULL)) < life)
		life = (double)(who->expires - (int64_t)time(NULL));
	if (life < 1)
		life = 1;
	if (h->sessions == NULL && (h->sessions = calloc(NS__MAX_SESSIONS, sizeof(*h->sessions))) == NULL)
		return NS_ENOMEM;
	for (size_t i = h->nsessions; i-- > 0;)
		if (h->sessions[i].expires <= now)
			ns__session_drop(h, i);
	slot = h->nsessions;
	if (slot == NS__MAX_SESSIONS) {
		slot = 0;
		for (size_t i = 1; i < h->nsessions; i++)
			if (h->sessions[i].expires < h->sessions[slot].expires)
				slot = i;
	} else {
		h->nsessions++;
	}
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(id, 2 * NS__SESSION_ID_BYTES + 1, raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	ns__session_hash(h->sessions[slot].hash, id);
	h->sessions[slot].expires = now + (uint64_t)(life * 1000);
	h->sessions[slot].who = *who;
	*max_age = (long)life;
	return 0;
}

void ns__session_end(ns__conn *c)
{
	char id[2 * NS__SESSION_ID_BYTES + 1];
	long i;

	if (ns__cookie_id(c, id) && (i = ns__session_find(c->h, id)) >= 0)
		ns__session_drop(c->h, (size_t)i);
}

const char *ns__csrf_refusal(ns__conn *c, int need_json)
{
	if (need_json && !(strncasecmp(c->ctype, "application/json", 16) == 0 &&
			   (c->ctype[16] == '\0' || c->ctype[16] == ';' || c->ctype[16] == ' ')))
		return "a signed-in page must send events as Content-Type: application/json";
	if (c->fetch_site[0] && strcasecmp(c->fetch_site, "same-origin") != 0)
		return "the request came from another site (Sec-Fetch-Site)";
	/*
	 * "Origin: null" is what the page's own requests carry under its
	 * no-referrer policy (and what sandboxed or privacy-hidden foreign ones
	 * carry): it says nothing, and Sec-Fetch-Site must decide.
	 */
	if (c->origin[0] && strcmp(c->origin, "null") != 0) {
		const char *o = c->origin;
		if (strncasecmp(o, "http://", 7) == 0 && c->ssl == NULL)
			o += 7;
		else if (strncasecmp(o, "https://", 8) == 0)
			o += 8;
		else
			return "the request came from another site (Origin)";
		if (c->host[0] == '\0' || strcasecmp(o, c->host) != 0)
			return "the request came from another site (Origin)";
	} else if (c->fetch_site[0] == '\0') {
		return "a signed-in request that changes something must carry Origin or Sec-Fetch-Site";
	}
	return NULL;
}

const char *ns__bearer_csrf_refusal(ns__conn *c, int need_json)
{
	/* No browser provenance (a machine client), or a navigation the user made themselves. */
	if (c->origin[0] == '\0' && (c->fetch_site[0] == '\0' || strcasecmp(c->fetch_site, "none") == 0))
		return NULL;
	return ns__csrf_refusal(c, need_json);
}
