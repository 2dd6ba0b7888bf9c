/*
 * Fuzz target: the roster file (ns_roster_parse), as ns_roster_load hands it
 * over (unterminated bytes).
 *
 * Invariants on success: every entry's site code is valid for its role, its
 * region is empty or a probation region, its key converts to the curve key
 * it holds, sites and keys are unique, and the lookups by site, key and
 * curve key find that same entry; ns_roster_trust accepts an event that
 * matches an entry and refuses one with another site or role.
 * On failure: NS_ECONFIG with a message, and nothing left allocated.
 * Signatures: the text never verifies under a fresh authority key; once
 * signed with ns_roster_sign it verifies, and parses to as many entries.
 */
#include "fuzz_common.h"

#include <nomsync/roster.h>
#include <nomsync/validate.h>

#include <sodium.h>

static ns_identity authority;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (ns_crypto_init() != 0 || ns_identity_generate(&authority, "AUTHORITY", NS_ROLE_AUTHORITY) != 0)
		abort();
	return 0;
}

/* Signing a roster and checking the signature must round-trip; a signed roster parses like the unsigned one. */
static void signatures(const char *text, size_t size, int parsed, size_t entries)
{
	char *signed_text = NULL;
	size_t slen = 0;
	ns_roster r2;
	ns_diag d;
	int rc = ns_roster_check_signature(text, size, authority.pk, &d);

	if (rc != 0 && rc != NS_ECONFIG)
		ns_fuzz_die("ns_roster_check_signature returned %s", ns_err_name(rc));
	if (rc == 0)
		ns_fuzz_die("a fuzzed roster verifies under a fresh authority key");
	if (ns_roster_sign(text, size, &authority, &signed_text, &slen) != 0)
		ns_fuzz_die("ns_roster_sign failed");
	if ((rc = ns_roster_check_signature(signed_text, slen, authority.pk, &d)) != 0 && !ns_fuzz_known("roster-resign"))
		ns_fuzz_die("a roster just signed does not verify: %s", d.msg);
	if (parsed) {
		if ((rc = ns_roster_parse(signed_text, slen, &r2, &d)) != 0)
			ns_fuzz_die("the signed form of a valid roster does not parse: %s", d.msg);
		if (r2.n != entries)
			ns_fuzz_die("signing changed the roster from %zu to %zu entries", entries, r2.n);
		ns_roster_free(&r2);
	}
	free(signed_text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1);
	ns_roster r;
	ns_diag d;
	int rc;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	ns_diag_clear(&d);
	rc = ns_roster_parse(text, size, &r, &d);
	signatures(text, size, rc == 0, rc == 0 ? r.n : 0);
	free(text);
	if (rc != 0) {
		if (rc != NS_ECONFIG && rc != NS_ENOMEM)
			ns_fuzz_die("ns_roster_parse returned %s", ns_err_name(rc));
		if (rc == NS_ECONFIG && d.msg[0] == '\0')
			ns_fuzz_die("ns_roster_parse refused without a message");
		if (r.e != NULL || r.n != 0)
			ns_fuzz_die("a refused roster left %zu entries allocated", r.n);
		return 0;
	}
	for (size_t i = 0; i < r.n; i++) {
		const ns_roster_entry *e = &r.e[i];
		uint8_t curve[NS_KEY_BYTES];
		if (strnlen(e->site, sizeof(e->site)) >= sizeof(e->site) ||
		    strnlen(e->region, sizeof(e->region)) >= sizeof(e->region))
			ns_fuzz_die("entry %zu not terminated", i);
		if (ns_validate_site(e->role, e->site, NULL) != 0)
			ns_fuzz_die("entry %zu: site '%s' is not valid for role %d", i, e->site, (int)e->role);
		if (e->region[0] && !ns_is_region(e->region))
			ns_fuzz_die("entry %zu: region '%s' accepted", i, e->region);
		if (crypto_sign_ed25519_pk_to_curve25519(curve, e->pk) != 0 ||
		    memcmp(curve, e->curve_pk, NS_KEY_BYTES) != 0)
			ns_fuzz_die("entry %zu: curve key does not match its Ed25519 key", i);
		if (ns_roster_by_site(&r, e->site) != e || ns_roster_by_key(&r, e->pk) != e ||
		    ns_roster_by_curve(&r, e->curve_pk) != e)
			ns_fuzz_die("entry %zu (%s): lookups do not find it (duplicate site or key?)", i, e->site);

		ns_event ev;
		memset(&ev, 0, sizeof(ev));
		memcpy(ev.origin, e->pk, NS_KEY_BYTES);
		memcpy(ev.site, e->site, sizeof(ev.site));
		ev.role = e->role;
		if (ns_roster_trust(&r, &ev) != 0)
			ns_fuzz_die("entry %zu: trust refuses its own site, role and key", i);
		ev.role = e->role == NS_ROLE_HUB ? NS_ROLE_PRISON : NS_ROLE_HUB;
		if (ns_roster_trust(&r, &ev) != NS_EROLE)
			ns_fuzz_die("entry %zu: trust accepts another role", i);
	}
	ns_roster_free(&r);
	if (r.e != NULL || r.n != 0)
		ns_fuzz_die("ns_roster_free left entries");
	return 0;
}
