/*
 * Parallel deferred folds (ns_store_fold_pending with more than one fold
 * thread, ns_store_set_fold_threads). The fold is pure, so the persons of
 * one step are folded on several threads, each in a read transaction of its
 * own, and their results are stored in one write transaction, in the order
 * the sequential step would store them.
 *
 * Between a fold's read transaction and the write transaction the person
 * may change (another process, or a thread ingesting: writes do not wait
 * for the folds). So in the write transaction each person's component and
 * its keys, all of them and those selected for the view (ns__fold_select:
 * rejected, revoked and incomplete events left out), are worked out again;
 * a result is stored only if they are the ones it was folded from, and
 * otherwise the person is folded again there. The stored views are thus
 * those of the sequential path, whatever the number of threads. When no
 * write transaction committed since the step listed its persons (the write
 * transaction's id follows the snapshot the jobs were listed and folded
 * in), nothing can have changed and that check is skipped.
 *
 * A call with max above NS__PSUB persons runs as a pipeline of sub-steps of
 * at most NS__PSUB, each in a write transaction of its own: while the
 * calling thread writes sub-step k, the fold threads (started once for the
 * call) fold sub-step k+1, listed before k's write and leaving out k's
 * persons. Those folds predate k's commit, but a commit of this call only
 * writes fold results and clears dirty marks, which no fold reads: the
 * check is skipped for a fold whose snapshot no other commit followed (see
 * ns__pcommit_once) and whose ref is still dirty.
 */
#include "store_int.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Persons per write transaction of a pipelined call (ns__fold_parallel). */
#define NS__PSUB 96

/* One person of a step. */
struct ns__pjob {
	char ref[NS_REF_MAX]; /* the pending ref that named it */
	ns__refset comp;      /* its component, as the fold saw it */
	uint8_t *all, *sel;   /* sort keys: all of the component's, and those folded */
	size_t nall, nsel;
	char *json;
	size_t len;
	size_t txnid; /* the snapshot (mdb_txn_id) it was folded in */
	int rc;       /* the fold's result; not 0: fold again in the write transaction */
	ns_fold_summary sum;
	ns_fold_figures fig; /* last: left out of the zeroing of a new job (it is large) */
};

struct ns__pstep {
	ns_store *s;
	struct ns__pjob *jobs;
	size_t n, next; /* next: the next job to take (atomic) */
	size_t txnid;   /* the snapshot the jobs were listed in */
};

/* The sort keys of a component, all of them and the selected ones (both malloc'd). */
static int ns__keys_of(MDB_txn *txn, ns_store *s, const ns__refset *comp, uint8_t **all, size_t *nall,
		       uint8_t **sel, size_t *nsel)
{
	json_t *incomplete = NULL;
	int rc;

	*sel = NULL;
	if ((rc = ns__component_keys(txn, s, comp, all, nall)) != 0)
		return rc;
	*nsel = *nall;
	if ((*sel = malloc(*nall ? *nall * NS__SORTKEY : 1)) == NULL)
		rc = NS_ENOMEM;
	else if (*nall > 0)
		memcpy(*sel, *all, *nall * NS__SORTKEY);
	if (rc == 0)
		rc = ns__fold_select(txn, s, *sel, nsel, &incomplete);
	json_decref(incomplete);
	if (rc != 0) {
		free(*all);
		free(*sel);
		*all = *sel = NULL;
	}
	return rc;
}

/* Fold one job in the read transaction @p txn. */
static void ns__pfold(MDB_txn *txn, ns_store *s, struct ns__pjob *j)
{
	j->txnid = mdb_txn_id(txn);
	j->rc = ns__component_keys(txn, s, &j->comp, &j->all, &j->nall);
	if (j->rc == 0)
		j->rc = ns__fold_timed(txn, s, &j->comp, NULL, &j->json, &j->len, &j->sum, &j->fig, &j->sel,
				       &j->nsel);
}

/* Fold the jobs of @p p left for this thread, in a read transaction of its own. */
static void ns__pfold_all(struct ns__pstep *p)
{
	MDB_txn *txn;

	if (ns__txn(p->s, MDB_RDONLY, &txn) != 0)
		return; /* its jobs stay: folded in the write transaction */
	for (;;) {
		size_t i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
		if (i >= p->n)
			break;
		ns__pfold(txn, p->s, &p->jobs[i]);
	}
	mdb_txn_abort(txn);
}

