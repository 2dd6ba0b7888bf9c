/*
 * A bump allocator for short-lived groups of objects (not public API).
 *
 * The store decodes every event of a person into one arena for a re-fold
 * and releases them all at once: no per-event malloc/free pairs on the
 * re-fold path. Not thread-safe; one arena per caller.
 */
#ifndef NS_CORE_ARENA_H
#define NS_CORE_ARENA_H

#include <stddef.h>

struct ns__chunk;

typedef struct ns__arena {
	struct ns__chunk *head; /* newest chunk first */
	size_t chunk;           /* size of the next ordinary chunk */
} ns__arena;

/* An empty arena; allocates nothing until the first ns__arena_alloc. */
#define NS__ARENA_INIT { NULL, 0 }

/* @p size bytes aligned for any type, valid until ns__arena_free; NULL if out of memory. */
void *ns__arena_alloc(ns__arena *a, size_t size);

/* Release every block of the arena; it is empty and reusable after. */
void ns__arena_free(ns__arena *a);

#endif /* NS_CORE_ARENA_H */
