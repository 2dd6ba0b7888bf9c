/* Names of audit outcomes (see nomsync/audit.h): the JSON, syslog and metrics labels. */
#include <nomsync/audit.h>

const char *ns_audit_outcome_name(int outcome)
{
	switch (outcome) {
	case NS_AUDIT_ALLOWED: return "allowed";
	case NS_AUDIT_RESTRICTED: return "restricted";
	case NS_AUDIT_NO_ROLE: return "no_role";
	case NS_AUDIT_LISTED: return "listed";
	}
	return "unknown";
}
