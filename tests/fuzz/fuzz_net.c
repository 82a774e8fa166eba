/* libFuzzer: virtio-net on a passt socket whose other end the fuzzer holds. The bytes
 * are a sequence of operations: raw bytes into the passt stream (lengths and frames as
 * they come), whole frames, receive and transmit chains, kicks, configuration reads,
 * reading what the device sent, a hang-up, a driver reset, or a write into the rings. A
 * stand-in for the virtio-pci transport runs the device's fd callback when the fd has
 * the events it watches. While the stream and the rings are only used the way passt and
 * a driver may, traps unless every frame the guest receives is one passt sent, in order
 * (some may be dropped, none changed or repeated), num_buffers and the used lengths are
 * right, and passt receives exactly the well-formed frames the guest sent, in order.
 *
 * The first byte picks features (bit 0 MRG_RXBUF, bit 1 EVENT_IDX). Then each operation
 * is one byte, op & 7, and its arguments:
 *   0 raw stream: n = next byte, then n bytes sent as they are
 *   1 frame: two bytes give its length (% 3000 + 1); the contents are a pattern
 *   2 receive chain: a byte b, 1 + (b & 3) segments of ((next bytes) * 4) bytes each;
 *     b & 4 makes the first segment readable (a bad receive buffer)
 *   3 kick receiveq; 4 kick transmitq
 *   5 transmit chain: a byte b, 1 + (b & 3) segments, then for each a length byte and
 *     that many bytes; b & 4 adds a writable segment (malformed)
 *   6 by b: read the configuration space, or drain what passt received
 *   7 by b: a driver reset and set-up again, passt hanging up, or a raw ring write
 *
 * Built as fuzz_tap (FUZZ_TAP, tests/fuzz/fuzz_tap.c), the same device runs on the tap back
 * end (netdev.c's tap path) over a SOCK_SEQPACKET socket that stands in for the tap: every
 * read is one frame behind its virtio-net header, as the kernel gives them. Bits 2-5 of the
 * first byte then negotiate GUEST_CSUM, GUEST_TSO4, GUEST_TSO6 and GUEST_ECN (bit 6: a tap
 * without offloads), raw bytes are one datagram (any header, any length), and a frame takes a
 * third byte for its header's flags and GSO type: the guest must get exactly the frames whose
 * header it negotiated (virtio 1.2, 5.1.6.4), with the header as sent but num_buffers and the
 * flags it did not negotiate, and the tap must get each transmitted chain whole, header first. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/log.h"
#include "virtio/devices.h"
#include "virtio_fake.h"

#define RAM_SIZE   0x30000u
#define QSIZE	   32u
#define SLOT	   4u /* descriptors per chain: chain k uses QSIZE slots k*SLOT... */
#define NSLOT	   (QSIZE / SLOT)
#define SEG_MAX	   1024u /* one buffer per descriptor */
#define STREAM	   32768u
#define MAX_FRAMES 512u
#define HDR	   12u
#define RXQ	   0u
#define TXQ	   1u
#ifndef FUZZ_TAP
#define FUZZ_TAP 0
#endif
#define G_CSUM 1u /* feature bits (VIRTIO_NET_F_GUEST_*) */
#define G_TSO4 7u
#define G_TSO6 8u
#define G_ECN  9u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

/* ---- the transport: tests/common/virtio_fake.c ---- */

/* ---- the driver and passt ---- */

struct chain_rec {
	bool busy, bad;
	uint32_t cap; /* writable bytes */
	unsigned nseg, first_write;
	uint32_t len[SLOT];
};

struct frame {
	uint32_t off, len; /* in sent[] (tap: the frame's header is the 12 bytes before it) */
};

