/*
 * The HTTP/JSON API and web page served by nomsyncd (docs in README.md):
 * libuv TCP, requests parsed by Debian's http-parser, JSON by jansson.
 * Every request but GET /healthz needs a bearer credential (a JWT verified
 * with the [auth] keys, or the configured token: the service principal), or
 * the session cookie POST /login sets for the web page (a random session id,
 * never the token); each route needs a role of the principal (authz.c), and
 * limited-access records are refused or masked (access.c); a cookie request
 * that changes something must come from
 * the page itself (Origin or Sec-Fetch-Site) and POST /v1/events must be JSON.
 * Requests are bounded: 16 KiB of headers, 1 MiB of body, 10 s to arrive;
 * past that 431, 413 or 408, and the connection is closed. Connections are
 * bounded per client address and in all, with the last slots kept for
 * authenticated requests and /healthz; a response the client does not take
 * within the response timeout closes the connection, and nothing more is read
 * from a connection while its response is unsent. Slow work (appends) runs on
 * the libuv thread pool, so one client never blocks another.
 * With ns_http_tls the listener speaks only TLS (1.2 or later, OpenSSL): a
 * plain-HTTP request gets a plain-text 400 naming the https:// address,
 * responses carry Strict-Transport-Security and the session cookie Secure.
 */
#ifndef NS_HTTP_H
#define NS_HTTP_H

#include <jansson.h>
#include <nomsync/audit.h>
#include <nomsync/auth.h>
#include <nomsync/status.h>
#include <nomsync/store.h>
#include <uv.h>

typedef struct ns_http ns_http;

/** Fills @p out with the daemon's live status (peers, lag): 0, or NS_E* and nothing to free. */
typedef int (*ns_http_status_fn)(void *arg, ns_node_status *out);

/**
 * @brief Listen on "HOST:PORT". @p appended (may be NULL) is called on the
 * loop thread after each durable append through POST /v1/events.
 */
/* Listen on "HOST:PORT". @p token: the service credential, "" for none (only [auth] JWTs).
 * @return 0 or NS_ECONFIG/NS_EIO with @p d filled. */
int ns_http_start(ns_http **out, uv_loop_t *loop, ns_store *store, const char *listen, const char *token,
		  ns_http_status_fn status, void *arg, void (*appended)(void *arg), ns_diag *d);
/** Connection limits and sessions; a zero field keeps the default named. */
typedef struct ns_http_opts {
	unsigned max_conns;        /**< connections open at once, the reserve included (0: 512) */
	unsigned reserved_conns;   /**< of those, the last kept for authenticated requests and /healthz (0: max_conns / 8) */
	unsigned conns_per_client; /**< open connections per client IPv4 address (0: 32) */
	double response_timeout;   /**< seconds a response may wait for the client to take it (0: 10) */
	double session_lifetime;   /**< seconds a web sign-in lasts (0: 12 h) */
	/** Warnings (connections refused or closed), at most one line per reason per 10 s; NULL: none. */
	void (*log)(void *arg, const char *line);
	void *log_arg;
	/** Trusted JWT keys ([auth]); NULL: only the [http] token (service) is accepted. Not owned. */
	const ns_auth *auth;
	/** The read audit; NULL: reads are not audited. Not owned. */
	ns_audit *audit;
} ns_http_opts;

/**
 * @brief Set limits and the log hook; call after ns_http_start, before the
 * loop runs. @return 0, or NS_ECONFIG (naming the [http] keys) when the
 * reserve is not smaller than the total.
 */
int ns_http_configure(ns_http *h, const ns_http_opts *opts, ns_diag *d);
/**
 * @brief Serve TLS only: certificate chain @p cert and private key @p key
 * (PEM files), and, if @p client_ca is neither NULL nor "", require client
 * certificates signed by a CA in that PEM file (mutual TLS). Call after
 * ns_http_start, before the loop runs; the paths are kept for
 * ns_http_reload_tls.
 * @return 0, or NS_ECONFIG naming the file and OpenSSL's reason (unreadable,
 * not PEM, key not matching the certificate, certificate expired or not yet
 * valid, key too weak for the security level).
 */
int ns_http_tls(ns_http *h, const char *cert, const char *key, const char *client_ca, ns_diag *d);
/**
 * @brief Read the TLS files again (after a certificate rotation): new
 * connections use them, open ones keep the context they began with. On the
 * loop thread.
 * @return 0 (also when TLS is off), or NS_ECONFIG as ns_http_tls, and then
 * the old certificate stays in use.
 */
int ns_http_reload_tls(ns_http *h, ns_diag *d);
/**
 * @brief One line about the certificate in use (subject, serial, file,
 * expiry, mutual TLS) into @p buf, for the log.
 * @return 1, or 0 when TLS is off (@p buf untouched).
 */
int ns_http_tls_describe(const ns_http *h, char *buf, size_t cap);
/**
 * @brief How many appends (POST /v1/events) are queued or running on the
 * loop's thread pool, each with the store in use; on the loop thread.
 * Whatever closes the store's environment (ns_store_compact) waits for 0.
 */
unsigned ns_http_appending(const ns_http *h);
/** @brief Stop listening and close every connection (handles close asynchronously). */
void ns_http_stop(ns_http *h);
/** @brief Free after the loop has finished. NULL is allowed. */
void ns_http_free(ns_http *h);
/**
 * @brief Replace the trusted JWT keys (SIGHUP), on the loop thread: requests
 * verified from now on use @p a (not owned). The old set may be freed once
 * this returns (verification runs on the loop thread and keeps no reference).
 */
void ns_http_set_auth(ns_http *h, const ns_auth *a);

#endif /* NS_HTTP_H */
