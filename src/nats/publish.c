/*
 * The publisher thread: every stored event to <prefix>.event.<type>, every
 * touched person's view to <prefix>.view.<ref>, asynchronously, with the
 * acknowledged positions kept in the store (see nomsync/nats.h).
 */
#include "nats/nats_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- version vectors of positions ------------------------------------------- */

static uint64_t ns__vget(const ns__nvec *v, const uint8_t *origin)
{
	for (size_t i = 0; i < v->n; i++)
		if (memcmp(v->v[i].origin, origin, NS_KEY_BYTES) == 0)
			return v->v[i].seq;
	return 0;
}

static int ns__vset(ns__nvec *v, const uint8_t *origin, uint64_t seq)
{
	for (size_t i = 0; i < v->n; i++)
		if (memcmp(v->v[i].origin, origin, NS_KEY_BYTES) == 0) {
			v->v[i].seq = seq;
			return 0;
		}
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		ns__npos *p = realloc(v->v, cap * sizeof(*p));
		if (p == NULL)
			return NS_ENOMEM;
		v->v = p;
		v->cap = cap;
	}
	memcpy(v->v[v->n].origin, origin, NS_KEY_BYTES);
	v->v[v->n++].seq = seq;
	return 0;
}

static int ns__vcopy(ns__nvec *dst, const ns__nvec *src)
{
	dst->n = 0;
	for (size_t i = 0; i < src->n; i++)
		if (ns__vset(dst, src->v[i].origin, src->v[i].seq) != 0)
			return NS_ENOMEM;
	return 0;
}

static int ns__vequal(const ns__nvec *a, const ns__nvec *b)
{
	for (size_t i = 0; i < a->n; i++)
		if (ns__vget(b, a->v[i].origin) != a->v[i].seq)
			return 0;
	for (size_t i = 0; i < b->n; i++)
		if (ns__vget(a, b->v[i].origin) != b->v[i].seq)
			return 0;
	return 1;
}

/* Stored form: origin(32) seq(8 BE), repeated. */
static int ns__vload(ns_nats *n, const char *name, ns__nvec *v)
{
	uint8_t *buf;
	size_t len;
	int rc = ns_store_cursor_get(n->store, name, &buf, &len);

	if (rc == NS_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	for (size_t off = 0; rc == 0 && off + NS_KEY_BYTES + 8 <= len; off += NS_KEY_BYTES + 8) {
		uint64_t seq = 0;
		for (int i = 0; i < 8; i++)
			seq = seq << 8 | buf[off + NS_KEY_BYTES + i];
		rc = ns__vset(v, buf + off, seq);
	}
	free(buf);
	return rc;
}

static int ns__vsave(ns_nats *n, const char *name, const ns__nvec *v)
{
	uint8_t *buf = malloc(v->n * (NS_KEY_BYTES + 8) + 1);
	int rc;

	if (buf == NULL)
		return NS_ENOMEM;
	for (size_t i = 0; i < v->n; i++) {
		uint8_t *p = buf + i * (NS_KEY_BYTES + 8);
		memcpy(p, v->v[i].origin, NS_KEY_BYTES);
		for (int b = 0; b < 8; b++)
			p[NS_KEY_BYTES + b] = (uint8_t)(v->v[i].seq >> (56 - 8 * b));
	}
	rc = ns_store_cursor_put(n->store, name, buf, v->n * (NS_KEY_BYTES + 8));
	free(buf);
	return rc;
}

/* ---- batches in flight -------------------------------------------------------- */

/* The batch numbered @p no, or NULL (lock held). */
static ns__nbatch *ns__batch_find(ns_nats *n, uint64_t no)
{
	if (n->qlen == 0 || no < n->q[n->qhead].no || no - n->q[n->qhead].no >= n->qlen)
		return NULL;
	return &n->q[(n->qhead + (no - n->q[n->qhead].no)) % n->qcap];
}

/* A new open batch at the tail (lock held); NULL if the ring is full. */
static ns__nbatch *ns__batch_new(ns_nats *n, int kind)
{
	if (n->qlen == n->qcap)
		return NULL;
	ns__nbatch *b = &n->q[(n->qhead + n->qlen++) % n->qcap];
	memset(b, 0, sizeof(*b));
	b->no = n->next_no++;
	b->kind = kind;
	b->open = 1;
	return b;
}

/* ---- messages in flight -> their batches (lock held) ------------------------------ */

static size_t ns__slot_of(const ns_nats *n, const natsMsg *m)
{
	uint64_t x = (uint64_t)(uintptr_t)m;
	x ^= x >> 29;
	x *= 0x9E3779B97F4A7C15ull;
	return (size_t)(x >> 32) & (n->mapcap - 1);
}

/* Map @p m to batch @p no (replacing an entry of the same address: that message is gone). */
static void ns__map_put(ns_nats *n, natsMsg *m, uint64_t no)
{
	size_t i = ns__slot_of(n, m);
	while (n->map[i].m != NULL && n->map[i].m != m)
		i = (i + 1) & (n->mapcap - 1);
	if (n->map[i].m == NULL)
		n->maplen++;
	n->map[i].m = m;
	n->map[i].no = no;
}

/* Room for @p more entries at a load of at most one half. */
static int ns__map_reserve(ns_nats *n, size_t more)
{
	size_t cap = n->mapcap ? n->mapcap : 1024;
	while (2 * (n->maplen + more) > cap)
		cap *= 2;
	if (cap == n->mapcap)
		return 0;
	struct ns__nslot *old = n->map, *map = calloc(cap, sizeof(*map));
	size_t oldcap = n->mapcap;
	if (map == NULL)
		return NS_ENOMEM;
	n->map = map;
	n->mapcap = cap;
	n->maplen = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].m)
			ns__map_put(n, old[i].m, old[i].no);
	free(old);
	return 0;
}

