/*
 * The append notification: a process that appended to a store tells the
 * nomsyncd serving it with one datagram on the Unix socket
 * DIR/nomsyncd.notify, so that the daemon pushes the new events to its
 * peers at once instead of at its next tick (docs/OPERATIONS.md). The
 * datagram carries nothing: the daemon re-reads the store's vector.
 */
#define _GNU_SOURCE /* O_PATH */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define NS__NOTIFY_NAME "nomsyncd.notify"

/*
 * The socket address of @p dir's notification socket. A directory whose
 * path does not fit in sun_path is reached through a descriptor on it
 * (/proc/self/fd/N/...), returned in @p dirfd (-1 otherwise) for the caller
 * to close after the bind or send.
 */
static int ns__notify_addr(const char *dir, struct sockaddr_un *a, int *dirfd)
{
	*dirfd = -1;
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if ((size_t)snprintf(a->sun_path, sizeof(a->sun_path), "%s/%s", dir, NS__NOTIFY_NAME) < sizeof(a->sun_path))
		return 0;
	if ((*dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return NS_ENOTFOUND;
	snprintf(a->sun_path, sizeof(a->sun_path), "/proc/self/fd/%d/%s", *dirfd, NS__NOTIFY_NAME);
	return 0;
}

/* Send the one-byte datagram to @p a; the errno of a failure, 0 on success. */
static int ns__notify_send(const struct sockaddr_un *a)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err = 0;
	char b = 'a';

	if (fd < 0)
		return errno;
	if (sendto(fd, &b, 1, 0, (const struct sockaddr *)a, sizeof(*a)) < 0)
		err = errno;
	close(fd);
	return err;
}

int ns_store_notify(ns_store *s)
{
	struct sockaddr_un a;
	int dirfd;

	if (s == NULL || (s->flags & NS_STORE_RDONLY))
		return NS_EINVAL;
	/*
	 * No daemon (no socket, or a stale one: ENOENT, ECONNREFUSED), or its
	 * queue full of notifications it has yet to read (EAGAIN): its tick
	 * finds the events; nothing to report.
	 */
	if (ns__notify_addr(s->dir, &a, &dirfd) == 0)
		ns__notify_send(&a);
	if (dirfd >= 0)
		close(dirfd);
	return 0;
}

int ns_store_notify_listen(const char *dir, int *out, ns_diag *d)
{
	struct sockaddr_un a;
	int fd, dirfd, rc;

	*out = -1;
	if ((rc = ns__notify_addr(dir, &a, &dirfd)) != 0)
		return ns_diag_set(d, rc, "dir", "cannot open %s", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = ns_diag_set(d, NS_ESTORE, "notify", "cannot make a Unix socket: %s", strerror(errno));
		goto out;
	}
	/* A socket another daemon still reads on this store stays its own. */
	if (ns__notify_send(&a) == 0) {
		rc = ns_diag_set(d, NS_ELOCKED, "notify", "another process listens on %s/%s", dir, NS__NOTIFY_NAME);
		goto out;
	}
	/* A socket left by a daemon that stopped without removing it. */
	if (unlink(a.sun_path) != 0 && errno != ENOENT) {
		rc = ns_diag_set(d, NS_ESTORE, "notify", "cannot remove the stale %s/%s: %s", dir, NS__NOTIFY_NAME,
				 strerror(errno));
		goto out;
	}
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || chmod(a.sun_path, 0600) != 0) {
		rc = ns_diag_set(d, NS_ESTORE, "notify", "cannot bind %s/%s: %s", dir, NS__NOTIFY_NAME,
				 strerror(errno));
		goto out;
	}
	*out = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
	return rc;
}

void ns_store_notify_unlisten(const char *dir, int fd)
{
	struct sockaddr_un a;
	int dirfd;

	if (fd < 0)
		return;
	close(fd);
	if (ns__notify_addr(dir, &a, &dirfd) == 0)
		unlink(a.sun_path);
	if (dirfd >= 0)
		close(dirfd);
}
