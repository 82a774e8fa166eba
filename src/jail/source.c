#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jail/jail.h"

static int open_no_links(const char *path, int flags)
{
	struct open_how how = {.flags = (uint64_t)flags | O_CLOEXEC,
			       .resolve = RESOLVE_NO_SYMLINKS};
	struct stat st;
	long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));

	if (fd >= 0)
		return (int)fd;
	if (errno != ENOSYS)
		return -errno;
	/* Before Linux 5.6: the last component at least (O_PATH | O_NOFOLLOW opens a link
	 * itself, which is then refused; without O_PATH, a link fails with ELOOP). */
	fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat((int)fd, &st) < 0 || S_ISLNK(st.st_mode)) {
		close((int)fd);
		return -ELOOP;
	}
	return (int)fd;
}

int jail_source_open(const char *path)
{
	return open_no_links(path, O_PATH);
}

int jail_fd_open(const char *path, bool readonly)
{
	int fd = open_no_links(path, (readonly ? O_RDONLY : O_RDWR) | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	int rc = 0;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		rc = -EINVAL;
	else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		rc = -errno;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}
