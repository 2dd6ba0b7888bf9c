/*
 * The store's environment: opening, creating and closing it, transactions,
 * growing the map and retrying a write transaction that filled it, the meta
 * and counters databases, version vector records, and the small encodings
 * (big-endian integers, log keys, rejection counter names) every other file
 * of the store uses.
 */
#include "store_int.h"

#include <nomsync/validate.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* The last LMDB code seen by this thread, to tell a full map from a full disk. */
static __thread int ns__last_mdb;

int ns__mdb(int rc)
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

void ns__put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

uint64_t ns__get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void ns__put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t ns__get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void ns__logkey(uint8_t k[NS__LOGKEY], const uint8_t *origin, uint64_t seq)
{
	memcpy(k, origin, NS_KEY_BYTES);
	ns__put_be64(k + NS_KEY_BYTES, seq);
}

/* The hash index of @p rs: 2 x cap slots, each 0 (free) or the index of a ref + 1. */
static uint32_t *ns__refset_slots(const ns__refset *rs)
{
	return (uint32_t *)(void *)((char *)rs->ref + rs->cap * NS_REF_MAX);
}

/* FNV-1a of a ref. */
static size_t ns__refset_hash(const char *ref)
{
	uint32_t h = 2166136261u;

	for (; *ref; ref++)
		h = (h ^ (uint8_t)*ref) * 16777619u;
	return h;
}

/* Index refs [hashed, n) of @p rs (from scratch if the set was emptied or grown). */
static void ns__refset_index(ns__refset *rs, int rebuild)
{
	uint32_t *slot = ns__refset_slots(rs);
	size_t mask = 2 * rs->cap - 1;

	if (rebuild || rs->hashed > rs->n) {
		memset(slot, 0, 2 * rs->cap * sizeof(*slot));
		rs->hashed = 0;
	}
	for (; rs->hashed < rs->n; rs->hashed++) {
		size_t h = ns__refset_hash(rs->ref[rs->hashed]) & mask;
		while (slot[h] != 0)
			h = (h + 1) & mask;
		slot[h] = (uint32_t)rs->hashed + 1;
	}
}

int ns__refset_add(ns__refset *rs, const char *ref)
{
	if (rs->n > 0 && strcmp(rs->ref[rs->n - 1], ref) == 0)
		return 0; /* the usual case: a run of events names one ref */
	if (rs->cap > 0) {
		uint32_t *slot = ns__refset_slots(rs);
		size_t mask = 2 * rs->cap - 1, h = ns__refset_hash(ref) & mask;
		ns__refset_index(rs, 0);
		for (; slot[h] != 0; h = (h + 1) & mask)
			if (strcmp(rs->ref[slot[h] - 1], ref) == 0)
				return 0;
	}
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 16;
		void *p;
		if (cap > UINT32_MAX / 2 || (p = realloc(rs->ref, cap * (NS_REF_MAX + 2 * sizeof(uint32_t)))) == NULL)
			return NS_ENOMEM;
		rs->ref = p;
		rs->cap = cap;
		ns__refset_index(rs, 1);
	}
	snprintf(rs->ref[rs->n++], NS_REF_MAX, "%s", ref);
	ns__refset_index(rs, 0);
	return 0;
}

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

int ns__vv_decode(ns_vv_entry *e, const uint8_t *origin, const MDB_val *v)
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
int ns__vv_get(MDB_txn *txn, ns_store *s, const uint8_t *origin, ns_vv_entry *e, int *found)
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

int ns__vv_put(MDB_txn *txn, ns_store *s, const ns_vv_entry *e)
{
	uint8_t b[NS__VVREC];
	MDB_val k = { NS_KEY_BYTES, (void *)e->origin }, v = { NS__VVREC, b };

	ns__vv_encode(b, e);
	return ns__mdb(mdb_put(txn, s->vv, &k, &v, 0));
}

int ns__counter_add(MDB_txn *txn, ns_store *s, const char *name, uint64_t n)
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
	case NS_EHELDWINDOW:
		return "rejected.held_window";
	case NS_EHELDFULL:
		return "rejected.held_full";
	case NS_EDECODE:
	case NS_EHASH:
	case NS_EVERSION:
		return "rejected.malformed";
	default:
		return "rejected.other";
	}
}

