/*
 * Unit tests for TLS on the HTTP API (src/http/tls.c) without a daemon: a
 * TLS server on a libuv loop in a second thread over a temporary store, an
 * OpenSSL client over loopback with blocking sockets. Certificates are made
 * here with OpenSSL (a CA; server certificates for 127.0.0.1 with serials 1
 * and 2; an expired one, one not yet valid, a client certificate). Covered:
 * start-up errors (each naming the file), requests over TLS with keep-alive
 * and pipelining, Strict-Transport-Security, the Secure cookie and the
 * https-only Origin check, plain HTTP refused with a 400, a TLS 1.1 client
 * and a broken handshake refused, close_notify both ways, the reload
 * (connections keep their certificate, new ones get the new one, a failed
 * reload keeps the old one), the metrics, the response timeout against a
 * client that does not read, and mutual TLS.
 */
#define _GNU_SOURCE /* memmem */
#include "test.h"

#include "http/http.h"

#include <nomsync/store.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define TOKEN "0123456789abcdef-test-token"

static char tmproot[] = "/tmp/ns-http-tls-test-XXXXXX";
static ns_store *store;

/* A TLS server on its own loop and thread; reloads run on the loop thread (uv_async). */
typedef struct server {
	uv_loop_t loop;
	uv_async_t stop, reload;
	ns_http *http;
	pthread_t thread;
	int port;
	atomic_int reloaded; /* 0 before, then 1 + (reload failed) */
	char reload_msg[512];
} server;

static server srv, mtls_srv;

/* A path under the temporary directory. */
static const char *path(const char *name)
{
	static char buf[8][300];
	static int i;
	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmproot, name);
	return buf[i];
}

/*
 * Certificates.
 */

static EVP_PKEY *ca_key;
static X509 *ca_cert;

static void write_pem(const char *name, X509 *x, EVP_PKEY *k)
{
	FILE *f = fopen(path(name), "w");
	if (x)
		PEM_write_X509(f, x);
	if (k)
		PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
	fclose(f);
}

/* A certificate for @p cn valid from now + @p from to now + @p to seconds, signed by the CA (or itself). */
static X509 *make_cert(EVP_PKEY *k, long serial, const char *cn, long from, long to, const char *ext, int ca)
{
	X509 *x = X509_new();
	X509V3_CTX v3;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, ca ? X509_get_subject_name(x) : X509_get_subject_name(ca_cert));
	X509V3_set_ctx(&v3, ca ? x : ca_cert, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, ca ? NID_basic_constraints : NID_subject_alt_name,
						ca ? "critical,CA:TRUE" : ext);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	X509_sign(x, ca ? k : ca_key, EVP_sha256());
	return x;
}

/* NAME.pem (certificate) and NAME.key (its key). */
static void make_pair(const char *name, long serial, long from, long to)
{
	char f[64];
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = make_cert(k, serial, "localhost", from, to, "DNS:localhost,IP:127.0.0.1", 0);
	snprintf(f, sizeof(f), "%s.pem", name);
	write_pem(f, x, NULL);
	snprintf(f, sizeof(f), "%s.key", name);
	write_pem(f, NULL, k);
	X509_free(x);
	EVP_PKEY_free(k);
}

static void make_certs(void)
{
	ca_key = EVP_EC_gen("P-256");
	ca_cert = make_cert(ca_key, 100, "nomsync test CA", -86400, 2 * 86400, NULL, 1);
	write_pem("ca.pem", ca_cert, NULL);
	make_pair("one", 1, -60, 86400);
	make_pair("two", 2, -60, 86400);
	make_pair("expired", 3, -3 * 86400, -86400);
	make_pair("future", 4, 86400, 2 * 86400);
	make_pair("client", 5, -60, 86400);
	FILE *f = fopen(path("garbage.pem"), "w");
	fputs("this is not PEM\n", f);
	fclose(f);
}

