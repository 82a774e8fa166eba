/* The NVMe controller driven as a driver would: registers through BAR 0, admin and I/O queues,
 * PRPs and PRP lists in a plain buffer of "guest RAM", and a temporary image whose every
 * 512-byte block says its own number. The I/O thread's two calls (nvme_process after a
 * doorbell, nvme_reap when the backend's eventfd is readable) are made here. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/bytes.h"
#include "devices/nvme.h"

#define MEM_SIZE (8u << 20)
#define ASQ	 0x10000ull
#define ACQ	 0x11000ull
#define IOSQ	 0x12000ull
#define IOCQ	 0x13000ull
#define LIST	 0x14000ull
#define SHADOW	 0x15000ull
#define EVENTS	 0x16000ull
#define DATA	 0x20000ull
#define BLOCKS	 2048u
#define QD	 32u

/* Registers and statuses, from the NVMe 1.4 specification. */
enum { CAP = 0x00, VS = 0x08, INTMS = 0x0C, INTMC = 0x10, CC = 0x14, CSTS = 0x1C };
enum { AQA = 0x24, ASQ_R = 0x28, ACQ_R = 0x30 };
#define CC_ENABLE (1u | 6u << 16 | 4u << 20)
enum { SC_OK = 0, SC_OPCODE = 1, SC_FIELD = 2, SC_XFER = 4, SC_NS = 0xB, SC_SGL = 0xF };
enum { SC_PRP_OFF = 0x13, SC_WP = 0x20, SC_LBA = 0x80, SC_CQ = 0x100, SC_QID = 0x101 };
enum { SC_QSIZE = 0x102, SC_AERL = 0x105, SC_QDEL = 0x10C };

struct q {
	uint64_t base;
	uint16_t size, idx; /* SQ: tail; CQ: head */
	uint8_t phase;
};

struct env {
	uint8_t *mem;
	struct guest_mem gm;
	struct block bk;
	struct nvme n;
	char path[64];
	char qcow2[80]; /* set: the controller's disk is this qcow2 image (format=qcow2) */
	int img;
	int level, kicks;
	bool dbbuf;
	struct q asq, acq, sq, cq;
	uint16_t cid;
};

static void set_intx(void *opaque, int level)
{
	((struct env *)opaque)->level = level;
}

static void kick(void *opaque)
{
	((struct env *)opaque)->kicks++;
}

static void dbbuf(void *opaque, bool on)
{
	((struct env *)opaque)->dbbuf = on;
}

static void open_ctrl_cpus(struct env *e, bool readonly, unsigned ncpus)
{
	struct nvme_hooks h = {.opaque = e, .set_intx = set_intx, .kick = kick, .dbbuf = dbbuf};
	char err[256];

	assert_int_equal(block_open_image(&e->bk, e->qcow2[0] ? e->qcow2 : e->path,
					  e->qcow2[0] ? BLOCK_QCOW2 : BLOCK_RAW, false, readonly,
					  false, NVME_MAX_REQS, err, sizeof(err)),
			 0);
	assert_int_equal(nvme_init(&e->n, &e->gm, &e->bk, ncpus, "SN-TEST", &h), 0);
}

static void open_ctrl(struct env *e, bool readonly)
{
	open_ctrl_cpus(e, readonly, 2);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	uint8_t blk[NVME_LBA];

	assert_non_null(e);
	e->mem = calloc(1, MEM_SIZE);
	assert_non_null(e->mem);
	gm_init_buffer(&e->gm, e->mem, MEM_SIZE);
	strcpy(e->path, "/tmp/phyllome-nvme-XXXXXX");
	e->img = mkstemp(e->path);
	assert_true(e->img >= 0);
	for (unsigned i = 0; i < BLOCKS; i++) {
		memset(blk, (int)(i & 0xFF), sizeof(blk));
		put_le32(blk, i);
		assert_int_equal(pwrite(e->img, blk, sizeof(blk), (off_t)i * NVME_LBA), NVME_LBA);
	}
	open_ctrl(e, false);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	nvme_destroy(&e->n);
	block_close(&e->bk);
	close(e->img);
	unlink(e->path);
	if (e->qcow2[0])
		unlink(e->qcow2);
	free(e->mem);
	free(e);
	return 0;
}

static uint32_t rd32(struct env *e, unsigned off)
{
	uint8_t v[4];

	nvme_bar_io(&e->n, off, v, 4, false);
	return get_le32(v);
}

static void wr32(struct env *e, unsigned off, uint32_t val)
{
	uint8_t v[4];

	put_le32(v, val);
	nvme_bar_io(&e->n, off, v, 4, true);
}

static void wr64(struct env *e, unsigned off, uint64_t val)
{
	uint8_t v[8];

	put_le64(v, val);
	nvme_bar_io(&e->n, off, v, 8, true);
}

