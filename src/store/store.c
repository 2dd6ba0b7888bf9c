/*
 * The LMDB store: the signed event log, its indexes, the version vector,
 * held events, equivocation proofs and the folded views of every person.
 *
 * All writes go through one write transaction per call (group commit):
 * events are written, the version vector advanced, and every person the
 * batch touched is re-folded before the commit, so views are never behind
 * the log they were folded from. See include/nomsync/store.h for the layout.
 */
#include <nomsync/store.h>
#include <nomsync/validate.h>

#include "event/decode.h"

#include <lmdb.h>
#include <sodium.h>

#include <errno.h>
#include <pthread.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define NS__LOGKEY 40     /* origin(32) seq(8) */
#define NS__SORTKEY 48    /* occurred(8) origin(32) seq(8) */
#define NS__VVREC 67      /* seq(8) head(32) site(16) role(1) quar(1) held(8) spare(1) */
#define NS__MAX_COMPONENT 256

struct ns_store {
	MDB_env *env;
	MDB_dbi log, ids, byref, links, alias, views, summary, vv, pending, equiv, counters, meta;
	MDB_dbi dirty; /* refs whose fold is deferred (NS_INGEST_DEFER_FOLD) */
	MDB_dbi newids; /* id index entries deferred by the same flag (ns__newid_put) */
	int has_dirty; /* 0 for a read-only open of a store made before it existed */
	int has_newids; /* likewise for newids */
	/*
	 * Set for the length of a write transaction that defers its id index
	 * entries to newids (NS_INGEST_DEFER_FOLD), and the next newids key
	 * (0: not looked up yet in this transaction). Only the writer, which
	 * holds LMDB's write lock, touches them.
	 */
	int txn_defer_ids;
	uint64_t newid_next;
	ns_identity id;
	char dir[PATH_MAX];
	unsigned flags;
	ns_trust_fn trust;
	void *trust_arg;
	size_t map_max;
	ns_diag last_error;
	/*
	 * The data.mdb mapping, found in /proc/self/maps for ns_store_trim.
	 * LMDB remaps only inside mdb_env_set_mapsize, which this file calls
	 * under map_lock and after which the address is looked up again.
	 */
	pthread_mutex_t map_lock;
	void *map_addr;
	size_t map_len;
	int map_looked;
	/*
	 * ns__warm_tail: a read-only descriptor on data.mdb advised
	 * POSIX_FADV_RANDOM, and how far the file is cached (under map_lock).
	 */
	int warm_fd;
	uint64_t warm_end;
	/* Fold latency, updated by whichever thread commits; read with atomics. */
	uint64_t fold_count, fold_nanos, fold_buckets[NS_FOLD_BUCKETS];
};

static void ns__warm_tail(ns_store *s);

const double ns_fold_bucket_bounds[NS_FOLD_BUCKETS] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
							 0.005,  0.01,    0.025,  0.1,   1.0 };

static uint64_t ns__nanos(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void ns__fold_record(ns_store *s, uint64_t nanos)
{
	__atomic_add_fetch(&s->fold_count, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->fold_nanos, nanos, __ATOMIC_RELAXED);
	for (int i = 0; i < NS_FOLD_BUCKETS; i++)
		if ((double)nanos / 1e9 <= ns_fold_bucket_bounds[i])
			__atomic_add_fetch(&s->fold_buckets[i], 1, __ATOMIC_RELAXED);
}

void ns_store_fold_stats(ns_store *s, ns_fold_stats *out)
{
	out->count = __atomic_load_n(&s->fold_count, __ATOMIC_RELAXED);
	out->sum = (double)__atomic_load_n(&s->fold_nanos, __ATOMIC_RELAXED) / 1e9;
	for (int i = 0; i < NS_FOLD_BUCKETS; i++)
		out->buckets[i] = __atomic_load_n(&s->fold_buckets[i], __ATOMIC_RELAXED);
}

/* A set of offender refs touched by a batch, to re-fold once each. */
typedef struct ns__refset {
	char (*ref)[NS_REF_MAX];
	size_t n, cap;
} ns__refset;

/* The last LMDB code seen by this thread, to tell a full map from a full disk. */
static __thread int ns__last_mdb;

static int ns__mdb(int rc)
{
	if (rc != 0)
		ns__last_mdb = rc;
	switch (rc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_NOTFOUND:
		return NS_ENOTFOUND;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return NS_EMAPFULL;
	case ENOMEM:
		return NS_ENOMEM;
	default:
		return NS_ESTORE;
	}
}

static void ns__put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t ns__get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void ns__logkey(uint8_t k[NS__LOGKEY], const uint8_t *origin, uint64_t seq)
{
	memcpy(k, origin, NS_KEY_BYTES);
	ns__put_be64(k + NS_KEY_BYTES, seq);
}

static void ns__sortkey(uint8_t k[NS__SORTKEY], const ns_event *ev)
{
	ns__put_be64(k, (uint64_t)ev->occurred_at ^ ((uint64_t)1 << 63));
	ns__logkey(k + 8, ev->origin, ev->seq);
}

static int ns__refset_add(ns__refset *rs, const char *ref)
{
	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->ref[i], ref) == 0)
			return 0;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 16;
		void *p = realloc(rs->ref, cap * sizeof(*rs->ref));
		if (p == NULL)
			return NS_ENOMEM;
		rs->ref = p;
		rs->cap = cap;
	}
	snprintf(rs->ref[rs->n++], NS_REF_MAX, "%s", ref);
	return 0;
}

/*
 * Version vector records.
 */

static void ns__vv_encode(uint8_t b[NS__VVREC], const ns_vv_entry *e)
{
	memset(b, 0, NS__VVREC);
	ns__put_be64(b, e->seq);
	memcpy(b + 8, e->head, NS_ID_BYTES);
	memcpy(b + 40, e->site, NS_SITE_MAX);
	b[56] = (uint8_t)e->role;
	b[57] = (uint8_t)e->quarantined;
	ns__put_be64(b + 58, e->held);
}

static int ns__vv_decode(ns_vv_entry *e, const uint8_t *origin, const MDB_val *v)
{
	const uint8_t *b = v->mv_data;
	if (v->mv_size != NS__VVREC)
		return NS_ECORRUPT;
	memset(e, 0, sizeof(*e));
	memcpy(e->origin, origin, NS_KEY_BYTES);
	e->seq = ns__get_be64(b);
	memcpy(e->head, b + 8, NS_ID_BYTES);
	memcpy(e->site, b + 40, NS_SITE_MAX);
	e->site[NS_SITE_MAX - 1] = '\0';
	e->role = (ns_role)b[56];
	e->quarantined = b[57];
	e->held = ns__get_be64(b + 58);
	return 0;
}

/* Read the vv entry of @origin; a fresh zero entry if the origin is new. */
static int ns__vv_get(MDB_txn *txn, ns_store *s, const uint8_t *origin, ns_vv_entry *e, int *found)
{
	MDB_val k = { NS_KEY_BYTES, (void *)origin }, v;
	int rc = mdb_get(txn, s->vv, &k, &v);

	if (rc == MDB_NOTFOUND) {
		memset(e, 0, sizeof(*e));
		memcpy(e->origin, origin, NS_KEY_BYTES);
		if (found)
			*found = 0;
		return 0;
	}
	if (rc != 0)
		return ns__mdb(rc);
	if (found)
		*found = 1;
	return ns__vv_decode(e, origin, &v);
}

static int ns__vv_put(MDB_txn *txn, ns_store *s, const ns_vv_entry *e)
{
	uint8_t b[NS__VVREC];
	MDB_val k = { NS_KEY_BYTES, (void *)e->origin }, v = { NS__VVREC, b };

	ns__vv_encode(b, e);
	return ns__mdb(mdb_put(txn, s->vv, &k, &v, 0));
}

static int ns__counter_add(MDB_txn *txn, ns_store *s, const char *name, uint64_t n)
{
	MDB_val k = { strlen(name), (void *)name }, v;
	uint8_t b[8];
	uint64_t cur = 0;
	int rc;

	if (n == 0)
		return 0;
	rc = mdb_get(txn, s->counters, &k, &v);
	if (rc == 0 && v.mv_size == 8)
		cur = ns__get_be64(v.mv_data);
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return ns__mdb(rc);
	ns__put_be64(b, cur + n);
	v.mv_size = 8;
	v.mv_data = b;
	return ns__mdb(mdb_put(txn, s->counters, &k, &v, 0));
}

const char *ns_reject_name(int code)
{
	switch (code) {
	case NS_ESIG:
		return "rejected.signature";
	case NS_EROLE:
		return "rejected.role";
	case NS_EVALID:
		return "rejected.invalid";
	case NS_EEQUIV:
		return "rejected.equivocation";
	case NS_EQUARANTINED:
		return "rejected.quarantined";
	case NS_EUNKNOWN:
		return "rejected.unknown_origin";
	case NS_ECHAIN:
		return "rejected.chain";
	case NS_EREVOKED:
		return "rejected.revoked";
	case NS_EDECODE:
	case NS_EHASH:
	case NS_EVERSION:
		return "rejected.malformed";
	default:
		return "rejected.other";
	}
}

/*
 * Transactions. Another process may have grown the map: LMDB then answers
 * MDB_MAP_RESIZED and we adopt the new size (mdb_env_set_mapsize(0)).
 */
static int ns__txn(ns_store *s, unsigned flags, MDB_txn **txn)
{
	int rc = mdb_txn_begin(s->env, NULL, flags, txn);
	if (rc == MDB_MAP_RESIZED) {
		pthread_mutex_lock(&s->map_lock);
		int ok = mdb_env_set_mapsize(s->env, 0) == 0;
		s->map_looked = 0;
		s->map_addr = NULL;
		pthread_mutex_unlock(&s->map_lock);
		if (ok)
			rc = mdb_txn_begin(s->env, NULL, flags, txn);
	}
	return rc;
}

/*
 * After MDB_MAP_FULL, double the map (up to map_max) so the caller can
 * retry. Only between transactions of this process, which is where it is
 * called.
 */
static int ns__grow(ns_store *s)
{
	MDB_envinfo info;
	if (mdb_env_info(s->env, &info) != 0 || info.me_mapsize >= s->map_max)
		return 0;
	size_t want = info.me_mapsize * 2 > s->map_max ? s->map_max : info.me_mapsize * 2;
	pthread_mutex_lock(&s->map_lock);
	int ok = mdb_env_set_mapsize(s->env, want) == 0;
	s->map_looked = 0;
	s->map_addr = NULL;
	pthread_mutex_unlock(&s->map_lock);
	return ok;
}

/* A failed commit: EIO from a full disk is reported as such. */
static int ns__commit_error(ns_store *s, int mrc, ns_diag *d)
{
	struct statvfs fs;
	int rc = ns__mdb(mrc);

	if ((mrc == EIO || rc == NS_EMAPFULL) && statvfs(s->dir, &fs) == 0 &&
	    (uint64_t)fs.f_bavail * fs.f_frsize < ((uint64_t)4 << 20)) {
		return ns_diag_set(d, NS_EMAPFULL, "store",
				   "nothing was written: the disk holding %s is full (%llu KiB free)", s->dir,
				   (unsigned long long)fs.f_bavail * fs.f_frsize / 1024);
	}
	return ns_diag_set(d, rc, "store", "nothing was written: %s (%s)", ns_strerror(rc), mdb_strerror(mrc));
}

/*
 * Opening and creating.
 */

