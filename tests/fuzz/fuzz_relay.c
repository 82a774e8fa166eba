/* libFuzzer: the manager's serial relay (src/manager/relay.c) between a stand-in VMM and
 * console clients (`phyllome attach`), driven one poll round at a time. Each operation is a
 * byte: bits 0-2 what, bit 3 "batch with the next" (no relay rounds in between, so both come
 * in one poll), bits 4-7 which client (of 10: past the relay's cap of 8). A client connects,
 * types bytes, reads what it was sent, shrinks its receive buffer (so it falls behind), stops
 * typing (shutdown) or hangs up; the VMM prints (a pattern with the top bit set, so it is never
 * taken for the relay's ASCII "too many consoles"), reads what was typed, or (what 7, client
 * 15) exits. Traps unless: each client receives either exactly the "too many" line, or a
 * subsequence of what the VMM printed (a client that falls behind loses bytes, never gets
 * others or changed ones); every byte the VMM reads was typed (with one typist, a prefix of
 * what was typed, in order); once the VMM exits, the relay ends after its output is drained,
 * the log holds exactly what was printed (below the cap), and no descriptor is left open or
 * closed twice. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/capfile.h"
#include "manager/relay.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NCLIENT 10
#define OUT_MAX 32768u
#define LOG_MAX (64u << 10)

static const char full_msg[] = "phyllome: too many consoles attached to this VM\r\n";

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

struct client {
	int fd;
	size_t match; /* greedy subsequence match: next output byte that may come */
	char got[64]; /* its first bytes, for the "too many" line */
	size_t ngot;
	bool refused;
};

static struct fuzz {
	char dir[64], sock[96], log[96];
	uint8_t out[OUT_MAX]; /* what the VMM printed */
	size_t nout;
	uint8_t typed[8192];
	size_t ntyped, nread;
	unsigned typists; /* bit k: client k typed */
	struct client c[NCLIENT];
	int vmm;
} fz;

static int connect_client(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	check(fd >= 0);
	memcpy(sa.sun_path, fz.sock, strlen(fz.sock) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd); /* the backlog is full */
		return -1;
	}
	return fd;
}

/* What client k has been sent: the "too many" line, or output bytes in order. */
static void client_read(struct client *c)
{
	uint8_t b[4096];

	for (;;) {
		ssize_t n = recv(c->fd, b, sizeof(b), MSG_DONTWAIT);

		if (n <= 0)
			return;
		if (c->ngot == 0 && b[0] == 'p')
			c->refused = true;
		for (ssize_t i = 0; i < n; i++) {
			if (c->refused) {
				check(c->ngot < sizeof(full_msg) - 1 && b[i] == full_msg[c->ngot]);
				c->ngot++;
				continue;
			}
			while (c->match < fz.nout && fz.out[c->match] != b[i])
				c->match++;
			check(c->match < fz.nout);
			c->match++;
			c->ngot++;
		}
	}
}

static void vmm_read(void)
{
	uint8_t b[4096];

	for (ssize_t n = 1; n > 0 && fz.vmm >= 0;) {
		n = recv(fz.vmm, b, sizeof(b), MSG_DONTWAIT);
		for (ssize_t i = 0; i < n; i++) {
			check(fz.nread < fz.ntyped);
			if (__builtin_popcount(fz.typists) == 1)
				check(b[i] == fz.typed[fz.nread]);
			else
				check(memchr(fz.typed, b[i], fz.ntyped) != NULL);
			fz.nread++;
		}
	}
}

static void vmm_print(size_t n)
{
	uint8_t b[2048];
	ssize_t w;

	if (fz.vmm < 0 || fz.nout + n > OUT_MAX)
		return;
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(0x80u | ((fz.nout + i) * 37u % 127u));
	w = send(fz.vmm, b, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w > 0) {
		memcpy(fz.out + fz.nout, b, (size_t)w);
		fz.nout += (size_t)w;
	}
}

static void client_type(unsigned k, struct in *in, size_t n)
{
	struct client *c = &fz.c[k];
	uint8_t b[256];
	ssize_t w;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)take(in, 1);
	if (c->fd < 0 || fz.ntyped + n > sizeof(fz.typed))
		return;
	w = send(c->fd, b, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w > 0) {
		fz.typists |= 1u << k;
		memcpy(fz.typed + fz.ntyped, b, (size_t)w);
		fz.ntyped += (size_t)w;
	}
}