static struct fuzz {
	uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));
	struct guest_mem gm;
	struct virtio_dev d;
	struct chain_rec rec[2][NSLOT];
	uint16_t avail_idx[2], used_seen[2];
	bool mrg, event_idx;
	bool wild;	      /* rings scribbled on: memory safety only */
	bool raw;	      /* raw bytes in the stream: received frames are not compared */
	bool hung;	      /* passt hung up */
	bool tx_off;	      /* what passt receives is no longer compared */
	uint64_t feat;	      /* tap: the guest's VIRTIO_NET_F_GUEST_* */
	unsigned serial;      /* frames made so far (their pattern) */
	uint8_t asm_hdr[HDR]; /* tap: the header of the frame being put together */
	int listen_fd, peer;
	char dir[64], path[96];
	/* receive: frames passt sent, the next one a delivery may be, the one being put
	 * together from mergeable buffers */
	uint8_t sent[STREAM], asm_buf[STREAM];
	struct frame frames[MAX_FRAMES];
	unsigned nframes, next_frame, asm_left;
	size_t nsent, asm_len;
	/* transmit: what passt should receive, what it did */
	uint8_t tx_expect[STREAM], tx_got[STREAM];
	size_t ntx_expect, ntx_got;
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
	memset(fz.rec, 0, sizeof(fz.rec));
	memset(fz.avail_idx, 0, sizeof(fz.avail_idx));
	memset(fz.used_seen, 0, sizeof(fz.used_seen));
	fz.asm_left = 0;
	for (unsigned q = 0; q < 2; q++) {
		struct virtq *vq = &fz.d.vq[q];

		vq->gm = &fz.gm;
		virtq_reset(vq);
		vq->size = QSIZE;
		vq->desc_gpa = desc_gpa(q);
		vq->avail_gpa = avail_gpa(q);
		vq->used_gpa = used_gpa(q);
		vq->event_idx = fz.event_idx;
		check(virtq_enable(vq) == 0);
	}
}

/* Publishes a chain in a free slot: lens[i] bytes per segment, writable from first_write
 * on. Returns the slot's first descriptor, or -1 when all slots are in use. */
static int add_chain(unsigned q, const uint32_t *lens, unsigned n, unsigned first_write)
{
	uint8_t *avail = fz.ram + avail_gpa(q);
	struct chain_rec *r = NULL;
	unsigned head;

	for (unsigned s = 0; s < NSLOT && !r; s++)
		if (!fz.rec[q][s].busy)
			r = &fz.rec[q][s];
	if (!r)
		return -1;
	head = (unsigned)(r - fz.rec[q]) * SLOT;
	*r = (struct chain_rec){.busy = true, .nseg = n, .first_write = first_write};
	for (unsigned i = 0; i < n; i++) {
		uint8_t *desc = fz.ram + desc_gpa(q) + 16u * (head + i);
		bool w = i >= first_write;

		put_le64(desc, buf_gpa(q, head + i));
		put_le32(desc + 8, lens[i]);
		put_le16(desc + 12, (uint16_t)((w ? 2 : 0) | (i + 1 < n ? 1 : 0)));
		put_le16(desc + 14, (uint16_t)(head + i + 1));
		r->len[i] = lens[i];
		r->cap += w ? lens[i] : 0;
	}
	/* Zero-length descriptors carry no segment: only others make a chain bad. */
	for (unsigned i = 0; i < n; i++)
		r->bad |= lens[i] && (q == RXQ ? i < first_write : i >= first_write);
	put_le16(avail + 4 + 2 * (fz.avail_idx[q] % QSIZE), (uint16_t)head);
	put_le16(avail + 2, ++fz.avail_idx[q]);
	return (int)head;
}

/* Whether the guest may be given a frame with this header (what it negotiated). */
static bool tap_hdr_ok(const uint8_t *h)
{
	bool ecn = h[1] & 0x80;

	if ((h[0] & 1) && !(fz.feat & 1ull << G_CSUM))
		return false;
	if (ecn && !(fz.feat & 1ull << G_ECN))
		return false;
	switch (h[1] & 0x7F) {
	case 0:
		return !ecn;
	case 1:
		return fz.feat & 1ull << G_TSO4;
	case 4:
		return fz.feat & 1ull << G_TSO6;
	default:
		return false;
	}
}

