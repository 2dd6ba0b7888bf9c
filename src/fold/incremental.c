/*
 * Incremental re-folds (ns_fold_inc_run): a late event, one that sorts before
 * events already folded for its person, is folded from a checkpoint of the
 * fold state at or before its position instead of from the person's first
 * event.
 *
 * The object keeps the last fold's events in fold order (ns__fev, with their
 * pointers) and a copy of the state (ns__state_copy) after every
 * NS_FOLD_CHECKPOINT events. A new call orders its events (ns__fold_order),
 * finds how many leading events are the same objects as last time (p), takes
 * the last checkpoint at or before p, applies the events from there, and
 * renders as ns_fold does. The state before a position depends only on the
 * events before it, except through the two passes over every event that run
 * before any is applied (corrections and merge pairs, ns__fold_prepass): a
 * fold whose events hold a correction or a merge is therefore worked out
 * whole and keeps no checkpoint. tests/test_fold_inc.c checks the result
 * against ns_fold for random insertion points.
 */
#include "fold_int.h"

#include <stdlib.h>
#include <string.h>

struct ns__ckpt {
	size_t at; /* events applied */
	struct ns__fold st;
};

struct ns_fold_inc {
	struct ns__fev *f; /* the last fold's events in fold order */
	size_t n;
	struct ns__ckpt *cp; /* by at, ascending */
	size_t ncp, capcp;
};

ns_fold_inc *ns_fold_inc_new(void)
{
	return calloc(1, sizeof(ns_fold_inc));
}

/* Drop the checkpoints from index @p from on. */
static void ns__ckpt_drop(ns_fold_inc *fi, size_t from)
{
	for (size_t i = from; i < fi->ncp; i++)
		ns__state_free(&fi->cp[i].st);
	if (from < fi->ncp)
		fi->ncp = from;
}

/* Forget the last fold. */
static void ns__inc_reset(ns_fold_inc *fi)
{
	ns__ckpt_drop(fi, 0);
	free(fi->f);
	fi->f = NULL;
	fi->n = 0;
}

void ns_fold_inc_free(ns_fold_inc *fi)
{
	if (fi == NULL)
		return;
	ns__inc_reset(fi);
	free(fi->cp);
	free(fi);
}

/* Does the fold of these events depend on a pass over all of them: a correction or a merge. */
static int ns__needs_whole(const struct ns__fev *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const Nomsync__Payload *pl = f[i].ev->payload;
		if (pl != NULL && (pl->body_case == NOMSYNC__PAYLOAD__BODY_EVENT_CORRECTED ||
				   pl->body_case == NOMSYNC__PAYLOAD__BODY_PERSON_MERGED ||
				   pl->body_case == NOMSYNC__PAYLOAD__BODY_PERSON_UNMERGED))
			return 1;
	}
	return 0;
}

/* Keep a copy of the state after @p at events; on failure keep nothing more. */
static int ns__ckpt_add(ns_fold_inc *fi, const struct ns__fold *c, size_t at)
{
	if (fi->ncp == fi->capcp) {
		size_t cap = fi->capcp ? 2 * fi->capcp : 8;
		struct ns__ckpt *p = realloc(fi->cp, cap * sizeof(*p));
		if (p == NULL)
			return NS_ENOMEM;
		fi->cp = p;
		fi->capcp = cap;
	}
	ns__state_copy(&fi->cp[fi->ncp].st, c);
	if (fi->cp[fi->ncp].st.rc != 0) {
		ns__state_free(&fi->cp[fi->ncp].st);
		return NS_ENOMEM;
	}
	fi->cp[fi->ncp++].at = at;
	return 0;
}

int ns_fold_inc_run(ns_fold_inc *fi, ns_event *const *evs, size_t n, char **json, size_t *len,
		    ns_fold_summary *sum, ns_fold_figures *fig, size_t *reused)
{
	struct ns__fold c;
	struct ns__fev *f;
	size_t m, p = 0, from = 0, k;
	int rc, whole;

	if (reused != NULL)
		*reused = 0;
	if (json != NULL)
		*json = NULL;
	if (len != NULL)
		*len = 0;
	if (fi == NULL || json == NULL)
		return NS_EINVAL;
	if ((rc = ns__fold_order(evs, n, &f, &m)) != 0)
		return rc;
	whole = ns__needs_whole(f, m);
	/* The common start: the same event objects (hence the same pre-pass marks) as last time. */
	while (!whole && p < m && p < fi->n && fi->f[p].ev == f[p].ev)
		p++;
	for (k = 0; !whole && k < fi->ncp && fi->cp[k].at <= p; k++)
		;
	ns__ckpt_drop(fi, whole ? 0 : k);
	free(fi->f);
	fi->f = NULL;
	fi->n = 0;
	if (k > 0 && !whole) {
		ns__state_copy(&c, &fi->cp[k - 1].st);
		from = fi->cp[k - 1].at;
		c.f = f;
		c.n = m;
		if (c.rc != 0) {
			ns__inc_reset(fi);
			return ns__fold_finish(&c, json, len, sum, fig);
		}
	} else {
		ns__state_init(&c);
		c.f = f;
		c.n = m;
		if ((rc = ns__fold_prepass(&c)) != 0) {
			ns__state_free(&c);
			return rc;
		}
	}
	if (reused != NULL)
		*reused = from;
	/* Apply up to each checkpoint position, keeping a copy there. */
	for (size_t at = from; at < m && c.rc == 0;) {
		size_t next = (at / NS_FOLD_CHECKPOINT + 1) * NS_FOLD_CHECKPOINT;
		if (next > m)
			next = m;
		ns__fold_apply(&c, at, next);
		at = next;
		if (!whole && c.rc == 0 && at % NS_FOLD_CHECKPOINT == 0 && at < m &&
		    ns__ckpt_add(fi, &c, at) != 0)
			whole = 1; /* out of memory for checkpoints: fold on, keep none */
	}
	if (whole || c.rc != 0) {
		ns__ckpt_drop(fi, 0);
	} else if ((fi->f = malloc((m ? m : 1) * sizeof(*fi->f))) != NULL) {
		memcpy(fi->f, f, m * sizeof(*f));
		fi->n = m;
	} else {
		ns__ckpt_drop(fi, 0);
	}
	return ns__fold_finish(&c, json, len, sum, fig);
}
