/* virtio-blk (virtio 1.2, 5.2): one request queue over the io_uring block backend. Reads,
 * writes and flushes are asynchronous, straight between the image and guest memory;
 * discard and write-zeroes are done at once on the device's I/O thread. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "backends/block.h"
#include "common/bytes.h"
#include "common/log.h"
#include "virtio/devices.h"
#include "arch/x86/bootorder.h"
#include "devices/device.h"
#include "virtio/virtio_pci.h"

#define BLK_QUEUE_SIZE	    256
#define BLK_SECTOR	    512u
#define BLK_SEG_MAX	    (BLK_QUEUE_SIZE - 2) /* the header and status take one each */
#define BLK_DWZ_MAX_SECTORS (1u << 22)		 /* 2 GiB per discard/write-zeroes segment */
#define BLK_DWZ_MAX_SEG	    16
#define BLK_DISCARD_ALIGN   8 /* sectors: 4 KiB, the usual file system block */
#define BLK_ID_BYTES	    20
#define BLK_HDR_SIZE	    16
#define BLK_DWZ_SEG_SIZE    16
#define BLK_PCI_CLASS	    0x018000 /* mass storage, other */

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX	  2
#define VIRTIO_BLK_F_RO		  5
#define VIRTIO_BLK_F_BLK_SIZE	  6
#define VIRTIO_BLK_F_FLUSH	  9
#define VIRTIO_BLK_F_DISCARD	  13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Request types, status values and segment flags (5.2.6). */
#define VIRTIO_BLK_T_IN		  0
#define VIRTIO_BLK_T_OUT	  1
#define VIRTIO_BLK_T_FLUSH	  4
#define VIRTIO_BLK_T_GET_ID	  8
#define VIRTIO_BLK_T_DISCARD	  11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK		  0
#define VIRTIO_BLK_S_IOERR	  1
#define VIRTIO_BLK_S_UNSUPP	  2
#define VIRTIO_BLK_DWZ_F_UNMAP	  1u
#define BLK_PENDING		  (-1) /* handed to the backend: its completion answers */

/* Offsets in struct virtio_blk_config (5.2.4); we end before the secure-erase fields. */
enum {
	CFG_CAPACITY = 0,
	CFG_SIZE_MAX = 8,
	CFG_SEG_MAX = 12,
	CFG_GEOMETRY = 16,
	CFG_BLK_SIZE = 20,
	CFG_TOPOLOGY = 24,
	CFG_WRITEBACK = 32,
	CFG_NUM_QUEUES = 34,
	CFG_MAX_DISCARD_SECTORS = 36,
	CFG_MAX_DISCARD_SEG = 40,
	CFG_DISCARD_ALIGN = 44,
	CFG_MAX_WZ_SECTORS = 48,
	CFG_MAX_WZ_SEG = 52,
	CFG_WZ_MAY_UNMAP = 56,
	CFG_SIZE = 60,
};

/* One request taken from the ring. It keeps only its data segments (grown on demand, kept
 * for reuse), never a whole virtq_chain. */
struct blk_req {
	struct block_io io; /* first: the backend hands this back */
	uint8_t *status;    /* the last device-writable byte */
	uint32_t written;   /* used length on success */
	uint16_t head;
	unsigned iov_cap;
	struct iovec *iov;
	struct blk_req *next_free;
};
_Static_assert(offsetof(struct blk_req, io) == 0, "blk_req starts with its block_io");

struct blk_dev {
	struct virtio_dev *d;
	struct block bk;
	uint64_t capacity; /* 512-byte sectors */
	bool can_dwz;	   /* discard and write-zeroes offered */
	bool starved;	   /* stopped taking requests: none was free */
	bool pushed;	   /* used entries added since the last notify */
	unsigned io_errors;
	uint8_t id[BLK_ID_BYTES];
	uint8_t config[CFG_SIZE];
	struct blk_req *free;
	struct blk_req reqs[BLK_QUEUE_SIZE];
	struct virtq_chain chain; /* scratch for virtq_pop */
};