/* Take @p m out of the map: 1 and its batch number in *no, or 0 if it is not there. */
static int ns__map_take(ns_nats *n, const natsMsg *m, uint64_t *no)
{
	size_t mask = n->mapcap - 1, i, j;

	if (n->mapcap == 0)
		return 0;
	for (i = ns__slot_of(n, m); n->map[i].m != m; i = (i + 1) & mask)
		if (n->map[i].m == NULL)
			return 0;
	*no = n->map[i].no;
	/* Backward-shift deletion: move up the entries of the run that would no longer be found. */
	for (j = (i + 1) & mask; n->map[j].m != NULL; j = (j + 1) & mask) {
		size_t home = ns__slot_of(n, n->map[j].m);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			n->map[i] = n->map[j];
			i = j;
		}
	}
	n->map[i].m = NULL;
	n->maplen--;
	return 1;
}

void ns__nats_on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
	ns_nats *n = closure;
	uint64_t no = 0;

	(void)js;
	(void)pa;
	pthread_mutex_lock(&n->lock);
	ns__nbatch *b = ns__map_take(n, msg, &no) ? ns__batch_find(n, no) : NULL;
	if (b != NULL && b->pending > 0) {
		b->pending--;
		n->inflight--;
		if (pae != NULL) {
			if (!b->failed)
				n->st.failed++;
			b->failed = 1;
		} else if (b->kind == NS__NB_EVENTS)
			n->st.published++;
		else
			n->st.views_published++;
		if (b->pending == 0 && !b->open)
			pthread_cond_broadcast(&n->cond); /* a batch settled */
	}
	pthread_mutex_unlock(&n->lock);
	natsMsg_Destroy(msg);
}

/* ---- the publisher's state ------------------------------------------------------ */

typedef struct ns__pub {
	ns_nats *n;
	ns__nvec acked;    /* E: events acknowledged (durable as "nats.events") */
	ns__nvec viewed;   /* V: events whose persons' views are acknowledged ("nats.views") */
	ns__nvec read;     /* events handed to NATS */
	int dirty;         /* acked or viewed changed since saved */
	int resetting;     /* a publish failed: wait for the rest to settle, then resend */
	int64_t last_save, last_view, last_lag;
	ns__vpass pass;
	jsPubOptions po;
	char subj[256];
	/* the batch being published, and its messages made ready (ns__add, ns__flush) */
	ns__nbatch *cur;
	uint64_t cur_no;
	natsMsg **ready;
	size_t nready, capready;
	/* encoders: the batch's seqs split among this thread and nworkers helpers */
	pthread_t workers[NS__NATS_ENCODERS - 1];
	size_t nworkers;
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_go, pool_done;
	uint64_t gen;      /* job generation */
	size_t busy;       /* helpers still encoding the current job */
	int quit;
	struct ns__part *parts;
} ns__pub;

static void ns__pass_end(ns__vpass *p)
{
	free(p->snap.v);
	free(p->refs);
	memset(p, 0, sizeof(*p));
}

