/*
 * Shared helpers for the libFuzzer harnesses in tests/fuzz/.
 *
 * Every harness defines LLVMFuzzerTestOneInput (and optionally
 * LLVMFuzzerInitialize). Built with -fsanitize=fuzzer it is a libFuzzer
 * target (fuzz_<name>); linked with replay.c it is a plain program that runs
 * each file of a corpus once (fuzz_replay_<name>, ctest fuzz.replay.<name>).
 *
 * Harnesses are silent unless an invariant breaks: then ns_fuzz_die() prints
 * what broke and abort()s, which libFuzzer reports as a crash and saves the
 * input. Scratch stores live under $TMPDIR (or /dev/shm, else /tmp) in a
 * directory removed at exit.
 */
#ifndef NS_FUZZ_COMMON_H
#define NS_FUZZ_COMMON_H

#include <nomsync/bundle.h>
#include <nomsync/store.h>

#include <errno.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef NS_FUZZ_DATA
#define NS_FUZZ_DATA "tests/fuzz/data"
#endif

#define NS_FUZZ_UNUSED __attribute__((unused))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant broke: say which, then abort so the fuzzer keeps the input. */
static NS_FUZZ_UNUSED __attribute__((noreturn, format(printf, 1, 2))) void ns_fuzz_die(const char *fmt, ...)
{
	va_list ap;
	fputs("nomsync-fuzz: INVARIANT BROKEN: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}

/*
 * Known, reported bugs (docs/RELIABILITY.md) each have a crash-* regression
 * input. While one is open, its invariant stops every fuzzing run at once;
 * NS_FUZZ_SKIP_KNOWN=name,name (or "all") skips those invariants so that the
 * fuzzer can look for other bugs. Off by default: CI stays red until fixed.
 * Names: http-500, roster-resign, bundle-record-order.
 */
static NS_FUZZ_UNUSED int ns_fuzz_known(const char *name)
{
	const char *v = getenv("NS_FUZZ_SKIP_KNOWN");
	return v && (strcmp(v, "all") == 0 || strstr(v, name) != NULL);
}

static char ns_fuzz_root[512];

/* Remove a directory tree (scratch stores only; no symlinks are followed). */
static NS_FUZZ_UNUSED void ns_fuzz_rmrf(const char *path)
{
	struct stat st;
	DIR *dir;
	struct dirent *e;

	if (path == NULL || path[0] == '\0' || lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode) && (dir = opendir(path)) != NULL) {
		while ((e = readdir(dir)) != NULL) {
			char sub[4600];
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
			ns_fuzz_rmrf(sub);
		}
		closedir(dir);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static void ns_fuzz_cleanup(void)
{
	ns_fuzz_rmrf(ns_fuzz_root);
}

/* The per-process scratch directory, created on first use. */
static NS_FUZZ_UNUSED const char *ns_fuzz_scratch(void)
{
	if (ns_fuzz_root[0] == '\0') {
		const char *base = getenv("TMPDIR");
		struct stat st;
		if (base == NULL || base[0] == '\0')
			base = (stat("/dev/shm", &st) == 0 && access("/dev/shm", W_OK) == 0) ? "/dev/shm" : "/tmp";
		snprintf(ns_fuzz_root, sizeof(ns_fuzz_root), "%s/nomsync-fuzz.XXXXXX", base);
		if (mkdtemp(ns_fuzz_root) == NULL) {
			fprintf(stderr, "nomsync-fuzz: cannot create a scratch directory under %s: %s\n", base,
				strerror(errno));
			exit(1);
		}
		atexit(ns_fuzz_cleanup);
	}
	return ns_fuzz_root;
}

/*
 * A fresh store for site @p site / @p role in a new subdirectory of the
 * scratch directory, opened without fsync (the fuzzers test logic, not
 * durability). Exits the process if that fails: nothing can be fuzzed.
 */
static NS_FUZZ_UNUSED ns_store *ns_fuzz_store(const char *site, ns_role role, char *path_out, size_t cap)
{
	static unsigned serial;
	char path[1024];
	ns_store *s = NULL;
	ns_diag d;
	int rc;

	ns_diag_clear(&d);
	snprintf(path, sizeof(path), "%s/%s.%u", ns_fuzz_scratch(), site, serial++);
	if ((rc = ns_store_create(path, site, role, &d)) != 0 ||
	    (rc = ns_store_open(path, NS_STORE_NOSYNC, &s, &d)) != 0) {
		fprintf(stderr, "nomsync-fuzz: cannot make a store in %s: %s %s\n", path, ns_strerror(rc), d.msg);
		exit(1);
	}
	if (path_out)
		snprintf(path_out, cap, "%s", path);
	return s;
}

/* Close a scratch store and delete its directory. */
static NS_FUZZ_UNUSED void ns_fuzz_store_drop(ns_store *s, const char *path)
{
	ns_store_close(s);
	ns_fuzz_rmrf(path);
}

/* Read a whole file; NULL if it cannot be read. */
static NS_FUZZ_UNUSED char *ns_fuzz_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

/* Snapshot of what a store holds, to check that a refused input changed nothing. */
typedef struct ns_fuzz_snap {
	uint8_t digest[NS_ID_BYTES];
	ns_vv_entry *vv;
	size_t nvv;
	uint64_t persons, events;
} ns_fuzz_snap;

static NS_FUZZ_UNUSED void ns_fuzz_snap_take(ns_store *s, ns_fuzz_snap *sn)
{
	memset(sn, 0, sizeof(*sn));
	if (ns_store_digest(s, NULL, sn->digest) != 0 || ns_store_vector(s, &sn->vv, &sn->nvv) != 0 ||
	    ns_store_stats(s, &sn->persons, &sn->events) != 0)
		ns_fuzz_die("cannot read a scratch store");
}

static NS_FUZZ_UNUSED int ns_fuzz_snap_equal(const ns_fuzz_snap *a, const ns_fuzz_snap *b)
{
	return memcmp(a->digest, b->digest, NS_ID_BYTES) == 0 && a->nvv == b->nvv &&
	       (a->nvv == 0 || memcmp(a->vv, b->vv, a->nvv * sizeof(*a->vv)) == 0) &&
	       a->persons == b->persons && a->events == b->events;
}

static NS_FUZZ_UNUSED void ns_fuzz_snap_free(ns_fuzz_snap *sn)
{
	free(sn->vv);
	sn->vv = NULL;
}

/* ns_store_verify must pass on a store that only the library has written. */
static NS_FUZZ_UNUSED void ns_fuzz_verify(ns_store *s, const char *when)
{
	ns_verify_report r;
	int rc = ns_store_verify(s, &r);
	if (rc != 0)
		ns_fuzz_die("ns_store_verify failed %s: %s; %llu problems in %llu events, %llu views; first: %s", when,
			    ns_strerror(rc), (unsigned long long)r.bad, (unsigned long long)r.events,
			    (unsigned long long)r.views, r.first);
}

#endif /* NS_FUZZ_COMMON_H */
