/*
 * Unit tests for the HTTP API (src/http) without a daemon: ns_http runs on
 * a libuv loop in a second thread over a temporary store, and the tests
 * talk to it over loopback TCP with blocking sockets. Covered: start-up
 * errors, /healthz, bearer token and login cookie, routing (views,
 * timelines, caseloads, status, metrics, 404, 405), malformed and
 * oversized requests (4xx, and the server keeps serving), keep-alive and
 * pipelining, HEAD, and POST /v1/events (400 for bad JSON, 422 naming the
 * field, 201 with the ids; nothing stored unless the whole request is).
 * Issue 11: caseload, releases and figures (JSON, CSV, 400s, auth).
 * Issue 10: session cookies and the CSRF refusals, sign-out by POST, session
 * expiry; and on a second server with small limits the lock-out attack
 * (pipelining, never-reading connections from several 127/8 addresses),
 * the per-client limit, the reserved slots and their eviction.
 * Issue 12: with [auth] keys, a missing role on each route (403 naming it),
 * 401 reasons (expired, not yet valid, wrong issuer or audience, unknown key,
 * forged, alg none or HS256, malformed), the service token (every role,
 * logged), sign-in with a JWT, recorded_by from the user, and limited-access
 * records refused, allowed and masked in lists.
 */
#define _GNU_SOURCE /* memmem */
#include "test.h"

#include "http/http.h"

#include <nomsync/date.h>
#include <nomsync/status.h>
#include <nomsync/store.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define TOKEN "0123456789abcdef-test-token"

static char tmproot[] = "/tmp/ns-http-test-XXXXXX";
static ns_store *store;

/* A server on its own loop and thread. */
typedef struct server {
	uv_loop_t loop;
	uv_async_t stop;
	ns_http *http;
	pthread_t thread;
	int port;
} server;

static server main_srv;     /* default limits */
static server limited_srv;  /* small limits, for the lock-out tests */
static int port;            /* main_srv's */
static atomic_int appended_calls;

/*
 * The daemon's live status as the HTTP module asks for it: one peer, 7
 * events behind. (The only place that depends on the callback's type.)
 */
/* The daemon's part of the status: one live outbound peer 7 events behind. */
static int stub_status(void *arg, ns_node_status *st)
{
	(void)arg;
	memset(st, 0, sizeof(*st));
	snprintf(st->site, sizeof(st->site), "%s", "MDI");
	snprintf(st->listen, sizeof(st->listen), "%s", "tcp://127.0.0.1:1");
	if ((st->peers = calloc(1, sizeof(*st->peers))) == NULL)
		return NS_ENOMEM;
	st->npeers = 1;
	snprintf(st->peers[0].site, sizeof(st->peers[0].site), "%s", "HUB1");
	st->peers[0].outbound = 1;
	st->peers[0].state = NS_PEER_LIVE;
	st->peers[0].behind_events = 7;
	st->peers[0].behind_seconds = 1.5;
	return 0;
}

static void on_appended(void *arg)
{
	(void)arg;
	atomic_fetch_add(&appended_calls, 1);
}

/*
 * Client side: blocking sockets, one response at a time; bytes read past a
 * response stay in the client's buffer for the next (pipelining).
 */
typedef struct client {
	int fd;
	char buf[1 << 17];
	size_t have;
} client;

typedef struct resp {
	int status;
	char head[4096];
	char *body;
	size_t blen;
	json_t *json;
} resp;

/*
 * A connection to port @p to from loopback address @p from ("127.0.0.N":
 * Linux lets a socket bind any 127/8 address, so tests can be many clients).
 */
static client *connect_from(int to, const char *from)
{
	struct sockaddr_in a;
	struct timeval tv = { 10, 0 };
	client *c = calloc(1, sizeof(*c));

	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	if (from) {
		inet_pton(AF_INET, from, &a.sin_addr);
		CHECK_INT(bind(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	}
	a.sin_port = htons((uint16_t)to);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	CHECK_INT(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return c;
}

static client *connect_client(void)
{
	return connect_from(port, NULL);
}

static void client_close(client *c)
{
	close(c->fd);
	free(c);
}

static void send_raw(client *c, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
		if (n <= 0)
			return; /* the server may close early (413, 431); its response is still read */
		data += n;
		len -= (size_t)n;
	}
}

/* Read more bytes; 0 at end of stream or on error. */
static size_t fill(client *c)
{
	if (c->have == sizeof(c->buf))
		return 0;
	ssize_t n = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);
	if (n <= 0)
		return 0;
	c->have += (size_t)n;
	return (size_t)n;
}

/* Value of header @name in @r (static copy), or NULL. */
static const char *header(const resp *r, const char *name)
{
	static char val[512];
	size_t nl = strlen(name);

	for (const char *p = strstr(r->head, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
			const char *v = p + 3 + nl, *e;
			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			size_t n = e ? (size_t)(e - v) : strlen(v);
			if (n >= sizeof(val))
				n = sizeof(val) - 1;
			memcpy(val, v, n);
			val[n] = '\0';
			return val;
		}
	}
	return NULL;
}

static void resp_free(resp *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* Read one response; the body is not expected after a HEAD request. Returns the status (0 if none). */
static int read_resp(client *c, resp *r, int head_request)
{
	char *end;
	size_t hl, cl;

	memset(r, 0, sizeof(*r));
	while ((end = memmem(c->buf, c->have, "\r\n\r\n", 4)) == NULL)
		if (fill(c) == 0)
			return 0;
	hl = (size_t)(end - c->buf) + 4;
	if (hl >= sizeof(r->head))
		return 0;
	memcpy(r->head, c->buf, hl);
	r->head[hl] = '\0';
	if (sscanf(r->head, "HTTP/1.1 %d ", &r->status) != 1)
		return 0;
	const char *len = header(r, "Content-Length");
	cl = len && !head_request ? strtoul(len, NULL, 10) : 0;
	while (c->have < hl + cl)
		if (fill(c) == 0) {
			r->status = 0;
			return 0;
		}
	r->body = malloc(cl + 1);
	memcpy(r->body, c->buf + hl, cl);
	r->body[cl] = '\0';
	r->blen = cl;
	memmove(c->buf, c->buf + hl + cl, c->have - hl - cl);
	c->have -= hl + cl;
	if (cl && header(r, "Content-Type") && strcmp(header(r, "Content-Type"), "application/json") == 0)
		r->json = json_loadb(r->body, cl, 0, NULL);
	return r->status;
}

/* 1 if the server has closed the connection (nothing more to read). */
static int closed_by_server(client *c)
{
	return c->have == 0 && fill(c) == 0;
}

/* Format and send one request; @auth NULL for no Authorization header. */
static void send_req(client *c, const char *method, const char *path, const char *auth, const char *extra,
		     const char *body)
{
	char head[8192];
	int n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: localhost\r\n%s%s%s%s", method, path,
			 auth ? "Authorization: " : "", auth ? auth : "", auth ? "\r\n" : "", extra ? extra : "");
	if (body)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Type: application/json\r\n"
								  "Content-Length: %zu\r\n", strlen(body));
	n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
	send_raw(c, head, (size_t)n);
	if (body)
		send_raw(c, body, strlen(body));
}

/* One request on a fresh connection, with the token. */
static int req(const char *method, const char *path, const char *body, resp *r)
{
	client *c = connect_client();
	send_req(c, method, path, "Bearer " TOKEN, NULL, body);
	read_resp(c, r, strcmp(method, "HEAD") == 0);
	client_close(c);
	return r->status;
}

static const char *jstr(const resp *r, const char *key)
{
	return json_string_value(json_object_get(r->json, key));
}

static long long jint(const resp *r, const char *key)
{
	return json_integer_value(json_object_get(r->json, key));
}

static uint64_t stored_events(void)
{
	uint64_t persons = 0, events = 0;
	CHECK_INT(ns_store_stats(store, &persons, &events), 0);
	return events;
}

/* The server still answers a fresh connection. */
static void still_serving(void)
{
	resp r;
	CHECK_INT(req("GET", "/healthz", NULL, &r), 200);
	resp_free(&r);
}

/*
 * Server set-up.
 */

static void on_stop(uv_async_t *a)
{
	ns_http_stop(((server *)a->data)->http);
	uv_close((uv_handle_t *)a, NULL);
}

static void *run_loop(void *arg)
{
	uv_run(&((server *)arg)->loop, UV_RUN_DEFAULT);
	return NULL;
}

/* A port nothing listens on now (the kernel's pick for port 0). */
static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &al);
	p = ntohs(a.sin_port);
	close(fd);
	return p;
}

/* Start @p sv over the store with @p opts (NULL: defaults) at a free port. */
static int start_http(server *sv, const ns_http_opts *opts)
{
	char listen[64];
	ns_diag d;
	int rc = -1;

	uv_loop_init(&sv->loop);
	for (int tries = 0; tries < 20; tries++) {
		sv->port = free_port();
		snprintf(listen, sizeof(listen), "127.0.0.1:%d", sv->port);
		rc = ns_http_start(&sv->http, &sv->loop, store, listen, TOKEN, stub_status, NULL, on_appended, &d);
		if (rc == 0)
			break;
		/* Taken meanwhile: let the loop close the listener, then try another port. */
		uv_run(&sv->loop, UV_RUN_DEFAULT);
		ns_http_free(sv->http);
		sv->http = NULL;
	}
	if (rc != 0 || (opts && ns_http_configure(sv->http, opts, &d) != 0))
		return -1;
	uv_async_init(&sv->loop, &sv->stop, on_stop);
	sv->stop.data = sv;
	return pthread_create(&sv->thread, NULL, run_loop, sv);
}

static int start_server(void)
{
	char dir[300];
	ns_diag d;
	const char *lines[] = {
		"{\"type\":\"person.created\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-01-01T09:00:00Z\","
		"\"surname\":\"SMITH\",\"forenames\":\"JOHN\",\"dob\":\"1990-05-17\",\"gender\":\"M\"}",
		"{\"type\":\"prisoner.received\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-01-01T15:00:00Z\","
		"\"prison\":\"MDI\",\"reason\":\"NEW_ADMISSION\"}",
		"{\"type\":\"prisoner.adjustment.recorded\",\"offender\":\"A1234BC\",\"occurred_at\":"
		"\"2024-01-02T10:00:00Z\",\"adjustment_type\":\"REMAND\",\"days\":30}",
	};
	ns_input in[3];
	size_t bad;

	snprintf(dir, sizeof(dir), "%s/mdi", tmproot);
	if (ns_store_create(dir, "MDI", NS_ROLE_PRISON, &d) != 0 || ns_store_open(dir, NS_STORE_NOSYNC, &store, &d) != 0)
		return -1;
	for (int i = 0; i < 3; i++)
		if (ns_input_parse(lines[i], strlen(lines[i]), &in[i], &d) != 0)
			return -1;
	int rc = ns_store_append(store, in, 3, NULL, &bad, &d);
	for (int i = 0; i < 3; i++)
		ns_input_clear(&in[i]);
	if (rc != 0)
		return -1;

	if (start_http(&main_srv, NULL) != 0)
		return -1;
	port = main_srv.port;
	return 0;
}

static void stop_http(server *sv)
{
	uv_async_send(&sv->stop);
	pthread_join(sv->thread, NULL);
	CHECK_INT(uv_loop_close(&sv->loop), 0);
	ns_http_free(sv->http);
}

static void stop_server(void)
{
	stop_http(&main_srv);
	ns_store_close(store);
}

/*
 * Tests.
 */