/* Make one message of the current batch ready: @p id (hex) as Nats-Msg-Id, or none. */
static int ns__add(ns__pub *p, const char *subj, const char *data, size_t len, const char *id)
{
	natsMsg *m = NULL;

	if (p->nready == p->capready) {
		size_t cap = p->capready ? p->capready * 2 : 256;
		natsMsg **r = realloc(p->ready, cap * sizeof(*r));
		if (r == NULL)
			return NS_ENOMEM;
		p->ready = r;
		p->capready = cap;
	}
	if (natsMsg_Create(&m, subj, NULL, data, (int)len) != NATS_OK ||
	    (id && natsMsgHeader_Set(m, "Nats-Msg-Id", id) != NATS_OK)) {
		natsMsg_Destroy(m);
		return NS_ENOMEM;
	}
	p->ready[p->nready++] = m;
	return 0;
}

/*
 * Publish the ready messages (counted as pending and mapped to the batch first, under one lock);
 * one that libnats does not take is never acknowledged: it and the rest
 * are uncounted and the batch fails.
 */
static int ns__flush(ns__pub *p)
{
	ns_nats *n = p->n;
	size_t i = 0, count = p->nready;

	pthread_mutex_lock(&n->lock);
	int room = ns__map_reserve(n, count) == 0;
	for (size_t j = 0; room && j < count; j++)
		ns__map_put(n, p->ready[j], p->cur_no);
	p->cur->pending += count;
	p->cur->msgs += count;
	n->inflight += count;
	pthread_mutex_unlock(&n->lock);
	for (; room && i < count; i++)
		if (js_PublishMsgAsync(n->js_pub, &p->ready[i], &p->po) != NATS_OK)
			break;
	p->nready = 0;
	if (i == count)
		return 0;
	pthread_mutex_lock(&n->lock);
	for (size_t j = i; j < count; j++) {
		uint64_t no;
		if (room)
			ns__map_take(n, p->ready[j], &no);
		natsMsg_Destroy(p->ready[j]);
	}
	ns__nbatch *b = ns__batch_find(n, p->cur_no);
	b->pending -= count - i;
	n->inflight -= count - i;
	if (!b->failed)
		n->st.failed++;
	b->failed = 1;
	pthread_mutex_unlock(&n->lock);
	return NS_ENATS;
}

static int ns__begin(ns__pub *p, int kind)
{
	pthread_mutex_lock(&p->n->lock);
	p->cur = ns__batch_new(p->n, kind);
	p->cur_no = p->cur ? p->cur->no : 0;
	pthread_mutex_unlock(&p->n->lock);
	return p->cur ? 0 : NS_EAGAIN;
}

static void ns__close(ns__pub *p, const uint8_t *origin, uint64_t to_seq, int final)
{
	pthread_mutex_lock(&p->n->lock);
	ns__nbatch *b = ns__batch_find(p->n, p->cur_no);
	if (origin)
		memcpy(b->origin, origin, NS_KEY_BYTES);
	b->to_seq = to_seq;
	b->final = final;
	b->open = 0;
	pthread_mutex_unlock(&p->n->lock);
	p->cur = NULL;
}

/* ---- events ---------------------------------------------------------------------- */

/* One encoder's share of a batch: events start .. end - 1 of an origin into slot[seq - start]. */
typedef struct ns__part {
	ns__pub *p;
	const uint8_t *origin;
	uint64_t start, end, last; /* last: the highest seq encoded (0 if none) */
	natsMsg **slot;
	int64_t now;
	int rc;
	char subj[256];
	ns__ntext text; /* the envelope being written (its buffer reused) */
} ns__part;

static int ns__on_event(void *arg, const ns_event *ev)
{
	ns__part *pt = arg;
	const char *tname = ns_type_name(ev->type);
	char id[2 * NS_ID_BYTES + 1];
	natsMsg *m = NULL;

	if (ev->seq >= pt->end)
		return 1; /* past this share (revoked events were passed over) */
	if (ns__nats_envelope_to(&pt->text, ev, pt->now) != 0)
		return pt->rc = NS_ENOMEM;
	if (tname)
		snprintf(pt->subj, sizeof(pt->subj), "%s.event.%s", pt->p->n->conf.prefix, tname);
	else
		snprintf(pt->subj, sizeof(pt->subj), "%s.event.type-%u", pt->p->n->conf.prefix, (unsigned)ev->type);
	ns_hex(id, ev->id, NS_ID_BYTES);
	if (natsMsg_Create(&m, pt->subj, NULL, pt->text.p, (int)pt->text.len) != NATS_OK ||
	    natsMsgHeader_Set(m, "Nats-Msg-Id", id) != NATS_OK) {
		natsMsg_Destroy(m);
		pt->rc = NS_ENOMEM;
	} else {
		pt->slot[ev->seq - pt->start] = m;
		pt->last = ev->seq;
	}
	return pt->rc;
}

