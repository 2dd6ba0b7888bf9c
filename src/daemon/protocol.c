/*
 * The replication protocol (docs/PROTOCOL.md, proto/replication.proto)
 * without sockets: decoding frames, the per-peer vectors, credit-based flow
 * control, pulls on gaps, equivocation proofs, and choosing what to send.
 *
 * Frames leave through n->ops.send and received batches go to the commit
 * pipeline through n->ops.enqueue (node_int.h), so that a unit test or the
 * fuzz harness can drive all of this with hand-made frames.
 */
#include "daemon/log.h"
#include "daemon/node_int.h"
#include "event/decode.h"

#include "replication.pb-c.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t ns__now(ns_node *n)
{
	return uv_now(n->loop);
}

static uint64_t ns__wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Vectors held per peer.
 */

uint64_t ns__vec_get(const ns_vv_entry *v, size_t n, const uint8_t *origin)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(v[i].origin, origin, NS_KEY_BYTES) == 0)
			return v[i].seq;
	return 0;
}

/* Set (or with @max_only, raise) the seq of @origin. */
int ns__vec_set(ns_vv_entry **v, size_t *n, const uint8_t *origin, uint64_t seq, int max_only)
{
	for (size_t i = 0; i < *n; i++)
		if (memcmp((*v)[i].origin, origin, NS_KEY_BYTES) == 0) {
			if (!max_only || seq > (*v)[i].seq)
				(*v)[i].seq = seq;
			return 0;
		}
	void *p = realloc(*v, (*n + 1) * sizeof(**v));
	if (p == NULL)
		return NS_ENOMEM;
	*v = p;
	memset(&(*v)[*n], 0, sizeof(**v));
	memcpy((*v)[*n].origin, origin, NS_KEY_BYTES);
	(*v)[*n].seq = seq;
	(*n)++;
	return 0;
}

uint64_t ns__behind(ns_node *n, ns__peer *p)
{
	uint64_t b = 0;
	for (size_t i = 0; i < n->nvv; i++) {
		uint64_t t = ns__vec_get(p->their, p->ntheir, n->vv[i].origin);
		uint64_t top = ns_vv_relay_seq(&n->vv[i]);
		if (top > t && !n->vv[i].quarantined)
			b += top - t;
	}
	return b;
}

