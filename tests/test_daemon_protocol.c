/*
 * Unit tests of the daemon's replication protocol (src/daemon/protocol.c)
 * without sockets: hand-made frames go into ns__handle, and the test's own
 * ns__proto_ops record what the node would send and what it hands to the
 * commit pipeline. The "commit pipeline" here ingests a batch at once, on
 * this thread, and reports back through ns__batch_done as commit.c does.
 */
#include "daemon/log.h"
#include "daemon/node_int.h"

#include "fixtures.h"
#include "test.h"

#include "replication.pb-c.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmproot[] = "/tmp/ns-test-daemon-XXXXXX";
static uv_loop_t loop;

/* What the node sent, decoded, in order. */
static Nomsync__Message *sent[64];
static size_t nsent;
static int send_fails; /* make sends fail, as to a peer that went away */
/* Batches handed to the commit pipeline, not yet committed. */
static ns__batch *queued[16];
static size_t nqueued;
static int refreshes;

static int rec_send(void *arg, ns__peer *p, const uint8_t *frame, size_t len)
{
	(void)arg;
	(void)p;
	if (send_fails)
		return NS_EAGAIN;
	if (nsent < sizeof(sent) / sizeof(*sent))
		sent[nsent++] = nomsync__message__unpack(NULL, len, frame);
	return 0;
}

static void rec_enqueue(void *arg, ns__batch *b)
{
	(void)arg;
	queued[nqueued++] = b;
}

static void rec_refresh(void *arg)
{
	refreshes++;
	ns__refresh_vector(arg);
}

static void sent_clear(void)
{
	for (size_t i = 0; i < nsent; i++)
		nomsync__message__free_unpacked(sent[i], NULL);
	nsent = 0;
}

/* How many of the recorded messages have body @p kind. */
static size_t sent_count(Nomsync__Message__BodyCase kind)
{
	size_t k = 0;
	for (size_t i = 0; i < nsent; i++)
		k += sent[i] != NULL && sent[i]->body_case == kind;
	return k;
}

static Nomsync__Message *sent_first(Nomsync__Message__BodyCase kind)
{
	for (size_t i = 0; i < nsent; i++)
		if (sent[i] != NULL && sent[i]->body_case == kind)
			return sent[i];
	return NULL;
}

/* The commit pipeline, synchronously: verify, ingest, refresh, report. */
static int commit_all(void)
{
	int rc = 0;
	for (size_t q = 0; q < nqueued; q++) {
		ns__batch *b = queued[q];
		ns_node *n = b->node;
		int *res = calloc(b->n, sizeof(*res));
		for (size_t i = 0; i < b->n; i++) {
			if (b->res[i] == 0 && ns_event_verify(b->evs[i]) != 0)
				b->res[i] = NS_ESIG; /* as commit.c's verification does */
			res[i] = b->res[i];
		}
		rc = ns_store_ingest(n->store, b->evs, b->n, NS_INGEST_VERIFIED, res, NULL);
		ns__refresh_vector(n);
		ns__batch_done(b, res, rc);
		free(res);
		ns__batch_free(b);
	}
	nqueued = 0;
	return rc;
}

/* A node of site HUBNE (hub) with one outbound peer, MDI. */
static ns_node *node_new(ns__peer **peer)
{
	static unsigned serial;
	static const char conf[] = "[node]\ndir=/x\nlisten=tcp://127.0.0.1:1\nroster=/x\n";
	char dir[256];
	ns_node *n = calloc(1, sizeof(*n));
	ns_diag d;

	snprintf(dir, sizeof(dir), "%s/hub%u", tmproot, serial++);
	CHECK_INT(ns_store_create(dir, "HUBNE", NS_ROLE_HUB, &d), 0);
	CHECK_INT(ns_store_open(dir, NS_STORE_NOSYNC, &n->store, &d), 0);
	CHECK_INT(ns_config_parse(conf, strlen(conf), NULL, &n->cfg, &d), 0);
	snprintf(n->cfg.dir, sizeof(n->cfg.dir), "%s", dir); /* ns_node_free writes its status there */
	n->loop = &loop;
	n->ops = (ns__proto_ops){ rec_send, rec_enqueue, rec_refresh };
	n->ops_arg = n;
	n->session = 99;
	pthread_mutex_init(&n->roster_lock, NULL);
	ns__refresh_vector(n);
	*peer = ns__peer_new(n, "MDI", 1);
	snprintf((*peer)->endpoint, sizeof((*peer)->endpoint), "tcp://127.0.0.1:2");
	return n;
}