/* The fold threads of one call, which fold each step posted to them. */
struct ns__ppool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ns__pstep *step; /* the step posted last */
	unsigned gen;           /* steps posted so far */
	unsigned busy;          /* threads still folding the step posted last */
	unsigned nthreads;
	int quit;
	ns_store *s; /* whose fold CPU the threads are charged to */
};

/* A fold thread of the call; its CPU is charged here (the calling thread's by ns_store_fold_pending). */
static void *ns__pworker(void *arg)
{
	struct ns__ppool *pool = arg;
	uint64_t t0 = ns_thread_cpu_nanos();
	unsigned seen = 0;

	pthread_mutex_lock(&pool->mu);
	for (;;) {
		while (!pool->quit && pool->gen == seen)
			pthread_cond_wait(&pool->cv, &pool->mu);
		if (pool->quit)
			break;
		seen = pool->gen;
		struct ns__pstep *p = pool->step;
		pthread_mutex_unlock(&pool->mu);
		ns__pfold_all(p);
		pthread_mutex_lock(&pool->mu);
		if (--pool->busy == 0)
			pthread_cond_broadcast(&pool->cv);
	}
	pthread_mutex_unlock(&pool->mu);
	ns__cpu_charge(pool->s, NS_CPU_FOLD, t0);
	return NULL;
}

/* Hand @p p to the fold threads (which must be idle). */
static void ns__ppost(struct ns__ppool *pool, struct ns__pstep *p)
{
	pthread_mutex_lock(&pool->mu);
	pool->step = p;
	pool->gen++;
	pool->busy = pool->nthreads;
	pthread_cond_broadcast(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
}

/* Fold what is left of the step posted last on this thread too, then wait until it is all folded. */
static void ns__pfinish(struct ns__ppool *pool, struct ns__pstep *p)
{
	ns__pfold_all(p);
	pthread_mutex_lock(&pool->mu);
	while (pool->busy > 0)
		pthread_cond_wait(&pool->cv, &pool->mu);
	pthread_mutex_unlock(&pool->mu);
}

static int ns__same_keys(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * NS__SORTKEY) == 0);
}

static int ns__same_comp(const ns__refset *a, const ns__refset *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (!ns__refset_has(b, a->ref[i]))
			return 0;
	return 1;
}

/*
 * Store one job's fold if its person is as folded, else fold it again here;
 * @p base: every commit after snapshot @p base is one of this call's (ns__pcommit_once); @p same:
 * the job was listed at or after @p base. *fast counts the folds stored unchecked.
 */
static int ns__pstore(MDB_txn *txn, ns_store *s, struct ns__pjob *j, ns__refset *comp, ns__refset *done,
		      int dirty, int same, size_t base, size_t *fast)
{
	uint8_t *all = NULL, *sel = NULL;
	size_t nall = 0, nsel = 0;
	const char *canon;
	int rc;

	if (same && j->rc == 0 && j->txnid >= base &&
	    (j->txnid + 1 == mdb_txn_id(txn) ||
	     mdb_get(txn, s->dirty, &(MDB_val){ strlen(j->ref), j->ref }, &(MDB_val){ 0, NULL }) == 0)) {
		/*
		 * Folded from the snapshot this transaction writes over, or from one this call's
		 * commits followed, and not stored since (still dirty): as it is now.
		 */
		canon = ns__canonical(&j->comp);
		if (ns__refset_has(done, canon))
			return 0;
		if ((rc = ns__refset_add(done, canon)) != 0)
			return rc;
		(*fast)++;
		return ns__fold_store(txn, s, &j->comp, canon, dirty, j->json, j->len, &j->sum, &j->fig);
	}
	if ((rc = ns__component(txn, s, j->ref, comp)) != 0)
		return rc;
	canon = ns__canonical(comp);
	if (ns__refset_has(done, canon))
		return 0;
	if ((rc = ns__refset_add(done, canon)) != 0)
		return rc;
	if (j->rc == 0 && ns__same_comp(comp, &j->comp) &&
	    (rc = ns__keys_of(txn, s, comp, &all, &nall, &sel, &nsel)) == 0 &&
	    ns__same_keys(all, nall, j->all, j->nall) && ns__same_keys(sel, nsel, j->sel, j->nsel)) {
		rc = ns__fold_store(txn, s, comp, canon, dirty, j->json, j->len, &j->sum, &j->fig);
	} else if (rc == 0) {
		char *json = NULL;
		size_t len = 0;
		ns_fold_summary sum;
		ns_fold_figures fig;
		rc = ns__fold_timed(txn, s, comp, NULL, &json, &len, &sum, &fig, NULL, NULL);
		if (rc == 0)
			rc = ns__fold_store(txn, s, comp, canon, dirty, json, len, &sum, &fig);
		free(json);
	}
	free(all);
	free(sel);
	return rc;
}

