/* The virtio-pci modern transport (virtio 1.2, 4.1): a PCI function per device with the
 * common/notify/ISR/device/pci-cfg capabilities in BAR 0, MSI-X (INTx as a fallback),
 * kicks through ioeventfds, interrupts through irqfds, and one I/O thread per device. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "devices/pci.h"
#include "kvm/irq.h"
#include "virtio/virtio_dev.h"
#include "common/vm_config.h"

struct virtio_pci_env {
	int vm_fd;
	struct irq_routes *routes;
	const struct guest_mem *gm;
	irq_set_fn set_irq; /* INTx */
	void *irq_opaque;
	int seccomp_mode; /* enum seccomp_mode for the I/O thread */
	/* Tests and fuzz targets (with vm_fd IRQ_NO_VM: no KVM): no I/O thread; the caller runs
	 * its loop with virtio_pci_poll. */
	bool no_thread;
};

/* Allocates a transport; its device is returned through *dev for the device's init. */
struct virtio_transport *virtio_pci_alloc(const struct virtio_pci_env *env,
					  struct virtio_dev **dev);
/* After the device's init: builds the PCI function and plugs it into bus, then starts the
 * I/O thread. Returns 0 or -errno with a message. */
int virtio_pci_plug(struct virtio_transport *t, struct pci_bus *bus, char *err, size_t errlen);
/* The PCI slot the device was plugged into (after virtio_pci_plug). */
unsigned virtio_pci_slot(const struct virtio_transport *t);
/* Without an I/O thread (env.no_thread): handles the kicks and watched fds that are ready, on
 * the calling thread, as the I/O thread would; returns 0, or -1 if epoll failed. */
int virtio_pci_poll(struct virtio_transport *t);
/* The PCI function (for a test that drives it without a bus). */
struct pci_dev *virtio_pci_dev(struct virtio_transport *t);
/* Stops the thread, lets the device free its state, frees the transport. */
void virtio_pci_free(struct virtio_transport *t);

/* ---- on the board (devices/device.h) ---- */
struct board;

#define VIRTIO_SET_MAX VM_MAX_DISKS

/* The instances one board row made of one kind of virtio device (its state). */
struct virtio_set {
	unsigned n;
	struct virtio_transport *t[VIRTIO_SET_MAX];
	struct virtio_dev *dev[VIRTIO_SET_MAX];
};

/* Fills a new device for instance i of the row (the device's constructor, devices.h). */
typedef int (*virtio_init_fn)(struct virtio_dev *d, struct board *b, unsigned i, char *err,
			      size_t errlen);
/* Makes instance i: a transport on the board, init, then the PCI function on the board's bus,
 * whose slot goes to *slot (may be NULL). The set keeps it even when this fails
 * (virtio_set_unplug frees it). 0 or -errno. */
int virtio_board_add(struct board *b, struct virtio_set *set, virtio_init_fn init, unsigned i,
		     unsigned *slot, char *err, size_t errlen);
/* A row's unplug: frees every instance and the set. */
void virtio_set_unplug(void *state);
