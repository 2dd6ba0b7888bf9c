/*
 * Unit tests for nomsyncd's configuration parser.
 */
#include "test.h"

#include <nomsync/config.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* The smallest valid [node] section, for tests that add one thing to it. */
#define NODE_MIN "[node]\ndir = /var/lib/nomsync\nlisten = tcp://127.0.0.1:7401\nroster = /etc/nomsync/roster\n"

static int parse(const char *text, const char *base, ns_config *c, ns_diag *d)
{
	memset(d, 0, sizeof(*d));
	return ns_config_parse(text, strlen(text), base, c, d);
}

/* Parse must fail with NS_ECONFIG; the message contains "line N:" (if N > 0) and @p what. */
static void expect_error(const char *text, size_t line, const char *what, int src_line)
{
	ns_config *c = malloc(sizeof(*c));
	ns_diag d;
	char want[32] = "";
	int rc = parse(text, "/etc/nomsync", c, &d);

	if (line > 0)
		snprintf(want, sizeof(want), "line %zu:", line);
	if (rc != NS_ECONFIG || strstr(d.msg, want) == NULL || strstr(d.msg, what) == NULL) {
		fprintf(stderr, "%s:%d: config error: rc %d, msg \"%s\"; want NS_ECONFIG, \"%s\", \"%s\"\n",
			__FILE__, src_line, rc, d.msg, want, what);
		ns_test_failed_checks++;
	}
	if (line == 0 && strstr(d.msg, "line ") != NULL) {
		fprintf(stderr, "%s:%d: unexpected line number in \"%s\"\n", __FILE__, src_line, d.msg);
		ns_test_failed_checks++;
	}
	CHECK_STR(d.field, "config");
	free(c);
}
#define EXPECT_ERROR(text, line, what) expect_error(text, line, what, __LINE__)

static void test_full(void)
{
	static const char text[] =
		"# nomsyncd configuration\n"
		"; an ini-style comment\n"
		"\n"
		"[node]\n"
		"dir = /var/lib/nomsync          # the store\n"
		"listen = tcp://127.0.0.1:7401\n"
		"roster = /etc/nomsync/roster\n"
		"log_level = debug\n"
		"anti_entropy = 2.5\n"
		"heartbeat = 0.25\n"
		"peer_timeout = 30\n"
		"batch = 512\n"
		"window = 16\n"
		"ingest_queue_mib = 64\n"
		"peer_backoff = 120\n"
		"resend_interval = 2.5\n"
		"claim_timeout = 30\n"
		"\n"
		"[http]\n"
		"listen = 127.0.0.1:8401\n"
		"token = s3cret-token\n"
		"max_connections = 1000\n"
		"reserved_connections = 100\n"
		"connections_per_client = 8\n"
		"response_timeout = 2.5\n"
		"session_lifetime = 3600\n"
		"audit = off\n"
		"audit_days = 365\n"
		"audit_sync = 0\n"
		"audit_syslog = on\n"
		"tls_cert = tls/api.crt\n"
		"tls_key = /etc/ssl/private/api.key\n"
		"tls_client_ca = clients.pem\n"
		"\n"
		"[peers]\n"
		"HUBNE = tcp://hub.example:7400\n"
		"MDI=ipc:///run/nomsync/mdi.sock\n"
		"  N07   =   tcp://10.0.0.7:7401   \n";
	ns_config *c = malloc(sizeof(*c));
	ns_diag d;

	CHECK_INT(parse(text, "/etc/nomsync", c, &d), 0);
	CHECK_STR(d.msg, "");
	CHECK_STR(c->dir, "/var/lib/nomsync");
	CHECK_STR(c->listen, "tcp://127.0.0.1:7401");
	CHECK_STR(c->roster, "/etc/nomsync/roster");
	CHECK_INT(c->log_level, NS_LOG_DEBUG);
	CHECK(c->anti_entropy == 2.5);
	CHECK(c->heartbeat == 0.25);
	CHECK(c->peer_timeout == 30);
	CHECK_INT(c->batch, 512);
	CHECK_INT(c->window, 16);
	CHECK_INT(c->ingest_queue, (size_t)64 << 20);
	CHECK(c->peer_backoff == 120);
	CHECK(c->resend_interval == 2.5);
	CHECK(c->claim_timeout == 30);
	CHECK_STR(c->http_listen, "127.0.0.1:8401");
	CHECK_STR(c->http_token, "s3cret-token");
	CHECK_INT(c->http_max_conns, 1000);
	CHECK_INT(c->http_reserved_conns, 100);
	CHECK_INT(c->http_conns_per_client, 8);
	CHECK(c->http_response_timeout == 2.5);
	CHECK(c->http_session_lifetime == 3600);
	CHECK_INT(c->http_audit, 0);
	CHECK_INT(c->http_audit_days, 365);
	CHECK(c->http_audit_sync == 0);
	CHECK_INT(c->http_audit_syslog, 1);
	/* TLS files: relative to the config directory, absolute as given. */
	CHECK_STR(c->http_tls_cert, "/etc/nomsync/tls/api.crt");
	CHECK_STR(c->http_tls_key, "/etc/ssl/private/api.key");
	CHECK_STR(c->http_tls_client_ca, "/etc/nomsync/clients.pem");
	CHECK_INT(c->npeers, 3);
	CHECK_STR(c->peers[0].site, "HUBNE");
	CHECK_STR(c->peers[0].endpoint, "tcp://hub.example:7400");
	CHECK_STR(c->peers[1].site, "MDI");
	CHECK_STR(c->peers[1].endpoint, "ipc:///run/nomsync/mdi.sock");
	CHECK_STR(c->peers[2].site, "N07");
	CHECK_STR(c->peers[2].endpoint, "tcp://10.0.0.7:7401");

	/* Each log level by name. */
	static const char *const levels[] = { "debug", "info", "warn", "error" };
	for (int i = 0; i < 4; i++) {
		char t[512];
		snprintf(t, sizeof(t), NODE_MIN "log_level = %s\n", levels[i]);
		CHECK_INT(parse(t, NULL, c, &d), 0);
		CHECK_INT(c->log_level, i);
	}
	/* Bounds are inclusive. */
	CHECK_INT(parse(NODE_MIN "anti_entropy = 0.01\nheartbeat = 86400\nbatch = 1\nwindow = 1024\n", NULL, c, &d), 0);
	CHECK(c->anti_entropy == 0.01);
	CHECK(c->heartbeat == 86400);
	CHECK_INT(c->batch, 1);
	CHECK_INT(c->window, 1024);
	CHECK_INT(parse(NODE_MIN "batch = 4096\nwindow = 8.0\n", NULL, c, &d), 0);
	CHECK_INT(c->batch, 4096);
	CHECK_INT(c->window, 8);
	CHECK_INT(parse(NODE_MIN "ingest_queue_mib = 1\npeer_backoff = 1\nresend_interval = 0\nclaim_timeout = 86400\n",
			NULL, c, &d),
		  0);
	CHECK_INT(c->ingest_queue, (size_t)1 << 20);
	CHECK(c->peer_backoff == 1 && c->resend_interval == 0 && c->claim_timeout == 86400);
	CHECK_INT(parse(NODE_MIN "ingest_queue_mib = 65536\n", NULL, c, &d), 0);
	CHECK_INT(c->ingest_queue, (size_t)65536 << 20);
	CHECK_INT(c->sigcheck_step, 8192);
	CHECK_INT(parse(NODE_MIN "sigcheck_step = 16\n", NULL, c, &d), 0);
	CHECK_INT(c->sigcheck_step, 16);
	/* Sections may repeat and come in any order. */
	CHECK_INT(parse("[peers]\nA = tcp://a:1\n[node]\ndir = /d\n[peers]\nB = tcp://b:2\n"
			"[ node ]\nlisten = ipc:///x\nroster = /r\n",
			NULL, c, &d),
		  0);
	CHECK_INT(c->npeers, 2);
	CHECK_STR(c->listen, "ipc:///x");
	free(c);
}

