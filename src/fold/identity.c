/*
 * The fold's identity area: who the person is.
 *
 * Handlers: person.created (name, date of birth, gender, PNC and CRO),
 * person.identifier.added, person.deceased; and the offender reference in
 * every event header, which is noted as a NOMS number or CRN.
 * View fields: noms, crn, pnc, cro, identifiers, name, dob, gender, deceased,
 * merged_from (only when a merge is active).
 *
 * Merges (person.merged / person.unmerged): the store folds both records'
 * events together while a merge is active (src/store/person.c); here the
 * removed ids are listed under merged_from instead of as identifiers (they
 * would otherwise clash with the survivor's as IDENTIFIER_MISMATCH).
 *
 * Each identifier type keeps its first value; a different later value is
 * listed too, with an IDENTIFIER_MISMATCH conflict.
 */
#include "fold_int.h"

#include <nomsync/ident.h>

#include <stdio.h>
#include <string.h>

/* The value an identifier entry stands for. */
static const char *ns__ident_value(const struct ns__ident *id)
{
	return id->canon[0] ? id->canon : id->raw;
}

/* View field and provenance key of an identifier type, NULL for others. */
static const char *ns__ident_field(const char *type)
{
	static const char *const types[] = { "NOMS", "CRN", "PNC", "CRO" };
	static const char *const fields[] = { "noms", "crn", "pnc", "cro" };

	for (int i = 0; i < 4; i++)
		if (strcmp(type, types[i]) == 0)
			return fields[i];
	return NULL;
}

/* Whether @p ref was merged away: the removed id of an active merge. */
static int ns__merged_away(const struct ns__fold *c, const char *ref)
{
	for (size_t i = 0; i < c->nmerges; i++)
		if (c->merges[i].active && strcmp(c->merges[i].removed, ref) == 0)
			return 1;
	return 0;
}

/*
 * Note an identifier given by the current event. The first value of each
 * type is kept; a different later value is listed too, with a conflict.
 */
static void ns__ident(struct ns__fold *c, const char *type, const char *value)
{
	struct ns__ident *ids, *id;
	const char *v, *field;
	char canon[16] = "";
	long kept = -1;

	if (ns__nz(type) == NULL || ns__nz(value) == NULL || ns__merged_away(c, value))
		return;
	v = strcmp(type, "PNC") == 0 && ns_is_pnc(value, canon) ? canon : value;
	for (size_t i = 0; i < c->nids; i++) {
		if (strcmp(c->ids[i].type, type) != 0)
			continue;
		if (strcmp(ns__ident_value(&c->ids[i]), v) == 0)
			return;
		if (kept < 0)
			kept = (long)i;
	}
	if ((ids = ns__grow(c, c->ids, &c->capids, c->nids, sizeof(*ids))) == NULL)
		return;
	c->ids = ids;
	id = &ids[c->nids++];
	id->type = type;
	id->raw = value;
	memcpy(id->canon, canon, sizeof(canon));
	id->ev = c->cur;
	if (kept >= 0) {
		const struct ns__ident *k = &c->ids[kept];
		ns__conflict(c, "IDENTIFIER_MISMATCH", k->ev, c->cur,
			     "two different %s identifiers: %s (from %s) and %s (from %s); the first is kept",
			     type, ns__ident_value(k), c->f[k->ev].ev->site, v, c->f[c->cur].ev->site);
	} else if ((field = ns__ident_field(type)) != NULL) {
		ns__prov(c, field);
	}
}

const char *ns__ident_get(const struct ns__fold *c, const char *type)
{
	for (size_t i = 0; i < c->nids; i++)
		if (strcmp(c->ids[i].type, type) == 0)
			return ns__ident_value(&c->ids[i]);
	return NULL;
}

void ns__ident_offender(struct ns__fold *c)
{
	const char *off = c->f[c->cur].ev->offender;

	if (ns_is_noms(off))
		ns__ident(c, "NOMS", off);
	else if (ns_is_crn(off))
		ns__ident(c, "CRN", off);
}

