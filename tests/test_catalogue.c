/*
 * Tests for the event catalogue (src/event/catalogue.def): that it matches
 * proto/event.proto in both directions, so that a type or a payload field
 * the code does not implement cannot be accepted silently, and that its
 * rows are well formed (lists, labels, roles, rule order, messages).
 */
#include <nomsync/catalogue.h>
#include <nomsync/validate.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

/* Every catalogue row of the message @p m (and nested ones) against @p desc. */
static void check_message(const ns_message_spec *m, const ProtobufCMessageDescriptor *desc,
			  const ProtobufCMessageDescriptor *outer);

/* The lower-case form of @p key ("PRISONER_RECEIVED" -> "prisoner_received"). */
static void lower(char *out, size_t size, const char *key)
{
	size_t i;

	for (i = 0; key[i] && i + 1 < size; i++)
		out[i] = (char)tolower((unsigned char)key[i]);
	out[i] = '\0';
}

/* Index of field rule @p name in @p m, or -1. */
static long rule_at(const ns_message_spec *m, const char *name)
{
	const ns_rule *r = ns_catalogue_field(m, name);
	return r ? (long)(r - m->rules) : -1;
}

/* 1 if @p msg is a printf format with at most one conversion, a %s or %.Ns. */
static int one_string_conversion(const char *msg)
{
	int n = 0;

	for (const char *p = msg; *p; p++) {
		if (*p != '%')
			continue;
		if (p[1] == '%') {
			p++;
			continue;
		}
		p++;
		if (*p == '.') {
			p++;
			while (isdigit((unsigned char)*p))
				p++;
		}
		if (*p != 's' || ++n > 1)
			return 0;
	}
	return 1;
}

/* A NULL-terminated list with at least one value, no empty value. */
static int good_list(const char *const *v)
{
	if (v == NULL || v[0] == NULL)
		return 0;
	for (size_t i = 0; v[i]; i++)
		if (v[i][0] == '\0')
			return 0;
	return 1;
}

static void check_rule(const ns_message_spec *m, size_t i, const ProtobufCMessageDescriptor *desc,
		       const ProtobufCMessageDescriptor *outer)
{
	const ns_rule *r = &m->rules[i];
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(desc, r->field);

	if (ns_rule_kind_name(r->kind) == NULL || r->owner == NULL || strcmp(r->owner, m->key) != 0 ||
	    f == NULL) {
		fprintf(stderr, "  %s rule %zu (%s): unknown kind, misplaced row or no such field\n", m->key, i,
			r->field);
		CHECK(0);
		return;
	}
	CHECK(r->msg == NULL || one_string_conversion(r->msg));
	if (!NS_RULE_IS_CHECK(r->kind)) {
		if (!ns_rule_fits(r, f))
			fprintf(stderr, "  %s.%s: a %s rule does not fit the field\n", m->key, r->field,
				ns_rule_kind_name(r->kind));
		CHECK(ns_rule_fits(r, f));
		CHECK(r->label != NULL && r->label[0] != '\0');
		CHECK(rule_at(m, r->field) == (long)i); /* one rule per field */
		if (r->kind == NS_RULE_ENUM)
			CHECK(good_list(r->values));
		if (r->kind == NS_RULE_IDENT)
			CHECK(r->value != NULL && r->value[0] != '\0');
		/* The field a rule reads is checked before it. */
		if (r->kind == NS_RULE_PDU || r->kind == NS_RULE_IDENT_OF || r->kind == NS_RULE_SITE) {
			long at = r->other ? rule_at(m, r->other) : -1;
			CHECK(at >= 0 && at < (long)i);
		}
		if (r->kind == NS_RULE_MESSAGE && r->sub != NULL && f->descriptor != NULL)
			check_message(r->sub, f->descriptor, desc);
		return;
	}
	/* A check runs after the rules of the fields it reads. */
	CHECK(rule_at(m, r->field) >= 0 && rule_at(m, r->field) < (long)i);
	switch (r->kind) {
	case NS_CHECK_NOT_BEFORE:
	case NS_CHECK_NOT_AFTER:
	case NS_CHECK_DIFFER:
		CHECK(r->other != NULL && rule_at(m, r->other) >= 0 && rule_at(m, r->other) < (long)i);
		break;
	case NS_CHECK_NOT_AFTER_OUTER:
		CHECK(outer != NULL && r->other != NULL &&
		      protobuf_c_message_descriptor_get_field_by_name(outer, r->other) != NULL);
		break;
	case NS_CHECK_TERM:
		CHECK(r->value != NULL && good_list(r->values));
		for (size_t j = 0; r->values && r->values[j]; j++) {
			long at = rule_at(m, r->values[j]);
			CHECK(at >= 0 && at < (long)i && m->rules[at].kind == NS_RULE_INT);
		}
		break;
	case NS_CHECK_ROLE_ONLY:
		CHECK(r->role > NS_ROLE_NONE && r->role <= NS_ROLE_AUTHORITY && good_list(r->values));
		break;
	case NS_CHECK_ONLY_FOR:
	case NS_CHECK_WHEN:
		CHECK(r->other != NULL && rule_at(m, r->other) >= 0 && rule_at(m, r->other) < (long)i);
		CHECK(good_list(r->values));
		CHECK((r->kind == NS_CHECK_WHEN) == (r->value != NULL));
		break;
	case NS_CHECK_DISTINCT:
		CHECK(r->min > 0 && f->label == PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_STRING);
		break;
	default:
		CHECK(0);
	}
}