static void test_defaults(void)
{
	ns_config *c = malloc(sizeof(*c));
	ns_diag d;

	memset(c, 0x5a, sizeof(*c));
	CHECK_INT(parse(NODE_MIN, "/etc/nomsync", c, &d), 0);
	CHECK_INT(c->log_level, NS_LOG_INFO);
	CHECK(c->anti_entropy == 5);
	CHECK(c->heartbeat == 1);
	CHECK(c->peer_timeout == 10);
	CHECK_INT(c->batch, 256);
	CHECK_INT(c->window, 32); /* docs/PERFORMANCE.md: commits stay at most 2048 events */
	CHECK_INT(c->ingest_queue, (size_t)256 << 20);
	CHECK(c->peer_backoff == 60);
	CHECK(c->resend_interval == 10);
	CHECK(c->claim_timeout == 60);
	CHECK_STR(c->http_listen, "");
	CHECK_STR(c->http_token, "");
	/* [http] limits not set: 0, the HTTP module's defaults (ns_http_opts). */
	CHECK_INT(c->http_max_conns, 0);
	CHECK_INT(c->http_reserved_conns, 0);
	CHECK_INT(c->http_conns_per_client, 0);
	CHECK(c->http_response_timeout == 0);
	CHECK(c->http_session_lifetime == 0);
	/* The read audit: on, seven years, no syslog. */
	CHECK_INT(c->http_audit, 1);
	CHECK_INT(c->http_audit_days, 2555);
	CHECK(c->http_audit_sync == 1);
	CHECK_INT(c->http_audit_syslog, 0);
	CHECK_STR(c->http_tls_cert, ""); /* no TLS unless asked for */
	CHECK_STR(c->http_tls_key, "");
	CHECK_STR(c->http_tls_client_ca, "");
	CHECK_INT(c->npeers, 0);

	/* A token without a listen address is allowed; the API stays off. */
	CHECK_INT(parse(NODE_MIN "[http]\ntoken = t\n", NULL, c, &d), 0);
	CHECK_STR(c->http_listen, "");
	CHECK_STR(c->http_token, "t");
	/* An empty [http] listen is "off" too. */
	CHECK_INT(parse(NODE_MIN "[http]\nlisten =\n", NULL, c, &d), 0);
	CHECK_STR(c->http_listen, "");
	/* Empty sections. */
	CHECK_INT(parse(NODE_MIN "[http]\n[peers]\n", NULL, c, &d), 0);
	CHECK_INT(c->npeers, 0);
	/* No trailing newline, CRLF line endings. */
	CHECK_INT(parse("[node]\r\ndir = /d\r\nlisten = tcp://h:1\r\nroster = /r", NULL, c, &d), 0);
	CHECK_STR(c->dir, "/d");
	CHECK_STR(c->listen, "tcp://h:1");
	CHECK_STR(c->roster, "/r");
	free(c);
}

