/*
 * Tests for src/json: JSON event input -> protobuf payload -> JSON output
 * for every event type (including a protobuf encode/decode in between),
 * nested and repeated fields, every input error with the field it names,
 * and the JSON form of a built, signed event. Run under ASan these also
 * check that nomsync__payload__free_unpacked frees everything the
 * converter allocates, including after a conversion that fails halfway.
 */
#include <nomsync/json.h>
#include <nomsync/catalogue.h>

#include <stdlib.h>
#include <string.h>

#include "test.h"

/*
 * Copy @p s with every ' turned into ", so that JSON can be written
 * readably in C literals. The result is malloc'd; the caller frees it.
 */
static char *q(const char *s)
{
	char *r = strdup(s);

	if (r == NULL) {
		fprintf(stderr, "out of memory\n");
		abort();
	}
	for (char *c = r; *c; c++)
		if (*c == '\'')
			*c = '"';
	return r;
}

/* Parse JSON written with single quotes; returns the ns_input_parse code. */
static int parse(const char *text, ns_input *in, ns_diag *d)
{
	char *t = q(text);
	int rc;

	ns_diag_clear(d);
	rc = ns_input_parse(t, strlen(t), in, d);
	free(t);
	return rc;
}

/* Expect @p text to be rejected with NS_EVALID naming @p field. */
#define REJECT(text, name)                                   \
	do {                                                 \
		ns_input in_;                                \
		ns_diag d_;                                  \
		CHECK_INT(parse((text), &in_, &d_), NS_EVALID); \
		CHECK_STR(d_.field, (name));                 \
		CHECK(in_.payload == NULL);                  \
		CHECK_INT(in_.type, 0);                      \
		ns_input_clear(&in_);                        \
	} while (0)

