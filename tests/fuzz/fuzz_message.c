/*
 * Fuzz target: one replication frame (nomsync.Message) as a peer sends it.
 *
 * Rather than re-implementing what nomsyncd does with a frame, this harness
 * links the daemon module and calls its frame handler, ns__handle()
 * (src/daemon/protocol.c), on a node without ZeroMQ sockets: frames the
 * node would send go to a stub that checks they decode and then fails, as a
 * send to a peer that went away does. Received batches take the daemon's
 * own commit pipeline (src/daemon/commit.c). So every body kind gets exactly
 * the daemon's treatment:
 *
 *   nomsync__message__unpack -> Hello (version, vector, session, credit)
 *   | Events (limit 4096, ns_event_decode each, signatures on the libuv
 *     thread pool, ns_store_ingest with NS_INGEST_VERIFIED and the roster
 *     trust policy, Ack/Pull) | Ack | Pull | Proof (ns_store_add_proof) | Ping
 *
 * The node's libuv loop is run to completion after each frame, so verify and
 * commit work finish before the next input. The node is one long-lived
 * connection from peer HUBNE (state carries over between inputs, as it does
 * on a real connection); node and store are recreated every 2000 inputs.
 *
 * The roster is tests/fuzz/data/roster (the sites whose events are in the
 * seed corpus, so seed events pass the trust policy), signed by the
 * authority key in tests/fuzz/data/authority and loaded as nomsyncd loads it
 * (ns__build_roster): roster changes signed by the authority in a frame are
 * applied as the daemon does.
 *
 * Coupling with src/daemon/node_int.h (update here if it changes): struct
 * ns_node fields loop, cfg, store, roster, roster_lock, authority_seq,
 * session, started, ops, ops_arg, qhead, qlen, qbytes, committing, verifying;
 * peer fields endpoint, queued, credit, ignore_until, session_at; ns__peer_new(), ns__handle(),
 * ns__build_roster(), ns__node_trust(), ns__refresh_vector(),
 * ns__commit_enqueue(), ns_node_free().
 */
#include "daemon/log.h"
#include "daemon/node_int.h"

#include "replication.pb-c.h"

#include "fuzz_common.h"

static uv_loop_t loop;
static ns_node *node;
static ns__peer *from;
static char store_path[1024];
static unsigned long runs;

/* The node's frames: each must decode; none is delivered (no socket). */
static int send_stub(void *arg, ns__peer *p, const uint8_t *frame, size_t len)
{
	Nomsync__Message *m = nomsync__message__unpack(NULL, len, frame);
	(void)arg;
	if (m == NULL)
		ns_fuzz_die("the node would send %s a frame of %zu bytes that does not decode", p->site, len);
	nomsync__message__free_unpacked(m, NULL);
	return NS_EAGAIN;
}

static void refresh_op(void *arg)
{
	ns__refresh_vector(arg);
}

static void node_make(void)
{
	ns_diag d;

	node = calloc(1, sizeof(*node));
	if (node == NULL)
		abort();
	node->loop = &loop;
	node->ops = (ns__proto_ops){ send_stub, ns__commit_enqueue, refresh_op };
	node->ops_arg = node;
	static const char conf[] = "[node]\ndir=/x\nlisten=tcp://127.0.0.1:1\nroster=/x\n";
	if (ns_config_parse(conf, strlen(conf), NULL, &node->cfg, &d) != 0)
		ns_fuzz_die("default config does not parse: %s", d.msg);
	node->session = 42;
	pthread_mutex_init(&node->roster_lock, NULL);
	node->store = ns_fuzz_store("HUBFZ", NS_ROLE_HUB, store_path, sizeof(store_path));
	snprintf(node->cfg.dir, sizeof(node->cfg.dir), "%s", store_path);
	snprintf(node->cfg.roster, sizeof(node->cfg.roster), "%s", NS_FUZZ_DATA "/roster");
	/* The signed roster and its authority, so roster changes in frames are applied. */
	size_t alen = 0;
	char *hex = ns_fuzz_slurp(NS_FUZZ_DATA "/authority", &alen);
	if (hex != NULL) {
		hex[strcspn(hex, " \r\n")] = '\0';
		node->cfg.has_authority = ns_unhex(node->cfg.authority, NS_KEY_BYTES, hex) == 0;
		free(hex);
	}
	if (ns__build_roster(node, &node->roster, &node->authority_seq, &d) == 0)
		ns_store_set_trust(node->store, ns__node_trust, node);
	else
		fprintf(stderr, "fuzz_message: no roster (%s): every event is taken as trusted\n", d.msg);
	ns__refresh_vector(node);
	node->started = 1; /* as after ns_node_start: roster rebuilds and proof relays are live */
	from = ns__peer_new(node, "HUBNE", 1);
	if (from == NULL)
		abort();
	snprintf(from->endpoint, sizeof(from->endpoint), "tcp://127.0.0.1:2");
}

static void node_drop(void)
{
	uv_run(&loop, UV_RUN_DEFAULT);
	if (node->qhead != NULL || node->committing || node->verifying)
		ns_fuzz_die("node still has %zu queued batches after its loop ran dry", node->qlen);
	ns_fuzz_verify(node->store, "before dropping the node's store");
	ns_node_free(node); /* closes the store */
	ns_fuzz_rmrf(store_path);
	node = NULL;
	from = NULL;
}

static void on_exit_drop(void)
{
	if (node)
		node_drop();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (ns_crypto_init() != 0 || uv_loop_init(&loop) != 0)
		abort();
	ns_log_level = getenv("NS_FUZZ_LOG") ? NS_LOG_DEBUG : NS_LOG_ERROR + 1;
	node_make();
	atexit(on_exit_drop);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (node == NULL)
		LLVMFuzzerInitialize(NULL, NULL);
	/*
	 * Each frame is judged on its own: a back-off earned by an earlier input
	 * (a batch over the size limit) would otherwise drop every later one
	 * unread, and a new session within resend_interval would be deferred.
	 */
	from->ignore_until = 0;
	from->session_at = 0;
	/* ZeroMQ never delivers more than ZMQ_MAXMSGSIZE (4 MiB + 128 KiB); libFuzzer never gets near it. */
	ns__handle(from, data, size);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (node->qbytes != 0)
		ns_fuzz_die("the ingest queue still counts %zu bytes", node->qbytes);
	if (node->qhead != NULL || node->qlen != 0 || node->committing || node->verifying)
		ns_fuzz_die("frame left work behind: %zu queued batches, committing %d, verifying %zu", node->qlen,
			    node->committing, node->verifying);
	if (from->queued != 0)
		ns_fuzz_die("peer still counts %zu queued batches", from->queued);
	if (from->credit > node->cfg.window)
		ns_fuzz_die("credit %u exceeds the window %u", from->credit, node->cfg.window);
	if (++runs % 2000 == 0) {
		node_drop();
		node_make();
	}
	return 0;
}