static void blk_pool_init(struct blk_dev *bd)
{
	bd->free = NULL;
	for (unsigned i = BLK_QUEUE_SIZE; i-- > 0;) {
		bd->reqs[i].next_free = bd->free;
		bd->free = &bd->reqs[i];
	}
}

static void blk_req_put(struct blk_dev *bd, struct blk_req *r)
{
	r->next_free = bd->free;
	bd->free = r;
}

static void blk_complete(struct blk_dev *bd, struct blk_req *r, uint8_t status)
{
	*r->status = status;
	virtq_push(&bd->d->vq[0], r->head, status == VIRTIO_BLK_S_OK ? r->written : 1);
	bd->pushed = true;
	blk_req_put(bd, r);
}

static void blk_notify(struct blk_dev *bd)
{
	if (!bd->pushed)
		return;
	bd->pushed = false;
	virtio_dev_notify(bd->d, 0);
}

static int blk_req_grow(struct blk_req *r)
{
	unsigned cap = r->iov_cap ? r->iov_cap * 2 : 16;
	struct iovec *p;

	if (r->iov_cap >= VIRTQ_MAX_CHAIN)
		return -E2BIG;
	if (cap > VIRTQ_MAX_CHAIN)
		cap = VIRTQ_MAX_CHAIN;
	p = realloc(r->iov, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	r->iov = p;
	r->iov_cap = cap;
	return 0;
}

/* Points the request's iovecs at bytes [skip, skip + len) of the segments. */
static int blk_req_iov(struct blk_req *r, const struct iovec *iov, unsigned n, uint64_t skip,
		       uint64_t len)
{
	unsigned k = 0;

	for (unsigned i = 0; i < n && len; i++) {
		uint64_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > len)
			l = len;
		if (k == r->iov_cap && blk_req_grow(r) < 0)
			return -ENOMEM;
		r->iov[k].iov_base = (uint8_t *)iov[i].iov_base + skip;
		r->iov[k].iov_len = (size_t)l;
		k++;
		len -= l;
		skip = 0;
	}
	r->io.iov = r->iov;
	r->io.niov = k;
	return len ? -EINVAL : 0;
}

static bool blk_range_ok(const struct blk_dev *bd, uint64_t sector, uint64_t bytes)
{
	return bytes % BLK_SECTOR == 0 && sector <= bd->capacity &&
	       bytes / BLK_SECTOR <= bd->capacity - sector;
}

static int blk_queue(struct blk_dev *bd, struct blk_req *r)
{
	if (block_queue(&bd->bk, &r->io) == 0)
		return BLK_PENDING;
	/* Ring full of unsubmitted entries: hand them over and try once more. */
	block_submit(&bd->bk);
	return block_queue(&bd->bk, &r->io) == 0 ? BLK_PENDING : VIRTIO_BLK_S_IOERR;
}

static int blk_start_rw(struct blk_dev *bd, struct blk_req *r, enum block_op op,
			const struct iovec *iov, unsigned n, uint64_t skip, uint64_t len,
			uint64_t sector)
{
	if (len == 0)
		return VIRTIO_BLK_S_OK;
	if (blk_req_iov(r, iov, n, skip, len) < 0)
		return VIRTIO_BLK_S_IOERR;
	r->io.op = op;
	r->io.offset = sector * BLK_SECTOR;
	r->io.remaining = len;
	/* Without FLUSH negotiated, completed writes must already be stable (5.2.6.4). */
	r->io.dsync = op == BLOCK_WRITE && !virtio_has_feature(bd->d, VIRTIO_BLK_F_FLUSH);
	if (op == BLOCK_READ)
		r->written = len + 1 > UINT32_MAX ? UINT32_MAX : (uint32_t)(len + 1);
	return blk_queue(bd, r);
}

