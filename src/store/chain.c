/*
 * Chain-tip verification (issue 13, docs/PROTOCOL.md "Chain-tip
 * verification"): a contiguous run of one origin is authenticated by its
 * hash links and the signature of its last event (ns_verify_runs); the
 * events whose own signature was not checked are recorded in unsig until
 * ns_store_verify_pending checks them in the background, and are never
 * relayed, exported or taken as evidence meanwhile. A copy whose signature
 * bytes turn out to be garbage (a relay substituted them) is marked bad and
 * replaced by the first valid copy of the same event that any peer sends.
 *
 *   unsig  log key -> state (1: 0 unchecked, 1 bad), first seen (8 BE),
 *                     sender (16, NUL padded: the peer that supplied the copy)
 *   meta "sigbad"  how many unsig entries are bad (decimal), so that the
 *                  gauges need no scan
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#endif

#define NS__UNSIG (1 + 8 + NS_SITE_MAX)

enum { NS__SIG_UNCHECKED = 0, NS__SIG_BAD = 1 };

/* 1 if events @p a then @p b are consecutive in one origin's chain (b links to a). */
static int ns__links_to(const ns_event *a, const ns_event *b)
{
	return memcmp(a->origin, b->origin, NS_KEY_BYTES) == 0 && b->seq == a->seq + 1 &&
	       memcmp(b->prev, a->id, NS_ID_BYTES) == 0;
}

/* Same origin and the next seq: one candidate run, whether or not the link holds. */
static int ns__follows(const ns_event *a, const ns_event *b)
{
	return memcmp(a->origin, b->origin, NS_KEY_BYTES) == 0 && b->seq == a->seq + 1;
}

size_t ns_verify_runs(ns_event *const *evs, size_t n, int *res, uint8_t *covered)
{
	size_t verifies = 0, i = 0;

	for (size_t k = 0; k < n; k++)
		covered[k] = 0;
	while (i < n) {
		size_t j = i;
		int linked = 1, tip_ok = 0;

		if (evs[i] == NULL || res[i] != 0) {
			i++;
			continue;
		}
		/* The candidate run [i, j]: same origin, consecutive seqs, none refused yet. */
		while (j + 1 < n && evs[j + 1] != NULL && res[j + 1] == 0 && ns__follows(evs[j], evs[j + 1])) {
			linked &= ns__links_to(evs[j], evs[j + 1]);
			j++;
		}
		if (linked) {
			verifies++;
			tip_ok = ns_event_verify(evs[j]) == 0;
		}
		for (size_t k = i; k <= j; k++) {
			if (tip_ok) {
				/* The tip's signature covers its header, which hashes its prev, and so on back. */
				covered[k] = k < j;
			} else if (linked && k == j) {
				res[k] = NS_ESIG; /* the tip, checked above */
			} else {
				/* A broken link or a bad tip: each event by its own signature, as without runs. */
				verifies++;
				if (ns_event_verify(evs[k]) != 0)
					res[k] = NS_ESIG;
			}
		}
		i = j + 1;
	}
	return verifies;
}

int ns__sig_open(MDB_txn *txn, ns_store *s, int writable)
{
	int rc = mdb_dbi_open(txn, "unsig", writable ? MDB_CREATE : 0, &s->unsig);

	s->has_unsig = rc == 0;
	return rc == 0 || (rc == MDB_NOTFOUND && !writable) ? 0 : ns__mdb(rc);
}

/* The state of the event under @p lk: -1 (its signature is checked), NS__SIG_UNCHECKED or NS__SIG_BAD. */
static int ns__sig_state(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY], char *sender)
{
	MDB_val k = { NS__LOGKEY, (void *)lk }, v;

	if (!s->has_unsig || mdb_get(txn, s->unsig, &k, &v) != 0 || v.mv_size != NS__UNSIG)
		return -1;
	if (sender) {
		memcpy(sender, (const uint8_t *)v.mv_data + 9, NS_SITE_MAX);
		sender[NS_SITE_MAX - 1] = '\0';
	}
	return ((const uint8_t *)v.mv_data)[0];
}

/* Add @p delta to the count of bad entries (meta "sigbad"). */
static int ns__sig_bad_add(MDB_txn *txn, ns_store *s, int delta)
{
	char buf[24] = "0";
	long long v;

	if (ns__meta_get(txn, s, "sigbad", buf, sizeof(buf)) != 0)
		snprintf(buf, sizeof(buf), "0");
	v = strtoll(buf, NULL, 10) + delta;
	snprintf(buf, sizeof(buf), "%lld", v > 0 ? v : 0);
	return ns__meta_put(txn, s, "sigbad", buf);
}