static int ns__open_env(ns_store *s, const char *dir, unsigned flags)
{
	unsigned eflags = MDB_NOTLS;
	MDB_txn *txn;
	int rc;

	if (flags & NS_STORE_RDONLY)
		eflags |= MDB_RDONLY;
	if (flags & NS_STORE_NOSYNC)
		eflags |= MDB_NOSYNC;
	if ((rc = mdb_env_create(&s->env)) != 0)
		return ns__mdb(rc);
	mdb_env_set_maxdbs(s->env, 16);
	mdb_env_set_maxreaders(s->env, 256);
	/*
	 * NOMSYNC_MAP_SIZE sets the initial map (bytes); the map doubles on
	 * MDB_MAP_FULL up to NOMSYNC_MAP_MAX (default NS_STORE_MAPSIZE). The map
	 * is sparse: only what is used takes disk space.
	 */
	size_t map = NS_STORE_MAPSIZE;
	const char *env = getenv("NOMSYNC_MAP_SIZE");
	s->map_max = NS_STORE_MAPSIZE;
	if (env && strtoull(env, NULL, 10) >= (1u << 20))
		map = (size_t)strtoull(env, NULL, 10);
	if ((env = getenv("NOMSYNC_MAP_MAX")) && strtoull(env, NULL, 10) >= map)
		s->map_max = (size_t)strtoull(env, NULL, 10);
	if (map > s->map_max)
		s->map_max = map;
	if ((rc = mdb_env_set_mapsize(s->env, map)) != 0 ||
	    (rc = mdb_env_open(s->env, dir, eflags, 0600)) != 0) {
		mdb_env_close(s->env);
		s->env = NULL;
		return rc == ENOENT ? NS_ENOTFOUND : ns__mdb(rc);
	}
	rc = ns__txn(s, flags & NS_STORE_RDONLY ? MDB_RDONLY : 0, &txn);
	if (rc != 0)
		return ns__mdb(rc);
	unsigned cf = flags & NS_STORE_RDONLY ? 0 : MDB_CREATE;
	struct {
		const char *name;
		MDB_dbi *dbi;
		unsigned f;
	} dbs[] = {
		{ "log", &s->log, 0 },
		{ "ids", &s->ids, 0 },
		{ "byref", &s->byref, MDB_DUPSORT | MDB_DUPFIXED },
		{ "links", &s->links, MDB_DUPSORT },
		{ "alias", &s->alias, 0 },
		{ "views", &s->views, 0 },
		{ "summary", &s->summary, 0 },
		{ "vv", &s->vv, 0 },
		{ "pending", &s->pending, 0 },
		{ "equiv", &s->equiv, 0 },
		{ "counters", &s->counters, 0 },
		{ "meta", &s->meta, 0 },
		{ "dirty", &s->dirty, 0 },
		{ "newids", &s->newids, 0 },
	};
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		rc = mdb_dbi_open(txn, dbs[i].name, dbs[i].f | cf, dbs[i].dbi);
		if (rc == MDB_NOTFOUND && (dbs[i].dbi == &s->dirty || dbs[i].dbi == &s->newids))
			continue; /* read-only, older store: nothing pending */
		if (dbs[i].dbi == &s->dirty)
			s->has_dirty = rc == 0;
		if (dbs[i].dbi == &s->newids)
			s->has_newids = rc == 0;
		if (rc != 0) {
			mdb_txn_abort(txn);
			return rc == MDB_NOTFOUND ? NS_ENOTFOUND : ns__mdb(rc);
		}
	}
	rc = mdb_txn_commit(txn);
	return ns__mdb(rc);
}

static int ns__meta_get(MDB_txn *txn, ns_store *s, const char *name, char *out, size_t cap)
{
	MDB_val k = { strlen(name), (void *)name }, v;
	int rc = mdb_get(txn, s->meta, &k, &v);
	if (rc != 0)
		return ns__mdb(rc);
	if (v.mv_size >= cap)
		return NS_ECORRUPT;
	memcpy(out, v.mv_data, v.mv_size);
	out[v.mv_size] = '\0';
	return 0;
}

static int ns__meta_put(MDB_txn *txn, ns_store *s, const char *name, const char *val)
{
	MDB_val k = { strlen(name), (void *)name }, v = { strlen(val), (void *)val };
	return ns__mdb(mdb_put(txn, s->meta, &k, &v, 0));
}

static void ns__keypath(char *out, size_t cap, const char *dir)
{
	snprintf(out, cap, "%s/site.key", dir);
}

int ns_store_create(const char *dir, const char *site, ns_role role, ns_diag *d)
{
	char path[PATH_MAX + 16], pkhex[2 * NS_KEY_BYTES + 1];
	ns_store s;
	MDB_txn *txn;
	int rc;

	if (dir == NULL || site == NULL)
		return NS_EINVAL;
	if (ns_role_name(role) == NULL)
		return ns_diag_set(d, NS_EVALID, "role", "role must be prison, probation, court or hub");
	if ((rc = ns_validate_site(role, site, d)) != 0)
		return rc;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return ns_diag_set(d, NS_EIO, "dir", "cannot create %s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (access(path, F_OK) == 0)
		return ns_diag_set(d, NS_EEXIST, "dir", "%s already holds a store", dir);
	memset(&s, 0, sizeof(s));
	if ((rc = ns_identity_generate(&s.id, site, role)) != 0)
		return rc;
	ns__keypath(path, sizeof(path), dir);
	if ((rc = ns_identity_save(&s.id, path)) != 0) {
		ns_identity_wipe(&s.id);
		return ns_diag_set(d, rc, "key", "cannot write %s", path);
	}
	if ((rc = ns__open_env(&s, dir, 0)) != 0) {
		ns_identity_wipe(&s.id);
		return ns_diag_set(d, rc, "dir", "cannot create the LMDB store in %s: %s", dir,
				   ns_strerror(rc));
	}
	ns_hex(pkhex, s.id.pk, NS_KEY_BYTES);
	rc = ns__mdb(mdb_txn_begin(s.env, NULL, 0, &txn));
	if (rc == 0) {
		if ((rc = ns__meta_put(txn, &s, "format", "1")) == 0 &&
		    (rc = ns__meta_put(txn, &s, "site", site)) == 0 &&
		    (rc = ns__meta_put(txn, &s, "role", ns_role_name(role))) == 0 &&
		    (rc = ns__meta_put(txn, &s, "pk", pkhex)) == 0)
			rc = ns__mdb(mdb_txn_commit(txn));
		else
			mdb_txn_abort(txn);
	}
	ns_identity_wipe(&s.id);
	mdb_env_close(s.env);
	return rc;
}

int ns_store_open(const char *dir, unsigned flags, ns_store **out, ns_diag *d)
{
	char path[PATH_MAX + 16], site[NS_SITE_MAX], role[16], pkhex[2 * NS_KEY_BYTES + 1], fmt[8];
	ns_store *s;
	MDB_txn *txn;
	int rc;

	*out = NULL;
	if (dir == NULL || strlen(dir) >= PATH_MAX)
		return NS_EINVAL;
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (access(path, F_OK) != 0)
		return ns_diag_set(d, NS_ENOTFOUND, "dir",
				   "%s holds no nomsync store (run 'nomsync --dir %s init' first)", dir, dir);
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NS_ENOMEM;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	s->flags = flags;
	s->warm_fd = -1;
	pthread_mutex_init(&s->map_lock, NULL);
	if ((rc = ns__open_env(s, dir, flags)) != 0) {
		ns_diag_set(d, rc, "dir", "cannot open the store in %s: %s", dir, ns_strerror(rc));
		goto fail;
	}
	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		goto fail;
	if ((rc = ns__meta_get(txn, s, "format", fmt, sizeof(fmt))) != 0 ||
	    (rc = ns__meta_get(txn, s, "site", site, sizeof(site))) != 0 ||
	    (rc = ns__meta_get(txn, s, "role", role, sizeof(role))) != 0 ||
	    (rc = ns__meta_get(txn, s, "pk", pkhex, sizeof(pkhex))) != 0) {
		mdb_txn_abort(txn);
		ns_diag_set(d, NS_ECORRUPT, "meta", "store metadata in %s is missing or damaged", dir);
		rc = NS_ECORRUPT;
		goto fail;
	}
	mdb_txn_abort(txn);
	if (strcmp(fmt, "1") != 0) {
		rc = ns_diag_set(d, NS_EVERSION, "meta", "store format %s is not supported", fmt);
		goto fail;
	}
	ns__keypath(path, sizeof(path), dir);
	if ((rc = ns_identity_load(&s->id, path, d)) != 0)
		goto fail;
	{
		char have[2 * NS_KEY_BYTES + 1];
		ns_hex(have, s->id.pk, NS_KEY_BYTES);
		if (strcmp(have, pkhex) != 0 || strcmp(s->id.site, site) != 0 ||
		    s->id.role != ns_role_parse(role)) {
			rc = ns_diag_set(d, NS_EKEY, "key", "%s does not belong to this store", path);
			goto fail;
		}
	}
	if (!(flags & NS_STORE_RDONLY)) {
		/* Only an optimisation (ns__warm_tail): a store works without it. */
		snprintf(path, sizeof(path), "%s/data.mdb", dir);
		if ((s->warm_fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0 &&
		    posix_fadvise(s->warm_fd, 0, 0, POSIX_FADV_RANDOM) != 0) {
			close(s->warm_fd);
			s->warm_fd = -1;
		}
	}
	*out = s;
	return 0;
fail:
	ns_store_close(s);
	return rc;
}

void ns_store_close(ns_store *s)
{
	if (s == NULL)
		return;
	if (s->env)
		mdb_env_close(s->env);
	if (s->warm_fd >= 0)
		close(s->warm_fd);
	ns_identity_wipe(&s->id);
	pthread_mutex_destroy(&s->map_lock);
	free(s);
}

const ns_identity *ns_store_identity(const ns_store *s)
{
	return &s->id;
}

const char *ns_store_dir(const ns_store *s)
{
	return s->dir;
}

void ns_store_set_trust(ns_store *s, ns_trust_fn fn, void *arg)
{
	s->trust = fn;
	s->trust_arg = arg;
}

/*
 * Reading events.
 */

/*
 * Load the event stored under @p logkey. With @p arena it is decoded into
 * the arena and points into the map (valid until @p txn ends); without, it
 * is malloc'd (free with ns_event_free). Stored bytes passed a full decode
 * on the way in, so the payload hash is not recomputed; verify re-checks it.
 */
static int ns__load(MDB_txn *txn, ns_store *s, const uint8_t logkey[NS__LOGKEY], ns__arena *arena,
		    ns_event **ev)
{
	MDB_val k = { NS__LOGKEY, (void *)logkey }, v;
	int rc = mdb_get(txn, s->log, &k, &v);

	if (rc != 0)
		return ns__mdb(rc);
	if (arena != NULL)
		rc = ns__event_decode_in(arena, v.mv_data, v.mv_size, NS_DECODE_TRUSTED, ev);
	else
		rc = ns_event_decode_flags(v.mv_data, v.mv_size, NS_DECODE_TRUSTED, ev, NULL);
	return rc == NS_ENOMEM ? rc : (rc ? NS_ECORRUPT : 0);
}

/* Refs linked to @ref, transitively: the person's identifiers. */
static int ns__component(MDB_txn *txn, ns_store *s, const char *ref, ns__refset *rs)
{
	MDB_cursor *c;
	int rc;

	rs->n = 0;
	if ((rc = ns__refset_add(rs, ref)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, s->links, &c)) != 0)
		return ns__mdb(rc);
	for (size_t i = 0; i < rs->n && rs->n < NS__MAX_COMPONENT; i++) {
		MDB_val k = { strlen(rs->ref[i]), rs->ref[i] }, v;
		rc = mdb_cursor_get(c, &k, &v, MDB_SET);
		while (rc == 0) {
			char other[NS_REF_MAX];
			if (v.mv_size < NS_REF_MAX) {
				memcpy(other, v.mv_data, v.mv_size);
				other[v.mv_size] = '\0';
				if ((rc = ns__refset_add(rs, other)) != 0)
					break;
			}
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT_DUP);
		}
		if (rc != 0 && rc != MDB_NOTFOUND) {
			mdb_cursor_close(c);
			return rc < 0 ? rc : ns__mdb(rc);
		}
	}
	mdb_cursor_close(c);
	return 0;
}

/* Canonical ref of a component: the least NOMS number, else the least ref. */
static const char *ns__canonical(const ns__refset *rs)
{
	const char *best = NULL;
	int best_noms = 0;

	for (size_t i = 0; i < rs->n; i++) {
		int noms = ns_is_noms(rs->ref[i]);
		if (best == NULL || (noms && !best_noms) ||
		    (noms == best_noms && strcmp(rs->ref[i], best) < 0)) {
			best = rs->ref[i];
			best_noms = noms;
		}
	}
	return best;
}

static int ns__cmp_sortkey(const void *a, const void *b)
{
	return memcmp(a, b, NS__SORTKEY);
}

