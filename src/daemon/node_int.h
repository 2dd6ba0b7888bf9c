/*
 * Internal header of the daemon module: struct ns_node and the peer, batch
 * and commit-job types shared by its four files, and the functions each
 * file offers the others.
 *
 *   protocol.c   messages of docs/PROTOCOL.md: decode, vectors, credit, what
 *                to send; no sockets (frames leave through n->ops.send,
 *                received batches through n->ops.enqueue)
 *   commit.c     the ingest pipeline: verify on the thread pool, group
 *                commits, deferred folds / id index, vector refresh, trust
 *   transport.c  ZeroMQ: CURVE ROUTER/DEALER sockets, ZAP, uv_poll, draining
 *   node.c       lifecycle: start/stop/free, timers, signals, hold, status
 *
 * Threads: everything runs on the libuv loop thread except the uv_work jobs
 * of commit.c (signature checks, one ingest commit at a time) and, with
 * [nats], the nats module's own threads (nomsync/nats.h).
 */
#ifndef NS_DAEMON_NODE_INT_H
#define NS_DAEMON_NODE_INT_H

#include "core/arena.h"
#include "daemon/node.h"
#include "http/http.h"

#include <nomsync/nats.h>
#include <nomsync/roster.h>
#include <nomsync/status.h>
#include <nomsync/store.h>

#include <pthread.h>
#include <stdint.h>
#include <uv.h>

#define NS__PEER_MAX 128
#define NS__PROTO_VERSION 1
#define NS__BATCH_BYTES (4 * 1024 * 1024)
/* Event bytes in one Events message: a sender stops after 4 MiB, finishing the event it began. */
#define NS__BATCH_MAX_BYTES (NS__BATCH_BYTES + NS_EVENT_MAX_BYTES)
/* The largest frame: an Events message at its limit plus its framing (ZMQ_MAXMSGSIZE). */
#define NS__MAX_FRAME (NS__BATCH_MAX_BYTES + 64 * 1024)
#define NS__BATCH_MAX_EVENTS 4096   /* events in one Events message, whatever a Hello says */
#define NS__QUEUE_MAX_BATCHES 1024  /* received batches held in memory, all peers (and cfg.ingest_queue bytes) */
#define NS__COMMIT_MAX_EVENTS 2048  /* events merged into one ingest transaction */
#define NS__DEFER_MIN_EVENTS 512    /* a commit this large is catch-up: defer its folds */
#define NS__LIVE_MAX_EVENTS 8       /* a batch this small is live: it commits ahead of catch-up */
#define NS__FOLD_STEP 192           /* persons per deferred-fold call: two transactions, pipelined */
#define NS__INDEX_STEP 65536        /* deferred id index entries per step (~2.3 MB held) */
#define NS__MAX_ORIGINS 4096        /* origins in one Hello: far above any roster */
#define NS__TICK_MS 10              /* also how soon an append by another process is pushed */
#define NS__PULL_MAX_IDS 256        /* event ids in one PayloadPull */
#define NS__EXPIRE_STEP 4096        /* held events visited per expiry step */
#define NS__EXPIRE_EVERY_MS 10000   /* how often an expiry step runs */
#define NS__RUN_MIN_BATCH 32        /* smaller batches (live traffic): every signature checked at once */
#define NS__SIGPULL_EVERY_MS 2000   /* how often copies of events with a bad signature are asked for */
#define NS__SIGPULL_MAX 64          /* such events asked for at a time */

typedef struct ns__peer ns__peer;

/* A received Events message moving through verify -> commit. */
typedef struct ns__batch {
	struct ns__batch *next;
	ns_node *node;
	ns__peer *peer;
	uint64_t remote_batch;
	size_t bytes;   /* memory it holds, as counted against [node] ingest_queue_mib */
	ns_event **evs;
	int *res;       /* per event: a decode error, or 0 until verified (NS_ESIG) */
	uint8_t *covered; /* per event: authenticated by its run's tip, own signature unchecked */
	ns__arena arena;  /* the events: their bytes and decoded structures (protocol.c) */
	size_t n;
	int verified;
	int live;       /* at most NS__LIVE_MAX_EVENTS: queued ahead of catch-up batches (commit.c) */
	uv_work_t work;
} ns__batch;

enum { NS__JOB_INGEST, NS__JOB_FOLD, NS__JOB_INDEX };

/* A commit job: consecutive verified batches ingested in one transaction. */
typedef struct ns__commit_job {
	ns_node *node;
	ns__batch *first;
	size_t nbatches;
	ns_event **evs;
	int *res;
	uint8_t *covered;     /* per event: own signature unchecked (ns_verify_runs) */
	const char **senders; /* the peer each event came from (held byte caps) */
	size_t n;
	int kind;    /* NS__JOB_INGEST, or deferred work without events: NS__JOB_FOLD, NS__JOB_INDEX */
	size_t left; /* deferred work: persons (or ids) still pending after it */
	int rc;
	ns_diag diag; /* detail of a failure (rc != 0) */
	uv_work_t work;
} ns__commit_job;

