/*
 * Fuzz target: one line of JSON event input (nomsync append, POST /v1/events).
 *
 *   ns_input_parse -> ns_validate_event for each role -> for the first role
 *   that accepts it, ns_store_append into a scratch store of that role
 *   (signing, indexing and folding the event). The same text is also offered
 *   to ns_vector_from_json (nomsync export --since takes a vector file).
 *
 * Invariants:
 *   - a failed parse leaves the input zeroed and names the problem;
 *   - JSON round trip: the parsed payload printed with ns_payload_to_json
 *     and parsed again with ns_input_from_json packs to the same bytes;
 *   - an event that ns_validate_event accepts for a role is appended by a
 *     store of that role (or refused only as event.corrected of an unknown
 *     target), and then its person has a view (roster changes: none);
 *   - ns_store_verify passes on every store every 512 inputs; stores are
 *     recreated every 2000 inputs.
 */
#include "fuzz_common.h"

#include <nomsync/json.h>
#include <nomsync/validate.h>

static const struct {
	const char *site;
	ns_role role;
} sites[] = { { "MDI", NS_ROLE_PRISON }, { "N55", NS_ROLE_PROBATION }, { "SHEFMC", NS_ROLE_COURT },
	      { "HUBNE", NS_ROLE_HUB }, { "AUTHORITY", NS_ROLE_AUTHORITY } };
#define NSITES (sizeof(sites) / sizeof(sites[0]))

static ns_store *stores[NSITES];
static char paths[NSITES][1024];
static unsigned long runs;

static void stores_make(void)
{
	for (size_t i = 0; i < NSITES; i++)
		stores[i] = ns_fuzz_store(sites[i].site, sites[i].role, paths[i], sizeof(paths[i]));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (ns_crypto_init() != 0)
		abort();
	stores_make();
	return 0;
}

static uint8_t *pack(const Nomsync__Payload *p, size_t *len)
{
	*len = nomsync__payload__get_packed_size(p);
	uint8_t *b = malloc(*len ? *len : 1);
	if (b == NULL)
		abort();
	nomsync__payload__pack(p, b);
	return b;
}

/* Payload -> JSON -> payload must be the identity. */
static void roundtrip(const ns_input *in)
{
	json_t *obj = ns_payload_to_json(in->payload);
	char when[21];
	ns_input again;
	ns_diag d;
	size_t la, lb;

	if (obj == NULL)
		ns_fuzz_die("ns_payload_to_json failed");
	int64_t t;
	ns_time_format(when, in->occurred_at);
	/*
	 * An offset can carry an accepted time just outside 1900-2199, which
	 * prints as a date the parser refuses (see docs/RELIABILITY.md); the
	 * payload is what this check is about, so compare the time only when
	 * its printed form parses.
	 */
	int time_ok = ns_time_parse(when, &t) == 0;
	json_object_set_new(obj, "type", json_string(ns_type_name(in->type)));
	json_object_set_new(obj, "offender", json_string(in->offender));
	json_object_set_new(obj, "occurred_at", json_string(time_ok ? when : "2000-01-01"));
	ns_diag_clear(&d);
	if (ns_input_from_json(obj, &again, &d) != 0) {
		char *txt = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
		ns_fuzz_die("JSON printed from a parsed payload does not parse again: %s: %s; json: %.300s", d.field,
			    d.msg, txt ? txt : "?");
	}
	uint8_t *a = pack(in->payload, &la), *b = pack(again.payload, &lb);
	if (la != lb || memcmp(a, b, la) != 0 || again.type != in->type ||
	    strcmp(again.offender, in->offender) != 0 || (time_ok && again.occurred_at != in->occurred_at)) {
		char *txt = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
		ns_fuzz_die("payload -> JSON -> payload changed the event (%zu -> %zu bytes); json: %.300s", la, lb,
			    txt ? txt : "?");
	}
	free(a);
	free(b);
	ns_input_clear(&again);
	json_decref(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const ns_input zero;
	ns_input in;
	ns_diag d;
	int rc;

	if (stores[0] == NULL)
		LLVMFuzzerInitialize(NULL, NULL);

	/* The same text as a version vector (export --since). */
	json_t *root = json_loadb((const char *)data, size, 0, NULL);
	if (root != NULL) {
		ns_vv_entry *v = NULL;
		size_t nv = 0;
		if (ns_vector_from_json(root, &v, &nv, NULL) == 0) {
			json_t *back = ns_vector_to_json(v, nv);
			json_decref(back);
		}
		free(v);
		json_decref(root);
	}

	ns_diag_clear(&d);
	rc = ns_input_parse((const char *)data, size, &in, &d);
	if (rc != 0) {
		if (memcmp(&in, &zero, sizeof(in)) != 0)
			ns_fuzz_die("a failed parse left the input set");
		if (rc != NS_EVALID && rc != NS_ENOMEM)
			ns_fuzz_die("ns_input_parse returned %s", ns_err_name(rc));
		/* d.field may be empty: a key "" is named by its (empty) name. */
		if (d.msg[0] == '\0')
			ns_fuzz_die("ns_input_parse failed without saying why");
		return 0;
	}
	if (in.payload == NULL || ns_type_name(in.type) == NULL || (uint32_t)in.payload->body_case != in.type)
		ns_fuzz_die("parsed input without a payload of its type");
	roundtrip(&in);

	for (size_t i = 0; i < NSITES; i++) {
		ns_diag_clear(&d);
		rc = ns_validate_event(sites[i].role, in.offender, in.type, in.payload, &d);
		if (rc != 0) {
			if (rc != NS_EVALID && rc != NS_EROLE)
				ns_fuzz_die("ns_validate_event returned %s", ns_err_name(rc));
			if (d.msg[0] == '\0')
				ns_fuzz_die("ns_validate_event refused without a message");
			continue;
		}
		uint8_t id[1][NS_ID_BYTES];
		size_t bad = 99;
		ns_diag_clear(&d);
		rc = ns_store_append(stores[i], &in, 1, id, &bad, &d);
		if (rc == NS_EVALID && in.type == NOMSYNC__EVENT_TYPE__EVENT_CORRECTED)
			break; /* the target is not held by this store */
		if (rc == NS_EVALID && strcmp(d.field, "occurred_at") == 0)
			break; /* ahead of this node's clock: the store, not validation, knows the time */
		if (rc != 0)
			ns_fuzz_die("%s validates for a %s but ns_store_append refuses it: %s: %s: %s",
				    ns_type_name(in.type), ns_role_name(sites[i].role), ns_err_name(rc), d.field, d.msg);
		char *view = NULL;
		size_t vlen;
		if (strcmp(in.offender, NS_ROSTER_REF) != 0 && ns_store_view(stores[i], in.offender, &view, &vlen, NULL) != 0)
			ns_fuzz_die("appended an event for %s but the person has no view", in.offender);
		free(view);
		break;
	}
	ns_input_clear(&in);

	if (++runs % 2000 == 0) {
		for (size_t i = 0; i < NSITES; i++) {
			ns_fuzz_verify(stores[i], "before recreating the JSON stores");
			ns_fuzz_store_drop(stores[i], paths[i]);
		}
		stores_make();
	} else if (runs % 512 == 0) {
		for (size_t i = 0; i < NSITES; i++)
			ns_fuzz_verify(stores[i], "after appending fuzzed JSON events");
	}
	return 0;
}
