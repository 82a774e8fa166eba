/* NVMe admin commands (NVMe 1.4, 5): queues, identify, logs, features, events. */
#include <stdio.h>
#include <string.h>

#include "common/bytes.h"
#include "devices/nvme.h"

#define IDENT_SIZE    4096u
#define LOG_SIZE      512u
#define CC_IOSQES(cc) (((cc) >> 16) & 0xFu)
#define CC_IOCQES(cc) (((cc) >> 20) & 0xFu)

/* Admin opcodes (5). */
enum {
	ADM_DELETE_SQ = 0x00,
	ADM_CREATE_SQ = 0x01,
	ADM_GET_LOG = 0x02,
	ADM_DELETE_CQ = 0x04,
	ADM_CREATE_CQ = 0x05,
	ADM_IDENTIFY = 0x06,
	ADM_ABORT = 0x08,
	ADM_SET_FEAT = 0x09,
	ADM_GET_FEAT = 0x0A,
	ADM_AER = 0x0C,
	ADM_KEEP_ALIVE = 0x18,
	ADM_DBBUF_CONFIG = 0x7C,
};

/* Feature identifiers (5.21.1). */
enum {
	FEAT_ARBITRATION = 0x01,
	FEAT_POWER = 0x02,
	FEAT_TEMP = 0x04,
	FEAT_ERR_RECOVERY = 0x05,
	FEAT_WCE = 0x06,
	FEAT_NUM_QUEUES = 0x07,
	FEAT_COALESCING = 0x08,
	FEAT_IV_CONFIG = 0x09,
	FEAT_WRITE_ATOM = 0x0A,
	FEAT_AEC = 0x0B,
};

/* ---- admin: queues ---------------------------------------------------------------------- */

static unsigned granted_sqs(const struct nvme *n)
{
	return (n->feat.nq & 0xFFFF) + 1;
}

static unsigned granted_cqs(const struct nvme *n)
{
	return (n->feat.nq >> 16) + 1;
}

/* The checks both creations share: QID, size, contiguity and where the queue lies. */
static int queue_check(const struct nvme *n, const struct nvme_cmd *c, unsigned granted,
		       unsigned esize, bool exists)
{
	uint32_t qid = c->cdw10 & 0xFFFF, qsize = (c->cdw10 >> 16) + 1;

	if (qid == 0 || qid > granted || qid >= NVME_MAX_QS || exists)
		return NVME_SC_QID_INVALID;
	if (qsize < 2 || qsize > NVME_MQES + 1)
		return NVME_SC_QSIZE_INVALID;
	if (!(c->cdw11 & 1))
		return NVME_SC_INVALID_FIELD; /* CAP.CQR: queues must be contiguous */
	if (c->prp1 & (NVME_PAGE - 1))
		return NVME_SC_PRP_OFFSET;
	if (!gm_ptr(n->gm, c->prp1, (uint64_t)qsize * esize))
		return NVME_SC_INVALID_FIELD;
	return NVME_SC_SUCCESS;
}

static int create_cq(struct nvme *n, const struct nvme_cmd *c)
{
	uint16_t qid = c->cdw10 & 0xFFFF, iv = (uint16_t)(c->cdw11 >> 16);
	unsigned nvec = n->msix.nvec ? n->msix.nvec : 1;
	int st;

	if (CC_IOCQES(n->cc) != 4)
		return NVME_SC_INVALID_FIELD; /* IOCQES must say 16 bytes */
	st = queue_check(n, c, granted_cqs(n), NVME_CQE_SIZE,
			 qid < NVME_MAX_QS && n->cq[qid].exists);
	if (st)
		return st;
	if (iv >= nvec)
		return NVME_SC_IV_INVALID;
	n->cq[qid] = (struct nvme_cq){.exists = true,
				      .ien = (c->cdw11 >> 1) & 1,
				      .size = (uint16_t)((c->cdw10 >> 16) + 1),
				      .vector = iv,
				      .phase = 1,
				      .base = c->prp1};
	return NVME_SC_SUCCESS;
}

static int create_sq(struct nvme *n, const struct nvme_cmd *c)
{
	uint16_t qid = c->cdw10 & 0xFFFF, cqid = (uint16_t)(c->cdw11 >> 16);
	int st;

	if (CC_IOSQES(n->cc) != 6)
		return NVME_SC_INVALID_FIELD; /* IOSQES must say 64 bytes */
	st = queue_check(n, c, granted_sqs(n), NVME_SQE_SIZE,
			 qid < NVME_MAX_QS && n->sq[qid].exists);
	if (st)
		return st;
	if (cqid == 0 || cqid >= NVME_MAX_QS || !n->cq[cqid].exists)
		return NVME_SC_CQ_INVALID;
	n->sq[qid] = (struct nvme_sq){.exists = true,
				      .size = (uint16_t)((c->cdw10 >> 16) + 1),
				      .cqid = cqid,
				      .base = c->prp1};
	return NVME_SC_SUCCESS;
}

