/*
 * The store and the Linux page cache: finding LMDB's mapping to drop this
 * process's resident pages (ns_store_trim), and caching the tail of
 * data.mdb one page per folio before LMDB writes there (ns__warm_tail).
 * Everything here is an optimisation; a failure only leaves it undone.
 */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * LMDB has no call for its map's address (me_mapaddr is only the
 * MDB_FIXEDMAP hint), so find the mapping of DIR/data.mdb in /proc/self/maps.
 */
static void ns__find_map(ns_store *s)
{
	char path[PATH_MAX + 16], real[PATH_MAX], line[PATH_MAX + 128];
	FILE *f;

	s->map_looked = 1;
	snprintf(path, sizeof(path), "%s/data.mdb", s->dir);
	if (realpath(path, real) == NULL || (f = fopen("/proc/self/maps", "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char *name = strchr(line, '/');
		if (name == NULL || sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		name[strcspn(name, "\n")] = '\0';
		if (strcmp(name, real) == 0 && (s->map_addr == NULL || (size_t)(hi - lo) > s->map_len)) {
			s->map_addr = (void *)lo;
			s->map_len = (size_t)(hi - lo);
		}
	}
	fclose(f);
}

/*
 * Keep the pages LMDB is about to write at the end of data.mdb cached as
 * single-page folios. Linux (6.x, ext4 and others) caches what a multi-page
 * pwritev creates in large folios, and LMDB writes newly allocated pages at
 * the end of the file in long runs; when a page inside such a folio is later
 * reused for a copy-on-write page, the whole folio is dirtied and written
 * back at the next fdatasync (measured: 12x the bytes LMDB wrote). Reading
 * the region first, through a descriptor advised POSIX_FADV_RANDOM, caches
 * it one page per folio (the file is extended sparse, so the read costs no
 * I/O and no disk space), and LMDB's writes then dirty only their own pages.
 */
#define NS_WARM_AHEAD ((uint64_t)16 << 20)
#define NS_WARM_CHUNK ((uint64_t)32 << 20)
#define NS_WARM_IO (64u << 10)

void ns__warm_tail(ns_store *s)
{
	MDB_envinfo info;
	MDB_stat st;
	struct stat fst;
	int wfd;

	if (s->warm_fd < 0 || mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &st) != 0)
		return;
	uint64_t used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
	pthread_mutex_lock(&s->map_lock);
	uint64_t from = s->warm_end > used ? s->warm_end : used;
	uint64_t to = used + NS_WARM_AHEAD + NS_WARM_CHUNK;
	if (to > info.me_mapsize)
		to = info.me_mapsize;
	char *sink = NULL;
	/*
	 * Every failure below only leaves the optimisation undone (writes cost
	 * more, nothing else), so it is not reported.
	 */
	if (used + NS_WARM_AHEAD <= s->warm_end || from >= to || fstat(s->warm_fd, &fst) != 0 ||
	    ((uint64_t)fst.st_size < to && (mdb_env_get_fd(s->env, &wfd) != 0 || ftruncate(wfd, (off_t)to) != 0)) ||
	    (sink = malloc(NS_WARM_IO)) == NULL)
		goto out;
	for (uint64_t off = from; off < to; off += NS_WARM_IO)
		if (pread(s->warm_fd, sink, NS_WARM_IO, (off_t)off) <= 0)
			goto out;
	s->warm_end = to;
out:
	pthread_mutex_unlock(&s->map_lock);
	free(sink);
}

void ns_store_trim(ns_store *s)
{
	pthread_mutex_lock(&s->map_lock);
	if (!s->map_looked)
		ns__find_map(s);
	if (s->map_addr)
		madvise(s->map_addr, s->map_len, MADV_DONTNEED);
	pthread_mutex_unlock(&s->map_lock);
}
