/*
 * The node's ingest pipeline: received batches are verified on the libuv
 * thread pool (many at once) and committed one transaction at a time, off
 * the loop thread. The queue is FIFO, but for live batches: batches commit in
 * arrival order, and consecutive verified batches merge into one transaction
 * (group commit). A live batch (a few events, as a peer sends what was just
 * appended) is verified at once on the loop thread and queued ahead of the
 * catch-up batches that wait, unless one of them holds an event of the same
 * origin (per-origin order is kept) or a roster change, and commits in a
 * transaction of live batches only, so that its folds are not deferred.
 * Large commits defer their folds and id index entries, which then run a
 * step at a time on the same path. After each commit the cached vector (and
 * with it the roster the trust policy uses) is refreshed.
 */
#include "daemon/log.h"
#include "daemon/node_int.h"

#include <stdlib.h>
#include <string.h>

int ns__node_trust(void *arg, const ns_event *ev)
{
	ns_node *n = arg;
	pthread_mutex_lock(&n->roster_lock);
	int rc = ns_roster_trust(&n->roster, ev);
	pthread_mutex_unlock(&n->roster_lock);
	return rc;
}

static void ns__roster_warn(void *arg, const ns_event *ev, const ns_diag *d)
{
	(void)arg;
	ns_log(NS_LOG_WARN, "roster change seq %llu not applied: %s: %s", (unsigned long long)ev->seq, d->field, d->msg);
}

/*
 * The roster in force: the (signed) roster file, then every roster change
 * signed by the authority that this store holds, in seq order.
 */
int ns__build_roster(ns_node *n, ns_roster *out, uint64_t *applied, ns_diag *d)
{
	size_t revoked = 0;
	int rc = ns_roster_load_store(n->cfg.roster, n->cfg.has_authority ? n->cfg.authority : NULL, n->store,
				      out, applied, ns__roster_warn, NULL, d);

	/* Revocations also take effect on what the store holds (docs/PROTOCOL.md). */
	if (rc == 0 && (rc = ns_roster_enforce(out, n->store, &revoked, d)) != 0)
		ns_roster_free(out);
	else if (revoked)
		ns_log(NS_LOG_WARN, "revocation applied to the store: %zu keys' events from their revoked seq "
				    "left out of views and no longer relayed", revoked);
	return rc;
}

static int ns__vec_quarantined(const ns_vv_entry *v, size_t n, const uint8_t *origin)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(v[i].origin, origin, NS_KEY_BYTES) == 0)
			return v[i].quarantined;
	return 0;
}

int ns__refresh_vector(ns_node *n)
{
	ns_vv_entry *v;
	size_t nv;

	if (ns_store_vector(n->store, &v, &nv) != 0)
		return 0;
	int changed = nv != n->nvv || (nv && memcmp(v, n->vv, nv * sizeof(*v)) != 0);
	int newly_quarantined = 0;
	for (size_t i = 0; i < nv; i++)
		if (v[i].quarantined && !ns__vec_quarantined(n->vv, n->nvv, v[i].origin))
			newly_quarantined = 1;
	free(n->vv);
	n->vv = v;
	n->nvv = nv;
	if (n->cfg.has_authority && n->started &&
	    ns__vec_get(n->vv, n->nvv, n->cfg.authority) != n->authority_seq) {
		ns_roster fresh;
		uint64_t applied = 0;
		ns_diag d;
		if (ns__build_roster(n, &fresh, &applied, &d) == 0) {
			pthread_mutex_lock(&n->roster_lock);
			ns_roster old = n->roster;
			uint64_t before = n->authority_seq;
			n->roster = fresh;
			n->authority_seq = applied;
			pthread_mutex_unlock(&n->roster_lock);
			ns_roster_free(&old);
			/* Rebuilt on every refresh while a change waits for its payload: log changes only. */
			if (applied != before)
				ns_log(NS_LOG_INFO, "roster updated by the authority (change %llu): %zu keys",
				       (unsigned long long)applied, n->roster.n);
		} else {
			ns_log(NS_LOG_ERROR, "cannot rebuild the roster: %s", d.msg);
		}
	}
	if (newly_quarantined && n->started) {
		/* Learnt outside the protocol (e.g. a bundle import): tell everyone. */
		ns_log(NS_LOG_WARN, "an origin was quarantined for equivocation; relaying the proof");
		ns__send_proofs(n, NULL);
	}
	return changed;
}

