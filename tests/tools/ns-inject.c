/*
 * ns-inject: a misbehaving peer for tests. It connects to a node over
 * ZeroMQ CURVE with a roster member's key (or any key) and sends what an
 * honest node never would.
 *
 *   ns-inject --dir STORE --roster FILE --to ENDPOINT --server SITE MODE [--wait MS]
 *
 * MODE:
 *   --bundle FILE [--forge]   send the bundle's events, with --forge after
 *                             flipping one bit of each signature
 *   --forbidden TYPE JSON     sign an event of a type the store's role may not
 *                             emit (seq 1, fresh store) and send it
 *   --garbage                 send frames that are not protocol messages
 *   --oversize                send a 20 MiB frame (over the frame limit)
 *   --flood FRAMES PER        send FRAMES Events messages of PER events each,
 *                             signed with the store's key but every signature
 *                             broken, without waiting for credit
 *   --hello-flood N           send N Hellos, each with a fresh session id and
 *                             an empty vector (each asks for a full resend)
 *   --claim SEQ               claim, in a Hello repeated every 500 ms, to hold
 *                             the server's own origin up to SEQ (a lie)
 *   --strip FILE              send the bundle's events without their payloads, as a
 *                             relay that suppresses content would (issue 10.1)
 *   --park N FROM TYPE JSON   sign N events of TYPE (JSON as for --forbidden) at seqs
 *                             FROM, FROM+2, ... that never fill, and send them in
 *                             batches of 256, waiting for acks (issue 10.4)
 *   --substitute FILE         send the bundle's events in batches of 256 (waiting for
 *                             acks), each batch's events but the last with garbage
 *                             in place of their signatures: a relay that keeps every
 *                             header and chain link but not the signatures, which a
 *                             run's tip does not cover (issue 13.1); prints
 *                             "substituted K of N"
 *
 * Prints "acks N" (how many Ack messages came back), "events N in M batches"
 * (Events received) and exits 0.
 */
#include <nomsync/json.h>
#include <nomsync/roster.h>

#include "replication.pb-c.h"

#include <sodium.h>
#include <zmq.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *sock;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void send_message(const Nomsync__Message *m)
{
	size_t len = nomsync__message__get_packed_size(m);
	uint8_t *buf = malloc(len);
	nomsync__message__pack(m, buf);
	if (zmq_send(sock, buf, len, 0) < 0)
		fprintf(stderr, "ns-inject: send: %s\n", zmq_strerror(zmq_errno()));
	free(buf);
}

static void send_events(uint8_t **evs, size_t *lens, size_t n)
{
	Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
	Nomsync__Events e = NOMSYNC__EVENTS__INIT;
	ProtobufCBinaryData *items = calloc(n, sizeof(*items));
	for (size_t i = 0; i < n; i++) {
		items[i].data = evs[i];
		items[i].len = lens[i];
	}
	e.events = items;
	e.n_events = n;
	e.batch = 1;
	m.body_case = NOMSYNC__MESSAGE__BODY_EVENTS;
	m.events = &e;
	send_message(&m);
	free(items);
}

/* Events sent but not acknowledged: wait for acks while 16 batches are in flight. */
static int inflight, acked;

/* Count acks for @p wait_ms; with @p flow, stop once fewer than 16 batches are in flight. */
static void count_acks(int wait_ms, int flow)
{
	for (int waited = 0; waited < wait_ms; waited += 200) {
		uint8_t rb[1 << 16];
		int r = zmq_recv(sock, rb, sizeof(rb), 0);
		if (r < 0 || r > (int)sizeof(rb))
			continue;
		Nomsync__Message *rm = nomsync__message__unpack(NULL, (size_t)r, rb);
		if (rm && rm->body_case == NOMSYNC__MESSAGE__BODY_ACK) {
			acked++;
			inflight--;
		}
		nomsync__message__free_unpacked(rm, NULL);
		if (flow && inflight < 16)
			break;
	}
}

static void send_flow(uint8_t **evs, size_t *lens, size_t n)
{
	while (inflight >= 16) {
		int before = acked;
		count_acks(10000, 1);
		if (acked == before)
			break; /* no acks for 10 s: send anyway */
	}
	send_events(evs, lens, n);
	inflight++;
}

static uint64_t varint(const uint8_t *p, size_t len, size_t *pos)
{
	uint64_t v = 0;
	for (int s = 0; s < 64 && *pos < len; s += 7) {
		uint8_t b = p[(*pos)++];
		v |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80))
			break;
	}
	return v;
}

