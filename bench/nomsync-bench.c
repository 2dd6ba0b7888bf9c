/*
 * nomsync-bench: the measuring programs behind bench/run.sh.
 *
 *   nomsync-bench limits   [--seconds S] [--tmp DIR] [--only verify|fsync]
 *   nomsync-bench append   --gen FILE.jsonl --dir DIR --events N [--batch B]
 *   nomsync-bench alerts   --out FILE.jsonl [--events N] [--bytes B]
 *   nomsync-bench prep     --gen GENDIR --dir DIR [--events N] --roster FILE
 *                          [--defer-fold [--fold-threads T] [--leave-pending]]
 *   nomsync-bench pending  --dir DIR [--fold-threads T] [--only fold|index] [--step P] [--sync]
 *   nomsync-bench fold     --gen GENDIR [--persons P]
 *   nomsync-bench refold   --dir DIR [--persons P] [--events E] [--fold-cache-mib M]
 *   nomsync-bench catchup  --nomsyncd BIN --config CONF --dir DIR --events N
 *                          [--timeout S] [--log FILE] [--pidfile FILE] [--peer-pid PID]
 *   nomsync-bench live     --src DIR --dst DIR --refs FILE [--samples S] [--gap-ms G]
 *   nomsync-bench refs     --dir DIR [--max M]
 *   nomsync-bench http     --addr HOST:PORT --token T --refs FILE|--path PATH [--rate R]
 *                          [--seconds S] [--conns C] [--warmup S]
 *   nomsync-bench wait     --http HOST:PORT [--timeout S] [--pid PID]
 *   nomsync-bench get      --http HOST:PORT --path /metrics --token T
 *   nomsync-bench startup  --nomsyncd BIN --config CONF --http HOST:PORT [--runs R] [--log FILE]
 *
 * Every command prints its figures on stdout as "name value" lines (values
 * in events/s, seconds, milliseconds, microseconds or KiB, as the name
 * says) and progress on stderr. bench/run.sh strings them together into one
 * run and prints the table; docs/PERFORMANCE.md explains each figure.
 */
#define _GNU_SOURCE /* ppoll */
#include <nomsync/date.h>
#include <nomsync/event.h>
#include <nomsync/fold.h>
#include <nomsync/json.h>
#include <nomsync/store.h>
#include <nomsync/validate.h>

