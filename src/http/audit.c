/*
 * The read audit of one request (see http_int.h and nomsync/audit.h): the
 * handlers note each person whose data they return or refuse; the notes go
 * to the audit store with the response.
 */
#include "http/http_int.h"

#include <stdlib.h>
#include <string.h>

int ns__audit_note(ns__conn *c, const char *offender, const char *endpoint, int outcome)
{
	if (!c->h->opts.audit)
		return 0;
	if (c->naudit == c->audit_cap) {
		size_t cap = c->audit_cap ? 2 * c->audit_cap : 4;
		ns_audit_entry *n = realloc(c->audit, cap * sizeof(*n));
		if (!n)
			return NS_ENOMEM;
		c->audit = n;
		c->audit_cap = cap;
	}
	ns_audit_entry *e = &c->audit[c->naudit++];
	memset(e, 0, sizeof(*e));
	snprintf(e->user, sizeof(e->user), "%s", c->who.user);
	e->roles = c->who.roles;
	snprintf(e->offender, sizeof(e->offender), "%s", offender);
	snprintf(e->endpoint, sizeof(e->endpoint), "%s", endpoint);
	e->outcome = outcome;
	return 0;
}

void ns__audit_clear(ns__conn *c)
{
	free(c->audit);
	c->audit = NULL;
	c->naudit = c->audit_cap = 0;
}
