#include "backends/console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/unix_sock.h"

/* Only one terminal per process can be in raw mode; atexit needs to find it. */
static struct console *raw_console;

static void restore_terminal(void)
{
	if (raw_console && raw_console->raw) {
		tcsetattr(raw_console->in_fd, TCSAFLUSH, &raw_console->saved);
		raw_console->raw = false;
	}
}

static int open_tty(struct console *c)
{
	struct termios t;

	c->in_fd = STDIN_FILENO;
	c->out_fd = STDOUT_FILENO;
	if (!isatty(c->in_fd) || tcgetattr(c->in_fd, &c->saved) < 0)
		return 0; /* a pipe or FIFO: plain bytes in */
	t = c->saved;
	cfmakeraw(&t);
	if (tcsetattr(c->in_fd, TCSAFLUSH, &t) < 0)
		return -errno;
	c->raw = true;
	raw_console = c;
	atexit(restore_terminal);
	return 0;
}

/* Mode 0600; a stale socket from an earlier run is replaced, never a file or a socket that
 * another process still serves (src/common/unix_sock.c). */
static int open_socket(struct console *c, const char *path, char *err, size_t errlen)
{
	c->listen_fd = unix_sock_listen(path, SOCK_CLOEXEC | SOCK_NONBLOCK, 1);
	if (c->listen_fd >= 0)
		return 0;
	snprintf(err, errlen, "cannot listen on serial socket %s: %s", path,
		 unix_sock_strerror(c->listen_fd));
	int rc = c->listen_fd;

	c->listen_fd = -1;
	return rc;
}

int console_open(struct console *c, enum serial_mode mode, const char *path, char *err,
		 size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->mode = mode;
	c->in_fd = c->out_fd = c->listen_fd = c->client_fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	switch (mode) {
	case SERIAL_TTY:
		if (open_tty(c) < 0) {
			snprintf(err, errlen, "cannot set the terminal to raw mode: %s",
				 strerror(errno));
			return -EIO;
		}
		return 0;
	case SERIAL_FILE: {
		/* Mode 0600, capped at --log-max with one rotated copy (PATH.1): a guest
		 * printing forever does not fill the host's disk. */
		int rc = capfile_open(&c->file, path, log_file_max(), 0);

		if (rc < 0) {
			snprintf(err, errlen, "cannot open serial output file %s: %s", path,
				 strerror(-rc));
			return rc;
		}
		c->out_fd = c->file.fd;
		return 0;
	}
	case SERIAL_SOCKET:
		return open_socket(c, path, err, errlen);
	default:
		return 0;
	}
}

void console_close(struct console *c)
{
	/* Only the console that put the terminal in raw mode restores it, and it is then
	 * forgotten, so the atexit hook never reads a console that is gone. */
	if (raw_console == c) {
		restore_terminal();
		raw_console = NULL;
	}
	if (c->mode == SERIAL_FILE && c->out_fd >= 0)
		capfile_close(&c->file);
	if (c->client_fd >= 0)
		close(c->client_fd);
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	pthread_mutex_destroy(&c->lock);
}

static void write_all(int fd, const uint8_t *buf, size_t n)
{
	while (n) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the reader went away: the guest's output is dropped */
		buf += w;
		n -= (size_t)w;
	}
}

void console_output(void *opaque, const uint8_t *buf, size_t n)
{
	struct console *c = opaque;

	if (c->mode == SERIAL_FILE) {
		if (c->out_fd >= 0)
			capfile_write(&c->file, buf, n);
		return;
	}
	if (c->mode != SERIAL_SOCKET) {
		if (c->out_fd >= 0)
			write_all(c->out_fd, buf, n);
		return;
	}
	pthread_mutex_lock(&c->lock);
	if (c->client_fd >= 0 && send(c->client_fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
	    errno != EAGAIN) {
		close(c->client_fd);
		c->client_fd = -1;
	}
	pthread_mutex_unlock(&c->lock);
}

int console_poll_fd(struct console *c)
{
	if (c->npending)
		return -1; /* wait until the UART has taken what we have */
	switch (c->mode) {
	case SERIAL_TTY:
		return c->in_eof ? -1 : c->in_fd;
	case SERIAL_SOCKET:
		return c->client_fd >= 0 ? c->client_fd : c->listen_fd;
	default:
		return -1;
	}
}

long console_filter(bool *escape, const uint8_t *in, size_t n, uint8_t *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		if (*escape) {
			*escape = false;
			if (in[i] == 'x' || in[i] == 'X')
				return -1;
			if (in[i] == CONSOLE_ESCAPE)
				out[o++] = CONSOLE_ESCAPE;
			/* any other key after Ctrl-A is swallowed with it */
		} else if (in[i] == CONSOLE_ESCAPE) {
			*escape = true;
		} else {
			out[o++] = in[i];
		}
	}
	return (long)o;
}

static void accept_client(struct console *c)
{
	int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	pthread_mutex_lock(&c->lock);
	c->client_fd = fd;
	pthread_mutex_unlock(&c->lock);
}

int console_readable(struct console *c)
{
	uint8_t buf[sizeof(c->pending)];
	int fd = console_poll_fd(c);
	ssize_t n;
	long kept;

	if (c->mode == SERIAL_SOCKET && fd == c->listen_fd) {
		accept_client(c);
		return 0;
	}
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		if (c->mode == SERIAL_SOCKET) {
			pthread_mutex_lock(&c->lock);
			close(c->client_fd);
			c->client_fd = -1;
			pthread_mutex_unlock(&c->lock);
		} else {
			c->in_eof = true;
		}
		return 0;
	}
	if (!c->raw) {
		memcpy(c->pending, buf, (size_t)n);
		c->npending = (size_t)n;
		c->pend_off = 0;
		return 0;
	}
	kept = console_filter(&c->escape, buf, (size_t)n, c->pending);
	if (kept < 0)
		return 1;
	c->npending = (size_t)kept;
	c->pend_off = 0;
	return 0;
}