/*
 * Set the map size (0: adopt the size another process set) and forget the
 * mapping's address, which LMDB may have moved. 1 on success.
 */
static int ns__set_mapsize(ns_store *s, size_t size)
{
	pthread_mutex_lock(&s->map_lock);
	int ok = mdb_env_set_mapsize(s->env, size) == 0;
	s->map_looked = 0;
	s->map_addr = NULL;
	pthread_mutex_unlock(&s->map_lock);
	return ok;
}

/*
 * Transactions. Another process may have grown the map: LMDB then answers
 * MDB_MAP_RESIZED and we adopt the new size (mdb_env_set_mapsize(0)).
 */
int ns__txn(ns_store *s, unsigned flags, MDB_txn **txn)
{
	int rc = mdb_txn_begin(s->env, NULL, flags, txn);
	if (rc == MDB_MAP_RESIZED && ns__set_mapsize(s, 0))
		rc = mdb_txn_begin(s->env, NULL, flags, txn);
	return rc;
}

/*
 * After MDB_MAP_FULL, double the map (up to map_max) so the caller can
 * retry. Only between transactions of this process, which is where
 * ns__retry calls it.
 */
static int ns__grow(ns_store *s)
{
	MDB_envinfo info;
	if (mdb_env_info(s->env, &info) != 0 || info.me_mapsize >= s->map_max)
		return 0;
	return ns__set_mapsize(s, info.me_mapsize * 2 > s->map_max ? s->map_max : info.me_mapsize * 2);
}

int ns__retry(ns_store *s, int (*once)(ns_store *s, void *arg), void *arg, ns_diag *d)
{
	for (int attempt = 0;; attempt++) {
		ns__last_mdb = 0;
		int rc = once(s, arg);
		/* The fold cache may hold what that transaction (not committed) read or wrote. */
		if (rc != 0)
			ns__fcache_clear(s);
		/* Only a full map is worth a retry: a full disk stays full. */
		if (rc != NS_EMAPFULL || ns__last_mdb != MDB_MAP_FULL || attempt >= 16 || !ns__grow(s))
			return rc;
		ns_diag_clear(d);
	}
}

/* A failed commit: EIO from a full disk is reported as such. */
int ns__commit_error(ns_store *s, int mrc, ns_diag *d)
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

/* One step of deferred work (ns__pending), run by ns__retry. */
typedef struct ns__step_job {
	size_t (*count)(MDB_txn *, ns_store *);
	int (*step)(MDB_txn *, ns_store *, size_t);
	size_t max, left;
	ns_diag *d;
} ns__step_job;

