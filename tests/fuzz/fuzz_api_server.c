/* libFuzzer: the API server's glue (src/api/api_server.c) as a client sees it: the real server
 * thread on a Unix socket, with a stand-in VMM thread answering the control channel. Each input
 * is one connection: chunks (a length byte, then that many bytes) sent one after another with the
 * server given a moment between them (partial heads and bodies, pipelined requests, requests
 * larger than a read), then the client's end is shut for writing and everything the server
 * sends is read until it closes. Checks: the server closes the connection within 5 s of the
 * client's end being shut, what it sent is a sequence of whole HTTP/1.1 responses (a status
 * line, a head, exactly Content-Length bytes of body), no more of them than requests could have
 * been sent, and the server still answers a ping on a new connection afterwards (every 64
 * inputs). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/api_server.h"
#include "common/log.h"
#include "kvm/control.h"
#include "ui/display.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* api_server.c's screenshots come from the display; this server has none. */
int display_screenshot(struct display *d, enum display_image fmt, uint8_t **out, size_t *len)
{
	(void)d;
	(void)fmt;
	(void)out;
	(void)len;
	return -ENODEV;
}

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static struct ctl_channel ch;
static char path[108];

static void *vmm_thread(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd p = {.fd = ch.event_fd, .events = POLLIN};
		struct ctl_request *r;

		poll(&p, 1, -1);
		while ((r = ctl_take(&ch))) {
			r->answer.pid = getpid();
			r->answer.boots = 1;
			r->answer.counters.ncpus = 1;
			/* Pause and resume answer "already" now and then, as a VMM thread does. */
			if ((r->action == CTL_PAUSE || r->action == CTL_RESUME) && rand() % 2) {
				r->answer.result = -EALREADY;
				strcpy(r->answer.msg, "already");
			}
			ctl_reply(&ch, r);
		}
	}
	return NULL;
}

static void remove_socket(void)
{
	unlink(path);
}

static void start(void)
{
	static struct api_server *s;
	pthread_t t;
	char err[256];

	log_set_level(LOG_ERR);
	snprintf(path, sizeof(path), "/tmp/fuzz-api-%d.sock", (int)getpid());
	check(ctl_init(&ch) == 0);
	check(api_server_start(&s, path, &ch, SECCOMP_OFF, err, sizeof(err)) == 0);
	atexit(remove_socket);
	api_server_set_call_timeout(s, 2000);
	check(pthread_create(&t, NULL, vmm_thread, NULL) == 0);
	pthread_detach(t);
}

static int connect_api(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	check(fd >= 0);
	memcpy(a.sun_path, path, strlen(path) + 1);
	check(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	return fd;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Reads until the server closes (5 s at most); returns what came, in *out (malloc'd). */
static size_t read_all(int fd, char **out)
{
	size_t len = 0, cap = 4096;
	char *b = malloc(cap);
	uint64_t end = now_ms() + 5000;

	check(b != NULL);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		check(now_ms() < end); /* the server never closed: a hung connection */
		if (poll(&p, 1, 100) <= 0)
			continue;
		if (len == cap) {
			b = realloc(b, cap *= 2);
			check(b != NULL);
		}
		n = recv(fd, b + len, cap - len, 0);
		if (n <= 0) {
			check(n == 0 || errno == ECONNRESET);
			break;
		}
		len += (size_t)n;
	}
	*out = b;
	return len;
}

/* The answers must be whole HTTP/1.1 responses back to back; returns how many. */
static unsigned check_responses(const char *b, size_t len)
{
	unsigned n = 0;
	size_t off = 0;

	while (off < len) {
		const char *r = b + off, *end = memmem(r, len - off, "\r\n\r\n", 4), *cl;
		unsigned long body = 0;
		char *stop;

		check(len - off > 12 && !memcmp(r, "HTTP/1.1 ", 9));
		check(end != NULL);
		cl = memmem(r, (size_t)(end - r), "Content-Length: ", 16);
		if (cl)
			body = strtoul(cl + 16, &stop, 10);
		off = (size_t)(end + 4 - b);
		check(body <= len - off);
		off += body;
		n++;
	}
	return n;
}

static void ping(void)
{
	static const char req[] = "GET /api/v1/vmm.ping HTTP/1.1\r\nConnection: close\r\n\r\n";
	int fd = connect_api();
	char *out;
	size_t len;

	check(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) == (ssize_t)sizeof(req) - 1);
	len = read_all(fd, &out);
	check(len > 12 && !memcmp(out, "HTTP/1.1 200", 12));
	free(out);
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned runs;
	int fd;
	size_t off = 0, len;
	unsigned chunks = 0;
	char *out;

	if (!runs++)
		start();
	fd = connect_api();
	while (off < size) {
		size_t n = data[off++];

		if (n > size - off)
			n = size - off;
		/* The server may close first (a malformed request): the rest is not sent. */
		if (n && send(fd, data + off, n, MSG_NOSIGNAL) < 0)
			break;
		off += n;
		chunks++;
		if (chunks % 4 == 0)
			usleep(200); /* now and then the server reads a chunk alone */
	}
	shutdown(fd, SHUT_WR);
	len = read_all(fd, &out);
	/* Each answer needs at least a request line's "\r\n\r\n". */
	check(check_responses(out, len) <= size / 4 + 1);
	free(out);
	close(fd);
	if (runs % 64 == 0)
		ping();
	return 0;
}
