/*
 * Payload validation: an interpreter of the event catalogue's rules
 * (src/event/catalogue.def, include/nomsync/catalogue.h).
 *
 * The rules of a payload run in their catalogue order and the first that
 * fails decides the error: the field named as spelt in proto/event.proto
 * (with an index for repeated fields and a prefix inside nested messages,
 * e.g. "offences[1].offence_date") and the rule broken. Fields are reached
 * by protobuf-c reflection (descriptor field by name -> offset), so there
 * is one function per kind of field rule and per kind of check, and none
 * per event type. "Optional" means an empty string (proto3's absent value)
 * passes.
 */
#include <nomsync/validate.h>
#include <nomsync/catalogue.h>
#include <nomsync/date.h>

#include <sodium.h>

#include <stdio.h>
#include <string.h>

#include "validate/internal.h"

/* Room for a field path ("offences[12].offence_date"). */
#define NS__PATH_MAX 64

/* Where rules are being applied. */
struct ns__at {
	ns_role role;                  /* the emitting site's role */
	const char *what;              /* the event type's name, for messages */
	const ProtobufCMessage *m;     /* the message the rules are about */
	const ProtobufCMessage *outer; /* the message enclosing it, or NULL */
	const char *prefix;            /* path of m: "" or "offences[1]" */
	ns_diag *d;
};

/* 1 if a string field is absent (NULL or empty). */
static int ns__empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* Path of field @p name of the message at @p prefix, with "[index]" unless index is -1. */
static void ns__path(char out[NS__PATH_MAX], const char *prefix, const char *name, long index)
{
	int n = snprintf(out, NS__PATH_MAX, "%s%s%s", prefix, prefix[0] ? "." : "", name);

	if (index >= 0 && n >= 0 && n < NS__PATH_MAX)
		snprintf(out + n, (size_t)(NS__PATH_MAX - n), "[%ld]", index);
}

/* The value of string field @p name of @p m, or NULL. */
static const char *ns__str(const ProtobufCMessage *m, const char *name)
{
	const ProtobufCFieldDescriptor *f;
	const char *v;

	if (m == NULL || name == NULL ||
	    (f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name)) == NULL ||
	    f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
		return NULL;
	memcpy(&v, (const char *)m + f->offset, sizeof(v));
	return v;
}

/* The integer at @p member of field @p f (ns_rule_fits has checked its type). */
static long long ns__int(const ProtobufCFieldDescriptor *f, const void *member)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return *(const int32_t *)member;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return *(const uint32_t *)member;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return *(const uint64_t *)member > (uint64_t)INT64_MAX ? INT64_MAX
								   : (long long)*(const uint64_t *)member;
	default:
		return *(const int64_t *)member;
	}
}

/* The value of integer field @p name of @p m (0 if there is none). */
static long long ns__int_field(const ProtobufCMessage *m, const char *name)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
	ns_rule probe = { .kind = NS_RULE_INT };

	if (f == NULL || !ns_rule_fits(&probe, f))
		return 0;
	return ns__int(f, (const char *)m + f->offset);
}

/* The day of date string @p v, or NS_DATE_NONE if absent or not a date. */
static int32_t ns__day(const char *v)
{
	int32_t t;
	return !ns__empty(v) && ns_date_parse(v, &t) == 0 ? t : NS_DATE_NONE;
}

/*
 * "A, B or C" for a NULL-terminated list, in @p out (cut short to fit).
 */
