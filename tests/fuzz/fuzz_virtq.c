/* libFuzzer: the input is a small guest's RAM with a virtqueue in it (descriptor table,
 * rings, indirect tables, all of them hostile), plus the queue's parameters. The device
 * side pops until the ring is empty or broken, reads every readable segment, writes into
 * the writable ones (which may overwrite the rings, as a guest could at any time), pushes
 * each chain back and asks whether to notify. Traps when a chain points outside guest
 * RAM, breaks its own bounds, or a broken queue comes back to life.
 *
 * Header, 10 bytes:
 *   0     log2 of the queue size (taken modulo 11: 1..1024)
 *   1     bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bit 2 RAM in two regions with a gap,
 *         bit 3 toggle notifications between pops, bits 4-7 bytes written per chain / 16
 *   2-3   starting last_avail and used_idx (little-endian)
 *   4-9   descriptor table, available ring and used ring addresses / 2 (little-endian,
 *         rounded down to their alignment)
 * The rest is copied to the start of guest RAM (host offset 0). RAM is 64 KiB: one
 * region at 0, or 32 KiB at 0 and 32 KiB at 64 KiB. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/bytes.h"
#include "common/log.h"
#include "virtio/virtq.h"
#include "kvm/guest_mem.h"

#define RAM_SIZE    0x10000u
#define HEADER_SIZE 10u
#define MAX_ROUNDS  2048u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));
static struct virtq_chain chain;
static uint8_t scratch[4096];

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static void layout(struct guest_mem *gm, bool gap)
{
	gm_init_buffer(gm, ram, RAM_SIZE);
	if (!gap)
		return;
	gm->nregions = 2;
	gm->regions[0] = (struct gm_region){.gpa = 0, .size = RAM_SIZE / 2, .offset = 0};
	gm->regions[1] =
	    (struct gm_region){.gpa = RAM_SIZE, .size = RAM_SIZE / 2, .offset = RAM_SIZE / 2};
}

static uint64_t check_segments(const struct iovec *iov, unsigned n)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < n; i++) {
		const uint8_t *p = iov[i].iov_base;

		check(iov[i].iov_len > 0);
		check(p >= ram && p < ram + RAM_SIZE);
		check(iov[i].iov_len <= (size_t)(ram + RAM_SIZE - p));
		total += iov[i].iov_len;
	}
	return total;
}

/* Uses a chain as a device would; returns the bytes "written". */
static uint32_t use_chain(const struct virtq *vq, const struct virtq_chain *c, size_t wlen)
{
	size_t n;

	check(c->head < vq->size);
	check(c->nout + c->nin <= VIRTQ_MAX_CHAIN);
	check(check_segments(c->out, c->nout) == c->out_len);
	check(check_segments(c->in, c->nin) == c->in_len);
	n = iov_to_buf(c->out, c->nout, c->out_len / 3, scratch, sizeof(scratch));
	check(n <= sizeof(scratch) && n <= c->out_len);
	memset(scratch, 0xA5, wlen);
	n = iov_from_buf(c->in, c->nin, c->in_len / 4, scratch, wlen);
	check(n <= wlen && n + c->in_len / 4 <= c->in_len);
	return (uint32_t)(n ? n + c->in_len / 4 : 0);
}

static void run(struct virtq *vq, uint8_t flags)
{
	size_t wlen = (size_t)(flags >> 4) * 16;
	uint16_t used;

	for (unsigned round = 0; round < MAX_ROUNDS; round++) {
		uint16_t last = vq->last_avail;
		bool avail = virtq_has_avail(vq);
		int rc = virtq_pop(vq, &chain);

		if (rc < 0) {
			check(rc == -EINVAL && vq->broken && vq->last_avail == last);
			check(virtq_pop(vq, &chain) == -EINVAL && !virtq_has_avail(vq));
			break;
		}
		if (rc == 0) {
			check(vq->last_avail == last && !avail);
			break;
		}
		check(rc == 1 && avail && vq->last_avail == (uint16_t)(last + 1));
		virtq_push(vq, chain.head, use_chain(vq, &chain, wlen));
		/* The used idx is stored last, so nothing we wrote can hide it. */
		check(gm_read(vq->gm, vq->used_gpa + 2, &used, 2) == 0 && used == vq->used_idx);
		if (flags & 8)
			virtq_set_notify(vq, round & 1);
		(void)virtq_should_notify(vq);
	}
	(void)virtq_should_notify(vq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem gm;
	struct virtq vq;
	uint16_t start;

	if (size < HEADER_SIZE)
		return 0;
	log_set_level(LOG_ERR); /* a broken queue logs a warning: not news here */
	memset(ram, 0, sizeof(ram));
	memcpy(ram, data + HEADER_SIZE,
	       size - HEADER_SIZE < RAM_SIZE ? size - HEADER_SIZE : RAM_SIZE);
	layout(&gm, data[1] & 4);

	memset(&vq, 0, sizeof(vq));
	vq.gm = &gm;
	vq.size = (uint16_t)(1u << (data[0] % 11));
	vq.event_idx = data[1] & 1;
	vq.indirect = data[1] & 2;
	vq.desc_gpa = ((uint64_t)get_le16(data + 4) << 1) & ~15ull;
	vq.avail_gpa = ((uint64_t)get_le16(data + 6) << 1) & ~1ull;
	vq.used_gpa = ((uint64_t)get_le16(data + 8) << 1) & ~3ull;
	if (virtq_enable(&vq) < 0) {
		check(!vq.ready && virtq_pop(&vq, &chain) == 0);
		return 0;
	}
	start = get_le16(data + 2);
	vq.last_avail = vq.used_idx = start;
	run(&vq, data[1]);
	virtq_reset(&vq);
	check(!vq.ready && !vq.broken && vq.gm == &gm);
	return 0;
}