/* Sort keys of every event of a component, sorted and de-duplicated. */
static int ns__component_keys(MDB_txn *txn, ns_store *s, const ns__refset *rs, uint8_t **keys,
			      size_t *nkeys)
{
	MDB_cursor *c;
	uint8_t *k = NULL;
	size_t n = 0, cap = 0;
	int rc;

	*keys = NULL;
	*nkeys = 0;
	if ((rc = mdb_cursor_open(txn, s->byref, &c)) != 0)
		return ns__mdb(rc);
	for (size_t i = 0; i < rs->n; i++) {
		MDB_val mk = { strlen(rs->ref[i]), (void *)rs->ref[i] }, v;
		rc = mdb_cursor_get(c, &mk, &v, MDB_SET);
		while (rc == 0) {
			if (v.mv_size != NS__SORTKEY) {
				rc = NS_ECORRUPT;
				break;
			}
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				void *p = realloc(k, cap * NS__SORTKEY);
				if (p == NULL) {
					rc = NS_ENOMEM;
					break;
				}
				k = p;
			}
			memcpy(k + n * NS__SORTKEY, v.mv_data, NS__SORTKEY);
			n++;
			rc = mdb_cursor_get(c, &mk, &v, MDB_NEXT_DUP);
		}
		if (rc != MDB_NOTFOUND) {
			mdb_cursor_close(c);
			free(k);
			return rc < 0 ? rc : ns__mdb(rc);
		}
	}
	mdb_cursor_close(c);
	if (n > 1) {
		size_t w = 1;
		qsort(k, n, NS__SORTKEY, ns__cmp_sortkey);
		for (size_t i = 1; i < n; i++)
			if (memcmp(k + i * NS__SORTKEY, k + (w - 1) * NS__SORTKEY, NS__SORTKEY) != 0)
				memmove(k + w++ * NS__SORTKEY, k + i * NS__SORTKEY, NS__SORTKEY);
		n = w;
	}
	*keys = k;
	*nkeys = n;
	return 0;
}

/* Load and fold one component; its events live in one arena. */
static int ns__fold_component(MDB_txn *txn, ns_store *s, const ns__refset *rs, char **json,
			      size_t *len, ns_fold_summary *sum)
{
	ns__arena arena = NS__ARENA_INIT;
	uint8_t *keys;
	size_t n;
	ns_event **evs;
	int rc;

	if ((rc = ns__component_keys(txn, s, rs, &keys, &n)) != 0)
		return rc;
	evs = ns__arena_alloc(&arena, (n ? n : 1) * sizeof(*evs));
	for (size_t i = 0; i < n && evs != NULL && rc == 0; i++)
		rc = ns__load(txn, s, keys + i * NS__SORTKEY + 8, &arena, &evs[i]);
	if (evs == NULL)
		rc = NS_ENOMEM;
	if (rc == 0)
		rc = ns_fold(evs, n, json, len, sum);
	ns__arena_free(&arena);
	free(keys);
	return rc;
}

/* Persons whose fold is deferred; 0 if none (or on error). */
static size_t ns__dirty_count(MDB_txn *txn, ns_store *s)
{
	MDB_stat st;

	if (!s->has_dirty || mdb_stat(txn, s->dirty, &st) != 0)
		return 0;
	return st.ms_entries;
}

/* Whether any ref of a component is pending a deferred fold. */
static int ns__dirty_any(MDB_txn *txn, ns_store *s, const ns__refset *comp)
{
	for (size_t i = 0; i < comp->n; i++) {
		MDB_val k = { strlen(comp->ref[i]), comp->ref[i] }, v;
		if (mdb_get(txn, s->dirty, &k, &v) == 0)
			return 1;
	}
	return 0;
}

/* Mark touched refs pending instead of folding them (NS_INGEST_DEFER_FOLD). */
static int ns__defer(MDB_txn *txn, ns_store *s, const ns__refset *touched)
{
	static const char one = 1;
	int rc = 0;

	for (size_t i = 0; i < touched->n && rc == 0; i++) {
		MDB_val k = { strlen(touched->ref[i]), touched->ref[i] }, v = { 1, (void *)&one };
		rc = ns__mdb(mdb_put(txn, s->dirty, &k, &v, 0));
	}
	return rc;
}

/*
 * The deferred id index. A commit with NS_INGEST_DEFER_FOLD writes each
 * event's (id, log key) to newids, under a counter and so always appended
 * at the end, instead of inserting it into ids, a B-tree keyed by a hash:
 * in a large catch-up every such insert dirties a leaf page of its own, and
 * ids was most of the bytes a catch-up wrote (docs/PERFORMANCE.md).
 * ns_store_index_pending later moves the entries into ids sorted, one range
 * of ids per transaction, so that each leaf is written about once per pass.
 * Lookups by id (ns__id_find) fall back to a scan of newids meanwhile.
 */
#define NS__NEWID (NS_ID_BYTES + NS__LOGKEY) /* a newids value: id(32) log key(40) */

/* The last (highest) newids key, 0 if it is empty. */
static int ns__newids_last(MDB_txn *txn, ns_store *s, uint64_t *last)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_cursor_open(txn, s->newids, &c)) != 0)
		return ns__mdb(rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	mdb_cursor_close(c);
	*last = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return ns__mdb(rc);
	if (k.mv_size != 8)
		return NS_ECORRUPT;
	*last = ns__get_be64(k.mv_data);
	return 0;
}

static int ns__newid_put(MDB_txn *txn, ns_store *s, const uint8_t id[NS_ID_BYTES], const uint8_t lk[NS__LOGKEY])
{
	uint8_t key[8], val[NS__NEWID];
	MDB_val k = { 8, key }, v = { NS__NEWID, val };
	int rc;

	if (s->newid_next == 0) {
		uint64_t last;
		if ((rc = ns__newids_last(txn, s, &last)) != 0)
			return rc;
		s->newid_next = last + 1;
	}
	ns__put_be64(key, s->newid_next++);
	memcpy(val, id, NS_ID_BYTES);
	memcpy(val + NS_ID_BYTES, lk, NS__LOGKEY);
	return ns__mdb(mdb_put(txn, s->newids, &k, &v, MDB_APPEND));
}

/* The log key of the event with this id: from ids, else from newids. */
static int ns__id_find(MDB_txn *txn, ns_store *s, const uint8_t id[NS_ID_BYTES], uint8_t lk[NS__LOGKEY])
{
	MDB_val k = { NS_ID_BYTES, (void *)id }, v;
	MDB_cursor *c;
	int rc = mdb_get(txn, s->ids, &k, &v);

	if (rc == 0) {
		if (v.mv_size != NS__LOGKEY)
			return NS_ECORRUPT;
		memcpy(lk, v.mv_data, NS__LOGKEY);
		return 0;
	}
	if (rc != MDB_NOTFOUND)
		return ns__mdb(rc);
	if (!s->has_newids)
		return NS_ENOTFOUND;
	if ((rc = mdb_cursor_open(txn, s->newids, &c)) != 0)
		return ns__mdb(rc);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
		if (v.mv_size == NS__NEWID && memcmp(v.mv_data, id, NS_ID_BYTES) == 0) {
			memcpy(lk, (const uint8_t *)v.mv_data + NS_ID_BYTES, NS__LOGKEY);
			break;
		}
	mdb_cursor_close(c);
	return rc == 0 ? 0 : rc == MDB_NOTFOUND ? NS_ENOTFOUND : ns__mdb(rc);
}

static size_t ns__newids_count(MDB_txn *txn, ns_store *s)
{
	MDB_stat st;

	if (!s->has_newids || mdb_stat(txn, s->newids, &st) != 0)
		return 0;
	return st.ms_entries;
}

static int ns__newid_cmp(const void *a, const void *b)
{
	return memcmp(a, b, NS__NEWID);
}

/*
 * One step of a pass that moves newids into ids. A pass covers the entries
 * present when it began (keys up to `upto`), in `parts` partitions by the
 * first two bytes of the id, sized so that a step holds about max / 2
 * entries; its state is meta "newids.pass": upto(8) parts(4) next part(4).
 * The pass's last step deletes the entries it covered.
 */
static int ns__index_step(MDB_txn *txn, ns_store *s, size_t max)
{
	static const char passkey[] = "newids.pass";
	MDB_val mk = { sizeof(passkey) - 1, (void *)passkey }, mv, k, v;
	MDB_cursor *c = NULL;
	uint8_t state[16], *buf = NULL;
	size_t n = 0, cap = 0;
	uint64_t upto;
	uint32_t parts, part;
	int rc, g;

	rc = mdb_get(txn, s->meta, &mk, &mv);
	if (rc == 0 && mv.mv_size == sizeof(state)) {
		memcpy(state, mv.mv_data, sizeof(state));
		upto = ns__get_be64(state);
		parts = (uint32_t)(ns__get_be64(state + 8) >> 32);
		part = (uint32_t)ns__get_be64(state + 8);
		if (parts == 0 || parts > 65536 || part >= parts)
			return NS_ECORRUPT;
	} else if (rc == MDB_NOTFOUND) {
		size_t count = ns__newids_count(txn, s), half = max / 2 ? max / 2 : 1;
		if (count == 0)
			return 0;
		if ((rc = ns__newids_last(txn, s, &upto)) != 0)
			return rc;
		if (upto == 0)
			return NS_ECORRUPT;
		parts = (uint32_t)((count + half - 1) / half > 65536 ? 65536 : (count + half - 1) / half);
		part = 0;
	} else {
		return rc == 0 ? NS_ECORRUPT : ns__mdb(rc);
	}
	uint32_t lo = (uint32_t)((uint64_t)part * 65536 / parts), hi = (uint32_t)((uint64_t)(part + 1) * 65536 / parts);
	if ((rc = mdb_cursor_open(txn, s->newids, &c)) != 0)
		return ns__mdb(rc);
	size_t scanned = 0;
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8 || v.mv_size != NS__NEWID) {
			rc = NS_ECORRUPT;
			goto out;
		}
		/*
		 * newids pages lie between the log pages written in the same
		 * commits, and each fault maps its neighbours too (fault-around):
		 * unmap as the scan goes, or one pass maps half the store.
		 */
		if (++scanned % 8192 == 0)
			ns_store_trim(s);
		if (ns__get_be64(k.mv_data) > upto)
			break;
		const uint8_t *e = v.mv_data;
		uint32_t prefix = (uint32_t)e[0] << 8 | e[1];
		if (prefix < lo || prefix >= hi)
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			uint8_t *nb = realloc(buf, ncap * NS__NEWID);
			if (nb == NULL) {
				rc = NS_ENOMEM;
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		memcpy(buf + n++ * NS__NEWID, e, NS__NEWID);
	}
	if (g != 0 && g != MDB_NOTFOUND) {
		rc = ns__mdb(g);
		goto out;
	}
	mdb_cursor_close(c);
	c = NULL;
	if (n > 1)
		qsort(buf, n, NS__NEWID, ns__newid_cmp);
	for (size_t i = 0; i < n; i++) {
		MDB_val ik = { NS_ID_BYTES, buf + i * NS__NEWID }, iv = { NS__LOGKEY, buf + i * NS__NEWID + NS_ID_BYTES };
		if ((rc = ns__mdb(mdb_put(txn, s->ids, &ik, &iv, 0))) != 0)
			goto out;
	}
	if (++part < parts) {
		ns__put_be64(state, upto);
		ns__put_be64(state + 8, (uint64_t)parts << 32 | part);
		mv.mv_size = sizeof(state);
		mv.mv_data = state;
		rc = ns__mdb(mdb_put(txn, s->meta, &mk, &mv, 0));
		goto out;
	}
	/* The pass is complete: drop what it covered. */
	uint64_t last;
	if ((rc = ns__newids_last(txn, s, &last)) != 0)
		goto out;
	if (last == upto) {
		rc = ns__mdb(mdb_drop(txn, s->newids, 0)); /* nothing newer: empty it at once */
	} else {
		if ((rc = ns__mdb(mdb_cursor_open(txn, s->newids, &c))) != 0)
			goto out;
		while ((g = mdb_cursor_get(c, &k, &v, MDB_FIRST)) == 0 && k.mv_size == 8 &&
		       ns__get_be64(k.mv_data) <= upto)
			if ((g = mdb_cursor_del(c, 0)) != 0)
				break;
		if (g != 0 && g != MDB_NOTFOUND)
			rc = ns__mdb(g);
	}
	if (rc == 0 && (g = mdb_del(txn, s->meta, &mk, NULL)) != 0 && g != MDB_NOTFOUND)
		rc = ns__mdb(g);
	s->newid_next = 0;
out:
	if (c)
		mdb_cursor_close(c);
	free(buf);
	return rc;
}