struct ns__pcommit {
	struct ns__pstep *p;
	size_t left;
	ns_diag *d;
	/*
	 * The last commit of this call (0: none yet, or one that may have written
	 * nothing) and the snapshot after which every commit up to it is this call's.
	 */
	size_t own_last, own_base;
};

/* The write transaction of a step (run by ns__retry). */
static int ns__pcommit_once(ns_store *s, void *arg)
{
	struct ns__pcommit *a = arg;
	ns__refset comp = { 0 }, done = { 0 };
	MDB_txn *txn;
	size_t fast = 0;
	int rc, mrc;

	if ((rc = ns__mdb(ns__txn(s, 0, &txn))) != 0)
		return rc;
	/*
	 * This call's commits write fold results and clear dirty marks only, which
	 * no fold reads: a fold from a snapshot only they followed is still valid.
	 */
	size_t w = mdb_txn_id(txn), base = a->own_last && w == a->own_last + 1 ? a->own_base : w - 1;
	int dirty = ns__dirty_count(txn, s) > 0, same = a->p->txnid >= base;
	for (size_t i = 0; i < a->p->n && rc == 0; i++)
		rc = ns__pstore(txn, s, &a->p->jobs[i], &comp, &done, dirty, same, base, &fast);
	free(comp.ref);
	free(done.ref);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	a->left = ns__dirty_count(txn, s);
	if ((mrc = mdb_txn_commit(txn)) != 0) {
		a->own_last = 0;
		return ns__commit_error(s, mrc, a->d);
	}
	/* A fold stored unchecked cleared a dirty mark, so the commit took id w. */
	a->own_last = fast > 0 ? w : 0;
	a->own_base = base;
	return 0;
}

/*
 * Up to @p max pending refs, each once, with their components (in a read
 * transaction), leaving out the persons of @p prev (listed, not yet written).
 */
static int ns__pjobs(ns_store *s, size_t max, const struct ns__pstep *prev, struct ns__pstep *p)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	int rc, g;

	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	size_t pending = ns__dirty_count(txn, s);
	p->txnid = mdb_txn_id(txn);
	if (max > pending)
		max = pending; /* @p prev's refs are left out from the first max: fewer may be found */
	if ((p->jobs = malloc((max ? max : 1) * sizeof(*p->jobs))) == NULL) {
		mdb_txn_abort(txn);
		return NS_ENOMEM;
	}
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->dirty, &c))) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0 && p->n < max && rc == 0;
	     g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		struct ns__pjob *j = &p->jobs[p->n];
		memset(j, 0, offsetof(struct ns__pjob, fig));
		if (k.mv_size == 0 || k.mv_size >= NS_REF_MAX) {
			rc = NS_ECORRUPT;
			break;
		}
		memcpy(j->ref, k.mv_data, k.mv_size);
		j->ref[k.mv_size] = '\0';
		j->rc = NS_EAGAIN; /* not folded yet */
		if ((rc = ns__component(txn, s, j->ref, &j->comp)) != 0)
			break;
		/* A ref of a person already listed: its fold covers this one. */
		int dup = 0;
		for (size_t i = 0; i < p->n && !dup; i++)
			dup = ns__refset_has(&p->jobs[i].comp, j->ref);
		for (size_t i = 0; prev && i < prev->n && !dup; i++)
			dup = ns__refset_has(&prev->jobs[i].comp, j->ref);
		if (dup) {
			free(j->comp.ref);
			continue;
		}
		p->n++;
	}
	mdb_cursor_close(c);
	if (rc == 0 && g != 0 && g != MDB_NOTFOUND)
		rc = ns__mdb(g);
	mdb_txn_abort(txn);
	return rc;
}

