/*
 * Fuzz target: the HTTP/JSON API of nomsyncd, end to end.
 *
 * The server is the real one (ns_http_start from src/http/http.c) on a
 * private libuv loop, listening on 127.0.0.1 at a free port, over a scratch
 * store of prison MDI holding a few persons (so views, timelines, caseloads
 * and metrics have data) and a status callback with one peer. The input is
 * the raw byte stream of one client connection: it may hold one request,
 * several pipelined ones, or garbage.
 *
 * For each input the harness (single-threaded: it drives the server's loop
 * itself) connects a non-blocking TCP socket, sends the bytes while running
 * the loop, waits until the server is idle (no pending writes or appends, no
 * new response bytes), half-closes, and waits for the server to close the
 * connection. Token: "Bearer fuzz-token-0123456789abcdef".
 *
 * Invariants: the server closes within 5 s of the client's half-close (else
 * a hang); every response starts "HTTP/1.1 "; no response is a 500 (every
 * 500 is an internal failure: a store error or a JSON encoding failure).
 */
#include "fuzz_common.h"

#include "http/http.h"

#include <nomsync/json.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>

#define TOKEN "fuzz-token-0123456789abcdef"

static uv_loop_t loop;
static ns_http *http;
static ns_store *store;
static char store_path[1024];
static int port;

static const char *const preload[] = {
	"{\"dob\":\"2000-07-27\",\"forenames\":\"JOHN\",\"gender\":\"M\",\"occurred_at\":\"2024-01-01T15:01:51Z\","
	"\"offender\":\"A0000AA\",\"pnc\":\"2003/0010000P\",\"surname\":\"HUGHES\",\"type\":\"person.created\"}",
	"{\"movement_reason_code\":\"N\",\"occurred_at\":\"2024-01-01T16:20:52Z\",\"offender\":\"A0000AA\",\"prison\":"
	"\"MDI\",\"reason\":\"NEW_ADMISSION\",\"type\":\"prisoner.received\"}",
	"{\"alert_code\":\"HA\",\"alert_type\":\"H\",\"from_date\":\"2024-01-02\",\"occurred_at\":\"2024-01-02T09:46:52Z\","
	"\"offender\":\"A0000AA\",\"type\":\"alert.raised\"}",
	"{\"adjustment_type\":\"REMAND\",\"days\":53,\"occurred_at\":\"2024-02-24T09:44:08Z\",\"offender\":\"A0000AA\","
	"\"type\":\"prisoner.adjustment.recorded\"}",
	"{\"name\":\"A. OFFICER\",\"occurred_at\":\"2024-02-28T10:14:37Z\",\"offender\":\"A0000AA\",\"prison\":\"MDI\","
	"\"staff\":\"POM0001\",\"type\":\"manager.pom.allocated\"}",
	"{\"identifier_type\":\"CRN\",\"occurred_at\":\"2024-03-01T09:00:00Z\",\"offender\":\"A0000AA\",\"type\":"
	"\"person.identifier.added\",\"value\":\"X000000\"}",
	"{\"dob\":\"1992-11-20\",\"forenames\":\"DANIEL\",\"gender\":\"M\",\"occurred_at\":\"2024-01-03T15:41:05Z\","
	"\"offender\":\"A0002AC\",\"pnc\":\"2020/0010002A\",\"surname\":\"DAVIES\",\"type\":\"person.created\"}",
	"{\"occurred_at\":\"2024-01-03T16:00:00Z\",\"offender\":\"A0002AC\",\"prison\":\"MDI\",\"reason\":\"NEW_ADMISSION\","
	"\"type\":\"prisoner.received\"}",
	"{\"from_prison\":\"MDI\",\"occurred_at\":\"2024-04-23T08:53:37Z\",\"offender\":\"A0002AC\",\"reason\":\"SEC\","
	"\"to_prison\":\"LEI\",\"type\":\"prisoner.transferred\"}",
};

/* What nomsyncd's status callback gives: one peer, so /metrics has peer lines. */
static int status_cb(void *arg, ns_node_status *st)
{
	(void)arg;
	memset(st, 0, sizeof(*st));
	if ((st->peers = calloc(1, sizeof(*st->peers))) == NULL)
		return NS_ENOMEM;
	st->npeers = 1;
	snprintf(st->peers[0].site, sizeof(st->peers[0].site), "HUBNE");
	st->peers[0].outbound = 1;
	snprintf(st->peers[0].endpoint, sizeof(st->peers[0].endpoint), "tcp://127.0.0.1:7400");
	st->peers[0].state = NS_PEER_LIVE;
	st->peers[0].last_contact_ms_ago = 10;
	return 0;
}

static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p = -1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &al) == 0)
		p = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return p;
}

