#include "devices/msix.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/log.h"

#define PCI_CAP_MSIX   0x11
#define CTRL_ENABLE    0x8000
#define CTRL_FUNC_MASK 0x4000
#define ENTRY_SIZE     16
#define VEC_MASKED     1u

int msix_init(struct msix *m, struct pci_dev *pdev, struct irq_routes *routes, unsigned nvec,
	      unsigned bar, uint32_t table_off, uint32_t pba_off)
{
	uint8_t body[10] = {0}, wmask[10] = {0};

	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->pdev = pdev;
	m->routes = routes;
	m->nvec = nvec;
	for (unsigned i = 0; i < MSIX_MAX_VECTORS; i++)
		m->v[i].efd = -1;
	if (nvec == 0 || nvec > MSIX_MAX_VECTORS)
		return -EINVAL;
	put_le16(body, (uint16_t)(nvec - 1));
	put_le16(wmask, CTRL_ENABLE | CTRL_FUNC_MASK);
	put_le32(body + 2, table_off | bar);
	put_le32(body + 6, pba_off | bar);
	m->cap = pci_dev_add_cap(pdev, PCI_CAP_MSIX, body, wmask, sizeof(body));
	if (!m->cap)
		return -ENOSPC;
	for (unsigned i = 0; i < nvec; i++) {
		struct msix_vec *v = &m->v[i];

		v->ctrl = VEC_MASKED;
		v->gsi = irq_msi_alloc(routes);
		v->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (v->gsi < 0 || v->efd < 0)
			return v->gsi < 0 ? v->gsi : -errno;
		if (irq_irqfd(routes->vm_fd, v->efd, (uint32_t)v->gsi, 1) < 0)
			return -errno;
	}
	return 0;
}

void msix_destroy(struct msix *m)
{
	for (unsigned i = 0; i < MSIX_MAX_VECTORS; i++) {
		if (m->v[i].efd < 0)
			continue;
		if (m->v[i].gsi >= 0)
			irq_irqfd(m->routes->vm_fd, m->v[i].efd, (uint32_t)m->v[i].gsi, 0);
		close(m->v[i].efd);
		m->v[i].efd = -1;
	}
	pthread_mutex_destroy(&m->lock);
}

static uint16_t control(const struct msix *m)
{
	return get_le16(m->pdev->cfg + m->cap + 2);
}

static void fire(struct msix_vec *v)
{
	uint64_t one = 1;

	if (write(v->efd, &one, sizeof(one)) < 0)
		pr_warn("MSI-X irqfd write: %s", strerror(errno));
}

/* Caller holds the lock: delivers what became unmasked. */
static void deliver_pending(struct msix *m)
{
	uint16_t c = control(m);

	if (!(c & CTRL_ENABLE) || (c & CTRL_FUNC_MASK))
		return;
	for (unsigned i = 0; i < m->nvec; i++) {
		if (m->v[i].pending && !(m->v[i].ctrl & VEC_MASKED)) {
			m->v[i].pending = false;
			fire(&m->v[i]);
		}
	}
}

void msix_table_io(struct msix *m, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	uint8_t e[ENTRY_SIZE];
	unsigned i = (unsigned)(off / ENTRY_SIZE), o = (unsigned)(off % ENTRY_SIZE);
	struct msix_vec *v;

	if (i >= m->nvec || o + len > ENTRY_SIZE) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	pthread_mutex_lock(&m->lock);
	v = &m->v[i];
	put_le64(e, v->addr);
	put_le32(e + 8, v->data);
	put_le32(e + 12, v->ctrl);
	if (!is_write) {
		memcpy(data, e + o, len);
		pthread_mutex_unlock(&m->lock);
		return;
	}
	memcpy(e + o, data, len);
	v->addr = get_le64(e);
	v->data = get_le32(e + 8);
	v->ctrl = get_le32(e + 12) & VEC_MASKED;
	if (o < 12 && irq_msi_set(m->routes, (uint32_t)v->gsi, v->addr, v->data) < 0)
		pr_warn_limited("MSI-X vector %u: cannot update its KVM route", i);
	deliver_pending(m);
	pthread_mutex_unlock(&m->lock);
}

void msix_pba_io(struct msix *m, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	uint64_t bits = 0;

	if (is_write)
		return; /* read-only */
	pthread_mutex_lock(&m->lock);
	for (unsigned i = 0; i < m->nvec; i++)
		bits |= (uint64_t)m->v[i].pending << i;
	pthread_mutex_unlock(&m->lock);
	for (uint32_t k = 0; k < len; k++)
		data[k] = off + k < 8 ? (uint8_t)(bits >> (8 * (off + k))) : 0;
}

void msix_cfg_changed(struct msix *m)
{
	pthread_mutex_lock(&m->lock);
	deliver_pending(m);
	pthread_mutex_unlock(&m->lock);
}

bool msix_enabled(struct msix *m)
{
	return m->cap && (control(m) & CTRL_ENABLE);
}

bool msix_notify(struct msix *m, unsigned vec)
{
	uint16_t c;

	pthread_mutex_lock(&m->lock);
	c = control(m);
	if (!(c & CTRL_ENABLE)) {
		pthread_mutex_unlock(&m->lock);
		return false;
	}
	if (vec < m->nvec) {
		struct msix_vec *v = &m->v[vec];

		if ((c & CTRL_FUNC_MASK) || (v->ctrl & VEC_MASKED))
			v->pending = true;
		else
			fire(v);
	}
	pthread_mutex_unlock(&m->lock);
	return true;
}
