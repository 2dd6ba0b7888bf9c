/*
 * Event codec and signatures.
 *
 * The outer nomsync.Event framing (three length-delimited fields) is parsed
 * by hand so that the header and signature can be referenced in place inside
 * the stored bytes: what is verified is exactly what is stored, never a
 * re-encoding. The header and payload are protobuf-c messages.
 */
#include <nomsync/event.h>
#include <nomsync/catalogue.h>
#include <nomsync/date.h>

#include "core/util.h"
#include "event/decode.h"

#include <sodium.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Type names come from the catalogue (src/event/catalogue.def). */
const char *ns_type_name(uint32_t type)
{
	const ns_event_spec *t = ns_catalogue_type(type);
	return t ? t->name : NULL;
}

uint32_t ns_type_parse(const char *name)
{
	const ns_event_spec *t = ns_catalogue_find(name);
	return t ? t->type : 0;
}

uint32_t ns_type_max(void)
{
	uint32_t max = 0;
	for (size_t i = 0; i < ns_catalogue_count(); i++)
		if (ns_catalogue_at(i)->type > max)
			max = ns_catalogue_at(i)->type;
	return max;
}

static const char *const ns__role_names[] = { NULL, "prison", "probation", "court", "hub", "authority" };

const char *ns_role_name(ns_role role)
{
	return (unsigned)role < 6 ? ns__role_names[role] : NULL;
}

ns_role ns_role_parse(const char *name)
{
	for (int i = 1; name && i < 6; i++)
		if (strcmp(ns__role_names[i], name) == 0)
			return (ns_role)i;
	return NS_ROLE_NONE;
}

static pthread_once_t ns__sodium_once = PTHREAD_ONCE_INIT;
static int ns__sodium_rc;

static void ns__sodium_start(void)
{
	ns__sodium_rc = sodium_init() < 0 ? NS_EINVAL : 0;
}

int ns_crypto_init(void)
{
	pthread_once(&ns__sodium_once, ns__sodium_start);
	return ns__sodium_rc;
}

void ns_hash(uint8_t out[NS_ID_BYTES], const void *buf, size_t len)
{
	crypto_generichash(out, NS_ID_BYTES, buf, len, NULL, 0);
}

void ns_hex(char *out, const uint8_t *buf, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[buf[i] >> 4];
		out[2 * i + 1] = digits[buf[i] & 15];
	}
	out[2 * len] = '\0';
}

