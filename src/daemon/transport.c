/*
 * The node's ZeroMQ transport: a CURVE ROUTER socket that peers dial, with
 * a ZAP handler (RFC 27) that admits only roster members and names each
 * connection by its site, and a CURVE DEALER per configured peer.
 *
 * The sockets are watched through ZMQ_FD with uv_poll. That descriptor is
 * edge-triggered and only says "look at ZMQ_EVENTS": every callback drains
 * until ZMQ_EVENTS has no POLLIN, and the tick timer drains again in case a
 * send changed the state without waking the descriptor. Each frame received
 * goes to the protocol (ns__handle).
 *
 * While the ingest queue is full (batches or bytes, ns__ingest_full) the
 * sockets are not read and not watched: further frames wait in ZeroMQ (at
 * most ZMQ_RCVHWM per connection, about the window) and in TCP buffers, and
 * the senders slow down, until commits drain the queue.
 */
#include "daemon/log.h"
#include "daemon/node_int.h"

#include <zmq.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

int ns__transport_send(void *arg, ns__peer *p, const uint8_t *frame, size_t len)
{
	int rc = 0;

	(void)arg;
	if (!p->outbound && zmq_send(p->sock, p->rid, p->rid_len, ZMQ_DONTWAIT | ZMQ_SNDMORE) < 0)
		rc = -1;
	if (rc == 0 && zmq_send(p->sock, frame, len, ZMQ_DONTWAIT) < 0)
		rc = -1;
	if (rc != 0) {
		if (errno == EHOSTUNREACH && p->up) {
			ns_log(NS_LOG_WARN, "peer %s unreachable; marking down", p->site);
			p->up = 0;
		}
		ns_log(NS_LOG_DEBUG, "send to %s failed: %s", p->site, zmq_strerror(errno));
		return NS_EAGAIN;
	}
	return 0;
}

/*
 * Stop watching the replication sockets: the descriptor of a socket left
 * unread stays readable, and watching it would spin the loop.
 */
static void ns__pause(ns_node *n)
{
	if (n->paused || n->stopping || n->router_poll.loop == NULL) /* not watched (a test harness) */
		return;
	n->paused = 1;
	uv_poll_stop(&n->router_poll);
	for (size_t i = 0; i < n->npeers; i++)
		if (n->peers[i]->polling)
			uv_poll_stop(&n->peers[i]->poll);
	ns_log(NS_LOG_DEBUG, "ingest queue full (%zu batches, %zu bytes): not reading the sockets", n->qlen,
	       n->qbytes);
}

static void ns__on_router(uv_poll_t *h, int status, int events);
static void ns__on_dealer(uv_poll_t *h, int status, int events);

static void ns__resume(ns_node *n)
{
	n->paused = 0;
	uv_poll_start(&n->router_poll, UV_READABLE, ns__on_router);
	for (size_t i = 0; i < n->npeers; i++)
		if (n->peers[i]->polling)
			uv_poll_start(&n->peers[i]->poll, UV_READABLE, ns__on_dealer);
}

