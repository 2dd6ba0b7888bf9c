/*
 * The fold: one person's signed events -> the offender view (canonical JSON).
 *
 * ns_fold sorts a copy of the pointer array into the total order
 * (occurred_at, origin key bytes, seq, then event id so that even an origin
 * that equivocated gives one order), drops repeated ids, and then works in
 * three passes:
 *
 *   1. corrections: an event.corrected withdraws its target when it comes
 *      from the target's own origin or from a hub. A correction can itself
 *      be withdrawn, so "withdrawn" is worked out recursively, which makes
 *      the result independent of the order corrections are looked at.
 *   2. apply: every event that is neither withdrawn nor erased updates the
 *      state below, in fold order. Inconsistent facts become conflicts that
 *      name every event involved; the event is still applied, except where
 *      the first value is kept (identifiers, a sentence id imposed twice).
 *   3. render: release dates are computed from the final adjustments, and
 *      the state is written as jansson JSON dumped compact with sorted keys.
 *
 * Strings in the state point into the events' payloads, which outlive the
 * call. Nothing here reads a clock, a locale or a global: the same set of
 * events gives the same bytes.
 */
#include <nomsync/date.h>
#include <nomsync/fold.h>

#include <jansson.h>

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS__HEXLEN (2 * NS_ID_BYTES + 1)
#define NS__DAY_LIMIT 100000000 /* days either side of 1970 kept for instants */
#define NS__MAX_YEARS 1000      /* longest term component shown as a length */
#define NS__MAX_MONTHS 12000
#define NS__MAX_DAYS 400000

/* Custody states, as NOMIS shows them. */
enum {
	NS__NEVER = 0, /* never received into custody */
	NS__IN,        /* ACTIVE IN */
	NS__OUT,       /* ACTIVE OUT: at court or on temporary absence */
	NS__TRN,       /* ACTIVE TRN: in transit between establishments */
	NS__INACTIVE   /* INACTIVE OUT: released */
};

static const char *const ns__status_names[] = { NULL, "ACTIVE IN", "ACTIVE OUT", "ACTIVE TRN",
						"INACTIVE OUT" };
static const char *const ns__inout_names[] = { NULL, "IN", "OUT", "TRN", "OUT" };

/* One distinct event, in fold order. */
struct ns__fev {
	const ns_event *ev;
	char hex[NS__HEXLEN];
	int target;   /* event.corrected with a known target: its index, else -1 */
	int targeted; /* some correction names this event */
	int state;    /* withdrawal worked out: 0 not yet, 1 in progress, 2 done */
	int voided;
};

/* An identifier value and the first event that gave it. */
struct ns__ident {
	const char *type;
	const char *raw;
	char canon[16]; /* canonical PNC long form, "" if raw is used */
	int ev;
};

struct ns__sentence {
	const Nomsync__SentenceImposed *p;
	int ev;
	int quashed;
	int32_t date;
	int has_rd;
	ns_release_dates rd;
};

struct ns__alert {
	const char *type, *code;
	int32_t from, to;
	int active;
};

struct ns__programme {
	const char *code, *setting, *status;
	int32_t referred, completed;
};

struct ns__registration {
	const char *type;
	int32_t date;
	int active;
};

/* A movement in or out of a prison; strings point into the events. */
struct ns__move {
	const char *type, *reason, *from, *to, *at;
	int32_t date;
	int ev;
};

/* A view field and the event (fold index) that last set it. */
struct ns__provrec {
	const char *field;
	int ev;
};

/* The fold state. */
struct ns__fold {
	int rc; /* first failure (NS_ENOMEM), sticky */
	struct ns__fev *f;
	size_t n;
	int cur;       /* index of the event being applied */
	int32_t today; /* its occurred_at as a day number */

	struct ns__ident *ids;
	size_t nids, capids;
	const char *surname, *forenames, *gender;
	int32_t dob;
	int person_ev; /* the person.created that set the details, -1 */

	int custody;
	const char *prison, *last_prison;
	int cust_ev; /* event that produced the current custody state, -1 */
	int32_t reception;
	struct ns__move *moves; /* in fold order; rendered once */
	size_t nmoves, capmoves;

	const char *legal;
	int32_t deceased;
	int death_ev;
	int recall, recall_open, recall_ev;
	const char *recall_type;

	const Nomsync__Offence **offences;
	size_t noffences, capoffences;
	int32_t verdict, first_offence;

	struct ns__sentence *sent;
	size_t nsent, capsent;
	ns_adjustments adj;

	const Nomsync__ManagerPomAllocated *pom;
	const Nomsync__ManagerComAllocated *com;
	const char *handover; /* responsible named by manager.handover.changed, NULL once lapsed */
	int32_t handover_date;

	const Nomsync__LicenceActivated *lic;
	const char *lic_status;
	int lic_ev;
	const char *probation;

	struct ns__programme *prog;
	size_t nprog, capprog;
	struct ns__alert *alerts;
	size_t nalerts, capalerts;
	struct ns__registration *regs;
	size_t nregs, capregs;

	struct ns__provrec *prov; /* which event last set each view field */
	size_t nprov, capprov;

	json_t *appearances, *conflicts, *corrected, *erased;
};

/*
 * Small helpers.
 */

/* A string that is set: non-NULL and not empty, else NULL. */
static const char *ns__nz(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

/* Equal strings, NULL counting as empty. */
static int ns__eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Case-insensitive ASCII comparison, NULL counting as empty. */
static int ns__eq_nocase(const char *a, const char *b)
{
	a = a ? a : "";
	b = b ? b : "";
	for (; *a && *b; a++, b++) {
		char x = *a >= 'a' && *a <= 'z' ? (char)(*a - 32) : *a;
		char y = *b >= 'a' && *b <= 'z' ? (char)(*b - 32) : *b;
		if (x != y)
			return 0;
	}
	return *a == *b;
}

/* A "YYYY-MM-DD" day number; NS_DATE_NONE when empty or invalid. */
static int32_t ns__date(const char *s)
{
	int32_t d;

	return s != NULL && ns_date_parse(s, &d) == 0 ? d : NS_DATE_NONE;
}

/* The UTC day of an instant, clamped to a range the calendar handles. */
static int32_t ns__day(int64_t t)
{
	int64_t d = t / 86400;

	if (t % 86400 < 0)
		d--;
	if (d > NS__DAY_LIMIT)
		d = NS__DAY_LIMIT;
	if (d < -NS__DAY_LIMIT)
		d = -NS__DAY_LIMIT;
	return (int32_t)d;
}

/* Add with saturation, for day totals fed by untrusted numbers. */
static int ns__sat_add(int a, int64_t b)
{
	int64_t s = (int64_t)a + b;

	if (s > INT_MAX / 4)
		return INT_MAX / 4;
	if (s < -(INT_MAX / 4))
		return -(INT_MAX / 4);
	return (int)s;
}

/* Strict UTF-8 check (no overlongs, surrogates or code points past U+10FFFF). */
static int ns__utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];
	int n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) || (c == 0xf0 && s[1] < 0x90) ||
	    (c == 0xf4 && s[1] > 0x8f))
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* A JSON string, or null for an unset string; invalid UTF-8 bytes become '?'. */
static json_t *ns__jstr(struct ns__fold *c, const char *s)
{
	const unsigned char *p;
	json_t *v;
	char *fixed;
	size_t i = 0;
	int k, bad = 0;

	if (ns__nz(s) == NULL)
		return json_null();
	for (p = (const unsigned char *)s; *p; p += k)
		if ((k = ns__utf8_len(p)) == 0) {
			bad = 1;
			break;
		}
	if (!bad) {
		v = json_string(s);
	} else {
		fixed = malloc(strlen(s) + 1);
		if (fixed == NULL) {
			c->rc = NS_ENOMEM;
			return NULL;
		}
		for (p = (const unsigned char *)s; *p; p += k) {
			if ((k = ns__utf8_len(p)) == 0) {
				fixed[i++] = '?';
				k = 1;
			} else {
				memcpy(fixed + i, p, (size_t)k);
				i += (size_t)k;
			}
		}
		fixed[i] = '\0';
		v = json_string(fixed);
		free(fixed);
	}
	if (v == NULL)
		c->rc = NS_ENOMEM;
	return v;
}

/* A day number as "YYYY-MM-DD", or null. */
static json_t *ns__jdate(struct ns__fold *c, int32_t d)
{
	char buf[11];
	json_t *v;

	if (d == NS_DATE_NONE)
		return json_null();
	ns_date_format(buf, d);
	if ((v = json_string(buf)) == NULL)
		c->rc = NS_ENOMEM;
	return v;
}

/* A JSON integer. */
static json_t *ns__jint(struct ns__fold *c, json_int_t i)
{
	json_t *v = json_integer(i);

	if (v == NULL)
		c->rc = NS_ENOMEM;
	return v;
}