static void ns__encode(ns__part *pt)
{
	int rc = pt->end > pt->start ? ns_store_read_range(pt->p->n->store, pt->origin, pt->start,
							   (size_t)(pt->end - pt->start), (size_t)64 << 20,
							   ns__on_event, pt)
				     : 0;
	if (pt->rc == 0 && rc < 0)
		pt->rc = rc;
}

static void *ns__encoder(void *arg)
{
	ns__part *pt = arg;
	ns__pub *p = pt->p;
	uint64_t seen = 0;

	pthread_mutex_lock(&p->pool_lock);
	for (;;) {
		while (!p->quit && p->gen == seen)
			pthread_cond_wait(&p->pool_go, &p->pool_lock);
		if (p->quit)
			break;
		seen = p->gen;
		pthread_mutex_unlock(&p->pool_lock);
		ns__encode(pt);
		pthread_mutex_lock(&p->pool_lock);
		if (--p->busy == 0)
			pthread_cond_signal(&p->pool_done);
	}
	pthread_mutex_unlock(&p->pool_lock);
	return NULL;
}

/* Start the helpers (as many as there are other CPUs, at most NS__NATS_ENCODERS - 1). */
static int ns__pool_start(ns__pub *p)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t want = cpus > 1 ? (size_t)cpus - 1 : 0;

	if (want > NS__NATS_ENCODERS - 1)
		want = NS__NATS_ENCODERS - 1;
	pthread_mutex_init(&p->pool_lock, NULL);
	pthread_cond_init(&p->pool_go, NULL);
	pthread_cond_init(&p->pool_done, NULL);
	if ((p->parts = calloc(NS__NATS_ENCODERS, sizeof(*p->parts))) == NULL)
		return NS_ENOMEM;
	for (size_t i = 0; i < NS__NATS_ENCODERS; i++)
		p->parts[i].p = p;
	for (; p->nworkers < want; p->nworkers++)
		if (pthread_create(&p->workers[p->nworkers], NULL, ns__encoder, &p->parts[p->nworkers + 1]) != 0)
			break;
	return 0;
}

static void ns__pool_stop(ns__pub *p)
{
	if (p->parts == NULL)
		return;
	pthread_mutex_lock(&p->pool_lock);
	p->quit = 1;
	pthread_cond_broadcast(&p->pool_go);
	pthread_mutex_unlock(&p->pool_lock);
	for (size_t i = 0; i < p->nworkers; i++)
		pthread_join(p->workers[i], NULL);
	pthread_cond_destroy(&p->pool_done);
	pthread_cond_destroy(&p->pool_go);
	pthread_mutex_destroy(&p->pool_lock);
	for (size_t i = 0; i < NS__NATS_ENCODERS; i++)
		free(p->parts[i].text.p);
	free(p->parts);
}

/*
 * Encode events from + 1 .. from + count of @p origin into p->ready (in
 * seq order, revoked ones left out), split among the encoders.
 * @return 0 or the first error; *last: the highest seq encoded (from if none)
 */
static int ns__encode_batch(ns__pub *p, const uint8_t *origin, uint64_t from, size_t count, uint64_t *last)
{
	size_t k = p->nworkers + 1, share = (count + k - 1) / k;
	int rc = 0;

	if (count > p->capready) {
		natsMsg **r = realloc(p->ready, count * sizeof(*r));
		if (r == NULL)
			return NS_ENOMEM;
		p->ready = r;
		p->capready = count;
	}
	memset(p->ready, 0, count * sizeof(*p->ready));
	for (size_t i = 0; i < k; i++) {
		ns__part *pt = &p->parts[i];
		uint64_t a = from + 1 + i * share, b = a + share;
		if (a > from + count)
			a = from + 1 + count;
		if (b > from + 1 + count)
			b = from + 1 + count;
		pt->origin = origin;
		pt->start = a;
		pt->end = b;
		pt->last = 0;
		pt->slot = p->ready + (a - from - 1);
		pt->now = (int64_t)time(NULL);
		pt->rc = 0;
	}
	if (k > 1) {
		pthread_mutex_lock(&p->pool_lock);
		p->busy = k - 1;
		p->gen++;
		pthread_cond_broadcast(&p->pool_go);
		pthread_mutex_unlock(&p->pool_lock);
	}
	ns__encode(&p->parts[0]);
	if (k > 1) {
		pthread_mutex_lock(&p->pool_lock);
		while (p->busy > 0)
			pthread_cond_wait(&p->pool_done, &p->pool_lock);
		pthread_mutex_unlock(&p->pool_lock);
	}
	*last = from;
	for (size_t i = 0; i < k; i++) {
		if (p->parts[i].last > *last)
			*last = p->parts[i].last;
		if (rc == 0)
			rc = p->parts[i].rc;
	}
	/* Close the holes (revoked events), keeping the order. */
	p->nready = 0;
	for (size_t i = 0; i < count; i++)
		if (p->ready[i])
			p->ready[p->nready++] = p->ready[i];
	return rc;
}