/* The deferred folds' threads and the fold cache (issue 13). */
static void test_fold_keys(void)
{
	ns_config *c = malloc(sizeof(*c));
	ns_diag d;

	CHECK_INT(parse(NODE_MIN, NULL, c, &d), 0);
	CHECK_INT(c->fold_threads, 0);
	CHECK_INT(c->fold_cache, 64 << 20);
	CHECK_INT(parse(NODE_MIN "fold_threads = 2\nfold_cache_mib = 0\n", NULL, c, &d), 0);
	CHECK_INT(c->fold_threads, 2);
	CHECK_INT(c->fold_cache, 0);
	CHECK_INT(parse(NODE_MIN "fold_threads = 64\nfold_cache_mib = 256\n", NULL, c, &d), 0);
	CHECK_INT(c->fold_threads, 64);
	CHECK_INT(c->fold_cache, 256 << 20);
	EXPECT_ERROR(NODE_MIN "fold_threads = 65\n", 5, "fold_threads must be a whole number (0 to 64");
	EXPECT_ERROR(NODE_MIN "fold_threads = 1.5\n", 5, "fold_threads must be");
	EXPECT_ERROR(NODE_MIN "fold_threads = -1\n", 5, "fold_threads must be");
	EXPECT_ERROR(NODE_MIN "fold_cache_mib = 65537\n", 5, "fold_cache_mib must be a whole number of MiB");
	EXPECT_ERROR(NODE_MIN "fold_cache_mib = 1M\n", 5, "fold_cache_mib must be");
	free(c);
}

/* The limits on events held for a gap (issue 10, item 4). */
static void test_held_limits(void)
{
	ns_config *c = malloc(sizeof(*c));
	ns_diag d;

	CHECK_INT(parse(NODE_MIN, NULL, c, &d), 0);
	CHECK_INT(c->held_window, 100000);
	CHECK_INT(c->held_origin_bytes, 8 << 20);
	CHECK_INT(c->held_peer_bytes, 32 << 20);
	CHECK(c->held_ttl == 7 * 86400);
	CHECK_INT(parse(NODE_MIN "held_window = 500\nheld_bytes = 1M\nheld_peer_bytes = 2G\nheld_ttl = 12h\n", NULL, c, &d),
		  0);
	CHECK_INT(c->held_window, 500);
	CHECK_INT(c->held_origin_bytes, 1 << 20);
	CHECK_INT(c->held_peer_bytes, 2LL << 30);
	CHECK(c->held_ttl == 12 * 3600);
	CHECK_INT(parse(NODE_MIN "held_bytes = 65536\nheld_ttl = 90\n", NULL, c, &d), 0);
	CHECK_INT(c->held_origin_bytes, 65536);
	CHECK(c->held_ttl == 90);
	EXPECT_ERROR(NODE_MIN "held_window = 0\n", 5, "held_window must be a whole number");
	EXPECT_ERROR(NODE_MIN "held_window = 1.5\n", 5, "held_window must be");
	EXPECT_ERROR(NODE_MIN "held_bytes = 1K\n", 5, "held_bytes must be a size in bytes");
	EXPECT_ERROR(NODE_MIN "held_peer_bytes = 65G\n", 5, "held_peer_bytes must be");
	EXPECT_ERROR(NODE_MIN "held_bytes = 1T\n", 5, "held_bytes must be");
	EXPECT_ERROR(NODE_MIN "held_bytes = M\n", 5, "held_bytes must be");
	EXPECT_ERROR(NODE_MIN "held_ttl = 30s\n", 5, "held_ttl must be a whole number of seconds");
	EXPECT_ERROR(NODE_MIN "held_ttl = 400d\n", 5, "held_ttl must be");
	EXPECT_ERROR(NODE_MIN "held_ttl = 7w\n", 5, "held_ttl must be");
	free(c);
}

static void test_paths(void)
{
	ns_config *c = malloc(sizeof(*c));
	ns_diag d;
	const char *rel = "[node]\ndir = data\nlisten = tcp://127.0.0.1:7401\nroster = conf/roster\n";

	CHECK_INT(parse(rel, "/etc/nomsync", c, &d), 0);
	CHECK_STR(c->dir, "/etc/nomsync/data");
	CHECK_STR(c->roster, "/etc/nomsync/conf/roster");
	/* Absolute paths are kept. */
	CHECK_INT(parse(NODE_MIN, "/elsewhere", c, &d), 0);
	CHECK_STR(c->dir, "/var/lib/nomsync");
	CHECK_STR(c->roster, "/etc/nomsync/roster");
	/* Mixed. */
	CHECK_INT(parse("[node]\ndir = /abs/data\nlisten = ipc:///s\nroster = roster\n", "base", c, &d), 0);
	CHECK_STR(c->dir, "/abs/data");
	CHECK_STR(c->roster, "base/roster");
	/* No base (NULL or ""): relative paths stay as written. */
	CHECK_INT(parse(rel, NULL, c, &d), 0);
	CHECK_STR(c->dir, "data");
	CHECK_STR(c->roster, "conf/roster");
	CHECK_INT(parse(rel, "", c, &d), 0);
	CHECK_STR(c->dir, "data");

	/* Too long for PATH_MAX once joined. */
	{
		size_t n = PATH_MAX + 16;
		char *t = malloc(n + 128), *base = malloc(PATH_MAX);
		memset(base, 'b', PATH_MAX - 10);
		base[0] = '/';
		base[PATH_MAX - 10] = '\0';
		snprintf(t, n + 128, "[node]\nlisten = tcp://h:1\nroster = /r\ndir = 0123456789abcdef\n");
		CHECK_INT(parse(t, base, c, &d), NS_ECONFIG);
		CHECK(strstr(d.msg, "line 4:") != NULL && strstr(d.msg, "dir is too long") != NULL);
		snprintf(t, n + 128, "[node]\nlisten = tcp://h:1\ndir = /d\nroster = 0123456789abcdef\n");
		CHECK_INT(parse(t, base, c, &d), NS_ECONFIG);
		CHECK(strstr(d.msg, "line 4:") != NULL && strstr(d.msg, "roster path is too long") != NULL);
		free(t);
		free(base);
	}
	free(c);
}

