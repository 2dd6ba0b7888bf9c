/*
 * The replication node (see node.h and docs/PROTOCOL.md).
 *
 * Threads: everything here runs on the libuv loop thread except the two
 * kinds of uv_work jobs: signature verification of a received batch (many
 * at once, on the thread pool) and the ingest commit (one at a time). The
 * ingest queue is FIFO: batches commit in arrival order, consecutive
 * verified batches are merged into one transaction (group commit).
 *
 * ZeroMQ sockets are watched through ZMQ_FD with uv_poll. That descriptor is
 * edge-triggered and only says "look at ZMQ_EVENTS": every callback drains
 * until ZMQ_EVENTS has no POLLIN, and the tick timer drains again in case a
 * send changed the state without waking the descriptor.
 */
#include "daemon/node.h"
#include "daemon/log.h"
#include "http/http.h"

#include <nomsync/roster.h>
#include <nomsync/store.h>

#include "replication.pb-c.h"

#include <jansson.h>
#include <sodium.h>
#include <zmq.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NS_PEER_MAX 128
#define NS_PROTO_VERSION 1
#define NS_MAX_FRAME (16 * 1024 * 1024)
#define NS_BATCH_BYTES (4 * 1024 * 1024)
#define NS_QUEUE_MAX_BATCHES 64    /* received batches held in memory, all peers */
#define NS_COMMIT_MAX_EVENTS 2048  /* events merged into one ingest transaction */
#define NS_DEFER_MIN_EVENTS 512    /* a commit this large is catch-up: defer its folds */
#define NS_FOLD_STEP 96            /* persons per deferred-fold transaction (~15 ms) */
#define NS_INDEX_STEP 65536        /* deferred id index entries per step (~2.3 MB held) */
#define NS_MAX_ORIGINS 4096 /* origins in one Hello: far above any roster */
#define NS_TICK_MS 10 /* also how soon an append by another process is pushed */

typedef struct peer peer;

/* A received Events message moving through verify -> commit. */
typedef struct batch {
	struct batch *next;
	ns_node *node;
	peer *peer;
	uint64_t remote_batch;
	ns_event **evs;
	int *res;
	size_t n;
	int verified;
	uv_work_t work;
} batch;

enum { JOB_INGEST, JOB_FOLD, JOB_INDEX };

/* A commit job: consecutive verified batches ingested in one transaction. */
typedef struct commit_job {
	ns_node *node;
	batch *first;
	size_t nbatches;
	ns_event **evs;
	int *res;
	size_t n;
	int kind;    /* JOB_INGEST, or deferred work without events: JOB_FOLD, JOB_INDEX */
	size_t left; /* deferred work: persons (or ids) still pending after it */
	int rc;
	ns_diag diag; /* detail of a failure (rc != 0) */
	uv_work_t work;
} commit_job;

struct peer {
	ns_node *node;
	int outbound;             /* we dial (DEALER) or they dialled us (ROUTER) */
	void *sock;
	uv_poll_t poll;           /* outbound only */
	int polling;
	uint8_t rid[256];         /* inbound routing id */
	size_t rid_len;
	char site[NS_SITE_MAX];
	char endpoint[256];
	int up;
	uint64_t last_rx, last_tx, last_hello_tx, up_since, last_ack;
	uint64_t remote_session;
	int hello_seen, hello_sent;
	ns_vv_entry *their;       /* what we believe they hold */
	size_t ntheir;
	ns_vv_entry *told;        /* what their last Hello said */
	size_t ntold;
	unsigned credit, outstanding;
	uint64_t batch_no;
	uint64_t sent_events, recv_events, rejected, sent_batches;
	uint64_t in_sync_at;      /* last time they lacked nothing we hold */
	uint64_t dialled_at;      /* last zmq_connect, outbound only */
	size_t queued;
};

struct ns_node {
	uv_loop_t *loop;
	ns_config cfg;
	ns_store *store;
	ns_roster roster;
	uint8_t curve_pk[32], curve_sk[32];
	void *zctx, *router, *zap;
	uv_poll_t router_poll, zap_poll;
	uv_timer_t tick;
	uv_signal_t sigterm, sigint;
	peer *peers[NS_PEER_MAX];
	size_t npeers;
	ns_vv_entry *vv;
	size_t nvv;
	batch *qhead, *qtail;
	size_t qlen;
	int committing;
	size_t verifying;
	size_t folds_pending; /* persons whose fold was deferred (0 = none known) */
	size_t ids_pending;   /* events whose id index entry was deferred */
	uint64_t session;
	uint64_t last_ae, last_hb, last_status, started;
	int stopping;
	uint64_t frames_rejected, events_rejected, zap_refused;
	ns_http *http;
	pthread_mutex_t roster_lock; /* the worker's trust checks vs roster rebuilds */
	uint64_t authority_seq;      /* roster changes applied so far */
	int held;                    /* appends held after a restore */
	uint64_t last_hold_check;
};

/* Trust policy run by the store on the commit thread. */
static int node_trust(void *arg, const ns_event *ev)
{
	ns_node *n = arg;
	pthread_mutex_lock(&n->roster_lock);
	int rc = ns_roster_trust(&n->roster, ev);
	pthread_mutex_unlock(&n->roster_lock);
	return rc;
}

static void roster_warn(void *arg, const ns_event *ev, const ns_diag *d)
{
	(void)arg;
	ns_log(NS_LOG_WARN, "roster change seq %llu not applied: %s: %s", (unsigned long long)ev->seq, d->field, d->msg);
}

/*
 * The roster in force: the (signed) roster file, then every roster change
 * signed by the authority that this store holds, in seq order.
 */
static int build_roster(ns_node *n, ns_roster *out, uint64_t *applied, ns_diag *d)
{
	return ns_roster_load_store(n->cfg.roster, n->cfg.has_authority ? n->cfg.authority : NULL, n->store, out,
				    applied, roster_warn, NULL, d);
}

