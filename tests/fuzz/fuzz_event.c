/*
 * Fuzz target: one encoded event (nomsync.Event), as a peer, a bundle or
 * the log hands it over.
 *
 *   ns_event_decode -> ns_event_verify -> ns_validate_event -> ns_event_to_json
 *   -> ns_event_encode_erased (must decode again, same id, same verdict)
 *   -> ns_store_ingest into a scratch store opened once (verified events only).
 *
 * Invariants: decode never accepts what the framing rules refuse (checked
 * loosely: a decoded event's header and signature lie inside its raw bytes);
 * the erased form decodes to the same id, seq and origin with no payload and
 * verifies exactly when the original does; ingest returns a known outcome
 * and, when it applies an event, the person has a view.
 */
#include "fuzz_common.h"

#include <nomsync/json.h>
#include <nomsync/validate.h>

static ns_store *store;
static unsigned long runs;
static char store_path[1024];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (ns_crypto_init() != 0)
		abort();
	store = ns_fuzz_store("HUBFZ", NS_ROLE_HUB, store_path, sizeof(store_path));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ns_event *ev = NULL, *er = NULL;
	uint8_t *erased = NULL;
	size_t elen = 0;
	ns_diag d;
	int rc, vrc;

	if (store == NULL)
		LLVMFuzzerInitialize(NULL, NULL);
	ns_diag_clear(&d);
	rc = ns_event_decode(data, size, &ev, &d);
	if (rc != 0) {
		if (ev != NULL)
			ns_fuzz_die("ns_event_decode returned %d but set an event", rc);
		if (rc != NS_EDECODE && rc != NS_EVERSION && rc != NS_EHASH && rc != NS_ENOMEM)
			ns_fuzz_die("ns_event_decode returned undocumented code %d", rc);
		if (rc != NS_ENOMEM && d.msg[0] == '\0')
			ns_fuzz_die("ns_event_decode failed (%s) without a diagnostic", ns_err_name(rc));
		return 0;
	}
	if (ev->raw_len != size || memcmp(ev->raw, data, size) != 0)
		ns_fuzz_die("decoded raw bytes differ from the input");
	if (ev->header < ev->raw || ev->header + ev->header_len > ev->raw + ev->raw_len ||
	    ev->signature < ev->raw || ev->signature + NS_SIG_BYTES > ev->raw + ev->raw_len)
		ns_fuzz_die("header or signature points outside the event");
	if (ev->seq == 0 || ev->type == 0 || ev->type >= NS_TYPE_LIMIT || ns_role_name(ev->role) == NULL)
		ns_fuzz_die("decode accepted seq 0, type 0, a type past NS_TYPE_LIMIT or an unknown role");
	if ((ns_type_name(ev->type) == NULL) != (ev->type_unknown != 0))
		ns_fuzz_die("type_unknown %d disagrees with the catalogue for type %u", ev->type_unknown,
			    (unsigned)ev->type);
	if (ev->type_unknown && ev->payload != NULL)
		ns_fuzz_die("an event of an unknown type has a decoded payload");
	if (strnlen(ev->offender, NS_REF_MAX) >= NS_REF_MAX || strnlen(ev->site, NS_SITE_MAX) >= NS_SITE_MAX)
		ns_fuzz_die("offender or site not terminated");

	vrc = ns_event_verify(ev);
	if (vrc != 0 && vrc != NS_ESIG)
		ns_fuzz_die("ns_event_verify returned %d", vrc);
	(void)ns_validate_event(ev->role, ev->offender, ev->type, ev->payload, &d);
	(void)ns_validate_site(ev->role, ev->site, NULL);

	json_t *j = ns_event_to_json(ev);
	if (j == NULL)
		ns_fuzz_die("ns_event_to_json failed on a decoded event");
	char *txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	if (txt == NULL)
		ns_fuzz_die("json_dumps failed on an event");
	free(txt);
	json_decref(j);

	if (ns_event_encode_erased(ev, &erased, &elen) != 0)
		ns_fuzz_die("ns_event_encode_erased failed");
	rc = ns_event_decode(erased, elen, &er, &d);
	if (rc != 0)
		ns_fuzz_die("erased form of a decodable event does not decode: %s: %s", d.field, d.msg);
	if (memcmp(er->id, ev->id, NS_ID_BYTES) != 0 || er->seq != ev->seq ||
	    memcmp(er->origin, ev->origin, NS_KEY_BYTES) != 0 || er->payload != NULL)
		ns_fuzz_die("erased form differs in id, seq, origin or keeps a payload");
	if ((ns_event_verify(er) == 0) != (vrc == 0))
		ns_fuzz_die("erased form verifies differently from the original");
	ns_event_free(er);
	free(erased);

	if (vrc == 0) {
		int res = 0;
		rc = ns_store_ingest(store, &ev, 1, 0, &res, NULL);
		if (rc != 0)
			ns_fuzz_die("ns_store_ingest failed as a whole: %s", ns_strerror(rc));
		if (res > NS_INGEST_PROOF || (res < 0 && res <= NS__ERRMIN))
			ns_fuzz_die("ns_store_ingest gave unknown outcome %d", res);
		if (res == NS_INGEST_APPLIED && strcmp(ev->offender, NS_ROSTER_REF) != 0) {
			char *view = NULL;
			size_t vlen;
			if (ns_store_view(store, ev->offender, &view, &vlen, NULL) != 0)
				ns_fuzz_die("applied an event for %s but the person has no view", ev->offender);
			free(view);
		}
		if (++runs % 512 == 0)
			ns_fuzz_verify(store, "after ingesting fuzzed events");
	}
	ns_event_free(ev);
	return 0;
}
