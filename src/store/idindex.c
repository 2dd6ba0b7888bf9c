/*
 * The deferred id index. A commit with NS_INGEST_DEFER_FOLD writes each
 * event's (id, log key) to newids, under a counter and so always appended
 * at the end, instead of inserting it into ids, a B-tree keyed by a hash:
 * in a large catch-up every such insert dirties a leaf page of its own, and
 * ids was most of the bytes a catch-up wrote (docs/PERFORMANCE.md).
 * ns_store_index_pending later moves the entries into ids sorted, one range
 * of ids per transaction, so that each leaf is written about once per pass.
 * Lookups by id (ns__id_find) fall back to a scan of newids meanwhile.
 *
 * This file holds that index: writing it, lookups by id, the passes of
 * ns_store_index_pending, and loading it for ns_store_verify.
 */
#define _GNU_SOURCE /* O_TMPFILE */
#include "store_int.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int ns__newid_put(MDB_txn *txn, ns_store *s, const uint8_t id[NS_ID_BYTES], const uint8_t lk[NS__LOGKEY])
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
int ns__id_find(MDB_txn *txn, ns_store *s, const uint8_t id[NS_ID_BYTES], uint8_t lk[NS__LOGKEY])
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

size_t ns__newids_count(MDB_txn *txn, ns_store *s)
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

/* The newids entries, sorted by id, for verify. */
int ns__newids_load(MDB_txn *txn, ns_store *s, uint8_t **out, size_t *n)
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

/*
 * Put @p n newids entries, sorted by id, into ids. Those past the last id
 * already there (all of them in a catch-up's first pass) are appended,
 * which spares each a search and a split of a full page; an id equal to the
 * last is put as the others are (it overwrites).
 */
static int ns__ids_put_sorted(MDB_txn *txn, ns_store *s, const uint8_t *buf, size_t n)
{
	uint8_t last[NS_ID_BYTES];
	MDB_cursor *c;
	MDB_val lk, lv;
	int rc, g, before;

	if ((rc = mdb_cursor_open(txn, s->ids, &c)) != 0)
		return ns__mdb(rc);
	g = mdb_cursor_get(c, &lk, &lv, MDB_LAST);
	if (g != 0 && g != MDB_NOTFOUND) {
		mdb_cursor_close(c);
		return ns__mdb(g);
	}
	/* ids holds NS_ID_BYTES keys; anything else is left to plain puts. */
	before = g == 0;
	if (before && lk.mv_size == NS_ID_BYTES)
		memcpy(last, lk.mv_data, NS_ID_BYTES); /* copied: the puts below may move its page */
	else if (before)
		memset(last, 0xff, sizeof(last));
	for (size_t i = 0; i < n && rc == 0; i++) {
		MDB_val ik = { NS_ID_BYTES, (void *)(buf + i * NS__NEWID) };
		MDB_val iv = { NS__LOGKEY, (void *)(buf + i * NS__NEWID + NS_ID_BYTES) };
		if (before && memcmp(ik.mv_data, last, NS_ID_BYTES) <= 0) {
			rc = mdb_put(txn, s->ids, &ik, &iv, 0);
			continue;
		}
		before = 0; /* sorted: every later id is past the last too */
		rc = mdb_cursor_put(c, &ik, &iv, MDB_APPEND);
		if (rc == MDB_KEYEXIST) /* the same id twice in the batch */
			rc = mdb_put(txn, s->ids, &ik, &iv, 0);
	}
	mdb_cursor_close(c);
	return ns__mdb(rc);
}

/*
 * Call @p fn with each newids entry (NS__NEWID bytes) whose key is at most
 * @p upto, in key order; stop at the first nonzero it returns and return
 * that. newids pages lie between the log pages written in the same
 * commits, and each fault maps its neighbours too (fault-around): the
 * mapping is dropped as the scan goes, or one pass maps half the store.
 */
static int ns__newids_scan(MDB_txn *txn, ns_store *s, uint64_t upto, int (*fn)(void *arg, const uint8_t *e),
			   void *arg)
{
	MDB_cursor *c;
	MDB_val k, v;
	size_t scanned = 0;
	int rc = 0, g;

	if ((g = mdb_cursor_open(txn, s->newids, &c)) != 0)
		return ns__mdb(g);
	for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8 || v.mv_size != NS__NEWID) {
			rc = NS_ECORRUPT;
			break;
		}
		if (++scanned % 8192 == 0)
			ns_store_trim(s);
		if (ns__get_be64(k.mv_data) > upto || (rc = fn(arg, v.mv_data)) != 0)
			break;
	}
	mdb_cursor_close(c);
	if (rc == 0 && g != 0 && g != MDB_NOTFOUND)
		rc = ns__mdb(g);
	return rc;
}

