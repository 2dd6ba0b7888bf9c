/*
 * nomsync: the command-line tool for one node's store.
 *
 *   nomsync --dir DIR init --site CODE --role prison|probation|court|hub
 *   nomsync --dir DIR id [--json]
 *   nomsync --dir DIR append [FILE|-]
 *   nomsync --dir DIR show ID [--json]
 *   nomsync --dir DIR log [--offender ID] [--json]
 *   nomsync --dir DIR verify
 *   nomsync --dir DIR vector
 *   nomsync --dir DIR digest [ID]
 *   nomsync --dir DIR export [--since VECTOR.json] > FILE
 *   nomsync --dir DIR import FILE --config NOMSYNCD.conf | --no-roster
 *   nomsync --dir DIR status [--json]
 *   nomsync --dir DIR figures [--region R] [--csv] [--as-of YYYY-MM-DD]
 *   nomsync --dir DIR erase EVENT_ID --reason REASON [--requested-by REF]
 *   nomsync --dir DIR compact                 (scrub erased bytes from the file)
 *   nomsync --dir DIR roster-sign FILE       (an authority store signs a roster file)
 *   nomsync --dir DIR hold | release         (appends held after a restore)
 *   nomsync --dir DIR rekey                  (rotate this site's key)
 *   nomsync catalogue [--json]               (the event types and their rules; no store)
 *   nomsync --dir DIR audit [--offender ID] [--user U] [--from D] [--to D] [--limit N] [--json]
 *   nomsync token keygen|jwks|mint ...       (test keys and JWTs; tools/nomsync_token.c)
 *
 * Errors go to stderr with exit status 1 (2 for usage errors).
 */
#include <nomsync/bundle.h>
#include <nomsync/catalogue.h>
#include <nomsync/config.h>
#include <nomsync/date.h>
#include <nomsync/json.h>
#include <nomsync/roster.h>
#include <nomsync/status.h>
#include <nomsync/store.h>
#include <nomsync/validate.h>

#include "nomsync_audit.h"
#include "nomsync_token.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define APPEND_BATCH 4096

static const char *usage_text =
	"usage: nomsync --dir DIR COMMAND [ARGS]\n"
	"\n"
	"commands:\n"
	"  init --site CODE --role prison|probation|court|hub   create the store and key\n"
	"  id [--json]                      site code, role and public key\n"
	"  append [--recorded-by USER] [FILE|-]\n"
	"                                   sign and append JSON events, one per line (USER: who\n"
	"                                   recorded them, signed into each event's header)\n"
	"  show ID [--json]                 the view of a person (NOMS number or CRN)\n"
	"  log [--offender ID] [--json]     the event log\n"
	"  verify                           re-check every signature, chain link and view\n"
	"  vector                           the version vector as JSON\n"
	"  digest [ID]                      hash of all views (or one) for convergence checks\n"
	"  export [--since VECTOR.json]     write a signed bundle to stdout\n"
	"  import FILE --config CONF        verify and apply a bundle, checking its events against\n"
	"                                   the roster in force of nomsyncd's config CONF\n"
	"  import FILE --no-roster          the same without any roster: trusts every correctly\n"
	"                                   signed event (labs and tests only)\n"
	"  status [--json]                  vector, counts and rejections\n"
	"  figures [--region R] [--csv] [--as-of YYYY-MM-DD]\n"
	"                                   caseload and regional figures (the estate without\n"
	"                                   --region; releases due counted from today or --as-of)\n"
	"  erase EVENT_ID --reason R [--requested-by REF]\n"
	"                                   erase an event's payload everywhere (data protection;\n"
	"                                   R: DATA_PROTECTION_REQUEST, RETENTION_EXPIRED,\n"
	"                                   RECORDED_IN_ERROR), then compact the store\n"
	"  compact                          rewrite the store without free pages (after an erasure)\n"
	"  roster-sign FILE                 sign a roster file (an authority store only)\n"
	"  hold | release                   hold appends after restoring a backup / release by hand\n"
	"  rekey                            rotate this site's signing key\n"
	"  catalogue [--json]               every event type: label, roles, fields (no --dir)\n"
	"  audit [--offender ID] [--user U] [--from DATE] [--to DATE] [--limit N] [--json]\n"
	"                                   the read audit (who read whose record), read-only\n"
	NS__TOKEN_USAGE
	"\n"
	"init --role also accepts 'authority': the offline roster authority, whose\n"
	"store signs roster files and appends roster.* changes.\n";

static int usage(void)
{
	fputs(usage_text, stderr);
	return 2;
}

static int fail(const char *what, int rc, const ns_diag *d)
{
	if (d && d->msg[0])
		fprintf(stderr, "nomsync: %s: %s%s%s\n", what, d->field[0] ? d->field : "",
			d->field[0] ? ": " : "", d->msg);
	else
		fprintf(stderr, "nomsync: %s: %s\n", what, ns_strerror(rc));
	return 1;
}

static int open_store(const char *dir, unsigned flags, ns_store **s)
{
	ns_diag d;
	int rc;

	ns_diag_clear(&d);
	if (dir == NULL) {
		fprintf(stderr, "nomsync: --dir DIR is required\n");
		return 2;
	}
	if ((rc = ns_store_open(dir, flags, s, &d)) != 0)
		return fail("open", rc, &d);
	{
		ns_upgrade_report r;
		char line[256];
		ns_store_upgrade_report(*s, &r);
		if (ns_upgrade_describe(&r, line, sizeof(line)) > 0)
			fprintf(stderr, "nomsync: %s\n", line);
	}
	return 0;
}

