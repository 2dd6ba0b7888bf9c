/*
 * Building and signing a run of this site's own events on two cores
 * (ns_store_append). The id of an event hashes its header only, so a helper
 * thread builds the run in order (each header names the previous id) with
 * the signatures left zero, publishing each event as it is built, and then
 * signs them into a separate array; the caller writes each event as soon
 * as it is published, re-folds the persons touched while the helper signs,
 * and then signs what is left alongside it. Ed25519 signatures are
 * deterministic: with each signature in place, the events are
 * byte-identical to those ns_event_build would make one at a time.
 */
#include "store_int.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Below this many events a run is built and signed on the caller's thread alone. */
#define NS__SIGN_THREAD_MIN 16

struct ns__signer {
	const ns_identity *id;
	const ns_input *in;
	int64_t now;
	uint64_t seq;                /* the seq before the run's first event */
	uint8_t head[NS_ID_BYTES];   /* the id before the run's first event */
	ns_event **evs;
	uint8_t (*sigs)[NS_SIG_BYTES];
	size_t n;
	atomic_size_t built; /* evs[0 .. built) are built and may be signed */
	atomic_size_t next;  /* the next index to claim for signing */
	atomic_int stop;     /* the run was abandoned: build and sign nothing more */
	atomic_int failed;   /* building evs[built] failed with build_rc: build no more */
	int build_rc;
	int threaded;
	pthread_t thread;
};

/* Build evs[k], the next one in order, and publish it; 0 or the error. */
static int ns__build_next(ns__signer *g, size_t k)
{
	const ns_input *in = &g->in[k];
	int rc;

	rc = ns_event_build_unsigned(g->id, g->seq + 1 + k, k ? g->evs[k - 1]->id : g->head, in->occurred_at,
				     g->now, in->offender, in->recorded_by, in->payload, &g->evs[k]);
	if (rc != 0) {
		g->build_rc = rc;
		atomic_store_explicit(&g->failed, 1, memory_order_release);
		return rc;
	}
	atomic_store_explicit(&g->built, k + 1, memory_order_release);
	return 0;
}

/* Claim and sign events until none is left (or the run is abandoned, or building failed). */
static void ns__sign_claimed(ns__signer *g)
{
	for (;;) {
		size_t i = atomic_fetch_add(&g->next, 1);
		if (i >= g->n)
			return;
		while (i >= atomic_load_explicit(&g->built, memory_order_acquire)) {
			if (atomic_load(&g->stop) || atomic_load(&g->failed))
				return;
			sched_yield();
		}
		if (atomic_load(&g->stop))
			return;
		ns_event_sign(g->evs[i], g->id, g->sigs[i]); /* cannot fail: built from this identity */
	}
}

static void *ns__sign_thread(void *arg)
{
	ns__signer *g = arg;

	for (size_t k = 0; k < g->n && !atomic_load(&g->stop); k++)
		if (ns__build_next(g, k) != 0)
			return NULL;
	ns__sign_claimed(g);
	return NULL;
}

int ns__signer_start(ns__signer **out, const ns_identity *id, const ns_input *in, int64_t now, uint64_t seq,
		     const uint8_t head[NS_ID_BYTES], ns_event **evs, uint8_t (*sigs)[NS_SIG_BYTES], size_t n)
{
	ns__signer *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (g == NULL)
		return NS_ENOMEM;
	g->id = id;
	g->in = in;
	g->now = now;
	g->seq = seq;
	memcpy(g->head, head, NS_ID_BYTES);
	g->evs = evs;
	g->sigs = sigs;
	g->n = n;
	atomic_init(&g->built, 0);
	atomic_init(&g->next, 0);
	atomic_init(&g->stop, 0);
	atomic_init(&g->failed, 0);
	/* Without a thread (too few events, or none to be had) the caller builds and signs them all. */
	g->threaded = n >= NS__SIGN_THREAD_MIN && pthread_create(&g->thread, NULL, ns__sign_thread, g) == 0;
	*out = g;
	return 0;
}

int ns__signer_event(ns__signer *g, size_t k)
{
	if (!g->threaded)
		return ns__build_next(g, k);
	while (k >= atomic_load_explicit(&g->built, memory_order_acquire)) {
		if (atomic_load_explicit(&g->failed, memory_order_acquire))
			return g->build_rc;
		sched_yield();
	}
	return 0;
}

void ns__signer_finish(ns__signer *g, int abandon)
{
	if (g == NULL)
		return;
	if (abandon)
		atomic_store(&g->stop, 1);
	else
		ns__sign_claimed(g);
	if (g->threaded)
		pthread_join(g->thread, NULL);
	free(g);
}
