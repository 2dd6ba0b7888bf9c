/*
 * The replication node's lifecycle (see node.h, and node_int.h for how the
 * daemon module is split): ns_node_start/stop/free, the tick timer and
 * signals, releasing held appends after a restore, and the status the node
 * publishes (DIR/nomsyncd.status.json and the HTTP API).
 */
#include "daemon/log.h"
#include "daemon/node_int.h"

#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void ns__refresh_op(void *arg)
{
	ns__refresh_vector(arg);
}

/*
 * The store's vector moved without this daemon committing (an append through
 * the API or by another process, an import by the CLI): push to the peers,
 * and have a check step look for events an import stored on a run tip's
 * signature (they are relayed only once their own signatures are checked).
 */
static void ns__store_moved(ns_node *n)
{
	if (n->stopping || !ns__refresh_vector(n))
		return;
	ns__pump_all(n);
	if (n->sigs_pending == 0)
		n->sigs_pending = 1;
}

/* An append through the API: push it to the peers now, not at the next tick. */
static void ns__on_local_append(void *arg)
{
	ns__store_moved(arg);
}

/*
 * Appends by another process (the CLI, ns_store_notify): each datagram on
 * DIR/nomsyncd.notify is one; read them all, then push as for an API append.
 */
static void ns__on_notify(uv_poll_t *h, int status, int events)
{
	ns_node *n = h->data;
	char b[16];
	int got = 0;

	(void)events;
	if (status < 0)
		return;
	while (recv(n->notify_fd, b, sizeof(b), 0) >= 0)
		got++;
	n->notifications += (uint64_t)got;
	if (got)
		ns__on_local_append(n);
}

static void ns__notify_start(ns_node *n)
{
	ns_diag d;

	ns_diag_clear(&d);
	if (ns_store_notify_listen(n->cfg.dir, &n->notify_fd, &d) != 0) {
		ns_log(NS_LOG_WARN, "no append notifications (appends by other processes are sent at the next tick): %s",
		       d.msg);
		return;
	}
	uv_poll_init(n->loop, &n->notify_poll, n->notify_fd);
	n->notify_poll.data = n;
	uv_poll_start(&n->notify_poll, UV_READABLE, ns__on_notify);
}

/* The node's live state: peers, lag, queue, refusals (ns_http_status_fn). */
/* The HTTP module's warnings (connections refused or closed; it bounds their rate). */
static void ns__http_log(void *arg, const char *line)
{
	(void)arg;
	ns_log(NS_LOG_WARN, "%s", line);
}

static int ns__status(void *arg, ns_node_status *st)
{
	ns_node *n = arg;
	uint64_t t = uv_now(n->loop);
	struct timespec ts;

	memset(st, 0, sizeof(*st));
	if ((n->npeers && (st->peers = calloc(n->npeers, sizeof(*st->peers))) == NULL) ||
	    (n->nvv && (st->vector = malloc(n->nvv * sizeof(*st->vector))) == NULL)) {
		ns_status_free(st);
		return NS_ENOMEM;
	}
	for (size_t i = 0; i < n->npeers; i++)
		ns__peer_status(n, n->peers[i], t, &st->peers[i]);
	st->npeers = n->npeers;
	if (n->nvv)
		memcpy(st->vector, n->vv, n->nvv * sizeof(*st->vector));
	st->nvector = n->nvv;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(st->site, sizeof(st->site), "%s", ns_store_identity(n->store)->site);
	st->pid = getpid();
	st->written_at_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	st->uptime_s = (double)(t - n->started) / 1000.0;
	snprintf(st->listen, sizeof(st->listen), "%s", n->cfg.listen);
	st->ingest_queue_batches = n->qlen;
	st->frames_rejected = n->frames_rejected;
	st->connections_refused = n->zap_refused;
	st->appends_held = n->held;
	st->folds_pending = n->folds_pending;
	st->ids_pending = n->ids_pending;
	st->roster_changes_applied = n->authority_seq;
	if (n->nats)
		ns_nats_status_get(n->nats, &st->nats);
	st->local_append_notifications = n->notifications;
	ns_trust_stats trust;
	if (ns_store_trust_stats(n->store, &trust) == 0) {
		st->events_incomplete = trust.incomplete;
		st->events_held = trust.held;
		st->held_bytes = trust.held_bytes;
	}
	ns_sig_stats sig;
	if (ns_store_sig_stats(n->store, &sig) == 0) {
		st->sigs_covered = sig.covered;
		st->sigs_pending = sig.pending;
		st->sigs_bad = sig.bad;
		st->sigs_background = sig.background;
		st->sigs_replaced = sig.replaced;
	}
	return 0;
}

