/* The hostile guest against NVMe controllers (PCI class 01/08/02): admin queues outside RAM at
 * enable (CSTS.CFS expected), PRPs past RAM, into MMIO, misaligned, PRP lists that loop, queues
 * created past RAM, with QID 0, size 1 or a missing CQ, LBAs past the end, transfers past MDTS,
 * unknown opcodes, doorbells with any value, then garbage in every register of BAR 0. Each
 * malformed command must be answered with its status (the spec's), and afterwards a reset
 * controller must still answer Identify and READ. Polled: interrupts are off. */
#include "hostile.h"

#define CAP   0x00
#define CC    0x14
#define CSTS  0x1C
#define AQA   0x24
#define ASQ_R 0x28
#define ACQ_R 0x30
#define DB    0x1000
#define QN    16
#define CC_ON (1u | 6u << 16 | 4u << 20)
#define PAST  0x20000000ull /* past the 256 MiB the hostile scenario gives */
#define LAPIC 0xFEE00000ull

static uint8_t asq[4096] __attribute__((aligned(4096)));
static uint8_t acq[4096] __attribute__((aligned(4096)));
static uint8_t iosq[4096] __attribute__((aligned(4096)));
static uint8_t iocq[4096] __attribute__((aligned(4096)));
static uint8_t list[4096] __attribute__((aligned(4096)));
static uint8_t data[3 * 4096] __attribute__((aligned(4096)));

struct nv {
	uint64_t bar;
	uint16_t tail[2], head[2], cid;
	uint8_t phase[2];
};

struct sqe {
	uint8_t opc;
	uint32_t nsid;
	uint64_t prp1, prp2;
	uint32_t dw10, dw11, dw12;
};

