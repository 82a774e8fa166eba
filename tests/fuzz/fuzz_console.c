/* libFuzzer: virtio-console with a Unix socket host end and a client connected to it.
 * The bytes are a sequence of operations: the client sends host input, the driver adds
 * receive and transmit chains and kicks, writes and reads the configuration space,
 * resets the device, or scribbles over its rings. A stand-in for the virtio-pci transport
 * runs the device's fd callback when its fd is readable. While the rings are only used
 * the way a driver may, traps unless every byte the client sent reaches the receive
 * buffers in order (none lost or duplicated), every transmitted byte and emergency write
 * reaches the client in order, and the used lengths are right.
 *
 * Each operation is one byte, op & 7, then its arguments:
 *   0 host input: n = next byte % 64, then n bytes sent by the client
 *   1 receive chain: a byte of segment lengths (2 segments, (b & 15) * 4 and b >> 4)
 *   2 transmit chain: a byte s, segments of s & 15 and s >> 4 bytes; their contents follow
 *   3 kick receiveq; 4 kick transmitq (ignored once the device needs a reset)
 *   5 config write: off = b % 12, len 1, 2 or 4 (clipped), then len data bytes
 *   6 config read: off = b % 12
 *   7 by b: driver reset and re-initialisation, or a raw write into the rings */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/log.h"
#include "virtio/devices.h"
#include "virtio_fake.h"
#include "backends/console.h"

#define RAM_SIZE  0x10000u
#define QSIZE	  8u
#define SEG_MAX	  64u /* a segment's buffer; one per descriptor */
#define STREAM	  8192u
#define MAX_INPUT 4096u
#define RXQ	  0u
#define TXQ	  1u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

/* ---- the transport: tests/common/virtio_fake.c ---- */

/* ---- the driver ---- */

struct chain_rec {
	uint8_t nseg;
	uint8_t len[2];
	bool write;
};

struct queue {
	uint16_t next_desc, avail_idx, used_seen, inflight;
	struct chain_rec rec[QSIZE]; /* by head */
};

static struct fuzz {
	uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));
	struct guest_mem gm;
	struct virtio_dev d;
	struct queue q[2];
	bool wild; /* the rings were scribbled on: only memory safety is checked */
	int client;
	char dir[64], path[96];
	uint8_t sent[STREAM], tx_expect[STREAM], tx_got[STREAM];
	size_t nsent, ndelivered, ntx_expect, ntx_got;
} fz;

static uint64_t desc_gpa(unsigned q)
{
	return 0x1000u + q * 0x1000u;
}

static uint64_t avail_gpa(unsigned q)
{
	return desc_gpa(q) + 16u * QSIZE;
}

static uint64_t used_gpa(unsigned q)
{
	return desc_gpa(q) + 0x800u;
}

static uint64_t buf_gpa(unsigned q, unsigned desc)
{
	return 0x4000u + (q * QSIZE + desc) * SEG_MAX;
}

static void setup_queues(void)
{
	memset(fz.ram, 0, 0x4000);
	memset(fz.q, 0, sizeof(fz.q));
	for (unsigned q = 0; q < 2; q++) {
		struct virtq *vq = &fz.d.vq[q];

		vq->gm = &fz.gm;
		virtq_reset(vq);
		vq->size = QSIZE;
		vq->desc_gpa = desc_gpa(q);
		vq->avail_gpa = avail_gpa(q);
		vq->used_gpa = used_gpa(q);
		check(virtq_enable(vq) == 0);
	}
}

/* Lengths 0 are allowed: such a descriptor carries no segment. */
static void add_chain(unsigned q, const uint8_t len[2], bool write, const uint8_t *src)
{
	struct queue *qu = &fz.q[q];
	uint16_t head = qu->next_desc;
	uint8_t *avail = fz.ram + avail_gpa(q);

	if (qu->inflight + 2 > QSIZE)
		return; /* a driver has no free descriptors either */
	for (unsigned i = 0; i < 2; i++) {
		unsigned idx = (head + i) % QSIZE;
		uint8_t *desc = fz.ram + desc_gpa(q) + 16u * idx;

		if (!write && src) {
			memcpy(fz.ram + buf_gpa(q, idx), src, len[i]);
			src += len[i];
		}
		put_le64(desc, buf_gpa(q, idx));
		put_le32(desc + 8, len[i]);
		put_le16(desc + 12, (uint16_t)((write ? 2 : 0) | (i == 0 ? 1 : 0)));
		put_le16(desc + 14, (uint16_t)((idx + 1) % QSIZE));
	}
	qu->rec[head] = (struct chain_rec){2, {len[0], len[1]}, write};
	qu->next_desc = (uint16_t)((head + 2) % QSIZE);
	qu->inflight += 2;
	put_le16(avail + 4 + 2 * (qu->avail_idx % QSIZE), head);
	qu->avail_idx++;
	put_le16(avail + 2, qu->avail_idx);
}