struct ns__peer {
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
	size_t queued;            /* its batches in our ingest queue: Events not yet acknowledged */
	unsigned batch_max;       /* events per Events message it accepts (its Hello; 0: not stated) */
	/* Back-off of a peer that broke the flow-control rules (docs/PROTOCOL.md). */
	uint64_t ignore_until;    /* loop ms; 0: not ignored */
	uint64_t ignored_frames;  /* frames dropped unread during the back-off */
	int severed;              /* outbound: disconnected for the back-off */
	/* New sessions (full resends) at most once per [node] resend_interval. */
	uint64_t session_at;      /* when the current session started; 0: never */
	int deferred;             /* a new session waits for the interval to pass */
	uint64_t deferred_session;
	unsigned deferred_window;
	uint64_t hellos_refused, hellos_counted, counted_at;
	/* Its claim to hold this site's own events beyond ours, while appends are held. */
	uint64_t backed_mine;     /* highest own seq it sent us with a valid signature */
	uint64_t claim_since;     /* waiting for the claim to be backed since (0: not waiting) */
	uint64_t claim_base;      /* our own seq when the wait (re)started */
	uint64_t claim_pull_at;
	int claim_ignored;        /* an unbacked claim timed out: its claims no longer hold */
};

/*
 * How the protocol reaches the rest of the node; a unit test or fuzz
 * harness supplies its own. @arg is ns_node.ops_arg.
 */
typedef struct ns__proto_ops {
	/* Deliver one packed nomsync.Message to @p p: 0, or NS_EAGAIN if it could not be queued. */
	int (*send)(void *arg, ns__peer *p, const uint8_t *frame, size_t len);
	/* Take a decoded batch (ownership passes) for verification and commit. */
	void (*enqueue)(void *arg, ns__batch *b);
	/* The store changed outside the commit pipeline (a proof was added): refresh n->vv. */
	void (*refresh)(void *arg);
} ns__proto_ops;

struct ns_node {
	uv_loop_t *loop;
	ns_config cfg;
	ns_store *store;
	ns_roster roster;
	ns__proto_ops ops;
	void *ops_arg;
	uint8_t curve_pk[32], curve_sk[32];
	void *zctx, *router, *zap;
	uv_poll_t router_poll, zap_poll;
	uv_timer_t tick;
	uv_signal_t sigterm, sigint;
	uv_signal_t sighup; /* reload what can be reloaded: [auth] jwks, the API's TLS certificate */
	ns__peer *peers[NS__PEER_MAX];
	size_t npeers;
	ns_vv_entry *vv;
	size_t nvv;
	ns__batch *qhead, *qtail;
	size_t qlen;
	size_t qinflight;     /* batches at the queue's head in the commit running now */
	size_t qbytes;        /* the queue's memory (ns__batch.bytes), bounded by cfg.ingest_queue */
	int paused;           /* sockets not watched: the queue is full */
	int committing;
	size_t verifying;
	size_t folds_pending; /* persons whose fold was deferred (0 = none known) */
	size_t ids_pending;   /* events whose id index entry was deferred */
	uint64_t session;
	uint64_t last_ae, last_hb, last_status, started;
	int stopping;
	uint64_t frames_rejected, events_rejected, zap_refused;
	ns_http *http;
	ns_audit *audit; /* the read audit (<dir>/audit), NULL when off */
	ns_auth *auth;               /* [auth] jwks; NULL if not set; replaced on SIGHUP */
	pthread_mutex_t roster_lock; /* the worker's trust checks vs roster rebuilds */
	uint64_t authority_seq;      /* roster changes applied so far */
	int held;                    /* appends held after a restore */
	uint64_t last_hold_check;
	uint64_t last_expire;        /* last step expiring held events */
	int compact_waiting;         /* a compaction after an erasure failed: logged once */
	ns_nats *nats;               /* the [nats] link (src/nats), NULL without [nats] */
	/* Background checks of signatures covered by a run's tip (commit.c). */
	uv_work_t sig_work;
	int sigchecking;             /* a step runs on the pool */
	uint64_t sigs_pending;       /* events whose own signature awaits its check (0 = none known) */
	uint64_t sigs_bad;           /* found bad, awaiting a valid copy from a peer */
	uint8_t sig_want[NS_KEY_BYTES]; /* an origin a peer waits for: checked first */
	int sig_want_set;
	uint64_t last_sig_pull;
	ns_sigcheck_report sig_report; /* of the step that runs */
	int sig_rc;
	ns_diag sig_diag;
	int notify_fd;               /* DIR/nomsyncd.notify (ns_store_notify_listen), or -1 */
	uv_poll_t notify_poll;
	uint64_t notifications;      /* datagrams read from it */
};