static void node_free(ns_node *n)
{
	sent_clear();
	ns_node_free(n);
}

/* Events 1..n of one origin (MDI), chained. */
static ns_identity mdi;
static ns_event *chain[8];

static void chain_make(void)
{
	Nomsync__Payload *pl = ns_test_received("MDI");
	ns_identity_generate(&mdi, "MDI", NS_ROLE_PRISON);
	for (int i = 0; i < 8; i++)
		CHECK_INT(ns_event_build(&mdi, (uint64_t)i + 1, i ? chain[i - 1]->id : NULL, 1704067200 + i,
					 1704067200 + i, "A1234BC", pl, &chain[i]),
			  0);
	nomsync__payload__free_unpacked(pl, NULL);
}

/* Pack @p m and hand it to the node as if @p p had sent it. */
static void feed(ns__peer *p, Nomsync__Message *m)
{
	size_t len = nomsync__message__get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);
	nomsync__message__pack(m, buf);
	ns__handle(p, buf, len);
	free(buf);
}

static void feed_hello(ns__peer *p, uint32_t window, uint64_t session, uint64_t have)
{
	Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
	Nomsync__Hello h = NOMSYNC__HELLO__INIT;
	Nomsync__VectorEntry e = NOMSYNC__VECTOR_ENTRY__INIT, *ep = &e;
	e.origin.data = mdi.pk;
	e.origin.len = NS_KEY_BYTES;
	e.seq = have;
	h.version = 1;
	h.site = "MDI";
	h.vector = have ? &ep : NULL;
	h.n_vector = have ? 1 : 0;
	h.window = window;
	h.session = session;
	m.body_case = NOMSYNC__MESSAGE__BODY_HELLO;
	m.hello = &h;
	feed(p, &m);
}

/* An Events message carrying chain[from-1 .. to-1]. */
static void feed_events(ns__peer *p, uint64_t batch, int from, int to)
{
	Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
	Nomsync__Events e = NOMSYNC__EVENTS__INIT;
	ProtobufCBinaryData items[8];
	for (int i = from; i <= to; i++) {
		items[i - from].data = chain[i - 1]->raw;
		items[i - from].len = chain[i - 1]->raw_len;
	}
	e.events = items;
	e.n_events = (size_t)(to - from + 1);
	e.batch = batch;
	m.body_case = NOMSYNC__MESSAGE__BODY_EVENTS;
	m.events = &e;
	feed(p, &m);
}

static void feed_ack(ns__peer *p, uint64_t batch)
{
	Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
	Nomsync__Ack a = NOMSYNC__ACK__INIT;
	a.batch = batch;
	a.credit = 1;
	m.body_case = NOMSYNC__MESSAGE__BODY_ACK;
	m.ack = &a;
	feed(p, &m);
}

/* An Events message of @p n events, each @p ev. */
static void feed_same(ns__peer *p, uint64_t batch, const ns_event *ev, size_t n)
{
	Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
	Nomsync__Events e = NOMSYNC__EVENTS__INIT;
	ProtobufCBinaryData *items = calloc(n, sizeof(*items));
	for (size_t i = 0; i < n; i++) {
		items[i].data = ev->raw;
		items[i].len = ev->raw_len;
	}
	e.events = items;
	e.n_events = n;
	e.batch = batch;
	m.body_case = NOMSYNC__MESSAGE__BODY_EVENTS;
	m.events = &e;
	feed(p, &m);
	free(items);
}

/* A store counter's value (0 if absent). */
static uint64_t counter(ns_node *n, const char *name)
{
	ns_counter *c;
	size_t nc;
	uint64_t v = 0;
	if (ns_store_counters(n->store, &c, &nc) != 0)
		return 0;
	for (size_t i = 0; i < nc; i++)
		if (strcmp(c[i].name, name) == 0)
			v = c[i].value;
	free(c);
	return v;
}

/* The node holds chain[0 .. n-1]. */
static void hold(ns_node *n, int count)
{
	int res[8] = { 0 };
	ns_sigcheck_report r;
	CHECK_INT(ns_store_ingest(n->store, chain, (size_t)count, 0, res, NULL), 0);
	/* Relayed once their own signatures are checked (chain-tip verification covered them). */
	CHECK_INT(ns_store_verify_pending(n->store, NULL, 100, 1, &r, NULL), 0);
	CHECK_INT(r.left, 0);
	ns__refresh_vector(n);
}