/* Receive everything waiting on @sock. With the queue full, leave the rest in ZeroMQ. */
static void ns__drain(ns_node *n, void *sock, ns__peer *fixed)
{
	for (;;) {
		int events = 0;
		size_t sz = sizeof(events);
		zmq_msg_t id, msg;

		if (n->stopping)
			return;
		if (ns__ingest_full(n)) {
			ns__pause(n);
			return;
		}
		if (zmq_getsockopt(sock, ZMQ_EVENTS, &events, &sz) != 0 || !(events & ZMQ_POLLIN))
			return;
		if (fixed) {
			zmq_msg_init(&msg);
			if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&msg);
				return;
			}
			if (zmq_msg_more(&msg)) {
				/* Extra frames are a protocol violation: drop the whole message. */
				n->frames_rejected++;
				do {
					zmq_msg_close(&msg);
					zmq_msg_init(&msg);
				} while (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&msg));
			} else {
				ns__handle(fixed, zmq_msg_data(&msg), zmq_msg_size(&msg));
			}
			zmq_msg_close(&msg);
			continue;
		}
		zmq_msg_init(&id);
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&id, sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&id);
			zmq_msg_close(&msg);
			return;
		}
		int ok = zmq_msg_more(&id) && zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) >= 0 && !zmq_msg_more(&msg);
		while (zmq_msg_more(&msg) || (ok == 0 && zmq_msg_more(&id))) {
			/* Drain and drop the rest of a malformed multipart message. */
			zmq_msg_close(&msg);
			zmq_msg_init(&msg);
			if (zmq_msg_recv(&msg, sock, ZMQ_DONTWAIT) < 0)
				break;
			ok = 0;
			if (!zmq_msg_more(&msg))
				break;
		}
		const char *site = ok ? zmq_msg_gets(&msg, "User-Id") : NULL;
		if (!ok || site == NULL || zmq_msg_size(&id) > sizeof(((ns__peer *)0)->rid)) {
			n->frames_rejected++;
			ns_log(NS_LOG_WARN, "malformed inbound message dropped");
		} else {
			ns__peer *p = NULL;
			for (size_t i = 0; i < n->npeers; i++)
				if (!n->peers[i]->outbound && strcmp(n->peers[i]->site, site) == 0)
					p = n->peers[i];
			if (p == NULL && (p = ns__peer_new(n, site, 0)) != NULL)
				p->sock = n->router;
			if (p != NULL) {
				if (p->rid_len != zmq_msg_size(&id) ||
				    memcmp(p->rid, zmq_msg_data(&id), p->rid_len) != 0) {
					/* A new connection from this site: a new session follows. */
					p->rid_len = zmq_msg_size(&id);
					memcpy(p->rid, zmq_msg_data(&id), p->rid_len);
					p->hello_seen = 0;
					p->hello_sent = 0;
				}
				ns__handle(p, zmq_msg_data(&msg), zmq_msg_size(&msg));
			}
		}
		zmq_msg_close(&id);
		zmq_msg_close(&msg);
	}
}