static void ns__either(char *out, size_t size, const char *const *list)
{
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; list[i] != NULL && off < size; i++) {
		int w = snprintf(out + off, size - off, "%s%s", i == 0 ? "" : list[i + 1] ? ", " : " or ", list[i]);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

/* 1 if @p v is in the NULL-terminated @p list. */
static int ns__in(const char *v, const char *const *list)
{
	for (size_t i = 0; v != NULL && list[i] != NULL; i++)
		if (strcmp(list[i], v) == 0)
			return 1;
	return 0;
}

/*
 * Field rules on one string value. Each gets the rule, the value and the
 * path to name, and returns 0 or NS_EVALID. An empty value never reaches
 * them unless the kind says so (see ns__kinds).
 */
typedef int (*ns__string_rule)(const struct ns__at *at, const ns_rule *r, const char *path, const char *v);

/* Free text: anything non-empty. */
static int ns__text(const struct ns__at *at, const ns_rule *r, const char *path, const char *v)
{
	(void)at, (void)r, (void)path, (void)v;
	return 0;
}

/* An identifier-like token (ids, references, staff codes): 1-64 printable characters, no spaces. */
static int ns__token(const struct ns__at *at, const ns_rule *r, const char *path, const char *v)
{
	size_t n = strlen(v);

	(void)r;
	if (n > 64)
		return ns_diag_set(at->d, NS_EVALID, path, "longer than 64 characters");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] <= ' ' || v[i] == 0x7f)
			return ns_diag_set(at->d, NS_EVALID, path,
					   "'%s' must be printable characters without spaces", v);
	return 0;
}

/* A domain code (alert, register, programme): 1-16 capitals, digits or '_'. */
static int ns__code(const struct ns__at *at, const ns_rule *r, const char *path, const char *v)
{
	(void)r;
	if (!ns__code_chars(v, 1, 16, "_"))
		return ns_diag_set(at->d, NS_EVALID, path, "'%s' is not a code (1-16 capitals, digits or '_')",
				   v);
	return 0;
}

/* A YYYY-MM-DD date. */
static int ns__date(const struct ns__at *at, const ns_rule *r, const char *path, const char *v)
{
	int32_t t;

	(void)r;
	if (ns_date_parse(v, &t) != 0)
		return ns_diag_set(at->d, NS_EVALID, path,
				   "'%s' is not a date (YYYY-MM-DD, a real day in 1900-2199)", v);
	return 0;
}

/* An establishment code. */
static int ns__prison(const struct ns__at *at, const ns_rule *r, const char *path, const char *v)
{
	(void)r;
	if (!ns_is_prison(v))
		return ns_diag_set(at->d, NS_EVALID, path,
				   "'%s' is not an establishment code (establishments.csv)", v);
	return 0;
}

/* A court code: 2-8 capitals and digits. */
static int ns__court(const struct ns__at *at, const ns_rule *r, const char *path, const char *v)
{
	(void)r;
	if (!ns__code_chars(v, 2, 8, NULL))
		return ns_diag_set(at->d, NS_EVALID, path,
				   "'%s' is not a court code (2-8 capitals and digits)", v);
	return 0;
}

/* A probation region code. */
static int ns__region(const struct ns__at *at, const ns_rule *r, const char *path, const char *v)
{
	if (ns_is_region(v))
		return 0;
	if (r->msg != NULL)
		return ns_diag_set(at->d, NS_EVALID, path, r->msg, v);
	return ns_diag_set(at->d, NS_EVALID, path,
			   "'%s' is not a probation region code (probation_regions.csv)", v);
}

/* A PDU code, of the region in field r->other. */
static int ns__pdu(const struct ns__at *at, const ns_rule *r, const char *path, const char *v)
{
	const char *region = ns__str(at->m, r->other);

	if (!ns_is_pdu(v, NULL))
		return ns_diag_set(at->d, NS_EVALID, path, "'%s' is not a PDU code (probation_pdus.csv)", v);
	if (!ns_is_pdu(v, region))
		return ns_diag_set(at->d, NS_EVALID, path, "PDU '%s' is not in region %s", v,
				   region ? region : "");
	return 0;
}

/*
 * A value from the closed list r->values; the message lists the allowed
 * values (as many as fit).
 */