/* Re-fold every person touched by a batch and store their views. */
static int ns__refold(MDB_txn *txn, ns_store *s, const ns__refset *touched)
{
	ns__refset comp = { 0 }, done = { 0 };
	int rc = 0, dirty = ns__dirty_count(txn, s) > 0;

	for (size_t t = 0; t < touched->n && rc == 0; t++) {
		const char *canon;
		char *json = NULL;
		size_t len = 0;
		ns_fold_summary sum;

		if ((rc = ns__component(txn, s, touched->ref[t], &comp)) != 0)
			break;
		canon = ns__canonical(&comp);
		int seen = 0;
		for (size_t i = 0; i < done.n; i++)
			if (strcmp(done.ref[i], canon) == 0)
				seen = 1;
		if (seen)
			continue;
		if ((rc = ns__refset_add(&done, canon)) != 0)
			break;
		memset(&sum, 0, sizeof(sum));
		uint64_t t0 = ns__nanos();
		if ((rc = ns__fold_component(txn, s, &comp, &json, &len, &sum)) != 0)
			break;
		ns__fold_record(s, ns__nanos() - t0);
		MDB_val k = { strlen(canon), (void *)canon }, v = { len, json };
		rc = ns__mdb(mdb_put(txn, s->views, &k, &v, 0));
		free(json);
		if (rc != 0)
			break;
		v.mv_size = sizeof(sum);
		v.mv_data = &sum;
		if ((rc = ns__mdb(mdb_put(txn, s->summary, &k, &v, 0))) != 0)
			break;
		/* Point every ref at the canonical one; drop views of merged persons. */
		for (size_t i = 0; i < comp.n && rc == 0; i++) {
			MDB_val ak = { strlen(comp.ref[i]), comp.ref[i] }, av;
			int g;

			if (dirty && (g = mdb_del(txn, s->dirty, &ak, NULL)) != 0 && g != MDB_NOTFOUND) {
				rc = ns__mdb(g);
				break;
			}
			g = mdb_get(txn, s->alias, &ak, &av);
			if (g == 0 && av.mv_size == strlen(canon) && memcmp(av.mv_data, canon, av.mv_size) == 0)
				continue;
			if (g == 0) {
				MDB_val old = { av.mv_size, av.mv_data };
				char oldref[NS_REF_MAX];
				if (old.mv_size < NS_REF_MAX) {
					memcpy(oldref, old.mv_data, old.mv_size);
					oldref[old.mv_size] = '\0';
					if (strcmp(oldref, canon) != 0) {
						MDB_val ok = { strlen(oldref), oldref };
						int r1 = mdb_del(txn, s->views, &ok, NULL);
						int r2 = mdb_del(txn, s->summary, &ok, NULL);
						if ((r1 && r1 != MDB_NOTFOUND) || (r2 && r2 != MDB_NOTFOUND)) {
							rc = NS_ESTORE;
							break;
						}
					}
				}
			} else if (g != MDB_NOTFOUND) {
				rc = ns__mdb(g);
				break;
			}
			MDB_val nv = { strlen(canon), (void *)canon };
			rc = ns__mdb(mdb_put(txn, s->alias, &ak, &nv, 0));
		}
	}
	free(comp.ref);
	free(done.ref);
	return rc;
}

/*
 * Writing events.
 */

/* Write one chained event and its indexes; note the refs it touches. */
static int ns__write(MDB_txn *txn, ns_store *s, const ns_event *ev, ns__refset *touched)
{
	uint8_t lk[NS__LOGKEY], sk[NS__SORTKEY];
	MDB_val k, v;
	int rc;

	ns__logkey(lk, ev->origin, ev->seq);
	k.mv_size = NS__LOGKEY;
	k.mv_data = lk;
	v.mv_size = ev->raw_len;
	v.mv_data = ev->raw;
	if ((rc = mdb_put(txn, s->log, &k, &v, MDB_NOOVERWRITE)) != 0)
		return ns__mdb(rc);
	k.mv_size = NS_ID_BYTES;
	k.mv_data = (void *)ev->id;
	v.mv_size = NS__LOGKEY;
	v.mv_data = lk;
	if (s->txn_defer_ids)
		rc = ns__newid_put(txn, s, ev->id, lk);
	else
		rc = ns__mdb(mdb_put(txn, s->ids, &k, &v, 0));
	if (rc != 0)
		return rc;
	if (strcmp(ev->offender, NS_ROSTER_REF) == 0)
		return 0; /* roster changes concern no person: log and id index only */
	ns__sortkey(sk, ev);
	k.mv_size = strlen(ev->offender);
	k.mv_data = (void *)ev->offender;
	v.mv_size = NS__SORTKEY;
	v.mv_data = sk;
	if ((rc = mdb_put(txn, s->byref, &k, &v, 0)) != 0 && rc != MDB_KEYEXIST)
		return ns__mdb(rc);
	if ((rc = ns__refset_add(touched, ev->offender)) != 0)
		return rc;
	/* NOMS <-> CRN links make either id find the same person. */
	if (ev->type == NOMSYNC__EVENT_TYPE__PERSON_IDENTIFIER_ADDED && ev->payload &&
	    ev->payload->person_identifier_added) {
		const Nomsync__PersonIdentifierAdded *p = ev->payload->person_identifier_added;
		if (p->value && (ns_is_noms(p->value) || ns_is_crn(p->value)) &&
		    strcmp(p->value, ev->offender) != 0 && strlen(p->value) < NS_REF_MAX) {
			MDB_val a = { strlen(ev->offender), (void *)ev->offender };
			MDB_val b = { strlen(p->value), p->value };
			if ((rc = mdb_put(txn, s->links, &a, &b, MDB_NODUPDATA)) != 0 && rc != MDB_KEYEXIST)
				return ns__mdb(rc);
			if ((rc = mdb_put(txn, s->links, &b, &a, MDB_NODUPDATA)) != 0 && rc != MDB_KEYEXIST)
				return ns__mdb(rc);
			if ((rc = ns__refset_add(touched, p->value)) != 0)
				return rc;
		}
	}
	return 0;
}

/* Keep a proof of equivocation by @origin and quarantine it. */
static int ns__equivocate(MDB_txn *txn, ns_store *s, ns_vv_entry *vv, const uint8_t *a, size_t alen,
			  const uint8_t *b, size_t blen)
{
	MDB_val k = { NS_KEY_BYTES, vv->origin }, v;
	uint8_t *buf;
	int rc;

	rc = mdb_get(txn, s->equiv, &k, &v);
	if (rc == MDB_NOTFOUND) {
		buf = malloc(8 + alen + blen);
		if (buf == NULL)
			return NS_ENOMEM;
		buf[0] = (uint8_t)(alen >> 24);
		buf[1] = (uint8_t)(alen >> 16);
		buf[2] = (uint8_t)(alen >> 8);
		buf[3] = (uint8_t)alen;
		memcpy(buf + 4, a, alen);
		buf[4 + alen] = (uint8_t)(blen >> 24);
		buf[5 + alen] = (uint8_t)(blen >> 16);
		buf[6 + alen] = (uint8_t)(blen >> 8);
		buf[7 + alen] = (uint8_t)blen;
		memcpy(buf + 8 + alen, b, blen);
		v.mv_size = 8 + alen + blen;
		v.mv_data = buf;
		rc = mdb_put(txn, s->equiv, &k, &v, 0);
		free(buf);
		if (rc != 0)
			return ns__mdb(rc);
		if ((rc = ns__counter_add(txn, s, "equivocations", 1)) != 0)
			return rc;
	} else if (rc != 0) {
		return ns__mdb(rc);
	}
	vv->quarantined = 1;
	return ns__vv_put(txn, s, vv);
}

/* Apply held successors of @vv's head while they chain. */
static int ns__drain(MDB_txn *txn, ns_store *s, ns_vv_entry *vv, ns__refset *touched,
		     uint64_t *applied)
{
	for (;;) {
		uint8_t lk[NS__LOGKEY];
		MDB_val k = { NS__LOGKEY, lk }, v;
		ns_event *ev;
		int rc;

		ns__logkey(lk, vv->origin, vv->seq + 1);
		rc = mdb_get(txn, s->pending, &k, &v);
		if (rc == MDB_NOTFOUND)
			return 0;
		if (rc != 0)
			return ns__mdb(rc);
		if ((rc = ns_event_decode(v.mv_data, v.mv_size, &ev, NULL)) != 0)
			return rc == NS_ENOMEM ? rc : NS_ECORRUPT;
		if (memcmp(ev->prev, vv->head, NS_ID_BYTES) != 0) {
			/* The held event forks from what we hold: proof with our head. */
			uint8_t hk[NS__LOGKEY];
			MDB_val hkv = { NS__LOGKEY, hk }, hv;
			ns__logkey(hk, vv->origin, vv->seq);
			rc = mdb_get(txn, s->log, &hkv, &hv);
			if (rc == 0)
				rc = ns__equivocate(txn, s, vv, hv.mv_data, hv.mv_size, ev->raw, ev->raw_len);
			else
				rc = ns__mdb(rc);
			ns_event_free(ev);
			return rc;
		}
		rc = ns__write(txn, s, ev, touched);
		if (rc == 0) {
			vv->seq = ev->seq;
			memcpy(vv->head, ev->id, NS_ID_BYTES);
			if (vv->held)
				vv->held--;
			(*applied)++;
			rc = ns__mdb(mdb_del(txn, s->pending, &k, NULL));
		}
		ns_event_free(ev);
		if (rc != 0)
			return rc;
	}
}

static int ns__append_once(ns_store *s, const ns_input *in, size_t n, uint8_t (*ids)[NS_ID_BYTES],
			   size_t *bad, ns_diag *d)
{
	ns__refset touched = { 0 };
	ns_vv_entry vv;
	MDB_txn *txn;
	int64_t now = (int64_t)time(NULL);
	int rc;

	if (bad)
		*bad = 0;
	if (s->flags & NS_STORE_RDONLY)
		return NS_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (in[i].payload == NULL) {
			if (bad)
				*bad = i;
			return ns_diag_set(d, NS_EVALID, "payload", "event has no payload");
		}
		if ((rc = ns_validate_event(s->id.role, in[i].offender, in[i].type, in[i].payload, d)) != 0) {
			if (bad)
				*bad = i;
			return rc;
		}
	}
	if ((rc = ns__mdb(ns__txn(s, 0, &txn))) != 0)
		return rc;
	{
		char hold[4] = "";
		if (ns__meta_get(txn, s, "hold", hold, sizeof(hold)) == 0 && strcmp(hold, "1") == 0) {
			rc = ns_diag_set(d, NS_ELOCKED, "store",
					 "appends are held after a restore until nomsyncd has caught up this site's own "
					 "events from its peers (see docs/OPERATIONS.md)");
			goto abort;
		}
	}
	if ((rc = ns__vv_get(txn, s, s->id.pk, &vv, NULL)) != 0)
		goto abort;
	if (vv.quarantined) {
		rc = ns_diag_set(d, NS_EQUARANTINED, "origin",
				 "this site's own key is quarantined after an equivocation");
		goto abort;
	}
	snprintf(vv.site, sizeof(vv.site), "%s", s->id.site);
	vv.role = s->id.role;
	for (size_t i = 0; i < n; i++) {
		ns_event *ev;
		if (in[i].type == NOMSYNC__EVENT_TYPE__EVENT_CORRECTED) {
			const char *hex = in[i].payload->event_corrected
						  ? in[i].payload->event_corrected->target_event_id
						  : NULL;
			uint8_t tid[NS_ID_BYTES], tlk[NS__LOGKEY];
			int found = ns_unhex(tid, NS_ID_BYTES, hex) == 0 ? ns__id_find(txn, s, tid, tlk) : NS_ENOTFOUND;
			if (found == NS_ENOTFOUND) {
				if (bad)
					*bad = i;
				rc = ns_diag_set(d, NS_EVALID, "target_event_id",
						 "the event to correct is not held by this site");
				goto abort;
			}
			if (found != 0) {
				rc = found;
				goto abort;
			}
			if (s->id.role != NS_ROLE_HUB && memcmp(tlk, s->id.pk, NS_KEY_BYTES) != 0) {
				if (bad)
					*bad = i;
				rc = ns_diag_set(d, NS_EROLE, "target_event_id",
						 "only the emitting site or a hub may correct an event");
				goto abort;
			}
		}
		rc = ns_event_build(&s->id, vv.seq + 1, vv.head, in[i].occurred_at, now, in[i].offender,
				    in[i].payload, &ev);
		if (rc != 0) {
			if (bad)
				*bad = i;
			ns_diag_set(d, rc, "event", "cannot build event: %s", ns_strerror(rc));
			goto abort;
		}
		rc = ns__write(txn, s, ev, &touched);
		if (rc == 0) {
			vv.seq = ev->seq;
			memcpy(vv.head, ev->id, NS_ID_BYTES);
			if (ids)
				memcpy(ids[i], ev->id, NS_ID_BYTES);
		}
		ns_event_free(ev);
		if (rc != 0)
			goto abort;
	}
	if ((rc = ns__vv_put(txn, s, &vv)) != 0 || (rc = ns__counter_add(txn, s, "appended", n)) != 0 ||
	    (rc = ns__refold(txn, s, &touched)) != 0)
		goto abort;
	{
		int mrc = mdb_txn_commit(txn);
		free(touched.ref);
		if (mrc != 0)
			rc = ns__commit_error(s, mrc, d);
		else
			ns__warm_tail(s);
	}
	return rc;