static void copy_file(const char *from, const char *to)
{
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "cp %s %s", path(from), path(to));
	CHECK_INT(system(cmd), 0);
}

/*
 * The server.
 */

static int stub_status(void *arg, ns_node_status *st)
{
	(void)arg;
	memset(st, 0, sizeof(*st));
	snprintf(st->site, sizeof(st->site), "%s", "MDI");
	return 0;
}

static void on_stop(uv_async_t *a)
{
	server *sv = a->data;
	ns_http_stop(sv->http);
	uv_close((uv_handle_t *)&sv->stop, NULL);
	uv_close((uv_handle_t *)&sv->reload, NULL);
}

static void on_reload(uv_async_t *a)
{
	server *sv = a->data;
	ns_diag d;
	ns_diag_clear(&d);
	int rc = ns_http_reload_tls(sv->http, &d);
	snprintf(sv->reload_msg, sizeof(sv->reload_msg), "%s", d.msg);
	atomic_store(&sv->reloaded, 1 + (rc != 0));
}

/* Reload @p sv's TLS files on its loop thread; 0, or -1 with the reason in reload_msg. */
static int reload(server *sv)
{
	atomic_store(&sv->reloaded, 0);
	uv_async_send(&sv->reload);
	while (atomic_load(&sv->reloaded) == 0)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	return atomic_load(&sv->reloaded) == 1 ? 0 : -1;
}

static void *run_loop(void *arg)
{
	uv_run(&((server *)arg)->loop, UV_RUN_DEFAULT);
	return NULL;
}

static int start_tls(server *sv, const char *cert, const char *key, const char *client_ca, const ns_http_opts *o)
{
	char listen[64];
	ns_diag d;

	uv_loop_init(&sv->loop);
	for (int tries = 0; tries < 20; tries++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t al = sizeof(a);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		bind(fd, (struct sockaddr *)&a, sizeof(a));
		getsockname(fd, (struct sockaddr *)&a, &al);
		close(fd);
		sv->port = ntohs(a.sin_port);
		snprintf(listen, sizeof(listen), "127.0.0.1:%d", sv->port);
		if (ns_http_start(&sv->http, &sv->loop, store, listen, TOKEN, stub_status, NULL, NULL, &d) == 0)
			break;
		uv_run(&sv->loop, UV_RUN_DEFAULT);
		ns_http_free(sv->http);
		sv->http = NULL;
	}
	if (sv->http == NULL || (o && ns_http_configure(sv->http, o, &d) != 0) ||
	    ns_http_tls(sv->http, path(cert), path(key), client_ca ? path(client_ca) : NULL, &d) != 0) {
		fprintf(stderr, "TLS server: %s\n", d.msg);
		return -1;
	}
	uv_async_init(&sv->loop, &sv->stop, on_stop);
	uv_async_init(&sv->loop, &sv->reload, on_reload);
	sv->stop.data = sv->reload.data = sv;
	return pthread_create(&sv->thread, NULL, run_loop, sv);
}

static void stop_tls(server *sv)
{
	uv_async_send(&sv->stop);
	pthread_join(sv->thread, NULL);
	CHECK_INT(uv_loop_close(&sv->loop), 0);
	ns_http_free(sv->http);
}

/*
 * The client: OpenSSL over a blocking socket.
 */

typedef struct tls_client {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	char buf[1 << 16];
	size_t have;
} tls_client;

