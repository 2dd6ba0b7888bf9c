/*
 * Limited-access offenders (docs/DOMAIN.md section 9.3): access.restricted
 * and access.lifted, and the view key "access".
 *
 * A list is kept per (mode, offender ref of the event, site): a site's
 * access.restricted replaces the list it recorded earlier for that mode and
 * ref, and access.lifted of a mode ends every list of that mode recorded
 * under its ref before it (from any site). Lists still standing at the end
 * combine strictly: RESTRICTION lists are intersected and EXCLUSION lists
 * joined, so neither two sites that restricted without seeing each other
 * nor two records joined by a merge can widen who may read; lists of one
 * mode that name different users are a conflict (ACCESS_LISTS_DIFFER) for a
 * person to resolve, by lifting and restricting again.
 *
 * The view gets "access": one entry per mode in force, EXCLUSION before
 * RESTRICTION: {mode, users (the combination, sorted), reason, since,
 * event} of the latest standing list in fold order; no key when neither is.
 */
#include "fold_int.h"

#include <stdlib.h>
#include <string.h>

static const char *const ns__modes[] = { "EXCLUSION", "RESTRICTION" };

void ns__fold_access_restricted(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__AccessRestricted *p = pl->access_restricted;
	const ns_event *ev = c->f[c->cur].ev;
	struct ns__alist *l;

	ns__prov(c, "access");
	for (size_t i = 0; i < c->nalists; i++) {
		l = &c->alists[i];
		if (ns__eq(l->mode, p->mode) && strcmp(l->ref, ev->offender) == 0 &&
		    strcmp(l->site, ev->site) == 0) {
			l->p = p;
			l->ev = c->cur;
			return;
		}
	}
	if ((l = ns__grow(c, c->alists, &c->capalists, c->nalists, sizeof(*l))) == NULL)
		return;
	c->alists = l;
	c->alists[c->nalists++] = (struct ns__alist){ p->mode, ev->offender, ev->site, p, c->cur };
}

void ns__fold_access_lifted(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__AccessLifted *p = pl->access_lifted;
	const ns_event *ev = c->f[c->cur].ev;
	size_t k = 0;

	ns__prov(c, "access");
	for (size_t i = 0; i < c->nalists; i++)
		if (!ns__eq(c->alists[i].mode, p->mode) || strcmp(c->alists[i].ref, ev->offender) != 0)
			c->alists[k++] = c->alists[i];
	c->nalists = k;
}

static int ns__cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Is @p user on list @p l. */
static int ns__listed(const struct ns__alist *l, const char *user)
{
	for (size_t i = 0; i < l->p->n_users; i++)
		if (ns__eq(l->p->users[i], user))
			return 1;
	return 0;
}

/* Do two lists name the same users (each list's users are distinct: validation). */
static int ns__same_users(const struct ns__alist *a, const struct ns__alist *b)
{
	for (size_t i = 0; i < a->p->n_users; i++)
		if (!ns__listed(b, a->p->users[i]))
			return 0;
	for (size_t i = 0; i < b->p->n_users; i++)
		if (!ns__listed(a, b->p->users[i]))
			return 0;
	return 1;
}

/*
 * The users of the standing lists @p ls (@p n of them, one mode) combined:
 * their intersection (@p meet) or union, sorted, without repeats, in a
 * malloc'd array of @p *count pointers into the events (NULL with c->rc set
 * on failure; NULL and 0 for none).
 */
static const char **ns__combine(struct ns__fold *c, struct ns__alist *const *ls, size_t n, int meet,
				size_t *count)
{
	size_t total = 0, k = 0;
	const char **u;

	*count = 0;
	for (size_t i = 0; i < n; i++)
		total += ls[i]->p->n_users;
	if (total == 0)
		return NULL;
	if ((u = malloc(total * sizeof(*u))) == NULL) {
		c->rc = NS_ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < ls[i]->p->n_users; j++) {
			const char *user = ls[i]->p->users[j];
			int keep = user != NULL;
			for (size_t o = 0; meet && keep && o < n; o++)
				keep = ns__listed(ls[o], user);
			if (keep)
				u[k++] = user;
		}
	if (k > 0)
		qsort((void *)u, k, sizeof(*u), ns__cmp_str);
	for (size_t i = 0; i < k; i++)
		if (*count == 0 || strcmp(u[*count - 1], u[i]) != 0)
			u[(*count)++] = u[i];
	return u;
}