/* sent: the header the tap gave; got: the one the guest got. The flags keep NEEDS_CSUM and
 * DATA_VALID (none without GUEST_CSUM); the rest up to num_buffers is as sent. */
static bool tap_hdr_same(const uint8_t *sent, const uint8_t *got)
{
	uint8_t flags = (fz.feat & 1ull << G_CSUM) ? sent[0] & 3 : 0;

	return got[0] == flags && !memcmp(sent + 1, got + 1, HDR - 3);
}

/* A frame made whole from receive buffers must be the next one passt sent, or a later
 * one (the ones between were dropped). */
static void frame_received(void)
{
	while (fz.next_frame < fz.nframes) {
		const struct frame *f = &fz.frames[fz.next_frame++];

		if (f->len == fz.asm_len && !memcmp(fz.sent + f->off, fz.asm_buf, f->len) &&
		    (!FUZZ_TAP || tap_hdr_same(fz.sent + f->off - HDR, fz.asm_hdr)))
			return;
	}
	check(0);
}

/* The first len bytes of a chain's segments (rx: the writable ones) in out. */
static void linearize(unsigned q, const struct chain_rec *r, unsigned head, uint32_t len,
		      uint8_t *out)
{
	for (unsigned i = 0; i < r->nseg && len; i++) {
		uint32_t n = r->len[i] < len ? r->len[i] : len;

		if (q == RXQ && i < r->first_write)
			continue;
		memcpy(out, fz.ram + buf_gpa(q, head + i), n);
		out += n;
		len -= n;
	}
}

static void rx_used(const struct chain_rec *r, uint32_t len, unsigned head)
{
	static uint8_t b[SLOT * SEG_MAX];
	uint32_t skip = 0;

	check(len <= r->cap && (!r->bad || len == 0));
	if (len == 0)
		return; /* a bad buffer, or part of a dropped frame */
	linearize(RXQ, r, head, len, b);
	if (fz.asm_left == 0) {
		/* A first buffer: the header, with no offloads from passt, and num_buffers. */
		uint16_t nb = get_le16(b + 10);

		check(len >= HDR && (FUZZ_TAP || (b[0] == 0 && b[1] == 0)));
		memcpy(fz.asm_hdr, b, HDR);
		check(nb >= 1 && (fz.mrg || nb == 1));
		fz.asm_left = nb;
		fz.asm_len = 0;
		skip = HDR;
	}
	check(fz.asm_len + len - skip <= STREAM);
	memcpy(fz.asm_buf + fz.asm_len, b + skip, len - skip);
	fz.asm_len += len - skip;
	if (--fz.asm_left == 0 && !fz.raw)
		frame_received();
}

/* What the device should have written to passt for a transmitted chain. */
static void tx_used(const struct chain_rec *r, uint32_t len, unsigned head)
{
	static uint8_t b[SLOT * SEG_MAX];
	uint32_t total = 0, frame;
	uint8_t *out = fz.tx_expect + fz.ntx_expect;

	check(len == 0);
	for (unsigned i = 0; i < r->nseg; i++)
		total += r->len[i];
	if (r->bad || fz.hung || fz.tx_off || total < HDR + 14)
		return; /* dropped, or not followed */
	linearize(TXQ, r, head, total, b);
	if (FUZZ_TAP) { /* the tap takes the header and the frame as they are */
		if (fz.ntx_expect + total > STREAM) {
			fz.tx_off = true;
			return;
		}
		memcpy(out, b, total);
		fz.ntx_expect += total;
		return;
	}
	if ((b[0] & 1) || b[1] != 0)
		return; /* offloads passt cannot do: dropped */
	if (fz.ntx_expect + 4 + total > STREAM) {
		fz.tx_off = true;
		return;
	}
	frame = total - HDR;
	out[0] = (uint8_t)(frame >> 24);
	out[1] = (uint8_t)(frame >> 16);
	out[2] = (uint8_t)(frame >> 8);
	out[3] = (uint8_t)frame;
	memcpy(out + 4, b + HDR, frame);
	fz.ntx_expect += 4 + frame;
}

