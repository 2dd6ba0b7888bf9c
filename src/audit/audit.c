/*
 * The read audit's store and writer (see nomsync/audit.h).
 *
 * LMDB environment <store>/audit with three databases:
 *   entries   key: be64 at_ms | be64 sequence (time order); value: the entry
 *             (ns__encode: version, outcome, be32 roles, then user,
 *             offender and endpoint, each a length byte and its bytes);
 *   by_offender, by_user  (MDB_DUPSORT | MDB_DUPFIXED) offender or user ->
 *             the 16-byte entries key, so that a query for one person or one
 *             user reads only that person's or user's entries, in time order.
 *
 * Threads: submitters (each on its libuv loop) queue entries under `mu` and
 * signal `cv`; the writer thread takes what is queued (up to
 * NS__BATCH_MAX entries, whole submissions), commits it in one synced
 * transaction, then hands each submission back to its loop's list and wakes
 * that loop (uv_async_send, under `mu`: the loop records live until close).
 * The loop's async callback calls the done callbacks on the loop thread.
 * The writer also expires old entries (at open, then every 24 h) in chunks
 * of NS__EXPIRE_CHUNK between batches.
 *
 * Durability (ns_audit_opts.sync_ms): with 0 every batch is one synced
 * transaction. With N > 0 the environment is opened MDB_NOSYNC: a committed
 * batch is in the kernel's page cache when its submitters are called back,
 * so the death of this process (kill -9) loses nothing, and the writer
 * fsyncs (mdb_env_sync) at most N ms after the first unsynced commit, so a
 * power cut loses at most that much. That is the difference between one
 * fsync per audited response and one every N ms at any request rate.
 *
 * The map: on MDB_MAP_FULL the writer doubles it (up to map_max) and retries
 * the transaction. LMDB allows a resize only with no transaction open in the
 * process, so every transaction holds `map_lock` shared and a resize holds it
 * exclusively. Another process (the CLI, read-only) adopts a grown map when
 * LMDB answers MDB_MAP_RESIZED.
 */
#include <nomsync/audit.h>

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <uv.h>

#define NS__AUDIT_DAYS 2555
#define NS__AUDIT_MAP ((size_t)64 << 30)
#define NS__BATCH_MAX 4096    /* entries per write transaction */
#define NS__EXPIRE_CHUNK 2000 /* entries deleted per expiry transaction */
#define NS__DAY_MS 86400000LL
#define NS__KEY 16
#define NS__VAL_MAX (6 + 3 + NS_USER_MAX + 16 + 64)

typedef struct ns__loop ns__loop;

/* One ns_audit_submit: queued, then committed, then handed back to its loop. */
typedef struct ns__sub {
	struct ns__sub *next;
	ns__loop *lp;
	ns_audit_done_fn done;
	void *arg;
	int status;
	size_t n;
	ns_audit_entry e[];
} ns__sub;

/* A submitting loop: its wake-up handle and the submissions done, awaiting their callback. */
struct ns__loop {
	uv_async_t async;
	uv_loop_t *loop;
	ns_audit *a;
	ns__sub *head, *tail; /* under a->mu */
	size_t pending;       /* submissions not yet called back (loop thread only) */
	ns__loop *next;
};

struct ns_audit {
	MDB_env *env;
	MDB_dbi entries, by_off, by_user;
	int rdonly, syslog;
	unsigned days;
	size_t map_max;
	pthread_rwlock_t map_lock;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int started, stop;
	ns__sub *qhead, *qtail; /* queued (under mu) */
	ns__loop *loops;        /* under mu; freed when their handles close */
	size_t open_loops;      /* loop handles not yet closed (loop threads, after close) */
	ns_audit_stats st;      /* under mu */
	uint64_t seq;           /* writer: sequence of the next key */
	int64_t next_expire;    /* writer: Unix ms of the next expiry */
	unsigned sync_ms;       /* 0: synced commits; else the most ms a commit stays unsynced */
	int64_t sync_due;       /* writer: Unix ms by which to fsync the unsynced commits, 0 none */
};