static void ns__pjobs_free(struct ns__pstep *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->jobs[i].comp.ref);
		free(p->jobs[i].all);
		free(p->jobs[i].sel);
		free(p->jobs[i].json);
	}
	free(p->jobs);
}

/* List a step of up to @p max persons after @p prev into @p p; @p p->n 0: none left. */
static int ns__plist(ns_store *s, size_t max, const struct ns__pstep *prev, struct ns__pstep *p, ns_diag *d)
{
	int rc;

	memset(p, 0, sizeof(*p));
	p->s = s;
	if (max == 0)
		return 0;
	if ((rc = ns__pjobs(s, max, prev, p)) != 0)
		return ns_diag_set(d, rc, "store", "cannot list the pending folds: %s", ns_strerror(rc));
	return 0;
}

int ns__fold_parallel(ns_store *s, size_t max, size_t *left, ns_diag *d)
{
	struct ns__pstep steps[2], *cur = &steps[0], *next = &steps[1];
	struct ns__pcommit a = { NULL, 0, d, 0, 0 };
	struct ns__ppool pool = { .nthreads = 0, .s = s };
	unsigned nt = s->fold_threads;
	pthread_t th[NS__FOLD_THREADS_MAX];
	size_t sub = max > NS__PSUB ? NS__PSUB : max, todo = max, done = 0;
	int rc;

	ns_diag_clear(d);
	if (left)
		*left = 0;
	memset(next, 0, sizeof(*next));
	if ((rc = ns__plist(s, sub, NULL, cur, d)) != 0)
		goto out;
	if (nt > cur->n && todo <= sub)
		nt = (unsigned)cur->n;
	pthread_mutex_init(&pool.mu, NULL);
	pthread_cond_init(&pool.cv, NULL);
	/*
	 * This thread is one of the fold threads, but in a pipeline it mostly
	 * writes, and waits for the disk: then nt others fold meanwhile.
	 */
	for (unsigned i = todo > sub ? 0 : 1; i < nt; i++)
		if (pthread_create(&th[pool.nthreads], NULL, ns__pworker, &pool) == 0)
			pool.nthreads++;
	if (cur->n > 0) {
		ns__ppost(&pool, cur);
		ns__pfinish(&pool, cur);
	}
	while (cur->n > 0) {
		todo -= cur->n < todo ? cur->n : todo;
		/* The next sub-step is folded while this one is written. */
		if ((rc = ns__plist(s, todo < sub ? todo : sub, cur, next, d)) != 0)
			break;
		if (next->n > 0)
			ns__ppost(&pool, next);
		a.p = cur;
		rc = ns__pcommit_once(s, &a);
		if (next->n > 0)
			ns__pfinish(&pool, next);
		if (rc != 0) /* as ns__retry does */
			ns__fcache_clear(s);
		if (rc == NS_EMAPFULL) /* the map grows only while no fold thread reads */
			rc = ns__retry(s, ns__pcommit_once, &a, d);
		if (rc != 0)
			break;
		ns__warm_tail(s);
		done = 1;
		ns__pjobs_free(cur);
		struct ns__pstep *t = cur;
		cur = next;
		next = t;
		memset(next, 0, sizeof(*next));
	}
	pthread_mutex_lock(&pool.mu);
	pool.quit = 1;
	pthread_cond_broadcast(&pool.cv);
	pthread_mutex_unlock(&pool.mu);
	for (unsigned i = 0; i < pool.nthreads; i++)
		pthread_join(th[i], NULL);
	pthread_cond_destroy(&pool.cv);
	pthread_mutex_destroy(&pool.mu);
	if (rc == 0 && done && left)
		*left = a.left;
out:
	ns__pjobs_free(cur);
	ns__pjobs_free(next);
	return rc;
}
