/*
 * Tests for src/validate: identifier formats and check letters, the
 * compiled-in reference data, site codes, the role/type table of
 * REFERENCE.md section 6, and the payload rules of every event type.
 *
 * Payloads are built on the stack from the protobuf-c INIT macros: a
 * fixture holds one valid message of every type, and each test breaks one
 * field and checks the code and the field named in the diag.
 */
#include <nomsync/catalogue.h>
#include <nomsync/fold.h>
#include <nomsync/validate.h>

#include <stdlib.h>
#include <string.h>

#include "test.h"

/* One valid payload message of every type, plus the Payload wrapper. */
struct fx {
	Nomsync__PersonCreated pc;
	Nomsync__PersonIdentifierAdded pia;
	Nomsync__CourtRemanded crm;
	Nomsync__Offence off[2];
	Nomsync__Offence *offp[2];
	Nomsync__CourtConvicted cc;
	Nomsync__SentenceImposed si;
	Nomsync__PrisonerReceived prc;
	Nomsync__PrisonerReleased prl;
	Nomsync__PrisonerTransferred pt;
	Nomsync__PrisonerAdjustmentRecorded adj;
	Nomsync__AlertRaised ar;
	Nomsync__AlertClosed acl;
	Nomsync__ManagerPomAllocated pom;
	Nomsync__ManagerComAllocated com;
	char *conds[2];
	Nomsync__LicenceActivated la;
	char *sids[2];
	Nomsync__RecallIssued ri;
	Nomsync__RecallReturnedToCustody rtc;
	Nomsync__ProgrammeReferred prf;
	Nomsync__ProgrammeCompleted pcm;
	Nomsync__SupervisionTerminated st;
	Nomsync__PersonDeceased pd;
	Nomsync__EventCorrected ec;
	Nomsync__CourtAppearanceRecorded car;
	Nomsync__SentenceQuashed sq;
	Nomsync__RegistrationAdded rga;
	Nomsync__RegistrationRemoved rgr;
	Nomsync__ManagerHandoverChanged mh;
	Nomsync__LicenceEnded le;
	Nomsync__RosterSiteAdded rsa;
	Nomsync__RosterKeyRotated rkr;
	Nomsync__RosterKeyRevoked rkv;
	Nomsync__SentenceDatesCalculated sdc;
	Nomsync__Requirement req[2];
	Nomsync__Requirement *reqp[2];
	Nomsync__AppointmentOutcomeRecorded aor;
	Nomsync__RequirementEnded ren;
	Nomsync__EnforcementWarningIssued ewi;
	Nomsync__BreachInitiated bi;
	Nomsync__BreachConcluded bc;
	Nomsync__EventErased ee;
	Nomsync__TierCalculated tc;
	Nomsync__PersonMerged pm;
	Nomsync__PersonUnmerged pu;
	Nomsync__PlanGoalAdded pga;
	Nomsync__PlanGoalUpdated pgu;
	Nomsync__PlanStepAdded psa;
	Nomsync__PlanStepUpdated psu;
	Nomsync__PlanAgreed pag;
	Nomsync__PlanReviewed prv;
	char *users[NS_ACCESS_MAX_USERS + 1];
	char user_ids[NS_ACCESS_MAX_USERS + 1][8];
	Nomsync__AccessRestricted arx;
	Nomsync__AccessLifted alf;
	Nomsync__Payload p;
};

#define KEY1 "d7f59c519493dccbc72e2702fa5d21fc3942d5d62122d47d096cb25b8dfdc579"
#define KEY2 "79deb98023a309ebb4c75eef66caa46d507e5b9a939bbd793f98783316b2d966"

/* Offender carried by events of @type: roster changes concern no person. */
static const char *offender_for(uint32_t type, const char *person)
{
	return ns_role_may_emit(NS_ROLE_AUTHORITY, type) ? NS_ROSTER_REF : person;
}

#define EVID "9f2c4e6a8b0d1f3a5c7e9b1d3f5a7c9e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a"

/* Fill every message with valid values. */
static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	f->rsa = (Nomsync__RosterSiteAdded)NOMSYNC__ROSTER_SITE_ADDED__INIT;
	f->rsa.site = "WDI";
	f->rsa.role = "prison";
	f->rsa.key = KEY1;
	f->rkr = (Nomsync__RosterKeyRotated)NOMSYNC__ROSTER_KEY_ROTATED__INIT;
	f->rkr.site = "MDI";
	f->rkr.old_key = KEY1;
	f->rkr.new_key = KEY2;
	f->rkv = (Nomsync__RosterKeyRevoked)NOMSYNC__ROSTER_KEY_REVOKED__INIT;
	f->rkv.site = "MDI";
	f->rkv.key = KEY1;
	f->rkv.from_seq = 42;
	f->pc = (Nomsync__PersonCreated)NOMSYNC__PERSON_CREATED__INIT;
	f->pc.surname = "SMITH";
	f->pc.forenames = "JOHN PAUL";
	f->pc.dob = "1985-03-14";
	f->pc.gender = "M";
	f->pc.pnc = "2012/0052494Q";
	f->pc.cro = "29906/12J";

	f->pia = (Nomsync__PersonIdentifierAdded)NOMSYNC__PERSON_IDENTIFIER_ADDED__INIT;
	f->pia.identifier_type = "CRN";
	f->pia.value = "X123456";
	f->pia.book_number = "38412A";

	f->crm = (Nomsync__CourtRemanded)NOMSYNC__COURT_REMANDED__INIT;
	f->crm.court = "SHEFCC";
	f->crm.remand_date = "2026-01-02";
	f->crm.custodial = 1;

	for (int i = 0; i < 2; i++) {
		f->off[i] = (Nomsync__Offence)NOMSYNC__OFFENCE__INIT;
		f->off[i].code = i ? "CJ88116" : "TH68001";
		f->off[i].description = "Theft";
		f->off[i].offence_date = "2025-11-20";
		f->offp[i] = &f->off[i];
	}
	f->cc = (Nomsync__CourtConvicted)NOMSYNC__COURT_CONVICTED__INIT;
	f->cc.n_offences = 2;
	f->cc.offences = f->offp;
	f->cc.verdict_date = "2026-01-10";
	f->cc.court = "SHEFCC";

	f->si = (Nomsync__SentenceImposed)NOMSYNC__SENTENCE_IMPOSED__INIT;
	f->si.sentence_id = "S1";
	f->si.sentence_date = "2026-02-01";
	f->si.sentence_type = "SDS";
	f->si.term_years = 2;
	f->si.court = "SHEFCC";
	f->si.offence_date = "2025-11-20";

	f->prc = (Nomsync__PrisonerReceived)NOMSYNC__PRISONER_RECEIVED__INIT;
	f->prc.prison = "MDI";
	f->prc.reason = "NEW_ADMISSION";
	f->prc.booking_id = "1205032";

	f->prl = (Nomsync__PrisonerReleased)NOMSYNC__PRISONER_RELEASED__INIT;
	f->prl.prison = "LEI";
	f->prl.reason = "RELEASED";
	f->prl.release_type = "CRD";
	f->prl.movement_reason_code = "CR";

	f->pt = (Nomsync__PrisonerTransferred)NOMSYNC__PRISONER_TRANSFERRED__INIT;
	f->pt.from_prison = "LEI";
	f->pt.to_prison = "MDI";

	f->adj = (Nomsync__PrisonerAdjustmentRecorded)NOMSYNC__PRISONER_ADJUSTMENT_RECORDED__INIT;
	f->adj.adjustment_type = "REMAND";
	f->adj.days = 12;
	f->adj.from_date = "2025-12-01";
	f->adj.to_date = "2025-12-12";

	f->ar = (Nomsync__AlertRaised)NOMSYNC__ALERT_RAISED__INIT;
	f->ar.alert_type = "H";
	f->ar.alert_code = "HA";
	f->ar.from_date = "2026-01-05";

	f->acl = (Nomsync__AlertClosed)NOMSYNC__ALERT_CLOSED__INIT;
	f->acl.alert_code = "HA";
	f->acl.to_date = "2026-02-05";

	f->pom = (Nomsync__ManagerPomAllocated)NOMSYNC__MANAGER_POM_ALLOCATED__INIT;
	f->pom.prison = "MDI";
	f->pom.staff = "485926";
	f->pom.name = "Jane Jones";

	f->com = (Nomsync__ManagerComAllocated)NOMSYNC__MANAGER_COM_ALLOCATED__INIT;
	f->com.region = "N50";
	f->com.pdu = "N50BOLT";
	f->com.team = "N50CAC";
	f->com.staff = "N50A123";

	f->conds[0] = "Reside at approved address";
	f->conds[1] = "Curfew 19:00-07:00";
	f->la = (Nomsync__LicenceActivated)NOMSYNC__LICENCE_ACTIVATED__INIT;
	f->la.licence_id = "L42";
	f->la.licence_type = "AP";
	f->la.start_date = "2026-06-01";
	f->la.expiry_date = "2027-06-01";
	f->la.n_conditions = 2;
	f->la.conditions = f->conds;

	f->sids[0] = "S1";
	f->sids[1] = "S2";
	f->ri = (Nomsync__RecallIssued)NOMSYNC__RECALL_ISSUED__INIT;
	f->ri.recall_id = "R7";
	f->ri.recall_type = "FTR_28";
	f->ri.revocation_date = "2026-08-01";
	f->ri.n_sentence_ids = 2;
	f->ri.sentence_ids = f->sids;

	f->rtc = (Nomsync__RecallReturnedToCustody)NOMSYNC__RECALL_RETURNED_TO_CUSTODY__INIT;
	f->rtc.prison = "LEI";
	f->rtc.return_date = "2026-08-10";
	f->rtc.ual_days = 9;
	f->rtc.recall_id = "R7";

	f->prf = (Nomsync__ProgrammeReferred)NOMSYNC__PROGRAMME_REFERRED__INIT;
	f->prf.programme = "TSP";
	f->prf.setting = "custody";
	f->prf.referral_date = "2026-03-01";

	f->pcm = (Nomsync__ProgrammeCompleted)NOMSYNC__PROGRAMME_COMPLETED__INIT;
	f->pcm.programme = "TSP";
	f->pcm.setting = "community";
	f->pcm.outcome = "COMPLETED";
	f->pcm.completion_date = "2026-05-01";

	f->st = (Nomsync__SupervisionTerminated)NOMSYNC__SUPERVISION_TERMINATED__INIT;
	f->st.reason = "EXPIRY";
	f->st.termination_date = "2028-01-01";

	f->pd = (Nomsync__PersonDeceased)NOMSYNC__PERSON_DECEASED__INIT;
	f->pd.date_of_death = "2030-01-01";

	f->ec = (Nomsync__EventCorrected)NOMSYNC__EVENT_CORRECTED__INIT;
	f->ec.target_event_id = EVID;
	f->ec.reason = "booking moved";

	f->car = (Nomsync__CourtAppearanceRecorded)NOMSYNC__COURT_APPEARANCE_RECORDED__INIT;
	f->car.court = "B01EF";
	f->car.appearance_date = "2026-01-02";
	f->car.outcome = "Adjourned";
	f->car.next_hearing_date = "2026-01-20";
	f->car.case_ref = "T20267001";

	f->sq = (Nomsync__SentenceQuashed)NOMSYNC__SENTENCE_QUASHED__INIT;
	f->sq.sentence_id = "S1";
	f->sq.reason = "appeal allowed";

	f->rga = (Nomsync__RegistrationAdded)NOMSYNC__REGISTRATION_ADDED__INIT;
	f->rga.register_type = "RHRH";
	f->rga.registration_date = "2026-04-01";

	f->rgr = (Nomsync__RegistrationRemoved)NOMSYNC__REGISTRATION_REMOVED__INIT;
	f->rgr.register_type = "RHRH";
	f->rgr.removal_date = "2026-09-01";

	f->mh = (Nomsync__ManagerHandoverChanged)NOMSYNC__MANAGER_HANDOVER_CHANGED__INIT;
	f->mh.handover_date = "2026-05-15";
	f->mh.responsible = "COM";

	f->ee = (Nomsync__EventErased)NOMSYNC__EVENT_ERASED__INIT;
	f->ee.target_event_id = EVID;
	f->ee.reason = "DATA_PROTECTION_REQUEST";

	for (size_t i = 0; i <= NS_ACCESS_MAX_USERS; i++) {
		snprintf(f->user_ids[i], sizeof(f->user_ids[i]), "U%03zu", i);
		f->users[i] = f->user_ids[i];
	}
	f->users[0] = "PO_SMITH";
	f->users[1] = "jane.doe@justice.gov.uk";
	f->arx = (Nomsync__AccessRestricted)NOMSYNC__ACCESS_RESTRICTED__INIT;
	f->arx.mode = "RESTRICTION";
	f->arx.n_users = 2;
	f->arx.users = f->users;
	f->arx.reason = "Staff member on the caseload";
	f->alf = (Nomsync__AccessLifted)NOMSYNC__ACCESS_LIFTED__INIT;
	f->alf.mode = "EXCLUSION";

	f->sdc = (Nomsync__SentenceDatesCalculated)NOMSYNC__SENTENCE_DATES_CALCULATED__INIT;
	f->sdc.booking_id = "1234567";
	f->sdc.calculation_id = "C-42";
	f->sdc.crd = "2022-05-30";
	f->sdc.sled = "2022-12-26";
	f->sdc.hdced = "2022-02-15";
	f->sdc.tused = "2023-05-30";
	f->pm = (Nomsync__PersonMerged)NOMSYNC__PERSON_MERGED__INIT;
	f->pm.identifier_type = "NOMS";
	f->pm.survivor = "A1234BC";
	f->pm.removed = "B2345CD";
	f->pu = (Nomsync__PersonUnmerged)NOMSYNC__PERSON_UNMERGED__INIT;
	f->pu.identifier_type = "CRN";
	f->pu.survivor = "X123456";
	f->pu.removed = "Y654321";
	f->tc = (Nomsync__TierCalculated)NOMSYNC__TIER_CALCULATED__INIT;
	f->tc.tier = "B2";
	f->tc.calculation_id = "0e7c3a52-tier";
	f->tc.calculation_date = "2026-03-05";
	f->le = (Nomsync__LicenceEnded)NOMSYNC__LICENCE_ENDED__INIT;
	f->le.licence_id = "L42";
	f->le.end_date = "2027-06-01";

	/* Requirements, ready for a community sentence (the fixture's sentence is an SDS). */
	for (int i = 0; i < 2; i++) {
		f->req[i] = (Nomsync__Requirement)NOMSYNC__REQUIREMENT__INIT;
		f->reqp[i] = &f->req[i];
	}
	f->req[0].requirement_id = "R1";
	f->req[0].category = "UNPAID_WORK";
	f->req[0].length = 120;
	f->req[0].unit = "HOURS";
	f->req[1].requirement_id = "R2";
	f->req[1].category = "RAR";
	f->req[1].length = 20;
	f->req[1].unit = "DAYS";
	f->aor = (Nomsync__AppointmentOutcomeRecorded)NOMSYNC__APPOINTMENT_OUTCOME_RECORDED__INIT;
	f->aor.sentence_id = "S1";
	f->aor.requirement_id = "R1";
	f->aor.appointment_date = "2026-03-02";
	f->aor.outcome = "ATTC";
	f->aor.minutes_credited = 420;
	f->ren = (Nomsync__RequirementEnded)NOMSYNC__REQUIREMENT_ENDED__INIT;
	f->ren.sentence_id = "S1";
	f->ren.requirement_id = "R1";
	f->ren.reason = "COMPLETED";
	f->ren.end_date = "2026-09-01";
	f->ewi = (Nomsync__EnforcementWarningIssued)NOMSYNC__ENFORCEMENT_WARNING_ISSUED__INIT;
	f->ewi.sentence_id = "S1";
	f->ewi.warning_date = "2026-03-10";
	f->bi = (Nomsync__BreachInitiated)NOMSYNC__BREACH_INITIATED__INIT;
	f->bi.sentence_id = "S1";
	f->bi.breach_id = "B1";
	f->bi.breach_date = "2026-04-01";
	f->bi.reason = "second failure to comply within 12 months of a warning";
	f->bc = (Nomsync__BreachConcluded)NOMSYNC__BREACH_CONCLUDED__INIT;
	f->bc.breach_id = "B1";
	f->bc.outcome = "ORDER_CONTINUED";
	f->pga = (Nomsync__PlanGoalAdded)NOMSYNC__PLAN_GOAL_ADDED__INIT;
	f->pga.goal_id = "G1";
	f->pga.area_of_need = "ACCOMMODATION";
	f->pga.title = "Find somewhere to live on release";
	f->pga.target_date = "2026-09-01";
	f->pgu = (Nomsync__PlanGoalUpdated)NOMSYNC__PLAN_GOAL_UPDATED__INIT;
	f->pgu.goal_id = "G1";
	f->pgu.status = "ACHIEVED";
	f->pgu.previous_status = "ACTIVE";
	f->pgu.note = "Tenancy signed";
	f->psa = (Nomsync__PlanStepAdded)NOMSYNC__PLAN_STEP_ADDED__INIT;
	f->psa.goal_id = "G1";
	f->psa.step_id = "S1";
	f->psa.description = "Referral to housing advice";
	f->psa.actor = "PRISON_OFFENDER_MANAGER";
	f->psu = (Nomsync__PlanStepUpdated)NOMSYNC__PLAN_STEP_UPDATED__INIT;
	f->psu.goal_id = "G1";
	f->psu.step_id = "S1";
	f->psu.status = "COMPLETED";
	f->psu.previous_status = "IN_PROGRESS";
	f->pag = (Nomsync__PlanAgreed)NOMSYNC__PLAN_AGREED__INIT;
	f->pag.agreement_status = "AGREED";
	f->prv = (Nomsync__PlanReviewed)NOMSYNC__PLAN_REVIEWED__INIT;
	f->prv.review_type = "TRANSFER";
	f->prv.support_needed = "YES";
	f->prv.involved = 1;
	f->prv.note = "Reviewed after release";

	f->p = (Nomsync__Payload)NOMSYNC__PAYLOAD__INIT;
}