/* Read a whole file (or stdin for "-") into memory. */
static int read_all(const char *path, char **out, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t cap = 1 << 16, n = 0;
	char *buf;

	if (f == NULL) {
		fprintf(stderr, "nomsync: cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	buf = malloc(cap + 1);
	while (buf != NULL) {
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (n < cap) {
			if (ferror(f)) {
				fprintf(stderr, "nomsync: read error on %s\n", path);
				free(buf);
				buf = NULL;
			}
			break;
		}
		char *p = realloc(buf, cap * 2 + 1);
		if (p == NULL) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = p;
		cap *= 2;
	}
	if (f != stdin)
		fclose(f);
	if (buf == NULL)
		return 1;
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static int cmd_init(const char *dir, int argc, char **argv)
{
	const char *site = NULL, *role = NULL;
	ns_diag d;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--site") == 0 && i + 1 < argc)
			site = argv[++i];
		else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
			role = argv[++i];
		else
			return usage();
	}
	if (dir == NULL || site == NULL || role == NULL)
		return usage();
	ns_diag_clear(&d);
	if (ns_role_parse(role) == NS_ROLE_NONE) {
		fprintf(stderr, "nomsync: init: role: '%s' is not prison, probation, court, hub or authority\n", role);
		return 1;
	}
	if ((rc = ns_store_create(dir, site, ns_role_parse(role), &d)) != 0)
		return fail("init", rc, &d);
	return 0;
}

static int cmd_id(ns_store *s, int json)
{
	const ns_identity *id = ns_store_identity(s);
	char pk[2 * NS_KEY_BYTES + 1];

	ns_hex(pk, id->pk, NS_KEY_BYTES);
	if (json)
		printf("{\"site\":\"%s\",\"role\":\"%s\",\"public_key\":\"%s\"}\n", id->site,
		       ns_role_name(id->role), pk);
	else
		printf("%s %s %s\n", id->site, ns_role_name(id->role), pk);
	return 0;
}

/* Iterate over the non-blank lines of @buf, calling @fn(line, len, lineno). */
typedef int (*line_fn)(void *arg, const char *line, size_t len, size_t lineno);

static int each_line(char *buf, size_t len, line_fn fn, void *arg)
{
	size_t lineno = 0;
	char *p = buf, *end = buf + len;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		lineno++;
		size_t k = 0;
		while (k < l && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r'))
			k++;
		if (k < l) {
			int rc = fn(arg, p, l, lineno);
			if (rc != 0)
				return rc;
		}
		p += l + 1;
	}
	return 0;
}

struct append_ctx {
	ns_store *s;
	ns_input *batch;
	size_t n, lines[APPEND_BATCH];
	uint64_t *total; /* events appended so far, shared by the pipeline's two batches */
	const char *recorded_by; /* --recorded-by, or NULL */
};

static int append_flush(struct append_ctx *c)
{
	uint8_t (*ids)[NS_ID_BYTES];
	size_t bad = 0;
	ns_diag d;
	int rc;

	if (c->n == 0)
		return 0;
	ids = calloc(c->n, NS_ID_BYTES);
	if (ids == NULL)
		return fail("append", NS_ENOMEM, NULL);
	ns_diag_clear(&d);
	rc = ns_store_append(c->s, c->batch, c->n, ids, &bad, &d);
	if (rc != 0) {
		char what[64];
		if (rc == NS_EVALID || rc == NS_EROLE)
			snprintf(what, sizeof(what), "line %zu", c->lines[bad]);
		else
			snprintf(what, sizeof(what), "append");
		fail(what, rc, &d);
		fprintf(stderr, "nomsync: %llu events appended before this batch; none from it\n",
			(unsigned long long)*c->total);
	} else {
		for (size_t i = 0; i < c->n; i++) {
			char hex[2 * NS_ID_BYTES + 1];
			ns_hex(hex, ids[i], NS_ID_BYTES);
			puts(hex);
		}
		*c->total += c->n;
		ns_store_notify(c->s); /* a running nomsyncd sends them on now */
	}
	free(ids);
	for (size_t i = 0; i < c->n; i++)
		ns_input_clear(&c->batch[i]);
	c->n = 0;
	return rc ? 1 : 0;
}

static int append_line(void *arg, const char *line, size_t len, size_t lineno)
{
	struct append_ctx *c = arg;
	ns_input *in = &c->batch[c->n];
	char what[64];
	ns_diag d;
	int rc;

	ns_diag_clear(&d);
	if ((rc = ns_input_parse(line, len, in, &d)) != 0) {
		snprintf(what, sizeof(what), "line %zu", lineno);
		return fail(what, rc, &d);
	}
	if (c->recorded_by != NULL)
		snprintf(in->recorded_by, sizeof(in->recorded_by), "%s", c->recorded_by);
	/* Pass 1 checked it; ns_store_append checks it again. */
	c->lines[c->n++] = lineno;
	return c->n == APPEND_BATCH ? append_flush(c) : 0;
}

/*
 * Pass 1 of append: every line is parsed and checked, so that a bad line
 * anywhere writes nothing. The file is checked in two parts, the second on
 * a thread; the first bad line is reported. The lines of a file of at most
 * CHECK_KEEP_MAX bytes are kept as parsed, so pass 2 need not parse them
 * again.
 */
#define CHECK_KEEP_MAX (32u << 20)

struct check_part {
	char *buf;
	size_t len, base; /* base: the lines before buf */
	ns_role role;
	atomic_int *stop; /* the first part has a bad line: the second need not go on */
	size_t lineno;    /* the first bad line, if rc */
	int rc;
	ns_diag d;
	int keep;         /* keep each line as parsed: */
	ns_input *in;     /* in[0 .. n), read from lines[0 .. n) */
	size_t *lines, n, cap;
};

/* Keep @p in, parsed from line @p lineno; 0 or NS_ENOMEM. */
static int check_keep(struct check_part *c, const ns_input *in, size_t lineno)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 1024;
		ns_input *a = realloc(c->in, cap * sizeof(*a));
		if (a != NULL)
			c->in = a;
		size_t *l = a ? realloc(c->lines, cap * sizeof(*l)) : NULL;
		if (l == NULL)
			return NS_ENOMEM;
		c->lines = l;
		c->cap = cap;
	}
	c->in[c->n] = *in;
	c->lines[c->n++] = lineno;
	return 0;
}

static int check_line(void *arg, const char *line, size_t len, size_t lineno)
{
	struct check_part *c = arg;
	ns_input in;
	int rc;

	if (atomic_load(c->stop))
		return 1;
	ns_diag_clear(&c->d);
	if ((rc = ns_input_parse(line, len, &in, &c->d)) == 0) {
		rc = ns_validate_event(c->role, in.offender, in.type, in.payload, &c->d);
		if (rc == 0 && c->keep && (rc = check_keep(c, &in, c->base + lineno)) == 0)
			return 0;
		ns_input_clear(&in);
	}
	if (rc != 0) {
		c->rc = rc;
		c->lineno = c->base + lineno;
	}
	return rc;
}

static void *check_thread(void *arg)
{
	each_line(((struct check_part *)arg)->buf, ((struct check_part *)arg)->len, check_line, arg);
	return NULL;
}

/* Below this many bytes, pass 1 runs on one thread. */
#define CHECK_SPLIT_MIN (64u << 10)

/*
 * Check every line; with @p kept (a file of at most CHECK_KEEP_MAX bytes),
 * keep them all, parsed, in *kept: kept->in[0 .. kept->n) from lines kept->lines[].
 */