static void test_comments(void)
{
	ns_config *c = malloc(sizeof(*c));
	ns_diag d;
	static const char text[] = "# top\n"
				   "   # indented hash\n"
				   "; semicolon\n"
				   "\t;  indented semicolon\n"
				   "[node] # after a header\n"
				   "dir = /d#no space before the hash\n"
				   "listen = tcp://h:1\n"
				   "log_level = info ; not a comment: ';' only leads a line\n"
				   "roster = /r\n";

	/* '; ...' after a value is part of the value, which makes log_level bad. */
	CHECK_INT(parse(text, NULL, c, &d), NS_ECONFIG);
	CHECK(strstr(d.msg, "line 8:") != NULL && strstr(d.msg, "log_level") != NULL);

	static const char ok[] = "# top\n"
				 "   # indented hash\n"
				 "; semicolon\n"
				 "\t;  indented semicolon\n"
				 "[node] # after a header\n"
				 "dir = /d#no space before the hash\n"
				 "listen = tcp://h:1 # trailing\n"
				 "roster = /r;x\n"
				 ";dir = /ignored\n"
				 "#dir = /ignored\n";
	CHECK_INT(parse(ok, NULL, c, &d), 0);
	CHECK_STR(c->dir, "/d");
	CHECK_STR(c->listen, "tcp://h:1");
	CHECK_STR(c->roster, "/r;x");
	free(c);
}

