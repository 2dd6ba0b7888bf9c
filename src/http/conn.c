/*
 * HTTP connections (see http.h, http_int.h): accept and admission, request
 * parsing, responses, deadlines.
 *
 * One connection handles one request at a time: when a request completes
 * the parser is paused and reading stops until its response is written (the
 * client's further pipelined bytes wait in the kernel, which pushes back on
 * the client); bytes read past the request are kept and parsed after the
 * response. While a response waits for the client to take it, the
 * connection has [http] response_timeout; past it the connection is closed.
 *
 * Admission: at most conns_per_client connections per client address; of
 * max_conns in all, the last reserved_conns are kept for authenticated
 * clients: a connection admitted into the reserve is on probation until its
 * first request, which must be GET /healthz (answered, then closed), POST
 * /login or carry a valid token, JWT or session, else it gets 503 and is closed. A
 * newcomer finding every slot taken evicts the oldest probation connection
 * that has not started a request.
 *
 * On a TLS listener (tls.c) bytes read go through ns__tls_input, which
 * feeds their plaintext to ns__feed, and each response is sealed as it is
 * written (ns__send); everything else here is the same for both.
 */
#include "http/http_int.h"

#include <nomsync/json.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * Responses.
 */

const char *ns__reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 201: return "Created";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 408: return "Request Timeout";
	case 413: return "Payload Too Large";
	case 414: return "URI Too Long";
	case 422: return "Unprocessable Entity";
	case 431: return "Request Header Fields Too Large";
	case 503: return "Service Unavailable";
	default: return "Internal Server Error";
	}
}

const char *const ns__refusal_names[NS__NREFUSALS] = { "full", "per_client", "reserved", "response_timeout",
							  "evicted" };

static void ns__conn_continue(ns__conn *c);
static void ns__conn_abort(ns__conn *c, int reset);
static void ns__on_timeout(uv_timer_t *t);
static void ns__reading(ns__conn *c, int on);

typedef struct ns__wreq {
	uv_write_t req;
	ns__conn *c;
	char *buf;
	size_t len;
	int code;
} ns__wreq;

static void ns__on_shutdown(uv_shutdown_t *req, int status)
{
	(void)req; /* the connection closes when the client has finished, or at the linger limits */
	(void)status;
}

static void ns__on_linger_end(uv_timer_t *t)
{
	ns__conn_close(t->data);
}

/*
 * After an error response to a request whose input was not all read (a body
 * over the limit, a malformed request): send FIN after the response, then
 * read and discard what the client still sends, until it closes or for at
 * most NS__LINGER_MS / NS__LINGER_BYTES. Closing at once with unread input
 * makes the kernel send a reset, which can destroy the response before the
 * client reads it: a client still uploading a body would see a reset
 * instead of 413. 0, or -1 to close now.
 */
static int ns__linger(ns__conn *c)
{
	if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, ns__on_shutdown) != 0)
		return -1;
	c->lingering = 1;
	c->lingered = 0;
	ns__reading(c, 1);
	uv_timer_start(&c->timer, ns__on_linger_end, NS__LINGER_MS, 0);
	return 0;
}

static void ns__on_written(uv_write_t *w, int status)
{
	ns__wreq *r = (ns__wreq *)w;
	ns__conn *c = r->c;
	free(r->buf);
	free(r);
	c->busy = c->writing = 0;
	if (status < 0 || c->closing || !c->keep_alive) {
		if (status >= 0 && !c->closing && c->error != 0 && ns__linger(c) == 0)
			return;
		ns__conn_close(c);
		return;
	}
	ns__conn_continue(c);
}

static void ns__wreq_free(ns__wreq *r)
{
	free(r->buf);
	free(r);
}

/*
 * Write a built response (on TLS, sealed now: records are sealed only when
 * they are sent, never for a response the audit then holds back); the
 * client then has response_timeout to take it.
 */
static void ns__send(ns__conn *c, ns__wreq *r)
{
	c->h->requests[r->code / 100 < 6 ? r->code / 100 : 5]++;
	c->busy = c->writing = 1;
	if ((c->ssl && ns__tls_seal(c, &r->buf, &r->len) != 0) || /* TLS: the response's records replace it */
	    uv_write(&r->req, (uv_stream_t *)&c->tcp, &(uv_buf_t){ .base = r->buf, .len = r->len }, 1,
		     ns__on_written) != 0) {
		ns__wreq_free(r);
		c->busy = c->writing = 0;
		ns__conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, ns__on_timeout, (uint64_t)(c->h->opts.response_timeout * 1000), 0);
}