static int delete_sq(struct nvme *n, const struct nvme_cmd *c)
{
	uint16_t qid = c->cdw10 & 0xFFFF;

	if (qid == 0 || qid >= NVME_MAX_QS || !n->sq[qid].exists)
		return NVME_SC_QID_INVALID;
	/* Its commands in flight complete first (into its completion queue, room reserved). */
	if (n->sq[qid].inflight) {
		block_drain(n->bk, nvme_io_done, n);
		for (unsigned q = 0; q < NVME_MAX_QS; q++)
			n->sq[q].inflight = 0;
	}
	n->sq[qid].exists = false;
	return NVME_SC_SUCCESS;
}

static int delete_cq(struct nvme *n, const struct nvme_cmd *c)
{
	uint16_t qid = c->cdw10 & 0xFFFF;

	if (qid == 0 || qid >= NVME_MAX_QS || !n->cq[qid].exists)
		return NVME_SC_QID_INVALID;
	for (unsigned q = 1; q < NVME_MAX_QS; q++)
		if (n->sq[q].exists && n->sq[q].cqid == qid)
			return NVME_SC_QDEL_INVALID;
	n->cq[qid].exists = false;
	nvme_intx_update(n);
	return NVME_SC_SUCCESS;
}

/* ---- admin: identify and logs ----------------------------------------------------------- */

static void put_str(uint8_t *p, size_t len, const char *s)
{
	size_t l = strnlen(s, len);

	memset(p, ' ', len);
	memcpy(p, s, l);
}

static void identify_ctrl(const struct nvme *n, uint8_t *b)
{
	char nqn[64];

	put_le16(b + 0, NVME_VENDOR);
	put_le16(b + 2, 0x1AF4);
	put_str(b + 4, 20, n->serial);
	put_str(b + 24, 40, "Phyllome NVMe Ctrl");
	put_str(b + 64, 8, "1.0");
	b[72] = 6;			      /* RAB */
	b[77] = NVME_MDTS;		      /* MDTS */
	put_le32(b + 80, NVME_VS);	      /* VER */
	b[111] = 1;			      /* CNTRLTYPE: I/O controller */
	put_le16(b + 256, 1u << 8);	      /* OACS: Doorbell Buffer Config */
	b[258] = 3;			      /* ACL */
	b[259] = NVME_AER_MAX - 1;	      /* AERL */
	b[260] = 0x03;			      /* FRMW: one slot, read-only */
	b[261] = 0x04;			      /* LPA: extended data for Get Log Page */
	put_le16(b + 266, 0x157);	      /* WCTEMP */
	put_le16(b + 268, 0x175);	      /* CCTEMP */
	b[512] = 0x66;			      /* SQES */
	b[513] = 0x44;			      /* CQES */
	put_le32(b + 516, 1);		      /* NN */
	put_le16(b + 520, 1u << 2 | 1u << 3); /* ONCS: DSM, WRITE ZEROES */
	b[525] = 1;			      /* VWC: a volatile write cache, FLUSH means it */
	snprintf(nqn, sizeof(nqn), "nqn.2026-12.org.phyllome:nvme:%s", n->serial);
	memcpy(b + 768, nqn, strlen(nqn));
	put_le16(b + 2048, 2500); /* power state 0: 25 W */
}

static void identify_ns(const struct nvme *n, uint8_t *b)
{
	put_le64(b + 0, n->nsze);
	put_le64(b + 8, n->nsze);
	put_le64(b + 16, n->nsze);
	b[24] = 0x01;			 /* NSFEAT: thin provisioning (deallocate frees) */
	b[25] = 0;			 /* NLBAF: one format */
	b[26] = 0;			 /* FLBAS: format 0 */
	b[99] = n->bk->readonly ? 1 : 0; /* NSATTR: write protected */
	put_le32(b + 128, 9u << 16);	 /* LBAF 0: 512-byte blocks, no metadata */
}

/* A stable UUID for the namespace descriptor list, from the serial (FNV-1a). */
static void ns_uuid(const struct nvme *n, uint8_t *u)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (unsigned i = 0; i < 16; i++) {
		for (const char *s = n->serial; *s; s++)
			h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
		h = (h ^ i) * 0x100000001b3ull;
		u[i] = (uint8_t)(h >> 56);
	}
	u[6] = (uint8_t)((u[6] & 0x0F) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3F) | 0x80);
}