/* Set obj[key] = v, stealing v; a failure (including v == NULL) is remembered. */
static void ns__set(struct ns__fold *c, json_t *obj, const char *key, json_t *v)
{
	if (json_object_set_new(obj, key, v) != 0)
		c->rc = NS_ENOMEM;
}

/* Append v to arr, stealing v. */
static void ns__push(struct ns__fold *c, json_t *arr, json_t *v)
{
	if (json_array_append_new(arr, v) != 0)
		c->rc = NS_ENOMEM;
}

/* A new JSON object; NULL (remembered) on failure. */
static json_t *ns__obj(struct ns__fold *c)
{
	json_t *o = json_object();

	if (o == NULL)
		c->rc = NS_ENOMEM;
	return o;
}

/* A new JSON array; NULL (remembered) on failure. */
static json_t *ns__arr(struct ns__fold *c)
{
	json_t *a = json_array();

	if (a == NULL)
		c->rc = NS_ENOMEM;
	return a;
}

/*
 * Make room for one more element in a growable array. Returns the array
 * (possibly moved), or NULL with c->rc set; the old block stays valid then.
 */
static void *ns__grow(struct ns__fold *c, void *arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 8;
	p = realloc(arr, ncap * size);
	if (p == NULL) {
		c->rc = NS_ENOMEM;
		return NULL;
	}
	*cap = ncap;
	return p;
}

/*
 * Record that the event being applied set @p field of the view. Only the
 * field and the event index are kept; later events overwrite them, and the
 * JSON is built once at render (ns__render_prov) for the fields that remain.
 */
static void ns__prov(struct ns__fold *c, const char *field)
{
	struct ns__provrec *p;

	for (size_t i = 0; i < c->nprov; i++)
		if (strcmp(c->prov[i].field, field) == 0) {
			c->prov[i].ev = c->cur;
			return;
		}
	if ((p = ns__grow(c, c->prov, &c->capprov, c->nprov, sizeof(*p))) == NULL)
		return;
	c->prov = p;
	c->prov[c->nprov].field = field;
	c->prov[c->nprov++].ev = c->cur;
}

/* The provenance object: field -> {event, site, type, occurred_at}. */
static json_t *ns__render_prov(struct ns__fold *c)
{
	json_t *prov = ns__obj(c);
	char when[21];

	for (size_t i = 0; i < c->nprov; i++) {
		const struct ns__fev *f = &c->f[c->prov[i].ev];
		json_t *o = ns__obj(c);

		ns_time_format(when, f->ev->occurred_at);
		ns__set(c, o, "event", ns__jstr(c, f->hex));
		ns__set(c, o, "site", ns__jstr(c, f->ev->site));
		ns__set(c, o, "type", ns__jstr(c, ns_type_name(f->ev->type)));
		ns__set(c, o, "occurred_at", ns__jstr(c, when));
		ns__set(c, prov, c->prov[i].field, o);
	}
	return prov;
}

/*
 * Record a conflict: its rule, a sentence naming the facts, and the events
 * involved (@p a and @p b, -1 for none) in fold order.
 */
static void __attribute__((format(printf, 5, 6)))
ns__conflict(struct ns__fold *c, const char *rule, int a, int b, const char *fmt, ...)
{
	char text[512];
	json_t *o = ns__obj(c), *evs = ns__arr(c);
	va_list ap;
	int t;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (a > b) {
		t = a;
		a = b;
		b = t;
	}
	if (a >= 0 && a != b)
		ns__push(c, evs, ns__jstr(c, c->f[a].hex));
	if (b >= 0)
		ns__push(c, evs, ns__jstr(c, c->f[b].hex));
	ns__set(c, o, "rule", ns__jstr(c, rule));
	ns__set(c, o, "description", ns__jstr(c, text));
	ns__set(c, o, "events", evs);
	ns__push(c, c->conflicts, o);
}

/* Printable value for a description: "(none)" for an unset string. */
static const char *ns__show(const char *s)
{
	return ns__nz(s) ? s : "(none)";
}

/*
 * Identifiers.
 */

