/* libFuzzer: a guest driving the NVMe controller. Bytes become register accesses (any offset
 * and width in BAR 0, doorbells with any value), bytes the guest writes into its RAM (queues,
 * PRP lists, DSM ranges, shadow doorbells as it pleases), an enable with admin queues from a few
 * bytes, and submission queue entries built from a few bytes (a likely opcode or any, PRP1/PRP2 in
 * RAM, unaligned, or anywhere, any command dwords) placed where the device's queue is, followed by
 * its doorbell; the I/O thread's two calls run in between. Checks: guest memory outside RAM is
 * never touched (guard regions around the RAM buffer stay as they were) and every command the
 * backend took is finished when the controller is destroyed. */
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bytes.h"
#include "devices/nvme.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM    (256u * 1024)
#define GUARD  4096u
#define BLOCKS 128u
#define FILL   0x5A

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static void set_intx(void *opaque, int level)
{
	(void)opaque;
	check(level == 0 || level == 1);
}

static void kick(void *opaque)
{
	(void)opaque;
}

static struct block *backend(void)
{
	static struct block bk;
	static bool open;
	char path[] = "/tmp/fuzz-nvme-XXXXXX", err[256];

	if (!open) {
		int fd = mkstemp(path);

		check(fd >= 0);
		check(ftruncate(fd, BLOCKS * NVME_LBA) == 0);
		check(block_open(&bk, path, false, false, NVME_MAX_REQS, err, sizeof(err)) == 0);
		close(fd);
		unlink(path);
		open = true;
	}
	return &bk;
}

static void bar(struct nvme *n, uint64_t off, uint64_t v, unsigned len, bool write)
{
	uint8_t b[8];

	put_le64(b, v);
	nvme_bar_io(n, off, b, len, write);
}

/* An address: mostly in RAM and page aligned, sometimes unaligned or anywhere. */
static uint64_t addr(struct in *in)
{
	uint8_t how = (uint8_t)take(in, 1);

	if (how < 192)
		return (uint64_t)(how % (RAM / NVME_PAGE)) * NVME_PAGE;
	if (how < 240)
		return take(in, 3) % RAM;
	return take(in, 8);
}

static void submit(struct nvme *n, uint8_t *ram, struct in *in)
{
	static const uint8_t admin[] = {0x00, 0x01, 0x02, 0x04, 0x05, 0x06,
					0x08, 0x09, 0x0A, 0x0C, 0x18, 0x7C};
	static const uint8_t io[] = {0x00, 0x01, 0x02, 0x08, 0x09};
	uint16_t qid = (uint16_t)(take(in, 1) % 4);
	uint8_t e[64] = {0}, sel = (uint8_t)take(in, 1);
	struct nvme_sq *sq = &n->sq[qid];

	if (sel < 200)
		e[0] = qid ? io[sel % sizeof(io)] : admin[sel % sizeof(admin)];
	else
		e[0] = (uint8_t)take(in, 1);
	e[1] = (uint8_t)(take(in, 1) & (sel & 1 ? 0xFF : 0));
	put_le16(e + 2, (uint16_t)take(in, 2));
	put_le32(e + 4, take(in, 1) < 224 ? 1 : (uint32_t)take(in, 4));
	put_le64(e + 24, addr(in));
	put_le64(e + 32, addr(in));
	for (unsigned i = 0; i < 6; i++)
		put_le32(e + 40 + 4 * i, (uint32_t)take(in, i < 3 ? 4 : 1));
	if (!sq->exists || sq->size == 0)
		return;
	if (sq->base + (uint64_t)sq->tail * 64 + 64 <= RAM)
		memcpy(ram + sq->base + (uint64_t)sq->tail * 64, e, 64);
	bar(n, NVME_DB_BASE + 8u * qid, (sq->tail + 1u) % sq->size, 4, true);
}

static void enable(struct nvme *n, struct in *in)
{
	bar(n, 0x14, 0, 4, true);
	bar(n, 0x24, take(in, 4) & 0x003F003F, 4, true);
	bar(n, 0x28, addr(in), 8, true);
	bar(n, 0x30, addr(in), 8, true);
	bar(n, 0x14, 1u | 6u << 16 | 4u << 20 | (take(in, 1) < 16 ? 1u << 14 : 0), 4, true);
}

static void reap(struct nvme *n, bool wait)
{
	struct pollfd pfd = {.fd = block_eventfd(n->bk), .events = POLLIN};

	if (poll(&pfd, 1, wait && n->bk->inflight ? 1000 : 0) == 1)
		nvme_reap(n);
}

static void step(struct nvme *n, uint8_t *ram, struct in *in)
{
	static const uint8_t widths[] = {1, 2, 4, 8};
	uint8_t op = (uint8_t)take(in, 1);

	switch (op % 8) {
	case 0: /* a register write of any width */
		bar(n, take(in, 1) & 0x3F, take(in, 8), widths[op >> 3 & 3], true);
		break;
	case 1: /* a read anywhere in the BAR */
		bar(n, take(in, 2) % NVME_BAR_SIZE, 0, widths[op >> 3 & 3], false);
		break;
	case 2: { /* the guest writes its RAM */
		uint64_t at = take(in, 3) % RAM, len = take(in, 1);

		for (uint64_t i = 0; i < len && at + i < RAM && in->left; i++)
			ram[at + i] = (uint8_t)take(in, 1);
		break;
	}
	case 3:
		enable(n, in);
		break;
	case 4:
	case 5:
		submit(n, ram, in);
		break;
	case 6: /* a doorbell with any value, or the MSI-X table */
		bar(n, NVME_DB_BASE + (take(in, 1) % 40) * 4, take(in, 4), 4, true);
		break;
	default:
		nvme_process(n);
		reap(n, op & 0x80);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *mem;
	struct guest_mem gm;
	struct nvme_hooks h = {.set_intx = set_intx, .kick = kick};
	static struct nvme n;
	struct in in = {data, size};

	if (!mem) {
		mem = malloc(RAM + 2 * GUARD);
		check(mem != NULL);
	}
	memset(mem, FILL, GUARD);
	memset(mem + GUARD, 0, RAM);
	memset(mem + GUARD + RAM, FILL, GUARD);
	gm_init_buffer(&gm, mem + GUARD, RAM);
	check(nvme_init(&n, &gm, backend(), 4, "FUZZ", &h) == 0);
	for (unsigned i = 0; i < 512 && in.left; i++)
		step(&n, mem + GUARD, &in);
	nvme_process(&n);
	nvme_destroy(&n);
	check(n.bk->inflight == 0);
	for (unsigned i = 0; i < GUARD; i++)
		check(mem[i] == FILL && mem[GUARD + RAM + i] == FILL);
	return 0;
}
