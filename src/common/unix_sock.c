#include "common/unix_sock.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int fill(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (!*path || strlen(path) >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	strcpy(a->sun_path, path);
	return 0;
}

int unix_sock_clear_stale(const char *path)
{
	struct sockaddr_un a;
	struct stat st;
	int fd, rc = fill(&a, path);

	if (rc < 0)
		return rc;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	/* A socket file: live if someone accepts on it (connect succeeds, or its backlog is
	 * full), stale if the kernel refuses with ECONNREFUSED (nobody bound to it). */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)&a, sizeof(a));
	rc = rc == 0 || errno == EAGAIN ? -EADDRINUSE : errno == ECONNREFUSED ? 0 : -errno;
	close(fd);
	if (rc == 0 && unlink(path) < 0 && errno != ENOENT)
		rc = -errno;
	return rc;
}

int unix_sock_listen(const char *path, int flags, int backlog)
{
	struct sockaddr_un a;
	mode_t old;
	int fd, rc = fill(&a, path);

	if (rc == 0)
		rc = unix_sock_clear_stale(path);
	if (rc < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | flags, 0);
	if (fd < 0)
		return -errno;
	/* Mode 0600 from the start: no window in which another user could connect. */
	old = umask(0177);
	rc = bind(fd, (const struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (rc < 0 || listen(fd, backlog) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

const char *unix_sock_strerror(int rc)
{
	switch (rc) {
	case -EEXIST:
		return "exists and is not a socket (not replaced)";
	case -EADDRINUSE:
		return "is in use by another process";
	case -ENAMETOOLONG:
		return "path is empty or too long for a Unix socket";
	default:
		return strerror(-rc);
	}
}
