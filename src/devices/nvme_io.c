/* NVMe data: PRP lists (NVMe 1.4, 4.3) and the NVM command set (6). */
#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "common/iov.h"
#include "common/log.h"
#include "devices/nvme.h"

#define PRP_LIST_PAGES 64 /* list pages one command may chain (MDTS needs one) */
#define DSM_MAX_RANGES 256
#define DSM_RANGE_SIZE 16

enum { IO_FLUSH = 0x00, IO_WRITE = 0x01, IO_READ = 0x02, IO_WRITE_ZEROES = 0x08, IO_DSM = 0x09 };

/* Appends [addr, addr + len) of guest RAM, merged with the previous entry when adjacent. */
static int prp_add(const struct nvme *n, struct iovec *iov, unsigned *k, unsigned max,
		   uint64_t addr, uint64_t len)
{
	uint8_t *p = gm_ptr(n->gm, addr, len);

	if (!p)
		return -NVME_SC_DATA_XFER_ERROR;
	if (*k && (uint8_t *)iov[*k - 1].iov_base + iov[*k - 1].iov_len == p) {
		iov[*k - 1].iov_len += (size_t)len;
		return 0;
	}
	if (*k == max)
		return -NVME_SC_INVALID_FIELD;
	iov[*k].iov_base = p;
	iov[*k].iov_len = (size_t)len;
	(*k)++;
	return 0;
}

/* The entries of PRP lists from list on, for len bytes of whole pages (after PRP1's). The last
 * entry of a list page points to the next page when more entries are needed. */
static int prp_list(const struct nvme *n, uint64_t list, uint64_t len, struct iovec *iov,
		    unsigned *k, unsigned max)
{
	uint8_t ents[NVME_PAGE];

	for (unsigned pages = 0; len; pages++) {
		unsigned room = (unsigned)(NVME_PAGE - (list & (NVME_PAGE - 1))) / 8;
		uint64_t need = (len + NVME_PAGE - 1) / NVME_PAGE;
		unsigned cnt = need < room ? (unsigned)need : room;

		if (pages == PRP_LIST_PAGES || (list & 7))
			return pages == PRP_LIST_PAGES ? -NVME_SC_DATA_XFER_ERROR
						       : -NVME_SC_PRP_OFFSET;
		if (gm_read(n->gm, list, ents, (uint64_t)cnt * 8) < 0)
			return -NVME_SC_DATA_XFER_ERROR;
		for (unsigned i = 0; i < cnt; i++) {
			uint64_t e = get_le64(ents + 8 * i),
				 chunk = len < NVME_PAGE ? len : NVME_PAGE;
			int rc;

			if (i == room - 1 && need > 1) {
				list = e; /* the next list page */
				break;
			}
			if (e & (NVME_PAGE - 1))
				return -NVME_SC_PRP_OFFSET;
			rc = prp_add(n, iov, k, max, e, chunk);
			if (rc < 0)
				return rc;
			len -= chunk;
			need--;
		}
	}
	return 0;
}

int nvme_prp_map(const struct nvme *n, uint64_t prp1, uint64_t prp2, uint64_t len,
		 struct iovec *iov, unsigned max)
{
	uint64_t first = NVME_PAGE - (prp1 & (NVME_PAGE - 1));
	unsigned k = 0;
	int rc;

	if (len == 0)
		return 0;
	if (prp1 & 3)
		return -NVME_SC_PRP_OFFSET;
	if (first > len)
		first = len;
	rc = prp_add(n, iov, &k, max, prp1, first);
	len -= first;
	if (rc < 0 || len == 0)
		return rc < 0 ? rc : (int)k;
	if (len <= NVME_PAGE) {
		if (prp2 & (NVME_PAGE - 1))
			return -NVME_SC_PRP_OFFSET;
		rc = prp_add(n, iov, &k, max, prp2, len);
	} else {
		rc = prp_list(n, prp2, len, iov, &k, max);
	}
	return rc < 0 ? rc : (int)k;
}