static int64_t ns__now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int ns__mdb_code(int rc)
{
	return rc == MDB_MAP_FULL || rc == ENOSPC ? NS_EMAPFULL : rc == EIO ? NS_EIO : NS_ESTORE;
}

static int ns__mdb_fail(ns_diag *d, int rc, const char *what)
{
	return ns_diag_set(d, ns__mdb_code(rc), "audit", "%s: %s", what, mdb_strerror(rc));
}

/*
 * Keys and values.
 */

static void ns__key(uint8_t k[NS__KEY], int64_t at_ms, uint64_t seq)
{
	uint64_t at = at_ms < 0 ? 0 : (uint64_t)at_ms;
	for (int i = 0; i < 8; i++) {
		k[i] = (uint8_t)(at >> (56 - 8 * i));
		k[8 + i] = (uint8_t)(seq >> (56 - 8 * i));
	}
}

static uint64_t ns__be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static size_t ns__put_str(uint8_t *p, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap - 1);
	p[0] = (uint8_t)n;
	memcpy(p + 1, s, n);
	return n + 1;
}

static size_t ns__encode(uint8_t v[NS__VAL_MAX], const ns_audit_entry *e)
{
	size_t n = 6;
	v[0] = 1;
	v[1] = (uint8_t)e->outcome;
	for (int i = 0; i < 4; i++)
		v[2 + i] = (uint8_t)(e->roles >> (24 - 8 * i));
	n += ns__put_str(v + n, e->user, sizeof(e->user));
	n += ns__put_str(v + n, e->offender, sizeof(e->offender));
	n += ns__put_str(v + n, e->endpoint, sizeof(e->endpoint));
	return n;
}

static int ns__get_str(const uint8_t **p, const uint8_t *end, char *s, size_t cap)
{
	if (*p >= end || **p >= cap || (size_t)(end - *p) < 1u + **p)
		return -1;
	memcpy(s, *p + 1, **p);
	s[**p] = '\0';
	*p += 1 + **p;
	return 0;
}

static int ns__decode(const MDB_val *k, const MDB_val *v, ns_audit_entry *e)
{
	const uint8_t *p = v->mv_data, *end = p + v->mv_size;
	memset(e, 0, sizeof(*e));
	if (k->mv_size != NS__KEY || v->mv_size < 6 || p[0] != 1)
		return NS_ECORRUPT;
	e->at_ms = (int64_t)ns__be64(k->mv_data);
	e->outcome = p[1];
	e->roles = (unsigned)p[2] << 24 | (unsigned)p[3] << 16 | (unsigned)p[4] << 8 | p[5];
	p += 6;
	if (ns__get_str(&p, end, e->user, sizeof(e->user)) || ns__get_str(&p, end, e->offender, sizeof(e->offender)) ||
	    ns__get_str(&p, end, e->endpoint, sizeof(e->endpoint)) || p != end)
		return NS_ECORRUPT;
	return 0;
}

/*
 * Transactions and the map.
 */

static int ns__begin(ns_audit *a, unsigned flags, MDB_txn **txn)
{
	pthread_rwlock_rdlock(&a->map_lock);
	int rc = mdb_txn_begin(a->env, NULL, flags, txn);
	if (rc == MDB_MAP_RESIZED) { /* another process grew the map: adopt its size */
		pthread_rwlock_unlock(&a->map_lock);
		pthread_rwlock_wrlock(&a->map_lock);
		mdb_env_set_mapsize(a->env, 0);
		pthread_rwlock_unlock(&a->map_lock);
		pthread_rwlock_rdlock(&a->map_lock);
		rc = mdb_txn_begin(a->env, NULL, flags, txn);
	}
	if (rc != 0)
		pthread_rwlock_unlock(&a->map_lock);
	return rc;
}

static void ns__abort(ns_audit *a, MDB_txn *txn)
{
	mdb_txn_abort(txn);
	pthread_rwlock_unlock(&a->map_lock);
}

static int ns__commit(ns_audit *a, MDB_txn *txn)
{
	int rc = mdb_txn_commit(txn);
	pthread_rwlock_unlock(&a->map_lock);
	return rc;
}