/* A Hello of a fresh session (random id); with @p claim, naming @p origin at that seq. */
static void send_hello(const char *site, const uint8_t *origin, uint64_t claim)
{
	Nomsync__Message m = NOMSYNC__MESSAGE__INIT;
	Nomsync__Hello h = NOMSYNC__HELLO__INIT;
	Nomsync__VectorEntry e = NOMSYNC__VECTOR_ENTRY__INIT, *ep = &e;
	static uint64_t session;

	if (session == 0 || claim == 0)
		randombytes_buf(&session, sizeof(session));
	h.version = 1;
	h.site = (char *)site;
	h.window = 4;
	h.session = session;
	if (claim) {
		e.origin.data = (uint8_t *)origin;
		e.origin.len = NS_KEY_BYTES;
		e.seq = claim;
		h.vector = &ep;
		h.n_vector = 1;
	}
	m.body_case = NOMSYNC__MESSAGE__BODY_HELLO;
	m.hello = &h;
	send_message(&m);
}

/* FRAMES Events messages of PER alert.raised events each, every signature broken. */
static int flood(const ns_identity *id, int frames, int per)
{
	char line[2048], comment[701];
	ns_input in;
	ns_event *ev;
	ns_diag d;

	memset(comment, 'x', sizeof(comment) - 1);
	comment[sizeof(comment) - 1] = '\0';
	snprintf(line, sizeof(line),
		 "{\"type\":\"alert.raised\",\"offender\":\"A0001AB\",\"occurred_at\":\"2026-03-01T09:00:00Z\","
		 "\"alert_type\":\"X\",\"alert_code\":\"XSA\",\"from_date\":\"2026-03-01\",\"comment\":\"%s\"}",
		 comment);
	if (ns_input_parse(line, strlen(line), &in, &d) != 0) {
		fprintf(stderr, "ns-inject: %s: %s\n", d.field, d.msg);
		return 1;
	}
	uint8_t **evs = calloc((size_t)per, sizeof(*evs));
	size_t *lens = calloc((size_t)per, sizeof(*lens));
	for (int i = 0; i < per; i++) {
		if (ns_event_build(id, (uint64_t)i + 1, NULL, in.occurred_at, in.occurred_at, in.offender, in.payload,
				   &ev) != 0)
			return 1;
		evs[i] = malloc(ev->raw_len);
		memcpy(evs[i], ev->raw, ev->raw_len);
		lens[i] = ev->raw_len;
		/* The signature follows the header field: flip a bit in it. */
		size_t p2 = 1, hl = (size_t)varint(evs[i], lens[i], &p2);
		evs[i][p2 + hl + 2 + 10] ^= 0x04;
		ns_event_free(ev);
	}
	for (int f = 0; f < frames; f++)
		send_events(evs, lens, (size_t)per);
	printf("sent %d frames of %d events (%zu bytes each) with broken signatures\n", frames, per, lens[0]);
	for (int i = 0; i < per; i++)
		free(evs[i]);
	free(evs);
	free(lens);
	ns_input_clear(&in);
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *rosterf = NULL, *to = NULL, *server = NULL, *bundle = NULL;
	const char *ftype = NULL, *fjson = NULL, *strip = NULL, *ptype = NULL, *pjson = NULL, *substitute = NULL;
	int forge = 0, garbage = 0, oversize = 0, wait_ms = 1500, flood_frames = 0, flood_per = 0, hellos = 0;
	uint64_t claim = 0, park_from = 0;
	size_t park = 0;
	ns_identity id;
	ns_roster roster;
	ns_diag d;
	char path[4096];
	uint8_t cpk[32], csk[32];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--roster") && i + 1 < argc)
			rosterf = argv[++i];
		else if (!strcmp(argv[i], "--to") && i + 1 < argc)
			to = argv[++i];
		else if (!strcmp(argv[i], "--server") && i + 1 < argc)
			server = argv[++i];
		else if (!strcmp(argv[i], "--bundle") && i + 1 < argc)
			bundle = argv[++i];
		else if (!strcmp(argv[i], "--forbidden") && i + 2 < argc) {
			ftype = argv[++i];
			fjson = argv[++i];
		} else if (!strcmp(argv[i], "--forge"))
			forge = 1;
		else if (!strcmp(argv[i], "--strip") && i + 1 < argc)
			strip = argv[++i];
		else if (!strcmp(argv[i], "--substitute") && i + 1 < argc)
			substitute = argv[++i];
		else if (!strcmp(argv[i], "--park") && i + 4 < argc) {
			park = (size_t)strtoull(argv[++i], NULL, 10);
			park_from = strtoull(argv[++i], NULL, 10);
			ptype = argv[++i];
			pjson = argv[++i];
		} else if (!strcmp(argv[i], "--garbage"))
			garbage = 1;
		else if (!strcmp(argv[i], "--oversize"))
			oversize = 1;
		else if (!strcmp(argv[i], "--flood") && i + 2 < argc) {
			flood_frames = atoi(argv[++i]);
			flood_per = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--hello-flood") && i + 1 < argc)
			hellos = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--claim") && i + 1 < argc)
			claim = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--wait") && i + 1 < argc)
			wait_ms = atoi(argv[++i]);
		else {
			fprintf(stderr, "ns-inject: bad argument %s\n", argv[i]);
			return 2;
		}
	}
	if (!dir || !rosterf || !to || !server)
		return 2;
	ns_crypto_init();
	snprintf(path, sizeof(path), "%s/site.key", dir);
	if (ns_identity_load(&id, path, &d) != 0 || ns_roster_load(rosterf, &roster, &d) != 0) {
		fprintf(stderr, "ns-inject: %s\n", d.msg);
		return 1;
	}
	const ns_roster_entry *srv = ns_roster_by_site(&roster, server);
	if (srv == NULL)
		return 1;
	ns_curve_keys(&id, cpk, csk);
	void *ctx = zmq_ctx_new();
	sock = zmq_socket(ctx, ZMQ_DEALER);
	int linger = 2000, tmo = 200;
	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(sock, ZMQ_RCVTIMEO, &tmo, sizeof(tmo));
	zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, srv->curve_pk, 32);
	zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, cpk, 32);
	zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, csk, 32);
	if (zmq_connect(sock, to) != 0)
		return 1;

	send_hello(id.site, srv->pk, claim);

	if (bundle) {
		FILE *f = fopen(bundle, "rb");
		static uint8_t buf[64 << 20];
		size_t len = f ? fread(buf, 1, sizeof(buf), f) : 0, pos = 10, n = 0;
		uint8_t *evs[4096];
		size_t lens[4096];
		if (f)
			fclose(f);
		while (pos < len && buf[pos] == 'E' && n < 4096) {
			pos++;
			size_t l = (size_t)varint(buf, len, &pos);
			evs[n] = buf + pos;
			lens[n] = l;
			if (forge) {
				/* The signature follows the header field: flip a bit in it. */
				size_t p2 = 1;
				size_t hl = (size_t)varint(evs[n], l, &p2);
				evs[n][p2 + hl + 2 + 10] ^= 0x04;
			}
			n++;
			pos += l;
		}
		send_events(evs, lens, n);
		printf("sent %zu events%s\n", n, forge ? " with forged signatures" : "");
	}
	if (ftype) {
		ns_input in;
		ns_event *ev;
		char line[4096];
		snprintf(line, sizeof(line), "{\"type\":\"%s\",%s", ftype, fjson + 1);
		if (ns_input_parse(line, strlen(line), &in, &d) != 0) {
			fprintf(stderr, "ns-inject: %s: %s\n", d.field, d.msg);
			return 1;
		}
		if (ns_event_build(&id, 1, NULL, in.occurred_at, in.occurred_at, in.offender, in.payload, &ev) != 0)
			return 1;
		send_events(&ev->raw, &ev->raw_len, 1);
		printf("sent a %s signed by %s (%s)\n", ftype, id.site, ns_role_name(id.role));
		ns_event_free(ev);
		ns_input_clear(&in);
	}
	if (garbage) {
		zmq_send(sock, "\xff\xff\xff\xff garbage", 13, 0);
		zmq_send(sock, "\x12\x05\x0a\x03", 4, 0); /* truncated Events */
		zmq_send(sock, "", 0, 0);
		zmq_send(sock, "multi", 5, ZMQ_SNDMORE);
		zmq_send(sock, "part", 4, 0);
		printf("sent garbage frames\n");
	}
	if (oversize) {
		size_t big = 20u << 20;
		uint8_t *b = calloc(1, big);
		zmq_send(sock, b, big, 0);
		free(b);
		printf("sent a %zu byte frame\n", big);
	}
	if (strip) {
		FILE *f = fopen(strip, "rb");
		static uint8_t buf[64 << 20];
		size_t len = f ? fread(buf, 1, sizeof(buf), f) : 0, pos = 10, n = 0;
		uint8_t *evs[4096];
		size_t lens[4096];
		if (f)
			fclose(f);
		while (pos < len && buf[pos] == 'E' && n < 4096) {
			ns_event *ev;
			pos++;
			size_t l = (size_t)varint(buf, len, &pos);
			if (ns_event_decode(buf + pos, l, &ev, NULL) == 0) {
				if (ns_event_encode_erased(ev, &evs[n], &lens[n]) == 0)
					n++;
				ns_event_free(ev);
			}
			pos += l;
		}
		send_events(evs, lens, n);
		for (size_t i = 0; i < n; i++)
			free(evs[i]);
		printf("sent %zu events without their payloads\n", n);
	}
	if (park) {
		ns_input in;
		char line[4096];
		uint8_t prev[32];
		uint8_t *evs[256];
		size_t lens[256], k = 0, sent = 0;
		snprintf(line, sizeof(line), "{\"type\":\"%s\",%s", ptype, pjson + 1);
		if (ns_input_parse(line, strlen(line), &in, &d) != 0) {
			fprintf(stderr, "ns-inject: %s: %s\n", d.field, d.msg);
			return 1;
		}
		randombytes_buf(prev, sizeof(prev));
		for (size_t i = 0; i < park; i++) {
			ns_event *ev;
			if (ns_event_build(&id, park_from + 2 * i, prev, in.occurred_at, in.occurred_at, in.offender,
					   in.payload, &ev) != 0)
				return 1;
			evs[k] = ev->raw;
			lens[k++] = ev->raw_len;
			ev->raw = NULL; /* kept until sent */
			ns_event_free(ev);
			if (k == 256 || i + 1 == park) {
				send_flow(evs, lens, k);
				for (size_t j = 0; j < k; j++)
					free(evs[j]);
				sent += k;
				k = 0;
			}
		}
		ns_input_clear(&in);
		printf("parked %zu events from seq %llu\n", sent, (unsigned long long)park_from);
	}
	if (substitute) {
		FILE *f = fopen(substitute, "rb");
		static uint8_t buf[64 << 20];
		size_t len = f ? fread(buf, 1, sizeof(buf), f) : 0, pos = 10, n = 0, total = 0, garbled = 0;
		uint8_t *evs[256];
		size_t lens[256];
		if (f)
			fclose(f);
		while (pos < len && buf[pos] == 'E') {
			pos++;
			size_t l = (size_t)varint(buf, len, &pos);
			evs[n] = buf + pos;
			lens[n++] = l;
			pos += l;
			total++;
			if (n == 256 || pos >= len || buf[pos] != 'E') {
				/* Garbage over every signature but the batch's last (the run's tip). */
				for (size_t k = 0; k + 1 < n; k++, garbled++) {
					size_t p2 = 1, hl = (size_t)varint(evs[k], lens[k], &p2);
					randombytes_buf(evs[k] + p2 + hl + 2, 64);
				}
				send_flow(evs, lens, n);
				n = 0;
			}
		}
		count_acks(3000, 0);
		printf("substituted %zu of %zu\n", garbled, total);
	}
	if (flood_frames > 0 && flood(&id, flood_frames, flood_per) != 0)
		return 1;
	/*
	 * Read what comes back for --wait ms; meanwhile send the Hellos of
	 * --hello-flood (one each 20 ms) and repeat the claim of --claim (each 500 ms).
	 */
	int batches = 0, sent_hellos = 1;
	uint64_t events = 0, start = now_ms(), next_hello = start + 20, next_claim = start + 500;
	for (uint64_t t = start; t < start + (uint64_t)wait_ms || sent_hellos < hellos; t = now_ms()) {
		static uint8_t rb[32 << 20];
		if (sent_hellos < hellos && t >= next_hello) {
			send_hello(id.site, NULL, 0);
			sent_hellos++;
			next_hello = t + 20;
		}
		if (claim && t >= next_claim) {
			send_hello(id.site, srv->pk, claim); /* the same session: the claim stands */
			next_claim = t + 500;
		}
		zmq_pollitem_t pi = { sock, 0, ZMQ_POLLIN, 0 };
		if (zmq_poll(&pi, 1, 20) <= 0)
			continue;
		int r = zmq_recv(sock, rb, sizeof(rb), ZMQ_DONTWAIT);
		if (r < 0 || r > (int)sizeof(rb))
			continue;
		Nomsync__Message *rm = nomsync__message__unpack(NULL, (size_t)r, rb);
		if (rm && rm->body_case == NOMSYNC__MESSAGE__BODY_ACK)
			acked++;
		if (rm && rm->body_case == NOMSYNC__MESSAGE__BODY_EVENTS) {
			batches++;
			events += rm->events->n_events;
		}
		nomsync__message__free_unpacked(rm, NULL);
	}
	if (hellos > 0)
		printf("sent %d Hellos with fresh session ids\n", sent_hellos);
	printf("acks %d\n", acked);
	printf("events %llu in %d batches\n", (unsigned long long)events, batches);
	zmq_close(sock);
	zmq_ctx_term(ctx);
	ns_roster_free(&roster);
	return 0;
}