/* Checks one used element against the chain it answers. */
static void reap_one(unsigned q, uint32_t id, uint32_t len)
{
	struct queue *qu = &fz.q[q];
	const struct chain_rec *r;

	check(id == (uint32_t)((qu->next_desc + QSIZE - qu->inflight) % QSIZE)); /* in order */
	r = &qu->rec[id];
	qu->inflight -= r->nseg;
	for (unsigned i = 0; i < r->nseg; i++) {
		const uint8_t *p = fz.ram + buf_gpa(q, (id + i) % QSIZE);
		size_t n = r->len[i];

		if (q == TXQ) {
			check(fz.ntx_expect + n <= STREAM);
			memcpy(fz.tx_expect + fz.ntx_expect, p, n);
			fz.ntx_expect += n;
			continue;
		}
		n = len < n ? len : n;
		check(fz.ndelivered + n <= fz.nsent);
		check(memcmp(p, fz.sent + fz.ndelivered, n) == 0);
		fz.ndelivered += n;
		len -= (uint32_t)n;
	}
	check(len == 0); /* no more than the chain holds; 0 for transmit */
}

static void reap(void)
{
	for (unsigned q = 0; q < 2; q++) {
		struct queue *qu = &fz.q[q];
		uint16_t idx = get_le16(fz.ram + used_gpa(q) + 2);

		if (fz.wild)
			continue;
		check((uint16_t)(idx - qu->used_seen) <= qu->inflight / 2);
		while (qu->used_seen != idx) {
			const uint8_t *e = fz.ram + used_gpa(q) + 4 + 8 * (qu->used_seen % QSIZE);

			reap_one(q, get_le32(e), get_le32(e + 4));
			qu->used_seen++;
		}
	}
}

static void drain_client(void)
{
	for (;;) {
		ssize_t n =
		    recv(fz.client, fz.tx_got + fz.ntx_got, STREAM - fz.ntx_got, MSG_DONTWAIT);

		if (n <= 0)
			break;
		fz.ntx_got += (size_t)n;
	}
	if (!fz.wild) {
		check(fz.ntx_got <= fz.ntx_expect);
		check(memcmp(fz.tx_got, fz.tx_expect, fz.ntx_got) == 0);
	}
}

/* The I/O thread: runs the callback if the watched fd is ready. */
static void io_poll(void)
{
	struct pollfd p;

	if (!vfake_only_watch())
		return;
	p = (struct pollfd){.fd = vfake_only_watch()->fd, .events = POLLIN};
	if (poll(&p, 1, 0) == 1)
		vfake_fire(&fz.d, 0, (uint32_t)p.revents);
}

static void kick(unsigned q)
{
	/* The transport delivers kicks only to a device that does not need a reset. */
	if (!vfake.needs_reset)
		fz.d.ops->queue_notify(&fz.d, q);
}

