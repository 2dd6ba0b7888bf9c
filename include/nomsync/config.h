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
 *   fold_threads = 0                # threads that fold deferred persons (catch-up),
 *                                   # 1 to 64; 0: one per core (the default)
 *   fold_cache_mib = 64             # long histories kept decoded, with fold
 *                                   # checkpoints, for late events (MiB; 0: off)
 *   sigcheck_step = 8192            # signatures covered by a run's tip checked per
 *                                   # background step (1 to 1000000)
 *   authority = <64 hex>            # roster authority key: the roster must be
 *                                   # signed by it, and roster changes signed
 *                                   # by it are applied (optional)
 *
 *   [http]
 *   listen = 127.0.0.1:8401         # HTTP/JSON API (empty: off; needs [auth] jwks
 *                                   # or token, or both)
 *   token = secret                  # bearer token of machine clients (every role)
 *   max_connections = 512           # open connections at once (8 to 65536)
 *   reserved_connections = 64       # of those, kept for authenticated requests
 *                                   # and /healthz (default max_connections / 8)
 *   connections_per_client = 32     # per client IPv4 address
 *   response_timeout = 10           # seconds a client may leave a response untaken
 *   session_lifetime = 43200        # seconds a web sign-in lasts
 *   audit = on                      # the read audit of personal data, in <dir>/audit
 *                                   # (on or off; default on)
 *   audit_days = 2555               # days audit entries are kept (1 to 36500)
 *   audit_sync = 1                  # seconds an audit entry may wait for fsync
 *                                   # (0 to 60); it is written before its response
 *                                   # leaves, so a kill -9 loses none; a power cut
 *                                   # at most this much. 0: fsync before each reply
 *   audit_syslog = off              # on: also one JSON line per entry to syslog
 *                                   # (ident nomsyncd-audit, facility authpriv)
 *   tls_cert = api.crt              # PEM certificate chain: serve HTTPS only
 *                                   # (TLS 1.2+; plain HTTP gets a 400); reloaded
 *                                   # with tls_key on SIGHUP; an expired or
 *                                   # not-yet-valid certificate refuses start-up
 *   tls_key = api.key               # its PEM private key (both or neither)
 *   tls_client_ca = clients.crt     # optional: require client certificates
 *                                   # signed by these CAs (mutual TLS)
 *
 *   [auth]                          # people: JWTs (nomsync/auth.h)
 *   jwks = /etc/nomsync/jwks.json   # trusted public keys (JSON Web Key Set);
 *                                   # reread on SIGHUP
 *   issuer = https://sign-in.example/auth/issuer   # required `iss` (optional)
 *   audience = nomsync              # required member of `aud` (optional)
 *   leeway = 60                     # seconds of clock skew on exp/nbf (0 to 3600)
 *
 *   [peers]
 *   HUBNE = tcp://127.0.0.1:7400    # site code = endpoint to connect to
 *
 *   [nats]                          # optional: JetStream publishing (src/nats)
 *   url = nats://127.0.0.1:4222     # one or more servers, comma separated (required)
 *   stream = NOMSYNC                # event stream; views go to <stream>_VIEWS
 *   subject_prefix = nomsync        # <prefix>.event.<type>, <prefix>.view.<ref>,
 *                                   # <prefix>.deadletter
 *   user = nomsync                  # credentials: user and password, or token,
 *   password = secret               # or nkey (public key) with nkey_seed (file),
 *   token = secret                  # or creds (a .creds file); at most one kind
 *   nkey = U...                     #
 *   nkey_seed = /etc/nomsync/nats.nk
 *   creds = /etc/nomsync/nats.creds
 *   tls_ca = ca.pem                 # TLS: CA to verify the server; tls_cert and
 *   tls_cert = client.pem           # tls_key (both or neither) a client certificate
 *   tls_key = client.key
 *   window = 16384                  # messages published but not yet acknowledged
 *                                   # (16 to 65536)
 *   duplicate_window = 2h           # the streams' de-duplication window (s, m, h, d;
 *                                   # 1 m to 7 d)
 *   ack_timeout = 10                # seconds to wait for a publish acknowledgement
 *   consume = hmpps.domainevents    # inbound: HMPPS domain events on this subject
 *                                   # (optional; wildcards allowed)
 *   consumer = nomsync-MDI          # durable consumer name (required with consume)
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

/** The [nats] section (all "" / 0 when absent: enabled is 0). */
typedef struct ns_nats_conf {
	int enabled;
	char url[1024];          /**< comma-separated server URLs */
	char stream[64];         /**< default "NOMSYNC" */
	char prefix[64];         /**< subject prefix, default "nomsync" */
	char user[128];
	char password[256];
	char token[256];
	char nkey[64];           /**< nkey public key (U...) */
	char nkey_seed[PATH_MAX];
	char creds[PATH_MAX];
	char tls_ca[PATH_MAX];
	char tls_cert[PATH_MAX];
	char tls_key[PATH_MAX];
	unsigned window;         /**< messages in flight, default 16384 */
	double duplicate_window; /**< seconds, default 7200 */
	double ack_timeout;      /**< seconds, default 10 */
	char consume[256];       /**< inbound subject, "" for none */
	char consumer[64];       /**< durable consumer name */
} ns_nats_conf;

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
	unsigned fold_threads;      /**< threads for deferred folds; 0: one per core */
	size_t fold_cache;          /**< bytes of the fold cache (ns_store_set_fold_cache) */
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
	int http_audit;               /**< 1 (default): audit reads into <dir>/audit */
	unsigned http_audit_days;     /**< audit retention in days (default 2555) */
	double http_audit_sync;       /**< seconds an entry may wait for fsync (default 1; 0: each batch) */
	int http_audit_syslog;        /**< 1: also each audit entry to syslog */
	char http_tls_cert[PATH_MAX];      /**< "" unless TLS: PEM certificate chain */
	char http_tls_key[PATH_MAX];       /**< its PEM private key ("" exactly when http_tls_cert is) */
	char http_tls_client_ca[PATH_MAX]; /**< "" or the PEM CAs a client certificate must be signed by */
	char auth_jwks[PATH_MAX];     /**< [auth] jwks: "" if off */
	char auth_issuer[256];        /**< "" for any */
	char auth_audience[256];      /**< "" for any */
	unsigned auth_leeway;         /**< seconds (default 60) */
	ns_peer_conf peers[NS_MAX_PEERS];
	size_t npeers;
	ns_nats_conf nats;
} ns_config;

/** @brief Parse config text; @p base is the directory for relative paths. */
int ns_config_parse(const char *text, size_t len, const char *base, ns_config *c, ns_diag *d);
/** @brief Read and parse a config file. @return 0 or NS_ECONFIG (diag names line and key). */
int ns_config_load(const char *path, ns_config *c, ns_diag *d);

#ifdef __cplusplus
}
#endif
#endif /* NOMSYNC_CONFIG_H */