/* Point the fixture's Payload at the message of @p type. */
static Nomsync__Payload *pay(struct fx *f, uint32_t type)
{
	Nomsync__Payload *p = &f->p;

	p->body_case = (Nomsync__Payload__BodyCase)type;
	switch (type) {
	case 1: p->person_created = &f->pc; break;
	case 2: p->person_identifier_added = &f->pia; break;
	case 3: p->court_remanded = &f->crm; break;
	case 4: p->court_convicted = &f->cc; break;
	case 5: p->sentence_imposed = &f->si; break;
	case 6: p->prisoner_received = &f->prc; break;
	case 7: p->prisoner_released = &f->prl; break;
	case 8: p->prisoner_transferred = &f->pt; break;
	case 9: p->prisoner_adjustment_recorded = &f->adj; break;
	case 10: p->alert_raised = &f->ar; break;
	case 11: p->alert_closed = &f->acl; break;
	case 12: p->manager_pom_allocated = &f->pom; break;
	case 13: p->manager_com_allocated = &f->com; break;
	case 14: p->licence_activated = &f->la; break;
	case 15: p->recall_issued = &f->ri; break;
	case 16: p->recall_returned_to_custody = &f->rtc; break;
	case 17: p->programme_referred = &f->prf; break;
	case 18: p->programme_completed = &f->pcm; break;
	case 19: p->supervision_terminated = &f->st; break;
	case 20: p->person_deceased = &f->pd; break;
	case 21: p->event_corrected = &f->ec; break;
	case 22: p->court_appearance_recorded = &f->car; break;
	case 23: p->sentence_quashed = &f->sq; break;
	case 24: p->registration_added = &f->rga; break;
	case 25: p->registration_removed = &f->rgr; break;
	case 26: p->manager_handover_changed = &f->mh; break;
	case 27: p->licence_ended = &f->le; break;
	case 28: p->roster_site_added = &f->rsa; break;
	case 29: p->roster_key_rotated = &f->rkr; break;
	case 30: p->roster_key_revoked = &f->rkv; break;
	case 31: p->sentence_dates_calculated = &f->sdc; break;
	case 32: p->appointment_outcome_recorded = &f->aor; break;
	case 33: p->requirement_ended = &f->ren; break;
	case 34: p->enforcement_warning_issued = &f->ewi; break;
	case 35: p->breach_initiated = &f->bi; break;
	case 36: p->breach_concluded = &f->bc; break;
	case 46: p->event_erased = &f->ee; break;
	case 47: p->access_restricted = &f->arx; break;
	case 48: p->access_lifted = &f->alf; break;
	case 43: p->tier_calculated = &f->tc; break;
	case 44: p->person_merged = &f->pm; break;
	case 45: p->person_unmerged = &f->pu; break;
	case 37: p->plan_goal_added = &f->pga; break;
	case 38: p->plan_goal_updated = &f->pgu; break;
	case 39: p->plan_step_added = &f->psa; break;
	case 40: p->plan_step_updated = &f->psu; break;
	case 41: p->plan_agreed = &f->pag; break;
	case 42: p->plan_reviewed = &f->prv; break;
	default: p->body_case = NOMSYNC__PAYLOAD__BODY__NOT_SET; break;
	}
	return p;
}

/* The Emitter column of REFERENCE.md section 6, as the brief spells it. */
static const struct {
	const char *type;
	const char *roles; /* space-separated, padded */
} emitters[] = {
	{ "person.created", " prison probation court " },
	{ "person.identifier.added", " prison probation hub " },
	{ "court.remanded", " court " },
	{ "court.convicted", " court " },
	{ "sentence.imposed", " court " },
	{ "prisoner.received", " prison " },
	{ "prisoner.released", " prison " },
	{ "prisoner.transferred", " prison " },
	{ "prisoner.adjustment.recorded", " prison court " },
	{ "alert.raised", " prison probation " },
	{ "alert.closed", " prison probation " },
	{ "manager.pom.allocated", " prison " },
	{ "manager.com.allocated", " probation " },
	{ "licence.activated", " probation " },
	{ "recall.issued", " probation " },
	{ "recall.returned_to_custody", " prison " },
	{ "programme.referred", " prison probation " },
	{ "programme.completed", " prison probation " },
	{ "supervision.terminated", " probation " },
	{ "person.deceased", " prison probation " },
	{ "event.corrected", " prison probation court hub " },
	{ "court.appearance.recorded", " court " },
	{ "sentence.quashed", " court " },
	{ "registration.added", " probation " },
	{ "registration.removed", " probation " },
	{ "manager.handover.changed", " prison probation " },
	{ "licence.ended", " probation " },
	{ "roster.site.added", " authority " },
	{ "roster.key.rotated", " authority " },
	{ "roster.key.revoked", " authority " },
	{ "sentence.dates.calculated", " prison " },
	{ "appointment.outcome.recorded", " probation " },
	{ "requirement.ended", " probation " },
	{ "enforcement.warning.issued", " probation " },
	{ "breach.initiated", " probation " },
	{ "breach.concluded", " court " },
	{ "event.erased", " prison probation court hub " },
	{ "access.restricted", " prison probation hub " },
	{ "access.lifted", " prison probation hub " },
	{ "tier.calculated", " probation " },
	{ "person.merged", " hub " },
	{ "person.unmerged", " hub " },
	{ "plan.goal.added", " prison probation " },
	{ "plan.goal.updated", " prison probation " },
	{ "plan.step.added", " prison probation " },
	{ "plan.step.updated", " prison probation " },
	{ "plan.agreed", " prison probation " },
	{ "plan.reviewed", " prison probation " },
};

