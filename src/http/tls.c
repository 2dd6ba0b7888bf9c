/*
 * TLS on the API (see http.h): OpenSSL 3 under the connection code of conn.c.
 *
 * Each connection's SSL object talks to two memory BIOs: bytes read from the
 * socket are written into the read BIO, SSL_read turns them into plaintext
 * for the HTTP parser (ns__feed, as for a plain connection), and a response
 * is sealed with SSL_write into the write BIO whose bytes conn.c hands to
 * uv_write. So the libuv read/write loop, the one-request-at-a-time rule,
 * the response timeout and the deadlines stay as they are: all plaintext of
 * a chunk read from the socket is decrypted at once and, past a complete
 * request, kept in the connection's bounded stash like pipelined bytes.
 * Handshake messages and alerts leave through ns__tls_flush.
 *
 * The first byte of a connection must open a TLS handshake record (0x16);
 * anything else is a plain-HTTP client, answered with a plain-text 400 that
 * names the https:// address, then closed.
 *
 * The server context: TLS 1.2 at least, OpenSSL's default ciphers at its
 * default security level (2 on Debian), no renegotiation, no compression,
 * no session resumption (no tickets, no cache); with tls_client_ca, a client
 * certificate signed by it is required. SSL_CTX is reference counted: a
 * reload swaps in a new context for new connections while open ones keep
 * the one they started with.
 */
#include "http/http_int.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS__TLS_HANDSHAKE_RECORD 0x16

/* OpenSSL's reason for the last error (its queue is cleared). */
static const char *ns__ssl_reason(char *buf, size_t cap)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	if (r == NULL && e)
		ERR_error_string_n(e, buf, cap);
	else
		snprintf(buf, cap, "%s", r ? r : "unknown OpenSSL error");
	ERR_clear_error();
	return buf;
}

/* A clear error for a file that cannot be opened at all (OpenSSL would say "system lib"). */
static int ns__readable(const char *key, const char *path, ns_diag *d)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return ns_diag_set(d, NS_ECONFIG, "http", "[http] %s: cannot read %s: %s", key, path, strerror(errno));
	fclose(f);
	return 0;
}

static void ns__asn1_time_text(const ASN1_TIME *t, char *buf, size_t cap)
{
	BIO *b = BIO_new(BIO_s_mem());
	int n = 0;
	if (b && ASN1_TIME_print(b, t))
		n = BIO_read(b, buf, (int)cap - 1);
	buf[n > 0 ? n : 0] = '\0';
	BIO_free(b);
}

