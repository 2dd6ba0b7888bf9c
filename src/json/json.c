/*
 * JSON forms of events, driven by protobuf-c reflection.
 *
 * Nothing here knows the event types one by one. The "type" key names a
 * type of the event catalogue (include/nomsync/catalogue.h) and picks the
 * field of nomsync.Payload whose number is the event type; that field's
 * message descriptor lists the payload fields by name, type and label, and
 * the converters below walk it in both directions: JSON object -> message
 * for input, message -> JSON object for output. Nested messages (the
 * offences of court.convicted) and repeated fields are handled the same way
 * at every level, so a field added to proto/event.proto needs no change
 * here.
 *
 * Messages built from JSON use the default allocator throughout: each
 * message is malloc'd and initialised with its descriptor's message_init,
 * strings are strdup'd and repeated fields calloc'd, so one call to
 * nomsync__payload__free_unpacked(payload, NULL) frees the whole tree. A
 * member is linked into its parent as soon as it is allocated, and an
 * array's count only grows once an element is complete, so the tree can be
 * freed that way at any point of a failed conversion.
 *
 * Following the proto3 JSON mapping, a JSON null stands for the field's
 * default value (the field is left unset); integers must be JSON integers
 * (3.0 is not accepted for an int32 field).
 */
#include <nomsync/json.h>
#include <nomsync/catalogue.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deepest nesting of messages accepted (the schema needs 2). */
#define NS__MAX_DEPTH 8

/* Room for a field path; ns_diag_set truncates it to fit ns_diag.field. */
#define NS__PATH_MAX 128

/* A name for the JSON type of v, for messages. */
static const char *ns__kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction or exponent";
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	default:
		return "null";
	}
}

/* Write "prefix.name" (or "name" with no prefix) into out. */
static void ns__path(char *out, size_t size, const char *prefix, const char *name)
{
	if (prefix == NULL || prefix[0] == '\0')
		snprintf(out, size, "%s", name);
	else
		snprintf(out, size, "%s.%s", prefix, name);
}

/* The Payload oneof field carrying event type @p type, or NULL (see catalogue.h). */
static const ProtobufCFieldDescriptor *ns__body_field(uint32_t type)
{
	return ns_catalogue_type(type) != NULL ? ns_catalogue_body(type) : NULL;
}

int ns_pb_field_skipped(const ProtobufCFieldDescriptor *f, const void *m)
{
	if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
	    *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)
		return 1;
	return f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
	       f->type != PROTOBUF_C_TYPE_MESSAGE &&
	       !*(const protobuf_c_boolean *)((const char *)m + f->quantifier_offset);
}

size_t ns_pb_value_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return sizeof(int32_t);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return sizeof(uint32_t);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return sizeof(int64_t);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return sizeof(uint64_t);
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_ENUM:
		return sizeof(int);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	}
	return 0;
}

/* A new, initialised message of @p desc (malloc'd), or NULL. */
static ProtobufCMessage *ns__new_message(const ProtobufCMessageDescriptor *desc)
{
	ProtobufCMessage *m = malloc(desc->sizeof_message);

	if (m != NULL)
		desc->message_init(m);
	return m;
}

/*
 * JSON -> message.
 */

static int ns__from_object(ProtobufCMessage *m, const json_t *obj, const char *prefix,
			   const char *what, int envelope, int depth, ns_diag *d);

/* Check that v is a JSON integer within [lo, hi]; store it in *out. */
static int ns__integer(const json_t *v, long long lo, long long hi, const char *tname,
		       const char *path, long long *out, ns_diag *d)
{
	long long x;

	if (!json_is_integer(v))
		return ns_diag_set(d, NS_EVALID, path, "expected an integer, got %s", ns__kind(v));
	x = (long long)json_integer_value(v);
	if (x < 0 && lo == 0)
		return ns_diag_set(d, NS_EVALID, path, "%lld is negative; the field is %s", x, tname);
	if (x < lo || x > hi)
		return ns_diag_set(d, NS_EVALID, path, "%lld is out of range for %s", x, tname);
	*out = x;
	return 0;
}