#define NEMITTERS (sizeof(emitters) / sizeof(emitters[0]))

/* 1 if the table above lets @p role emit @p type. */
static int expected_may(ns_role role, uint32_t type)
{
	char word[16];

	for (size_t i = 0; i < NEMITTERS; i++) {
		if (ns_type_parse(emitters[i].type) != type)
			continue;
		snprintf(word, sizeof(word), " %s ", ns_role_name(role));
		return strstr(emitters[i].roles, word) != NULL;
	}
	return -1;
}

/* A role allowed to emit @p type (the first one in the table). */
static ns_role a_role_for(uint32_t type)
{
	for (int r = NS_ROLE_PRISON; r <= NS_ROLE_AUTHORITY; r++)
		if (expected_may((ns_role)r, type) == 1)
			return (ns_role)r;
	return NS_ROLE_NONE;
}

/* Validate the fixture's message of @p type with an allowed role. */
static int check(struct fx *f, uint32_t type, ns_diag *d)
{
	ns_diag_clear(d);
	return ns_validate_event(a_role_for(type), offender_for(type, "A1234BC"), type, pay(f, type), d);
}

/* Expect the fixture's @p type to fail validation on field @p name. */
#define BAD(f, type, name)                                 \
	do {                                               \
		ns_diag d_;                                \
		CHECK_INT(check((f), (type), &d_), NS_EVALID); \
		CHECK_STR(d_.field, (name));               \
		fx_init(f);                                \
	} while (0)

/* Expect the fixture's @p type to pass. */
#define GOOD(f, type)                                         \
	do {                                                  \
		ns_diag d_;                                   \
		int rc_ = check((f), (type), &d_);            \
		if (rc_ != 0)                                 \
			fprintf(stderr, "  %s: %s\n", d_.field, d_.msg); \
		CHECK_INT(rc_, 0);                            \
		fx_init(f);                                   \
	} while (0)

/* Shorthand for the event type numbers. */
#define T(name) NOMSYNC__EVENT_TYPE__##name

/* NOMS numbers: [A-Z][0-9]{4}[A-Z]{2}. */
static void test_noms(void)
{
	CHECK(ns_is_noms("A1234AA"));
	CHECK(ns_is_noms("A8513EA"));
	CHECK(ns_is_noms("G2899UJ"));
	CHECK(!ns_is_noms(NULL));
	CHECK(!ns_is_noms(""));
	CHECK(!ns_is_noms("a1234AA"));
	CHECK(!ns_is_noms("A1234A"));
	CHECK(!ns_is_noms("A1234AAA"));
	CHECK(!ns_is_noms("A123AAA"));
	CHECK(!ns_is_noms("11234AA"));
	CHECK(!ns_is_noms("A1234A1"));
	CHECK(!ns_is_noms("X123456"));
}

/* CRNs: [A-Z][0-9]{6}. */
static void test_crn(void)
{
	CHECK(ns_is_crn("X123456"));
	CHECK(ns_is_crn("X777984"));
	CHECK(!ns_is_crn(NULL));
	CHECK(!ns_is_crn(""));
	CHECK(!ns_is_crn("x123456"));
	CHECK(!ns_is_crn("X12345"));
	CHECK(!ns_is_crn("X1234567"));
	CHECK(!ns_is_crn("XX23456"));
	CHECK(!ns_is_crn("A1234AA"));
}

/* PNC ids: both forms, check letters, canonical long form. */
static void test_pnc(void)
{
	char c[14];

	/* Known-good values from REFERENCE.md section 3. */
	CHECK(ns_is_pnc("2012/0052494Q", c));
	CHECK_STR(c, "2012/0052494Q");
	CHECK(ns_is_pnc("12/394773H", c));
	CHECK_STR(c, "2012/0394773H");
	CHECK(ns_is_pnc("2012/0394773H", NULL));
	/* Computed with the formula: int(YY || serial7) mod 23. */
	CHECK(ns_is_pnc("98/1R", c));
	CHECK_STR(c, "1998/0000001R");
	CHECK(ns_is_pnc("38/1234567Y", c)); /* 38 -> 2038 */
	CHECK_STR(c, "2038/1234567Y");
	CHECK(ns_is_pnc("39/1234567N", c)); /* 39 -> 1939 */
	CHECK_STR(c, "1939/1234567N");
	CHECK(ns_is_pnc("00/1A", c));
	CHECK_STR(c, "2000/0000001A");
	CHECK(ns_is_pnc("85/12345L", c));
	CHECK_STR(c, "1985/0012345L");
	CHECK(ns_is_pnc("1985/0012345L", NULL));
	CHECK(ns_is_pnc("1999/9999999V", NULL));
	/* Wrong check letters. */
	CHECK(!ns_is_pnc("2012/0052494R", NULL));
	CHECK(!ns_is_pnc("12/394773J", NULL));
	CHECK(!ns_is_pnc("98/1A", NULL));
	CHECK(!ns_is_pnc("1999/9999999W", NULL));
	/* Wrong shapes. */
	CHECK(!ns_is_pnc(NULL, NULL));
	CHECK(!ns_is_pnc("", NULL));
	CHECK(!ns_is_pnc("2012/052494Q", NULL));  /* long form needs 7 digits */
	CHECK(!ns_is_pnc("2012/00524940Q", NULL));
	CHECK(!ns_is_pnc("12/12345678Q", NULL)); /* short form at most 7 */
	CHECK(!ns_is_pnc("12/Q", NULL));
	CHECK(!ns_is_pnc("120052494Q", NULL));   /* slash required */
	CHECK(!ns_is_pnc("2012/0052494q", NULL));
	CHECK(!ns_is_pnc("2012/0052494", NULL));
	CHECK(!ns_is_pnc("1812/0052494Q", NULL)); /* century 19 or 20 */
	CHECK(!ns_is_pnc("12/39A773H", NULL));
}

/* CRO numbers: standard and SF forms, check letters. */
static void test_cro(void)
{
	/* Known-good value from REFERENCE.md section 3. */
	CHECK(ns_is_cro("29906/12J"));
	CHECK(ns_is_cro("029906/12J"));
	/* Computed with the formula: int(YY || serial6) mod 23. */
	CHECK(ns_is_cro("1/05H"));
	CHECK(ns_is_cro("999999/99A"));
	CHECK(ns_is_cro("123456/78Z"));
	CHECK(ns_is_cro("7/00G"));
	/* SF form: int(YY || serial) mod 23, serial as written. */
	CHECK(ns_is_cro("SF99/12345M"));
	CHECK(ns_is_cro("SF05/123456Y"));
	CHECK(ns_is_cro("SF83/1C"));
	CHECK(ns_is_cro("SF12/000123L"));
	CHECK(ns_is_cro("SF12/123B"));
	CHECK(!ns_is_cro("SF12/000123B")); /* the padding changes the number */
	/* Wrong check letters. */
	CHECK(!ns_is_cro("29906/12K"));
	CHECK(!ns_is_cro("1/05J"));
	CHECK(!ns_is_cro("SF99/12345N"));
	/* Wrong shapes. */
	CHECK(!ns_is_cro(NULL));
	CHECK(!ns_is_cro(""));
	CHECK(!ns_is_cro("1234567/12J"));
	CHECK(!ns_is_cro("/12J"));
	CHECK(!ns_is_cro("29906/2J"));
	CHECK(!ns_is_cro("29906/123J"));
	CHECK(!ns_is_cro("29906-12J"));
	CHECK(!ns_is_cro("29906/12"));
	CHECK(!ns_is_cro("29906/12j"));
	CHECK(!ns_is_cro("SF99/1234567M"));
	CHECK(!ns_is_cro("SF9/12345M"));
	CHECK(!ns_is_cro("SF99/M"));
	CHECK(!ns_is_cro("SX99/12345M"));
}

/* Establishments, regions and PDUs compiled in from the CSVs. */
static void test_refdata(void)
{
	CHECK_INT(ns_prison_count(), 125);
	CHECK_STR(ns_prison_code(0), "ACI");
	CHECK(ns_prison_code(ns_prison_count()) == NULL);
	for (size_t i = 0; i < ns_prison_count(); i++)
		CHECK(ns_is_prison(ns_prison_code(i)));
	CHECK(ns_is_prison("MDI"));
	CHECK(ns_is_prison("STC3"));
	CHECK_STR(ns_prison_name("LEI"), "Leeds (HMP)");
	CHECK_STR(ns_prison_name("ACI"), "Altcourse (HMP & YOI)");
	CHECK(!ns_is_prison("XYZ"));
	CHECK(!ns_is_prison("mdi"));
	CHECK(!ns_is_prison(""));
	CHECK(!ns_is_prison(NULL));
	CHECK(ns_prison_name("XYZ") == NULL);

	CHECK(ns_is_region("N03"));
	CHECK(ns_is_region("N07"));
	for (int i = 50; i <= 59; i++) {
		char code[8];
		snprintf(code, sizeof(code), "N%d", i);
		CHECK(ns_is_region(code));
	}
	CHECK(!ns_is_region("N08"));
	CHECK(!ns_is_region("N60"));
	CHECK(!ns_is_region(NULL));
	CHECK_STR(ns_region_name("N07"), "London");
	CHECK_STR(ns_region_name("N57"), "Kent, Surrey & Sussex"); /* quoted, with commas */
	CHECK(ns_region_name("N99") == NULL);

	CHECK(ns_is_pdu("N50BOLT", NULL));
	CHECK(ns_is_pdu("N50BOLT", "N50"));
	CHECK(!ns_is_pdu("N50BOLT", "N51"));
	CHECK(ns_is_pdu("N03SNT", "N03"));  /* name "Swansea,  Neath Port-Talbot" */
	CHECK(ns_is_pdu("LDNNHAK", "N07")); /* name with several commas */
	CHECK(ns_is_pdu("WPTGWT", "N03"));
	CHECK(ns_is_pdu("N59WESB", "N59")); /* last row */
	CHECK(!ns_is_pdu("N50XXXX", NULL));
	CHECK(!ns_is_pdu(NULL, "N50"));
}

/* The reference tables row by row, as GET /v1/refdata lists them. */
static void test_ref_tables(void)
{
	const ns_ref_entry *e;

	CHECK_INT(ns_ref_count(NS_REF_PRISONS), ns_prison_count());
	CHECK_INT(ns_ref_count(NS_REF_REGIONS), 12);
	CHECK_INT(ns_ref_count(NS_REF_PDUS), 120);
	e = ns_ref_at(NS_REF_PRISONS, 0);
	CHECK(e != NULL && strcmp(e->code, "ACI") == 0 && strcmp(e->name, "Altcourse (HMP & YOI)") == 0 &&
	      e->region == NULL);
	e = ns_ref_at(NS_REF_REGIONS, 0);
	CHECK(e != NULL && strcmp(e->code, "N03") == 0 && strcmp(e->name, "Wales") == 0);
	e = ns_ref_at(NS_REF_PDUS, 1);
	CHECK(e != NULL && strcmp(e->code, "N03SNT") == 0 && strcmp(e->name, "Swansea,  Neath Port-Talbot") == 0 &&
	      strcmp(e->region, "N03") == 0);
	for (size_t i = 0; i < ns_ref_count(NS_REF_PDUS); i++) {
		e = ns_ref_at(NS_REF_PDUS, i);
		CHECK(ns_is_pdu(e->code, e->region) && ns_is_region(e->region) && e->name[0] != '\0');
	}
	CHECK(ns_ref_at(NS_REF_PDUS, ns_ref_count(NS_REF_PDUS)) == NULL);
	CHECK(ns_ref_at(NS_REF_REGIONS, 12) == NULL);
}