#include <lmdb.h>
#include <sodium.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * Small helpers.
 */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts;
	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("nomsync-bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("  .. ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* One figure on stdout. */
static void out(const char *name, double v)
{
	printf("%s %.4f\n", name, v);
	fflush(stdout);
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);
	if (p == NULL)
		die("out of memory");
	return p;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Percentile (nearest rank) of @n sorted values. */
static double pct(const double *sorted, size_t n, double p)
{
	if (n == 0)
		return 0;
	size_t r = (size_t)(p * (double)n + 0.999999);
	if (r < 1)
		r = 1;
	if (r > n)
		r = n;
	return sorted[r - 1];
}

static const char *opt(int argc, char **argv, const char *name, const char *def)
{
	for (int i = 2; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return def;
}

/* 1 if the option @p name (without a value) is given. */
static int flag(int argc, char **argv, const char *name)
{
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

static const char *need(int argc, char **argv, const char *name)
{
	const char *v = opt(argc, argv, name, NULL);
	if (v == NULL)
		die("%s: %s is required", argv[1], name);
	return v;
}

static double optd(int argc, char **argv, const char *name, double def)
{
	const char *v = opt(argc, argv, name, NULL);
	return v ? strtod(v, NULL) : def;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		die("cannot read %s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		die("cannot size %s", path);
	buf = xcalloc((size_t)n + 1, 1);
	if (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)
		die("short read on %s", path);
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

/* Split @buf in place into non-empty lines. */
static size_t split_lines(char *buf, size_t len, char ***lines, size_t **lens)
{
	size_t n = 0, cap = 1024;
	char **l = xcalloc(cap, sizeof(*l));
	size_t *ll = xcalloc(cap, sizeof(*ll));

	for (size_t i = 0; i < len;) {
		char *nl = memchr(buf + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - buf) : len;
		if (e > i) {
			if (n == cap) {
				cap *= 2;
				l = realloc(l, cap * sizeof(*l));
				ll = realloc(ll, cap * sizeof(*ll));
				if (l == NULL || ll == NULL)
					die("out of memory");
			}
			l[n] = buf + i;
			ll[n] = e - i;
			n++;
		}
		if (nl)
			*nl = '\0';
		i = e + 1;
	}
	*lines = l;
	*lens = ll;
	return n;
}

static unsigned ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? (uint32_t)(rng % n) : 0;
}

static ns_store *open_store(const char *dir, unsigned flags)
{
	ns_store *s;
	ns_diag d;
	int rc;

	ns_diag_clear(&d);
	if ((rc = ns_store_open(dir, flags, &s, &d)) != 0)
		die("cannot open store %s: %s", dir, d.msg[0] ? d.msg : ns_strerror(rc));
	return s;
}

static int parse_input(const char *json, ns_input *in)
{
	ns_diag d;
	int rc;
	memset(in, 0, sizeof(*in));
	ns_diag_clear(&d);
	if ((rc = ns_input_parse(json, strlen(json), in, &d)) != 0)
		die("bad benchmark event %s: %s: %s", json, d.field, d.msg);
	return rc;
}

/* Lines of a file of refs (one per line). */
static char **read_refs(const char *path, size_t *n)
{
	size_t len, *lens;
	char **lines, *buf = read_file(path, &len);
	*n = split_lines(buf, len, &lines, &lens);
	free(lens);
	if (*n == 0)
		die("%s holds no refs", path);
	return lines; /* points into buf, kept for the process lifetime */
}

/* Fields "Name:   123 kB" of /proc/PID/status, in KiB; -1 if absent. */
static long proc_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t fl = strlen(field);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
			v = strtol(line + fl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* A field of /proc/PID/io ("write_bytes", "wchar", ...); -1 if unreadable. */
static double proc_io(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t fl = strlen(field);
	double v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/io", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, fl) == 0 && line[fl] == ':') {
			v = strtod(line + fl + 1, NULL);
			break;
		}
	fclose(f);
	return v;
}

/* CPU seconds (user + system) used so far by process @pid; -1 if unknown. */
static double proc_cpu(pid_t pid)
{
	char path[64], buf[2048];
	unsigned long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the command name may hold spaces */
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static pid_t spawn(const char *bin, const char *config, const char *log)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execl(bin, bin, "--config", config, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static int parse_addr(const char *addr, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(addr, ':');
	if (colon == NULL || (size_t)(colon - addr) >= sizeof(host))
		return -1;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

/*
 * limits: what the machine can do, measured in this run.
 */

typedef struct vthread {
	const uint8_t *pk, *sig, *msg;
	size_t len;
	double until;
	uint64_t count;
	int sign;
	const uint8_t *sk;
} vthread;

static void *crypto_thread(void *arg)
{
	vthread *t = arg;
	uint8_t sig[crypto_sign_BYTES];
	uint64_t c = 0;

	for (;;) {
		for (int i = 0; i < 64; i++) {
			if (t->sign)
				crypto_sign_detached(sig, NULL, t->msg, t->len, t->sk);
			else if (crypto_sign_verify_detached(t->sig, t->msg, t->len, t->pk) != 0)
				die("verification failed");
		}
		c += 64;
		if (now_s() >= t->until)
			break;
	}
	t->count = c;
	return NULL;
}

/* Operations per second of verify (or sign) on @threads threads for @secs. */
static double crypto_rate(unsigned threads, double secs, int sign)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], sig[crypto_sign_BYTES], msg[400];
	pthread_t th[256];
	vthread t[256];
	uint64_t total = 0;
	double t0;

	if (threads > 256)
		threads = 256;
	randombytes_buf(msg, sizeof(msg));
	crypto_sign_keypair(pk, sk);
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), sk);
	t0 = now_s();
	for (unsigned i = 0; i < threads; i++) {
		t[i] = (vthread){ .pk = pk, .sig = sig, .msg = msg, .len = sizeof(msg), .until = t0 + secs, .sign = sign, .sk = sk };
		if (pthread_create(&th[i], NULL, crypto_thread, &t[i]) != 0)
			die("pthread_create failed");
	}
	for (unsigned i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		total += t[i].count;
	}
	return (double)total / (now_s() - t0);
}

/* Commits per second of an LMDB environment with one 400-byte put per synced transaction. */
static double lmdb_sync_rate(const char *tmp, double secs, int per_txn)
{
	char dir[4096];
	MDB_env *env;
	MDB_dbi dbi;
	MDB_txn *txn;
	uint8_t val[400];
	uint64_t n = 0, key = 0;
	double t0, t;

	snprintf(dir, sizeof(dir), "%s/nsb-lmdb-XXXXXX", tmp);
	if (mkdtemp(dir) == NULL)
		die("mkdtemp in %s: %s", tmp, strerror(errno));
	randombytes_buf(val, sizeof(val));
	if (mdb_env_create(&env) != 0 || mdb_env_set_mapsize(env, (size_t)1 << 30) != 0 ||
	    mdb_env_open(env, dir, 0, 0600) != 0)
		die("cannot open LMDB in %s", dir);
	if (mdb_txn_begin(env, NULL, 0, &txn) != 0 || mdb_dbi_open(txn, NULL, 0, &dbi) != 0 || mdb_txn_commit(txn) != 0)
		die("LMDB setup failed");
	t0 = now_s();
	do {
		if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
			die("mdb_txn_begin failed");
		for (int i = 0; i < per_txn; i++) {
			uint64_t k = ++key;
			MDB_val mk = { sizeof(k), &k }, mv = { sizeof(val), val };
			if (mdb_put(txn, dbi, &mk, &mv, 0) != 0)
				die("mdb_put failed");
		}
		if (mdb_txn_commit(txn) != 0)
			die("mdb_txn_commit failed");
		n += (uint64_t)per_txn;
		t = now_s();
	} while (t - t0 < secs);
	mdb_env_close(env);
	{
		char p[4200];
		snprintf(p, sizeof(p), "%s/data.mdb", dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/lock.mdb", dir);
		unlink(p);
		rmdir(dir);
	}
	return (double)n / (t - t0);
}

static int cmd_limits(int argc, char **argv)
{
	double secs = optd(argc, argv, "--seconds", 2.0);
	const char *tmp = opt(argc, argv, "--tmp", "/tmp");
	unsigned n = ncpu();

	if (strcmp(opt(argc, argv, "--only", ""), "verify") == 0) {
		out("limit.verify_allcores", crypto_rate(n, secs, 0));
		return 0;
	}
	if (strcmp(opt(argc, argv, "--only", ""), "fsync") == 0) {
		out("limit.lmdb_sync_commits", lmdb_sync_rate(tmp, secs, 1));
		return 0;
	}
	note("limits: Ed25519 sign and verify of 400-byte messages, LMDB synced commits (%.1f s each)", secs);
	out("limit.sign_1core", crypto_rate(1, secs, 1));
	out("limit.verify_1core", crypto_rate(1, secs, 0));
	out("limit.verify_allcores", crypto_rate(n, secs, 0));
	out("limit.threads", n);
	out("limit.lmdb_sync_commits", lmdb_sync_rate(tmp, secs, 1));
	out("limit.lmdb_batched_puts", lmdb_sync_rate(tmp, secs / 2, 1000));
	return 0;
}

/*
 * Generator output: one JSON-lines file per site, signed here.
 */

typedef struct gfile {
	char site[NS_SITE_MAX];
	ns_role role;
	char *buf;
	size_t n, take;
	char **line;
	size_t *llen;
	ns_identity id;
	uint8_t **raw;
	size_t *rawlen;
	char (*off)[NS_REF_MAX];
	char (*link)[NS_REF_MAX];
	int64_t now;
	char err[300];
} gfile;

static ns_role role_of(const char *site)
{
	if (ns_is_prison(site))
		return NS_ROLE_PRISON;
	if (ns_is_region(site))
		return NS_ROLE_PROBATION;
	return NS_ROLE_COURT;
}

static int cmp_gfile(const void *a, const void *b)
{
	return strcmp(((const gfile *)a)->site, ((const gfile *)b)->site);
}

static size_t load_gendir(const char *dir, gfile **out)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	gfile *g = NULL;
	size_t n = 0;

	if (d == NULL)
		die("cannot open %s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		char path[4096];
		size_t len;
		if (l < 7 || strcmp(e->d_name + l - 6, ".jsonl") != 0 || l - 6 >= NS_SITE_MAX)
			continue;
		g = realloc(g, (n + 1) * sizeof(*g));
		if (g == NULL)
			die("out of memory");
		memset(&g[n], 0, sizeof(*g));
		memcpy(g[n].site, e->d_name, l - 6);
		g[n].role = role_of(g[n].site);
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		g[n].buf = read_file(path, &len);
		g[n].n = split_lines(g[n].buf, len, &g[n].line, &g[n].llen);
		g[n].take = g[n].n;
		n++;
	}
	closedir(d);
	if (n == 0)
		die("no *.jsonl files in %s", dir);
	qsort(g, n, sizeof(*g), cmp_gfile);
	*out = g;
	return n;
}

typedef struct evref {
	uint32_t f, i;
} evref;

/*
 * Interleave the files by relative position, so that the events of one
 * offender (spread over the court, prison and probation files, each in
 * offender order) sit close together, and keep the first @want. Each file
 * contributes a prefix, so every origin's chain stays gapless.
 */
static evref *merge_order(gfile *g, size_t ng, size_t want, size_t *nout)
{
	size_t total = 0, *cur = xcalloc(ng, sizeof(*cur));
	evref *o;

	for (size_t f = 0; f < ng; f++)
		total += g[f].n;
	if (want == 0 || want > total)
		want = total;
	o = xcalloc(want, sizeof(*o));
	for (size_t k = 0; k < want; k++) {
		size_t best = ng;
		double bv = 2.0;
		for (size_t f = 0; f < ng; f++) {
			if (cur[f] >= g[f].n)
				continue;
			double v = ((double)cur[f] + 0.5) / (double)g[f].n;
			if (v < bv) {
				bv = v;
				best = f;
			}
		}
		o[k].f = (uint32_t)best;
		o[k].i = (uint32_t)cur[best]++;
	}
	for (size_t f = 0; f < ng; f++)
		g[f].take = cur[f];
	free(cur);
	*nout = want;
	return o;
}

/* Parse, build and sign the first take lines of one file, chained. */
static int sign_file(gfile *f)
{
	uint8_t prev[NS_ID_BYTES] = { 0 };

	f->raw = xcalloc(f->take, sizeof(*f->raw));
	f->rawlen = xcalloc(f->take, sizeof(*f->rawlen));
	f->off = xcalloc(f->take, sizeof(*f->off));
	f->link = xcalloc(f->take, sizeof(*f->link));
	for (size_t i = 0; i < f->take; i++) {
		ns_input in;
		ns_event *ev;
		ns_diag d;
		int rc;

		memset(&in, 0, sizeof(in));
		ns_diag_clear(&d);
		if ((rc = ns_input_parse(f->line[i], f->llen[i], &in, &d)) != 0) {
			snprintf(f->err, sizeof(f->err), "%s line %zu: %s: %s", f->site, i + 1, d.field, d.msg);
			return rc;
		}
		snprintf(f->off[i], NS_REF_MAX, "%s", in.offender);
		if (in.type == NOMSYNC__EVENT_TYPE__PERSON_IDENTIFIER_ADDED && in.payload->person_identifier_added &&
		    in.payload->person_identifier_added->value) {
			const char *v = in.payload->person_identifier_added->value;
			if ((ns_is_noms(v) || ns_is_crn(v)) && strlen(v) < NS_REF_MAX)
				snprintf(f->link[i], NS_REF_MAX, "%s", v);
		}
		rc = ns_event_build(&f->id, i + 1, prev, in.occurred_at, f->now, in.offender, in.payload, &ev);
		ns_input_clear(&in);
		if (rc != 0) {
			snprintf(f->err, sizeof(f->err), "%s line %zu: cannot build: %s", f->site, i + 1, ns_strerror(rc));
			return rc;
		}
		memcpy(prev, ev->id, NS_ID_BYTES);
		f->raw[i] = malloc(ev->raw_len);
		if (f->raw[i] == NULL)
			die("out of memory");
		memcpy(f->raw[i], ev->raw, ev->raw_len);
		f->rawlen[i] = ev->raw_len;
		ns_event_free(ev);
	}
	return 0;
}

typedef struct signer {
	gfile *g;
	size_t ng;
	int *owner;
	int me;
} signer;

static void *sign_thread(void *arg)
{
	signer *s = arg;
	for (size_t f = 0; f < s->ng; f++)
		if (s->owner[f] == s->me && sign_file(&s->g[f]) != 0)
			break;
	return NULL;
}

/* Sign every file's first take lines, files spread over the cores. */
static void sign_all(gfile *g, size_t ng)
{
	unsigned nt = ncpu();
	int *owner = xcalloc(ng, sizeof(*owner));
	size_t *load = xcalloc(nt, sizeof(*load));
	pthread_t th[64];
	signer s[64];
	int64_t now = (int64_t)time(NULL);

	if (nt > 64)
		nt = 64;
	/* Largest file first, to the least loaded thread. */
	for (size_t k = 0; k < ng; k++) {
		size_t big = ng;
		for (size_t f = 0; f < ng; f++)
			if (owner[f] == 0 && (big == ng || g[f].take > g[big].take))
				big = f;
		unsigned least = 0;
		for (unsigned t = 1; t < nt; t++)
			if (load[t] < load[least])
				least = t;
		owner[big] = (int)least + 1;
		load[least] += g[big].take;
	}
	for (size_t f = 0; f < ng; f++) {
		owner[f]--;
		g[f].now = now;
	}
	for (unsigned t = 0; t < nt; t++) {
		s[t] = (signer){ g, ng, owner, (int)t };
		if (pthread_create(&th[t], NULL, sign_thread, &s[t]) != 0)
			die("pthread_create failed");
	}
	for (unsigned t = 0; t < nt; t++)
		pthread_join(th[t], NULL);
	for (size_t f = 0; f < ng; f++)
		if (g[f].err[0])
			die("%s", g[f].err);
	free(owner);
	free(load);
}

static ns_event *decode_raw(const uint8_t *raw, size_t len)
{
	ns_event *ev;
	ns_diag d;
	int rc = ns_event_decode(raw, len, &ev, &d);
	if (rc != 0)
		die("cannot decode an event just built: %s", ns_strerror(rc));
	return ev;
}

/*
 * prep: a source store holding N realistic events of several origins.
 */

static int cmd_prep(int argc, char **argv)
{
	const char *gendir = need(argc, argv, "--gen"), *dir = need(argc, argv, "--dir");
	const char *roster = need(argc, argv, "--roster");
	int defer = flag(argc, argv, "--defer-fold"), leave = flag(argc, argv, "--leave-pending");
	size_t want = (size_t)optd(argc, argv, "--events", 0), ng, n, bytes = 0;
	gfile *g;
	evref *order;
	ns_store *s;
	const ns_identity *me;
	double t0, t1, t2;
	uint64_t persons = 0, events = 0;
	FILE *rf;

	if (ns_crypto_init() != 0)
		die("libsodium");
	ng = load_gendir(gendir, &g);
	order = merge_order(g, ng, want, &n);
	s = open_store(dir, NS_STORE_NOSYNC);
	me = ns_store_identity(s);
	for (size_t f = 0; f < ng; f++) {
		if (strcmp(g[f].site, me->site) == 0 && g[f].role == me->role)
			g[f].id = *me; /* this node's own events: signed with its key */
		else if (ns_identity_generate(&g[f].id, g[f].site, g[f].role) != 0)
			die("cannot make a key for %s", g[f].site);
	}
	note("prep: signing %zu events of %zu origins", n, ng);
	t0 = now_s();
	sign_all(g, ng);
	for (size_t f = 0; f < ng; f++) {
		free(g[f].buf);
		g[f].buf = NULL;
		free(g[f].line);
		free(g[f].llen);
	}
	t1 = now_s();
	note("prep: signed in %.1f s; ingesting into %s", t1 - t0, dir);
	{
		const size_t B = 8192;
		ns_event **evs = xcalloc(B, sizeof(*evs));
		int *res = xcalloc(B, sizeof(*res));
		for (size_t k = 0; k < n; k += B) {
			size_t m = n - k < B ? n - k : B;
			for (size_t i = 0; i < m; i++) {
				gfile *f = &g[order[k + i].f];
				size_t j = order[k + i].i;
				evs[i] = decode_raw(f->raw[j], f->rawlen[j]);
				bytes += f->rawlen[j];
				res[i] = 0;
			}
			int rc = ns_store_ingest(s, evs, m, NS_INGEST_VERIFIED | (defer ? NS_INGEST_DEFER_FOLD : 0),
						 res, NULL);
			if (rc != 0)
				die("ingest failed: %s", ns_strerror(rc));
			for (size_t i = 0; i < m; i++) {
				if (res[i] != NS_INGEST_APPLIED)
					die("event %zu of the source was not applied: %d (%s)", k + i, res[i],
					    res[i] < 0 ? ns_strerror(res[i]) : "duplicate or held");
				ns_event_free(evs[i]);
			}
		}
		free(evs);
		free(res);
	}
	t2 = now_s();
	if (defer && !leave) {
		/*
		 * --defer-fold: every person folded after the ingest, through the
		 * store: ns_fold (with loading the events: the fold statistics)
		 * plus what the store writes at each re-fold (view, summary,
		 * aliases and, since issue 11, the figures record, its counters and
		 * indexes), in transactions of 1,000 persons, without fsync.
		 */
		size_t left = 1;
		ns_fold_stats fs;
		ns_diag d;
		if (ns_store_set_fold_threads(s, (unsigned)optd(argc, argv, "--fold-threads", 1)) != 0)
			die("--fold-threads: 1 to 64");
		while (left > 0)
			if (ns_store_fold_pending(s, 1000, &left, &d) != 0)
				die("fold_pending: %s", d.msg);
		double t3 = now_s();
		ns_store_fold_stats(s, &fs);
		out("storefold.persons", (double)fs.count);
		out("storefold.seconds", t3 - t2);
		out("storefold.fold_seconds", fs.sum);
		out("storefold.store_seconds", t3 - t2 - fs.sum);
		out("storefold.person_us", fs.count ? (t3 - t2) / (double)fs.count * 1e6 : 0);
		out("storefold.store_person_us", fs.count ? (t3 - t2 - fs.sum) / (double)fs.count * 1e6 : 0);
		note("prep: folded %llu persons through the store in %.2f s (ns_fold and loading %.2f s)",
		     (unsigned long long)fs.count, t3 - t2, fs.sum);
		/*
		 * And the id index, as a node has it once a catch-up has settled:
		 * else the daemon started on this store would index millions of
		 * ids while its requests are measured.
		 */
		for (left = 1; left > 0;)
			if (ns_store_index_pending(s, 1u << 20, &left, &d) != 0)
				die("index_pending: %s", d.msg);
		note("prep: id index built in %.1f s", now_s() - t3);
	}
	if (ns_store_stats(s, &persons, &events) != 0)
		die("stats failed");
	if ((rf = fopen(roster, "w")) == NULL)
		die("cannot write %s", roster);
	{
		char hex[2 * NS_KEY_BYTES + 1];
		ns_hex(hex, me->pk, NS_KEY_BYTES);
		fprintf(rf, "%s %s %s %s\n", me->site, ns_role_name(me->role),
			me->role == NS_ROLE_PROBATION ? me->site : "-", hex);
		for (size_t f = 0; f < ng; f++) {
			if (memcmp(g[f].id.pk, me->pk, NS_KEY_BYTES) == 0)
				continue;
			ns_hex(hex, g[f].id.pk, NS_KEY_BYTES);
			fprintf(rf, "%s %s %s %s\n", g[f].site, ns_role_name(g[f].role),
				g[f].role == NS_ROLE_PROBATION ? g[f].site : "-", hex);
		}
	}
	if (fclose(rf) != 0)
		die("cannot write %s", roster);
	ns_store_close(s);
	{
		/* Written without fsync for speed: flush now so that write-back does not disturb the measurements. */
		char p[4200];
		snprintf(p, sizeof(p), "%s/data.mdb", dir);
		int fd = open(p, O_RDONLY);
		if (fd < 0 || fsync(fd) != 0)
			die("cannot fsync %s", p);
		close(fd);
	}
	note("prep: %llu events, %llu persons in %.1f s (ingest %.1f s)", (unsigned long long)events,
	     (unsigned long long)persons, now_s() - t0, t2 - t1);
	out("prep.events", (double)events);
	out("prep.persons", (double)persons);
	out("prep.origins", (double)ng);
	out("prep.event_bytes_mean", (double)bytes / (double)(n ? n : 1));
	out("prep.sign_seconds", t1 - t0);
	out("prep.ingest_seconds", t2 - t1);
	return 0;
}

/* CPU seconds (user + system) of this process so far. */
static double cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/*
 * pending: run the deferred folds and then the deferred id index of a store
 * left by prep --defer-fold --leave-pending to completion, in the daemon's
 * steps (--step persons, 96 unless told, 2^16 ids: NS__FOLD_STEP, NS__INDEX_STEP), for measuring those
 * steps alone (e.g.
 * under perf stat or callgrind on a copy of the store). --only restricts it
 * to one of the two; --sync commits durably, as the daemon does.
 */
static int cmd_pending(int argc, char **argv)
{
	const char *dir = need(argc, argv, "--dir"), *only = opt(argc, argv, "--only", "");
	size_t step = (size_t)optd(argc, argv, "--step", 96);
	ns_store *s = open_store(dir, flag(argc, argv, "--sync") ? 0 : NS_STORE_NOSYNC);
	ns_fold_stats fs;
	size_t left;
	ns_diag d;
	double t0, c0, t1, c1;

	if (ns_store_set_fold_threads(s, (unsigned)optd(argc, argv, "--fold-threads", 1)) != 0)
		die("--fold-threads: 1 to 64");
	t0 = now_s();
	c0 = cpu_s();
	if (strcmp(only, "index") != 0)
		for (left = 1; left > 0;)
			if (ns_store_fold_pending(s, step, &left, &d) != 0)
				die("fold_pending: %s", d.msg);
	t1 = now_s();
	c1 = cpu_s();
	ns_store_fold_stats(s, &fs);
	out("pending.persons", (double)fs.count);
	out("pending.fold_seconds", t1 - t0);
	out("pending.fold_cpu_seconds", c1 - c0);
	out("pending.fold_cpu_person_us", fs.count ? (c1 - c0) / (double)fs.count * 1e6 : 0);
	if (strcmp(only, "fold") != 0)
		for (left = 1; left > 0;)
			if (ns_store_index_pending(s, 1u << 16, &left, &d) != 0)
				die("index_pending: %s", d.msg);
	out("pending.index_seconds", now_s() - t1);
	out("pending.index_cpu_seconds", cpu_s() - c1);
	ns_store_close(s);
	return 0;
}

/*
 * alerts: N alert.raised events whose signed encoding is about BYTES long
 * (the comment pads them), as JSON lines for prep: the fixed-size workload
 * of the comparison with Hypercore.
 */

static void alert_json(char *buf, size_t cap, unsigned k, size_t pad)
{
	char noms[8], t[21], date[11];
	int32_t day = ns_date_from_civil(2020, 1, 1) + (int32_t)(k / 5 % 2000);
	unsigned p = k / 5;

	snprintf(noms, sizeof(noms), "%c%04u%c%c", 'B' + (p / 10000) % 20, p % 10000, 'C' + (p / 200000) % 20, 'D');
	ns_time_format(t, (int64_t)day * 86400 + 9 * 3600 + k % 3600);
	ns_date_format(date, day);
	int l = snprintf(buf, cap,
			 "{\"type\":\"alert.raised\",\"offender\":\"%s\",\"occurred_at\":\"%s\",\"alert_type\":\"X\","
			 "\"alert_code\":\"XSA\",\"from_date\":\"%s\",\"comment\":\"",
			 noms, t, date);
	for (size_t i = 0; i < pad && (size_t)l + 3 < cap; i++)
		buf[l++] = (char)('a' + (k + i) % 26);
	snprintf(buf + l, cap - (size_t)l, "\"}");
}

static size_t alert_size(const ns_identity *id, unsigned k, size_t pad)
{
	char json[4096];
	uint8_t prev[NS_ID_BYTES] = { 0 };
	ns_input in;
	ns_event *ev;
	size_t n;

	alert_json(json, sizeof(json), k, pad);
	parse_input(json, &in);
	if (ns_event_build(id, k + 1, prev, in.occurred_at, (int64_t)time(NULL), in.offender, in.payload, &ev) != 0)
		die("cannot build an alert");
	n = ev->raw_len;
	ns_event_free(ev);
	ns_input_clear(&in);
	return n;
}

static int cmd_alerts(int argc, char **argv)
{
	const char *path = need(argc, argv, "--out");
	unsigned n = (unsigned)optd(argc, argv, "--events", 100000);
	size_t bytes = (size_t)optd(argc, argv, "--bytes", 400), pad = 0;
	ns_identity id;
	char json[4096];
	FILE *f;

	if (ns_crypto_init() != 0 || ns_identity_generate(&id, "MDI", NS_ROLE_PRISON) != 0)
		die("libsodium");
	for (int i = 0; i < 4; i++) {
		size_t have = alert_size(&id, n / 2, pad);
		if (have == bytes)
			break;
		pad = have < bytes ? pad + (bytes - have) : (pad > have - bytes ? pad - (have - bytes) : 0);
	}
	if ((f = fopen(path, "w")) == NULL)
		die("cannot write %s", path);
	for (unsigned k = 0; k < n; k++) {
		alert_json(json, sizeof(json), k, pad);
		fprintf(f, "%s\n", json);
	}
	if (fclose(f) != 0)
		die("cannot write %s", path);
	out("alerts.events", n);
	out("alerts.event_bytes", (double)alert_size(&id, n / 2, pad));
	ns_identity_wipe(&id);
	return 0;
}

/*
 * fold: full re-fold of P offenders, in process, on one thread.
 */

typedef struct refmap {
	char (*key)[NS_REF_MAX];
	int32_t *val;
	size_t cap, n;
} refmap;

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return h;
}

static int32_t refmap_get(refmap *m, const char *ref)
{
	size_t i = (size_t)fnv(ref) & (m->cap - 1);
	while (m->val[i] >= 0) {
		if (strcmp(m->key[i], ref) == 0)
			return m->val[i];
		i = (i + 1) & (m->cap - 1);
	}
	snprintf(m->key[i], NS_REF_MAX, "%s", ref);
	m->val[i] = (int32_t)m->n++;
	return m->val[i];
}

static int32_t uf_find(int32_t *parent, int32_t x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]];
		x = parent[x];
	}
	return x;
}