/* The audit could not record the reads: the response built is discarded, never sent. */
static void ns__audit_refused(ns__conn *c)
{
	c->h->audit_refused++;
	ns__audit_clear(c);
	ns__respond_error(c, 503, "audit_unavailable",
			  "the read audit could not record this request, so its data is not sent");
}

/* The read audit has the request's entries (status 0) or failed: send the held response, or 503. */
static void ns__on_audited(void *arg, int status)
{
	ns__conn *c = arg;
	ns__wreq *r = c->held;
	c->held = NULL;
	c->busy = 0;
	if (c->closing) {
		ns__wreq_free(r);
		ns__conn_close(c);
	} else if (status != 0) {
		ns__wreq_free(r);
		ns__audit_refused(c);
	} else {
		ns__send(c, r);
	}
}

/*
 * Send a complete response; @extra is more header lines, each ending "\r\n".
 * A response to a request that read someone's data (ns__audit_note) is held
 * until the audit has the entries on disk, so that no personal data leaves
 * unaudited; meanwhile the connection is busy (it is not freed under the
 * audit's callback: a close waits for it, like an append's).
 */
void ns__respond(ns__conn *c, int code, const char *type, const char *body, size_t len, const char *extra)
{
	char head[1024];
	ns__wreq *r;
	int n;

	if (code >= 400 && code != 401 && code != 404 && code != 409 && code != 422)
		c->keep_alive = 0;
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: %s\r\n"
		     "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
		     "Content-Security-Policy: default-src 'self'; frame-ancestors 'none'\r\n%s%s\r\n",
		     code, ns__reason(code), type, len, c->keep_alive ? "keep-alive" : "close",
		     c->ssl ? "Strict-Transport-Security: max-age=31536000\r\n" : "", extra ? extra : "");
	r = calloc(1, sizeof(*r));
	if (r == NULL || n < 0 || (size_t)n >= sizeof(head) || (r->buf = malloc((size_t)n + len)) == NULL) {
		free(r);
		ns__conn_close(c);
		return;
	}
	memcpy(r->buf, head, (size_t)n);
	if (c->parser.method == HTTP_HEAD)
		len = 0; /* HEAD: the headers say how long the body would be, and no body follows */
	if (len)
		memcpy(r->buf + n, body, len);
	r->c = c;
	r->len = (size_t)n + len;
	r->code = code;
	if (c->naudit == 0) {
		ns__send(c, r);
		return;
	}
	if (c->h->opts.audit == NULL ||
	    ns_audit_submit(c->h->opts.audit, c->h->loop, c->audit, c->naudit, ns__on_audited, c) != 0) {
		ns__wreq_free(r);
		ns__audit_refused(c);
		return;
	}
	c->held = r;
	c->busy = 1;
}

void ns__respond_json(ns__conn *c, int code, json_t *j)
{
	char *txt = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	if (txt == NULL) {
		ns__respond(c, 500, "application/json", "{\"error\":\"internal\"}", 20, NULL);
		return;
	}
	ns__respond(c, code, "application/json", txt, strlen(txt), NULL);
	free(txt);
}

/*
 * A JSON string of text that may echo client bytes (a path, a field name,
 * a message cut mid-character): anything outside printable ASCII becomes
 * '?', so the response is always valid JSON.
 */
json_t *ns__safe_string(const char *text)
{
	char buf[512];
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p && n < sizeof(buf) - 1; p++)
		buf[n++] = (*p >= 0x20 && *p < 0x7f) ? (char)*p : '?';
	buf[n] = '\0';
	return json_string(buf);
}

void ns__respond_error(ns__conn *c, int code, const char *error, const char *message)
{
	ns__respond_json(c, code, json_pack("{s:s,s:o}", "error", error, "message", ns__safe_string(message)));
}

static const char *ns__error_name(int code)
{
	return code == 413 ? "too_large" : code == 431 ? "headers_too_large" : code == 414 ? "uri_too_long"
	       : code == 408 ? "timeout" : code == 503 ? "unavailable" : "bad_request";
}


/*
 * Parser callbacks.
 */

