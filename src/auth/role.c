/* Role names of the `authorities` claim (see nomsync/auth.h). */
#include <nomsync/auth.h>

#include <string.h>

static const struct {
	unsigned bit;
	const char *name;
} ns__roles[] = {
	{ NS_UROLE_VIEW, "ROLE_NOMSYNC_VIEW" },       { NS_UROLE_RECORD, "ROLE_NOMSYNC_RECORD" },
	{ NS_UROLE_FIGURES, "ROLE_NOMSYNC_FIGURES" }, { NS_UROLE_AUDIT, "ROLE_NOMSYNC_AUDIT" },
	{ NS_UROLE_ADMIN, "ROLE_NOMSYNC_ADMIN" },
};

const char *ns_urole_name(unsigned role)
{
	for (size_t i = 0; i < sizeof(ns__roles) / sizeof(ns__roles[0]); i++)
		if (ns__roles[i].bit == role)
			return ns__roles[i].name;
	return NULL;
}

unsigned ns_urole_from_name(const char *authority)
{
	for (size_t i = 0; i < sizeof(ns__roles) / sizeof(ns__roles[0]); i++)
		if (strcmp(ns__roles[i].name, authority) == 0)
			return ns__roles[i].bit;
	return 0;
}