/* Site codes by role. */
static void test_site(void)
{
	ns_diag d;

	CHECK_INT(ns_validate_site(NS_ROLE_PRISON, "MDI", &d), 0);
	CHECK_INT(ns_validate_site(NS_ROLE_PRISON, "XYZ", &d), NS_EVALID);
	CHECK_STR(d.field, "site");
	CHECK(strstr(d.msg, "establishments.csv") != NULL);
	CHECK_INT(ns_validate_site(NS_ROLE_PROBATION, "N07", &d), 0);
	CHECK_INT(ns_validate_site(NS_ROLE_PROBATION, "MDI", &d), NS_EVALID);
	CHECK_STR(d.field, "site");
	CHECK_INT(ns_validate_site(NS_ROLE_COURT, "SHEFCC", &d), 0);
	CHECK_INT(ns_validate_site(NS_ROLE_COURT, "B01EF", &d), 0);
	CHECK_INT(ns_validate_site(NS_ROLE_COURT, "AB", &d), 0);
	CHECK_INT(ns_validate_site(NS_ROLE_COURT, "A", &d), NS_EVALID);
	CHECK_INT(ns_validate_site(NS_ROLE_COURT, "ABCDEFGHI", &d), NS_EVALID);
	CHECK_INT(ns_validate_site(NS_ROLE_COURT, "SHEF-CC", &d), NS_EVALID);
	CHECK_INT(ns_validate_site(NS_ROLE_COURT, "shefcc", &d), NS_EVALID);
	CHECK_INT(ns_validate_site(NS_ROLE_HUB, "HUB-1", &d), 0);
	CHECK_INT(ns_validate_site(NS_ROLE_HUB, "NATIONAL_HUB_01", &d), 0);
	CHECK_INT(ns_validate_site(NS_ROLE_HUB, "NATIONAL_HUB_012", &d), NS_EVALID);
	CHECK_INT(ns_validate_site(NS_ROLE_HUB, "H", &d), NS_EVALID);
	CHECK_INT(ns_validate_site(NS_ROLE_HUB, "HUB 1", &d), NS_EVALID);
	CHECK_INT(ns_validate_site(NS_ROLE_HUB, NULL, &d), NS_EVALID);
	CHECK_INT(ns_validate_site(NS_ROLE_NONE, "MDI", &d), NS_EVALID);
	CHECK_STR(d.field, "role");
	CHECK_INT(ns_validate_site(NS_ROLE_PRISON, "XYZ", NULL), NS_EVALID);
}

/* Every role against every type, via ns_role_may_emit and ns_validate_event. */
static void test_roles(void)
{
	struct fx f;
	ns_diag d;
	char msg[128];

	CHECK_INT(NEMITTERS, ns_catalogue_count());
	for (size_t k = 0; k < ns_catalogue_count(); k++) {
		uint32_t t = ns_catalogue_at(k)->type;
		CHECK(ns_type_name(t) != NULL);
		CHECK(expected_may(NS_ROLE_PRISON, t) >= 0);
		for (int r = NS_ROLE_PRISON; r <= NS_ROLE_AUTHORITY; r++) {
			int may = expected_may((ns_role)r, t);
			int rc;

			CHECK_INT(ns_role_may_emit((ns_role)r, t), may);
			fx_init(&f);
			ns_diag_clear(&d);
			rc = ns_validate_event((ns_role)r, offender_for(t, "A1234BC"), t, pay(&f, t), &d);
			if (may) {
				if (rc != 0)
					fprintf(stderr, "  %s by %s: %s: %s\n", ns_type_name(t),
						ns_role_name((ns_role)r), d.field, d.msg);
				CHECK_INT(rc, 0);
			} else {
				CHECK_INT(rc, NS_EROLE);
				CHECK_STR(d.field, "type");
				snprintf(msg, sizeof(msg), "a %s site may not emit %s", ns_role_name((ns_role)r),
					 ns_type_name(t));
				CHECK_STR(d.msg, msg);
			}
			/* The role rule holds for erased payloads too. */
			rc = ns_validate_event((ns_role)r, offender_for(t, "X123456"), t, NULL, &d);
			CHECK_INT(rc, may ? 0 : NS_EROLE);
		}
		CHECK(!ns_role_may_emit(NS_ROLE_NONE, t));
		CHECK(!ns_role_may_emit((ns_role)6, t));
	}
	CHECK(!ns_role_may_emit(NS_ROLE_PRISON, 0));
	CHECK(!ns_role_may_emit(NS_ROLE_PRISON, ns_type_max() + 1));
	CHECK_INT(ns_validate_event(NS_ROLE_PROBATION, "A1234BC", T(PRISONER_RECEIVED), NULL, &d),
		  NS_EROLE);
	CHECK_STR(d.msg, "a probation site may not emit prisoner.received");
}

/* Roster changes: only the authority, only with offender ROSTER, keys checked. */
static void test_roster_changes(void)
{
	struct fx f;
	ns_diag d;

	fx_init(&f);
	CHECK_INT(ns_validate_event(NS_ROLE_AUTHORITY, "ROSTER", T(ROSTER_SITE_ADDED), pay(&f, T(ROSTER_SITE_ADDED)), &d), 0);
	CHECK_INT(ns_validate_event(NS_ROLE_AUTHORITY, "A1234BC", T(ROSTER_SITE_ADDED), pay(&f, T(ROSTER_SITE_ADDED)), &d),
		  NS_EVALID);
	CHECK_STR(d.field, "offender");
	CHECK_INT(ns_validate_event(NS_ROLE_AUTHORITY, "ROSTER", T(PRISONER_RECEIVED), NULL, &d), NS_EVALID);
	f.rsa.key = "00";
	CHECK_INT(ns_validate_event(NS_ROLE_AUTHORITY, "ROSTER", T(ROSTER_SITE_ADDED), pay(&f, T(ROSTER_SITE_ADDED)), &d),
		  NS_EVALID);
	CHECK_STR(d.field, "key");
	fx_init(&f);
	f.rsa.site = "XYZ";
	CHECK_INT(ns_validate_event(NS_ROLE_AUTHORITY, "ROSTER", T(ROSTER_SITE_ADDED), pay(&f, T(ROSTER_SITE_ADDED)), &d),
		  NS_EVALID);
	CHECK_STR(d.field, "site");
	fx_init(&f);
	f.rsa.role = "authority";
	CHECK_INT(ns_validate_event(NS_ROLE_AUTHORITY, "ROSTER", T(ROSTER_SITE_ADDED), pay(&f, T(ROSTER_SITE_ADDED)), &d),
		  NS_EVALID);
	CHECK_STR(d.field, "role");
	fx_init(&f);
	f.rkr.new_key = KEY1;
	CHECK_INT(ns_validate_event(NS_ROLE_AUTHORITY, "ROSTER", T(ROSTER_KEY_ROTATED), pay(&f, T(ROSTER_KEY_ROTATED)), &d),
		  NS_EVALID);
	CHECK_STR(d.field, "new_key");
	fx_init(&f);
	f.rkv.from_seq = 0;
	CHECK_INT(ns_validate_event(NS_ROLE_AUTHORITY, "ROSTER", T(ROSTER_KEY_REVOKED), pay(&f, T(ROSTER_KEY_REVOKED)), &d),
		  NS_EVALID);
	CHECK_STR(d.field, "from_seq");
	CHECK_INT(ns_validate_site(NS_ROLE_AUTHORITY, "AUTHORITY", &d), 0);
}

/* Offender, unknown type, and payload/type agreement. */
static void test_envelope(void)
{
	struct fx f;
	ns_diag d;

	fx_init(&f);
	CHECK_INT(ns_validate_event(NS_ROLE_PRISON, "X123456", T(PRISONER_RECEIVED),
				    pay(&f, T(PRISONER_RECEIVED)), &d), 0);
	CHECK_INT(ns_validate_event(NS_ROLE_PRISON, "A1234B", T(PRISONER_RECEIVED),
				    pay(&f, T(PRISONER_RECEIVED)), &d), NS_EVALID);
	CHECK_STR(d.field, "offender");
	CHECK_INT(ns_validate_event(NS_ROLE_PRISON, NULL, T(PRISONER_RECEIVED), NULL, &d), NS_EVALID);
	CHECK_STR(d.field, "offender");
	CHECK_INT(ns_validate_event(NS_ROLE_PRISON, "A1234BC", 0, NULL, &d), NS_EVALID);
	CHECK_STR(d.field, "type");
	CHECK_INT(ns_validate_event(NS_ROLE_PRISON, "A1234BC", 999, NULL, &d), NS_EVALID);
	CHECK_STR(d.field, "type");
	/* Payload of another type. */
	CHECK_INT(ns_validate_event(NS_ROLE_PRISON, "A1234BC", T(PRISONER_RELEASED),
				    pay(&f, T(PRISONER_RECEIVED)), &d), NS_EVALID);
	CHECK_STR(d.field, "type");
	/* Payload with no body, and a body case with a NULL message. */
	f.p.body_case = NOMSYNC__PAYLOAD__BODY__NOT_SET;
	CHECK_INT(ns_validate_event(NS_ROLE_PRISON, "A1234BC", T(PRISONER_RECEIVED), &f.p, &d), NS_EVALID);
	CHECK_STR(d.field, "type");
	pay(&f, T(PRISONER_RECEIVED));
	f.p.prisoner_received = NULL;
	CHECK_INT(ns_validate_event(NS_ROLE_PRISON, "A1234BC", T(PRISONER_RECEIVED), &f.p, &d), NS_EVALID);
	CHECK_STR(d.field, "type");
	/* Erased payload: only envelope rules. */
	CHECK_INT(ns_validate_event(NS_ROLE_PRISON, "A1234BC", T(PRISONER_RECEIVED), NULL, &d), 0);
	/* NULL diag is allowed. */
	CHECK_INT(ns_validate_event(NS_ROLE_PRISON, "bad", T(PRISONER_RECEIVED), NULL, NULL), NS_EVALID);
}

/* person.created: names, dob, gender list, PNC and CRO if present. */
static void test_person(void)
{
	struct fx f;
	ns_diag d;

	fx_init(&f);
	GOOD(&f, T(PERSON_CREATED));
	f.pc.pnc = "";
	f.pc.cro = "";
	f.pc.gender = "";
	GOOD(&f, T(PERSON_CREATED));
	f.pc.pnc = "12/394773H";
	f.pc.cro = "SF99/12345M";
	GOOD(&f, T(PERSON_CREATED));
	const char *genders[] = { "M", "F", "NK", "NS" };
	for (int i = 0; i < 4; i++) {
		f.pc.gender = (char *)genders[i];
		GOOD(&f, T(PERSON_CREATED));
	}
	f.pc.surname = "";
	BAD(&f, T(PERSON_CREATED), "surname");
	f.pc.forenames = "";
	BAD(&f, T(PERSON_CREATED), "forenames");
	f.pc.dob = "";
	BAD(&f, T(PERSON_CREATED), "dob");
	f.pc.dob = "14/03/1985";
	BAD(&f, T(PERSON_CREATED), "dob");
	f.pc.dob = "1985-02-29";
	BAD(&f, T(PERSON_CREATED), "dob");
	f.pc.gender = "X";
	BAD(&f, T(PERSON_CREATED), "gender");
	f.pc.gender = "m";
	BAD(&f, T(PERSON_CREATED), "gender");
	f.pc.pnc = "2012/0052494R";
	BAD(&f, T(PERSON_CREATED), "pnc");
	f.pc.cro = "29906/12K";
	BAD(&f, T(PERSON_CREATED), "cro");

	f.pc.gender = "Q";
	CHECK_INT(check(&f, T(PERSON_CREATED), &d), NS_EVALID);
	CHECK_STR(d.msg, "'Q' is not one of M, F, NK, NS");
	fx_init(&f);
	f.pc.surname = "";
	CHECK_INT(check(&f, T(PERSON_CREATED), &d), NS_EVALID);
	CHECK_STR(d.msg, "required for person.created");
}