static void check_message(const ns_message_spec *m, const ProtobufCMessageDescriptor *desc,
			  const ProtobufCMessageDescriptor *outer)
{
	CHECK(m->key != NULL && m->label != NULL && m->label[0] != '\0');
	for (size_t i = 0; i < m->nrules; i++)
		check_rule(m, i, desc, outer);
	/* Every field of the message has a rule. */
	for (unsigned i = 0; i < desc->n_fields; i++) {
		if (ns_catalogue_field(m, desc->fields[i].name) == NULL)
			fprintf(stderr, "  %s: field %s has no rule in catalogue.def\n", m->key,
				desc->fields[i].name);
		CHECK(ns_catalogue_field(m, desc->fields[i].name) != NULL);
	}
}

/* Every EventType value but 0 has exactly one row, and every row a value. */
static void test_types_match_proto(void)
{
	const ProtobufCEnumDescriptor *ed = &nomsync__event_type__descriptor;
	size_t rows = 0;

	for (unsigned i = 0; i < ed->n_values; i++) {
		const ProtobufCEnumValue *v = &ed->values[i];
		const ns_event_spec *t = ns_catalogue_type((uint32_t)v->value);

		if (v->value == 0) {
			CHECK(t == NULL);
			continue;
		}
		rows++;
		if (t == NULL) {
			fprintf(stderr, "  EventType %s has no row in catalogue.def\n", v->name);
			CHECK(0);
			continue;
		}
		CHECK_INT(t->type, v->value);
		CHECK_STR(t->payload.key, v->name);
	}
	CHECK_INT(ns_catalogue_count(), rows);
	for (size_t i = 0; i < ns_catalogue_count(); i++) {
		const ns_event_spec *t = ns_catalogue_at(i);
		CHECK(protobuf_c_enum_descriptor_get_value(ed, (int)t->type) != NULL);
		CHECK(ns_catalogue_type(t->type) == t);
		if (i > 0)
			CHECK(t->type > ns_catalogue_at(i - 1)->type);
	}
	CHECK(ns_catalogue_at(ns_catalogue_count()) == NULL);
	CHECK(ns_catalogue_type(0) == NULL);
	CHECK(ns_catalogue_type(ns_type_max() + 1) == NULL);
	CHECK(ns_catalogue_type(UINT32_MAX) == NULL);
}

/* Each row's Payload oneof member exists and is named after it. */
static void test_payload_cases(void)
{
	char name[64];

	for (size_t i = 0; i < ns_catalogue_count(); i++) {
		const ns_event_spec *t = ns_catalogue_at(i);
		const ProtobufCFieldDescriptor *f = ns_catalogue_body(t->type);

		CHECK(f != NULL);
		if (f == NULL)
			continue;
		lower(name, sizeof(name), t->payload.key);
		CHECK_STR(f->name, name);
		CHECK(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF);
		CHECK_INT(f->id, t->type);
	}
	/* Payload has no member the catalogue lacks. */
	for (unsigned i = 0; i < nomsync__payload__descriptor.n_fields; i++)
		CHECK(ns_catalogue_type(nomsync__payload__descriptor.fields[i].id) != NULL);
}

/* Field rules and checks fit the payload messages, and cover every field. */
static void test_rules_match_fields(void)
{
	for (size_t i = 0; i < ns_catalogue_count(); i++) {
		const ns_event_spec *t = ns_catalogue_at(i);
		const ProtobufCFieldDescriptor *f = ns_catalogue_body(t->type);

		CHECK(t->payload.nrules > 0);
		if (f != NULL)
			check_message(&t->payload, f->descriptor, NULL);
	}
}