static int tcp_connect(int to)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)to),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { 10, 0 };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	CHECK_INT(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void tls_close(tls_client *c)
{
	if (c == NULL)
		return;
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	close(c->fd);
	free(c);
}

/*
 * A verified TLS connection to @p to (the CA's certificate, name 127.0.0.1),
 * at most TLS version @p max (0: any), with client certificate NAME.pem if
 * @p cert; NULL if the handshake fails.
 */
static tls_client *tls_connect(int to, const char *cert, int max)
{
	tls_client *c = calloc(1, sizeof(*c));
	char f[64];

	c->fd = tcp_connect(to);
	c->ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_load_verify_locations(c->ctx, path("ca.pem"), NULL);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
	if (max) {
		SSL_CTX_set_min_proto_version(c->ctx, max);
		SSL_CTX_set_max_proto_version(c->ctx, max);
		SSL_CTX_set_cipher_list(c->ctx, "DEFAULT:@SECLEVEL=0"); /* so that the client does offer it */
	}
	if (cert) {
		snprintf(f, sizeof(f), "%s.pem", cert);
		SSL_CTX_use_certificate_file(c->ctx, path(f), SSL_FILETYPE_PEM);
		snprintf(f, sizeof(f), "%s.key", cert);
		SSL_CTX_use_PrivateKey_file(c->ctx, path(f), SSL_FILETYPE_PEM);
	}
	c->ssl = SSL_new(c->ctx);
	SSL_set1_host(c->ssl, "127.0.0.1");
	SSL_set_fd(c->ssl, c->fd);
	if (SSL_connect(c->ssl) != 1) {
		ERR_clear_error();
		tls_close(c);
		return NULL;
	}
	return c;
}

/* The serial of the server's certificate on @p c. */
static long peer_serial(tls_client *c)
{
	X509 *x = SSL_get1_peer_certificate(c->ssl);
	long s = x ? ASN1_INTEGER_get(X509_get0_serialNumber(x)) : -1;
	X509_free(x);
	return s;
}

static int tls_send(tls_client *c, const char *text)
{
	return SSL_write(c->ssl, text, (int)strlen(text)) == (int)strlen(text) ? 0 : -1;
}

/*
 * One response into @p head (headers, NUL-terminated) and @p body; its
 * status, or -1 if the connection ended first. Bytes past it stay buffered.
 */
static int tls_read(tls_client *c, char *head, size_t hcap, char *body, size_t bcap)
{
	char *end, *cl;
	size_t hl = 0, bl = 0;
	int n;

	for (;;) {
		if ((end = memmem(c->buf, c->have, "\r\n\r\n", 4)) != NULL) {
			hl = (size_t)(end - c->buf) + 4;
			cl = memmem(c->buf, hl, "Content-Length: ", 16); /* every response of the server has it */
			bl = cl ? strtoul(cl + 16, NULL, 10) : 0;
			if (c->have >= hl + bl)
				break;
		}
		if (c->have == sizeof(c->buf))
			return -1;
		if ((n = SSL_read(c->ssl, c->buf + c->have, (int)(sizeof(c->buf) - c->have))) <= 0) {
			ERR_clear_error();
			return -1;
		}
		c->have += (size_t)n;
	}
	snprintf(head, hcap, "%.*s", (int)hl, c->buf);
	snprintf(body, bcap, "%.*s", (int)bl, c->buf + hl);
	memmove(c->buf, c->buf + hl + bl, c->have - hl - bl);
	c->have -= hl + bl;
	return atoi(head + 9);
}

/* GET @p p on @p c (with the token if @p auth); the status. */
static int tls_get(tls_client *c, const char *p, int auth, char *head, size_t hcap, char *body, size_t bcap)
{
	char req[512];
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", p,
		 auth ? "Authorization: Bearer " TOKEN "\r\n" : "");
	if (tls_send(c, req) != 0)
		return -1;
	return tls_read(c, head, hcap, body, bcap);
}

/* A Prometheus sample of @p srv's /metrics, or -1. */
static long long metric(const char *name)
{
	char head[4096], body[16384], *at;
	long long v = -1;
	tls_client *c = tls_connect(srv.port, NULL, 0);
	if (c && tls_get(c, "/metrics", 1, head, sizeof(head), body, sizeof(body)) == 200) {
		for (at = strstr(body, name); at && at != body && at[-1] != '\n'; at = strstr(at + 1, name))
			;
		if (at && at[strlen(name)] == ' ')
			v = atoll(at + strlen(name) + 1);
	}
	tls_close(c);
	return v;
}