static int ns__nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ns_unhex(uint8_t *out, size_t len, const char *hex)
{
	if (hex == NULL || strlen(hex) != 2 * len)
		return NS_EINVAL;
	for (size_t i = 0; i < len; i++) {
		int hi = ns__nibble(hex[2 * i]), lo = ns__nibble(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return NS_EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Instants an event may carry: 1900-01-01 to 2199-12-31 (UTC). */
#define NS__TIME_MIN ((int64_t)-2208988800)
#define NS__TIME_MAX ((int64_t)7258118399)

void ns_time_format(char out[21], int64_t t)
{
	/* Clamp so that the day arithmetic below cannot overflow. */
	if (t < NS__TIME_MIN)
		t = NS__TIME_MIN;
	if (t > NS__TIME_MAX)
		t = NS__TIME_MAX;
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	int64_t secs = t - days * 86400;
	int y, m, d;

	ns_date_to_civil((int32_t)days, &y, &m, &d);
	/* Written digit by digit: snprintf was a third of the cost of an outbound NATS envelope. */
	int v[6] = { y % 10000, m, d, (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60) };
	memcpy(out, "0000-00-00T00:00:00Z", 21);
	for (int i = 0; i < 4; i++, v[0] /= 10)
		out[3 - i] = (char)('0' + v[0] % 10);
	for (int i = 1; i < 6; i++) {
		out[3 + 3 * i - 1] = (char)('0' + v[i] / 10);
		out[3 + 3 * i] = (char)('0' + v[i] % 10);
	}
}

static int ns__digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int ns_time_parse(const char *s, int64_t *t)
{
	char date[11];
	int32_t days;
	int hh, mm, ss, off = 0;
	const char *p;

	if (s == NULL || strlen(s) < 10)
		return NS_EINVAL;
	memcpy(date, s, 10);
	date[10] = '\0';
	if (ns_date_parse(date, &days) != 0)
		return NS_EINVAL;
	if (s[10] == '\0') {
		*t = (int64_t)days * 86400;
		return 0;
	}
	if (s[10] != 'T' || strlen(s) < 19 || s[13] != ':' || s[16] != ':')
		return NS_EINVAL;
	hh = ns__digits(s + 11, 2);
	mm = ns__digits(s + 14, 2);
	ss = ns__digits(s + 17, 2);
	if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60)
		return NS_EINVAL;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return NS_EINVAL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh = ns__digits(p + 1, 2), om;
		if (oh < 0 || p[3] != ':' || (om = ns__digits(p + 4, 2)) < 0 || oh > 23 || om > 59)
			return NS_EINVAL;
		off = (oh * 60 + om) * 60 * (*p == '+' ? 1 : -1);
		p += 6;
	} else {
		return NS_EINVAL;
	}
	if (*p != '\0')
		return NS_EINVAL;
	*t = (int64_t)days * 86400 + hh * 3600 + mm * 60 + ss - off;
	if (*t < NS__TIME_MIN || *t > NS__TIME_MAX)
		return NS_EINVAL;
	return 0;
}

/*
 * Identity files.
 */

int ns_identity_generate(ns_identity *id, const char *site, ns_role role)
{
	if (ns_crypto_init() != 0 || site == NULL || strlen(site) == 0 ||
	    strlen(site) >= NS_SITE_MAX || ns_role_name(role) == NULL)
		return NS_EINVAL;
	memset(id, 0, sizeof(*id));
	snprintf(id->site, sizeof(id->site), "%s", site);
	id->role = role;
	crypto_sign_keypair(id->pk, id->sk);
	return 0;
}

int ns_identity_save(const ns_identity *id, const char *path)
{
	char tmp[4096], hex[2 * NS_SECRET_BYTES + 1];
	int fd, rc = 0;
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return NS_EINVAL;
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return NS_EIO;
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		unlink(tmp);
		return NS_EIO;
	}
	ns_hex(hex, id->sk, NS_SECRET_BYTES);
	if (fprintf(f, "nomsync-key 1 %s %s %s\n", id->site, ns_role_name(id->role), hex) < 0 ||
	    fflush(f) != 0 || fsync(fd) != 0)
		rc = NS_EIO;
	sodium_memzero(hex, sizeof(hex));
	if (fclose(f) != 0)
		rc = NS_EIO;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = NS_EIO;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

int ns_identity_load(ns_identity *id, const char *path, ns_diag *d)
{
	char line[512], magic[16], site[32], role[16], hex[160];
	int version;
	FILE *f;

	if (ns_crypto_init() != 0)
		return NS_EINVAL;
	f = fopen(path, "re");
	if (f == NULL)
		return ns_diag_set(d, NS_EKEY, "key", "cannot open key file %s: %s", path, strerror(errno));
	if (fgets(line, sizeof(line), f) == NULL) {
		fclose(f);
		return ns_diag_set(d, NS_EKEY, "key", "key file %s is empty", path);
	}
	fclose(f);
	memset(id, 0, sizeof(*id));
	if (sscanf(line, "%15s %d %31s %15s %159s", magic, &version, site, role, hex) != 5 ||
	    strcmp(magic, "nomsync-key") != 0 || version != 1 || strlen(site) >= NS_SITE_MAX ||
	    (id->role = ns_role_parse(role)) == NS_ROLE_NONE ||
	    ns_unhex(id->sk, NS_SECRET_BYTES, hex) != 0) {
		sodium_memzero(line, sizeof(line));
		sodium_memzero(hex, sizeof(hex));
		return ns_diag_set(d, NS_EKEY, "key", "key file %s is malformed", path);
	}
	sodium_memzero(line, sizeof(line));
	sodium_memzero(hex, sizeof(hex));
	memcpy(id->site, site, strlen(site) + 1); /* length checked above */
	crypto_sign_ed25519_sk_to_pk(id->pk, id->sk);
	/* libsodium keeps the public key in the second half of sk: check it. */
	if (memcmp(id->pk, id->sk + 32, 32) != 0)
		return ns_diag_set(d, NS_EKEY, "key", "key file %s: public half does not match", path);
	return 0;
}

void ns_identity_wipe(ns_identity *id)
{
	if (id != NULL)
		sodium_memzero(id->sk, sizeof(id->sk));
}

/*
 * Outer framing: Event { bytes header = 1; bytes signature = 2; bytes payload = 3; }
 */


static size_t ns__put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

struct ns__frame {
	const uint8_t *f[4];
	size_t flen[4];
};

static int ns__parse_frame(const uint8_t *buf, size_t len, struct ns__frame *fr, ns_diag *d)
{
	size_t pos = 0;
	memset(fr, 0, sizeof(*fr));
	while (pos < len) {
		uint64_t key, n;
		if (ns__varint_read(buf, len, &pos, &key) != 0)
			return ns_diag_set(d, NS_EDECODE, "event", "truncated field tag at byte %zu", pos);
		unsigned field = (unsigned)(key >> 3);
		if ((key & 7) != 2 || field < 1 || field > 3)
			return ns_diag_set(d, NS_EDECODE, "event", "unexpected field %u (wire type %u)", field,
					   (unsigned)(key & 7));
		if (fr->f[field] != NULL)
			return ns_diag_set(d, NS_EDECODE, "event", "field %u repeated", field);
		if (ns__varint_read(buf, len, &pos, &n) != 0 || n > len - pos)
			return ns_diag_set(d, NS_EDECODE, "event", "field %u truncated", field);
		fr->f[field] = buf + pos;
		fr->flen[field] = (size_t)n;
		pos += (size_t)n;
	}
	if (fr->f[1] == NULL || fr->flen[1] == 0)
		return ns_diag_set(d, NS_EDECODE, "header", "event has no header");
	if (fr->f[2] == NULL || fr->flen[2] != NS_SIG_BYTES)
		return ns_diag_set(d, NS_EDECODE, "signature", "signature must be %d bytes", NS_SIG_BYTES);
	return 0;
}

int ns_site_code_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= NS_SITE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-'))
			return 0;
	return 1;
}