/* person.created: details, and the identifiers it carries. */
void ns__fold_person_created(struct ns__fold *c, const Nomsync__Payload *pl)
{
	const Nomsync__PersonCreated *p = pl->person_created;
	int32_t dob = ns__date(p->dob);

	ns__ident(c, "PNC", p->pnc);
	ns__ident(c, "CRO", p->cro);
	if (c->person_ev >= 0) {
		int surname_differs = ns__nz(p->surname) && ns__nz(c->surname) &&
				      !ns__eq_nocase(p->surname, c->surname);
		int dob_differs = dob != NS_DATE_NONE && c->dob != NS_DATE_NONE && dob != c->dob;
		if (surname_differs || dob_differs) {
			char a[11], b[11];
			ns__conflict(c, "IDENTITY_DETAILS_MISMATCH", c->person_ev, c->cur,
				     "person created twice with different details: %s born %s, then %s born %s",
				     ns__show(c->surname), ns__show_date(a, c->dob), ns__show(p->surname),
				     ns__show_date(b, dob));
		}
	}
	c->person_ev = c->cur;
	/* The later record is applied; fields it leaves empty keep their value. */
	if (ns__nz(p->surname) || ns__nz(p->forenames)) {
		if (ns__nz(p->surname))
			c->surname = p->surname;
		if (ns__nz(p->forenames))
			c->forenames = p->forenames;
		ns__prov(c, "name");
	}
	if (dob != NS_DATE_NONE) {
		c->dob = dob;
		ns__prov(c, "dob");
	}
	if (ns__nz(p->gender)) {
		c->gender = p->gender;
		ns__prov(c, "gender");
	}
}

/* person.identifier.added. */
void ns__fold_person_identifier_added(struct ns__fold *c, const Nomsync__Payload *pl)
{
	ns__ident(c, pl->person_identifier_added->identifier_type, pl->person_identifier_added->value);
}

/* The merge pair of event @p k (a person.merged or person.unmerged); *merge 1 for a merge. */
static void ns__merge_of(const struct ns__fold *c, size_t k, int *merge, const char **survivor,
			 const char **removed)
{
	const Nomsync__Payload *pl = c->f[k].ev->payload;

	*merge = pl->body_case == NOMSYNC__PAYLOAD__BODY_PERSON_MERGED;
	*survivor = *merge ? pl->person_merged->survivor : pl->person_unmerged->survivor;
	*removed = *merge ? pl->person_merged->removed : pl->person_unmerged->removed;
}

/*
 * Each pair's state is that of its last merge or unmerge in fold order, so
 * the result does not depend on arrival order. The store keeps the same
 * state (by sort key) to decide which records form one person; like it,
 * this counts every merge event that has its payload.
 */
void ns__merges_scan(struct ns__fold *c)
{
	for (size_t k = 0; k < c->n; k++) {
		const Nomsync__Payload *pl = c->f[k].ev->payload;
		const char *survivor, *removed;
		struct ns__merge *m = NULL;
		int merge;

		if (pl == NULL || (pl->body_case != NOMSYNC__PAYLOAD__BODY_PERSON_MERGED &&
				   pl->body_case != NOMSYNC__PAYLOAD__BODY_PERSON_UNMERGED))
			continue;
		ns__merge_of(c, k, &merge, &survivor, &removed);
		if (ns__nz(survivor) == NULL || ns__nz(removed) == NULL)
			continue;
		for (size_t i = 0; i < c->nmerges && m == NULL; i++)
			if (strcmp(c->merges[i].survivor, survivor) == 0 && strcmp(c->merges[i].removed, removed) == 0)
				m = &c->merges[i];
		if (m == NULL) {
			struct ns__merge *ms = ns__grow(c, c->merges, &c->capmerges, c->nmerges, sizeof(*ms));
			if (ms == NULL)
				return;
			c->merges = ms;
			m = &ms[c->nmerges++];
			m->survivor = survivor;
			m->removed = removed;
		}
		m->ev = (int)k;
		m->active = merge;
	}
}

/* Whether @p from reaches @p to along active merges (removed -> survivor) made before event @p before. */
static int ns__merge_path(const struct ns__fold *c, const char *from, const char *to, int before,
			  int depth, int *via)
{
	if (strcmp(from, to) == 0)
		return 1;
	if (depth > 64)
		return 0;
	for (size_t i = 0; i < c->nmerges; i++) {
		const struct ns__merge *m = &c->merges[i];
		if (m->active && m->ev < before && strcmp(m->removed, from) == 0 &&
		    ns__merge_path(c, m->survivor, to, before, depth + 1, via)) {
			*via = m->ev;
			return 1;
		}
	}
	return 0;
}