abort:
	mdb_txn_abort(txn);
	free(touched.ref);
	if (rc == NS_EMAPFULL)
		ns_diag_set(d, rc, "store", "nothing was written: the store's map or the disk is full");
	return rc;
}

int ns_store_append(ns_store *s, const ns_input *in, size_t n, uint8_t (*ids)[NS_ID_BYTES],
		    size_t *bad, ns_diag *d)
{
	for (int attempt = 0;; attempt++) {
		ns__last_mdb = 0;
		int rc = ns__append_once(s, in, n, ids, bad, d);
		if (rc == NS_EMAPFULL && ns__last_mdb == MDB_MAP_FULL && attempt < 16 && ns__grow(s)) {
			ns_diag_clear(d);
			continue;
		}
		return rc;
	}
}

/* Checks that need no store access: signature, trust, role and content. */
static int ns__precheck(ns_store *s, const ns_event *ev, unsigned flags)
{
	int rc;

	if (!(flags & NS_INGEST_VERIFIED) && ns_event_verify(ev) != 0)
		return NS_ESIG;
	if (s->trust && (rc = s->trust(s->trust_arg, ev)) != 0)
		return rc;
	if (ns_validate_site(ev->role, ev->site, NULL) != 0)
		return NS_EVALID;
	if (!ns_role_may_emit(ev->role, ev->type))
		return NS_EROLE;
	rc = ns_validate_event(ev->role, ev->offender, ev->type, ev->payload, NULL);
	return rc;
}

/* Ingest one pre-checked event inside the batch transaction. */
static int ns__ingest_one(MDB_txn *txn, ns_store *s, const ns_event *ev, ns__refset *touched,
			  uint64_t *applied)
{
	uint8_t lk[NS__LOGKEY];
	MDB_val k = { NS__LOGKEY, lk }, v;
	ns_vv_entry vv;
	int found, rc;

	if ((rc = ns__vv_get(txn, s, ev->origin, &vv, &found)) != 0)
		return rc;
	if (!found) {
		snprintf(vv.site, sizeof(vv.site), "%s", ev->site);
		vv.role = ev->role;
	}
	if (vv.quarantined)
		return NS_EQUARANTINED;
	ns__logkey(lk, ev->origin, ev->seq);
	rc = mdb_get(txn, s->log, &k, &v);
	if (rc == 0) {
		/*
		 * The same (origin, seq): the same event, or a fork. The same bytes
		 * are the same event; otherwise compare ids (the hash of the
		 * header), since either copy's payload may have been erased.
		 */
		int same = v.mv_size == ev->raw_len && memcmp(v.mv_data, ev->raw, ev->raw_len) == 0;
		if (!same) {
			ns_event *held;
			if ((rc = ns_event_decode_flags(v.mv_data, v.mv_size, NS_DECODE_TRUSTED, &held, NULL)) != 0)
				return rc == NS_ENOMEM ? rc : NS_ECORRUPT;
			same = memcmp(held->id, ev->id, NS_ID_BYTES) == 0;
			ns_event_free(held);
		}
		if (same)
			return NS_INGEST_DUPLICATE;
		rc = ns__equivocate(txn, s, &vv, v.mv_data, v.mv_size, ev->raw, ev->raw_len);
		return rc ? rc : NS_EEQUIV;
	}
	if (rc != MDB_NOTFOUND)
		return ns__mdb(rc);
	if (ev->seq == vv.seq + 1) {
		if (memcmp(ev->prev, vv.head, NS_ID_BYTES) != 0) {
			uint8_t hk[NS__LOGKEY];
			MDB_val hkv = { NS__LOGKEY, hk }, hv;
			ns__logkey(hk, ev->origin, vv.seq);
			if ((rc = mdb_get(txn, s->log, &hkv, &hv)) != 0)
				return ns__mdb(rc);
			rc = ns__equivocate(txn, s, &vv, hv.mv_data, hv.mv_size, ev->raw, ev->raw_len);
			return rc ? rc : NS_EEQUIV;
		}
		if ((rc = ns__write(txn, s, ev, touched)) != 0)
			return rc;
		vv.seq = ev->seq;
		memcpy(vv.head, ev->id, NS_ID_BYTES);
		(*applied)++;
		if ((rc = ns__drain(txn, s, &vv, touched, applied)) != 0)
			return rc;
		if (vv.quarantined)
			return NS_INGEST_APPLIED; /* drain found a fork further on */
		if ((rc = ns__vv_put(txn, s, &vv)) != 0)
			return rc;
		return NS_INGEST_APPLIED;
	}
	/* A gap: hold it, unless a different event already holds the slot. */
	rc = mdb_get(txn, s->pending, &k, &v);
	if (rc == 0) {
		uint8_t id[NS_ID_BYTES];
		ns_event *held;
		if ((rc = ns_event_decode(v.mv_data, v.mv_size, &held, NULL)) != 0)
			return rc == NS_ENOMEM ? rc : NS_ECORRUPT;
		memcpy(id, held->id, NS_ID_BYTES);
		ns_event_free(held);
		if (memcmp(id, ev->id, NS_ID_BYTES) == 0)
			return NS_INGEST_DUPLICATE;
		rc = ns__equivocate(txn, s, &vv, v.mv_data, v.mv_size, ev->raw, ev->raw_len);
		return rc ? rc : NS_EEQUIV;
	}
	if (rc != MDB_NOTFOUND)
		return ns__mdb(rc);
	v.mv_size = ev->raw_len;
	v.mv_data = ev->raw;
	if ((rc = mdb_put(txn, s->pending, &k, &v, 0)) != 0)
		return ns__mdb(rc);
	vv.held++;
	if ((rc = ns__vv_put(txn, s, &vv)) != 0)
		return rc;
	return NS_INGEST_HELD;
}

static int ns__ingest_once(ns_store *s, ns_event *const *evs, size_t n, unsigned flags, int *results)
{
	ns__refset touched = { 0 };
	uint64_t applied = 0, dups = 0, held = 0;
	MDB_txn *txn;
	int rc;

	if (s->flags & NS_STORE_RDONLY)
		return NS_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!(flags & NS_INGEST_VERIFIED) || results[i] == 0)
			results[i] = evs[i] ? ns__precheck(s, evs[i], flags) : NS_EDECODE;
	ns_diag_clear(&s->last_error);
	if ((rc = ns__txn(s, 0, &txn)) != 0) {
		ns_diag_set(&s->last_error, ns__mdb(rc), "store", "cannot begin a write: %s", mdb_strerror(rc));
		return ns__mdb(rc);
	}
	s->txn_defer_ids = (flags & NS_INGEST_DEFER_FOLD) != 0 && s->has_newids;
	s->newid_next = 0;
	for (size_t i = 0; i < n; i++) {
		if (results[i] == 0) {
			rc = ns__ingest_one(txn, s, evs[i], &touched, &applied);
			if (rc == NS_ENOMEM || rc == NS_EMAPFULL || rc == NS_ESTORE || rc == NS_ECORRUPT)
				goto abort;
			results[i] = rc;
		}
		if (results[i] == NS_INGEST_DUPLICATE)
			dups++;
		else if (results[i] == NS_INGEST_HELD)
			held++;
		else if (results[i] < 0 && (rc = ns__counter_add(txn, s, ns_reject_name(results[i]), 1)) != 0)
			goto abort;
	}
	if ((rc = ns__counter_add(txn, s, "ingested", applied)) != 0 ||
	    (rc = ns__counter_add(txn, s, "duplicates", dups)) != 0 ||
	    (rc = ns__counter_add(txn, s, "held", held)) != 0 ||
	    (rc = (flags & NS_INGEST_DEFER_FOLD) ? ns__defer(txn, s, &touched) : ns__refold(txn, s, &touched)) != 0)
		goto abort;
	s->txn_defer_ids = 0;
	rc = mdb_txn_commit(txn);
	free(touched.ref);
	if (rc != 0)
		return ns__commit_error(s, rc, &s->last_error);
	ns__warm_tail(s);
	return 0;
abort:
	s->txn_defer_ids = 0;
	mdb_txn_abort(txn);
	free(touched.ref);
	return rc;
}

int ns_store_ingest(ns_store *s, ns_event *const *evs, size_t n, unsigned flags, int *results)
{
	int *saved = NULL, rc;

	if (flags & NS_INGEST_VERIFIED) {
		/* A retry must start from the caller's pre-check results. */
		if ((saved = malloc((n ? n : 1) * sizeof(*saved))) == NULL)
			return NS_ENOMEM;
		memcpy(saved, results, n * sizeof(*saved));
	}
	for (int attempt = 0;; attempt++) {
		ns__last_mdb = 0;
		rc = ns__ingest_once(s, evs, n, flags, results);
		if (rc == NS_EMAPFULL && ns__last_mdb == MDB_MAP_FULL && attempt < 16 && ns__grow(s)) {
			if (saved)
				memcpy(results, saved, n * sizeof(*saved));
			continue;
		}
		break;
	}
	free(saved);
	return rc;
}

/* One step of ns_store_fold_pending: fold up to max pending persons. */
static int ns__fold_step(MDB_txn *txn, ns_store *s, size_t max)
{
	ns__refset set = { 0 };
	MDB_cursor *c;
	MDB_val k, v;
	int rc, g;

	if ((rc = ns__mdb(mdb_cursor_open(txn, s->dirty, &c))) != 0)
		return rc;
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0 && set.n < max && rc == 0;
	     g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		char ref[NS_REF_MAX];
		if (k.mv_size == 0 || k.mv_size >= NS_REF_MAX) {
			rc = NS_ECORRUPT;
			break;
		}
		memcpy(ref, k.mv_data, k.mv_size);
		ref[k.mv_size] = '\0';
		rc = ns__refset_add(&set, ref);
	}
	mdb_cursor_close(c);
	if (rc == 0 && g != 0 && g != MDB_NOTFOUND)
		rc = ns__mdb(g);
	/* ns__refold clears the pending mark of every ref it folds. */
	if (rc == 0)
		rc = ns__refold(txn, s, &set);
	free(set.ref);
	return rc;
}

/*
 * Deferred work of one kind (folds, the id index): with max 0 (or on a
 * read-only store) count it; else run one step in one durable transaction,
 * growing the map on MDB_MAP_FULL as ingest does. @p have is 0 when the
 * store predates the kind's database: nothing is pending.
 */
static int ns__pending(ns_store *s, int have, size_t (*count)(MDB_txn *, ns_store *),
		       int (*step)(MDB_txn *, ns_store *, size_t), size_t max, size_t *left)
{
	MDB_txn *txn;
	size_t n = 0;
	int rc;

	if (left)
		*left = 0;
	if (!have)
		return 0;
	if (max == 0 || (s->flags & NS_STORE_RDONLY)) {
		if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
			return rc;
		n = count(txn, s);
		mdb_txn_abort(txn);
		if (left)
			*left = n;
		return max == 0 || n == 0 ? 0 : NS_EINVAL;
	}
	for (int attempt = 0;; attempt++) {
		ns__last_mdb = 0;
		if ((rc = ns__mdb(ns__txn(s, 0, &txn))) != 0)
			return rc;
		if ((rc = step(txn, s, max)) != 0) {
			mdb_txn_abort(txn);
		} else {
			n = count(txn, s);
			if ((rc = mdb_txn_commit(txn)) != 0)
				rc = ns__commit_error(s, rc, &s->last_error);
		}
		if (rc == NS_EMAPFULL && ns__last_mdb == MDB_MAP_FULL && attempt < 16 && ns__grow(s))
			continue;
		break;
	}
	if (rc == 0) {
		ns__warm_tail(s);
		if (left)
			*left = n;
	}
	return rc;
}