/*
 * The spool of a pass. A step moves one partition (a range of id prefixes)
 * of the entries the pass covers, and those entries lie anywhere in newids,
 * which is in arrival order: finding them by scanning newids made a pass
 * read newids once per partition, N / 32768 times for N entries (31 scans at
 * 1 M events, 306 at 10 M: quadratic). Instead the first step a handle runs
 * in a pass scans newids once and writes every entry of the partitions
 * still to do into an unnamed temporary file in the store's directory
 * (O_TMPFILE: nothing to clean up after a crash), bucketed by partition in
 * runs; each step then reads its partition's runs. The spool is derived
 * from committed newids entries up to the pass's last key, which do not
 * change until the pass ends, so a step that is retried or aborted reads
 * it again unchanged. It is used only while the pass state in meta is the
 * one this handle left (same last key, same partitions, the next part): if
 * another handle ran a step meanwhile it is rebuilt. Without a temporary
 * file (no space, a file system without O_TMPFILE) a step scans newids.
 */
struct ns__idrun {
	uint64_t at; /* first entry's index in the file */
	uint32_t n;
};
struct ns__idpart {
	struct ns__idrun *run;
	size_t n, cap;
};
struct ns__idspool {
	uint64_t upto;
	uint32_t parts, from, next; /* the pass; its first part held; the part this handle runs next */
	int fd;
	uint64_t end; /* entries written */
	struct ns__idpart *part; /* parts - from */
};

/* Nonzero: no spool, every step scans (tests compare the two ways). */
int ns__idspool_off;

/* Bytes of write buffers while spooling, whatever the number of partitions. */
#define NS__SPOOL_BUFFERS (16u << 20)

void ns__idspool_free(ns_store *s)
{
	struct ns__idspool *sp = s->idspool;

	if (sp == NULL)
		return;
	for (uint32_t p = 0; sp->part && p < sp->parts - sp->from; p++)
		free(sp->part[p].run);
	free(sp->part);
	if (sp->fd >= 0)
		close(sp->fd);
	free(sp);
	s->idspool = NULL;
}

/* The partition of the pass (of @p parts) that holds id prefix @p prefix: lo(p) <= prefix < lo(p + 1). */
static uint32_t ns__part_of(uint32_t prefix, uint32_t parts)
{
	uint32_t p = (uint32_t)((uint64_t)prefix * parts / 65536);

	while (p + 1 < parts && (uint64_t)(p + 1) * 65536 / parts <= prefix)
		p++;
	while (p > 0 && (uint64_t)p * 65536 / parts > prefix)
		p--;
	return p;
}

/* Write bucket @p p's @p n buffered entries as a run. */
static int ns__spool_flush(struct ns__idspool *sp, uint32_t p, const uint8_t *buf, uint32_t n)
{
	struct ns__idpart *pt = &sp->part[p];
	size_t len = (size_t)n * NS__NEWID;

	if (n == 0)
		return 0;
	if (pt->n == pt->cap) {
		size_t cap = pt->cap ? pt->cap * 2 : 8;
		struct ns__idrun *r = realloc(pt->run, cap * sizeof(*r));
		if (r == NULL)
			return NS_ENOMEM;
		pt->run = r;
		pt->cap = cap;
	}
	for (size_t done = 0; done < len;) {
		ssize_t w = pwrite(sp->fd, buf + done, len - done, (off_t)(sp->end * NS__NEWID + done));
		if (w <= 0)
			return NS_EIO;
		done += (size_t)w;
	}
	pt->run[pt->n++] = (struct ns__idrun){ sp->end, n };
	sp->end += n;
	return 0;
}

/* Entries being spooled: a write buffer of per entries for each partition from `from` on. */
struct ns__bucketing {
	struct ns__idspool *sp;
	uint32_t parts, from, per;
	uint32_t *fill; /* entries in each buffer */
	uint8_t *buf;
};

static int ns__bucket_one(void *arg, const uint8_t *e)
{
	struct ns__bucketing *b = arg;
	uint32_t p = ns__part_of((uint32_t)e[0] << 8 | e[1], b->parts);
	uint8_t *at;

	if (p < b->from)
		return 0;
	p -= b->from;
	at = b->buf + (size_t)p * b->per * NS__NEWID;
	memcpy(at + (size_t)b->fill[p] * NS__NEWID, e, NS__NEWID);
	if (++b->fill[p] < b->per)
		return 0;
	b->fill[p] = 0;
	return ns__spool_flush(b->sp, p, at, b->per);
}

/*
 * Spool the entries of newids up to @p upto whose partition is @p from or
 * later. Returns 0 (s->idspool set), or an error with no spool: NS_EIO if
 * no temporary file could be written (the caller scans instead).
 */