static uint64_t ns__sig_bad_count(MDB_txn *txn, ns_store *s)
{
	char buf[24];
	return ns__meta_get(txn, s, "sigbad", buf, sizeof(buf)) == 0 ? strtoull(buf, NULL, 10) : 0;
}

static int ns__sig_put(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY], int state, uint64_t first,
		       const char *sender)
{
	uint8_t b[NS__UNSIG] = { 0 };
	MDB_val k = { NS__LOGKEY, (void *)lk }, v = { NS__UNSIG, b };

	if (!s->has_unsig)
		return NS_EINVAL; /* a read-only store is never written */
	b[0] = (uint8_t)state;
	ns__put_be64(b + 1, first);
	if (sender)
		strncpy((char *)b + 9, sender, NS_SITE_MAX - 1);
	/* Marked in log order during a catch-up: appended when after every key (as the log, write.c). */
	int rc = mdb_put(txn, s->unsig, &k, &v, MDB_APPEND);
	return ns__mdb(rc == MDB_KEYEXIST ? mdb_put(txn, s->unsig, &k, &v, 0) : rc);
}

int ns__sig_mark(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY], const char *sender)
{
	return ns__sig_put(txn, s, lk, NS__SIG_UNCHECKED, (uint64_t)time(NULL), sender);
}

int ns__sig_pending(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY])
{
	return ns__sig_state(txn, s, lk, NULL) >= 0;
}

/* Drop the mark of the event under @p lk, counting it under @p counter. */
static int ns__sig_clear(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY], const char *counter)
{
	MDB_val k = { NS__LOGKEY, (void *)lk };
	int state = ns__sig_state(txn, s, lk, NULL), rc;

	if (state < 0)
		return 0;
	if ((rc = mdb_del(txn, s->unsig, &k, NULL)) != 0)
		return ns__mdb(rc);
	if (state == NS__SIG_BAD && (rc = ns__sig_bad_add(txn, s, -1)) != 0)
		return rc;
	return ns__counter_add(txn, s, counter, 1);
}

/* Count a bad signature found on a copy @p sender supplied, by that peer too. */
static int ns__sig_count_bad(MDB_txn *txn, ns_store *s, const char *sender)
{
	char name[48];
	int rc = ns__counter_add(txn, s, "sig.bad", 1);

	if (rc == 0)
		rc = ns__sig_bad_add(txn, s, 1);

	snprintf(name, sizeof(name), "sig.bad.%s", sender && *sender ? sender : "unknown");
	return rc ? rc : ns__counter_add(txn, s, name, 1);
}

int ns__sig_checked(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY])
{
	return s->has_unsig ? ns__sig_clear(txn, s, lk, "sig.checked") : 0;
}

int ns__sig_valid_now(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY], const MDB_val *stored)
{
	ns_event *ev;
	int ok;

	if (ns__sig_state(txn, s, lk, NULL) != NS__SIG_UNCHECKED ||
	    ns__decode_stored(stored, NS_DECODE_TRUSTED, NULL, &ev) != 0)
		return 0;
	ok = ns_event_verify(ev) == 0;
	ns_event_free(ev);
	return ok;
}

int ns__sig_evidence(MDB_txn *txn, ns_store *s, const uint8_t lk[NS__LOGKEY])
{
	char sender[NS_SITE_MAX];
	int state = ns__sig_state(txn, s, lk, sender), rc;
	MDB_val k = { NS__LOGKEY, (void *)lk }, v;
	ns_event *ev;

	if (state < 0)
		return 0;
	if (state == NS__SIG_BAD)
		return NS_EAGAIN;
	if ((rc = mdb_get(txn, s->log, &k, &v)) != 0)
		return ns__mdb(rc);
	if ((rc = ns__decode_stored(&v, NS_DECODE_TRUSTED, NULL, &ev)) != 0)
		return rc == NS_ENOMEM ? rc : NS_ECORRUPT;
	rc = ns_event_verify(ev);
	ns_event_free(ev);
	if (rc == 0)
		return ns__sig_clear(txn, s, lk, "sig.checked");
	if ((rc = ns__sig_put(txn, s, lk, NS__SIG_BAD, (uint64_t)time(NULL), sender)) != 0 ||
	    (rc = ns__sig_count_bad(txn, s, sender)) != 0)
		return rc;
	return NS_EAGAIN;
}