static void enable(struct env *e)
{
	wr32(e, AQA, (QD - 1) << 16 | (QD - 1));
	wr64(e, ASQ_R, ASQ);
	wr64(e, ACQ_R, ACQ);
	wr32(e, CC, CC_ENABLE);
	assert_int_equal(rd32(e, CSTS) & 3, 1);
	e->asq = (struct q){ASQ, QD, 0, 0};
	e->acq = (struct q){ACQ, QD, 0, 1};
}

/* A submission queue entry. */
struct cmd {
	uint8_t opc, flags;
	uint32_t nsid;
	uint64_t prp1, prp2;
	uint32_t dw[6]; /* CDW10..15 */
};

/* Writes the entry at the queue's tail and moves the tail (no doorbell). */
static uint16_t put_sqe(struct env *e, struct q *sq, const struct cmd *c)
{
	uint8_t *p = e->mem + sq->base + (uint64_t)sq->idx * 64;
	uint16_t cid = ++e->cid;

	memset(p, 0, 64);
	p[0] = c->opc;
	p[1] = c->flags;
	put_le16(p + 2, cid);
	put_le32(p + 4, c->nsid);
	put_le64(p + 24, c->prp1);
	put_le64(p + 32, c->prp2);
	for (unsigned i = 0; i < 6; i++)
		put_le32(p + 40 + 4 * i, c->dw[i]);
	sq->idx = (uint16_t)((sq->idx + 1) % sq->size);
	return cid;
}

static uint16_t submit(struct env *e, struct q *sq, unsigned qid, const struct cmd *c)
{
	uint16_t cid = put_sqe(e, sq, c);

	wr32(e, 0x1000 + 8 * qid, sq->idx);
	return cid;
}

static bool cqe_ready(struct env *e, const struct q *cq)
{
	return (get_le16(e->mem + cq->base + (uint64_t)cq->idx * 16 + 14) & 1) == cq->phase;
}

/* Runs the device until the next completion of cq is posted; returns its status. */
static int reap(struct env *e, struct q *cq, unsigned qid, uint16_t cid, uint32_t *dw0)
{
	uint8_t *p = e->mem + cq->base + (uint64_t)cq->idx * 16;
	struct pollfd pfd = {.fd = block_eventfd(&e->bk), .events = POLLIN};

	nvme_process(&e->n);
	for (int i = 0; i < 1000 && !cqe_ready(e, cq); i++) {
		assert_true(poll(&pfd, 1, 5000) == 1);
		nvme_reap(&e->n);
	}
	assert_true(cqe_ready(e, cq));
	assert_int_equal(get_le16(p + 12), cid);
	if (dw0)
		*dw0 = get_le32(p);
	if (++cq->idx == cq->size) {
		cq->idx = 0;
		cq->phase ^= 1;
	}
	wr32(e, 0x1000 + 8 * qid + 4, cq->idx);
	return (get_le16(p + 14) >> 1) & 0x7FF;
}

static int admin(struct env *e, const struct cmd *c, uint32_t *dw0)
{
	uint16_t cid = submit(e, &e->asq, 0, c);

	return reap(e, &e->acq, 0, cid, dw0);
}

static int io(struct env *e, const struct cmd *c)
{
	uint16_t cid = submit(e, &e->sq, 1, c);

	return reap(e, &e->cq, 1, cid, NULL);
}

static void make_io_queues(struct env *e)
{
	struct cmd cq = {.opc = 0x05, .prp1 = IOCQ, .dw = {(QD - 1) << 16 | 1, 1u << 1 | 1}};
	struct cmd sq = {.opc = 0x01, .prp1 = IOSQ, .dw = {(QD - 1) << 16 | 1, 1u << 16 | 1}};

	assert_int_equal(admin(e, &cq, NULL), SC_OK);
	assert_int_equal(admin(e, &sq, NULL), SC_OK);
	e->sq = (struct q){IOSQ, QD, 0, 0};
	e->cq = (struct q){IOCQ, QD, 0, 1};
}