/* person.identifier.added: each identifier type with its own rule. */
static void test_identifier(void)
{
	struct fx f;
	static const struct {
		const char *type, *good, *bad;
	} ids[] = {
		{ "NOMS", "A1234BC", "A1234B" },
		{ "CRN", "X123456", "X12345" },
		{ "PNC", "2012/0394773H", "2012/0394773J" },
		{ "CRO", "29906/12J", "29906/12K" },
	};

	fx_init(&f);
	GOOD(&f, T(PERSON_IDENTIFIER_ADDED));
	for (size_t i = 0; i < 4; i++) {
		f.pia.identifier_type = (char *)ids[i].type;
		f.pia.value = (char *)ids[i].good;
		GOOD(&f, T(PERSON_IDENTIFIER_ADDED));
		f.pia.identifier_type = (char *)ids[i].type;
		f.pia.value = (char *)ids[i].bad;
		BAD(&f, T(PERSON_IDENTIFIER_ADDED), "value");
	}
	f.pia.identifier_type = "NINO";
	BAD(&f, T(PERSON_IDENTIFIER_ADDED), "identifier_type");
	f.pia.identifier_type = "";
	BAD(&f, T(PERSON_IDENTIFIER_ADDED), "identifier_type");
	f.pia.value = "";
	BAD(&f, T(PERSON_IDENTIFIER_ADDED), "value");
	f.pia.book_number = "";
	GOOD(&f, T(PERSON_IDENTIFIER_ADDED));
	f.pia.book_number = "38 412A";
	BAD(&f, T(PERSON_IDENTIFIER_ADDED), "book_number");
}

/* court.remanded, court.convicted (nested offences), court.appearance.recorded. */
static void test_court(void)
{
	struct fx f;
	ns_diag d;

	fx_init(&f);
	GOOD(&f, T(COURT_REMANDED));
	f.crm.court = "";
	BAD(&f, T(COURT_REMANDED), "court");
	f.crm.court = "S";
	BAD(&f, T(COURT_REMANDED), "court");
	f.crm.court = "SHEFFIELDCC";
	BAD(&f, T(COURT_REMANDED), "court");
	f.crm.court = "shefcc";
	BAD(&f, T(COURT_REMANDED), "court");
	f.crm.remand_date = "2026-13-01";
	BAD(&f, T(COURT_REMANDED), "remand_date");

	GOOD(&f, T(COURT_CONVICTED));
	f.cc.court = "";
	GOOD(&f, T(COURT_CONVICTED));
	f.off[1].offence_date = "";
	f.off[1].description = "";
	GOOD(&f, T(COURT_CONVICTED));
	f.cc.n_offences = 0;
	BAD(&f, T(COURT_CONVICTED), "offences");
	f.cc.verdict_date = "";
	BAD(&f, T(COURT_CONVICTED), "verdict_date");
	f.cc.court = "x";
	BAD(&f, T(COURT_CONVICTED), "court");
	f.off[1].code = "";
	BAD(&f, T(COURT_CONVICTED), "offences[1].code");
	f.off[0].offence_date = "2025-11-31";
	BAD(&f, T(COURT_CONVICTED), "offences[0].offence_date");
	f.off[1].offence_date = "2026-01-11"; /* after the verdict */
	CHECK_INT(check(&f, T(COURT_CONVICTED), &d), NS_EVALID);
	CHECK_STR(d.field, "offences[1].offence_date");
	CHECK(strstr(d.msg, "after verdict_date") != NULL);
	fx_init(&f);

	GOOD(&f, T(COURT_APPEARANCE_RECORDED));
	f.car.next_hearing_date = "";
	f.car.outcome = "";
	f.car.case_ref = "";
	GOOD(&f, T(COURT_APPEARANCE_RECORDED));
	f.car.court = "";
	BAD(&f, T(COURT_APPEARANCE_RECORDED), "court");
	f.car.appearance_date = "2026-1-2";
	BAD(&f, T(COURT_APPEARANCE_RECORDED), "appearance_date");
	f.car.next_hearing_date = "2025-12-31";
	BAD(&f, T(COURT_APPEARANCE_RECORDED), "next_hearing_date");
	f.car.next_hearing_date = "soon";
	BAD(&f, T(COURT_APPEARANCE_RECORDED), "next_hearing_date");
}

/* sentence.imposed (types, term, links) and sentence.quashed. */
static void test_sentence(void)
{
	struct fx f;
	ns_diag d;
	const char *types[] = { "SDS", "SDS_PLUS", "SDS40", "EDS", "LIFE", "DTO", "COMMUNITY_ORDER", "SSO" };

	fx_init(&f);
	for (int i = 0; i < 8; i++) {
		f.si.sentence_type = (char *)types[i];
		GOOD(&f, T(SENTENCE_IMPOSED));
	}
	f.si.sentence_type = "IPP";
	BAD(&f, T(SENTENCE_IMPOSED), "sentence_type");
	f.si.sentence_type = "";
	BAD(&f, T(SENTENCE_IMPOSED), "sentence_type");
	f.si.sentence_id = "";
	BAD(&f, T(SENTENCE_IMPOSED), "sentence_id");
	f.si.sentence_date = "";
	BAD(&f, T(SENTENCE_IMPOSED), "sentence_date");
	f.si.term_years = 0;
	BAD(&f, T(SENTENCE_IMPOSED), "term_years");
	f.si.term_years = 0;
	f.si.term_days = 14;
	GOOD(&f, T(SENTENCE_IMPOSED));
	f.si.term_years = 0;
	f.si.term_months = 18;
	GOOD(&f, T(SENTENCE_IMPOSED));
	f.si.term_years = 0;
	f.si.sentence_type = "LIFE"; /* a life sentence needs no term */
	GOOD(&f, T(SENTENCE_IMPOSED));
	f.si.term_years = 0;
	f.si.sentence_type = "EDS";
	CHECK_INT(check(&f, T(SENTENCE_IMPOSED), &d), NS_EVALID);
	CHECK(strstr(d.msg, "EDS sentence needs a term") != NULL);
	fx_init(&f);
	f.si.court = "bad court";
	BAD(&f, T(SENTENCE_IMPOSED), "court");
	f.si.consecutive_to = "S0";
	GOOD(&f, T(SENTENCE_IMPOSED));
	f.si.consecutive_to = "S1";
	BAD(&f, T(SENTENCE_IMPOSED), "consecutive_to");
	f.si.offence_date = "2026-02-02";
	BAD(&f, T(SENTENCE_IMPOSED), "offence_date");
	f.si.offence_date = "yesterday";
	BAD(&f, T(SENTENCE_IMPOSED), "offence_date");

	/* EDS with its extension period. */
	fx_init(&f);
	f.si.sentence_type = "EDS";
	f.si.extension_years = 3;
	f.si.extension_months = 6;
	GOOD(&f, T(SENTENCE_IMPOSED));
	fx_init(&f);

	GOOD(&f, T(SENTENCE_QUASHED));
	f.sq.reason = "";
	GOOD(&f, T(SENTENCE_QUASHED));
	f.sq.sentence_id = "";
	BAD(&f, T(SENTENCE_QUASHED), "sentence_id");
}

/* The prison's own calculation: an id, real dates, and no date before the one it follows. */
static void test_dates_calculated(void)
{
	struct fx f;

	fx_init(&f);
	GOOD(&f, T(SENTENCE_DATES_CALCULATED));
	f.sdc.booking_id = ""; /* optional */
	GOOD(&f, T(SENTENCE_DATES_CALCULATED));
	f.sdc.booking_id = "12 34";
	BAD(&f, T(SENTENCE_DATES_CALCULATED), "booking_id");
	fx_init(&f);
	f.sdc.calculation_id = "";
	BAD(&f, T(SENTENCE_DATES_CALCULATED), "calculation_id");
	fx_init(&f);
	f.sdc.crd = "2022-02-30";
	BAD(&f, T(SENTENCE_DATES_CALCULATED), "crd");
	fx_init(&f);
	f.sdc.sled = "2022-05-29"; /* before the CRD */
	BAD(&f, T(SENTENCE_DATES_CALCULATED), "sled");
	fx_init(&f);
	f.sdc.ard = "2022-05-30";
	f.sdc.sed = "2022-05-01";
	BAD(&f, T(SENTENCE_DATES_CALCULATED), "sed");
	fx_init(&f);
	f.sdc.tused = "2022-01-01";
	BAD(&f, T(SENTENCE_DATES_CALCULATED), "tused");
	const char *fields[] = { "ard", "led", "hdced", "ped", "prrd" };
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		fx_init(&f);
		char **slot = i == 0 ? &f.sdc.ard : i == 1 ? &f.sdc.led : i == 2 ? &f.sdc.hdced
			    : i == 3 ? &f.sdc.ped : &f.sdc.prrd;
		*slot = "soon";
		BAD(&f, T(SENTENCE_DATES_CALCULATED), fields[i]);
	}
}

/* Make the fixture's sentence a community order with its two requirements. */
static void community(struct fx *f, const char *type)
{
	f->si.sentence_type = (char *)type;
	f->si.n_requirements = 2;
	f->si.requirements = f->reqp;
}

/*
 * Community sentences: requirements only on a COMMUNITY_ORDER or SSO, with a
 * category, a length and a unit from the closed lists (unpaid work in hours,
 * RAR in days); the suspended term only on an SSO.
 */
static void test_community_sentence(void)
{
	struct fx f;
	ns_diag d;
	const char *cats[] = { "UNPAID_WORK", "RAR", "CURFEW", "PROGRAMME", "DRUG_REHABILITATION",
			       "ALCOHOL_TREATMENT", "MENTAL_HEALTH_TREATMENT", "EXCLUSION", "RESIDENCE",
			       "ALCOHOL_MONITORING" };
	const char *units[] = { "HOURS", "DAYS", "MONTHS" };
	const char *others[] = { "SDS", "SDS_PLUS", "SDS40", "EDS", "LIFE", "DTO" };

	fx_init(&f);
	community(&f, "COMMUNITY_ORDER");
	GOOD(&f, T(SENTENCE_IMPOSED));
	community(&f, "SSO");
	f.si.suspended_months = 6;
	f.si.suspended_days = 14;
	GOOD(&f, T(SENTENCE_IMPOSED));
	community(&f, "COMMUNITY_ORDER");
	f.si.n_requirements = 0; /* an order without requirements */
	GOOD(&f, T(SENTENCE_IMPOSED));
	/* Every category (the second requirement carries it, in months). */
	for (size_t i = 2; i < sizeof(cats) / sizeof(cats[0]); i++) {
		community(&f, "COMMUNITY_ORDER");
		f.req[1].category = (char *)cats[i];
		f.req[1].unit = "MONTHS";
		GOOD(&f, T(SENTENCE_IMPOSED));
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		community(&f, "COMMUNITY_ORDER");
		f.req[1].category = "CURFEW";
		f.req[1].unit = (char *)units[i];
		GOOD(&f, T(SENTENCE_IMPOSED));
	}
	/* Requirements are refused on every other sentence type. */
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		community(&f, others[i]);
		BAD(&f, T(SENTENCE_IMPOSED), "requirements");
	}
	community(&f, "SDS");
	CHECK_INT(check(&f, T(SENTENCE_IMPOSED), &d), NS_EVALID);
	CHECK(strstr(d.msg, "only for a COMMUNITY_ORDER or SSO sentence_type, not 'SDS'") != NULL);
	fx_init(&f);
	/* The suspended term only on an SSO. */
	community(&f, "COMMUNITY_ORDER");
	f.si.suspended_months = 6;
	BAD(&f, T(SENTENCE_IMPOSED), "suspended_months");
	f.si.suspended_days = 10; /* the fixture's SDS */
	BAD(&f, T(SENTENCE_IMPOSED), "suspended_days");
	/* Each field of a requirement. */
	community(&f, "COMMUNITY_ORDER");
	f.req[0].requirement_id = "";
	BAD(&f, T(SENTENCE_IMPOSED), "requirements[0].requirement_id");
	community(&f, "COMMUNITY_ORDER");
	f.req[1].requirement_id = "R 2";
	BAD(&f, T(SENTENCE_IMPOSED), "requirements[1].requirement_id");
	community(&f, "COMMUNITY_ORDER");
	f.req[1].category = "TAG";
	BAD(&f, T(SENTENCE_IMPOSED), "requirements[1].category");
	community(&f, "COMMUNITY_ORDER");
	f.req[1].category = "";
	BAD(&f, T(SENTENCE_IMPOSED), "requirements[1].category");
	community(&f, "COMMUNITY_ORDER");
	f.req[0].length = 0;
	BAD(&f, T(SENTENCE_IMPOSED), "requirements[0].length");
	community(&f, "COMMUNITY_ORDER");
	f.req[1].unit = "WEEKS";
	BAD(&f, T(SENTENCE_IMPOSED), "requirements[1].unit");
	community(&f, "COMMUNITY_ORDER");
	f.req[1].unit = "";
	BAD(&f, T(SENTENCE_IMPOSED), "requirements[1].unit");
	/* Unpaid work is ordered in hours, RAR in days. */
	community(&f, "COMMUNITY_ORDER");
	f.req[0].unit = "DAYS";
	CHECK_INT(check(&f, T(SENTENCE_IMPOSED), &d), NS_EVALID);
	CHECK_STR(d.field, "requirements[0].unit");
	CHECK(strstr(d.msg, "must be HOURS when category is UNPAID_WORK, not 'DAYS'") != NULL);
	fx_init(&f);
	community(&f, "SSO");
	f.req[1].unit = "MONTHS";
	BAD(&f, T(SENTENCE_IMPOSED), "requirements[1].unit");
}

