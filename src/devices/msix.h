/* MSI-X for a PCI device: the capability, the vector table and pending bits in a BAR,
 * and one KVM MSI route + irqfd per vector, so any thread can interrupt the guest with
 * one eventfd write. Masked vectors collect a pending bit, delivered on unmask. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/pci.h"
#include "kvm/irq.h"

#define MSIX_MAX_VECTORS 32
#define MSIX_NO_VECTOR	 0xFFFF

struct msix_vec {
	uint64_t addr;
	uint32_t data;
	uint32_t ctrl; /* bit 0: masked */
	int gsi, efd;
	bool pending;
};

struct msix {
	pthread_mutex_t lock;
	struct pci_dev *pdev;
	struct irq_routes *routes;
	unsigned cap; /* offset of the capability in config space */
	unsigned nvec;
	struct msix_vec v[MSIX_MAX_VECTORS];
};

/* Adds the capability to pdev (table at table_off, PBA at pba_off, both in BAR bar),
 * allocates routes and irqfds. Returns 0 or -errno. */
int msix_init(struct msix *m, struct pci_dev *pdev, struct irq_routes *routes, unsigned nvec,
	      unsigned bar, uint32_t table_off, uint32_t pba_off);
void msix_destroy(struct msix *m);
/* BAR accesses within the table / the PBA (off relative to their start). */
void msix_table_io(struct msix *m, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
void msix_pba_io(struct msix *m, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
/* The control word may have changed (config write hook). */
void msix_cfg_changed(struct msix *m);
bool msix_enabled(struct msix *m);
/* Signals vector vec (or records it pending). Returns false if MSI-X is disabled. */
bool msix_notify(struct msix *m, unsigned vec);
