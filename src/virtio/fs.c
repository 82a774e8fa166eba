/* virtio-fs (virtio 1.2, 5.11; --fs, docs/shared-folders.md): a hiprio queue and one request
 * queue carrying FUSE requests. The device copies each request out of the chain's readable
 * segments (checked by the virtqueue walker) into the buffer it shares with the folder's file
 * server (backends/fs_server.h: a process of its own that never sees guest memory), sends the
 * server a frame saying so, and copies the reply from that buffer into the chain's writable
 * segments, never more than they hold. One request at a time per device, on its I/O thread.
 * No DAX window. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/fs_server.h"
#include "backends/fuse_wire.h"
#include "common/log.h"
#include "devices/device.h"
#include "virtio/devices.h"
#include "virtio/virtio_pci.h"

/* Linux's virtiofs driver splits a request at the queue size less 4 pages: a 1 MiB READ or
 * WRITE (about 260 descriptors, one a page, in an indirect table) needs more than 128 entries,
 * and no chain may be longer than the queue (virtio 1.2, 2.7.5.3.1). */
#define FS_QUEUE_SIZE 1024
#define FS_NUM_QUEUES 2 /* hiprio (FORGET), then the one request queue */
#define FS_CFG_SIZE   (VM_FS_TAG_MAX + 4)

struct vfs {
	int sock;     /* the server's socket: main's, not closed here */
	uint8_t *shm; /* the buffer shared with the server (FS_SHM_SIZE): main's too */
	bool dead;
	uint8_t config[FS_CFG_SIZE];
	struct virtq_chain chain;
};

static uint64_t fs_features(struct virtio_dev *d)
{
	(void)d;
	return 0;
}

static void fs_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
	const struct vfs *f = d->priv;

	if (off > FS_CFG_SIZE || len > FS_CFG_SIZE - off) {
		memset(data, 0, len);
		return;
	}
	memcpy(data, f->config + off, len);
}

static void fs_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t len)
{
	(void)d, (void)off, (void)data, (void)len; /* read-only */
}

static int fs_activate(struct virtio_dev *d)
{
	(void)d;
	return 0;
}

static void fs_reset(struct virtio_dev *d)
{
	(void)d; /* requests are answered as they are taken: nothing is in flight */
}

/* A reply the device makes itself (a request it cannot forward, or a reply longer than the
 * guest's buffers): an error for the request's unique, or nothing when even that does not fit. */
static long local_error(const struct virtq_chain *c, const struct fuse_in_header *h, int err)
{
	struct fuse_out_header o = {.len = sizeof(o), .error = -err, .unique = h->unique};

	if (c->in_len < sizeof(o))
		return 0;
	return (long)iov_from_buf(c->in, c->nin, 0, &o, sizeof(o));
}

/* Answers one chain; returns the bytes written into it, or -errno when the server is gone. */
static long fs_handle_chain(struct vfs *f, const struct virtq_chain *c)
{
	size_t reply_max = c->in_len < FS_MAX_REPLY ? (size_t)c->in_len : FS_MAX_REPLY;
	struct fuse_in_header h;
	long n;

	if (c->out_len < sizeof(h))
		return 0; /* nothing to answer */
	iov_to_buf(c->out, c->nout, 0, &h, sizeof(h));
	if (c->out_len > FS_MAX_REQ)
		return local_error(c, &h, EINVAL);
	iov_to_buf(c->out, c->nout, 0, f->shm, (size_t)c->out_len);
	n = fs_call(f->sock, (size_t)c->out_len, reply_max);
	if (n == -EPROTO) /* the server said more than the guest holds: its reply is not given */
		return local_error(c, &h, EIO);
	if (n <= 0)
		return n;
	return (long)iov_from_buf(c->in, c->nin, 0, f->shm + FS_SHM_REPLY, (size_t)n);
}

static void fs_queue_notify(struct virtio_dev *d, unsigned q)
{
	struct vfs *f = d->priv;
	struct virtq *vq = &d->vq[q];
	bool pushed = false;
	int rc;

	if (q >= FS_NUM_QUEUES || f->dead)
		return;
	while ((rc = virtq_pop(vq, &f->chain)) > 0) {
		long n = fs_handle_chain(f, &f->chain);

		if (n < 0) {
			pr_err("virtio-fs: the file server is gone (%s): the share stops",
			       strerror((int)-n));
			f->dead = true;
			virtio_dev_set_needs_reset(d);
			return;
		}
		virtq_push(vq, f->chain.head, (uint32_t)n);
		pushed = true;
	}
	if (rc < 0)
		virtio_dev_set_needs_reset(d);
	if (pushed)
		virtio_dev_notify(d, q);
}

static void fs_destroy(struct virtio_dev *d)
{
	free(d->priv);
	d->priv = NULL;
}

static const struct virtio_dev_ops fs_ops = {
    .name = "virtio-fs",
    .device_id = VIRTIO_ID_FS,
    .pci_class = 0x018000, /* mass storage, other */
    .num_queues = FS_NUM_QUEUES,
    .queue_size = FS_QUEUE_SIZE,
    .config_size = FS_CFG_SIZE,
    .features = fs_features,
    .config_read = fs_config_read,
    .config_write = fs_config_write,
    .activate = fs_activate,
    .reset = fs_reset,
    .queue_notify = fs_queue_notify,
    .destroy = fs_destroy,
};

int virtio_fs_init(struct virtio_dev *d, const struct fs_config *cfg, char *err, size_t errlen)
{
	struct vfs *f;

	if (cfg->server_fd < 0 || !cfg->shm) {
		snprintf(err, errlen, "virtio-fs '%s': no file server", cfg->tag);
		return -EINVAL;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		snprintf(err, errlen, "virtio-fs '%s': out of memory", cfg->tag);
		return -ENOMEM;
	}
	f->sock = cfg->server_fd;
	f->shm = cfg->shm;
	/* tag: UTF-8, NUL-padded, not terminated when all 36 bytes are used. */
	memcpy(f->config, cfg->tag, strnlen(cfg->tag, VM_FS_TAG_MAX));
	f->config[VM_FS_TAG_MAX] = 1; /* num_request_queues, le32 */
	d->ops = &fs_ops;
	d->priv = f;
	return 0;
}

/* ---- on the board: one device per --fs ---- */

static bool fs_wanted(const struct vm_config *cfg)
{
	return cfg->nfs > 0;
}

static int fs_make(struct virtio_dev *d, struct board *b, unsigned i, char *err, size_t errlen)
{
	return virtio_fs_init(d, &b->cfg->fs[i], err, errlen);
}

static int fs_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct virtio_set *set = calloc(1, sizeof(*set));
	int rc = set ? 0 : -ENOMEM;

	*state = set;
	for (unsigned i = 0; rc == 0 && i < b->cfg->nfs; i++)
		rc = virtio_board_add(b, set, fs_make, i, NULL, err, errlen);
	return rc;
}

const struct device_model virtio_fs_device = {
    .name = "virtio-fs",
    .wanted = fs_wanted,
    .plug = fs_plug,
    .unplug = virtio_set_unplug,
};
