#include "manager/proc_wait.h"

#include <errno.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "manager/util.h"

int mgr_pidfd(pid_t pid, unsigned long long start)
{
	int fd;

	if (pid <= 0)
		return -1;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -1;
	/* Opened first, checked after: the pid cannot be reused by another process while the
	 * pidfd is open, so a pidfd that passes the check is the one we mean. */
	if (!mgr_proc_alive(pid, start)) {
		close(fd);
		return -1;
	}
	return fd;
}

int mgr_wait_pidfds(int *fds, int n, int timeout_ms, int fallback_ms)
{
	struct pollfd p[8];
	int idx[8], np = 0, r;

	for (int i = 0; i < n && np < 8; i++)
		if (fds[i] >= 0) {
			idx[np] = i;
			p[np++] = (struct pollfd){.fd = fds[i], .events = POLLIN};
		}
	if (np == 0 && (timeout_ms < 0 || timeout_ms > fallback_ms))
		timeout_ms = fallback_ms;
	do
		r = poll(p, (nfds_t)np, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	for (int k = 0; k < np; k++)
		if (p[k].revents) {
			close(fds[idx[k]]);
			fds[idx[k]] = -1;
		}
	return r > 0;
}

int mgr_watch_create(const char *dir)
{
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

	if (fd < 0)
		return -1;
	if (inotify_add_watch(fd, dir, IN_CREATE | IN_MOVED_TO) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int mgr_wait_create(int wfd, int *pidfd, int timeout_ms)
{
	struct pollfd p[2] = {{.fd = wfd, .events = POLLIN}, {.fd = *pidfd, .events = POLLIN}};
	int r;

	do
		r = poll(p, 2, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (p[0].revents) {
		char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

		while (read(wfd, buf, sizeof(buf)) > 0)
			; /* drained: the caller looks for the file itself */
	}
	if (p[1].revents) {
		close(*pidfd);
		*pidfd = -1;
	}
	return r > 0;
}
