/*
 * Bundle export and import (see include/nomsync/bundle.h for the format).
 *
 * Import maps the file and makes two passes: the first checks everything
 * (framing, trailer digest and signature, each event and proof), the second
 * applies. Nothing is written unless the whole bundle checks out.
 */
#include <nomsync/bundle.h>

#include "core/util.h"

#include <sodium.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NS__BATCH 1024

typedef struct ns__writer {
	FILE *out;
	crypto_generichash_state st;
	uint64_t count;
	int err;
} ns__writer;

static void ns__w(ns__writer *w, const void *p, size_t n)
{
	if (w->err || n == 0)
		return;
	if (fwrite(p, 1, n, w->out) != n)
		w->err = NS_EIO;
	crypto_generichash_update(&w->st, p, n);
}

/* Encode a varint into @b (10 bytes at most); returns its length. */
static size_t ns__varint_put(uint8_t *b, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		b[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	b[n++] = (uint8_t)v;
	return n;
}

static void ns__w_varint(ns__writer *w, uint64_t v)
{
	uint8_t b[10];
	ns__w(w, b, ns__varint_put(b, v));
}

static int ns__export_event(void *arg, const ns_event *ev)
{
	ns__writer *w = arg;
	ns__w(w, "E", 1);
	ns__w_varint(w, ev->raw_len);
	ns__w(w, ev->raw, ev->raw_len);
	w->count++;
	return w->err;
}

/* Big-endian 8 bytes, for the seal. */
static void ns__be64(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

/*
 * What a format-2 trailer's signature covers: the digest of the records and
 * every trailer field a reader reports, so none can be changed without the
 * exporter's key. The label keeps a seal from passing for any other signed
 * 32 bytes (a format-1 digest, an event id).
 */
static void ns__seal(const uint8_t digest[NS_ID_BYTES], uint64_t count, int64_t created_at,
		     const uint8_t pk[NS_KEY_BYTES], const char *site, uint8_t out[NS_ID_BYTES])
{
	static const char label[] = "nomsync bundle trailer 2"; /* hashed with its NUL */
	crypto_generichash_state st;
	uint8_t n[8];
	size_t slen = strlen(site);

	crypto_generichash_init(&st, NULL, 0, NS_ID_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)label, sizeof(label));
	crypto_generichash_update(&st, digest, NS_ID_BYTES);
	ns__be64(n, count);
	crypto_generichash_update(&st, n, sizeof(n));
	ns__be64(n, (uint64_t)created_at);
	crypto_generichash_update(&st, n, sizeof(n));
	crypto_generichash_update(&st, pk, NS_KEY_BYTES);
	ns__be64(n, slen);
	crypto_generichash_update(&st, n, sizeof(n));
	crypto_generichash_update(&st, (const uint8_t *)site, slen);
	crypto_generichash_final(&st, out, NS_ID_BYTES);
}

int ns_bundle_trailer(int version, const ns_identity *id, const uint8_t digest[NS_ID_BYTES],
		      uint64_t count, int64_t created_at, uint8_t **out, size_t *len)
{
	Nomsync__BundleTrailer t = NOMSYNC__BUNDLE_TRAILER__INIT;
	uint8_t seal[NS_ID_BYTES], sig[NS_SIG_BYTES], *b;
	size_t tlen, hl;

	*out = NULL;
	if (version == 1) {
		crypto_sign_detached(sig, NULL, digest, NS_ID_BYTES, id->sk);
	} else if (version == 2) {
		ns__seal(digest, count, created_at, id->pk, id->site, seal);
		crypto_sign_detached(sig, NULL, seal, NS_ID_BYTES, id->sk);
	} else {
		return NS_EINVAL;
	}
	t.count = count;
	t.digest.data = (uint8_t *)digest;
	t.digest.len = NS_ID_BYTES;
	t.exporter.data = (uint8_t *)id->pk;
	t.exporter.len = NS_KEY_BYTES;
	t.signature.data = sig;
	t.signature.len = sizeof(sig);
	t.site = (char *)id->site;
	t.created_at = created_at;
	tlen = nomsync__bundle_trailer__get_packed_size(&t);
	if ((b = malloc(1 + 10 + tlen)) == NULL)
		return NS_ENOMEM;
	b[0] = 'T';
	hl = 1 + ns__varint_put(b + 1, tlen);
	nomsync__bundle_trailer__pack(&t, b + hl);
	*out = b;
	*len = hl + tlen;
	return 0;
}

int ns_bundle_export(ns_store *s, const ns_vv_entry *since, size_t nsince, FILE *out,
		     uint64_t *count)
{
	uint8_t digest[NS_ID_BYTES], *tb;
	ns__writer w = { .out = out };
	ns_proof *proofs = NULL;
	size_t nproofs = 0, tlen;
	int rc;

	crypto_generichash_init(&w.st, NULL, 0, NS_ID_BYTES);
	ns__w(&w, NS_BUNDLE_MAGIC, strlen(NS_BUNDLE_MAGIC));
	if ((rc = ns_store_foreach_since(s, since, nsince, ns__export_event, &w)) != 0)
		return rc;
	if ((rc = ns_store_proofs(s, &proofs, &nproofs)) != 0)
		return rc;
	for (size_t i = 0; i < nproofs; i++) {
		ns__w(&w, "P", 1);
		ns__w_varint(&w, proofs[i].alen);
		ns__w(&w, proofs[i].a, proofs[i].alen);
		ns__w_varint(&w, proofs[i].blen);
		ns__w(&w, proofs[i].b, proofs[i].blen);
	}
	ns_proofs_free(proofs, nproofs);
	crypto_generichash_final(&w.st, digest, sizeof(digest));
	rc = ns_bundle_trailer(NS_BUNDLE_VERSION, ns_store_identity(s), digest, w.count,
			       (int64_t)time(NULL), &tb, &tlen);
	if (rc != 0)
		return rc;
	ns__w(&w, tb, tlen);
	free(tb);
	if (w.err == 0 && fflush(out) != 0)
		w.err = NS_EIO;
	if (count)
		*count = w.count;
	return w.err;
}


/* Read one length-prefixed blob at *pos. */
static int ns__r_blob(const uint8_t *p, size_t len, size_t *pos, const uint8_t **blob, size_t *blen)
{
	uint64_t n;
	if (ns__varint_read(p, len, pos, &n) != 0 || n > len - *pos)
		return -1;
	*blob = p + *pos;
	*blen = (size_t)n;
	*pos += (size_t)n;
	return 0;
}

/*
 * The trailer record's bytes @tb of a bundle of format @version whose
 * records are buf[0..at) and hold @events events: digest, signature (over
 * the seal in format 2), count and site. Fills the exporter fields of @r.
 */
static int ns__check_trailer(int version, const uint8_t *buf, size_t at, const uint8_t *tb, size_t tlen,
			     uint64_t events, ns_import_report *r, ns_diag *d)
{
	Nomsync__BundleTrailer *t;
	uint8_t digest[NS_ID_BYTES], seal[NS_ID_BYTES];
	const char *site;
	int rc = 0;

	if ((t = nomsync__bundle_trailer__unpack(NULL, tlen, tb)) == NULL)
		return ns_diag_set(d, NS_EBUNDLE, "bundle", "trailer does not decode");
	site = t->site ? t->site : "";
	crypto_generichash(digest, sizeof(digest), buf, at, NULL, 0);
	if (t->digest.len != NS_ID_BYTES || memcmp(t->digest.data, digest, NS_ID_BYTES) != 0) {
		rc = ns_diag_set(d, NS_EBUNDLE, "bundle", "digest mismatch: the bundle was altered or truncated");
	} else if (t->exporter.len != NS_KEY_BYTES || t->signature.len != NS_SIG_BYTES) {
		rc = ns_diag_set(d, NS_EBUNDLE, "bundle", "exporter signature does not verify");
	} else {
		if (version >= 2)
			ns__seal(digest, t->count, t->created_at, t->exporter.data, site, seal);
		if (crypto_sign_verify_detached(t->signature.data, version >= 2 ? seal : digest, NS_ID_BYTES,
						t->exporter.data) != 0)
			rc = ns_diag_set(d, NS_EBUNDLE, "bundle",
					 version >= 2 ? "exporter signature does not verify (it covers the "
							"trailer's site, time, count and key)"
						      : "exporter signature does not verify");
	}
	if (rc == 0 && t->count != events)
		rc = ns_diag_set(d, NS_EBUNDLE, "bundle", "trailer counts %llu events, found %llu",
				 (unsigned long long)t->count, (unsigned long long)events);
	if (rc == 0 && !ns_site_code_ok(site))
		rc = ns_diag_set(d, NS_EBUNDLE, "bundle", "trailer names no valid site code");
	if (rc == 0 && r) {
		r->events = events;
		r->version = version;
		memcpy(r->exporter_key, t->exporter.data, NS_KEY_BYTES);
		snprintf(r->exporter, sizeof(r->exporter), "%s", site);
		r->created_at = t->created_at;
	}
	nomsync__bundle_trailer__free_unpacked(t, NULL);
	return rc;
}

/* The format named by a bundle's magic (1 or 2), or NS_EBUNDLE. */
static int ns__version(const uint8_t *buf, size_t len, ns_diag *d)
{
	size_t mlen = strlen(NS_BUNDLE_MAGIC);

	if (len >= mlen && memcmp(buf, NS_BUNDLE_MAGIC, mlen) == 0)
		return NS_BUNDLE_VERSION;
	if (len >= mlen && memcmp(buf, NS_BUNDLE_MAGIC_V1, mlen) == 0)
		return 1;
	if (len >= mlen && memcmp(buf, NS_BUNDLE_MAGIC, mlen - 2) == 0 && buf[mlen - 2] >= '0' &&
	    buf[mlen - 2] <= '9' && buf[mlen - 1] == '\n')
		return ns_diag_set(d, NS_EBUNDLE, "bundle",
				   "bundle format %c is not supported (this nomsync reads formats 1 and %d)",
				   buf[mlen - 2], NS_BUNDLE_VERSION);
	return ns_diag_set(d, NS_EBUNDLE, "bundle", "not a nomsync bundle (bad magic)");
}

/* Visitor for the records of a checked bundle. */
typedef int (*ns__record_fn)(void *arg, char kind, const uint8_t *a, size_t alen, const uint8_t *b,
			     size_t blen);

/*
 * Events decoded by the check pass, waiting for their signatures to be
 * checked by runs (ns_verify_runs): one check per contiguous run of an
 * origin, each event's own signature when a link breaks or a tip fails.
 */
typedef struct ns__runbuf {
	ns_event *ev[NS__BATCH];
	size_t at[NS__BATCH]; /* byte offset of each record, for the diag */
	int res[NS__BATCH];
	uint8_t covered[NS__BATCH];
	size_t n;
} ns__runbuf;

/* Check the buffered events' signatures and empty the buffer: 0, or NS_EBUNDLE naming the first bad one. */
static int ns__runs_check(ns__runbuf *rb, ns_diag *d)
{
	int rc = 0;

	memset(rb->res, 0, rb->n * sizeof(rb->res[0]));
	ns_verify_runs(rb->ev, rb->n, rb->res, rb->covered);
	for (size_t i = 0; i < rb->n; i++) {
		if (rc == 0 && rb->res[i] != 0)
			rc = ns_diag_set(d, NS_EBUNDLE, "bundle", "event at byte %zu: signature does not verify",
					 rb->at[i]);
		ns_event_free(rb->ev[i]);
	}
	rb->n = 0;
	return rc;
}

/* Walk the records; with @fn NULL, check everything instead (signatures by runs, into @p rb). */
static int ns__walk_in(const uint8_t *buf, size_t len, ns__record_fn fn, void *arg, ns_import_report *r,
		       ns__runbuf *rb, ns_diag *d)
{
	size_t pos = strlen(NS_BUNDLE_MAGIC);
	uint64_t events = 0;
	int rc, version;

	if ((version = ns__version(buf, len, d)) < 0)
		return version;
	while (pos < len) {
		size_t at = pos;
		char kind = (char)buf[pos++];
		const uint8_t *a, *b = NULL;
		size_t alen, blen = 0;

		if (ns__r_blob(buf, len, &pos, &a, &alen) != 0)
			return ns_diag_set(d, NS_EBUNDLE, "bundle", "record at byte %zu is truncated", at);
		if (kind == 'T') {
			if (pos != len)
				return ns_diag_set(d, NS_EBUNDLE, "bundle", "bytes after the trailer at %zu", pos);
			if (fn != NULL)
				return 0;
			if ((rc = ns__runs_check(rb, d)) != 0)
				return rc;
			return ns__check_trailer(version, buf, at, a, alen, events, r, d);
		}
		if (kind == 'P' && ns__r_blob(buf, len, &pos, &b, &blen) != 0)
			return ns_diag_set(d, NS_EBUNDLE, "bundle", "proof at byte %zu is truncated", at);
		if (kind != 'E' && kind != 'P')
			return ns_diag_set(d, NS_EBUNDLE, "bundle", "unknown record kind at byte %zu", at);
		if (fn != NULL) {
			if ((rc = fn(arg, kind, a, alen, b, blen)) != 0)
				return rc;
			continue;
		}
		for (int i = 0; i < (kind == 'P' ? 2 : 1); i++) {
			ns_event *ev;
			ns_diag ed;
			const uint8_t *p = i ? b : a;
			size_t plen = i ? blen : alen;
			if ((rc = ns_event_decode(p, plen, &ev, &ed)) != 0)
				return ns_diag_set(d, NS_EBUNDLE, "bundle", "event at byte %zu: %s: %s", at,
						   ed.field, ed.msg);
			if (kind == 'E') {
				/* Signatures by runs: checked when the buffer fills, a proof comes, or at the end. */
				rb->at[rb->n] = at;
				rb->ev[rb->n++] = ev;
				if (rb->n == NS__BATCH && (rc = ns__runs_check(rb, d)) != 0)
					return rc;
				continue;
			}
			/* Both events of a proof by their own signatures: a proof is evidence. */
			rc = ns_event_verify(ev);
			ns_event_free(ev);
			if (rc != 0)
				return ns_diag_set(d, NS_EBUNDLE, "bundle",
						   "event at byte %zu: signature does not verify", at);
		}
		if (kind == 'E')
			events++;
	}
	return ns_diag_set(d, NS_EBUNDLE, "bundle", "bundle has no trailer (truncated)");
}

static int ns__walk(const uint8_t *buf, size_t len, ns__record_fn fn, void *arg, ns_import_report *r,
		    ns_diag *d)
{
	ns__runbuf *rb = NULL;
	int rc;

	if (fn == NULL && (rb = calloc(1, sizeof(*rb))) == NULL)
		return NS_ENOMEM;
	rc = ns__walk_in(buf, len, fn, arg, r, rb, d);
	if (rb) {
		for (size_t i = 0; i < rb->n; i++)
			ns_event_free(rb->ev[i]);
		free(rb);
	}
	return rc;
}

int ns_bundle_check(const uint8_t *buf, size_t len, ns_import_report *r, ns_diag *d)
{
	if (r)
		memset(r, 0, sizeof(*r));
	return ns__walk(buf, len, NULL, NULL, r, d);
}

typedef struct ns__importer {
	ns_store *s;
	ns_import_report *r;
	ns_event *batch[NS__BATCH];
	int results[NS__BATCH];
	size_t n;
} ns__importer;

static int ns__flush(ns__importer *im)
{
	int rc;

	memset(im->results, 0, sizeof(im->results));
	/* Signatures again by runs (one check per run): the store records the covered ones. */
	rc = im->n ? ns_store_ingest(im->s, im->batch, im->n, 0, im->results, NULL) : 0;

	for (size_t i = 0; i < im->n; i++) {
		if (rc == 0) {
			int x = im->results[i];
			if (x == NS_INGEST_APPLIED)
				im->r->applied++;
			else if (x == NS_INGEST_DUPLICATE)
				im->r->duplicates++;
			else if (x == NS_INGEST_HELD)
				im->r->held++;
			else if (x < 0)
				im->r->rejected++;
		}
		ns_event_free(im->batch[i]);
	}
	im->n = 0;
	return rc;
}

static int ns__import_record(void *arg, char kind, const uint8_t *a, size_t alen, const uint8_t *b,
			     size_t blen)
{
	ns__importer *im = arg;
	int rc;

	if (kind == 'P') {
		/* Records apply in file order: the events before a proof go first. */
		if ((rc = ns__flush(im)) != 0)
			return rc;
		rc = ns_store_add_proof(im->s, a, alen, b, blen);
		if (rc == 0)
			im->r->proofs++;
		return rc == NS_EEXIST || rc == NS_EINVAL ? 0 : rc;
	}
	if ((rc = ns_event_decode(a, alen, &im->batch[im->n], NULL)) != 0)
		return rc;
	if (++im->n == NS__BATCH)
		return ns__flush(im);
	return 0;
}

int ns_bundle_import(ns_store *s, const char *path, ns_import_report *r, ns_diag *d)
{
	ns__importer *im;
	struct stat st;
	uint8_t *map;
	int fd, rc;

	memset(r, 0, sizeof(*r));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ns_diag_set(d, NS_EIO, "bundle", "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || st.st_size == 0) {
		close(fd);
		return ns_diag_set(d, NS_EBUNDLE, "bundle", "%s is empty", path);
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return ns_diag_set(d, NS_EIO, "bundle", "cannot map %s: %s", path, strerror(errno));
	rc = ns_bundle_check(map, (size_t)st.st_size, r, d);
	if (rc == 0) {
		im = calloc(1, sizeof(*im));
		if (im == NULL) {
			rc = NS_ENOMEM;
		} else {
			im->s = s;
			im->r = r;
			rc = ns__walk(map, (size_t)st.st_size, ns__import_record, im, NULL, d);
			int frc = ns__flush(im);
			if (rc == 0)
				rc = frc;
			free(im);
			if (rc != 0)
				ns_diag_set(d, rc, "bundle", "import stopped: %s", ns_strerror(rc));
		}
	}
	munmap(map, (size_t)st.st_size);
	return rc;
}
