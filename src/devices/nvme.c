#include "devices/nvme.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/log.h"

/* Registers (NVMe 1.4, 3.1). */
#define REG_CAP	  0x00
#define REG_VS	  0x08
#define REG_INTMS 0x0C
#define REG_INTMC 0x10
#define REG_CC	  0x14
#define REG_CSTS  0x1C
#define REG_AQA	  0x24
#define REG_ASQ	  0x28
#define REG_ACQ	  0x30
#define REG_END	  0x38

#define CC_EN	   1u
#define CC_MASK	   0x00FFFFF1u /* EN, CSS, MPS, AMS, SHN, IOSQES, IOCQES */
#define CC_SHN(cc) (((cc) >> 14) & 3u)
#define CSTS_RDY   1u
#define CSTS_CFS   2u
#define CSTS_SHST  (3u << 2)
#define SHST_BUSY  (1u << 2)
#define SHST_DONE  (2u << 2)
#define STATUS_DNR (1u << 14)

static uint64_t cap_value(void)
{
	/* MQES, CQR (contiguous queues), TO 7.5 s, DSTRD 0, CSS NVM, MPSMIN = MPSMAX = 4 KiB. */
	return NVME_MQES | 1ull << 16 | 15ull << 24 | 1ull << 37;
}

/* The head may only move over posted entries. */
static bool cq_head_ok(const struct nvme_cq *cq, uint32_t v)
{
	return cq->exists && v < cq->size &&
	       (v + cq->size - cq->head) % cq->size <=
		   (unsigned)(cq->tail + cq->size - cq->head) % cq->size;
}

/* ---- shadow doorbells (Doorbell Buffer Config) ----------------------------------------- */
/* With them on, the I/O queues' tails and heads are read from the driver's shadow buffer and
 * the event index buffer says up to where the device has looked, so that the driver writes
 * an MMIO doorbell (an ioeventfd then: nvme_pci.c) only when the device may be waiting. */

static bool shadow(const struct nvme *n, uint16_t qid)
{
	return n->dbbuf && qid > 0;
}

static bool shadow_read(const struct nvme *n, unsigned idx, uint32_t *v)
{
	uint8_t b[4];

	if (gm_read(n->gm, n->dbbuf + 4ull * idx, b, 4) < 0)
		return false;
	*v = get_le32(b);
	return true;
}

/* Writes an event index, then reads the shadow value again (the driver may have moved it
 * before it saw the new index): true when it moved. */
static bool event_write(const struct nvme *n, unsigned idx, uint32_t seen)
{
	uint8_t b[4];
	uint32_t now;

	put_le32(b, seen);
	if (gm_write(n->gm, n->eibuf + 4ull * idx, b, 4) < 0)
		return false;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return shadow_read(n, idx, &now) && now != seen;
}

static void sq_sync(struct nvme *n, uint16_t qid)
{
	struct nvme_sq *sq = &n->sq[qid];
	uint32_t v;

	if (shadow(n, qid) && sq->exists && shadow_read(n, 2u * qid, &v) && v < sq->size)
		sq->tail = (uint16_t)v;
}

static void cq_sync(struct nvme *n, uint16_t qid)
{
	struct nvme_cq *cq = &n->cq[qid];
	uint32_t v;

	if (shadow(n, qid) && shadow_read(n, 2u * qid + 1, &v) && cq_head_ok(cq, v))
		cq->head = (uint16_t)v;
}

static bool cq_room(const struct nvme_cq *cq)
{
	unsigned used = (unsigned)(cq->tail + cq->size - cq->head) % cq->size;

	return used + cq->reserved + 1 < cq->size;
}

/* Room for one more completion; when there is none with shadow doorbells, the CQ's event index
 * asks the driver to ring when it moves the head. */
static bool cq_has_room(struct nvme *n, uint16_t cqid)
{
	struct nvme_cq *cq = &n->cq[cqid];

	if (cq_room(cq) || !shadow(n, cqid))
		return cq_room(cq);
	cq_sync(n, cqid);
	if (!cq_room(cq) && event_write(n, 2u * cqid + 1, cq->head))
		cq_sync(n, cqid);
	return cq_room(cq);
}

/* ---- interrupts ------------------------------------------------------------------------- */

