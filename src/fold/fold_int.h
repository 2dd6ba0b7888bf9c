/*
 * Internal to the fold module (the .c files of src/fold): the fold state, the handler
 * and render hook types, and the helpers that the area files share.
 *
 * fold.c drives the fold and says how to add an area. Each area file
 * (identity.c, custody.c, sentence.c, management.c, licence.c, community.c, risk.c, plan.c,
 * access.c) holds the handlers of its event types and the rendering of its part of the view.
 */
#ifndef NS__FOLD_INT_H
#define NS__FOLD_INT_H

#include <nomsync/date.h>
#include <nomsync/fold.h>

#include <jansson.h>

#include <stddef.h>
#include <stdint.h>

#define NS__HEXLEN (2 * NS_ID_BYTES + 1)
#define NS__DAY_LIMIT 100000000 /* days either side of 1970 kept by any date or instant */
#define NS__MAX_YEARS 1000      /* longest sentence term accepted, per component */
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

/* One distinct event, in fold order. */
struct ns__fev {
	const ns_event *ev;
	char hex[NS__HEXLEN];
	int target;   /* event.corrected with a known target: its index, else -1 */
	int targeted; /* some correction names this event */
	int state;    /* withdrawal worked out: 0 not yet, 1 in progress, 2 done */
	int voided;
	int future; /* occurred_at ahead of its recorded_at by more than NS_CLOCK_SKEW_MAX */
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
	int has_rd;          /* rd holds the dates of the chain ending at this sentence */
	ns_release_dates rd;
};

/*
 * Entries of the keyed lists (ns__keyed): the key is the first member.
 */
struct ns__alert {
	const char *code;
	const char *type;
	int32_t from, to;
	int active;
};

struct ns__programme {
	const char *code;
	const char *setting, *status;
	int32_t referred, completed;
};

struct ns__registration {
	const char *type;
	int32_t date;
	int active;
	const char *category, *level; /* MAPP only */
	int ev;                       /* the registration.added that set it */
};

/*
 * Community sentences (community.c): what probation records against an
 * order. Strings point into the events.
 */
struct ns__appt {
	const Nomsync__AppointmentOutcomeRecorded *p;
	int32_t date;
	int ev;
	int replaced; /* a later outcome for the same appointment_id */
};

struct ns__warning {
	const char *sentence;
	int32_t date;
	int ev;
};

struct ns__reqend {
	const Nomsync__RequirementEnded *p;
	int ev;
};

struct ns__breach {
	const char *id; /* key (ns__keyed) */
	const char *sentence, *reason, *outcome;
	int32_t date, concluded;
	int ev;
};

/* A goal of the sentence plan (step_id NULL) or one of its steps (plan.c). */
struct ns__plan_item {
	const char *goal_id, *step_id;
	const char *what;  /* goal: area of need; step: actor */
	const char *text;  /* goal: title; step: description */
	int32_t target;    /* goal: target date */
	const char *status;
	int ev;            /* the event that added it */
	int status_ev;     /* the event that set its status */
};

/* A status update of a plan item, kept whatever came before or after it. */
struct ns__plan_update {
	int item, ev;
	int concurrent; /* its previous_status was not the status held (PLAN_CONCURRENT_UPDATE) */
	const char *status, *prev, *note;
};

/* A movement in or out of a prison; strings point into the events. */
struct ns__move {
	const char *type, *reason, *from, *to, *at;
	int32_t date;
	int ev;
};

/* A standing access list (access.c): the latest access.restricted of its mode, ref and site. */
struct ns__alist {
	const char *mode, *ref, *site;
	const Nomsync__AccessRestricted *p;
	int ev;
};

/* A view field and the event (fold index) that last set it. */
struct ns__provrec {
	const char *field;
	int ev;
};

/*
 * The fold state. Strings point into the events' payloads. Each group of
 * fields belongs to the area file named above it; other areas may read
 * them, and a few handlers set another area's fields where the event means
 * it (a COM allocation makes probation current, custody ends a handover).
 */
struct ns__fold {
	/* fold.c */
	int rc; /* first failure (NS_ENOMEM), sticky */
	struct ns__fev *f;
	size_t n;
	int cur;       /* index of the event being applied */
	int32_t today; /* its occurred_at as a day number */
	struct ns__provrec *prov; /* which event last set each view field */
	size_t nprov, capprov;
	json_t *conflicts, *corrected, *erased;