static void test_hello(void)
{
	ns__peer *p;
	ns_node *n = node_new(&p);

	hold(n, 3);
	feed_hello(p, 4, 7, 0);
	CHECK(p->up && p->hello_seen);
	CHECK_INT(p->remote_session, 7);
	/* Our Hello back (we had not sent one), then the three events it lacks in one batch. */
	CHECK_INT(nsent, 2);
	Nomsync__Message *h = sent_first(NOMSYNC__MESSAGE__BODY_HELLO);
	CHECK(h != NULL && h == sent[0]);
	if (h) {
		CHECK_INT(h->hello->version, 1);
		CHECK_STR(h->hello->site, "HUBNE");
		CHECK_INT(h->hello->window, n->cfg.window);
		CHECK_INT(h->hello->session, 99);
		CHECK_INT(h->hello->n_vector, 1);
		CHECK_INT(h->hello->n_vector ? h->hello->vector[0]->seq : 0, 3);
	}
	Nomsync__Message *ev = sent_first(NOMSYNC__MESSAGE__BODY_EVENTS);
	CHECK(ev != NULL);
	if (ev) {
		CHECK_INT(ev->events->n_events, 3);
		CHECK_INT(ev->events->batch, 1);
	}
	CHECK_INT(p->credit, 3); /* its window of 4, one used */
	CHECK_INT(p->outstanding, 1);
	CHECK_INT(ns__behind(n, p), 0);
	/* The same session again, everything acknowledged: nothing more to send. */
	sent_clear();
	feed_ack(p, 1);
	CHECK_INT(p->outstanding, 0);
	CHECK_INT(p->credit, 4);
	feed_hello(p, 4, 7, 3);
	CHECK_INT(nsent, 0);
	/* A Hello of another protocol version is ignored. */
	Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
	Nomsync__Hello bad = NOMSYNC__HELLO__INIT;
	bad.version = 2;
	bad.session = 8;
	m.body_case = NOMSYNC__MESSAGE__BODY_HELLO;
	m.hello = &bad;
	feed(p, &m);
	CHECK_INT(p->remote_session, 7);
	CHECK_INT(nsent, 0);
	node_free(n);
}

static void test_credit(void)
{
	ns__peer *p;
	ns_node *n = node_new(&p);

	n->cfg.batch = 1; /* one event per Events message */
	hold(n, 3);
	feed_hello(p, 2, 7, 0);
	CHECK_INT(sent_count(NOMSYNC__MESSAGE__BODY_EVENTS), 2); /* window 2: two batches, then stop */
	CHECK_INT(p->credit, 0);
	CHECK_INT(ns__behind(n, p), 1);
	/* Credit exhausted: a pump sends nothing. */
	sent_clear();
	ns__pump(p);
	CHECK_INT(nsent, 0);
	/* An Ack returns one credit: exactly one more batch, the third event. */
	feed_ack(p, 1);
	CHECK_INT(nsent, 1);
	Nomsync__Message *ev = sent_first(NOMSYNC__MESSAGE__BODY_EVENTS);
	CHECK(ev != NULL && ev->events->n_events == 1 && ev->events->batch == 3);
	CHECK_INT(p->credit, 0);
	CHECK_INT(ns__behind(n, p), 0);
	/* A send that fails drops the credit until the next Hello. */
	sent_clear();
	feed_ack(p, 2);
	feed_ack(p, 3);
	CHECK_INT(p->credit, 2);
	CHECK_INT(nsent, 0); /* nothing left to send */
	hold(n, 4);
	send_fails = 1;
	ns__pump(p);
	send_fails = 0;
	CHECK_INT(p->credit, 0);
	node_free(n);
}