static uint64_t now_ms(ns_node *n)
{
	return uv_now(n->loop);
}

static uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void short_key(char out[17], const uint8_t *k)
{
	ns_hex(out, k, 8);
}

/*
 * Vectors held per peer.
 */

static uint64_t vec_get(const ns_vv_entry *v, size_t n, const uint8_t *origin)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(v[i].origin, origin, NS_KEY_BYTES) == 0)
			return v[i].seq;
	return 0;
}

/* Set (or with @max_only, raise) the seq of @origin. */
static int vec_set(ns_vv_entry **v, size_t *n, const uint8_t *origin, uint64_t seq, int max_only)
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

static int vec_quarantined(const ns_vv_entry *v, size_t n, const uint8_t *origin)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(v[i].origin, origin, NS_KEY_BYTES) == 0)
			return v[i].quarantined;
	return 0;
}

static uint64_t behind(ns_node *n, peer *p)
{
	uint64_t b = 0;
	for (size_t i = 0; i < n->nvv; i++) {
		uint64_t t = vec_get(p->their, p->ntheir, n->vv[i].origin);
		if (n->vv[i].seq > t && !n->vv[i].quarantined)
			b += n->vv[i].seq - t;
	}
	return b;
}

/*
 * Sending.
 */

static int send_msg(peer *p, const Nomsync__Message *m)
{
	ns_node *n = p->node;
	size_t len = nomsync__message__get_packed_size(m);
	uint8_t stackbuf[1024], *buf = len <= sizeof(stackbuf) ? stackbuf : malloc(len);
	int rc = 0;

	if (buf == NULL)
		return NS_ENOMEM;
	nomsync__message__pack(m, buf);
	if (!p->outbound && zmq_send(p->sock, p->rid, p->rid_len, ZMQ_DONTWAIT | ZMQ_SNDMORE) < 0)
		rc = -1;
	if (rc == 0 && zmq_send(p->sock, buf, len, ZMQ_DONTWAIT) < 0)
		rc = -1;
	if (buf != stackbuf)
		free(buf);
	if (rc != 0) {
		if (errno == EHOSTUNREACH && p->up) {
			ns_log(NS_LOG_WARN, "peer %s unreachable; marking down", p->site);
			p->up = 0;
		}
		ns_log(NS_LOG_DEBUG, "send to %s failed: %s", p->site, zmq_strerror(errno));
		return NS_EAGAIN;
	}
	p->last_tx = now_ms(n);
	return 0;
}

static void send_hello(peer *p)
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
	h.version = NS_PROTO_VERSION;
	h.site = (char *)ns_store_identity(n->store)->site;
	h.vector = ep;
	h.n_vector = n->nvv;
	h.window = n->cfg.window;
	h.session = n->session;
	m.body_case = NOMSYNC__MESSAGE__BODY_HELLO;
	m.hello = &h;
	if (send_msg(p, &m) == 0) {
		p->hello_sent = 1;
		p->last_hello_tx = now_ms(n);
	}
	free(e);
	free(ep);
}

static void send_ping(peer *p)
{
	Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
	Nomsync__Ping ping = NOMSYNC__PING__INIT;
	ping.sent_at_ms = (int64_t)wall_ms();
	m.body_case = NOMSYNC__MESSAGE__BODY_PING;
	m.ping = &ping;
	send_msg(p, &m);
}

static void send_ack(peer *p, uint64_t b)
{
	Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
	Nomsync__Ack a = NOMSYNC__ACK__INIT;
	a.batch = b;
	a.credit = 1;
	m.body_case = NOMSYNC__MESSAGE__BODY_ACK;
	m.ack = &a;
	send_msg(p, &m);
}

static void send_pull(peer *p, const uint8_t *origin, uint64_t from)
{
	Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
	Nomsync__Pull pl = NOMSYNC__PULL__INIT;
	pl.origin.data = (uint8_t *)origin;
	pl.origin.len = NS_KEY_BYTES;
	pl.from = from;
	m.body_case = NOMSYNC__MESSAGE__BODY_PULL;
	m.pull = &pl;
	send_msg(p, &m);
}

static void send_proofs(ns_node *n, peer *only)
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
				send_msg(n->peers[k], &m);
	}
	ns_proofs_free(pr, np);
}

/* Collect events for one Events message. */
typedef struct collect {
	ProtobufCBinaryData *items;
	size_t n, cap, bytes;
	uint64_t last_seq;
} collect;

