#include "kvm/irq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

static void add_chip(struct irq_routes *r, uint32_t gsi, uint32_t chip, uint32_t pin)
{
	struct kvm_irq_routing_entry *e = &r->e[r->n++];

	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

/* Caller holds r->lock. KVM replaces its whole table with ours. */
static int commit(struct irq_routes *r)
{
	size_t sz = sizeof(struct kvm_irq_routing) + r->n * sizeof(struct kvm_irq_routing_entry);
	struct kvm_irq_routing *t;
	int rc = 0;

	if (r->vm_fd == IRQ_NO_VM)
		return 0;
	t = calloc(1, sz);
	if (!t)
		return -ENOMEM;
	t->nr = r->n;
	memcpy(t->entries, r->e, r->n * sizeof(r->e[0]));
	if (ioctl(r->vm_fd, KVM_SET_GSI_ROUTING, t) < 0)
		rc = -errno;
	free(t);
	return rc;
}

int irq_routes_init(struct irq_routes *r, int vm_fd)
{
	int rc;

	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->vm_fd = vm_fd;
	r->next_gsi = IRQ_FIRST_MSI_GSI;
	for (uint32_t i = 0; i < 16; i++)
		if (i != 2)
			add_chip(r, i, i < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
				 i % 8);
	for (uint32_t i = 0; i < 24; i++)
		if (i != 2)
			add_chip(r, i, KVM_IRQCHIP_IOAPIC, i == 0 ? 2 : i);
	pthread_mutex_lock(&r->lock);
	rc = commit(r);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

void irq_routes_destroy(struct irq_routes *r)
{
	pthread_mutex_destroy(&r->lock);
}

int irq_msi_alloc(struct irq_routes *r)
{
	struct kvm_irq_routing_entry *e;
	int gsi;

	pthread_mutex_lock(&r->lock);
	if (r->n == IRQ_MAX_ROUTES) {
		pthread_mutex_unlock(&r->lock);
		return -ENOSPC;
	}
	e = &r->e[r->n++];
	memset(e, 0, sizeof(*e));
	gsi = (int)r->next_gsi++;
	e->gsi = (uint32_t)gsi;
	e->type = KVM_IRQ_ROUTING_MSI;
	pthread_mutex_unlock(&r->lock);
	return gsi;
}

int irq_msi_set(struct irq_routes *r, uint32_t gsi, uint64_t addr, uint32_t data)
{
	int rc = -ENOENT;

	pthread_mutex_lock(&r->lock);
	for (unsigned i = 0; i < r->n; i++) {
		struct kvm_irq_routing_entry *e = &r->e[i];

		if (e->gsi != gsi || e->type != KVM_IRQ_ROUTING_MSI)
			continue;
		if (e->u.msi.address_lo == (uint32_t)addr &&
		    e->u.msi.address_hi == (uint32_t)(addr >> 32) && e->u.msi.data == data) {
			rc = 0; /* unchanged: spare KVM a table rebuild */
			break;
		}
		e->u.msi.address_lo = (uint32_t)addr;
		e->u.msi.address_hi = (uint32_t)(addr >> 32);
		e->u.msi.data = data;
		rc = commit(r);
		break;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

int irq_irqfd(int vm_fd, int efd, uint32_t gsi, int assign)
{
	struct kvm_irqfd f = {.fd = (uint32_t)efd, .gsi = gsi};

	if (vm_fd == IRQ_NO_VM)
		return 0;
	if (!assign)
		f.flags = KVM_IRQFD_FLAG_DEASSIGN;
	return ioctl(vm_fd, KVM_IRQFD, &f) < 0 ? -errno : 0;
}