static void rounds(struct relay *r, unsigned n)
{
	for (unsigned i = 0; i < n && !r->serial_eof; i++)
		relay_round(r, -1, 0);
	check(r->nclients >= 0 && r->nclients <= RELAY_MAX_CLIENTS);
	check(r->in_len <= sizeof(r->in));
}

static void once(void)
{
	snprintf(fz.dir, sizeof(fz.dir), "/tmp/phyllome-fuzz-relay-XXXXXX");
	check(mkdtemp(fz.dir) != NULL);
	snprintf(fz.sock, sizeof(fz.sock), "%s/console.sock", fz.dir);
	snprintf(fz.log, sizeof(fz.log), "%s/serial.log", fz.dir);
}

static int listen_here(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	check(fd >= 0);
	unlink(fz.sock);
	memcpy(sa.sun_path, fz.sock, strlen(fz.sock) + 1);
	check(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	check(listen(fd, 16) == 0);
	return fd;
}

/* The log's bytes (PATH.1 first) must be what was printed, when it fits under the cap. */
static void check_log(void)
{
	static uint8_t b[2 * LOG_MAX + OUT_MAX];
	size_t n = 0;
	char old[128];

	snprintf(old, sizeof(old), "%s.1", fz.log);
	for (int k = 0; k < 2; k++) {
		int fd = open(k == 0 ? old : fz.log, O_RDONLY | O_CLOEXEC);
		ssize_t r;

		if (fd < 0)
			continue;
		while ((r = read(fd, b + n, sizeof(b) - n)) > 0)
			n += (size_t)r;
		close(fd);
	}
	if (fz.nout <= LOG_MAX)
		check(n == fz.nout && !memcmp(b, fz.out, n));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = {data, size};
	struct capfile log;
	struct relay r;
	int sv[2], listen_fd, mark;

	if (!fz.dir[0])
		once();
	mark = dup(0);
	check(mark >= 0);
	close(mark);
	fz.nout = fz.ntyped = fz.nread = 0;
	fz.typists = 0;
	for (int k = 0; k < NCLIENT; k++)
		fz.c[k] = (struct client){.fd = -1};
	check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	fz.vmm = sv[1];
	listen_fd = listen_here();
	check(capfile_open(&log, fz.log, LOG_MAX, 0) == 0);
	relay_init(&r, sv[0], listen_fd, &log);
	while (in.left && !r.serial_eof) {
		unsigned op = (unsigned)take(&in, 1), k = (op >> 4) % NCLIENT;
		struct client *c = &fz.c[k];

		switch (op & 7) {
		case 0:
			if (c->fd < 0) {
				c->fd = connect_client();
				c->match = fz.nout;
				c->ngot = 0;
				c->refused = false;
			}
			break;
		case 1:
			client_type(k, &in, (size_t)take(&in, 1) % 200u + 1);
			break;
		case 2:
			if (c->fd >= 0)
				client_read(c);
			break;
		case 3:
			if (c->fd >= 0)
				setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &(int){1024}, sizeof(int));
			break;
		case 4:
			if (c->fd >= 0)
				close(c->fd);
			c->fd = -1;
			break;
		case 5:
			vmm_print((size_t)take(&in, 2) % 2048u + 1);
			break;
		case 6:
			vmm_read();
			break;
		default:
			if ((op >> 4) == 15 && fz.vmm >= 0) { /* the VMM exits: its end closes */
				close(fz.vmm);
				fz.vmm = -1;
			} else if (c->fd >= 0) { /* the client is done typing */
				shutdown(c->fd, SHUT_WR);
			}
			break;
		}
		/* Bit 3 batches this operation with the next: the relay sees both in one poll. */
		if (!(op & 8))
			rounds(&r, 3);
	}
	/* The VMM exits; the relay ends once its output is drained. */
	vmm_read();
	if (fz.vmm >= 0)
		close(fz.vmm);
	fz.vmm = -1;
	for (unsigned i = 0; i < 64 && !r.serial_eof; i++)
		relay_round(&r, -1, 100);
	check(r.serial_eof);
	for (int k = 0; k < NCLIENT; k++)
		if (fz.c[k].fd >= 0) {
			client_read(&fz.c[k]);
			close(fz.c[k].fd);
		}
	relay_end(&r);
	close(listen_fd);
	close(sv[0]);
	capfile_close(&log);
	check_log();
	/* Every descriptor opened here is closed (none leaked, none closed twice by the relay:
	 * that would have closed one of ours and failed a check above). */
	check(dup(0) == mark);
	close(mark);
	return 0;
}