void nvme_intx_update(struct nvme *n)
{
	int level = 0;

	if (!msix_enabled(&n->msix) && !(n->intms & 1)) {
		for (uint16_t q = 0; q < NVME_MAX_QS; q++) {
			const struct nvme_cq *cq = &n->cq[q];

			cq_sync(n, q);
			if (cq->exists && cq->ien && cq->head != cq->tail)
				level = 1;
		}
	}
	if (level != n->intx_level && n->hooks.set_intx)
		n->hooks.set_intx(n->hooks.opaque, level);
	n->intx_level = level;
}

/* Raises the interrupts of the completion queues that got entries. */
static void fire_irqs(struct nvme *n)
{
	bool msix = msix_enabled(&n->msix);

	for (unsigned q = 0; q < NVME_MAX_QS; q++) {
		struct nvme_cq *cq = &n->cq[q];

		if (!cq->irq_due)
			continue;
		cq->irq_due = false;
		if (msix && cq->ien)
			msix_notify(&n->msix, cq->vector);
		else if (shadow(n, q))
			event_write(n, 2u * q + 1, cq->head); /* INTx: ring when the head moves */
	}
	nvme_intx_update(n);
}

/* ---- queues ----------------------------------------------------------------------------- */

void nvme_fatal(struct nvme *n, const char *why)
{
	if (!n->fatal_logged)
		pr_warn_limited("nvme: controller failed (%s); the guest's driver must reset it",
				why);
	n->fatal_logged = true;
	n->csts |= CSTS_CFS;
}

void nvme_complete(struct nvme *n, uint16_t sqid, uint16_t cid, int status, uint32_t dw0)
{
	struct nvme_sq *sq = &n->sq[sqid];
	struct nvme_cq *cq = &n->cq[sq->cqid];
	uint16_t sf = (uint16_t)(status ? (unsigned)status | STATUS_DNR : 0);
	uint8_t e[NVME_CQE_SIZE];
	uint8_t *p;

	if (cq->reserved)
		cq->reserved--;
	if (!cq->exists || (n->csts & CSTS_CFS))
		return;
	p = gm_ptr(n->gm, cq->base + (uint64_t)cq->tail * NVME_CQE_SIZE, NVME_CQE_SIZE);
	if (!p) {
		nvme_fatal(n, "a completion queue is not in guest RAM");
		return;
	}
	put_le32(e, dw0);
	put_le32(e + 4, 0);
	put_le16(e + 8, sq->head);
	put_le16(e + 10, sqid);
	put_le16(e + 12, cid);
	put_le16(e + 14, (uint16_t)(sf << 1 | cq->phase));
	/* The phase tag last: a driver polling it must see a whole entry. */
	memcpy(p, e, 14);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy(p + 14, e + 14, 2);
	if (++cq->tail == cq->size) {
		cq->tail = 0;
		cq->phase ^= 1;
	}
	cq->irq_due = true;
}

static void drop_req(struct block_io *io, void *arg)
{
	struct nvme *n = arg;
	struct nvme_req *r = (struct nvme_req *)io;

	r->next_free = n->free;
	n->free = r;
}

/* Deletes every queue: in-flight I/O is finished and forgotten (its memory is the driver's
 * again), held event requests are dropped. */
static void queues_reset(struct nvme *n)
{
	block_drain(n->bk, drop_req, n);
	memset(n->sq, 0, sizeof(n->sq));
	memset(n->cq, 0, sizeof(n->cq));
	n->naer = 0;
	n->starved = false;
}

void nvme_feats_default(struct nvme_feats *f, unsigned max_ioq)
{
	memset(f, 0, sizeof(*f));
	f->temp = 0x157; /* 343 K, 70 C */
	f->wce = 1;
	f->nq = (max_ioq - 1) << 16 | (max_ioq - 1);
}