static void test_events_in_order_and_gap(void)
{
	ns__peer *p;
	ns_node *n = node_new(&p);

	feed_hello(p, 4, 7, 0);
	sent_clear();
	feed_events(p, 11, 1, 3);
	CHECK_INT(nqueued, 1);
	CHECK_INT(p->queued, 1);
	CHECK_INT(p->recv_events, 3);
	CHECK_INT(ns__vec_get(p->their, p->ntheir, mdi.pk), 3); /* never sent back to them */
	CHECK_INT(nsent, 0);                                      /* nothing until committed */
	CHECK_INT(commit_all(), 0);
	CHECK_INT(p->queued, 0);
	CHECK_INT(ns__vec_get(n->vv, n->nvv, mdi.pk), 3);
	CHECK_INT(nsent, 1);
	Nomsync__Message *a = sent_first(NOMSYNC__MESSAGE__BODY_ACK);
	CHECK(a != NULL && a->ack->batch == 11 && a->ack->credit == 1);
	CHECK_INT(sent_count(NOMSYNC__MESSAGE__BODY_PULL), 0);

	/* 6..7 with 4..5 missing: held, and a Pull from 4 goes before the Ack. */
	sent_clear();
	feed_events(p, 12, 6, 7);
	CHECK_INT(commit_all(), 0);
	CHECK_INT(ns__vec_get(n->vv, n->nvv, mdi.pk), 3);
	CHECK_INT(nsent, 3);
	CHECK(sent[0] && sent[0]->body_case == NOMSYNC__MESSAGE__BODY_PULL);
	Nomsync__Message *pl = sent_first(NOMSYNC__MESSAGE__BODY_PULL);
	CHECK(pl != NULL && pl->pull->from == 4 && pl->pull->origin.len == NS_KEY_BYTES &&
	      memcmp(pl->pull->origin.data, mdi.pk, NS_KEY_BYTES) == 0);
	CHECK(sent[2] && sent[2]->body_case == NOMSYNC__MESSAGE__BODY_ACK && sent[2]->ack->batch == 12);
	CHECK_INT(p->rejected, 0);

	/* The gap filled: 4..7 applied. */
	sent_clear();
	feed_events(p, 13, 4, 5);
	CHECK_INT(commit_all(), 0);
	CHECK_INT(ns__vec_get(n->vv, n->nvv, mdi.pk), 7);
	CHECK_INT(sent_count(NOMSYNC__MESSAGE__BODY_PULL), 0);

	/* An empty Events message is acknowledged at once, nothing queued. */
	sent_clear();
	feed_events(p, 14, 1, 0);
	CHECK_INT(nqueued, 0);
	CHECK(nsent == 1 && sent[0] && sent[0]->body_case == NOMSYNC__MESSAGE__BODY_ACK && sent[0]->ack->batch == 14);
	node_free(n);
}

static void test_pull(void)
{
	ns__peer *p;
	ns_node *n = node_new(&p);

	hold(n, 5);
	feed_hello(p, 4, 7, 5); /* it holds everything */
	CHECK_INT(sent_count(NOMSYNC__MESSAGE__BODY_EVENTS), 0);
	sent_clear();
	Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
	Nomsync__Pull pl = NOMSYNC__PULL__INIT;
	pl.origin.data = mdi.pk;
	pl.origin.len = NS_KEY_BYTES;
	pl.from = 3;
	m.body_case = NOMSYNC__MESSAGE__BODY_PULL;
	m.pull = &pl;
	feed(p, &m);
	Nomsync__Message *ev = sent_first(NOMSYNC__MESSAGE__BODY_EVENTS);
	CHECK(ev != NULL && ev->events->n_events == 3);
	if (ev) {
		ns_event *first = NULL;
		CHECK_INT(ns_event_decode(ev->events->events[0].data, ev->events->events[0].len, &first, NULL), 0);
		CHECK_INT(first ? first->seq : 0, 3);
		ns_event_free(first);
	}
	/* A Pull with a short origin is ignored. */
	sent_clear();
	pl.origin.len = 5;
	feed(p, &m);
	CHECK_INT(nsent, 0);
	node_free(n);
}

/*
 * Payloads (issue 10.1): events that arrive stripped make the node ask its
 * peers for them by id; a PayloadPull is answered with the complete copies
 * held, within the peer's credit, never with stripped ones.
 */