uint64_t ns__relay_limit(MDB_txn *txn, ns_store *s, const uint8_t *origin)
{
	uint64_t revoked = ns__revoked_from(txn, s, origin), first = 0;
	uint8_t lk[NS__LOGKEY];
	MDB_val k = { NS__LOGKEY, lk }, v;
	MDB_cursor *c;

	if (s->has_unsig && mdb_cursor_open(txn, s->unsig, &c) == 0) {
		ns__logkey(lk, origin, 0);
		if (mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) == 0 && k.mv_size == NS__LOGKEY &&
		    memcmp(k.mv_data, origin, NS_KEY_BYTES) == 0)
			first = ns__get_be64((const uint8_t *)k.mv_data + NS_KEY_BYTES);
		mdb_cursor_close(c);
	}
	if (first && (!revoked || first < revoked))
		return first;
	return revoked;
}

int ns__sig_replace(MDB_txn *txn, ns_store *s, const ns_event *ev, const uint8_t lk[NS__LOGKEY],
		    const MDB_val *stored, int own_checked)
{
	int state = ns__sig_state(txn, s, lk, NULL), rc;
	uint8_t *erased = NULL;
	MDB_val k = { NS__LOGKEY, (void *)lk }, v;

	if (state < 0)
		return 0;
	if (!own_checked && (state != NS__SIG_BAD || ns_event_verify(ev) != 0))
		return 0; /* not known to be better than the copy held */
	if (stored->mv_size == ev->raw_len && memcmp(stored->mv_data, ev->raw, ev->raw_len) == 0)
		return ns__sig_clear(txn, s, lk, "sig.checked"); /* the same bytes, now checked */
	/* Keep the copy held without its payload so (erased, or incomplete) unless it completes it. */
	ns_event *held;
	if ((rc = ns__decode_stored(stored, NS_DECODE_TRUSTED, NULL, &held)) != 0)
		return rc == NS_ENOMEM ? rc : NS_ECORRUPT;
	int strip = held->payload_len == 0 && ev->payload_len > 0;
	ns_event_free(held);
	if (strip && (rc = ns_event_encode_erased(ev, &erased, &v.mv_size)) != 0)
		return rc;
	v.mv_data = strip ? erased : ev->raw;
	if (!strip)
		v.mv_size = ev->raw_len;
	rc = ns__mdb(mdb_put(txn, s->log, &k, &v, 0));
	free(erased);
	if (rc != 0)
		return rc;
	return ns__sig_clear(txn, s, lk, state == NS__SIG_BAD ? "sig.replaced" : "sig.checked");
}

/* One unsig entry taken for checking: its log key and the stored bytes, copied. */
typedef struct ns__sigjob {
	uint8_t lk[NS__LOGKEY];
	uint8_t *raw;
	size_t len;
	int ok;
} ns__sigjob;

typedef struct ns__sigslice {
	ns_store *s;
	ns__sigjob *jobs;
	size_t from, to;
} ns__sigslice;

static void *ns__sig_worker(void *arg)
{
	ns__sigslice *sl = arg;
	uint64_t t0 = ns_thread_cpu_nanos();

#ifdef __linux__
	/* Background work: the lowest CPU priority for this thread only (Linux threads have their own nice). */
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
#endif
	for (size_t i = sl->from; i < sl->to; i++) {
		MDB_val v = { sl->jobs[i].len, sl->jobs[i].raw };
		ns_event *ev = NULL;
		sl->jobs[i].ok = ns__decode_stored(&v, NS_DECODE_TRUSTED, NULL, &ev) == 0 && ns_event_verify(ev) == 0;
		ns_event_free(ev);
	}
	ns__cpu_charge(sl->s, NS_CPU_SIGCHECK, t0);
	return NULL;
}

