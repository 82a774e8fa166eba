/* The NVMe controller (nvme.h) as a PCI function on the machine: its disk opened on the block
 * backend, MSI-X through msix.c (one vector per queue pair, INTx as a fallback), and one I/O
 * thread under the device seccomp filter that takes commands when a doorbell rings and
 * finishes the backend's completions. */
#pragma once
#include <stddef.h>

#include "devices/pci.h"
#include "devices/serial.h" /* irq_set_fn */
#include "vmm/config.h"
#include "vmm/guest_mem.h"
#include "vmm/irq.h"

struct nvme_pci_env {
	int vm_fd;
	struct irq_routes *routes;
	const struct guest_mem *gm;
	irq_set_fn set_irq; /* INTx */
	void *irq_opaque;
	int seccomp_mode; /* enum seccomp_mode for the I/O thread */
	unsigned ncpus;	  /* I/O queue pairs offered: one per vCPU (nvme_init's bounds) */
};

struct nvme_pci;

/* Opens the disk, builds the controller and plugs it into bus, then starts its I/O thread.
 * index names the default serial ("phyllome-disk-N", as virtio-blk's). Returns the device,
 * or NULL with one line in err. */
struct nvme_pci *nvme_pci_create(const struct nvme_pci_env *env, const struct disk_config *cfg,
				 unsigned index, struct pci_bus *bus, char *err, size_t errlen);
/* The PCI slot it was plugged into. */
unsigned nvme_pci_slot(const struct nvme_pci *np);
/* Stops the thread, finishes in-flight I/O, closes the disk. */
void nvme_pci_free(struct nvme_pci *np);