static void ctrl_enable(struct nvme *n)
{
	uint32_t sqs = (n->aqa & 0xFFF) + 1, cqs = ((n->aqa >> 16) & 0xFFF) + 1;
	uint32_t css = (n->cc >> 4) & 7, mps = (n->cc >> 7) & 0xF, ams = (n->cc >> 11) & 7;

	if (sqs < 2 || cqs < 2 || css || mps || ams ||
	    !gm_ptr(n->gm, n->asq, sqs * NVME_SQE_SIZE) ||
	    !gm_ptr(n->gm, n->acq, cqs * NVME_CQE_SIZE)) {
		nvme_fatal(n, "bad admin queues or settings at enable");
		return;
	}
	n->sq[0] = (struct nvme_sq){.exists = true, .size = (uint16_t)sqs, .base = n->asq};
	n->cq[0] = (struct nvme_cq){
	    .exists = true, .ien = true, .size = (uint16_t)cqs, .phase = 1, .base = n->acq};
	n->csts = (n->csts & ~CSTS_CFS) | CSTS_RDY;
}

static void ctrl_reset(struct nvme *n)
{
	if (n->dbbuf && n->hooks.dbbuf)
		n->hooks.dbbuf(n->hooks.opaque, false);
	n->dbbuf = n->eibuf = 0;
	queues_reset(n);
	nvme_feats_default(&n->feat, n->max_ioq);
	n->csts = 0;
	n->intms = 0;
	n->fatal_logged = false;
	nvme_intx_update(n);
}

/* Shutdown (CC.SHN), on the I/O thread (fdatasync is not a vCPU thread's call): what was
 * completed is made durable before SHST says done. */
static void ctrl_shutdown(struct nvme *n)
{
	block_drain(n->bk, nvme_io_done, n);
	for (unsigned q = 0; q < NVME_MAX_QS; q++)
		n->sq[q].inflight = 0;
	if (!n->bk->readonly && block_sync(n->bk) < 0)
		pr_warn("nvme: flush at shutdown failed");
	fire_irqs(n);
	n->csts = (n->csts & ~CSTS_SHST) | SHST_DONE;
}

static void cc_write(struct nvme *n, uint32_t v)
{
	uint32_t old = n->cc;

	n->cc = v & CC_MASK;
	if (!(old & CC_EN) && (v & CC_EN))
		ctrl_enable(n);
	else if ((old & CC_EN) && !(v & CC_EN))
		ctrl_reset(n);
	if (CC_SHN(n->cc) && !CC_SHN(old)) {
		n->csts = (n->csts & ~CSTS_SHST) | SHST_BUSY;
		n->kick_pending = true;
	} else if (!CC_SHN(n->cc))
		n->csts &= ~CSTS_SHST;
}

/* ---- taking commands -------------------------------------------------------------------- */

static void decode(const uint8_t *e, struct nvme_cmd *c)
{
	c->opcode = e[0];
	c->flags = e[1];
	c->cid = get_le16(e + 2);
	c->nsid = get_le32(e + 4);
	c->prp1 = get_le64(e + 24);
	c->prp2 = get_le64(e + 32);
	c->cdw10 = get_le32(e + 40);
	c->cdw11 = get_le32(e + 44);
	c->cdw12 = get_le32(e + 48);
	c->cdw13 = get_le32(e + 52);
	c->cdw14 = get_le32(e + 56);
	c->cdw15 = get_le32(e + 60);
}

/* Takes the commands of submission queue qid while its completion queue has room: true when it
 * took them all, false when it stopped (no room, no request free, a broken controller). */
static bool take_some(struct nvme *n, uint16_t qid)
{
	struct nvme_sq *sq = &n->sq[qid];
	uint8_t e[NVME_SQE_SIZE];
	struct nvme_cmd c;

	while (sq->exists && sq->head != sq->tail && !(n->csts & CSTS_CFS) && n->sq[qid].exists) {
		struct nvme_cq *cq = &n->cq[sq->cqid];
		uint32_t dw0 = 0;
		int st;

		if (!cq_has_room(n, sq->cqid))
			return false;
		if (qid && !n->free) {
			n->starved = true;
			return false;
		}
		if (gm_read(n->gm, sq->base + (uint64_t)sq->head * NVME_SQE_SIZE, e,
			    NVME_SQE_SIZE) < 0) {
			nvme_fatal(n, "a submission queue is not in guest RAM");
			return false;
		}
		decode(e, &c);
		sq->head = (uint16_t)((sq->head + 1) % sq->size);
		cq->reserved++;
		st = qid ? nvme_io_cmd(n, qid, &c) : nvme_admin_cmd(n, &c, &dw0);
		if (st == NVME_HELD)
			cq->reserved--;
		else if (st != NVME_PENDING)
			nvme_complete(n, qid, c.cid, st, dw0);
	}
	return sq->exists && sq->head == sq->tail;
}