/*
 * Convert one JSON value into the storage at @p dst for field @p f (a
 * singular member or one array element). Sub-messages are allocated,
 * linked at *dst and then filled.
 */
static int ns__set_value(void *dst, const ProtobufCFieldDescriptor *f, const json_t *v,
			 const char *path, int depth, ns_diag *d)
{
	long long x = 0;
	int rc = 0;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if ((rc = ns__integer(v, INT32_MIN, INT32_MAX, "int32", path, &x, d)) == 0)
			*(int32_t *)dst = (int32_t)x;
		return rc;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if ((rc = ns__integer(v, 0, UINT32_MAX, "uint32 (unsigned)", path, &x, d)) == 0)
			*(uint32_t *)dst = (uint32_t)x;
		return rc;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if ((rc = ns__integer(v, LLONG_MIN, LLONG_MAX, "int64", path, &x, d)) == 0)
			*(int64_t *)dst = (int64_t)x;
		return rc;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if ((rc = ns__integer(v, 0, LLONG_MAX, "uint64 (unsigned)", path, &x, d)) == 0)
			*(uint64_t *)dst = (uint64_t)x;
		return rc;
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		if (!json_is_number(v))
			return ns_diag_set(d, NS_EVALID, path, "expected a number, got %s", ns__kind(v));
		if (f->type == PROTOBUF_C_TYPE_FLOAT)
			*(float *)dst = (float)json_number_value(v);
		else
			*(double *)dst = json_number_value(v);
		return 0;
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(v))
			return ns_diag_set(d, NS_EVALID, path, "expected true or false, got %s", ns__kind(v));
		*(protobuf_c_boolean *)dst = json_is_true(v) ? 1 : 0;
		return 0;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumDescriptor *ed = f->descriptor;
		const ProtobufCEnumValue *ev = NULL;

		if (json_is_string(v))
			ev = protobuf_c_enum_descriptor_get_value_by_name(ed, json_string_value(v));
		else if (json_is_integer(v) && json_integer_value(v) >= INT_MIN &&
			 json_integer_value(v) <= INT_MAX)
			ev = protobuf_c_enum_descriptor_get_value(ed, (int)json_integer_value(v));
		else
			return ns_diag_set(d, NS_EVALID, path, "expected a %s name, got %s", ed->short_name,
					   ns__kind(v));
		if (ev == NULL)
			return ns_diag_set(d, NS_EVALID, path, "not a value of %s", ed->short_name);
		*(int *)dst = ev->value;
		return 0;
	}
	case PROTOBUF_C_TYPE_STRING: {
		char *s;

		if (!json_is_string(v))
			return ns_diag_set(d, NS_EVALID, path, "expected a string, got %s", ns__kind(v));
		if (strlen(json_string_value(v)) != json_string_length(v))
			return ns_diag_set(d, NS_EVALID, path, "the string contains a NUL character");
		if ((s = strdup(json_string_value(v))) == NULL)
			return ns_diag_set(d, NS_ENOMEM, path, "out of memory");
		*(char **)dst = s;
		return 0;
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		ProtobufCMessage *sub;

		if (!json_is_object(v))
			return ns_diag_set(d, NS_EVALID, path, "expected an object, got %s", ns__kind(v));
		if (depth >= NS__MAX_DEPTH)
			return ns_diag_set(d, NS_EVALID, path, "nested too deeply");
		if ((sub = ns__new_message(f->descriptor)) == NULL)
			return ns_diag_set(d, NS_ENOMEM, path, "out of memory");
		*(ProtobufCMessage **)dst = sub; /* owned by the parent from here on */
		return ns__from_object(sub, v, path, path, 0, depth + 1, d);
	}
	case PROTOBUF_C_TYPE_BYTES:
		break;
	}
	return ns_diag_set(d, NS_EVALID, path, "fields of this type cannot be given in JSON");
}