/*
 * Tests.
 */

/* Each bad file refuses ns_http_tls with a message naming it; nothing is served. */
static void test_tls_errors(void)
{
	uv_loop_t l;
	ns_http *h;
	ns_diag d;
	char listen[64], about[512];
	static const struct {
		const char *cert, *key, *ca, *want;
	} cases[] = {
		{ "missing.pem", "one.key", NULL, "[http] tls_cert: cannot read %s/missing.pem: No such file or directory" },
		{ "one.pem", "missing.key", NULL, "[http] tls_key: cannot read %s/missing.key: No such file or directory" },
		{ "garbage.pem", "one.key", NULL, "[http] tls_cert %s/garbage.pem: not a usable PEM certificate: " },
		{ "one.pem", "garbage.pem", NULL, "[http] tls_key %s/garbage.pem: not a usable PEM private key: " },
		{ "one.pem", "two.key", NULL, "[http] tls_key %s/two.key does not match tls_cert " },
		{ "expired.pem", "expired.key", NULL, "[http] tls_cert %s/expired.pem expired on " },
		{ "future.pem", "future.key", NULL, "[http] tls_cert %s/future.pem is not valid before " },
		{ "one.pem", "one.key", "garbage.pem", "[http] tls_client_ca %s/garbage.pem: no usable PEM certificate: " },
		{ "one.pem", "one.key", "missing.pem", "[http] tls_client_ca: cannot read %s/missing.pem: " },
	};

	uv_loop_init(&l);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", srv.port + 1);
	if (ns_http_start(&h, &l, store, listen, TOKEN, stub_status, NULL, NULL, &d) != 0) {
		/* The port is taken: the server that failed to listen is the caller's to free once closed. */
		if (h != NULL) {
			ns_http_stop(h);
			uv_run(&l, UV_RUN_DEFAULT);
			ns_http_free(h);
		}
		snprintf(listen, sizeof(listen), "127.0.0.1:%d", srv.port + 2);
		CHECK_INT(ns_http_start(&h, &l, store, listen, TOKEN, stub_status, NULL, NULL, &d), 0);
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char want[400];
		snprintf(want, sizeof(want), cases[i].want, tmproot);
		ns_diag_clear(&d);
		CHECK_INT(ns_http_tls(h, path(cases[i].cert), path(cases[i].key), cases[i].ca ? path(cases[i].ca) : NULL,
				      &d),
			  NS_ECONFIG);
		if (strncmp(d.msg, want, strlen(want)) != 0)
			fprintf(stderr, "case %zu: '%s', wanted '%s...'\n", i, d.msg, want);
		CHECK(strncmp(d.msg, want, strlen(want)) == 0);
		CHECK_INT(ns_http_tls_describe(h, about, sizeof(about)), 0); /* TLS stays off */
	}
	/* The expired certificate says when. */
	ns_http_tls(h, path("expired.pem"), path("expired.key"), NULL, &d);
	CHECK(strstr(d.msg, "GMT: install a renewed certificate") != NULL);
	ns_http_stop(h);
	uv_run(&l, UV_RUN_DEFAULT);
	ns_http_free(h);
	CHECK_INT(uv_loop_close(&l), 0);
}