/* Publish what the store holds beyond what was read, as far as the window allows. 1 if anything was sent. */
static int ns__publish_events(ns__pub *p)
{
	ns_nats *n = p->n;
	ns_vv_entry *vv = NULL;
	size_t nvv = 0, room;
	int sent = 0;

	pthread_mutex_lock(&n->lock);
	room = n->inflight < n->conf.window ? n->conf.window - n->inflight : 0;
	pthread_mutex_unlock(&n->lock);
	if (room < 64 || ns_store_vector(n->store, &vv, &nvv) != 0)
		return 0;
	for (size_t i = 0; i < nvv && room >= 64 && !n->stop; i++) {
		uint64_t relay = ns_vv_relay_seq(&vv[i]), from = ns__vget(&p->read, vv[i].origin);
		if (relay <= from)
			continue;
		if (ns__begin(p, NS__NB_EVENTS) != 0)
			break;
		size_t max = room < NS__NATS_READ_MAX ? room : NS__NATS_READ_MAX;
		uint64_t last = from;
		if (relay - from < max)
			max = (size_t)(relay - from);
		int rc = ns__encode_batch(p, vv[i].origin, from, max, &last);
		int frc = ns__flush(p); /* what was made ready goes, also after an error (the batch then fails) */
		/* Events up to relay that were not read (revoked) are passed over. */
		uint64_t upto = rc == 0 && last == from ? relay : last;
		ns__close(p, vv[i].origin, upto, 0);
		ns__vset(&p->read, vv[i].origin, upto);
		if (rc != 0 || frc != 0) {
			p->resetting = 1;
			if (rc != 0)
				ns__nats_log(n, NS_LOG_ERROR, "NATS: cannot read events to publish: %s", ns_strerror(rc));
			break;
		}
		sent = 1;
		room = room > (last - from) ? room - (last - from) : 0;
	}
	free(vv);
	return sent;
}

/* ---- views ----------------------------------------------------------------------- */

static int ns__ref_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int ns__add_ref(ns__vpass *vp, const char *ref)
{
	if (ref == NULL || ref[0] == '\0' || strcmp(ref, NS_ROSTER_REF) == 0 || strlen(ref) >= NS_REF_MAX)
		return 0;
	if (vp->nrefs == vp->cap) {
		size_t c = vp->cap ? vp->cap * 2 : 1024;
		char(*r)[NS_REF_MAX] = realloc(vp->refs, c * sizeof(*r));
		if (r == NULL)
			return NS_ENOMEM;
		vp->refs = r;
		vp->cap = c;
	}
	snprintf(vp->refs[vp->nrefs++], NS_REF_MAX, "%s", ref);
	return 0;
}

/* Sort the pass's refs and drop the repeated ones. */
static void ns__prune_refs(ns__vpass *vp)
{
	if (vp->nrefs > 1) {
		size_t w = 1;
		qsort(vp->refs, vp->nrefs, NS_REF_MAX, ns__ref_cmp);
		for (size_t i = 1; i < vp->nrefs; i++)
			if (strcmp(vp->refs[i], vp->refs[w - 1]) != 0)
				memmove(vp->refs[w++], vp->refs[i], NS_REF_MAX);
		vp->nrefs = w;
	}
	vp->nsorted = vp->nrefs;
}

typedef struct ns__refread {
	ns__vpass *vp;
	uint64_t last;
} ns__refread;