static int ns__ref_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= NS_REF_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return 0;
	return 1;
}

void ns_event_free(ns_event *ev)
{
	if (ev == NULL)
		return;
	if (ev->payload)
		nomsync__payload__free_unpacked(ev->payload, NULL);
	free(ev->raw);
	free(ev);
}

int ns_event_decode(const uint8_t *buf, size_t len, ns_event **out, ns_diag *d)
{
	return ns_event_decode_flags(buf, len, 0, out, d);
}

/* protobuf-c allocator over an arena: nothing is freed one by one. */
static void *ns__pb_alloc(void *arena, size_t size)
{
	return ns__arena_alloc(arena, size);
}

static void ns__pb_free(void *arena, void *p)
{
	(void)arena;
	(void)p;
}

/*
 * Decode @p buf. With @p arena the event, its header and payload come from
 * the arena and raw points into @p buf (no copy); otherwise everything is
 * malloc'd and raw is a copy.
 */
static int ns__decode(const uint8_t *buf, size_t len, unsigned flags, ns__arena *arena, ns_event **out,
		      ns_diag *d)
{
	static const uint8_t zero[NS_ID_BYTES];
	ProtobufCAllocator pba = { ns__pb_alloc, ns__pb_free, arena }, *pb = arena ? &pba : NULL;
	struct ns__frame fr;
	Nomsync__EventHeader *h = NULL;
	ns_event *ev;
	int rc;

	*out = NULL;
	if (flags & ~(unsigned)(NS_DECODE_TRUSTED | NS_DECODE_OPAQUE))
		return ns_diag_set(d, NS_EINVAL, "flags", "unknown decode flags 0x%x", flags);
	if (buf == NULL || len == 0)
		return ns_diag_set(d, NS_EDECODE, "event", "empty event");
	if (len > NS_EVENT_MAX_BYTES)
		return ns_diag_set(d, NS_EDECODE, "event", "event of %zu bytes exceeds the %d byte limit",
				   len, NS_EVENT_MAX_BYTES);
	if ((rc = ns__parse_frame(buf, len, &fr, d)) != 0)
		return rc;
	if (arena != NULL) {
		if ((ev = ns__arena_alloc(arena, sizeof(*ev))) == NULL)
			return NS_ENOMEM;
		memset(ev, 0, sizeof(*ev));
		ev->raw = (uint8_t *)buf;
	} else {
		ev = calloc(1, sizeof(*ev));
		if (ev == NULL || (ev->raw = malloc(len)) == NULL) {
			free(ev);
			return NS_ENOMEM;
		}
		memcpy(ev->raw, buf, len);
	}
	ev->raw_len = len;
	ev->header = ev->raw + (fr.f[1] - buf);
	ev->header_len = fr.flen[1];
	ev->signature = ev->raw + (fr.f[2] - buf);

	h = nomsync__event_header__unpack(pb, ev->header_len, ev->header);
	if (h == NULL) {
		rc = ns_diag_set(d, NS_EDECODE, "header", "header is not a valid EventHeader encoding");
		goto fail;
	}
	if (h->version != NS_EVENT_VERSION) {
		rc = ns_diag_set(d, NS_EVERSION, "version", "event format version %u is not supported",
				 h->version);
		goto fail;
	}
	if (h->origin.len != NS_KEY_BYTES || h->prev.len != NS_ID_BYTES ||
	    h->payload_hash.len != NS_ID_BYTES) {
		rc = ns_diag_set(d, NS_EDECODE, "header", "origin, prev and payload_hash must be 32 bytes");
		goto fail;
	}
	if (h->seq == 0 || (h->seq == 1 && memcmp(h->prev.data, zero, NS_ID_BYTES) != 0)) {
		rc = ns_diag_set(d, NS_EDECODE, "seq", "seq must start at 1 with a zero prev hash");
		goto fail;
	}
	if (h->type == 0 || h->type >= NS_TYPE_LIMIT) {
		rc = ns_diag_set(d, NS_EDECODE, "type", "unknown event type %u", h->type);
		goto fail;
	}
	if (h->occurred_at < NS__TIME_MIN || h->occurred_at > NS__TIME_MAX || h->recorded_at < NS__TIME_MIN ||
	    h->recorded_at > NS__TIME_MAX) {
		rc = ns_diag_set(d, NS_EDECODE, "occurred_at", "event times must lie in 1900-2199");
		goto fail;
	}
	if (!ns__ref_ok(h->offender)) {
		rc = ns_diag_set(d, NS_EDECODE, "offender", "offender reference is malformed");
		goto fail;
	}
	if (!ns_site_code_ok(h->site) || (ev->role = ns_role_parse(h->role)) == NS_ROLE_NONE) {
		rc = ns_diag_set(d, NS_EDECODE, "site", "origin site code or role is malformed");
		goto fail;
	}
	/* Optional (field 12); a build before it skips the field, and the bytes stay as signed. */
	if (h->recorded_by != NULL && h->recorded_by[0] != '\0' && !ns_is_user_id(h->recorded_by)) {
		rc = ns_diag_set(d, NS_EDECODE, "recorded_by", "recorded_by is not a user id");
		goto fail;
	}
	memcpy(ev->origin, h->origin.data, NS_KEY_BYTES);
	memcpy(ev->prev, h->prev.data, NS_ID_BYTES);
	memcpy(ev->payload_hash, h->payload_hash.data, NS_ID_BYTES);
	ev->seq = h->seq;
	ev->occurred_at = h->occurred_at;
	ev->recorded_at = h->recorded_at;
	ev->type = h->type;
	ev->type_unknown = ns_type_name(h->type) == NULL || (flags & NS_DECODE_OPAQUE);
	memcpy(ev->offender, h->offender, strlen(h->offender) + 1); /* lengths checked above */
	memcpy(ev->site, h->site, strlen(h->site) + 1);
	if (h->recorded_by != NULL)
		memcpy(ev->recorded_by, h->recorded_by, strlen(h->recorded_by) + 1); /* checked above */
	nomsync__event_header__free_unpacked(h, pb);
	h = NULL;
	ns_hash(ev->id, ev->header, ev->header_len);

	if (fr.f[3] != NULL && fr.flen[3] > 0) {
		uint8_t ph[NS_ID_BYTES];

		if (!(flags & NS_DECODE_TRUSTED)) {
			ns_hash(ph, fr.f[3], fr.flen[3]);
			if (memcmp(ph, ev->payload_hash, NS_ID_BYTES) != 0) {
				rc = ns_diag_set(d, NS_EHASH, "payload", "payload does not match its signed hash");
				goto fail;
			}
		}
		ev->payload_bytes = ev->raw + (fr.f[3] - buf);
		ev->payload_len = fr.flen[3];
	}
	/* A newer release's type (or NS_DECODE_OPAQUE): the payload stays bytes. */
	if (ev->payload_len > 0 && !ev->type_unknown) {
		ev->payload = nomsync__payload__unpack(pb, ev->payload_len, ev->payload_bytes);
		if (ev->payload == NULL) {
			rc = ns_diag_set(d, NS_EDECODE, "payload", "payload is not a valid encoding");
			goto fail;
		}
		if ((uint32_t)ev->payload->body_case != ev->type) {
			rc = ns_diag_set(d, NS_EDECODE, "payload", "payload kind does not match type %s",
					 ns_type_name(ev->type));
			goto fail;
		}
	}
	*out = ev;
	return 0;
fail:
	if (h)
		nomsync__event_header__free_unpacked(h, pb);
	if (arena == NULL)
		ns_event_free(ev);
	return rc;
}