int nvme_prp_copy(const struct nvme *n, const struct nvme_cmd *c, void *buf, uint32_t len,
		  bool to_guest)
{
	struct iovec iov[4];
	int cnt;

	if (len > 2 * NVME_PAGE)
		return NVME_SC_INVALID_FIELD;
	cnt = nvme_prp_map(n, c->prp1, c->prp2, len, iov, 4);
	if (cnt < 0)
		return -cnt;
	if (to_guest)
		iov_from_buf(iov, (unsigned)cnt, 0, buf, len);
	else
		iov_to_buf(iov, (unsigned)cnt, 0, buf, len);
	return NVME_SC_SUCCESS;
}

/* ---- requests to the backend ------------------------------------------------------------ */

static void req_put(struct nvme *n, struct nvme_req *r)
{
	r->next_free = n->free;
	n->free = r;
}

static int req_start(struct nvme *n, uint16_t sqid, const struct nvme_cmd *c, struct nvme_req *r)
{
	n->free = r->next_free;
	r->sqid = sqid;
	r->cid = c->cid;
	r->opcode = c->opcode;
	r->io.result = 0;
	if (block_queue(n->bk, &r->io) < 0) {
		/* The ring is full of unsubmitted entries: hand them over and try once more. */
		block_submit(n->bk);
		if (block_queue(n->bk, &r->io) < 0) {
			req_put(n, r);
			return NVME_SC_INTERNAL;
		}
	}
	n->sq[sqid].inflight++;
	return NVME_PENDING;
}

static void count(struct nvme *n, const struct nvme_req *r)
{
	struct nvme_stats *s = &n->stats;
	uint64_t bytes = 0;

	for (unsigned i = 0; i < r->io.niov; i++)
		bytes += r->iov[i].iov_len;
	if (r->opcode == IO_READ) {
		s->reads++;
		s->read_bytes += bytes;
		s->read_units = (s->read_bytes / NVME_LBA + 999) / 1000;
	} else if (r->opcode == IO_WRITE) {
		s->writes++;
		s->write_bytes += bytes;
		s->write_units = (s->write_bytes / NVME_LBA + 999) / 1000;
	}
}

void nvme_io_done(struct block_io *io, void *arg)
{
	struct nvme *n = arg;
	struct nvme_req *r = (struct nvme_req *)io;
	int st = NVME_SC_SUCCESS;

	if (io->result < 0) {
		if (n->io_errors++ == 0)
			pr_warn("nvme disk '%s': I/O error: %s (later ones are not reported)",
				n->bk->name, strerror(-io->result));
		st = io->result == -ENOSPC  ? NVME_SC_CAP_EXCEEDED
		     : r->opcode == IO_READ ? NVME_SC_READ_ERROR
					    : NVME_SC_WRITE_FAULT;
	} else {
		count(n, r);
	}
	if (n->sq[r->sqid].inflight)
		n->sq[r->sqid].inflight--;
	nvme_complete(n, r->sqid, r->cid, st, 0);
	req_put(n, r);
}

/* ---- commands --------------------------------------------------------------------------- */

/* The blocks [SLBA, SLBA + NLB) of a READ, WRITE or WRITE ZEROES, checked. */
static int lba_range(const struct nvme *n, const struct nvme_cmd *c, uint64_t *off, uint64_t *len)
{
	uint64_t slba = (uint64_t)c->cdw11 << 32 | c->cdw10, nlb = (c->cdw12 & 0xFFFF) + 1ull;

	if (c->nsid != 1)
		return NVME_SC_INVALID_NS;
	if (slba > n->nsze || nlb > n->nsze - slba)
		return NVME_SC_LBA_RANGE;
	*off = slba * NVME_LBA;
	*len = nlb * NVME_LBA;
	return NVME_SC_SUCCESS;
}

/* Durable at completion: forced unit access, or no volatile write cache to flush later. */
static bool write_through(const struct nvme *n, const struct nvme_cmd *c)
{
	return (c->cdw12 >> 30 & 1) || !(n->feat.wce & 1);
}