static void ns__write_status(ns_node *n)
{
	char path[PATH_MAX + 32], tmp[PATH_MAX + 40];
	ns_node_status st;
	json_t *j;

	if (ns__status(n, &st) != 0)
		return;
	j = ns_status_to_json(&st);
	ns_status_free(&st);
	snprintf(path, sizeof(path), "%s/nomsyncd.status.json", n->cfg.dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (j && json_dump_file(j, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) == 0)
		rename(tmp, path);
	json_decref(j);
}

/*
 * A restored store may lack events this site signed after the backup. Once
 * every configured peer (or, for a node with none, every connected peer, at
 * least one) has told us its vector and none holds more of our own events
 * than we do, nothing is missing and appends may resume. A claim to hold
 * more counts only while backed by our signed events (ns__own_claim).
 */
static void ns__check_hold(ns_node *n, uint64_t t)
{
	const uint8_t *me = ns_store_identity(n->store)->pk;
	uint64_t mine = ns__vec_get(n->vv, n->nvv, me), heard = 0;
	int outbound = 0, wait = 0;

	for (size_t i = 0; i < n->npeers; i++)
		outbound |= n->peers[i]->outbound;
	for (size_t i = 0; i < n->npeers; i++) {
		ns__peer *p = n->peers[i];
		if (outbound && p->outbound && !p->hello_seen)
			wait = 1;
		/* Every claim is looked at each time, so that each one's wait runs. */
		if (p->hello_seen) {
			heard++;
			if (ns__own_claim(p, mine, t) > mine)
				wait = 1;
		}
	}
	for (size_t i = 0; i < n->nvv; i++)
		if (memcmp(n->vv[i].origin, me, NS_KEY_BYTES) == 0 && n->vv[i].held)
			wait = 1;
	if (wait || heard == 0)
		return;
	if (ns_store_hold(n->store, 0) == 0) {
		n->held = 0;
		ns_log(NS_LOG_INFO, "caught up with this site's own events (seq %llu) from %llu peers: appends released",
		       (unsigned long long)mine, (unsigned long long)heard);
	}
}

/*
 * After an erasure, compact the store so that the erased bytes leave the
 * file (ns_store_compact). It closes and reopens the environment, so it
 * runs here, on the loop thread, between commits: nothing else in this
 * process has a transaction open then (the pool runs commits, one at a
 * time, signature check steps and the API's appends, waited for here; the
 * HTTP server's other requests and the status writer run on this thread).
 */
static void ns__compact(ns_node *n)
{
	ns_diag d;
	int rc;

	if (n->committing || n->sigchecking || (n->http && ns_http_appending(n->http) > 0) ||
	    !ns_store_scrub_due(n->store))
		return;
	ns_diag_clear(&d);
	if (n->nats)
		ns_nats_pause(n->nats); /* its threads read and append too */
	rc = ns_store_compact(n->store, &d);
	if (n->nats)
		ns_nats_resume(n->nats);
	if (rc == 0) {
		n->compact_waiting = 0;
		ns_log(NS_LOG_INFO, "store compacted after an erasure: the erased bytes are gone from the file");
	} else if (!n->compact_waiting) { /* one line until it succeeds */
		n->compact_waiting = 1;
		ns_log(rc == NS_ELOCKED ? NS_LOG_WARN : NS_LOG_ERROR,
		       "cannot compact the store after an erasure (retrying every second): %s",
		       d.msg[0] ? d.msg : ns_strerror(rc));
	}
}

static void ns__on_tick(uv_timer_t *h)
{
	ns_node *n = h->data;
	uint64_t t = uv_now(n->loop);

	if (n->stopping)
		return;
	ns__store_moved(n);
	for (size_t i = 0; i < n->npeers; i++) {
		ns__peer_tick(n->peers[i], t);
		ns__transport_redial(n->peers[i], t);
	}
	ns__proto_timers(n, t);
	if (t - n->last_status >= 1000) {
		n->last_status = t;
		ns__compact(n);
		ns__write_status(n);
	}
	if (n->held && t - n->last_hold_check >= 500) {
		n->last_hold_check = t;
		ns__check_hold(n, t);
	}
	if (!n->committing && t - n->last_expire >= NS__EXPIRE_EVERY_MS) {
		/* Events held for a gap that never filled: drop the old ones, a step at a time. */
		uint64_t expired = 0;
		ns_diag d;
		ns_diag_clear(&d);
		n->last_expire = t;
		if (ns_store_expire_held(n->store, (int64_t)time(NULL), (int64_t)n->cfg.held_ttl, NS__EXPIRE_STEP,
					 &expired, &d) != 0)
			ns_log(NS_LOG_ERROR, "cannot expire held events: %s", d.msg);
		else if (expired)
			ns_log(NS_LOG_WARN, "dropped %llu events held for more than %.0f s for a gap that never filled",
			       (unsigned long long)expired, n->cfg.held_ttl);
	}
	ns__pump_all(n);
	ns__try_commit(n);
	ns__try_sigcheck(n);
	ns__drain_all(n);
}

/* The nats module's log lines (from its threads). */
static void ns__nats_log(void *arg, int level, const char *line)
{
	(void)arg;
	ns_log(level, "%s", line);
}

static void ns__on_signal(uv_signal_t *h, int sig)
{
	ns_log(NS_LOG_INFO, "signal %d: shutting down", sig);
	ns_node_stop(h->data);
}

/* SIGHUP: read the API's TLS certificate and key again; on failure the old ones stay. */
static void ns__reload_tls(ns_node *n)
{
	char about[768];
	ns_diag d;

	ns_diag_clear(&d);
	if (n->http == NULL || !ns_http_tls_describe(n->http, about, sizeof(about)))
		return;
	if (ns_http_reload_tls(n->http, &d) != 0)
		ns_log(NS_LOG_ERROR, "SIGHUP: TLS not reloaded, still serving the old certificate: %s", d.msg);
	else if (ns_http_tls_describe(n->http, about, sizeof(about)))
		ns_log(NS_LOG_INFO, "SIGHUP: TLS reloaded: %s", about);
}

/* The [auth] key set named by @p cfg (NULL if [auth] jwks is not set). */
static int ns__load_auth(const ns_config *cfg, ns_auth **out, ns_diag *d)
{
	ns_auth_opts o = { cfg->auth_issuer, cfg->auth_audience, cfg->auth_leeway };
	ns_diag why;
	int rc;

	*out = NULL;
	if (cfg->auth_jwks[0] == '\0')
		return 0;
	ns_diag_clear(&why);
	if ((rc = ns_auth_open(out, cfg->auth_jwks, &o, &why)) != 0)
		return rc == NS_ECONFIG ? ns_diag_set(d, rc, "auth", "[auth] jwks %s: %s", cfg->auth_jwks, why.msg)
					: ns_diag_set(d, rc, "auth", "[auth] jwks: %s",
						      why.msg[0] ? why.msg : ns_strerror(rc));
	return 0;
}

/* SIGHUP: read [auth] jwks again (key rotation); on failure the keys in use stay. */
static void ns__reload_auth(ns_node *n)
{
	ns_auth *a;
	ns_diag d;

	if (n->auth == NULL)
		return;
	ns_diag_clear(&d);
	if (ns__load_auth(&n->cfg, &a, &d) != 0) {
		ns_log(NS_LOG_ERROR, "SIGHUP: JWT keys not reloaded, the %zu keys in use stay: %s",
		       ns_auth_nkeys(n->auth), d.msg);
		return;
	}
	if (n->http != NULL)
		ns_http_set_auth(n->http, a);
	ns_auth_close(n->auth);
	n->auth = a;
	ns_log(NS_LOG_INFO, "SIGHUP: %zu JWT keys reloaded from %s", ns_auth_nkeys(a), n->cfg.auth_jwks);
}

static void ns__on_sighup(uv_signal_t *h, int sig)
{
	(void)sig;
	ns__reload_auth(h->data);
	ns__reload_tls(h->data);
}

int ns_node_start(ns_node **out, const ns_config *cfg, uv_loop_t *loop, ns_diag *d)
{
	const ns_identity *id;
	ns_node *n;
	int rc;

	*out = NULL;
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return NS_ENOMEM;
	n->loop = loop;
	n->cfg = *cfg;
	n->notify_fd = -1;
	n->ops = (ns__proto_ops){ ns__transport_send, ns__commit_enqueue, ns__refresh_op };
	n->ops_arg = n;
	ns_log_level = cfg->log_level;
	randombytes_buf(&n->session, sizeof(n->session));
	pthread_mutex_init(&n->roster_lock, NULL);
	if ((rc = ns_store_open(cfg->dir, 0, &n->store, d)) != 0)
		goto fail;
	{
		ns_upgrade_report up;
		char line[256];
		ns_store_upgrade_report(n->store, &up);
		if (ns_upgrade_describe(&up, line, sizeof(line)) > 0)
			ns_log(NS_LOG_INFO, "%s", line);
	}
	/* Folds deferred before a stop or crash run once the loop starts. */
	if (ns_store_fold_pending(n->store, 0, &n->folds_pending, NULL) == 0 && n->folds_pending > 0)
		ns_log(NS_LOG_INFO, "%zu persons have deferred folds; folding them", n->folds_pending);
	if (ns_store_index_pending(n->store, 0, &n->ids_pending, NULL) == 0 && n->ids_pending > 0)
		ns_log(NS_LOG_INFO, "%zu events await the id index; indexing them", n->ids_pending);
	{
		/* Covered signatures not checked before a stop or crash: checked again in the background. */
		ns_sig_stats sig;
		if (ns_store_sig_stats(n->store, &sig) == 0) {
			n->sigs_pending = sig.pending;
			n->sigs_bad = sig.bad;
			if (sig.pending || sig.bad)
				ns_log(NS_LOG_INFO, "%llu signatures await their background check, %llu copies with a bad "
						    "signature await a valid copy",
				       (unsigned long long)sig.pending, (unsigned long long)sig.bad);
		}
	}
	if ((rc = ns__build_roster(n, &n->roster, &n->authority_seq, d)) != 0)
		goto fail;
	id = ns_store_identity(n->store);
	const ns_roster_entry *me = ns_roster_by_key(&n->roster, id->pk);
	if (me == NULL || me->role != id->role || strcmp(me->site, id->site) != 0) {
		rc = ns_diag_set(d, NS_ECONFIG, "roster",
				 "this node (%s, %s) is not in the roster %s with its key, site and role", id->site,
				 ns_role_name(id->role), cfg->roster);
		goto fail;
	}
	ns_store_set_trust(n->store, ns__node_trust, n);
	ns_store_set_limits(n->store, &(ns_store_limits){ cfg->held_window, cfg->held_origin_bytes, cfg->held_peer_bytes });
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	ns_store_set_fold_threads(n->store, cfg->fold_threads ? cfg->fold_threads
							   : (unsigned)(cores < 1 ? 1 : cores > 64 ? 64 : cores));
	ns_store_set_fold_cache(n->store, cfg->fold_cache);
	if ((n->held = ns_store_held(n->store)))
		ns_log(NS_LOG_WARN, "appends are held (restored store): catching up this site's own events first");
	/* A bad key set stops the start-up before any socket opens. */
	if ((rc = ns__load_auth(cfg, &n->auth, d)) != 0)
		goto fail;
	if (n->auth != NULL)
		ns_log(NS_LOG_INFO, "JWT sign-in: %zu trusted keys from %s (issuer %s, audience %s, leeway %u s)",
		       ns_auth_nkeys(n->auth), cfg->auth_jwks, cfg->auth_issuer[0] ? cfg->auth_issuer : "any",
		       cfg->auth_audience[0] ? cfg->auth_audience : "any", cfg->auth_leeway);
	if ((rc = ns_curve_keys(id, n->curve_pk, n->curve_sk)) != 0)
		goto fail;
	if ((rc = ns__transport_open(n, d)) != 0)
		goto fail;
	ns__refresh_vector(n);
	if ((rc = ns__transport_watch(n, d)) != 0)
		goto fail;
	uv_timer_init(loop, &n->tick);
	n->tick.data = n;
	uv_timer_start(&n->tick, ns__on_tick, NS__TICK_MS, NS__TICK_MS);
	uv_signal_init(loop, &n->sigterm);
	uv_signal_init(loop, &n->sigint);
	n->sigterm.data = n->sigint.data = n;
	uv_signal_start(&n->sigterm, ns__on_signal, SIGTERM);
	uv_signal_start(&n->sigint, ns__on_signal, SIGINT);
	uv_signal_init(loop, &n->sighup);
	n->sighup.data = n;
	uv_signal_start(&n->sighup, ns__on_sighup, SIGHUP);
	if (cfg->http_listen[0] && cfg->http_audit) {
		/* The read audit; its writer thread expires old entries at open and every 24 h. */
		char adir[PATH_MAX + 8];
		ns_audit_opts ao = { .days = cfg->http_audit_days, .syslog = cfg->http_audit_syslog,
				     .sync_ms = (unsigned)(cfg->http_audit_sync * 1000 + 0.5) };
		snprintf(adir, sizeof(adir), "%s/audit", cfg->dir);
		if ((rc = ns_audit_open(&n->audit, adir, &ao, d)) != 0)
			goto fail;
		ns_log(NS_LOG_INFO, "read audit in %s, kept %u days, fsynced %s%s", adir, cfg->http_audit_days,
		       cfg->http_audit_sync > 0 ? "within audit_sync seconds (written before each response)"
						: "before each response",
		       cfg->http_audit_syslog ? ", also to syslog" : "");
	}
	if (cfg->http_listen[0]) {
		rc = ns_http_start(&n->http, loop, n->store, cfg->http_listen, cfg->http_token, ns__status, n,
				   ns__on_local_append, d);
		if (rc == 0) {
			ns_http_opts ho = { .max_conns = cfg->http_max_conns, .reserved_conns = cfg->http_reserved_conns,
					    .conns_per_client = cfg->http_conns_per_client,
					    .response_timeout = cfg->http_response_timeout,
					    .session_lifetime = cfg->http_session_lifetime, .log = ns__http_log,
					    .auth = n->auth, .audit = n->audit };
			if ((rc = ns_http_configure(n->http, &ho, d)) != 0 ||
			    (cfg->http_tls_cert[0] && (rc = ns_http_tls(n->http, cfg->http_tls_cert, cfg->http_tls_key,
								       cfg->http_tls_client_ca, d)) != 0))
				ns_http_stop(n->http); /* as after a failed listen: the listener closes */
		}
		if (rc != 0)
			goto fail;
		char about[768];
		if (ns_http_tls_describe(n->http, about, sizeof(about)))
			ns_log(NS_LOG_INFO, "HTTP API on https://%s/ (TLS): %s", cfg->http_listen, about);
		else
			ns_log(NS_LOG_INFO, "HTTP API on http://%s/", cfg->http_listen);
	}
	if (cfg->nats.enabled) {
		if ((rc = ns_nats_start(&n->nats, n->store, &cfg->nats, ns__nats_log, n, d)) != 0)
			goto fail;
		ns_log(NS_LOG_INFO, "publishing to NATS %s: stream %s, subjects %s.event.>, %s.view.>%s%s",
		       cfg->nats.url, cfg->nats.stream, cfg->nats.prefix, cfg->nats.prefix,
		       cfg->nats.consume[0] ? "; consuming " : "", cfg->nats.consume);
	}
	ns__notify_start(n);
	n->started = uv_now(loop);
	for (size_t i = 0; i < n->npeers; i++)
		n->peers[i]->dialled_at = n->started;
	ns_log(NS_LOG_INFO, "node %s (%s) listening on %s with %zu peers, %zu roster sites", id->site,
	       ns_role_name(id->role), cfg->listen, cfg->npeers, n->roster.n);
	for (size_t i = 0; i < n->npeers; i++)
		ns__send_hello(n->peers[i]);
	*out = n;
	return 0;
fail:
	ns_node_free(n);
	return rc;
}

void ns_node_stop(ns_node *n)
{
	if (n->stopping)
		return;
	n->stopping = 1;
	uv_timer_stop(&n->tick);
	uv_close((uv_handle_t *)&n->tick, NULL);
	uv_close((uv_handle_t *)&n->sigterm, NULL);
	uv_close((uv_handle_t *)&n->sigint, NULL);
	uv_close((uv_handle_t *)&n->sighup, NULL);
	if (n->notify_fd >= 0) {
		uv_poll_stop(&n->notify_poll);
		uv_close((uv_handle_t *)&n->notify_poll, NULL);
	}
	ns_http_stop(n->http);
	/* After the HTTP server: responses waiting for the audit get their callback now (and close). */
	ns_audit_close(n->audit);
	n->audit = NULL;
	ns__transport_unwatch(n);
}

void ns_node_free(ns_node *n)
{
	if (n == NULL)
		return;
	/* Batches that never committed (shutdown mid-stream) are simply resent later. */
	while (n->qhead) {
		ns__batch *b = n->qhead;
		n->qhead = b->next;
		ns__batch_free(b);
	}
	if (n->store && n->vv)
		ns__write_status(n);
	ns_nats_stop(n->nats); /* before the store closes: its threads use it */
	ns__transport_close(n);
	ns_store_notify_unlisten(n->cfg.dir, n->notify_fd);
	for (size_t i = 0; i < n->npeers; i++) {
		free(n->peers[i]->their);
		free(n->peers[i]->told);
		free(n->peers[i]);
	}
	ns_http_free(n->http);
	ns_auth_close(n->auth);
	ns_audit_close(n->audit); /* NULL after a stop */
	ns_store_close(n->store);
	ns_roster_free(&n->roster);
	free(n->vv);
	sodium_memzero(n->curve_sk, sizeof(n->curve_sk));
	pthread_mutex_destroy(&n->roster_lock);
	free(n);
}
