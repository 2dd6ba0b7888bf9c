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
 */
#include "store_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

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

/* A fold thread: takes jobs until none is left, in a read transaction of its own. */
static void *ns__pworker(void *arg)
{
	struct ns__pstep *p = arg;
	MDB_txn *txn;

	if (ns__txn(p->s, MDB_RDONLY, &txn) != 0)
		return NULL; /* its jobs stay: folded in the write transaction */
	for (;;) {
		size_t i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
		if (i >= p->n)
			break;
		ns__pfold(txn, p->s, &p->jobs[i]);
	}
	mdb_txn_abort(txn);
	return NULL;
}

/* A fold thread started by the step: its CPU is charged here (the calling thread's by ns_store_fold_pending). */
static void *ns__pthread(void *arg)
{
	struct ns__pstep *p = arg;
	uint64_t t0 = ns_thread_cpu_nanos();

	ns__pworker(p);
	ns__cpu_charge(p->s, NS_CPU_FOLD, t0);
	return NULL;
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
 * @p same: nothing committed since the step's snapshot (@p listed).
 */
static int ns__pstore(MDB_txn *txn, ns_store *s, struct ns__pjob *j, ns__refset *comp, ns__refset *done,
		      int dirty, int same, size_t listed)
{
	uint8_t *all = NULL, *sel = NULL;
	size_t nall = 0, nsel = 0;
	const char *canon;
	int rc;

	if (same && j->rc == 0 && j->txnid == listed) {
		/* Folded from the snapshot this transaction writes over: as it is now. */
		canon = ns__canonical(&j->comp);
		if (ns__refset_has(done, canon))
			return 0;
		if ((rc = ns__refset_add(done, canon)) != 0)
			return rc;
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
};

/* The write transaction of a step (run by ns__retry). */
static int ns__pcommit_once(ns_store *s, void *arg)
{
	struct ns__pcommit *a = arg;
	ns__refset comp = { 0 }, done = { 0 };
	MDB_txn *txn;
	int rc, mrc;

	if ((rc = ns__mdb(ns__txn(s, 0, &txn))) != 0)
		return rc;
	int dirty = ns__dirty_count(txn, s) > 0, same = mdb_txn_id(txn) == a->p->txnid + 1;
	for (size_t i = 0; i < a->p->n && rc == 0; i++)
		rc = ns__pstore(txn, s, &a->p->jobs[i], &comp, &done, dirty, same, a->p->txnid);
	free(comp.ref);
	free(done.ref);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	a->left = ns__dirty_count(txn, s);
	if ((mrc = mdb_txn_commit(txn)) != 0)
		return ns__commit_error(s, mrc, a->d);
	return 0;
}

/* Up to @p max pending refs, each once, with their components (in a read transaction). */
static int ns__pjobs(ns_store *s, size_t max, struct ns__pstep *p)
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
		max = pending;
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

int ns__fold_parallel(ns_store *s, size_t max, size_t *left, ns_diag *d)
{
	struct ns__pstep p = { s, NULL, 0, 0 };
	struct ns__pcommit a = { &p, 0, d };
	unsigned nt = s->fold_threads;
	pthread_t th[NS__FOLD_THREADS_MAX];
	size_t started = 0;
	int rc;

	ns_diag_clear(d);
	if (left)
		*left = 0;
	if ((rc = ns__pjobs(s, max, &p)) != 0) {
		ns__pjobs_free(&p);
		return ns_diag_set(d, rc, "store", "cannot list the pending folds: %s", ns_strerror(rc));
	}
	if (nt > p.n)
		nt = (unsigned)p.n;
	/* This thread is one of the fold threads. */
	for (unsigned i = 1; i < nt; i++)
		if (pthread_create(&th[started], NULL, ns__pthread, &p) == 0)
			started++;
	if (p.n > 0)
		ns__pworker(&p);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	rc = ns__retry(s, ns__pcommit_once, &a, d);
	if (rc == 0) {
		ns__warm_tail(s);
		if (left)
			*left = a.left;
	}
	ns__pjobs_free(&p);
	return rc;
}
