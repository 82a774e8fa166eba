#include "manager/attach.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "manager/util.h"

size_t attach_filter(const uint8_t *in, size_t n, uint8_t *out, bool *detach)
{
	const uint8_t *key = memchr(in, ATTACH_DETACH_KEY, n);
	size_t keep = key ? (size_t)(key - in) : n;

	memcpy(out, in, keep);
	*detach = key != NULL;
	return keep;
}

static int write_all(int fd, const uint8_t *buf, size_t n)
{
	while (n) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

int attach_console(const char *sock_path, const char *name, char *err, size_t errlen)
{
	struct termios saved, raw;
	bool tty = isatty(0) && tcgetattr(0, &saved) == 0, in_eof = false, detach = false;
	int fd = mgr_connect_unix(sock_path, 0, "attach to", err, errlen), rc = 1;

	if (fd < 0)
		return fd;
	signal(SIGPIPE, SIG_IGN);
	if (tty) {
		fprintf(stderr, "Attached to %s; press Ctrl-] to detach.\r\n", name);
		raw = saved;
		cfmakeraw(&raw);
		tcsetattr(0, TCSAFLUSH, &raw);
	}
	for (;;) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
				      {.fd = in_eof ? -1 : 0, .events = POLLIN}};
		uint8_t buf[4096];
		ssize_t n;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(fd, buf, sizeof(buf));
			if (n <= 0)
				break; /* the VM has ended */
			if (write_all(1, buf, (size_t)n) < 0)
				break;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			uint8_t out[4096];
			size_t keep;

			n = read(0, buf, sizeof(buf));
			if (n <= 0) {
				/* Input ended (a pipe): keep showing output until the VM ends or
				 * we are killed, as `docker attach` does. */
				in_eof = true;
				continue;
			}
			keep = attach_filter(buf, (size_t)n, out, &detach);
			if (keep && write_all(fd, out, keep) < 0)
				break;
			if (detach) {
				rc = 0;
				break;
			}
		}
	}
	if (tty) {
		tcsetattr(0, TCSAFLUSH, &saved);
		fprintf(stderr, "\n%s from %s.\n", rc == 0 ? "Detached" : "Disconnected", name);
	}
	close(fd);
	return rc;
}