static int check_all(char *buf, size_t len, ns_role role, struct check_part *kept)
{
	char *mid = len >= CHECK_SPLIT_MIN ? memchr(buf + len / 2, '\n', len - len / 2) : NULL;
	size_t head = mid ? (size_t)(mid + 1 - buf) : len, base = 0;
	int keep = len <= CHECK_KEEP_MAX, threaded, rc = 0;
	atomic_int stop = 0;
	struct check_part p[2] = { { .buf = buf, .len = head, .role = role, .stop = &stop, .keep = keep },
				   { .buf = buf + head, .len = len - head, .role = role, .stop = &stop, .keep = keep } };
	pthread_t t;

	for (char *q = buf; (q = memchr(q, '\n', (size_t)(buf + head - q))) != NULL; q++)
		base++;
	p[1].base = base;
	threaded = p[1].len > 0 && pthread_create(&t, NULL, check_thread, &p[1]) == 0;
	each_line(p[0].buf, p[0].len, check_line, &p[0]);
	if (p[0].rc != 0)
		atomic_store(&stop, 1);
	if (threaded)
		pthread_join(t, NULL);
	else if (p[0].rc == 0)
		each_line(p[1].buf, p[1].len, check_line, &p[1]);
	for (int k = 0; k < 2 && rc == 0; k++)
		if (p[k].rc != 0) {
			char what[64];
			snprintf(what, sizeof(what), "line %zu", p[k].lineno);
			rc = fail(what, p[k].rc, &p[k].d);
		}
	/* Both parts' lines, in order, in p[0]. */
	for (size_t i = 0; rc == 0 && i < p[1].n; i++)
		if (check_keep(&p[0], &p[1].in[i], p[1].lines[i]) != 0)
			rc = fail("append", NS_ENOMEM, NULL);
		else
			p[1].in[i].payload = NULL; /* now p[0]'s */
	for (int k = rc ? 0 : 1; k < 2; k++) {
		for (size_t i = 0; i < p[k].n; i++)
			ns_input_clear(&p[k].in[i]);
		free(p[k].in);
		free(p[k].lines);
	}
	if (rc == 0 && keep)
		*kept = p[0];
	else if (rc == 0) {
		free(p[0].in);
		free(p[0].lines);
	}
	return rc;
}

/* Pass 2 over the lines pass 1 kept: append them by batches, from @p c's buffer. */
static int append_kept(struct append_ctx *c, struct check_part *kept)
{
	ns_input *batch = c->batch;
	size_t i = 0;
	int rc = 0;

	while (rc == 0 && i < kept->n) {
		size_t m = kept->n - i < APPEND_BATCH ? kept->n - i : APPEND_BATCH;
		c->batch = kept->in + i;
		c->n = m;
		memcpy(c->lines, kept->lines + i, m * sizeof(*c->lines));
		if (c->recorded_by != NULL)
			for (size_t k = 0; k < m; k++)
				snprintf(c->batch[k].recorded_by, sizeof(c->batch[k].recorded_by), "%s", c->recorded_by);
		rc = append_flush(c); /* clears the batch */
		i += m;
	}
	for (; i < kept->n; i++)
		ns_input_clear(&kept->in[i]);
	c->batch = batch;
	c->n = 0;
	free(kept->in);
	free(kept->lines);
	return rc;
}

/*
 * Pass 2 of append as a pipeline: a thread parses the next batch into one
 * of two buffers while this one appends the other (ns_store_append signs
 * on two cores meanwhile).
 */
struct append_pipe {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct append_ctx ctx[2];
	int full[2]; /* parsed, to append */
	int fill;    /* the buffer the parser fills */
	int done;    /* the parser has handed over its last batch */
	int stop;    /* an append failed: parse no more */
	int rc;      /* the parser's own failure (1, reported) */
	char *buf;
	size_t len;
};

/* Hand the filled buffer over; wait until the other one is free. 1 to stop. */
static int pipe_hand(struct append_pipe *p)
{
	pthread_mutex_lock(&p->mu);
	p->full[p->fill] = 1;
	pthread_cond_broadcast(&p->cv);
	p->fill ^= 1;
	while (p->full[p->fill] && !p->stop)
		pthread_cond_wait(&p->cv, &p->mu);
	int stop = p->stop;
	pthread_mutex_unlock(&p->mu);
	return stop;
}

static int pipe_line(void *arg, const char *line, size_t len, size_t lineno)
{
	struct append_pipe *p = arg;
	struct append_ctx *c = &p->ctx[p->fill];
	char what[64];
	ns_diag d;
	int rc;

	ns_diag_clear(&d);
	if ((rc = ns_input_parse(line, len, &c->batch[c->n], &d)) != 0) {
		snprintf(what, sizeof(what), "line %zu", lineno);
		return fail(what, rc, &d); /* only out of memory: pass 1 parsed it */
	}
	if (c->recorded_by != NULL)
		snprintf(c->batch[c->n].recorded_by, sizeof(c->batch[c->n].recorded_by), "%s", c->recorded_by);
	c->lines[c->n++] = lineno;
	return c->n == APPEND_BATCH ? pipe_hand(p) : 0;
}

static void *pipe_parse(void *arg)
{
	struct append_pipe *p = arg;
	int rc = each_line(p->buf, p->len, pipe_line, p);

	pthread_mutex_lock(&p->mu);
	if (rc == 0 && p->ctx[p->fill].n > 0)
		p->full[p->fill] = 1;
	if (rc != 0 && !p->stop)
		p->rc = 1;
	p->done = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static int append_pipeline(struct append_pipe *p)
{
	pthread_t t;
	int take = 0, rc = 0;

	if (pthread_create(&t, NULL, pipe_parse, p) != 0) {
		/* Without a thread: parse and append in turn. */
		if ((rc = each_line(p->buf, p->len, append_line, &p->ctx[0])) != 0)
			return rc;
		return append_flush(&p->ctx[0]);
	}
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (!p->full[take] && !p->done)
			pthread_cond_wait(&p->cv, &p->mu);
		int got = p->full[take];
		pthread_mutex_unlock(&p->mu);
		if (!got)
			break;
		rc = append_flush(&p->ctx[take]);
		pthread_mutex_lock(&p->mu);
		p->full[take] = 0;
		p->stop = rc != 0;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		if (rc != 0)
			break;
		take ^= 1;
	}
	pthread_join(t, NULL);
	return rc ? rc : p->rc;
}

static int cmd_append(ns_store *s, int argc, char **argv)
{
	struct append_pipe p = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	struct check_part kept = { 0 };
	const char *path, *recorded_by = NULL;
	uint64_t total = 0;
	int rc = 0;

	if (argc > 2 && strcmp(argv[1], "--recorded-by") == 0) {
		recorded_by = argv[2];
		if (!ns_is_user_id(recorded_by)) {
			fprintf(stderr, "nomsync: --recorded-by '%.40s' is not a user id (1-127 printable "
					"characters, no spaces)\n", recorded_by);
			return 2;
		}
		argc -= 2;
		argv += 2;
	}
	path = argc > 1 ? argv[1] : "-";
	if (argc > 2)
		return usage();
	if (read_all(path, &p.buf, &p.len) != 0)
		return 1;
	for (int k = 0; k < 2; k++) {
		p.ctx[k] = (struct append_ctx){ .s = s, .total = &total, .recorded_by = recorded_by };
		if ((p.ctx[k].batch = calloc(APPEND_BATCH, sizeof(*p.ctx[k].batch))) == NULL)
			rc = fail("append", NS_ENOMEM, NULL);
	}
	/* Pass 1 checks every line, so a bad line anywhere writes nothing. */
	if (rc == 0 && (rc = check_all(p.buf, p.len, ns_store_identity(s)->role, &kept)) == 0)
		rc = kept.keep ? append_kept(&p.ctx[0], &kept) : append_pipeline(&p);
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < p.ctx[k].n; i++)
			ns_input_clear(&p.ctx[k].batch[i]);
		free(p.ctx[k].batch);
	}
	free(p.buf);
	return rc;
}