static struct cmd rw(uint8_t opc, uint64_t slba, unsigned nblocks, uint64_t prp1, uint64_t prp2)
{
	return (struct cmd){.opc = opc,
			    .nsid = 1,
			    .prp1 = prp1,
			    .prp2 = prp2,
			    .dw = {(uint32_t)slba, (uint32_t)(slba >> 32), nblocks - 1}};
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_registers(void **state)
{
	struct env *e = *state;
	uint8_t v[8];

	nvme_bar_io(&e->n, CAP, v, 8, false);
	assert_int_equal(get_le64(v) & 0xFFFF, NVME_MQES);
	assert_int_equal((get_le64(v) >> 37) & 1, 1); /* NVM command set */
	assert_int_equal(rd32(e, VS), 0x00010400);
	assert_int_equal(rd32(e, CSTS), 0);
	wr32(e, AQA, 0xFFFFFFFF);
	assert_int_equal(rd32(e, AQA), 0x0FFF0FFF);
	wr64(e, ASQ_R, 0x123456789ABCull);
	assert_int_equal(rd32(e, ASQ_R), 0x56789000);
	assert_int_equal(rd32(e, ASQ_R + 4), 0x1234);
	wr32(e, INTMS, 1);
	assert_int_equal(rd32(e, INTMS), 1);
	wr32(e, INTMC, 1);
	assert_int_equal(rd32(e, INTMC), 0);
	enable(e);
	/* Admin queue registers are fixed while enabled. */
	wr64(e, ASQ_R, 0x40000);
	assert_int_equal(rd32(e, ASQ_R), ASQ);
	wr32(e, CC, CC_ENABLE | 1u << 14); /* normal shutdown: the I/O thread finishes it */
	assert_int_equal(rd32(e, CSTS) & 0xC, 0x4);
	assert_true(e->kicks > 0);
	nvme_process(&e->n);
	assert_int_equal(rd32(e, CSTS) & 0xC, 0x8);
	wr32(e, CC, 0);
	assert_int_equal(rd32(e, CSTS), 0);
}

static void test_bad_enable(void **state)
{
	struct env *e = *state;

	wr32(e, AQA, 0); /* one-entry queues */
	wr64(e, ASQ_R, ASQ);
	wr64(e, ACQ_R, ACQ);
	wr32(e, CC, CC_ENABLE);
	assert_int_equal(rd32(e, CSTS) & 3, 2); /* CFS, not ready */
	wr32(e, CC, 0);
	assert_int_equal(rd32(e, CSTS), 0);
	wr32(e, AQA, 7 << 16 | 127);
	wr64(e, ASQ_R, MEM_SIZE - 0x1000ull); /* 8 KiB of queue in the last 4 KiB of RAM */
	wr32(e, CC, CC_ENABLE);
	assert_int_equal(rd32(e, CSTS) & 3, 2);
	wr32(e, CC, 0);
	wr64(e, ASQ_R, ASQ);
	wr32(e, CC, CC_ENABLE | 1u << 7); /* 8 KiB pages: not offered */
	assert_int_equal(rd32(e, CSTS) & 3, 2);
}

static void test_identify(void **state)
{
	struct env *e = *state;
	struct cmd c = {.opc = 0x06, .prp1 = DATA, .dw = {1}};
	uint8_t *d = e->mem + DATA;

	enable(e);
	assert_int_equal(admin(e, &c, NULL), SC_OK);
	assert_int_equal(get_le16(d), NVME_VENDOR);
	assert_memory_equal(d + 4, "SN-TEST ", 8);
	assert_int_equal(d[77], NVME_MDTS);
	assert_int_equal(get_le32(d + 80), 0x00010400);
	assert_int_equal(d[512], 0x66);
	assert_int_equal(d[513], 0x44);
	assert_int_equal(get_le32(d + 516), 1);
	assert_int_equal(d[525], 1);
	c = (struct cmd){.opc = 0x06, .nsid = 1, .prp1 = DATA, .dw = {0}};
	assert_int_equal(admin(e, &c, NULL), SC_OK);
	assert_int_equal(get_le64(d), BLOCKS);
	assert_int_equal((get_le32(d + 128) >> 16) & 0xFF, 9);
	assert_int_equal(d[99], 0);
	c.dw[0] = 2;
	c.nsid = 0;
	assert_int_equal(admin(e, &c, NULL), SC_OK);
	assert_int_equal(get_le32(d), 1);
	assert_int_equal(get_le32(d + 4), 0);
	c.nsid = 1; /* namespaces above 1: none */
	assert_int_equal(admin(e, &c, NULL), SC_OK);
	assert_int_equal(get_le32(d), 0);
	c.dw[0] = 3;
	assert_int_equal(admin(e, &c, NULL), SC_OK);
	assert_int_equal(d[0], 3);
	assert_int_equal(d[1], 16);
	c.nsid = 2;
	assert_int_equal(admin(e, &c, NULL), SC_NS);
	c.dw[0] = 0;
	assert_int_equal(admin(e, &c, NULL), SC_NS);
	c.dw[0] = 0x10;
	assert_int_equal(admin(e, &c, NULL), SC_FIELD);
	c = (struct cmd){.opc = 0x06, .prp1 = MEM_SIZE + 0x1000ull, .dw = {1}};
	assert_int_equal(admin(e, &c, NULL), SC_XFER);
	c = (struct cmd){.opc = 0x7F};
	assert_int_equal(admin(e, &c, NULL), SC_OPCODE);
	c = (struct cmd){.opc = 0x06, .flags = 0x40, .prp1 = DATA, .dw = {1}};
	assert_int_equal(admin(e, &c, NULL), SC_SGL);
}

static void test_features_logs(void **state)
{
	struct env *e = *state;
	struct cmd c = {.opc = 0x09, .dw = {0x07, 7u << 16 | 7u}};
	uint32_t dw0 = 0;

	enable(e);
	assert_int_equal(admin(e, &c, &dw0), SC_OK);
	assert_int_equal(dw0, 1u << 16 | 1u); /* two queue pairs: one per vCPU */
	c.dw[1] = 0xFFFF;
	assert_int_equal(admin(e, &c, NULL), SC_FIELD);
	c = (struct cmd){.opc = 0x09, .dw = {0x06, 0}};
	assert_int_equal(admin(e, &c, NULL), SC_OK);
	c = (struct cmd){.opc = 0x0A, .dw = {0x06}};
	dw0 = 7;
	assert_int_equal(admin(e, &c, &dw0), SC_OK);
	assert_int_equal(dw0, 0);
	c.dw[0] = 0x06 | 1u << 8; /* the default */
	assert_int_equal(admin(e, &c, &dw0), SC_OK);
	assert_int_equal(dw0, 1);
	c = (struct cmd){.opc = 0x09, .dw = {0x02, 3}}; /* power state 3: there is one */
	assert_int_equal(admin(e, &c, NULL), SC_FIELD);
	c = (struct cmd){.opc = 0x09, .dw = {0x06 | 1u << 31, 1}};
	assert_int_equal(admin(e, &c, NULL), 0x10D);
	c = (struct cmd){.opc = 0x02, .nsid = 0xFFFFFFFF, .prp1 = DATA, .dw = {0x02 | 127u << 16}};
	memset(e->mem + DATA, 0xEE, 512);
	assert_int_equal(admin(e, &c, NULL), SC_OK);
	assert_int_equal(e->mem[DATA + 3], 100); /* available spare */
	c.dw[0] = 0x03 | 127u << 16;
	assert_int_equal(admin(e, &c, NULL), SC_OK);
	assert_int_equal(e->mem[DATA], 1);
	c.dw[0] = 0x42 | 127u << 16;
	assert_int_equal(admin(e, &c, NULL), 0x109);
	c.dw[0] = 0x02 | 127u << 16;
	c.dw[2] = 512; /* offset past the log */
	assert_int_equal(admin(e, &c, NULL), SC_FIELD);
}

static void test_queues(void **state)
{
	struct env *e = *state;
	struct cmd c;

	enable(e);
	/* An SQ needs its CQ; QID 0, QIDs past the granted count and size 1 fail. */
	c = (struct cmd){.opc = 0x01, .prp1 = IOSQ, .dw = {(QD - 1) << 16 | 1, 1u << 16 | 1}};
	assert_int_equal(admin(e, &c, NULL), SC_CQ);
	c = (struct cmd){.opc = 0x05, .prp1 = IOCQ, .dw = {(QD - 1) << 16 | 0, 3}};
	assert_int_equal(admin(e, &c, NULL), SC_QID);
	c.dw[0] = (QD - 1) << 16 | 3;
	assert_int_equal(admin(e, &c, NULL), SC_QID);
	c.dw[0] = 0u << 16 | 1;
	assert_int_equal(admin(e, &c, NULL), SC_QSIZE);
	c.dw[0] = (QD - 1) << 16 | 1;
	c.dw[1] = 2; /* not physically contiguous */
	assert_int_equal(admin(e, &c, NULL), SC_FIELD);
	c.dw[1] = 3 | 40u << 16; /* interrupt vector 40 */
	assert_int_equal(admin(e, &c, NULL), 0x108);
	c.dw[1] = 3;
	c.prp1 = MEM_SIZE; /* past RAM */
	assert_int_equal(admin(e, &c, NULL), SC_FIELD);
	c.prp1 = IOCQ + 8;
	assert_int_equal(admin(e, &c, NULL), SC_PRP_OFF);
	make_io_queues(e);
	c = (struct cmd){.opc = 0x05, .prp1 = IOCQ, .dw = {(QD - 1) << 16 | 1, 3}};
	assert_int_equal(admin(e, &c, NULL), SC_QID); /* exists */
	c = (struct cmd){.opc = 0x04, .dw = {1}};
	assert_int_equal(admin(e, &c, NULL), SC_QDEL); /* its SQ is still there */
	c = (struct cmd){.opc = 0x00, .dw = {1}};
	assert_int_equal(admin(e, &c, NULL), SC_OK);
	assert_int_equal(admin(e, &c, NULL), SC_QID);
	c = (struct cmd){.opc = 0x04, .dw = {1}};
	assert_int_equal(admin(e, &c, NULL), SC_OK);
	c = (struct cmd){.opc = 0x04, .dw = {0}};
	assert_int_equal(admin(e, &c, NULL), SC_QID);
}

static void check_block(struct env *e, uint64_t gpa, unsigned lba)
{
	assert_int_equal(get_le32(e->mem + gpa), lba);
	assert_int_equal(e->mem[gpa + 100], lba & 0xFF);
}

static void test_read_prps(void **state)
{
	struct env *e = *state;
	struct cmd c;

	enable(e);
	make_io_queues(e);
	/* PRP1 with an offset, PRP2 the next page. */
	c = rw(0x02, 10, 8, DATA + 0xE00, DATA + 0x3000);
	assert_int_equal(io(e, &c), SC_OK);
	check_block(e, DATA + 0xE00, 10);
	check_block(e, DATA + 0x3000, 11);
	check_block(e, DATA + 0x3000 + 6 * NVME_LBA, 17);
	/* A PRP list: 64 KiB over pages in reverse order. */
	for (unsigned i = 0; i < 15; i++)
		put_le64(e->mem + LIST + 8 * i, DATA + 0x40000 - 0x1000ull * i);
	c = rw(0x02, 100, 128, DATA + 0x50000, LIST);
	assert_int_equal(io(e, &c), SC_OK);
	check_block(e, DATA + 0x50000, 100);
	check_block(e, DATA + 0x40000, 108);
	check_block(e, DATA + 0x40000 - 0xE000 + 0xE00, 227);
}

static void test_prp_chain(void **state)
{
	struct env *e = *state;
	uint64_t list = LIST + 0x1000 - 16; /* two entries left in the first list page */
	struct cmd c;

	enable(e);
	make_io_queues(e);
	put_le64(e->mem + list, DATA + 0x1000);
	put_le64(e->mem + list + 8, LIST + 0x2000); /* the next list page */
	put_le64(e->mem + LIST + 0x2000, DATA + 0x2000);
	put_le64(e->mem + LIST + 0x2008, DATA + 0x3000);
	c = rw(0x02, 0, 32, DATA, list);
	assert_int_equal(io(e, &c), SC_OK);
	check_block(e, DATA + 0x3000, 24);
	/* A list page whose last entry points at itself. */
	put_le64(e->mem + LIST + 0xFF8, LIST + 0xFF8);
	c = rw(0x02, 0, 32, DATA, LIST + 0xFF8);
	assert_int_equal(io(e, &c), SC_XFER);
}

static void test_write_flush(void **state)
{
	struct env *e = *state;
	uint8_t blk[NVME_LBA];
	struct cmd c;

	enable(e);
	make_io_queues(e);
	memset(e->mem + DATA, 0xA5, 3 * NVME_LBA);
	c = rw(0x01, 7, 3, DATA, 0);
	assert_int_equal(io(e, &c), SC_OK);
	c = (struct cmd){.opc = 0x00, .nsid = 1};
	assert_int_equal(io(e, &c), SC_OK);
	assert_int_equal(pread(e->img, blk, sizeof(blk), 9 * NVME_LBA), NVME_LBA);
	assert_int_equal(blk[0], 0xA5);
	assert_int_equal(pread(e->img, blk, sizeof(blk), 10 * NVME_LBA), NVME_LBA);
	assert_int_equal(get_le32(blk), 10);
	/* FUA */
	c = rw(0x01, 20, 1, DATA, 0);
	c.dw[2] |= 1u << 30;
	assert_int_equal(io(e, &c), SC_OK);
	assert_int_equal(pread(e->img, blk, sizeof(blk), 20 * NVME_LBA), NVME_LBA);
	assert_int_equal(blk[0], 0xA5);
}

static void test_zeroes_dsm(void **state)
{
	struct env *e = *state;
	uint8_t blk[NVME_LBA], zero[NVME_LBA] = {0};
	struct cmd c;

	enable(e);
	make_io_queues(e);
	c = (struct cmd){.opc = 0x08, .nsid = 1, .dw = {30, 0, 3}};
	assert_int_equal(io(e, &c), SC_OK);
	assert_int_equal(pread(e->img, blk, sizeof(blk), 33 * NVME_LBA), NVME_LBA);
	assert_memory_equal(blk, zero, NVME_LBA);
	assert_int_equal(pread(e->img, blk, sizeof(blk), 34 * NVME_LBA), NVME_LBA);
	assert_int_equal(get_le32(blk), 34);
	/* Deallocate 8 blocks at 64 (one 4 KiB file system block): they read as zeroes. */
	memset(e->mem + DATA, 0, 64);
	put_le32(e->mem + DATA + 4, 8);
	put_le64(e->mem + DATA + 8, 64);
	c = (struct cmd){.opc = 0x09, .nsid = 1, .prp1 = DATA, .dw = {0, 4}};
	assert_int_equal(io(e, &c), SC_OK);
	c = rw(0x02, 64, 1, DATA + 0x1000, 0);
	memset(e->mem + DATA + 0x1000, 0xFF, NVME_LBA);
	assert_int_equal(io(e, &c), SC_OK);
	assert_memory_equal(e->mem + DATA + 0x1000, zero, NVME_LBA);
	/* A range past the end fails the whole command, and nothing is deallocated. */
	put_le32(e->mem + DATA + 16 + 4, 8);
	put_le64(e->mem + DATA + 16 + 8, 200);
	put_le32(e->mem + DATA + 4, 1);
	put_le64(e->mem + DATA + 8, BLOCKS);
	c = (struct cmd){.opc = 0x09, .nsid = 1, .prp1 = DATA, .dw = {1, 4}};
	assert_int_equal(io(e, &c), SC_LBA);
	assert_int_equal(pread(e->img, blk, sizeof(blk), 200 * NVME_LBA), NVME_LBA);
	assert_int_equal(get_le32(blk), 200);
}

static void test_malformed_io(void **state)
{
	struct env *e = *state;
	struct cmd c;

	enable(e);
	make_io_queues(e);
	c = rw(0x02, BLOCKS - 1, 2, DATA, 0);
	assert_int_equal(io(e, &c), SC_LBA);
	c = rw(0x02, UINT64_MAX, 1, DATA, 0);
	assert_int_equal(io(e, &c), SC_LBA);
	c = rw(0x02, 0, 1, MEM_SIZE + 0x1000ull, 0);
	assert_int_equal(io(e, &c), SC_XFER);
	c = rw(0x02, 0, 16, DATA, DATA + 0x1800); /* PRP2 with an offset */
	assert_int_equal(io(e, &c), SC_PRP_OFF);
	c = rw(0x02, 0, 1, DATA + 2, 0); /* not dword aligned */
	assert_int_equal(io(e, &c), SC_PRP_OFF);
	c = rw(0x02, 0, 1, DATA, 0);
	c.nsid = 2;
	assert_int_equal(io(e, &c), SC_NS);
	c = rw(0x02, 0, 2048, DATA, LIST); /* 1 MiB: past MDTS */
	assert_int_equal(io(e, &c), SC_FIELD);
	c = rw(0x05, 0, 1, DATA, 0); /* COMPARE: not offered */
	assert_int_equal(io(e, &c), SC_OPCODE);
	c = rw(0x02, 0, 1, DATA, 0);
	c.flags = 1; /* fused */
	assert_int_equal(io(e, &c), SC_FIELD);
	put_le64(e->mem + LIST, MEM_SIZE + 0x1000ull);
	c = rw(0x02, 0, 24, DATA, LIST); /* a list entry outside RAM */
	assert_int_equal(io(e, &c), SC_XFER);
	/* Doorbells past a queue's size or for queues that don't exist are ignored. */
	wr32(e, 0x1008, QD + 5);
	wr32(e, 0x1000 + 8 * 5, 1);
	wr32(e, 0x100C, 7); /* CQ head past the tail */
	nvme_process(&e->n);
	c = rw(0x02, 0, 1, DATA, 0);
	assert_int_equal(io(e, &c), SC_OK);
}

static void test_readonly(void **state)
{
	struct env *e = *state;
	struct cmd c;

	nvme_destroy(&e->n);
	block_close(&e->bk);
	open_ctrl(e, true);
	enable(e);
	c = (struct cmd){.opc = 0x06, .nsid = 1, .prp1 = DATA, .dw = {0}};
	assert_int_equal(admin(e, &c, NULL), SC_OK);
	assert_int_equal(e->mem[DATA + 99], 1); /* write protected */
	make_io_queues(e);
	c = rw(0x01, 0, 1, DATA, 0);
	assert_int_equal(io(e, &c), SC_WP);
	c = (struct cmd){.opc = 0x08, .nsid = 1, .dw = {0, 0, 0}};
	assert_int_equal(io(e, &c), SC_WP);
	c = rw(0x02, 5, 1, DATA, 0);
	assert_int_equal(io(e, &c), SC_OK);
	check_block(e, DATA, 5);
}

static void test_intx_and_aer(void **state)
{
	struct env *e = *state;
	struct cmd c = {.opc = 0x0C};
	uint16_t cid;

	enable(e);
	for (unsigned i = 0; i < 4; i++)
		submit(e, &e->asq, 0, &c); /* held */
	assert_true(e->kicks > 0);
	nvme_process(&e->n);
	assert_false(cqe_ready(e, &e->acq));
	assert_int_equal(e->level, 0);
	cid = submit(e, &e->asq, 0, &c);
	nvme_process(&e->n);
	assert_int_equal(e->level, 1); /* the fifth: refused, and INTx is up until the head moves */
	assert_int_equal(reap(e, &e->acq, 0, cid, NULL), SC_AERL);
	assert_int_equal(e->level, 0);
	/* Masked by INTMS. */
	wr32(e, INTMS, 1);
	c = (struct cmd){.opc = 0x18};
	cid = submit(e, &e->asq, 0, &c);
	nvme_process(&e->n);
	assert_int_equal(e->level, 0);
	wr32(e, INTMC, 1);
	assert_int_equal(e->level, 1);
	assert_int_equal(reap(e, &e->acq, 0, cid, NULL), SC_OK);
	/* A reset forgets the held requests. */
	wr32(e, CC, 0);
	memset(e->mem + ACQ, 0, QD * 16); /* as a driver clears its queue */
	enable(e);
	c = (struct cmd){.opc = 0x0C};
	for (unsigned i = 0; i < 4; i++)
		submit(e, &e->asq, 0, &c);
	nvme_process(&e->n);
	assert_false(cqe_ready(e, &e->acq));
}

/* OVMF's NvmExpressDxe with one vCPU: two-entry admin queues, then I/O queues 1 and 2 of two
 * entries each, without Set Features Number of Queues; a READ on queue 2. */
static void test_ovmf_sequence(void **state)
{
	struct env *e = *state;
	struct cmd c;

	nvme_destroy(&e->n);
	block_close(&e->bk);
	open_ctrl_cpus(e, false, 1);
	wr32(e, AQA, 1u << 16 | 1u);
	wr64(e, ASQ_R, ASQ);
	wr64(e, ACQ_R, ACQ);
	wr32(e, CC, CC_ENABLE);
	assert_int_equal(rd32(e, CSTS) & 3, 1);
	e->asq = (struct q){ASQ, 2, 0, 0};
	e->acq = (struct q){ACQ, 2, 0, 1};
	for (unsigned q = 1; q <= 2; q++) {
		c = (struct cmd){
		    .opc = 0x05, .prp1 = IOCQ + 0x2000ull * q, .dw = {1u << 16 | q, 1}};
		assert_int_equal(admin(e, &c, NULL), SC_OK);
	}
	for (unsigned q = 1; q <= 2; q++) {
		c = (struct cmd){
		    .opc = 0x01, .prp1 = IOSQ + 0x2000ull * q, .dw = {1u << 16 | q, q << 16 | 1}};
		assert_int_equal(admin(e, &c, NULL), SC_OK);
	}
	e->sq = (struct q){IOSQ + 0x4000, 2, 0, 0};
	e->cq = (struct q){IOCQ + 0x4000, 2, 0, 1};
	for (unsigned i = 0; i < 3; i++) {
		uint16_t cid;

		c = rw(0x02, 40 + i, 1, DATA, 0);
		cid = submit(e, &e->sq, 2, &c);
		assert_int_equal(reap(e, &e->cq, 2, cid, NULL), SC_OK);
		check_block(e, DATA, 40 + i);
	}
}

/* A completion queue holds size - 1 entries: the next command waits until the head moves. */
static void test_cq_full(void **state)
{
	struct env *e = *state;

	enable(e);
	make_io_queues(e);
	for (unsigned i = 0; i < QD - 1; i++)
		submit(e, &e->sq, 1, &(struct cmd){.opc = 0x7E});
	nvme_process(&e->n);
	submit(e, &e->sq, 1, &(struct cmd){.opc = 0x7E});
	nvme_process(&e->n);
	assert_int_equal(get_le16(e->mem + IOCQ + (QD - 1) * 16 + 14) & 1, 0);
	for (unsigned i = 0; i < QD; i++)
		assert_int_equal(reap(e, &e->cq, 1, (uint16_t)(e->cid - (QD - 1) + i), NULL),
				 SC_OPCODE);
}

/* Doorbell Buffer Config: the I/O queue's tail and head come from the shadow buffer (MMIO
 * doorbells for them only wake the device up), and the event indexes say what it has seen. */
static void test_shadow_doorbells(void **state)
{
	struct env *e = *state;
	struct cmd c = {.opc = 0x06, .prp1 = DATA, .dw = {1}};
	uint8_t *sh = e->mem + SHADOW, *ev = e->mem + EVENTS;
	uint16_t cid;

	enable(e);
	assert_int_equal(admin(e, &c, NULL), SC_OK);
	assert_int_equal(get_le16(e->mem + DATA + 256) & 0x100, 0x100); /* OACS */
	c = (struct cmd){.opc = 0x7C, .prp1 = SHADOW, .prp2 = EVENTS + 8};
	assert_int_equal(admin(e, &c, NULL), SC_FIELD);
	c.prp2 = MEM_SIZE;
	assert_int_equal(admin(e, &c, NULL), SC_FIELD);
	assert_false(e->dbbuf);
	c.prp2 = EVENTS;
	assert_int_equal(admin(e, &c, NULL), SC_OK);
	assert_true(e->dbbuf);
	make_io_queues(e);
	/* A READ announced by the shadow tail alone. */
	c = rw(0x02, 12, 1, DATA, 0);
	cid = put_sqe(e, &e->sq, &c);
	put_le32(sh + 8, e->sq.idx);
	assert_int_equal(reap(e, &e->cq, 1, cid, NULL), SC_OK);
	check_block(e, DATA, 12);
	assert_int_equal(get_le32(ev + 8), 1); /* the device has seen tail 1 */
	/* An MMIO tail is not taken as the tail any more (the shadow one is). */
	cid = put_sqe(e, &e->sq, &(struct cmd){.opc = 0x7E});
	wr32(e, 0x1008, 7);
	put_le32(sh + 8, e->sq.idx);
	assert_int_equal(reap(e, &e->cq, 1, cid, NULL), SC_OPCODE);
	put_le32(sh + 12, e->cq.idx);
	/* A full CQ: the device asks (CQ event index) to be told when the head moves, and takes
	 * the waiting command once the shadow head has moved. */
	for (unsigned i = 0; i < QD - 1; i++)
		put_sqe(e, &e->sq, &(struct cmd){.opc = 0x7E});
	put_le32(sh + 8, e->sq.idx);
	nvme_process(&e->n);
	put_sqe(e, &e->sq, &(struct cmd){.opc = 0x7E});
	put_le32(sh + 8, e->sq.idx);
	put_le32(ev + 12, 0xFFFF);
	nvme_process(&e->n);
	assert_int_equal(get_le32(ev + 12), e->cq.idx);
	assert_int_equal(get_le16(e->mem + IOCQ + ((e->cq.idx + QD - 1) % QD) * 16 + 14) & 1,
			 e->cq.phase); /* slot head - 1 still holds the last lap's entry */
	for (unsigned i = 0; i < QD; i++) {
		assert_int_equal(reap(e, &e->cq, 1, (uint16_t)(e->cid - (QD - 1) + i), NULL),
				 SC_OPCODE);
		put_le32(sh + 12, e->cq.idx);
	}
	/* A reset turns them off. */
	wr32(e, CC, 0);
	assert_false(e->dbbuf);
}

/* The format lives below the device: an NVMe namespace on a qcow2 image, written, flushed and
 * read back, then checked and read by qemu-img. */
static void test_qcow2(void **state)
{
	struct env *e = *state;
	uint8_t blk[NVME_LBA];
	char cmd[320];
	struct cmd c;
	int fd;

	if (system("qemu-img --version >/dev/null 2>&1") != 0)
		skip();
	nvme_destroy(&e->n);
	block_close(&e->bk);
	snprintf(e->qcow2, sizeof(e->qcow2), "%s.qcow2", e->path);
	snprintf(cmd, sizeof(cmd), "qemu-img convert -q -f raw -O qcow2 -o cluster_size=4096 %s %s",
		 e->path, e->qcow2);
	assert_int_equal(system(cmd), 0);
	open_ctrl(e, false);
	enable(e);
	make_io_queues(e);
	memset(e->mem + DATA, 0xA5, 3 * NVME_LBA);
	c = rw(0x01, 7, 3, DATA, 0);
	assert_int_equal(io(e, &c), SC_OK);
	c = (struct cmd){.opc = 0x00, .nsid = 1};
	assert_int_equal(io(e, &c), SC_OK);
	memset(e->mem + DATA, 0, 4 * NVME_LBA);
	c = rw(0x02, 6, 4, DATA, 0);
	assert_int_equal(io(e, &c), SC_OK);
	assert_int_equal(get_le32(e->mem + DATA), 6);
	assert_int_equal(e->mem[DATA + NVME_LBA], 0xA5);
	assert_int_equal(e->mem[DATA + 3 * NVME_LBA], 0xA5);
	nvme_destroy(&e->n);
	block_close(&e->bk);
	snprintf(cmd, sizeof(cmd), "qemu-img check -q %s && qemu-img convert -q -O raw %s %s.raw",
		 e->qcow2, e->qcow2, e->qcow2);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s.raw", e->qcow2);
	fd = open(cmd, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, blk, sizeof(blk), 9 * NVME_LBA), NVME_LBA);
	assert_int_equal(blk[0], 0xA5);
	assert_int_equal(pread(fd, blk, sizeof(blk), 10 * NVME_LBA), NVME_LBA);
	assert_int_equal(get_le32(blk), 10);
	close(fd);
	unlink(cmd);
	open_ctrl(e, false); /* for teardown */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_registers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_enable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_identify, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_features_logs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queues, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_prps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prp_chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_flush, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_qcow2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_zeroes_dsm, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_io, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_readonly, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_intx_and_aer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cq_full, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ovmf_sequence, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_shadow_doorbells, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