/* One full example of every event type (single-quoted JSON). */
static const char *const examples[] = {
	"{'type':'person.created','offender':'A1234BC','occurred_at':'2026-01-05T09:00:00Z',"
	"'surname':'SMITH','forenames':'JOHN PAUL','dob':'1985-03-14','gender':'M',"
	"'pnc':'2012/0052494Q','cro':'29906/12J'}",
	"{'type':'person.identifier.added','offender':'A1234BC','occurred_at':'2026-01-05T09:00:00Z',"
	"'identifier_type':'CRN','value':'X123456','book_number':'38412A'}",
	"{'type':'court.remanded','offender':'X123456','occurred_at':'2026-01-02',"
	"'court':'SHEFCC','remand_date':'2026-01-02','custodial':true}",
	"{'type':'court.convicted','offender':'X123456','occurred_at':'2026-01-10T15:30:00+01:00',"
	"'offences':[{'code':'TH68001','description':'Theft from a shop','offence_date':'2025-11-20'},"
	"{'code':'CJ88116','description':'Possession of a bladed article'}],"
	"'verdict_date':'2026-01-10','court':'SHEFCC'}",
	"{'type':'sentence.imposed','offender':'A1234BC','occurred_at':'2026-02-01T10:00:00Z',"
	"'sentence_id':'S1','sentence_date':'2026-02-01','sentence_type':'SDS','term_years':2,"
	"'term_months':6,'term_days':14,'court':'SHEFCC','court_case_ref':'T20267001',"
	"'consecutive_to':'S0','offence_date':'2025-11-20'}",
	"{'type':'prisoner.received','offender':'A1234BC','occurred_at':'2026-01-05T09:00:00Z',"
	"'prison':'MDI','reason':'NEW_ADMISSION','booking_id':'1205032','book_number':'38412A',"
	"'movement_reason_code':'N'}",
	"{'type':'prisoner.released','offender':'A1234BC','occurred_at':'2027-01-05T09:00:00Z',"
	"'prison':'LEI','reason':'RELEASED','release_type':'CRD','movement_reason_code':'CR'}",
	"{'type':'prisoner.transferred','offender':'A1234BC','occurred_at':'2026-03-05T09:00:00Z',"
	"'from_prison':'LEI','to_prison':'MDI','reason':'Overcrowding'}",
	"{'type':'prisoner.adjustment.recorded','offender':'A1234BC','occurred_at':'2026-03-05T09:00:00Z',"
	"'adjustment_type':'REMAND','days':12,'from_date':'2025-12-01','to_date':'2025-12-12',"
	"'sentence_id':'S1'}",
	"{'type':'alert.raised','offender':'A1234BC','occurred_at':'2026-01-05T09:00:00Z',"
	"'alert_type':'H','alert_code':'HA','from_date':'2026-01-05','comment':'ACCT opened \\u00e9'}",
	"{'type':'alert.closed','offender':'A1234BC','occurred_at':'2026-02-05T09:00:00Z',"
	"'alert_code':'HA','to_date':'2026-02-05'}",
	"{'type':'manager.pom.allocated','offender':'A1234BC','occurred_at':'2026-01-06T09:00:00Z',"
	"'prison':'MDI','staff':'485926','name':'Jane Jones'}",
	"{'type':'manager.com.allocated','offender':'X123456','occurred_at':'2026-01-06T09:00:00Z',"
	"'region':'N50','pdu':'N50BOLT','team':'N50CAC','staff':'N50A123','name':'Sam Patel'}",
	"{'type':'licence.activated','offender':'X123456','occurred_at':'2026-06-01T09:00:00Z',"
	"'licence_id':'L42','licence_type':'AP_PSS','start_date':'2026-06-01','expiry_date':'2027-06-01',"
	"'conditions':['Reside at approved address','Curfew 19:00-07:00','']}",
	"{'type':'recall.issued','offender':'X123456','occurred_at':'2026-08-01T09:00:00Z',"
	"'recall_id':'R7','recall_type':'FTR_28','revocation_date':'2026-08-01',"
	"'sentence_ids':['S1','S2']}",
	"{'type':'recall.returned_to_custody','offender':'A1234BC','occurred_at':'2026-08-10T09:00:00Z',"
	"'prison':'LEI','return_date':'2026-08-10','ual_days':9,'recall_id':'R7'}",
	"{'type':'programme.referred','offender':'A1234BC','occurred_at':'2026-03-01T09:00:00Z',"
	"'programme':'TSP','setting':'custody','referral_date':'2026-03-01'}",
	"{'type':'programme.completed','offender':'A1234BC','occurred_at':'2026-05-01T09:00:00Z',"
	"'programme':'TSP','setting':'community','outcome':'COMPLETED','completion_date':'2026-05-01'}",
	"{'type':'supervision.terminated','offender':'X123456','occurred_at':'2028-01-01T00:00:00Z',"
	"'reason':'EXPIRY','termination_date':'2028-01-01'}",
	"{'type':'person.deceased','offender':'A1234BC','occurred_at':'2030-01-01T00:00:00Z',"
	"'date_of_death':'2030-01-01'}",
	"{'type':'event.corrected','offender':'A1234BC','occurred_at':'2026-01-05T10:00:00Z',"
	"'target_event_id':'9f2c4e6a8b0d1f3a5c7e9b1d3f5a7c9e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a',"
	"'reason':'booking moved'}",
	"{'type':'court.appearance.recorded','offender':'X123456','occurred_at':'2026-01-02T10:00:00Z',"
	"'court':'B01EF','appearance_date':'2026-01-02','outcome':'Adjourned',"
	"'next_hearing_date':'2026-01-20','case_ref':'T20267001'}",
	"{'type':'sentence.quashed','offender':'A1234BC','occurred_at':'2026-07-01T10:00:00Z',"
	"'sentence_id':'S1','reason':'appeal allowed'}",
	"{'type':'registration.added','offender':'X123456','occurred_at':'2026-04-01T10:00:00Z',"
	"'register_type':'MAPP','registration_date':'2026-04-01','category':'M2','level':'M1'}",
	"{'type':'registration.removed','offender':'X123456','occurred_at':'2026-09-01T10:00:00Z',"
	"'register_type':'RHRH','removal_date':'2026-09-01'}",
	"{'type':'manager.handover.changed','offender':'A1234BC','occurred_at':'2026-05-15T10:00:00Z',"
	"'handover_date':'2026-05-15','responsible':'COM'}",
	"{'type':'licence.ended','offender':'X123456','occurred_at':'2027-06-01T10:00:00Z',"
	"'licence_id':'L42','end_date':'2027-06-01','reason':'Licence expired'}",
	"{'type':'roster.site.added','offender':'ROSTER','occurred_at':'2026-03-01T09:00:00Z',"
	"'site':'WDI','role':'prison','key':'d7f59c519493dccbc72e2702fa5d21fc3942d5d62122d47d096cb25b8dfdc579'}",
	"{'type':'roster.key.rotated','offender':'ROSTER','occurred_at':'2026-03-02T09:00:00Z',"
	"'site':'MDI','old_key':'d7f59c519493dccbc72e2702fa5d21fc3942d5d62122d47d096cb25b8dfdc579','new_key':'79deb98023a309ebb4c75eef66caa46d507e5b9a939bbd793f98783316b2d966'}",
	"{'type':'roster.key.revoked','offender':'ROSTER','occurred_at':'2026-03-03T09:00:00Z',"
	"'site':'MDI','key':'d7f59c519493dccbc72e2702fa5d21fc3942d5d62122d47d096cb25b8dfdc579','from_seq':42,'reason':'rotated'}",
	"{'type':'sentence.dates.calculated','offender':'A1234BC','occurred_at':'2026-03-04T09:00:00Z',"
	"'booking_id':'1234567','calculation_id':'C-42','crd':'2022-05-30','sled':'2022-12-26',"
	"'hdced':'2022-02-15','tused':'2023-05-30'}",
	"{'type':'appointment.outcome.recorded','offender':'X123456','occurred_at':'2026-03-02T17:00:00Z',"
	"'sentence_id':'S9','requirement_id':'R1','appointment_date':'2026-03-02','outcome':'ATTC',"
	"'minutes_credited':420,'rar':true,'appointment_id':'C-1001'}",
	"{'type':'requirement.ended','offender':'X123456','occurred_at':'2026-09-01T10:00:00Z',"
	"'sentence_id':'S9','requirement_id':'R1','reason':'COMPLETED','end_date':'2026-09-01'}",
	"{'type':'enforcement.warning.issued','offender':'X123456','occurred_at':'2026-03-10T10:00:00Z',"
	"'sentence_id':'S9','warning_date':'2026-03-10'}",
	"{'type':'breach.initiated','offender':'X123456','occurred_at':'2026-04-01T10:00:00Z',"
	"'sentence_id':'S9','breach_id':'B1','breach_date':'2026-04-01','reason':'2IN12'}",
	"{'type':'breach.concluded','offender':'X123456','occurred_at':'2026-05-01T10:00:00Z',"
	"'breach_id':'B1','outcome':'ORDER_VARIED','conclusion_date':'2026-05-01'}",
	"{'type':'event.erased','offender':'A1234BC','occurred_at':'2026-06-01T10:00:00Z',"
	"'target_event_id':'9f2c4e6a8b0d1f3a5c7e9b1d3f5a7c9e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a',"
	"'reason':'DATA_PROTECTION_REQUEST','requested_by':'DPO-2026-17'}",
	"{'type':'access.restricted','offender':'X123456','occurred_at':'2026-06-02T10:00:00Z',"
	"'mode':'RESTRICTION','users':['PO_SMITH','jane.doe@justice.gov.uk'],'reason':'Staff on the caseload'}",
	"{'type':'access.lifted','offender':'X123456','occurred_at':'2026-07-02T10:00:00Z','mode':'RESTRICTION'}",
	"{'type':'person.merged','offender':'A1234BC','occurred_at':'2026-03-05T09:00:00Z',"
	"'identifier_type':'NOMS','survivor':'A1234BC','removed':'B2345CD'}",
	"{'type':'person.unmerged','offender':'X123456','occurred_at':'2026-03-06T09:00:00Z',"
	"'identifier_type':'CRN','survivor':'X123456','removed':'Y654321'}",
	"{'type':'tier.calculated','offender':'X123456','occurred_at':'2026-03-05T09:00:00Z',"
	"'tier':'B2','calculation_id':'0e7c3a52-tier','calculation_date':'2026-03-05'}",
	"{'type':'plan.goal.added','offender':'A1234BC','occurred_at':'2026-03-05T09:00:00Z',"
	"'goal_id':'G1','area_of_need':'ACCOMMODATION','title':'Find somewhere to live on release',"
	"'target_date':'2026-09-01'}",
	"{'type':'plan.goal.updated','offender':'X123456','occurred_at':'2026-10-05T09:00:00Z',"
	"'goal_id':'G1','status':'ACHIEVED','previous_status':'ACTIVE','note':'Tenancy signed'}",
	"{'type':'plan.step.added','offender':'A1234BC','occurred_at':'2026-03-05T09:05:00Z',"
	"'goal_id':'G1','step_id':'S1','description':'Referral to housing advice','actor':'PRISON_OFFENDER_MANAGER'}",
	"{'type':'plan.step.updated','offender':'X123456','occurred_at':'2026-10-01T09:00:00Z',"
	"'goal_id':'G1','step_id':'S1','status':'COMPLETED','previous_status':'IN_PROGRESS','note':'Done'}",
	"{'type':'plan.agreed','offender':'A1234BC','occurred_at':'2026-03-05T09:30:00Z',"
	"'agreement_status':'AGREED','note':'Agreed in the induction interview'}",
	"{'type':'plan.reviewed','offender':'X123456','occurred_at':'2026-10-06T09:00:00Z',"
	"'review_type':'TRANSFER','support_needed':'DONT_KNOW','involved':true,'note':'Reviewed after release'}",
};

