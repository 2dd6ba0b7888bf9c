/*
 * The replication node: nomsyncd's engine on a libuv loop.
 *
 * ns_node_start opens the store, loads the roster, binds the CURVE ROUTER
 * socket (with a ZAP handler that admits only roster members), connects a
 * DEALER to each configured peer, and runs the protocol of docs/PROTOCOL.md:
 * vector exchange, batched catch-up under credit-based flow control, live
 * push, pulls on gaps, equivocation proofs. Signature checks run on the
 * libuv thread pool in parallel; ingest commits run one at a time off the
 * loop thread.
 */
#ifndef NS_DAEMON_NODE_H
#define NS_DAEMON_NODE_H

#include <nomsync/config.h>
#include <uv.h>

typedef struct ns_node ns_node;

/** @brief Start a node on @p loop. @return 0 or NS_E* with @p d filled. */
int ns_node_start(ns_node **out, const ns_config *cfg, uv_loop_t *loop, ns_diag *d);

/** @brief Begin a clean shutdown: stop reading, let work finish, close handles. */
void ns_node_stop(ns_node *n);

/** @brief Free what remains after uv_run has returned. */
void ns_node_free(ns_node *n);

#endif /* NS_DAEMON_NODE_H */