static void test_start_errors(void)
{
	uv_loop_t l;
	ns_http *h = (ns_http *)1;
	ns_diag d;
	char listen[64];

	uv_loop_init(&l);
	CHECK_INT(ns_http_start(&h, &l, store, "8411", TOKEN, NULL, NULL, NULL, &d), NS_ECONFIG);
	CHECK(h == NULL);
	CHECK_STR(d.field, "http");
	CHECK_STR(d.msg, "[http] listen must be HOST:PORT, not '8411'");
	CHECK_INT(ns_http_start(&h, &l, store, "127.0.0.1:0", TOKEN, NULL, NULL, NULL, &d), NS_ECONFIG);
	CHECK_INT(ns_http_start(&h, &l, store, "127.0.0.1:70000", TOKEN, NULL, NULL, NULL, &d), NS_ECONFIG);
	CHECK_INT(ns_http_start(&h, &l, store, "localhost:8411", TOKEN, NULL, NULL, NULL, &d), NS_ECONFIG);
	CHECK_STR(d.msg, "[http] listen: 'localhost' is not an IPv4 address");
	CHECK_INT(ns_http_start(&h, &l, store, "127.0.0.1:8411", "short-token", NULL, NULL, NULL, &d), NS_ECONFIG);
	CHECK_STR(d.msg, "[http] token must be at least 16 characters");
	CHECK(h == NULL);
	/* The running server's port is taken: refused, and the half-made server freed after the loop runs. */
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	CHECK_INT(ns_http_start(&h, &l, store, listen, TOKEN, NULL, NULL, NULL, &d), NS_ECONFIG);
	CHECK(strncmp(d.msg, "cannot listen on ", 17) == 0);
	CHECK(h != NULL);
	uv_run(&l, UV_RUN_DEFAULT);
	ns_http_free(h);
	/* No token (signed-in people only, [auth]): not refused for it; here it fails on the same taken port. */
	CHECK_INT(ns_http_start(&h, &l, store, listen, "", NULL, NULL, NULL, &d), NS_ECONFIG);
	CHECK(strncmp(d.msg, "cannot listen on ", 17) == 0);
	CHECK(h != NULL);
	uv_run(&l, UV_RUN_DEFAULT);
	ns_http_free(h);
	/* Limits: the reserve must be smaller than the total (refused before anything changes). */
	CHECK_INT(ns_http_configure(main_srv.http, &(ns_http_opts){ .max_conns = 16, .reserved_conns = 16 }, &d),
		  NS_ECONFIG);
	CHECK_STR(d.msg, "[http] reserved_connections (16) must be less than max_connections (16)");
	CHECK_INT(uv_loop_close(&l), 0);
}

static void test_healthz(void)
{
	client *c = connect_client();
	resp r;

	/* No token needed; GET and HEAD on one keep-alive connection. */
	send_req(c, "GET", "/healthz", NULL, NULL, NULL);
	CHECK_INT(read_resp(c, &r, 0), 200);
	CHECK_STR(r.body, "{\"status\":\"ok\"}");
	CHECK_STR(header(&r, "Content-Type"), "application/json");
	CHECK_STR(header(&r, "Connection"), "keep-alive");
	CHECK_STR(header(&r, "Cache-Control"), "no-store");
	CHECK_STR(header(&r, "X-Content-Type-Options"), "nosniff");
	resp_free(&r);
	/* HEAD: the length of the GET body, and no body (the next response follows at once). */
	send_req(c, "HEAD", "/healthz", NULL, NULL, NULL);
	CHECK_INT(read_resp(c, &r, 1), 200);
	CHECK_STR(header(&r, "Content-Length"), "15");
	resp_free(&r);
	send_req(c, "GET", "/healthz", NULL, NULL, NULL);
	CHECK_INT(read_resp(c, &r, 0), 200);
	CHECK_STR(r.body, "{\"status\":\"ok\"}");
	resp_free(&r);
	/* Any other method: 405, and the connection is closed. */
	send_req(c, "POST", "/healthz", NULL, NULL, "{}");
	CHECK_INT(read_resp(c, &r, 0), 405);
	CHECK_STR(jstr(&r, "error"), "method_not_allowed");
	CHECK_STR(jstr(&r, "message"), "use GET");
	CHECK_STR(header(&r, "Connection"), "close");
	resp_free(&r);
	CHECK(closed_by_server(c));
	client_close(c);
}

static void test_auth(void)
{
	/* Without [auth] keys only the token is a credential; 401 says why. */
	const char *const must = "the Authorization header must be \"Bearer TOKEN\"";
	const struct {
		const char *auth, *reason, *message;
	} bad[] = {
		{ NULL, "missing", "a bearer token is required" }, /* no header */
		{ "Bearer", "invalid", must },                      /* no token */
		{ "Bearer ", "missing", "a bearer token is required" },
		{ "Bearer 0123456789abcdef-test-tokeX", "invalid", "the bearer token is not valid" }, /* last byte */
		{ "Bearer 0123456789abcdef-test-toke", "invalid", "the bearer token is not valid" },  /* a prefix */
		{ "Bearer " TOKEN "x", "invalid", "the bearer token is not valid" },                   /* longer */
		{ "Basic " TOKEN, "invalid", must },
		{ TOKEN, "invalid", must },
	};
	client *c = connect_client();
	resp r;

	/* 401 keeps the connection open: every case on one connection. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		send_req(c, "GET", "/v1/status", bad[i].auth, NULL, NULL);
		CHECK_INT(read_resp(c, &r, 0), 401);
		CHECK_STR(jstr(&r, "error"), "unauthorized");
		CHECK_STR(jstr(&r, "reason"), bad[i].reason);
		CHECK_STR(jstr(&r, "message"), bad[i].message);
		CHECK_STR(header(&r, "Connection"), "keep-alive");
		if (strcmp(bad[i].reason, "missing") == 0)
			CHECK_STR(header(&r, "WWW-Authenticate"), "Bearer");
		else
			CHECK(header(&r, "WWW-Authenticate") &&
			      strstr(header(&r, "WWW-Authenticate"), "Bearer error=\"invalid_token\"") != NULL);
		resp_free(&r);
	}
	/* Protected API paths, including unknown ones (no probing for routes without the token). */
	const char *paths[] = { "/v1/offenders/A1234BC", "/metrics", "/v1/events", "/no/such/path", "/logout" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		send_req(c, "GET", paths[i], NULL, NULL, NULL);
		CHECK_INT(read_resp(c, &r, 0), 401);
		resp_free(&r);
	}
	CHECK_INT(stored_events(), 3);
	/* The scheme name is case-insensitive; the right token works on the same connection. */
	send_req(c, "GET", "/v1/status", "bearer " TOKEN, NULL, NULL);
	CHECK_INT(read_resp(c, &r, 0), 200);
	resp_free(&r);
	/* The token itself in a cookie is not a session (the cookie carries a session id). */
	const char *cookies[] = { "Cookie: a=b; nomsync_token=" TOKEN "; c=d\r\n", "Cookie: nomsync_session=" TOKEN "\r\n",
				  "Cookie: nomsync_token=wrong\r\n" };
	for (size_t i = 0; i < sizeof(cookies) / sizeof(cookies[0]); i++) {
		send_req(c, "GET", "/v1/status", NULL, cookies[i], NULL);
		CHECK_INT(read_resp(c, &r, 0), 401);
		resp_free(&r);
	}

	/* Without a token the page shows the login form (401); the stylesheet is public. */
	send_req(c, "GET", "/", NULL, NULL, NULL);
	CHECK_INT(read_resp(c, &r, 0), 401);
	CHECK(strncmp(header(&r, "Content-Type"), "text/html", 9) == 0);
	CHECK(strstr(r.body, "action=\"/login\"") != NULL);
	resp_free(&r);
	send_req(c, "GET", "/style.css", NULL, NULL, NULL);
	CHECK_INT(read_resp(c, &r, 0), 200);
	CHECK(strncmp(header(&r, "Content-Type"), "text/css", 8) == 0);
	resp_free(&r);
	client_close(c);

	/* POST /login: a wrong token shows the form again; the right one sets the cookie and redirects. */
	c = connect_client();
	const char *form = "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n";
	send_req(c, "POST", "/login", NULL, form, NULL);
	send_raw(c, "token=wrong", 11);
	CHECK_INT(read_resp(c, &r, 0), 401);
	CHECK(strstr(r.body, "action=\"/login\"") != NULL);
	resp_free(&r);
	char extra[256];
	snprintf(extra, sizeof(extra), "Content-Length: %zu\r\n", strlen("token=" TOKEN));
	send_req(c, "POST", "/login", NULL, extra, NULL);
	send_raw(c, "token=" TOKEN, strlen("token=" TOKEN));
	CHECK_INT(read_resp(c, &r, 0), 303);
	CHECK_STR(header(&r, "Location"), "/");
	/* A session id (64 hex digits), not the token, in an HttpOnly, SameSite=Strict cookie that lasts 12 h. */
	const char *set = header(&r, "Set-Cookie");
	CHECK(set != NULL && strncmp(set, "nomsync_session=", 16) == 0 && strspn(set + 16, "0123456789abcdef") == 64);
	CHECK(set != NULL && strcmp(set + 16 + 64, "; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200") == 0);
	CHECK(set != NULL && strstr(set, TOKEN) == NULL);
	resp_free(&r);
	client_close(c);
}

/* POST /login on server port @p to; the session cookie as a request header line into @p hdr. */
static void login(int to, char hdr[128])
{
	client *c = connect_from(to, NULL);
	char extra[256];
	resp r;

	snprintf(extra, sizeof(extra), "Content-Length: %zu\r\n", strlen("token=" TOKEN));
	send_req(c, "POST", "/login", NULL, extra, NULL);
	send_raw(c, "token=" TOKEN, strlen("token=" TOKEN));
	CHECK_INT(read_resp(c, &r, 0), 303);
	const char *set = header(&r, "Set-Cookie");
	snprintf(hdr, 128, "Cookie: %.80s\r\n", set ? set : "none");
	char *semi = strchr(hdr, ';');
	if (semi)
		strcpy(semi, "\r\n");
	resp_free(&r);
	client_close(c);
}

/* One request to port @p to with raw extra header lines (Cookie, Origin, Content-Type...) and a body; the status. */
static int raw_req(int to, const char *method, const char *path, const char *headers, const char *body)
{
	client *c = connect_from(to, NULL);
	char head[2048];
	resp r;
	int n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: localhost\r\n%sContent-Length: %zu\r\n\r\n%s",
			 method, path, headers, strlen(body), body);
	send_raw(c, head, (size_t)n);
	int st = read_resp(c, &r, 0);
	if (st == 403)
		CHECK_STR(jstr(&r, "error"), "forbidden");
	resp_free(&r);
	client_close(c);
	return st;
}

/*
 * Cross-site request forgery: a cookie session may change something only
 * from the page itself (same Origin, or Sec-Fetch-Site: same-origin) and
 * POST /v1/events only as JSON; so may a bearer request that a browser sent
 * (a login proxy's injected bearer), while machine clients' are not checked. Sign-out
 * is a POST and ends the session; an unknown session is refused.
 */