static int cmd_fold(int argc, char **argv)
{
	const char *gendir = need(argc, argv, "--gen");
	size_t maxp = (size_t)optd(argc, argv, "--persons", 0), ng, total = 0;
	gfile *g;
	refmap m;
	int32_t *ref_of, *parent, *count, *start, *fill, *member;
	size_t *ev_f, *ev_i;
	double t0, fold_s = 0, dec_s = 0, *per;
	size_t persons = 0, folded_events = 0;

	if (ns_crypto_init() != 0)
		die("libsodium");
	ng = load_gendir(gendir, &g);
	for (size_t f = 0; f < ng; f++) {
		total += g[f].n;
		if (ns_identity_generate(&g[f].id, g[f].site, g[f].role) != 0)
			die("cannot make a key for %s", g[f].site);
	}
	note("fold: signing %zu events of %zu origins (not timed)", total, ng);
	t0 = now_s();
	sign_all(g, ng);
	note("fold: signed in %.1f s", now_s() - t0);
	for (size_t f = 0; f < ng; f++) {
		free(g[f].buf);
		free(g[f].line);
		free(g[f].llen);
	}
	/* Persons: refs joined by NOMS <-> CRN links, as the store does. */
	m.cap = 16;
	while (m.cap < 2 * total + 16)
		m.cap *= 2;
	m.n = 0;
	m.key = xcalloc(m.cap, sizeof(*m.key));
	m.val = xcalloc(m.cap, sizeof(*m.val));
	for (size_t i = 0; i < m.cap; i++)
		m.val[i] = -1;
	ref_of = xcalloc(total, sizeof(*ref_of));
	ev_f = xcalloc(total, sizeof(*ev_f));
	ev_i = xcalloc(total, sizeof(*ev_i));
	parent = xcalloc(2 * total + 1, sizeof(*parent));
	for (size_t i = 0; i < 2 * total + 1; i++)
		parent[i] = (int32_t)i;
	{
		size_t k = 0;
		for (size_t f = 0; f < ng; f++)
			for (size_t i = 0; i < g[f].take; i++, k++) {
				ev_f[k] = f;
				ev_i[k] = i;
				ref_of[k] = refmap_get(&m, g[f].off[i]);
				if (g[f].link[i][0]) {
					int32_t a = uf_find(parent, ref_of[k]), b = uf_find(parent, refmap_get(&m, g[f].link[i]));
					if (a != b)
						parent[a < b ? b : a] = a < b ? a : b;
				}
			}
	}
	count = xcalloc(m.n + 1, sizeof(*count));
	start = xcalloc(m.n + 1, sizeof(*start));
	fill = xcalloc(m.n + 1, sizeof(*fill));
	member = xcalloc(total, sizeof(*member));
	for (size_t k = 0; k < total; k++)
		count[uf_find(parent, ref_of[k])]++;
	for (size_t r = 0, acc = 0; r < m.n; r++) {
		start[r] = (int32_t)acc;
		acc += (size_t)count[r];
	}
	for (size_t k = 0; k < total; k++) {
		int32_t r = uf_find(parent, ref_of[k]);
		member[start[r] + fill[r]++] = (int32_t)k;
	}
	per = xcalloc(m.n + 1, sizeof(*per));
	note("fold: folding %s persons", maxp ? "up to the requested" : "all");
	for (size_t r = 0; r < m.n && (maxp == 0 || persons < maxp); r++) {
		size_t c = (size_t)count[r];
		if (c == 0)
			continue;
		ns_event **evs = xcalloc(c, sizeof(*evs));
		double a = now_s();
		for (size_t e = 0; e < c; e++) {
			int32_t k = member[start[r] + (int32_t)e];
			evs[e] = decode_raw(g[ev_f[k]].raw[ev_i[k]], g[ev_f[k]].rawlen[ev_i[k]]);
		}
		double b = now_s();
		char *json = NULL;
		size_t len;
		ns_fold_summary sum;
		if (ns_fold(evs, c, &json, &len, &sum) != 0)
			die("ns_fold failed");
		double e2 = now_s();
		free(json);
		for (size_t e = 0; e < c; e++)
			ns_event_free(evs[e]);
		free(evs);
		dec_s += b - a;
		fold_s += e2 - b;
		per[persons++] = (e2 - b) * 1e6;
		folded_events += c;
	}
	qsort(per, persons, sizeof(*per), cmp_double);
	note("fold: %zu persons (%zu events) folded in %.2f s; decoding them took %.2f s", persons, folded_events,
	     fold_s, dec_s);
	out("fold.persons", (double)persons);
	out("fold.events", (double)folded_events);
	out("fold.seconds", fold_s);
	out("fold.decode_seconds", dec_s);
	out("fold.persons_per_s", (double)persons / fold_s);
	out("fold.person_p50_us", pct(per, persons, 0.50));
	out("fold.person_p99_us", pct(per, persons, 0.99));
	return 0;
}

