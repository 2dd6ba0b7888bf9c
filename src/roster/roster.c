/*
 * Roster parsing and the trust policy built on it.
 */
#include <nomsync/roster.h>
#include <nomsync/validate.h>

#include <sodium.h>

#include <errno.h>
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
		void *p = realloc(r->e, (r->n + 1) * sizeof(*r->e));
		if (p == NULL) {
			ns_roster_free(r);
			return NS_ENOMEM;
		}
		r->e = p;
		r->e[r->n++] = e;
	}
	return 0;
}

int ns_roster_load(const char *path, ns_roster *r, ns_diag *d)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long len;
	int rc;

	memset(r, 0, sizeof(*r));
	if (f == NULL)
		return ns_diag_set(d, NS_ECONFIG, "roster", "cannot open %s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    len > (1 << 24)) {
		fclose(f);
		return ns_diag_set(d, NS_ECONFIG, "roster", "cannot read %s", path);
	}
	buf = malloc((size_t)len + 1);
	if (buf == NULL) {
		fclose(f);
		return NS_ENOMEM;
	}
	if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
		free(buf);
		fclose(f);
		return ns_diag_set(d, NS_ECONFIG, "roster", "cannot read %s", path);
	}
	fclose(f);
	rc = ns_roster_parse(buf, (size_t)len, r, d);
	free(buf);
	return rc;
}

const ns_roster_entry *ns_roster_by_key(const ns_roster *r, const uint8_t pk[NS_KEY_BYTES])
{
	for (size_t i = 0; i < r->n; i++)
		if (memcmp(r->e[i].pk, pk, NS_KEY_BYTES) == 0)
			return &r->e[i];
	return NULL;
}

const ns_roster_entry *ns_roster_by_curve(const ns_roster *r, const uint8_t curve_pk[NS_KEY_BYTES])
{
	for (size_t i = 0; i < r->n; i++)
		if (memcmp(r->e[i].curve_pk, curve_pk, NS_KEY_BYTES) == 0)
			return &r->e[i];
	return NULL;
}

const ns_roster_entry *ns_roster_by_site(const ns_roster *r, const char *site)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->e[i].site, site) == 0)
			return &r->e[i];
	return NULL;
}

int ns_roster_trust(void *arg, const ns_event *ev)
{
	const ns_roster_entry *e = ns_roster_by_key(arg, ev->origin);

	if (e == NULL)
		return NS_EUNKNOWN;
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