/* ZAP (RFC 27): admit a CURVE client only if its key is a roster member's. */
static void ns__drain_zap(ns_node *n)
{
	for (;;) {
		int events = 0;
		size_t sz = sizeof(events);
		zmq_msg_t f[8];
		int nf = 0, more = 1;

		if (zmq_getsockopt(n->zap, ZMQ_EVENTS, &events, &sz) != 0 || !(events & ZMQ_POLLIN))
			return;
		while (more && nf < 8) {
			zmq_msg_init(&f[nf]);
			if (zmq_msg_recv(&f[nf], n->zap, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&f[nf]);
				break;
			}
			more = zmq_msg_more(&f[nf]);
			nf++;
		}
		const char *status = "400", *text = "not in roster", *user = "";
		char addr[64] = "?";
		if (nf >= 7) {
			size_t al = zmq_msg_size(&f[3]) < sizeof(addr) - 1 ? zmq_msg_size(&f[3]) : sizeof(addr) - 1;
			memcpy(addr, zmq_msg_data(&f[3]), al);
			addr[al] = '\0';
			if (zmq_msg_size(&f[5]) == 5 && memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 &&
			    zmq_msg_size(&f[6]) == 32) {
				const ns_roster_entry *e = ns_roster_by_curve(&n->roster, zmq_msg_data(&f[6]));
				if (e != NULL) {
					status = "200";
					text = "OK";
					user = e->site;
				}
			}
		}
		if (strcmp(status, "200") != 0) {
			n->zap_refused++;
			ns_log(NS_LOG_WARN, "refused connection from %s: key not in the roster", addr);
		}
		if (nf >= 2) {
			zmq_send(n->zap, "1.0", 3, ZMQ_SNDMORE);
			zmq_send(n->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
			zmq_send(n->zap, status, 3, ZMQ_SNDMORE);
			zmq_send(n->zap, text, strlen(text), ZMQ_SNDMORE);
			zmq_send(n->zap, user, strlen(user), ZMQ_SNDMORE);
			zmq_send(n->zap, "", 0, 0);
		}
		for (int i = 0; i < nf; i++)
			zmq_msg_close(&f[i]);
		if (nf < 2)
			return;
	}
}

void ns__drain_all(ns_node *n)
{
	if (n->stopping)
		return;
	if (n->paused && !ns__ingest_full(n))
		ns__resume(n);
	ns__drain_zap(n);
	ns__drain(n, n->router, NULL);
	for (size_t i = 0; i < n->npeers; i++)
		if (n->peers[i]->outbound)
			ns__drain(n, n->peers[i]->sock, n->peers[i]);
}

static void ns__on_router(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	ns__drain((ns_node *)h->data, ((ns_node *)h->data)->router, NULL);
}

static void ns__on_zap(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	ns__drain_zap(h->data);
}

static void ns__on_dealer(uv_poll_t *h, int status, int events)
{
	ns__peer *p = h->data;
	(void)status;
	(void)events;
	ns__drain(p->node, p->sock, p);
}

void ns__transport_redial(ns__peer *p, uint64_t t)
{
	if (!p->outbound)
		return;
	if (p->ignore_until > t) {
		/* A back-off (protocol.c): hang up until it ends. */
		if (!p->severed && zmq_disconnect(p->sock, p->endpoint) == 0)
			p->severed = 1;
		return;
	}
	if (p->severed) {
		p->severed = 0;
		p->ignore_until = 0;
		p->dialled_at = t;
		if (zmq_connect(p->sock, p->endpoint) != 0)
			ns_log(NS_LOG_WARN, "cannot re-dial %s at %s: %s", p->site, p->endpoint, zmq_strerror(errno));
		else
			ns_log(NS_LOG_INFO, "back-off of %s over; dialling %s again", p->site, p->endpoint);
		return;
	}
	if (!p->hello_seen && t - p->dialled_at > 5000) {
		/*
		 * No handshake for 5 s: dial again. After a refused
		 * handshake (e.g. our new key not yet in the peer's
		 * roster) libzmq may not retry on its own.
		 */
		p->dialled_at = t;
		zmq_disconnect(p->sock, p->endpoint);
		if (zmq_connect(p->sock, p->endpoint) != 0)
			ns_log(NS_LOG_WARN, "cannot re-dial %s at %s: %s", p->site, p->endpoint, zmq_strerror(errno));
		else
			ns_log(NS_LOG_INFO, "no handshake with %s yet; dialling %s again", p->site, p->endpoint);
	}
}

/*
 * Receive at most about a window of frames per connection ahead of the
 * node (an honest peer has at most a window of Events in flight, plus
 * small messages between them), so that what waits in ZeroMQ is bounded by
 * window x the largest frame. Send up to a window of Events plus the small
 * messages around them.
 */
static int ns__sock_opts(void *s, int linger, unsigned window)
{
	int rcvhwm = (int)window + 16, sndhwm = (int)window + 1000, maxmsg_ok;
	int64_t maxmsg = NS__MAX_FRAME;
	int ivl = 1000, timeout = 5000, rivl = 200, rmax = 2000;

	maxmsg_ok = zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
	if (maxmsg_ok != 0 || zmq_setsockopt(s, ZMQ_SNDHWM, &sndhwm, sizeof(sndhwm)) != 0 ||
	    zmq_setsockopt(s, ZMQ_RCVHWM, &rcvhwm, sizeof(rcvhwm)) != 0 ||
	    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &ivl, sizeof(ivl)) != 0 ||
	    zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof(timeout)) != 0 ||
	    zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &rivl, sizeof(rivl)) != 0 ||
	    zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &rmax, sizeof(rmax)) != 0)
		return -1;
	return 0;
}