/* Appointments, requirement ends, warnings and breaches. */
static void test_enforcement(void)
{
	struct fx f;
	const char *outcomes[] = { "ATTC", "ATSS", "AFDA", "AAME", "AAEM", "AAFC", "AACL",
				   "AARC", "AARE", "AAHO", "AASD", "CO05", "RSOF", "RSSR",
				   "CO40", "CO38", "AFTC", "ATSH", "UAAB", "AFTA", "ATFI" };
	const char *reasons[] = { "COMPLETED", "TERMINATED", "REVOKED" };
	const char *bouts[] = { "ORDER_CONTINUED", "ORDER_VARIED", "ORDER_REVOKED", "WITHDRAWN" };

	fx_init(&f);
	for (size_t i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++) {
		f.aor.outcome = (char *)outcomes[i];
		GOOD(&f, T(APPOINTMENT_OUTCOME_RECORDED));
	}
	f.aor.requirement_id = ""; /* optional, and so are the minutes, the RAR flag and the id */
	f.aor.minutes_credited = 0;
	f.aor.rar = 1;
	f.aor.appointment_id = "C-1001";
	GOOD(&f, T(APPOINTMENT_OUTCOME_RECORDED));
	f.aor.sentence_id = "";
	BAD(&f, T(APPOINTMENT_OUTCOME_RECORDED), "sentence_id");
	f.aor.requirement_id = "R 1";
	BAD(&f, T(APPOINTMENT_OUTCOME_RECORDED), "requirement_id");
	f.aor.appointment_date = "";
	BAD(&f, T(APPOINTMENT_OUTCOME_RECORDED), "appointment_date");
	f.aor.appointment_date = "2026-02-30";
	BAD(&f, T(APPOINTMENT_OUTCOME_RECORDED), "appointment_date");
	f.aor.outcome = "";
	BAD(&f, T(APPOINTMENT_OUTCOME_RECORDED), "outcome");
	f.aor.outcome = "attc";
	BAD(&f, T(APPOINTMENT_OUTCOME_RECORDED), "outcome");
	f.aor.outcome = "EA02"; /* an enforcement action, not a contact outcome */
	BAD(&f, T(APPOINTMENT_OUTCOME_RECORDED), "outcome");
	f.aor.appointment_id = "C 1";
	BAD(&f, T(APPOINTMENT_OUTCOME_RECORDED), "appointment_id");

	for (size_t i = 0; i < 3; i++) {
		f.ren.reason = (char *)reasons[i];
		GOOD(&f, T(REQUIREMENT_ENDED));
	}
	f.ren.end_date = ""; /* optional */
	GOOD(&f, T(REQUIREMENT_ENDED));
	f.ren.sentence_id = "";
	BAD(&f, T(REQUIREMENT_ENDED), "sentence_id");
	f.ren.requirement_id = "";
	BAD(&f, T(REQUIREMENT_ENDED), "requirement_id");
	f.ren.reason = "";
	BAD(&f, T(REQUIREMENT_ENDED), "reason");
	f.ren.reason = "EXPIRED";
	BAD(&f, T(REQUIREMENT_ENDED), "reason");
	f.ren.end_date = "next week";
	BAD(&f, T(REQUIREMENT_ENDED), "end_date");

	GOOD(&f, T(ENFORCEMENT_WARNING_ISSUED));
	f.ewi.sentence_id = "";
	BAD(&f, T(ENFORCEMENT_WARNING_ISSUED), "sentence_id");
	f.ewi.warning_date = "";
	BAD(&f, T(ENFORCEMENT_WARNING_ISSUED), "warning_date");
	f.ewi.warning_date = "2026-13-01";
	BAD(&f, T(ENFORCEMENT_WARNING_ISSUED), "warning_date");

	GOOD(&f, T(BREACH_INITIATED));
	f.bi.sentence_id = "";
	BAD(&f, T(BREACH_INITIATED), "sentence_id");
	f.bi.breach_id = "";
	BAD(&f, T(BREACH_INITIATED), "breach_id");
	f.bi.breach_id = "B 1";
	BAD(&f, T(BREACH_INITIATED), "breach_id");
	f.bi.breach_date = "";
	BAD(&f, T(BREACH_INITIATED), "breach_date");
	f.bi.breach_date = "01/04/2026";
	BAD(&f, T(BREACH_INITIATED), "breach_date");
	f.bi.reason = "";
	BAD(&f, T(BREACH_INITIATED), "reason");

	for (size_t i = 0; i < 4; i++) {
		f.bc.outcome = (char *)bouts[i];
		GOOD(&f, T(BREACH_CONCLUDED));
	}
	f.bc.conclusion_date = "2026-05-01";
	GOOD(&f, T(BREACH_CONCLUDED));
	f.bc.breach_id = "";
	BAD(&f, T(BREACH_CONCLUDED), "breach_id");
	f.bc.outcome = "";
	BAD(&f, T(BREACH_CONCLUDED), "outcome");
	f.bc.outcome = "REVOKED";
	BAD(&f, T(BREACH_CONCLUDED), "outcome");
	f.bc.conclusion_date = "2026-05-32";
	BAD(&f, T(BREACH_CONCLUDED), "conclusion_date");
}

/* Receptions, releases, transfers, recall returns and POM allocation. */
static void test_custody(void)
{
	struct fx f;
	ns_diag d;
	const char *received[] = { "NEW_ADMISSION", "READMISSION", "TRANSFERRED", "RETURN_FROM_COURT",
				   "TEMPORARY_ABSENCE_RETURN", "RECALL", "POST_MERGE_ADMISSION" };
	const char *released[] = { "RELEASED", "RELEASED_TO_HOSPITAL", "SENT_TO_COURT", "TRANSFERRED",
				   "TEMPORARY_ABSENCE_RELEASE" };
	const char *rtypes[] = { "CRD", "ARD", "HDC", "PAROLE", "SED", "REMAND_ENDED", "" };

	fx_init(&f);
	for (int i = 0; i < 7; i++) {
		f.prc.reason = (char *)received[i];
		GOOD(&f, T(PRISONER_RECEIVED));
	}
	f.prc.reason = "ADMISSION";
	BAD(&f, T(PRISONER_RECEIVED), "reason");
	f.prc.reason = "";
	BAD(&f, T(PRISONER_RECEIVED), "reason");
	f.prc.prison = "";
	BAD(&f, T(PRISONER_RECEIVED), "prison");
	f.prc.prison = "XYZ";
	CHECK_INT(check(&f, T(PRISONER_RECEIVED), &d), NS_EVALID);
	CHECK_STR(d.field, "prison");
	CHECK_STR(d.msg, "'XYZ' is not an establishment code (establishments.csv)");
	fx_init(&f);

	for (int i = 0; i < 5; i++) {
		f.prl.reason = (char *)released[i];
		GOOD(&f, T(PRISONER_RELEASED));
	}
	for (int i = 0; i < 7; i++) {
		f.prl.release_type = (char *)rtypes[i];
		GOOD(&f, T(PRISONER_RELEASED));
	}
	f.prl.reason = "ESCAPED";
	BAD(&f, T(PRISONER_RELEASED), "reason");
	f.prl.release_type = "LED";
	BAD(&f, T(PRISONER_RELEASED), "release_type");
	f.prl.prison = "MD";
	BAD(&f, T(PRISONER_RELEASED), "prison");

	GOOD(&f, T(PRISONER_TRANSFERRED));
	f.pt.from_prison = "";
	BAD(&f, T(PRISONER_TRANSFERRED), "from_prison");
	f.pt.to_prison = "ZZZ";
	BAD(&f, T(PRISONER_TRANSFERRED), "to_prison");
	f.pt.to_prison = "LEI";
	BAD(&f, T(PRISONER_TRANSFERRED), "to_prison");

	GOOD(&f, T(RECALL_RETURNED_TO_CUSTODY));
	f.rtc.ual_days = 0;
	GOOD(&f, T(RECALL_RETURNED_TO_CUSTODY));
	f.rtc.ual_days = -1;
	BAD(&f, T(RECALL_RETURNED_TO_CUSTODY), "ual_days");
	f.rtc.prison = "";
	BAD(&f, T(RECALL_RETURNED_TO_CUSTODY), "prison");
	f.rtc.return_date = "";
	BAD(&f, T(RECALL_RETURNED_TO_CUSTODY), "return_date");

	GOOD(&f, T(MANAGER_POM_ALLOCATED));
	f.pom.prison = "N07";
	BAD(&f, T(MANAGER_POM_ALLOCATED), "prison");
	f.pom.staff = "";
	BAD(&f, T(MANAGER_POM_ALLOCATED), "staff");
}

/* prisoner.adjustment.recorded, including what a court may record. */
static void test_adjustment(void)
{
	struct fx f;
	ns_diag d;
	const char *types[] = { "REMAND", "TAGGED_BAIL", "UNLAWFULLY_AT_LARGE", "ADDITIONAL_DAYS_AWARDED",
				"RESTORATION_OF_ADDITIONAL_DAYS_AWARDED" };

	fx_init(&f);
	for (int i = 0; i < 5; i++) {
		/* A prison may record every type; a court only the first two. */
		f.adj.adjustment_type = (char *)types[i];
		CHECK_INT(ns_validate_event(NS_ROLE_PRISON, "A1234BC", T(PRISONER_ADJUSTMENT_RECORDED),
					    pay(&f, T(PRISONER_ADJUSTMENT_RECORDED)), &d), 0);
		CHECK_INT(ns_validate_event(NS_ROLE_COURT, "A1234BC", T(PRISONER_ADJUSTMENT_RECORDED),
					    pay(&f, T(PRISONER_ADJUSTMENT_RECORDED)), &d),
			  i < 2 ? 0 : NS_EVALID);
		if (i >= 2)
			CHECK_STR(d.field, "adjustment_type");
	}
	fx_init(&f);
	f.adj.adjustment_type = "LOST_DAYS";
	BAD(&f, T(PRISONER_ADJUSTMENT_RECORDED), "adjustment_type");
	f.adj.adjustment_type = "";
	BAD(&f, T(PRISONER_ADJUSTMENT_RECORDED), "adjustment_type");
	f.adj.days = 0;
	BAD(&f, T(PRISONER_ADJUSTMENT_RECORDED), "days");
	f.adj.days = -3;
	BAD(&f, T(PRISONER_ADJUSTMENT_RECORDED), "days");
	f.adj.from_date = "";
	f.adj.to_date = "";
	GOOD(&f, T(PRISONER_ADJUSTMENT_RECORDED));
	f.adj.from_date = "2025-12-31";
	BAD(&f, T(PRISONER_ADJUSTMENT_RECORDED), "to_date");
	f.adj.from_date = "2025/12/01";
	BAD(&f, T(PRISONER_ADJUSTMENT_RECORDED), "from_date");
}