/* Human rendering of a view: the C-NOMIS-like summary screen. */
static const char *js(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "-";
}

static void print_view(json_t *v)
{
	json_t *name = json_object_get(v, "name"), *dates = json_object_get(v, "dates"), *x;
	json_t *managers = json_object_get(v, "managers");
	size_t i;

	printf("NOMS %s   CRN %s   PNC %s   CRO %s\n", js(v, "noms"), js(v, "crn"), js(v, "pnc"),
	       js(v, "cro"));
	printf("Name          %s, %s\n", js(name, "surname"), js(name, "forenames"));
	printf("Date of birth %s   Gender %s\n", js(v, "dob"), js(v, "gender"));
	printf("Status        %s   Prison %s   Last prison %s\n", js(v, "status"), js(v, "prison"),
	       js(v, "last_prison"));
	printf("Legal status  %s%s\n", js(v, "legal_status"),
	       json_is_true(json_object_get(v, "recall")) ? "   (recalled)" : "");
	if (json_is_object(dates))
		printf("Dates         CRD %s   SLED %s   ARD %s   SED %s   TUSED %s\n", js(dates, "crd"),
		       js(dates, "sled"), js(dates, "ard"), js(dates, "sed"), js(dates, "tused"));
	json_array_foreach(json_object_get(v, "sentences"), i, x)
		printf("Sentence      %s %s from %s (%s)\n", js(x, "sentence_id"), js(x, "sentence_type"),
		       js(x, "sentence_date"), js(x, "status"));
	if (json_is_object(managers)) {
		json_t *pom = json_object_get(managers, "pom"), *com = json_object_get(managers, "com");
		if (json_is_object(pom))
			printf("POM           %s at %s\n", js(pom, "staff"), js(pom, "prison"));
		if (json_is_object(com))
			printf("COM           %s, %s %s %s\n", js(com, "staff"), js(com, "region"),
			       js(com, "pdu"), js(com, "team"));
		printf("Responsible   %s\n", js(managers, "responsible"));
	}
	if (json_is_object(x = json_object_get(v, "licence")))
		printf("Licence       %s %s %s to %s\n", js(x, "licence_type"), js(x, "status"),
		       js(x, "start_date"), js(x, "expiry_date"));
	if (json_is_object(x = json_object_get(v, "risk"))) {
		json_t *m = json_object_get(x, "mappa");
		char mappa[48] = "-";

		if (json_is_object(m))
			snprintf(mappa, sizeof(mappa), "category %s level %s", js(m, "category"), js(m, "level"));
		if (json_is_string(json_object_get(x, "rosh")) || json_is_object(m) ||
		    json_is_string(json_object_get(x, "tier")))
			printf("Risk          RoSH %s   MAPPA %s   Tier %s\n", js(x, "rosh"), mappa, js(x, "tier"));
	}
	json_array_foreach(json_object_get(v, "programmes"), i, x)
		printf("Programme     %s (%s) %s\n", js(x, "programme"), js(x, "setting"), js(x, "status"));
	json_array_foreach(json_object_get(v, "alerts"), i, x)
		printf("Alert         %s/%s %s\n", js(x, "alert_type"), js(x, "alert_code"),
		       json_is_true(json_object_get(x, "active")) ? "active" : "closed");
	json_array_foreach(json_object_get(v, "access"), i, x) {
		json_t *u;
		size_t j;
		printf("Access        %s since %s:", js(x, "mode"), js(x, "since"));
		json_array_foreach(json_object_get(x, "users"), j, u)
			printf(" %s", json_string_value(u));
		printf("\n");
	}
	json_array_foreach(json_object_get(v, "conflicts"), i, x)
		printf("CONFLICT      %s: %s\n", js(x, "rule"), js(x, "description"));
	printf("Events        %lld\n", (long long)json_integer_value(json_object_get(v, "event_count")));
}

static int cmd_show(ns_store *s, int argc, char **argv)
{
	const char *ref = NULL;
	int json = 0, rc;
	char *view;
	size_t len;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (ref == NULL)
			ref = argv[i];
		else
			return usage();
	}
	if (ref == NULL)
		return usage();
	if ((rc = ns_store_view(s, ref, &view, &len, NULL)) != 0) {
		if (rc == NS_ENOTFOUND)
			fprintf(stderr, "nomsync: show: no person with NOMS number or CRN '%s'\n", ref);
		else
			fail("show", rc, NULL);
		return 1;
	}
	if (json) {
		printf("%s\n", view);
	} else {
		json_t *v = json_loadb(view, len, 0, NULL);
		if (v == NULL) {
			free(view);
			return fail("show", NS_ECORRUPT, NULL);
		}
		print_view(v);
		json_decref(v);
	}
	free(view);
	return 0;
}

static int log_event(void *arg, const ns_event *ev)
{
	int json = *(int *)arg;

	if (json) {
		json_t *j = ns_event_to_json(ev);
		char *txt = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		json_decref(j);
		if (txt == NULL)
			return NS_ENOMEM;
		puts(txt);
		free(txt);
	} else {
		char id[2 * NS_ID_BYTES + 1], t[21], unknown[32];
		ns_hex(id, ev->id, NS_ID_BYTES);
		ns_time_format(t, ev->occurred_at);
		snprintf(unknown, sizeof(unknown), "unknown type %u", ev->type);
		printf("%s %-6s %6llu %-28s %-8s %s%s%s\n", t, ev->site, (unsigned long long)ev->seq,
		       ev->type_unknown ? unknown : ns_type_name(ev->type), ev->offender, id,
		       ev->recorded_by[0] ? " by " : "", ev->recorded_by);
	}
	return ferror(stdout) ? NS_EIO : 0;
}

static int cmd_log(ns_store *s, int argc, char **argv)
{
	const char *ref = NULL;
	int json = 0, rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--offender") == 0 && i + 1 < argc)
			ref = argv[++i];
		else
			return usage();
	}
	rc = ref ? ns_store_foreach_person(s, ref, log_event, &json) : ns_store_foreach(s, log_event, &json);
	if (rc == NS_ENOTFOUND) {
		fprintf(stderr, "nomsync: log: no events for '%s'\n", ref);
		return 1;
	}
	return rc ? fail("log", rc, NULL) : 0;
}