static void reap(void)
{
	for (unsigned q = 0; q < 2 && !fz.wild; q++) {
		uint16_t idx = get_le16(fz.ram + used_gpa(q) + 2);

		check((uint16_t)(idx - fz.used_seen[q]) <= QSIZE);
		for (; fz.used_seen[q] != idx; fz.used_seen[q]++) {
			const uint8_t *e = fz.ram + used_gpa(q) + 4 + 8 * (fz.used_seen[q] % QSIZE);
			uint32_t id = get_le32(e), len = get_le32(e + 4);
			struct chain_rec *r = &fz.rec[q][id / SLOT];

			check(id % SLOT == 0 && id < QSIZE && r->busy);
			if (q == RXQ)
				rx_used(r, len, id);
			else
				tx_used(r, len, id);
			r->busy = false;
		}
	}
}

static void drain_peer(void)
{
	for (ssize_t n = 1; n > 0 && fz.ntx_got < STREAM && !fz.hung;) {
		static uint8_t dgram[SLOT * SEG_MAX + HDR];

		if (!FUZZ_TAP) {
			n = recv(fz.peer, fz.tx_got + fz.ntx_got, STREAM - fz.ntx_got,
				 MSG_DONTWAIT);
			fz.ntx_got += n > 0 ? (size_t)n : 0;
			continue;
		}
		/* The tap: one chain per datagram, never cut. */
		n = recv(fz.peer, dgram, sizeof(dgram), MSG_DONTWAIT | MSG_TRUNC);
		check(n <= (ssize_t)sizeof(dgram));
		if (n > 0 && fz.ntx_got + (size_t)n > STREAM)
			fz.tx_off = true;
		else if (n > 0) {
			memcpy(fz.tx_got + fz.ntx_got, dgram, (size_t)n);
			fz.ntx_got += (size_t)n;
		}
	}
	if (!fz.wild && !fz.hung && !fz.tx_off) {
		check(fz.ntx_got <= fz.ntx_expect);
		check(!memcmp(fz.tx_got, fz.tx_expect, fz.ntx_got));
	}
}

/* The I/O thread: a few rounds of the callback while the fd has what is watched. */
static void io_poll(void)
{
	for (unsigned i = 0; i < 4 && vfake_only_watch(); i++) {
		struct pollfd p = {.fd = vfake_only_watch()->fd,
				   .events = (short)vfake_only_watch()->events};

		if (poll(&p, 1, 0) != 1)
			return;
		vfake_fire(&fz.d, 0, (uint32_t)p.revents);
	}
}

static void host_send(const uint8_t *p, size_t n, bool whole_frame)
{
	size_t pre = FUZZ_TAP ? HDR : 4;
	ssize_t r;

	if (fz.hung || fz.nsent + n > STREAM || (whole_frame && fz.nframes == MAX_FRAMES))
		return;
	r = n ? send(fz.peer, p, n, MSG_DONTWAIT | MSG_NOSIGNAL) : 0;
	if (FUZZ_TAP && r < 0)
		return; /* a datagram goes whole or not at all */
	if (r < 0 || (size_t)r < n)
		fz.raw = true; /* the stream's framing is lost */
	/* (tap: a frame the guest must not get is not listed: getting it fails the check) */
	if (whole_frame && n > pre && (!FUZZ_TAP || tap_hdr_ok(p)))
		fz.frames[fz.nframes++] =
		    (struct frame){(uint32_t)(fz.nsent + pre), (uint32_t)(n - pre)};
	if (r > 0) {
		memcpy(fz.sent + fz.nsent, p, (size_t)r);
		fz.nsent += (size_t)r;
	}
}