#define NEXAMPLES (sizeof(examples) / sizeof(examples[0]))

/* The example as a JSON object without its envelope keys. */
static json_t *expected_payload(const char *example)
{
	char *t = q(example);
	json_t *o = json_loads(t, 0, NULL);

	free(t);
	if (o != NULL) {
		json_object_del(o, "type");
		json_object_del(o, "offender");
		json_object_del(o, "occurred_at");
	}
	return o;
}

/* Print a JSON value to stderr (for failures). */
static void dump(const char *label, const json_t *v)
{
	char *s = v ? json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT) : NULL;

	fprintf(stderr, "  %s: %s\n", label, s ? s : "(null)");
	free(s);
}

/* Every type: input -> payload -> protobuf bytes -> payload -> JSON equals the input. */
static void test_round_trip(void)
{
	uint64_t seen = 0, all = 0;

	/* The numbering may have gaps (types reserved for work not merged yet). */
	CHECK_INT(NEXAMPLES, ns_catalogue_count());
	for (size_t i = 0; i < ns_catalogue_count(); i++)
		all |= (uint64_t)1 << ns_catalogue_at(i)->type;
	for (size_t i = 0; i < NEXAMPLES; i++) {
		ns_input in;
		ns_diag d;
		json_t *want, *got;
		Nomsync__Payload *back;
		uint8_t *buf;
		size_t len;

		if (parse(examples[i], &in, &d) != 0) {
			fprintf(stderr, "  example %zu: %s: %s\n", i, d.field, d.msg);
			CHECK(0);
			continue;
		}
		CHECK(in.type >= 1 && in.type <= ns_type_max());
		CHECK(in.payload != NULL);
		CHECK_INT(in.payload->body_case, in.type);
		seen |= (uint64_t)1 << in.type;

		want = expected_payload(examples[i]);
		got = ns_payload_to_json(in.payload);
		CHECK(want != NULL && got != NULL);
		if (!json_equal(want, got)) {
			fprintf(stderr, "  example %zu (%s) differs\n", i, ns_type_name(in.type));
			dump("want", want);
			dump("got ", got);
			CHECK(0);
		}
		json_decref(got);

		/* The built message packs and unpacks to the same JSON. */
		len = nomsync__payload__get_packed_size(in.payload);
		buf = malloc(len ? len : 1);
		CHECK(buf != NULL);
		if (buf != NULL) {
			CHECK_INT(nomsync__payload__pack(in.payload, buf), len);
			back = nomsync__payload__unpack(NULL, len, buf);
			CHECK(back != NULL);
			if (back != NULL) {
				got = ns_payload_to_json(back);
				CHECK(json_equal(want, got));
				json_decref(got);
				nomsync__payload__free_unpacked(back, NULL);
			}
			free(buf);
		}
		json_decref(want);
		ns_input_clear(&in);
		CHECK(in.payload == NULL);
	}
	/* Every type of the catalogue was covered. */
	CHECK(seen == all);
	/* Every type of the catalogue was covered once. */
	CHECK_INT(seen, all);
}