/* The refs whose person an event changes: its offender, and the other refs of a merge or identifier. */
static int ns__on_ref(void *arg, const ns_event *ev)
{
	ns__refread *r = arg;
	const Nomsync__Payload *pl = ev->payload;
	int rc = ns__add_ref(r->vp, ev->offender);

	r->last = ev->seq;
	if (rc == 0 && pl && ev->type == NOMSYNC__EVENT_TYPE__PERSON_MERGED && pl->person_merged)
		rc = ns__add_ref(r->vp, pl->person_merged->removed);
	if (rc == 0 && pl && ev->type == NOMSYNC__EVENT_TYPE__PERSON_UNMERGED && pl->person_unmerged)
		rc = ns__add_ref(r->vp, pl->person_unmerged->removed);
	if (rc == 0 && pl && ev->type == NOMSYNC__EVENT_TYPE__PERSON_IDENTIFIER_ADDED && pl->person_identifier_added)
		rc = ns__add_ref(r->vp, pl->person_identifier_added->value);
	return rc;
}

/* Start a view pass over the events acknowledged since the last one (ns__pass_collect reads them). */
static int ns__pass_start(ns__pub *p)
{
	ns__vpass *vp = &p->pass;
	int rc;

	memset(vp, 0, sizeof(*vp));
	if ((rc = ns__vcopy(&vp->snap, &p->acked)) != 0) {
		ns__nats_log(p->n, NS_LOG_ERROR, "NATS: cannot start a view pass: %s", ns_strerror(rc));
		ns__pass_end(vp);
		return rc;
	}
	vp->active = 1;
	vp->collecting = 1;
	vp->cfrom = vp->snap.n ? ns__vget(&p->viewed, vp->snap.v[0].origin) : 0;
	return 0;
}

/*
 * Collect the refs of the pass's next events, at most one read's worth, so
 * that events keep being published meanwhile (a catch-up's pass reads every
 * event); when all are read, the refs are sorted and collecting ends.
 */
static void ns__pass_collect(ns__pub *p)
{
	ns__vpass *vp = &p->pass;
	ns__refread r = { vp, 0 };
	int rc;

	while (vp->ci < vp->snap.n) {
		uint64_t to = vp->snap.v[vp->ci].seq;
		if (vp->cfrom < to) {
			size_t max = to - vp->cfrom < NS__NATS_READ_MAX ? (size_t)(to - vp->cfrom) : NS__NATS_READ_MAX;
			r.last = vp->cfrom;
			if ((rc = ns_store_read_range(p->n->store, vp->snap.v[vp->ci].origin, vp->cfrom + 1, max,
						      (size_t)8 << 20, ns__on_ref, &r)) != 0) {
				ns__nats_log(p->n, NS_LOG_ERROR, "NATS: cannot read events for their views: %s",
					     ns_strerror(rc));
				ns__pass_end(vp);
				return;
			}
			if (r.last != vp->cfrom) {
				vp->cfrom = r.last;
				if (vp->nrefs >= 2 * vp->nsorted + 8192)
					ns__prune_refs(vp); /* keeps the memory near the persons' count */
				return;
			}
			/* the rest is revoked */
		}
		if (++vp->ci < vp->snap.n)
			vp->cfrom = ns__vget(&p->viewed, vp->snap.v[vp->ci].origin);
	}
	ns__prune_refs(vp);
	vp->collecting = 0;
}

/* Publish the next chunk of the pass's views as one batch (the last one carries the snapshot). */
static int ns__pass_step(ns__pub *p)
{
	ns__vpass *vp = &p->pass;
	size_t end = vp->next + NS__NATS_VIEW_CHUNK < vp->nrefs ? vp->next + NS__NATS_VIEW_CHUNK : vp->nrefs;

	if (ns__begin(p, NS__NB_VIEWS) != 0)
		return 0;
	vp->batch_no = p->cur_no;
	for (; vp->next < end && !p->n->stop; vp->next++) {
		char canonical[NS_REF_MAX], *json = NULL;
		size_t len;
		int rc = ns_store_view(p->n->store, vp->refs[vp->next], &json, &len, canonical);
		if (rc == NS_ENOTFOUND)
			continue;
		if (rc == 0) {
			snprintf(p->subj, sizeof(p->subj), "%s.view.%s", p->n->conf.prefix, canonical);
			rc = ns__add(p, p->subj, json, len, NULL);
		}
		free(json);
		if (rc != 0) {
			p->resetting = 1;
			break;
		}
	}
	if (ns__flush(p) != 0)
		p->resetting = 1;
	ns__close(p, NULL, 0, vp->next >= vp->nrefs);
	return 1;
}

/* ---- settling ---------------------------------------------------------------------- */