static int rw(struct nvme *n, uint16_t sqid, const struct nvme_cmd *c)
{
	bool write = c->opcode == IO_WRITE;
	struct nvme_req *r = n->free;
	uint64_t off, len;
	int st = lba_range(n, c, &off, &len), cnt;

	if (st)
		return st;
	if (len > (uint64_t)NVME_PAGE << NVME_MDTS)
		return NVME_SC_INVALID_FIELD;
	if (write && n->bk->readonly)
		return NVME_SC_NS_WRITE_PROTECTED;
	cnt = nvme_prp_map(n, c->prp1, c->prp2, len, r->iov, NVME_MAX_IOV);
	if (cnt < 0)
		return -cnt;
	r->io = (struct block_io){.op = write ? BLOCK_WRITE : BLOCK_READ,
				  .dsync = write && write_through(n, c),
				  .offset = off,
				  .iov = r->iov,
				  .niov = (unsigned)cnt,
				  .remaining = len};
	return req_start(n, sqid, c, r);
}

static int flush(struct nvme *n, uint16_t sqid, const struct nvme_cmd *c)
{
	struct nvme_req *r = n->free;

	if (c->nsid != 1 && c->nsid != 0xFFFFFFFF)
		return NVME_SC_INVALID_NS;
	if (n->bk->readonly)
		return NVME_SC_SUCCESS; /* nothing was written */
	r->io = (struct block_io){.op = BLOCK_FLUSH};
	return req_start(n, sqid, c, r);
}

/* Done at once on the I/O thread, as virtio-blk does. */
static int write_zeroes(struct nvme *n, const struct nvme_cmd *c)
{
	uint64_t off, len;
	int st = lba_range(n, c, &off, &len);

	if (st)
		return st;
	if (n->bk->readonly)
		return NVME_SC_NS_WRITE_PROTECTED;
	if (block_write_zeroes(n->bk, off, len, c->cdw12 >> 25 & 1) < 0)
		return NVME_SC_WRITE_FAULT;
	if (write_through(n, c) && block_sync(n->bk) < 0)
		return NVME_SC_WRITE_FAULT;
	return NVME_SC_SUCCESS;
}

/* Dataset management: only the deallocate attribute does anything (a hole punched). */
static int dsm(struct nvme *n, const struct nvme_cmd *c)
{
	uint8_t ranges[DSM_MAX_RANGES * DSM_RANGE_SIZE];
	unsigned nr = (c->cdw10 & 0xFF) + 1;
	int st;

	if (c->nsid != 1)
		return NVME_SC_INVALID_NS;
	if (!(c->cdw11 & 4))
		return NVME_SC_SUCCESS; /* hints only */
	if (n->bk->readonly)
		return NVME_SC_NS_WRITE_PROTECTED;
	/* One copy, so the guest can't change a range between the check and the use. */
	st = nvme_prp_copy(n, c, ranges, nr * DSM_RANGE_SIZE, false);
	for (unsigned i = 0; st == NVME_SC_SUCCESS && i < nr; i++) {
		uint64_t nlb = get_le32(ranges + i * DSM_RANGE_SIZE + 4);
		uint64_t slba = get_le64(ranges + i * DSM_RANGE_SIZE + 8);

		if (slba > n->nsze || nlb > n->nsze - slba)
			st = NVME_SC_LBA_RANGE;
	}
	for (unsigned i = 0; st == NVME_SC_SUCCESS && i < nr; i++) {
		uint64_t nlb = get_le32(ranges + i * DSM_RANGE_SIZE + 4);
		uint64_t slba = get_le64(ranges + i * DSM_RANGE_SIZE + 8);

		if (nlb && block_discard(n->bk, slba * NVME_LBA, nlb * NVME_LBA) < 0)
			st = NVME_SC_INTERNAL;
	}
	return st;
}

int nvme_io_cmd(struct nvme *n, uint16_t sqid, const struct nvme_cmd *c)
{
	if (c->flags & 0xC0)
		return NVME_SC_SGL_INVALID; /* PSDT: SGLs are not offered */
	if (c->flags & 3)
		return NVME_SC_INVALID_FIELD; /* fused operations are not offered */
	switch (c->opcode) {
	case IO_FLUSH:
		return flush(n, sqid, c);
	case IO_WRITE:
	case IO_READ:
		return rw(n, sqid, c);
	case IO_WRITE_ZEROES:
		return write_zeroes(n, c);
	case IO_DSM:
		return dsm(n, c);
	default:
		return NVME_SC_INVALID_OPCODE;
	}
}