/* A NOMS number: [A-Z][0-9]{4}[A-Z]{2}. */
static int ns__is_noms(const char *s)
{
	if (strlen(s) != 7 || s[0] < 'A' || s[0] > 'Z')
		return 0;
	for (int i = 1; i < 5; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return s[5] >= 'A' && s[5] <= 'Z' && s[6] >= 'A' && s[6] <= 'Z';
}

/* A CRN: [A-Z][0-9]{6}. */
static int ns__is_crn(const char *s)
{
	if (strlen(s) != 7 || s[0] < 'A' || s[0] > 'Z')
		return 0;
	for (int i = 1; i < 7; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/*
 * Canonical long form of a PNC id ("12/394773H" -> "2012/0394773H"; two-digit
 * years 39-99 are 19xx). Returns -1 if @p s is not in either form.
 */
static int ns__pnc_canon(const char *s, char out[16])
{
	const char *slash = strchr(s, '/'), *p;
	size_t ylen, k;
	long serial = 0;
	int year = 0;
	char letter, tmp[48];

	if (slash == NULL || ((ylen = (size_t)(slash - s)) != 2 && ylen != 4))
		return -1;
	for (k = 0; k < ylen; k++) {
		if (s[k] < '0' || s[k] > '9')
			return -1;
		year = year * 10 + (s[k] - '0');
	}
	p = slash + 1;
	for (k = 0; p[k] >= '0' && p[k] <= '9'; k++)
		if (k < 7)
			serial = serial * 10 + (p[k] - '0');
	if (k < 1 || k > 7)
		return -1;
	letter = p[k];
	if (letter >= 'a' && letter <= 'z')
		letter = (char)(letter - 32);
	if (letter < 'A' || letter > 'Z' || p[k + 1] != '\0')
		return -1;
	if (ylen == 2)
		year += year >= 39 ? 1900 : 2000;
	snprintf(tmp, sizeof(tmp), "%04d/%07ld%c", year, serial, letter);
	memcpy(out, tmp, 14);
	return 0;
}

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

	if (ns__nz(type) == NULL || ns__nz(value) == NULL)
		return;
	v = strcmp(type, "PNC") == 0 && ns__pnc_canon(value, canon) == 0 ? canon : value;
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

/* The kept value of an identifier type, NULL if none. */
static const char *ns__ident_get(const struct ns__fold *c, const char *type)
{
	for (size_t i = 0; i < c->nids; i++)
		if (strcmp(c->ids[i].type, type) == 0)
			return ns__ident_value(&c->ids[i]);
	return NULL;
}

/* The offender reference in an event header, as an identifier. */
static void ns__ident_offender(struct ns__fold *c)
{
	const char *off = c->f[c->cur].ev->offender;

	if (ns__is_noms(off))
		ns__ident(c, "NOMS", off);
	else if (ns__is_crn(off))
		ns__ident(c, "CRN", off);
}

/*
 * Person details.
 */

/* person.created: details, and the identifiers it carries. */
static void ns__person_created(struct ns__fold *c, const Nomsync__PersonCreated *p)
{
	int32_t dob = ns__date(p->dob);

	ns__ident(c, "PNC", p->pnc);
	ns__ident(c, "CRO", p->cro);
	if (c->person_ev >= 0) {
		int surname_differs = ns__nz(p->surname) && ns__nz(c->surname) &&
				      !ns__eq_nocase(p->surname, c->surname);
		int dob_differs = dob != NS_DATE_NONE && c->dob != NS_DATE_NONE && dob != c->dob;
		if (surname_differs || dob_differs) {
			char a[11] = "(none)", b[11] = "(none)";
			if (c->dob != NS_DATE_NONE)
				ns_date_format(a, c->dob);
			if (dob != NS_DATE_NONE)
				ns_date_format(b, dob);
			ns__conflict(c, "IDENTITY_DETAILS_MISMATCH", c->person_ev, c->cur,
				     "person created twice with different details: %s born %s, then %s born %s",
				     ns__show(c->surname), a, ns__show(p->surname), b);
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

/* Set the legal status; DEAD is final. */
static void ns__legal(struct ns__fold *c, const char *status)
{
	if (c->legal != NULL && strcmp(c->legal, "DEAD") == 0 && strcmp(status, "DEAD") != 0)
		return;
	c->legal = status;
	ns__prov(c, "legal_status");
}

/* person.deceased. */
static void ns__deceased(struct ns__fold *c, const Nomsync__PersonDeceased *p)
{
	int32_t d = ns__date(p->date_of_death);

	if (c->death_ev >= 0 && d != c->deceased) {
		char a[11] = "(none)", b[11] = "(none)";
		if (c->deceased != NS_DATE_NONE)
			ns_date_format(a, c->deceased);
		if (d != NS_DATE_NONE)
			ns_date_format(b, d);
		ns__conflict(c, "DECEASED_DATE_MISMATCH", c->death_ev, c->cur,
			     "date of death recorded as %s and as %s", a, b);
	}
	if (c->death_ev < 0)
		c->death_ev = c->cur;
	c->deceased = d;
	ns__prov(c, "deceased");
	ns__legal(c, "DEAD");
}

/*
 * Custody.
 */

/* Is a custody state one of the ACTIVE ones (under prison care). */
static int ns__active(int custody)
{
	return custody == NS__IN || custody == NS__OUT || custody == NS__TRN;
}

/* Custody status for a description. */
static const char *ns__status_text(int custody)
{
	return custody == NS__NEVER ? "never in custody" : ns__status_names[custody];
}

/*
 * Move to a custody state. @p prison is the current establishment while
 * active, and the last establishment either way. A handover override lapses
 * when custody starts or ends.
 */
static void ns__custody(struct ns__fold *c, int state, const char *prison)
{
	if (ns__active(state) != ns__active(c->custody))
		c->handover = NULL;
	prison = ns__nz(prison);
	if (prison != NULL)
		c->last_prison = prison;
	c->custody = state;
	c->prison = ns__active(state) ? (prison ? prison : c->prison) : NULL;
	c->cust_ev = c->cur;
	ns__prov(c, "status");
	ns__prov(c, "prison");
}

/* Add a movement to the list and make it the last movement. */
static void ns__movement(struct ns__fold *c, const char *type, const char *reason, int32_t date,
			 const char *from, const char *to, const char *at)
{
	struct ns__move *m;

	if ((m = ns__grow(c, c->moves, &c->capmoves, c->nmoves, sizeof(*m))) == NULL)
		return;
	c->moves = m;
	m += c->nmoves++;
	m->type = type;
	m->reason = reason;
	m->date = date;
	m->from = from;
	m->to = to;
	m->at = at;
	m->ev = c->cur;
}

/* The movements array and last_movement (null if none) of the view. */
static void ns__render_movements(struct ns__fold *c, json_t *v)
{
	json_t *arr = ns__arr(c), *last = json_null();

	for (size_t i = 0; i < c->nmoves; i++) {
		const struct ns__move *mv = &c->moves[i];
		json_t *m = ns__obj(c);

		ns__set(c, m, "type", ns__jstr(c, mv->type));
		ns__set(c, m, "reason", ns__jstr(c, mv->reason));
		ns__set(c, m, "date", ns__jdate(c, mv->date));
		ns__set(c, m, "from", ns__jstr(c, mv->from));
		ns__set(c, m, "to", ns__jstr(c, mv->to));
		ns__set(c, m, "event", ns__jstr(c, c->f[mv->ev].hex));
		ns__push(c, arr, m);
	}
	if (c->nmoves > 0) {
		const struct ns__move *mv = &c->moves[c->nmoves - 1];

		last = ns__obj(c);
		ns__set(c, last, "type", ns__jstr(c, mv->type));
		ns__set(c, last, "reason", ns__jstr(c, mv->reason));
		ns__set(c, last, "date", ns__jdate(c, mv->date));
		ns__set(c, last, "prison", ns__jstr(c, mv->at));
	}
	ns__set(c, v, "last_movement", last);
	ns__set(c, v, "movements", arr);
}

/* prisoner.received. */
static void ns__received(struct ns__fold *c, const Nomsync__PrisonerReceived *p)
{
	const char *reason = ns__nz(p->reason) ? p->reason : "NEW_ADMISSION";
	int court = strcmp(reason, "RETURN_FROM_COURT") == 0;
	int tap = strcmp(reason, "TEMPORARY_ABSENCE_RETURN") == 0;

	if (court || tap) {
		if (c->custody != NS__OUT)
			ns__conflict(c, "RETURN_NOT_OUT", c->cust_ev, c->cur,
				     "received at %s (%s) but the status was %s%s%s", ns__show(p->prison),
				     reason, ns__status_text(c->custody), c->prison ? " at " : "",
				     c->prison ? c->prison : "");
	} else if (c->custody == NS__IN ||
		   (c->custody == NS__TRN && strcmp(reason, "TRANSFERRED") != 0)) {
		ns__conflict(c, "RECEIVED_WHILE_IN_CUSTODY", c->cust_ev, c->cur,
			     "received at %s (%s) while %s at %s with no release or transfer between",
			     ns__show(p->prison), reason, ns__status_names[c->custody],
			     ns__show(c->prison));
	}
	ns__custody(c, NS__IN, p->prison);
	ns__movement(c, court ? "CRT" : tap ? "TAP" : "ADM", reason, c->today, NULL, p->prison,
		     p->prison);
	if (strcmp(reason, "NEW_ADMISSION") == 0 || strcmp(reason, "READMISSION") == 0 ||
	    strcmp(reason, "RECALL") == 0)
		c->reception = c->today;
}

/* prisoner.released: to the community, to court, on temporary absence, or in transit. */
static void ns__released(struct ns__fold *c, const Nomsync__PrisonerReleased *p)
{
	const char *reason = ns__nz(p->reason) ? p->reason : "RELEASED";
	const char *type;
	int state;

	if (c->custody != NS__IN)
		ns__conflict(c, "RELEASED_NOT_IN_CUSTODY", c->cust_ev, c->cur,
			     "released from %s (%s) but the status was %s", ns__show(p->prison), reason,
			     ns__status_text(c->custody));
	else if (!ns__eq(c->prison, p->prison))
		ns__conflict(c, "RELEASED_FROM_OTHER_PRISON", c->cust_ev, c->cur,
			     "released from %s (%s) but held at %s", ns__show(p->prison), reason,
			     ns__show(c->prison));
	if (strcmp(reason, "SENT_TO_COURT") == 0) {
		state = NS__OUT;
		type = "CRT";
	} else if (strcmp(reason, "TEMPORARY_ABSENCE_RELEASE") == 0) {
		state = NS__OUT;
		type = "TAP";
	} else if (strcmp(reason, "TRANSFERRED") == 0) {
		state = NS__TRN;
		type = "TRN";
	} else {
		state = NS__INACTIVE;
		type = "REL";
	}
	ns__custody(c, state, p->prison);
	ns__movement(c, type, reason, c->today, p->prison, NULL, p->prison);
}

/* prisoner.transferred: from one establishment straight into another. */
static void ns__transferred(struct ns__fold *c, const Nomsync__PrisonerTransferred *p)
{
	if (c->custody != NS__IN && c->custody != NS__TRN)
		ns__conflict(c, "TRANSFER_NOT_IN_CUSTODY", c->cust_ev, c->cur,
			     "transferred from %s to %s but the status was %s", ns__show(p->from_prison),
			     ns__show(p->to_prison), ns__status_text(c->custody));
	else if (!ns__eq(c->prison, p->from_prison))
		ns__conflict(c, "TRANSFER_FROM_OTHER_PRISON", c->cust_ev, c->cur,
			     "transferred from %s to %s but held at %s", ns__show(p->from_prison),
			     ns__show(p->to_prison), ns__show(c->prison));
	ns__custody(c, NS__IN, p->to_prison);
	ns__movement(c, "TRN", ns__nz(p->reason), c->today, p->from_prison, p->to_prison,
		     p->to_prison);
}

/* recall.returned_to_custody: closes the open recall. */
static void ns__recall_returned(struct ns__fold *c, const Nomsync__RecallReturnedToCustody *p)
{
	int32_t date = ns__date(p->return_date);

	if (date == NS_DATE_NONE)
		date = c->today;
	if (!c->recall_open)
		ns__conflict(c, "RETURN_NOT_RECALLED", c->recall_ev, c->cur,
			     "returned to custody at %s on recall but no recall was open",
			     ns__show(p->prison));
	c->recall_open = 0;
	c->recall_ev = c->cur;
	c->adj.ual = ns__sat_add(c->adj.ual, p->ual_days);
	ns__legal(c, "RECALL");
	if (c->custody == NS__IN && ns__eq(c->prison, p->prison))
		return; /* already received on recall: nothing moves */
	if (c->custody == NS__IN)
		ns__conflict(c, "RECEIVED_WHILE_IN_CUSTODY", c->cust_ev, c->cur,
			     "returned to custody at %s on recall while ACTIVE IN at %s",
			     ns__show(p->prison), ns__show(c->prison));
	ns__custody(c, NS__IN, p->prison);
	ns__movement(c, "ADM", "RECALL", date, NULL, p->prison, p->prison);
	c->reception = date;
}

/*
 * Courts, sentences and recall.
 */

/* Is the current legal status one of a sentenced person. */
static int ns__sentenced(const struct ns__fold *c)
{
	return c->legal != NULL &&
	       (strcmp(c->legal, "SENTENCED") == 0 || strcmp(c->legal, "INDETERMINATE_SENTENCE") == 0 ||
		strcmp(c->legal, "RECALL") == 0);
}

/* court.convicted: offences and verdict. */
static void ns__convicted(struct ns__fold *c, const Nomsync__CourtConvicted *p)
{
	for (size_t i = 0; i < p->n_offences; i++) {
		const Nomsync__Offence *o = p->offences[i], **offs;
		int32_t od = ns__date(o->offence_date);
		size_t j;

		if (od != NS_DATE_NONE && (c->first_offence == NS_DATE_NONE || od < c->first_offence))
			c->first_offence = od;
		for (j = 0; j < c->noffences; j++)
			if (ns__eq(c->offences[j]->code, o->code) &&
			    ns__eq(c->offences[j]->description, o->description) &&
			    ns__date(c->offences[j]->offence_date) == od)
				break;
		if (j < c->noffences)
			continue; /* the same offence again */
		offs = ns__grow(c, (void *)c->offences, &c->capoffences, c->noffences, sizeof(*offs));
		if (offs == NULL)
			return;
		c->offences = offs;
		c->offences[c->noffences++] = o;
	}
	if (ns__date(p->verdict_date) != NS_DATE_NONE)
		c->verdict = ns__date(p->verdict_date);
	if (!ns__sentenced(c))
		ns__legal(c, "CONVICTED_UNSENTENCED");
}

/* Is a sentence type custodial (moves legal status). */
static int ns__custodial(const char *type)
{
	static const char *const types[] = { "SDS", "SDS_PLUS", "SDS40", "EDS", "DTO", "LIFE" };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (ns__eq(type, types[i]))
			return 1;
	return 0;
}

/* Legal status from the active custodial sentences, NULL if there are none. */
static const char *ns__sentence_status(const struct ns__fold *c)
{
	const char *s = NULL;

	for (size_t i = 0; i < c->nsent; i++) {
		if (c->sent[i].quashed || !ns__custodial(c->sent[i].p->sentence_type))
			continue;
		if (strcmp(c->sent[i].p->sentence_type, "LIFE") == 0)
			return "INDETERMINATE_SENTENCE";
		s = "SENTENCED";
	}
	return s;
}

/* The sentence with an id, or NULL. */
static struct ns__sentence *ns__sentence_find(struct ns__fold *c, const char *id)
{
	if (ns__nz(id) == NULL)
		return NULL;
	for (size_t i = 0; i < c->nsent; i++)
		if (strcmp(c->sent[i].p->sentence_id, id) == 0)
			return &c->sent[i];
	return NULL;
}

/* sentence.imposed. */
static void ns__sentence_imposed(struct ns__fold *c, const Nomsync__SentenceImposed *p)
{
	struct ns__sentence *s = ns__sentence_find(c, p->sentence_id), *all;
	const char *status;

	if (s != NULL) {
		const Nomsync__SentenceImposed *q = s->p;
		if (ns__eq(q->sentence_type, p->sentence_type) &&
		    ns__date(q->sentence_date) == ns__date(p->sentence_date) &&
		    q->term_years == p->term_years && q->term_months == p->term_months &&
		    q->term_days == p->term_days)
			return; /* the same sentence again: harmless */
		ns__conflict(c, "SENTENCE_IMPOSED_TWICE", s->ev, c->cur,
			     "sentence %s imposed as %s %uy %um %ud from %s and again as %s %uy %um %ud "
			     "from %s; the first is kept",
			     p->sentence_id, ns__show(q->sentence_type), q->term_years, q->term_months,
			     q->term_days, ns__show(q->sentence_date), ns__show(p->sentence_type),
			     p->term_years, p->term_months, p->term_days, ns__show(p->sentence_date));
		return;
	}
	if ((all = ns__grow(c, c->sent, &c->capsent, c->nsent, sizeof(*all))) == NULL)
		return;
	c->sent = all;
	s = &all[c->nsent++];
	memset(s, 0, sizeof(*s));
	s->p = p;
	s->ev = c->cur;
	s->date = ns__date(p->sentence_date);
	ns__prov(c, "sentences");
	if (ns__custodial(p->sentence_type)) {
		status = ns__sentence_status(c);
		ns__legal(c, status ? status : "SENTENCED");
	} else if (ns__eq(p->sentence_type, "COMMUNITY_ORDER") || ns__eq(p->sentence_type, "SSO")) {
		c->probation = "CURRENT";
	}
}

/* sentence.quashed. */
static void ns__sentence_quashed(struct ns__fold *c, const Nomsync__SentenceQuashed *p)
{
	struct ns__sentence *s = ns__sentence_find(c, p->sentence_id);
	const char *status;

	if (s == NULL) {
		ns__conflict(c, "SENTENCE_NOT_FOUND", -1, c->cur,
			     "sentence %s quashed but no such sentence was imposed",
			     ns__show(p->sentence_id));
		return;
	}
	s->quashed = 1;
	ns__prov(c, "sentences");
	if (c->legal != NULL && (strcmp(c->legal, "SENTENCED") == 0 ||
				 strcmp(c->legal, "INDETERMINATE_SENTENCE") == 0)) {
		status = ns__sentence_status(c);
		if (status == NULL && c->noffences > 0)
			status = "CONVICTED_UNSENTENCED";
		if (status == NULL) {
			c->legal = NULL;
			ns__prov(c, "legal_status");
		} else if (strcmp(status, c->legal) != 0) {
			ns__legal(c, status);
		}
	}
}

/* prisoner.adjustment.recorded: day totals. */
static void ns__adjustment(struct ns__fold *c, const Nomsync__PrisonerAdjustmentRecorded *p)
{
	const char *t = p->adjustment_type ? p->adjustment_type : "";
	int *total = NULL;

	if (strcmp(t, "REMAND") == 0)
		total = &c->adj.remand;
	else if (strcmp(t, "TAGGED_BAIL") == 0)
		total = &c->adj.tagged_bail;
	else if (strcmp(t, "UNLAWFULLY_AT_LARGE") == 0)
		total = &c->adj.ual;
	else if (strcmp(t, "ADDITIONAL_DAYS_AWARDED") == 0)
		total = &c->adj.ada;
	else if (strcmp(t, "RESTORATION_OF_ADDITIONAL_DAYS_AWARDED") == 0)
		total = &c->adj.rada;
	if (total != NULL)
		*total = ns__sat_add(*total, p->days);
}

/* recall.issued: the licence is revoked. */
static void ns__recall_issued(struct ns__fold *c, const Nomsync__RecallIssued *p)
{
	if (c->custody == NS__IN)
		ns__conflict(c, "RECALL_WHILE_IN_CUSTODY", c->cust_ev, c->cur,
			     "recall %s issued while ACTIVE IN at %s", ns__show(p->recall_id),
			     ns__show(c->prison));
	c->recall = 1;
	c->recall_open = 1;
	c->recall_ev = c->cur;
	c->recall_type = ns__nz(p->recall_type);
	ns__prov(c, "recall");
	ns__legal(c, "RECALL");
	if (c->lic != NULL) {
		c->lic_status = "REVOKED";
		ns__prov(c, "licence");
	}
}

/*
 * Probation: managers, licence, supervision.
 */

/* licence.ended: only the current licence can end. */
static void ns__licence_ended(struct ns__fold *c, const Nomsync__LicenceEnded *p)
{
	if (c->lic == NULL || (ns__nz(p->licence_id) && !ns__eq(p->licence_id, c->lic->licence_id))) {
		ns__conflict(c, "LICENCE_NOT_FOUND", c->lic ? c->lic_ev : -1, c->cur,
			     "licence %s ended but the current licence is %s", ns__show(p->licence_id),
			     c->lic ? ns__show(c->lic->licence_id) : "(none)");
		return;
	}
	c->lic_status = "ENDED";
	ns__prov(c, "licence");
}

/* programme.referred / programme.completed: one entry per programme code. */
static struct ns__programme *ns__programme(struct ns__fold *c, const char *code)
{
	struct ns__programme *all, *e;

	code = code ? code : "";
	for (size_t i = 0; i < c->nprog; i++)
		if (strcmp(c->prog[i].code, code) == 0)
			return &c->prog[i];
	if ((all = ns__grow(c, c->prog, &c->capprog, c->nprog, sizeof(*all))) == NULL)
		return NULL;
	c->prog = all;
	e = &all[c->nprog++];
	memset(e, 0, sizeof(*e));
	e->code = code;
	e->referred = e->completed = NS_DATE_NONE;
	return e;
}

/* alert.raised / alert.closed: one entry per alert code. */
static struct ns__alert *ns__alert(struct ns__fold *c, const char *code)
{
	struct ns__alert *all, *e;

	code = code ? code : "";
	for (size_t i = 0; i < c->nalerts; i++)
		if (strcmp(c->alerts[i].code, code) == 0)
			return &c->alerts[i];
	if ((all = ns__grow(c, c->alerts, &c->capalerts, c->nalerts, sizeof(*all))) == NULL)
		return NULL;
	c->alerts = all;
	e = &all[c->nalerts++];
	memset(e, 0, sizeof(*e));
	e->code = code;
	e->from = e->to = NS_DATE_NONE;
	return e;
}

/* registration.added / registration.removed: one entry per register type. */
static struct ns__registration *ns__registration(struct ns__fold *c, const char *type)
{
	struct ns__registration *all, *e;

	type = type ? type : "";
	for (size_t i = 0; i < c->nregs; i++)
		if (strcmp(c->regs[i].type, type) == 0)
			return &c->regs[i];
	if ((all = ns__grow(c, c->regs, &c->capregs, c->nregs, sizeof(*all))) == NULL)
		return NULL;
	c->regs = all;
	e = &all[c->nregs++];
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->date = NS_DATE_NONE;
	return e;
}

/* court.appearance.recorded. */
static void ns__appearance(struct ns__fold *c, const Nomsync__CourtAppearanceRecorded *p)
{
	json_t *a = ns__obj(c);

	ns__set(c, a, "court", ns__jstr(c, p->court));
	ns__set(c, a, "appearance_date", ns__jdate(c, ns__date(p->appearance_date)));
	ns__set(c, a, "outcome", ns__jstr(c, p->outcome));
	ns__set(c, a, "next_hearing_date", ns__jdate(c, ns__date(p->next_hearing_date)));
	ns__set(c, a, "case_ref", ns__jstr(c, p->case_ref));
	ns__set(c, a, "event", ns__jstr(c, c->f[c->cur].hex));
	ns__push(c, c->appearances, a);
}

/* Event types about custody or sentence: suspect after a death. */
static int ns__custody_or_sentence(uint32_t type)
{
	switch (type) {
	case NOMSYNC__EVENT_TYPE__COURT_REMANDED:
	case NOMSYNC__EVENT_TYPE__COURT_CONVICTED:
	case NOMSYNC__EVENT_TYPE__SENTENCE_IMPOSED:
	case NOMSYNC__EVENT_TYPE__PRISONER_RECEIVED:
	case NOMSYNC__EVENT_TYPE__PRISONER_RELEASED:
	case NOMSYNC__EVENT_TYPE__PRISONER_TRANSFERRED:
	case NOMSYNC__EVENT_TYPE__PRISONER_ADJUSTMENT_RECORDED:
	case NOMSYNC__EVENT_TYPE__RECALL_ISSUED:
	case NOMSYNC__EVENT_TYPE__RECALL_RETURNED_TO_CUSTODY:
	case NOMSYNC__EVENT_TYPE__LICENCE_ACTIVATED:
		return 1;
	default:
		return 0;
	}
}

/* Apply the current event (not withdrawn, payload present). */
static void ns__apply(struct ns__fold *c)
{
	const ns_event *ev = c->f[c->cur].ev;
	const Nomsync__Payload *pl = ev->payload;
	struct ns__programme *pg;
	struct ns__alert *al;
	struct ns__registration *rg;

	c->today = ns__day(ev->occurred_at);
	if (c->death_ev >= 0 && ns__custody_or_sentence((uint32_t)pl->body_case) &&
	    ev->occurred_at > c->f[c->death_ev].ev->occurred_at)
		ns__conflict(c, "EVENT_AFTER_DEATH", c->death_ev, c->cur,
			     "%s recorded at %s after the person's death", ns_type_name(ev->type),
			     ev->site);
	if (pl->body_case != NOMSYNC__PAYLOAD__BODY_EVENT_CORRECTED)
		ns__ident_offender(c);

	switch (pl->body_case) {
	case NOMSYNC__PAYLOAD__BODY_PERSON_CREATED:
		ns__person_created(c, pl->person_created);
		break;
	case NOMSYNC__PAYLOAD__BODY_PERSON_IDENTIFIER_ADDED:
		ns__ident(c, pl->person_identifier_added->identifier_type,
			  pl->person_identifier_added->value);
		break;
	case NOMSYNC__PAYLOAD__BODY_COURT_REMANDED:
		if (pl->court_remanded->custodial)
			ns__legal(c, "REMAND");
		break;
	case NOMSYNC__PAYLOAD__BODY_COURT_CONVICTED:
		ns__convicted(c, pl->court_convicted);
		break;
	case NOMSYNC__PAYLOAD__BODY_SENTENCE_IMPOSED:
		ns__sentence_imposed(c, pl->sentence_imposed);
		break;
	case NOMSYNC__PAYLOAD__BODY_PRISONER_RECEIVED:
		ns__received(c, pl->prisoner_received);
		break;
	case NOMSYNC__PAYLOAD__BODY_PRISONER_RELEASED:
		ns__released(c, pl->prisoner_released);
		break;
	case NOMSYNC__PAYLOAD__BODY_PRISONER_TRANSFERRED:
		ns__transferred(c, pl->prisoner_transferred);
		break;
	case NOMSYNC__PAYLOAD__BODY_PRISONER_ADJUSTMENT_RECORDED:
		ns__adjustment(c, pl->prisoner_adjustment_recorded);
		break;
	case NOMSYNC__PAYLOAD__BODY_ALERT_RAISED:
		if ((al = ns__alert(c, pl->alert_raised->alert_code)) != NULL) {
			al->type = pl->alert_raised->alert_type;
			al->from = ns__date(pl->alert_raised->from_date);
			al->to = NS_DATE_NONE;
			al->active = 1;
			ns__prov(c, "alerts");
		}
		break;
	case NOMSYNC__PAYLOAD__BODY_ALERT_CLOSED:
		if ((al = ns__alert(c, pl->alert_closed->alert_code)) != NULL) {
			al->to = ns__date(pl->alert_closed->to_date);
			al->active = 0;
			ns__prov(c, "alerts");
		}
		break;
	case NOMSYNC__PAYLOAD__BODY_MANAGER_POM_ALLOCATED:
		c->pom = pl->manager_pom_allocated;
		ns__prov(c, "pom");
		break;
	case NOMSYNC__PAYLOAD__BODY_MANAGER_COM_ALLOCATED:
		c->com = pl->manager_com_allocated;
		c->probation = "CURRENT";
		ns__prov(c, "com");
		break;
	case NOMSYNC__PAYLOAD__BODY_MANAGER_HANDOVER_CHANGED:
		c->handover = ns__nz(pl->manager_handover_changed->responsible);
		if (ns__date(pl->manager_handover_changed->handover_date) != NS_DATE_NONE)
			c->handover_date = ns__date(pl->manager_handover_changed->handover_date);
		break;
	case NOMSYNC__PAYLOAD__BODY_LICENCE_ACTIVATED:
		c->lic = pl->licence_activated;
		c->lic_status = "ACTIVE";
		c->lic_ev = c->cur;
		c->probation = "CURRENT";
		ns__prov(c, "licence");
		break;
	case NOMSYNC__PAYLOAD__BODY_LICENCE_ENDED:
		ns__licence_ended(c, pl->licence_ended);
		break;
	case NOMSYNC__PAYLOAD__BODY_RECALL_ISSUED:
		ns__recall_issued(c, pl->recall_issued);
		break;
	case NOMSYNC__PAYLOAD__BODY_RECALL_RETURNED_TO_CUSTODY:
		ns__recall_returned(c, pl->recall_returned_to_custody);
		break;
	case NOMSYNC__PAYLOAD__BODY_PROGRAMME_REFERRED:
		if ((pg = ns__programme(c, pl->programme_referred->programme)) != NULL) {
			pg->status = "REFERRED";
			if (ns__nz(pl->programme_referred->setting))
				pg->setting = pl->programme_referred->setting;
			pg->referred = ns__date(pl->programme_referred->referral_date);
			pg->completed = NS_DATE_NONE;
			ns__prov(c, "programmes");
		}
		break;
	case NOMSYNC__PAYLOAD__BODY_PROGRAMME_COMPLETED:
		if ((pg = ns__programme(c, pl->programme_completed->programme)) != NULL) {
			pg->status = ns__nz(pl->programme_completed->outcome) ? pl->programme_completed->outcome
									       : "COMPLETED";
			if (ns__nz(pl->programme_completed->setting))
				pg->setting = pl->programme_completed->setting;
			pg->completed = ns__date(pl->programme_completed->completion_date);
			ns__prov(c, "programmes");
		}
		break;
	case NOMSYNC__PAYLOAD__BODY_SUPERVISION_TERMINATED:
		if (c->lic != NULL) {
			c->lic_status = "ENDED";
			ns__prov(c, "licence");
		}
		c->probation = "PREVIOUSLY_KNOWN";
		break;
	case NOMSYNC__PAYLOAD__BODY_PERSON_DECEASED:
		ns__deceased(c, pl->person_deceased);
		break;
	case NOMSYNC__PAYLOAD__BODY_COURT_APPEARANCE_RECORDED:
		ns__appearance(c, pl->court_appearance_recorded);
		break;
	case NOMSYNC__PAYLOAD__BODY_SENTENCE_QUASHED:
		ns__sentence_quashed(c, pl->sentence_quashed);
		break;
	case NOMSYNC__PAYLOAD__BODY_REGISTRATION_ADDED:
		if ((rg = ns__registration(c, pl->registration_added->register_type)) != NULL) {
			rg->date = ns__date(pl->registration_added->registration_date);
			rg->active = 1;
		}
		break;
	case NOMSYNC__PAYLOAD__BODY_REGISTRATION_REMOVED:
		if ((rg = ns__registration(c, pl->registration_removed->register_type)) != NULL)
			rg->active = 0;
		break;
	case NOMSYNC__PAYLOAD__BODY_EVENT_CORRECTED: /* handled before the fold */
	default:
		break;
	}
}

/*
 * Order, duplicates and corrections.
 */

/* Total order: occurred_at, origin bytes, seq, id; an erased copy first. */
static int ns__cmp_events(const void *a, const void *b)
{
	const ns_event *x = *(const ns_event *const *)a, *y = *(const ns_event *const *)b;
	int r;

	if (x->occurred_at != y->occurred_at)
		return x->occurred_at < y->occurred_at ? -1 : 1;
	if ((r = memcmp(x->origin, y->origin, NS_KEY_BYTES)) != 0)
		return r < 0 ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if ((r = memcmp(x->id, y->id, NS_ID_BYTES)) != 0)
		return r < 0 ? -1 : 1;
	return (x->payload != NULL) - (y->payload != NULL);
}

/* An event id and its index in fold order, for looking targets up. */
struct ns__idx {
	const uint8_t *id;
	int i;
};

/* Order (id, index) pairs by id bytes. */
static int ns__cmp_ids(const void *a, const void *b)
{
	return memcmp(((const struct ns__idx *)a)->id, ((const struct ns__idx *)b)->id, NS_ID_BYTES);
}

/* Index of the event with @p id in @p by_id (sorted by id), or -1. */
static int ns__find_id(const struct ns__idx *by_id, size_t n, const uint8_t *id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = memcmp(by_id[mid].id, id, NS_ID_BYTES);
		if (r == 0)
			return by_id[mid].i;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* May correction @p k withdraw its target: same origin, or a hub. */
static int ns__authorised(const struct ns__fold *c, int k)
{
	const ns_event *corr = c->f[k].ev, *target = c->f[c->f[k].target].ev;

	return memcmp(corr->origin, target->origin, NS_KEY_BYTES) == 0 || corr->role == NS_ROLE_HUB;
}

/*
 * Is event @p t withdrawn: some authorised correction that is not itself
 * withdrawn names it. Ids are hashes, so corrections cannot form a cycle;
 * the in-progress mark only guards against one anyway.
 */
static int ns__voided(struct ns__fold *c, const int *corr, size_t ncorr, int t)
{
	struct ns__fev *e = &c->f[t];
	int v = 0;

	if (e->state == 2)
		return e->voided;
	if (e->state == 1 || !e->targeted)
		return 0;
	e->state = 1;
	for (size_t i = 0; i < ncorr && !v; i++)
		if (c->f[corr[i]].target == t && ns__authorised(c, corr[i]) &&
		    !ns__voided(c, corr, ncorr, corr[i]))
			v = 1;
	e->state = 2;
	e->voided = v;
	return v;
}

/*
 * The correction pre-pass: resolve targets, work out which events are
 * withdrawn, list them, and record unauthorised corrections as conflicts.
 */
static int ns__corrections(struct ns__fold *c)
{
	struct ns__idx *by_id = NULL;
	int *corr = NULL;
	size_t ncorr = 0;
	uint8_t id[NS_ID_BYTES];

	for (size_t i = 0; i < c->n; i++)
		if (c->f[i].ev->payload != NULL &&
		    c->f[i].ev->payload->body_case == NOMSYNC__PAYLOAD__BODY_EVENT_CORRECTED)
			ncorr++;
	if (ncorr == 0)
		return 0;
	by_id = malloc(c->n * sizeof(*by_id));
	corr = malloc(ncorr * sizeof(*corr));
	if (by_id == NULL || corr == NULL) {
		free(by_id);
		free(corr);
		return NS_ENOMEM;
	}
	for (size_t i = 0; i < c->n; i++) {
		by_id[i].id = c->f[i].ev->id;
		by_id[i].i = (int)i;
	}
	qsort(by_id, c->n, sizeof(*by_id), ns__cmp_ids);

	ncorr = 0;
	for (size_t i = 0; i < c->n; i++) {
		const Nomsync__Payload *pl = c->f[i].ev->payload;
		if (pl == NULL || pl->body_case != NOMSYNC__PAYLOAD__BODY_EVENT_CORRECTED ||
		    ns_unhex(id, NS_ID_BYTES, pl->event_corrected->target_event_id) != 0)
			continue;
		c->f[i].target = ns__find_id(by_id, c->n, id);
		if (c->f[i].target < 0)
			continue; /* target not (yet) here: nothing to withdraw */
		c->f[c->f[i].target].targeted = 1;
		corr[ncorr++] = (int)i;
	}
	for (size_t i = 0; i < c->n; i++)
		if (ns__voided(c, corr, ncorr, (int)i))
			ns__push(c, c->corrected, ns__jstr(c, c->f[i].hex));
	for (size_t i = 0; i < ncorr; i++) {
		int k = corr[i], t = c->f[k].target;
		if (c->f[k].voided || ns__authorised(c, k))
			continue;
		c->cur = k;
		ns__conflict(c, "CORRECTION_NOT_AUTHORISED", t, k,
			     "%s at %s tried to withdraw a %s event of %s; only the origin or a hub may",
			     ns_type_name(c->f[k].ev->type), c->f[k].ev->site, ns_type_name(c->f[t].ev->type),
			     c->f[t].ev->site);
	}
	free(by_id);
	free(corr);
	return 0;
}

/*
 * Rendering.
 */

/* Order alerts by code. */
static int ns__cmp_alerts(const void *a, const void *b)
{
	return strcmp(((const struct ns__alert *)a)->code, ((const struct ns__alert *)b)->code);
}

/* Order programmes by code. */
static int ns__cmp_programmes(const void *a, const void *b)
{
	return strcmp(((const struct ns__programme *)a)->code, ((const struct ns__programme *)b)->code);
}

/* Order registrations by register type. */
static int ns__cmp_registrations(const void *a, const void *b)
{
	return strcmp(((const struct ns__registration *)a)->type,
		      ((const struct ns__registration *)b)->type);
}

/* Later of two optional dates. */
static int32_t ns__later(int32_t a, int32_t b)
{
	if (a == NS_DATE_NONE)
		return b;
	if (b == NS_DATE_NONE)
		return a;
	return a > b ? a : b;
}

/*
 * Release dates of every active SDS-family sentence, then the governing
 * (latest) dates into "dates".
 */
static json_t *ns__render_dates(struct ns__fold *c)
{
	int32_t crd = NS_DATE_NONE, sled = NS_DATE_NONE, ard = NS_DATE_NONE, sed = NS_DATE_NONE;
	int32_t tused = NS_DATE_NONE, release;
	json_t *d = ns__obj(c);
	int gov = -1;

	for (size_t i = 0; i < c->nsent; i++) {
		struct ns__sentence *s = &c->sent[i];
		const Nomsync__SentenceImposed *p = s->p;
		int32_t od = ns__date(p->offence_date);

		if (od == NS_DATE_NONE)
			od = c->first_offence;
		s->has_rd = !s->quashed && s->date != NS_DATE_NONE && p->term_years <= NS__MAX_YEARS &&
			    p->term_months <= NS__MAX_MONTHS && p->term_days <= NS__MAX_DAYS &&
			    ns_release_dates_calc(p->sentence_type, s->date, (int)p->term_years,
						  (int)p->term_months, (int)p->term_days, od, &c->adj,
						  &s->rd) == 0;
		if (!s->has_rd)
			continue;
		crd = ns__later(crd, s->rd.crd);
		sled = ns__later(sled, s->rd.sled);
		ard = ns__later(ard, s->rd.ard);
		sed = ns__later(sed, s->rd.sed);
		tused = ns__later(tused, s->rd.tused);
	}
	release = ns__later(crd, ard);
	ns__set(c, d, "crd", ns__jdate(c, crd));
	ns__set(c, d, "sled", ns__jdate(c, sled));
	ns__set(c, d, "ard", ns__jdate(c, ard));
	ns__set(c, d, "sed", ns__jdate(c, sed));
	ns__set(c, d, "tused", ns__jdate(c, tused));
	ns__set(c, d, "release_date", ns__jdate(c, release));
	ns__set(c, d, "release_date_type",
		ns__jstr(c, release == NS_DATE_NONE ? NULL : release == crd ? "CRD" : "ARD"));
	for (size_t i = 0; i < c->nsent && release != NS_DATE_NONE && gov < 0; i++)
		if (c->sent[i].has_rd &&
		    (c->sent[i].rd.crd == release || c->sent[i].rd.ard == release))
			gov = c->sent[i].ev;
	if (gov >= 0) {
		c->cur = gov;
		ns__prov(c, "dates");
	}
	return d;
}

/* The "sentences" array; run after ns__render_dates. */
static json_t *ns__render_sentences(struct ns__fold *c)
{
	json_t *arr = ns__arr(c);

	for (size_t i = 0; i < c->nsent; i++) {
		const struct ns__sentence *s = &c->sent[i];
		const Nomsync__SentenceImposed *p = s->p;
		json_t *o = ns__obj(c), *term = ns__obj(c), *len = json_null();

		if (s->date != NS_DATE_NONE && p->term_years <= NS__MAX_YEARS &&
		    p->term_months <= NS__MAX_MONTHS && p->term_days <= NS__MAX_DAYS) {
			int32_t l = ns_date_add(s->date, (int)p->term_years, (int)p->term_months,
						(int)p->term_days) - s->date;
			if (l > 0)
				len = ns__jint(c, l);
		}
		ns__set(c, term, "years", ns__jint(c, p->term_years));
		ns__set(c, term, "months", ns__jint(c, p->term_months));
		ns__set(c, term, "days", ns__jint(c, p->term_days));
		ns__set(c, o, "sentence_id", ns__jstr(c, p->sentence_id));
		ns__set(c, o, "sentence_type", ns__jstr(c, p->sentence_type));
		ns__set(c, o, "sentence_date", ns__jdate(c, s->date));
		ns__set(c, o, "term", term);
		ns__set(c, o, "length_days", len);
		ns__set(c, o, "status", ns__jstr(c, s->quashed ? "QUASHED" : "ACTIVE"));
		ns__set(c, o, "court", ns__jstr(c, p->court));
		ns__set(c, o, "crd", ns__jdate(c, s->has_rd ? s->rd.crd : NS_DATE_NONE));
		ns__set(c, o, "sled", ns__jdate(c, s->has_rd ? s->rd.sled : NS_DATE_NONE));
		ns__set(c, o, "ard", ns__jdate(c, s->has_rd ? s->rd.ard : NS_DATE_NONE));
		ns__set(c, o, "sed", ns__jdate(c, s->has_rd ? s->rd.sed : NS_DATE_NONE));
		ns__set(c, o, "tused", ns__jdate(c, s->has_rd ? s->rd.tused : NS_DATE_NONE));
		ns__set(c, o, "event", ns__jstr(c, c->f[s->ev].hex));
		ns__push(c, arr, o);
	}
	return arr;
}

/* "identifiers", "offences", "alerts", "programmes" and "registrations". */
static void ns__render_lists(struct ns__fold *c, json_t *v)
{
	json_t *ids = ns__arr(c), *offs = ns__arr(c), *alerts = ns__arr(c), *progs = ns__arr(c),
	       *regs = ns__arr(c);

	for (size_t i = 0; i < c->nids; i++) {
		json_t *o = ns__obj(c);
		ns__set(c, o, "type", ns__jstr(c, c->ids[i].type));
		ns__set(c, o, "value", ns__jstr(c, ns__ident_value(&c->ids[i])));
		ns__set(c, o, "event", ns__jstr(c, c->f[c->ids[i].ev].hex));
		ns__set(c, o, "site", ns__jstr(c, c->f[c->ids[i].ev].ev->site));
		ns__push(c, ids, o);
	}
	for (size_t i = 0; i < c->noffences; i++) {
		json_t *o = ns__obj(c);
		ns__set(c, o, "code", ns__jstr(c, c->offences[i]->code));
		ns__set(c, o, "description", ns__jstr(c, c->offences[i]->description));
		ns__set(c, o, "offence_date", ns__jdate(c, ns__date(c->offences[i]->offence_date)));
		ns__push(c, offs, o);
	}
	if (c->nalerts > 1)
		qsort(c->alerts, c->nalerts, sizeof(*c->alerts), ns__cmp_alerts);
	for (size_t i = 0; i < c->nalerts; i++) {
		json_t *o = ns__obj(c);
		ns__set(c, o, "alert_type", ns__jstr(c, c->alerts[i].type));
		ns__set(c, o, "alert_code", ns__jstr(c, c->alerts[i].code));
		ns__set(c, o, "from_date", ns__jdate(c, c->alerts[i].from));
		ns__set(c, o, "to_date", ns__jdate(c, c->alerts[i].to));
		ns__set(c, o, "active", json_boolean(c->alerts[i].active));
		ns__push(c, alerts, o);
	}
	if (c->nprog > 1)
		qsort(c->prog, c->nprog, sizeof(*c->prog), ns__cmp_programmes);
	for (size_t i = 0; i < c->nprog; i++) {
		json_t *o = ns__obj(c);
		ns__set(c, o, "programme", ns__jstr(c, c->prog[i].code));
		ns__set(c, o, "setting", ns__jstr(c, c->prog[i].setting));
		ns__set(c, o, "status", ns__jstr(c, c->prog[i].status));
		ns__set(c, o, "referral_date", ns__jdate(c, c->prog[i].referred));
		ns__set(c, o, "completion_date", ns__jdate(c, c->prog[i].completed));
		ns__push(c, progs, o);
	}
	if (c->nregs > 1)
		qsort(c->regs, c->nregs, sizeof(*c->regs), ns__cmp_registrations);
	for (size_t i = 0; i < c->nregs; i++) {
		json_t *o = ns__obj(c);
		ns__set(c, o, "register_type", ns__jstr(c, c->regs[i].type));
		ns__set(c, o, "registration_date", ns__jdate(c, c->regs[i].date));
		ns__set(c, o, "active", json_boolean(c->regs[i].active));
		ns__push(c, regs, o);
	}
	ns__set(c, v, "identifiers", ids);
	ns__set(c, v, "offences", offs);
	ns__set(c, v, "alerts", alerts);
	ns__set(c, v, "programmes", progs);
	ns__set(c, v, "registrations", regs);
}

/* "managers" and "licence". */
static void ns__render_probation(struct ns__fold *c, json_t *v)
{
	json_t *m = ns__obj(c), *pom = json_null(), *com = json_null(), *lic = json_null();
	const char *resp = c->handover;

	if (c->pom != NULL) {
		pom = ns__obj(c);
		ns__set(c, pom, "prison", ns__jstr(c, c->pom->prison));
		ns__set(c, pom, "staff", ns__jstr(c, c->pom->staff));
		ns__set(c, pom, "name", ns__jstr(c, c->pom->name));
	}
	if (c->com != NULL) {
		com = ns__obj(c);
		ns__set(c, com, "region", ns__jstr(c, c->com->region));
		ns__set(c, com, "pdu", ns__jstr(c, c->com->pdu));
		ns__set(c, com, "team", ns__jstr(c, c->com->team));
		ns__set(c, com, "staff", ns__jstr(c, c->com->staff));
		ns__set(c, com, "name", ns__jstr(c, c->com->name));
	}
	if (resp == NULL)
		resp = ns__active(c->custody) ? "POM" : c->com != NULL ? "COM" : NULL;
	ns__set(c, m, "pom", pom);
	ns__set(c, m, "com", com);
	ns__set(c, m, "responsible", ns__jstr(c, resp));
	ns__set(c, m, "handover_date", ns__jdate(c, c->handover_date));
	ns__set(c, v, "managers", m);

	if (c->lic != NULL) {
		json_t *conds = ns__arr(c);
		lic = ns__obj(c);
		for (size_t i = 0; i < c->lic->n_conditions; i++)
			ns__push(c, conds, ns__jstr(c, c->lic->conditions[i]));
		ns__set(c, lic, "licence_id", ns__jstr(c, c->lic->licence_id));
		ns__set(c, lic, "licence_type", ns__jstr(c, c->lic->licence_type));
		ns__set(c, lic, "start_date", ns__jdate(c, ns__date(c->lic->start_date)));
		ns__set(c, lic, "expiry_date", ns__jdate(c, ns__date(c->lic->expiry_date)));
		ns__set(c, lic, "conditions", conds);
		ns__set(c, lic, "status", ns__jstr(c, c->lic_status));
	}
	ns__set(c, v, "licence", lic);
	ns__set(c, v, "probation_status", ns__jstr(c, c->probation));
}

/* The whole view object. Takes the lists built during the fold. */
static json_t *ns__render(struct ns__fold *c)
{
	json_t *v = ns__obj(c), *name = json_null(), *adj = ns__obj(c), *dates;

	ns__set(c, v, "noms", ns__jstr(c, ns__ident_get(c, "NOMS")));
	ns__set(c, v, "crn", ns__jstr(c, ns__ident_get(c, "CRN")));
	ns__set(c, v, "pnc", ns__jstr(c, ns__ident_get(c, "PNC")));
	ns__set(c, v, "cro", ns__jstr(c, ns__ident_get(c, "CRO")));
	if (c->surname != NULL || c->forenames != NULL) {
		name = ns__obj(c);
		ns__set(c, name, "surname", ns__jstr(c, c->surname));
		ns__set(c, name, "forenames", ns__jstr(c, c->forenames));
	}
	ns__set(c, v, "name", name);
	ns__set(c, v, "dob", ns__jdate(c, c->dob));
	ns__set(c, v, "gender", ns__jstr(c, c->gender));

	ns__set(c, v, "status", ns__jstr(c, ns__status_names[c->custody]));
	ns__set(c, v, "in_out", ns__jstr(c, ns__inout_names[c->custody]));
	ns__set(c, v, "prison", ns__jstr(c, ns__active(c->custody) ? c->prison : NULL));
	ns__set(c, v, "last_prison", ns__jstr(c, c->last_prison));
	ns__set(c, v, "reception_date", ns__jdate(c, c->reception));
	ns__render_movements(c, v);

	ns__set(c, v, "legal_status", ns__jstr(c, c->legal));
	ns__set(c, v, "deceased", ns__jdate(c, c->deceased));
	ns__set(c, v, "recall", json_boolean(c->recall));
	ns__set(c, v, "recall_type", ns__jstr(c, c->recall_type));
	ns__set(c, v, "verdict_date", ns__jdate(c, c->verdict));

	ns__set(c, adj, "remand", ns__jint(c, c->adj.remand));
	ns__set(c, adj, "tagged_bail", ns__jint(c, c->adj.tagged_bail));
	ns__set(c, adj, "unlawfully_at_large", ns__jint(c, c->adj.ual));
	ns__set(c, adj, "additional_days_awarded", ns__jint(c, c->adj.ada));
	ns__set(c, adj, "restoration_of_additional_days_awarded", ns__jint(c, c->adj.rada));
	ns__set(c, v, "adjustments", adj);
	dates = ns__render_dates(c);
	ns__set(c, v, "dates", dates);
	ns__set(c, v, "sentences", ns__render_sentences(c));

	ns__render_lists(c, v);
	ns__render_probation(c, v);

	ns__set(c, v, "court_appearances", c->appearances);
	ns__set(c, v, "conflicts", json_incref(c->conflicts));
	ns__set(c, v, "provenance", ns__render_prov(c));
	ns__set(c, v, "corrected", c->corrected);
	ns__set(c, v, "erased", c->erased);
	c->appearances = c->corrected = c->erased = NULL;
	ns__set(c, v, "event_count", ns__jint(c, (json_int_t)c->n));
	return v;
}

/*
 * Canonical text of the view in a plain malloc'd buffer. json_dumps uses
 * jansson's allocator, which a program may have replaced; the caller of
 * ns_fold frees with free().
 */
static char *ns__dump(struct ns__fold *c, const json_t *view)
{
	json_malloc_t jmalloc;
	json_free_t jfree;
	char *text, *out;
	size_t len;

	text = json_dumps(view, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL) {
		c->rc = NS_ENOMEM;
		return NULL;
	}
	len = strlen(text);
	out = malloc(len + 1);
	if (out == NULL)
		c->rc = NS_ENOMEM;
	else
		memcpy(out, text, len + 1);
	json_get_alloc_funcs(&jmalloc, &jfree);
	jfree(text);
	return out;
}

/* Copy @p s into a fixed buffer, upper-cased if asked, truncating. */
static void ns__copy(char *dst, size_t size, const char *s, int upper)
{
	size_t i = 0;

	for (; s != NULL && s[i] != '\0' && i + 1 < size; i++)
		dst[i] = upper && s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 32) : s[i];
	dst[i] = '\0';
}

/* Fill the index summary from the final state. */
static void ns__summary(const struct ns__fold *c, ns_fold_summary *sum)
{
	memset(sum, 0, sizeof(*sum));
	ns__copy(sum->noms, sizeof(sum->noms), ns__ident_get(c, "NOMS"), 0);
	ns__copy(sum->crn, sizeof(sum->crn), ns__ident_get(c, "CRN"), 0);
	ns__copy(sum->prison, sizeof(sum->prison), ns__active(c->custody) ? c->prison : NULL, 0);
	ns__copy(sum->region, sizeof(sum->region), c->com ? c->com->region : NULL, 0);
	ns__copy(sum->surname, sizeof(sum->surname), c->surname, 1);
	sum->conflicts = (int)json_array_size(c->conflicts);
}

/* Release everything the state owns. */
static void ns__fold_free(struct ns__fold *c)
{
	free(c->f);
	free(c->ids);
	free((void *)c->offences);
	free(c->sent);
	free(c->prog);
	free(c->alerts);
	free(c->regs);
	free(c->moves);
	json_decref(c->appearances);
	json_decref(c->conflicts);
	free(c->prov);
	json_decref(c->corrected);
	json_decref(c->erased);
}

/*
 * Fold a person's events into the view. See fold.h. Returns 0, NS_EINVAL
 * for a missing argument or a NULL event, or NS_ENOMEM.
 */
int ns_fold(ns_event *const *evs, size_t n, char **json, size_t *len, ns_fold_summary *sum)
{
	struct ns__fold c;
	const ns_event **sorted;
	json_t *view = NULL;
	char *out = NULL;
	size_t m = 0;
	int rc;

	if (json != NULL)
		*json = NULL;
	if (len != NULL)
		*len = 0;
	if (json == NULL || (evs == NULL && n > 0) || n > INT_MAX / 2)
		return NS_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (evs[i] == NULL)
			return NS_EINVAL;

	memset(&c, 0, sizeof(c));
	c.person_ev = c.cust_ev = c.death_ev = c.recall_ev = c.lic_ev = -1;
	c.dob = c.reception = c.deceased = c.verdict = c.first_offence = c.handover_date = NS_DATE_NONE;
	c.appearances = ns__arr(&c);
	c.conflicts = ns__arr(&c);
	c.corrected = ns__arr(&c);
	c.erased = ns__arr(&c);

	/* Sort a copy of the pointers, then keep one event per id. */
	sorted = malloc((n ? n : 1) * sizeof(*sorted));
	c.f = malloc((n ? n : 1) * sizeof(*c.f));
	if (sorted == NULL || c.f == NULL) {
		free((void *)sorted);
		ns__fold_free(&c);
		return NS_ENOMEM;
	}
	if (n > 0) {
		memcpy((void *)sorted, evs, n * sizeof(*sorted));
		qsort((void *)sorted, n, sizeof(*sorted), ns__cmp_events);
	}
	for (size_t i = 0; i < n; i++) {
		/* A view is folded only from the event types this release knows. */
		if (sorted[i]->type_unknown)
			continue;
		if (m > 0 && memcmp(c.f[m - 1].ev->id, sorted[i]->id, NS_ID_BYTES) == 0)
			continue;
		memset(&c.f[m], 0, sizeof(c.f[m]));
		c.f[m].ev = sorted[i];
		c.f[m].target = -1;
		ns_hex(c.f[m].hex, sorted[i]->id, NS_ID_BYTES);
		m++;
	}
	free((void *)sorted);
	c.n = m;

	if ((rc = ns__corrections(&c)) != 0) {
		ns__fold_free(&c);
		return rc;
	}
	for (size_t i = 0; i < c.n && c.rc == 0; i++) {
		c.cur = (int)i;
		if (c.f[i].ev->payload == NULL) /* erased, withdrawn or not */
			ns__push(&c, c.erased, ns__jstr(&c, c.f[i].hex));
		if (c.f[i].voided || c.f[i].ev->payload == NULL)
			continue;
		ns__apply(&c);
	}
	if (c.rc == 0)
		view = ns__render(&c);
	if (c.rc == 0)
		out = ns__dump(&c, view);
	json_decref(view);
	if (c.rc == 0 && sum != NULL)
		ns__summary(&c, sum);
	rc = c.rc;
	ns__fold_free(&c);
	if (rc != 0) {
		free(out);
		return rc;
	}
	*json = out;
	if (len != NULL)
		*len = strlen(out);
	return 0;
}