static void ns__copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void ns__finish_header(ns__conn *c)
{
	if (c->hname_len == 0)
		return;
	c->hname[c->hname_len] = '\0';
	c->hval[c->hval_len] = '\0';
	if (strcasecmp(c->hname, "authorization") == 0)
		ns__copy_str(c->auth, sizeof(c->auth), c->hval);
	else if (strcasecmp(c->hname, "cookie") == 0)
		ns__copy_str(c->cookie, sizeof(c->cookie), c->hval);
	else if (strcasecmp(c->hname, "content-type") == 0)
		ns__copy_str(c->ctype, sizeof(c->ctype), c->hval);
	else if (strcasecmp(c->hname, "host") == 0)
		ns__copy_str(c->host, sizeof(c->host), c->hval);
	else if (strcasecmp(c->hname, "origin") == 0)
		ns__copy_str(c->origin, sizeof(c->origin), c->hval);
	else if (strcasecmp(c->hname, "sec-fetch-site") == 0)
		ns__copy_str(c->fetch_site, sizeof(c->fetch_site), c->hval);
	c->hname_len = c->hval_len = 0;
	c->in_value = 0;
}

static int ns__on_begin(http_parser *p)
{
	ns__conn *c = p->data;
	c->in_request = 1;
	return 0;
}

static int ns__on_url(http_parser *p, const char *at, size_t len)
{
	ns__conn *c = p->data;
	if (c->url_len + len >= sizeof(c->url)) {
		c->error = 414;
		return 1;
	}
	memcpy(c->url + c->url_len, at, len);
	c->url_len += len;
	return 0;
}

static int ns__header_budget(ns__conn *c, size_t len)
{
	c->header_bytes += len;
	if (c->header_bytes > NS__MAX_HEADER_BYTES) {
		c->error = 431;
		return 1;
	}
	return 0;
}

static int ns__on_hfield(http_parser *p, const char *at, size_t len)
{
	ns__conn *c = p->data;
	if (ns__header_budget(c, len))
		return 1;
	if (c->in_value)
		ns__finish_header(c);
	size_t take = len < sizeof(c->hname) - 1 - c->hname_len ? len : sizeof(c->hname) - 1 - c->hname_len;
	memcpy(c->hname + c->hname_len, at, take);
	c->hname_len += take;
	return 0;
}

static int ns__on_hvalue(http_parser *p, const char *at, size_t len)
{
	ns__conn *c = p->data;
	if (ns__header_budget(c, len))
		return 1;
	c->in_value = 1;
	size_t take = len < sizeof(c->hval) - 1 - c->hval_len ? len : sizeof(c->hval) - 1 - c->hval_len;
	memcpy(c->hval + c->hval_len, at, take);
	c->hval_len += take;
	return 0;
}

static int ns__on_headers_complete(http_parser *p)
{
	ns__conn *c = p->data;
	ns__finish_header(c);
	if (p->content_length != ULLONG_MAX && p->content_length > NS__MAX_BODY) {
		c->error = 413;
		return 1;
	}
	return 0;
}

static int ns__on_body(http_parser *p, const char *at, size_t len)
{
	ns__conn *c = p->data;
	if (c->body_len + len > NS__MAX_BODY) {
		c->error = 413;
		return 1;
	}
	char *b = realloc(c->body, c->body_len + len + 1);
	if (b == NULL) {
		c->error = 503;
		return 1;
	}
	c->body = b;
	memcpy(c->body + c->body_len, at, len);
	c->body_len += len;
	c->body[c->body_len] = '\0';
	return 0;
}

static int ns__on_complete(http_parser *p)
{
	ns__conn *c = p->data;
	c->complete = 1;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings ns__parser_settings = {
	.on_message_begin = ns__on_begin,
	.on_url = ns__on_url,
	.on_header_field = ns__on_hfield,
	.on_header_value = ns__on_hvalue,
	.on_headers_complete = ns__on_headers_complete,
	.on_body = ns__on_body,
	.on_message_complete = ns__on_complete,
};

static void ns__reset_request(ns__conn *c)
{
	c->url_len = 0;
	c->hname_len = c->hval_len = 0;
	c->in_value = 0;
	c->auth[0] = c->cookie[0] = c->ctype[0] = c->host[0] = c->origin[0] = c->fetch_site[0] = '\0';
	c->header_bytes = 0;
	free(c->body);
	c->body = NULL;
	c->body_len = 0;
	c->complete = 0;
	c->in_request = 0;
	c->error = 0;
	memset(&c->who, 0, sizeof(c->who));
	ns__audit_clear(c);
}

static void ns__on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void ns__on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
	(void)hd;
	buf->base = malloc(suggested);
	buf->len = buf->base ? suggested : 0;
}