	/* identity.c */
	struct ns__ident *ids;
	size_t nids, capids;
	const char *surname, *forenames, *gender;
	int32_t dob;
	int person_ev; /* the person.created that set the details, -1 */
	int32_t deceased;
	int death_ev;
	/* person.merged / person.unmerged pairs, each with its final state (ns__merges_scan) */
	struct ns__merge {
		const char *survivor, *removed;
		int ev;     /* the pair's last merge or unmerge in fold order */
		int active; /* that event is a merge */
	} *merges;
	size_t nmerges, capmerges;

	/* custody.c */
	int custody;
	const char *prison, *last_prison;
	int cust_ev; /* event that produced the current custody state, -1 */
	int32_t reception;
	struct ns__move *moves; /* in fold order; rendered once */
	size_t nmoves, capmoves;

	/* sentence.c */
	const char *legal;
	const Nomsync__Offence **offences;
	size_t noffences, capoffences;
	int32_t verdict, first_offence;
	struct ns__sentence *sent;
	size_t nsent, capsent;
	ns_adjustments adj;
	json_t *appearances;
	const Nomsync__SentenceDatesCalculated *calc; /* the prison's latest calculation */
	int calc_ev;

	/* management.c */
	const Nomsync__ManagerPomAllocated *pom;
	const Nomsync__ManagerComAllocated *com;
	const char *handover; /* responsible named by manager.handover.changed, NULL once lapsed */
	int32_t handover_date;
	struct ns__alert *alerts;
	size_t nalerts, capalerts;

	/* licence.c */
	const Nomsync__LicenceActivated *lic;
	const char *lic_status;
	int lic_ev;
	const char *probation;
	int recall, recall_open, recall_ev;
	const char *recall_type;
	struct ns__programme *prog;
	size_t nprog, capprog;

	/* community.c */
	struct ns__appt *appts;
	size_t nappts, capappts;
	struct ns__warning *warns;
	size_t nwarns, capwarns;
	struct ns__reqend *reqends;
	size_t nreqends, capreqends;
	struct ns__breach *breaches;
	size_t nbreaches, capbreaches;
	int sup_end_ev;              /* the last supervision.terminated (licence.c sets it), -1 */
	const char *sup_end_reason;
	/* risk.c */
	struct ns__registration *regs;
	size_t nregs, capregs;
	const Nomsync__TierCalculated *tier; /* the latest calculation */
	int32_t tier_date;
	/* plan.c */
	struct ns__plan_item *plan; /* goals and steps, in the order added */
	size_t nplan, capplan;
	struct ns__plan_update *plan_upd; /* in fold order */
	size_t nplan_upd, capplan_upd;
	int agree_ev; /* the latest plan.agreed, -1 */
	int *reviews; /* plan.reviewed events, in fold order */
	size_t nreviews, capreviews;
	/* access.c */
	struct ns__alist *alists; /* standing lists, in the order first recorded */
	size_t nalists, capalists;
	int restricted;    /* set by the render: some list is in force */
	ns_access *access; /* the caller's, filled by the render; NULL if not wanted */
};

/*
 * An event handler: applies the current event (c->cur, whose payload is
 * @p pl) to the state. Named ns__fold_<type name with '.' as '_'>.
 */
typedef void ns__fold_fn(struct ns__fold *c, const Nomsync__Payload *pl);

/* A render hook: sets an area's fields of the view object @p v. */
typedef void ns__render_fn(struct ns__fold *c, json_t *v);

/*
 * The driver's steps (fold.c), also used by incremental.c.
 */

/* An empty state (owns nothing yet but its JSON lists). */
void ns__state_init(struct ns__fold *c);
/* Release everything the state owns, f included. */
void ns__state_free(struct ns__fold *c);
/* A copy of @p src owning its own lists, without f (NULL) and n (0); dst->rc NS_ENOMEM on failure. */
void ns__state_copy(struct ns__fold *dst, const struct ns__fold *src);
/* The distinct known events of @p evs in fold order, malloc'd; NS_EINVAL or NS_ENOMEM. */
int ns__fold_order(ns_event *const *evs, size_t n, struct ns__fev **f, size_t *m);
/* The passes over every event before any is applied: corrections, merge pairs. */
int ns__fold_prepass(struct ns__fold *c);
/* Apply the events [from, to) in fold order. */
void ns__fold_apply(struct ns__fold *c, size_t from, size_t to);
/* Render and write out the view, the summary and the figures (each optional but json); frees c. */
int ns__fold_finish(struct ns__fold *c, char **json, size_t *len, ns_fold_summary *sum,
		    ns_fold_figures *fig);