/* Take up to @p max unchecked entries, @p origin's first if given. */
static int ns__sig_take(ns_store *s, const uint8_t *origin, size_t max, ns__sigjob **out, size_t *n)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	ns__sigjob *jobs;
	int rc, g;

	*out = NULL;
	*n = 0;
	if ((jobs = calloc(max, sizeof(*jobs))) == NULL)
		return NS_ENOMEM;
	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0) {
		free(jobs);
		return rc;
	}
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->unsig, &c))) != 0)
		goto out;
	for (int pass = origin ? 0 : 1; pass < 2 && *n < max && rc == 0; pass++) {
		uint8_t start[NS__LOGKEY];
		k.mv_size = NS__LOGKEY;
		k.mv_data = start;
		if (pass == 0)
			ns__logkey(start, origin, 0);
		g = pass == 0 ? mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(c, &k, &v, MDB_FIRST);
		for (; g == 0 && *n < max; g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
			MDB_val lv;
			if (pass == 0 && memcmp(k.mv_data, origin, NS_KEY_BYTES) != 0)
				break;
			if (pass == 1 && origin && memcmp(k.mv_data, origin, NS_KEY_BYTES) == 0)
				continue; /* taken in the first pass */
			if (k.mv_size != NS__LOGKEY || v.mv_size != NS__UNSIG ||
			    ((const uint8_t *)v.mv_data)[0] != NS__SIG_UNCHECKED)
				continue;
			if (mdb_get(txn, s->log, &k, &lv) != 0 || (jobs[*n].raw = malloc(lv.mv_size)) == NULL)
				continue;
			memcpy(jobs[*n].lk, k.mv_data, NS__LOGKEY);
			memcpy(jobs[*n].raw, lv.mv_data, lv.mv_size);
			jobs[*n].len = lv.mv_size;
			(*n)++;
		}
	}
	mdb_cursor_close(c);
out:
	mdb_txn_abort(txn);
	if (rc != 0 || *n == 0) {
		for (size_t i = 0; i < *n; i++)
			free(jobs[i].raw);
		free(jobs);
		*n = 0;
		return rc;
	}
	*out = jobs;
	return 0;
}

typedef struct ns__sig_args {
	ns__sigjob *jobs;
	size_t n;
	ns_sigcheck_report *r;
} ns__sig_args;

/* Record the results: entries still unchecked and still holding the bytes that were checked. */
static int ns__sig_record_once(ns_store *s, void *arg)
{
	const ns__sig_args *a = arg;
	MDB_txn *txn;
	int rc;

	a->r->checked = a->r->bad = 0;
	if ((rc = ns__mdb(ns__txn(s, 0, &txn))) != 0)
		return rc;
	for (size_t i = 0; i < a->n && rc == 0; i++) {
		const ns__sigjob *j = &a->jobs[i];
		MDB_val k = { NS__LOGKEY, (void *)j->lk }, lv;
		char sender[NS_SITE_MAX];
		int ok = j->ok;
		if (ns__sig_state(txn, s, j->lk, sender) != NS__SIG_UNCHECKED || mdb_get(txn, s->log, &k, &lv) != 0)
			continue; /* replaced or checked meanwhile */
		/*
		 * Erased meanwhile: check the copy held now, here. Skipped, it would
		 * leave a step that found nothing, and the daemon starts no other
		 * until something new is stored: the origin's events from it on
		 * would wait unrelayed.
		 */
		if (lv.mv_size != j->len || memcmp(lv.mv_data, j->raw, j->len) != 0)
			ok = ns__sig_valid_now(txn, s, j->lk, &lv);
		if (ok) {
			rc = ns__mdb(mdb_del(txn, s->unsig, &k, NULL)); /* unchecked, so no bad count to adjust */
			a->r->checked++;
		} else if ((rc = ns__sig_put(txn, s, j->lk, NS__SIG_BAD, (uint64_t)time(NULL), sender)) == 0) {
			rc = ns__sig_count_bad(txn, s, sender);
			a->r->bad++;
		}
	}
	if (rc == 0 && (rc = ns__counter_add(txn, s, "sig.checked", a->r->checked)) == 0)
		rc = ns__counter_add(txn, s, "sig.background", a->r->checked + a->r->bad);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return (rc = mdb_txn_commit(txn)) != 0 ? ns__commit_error(s, rc, NULL) : 0;
}

