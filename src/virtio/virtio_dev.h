/* What a virtio device (blk, net, rng, console...) implements, and the services the
 * virtio-pci transport gives it. The transport owns the common configuration, feature
 * negotiation, the queues, notifications (ioeventfd) and interrupts (MSI-X through
 * irqfd). Each device has one I/O thread running an epoll loop: queue kicks, and any fd
 * the device watches, are handled there, with the device's lock held. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtq.h"
#include "kvm/guest_mem.h"

#define VIRTIO_MAX_QUEUES 16

/* Device status bits (virtio 1.2, 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	 1
#define VIRTIO_STATUS_DRIVER		 2
#define VIRTIO_STATUS_DRIVER_OK		 4
#define VIRTIO_STATUS_FEATURES_OK	 8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED		 128

/* Virtio device ids. */
#define VIRTIO_ID_NET	  1
#define VIRTIO_ID_BLOCK	  2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG	  4
#define VIRTIO_ID_INPUT	  18
#define VIRTIO_ID_FS	  26

struct virtio_dev;

struct virtio_dev_ops {
	const char *name;
	uint16_t device_id; /* VIRTIO_ID_* */
	uint32_t pci_class; /* class code: base << 16 | sub << 8 | prog-if */
	unsigned num_queues;
	uint16_t queue_size;  /* max entries offered per queue */
	uint32_t config_size; /* bytes of device-specific configuration */
	/* Device feature bits (the transport adds VERSION_1, EVENT_IDX, INDIRECT_DESC). */
	uint64_t (*features)(struct virtio_dev *d);
	/* Device configuration space; off + len <= config_size is checked by the caller. */
	void (*config_read)(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len);
	void (*config_write)(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t len);
	/* DRIVER_OK: features are final and the queues set up. Return 0 or -errno (the
	 * device is then marked DEVICE_NEEDS_RESET). */
	int (*activate)(struct virtio_dev *d);
	/* Driver reset (status 0): stop all I/O, forget in-flight requests. Must not wait
	 * for the guest. After it returns the device is as just created. */
	void (*reset)(struct virtio_dev *d);
	/* The driver kicked queue q (I/O thread). */
	void (*queue_notify)(struct virtio_dev *d, unsigned q);
	/* Frees the device's own state when the VM ends. */
	void (*destroy)(struct virtio_dev *d);
};

typedef void (*virtio_fd_cb)(struct virtio_dev *d, int fd, uint32_t events, void *arg);

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	void *priv; /* the device's own state */
	const struct guest_mem *gm;
	pthread_mutex_t lock; /* held around every ops call and fd callback */
	uint8_t status;
	uint64_t host_features, guest_features;
	uint8_t config_generation;
	struct virtq vq[VIRTIO_MAX_QUEUES];
	struct virtio_transport *transport; /* opaque to devices */
};

/* Services for devices (callable with d->lock held, from any thread). */
/* Raises the queue's interrupt if the driver wants one (EVENT_IDX aware). */
void virtio_dev_notify(struct virtio_dev *d, unsigned q);
/* The configuration space changed: bump the generation and raise the config interrupt. */
void virtio_dev_config_changed(struct virtio_dev *d);
/* The device cannot go on: set DEVICE_NEEDS_RESET and tell the driver. */
void virtio_dev_set_needs_reset(struct virtio_dev *d);
/* Watches fd (EPOLLIN/EPOLLOUT...) on the device's I/O thread; cb runs with d->lock held. */
int virtio_dev_watch(struct virtio_dev *d, int fd, uint32_t events, virtio_fd_cb cb, void *arg);
int virtio_dev_unwatch(struct virtio_dev *d, int fd);
/* Negotiated feature test. */
static inline bool virtio_has_feature(const struct virtio_dev *d, unsigned bit)
{
	return (d->guest_features >> bit) & 1;
}