/*
 * refold: a late event for an offender with 500 events.
 */

/* Event @k of the long history of @noms (prison MDI), as JSON. */
static void long_history_event(char *buf, size_t cap, const char *noms, int k, int32_t base)
{
	char t[21], date[11];
	int32_t day = base + k;
	static const char *const prisons[2] = { "MDI", "LEI" };
	const char *cur = prisons[(k / 6) % 2], *other = prisons[(k / 6 + 1) % 2];

	ns_time_format(t, (int64_t)day * 86400 + 10 * 3600);
	ns_date_format(date, day);
	if (k == 0) {
		snprintf(buf, cap,
			 "{\"type\":\"person.created\",\"offender\":\"%s\",\"occurred_at\":\"%s\",\"surname\":\"LONGTERM\","
			 "\"forenames\":\"JOHN\",\"dob\":\"1980-02-03\",\"gender\":\"M\"}",
			 noms, t);
		return;
	}
	if (k == 1) {
		snprintf(buf, cap,
			 "{\"type\":\"prisoner.received\",\"offender\":\"%s\",\"occurred_at\":\"%s\",\"prison\":\"MDI\","
			 "\"reason\":\"NEW_ADMISSION\"}",
			 noms, t);
		return;
	}
	switch (k % 6) {
	case 0:
		snprintf(buf, cap,
			 "{\"type\":\"alert.raised\",\"offender\":\"%s\",\"occurred_at\":\"%s\",\"alert_type\":\"X\","
			 "\"alert_code\":\"XSA\",\"from_date\":\"%s\"}",
			 noms, t, date);
		break;
	case 1:
		snprintf(buf, cap,
			 "{\"type\":\"alert.closed\",\"offender\":\"%s\",\"occurred_at\":\"%s\",\"alert_code\":\"XSA\","
			 "\"to_date\":\"%s\"}",
			 noms, t, date);
		break;
	case 2:
		snprintf(buf, cap,
			 "{\"type\":\"manager.pom.allocated\",\"offender\":\"%s\",\"occurred_at\":\"%s\",\"prison\":\"%s\","
			 "\"staff\":\"POM%04d\",\"name\":\"A. OFFICER\"}",
			 noms, t, cur, k % 10000);
		break;
	case 3:
		snprintf(buf, cap,
			 "{\"type\":\"programme.referred\",\"offender\":\"%s\",\"occurred_at\":\"%s\",\"programme\":\"TSP\","
			 "\"setting\":\"custody\",\"referral_date\":\"%s\"}",
			 noms, t, date);
		break;
	case 4:
		snprintf(buf, cap,
			 "{\"type\":\"programme.completed\",\"offender\":\"%s\",\"occurred_at\":\"%s\",\"programme\":\"TSP\","
			 "\"setting\":\"custody\",\"outcome\":\"COMPLETED\",\"completion_date\":\"%s\"}",
			 noms, t, date);
		break;
	default:
		snprintf(buf, cap,
			 "{\"type\":\"prisoner.transferred\",\"offender\":\"%s\",\"occurred_at\":\"%s\",\"from_prison\":\"%s\","
			 "\"to_prison\":\"%s\",\"reason\":\"SEC\"}",
			 noms, t, cur, other);
		break;
	}
}

