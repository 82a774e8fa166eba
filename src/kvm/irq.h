/* Interrupt routing on KVM's in-kernel irqchip: the PC's ISA and IOAPIC lines, and MSI
 * routes for PCI devices, each MSI route fed by an eventfd (irqfd) so a device thread
 * can interrupt the guest without going through a vCPU thread. */
#pragma once
#include <linux/kvm.h>
#include <pthread.h>
#include <stdint.h>

/* An interrupt line as devices see it: drives line irq (a GSI) to level (0 or 1); the machine
 * gives each device one, and its opaque. */
typedef void (*irq_set_fn)(void *opaque, unsigned irq, int level);

#define IRQ_MAX_ROUTES	  512
#define IRQ_FIRST_MSI_GSI 24
/* A vm_fd for routes kept without a VM (tests and fuzz targets that drive devices' MSI-X from
 * the guest's side): the table is kept as usual, committing it and binding irqfds do nothing
 * and succeed. A VM always has a real descriptor, so this never hides a failure there. */
#define IRQ_NO_VM (-1)

struct irq_routes {
	pthread_mutex_t lock;
	int vm_fd;
	uint32_t next_gsi;
	unsigned n;
	struct kvm_irq_routing_entry e[IRQ_MAX_ROUTES];
};

/* Installs the PC routes: ISA IRQ 0-15 to the PICs (but the cascade, 2) and GSI 0-23 to
 * the IOAPIC pins of the same number, except the PIT's IRQ 0 which goes to pin 2, as the
 * MADT's interrupt source override says. Returns 0 or -errno. */
int irq_routes_init(struct irq_routes *r, int vm_fd);
void irq_routes_destroy(struct irq_routes *r);
/* A new MSI route (initially address 0 / data 0, i.e. nothing): returns its GSI or -errno. */
int irq_msi_alloc(struct irq_routes *r);
/* Points an MSI route at (address, data) and commits the table. */
int irq_msi_set(struct irq_routes *r, uint32_t gsi, uint64_t addr, uint32_t data);
/* Binds (or unbinds) an eventfd to a GSI. */
int irq_irqfd(int vm_fd, int efd, uint32_t gsi, int assign);