int ns_store_index_pending(ns_store *s, size_t max, size_t *left)
{
	return ns__pending(s, s->has_newids, ns__newids_count, ns__index_step, max, left);
}

int ns_store_fold_pending(ns_store *s, size_t max, size_t *left)
{
	return ns__pending(s, s->has_dirty, ns__dirty_count, ns__fold_step, max, left);
}

/* Complete every deferred fold (before whole-store reads: digest, verify, summaries). */
static int ns__settle(ns_store *s)
{
	size_t left = 0;
	int rc;

	if (!s->has_dirty || (s->flags & NS_STORE_RDONLY))
		return 0;
	do
		rc = ns_store_fold_pending(s, 1024, &left);
	while (rc == 0 && left > 0);
	return rc;
}

/*
 * Queries.
 */

/*
 * Visit every record of @dbi in one read transaction. @fn's non-zero return
 * stops the walk and is returned; a cursor error is returned as NS_E*.
 */
typedef int (*ns__scan_fn)(void *arg, const MDB_val *k, const MDB_val *v);

static int ns__scan(ns_store *s, MDB_dbi dbi, ns__scan_fn fn, void *arg)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	int rc, g;

	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	if ((rc = ns__mdb(mdb_cursor_open(txn, dbi, &c))) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT))
		if ((rc = fn(arg, &k, &v)) != 0)
			break;
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	if (rc == 0 && g != MDB_NOTFOUND)
		rc = ns__mdb(g);
	return rc;
}

/*
 * An array built by a scan, one element per record: the callback asks
 * ns__acc_slot for room, fills the slot and counts it with a->n++.
 */
typedef struct ns__acc {
	void *arr;
	size_t n, cap;
} ns__acc;

/*
 * Room for the next element of @p a (elements of @p elem bytes; the array
 * doubles from 16), or NULL with *rc = NS_ENOMEM.
 */
static void *ns__acc_slot(ns__acc *a, size_t elem, int *rc)
{
	*rc = 0;
	if (a->n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 16;
		void *p = realloc(a->arr, ncap * elem);
		if (p == NULL) {
			*rc = NS_ENOMEM;
			return NULL;
		}
		a->arr = p;
		a->cap = ncap;
	}
	return (char *)a->arr + a->n * elem;
}

/*
 * Collect every record of @p dbi into a new array with @p fn. On failure
 * @p drop (if not NULL) releases what the elements own, the array is freed
 * and *out / *n are NULL / 0.
 */
static int ns__collect(ns_store *s, MDB_dbi dbi, ns__scan_fn fn, void (*drop)(void *arr, size_t n), void **out,
		       size_t *n)
{
	ns__acc a = { 0 };
	int rc = ns__scan(s, dbi, fn, &a);

	if (rc != 0) {
		if (drop)
			drop(a.arr, a.n);
		else
			free(a.arr);
		a.arr = NULL;
		a.n = 0;
	}
	*out = a.arr;
	*n = a.n;
	return rc;
}

static int ns__vector_cb(void *arg, const MDB_val *k, const MDB_val *v)
{
	ns__acc *a = arg;
	ns_vv_entry *e;
	int rc;

	if (k->mv_size != NS_KEY_BYTES)
		return NS_ECORRUPT;
	if ((e = ns__acc_slot(a, sizeof(*e), &rc)) == NULL || (rc = ns__vv_decode(e, k->mv_data, v)) != 0)
		return rc;
	a->n++;
	return 0;
}

int ns_store_vector(ns_store *s, ns_vv_entry **out, size_t *n)
{
	return ns__collect(s, s->vv, ns__vector_cb, NULL, (void **)out, n);
}

json_t *ns_vector_to_json(const ns_vv_entry *e, size_t n)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < n; i++) {
		char ok[2 * NS_KEY_BYTES + 1], hk[2 * NS_ID_BYTES + 1];
		ns_hex(ok, e[i].origin, NS_KEY_BYTES);
		ns_hex(hk, e[i].head, NS_ID_BYTES);
		json_t *x = json_pack("{s:s, s:s?, s:I, s:s, s:b, s:I}", "site", e[i].site, "role",
				      ns_role_name(e[i].role), "seq", (json_int_t)e[i].seq, "head", hk,
				      "quarantined", e[i].quarantined, "held", (json_int_t)e[i].held);
		if (x == NULL || json_object_set_new(o, ok, x) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

int ns_vector_from_json(const json_t *j, ns_vv_entry **out, size_t *n, ns_diag *d)
{
	const char *key;
	json_t *val;
	size_t i = 0;
	ns_vv_entry *arr;

	*out = NULL;
	*n = 0;
	if (!json_is_object(j))
		return ns_diag_set(d, NS_EVALID, "vector", "a version vector is a JSON object");
	arr = calloc(json_object_size(j) + 1, sizeof(*arr));
	if (arr == NULL)
		return NS_ENOMEM;
	json_object_foreach((json_t *)j, key, val)
	{
		json_t *seq = json_object_get(val, "seq");
		json_t *head = json_object_get(val, "head");
		if (ns_unhex(arr[i].origin, NS_KEY_BYTES, key) != 0 || !json_is_integer(seq) ||
		    json_integer_value(seq) < 0) {
			free(arr);
			return ns_diag_set(d, NS_EVALID, "vector",
					   "entry '%.70s' needs a 64-hex origin key and a seq >= 0", key);
		}
		arr[i].seq = (uint64_t)json_integer_value(seq);
		if (json_is_string(head))
			ns_unhex(arr[i].head, NS_ID_BYTES, json_string_value(head));
		i++;
	}
	*out = arr;
	*n = i;
	return 0;
}

/* Resolve @ref to its canonical ref through the alias table. */
static int ns__resolve(MDB_txn *txn, ns_store *s, const char *ref, char canon[NS_REF_MAX])
{
	MDB_val k = { strlen(ref), (void *)ref }, v;
	int rc;

	if (strlen(ref) == 0 || strlen(ref) >= NS_REF_MAX)
		return NS_ENOTFOUND;
	rc = mdb_get(txn, s->alias, &k, &v);
	if (rc != 0)
		return ns__mdb(rc);
	if (v.mv_size >= NS_REF_MAX)
		return NS_ECORRUPT;
	memcpy(canon, v.mv_data, v.mv_size);
	canon[v.mv_size] = '\0';
	return 0;
}

int ns_store_view(ns_store *s, const char *ref, char **json, size_t *len, char canonical[NS_REF_MAX])
{
	char canon[NS_REF_MAX];
	MDB_txn *txn;
	MDB_val k, v;
	int rc;

	*json = NULL;
	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	if (ns__dirty_count(txn, s) > 0 && strlen(ref) > 0 && strlen(ref) < NS_REF_MAX) {
		/* A person whose fold is deferred: fold now, from the events. */
		ns__refset comp = { 0 };
		if ((rc = ns__component(txn, s, ref, &comp)) == 0 && ns__dirty_any(txn, s, &comp)) {
			size_t n = 0;
			if ((rc = ns__fold_component(txn, s, &comp, json, &n, NULL)) == 0) {
				if (len)
					*len = n;
				if (canonical)
					snprintf(canonical, NS_REF_MAX, "%s", ns__canonical(&comp));
			}
			free(comp.ref);
			mdb_txn_abort(txn);
			return rc;
		}
		free(comp.ref);
		if (rc != 0) {
			mdb_txn_abort(txn);
			return rc;
		}
	}
	if ((rc = ns__resolve(txn, s, ref, canon)) == 0) {
		k.mv_size = strlen(canon);
		k.mv_data = canon;
		rc = ns__mdb(mdb_get(txn, s->views, &k, &v));
		if (rc == 0) {
			*json = malloc(v.mv_size + 1);
			if (*json == NULL) {
				rc = NS_ENOMEM;
			} else {
				memcpy(*json, v.mv_data, v.mv_size);
				(*json)[v.mv_size] = '\0';
				if (len)
					*len = v.mv_size;
				if (canonical)
					memcpy(canonical, canon, NS_REF_MAX);
			}
		}
	}
	mdb_txn_abort(txn);
	return rc;
}

int ns_store_digest(ns_store *s, const char *ref, uint8_t out[NS_ID_BYTES])
{
	crypto_generichash_state st;
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	int rc, g;

	if ((rc = ns__settle(s)) != 0 || (rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	crypto_generichash_init(&st, NULL, 0, NS_ID_BYTES);
	if (ref != NULL) {
		char canon[NS_REF_MAX];
		if ((rc = ns__resolve(txn, s, ref, canon)) == 0) {
			k.mv_size = strlen(canon);
			k.mv_data = canon;
			if ((rc = ns__mdb(mdb_get(txn, s->views, &k, &v))) == 0)
				crypto_generichash_update(&st, v.mv_data, v.mv_size);
		}
	} else if ((rc = ns__mdb(mdb_cursor_open(txn, s->views, &c))) == 0) {
		static const uint8_t sep = 0;
		for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
			crypto_generichash_update(&st, k.mv_data, k.mv_size);
			crypto_generichash_update(&st, &sep, 1);
			crypto_generichash_update(&st, v.mv_data, v.mv_size);
			crypto_generichash_update(&st, &sep, 1);
		}
		mdb_cursor_close(c);
		if (g != MDB_NOTFOUND)
			rc = ns__mdb(g);
	}
	mdb_txn_abort(txn);
	if (rc == 0)
		crypto_generichash_final(&st, out, NS_ID_BYTES);
	return rc;
}

/* Decode the value of a log cursor position and hand it to @cb. */
static int ns__emit(const MDB_val *v, ns_event_cb cb, void *arg)
{
	ns_event *ev;
	int rc = ns_event_decode(v->mv_data, v->mv_size, &ev, NULL);

	if (rc != 0)
		return rc == NS_ENOMEM ? rc : NS_ECORRUPT;
	rc = cb(arg, ev);
	ns_event_free(ev);
	return rc;
}

int ns_store_foreach(ns_store *s, ns_event_cb cb, void *arg)
{
	return ns_store_foreach_since(s, NULL, 0, cb, arg);
}

int ns_store_foreach_person(ns_store *s, const char *ref, ns_event_cb cb, void *arg)
{
	ns__refset rs = { 0 };
	uint8_t *keys = NULL;
	size_t n = 0;
	MDB_txn *txn;
	int rc;

	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	if ((rc = ns__component(txn, s, ref, &rs)) == 0 &&
	    (rc = ns__component_keys(txn, s, &rs, &keys, &n)) == 0 && n == 0)
		rc = NS_ENOTFOUND;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		MDB_val k = { NS__LOGKEY, keys + i * NS__SORTKEY + 8 }, v;
		if ((rc = ns__mdb(mdb_get(txn, s->log, &k, &v))) == 0)
			rc = ns__emit(&v, cb, arg);
	}
	mdb_txn_abort(txn);
	free(keys);
	free(rs.ref);
	return rc;
}

int ns_store_foreach_since(ns_store *s, const ns_vv_entry *since, size_t nsince, ns_event_cb cb,
			   void *arg)
{
	MDB_txn *txn;
	MDB_cursor *vc = NULL, *lc = NULL;
	MDB_val k, v;
	int rc, g;

	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->vv, &vc))) != 0 ||
	    (rc = ns__mdb(mdb_cursor_open(txn, s->log, &lc))) != 0)
		goto out;
	for (g = mdb_cursor_get(vc, &k, &v, MDB_FIRST); g == 0 && rc == 0;
	     g = mdb_cursor_get(vc, &k, &v, MDB_NEXT)) {
		uint8_t origin[NS_KEY_BYTES], lk[NS__LOGKEY];
		uint64_t from = 0;
		MDB_val lkv = { NS__LOGKEY, lk }, lv;
		int lg;

		if (k.mv_size != NS_KEY_BYTES) {
			rc = NS_ECORRUPT;
			break;
		}
		memcpy(origin, k.mv_data, NS_KEY_BYTES);
		for (size_t i = 0; i < nsince; i++)
			if (memcmp(since[i].origin, origin, NS_KEY_BYTES) == 0)
				from = since[i].seq;
		ns__logkey(lk, origin, from + 1);
		for (lg = mdb_cursor_get(lc, &lkv, &lv, MDB_SET_RANGE);
		     lg == 0 && rc == 0 && lkv.mv_size == NS__LOGKEY &&
		     memcmp(lkv.mv_data, origin, NS_KEY_BYTES) == 0;
		     lg = mdb_cursor_get(lc, &lkv, &lv, MDB_NEXT))
			rc = ns__emit(&lv, cb, arg);
		if (rc == 0 && lg != 0 && lg != MDB_NOTFOUND)
			rc = ns__mdb(lg);
	}
	if (rc == 0 && g != MDB_NOTFOUND)
		rc = ns__mdb(g);