/* Envelope values land in ns_input. */
static void test_envelope(void)
{
	ns_input in;
	ns_diag d;

	CHECK_INT(parse(examples[3], &in, &d), 0); /* court.convicted, +01:00 offset */
	CHECK_INT(in.type, NOMSYNC__EVENT_TYPE__COURT_CONVICTED);
	CHECK_STR(in.offender, "X123456");
	CHECK_INT(in.occurred_at, 1768055400); /* 2026-01-10T14:30:00Z */
	ns_input_clear(&in);

	CHECK_INT(parse(examples[2], &in, &d), 0); /* a bare date */
	CHECK_INT(in.occurred_at, 1767312000);  /* 2026-01-02T00:00:00Z */
	ns_input_clear(&in);

	/* Key order does not matter; the envelope may come last. */
	CHECK_INT(parse("{'prison':'MDI','reason':'RECALL','type':'prisoner.received',"
			"'occurred_at':'2026-01-05T09:00:00Z','offender':'A1234BC'}", &in, &d), 0);
	CHECK_STR(in.payload->prisoner_received->reason, "RECALL");
	ns_input_clear(&in);

	/* Payload fields are optional at this layer (validation is elsewhere). */
	CHECK_INT(parse("{'type':'person.deceased','offender':'A1234BC','occurred_at':'2030-01-01'}",
			&in, &d), 0);
	CHECK(in.payload != NULL && in.payload->person_deceased != NULL);
	CHECK_STR(in.payload->person_deceased->date_of_death, "");
	ns_input_clear(&in);
	ns_input_clear(&in); /* twice is fine */
	ns_input_clear(NULL);
}

/* court.convicted: repeated nested messages. */
static void test_nested(void)
{
	ns_input in;
	ns_diag d;
	Nomsync__CourtConvicted *cc;

	CHECK_INT(parse(examples[3], &in, &d), 0);
	cc = in.payload->court_convicted;
	CHECK_INT(cc->n_offences, 2);
	CHECK_STR(cc->offences[0]->code, "TH68001");
	CHECK_STR(cc->offences[0]->offence_date, "2025-11-20");
	CHECK_STR(cc->offences[1]->description, "Possession of a bladed article");
	CHECK_STR(cc->offences[1]->offence_date, "");
	CHECK_STR(cc->court, "SHEFCC");
	ns_input_clear(&in);

	/* An empty offence object stays an (empty) element. */
	CHECK_INT(parse("{'type':'court.convicted','offender':'X123456','occurred_at':'2026-01-10',"
			"'offences':[{},{'code':'TH68001'}]}", &in, &d), 0);
	CHECK_INT(in.payload->court_convicted->n_offences, 2);
	{
		json_t *got = ns_payload_to_json(in.payload);
		char *want = q("{'offences':[{},{'code':'TH68001'}]}");
		json_t *w = json_loads(want, 0, NULL);
		CHECK(json_equal(got, w));
		json_decref(w);
		json_decref(got);
		free(want);
	}
	ns_input_clear(&in);

	/* An empty array is the default: omitted on output. */
	CHECK_INT(parse("{'type':'court.convicted','offender':'X123456','occurred_at':'2026-01-10',"
			"'offences':[],'verdict_date':'2026-01-10'}", &in, &d), 0);
	CHECK_INT(in.payload->court_convicted->n_offences, 0);
	{
		json_t *got = ns_payload_to_json(in.payload);
		CHECK(json_object_get(got, "offences") == NULL);
		CHECK_INT(json_object_size(got), 1);
		json_decref(got);
	}
	ns_input_clear(&in);
}

/* A community order's requirements and an SSO's suspended term: JSON -> payload -> JSON. */
static void test_requirements(void)
{
	static const char *const lines[] = {
		"{'type':'sentence.imposed','offender':'X123456','occurred_at':'2026-02-01T10:00:00Z',"
		"'sentence_id':'S9','sentence_date':'2026-02-01','sentence_type':'COMMUNITY_ORDER',"
		"'term_months':18,'requirements':[{'requirement_id':'R1','category':'UNPAID_WORK',"
		"'length':120,'unit':'HOURS'},{'requirement_id':'R2','category':'RAR','length':20,"
		"'unit':'DAYS'}]}",
		"{'type':'sentence.imposed','offender':'X123456','occurred_at':'2026-02-01T10:00:00Z',"
		"'sentence_id':'S10','sentence_date':'2026-02-01','sentence_type':'SSO','term_years':2,"
		"'suspended_months':6,'suspended_days':14,'requirements':[{'requirement_id':'R1',"
		"'category':'CURFEW','length':4,'unit':'MONTHS'}]}",
	};
	ns_input in;
	ns_diag d;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		json_t *want = expected_payload(lines[i]), *got;

		CHECK_INT(parse(lines[i], &in, &d), 0);
		if (in.payload == NULL)
			continue;
		got = ns_payload_to_json(in.payload);
		CHECK(json_equal(want, got));
		if (i == 0) {
			CHECK_INT(in.payload->sentence_imposed->n_requirements, 2);
			CHECK_STR(in.payload->sentence_imposed->requirements[1]->category, "RAR");
			CHECK_INT(in.payload->sentence_imposed->requirements[0]->length, 120);
		} else {
			CHECK_INT(in.payload->sentence_imposed->suspended_months, 6);
		}
		json_decref(want);
		json_decref(got);
		ns_input_clear(&in);
	}
	/* A requirement's unknown field is named with its index. */
	CHECK_INT(parse("{'type':'sentence.imposed','offender':'X123456','occurred_at':'2026-02-01',"
			"'requirements':[{'requirement_id':'R1'},{'hours':12}]}", &in, &d), NS_EVALID);
	CHECK_STR(d.field, "requirements[1].hours");
}

/* Repeated strings keep their order and their empty elements. */
static void test_repeated_strings(void)
{
	ns_input in;
	ns_diag d;
	Nomsync__LicenceActivated *la;

	CHECK_INT(parse(examples[13], &in, &d), 0);
	la = in.payload->licence_activated;
	CHECK_INT(la->n_conditions, 3);
	CHECK_STR(la->conditions[0], "Reside at approved address");
	CHECK_STR(la->conditions[1], "Curfew 19:00-07:00");
	CHECK_STR(la->conditions[2], "");
	ns_input_clear(&in);

	CHECK_INT(parse(examples[14], &in, &d), 0);
	CHECK_INT(in.payload->recall_issued->n_sentence_ids, 2);
	CHECK_STR(in.payload->recall_issued->sentence_ids[1], "S2");
	ns_input_clear(&in);
}