static void on_exit_stop(void)
{
	if (http) {
		ns_http_stop(http);
		uv_run(&loop, UV_RUN_DEFAULT);
		ns_http_free(http);
		http = NULL;
		ns_store_close(store);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	ns_input in[sizeof(preload) / sizeof(preload[0])];
	ns_diag d;
	size_t bad;

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	if (ns_crypto_init() != 0 || uv_loop_init(&loop) != 0)
		abort();
	store = ns_fuzz_store("MDI", NS_ROLE_PRISON, store_path, sizeof(store_path));
	for (size_t i = 0; i < sizeof(preload) / sizeof(preload[0]); i++)
		if (ns_input_parse(preload[i], strlen(preload[i]), &in[i], &d) != 0)
			ns_fuzz_die("preload line %zu: %s: %s", i, d.field, d.msg);
	if (ns_store_append(store, in, sizeof(in) / sizeof(in[0]), NULL, &bad, &d) != 0)
		ns_fuzz_die("preload append: line %zu: %s: %s", bad, d.field, d.msg);
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		ns_input_clear(&in[i]);
	for (int attempt = 0; attempt < 50; attempt++) {
		char listen[64];
		port = free_port();
		snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
		ns_diag_clear(&d);
		int rc = ns_http_start(&http, &loop, store, listen, TOKEN, status_cb, NULL, NULL, &d);
		if (rc == 0)
			break;
		if (http) { /* the listener is closing: let the loop finish it */
			uv_run(&loop, UV_RUN_DEFAULT);
			ns_http_free(http);
			http = NULL;
		}
	}
	if (http == NULL) {
		fprintf(stderr, "nomsync-fuzz: cannot start the HTTP server\n");
		exit(1);
	}
	atexit(on_exit_stop);
	return 0;
}

static uint64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

typedef struct client {
	int fd;
	char head[16]; /* first bytes of the response stream */
	size_t headlen;
	char tail[16]; /* last bytes seen, to find status lines across reads */
	size_t taillen;
	int eof;
	uint64_t got;
} client;

/* Look for "HTTP/1.1 500 " at the start of the stream or of a line. */
static void scan(client *c, const char *buf, size_t n)
{
	static const char pat[] = "HTTP/1.1 500 ";
	char win[16 + 65536];
	size_t wl = 0;

	memcpy(win, c->tail, c->taillen);
	wl = c->taillen;
	memcpy(win + wl, buf, n);
	wl += n;
	for (size_t i = 0; i + sizeof(pat) - 1 <= wl; i++)
		if ((i == 0 ? c->got == 0 && c->taillen == 0 : win[i - 1] == '\n') &&
		    memcmp(win + i, pat, sizeof(pat) - 1) == 0 && !ns_fuzz_known("http-500")) {
			size_t show = wl - i < 200 ? wl - i : 200;
			ns_fuzz_die("the server answered 500: %.*s", (int)show, win + i);
		}
	c->taillen = wl < sizeof(c->tail) ? wl : sizeof(c->tail);
	memcpy(c->tail, win + wl - c->taillen, c->taillen);
}

/* Read what the server sent; returns bytes read (0 if none yet). */
static size_t pull(client *c)
{
	char buf[65536];
	size_t total = 0;

	for (;;) {
		ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
		if (r > 0) {
			if (c->headlen < sizeof(c->head)) {
				size_t take = (size_t)r < sizeof(c->head) - c->headlen ? (size_t)r : sizeof(c->head) - c->headlen;
				memcpy(c->head + c->headlen, buf, take);
				c->headlen += take;
				if (c->headlen >= 9 && memcmp(c->head, "HTTP/1.1 ", 9) != 0)
					ns_fuzz_die("response does not start with a status line: %.16s", c->head);
			}
			scan(c, buf, (size_t)r);
			c->got += (size_t)r;
			total += (size_t)r;
			continue;
		}
		if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			c->eof = 1;
		return total;
	}
}

static void spin(client *c, int wait_ms)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };
	uv_run(&loop, UV_RUN_NOWAIT);
	if (wait_ms > 0)
		poll(&p, 1, wait_ms);
	uv_run(&loop, UV_RUN_NOWAIT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in a;
	client c;
	size_t sent = 0;
	uint64_t deadline;
	int idle = 0;

	if (http == NULL)
		LLVMFuzzerInitialize(NULL, NULL);
	memset(&c, 0, sizeof(c));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c.fd < 0)
		abort();
	int one = 1;
	setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c.fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS)
		ns_fuzz_die("cannot connect to the HTTP server: %s", strerror(errno));

	/* Send everything, running the server while the socket buffer is full. */
	deadline = ms_now() + 5000;
	while (sent < size && !c.eof) {
		ssize_t w = send(c.fd, data + sent, size - sent, MSG_NOSIGNAL);
		if (w > 0) {
			sent += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ENOTCONN)
			break; /* the server closed on us (413, 431, ...) */
		spin(&c, 1);
		pull(&c);
		if (ms_now() > deadline)
			ns_fuzz_die("could not send %zu bytes in 5 s (server stopped reading?)", size);
	}

	/* Let the server answer what it got: idle = nothing in flight, nothing new to read. */
	deadline = ms_now() + 5000;
	while (!c.eof && idle < 3) {
		spin(&c, idle ? 1 : 0);
		size_t n = pull(&c);
		idle = (n == 0 && loop.active_reqs.count == 0) ? idle + 1 : 0;
		if (ms_now() > deadline)
			ns_fuzz_die("the server kept busy for 5 s on one connection");
	}

	/* Half-close: the server must close its side promptly. */
	shutdown(c.fd, SHUT_WR);
	deadline = ms_now() + 5000;
	while (!c.eof) {
		spin(&c, 1);
		pull(&c);
		if (ms_now() > deadline)
			ns_fuzz_die("the server did not close the connection within 5 s of the client's half-close "
				    "(%llu response bytes so far)",
				    (unsigned long long)c.got);
	}
	close(c.fd);
	/* Let close callbacks run so each connection is freed before the next input. */
	for (int i = 0; i < 4; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	return 0;
}
