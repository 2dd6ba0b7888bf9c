/*
 * Roster parsing and the trust policy built on it.
 */
#include <nomsync/roster.h>
#include <nomsync/validate.h>

#include "core/util.h"

#include <sodium.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ns_roster_free(ns_roster *r)
{
	if (r != NULL) {
		free(r->e);
		r->e = NULL;
		r->n = 0;
	}
}

static int ns__add_entry(ns_roster *r, const ns_roster_entry *e)
{
	void *p = realloc(r->e, (r->n + 1) * sizeof(*r->e));
	if (p == NULL)
		return NS_ENOMEM;
	r->e = p;
	r->e[r->n++] = *e;
	return 0;
}

/*
 * Another entry whose key converts to the same CURVE (transport) key as
 * @e's under a different Ed25519 key: two Ed25519 keys that differ only in
 * the sign bit do, and ZAP could not tell those two sites apart.
 */
static const ns_roster_entry *ns__same_transport_key(const ns_roster *r, const ns_roster_entry *e)
{
	for (size_t i = 0; i < r->n; i++)
		if (memcmp(r->e[i].curve_pk, e->curve_pk, NS_KEY_BYTES) == 0 &&
		    memcmp(r->e[i].pk, e->pk, NS_KEY_BYTES) != 0)
			return &r->e[i];
	return NULL;
}

int ns_roster_parse(const char *text, size_t len, ns_roster *r, ns_diag *d)
{
	size_t lineno = 0, pos = 0;

	memset(r, 0, sizeof(*r));
	if (ns_crypto_init() != 0)
		return NS_EINVAL;
	while (pos < len) {
		/* Fields as long as the line, so that a long word is never split
		 * across two fields by a %Ns width and then miscounted. */
		char line[512], site[512], role[512], region[512], key[512], extra[512];
		size_t l = 0;
		ns_roster_entry e;
		int n;

		lineno++;
		while (pos < len && text[pos] != '\n') {
			if (l < sizeof(line) - 1)
				line[l++] = text[pos];
			pos++;
		}
		pos++;
		line[l] = '\0';
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		n = sscanf(line, "%511s %511s %511s %511s %511s", site, role, region, key, extra);
		if (n <= 0)
			continue;
		if (n != 4) {
			ns_roster_free(r);
			return ns_diag_set(d, NS_ECONFIG, "roster",
					   "line %zu: expected 'SITE ROLE REGION KEY' (region '-' if none)", lineno);
		}
		memset(&e, 0, sizeof(e));
		if ((e.role = ns_role_parse(role)) == NS_ROLE_NONE) {
			ns_roster_free(r);
			return ns_diag_set(d, NS_ECONFIG, "roster", "line %zu: unknown role '%s'", lineno, role);
		}
		if (strlen(site) >= NS_SITE_MAX || ns_validate_site(e.role, site, NULL) != 0) {
			ns_roster_free(r);
			return ns_diag_set(d, NS_ECONFIG, "roster", "line %zu: '%.20s' is not a valid %s site code",
					   lineno, site, role);
		}
		memcpy(e.site, site, strlen(site) + 1);
		if (strcmp(region, "-") != 0) {
			if (!ns_is_region(region)) {
				ns_roster_free(r);
				return ns_diag_set(d, NS_ECONFIG, "roster",
						   "line %zu: '%.20s' is not a probation region code", lineno, region);
			}
			memcpy(e.region, region, strlen(region) + 1);
		}
		if (ns_unhex(e.pk, NS_KEY_BYTES, key) != 0 ||
		    crypto_sign_ed25519_pk_to_curve25519(e.curve_pk, e.pk) != 0) {
			ns_roster_free(r);
			return ns_diag_set(d, NS_ECONFIG, "roster",
					   "line %zu: key must be a valid Ed25519 public key in 64 hex digits",
					   lineno);
		}
		if (ns_roster_by_site(r, e.site) || ns_roster_by_key(r, e.pk)) {
			ns_roster_free(r);
			return ns_diag_set(d, NS_ECONFIG, "roster", "line %zu: site %s or its key is listed twice",
					   lineno, e.site);
		}
		const ns_roster_entry *twin = ns__same_transport_key(r, &e);
		if (twin != NULL) {
			ns_diag_set(d, NS_ECONFIG, "roster",
				    "line %zu: %s's key converts to the same transport key as %s's (keys differing "
				    "only in the sign bit); list one of them",
				    lineno, e.site, twin->site);
			ns_roster_free(r);
			return NS_ECONFIG;
		}
		if (ns__add_entry(r, &e) != 0) {
			ns_roster_free(r);
			return NS_ENOMEM;
		}
	}
	return 0;
}

