/* virtio-rng (virtio 1.2, 5.4): one request queue; the device-writable part of every
 * chain the driver offers is filled from the host kernel's CSPRNG (getrandom). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/log.h"
#include "virtio/devices.h"
#include "devices/device.h"
#include "virtio/virtio_pci.h"

#define RNG_QUEUE_SIZE 256
/* Bytes given for one request at most: a driver asking for more gets a short answer
 * (allowed by 5.4.7.2), so one guest request cannot hold the I/O thread for long. */
#define RNG_MAX_REQUEST (64u << 10)

struct rng {
	struct virtq_chain chain; /* too large for the I/O thread's stack */
};

/* Fills buf with random bytes; returns how many (less than len only if getrandom
 * fails, which it does not for an initialised pool). */
static size_t fill_random(uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = getrandom(buf + done, len - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			pr_warn("virtio-rng: getrandom failed: %s", strerror(errno));
			break;
		}
		done += (size_t)n; /* large requests may return short */
	}
	return done;
}

static uint32_t rng_fill_chain(const struct virtq_chain *c)
{
	size_t total = 0;

	for (unsigned i = 0; i < c->nin && total < RNG_MAX_REQUEST; i++) {
		size_t want = c->in[i].iov_len;
		size_t got;

		if (want > RNG_MAX_REQUEST - total)
			want = RNG_MAX_REQUEST - total;
		got = fill_random(c->in[i].iov_base, want);
		total += got;
		if (got < want)
			break;
	}
	return (uint32_t)total;
}

static uint64_t rng_features(struct virtio_dev *d)
{
	(void)d;
	return 0;
}

static int rng_activate(struct virtio_dev *d)
{
	(void)d;
	return 0;
}

static void rng_reset(struct virtio_dev *d)
{
	(void)d; /* requests are answered as they are taken: nothing is in flight */
}

/* Kicks are never suppressed (virtq_pop keeps avail_event current with EVENT_IDX), so
 * an empty ring means the driver kicks again when it adds buffers. */
static void rng_queue_notify(struct virtio_dev *d, unsigned q)
{
	struct rng *r = d->priv;
	struct virtq *vq = &d->vq[0];
	bool pushed = false;
	int rc;

	if (q != 0)
		return;
	while ((rc = virtq_pop(vq, &r->chain)) > 0) {
		virtq_push(vq, r->chain.head, rng_fill_chain(&r->chain));
		pushed = true;
	}
	if (rc < 0)
		virtio_dev_set_needs_reset(d);
	if (pushed)
		virtio_dev_notify(d, 0);
}

static void rng_destroy(struct virtio_dev *d)
{
	free(d->priv);
	d->priv = NULL;
}

static const struct virtio_dev_ops rng_ops = {
    .name = "virtio-rng",
    .device_id = VIRTIO_ID_RNG,
    .pci_class = 0x00FF00, /* base 0x00, sub 0xFF: what QEMU's virtio-rng-pci reports */
    .num_queues = 1,
    .queue_size = RNG_QUEUE_SIZE,
    .config_size = 0,
    .features = rng_features,
    .activate = rng_activate,
    .reset = rng_reset,
    .queue_notify = rng_queue_notify,
    .destroy = rng_destroy,
};

int virtio_rng_init(struct virtio_dev *d, char *err, size_t errlen)
{
	struct rng *r = calloc(1, sizeof(*r));

	if (!r) {
		snprintf(err, errlen, "virtio-rng: out of memory");
		return -ENOMEM;
	}
	d->ops = &rng_ops;
	d->priv = r;
	return 0;
}

/* ---- on the board: --rng ---- */

static bool rng_wanted(const struct vm_config *cfg)
{
	return cfg->rng;
}

static int rng_make(struct virtio_dev *d, struct board *b, unsigned i, char *err, size_t errlen)
{
	(void)b;
	(void)i;
	return virtio_rng_init(d, err, errlen);
}

static int rng_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct virtio_set *set = calloc(1, sizeof(*set));

	*state = set;
	return set ? virtio_board_add(b, set, rng_make, 0, NULL, err, errlen) : -ENOMEM;
}

const struct device_model virtio_rng_device = {
    .name = "virtio-rng",
    .wanted = rng_wanted,
    .plug = rng_plug,
    .unplug = virtio_set_unplug,
};