/* Defaults are omitted on output; null input means "not given". */
static void test_defaults(void)
{
	ns_input in;
	ns_diag d;
	json_t *got;

	CHECK_INT(parse("{'type':'court.remanded','offender':'X123456','occurred_at':'2026-01-02',"
			"'court':'SHEFCC','remand_date':'','custodial':false}", &in, &d), 0);
	got = ns_payload_to_json(in.payload);
	CHECK_INT(json_object_size(got), 1);
	CHECK_STR(json_string_value(json_object_get(got, "court")), "SHEFCC");
	json_decref(got);
	ns_input_clear(&in);

	CHECK_INT(parse("{'type':'sentence.imposed','offender':'X123456','occurred_at':'2026-01-02',"
			"'sentence_id':'S1','term_years':0,'term_months':null,'court':null}", &in, &d), 0);
	CHECK_STR(in.payload->sentence_imposed->court, "");
	got = ns_payload_to_json(in.payload);
	CHECK_INT(json_object_size(got), 1);
	json_decref(got);
	ns_input_clear(&in);

	/* Extreme values of the integer types survive. */
	CHECK_INT(parse("{'type':'sentence.imposed','offender':'X123456','occurred_at':'2026-01-02',"
			"'term_years':4294967295}", &in, &d), 0);
	CHECK_INT(in.payload->sentence_imposed->term_years, 4294967295u);
	got = ns_payload_to_json(in.payload);
	CHECK_INT(json_integer_value(json_object_get(got, "term_years")), 4294967295LL);
	json_decref(got);
	ns_input_clear(&in);
	CHECK_INT(parse("{'type':'prisoner.adjustment.recorded','offender':'X123456',"
			"'occurred_at':'2026-01-02','days':-2147483648}", &in, &d), 0);
	CHECK_INT(in.payload->prisoner_adjustment_recorded->days, INT32_MIN);
	ns_input_clear(&in);

	/* NULL or empty payloads give an empty object. */
	got = ns_payload_to_json(NULL);
	CHECK(json_is_object(got) && json_object_size(got) == 0);
	json_decref(got);
	{
		Nomsync__Payload empty = NOMSYNC__PAYLOAD__INIT;
		got = ns_payload_to_json(&empty);
		CHECK(json_is_object(got) && json_object_size(got) == 0);
		json_decref(got);
	}
}

/* Syntax errors, non-objects, oversize lines, duplicate keys. */
static void test_errors_json(void)
{
	ns_input in;
	ns_diag d;
	char *big;

	CHECK_INT(parse("{'type':", &in, &d), NS_EVALID);
	CHECK_STR(d.field, "json");
	CHECK(strncmp(d.msg, "line 1 column ", 14) == 0);
	CHECK(in.payload == NULL);
	CHECK_INT(parse("{'type':'prisoner.received',\n'offender':'A1234BC',,}", &in, &d), NS_EVALID);
	CHECK_STR(d.field, "json");
	CHECK(strncmp(d.msg, "line 2 column ", 14) == 0);
	REJECT("", "json");
	REJECT("{} trailing", "json");
	REJECT("[1,2]", "json");
	CHECK_INT(parse("[1,2]", &in, &d), NS_EVALID);
	CHECK_STR(d.msg, "expected a JSON object, got an array");
	REJECT("'prisoner.received'", "json");
	REJECT("42", "json");
	REJECT("null", "json");
	REJECT("{'type':'alert.closed','type':'alert.raised','offender':'A1234BC',"
	       "'occurred_at':'2026-01-01'}", "json"); /* duplicate key */
	REJECT("{'type':'alert.closed','offender':'A1234BC','occurred_at':'2026-01-01',"
	       "'alert_code':'A\\u0000B'}", "json"); /* NUL in a string */

	/* 64 KiB is accepted (padded with spaces), one byte more is not. */
	big = malloc(NS_JSON_LINE_MAX + 2);
	CHECK(big != NULL);
	if (big != NULL) {
		const char *obj = "{\"type\":\"person.deceased\",\"offender\":\"A1234BC\","
				  "\"occurred_at\":\"2030-01-01\",\"date_of_death\":\"2030-01-01\"}";
		size_t n = strlen(obj);

		memset(big, ' ', NS_JSON_LINE_MAX + 1);
		memcpy(big, obj, n);
		big[NS_JSON_LINE_MAX + 1] = '\0';
		CHECK_INT(ns_input_parse(big, NS_JSON_LINE_MAX, &in, &d), 0);
		ns_input_clear(&in);
		CHECK_INT(ns_input_parse(big, NS_JSON_LINE_MAX + 1, &in, &d), NS_EVALID);
		CHECK_STR(d.field, "json");
		CHECK(strstr(d.msg, "65537 bytes") != NULL);
		CHECK(in.payload == NULL);
		free(big);
	}
	CHECK_INT(ns_input_parse(NULL, 0, &in, &d), NS_EVALID);
	CHECK_STR(d.field, "json");
	/* A NULL diag is allowed. */
	CHECK_INT(ns_input_parse("[]", 2, &in, NULL), NS_EVALID);
}

