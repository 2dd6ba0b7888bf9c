/* `nomsync audit`: the read audit of a node, read-only (tools/nomsync_audit.c). */
#ifndef NOMSYNC_TOOL_AUDIT_H
#define NOMSYNC_TOOL_AUDIT_H

/* nomsync --dir DIR audit [--offender ID] [--user U] [--from DATE] [--to DATE] [--limit N] [--json];
 * @p argv[0] is "audit". Returns the exit status (2: usage). */
int cmd_audit(const char *dir, int argc, char **argv);

#endif