/* After MDB_MAP_FULL: double the map up to map_max. 1 if it grew. */
static int ns__grow(ns_audit *a)
{
	MDB_envinfo info;
	int ok = 0;
	pthread_rwlock_wrlock(&a->map_lock);
	if (mdb_env_info(a->env, &info) == 0 && info.me_mapsize < a->map_max) {
		size_t size = info.me_mapsize > a->map_max / 2 ? a->map_max : info.me_mapsize * 2;
		ok = mdb_env_set_mapsize(a->env, size) == 0;
	}
	pthread_rwlock_unlock(&a->map_lock);
	return ok;
}

/*
 * Writing.
 */

static int ns__index(MDB_txn *txn, MDB_dbi dbi, const char *name, MDB_val *key)
{
	MDB_val k = { strlen(name), (void *)name };
	return k.mv_size ? mdb_put(txn, dbi, &k, key, 0) : 0;
}

static int ns__put(ns_audit *a, MDB_txn *txn, const ns_audit_entry *e)
{
	uint8_t kb[NS__KEY], vb[NS__VAL_MAX];
	MDB_val k = { NS__KEY, kb }, v = { ns__encode(vb, e), vb };
	int rc;

	do {
		ns__key(kb, e->at_ms, a->seq++);
		rc = mdb_put(txn, a->entries, &k, &v, MDB_NOOVERWRITE);
	} while (rc == MDB_KEYEXIST); /* an older entry of the same millisecond and sequence (clock set back) */
	if (rc == 0)
		rc = ns__index(txn, a->by_off, e->offender, &k);
	if (rc == 0)
		rc = ns__index(txn, a->by_user, e->user, &k);
	return rc;
}

/* Commit the submissions from @p first up to (not including) @p stop in one transaction. */
static int ns__write_batch(ns_audit *a, ns__sub *first, ns__sub *stop)
{
	for (int attempt = 0;; attempt++) {
		MDB_txn *txn;
		uint64_t seq = a->seq;
		int rc = ns__begin(a, 0, &txn);
		if (rc == 0) {
			for (ns__sub *s = first; rc == 0 && s != stop; s = s->next)
				for (size_t i = 0; rc == 0 && i < s->n; i++)
					rc = ns__put(a, txn, &s->e[i]);
			if (rc == 0)
				rc = ns__commit(a, txn);
			else
				ns__abort(a, txn);
		}
		if (rc == 0)
			return 0;
		a->seq = seq;
		if (rc != MDB_MAP_FULL || attempt >= 16 || !ns__grow(a))
			return ns__mdb_code(rc);
	}
}

static void ns__syslog_batch(ns__sub *first, ns__sub *stop)
{
	for (ns__sub *s = first; s != stop; s = s->next)
		for (size_t i = 0; i < s->n; i++) {
			char *line = ns_audit_entry_json(&s->e[i]);
			if (line)
				syslog(LOG_AUTHPRIV | LOG_INFO, "%s", line);
			free(line);
		}
}

/* Delete up to @p max entries older than @p cutoff_ms in one transaction. */
static int ns__expire_chunk(ns_audit *a, int64_t cutoff_ms, size_t max, uint64_t *removed)
{
	for (int attempt = 0;; attempt++) {
		MDB_txn *txn;
		MDB_cursor *cur = NULL;
		MDB_val k, v;
		size_t n = 0;
		int rc = ns__begin(a, 0, &txn);
		if (rc != 0)
			return rc;
		rc = mdb_cursor_open(txn, a->entries, &cur);
		if (rc == 0)
			rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		while (rc == 0 && n < max && k.mv_size == NS__KEY && (int64_t)ns__be64(k.mv_data) < cutoff_ms) {
			ns_audit_entry e;
			uint8_t kb[NS__KEY];
			MDB_val kc = { NS__KEY, kb };
			memcpy(kb, k.mv_data, NS__KEY);
			if (ns__decode(&k, &v, &e) == 0) {
				MDB_val ko = { strlen(e.offender), e.offender }, ku = { strlen(e.user), e.user };
				if (ko.mv_size && (rc = mdb_del(txn, a->by_off, &ko, &kc)) == MDB_NOTFOUND)
					rc = 0;
				if (rc == 0 && ku.mv_size && (rc = mdb_del(txn, a->by_user, &ku, &kc)) == MDB_NOTFOUND)
					rc = 0;
			}
			if (rc == 0)
				rc = mdb_cursor_del(cur, 0);
			if (rc == 0) {
				n++;
				rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); /* the oldest left */
			}
		}
		if (rc == MDB_NOTFOUND)
			rc = 0;
		if (cur)
			mdb_cursor_close(cur);
		if (rc == 0)
			rc = ns__commit(a, txn);
		else
			ns__abort(a, txn);
		if (rc == 0) {
			*removed = n;
			return 0;
		}
		if (rc != MDB_MAP_FULL || attempt >= 16 || !ns__grow(a))
			return rc;
	}
}