/* Requests over TLS: keep-alive, pipelining, HSTS, the certificate described. */
static void test_tls_requests(void)
{
	char head[4096], body[16384], about[512], want[400];
	tls_client *c = tls_connect(srv.port, NULL, 0);

	CHECK(c != NULL);
	if (c == NULL)
		return;
	CHECK_INT(peer_serial(c), 1);
	CHECK(SSL_version(c->ssl) >= TLS1_2_VERSION);
	for (int i = 0; i < 3; i++) { /* one connection, several requests */
		CHECK_INT(tls_get(c, "/healthz", 0, head, sizeof(head), body, sizeof(body)), 200);
		CHECK(strstr(head, "\r\nStrict-Transport-Security: max-age=31536000\r\n") != NULL);
		CHECK(strstr(head, "Connection: keep-alive") != NULL);
	}
	CHECK_INT(tls_get(c, "/v1/status", 0, head, sizeof(head), body, sizeof(body)), 401);
	CHECK_INT(tls_get(c, "/v1/status", 1, head, sizeof(head), body, sizeof(body)), 200);
	CHECK(strstr(body, "\"site\":\"MDI\"") != NULL);
	/* Pipelined in one record: both answered, in order. */
	CHECK_INT(tls_send(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nowhere HTTP/1.1\r\nHost: x\r\n"
			      "Authorization: Bearer " TOKEN "\r\n\r\n"), 0);
	CHECK_INT(tls_read(c, head, sizeof(head), body, sizeof(body)), 200);
	CHECK_INT(tls_read(c, head, sizeof(head), body, sizeof(body)), 404);
	/* Connection: close: the response, then the server's close_notify (a clean end, not a cut). */
	CHECK_INT(tls_send(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 0);
	CHECK_INT(tls_read(c, head, sizeof(head), body, sizeof(body)), 200);
	CHECK(strstr(head, "Connection: close") != NULL);
	CHECK_INT(SSL_read(c->ssl, body, 1), 0);
	CHECK_INT(SSL_get_error(c->ssl, 0), SSL_ERROR_ZERO_RETURN);
	tls_close(c);
	/* The client's close_notify is answered with the server's, and the connection closed. */
	c = tls_connect(srv.port, NULL, 0);
	CHECK(c != NULL && SSL_shutdown(c->ssl) == 0 && SSL_shutdown(c->ssl) == 1);
	CHECK_INT(recv(c->fd, body, 1, 0), 0);
	tls_close(c);
	CHECK_INT(ns_http_tls_describe(srv.http, about, sizeof(about)), 1);
	snprintf(want, sizeof(want), "certificate CN=localhost (serial 01, from %s/live.pem), valid until ", tmproot);
	CHECK(strncmp(about, want, strlen(want)) == 0);
}

/* The web sign-in over TLS: a Secure cookie; a changing cookie request must come from https://Host. */
static void test_cookie_and_origin(void)
{
	char head[4096], body[4096], req[1024], cookie[100];
	tls_client *c = tls_connect(srv.port, NULL, 0);
	const char *set, *form = "token=" TOKEN;

	if (c == NULL) {
		CHECK(c != NULL);
		return;
	}
	snprintf(req, sizeof(req), "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
		 "application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s", strlen(form), form);
	CHECK_INT(tls_send(c, req), 0);
	CHECK_INT(tls_read(c, head, sizeof(head), body, sizeof(body)), 303);
	CHECK((set = strstr(head, "Set-Cookie: nomsync_session=")) != NULL);
	if (set == NULL) {
		tls_close(c);
		return;
	}
	CHECK(strstr(set, "; Secure\r\n") != NULL);
	snprintf(cookie, sizeof(cookie), "%.*s", (int)strcspn(set + 12, ";"), set + 12);
	/* http://Host on a TLS listener is another origin: refused; https://Host: signed out. */
	snprintf(req, sizeof(req), "POST /logout HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nCookie: %s\r\n"
		 "Origin: http://127.0.0.1:%d\r\nContent-Length: 0\r\n\r\n", srv.port, cookie, srv.port);
	CHECK_INT(tls_send(c, req), 0);
	CHECK_INT(tls_read(c, head, sizeof(head), body, sizeof(body)), 403);
	tls_close(c);
	c = tls_connect(srv.port, NULL, 0);
	snprintf(req, sizeof(req), "POST /logout HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nCookie: %s\r\n"
		 "Origin: https://127.0.0.1:%d\r\nContent-Length: 0\r\n\r\n", srv.port, cookie, srv.port);
	CHECK(c != NULL && tls_send(c, req) == 0);
	CHECK_INT(tls_read(c, head, sizeof(head), body, sizeof(body)), 303);
	CHECK(strstr(head, "Max-Age=0; Secure\r\n") != NULL);
	tls_close(c);
}

/* Plain HTTP, old TLS and garbage on the TLS port. */
static void test_refusals(void)
{
	char buf[2048], want[128];
	size_t have = 0;
	ssize_t n;
	int fd = tcp_connect(srv.port);
	const char *get = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

	CHECK_INT(send(fd, get, strlen(get), 0), (long long)strlen(get));
	while (have < sizeof(buf) - 1 && (n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0)) > 0)
		have += (size_t)n;
	buf[have] = '\0';
	CHECK(strncmp(buf, "HTTP/1.1 400 Bad Request\r\n", 26) == 0);
	snprintf(want, sizeof(want), "\r\n\r\nthis port speaks HTTPS: use https://127.0.0.1:%d/\n", srv.port);
	CHECK(strstr(buf, want) != NULL);
	CHECK(strstr(buf, "Connection: close") != NULL);
	CHECK(strstr(buf, "Strict-Transport-Security") == NULL); /* meaningless, and ignored, over plain HTTP */
	close(fd);                                                /* the server closed first (recv returned 0) */

	/* TLS 1.1 (and 1.0): the handshake fails. */
	CHECK(tls_connect(srv.port, NULL, TLS1_1_VERSION) == NULL);
	CHECK(tls_connect(srv.port, NULL, TLS1_VERSION) == NULL);
	/* A handshake record of nonsense: an alert, then closed. */
	fd = tcp_connect(srv.port);
	CHECK_INT(send(fd, "\x16\x03\x01\x00\x05hello", 10, 0), 10);
	have = 0;
	while (have < sizeof(buf) && (n = recv(fd, buf + have, sizeof(buf) - have, 0)) > 0)
		have += (size_t)n;
	CHECK(have > 0 && buf[0] == 0x15); /* an alert record */
	close(fd);
	/* The server still serves. */
	tls_client *c = tls_connect(srv.port, NULL, 0);
	CHECK(c != NULL && tls_get(c, "/healthz", 0, buf, sizeof(buf), want, sizeof(want)) == 200);
	tls_close(c);
	CHECK_INT(metric("nomsync_http_tls_plain_refused_total"), 1);
	CHECK(metric("nomsync_http_tls_handshakes_total{result=\"failed\"}") >= 3);
}