static void host_input(const uint8_t *p, size_t n)
{
	bool esc = false;
	uint8_t out[64];
	ssize_t sent;

	/* The terminal's escape filter on the same bytes. */
	check(console_filter(&esc, p, n, out) <= (long)n);
	if (fz.nsent + n > STREAM)
		return;
	sent = send(fz.client, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (sent > 0) {
		memcpy(fz.sent + fz.nsent, p, (size_t)sent);
		fz.nsent += (size_t)sent;
	}
	io_poll();
}

static void config_write(const uint8_t *p, size_t avail, uint8_t b)
{
	uint32_t off = b % 12u, len = 1u << ((b >> 4) % 3u);

	if (len > 12 - off)
		len = 12 - off;
	if (len > avail)
		return;
	fz.d.ops->config_write(&fz.d, off, p, len);
	if (off <= 8 && off + len > 8 && fz.ntx_expect < STREAM)
		fz.tx_expect[fz.ntx_expect++] = p[8 - off];
}

static void scribble(uint8_t b, const uint8_t *p, size_t avail)
{
	if (b < 32) {
		/* A driver reset, then the driver sets the device up again; host input
		 * not yet delivered stays for the new driver. */
		fz.d.ops->reset(&fz.d);
		vfake.needs_reset = 0;
		setup_queues();
		check(fz.d.ops->activate(&fz.d) == 0);
	} else if (avail >= 2) {
		fz.ram[desc_gpa(b & 1) + p[0] % 0x900u] = p[1];
		fz.wild = true;
	}
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Runs the operation at data[i]; returns the index of the next one. */
static size_t run_op(const uint8_t *data, size_t size, size_t i)
{
	uint8_t op = data[i] & 7, b, len[2], cfg[4];
	const uint8_t *p;
	size_t rest;

	if (op == 3 || op == 4) {
		kick(op == 3 ? RXQ : TXQ);
		return i + 1;
	}
	if (i + 1 >= size)
		return size;
	b = data[i + 1];
	p = data + i + 2;
	rest = size - (i + 2);
	switch (op) {
	case 0:
		len[0] = (uint8_t)min_size(b % 64u, rest);
		host_input(p, len[0]);
		return i + 2 + len[0];
	case 1:
		len[0] = (uint8_t)((b & 15) * 4);
		len[1] = b >> 4;
		add_chain(RXQ, len, true, NULL);
		return i + 2;
	case 2:
		len[0] = b & 15;
		len[1] = b >> 4;
		if ((size_t)len[0] + len[1] > rest)
			return size;
		add_chain(TXQ, len, false, p);
		return i + 2 + len[0] + len[1];
	case 5:
		config_write(p, rest, b);
		return i + 2 + min_size(rest, 4);
	case 6:
		fz.d.ops->config_read(&fz.d, b % 12u, cfg, 1);
		return i + 2;
	default:
		scribble(b, p, rest);
		return i + 2 + min_size(rest, 2);
	}
}

/* Gives the device receive buffers until all host input is delivered. */
static void flush_input(void)
{
	static const uint8_t big[2] = {60, 60};

	for (unsigned round = 0; round < STREAM / 16 && fz.ndelivered < fz.nsent; round++) {
		add_chain(RXQ, big, true, NULL);
		kick(RXQ);
		io_poll();
		reap();
	}
	check(fz.ndelivered == fz.nsent);
}

static void cleanup(void)
{
	unlink(fz.path);
	rmdir(fz.dir);
}

static void once(void)
{
	snprintf(fz.dir, sizeof(fz.dir), "/tmp/phyllome-fuzz-console-XXXXXX");
	check(mkdtemp(fz.dir) != NULL);
	snprintf(fz.path, sizeof(fz.path), "%s/sock", fz.dir);
	gm_init_buffer(&fz.gm, fz.ram, RAM_SIZE);
	log_set_level(LOG_ERR); /* broken queues log warnings: not news here */
	atexit(cleanup);
}

static void connect_client(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	fz.client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	check(fz.client >= 0);
	memcpy(sa.sun_path, fz.path, strlen(fz.path) + 1);
	check(connect(fz.client, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	io_poll(); /* accepted: the client is watched now */
	check(vfake_only_watch() && vfake_only_watch()->fd != fz.client);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];

	if (!fz.dir[0])
		once();
	if (size > MAX_INPUT)
		size = MAX_INPUT; /* the streams below hold what one input can carry */
	memset(&fz.d, 0, sizeof(fz.d));
	vfake.nqueues = 2;
	vfake.violation = vfake_trap;
	vfake_reset();
	fz.d.gm = &fz.gm;
	fz.wild = false;
	fz.nsent = fz.ndelivered = fz.ntx_expect = fz.ntx_got = 0;
	check(virtio_console_init(&fz.d, SERIAL_SOCKET, fz.path, err, sizeof(err)) == 0);
	connect_client();
	setup_queues();
	check(fz.d.ops->activate(&fz.d) == 0);
	for (size_t i = 0; i < size;) {
		i = run_op(data, size, i);
		reap();
		drain_client();
		check(fz.wild || vfake.needs_reset == 0);
	}
	if (!fz.wild) {
		flush_input();
		check(fz.ntx_got == fz.ntx_expect); /* a Unix socket loses nothing */
	}
	fz.d.ops->destroy(&fz.d);
	close(fz.client);
	unlink(fz.path);
	return 0;
}