/* The envelope keys: type, offender, occurred_at. */
static void test_errors_envelope(void)
{
	ns_input in;
	ns_diag d;

	REJECT("{'offender':'A1234BC','occurred_at':'2026-01-01'}", "type");
	REJECT("{'type':null,'offender':'A1234BC','occurred_at':'2026-01-01'}", "type");
	REJECT("{'type':6,'offender':'A1234BC','occurred_at':'2026-01-01'}", "type");
	REJECT("{'type':'prisoner.escaped','offender':'A1234BC','occurred_at':'2026-01-01'}", "type");
	REJECT("{'type':'','offender':'A1234BC','occurred_at':'2026-01-01'}", "type");
	CHECK_INT(parse("{'type':'prisoner.escaped','offender':'A1234BC','occurred_at':'2026-01-01'}",
			&in, &d), NS_EVALID);
	CHECK_STR(d.msg, "unknown event type 'prisoner.escaped'");

	REJECT("{'type':'prisoner.received','occurred_at':'2026-01-01'}", "offender");
	REJECT("{'type':'prisoner.received','offender':'','occurred_at':'2026-01-01'}", "offender");
	REJECT("{'type':'prisoner.received','offender':12,'occurred_at':'2026-01-01'}", "offender");
	REJECT("{'type':'prisoner.received','offender':'A1234BCDEFGHIJKLMNOP','occurred_at':'2026-01-01'}",
	       "offender");

	REJECT("{'type':'prisoner.received','offender':'A1234BC'}", "occurred_at");
	REJECT("{'type':'prisoner.received','offender':'A1234BC','occurred_at':1767312000}",
	       "occurred_at");
	REJECT("{'type':'prisoner.received','offender':'A1234BC','occurred_at':'2026-13-01T00:00:00Z'}",
	       "occurred_at");
	REJECT("{'type':'prisoner.received','offender':'A1234BC','occurred_at':'2026-01-01T09:00:00'}",
	       "occurred_at");
	REJECT("{'type':'prisoner.received','offender':'A1234BC','occurred_at':'yesterday'}",
	       "occurred_at");

	/* Envelope is checked before the payload keys. */
	REJECT("{'prizon':'MDI','type':'prisoner.received','offender':'A1234BC'}", "occurred_at");

	/* ns_input_from_json on a non-object. */
	{
		json_t *arr = json_array();
		CHECK_INT(ns_input_from_json(arr, &in, &d), NS_EVALID);
		CHECK_STR(d.field, "json");
		json_decref(arr);
		CHECK_INT(ns_input_from_json(NULL, &in, &d), NS_EVALID);
	}
}

/* Payload keys: unknown names, wrong JSON types, integer ranges. */
static void test_errors_payload(void)
{
	ns_input in;
	ns_diag d;
#define ENV "'type':'prisoner.received','offender':'A1234BC','occurred_at':'2026-01-05T09:00:00Z'"
#define CONV "'type':'court.convicted','offender':'X123456','occurred_at':'2026-01-10'"
#define SENT "'type':'sentence.imposed','offender':'X123456','occurred_at':'2026-01-10'"
#define ADJ "'type':'prisoner.adjustment.recorded','offender':'A1234BC','occurred_at':'2026-01-10'"
#define LIC "'type':'licence.activated','offender':'X123456','occurred_at':'2026-01-10'"

	/* Unknown field. */
	CHECK_INT(parse("{" ENV ",'prizon':'MDI','reason':'NEW_ADMISSION'}", &in, &d), NS_EVALID);
	CHECK_STR(d.field, "prizon");
	CHECK_STR(d.msg, "unknown field for prisoner.received");
	REJECT("{" ENV ",'prison':'MDI','Prison':'MDI'}", "Prison");
	REJECT("{" ENV ",'from_prison':'MDI'}", "from_prison"); /* a field of another type */
	REJECT("{" ENV ",'payload':{}}", "payload");
	REJECT("{" ENV ",'id':'abc'}", "id");
	REJECT("{" CONV ",'offences':[{'code':'TH68001','colour':'red'}]}", "offences[0].colour");
	CHECK_INT(parse("{" CONV ",'offences':[{'code':'TH68001'},{'colour':'red'}]}", &in, &d),
		  NS_EVALID);
	CHECK_STR(d.field, "offences[1].colour");
	CHECK_STR(d.msg, "unknown field for offences[1]");

	/* Wrong JSON types. */
	REJECT("{" ENV ",'prison':5}", "prison");
	REJECT("{" ENV ",'prison':['MDI']}", "prison");
	REJECT("{" ENV ",'prison':{'code':'MDI'}}", "prison");
	REJECT("{" ENV ",'prison':true}", "prison");
	REJECT("{'type':'court.remanded','offender':'X123456','occurred_at':'2026-01-02',"
	       "'custodial':'yes'}", "custodial");
	REJECT("{'type':'court.remanded','offender':'X123456','occurred_at':'2026-01-02',"
	       "'custodial':1}", "custodial");
	REJECT("{" SENT ",'term_years':'2'}", "term_years");
	REJECT("{" SENT ",'term_years':2.0}", "term_years");
	REJECT("{" ADJ ",'days':1.5}", "days");
	REJECT("{" ADJ ",'days':true}", "days");
	REJECT("{" LIC ",'conditions':'Curfew'}", "conditions");
	REJECT("{" LIC ",'conditions':['Curfew',3]}", "conditions[1]");
	REJECT("{" LIC ",'conditions':['Curfew',null]}", "conditions[1]");
	REJECT("{" LIC ",'conditions':{'a':'b'}}", "conditions");
	REJECT("{" CONV ",'offences':{'code':'TH68001'}}", "offences");
	REJECT("{" CONV ",'offences':[5]}", "offences[0]");
	REJECT("{" CONV ",'offences':[{'code':1}]}", "offences[0].code");
	REJECT("{" CONV ",'offences':[{'code':'A'},{'code':'B','offence_date':20251120}]}",
	       "offences[1].offence_date");
	CHECK_INT(parse("{" ENV ",'prison':5}", &in, &d), NS_EVALID);
	CHECK_STR(d.msg, "expected a string, got an integer");

	/* Integer ranges. */
	REJECT("{" ADJ ",'days':2147483648}", "days");
	REJECT("{" ADJ ",'days':-2147483649}", "days");
	REJECT("{" ADJ ",'days':30000000000}", "days");
	CHECK_INT(parse("{" ADJ ",'days':2147483648}", &in, &d), NS_EVALID);
	CHECK_STR(d.msg, "2147483648 is out of range for int32");
	REJECT("{" SENT ",'term_years':4294967296}", "term_years");
	REJECT("{" SENT ",'term_days':-1}", "term_days");
	CHECK_INT(parse("{" SENT ",'term_months':-1}", &in, &d), NS_EVALID);
	CHECK_STR(d.field, "term_months");
	CHECK(strstr(d.msg, "negative") != NULL);
	REJECT("{'type':'recall.returned_to_custody','offender':'A1234BC','occurred_at':'2026-01-10',"
	       "'ual_days':99999999999}", "ual_days");

	/* A NUL inside a string built by the caller (jansson's parser refuses them). */
	{
		json_t *o = json_object();
		json_object_set_new(o, "type", json_string("alert.closed"));
		json_object_set_new(o, "offender", json_string("A1234BC"));
		json_object_set_new(o, "occurred_at", json_string("2026-01-01"));
		json_object_set_new(o, "alert_code", json_stringn("A\0B", 3));
		CHECK_INT(ns_input_from_json(o, &in, &d), NS_EVALID);
		CHECK_STR(d.field, "alert_code");
		CHECK(in.payload == NULL);
		json_object_set_new(o, "alert_code", json_string("HA"));
		json_object_set_new(o, "offender", json_stringn("A12\0BC", 6));
		CHECK_INT(ns_input_from_json(o, &in, &d), NS_EVALID);
		CHECK_STR(d.field, "offender");
		json_decref(o);
	}

	/* Failing late, after strings and nested messages were allocated (ASan: no leak). */
	REJECT("{" CONV ",'verdict_date':'2026-01-10','court':'SHEFCC','offences':[{'code':'A',"
	       "'description':'x'},{'code':'B','description':'y','offence_date':'2025-01-01'},"
	       "{'code':'C','oops':1}]}", "offences[2].oops");
	REJECT("{" LIC ",'licence_id':'L1','conditions':['a','b','c',{}]}", "conditions[3]");
#undef ENV
#undef CONV
#undef SENT
#undef ADJ
#undef LIC
}