/* A reload: open connections keep their certificate, new ones get the new; a failed reload keeps the old. */
static void test_reload(void)
{
	char head[4096], body[4096];
	tls_client *before = tls_connect(srv.port, NULL, 0);
	long long ok = metric("nomsync_http_tls_handshakes_total{result=\"ok\"}");

	CHECK(ok >= 1);
	CHECK(metric("nomsync_http_tls_cert_expiry_seconds") > (long long)time(NULL) + 86000);
	CHECK(before != NULL && peer_serial(before) == 1);
	copy_file("two.pem", "live.pem");
	copy_file("two.key", "live.key");
	CHECK_INT(reload(&srv), 0);
	tls_client *after = tls_connect(srv.port, NULL, 0);
	CHECK(after != NULL && peer_serial(after) == 2);
	CHECK_INT(tls_get(before, "/healthz", 0, head, sizeof(head), body, sizeof(body)), 200);
	CHECK_INT(tls_get(after, "/healthz", 0, head, sizeof(head), body, sizeof(body)), 200);
	tls_close(after);
	/* A key that does not match: refused with the reason; the second certificate stays. */
	copy_file("one.key", "live.key");
	CHECK_INT(reload(&srv), -1);
	CHECK(strstr(srv.reload_msg, "live.key does not match tls_cert ") != NULL);
	copy_file("expired.pem", "live.pem");
	copy_file("expired.key", "live.key");
	CHECK_INT(reload(&srv), -1);
	CHECK(strstr(srv.reload_msg, "live.pem expired on ") != NULL);
	after = tls_connect(srv.port, NULL, 0);
	CHECK(after != NULL && peer_serial(after) == 2);
	CHECK_INT(tls_get(before, "/healthz", 0, head, sizeof(head), body, sizeof(body)), 200);
	tls_close(after);
	tls_close(before);
	CHECK(metric("nomsync_http_tls_handshakes_total{result=\"ok\"}") >= ok + 3);
}