static int identify(struct nvme *n, const struct nvme_cmd *c)
{
	uint8_t b[IDENT_SIZE];

	memset(b, 0, sizeof(b));
	switch (c->cdw10 & 0xFF) {
	case 0x00: /* namespace */
		if (c->nsid != 1)
			return NVME_SC_INVALID_NS;
		identify_ns(n, b);
		break;
	case 0x01:
		identify_ctrl(n, b);
		break;
	case 0x02: /* active namespace list: the NSIDs above the given one */
		if (c->nsid >= 0xFFFFFFFE)
			return NVME_SC_INVALID_NS;
		if (c->nsid < 1)
			put_le32(b, 1);
		break;
	case 0x03: /* namespace identification descriptors: a UUID */
		if (c->nsid != 1)
			return NVME_SC_INVALID_NS;
		b[0] = 3;
		b[1] = 16;
		ns_uuid(n, b + 4);
		break;
	default:
		return NVME_SC_INVALID_FIELD;
	}
	return nvme_prp_copy(n, c, b, IDENT_SIZE, true);
}

static void smart_log(const struct nvme *n, uint8_t *b)
{
	put_le16(b + 1, 0x141); /* composite temperature: 321 K */
	b[3] = 100;		/* available spare */
	b[4] = 10;		/* spare threshold */
	put_le64(b + 32, n->stats.read_units);
	put_le64(b + 48, n->stats.write_units);
	put_le64(b + 64, n->stats.reads);
	put_le64(b + 80, n->stats.writes);
	put_le64(b + 112, 1); /* power cycles */
}

static int get_log(struct nvme *n, const struct nvme_cmd *c)
{
	uint8_t log[LOG_SIZE], out[IDENT_SIZE];
	uint64_t off = (uint64_t)c->cdw13 << 32 | c->cdw12;
	uint32_t numd = ((c->cdw11 & 0xFFFF) << 16 | c->cdw10 >> 16) + 1;
	uint32_t len = numd > IDENT_SIZE / 4 ? IDENT_SIZE : numd * 4, size = LOG_SIZE;

	memset(log, 0, sizeof(log));
	memset(out, 0, sizeof(out));
	switch (c->cdw10 & 0xFF) {
	case 0x01: /* error information: one entry, empty */
		size = 64;
		break;
	case 0x02:
		if (c->nsid != 0 && c->nsid != 1 && c->nsid != 0xFFFFFFFF)
			return NVME_SC_INVALID_NS;
		smart_log(n, log);
		break;
	case 0x03: /* firmware slots: slot 1 active */
		log[0] = 1;
		put_str(log + 8, 8, "1.0");
		break;
	default:
		return NVME_SC_LOG_INVALID;
	}
	if (off & 3 || off >= size)
		return NVME_SC_INVALID_FIELD;
	memcpy(out, log + off, size - off < len ? size - off : len);
	return nvme_prp_copy(n, c, out, len, true);
}

/* ---- admin: features -------------------------------------------------------------------- */

static uint32_t *feat_slot(struct nvme *n, uint8_t fid, uint32_t dw11)
{
	switch (fid) {
	case FEAT_ARBITRATION:
		return &n->feat.arbitration;
	case FEAT_POWER:
		return &n->feat.power;
	case FEAT_TEMP:
		return &n->feat.temp;
	case FEAT_ERR_RECOVERY:
		return &n->feat.err_recovery;
	case FEAT_WCE:
		return &n->feat.wce;
	case FEAT_COALESCING:
		return &n->feat.coalescing;
	case FEAT_IV_CONFIG:
		return (dw11 & 0xFFFF) < MSIX_MAX_VECTORS ? &n->feat.ivc[dw11 & 0xFFFF] : NULL;
	case FEAT_WRITE_ATOM:
		return &n->feat.write_atom;
	case FEAT_AEC:
		return &n->feat.aec;
	default:
		return NULL;
	}
}

static int set_num_queues(struct nvme *n, uint32_t dw11, uint32_t *dw0)
{
	uint32_t nsq = dw11 & 0xFFFF, ncq = dw11 >> 16, max = n->max_ioq - 1;

	if (nsq == 0xFFFF || ncq == 0xFFFF)
		return NVME_SC_INVALID_FIELD;
	n->feat.nq = (ncq < max ? ncq : max) << 16 | (nsq < max ? nsq : max);
	*dw0 = n->feat.nq;
	return NVME_SC_SUCCESS;
}

