/*
 * Bump allocator: chunks that double from 16 KiB to 1 MiB, newest first;
 * a request larger than a chunk gets a chunk of its own.
 */
#include "core/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>

struct ns__chunk {
	struct ns__chunk *next;
	size_t size, used;
	alignas(max_align_t) unsigned char data[];
};

#define NS__ARENA_MIN (16u << 10)
#define NS__ARENA_MAX (1u << 20)
#define NS__ALIGN alignof(max_align_t)

void *ns__arena_alloc(ns__arena *a, size_t size)
{
	struct ns__chunk *c = a->head;
	size_t need = (size + NS__ALIGN - 1) & ~(size_t)(NS__ALIGN - 1);

	if (need < size)
		return NULL;
	if (c == NULL || c->size - c->used < need) {
		size_t csize = a->chunk ? a->chunk : NS__ARENA_MIN;

		if (csize < NS__ARENA_MAX)
			a->chunk = csize * 2;
		if (csize < need)
			csize = need;
		if (csize > SIZE_MAX - sizeof(*c) || (c = malloc(sizeof(*c) + csize)) == NULL)
			return NULL;
		c->size = csize;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	c->used += need;
	return c->data + c->used - need;
}

void ns__arena_free(ns__arena *a)
{
	struct ns__chunk *c = a->head, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
	a->chunk = 0;
}
