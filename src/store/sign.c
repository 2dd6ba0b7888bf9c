/*
 * Signing a run of this site's own events on two cores (ns_store_append).
 * The id of an event hashes its header only, so the run is built in order
 * on the caller's thread (each header names the previous id) with the
 * signatures left zero, while a helper thread signs each event as soon as
 * it is built, into a separate array (the caller reads the events
 * meanwhile); once the run is built the caller signs the rest alongside
 * it. Ed25519 signatures are deterministic: with each signature in place,
 * the events are byte-identical to those ns_event_build would make one at
 * a time.
 */
#include "store_int.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Below this many events a run is signed on the caller's thread alone. */
#define NS__SIGN_THREAD_MIN 16

struct ns__signer {
	const ns_identity *id;
	ns_event **evs;
	uint8_t (*sigs)[NS_SIG_BYTES];
	size_t n;
	atomic_size_t built; /* evs[0 .. built) are built and may be signed */
	atomic_size_t next;  /* the next index to claim */
	atomic_int stop;     /* the run was abandoned: sign nothing more */
	int threaded;
	pthread_t thread;
};

/* Claim and sign events until none is left (or the run is abandoned). */
static void ns__sign_claimed(ns__signer *g)
{
	for (;;) {
		size_t i = atomic_fetch_add(&g->next, 1);
		if (i >= g->n)
			return;
		while (i >= atomic_load_explicit(&g->built, memory_order_acquire)) {
			if (atomic_load(&g->stop))
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
	ns__sign_claimed(arg);
	return NULL;
}

int ns__signer_start(ns__signer **out, const ns_identity *id, ns_event **evs, uint8_t (*sigs)[NS_SIG_BYTES],
		     size_t n)
{
	ns__signer *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (g == NULL)
		return NS_ENOMEM;
	g->id = id;
	g->evs = evs;
	g->sigs = sigs;
	g->n = n;
	atomic_init(&g->built, 0);
	atomic_init(&g->next, 0);
	atomic_init(&g->stop, 0);
	/* Without a thread (too few events, or none to be had) the caller signs them all. */
	g->threaded = n >= NS__SIGN_THREAD_MIN && pthread_create(&g->thread, NULL, ns__sign_thread, g) == 0;
	*out = g;
	return 0;
}

void ns__signer_built(ns__signer *g, size_t built)
{
	atomic_store_explicit(&g->built, built, memory_order_release);
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
