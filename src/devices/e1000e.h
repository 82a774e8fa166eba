/* An Intel 82574L Gigabit Ethernet controller (e1000e, PCI 8086:10d3): the network card
 * Windows, Linux, the BSDs and UEFI firmware drive with the drivers they ship. It sits on the
 * same tap and passt backends as virtio-net (backends/netdev.h); its own I/O thread moves
 * the frames, the vCPU threads only touch registers. See docs/architecture.md. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "common/vm_config.h"
#include "devices/device.h"
#include "kvm/guest_mem.h"
#include "kvm/irq.h"

struct e1000e;
struct pci_dev;

struct e1000e_env {
	struct irq_routes *routes; /* MSI-X vectors (NULL: no MSI-X, e.g. tests) */
	const struct guest_mem *gm;
	void (*set_irq)(void *opaque, unsigned gsi, int level);	      /* INTx */
	void (*send_msi)(void *opaque, uint64_t addr, uint32_t data); /* MSI */
	void *irq_opaque;
	int seccomp_mode; /* enum seccomp_mode for the I/O thread */
	int vm_fd;	  /* its KVM requests are bound to it (-1: any descriptor) */
};

/* Opens the backend of cfg and builds the PCI function (not yet on a bus). Returns 0 or
 * -errno with a message in err. */
int e1000e_create(struct e1000e **out, const struct e1000e_env *env, const struct net_config *cfg,
		  unsigned index, char *err, size_t errlen);
/* The PCI function, for pci_bus_add. */
struct pci_dev *e1000e_pci(struct e1000e *e);
/* Starts the I/O thread. Returns 0 or -errno with a message. */
int e1000e_start(struct e1000e *e, char *err, size_t errlen);
/* One round of the I/O thread's work, run by the caller (tests and fuzzing, no thread). */
void e1000e_poll(struct e1000e *e);
/* Stops the thread, closes the backend, frees everything (NULL is fine). */
void e1000e_free(struct e1000e *e);

/* The board's row: one NIC per --net ...,model=e1000e. */
extern const struct device_model e1000e_device;