/* Fill repeated field @p f of @p m from the JSON array @p arr. */
static int ns__set_repeated(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, const json_t *arr,
			    const char *path, int depth, ns_diag *d)
{
	size_t *count = (size_t *)((char *)m + f->quantifier_offset);
	void **slot = (void **)((char *)m + f->offset);
	size_t n, size = ns_pb_value_size(f->type);
	char epath[NS__PATH_MAX];
	char *elems;

	if (!json_is_array(arr))
		return ns_diag_set(d, NS_EVALID, path, "expected an array, got %s", ns__kind(arr));
	n = json_array_size(arr);
	if (n == 0)
		return 0;
	if ((elems = calloc(n, size)) == NULL)
		return ns_diag_set(d, NS_ENOMEM, path, "out of memory");
	*slot = elems;
	*count = 0;
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(arr, i);
		int rc;

		/* A path too long to fit is cut short; it is only used in messages. */
		if (snprintf(epath, sizeof(epath), "%s[%zu]", path, i) < 0)
			epath[0] = '\0';
		if (json_is_null(v))
			return ns_diag_set(d, NS_EVALID, epath, "null is not allowed in an array");
		rc = ns__set_value(elems + i * size, f, v, epath, depth, d);
		/*
		 * Count the element if it is complete, or if it is a message that
		 * was allocated before its contents failed: either way the tree's
		 * free_unpacked must see it.
		 */
		if (rc == 0 || (f->type == PROTOBUF_C_TYPE_MESSAGE &&
				((ProtobufCMessage **)(void *)elems)[i] != NULL))
			(*count)++;
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Set field @p f of @p m from JSON value @p v. */
static int ns__set_field(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, const json_t *v,
			 const char *path, int depth, ns_diag *d)
{
	char *member = (char *)m + f->offset;

	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return ns__set_repeated(m, f, v, path, depth, d);
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		uint32_t *which = (uint32_t *)((char *)m + f->quantifier_offset);
		if (*which != 0 && *which != f->id)
			return ns_diag_set(d, NS_EVALID, path, "only one field of its oneof may be given");
		*which = f->id;
	} else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
		   f->type != PROTOBUF_C_TYPE_MESSAGE) {
		*(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = 1;
	}
	return ns__set_value(member, f, v, path, depth, d);
}

/* 1 if key is one of the envelope keys of an event object. */
static int ns__envelope_key(const char *key)
{
	return strcmp(key, "type") == 0 || strcmp(key, "offender") == 0 ||
	       strcmp(key, "occurred_at") == 0;
}

/*
 * Fill message @p m from JSON object @p obj: every key must name a field of
 * m (envelope keys are skipped when @p envelope is set). @p prefix is the
 * path of obj for diag field names; @p what names it in messages.
 */
static int ns__from_object(ProtobufCMessage *m, const json_t *obj, const char *prefix,
			   const char *what, int envelope, int depth, ns_diag *d)
{
	char path[NS__PATH_MAX];
	const char *key;
	json_t *v;

	/* json_object_foreach takes a non-const object; it only reads it. */
	json_object_foreach((json_t *)obj, key, v) {
		const ProtobufCFieldDescriptor *f;
		int rc;

		if (envelope && ns__envelope_key(key))
			continue;
		ns__path(path, sizeof(path), prefix, key);
		f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, key);
		if (f == NULL)
			return ns_diag_set(d, NS_EVALID, path, "unknown field for %s", what);
		if (json_is_null(v))
			continue; /* proto3 JSON: null means the default */
		if ((rc = ns__set_field(m, f, v, path, depth, d)) != 0)
			return rc;
	}
	return 0;
}