/* Build a server context from the files in @p t; 0 or NS_ECONFIG naming the file and OpenSSL's reason. */
static int ns__tls_build(const ns__tls_server *t, SSL_CTX **out, int64_t *not_after, ns_diag *d)
{
	char why[256], when[64];
	SSL_CTX *ctx;
	X509 *x;
	int rc;

	*out = NULL;
	if ((rc = ns__readable("tls_cert", t->cert, d)) != 0 || (rc = ns__readable("tls_key", t->key, d)) != 0 ||
	    (t->client_ca[0] && (rc = ns__readable("tls_client_ca", t->client_ca, d)) != 0))
		return rc;
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		return ns_diag_set(d, NS_ENOMEM, "http", "TLS: %s", ns__ssl_reason(why, sizeof(why)));
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_use_certificate_chain_file(ctx, t->cert) != 1) {
		rc = ns_diag_set(d, NS_ECONFIG, "http", "[http] tls_cert %s: not a usable PEM certificate: %s",
				 t->cert, ns__ssl_reason(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, t->key, SSL_FILETYPE_PEM) != 1 &&
	    ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH) {
		rc = ns_diag_set(d, NS_ECONFIG, "http", "[http] tls_key %s: not a usable PEM private key: %s", t->key,
				 ns__ssl_reason(why, sizeof(why)));
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) { /* a mismatch, found by either */
		rc = ns_diag_set(d, NS_ECONFIG, "http", "[http] tls_key %s does not match tls_cert %s: %s", t->key,
				 t->cert, ns__ssl_reason(why, sizeof(why)));
		goto fail;
	}
	x = SSL_CTX_get0_certificate(ctx);
	if (X509_cmp_current_time(X509_get0_notAfter(x)) <= 0) {
		ns__asn1_time_text(X509_get0_notAfter(x), when, sizeof(when));
		rc = ns_diag_set(d, NS_ECONFIG, "http", "[http] tls_cert %s expired on %s: install a renewed certificate",
				 t->cert, when);
		goto fail;
	}
	if (X509_cmp_current_time(X509_get0_notBefore(x)) >= 0) {
		ns__asn1_time_text(X509_get0_notBefore(x), when, sizeof(when));
		rc = ns_diag_set(d, NS_ECONFIG, "http", "[http] tls_cert %s is not valid before %s", t->cert, when);
		goto fail;
	}
	struct tm tm;
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) {
		rc = ns_diag_set(d, NS_ECONFIG, "http", "[http] tls_cert %s: unreadable expiry time", t->cert);
		goto fail;
	}
	*not_after = (int64_t)timegm(&tm);
	if (t->client_ca[0]) {
		STACK_OF(X509_NAME) *names;
		if (SSL_CTX_load_verify_locations(ctx, t->client_ca, NULL) != 1 ||
		    (names = SSL_load_client_CA_file(t->client_ca)) == NULL) {
			rc = ns_diag_set(d, NS_ECONFIG, "http", "[http] tls_client_ca %s: no usable PEM certificate: %s",
					 t->client_ca, ns__ssl_reason(why, sizeof(why)));
			goto fail;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	*out = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return rc;
}

int ns_http_tls(ns_http *h, const char *cert, const char *key, const char *client_ca, ns_diag *d)
{
	ns__tls_server *t = &h->tls;

	if (snprintf(t->cert, sizeof(t->cert), "%s", cert) >= (int)sizeof(t->cert) ||
	    snprintf(t->key, sizeof(t->key), "%s", key) >= (int)sizeof(t->key) ||
	    snprintf(t->client_ca, sizeof(t->client_ca), "%s", client_ca ? client_ca : "") >=
		    (int)sizeof(t->client_ca))
		return ns_diag_set(d, NS_ECONFIG, "http", "[http] a TLS file path is too long");
	return ns_http_reload_tls(h, d);
}

int ns_http_reload_tls(ns_http *h, ns_diag *d)
{
	ns__tls_server *t = &h->tls;
	SSL_CTX *ctx;
	int64_t not_after = 0;
	int rc;

	if (t->cert[0] == '\0')
		return 0;
	if ((rc = ns__tls_build(t, &ctx, &not_after, d)) != 0)
		return rc;
	SSL_CTX_free(t->ctx); /* connections still using it hold their own reference */
	t->ctx = ctx;
	t->not_after = not_after;
	return 0;
}

int ns_http_tls_describe(const ns_http *h, char *buf, size_t cap)
{
	const ns__tls_server *t = &h->tls;
	char subject[256] = "?", serial[128] = "?", until[64] = "?";
	X509 *x;
	BIO *b;
	int n;

	if (t->ctx == NULL || cap == 0)
		return 0;
	x = SSL_CTX_get0_certificate(t->ctx);
	if ((b = BIO_new(BIO_s_mem())) != NULL) {
		if (X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0 &&
		    (n = BIO_read(b, subject, sizeof(subject) - 1)) > 0)
			subject[n] = '\0';
		BIO_free(b);
	}
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	if (hex)
		snprintf(serial, sizeof(serial), "%s", hex);
	OPENSSL_free(hex);
	BN_free(bn);
	ns__asn1_time_text(X509_get0_notAfter(x), until, sizeof(until));
	n = snprintf(buf, cap, "certificate %s (serial %s, from %s), valid until %s%s%s", subject, serial, t->cert,
		     until, t->client_ca[0] ? "; client certificates required, signed by " : "",
		     t->client_ca[0] ? t->client_ca : "");
	return n < 0 ? 0 : 1;
}

void ns__tls_server_free(ns_http *h)
{
	SSL_CTX_free(h->tls.ctx);
	h->tls.ctx = NULL;
}

int ns__tls_accept(ns__conn *c)
{
	BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());

	if (rb == NULL || wb == NULL || (c->ssl = SSL_new(c->h->tls.ctx)) == NULL) {
		BIO_free(rb);
		BIO_free(wb);
		ERR_clear_error();
		return -1;
	}
	SSL_set_bio(c->ssl, rb, wb);
	SSL_set_accept_state(c->ssl);
	c->tls = NS__TLS_NEW;
	return 0;
}