int ns_event_decode_flags(const uint8_t *buf, size_t len, unsigned flags, ns_event **out, ns_diag *d)
{
	return ns__decode(buf, len, flags, NULL, out, d);
}

int ns__event_decode_in(ns__arena *arena, const uint8_t *buf, size_t len, unsigned flags, ns_event **out)
{
	return ns__decode(buf, len, flags, arena, out, NULL);
}

int ns_event_verify(const ns_event *ev)
{
	if (ns_crypto_init() != 0)
		return NS_EINVAL;
	return crypto_sign_verify_detached(ev->signature, ev->header, ev->header_len, ev->origin) == 0
		       ? 0
		       : NS_ESIG;
}

/* Frame header, signature and payload into one malloc'd Event encoding. */
static int ns__frame_encode(const uint8_t *hdr, size_t hlen, const uint8_t *sig, const uint8_t *pl,
			    size_t plen, uint8_t **out, size_t *out_len)
{
	size_t cap = hlen + NS_SIG_BYTES + plen + 3 * 11, n = 0;
	uint8_t *b = malloc(cap);

	if (b == NULL)
		return NS_ENOMEM;
	b[n++] = 0x0a;
	n += ns__put_varint(b + n, hlen);
	memcpy(b + n, hdr, hlen);
	n += hlen;
	b[n++] = 0x12;
	n += ns__put_varint(b + n, NS_SIG_BYTES);
	memcpy(b + n, sig, NS_SIG_BYTES);
	n += NS_SIG_BYTES;
	if (plen > 0) {
		b[n++] = 0x1a;
		n += ns__put_varint(b + n, plen);
		memcpy(b + n, pl, plen);
		n += plen;
	}
	*out = b;
	*out_len = n;
	return 0;
}