/* A frame behind its passt length, or (tap) behind a virtio-net header: flags and GSO type
 * from h (the GSO types, ECN among them, and some the device must refuse), the rest a
 * pattern. */
static void host_frame(uint8_t a, uint8_t b, uint8_t h)
{
	static const uint8_t gso[8] = {0, 1, 4, 3, 0x81, 0x84, 0x80, 0x7F};
	uint32_t len = (uint32_t)(a | b << 8) % 3000u + 1, pre = FUZZ_TAP ? HDR : 4;
	uint8_t buf[HDR + 3000];

	buf[0] = 0, buf[1] = 0, buf[2] = (uint8_t)(len >> 8), buf[3] = (uint8_t)len;
	if (FUZZ_TAP) {
		buf[0] = h & 3;
		buf[1] = gso[(h >> 2) & 7];
		for (unsigned i = 2; i < HDR; i++)
			buf[i] = (uint8_t)(fz.serial * 7 + i);
	}
	for (uint32_t i = 0; i < len; i++)
		buf[pre + i] = (uint8_t)(fz.serial * 13 + i);
	fz.serial++;
	host_send(buf, pre + len, true);
}

static void kick(unsigned q)
{
	/* The transport delivers kicks only to a device that does not need a reset. */
	if (!vfake.needs_reset)
		fz.d.ops->queue_notify(&fz.d, q);
}

static size_t rx_chain(const uint8_t *p, size_t rest, uint8_t b)
{
	uint32_t lens[SLOT];
	unsigned n = 1 + (b & 3);

	if (rest < n)
		return rest;
	for (unsigned i = 0; i < n; i++)
		lens[i] = p[i] * 4u;
	add_chain(RXQ, lens, n, (b & 4) ? 1 : 0);
	return n;
}

static size_t tx_chain(const uint8_t *p, size_t rest, uint8_t b)
{
	uint32_t lens[SLOT];
	unsigned n = 1 + (b & 3);
	size_t used = 0;
	int head;

	for (unsigned i = 0; i < n; i++) {
		if (used >= rest || rest - used - 1 < p[used])
			return rest;
		lens[i] = p[used];
		used += 1 + p[used];
	}
	head = add_chain(TXQ, lens, n, (b & 4) ? n - 1 : n);
	for (unsigned i = 0, off = 0; head >= 0 && i < n; i++) {
		off++; /* the length byte */
		memcpy(fz.ram + buf_gpa(TXQ, (unsigned)head + i), p + off, lens[i]);
		off += lens[i];
	}
	return used;
}

static void config_read(uint8_t b)
{
	uint8_t cfg[4];
	uint32_t off = b % 10u, len = 1u << ((b >> 4) % 3u);

	if (len > 10 - off)
		len = 10 - off;
	fz.d.ops->config_read(&fz.d, off, cfg, len);
	if (off == 0 && len >= 1)
		check(cfg[0] == 0x02); /* the default MAC: locally administered */
}

static void misc(uint8_t b, const uint8_t *p, size_t rest)
{
	if (b < 64) {
		/* A driver reset, then the driver sets the device up again. */
		reap();
		fz.d.ops->reset(&fz.d);
		check(!vfake_only_watch());
		vfake.needs_reset = 0;
		fz.wild = false;
		setup_queues();
		check(fz.d.ops->activate(&fz.d) == 0);
	} else if (b < 80) {
		if (!fz.hung)
			shutdown(fz.peer, SHUT_RDWR);
		fz.hung = true;
	} else if (rest >= 2) {
		fz.ram[desc_gpa(b & 1) + p[0] % 0x900u] = p[1];
		fz.wild = true; /* until a reset; what was sent meanwhile is not known */
		fz.tx_off = true;
	}
}