typedef struct collect_ctx {
	ns_event **evs;
	size_t n, cap;
} collect_ctx;

static int collect_cb(void *arg, const ns_event *ev)
{
	collect_ctx *c = arg;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 512;
		c->evs = realloc(c->evs, c->cap * sizeof(*c->evs));
		if (c->evs == NULL)
			die("out of memory");
	}
	c->evs[c->n++] = decode_raw(ev->raw, ev->raw_len);
	return 0;
}

static int count_cb(void *arg, const ns_event *ev)
{
	(void)ev;
	(*(size_t *)arg)++;
	return 0;
}

/* A late event (alert raised mid-history) from @lei for @noms, chained after @prev. */
static ns_event *late_event(const ns_identity *lei, uint64_t seq, uint8_t prev[NS_ID_BYTES], const char *noms,
			    int32_t day)
{
	char json[512], t[21], date[11];
	ns_input in;
	ns_event *ev;

	ns_time_format(t, (int64_t)day * 86400 + 13 * 3600);
	ns_date_format(date, day);
	snprintf(json, sizeof(json),
		 "{\"type\":\"alert.raised\",\"offender\":\"%s\",\"occurred_at\":\"%s\",\"alert_type\":\"H\","
		 "\"alert_code\":\"HA\",\"from_date\":\"%s\"}",
		 noms, t, date);
	parse_input(json, &in);
	if (ns_event_build(lei, seq, prev, in.occurred_at, (int64_t)time(NULL), in.offender, in.payload, &ev) != 0)
		die("cannot build the late event");
	ns_input_clear(&in);
	memcpy(prev, ev->id, NS_ID_BYTES);
	return ev;
}

static void refold_noms(char out[8], unsigned p)
{
	snprintf(out, 8, "R%04u%c%c", p % 10000, 'A' + (p / 10000) % 26, 'A' + p % 26);
}

static int cmd_refold(int argc, char **argv)
{
	const char *dir = need(argc, argv, "--dir");
	unsigned persons = (unsigned)optd(argc, argv, "--persons", 200);
	int events = (int)optd(argc, argv, "--events", 500);
	double cache_mib = optd(argc, argv, "--fold-cache-mib", 64);
	int32_t base = ns_date_from_civil(2010, 1, 1);
	ns_identity lei;
	uint8_t prev[NS_ID_BYTES] = { 0 };
	uint64_t seq = 0;
	double *ing = xcalloc(persons, sizeof(double)), *fold = xcalloc(persons, sizeof(double));
	double *load = xcalloc(persons, sizeof(double)), *dur = xcalloc(persons, sizeof(double));
	double *cold = xcalloc(persons, sizeof(double));
	ns_input *in = xcalloc((size_t)events, sizeof(*in));
	ns_store *s;
	ns_diag d;
	int rc;

	if (ns_crypto_init() != 0)
		die("libsodium");
	ns_diag_clear(&d);
	if ((rc = ns_store_create(dir, "MDI", NS_ROLE_PRISON, &d)) != 0)
		die("cannot create %s: %s", dir, d.msg);
	if (ns_identity_generate(&lei, "LEI", NS_ROLE_PRISON) != 0)
		die("key");
	s = open_store(dir, NS_STORE_NOSYNC);
	ns_store_set_fold_cache(s, (size_t)(cache_mib * 1048576));
	note("refold: %u offenders with %d events each (the last one late, from another origin), fold cache %.0f MiB",
	     persons, events, cache_mib);
	for (unsigned p = 0; p < persons; p++) {
		char noms[8], json[1024];
		size_t bad;
		refold_noms(noms, p);
		for (int k = 0; k < events - 1; k++) {
			long_history_event(json, sizeof(json), noms, k, base);
			parse_input(json, &in[k]);
		}
		ns_diag_clear(&d);
		if ((rc = ns_store_append(s, in, (size_t)events - 1, NULL, &bad, &d)) != 0)
			die("append of the long history failed at %zu: %s: %s", bad, d.field, d.msg);
		for (int k = 0; k < events - 1; k++)
			ns_input_clear(&in[k]);
	}
	/* (b) ingest of one late event, which re-folds the whole offender; no fsync. */
	for (unsigned p = 0; p < persons; p++) {
		char noms[8];
		int res = 0;
		refold_noms(noms, p);
		ns_event *ev = late_event(&lei, ++seq, prev, noms, base + events / 2);
		double a = now_s();
		rc = ns_store_ingest(s, &ev, 1, NS_INGEST_VERIFIED, &res, NULL);
		ing[p] = (now_s() - a) * 1e3;
		if (rc != 0 || res != NS_INGEST_APPLIED)
			die("late event not applied: %s / %d", ns_strerror(rc), res);
		ns_event_free(ev);
	}
	/* (a) ns_fold alone over the offender's 500 decoded events; (c) reading and decoding them from the store. */
	for (unsigned p = 0; p < persons; p++) {
		char noms[8], *json;
		size_t len, seen = 0;
		collect_ctx c = { 0 };
		refold_noms(noms, p);
		double a = now_s();
		if (ns_store_foreach_person(s, noms, count_cb, &seen) != 0)
			die("foreach_person failed");
		load[p] = (now_s() - a) * 1e3;
		if (ns_store_foreach_person(s, noms, collect_cb, &c) != 0)
			die("foreach_person failed");
		double b = now_s();
		if (ns_fold(c.evs, c.n, &json, &len, NULL) != 0)
			die("ns_fold failed");
		double e = now_s();
		if ((int)c.n != events || seen != c.n)
			die("offender %s has %zu events, expected %d", noms, c.n, events);
		fold[p] = (e - b) * 1e3;
		free(json);
		for (size_t i = 0; i < c.n; i++)
			ns_event_free(c.evs[i]);
		free(c.evs);
	}
	/* (e) the same late-event ingest without the fold cache: every event loaded, the fold whole. */
	ns_store_set_fold_cache(s, 0);
	for (unsigned p = 0; p < persons; p++) {
		char noms[8];
		int res = 0;
		refold_noms(noms, p);
		ns_event *ev = late_event(&lei, ++seq, prev, noms, base + events / 4);
		double a = now_s();
		rc = ns_store_ingest(s, &ev, 1, NS_INGEST_VERIFIED, &res, NULL);
		cold[p] = (now_s() - a) * 1e3;
		if (rc != 0 || res != NS_INGEST_APPLIED)
			die("late event not applied: %s / %d", ns_strerror(rc), res);
		ns_event_free(ev);
	}
	ns_store_close(s);
	/* (d) the same late-event ingest, durable (fsync), on the 503rd event, the cache refilled by (b). */
	s = open_store(dir, 0);
	ns_store_set_fold_cache(s, (size_t)(cache_mib * 1048576));
	for (unsigned p = 0; p < persons; p++) {
		char noms[8];
		int res = 0;
		refold_noms(noms, p);
		ns_event *ev = late_event(&lei, ++seq, prev, noms, base + events / 3);
		double a = now_s();
		rc = ns_store_ingest(s, &ev, 1, NS_INGEST_VERIFIED, &res, NULL);
		dur[p] = (now_s() - a) * 1e3;
		if (rc != 0 || res != NS_INGEST_APPLIED)
			die("late event not applied: %s / %d", ns_strerror(rc), res);
		ns_event_free(ev);
	}
	ns_store_close(s);
	ns_identity_wipe(&lei);
	qsort(ing, persons, sizeof(double), cmp_double);
	qsort(fold, persons, sizeof(double), cmp_double);
	qsort(load, persons, sizeof(double), cmp_double);
	qsort(dur, persons, sizeof(double), cmp_double);
	qsort(cold, persons, sizeof(double), cmp_double);
	out("refold.samples", persons);
	out("refold.events", events);
	out("refold.ingest_p50_ms", pct(ing, persons, 0.5));
	out("refold.ingest_p99_ms", pct(ing, persons, 0.99));
	out("refold.fold_p50_ms", pct(fold, persons, 0.5));
	out("refold.fold_p99_ms", pct(fold, persons, 0.99));
	out("refold.load_p50_ms", pct(load, persons, 0.5));
	out("refold.load_p99_ms", pct(load, persons, 0.99));
	out("refold.durable_p50_ms", pct(dur, persons, 0.5));
	out("refold.durable_p99_ms", pct(dur, persons, 0.99));
	out("refold.cold_p50_ms", pct(cold, persons, 0.5));
	out("refold.cold_p99_ms", pct(cold, persons, 0.99));
	out("refold.cache_mib", cache_mib);
	free(in);
	return 0;
}

