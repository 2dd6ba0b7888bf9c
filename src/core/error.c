/*
 * Error strings and the diagnostic helper shared by every module.
 */
#include <nomsync/error.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	int code;
	const char *name;
	const char *text;
} ns__errors[] = {
	{ NS_OK, "NS_OK", "success" },
	{ NS_ENOMEM, "NS_ENOMEM", "out of memory" },
	{ NS_EINVAL, "NS_EINVAL", "invalid argument" },
	{ NS_EIO, "NS_EIO", "input/output error" },
	{ NS_EDECODE, "NS_EDECODE", "malformed or truncated encoding" },
	{ NS_ESIG, "NS_ESIG", "signature does not verify" },
	{ NS_ECHAIN, "NS_ECHAIN", "hash chain link does not match the previous event" },
	{ NS_EROLE, "NS_EROLE", "origin's role may not emit this event type" },
	{ NS_EVALID, "NS_EVALID", "validation failed" },
	{ NS_ENOTFOUND, "NS_ENOTFOUND", "not found" },
	{ NS_EEXIST, "NS_EEXIST", "already exists" },
	{ NS_EEQUIV, "NS_EEQUIV", "origin equivocated: two different events with the same sequence number" },
	{ NS_EQUARANTINED, "NS_EQUARANTINED", "origin is quarantined after equivocation" },
	{ NS_ESTORE, "NS_ESTORE", "store (LMDB) error" },
	{ NS_EMAPFULL, "NS_EMAPFULL", "store is full (LMDB map or disk)" },
	{ NS_ECORRUPT, "NS_ECORRUPT", "stored data failed an integrity check" },
	{ NS_EHASH, "NS_EHASH", "payload does not match its signed hash" },
	{ NS_EVERSION, "NS_EVERSION", "unsupported format version" },
	{ NS_EKEY, "NS_EKEY", "missing or invalid key" },
	{ NS_EBUNDLE, "NS_EBUNDLE", "bundle is corrupt or its signature does not verify" },
	{ NS_EUNKNOWN, "NS_EUNKNOWN", "origin is not in the roster" },
	{ NS_ECONFIG, "NS_ECONFIG", "configuration error" },
	{ NS_EPROTO, "NS_EPROTO", "replication protocol violation" },
	{ NS_EAGAIN, "NS_EAGAIN", "resource temporarily unavailable" },
	{ NS_ELOCKED, "NS_ELOCKED", "store is locked, or appends are held until the site catches up" },
	{ NS_EREVOKED, "NS_EREVOKED", "the signing key was revoked by the roster authority" },
	{ NS_EHELDWINDOW, "NS_EHELDWINDOW", "event too far ahead of its origin's chain to be held" },
	{ NS_EHELDFULL, "NS_EHELDFULL", "no room left to hold events of this origin or from this sender" },
	{ NS_EAUTH, "NS_EAUTH", "credentials missing or not valid" },
	{ NS_EDENIED, "NS_EDENIED", "not allowed for this user" },
	{ NS_ENATS, "NS_ENATS", "the NATS server refused or failed the request" },
};

const char *ns_strerror(int code)
{
	for (size_t i = 0; i < sizeof(ns__errors) / sizeof(ns__errors[0]); i++)
		if (ns__errors[i].code == code)
			return ns__errors[i].text;
	return "unknown error";
}

const char *ns_err_name(int code)
{
	for (size_t i = 0; i < sizeof(ns__errors) / sizeof(ns__errors[0]); i++)
		if (ns__errors[i].code == code)
			return ns__errors[i].name;
	return "NS_E?";
}

int ns_diag_set(ns_diag *d, int code, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (d == NULL)
		return code;
	snprintf(d->field, sizeof(d->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
	return code;
}

void ns_diag_clear(ns_diag *d)
{
	if (d != NULL) {
		d->field[0] = '\0';
		d->msg[0] = '\0';
	}
}