static int ns__step_once(ns_store *s, void *arg)
{
	ns__step_job *j = arg;
	MDB_txn *txn;
	int rc;

	if ((rc = ns__mdb(ns__txn(s, 0, &txn))) != 0)
		return rc;
	if ((rc = j->step(txn, s, j->max)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	j->left = j->count(txn, s);
	if ((rc = mdb_txn_commit(txn)) != 0)
		return ns__commit_error(s, rc, j->d);
	return 0;
}

/*
 * With max 0 (or on a read-only store) count the work; else run one step
 * in one durable transaction. Nothing is pending in a store that predates
 * the kind's database (have 0).
 */
int ns__pending(ns_store *s, int have, size_t (*count)(MDB_txn *, ns_store *),
		int (*step)(MDB_txn *, ns_store *, size_t), size_t max, size_t *left, ns_diag *d)
{
	ns__step_job j = { count, step, max, 0, d };
	MDB_txn *txn;
	int rc;

	ns_diag_clear(d);
	if (left)
		*left = 0;
	if (!have)
		return 0;
	if (max == 0 || (s->flags & NS_STORE_RDONLY)) {
		if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
			return rc;
		j.left = count(txn, s);
		mdb_txn_abort(txn);
		if (left)
			*left = j.left;
		return max == 0 || j.left == 0 ? 0 : NS_EINVAL;
	}
	if ((rc = ns__retry(s, ns__step_once, &j, d)) == 0) {
		ns__warm_tail(s);
		if (left)
			*left = j.left;
	}
	return rc;
}

int ns__open_env(ns_store *s, const char *dir, unsigned flags)
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
	mdb_env_set_maxdbs(s->env, 32);
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
		{ "erasures", &s->erasures, MDB_DUPSORT | MDB_DUPFIXED },
	};
	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		rc = mdb_dbi_open(txn, dbs[i].name, dbs[i].f | cf, dbs[i].dbi);
		if (rc == MDB_NOTFOUND &&
		    (dbs[i].dbi == &s->dirty || dbs[i].dbi == &s->newids || dbs[i].dbi == &s->erasures))
			continue; /* read-only, older store: nothing pending, no erasure event */
		if (dbs[i].dbi == &s->dirty)
			s->has_dirty = rc == 0;
		if (dbs[i].dbi == &s->newids)
			s->has_newids = rc == 0;
		if (dbs[i].dbi == &s->erasures)
			s->has_erasures = rc == 0;
		if (rc != 0) {
			mdb_txn_abort(txn);
			return rc == MDB_NOTFOUND ? NS_ENOTFOUND : ns__mdb(rc);
		}
	}
	/* Format 2's databases: created by ns__format2 (in the conversion's transaction). */
	rc = mdb_dbi_open(txn, "unknown", 0, &s->unknown);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "rejected", 0, &s->rejected);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return ns__mdb(rc);
	}
	s->has_upgrade = rc == 0;
	if ((rc = ns__trust_open(txn, s, !(flags & NS_STORE_RDONLY))) != 0 ||
	    (rc = ns__figures_open(txn, s, !(flags & NS_STORE_RDONLY))) != 0 ||
	    (rc = ns__merges_open(txn, s, !(flags & NS_STORE_RDONLY))) != 0 ||
	    (rc = ns__access_open(txn, s, !(flags & NS_STORE_RDONLY))) != 0 ||
	    (rc = ns__sig_open(txn, s, !(flags & NS_STORE_RDONLY))) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	rc = mdb_txn_commit(txn);
	return ns__mdb(rc);
}

int ns__get_str(MDB_txn *txn, MDB_dbi dbi, const char *key, char *out, size_t cap)
{
	MDB_val k = { strlen(key), (void *)key }, v;
	int rc = mdb_get(txn, dbi, &k, &v);
	if (rc != 0)
		return ns__mdb(rc);
	if (v.mv_size >= cap)
		return NS_ECORRUPT;
	memcpy(out, v.mv_data, v.mv_size);
	out[v.mv_size] = '\0';
	return 0;
}

int ns__meta_get(MDB_txn *txn, ns_store *s, const char *name, char *out, size_t cap)
{
	return ns__get_str(txn, s->meta, name, out, cap);
}

int ns__meta_put(MDB_txn *txn, ns_store *s, const char *name, const char *val)
{
	MDB_val k = { strlen(name), (void *)name }, v = { strlen(val), (void *)val };
	return ns__mdb(mdb_put(txn, s->meta, &k, &v, 0));
}

void ns__keypath(char *out, size_t cap, const char *dir)
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
		char fv[16];
		snprintf(fv, sizeof(fv), "%u", (unsigned)NS_FOLD_VERSION);
		if ((rc = ns__format2(txn, &s)) == 0 && (rc = ns__meta_put(txn, &s, "fold_version", fv)) == 0 &&
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
	if ((rc = ns_type_hide_check(d)) != 0)
		return rc;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NS_ENOMEM;
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	s->flags = flags;
	s->warm_fd = -1;
	s->lim.held_window = NS_HELD_WINDOW;
	s->lim.origin_bytes = NS_HELD_ORIGIN_BYTES;
	s->lim.sender_bytes = NS_HELD_SENDER_BYTES;
	pthread_mutex_init(&s->map_lock, NULL);
	pthread_mutex_init(&s->fcache_lock, NULL);
	s->fold_threads = 1;
	s->fcache_max = (size_t)64 << 20;
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
	/* Format 1 (before unknown and rejected) is converted by a writable open. */
	if (strcmp(fmt, "1") != 0 && strcmp(fmt, "2") != 0) {
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
	s->upgrade.to_format = NS_STORE_FORMAT;
	if (!(flags & NS_STORE_RDONLY) && (rc = ns__upgrade(s, d)) != 0)
		goto fail;
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
	ns__fcache_free(s);
	ns__idspool_free(s);
	pthread_mutex_destroy(&s->fcache_lock);
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