static int ns__enum(const struct ns__at *at, const ns_rule *r, const char *path, const char *v)
{
	char names[160];
	size_t off = 0;

	if (ns__in(v, r->values))
		return 0;
	names[0] = '\0';
	for (size_t i = 0; r->values[i] != NULL && off < sizeof(names); i++) {
		int w = snprintf(names + off, sizeof(names) - off, "%s%s", i ? ", " : "", r->values[i]);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	return ns_diag_set(at->d, NS_EVALID, path, "'%.40s' is not one of %s", v, names);
}

/* Check an identifier value by the rule of its type (NOMS, CRN, PNC, CRO; others pass). */
static int ns__identifier(const struct ns__at *at, const char *type, const char *path, const char *v)
{
	if (type == NULL)
		return 0;
	if (strcmp(type, "NOMS") == 0 && !ns_is_noms(v))
		return ns_diag_set(at->d, NS_EVALID, path, "'%s' is not a NOMS number ([A-Z][0-9]{4}[A-Z]{2})",
				   v);
	if (strcmp(type, "CRN") == 0 && !ns_is_crn(v))
		return ns_diag_set(at->d, NS_EVALID, path, "'%s' is not a CRN ([A-Z][0-9]{6})", v);
	if (strcmp(type, "PNC") == 0 && !ns_is_pnc(v, NULL))
		return ns_diag_set(at->d, NS_EVALID, path,
				   "'%s' is not a PNC id (YYYY/NNNNNNNC or YY/N..C with a valid check letter)", v);
	if (strcmp(type, "CRO") == 0 && !ns_is_cro(v))
		return ns_diag_set(at->d, NS_EVALID, path,
				   "'%s' is not a CRO number (NNNNNN/YYC or SFYY/NNNNNNC with a valid check letter)",
				   v);
	return 0;
}

/* An identifier of the fixed type r->value. */
static int ns__ident(const struct ns__at *at, const ns_rule *r, const char *path, const char *v)
{
	return ns__identifier(at, r->value, path, v);
}

/* An identifier of the type named by field r->other. */
static int ns__ident_of(const struct ns__at *at, const ns_rule *r, const char *path, const char *v)
{
	return ns__identifier(at, ns__str(at->m, r->other), path, v);
}

/* An event id: 64 lower-case hex characters. */
static int ns__event_id(const struct ns__at *at, const ns_rule *r, const char *path, const char *v)
{
	size_t n = strlen(v);

	(void)r;
	for (size_t i = 0; i < n; i++)
		if (!ns__digit(v[i]) && !(v[i] >= 'a' && v[i] <= 'f'))
			n = 0;
	if (n != 2 * NS_ID_BYTES)
		return ns_diag_set(at->d, NS_EVALID, path,
				   "'%.80s' is not an event id (64 lower-case hex characters)", v);
	return 0;
}

/* A 64-hex Ed25519 public key that converts to a curve point (empty is invalid). */
static int ns__key(const struct ns__at *at, const ns_rule *r, const char *path, const char *v)
{
	uint8_t k[NS_KEY_BYTES], c[NS_KEY_BYTES];

	(void)r;
	if (ns_unhex(k, NS_KEY_BYTES, v ? v : "") != 0 || crypto_sign_ed25519_pk_to_curve25519(c, k) != 0)
		return ns_diag_set(at->d, NS_EVALID, path, "must be an Ed25519 public key in 64 hex digits");
	return 0;
}

/* The role of a listed site: prison, probation, court or hub (empty is invalid). */
static int ns__role(const struct ns__at *at, const ns_rule *r, const char *path, const char *v)
{
	ns_role role = ns_role_parse(v);

	(void)r;
	if (role == NS_ROLE_NONE || role == NS_ROLE_AUTHORITY)
		return ns_diag_set(at->d, NS_EVALID, path, "must be prison, probation, court or hub");
	return 0;
}

/* A site code valid for the role in field r->other (ns_validate_site's wording). */
static int ns__site(const struct ns__at *at, const ns_rule *r, const char *path, const char *v)
{
	(void)path;
	return ns_validate_site(ns_role_parse(ns__str(at->m, r->other)), v, at->d);
}

/* A user id (ns_is_user_id): 1-127 printable ASCII characters, no spaces. */
static int ns__user(const struct ns__at *at, const ns_rule *r, const char *path, const char *v)
{
	(void)r;
	if (!ns_is_user_id(v))
		return ns_diag_set(at->d, NS_EVALID, path,
				   "'%.40s' is not a user id (1-127 printable characters, no spaces)", v);
	return 0;
}

/*
 * String rules by kind: the function, whether it also judges an empty
 * value (otherwise empty passes if optional, or is "required for TYPE"),
 * and what the required message adds.
 */
static const struct {
	ns__string_rule check;
	int takes_empty;
	const char *hint;
} ns__kinds[] = {
	[NS_RULE_TEXT] = { ns__text, 0, "" },
	[NS_RULE_TOKEN] = { ns__token, 0, "" },
	[NS_RULE_CODE] = { ns__code, 0, "" },
	[NS_RULE_DATE] = { ns__date, 0, " (YYYY-MM-DD)" },
	[NS_RULE_PRISON] = { ns__prison, 0, " (an establishment code)" },
	[NS_RULE_COURT] = { ns__court, 0, " (a court code)" },
	[NS_RULE_REGION] = { ns__region, 0, " (a probation region code)" },
	[NS_RULE_PDU] = { ns__pdu, 0, "" },
	[NS_RULE_ENUM] = { ns__enum, 0, "" },
	[NS_RULE_IDENT] = { ns__ident, 0, "" },
	[NS_RULE_IDENT_OF] = { ns__ident_of, 0, "" },
	[NS_RULE_EVENT_ID] = { ns__event_id, 0, "" },
	[NS_RULE_KEY] = { ns__key, 1, "" },
	[NS_RULE_ROLE] = { ns__role, 1, "" },
	[NS_RULE_SITE] = { ns__site, 1, "" },
	[NS_RULE_USER] = { ns__user, 0, " (a user id)" },
};

/* Apply string rule @p r to value @p v, named @p path. */
static int ns__string(const struct ns__at *at, const ns_rule *r, const char *path, const char *v)
{
	if ((unsigned)r->kind >= sizeof(ns__kinds) / sizeof(ns__kinds[0]) || ns__kinds[r->kind].check == NULL)
		return ns_diag_set(at->d, NS_EVALID, path, "no rule of kind %d for text", (int)r->kind);
	if (ns__empty(v) && !ns__kinds[r->kind].takes_empty) {
		if (!(r->flags & NS_REQ))
			return 0;
		return ns_diag_set(at->d, NS_EVALID, path, "required for %s%s", at->what, ns__kinds[r->kind].hint);
	}
	return ns__kinds[r->kind].check(at, r, path, v);
}

/* An integer of at least r->min. */
static int ns__integer(const struct ns__at *at, const ns_rule *r, const char *path, long long v)
{
	char got[24];

	if (v >= r->min)
		return 0;
	if (r->msg != NULL) {
		snprintf(got, sizeof(got), "%lld", v);
		return ns_diag_set(at->d, NS_EVALID, path, r->msg, got);
	}
	if (r->min == 0)
		return ns_diag_set(at->d, NS_EVALID, path, "must not be negative (got %lld)", v);
	return ns_diag_set(at->d, NS_EVALID, path, "must be greater than %lld (got %lld)", r->min - 1, v);
}

static int ns__message(const struct ns__at *at, const ns_message_spec *spec);

/* Each element of a repeated field @p f: strings by @p r, messages by r->sub. */
static int ns__repeated(const struct ns__at *at, const ns_rule *r, const ProtobufCFieldDescriptor *f)
{
	size_t n = *(const size_t *)((const char *)at->m + f->quantifier_offset);
	const char *elems; /* n pointers: char * or ProtobufCMessage * (ns_rule_fits) */
	const char *what = r->sub ? r->sub->label : r->label;
	char path[NS__PATH_MAX];
	int rc;

	memcpy(&elems, (const char *)at->m + f->offset, sizeof(elems));
	if (n == 0 && (r->flags & NS_NONEMPTY)) {
		ns__path(path, at->prefix, r->field, -1);
		return ns_diag_set(at->d, NS_EVALID, path, "at least one %s is required for %s", what, at->what);
	}
	for (size_t i = 0; i < n; i++) {
		struct ns__at sub = *at;
		const char *v;

		if (r->kind != NS_RULE_MESSAGE) {
			memcpy(&v, elems + i * sizeof(v), sizeof(v));
			ns__path(path, at->prefix, r->field, (long)i);
			rc = ns__string(at, r, path, v);
			if (rc != 0)
				return rc;
			continue;
		}
		memcpy(&sub.m, elems + i * sizeof(sub.m), sizeof(sub.m));
		if (sub.m == NULL) {
			ns__path(path, at->prefix, r->field, -1);
			rc = ns_diag_set(at->d, NS_EVALID, path, "%s %zu is missing", what, i);
		} else {
			ns__path(path, at->prefix, r->field, (long)i);
			sub.outer = at->m;
			sub.prefix = path;
			rc = ns__message(&sub, r->sub);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Apply field rule @p r. */
static int ns__field(const struct ns__at *at, const ns_rule *r)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(at->m->descriptor, r->field);
	const char *member;
	char path[NS__PATH_MAX];

	ns__path(path, at->prefix, r->field, -1);
	/* tests/test_catalogue.c keeps this from happening. */
	if (f == NULL || !ns_rule_fits(r, f))
		return ns_diag_set(at->d, NS_EVALID, path, "the catalogue's rule does not fit this field");
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return ns__repeated(at, r, f);
	member = (const char *)at->m + f->offset;
	switch (r->kind) {
	case NS_RULE_INT:
		return ns__integer(at, r, path, ns__int(f, member));
	case NS_RULE_BOOL:
		return 0;
	case NS_RULE_MESSAGE: {
		struct ns__at sub = *at;

		memcpy(&sub.m, member, sizeof(sub.m));
		if (sub.m == NULL)
			return (r->flags & NS_REQ) ? ns_diag_set(at->d, NS_EVALID, path, "required for %s", at->what)
						   : 0;
		sub.outer = at->m;
		sub.prefix = path;
		return ns__message(&sub, r->sub);
	}
	default:
		return ns__string(at, r, path, *(const char *const *)member);
	}
}

/*
 * Checks across fields. Each runs after the rules of the fields it reads,
 * so their values are known to be well formed (or absent).
 */
typedef int (*ns__check_fn)(const struct ns__at *at, const ns_rule *r, const char *path);

/* Date r->field, if given, is not before date r->other. */
static int ns__not_before(const struct ns__at *at, const ns_rule *r, const char *path)
{
	int32_t first = ns__day(ns__str(at->m, r->other)), second = ns__day(ns__str(at->m, r->field));

	if (first != NS_DATE_NONE && second != NS_DATE_NONE && second < first)
		return ns_diag_set(at->d, NS_EVALID, path, "must not be before %s", r->other);
	return 0;
}

/* Date r->field, if given, is not after date r->other of message @p m. */
static int ns__after(const struct ns__at *at, const ns_rule *r, const char *path, const ProtobufCMessage *m)
{
	const char *v = ns__str(at->m, r->field), *limit = ns__str(m, r->other);
	int32_t day = ns__day(v), last = ns__day(limit);

	if (day != NS_DATE_NONE && last != NS_DATE_NONE && day > last)
		return ns_diag_set(at->d, NS_EVALID, path, "'%s' is after %s %s", v, r->other, limit);
	return 0;
}

static int ns__not_after(const struct ns__at *at, const ns_rule *r, const char *path)
{
	return ns__after(at, r, path, at->m);
}

static int ns__not_after_outer(const struct ns__at *at, const ns_rule *r, const char *path)
{
	return ns__after(at, r, path, at->outer);
}

/* r->field, if given, differs from r->other. */
static int ns__differ(const struct ns__at *at, const ns_rule *r, const char *path)
{
	const char *v = ns__str(at->m, r->field), *o = ns__str(at->m, r->other);

	if (ns__empty(v) || o == NULL || strcmp(v, o) != 0)
		return 0;
	if (r->msg != NULL)
		return ns_diag_set(at->d, NS_EVALID, path, r->msg, v);
	return ns_diag_set(at->d, NS_EVALID, path, "must differ from %s (%s)", r->other, o);
}

/* Unless r->field is r->value, one of the integer fields r->values is non-zero. */
static int ns__term(const struct ns__at *at, const ns_rule *r, const char *path)
{
	const char *v = ns__str(at->m, r->field);
	char fields[96], first[NS__PATH_MAX];

	(void)path;
	if (v != NULL && strcmp(v, r->value) == 0)
		return 0;
	for (size_t i = 0; r->values[i] != NULL; i++)
		if (ns__int_field(at->m, r->values[i]) != 0)
			return 0;
	ns__either(fields, sizeof(fields), r->values);
	ns__path(first, at->prefix, r->values[0], -1);
	return ns_diag_set(at->d, NS_EVALID, first, "a %s sentence needs a term (%s)", v ? v : "", fields);
}

/* A site of r->role may only put one of r->values in r->field. */
static int ns__role_only(const struct ns__at *at, const ns_rule *r, const char *path)
{
	const char *v = ns__str(at->m, r->field);
	char allowed[96];

	if (at->role != r->role || ns__in(v, r->values))
		return 0;
	ns__either(allowed, sizeof(allowed), r->values);
	return ns_diag_set(at->d, NS_EVALID, path, "a %s may only record %s, not '%s'", ns_role_name(r->role),
			   allowed, v ? v : "");
}

/* Is field @p name of @p m given: a non-empty string, a non-zero number, true, or elements. */
static int ns__given(const ProtobufCMessage *m, const char *name)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
	const char *member;
	ns_rule probe = { .kind = NS_RULE_INT };

	if (f == NULL)
		return 0;
	member = (const char *)m + f->offset;
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)((const char *)m + f->quantifier_offset) > 0;
	if (f->type == PROTOBUF_C_TYPE_STRING)
		return !ns__empty(*(const char *const *)member);
	if (f->type == PROTOBUF_C_TYPE_BOOL)
		return *(const protobuf_c_boolean *)member != 0;
	if (f->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(const void *const *)member != NULL;
	return ns_rule_fits(&probe, f) && ns__int(f, member) != 0;
}

/* r->field, if given, only when r->other is one of r->values. */
static int ns__only_for(const struct ns__at *at, const ns_rule *r, const char *path)
{
	const char *v = ns__str(at->m, r->other);
	char allowed[96];

	if (!ns__given(at->m, r->field) || ns__in(v, r->values))
		return 0;
	ns__either(allowed, sizeof(allowed), r->values);
	return ns_diag_set(at->d, NS_EVALID, path, "only for a %s %s, not '%s'", allowed, r->other,
			   v ? v : "");
}

/* When r->other is r->value, r->field is one of r->values. */
static int ns__when(const struct ns__at *at, const ns_rule *r, const char *path)
{
	const char *o = ns__str(at->m, r->other), *v = ns__str(at->m, r->field);
	char allowed[96];

	if (o == NULL || strcmp(o, r->value) != 0 || ns__in(v, r->values))
		return 0;
	ns__either(allowed, sizeof(allowed), r->values);
	return ns_diag_set(at->d, NS_EVALID, path, "must be %s when %s is %s, not '%s'", allowed, r->other,
			   r->value, v ? v : "");
}

/* The elements of repeated string r->field are distinct, and at most r->min of them. */
static int ns__distinct(const struct ns__at *at, const ns_rule *r, const char *path)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(at->m->descriptor, r->field);
	const char *const *v;
	char at_i[NS__PATH_MAX];
	size_t n;

	if (f == NULL || f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_STRING)
		return ns_diag_set(at->d, NS_EVALID, path, "the catalogue's check does not fit this field");
	n = *(const size_t *)((const char *)at->m + f->quantifier_offset);
	memcpy(&v, (const char *)at->m + f->offset, sizeof(v));
	if ((long long)n > r->min)
		return ns_diag_set(at->d, NS_EVALID, path, "at most %lld are allowed (got %zu)", r->min, n);
	for (size_t i = 1; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (v[i] != NULL && v[j] != NULL && strcmp(v[i], v[j]) == 0) {
				ns__path(at_i, at->prefix, r->field, (long)i);
				return ns_diag_set(at->d, NS_EVALID, at_i, "'%.40s' is listed twice", v[i]);
			}
	return 0;
}

static const ns__check_fn ns__checks[] = {
	[NS_CHECK_NOT_BEFORE] = ns__not_before,
	[NS_CHECK_NOT_AFTER] = ns__not_after,
	[NS_CHECK_NOT_AFTER_OUTER] = ns__not_after_outer,
	[NS_CHECK_DIFFER] = ns__differ,
	[NS_CHECK_TERM] = ns__term,
	[NS_CHECK_ROLE_ONLY] = ns__role_only,
	[NS_CHECK_ONLY_FOR] = ns__only_for,
	[NS_CHECK_WHEN] = ns__when,
	[NS_CHECK_DISTINCT] = ns__distinct,
};

/* Apply the rules of @p spec to at->m, in order; the first failure wins. */
static int ns__message(const struct ns__at *at, const ns_message_spec *spec)
{
	char path[NS__PATH_MAX];

	for (size_t i = 0; i < spec->nrules; i++) {
		const ns_rule *r = &spec->rules[i];
		int rc;

		if (!NS_RULE_IS_CHECK(r->kind)) {
			rc = ns__field(at, r);
		} else {
			ns__path(path, at->prefix, r->field, -1);
			if ((unsigned)r->kind >= sizeof(ns__checks) / sizeof(ns__checks[0]) ||
			    ns__checks[r->kind] == NULL)
				rc = ns_diag_set(at->d, NS_EVALID, path, "no check of kind %d", (int)r->kind);
			else
				rc = ns__checks[r->kind](at, r, path);
		}
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* The payload's body message (the oneof member of its case), or NULL. */
static const ProtobufCMessage *ns__body(const Nomsync__Payload *p)
{
	const ProtobufCFieldDescriptor *f = ns_catalogue_body((uint32_t)p->body_case);
	const ProtobufCMessage *body;

	if (f == NULL)
		return NULL;
	memcpy(&body, (const char *)p + f->offset, sizeof(body));
	return body;
}

/* Validate an event's offender, type, role and payload. See validate.h. */
int ns_validate_event(ns_role role, const char *offender, uint32_t type, const Nomsync__Payload *p,
		      ns_diag *d)
{
	const ns_event_spec *t = ns_catalogue_type(type);
	const char *rname = ns_role_name(role);
	const ProtobufCMessage *body;
	struct ns__at at = { .role = role, .prefix = "", .d = d };

	/* Types only the roster authority may emit are roster changes, about no person. */
	int roster = t != NULL && t->roles == NS_R_AUTHORITY;
	if (roster && (offender == NULL || strcmp(offender, NS_ROSTER_REF) != 0))
		return ns_diag_set(d, NS_EVALID, "offender", "roster changes carry the offender \"%s\"", NS_ROSTER_REF);
	if (!roster && !ns_is_noms(offender) && !ns_is_crn(offender))
		return ns_diag_set(d, NS_EVALID, "offender",
				   "'%.20s' is not a NOMS number ([A-Z][0-9]{4}[A-Z]{2}) or a CRN ([A-Z][0-9]{6})",
				   offender ? offender : "");
	if (t == NULL)
		return ns_diag_set(d, NS_EVALID, "type", "unknown event type %u", (unsigned)type);
	if (!ns_role_may_emit(role, type))
		return ns_diag_set(d, NS_EROLE, "type", "a %s site may not emit %s",
				   rname ? rname : "role-less", t->name);
	if (p == NULL)
		return 0; /* erased: nothing left to check */
	if ((uint32_t)p->body_case != type || (body = ns__body(p)) == NULL) {
		const char *got = ns_type_name((uint32_t)p->body_case);
		return ns_diag_set(d, NS_EVALID, "type", "payload is %s but the event type is %s",
				   got ? got : "empty", t->name);
	}
	at.what = t->name;
	at.m = body;
	return ns__message(&at, &t->payload);
}