/* alert.raised and alert.closed. */
static void test_alerts(void)
{
	struct fx f;

	fx_init(&f);
	GOOD(&f, T(ALERT_RAISED));
	f.ar.comment = "Self-harm risk; see ACCT";
	GOOD(&f, T(ALERT_RAISED));
	f.ar.alert_type = "";
	BAD(&f, T(ALERT_RAISED), "alert_type");
	f.ar.alert_code = "h a";
	BAD(&f, T(ALERT_RAISED), "alert_code");
	f.ar.from_date = "";
	BAD(&f, T(ALERT_RAISED), "from_date");
	GOOD(&f, T(ALERT_CLOSED));
	f.acl.alert_code = "";
	BAD(&f, T(ALERT_CLOSED), "alert_code");
	f.acl.to_date = "2026-02-30";
	BAD(&f, T(ALERT_CLOSED), "to_date");
}

/*
 * MAPPA category and level (M1-M4, M1-M3), only on a MAPP registration
 * (REFERENCE-2 s. 3). Leaves @p f reset.
 */
static void test_risk_registrations(struct fx *f)
{
	const char *cats[] = { "M1", "M2", "M3", "M4" };
	ns_diag d;

	fx_init(f);
	f->rga.register_type = "MAPP";
	GOOD(f, T(REGISTRATION_ADDED)); /* category and level are optional */
	for (int i = 0; i < 4; i++) {
		f->rga.register_type = "MAPP";
		f->rga.category = (char *)cats[i];
		f->rga.level = (char *)cats[i < 3 ? i : 2];
		GOOD(f, T(REGISTRATION_ADDED));
	}
	f->rga.register_type = "MAPP";
	f->rga.category = "M5";
	BAD(f, T(REGISTRATION_ADDED), "category");
	f->rga.register_type = "MAPP";
	f->rga.category = "1"; /* Delius codes, not the bare number */
	BAD(f, T(REGISTRATION_ADDED), "category");
	f->rga.register_type = "MAPP";
	f->rga.level = "M4";
	BAD(f, T(REGISTRATION_ADDED), "level");
	f->rga.register_type = "MAPP";
	f->rga.level = "m2";
	BAD(f, T(REGISTRATION_ADDED), "level");
	/* Refused on any other register type, RoSH ones included. */
	f->rga.category = "M1";
	CHECK_INT(check(f, T(REGISTRATION_ADDED), &d), NS_EVALID);
	CHECK_STR(d.field, "category");
	CHECK_STR(d.msg, "only for a MAPP register_type, not 'RHRH'");
	fx_init(f);
	f->rga.register_type = "RVHR";
	f->rga.level = "M2";
	BAD(f, T(REGISTRATION_ADDED), "level");
	f->rga.register_type = "MAPP";
	f->rga.level = "M2";
	f->rga.registration_date = "";
	BAD(f, T(REGISTRATION_ADDED), "registration_date");
}

/* tier.calculated: every tier of the list; each field refused when wrong. */
static void test_tier(void)
{
	struct fx f;
	const char *good[] = { "A3", "A0", "B2", "C1", "D0", "B2S", "D3S", "A", "D", "G", "NOT_SUPERVISED",
			       "MISSING" };
	const char *bad[] = { "A4", "E2", "b2", "B2s", "H", "B2 ", "S", "AS" };

	fx_init(&f);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		f.tc.tier = (char *)good[i];
		GOOD(&f, T(TIER_CALCULATED));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		f.tc.tier = (char *)bad[i];
		BAD(&f, T(TIER_CALCULATED), "tier");
	}
	f.tc.tier = "";
	BAD(&f, T(TIER_CALCULATED), "tier");
	f.tc.calculation_id = "";
	BAD(&f, T(TIER_CALCULATED), "calculation_id");
	f.tc.calculation_id = "calc 1";
	BAD(&f, T(TIER_CALCULATED), "calculation_id");
	f.tc.calculation_date = "";
	BAD(&f, T(TIER_CALCULATED), "calculation_date");
	f.tc.calculation_date = "2026-02-29";
	BAD(&f, T(TIER_CALCULATED), "calculation_date");
	/* Probation's: a prison may not emit it. */
	CHECK_INT(ns_validate_event(NS_ROLE_PRISON, "A1234BC", T(TIER_CALCULATED), pay(&f, T(TIER_CALCULATED)), NULL),
		  NS_EROLE);
}

/* person.merged / person.unmerged: both NOMS numbers or both CRNs, different, by a hub only. */
static void test_merges(void)
{
	struct fx f;

	fx_init(&f);
	GOOD(&f, T(PERSON_MERGED));
	GOOD(&f, T(PERSON_UNMERGED));
	f.pm.identifier_type = "CRN";
	f.pm.survivor = "X123456";
	f.pm.removed = "Y654321";
	GOOD(&f, T(PERSON_MERGED));
	f.pm.identifier_type = "";
	BAD(&f, T(PERSON_MERGED), "identifier_type");
	f.pm.identifier_type = "PNC";
	BAD(&f, T(PERSON_MERGED), "identifier_type");
	f.pm.survivor = "";
	BAD(&f, T(PERSON_MERGED), "survivor");
	f.pm.survivor = "X123456"; /* a CRN where NOMS numbers are said */
	BAD(&f, T(PERSON_MERGED), "survivor");
	f.pm.removed = "X123456";
	BAD(&f, T(PERSON_MERGED), "removed");
	f.pm.removed = "";
	BAD(&f, T(PERSON_MERGED), "removed");
	f.pm.removed = "A1234BC"; /* into itself */
	BAD(&f, T(PERSON_MERGED), "removed");
	f.pu.identifier_type = "NOMS"; /* CRNs where NOMS numbers are said */
	BAD(&f, T(PERSON_UNMERGED), "survivor");
	f.pu.removed = "A1234BC";
	BAD(&f, T(PERSON_UNMERGED), "removed");
	f.pu.removed = "X123456";
	BAD(&f, T(PERSON_UNMERGED), "removed");
	f.pu.identifier_type = "CRO";
	BAD(&f, T(PERSON_UNMERGED), "identifier_type");
	/* A hub's: neither a prison nor probation may emit them. */
	CHECK_INT(ns_validate_event(NS_ROLE_PRISON, "A1234BC", T(PERSON_MERGED), pay(&f, T(PERSON_MERGED)), NULL),
		  NS_EROLE);
	CHECK_INT(ns_validate_event(NS_ROLE_PROBATION, "X123456", T(PERSON_UNMERGED),
				    pay(&f, T(PERSON_UNMERGED)), NULL),
		  NS_EROLE);
}

/* COM allocation, licences, recalls, supervision, registrations, handover. */
static void test_probation(void)
{
	struct fx f;
	ns_diag d;
	const char *recalls[] = { "LR", "FTR_14", "FTR_28", "FTR_56", "FTR_HDC_14", "FTR_HDC_28",
				  "CUR_HDC", "IN_HDC" };
	const char *licences[] = { "AP", "PSS", "AP_PSS" };
	const char *reasons[] = { "EXPIRY", "REVOKED", "DEATH", "OTHER" };

	fx_init(&f);
	GOOD(&f, T(MANAGER_COM_ALLOCATED));
	f.com.pdu = "";
	f.com.team = "";
	f.com.staff = "";
	GOOD(&f, T(MANAGER_COM_ALLOCATED));
	f.com.region = "";
	BAD(&f, T(MANAGER_COM_ALLOCATED), "region");
	f.com.region = "N99";
	BAD(&f, T(MANAGER_COM_ALLOCATED), "region");
	f.com.pdu = "N50NOPE";
	BAD(&f, T(MANAGER_COM_ALLOCATED), "pdu");
	f.com.pdu = "N51CUMB"; /* a real PDU, but of N51 */
	CHECK_INT(check(&f, T(MANAGER_COM_ALLOCATED), &d), NS_EVALID);
	CHECK_STR(d.field, "pdu");
	CHECK_STR(d.msg, "PDU 'N51CUMB' is not in region N50");
	fx_init(&f);

	for (int i = 0; i < 3; i++) {
		f.la.licence_type = (char *)licences[i];
		GOOD(&f, T(LICENCE_ACTIVATED));
	}
	f.la.licence_type = "AP+PSS";
	BAD(&f, T(LICENCE_ACTIVATED), "licence_type");
	f.la.licence_id = "";
	BAD(&f, T(LICENCE_ACTIVATED), "licence_id");
	f.la.start_date = "";
	BAD(&f, T(LICENCE_ACTIVATED), "start_date");
	f.la.expiry_date = "2026-05-31";
	BAD(&f, T(LICENCE_ACTIVATED), "expiry_date");
	f.la.n_conditions = 0;
	GOOD(&f, T(LICENCE_ACTIVATED));
	f.conds[1] = "";
	BAD(&f, T(LICENCE_ACTIVATED), "conditions[1]");

	GOOD(&f, T(LICENCE_ENDED));
	f.le.licence_id = "";
	BAD(&f, T(LICENCE_ENDED), "licence_id");
	f.le.end_date = "";
	BAD(&f, T(LICENCE_ENDED), "end_date");

	for (int i = 0; i < 8; i++) {
		f.ri.recall_type = (char *)recalls[i];
		GOOD(&f, T(RECALL_ISSUED));
	}
	f.ri.recall_type = "FTR_7";
	BAD(&f, T(RECALL_ISSUED), "recall_type");
	f.ri.recall_id = "";
	BAD(&f, T(RECALL_ISSUED), "recall_id");
	f.ri.revocation_date = "2026-08-32";
	BAD(&f, T(RECALL_ISSUED), "revocation_date");
	f.sids[0] = "";
	BAD(&f, T(RECALL_ISSUED), "sentence_ids[0]");

	for (int i = 0; i < 4; i++) {
		f.st.reason = (char *)reasons[i];
		GOOD(&f, T(SUPERVISION_TERMINATED));
	}
	f.st.reason = "expiry";
	BAD(&f, T(SUPERVISION_TERMINATED), "reason");
	f.st.termination_date = "";
	BAD(&f, T(SUPERVISION_TERMINATED), "termination_date");

	GOOD(&f, T(REGISTRATION_ADDED));
	f.rga.register_type = "";
	BAD(&f, T(REGISTRATION_ADDED), "register_type");
	f.rga.registration_date = "01-04-2026";
	BAD(&f, T(REGISTRATION_ADDED), "registration_date");
	GOOD(&f, T(REGISTRATION_REMOVED));
	f.rgr.register_type = "rhrh";
	BAD(&f, T(REGISTRATION_REMOVED), "register_type");
	f.rgr.removal_date = "";
	BAD(&f, T(REGISTRATION_REMOVED), "removal_date");
	test_risk_registrations(&f);

	GOOD(&f, T(MANAGER_HANDOVER_CHANGED));
	f.mh.responsible = "POM";
	GOOD(&f, T(MANAGER_HANDOVER_CHANGED));
	f.mh.responsible = "HUB";
	BAD(&f, T(MANAGER_HANDOVER_CHANGED), "responsible");
	f.mh.responsible = "";
	BAD(&f, T(MANAGER_HANDOVER_CHANGED), "responsible");
	f.mh.handover_date = "";
	BAD(&f, T(MANAGER_HANDOVER_CHANGED), "handover_date");
}