static void test_payload_pull(void)
{
	ns__peer *p;
	ns_node *n = node_new(&p);
	ns_event *stripped[3];

	feed_hello(p, 4, 7, 0);
	sent_clear();
	Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
	Nomsync__Events e = NOMSYNC__EVENTS__INIT;
	ProtobufCBinaryData items[3];
	for (int i = 0; i < 3; i++) {
		uint8_t *buf;
		size_t len;
		CHECK_INT(ns_event_encode_erased(chain[i], &buf, &len), 0);
		CHECK_INT(ns_event_decode(buf, len, &stripped[i], NULL), 0);
		free(buf);
		items[i].data = stripped[i]->raw;
		items[i].len = stripped[i]->raw_len;
	}
	e.events = items;
	e.n_events = 3;
	e.batch = 1;
	m.body_case = NOMSYNC__MESSAGE__BODY_EVENTS;
	m.events = &e;
	feed(p, &m);
	CHECK_INT(commit_all(), 0);
	Nomsync__Message *pull = sent_first(NOMSYNC__MESSAGE__BODY_PAYLOAD_PULL);
	CHECK(pull != NULL && pull->payload_pull->n_ids == 3);
	if (pull && pull->payload_pull->n_ids == 3)
		CHECK(memcmp(pull->payload_pull->ids[0].data, chain[0]->id, NS_ID_BYTES) == 0);

	/* The other way: a pull answered with complete copies only. */
	node_free(n);
	n = node_new(&p);
	hold(n, 2);
	feed_hello(p, 4, 8, 0);
	sent_clear();
	Nomsync__PayloadPull pp = NOMSYNC__PAYLOAD_PULL__INIT;
	ProtobufCBinaryData ids[3] = { { NS_ID_BYTES, chain[0]->id }, { NS_ID_BYTES, chain[5]->id },
				       { NS_ID_BYTES, chain[1]->id } };
	pp.ids = ids;
	pp.n_ids = 3;
	m.body_case = NOMSYNC__MESSAGE__BODY_PAYLOAD_PULL;
	m.payload_pull = &pp;
	unsigned credit = p->credit;
	feed(p, &m);
	Nomsync__Message *ev = sent_first(NOMSYNC__MESSAGE__BODY_EVENTS);
	CHECK(ev != NULL && ev->events->n_events == 2);
	if (ev && ev->events->n_events == 2)
		CHECK(ev->events->events[1].len == chain[1]->raw_len &&
		      memcmp(ev->events->events[1].data, chain[1]->raw, chain[1]->raw_len) == 0);
	CHECK_INT(p->credit, credit - 1);
	/* Without credit, nothing is sent (the puller asks again later). */
	sent_clear();
	p->credit = 0;
	feed(p, &m);
	CHECK_INT(sent_count(NOMSYNC__MESSAGE__BODY_EVENTS), 0);
	for (int i = 0; i < 3; i++)
		ns_event_free(stripped[i]);
	node_free(n);
}

static void test_malformed(void)
{
	ns__peer *p;
	ns_node *n = node_new(&p);
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0x0f };
	ns_counter *c;
	size_t nc;
	uint64_t frames = 0;

	ns__handle(p, junk, sizeof(junk));
	CHECK_INT(n->frames_rejected, 1);
	CHECK_INT(nqueued, 0);
	CHECK(p->up); /* it is talking, if badly */
	CHECK_INT(ns_store_counters(n->store, &c, &nc), 0);
	for (size_t i = 0; i < nc; i++)
		if (strcmp(c[i].name, "rejected.frame") == 0)
			frames = c[i].value;
	free(c);
	CHECK_INT(frames, 1);

	/* An empty Message (no body) is rejected too, after a Hello to start the session. */
	Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
	feed(p, &m);
	CHECK_INT(n->frames_rejected, 2);
	CHECK_INT(sent_count(NOMSYNC__MESSAGE__BODY_HELLO), 1);

	/* An event that does not decode is counted and carried as a rejection. */
	Nomsync__Events e = NOMSYNC__EVENTS__INIT;
	ProtobufCBinaryData items[2] = { { chain[0]->raw_len, chain[0]->raw }, { sizeof(junk), (uint8_t *)junk } };
	e.events = items;
	e.n_events = 2;
	e.batch = 1;
	m.body_case = NOMSYNC__MESSAGE__BODY_EVENTS;
	m.events = &e;
	feed(p, &m);
	CHECK_INT(n->events_rejected, 1);
	CHECK_INT(nqueued, 1);
	CHECK(nqueued == 1 && queued[0]->evs[1] == NULL && queued[0]->res[1] < 0);
	CHECK_INT(commit_all(), 0);
	CHECK_INT(p->rejected, 1);
	CHECK_INT(ns__vec_get(n->vv, n->nvv, mdi.pk), 1);

	/* A batch over the limit is dropped whole. */
	ProtobufCBinaryData *many = calloc(NS__BATCH_MAX_EVENTS + 1, sizeof(*many));
	e.events = many;
	e.n_events = NS__BATCH_MAX_EVENTS + 1;
	feed(p, &m);
	free(many);
	CHECK_INT(n->frames_rejected, 3);
	CHECK_INT(nqueued, 0);
	node_free(n);
}