static int64_t ns__cutoff(const ns_audit *a, int64_t now_ms)
{
	return now_ms - (int64_t)a->days * NS__DAY_MS;
}

int ns_audit_expire(ns_audit *a, int64_t now_ms, uint64_t *removed, ns_diag *d)
{
	uint64_t total = 0, n;
	int rc;

	if (removed)
		*removed = 0;
	if (a->rdonly)
		return ns_diag_set(d, NS_EINVAL, "audit", "the audit is open read-only");
	do {
		if ((rc = ns__expire_chunk(a, ns__cutoff(a, now_ms), NS__EXPIRE_CHUNK, &n)) != 0)
			return ns__mdb_fail(d, rc, "expiring audit entries");
		total += n;
	} while (n == NS__EXPIRE_CHUNK);
	if (removed)
		*removed = total;
	return 0;
}

/* Hand the batch's submissions back to their loops (under mu). */
static void ns__deliver(ns_audit *a, ns__sub *first, ns__sub *stop, int status)
{
	for (ns__sub *s = first, *next; s != stop; s = next) {
		next = s->next;
		s->status = status;
		s->next = NULL;
		if (status == 0) {
			a->st.entries += s->n;
			for (size_t i = 0; i < s->n; i++)
				a->st.by_outcome[s->e[i].outcome]++;
		} else {
			a->st.failed += s->n;
		}
		if (s->lp->tail)
			s->lp->tail->next = s;
		else
			s->lp->head = s;
		s->lp->tail = s;
		uv_async_send(&s->lp->async);
	}
	if (status == 0)
		a->st.batches++;
}