static int blk_read(struct blk_dev *bd, const struct virtq_chain *c, struct blk_req *r,
		    uint64_t sector)
{
	uint64_t len = c->in_len - 1; /* all but the status byte */

	if (!blk_range_ok(bd, sector, len))
		return VIRTIO_BLK_S_IOERR;
	return blk_start_rw(bd, r, BLOCK_READ, c->in, c->nin, 0, len, sector);
}

static int blk_write(struct blk_dev *bd, const struct virtq_chain *c, struct blk_req *r,
		     uint64_t sector)
{
	uint64_t len = c->out_len - BLK_HDR_SIZE;

	if (bd->bk.readonly || !blk_range_ok(bd, sector, len))
		return VIRTIO_BLK_S_IOERR;
	return blk_start_rw(bd, r, BLOCK_WRITE, c->out, c->nout, BLK_HDR_SIZE, len, sector);
}

static int blk_flush(struct blk_dev *bd, struct blk_req *r)
{
	r->io.op = BLOCK_FLUSH;
	return blk_queue(bd, r);
}

static int blk_get_id(const struct blk_dev *bd, const struct virtq_chain *c, struct blk_req *r)
{
	uint64_t room = c->in_len - 1;
	size_t n = room < BLK_ID_BYTES ? (size_t)room : BLK_ID_BYTES;

	r->written = (uint32_t)iov_from_buf(c->in, c->nin, 0, bd->id, n) + 1;
	return VIRTIO_BLK_S_OK;
}