out:
	if (lc)
		mdb_cursor_close(lc);
	if (vc)
		mdb_cursor_close(vc);
	mdb_txn_abort(txn);
	return rc;
}

int ns_store_read_range(ns_store *s, const uint8_t origin[NS_KEY_BYTES], uint64_t from, size_t max,
			size_t max_bytes, ns_event_cb cb, void *arg)
{
	uint8_t lk[NS__LOGKEY];
	MDB_val k = { NS__LOGKEY, lk }, v;
	MDB_txn *txn;
	MDB_cursor *c;
	size_t n = 0, bytes = 0;
	int rc, g;

	ns__logkey(lk, origin, from);
	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->log, &c))) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	for (g = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	     g == 0 && n < max && (n == 0 || bytes + v.mv_size <= max_bytes) && k.mv_size == NS__LOGKEY &&
	     memcmp(k.mv_data, origin, NS_KEY_BYTES) == 0;
	     g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if ((rc = ns__emit(&v, cb, arg)) != 0)
			break;
		n++;
		bytes += v.mv_size;
	}
	if (rc == 0 && g != 0 && g != MDB_NOTFOUND)
		rc = ns__mdb(g);
	mdb_cursor_close(c);
	mdb_txn_abort(txn);
	return rc;
}

int ns_store_count(ns_store *s, const char *name, uint64_t n)
{
	MDB_txn *txn;
	int rc;

	if ((rc = ns__mdb(ns__txn(s, 0, &txn))) != 0)
		return rc;
	if ((rc = ns__counter_add(txn, s, name, n)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return ns__mdb(mdb_txn_commit(txn));
}

int ns_store_get(ns_store *s, const uint8_t origin[NS_KEY_BYTES], uint64_t seq, uint8_t **out,
		 size_t *len)
{
	uint8_t lk[NS__LOGKEY];
	MDB_val k = { NS__LOGKEY, lk }, v;
	MDB_txn *txn;
	int rc;

	*out = NULL;
	ns__logkey(lk, origin, seq);
	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	if ((rc = ns__mdb(mdb_get(txn, s->log, &k, &v))) == 0) {
		if ((*out = malloc(v.mv_size)) == NULL) {
			rc = NS_ENOMEM;
		} else {
			memcpy(*out, v.mv_data, v.mv_size);
			*len = v.mv_size;
		}
	}
	mdb_txn_abort(txn);
	return rc;
}

/*
 * Verification.
 */

static void ns__report(ns_verify_report *r, const char *fmt, const char *a, uint64_t b)
{
	if (r->bad++ == 0)
		snprintf(r->first, sizeof(r->first), fmt, a, (unsigned long long)b);
}

/* Check the log: every event decodes, verifies, sits under its own key and chains. */
static int ns__id_cmp(const void *key, const void *entry)
{
	return memcmp(key, entry, NS_ID_BYTES);
}

/* The newids entries, sorted by id, for verify. */
static int ns__newids_load(MDB_txn *txn, ns_store *s, uint8_t **out, size_t *n)
{
	MDB_cursor *c;
	MDB_val k, v;
	size_t cap = ns__newids_count(txn, s);
	int g, rc = 0;

	*out = NULL;
	*n = 0;
	if (cap == 0)
		return 0;
	if ((*out = malloc(cap * NS__NEWID)) == NULL)
		return NS_ENOMEM;
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->newids, &c))) != 0)
		return rc;
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0 && *n < cap; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (v.mv_size != NS__NEWID) {
			rc = NS_ECORRUPT;
			break;
		}
		memcpy(*out + (*n)++ * NS__NEWID, v.mv_data, NS__NEWID);
	}
	mdb_cursor_close(c);
	if (rc == 0 && g != 0 && g != MDB_NOTFOUND)
		rc = ns__mdb(g);
	if (rc == 0)
		qsort(*out, *n, NS__NEWID, ns__newid_cmp);
	return rc;
}

static int ns__verify_log(MDB_txn *txn, ns_store *s, ns_verify_report *r)
{
	MDB_cursor *c;
	MDB_val k, v;
	uint8_t cur[NS_KEY_BYTES], prev_id[NS_ID_BYTES], *newids;
	uint64_t cur_seq = 0;
	size_t nnew, matched = 0;
	int have = 0, g, rc;

	if ((rc = ns__newids_load(txn, s, &newids, &nnew)) != 0) {
		free(newids);
		return rc;
	}
	r->unindexed = nnew;
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->log, &c))) != 0) {
		free(newids);
		return rc;
	}
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		char oh[2 * NS_KEY_BYTES + 1] = "?";
		ns_event *ev;
		r->events++;
		if (k.mv_size != NS__LOGKEY) {
			ns__report(r, "log key of bad size (%s) at entry %llu", "", r->events);
			continue;
		}
		ns_hex(oh, k.mv_data, NS_KEY_BYTES);
		uint64_t seq = ns__get_be64((const uint8_t *)k.mv_data + NS_KEY_BYTES);
		if (ns_event_decode(v.mv_data, v.mv_size, &ev, NULL) != 0) {
			ns__report(r, "origin %s seq %llu: event does not decode or its payload hash differs", oh, seq);
			have = 0;
			continue;
		}
		if (ns_event_verify(ev) != 0)
			ns__report(r, "origin %s seq %llu: signature does not verify", oh, seq);
		if (memcmp(ev->origin, k.mv_data, NS_KEY_BYTES) != 0 || ev->seq != seq)
			ns__report(r, "origin %s seq %llu: stored under the wrong key", oh, seq);
		if (!have || memcmp(cur, ev->origin, NS_KEY_BYTES) != 0) {
			memcpy(cur, ev->origin, NS_KEY_BYTES);
			cur_seq = 0;
			memset(prev_id, 0, sizeof(prev_id));
			have = 1;
		}
		if (ev->seq != cur_seq + 1)
			ns__report(r, "origin %s: gap before seq %llu", oh, seq);
		else if (memcmp(ev->prev, prev_id, NS_ID_BYTES) != 0)
			ns__report(r, "origin %s seq %llu: prev hash does not match the previous event", oh, seq);
		{
			/* In ids, or deferred in newids (or both, mid-pass). */
			MDB_val ik = { NS_ID_BYTES, ev->id }, iv;
			const uint8_t *e = nnew ? bsearch(ev->id, newids, nnew, NS__NEWID, ns__id_cmp) : NULL;
			int deferred = e && memcmp(e + NS_ID_BYTES, k.mv_data, NS__LOGKEY) == 0;
			matched += deferred;
			if (!deferred && (mdb_get(txn, s->ids, &ik, &iv) != 0 || iv.mv_size != NS__LOGKEY ||
					  memcmp(iv.mv_data, k.mv_data, NS__LOGKEY) != 0))
				ns__report(r, "origin %s seq %llu: id index does not point at the event", oh, seq);
		}
		cur_seq = ev->seq;
		memcpy(prev_id, ev->id, NS_ID_BYTES);
		ns_event_free(ev);
	}
	mdb_cursor_close(c);
	free(newids);
	if (matched != nnew)
		ns__report(r, "deferred id index%s: %llu of its entries point at no event", "", nnew - matched);
	return g == MDB_NOTFOUND ? 0 : ns__mdb(g);
}

/* Every version vector entry must name the last event of its origin's log. */
static int ns__verify_vector(MDB_txn *txn, ns_store *s, ns_verify_report *r)
{
	MDB_cursor *c;
	MDB_val k, v;
	int g, rc;

	if ((rc = ns__mdb(mdb_cursor_open(txn, s->vv, &c))) != 0)
		return rc;
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		char oh[2 * NS_KEY_BYTES + 1];
		uint8_t lk[NS__LOGKEY];
		MDB_val lkv = { NS__LOGKEY, lk }, lv;
		ns_vv_entry e;
		ns_event *ev;

		if (k.mv_size != NS_KEY_BYTES || ns__vv_decode(&e, k.mv_data, &v) != 0) {
			ns__report(r, "damaged version vector entry%s (%llu)", "", 0);
			continue;
		}
		ns_hex(oh, e.origin, NS_KEY_BYTES);
		ns__logkey(lk, e.origin, e.seq + 1);
		if (mdb_get(txn, s->log, &lkv, &lv) == 0)
			ns__report(r, "origin %s: log holds events past the version vector's seq %llu", oh,
				   e.seq);
		if (e.seq == 0)
			continue;
		ns__logkey(lk, e.origin, e.seq);
		if (mdb_get(txn, s->log, &lkv, &lv) != 0 ||
		    ns_event_decode(lv.mv_data, lv.mv_size, &ev, NULL) != 0) {
			ns__report(r, "origin %s: head event seq %llu is missing or damaged", oh, e.seq);
			continue;
		}
		if (memcmp(ev->id, e.head, NS_ID_BYTES) != 0)
			ns__report(r, "origin %s: version vector head differs from event seq %llu", oh, e.seq);
		ns_event_free(ev);
	}
	mdb_cursor_close(c);
	return g == MDB_NOTFOUND ? 0 : ns__mdb(g);
}

/* Re-fold every person and compare with the stored view. */
static int ns__verify_views(MDB_txn *txn, ns_store *s, ns_verify_report *r)
{
	MDB_cursor *c;
	MDB_val k, v;
	ns__refset rs = { 0 };
	int g, rc, dirty = ns__dirty_count(txn, s) > 0;

	if ((rc = ns__mdb(mdb_cursor_open(txn, s->views, &c))) != 0)
		return rc;
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		char ref[NS_REF_MAX], *json = NULL;
		size_t len = 0;
		r->views++;
		if (k.mv_size >= NS_REF_MAX) {
			ns__report(r, "view key too long%s (%llu)", "", r->views);
			continue;
		}
		memcpy(ref, k.mv_data, k.mv_size);
		ref[k.mv_size] = '\0';
		if ((rc = ns__component(txn, s, ref, &rs)) != 0 ||
		    (rc = ns__fold_component(txn, s, &rs, &json, &len, NULL)) != 0) {
			ns__report(r, "view of %s cannot be re-folded (%llu)", ref, 0);
			continue;
		}
		if (dirty && ns__dirty_any(txn, s, &rs))
			; /* folded fine; the stored view awaits its deferred fold */
		else if (len != v.mv_size || memcmp(json, v.mv_data, len) != 0)
			ns__report(r, "stored view of %s differs from a fresh fold (%llu events)", ref, 0);
		free(json);
	}
	mdb_cursor_close(c);
	free(rs.ref);
	r->pending = ns__dirty_count(txn, s);
	return g == MDB_NOTFOUND ? 0 : ns__mdb(g);
}

int ns_store_verify(ns_store *s, ns_verify_report *r)
{
	MDB_txn *txn;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	if ((rc = ns__verify_log(txn, s, r)) == 0 && (rc = ns__verify_vector(txn, s, r)) == 0)
		rc = ns__verify_views(txn, s, r);
	mdb_txn_abort(txn);
	if (rc != 0)
		return rc;
	return r->bad ? NS_ECORRUPT : 0;
}

static int ns__counter_cb(void *arg, const MDB_val *k, const MDB_val *v)
{
	ns__acc *a = arg;
	int rc;
	ns_counter *c = ns__acc_slot(a, sizeof(*c), &rc);

	if (c == NULL)
		return rc;
	a->n++;
	size_t l = k->mv_size < sizeof(c->name) - 1 ? k->mv_size : sizeof(c->name) - 1;
	memcpy(c->name, k->mv_data, l);
	c->name[l] = '\0';
	c->value = v->mv_size == 8 ? ns__get_be64(v->mv_data) : 0;
	return 0;
}