int ns_store_verify_pending(ns_store *s, const uint8_t *origin, size_t max, unsigned threads,
			    ns_sigcheck_report *r, ns_diag *d)
{
	ns__sigjob *jobs;
	size_t n;
	int rc;

	memset(r, 0, sizeof(*r));
	ns_diag_clear(d);
	if (!s->has_unsig)
		return 0;
	if (max == 0) {
		ns_sig_stats st;
		if ((rc = ns_store_sig_stats(s, &st)) == 0)
			r->left = st.pending;
		return rc;
	}
	if (s->flags & NS_STORE_RDONLY)
		return NS_EINVAL;
	if ((rc = ns__sig_take(s, origin, max, &jobs, &n)) != 0 || n == 0)
		goto count;
	if (threads == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		threads = cpus > 0 ? (unsigned)cpus : 1;
	}
	if (threads > 64)
		threads = 64;
	if (threads > n)
		threads = (unsigned)n;
	{
		pthread_t tid[64];
		ns__sigslice sl[64];
		int started[64];
		for (unsigned t = 0; t < threads; t++) {
			sl[t].s = s;
			sl[t].jobs = jobs;
			sl[t].from = n * t / threads;
			sl[t].to = n * (t + 1) / threads;
			started[t] = pthread_create(&tid[t], NULL, ns__sig_worker, &sl[t]) == 0;
			if (!started[t])
				ns__sig_worker(&sl[t]); /* no thread: check here */
		}
		for (unsigned t = 0; t < threads; t++)
			if (started[t])
				pthread_join(tid[t], NULL);
	}
	ns__sig_args a = { jobs, n, r };
	uint64_t t0 = ns_thread_cpu_nanos();
	rc = ns__retry(s, ns__sig_record_once, &a, d);
	ns__cpu_charge(s, NS_CPU_SIGCHECK, t0);
	for (size_t i = 0; i < n; i++)
		free(jobs[i].raw);
	free(jobs);
count:
	if (rc == 0) {
		ns_sig_stats st;
		if ((rc = ns_store_sig_stats(s, &st)) == 0)
			r->left = st.pending;
	}
	return rc;
}

int ns_store_sig_stats(ns_store *s, ns_sig_stats *out)
{
	MDB_txn *txn;
	MDB_stat st;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		return rc;
	{
		struct {
			const char *name;
			uint64_t *to;
		} cs[] = { { "sig.covered", &out->covered },
			   { "sig.checked", &out->checked },
			   { "sig.background", &out->background },
			   { "sig.replaced", &out->replaced } };
		for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
			MDB_val ck = { strlen(cs[i].name), (void *)cs[i].name }, cv;
			if (mdb_get(txn, s->counters, &ck, &cv) == 0 && cv.mv_size == 8)
				*cs[i].to = ns__get_be64(cv.mv_data);
		}
	}
	if (s->has_unsig && mdb_stat(txn, s->unsig, &st) == 0) {
		out->bad = ns__sig_bad_count(txn, s);
		out->pending = st.ms_entries > out->bad ? st.ms_entries - out->bad : 0;
	}
	mdb_txn_abort(txn);
	return rc;
}

int ns_store_bad_signatures(ns_store *s, size_t max, ns_bad_sig **out, size_t *n)
{
	MDB_txn *txn;
	MDB_cursor *c;
	MDB_val k, v;
	int rc, g;

	*out = NULL;
	*n = 0;
	if (!s->has_unsig || max == 0)
		return 0;
	if ((*out = calloc(max, sizeof(**out))) == NULL)
		return NS_ENOMEM;
	if ((rc = ns__mdb(ns__txn(s, MDB_RDONLY, &txn))) != 0)
		goto fail;
	if ((rc = ns__mdb(mdb_cursor_open(txn, s->unsig, &c))) == 0) {
		for (g = mdb_cursor_get(c, &k, &v, MDB_FIRST); g == 0 && *n < max;
		     g = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
			if (k.mv_size != NS__LOGKEY || v.mv_size != NS__UNSIG ||
			    ((const uint8_t *)v.mv_data)[0] != NS__SIG_BAD)
				continue;
			ns_bad_sig *b = &(*out)[(*n)++];
			memcpy(b->origin, k.mv_data, NS_KEY_BYTES);
			b->seq = ns__get_be64((const uint8_t *)k.mv_data + NS_KEY_BYTES);
			b->found = (int64_t)ns__get_be64((const uint8_t *)v.mv_data + 1);
			memcpy(b->sender, (const uint8_t *)v.mv_data + 9, NS_SITE_MAX);
			b->sender[NS_SITE_MAX - 1] = '\0';
		}
		mdb_cursor_close(c);
		if (g != 0 && g != MDB_NOTFOUND)
			rc = ns__mdb(g);
	}
	mdb_txn_abort(txn);
	if (rc == 0) {
		if (*n == 0) {
			free(*out);
			*out = NULL;
		}
		return 0;
	}
fail:
	free(*out);
	*out = NULL;
	*n = 0;
	return rc;
}