static void test_errors(void)
{
	/* Sections. */
	EXPECT_ERROR("# c\n[nodes]\n", 2, "unknown section [nodes]");
	EXPECT_ERROR("[Node]\n", 1, "unknown section [Node]");
	EXPECT_ERROR(NODE_MIN "[]\n", 5, "unknown section []");
	EXPECT_ERROR("\n[node\ndir = /d\n", 2, "malformed section header");
	EXPECT_ERROR("[node]x\n", 1, "malformed section header");
	EXPECT_ERROR("[node]]\n", 1, "malformed section header");
	EXPECT_ERROR(NODE_MIN "[http] [peers]\n", 5, "malformed section header");

	/* Key outside a section; line without '='. */
	EXPECT_ERROR("# c\n\ndir = /d\n[node]\n", 3, "'dir' is outside any section");
	EXPECT_ERROR("[node]\ndir /d\n", 2, "expected 'key = value'");
	EXPECT_ERROR("just words\n", 1, "expected 'key = value'");

	/* Unknown keys. */
	EXPECT_ERROR(NODE_MIN "colour = blue\n", 5, "unknown key 'colour' in [node]");
	EXPECT_ERROR(NODE_MIN "Dir = /x\n", 5, "unknown key 'Dir'");
	EXPECT_ERROR(NODE_MIN "[http]\nport = 8401\n", 6, "'port' in [http]");
	EXPECT_ERROR(NODE_MIN "[http]\ndir = /x\n", 6, "'dir' in [http]");
	/* The read audit's keys. */
	EXPECT_ERROR(NODE_MIN "[http]\naudit = yes\n", 6, "audit must be on or off");
	EXPECT_ERROR(NODE_MIN "[http]\naudit_syslog = 1\n", 6, "audit_syslog must be on or off");
	EXPECT_ERROR(NODE_MIN "[http]\naudit_days = 0\n", 6, "audit_days must be a whole number of days");
	EXPECT_ERROR(NODE_MIN "[http]\naudit_days = 7.5\n", 6, "audit_days must be");
	EXPECT_ERROR(NODE_MIN "[http]\naudit_days = 36501\n", 6, "audit_days must be");
	EXPECT_ERROR(NODE_MIN "[http]\naudit_days =\n", 6, "audit_days must be");
	EXPECT_ERROR(NODE_MIN "[http]\naudit_sync = -1\n", 6, "audit_sync must be a number of seconds");
	EXPECT_ERROR(NODE_MIN "[http]\naudit_sync = 61\n", 6, "audit_sync must be");
	EXPECT_ERROR(NODE_MIN "[http]\naudit_sync = soon\n", 6, "audit_sync must be");

	/* Bad endpoints: [node] listen. */
	EXPECT_ERROR("[node]\nlisten = 127.0.0.1:7401\n", 2, "listen must be tcp://HOST:PORT or ipc://PATH");
	EXPECT_ERROR("[node]\nlisten = tcp://127.0.0.1\n", 2, "listen must be");
	EXPECT_ERROR("[node]\nlisten = http://h:1\n", 2, "listen must be");
	EXPECT_ERROR("[node]\nlisten =\n", 2, "listen must be");
	/* ... and a peer. */
	EXPECT_ERROR(NODE_MIN "[peers]\nHUBNE = hub:7400\n", 6, "peer HUBNE: endpoint must be");
	EXPECT_ERROR(NODE_MIN "[peers]\nA = tcp://a:1\nHUBNE = tcp://hub\n", 7, "peer HUBNE: endpoint must be");
	EXPECT_ERROR(NODE_MIN "[peers]\nHUBNE =\n", 6, "peer HUBNE: endpoint must be");
	EXPECT_ERROR(NODE_MIN "[peers]\n= tcp://a:1\n", 6, "bad peer site code");
	EXPECT_ERROR(NODE_MIN "[peers]\nABCDEFGHIJKLMNOP = tcp://a:1\n", 6, "bad peer site code");

	/* Duplicate peer. */
	EXPECT_ERROR(NODE_MIN "[peers]\nHUBNE = tcp://a:1\nMDI = tcp://b:2\nHUBNE = tcp://c:3\n", 8,
		     "peer HUBNE listed twice");

	/* log_level. */
	EXPECT_ERROR(NODE_MIN "log_level = verbose\n", 5, "log_level must be debug, info, warn or error");
	EXPECT_ERROR(NODE_MIN "log_level = INFO\n", 5, "log_level must be");
	EXPECT_ERROR(NODE_MIN "log_level =\n", 5, "log_level must be");

	/* Seconds: non-numeric and out of range, for each key. */
	static const char *const secs[] = { "anti_entropy", "heartbeat", "peer_timeout" };
	static const char *const bad_secs[] = { "abc", "5s", "", "0", "0.009", "-1", "86400.5", "1e9", "inf", "nan", "-nan" };
	for (size_t i = 0; i < 3; i++)
		for (size_t j = 0; j < sizeof(bad_secs) / sizeof(bad_secs[0]); j++) {
			char t[512], what[96];
			snprintf(t, sizeof(t), NODE_MIN "%s = %s\n", secs[i], bad_secs[j]);
			snprintf(what, sizeof(what), "%s must be a number of seconds (0.01 to 86400)", secs[i]);
			EXPECT_ERROR(t, 5, what);
		}

	/* batch and window: whole numbers within range. */
	static const char *const bad_whole[] = { "abc", "", "0", "-1", "1.5", "2.0001", "nan", "inf", "4e3x" };
	for (size_t j = 0; j < sizeof(bad_whole) / sizeof(bad_whole[0]); j++) {
		char t[512];
		snprintf(t, sizeof(t), NODE_MIN "batch = %s\n", bad_whole[j]);
		EXPECT_ERROR(t, 5, "batch must be a whole number (1 to 4096)");
		snprintf(t, sizeof(t), NODE_MIN "window = %s\n", bad_whole[j]);
		EXPECT_ERROR(t, 5, "window must be a whole number (1 to 1024)");
	}
	EXPECT_ERROR(NODE_MIN "batch = 4097\n", 5, "batch must be a whole number");
	EXPECT_ERROR(NODE_MIN "window = 1025\n", 5, "window must be a whole number");

	/* The receive limits of issue 10. */
	static const char *const bad_mib[] = { "abc", "", "0", "-1", "1.5", "65537", "nan", "64M" };
	for (size_t j = 0; j < sizeof(bad_mib) / sizeof(bad_mib[0]); j++) {
		char t[512];
		snprintf(t, sizeof(t), NODE_MIN "ingest_queue_mib = %s\n", bad_mib[j]);
		EXPECT_ERROR(t, 5, "ingest_queue_mib must be a whole number of MiB (1 to 65536)");
	}
	static const char *const bad_step[] = { "abc", "", "0", "-1", "1.5", "1000001", "nan", "8K" };
	for (size_t j = 0; j < sizeof(bad_step) / sizeof(bad_step[0]); j++) {
		char t[512];
		snprintf(t, sizeof(t), NODE_MIN "sigcheck_step = %s\n", bad_step[j]);
		EXPECT_ERROR(t, 5, "sigcheck_step must be a whole number of events (1 to 1000000)");
	}
	static const char *const bad_wait[] = { "abc", "", "-1", "0.5", "86401", "nan", "10s" };
	for (size_t j = 0; j < sizeof(bad_wait) / sizeof(bad_wait[0]); j++) {
		char t[512];
		snprintf(t, sizeof(t), NODE_MIN "peer_backoff = %s\n", bad_wait[j]);
		EXPECT_ERROR(t, 5, "peer_backoff must be a number of seconds (1 to 86400)");
		snprintf(t, sizeof(t), NODE_MIN "claim_timeout = %s\n", bad_wait[j]);
		EXPECT_ERROR(t, 5, "claim_timeout must be a number of seconds (1 to 86400)");
	}
	EXPECT_ERROR(NODE_MIN "resend_interval = -0.5\n", 5, "resend_interval must be a number of seconds (0 to 86400)");
	EXPECT_ERROR(NODE_MIN "resend_interval = 86401\n", 5, "resend_interval must be");

	/* Missing required keys: no line to name, but the key is named. */
	EXPECT_ERROR("[node]\nlisten = tcp://h:1\nroster = /r\n", 0, "[node] dir is required");
	EXPECT_ERROR("[node]\ndir = /d\nroster = /r\n", 0, "[node] listen is required");
	EXPECT_ERROR("[node]\ndir = /d\nlisten = tcp://h:1\n", 0, "[node] roster is required");
	EXPECT_ERROR("", 0, "[node] dir is required");
	EXPECT_ERROR("# only a comment\n", 0, "[node] dir is required");
	EXPECT_ERROR(NODE_MIN "[http]\nlisten = 127.0.0.1:8401\n", 0,
		     "[http] listen needs [auth] jwks (signed-in users) or [http] token");
	EXPECT_ERROR(NODE_MIN "[http]\nlisten = 127.0.0.1:8401\ntoken =\n", 0,
		     "[http] listen needs");

	/* [http] TLS: the certificate and key together; a client CA only with them; no empty paths. */
	EXPECT_ERROR(NODE_MIN "[http]\ntls_cert = a.crt\n", 0, "[http] tls_cert and tls_key go together");
	EXPECT_ERROR(NODE_MIN "[http]\ntls_key = a.key\n", 0, "[http] tls_cert and tls_key go together");
	EXPECT_ERROR(NODE_MIN "[http]\ntls_client_ca = ca.pem\n", 0, "[http] tls_client_ca needs tls_cert and tls_key");
	EXPECT_ERROR(NODE_MIN "[http]\ntls_cert =\ntls_key = a.key\n", 6, "tls_cert must be a file path (empty)");
	EXPECT_ERROR(NODE_MIN "[http]\ntls_certificate = a.crt\n", 6, "unknown or too long key 'tls_certificate' in [http]");

	/* [http] limits: whole numbers and seconds in range; the reserve smaller than the total. */
	EXPECT_ERROR(NODE_MIN "[http]\nmax_connections = 7\n", 6, "max_connections must be a whole number (8 to 65536)");
	EXPECT_ERROR(NODE_MIN "[http]\nmax_connections = 65537\n", 6, "max_connections must be");
	EXPECT_ERROR(NODE_MIN "[http]\nmax_connections = 100.5\n", 6, "max_connections must be");
	EXPECT_ERROR(NODE_MIN "[http]\nreserved_connections = 0\n", 6,
		     "reserved_connections must be a whole number (1 to 65536)");
	EXPECT_ERROR(NODE_MIN "[http]\nconnections_per_client = x\n", 6,
		     "connections_per_client must be a whole number (1 to 65536)");
	EXPECT_ERROR(NODE_MIN "[http]\nresponse_timeout = 0\n", 6,
		     "response_timeout must be a number of seconds (0.1 to 3600)");
	EXPECT_ERROR(NODE_MIN "[http]\nresponse_timeout = 3601\n", 6, "response_timeout must be");
	EXPECT_ERROR(NODE_MIN "[http]\nsession_lifetime = 59\n", 6,
		     "session_lifetime must be a number of seconds (60 to 604800)");
	EXPECT_ERROR(NODE_MIN "[http]\nmax_connections = 64\nreserved_connections = 64\n", 0,
		     "[http] reserved_connections must be less than max_connections");

	/* Values too long for their fields. */
	{
		char t[1024], v[300];
		memset(v, 'x', sizeof(v) - 1);
		v[sizeof(v) - 1] = '\0';
		snprintf(t, sizeof(t), NODE_MIN "[http]\ntoken = %.200s\n", v);
		EXPECT_ERROR(t, 6, "'token' in [http]");
		snprintf(t, sizeof(t), "[node]\nlisten = tcp://h:%s\n", v);
		EXPECT_ERROR(t, 2, "listen must be");
		snprintf(t, sizeof(t), NODE_MIN "[peers]\nA = tcp://h:%s\n", v);
		EXPECT_ERROR(t, 6, "peer A: endpoint must be");
	}

	/* More than NS_MAX_PEERS peers. */
	{
		size_t cap = 64 + (NS_MAX_PEERS + 1) * 32;
		char *t = malloc(cap + sizeof(NODE_MIN));
		size_t n = (size_t)snprintf(t, cap, NODE_MIN "[peers]\n");
		for (int i = 0; i <= NS_MAX_PEERS; i++)
			n += (size_t)snprintf(t + n, cap - n, "P%d = tcp://h:%d\n", i, 7000 + i);
		char what[64];
		snprintf(what, sizeof(what), "more than %d peers", NS_MAX_PEERS);
		EXPECT_ERROR(t, 5 + 1 + NS_MAX_PEERS, what);
		/* Exactly NS_MAX_PEERS is fine. */
		*strrchr(t, 'P') = '\0';
		ns_config *c = malloc(sizeof(*c));
		ns_diag d;
		CHECK_INT(parse(t, NULL, c, &d), 0);
		CHECK_INT(c->npeers, NS_MAX_PEERS);
		free(c);
		free(t);
	}

	/* The first error wins, and a NULL diag is allowed. */
	EXPECT_ERROR("[bogus]\n[node\n", 1, "unknown section");
	{
		ns_config *c = malloc(sizeof(*c));
		CHECK_INT(ns_config_parse("[x]\n", 4, NULL, c, NULL), NS_ECONFIG);
		free(c);
	}
}