static void test_sessions_and_csrf(void)
{
	char cookie[128], h[1024], other[64];
	uint64_t before = stored_events();
	const char *ev = "{\"type\":\"alert.raised\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-02-05T09:00:00Z\","
			 "\"alert_type\":\"H\",\"alert_code\":\"HA\",\"from_date\":\"2024-02-05\"}";
	const char *json = "Content-Type: application/json\r\n";

	login(port, cookie);
	CHECK_INT(raw_req(port, "GET", "/v1/status", cookie, ""), 200);
	/* text/plain (what a cross-site form or fetch can send without a preflight): 403. */
	snprintf(h, sizeof(h), "%sOrigin: http://localhost\r\nContent-Type: text/plain\r\n", cookie);
	CHECK_INT(raw_req(port, "POST", "/v1/events", h, ev), 403);
	snprintf(h, sizeof(h), "%sOrigin: http://localhost\r\n", cookie);
	CHECK_INT(raw_req(port, "POST", "/v1/events", h, ev), 403); /* no Content-Type */
	/* A foreign Origin: another site, another port of this host, "null". */
	snprintf(other, sizeof(other), "http://localhost:%d", port + 1);
	const char *foreign[] = { "http://evil.example", other, "null", "http://localhost.evil.example" };
	for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
		snprintf(h, sizeof(h), "%s%sOrigin: %s\r\n", cookie, json, foreign[i]);
		CHECK_INT(raw_req(port, "POST", "/v1/events", h, ev), 403);
	}
	/* Neither Origin nor Sec-Fetch-Site; Sec-Fetch-Site other than same-origin (even with a good Origin). */
	snprintf(h, sizeof(h), "%s%s", cookie, json);
	CHECK_INT(raw_req(port, "POST", "/v1/events", h, ev), 403);
	snprintf(h, sizeof(h), "%s%sSec-Fetch-Site: same-site\r\n", cookie, json);
	CHECK_INT(raw_req(port, "POST", "/v1/events", h, ev), 403);
	snprintf(h, sizeof(h), "%s%sOrigin: http://localhost\r\nSec-Fetch-Site: cross-site\r\n", cookie, json);
	CHECK_INT(raw_req(port, "POST", "/v1/events", h, ev), 403);
	CHECK_INT(stored_events(), before);
	/* From the page: same Origin (http, or https through a TLS proxy) or Sec-Fetch-Site alone, and JSON: 201. */
	snprintf(h, sizeof(h), "%sOrigin: http://localhost\r\nContent-Type: application/json; charset=utf-8\r\n", cookie);
	CHECK_INT(raw_req(port, "POST", "/v1/events", h, ev), 201);
	snprintf(h, sizeof(h), "%s%sOrigin: https://localhost\r\nSec-Fetch-Site: same-origin\r\n", cookie, json);
	CHECK_INT(raw_req(port, "POST", "/v1/events", h, ev), 201);
	snprintf(h, sizeof(h), "%s%sSec-Fetch-Site: same-origin\r\n", cookie, json);
	CHECK_INT(raw_req(port, "POST", "/v1/events", h, ev), 201);
	/* The page's own requests under its no-referrer policy: Origin null, Sec-Fetch-Site decides. */
	snprintf(h, sizeof(h), "%s%sOrigin: null\r\nSec-Fetch-Site: same-origin\r\n", cookie, json);
	CHECK_INT(raw_req(port, "POST", "/v1/events", h, ev), 201);
	snprintf(h, sizeof(h), "%s%sOrigin: null\r\nSec-Fetch-Site: cross-site\r\n", cookie, json);
	CHECK_INT(raw_req(port, "POST", "/v1/events", h, ev), 403);
	CHECK_INT(stored_events(), before + 4);
	/* A bearer token from a machine client (no Origin, no Sec-Fetch-Site): any Content-Type. */
	const char *bearer = "Authorization: Bearer " TOKEN "\r\n";
	CHECK_INT(raw_req(port, "POST", "/v1/events", bearer, ev), 201);
	snprintf(h, sizeof(h), "%sContent-Type: text/plain\r\n", bearer);
	CHECK_INT(raw_req(port, "POST", "/v1/events", h, ev), 201);
	/*
	 * A bearer a login proxy injected into a browser's request: checked like a cookie. Foreign
	 * Origin, Sec-Fetch-Site other than same-origin, "null" without Sec-Fetch-Site: 403.
	 */
	for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
		snprintf(h, sizeof(h), "%s%sOrigin: %s\r\n", bearer, json, foreign[i]);
		CHECK_INT(raw_req(port, "POST", "/v1/events", h, ev), 403);
	}
	const char *sites[] = { "cross-site", "same-site" };
	for (size_t i = 0; i < sizeof(sites) / sizeof(sites[0]); i++) {
		snprintf(h, sizeof(h), "%s%sSec-Fetch-Site: %s\r\n", bearer, json, sites[i]);
		CHECK_INT(raw_req(port, "POST", "/v1/events", h, ev), 403);
	}
	snprintf(h, sizeof(h), "%sOrigin: http://localhost\r\nContent-Type: text/plain\r\n", bearer);
	CHECK_INT(raw_req(port, "POST", "/v1/events", h, ev), 403);
	CHECK_INT(stored_events(), before + 6);
	/* From the page through the proxy (same Origin, or Sec-Fetch-Site same-origin or none): 201. */
	snprintf(h, sizeof(h), "%s%sOrigin: http://localhost\r\nSec-Fetch-Site: same-origin\r\n", bearer, json);
	CHECK_INT(raw_req(port, "POST", "/v1/events", h, ev), 201);
	snprintf(h, sizeof(h), "%s%sOrigin: null\r\nSec-Fetch-Site: same-origin\r\n", bearer, json);
	CHECK_INT(raw_req(port, "POST", "/v1/events", h, ev), 201);
	snprintf(h, sizeof(h), "%s%sSec-Fetch-Site: none\r\n", bearer, json);
	CHECK_INT(raw_req(port, "POST", "/v1/events", h, ev), 201);
	CHECK_INT(stored_events(), before + 9);

	/* GET /logout no longer signs out (405); POST from elsewhere is refused; POST from the page does. */
	CHECK_INT(raw_req(port, "GET", "/logout", cookie, ""), 405);
	CHECK_INT(raw_req(port, "GET", "/v1/status", cookie, ""), 200);
	snprintf(h, sizeof(h), "%sOrigin: http://evil.example\r\n", cookie);
	CHECK_INT(raw_req(port, "POST", "/logout", h, ""), 403);
	CHECK_INT(raw_req(port, "GET", "/v1/status", cookie, ""), 200);
	client *c = connect_client();
	resp r;
	snprintf(h, sizeof(h), "%sOrigin: http://localhost\r\nContent-Length: 0\r\n", cookie);
	send_req(c, "POST", "/logout", NULL, h, NULL);
	CHECK_INT(read_resp(c, &r, 0), 303);
	CHECK_STR(header(&r, "Location"), "/");
	CHECK(strstr(header(&r, "Set-Cookie"), "nomsync_session=;") != NULL &&
	      strstr(header(&r, "Set-Cookie"), "Max-Age=0") != NULL);
	resp_free(&r);
	client_close(c);
	/* The session is gone on the server, whatever the browser keeps. */
	CHECK_INT(raw_req(port, "GET", "/v1/status", cookie, ""), 401);
	/* Signing out without a session still clears the cookie. */
	CHECK_INT(raw_req(port, "POST", "/logout", "", ""), 303);
	/* An unknown (well-formed) session id: 401. */
	CHECK_INT(raw_req(port, "GET", "/v1/status",
			  "Cookie: nomsync_session=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\r\n",
			  ""),
		  401);
}

static void test_routes(void)
{
	resp r;

	/* A person's view by NOMS number. */
	CHECK_INT(req("GET", "/v1/offenders/A1234BC", NULL, &r), 200);
	CHECK(r.json != NULL);
	CHECK_STR(jstr(&r, "noms"), "A1234BC");
	CHECK_STR(jstr(&r, "status"), "ACTIVE IN");
	CHECK_STR(jstr(&r, "prison"), "MDI");
	/* Byte for byte what the store gives. */
	char *view;
	size_t vlen;
	CHECK_INT(ns_store_view(store, "A1234BC", &view, &vlen, NULL), 0);
	CHECK_INT(r.blen, vlen);
	CHECK(r.blen == vlen && memcmp(r.body, view, vlen) == 0);
	free(view);
	resp_free(&r);

	/* Unknown person: 404 naming the reference. */
	CHECK_INT(req("GET", "/v1/offenders/Z9999ZZ", NULL, &r), 404);
	CHECK_STR(jstr(&r, "error"), "not_found");
	CHECK_STR(jstr(&r, "message"), "no person with NOMS number or CRN 'Z9999ZZ'");
	resp_free(&r);
	CHECK_INT(req("GET", "/v1/offenders/", NULL, &r), 404);
	CHECK_STR(jstr(&r, "message"), "no such person");
	resp_free(&r);

	/* The signed timeline. */
	CHECK_INT(req("GET", "/v1/offenders/A1234BC/events", NULL, &r), 200);
	CHECK_STR(jstr(&r, "offender"), "A1234BC");
	json_t *evs = json_object_get(r.json, "events");
	CHECK_INT(json_array_size(evs), 3);
	for (size_t i = 0; i < json_array_size(evs); i++)
		CHECK_STR(json_string_value(json_object_get(json_array_get(evs, i), "signature")), "valid");
	resp_free(&r);
	CHECK_INT(req("GET", "/v1/offenders/Z9999ZZ/events", NULL, &r), 404);
	resp_free(&r);
	CHECK_INT(req("GET", "/v1/offenders/A1234BC/other", NULL, &r), 404);
	CHECK_STR(jstr(&r, "message"), "no such resource");
	resp_free(&r);

	/* Caseloads: a filter is required, limit 1..500. */
	CHECK_INT(req("GET", "/v1/offenders?prison=MDI", NULL, &r), 200);
	CHECK_INT(jint(&r, "total"), 1);
	CHECK_INT(jint(&r, "limit"), 50);
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "noms")),
		  "A1234BC");
	resp_free(&r);
	CHECK_INT(req("GET", "/v1/offenders?q=smi", NULL, &r), 200);
	CHECK_INT(jint(&r, "total"), 1);
	resp_free(&r);
	CHECK_INT(req("GET", "/v1/offenders?prison=LEI", NULL, &r), 200);
	CHECK_INT(jint(&r, "total"), 0);
	CHECK_INT(json_array_size(json_object_get(r.json, "items")), 0);
	resp_free(&r);
	CHECK_INT(req("GET", "/v1/offenders", NULL, &r), 400);
	CHECK_STR(jstr(&r, "message"), "give prison=, region= or q=");
	resp_free(&r);
	CHECK_INT(req("GET", "/v1/offenders?prison=MDI&limit=0", NULL, &r), 400);
	CHECK_STR(jstr(&r, "message"), "limit must be 1 to 500");
	resp_free(&r);
	CHECK_INT(req("GET", "/v1/offenders?prison=MDI&limit=501", NULL, &r), 400);
	resp_free(&r);

	/* Unknown paths: 404 (and the connection stays open). */
	client *c = connect_client();
	const char *unknown[] = { "/nope", "/v1", "/v1/", "/v1/persons/A1234BC", "/healthz/x", "/v1/statusx" };
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		send_req(c, "GET", unknown[i], "Bearer " TOKEN, NULL, NULL);
		CHECK_INT(read_resp(c, &r, 0), 404);
		CHECK_STR(jstr(&r, "error"), "not_found");
		CHECK_STR(header(&r, "Connection"), "keep-alive");
		resp_free(&r);
	}
	client_close(c);

	/* Wrong methods: 405 saying which to use, and the connection closes. */
	const struct {
		const char *method, *path, *use;
	} wrong[] = {
		{ "GET", "/v1/events", "use POST" },
		{ "PUT", "/v1/events", "use POST" },
		{ "DELETE", "/v1/offenders/A1234BC", "use GET" },
		{ "POST", "/v1/status", "use GET" },
		{ "PUT", "/nope", "use GET" },
	};
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		c = connect_client();
		send_req(c, wrong[i].method, wrong[i].path, "Bearer " TOKEN, NULL, NULL);
		CHECK_INT(read_resp(c, &r, 0), 405);
		CHECK_STR(jstr(&r, "error"), "method_not_allowed");
		CHECK_STR(jstr(&r, "message"), wrong[i].use);
		CHECK_STR(header(&r, "Connection"), "close");
		resp_free(&r);
		CHECK(closed_by_server(c));
		client_close(c);
	}

	/* The web page itself with the token. */
	CHECK_INT(req("GET", "/", NULL, &r), 200);
	CHECK(strncmp(header(&r, "Content-Type"), "text/html", 9) == 0);
	resp_free(&r);
	CHECK_INT(stored_events(), 3);
}