ns__peer *ns__peer_new(ns_node *n, const char *site, int outbound)
{
	ns__peer *p;
	if (n->npeers == NS__PEER_MAX || (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->node = n;
	p->outbound = outbound;
	snprintf(p->site, sizeof(p->site), "%s", site);
	n->peers[n->npeers++] = p;
	return p;
}

void ns__batch_free(ns__batch *b)
{
	ns__arena_free(&b->arena);
	free(b->evs);
	free(b->res);
	free(b->covered);
	free(b);
}

/*
 * Sending.
 */

static int ns__send_msg(ns__peer *p, const Nomsync__Message *m)
{
	ns_node *n = p->node;
	size_t len = nomsync__message__get_packed_size(m);
	uint8_t stackbuf[1024], *buf = len <= sizeof(stackbuf) ? stackbuf : malloc(len);
	int rc;

	if (buf == NULL)
		return NS_ENOMEM;
	nomsync__message__pack(m, buf);
	rc = n->ops.send(n->ops_arg, p, buf, len);
	if (buf != stackbuf)
		free(buf);
	if (rc == 0)
		p->last_tx = ns__now(n);
	return rc;
}

void ns__send_hello(ns__peer *p)
{
	ns_node *n = p->node;
	Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
	Nomsync__Hello h = NOMSYNC__HELLO__INIT;
	Nomsync__VectorEntry *e = calloc(n->nvv ? n->nvv : 1, sizeof(*e));
	Nomsync__VectorEntry **ep = calloc(n->nvv ? n->nvv : 1, sizeof(*ep));

	if (e == NULL || ep == NULL) {
		free(e);
		free(ep);
		return;
	}
	for (size_t i = 0; i < n->nvv; i++) {
		nomsync__vector_entry__init(&e[i]);
		e[i].origin.data = n->vv[i].origin;
		e[i].origin.len = NS_KEY_BYTES;
		e[i].seq = n->vv[i].seq;
		ep[i] = &e[i];
	}
	h.version = NS__PROTO_VERSION;
	h.site = (char *)ns_store_identity(n->store)->site;
	h.vector = ep;
	h.n_vector = n->nvv;
	h.window = n->cfg.window;
	h.session = n->session;
	h.batch = n->cfg.batch;
	m.body_case = NOMSYNC__MESSAGE__BODY_HELLO;
	m.hello = &h;
	if (ns__send_msg(p, &m) == 0) {
		p->hello_sent = 1;
		p->last_hello_tx = ns__now(n);
	}
	free(e);
	free(ep);
}

static void ns__send_ping(ns__peer *p)
{
	Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
	Nomsync__Ping ping = NOMSYNC__PING__INIT;
	ping.sent_at_ms = (int64_t)ns__wall_ms();
	m.body_case = NOMSYNC__MESSAGE__BODY_PING;
	m.ping = &ping;
	ns__send_msg(p, &m);
}

static void ns__send_ack(ns__peer *p, uint64_t b)
{
	Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
	Nomsync__Ack a = NOMSYNC__ACK__INIT;
	a.batch = b;
	a.credit = 1;
	m.body_case = NOMSYNC__MESSAGE__BODY_ACK;
	m.ack = &a;
	ns__send_msg(p, &m);
}

static void ns__send_pull(ns__peer *p, const uint8_t *origin, uint64_t from)
{
	Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
	Nomsync__Pull pl = NOMSYNC__PULL__INIT;
	pl.origin.data = (uint8_t *)origin;
	pl.origin.len = NS_KEY_BYTES;
	pl.from = from;
	m.body_case = NOMSYNC__MESSAGE__BODY_PULL;
	m.pull = &pl;
	ns__send_msg(p, &m);
}

void ns__send_proofs(ns_node *n, ns__peer *only)
{
	ns_proof *pr;
	size_t np;

	if (ns_store_proofs(n->store, &pr, &np) != 0)
		return;
	for (size_t i = 0; i < np; i++) {
		Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
		Nomsync__Proof proof = NOMSYNC__PROOF__INIT;
		proof.a.data = pr[i].a;
		proof.a.len = pr[i].alen;
		proof.b.data = pr[i].b;
		proof.b.len = pr[i].blen;
		m.body_case = NOMSYNC__MESSAGE__BODY_PROOF;
		m.proof = &proof;
		for (size_t k = 0; k < n->npeers; k++)
			if ((only == NULL || n->peers[k] == only) && n->peers[k]->up)
				ns__send_msg(n->peers[k], &m);
	}
	ns_proofs_free(pr, np);
}

/* Collect events for one Events message. */
typedef struct ns__collect {
	ProtobufCBinaryData *items;
	size_t n, cap, bytes;
	uint64_t last_seq;
} ns__collect;

static int ns__collect_cb(void *arg, const ns_event *ev)
{
	ns__collect *c = arg;
	if (c->n == c->cap)
		return 1;
	uint8_t *copy = malloc(ev->raw_len);
	if (copy == NULL)
		return NS_ENOMEM;
	memcpy(copy, ev->raw, ev->raw_len);
	c->items[c->n].data = copy;
	c->items[c->n].len = ev->raw_len;
	c->n++;
	c->bytes += ev->raw_len;
	c->last_seq = ev->seq;
	return 0;
}

/* Send @p c as one Events message, spending a credit; 0, or -1 if it could not be sent. */
static int ns__send_events(ns__peer *p, const ns__collect *c)
{
	ns_node *n = p->node;
	Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
	Nomsync__Events e = NOMSYNC__EVENTS__INIT;

	e.events = c->items;
	e.n_events = c->n;
	e.batch = ++p->batch_no;
	m.body_case = NOMSYNC__MESSAGE__BODY_EVENTS;
	m.events = &e;
	if (ns__send_msg(p, &m) != 0)
		return -1;
	p->credit--;
	p->outstanding++;
	p->sent_events += c->n;
	p->sent_batches++;
	if (p->outstanding == 1)
		p->last_ack = ns__now(n);
	return 0;
}

void ns__pump(ns__peer *p)
{
	ns_node *n = p->node;

	if (!p->up || !p->hello_seen || n->stopping)
		return;
	while (p->credit > 0) {
		ns__collect c = { 0 };
		c.cap = n->cfg.batch;
		if (p->batch_max && p->batch_max < c.cap)
			c.cap = p->batch_max; /* what its Hello says it accepts */
		c.items = calloc(c.cap, sizeof(*c.items));
		if (c.items == NULL)
			return;
		for (size_t i = 0; i < n->nvv && c.n < c.cap && c.bytes < NS__BATCH_BYTES; i++) {
			uint64_t have = ns__vec_get(p->their, p->ntheir, n->vv[i].origin);
			if (n->vv[i].quarantined || ns_vv_relay_seq(&n->vv[i]) <= have)
				continue;
			size_t before = c.n;
			c.last_seq = have;
			int rc = ns_store_relay_range(n->store, n->vv[i].origin, have + 1, c.cap - c.n,
						     NS__BATCH_BYTES - c.bytes, ns__collect_cb, &c);
			if (rc < 0)
				ns_log(NS_LOG_ERROR, "reading events for %s: %s", p->site, ns_strerror(rc));
			if (c.n > before)
				ns__vec_set(&p->their, &p->ntheir, n->vv[i].origin, c.last_seq, 0);
			else if (rc == 0 && !n->sig_want_set && n->sigs_pending > 0) {
				/* Held back until their signatures are checked: check this origin first. */
				memcpy(n->sig_want, n->vv[i].origin, NS_KEY_BYTES);
				n->sig_want_set = 1;
			}
		}
		if (c.n == 0) {
			free(c.items);
			break;
		}
		if (ns__send_events(p, &c) != 0)
			p->credit = 0; /* not sent: forget the optimistic advance; the next Hello resets it */
		for (size_t i = 0; i < c.n; i++)
			free(c.items[i].data);
		free(c.items);
	}
	if (ns__behind(n, p) == 0)
		p->in_sync_at = ns__now(n);
}

void ns__pump_all(ns_node *n)
{
	for (size_t i = 0; i < n->npeers; i++)
		ns__pump(n->peers[i]);
}

/* Rejections in one batch, by reason, for its one log line. */
typedef struct ns__reasons {
	int code[4];
	size_t count[4], other;
} ns__reasons;

static void ns__reasons_add(ns__reasons *r, int code)
{
	for (int i = 0; i < 4; i++)
		if (r->count[i] == 0 || r->code[i] == code) {
			r->code[i] = code;
			r->count[i]++;
			return;
		}
	r->other++;
}

static void ns__reasons_text(const ns__reasons *r, char *buf, size_t len)
{
	size_t o = 0;
	for (int i = 0; i < 4 && r->count[i] && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%zu %s", i ? ", " : "", r->count[i], ns_strerror(r->code[i]));
	if (r->other && o < len)
		snprintf(buf + o, len - o, ", %zu for other reasons", r->other);
}

void ns__pull_payloads(ns_node *n)
{
	uint8_t (*ids)[NS_ID_BYTES];
	size_t nids;

	if (ns_store_incomplete(n->store, NS__PULL_MAX_IDS, &ids, &nids, NULL) != 0 || nids == 0)
		return;
	ProtobufCBinaryData *items = calloc(nids, sizeof(*items));
	if (items != NULL) {
		Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
		Nomsync__PayloadPull pp = NOMSYNC__PAYLOAD_PULL__INIT;
		for (size_t i = 0; i < nids; i++) {
			items[i].data = ids[i];
			items[i].len = NS_ID_BYTES;
		}
		pp.ids = items;
		pp.n_ids = nids;
		m.body_case = NOMSYNC__MESSAGE__BODY_PAYLOAD_PULL;
		m.payload_pull = &pp;
		for (size_t k = 0; k < n->npeers; k++)
			if (n->peers[k]->up && n->peers[k]->hello_seen)
				ns__send_msg(n->peers[k], &m);
		free(items);
	}
	free(ids);
}

void ns__pull_signatures(ns_node *n, int announce)
{
	ns_bad_sig *bad;
	size_t nbad;

	if (ns_store_bad_signatures(n->store, NS__SIGPULL_MAX, &bad, &nbad) != 0 || nbad == 0) {
		n->sigs_bad = 0;
		return;
	}
	n->sigs_bad = nbad;
	if (!announce && ns__now(n) - n->last_sig_pull < NS__SIGPULL_EVERY_MS) {
		free(bad);
		return;
	}
	n->last_sig_pull = ns__now(n);
	for (size_t i = 0; i < nbad; i++) {
		char oh[17];
		/* One Pull per origin: a peer resends from the first bad seq on. */
		if (i > 0 && memcmp(bad[i].origin, bad[i - 1].origin, NS_KEY_BYTES) == 0)
			continue;
		ns_hex(oh, bad[i].origin, 8);
		if (announce)
			ns_log(NS_LOG_WARN, "origin %s.. seq %llu: the copy %s sent has a bad signature (a relay altered "
				    "it; the origin is not at fault); asking peers for a valid copy",
		       oh, (unsigned long long)bad[i].seq, bad[i].sender[0] ? bad[i].sender : "a peer");
		for (size_t k = 0; k < n->npeers; k++)
			if (n->peers[k]->up && n->peers[k]->hello_seen)
				ns__send_pull(n->peers[k], bad[i].origin, bad[i].seq);
	}
	free(bad);
}

/*
 * A peer holds these events without their payload: send, in one Events
 * message if credit allows (the puller asks again later otherwise), the
 * copies held here with their payload.
 */
static void ns__on_payload_pull(ns__peer *p, const Nomsync__PayloadPull *pp)
{
	ns_node *n = p->node;
	ns__collect c = { 0 };

	if (!p->hello_seen || p->credit == 0 || n->stopping)
		return;
	c.cap = pp->n_ids < NS__PULL_MAX_IDS ? pp->n_ids : NS__PULL_MAX_IDS;
	if (c.cap == 0 || (c.items = calloc(c.cap, sizeof(*c.items))) == NULL)
		return;
	for (size_t i = 0; i < c.cap && c.bytes < NS__BATCH_BYTES; i++) {
		uint8_t *raw;
		size_t len;
		if (pp->ids[i].len != NS_ID_BYTES || ns_store_get_complete(n->store, pp->ids[i].data, &raw, &len) != 0)
			continue;
		c.items[c.n].data = raw;
		c.items[c.n].len = len;
		c.n++;
		c.bytes += len;
	}
	if (c.n > 0 && ns__send_events(p, &c) == 0)
		ns_log(NS_LOG_INFO, "sent %s the payloads of %zu events it lacked", p->site, c.n);
	for (size_t i = 0; i < c.n; i++)
		free(c.items[i].data);
	free(c.items);
}

int ns__batch_done(ns__batch *b, const int *res, int rc)
{
	ns_node *n = b->node;
	ns__peer *p = b->peer;
	const uint8_t *me = ns_store_identity(n->store)->pk;
	uint64_t applied = 0, held = 0, rejected = 0;
	ns__reasons why = { 0 };
	size_t first = b->n;
	int proofs = 0, stripped = 0;

	for (size_t i = 0; i < b->n; i++) {
		int r = res[i];
		/* Our own event, signature checked (b->res): it backs a claim to hold our seq this far. */
		if (b->evs[i] && b->res[i] == 0 && b->evs[i]->seq > p->backed_mine &&
		    memcmp(b->evs[i]->origin, me, NS_KEY_BYTES) == 0)
			p->backed_mine = b->evs[i]->seq;
		if (rc != 0)
			continue;
		if (r == NS_INGEST_APPLIED)
			applied++;
		if ((r == NS_INGEST_APPLIED || r == NS_INGEST_HELD) && b->evs[i] && b->evs[i]->payload_len == 0)
			stripped++;
		else if (r == NS_INGEST_HELD)
			held++;
		else if (r == NS_EEQUIV)
			proofs++;
		if (r < 0) {
			rejected++;
			ns__reasons_add(&why, r);
			if (first == b->n)
				first = i;
		}
		if (r == NS_INGEST_HELD && b->evs[i]) {
			/* A gap: ask this peer to resend the origin from what we hold. */
			uint64_t have = ns__vec_get(n->vv, n->nvv, b->evs[i]->origin);
			ns__send_pull(p, b->evs[i]->origin, have + 1);
		}
	}
	if (rejected) {
		/* One line per batch, however many of its events were refused. */
		const ns_event *ev = b->evs[first];
		char ok[17] = "?", reasons[256] = "";
		if (ev)
			ns_hex(ok, ev->origin, 8);
		ns__reasons_text(&why, reasons, sizeof(reasons));
		ns_log(NS_LOG_WARN, "rejected %llu of %zu events from %s (batch %llu): %s; first: origin %s.. %s seq %llu",
		       (unsigned long long)rejected, b->n, p->site, (unsigned long long)b->remote_batch, reasons, ok,
		       ev ? ev->site : "?", ev ? (unsigned long long)ev->seq : 0ull);
	}
	p->rejected += rejected;
	p->queued--;
	n->qbytes -= b->bytes;
	if (stripped) {
		/* Taken in without their payload: ask every peer for it now. */
		ns_log(NS_LOG_WARN, "%d events from %s came without their payload; pulling it from peers", stripped,
		       p->site);
		ns__pull_payloads(n);
	}
	if (rc == 0) {
		ns__send_ack(p, b->remote_batch);
		ns_log(NS_LOG_DEBUG, "batch %llu from %s: %zu events, %llu applied, %llu held, %llu rejected",
		       (unsigned long long)b->remote_batch, p->site, b->n, (unsigned long long)applied,
		       (unsigned long long)held, (unsigned long long)rejected);
	}
	return proofs;
}

/*
 * Receiving.
 */

int ns__ingest_full(const ns_node *n)
{
	return n->qlen >= NS__QUEUE_MAX_BATCHES || n->qbytes >= n->cfg.ingest_queue;
}

/*
 * Events messages a peer may have in our ingest queue (not yet acknowledged):
 * the window we granted, plus one window for the batches a sender resends
 * when it has had no Ack for its peer_timeout while the first ones still
 * wait here. An honest sender never has more.
 */
static size_t ns__credit_limit(const ns_node *n)
{
	return 2 * (size_t)n->cfg.window;
}

/*
 * @p p broke the flow-control rules: count it (store counter @p counter),
 * log one line, and ignore the peer for [node] peer_backoff seconds: its
 * frames are dropped unread, nothing is sent to it, and a peer we dial is
 * disconnected (transport.c) until the back-off ends.
 */
static void ns__penalise(ns__peer *p, const char *counter, const char *what)
{
	ns_node *n = p->node;

	n->frames_rejected++;
	ns_store_count(n->store, counter, 1);
	p->ignore_until = ns__now(n) + (uint64_t)(n->cfg.peer_backoff * 1000);
	p->ignored_frames = 0;
	p->up = 0;
	p->hello_seen = 0;
	p->hello_sent = 0;
	p->credit = 0;
	p->outstanding = 0;
	p->deferred = 0;
	ns_log(NS_LOG_WARN, "peer %s %s; ignoring it for %.0f s", p->site, what, n->cfg.peer_backoff);
}

/*
 * Memory a decoded batch holds: its event bytes twice (the raw copy and the
 * decoded payload), plus per event the structures.
 */
static size_t ns__batch_bytes(size_t nevents, size_t event_bytes)
{
	return sizeof(ns__batch) + nevents * (sizeof(ns_event *) + sizeof(int) + sizeof(ns_event) + 256) +
	       2 * event_bytes;
}

static void ns__on_events(ns__peer *p, const Nomsync__Events *e)
{
	ns_node *n = p->node;
	ns__batch *b;
	size_t bytes = 0, malformed = 0;
	ns_diag first;

	if (e->n_events == 0) {
		ns__send_ack(p, e->batch);
		return;
	}
	if (p->queued >= ns__credit_limit(n)) {
		/* Reached when the frame did not start with the Events field (ns__handle checks that first). */
		ns__penalise(p, "rejected.credit", "sent Events beyond its credit");
		return;
	}
	for (size_t i = 0; i < e->n_events; i++)
		bytes += e->events[i].len;
	if (e->n_events > n->cfg.batch || bytes > NS__BATCH_MAX_BYTES) {
		char what[160];
		snprintf(what, sizeof(what), "sent a batch of %zu events, %zu bytes (limit %u events, %d bytes)",
			 e->n_events, bytes, n->cfg.batch, NS__BATCH_MAX_BYTES);
		ns__penalise(p, "rejected.batch_size", what);
		return;
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL || (b->evs = calloc(e->n_events, sizeof(*b->evs))) == NULL ||
	    (b->res = calloc(e->n_events, sizeof(*b->res))) == NULL) {
		if (b) {
			free(b->evs);
			free(b);
		}
		return;
	}
	b->node = n;
	b->peer = p;
	b->remote_batch = e->batch;
	b->n = e->n_events;
	b->bytes = ns__batch_bytes(b->n, bytes);
	for (size_t i = 0; i < e->n_events; i++) {
		/*
		 * Into the batch's arena, from a copy of the bytes there (the
		 * message is freed before the batch): no malloc and free per event
		 * and per field of its payload.
		 */
		uint8_t *raw = ns__arena_alloc(&b->arena, e->events[i].len ? e->events[i].len : 1);
		ns_diag d;
		int rc = raw ? 0 : NS_ENOMEM;
		if (rc == 0 && e->events[i].len > 0)
			memcpy(raw, e->events[i].data, e->events[i].len);
		if (rc == 0)
			rc = ns__event_decode_in(&b->arena, raw, e->events[i].len, 0, &b->evs[i]);
		if (rc == NS_ENOMEM) {
			ns_diag_set(&d, rc, "event", "no memory to decode it");
		} else if (rc != 0) {
			ns_event *again = NULL; /* decoded again for the diagnosis, which the arena's decode omits */
			ns_event_decode(e->events[i].data, e->events[i].len, &again, &d);
			ns_event_free(again);
		}
		if (rc != 0) {
			b->res[i] = rc;
			n->events_rejected++;
			if (malformed++ == 0)
				first = d;
		} else {
			/* They hold it: never send it back to them. */
			ns__vec_set(&p->their, &p->ntheir, b->evs[i]->origin, b->evs[i]->seq, 1);
		}
	}
	if (malformed)
		ns_log(NS_LOG_WARN, "%zu malformed events from %s (batch %llu) dropped; first: %s: %s", malformed, p->site,
		       (unsigned long long)e->batch, first.field, first.msg);
	p->recv_events += b->n;
	p->queued++;
	n->qbytes += b->bytes;
	n->ops.enqueue(n->ops_arg, b);
}

/*
 * A new session of @p p (a Hello with a new session id, or the first since
 * it was down): forget what was in flight, grant it @p window, take its
 * vector as the truth (so send it everything it lacks), and send it our
 * Hello and the proofs we hold.
 */
static void ns__session_start(ns__peer *p, uint64_t session, unsigned window)
{
	ns_node *n = p->node;

	ns_log(NS_LOG_INFO, "peer %s: session started (%zu origins known to it)", p->site, p->ntold);
	p->remote_session = session;
	p->credit = window ? (window < n->cfg.window ? window : n->cfg.window) : 1;
	p->outstanding = 0;
	free(p->their);
	p->their = NULL;
	p->ntheir = 0;
	for (size_t i = 0; i < p->ntold; i++)
		ns__vec_set(&p->their, &p->ntheir, p->told[i].origin, p->told[i].seq, 0);
	p->hello_seen = 1;
	p->hello_sent = 0;
	p->session_at = ns__now(n);
	p->deferred = 0;
	ns__send_hello(p);
	ns__send_proofs(n, p);
	ns__pump(p);
}

static void ns__on_hello(ns__peer *p, const Nomsync__Hello *h)
{
	ns_node *n = p->node;
	int fresh = !p->hello_seen || h->session != p->remote_session;
	uint64_t t = ns__now(n);

	if (h->version != NS__PROTO_VERSION) {
		ns_log(NS_LOG_WARN, "peer %s speaks protocol version %u; ignoring", p->site, h->version);
		return;
	}
	if (h->n_vector > NS__MAX_ORIGINS) {
		/* A vector can only be as long as the origins a roster admits. */
		n->frames_rejected++;
		ns_log(NS_LOG_WARN, "peer %s sent a Hello with %zu origins (limit %d); dropped", p->site, h->n_vector,
		       NS__MAX_ORIGINS);
		return;
	}
	free(p->told);
	p->told = NULL;
	p->ntold = 0;
	for (size_t i = 0; i < h->n_vector; i++)
		if (h->vector[i]->origin.len == NS_KEY_BYTES)
			ns__vec_set(&p->told, &p->ntold, h->vector[i]->origin.data, h->vector[i]->seq, 0);
	p->batch_max = h->batch < NS__BATCH_MAX_EVENTS ? h->batch : NS__BATCH_MAX_EVENTS;
	if (fresh) {
		/*
		 * Each new session costs a resend of everything the peer says it
		 * lacks: at most one per resend_interval. A later one waits
		 * (ns__peer_tick starts it), and is counted once per session id.
		 */
		if (p->session_at && t - p->session_at < (uint64_t)(n->cfg.resend_interval * 1000)) {
			if (!p->deferred || p->deferred_session != h->session) {
				/* Counted in the store by ns__peer_tick: a flood of Hellos must not become a flood of writes. */
				if (p->hellos_refused++ == 0 || !p->deferred)
					ns_log(NS_LOG_WARN,
					       "peer %s: a new session within %.0f s of the last; resend deferred "
					       "(%llu such Hellos refused)",
					       p->site, n->cfg.resend_interval, (unsigned long long)p->hellos_refused);
			}
			p->deferred = 1;
			p->deferred_session = h->session;
			p->deferred_window = h->window;
			return;
		}
		ns__session_start(p, h->session, h->window);
		return;
	}
	for (size_t i = 0; i < p->ntold; i++)
		ns__vec_set(&p->their, &p->ntheir, p->told[i].origin, p->told[i].seq, p->outstanding);
	if (p->outstanding == 0) {
		/* Nothing in flight: what they told us is exactly what they hold. */
		for (size_t i = 0; i < p->ntheir; i++)
			p->their[i].seq = ns__vec_get(p->told, p->ntold, p->their[i].origin);
	}
	if (!p->hello_sent)
		ns__send_hello(p);
	ns__pump(p);
}

static void ns__on_proof(ns__peer *p, const Nomsync__Proof *pr)
{
	ns_node *n = p->node;
	int rc = ns_store_add_proof(n->store, pr->a.data, pr->a.len, pr->b.data, pr->b.len);

	if (rc == 0) {
		ns_log(NS_LOG_WARN, "equivocation proof from %s accepted: origin quarantined; relaying", p->site);
		n->ops.refresh(n->ops_arg);
		ns__send_proofs(n, NULL);
	} else if (rc == NS_EINVAL) {
		n->frames_rejected++;
		ns_log(NS_LOG_WARN, "invalid equivocation proof from %s ignored", p->site);
	}
}

void ns__handle(ns__peer *p, const uint8_t *data, size_t len)
{
	ns_node *n = p->node;
	Nomsync__Message *m;

	if (p->ignore_until) {
		if (ns__now(n) < p->ignore_until) {
			p->ignored_frames++;
			return;
		}
		ns_log(NS_LOG_INFO, "peer %s: back-off over (%llu frames dropped meanwhile)", p->site,
		       (unsigned long long)p->ignored_frames);
		p->ignore_until = 0;
	}
	/* An Events message (field 2, length-delimited) beyond the credit: refused before it is decoded. */
	if (len > 0 && data[0] == 0x12 && p->queued >= ns__credit_limit(n)) {
		char what[128];
		snprintf(what, sizeof(what), "sent Events beyond its credit (%zu unacknowledged, window %u)", p->queued,
			 n->cfg.window);
		ns__penalise(p, "rejected.credit", what);
		return;
	}
	p->last_rx = ns__now(n);
	if (!p->up) {
		p->up = 1;
		p->up_since = p->last_rx;
		ns_log(NS_LOG_INFO, "peer %s is up%s%s", p->site, p->outbound ? " at " : " (inbound)",
		       p->outbound ? p->endpoint : "");
	}
	m = nomsync__message__unpack(NULL, len, data);
	if (m == NULL) {
		n->frames_rejected++;
		ns_store_count(n->store, "rejected.frame", 1);
		ns_log(NS_LOG_WARN, "malformed frame of %zu bytes from %s dropped", len, p->site);
		return;
	}
	if (!p->hello_seen && m->body_case != NOMSYNC__MESSAGE__BODY_HELLO &&
	    ns__now(n) - p->last_hello_tx > 250)
		ns__send_hello(p);
	switch (m->body_case) {
	case NOMSYNC__MESSAGE__BODY_HELLO:
		ns__on_hello(p, m->hello);
		break;
	case NOMSYNC__MESSAGE__BODY_EVENTS:
		ns__on_events(p, m->events);
		break;
	case NOMSYNC__MESSAGE__BODY_ACK:
		if (p->outstanding)
			p->outstanding--;
		if (p->credit < n->cfg.window)
			p->credit += m->ack->credit ? 1 : 0;
		p->last_ack = ns__now(n);
		ns__pump(p);
		break;
	case NOMSYNC__MESSAGE__BODY_PULL:
		if (m->pull->origin.len == NS_KEY_BYTES && m->pull->from >= 1) {
			uint64_t cur = ns__vec_get(p->their, p->ntheir, m->pull->origin.data);
			if (m->pull->from - 1 < cur)
				ns__vec_set(&p->their, &p->ntheir, m->pull->origin.data, m->pull->from - 1, 0);
			ns__pump(p);
		}
		break;
	case NOMSYNC__MESSAGE__BODY_PROOF:
		ns__on_proof(p, m->proof);
		break;
	case NOMSYNC__MESSAGE__BODY_PING:
		break;
	case NOMSYNC__MESSAGE__BODY_PAYLOAD_PULL:
		ns__on_payload_pull(p, m->payload_pull);
		break;
	default:
		n->frames_rejected++;
		ns_log(NS_LOG_WARN, "empty or unknown message from %s dropped", p->site);
	}
	nomsync__message__free_unpacked(m, NULL);
}

/*
 * Timers.
 */

void ns__peer_tick(ns__peer *p, uint64_t t)
{
	ns_node *n = p->node;

	if (p->hellos_refused > p->hellos_counted && t - p->counted_at >= 1000) {
		ns_store_count(n->store, "rejected.hello", p->hellos_refused - p->hellos_counted);
		p->hellos_counted = p->hellos_refused;
		p->counted_at = t;
	}
	if (p->ignore_until)
		return; /* ns__handle ends the back-off at its next frame */
	if (p->deferred && !p->up)
		p->deferred = 0; /* it went away; its next Hello starts a session */
	if (p->deferred && t - p->session_at >= (uint64_t)(n->cfg.resend_interval * 1000))
		ns__session_start(p, p->deferred_session, p->deferred_window);
	if (p->up && t - p->last_rx > (uint64_t)(n->cfg.peer_timeout * 1000)) {
		ns_log(NS_LOG_WARN, "peer %s: no contact for %.0f s; marking down", p->site, n->cfg.peer_timeout);
		p->up = 0;
		p->hello_seen = 0;
	}
	if (p->outstanding && t - p->last_ack > (uint64_t)(n->cfg.peer_timeout * 1000)) {
		/* Batches unacknowledged for too long: assume lost and resend from what they told us. */
		ns_log(NS_LOG_INFO, "peer %s: %u batches unacknowledged; resending", p->site, p->outstanding);
		p->outstanding = 0;
		p->credit = n->cfg.window;
		free(p->their);
		p->their = NULL;
		p->ntheir = 0;
		for (size_t k = 0; k < p->ntold; k++)
			ns__vec_set(&p->their, &p->ntheir, p->told[k].origin, p->told[k].seq, 0);
		p->last_ack = t;
	}
	if (p->outbound && !p->hello_seen && t - p->last_hello_tx > 250)
		ns__send_hello(p);
}

void ns__proto_timers(ns_node *n, uint64_t t)
{
	if (t - n->last_ae >= (uint64_t)(n->cfg.anti_entropy * 1000)) {
		n->last_ae = t;
		for (size_t i = 0; i < n->npeers; i++)
			if ((n->peers[i]->up || n->peers[i]->outbound) && !n->peers[i]->ignore_until)
				ns__send_hello(n->peers[i]);
		ns__pull_payloads(n);
	}
	if (n->sigs_bad > 0)
		ns__pull_signatures(n, 0); /* at most every NS__SIGPULL_EVERY_MS */
	if (t - n->last_hb >= (uint64_t)(n->cfg.heartbeat * 1000)) {
		n->last_hb = t;
		for (size_t i = 0; i < n->npeers; i++)
			if (n->peers[i]->hello_seen)
				ns__send_ping(n->peers[i]);
	}
}

uint64_t ns__own_claim(ns__peer *p, uint64_t mine, uint64_t t)
{
	ns_node *n = p->node;
	const uint8_t *me = ns_store_identity(n->store)->pk;
	uint64_t claim = ns__vec_get(p->told, p->ntold, me);

	if (claim <= mine) {
		p->claim_since = 0;
		return claim;
	}
	if (p->backed_mine >= claim)
		return claim; /* it sent our signed event at that seq: the events exist */
	if (p->claim_ignored)
		return mine;
	if (p->claim_since == 0 || mine > p->claim_base) {
		/* A new claim, or events arrived: (re)start the wait. */
		p->claim_since = t;
		p->claim_base = mine;
		p->claim_pull_at = 0;
	}
	if (t - p->claim_since > (uint64_t)(n->cfg.claim_timeout * 1000)) {
		p->claim_ignored = 1;
		ns_store_count(n->store, "rejected.claim", 1);
		ns_log(NS_LOG_WARN,
		       "peer %s claims to hold this site's own events up to seq %llu but sent none to back it "
		       "(ours stayed at %llu for %.0f s); claim ignored",
		       p->site, (unsigned long long)claim, (unsigned long long)mine, n->cfg.claim_timeout);
		return mine;
	}
	if (p->claim_pull_at == 0 || t - p->claim_pull_at >= 2000) {
		/* Ask for them: an honest peer sends them at once. */
		p->claim_pull_at = t;
		ns__send_pull(p, me, mine + 1);
	}
	return claim;
}

void ns__peer_status(ns_node *n, ns__peer *p, uint64_t t, ns_peer_status *out)
{
	uint64_t b = ns__behind(n, p);

	memset(out, 0, sizeof(*out));
	snprintf(out->site, sizeof(out->site), "%s", p->site);
	out->outbound = p->outbound;
	snprintf(out->endpoint, sizeof(out->endpoint), "%s", p->endpoint);
	out->state = !p->up ? NS_PEER_DOWN : !p->hello_seen ? NS_PEER_HANDSHAKE : b ? NS_PEER_SYNCING : NS_PEER_LIVE;
	out->last_contact_ms_ago = p->last_rx ? (int64_t)(t - p->last_rx) : -1;
	out->behind_events = b;
	out->sent_events = p->sent_events;
	out->received_events = p->recv_events;
	out->rejected_events = p->rejected;
	out->credit = p->credit;
	out->queued_batches = p->queued;
	out->behind_seconds = b && p->in_sync_at ? (double)(t - p->in_sync_at) / 1000.0 : 0.0;
}