/* With shadow doorbells, caught up means: the event index says so, and the tail did not move
 * meanwhile. */
static void take(struct nvme *n, uint16_t qid)
{
	sq_sync(n, qid);
	while (take_some(n, qid) && shadow(n, qid) && event_write(n, 2u * qid, n->sq[qid].tail)) {
		uint16_t was = n->sq[qid].tail;

		sq_sync(n, qid);
		if (n->sq[qid].tail == was)
			break; /* moved to a value out of the queue: ignored, as its doorbell would
				  be */
	}
}

static void take_all(struct nvme *n)
{
	n->starved = false;
	if ((n->csts & CSTS_SHST) == SHST_BUSY)
		ctrl_shutdown(n);
	if (!(n->csts & CSTS_RDY) || CC_SHN(n->cc))
		return;
	for (uint16_t q = 0; q < NVME_MAX_QS; q++)
		take(n, q);
	block_submit(n->bk);
	fire_irqs(n);
}

void nvme_process(struct nvme *n)
{
	pthread_mutex_lock(&n->lock);
	take_all(n);
	pthread_mutex_unlock(&n->lock);
}

void nvme_reap(struct nvme *n)
{
	pthread_mutex_lock(&n->lock);
	block_reap(n->bk, nvme_io_done, n);
	if (n->starved && n->free)
		take_all(n);
	else
		fire_irqs(n);
	pthread_mutex_unlock(&n->lock);
}

/* ---- BAR 0 ------------------------------------------------------------------------------ */

static void regs_image(const struct nvme *n, uint8_t *r)
{
	memset(r, 0, REG_END);
	put_le64(r + REG_CAP, cap_value());
	put_le32(r + REG_VS, NVME_VS);
	put_le32(r + REG_INTMS, n->intms);
	put_le32(r + REG_INTMC, n->intms);
	put_le32(r + REG_CC, n->cc);
	put_le32(r + REG_CSTS, n->csts);
	put_le32(r + REG_AQA, n->aqa);
	put_le64(r + REG_ASQ, n->asq);
	put_le64(r + REG_ACQ, n->acq);
}

static void reg_write32(struct nvme *n, uint32_t off, uint32_t v)
{
	bool idle = !(n->cc & CC_EN); /* the admin queue registers change only then */

	switch (off) {
	case REG_INTMS:
		n->intms |= v;
		nvme_intx_update(n);
		break;
	case REG_INTMC:
		n->intms &= ~v;
		nvme_intx_update(n);
		break;
	case REG_CC:
		cc_write(n, v);
		break;
	case REG_AQA:
		if (idle)
			n->aqa = v & 0x0FFF0FFF;
		break;
	case REG_ASQ:
	case REG_ASQ + 4:
	case REG_ACQ:
	case REG_ACQ + 4:
		if (idle) {
			uint64_t *q = off < REG_ACQ ? &n->asq : &n->acq;
			unsigned sh = off & 4 ? 32 : 0;

			*q = (*q & ~(0xFFFFFFFFull << sh)) | (uint64_t)v << sh;
			*q &= ~(uint64_t)(NVME_PAGE - 1);
		}
		break;
	default:
		break; /* read-only, reserved, or NSSR (subsystem reset is not offered) */
	}
}

static void regs_io(struct nvme *n, uint32_t off, uint8_t *data, uint32_t len, bool is_write)
{
	uint8_t r[REG_END];

	regs_image(n, r);
	if (!is_write) {
		memcpy(data, r + off, len);
		return;
	}
	memcpy(r + off, data, len);
	for (uint32_t d = off & ~3u; d < off + len; d += 4)
		reg_write32(n, d, get_le32(r + d));
}