/*
 * append: local, signed, durable appends through the C API.
 */

static int cmd_append(int argc, char **argv)
{
	const char *gen = need(argc, argv, "--gen"), *dir = need(argc, argv, "--dir");
	size_t want = (size_t)optd(argc, argv, "--events", 100000), batch = (size_t)optd(argc, argv, "--batch", 1000);
	const char *base = strrchr(gen, '/');
	char site[NS_SITE_MAX];
	size_t len, n, *lens;
	char **lines, *buf = read_file(gen, &len);
	ns_input *in;
	ns_store *s;
	ns_diag d;
	int rc;
	double t0, t;

	if (ns_crypto_init() != 0)
		die("libsodium");
	base = base ? base + 1 : gen;
	snprintf(site, sizeof(site), "%.*s", (int)strcspn(base, "."), base);
	n = split_lines(buf, len, &lines, &lens);
	if (want > n)
		want = n;
	in = xcalloc(want, sizeof(*in));
	for (size_t i = 0; i < want; i++) {
		ns_diag_clear(&d);
		if ((rc = ns_input_parse(lines[i], lens[i], &in[i], &d)) != 0)
			die("%s line %zu: %s: %s", gen, i + 1, d.field, d.msg);
	}
	ns_diag_clear(&d);
	if ((rc = ns_store_create(dir, site, role_of(site), &d)) != 0)
		die("cannot create %s: %s", dir, d.msg);
	s = open_store(dir, 0);
	note("append: %zu events of %s through ns_store_append, %zu per durable transaction", want, site, batch);
	/* Where the time goes: the caller's thread (build, write, re-fold, its share of signing) and the rest. */
	struct timespec pc0, pc1;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &pc0);
	uint64_t tc0 = ns_thread_cpu_nanos();
	t0 = now_s();
	for (size_t i = 0; i < want; i += batch) {
		size_t m = want - i < batch ? want - i : batch, bad = 0;
		ns_diag_clear(&d);
		if ((rc = ns_store_append(s, in + i, m, NULL, &bad, &d)) != 0)
			die("append failed at %zu: %s: %s", i + bad, d.field, d.msg);
	}
	t = now_s() - t0;
	double caller = (double)(ns_thread_cpu_nanos() - tc0) / 1e9;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &pc1);
	double proc = (double)(pc1.tv_sec - pc0.tv_sec) + (double)(pc1.tv_nsec - pc0.tv_nsec) / 1e9;
	ns_store_close(s);
	for (size_t i = 0; i < want; i++)
		ns_input_clear(&in[i]);
	out("append.caller_cpu_seconds", caller);
	out("append.cpu_seconds", proc);
	out("append.events", (double)want);
	out("append.batch", (double)batch);
	out("append.seconds", t);
	out("append.rate", (double)want / t);
	return 0;
}

/*
 * catchup: start a node and wait until it holds N events.
 */

static int cmd_catchup(int argc, char **argv)
{
	const char *bin = need(argc, argv, "--nomsyncd"), *conf = need(argc, argv, "--config");
	const char *dir = need(argc, argv, "--dir"), *log = opt(argc, argv, "--log", NULL);
	const char *pidfile = opt(argc, argv, "--pidfile", NULL);
	uint64_t want = (uint64_t)optd(argc, argv, "--events", 0), persons = 0, events = 0, last = 0;
	double timeout = optd(argc, argv, "--timeout", 600), t0, first = 0, t = 0, lastnote;
	long max_anon = 0, hwm, rss, anon, file;
	ns_store *s;
	pid_t pid;
	int status;

	pid_t peer = (pid_t)optd(argc, argv, "--peer-pid", 0);
	double peer_cpu0 = peer ? proc_cpu(peer) : -1, cpu = 0, peer_cpu = 0;

	if (want == 0)
		die("catchup: --events N is required");
	s = open_store(dir, NS_STORE_RDONLY);
	t0 = now_s();
	pid = spawn(bin, conf, log);
	lastnote = t0;
	for (;;) {
		sleep_s(0.01);
		t = now_s();
		if (waitpid(pid, &status, WNOHANG) == pid)
			die("nomsyncd exited during catch-up (status %d); see %s", status, log ? log : "its log");
		long a = proc_kib(pid, "RssAnon");
		if (a > max_anon)
			max_anon = a;
		if (ns_store_stats(s, &persons, &events) != 0)
			continue;
		if (events > 0 && first == 0)
			first = t;
		if (events >= want)
			break;
		if (t - lastnote >= 5) {
			note("catch-up: %llu of %llu events after %.0f s (%.0f events/s lately)", (unsigned long long)events,
			     (unsigned long long)want, t - t0, (double)(events - last) / (t - lastnote));
			lastnote = t;
			last = events;
		}
		if (t - t0 > timeout) {
			kill(pid, SIGTERM);
			waitpid(pid, &status, 0);
			die("catch-up timed out after %.0f s with %llu of %llu events", timeout, (unsigned long long)events,
			    (unsigned long long)want);
		}
	}
	/* Then until every deferred fold has run: all views stored. */
	double stored = t;
	size_t left = 1;
	while (ns_store_fold_pending(s, 0, &left, NULL) == 0 && left > 0) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			die("nomsyncd exited while folding (status %d); see %s", status, log ? log : "its log");
		if ((t = now_s()) - t0 > timeout)
			die("deferred folds not done after %.0f s (%zu left)", timeout, left);
		sleep_s(0.01);
	}
	t = now_s();
	ns_store_stats(s, &persons, &events);
	cpu = proc_cpu(pid);
	double wbytes = proc_io(pid, "write_bytes"), wchar = proc_io(pid, "wchar");
	if (peer)
		peer_cpu = proc_cpu(peer) - peer_cpu0;
	hwm = proc_kib(pid, "VmHWM");
	rss = proc_kib(pid, "VmRSS");
	anon = proc_kib(pid, "RssAnon");
	file = proc_kib(pid, "RssFile");
	/* Then until every signature covered by a run's tip is checked (the background checks). */
	double folded = t;
	ns_sig_stats sig;
	while (ns_store_sig_stats(s, &sig) == 0 && sig.pending > 0) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			die("nomsyncd exited while checking signatures (status %d); see %s", status, log ? log : "its log");
		if (now_s() - t0 > timeout)
			die("signature checks not done after %.0f s (%llu left)", timeout, (unsigned long long)sig.pending);
		sleep_s(0.01);
	}
	double checked = now_s();
	t = folded;
	ns_store_close(s);
	if (pidfile) {
		FILE *f = fopen(pidfile, "w");
		if (f == NULL)
			die("cannot write %s", pidfile);
		fprintf(f, "%d\n", (int)pid);
		fclose(f);
	}
	note("catch-up: %llu events stored in %.2f s, every view folded at %.2f s (first event after %.2f s); "
	     "peak RSS %ld KiB", (unsigned long long)events, stored - t0, t - t0, first - t0, hwm);
	out("catchup.events", (double)events);
	out("catchup.persons", (double)persons);
	out("catchup.seconds", stored - t0);
	out("catchup.rate", (double)events / (stored - t0));
	out("catchup.settled_seconds", t - t0);
	out("catchup.settled_rate", (double)events / (t - t0));
	out("catchup.checked_seconds", checked - t0);
	out("catchup.covered", (double)sig.covered);
	out("catchup.first_event_seconds", first - t0);
	out("catchup.vmhwm_kib", (double)hwm);
	out("catchup.vmrss_kib", (double)rss);
	out("catchup.rss_anon_kib", (double)anon);
	out("catchup.rss_file_kib", (double)file);
	out("catchup.rss_anon_max_kib", (double)max_anon);
	out("catchup.cpu_seconds", cpu);
	out("catchup.write_mib", wchar / 1048576.0);
	out("catchup.disk_write_mib", wbytes / 1048576.0);
	if (peer)
		out("catchup.sender_cpu_seconds", peer_cpu);
	out("catchup.pid", (double)pid);
	return 0;
}