static void *ns__writer(void *arg)
{
	ns_audit *a = arg;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		if (a->qhead) {
			/* Whole submissions, at least one, up to NS__BATCH_MAX entries. */
			ns__sub *first = a->qhead, *stop = first->next;
			size_t n = first->n;
			while (stop && n + stop->n <= NS__BATCH_MAX) {
				n += stop->n;
				stop = stop->next;
			}
			a->qhead = stop;
			if (stop == NULL)
				a->qtail = NULL;
			a->st.queued -= n;
			pthread_mutex_unlock(&a->mu);
			int rc = ns__write_batch(a, first, stop);
			if (rc == 0 && a->syslog)
				ns__syslog_batch(first, stop);
			if (rc == 0 && a->sync_ms && a->sync_due == 0)
				a->sync_due = ns__now_ms() + a->sync_ms;
			pthread_mutex_lock(&a->mu);
			ns__deliver(a, first, stop, rc);
			continue;
		}
		int64_t now = ns__now_ms();
		if (a->sync_due && (a->stop || now >= a->sync_due)) {
			pthread_mutex_unlock(&a->mu);
			pthread_rwlock_rdlock(&a->map_lock);
			if (mdb_env_sync(a->env, 1) == 0)
				a->sync_due = 0;
			else
				a->sync_due = now + a->sync_ms; /* the disk refused: again later */
			pthread_rwlock_unlock(&a->map_lock);
			pthread_mutex_lock(&a->mu);
			continue;
		}
		if (a->stop)
			break;
		if (now >= a->next_expire) {
			uint64_t n = 0;
			pthread_mutex_unlock(&a->mu);
			int rc = ns__expire_chunk(a, ns__cutoff(a, now), NS__EXPIRE_CHUNK, &n);
			if (rc != 0 || n < NS__EXPIRE_CHUNK) /* done (or failing): again tomorrow */
				a->next_expire = now + NS__DAY_MS;
			pthread_mutex_lock(&a->mu);
			continue;
		}
		int64_t wake = a->sync_due && a->sync_due < a->next_expire ? a->sync_due : a->next_expire;
		struct timespec until = { (time_t)(wake / 1000), (long)(wake % 1000) * 1000000 };
		pthread_cond_timedwait(&a->cv, &a->mu, &until);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/*
 * Submitting and calling back.
 */

static void ns__call_back(ns__loop *lp)
{
	ns_audit *a = lp->a;
	pthread_mutex_lock(&a->mu);
	ns__sub *s = lp->head;
	lp->head = lp->tail = NULL;
	pthread_mutex_unlock(&a->mu);
	while (s) {
		ns__sub *next = s->next;
		if (--lp->pending == 0)
			uv_unref((uv_handle_t *)&lp->async);
		s->done(s->arg, s->status);
		free(s);
		s = next;
	}
}

static void ns__on_async(uv_async_t *h)
{
	ns__call_back(h->data);
}

int ns_audit_submit(ns_audit *a, void *loop, const ns_audit_entry *e, size_t n, ns_audit_done_fn done,
		    void *arg)
{
	ns__sub *s;
	ns__loop *lp;
	int64_t now = ns__now_ms();

	if (a == NULL || a->rdonly || loop == NULL || n == 0 || n > NS__BATCH_MAX || done == NULL)
		return NS_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (e[i].outcome < NS_AUDIT_ALLOWED || e[i].outcome > NS_AUDIT_LISTED)
			return NS_EINVAL;
	if ((s = malloc(sizeof(*s) + n * sizeof(*e))) == NULL)
		return NS_ENOMEM;
	*s = (ns__sub){ .done = done, .arg = arg, .n = n };
	memcpy(s->e, e, n * sizeof(*e));
	for (size_t i = 0; i < n; i++)
		if (s->e[i].at_ms == 0)
			s->e[i].at_ms = now;
	pthread_mutex_lock(&a->mu);
	if (a->stop) {
		pthread_mutex_unlock(&a->mu);
		free(s);
		return NS_EINVAL;
	}
	for (lp = a->loops; lp && lp->loop != loop; lp = lp->next)
		;
	if (lp == NULL) { /* this loop's first submission: its wake-up handle, made on its thread */
		if ((lp = calloc(1, sizeof(*lp))) == NULL || uv_async_init(loop, &lp->async, ns__on_async) != 0) {
			pthread_mutex_unlock(&a->mu);
			free(lp);
			free(s);
			return NS_ENOMEM;
		}
		lp->loop = loop;
		lp->a = a;
		lp->async.data = lp;
		uv_unref((uv_handle_t *)&lp->async);
		lp->next = a->loops;
		a->loops = lp;
		a->open_loops++;
	}
	s->lp = lp;
	if (lp->pending++ == 0)
		uv_ref((uv_handle_t *)&lp->async); /* the loop waits for its callbacks */
	if (a->qtail)
		a->qtail->next = s;
	else
		a->qhead = s;
	a->qtail = s;
	a->st.queued += n;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return 0;
}

/*
 * Opening and closing.
 */

static void ns__free(ns_audit *a)
{
	if (a->env)
		mdb_env_close(a->env);
	pthread_rwlock_destroy(&a->map_lock);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a);
}

static void ns__on_loop_closed(uv_handle_t *h)
{
	ns__loop *lp = h->data;
	ns_audit *a = lp->a;
	free(lp);
	if (--a->open_loops == 0)
		ns__free(a);
}

void ns_audit_close(ns_audit *a)
{
	if (a == NULL)
		return;
	if (a->started) {
		pthread_mutex_lock(&a->mu);
		a->stop = 1;
		pthread_cond_signal(&a->cv);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->thread, NULL);
	}
	if (a->syslog)
		closelog();
	mdb_env_close(a->env);
	a->env = NULL;
	if (a->loops == NULL) {
		ns__free(a);
		return;
	}
	for (ns__loop *lp = a->loops; lp; lp = lp->next)
		ns__call_back(lp); /* what the writer finished before stopping */
	for (ns__loop *lp = a->loops, *next; lp; lp = next) {
		next = lp->next;
		uv_close((uv_handle_t *)&lp->async, ns__on_loop_closed);
	}
}