static int collect_cb(void *arg, const ns_event *ev)
{
	collect *c = arg;
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

/* Send what @p lacks, while it grants credit. */
static void pump(peer *p)
{
	ns_node *n = p->node;

	if (!p->up || !p->hello_seen || n->stopping)
		return;
	while (p->credit > 0) {
		collect c = { 0 };
		c.cap = n->cfg.batch;
		c.items = calloc(c.cap, sizeof(*c.items));
		if (c.items == NULL)
			return;
		for (size_t i = 0; i < n->nvv && c.n < c.cap && c.bytes < NS_BATCH_BYTES; i++) {
			uint64_t have = vec_get(p->their, p->ntheir, n->vv[i].origin);
			if (n->vv[i].quarantined || n->vv[i].seq <= have)
				continue;
			size_t before = c.n;
			c.last_seq = have;
			int rc = ns_store_read_range(n->store, n->vv[i].origin, have + 1, c.cap - c.n,
						     NS_BATCH_BYTES - c.bytes, collect_cb, &c);
			if (rc < 0)
				ns_log(NS_LOG_ERROR, "reading events for %s: %s", p->site, ns_strerror(rc));
			if (c.n > before)
				vec_set(&p->their, &p->ntheir, n->vv[i].origin, c.last_seq, 0);
		}
		if (c.n == 0) {
			free(c.items);
			break;
		}
		Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
		Nomsync__Events e = NOMSYNC__EVENTS__INIT;
		e.events = c.items;
		e.n_events = c.n;
		e.batch = ++p->batch_no;
		m.body_case = NOMSYNC__MESSAGE__BODY_EVENTS;
		m.events = &e;
		if (send_msg(p, &m) == 0) {
			p->credit--;
			p->outstanding++;
			p->sent_events += c.n;
			p->sent_batches++;
			if (p->outstanding == 1)
				p->last_ack = now_ms(n);
		} else {
			/* Not sent: forget the optimistic advance; the next Hello resets it. */
			p->credit = 0;
		}
		for (size_t i = 0; i < c.n; i++)
			free(c.items[i].data);
		free(c.items);
	}
	if (behind(n, p) == 0)
		p->in_sync_at = now_ms(n);
}

static void pump_all(ns_node *n)
{
	for (size_t i = 0; i < n->npeers; i++)
		pump(n->peers[i]);
}

/* Refresh the cached local vector; returns 1 if it changed. */
static int refresh_vector(ns_node *n)
{
	ns_vv_entry *v;
	size_t nv;

	if (ns_store_vector(n->store, &v, &nv) != 0)
		return 0;
	int changed = nv != n->nvv || (nv && memcmp(v, n->vv, nv * sizeof(*v)) != 0);
	int newly_quarantined = 0;
	for (size_t i = 0; i < nv; i++)
		if (v[i].quarantined && !vec_quarantined(n->vv, n->nvv, v[i].origin))
			newly_quarantined = 1;
	free(n->vv);
	n->vv = v;
	n->nvv = nv;
	if (n->cfg.has_authority && n->started &&
	    vec_get(n->vv, n->nvv, n->cfg.authority) != n->authority_seq) {
		ns_roster fresh;
		uint64_t applied = 0;
		ns_diag d;
		if (build_roster(n, &fresh, &applied, &d) == 0) {
			pthread_mutex_lock(&n->roster_lock);
			ns_roster old = n->roster;
			n->roster = fresh;
			n->authority_seq = applied;
			pthread_mutex_unlock(&n->roster_lock);
			ns_roster_free(&old);
			ns_log(NS_LOG_INFO, "roster updated by the authority (change %llu): %zu keys",
			       (unsigned long long)applied, n->roster.n);
		} else {
			ns_log(NS_LOG_ERROR, "cannot rebuild the roster: %s", d.msg);
		}
	}
	if (newly_quarantined && n->started) {
		/* Learnt outside the protocol (e.g. a bundle import): tell everyone. */
		ns_log(NS_LOG_WARN, "an origin was quarantined for equivocation; relaying the proof");
		send_proofs(n, NULL);
	}
	return changed;
}

/*
 * The ingest pipeline.
 */

static void batch_free(batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		ns_event_free(b->evs[i]);
	free(b->evs);
	free(b->res);
	free(b);
}

static void drain_all(ns_node *n);
static void try_commit(ns_node *n);

static void verify_work(uv_work_t *w)
{
	batch *b = w->data;
	for (size_t i = 0; i < b->n; i++)
		if (b->res[i] == 0 && ns_event_verify(b->evs[i]) != 0)
			b->res[i] = NS_ESIG;
}

static void verify_done(uv_work_t *w, int status)
{
	batch *b = w->data;
	(void)status;
	b->verified = 1;
	b->node->verifying--;
	try_commit(b->node);
}

/*
 * Large commits (catch-up) defer their folds: a person's events arrive in
 * several commits, one per origin, and folding after each would fold the
 * person several times. The deferred folds run as fold jobs on the same
 * commit path once no batch is queued.
 */
static void commit_work(uv_work_t *w)
{
	commit_job *j = w->data;
	unsigned flags = NS_INGEST_VERIFIED | (j->n >= NS_DEFER_MIN_EVENTS ? NS_INGEST_DEFER_FOLD : 0);

	if (j->kind == JOB_FOLD)
		j->rc = ns_store_fold_pending(j->node->store, NS_FOLD_STEP, &j->left, &j->diag);
	else if (j->kind == JOB_INDEX)
		j->rc = ns_store_index_pending(j->node->store, NS_INDEX_STEP, &j->left, &j->diag);
	else
		j->rc = ns_store_ingest(j->node->store, j->evs, j->n, flags, j->res, &j->diag);
}

static void deferred_done(commit_job *j)
{
	ns_node *n = j->node;
	const char *what = j->kind == JOB_INDEX ? "id index" : "folds";

	if (j->rc != 0) {
		ns_log(NS_LOG_ERROR, "deferred %s failed, nothing written: %s: %s (will retry)", what,
		       ns_strerror(j->rc), j->diag.msg);
	} else {
		if (j->left == 0)
			ns_log(NS_LOG_INFO, "deferred %s complete", what);
		*(j->kind == JOB_INDEX ? &n->ids_pending : &n->folds_pending) = j->left;
	}
	free(j);
	n->committing = 0;
	ns_store_trim(n->store);
}

static void commit_done(uv_work_t *w, int status)
{
	commit_job *j = w->data;
	ns_node *n = j->node;
	size_t k = 0;
	int proofs = 0;

	(void)status;
	if (j->kind != JOB_INGEST) {
		deferred_done(j);
		try_commit(n);
		return;
	}
	if (j->rc == 0 && j->n >= NS_DEFER_MIN_EVENTS) {
		/* Some, at least, if counting fails: the jobs learn the counts. */
		if (ns_store_fold_pending(n->store, 0, &n->folds_pending, NULL) != 0)
			n->folds_pending = 1;
		if (ns_store_index_pending(n->store, 0, &n->ids_pending, NULL) != 0)
			n->ids_pending = 1;
	}
	if (j->rc != 0)
		ns_log(NS_LOG_ERROR, "ingest of %zu events failed, nothing written: %s: %s (will retry)", j->n,
		       ns_strerror(j->rc), j->diag.msg);
	refresh_vector(n);
	for (size_t bi = 0; bi < j->nbatches; bi++) {
		batch *b = n->qhead;
		peer *p = b->peer;
		uint64_t applied = 0, held = 0, rejected = 0;
		n->qhead = b->next;
		if (n->qhead == NULL)
			n->qtail = NULL;
		n->qlen--;
		for (size_t i = 0; i < b->n; i++, k++) {
			int r = j->res[k];
			if (j->rc != 0)
				continue;
			if (r == NS_INGEST_APPLIED)
				applied++;
			else if (r == NS_INGEST_HELD)
				held++;
			else if (r == NS_EEQUIV)
				proofs++;
			if (r < 0) {
				char ok[17] = "?";
				rejected++;
				if (b->evs[i])
					short_key(ok, b->evs[i]->origin);
				ns_log(NS_LOG_WARN, "rejected event from %s (origin %s.. %s seq %llu): %s", p->site, ok,
				       b->evs[i] ? b->evs[i]->site : "?",
				       b->evs[i] ? (unsigned long long)b->evs[i]->seq : 0ull, ns_strerror(r));
			}
			if (r == NS_INGEST_HELD && b->evs[i]) {
				/* A gap: ask this peer to resend the origin from what we hold. */
				uint64_t have = vec_get(n->vv, n->nvv, b->evs[i]->origin);
				send_pull(p, b->evs[i]->origin, have + 1);
			}
		}
		p->rejected += rejected;
		p->queued--;
		if (j->rc == 0) {
			send_ack(p, b->remote_batch);
			ns_log(NS_LOG_DEBUG, "batch %llu from %s: %zu events, %llu applied, %llu held, %llu rejected",
			       (unsigned long long)b->remote_batch, p->site, b->n, (unsigned long long)applied,
			       (unsigned long long)held, (unsigned long long)rejected);
		}
		batch_free(b);
	}
	free(j->evs);
	free(j->res);
	free(j);
	n->committing = 0;
	ns_store_trim(n->store);
	if (proofs) /* refresh_vector above saw the quarantine and relayed the proof */
		ns_log(NS_LOG_WARN, "equivocation detected in %d events from peers", proofs);
	pump_all(n);
	try_commit(n);
	drain_all(n);
}

static void try_commit(ns_node *n)
{
	commit_job *j;
	size_t total = 0, nb = 0, k = 0;

	if (n->committing)
		return;
	if (n->qhead == NULL && (n->ids_pending > 0 || n->folds_pending > 0) && !n->stopping) {
		/* Nothing queued: run deferred work a step at a time, the id index first. */
		if ((j = calloc(1, sizeof(*j))) == NULL)
			return;
		j->node = n;
		j->kind = n->ids_pending > 0 ? JOB_INDEX : JOB_FOLD;
		j->work.data = j;
		n->committing = 1;
		if (uv_queue_work(n->loop, &j->work, commit_work, commit_done) != 0) {
			n->committing = 0;
			free(j);
		}
		return;
	}
	if (n->qhead == NULL || !n->qhead->verified)
		return;
	/*
	 * Merge at most half of what may be in flight, so that the other half
	 * is being verified on the pool while this commit runs, and at most
	 * NS_COMMIT_MAX_EVENTS: the pages a commit touches stay mapped until
	 * the trim after it, so the node's peak resident set follows the size
	 * of one commit, not the window (docs/PERFORMANCE.md).
	 */
	size_t cap = (size_t)n->cfg.window * n->cfg.batch / 2;
	if (cap > NS_COMMIT_MAX_EVENTS)
		cap = NS_COMMIT_MAX_EVENTS;
	for (batch *b = n->qhead; b && b->verified && (nb == 0 || total + b->n <= cap); b = b->next) {
		total += b->n;
		nb++;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL || (j->evs = calloc(total ? total : 1, sizeof(*j->evs))) == NULL ||
	    (j->res = calloc(total ? total : 1, sizeof(*j->res))) == NULL) {
		if (j) {
			free(j->evs);
			free(j);
		}
		return;
	}
	j->node = n;
	j->first = n->qhead;
	j->nbatches = nb;
	j->n = total;
	batch *b = n->qhead;
	for (size_t i = 0; i < nb; i++, b = b->next)
		for (size_t e = 0; e < b->n; e++, k++) {
			j->evs[k] = b->evs[e];
			j->res[k] = b->res[e];
		}
	j->work.data = j;
	n->committing = 1;
	if (uv_queue_work(n->loop, &j->work, commit_work, commit_done) != 0) {
		n->committing = 0;
		free(j->evs);
		free(j->res);
		free(j);
	}
}

/*
 * Receiving.
 */

static void on_events(peer *p, const Nomsync__Events *e)
{
	ns_node *n = p->node;
	batch *b;

	if (e->n_events == 0) {
		send_ack(p, e->batch);
		return;
	}
	if (e->n_events > 4096) {
		n->frames_rejected++;
		ns_log(NS_LOG_WARN, "peer %s sent a batch of %zu events (limit 4096); dropped", p->site,
		       e->n_events);
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
	for (size_t i = 0; i < e->n_events; i++) {
		ns_diag d;
		int rc = ns_event_decode(e->events[i].data, e->events[i].len, &b->evs[i], &d);
		if (rc != 0) {
			b->res[i] = rc;
			n->events_rejected++;
			ns_log(NS_LOG_WARN, "malformed event from %s dropped: %s: %s", p->site, d.field, d.msg);
		} else {
			/* They hold it: never send it back to them. */
			vec_set(&p->their, &p->ntheir, b->evs[i]->origin, b->evs[i]->seq, 1);
		}
	}
	p->recv_events += b->n;
	if (n->qtail)
		n->qtail->next = b;
	else
		n->qhead = b;
	n->qtail = b;
	n->qlen++;
	p->queued++;
	b->work.data = b;
	n->verifying++;
	if (uv_queue_work(n->loop, &b->work, verify_work, verify_done) != 0) {
		n->verifying--;
		b->verified = 1; /* verify inline as a last resort */
		verify_work(&b->work);
		try_commit(n);
	}
}

static void on_hello(peer *p, const Nomsync__Hello *h)
{
	ns_node *n = p->node;
	int fresh = !p->hello_seen || h->session != p->remote_session;

	if (h->version != NS_PROTO_VERSION) {
		ns_log(NS_LOG_WARN, "peer %s speaks protocol version %u; ignoring", p->site, h->version);
		return;
	}
	if (h->n_vector > NS_MAX_ORIGINS) {
		/* A vector can only be as long as the origins a roster admits. */
		n->frames_rejected++;
		ns_log(NS_LOG_WARN, "peer %s sent a Hello with %zu origins (limit %d); dropped", p->site, h->n_vector,
		       NS_MAX_ORIGINS);
		return;
	}
	free(p->told);
	p->told = NULL;
	p->ntold = 0;
	for (size_t i = 0; i < h->n_vector; i++)
		if (h->vector[i]->origin.len == NS_KEY_BYTES)
			vec_set(&p->told, &p->ntold, h->vector[i]->origin.data, h->vector[i]->seq, 0);
	if (fresh) {
		ns_log(NS_LOG_INFO, "peer %s: session started (%zu origins known to it)", p->site, p->ntold);
		p->remote_session = h->session;
		p->credit = h->window ? (h->window < n->cfg.window ? h->window : n->cfg.window) : 1;
		p->outstanding = 0;
		free(p->their);
		p->their = NULL;
		p->ntheir = 0;
		p->hello_sent = 0;
	}
	for (size_t i = 0; i < p->ntold; i++)
		vec_set(&p->their, &p->ntheir, p->told[i].origin, p->told[i].seq, !fresh && p->outstanding);
	if (!fresh && p->outstanding == 0) {
		/* Nothing in flight: what they told us is exactly what they hold. */
		for (size_t i = 0; i < p->ntheir; i++)
			p->their[i].seq = vec_get(p->told, p->ntold, p->their[i].origin);
	}
	p->hello_seen = 1;
	if (!p->hello_sent)
		send_hello(p);
	if (fresh)
		send_proofs(n, p);
	pump(p);
}

static void on_proof(peer *p, const Nomsync__Proof *pr)
{
	ns_node *n = p->node;
	int rc = ns_store_add_proof(n->store, pr->a.data, pr->a.len, pr->b.data, pr->b.len);

	if (rc == 0) {
		ns_log(NS_LOG_WARN, "equivocation proof from %s accepted: origin quarantined; relaying", p->site);
		refresh_vector(n);
		send_proofs(n, NULL);
	} else if (rc == NS_EINVAL) {
		n->frames_rejected++;
		ns_log(NS_LOG_WARN, "invalid equivocation proof from %s ignored", p->site);
	}
}

static void handle(peer *p, const uint8_t *data, size_t len)
{
	ns_node *n = p->node;
	Nomsync__Message *m;

	p->last_rx = now_ms(n);
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
	    now_ms(n) - p->last_hello_tx > 250)
		send_hello(p);
	switch (m->body_case) {
	case NOMSYNC__MESSAGE__BODY_HELLO:
		on_hello(p, m->hello);
		break;
	case NOMSYNC__MESSAGE__BODY_EVENTS:
		on_events(p, m->events);
		break;
	case NOMSYNC__MESSAGE__BODY_ACK:
		if (p->outstanding)
			p->outstanding--;
		if (p->credit < n->cfg.window)
			p->credit += m->ack->credit ? 1 : 0;
		p->last_ack = now_ms(n);
		pump(p);
		break;
	case NOMSYNC__MESSAGE__BODY_PULL:
		if (m->pull->origin.len == NS_KEY_BYTES && m->pull->from >= 1) {
			uint64_t cur = vec_get(p->their, p->ntheir, m->pull->origin.data);
			if (m->pull->from - 1 < cur)
				vec_set(&p->their, &p->ntheir, m->pull->origin.data, m->pull->from - 1, 0);
			pump(p);
		}
		break;
	case NOMSYNC__MESSAGE__BODY_PROOF:
		on_proof(p, m->proof);
		break;
	case NOMSYNC__MESSAGE__BODY_PING:
		break;
	default:
		n->frames_rejected++;
		ns_log(NS_LOG_WARN, "empty or unknown message from %s dropped", p->site);
	}
	nomsync__message__free_unpacked(m, NULL);
}

static peer *peer_new(ns_node *n, const char *site, int outbound)
{
	peer *p;
	if (n->npeers == NS_PEER_MAX || (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->node = n;
	p->outbound = outbound;
	snprintf(p->site, sizeof(p->site), "%s", site);
	n->peers[n->npeers++] = p;
	return p;
}

/* Receive everything waiting on @sock. With the queue full, leave the rest in ZeroMQ. */
static void drain(ns_node *n, void *sock, peer *fixed)
{
	for (;;) {
		int events = 0;
		size_t sz = sizeof(events);
		zmq_msg_t id, msg;

		if (n->stopping || n->qlen >= NS_QUEUE_MAX_BATCHES)
			return;
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
				handle(fixed, zmq_msg_data(&msg), zmq_msg_size(&msg));
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
		if (!ok || site == NULL || zmq_msg_size(&id) > sizeof(((peer *)0)->rid)) {
			n->frames_rejected++;
			ns_log(NS_LOG_WARN, "malformed inbound message dropped");
		} else {
			peer *p = NULL;
			for (size_t i = 0; i < n->npeers; i++)
				if (!n->peers[i]->outbound && strcmp(n->peers[i]->site, site) == 0)
					p = n->peers[i];
			if (p == NULL && (p = peer_new(n, site, 0)) != NULL)
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
				handle(p, zmq_msg_data(&msg), zmq_msg_size(&msg));
			}
		}
		zmq_msg_close(&id);
		zmq_msg_close(&msg);
	}
}

/* ZAP (RFC 27): admit a CURVE client only if its key is a roster member's. */
static void drain_zap(ns_node *n)
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

static void drain_all(ns_node *n)
{
	if (n->stopping)
		return;
	drain_zap(n);
	drain(n, n->router, NULL);
	for (size_t i = 0; i < n->npeers; i++)
		if (n->peers[i]->outbound)
			drain(n, n->peers[i]->sock, n->peers[i]);
}

static void on_router(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	drain((ns_node *)h->data, ((ns_node *)h->data)->router, NULL);
}

static void on_zap(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	drain_zap(h->data);
}

static void on_dealer(uv_poll_t *h, int status, int events)
{
	peer *p = h->data;
	(void)status;
	(void)events;
	drain(p->node, p->sock, p);
}

/*
 * Status file, timers, signals.
 */

/* An append through the API: push it to the peers now, not at the next tick. */
static void on_local_append(void *arg)
{
	ns_node *n = arg;
	if (!n->stopping && refresh_vector(n))
		pump_all(n);
}

/* The node's live state: peers, lag, queue, refusals. */
static json_t *status_json(void *arg)
{
	ns_node *n = arg;
	json_t *j = json_object(), *peers = json_array(), *vv = ns_vector_to_json(n->vv, n->nvv);
	uint64_t t = now_ms(n), wall = wall_ms();

	for (size_t i = 0; i < n->npeers; i++) {
		peer *p = n->peers[i];
		uint64_t b = behind(n, p);
		const char *state = !p->up ? "down" : !p->hello_seen ? "handshake" : b ? "syncing" : "live";
		json_array_append_new(
			peers, json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f}", "site", p->site,
					 "direction", p->outbound ? "outbound" : "inbound", "endpoint", p->endpoint,
					 "state", state, "last_contact_ms_ago",
					 p->last_rx ? (json_int_t)(t - p->last_rx) : (json_int_t)-1, "behind_events",
					 (json_int_t)b, "sent_events", (json_int_t)p->sent_events,
					 "received_events", (json_int_t)p->recv_events, "rejected_events",
					 (json_int_t)p->rejected, "credit", (json_int_t)p->credit, "queued_batches",
					 (json_int_t)p->queued, "behind_seconds",
					 b && p->in_sync_at ? (double)(t - p->in_sync_at) / 1000.0 : 0.0));
	}
	json_object_set_new(j, "site", json_string(ns_store_identity(n->store)->site));
	json_object_set_new(j, "pid", json_integer(getpid()));
	json_object_set_new(j, "written_at_ms", json_integer((json_int_t)wall));
	json_object_set_new(j, "uptime_s", json_real((double)(t - n->started) / 1000.0));
	json_object_set_new(j, "listen", json_string(n->cfg.listen));
	json_object_set_new(j, "peers", peers);
	json_object_set_new(j, "vector", vv);
	json_object_set_new(j, "ingest_queue_batches", json_integer((json_int_t)n->qlen));
	json_object_set_new(j, "frames_rejected", json_integer((json_int_t)n->frames_rejected));
	json_object_set_new(j, "connections_refused", json_integer((json_int_t)n->zap_refused));
	json_object_set_new(j, "appends_held", json_boolean(n->held));
	json_object_set_new(j, "folds_pending", json_integer((json_int_t)n->folds_pending));
	json_object_set_new(j, "ids_pending", json_integer((json_int_t)n->ids_pending));
	json_object_set_new(j, "roster_changes_applied", json_integer((json_int_t)n->authority_seq));
	return j;
}

