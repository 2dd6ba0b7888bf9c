/*
 * Arena decoding of events (internal to the library, not public API).
 */
#ifndef NS_EVENT_DECODE_H
#define NS_EVENT_DECODE_H

#include <nomsync/event.h>

#include "core/arena.h"

/*
 * ns_event_decode_flags into @p arena: the ns_event, its header fields and
 * payload are allocated from the arena, and ev->raw points into @p buf
 * without a copy, so @p buf must stay valid while the event is used (for
 * the store: until its transaction ends). Never pass such an event to
 * ns_event_free; ns__arena_free releases it. Returns as
 * ns_event_decode_flags.
 */
int ns__event_decode_in(ns__arena *arena, const uint8_t *buf, size_t len, unsigned flags, ns_event **out);

#endif /* NS_EVENT_DECODE_H */