static int ns__env(ns_audit *a, const char *dir, size_t map, unsigned flags, ns_diag *d)
{
	int rc = mdb_env_create(&a->env);
	if (rc != 0)
		return ns__mdb_fail(d, rc, "audit environment");
	mdb_env_set_maxdbs(a->env, 4);
	mdb_env_set_maxreaders(a->env, 126);
	if (map && (rc = mdb_env_set_mapsize(a->env, map)) != 0)
		return ns__mdb_fail(d, rc, "audit map size");
	if ((rc = mdb_env_open(a->env, dir, flags | MDB_NOTLS, 0600)) != 0) {
		if (rc == ENOENT)
			return ns_diag_set(d, NS_ENOTFOUND, "audit", "no audit at %s", dir);
		return ns_diag_set(d, ns__mdb_code(rc), "audit", "%s: %s", dir, mdb_strerror(rc));
	}
	MDB_txn *txn;
	unsigned cf = flags & MDB_RDONLY ? 0 : MDB_CREATE;
	if ((rc = ns__begin(a, flags & MDB_RDONLY, &txn)) != 0)
		return ns__mdb_fail(d, rc, "audit transaction");
	if ((rc = mdb_dbi_open(txn, "entries", cf, &a->entries)) == 0 &&
	    (rc = mdb_dbi_open(txn, "by_offender", cf | MDB_DUPSORT | MDB_DUPFIXED, &a->by_off)) == 0 &&
	    (rc = mdb_dbi_open(txn, "by_user", cf | MDB_DUPSORT | MDB_DUPFIXED, &a->by_user)) == 0 && cf) {
		/* The next sequence: past the newest key's (keys of the same millisecond never collide). */
		MDB_cursor *cur;
		MDB_val k, v;
		if ((rc = mdb_cursor_open(txn, a->entries, &cur)) == 0) {
			if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 && k.mv_size == NS__KEY)
				a->seq = ns__be64((const uint8_t *)k.mv_data + 8) + 1;
			mdb_cursor_close(cur);
		}
	}
	if (rc != 0) {
		ns__abort(a, txn);
		if (rc == MDB_NOTFOUND)
			return ns_diag_set(d, NS_ENOTFOUND, "audit", "%s is not an audit environment", dir);
		return ns__mdb_fail(d, rc, "audit databases");
	}
	if ((rc = ns__commit(a, txn)) != 0)
		return ns__mdb_fail(d, rc, "audit databases");
	return 0;
}

static ns_audit *ns__alloc(void)
{
	ns_audit *a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	pthread_rwlock_init(&a->map_lock, NULL);
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL); /* CLOCK_REALTIME: next_expire is wall-clock time */
	return a;
}

int ns_audit_open(ns_audit **out, const char *dir, const ns_audit_opts *opts, ns_diag *d)
{
	ns_audit_opts o = opts ? *opts : (ns_audit_opts){ 0 };
	ns_audit *a;
	int rc;

	*out = NULL;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return ns_diag_set(d, NS_EIO, "audit", "cannot create %s: %s", dir, strerror(errno));
	if ((a = ns__alloc()) == NULL)
		return NS_ENOMEM;
	a->days = o.days ? o.days : NS__AUDIT_DAYS;
	a->syslog = o.syslog;
	a->sync_ms = o.sync_ms;
	size_t map = o.map_size ? o.map_size : NS__AUDIT_MAP;
	a->map_max = o.map_max ? o.map_max : map > NS__AUDIT_MAP ? map : NS__AUDIT_MAP;
	if (a->map_max < map)
		a->map_max = map;
	if ((rc = ns__env(a, dir, map, a->sync_ms ? MDB_NOSYNC : 0, d)) != 0) {
		ns__free(a);
		return rc;
	}
	if (a->syslog)
		openlog("nomsyncd-audit", LOG_PID | LOG_NDELAY, LOG_AUTHPRIV);
	a->next_expire = 0; /* the writer expires at once */
	if (pthread_create(&a->thread, NULL, ns__writer, a) != 0) {
		if (a->syslog)
			closelog();
		ns__free(a);
		return ns_diag_set(d, NS_ENOMEM, "audit", "cannot start the audit writer thread");
	}
	a->started = 1;
	*out = a;
	return 0;
}