static void write_status(ns_node *n)
{
	char path[PATH_MAX + 32], tmp[PATH_MAX + 40];
	json_t *j = status_json(n);

	snprintf(path, sizeof(path), "%s/nomsyncd.status.json", n->cfg.dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (json_dump_file(j, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) == 0)
		rename(tmp, path);
	json_decref(j);
}

/*
 * A restored store may lack events this site signed after the backup. Once
 * every configured peer (or, for a node with none, every connected peer, at
 * least one) has told us its vector and none holds more of our own events
 * than we do, nothing is missing and appends may resume.
 */
static void check_hold(ns_node *n)
{
	const uint8_t *me = ns_store_identity(n->store)->pk;
	uint64_t mine = vec_get(n->vv, n->nvv, me), heard = 0;
	int outbound = 0;

	for (size_t i = 0; i < n->npeers; i++)
		outbound |= n->peers[i]->outbound;
	for (size_t i = 0; i < n->npeers; i++) {
		peer *p = n->peers[i];
		if (outbound && p->outbound && !p->hello_seen)
			return;
		if (p->hello_seen) {
			heard++;
			if (vec_get(p->told, p->ntold, me) > mine)
				return;
		}
	}
	for (size_t i = 0; i < n->nvv; i++)
		if (memcmp(n->vv[i].origin, me, NS_KEY_BYTES) == 0 && n->vv[i].held)
			return;
	if (heard == 0)
		return;
	if (ns_store_hold(n->store, 0) == 0) {
		n->held = 0;
		ns_log(NS_LOG_INFO, "caught up with this site's own events (seq %llu) from %llu peers: appends released",
		       (unsigned long long)mine, (unsigned long long)heard);
	}
}

static void on_tick(uv_timer_t *h)
{
	ns_node *n = h->data;
	uint64_t t = now_ms(n);

	if (n->stopping)
		return;
	if (refresh_vector(n))
		pump_all(n);
	for (size_t i = 0; i < n->npeers; i++) {
		peer *p = n->peers[i];
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
				vec_set(&p->their, &p->ntheir, p->told[k].origin, p->told[k].seq, 0);
			p->last_ack = t;
		}
		if (p->outbound && !p->hello_seen && t - p->last_hello_tx > 250)
			send_hello(p);
		if (p->outbound && !p->hello_seen && t - p->dialled_at > 5000) {
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
	if (t - n->last_ae >= (uint64_t)(n->cfg.anti_entropy * 1000)) {
		n->last_ae = t;
		for (size_t i = 0; i < n->npeers; i++)
			if (n->peers[i]->up || n->peers[i]->outbound)
				send_hello(n->peers[i]);
	}
	if (t - n->last_hb >= (uint64_t)(n->cfg.heartbeat * 1000)) {
		n->last_hb = t;
		for (size_t i = 0; i < n->npeers; i++)
			if (n->peers[i]->hello_seen)
				send_ping(n->peers[i]);
	}
	if (t - n->last_status >= 1000) {
		n->last_status = t;
		write_status(n);
	}
	if (n->held && t - n->last_hold_check >= 500) {
		n->last_hold_check = t;
		check_hold(n);
	}
	pump_all(n);
	try_commit(n);
	drain_all(n);
}

static void on_signal(uv_signal_t *h, int sig)
{
	ns_log(NS_LOG_INFO, "signal %d: shutting down", sig);
	ns_node_stop(h->data);
}

static int sock_opts(void *s, int linger)
{
	int hwm = 1000, maxmsg_ok;
	int64_t maxmsg = NS_MAX_FRAME;
	int ivl = 1000, timeout = 5000, rivl = 200, rmax = 2000;

	maxmsg_ok = zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg));
	if (maxmsg_ok != 0 || zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm)) != 0 ||
	    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &ivl, sizeof(ivl)) != 0 ||
	    zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof(timeout)) != 0 ||
	    zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &rivl, sizeof(rivl)) != 0 ||
	    zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &rmax, sizeof(rmax)) != 0)
		return -1;
	return 0;
}