/*
 * Signatures by runs (docs/PROTOCOL.md, "Chain-tip verification"): one
 * check per contiguous run of an origin in the batch; the earlier events of
 * a run are covered by its tip and checked later in the background. A small
 * batch (live traffic) is checked event by event, so that it can be relayed
 * at once rather than after a background step; so is a batch when there is
 * no memory for the flags.
 */
static void ns__verify_work(uv_work_t *w)
{
	ns__batch *b = w->data;
	uint64_t t0 = ns_thread_cpu_nanos();

	if (b->n >= NS__RUN_MIN_BATCH && b->covered == NULL && (b->covered = malloc(b->n)) != NULL) {
		ns_verify_runs(b->evs, b->n, b->res, b->covered);
	} else {
		for (size_t i = 0; i < b->n; i++)
			if (b->res[i] == 0 && ns_event_verify(b->evs[i]) != 0)
				b->res[i] = NS_ESIG;
	}
	ns_store_cpu_add(b->node->store, NS_CPU_VERIFY, ns_thread_cpu_nanos() - t0);
}

static void ns__verify_done(uv_work_t *w, int status)
{
	ns__batch *b = w->data;
	(void)status;
	b->verified = 1;
	b->node->verifying--;
	ns__try_commit(b->node);
}

/* Does a batch of @p q hold an event of an origin of @p b? */
static int ns__shares_origin(const ns__batch *q, const ns__batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		for (size_t k = 0; b->evs[i] && k < q->n; k++)
			if (q->evs[k] && memcmp(q->evs[k]->origin, b->evs[i]->origin, NS_KEY_BYTES) == 0)
				return 1;
	return 0;
}

/* Does @p q hold a roster change (an event of the roster authority)? Later trust checks follow it. */
static int ns__holds_authority(const ns_node *n, const ns__batch *q)
{
	for (size_t k = 0; n->cfg.has_authority && k < q->n; k++)
		if (q->evs[k] && memcmp(q->evs[k]->origin, n->cfg.authority, NS_KEY_BYTES) == 0)
			return 1;
	return 0;
}

/*
 * Where a batch joins the queue: at the tail, or for a live one after the
 * batches being committed and the live ones before it, if none of the
 * catch-up batches it passes holds an event of the same origin or of the
 * roster authority.
 */
static ns__batch **ns__queue_slot(ns_node *n, ns__batch *b)
{
	ns__batch **at = &n->qhead;

	if (b->live) {
		for (size_t i = 0; i < n->qinflight && *at; i++)
			at = &(*at)->next;
		while (*at && (*at)->live)
			at = &(*at)->next;
		for (const ns__batch *q = *at; q; q = q->next)
			if (ns__shares_origin(q, b) || ns__holds_authority(n, q))
				return n->qtail ? &n->qtail->next : &n->qhead;
		return at;
	}
	return n->qtail ? &n->qtail->next : &n->qhead;
}

void ns__commit_enqueue(void *arg, ns__batch *b)
{
	ns_node *n = b->node;
	ns__batch **at;

	(void)arg;
	b->live = b->n <= NS__LIVE_MAX_EVENTS;
	at = ns__queue_slot(n, b);
	b->next = *at;
	*at = b;
	if (b->next == NULL)
		n->qtail = b;
	n->qlen++;
	b->work.data = b;
	if (b->live) {
		/* A few signatures: checked here rather than behind the catch-up batches on the pool. */
		ns__verify_work(&b->work);
		b->verified = 1;
		ns__try_commit(n);
		return;
	}
	n->verifying++;
	if (uv_queue_work(n->loop, &b->work, ns__verify_work, ns__verify_done) != 0) {
		n->verifying--;
		b->verified = 1; /* verify inline as a last resort */
		ns__verify_work(&b->work);
		ns__try_commit(n);
	}
}

/*
 * Large commits (catch-up) defer their folds: a person's events arrive in
 * several commits, one per origin, and folding after each would fold the
 * person several times. The deferred folds run as fold jobs on the same
 * commit path once no batch is queued.
 */
