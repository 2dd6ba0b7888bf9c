/*
 * nomsyncd configuration file (INI).
 *
 *   [node]
 *   dir = /var/lib/nomsync          # the store (nomsync --dir ... init first)
 *   listen = tcp://127.0.0.1:7401   # ZeroMQ endpoint peers connect to
 *   roster = /etc/nomsync/roster    # sites and keys admitted
 *   log_level = info                # debug, info, warn, error
 *   anti_entropy = 5                # seconds between vector exchanges
 *   heartbeat = 1                   # seconds between pings
 *   peer_timeout = 10               # seconds of silence before a peer is down
 *   batch = 256                     # events per Events message
 *   window = 32                     # Events messages in flight per peer
 *   ingest_queue_mib = 256          # received events held before commit, all
 *                                   # peers (MiB); full: stop reading sockets
 *   peer_backoff = 60               # seconds a peer that exceeds its credit or
 *                                   # the batch size is ignored
 *   resend_interval = 10            # seconds: a peer's new session (a full
 *                                   # resend of what it lacks) at most this often
 *   claim_timeout = 60              # seconds a peer's claim to hold more of
 *                                   # this site's own events than it has may go
 *                                   # unbacked before it is ignored (hold)
 *   held_window = 100000            # refuse events more seqs than this past
 *                                   # their origin's contiguous seq
 *   held_bytes = 8M                 # bytes held for a gap per origin (K, M, G)
 *   held_peer_bytes = 32M           # bytes held for a gap per sending peer
 *   held_ttl = 7d                   # drop held events after this long (s, m, h, d)
 *   sigcheck_step = 8192            # signatures covered by a run's tip checked per
 *                                   # background step (1 to 1000000)
 *   authority = <64 hex>            # roster authority key: the roster must be
 *                                   # signed by it, and roster changes signed
 *                                   # by it are applied (optional)
 *
 *   [http]
 *   listen = 127.0.0.1:8401         # HTTP/JSON API (empty: off)
 *   token = secret                  # bearer token required by the API
 *   max_connections = 512           # open connections at once (8 to 65536)
 *   reserved_connections = 64       # of those, kept for authenticated requests
 *                                   # and /healthz (default max_connections / 8)
 *   connections_per_client = 32     # per client IPv4 address
 *   response_timeout = 10           # seconds a client may leave a response untaken
 *   session_lifetime = 43200        # seconds a web sign-in lasts
 *
 *   [peers]
 *   HUBNE = tcp://127.0.0.1:7400    # site code = endpoint to connect to
 *
 * Relative paths are taken from the config file's directory. Unknown
 * sections or keys, bad values and missing required keys are errors that
 * name the line.
 */
#ifndef NOMSYNC_CONFIG_H
#define NOMSYNC_CONFIG_H

#include <limits.h>
#include <nomsync/event.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NS_MAX_PEERS 64

enum ns_log_level { NS_LOG_DEBUG = 0, NS_LOG_INFO = 1, NS_LOG_WARN = 2, NS_LOG_ERROR = 3 };

typedef struct ns_peer_conf {
	char site[NS_SITE_MAX];
	char endpoint[256];
} ns_peer_conf;

typedef struct ns_config {
	char dir[PATH_MAX];
	char listen[256];
	char roster[PATH_MAX];
	int log_level;
	double anti_entropy; /**< seconds */
	double heartbeat;    /**< seconds */
	double peer_timeout; /**< seconds */
	unsigned batch;
	unsigned window;
	size_t ingest_queue;     /**< bytes */
	double peer_backoff;     /**< seconds */
	double resend_interval;  /**< seconds */
	double claim_timeout;    /**< seconds */
	uint64_t held_window;       /**< seqs past the contiguous seq an event may be held at */
	uint64_t held_origin_bytes; /**< bytes held for a gap per origin */
	uint64_t held_peer_bytes;   /**< bytes held for a gap per sending peer */
	double held_ttl;            /**< seconds before a held event is dropped */
	unsigned sigcheck_step;     /**< covered signatures checked per background step */
	int has_authority;
	uint8_t authority[NS_KEY_BYTES];
	char http_listen[128]; /**< "" if off */
	char http_token[128];
	/* [http] limits; 0 where not set: the HTTP module's default (src/http/http.h, ns_http_opts) */
	unsigned http_max_conns;
	unsigned http_reserved_conns;
	unsigned http_conns_per_client;
	double http_response_timeout; /**< seconds */
	double http_session_lifetime; /**< seconds */
	ns_peer_conf peers[NS_MAX_PEERS];
	size_t npeers;
} ns_config;

/** @brief Parse config text; @p base is the directory for relative paths. */
int ns_config_parse(const char *text, size_t len, const char *base, ns_config *c, ns_diag *d);
/** @brief Read and parse a config file. @return 0 or NS_ECONFIG (diag names line and key). */
int ns_config_load(const char *path, ns_config *c, ns_diag *d);

#ifdef __cplusplus
}
#endif
#endif /* NOMSYNC_CONFIG_H */
