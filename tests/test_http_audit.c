/*
 * The read audit in the HTTP API (src/http/audit.c, conn.c): a view read is
 * on disk in the audit before its response arrives; when the audit cannot
 * commit, the data is not sent (503 audit_unavailable); clients that hang up
 * while their response waits for the audit do not upset the server; GET
 * /v1/audit; with the audit off, nothing is held and /v1/audit is 404.
 */
#include "test.h"

#include "http/http.h"

#include <nomsync/store.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#define TOKEN "0123456789abcdef-test-token"

static char root[] = "/tmp/ns-http-audit-XXXXXX";
static ns_store *store;

typedef struct server {
	uv_loop_t loop;
	uv_async_t stop;
	ns_http *http;
	pthread_t thread;
	int port;
} server;

static int no_status(void *arg, ns_node_status *st)
{
	(void)arg;
	(void)st;
	return NS_ENOTFOUND;
}

static void on_stop(uv_async_t *a)
{
	ns_http_stop(((server *)a->data)->http);
	uv_close((uv_handle_t *)a, NULL);
}

static void *run_loop(void *arg)
{
	uv_run(&((server *)arg)->loop, UV_RUN_DEFAULT);
	return NULL;
}

/* Serve the store on a kernel-chosen port with @p audit (NULL: off). */
static int start(server *sv, ns_audit *audit)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	char listen[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &al);
	sv->port = ntohs(a.sin_port);
	close(fd);
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", sv->port);
	uv_loop_init(&sv->loop);
	ns_http_opts o = { .audit = audit };
	if (ns_http_start(&sv->http, &sv->loop, store, listen, TOKEN, no_status, NULL, NULL, NULL) != 0 ||
	    ns_http_configure(sv->http, &o, NULL) != 0)
		return -1;
	uv_async_init(&sv->loop, &sv->stop, on_stop);
	sv->stop.data = sv;
	return pthread_create(&sv->thread, NULL, run_loop, sv);
}

/* Stop the server, then close the audit on the loop's thread side as the daemon does (after HTTP). */
static void stop(server *sv, ns_audit *audit)
{
	uv_async_send(&sv->stop);
	pthread_join(sv->thread, NULL);
	ns_audit_close(audit);
	uv_run(&sv->loop, UV_RUN_DEFAULT);
	CHECK_INT(uv_loop_close(&sv->loop), 0);
	ns_http_free(sv->http);
}

static int connect_to(const server *sv)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)sv->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* GET @p path with the token; the status, and the response (headers and body) in @p buf. */
static int get(const server *sv, const char *path, char *buf, size_t cap)
{
	char req[512];
	size_t n = 0;
	ssize_t r;
	int fd = connect_to(sv), status = -1;

	if (fd < 0)
		return -1;
	int len = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " TOKEN
			   "\r\nConnection: close\r\n\r\n", path);
	if (write(fd, req, (size_t)len) == len)
		while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
			n += (size_t)r;
	buf[n] = '\0';
	close(fd);
	sscanf(buf, "HTTP/1.1 %d", &status);
	return status;
}

static int count_row(void *arg, const ns_audit_entry *e)
{
	(void)e;
	(*(int *)arg)++;
	return 0;
}

static int audited(ns_audit *a, const char *offender)
{
	ns_audit_query q = { .offender = offender };
	int n = 0;
	CHECK_INT(ns_audit_query_run(a, &q, count_row, &n, NULL), 0);
	return n;
}

static int setup(void)
{
	char dir[300];
	const char *line = "{\"type\":\"person.created\",\"offender\":\"A1234BC\",\"occurred_at\":\"2024-01-01T09:00:00Z\","
			   "\"surname\":\"SMITH\",\"forenames\":\"JOHN\",\"dob\":\"1990-05-17\",\"gender\":\"M\"}";
	ns_input in;
	size_t bad;

	if (mkdtemp(root) == NULL)
		return -1;
	snprintf(dir, sizeof(dir), "%s/mdi", root);
	if (ns_store_create(dir, "MDI", NS_ROLE_PRISON, NULL) != 0 || ns_store_open(dir, NS_STORE_NOSYNC, &store, NULL) != 0 ||
	    ns_input_parse(line, strlen(line), &in, NULL) != 0)
		return -1;
	int rc = ns_store_append(store, &in, 1, NULL, &bad, NULL);
	ns_input_clear(&in);
	return rc;
}