static int ns__spool_build(MDB_txn *txn, ns_store *s, uint64_t upto, uint32_t parts, uint32_t from)
{
	struct ns__idspool *sp = calloc(1, sizeof(*sp));
	uint32_t np = parts - from, per;
	struct ns__bucketing b = { sp, parts, from, 0, NULL, NULL };
	int rc = 0;

	ns__idspool_free(s);
	if (sp == NULL)
		return NS_ENOMEM;
	sp->upto = upto;
	sp->parts = parts;
	sp->from = sp->next = from;
	per = NS__SPOOL_BUFFERS / NS__NEWID / np;
	b.per = per = per < 16 ? 16 : per > 4096 ? 4096 : per;
	sp->fd = open(s->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (sp->fd < 0) {
		free(sp);
		return NS_EIO;
	}
	if ((sp->part = calloc(np, sizeof(*sp->part))) == NULL || (b.fill = calloc(np, sizeof(*b.fill))) == NULL ||
	    (b.buf = malloc((size_t)np * per * NS__NEWID)) == NULL)
		rc = NS_ENOMEM;
	if (rc == 0)
		rc = ns__newids_scan(txn, s, upto, ns__bucket_one, &b);
	for (uint32_t p = 0; p < np && rc == 0; p++)
		rc = ns__spool_flush(sp, p, b.buf + (size_t)p * per * NS__NEWID, b.fill[p]);
	free(b.buf);
	free(b.fill);
	s->idspool = sp;
	if (rc != 0)
		ns__idspool_free(s);
	return rc;
}

/* Read partition @p part from the spool into a malloc'd @p *out of @p *n entries. */
static int ns__spool_read(struct ns__idspool *sp, uint32_t part, uint8_t **out, size_t *n)
{
	const struct ns__idpart *pt = &sp->part[part - sp->from];
	size_t total = 0, at = 0;

	for (size_t r = 0; r < pt->n; r++)
		total += pt->run[r].n;
	*n = 0;
	if ((*out = malloc(total ? total * NS__NEWID : 1)) == NULL)
		return NS_ENOMEM;
	for (size_t r = 0; r < pt->n; r++) {
		size_t len = (size_t)pt->run[r].n * NS__NEWID;
		for (size_t done = 0; done < len;) {
			ssize_t got = pread(sp->fd, *out + at + done, len - done,
					    (off_t)(pt->run[r].at * NS__NEWID + done));
			if (got <= 0)
				return NS_EIO;
			done += (size_t)got;
		}
		at += len;
	}
	*n = total;
	return 0;
}

/*
 * The entries of partition @p part, from this handle's spool of the pass
 * (built if it has none for this point of the pass); 1 if there is no
 * spool to be had (the caller scans newids, which finds the same entries).
 */
static int ns__spooled(MDB_txn *txn, ns_store *s, uint64_t upto, uint32_t parts, uint32_t part, uint8_t **out,
		       size_t *n)
{
	struct ns__idspool *sp = s->idspool;

	if (ns__idspool_off)
		return 1;
	if (sp == NULL || sp->upto != upto || sp->parts != parts || sp->next != part) {
		if (ns__spool_build(txn, s, upto, parts, part) != 0)
			return 1;
		sp = s->idspool;
	}
	if (ns__spool_read(sp, part, out, n) != 0) {
		free(*out);
		*out = NULL;
		*n = 0;
		ns__idspool_free(s);
		return 1;
	}
	return 0;
}

/* The entries of one partition (id prefixes lo to hi), gathered by a scan. */
struct ns__gather {
	uint32_t lo, hi;
	uint8_t *buf;
	size_t n, cap;
};

static int ns__gather_one(void *arg, const uint8_t *e)
{
	struct ns__gather *gt = arg;
	uint32_t prefix = (uint32_t)e[0] << 8 | e[1];

	if (prefix < gt->lo || prefix >= gt->hi)
		return 0;
	if (gt->n == gt->cap) {
		size_t ncap = gt->cap ? gt->cap * 2 : 1024;
		uint8_t *nb = realloc(gt->buf, ncap * NS__NEWID);
		if (nb == NULL)
			return NS_ENOMEM;
		gt->buf = nb;
		gt->cap = ncap;
	}
	memcpy(gt->buf + gt->n++ * NS__NEWID, e, NS__NEWID);
	return 0;
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
	size_t n = 0;
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
	if ((rc = ns__spooled(txn, s, upto, parts, part, &buf, &n)) < 0)
		return rc;
	if (rc == 1) {
		/* No spool: this partition's entries from a scan of newids. */
		struct ns__gather gt = { lo, hi, NULL, 0, 0 };
		rc = ns__newids_scan(txn, s, upto, ns__gather_one, &gt);
		buf = gt.buf;
		n = gt.n;
		if (rc != 0)
			goto out;
	}
	if (n > 1)
		qsort(buf, n, NS__NEWID, ns__newid_cmp);
	if ((rc = ns__ids_put_sorted(txn, s, buf, n)) != 0)
		goto out;
	if (++part < parts) {
		if (s->idspool)
			s->idspool->next = part; /* a retry of this step finds it changed, and rebuilds */
		ns__put_be64(state, upto);
		ns__put_be64(state + 8, (uint64_t)parts << 32 | part);
		mv.mv_size = sizeof(state);
		mv.mv_data = state;
		rc = ns__mdb(mdb_put(txn, s->meta, &mk, &mv, 0));
		goto out;
	}
	/* The pass is complete: drop what it covered. */
	ns__idspool_free(s);
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

int ns_store_index_pending(ns_store *s, size_t max, size_t *left, ns_diag *d)
{
	uint64_t t0 = ns_thread_cpu_nanos();
	int rc = ns__pending(s, s->has_newids, ns__newids_count, ns__index_step, max, left, d);

	ns__cpu_charge(s, NS_CPU_INDEX, t0);
	return rc;
}
