/*
 * nomsync-gen: realistic demo and benchmark data.
 *
 * Writes one JSON-lines file per emitting site, each line an event for
 * `nomsync append`, describing a life course per offender: court remand,
 * reception, conviction, sentence, remand credit, offender managers,
 * programme, transfer, release on licence at the computed CRD, and for some
 * a recall and return to custody; one offender in five serves a community
 * order or SSO instead (requirements, appointments, warnings, a breach).
 * Probation calculates a tier for each (recalculated after release for
 * some), registers a RoSH level for some (raised from medium to high before
 * release for a few, the old level removed) and a MAPPA category and level
 * for others. Each has a sentence plan started by the POM in custody
 * (goals, steps, agreement, initial review) and continued by the COM after
 * release (steps done, goals achieved, a transfer review). Identifiers are
 * well formed (NOMS, CRN,
 * PNC with its mod-23 check letter), prisons, regions and PDUs are checked
 * against the compiled-in reference data, and type names and closed-list
 * values come from the event catalogue (a value it does not list stops the
 * program).
 *
 *   nomsync-gen --outdir DIR [--offenders N] [--seed S] [--court CODE]
 *               [--prisons MDI,LEI] [--probation N55] [--conflicts] [--hub CODE]
 *
 * With --conflicts the first offender is also received at a second prison
 * with no release in between, and the prison marks a plan goal achieved
 * that the COM then changes without having seen it; the fold flags both.
 *
 * With --hub CODE, one custody course in 25 also has a duplicate record: the
 * prison creates the person again under a second NOMS number (Z...), and
 * the hub merges the duplicate into the real one (person.merged), as the
 * estate's data team does. Nothing else changes, so the other files are
 * the same with or without it.
 */
#include <nomsync/catalogue.h>
#include <nomsync/date.h>
#include <nomsync/event.h>
#include <nomsync/validate.h>

#include <jansson.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_PRISONS 16

static const char *surnames[] = { "SMITH",   "JONES",  "TAYLOR", "BROWN",  "WILLIAMS", "WILSON",
				  "JOHNSON", "DAVIES", "ROBINSON", "WRIGHT", "THOMPSON", "EVANS",
				  "WALKER",  "WHITE",  "ROBERTS", "GREEN",  "HALL",     "WOOD",
				  "JACKSON", "CLARKE", "PATEL",  "KHAN",   "LEWIS",    "HUGHES" };
static const char *forenames[] = { "JOHN",  "DAVID",  "MICHAEL", "JAMES",  "ROBERT", "PAUL",
				   "MARK",  "ANDREW", "DANIEL",  "THOMAS", "LEE",    "RYAN",
				   "CRAIG", "DEAN",   "LIAM",    "SARAH",  "EMMA",   "LISA" };
static const char *offences[][2] = {
	{ "TH68001", "Theft from the person of another" },
	{ "TH68010", "Burglary dwelling - with intent to steal" },
	{ "OF61016", "Assault occasioning actual bodily harm" },
	{ "MD71230", "Possess with intent to supply a controlled drug of Class A - crack cocaine" },
	{ "RT88001", "Dangerous driving" },
	{ "CD71014", "Robbery" },
};
static const char *programmes[] = { "TSP", "KAIZEN", "BBR", "RESOLVE", "HORIZON" };
static const char *alerts[][2] = { { "H", "HA" }, { "X", "XSA" }, { "R", "RSP" }, { "S", "SR" } };
static const char *tiers[] = { "A2", "B1", "B2", "B3", "C1", "C2", "C3", "D0", "D1", "D2" };
static const char *mappa_categories[] = { "M1", "M2", "M3", "M4" };

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	/* splitmix64: small, fast and reproducible for a given seed. */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return n ? (uint32_t)(z % n) : 0;
}

typedef struct site_file {
	char code[NS_SITE_MAX];
	FILE *f;
	unsigned long long lines;
} site_file;

static site_file files[MAX_PRISONS + 2];
static size_t nfiles;

