/*
 * Internals of the HTTP module shared between its files:
 *   conn.c     connections: accept and admission (limits, reserve), request
 *              parsing, writing responses, deadlines, start/stop;
 *   session.c  web sign-in sessions and the CSRF checks on cookie requests;
 *   tls.c      TLS under the connections (OpenSSL, memory BIOs), reloads;
 *   authz.c    who is behind a request (bearer token, JWT, session) and the
 *              route table saying which role each route needs;
 *   access.c   limited-access records: refused or masked, and audited;
 *   http.c     dispatch and the API handlers.
 */
#ifndef NS_HTTP_INT_H
#define NS_HTTP_INT_H

#include "http/http.h"

#include <http_parser.h>
#include <openssl/ssl.h>

#include <stdio.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#define NS__MAX_HEADER_BYTES (16 * 1024)
#define NS__MAX_BODY (1024 * 1024)
#define NS__MAX_STASH (64 * 1024)
#define NS__REQUEST_TIMEOUT_MS 10000
#define NS__LINGER_MS 2000               /* after an error response: read and discard this long, */
#define NS__LINGER_BYTES (64 * 1024 * 1024) /* or this much, then close */
#define NS__SNDBUF (64 * 1024) /* per connection; Linux doubles it */
#define NS__MAX_SESSIONS 1024
#define NS__SESSION_ID_BYTES 32
#define NS__LOG_EVERY_MS 10000 /* at most one log line per refusal reason this often */

/* Why a connection was refused or closed early (metrics labels, log lines). */
enum ns__refusal {
	NS__REFUSE_FULL,          /* every slot, the reserve included, taken */
	NS__REFUSE_PER_CLIENT,    /* [http] connections_per_client from that address already open */
	NS__REFUSE_RESERVED,      /* on a reserved slot, a first request neither /healthz nor authenticated */
	NS__CLOSE_RESPONSE_TIMEOUT, /* a response not taken by the client within [http] response_timeout */
	NS__CLOSE_EVICTED,        /* a reserved slot idle before its first request, given to a newcomer */
	NS__NREFUSALS
};

/* How a request is authenticated: no credential, a bearer token or JWT, a session, or a bad credential. */
enum ns__auth { NS__AUTH_NONE, NS__AUTH_BEARER, NS__AUTH_COOKIE, NS__AUTH_BAD };

/* The API routes (authz.c's table). */
enum ns__route_id {
	NS__R_INDEX, NS__R_WHOAMI, NS__R_CATALOGUE, NS__R_REFDATA, NS__R_EVENTS, NS__R_SEARCH, NS__R_VIEW,
	NS__R_TIMELINE, NS__R_CASELOAD, NS__R_RELEASES, NS__R_FIGURES, NS__R_AUDIT, NS__R_STATUS, NS__R_METRICS
};

typedef struct ns__route {
	enum ns__route_id id;
	int method;           /* HTTP_GET, HTTP_POST */
	const char *path;     /* exact, or with one "{id}" segment naming a person */
	const char *endpoint; /* the audit's name of the route */
	unsigned role;        /* NS_UROLE_* needed; 0: any authenticated principal */
	int person;           /* 1: the URL names one person */
} ns__route;

typedef struct ns__conn ns__conn;

/*
 * A JWT that verified, remembered by the BLAKE2b hash of its text so that the
 * next request carrying it skips the signature check (authz.c). Emptied when
 * the keys change (ns_http_set_auth); a token past its exp is verified again.
 */
#define NS__JWT_SEEN 256
typedef struct ns__jwt_seen {
	uint8_t hash[32];
	ns_principal who; /* who.expires: exp; 0 marks an empty slot */
} ns__jwt_seen;

/* A connection's TLS state (tls.c). */
enum ns__tls_state {
	NS__TLS_OFF,       /* plain HTTP listener */
	NS__TLS_NEW,       /* nothing read yet */
	NS__TLS_HANDSHAKE, /* the first byte opened a handshake record */
	NS__TLS_UP,        /* handshake done */
	NS__TLS_REFUSED,   /* plain HTTP on the TLS port: a plain-text 400, then closed */
	NS__TLS_BROKEN     /* handshake failed or a bad record: the alert, then closed */
};
enum { NS__TLS_OK, NS__TLS_FAILED };