static int cmd_verify(ns_store *s)
{
	ns_verify_report r;
	int rc = ns_store_verify(s, &r);

	if (rc == NS_ECORRUPT) {
		fprintf(stderr, "nomsync: verify: FAILED: %llu problem(s) in %llu events, %llu views; first: %s\n",
			(unsigned long long)r.bad, (unsigned long long)r.events, (unsigned long long)r.views,
			r.first);
		return 1;
	}
	if (rc != 0)
		return fail("verify", rc, NULL);
	printf("ok: %llu events and %llu views verified\n", (unsigned long long)r.events,
	       (unsigned long long)r.views);
	if (r.pending > 0)
		printf("note: %llu identifiers await a deferred fold (their views re-folded, not compared)\n",
		       (unsigned long long)r.pending);
	if (r.unindexed > 0)
		printf("note: %llu events await the deferred id index (checked where they are)\n",
		       (unsigned long long)r.unindexed);
	if (r.unchecked > 0)
		printf("note: %llu events await the background check of their own signature (headers authentic by "
		       "their run's tip)\n",
		       (unsigned long long)r.unchecked);
	return 0;
}

static int print_json(json_t *j)
{
	char *txt = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	if (txt == NULL)
		return fail("json", NS_ENOMEM, NULL);
	puts(txt);
	free(txt);
	return 0;
}

static int cmd_vector(ns_store *s)
{
	ns_vv_entry *v;
	size_t n;
	int rc;

	if ((rc = ns_store_vector(s, &v, &n)) != 0)
		return fail("vector", rc, NULL);
	json_t *j = ns_vector_to_json(v, n);
	free(v);
	rc = print_json(j);
	json_decref(j);
	return rc;
}

static int cmd_digest(ns_store *s, int argc, char **argv)
{
	uint8_t h[NS_ID_BYTES];
	char hex[2 * NS_ID_BYTES + 1];
	int rc;

	if (argc > 2)
		return usage();
	rc = ns_store_digest(s, argc > 1 ? argv[1] : NULL, h);
	if (rc == NS_ENOTFOUND) {
		fprintf(stderr, "nomsync: digest: no person '%s'\n", argv[1]);
		return 1;
	}
	if (rc != 0)
		return fail("digest", rc, NULL);
	ns_hex(hex, h, NS_ID_BYTES);
	puts(hex);
	return 0;
}

/* Today as a day number, UTC (the node's clock), or --as-of's date. */
static int today_or(const char *asof, int32_t *day)
{
	time_t now = time(NULL);
	struct tm tm;

	if (asof != NULL)
		return ns_date_parse(asof, day);
	gmtime_r(&now, &tm);
	*day = ns_date_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	return 0;
}

static int cmd_figures(ns_store *s, int argc, char **argv)
{
	const char *region = NULL, *asof = NULL;
	int csv = 0, rc;
	int32_t today;
	size_t left = 0;
	json_t *j;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--region") == 0 && i + 1 < argc)
			region = argv[++i];
		else if (strcmp(argv[i], "--as-of") == 0 && i + 1 < argc)
			asof = argv[++i];
		else if (strcmp(argv[i], "--csv") == 0)
			csv = 1;
		else
			return usage();
	}
	if (today_or(asof, &today) != 0) {
		fprintf(stderr, "nomsync: figures: --as-of wants YYYY-MM-DD\n");
		return 2;
	}
	/* Deferred folds first, so that the figures count every event stored. */
	do
		rc = ns_store_fold_pending(s, 1024, &left, NULL);
	while (rc == 0 && left > 0);
	if (rc != 0 || (rc = ns_store_figures(s, region, today, &j, NULL)) != 0)
		return fail("figures", rc, NULL);
	if (csv) {
		char *text = ns_figures_csv(j);
		json_decref(j);
		if (text == NULL)
			return fail("figures", NS_ENOMEM, NULL);
		fputs(text, stdout);
		free(text);
		return 0;
	}
	rc = print_json(j);
	json_decref(j);
	return rc;
}

static int cmd_export(ns_store *s, int argc, char **argv)
{
	ns_vv_entry *since = NULL;
	size_t nsince = 0;
	uint64_t count = 0;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--since") == 0 && i + 1 < argc) {
			json_error_t je;
			ns_diag d;
			json_t *j = json_load_file(argv[++i], 0, &je);
			if (j == NULL) {
				fprintf(stderr, "nomsync: export: %s: line %d: %s\n", argv[i], je.line, je.text);
				return 1;
			}
			ns_diag_clear(&d);
			rc = ns_vector_from_json(j, &since, &nsince, &d);
			json_decref(j);
			if (rc != 0)
				return fail("export --since", rc, &d);
		} else {
			free(since);
			return usage();
		}
	}
	if (isatty(STDOUT_FILENO)) {
		free(since);
		fprintf(stderr, "nomsync: export: refusing to write a binary bundle to a terminal\n");
		return 1;
	}
	rc = ns_bundle_export(s, since, nsince, stdout, &count);
	free(since);
	if (rc != 0)
		return fail("export", rc, NULL);
	fprintf(stderr, "nomsync: exported %llu events\n", (unsigned long long)count);
	return 0;
}

static void import_warn(void *arg, const ns_event *ev, const ns_diag *d)
{
	(void)arg;
	fprintf(stderr, "nomsync: import: roster change seq %llu not applied: %s: %s\n",
		(unsigned long long)ev->seq, d->field, d->msg);
}