/* The body of ns_input_from_json; on failure @p in may be half filled. */
static int ns__input_from_json(const json_t *obj, ns_input *in, ns_diag *d)
{
	const ProtobufCFieldDescriptor *bf;
	const json_t *v;
	const char *s;
	ProtobufCMessage *body;
	Nomsync__Payload *p;
	int rc;

	memset(in, 0, sizeof(*in));
	if (obj == NULL || !json_is_object(obj))
		return ns_diag_set(d, NS_EVALID, "json", "expected a JSON object, got %s",
				   obj ? ns__kind(obj) : "nothing");

	v = json_object_get(obj, "type");
	if (v == NULL || json_is_null(v))
		return ns_diag_set(d, NS_EVALID, "type", "required (an event type such as prisoner.received)");
	if (!json_is_string(v))
		return ns_diag_set(d, NS_EVALID, "type", "expected a string, got %s", ns__kind(v));
	s = json_string_value(v);
	in->type = ns_type_parse(s);
	if (in->type == 0 || (bf = ns__body_field(in->type)) == NULL) {
		in->type = 0;
		return ns_diag_set(d, NS_EVALID, "type", "unknown event type '%.100s'", s);
	}

	v = json_object_get(obj, "offender");
	if (v == NULL || json_is_null(v))
		return ns_diag_set(d, NS_EVALID, "offender", "required (a NOMS number or CRN)");
	if (!json_is_string(v))
		return ns_diag_set(d, NS_EVALID, "offender", "expected a string, got %s", ns__kind(v));
	s = json_string_value(v);
	if (s[0] == '\0')
		return ns_diag_set(d, NS_EVALID, "offender", "required (a NOMS number or CRN)");
	if (json_string_length(v) >= NS_REF_MAX || strlen(s) != json_string_length(v))
		return ns_diag_set(d, NS_EVALID, "offender", "'%.40s' is too long for an offender reference",
				   s);
	memcpy(in->offender, s, strlen(s) + 1);

	v = json_object_get(obj, "occurred_at");
	if (v == NULL || json_is_null(v))
		return ns_diag_set(d, NS_EVALID, "occurred_at", "required (YYYY-MM-DDTHH:MM:SSZ)");
	if (!json_is_string(v))
		return ns_diag_set(d, NS_EVALID, "occurred_at", "expected a string, got %s", ns__kind(v));
	if (ns_time_parse(json_string_value(v), &in->occurred_at) != 0)
		return ns_diag_set(d, NS_EVALID, "occurred_at",
				   "'%.60s' is not a time (YYYY-MM-DDTHH:MM:SS[.fff] with Z or +HH:MM, or YYYY-MM-DD)",
				   json_string_value(v));

	p = malloc(sizeof(*p));
	if (p == NULL)
		return ns_diag_set(d, NS_ENOMEM, "payload", "out of memory");
	nomsync__payload__init(p);
	if ((body = ns__new_message(bf->descriptor)) == NULL) {
		free(p);
		return ns_diag_set(d, NS_ENOMEM, "payload", "out of memory");
	}
	p->body_case = (Nomsync__Payload__BodyCase)in->type;
	memcpy((char *)p + bf->offset, &body, sizeof(body));

	rc = ns__from_object(body, obj, "", ns_type_name(in->type), 1, 1, d);
	if (rc != 0) {
		nomsync__payload__free_unpacked(p, NULL);
		return rc;
	}
	in->payload = p;
	return 0;
}

/* Parse a JSON event object into @p in; @p in is left zeroed on failure. See json.h. */
int ns_input_from_json(const json_t *obj, ns_input *in, ns_diag *d)
{
	int rc = ns__input_from_json(obj, in, d);

	if (rc != 0)
		memset(in, 0, sizeof(*in));
	return rc;
}

/* Parse one line of JSON text into @p in. See json.h. */
int ns_input_parse(const char *text, size_t len, ns_input *in, ns_diag *d)
{
	json_error_t err;
	json_t *root;
	int rc;

	memset(in, 0, sizeof(*in));
	if (text == NULL)
		return ns_diag_set(d, NS_EVALID, "json", "no input");
	if (len > NS_JSON_LINE_MAX)
		return ns_diag_set(d, NS_EVALID, "json", "line is %zu bytes; at most %d are accepted", len,
				   NS_JSON_LINE_MAX);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		if (json_error_code(&err) == json_error_out_of_memory)
			return ns_diag_set(d, NS_ENOMEM, "json", "out of memory");
		return ns_diag_set(d, NS_EVALID, "json", "line %d column %d: %s", err.line, err.column,
				   err.text);
	}
	if (!json_is_object(root)) {
		rc = ns_diag_set(d, NS_EVALID, "json", "expected a JSON object, got %s", ns__kind(root));
		json_decref(root);
		return rc;
	}
	rc = ns_input_from_json(root, in, d);
	json_decref(root);
	return rc;
}