/*
 * Bookkeeping (fold.c).
 */

/* Record that the current event set view field @p field (a string literal). */
void ns__prov(struct ns__fold *c, const char *field);

/* Record a conflict: rule, description, and the events @p a and @p b (-1 for none). */
void ns__conflict(struct ns__fold *c, const char *rule, int a, int b, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/*
 * Helpers (helpers.c).
 */

/* A string that is set: non-NULL and not empty, else NULL. */
const char *ns__nz(const char *s);
/* Equal strings, NULL counting as empty. */
int ns__eq(const char *a, const char *b);
/* Case-insensitive ASCII comparison, NULL counting as empty. */
int ns__eq_nocase(const char *a, const char *b);
/* A "YYYY-MM-DD" day number; NS_DATE_NONE when empty or invalid. */
int32_t ns__date(const char *s);
/* The UTC day of an instant, clamped to NS__DAY_LIMIT. */
int32_t ns__day(int64_t t);
/* Add with saturation, for day totals fed by untrusted numbers. */
int ns__sat_add(int a, int64_t b);
/* Printable value for a description: "(none)" for an unset string. */
const char *ns__show(const char *s);
/* Printable date for a description into @p buf: "YYYY-MM-DD", or "(none)". */
const char *ns__show_date(char buf[11], int32_t d);

/*
 * JSON builders. Each remembers a failure in c->rc; ns__set and ns__push
 * steal the value and accept NULL (a failure already remembered).
 */
json_t *ns__jstr(struct ns__fold *c, const char *s); /* null if unset; bad UTF-8 -> '?' */
json_t *ns__jdate(struct ns__fold *c, int32_t d);    /* "YYYY-MM-DD" or null */
json_t *ns__jint(struct ns__fold *c, json_int_t i);
json_t *ns__obj(struct ns__fold *c);
json_t *ns__arr(struct ns__fold *c);
void ns__set(struct ns__fold *c, json_t *obj, const char *key, json_t *v);
void ns__push(struct ns__fold *c, json_t *arr, json_t *v);

/*
 * Make room for one more element in a growable array. Returns the array
 * (possibly moved), or NULL with c->rc set; the old block stays valid then.
 */
void *ns__grow(struct ns__fold *c, void *arr, size_t *cap, size_t n, size_t size);

/*
 * The entry with key @p key (NULL as "") in a growable array of structs whose
 * first member is the const char * key; if there is none, a copy of @p init
 * with that key is appended. @p arrp is the address of the array pointer.
 * NULL with c->rc set on failure.
 */
void *ns__keyed(struct ns__fold *c, void *arrp, size_t *n, size_t *cap, size_t size,
		const void *init, const char *key);
/* Renders one keyed-list entry into the JSON object @p o. */
typedef void ns__entry_fn(struct ns__fold *c, json_t *o, const void *entry);
/* A JSON array of a keyed list's @p n entries, sorted by key (in place) and rendered by @p fn. */
json_t *ns__render_keyed(struct ns__fold *c, void *arr, size_t n, size_t size, ns__entry_fn *fn);

/* figures.c: the figures of the rendered view @p v (ns_fold_figures). */
void ns__figures(const json_t *v, ns_fold_figures *r);

/* Clamp a day count to NS__DAY_LIMIT either side of 1970 (dates.c). */
int32_t ns__clamp_day(int64_t d);

/*
 * Shared between areas.
 */

/* identity.c: note the offender reference in the current event's header as an identifier. */
void ns__ident_offender(struct ns__fold *c);
/* identity.c: the kept value of an identifier type, NULL if none. */
const char *ns__ident_get(const struct ns__fold *c, const char *type);
/* identity.c: note every merge pair's final state before the events are applied. */
void ns__merges_scan(struct ns__fold *c);

/* custody.c: is a custody state one of the ACTIVE ones (under prison care). */
int ns__active(int custody);
/* custody.c: move to a custody state at @p prison. */
void ns__custody(struct ns__fold *c, int state, const char *prison);
/* custody.c: add a movement and make it the last movement. */
void ns__movement(struct ns__fold *c, const char *type, const char *reason, int32_t date,
		  const char *from, const char *to, const char *at);

/* sentence.c: set the legal status; DEAD is final. */
void ns__legal(struct ns__fold *c, const char *status);
/* sentence.c: the legal status again from what remains, after a sentence is quashed or revoked. */
void ns__legal_recompute(struct ns__fold *c);
/* sentence.c: the sentence with an id, or NULL. */
struct ns__sentence *ns__sentence_find(struct ns__fold *c, const char *id);
/* sentence.c: has a sentence a date and a term within the limits dates are worked out for. */
int ns__term_ok(const struct ns__sentence *s);

/* community.c: is a sentence type a community sentence (COMMUNITY_ORDER, SSO). */
int ns__community_type(const char *type);
/* community.c: the status of community sentence @p s: ACTIVE, COMPLETED, REVOKED, TERMINATED, QUASHED. */
const char *ns__community_status(const struct ns__fold *c, const struct ns__sentence *s);

/*
 * Event handlers, by area; the fold column of src/event/catalogue.def maps types to them (fold.c expands it into its dispatch table).
 */
ns__fold_fn ns__fold_person_created, ns__fold_person_identifier_added, ns__fold_person_deceased,
	ns__fold_person_merged, ns__fold_person_unmerged;
ns__fold_fn ns__fold_prisoner_received, ns__fold_prisoner_released, ns__fold_prisoner_transferred;
ns__fold_fn ns__fold_court_remanded, ns__fold_court_convicted, ns__fold_court_appearance_recorded,
	ns__fold_sentence_imposed, ns__fold_sentence_quashed, ns__fold_prisoner_adjustment_recorded,
	ns__fold_sentence_dates_calculated;
ns__fold_fn ns__fold_manager_pom_allocated, ns__fold_manager_com_allocated,
	ns__fold_manager_handover_changed, ns__fold_alert_raised, ns__fold_alert_closed;
ns__fold_fn ns__fold_licence_activated, ns__fold_licence_ended, ns__fold_recall_issued,
	ns__fold_recall_returned_to_custody, ns__fold_supervision_terminated,
	ns__fold_programme_referred, ns__fold_programme_completed;
ns__fold_fn ns__fold_appointment_outcome_recorded, ns__fold_requirement_ended,
	ns__fold_enforcement_warning_issued, ns__fold_breach_initiated, ns__fold_breach_concluded;
ns__fold_fn ns__fold_registration_added, ns__fold_registration_removed, ns__fold_tier_calculated;
ns__fold_fn ns__fold_access_restricted, ns__fold_access_lifted;
ns__fold_fn ns__fold_plan_goal_added, ns__fold_plan_goal_updated, ns__fold_plan_step_added,
	ns__fold_plan_step_updated, ns__fold_plan_agreed, ns__fold_plan_reviewed;

/* Render hooks, one per area; ns__renderers in fold.c lists them. */
ns__render_fn ns__render_identity, ns__render_custody, ns__render_sentence,
	ns__render_management, ns__render_licence, ns__render_community, ns__render_risk, ns__render_plan,
	ns__render_access;

/*
 * dump.c: the text json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) writes, in a
 * malloc'd buffer of *len bytes and a NUL. NULL with *declined set for what
 * it does not write (reals, strings that are not UTF-8, very deep trees):
 * use json_dumps for those; NULL without it: out of memory.
 */
char *ns__canonical_text(const json_t *v, size_t *len, int *declined);

/*
 * arena.c: while open, jansson's blocks on this thread come from chunks
 * released together by ns__arena_close (see there for what may be built
 * in one). Opens nothing if the program set its own jansson allocator or
 * an arena is already open on the thread.
 */
struct ns__arena {
	struct ns__chunk *chunks; /* newest first */
	char *p;                  /* the next free byte of the newest chunk */
	int open;
};
void ns__arena_open(struct ns__arena *a);
void ns__arena_close(struct ns__arena *a);
/*
 * json_decref(v) for an object whose members are either built in the open
 * arena @p a, with all they hold, or built outside it (these are released):
 * the arena's blocks are not walked, ns__arena_close releases them.
 */
void ns__arena_drop(struct ns__arena *a, json_t *v);

#endif /* NS__FOLD_INT_H */