static FILE *open_site(const char *dir, const char *code)
{
	char path[4096];
	for (size_t i = 0; i < nfiles; i++)
		if (strcmp(files[i].code, code) == 0)
			return files[i].f;
	snprintf(path, sizeof(path), "%s/%s.jsonl", dir, code);
	FILE *f = fopen(path, "w");
	if (f == NULL) {
		fprintf(stderr, "nomsync-gen: cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
	snprintf(files[nfiles].code, NS_SITE_MAX, "%s", code);
	files[nfiles++].f = f;
	return f;
}

static const char *outdir;

/* Event type numbers, named as in proto/event.proto. */
#define T(name) NOMSYNC__EVENT_TYPE__##name

/* Value @value of the closed list of field @field of event type @type, or exit. */
static const char *val(uint32_t type, const char *field, const char *value)
{
	const char *v = ns_catalogue_value(type, field, value);
	if (v == NULL) {
		fprintf(stderr, "nomsync-gen: the catalogue has no value %s for %s.%s\n", value, ns_type_name(type),
			field);
		exit(1);
	}
	return v;
}

/* Emit one event line of @type for @site. Takes ownership of @payload. */
static void emit(const char *site, uint32_t type, const char *offender, int32_t day, int hour,
		 json_t *payload)
{
	char t[21];
	json_object_set_new(payload, "type", json_string(ns_type_name(type)));
	json_object_set_new(payload, "offender", json_string(offender));
	ns_time_format(t, (int64_t)day * 86400 + hour * 3600 + (int64_t)rnd(3600));
	json_object_set_new(payload, "occurred_at", json_string(t));
	char *line = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
	FILE *f = open_site(outdir, site);
	if (line == NULL || fprintf(f, "%s\n", line) < 0) {
		fprintf(stderr, "nomsync-gen: write failed\n");
		exit(1);
	}
	for (size_t i = 0; i < nfiles; i++)
		if (files[i].f == f)
			files[i].lines++;
	free(line);
	json_decref(payload);
}

static void date_str(char out[11], int32_t day)
{
	ns_date_format(out, day);
}

/* A PNC id in long form with its check letter. */
static void make_pnc(char out[16], int year, uint32_t serial)
{
	static const char table[] = "ZABCDEFGHJKLMNPQRTUVWXY";
	unsigned long long v = (unsigned long long)(year % 100) * 10000000ull + serial;
	snprintf(out, 16, "%04d/%07u%c", year, serial, table[v % 23]);
}

/* One appointment outcome of a community sentence. */
static void appointment(const char *region, const char *crn, int32_t day, const char *req, const char *outcome,
			int minutes, int rar)
{
	char d[11];
	json_t *o;

	date_str(d, day);
	o = json_pack("{s:s,s:s,s:s,s:s}", "sentence_id", "S1", "requirement_id", req, "appointment_date", d,
		      "outcome", val(T(APPOINTMENT_OUTCOME_RECORDED), "outcome", outcome));
	if (minutes > 0)
		json_object_set_new(o, "minutes_credited", json_integer(minutes));
	if (rar)
		json_object_set_new(o, "rar", json_true());
	emit(region, T(APPOINTMENT_OUTCOME_RECORDED), crn, day, 17, o);
}

/*
 * A community sentence, known to probation by its CRN only: conviction, a
 * community order (or, one course in two, an SSO) with unpaid work and RAR
 * (and for some a curfew), the COM, weekly appointments with their
 * outcomes, and for every other course a failure to comply, a warning and a
 * second failure; then no breach yet (enforcement due), or a breach that is
 * still open, or one that the court concludes (continuing or revoking the order).
 */
static void community_course(unsigned idx, const char *court, const char *region, const char *pdu)
{
	char crn[8], d1[11], d2[11];
	int32_t day = ns_date_from_civil(2020, 1, 1) + (int32_t)(idx % 600), sday = day + 30;
	int sso = idx % 10 == 9, months = 12 + 6 * (int)rnd(3), hours = 40 + 20 * (int)rnd(4);
	int rar_days = 10 + (int)rnd(10), left = hours * 60, week = 0;
	const char *sname = surnames[rnd(sizeof(surnames) / sizeof(*surnames))];
	const char *fname = forenames[rnd(sizeof(forenames) / sizeof(*forenames))];
	int o = (int)rnd(sizeof(offences) / sizeof(*offences));
	json_t *reqs, *sent;

	snprintf(crn, sizeof(crn), "X%06u", (idx * 7919u) % 1000000u);
	date_str(d1, ns_date_from_civil(1975 + (int)rnd(30), 1 + (int)rnd(12), 1 + (int)rnd(28)));
	emit(region, T(PERSON_CREATED), crn, day, 10,
	     json_pack("{s:s,s:s,s:s}", "surname", sname, "forenames", fname, "dob", d1));
	date_str(d1, sday - 14);
	date_str(d2, day - 30 - (int32_t)rnd(60));
	emit(court, T(COURT_CONVICTED), crn, sday - 14, 12,
	     json_pack("{s:[{s:s,s:s,s:s}],s:s,s:s}", "offences", "code", offences[o][0], "description",
		       offences[o][1], "offence_date", d2, "verdict_date", d1, "court", court));
	reqs = json_pack("[{s:s,s:s,s:i,s:s},{s:s,s:s,s:i,s:s}]", "requirement_id", "R1", "category",
			 "UNPAID_WORK", "length", hours, "unit", "HOURS",
			 "requirement_id", "R2", "category", "RAR", "length", rar_days, "unit", "DAYS");
	if (idx % 3 == 0)
		json_array_append_new(reqs, json_pack("{s:s,s:s,s:i,s:s}", "requirement_id", "R3", "category",
						      "CURFEW", "length", 3, "unit", "MONTHS"));
	date_str(d1, sday);
	sent = json_pack("{s:s,s:s,s:s,s:i,s:s,s:o}", "sentence_id", "S1", "sentence_date", d1, "sentence_type",
			 val(T(SENTENCE_IMPOSED), "sentence_type", sso ? "SSO" : "COMMUNITY_ORDER"), "term_months",
			 sso ? 24 : months, "court", court, "requirements", reqs);
	if (sso)
		json_object_set_new(sent, "suspended_months", json_integer(6));
	emit(court, T(SENTENCE_IMPOSED), crn, sday, 14, sent);
	emit(region, T(MANAGER_COM_ALLOCATED), crn, sday + 2, 11,
	     json_pack("{s:s,s:s,s:s,s:s,s:s}", "region", region, "pdu", pdu, "team", "T02", "staff", "COM0002",
		       "name", "D. MANAGER"));
	/* Unpaid work weekly, 7 hours a day, until the hours are done. */
	for (week = 1; left > 0; week++) {
		int minutes = left < 420 ? left : 420;
		appointment(region, crn, sday + 7 * week, "R1", "ATTC", minutes, 0);
		left -= minutes;
	}
	date_str(d1, sday + 7 * week);
	emit(region, T(REQUIREMENT_ENDED), crn, sday + 7 * week, 10,
	     json_pack("{s:s,s:s,s:s,s:s}", "sentence_id", "S1", "requirement_id", "R1", "reason",
		       val(T(REQUIREMENT_ENDED), "reason", "COMPLETED"), "end_date", d1));
	/* RAR sessions midweek; the first week has two on one day (one RAR day). */
	for (int k = 0; k < 6; k++)
		appointment(region, crn, sday + 3 + 7 * (k == 0 ? 0 : k - 1), "R2", k == 5 ? "AAME" : "ATTC", 0, 1);
	if (idx % 2 == 0) {
		int32_t fail = sday + 50, warn = fail + 2, again = fail + 30, breach = again + 5;
		appointment(region, crn, fail, "R2", "UAAB", 0, 1);
		date_str(d1, warn);
		emit(region, T(ENFORCEMENT_WARNING_ISSUED), crn, warn, 10,
		     json_pack("{s:s,s:s}", "sentence_id", "S1", "warning_date", d1));
		appointment(region, crn, again, "R2", "AFTA", 0, 1);
		if (idx % 20 == 14)
			return; /* enforcement due: no breach yet */
		date_str(d1, breach);
		emit(region, T(BREACH_INITIATED), crn, breach, 10,
		     json_pack("{s:s,s:s,s:s,s:s}", "sentence_id", "S1", "breach_id", "B1", "breach_date", d1,
			       "reason", "second failure to comply within 12 months of a warning"));
		if (idx % 3 == 1)
			return; /* the breach still open */
		date_str(d1, breach + 21);
		emit(court, T(BREACH_CONCLUDED), crn, breach + 21, 15,
		     json_pack("{s:s,s:s,s:s}", "breach_id", "B1", "outcome",
			       val(T(BREACH_CONCLUDED), "outcome", idx % 8 == 0 ? "ORDER_REVOKED" : "ORDER_CONTINUED"),
			       "conclusion_date", d1));
	}
}

/* registration.added (a MAPPA one with its category and level) or registration.removed. */
static void registration(const char *region, const char *crn, int32_t day, const char *type, int added,
			 const char *category, const char *level)
{
	char d[11];
	json_t *o;

	date_str(d, day);
	o = json_pack("{s:s,s:s}", "register_type", type, added ? "registration_date" : "removal_date", d);
	if (category != NULL) {
		json_object_set_new(o, "category", json_string(val(T(REGISTRATION_ADDED), "category", category)));
		json_object_set_new(o, "level", json_string(val(T(REGISTRATION_ADDED), "level", level)));
	}
	emit(region, added ? T(REGISTRATION_ADDED) : T(REGISTRATION_REMOVED), crn, day, 13, o);
}

/* A probation tier calculation. */
static void tier(const char *region, const char *crn, int32_t day, unsigned idx, const char *score)
{
	char d[11], id[32];

	date_str(d, day);
	snprintf(id, sizeof(id), "TIER-%06u-%d", idx, (int)day);
	emit(region, T(TIER_CALCULATED), crn, day, 14,
	     json_pack("{s:s,s:s,s:s}", "tier", val(T(TIER_CALCULATED), "tier", score), "calculation_id", id,
		       "calculation_date", d));
}

/*
 * After sentence: a tier for everyone; RoSH medium for every third
 * offender, and a MAPPA registration (category, level) for every fifth
 * from the third.
 */
static void risk_at_sentence(unsigned idx, const char *crn, const char *region, int32_t sentence_day)
{
	tier(region, crn, sentence_day + 14, idx, tiers[idx % 10]);
	if (idx % 3 == 0)
		registration(region, crn, sentence_day + 15, "RMRH", 1, NULL, NULL);
	if (idx % 5 == 2)
		registration(region, crn, sentence_day + 16, "MAPP", 1, mappa_categories[(idx / 5) % 4],
			     idx % 2 ? "M2" : "M1");
}

/* Around release: RoSH raised to high for some (medium removed), a new tier for others. */
static void risk_after_release(unsigned idx, const char *crn, const char *region, int32_t crd)
{
	if (idx % 6 == 0) {
		registration(region, crn, crd - 20, "RHRH", 1, NULL, NULL);
		registration(region, crn, crd - 20, "RMRH", 0, NULL, NULL);
	}
	if (idx % 4 == 1)
		tier(region, crn, crd + 7, idx, idx % 8 == 1 ? "B2" : "C2");
}

/* CRD of the generated sentence: half the term (two thirds for SDS+), less remand. */
static int32_t crd_of(int32_t sentence_day, int years, int months, int remand_days, unsigned idx)
{
	int32_t days = ns_date_add(sentence_day, years, months, 0) - sentence_day;

	if (idx % 7 == 3)
		return sentence_day + (2 * days + 2) / 3 - 1 - remand_days;
	return sentence_day + (days + 1) / 2 - 1 - remand_days;
}

/* A status update of plan goal @p goal (@p step NULL) or of one of its steps. */
static void plan_update(const char *site, const char *off, int32_t day, int hour, const char *goal,
			const char *step, const char *status, const char *prev)
{
	uint32_t type = step ? T(PLAN_STEP_UPDATED) : T(PLAN_GOAL_UPDATED);
	json_t *p = json_pack("{s:s,s:s,s:s}", "goal_id", goal, "status", val(type, "status", status),
			      "previous_status", val(type, "previous_status", prev));

	if (step != NULL)
		json_object_set_new(p, "step_id", json_string(step));
	emit(site, type, off, day, hour, p);
}

/*
 * The POM's sentence plan at prison @p prison: somewhere to live by the
 * release date and work (a FUTURE goal, no target date), a step each,
 * the person's agreement and the initial review.
 */
static void plan_in_custody(const char *prison, const char *noms, int32_t day, int32_t crd)
{
	char d[11];

	date_str(d, crd);
	emit(prison, T(PLAN_GOAL_ADDED), noms, day, 10,
	     json_pack("{s:s,s:s,s:s,s:s}", "goal_id", "G1", "area_of_need",
		       val(T(PLAN_GOAL_ADDED), "area_of_need", "ACCOMMODATION"), "title",
		       "Somewhere to live on release", "target_date", d));
	emit(prison, T(PLAN_GOAL_ADDED), noms, day, 11,
	     json_pack("{s:s,s:s,s:s}", "goal_id", "G2", "area_of_need",
		       val(T(PLAN_GOAL_ADDED), "area_of_need", "EMPLOYMENT_AND_EDUCATION"), "title",
		       "Find work after release"));
	emit(prison, T(PLAN_STEP_ADDED), noms, day, 12,
	     json_pack("{s:s,s:s,s:s,s:s}", "goal_id", "G1", "step_id", "S1", "description",
		       "Referral to housing advice", "actor",
		       val(T(PLAN_STEP_ADDED), "actor", "PRISON_OFFENDER_MANAGER")));
	emit(prison, T(PLAN_STEP_ADDED), noms, day, 13,
	     json_pack("{s:s,s:s,s:s,s:s}", "goal_id", "G2", "step_id", "S1", "description",
		       "Apply for a construction skills card", "actor", val(T(PLAN_STEP_ADDED), "actor", "PERSON")));
	emit(prison, T(PLAN_AGREED), noms, day + 1, 10,
	     json_pack("{s:s}", "agreement_status", val(T(PLAN_AGREED), "agreement_status", "AGREED")));
	emit(prison, T(PLAN_REVIEWED), noms, day + 1, 11,
	     json_pack("{s:s,s:s,s:b,s:s}", "review_type", val(T(PLAN_REVIEWED), "review_type", "INITIAL"),
		       "support_needed", val(T(PLAN_REVIEWED), "support_needed", "YES"), "involved", 1, "note",
		       "Plan made at induction"));
}

/* The COM carries the plan on after release: housing done, work now active, a transfer review. */
static void plan_in_community(const char *region, const char *crn, int32_t day)
{
	plan_update(region, crn, day, 10, "G1", "S1", "COMPLETED", "NOT_STARTED");
	plan_update(region, crn, day, 11, "G1", NULL, "ACHIEVED", "ACTIVE");
	plan_update(region, crn, day, 12, "G2", NULL, "ACTIVE", "FUTURE");
	plan_update(region, crn, day, 13, "G2", "S1", "IN_PROGRESS", "NOT_STARTED");
	emit(region, T(PLAN_REVIEWED), crn, day, 14,
	     json_pack("{s:s,s:s,s:b,s:s}", "review_type", val(T(PLAN_REVIEWED), "review_type", "TRANSFER"),
		       "support_needed", val(T(PLAN_REVIEWED), "support_needed", "NO"), "involved", 1, "note",
		       "Plan reviewed with the COM after release"));
}

/* The NOMS number of course @p idx. */
static void noms_of(unsigned idx, char noms[8])
{
	snprintf(noms, 8, "%c%04u%c%c", 'A' + (idx / 67600) % 26, idx % 10000, 'A' + (idx / 10000) % 26,
		 'A' + (idx / 260000 + idx) % 26);
}

/*
 * A duplicate record of course @p idx created at @p prison under a second
 * NOMS number, and the hub's merge of it into the real one. Draws nothing
 * from the generator, so the rest of the data does not depend on it.
 */
static void duplicate_and_merge(unsigned idx, const char *prison, const char *hub)
{
	char noms[8], dup[8], dob[11];
	int32_t day = ns_date_from_civil(2020, 3, 1) + (int32_t)(idx % 600);

	noms_of(idx, noms);
	snprintf(dup, sizeof(dup), "Z%04u%c%c", idx % 10000, 'A' + (idx / 10000) % 26, 'A' + idx % 26);
	date_str(dob, ns_date_from_civil(1980 + (int)(idx % 20), 1 + (int)(idx % 12), 1 + (int)(idx % 28)));
	emit(prison, T(PERSON_CREATED), dup, day, 9,
	     json_pack("{s:s,s:s,s:s}", "surname", surnames[idx % (sizeof(surnames) / sizeof(*surnames))],
		       "forenames", forenames[idx % (sizeof(forenames) / sizeof(*forenames))], "dob", dob));
	emit(hub, T(PERSON_MERGED), noms, day + 3, 11,
	     json_pack("{s:s,s:s,s:s}", "identifier_type", val(T(PERSON_MERGED), "identifier_type", "NOMS"),
		       "survivor", noms, "removed", dup));
}

static void life_course(unsigned idx, const char *court, char prisons[][NS_SITE_MAX], size_t nprisons,
			const char *region, const char *pdu, int conflicts)
{
	char noms[8], crn[8], pnc[16], d1[11], d2[11];
	const char *p1 = prisons[idx % nprisons], *p2 = prisons[(idx + 1) % nprisons];
	/* Courses start in 2020-2021 so that every event (the last come about four years
	 * later) is in the past: an append refuses a time ahead of the clock. */
	int32_t base = ns_date_from_civil(2020, 1, 1) + (int32_t)(idx % 600);
	int32_t remand_day = base, sentence_day = base + 40 + (int32_t)rnd(20);
	int years = 1 + (int)rnd(5), months = (int)rnd(12);
	int remand_days = sentence_day - remand_day;
	const char *sname = surnames[rnd(sizeof(surnames) / sizeof(*surnames))];
	uint32_t fi = rnd(sizeof(forenames) / sizeof(*forenames));
	const char *fname = forenames[fi];
	/* The last three forenames are women's names. */
	const char *gender = val(T(PERSON_CREATED), "gender", fi >= 15 ? "F" : "M");
	int o = (int)rnd(sizeof(offences) / sizeof(*offences));

	noms_of(idx, noms);
	snprintf(crn, sizeof(crn), "X%06u", (idx * 7919u) % 1000000u);
	make_pnc(pnc, 1995 + (int)rnd(28), 10000 + idx);

	/* Court: remand in custody. */
	date_str(d1, remand_day);
	emit(court, T(COURT_REMANDED), noms, remand_day, 10,
	     json_pack("{s:s,s:s,s:b}", "court", court, "remand_date", d1, "custodial", 1));
	/* Prison: person created and received. */
	date_str(d1, ns_date_from_civil(1970 + (int)rnd(35), 1 + (int)rnd(12), 1 + (int)rnd(28)));
	emit(p1, T(PERSON_CREATED), noms, remand_day, 15,
	     json_pack("{s:s,s:s,s:s,s:s,s:s}", "surname", sname, "forenames", fname, "dob", d1, "gender",
		       gender, "pnc", pnc));
	emit(p1, T(PRISONER_RECEIVED), noms, remand_day, 16,
	     json_pack("{s:s,s:s,s:s}", "prison", p1, "reason", val(T(PRISONER_RECEIVED), "reason", "NEW_ADMISSION"),
		       "movement_reason_code", "N"));
	if (conflicts && idx == 0)
		emit(p2, T(PRISONER_RECEIVED), noms, remand_day + 3, 11,
		     json_pack("{s:s,s:s}", "prison", p2, "reason", val(T(PRISONER_RECEIVED), "reason", "NEW_ADMISSION")));
	emit(p1, T(ALERT_RAISED), noms, remand_day + 1, 9,
	     json_pack("{s:s,s:s,s:s}", "alert_type", alerts[idx % 4][0], "alert_code", alerts[idx % 4][1],
		       "from_date", (date_str(d1, remand_day + 1), d1)));
	/* Court: conviction and sentence. */
	date_str(d1, sentence_day - 14);
	date_str(d2, remand_day - 20 - (int32_t)rnd(60));
	emit(court, T(COURT_CONVICTED), noms, sentence_day - 14, 12,
	     json_pack("{s:[{s:s,s:s,s:s}],s:s,s:s}", "offences", "code", offences[o][0], "description",
		       offences[o][1], "offence_date", d2, "verdict_date", d1, "court", court));
	date_str(d1, sentence_day);
	emit(court, T(SENTENCE_IMPOSED), noms, sentence_day, 14,
	     json_pack("{s:s,s:s,s:s,s:i,s:i,s:s,s:s}", "sentence_id", "S1", "sentence_date", d1,
		       "sentence_type",
		       val(T(SENTENCE_IMPOSED), "sentence_type", idx % 7 == 3 ? "SDS_PLUS" : "SDS"), "term_years", years,
		       "term_months", months, "court", court, "offence_date", d2));
	emit(p1, T(PRISONER_ADJUSTMENT_RECORDED), noms, sentence_day + 1, 9,
	     json_pack("{s:s,s:i}", "adjustment_type",
		       val(T(PRISONER_ADJUSTMENT_RECORDED), "adjustment_type", "REMAND"), "days", remand_days));
	emit(p1, T(MANAGER_POM_ALLOCATED), noms, sentence_day + 5, 10,
	     json_pack("{s:s,s:s,s:s}", "prison", p1, "staff", "POM0001", "name", "A. OFFICER"));
	plan_in_custody(p1, noms, sentence_day + 7, crd_of(sentence_day, years, months, remand_days, idx));
	/* Probation: the case, linked to the NOMS number, and the COM. */
	date_str(d1, ns_date_from_civil(1970, 1, 1));
	emit(region, T(PERSON_IDENTIFIER_ADDED), crn, sentence_day + 10, 9,
	     json_pack("{s:s,s:s}", "identifier_type", val(T(PERSON_IDENTIFIER_ADDED), "identifier_type", "NOMS"),
		       "value", noms));
	emit(region, T(MANAGER_COM_ALLOCATED), crn, sentence_day + 12, 11,
	     json_pack("{s:s,s:s,s:s,s:s,s:s}", "region", region, "pdu", pdu, "team", "T01", "staff",
		       "COM0001", "name", "B. MANAGER"));
	risk_at_sentence(idx, crn, region, sentence_day);
	/* Programme, transfer, completion. */
	date_str(d1, sentence_day + 30);
	emit(p1, T(PROGRAMME_REFERRED), noms, sentence_day + 30, 10,
	     json_pack("{s:s,s:s,s:s}", "programme", programmes[idx % 5], "setting",
		       val(T(PROGRAMME_REFERRED), "setting", "custody"), "referral_date", d1));
	int32_t crd = crd_of(sentence_day, years, months, remand_days, idx);
	int32_t sled = ns_date_add(sentence_day, years, months, 0) - 1 - remand_days;
	int32_t transfer = sentence_day + 60;
	if (nprisons > 1 && transfer < crd - 30) {
		emit(p1, T(PRISONER_TRANSFERRED), noms, transfer, 8,
		     json_pack("{s:s,s:s,s:s}", "from_prison", p1, "to_prison", p2, "reason", "SEC"));
		emit(p2, T(MANAGER_POM_ALLOCATED), noms, transfer + 3, 10,
		     json_pack("{s:s,s:s,s:s}", "prison", p2, "staff", "POM0002", "name", "C. OFFICER"));
	} else {
		p2 = p1;
	}
	date_str(d1, transfer + 20 > crd ? crd - 1 : transfer + 20);
	emit(p2, T(PROGRAMME_COMPLETED), noms, transfer + 20 > crd ? crd - 1 : transfer + 20, 15,
	     json_pack("{s:s,s:s,s:s,s:s}", "programme", programmes[idx % 5], "setting",
		       val(T(PROGRAMME_COMPLETED), "setting", "custody"), "outcome",
		       val(T(PROGRAMME_COMPLETED), "outcome", "COMPLETED"), "completion_date", d1));
	/* Release on licence at CRD. */
	emit(p2, T(PRISONER_RELEASED), noms, crd, 9,
	     json_pack("{s:s,s:s,s:s,s:s}", "prison", p2, "reason", val(T(PRISONER_RELEASED), "reason", "RELEASED"),
		       "release_type", val(T(PRISONER_RELEASED), "release_type", "CRD"),
		       "movement_reason_code", "CR"));
	date_str(d1, crd);
	date_str(d2, sled);
	emit(region, T(LICENCE_ACTIVATED), crn, crd, 12,
	     json_pack("{s:s,s:s,s:s,s:s,s:[s,s]}", "licence_id", "L1", "licence_type",
		       val(T(LICENCE_ACTIVATED), "licence_type", "AP"), "start_date", d1,
		       "expiry_date", d2, "conditions", "RESIDE_AT_APPROVED_ADDRESS", "NO_CONTACT_VICTIM"));
	risk_after_release(idx, crn, region, crd);
	if (conflicts && idx == 0)
		emit(p2, T(PLAN_GOAL_UPDATED), noms, crd - 2, 11,
		     json_pack("{s:s,s:s,s:s,s:s}", "goal_id", "G2", "status",
			       val(T(PLAN_GOAL_UPDATED), "status", "ACHIEVED"), "previous_status",
			       val(T(PLAN_GOAL_UPDATED), "previous_status", "FUTURE"), "note", "Job offer on release"));
	plan_in_community(region, crn, crd + 14);
	if (idx % 3 == 1) {
		date_str(d1, crd + 60);
		emit(region, T(RECALL_ISSUED), crn, crd + 60, 10,
		     json_pack("{s:s,s:s,s:s,s:[s]}", "recall_id", "R1", "recall_type",
			       val(T(RECALL_ISSUED), "recall_type", "FTR_28"),
			       "revocation_date", d1, "sentence_ids", "S1"));
		date_str(d1, crd + 63);
		emit(p2, T(RECALL_RETURNED_TO_CUSTODY), noms, crd + 63, 18,
		     json_pack("{s:s,s:s,s:i,s:s}", "prison", p2, "return_date", d1, "ual_days", 3, "recall_id",
			       "R1"));
	}
}

int main(int argc, char **argv)
{
	unsigned offenders = 20;
	unsigned long long seed = 1;
	const char *court = "SHEFMC", *prison_list = "MDI,LEI", *region = "N55", *pdu = NULL;
	char prisons[MAX_PRISONS][NS_SITE_MAX];
	size_t nprisons = 0;
	int conflicts = 0;
	const char *hub = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--outdir") == 0 && i + 1 < argc)
			outdir = argv[++i];
		else if (strcmp(argv[i], "--offenders") == 0 && i + 1 < argc)
			offenders = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--court") == 0 && i + 1 < argc)
			court = argv[++i];
		else if (strcmp(argv[i], "--prisons") == 0 && i + 1 < argc)
			prison_list = argv[++i];
		else if (strcmp(argv[i], "--probation") == 0 && i + 1 < argc)
			region = argv[++i];
		else if (strcmp(argv[i], "--pdu") == 0 && i + 1 < argc)
			pdu = argv[++i];
		else if (strcmp(argv[i], "--conflicts") == 0)
			conflicts = 1;
		else if (strcmp(argv[i], "--hub") == 0 && i + 1 < argc)
			hub = argv[++i];
		else {
			fprintf(stderr, "usage: nomsync-gen --outdir DIR [--offenders N] [--seed S] [--court CODE]\n"
					"                   [--prisons MDI,LEI] [--probation N55] [--pdu N55DNR] [--conflicts]\n"
					"                   [--hub CODE]\n");
			return 2;
		}
	}
	if (outdir == NULL) {
		fprintf(stderr, "nomsync-gen: --outdir DIR is required\n");
		return 2;
	}
	if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "nomsync-gen: cannot create %s: %s\n", outdir, strerror(errno));
		return 1;
	}
	for (const char *p = prison_list; *p && nprisons < MAX_PRISONS;) {
		size_t l = strcspn(p, ",");
		if (l == 0 || l >= NS_SITE_MAX) {
			fprintf(stderr, "nomsync-gen: bad prison list '%s'\n", prison_list);
			return 2;
		}
		memcpy(prisons[nprisons], p, l);
		prisons[nprisons++][l] = '\0';
		p += l + (p[l] == ',');
	}
	if (pdu == NULL)
		pdu = strcmp(region, "N07") == 0 ? "LDNBBG" : strcmp(region, "N55") == 0 ? "N55DNR" : "";
	for (size_t i = 0; i < nprisons; i++)
		if (!ns_is_prison(prisons[i])) {
			fprintf(stderr, "nomsync-gen: '%s' is not an establishment code (establishments.csv)\n",
				prisons[i]);
			return 2;
		}
	if (!ns_is_region(region) || (pdu[0] != '\0' && !ns_is_pdu(pdu, region))) {
		fprintf(stderr, "nomsync-gen: '%s' is not a probation region, or '%s' not one of its PDUs\n", region,
			pdu);
		return 2;
	}
	rng_state = seed;
	for (unsigned i = 0; i < offenders; i++) {
		if (i % 5 == 4)
			community_course(i, court, region, pdu);
		else
			life_course(i, court, prisons, nprisons, region, pdu, conflicts);
	}
	if (hub != NULL) {
		if (ns_validate_site(NS_ROLE_HUB, hub, NULL) != 0) {
			fprintf(stderr, "nomsync-gen: '%s' is not a hub site code\n", hub);
			return 2;
		}
		for (unsigned i = 3; i < offenders; i += 25)
			duplicate_and_merge(i, prisons[i % nprisons], hub);
	}
	for (size_t i = 0; i < nfiles; i++) {
		if (fclose(files[i].f) != 0) {
			fprintf(stderr, "nomsync-gen: write failed for %s\n", files[i].code);
			return 1;
		}
		printf("%s %llu\n", files[i].code, files[i].lines);
	}
	return 0;
}