/* A GET without the token: 401, whatever the route. */
static void check_unauthorized(const char *path)
{
	client *c = connect_client();
	resp r;
	send_req(c, "GET", path, NULL, NULL, NULL);
	CHECK_INT(read_resp(c, &r, 0), 401);
	CHECK_STR(jstr(&r, "error"), "unauthorized");
	resp_free(&r);
	client_close(c);
}

/* GET with the token, expecting 400 and @p message. */
static void check_bad_request(const char *path, const char *message)
{
	resp r;
	CHECK_INT(req("GET", path, NULL, &r), 400);
	CHECK_STR(jstr(&r, "error"), "bad_request");
	CHECK_STR(jstr(&r, "message"), message);
	resp_free(&r);
}

/* Issue 11 item 7: /v1/caseload, /v1/releases and /v1/figures, as JSON and CSV. */
static void test_figures_routes(void)
{
	resp r;
	const char *body =
		"[{\"type\":\"manager.pom.allocated\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-01-03T10:00:00Z\","
		"\"prison\":\"MDI\",\"staff\":\"POM9\",\"name\":\"A. POM\"},"
		"{\"type\":\"prisoner.received\",\"offender\":\"A7777AA\",\"occurred_at\":\"2024-01-04T10:00:00Z\","
		"\"prison\":\"LEI\",\"reason\":\"NEW_ADMISSION\"},"
		"{\"type\":\"manager.pom.allocated\",\"offender\":\"A7777AA\",\"occurred_at\":\"2024-01-05T10:00:00Z\","
		"\"prison\":\"LEI\",\"staff\":\"POM9\",\"name\":\"A. POM\"}]";
	CHECK_INT(req("POST", "/v1/events", body, &r), 201);
	resp_free(&r);

	/* The POM's caseload: both, in reference order, as the figures records hold them. */
	CHECK_INT(req("GET", "/v1/caseload?staff=POM9", NULL, &r), 200);
	CHECK(json_is_array(r.json));
	CHECK_INT(json_array_size(r.json), 2);
	json_t *e = json_array_get(r.json, 0);
	CHECK_STR(json_string_value(json_object_get(e, "ref")), "A1234BC");
	CHECK_STR(json_string_value(json_object_get(e, "status")), "IN_CUSTODY");
	CHECK_STR(json_string_value(json_object_get(e, "supervision")), "CUSTODY");
	CHECK_STR(json_string_value(json_object_get(e, "prison")), "MDI");
	CHECK_STR(json_string_value(json_object_get(e, "pom")), "POM9");
	CHECK(json_is_null(json_object_get(e, "release_date")));
	CHECK_STR(json_string_value(json_object_get(json_array_get(r.json, 1), "prison")), "LEI");
	resp_free(&r);
	CHECK_INT(req("GET", "/v1/caseload?staff=NOBODY", NULL, &r), 200);
	CHECK_INT(json_array_size(r.json), 0);
	resp_free(&r);
	/* As CSV: a header row, one row per person, CRLF. */
	CHECK_INT(req("GET", "/v1/caseload?staff=POM9&format=csv", NULL, &r), 200);
	CHECK_STR(header(&r, "Content-Type"), "text/csv; charset=utf-8");
	CHECK(strncmp(r.body, "ref,noms,crn,status,supervision,prison,region,pom,com,tier,rosh,next_key_date,"
			      "release_date,flags\r\n", 98) == 0);
	CHECK(strstr(r.body, "\r\nA7777AA,A7777AA,,IN_CUSTODY,CUSTODY,LEI,,POM9,,,,,,\r\n") != NULL);
	resp_free(&r);

	/* Releases: no sentence, no date, so nobody is due; the window is checked. */
	CHECK_INT(req("GET", "/v1/releases?prison=MDI&days=90&as_of=2024-02-01", NULL, &r), 200);
	CHECK_INT(json_array_size(r.json), 0);
	resp_free(&r);
	CHECK_INT(req("GET", "/v1/releases?region=N55&days=0&format=csv", NULL, &r), 200);
	/* No rows: the header alone, so that a script still finds its columns. */
	CHECK(strncmp(r.body, "ref,noms,crn,", 13) == 0 && strstr(r.body, "\r\n") == r.body + r.blen - 2);
	resp_free(&r);

	/* The figures of the estate, equal to the store's own at that day. */
	CHECK_INT(req("GET", "/v1/figures?as_of=2024-05-01", NULL, &r), 200);
	uint64_t persons = 0, events = 0;
	CHECK_INT(ns_store_stats(store, &persons, &events), 0);
	CHECK_INT(jint(&r, "persons"), (long long)persons);
	CHECK_STR(jstr(&r, "as_of"), "2024-05-01");
	CHECK(json_is_null(json_object_get(r.json, "region")));
	CHECK_INT(json_integer_value(json_object_get(json_object_get(r.json, "population_by_prison"), "LEI")), 1);
	int32_t day = 0;
	CHECK_INT(ns_date_parse("2024-05-01", &day), 0);
	json_t *direct = NULL;
	CHECK_INT(ns_store_figures(store, NULL, day, &direct, NULL), 0);
	CHECK(json_equal(r.json, direct));
	json_decref(direct);
	resp_free(&r);
	/* A region nobody's COM is in: zero persons, same keys. */
	CHECK_INT(req("GET", "/v1/figures?region=N55", NULL, &r), 200);
	CHECK_STR(jstr(&r, "region"), "N55");
	CHECK_INT(jint(&r, "persons"), 0);
	CHECK(json_object_get(r.json, "releases_due") != NULL);
	resp_free(&r);
	/* As CSV: "figure,key,value". */
	CHECK_INT(req("GET", "/v1/figures?as_of=2024-05-01&format=csv", NULL, &r), 200);
	CHECK_STR(header(&r, "Content-Type"), "text/csv; charset=utf-8");
	CHECK(strncmp(r.body, "figure,key,value\r\n", 18) == 0);
	CHECK(strstr(r.body, "\r\nas_of,,2024-05-01\r\n") != NULL);
	CHECK(strstr(r.body, "\r\npopulation_by_prison,LEI,1\r\n") != NULL);
	CHECK(strstr(r.body, "\r\nreleases_due,90,0\r\n") != NULL);
	resp_free(&r);

	/* Bad parameters: 400 naming what to give. */
	check_bad_request("/v1/caseload", "give staff=");
	check_bad_request("/v1/caseload?staff=", "give staff=");
	check_bad_request("/v1/releases", "give prison= or region=");
	check_bad_request("/v1/releases?prison=&region=", "give prison= or region=");
	check_bad_request("/v1/releases?prison=MDI&days=abc", "days must be 0 to 3660");
	check_bad_request("/v1/releases?prison=MDI&days=", "days must be 0 to 3660");
	check_bad_request("/v1/releases?prison=MDI&days=-1", "days must be 0 to 3660");
	check_bad_request("/v1/releases?prison=MDI&days=3661", "days must be 0 to 3660");
	check_bad_request("/v1/releases?prison=MDI&days=7x", "days must be 0 to 3660");
	check_bad_request("/v1/figures?as_of=2024-13-01", "as_of must be YYYY-MM-DD");
	check_bad_request("/v1/figures?as_of=yesterday", "as_of must be YYYY-MM-DD");
	check_bad_request("/v1/caseload?staff=POM9&as_of=2024-02-30", "as_of must be YYYY-MM-DD");
	check_bad_request("/v1/figures?format=xml", "format must be json or csv");
	check_bad_request("/v1/releases?prison=MDI&format=CSV", "format must be json or csv");
	CHECK_INT(req("GET", "/v1/figures?format=json", NULL, &r), 200);
	CHECK(r.json != NULL);
	resp_free(&r);

	/* Auth: the token is required; GET only. */
	check_unauthorized("/v1/caseload?staff=POM9");
	check_unauthorized("/v1/releases?prison=MDI");
	check_unauthorized("/v1/figures");
	check_unauthorized("/v1/figures?format=csv");
	CHECK_INT(req("POST", "/v1/figures", "{}", &r), 405);
	CHECK_STR(jstr(&r, "message"), "use GET");
	resp_free(&r);
}