int ns_audit_open_readonly(ns_audit **out, const char *dir, ns_diag *d)
{
	ns_audit *a;
	int rc;

	*out = NULL;
	if ((a = ns__alloc()) == NULL)
		return NS_ENOMEM;
	a->rdonly = 1;
	if ((rc = ns__env(a, dir, 0, MDB_RDONLY, d)) != 0) {
		ns__free(a);
		return rc;
	}
	*out = a;
	return 0;
}

void ns_audit_get_stats(ns_audit *a, ns_audit_stats *s)
{
	pthread_mutex_lock(&a->mu);
	*s = a->st;
	pthread_mutex_unlock(&a->mu);
}

/*
 * Reading.
 */

/* Call @p fn for the entry at key @p k (read from entries), unless another filter drops it. */
static int ns__row(ns_audit *a, MDB_txn *txn, MDB_val *k, const ns_audit_query *q, ns_audit_row_fn fn,
		   void *arg, size_t *count, int *stop)
{
	MDB_val v;
	ns_audit_entry e;
	int rc = mdb_get(txn, a->entries, k, &v);
	if (rc != 0) /* the index and the entries are written together: a dangling index entry is corruption */
		return rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc;
	if (ns__decode(k, &v, &e) != 0)
		return MDB_CORRUPTED;
	if ((q->user && q->user[0] && strcmp(e.user, q->user) != 0) ||
	    (q->offender && q->offender[0] && strcmp(e.offender, q->offender) != 0))
		return 0;
	if (fn(arg, &e) != 0 || (q->limit && ++*count >= q->limit))
		*stop = 1;
	return 0;
}

int ns_audit_query_run(ns_audit *a, const ns_audit_query *q, ns_audit_row_fn fn, void *arg, ns_diag *d)
{
	uint8_t from[NS__KEY];
	int64_t to = q->to_ms > 0 ? q->to_ms : INT64_MAX;
	const char *name = q->offender && q->offender[0] ? q->offender : q->user && q->user[0] ? q->user : NULL;
	MDB_dbi idx = q->offender && q->offender[0] ? a->by_off : a->by_user;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t count = 0;
	int stop = 0, rc;

	ns__key(from, q->from_ms, 0);
	if ((rc = ns__begin(a, MDB_RDONLY, &txn)) != 0)
		return ns__mdb_fail(d, rc, "audit read");
	if ((rc = mdb_cursor_open(txn, name ? idx : a->entries, &cur)) != 0) {
		ns__abort(a, txn);
		return ns__mdb_fail(d, rc, "audit read");
	}
	if (name) { /* the index: name -> time keys, from `from` on */
		k = (MDB_val){ strlen(name), (void *)name };
		v = (MDB_val){ NS__KEY, from };
		rc = mdb_cursor_get(cur, &k, &v, MDB_GET_BOTH_RANGE);
		while (rc == 0 && !stop && v.mv_size == NS__KEY && (int64_t)ns__be64(v.mv_data) < to) {
			MDB_val ek = { NS__KEY, v.mv_data };
			if ((rc = ns__row(a, txn, &ek, q, fn, arg, &count, &stop)) == 0)
				rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP);
		}
	} else {
		k = (MDB_val){ NS__KEY, from };
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		while (rc == 0 && !stop && k.mv_size == NS__KEY && (int64_t)ns__be64(k.mv_data) < to) {
			ns_audit_entry e;
			if (ns__decode(&k, &v, &e) != 0) {
				rc = MDB_CORRUPTED;
				break;
			}
			if (fn(arg, &e) != 0 || (q->limit && ++count >= q->limit))
				stop = 1;
			else
				rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		}
	}
	mdb_cursor_close(cur);
	ns__abort(a, txn);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc == MDB_CORRUPTED ? ns_diag_set(d, NS_ECORRUPT, "audit", "an audit entry does not decode")
					   : ns__mdb_fail(d, rc, "audit read");
	return 0;
}
