/*
 * INI parser for nomsyncd's configuration.
 */
#include <nomsync/config.h>

#include "core/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *ns__trim(char *s)
{
	char *e;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int ns__set_path(char *out, size_t cap, const char *base, const char *v)
{
	int n = (v[0] == '/' || base == NULL || base[0] == '\0') ? snprintf(out, cap, "%s", v)
								  : snprintf(out, cap, "%s/%s", base, v);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int ns__endpoint_ok(const char *v)
{
	return (strncmp(v, "tcp://", 6) == 0 && strchr(v + 6, ':') != NULL) || strncmp(v, "ipc://", 6) == 0;
}

static int ns__number(const char *v, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double x = strtod(v, &end);
	if (errno || end == v || *end != '\0' || !(x >= lo && x <= hi)) /* NaN fails too */
		return -1;
	*out = x;
	return 0;
}

/*
 * A whole number with an optional unit letter (@p units, e.g. "KMG" or
 * "smhd", scaled by @p scale), between @p lo and @p hi after scaling.
 */
static int ns__scaled(const char *v, const char *units, const double *scale, double lo, double hi, double *out)
{
	char num[64];
	size_t n = strlen(v);
	double f = 1, x;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, v, n + 1);
	const char *u = strchr(units, num[n - 1]);
	if (u != NULL && num[n - 1] != '\0') {
		f = scale[u - units];
		num[n - 1] = '\0';
	}
	if (ns__number(num, 0, hi, &x) != 0 || x != (double)(uint64_t)x || x * f < lo || x * f > hi)
		return -1;
	*out = x * f;
	return 0;
}

/* One key of [auth]: who the API trusts to name its users (nomsync/auth.h). */
static int ns__auth_key(ns_config *c, const char *base, const char *k, const char *v, size_t lineno,
			ns_diag *d)
{
	double x;

	if (strcmp(k, "jwks") == 0) {
		if (v[0] == '\0' || ns__set_path(c->auth_jwks, sizeof(c->auth_jwks), base, v) != 0)
			return ns_diag_set(d, NS_ECONFIG, "config",
					   "line %zu: jwks must be a path (not empty, not too long)", lineno);
	} else if (strcmp(k, "issuer") == 0 || strcmp(k, "audience") == 0) {
		char *out = k[0] == 'i' ? c->auth_issuer : c->auth_audience;

		if (v[0] == '\0' || strlen(v) >= sizeof(c->auth_issuer))
			return ns_diag_set(d, NS_ECONFIG, "config",
					   "line %zu: %s must be 1 to %zu characters", lineno, k,
					   sizeof(c->auth_issuer) - 1);
		snprintf(out, sizeof(c->auth_issuer), "%s", v);
	} else if (strcmp(k, "leeway") == 0) {
		if (ns__number(v, 0, 3600, &x) != 0 || x != (unsigned)x)
			return ns_diag_set(
				d, NS_ECONFIG, "config",
				"line %zu: leeway must be a whole number of seconds (0 to 3600)",
				lineno);
		c->auth_leeway = (unsigned)x;
	} else {
		return ns_diag_set(d, NS_ECONFIG, "config", "line %zu: unknown key '%s' in [auth]",
				   lineno, k);
	}
	return 0;
}

/* A NATS name (stream, durable consumer): letters, digits, '-' and '_'. */
static int ns__nats_name_ok(const char *v)
{
	if (*v == '\0')
		return 0;
	for (; *v; v++)
		if (!isalnum((unsigned char)*v) && *v != '-' && *v != '_')
			return 0;
	return 1;
}

/* A NATS subject: dot-separated non-empty tokens of printable characters; '*' and '>' only if @p wild. */
static int ns__nats_subject_ok(const char *v, int wild)
{
	size_t tok = 0;
	if (*v == '\0')
		return 0;
	for (const char *p = v;; p++) {
		if (*p == '.' || *p == '\0') {
			if (tok == 0)
				return 0;
			if (*p == '\0')
				return 1;
			tok = 0;
			continue;
		}
		if (!isgraph((unsigned char)*p) || ((*p == '*' || *p == '>') && !wild))
			return 0;
		if (*p == '>' && p[1] != '\0')
			return 0;
		tok++;
	}
}

/* One key of [nats]. */
static int ns__nats_key(ns_nats_conf *n, const char *k, const char *v, const char *base, size_t lineno, ns_diag *d)
{
	static const char *const text_keys[] = { "url", "user", "password", "token", "nkey" };
	static const char *const path_keys[] = { "nkey_seed", "creds", "tls_ca", "tls_cert", "tls_key" };
	char *text[] = { n->url, n->user, n->password, n->token, n->nkey };
	size_t text_cap[] = { sizeof(n->url), sizeof(n->user), sizeof(n->password), sizeof(n->token), sizeof(n->nkey) };
	char *path[] = { n->nkey_seed, n->creds, n->tls_ca, n->tls_cert, n->tls_key };
	double x;

	for (size_t i = 0; i < sizeof(text_keys) / sizeof(text_keys[0]); i++)
		if (strcmp(k, text_keys[i]) == 0) {
			if (*v == '\0' || strlen(v) >= text_cap[i])
				return ns_diag_set(d, NS_ECONFIG, "config", "line %zu: [nats] %s is empty or too long",
						   lineno, k);
			snprintf(text[i], text_cap[i], "%s", v);
			return 0;
		}
	for (size_t i = 0; i < sizeof(path_keys) / sizeof(path_keys[0]); i++)
		if (strcmp(k, path_keys[i]) == 0) {
			if (*v == '\0' || ns__set_path(path[i], PATH_MAX, base, v) != 0)
				return ns_diag_set(d, NS_ECONFIG, "config", "line %zu: [nats] %s is empty or too long",
						   lineno, k);
			return 0;
		}
	if (strcmp(k, "stream") == 0 || strcmp(k, "consumer") == 0) {
		char *out = k[0] == 's' ? n->stream : n->consumer;
		if (!ns__nats_name_ok(v) || strlen(v) > 48)
			return ns_diag_set(d, NS_ECONFIG, "config",
					   "line %zu: [nats] %s must be 1 to 48 letters, digits, '-' or '_'", lineno, k);
		snprintf(out, 64, "%s", v);
	} else if (strcmp(k, "subject_prefix") == 0 || strcmp(k, "consume") == 0) {
		int consume = k[0] == 'c';
		size_t cap = consume ? sizeof(n->consume) : sizeof(n->prefix);
		if (!ns__nats_subject_ok(v, consume) || strlen(v) >= cap)
			return ns_diag_set(d, NS_ECONFIG, "config",
					   consume ? "line %zu: [nats] consume must be a NATS subject (dot-separated tokens, "
						     "'*' and '>' allowed)"
						   : "line %zu: [nats] subject_prefix must be dot-separated tokens without "
						     "spaces or wildcards",
					   lineno);
		snprintf(consume ? n->consume : n->prefix, cap, "%s", v);
	} else if (strcmp(k, "window") == 0) {
		if (ns__number(v, 16, 65536, &x) != 0 || x != (unsigned)x)
			return ns_diag_set(d, NS_ECONFIG, "config", "line %zu: [nats] window must be a whole number (16 to 65536)",
					   lineno);
		n->window = (unsigned)x;
	} else if (strcmp(k, "duplicate_window") == 0) {
		static const double smhd[] = { 1, 60, 3600, 86400 };
		if (ns__scaled(v, "smhd", smhd, 60, 7 * 86400.0, &x) != 0)
			return ns_diag_set(d, NS_ECONFIG, "config",
					   "line %zu: [nats] duplicate_window must be a whole number of seconds, optionally "
					   "with s, m, h or d (1 m to 7 d)",
					   lineno);
		n->duplicate_window = x;
	} else if (strcmp(k, "ack_timeout") == 0) {
		if (ns__number(v, 0.1, 600, &x) != 0)
			return ns_diag_set(d, NS_ECONFIG, "config",
					   "line %zu: [nats] ack_timeout must be a number of seconds (0.1 to 600)", lineno);
		n->ack_timeout = x;
	} else
		return ns_diag_set(d, NS_ECONFIG, "config", "line %zu: unknown key '%s' in [nats]", lineno, k);
	return 0;
}

/* The [nats] section as a whole, once parsed. */
static int ns__nats_check(ns_nats_conf *n, ns_diag *d)
{
	int kinds = (n->user[0] || n->password[0]) + (n->token[0] != 0) + (n->nkey[0] || n->nkey_seed[0]) +
		    (n->creds[0] != 0);
	if (!n->enabled)
		return 0;
	if (n->url[0] == '\0')
		return ns_diag_set(d, NS_ECONFIG, "config", "[nats] url is required in a [nats] section");
	if (kinds > 1)
		return ns_diag_set(d, NS_ECONFIG, "config",
				   "[nats] give one kind of credentials: user and password, token, nkey and nkey_seed, "
				   "or creds");
	if ((n->user[0] == 0) != (n->password[0] == 0))
		return ns_diag_set(d, NS_ECONFIG, "config", "[nats] user and password go together");
	if ((n->nkey[0] == 0) != (n->nkey_seed[0] == 0))
		return ns_diag_set(d, NS_ECONFIG, "config", "[nats] nkey and nkey_seed go together");
	if ((n->tls_cert[0] == 0) != (n->tls_key[0] == 0))
		return ns_diag_set(d, NS_ECONFIG, "config", "[nats] tls_cert and tls_key go together");
	if (n->consume[0] && n->consumer[0] == '\0')
		return ns_diag_set(d, NS_ECONFIG, "config", "[nats] consumer (a durable name) is required with consume");
	if (n->consumer[0] && n->consume[0] == '\0')
		return ns_diag_set(d, NS_ECONFIG, "config", "[nats] consumer is set but consume is not");
	return 0;
}

int ns_config_parse(const char *text, size_t len, const char *base, ns_config *c, ns_diag *d)
{
	char section[32] = "";
	size_t pos = 0, lineno = 0;
	double x;

	memset(c, 0, sizeof(*c));
	c->log_level = NS_LOG_INFO;
	c->anti_entropy = 5;
	c->heartbeat = 1;
	c->peer_timeout = 10;
	c->batch = 256;
	c->ingest_queue = (size_t)256 << 20;
	c->peer_backoff = 60;
	c->resend_interval = 10;
	c->claim_timeout = 60;
	c->window = 32; /* verification runs ahead of commits, which src/daemon/commit.c caps at 2048 events (PERFORMANCE.md) */
	c->held_window = 100000; /* the store's defaults (NS_HELD_* in nomsync/store.h) */
	c->held_origin_bytes = (uint64_t)8 << 20;
	c->held_peer_bytes = (uint64_t)32 << 20;
	c->held_ttl = 7 * 86400;
	c->http_audit = 1;
	c->http_audit_days = 2555;
	c->http_audit_sync = 1;
	c->auth_leeway = 60;
	c->fold_cache = (size_t)64 << 20;
	snprintf(c->nats.stream, sizeof(c->nats.stream), "NOMSYNC");
	snprintf(c->nats.prefix, sizeof(c->nats.prefix), "nomsync");
	c->nats.window = 16384;
	c->nats.duplicate_window = 7200;
	c->nats.ack_timeout = 10;
	c->sigcheck_step = 8192;
	while (pos < len) {
		char buf[1024], *line, *eq, *k, *v;
		size_t l = 0;

		lineno++;
		while (pos < len && text[pos] != '\n') {
			if (l < sizeof(buf) - 1)
				buf[l++] = text[pos];
			pos++;
		}
		pos++;
		buf[l] = '\0';
		if ((line = strchr(buf, '#')) != NULL)
			*line = '\0';
		if ((line = strchr(buf, ';')) != NULL && line == ns__trim(buf))
			*line = '\0';
		line = ns__trim(buf);
		if (*line == '\0')
			continue;
		if (*line == '[') {
			char *close = strchr(line, ']');
			if (close == NULL || close[1] != '\0')
				return ns_diag_set(d, NS_ECONFIG, "config", "line %zu: malformed section header", lineno);
			*close = '\0';
			snprintf(section, sizeof(section), "%s", ns__trim(line + 1));
			if (strcmp(section, "nats") == 0)
				c->nats.enabled = 1;
			if (strcmp(section, "node") != 0 && strcmp(section, "peers") != 0 &&
			    strcmp(section, "http") != 0 && strcmp(section, "auth") != 0 &&
			    strcmp(section, "nats") != 0)
				return ns_diag_set(d, NS_ECONFIG, "config", "line %zu: unknown section [%s]", lineno,
						   section);
			continue;
		}
		if ((eq = strchr(line, '=')) == NULL)
			return ns_diag_set(d, NS_ECONFIG, "config", "line %zu: expected 'key = value'", lineno);
		*eq = '\0';
		k = ns__trim(line);
		v = ns__trim(eq + 1);
		if (section[0] == '\0')
			return ns_diag_set(d, NS_ECONFIG, "config", "line %zu: '%s' is outside any section", lineno, k);
		if (strcmp(section, "peers") == 0) {
			if (c->npeers == NS_MAX_PEERS)
				return ns_diag_set(d, NS_ECONFIG, "config", "line %zu: more than %d peers", lineno,
						   NS_MAX_PEERS);
			if (strlen(k) == 0 || strlen(k) >= NS_SITE_MAX)
				return ns_diag_set(d, NS_ECONFIG, "config", "line %zu: bad peer site code", lineno);
			if (!ns__endpoint_ok(v) || strlen(v) >= sizeof(c->peers[0].endpoint))
				return ns_diag_set(d, NS_ECONFIG, "config",
						   "line %zu: peer %s: endpoint must be tcp://HOST:PORT or ipc://PATH",
						   lineno, k);
			for (size_t i = 0; i < c->npeers; i++)
				if (strcmp(c->peers[i].site, k) == 0)
					return ns_diag_set(d, NS_ECONFIG, "config", "line %zu: peer %s listed twice",
							   lineno, k);
			snprintf(c->peers[c->npeers].site, NS_SITE_MAX, "%s", k);
			snprintf(c->peers[c->npeers].endpoint, sizeof(c->peers[0].endpoint), "%s", v);
			c->npeers++;
			continue;
		}
		if (strcmp(section, "auth") == 0) {
			if (ns__auth_key(c, base, k, v, lineno, d) != 0)
				return NS_ECONFIG;
			continue;
		}
		if (strcmp(section, "nats") == 0) {
			int rc = ns__nats_key(&c->nats, k, v, base, lineno, d);
			if (rc != 0)
				return rc;
			continue;
		}
		if (strcmp(section, "http") == 0) {
			if (strcmp(k, "listen") == 0 && strlen(v) < sizeof(c->http_listen))
				snprintf(c->http_listen, sizeof(c->http_listen), "%s", v);
			else if (strcmp(k, "token") == 0 && strlen(v) < sizeof(c->http_token))
				snprintf(c->http_token, sizeof(c->http_token), "%s", v);
			else if (strcmp(k, "tls_cert") == 0 || strcmp(k, "tls_key") == 0 || strcmp(k, "tls_client_ca") == 0) {
				char *dst = strcmp(k, "tls_cert") == 0  ? c->http_tls_cert
					    : strcmp(k, "tls_key") == 0 ? c->http_tls_key
									: c->http_tls_client_ca;
				if (*v == '\0' || ns__set_path(dst, PATH_MAX, base, v) != 0)
					return ns_diag_set(d, NS_ECONFIG, "config", "line %zu: %s must be a file path (%s)",
							   lineno, k, *v ? "too long" : "empty");
			}
			else if (strcmp(k, "max_connections") == 0 || strcmp(k, "reserved_connections") == 0 ||
				 strcmp(k, "connections_per_client") == 0) {
				unsigned lo = k[0] == 'm' ? 8 : 1;
				if (ns__number(v, lo, 65536, &x) != 0 || x != (unsigned)x)
					return ns_diag_set(d, NS_ECONFIG, "config",
							   "line %zu: %s must be a whole number (%u to 65536)", lineno, k, lo);
				*(k[0] == 'm' ? &c->http_max_conns : k[0] == 'r' ? &c->http_reserved_conns
										  : &c->http_conns_per_client) = (unsigned)x;
			} else if (strcmp(k, "response_timeout") == 0) {
				if (ns__number(v, 0.1, 3600, &x) != 0)
					return ns_diag_set(d, NS_ECONFIG, "config",
							   "line %zu: response_timeout must be a number of seconds (0.1 to 3600)",
							   lineno);
				c->http_response_timeout = x;
			} else if (strcmp(k, "session_lifetime") == 0) {
				if (ns__number(v, 60, 604800, &x) != 0)
					return ns_diag_set(d, NS_ECONFIG, "config",
							   "line %zu: session_lifetime must be a number of seconds (60 to 604800)",
							   lineno);
				c->http_session_lifetime = x;
			} else if (strcmp(k, "audit") == 0 || strcmp(k, "audit_syslog") == 0) {
				int on = strcmp(v, "on") == 0;
				if (!on && strcmp(v, "off") != 0)
					return ns_diag_set(d, NS_ECONFIG, "config", "line %zu: %s must be on or off", lineno, k);
				*(k[5] ? &c->http_audit_syslog : &c->http_audit) = on;
			} else if (strcmp(k, "audit_days") == 0) {
				if (ns__number(v, 1, 36500, &x) != 0 || x != (unsigned)x)
					return ns_diag_set(d, NS_ECONFIG, "config",
							   "line %zu: audit_days must be a whole number of days (1 to 36500)",
							   lineno);
				c->http_audit_days = (unsigned)x;
			} else if (strcmp(k, "audit_sync") == 0) {
				if (ns__number(v, 0, 60, &x) != 0)
					return ns_diag_set(d, NS_ECONFIG, "config",
							   "line %zu: audit_sync must be a number of seconds (0 to 60; "
							   "0: fsync each batch before its responses leave)",
							   lineno);
				c->http_audit_sync = x;
			} else
				return ns_diag_set(d, NS_ECONFIG, "config", "line %zu: unknown or too long key '%s' in [http]",
						   lineno, k);
			continue;
		}
		if (strcmp(k, "dir") == 0) {
			if (ns__set_path(c->dir, sizeof(c->dir), base, v) != 0)
				return ns_diag_set(d, NS_ECONFIG, "config", "line %zu: dir is too long", lineno);
		} else if (strcmp(k, "roster") == 0) {
			if (ns__set_path(c->roster, sizeof(c->roster), base, v) != 0)
				return ns_diag_set(d, NS_ECONFIG, "config", "line %zu: roster path is too long", lineno);
		} else if (strcmp(k, "listen") == 0) {
			if (!ns__endpoint_ok(v) || strlen(v) >= sizeof(c->listen))
				return ns_diag_set(d, NS_ECONFIG, "config",
						   "line %zu: listen must be tcp://HOST:PORT or ipc://PATH", lineno);
			snprintf(c->listen, sizeof(c->listen), "%s", v);
		} else if (strcmp(k, "log_level") == 0) {
			static const char *const lv[] = { "debug", "info", "warn", "error" };
			int found = -1;
			for (int i = 0; i < 4; i++)
				if (strcmp(v, lv[i]) == 0)
					found = i;
			if (found < 0)
				return ns_diag_set(d, NS_ECONFIG, "config",
						   "line %zu: log_level must be debug, info, warn or error", lineno);
			c->log_level = found;
		} else if (strcmp(k, "anti_entropy") == 0 || strcmp(k, "heartbeat") == 0 ||
			   strcmp(k, "peer_timeout") == 0) {
			if (ns__number(v, 0.01, 86400, &x) != 0)
				return ns_diag_set(d, NS_ECONFIG, "config",
						   "line %zu: %s must be a number of seconds (0.01 to 86400)", lineno, k);
			*(k[0] == 'a' ? &c->anti_entropy : k[0] == 'h' ? &c->heartbeat : &c->peer_timeout) = x;
		} else if (strcmp(k, "authority") == 0) {
			if (ns_unhex(c->authority, NS_KEY_BYTES, v) != 0)
				return ns_diag_set(d, NS_ECONFIG, "config",
						   "line %zu: authority must be an Ed25519 public key in 64 hex digits", lineno);
			c->has_authority = 1;
		} else if (strcmp(k, "batch") == 0 || strcmp(k, "window") == 0) {
			if (ns__number(v, 1, k[0] == 'b' ? 4096 : 1024, &x) != 0 || x != (unsigned)x)
				return ns_diag_set(d, NS_ECONFIG, "config", "line %zu: %s must be a whole number (1 to %d)",
						   lineno, k, k[0] == 'b' ? 4096 : 1024);
			*(k[0] == 'b' ? &c->batch : &c->window) = (unsigned)x;
		} else if (strcmp(k, "sigcheck_step") == 0) {
			if (ns__number(v, 1, 1000000, &x) != 0 || x != (unsigned)x)
				return ns_diag_set(d, NS_ECONFIG, "config",
						   "line %zu: sigcheck_step must be a whole number of events (1 to 1000000)",
						   lineno);
			c->sigcheck_step = (unsigned)x;
		} else if (strcmp(k, "ingest_queue_mib") == 0) {
			if (ns__number(v, 1, 65536, &x) != 0 || x != (unsigned)x)
				return ns_diag_set(d, NS_ECONFIG, "config",
						   "line %zu: ingest_queue_mib must be a whole number of MiB (1 to 65536)",
						   lineno);
			c->ingest_queue = (size_t)x << 20;
		} else if (strcmp(k, "peer_backoff") == 0 || strcmp(k, "resend_interval") == 0 ||
			   strcmp(k, "claim_timeout") == 0) {
			/* resend_interval 0 turns the limit off; a back-off or a claim timeout must last. */
			if (ns__number(v, k[0] == 'r' ? 0 : 1, 86400, &x) != 0)
				return ns_diag_set(d, NS_ECONFIG, "config",
						   "line %zu: %s must be a number of seconds (%d to 86400)", lineno, k,
						   k[0] == 'r' ? 0 : 1);
			*(k[0] == 'p' ? &c->peer_backoff : k[0] == 'r' ? &c->resend_interval : &c->claim_timeout) = x;
		} else if (strcmp(k, "fold_threads") == 0) {
			if (ns__number(v, 0, 64, &x) != 0 || x != (unsigned)x)
				return ns_diag_set(d, NS_ECONFIG, "config",
						   "line %zu: fold_threads must be a whole number (0 to 64; 0: one per core)",
						   lineno);
			c->fold_threads = (unsigned)x;
		} else if (strcmp(k, "fold_cache_mib") == 0) {
			if (ns__number(v, 0, 65536, &x) != 0 || x != (unsigned)x)
				return ns_diag_set(d, NS_ECONFIG, "config",
						   "line %zu: fold_cache_mib must be a whole number of MiB (0 to 65536)", lineno);
			c->fold_cache = (size_t)x << 20;
		} else if (strcmp(k, "held_window") == 0) {
			if (ns__number(v, 1, 1e9, &x) != 0 || x != (uint64_t)x)
				return ns_diag_set(d, NS_ECONFIG, "config",
						   "line %zu: held_window must be a whole number of seqs (1 to 1000000000)", lineno);
			c->held_window = (uint64_t)x;
		} else if (strcmp(k, "held_bytes") == 0 || strcmp(k, "held_peer_bytes") == 0) {
			static const double kmg[] = { 1024.0, 1048576.0, 1073741824.0 };
			if (ns__scaled(v, "KMG", kmg, 65536, 64.0 * 1073741824.0, &x) != 0)
				return ns_diag_set(d, NS_ECONFIG, "config",
						   "line %zu: %s must be a size in bytes, optionally with K, M or G (64K to 64G)",
						   lineno, k);
			*(k[5] == 'b' ? &c->held_origin_bytes : &c->held_peer_bytes) = (uint64_t)x;
		} else if (strcmp(k, "held_ttl") == 0) {
			static const double smhd[] = { 1, 60, 3600, 86400 };
			if (ns__scaled(v, "smhd", smhd, 60, 366 * 86400.0, &x) != 0)
				return ns_diag_set(d, NS_ECONFIG, "config",
						   "line %zu: held_ttl must be a whole number of seconds, optionally with s, m, h "
						   "or d (60 s to 366 d)",
						   lineno);
			c->held_ttl = x;
		} else {
			return ns_diag_set(d, NS_ECONFIG, "config", "line %zu: unknown key '%s' in [node]", lineno, k);
		}
	}
	if (c->dir[0] == '\0')
		return ns_diag_set(d, NS_ECONFIG, "config", "[node] dir is required");
	if (c->listen[0] == '\0')
		return ns_diag_set(d, NS_ECONFIG, "config", "[node] listen is required");
	if (c->roster[0] == '\0')
		return ns_diag_set(d, NS_ECONFIG, "config", "[node] roster is required");
	if (c->http_max_conns && c->http_reserved_conns >= c->http_max_conns)
		return ns_diag_set(d, NS_ECONFIG, "config", "[http] reserved_connections must be less than max_connections");
	if ((c->http_tls_cert[0] == '\0') != (c->http_tls_key[0] == '\0'))
		return ns_diag_set(d, NS_ECONFIG, "config", "[http] tls_cert and tls_key go together: set both or neither");
	if (c->http_tls_client_ca[0] && c->http_tls_cert[0] == '\0')
		return ns_diag_set(d, NS_ECONFIG, "config", "[http] tls_client_ca needs tls_cert and tls_key");
	if ((c->auth_issuer[0] || c->auth_audience[0]) && c->auth_jwks[0] == '\0')
		return ns_diag_set(d, NS_ECONFIG, "config",
				   "[auth] issuer and audience need [auth] jwks");
	if (c->http_listen[0] && c->http_token[0] == '\0' && c->auth_jwks[0] == '\0')
		return ns_diag_set(d, NS_ECONFIG, "config",
				   "[http] listen needs [auth] jwks (signed-in users) or [http] token "
				   "(a service credential), or both");
	return ns__nats_check(&c->nats, d);
}

int ns_config_load(const char *path, ns_config *c, ns_diag *d)
{
	char base[PATH_MAX], *buf, *slash;
	size_t len;
	int rc;

	if ((rc = ns__read_file(path, (size_t)1 << 20, &buf, &len)) != 0)
		return ns_diag_set(d, NS_ECONFIG, "config", "cannot read %s: %s", path,
				   rc == NS_EINVAL ? "larger than 1 MiB" : strerror(errno));
	snprintf(base, sizeof(base), "%s", path);
	slash = strrchr(base, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(base, sizeof(base), ".");
	rc = ns_config_parse(buf, len, base, c, d);
	free(buf);
	return rc;
}