/* A built, signed event as JSON, and the same event once erased. */
static void test_event_json(void)
{
	ns_identity id;
	ns_input in;
	ns_diag d;
	ns_event *ev = NULL, *erased = NULL;
	uint8_t prev[NS_ID_BYTES], *buf = NULL;
	size_t len = 0;
	char hex[2 * NS_KEY_BYTES + 1];
	json_t *j, *want;

	CHECK_INT(ns_crypto_init(), 0);
	CHECK_INT(ns_identity_generate(&id, "MDI", NS_ROLE_PRISON), 0);
	memset(prev, 0xab, sizeof(prev));
	CHECK_INT(parse(examples[5], &in, &d), 0); /* prisoner.received */
	CHECK_INT(ns_event_build(&id, 7, prev, in.occurred_at, 1767607200 /* 2026-01-05T10:00:00Z */,
				 in.offender, in.payload, &ev), 0);
	if (ev == NULL) {
		ns_input_clear(&in);
		return;
	}
	j = ns_event_to_json(ev);
	CHECK(j != NULL);
	ns_hex(hex, ev->id, NS_ID_BYTES);
	CHECK_STR(json_string_value(json_object_get(j, "id")), hex);
	CHECK_STR(json_string_value(json_object_get(j, "type")), "prisoner.received");
	CHECK_STR(json_string_value(json_object_get(j, "offender")), "A1234BC");
	CHECK_STR(json_string_value(json_object_get(j, "occurred_at")), "2026-01-05T09:00:00Z");
	CHECK_STR(json_string_value(json_object_get(j, "recorded_at")), "2026-01-05T10:00:00Z");
	ns_hex(hex, id.pk, NS_KEY_BYTES);
	CHECK_STR(json_string_value(json_object_get(j, "origin")), hex);
	CHECK_STR(json_string_value(json_object_get(j, "site")), "MDI");
	CHECK_STR(json_string_value(json_object_get(j, "role")), "prison");
	CHECK_INT(json_integer_value(json_object_get(j, "seq")), 7);
	CHECK_STR(json_string_value(json_object_get(j, "prev")),
		  "abababababababababababababababababababababababababababababababab");
	want = expected_payload(examples[5]);
	CHECK(json_equal(json_object_get(j, "payload"), want));
	CHECK_INT(json_object_size(j), 11);
	json_decref(j);

	/* Erased: payload is null, everything else stays. */
	CHECK_INT(ns_event_encode_erased(ev, &buf, &len), 0);
	if (buf != NULL) {
		CHECK_INT(ns_event_decode(buf, len, &erased, &d), 0);
		if (erased != NULL) {
			CHECK(erased->payload == NULL);
			j = ns_event_to_json(erased);
			CHECK(j != NULL);
			CHECK(json_is_null(json_object_get(j, "payload")));
			CHECK_STR(json_string_value(json_object_get(j, "type")), "prisoner.received");
			CHECK_INT(json_object_size(j), 11);
			json_decref(j);
			ns_event_free(erased);
		}
		free(buf);
	}
	json_decref(want);
	ns_event_free(ev);
	ns_identity_wipe(&id);
	ns_input_clear(&in);
	CHECK(ns_event_to_json(NULL) == NULL);
}

