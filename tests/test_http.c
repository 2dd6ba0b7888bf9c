/*
 * Unit tests for the HTTP API (src/http) without a daemon: ns_http runs on
 * a libuv loop in a second thread over a temporary store, and the tests
 * talk to it over loopback TCP with blocking sockets. Covered: start-up
 * errors, /healthz, bearer token and login cookie, routing (views,
 * timelines, caseloads, status, metrics, 404, 405), malformed and
 * oversized requests (4xx, and the server keeps serving), keep-alive and
 * pipelining, HEAD, and POST /v1/events (400 for bad JSON, 422 naming the
 * field, 201 with the ids; nothing stored unless the whole request is).
 */
#define _GNU_SOURCE /* memmem */
#include "test.h"

#include "http/http.h"

#include <nomsync/status.h>
#include <nomsync/store.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define TOKEN "0123456789abcdef-test-token"

static char tmproot[] = "/tmp/ns-http-test-XXXXXX";
static ns_store *store;
static uv_loop_t loop;
static uv_async_t stop_async;
static ns_http *server;
static pthread_t loop_thread;
static int port;
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

static client *connect_client(void)
{
	struct sockaddr_in a;
	struct timeval tv = { 10, 0 };
	client *c = calloc(1, sizeof(*c));

	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	CHECK_INT(connect(c->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return c;
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
	ns_http_stop(server);
	uv_close((uv_handle_t *)a, NULL);
}

static void *run_loop(void *arg)
{
	(void)arg;
	uv_run(&loop, UV_RUN_DEFAULT);
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

static int start_server(void)
{
	char dir[300], listen[64];
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

	uv_loop_init(&loop);
	for (int tries = 0; tries < 20; tries++) {
		port = free_port();
		snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
		rc = ns_http_start(&server, &loop, store, listen, TOKEN, stub_status, NULL, on_appended, &d);
		if (rc == 0)
			break;
		/* Taken meanwhile: let the loop close the listener, then try another port. */
		uv_run(&loop, UV_RUN_DEFAULT);
		ns_http_free(server);
		server = NULL;
	}
	if (rc != 0)
		return -1;
	uv_async_init(&loop, &stop_async, on_stop);
	return pthread_create(&loop_thread, NULL, run_loop, NULL);
}

static void stop_server(void)
{
	uv_async_send(&stop_async);
	pthread_join(loop_thread, NULL);
	CHECK_INT(uv_loop_close(&loop), 0);
	ns_http_free(server);
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
	const char *bad[] = {
		NULL,                                /* no header */
		"Bearer",                            /* no token */
		"Bearer ",
		"Bearer 0123456789abcdef-test-tokeX", /* same length, last byte differs */
		"Bearer 0123456789abcdef-test-toke",  /* a prefix */
		"Bearer " TOKEN "x",                  /* longer */
		"Basic " TOKEN,
		TOKEN,
	};
	client *c = connect_client();
	resp r;

	/* 401 keeps the connection open: every case on one connection. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		send_req(c, "GET", "/v1/status", bad[i], NULL, NULL);
		CHECK_INT(read_resp(c, &r, 0), 401);
		CHECK_STR(jstr(&r, "error"), "unauthorized");
		CHECK_STR(jstr(&r, "message"), "a bearer token is required");
		CHECK_STR(header(&r, "Connection"), "keep-alive");
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
	/* The login cookie instead of the header. */
	send_req(c, "GET", "/v1/status", NULL, "Cookie: a=b; nomsync_token=" TOKEN "; c=d\r\n", NULL);
	CHECK_INT(read_resp(c, &r, 0), 200);
	resp_free(&r);
	send_req(c, "GET", "/v1/status", NULL, "Cookie: nomsync_token=wrong\r\n", NULL);
	CHECK_INT(read_resp(c, &r, 0), 401);
	resp_free(&r);

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
	CHECK_STR(header(&r, "Set-Cookie"), "nomsync_token=" TOKEN "; HttpOnly; SameSite=Strict; Path=/");
	resp_free(&r);
	send_req(c, "GET", "/logout", NULL, "Cookie: nomsync_token=" TOKEN "\r\n", NULL);
	CHECK_INT(read_resp(c, &r, 0), 303);
	CHECK(strstr(header(&r, "Set-Cookie"), "Max-Age=0") != NULL);
	resp_free(&r);
	client_close(c);
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
	stop_server();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmproot);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmproot);
	return TEST_SUMMARY();
}