/* Free what an ns_input owns and zero it. */
void ns_input_clear(ns_input *in)
{
	if (in == NULL)
		return;
	if (in->payload != NULL)
		nomsync__payload__free_unpacked(in->payload, NULL);
	memset(in, 0, sizeof(*in));
}

/*
 * Message -> JSON.
 */

static json_t *ns__to_object(const ProtobufCMessage *m);

/*
 * A new JSON string for @p s. jansson refuses invalid UTF-8 (a payload
 * from elsewhere is not guaranteed to be valid); such a string is shown
 * with its non-ASCII bytes replaced by '?' rather than failing the whole
 * conversion. NULL only on allocation failure.
 */
static json_t *ns__string_json(const char *s)
{
	json_t *v = json_string(s);
	char *copy;

	if (v != NULL || s == NULL || (copy = strdup(s)) == NULL)
		return v;
	for (char *c = copy; *c; c++)
		if ((unsigned char)*c >= 0x80)
			*c = '?';
	v = json_string(copy);
	free(copy);
	return v;
}

/* Integer JSON for an unsigned 64-bit value (a string above INT64_MAX). */
static json_t *ns__u64(uint64_t x)
{
	char buf[24];

	if (x <= (uint64_t)LLONG_MAX)
		return json_integer((json_int_t)x);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)x);
	return json_string(buf);
}

/*
 * JSON for the value at @p src of field @p f; *is_default is set when the
 * value is the proto3 default (so a singular field can be left out).
 * NULL on allocation failure (or for an unsupported type).
 */
static json_t *ns__value_json(const ProtobufCFieldDescriptor *f, const void *src, int *is_default)
{
	*is_default = 0;
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		*is_default = *(const int32_t *)src == 0;
		return json_integer(*(const int32_t *)src);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		*is_default = *(const uint32_t *)src == 0;
		return json_integer(*(const uint32_t *)src);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		*is_default = *(const int64_t *)src == 0;
		return json_integer((json_int_t) * (const int64_t *)src);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		*is_default = *(const uint64_t *)src == 0;
		return ns__u64(*(const uint64_t *)src);
	case PROTOBUF_C_TYPE_FLOAT:
		*is_default = *(const float *)src == 0;
		return json_real(*(const float *)src);
	case PROTOBUF_C_TYPE_DOUBLE:
		*is_default = *(const double *)src == 0;
		return json_real(*(const double *)src);
	case PROTOBUF_C_TYPE_BOOL:
		*is_default = *(const protobuf_c_boolean *)src == 0;
		return json_boolean(*(const protobuf_c_boolean *)src);
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)src);
		*is_default = *(const int *)src == 0;
		return ev ? json_string(ev->name) : json_integer(*(const int *)src);
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)src;
		*is_default = s == NULL || s[0] == '\0';
		return ns__string_json(s ? s : "");
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)src;
		*is_default = sub == NULL;
		return sub ? ns__to_object(sub) : json_object();
	}
	case PROTOBUF_C_TYPE_BYTES:
		break;
	}
	return NULL;
}

/* The fields of @p m with non-default values, as a new JSON object. */
static json_t *ns__to_object(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *desc = m->descriptor;
	json_t *obj = json_object();

	if (obj == NULL)
		return NULL;
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		const char *member = (const char *)m + f->offset;
		int is_default;
		json_t *v;

		if (f->type == PROTOBUF_C_TYPE_BYTES)
			continue; /* none in the schema; no JSON form defined */
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
			const char *elems = *(char *const *)member;
			size_t size = ns_pb_value_size(f->type);

			if (n == 0 || elems == NULL)
				continue;
			if ((v = json_array()) == NULL)
				goto fail;
			for (size_t j = 0; j < n; j++) {
				if (json_array_append_new(v, ns__value_json(f, elems + j * size, &is_default)) != 0) {
					json_decref(v);
					goto fail;
				}
			}
		} else {
			if (ns_pb_field_skipped(f, m))
				continue;
			if ((v = ns__value_json(f, member, &is_default)) == NULL)
				goto fail;
			if (is_default && f->label == PROTOBUF_C_LABEL_NONE) {
				json_decref(v);
				continue;
			}
		}
		if (json_object_set_new(obj, f->name, v) != 0)
			goto fail;
	}
	return obj;
