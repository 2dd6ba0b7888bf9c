/*
 * Limited-access records in responses (issue 12 item 2; docs/DOMAIN.md
 * section 9.3): a view or timeline of a person the principal may not read is
 * refused (403 restricted_record), and in a list such a person appears only
 * as {"offender": ID, "restricted": true}. Service principals (the [http]
 * token) may read every record. Each person returned, refused or masked is
 * noted in the read audit.
 */
#include "http/http_int.h"

#include <string.h>

int ns__may_read(ns__conn *c, const char *ref)
{
	ns_access acc;
	int rc;

	if (c->who.service)
		return 1;
	rc = ns_store_access(c->h->store, ref, &acc, NULL);
	if (rc == NS_ENOTFOUND)
		return 1; /* nothing stored about them, nothing to hide */
	if (rc != 0)
		return rc;
	return ns_access_allows(&acc, c->who.user);
}

int ns__person_allowed(ns__conn *c, const char *ref, const char *endpoint)
{
	int ok = ns__may_read(c, ref);
	char msg[160];

	if (ok < 0) {
		ns__respond_error(c, 500, "store", ns_strerror(ok));
		return 0;
	}
	if (ns__audit_note(c, ref, endpoint, ok ? NS_AUDIT_ALLOWED : NS_AUDIT_RESTRICTED) != 0) {
		ns__respond_error(c, 503, "memory", "out of memory (the read could not be audited)");
		return 0;
	}
	if (ok)
		return 1;
	snprintf(msg, sizeof(msg), "the record of %.20s is restricted and %.40s may not read it", ref, c->who.user);
	ns__respond_json(c, 403, json_pack("{s:s,s:s,s:o}", "error", "restricted_record", "offender", ref, "message",
				       ns__safe_string(msg)));
	return 0;
}

json_t *ns__list_item(ns__conn *c, const char *ref, const char *endpoint, json_t *item)
{
	int ok = ns__may_read(c, ref);

	/* A store error, or a read that could not be audited: shown masked, never in full. */
	if (ok == 1 && ns__audit_note(c, ref, endpoint, NS_AUDIT_ALLOWED) == 0)
		return item;
	json_decref(item);
	ns__audit_note(c, ref, endpoint, NS_AUDIT_LISTED);
	return json_pack("{s:s,s:b}", "offender", ref, "restricted", 1);
}