static void test_load(void)
{
	char dir[] = "/tmp/ns_test_config_XXXXXX", path[PATH_MAX], want[PATH_MAX + 32];
	ns_config *c = malloc(sizeof(*c));
	ns_diag d;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/nomsyncd.conf", dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL) {
		free(c);
		return;
	}
	fputs("[node]\ndir = store\nlisten = tcp://127.0.0.1:7401\nroster = /etc/nomsync/roster\n"
	      "[peers]\nHUBNE = tcp://127.0.0.1:7400\n",
	      f);
	fclose(f);

	memset(&d, 0, sizeof(d));
	CHECK_INT(ns_config_load(path, c, &d), 0);
	snprintf(want, sizeof(want), "%s/store", dir);
	CHECK_STR(c->dir, want);
	CHECK_STR(c->roster, "/etc/nomsync/roster");
	CHECK_INT(c->npeers, 1);

	/* Errors from a file name the line. */
	f = fopen(path, "w");
	fputs("[node]\ndir = store\nlisten = tcp://127.0.0.1:7401\nroster = r\nbatch = lots\n", f);
	fclose(f);
	memset(&d, 0, sizeof(d));
	CHECK_INT(ns_config_load(path, c, &d), NS_ECONFIG);
	CHECK(strstr(d.msg, "line 5:") != NULL);

	/* A path without a slash is relative to the working directory. */
	{
		char cwd[PATH_MAX];
		CHECK(getcwd(cwd, sizeof(cwd)) != NULL);
		f = fopen(path, "w");
		fputs("[node]\ndir = store\nlisten = tcp://127.0.0.1:7401\nroster = r\n", f);
		fclose(f);
		CHECK_INT(chdir(dir), 0);
		CHECK_INT(ns_config_load("nomsyncd.conf", c, &d), 0);
		CHECK_STR(c->dir, "./store");
		CHECK_STR(c->roster, "./r");
		CHECK_INT(chdir(cwd), 0);
	}
	unlink(path);

	/* Missing file. */
	memset(&d, 0, sizeof(d));
	CHECK_INT(ns_config_load(path, c, &d), NS_ECONFIG);
	CHECK(strstr(d.msg, path) != NULL);
	CHECK_STR(d.field, "config");
	CHECK_INT(ns_config_load("/nonexistent/nomsyncd.conf", c, NULL), NS_ECONFIG);
	/* A directory is not a config file. */
	CHECK_INT(ns_config_load(dir, c, &d), NS_ECONFIG);
	rmdir(dir);
	free(c);
}