fail:
	json_decref(obj);
	return NULL;
}

/* The payload's fields as a JSON object. See json.h. */
json_t *ns_payload_to_json(const Nomsync__Payload *p)
{
	const ProtobufCFieldDescriptor *bf;
	const ProtobufCMessage *body;

	if (p == NULL || (bf = ns__body_field((uint32_t)p->body_case)) == NULL)
		return json_object();
	memcpy(&body, (const char *)p + bf->offset, sizeof(body));
	if (body == NULL)
		return json_object();
	return ns__to_object(body);
}

/* Hex of @p len bytes as a new JSON string. */
static json_t *ns__hex_json(const uint8_t *buf, size_t len)
{
	char hex[2 * 64 + 1];

	if (len > 64)
		return NULL;
	ns_hex(hex, buf, len);
	return json_string(hex);
}

/* An instant as a new ISO 8601 JSON string. */
static json_t *ns__time_json(int64_t t)
{
	char iso[21];

	ns_time_format(iso, t);
	return json_string(iso);
}

/* A stored event as JSON. See json.h. */
json_t *ns_event_to_json(const ns_event *ev)
{
	const char *tname, *rname;
	json_t *obj;

	if (ev == NULL || (obj = json_object()) == NULL)
		return NULL;
	tname = ns_type_name(ev->type);
	rname = ns_role_name(ev->role);
	/* json_object_set_new fails (and frees the value) on a NULL value. */
	if (json_object_set_new(obj, "id", ns__hex_json(ev->id, NS_ID_BYTES)) != 0 ||
	    json_object_set_new(obj, "type", tname ? json_string(tname) : json_integer(ev->type)) != 0 ||
	    json_object_set_new(obj, "offender", ns__string_json(ev->offender)) != 0 ||
	    json_object_set_new(obj, "occurred_at", ns__time_json(ev->occurred_at)) != 0 ||
	    json_object_set_new(obj, "recorded_at", ns__time_json(ev->recorded_at)) != 0 ||
	    json_object_set_new(obj, "origin", ns__hex_json(ev->origin, NS_KEY_BYTES)) != 0 ||
	    json_object_set_new(obj, "site", ns__string_json(ev->site)) != 0 ||
	    json_object_set_new(obj, "role", rname ? json_string(rname) : json_null()) != 0 ||
	    json_object_set_new(obj, "seq", ns__u64(ev->seq)) != 0 ||
	    json_object_set_new(obj, "prev", ns__hex_json(ev->prev, NS_ID_BYTES)) != 0 ||
	    json_object_set_new(obj, "payload", ev->payload ? ns_payload_to_json(ev->payload)
							    : json_null()) != 0) {
		json_decref(obj);
		return NULL;
	}
	if (ev->recorded_by[0] != '\0' &&
	    json_object_set_new(obj, "recorded_by", json_string(ev->recorded_by)) != 0) {
		json_decref(obj);
		return NULL;
	}
	/*
	 * A type this release does not know (a newer release's): no name, its
	 * number, and a null payload that is not an erasure.
	 */
	if (ev->type_unknown &&
	    (json_object_set_new(obj, "type", json_null()) != 0 ||
	     json_object_set_new(obj, "type_number", json_integer(ev->type)) != 0 ||
	     json_object_set_new(obj, "type_known", json_false()) != 0)) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/*
 * The catalogue as JSON.
 */

/* A NULL-terminated list of strings as a new JSON array. */
static json_t *ns__strings_json(const char *const *list)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && list[i] != NULL; i++)
		if (json_array_append_new(a, json_string(list[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static int ns__rules_json(const ns_message_spec *m, const ProtobufCMessageDescriptor *desc, json_t *obj);

/* One rule as a new JSON object (see json.h). */
static json_t *ns__rule_json(const ns_rule *r, const ProtobufCMessageDescriptor *desc)
{
	const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(desc, r->field);
	json_t *o = json_pack("{s:s,s:s}", "kind", ns_rule_kind_name(r->kind), "field", r->field);
	int bad = o == NULL;

	if (!bad && !NS_RULE_IS_CHECK(r->kind))
		bad = json_object_set_new(o, "label", json_string(r->label)) != 0 ||
		      json_object_set_new(o, "required", json_boolean(r->flags & NS_REQ)) != 0 ||
		      json_object_set_new(o, "repeated",
					  json_boolean(f != NULL && f->label == PROTOBUF_C_LABEL_REPEATED)) != 0;
	if (!bad && (r->flags & NS_NONEMPTY))
		bad = json_object_set_new(o, "nonempty", json_true()) != 0;
	if (!bad && r->other != NULL)
		bad = json_object_set_new(o, "other", json_string(r->other)) != 0;
	if (!bad && r->value != NULL)
		bad = json_object_set_new(o, "value", json_string(r->value)) != 0;
	if (!bad && r->values != NULL)
		bad = json_object_set_new(o, "values", ns__strings_json(r->values)) != 0;
	if (!bad && r->kind == NS_RULE_INT)
		bad = json_object_set_new(o, "min", json_integer((json_int_t)r->min)) != 0;
	if (!bad && r->kind == NS_CHECK_DISTINCT)
		bad = json_object_set_new(o, "max", json_integer((json_int_t)r->min)) != 0;
	if (!bad && r->kind == NS_CHECK_ROLE_ONLY)
		bad = json_object_set_new(o, "role", json_string(ns_role_name(r->role))) != 0;
	if (!bad && r->sub != NULL && f != NULL)
		bad = ns__rules_json(r->sub, f->descriptor, o) != 0;
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Set "fields" and "checks" of @p obj from the rules of @p m. */
static int ns__rules_json(const ns_message_spec *m, const ProtobufCMessageDescriptor *desc, json_t *obj)
{
	json_t *fields = json_array(), *checks = json_array();

	if (json_object_set_new(obj, "fields", fields) != 0 || json_object_set_new(obj, "checks", checks) != 0)
		return NS_ENOMEM;
	for (size_t i = 0; i < m->nrules; i++)
		if (json_array_append_new(NS_RULE_IS_CHECK(m->rules[i].kind) ? checks : fields,
					  ns__rule_json(&m->rules[i], desc)) != 0)
			return NS_ENOMEM;
	return 0;
}

/* One event type as a new JSON object. */
static json_t *ns__type_json(const ns_event_spec *t)
{
	const ProtobufCFieldDescriptor *bf = ns_catalogue_body(t->type);
	json_t *o = json_pack("{s:i,s:s,s:s,s:[]}", "type", (int)t->type, "name", t->name, "label", t->label,
			      "roles");
	int bad = o == NULL || bf == NULL;

	for (int r = NS_ROLE_PRISON; !bad && r <= NS_ROLE_AUTHORITY; r++)
		if ((t->roles >> r) & 1u)
			bad = json_array_append_new(json_object_get(o, "roles"),
						    json_string(ns_role_name((ns_role)r))) != 0;
	if (!bad)
		bad = ns__rules_json(&t->payload, bf->descriptor, o) != 0;
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The event catalogue as JSON. See json.h. */
json_t *ns_catalogue_to_json(void)
{
	json_t *types = json_array(), *obj = json_pack("{s:o}", "types", types);

	if (obj == NULL)
		return NULL;
	for (size_t i = 0; i < ns_catalogue_count(); i++)
		if (json_array_append_new(types, ns__type_json(ns_catalogue_at(i))) != 0) {
			json_decref(obj);
			return NULL;
		}
	return obj;
}
