/*
 * The HTTP/JSON API and web page served by nomsyncd (docs in README.md):
 * libuv TCP, requests parsed by Debian's http-parser, JSON by jansson.
 * Every request but GET /healthz needs the configured bearer token (header,
 * or the cookie set by POST /login for the web page). Requests are bounded:
 * 16 KiB of headers, 1 MiB of body, 10 s to arrive; past that 431, 413 or
 * 408, and the connection is closed. Slow work (appends) runs on the libuv
 * thread pool, so one client never blocks another.
 */
#ifndef NS_HTTP_H
#define NS_HTTP_H

#include <jansson.h>
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
/* Listen on "HOST:PORT". @return 0 or NS_ECONFIG/NS_EIO with @p d filled. */
int ns_http_start(ns_http **out, uv_loop_t *loop, ns_store *store, const char *listen, const char *token,
		  ns_http_status_fn status, void *arg, void (*appended)(void *arg), ns_diag *d);
/** @brief Stop listening and close every connection (handles close asynchronously). */
void ns_http_stop(ns_http *h);
/** @brief Free after the loop has finished. NULL is allowed. */
void ns_http_free(ns_http *h);

#endif /* NS_HTTP_H */