/* Names, labels and roles. */
static void test_names_labels_roles(void)
{
	const unsigned all = NS_R_PRISON | NS_R_PROBATION | NS_R_COURT | NS_R_HUB | NS_R_AUTHORITY;

	for (size_t i = 0; i < ns_catalogue_count(); i++) {
		const ns_event_spec *t = ns_catalogue_at(i);

		CHECK(t->name != NULL && t->name[0] != '\0');
		CHECK(t->label != NULL && t->label[0] != '\0');
		CHECK(t->roles != 0 && (t->roles & ~all) == 0);
		CHECK(ns_catalogue_find(t->name) == t);
		CHECK_INT(ns_type_parse(t->name), t->type);
		CHECK_STR(ns_type_name(t->type), t->name);
		for (size_t j = 0; j < i; j++) {
			CHECK(strcmp(ns_catalogue_at(j)->name, t->name) != 0);
			if (strcmp(ns_catalogue_at(j)->label, t->label) == 0)
				fprintf(stderr, "  label '%s' used twice\n", t->label);
			CHECK(strcmp(ns_catalogue_at(j)->label, t->label) != 0);
		}
		for (int r = NS_ROLE_NONE; r <= NS_ROLE_AUTHORITY + 1; r++)
			CHECK_INT(ns_role_may_emit((ns_role)r, t->type), (t->roles >> r) & 1u && r != NS_ROLE_NONE);
	}
	CHECK(ns_catalogue_find("no.such.type") == NULL);
	CHECK(ns_catalogue_find(NULL) == NULL);
	CHECK_STR(ns_catalogue_type(NOMSYNC__EVENT_TYPE__PRISONER_RECEIVED)->label, "Received into prison");
}

/* Lookups used by programs that write events. */
static void test_lookups(void)
{
	const ns_event_spec *t = ns_catalogue_type(NOMSYNC__EVENT_TYPE__PRISONER_RECEIVED);
	const ns_rule *r = ns_catalogue_field(&t->payload, "reason");

	CHECK(r != NULL && r->kind == NS_RULE_ENUM && (r->flags & NS_REQ));
	CHECK_STR(ns_catalogue_value(NOMSYNC__EVENT_TYPE__PRISONER_RECEIVED, "reason", "RECALL"), "RECALL");
	CHECK(ns_catalogue_value(NOMSYNC__EVENT_TYPE__PRISONER_RECEIVED, "reason", "HOLIDAY") == NULL);
	CHECK(ns_catalogue_value(NOMSYNC__EVENT_TYPE__PRISONER_RECEIVED, "prison", "MDI") == NULL);
	CHECK(ns_catalogue_value(0, "reason", "RECALL") == NULL);
	CHECK(ns_catalogue_field(&t->payload, "no_such_field") == NULL);
	CHECK_STR(ns_rule_kind_name(NS_RULE_PDU), "pdu");
	CHECK_STR(ns_rule_kind_name(NS_CHECK_ROLE_ONLY), "role_only");
	CHECK_STR(ns_rule_kind_name(NS_CHECK_ONLY_FOR), "only_for");
	CHECK_STR(ns_rule_kind_name(NS_CHECK_WHEN), "when");
	CHECK(ns_rule_kind_name(NS_RULE_NONE) == NULL);
	CHECK(ns_rule_kind_name((ns_rule_kind)999) == NULL);
	r = ns_catalogue_field(&ns_catalogue_type(NOMSYNC__EVENT_TYPE__COURT_CONVICTED)->payload, "offences");
	CHECK(r != NULL && r->kind == NS_RULE_MESSAGE && r->sub != NULL && strcmp(r->sub->key, "OFFENCE") == 0);
}

/*
 * The fold column, which only src/fold expands: a handler named after the
 * type (ns__fold_<key in lower case>), or NS_NOFOLD for the types that
 * change no person's record (roster changes and event.corrected).
 */
static const struct {
	const char *key, *fold;
} folds[] = {
#define NS_EVENT(key, name, label, roles, fold) { #key, #fold },
#include "event/catalogue.def"
};

static void test_fold_column(void)
{
	char want[80];

	CHECK_INT(sizeof(folds) / sizeof(folds[0]), ns_catalogue_count());
	for (size_t i = 0; i < sizeof(folds) / sizeof(folds[0]); i++) {
		const ns_event_spec *t = ns_catalogue_at(i);
		int nofold = t->roles == NS_R_AUTHORITY || t->type == NOMSYNC__EVENT_TYPE__EVENT_CORRECTED ||
			     t->type == NOMSYNC__EVENT_TYPE__EVENT_ERASED;

		CHECK_STR(folds[i].key, t->payload.key);
		lower(want, sizeof(want), t->payload.key);
		memmove(want + 9, want, strlen(want) + 1);
		memcpy(want, "ns__fold_", 9);
		CHECK_STR(folds[i].fold, nofold ? "NS_NOFOLD" : want);
	}
}

int main(void)
{
	RUN(test_types_match_proto);
	RUN(test_payload_cases);
	RUN(test_rules_match_fields);
	RUN(test_names_labels_roles);
	RUN(test_lookups);
	RUN(test_fold_column);
	return TEST_SUMMARY();
}