/* Take settled batches off the head of the queue, in order, and apply them. */
static void ns__settle(ns__pub *p)
{
	ns_nats *n = p->n;

	pthread_mutex_lock(&n->lock);
	while (n->qlen > 0) {
		ns__nbatch *b = &n->q[n->qhead];
		if (b->open || b->pending > 0)
			break;
		if (b->failed && !p->resetting)
			ns__nats_log(n, NS_LOG_WARN,
				     "NATS: a publish failed or was not acknowledged in time; resending from the "
				     "acknowledged position");
		if (b->failed)
			p->resetting = 1;
		else if (!p->resetting && b->kind == NS__NB_EVENTS && b->to_seq > ns__vget(&p->acked, b->origin)) {
			ns__vset(&p->acked, b->origin, b->to_seq);
			p->dirty = 1;
		} else if (!p->resetting && b->kind == NS__NB_VIEWS && b->final && p->pass.active &&
			   b->no == p->pass.batch_no) {
			ns__vcopy(&p->viewed, &p->pass.snap);
			ns__pass_end(&p->pass);
			p->dirty = 1;
		}
		if (b->kind == NS__NB_VIEWS && p->pass.active && b->no == p->pass.batch_no)
			p->pass.batch_no = 0;
		n->qhead = (n->qhead + 1) % n->qcap;
		n->qlen--;
	}
	pthread_mutex_unlock(&n->lock);
}

static void ns__save(ns__pub *p, int64_t now)
{
	if (!p->dirty)
		return;
	pthread_rwlock_rdlock(&p->n->store_lock);
	int rc = ns__vsave(p->n, "nats.events", &p->acked);
	if (rc == 0)
		rc = ns__vsave(p->n, "nats.views", &p->viewed);
	pthread_rwlock_unlock(&p->n->store_lock);
	if (rc == 0)
		p->dirty = 0;
	else
		ns__nats_log(p->n, NS_LOG_ERROR, "NATS: cannot store the acknowledged position: %s", ns_strerror(rc));
	p->last_save = now;
}

typedef struct ns__first {
	int64_t recorded_at;
} ns__first;

static int ns__on_first(void *arg, const ns_event *ev)
{
	((ns__first *)arg)->recorded_at = ev->recorded_at;
	return 1;
}

/* Lag: stored events beyond the acknowledged position @p acked, and the age of the oldest. */
static void ns__lag(ns_nats *n, const ns__nvec *acked)
{
	ns_vv_entry *vv = NULL;
	size_t nvv = 0;
	uint64_t events = 0;
	int64_t oldest = 0, now = (int64_t)time(NULL);

	if (ns_store_vector(n->store, &vv, &nvv) != 0)
		return;
	for (size_t i = 0; i < nvv; i++) {
		uint64_t relay = ns_vv_relay_seq(&vv[i]), done = ns__vget(acked, vv[i].origin);
		if (relay <= done)
			continue;
		ns__first f = { 0 };
		events += relay - done;
		ns_store_read_range(n->store, vv[i].origin, done + 1, 1, 1, ns__on_first, &f);
		if (f.recorded_at && (oldest == 0 || f.recorded_at < oldest))
			oldest = f.recorded_at;
	}
	free(vv);
	pthread_mutex_lock(&n->lock);
	n->st.lag_events = events;
	n->st.lag_seconds = events && oldest && now > oldest ? (double)(now - oldest) : 0;
	pthread_mutex_unlock(&n->lock);
}

int ns__nats_initial_lag(ns_nats *n)
{
	ns__nvec acked = { 0 };
	int rc = ns__vload(n, "nats.events", &acked);
	if (rc == 0)
		ns__lag(n, &acked);
	free(acked.v);
	return rc;
}

/*
 * The streams, until they are right. A stream made now is empty: whatever
 * the stored position says was published went elsewhere (a stream deleted
 * or a new server), so everything is published again from the start.
 */
static int ns__streams(ns__pub *p)
{
	ns_nats *n = p->n;
	char ev[128], dl[128], vw[128];
	const char *evs[] = { ev, dl }, *vws[] = { vw };
	ns_diag d;
	int e, v = 0;

	snprintf(ev, sizeof(ev), "%s.event.>", n->conf.prefix);
	snprintf(dl, sizeof(dl), "%s.deadletter", n->conf.prefix);
	snprintf(vw, sizeof(vw), "%s.view.>", n->conf.prefix);
	ns_diag_clear(&d);
	if ((e = ns__nats_stream(n, n->events_stream, evs, 2, 0, &d)) < 0 ||
	    (v = ns__nats_stream(n, n->views_stream, vws, 1, 1, &d)) < 0) {
		ns__nats_log(n, NS_LOG_ERROR, "NATS: streams %s and %s: %s (retrying)", n->events_stream,
			     n->views_stream, d.msg);
		return NS_ENATS;
	}
	if ((e && p->acked.n) || (v && p->viewed.n)) {
		ns__nats_log(n, NS_LOG_WARN, "NATS: stream %s is new: publishing every stored %s from the start",
			     e ? n->events_stream : n->views_stream, e ? "event and view" : "person's view");
		if (e) {
			p->acked.n = 0;
			p->read.n = 0;
		}
		p->viewed.n = 0;
		p->dirty = 1;
	}
	return 0;
}