void ns__tls_free(ns__conn *c)
{
	SSL_free(c->ssl);
	c->ssl = NULL;
}

typedef struct ns__tls_wreq {
	uv_write_t req;
	ns__conn *c;
	int close_after;
	char buf[];
} ns__tls_wreq;

static void ns__tls_flushed(uv_write_t *w, int status)
{
	ns__tls_wreq *r = (ns__tls_wreq *)w;
	ns__conn *c = r->c;
	int close_after = r->close_after;
	free(r);
	if (status < 0 || close_after)
		ns__conn_close(c);
}

/* Write what OpenSSL has for the client outside a response (handshake, alerts); then close if asked. */
static void ns__tls_flush(ns__conn *c, int close_after)
{
	BIO *wb = SSL_get_wbio(c->ssl);
	size_t n = BIO_ctrl_pending(wb);
	ns__tls_wreq *r;

	if (c->closing == 2)
		return;
	if (n == 0) {
		if (close_after)
			ns__conn_close(c);
		return;
	}
	if ((r = malloc(sizeof(*r) + n)) == NULL || BIO_read(wb, r->buf, (int)n) != (int)n) {
		free(r);
		ns__conn_close(c);
		return;
	}
	r->c = c;
	r->close_after = close_after;
	uv_buf_t b = uv_buf_init(r->buf, (unsigned)n);
	if (uv_write(&r->req, (uv_stream_t *)&c->tcp, &b, 1, ns__tls_flushed) != 0) {
		free(r);
		ns__conn_close(c);
	}
}

int ns__tls_seal(ns__conn *c, char **buf, size_t *len)
{
	BIO *wb = SSL_get_wbio(c->ssl);
	char *out;
	size_t n;

	/* A memory BIO never pushes back: SSL_write takes the whole response or fails. */
	if (*len && SSL_write(c->ssl, *buf, (int)*len) != (int)*len) {
		ERR_clear_error();
		return -1;
	}
	if (!c->keep_alive)
		SSL_shutdown(c->ssl); /* close_notify follows the last response */
	n = BIO_ctrl_pending(wb);
	if ((out = malloc(n ? n : 1)) == NULL || (n && BIO_read(wb, out, (int)n) != (int)n)) {
		free(out);
		return -1;
	}
	free(*buf);
	*buf = out;
	*len = n;
	return 0;
}

/* Not a TLS client: a plain-text 400 naming the https:// address, then close. */
static void ns__tls_refuse_plain(ns__conn *c)
{
	struct sockaddr_in self;
	int slen = sizeof(self);
	char ip[INET_ADDRSTRLEN] = "HOST", body[160];
	int port = 0;

	if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&self, &slen) == 0 && self.sin_family == AF_INET) {
		inet_ntop(AF_INET, &self.sin_addr, ip, sizeof(ip));
		port = ntohs(self.sin_port);
	}
	snprintf(body, sizeof(body), "this port speaks HTTPS: use https://%s:%d/\n", ip, port);
	ns__tls_free(c);
	c->tls = NS__TLS_REFUSED;
	c->keep_alive = 0;
	c->complete = 1;
	c->h->tls.plain_refused++;
	ns__respond(c, 400, "text/plain; charset=utf-8", body, strlen(body), NULL);
}

