/*
 * Plain driver for the fuzz harnesses: runs LLVMFuzzerTestOneInput once on
 * every file named on the command line, or in a directory named there
 * (sorted, crash-* files last, subdirectories not entered). Linked with one fuzz_<name>.c it is
 * fuzz_replay_<name>, the corpus regression test of the normal build
 * (ctest fuzz.replay.<name>, see replay.cmake): the checked-in seeds and
 * every crash-* regression input must run without a crash, a sanitizer
 * report or a broken invariant.
 *
 *   fuzz_replay_NAME [-v] DIR|FILE...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int verbose;
static unsigned long ran;

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		if (f)
			fclose(f);
		return 1;
	}
	/* An exact-size heap copy, as libFuzzer gives, so over-reads are caught. */
	buf = malloc(n ? (size_t)n : 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		free(buf);
		fclose(f);
		return 1;
	}
	fclose(f);
	if (verbose)
		fprintf(stderr, "replay: %s (%ld bytes)\n", path, n);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	ran++;
	return 0;
}

static int only_files(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

static int run_path(const char *path)
{
	struct stat st;
	struct dirent **list;
	int n, rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: no such file or directory: %s\n", path);
		return 1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	n = scandir(path, &list, only_files, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: cannot list %s\n", path);
		return 1;
	}
	/* Seeds first, then the crash-* regression inputs, so that an open bug
	 * (which aborts) does not hide a failure on a seed sorted after it. */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n; i++) {
			char full[4096];
			if ((strncmp(list[i]->d_name, "crash-", 6) == 0) != pass)
				continue;
			snprintf(full, sizeof(full), "%s/%s", path, list[i]->d_name);
			if (stat(full, &st) == 0 && S_ISREG(st.st_mode))
				rc |= run_file(full);
		}
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	return rc;
}

int main(int argc, char **argv)
{
	int rc = 0, first = 1;

	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		verbose = 1;
		first = 2;
	}
	if (first >= argc) {
		fprintf(stderr, "usage: %s [-v] DIR|FILE...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = first; i < argc; i++)
		rc |= run_path(argv[i]);
	printf("replayed %lu inputs\n", ran);
	if (ran == 0) {
		fprintf(stderr, "replay: no inputs found\n");
		return 1;
	}
	return rc;
}