static void ns__commit_work(uv_work_t *w)
{
	ns__commit_job *j = w->data;
	unsigned flags = NS_INGEST_VERIFIED | (j->n >= NS__DEFER_MIN_EVENTS ? NS_INGEST_DEFER_FOLD : 0);

	if (j->kind == NS__JOB_FOLD)
		j->rc = ns_store_fold_pending(j->node->store, NS__FOLD_STEP, &j->left, &j->diag);
	else if (j->kind == NS__JOB_INDEX)
		j->rc = ns_store_index_pending(j->node->store, NS__INDEX_STEP, &j->left, &j->diag);
	else
		j->rc = ns_store_ingest_covered(j->node->store, j->evs, j->n, flags, j->senders, j->covered, j->res,
						&j->diag);
}

static void ns__deferred_done(ns__commit_job *j)
{
	ns_node *n = j->node;
	const char *what = j->kind == NS__JOB_INDEX ? "id index" : "folds";

	if (j->rc != 0) {
		/* A fold call commits in batches (foldpar.c): the batches before the failed one stay. */
		ns_log(NS_LOG_ERROR, "deferred %s failed, %s: %s: %s (will retry)", what,
		       j->kind == NS__JOB_INDEX ? "nothing written" : "the failed batch not written",
		       ns_strerror(j->rc), j->diag.msg);
	} else {
		if (j->left == 0)
			ns_log(NS_LOG_INFO, "deferred %s complete", what);
		*(j->kind == NS__JOB_INDEX ? &n->ids_pending : &n->folds_pending) = j->left;
	}
	free(j);
	n->committing = 0;
	ns_store_trim(n->store);
}

static void ns__commit_done(uv_work_t *w, int status)
{
	ns__commit_job *j = w->data;
	ns_node *n = j->node;
	size_t k = 0;
	int proofs = 0;

	(void)status;
	if (j->kind != NS__JOB_INGEST) {
		ns__deferred_done(j);
		ns__try_commit(n);
		return;
	}
	if (j->rc == 0 && j->n >= NS__DEFER_MIN_EVENTS) {
		/* Some, at least, if counting fails: the jobs learn the counts. */
		if (ns_store_fold_pending(n->store, 0, &n->folds_pending, NULL) != 0)
			n->folds_pending = 1;
		if (ns_store_index_pending(n->store, 0, &n->ids_pending, NULL) != 0)
			n->ids_pending = 1;
	}
	if (j->rc != 0)
		ns_log(NS_LOG_ERROR, "ingest of %zu events failed, nothing written: %s: %s (will retry)", j->n,
		       ns_strerror(j->rc), j->diag.msg);
	ns__refresh_vector(n);
	for (size_t i = 0; j->rc == 0 && i < j->n; i++)
		if (j->covered[i] && j->res[i] == NS_INGEST_APPLIED)
			n->sigs_pending++; /* at least; the check steps learn the count */
	for (size_t bi = 0; bi < j->nbatches; bi++) {
		ns__batch *b = n->qhead;
		n->qhead = b->next;
		if (n->qhead == NULL)
			n->qtail = NULL;
		n->qlen--;
		proofs += ns__batch_done(b, j->res + k, j->rc);
		k += b->n;
		ns__batch_free(b);
	}
	free(j->evs);
	free(j->res);
	free(j->covered);
	free(j->senders);
	free(j);
	n->committing = 0;
	n->qinflight = 0;
	ns_store_trim(n->store);
	if (proofs) /* ns__refresh_vector above saw the quarantine and relayed the proof */
		ns_log(NS_LOG_WARN, "equivocation detected in %d events from peers", proofs);
	ns__pump_all(n);
	ns__try_commit(n);
	ns__drain_all(n);
}