static void test_read_is_audited_first(void)
{
	char dir[300], *buf = malloc(1 << 16);
	server sv;
	ns_audit *a;

	snprintf(dir, sizeof(dir), "%s/audit", root);
	CHECK_INT(ns_audit_open(&a, dir, NULL, NULL), 0);
	CHECK_INT(start(&sv, a), 0);
	for (int i = 1; i <= 3; i++) {
		CHECK_INT(get(&sv, "/v1/offenders/A1234BC", buf, 1 << 16), 200);
		CHECK(strstr(buf, "SMITH") != NULL);
		CHECK_INT(audited(a, "A1234BC"), i); /* committed before the response was sent */
	}
	CHECK_INT(get(&sv, "/v1/offenders/Z9999ZZ", buf, 1 << 16), 404);
	CHECK_INT(audited(a, "Z9999ZZ"), 0);
	/* GET /v1/audit (the service token has every role). */
	CHECK_INT(get(&sv, "/v1/audit?offender=A1234BC&limit=2", buf, 1 << 16), 200);
	CHECK(strstr(buf, "{\"entries\":[{\"at\":\"") != NULL);
	CHECK(strstr(buf, "\"outcome\":\"allowed\"") != NULL);
	CHECK(strstr(buf, "\"user\":\"service\"}]}") != NULL);
	CHECK_INT(get(&sv, "/v1/audit?user=service&to=2024-01-01", buf, 1 << 16), 200);
	CHECK(strstr(buf, "{\"entries\":[]}") != NULL);
	CHECK_INT(get(&sv, "/v1/audit?offender=A1234BC&limit=100001", buf, 1 << 16), 400);
	CHECK_INT(get(&sv, "/v1/audit?offender=A1234BC&to=2024-02-30", buf, 1 << 16), 400);
	CHECK_INT(get(&sv, "/v1/audit?offender=A1234BCDEFGHIJKLMNOP", buf, 1 << 16), 400);
	CHECK_INT(get(&sv, "/v1/audit?user=", buf, 1 << 16), 400);
	/* Clients that hang up while their response waits for the audit: the server carries on. */
	for (int i = 0; i < 50; i++) {
		int fd = connect_to(&sv);
		const char *req = "GET /v1/offenders/A1234BC HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " TOKEN "\r\n\r\n";
		CHECK(fd >= 0 && write(fd, req, strlen(req)) == (ssize_t)strlen(req));
		if (i % 2) {
			struct linger l = { 1, 0 }; /* a reset, at once */
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		}
		close(fd);
	}
	CHECK_INT(get(&sv, "/v1/offenders/A1234BC", buf, 1 << 16), 200);
	CHECK_INT(get(&sv, "/metrics", buf, 1 << 16), 200);
	CHECK(strstr(buf, "\nnomsync_http_reads_total{outcome=\"allowed\"} ") != NULL);
	CHECK(strstr(buf, "\nnomsync_audit_failed_total 0\n") != NULL);
	/* Each of the 50 read before it was dropped (or not yet) is audited, never the other way round. */
	int n = audited(a, "A1234BC");
	CHECK(n >= 4 && n <= 54);
	stop(&sv, a);
	free(buf);
}

static void done_status(void *arg, int status)
{
	*(int *)arg = status;
}

static void test_audit_failure_sends_nothing(void)
{
	char dir[300], *buf = malloc(1 << 16);
	uv_loop_t loop;
	server sv;
	ns_audit *a;
	ns_audit_entry e = { .user = "filler", .offender = "A0000AA", .endpoint = "GET /v1/offenders/{id}" };
	int status = 0;

	/* An audit whose map cannot grow, filled until a commit fails. */
	snprintf(dir, sizeof(dir), "%s/audit-full", root);
	ns_audit_opts o = { .map_size = 64 << 10, .map_max = 64 << 10 };
	CHECK_INT(ns_audit_open(&a, dir, &o, NULL), 0);
	uv_loop_init(&loop);
	for (int i = 0; i < 100000 && status == 0; i++) {
		CHECK_INT(ns_audit_submit(a, &loop, &e, 1, done_status, &status), 0);
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	CHECK_INT(status, NS_EMAPFULL);
	CHECK_INT(start(&sv, a), 0);
	CHECK_INT(get(&sv, "/v1/offenders/A1234BC", buf, 1 << 16), 503);
	CHECK(strstr(buf, "\"error\":\"audit_unavailable\"") != NULL);
	CHECK(strstr(buf, "SMITH") == NULL); /* the view built is discarded */
	CHECK_INT(get(&sv, "/v1/status", buf, 1 << 16), 200); /* no personal data: not held */
	CHECK_INT(get(&sv, "/metrics", buf, 1 << 16), 200);
	CHECK(strstr(buf, "\nnomsync_audit_unavailable_total 1\n") != NULL);
	CHECK(strstr(buf, "\nnomsync_audit_failed_total ") != NULL && strstr(buf, "\nnomsync_audit_failed_total 0\n") == NULL);
	stop(&sv, a);
	uv_run(&loop, UV_RUN_DEFAULT); /* the test loop's audit handle closes */
	CHECK_INT(uv_loop_close(&loop), 0);
	free(buf);
}

static void test_audit_off(void)
{
	char *buf = malloc(1 << 16);
	server sv;

	CHECK_INT(start(&sv, NULL), 0);
	CHECK_INT(get(&sv, "/v1/offenders/A1234BC", buf, 1 << 16), 200);
	CHECK_INT(get(&sv, "/v1/audit?offender=A1234BC", buf, 1 << 16), 404);
	CHECK(strstr(buf, "audit = off") != NULL);
	CHECK_INT(get(&sv, "/metrics", buf, 1 << 16), 200);
	CHECK(strstr(buf, "\nnomsync_http_reads_total{outcome=\"allowed\"} 1\n") != NULL); /* counted all the same */
	CHECK(strstr(buf, "nomsync_audit_entries_total") == NULL);
	stop(&sv, NULL);
	free(buf);
}

int main(void)
{
	char cmd[128];
	if (setup() != 0) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	RUN(test_read_is_audited_first);
	RUN(test_audit_failure_sends_nothing);
	RUN(test_audit_off);
	ns_store_close(store);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", root);
	return TEST_SUMMARY();
}