/* Runs the operation at data[i]; returns the index of the next one. */
static size_t run_op(const uint8_t *data, size_t size, size_t i)
{
	uint8_t op = data[i] & 7, b;
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
		if (rest < b)
			return size;
		fz.raw |= b > 0;
		host_send(p, b, false);
		return i + 2 + b;
	case 1:
		if (rest < (FUZZ_TAP ? 2u : 1u))
			return size;
		host_frame(b, p[0], FUZZ_TAP ? p[1] : 0);
		return i + (FUZZ_TAP ? 4 : 3);
	case 2:
		return i + 2 + rx_chain(p, rest, b);
	case 5:
		return i + 2 + tx_chain(p, rest, b);
	case 6:
		if (b & 1)
			config_read(b >> 1);
		else
			drain_peer();
		return i + 2;
	default:
		misc(b, p, rest);
		return i + 2 + (b >= 80 && rest >= 2 ? 2 : 0);
	}
}

static void once(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	gm_init_buffer(&fz.gm, fz.ram, RAM_SIZE);
	log_set_level(LOG_ERR); /* malformed chains and hang-ups log warnings: not news here */
	if (FUZZ_TAP) {
		fz.dir[0] = 't'; /* no socket to listen on: netdev_tap_open makes a pair */
		return;
	}

	snprintf(fz.dir, sizeof(fz.dir), "/tmp/phyllome-fuzz-net-XXXXXX");
	check(mkdtemp(fz.dir) != NULL);
	snprintf(fz.path, sizeof(fz.path), "%s/passt.sock", fz.dir);
	memcpy(sa.sun_path, fz.path, strlen(fz.path) + 1);
	fz.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	check(fz.listen_fd >= 0);
	check(bind(fz.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	check(listen(fz.listen_fd, 4) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_config cfg = {.backend = FUZZ_TAP ? NET_TAP : NET_PASST};
	char err[256];

	if (!fz.dir[0])
		once();
	if (size < 1)
		return 0;
	memset(&fz.d, 0, sizeof(fz.d));
	vfake.nqueues = 2;
	vfake.violation = vfake_trap;
	vfake_reset();
	fz.d.gm = &fz.gm;
	fz.mrg = data[0] & 1;
	fz.event_idx = data[0] & 2;
	fz.wild = fz.raw = fz.hung = fz.tx_off = false;
	fz.nframes = fz.next_frame = fz.asm_left = fz.serial = 0;
	fz.nsent = fz.asm_len = fz.ntx_expect = fz.ntx_got = 0;
	snprintf(cfg.target, sizeof(cfg.target), "%s",
		 FUZZ_TAP ? (data[0] & 0x40 ? "bare" : "tap0") : fz.path);
	check(virtio_net_init(&fz.d, &cfg, 0, err, sizeof(err)) == 0);
	if (!FUZZ_TAP)
		fz.peer = accept4(fz.listen_fd, NULL, NULL, SOCK_CLOEXEC);
	check(fz.peer >= 0);
	fz.feat = 0;
	for (unsigned k = 0; FUZZ_TAP && k < 4; k++)
		if (data[0] & 4u << k)
			fz.feat |= 1ull << (k == 0 ? G_CSUM : G_TSO4 + k - 1);
	fz.feat &= fz.d.ops->features(&fz.d); /* what the device offers */
	fz.d.guest_features = 1ull << VIRTIO_F_VERSION_1 | (fz.mrg ? 1ull << 15 : 0) | fz.feat;
	setup_queues();
	check(fz.d.ops->activate(&fz.d) == 0);
	check(vfake_only_watch() != NULL);
	/* A small send buffer, so that frames are written in parts and wait for room. */
	check(setsockopt(vfake_only_watch()->fd, SOL_SOCKET, SO_SNDBUF, &(int){4096},
			 sizeof(int)) == 0);
	for (size_t i = 1; i < size;) {
		i = run_op(data, size, i);
		io_poll();
		reap();
		check(fz.wild || vfake.needs_reset == 0);
	}
	drain_peer();
	fz.d.ops->destroy(&fz.d);
	close(fz.peer);
	return 0;
}