static void test_proofs(void)
{
	ns__peer *p;
	ns_node *n = node_new(&p);
	Nomsync__Payload *pl = ns_test_received("MDI");
	ns_event *twin = NULL;
	Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
	Nomsync__Proof pr = NOMSYNC__PROOF__INIT;

	hold(n, 2);
	feed_hello(p, 4, 7, 2);
	sent_clear();
	/* Two different events signed for MDI seq 2: an equivocation. */
	CHECK_INT(ns_event_build(&mdi, 2, chain[0]->id, 1704070000, 1704070000, "A1234BC", pl, &twin), 0);
	nomsync__payload__free_unpacked(pl, NULL);
	pr.a.data = chain[1]->raw;
	pr.a.len = chain[1]->raw_len;
	pr.b.data = twin->raw;
	pr.b.len = twin->raw_len;
	m.body_case = NOMSYNC__MESSAGE__BODY_PROOF;
	m.proof = &pr;
	feed(p, &m);
	CHECK_INT(refreshes > 0, 1);
	CHECK(n->nvv == 1 && n->vv[0].quarantined);
	CHECK_INT(n->frames_rejected, 0);
	/* Relayed to every peer that is up, the sender included. */
	Nomsync__Message *out = sent_first(NOMSYNC__MESSAGE__BODY_PROOF);
	CHECK(out != NULL);
	if (out)
		CHECK(out->proof->a.len + out->proof->b.len == chain[1]->raw_len + twin->raw_len);
	/* A quarantined origin is never sent, however far behind a peer is. */
	CHECK_INT(ns__behind(n, p), 0);

	/* Not a proof (the same event twice): rejected and counted. */
	sent_clear();
	pr.b.data = chain[1]->raw;
	pr.b.len = chain[1]->raw_len;
	feed(p, &m);
	CHECK_INT(n->frames_rejected, 1);
	CHECK_INT(sent_count(NOMSYNC__MESSAGE__BODY_PROOF), 0);
	ns_event_free(twin);
	node_free(n);
}

static void test_timers(void)
{
	ns__peer *p;
	ns_node *n = node_new(&p);
	uint64_t t;

	hold(n, 3);
	feed_hello(p, 4, 7, 0);
	CHECK_INT(p->outstanding, 1);
	sent_clear();
	/* No Ack for longer than the peer timeout: resend from what its Hello said. */
	t = p->last_rx + (uint64_t)(n->cfg.peer_timeout * 1000) + 1;
	ns__peer_tick(p, t);
	CHECK_INT(p->up, 0); /* and no contact either: down */
	CHECK_INT(p->outstanding, 0);
	CHECK_INT(p->credit, n->cfg.window);
	CHECK_INT(ns__behind(n, p), 3);
	CHECK_INT(sent_count(NOMSYNC__MESSAGE__BODY_HELLO), 1); /* outbound, no session: Hello again */
	/* Heartbeats go to peers whose Hello was seen; anti-entropy Hellos to outbound peers. */
	sent_clear();
	n->last_ae = n->last_hb = 0;
	ns__proto_timers(n, t);
	CHECK_INT(sent_count(NOMSYNC__MESSAGE__BODY_HELLO), 1);
	CHECK_INT(sent_count(NOMSYNC__MESSAGE__BODY_PING), 0);
	node_free(n);
}

/*
 * Issue 10, item 5: a peer's batch over the agreed size is refused before it
 * is queued, and the peer is ignored for the back-off, then heard again.
 */