/* /v1/status and /metrics: the store's numbers and the status callback's peers. */
static void test_status_and_metrics(void)
{
	resp r;

	CHECK_INT(req("GET", "/v1/status", NULL, &r), 200);
	CHECK_STR(jstr(&r, "site"), "MDI");
	CHECK_STR(jstr(&r, "role"), "prison");
	CHECK_INT(jint(&r, "events"), stored_events());
	CHECK_INT(jint(&r, "persons"), 1);
	CHECK_INT(jint(&r, "conflicts_open"), 0);
	CHECK(json_object_size(json_object_get(r.json, "vector")) == 1);
	CHECK_INT(json_integer_value(json_object_get(json_object_get(r.json, "counters"), "appended")),
		  stored_events());
	json_t *peer = json_array_get(json_object_get(r.json, "peers"), 0);
	CHECK_STR(json_string_value(json_object_get(peer, "site")), "HUB1");
	CHECK_STR(json_string_value(json_object_get(peer, "state")), "live");
	resp_free(&r);

	CHECK_INT(req("GET", "/metrics", NULL, &r), 200);
	CHECK_STR(header(&r, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
	char line[128];
	snprintf(line, sizeof(line), "\nnomsync_events_stored %llu\n", (unsigned long long)stored_events());
	CHECK(strstr(r.body, line) != NULL);
	CHECK(strstr(r.body, "\nnomsync_persons 1\n") != NULL);
	CHECK(strstr(r.body, "\nnomsync_peer_up{peer=\"HUB1\",direction=\"outbound\"} 1\n") != NULL);
	CHECK(strstr(r.body, "\nnomsync_replication_lag_events{peer=\"HUB1\",direction=\"outbound\"} 7\n") != NULL);
	CHECK(strstr(r.body, "\nnomsync_replication_lag_seconds{peer=\"HUB1\",direction=\"outbound\"} 1.500\n") !=
	      NULL);
	CHECK(strstr(r.body, "\nnomsync_folds_pending 0\n") != NULL);
	CHECK(strstr(r.body, "nomsync_http_responses_total{class=\"2xx\"} ") != NULL);
	/* CPU by activity: every activity listed; this store's appends took some, and the process more. */
	double act[NS_CPU_ACTIVITIES], process = 0;
	for (int a = 0; a < NS_CPU_ACTIVITIES; a++) {
		snprintf(line, sizeof(line), "\nnomsync_cpu_seconds_total{activity=\"%s\"} ", ns_cpu_activity_name(a));
		const char *at = strstr(r.body, line);
		CHECK(at != NULL);
		act[a] = at ? strtod(at + strlen(line), NULL) : -1;
		CHECK(act[a] >= 0);
	}
	const char *pc = strstr(r.body, "\nnomsync_process_cpu_seconds_total ");
	CHECK(pc != NULL);
	if (pc)
		process = strtod(pc + strlen("\nnomsync_process_cpu_seconds_total "), NULL);
	CHECK(act[NS_CPU_APPEND] > 0);
	CHECK(process > act[NS_CPU_APPEND]);
	resp_free(&r);
}

static void test_malformed_and_oversized(void)
{
	client *c;
	resp r;
	uint64_t before = stored_events();

	/* Not HTTP at all. */
	c = connect_client();
	send_raw(c, "GARBAGE\r\n\r\n", 11);
	CHECK_INT(read_resp(c, &r, 0), 400);
	CHECK_STR(jstr(&r, "error"), "bad_request");
	CHECK(jstr(&r, "message") != NULL && jstr(&r, "message")[0] != '\0');
	CHECK_STR(header(&r, "Connection"), "close");
	resp_free(&r);
	CHECK(closed_by_server(c));
	client_close(c);
	still_serving();

	/* A broken request line, and a header line without a colon. */
	const char *broken[] = {
		"GET /healthz HTTP/9.Z\r\n\r\n",
		"GET\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nNoColonHere\r\n\r\n",
		"GET /healthz HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		c = connect_client();
		send_raw(c, broken[i], strlen(broken[i]));
		CHECK_INT(read_resp(c, &r, 0), 400);
		CHECK_STR(jstr(&r, "error"), "bad_request");
		resp_free(&r);
		CHECK(closed_by_server(c));
		client_close(c);
	}
	still_serving();

	/* A request target the URL parser refuses. */
	c = connect_client();
	send_req(c, "GET", "http://[::1/healthz", "Bearer " TOKEN, NULL, NULL);
	CHECK_INT(read_resp(c, &r, 0), 400);
	resp_free(&r);
	client_close(c);

	/* A 5000-byte URL: 414. */
	char *url = malloc(5001);
	url[0] = '/';
	memset(url + 1, 'a', 4999);
	url[5000] = '\0';
	c = connect_client();
	send_req(c, "GET", url, "Bearer " TOKEN, NULL, NULL);
	CHECK_INT(read_resp(c, &r, 0), 414);
	CHECK_STR(jstr(&r, "error"), "uri_too_long");
	resp_free(&r);
	client_close(c);
	free(url);
	still_serving();

	/* 20 KiB of headers (16 KiB allowed): 431. */
	size_t hn = 20 * 1024, cap = 32 * 1024;
	char *big = malloc(cap);
	int n = snprintf(big, cap, "GET /healthz HTTP/1.1\r\nX-Big: ");
	memset(big + n, 'h', hn);
	memcpy(big + n + hn, "\r\n\r\n", 5);
	c = connect_client();
	send_raw(c, big, strlen(big));
	CHECK_INT(read_resp(c, &r, 0), 431);
	CHECK_STR(jstr(&r, "error"), "headers_too_large");
	CHECK_STR(jstr(&r, "message"), "Request Header Fields Too Large");
	CHECK_STR(header(&r, "Connection"), "close");
	resp_free(&r);
	client_close(c);
	/* Many small headers add up the same way: names and values count, ~18 of each 26-byte line. */
	n = snprintf(big, cap, "GET /healthz HTTP/1.1\r\n");
	while ((size_t)n < cap - 64)
		n += snprintf(big + n, cap - (size_t)n, "X-H%05d: 0123456789\r\n", n);
	snprintf(big + n, cap - (size_t)n, "\r\n");
	c = connect_client();
	send_raw(c, big, strlen(big));
	CHECK_INT(read_resp(c, &r, 0), 431);
	resp_free(&r);
	client_close(c);
	free(big);
	still_serving();

	/* A declared body over 1 MiB is refused on the headers alone: 413, nothing stored. */
	c = connect_client();
	send_req(c, "POST", "/v1/events", "Bearer " TOKEN, "Content-Length: 1048577\r\n", NULL);
	CHECK_INT(read_resp(c, &r, 0), 413);
	CHECK_STR(jstr(&r, "error"), "too_large");
	CHECK_STR(header(&r, "Connection"), "close");
	resp_free(&r);
	CHECK(closed_by_server(c));
	client_close(c);
	/*
	 * A chunked body with no declared length is cut off at 1 MiB too: one
	 * chunk of 1 MiB + 1 bytes (and nothing after it, so the server has read
	 * every byte when it closes and the response is not lost to a reset).
	 */
	size_t over = 1024 * 1024 + 1;
	char *chunk = malloc(over);
	memset(chunk, ' ', over);
	c = connect_client();
	send_req(c, "POST", "/v1/events", "Bearer " TOKEN, "Transfer-Encoding: chunked\r\n", NULL);
	send_raw(c, "100001\r\n", 8);
	send_raw(c, chunk, over);
	CHECK_INT(read_resp(c, &r, 0), 413);
	CHECK_STR(jstr(&r, "error"), "too_large");
	resp_free(&r);
	client_close(c);
	free(chunk);
	/* Exactly 1 MiB is allowed through to the JSON parser (and is not JSON). */
	size_t mb = 1024 * 1024;
	char *body = malloc(mb + 1);
	memset(body, ' ', mb);
	body[0] = '[';
	body[mb] = '\0';
	c = connect_client();
	send_req(c, "POST", "/v1/events", "Bearer " TOKEN, NULL, body);
	CHECK_INT(read_resp(c, &r, 0), 400);
	CHECK_STR(jstr(&r, "error"), "bad_json");
	resp_free(&r);
	client_close(c);
	free(body);
	still_serving();
	CHECK_INT(stored_events(), before);
}

static void test_keep_alive_and_pipelining(void)
{
	client *c = connect_client();
	resp r;

	/* Two requests, one after the other, on one connection. */
	send_req(c, "GET", "/v1/offenders/A1234BC", "Bearer " TOKEN, NULL, NULL);
	CHECK_INT(read_resp(c, &r, 0), 200);
	CHECK_STR(header(&r, "Connection"), "keep-alive");
	CHECK_STR(jstr(&r, "noms"), "A1234BC");
	resp_free(&r);
	send_req(c, "GET", "/v1/offenders/Z9999ZZ", "Bearer " TOKEN, NULL, NULL);
	CHECK_INT(read_resp(c, &r, 0), 404);
	resp_free(&r);

	/* Three pipelined in one write: answered in order. */
	const char *three = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
			    "GET /v1/offenders/A1234BC/events HTTP/1.1\r\nAuthorization: Bearer " TOKEN "\r\n\r\n"
			    "GET /nope HTTP/1.1\r\nAuthorization: Bearer " TOKEN "\r\n\r\n";
	send_raw(c, three, strlen(three));
	CHECK_INT(read_resp(c, &r, 0), 200);
	CHECK_STR(jstr(&r, "status"), "ok");
	resp_free(&r);
	CHECK_INT(read_resp(c, &r, 0), 200);
	CHECK_STR(jstr(&r, "offender"), "A1234BC");
	resp_free(&r);
	CHECK_INT(read_resp(c, &r, 0), 404);
	resp_free(&r);

	/* "Connection: close" is honoured after the response. */
	send_req(c, "GET", "/healthz", NULL, "Connection: close\r\n", NULL);
	CHECK_INT(read_resp(c, &r, 0), 200);
	CHECK_STR(header(&r, "Connection"), "close");
	resp_free(&r);
	CHECK(closed_by_server(c));
	client_close(c);

	/* HTTP/1.0 without keep-alive: one response, then close. */
	c = connect_client();
	send_raw(c, "GET /healthz HTTP/1.0\r\n\r\n", 25);
	CHECK_INT(read_resp(c, &r, 0), 200);
	CHECK_STR(header(&r, "Connection"), "close");
	resp_free(&r);
	CHECK(closed_by_server(c));
	client_close(c);
}

static void test_post_events(void)
{
	uint64_t before = stored_events();
	int calls = atomic_load(&appended_calls);
	resp r;

	/* Malformed JSON: 400 naming where, nothing stored, no append reported. */
	CHECK_INT(req("POST", "/v1/events", "{\"type\": ", &r), 400);
	CHECK_STR(jstr(&r, "error"), "bad_json");
	CHECK(jstr(&r, "message") != NULL && strncmp(jstr(&r, "message"), "line 1 column ", 14) == 0);
	resp_free(&r);
	CHECK_INT(req("POST", "/v1/events", "{\"type\":\"a\",\"type\":\"b\"}", &r), 400);
	CHECK_STR(jstr(&r, "error"), "bad_json");
	CHECK(strstr(jstr(&r, "message"), "duplicate") != NULL);
	resp_free(&r);
	CHECK_INT(req("POST", "/v1/events", "", &r), 400);
	CHECK_STR(jstr(&r, "error"), "bad_json");
	resp_free(&r);
	/* A bare value is not accepted by the JSON decoder (no JSON_DECODE_ANY). */
	CHECK_INT(req("POST", "/v1/events", "42", &r), 400);
	CHECK_STR(jstr(&r, "error"), "bad_json");
	CHECK_STR(jstr(&r, "message"), "line 1 column 2: '[' or '{' expected near '42'");
	resp_free(&r);
	CHECK_INT(req("POST", "/v1/events", "[]", &r), 400);
	CHECK_STR(jstr(&r, "error"), "bad_request");
	CHECK_STR(jstr(&r, "message"), "send 1 to 10000 events");
	resp_free(&r);

	/* Well-formed but invalid: 422 naming the index and field; none of the batch is stored. */
	const char *ok = "{\"type\":\"alert.raised\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-02-01T09:00:00Z\","
			 "\"alert_type\":\"H\",\"alert_code\":\"HA\",\"from_date\":\"2024-02-01\"}";
	const char *badprison = "{\"type\":\"prisoner.received\",\"offender\":\"A1234BC\",\"occurred_at\":"
				"\"2024-03-01T15:00:00Z\",\"prison\":\"XYZ\",\"reason\":\"NEW_ADMISSION\"}";
	const char *notype = "{\"offender\":\"A1234BC\",\"occurred_at\":\"2024-03-01T15:00:00Z\"}";
	char body[1024];
	snprintf(body, sizeof(body), "[%s,%s]", ok, badprison);
	CHECK_INT(req("POST", "/v1/events", body, &r), 422);
	CHECK_STR(jstr(&r, "error"), "validation");
	CHECK_INT(jint(&r, "index"), 1);
	CHECK_STR(jstr(&r, "field"), "prison");
	CHECK(jstr(&r, "message") != NULL && strstr(jstr(&r, "message"), "XYZ") != NULL);
	/* 422 keeps the connection open. */
	CHECK_STR(header(&r, "Connection"), "keep-alive");
	resp_free(&r);
	snprintf(body, sizeof(body), "[%s,%s]", ok, notype);
	CHECK_INT(req("POST", "/v1/events", body, &r), 422);
	CHECK_INT(jint(&r, "index"), 1);
	CHECK_STR(jstr(&r, "field"), "type");
	resp_free(&r);
	/* A prison may not allocate a community manager (role rule). */
	CHECK_INT(req("POST", "/v1/events",
		      "{\"type\":\"manager.com.allocated\",\"offender\":\"A1234BC\",\"occurred_at\":"
		      "\"2024-01-01T15:00:00Z\",\"region\":\"N07\",\"staff\":\"N07P123\"}",
		      &r),
		  422);
	CHECK_STR(jstr(&r, "error"), "validation");
	resp_free(&r);
	/* An occurred_at more than 5 minutes ahead of the node's clock: 422 naming the field. */
	{
		char ahead[21], future[400];
		ns_time_format(ahead, (int64_t)time(NULL) + 600);
		snprintf(future, sizeof(future),
			 "{\"type\":\"alert.raised\",\"offender\":\"A1234BC\",\"occurred_at\":\"%s\","
			 "\"alert_type\":\"H\",\"alert_code\":\"HA\",\"from_date\":\"2024-02-01\"}",
			 ahead);
		snprintf(body, sizeof(body), "[%s,%s]", ok, future);
		CHECK_INT(req("POST", "/v1/events", body, &r), 422);
		CHECK_STR(jstr(&r, "error"), "validation");
		CHECK_INT(jint(&r, "index"), 1);
		CHECK_STR(jstr(&r, "field"), "occurred_at");
		CHECK(jstr(&r, "message") != NULL && strstr(jstr(&r, "message"), "ahead of this node's clock") != NULL);
		resp_free(&r);
	}
	CHECK_INT(stored_events(), before);
	CHECK_INT(atomic_load(&appended_calls), calls);

	/* Valid: 201 with one id per event, stored, and the appended callback called. */
	CHECK_INT(req("POST", "/v1/events", ok, &r), 201);
	json_t *ids = json_object_get(r.json, "ids");
	CHECK_INT(json_array_size(ids), 1);
	const char *id = json_string_value(json_array_get(ids, 0));
	CHECK(id != NULL && strlen(id) == 2 * NS_ID_BYTES);
	CHECK_INT(stored_events(), before + 1);
	resp_free(&r);
	snprintf(body, sizeof(body), "[%s]", ok);
	CHECK_INT(req("POST", "/v1/events", body, &r), 201);
	CHECK_INT(json_array_size(json_object_get(r.json, "ids")), 1);
	resp_free(&r);
	CHECK_INT(stored_events(), before + 2);
	/* The callback runs on the loop thread after the response is queued; give it a moment. */
	for (int i = 0; i < 100 && atomic_load(&appended_calls) < calls + 2; i++)
		usleep(10000);
	CHECK_INT(atomic_load(&appended_calls), calls + 2);
	/* The timeline shows them. */
	CHECK_INT(req("GET", "/v1/offenders/A1234BC/events", NULL, &r), 200);
	CHECK_INT(json_array_size(json_object_get(r.json, "events")), before + 2);
	resp_free(&r);
}

/*
 * Lock-out (issue 10, item 6). limited_srv has max_connections 24 of which
 * 4 reserved, 4 connections per client and a response timeout of 1 s.
 */
#define LIM_MAX 24
#define LIM_RESERVED 4
#define LIM_PER_CLIENT 4

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A metric's value on limited_srv (-1 if absent). */
static long long limited_metric(const char *line_start)
{
	client *c = connect_from(limited_srv.port, "127.0.0.1");
	long long v = -1;
	resp r;

	send_req(c, "GET", "/metrics", "Bearer " TOKEN, NULL, NULL);
	if (read_resp(c, &r, 0) == 200) {
		char *p = strstr(r.body, line_start);
		if (p)
			v = strtoll(p + strlen(line_start), NULL, 10);
	}
	resp_free(&r);
	client_close(c);
	return v;
}

/* Wait (up to 2 s) until limited_srv holds @p n connections besides the one asking. */
static void wait_conns(long long n)
{
	for (int i = 0; i < 200 && limited_metric("\nnomsync_http_connections ") != n + 1; i++)
		usleep(10000);
	CHECK_INT(limited_metric("\nnomsync_http_connections "), n + 1);
}

/* GET @p path on limited_srv from @p from, with or without the token: the status, in under 1 s. */
static int quick_get(const char *from, const char *path, int with_token, const char *want_connection)
{
	double t0 = now_s();
	client *c = connect_from(limited_srv.port, from);
	resp r;

	send_req(c, "GET", path, with_token ? "Bearer " TOKEN : NULL, NULL, NULL);
	int st = read_resp(c, &r, 0);
	double took = now_s() - t0;
	if (took >= 1.0)
		fprintf(stderr, "GET %s from %s took %.3f s\n", path, from, took);
	CHECK(took < 1.0);
	if (want_connection)
		CHECK_STR(header(&r, "Connection"), want_connection);
	resp_free(&r);
	client_close(c);
	return st;
}

static void test_per_client_limit(void)
{
	client *mine[LIM_PER_CLIENT];
	resp r;

	for (int i = 0; i < LIM_PER_CLIENT; i++) {
		mine[i] = connect_from(limited_srv.port, "127.0.0.2");
		send_req(mine[i], "GET", "/healthz", NULL, NULL, NULL);
		CHECK_INT(read_resp(mine[i], &r, 0), 200);
		resp_free(&r);
	}
	/* One more from the same address: closed at once, without an answer. */
	client *extra = connect_from(limited_srv.port, "127.0.0.2");
	CHECK(closed_by_server(extra));
	client_close(extra);
	/* Another address is not affected. */
	CHECK_INT(quick_get("127.0.0.3", "/healthz", 0, NULL), 200);
	CHECK(limited_metric("nomsync_http_connections_refused_total{reason=\"per_client\"} ") >= 1);
	/* Closing them frees the address's slots. */
	for (int i = 0; i < LIM_PER_CLIENT; i++)
		client_close(mine[i]);
	wait_conns(0);
	CHECK_INT(quick_get("127.0.0.2", "/healthz", 0, NULL), 200);
}

/*
 * An attacker's connection: a small receive buffer, then as many pipelined
 * requests for the login page as the server takes, and never a byte read.
 */
static int attack_conn(const char *from)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), small = 4096;
	static char blob[256 * 1024];
	static size_t blob_len;

	if (blob_len == 0)
		while (blob_len + 32 < sizeof(blob))
			blob_len += (size_t)snprintf(blob + blob_len, sizeof(blob) - blob_len, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	inet_pton(AF_INET, from, &a.sin_addr);
	CHECK_INT(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	a.sin_port = htons((uint16_t)limited_srv.port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK_INT(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (size_t off = 0; off < blob_len;) {
		ssize_t n = send(fd, blob + off, blob_len - off, MSG_NOSIGNAL);
		if (n <= 0)
			break; /* the server stopped reading (or closed): the rest stays unsent */
		off += (size_t)n;
	}
	return fd;
}

/* 1 if the server has closed (or reset) @p fd, looking without reading. */
static int hung_up(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static void test_lockout_attack(void)
{
	enum { NATTACK = 40 };
	int fds[NATTACK];
	char ip[32];
	double t0 = now_s();
	long long timeouts_before = limited_metric("nomsync_http_connections_refused_total{reason=\"response_timeout\"} ");

	/* 40 pipelining, never-reading connections from 10 addresses: more than every slot. */
	for (int i = 0; i < NATTACK; i++) {
		snprintf(ip, sizeof(ip), "127.0.0.%d", 10 + i / LIM_PER_CLIENT);
		fds[i] = attack_conn(ip);
	}
	/* The service still answers: /healthz without a token, and an authenticated request, each within 1 s. */
	CHECK_INT(quick_get("127.0.0.1", "/healthz", 0, NULL), 200);
	CHECK_INT(quick_get("127.0.0.1", "/v1/status", 1, NULL), 200);
	/* Every attacking connection is closed: refused, 503 on the reserve, or past the 1 s response timeout. */
	int open = NATTACK;
	while (open > 0 && now_s() - t0 < 4.0) {
		open = 0;
		for (int i = 0; i < NATTACK; i++)
			open += !hung_up(fds[i]);
		usleep(20000);
	}
	CHECK_INT(open, 0);
	CHECK(now_s() - t0 >= 1.0); /* not before the deadline */
	for (int i = 0; i < NATTACK; i++)
		close(fds[i]);
	CHECK(limited_metric("nomsync_http_connections_refused_total{reason=\"response_timeout\"} ") > timeouts_before);
	CHECK(limited_metric("nomsync_http_connections_refused_total{reason=\"reserved\"} ") +
		      limited_metric("nomsync_http_connections_refused_total{reason=\"full\"} ") >
	      0);
	wait_conns(0);
}

static void test_reserved_slots(void)
{
	client *idle[LIM_MAX];
	char ip[32];
	resp r;
	int n = 0;

	/* Idle connections (no request yet) fill every unreserved slot. */
	for (; n < LIM_MAX - LIM_RESERVED; n++) {
		snprintf(ip, sizeof(ip), "127.0.0.%d", 60 + n / LIM_PER_CLIENT);
		idle[n] = connect_from(limited_srv.port, ip);
	}
	wait_conns(LIM_MAX - LIM_RESERVED);
	/* On a reserved slot: an unauthenticated request gets 503 and the connection is closed... */
	client *c = connect_from(limited_srv.port, "127.0.0.70");
	send_req(c, "GET", "/", NULL, NULL, NULL);
	CHECK_INT(read_resp(c, &r, 0), 503);
	CHECK_STR(jstr(&r, "error"), "busy");
	CHECK_STR(header(&r, "Connection"), "close");
	resp_free(&r);
	CHECK(closed_by_server(c));
	client_close(c);
	/* ...while /healthz is answered (then closed), and an authenticated client is served as usual. */
	CHECK_INT(quick_get("127.0.0.71", "/healthz", 0, "close"), 200);
	c = connect_from(limited_srv.port, "127.0.0.72");
	for (int i = 0; i < 2; i++) {
		send_req(c, "GET", "/v1/status", "Bearer " TOKEN, NULL, NULL);
		CHECK_INT(read_resp(c, &r, 0), 200);
		CHECK_STR(header(&r, "Connection"), "keep-alive");
		resp_free(&r);
	}
	client_close(c);
	/* The reserve full of idle connections: a newcomer evicts the oldest of them. */
	wait_conns(LIM_MAX - LIM_RESERVED);
	for (; n < LIM_MAX; n++)
		idle[n] = connect_from(limited_srv.port, "127.0.0.73");
	usleep(100000);
	CHECK_INT(quick_get("127.0.0.74", "/v1/status", 1, NULL), 200);
	CHECK(limited_metric("nomsync_http_connections_refused_total{reason=\"evicted\"} ") >= 1);
	CHECK(closed_by_server(idle[LIM_MAX - LIM_RESERVED]));
	for (int i = 0; i < n; i++)
		client_close(idle[i]);
	wait_conns(0);
}

/* A session ends after [http] session_lifetime (1 s on limited_srv). */
static void test_session_expiry(void)
{
	char cookie[128];

	login(limited_srv.port, cookie);
	CHECK_INT(raw_req(limited_srv.port, "GET", "/v1/status", cookie, ""), 200);
	usleep(1300000);
	CHECK_INT(raw_req(limited_srv.port, "GET", "/v1/status", cookie, ""), 401);
}


/*
 * Issue 12: people, roles and limited-access records, on a third server with
 * [auth] keys (a JWKS of an RS256 and an ES256 key; tokens minted with
 * ns_auth_mint, odd ones signed with ns_auth_sign) over the same store.
 */
#define ISSUER "https://sign-in.test"
#define AUDIENCE "nomsync"

static server access_srv;
static ns_auth *keys;
static char rsa_pem[300], ec_pem[300], stranger_pem[300]; /* stranger: a key the node does not trust */
static char service_log[400];
static atomic_int service_logs;

static void on_log(void *arg, const char *line)
{
	(void)arg;
	if (strstr(line, "service credential")) {
		snprintf(service_log, sizeof(service_log), "%s", line);
		atomic_fetch_add(&service_logs, 1);
	}
}

/* "Bearer " and a token for @p user with @p roles, valid for @p ttl seconds, signed by @p pem as @p kid. */
static char *bearer_from(const char *pem, const char *kid, const char *user, unsigned roles, int64_t ttl,
			 const char *aud)
{
	int64_t now = (int64_t)time(NULL);
	ns_auth_claims cl = { .user = user, .name = "Test User", .roles = roles, .issuer = ISSUER,
			      .audience = aud, .issued = now, .expires = now + ttl };
	char *jwt = NULL, *out;
	ns_diag d;

	CHECK_INT(ns_auth_mint(pem, kid, NULL, &cl, &jwt, &d), 0);
	out = malloc(strlen(jwt ? jwt : "") + 8);
	sprintf(out, "Bearer %s", jwt ? jwt : "");
	free(jwt);
	return out;
}

static char *bearer(const char *user, unsigned roles)
{
	return bearer_from(rsa_pem, "rsa1", user, roles, 600, AUDIENCE);
}

/* One request to the access server with Authorization @p auth; the status. */
static int areq(const char *method, const char *path, const char *auth, const char *body, resp *r)
{
	client *c = connect_from(access_srv.port, NULL);
	send_req(c, method, path, auth, NULL, body);
	read_resp(c, r, 0);
	client_close(c);
	return r->status;
}

static int start_access_server(void)
{
	const char *pems[2], *kids[2] = { "rsa1", "ec1" };
	char *jwks = NULL;
	ns_diag d;
	ns_auth_opts ao = { .issuer = ISSUER, .audience = AUDIENCE, .leeway = 60 };

	snprintf(rsa_pem, sizeof(rsa_pem), "%s/rsa.pem", tmproot);
	snprintf(ec_pem, sizeof(ec_pem), "%s/ec.pem", tmproot);
	snprintf(stranger_pem, sizeof(stranger_pem), "%s/stranger.pem", tmproot);
	pems[0] = rsa_pem;
	pems[1] = ec_pem;
	if (ns_auth_keygen("RS256", rsa_pem, &d) != 0 || ns_auth_keygen("ES256", ec_pem, &d) != 0 ||
	    ns_auth_keygen("RS256", stranger_pem, &d) != 0 || ns_auth_jwks_of(pems, kids, 2, &jwks, &d) != 0 ||
	    ns_auth_parse(&keys, jwks, strlen(jwks), &ao, &d) != 0) {
		fprintf(stderr, "keys: %s: %s\n", d.field, d.msg);
		free(jwks);
		return -1;
	}
	free(jwks);
	ns_http_opts o = { .auth = keys, .log = on_log };
	return start_http(&access_srv, &o);
}

/* A missing role on each route: 403 naming the role; the role alone is enough. */
static void test_roles(void)
{
	const char *ev = "{\"type\":\"alert.raised\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-02-06T09:00:00Z\","
			 "\"alert_type\":\"H\",\"alert_code\":\"HA\",\"from_date\":\"2024-02-06\"}";
	const struct {
		const char *method, *path, *body;
		unsigned role;
	} routes[] = {
		{ "GET", "/v1/offenders?prison=MDI", NULL, NS_UROLE_VIEW },
		{ "GET", "/v1/offenders/A1234BC", NULL, NS_UROLE_VIEW },
		{ "GET", "/v1/offenders/A1234BC/events", NULL, NS_UROLE_VIEW },
		{ "GET", "/v1/caseload?staff=POM9", NULL, NS_UROLE_VIEW },
		{ "GET", "/v1/releases?prison=MDI", NULL, NS_UROLE_VIEW },
		{ "GET", "/v1/figures", NULL, NS_UROLE_FIGURES },
		{ "GET", "/v1/audit", NULL, NS_UROLE_AUDIT },
		{ "GET", "/v1/status", NULL, NS_UROLE_ADMIN },
		{ "GET", "/metrics", NULL, NS_UROLE_ADMIN },
		{ "POST", "/v1/events", ev, NS_UROLE_RECORD },
	};
	resp r;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		char *without = bearer("bob", NS_UROLE_ALL & ~routes[i].role), *only = bearer("bob", routes[i].role);
		CHECK_INT(areq(routes[i].method, routes[i].path, without, routes[i].body, &r), 403);
		CHECK_STR(jstr(&r, "error"), "forbidden");
		CHECK_STR(jstr(&r, "role"), ns_urole_name(routes[i].role));
		CHECK(jstr(&r, "message") && strstr(jstr(&r, "message"), ns_urole_name(routes[i].role)));
		resp_free(&r);
		int st = areq(routes[i].method, routes[i].path, only, routes[i].body, &r);
		CHECK(st != 401 && st != 403);
		if (st == 401 || st == 403)
			fprintf(stderr, "  %s %s with %s alone: %d\n", routes[i].method, routes[i].path,
				ns_urole_name(routes[i].role), st);
		resp_free(&r);
		free(without);
		free(only);
	}
	/* No role at all: the catalogue, the reference data, whoami and the page itself. */
	char *none = bearer("carol", 0);
	const char *open[] = { "/v1/catalogue", "/v1/refdata", "/v1/whoami", "/" };
	for (size_t i = 0; i < sizeof(open) / sizeof(open[0]); i++) {
		CHECK_INT(areq("GET", open[i], none, NULL, &r), 200);
		resp_free(&r);
	}
	CHECK_INT(areq("GET", "/v1/whoami", none, NULL, &r), 200);
	CHECK_STR(jstr(&r, "user"), "carol");
	CHECK_STR(jstr(&r, "name"), "Test User");
	CHECK_INT(json_array_size(json_object_get(r.json, "roles")), 0);
	CHECK(json_is_false(json_object_get(r.json, "service")));
	resp_free(&r);
	free(none);
	char *two = bearer("dave", NS_UROLE_VIEW | NS_UROLE_AUDIT);
	CHECK_INT(areq("GET", "/v1/whoami", two, NULL, &r), 200);
	json_t *roles = json_object_get(r.json, "roles");
	CHECK_INT(json_array_size(roles), 2);
	CHECK_STR(json_string_value(json_array_get(roles, 0)), "ROLE_NOMSYNC_VIEW");
	CHECK_STR(json_string_value(json_array_get(roles, 1)), "ROLE_NOMSYNC_AUDIT");
	resp_free(&r);
	free(two);
	/* An event recorded by a person carries their user id, signed; by the service token, nobody's. */
	char *clerk = bearer("clerk.one", NS_UROLE_RECORD | NS_UROLE_VIEW);
	const char *alert = "{\"type\":\"alert.raised\",\"offender\":\"A7777AA\",\"occurred_at\":"
			    "\"2024-02-07T09:00:00Z\",\"alert_type\":\"H\",\"alert_code\":\"HA\",\"from_date\":\"2024-02-07\"}";
	CHECK_INT(areq("POST", "/v1/events", clerk, alert, &r), 201);
	resp_free(&r);
	CHECK_INT(areq("GET", "/v1/offenders/A7777AA/events", clerk, NULL, &r), 200);
	json_t *evs = json_object_get(r.json, "events"), *last = json_array_get(evs, json_array_size(evs) - 1);
	CHECK_STR(json_string_value(json_object_get(last, "type")), "alert.raised");
	CHECK_STR(json_string_value(json_object_get(last, "recorded_by")), "clerk.one");
	CHECK(json_object_get(json_array_get(evs, 0), "recorded_by") == NULL); /* appended with the token */
	resp_free(&r);
	free(clerk);
	/* An ES256 key of the set works as well. */
	char *ec = bearer_from(ec_pem, "ec1", "erin", NS_UROLE_VIEW, 600, AUDIENCE);
	CHECK_INT(areq("GET", "/v1/offenders/A1234BC", ec, NULL, &r), 200);
	resp_free(&r);
	free(ec);
}

/* base64url of @p text (libsodium), for hand-made tokens. */
static void b64url(char *out, size_t cap, const char *text)
{
	sodium_bin2base64(out, cap, (const unsigned char *)text, strlen(text), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* 401s say why, with an RFC 6750 WWW-Authenticate; the service token still works and is logged. */
static void test_bad_tokens(void)
{
	int64_t now = (int64_t)time(NULL);
	char payload[400], h64[200], p64[600], none_tok[900], *signed_tok = NULL;
	ns_diag d;
	resp r;

	snprintf(payload, sizeof(payload),
		 "{\"user_name\":\"mallory\",\"authorities\":[\"ROLE_NOMSYNC_VIEW\"],\"iss\":\"" ISSUER
		 "\",\"aud\":\"" AUDIENCE "\",\"exp\":%lld}",
		 (long long)(now + 600));
	b64url(h64, sizeof(h64), "{\"alg\":\"none\",\"kid\":\"rsa1\"}");
	b64url(p64, sizeof(p64), payload);
	snprintf(none_tok, sizeof(none_tok), "Bearer %s.%s.", h64, p64);
	/* HS256 "signed" with the RSA key: the key's algorithm decides, so refused before any HMAC. */
	CHECK_INT(ns_auth_sign(rsa_pem, "{\"alg\":\"HS256\",\"kid\":\"rsa1\",\"typ\":\"JWT\"}", payload, &signed_tok, &d), 0);
	char *hs = malloc(strlen(signed_tok ? signed_tok : "") + 8);
	sprintf(hs, "Bearer %s", signed_tok ? signed_tok : "");
	free(signed_tok);
	/* Signed by the trusted key, but from another issuer, or not valid for an hour yet. */
	char other_iss[400], later[400], *iss_tok = NULL, *nbf_tok = NULL;
	snprintf(other_iss, sizeof(other_iss),
		 "{\"user_name\":\"mallory\",\"iss\":\"https://elsewhere.test\",\"aud\":\"" AUDIENCE
		 "\",\"exp\":%lld}",
		 (long long)(now + 600));
	snprintf(later, sizeof(later),
		 "{\"user_name\":\"mallory\",\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE
		 "\",\"nbf\":%lld,\"exp\":%lld}",
		 (long long)(now + 3600), (long long)(now + 7200));
	const char *rs = "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"typ\":\"JWT\"}";
	CHECK_INT(ns_auth_sign(rsa_pem, rs, other_iss, &iss_tok, &d), 0);
	CHECK_INT(ns_auth_sign(rsa_pem, rs, later, &nbf_tok, &d), 0);
	char *iss_b = malloc(strlen(iss_tok ? iss_tok : "") + 8), *nbf_b = malloc(strlen(nbf_tok ? nbf_tok : "") + 8);
	sprintf(iss_b, "Bearer %s", iss_tok ? iss_tok : "");
	sprintf(nbf_b, "Bearer %s", nbf_tok ? nbf_tok : "");
	free(iss_tok);
	free(nbf_tok);
	struct {
		char *auth;
		const char *reason;
	} cases[] = {
		{ bearer_from(rsa_pem, "rsa1", "bob", NS_UROLE_VIEW, -3600, AUDIENCE), "expired" },
		{ bearer_from(rsa_pem, "rsa1", "bob", NS_UROLE_VIEW, 600, "someone-else"), "wrong_audience" },
		{ bearer_from(rsa_pem, "nokey", "bob", NS_UROLE_VIEW, 600, AUDIENCE), "unknown_key" },
		{ bearer_from(stranger_pem, "rsa1", "bob", NS_UROLE_VIEW, 600, AUDIENCE), "bad_signature" },
		{ iss_b, "wrong_issuer" },
		{ nbf_b, "not_yet_valid" },
		{ strdup(none_tok), "alg_refused" },
		{ hs, "alg_refused" },
		{ strdup("Bearer not.a.jwt"), "malformed" },
		{ strdup("Bearer " TOKEN "x"), "malformed" },
	};
	client *c = connect_from(access_srv.port, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		send_req(c, "GET", "/v1/offenders/A1234BC", cases[i].auth, NULL, NULL);
		CHECK_INT(read_resp(c, &r, 0), 401);
		CHECK_STR(jstr(&r, "error"), "unauthorized");
		CHECK_STR(jstr(&r, "reason"), cases[i].reason);
		CHECK(jstr(&r, "message") && jstr(&r, "message")[0]);
		const char *www = header(&r, "WWW-Authenticate");
		CHECK(www && strncmp(www, "Bearer error=\"invalid_token\", error_description=\"", 48) == 0);
		CHECK_STR(header(&r, "Connection"), "keep-alive");
		resp_free(&r);
		free(cases[i].auth);
	}
	/* No credential: the plain challenge. */
	send_req(c, "GET", "/v1/offenders/A1234BC", NULL, NULL, NULL);
	CHECK_INT(read_resp(c, &r, 0), 401);
	CHECK_STR(jstr(&r, "reason"), "missing");
	CHECK_STR(header(&r, "WWW-Authenticate"), "Bearer");
	resp_free(&r);
	/* The service token: every role, user "service", logged (once in 10 s, however often used). */
	int before = atomic_load(&service_logs);
	for (int i = 0; i < 3; i++) {
		send_req(c, "GET", "/v1/whoami", "Bearer " TOKEN, NULL, NULL);
		CHECK_INT(read_resp(c, &r, 0), 200);
		CHECK_STR(jstr(&r, "user"), "service");
		CHECK(json_is_true(json_object_get(r.json, "service")));
		CHECK_INT(json_array_size(json_object_get(r.json, "roles")), 5);
		resp_free(&r);
	}
	send_req(c, "GET", "/metrics", "Bearer " TOKEN, NULL, NULL);
	CHECK_INT(read_resp(c, &r, 0), 200);
	resp_free(&r);
	client_close(c);
	CHECK_INT(atomic_load(&service_logs), before + 1);
	CHECK(strstr(service_log, "from 127.0.0.1") != NULL);
}

/* Sign-in with a JWT: the session carries the user and ends with the token. */
static void test_jwt_login(void)
{
	char *b = bearer_from(rsa_pem, "rsa1", "alice", NS_UROLE_VIEW, 300, AUDIENCE), form[4096], extra[128];
	client *c = connect_from(access_srv.port, NULL);
	resp r;

	snprintf(form, sizeof(form), "token=%s", b + 7);
	snprintf(extra, sizeof(extra), "Content-Length: %zu\r\n", strlen(form));
	send_req(c, "POST", "/login", NULL, extra, NULL);
	send_raw(c, form, strlen(form));
	CHECK_INT(read_resp(c, &r, 0), 303);
	const char *set = header(&r, "Set-Cookie");
	char cookie[128] = "";
	long max_age = -1;
	if (set) {
		snprintf(cookie, sizeof(cookie), "Cookie: %.80s\r\n", set);
		const char *m = strstr(set, "Max-Age=");
		max_age = m ? strtol(m + 8, NULL, 10) : -1;
		char *semi = strchr(cookie, ';');
		if (semi)
			strcpy(semi, "\r\n");
	}
	CHECK(max_age > 250 && max_age <= 300);
	resp_free(&r);
	client_close(c);
	CHECK_INT(areq("GET", "/v1/whoami", NULL, NULL, &r), 401);
	resp_free(&r);
	c = connect_from(access_srv.port, NULL);
	send_req(c, "GET", "/v1/whoami", NULL, cookie, NULL);
	CHECK_INT(read_resp(c, &r, 0), 200);
	CHECK_STR(jstr(&r, "user"), "alice");
	resp_free(&r);
	/* The session has alice's roles only. */
	send_req(c, "GET", "/v1/status", NULL, cookie, NULL);
	CHECK_INT(read_resp(c, &r, 0), 403);
	CHECK_STR(jstr(&r, "role"), "ROLE_NOMSYNC_ADMIN");
	resp_free(&r);
	client_close(c);
	/* A JWT the login proxy passes on: the page itself with it. */
	CHECK_INT(areq("GET", "/", b, NULL, &r), 200);
	CHECK(strstr(r.body, "id=\"user-badge\"") != NULL);
	resp_free(&r);
	/* An expired JWT does not sign in. */
	char *old = bearer_from(rsa_pem, "rsa1", "alice", NS_UROLE_VIEW, -3600, AUDIENCE);
	snprintf(form, sizeof(form), "token=%s", old + 7);
	snprintf(extra, sizeof(extra), "Content-Length: %zu\r\n", strlen(form));
	c = connect_from(access_srv.port, NULL);
	send_req(c, "POST", "/login", NULL, extra, NULL);
	send_raw(c, form, strlen(form));
	CHECK_INT(read_resp(c, &r, 0), 401);
	CHECK(header(&r, "Set-Cookie") == NULL);
	resp_free(&r);
	client_close(c);
	free(old);
	free(b);
}

/* The item of @p list whose "noms" or "offender" is @p ref, or NULL. */
static json_t *item_of(json_t *list, const char *ref)
{
	size_t i;
	json_t *it;

	json_array_foreach(list, i, it)
	{
		const char *n = json_string_value(json_object_get(it, "noms"));
		const char *o = json_string_value(json_object_get(it, "offender"));
		if ((n && strcmp(n, ref) == 0) || (o && strcmp(o, ref) == 0))
			return it;
	}
	return NULL;
}

/* 1 if @p it is the masked form of a restricted person: {"offender", "restricted": true}, nothing more. */
static int masked(const json_t *it)
{
	return it && json_is_true(json_object_get(it, "restricted")) && json_object_get(it, "name") == NULL &&
	       json_object_get(it, "prison") == NULL && json_object_get(it, "status") == NULL;
}

/*
 * Limited-access records: A5555RR restricted to alice, A6666XX excluding
 * bob. A refused view or timeline is 403 restricted_record; in searches and
 * caseloads the person is shown masked; the service token reads everything.
 */
static void test_restricted_records(void)
{
	const char *body =
		"[{\"type\":\"person.created\",\"offender\":\"A5555RR\",\"occurred_at\":\"2024-03-01T09:00:00Z\","
		"\"surname\":\"HIDDEN\",\"forenames\":\"ROSE\",\"dob\":\"1980-01-01\",\"gender\":\"F\"},"
		"{\"type\":\"prisoner.received\",\"offender\":\"A5555RR\",\"occurred_at\":\"2024-03-01T10:00:00Z\","
		"\"prison\":\"MDI\",\"reason\":\"NEW_ADMISSION\"},"
		"{\"type\":\"manager.pom.allocated\",\"offender\":\"A5555RR\",\"occurred_at\":\"2024-03-01T11:00:00Z\","
		"\"prison\":\"MDI\",\"staff\":\"POM5\",\"name\":\"B. POM\"},"
		"{\"type\":\"access.restricted\",\"offender\":\"A5555RR\",\"occurred_at\":\"2024-03-01T12:00:00Z\","
		"\"mode\":\"RESTRICTION\",\"users\":[\"alice\"],\"reason\":\"high-profile case\"},"
		"{\"type\":\"person.created\",\"offender\":\"A6666XX\",\"occurred_at\":\"2024-03-01T09:00:00Z\","
		"\"surname\":\"HIDDENTOO\",\"forenames\":\"SAM\",\"dob\":\"1981-01-01\",\"gender\":\"M\"},"
		"{\"type\":\"prisoner.received\",\"offender\":\"A6666XX\",\"occurred_at\":\"2024-03-01T10:00:00Z\","
		"\"prison\":\"MDI\",\"reason\":\"NEW_ADMISSION\"},"
		"{\"type\":\"manager.pom.allocated\",\"offender\":\"A6666XX\",\"occurred_at\":\"2024-03-01T11:00:00Z\","
		"\"prison\":\"MDI\",\"staff\":\"POM5\",\"name\":\"B. POM\"},"
		"{\"type\":\"access.restricted\",\"offender\":\"A6666XX\",\"occurred_at\":\"2024-03-01T12:00:00Z\","
		"\"mode\":\"EXCLUSION\",\"users\":[\"bob\"],\"reason\":\"bob is a relative\"}]";
	char *alice = bearer("alice", NS_UROLE_VIEW), *bob = bearer("bob", NS_UROLE_VIEW);
	resp r;

	CHECK_INT(req("POST", "/v1/events", body, &r), 201);
	resp_free(&r);
	/* A5555RR: alice only. */
	CHECK_INT(areq("GET", "/v1/offenders/A5555RR", bob, NULL, &r), 403);
	CHECK_STR(jstr(&r, "error"), "restricted_record");
	CHECK(strstr(r.body, "HIDDEN") == NULL);
	resp_free(&r);
	CHECK_INT(areq("GET", "/v1/offenders/A5555RR/events", bob, NULL, &r), 403);
	CHECK_STR(jstr(&r, "error"), "restricted_record");
	resp_free(&r);
	CHECK_INT(areq("GET", "/v1/offenders/A5555RR", alice, NULL, &r), 200);
	CHECK_STR(json_string_value(json_object_get(json_object_get(r.json, "name"), "surname")), "HIDDEN");
	resp_free(&r);
	CHECK_INT(areq("GET", "/v1/offenders/A5555RR/events", alice, NULL, &r), 200);
	resp_free(&r);
	CHECK_INT(areq("GET", "/v1/offenders/A5555RR", "Bearer " TOKEN, NULL, &r), 200);
	resp_free(&r);
	/* A6666XX: everyone but bob. */
	CHECK_INT(areq("GET", "/v1/offenders/A6666XX", bob, NULL, &r), 403);
	CHECK_STR(jstr(&r, "error"), "restricted_record");
	resp_free(&r);
	CHECK_INT(areq("GET", "/v1/offenders/A6666XX", alice, NULL, &r), 200);
	resp_free(&r);
	/* Search: bob sees both masked, alice sees A5555RR in full and A6666XX in full. */
	CHECK_INT(areq("GET", "/v1/offenders?q=HIDDEN", bob, NULL, &r), 200);
	CHECK_INT(jint(&r, "total"), 2);
	CHECK(masked(item_of(json_object_get(r.json, "items"), "A5555RR")));
	CHECK(masked(item_of(json_object_get(r.json, "items"), "A6666XX")));
	CHECK(strstr(r.body, "ROSE") == NULL && strstr(r.body, "SAM") == NULL);
	resp_free(&r);
	CHECK_INT(areq("GET", "/v1/offenders?q=HIDDEN", alice, NULL, &r), 200);
	CHECK(!masked(item_of(json_object_get(r.json, "items"), "A5555RR")));
	CHECK(!masked(item_of(json_object_get(r.json, "items"), "A6666XX")));
	resp_free(&r);
	/* The POM's caseload, JSON and CSV: masked for bob. */
	CHECK_INT(areq("GET", "/v1/caseload?staff=POM5", bob, NULL, &r), 200);
	CHECK_INT(json_array_size(r.json), 2);
	CHECK(masked(item_of(r.json, "A5555RR")));
	CHECK(masked(item_of(r.json, "A6666XX")));
	resp_free(&r);
	CHECK_INT(areq("GET", "/v1/caseload?staff=POM5&format=csv", bob, NULL, &r), 200);
	CHECK(strstr(r.body, "\r\nA5555RR,,,,,,,,,,,,,[\"RESTRICTED\"]\r\n") != NULL ||
	      strstr(r.body, "\r\nA5555RR,,,,,,,,,,,,,RESTRICTED\r\n") != NULL);
	CHECK(strstr(r.body, "MDI") == NULL);
	resp_free(&r);
	CHECK_INT(areq("GET", "/v1/caseload?staff=POM5", alice, NULL, &r), 200);
	CHECK(!masked(item_of(r.json, "A5555RR")));
	resp_free(&r);
	/* The figures count them and name nobody. */
	char *analyst = bearer("ann", NS_UROLE_FIGURES);
	CHECK_INT(areq("GET", "/v1/figures", analyst, NULL, &r), 200);
	CHECK(strstr(r.body, "A5555RR") == NULL && strstr(r.body, "A6666XX") == NULL);
	resp_free(&r);
	free(analyst);
	free(alice);
	free(bob);
}

int main(void)
{
	if (mkdtemp(tmproot) == NULL)
		return 1;
	ns_crypto_init();
	if (start_server() != 0) {
		fprintf(stderr, "could not start the server\n");
		return 1;
	}
	RUN(test_start_errors);
	RUN(test_healthz);
	RUN(test_auth);
	RUN(test_routes);
	RUN(test_status_and_metrics);
	RUN(test_malformed_and_oversized);
	RUN(test_keep_alive_and_pipelining);
	RUN(test_post_events);
	RUN(test_figures_routes);
	RUN(test_sessions_and_csrf);
	ns_http_opts lim = { .max_conns = LIM_MAX, .reserved_conns = LIM_RESERVED, .conns_per_client = LIM_PER_CLIENT,
			     .response_timeout = 1, .session_lifetime = 1 };
	if (start_http(&limited_srv, &lim) != 0) {
		fprintf(stderr, "could not start the limited server\n");
		return 1;
	}
	RUN(test_per_client_limit);
	RUN(test_lockout_attack);
	RUN(test_reserved_slots);
	RUN(test_session_expiry);
	stop_http(&limited_srv);
	if (start_access_server() != 0) {
		fprintf(stderr, "could not start the server with [auth] keys\n");
		return 1;
	}
	RUN(test_roles);
	RUN(test_bad_tokens);
	RUN(test_jwt_login);
	RUN(test_restricted_records);
	stop_http(&access_srv);
	ns_auth_close(keys);
	stop_server();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmproot);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmproot);
	return TEST_SUMMARY();
}