/* Programmes, death, and event.corrected ids. */
static void test_programmes_and_more(void)
{
	struct fx f;
	const char *outcomes[] = { "COMPLETED", "NOT_COMPLETED", "DESELECTED" };

	fx_init(&f);
	GOOD(&f, T(PROGRAMME_REFERRED));
	f.prf.setting = "community";
	GOOD(&f, T(PROGRAMME_REFERRED));
	f.prf.setting = "Custody";
	BAD(&f, T(PROGRAMME_REFERRED), "setting");
	f.prf.setting = "";
	BAD(&f, T(PROGRAMME_REFERRED), "setting");
	f.prf.programme = "";
	BAD(&f, T(PROGRAMME_REFERRED), "programme");
	f.prf.referral_date = "";
	BAD(&f, T(PROGRAMME_REFERRED), "referral_date");

	for (int i = 0; i < 3; i++) {
		f.pcm.outcome = (char *)outcomes[i];
		GOOD(&f, T(PROGRAMME_COMPLETED));
	}
	f.pcm.outcome = "PASSED";
	BAD(&f, T(PROGRAMME_COMPLETED), "outcome");
	f.pcm.setting = "prison";
	BAD(&f, T(PROGRAMME_COMPLETED), "setting");
	f.pcm.completion_date = "";
	BAD(&f, T(PROGRAMME_COMPLETED), "completion_date");

	GOOD(&f, T(PERSON_DECEASED));
	f.pd.date_of_death = "";
	BAD(&f, T(PERSON_DECEASED), "date_of_death");
	f.pd.date_of_death = "2030-01-01T00:00:00Z";
	BAD(&f, T(PERSON_DECEASED), "date_of_death");

	GOOD(&f, T(EVENT_CORRECTED));
	f.ec.target_event_id = "";
	BAD(&f, T(EVENT_CORRECTED), "target_event_id");
	f.ec.target_event_id = EVID "0";
	BAD(&f, T(EVENT_CORRECTED), "target_event_id");
	f.ec.target_event_id = "9f2c4e6a8b0d1f3a5c7e9b1d3f5a7c9e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0";
	BAD(&f, T(EVENT_CORRECTED), "target_event_id");
	f.ec.target_event_id = "9f2c4e6a8b0d1f3a5c7e9b1d3f5a7c9e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0g";
	BAD(&f, T(EVENT_CORRECTED), "target_event_id");
	f.ec.target_event_id = "9F2C4E6A8B0D1F3A5C7E9B1D3F5A7C9E0B2D4F6A8C0E2B4D6F8A0C2E4B6D8F0A";
	BAD(&f, T(EVENT_CORRECTED), "target_event_id");
	f.ec.reason = "";
	BAD(&f, T(EVENT_CORRECTED), "reason");

	GOOD(&f, T(EVENT_ERASED));
	f.ee.requested_by = "DPO-2026-17";
	GOOD(&f, T(EVENT_ERASED));
	f.ee.target_event_id = EVID "0";
	BAD(&f, T(EVENT_ERASED), "target_event_id");
	f.ee.target_event_id = EVID;
	f.ee.reason = "ASKED_NICELY";
	BAD(&f, T(EVENT_ERASED), "reason");
	f.ee.reason = "";
	BAD(&f, T(EVENT_ERASED), "reason");
}

/* Limited-access offenders: mode, users (user ids, 1 to 64, distinct), reason. */
static void test_access(void)
{
	struct fx f;

	fx_init(&f);
	GOOD(&f, T(ACCESS_RESTRICTED));
	f.arx.mode = "EXCLUSION";
	GOOD(&f, T(ACCESS_RESTRICTED));
	f.arx.n_users = NS_ACCESS_MAX_USERS;
	GOOD(&f, T(ACCESS_RESTRICTED));
	f.arx.mode = "HIDDEN";
	BAD(&f, T(ACCESS_RESTRICTED), "mode");
	f.arx.mode = "";
	BAD(&f, T(ACCESS_RESTRICTED), "mode");
	f.arx.n_users = 0;
	BAD(&f, T(ACCESS_RESTRICTED), "users");
	f.arx.n_users = NS_ACCESS_MAX_USERS + 1;
	BAD(&f, T(ACCESS_RESTRICTED), "users");
	f.users[1] = "PO_SMITH";
	BAD(&f, T(ACCESS_RESTRICTED), "users[1]");
	f.users[1] = "";
	BAD(&f, T(ACCESS_RESTRICTED), "users[1]");
	f.users[0] = "Jane Doe";
	BAD(&f, T(ACCESS_RESTRICTED), "users[0]");
	f.users[0] = "tab\there";
	BAD(&f, T(ACCESS_RESTRICTED), "users[0]");
	f.users[0] = "caf\xc3\xa9";
	BAD(&f, T(ACCESS_RESTRICTED), "users[0]");
	{
		char longest[NS_USER_MAX + 1];
		memset(longest, 'u', sizeof(longest));
		longest[NS_USER_MAX - 1] = '\0';
		f.users[0] = longest;
		GOOD(&f, T(ACCESS_RESTRICTED));
		longest[NS_USER_MAX - 1] = 'u';
		longest[NS_USER_MAX] = '\0';
		f.users[0] = longest;
		BAD(&f, T(ACCESS_RESTRICTED), "users[0]");
	}
	f.arx.reason = "";
	BAD(&f, T(ACCESS_RESTRICTED), "reason");

	GOOD(&f, T(ACCESS_LIFTED));
	f.alf.mode = "RESTRICTION";
	GOOD(&f, T(ACCESS_LIFTED));
	f.alf.mode = "";
	BAD(&f, T(ACCESS_LIFTED), "mode");
	f.alf.mode = "ALL";
	BAD(&f, T(ACCESS_LIFTED), "mode");

	CHECK(ns_is_user_id("PO_SMITH"));
	CHECK(!ns_is_user_id(""));
	CHECK(!ns_is_user_id(NULL));
	CHECK(!ns_is_user_id("a b"));
}

/* Run every test; the exit status is 1 if any failed. */
/* The sentence plan: ids, closed lists and required fields of each type. */
static void test_plan(void)
{
	struct fx f;

	fx_init(&f);
	GOOD(&f, T(PLAN_GOAL_ADDED));
	f.pga.target_date = ""; /* optional: a FUTURE goal */
	GOOD(&f, T(PLAN_GOAL_ADDED));
	f.pga.goal_id = "";
	BAD(&f, T(PLAN_GOAL_ADDED), "goal_id");
	f.pga.goal_id = "goal one";
	BAD(&f, T(PLAN_GOAL_ADDED), "goal_id");
	f.pga.area_of_need = "HOUSING";
	BAD(&f, T(PLAN_GOAL_ADDED), "area_of_need");
	f.pga.area_of_need = "";
	BAD(&f, T(PLAN_GOAL_ADDED), "area_of_need");
	f.pga.title = "";
	BAD(&f, T(PLAN_GOAL_ADDED), "title");
	f.pga.target_date = "2026-02-30";
	BAD(&f, T(PLAN_GOAL_ADDED), "target_date");

	GOOD(&f, T(PLAN_GOAL_UPDATED));
	f.pgu.previous_status = "";
	f.pgu.note = "";
	GOOD(&f, T(PLAN_GOAL_UPDATED));
	f.pgu.goal_id = "";
	BAD(&f, T(PLAN_GOAL_UPDATED), "goal_id");
	f.pgu.status = "";
	BAD(&f, T(PLAN_GOAL_UPDATED), "status");
	f.pgu.status = "COMPLETED"; /* a step status, not a goal's */
	BAD(&f, T(PLAN_GOAL_UPDATED), "status");
	f.pgu.previous_status = "DRAFT";
	BAD(&f, T(PLAN_GOAL_UPDATED), "previous_status");

	GOOD(&f, T(PLAN_STEP_ADDED));
	f.psa.goal_id = "";
	BAD(&f, T(PLAN_STEP_ADDED), "goal_id");
	f.psa.step_id = "";
	BAD(&f, T(PLAN_STEP_ADDED), "step_id");
	f.psa.step_id = "S 1";
	BAD(&f, T(PLAN_STEP_ADDED), "step_id");
	f.psa.description = "";
	BAD(&f, T(PLAN_STEP_ADDED), "description");
	f.psa.actor = "";
	BAD(&f, T(PLAN_STEP_ADDED), "actor");
	f.psa.actor = "SERVICE_USER";
	BAD(&f, T(PLAN_STEP_ADDED), "actor");

	GOOD(&f, T(PLAN_STEP_UPDATED));
	f.psu.previous_status = "";
	GOOD(&f, T(PLAN_STEP_UPDATED));
	f.psu.goal_id = "";
	BAD(&f, T(PLAN_STEP_UPDATED), "goal_id");
	f.psu.step_id = "";
	BAD(&f, T(PLAN_STEP_UPDATED), "step_id");
	f.psu.status = "";
	BAD(&f, T(PLAN_STEP_UPDATED), "status");
	f.psu.status = "ACHIEVED"; /* a goal status, not a step's */
	BAD(&f, T(PLAN_STEP_UPDATED), "status");
	f.psu.previous_status = "COMPLETE";
	BAD(&f, T(PLAN_STEP_UPDATED), "previous_status");

	GOOD(&f, T(PLAN_AGREED));
	f.pag.agreement_status = "";
	BAD(&f, T(PLAN_AGREED), "agreement_status");
	f.pag.agreement_status = "DRAFT";
	BAD(&f, T(PLAN_AGREED), "agreement_status");

	GOOD(&f, T(PLAN_REVIEWED));
	f.prv.involved = 0; /* false is a value, not a missing field */
	GOOD(&f, T(PLAN_REVIEWED));
	f.prv.review_type = "";
	BAD(&f, T(PLAN_REVIEWED), "review_type");
	f.prv.review_type = "OTHER";
	BAD(&f, T(PLAN_REVIEWED), "review_type");
	f.prv.support_needed = "";
	BAD(&f, T(PLAN_REVIEWED), "support_needed");
	f.prv.support_needed = "MAYBE";
	BAD(&f, T(PLAN_REVIEWED), "support_needed");
	f.prv.note = "";
	BAD(&f, T(PLAN_REVIEWED), "note");
}

/* Court and hub sites may not write the plan; prison and probation may (test_roles covers all). */
static void test_plan_roles(void)
{
	struct fx f;
	ns_diag d;

	for (uint32_t t = T(PLAN_GOAL_ADDED); t <= T(PLAN_REVIEWED); t++) {
		fx_init(&f);
		CHECK_INT(ns_validate_event(NS_ROLE_PRISON, "A1234BC", t, pay(&f, t), &d), 0);
		CHECK_INT(ns_validate_event(NS_ROLE_PROBATION, "X123456", t, pay(&f, t), &d), 0);
		CHECK_INT(ns_validate_event(NS_ROLE_HUB, "A1234BC", t, pay(&f, t), &d), NS_EROLE);
		CHECK_INT(ns_validate_event(NS_ROLE_COURT, "A1234BC", t, pay(&f, t), &d), NS_EROLE);
	}
	CHECK_STR(d.msg, "a court site may not emit plan.reviewed");
}

int main(void)
{
	RUN(test_noms);
	RUN(test_crn);
	RUN(test_pnc);
	RUN(test_cro);
	RUN(test_refdata);
	RUN(test_ref_tables);
	RUN(test_site);
	RUN(test_roles);
	RUN(test_roster_changes);
	RUN(test_envelope);
	RUN(test_person);
	RUN(test_identifier);
	RUN(test_court);
	RUN(test_sentence);
	RUN(test_dates_calculated);
	RUN(test_community_sentence);
	RUN(test_enforcement);
	RUN(test_custody);
	RUN(test_adjustment);
	RUN(test_alerts);
	RUN(test_probation);
	RUN(test_tier);
	RUN(test_merges);
	RUN(test_programmes_and_more);
	RUN(test_plan);
	RUN(test_plan_roles);
	RUN(test_access);
	return TEST_SUMMARY();
}