/*
 * live: append on one node, wait for the view on another.
 */

static long event_count(ns_store *s, const char *ref)
{
	char *json;
	size_t len;
	long c = 0;
	if (ns_store_view(s, ref, &json, &len, NULL) != 0)
		return 0;
	const char *p = strstr(json, "\"event_count\":");
	if (p)
		c = strtol(p + 14, NULL, 10);
	free(json);
	return c;
}

static int cmd_live(int argc, char **argv)
{
	const char *src = need(argc, argv, "--src"), *dst = need(argc, argv, "--dst");
	size_t samples = (size_t)optd(argc, argv, "--samples", 200), nrefs, k = 0, timeouts = 0;
	double gap = optd(argc, argv, "--gap-ms", 20) / 1e3, timeout = optd(argc, argv, "--timeout", 5);
	char **refs = read_refs(need(argc, argv, "--refs"), &nrefs);
	double *lat = xcalloc(samples, sizeof(double)), *app = xcalloc(samples, sizeof(double));
	ns_store *a, *b;

	if (ns_crypto_init() != 0)
		die("libsodium");
	a = open_store(src, 0);
	b = open_store(dst, NS_STORE_RDONLY);
	rng ^= (uint64_t)time(NULL);
	note("live: %zu appends on %s, each timed until the view on %s shows it", samples, ns_store_identity(a)->site,
	     ns_store_identity(b)->site);
	for (; k < samples; k++) {
		const char *ref = refs[rnd((uint32_t)nrefs)];
		char json[512], t[21], date[11];
		time_t now = time(NULL);
		ns_input in;
		ns_diag d;
		size_t bad;
		long c0 = event_count(b, ref);

		ns_time_format(t, (int64_t)now);
		ns_date_format(date, (int32_t)(now / 86400));
		snprintf(json, sizeof(json),
			 "{\"type\":\"alert.raised\",\"offender\":\"%s\",\"occurred_at\":\"%s\",\"alert_type\":\"R\","
			 "\"alert_code\":\"RSP\",\"from_date\":\"%s\"}",
			 ref, t, date);
		parse_input(json, &in);
		ns_diag_clear(&d);
		double t0 = now_s();
		if (ns_store_append(a, &in, 1, NULL, &bad, &d) != 0)
			die("append on %s failed: %s: %s", src, d.field, d.msg);
		ns_store_notify(a); /* as the CLI does */
		double t1 = now_s(), t2;
		ns_input_clear(&in);
		for (;;) {
			t2 = now_s();
			if (event_count(b, ref) > c0)
				break;
			if (t2 - t0 > timeout) {
				timeouts++;
				break;
			}
			sleep_s(0.0002);
		}
		lat[k] = (t2 - t0) * 1e3;
		app[k] = (t1 - t0) * 1e3;
		sleep_s(gap * (double)rnd(1000) / 1000.0);
	}
	ns_store_close(a);
	ns_store_close(b);
	qsort(lat, samples, sizeof(double), cmp_double);
	qsort(app, samples, sizeof(double), cmp_double);
	out("live.samples", (double)samples);
	out("live.timeouts", (double)timeouts);
	out("live.p50_ms", pct(lat, samples, 0.5));
	out("live.p99_ms", pct(lat, samples, 0.99));
	out("live.max_ms", lat[samples - 1]);
	out("live.append_p50_ms", pct(app, samples, 0.5));
	out("live.append_p99_ms", pct(app, samples, 0.99));
	return 0;
}

/*
 * refs: NOMS numbers of the persons a store holds.
 */

typedef struct refs_ctx {
	size_t n, max;
} refs_ctx;

static int refs_cb(void *arg, const char *key, const ns_fold_summary *sum)
{
	refs_ctx *c = arg;
	(void)sum;
	if (ns_is_noms(key)) {
		puts(key);
		c->n++;
	}
	return c->max && c->n >= c->max;
}

static int cmd_refs(int argc, char **argv)
{
	ns_store *s = open_store(need(argc, argv, "--dir"), NS_STORE_RDONLY);
	refs_ctx c = { 0, (size_t)optd(argc, argv, "--max", 0) };
	int rc = ns_store_summaries(s, refs_cb, &c);
	ns_store_close(s);
	if (rc < 0)
		die("summaries: %s", ns_strerror(rc));
	return 0;
}

/*
 * http: a paced (open-loop) HTTP load generator with keep-alive.
 *
 * Request k is due at t0 + k/rate whatever happened before; its latency
 * runs from that due time to the last byte of the response, so time spent
 * waiting for a free connection counts (no coordinated omission).
 */

typedef struct hconn {
	int fd, busy;
	double due, sent;
	char *buf;
	size_t got, cap;
} hconn;