/* The authority's highest contiguous seq in the store's vector (0 if none). */
static uint64_t authority_seq(ns_store *s, const uint8_t *authority)
{
	ns_vv_entry *vv;
	size_t n;
	uint64_t seq = 0;

	if (ns_store_vector(s, &vv, &n) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (memcmp(vv[i].origin, authority, NS_KEY_BYTES) == 0)
			seq = vv[i].seq;
	free(vv);
	return seq;
}

/*
 * Who sealed the bundle, as far as anyone can tell: with a roster, the site
 * the roster names for the exporter's key (or that it names none); without
 * one, only what the trailer claims about itself.
 */
static void import_exporter(const ns_import_report *r, const ns_roster *roster)
{
	const ns_roster_entry *e = roster ? ns_roster_by_key(roster, r->exporter_key) : NULL;
	char key[2 * NS_KEY_BYTES + 1], when[21];

	ns_hex(key, r->exporter_key, NS_KEY_BYTES);
	ns_time_format(when, r->created_at);
	if (e != NULL && strcmp(e->site, r->exporter) == 0)
		printf("exported by %s (in the roster)", e->site);
	else if (e != NULL)
		printf("exported by %s (in the roster; the bundle claims %s)", e->site, r->exporter);
	else if (roster != NULL)
		printf("exporter key %s not in the roster (the bundle claims %s)", key, r->exporter);
	else
		printf("exported by %s (self-declared, not checked against a roster; key %s)", r->exporter, key);
	if (r->version >= 2)
		printf(" on %s\n", when);
	else
		printf("; a format-1 bundle: its site and time are not signed, unverified\n");
}

/*
 * import FILE --config NOMSYNCD.conf | --no-roster. With the node's config,
 * events are also checked against the roster in force (file, authority
 * signature and the authority's changes held in the store), as nomsyncd
 * checks them. A bundle that carries roster changes is imported again after
 * them, so the events of a site it adds are applied too. Without a roster
 * any key could sign events claiming any site, so that takes --no-roster,
 * said out loud and counted.
 */
static int cmd_import(ns_store *s, int argc, char **argv)
{
	ns_import_report r, total = { 0 };
	const char *file = NULL, *conf = NULL;
	ns_config *cfg = NULL;
	ns_roster roster;
	const uint8_t *auth = NULL;
	uint64_t seen = 0;
	ns_diag d;
	int rc = 0, have_roster = 0, no_roster = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc && conf == NULL)
			conf = argv[++i];
		else if (strcmp(argv[i], "--no-roster") == 0)
			no_roster = 1;
		else if (argv[i][0] != '-' && file == NULL)
			file = argv[i];
		else
			return usage();
	}
	if (file == NULL)
		return usage();
	if (conf != NULL && no_roster) {
		fprintf(stderr, "nomsync: import: --config and --no-roster exclude each other\n");
		return 2;
	}
	if (conf == NULL && !no_roster) {
		fprintf(stderr, "nomsync: import: no roster to check the bundle's events against: give --config "
				"NOMSYNCD.conf (the node's config: its roster in force, as nomsyncd checks "
				"events), or --no-roster to trust every correctly signed event whoever signed it "
				"(labs and tests only)\n");
		return 2;
	}
	ns_diag_clear(&d);
	if (conf != NULL) {
		if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
			return fail("import", NS_ENOMEM, NULL);
		if ((rc = ns_config_load(conf, cfg, &d)) != 0) {
			free(cfg);
			return fail("import", rc, &d);
		}
		auth = cfg->has_authority ? cfg->authority : NULL;
	} else {
		fprintf(stderr, "nomsync: import: WARNING: --no-roster: events are NOT checked against any "
				"roster; every correctly signed event is applied, whoever signed it and whatever "
				"site it claims (counted as imported.no_roster)\n");
	}
	for (int pass = 0; pass < 4; pass++) {
		if (cfg != NULL) {
			if (have_roster)
				ns_roster_free(&roster);
			if ((rc = ns_roster_load_store(cfg->roster, auth, s, &roster, &seen, import_warn, NULL, &d)) != 0)
				break;
			have_roster = 1;
			ns_store_set_trust(s, ns_roster_trust, &roster);
		}
		if ((rc = ns_bundle_import(s, file, &r, &d)) != 0)
			break;
		if (pass == 0) {
			total = r;
		} else { /* events refused for want of a roster change are retried */
			total.applied += r.applied;
			total.held = r.held;
			total.rejected = r.rejected;
			total.proofs += r.proofs;
			total.duplicates = total.events - total.applied - total.held - total.rejected;
		}
		if (auth == NULL || r.rejected == 0 || authority_seq(s, auth) <= seen)
			break;
	}
	ns_store_set_trust(s, NULL, NULL);
	if (no_roster) { /* after a failure too: the batches applied before it stay applied */
		int crc = ns_store_count(s, "imported.no_roster", r.applied);
		if (rc == 0)
			rc = crc;
	}
	if (rc == 0) {
		printf("imported bundle: %llu events, %llu applied, %llu duplicate, %llu held, %llu rejected, "
		       "%llu proofs\n",
		       (unsigned long long)total.events, (unsigned long long)total.applied,
		       (unsigned long long)total.duplicates, (unsigned long long)total.held,
		       (unsigned long long)total.rejected, (unsigned long long)total.proofs);
		import_exporter(&total, have_roster ? &roster : NULL);
	}
	if (have_roster)
		ns_roster_free(&roster);
	free(cfg);
	return rc != 0 ? fail("import", rc, &d) : 0;
}

/*
 * The running daemon writes its status to DIR/nomsyncd.status.json every
 * second. 0 and @p st filled, 1 if there is no such file, or an error (in @p d).
 */
static int load_daemon_status(const char *dir, ns_node_status *st, ns_diag *d)
{
	char path[4200];
	json_t *j;
	int rc;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "%s/nomsyncd.status.json", dir);
	if ((j = json_load_file(path, 0, NULL)) == NULL)
		return 1;
	if ((rc = ns_status_from_json(j, st, d)) != 0)
		ns_status_free(st);
	json_decref(j);
	return rc;
}

