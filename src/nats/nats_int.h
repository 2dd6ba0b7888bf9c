/*
 * Internal header of the nats module: struct ns_nats, shared by
 *
 *   link.c      options, connection, streams, start/stop/status/pause
 *   publish.c   the publisher thread (events and views, acknowledged cursors)
 *   consume.c   the consumer thread (inbound domain events, dead letters)
 *   envelope.c  the outbound envelope and the dead letter (pure)
 *   map.c       the inbound mapping (pure)
 *
 * Locks: lock guards the batch queue, the map of messages in flight, the
 * counters and connected (the
 * acknowledgement handler runs on a libnats thread); store_lock is held
 * for reading around every store call of the module's threads, and for
 * writing by ns_nats_pause.
 */
#ifndef NS_NATS_INT_H
#define NS_NATS_INT_H

#include <nomsync/nats.h>

#include <nats/nats.h>
#include <pthread.h>
#include <stdint.h>

#define NS__NATS_READ_MAX 2048     /* events read from the store at once (one batch) */
#define NS__NATS_ENCODERS 4        /* threads encoding a batch's envelopes, at most (one per CPU) */
#define NS__NATS_VIEW_CHUNK 256    /* views in one batch */
#define NS__NATS_VIEW_EVERY_MS 5000 /* a view pass at least this often while events flow (not in a catch-up) */
#define NS__NATS_SAVE_EVERY_MS 100  /* acknowledged positions written at most this often while busy */

/* An origin's position: every event up to seq is acknowledged (or read, or covered). */
typedef struct ns__npos {
	uint8_t origin[NS_KEY_BYTES];
	uint64_t seq;
} ns__npos;

typedef struct ns__nvec {
	ns__npos *v;
	size_t n, cap;
} ns__nvec;

enum { NS__NB_EVENTS, NS__NB_VIEWS };

/* A batch of messages in flight: settled when closed and nothing is pending. */
typedef struct ns__nbatch {
	uint64_t no;
	int kind;
	int open;          /* still being published */
	int failed;
	size_t pending;    /* messages not yet acknowledged */
	size_t msgs;
	uint8_t origin[NS_KEY_BYTES]; /* events: the origin and the last seq of the batch */
	uint64_t to_seq;
	int final;         /* views: the pass's last batch (then V := the pass's snapshot) */
} ns__nbatch;

/* A view pass in progress: first its refs are collected, a chunk of events at a time, then published. */
typedef struct ns__vpass {
	int active;
	int collecting;    /* still reading the events' refs */
	size_t ci;         /* collecting: the snapshot's origin being read */
	uint64_t cfrom;    /* collecting: its events up to this seq are read */
	ns__nvec snap;     /* the acknowledged events it covers */
	char (*refs)[NS_REF_MAX];
	size_t nrefs, cap, nsorted, next; /* nsorted: refs sorted and unique at the last pruning */
	uint64_t batch_no; /* its batch in flight, 0 if none */
} ns__vpass;

struct ns_nats {
	ns_store *store;
	ns_nats_conf conf;
	ns_nats_log_fn log;
	void *log_arg;
	natsOptions *opts;
	natsConnection *nc;
	jsCtx *js_pub; /* async publishing, with the acknowledgement handler */
	jsCtx *js;     /* requests: streams, consumer, dead letters */
	pthread_t pub_thread, con_thread;
	int pub_started, con_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_rwlock_t store_lock;
	volatile int stop;
	int closed; /* libnats called the closed handler: no callback of the connection runs again */
	ns_nats_status st;
	/* the queue of batches in flight (ring) */
	ns__nbatch *q;
	size_t qcap, qhead, qlen;
	uint64_t next_no;
	size_t inflight; /* messages published, not yet settled */
	/* each message in flight -> its batch number (open addressing, linear probing; lock held) */
	struct ns__nslot {
		natsMsg *m;
		uint64_t no;
	} *map;
	size_t mapcap, maplen;
	char events_stream[64], views_stream[80];
};

/* A growing text buffer (envelope.c); a failed allocation sticks until the next envelope. */
typedef struct ns__ntext {
	char *p;
	size_t len, cap;
	int failed;
} ns__ntext;

/* ns_nats_envelope written into @p t (reused: its text is replaced). @return 0 or NS_ENOMEM */
int ns__nats_envelope_to(ns__ntext *t, const ns_event *ev, int64_t published_at);

/* Log a line (printf format) at NS_LOG_* @p level. */
void ns__nats_log(ns_nats *n, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Sleep up to @p ms on the condition (returns early when signalled or stopping). Called with lock held. */
void ns__nats_wait(ns_nats *n, int64_t ms);
/* 1 if the connection is up; else waits up to 200 ms for a change (lock not held) and returns 0. */
int ns__nats_up(ns_nats *n);
/* Milliseconds of a monotonic clock. */
int64_t ns__nats_now_ms(void);

/* publish.c: the publisher thread; the acknowledgement handler given to js_pub. */
void *ns__nats_publisher(void *arg);
void ns__nats_on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure);
/* The lag as the stored position says, before the publisher starts (so status never shows a false 0). */
int ns__nats_initial_lag(ns_nats *n);
/* Create or check a stream (link.c). @return 1 if created, 0 if it was there, or NS_ENATS with @p d. */
int ns__nats_stream(ns_nats *n, const char *name, const char *const *subjects, int nsubjects,
		    int64_t max_per_subject, ns_diag *d);

/* consume.c: the consumer thread. */
void *ns__nats_consumer(void *arg);

#endif /* NS_NATS_INT_H */