static int blk_dwz_check(const struct blk_dev *bd, const uint8_t *seg, bool discard)
{
	uint64_t sector = get_le64(seg);
	uint32_t num = get_le32(seg + 8), flags = get_le32(seg + 12);

	if (flags & ~VIRTIO_BLK_DWZ_F_UNMAP)
		return VIRTIO_BLK_S_UNSUPP;
	if (discard && (flags & VIRTIO_BLK_DWZ_F_UNMAP))
		return VIRTIO_BLK_S_UNSUPP;
	if (num > BLK_DWZ_MAX_SECTORS || !blk_range_ok(bd, sector, (uint64_t)num * BLK_SECTOR))
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

/* Discard and write zeroes: 16-byte segments after the header, all checked first. */
static int blk_dwz(struct blk_dev *bd, const struct virtq_chain *c, bool discard)
{
	uint8_t segs[BLK_DWZ_MAX_SEG][BLK_DWZ_SEG_SIZE];
	uint64_t len = c->out_len - BLK_HDR_SIZE;
	unsigned n = (unsigned)(len / BLK_DWZ_SEG_SIZE);

	if (bd->bk.readonly)
		return VIRTIO_BLK_S_IOERR;
	if (!virtio_has_feature(bd->d, discard ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES))
		return VIRTIO_BLK_S_UNSUPP;
	if (len == 0 || len % BLK_DWZ_SEG_SIZE || len / BLK_DWZ_SEG_SIZE > BLK_DWZ_MAX_SEG)
		return VIRTIO_BLK_S_IOERR;
	/* One copy, so the guest can't change a segment between the check and the use. */
	iov_to_buf(c->out, c->nout, BLK_HDR_SIZE, segs, (size_t)len);
	for (unsigned i = 0; i < n; i++) {
		int st = blk_dwz_check(bd, segs[i], discard);

		if (st != VIRTIO_BLK_S_OK)
			return st;
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t off = get_le64(segs[i]) * BLK_SECTOR;
		uint64_t bytes = (uint64_t)get_le32(segs[i] + 8) * BLK_SECTOR;
		bool unmap = get_le32(segs[i] + 12) & VIRTIO_BLK_DWZ_F_UNMAP;
		int rc = discard ? block_discard(&bd->bk, off, bytes)
				 : block_write_zeroes(&bd->bk, off, bytes, unmap);

		if (rc < 0)
			return VIRTIO_BLK_S_IOERR;
	}
	if (!discard && !virtio_has_feature(bd->d, VIRTIO_BLK_F_FLUSH) && block_sync(&bd->bk) < 0)
		return VIRTIO_BLK_S_IOERR;
	return VIRTIO_BLK_S_OK;
}

static int blk_dispatch(struct blk_dev *bd, const struct virtq_chain *c, struct blk_req *r,
			uint32_t type, uint64_t sector)
{
	switch (type) {
	case VIRTIO_BLK_T_IN:
		return blk_read(bd, c, r, sector);
	case VIRTIO_BLK_T_OUT:
		return blk_write(bd, c, r, sector);
	case VIRTIO_BLK_T_FLUSH:
		return blk_flush(bd, r);
	case VIRTIO_BLK_T_GET_ID:
		return blk_get_id(bd, c, r);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return blk_dwz(bd, c, type == VIRTIO_BLK_T_DISCARD);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* The status is the last byte of the last device-writable segment. */
static uint8_t *blk_status_ptr(const struct virtq_chain *c)
{
	for (unsigned i = c->nin; i-- > 0;)
		if (c->in[i].iov_len)
			return (uint8_t *)c->in[i].iov_base + c->in[i].iov_len - 1;
	return NULL;
}

/* Starts one request (a free one is guaranteed by the caller). */
static void blk_handle(struct blk_dev *bd, const struct virtq_chain *c)
{
	uint8_t hdr[BLK_HDR_SIZE];
	uint8_t *status = blk_status_ptr(c);
	struct blk_req *r = bd->free;
	int st;

	if (!status) {
		/* Nowhere to answer: only a reset gets the driver and us back in step. */
		bd->d->vq[0].broken = true;
		virtio_dev_set_needs_reset(bd->d);
		return;
	}
	bd->free = r->next_free;
	r->head = c->head;
	r->status = status;
	r->written = 1;
	if (iov_to_buf(c->out, c->nout, 0, hdr, sizeof(hdr)) < sizeof(hdr))
		st = VIRTIO_BLK_S_IOERR;
	else
		st = blk_dispatch(bd, c, r, get_le32(hdr), get_le64(hdr + 8));
	if (st != BLK_PENDING)
		blk_complete(bd, r, (uint8_t)st);
}

/* Takes requests until the ring is empty (0), none is free (1), or a chain is malformed
 * (-EINVAL). */
static int blk_take_all(struct blk_dev *bd)
{
	struct virtq *vq = &bd->d->vq[0];

	while (!vq->broken) {
		int rc;

		if (!bd->free)
			return 1;
		rc = virtq_pop(vq, &bd->chain);
		if (rc <= 0)
			return rc;
		blk_handle(bd, &bd->chain);
	}
	return 0;
}

static void blk_process(struct blk_dev *bd)
{
	struct virtq *vq = &bd->d->vq[0];
	int rc = 0;

	bd->starved = false;
	if (!(bd->d->status & VIRTIO_STATUS_DRIVER_OK))
		return;
	while (vq->ready && !vq->broken) {
		virtq_set_notify(vq, false);
		rc = blk_take_all(bd);
		if (rc != 0)
			break;
		/* A buffer made available just before kicks were enabled again sends none. */
		virtq_set_notify(vq, true);
		if (!virtq_has_avail(vq))
			break;
	}
	block_submit(&bd->bk);
	if (rc < 0)
		virtio_dev_set_needs_reset(bd->d);
	bd->starved = rc > 0;
	blk_notify(bd);
}

static void blk_io_done(struct block_io *io, void *arg)
{
	struct blk_dev *bd = arg;

	if (io->result < 0 && bd->io_errors++ == 0)
		pr_warn("disk '%s': I/O error: %s (later ones are not reported)", bd->bk.name,
			strerror(-io->result));
	blk_complete(bd, (struct blk_req *)io,
		     io->result < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
}

static void blk_io_drop(struct block_io *io, void *arg)
{
	blk_req_put(arg, (struct blk_req *)io);
}

static void blk_event(struct virtio_dev *d, int fd, uint32_t events, void *arg)
{
	struct blk_dev *bd = arg;

	(void)d;
	(void)fd;
	(void)events;
	block_reap(&bd->bk, blk_io_done, bd);
	if (bd->starved && bd->free)
		blk_process(bd);
	else
		blk_notify(bd);
}

static uint64_t blk_features(struct virtio_dev *d)
{
	const struct blk_dev *bd = d->priv;
	uint64_t f = 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE |
		     1ull << VIRTIO_BLK_F_FLUSH;

	if (bd->bk.readonly)
		f |= 1ull << VIRTIO_BLK_F_RO;
	if (bd->can_dwz)
		f |= 1ull << VIRTIO_BLK_F_DISCARD | 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
	return f;
}

static void blk_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	const struct blk_dev *bd = d->priv;

	if (off > CFG_SIZE || len > CFG_SIZE - off) {
		memset(data, 0, len);
		return;
	}
	memcpy(data, bd->config + off, len);
}

static void blk_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t len)
{
	/* Every field is read-only here (writeback would need CONFIG_WCE). */
	(void)d;
	(void)off;
	(void)data;
	(void)len;
}

static int blk_activate(struct virtio_dev *d)
{
	(void)d;
	return 0;
}

static void blk_reset(struct virtio_dev *d)
{
	struct blk_dev *bd = d->priv;

	/* The I/O targets guest memory the driver will reuse: let it finish, then forget it. */
	block_drain(&bd->bk, blk_io_drop, bd);
	bd->starved = false;
	bd->pushed = false;
}

static void blk_queue_notify(struct virtio_dev *d, unsigned q)
{
	if (q == 0)
		blk_process(d->priv);
}

static void blk_destroy(struct virtio_dev *d)
{
	struct blk_dev *bd = d->priv;

	if (!bd)
		return;
	block_drain(&bd->bk, blk_io_drop, bd);
	virtio_dev_unwatch(d, block_eventfd(&bd->bk));
	block_close(&bd->bk);
	for (unsigned i = 0; i < BLK_QUEUE_SIZE; i++)
		free(bd->reqs[i].iov);
	free(bd);
	d->priv = NULL;
}

static const struct virtio_dev_ops blk_ops = {
    .name = "virtio-blk",
    .device_id = VIRTIO_ID_BLOCK,
    .pci_class = BLK_PCI_CLASS,
    .num_queues = 1,
    .queue_size = BLK_QUEUE_SIZE,
    .config_size = CFG_SIZE,
    .features = blk_features,
    .config_read = blk_config_read,
    .config_write = blk_config_write,
    .activate = blk_activate,
    .reset = blk_reset,
    .queue_notify = blk_queue_notify,
    .destroy = blk_destroy,
};

static void blk_build_config(struct blk_dev *bd)
{
	uint8_t *c = bd->config;

	memset(c, 0, CFG_SIZE); /* size_max, geometry, topology, writeback, padding */
	put_le64(c + CFG_CAPACITY, bd->capacity);
	put_le32(c + CFG_SEG_MAX, BLK_SEG_MAX);
	put_le32(c + CFG_BLK_SIZE, BLK_SECTOR);
	put_le16(c + CFG_NUM_QUEUES, 1);
	if (!bd->can_dwz)
		return;
	put_le32(c + CFG_MAX_DISCARD_SECTORS, BLK_DWZ_MAX_SECTORS);
	put_le32(c + CFG_MAX_DISCARD_SEG, BLK_DWZ_MAX_SEG);
	put_le32(c + CFG_DISCARD_ALIGN, BLK_DISCARD_ALIGN);
	put_le32(c + CFG_MAX_WZ_SECTORS, BLK_DWZ_MAX_SECTORS);
	put_le32(c + CFG_MAX_WZ_SEG, BLK_DWZ_MAX_SEG);
	c[CFG_WZ_MAY_UNMAP] = 1;
}

static void blk_set_id(struct blk_dev *bd, const struct disk_config *cfg, unsigned index)
{
	char def[32];
	const char *s = cfg->serial;

	if (!s[0]) {
		snprintf(def, sizeof(def), "phyllome-disk-%u", index);
		s = def;
	}
	/* NUL-padded, and no terminator when all 20 bytes are used. */
	memset(bd->id, 0, sizeof(bd->id));
	memcpy(bd->id, s, strnlen(s, BLK_ID_BYTES));
}

int virtio_blk_init(struct virtio_dev *d, const struct disk_config *cfg, unsigned index, char *err,
		    size_t errlen)
{
	struct blk_dev *bd = calloc(1, sizeof(*bd));
	int rc;

	if (!bd) {
		snprintf(err, errlen, "disk '%s': out of memory", cfg->path);
		return -ENOMEM;
	}
	bd->d = d;
	rc =
	    block_open_image(&bd->bk, cfg->path, cfg->qcow2 ? BLOCK_QCOW2 : BLOCK_RAW, cfg->backing,
			     cfg->readonly, cfg->direct, BLK_QUEUE_SIZE, err, errlen);
	if (rc < 0)
		goto fail_free;
	bd->capacity = bd->bk.size / BLK_SECTOR;
	if (bd->bk.size % BLK_SECTOR)
		pr_warn("disk '%s': size is not a multiple of 512; the guest won't see the last "
			"%u bytes",
			cfg->path, (unsigned)(bd->bk.size % BLK_SECTOR));
	/* Files (hole punching) and block devices (BLKDISCARD) both can; a failure on
	 * a particular file system is answered per request. */
	bd->can_dwz = !cfg->readonly;
	blk_set_id(bd, cfg, index);
	blk_build_config(bd);
	blk_pool_init(bd);
	rc = virtio_dev_watch(d, block_eventfd(&bd->bk), EPOLLIN, blk_event, bd);
	if (rc < 0) {
		snprintf(err, errlen, "disk '%s': cannot watch its completions: %s", cfg->path,
			 strerror(-rc));
		goto fail_close;
	}
	d->ops = &blk_ops;
	d->priv = bd;
	return 0;

fail_close:
	block_close(&bd->bk);
fail_free:
	free(bd);
	return rc;
}

/* ---- on the board: one device per --disk ---- */

static bool blk_wanted(const struct vm_config *cfg)
{
	for (unsigned i = 0; i < cfg->ndisks; i++)
		if (cfg->disks[i].bus == DISK_BUS_VIRTIO)
			return true;
	return false;
}

static int blk_make(struct virtio_dev *d, struct board *b, unsigned i, char *err, size_t errlen)
{
	return virtio_blk_init(d, &b->cfg->disks[i], i, err, errlen);
}

static int blk_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct virtio_set *set = calloc(1, sizeof(*set));
	int rc = set ? 0 : -ENOMEM;

	*state = set;
	for (unsigned i = 0; rc == 0 && i < b->cfg->ndisks; i++) {
		int bootindex = b->cfg->disks[i].bootindex;
		char path[BOOT_PATH_MAX];
		unsigned slot = 0;

		if (b->cfg->disks[i].bus != DISK_BUS_VIRTIO)
			continue; /* devices/nvme_pci.c's */
		rc = virtio_board_add(b, set, blk_make, i, &slot, err, errlen);
		if (rc == 0 && bootindex >= 0)
			rc = boot_ofw_virtio_blk(path, sizeof(path), slot, 0);
		if (rc == 0 && bootindex >= 0)
			rc = board_boot_order_add(b, bootindex, path, err, errlen);
	}
	return rc;
}

const struct device_model virtio_blk_device = {
    .name = "virtio-blk",
    .wanted = blk_wanted,
    .plug = blk_plug,
    .unplug = virtio_set_unplug,
};
