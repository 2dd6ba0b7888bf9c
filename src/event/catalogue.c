/*
 * The event catalogue as a runtime table (see include/nomsync/catalogue.h).
 *
 * src/event/catalogue.def is expanded several times here, each time with a
 * different meaning of its rows: the closed lists, forward declarations of
 * nested messages, one rule array per event type or nested message, the
 * nested message specs, the event specs, and an index from type number to
 * spec. The fold column is ignored (src/fold expands it).
 *
 * Rule arrays: the rows of one key follow its NS_EVENT / NS_MESSAGE row, so
 * each such row closes the array before it and opens its own; every array
 * ends with a NS_RULE_NONE sentinel, which the counts leave out.
 */
#include <nomsync/catalogue.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS__COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Closed lists; a few (rosh_*) are read only by the fold, so some may be unused here. */
#define NS_LIST(name, ...) \
	static const char *const ns__list_##name[] __attribute__((unused)) = { __VA_ARGS__, NULL };
#include "event/catalogue.def"

/* Nested messages are referred to before they are defined. */
#define NS_MESSAGE(key, label) static const ns_message_spec ns__msg_##key;
#include "event/catalogue.def"

/* What the arg column of NS_FIELD means for each kind. */
#define NS__ARG_TEXT(a) .min = 0
#define NS__ARG_TOKEN(a) .min = 0
#define NS__ARG_CODE(a) .min = 0
#define NS__ARG_DATE(a) .min = 0
#define NS__ARG_PRISON(a) .min = 0
#define NS__ARG_COURT(a) .min = 0
#define NS__ARG_REGION(a) .min = 0
#define NS__ARG_BOOL(a) .min = 0
#define NS__ARG_EVENT_ID(a) .min = 0
#define NS__ARG_KEY(a) .min = 0
#define NS__ARG_ROLE(a) .min = 0
#define NS__ARG_USER(a) .min = 0
#define NS__ARG_ENUM(a) .values = ns__list_##a
#define NS__ARG_PDU(a) .other = #a
#define NS__ARG_IDENT_OF(a) .other = #a
#define NS__ARG_SITE(a) .other = #a
#define NS__ARG_IDENT(a) .value = #a
#define NS__ARG_INT(a) .min = (a)
#define NS__ARG_MESSAGE(a) .sub = &ns__msg_##a

/* What the arguments after the field of NS_CHECK mean for each kind. */
#define NS__CARG_NOT_BEFORE(o) .other = #o
#define NS__CARG_NOT_AFTER(o) .other = #o
#define NS__CARG_NOT_AFTER_OUTER(o) .other = #o
#define NS__CARG_DIFFER(o, m) .other = #o, .msg = m
#define NS__CARG_TERM(v, list) .value = v, .values = ns__list_##list
#define NS__CARG_ROLE_ONLY(r, list) .role = NS_ROLE_##r, .values = ns__list_##list
#define NS__CARG_ONLY_FOR(o, list) .other = #o, .values = ns__list_##list
#define NS__CARG_WHEN(o, v, list) .other = #o, .value = v, .values = ns__list_##list
#define NS__CARG_DISTINCT(max) .min = (max)

/* Rule arrays: the first NS_EVENT closes this unused one. */
#define NS__OPEN(key)                \
	{ .kind = NS_RULE_NONE }     \
	}                            \
	;                            \
	static const ns_rule ns__rules_##key[] = {