/* ---- protocol.c ---------------------------------------------------------- */

uint64_t ns__vec_get(const ns_vv_entry *v, size_t n, const uint8_t *origin);
int ns__vec_set(ns_vv_entry **v, size_t *n, const uint8_t *origin, uint64_t seq, int max_only);
/* Events we hold (not quarantined) that @p p lacks. */
uint64_t ns__behind(ns_node *n, ns__peer *p);
/* A new peer in n->peers (NULL when full or out of memory). */
ns__peer *ns__peer_new(ns_node *n, const char *site, int outbound);
/* One frame received from @p p: decode, act, maybe send or enqueue. */
void ns__handle(ns__peer *p, const uint8_t *data, size_t len);
void ns__send_hello(ns__peer *p);
/* Relay every equivocation proof held to @p only, or to every peer that is up (NULL). */
void ns__send_proofs(ns_node *n, ns__peer *only);
/* The ingest queue is full (batches or bytes): leave further frames in ZeroMQ. */
int ns__ingest_full(const ns_node *n);
/*
 * The seq of this site's own origin that @p p's Hello claims and that counts
 * at loop time @p t while appends are held (@p mine: our own contiguous seq).
 * A claim above @p mine counts while it is backed by our signed event at
 * that seq, or for claim_timeout while we wait for the events (pulling
 * them); then it is ignored and counted.
 */
uint64_t ns__own_claim(ns__peer *p, uint64_t mine, uint64_t t);
/* Send what @p p lacks while it grants credit. */
void ns__pump(ns__peer *p);
void ns__pump_all(ns_node *n);
/*
 * Batch @p b was committed (@p rc 0) with per-event results @p res, or not
 * (nothing written; it is resent later): count, pull on gaps, acknowledge.
 * @return events refused as equivocation.
 */
int ns__batch_done(ns__batch *b, const int *res, int rc);
/*
 * Timeouts of one peer at loop time @p t: mark down, resend unacknowledged,
 * retry Hello, end a back-off, start a deferred session.
 */
void ns__peer_tick(ns__peer *p, uint64_t t);
/* Ask every live peer for the payloads of events held without them (PayloadPull). */
void ns__pull_payloads(ns_node *n);
/*
 * Ask every live peer for a valid copy of each event whose stored signature
 * was found bad (Pull from its seq): when just found (@p announce, logging
 * who supplied the bad copy), else at most every NS__SIGPULL_EVERY_MS.
 */
void ns__pull_signatures(ns_node *n, int announce);
/* Anti-entropy Hellos (and payload pulls) and heartbeat Pings when due. */
void ns__proto_timers(ns_node *n, uint64_t t);
/* The status of peer @p p at loop time @p t. */
void ns__peer_status(ns_node *n, ns__peer *p, uint64_t t, ns_peer_status *out);
void ns__batch_free(ns__batch *b);

/* ---- commit.c ------------------------------------------------------------ */

/* Trust policy run by the store on the commit thread (ns_store_set_trust). */
int ns__node_trust(void *arg, const ns_event *ev);
/* The roster in force: the roster file plus the authority's changes held in the store. */
int ns__build_roster(ns_node *n, ns_roster *out, uint64_t *applied, ns_diag *d);
/* Refresh the cached local vector (and roster, and relay new proofs); 1 if it changed. */
int ns__refresh_vector(ns_node *n);
/* Queue a batch for verification and commit (ns__proto_ops.enqueue of a node). */
void ns__commit_enqueue(void *arg, ns__batch *b);
/* Start the next commit or deferred step if none runs. */
void ns__try_commit(ns_node *n);
/* Start a background signature check step if signatures await one and none runs. */
void ns__try_sigcheck(ns_node *n);

/* ---- transport.c --------------------------------------------------------- */

/* ns__proto_ops.send of a node: one frame on the peer's socket, never blocking. */
int ns__transport_send(void *arg, ns__peer *p, const uint8_t *frame, size_t len);
/* Bind the ZAP handler and the CURVE ROUTER, dial every configured peer. */
int ns__transport_open(ns_node *n, ns_diag *d);
/* Watch the sockets on the loop. */
int ns__transport_watch(ns_node *n, ns_diag *d);
/* Receive what waits on every socket (bounded by the ingest queue). */
void ns__drain_all(ns_node *n);
/* Dial @p p again if its handshake has not come for 5 s. */
void ns__transport_redial(ns__peer *p, uint64_t t);
/* Stop watching (handles close asynchronously). */
void ns__transport_unwatch(ns_node *n);
/* Close the sockets and the context. */
void ns__transport_close(ns_node *n);

#endif /* NS_DAEMON_NODE_INT_H */