void *ns__nats_publisher(void *arg)
{
	ns__pub p = { .n = arg };
	ns_nats *n = p.n;
	int streams = 0, rc;

	jsPubOptions_Init(&p.po);
	p.po.MaxWait = (int64_t)(n->conf.ack_timeout * 1000);
	if (ns__pool_start(&p) != 0) {
		ns__nats_log(n, NS_LOG_ERROR, "NATS: out of memory; not publishing");
		goto out;
	}
	pthread_rwlock_rdlock(&n->store_lock);
	rc = ns__vload(n, "nats.events", &p.acked);
	if (rc == 0)
		rc = ns__vload(n, "nats.views", &p.viewed);
	if (rc == 0)
		rc = ns__vcopy(&p.read, &p.acked);
	pthread_rwlock_unlock(&n->store_lock);
	if (rc != 0) {
		ns__nats_log(n, NS_LOG_ERROR, "NATS: cannot read the published position: %s; not publishing",
			     ns_strerror(rc));
		goto out;
	}
	while (!n->stop) {
		int64_t now = ns__nats_now_ms();
		int sent = 0;

		if (now - p.last_lag >= 500) {
			p.last_lag = now;
			pthread_rwlock_rdlock(&n->store_lock);
			ns__lag(n, &p.acked);
			pthread_rwlock_unlock(&n->store_lock);
		}
		if (!ns__nats_up(n))
			continue;
		if (!streams) {
			if ((streams = ns__streams(&p) == 0) == 0) {
				pthread_mutex_lock(&n->lock);
				ns__nats_wait(n, 1000);
				pthread_mutex_unlock(&n->lock);
				continue;
			}
		}
		ns__settle(&p);
		pthread_mutex_lock(&n->lock);
		size_t qlen = n->qlen;
		pthread_mutex_unlock(&n->lock);
		if (p.dirty && (qlen == 0 || now - p.last_save >= NS__NATS_SAVE_EVERY_MS))
			ns__save(&p, now);
		if (p.resetting) {
			if (qlen == 0) {
				/* Everything settled: resend from the acknowledged position. */
				ns__vcopy(&p.read, &p.acked);
				ns__pass_end(&p.pass);
				p.resetting = 0;
			}
			pthread_mutex_lock(&n->lock);
			ns__nats_wait(n, qlen == 0 ? 1000 : 50);
			pthread_mutex_unlock(&n->lock);
			continue;
		}
		pthread_rwlock_rdlock(&n->store_lock);
		sent = ns__publish_events(&p);
		pthread_mutex_lock(&n->lock);
		int backlog = n->st.lag_events > 4 * (uint64_t)n->conf.window;
		pthread_mutex_unlock(&n->lock);
		/* Views when the events are out, or every few seconds unless a catch-up is under way. */
		if (!p.resetting && !p.pass.active && !ns__vequal(&p.acked, &p.viewed) &&
		    ((!sent && qlen == 0) || (!backlog && now - p.last_view >= NS__NATS_VIEW_EVERY_MS))) {
			p.last_view = now;
			ns__pass_start(&p);
		}
		if (!p.resetting && p.pass.active && p.pass.collecting) {
			ns__pass_collect(&p);
			sent = 1;
		} else if (!p.resetting && p.pass.active && p.pass.batch_no == 0 && p.pass.next <= p.pass.nrefs)
			sent |= ns__pass_step(&p);
		pthread_rwlock_unlock(&n->store_lock);
		if (!sent) {
			pthread_mutex_lock(&n->lock);
			ns__nats_wait(n, 10);
			pthread_mutex_unlock(&n->lock);
		}
	}
	ns__settle(&p);
	ns__save(&p, ns__nats_now_ms());
out:
	ns__pool_stop(&p);
	ns__pass_end(&p.pass);
	free(p.acked.v);
	free(p.viewed.v);
	free(p.read.v);
	free(p.ready);
	return NULL;
}