static void test_batch_size(void)
{
	ns__peer *p;
	ns_node *n = node_new(&p);

	n->cfg.batch = 4;
	n->cfg.resend_interval = 0;
	feed_hello(p, 4, 7, 0);
	sent_clear();
	feed_same(p, 1, chain[0], 5);
	CHECK_INT(nqueued, 0);
	CHECK_INT(counter(n, "rejected.batch_size"), 1);
	CHECK(p->ignore_until > 0 && !p->up && !p->hello_seen);
	CHECK_INT(n->frames_rejected, 1);
	/* During the back-off: everything it sends is dropped unread, nothing goes to it. */
	feed_events(p, 2, 1, 2);
	feed_hello(p, 4, 8, 0);
	CHECK_INT(nqueued, 0);
	CHECK_INT(p->ignored_frames, 2);
	CHECK(!p->hello_seen);
	ns__pump(p);
	ns__proto_timers(n, uv_now(&loop) + 100000);
	CHECK_INT(sent_count(NOMSYNC__MESSAGE__BODY_EVENTS), 0);
	/* Back-off over: heard again; a batch within the size is taken. */
	p->ignore_until = 1;
	feed_hello(p, 4, 9, 0);
	CHECK(p->up && p->hello_seen && p->ignore_until == 0);
	feed_same(p, 3, chain[0], 4);
	CHECK_INT(nqueued, 1);
	CHECK_INT(commit_all(), 0);
	/* Our Hello states the batch we accept; we send a peer at most what its Hello states. */
	Nomsync__Message *h = sent_first(NOMSYNC__MESSAGE__BODY_HELLO);
	CHECK(h != NULL && h->hello->batch == 4);
	node_free(n);

	n = node_new(&p);
	hold(n, 5);
	Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
	Nomsync__Hello hl = NOMSYNC__HELLO__INIT;
	hl.version = 1;
	hl.window = 4;
	hl.session = 3;
	hl.batch = 2;
	m.body_case = NOMSYNC__MESSAGE__BODY_HELLO;
	m.hello = &hl;
	feed(p, &m);
	CHECK_INT(sent_count(NOMSYNC__MESSAGE__BODY_EVENTS), 3);
	for (size_t i = 0; i < nsent; i++)
		if (sent[i] && sent[i]->body_case == NOMSYNC__MESSAGE__BODY_EVENTS)
			CHECK(sent[i]->events->n_events <= 2);
	node_free(n);
}

/*
 * Issue 10, item 5: Events beyond the credit (two windows unacknowledged)
 * are refused undecoded and the peer is backed off; the queue's bytes are
 * counted, and a full queue says so.
 */
static void test_credit_and_queue(void)
{
	ns__peer *p;
	ns_node *n = node_new(&p);

	n->cfg.window = 2;
	feed_hello(p, 4, 7, 0);
	for (int i = 1; i <= 4; i++)
		feed_events(p, (uint64_t)i, i, i);
	CHECK_INT(nqueued, 4);
	CHECK_INT(p->queued, 4);
	CHECK(n->qbytes > 4 * chain[0]->raw_len);
	CHECK(!ns__ingest_full(n));
	n->cfg.ingest_queue = n->qbytes;
	CHECK(ns__ingest_full(n));
	feed_events(p, 5, 5, 5);
	CHECK_INT(nqueued, 4);
	CHECK_INT(counter(n, "rejected.credit"), 1);
	CHECK(p->ignore_until > 0);
	CHECK_INT(commit_all(), 0);
	CHECK_INT(p->queued, 0);
	CHECK_INT(n->qbytes, 0);
	CHECK(!ns__ingest_full(n));
	CHECK_INT(ns__vec_get(n->vv, n->nvv, mdi.pk), 4);
	node_free(n);
}

/*
 * Issue 10, item 11a: Hellos with fresh session ids make at most one full
 * resend per resend_interval; the others are deferred and counted.
 */
static void test_hello_flood(void)
{
	ns__peer *p;
	ns_node *n = node_new(&p);
	uint64_t t = uv_now(&loop);

	hold(n, 3);
	feed_hello(p, 4, 7, 0);
	CHECK_INT(sent_count(NOMSYNC__MESSAGE__BODY_EVENTS), 1);
	sent_clear();
	for (uint64_t s = 8; s < 18; s++)
		feed_hello(p, 4, s, 0);
	feed_hello(p, 4, 17, 0); /* the deferred session again: not counted twice */
	CHECK_INT(sent_count(NOMSYNC__MESSAGE__BODY_EVENTS), 0);
	CHECK_INT(p->remote_session, 7);
	CHECK_INT(p->hellos_refused, 10);
	CHECK(p->deferred && p->deferred_session == 17);
	/* Not yet: still within the interval. */
	ns__peer_tick(p, t + 1000);
	CHECK_INT(sent_count(NOMSYNC__MESSAGE__BODY_EVENTS), 0);
	CHECK_INT(counter(n, "rejected.hello"), 10);
	/* The interval over: the last session starts, with one full resend. */
	ns__peer_tick(p, t + (uint64_t)(n->cfg.resend_interval * 1000));
	CHECK_INT(p->remote_session, 17);
	CHECK(!p->deferred);
	CHECK_INT(sent_count(NOMSYNC__MESSAGE__BODY_EVENTS), 1);
	node_free(n);
}