/* ns_event_build_by, with the signature left zero unless @p sign. */
static int ns__build(const ns_identity *id, uint64_t seq, const uint8_t prev[NS_ID_BYTES],
		     int64_t occurred_at, int64_t recorded_at, const char *offender, const char *recorded_by,
		     const Nomsync__Payload *payload, int sign, ns_event **out)
{
	static const uint8_t zero[NS_ID_BYTES];
	Nomsync__EventHeader h = NOMSYNC__EVENT_HEADER__INIT;
	uint8_t phash[NS_ID_BYTES], sig[NS_SIG_BYTES] = { 0 };
	uint8_t *pl = NULL, *hdr = NULL, *raw = NULL;
	size_t plen, hlen, rlen;
	int rc;

	*out = NULL;
	if (ns_crypto_init() != 0 || id == NULL || payload == NULL || offender == NULL || seq == 0 ||
	    payload->body_case == NOMSYNC__PAYLOAD__BODY__NOT_SET ||
	    ns_type_name((uint32_t)payload->body_case) == NULL || !ns__ref_ok(offender) ||
	    !ns_site_code_ok(id->site) || ns_role_name(id->role) == NULL ||
	    (recorded_by != NULL && recorded_by[0] != '\0' && !ns_is_user_id(recorded_by)))
		return NS_EINVAL;
	if (prev == NULL)
		prev = zero;

	plen = nomsync__payload__get_packed_size(payload);
	pl = malloc(plen ? plen : 1);
	if (pl == NULL)
		return NS_ENOMEM;
	nomsync__payload__pack(payload, pl);
	ns_hash(phash, pl, plen);

	h.version = NS_EVENT_VERSION;
	h.origin.data = (uint8_t *)id->pk;
	h.origin.len = NS_KEY_BYTES;
	h.seq = seq;
	h.prev.data = (uint8_t *)prev;
	h.prev.len = NS_ID_BYTES;
	h.occurred_at = occurred_at;
	h.recorded_at = recorded_at;
	h.offender = (char *)offender;
	h.type = (uint32_t)payload->body_case;
	h.payload_hash.data = phash;
	h.payload_hash.len = NS_ID_BYTES;
	h.site = (char *)id->site;
	h.role = (char *)ns_role_name(id->role);
	/* "" is proto3's absent value: an event without it encodes as before the field existed. */
	h.recorded_by = (char *)(recorded_by != NULL ? recorded_by : "");
	hlen = nomsync__event_header__get_packed_size(&h);
	hdr = malloc(hlen);
	if (hdr == NULL) {
		free(pl);
		return NS_ENOMEM;
	}
	nomsync__event_header__pack(&h, hdr);
	if (sign)
		crypto_sign_detached(sig, NULL, hdr, hlen, id->sk);

	rc = ns__frame_encode(hdr, hlen, sig, pl, plen, &raw, &rlen);
	free(hdr);
	free(pl);
	if (rc != 0)
		return rc;
	rc = ns_event_decode(raw, rlen, out, NULL);
	free(raw);
	return rc;
}

