/*
 * nomsyncd: the nomsync node daemon.
 *
 *   nomsyncd --config FILE [--check]
 *
 * Runs the replication node on a libuv loop until SIGTERM or SIGINT, then
 * finishes in-flight commits, closes its sockets and exits 0. With --check
 * it only validates the configuration, roster and store, and exits.
 */
#include "daemon/log.h"
#include "daemon/node.h"

#include <nomsync/config.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *path = NULL;
	int check = 0, rc;
	ns_config cfg;
	ns_node *node;
	ns_diag d;
	uv_loop_t *loop = uv_default_loop();

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[++i];
		else if (strcmp(argv[i], "--check") == 0)
			check = 1;
		else {
			fprintf(stderr, "usage: nomsyncd --config FILE [--check]\n");
			return 2;
		}
	}
	if (path == NULL) {
		fprintf(stderr, "usage: nomsyncd --config FILE [--check]\n");
		return 2;
	}
	ns_diag_clear(&d);
	if ((rc = ns_config_load(path, &cfg, &d)) != 0) {
		ns_log(NS_LOG_ERROR, "%s: %s", path, d.msg);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (ns_crypto_init() != 0) {
		ns_log(NS_LOG_ERROR, "cannot initialise libsodium");
		return 1;
	}
	if ((rc = ns_node_start(&node, &cfg, loop, &d)) != 0) {
		ns_log(NS_LOG_ERROR, "cannot start: %s%s%s", d.msg[0] ? d.msg : ns_strerror(rc),
		       d.msg[0] ? "" : "", "");
		return 1;
	}
	if (check) {
		ns_log(NS_LOG_INFO, "configuration, roster and store are valid");
		ns_node_stop(node);
	}
	uv_run(loop, UV_RUN_DEFAULT);
	ns_node_free(node);
	uv_loop_close(loop);
	ns_log(NS_LOG_INFO, "stopped");
	return 0;
}