/* Read from the client only while no request is being answered (pipelined requests wait in the kernel). */
static void ns__reading(ns__conn *c, int on)
{
	if (on && !c->reading && c->closing == 0)
		c->reading = uv_read_start((uv_stream_t *)&c->tcp, ns__on_alloc, ns__on_read) == 0;
	else if (!on && c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = 0;
	}
}

/* A request is complete (or broken): answer it; nothing more is read until the answer is written. */
static void ns__answer(ns__conn *c)
{
	ns__reading(c, 0);
	uv_timer_stop(&c->timer);
	if (c->error)
		ns__respond_error(c, c->error, ns__error_name(c->error), ns__reason(c->error));
	else
		ns__dispatch(c);
}

/* Feed (plain) bytes to the parser; dispatch a completed request. */
void ns__feed(ns__conn *c, const char *data, size_t len)
{
	size_t n;

	if (c->busy || c->complete) {
		/* Bytes past a request read in the same chunk, while its response is pending: keep them, bounded. */
		if (c->stash_len + len > NS__MAX_STASH) {
			ns__conn_close(c);
			return;
		}
		char *s = realloc(c->stash, c->stash_len + len);
		if (s == NULL) {
			ns__conn_close(c);
			return;
		}
		memcpy(s + c->stash_len, data, len);
		c->stash = s;
		c->stash_len += len;
		return;
	}
	n = http_parser_execute(&c->parser, &ns__parser_settings, data, len);
	enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
	if (e == HPE_PAUSED && c->complete) {
		if (n < len) {
			char *s = malloc(len - n);
			if (s == NULL) {
				ns__conn_close(c);
				return;
			}
			memcpy(s, data + n, len - n);
			free(c->stash);
			c->stash = s;
			c->stash_len = len - n;
		}
		c->keep_alive = http_should_keep_alive(&c->parser);
		ns__answer(c);
		return;
	}
	if (e != HPE_OK) {
		c->keep_alive = 0;
		if (c->error == 0)
			c->error = 400;
		c->complete = 1;
		if (c->error == 400) {
			ns__reading(c, 0);
			uv_timer_stop(&c->timer);
			ns__respond_error(c, 400, "bad_request", http_errno_description(e));
		} else {
			ns__answer(c);
		}
	}
}

/* After a response: parse what was pipelined, or wait for more. */
static void ns__conn_continue(ns__conn *c)
{
	char *stash = c->stash;
	size_t len = c->stash_len;

	ns__reset_request(c);
	http_parser_pause(&c->parser, 0);
	c->stash = NULL;
	c->stash_len = 0;
	uv_timer_start(&c->timer, ns__on_timeout, NS__REQUEST_TIMEOUT_MS, 0);
	if (len)
		ns__feed(c, stash, len);
	free(stash);
	if (!c->busy && !c->complete)
		ns__reading(c, 1);
}

static void ns__on_handle_closed(uv_handle_t *hd)
{
	ns__conn *c = hd->data;
	if (--c->handles > 0)
		return;
	free(c->body);
	free(c->stash);
	ns__audit_clear(c);
	ns__tls_free(c);
	free(c);
}

/*
 * Close now, even with a write pending (libuv cancels it; its callback runs
 * before the handles close). @p reset: with a TCP reset, which drops what the
 * kernel still holds for a client that does not read (a plain close would
 * leave it queued behind a closed window, and the client none the wiser).
 */
static void ns__conn_abort(ns__conn *c, int reset)
{
	if (c->closing == 2)
		return;
	if (c->busy && !c->writing) {
		c->closing = 1; /* an append on the thread pool still holds the connection */
		return;
	}
	c->closing = 2;
	if (c->prev)
		c->prev->next = c->next;
	else
		c->h->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->h->nconns--;
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, ns__on_handle_closed);
	if (!reset || uv_tcp_close_reset(&c->tcp, ns__on_handle_closed) != 0)
		uv_close((uv_handle_t *)&c->tcp, ns__on_handle_closed);
}

/* Close a connection; while a write or append is pending, close when it completes. */
void ns__conn_close(ns__conn *c)
{
	if (c->closing == 2)
		return;
	if (c->busy) {
		c->closing = 1;
		return;
	}
	ns__conn_abort(c, 0);
}

static void ns__on_timeout(uv_timer_t *t)
{
	ns__conn *c = t->data;
	if (c->writing) {
		/* The client has not taken its response: it holds a slot for nothing. */
		ns__count_refusal(c->h, NS__CLOSE_RESPONSE_TIMEOUT, c->addr);
		ns__conn_abort(c, 1);
	} else if (c->busy) {
		return;
	} else if (c->in_request && !c->complete) {
		c->keep_alive = 0;
		c->complete = 1;
		ns__reading(c, 0);
		ns__respond_error(c, 408, "timeout", "the request did not arrive in time");
	} else {
		ns__conn_close(c);
	}
}