static int hconnect(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* 1 when a whole response is in c->buf; its status in *code, length in *total. */
static int hcomplete(hconn *c, int *code, size_t *total, int *close_after)
{
	char *end;
	if (c->got < 12)
		return 0;
	c->buf[c->got] = '\0';
	end = strstr(c->buf, "\r\n\r\n");
	if (end == NULL)
		return 0;
	*code = atoi(c->buf + 9);
	size_t hl = (size_t)(end - c->buf) + 4, cl = 0;
	for (char *p = c->buf; p && p < end; p = strstr(p, "\r\n")) {
		p += (p[0] == '\r') ? 2 : 0;
		if (strncasecmp(p, "Content-Length:", 15) == 0)
			cl = (size_t)strtoul(p + 15, NULL, 10);
		if (strncasecmp(p, "Connection: close", 17) == 0)
			*close_after = 1;
		if (strstr(p, "\r\n") == NULL)
			break;
	}
	if (c->got < hl + cl)
		return 0;
	*total = hl + cl;
	return 1;
}

static int cmd_http(int argc, char **argv)
{
	const char *addr = need(argc, argv, "--addr"), *token = need(argc, argv, "--token");
	double rate = optd(argc, argv, "--rate", 1000), secs = optd(argc, argv, "--seconds", 10);
	double warm = optd(argc, argv, "--warmup", 1);
	size_t nconn = (size_t)optd(argc, argv, "--conns", 4), nrefs = 0;
	/* --path: every request GETs that one path (GET /v1/figures), else a random person's view. */
	const char *path = opt(argc, argv, "--path", NULL);
	char **refs = path ? NULL : read_refs(need(argc, argv, "--refs"), &nrefs);
	size_t nwarm = (size_t)(warm * rate), total = nwarm + (size_t)(secs * rate), next = 0, done = 0, errors = 0;
	size_t counted = 0, bytes = 0, reconnects = 0;
	double *lat = xcalloc(total, sizeof(double)), *svc = xcalloc(total, sizeof(double));
	hconn *c = xcalloc(nconn, sizeof(*c));
	struct pollfd *pf = xcalloc(nconn, sizeof(*pf));
	size_t *pidx = xcalloc(nconn, sizeof(*pidx));
	struct sockaddr_in sa;
	double t0, tend = 0;

	signal(SIGPIPE, SIG_IGN);
	rng ^= (uint64_t)getpid();
	if (parse_addr(addr, &sa) != 0)
		die("bad address %s", addr);
	for (size_t i = 0; i < nconn; i++) {
		c[i].cap = 1 << 20;
		c[i].buf = xcalloc(c[i].cap + 1, 1);
		if ((c[i].fd = hconnect(&sa)) < 0)
			die("cannot connect to %s: %s", addr, strerror(errno));
	}
	note("http: GET %s at %.0f req/s for %.0f s (+%.0f s warm-up), %zu keep-alive connections",
	     path ? path : "/v1/offenders/{random NOMS}", rate, secs, warm, nconn);
	t0 = now_s();
	while (done < total) {
		double now = now_s();
		/* Send every request that is due, while a connection is free. */
		while (next < total && t0 + (double)next / rate <= now) {
			size_t i;
			for (i = 0; i < nconn && c[i].busy; i++)
				;
			if (i == nconn)
				break;
			char req[1024];
			int l = path ? snprintf(req, sizeof(req),
						"GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", path,
						addr, token)
				     : snprintf(req, sizeof(req),
						"GET /v1/offenders/%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n",
						refs[rnd((uint32_t)nrefs)], addr, token);
			if (send(c[i].fd, req, (size_t)l, 0) != l) {
				close(c[i].fd);
				reconnects++;
				if ((c[i].fd = hconnect(&sa)) < 0 || send(c[i].fd, req, (size_t)l, 0) != l)
					die("cannot reconnect to %s", addr);
			}
			c[i].busy = 1;
			c[i].due = t0 + (double)next / rate;
			c[i].sent = now;
			c[i].got = 0;
			next++;
		}
		/* Wait for responses, or until the next request is due. */
		size_t np = 0;
		for (size_t i = 0; i < nconn; i++)
			if (c[i].busy) {
				pf[np].fd = c[i].fd;
				pf[np].events = POLLIN;
				pidx[np++] = i;
			}
		double wait = next < total ? t0 + (double)next / rate - now_s() : 1.0;
		if (wait < 0)
			wait = 0;
		if (np == 0 && next < total) {
			sleep_s(wait);
			continue;
		}
		struct timespec ts = { (time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9) };
		int pr = ppoll(pf, np, &ts, NULL);
		if (pr < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		for (size_t k = 0; pr > 0 && k < np; k++) {
			if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			hconn *h = &c[pidx[k]];
			ssize_t r = recv(h->fd, h->buf + h->got, h->cap - h->got, 0);
			int code = 0, close_after = 0;
			size_t tot = 0;
			if (r <= 0) {
				/* Closed under us: count an error, reconnect. */
				errors++;
				close(h->fd);
				reconnects++;
				if ((h->fd = hconnect(&sa)) < 0)
					die("cannot reconnect to %s", addr);
				h->busy = 0;
				done++;
				continue;
			}
			h->got += (size_t)r;
			if (h->got >= h->cap)
				die("response larger than %zu bytes", h->cap);
			if (!hcomplete(h, &code, &tot, &close_after))
				continue;
			double t = now_s();
			size_t idx = done++;
			(void)idx;
			if (code != 200)
				errors++;
			if (done > nwarm) {
				lat[counted] = (t - h->due) * 1e3;
				svc[counted] = (t - h->sent) * 1e3;
				counted++;
				bytes += tot;
			}
			h->busy = 0;
			tend = t;
			if (close_after) {
				close(h->fd);
				reconnects++;
				if ((h->fd = hconnect(&sa)) < 0)
					die("cannot reconnect to %s", addr);
			}
		}
		if (now_s() - t0 > warm + secs + 30)
			die("http: responses stopped coming (%zu of %zu done)", done, total);
	}
	for (size_t i = 0; i < nconn; i++)
		close(c[i].fd);
	qsort(lat, counted, sizeof(double), cmp_double);
	qsort(svc, counted, sizeof(double), cmp_double);
	out("http.requests", (double)counted);
	out("http.errors", (double)errors);
	out("http.reconnects", (double)reconnects);
	out("http.rate", (double)counted / (tend - (t0 + warm)));
	out("http.p50_ms", pct(lat, counted, 0.5));
	out("http.p90_ms", pct(lat, counted, 0.9));
	out("http.p99_ms", pct(lat, counted, 0.99));
	out("http.p999_ms", pct(lat, counted, 0.999));
	out("http.max_ms", counted ? lat[counted - 1] : 0);
	out("http.service_p99_ms", pct(svc, counted, 0.99));
	out("http.response_bytes_mean", counted ? (double)bytes / (double)counted : 0);
	return 0;
}

/*
 * startup: exec of nomsyncd until /healthz answers.
 */

static int healthz(const struct sockaddr_in *sa)
{
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
	char buf[512];
	size_t got = 0;
	int fd = hconnect(sa);
	if (fd < 0)
		return 0;
	struct timeval tv = { 2, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, req, sizeof(req) - 1, 0) != (ssize_t)(sizeof(req) - 1)) {
		close(fd);
		return 0;
	}
	while (got < sizeof(buf) - 1) {
		ssize_t r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
		buf[got] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			break;
	}
	close(fd);
	buf[got] = '\0';
	return got > 12 && strncmp(buf + 9, "200", 3) == 0;
}

static int cmd_startup(int argc, char **argv)
{
	const char *bin = need(argc, argv, "--nomsyncd"), *conf = need(argc, argv, "--config");
	const char *addr = need(argc, argv, "--http"), *log = opt(argc, argv, "--log", NULL);
	size_t runs = (size_t)optd(argc, argv, "--runs", 5);
	double *t = xcalloc(runs, sizeof(double)), *stop = xcalloc(runs, sizeof(double));
	struct sockaddr_in sa;

	if (parse_addr(addr, &sa) != 0)
		die("bad address %s", addr);
	if (healthz(&sa))
		die("something already answers on %s", addr);
	for (size_t r = 0; r < runs; r++) {
		int status;
		double t0 = now_s();
		pid_t pid = spawn(bin, conf, log);
		for (;;) {
			if (healthz(&sa))
				break;
			if (waitpid(pid, &status, WNOHANG) == pid)
				die("nomsyncd exited during start-up (status %d)", status);
			if (now_s() - t0 > 60) {
				kill(pid, SIGKILL);
				die("nomsyncd did not answer /healthz within 60 s");
			}
			sleep_s(0.001);
		}
		t[r] = now_s() - t0;
		double s0 = now_s();
		kill(pid, SIGTERM);
		waitpid(pid, &status, 0);
		stop[r] = now_s() - s0;
		note("start-up run %zu: %.3f s to /healthz, %.3f s to stop", r + 1, t[r], stop[r]);
		sleep_s(0.2);
	}
	qsort(t, runs, sizeof(double), cmp_double);
	qsort(stop, runs, sizeof(double), cmp_double);
	out("startup.runs", (double)runs);
	out("startup.median_s", pct(t, runs, 0.5));
	out("startup.min_s", t[0]);
	out("startup.max_s", t[runs - 1]);
	out("startup.stop_median_s", pct(stop, runs, 0.5));
	return 0;
}

/* get: the body of one authorised GET (e.g. /metrics), on stdout. */
static int cmd_get(int argc, char **argv)
{
	const char *addr = need(argc, argv, "--http"), *path = need(argc, argv, "--path");
	const char *token = need(argc, argv, "--token");
	struct sockaddr_in sa;
	char req[1024];
	hconn c = { 0 };
	int code = 0, close_after = 0;
	size_t total = 0;

	if (parse_addr(addr, &sa) != 0)
		die("bad address %s", addr);
	if ((c.fd = hconnect(&sa)) < 0)
		die("cannot connect to %s", addr);
	int l = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", path, addr,
			 token);
	if (send(c.fd, req, (size_t)l, 0) != l)
		die("send failed");
	c.cap = 8 << 20;
	c.buf = xcalloc(c.cap + 1, 1);
	while (!hcomplete(&c, &code, &total, &close_after)) {
		ssize_t r = recv(c.fd, c.buf + c.got, c.cap - c.got, 0);
		if (r <= 0)
			die("connection closed before the response was complete");
		c.got += (size_t)r;
	}
	close(c.fd);
	if (code != 200)
		die("GET %s: HTTP %d", path, code);
	char *body = strstr(c.buf, "\r\n\r\n") + 4;
	fwrite(body, 1, total - (size_t)(body - c.buf), stdout);
	free(c.buf);
	return 0;
}

/* wait: until an HTTP /healthz answers 200. */
static int cmd_wait(int argc, char **argv)
{
	const char *addr = need(argc, argv, "--http");
	double timeout = optd(argc, argv, "--timeout", 60), t0 = now_s();
	pid_t pid = (pid_t)optd(argc, argv, "--pid", 0);
	struct sockaddr_in sa;

	if (parse_addr(addr, &sa) != 0)
		die("bad address %s", addr);
	while (!healthz(&sa)) {
		if (pid > 0 && kill(pid, 0) != 0)
			die("process %d exited before answering /healthz on %s", (int)pid, addr);
		if (now_s() - t0 > timeout)
			die("nothing answered /healthz on %s within %.0f s", addr, timeout);
		sleep_s(0.005);
	}
	out("wait.seconds", now_s() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "limits", cmd_limits },   { "append", cmd_append }, { "prep", cmd_prep }, { "fold", cmd_fold },
		{ "pending", cmd_pending },
		{ "refold", cmd_refold },   { "catchup", cmd_catchup }, { "live", cmd_live }, { "refs", cmd_refs },
		{ "http", cmd_http },       { "startup", cmd_startup }, { "alerts", cmd_alerts }, { "wait", cmd_wait }, { "get", cmd_get },
	};
	if (argc >= 2)
		for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			if (strcmp(argv[1], cmds[i].name) == 0)
				return cmds[i].fn(argc, argv);
	fprintf(stderr, "usage: nomsync-bench limits|append|alerts|prep|pending|fold|refold|catchup|live|refs|http|wait|get|startup [options]\n"
			"       (see bench/run.sh and docs/PERFORMANCE.md)\n");
	return 2;
}
