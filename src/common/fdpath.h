/* "/dev/fd/N": a file handed in as descriptor N by whoever started the VMM (the manager, by
 * phyllome-jail --fd), so that the jail needs no path to it. fdpath_open opens such a name as
 * a copy of N, never more than N allows, and any other path with open(). */
#pragma once
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#define FDPATH_PREFIX "/dev/fd/"

/* N for "/dev/fd/N" (decimal digits only, N < 65536), else -1. Lexical: nothing is opened. */
static inline int fdpath_num(const char *path)
{
	size_t len = sizeof(FDPATH_PREFIX) - 1;
	int n = 0;

	if (!path || strncmp(path, FDPATH_PREFIX, len) || !path[len])
		return -1;
	for (const char *p = path + len; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		n = n * 10 + (*p - '0');
		if (n > 65535)
			return -1;
	}
	return n;
}

/* open(path, flags), or for "/dev/fd/N" a copy of N (close-on-exec): refused with EACCES if
 * flags want to write what N only reads, EINVAL for O_DIRECT or O_CREAT (the copy shares N's
 * open file, its flags and offset), EBADF if N is not open. -1 with errno, as open(). */
static inline int fdpath_open(const char *path, int flags)
{
	int n = fdpath_num(path), have;

	if (n < 0)
		return open(path, flags, 0600);
	have = fcntl(n, F_GETFL);
	if (have < 0)
		return -1;
	if ((flags & (O_DIRECT | O_CREAT)) || (have & O_PATH)) {
		errno = EINVAL;
		return -1;
	}
	if ((flags & O_ACCMODE) != O_RDONLY && (have & O_ACCMODE) == O_RDONLY) {
		errno = EACCES;
		return -1;
	}
	return fcntl(n, F_DUPFD_CLOEXEC, 3);
}