static int set_feature(struct nvme *n, const struct nvme_cmd *c, uint32_t *dw0)
{
	uint8_t fid = c->cdw10 & 0xFF;
	uint32_t *slot;

	if (c->cdw10 >> 31)
		return NVME_SC_FEAT_NOT_SAVEABLE;
	if (fid == FEAT_NUM_QUEUES)
		return set_num_queues(n, c->cdw11, dw0);
	slot = feat_slot(n, fid, c->cdw11);
	if (!slot)
		return NVME_SC_INVALID_FIELD;
	if (fid == FEAT_POWER && (c->cdw11 & 0x1F))
		return NVME_SC_INVALID_FIELD; /* one power state */
	if (fid == FEAT_WCE)
		*slot = c->cdw11 & 1;
	else if (fid == FEAT_IV_CONFIG)
		*slot = c->cdw11 & 0x1FFFF;
	else
		*slot = c->cdw11;
	return NVME_SC_SUCCESS;
}

static int get_feature(struct nvme *n, const struct nvme_cmd *c, uint32_t *dw0)
{
	uint8_t fid = c->cdw10 & 0xFF;
	unsigned sel = (c->cdw10 >> 8) & 7;
	uint32_t *slot = fid == FEAT_NUM_QUEUES ? &n->feat.nq : feat_slot(n, fid, c->cdw11);
	struct nvme_feats def;

	if (!slot)
		return NVME_SC_INVALID_FIELD;
	if (sel == 3) { /* capabilities: changeable, neither saveable nor per namespace */
		*dw0 = 0x4;
		return NVME_SC_SUCCESS;
	}
	if (sel == 1 || sel == 2) { /* default, and saved (there is no saving) */
		nvme_feats_default(&def, n->max_ioq);
		*dw0 = ((uint32_t *)&def)[slot - (uint32_t *)&n->feat];
		return NVME_SC_SUCCESS;
	}
	if (sel != 0)
		return NVME_SC_INVALID_FIELD;
	*dw0 = *slot;
	if (fid == FEAT_IV_CONFIG)
		*dw0 = (*slot & 0x10000) | (c->cdw11 & 0xFFFF);
	return NVME_SC_SUCCESS;
}

/* Doorbell Buffer Config: two pages of guest RAM, shadow doorbells and event indexes. */
static int dbbuf_config(struct nvme *n, const struct nvme_cmd *c)
{
	if (!c->prp1 || !c->prp2 || ((c->prp1 | c->prp2) & (NVME_PAGE - 1)) ||
	    !gm_ptr(n->gm, c->prp1, NVME_PAGE) || !gm_ptr(n->gm, c->prp2, NVME_PAGE))
		return NVME_SC_INVALID_FIELD;
	n->dbbuf = c->prp1;
	n->eibuf = c->prp2;
	if (n->hooks.dbbuf)
		n->hooks.dbbuf(n->hooks.opaque, true);
	return NVME_SC_SUCCESS;
}

/* ---- admin: dispatch -------------------------------------------------------------------- */

static int aer(struct nvme *n, const struct nvme_cmd *c)
{
	if (n->naer == NVME_AER_MAX)
		return NVME_SC_AER_LIMIT;
	/* Held until an event: there are none to report (no thresholds, no namespace changes). */
	n->aer_cid[n->naer++] = c->cid;
	return NVME_HELD;
}

int nvme_admin_cmd(struct nvme *n, const struct nvme_cmd *c, uint32_t *dw0)
{
	if ((c->flags & 0xC3) != 0)
		return c->flags & 0xC0 ? NVME_SC_SGL_INVALID
				       : NVME_SC_INVALID_FIELD; /* PSDT, FUSE */
	switch (c->opcode) {
	case ADM_DELETE_SQ:
		return delete_sq(n, c);
	case ADM_CREATE_SQ:
		return create_sq(n, c);
	case ADM_GET_LOG:
		return get_log(n, c);
	case ADM_DELETE_CQ:
		return delete_cq(n, c);
	case ADM_CREATE_CQ:
		return create_cq(n, c);
	case ADM_IDENTIFY:
		return identify(n, c);
	case ADM_ABORT:
		*dw0 = 1; /* not aborted: commands are not queued long enough to catch */
		return NVME_SC_SUCCESS;
	case ADM_SET_FEAT:
		return set_feature(n, c, dw0);
	case ADM_GET_FEAT:
		return get_feature(n, c, dw0);
	case ADM_AER:
		return aer(n, c);
	case ADM_KEEP_ALIVE:
		return NVME_SC_SUCCESS;
	case ADM_DBBUF_CONFIG:
		return dbbuf_config(n, c);
	default:
		return NVME_SC_INVALID_OPCODE;
	}
}