#define NS_EVENT(key, name, label, roles, fold) NS__OPEN(key)
#define NS_MESSAGE(key, label) NS__OPEN(key)
#define NS_FIELD(key, f, K, fl, arg, lab) NS_FIELD_MSG(key, f, K, fl, arg, lab, NULL)
#define NS_FIELD_MSG(key, f, K, fl, arg, lab, m)                                           \
	{ .kind = NS_RULE_##K, .field = #f, .flags = (fl), NS__ARG_##K(arg), .label = lab, \
	  .msg = m, .owner = #key },
#define NS_CHECK(key, K, f, ...) \
	{ .kind = NS_CHECK_##K, .field = #f, NS__CARG_##K(__VA_ARGS__), .owner = #key },
static const ns_rule ns__rules_none_[] __attribute__((unused)) = {
#include "event/catalogue.def"
	{ .kind = NS_RULE_NONE }
};

/* Rules in an array, without its sentinel. */
#define NS__NRULES(a) (NS__COUNT(a) - 1)

#define NS_MESSAGE(key, lab) \
	static const ns_message_spec ns__msg_##key = { #key, lab, ns__rules_##key, NS__NRULES(ns__rules_##key) };
#include "event/catalogue.def"

/* The type number is also the Payload oneof case (proto/event.proto). */
#define NS_EVENT(key, name, label, roles, fold)                                          \
	_Static_assert((int)NOMSYNC__PAYLOAD__BODY_##key == (int)NOMSYNC__EVENT_TYPE__##key, \
		       #key ": Payload oneof number differs from its EventType");
#include "event/catalogue.def"

static const ns_event_spec ns__events[] = {
#define NS_EVENT(key, nm, lab, r, fold) \
	{ NOMSYNC__EVENT_TYPE__##key, nm, lab, r, { #key, lab, ns__rules_##key, NS__NRULES(ns__rules_##key) } },
#include "event/catalogue.def"
};

/* Position of each type in ns__events. */
enum {
#define NS_EVENT(key, name, label, roles, fold) NS__AT_##key,
#include "event/catalogue.def"
	NS__NEVENTS
};

/* ns__by_type[type] is the type's position in ns__events plus one; 0 if unknown. */
static const unsigned char ns__by_type[] = {
#define NS_EVENT(key, name, label, roles, fold) [NOMSYNC__EVENT_TYPE__##key] = NS__AT_##key + 1,
#include "event/catalogue.def"
};

_Static_assert(NS__NEVENTS == NS__COUNT(ns__events), "one spec per NS_EVENT row");
_Static_assert(NS__NEVENTS < 255, "ns__by_type holds positions in unsigned char");

/*
 * NOMSYNC_CATALOGUE_HIDE: types this process treats as unknown (to rehearse
 * a rolling upgrade), read once. A name the catalogue does not have is kept
 * in ns__hide_bad for ns_type_hide_check to refuse; the others are hidden
 * all the same.
 */
static pthread_once_t ns__hide_once = PTHREAD_ONCE_INIT;
static unsigned char ns__hidden[NS__NEVENTS];
static char ns__hide_bad[64];

static void ns__hide_read(void)
{
	const char *env = getenv("NOMSYNC_CATALOGUE_HIDE");

	while (env && *env) {
		size_t len = strcspn(env, ","), i;

		for (i = 0; i < NS__NEVENTS; i++)
			if (strlen(ns__events[i].name) == len && strncmp(ns__events[i].name, env, len) == 0)
				break;
		if (i < NS__NEVENTS)
			ns__hidden[i] = 1;
		else if (len > 0 && ns__hide_bad[0] == '\0')
			snprintf(ns__hide_bad, sizeof(ns__hide_bad), "%.*s", (int)len, env);
		env += len + (env[len] == ',');
	}
}

int ns_type_hide_check(ns_diag *d)
{
	pthread_once(&ns__hide_once, ns__hide_read);
	if (ns__hide_bad[0] != '\0')
		return ns_diag_set(d, NS_EINVAL, "NOMSYNC_CATALOGUE_HIDE",
				   "NOMSYNC_CATALOGUE_HIDE names '%s', which is not an event type of this release",
				   ns__hide_bad);
	return 0;
}

/* The spec at position @p i, or NULL if NOMSYNC_CATALOGUE_HIDE hides it. */
static const ns_event_spec *ns__shown(size_t i)
{
	pthread_once(&ns__hide_once, ns__hide_read);
	return ns__hidden[i] ? NULL : &ns__events[i];
}

const ns_event_spec *ns_catalogue_type(uint32_t type)
{
	if (type >= NS__COUNT(ns__by_type) || ns__by_type[type] == 0)
		return NULL;
	return ns__shown(ns__by_type[type] - 1u);
}

const ns_event_spec *ns_catalogue_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < NS__COUNT(ns__events); i++)
		if (strcmp(ns__events[i].name, name) == 0)
			return ns__shown(i);
	return NULL;
}

size_t ns_catalogue_count(void)
{
	return NS__COUNT(ns__events);
}

const ns_event_spec *ns_catalogue_at(size_t i)
{
	return i < NS__COUNT(ns__events) ? &ns__events[i] : NULL;
}

const ns_rule *ns_catalogue_field(const ns_message_spec *m, const char *field)
{
	if (m == NULL || field == NULL)
		return NULL;
	for (size_t i = 0; i < m->nrules; i++)
		if (!NS_RULE_IS_CHECK(m->rules[i].kind) && strcmp(m->rules[i].field, field) == 0)
			return &m->rules[i];
	return NULL;
}

const char *ns_catalogue_value(uint32_t type, const char *field, const char *value)
{
	const ns_event_spec *t = ns_catalogue_type(type);
	const ns_rule *r = t ? ns_catalogue_field(&t->payload, field) : NULL;

	if (r == NULL || r->kind != NS_RULE_ENUM || value == NULL)
		return NULL;
	for (size_t i = 0; r->values[i] != NULL; i++)
		if (strcmp(r->values[i], value) == 0)
			return r->values[i];
	return NULL;
}

const ProtobufCFieldDescriptor *ns_catalogue_body(uint32_t type)
{
	const ProtobufCFieldDescriptor *f;

	if (type == 0)
		return NULL;
	f = protobuf_c_message_descriptor_get_field(&nomsync__payload__descriptor, type);
	if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE || f->descriptor == NULL)
		return NULL;
	return f;
}

int ns_rule_fits(const ns_rule *r, const ProtobufCFieldDescriptor *f)
{
	int repeated = f->label == PROTOBUF_C_LABEL_REPEATED;

	switch (r->kind) {
	case NS_RULE_NONE:
		return 0;
	case NS_RULE_INT:
		if (repeated)
			return 0;
		switch (f->type) {
		case PROTOBUF_C_TYPE_INT32:
		case PROTOBUF_C_TYPE_SINT32:
		case PROTOBUF_C_TYPE_SFIXED32:
		case PROTOBUF_C_TYPE_UINT32:
		case PROTOBUF_C_TYPE_FIXED32:
		case PROTOBUF_C_TYPE_INT64:
		case PROTOBUF_C_TYPE_SINT64:
		case PROTOBUF_C_TYPE_SFIXED64:
		case PROTOBUF_C_TYPE_UINT64:
		case PROTOBUF_C_TYPE_FIXED64:
			return 1;
		default:
			return 0;
		}
	case NS_RULE_BOOL:
		return !repeated && f->type == PROTOBUF_C_TYPE_BOOL;
	case NS_RULE_MESSAGE:
		return f->type == PROTOBUF_C_TYPE_MESSAGE && r->sub != NULL;
	default:
		return NS_RULE_IS_CHECK(r->kind) || f->type == PROTOBUF_C_TYPE_STRING;
	}
}

int ns_is_user_id(const char *s)
{
	size_t n = 0;

	for (; s != NULL && s[n] != '\0'; n++)
		if ((unsigned char)s[n] <= ' ' || (unsigned char)s[n] >= 0x7f)
			return 0;
	return n > 0 && n < NS_USER_MAX;
}

const char *ns_rule_kind_name(ns_rule_kind kind)
{
	static const char *const names[] = {
		[NS_RULE_TEXT] = "text",
		[NS_RULE_TOKEN] = "token",
		[NS_RULE_CODE] = "code",
		[NS_RULE_DATE] = "date",
		[NS_RULE_PRISON] = "prison",
		[NS_RULE_COURT] = "court",
		[NS_RULE_REGION] = "region",
		[NS_RULE_PDU] = "pdu",
		[NS_RULE_ENUM] = "enum",
		[NS_RULE_IDENT] = "identifier",
		[NS_RULE_IDENT_OF] = "identifier_of",
		[NS_RULE_INT] = "integer",
		[NS_RULE_BOOL] = "bool",
		[NS_RULE_EVENT_ID] = "event_id",
		[NS_RULE_KEY] = "key",
		[NS_RULE_ROLE] = "role",
		[NS_RULE_SITE] = "site",
		[NS_RULE_MESSAGE] = "message",
		[NS_RULE_USER] = "user",
		[NS_CHECK_NOT_BEFORE] = "not_before",
		[NS_CHECK_NOT_AFTER] = "not_after",
		[NS_CHECK_NOT_AFTER_OUTER] = "not_after_outer",
		[NS_CHECK_DIFFER] = "differ",
		[NS_CHECK_TERM] = "term",
		[NS_CHECK_ROLE_ONLY] = "role_only",
		[NS_CHECK_ONLY_FOR] = "only_for",
		[NS_CHECK_WHEN] = "when",
		[NS_CHECK_DISTINCT] = "distinct",
	};

	if ((unsigned)kind >= NS__COUNT(names))
		return NULL;
	return names[kind];
}
