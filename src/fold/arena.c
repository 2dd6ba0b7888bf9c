/*
 * A bump allocator for jansson while one fold renders its view: the view's
 * tree (hundreds of small objects, strings and tables) is built, written
 * out and dropped within ns__fold_finish, so its blocks are taken from a
 * few chunks and released with them in one go, instead of one malloc and
 * one free each.
 *
 * jansson's allocator is process-global, the arena is per thread: the
 * functions installed here serve the calling thread's arena while it has
 * one open and are malloc and free otherwise (other threads, and this one
 * outside a fold). A block freed while an arena is open is returned to
 * free() unless it lies in one of the arena's chunks; a block freed into
 * the arena is left in place until the arena closes. They are installed
 * once, before main and so before any thread uses jansson (a constructor),
 * over jansson's default allocator (malloc and free): no thread sees the
 * global functions change under it. A program that sets its own
 * allocator afterwards keeps it, and then no arena is used.
 *
 * Nothing built inside an arena may outlive it: ns__fold_finish closes the
 * arena only after it has dropped the view and the fold's state, which
 * holds the only other jansson values a render touches (the lists built
 * while folding, allocated before the arena opened).
 */
#include "fold_int.h"

#include <stdint.h>
#include <stdlib.h>

/* One chunk: its header, then the blocks. */
struct ns__chunk {
	struct ns__chunk *next;
	char *end; /* one past the chunk's last byte */
	_Alignas(16) char data[];
};

#define NS__ARENA_FIRST ((size_t)16 * 1024)
/* Below glibc's default mmap threshold, so a chunk comes from the heap. */
#define NS__ARENA_MAX ((size_t)64 * 1024)

static _Thread_local struct ns__arena *ns__cur;

static void *ns__arena_chunk(struct ns__arena *a, size_t size)
{
	size_t want = a->chunks ? (size_t)(a->chunks->end - (char *)a->chunks) * 2 : NS__ARENA_FIRST;
	struct ns__chunk *k;

	if (want > NS__ARENA_MAX)
		want = NS__ARENA_MAX;
	if (want < sizeof(*k) + size)
		want = sizeof(*k) + size;
	if ((k = malloc(want)) == NULL)
		return NULL;
	k->next = a->chunks;
	k->end = (char *)k + want;
	a->chunks = k;
	a->p = k->data + size;
	return k->data;
}

static void *ns__jmalloc(size_t size)
{
	struct ns__arena *a = ns__cur;
	char *p;

	if (a == NULL)
		return malloc(size);
	if (size > SIZE_MAX / 2)
		return NULL;
	size = (size + 15) & ~(size_t)15;
	p = a->p;
	if (a->chunks != NULL && (size_t)(a->chunks->end - p) >= size) {
		a->p = p + size;
		return p;
	}
	return ns__arena_chunk(a, size);
}

/* Whether @p ptr lies in one of @p a's chunks. */
static int ns__arena_has(const struct ns__arena *a, const void *ptr)
{
	for (const struct ns__chunk *k = a->chunks; k != NULL; k = k->next)
		if ((const char *)ptr >= k->data && (const char *)ptr < k->end)
			return 1;
	return 0;
}

static void ns__jfree(void *ptr)
{
	struct ns__arena *a = ns__cur;

	if (a != NULL && ptr != NULL && ns__arena_has(a, ptr))
		return; /* released with the arena */
	free(ptr);
}

/* Before main: the arena's functions over jansson's defaults (they are malloc and free outside an arena). */
__attribute__((constructor)) static void ns__arena_install(void)
{
	json_malloc_t m;
	json_free_t f;

	json_get_alloc_funcs(&m, &f);
	if (m == malloc && f == free)
		json_set_alloc_funcs(ns__jmalloc, ns__jfree);
}

void ns__arena_open(struct ns__arena *a)
{
	json_malloc_t m;
	json_free_t f;

	a->chunks = NULL;
	a->p = NULL;
	a->open = 0;
	json_get_alloc_funcs(&m, &f);
	if (m != ns__jmalloc || f != ns__jfree || ns__cur != NULL)
		return; /* another allocator, or an arena already open on this thread */
	a->open = 1;
	ns__cur = a;
}

void ns__arena_close(struct ns__arena *a)
{
	struct ns__chunk *k, *next;

	if (!a->open)
		return;
	ns__cur = NULL;
	for (k = a->chunks; k != NULL; k = next) {
		next = k->next;
		free(k);
	}
	a->chunks = NULL;
	a->p = NULL;
	a->open = 0;
}

void ns__arena_drop(struct ns__arena *a, json_t *v)
{
	const char *key;
	json_t *m;

	if (!a->open || !json_is_object(v) || !ns__arena_has(a, v)) {
		json_decref(v);
		return;
	}
	/*
	 * The members built in the arena go with it; those built before it
	 * opened (lists the fold moved into the view, or shares with it) lose
	 * the view's reference, as json_decref(v) would do.
	 */
	json_object_foreach(v, key, m)
		if (!ns__arena_has(a, m))
			json_decref(m);
}