/*
 * A client that pipelines requests and never reads its responses: the
 * server reads nothing more while a response is unsent, so the client's
 * writes back up, and the response timeout (1 s here) cuts it off, as
 * without TLS.
 */
static void test_backpressure(void)
{
	const char *key = "nomsync_http_connections_refused_total{reason=\"response_timeout\"}";
	const char *req = "GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN "\r\n\r\n";
	long long before = metric(key);
	tls_client *c = tls_connect(srv.port, NULL, 0);
	struct timeval tv = { 10, 0 };
	struct timespec t0, t1;
	long sent = 0;

	if (c == NULL) {
		CHECK(c != NULL);
		return;
	}
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (sent < 1000000 && tls_send(c, req) == 0)
		sent++;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ERR_clear_error();
	CHECK(sent < 1000000);
	CHECK(t1.tv_sec - t0.tv_sec < 10); /* ended by the server, not by the client's send timeout */
	tls_close(c);
	CHECK_INT(metric(key), before + 1);
}

/* Mutual TLS: a client certificate signed by tls_client_ca is required. */
static void test_mutual_tls(void)
{
	char head[4096], body[4096];
	tls_client *c;

	if (start_tls(&mtls_srv, "one.pem", "one.key", "ca.pem", NULL) != 0) {
		CHECK(0);
		return;
	}
	c = tls_connect(mtls_srv.port, "client", 0);
	CHECK(c != NULL && tls_get(c, "/healthz", 0, head, sizeof(head), body, sizeof(body)) == 200);
	tls_close(c);
	/* Without a certificate: under TLS 1.3 the client learns of the refusal at its first read. */
	c = tls_connect(mtls_srv.port, NULL, 0);
	CHECK(c == NULL || tls_get(c, "/healthz", 0, head, sizeof(head), body, sizeof(body)) == -1);
	tls_close(c);
	c = tls_connect(mtls_srv.port, NULL, TLS1_2_VERSION); /* under TLS 1.2, the handshake itself fails */
	CHECK(c == NULL);
	tls_close(c);
	stop_tls(&mtls_srv);
}

int main(void)
{
	char dir[300];
	ns_diag d;

	if (mkdtemp(tmproot) == NULL)
		return 1;
	ns_crypto_init();
	signal(SIGPIPE, SIG_IGN); /* a write to a connection the server cut off fails instead */
	make_certs();
	copy_file("one.pem", "live.pem");
	copy_file("one.key", "live.key");
	snprintf(dir, sizeof(dir), "%s/mdi", tmproot);
	if (ns_store_create(dir, "MDI", NS_ROLE_PRISON, &d) != 0 || ns_store_open(dir, NS_STORE_NOSYNC, &store, &d) != 0 ||
	    start_tls(&srv, "live.pem", "live.key", NULL, &(ns_http_opts){ .response_timeout = 1 }) != 0) {
		fprintf(stderr, "could not start the server\n");
		return 1;
	}
	RUN(test_tls_errors);
	RUN(test_tls_requests);
	RUN(test_cookie_and_origin);
	RUN(test_refusals);
	RUN(test_reload);
	RUN(test_backpressure);
	RUN(test_mutual_tls);
	stop_tls(&srv);
	ns_store_close(store);
	X509_free(ca_cert);
	EVP_PKEY_free(ca_key);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmproot);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmproot);
	return TEST_SUMMARY();
}