int ns_roster_load(const char *path, ns_roster *r, ns_diag *d)
{
	return ns_roster_load_signed(path, NULL, r, d);
}

/* The signature line's span in @text, if any. */
static const char *ns__sig_line(const char *text, size_t len, size_t *line_len)
{
	size_t pl = strlen(NS_ROSTER_SIG_PREFIX);
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (text + pos)) + 1 : len - pos;
		if (l >= pl && memcmp(text + pos, NS_ROSTER_SIG_PREFIX, pl) == 0) {
			*line_len = l;
			return text + pos;
		}
		pos += l;
	}
	return NULL;
}

/* Hash of the roster text without its signature line. */
static void ns__roster_digest(const char *text, size_t len, uint8_t out[32])
{
	crypto_generichash_state st;
	size_t ll = 0;
	const char *sl = ns__sig_line(text, len, &ll);

	crypto_generichash_init(&st, NULL, 0, 32);
	if (sl) {
		crypto_generichash_update(&st, (const uint8_t *)text, (size_t)(sl - text));
		crypto_generichash_update(&st, (const uint8_t *)sl + ll, len - (size_t)(sl - text) - ll);
	} else {
		crypto_generichash_update(&st, (const uint8_t *)text, len);
	}
	crypto_generichash_final(&st, out, 32);
}

int ns_roster_check_signature(const char *text, size_t len, const uint8_t authority[NS_KEY_BYTES], ns_diag *d)
{
	uint8_t digest[32], sig[64];
	char hex[129];
	size_t ll = 0, l2 = 0;
	const char *sl = ns__sig_line(text, len, &ll);
	size_t pl = strlen(NS_ROSTER_SIG_PREFIX);

	if (sl && ns__sig_line(sl + ll, len - (size_t)(sl + ll - text), &l2) != NULL)
		return ns_diag_set(d, NS_ECONFIG, "roster", "the roster has more than one signature line");
	if (sl == NULL)
		return ns_diag_set(d, NS_ECONFIG, "roster", "the roster is not signed by the roster authority");
	if (ll < pl + 128) 
		return ns_diag_set(d, NS_ECONFIG, "roster", "the roster's signature line is malformed");
	memcpy(hex, sl + pl, 128);
	hex[128] = '\0';
	if (ns_unhex(sig, 64, hex) != 0)
		return ns_diag_set(d, NS_ECONFIG, "roster", "the roster's signature line is malformed");
	ns__roster_digest(text, len, digest);
	if (crypto_sign_verify_detached(sig, digest, sizeof(digest), authority) != 0)
		return ns_diag_set(d, NS_ECONFIG, "roster",
				   "the roster's signature does not verify with the authority key: it was altered or signed by another key");
	return 0;
}

int ns_roster_sign(const char *text, size_t len, const ns_identity *authority, char **out, size_t *out_len)
{
	uint8_t digest[32], sig[64];
	char hex[129];
	size_t n = 0, pos = 0;
	char *buf = malloc(len + strlen(NS_ROSTER_SIG_PREFIX) + 130 + 2);

	if (buf == NULL)
		return NS_ENOMEM;
	/* Copy every line but old signature lines (all of them). */
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - (text + pos)) + 1 : len - pos;
		if (!(l >= strlen(NS_ROSTER_SIG_PREFIX) &&
		      memcmp(text + pos, NS_ROSTER_SIG_PREFIX, strlen(NS_ROSTER_SIG_PREFIX)) == 0)) {
			memcpy(buf + n, text + pos, l);
			n += l;
		}
		pos += l;
	}
	if (n > 0 && buf[n - 1] != '\n')
		buf[n++] = '\n';
	ns__roster_digest(buf, n, digest);
	crypto_sign_detached(sig, NULL, digest, sizeof(digest), authority->sk);
	ns_hex(hex, sig, 64);
	n += (size_t)sprintf(buf + n, "%s%s\n", NS_ROSTER_SIG_PREFIX, hex);
	*out = buf;
	*out_len = n;
	return 0;
}