/* The server's TLS context and what it was built from ([http] tls_*). */
typedef struct ns__tls_server {
	SSL_CTX *ctx; /* NULL: plain HTTP */
	char cert[PATH_MAX], key[PATH_MAX], client_ca[PATH_MAX];
	int64_t not_after;      /* the certificate's expiry, Unix time */
	uint64_t handshakes[2]; /* NS__TLS_OK, NS__TLS_FAILED */
	uint64_t plain_refused;
	uint64_t logged_at; /* uv_now() of the last handshake-failure log line, 0 never */
} ns__tls_server;

typedef struct ns__session {
	uint8_t hash[32]; /* BLAKE2b of the id: the id itself is kept only by the browser */
	uint64_t expires; /* uv_now() milliseconds */
	ns_principal who; /* who signed in */
} ns__session;

struct ns_http {
	uv_loop_t *loop;
	uv_tcp_t listener;
	ns_store *store;
	char token[128];
	ns_http_status_fn status;
	void *status_arg;
	void (*appended)(void *arg);
	ns_http_opts opts; /* defaults filled in */
	ns__conn *conns;
	size_t nconns;
	int stopping;
	uint64_t requests[6]; /* by status class 1xx..5xx, index 0 unused */
	uint64_t refused[NS__NREFUSALS];
	uint64_t logged_at[NS__NREFUSALS]; /* uv_now() of the last log line per reason, 0 never */
	ns__session *sessions;
	size_t nsessions;
	uint64_t reads[4];      /* audit notes by enum ns_audit_outcome (audited or not) */
	uint64_t audit_refused; /* responses replaced by 503 audit_unavailable */
	ns__tls_server tls;
	uint64_t service_uses;      /* requests authenticated by the [http] token */
	unsigned appending;         /* appends queued or running on the pool (ns_http_appending) */
	uint64_t service_logged_at; /* uv_now() of the last log line about it, 0 never */
	ns__jwt_seen jwt_seen[NS__JWT_SEEN]; /* JWTs verified lately (authz.c) */
};

struct ns__conn {
	uv_tcp_t tcp;
	uv_timer_t timer;
	ns_http *h;
	ns__conn *next, *prev;
	uint32_t addr; /* the client's IPv4 address, network order */
	http_parser parser;
	char url[4096];
	size_t url_len;
	char hname[64], hval[8192];
	size_t hname_len, hval_len;
	int in_value;
	char auth[8192], cookie[1024], ctype[128], host[256], origin[256], fetch_site[32];
	size_t header_bytes;
	char *body;
	size_t body_len;
	int complete, busy, writing, closing, in_request, error, reading;
	int probation; /* on a reserved slot until its first request shows the token (or asks /healthz) */
	char *stash;
	size_t stash_len;
	int keep_alive;
	int handles; /* open uv handles (tcp, timer) */
	uv_shutdown_t shut;      /* lingering close after an error response (conn.c) */
	int lingering;           /* reading only to discard, until EOF or the linger limits */
	size_t lingered;         /* bytes discarded so far */
	ns_principal who;        /* who is behind the current request (valid once authorised) */
	ns_audit_entry *audit;   /* reads of the current request to audit (audit.c) */
	size_t naudit, audit_cap;
	struct ns__wreq *held;   /* the response waiting for the audit (busy meanwhile) */
	SSL *ssl; /* NULL on a plain connection (tls.c) */
	enum ns__tls_state tls;
};

/* conn.c */
const char *ns__reason(int code);
void ns__respond(ns__conn *c, int code, const char *type, const char *body, size_t len, const char *extra);
void ns__respond_json(ns__conn *c, int code, json_t *j);
void ns__respond_error(ns__conn *c, int code, const char *error, const char *message);
json_t *ns__safe_string(const char *text);
void ns__conn_close(ns__conn *c);
void ns__feed(ns__conn *c, const char *data, size_t len);
void ns__count_refusal(ns_http *h, enum ns__refusal why, uint32_t addr);
extern const char *const ns__refusal_names[NS__NREFUSALS];

/* session.c */
/* The principal of the request's live session into @p who; 1 if there is one. */
int ns__session_principal(ns__conn *c, ns_principal *who);
/* A session for @p who; its id into @p id_hex and its lifetime in seconds into @p max_age. */
int ns__session_new(ns_http *h, const ns_principal *who, char id_hex[2 * NS__SESSION_ID_BYTES + 1],
		    long *max_age);