static void print_daemon_status(const char *dir)
{
	ns_node_status st;
	ns_diag d;
	int rc = load_daemon_status(dir, &st, &d);

	if (rc == 1) {
		printf("daemon: no status file (nomsyncd not running here)\n");
		return;
	}
	if (rc != 0) {
		printf("daemon: unreadable status file: %s\n", d.msg);
		return;
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	long long age = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 - (long long)st.written_at_ms;
	printf("daemon: pid %lld, listening on %s, status written %.1f s ago%s\n", (long long)st.pid, st.listen,
	       age / 1000.0, age > 5000 ? " (stale: daemon stopped?)" : "");
	printf("peers:\n");
	for (size_t i = 0; i < st.npeers; i++) {
		const ns_peer_status *p = &st.peers[i];
		long long last = (long long)p->last_contact_ms_ago;
		printf("  %-8s %-8s %-9s last contact %s%.1f s ago, behind %lld events (%.1f s), sent %lld, "
		       "received %lld, rejected %lld\n",
		       p->site, p->outbound ? "outbound" : "inbound", ns_peer_state_name(p->state),
		       last < 0 ? "never " : "", last < 0 ? 0.0 : last / 1000.0, (long long)p->behind_events,
		       p->behind_seconds, (long long)p->sent_events, (long long)p->received_events,
		       (long long)p->rejected_events);
	}
	printf("connections refused (not in roster): %lld, frames rejected: %lld\n",
	       (long long)st.connections_refused, (long long)st.frames_rejected);
	printf("deferred after a catch-up: %lld records to rebuild, %lld events to index\n",
	       (long long)st.folds_pending, (long long)st.ids_pending);
	if (st.appends_held)
		printf("appends HELD: restored store, catching up this site's own events from its peers\n");
	if (st.nats.enabled)
		printf("NATS: %s, publishing lag %llu events (%.1f s), published %llu events and %llu views, %llu "
		       "failed (resent), consumed %llu, dead letters %llu\n",
		       st.nats.connected ? "connected" : "DISCONNECTED", (unsigned long long)st.nats.lag_events,
		       st.nats.lag_seconds, (unsigned long long)st.nats.published,
		       (unsigned long long)st.nats.views_published, (unsigned long long)st.nats.failed,
		       (unsigned long long)st.nats.consumed, (unsigned long long)st.nats.dead_letters);
	ns_status_free(&st);
}

static int cmd_status(ns_store *s, int argc, char **argv)
{
	const ns_identity *id = ns_store_identity(s);
	ns_vv_entry *v;
	ns_counter *c;
	size_t nv, nc;
	uint64_t persons = 0, events = 0;
	int json = argc > 1 && strcmp(argv[1], "--json") == 0, rc;

	if ((rc = ns_store_vector(s, &v, &nv)) != 0 || (rc = ns_store_counters(s, &c, &nc)) != 0 ||
	    (rc = ns_store_stats(s, &persons, &events)) != 0) {
		return fail("status", rc, NULL);
	}
	if (json) {
		json_t *j = json_object(), *cj = json_object();
		for (size_t i = 0; i < nc; i++)
			json_object_set_new(cj, c[i].name, json_integer((json_int_t)c[i].value));
		json_object_set_new(j, "site", json_string(id->site));
		json_object_set_new(j, "role", json_string(ns_role_name(id->role)));
		json_object_set_new(j, "persons", json_integer((json_int_t)persons));
		json_object_set_new(j, "events", json_integer((json_int_t)events));
		json_object_set_new(j, "vector", ns_vector_to_json(v, nv));
		json_object_set_new(j, "counters", cj);
		{
			/* An unreadable status file reads as no daemon. */
			ns_node_status st;
			json_t *dj = NULL;
			if (load_daemon_status(ns_store_dir(s), &st, NULL) == 0) {
				dj = ns_status_to_json(&st);
				ns_status_free(&st);
			}
			json_object_set_new(j, "daemon", dj ? dj : json_null());
		}
		rc = print_json(j);
		json_decref(j);
	} else {
		printf("site %s (%s): %llu events, %llu persons\n", id->site, ns_role_name(id->role),
		       (unsigned long long)events, (unsigned long long)persons);
		printf("version vector:\n");
		for (size_t i = 0; i < nv; i++) {
			char o[2 * NS_KEY_BYTES + 1];
			ns_hex(o, v[i].origin, NS_KEY_BYTES);
			printf("  %-8s %-9s seq %-8llu held %-6llu %s%s\n", v[i].site,
			       ns_role_name(v[i].role) ? ns_role_name(v[i].role) : "?",
			       (unsigned long long)v[i].seq, (unsigned long long)v[i].held, o,
			       v[i].quarantined ? "  QUARANTINED (equivocation)" : "");
		}
		printf("counters:\n");
		for (size_t i = 0; i < nc; i++)
			printf("  %-28s %llu\n", c[i].name, (unsigned long long)c[i].value);
		print_daemon_status(ns_store_dir(s));
	}
	free(v);
	free(c);
	return rc;
}

static int cmd_roster_sign(ns_store *s, int argc, char **argv)
{
	const ns_identity *id = ns_store_identity(s);
	char *text, *out, tmp[4200];
	size_t len, olen;
	FILE *f;

	if (argc != 2)
		return usage();
	if (id->role != NS_ROLE_AUTHORITY) {
		fprintf(stderr, "nomsync: roster-sign: this store is a %s, not the roster authority\n", ns_role_name(id->role));
		return 1;
	}
	if (read_all(argv[1], &text, &len) != 0)
		return 1;
	ns_roster r;
	ns_diag d;
	ns_diag_clear(&d);
	if (ns_roster_parse(text, len, &r, &d) != 0) {
		free(text);
		return fail("roster-sign", NS_ECONFIG, &d);
	}
	ns_roster_free(&r);
	int rc = ns_roster_sign(text, len, id, &out, &olen);
	free(text);
	if (rc != 0)
		return fail("roster-sign", rc, NULL);
	snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
	if ((f = fopen(tmp, "w")) == NULL || fwrite(out, 1, olen, f) != olen || fclose(f) != 0 || rename(tmp, argv[1]) != 0) {
		free(out);
		fprintf(stderr, "nomsync: roster-sign: cannot write %s\n", argv[1]);
		return 1;
	}
	free(out);
	char pk[2 * NS_KEY_BYTES + 1];
	ns_hex(pk, id->pk, NS_KEY_BYTES);
	printf("signed %s with authority key %s\n", argv[1], pk);
	return 0;
}

static int cmd_hold(ns_store *s, int hold)
{
	int rc = ns_store_hold(s, hold);
	if (rc != 0)
		return fail(hold ? "hold" : "release", rc, NULL);
	puts(hold ? "appends held until nomsyncd has caught up this site's own events from its peers"
		  : "appends released");
	return 0;
}

static int cmd_rekey(ns_store *s)
{
	char old[2 * NS_KEY_BYTES + 1], pk[2 * NS_KEY_BYTES + 1];
	ns_diag d;
	int rc;

	ns_hex(old, ns_store_identity(s)->pk, NS_KEY_BYTES);
	ns_diag_clear(&d);
	if ((rc = ns_store_rekey(s, &d)) != 0)
		return fail("rekey", rc, &d);
	ns_hex(pk, ns_store_identity(s)->pk, NS_KEY_BYTES);
	printf("old %s\nnew %s\n", old, pk);
	fprintf(stderr, "nomsync: the roster authority must now publish roster.key.rotated for %s; restart nomsyncd\n",
		ns_store_identity(s)->site);
	return 0;
}

static int cmd_erase(ns_store *s, int argc, char **argv)
{
	uint8_t id[NS_ID_BYTES], eid[NS_ID_BYTES];
	char hex[2 * NS_ID_BYTES + 1];
	const char *reason = NULL, *by = NULL, *target = NULL;
	ns_diag d;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc)
			reason = argv[++i];
		else if (strcmp(argv[i], "--requested-by") == 0 && i + 1 < argc)
			by = argv[++i];
		else if (target == NULL && argv[i][0] != '-')
			target = argv[i];
		else
			target = "";
	}
	if (target == NULL || reason == NULL || ns_unhex(id, NS_ID_BYTES, target) != 0) {
		fprintf(stderr, "nomsync: erase: expected a 64-hex event id and --reason "
				"DATA_PROTECTION_REQUEST|RETENTION_EXPIRED|RECORDED_IN_ERROR [--requested-by REF]\n");
		return 2;
	}
	ns_diag_clear(&d);
	if ((rc = ns_store_erase(s, id, reason, by, eid, &d)) != 0)
		return fail("erase", rc, &d);
	ns_hex(hex, eid, NS_ID_BYTES);
	printf("erased payload of %s by event %s\n", target, hex);
	return 0;
}

/*
 * After an erasure was applied (by erase, or by an append or import that
 * carried one): compact now if no other process has the store open, else
 * say who will.
 */
static int scrub(ns_store *s, int asked)
{
	ns_diag d;
	int rc;

	if (!asked && !ns_store_scrub_due(s))
		return 0;
	ns_diag_clear(&d);
	if ((rc = ns_store_compact(s, &d)) == 0) {
		fprintf(stderr, "nomsync: store compacted: erased bytes are gone from %s/data.mdb\n", ns_store_dir(s));
		return 0;
	}
	if (rc == NS_ELOCKED) {
		fprintf(stderr, "nomsync: erased bytes remain in the store's free pages until it is compacted: "
				"nomsyncd does so by itself once no other process has the store open (else run "
				"'nomsync compact')\n");
		return asked ? 1 : 0;
	}
	return fail("compact", rc, &d);
}