int ns_roster_load_signed(const char *path, const uint8_t *authority, ns_roster *r, ns_diag *d)
{
	char *buf;
	size_t len;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = ns__read_file(path, (size_t)1 << 24, &buf, &len)) != 0)
		return ns_diag_set(d, NS_ECONFIG, "roster", "cannot read %s: %s", path,
				   rc == NS_EINVAL ? "larger than 16 MiB" : strerror(errno));
	rc = authority ? ns_roster_check_signature(buf, len, authority, d) : 0;
	if (rc == 0)
		rc = ns_roster_parse(buf, len, r, d);
	free(buf);
	if (rc == 0 && authority) {
		r->has_authority = 1;
		memcpy(r->authority, authority, NS_KEY_BYTES);
	}
	return rc;
}

typedef struct ns__apply_ctx {
	ns_roster *r;
	uint64_t last;
	ns_roster_warn_fn warn;
	void *arg;
} ns__apply_ctx;

/* Stops ns__apply_cb at a roster change held without its payload. */
#define NS__APPLY_WAIT 1

static int ns__apply_cb(void *arg, const ns_event *ev)
{
	ns__apply_ctx *a = arg;
	ns_diag d;
	int rc;

	ns_diag_clear(&d);
	if ((rc = ns_roster_apply(a->r, ev, &d)) == NS_EAGAIN)
		return NS__APPLY_WAIT; /* this and later changes wait until its payload arrives */
	if (rc != 0 && a->warn)
		a->warn(a->arg, ev, &d);
	a->last = ev->seq;
	return 0;
}

int ns_roster_load_store(const char *path, const uint8_t *authority, ns_store *store, ns_roster *out,
			 uint64_t *applied, ns_roster_warn_fn warn, void *warn_arg, ns_diag *d)
{
	ns__apply_ctx a = { out, 0, warn, warn_arg };
	int rc = ns_roster_load_signed(path, authority, out, d);

	if (applied)
		*applied = 0;
	if (rc != 0 || authority == NULL)
		return rc;
	rc = ns_store_read_range(store, authority, 1, SIZE_MAX, SIZE_MAX, ns__apply_cb, &a);
	if (rc != 0 && rc != NS__APPLY_WAIT) {
		ns_roster_free(out);
		return ns_diag_set(d, rc, "roster", "cannot read roster changes: %s", ns_strerror(rc));
	}
	if (applied)
		*applied = a.last;
	return 0;
}

int ns_roster_apply(ns_roster *r, const ns_event *ev, ns_diag *d)
{
	const Nomsync__Payload *p = ev->payload;
	ns_roster_entry e, *old;
	uint8_t key[NS_KEY_BYTES];

	if (!r->has_authority || memcmp(ev->origin, r->authority, NS_KEY_BYTES) != 0)
		return ns_diag_set(d, NS_EUNKNOWN, "origin", "roster changes are accepted only from the authority key");
	if (p == NULL)
		return ns_diag_set(d, NS_EAGAIN, "payload",
				   "roster change seq %llu is held without its payload: not applied until it arrives",
				   (unsigned long long)ev->seq);
	memset(&e, 0, sizeof(e));
	if (p->body_case == NOMSYNC__PAYLOAD__BODY_ROSTER_SITE_ADDED) {
		const Nomsync__RosterSiteAdded *x = p->roster_site_added;
		if (ns_unhex(e.pk, NS_KEY_BYTES, x->key) != 0 || crypto_sign_ed25519_pk_to_curve25519(e.curve_pk, e.pk) != 0)
			return ns_diag_set(d, NS_EVALID, "key", "bad key");
		if (ns_roster_by_key(r, e.pk))
			return 0; /* already listed: idempotent */
		if (ns__same_transport_key(r, &e))
			return ns_diag_set(d, NS_EVALID, "key", "converts to the transport key of a listed site");
		snprintf(e.site, sizeof(e.site), "%s", x->site);
		snprintf(e.region, sizeof(e.region), "%s", x->region ? x->region : "");
		e.role = ns_role_parse(x->role);
		return ns__add_entry(r, &e);
	}
	if (p->body_case == NOMSYNC__PAYLOAD__BODY_ROSTER_KEY_ROTATED) {
		const Nomsync__RosterKeyRotated *x = p->roster_key_rotated;
		if (ns_unhex(key, NS_KEY_BYTES, x->old_key) != 0 || (old = (ns_roster_entry *)ns_roster_by_key(r, key)) == NULL ||
		    strcmp(old->site, x->site) != 0)
			return ns_diag_set(d, NS_EVALID, "old_key", "%s's old key is not in the roster", x->site);
		e = *old;
		e.revoked_from = 0;
		if (ns_unhex(e.pk, NS_KEY_BYTES, x->new_key) != 0 || crypto_sign_ed25519_pk_to_curve25519(e.curve_pk, e.pk) != 0)
			return ns_diag_set(d, NS_EVALID, "new_key", "bad key");
		if (ns_roster_by_key(r, e.pk))
			return 0;
		if (ns__same_transport_key(r, &e))
			return ns_diag_set(d, NS_EVALID, "new_key", "converts to the transport key of a listed site");
		return ns__add_entry(r, &e); /* the old key stays valid for what it signed; revoke it separately */
	}
	if (p->body_case == NOMSYNC__PAYLOAD__BODY_ROSTER_KEY_REVOKED) {
		const Nomsync__RosterKeyRevoked *x = p->roster_key_revoked;
		if (ns_unhex(key, NS_KEY_BYTES, x->key) != 0 || (old = (ns_roster_entry *)ns_roster_by_key(r, key)) == NULL)
			return ns_diag_set(d, NS_EVALID, "key", "the revoked key is not in the roster");
		if (old->revoked_from == 0 || x->from_seq < old->revoked_from)
			old->revoked_from = x->from_seq;
		return 0;
	}
	return ns_diag_set(d, NS_EVALID, "type", "not a roster change");
}