static uint64_t a(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static int csts_settled(void *arg)
{
	const struct nv *n = arg;

	return (rd32(n->bar + CSTS) & 3) != 0;
}

static int csts_zero(void *arg)
{
	const struct nv *n = arg;

	return (rd32(n->bar + CSTS) & 1) == 0;
}

/* Resets the controller and enables it with the given admin queues; returns CSTS. */
static uint32_t enable(struct nv *n, uint64_t sq, uint64_t cq)
{
	wr32(n->bar + CC, 0);
	wait_until(csts_zero, n, 500);
	memset(asq, 0, sizeof(asq));
	memset(acq, 0, sizeof(acq));
	n->tail[0] = n->head[0] = 0;
	n->phase[0] = 1;
	wr32(n->bar + AQA, (QN - 1) << 16 | (QN - 1));
	wr64(n->bar + ASQ_R, sq);
	wr64(n->bar + ACQ_R, cq);
	wr32(n->bar + CC, CC_ON);
	wait_until(csts_settled, n, 500);
	return rd32(n->bar + CSTS);
}

struct waitq {
	struct nv *n;
	unsigned q;
};

static uint8_t *cqe(struct nv *n, unsigned q)
{
	return (q ? iocq : acq) + 16u * n->head[q];
}

static int posted(void *arg)
{
	struct waitq *w = arg;

	return (rd16(a(cqe(w->n, w->q)) + 14) & 1) == w->n->phase[w->q];
}

/* Submits on queue q (0: admin, 1: the I/O queue), waits; returns the status or -1. */
static int cmd(struct nv *n, unsigned q, const struct sqe *c)
{
	uint8_t *e = (q ? iosq : asq) + 64u * n->tail[q];
	struct waitq w = {n, q};
	int st;

	memset(e, 0, 64);
	e[0] = c->opc;
	wr16(a(e) + 2, ++n->cid);
	wr32(a(e) + 4, c->nsid);
	wr64(a(e) + 24, c->prp1);
	wr64(a(e) + 32, c->prp2);
	wr32(a(e) + 40, c->dw10);
	wr32(a(e) + 44, c->dw11);
	wr32(a(e) + 48, c->dw12);
	n->tail[q] = (uint16_t)((n->tail[q] + 1) % QN);
	wr32(n->bar + DB + 8 * q, n->tail[q]);
	if (!wait_until(posted, &w, 1000))
		return -1;
	st = (rd16(a(cqe(n, q)) + 14) >> 1) & 0x7FF;
	if (++n->head[q] == QN) {
		n->head[q] = 0;
		n->phase[q] ^= 1;
	}
	wr32(n->bar + DB + 8 * q + 4, n->head[q]);
	return st;
}

static void expect(struct nv *n, unsigned q, const struct sqe *c, int want, const char *what)
{
	int st = cmd(n, q, c);

	if (st == want)
		return;
	puts_("PHYLLOME-HOSTILE-STEP nvme ");
	puts_(what);
	puts_(": status ");
	putx((uint64_t)st);
	puts_(", wanted ");
	putx((uint64_t)want);
	puts_("\n");
	hostile_fail("nvme: a malformed command got the wrong answer");
}

static void io_queues(struct nv *n)
{
	struct sqe cq = {.opc = 0x05, .prp1 = a(iocq), .dw10 = (QN - 1) << 16 | 1, .dw11 = 1};
	struct sqe sq = {
	    .opc = 0x01, .prp1 = a(iosq), .dw10 = (QN - 1) << 16 | 1, .dw11 = 1u << 16 | 1};

	memset(iosq, 0, sizeof(iosq));
	memset(iocq, 0, sizeof(iocq));
	n->tail[1] = n->head[1] = 0;
	n->phase[1] = 1;
	expect(n, 0, &cq, 0, "create I/O CQ");
	expect(n, 0, &sq, 0, "create I/O SQ");
}

static struct sqe rd(uint64_t slba, unsigned nlb, uint64_t prp1, uint64_t prp2)
{
	return (struct sqe){.opc = 0x02,
			    .nsid = 1,
			    .prp1 = prp1,
			    .prp2 = prp2,
			    .dw10 = (uint32_t)slba,
			    .dw11 = (uint32_t)(slba >> 32),
			    .dw12 = nlb - 1};
}

static void bad_admin(struct nv *n)
{
	struct sqe c = {.opc = 0x06, .prp1 = PAST, .dw10 = 1};

	expect(n, 0, &c, 0x04, "identify into past-RAM");
	c.prp1 = LAPIC;
	expect(n, 0, &c, 0x04, "identify into the LAPIC");
	c.prp1 = a(data) + 2;
	expect(n, 0, &c, 0x13, "identify, unaligned PRP1");
	c = (struct sqe){.opc = 0x05, .prp1 = PAST, .dw10 = (QN - 1) << 16 | 1, .dw11 = 1};
	expect(n, 0, &c, 0x02, "CQ past RAM");
	c.prp1 = a(iocq);
	c.dw10 = (QN - 1) << 16;
	expect(n, 0, &c, 0x101, "CQ with QID 0");
	c.dw10 = 1;
	expect(n, 0, &c, 0x102, "CQ of one entry");
	c = (struct sqe){
	    .opc = 0x01, .prp1 = a(iosq), .dw10 = (QN - 1) << 16 | 1, .dw11 = 9u << 16 | 1};
	expect(n, 0, &c, 0x100, "SQ on a missing CQ");
	c = (struct sqe){.opc = 0xEE};
	expect(n, 0, &c, 0x01, "unknown admin opcode");
}

static void bad_io(struct nv *n)
{
	struct sqe c = rd(0, 24, a(data), a(list) + 4088);

	wr64(a(list) + 4088, a(list) + 4088); /* a list page whose last entry is itself */
	expect(n, 1, &c, 0x04, "PRP list that loops");
	wr64(a(list), LAPIC);
	c = rd(0, 24, a(data), a(list));
	expect(n, 1, &c, 0x04, "PRP list entry into the LAPIC");
	c = rd(0, 16, a(data), a(data) + 0x1800);
	expect(n, 1, &c, 0x13, "PRP2 with an offset");
	c = rd(0xFFFFFFFFFFFFull, 1, a(data), 0);
	expect(n, 1, &c, 0x80, "LBA past the end");
	c = rd(0, 4096, a(data), a(list));
	expect(n, 1, &c, 0x02, "transfer past MDTS");
	c = rd(0, 1, PAST, 0);
	expect(n, 1, &c, 0x04, "READ into past-RAM");
	c = (struct sqe){.opc = 0x7F, .nsid = 1};
	expect(n, 1, &c, 0x01, "unknown I/O opcode");
	c = rd(0, 1, a(data), 0);
	c.nsid = 7;
	expect(n, 1, &c, 0x0B, "READ of namespace 7");
	/* Doorbells: tails and heads past the queues, queues that don't exist. */
	wr32(n->bar + DB + 8, 0xFFFF);
	wr32(n->bar + DB + 12, 0x1234);
	for (unsigned i = 4; i < 40; i++)
		wr32(n->bar + DB + 4 * i, rnd());
	c = rd(0, 8, a(data), 0);
	expect(n, 1, &c, 0, "READ after garbage doorbells");
}

static void garbage(struct nv *n)
{
	for (uint64_t off = 0; off < 0x4000; off += 4) {
		if (off == CC)
			continue; /* enable and shutdown are attacked on their own */
		wr32(n->bar + off, rnd());
		(void)rd32(n->bar + off);
	}
}

static void attack(unsigned slot)
{
	struct nv n = {.bar = (cfg32(slot, 0x10) & ~0xfu) | (uint64_t)cfg32(slot, 0x14) << 32};
	struct sqe id = {.opc = 0x06, .prp1 = a(data), .dw10 = 1};

	/* Admin queues in MMIO and past RAM: the controller fails (CFS), the VMM does not. */
	if ((enable(&n, LAPIC, a(acq)) & 3) != 2 || (enable(&n, a(asq), PAST) & 3) != 2)
		hostile_fail("nvme: enable with admin queues outside RAM did not set CSTS.CFS");
	if ((enable(&n, a(asq), a(acq)) & 3) != 1) {
		hostile_fail("nvme: no ready controller after a reset");
		return;
	}
	bad_admin(&n);
	io_queues(&n);
	bad_io(&n);
	garbage(&n);
	if ((enable(&n, a(asq), a(acq)) & 3) != 1) {
		hostile_fail("nvme: no ready controller after garbage in its registers");
		return;
	}
	memset(data, 0, sizeof(data));
	expect(&n, 0, &id, 0, "identify after the attacks");
	if (rd16(a(data)) != 0x1B36)
		hostile_fail("nvme: identify after the attacks has no vendor id");
	io_queues(&n);
	id = rd(0, 8, a(data), 0);
	expect(&n, 1, &id, 0, "READ after the attacks");
	wr32(n.bar + CC, 0);
}

unsigned hostile_nvme(void)
{
	unsigned found = 0;

	for (unsigned s = 1; s < 32; s++) {
		if (cfg32(s, 0) == 0xFFFFFFFFu || cfg32(s, 8) >> 8 != 0x010802)
			continue;
		attack(s);
		found++;
	}
	return found;
}