int ns__transport_open(ns_node *n, ns_diag *d)
{
	const ns_config *cfg = &n->cfg;
	int one = 1;

	if ((n->zctx = zmq_ctx_new()) == NULL)
		return ns_diag_set(d, NS_EIO, "zmq", "cannot create a ZeroMQ context");
	/* The ZAP handler must be bound before any CURVE server socket. */
	n->zap = zmq_socket(n->zctx, ZMQ_REP);
	if (n->zap == NULL || zmq_bind(n->zap, "inproc://zeromq.zap.01") != 0)
		return ns_diag_set(d, NS_EIO, "zmq", "cannot bind the ZAP handler: %s", zmq_strerror(errno));
	n->router = zmq_socket(n->zctx, ZMQ_ROUTER);
	if (n->router == NULL || ns__sock_opts(n->router, 500, cfg->window) != 0 ||
	    zmq_setsockopt(n->router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(n->router, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(n->router, ZMQ_CURVE_SECRETKEY, n->curve_sk, 32) != 0 ||
	    zmq_setsockopt(n->router, ZMQ_ZAP_DOMAIN, "nomsync", 7) != 0)
		return ns_diag_set(d, NS_EIO, "zmq", "cannot configure the listening socket: %s", zmq_strerror(errno));
	if (zmq_bind(n->router, cfg->listen) != 0)
		return ns_diag_set(d, NS_ECONFIG, "listen", "cannot listen on %s: %s", cfg->listen, zmq_strerror(errno));
	for (size_t i = 0; i < cfg->npeers; i++) {
		const ns_roster_entry *e = ns_roster_by_site(&n->roster, cfg->peers[i].site);
		ns__peer *p;
		if (e == NULL)
			return ns_diag_set(d, NS_ECONFIG, "peers", "peer %s is not in the roster", cfg->peers[i].site);
		if ((p = ns__peer_new(n, e->site, 1)) == NULL)
			return NS_ENOMEM;
		snprintf(p->endpoint, sizeof(p->endpoint), "%s", cfg->peers[i].endpoint);
		p->sock = zmq_socket(n->zctx, ZMQ_DEALER);
		if (p->sock == NULL || ns__sock_opts(p->sock, 500, cfg->window) != 0 ||
		    zmq_setsockopt(p->sock, ZMQ_IMMEDIATE, &one, sizeof(one)) != 0 ||
		    zmq_setsockopt(p->sock, ZMQ_CURVE_SERVERKEY, e->curve_pk, 32) != 0 ||
		    zmq_setsockopt(p->sock, ZMQ_CURVE_PUBLICKEY, n->curve_pk, 32) != 0 ||
		    zmq_setsockopt(p->sock, ZMQ_CURVE_SECRETKEY, n->curve_sk, 32) != 0 ||
		    zmq_connect(p->sock, p->endpoint) != 0)
			return ns_diag_set(d, NS_ECONFIG, "peers", "cannot connect to %s at %s: %s", p->site,
					   p->endpoint, zmq_strerror(errno));
	}
	return 0;
}

static int ns__poll_socket(ns_node *n, void *sock, uv_poll_t *h, uv_poll_cb cb, void *data)
{
	int fd;
	size_t sz = sizeof(fd);
	if (zmq_getsockopt(sock, ZMQ_FD, &fd, &sz) != 0 || uv_poll_init(n->loop, h, fd) != 0)
		return -1;
	h->data = data;
	return uv_poll_start(h, UV_READABLE, cb);
}

int ns__transport_watch(ns_node *n, ns_diag *d)
{
	if (ns__poll_socket(n, n->zap, &n->zap_poll, ns__on_zap, n) != 0 ||
	    ns__poll_socket(n, n->router, &n->router_poll, ns__on_router, n) != 0)
		return ns_diag_set(d, NS_EIO, "uv", "cannot watch the ZeroMQ sockets");
	for (size_t i = 0; i < n->npeers; i++) {
		if (ns__poll_socket(n, n->peers[i]->sock, &n->peers[i]->poll, ns__on_dealer, n->peers[i]) != 0)
			return ns_diag_set(d, NS_EIO, "uv", "cannot watch the ZeroMQ sockets");
		n->peers[i]->polling = 1;
	}
	return 0;
}

void ns__transport_unwatch(ns_node *n)
{
	uv_close((uv_handle_t *)&n->router_poll, NULL);
	uv_close((uv_handle_t *)&n->zap_poll, NULL);
	for (size_t i = 0; i < n->npeers; i++)
		if (n->peers[i]->polling) {
			uv_close((uv_handle_t *)&n->peers[i]->poll, NULL);
			n->peers[i]->polling = 0;
		}
}

void ns__transport_close(ns_node *n)
{
	for (size_t i = 0; i < n->npeers; i++)
		if (n->peers[i]->outbound && n->peers[i]->sock)
			zmq_close(n->peers[i]->sock);
	if (n->router)
		zmq_close(n->router);
	if (n->zap)
		zmq_close(n->zap);
	if (n->zctx)
		zmq_ctx_term(n->zctx);
}