/*
 * Issue 10, item 11b: a claim to hold more of this site's own events than it
 * has holds appends only while backed by our signed event at that seq, or
 * for claim_timeout while we pull; then it is ignored and counted.
 */
static void test_claim(void)
{
	ns__peer *p;
	ns_node *n = node_new(&p);
	ns_identity me = *ns_store_identity(n->store);
	Nomsync__Payload *pl = ns_test_received("MDI");
	ns_event *own = NULL;
	uint64_t t = uv_now(&loop);
	Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
	Nomsync__Hello h = NOMSYNC__HELLO__INIT;
	Nomsync__VectorEntry e = NOMSYNC__VECTOR_ENTRY__INIT, *ep = &e;

	e.origin.data = me.pk;
	e.origin.len = NS_KEY_BYTES;
	e.seq = 3;
	h.version = 1;
	h.window = 4;
	h.session = 5;
	h.vector = &ep;
	h.n_vector = 1;
	m.body_case = NOMSYNC__MESSAGE__BODY_HELLO;
	m.hello = &h;
	feed(p, &m);
	sent_clear();
	CHECK_INT(ns__own_claim(p, 0, t), 3); /* it counts while we wait, and we ask for the events */
	Nomsync__Message *pull = sent_first(NOMSYNC__MESSAGE__BODY_PULL);
	CHECK(pull != NULL && pull->pull->from == 1 && memcmp(pull->pull->origin.data, me.pk, NS_KEY_BYTES) == 0);
	CHECK_INT(ns__own_claim(p, 0, t + (uint64_t)(n->cfg.claim_timeout * 1000)), 3);
	CHECK_INT(counter(n, "rejected.claim"), 0);
	/* Nothing came: ignored, counted once, and it stays ignored. */
	CHECK_INT(ns__own_claim(p, 0, t + (uint64_t)(n->cfg.claim_timeout * 1000) + 1), 0);
	CHECK_INT(ns__own_claim(p, 0, t + (uint64_t)(n->cfg.claim_timeout * 2000)), 0);
	CHECK_INT(counter(n, "rejected.claim"), 1);
	/* A corrupt copy of our event at that seq backs nothing. */
	CHECK_INT(ns_event_build(&me, 3, NULL, 1704067200, 1704067200, "A1234BC", pl, &own), 0);
	nomsync__payload__free_unpacked(pl, NULL);
	own->raw[own->raw_len - 1] ^= 1;
	feed_same(p, 1, own, 1);
	CHECK_INT(commit_all(), 0);
	CHECK_INT(p->backed_mine, 0);
	CHECK_INT(ns__own_claim(p, 0, t + (uint64_t)(n->cfg.claim_timeout * 2000)), 0);
	/* Our signed event at seq 3 backs the claim, however late. */
	own->raw[own->raw_len - 1] ^= 1;
	feed_same(p, 2, own, 1);
	CHECK_INT(commit_all(), 0);
	CHECK_INT(p->backed_mine, 3);
	CHECK_INT(ns__own_claim(p, 0, t + (uint64_t)(n->cfg.claim_timeout * 2000)), 3);
	ns_event_free(own);
	node_free(n);
}

int main(void)
{
	if (mkdtemp(tmproot) == NULL || uv_loop_init(&loop) != 0)
		return 1;
	ns_crypto_init();
	ns_log_level = NS_LOG_ERROR + 1;
	chain_make();
	RUN(test_hello);
	RUN(test_credit);
	RUN(test_events_in_order_and_gap);
	RUN(test_pull);
	RUN(test_payload_pull);
	RUN(test_malformed);
	RUN(test_proofs);
	RUN(test_timers);
	RUN(test_batch_size);
	RUN(test_credit_and_queue);
	RUN(test_hello_flood);
	RUN(test_claim);
	for (int i = 0; i < 8; i++)
		ns_event_free(chain[i]);
	uv_loop_close(&loop);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmproot);
	if (system(cmd) != 0)
		return 1;
	return TEST_SUMMARY();
}
