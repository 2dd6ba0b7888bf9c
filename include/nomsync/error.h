/*
 * nomsync error codes.
 *
 * Every nomsync function that can fail returns int: 0 (NS_OK) on success or
 * one of the negative codes below. ns_strerror() gives a sentence for each
 * code and ns_err_name() its symbolic name. Where a caller needs to know
 * *which* field or rule failed, functions also take an optional ns_diag
 * that they fill with the field name and a human-readable message.
 *
 * The library never prints and never exits; the CLI and daemon decide how
 * to report.
 */
#ifndef NOMSYNC_ERROR_H
#define NOMSYNC_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Return codes. All errors are negative. */
enum ns_error {
	NS_OK = 0,
	NS_ENOMEM = -1,       /**< out of memory */
	NS_EINVAL = -2,       /**< invalid argument or usage */
	NS_EIO = -3,          /**< operating system I/O error */
	NS_EDECODE = -4,      /**< malformed or truncated encoding */
	NS_ESIG = -5,         /**< signature does not verify */
	NS_ECHAIN = -6,       /**< hash chain link does not match */
	NS_EROLE = -7,        /**< origin role may not emit this event type */
	NS_EVALID = -8,       /**< a field failed validation */
	NS_ENOTFOUND = -9,    /**< no such record */
	NS_EEXIST = -10,      /**< already exists */
	NS_EEQUIV = -11,      /**< origin equivocated (two events, same seq) */
	NS_EQUARANTINED = -12,/**< origin is quarantined */
	NS_ESTORE = -13,      /**< LMDB error */
	NS_EMAPFULL = -14,    /**< LMDB map or disk full */
	NS_ECORRUPT = -15,    /**< stored data failed an integrity check */
	NS_EHASH = -16,       /**< payload does not match its signed hash */
	NS_EVERSION = -17,    /**< unsupported format version */
	NS_EKEY = -18,        /**< missing or invalid key */
	NS_EBUNDLE = -19,     /**< bundle is corrupt or its signature fails */
	NS_EUNKNOWN = -20,    /**< origin not in the roster */
	NS_ECONFIG = -21,     /**< configuration error */
	NS_EPROTO = -22,      /**< replication protocol violation */
	NS_EAGAIN = -23,      /**< resource temporarily unavailable */
	NS_ELOCKED = -24,     /**< store is locked or appends are held */
	NS_EREVOKED = -25,    /**< the signing key was revoked */
	NS_EHELDWINDOW = -26, /**< seq too far ahead of the origin's contiguous seq to hold */
	NS_EHELDFULL = -27,   /**< no room left to hold events for the origin or the sender */
	NS_EAUTH = -28,       /**< credentials missing or not valid (token, JWT, certificate) */
	NS_EDENIED = -29,     /**< authenticated, but not allowed (role or record restriction) */
	NS_ENATS = -30,       /**< NATS server refused or failed a request */
	NS__ERRMIN = -31
};

/**
 * @brief Describe an error code.
 * @param[in] code a value returned by a nomsync function
 * @return a static sentence; "unknown error" for codes outside the list
 */
const char *ns_strerror(int code);

/**
 * @brief Symbolic name of an error code ("NS_ESIG", ...).
 * @return a static string; "NS_E?" for unknown codes
 */
const char *ns_err_name(int code);

/**
 * Diagnostic detail for a failure: the field (or rule) involved and a
 * message naming the rule. Callers may pass NULL where a diag is taken.
 */
typedef struct ns_diag {
	char field[48]; /**< e.g. "offender", "prison", "signature" */
	char msg[208];  /**< e.g. "'MXX' is not an establishment code" */
} ns_diag;

/**
 * @brief Fill a diag (printf-style message). Does nothing if @p d is NULL.
 * @return @p code, so that callers can write `return ns_diag_set(d, ...)`.
 */
int ns_diag_set(ns_diag *d, int code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/** @brief Reset a diag to empty. NULL is allowed. */
void ns_diag_clear(ns_diag *d);

#ifdef __cplusplus
}
#endif
#endif /* NOMSYNC_ERROR_H */
