/* The host end of the guest's serial line: a terminal (raw mode, restored on exit, with
 * an escape key), a file, a Unix socket, or nothing. Lives across guest reboots. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#include "common/capfile.h"
#include "common/vm_config.h"

#define CONSOLE_ESCAPE 0x01 /* Ctrl-A */

struct console {
	enum serial_mode mode;
	int in_fd, out_fd, listen_fd, client_fd;
	bool raw, in_eof, escape;
	struct termios saved;
	struct capfile file;  /* SERIAL_FILE: out_fd is its descriptor */
	pthread_mutex_t lock; /* guards client_fd against output from vCPU threads */
	uint8_t pending[512]; /* input read but not yet taken by the UART */
	size_t npending, pend_off;
};

/* Opens the host end: mode tty (stdin/stdout), file=path, socket=path, or off. */
int console_open(struct console *c, enum serial_mode mode, const char *path, char *err,
		 size_t errlen);
void console_close(struct console *c);
/* serial_out_fn: guest -> host bytes. */
void console_output(void *opaque, const uint8_t *buf, size_t n);
/* The fd to poll for input now (-1: none). */
int console_poll_fd(struct console *c);
/* Called when console_poll_fd is readable: accepts a client or reads input into
 * pending. Returns 1 if the user asked to quit with the escape key, else 0. */
int console_readable(struct console *c);

/* Escape-key filter for terminal input, pure: copies in to out (out has room for n
 * bytes), handling Ctrl-A x (quit) and Ctrl-A Ctrl-A (a literal Ctrl-A). *escape keeps
 * the state between calls. Returns the number of bytes written to out, or -1 on quit. */
long console_filter(bool *escape, const uint8_t *in, size_t n, uint8_t *out);