static int poll_socket(ns_node *n, void *sock, uv_poll_t *h, uv_poll_cb cb, void *data)
{
	int fd;
	size_t sz = sizeof(fd);
	if (zmq_getsockopt(sock, ZMQ_FD, &fd, &sz) != 0 || uv_poll_init(n->loop, h, fd) != 0)
		return -1;
	h->data = data;
	return uv_poll_start(h, UV_READABLE, cb);
}

int ns_node_start(ns_node **out, const ns_config *cfg, uv_loop_t *loop, ns_diag *d)
{
	const ns_identity *id;
	ns_node *n;
	int rc, one = 1;

	*out = NULL;
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return NS_ENOMEM;
	n->loop = loop;
	n->cfg = *cfg;
	ns_log_level = cfg->log_level;
	randombytes_buf(&n->session, sizeof(n->session));
	pthread_mutex_init(&n->roster_lock, NULL);
	if ((rc = ns_store_open(cfg->dir, 0, &n->store, d)) != 0)
		goto fail;
	{
		ns_upgrade_report up;
		char line[256];
		ns_store_upgrade_report(n->store, &up);
		if (ns_upgrade_describe(&up, line, sizeof(line)) > 0)
			ns_log(NS_LOG_INFO, "%s", line);
	}
	/* Folds deferred before a stop or crash run once the loop starts. */
	if (ns_store_fold_pending(n->store, 0, &n->folds_pending, NULL) == 0 && n->folds_pending > 0)
		ns_log(NS_LOG_INFO, "%zu persons have deferred folds; folding them", n->folds_pending);
	if (ns_store_index_pending(n->store, 0, &n->ids_pending, NULL) == 0 && n->ids_pending > 0)
		ns_log(NS_LOG_INFO, "%zu events await the id index; indexing them", n->ids_pending);
	if ((rc = build_roster(n, &n->roster, &n->authority_seq, d)) != 0)
		goto fail;
	id = ns_store_identity(n->store);
	const ns_roster_entry *me = ns_roster_by_key(&n->roster, id->pk);
	if (me == NULL || me->role != id->role || strcmp(me->site, id->site) != 0) {
		rc = ns_diag_set(d, NS_ECONFIG, "roster",
				 "this node (%s, %s) is not in the roster %s with its key, site and role", id->site,
				 ns_role_name(id->role), cfg->roster);
		goto fail;
	}
	ns_store_set_trust(n->store, node_trust, n);
	if ((n->held = ns_store_held(n->store)))
		ns_log(NS_LOG_WARN, "appends are held (restored store): catching up this site's own events first");
	if ((rc = ns_curve_keys(id, n->curve_pk, n->curve_sk)) != 0)
		goto fail;
	if ((n->zctx = zmq_ctx_new()) == NULL) {
		rc = ns_diag_set(d, NS_EIO, "zmq", "cannot create a ZeroMQ context");
		goto fail;
	}
	/* The ZAP handler must be bound before any CURVE server socket. */
	n->zap = zmq_socket(n->zctx, ZMQ_REP);
	if (n->zap == NULL || zmq_bind(n->zap, "inproc://zeromq.zap.01") != 0) {
		rc = ns_diag_set(d, NS_EIO, "zmq", "cannot bind the ZAP handler: %s", zmq_strerror(errno));
		goto fail;
	}
	n->router = zmq_socket(n->zctx, ZMQ_ROUTER);
	if (n->router == NULL || sock_opts(n->router, 500) != 0 ||
	    zmq_setsockopt(n->router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(n->router, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
	    zmq_setsockopt(n->router, ZMQ_CURVE_SECRETKEY, n->curve_sk, 32) != 0 ||
	    zmq_setsockopt(n->router, ZMQ_ZAP_DOMAIN, "nomsync", 7) != 0) {
		rc = ns_diag_set(d, NS_EIO, "zmq", "cannot configure the listening socket: %s", zmq_strerror(errno));
		goto fail;
	}
	if (zmq_bind(n->router, cfg->listen) != 0) {
		rc = ns_diag_set(d, NS_ECONFIG, "listen", "cannot listen on %s: %s", cfg->listen, zmq_strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < cfg->npeers; i++) {
		const ns_roster_entry *e = ns_roster_by_site(&n->roster, cfg->peers[i].site);
		peer *p;
		if (e == NULL) {
			rc = ns_diag_set(d, NS_ECONFIG, "peers", "peer %s is not in the roster", cfg->peers[i].site);
			goto fail;
		}
		if ((p = peer_new(n, e->site, 1)) == NULL) {
			rc = NS_ENOMEM;
			goto fail;
		}
		snprintf(p->endpoint, sizeof(p->endpoint), "%s", cfg->peers[i].endpoint);
		p->sock = zmq_socket(n->zctx, ZMQ_DEALER);
		if (p->sock == NULL || sock_opts(p->sock, 500) != 0 ||
		    zmq_setsockopt(p->sock, ZMQ_IMMEDIATE, &one, sizeof(one)) != 0 ||
		    zmq_setsockopt(p->sock, ZMQ_CURVE_SERVERKEY, e->curve_pk, 32) != 0 ||
		    zmq_setsockopt(p->sock, ZMQ_CURVE_PUBLICKEY, n->curve_pk, 32) != 0 ||
		    zmq_setsockopt(p->sock, ZMQ_CURVE_SECRETKEY, n->curve_sk, 32) != 0 ||
		    zmq_connect(p->sock, p->endpoint) != 0) {
			rc = ns_diag_set(d, NS_ECONFIG, "peers", "cannot connect to %s at %s: %s", p->site, p->endpoint,
					 zmq_strerror(errno));
			goto fail;
		}
	}
	refresh_vector(n);
	if (poll_socket(n, n->zap, &n->zap_poll, on_zap, n) != 0 ||
	    poll_socket(n, n->router, &n->router_poll, on_router, n) != 0) {
		rc = ns_diag_set(d, NS_EIO, "uv", "cannot watch the ZeroMQ sockets");
		goto fail;
	}
	for (size_t i = 0; i < n->npeers; i++) {
		if (poll_socket(n, n->peers[i]->sock, &n->peers[i]->poll, on_dealer, n->peers[i]) != 0) {
			rc = ns_diag_set(d, NS_EIO, "uv", "cannot watch the ZeroMQ sockets");
			goto fail;
		}
		n->peers[i]->polling = 1;
	}
	uv_timer_init(loop, &n->tick);
	n->tick.data = n;
	uv_timer_start(&n->tick, on_tick, NS_TICK_MS, NS_TICK_MS);
	uv_signal_init(loop, &n->sigterm);
	uv_signal_init(loop, &n->sigint);
	n->sigterm.data = n->sigint.data = n;
	uv_signal_start(&n->sigterm, on_signal, SIGTERM);
	uv_signal_start(&n->sigint, on_signal, SIGINT);
	if (cfg->http_listen[0]) {
		rc = ns_http_start(&n->http, loop, n->store, cfg->http_listen, cfg->http_token, status_json, n,
				   on_local_append, d);
		if (rc != 0)
			goto fail;
		ns_log(NS_LOG_INFO, "HTTP API on http://%s/", cfg->http_listen);
	}
	n->started = now_ms(n);
	for (size_t i = 0; i < n->npeers; i++)
		n->peers[i]->dialled_at = n->started;
	ns_log(NS_LOG_INFO, "node %s (%s) listening on %s with %zu peers, %zu roster sites", id->site,
	       ns_role_name(id->role), cfg->listen, cfg->npeers, n->roster.n);
	for (size_t i = 0; i < n->npeers; i++)
		send_hello(n->peers[i]);
	*out = n;
	return 0;
fail:
	ns_node_free(n);
	return rc;
}

void ns_node_stop(ns_node *n)
{
	if (n->stopping)
		return;
	n->stopping = 1;
	uv_timer_stop(&n->tick);
	uv_close((uv_handle_t *)&n->tick, NULL);
	uv_close((uv_handle_t *)&n->sigterm, NULL);
	uv_close((uv_handle_t *)&n->sigint, NULL);
	uv_close((uv_handle_t *)&n->router_poll, NULL);
	uv_close((uv_handle_t *)&n->zap_poll, NULL);
	ns_http_stop(n->http);
	for (size_t i = 0; i < n->npeers; i++)
		if (n->peers[i]->polling) {
			uv_close((uv_handle_t *)&n->peers[i]->poll, NULL);
			n->peers[i]->polling = 0;
		}
}

void ns_node_free(ns_node *n)
{
	if (n == NULL)
		return;
	/* Batches that never committed (shutdown mid-stream) are simply resent later. */
	while (n->qhead) {
		batch *b = n->qhead;
		n->qhead = b->next;
		batch_free(b);
	}
	if (n->store && n->vv)
		write_status(n);
	for (size_t i = 0; i < n->npeers; i++) {
		peer *p = n->peers[i];
		if (p->outbound && p->sock)
			zmq_close(p->sock);
		free(p->their);
		free(p->told);
		free(p);
	}
	if (n->router)
		zmq_close(n->router);
	if (n->zap)
		zmq_close(n->zap);
	if (n->zctx)
		zmq_ctx_term(n->zctx);
	ns_http_free(n->http);
	ns_store_close(n->store);
	ns_roster_free(&n->roster);
	free(n->vv);
	sodium_memzero(n->curve_sk, sizeof(n->curve_sk));
	pthread_mutex_destroy(&n->roster_lock);
	free(n);
}
