/*
 * Fuzz target: nomsyncd's configuration file (ns_config_parse).
 *
 * The text is handed over unterminated, as ns_config_load does with the
 * file's bytes, so an over-read is an ASan report. Parsed twice, with a
 * base directory (relative paths) and without.
 *
 * Invariants on success: dir, listen and roster are set; every string is
 * terminated within its buffer; numbers are within their documented ranges;
 * peers are at most NS_MAX_PEERS, with distinct non-empty site codes and
 * tcp:// or ipc:// endpoints; http.token or auth.jwks is set when http.listen
 * is; auth.leeway is at most 3600.
 * On failure: NS_ECONFIG with a message.
 */
#include "fuzz_common.h"

#include <nomsync/config.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void check(const char *text, size_t len, const char *base)
{
	ns_config c;
	ns_diag d;
	int rc;

	ns_diag_clear(&d);
	rc = ns_config_parse(text, len, base, &c, &d);
	if (rc != 0) {
		if (rc != NS_ECONFIG)
			ns_fuzz_die("ns_config_parse returned %s", ns_err_name(rc));
		if (d.msg[0] == '\0')
			ns_fuzz_die("ns_config_parse refused without a message");
		return;
	}
	if (strnlen(c.dir, sizeof(c.dir)) >= sizeof(c.dir) || strnlen(c.listen, sizeof(c.listen)) >= sizeof(c.listen) ||
	    strnlen(c.roster, sizeof(c.roster)) >= sizeof(c.roster) ||
	    strnlen(c.http_listen, sizeof(c.http_listen)) >= sizeof(c.http_listen) ||
	    strnlen(c.http_token, sizeof(c.http_token)) >= sizeof(c.http_token))
		ns_fuzz_die("a configuration string is not terminated");
	if (!c.dir[0] || !c.listen[0] || !c.roster[0])
		ns_fuzz_die("accepted a configuration without dir, listen or roster");
	if (c.http_listen[0] && !c.http_token[0] && !c.auth_jwks[0])
		ns_fuzz_die("accepted [http] listen without a token or a key set");
	if (strnlen(c.auth_jwks, sizeof(c.auth_jwks)) >= sizeof(c.auth_jwks) ||
	    strnlen(c.auth_issuer, sizeof(c.auth_issuer)) >= sizeof(c.auth_issuer) ||
	    strnlen(c.auth_audience, sizeof(c.auth_audience)) >= sizeof(c.auth_audience) ||
	    c.auth_leeway > 3600)
		ns_fuzz_die("an [auth] value is unterminated or out of range");
	if ((c.http_audit != 0 && c.http_audit != 1) || (c.http_audit_syslog != 0 && c.http_audit_syslog != 1) ||
	    c.http_audit_days < 1 || c.http_audit_days > 36500)
		ns_fuzz_die("[http] audit %d, audit_syslog %d or audit_days %u out of range", c.http_audit,
			    c.http_audit_syslog, c.http_audit_days);
	if (c.log_level < NS_LOG_DEBUG || c.log_level > NS_LOG_ERROR)
		ns_fuzz_die("log_level %d out of range", c.log_level);
	if (!(c.anti_entropy >= 0.01 && c.anti_entropy <= 86400) || !(c.heartbeat >= 0.01 && c.heartbeat <= 86400) ||
	    !(c.peer_timeout >= 0.01 && c.peer_timeout <= 86400))
		ns_fuzz_die("a period is out of range (%g, %g, %g)", c.anti_entropy, c.heartbeat, c.peer_timeout);
	if (c.batch < 1 || c.batch > 4096 || c.window < 1 || c.window > 1024)
		ns_fuzz_die("batch %u or window %u out of range", c.batch, c.window);
	if (strncmp(c.listen, "tcp://", 6) != 0 && strncmp(c.listen, "ipc://", 6) != 0)
		ns_fuzz_die("listen '%s' is not a tcp:// or ipc:// endpoint", c.listen);
	if (c.npeers > NS_MAX_PEERS)
		ns_fuzz_die("%zu peers", c.npeers);
	for (size_t i = 0; i < c.npeers; i++) {
		const ns_peer_conf *p = &c.peers[i];
		if (strnlen(p->site, sizeof(p->site)) >= sizeof(p->site) ||
		    strnlen(p->endpoint, sizeof(p->endpoint)) >= sizeof(p->endpoint) || !p->site[0])
			ns_fuzz_die("peer %zu badly terminated or empty", i);
		if (strncmp(p->endpoint, "tcp://", 6) != 0 && strncmp(p->endpoint, "ipc://", 6) != 0)
			ns_fuzz_die("peer endpoint '%s' accepted", p->endpoint);
		for (size_t j = 0; j < i; j++)
			if (strcmp(c.peers[j].site, p->site) == 0)
				ns_fuzz_die("peer %s listed twice", p->site);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Copy into an exact-size heap buffer so that any over-read is caught. */
	char *text = malloc(size ? size : 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	check(text, size, "/etc/nomsync");
	check(text, size, NULL);
	free(text);
	return 0;
}