int ns_event_build_by(const ns_identity *id, uint64_t seq, const uint8_t prev[NS_ID_BYTES],
		      int64_t occurred_at, int64_t recorded_at, const char *offender,
		      const char *recorded_by, const Nomsync__Payload *payload, ns_event **out)
{
	return ns__build(id, seq, prev, occurred_at, recorded_at, offender, recorded_by, payload, 1, out);
}

int ns_event_build(const ns_identity *id, uint64_t seq, const uint8_t prev[NS_ID_BYTES],
		   int64_t occurred_at, int64_t recorded_at, const char *offender,
		   const Nomsync__Payload *payload, ns_event **out)
{
	return ns__build(id, seq, prev, occurred_at, recorded_at, offender, NULL, payload, 1, out);
}

int ns_event_build_unsigned(const ns_identity *id, uint64_t seq, const uint8_t prev[NS_ID_BYTES],
			    int64_t occurred_at, int64_t recorded_at, const char *offender,
			    const char *recorded_by, const Nomsync__Payload *payload, ns_event **out)
{
	return ns__build(id, seq, prev, occurred_at, recorded_at, offender, recorded_by, payload, 0, out);
}

int ns_event_sign(const ns_event *ev, const ns_identity *id, uint8_t sig[NS_SIG_BYTES])
{
	if (ev == NULL || id == NULL || memcmp(ev->origin, id->pk, NS_KEY_BYTES) != 0)
		return NS_EINVAL;
	crypto_sign_detached(sig, NULL, ev->header, ev->header_len, id->sk);
	return 0;
}

int ns_event_encode_erased(const ns_event *ev, uint8_t **out, size_t *out_len)
{
	return ns__frame_encode(ev->header, ev->header_len, ev->signature, NULL, 0, out, out_len);
}