/*
 * person.merged / person.unmerged: the pairs were noted by ns__merges_scan.
 * A merge that is still active and would close a cycle (its survivor already
 * merged, directly or through others, into its removed id) cannot come from
 * one append (src/store/write.c refuses it), so it came by replication from
 * two hubs: flagged, deterministically, on the later merge.
 */
void ns__fold_person_merged(struct ns__fold *c, const Nomsync__Payload *pl)
{
	int merge, via = -1;
	const char *survivor, *removed;

	(void)pl;
	ns__merge_of(c, (size_t)c->cur, &merge, &survivor, &removed);
	ns__prov(c, "merged_from");
	if (!merge || !ns__merged_away(c, removed))
		return;
	for (size_t i = 0; i < c->nmerges; i++)
		if (c->merges[i].ev == c->cur && ns__merge_path(c, survivor, removed, c->cur, 0, &via)) {
			ns__conflict(c, "MERGE_CYCLE", via, c->cur,
				     "%s merged into %s, which was already merged into %s", removed, survivor,
				     removed);
			return;
		}
}

/* person.unmerged: its pair's state was noted by ns__merges_scan. */
void ns__fold_person_unmerged(struct ns__fold *c, const Nomsync__Payload *pl)
{
	ns__fold_person_merged(c, pl);
}

/* person.deceased: the date, and legal status DEAD. */
void ns__fold_person_deceased(struct ns__fold *c, const Nomsync__Payload *pl)
{
	int32_t d = ns__date(pl->person_deceased->date_of_death);

	if (c->death_ev >= 0 && d != c->deceased) {
		char a[11], b[11];
		ns__conflict(c, "DECEASED_DATE_MISMATCH", c->death_ev, c->cur,
			     "date of death recorded as %s and as %s", ns__show_date(a, c->deceased),
			     ns__show_date(b, d));
	}
	if (c->death_ev < 0)
		c->death_ev = c->cur;
	c->deceased = d;
	ns__prov(c, "deceased");
	ns__legal(c, "DEAD");
}

void ns__render_identity(struct ns__fold *c, json_t *v)
{
	json_t *name = json_null(), *ids = ns__arr(c);

	ns__set(c, v, "noms", ns__jstr(c, ns__ident_get(c, "NOMS")));
	ns__set(c, v, "crn", ns__jstr(c, ns__ident_get(c, "CRN")));
	ns__set(c, v, "pnc", ns__jstr(c, ns__ident_get(c, "PNC")));
	ns__set(c, v, "cro", ns__jstr(c, ns__ident_get(c, "CRO")));
	for (size_t i = 0; i < c->nids; i++) {
		json_t *o = ns__obj(c);
		ns__set(c, o, "type", ns__jstr(c, c->ids[i].type));
		ns__set(c, o, "value", ns__jstr(c, ns__ident_value(&c->ids[i])));
		ns__set(c, o, "event", ns__jstr(c, c->f[c->ids[i].ev].hex));
		ns__set(c, o, "site", ns__jstr(c, c->f[c->ids[i].ev].ev->site));
		ns__push(c, ids, o);
	}
	ns__set(c, v, "identifiers", ids);
	if (c->surname != NULL || c->forenames != NULL) {
		name = ns__obj(c);
		ns__set(c, name, "surname", ns__jstr(c, c->surname));
		ns__set(c, name, "forenames", ns__jstr(c, c->forenames));
	}
	ns__set(c, v, "name", name);
	ns__set(c, v, "dob", ns__jdate(c, c->dob));
	ns__set(c, v, "gender", ns__jstr(c, c->gender));
	ns__set(c, v, "deceased", ns__jdate(c, c->deceased));
	if (c->nmerges > 0) {
		json_t *from = ns__arr(c);
		for (size_t i = 0; i < c->nmerges; i++) {
			int seen = 0;
			if (!c->merges[i].active)
				continue;
			/* An id merged into two survivors is listed once. */
			for (size_t j = 0; j < i && !seen; j++)
				seen = c->merges[j].active && strcmp(c->merges[j].removed, c->merges[i].removed) == 0;
			if (!seen)
				ns__push(c, from, ns__jstr(c, c->merges[i].removed));
		}
		if (json_array_size(from) > 0)
			ns__set(c, v, "merged_from", from);
		else
			json_decref(from);
	}
}