static void test_auth(void)
{
	ns_config *c = malloc(sizeof(*c));
	ns_diag d;

	/* Off by default. */
	CHECK_INT(parse(NODE_MIN, "/etc/nomsync", c, &d), 0);
	CHECK_STR(c->auth_jwks, "");
	CHECK_STR(c->auth_issuer, "");
	CHECK_STR(c->auth_audience, "");
	CHECK_INT(c->auth_leeway, 60);
	/* Every key; jwks relative to the config file's directory. */
	CHECK_INT(parse(NODE_MIN
			"[auth]\njwks = keys/jwks.json\nissuer = https://sign-in.example/issuer\n"
			"audience = nomsync\nleeway = 0\n[http]\nlisten = 127.0.0.1:8401\n",
			"/etc/nomsync", c, &d),
		  0);
	CHECK_STR(c->auth_jwks, "/etc/nomsync/keys/jwks.json");
	CHECK_STR(c->auth_issuer, "https://sign-in.example/issuer");
	CHECK_STR(c->auth_audience, "nomsync");
	CHECK_INT(c->auth_leeway, 0);
	/* [auth] jwks alone is enough for the API: [http] token is optional. */
	CHECK_STR(c->http_token, "");
	CHECK_INT(parse(NODE_MIN "[auth]\njwks = /k.json\nleeway = 3600\n", NULL, c, &d), 0);
	CHECK_STR(c->auth_jwks, "/k.json");
	CHECK_INT(c->auth_leeway, 3600);

	EXPECT_ERROR(NODE_MIN "[auth]\nkeys = /k.json\n", 6, "unknown key 'keys' in [auth]");
	EXPECT_ERROR(NODE_MIN "[auth]\njwks =\n", 6, "jwks must be a path");
	EXPECT_ERROR(NODE_MIN "[auth]\njwks = /k\nissuer =\n", 7,
		     "issuer must be 1 to 255 characters");
	EXPECT_ERROR(NODE_MIN "[auth]\njwks = /k\nleeway = -1\n", 7,
		     "leeway must be a whole number");
	EXPECT_ERROR(NODE_MIN "[auth]\njwks = /k\nleeway = 3601\n", 7, "leeway must be");
	EXPECT_ERROR(NODE_MIN "[auth]\njwks = /k\nleeway = 1.5\n", 7, "leeway must be");
	EXPECT_ERROR(NODE_MIN "[auth]\naudience = nomsync\n", 0,
		     "[auth] issuer and audience need [auth] jwks");
	EXPECT_ERROR(NODE_MIN "[Auth]\n", 5, "unknown section [Auth]");
	{
		char t[1024], v[300];

		memset(v, 'x', sizeof(v) - 1);
		v[sizeof(v) - 1] = '\0';
		snprintf(t, sizeof(t), NODE_MIN "[auth]\njwks = /k\naudience = %s\n", v);
		EXPECT_ERROR(t, 7, "audience must be 1 to 255 characters");
	}
	free(c);
}