/* Fill the caller's ns_access for one mode from its combined users. */
static void ns__access_out(ns_access *a, int restriction, const char *const *users, size_t n)
{
	if (restriction) {
		if (a->restricted)
			return; /* already nobody: the exclusion (rendered first) overflowed */
		a->restricted = 1;
		for (size_t i = 0; i < n && a->nallow < NS_ACCESS_MAX_USERS; i++)
			/* A longer one cannot be a user id: never allowed. */
			if (strlen(users[i]) < sizeof(a->allow[0]))
				strcpy(a->allow[a->nallow++], users[i]);
		return;
	}
	a->excluded = 1;
	for (size_t i = 0; i < n; i++) {
		if (a->ndeny == NS_ACCESS_MAX_USERS || strlen(users[i]) >= sizeof(a->deny[0])) {
			/* Cannot hold the whole exclusion: nobody may read (fold.h). */
			a->restricted = 1;
			a->nallow = 0;
			return;
		}
		strcpy(a->deny[a->ndeny++], users[i]);
	}
}

/* One mode's entry of "access", its conflicts and its part of the access state. */
static void ns__render_mode(struct ns__fold *c, json_t *arr, int restriction, struct ns__alist **ls,
			    size_t n)
{
	struct ns__alist *last = ls[0];
	const char **users;
	size_t nusers;
	json_t *o, *ju;
	char when[21];

	for (size_t i = 1; i < n; i++)
		if (ls[i]->ev > last->ev)
			last = ls[i];
	for (size_t i = 0; i < n; i++)
		if (ls[i] != last && !ns__same_users(ls[i], last))
			ns__conflict(c, "ACCESS_LISTS_DIFFER", ls[i]->ev, last->ev,
				     "%s lists of %s from %s and of %s from %s name different users; the %s "
				     "holds until one is lifted",
				     ns__modes[restriction], ls[i]->ref, ls[i]->site, last->ref, last->site,
				     restriction ? "intersection" : "union");
	users = ns__combine(c, ls, n, restriction, &nusers);
	if (c->rc != 0)
		return;
	o = ns__obj(c);
	ju = ns__arr(c);
	for (size_t i = 0; i < nusers; i++)
		ns__push(c, ju, ns__jstr(c, users[i]));
	ns_time_format(when, c->f[last->ev].ev->occurred_at);
	ns__set(c, o, "mode", ns__jstr(c, ns__modes[restriction]));
	ns__set(c, o, "users", ju);
	ns__set(c, o, "reason", ns__jstr(c, last->p->reason));
	ns__set(c, o, "since", ns__jstr(c, when));
	ns__set(c, o, "event", ns__jstr(c, c->f[last->ev].hex));
	ns__push(c, arr, o);
	c->restricted = 1;
	if (c->access != NULL)
		ns__access_out(c->access, restriction, users, nusers);
	free((void *)users);
}

void ns__render_access(struct ns__fold *c, json_t *v)
{
	struct ns__alist **ls;
	json_t *arr;

	if (c->access != NULL)
		memset(c->access, 0, sizeof(*c->access));
	if (c->nalists == 0)
		return;
	if ((ls = malloc(c->nalists * sizeof(*ls))) == NULL) {
		c->rc = NS_ENOMEM;
		return;
	}
	arr = ns__arr(c);
	for (int m = 0; m < 2 && c->rc == 0; m++) {
		size_t n = 0;
		for (size_t i = 0; i < c->nalists; i++)
			if (ns__eq(c->alists[i].mode, ns__modes[m]))
				ls[n++] = &c->alists[i];
		if (n > 0)
			ns__render_mode(c, arr, m, ls, n);
	}
	free(ls);
	if (json_array_size(arr) > 0)
		ns__set(c, v, "access", arr);
	else
		json_decref(arr);
}

int ns_access_allows(const ns_access *a, const char *user)
{
	int listed = 0;

	if (a == NULL || (!a->restricted && !a->excluded))
		return 1;
	if (user == NULL || user[0] == '\0')
		return 0;
	for (size_t i = 0; a->restricted && i < a->nallow && i < NS_ACCESS_MAX_USERS && !listed; i++)
		listed = strcmp(a->allow[i], user) == 0;
	if (a->restricted && !listed)
		return 0;
	for (size_t i = 0; a->excluded && i < a->ndeny && i < NS_ACCESS_MAX_USERS; i++)
		if (strcmp(a->deny[i], user) == 0)
			return 0;
	return 1;
}