int ns_roster_enforce(const ns_roster *r, ns_store *store, size_t *changed, ns_diag *d)
{
	size_t n = 0;
	int rc = 0;

	for (size_t i = 0; i < r->n && rc == 0; i++) {
		int c = 0;
		if (r->e[i].revoked_from && (rc = ns_store_revoke(store, r->e[i].pk, r->e[i].revoked_from, &c, d)) == 0)
			n += (size_t)c;
	}
	if (changed)
		*changed = n;
	return rc;
}

const ns_roster_entry *ns_roster_by_key(const ns_roster *r, const uint8_t pk[NS_KEY_BYTES])
{
	for (size_t i = 0; i < r->n; i++)
		if (memcmp(r->e[i].pk, pk, NS_KEY_BYTES) == 0)
			return &r->e[i];
	return NULL;
}

/* Connections are admitted only for keys that are not revoked. */
const ns_roster_entry *ns_roster_by_curve(const ns_roster *r, const uint8_t curve_pk[NS_KEY_BYTES])
{
	for (size_t i = 0; i < r->n; i++)
		if (memcmp(r->e[i].curve_pk, curve_pk, NS_KEY_BYTES) == 0)
			return r->e[i].revoked_from ? NULL : &r->e[i];
	return NULL;
}

/* A site's current key: the last one listed that is not revoked. */
const ns_roster_entry *ns_roster_by_site(const ns_roster *r, const char *site)
{
	const ns_roster_entry *best = NULL, *any = NULL;
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->e[i].site, site) == 0) {
			any = &r->e[i];
			if (r->e[i].revoked_from == 0)
				best = &r->e[i];
		}
	return best ? best : any;
}

int ns_roster_trust(void *arg, const ns_event *ev)
{
	const ns_roster *r = arg;
	const ns_roster_entry *e;

	if (r->has_authority && memcmp(ev->origin, r->authority, NS_KEY_BYTES) == 0)
		return ev->role == NS_ROLE_AUTHORITY ? 0 : NS_EROLE;
	if ((e = ns_roster_by_key(r, ev->origin)) == NULL)
		return NS_EUNKNOWN;
	if (e->revoked_from && ev->seq >= e->revoked_from)
		return NS_EREVOKED;
	if (e->role != ev->role || strcmp(e->site, ev->site) != 0)
		return NS_EROLE;
	return 0;
}

int ns_curve_keys(const ns_identity *id, uint8_t pk[NS_KEY_BYTES], uint8_t sk[NS_KEY_BYTES])
{
	if (crypto_sign_ed25519_pk_to_curve25519(pk, id->pk) != 0 ||
	    crypto_sign_ed25519_sk_to_curve25519(sk, id->sk) != 0)
		return NS_EKEY;
	return 0;
}