/* A doorbell: record the new tail or head, and let the I/O thread take it from there. */
static bool doorbell(struct nvme *n, uint32_t idx, uint32_t v)
{
	uint16_t qid = (uint16_t)(idx / 2);

	if (!(n->csts & CSTS_RDY) || qid >= NVME_MAX_QS || v > 0xFFFF)
		return false;
	if (idx % 2 == 0 && shadow(n, qid))
		return true; /* the shadow buffer has the tail; the I/O thread reads it */
	if (idx % 2 == 0) {
		struct nvme_sq *sq = &n->sq[qid];

		if (!sq->exists || v >= sq->size)
			return false;
		sq->tail = (uint16_t)v;
		return true;
	}
	struct nvme_cq *cq = &n->cq[qid];
	bool stalled = false;

	if (shadow(n, qid)) {
		cq_sync(n, qid); /* at once: the INTx level depends on it */
		nvme_intx_update(n);
		return true;
	}
	if (!cq_head_ok(cq, v))
		return false;
	cq->head = (uint16_t)v;
	nvme_intx_update(n);
	for (unsigned q = 0; q < NVME_MAX_QS; q++)
		if (n->sq[q].exists && n->sq[q].cqid == qid && n->sq[q].head != n->sq[q].tail)
			stalled = true;
	return stalled;
}

void nvme_bar_io(struct nvme *n, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	bool kick = false;

	if (off >= NVME_MSIX_PBA) {
		msix_pba_io(&n->msix, off - NVME_MSIX_PBA, data, len, is_write);
		return;
	}
	if (off >= NVME_MSIX_TAB) {
		msix_table_io(&n->msix, off - NVME_MSIX_TAB, data, len, is_write);
		return;
	}
	pthread_mutex_lock(&n->lock);
	if (off + len <= REG_END) {
		regs_io(n, (uint32_t)off, data, len, is_write);
	} else if (off >= NVME_DB_BASE && is_write) {
		if (len == 4 && off % 4 == 0)
			kick = doorbell(n, (uint32_t)(off - NVME_DB_BASE) / 4, get_le32(data));
	} else if (!is_write) {
		memset(data, 0, len);
	}
	kick |= n->kick_pending;
	n->kick_pending = false;
	pthread_mutex_unlock(&n->lock);
	if (kick && n->hooks.kick)
		n->hooks.kick(n->hooks.opaque);
}

/* ---- life ------------------------------------------------------------------------------- */

int nvme_init(struct nvme *n, const struct guest_mem *gm, struct block *bk, unsigned ncpus,
	      const char *serial, const struct nvme_hooks *hooks)
{
	memset(n, 0, sizeof(*n));
	n->reqs = calloc(NVME_MAX_REQS, sizeof(*n->reqs));
	if (!n->reqs)
		return -ENOMEM;
	pthread_mutex_init(&n->lock, NULL);
	for (unsigned i = 0; i < MSIX_MAX_VECTORS; i++)
		n->msix.v[i].efd = -1;
	n->gm = gm;
	n->bk = bk;
	n->hooks = *hooks;
	n->nsze = bk->size / NVME_LBA;
	/* At least two: OVMF's driver creates I/O queues 1 and 2 without asking first. */
	n->max_ioq = ncpus < 2 ? 2 : ncpus > NVME_MAX_IOQ ? NVME_MAX_IOQ : ncpus;
	snprintf(n->serial, sizeof(n->serial), "%s", serial);
	for (unsigned i = NVME_MAX_REQS; i-- > 0;) {
		n->reqs[i].next_free = n->free;
		n->free = &n->reqs[i];
	}
	nvme_feats_default(&n->feat, n->max_ioq);
	pci_dev_init(&n->pci, NVME_VENDOR, NVME_DEVICE, NVME_CLASS, 2, 0x1AF4, 0x1100);
	/* 32-bit, unlike the spec's MLBAR/MUBAR pair: UEFI firmware moves 64-bit BARs above 4 GiB,
	 * where the machine's PCI windows (all below it) decode nothing. Drivers don't mind. */
	pci_dev_set_bar(&n->pci, 0, PCI_BAR_MEM32, NVME_BAR_SIZE);
	return 0;
}

void nvme_destroy(struct nvme *n)
{
	if (!n->reqs)
		return;
	block_drain(n->bk, drop_req, n);
	free(n->reqs);
	n->reqs = NULL;
	pthread_mutex_destroy(&n->lock);
}