int ns_store_counters(ns_store *s, ns_counter **out, size_t *n)
{
	return ns__collect(s, s->counters, ns__counter_cb, NULL, (void **)out, n);
}

static uint32_t ns__get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int ns__proof_cb(void *arg, const MDB_val *k, const MDB_val *v)
{
	ns__acc *a = arg;
	const uint8_t *b = v->mv_data;
	uint32_t al, bl;
	ns_proof *p;
	int rc;

	if (v->mv_size < 8 || (al = ns__get_be32(b)) > v->mv_size - 8 ||
	    (bl = ns__get_be32(b + 4 + al)) != v->mv_size - 8 - al || k->mv_size != NS_KEY_BYTES)
		return NS_ECORRUPT;
	if ((p = ns__acc_slot(a, sizeof(*p), &rc)) == NULL)
		return rc;
	memcpy(p->origin, k->mv_data, NS_KEY_BYTES);
	p->a = malloc(al);
	p->b = malloc(bl);
	if (p->a == NULL || p->b == NULL) {
		free(p->a);
		free(p->b);
		return NS_ENOMEM;
	}
	memcpy(p->a, b + 4, al);
	memcpy(p->b, b + 8 + al, bl);
	p->alen = al;
	p->blen = bl;
	a->n++;
	return 0;
}

static void ns__proofs_drop(void *arr, size_t n)
{
	ns_proofs_free(arr, n);
}

int ns_store_proofs(ns_store *s, ns_proof **out, size_t *n)
{
	return ns__collect(s, s->equiv, ns__proof_cb, ns__proofs_drop, (void **)out, n);
}

void ns_proofs_free(ns_proof *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++) {
		free(p[i].a);
		free(p[i].b);
	}
	free(p);
}

int ns_store_add_proof(ns_store *s, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	ns_event *ea = NULL, *eb = NULL;
	ns_vv_entry vv;
	MDB_txn *txn;
	int rc, found;

	if (ns_event_decode(a, alen, &ea, NULL) != 0 || ns_event_decode(b, blen, &eb, NULL) != 0 ||
	    ns_event_verify(ea) != 0 || ns_event_verify(eb) != 0 ||
	    memcmp(ea->origin, eb->origin, NS_KEY_BYTES) != 0 ||
	    !((ea->seq == eb->seq && memcmp(ea->id, eb->id, NS_ID_BYTES) != 0) ||
	      (eb->seq == ea->seq + 1 && memcmp(eb->prev, ea->id, NS_ID_BYTES) != 0))) {
		rc = NS_EINVAL;
		goto out;
	}
	if ((rc = ns__mdb(ns__txn(s, 0, &txn))) != 0)
		goto out;
	if ((rc = ns__vv_get(txn, s, ea->origin, &vv, &found)) != 0) {
		mdb_txn_abort(txn);
		goto out;
	}
	if (!found) {
		snprintf(vv.site, sizeof(vv.site), "%s", ea->site);
		vv.role = ea->role;
	}
	if (vv.quarantined) {
		mdb_txn_abort(txn);
		rc = NS_EEXIST;
		goto out;
	}
	if ((rc = ns__equivocate(txn, s, &vv, a, alen, b, blen)) != 0) {
		mdb_txn_abort(txn);
		goto out;
	}
	rc = ns__mdb(mdb_txn_commit(txn));
out:
	ns_event_free(ea);
	ns_event_free(eb);
	return rc;
}

int ns_store_erase(ns_store *s, const uint8_t id[NS_ID_BYTES])
{
	ns__refset touched = { 0 };
	MDB_txn *txn;
	MDB_val k, lv;
	uint8_t lk[NS__LOGKEY], *erased = NULL;
	size_t elen;
	ns_event *ev = NULL;
	int rc;

	if ((rc = ns__mdb(ns__txn(s, 0, &txn))) != 0)
		return rc;
	if ((rc = ns__id_find(txn, s, id, lk)) != 0)
		goto abort;
	if ((rc = ns__load(txn, s, lk, NULL, &ev)) != 0 ||
	    (rc = ns_event_encode_erased(ev, &erased, &elen)) != 0)
		goto abort;
	k.mv_size = NS__LOGKEY;
	k.mv_data = lk;
	lv.mv_size = elen;
	lv.mv_data = erased;
	if ((rc = ns__mdb(mdb_put(txn, s->log, &k, &lv, 0))) != 0 ||
	    (rc = ns__refset_add(&touched, ev->offender)) != 0 || (rc = ns__refold(txn, s, &touched)) != 0 ||
	    (rc = ns__counter_add(txn, s, "erased", 1)) != 0)
		goto abort;
	rc = ns__mdb(mdb_txn_commit(txn));
	ns_event_free(ev);
	free(erased);
	free(touched.ref);
	return rc;
abort:
	mdb_txn_abort(txn);
	ns_event_free(ev);
	free(erased);
	free(touched.ref);
	return rc;
}

int ns_store_hold(ns_store *s, int hold)
{
	MDB_txn *txn;
	int rc;

	if ((rc = ns__mdb(ns__txn(s, 0, &txn))) != 0)
		return rc;
	if ((rc = ns__meta_put(txn, s, "hold", hold ? "1" : "0")) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return ns__mdb(mdb_txn_commit(txn));
}

int ns_store_held(ns_store *s)
{
	MDB_txn *txn;
	char hold[4] = "";

	if (ns__txn(s, MDB_RDONLY, &txn) != 0)
		return 0;
	ns__meta_get(txn, s, "hold", hold, sizeof(hold));
	mdb_txn_abort(txn);
	return strcmp(hold, "1") == 0;
}

int ns_store_rekey(ns_store *s, ns_diag *d)
{
	char path[PATH_MAX + 16], old[PATH_MAX + 64], pkhex[2 * NS_KEY_BYTES + 1], oldhex[17];
	ns_identity id;
	MDB_txn *txn = NULL;
	int rc;

	if ((rc = ns_identity_generate(&id, s->id.site, s->id.role)) != 0)
		return rc;
	ns__keypath(path, sizeof(path), s->dir);
	ns_hex(oldhex, s->id.pk, 8);
	snprintf(old, sizeof(old), "%s.old-%s", path, oldhex);
	if (link(path, old) != 0 && errno != EEXIST) {
		ns_identity_wipe(&id);
		return ns_diag_set(d, NS_EIO, "key", "cannot keep the old key as %s: %s", old, strerror(errno));
	}
	ns_hex(pkhex, id.pk, NS_KEY_BYTES);
	if ((rc = ns__mdb(ns__txn(s, 0, &txn))) != 0 || (rc = ns__meta_put(txn, s, "pk", pkhex)) != 0) {
		if (rc != 0 && txn)
			mdb_txn_abort(txn);
		ns_identity_wipe(&id);
		return rc;
	}
	/* Key file first: a crash between the two leaves a key the store refuses, never a lost key. */
	if ((rc = ns_identity_save(&id, path)) != 0) {
		mdb_txn_abort(txn);
		ns_identity_wipe(&id);
		return ns_diag_set(d, rc, "key", "cannot write %s", path);
	}
	if ((rc = ns__mdb(mdb_txn_commit(txn))) != 0) {
		ns_identity_wipe(&id);
		return rc;
	}
	ns_identity_wipe(&s->id);
	s->id = id;
	return 0;
}

/*
 * LMDB has no call for its map's address (me_mapaddr is only the
 * MDB_FIXEDMAP hint), so find the mapping of DIR/data.mdb in /proc/self/maps.
 */
static void ns__find_map(ns_store *s)
{
	char path[PATH_MAX + 16], real[PATH_MAX], line[PATH_MAX + 128];
	FILE *f;

	s->map_looked = 1;
	snprintf(path, sizeof(path), "%s/data.mdb", s->dir);
	if (realpath(path, real) == NULL || (f = fopen("/proc/self/maps", "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char *name = strchr(line, '/');
		if (name == NULL || sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		name[strcspn(name, "\n")] = '\0';
		if (strcmp(name, real) == 0 && (s->map_addr == NULL || (size_t)(hi - lo) > s->map_len)) {
			s->map_addr = (void *)lo;
			s->map_len = (size_t)(hi - lo);
		}
	}
	fclose(f);
}

/*
 * Keep the pages LMDB is about to write at the end of data.mdb cached as
 * single-page folios. Linux (6.x, ext4 and others) caches what a multi-page
 * pwritev creates in large folios, and LMDB writes newly allocated pages at
 * the end of the file in long runs; when a page inside such a folio is later
 * reused for a copy-on-write page, the whole folio is dirtied and written
 * back at the next fdatasync (measured: 12x the bytes LMDB wrote). Reading
 * the region first, through a descriptor advised POSIX_FADV_RANDOM, caches
 * it one page per folio (the file is extended sparse, so the read costs no
 * I/O and no disk space), and LMDB's writes then dirty only their own pages.
 */
#define NS_WARM_AHEAD ((uint64_t)16 << 20)
#define NS_WARM_CHUNK ((uint64_t)32 << 20)
#define NS_WARM_IO (64u << 10)

static void ns__warm_tail(ns_store *s)
{
	MDB_envinfo info;
	MDB_stat st;
	struct stat fst;
	int wfd;

	if (s->warm_fd < 0 || mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &st) != 0)
		return;
	uint64_t used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
	pthread_mutex_lock(&s->map_lock);
	uint64_t from = s->warm_end > used ? s->warm_end : used;
	uint64_t to = used + NS_WARM_AHEAD + NS_WARM_CHUNK;
	if (to > info.me_mapsize)
		to = info.me_mapsize;
	char *sink = NULL;
	/*
	 * Every failure below only leaves the optimisation undone (writes cost
	 * more, nothing else), so it is not reported.
	 */
	if (used + NS_WARM_AHEAD <= s->warm_end || from >= to || fstat(s->warm_fd, &fst) != 0 ||
	    ((uint64_t)fst.st_size < to && (mdb_env_get_fd(s->env, &wfd) != 0 || ftruncate(wfd, (off_t)to) != 0)) ||
	    (sink = malloc(NS_WARM_IO)) == NULL)
		goto out;
	for (uint64_t off = from; off < to; off += NS_WARM_IO)
		if (pread(s->warm_fd, sink, NS_WARM_IO, (off_t)off) <= 0)
			goto out;
	s->warm_end = to;
out:
	pthread_mutex_unlock(&s->map_lock);
	free(sink);
}

void ns_store_trim(ns_store *s)
{
	pthread_mutex_lock(&s->map_lock);
	if (!s->map_looked)
		ns__find_map(s);
	if (s->map_addr)
		madvise(s->map_addr, s->map_len, MADV_DONTNEED);
	pthread_mutex_unlock(&s->map_lock);
}

const char *ns_store_last_error(ns_store *s)
{
	return s->last_error.msg;
}

typedef struct ns__summary_ctx {
	ns_summary_cb cb;
	void *arg;
} ns__summary_ctx;

static int ns__summary_cb(void *arg, const MDB_val *k, const MDB_val *v)
{
	ns__summary_ctx *x = arg;
	char key[NS_REF_MAX];
	ns_fold_summary sum;

	if (k->mv_size >= NS_REF_MAX || v->mv_size != sizeof(sum))
		return NS_ECORRUPT;
	memcpy(key, k->mv_data, k->mv_size);
	key[k->mv_size] = '\0';
	memcpy(&sum, v->mv_data, sizeof(sum));
	return x->cb(x->arg, key, &sum);
}

int ns_store_summaries(ns_store *s, ns_summary_cb cb, void *arg)
{
	ns__summary_ctx x = { cb, arg };
	return ns__scan(s, s->summary, ns__summary_cb, &x);
}

int ns_store_size(ns_store *s, uint64_t *bytes)
{
	MDB_envinfo info;
	MDB_stat st;
	int rc;

	if ((rc = ns__mdb(mdb_env_info(s->env, &info))) != 0 || (rc = ns__mdb(mdb_env_stat(s->env, &st))) != 0)
		return rc;
	*bytes = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
	return 0;
}

int ns_store_stats(ns_store *s, uint64_t *persons, uint64_t *events)
{
	MDB_txn *txn;
	MDB_stat st;
	int rc;

	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	if ((rc = ns__mdb(mdb_stat(txn, s->views, &st))) == 0) {
		*persons = st.ms_entries;
		if ((rc = ns__mdb(mdb_stat(txn, s->log, &st))) == 0)
			*events = st.ms_entries;
	}
	mdb_txn_abort(txn);
	return rc;
}