/* [nats]: optional; defaults, every key, and each refusal. */
static void test_nats(void)
{
	ns_config *c = malloc(sizeof(*c));
	ns_diag d;

	CHECK_INT(parse(NODE_MIN, NULL, c, &d), 0);
	CHECK_INT(c->nats.enabled, 0);
	CHECK_INT(parse(NODE_MIN "[nats]\nurl = nats://127.0.0.1:4222\n", NULL, c, &d), 0);
	CHECK_INT(c->nats.enabled, 1);
	CHECK_STR(c->nats.stream, "NOMSYNC");
	CHECK_STR(c->nats.prefix, "nomsync");
	CHECK_INT(c->nats.window, 16384);
	CHECK(c->nats.duplicate_window == 7200 && c->nats.ack_timeout == 10);
	CHECK_STR(c->nats.consume, "");
	CHECK_INT(parse(NODE_MIN "[nats]\nurl = nats://a:4222, nats://b:4222\nstream = EST_1\nsubject_prefix = hmpps.nomsync\n"
			"user = u\npassword = p w\ntls_ca = ca.pem\ntls_cert = /c.pem\ntls_key = k.pem\nwindow = 64\n"
			"duplicate_window = 1d\nack_timeout = 2.5\nconsume = hmpps.domain.>\nconsumer = nomsync-MDI\n",
			"/etc/ns", c, &d),
		  0);
	CHECK_STR(c->nats.url, "nats://a:4222, nats://b:4222");
	CHECK_STR(c->nats.stream, "EST_1");
	CHECK_STR(c->nats.prefix, "hmpps.nomsync");
	CHECK_STR(c->nats.password, "p w");
	CHECK_STR(c->nats.tls_ca, "/etc/ns/ca.pem");
	CHECK_STR(c->nats.tls_cert, "/c.pem");
	CHECK_STR(c->nats.tls_key, "/etc/ns/k.pem");
	CHECK_INT(c->nats.window, 64);
	CHECK(c->nats.duplicate_window == 86400 && c->nats.ack_timeout == 2.5);
	CHECK_STR(c->nats.consume, "hmpps.domain.>");
	CHECK_STR(c->nats.consumer, "nomsync-MDI");
	CHECK_INT(parse(NODE_MIN "[nats]\nurl = nats://a:4222\nnkey = UABC\nnkey_seed = s.nk\n", "/etc", c, &d), 0);
	CHECK_STR(c->nats.nkey_seed, "/etc/s.nk");
	CHECK_INT(parse(NODE_MIN "[nats]\nurl = nats://a:4222\ncreds = /x.creds\n", NULL, c, &d), 0);
	CHECK_INT(parse(NODE_MIN "[nats]\nurl = nats://a:4222\ntoken = t\n", NULL, c, &d), 0);
	CHECK_STR(c->nats.token, "t");
	EXPECT_ERROR(NODE_MIN "[nats]\nstream = S\n", 0, "[nats] url is required");
	EXPECT_ERROR(NODE_MIN "[nats]\nurl = nats://a:4222\nfoo = 1\n", 7, "unknown key 'foo' in [nats]");
	EXPECT_ERROR(NODE_MIN "[nats]\nurl =\n", 6, "[nats] url is empty");
	EXPECT_ERROR(NODE_MIN "[nats]\nurl = nats://a:4222\nstream = A.B\n", 7, "[nats] stream must be");
	EXPECT_ERROR(NODE_MIN "[nats]\nurl = nats://a:4222\nsubject_prefix = a.*\n", 7, "subject_prefix must be");
	EXPECT_ERROR(NODE_MIN "[nats]\nurl = nats://a:4222\nsubject_prefix = a..b\n", 7, "subject_prefix must be");
	EXPECT_ERROR(NODE_MIN "[nats]\nurl = nats://a:4222\nconsume = a.>.b\n", 7, "consume must be a NATS subject");
	EXPECT_ERROR(NODE_MIN "[nats]\nurl = nats://a:4222\nwindow = 8\n", 7, "window must be a whole number");
	EXPECT_ERROR(NODE_MIN "[nats]\nurl = nats://a:4222\nduplicate_window = 30s\n", 7, "duplicate_window must be");
	EXPECT_ERROR(NODE_MIN "[nats]\nurl = nats://a:4222\nack_timeout = 0\n", 7, "ack_timeout must be");
	EXPECT_ERROR(NODE_MIN "[nats]\nurl = nats://a:4222\nuser = u\n", 0, "user and password go together");
	EXPECT_ERROR(NODE_MIN "[nats]\nurl = nats://a:4222\ntoken = t\ncreds = c\n", 0, "one kind of credentials");
	EXPECT_ERROR(NODE_MIN "[nats]\nurl = nats://a:4222\nnkey = U\n", 0, "nkey and nkey_seed go together");
	EXPECT_ERROR(NODE_MIN "[nats]\nurl = nats://a:4222\ntls_cert = c\n", 0, "tls_cert and tls_key go together");
	EXPECT_ERROR(NODE_MIN "[nats]\nurl = nats://a:4222\nconsume = x\n", 0, "consumer (a durable name) is required");
	EXPECT_ERROR(NODE_MIN "[nats]\nurl = nats://a:4222\nconsumer = x\n", 0, "consumer is set but consume is not");
	free(c);
}

int main(void)
{
	RUN(test_full);
	RUN(test_defaults);
	RUN(test_held_limits);
	RUN(test_fold_keys);
	RUN(test_paths);
	RUN(test_comments);
	RUN(test_errors);
	RUN(test_auth);
	RUN(test_nats);
	RUN(test_load);
	return TEST_SUMMARY();
}