static void ns__on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	ns__conn *c = s->data;
	if (c->lingering) {
		if (nread < 0 || (c->lingered += (size_t)(nread > 0 ? nread : 0)) > NS__LINGER_BYTES)
			ns__conn_close(c);
		free(buf->base);
		return;
	}
	if (nread < 0) {
		c->keep_alive = 0;
		ns__conn_close(c);
	} else if (nread > 0 && c->closing == 0) {
		if (c->tls != NS__TLS_OFF)
			ns__tls_input(c, buf->base, (size_t)nread);
		else
			ns__feed(c, buf->base, (size_t)nread);
	}
	free(buf->base);
}

void ns__count_refusal(ns_http *h, enum ns__refusal why, uint32_t addr)
{
	static const char *const what[NS__NREFUSALS] = {
		"connection refused: every connection slot is taken ([http] max_connections)",
		"connection refused: too many connections from this address ([http] connections_per_client)",
		"503 on a reserved slot: neither /healthz nor authenticated ([http] reserved_connections)",
		"connection closed: the client did not take its response ([http] response_timeout)",
		"connection closed: a reserved slot idle before its first request, given to a newcomer",
	};
	uint64_t now = uv_now(h->loop);
	char ip[INET_ADDRSTRLEN] = "?", line[300];

	h->refused[why]++;
	if (h->opts.log == NULL || (h->logged_at[why] != 0 && now - h->logged_at[why] < NS__LOG_EVERY_MS))
		return;
	h->logged_at[why] = now ? now : 1;
	inet_ntop(AF_INET, &addr, ip, sizeof(ip));
	snprintf(line, sizeof(line), "http: %s, from %s; %llu so far (logged at most every %d s)", what[why], ip,
		 (unsigned long long)h->refused[why], NS__LOG_EVERY_MS / 1000);
	h->opts.log(h->opts.log_arg, line);
}

/* Open connections from @p addr. */
static unsigned ns__client_conns(ns_http *h, uint32_t addr)
{
	unsigned n = 0;
	for (ns__conn *c = h->conns; c; c = c->next)
		n += c->addr == addr;
	return n;
}

/* The oldest connection on a reserved slot that has not begun a request, or NULL. */
static ns__conn *ns__evictable(ns_http *h)
{
	ns__conn *found = NULL;
	for (ns__conn *c = h->conns; c; c = c->next) /* newest first */
		if (c->probation && !c->in_request && !c->busy && c->closing == 0)
			found = c;
	return found;
}

/* Refuse a connection just accepted: close it without a word (nothing is read or written). */
static void ns__refuse(ns__conn *c, enum ns__refusal why)
{
	ns__count_refusal(c->h, why, c->addr);
	c->closing = 2;
	uv_close((uv_handle_t *)&c->timer, ns__on_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, ns__on_handle_closed);
}

static void ns__on_connection(uv_stream_t *srv, int status)
{
	ns_http *h = srv->data;
	const ns_http_opts *o = &h->opts;
	struct sockaddr_in peer;
	int plen = sizeof(peer);
	ns__conn *c, *old;

	if (status < 0 || h->stopping)
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->h = h;
	uv_tcp_init(h->loop, &c->tcp);
	uv_timer_init(h->loop, &c->timer);
	c->handles = 2;
	c->tcp.data = c->timer.data = c;
	if (uv_accept(srv, (uv_stream_t *)&c->tcp) != 0) {
		ns__refuse(c, NS__REFUSE_FULL);
		return;
	}
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&peer, &plen) == 0 && peer.sin_family == AF_INET)
		c->addr = peer.sin_addr.s_addr;
	if (ns__client_conns(h, c->addr) >= o->conns_per_client) {
		ns__refuse(c, NS__REFUSE_PER_CLIENT);
		return;
	}
	if (h->nconns >= o->max_conns) {
		if ((old = ns__evictable(h)) == NULL) {
			ns__refuse(c, NS__REFUSE_FULL);
			return;
		}
		ns__count_refusal(h, NS__CLOSE_EVICTED, old->addr);
		ns__conn_abort(old, 0);
	}
	c->probation = h->nconns >= o->max_conns - o->reserved_conns;
	c->next = h->conns;
	if (h->conns)
		h->conns->prev = c;
	h->conns = c;
	h->nconns++;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	if (h->tls.ctx && ns__tls_accept(c) != 0) {
		ns__conn_close(c);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	/*
	 * A modest kernel send buffer, so a client that does not read finds its
	 * writes pending (and meets the response timeout) after some 100 KiB of
	 * responses rather than after the megabytes Linux would buffer for it.
	 */
	int sndbuf = NS__SNDBUF;
	uv_send_buffer_size((uv_handle_t *)&c->tcp, &sndbuf);
	uv_timer_start(&c->timer, ns__on_timeout, NS__REQUEST_TIMEOUT_MS, 0);
	ns__reading(c, 1);
}