/* The rules of message @p m, one line each; nested fields under @p prefix. */
static void print_rules(const ns_message_spec *m, const char *prefix)
{
	char path[96];

	for (size_t i = 0; i < m->nrules; i++) {
		const ns_rule *r = &m->rules[i];

		snprintf(path, sizeof(path), "%s%s", prefix, r->field);
		if (NS_RULE_IS_CHECK(r->kind)) {
			printf("    check %-15s %s", ns_rule_kind_name(r->kind), path);
			if (r->other != NULL)
				printf(" %s", r->other);
			if (r->kind == NS_CHECK_TERM)
				printf(" unless %s", r->value);
			if (r->kind == NS_CHECK_ROLE_ONLY)
				printf(" for a %s site", ns_role_name(r->role));
			if (r->kind == NS_CHECK_WHEN)
				printf(" is %s", r->value);
			if (r->kind == NS_CHECK_DISTINCT)
				printf(" (at most %lld)", r->min);
			for (size_t j = 0; r->values != NULL && r->values[j] != NULL; j++)
				printf("%s%s", j ? " " : ": ", r->values[j]);
			printf("\n");
			continue;
		}
		printf("    %-26s %-13s %-8s %s", path, ns_rule_kind_name(r->kind),
		       (r->flags & NS_REQ) ? "required" : "", r->label);
		if (r->other != NULL)
			printf(" (of %s)", r->other);
		if (r->value != NULL)
			printf(" (%s)", r->value);
		if (r->kind == NS_RULE_INT)
			printf(" (at least %lld)", r->min);
		printf("\n");
		for (size_t j = 0; r->kind == NS_RULE_ENUM && r->values[j]; j++)
			printf("%s%s", j ? " " : "      values: ", r->values[j]);
		if (r->kind == NS_RULE_ENUM)
			printf("\n");
		if (r->sub != NULL) {
			char sub[sizeof(path) + 3];
			snprintf(sub, sizeof(sub), "%s[].", path);
			print_rules(r->sub, sub);
		}
	}
}

/* `nomsync catalogue [--json]`: the event catalogue (include/nomsync/catalogue.h). */
static int cmd_catalogue(int argc, char **argv)
{
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json") != 0))
		return usage();
	if (argc == 2) {
		json_t *j = ns_catalogue_to_json();
		char *txt = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
		json_decref(j);
		if (txt == NULL) {
			fprintf(stderr, "nomsync: out of memory\n");
			return 1;
		}
		printf("%s\n", txt);
		free(txt);
		return 0;
	}
	for (size_t i = 0; i < ns_catalogue_count(); i++) {
		const ns_event_spec *t = ns_catalogue_at(i);

		printf("%s (%u): %s; emitted by", t->name, (unsigned)t->type, t->label);
		for (int r = NS_ROLE_PRISON; r <= NS_ROLE_AUTHORITY; r++)
			if ((t->roles >> r) & 1u)
				printf(" %s", ns_role_name((ns_role)r));
		printf("\n");
		print_rules(&t->payload, "");
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = getenv("NOMSYNC_DIR");
	ns_store *s = NULL;
	const char *cmd;
	int i = 1, rc;

	while (i < argc && argv[i][0] == '-' && argv[i][1] == '-') {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
			dir = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--dir=", 6) == 0) {
			dir = argv[i] + 6;
			i++;
		} else if (strcmp(argv[i], "--help") == 0) {
			fputs(usage_text, stdout);
			return 0;
		} else {
			return usage();
		}
	}
	if (i >= argc)
		return usage();
	if (ns_crypto_init() != 0) {
		fprintf(stderr, "nomsync: cannot initialise libsodium\n");
		return 1;
	}
	cmd = argv[i];
	argc -= i;
	argv += i;
	if (strcmp(cmd, "init") == 0)
		return cmd_init(dir, argc, argv);
	if (strcmp(cmd, "audit") == 0)
		return cmd_audit(dir, argc, argv);
	if (strcmp(cmd, "token") == 0)
		return ns__cmd_token(argc, argv);
	if (strcmp(cmd, "catalogue") == 0) {
		rc = cmd_catalogue(argc, argv);
		if (fflush(stdout) != 0) {
			fprintf(stderr, "nomsync: write error on stdout\n");
			rc = 1;
		}
		return rc;
	}

	static const char *const known[] = { "id",     "append", "show",   "log",    "verify",      "vector",
					     "digest", "export", "import", "status", "erase",       "roster-sign",
					     "hold",   "release", "rekey",  "compact", "figures" };
	int ok = 0;
	for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
		ok |= strcmp(cmd, known[k]) == 0;
	if (!ok) {
		fprintf(stderr, "nomsync: unknown command '%s'\n", cmd);
		return usage();
	}
	if ((rc = open_store(dir, 0, &s)) != 0)
		return rc;
	if (strcmp(cmd, "id") == 0)
		rc = cmd_id(s, argc > 1 && strcmp(argv[1], "--json") == 0);
	else if (strcmp(cmd, "append") == 0)
		rc = cmd_append(s, argc, argv);
	else if (strcmp(cmd, "show") == 0)
		rc = cmd_show(s, argc, argv);
	else if (strcmp(cmd, "log") == 0)
		rc = cmd_log(s, argc, argv);
	else if (strcmp(cmd, "verify") == 0)
		rc = cmd_verify(s);
	else if (strcmp(cmd, "vector") == 0)
		rc = cmd_vector(s);
	else if (strcmp(cmd, "digest") == 0)
		rc = cmd_digest(s, argc, argv);
	else if (strcmp(cmd, "export") == 0)
		rc = cmd_export(s, argc, argv);
	else if (strcmp(cmd, "import") == 0)
		rc = cmd_import(s, argc, argv);
	else if (strcmp(cmd, "status") == 0)
		rc = cmd_status(s, argc, argv);
	else if (strcmp(cmd, "figures") == 0)
		rc = cmd_figures(s, argc, argv);
	else if (strcmp(cmd, "roster-sign") == 0)
		rc = cmd_roster_sign(s, argc, argv);
	else if (strcmp(cmd, "hold") == 0 || strcmp(cmd, "release") == 0)
		rc = argc == 1 ? cmd_hold(s, cmd[0] == 'h') : usage();
	else if (strcmp(cmd, "rekey") == 0)
		rc = argc == 1 ? cmd_rekey(s) : usage();
	else if (strcmp(cmd, "compact") == 0)
		rc = argc == 1 ? scrub(s, 1) : usage();
	else
		rc = cmd_erase(s, argc, argv);
	/* Appended events (erase and rekey append one), imported ones: a running nomsyncd sends them on now. */
	if (strcmp(cmd, "erase") == 0 || strcmp(cmd, "import") == 0 || strcmp(cmd, "rekey") == 0)
		ns_store_notify(s);
	if (rc == 0 && (strcmp(cmd, "erase") == 0 || strcmp(cmd, "append") == 0 || strcmp(cmd, "import") == 0))
		rc = scrub(s, 0);
	ns_store_close(s);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "nomsync: write error on stdout\n");
		rc = 1;
	}
	return rc;
}