void ns__session_end(ns__conn *c);
const char *ns__csrf_refusal(ns__conn *c, int need_json);
/* The same for a bearer request that carries browser provenance (Origin or Sec-Fetch-Site); NULL without. */
const char *ns__bearer_csrf_refusal(ns__conn *c, int need_json);

/* tls.c: ns__tls_accept gives a new connection its SSL (-1: out of memory);
 * ns__tls_input takes bytes read from the socket (the handshake, then
 * records whose plaintext goes to ns__feed); ns__tls_seal replaces a
 * response in @p buf with its TLS records (and close_notify after the last);
 * -1 on failure. */
int ns__tls_accept(ns__conn *c);
void ns__tls_input(ns__conn *c, const char *data, size_t len);
int ns__tls_seal(ns__conn *c, char **buf, size_t *len);
void ns__tls_free(ns__conn *c);
void ns__tls_server_free(ns_http *h);
void ns__tls_metrics(const ns_http *h, FILE *f);

/* audit.c: the read audit of the current request.
 * ns__audit_note records that the request read (or was refused) @p offender's
 * data at @p endpoint (the route, e.g. "GET /v1/offenders/{id}") with an
 * enum ns_audit_outcome; the entries are submitted when the response is
 * written, and the response leaves only once they are durable.
 * ns__audit_clear forgets them (request reset). */
int ns__audit_note(ns__conn *c, const char *offender, const char *endpoint, int outcome);
void ns__audit_clear(ns__conn *c);
/* GET /v1/audit?offender=ID|user=U[&from=..&to=..&limit=N] (ROLE_NOMSYNC_AUDIT, checked by the route table). */
void ns__get_audit(ns__conn *c, const char *query);
/* The read and audit lines of /metrics. */
void ns__audit_metrics(ns_http *h, FILE *f);

/* authz.c */
/* Authenticate the request: c->who filled on success; on NS__AUTH_NONE/BAD @p why says why. */
enum ns__auth ns__authenticate(ns__conn *c, ns_diag *why);
/* The principal of bearer token @p tok (service token or JWT): 0, or NS_EAUTH with @p why. */
int ns__credential(ns_http *h, const char *tok, ns_principal *p, ns_diag *why);
/* 401 with the reason of @p why and WWW-Authenticate. */
void ns__respond_unauthorized(ns__conn *c, const ns_diag *why);
/* The route @p path matches (any method), its {id} into @p ref; NULL if none. */
const ns__route *ns__route_find(const char *path, char *ref, size_t cap);
/* 1 if c->who has the role @p r needs; else 403 naming it (audited against @p ref for a person route), 0. */
int ns__route_allowed(ns__conn *c, const ns__route *r, const char *ref);
void ns__get_whoami(ns__conn *c);

/* access.c: limited-access records (service principals may read every record). */
/* 1 if c->who may read @p ref's record, 0 if not, or a negative NS_E code. */
int ns__may_read(ns__conn *c, const char *ref);
/* 1 if c->who may read @p ref at @p endpoint (audited as allowed); else 403 restricted_record
 * (audited as restricted) or an error response, and 0. */
int ns__person_allowed(ns__conn *c, const char *ref, const char *endpoint);
/* @p item (taken) if c->who may read @p ref, else {"offender": ref, "restricted": true}; audited
 * as allowed or listed. */
json_t *ns__list_item(ns__conn *c, const char *ref, const char *endpoint, json_t *item);

/* http.c */
void ns__dispatch(ns__conn *c);
/* Query parameter @p name from @p query (URL-decoded into @p out); 1 if present. */
int ns__query_param(const char *query, const char *name, char *out, size_t cap);

/* figures.c: GET /v1/caseload, /v1/releases, /v1/figures (JSON, or CSV with format=csv);
 * @p endpoint names the route in the read audit. */
enum ns__fig_route { NS__FIG_CASELOAD, NS__FIG_RELEASES, NS__FIG_FIGURES };
void ns__get_figures(ns__conn *c, const char *query, enum ns__fig_route which, const char *endpoint);

#endif /* NS_HTTP_INT_H */