int ns_http_start(ns_http **out, uv_loop_t *loop, ns_store *store, const char *listen, const char *token,
		  ns_http_status_fn status, void *arg, void (*appended)(void *arg), ns_diag *d)
{
	char host[128];
	const char *colon = strrchr(listen, ':');
	struct sockaddr_in addr;
	ns_http *h;
	int port;

	*out = NULL;
	if (colon == NULL || (size_t)(colon - listen) >= sizeof(host) || (port = atoi(colon + 1)) <= 0 || port > 65535)
		return ns_diag_set(d, NS_ECONFIG, "http", "[http] listen must be HOST:PORT, not '%s'", listen);
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	if (uv_ip4_addr(host, port, &addr) != 0)
		return ns_diag_set(d, NS_ECONFIG, "http", "[http] listen: '%s' is not an IPv4 address", host);
	/* No token: only signed-in people ([auth], given by ns_http_configure) get in. */
	if (token[0] != '\0' && strlen(token) < 16)
		return ns_diag_set(d, NS_ECONFIG, "http", "[http] token must be at least 16 characters");
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return NS_ENOMEM;
	h->loop = loop;
	h->store = store;
	h->status = status;
	h->status_arg = arg;
	h->appended = appended;
	ns_http_configure(h, NULL, NULL);
	snprintf(h->token, sizeof(h->token), "%s", token);
	uv_tcp_init(loop, &h->listener);
	h->listener.data = h;
	int rc = uv_tcp_bind(&h->listener, (const struct sockaddr *)&addr, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&h->listener, 128, ns__on_connection);
	if (rc != 0) {
		ns_diag_set(d, NS_ECONFIG, "http", "cannot listen on %s: %s", listen, uv_strerror(rc));
		uv_close((uv_handle_t *)&h->listener, NULL);
		h->stopping = 1;
		*out = h; /* freed by the caller after the loop closes the handle */
		return NS_ECONFIG;
	}
	*out = h;
	return 0;
}

int ns_http_configure(ns_http *h, const ns_http_opts *opts, ns_diag *d)
{
	ns_http_opts o = opts ? *opts : (ns_http_opts){ 0 };

	o.max_conns = o.max_conns ? o.max_conns : 512;
	o.reserved_conns = o.reserved_conns ? o.reserved_conns : o.max_conns / 8 ? o.max_conns / 8 : 1;
	o.conns_per_client = o.conns_per_client ? o.conns_per_client : 32;
	o.response_timeout = o.response_timeout > 0 ? o.response_timeout : 10;
	o.session_lifetime = o.session_lifetime > 0 ? o.session_lifetime : 12 * 3600;
	if (o.reserved_conns >= o.max_conns)
		return ns_diag_set(d, NS_ECONFIG, "http",
				   "[http] reserved_connections (%u) must be less than max_connections (%u)",
				   o.reserved_conns, o.max_conns);
	h->opts = o;
	return 0;
}

void ns_http_set_auth(ns_http *h, const ns_auth *a)
{
	h->opts.auth = a;
	memset(h->jwt_seen, 0, sizeof(h->jwt_seen)); /* a key taken out of the set stops its tokens now */
}

void ns_http_stop(ns_http *h)
{
	if (h == NULL || h->stopping)
		return;
	h->stopping = 1;
	h->opts.audit = NULL; /* the daemon closes the audit next: nothing more is submitted to it */
	uv_close((uv_handle_t *)&h->listener, NULL);
	for (ns__conn *c = h->conns, *next; c; c = next) {
		next = c->next;
		c->keep_alive = 0;
		ns__conn_abort(c, c->writing); /* a client not taking its response does not hold up the shutdown */
	}
}

void ns_http_free(ns_http *h)
{
	if (h) {
		free(h->sessions);
		ns__tls_server_free(h);
	}
	free(h);
}