void ns__try_commit(ns_node *n)
{
	ns__commit_job *j;
	size_t total = 0, nb = 0, k = 0;

	if (n->committing)
		return;
	if (n->qhead == NULL && (n->ids_pending > 0 || n->folds_pending > 0) && !n->stopping) {
		/* Nothing queued: run deferred work a step at a time, the id index first. */
		if ((j = calloc(1, sizeof(*j))) == NULL)
			return;
		j->node = n;
		j->kind = n->ids_pending > 0 ? NS__JOB_INDEX : NS__JOB_FOLD;
		j->work.data = j;
		n->committing = 1;
		if (uv_queue_work(n->loop, &j->work, ns__commit_work, ns__commit_done) != 0) {
			n->committing = 0;
			free(j);
		}
		return;
	}
	if (n->qhead == NULL || !n->qhead->verified)
		return;
	/*
	 * Merge at most half of what may be in flight, so that the other half
	 * is being verified on the pool while this commit runs, and at most
	 * NS__COMMIT_MAX_EVENTS: the pages a commit touches stay mapped until
	 * the trim after it, so the node's peak resident set follows the size
	 * of one commit, not the window (docs/PERFORMANCE.md).
	 */
	size_t cap = (size_t)n->cfg.window * n->cfg.batch / 2;
	if (cap > NS__COMMIT_MAX_EVENTS)
		cap = NS__COMMIT_MAX_EVENTS;
	/* Live batches commit apart from catch-up ones: a commit of catch-up size defers its folds. */
	for (ns__batch *b = n->qhead;
	     b && b->verified && (nb == 0 || (total + b->n <= cap && b->live == n->qhead->live)); b = b->next) {
		total += b->n;
		nb++;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL || (j->evs = calloc(total ? total : 1, sizeof(*j->evs))) == NULL ||
	    (j->res = calloc(total ? total : 1, sizeof(*j->res))) == NULL ||
	    (j->covered = calloc(total ? total : 1, 1)) == NULL ||
	    (j->senders = calloc(total ? total : 1, sizeof(*j->senders))) == NULL) {
		if (j) {
			free(j->evs);
			free(j->res);
			free(j->covered);
			free(j);
		}
		return;
	}
	j->node = n;
	j->first = n->qhead;
	j->nbatches = nb;
	n->qinflight = nb;
	j->n = total;
	ns__batch *b = n->qhead;
	for (size_t i = 0; i < nb; i++, b = b->next)
		for (size_t e = 0; e < b->n; e++, k++) {
			j->evs[k] = b->evs[e];
			j->res[k] = b->res[e];
			j->covered[k] = b->covered ? b->covered[e] : 0;
			j->senders[k] = b->peer ? b->peer->site : NULL;
		}
	j->work.data = j;
	n->committing = 1;
	if (uv_queue_work(n->loop, &j->work, ns__commit_work, ns__commit_done) != 0) {
		n->committing = 0;
		n->qinflight = 0;
		free(j->evs);
		free(j->res);
		free(j->covered);
		free(j->senders);
		free(j);
	}
}

/*
 * Background signature checks: a step of the config's sigcheck_step events
 * on the pool, verified on every core by threads at the lowest CPU priority
 * (nice 19), so that they take only what ingest, commits and folds leave. An origin a peer waits for goes first. Valid ones
 * become relayable at once; bad ones are asked for again from every peer.
 */
static void ns__sig_work(uv_work_t *w)
{
	ns_node *n = w->data;

	/* Every core, at the lowest CPU priority: ingest, commits and folds go first. */
	n->sig_rc = ns_store_verify_pending(n->store, n->sig_want_set ? n->sig_want : NULL, n->cfg.sigcheck_step,
					    0, &n->sig_report, &n->sig_diag);
}

static void ns__sig_done(uv_work_t *w, int status)
{
	ns_node *n = w->data;
	const ns_sigcheck_report *r = &n->sig_report;

	(void)status;
	n->sigchecking = 0;
	n->sig_want_set = 0;
	if (n->sig_rc != 0) {
		ns_log(NS_LOG_ERROR, "background signature check failed, nothing recorded: %s: %s (will retry)",
		       ns_strerror(n->sig_rc), n->sig_diag.msg);
		return;
	}
	/* A step that found nothing leaves the next to a new hint (a commit, an import by another process). */
	n->sigs_pending = r->checked + r->bad > 0 ? r->left : 0;
	if (r->left == 0 && r->checked + r->bad > 0)
		ns_log(NS_LOG_INFO, "background signature checks complete");
	if (r->bad > 0) {
		ns__pull_signatures(n, 1);
	}
	if (r->checked > 0)
		ns__pump_all(n); /* checked events can be relayed now */
	if (!n->stopping)
		ns__try_sigcheck(n);
}

void ns__try_sigcheck(ns_node *n)
{
	if (n->sigchecking || n->sigs_pending == 0 || n->stopping || n->cfg.sigcheck_step == 0)
		return;
	n->sig_work.data = n;
	n->sigchecking = 1;
	if (uv_queue_work(n->loop, &n->sig_work, ns__sig_work, ns__sig_done) != 0)
		n->sigchecking = 0;
}