/* A failed handshake or a broken record: counted, logged (rate-bounded), the alert sent, closed. */
static void ns__tls_fail(ns__conn *c)
{
	ns_http *h = c->h;
	char why[256], ip[INET_ADDRSTRLEN] = "?", line[400];
	uint64_t now = uv_now(h->loop);

	ns__ssl_reason(why, sizeof(why));
	if (c->tls != NS__TLS_UP) {
		h->tls.handshakes[NS__TLS_FAILED]++;
		if (h->opts.log && (h->tls.logged_at == 0 || now - h->tls.logged_at >= NS__LOG_EVERY_MS)) {
			h->tls.logged_at = now ? now : 1;
			inet_ntop(AF_INET, &c->addr, ip, sizeof(ip));
			snprintf(line, sizeof(line),
				 "http: TLS handshake failed from %s: %s; %llu so far (logged at most every %d s)", ip, why,
				 (unsigned long long)h->tls.handshakes[NS__TLS_FAILED], NS__LOG_EVERY_MS / 1000);
			h->opts.log(h->opts.log_arg, line);
		}
	}
	c->keep_alive = 0;
	c->tls = NS__TLS_BROKEN;
	ns__tls_flush(c, 1);
}

void ns__tls_input(ns__conn *c, const char *data, size_t len)
{
	char plain[16384];

	if (c->tls == NS__TLS_REFUSED || c->tls == NS__TLS_BROKEN)
		return; /* read and dropped until the answer is out, so that the close is not a reset */
	if (c->tls == NS__TLS_NEW) {
		if ((unsigned char)data[0] != NS__TLS_HANDSHAKE_RECORD) {
			ns__tls_refuse_plain(c);
			return;
		}
		c->tls = NS__TLS_HANDSHAKE;
	}
	if (BIO_write(SSL_get_rbio(c->ssl), data, (int)len) != (int)len) {
		ns__conn_close(c);
		return;
	}
	while (c->closing == 0) {
		int n = SSL_read(c->ssl, plain, sizeof(plain));
		if (c->tls == NS__TLS_HANDSHAKE && SSL_is_init_finished(c->ssl)) {
			c->tls = NS__TLS_UP;
			c->h->tls.handshakes[NS__TLS_OK]++;
		}
		if (n > 0) {
			ns__feed(c, plain, (size_t)n); /* past a complete request, kept in the stash */
			continue;
		}
		switch (SSL_get_error(c->ssl, n)) {
		case SSL_ERROR_WANT_READ:
			ns__tls_flush(c, 0);
			return;
		case SSL_ERROR_ZERO_RETURN: /* the client's close_notify: answer it unless a response is due */
			c->keep_alive = 0;
			if (!c->busy && !c->complete) {
				SSL_shutdown(c->ssl);
				ns__tls_flush(c, 1);
			}
			return;
		default:
			ns__tls_fail(c);
			return;
		}
	}
}

void ns__tls_metrics(const ns_http *h, FILE *f)
{
	if (h->tls.ctx == NULL)
		return;
	fprintf(f, "# HELP nomsync_http_tls_handshakes_total TLS handshakes on the API, by result.\n"
		   "# TYPE nomsync_http_tls_handshakes_total counter\n"
		   "nomsync_http_tls_handshakes_total{result=\"ok\"} %llu\n"
		   "nomsync_http_tls_handshakes_total{result=\"failed\"} %llu\n",
		(unsigned long long)h->tls.handshakes[NS__TLS_OK], (unsigned long long)h->tls.handshakes[NS__TLS_FAILED]);
	fprintf(f, "# HELP nomsync_http_tls_plain_refused_total Plain-HTTP requests refused on the TLS port.\n"
		   "# TYPE nomsync_http_tls_plain_refused_total counter\n"
		   "nomsync_http_tls_plain_refused_total %llu\n",
		(unsigned long long)h->tls.plain_refused);
	fprintf(f, "# HELP nomsync_http_tls_cert_expiry_seconds When the API's certificate expires (Unix time).\n"
		   "# TYPE nomsync_http_tls_cert_expiry_seconds gauge\n"
		   "nomsync_http_tls_cert_expiry_seconds %lld\n",
		(long long)h->tls.not_after);
}