/* A hand-filled ns_event: fixed values for every envelope field. */
static void test_event_json_fixed(void)
{
	ns_event ev;
	json_t *j;

	memset(&ev, 0, sizeof(ev));
	for (int i = 0; i < NS_ID_BYTES; i++) {
		ev.id[i] = (uint8_t)i;
		ev.prev[i] = 0;
		ev.origin[i] = (uint8_t)(0xff - i);
	}
	ev.seq = 1;
	ev.occurred_at = 0;
	ev.recorded_at = 951782400; /* 2000-02-29 */
	ev.type = NOMSYNC__EVENT_TYPE__PERSON_DECEASED;
	ev.role = NS_ROLE_PROBATION;
	memcpy(ev.offender, "X123456", 8);
	memcpy(ev.site, "N07", 4);
	j = ns_event_to_json(&ev);
	CHECK(j != NULL);
	CHECK_STR(json_string_value(json_object_get(j, "id")),
		  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
	CHECK_STR(json_string_value(json_object_get(j, "origin")),
		  "fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0");
	CHECK_STR(json_string_value(json_object_get(j, "prev")),
		  "0000000000000000000000000000000000000000000000000000000000000000");
	CHECK_STR(json_string_value(json_object_get(j, "occurred_at")), "1970-01-01T00:00:00Z");
	CHECK_STR(json_string_value(json_object_get(j, "recorded_at")), "2000-02-29T00:00:00Z");
	CHECK_STR(json_string_value(json_object_get(j, "type")), "person.deceased");
	CHECK_STR(json_string_value(json_object_get(j, "role")), "probation");
	CHECK_STR(json_string_value(json_object_get(j, "site")), "N07");
	CHECK(json_is_null(json_object_get(j, "payload")));
	CHECK(json_object_get(j, "type_known") == NULL);
	json_decref(j);

	/* A newer release's type: no name, its number, and not an erasure. */
	static const uint8_t bytes[] = { 0x0a, 0x00 };
	ev.type = 999;
	ev.type_unknown = 1;
	ev.payload_bytes = bytes;
	ev.payload_len = sizeof(bytes);
	j = ns_event_to_json(&ev);
	CHECK(j != NULL);
	CHECK(json_is_null(json_object_get(j, "type")));
	CHECK_INT(json_integer_value(json_object_get(j, "type_number")), 999);
	CHECK(json_is_false(json_object_get(j, "type_known")));
	CHECK(json_is_null(json_object_get(j, "payload")));
	CHECK_STR(json_string_value(json_object_get(j, "site")), "N07");
	json_decref(j);
}

/* Run every test; the exit status is 1 if any failed. */
/* The catalogue as JSON: every type, with its fields and checks in order. */
static void test_catalogue_json(void)
{
	json_t *cat = ns_catalogue_to_json(), *types = json_object_get(cat, "types");
	json_t *t, *f, *x;
	char *txt;

	CHECK(json_is_array(types));
	CHECK_INT(json_array_size(types), ns_catalogue_count());
	t = json_array_get(types, NOMSYNC__EVENT_TYPE__PRISONER_RECEIVED - 1);
	CHECK_STR(json_string_value(json_object_get(t, "name")), "prisoner.received");
	CHECK_STR(json_string_value(json_object_get(t, "label")), "Received into prison");
	CHECK_INT(json_integer_value(json_object_get(t, "type")), NOMSYNC__EVENT_TYPE__PRISONER_RECEIVED);
	txt = json_dumps(json_object_get(t, "roles"), JSON_COMPACT);
	CHECK_STR(txt, "[\"prison\"]");
	free(txt);
	f = json_array_get(json_object_get(t, "fields"), 1);
	CHECK_STR(json_string_value(json_object_get(f, "field")), "reason");
	CHECK_STR(json_string_value(json_object_get(f, "kind")), "enum");
	CHECK(json_is_true(json_object_get(f, "required")));
	CHECK(json_is_false(json_object_get(f, "repeated")));
	CHECK_STR(json_string_value(json_array_get(json_object_get(f, "values"), 0)), "NEW_ADMISSION");

	t = json_array_get(types, NOMSYNC__EVENT_TYPE__PRISONER_TRANSFERRED - 1);
	x = json_array_get(json_object_get(t, "checks"), 0);
	CHECK_STR(json_string_value(json_object_get(x, "kind")), "differ");
	CHECK_STR(json_string_value(json_object_get(x, "field")), "to_prison");
	CHECK_STR(json_string_value(json_object_get(x, "other")), "from_prison");

	t = json_array_get(types, NOMSYNC__EVENT_TYPE__COURT_CONVICTED - 1);
	f = json_array_get(json_object_get(t, "fields"), 2);
	CHECK_STR(json_string_value(json_object_get(f, "field")), "offences");
	CHECK(json_is_true(json_object_get(f, "repeated")) && json_is_true(json_object_get(f, "nonempty")));
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(f, "fields"), 0), "field")),
		  "code");
	x = json_array_get(json_object_get(f, "checks"), 0);
	CHECK_STR(json_string_value(json_object_get(x, "kind")), "not_after_outer");

	t = json_array_get(types, NOMSYNC__EVENT_TYPE__PRISONER_ADJUSTMENT_RECORDED - 1);
	x = json_array_get(json_object_get(t, "checks"), 0);
	CHECK_STR(json_string_value(json_object_get(x, "role")), "court");
	f = json_array_get(json_object_get(t, "fields"), 1);
	CHECK_INT(json_integer_value(json_object_get(f, "min")), 1);
	json_decref(cat);
}

int main(void)
{
	RUN(test_round_trip);
	RUN(test_envelope);
	RUN(test_nested);
	RUN(test_requirements);
	RUN(test_repeated_strings);
	RUN(test_defaults);
	RUN(test_errors_json);
	RUN(test_errors_envelope);
	RUN(test_errors_payload);
	RUN(test_event_json);
	RUN(test_event_json_fixed);
	RUN(test_catalogue_json);
	return TEST_SUMMARY();
}
