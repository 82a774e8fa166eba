#include "virtio/virtio_pci.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/log.h"
#include "devices/msix.h"
#include "kvm/seccomp.h"
#include "devices/device.h"

/* BAR 0 layout. */
#define BAR_SIZE     0x8000u
#define OFF_COMMON   0x0000u
#define OFF_ISR	     0x1000u
#define OFF_DEVICE   0x2000u
#define OFF_NOTIFY   0x3000u
#define OFF_MSIX_TAB 0x4000u
#define OFF_MSIX_PBA 0x5000u
#define NOTIFY_MULT  4u
#define COMMON_LEN   0x3Cu

#define CAP_VENDOR  0x09
#define CFG_COMMON  1
#define CFG_NOTIFY  2
#define CFG_ISR	    3
#define CFG_DEVICE  4
#define CFG_PCI_CFG 5

#define MAX_WATCH 8

struct watch {
	int fd;
	virtio_fd_cb cb;
	void *arg;
};

struct virtio_transport {
	struct virtio_dev dev;
	struct pci_dev pci;
	struct msix msix;
	struct virtio_pci_env env;
	uint32_t dfselect, gfselect;
	uint16_t queue_sel, msix_config;
	uint16_t queue_msix[VIRTIO_MAX_QUEUES];
	int kick_fd[VIRTIO_MAX_QUEUES];
	uint64_t notify_base; /* guest address of the notify area while decoded */
	uint8_t isr;
	int intx_level;
	unsigned pci_cfg_cap;
	int epfd, stop_fd;
	pthread_t thread;
	bool running;
	struct watch watches[MAX_WATCH];
};

unsigned virtio_pci_slot(const struct virtio_transport *t)
{
	return t->pci.slot;
}

static struct virtio_transport *of_dev(struct virtio_dev *d)
{
	return d->transport;
}

/* ---- interrupts ---------------------------------------------------------------------- */

static void intx_update(struct virtio_transport *t)
{
	int level = t->isr != 0;

	if (level != t->intx_level && t->env.set_irq)
		t->env.set_irq(t->env.irq_opaque, PCI_INTX_GSI0 + (t->pci.slot + 0) % 4, level);
	t->intx_level = level;
}

static void interrupt_guest(struct virtio_transport *t, uint16_t vector, uint8_t isr_bit)
{
	if (msix_enabled(&t->msix)) {
		if (vector != MSIX_NO_VECTOR)
			msix_notify(&t->msix, vector);
		return;
	}
	t->isr |= isr_bit;
	intx_update(t);
}

void virtio_dev_notify(struct virtio_dev *d, unsigned q)
{
	struct virtio_transport *t = of_dev(d);

	if (q < d->ops->num_queues && virtq_should_notify(&d->vq[q]))
		interrupt_guest(t, t->queue_msix[q], 1);
}

void virtio_dev_config_changed(struct virtio_dev *d)
{
	struct virtio_transport *t = of_dev(d);

	d->config_generation++;
	interrupt_guest(t, t->msix_config, 2);
}

void virtio_dev_set_needs_reset(struct virtio_dev *d)
{
	if (d->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;
	pr_warn_limited("%s: the guest's driver broke the device's rules; it needs a reset",
			d->ops->name);
	d->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	if (d->status & VIRTIO_STATUS_DRIVER_OK)
		virtio_dev_config_changed(d);
}

/* ---- the I/O thread --------------------------------------------------------------------- */

int virtio_dev_watch(struct virtio_dev *d, int fd, uint32_t events, virtio_fd_cb cb, void *arg)
{
	struct virtio_transport *t = of_dev(d);
	struct epoll_event ev = {.events = events};
	int slot = -1;

	for (int i = 0; i < MAX_WATCH; i++) {
		if (t->watches[i].cb && t->watches[i].fd == fd) {
			slot = i; /* already watched: change the events */
			break;
		}
		if (!t->watches[i].cb && slot < 0)
			slot = i;
	}
	if (slot < 0)
		return -ENOSPC;
	ev.data.u64 = VIRTIO_MAX_QUEUES + (uint64_t)slot;
	if (epoll_ctl(t->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 &&
	    (errno != ENOENT || epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0))
		return -errno;
	t->watches[slot] = (struct watch){fd, cb, arg};
	return 0;
}

int virtio_dev_unwatch(struct virtio_dev *d, int fd)
{
	struct virtio_transport *t = of_dev(d);

	for (int i = 0; i < MAX_WATCH; i++) {
		if (t->watches[i].cb && t->watches[i].fd == fd) {
			epoll_ctl(t->epfd, EPOLL_CTL_DEL, fd, NULL);
			t->watches[i].cb = NULL;
			return 0;
		}
	}
	return -ENOENT;
}

static void handle_kick(struct virtio_transport *t, unsigned q)
{
	struct virtio_dev *d = &t->dev;
	uint64_t n;

	if (read(t->kick_fd[q], &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&d->lock);
	if ((d->status & VIRTIO_STATUS_DRIVER_OK) &&
	    !(d->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) && d->vq[q].ready &&
	    d->ops->queue_notify)
		d->ops->queue_notify(d, q);
	pthread_mutex_unlock(&d->lock);
}

static void handle_watch(struct virtio_transport *t, unsigned slot, uint32_t events)
{
	struct virtio_dev *d = &t->dev;

	pthread_mutex_lock(&d->lock);
	/* The callback may have been removed by an earlier event in this batch. */
	if (slot < MAX_WATCH && t->watches[slot].cb)
		t->watches[slot].cb(d, t->watches[slot].fd, events, t->watches[slot].arg);
	pthread_mutex_unlock(&d->lock);
}

/* One turn of the I/O thread's loop: waits up to timeout ms, handles what came. Returns 1 when
 * the stop eventfd fired, -1 when epoll failed, 0 otherwise. */
static int io_turn(struct virtio_transport *t, int timeout)
{
	struct epoll_event ev[16];
	int n = epoll_wait(t->epfd, ev, 16, timeout);

	for (int i = 0; i < n; i++) {
		uint64_t tag = ev[i].data.u64;

		if (tag == UINT64_MAX)
			return 1;
		if (tag < VIRTIO_MAX_QUEUES)
			handle_kick(t, (unsigned)tag);
		else
			handle_watch(t, (unsigned)(tag - VIRTIO_MAX_QUEUES), ev[i].events);
	}
	return n < 0 && errno != EINTR ? -1 : 0;
}

static void *io_thread(void *arg)
{
	struct virtio_transport *t = arg;

	if (seccomp_install_bound(SECCOMP_VIRTIO, (enum seccomp_mode)t->env.seccomp_mode,
				  &(struct seccomp_fds){.vm = t->env.vm_fd, .vcpu = -1}) < 0) {
		pr_err("%s: cannot install the I/O thread's seccomp filter: the device stops",
		       t->dev.ops->name);
		return NULL;
	}
	while (io_turn(t, -1) == 0)
		;
	return NULL;
}

int virtio_pci_poll(struct virtio_transport *t)
{
	int rc = 0;

	for (int turns = 0; turns < 64 && rc == 0; turns++) {
		struct epoll_event ev;

		if (epoll_wait(t->epfd, &ev, 1, 0) != 1)
			return 0;
		rc = io_turn(t, 0);
	}
	return rc < 0 ? -1 : 0;
}

struct pci_dev *virtio_pci_dev(struct virtio_transport *t)
{
	return &t->pci;
}

/* ---- ioeventfds: kicks never go through a vCPU thread ------------------------------------ */

static void ioeventfds(struct virtio_transport *t, uint64_t base, bool assign)
{
	if (t->env.vm_fd == IRQ_NO_VM)
		return; /* no VM: notifies reach the BAR (kick) */
	for (unsigned q = 0; q < t->dev.ops->num_queues; q++) {
		struct kvm_ioeventfd io = {
		    .addr = base + OFF_NOTIFY + q * NOTIFY_MULT,
		    .len = 2,
		    .fd = t->kick_fd[q],
		    .flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
		};

		if (ioctl(t->env.vm_fd, KVM_IOEVENTFD, &io) < 0)
			pr_warn("%s: ioeventfd for queue %u: %s", t->dev.ops->name, q,
				strerror(errno));
	}
}

static void bar_remap(struct pci_dev *p, unsigned bar, uint64_t addr)
{
	struct virtio_transport *t = p->opaque;

	if (bar != 0)
		return;
	if (t->notify_base)
		ioeventfds(t, t->notify_base, false);
	t->notify_base = addr;
	if (addr)
		ioeventfds(t, addr, true);
}

/* ---- common configuration ------------------------------------------------------------ */

static uint64_t offered_features(struct virtio_dev *d)
{
	uint64_t f = d->ops->features ? d->ops->features(d) : 0;

	return f | 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_EVENT_IDX |
	       1ull << VIRTIO_F_INDIRECT_DESC;
}

static void device_reset(struct virtio_transport *t)
{
	struct virtio_dev *d = &t->dev;

	if (d->ops->reset)
		d->ops->reset(d);
	d->status = 0;
	d->guest_features = 0;
	t->dfselect = t->gfselect = 0;
	t->queue_sel = 0;
	t->msix_config = MSIX_NO_VECTOR;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		virtq_reset(&d->vq[q]);
		d->vq[q].size = d->ops->queue_size;
		t->queue_msix[q] = MSIX_NO_VECTOR;
	}
	t->isr = 0;
	intx_update(t);
}

static void driver_ok(struct virtio_transport *t)
{
	struct virtio_dev *d = &t->dev;

	for (unsigned q = 0; q < d->ops->num_queues; q++) {
		d->vq[q].event_idx = virtio_has_feature(d, VIRTIO_F_EVENT_IDX);
		d->vq[q].indirect = virtio_has_feature(d, VIRTIO_F_INDIRECT_DESC);
	}
	if (d->ops->activate && d->ops->activate(d) < 0)
		virtio_dev_set_needs_reset(d);
}

static void write_status(struct virtio_transport *t, uint8_t v)
{
	struct virtio_dev *d = &t->dev;
	uint8_t old = d->status;

	if (v == 0) {
		device_reset(t);
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		/* Refuse (by not keeping FEATURES_OK) what we did not offer, and legacy. */
		if ((d->guest_features & ~d->host_features) ||
		    !virtio_has_feature(d, VIRTIO_F_VERSION_1))
			v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	}
	d->status = (uint8_t)(v | (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET));
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK))
		driver_ok(t);
}

/* The common configuration as bytes, so accesses of any width work the same way. */
static void common_image(struct virtio_transport *t, uint8_t *c)
{
	struct virtio_dev *d = &t->dev;
	unsigned q = t->queue_sel;
	const struct virtq *vq = q < d->ops->num_queues ? &d->vq[q] : NULL;

	memset(c, 0, COMMON_LEN);
	put_le32(c + 0x00, t->dfselect);
	put_le32(c + 0x04,
		 t->dfselect < 2 ? (uint32_t)(d->host_features >> (32 * t->dfselect)) : 0);
	put_le32(c + 0x08, t->gfselect);
	put_le32(c + 0x0C,
		 t->gfselect < 2 ? (uint32_t)(d->guest_features >> (32 * t->gfselect)) : 0);
	put_le16(c + 0x10, t->msix_config);
	put_le16(c + 0x12, (uint16_t)d->ops->num_queues);
	c[0x14] = d->status;
	c[0x15] = d->config_generation;
	put_le16(c + 0x16, t->queue_sel);
	if (!vq)
		return; /* a queue that does not exist reads as size 0 */
	put_le16(c + 0x18, vq->size);
	put_le16(c + 0x1A, t->queue_msix[q]);
	put_le16(c + 0x1C, vq->ready);
	put_le16(c + 0x1E, (uint16_t)q);
	put_le64(c + 0x20, vq->desc_gpa);
	put_le64(c + 0x28, vq->avail_gpa);
	put_le64(c + 0x30, vq->used_gpa);
}

static void queue_writes(struct virtio_transport *t, const uint8_t *c, uint32_t off, uint32_t len)
{
	struct virtio_dev *d = &t->dev;
	unsigned q = t->queue_sel;
	struct virtq *vq;
	uint16_t size;

	if (q >= d->ops->num_queues)
		return;
	vq = &d->vq[q];
	if (off < 0x1C && off + len > 0x1A) {
		uint16_t v = get_le16(c + 0x1A);

		t->queue_msix[q] = v < t->msix.nvec ? v : MSIX_NO_VECTOR;
	}
	if (vq->ready)
		return; /* the driver must not change an enabled queue */
	size = get_le16(c + 0x18);
	if (off < 0x1A && off + len > 0x18 && size && size <= d->ops->queue_size &&
	    !(size & (size - 1)))
		vq->size = size;
	vq->desc_gpa = get_le64(c + 0x20);
	vq->avail_gpa = get_le64(c + 0x28);
	vq->used_gpa = get_le64(c + 0x30);
	if (off < 0x1E && off + len > 0x1C && get_le16(c + 0x1C) == 1 && virtq_enable(vq) < 0)
		virtio_dev_set_needs_reset(d);
}

static void common_io(struct virtio_transport *t, uint32_t off, uint8_t *data, uint32_t len,
		      bool is_write)
{
	struct virtio_dev *d = &t->dev;
	uint8_t c[COMMON_LEN];

	common_image(t, c);
	if (!is_write) {
		memcpy(data, c + off, len);
		return;
	}
	memcpy(c + off, data, len);
	if (off < 0x04)
		t->dfselect = get_le32(c);
	else if (off >= 0x08 && off < 0x0C)
		t->gfselect = get_le32(c + 0x08);
	else if (off >= 0x0C && off < 0x10 && t->gfselect < 2 &&
		 !(d->status & VIRTIO_STATUS_FEATURES_OK)) {
		uint64_t mask = 0xFFFFFFFFull << (32 * t->gfselect);

		d->guest_features = (d->guest_features & ~mask) |
				    ((uint64_t)get_le32(c + 0x0C) << (32 * t->gfselect));
	} else if (off >= 0x10 && off < 0x12) {
		uint16_t v = get_le16(c + 0x10);

		t->msix_config = v < t->msix.nvec ? v : MSIX_NO_VECTOR;
	} else if (off == 0x14) {
		write_status(t, c[0x14]);
	} else if (off >= 0x16 && off < 0x18) {
		t->queue_sel = get_le16(c + 0x16);
	} else if (off >= 0x18) {
		queue_writes(t, c, off, len);
	}
}

/* ---- BAR 0 -------------------------------------------------------------------------------- */

static void device_cfg_io(struct virtio_transport *t, uint32_t off, uint8_t *data, uint32_t len,
			  bool is_write)
{
	struct virtio_dev *d = &t->dev;

	if (off + len > d->ops->config_size) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (!is_write && d->ops->config_read)
		d->ops->config_read(d, off, data, len);
	else if (is_write && d->ops->config_write)
		d->ops->config_write(d, off, data, len);
}

static void kick(struct virtio_transport *t, unsigned q)
{
	uint64_t one = 1;

	/* A notify KVM did not catch with the ioeventfd (another access width). */
	if (q < t->dev.ops->num_queues && write(t->kick_fd[q], &one, sizeof(one)) < 0)
		pr_warn("%s: kick: %s", t->dev.ops->name, strerror(errno));
}

static void bar0_io(struct virtio_transport *t, uint64_t off, uint8_t *data, uint32_t len,
		    bool is_write)
{
	struct virtio_dev *d = &t->dev;

	if (off >= OFF_MSIX_PBA) {
		msix_pba_io(&t->msix, off - OFF_MSIX_PBA, data, len, is_write);
		return;
	}
	if (off >= OFF_MSIX_TAB) {
		msix_table_io(&t->msix, off - OFF_MSIX_TAB, data, len, is_write);
		return;
	}
	if (off >= OFF_NOTIFY) {
		if (is_write)
			kick(t, (unsigned)((off - OFF_NOTIFY) / NOTIFY_MULT));
		else
			memset(data, 0, len);
		return;
	}
	pthread_mutex_lock(&d->lock);
	if (off < OFF_COMMON + COMMON_LEN && off + len <= COMMON_LEN) {
		common_io(t, (uint32_t)off, data, len, is_write);
	} else if (off == OFF_ISR && !is_write) {
		data[0] = t->isr; /* reading the ISR acknowledges the interrupt */
		memset(data + 1, 0, len - 1);
		t->isr = 0;
		intx_update(t);
	} else if (off >= OFF_DEVICE && off < OFF_NOTIFY) {
		device_cfg_io(t, (uint32_t)(off - OFF_DEVICE), data, len, is_write);
	} else if (!is_write) {
		memset(data, 0, len);
	}
	pthread_mutex_unlock(&d->lock);
}

static void pci_bar_io(struct pci_dev *p, unsigned bar, uint64_t off, uint8_t *data, uint32_t len,
		       bool is_write)
{
	if (bar == 0)
		bar0_io(p->opaque, off, data, len, is_write);
	else if (!is_write)
		memset(data, 0xFF, len);
}

/* VIRTIO_PCI_CAP_PCI_CFG: a window on BAR 0 through configuration space (firmware uses it
 * before BARs are mapped). Caller holds the bus lock. */
static void pci_cfg_window(struct virtio_transport *t, uint32_t off, uint32_t len, bool is_write)
{
	uint8_t *cap = t->pci.cfg + t->pci_cfg_cap;
	uint32_t data_off = t->pci_cfg_cap + 16;
	uint32_t boff = get_le32(cap + 8), blen = get_le32(cap + 12);

	if (off + len <= data_off || off >= data_off + 4 || cap[4] != 0)
		return;
	if ((blen != 1 && blen != 2 && blen != 4) || boff % blen || boff >= BAR_SIZE)
		return;
	bar0_io(t, boff, cap + 16, blen, is_write);
}

static void pci_cfg_write(struct pci_dev *p, uint32_t off, uint32_t len)
{
	struct virtio_transport *t = p->opaque;

	if (off < t->msix.cap + 4 && off + len > t->msix.cap + 2)
		msix_cfg_changed(&t->msix);
	pci_cfg_window(t, off, len, true);
}

static void pci_cfg_read(struct pci_dev *p, uint32_t off, uint32_t len)
{
	pci_cfg_window(p->opaque, off, len, false);
}

static const struct pci_dev_ops virtio_pci_ops = {
    .bar_io = pci_bar_io,
    .cfg_write = pci_cfg_write,
    .cfg_read = pci_cfg_read,
    .bar_remap = bar_remap,
};

/* ---- building the PCI function --------------------------------------------------------- */

static unsigned add_vcap(struct pci_dev *p, uint8_t type, uint32_t off, uint32_t len,
			 const uint8_t *extra, unsigned extra_len, const uint8_t *wmask)
{
	uint8_t body[18] = {0};

	body[0] = (uint8_t)(16 + extra_len); /* cap_len, counting the id and next bytes */
	body[1] = type;
	body[2] = 0; /* BAR 0 */
	put_le32(body + 6, off);
	put_le32(body + 10, len);
	if (extra_len)
		memcpy(body + 14, extra, extra_len);
	return pci_dev_add_cap(p, CAP_VENDOR, body, wmask, 14 + extra_len);
}

static int build_pci(struct virtio_transport *t)
{
	const struct virtio_dev_ops *o = t->dev.ops;
	struct pci_dev *p = &t->pci;
	uint8_t mult[4], cfg_wmask[18] = {0};

	pci_dev_init(p, 0x1AF4, (uint16_t)(0x1040 + o->device_id), o->pci_class, 1, 0x1AF4,
		     (uint16_t)(0x1040 + o->device_id));
	p->ops = &virtio_pci_ops;
	p->opaque = t;
	pci_dev_set_bar(p, 0, PCI_BAR_MEM32, BAR_SIZE);
	put_le32(mult, NOTIFY_MULT);
	/* pci_cfg: bar, offset, length and the data window are the driver's to write. */
	memset(cfg_wmask + 2, 0xFF, 1);
	memset(cfg_wmask + 6, 0xFF, 12);
	t->pci_cfg_cap = add_vcap(p, CFG_PCI_CFG, 0, 0, (const uint8_t[4]){0}, 4, cfg_wmask);
	if (!t->pci_cfg_cap ||
	    !add_vcap(p, CFG_DEVICE, OFF_DEVICE, o->config_size ? o->config_size : 4, NULL, 0,
		      NULL) ||
	    !add_vcap(p, CFG_ISR, OFF_ISR, 1, NULL, 0, NULL) ||
	    !add_vcap(p, CFG_NOTIFY, OFF_NOTIFY, NOTIFY_MULT * o->num_queues, mult, 4, NULL) ||
	    !add_vcap(p, CFG_COMMON, OFF_COMMON, COMMON_LEN, NULL, 0, NULL))
		return -ENOSPC;
	return msix_init(&t->msix, p, t->env.routes, o->num_queues + 1, 0, OFF_MSIX_TAB,
			 OFF_MSIX_PBA);
}

struct virtio_transport *virtio_pci_alloc(const struct virtio_pci_env *env, struct virtio_dev **dev)
{
	struct virtio_transport *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->env = *env;
	t->stop_fd = -1;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		t->kick_fd[q] = -1;
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epfd < 0) {
		free(t);
		return NULL;
	}
	pthread_mutex_init(&t->dev.lock, NULL);
	t->dev.gm = env->gm;
	t->dev.transport = t;
	for (unsigned i = 0; i < MSIX_MAX_VECTORS; i++)
		t->msix.v[i].efd = -1;
	*dev = &t->dev;
	return t;
}

static int add_fd(struct virtio_transport *t, int fd, uint64_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};

	return epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int setup_queues(struct virtio_transport *t)
{
	struct virtio_dev *d = &t->dev;

	if (d->ops->num_queues == 0 || d->ops->num_queues > VIRTIO_MAX_QUEUES)
		return -EINVAL;
	for (unsigned q = 0; q < d->ops->num_queues; q++) {
		d->vq[q].gm = d->gm;
		t->kick_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->kick_fd[q] < 0 || add_fd(t, t->kick_fd[q], q) < 0)
			return -errno;
	}
	t->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return t->stop_fd < 0 ? -errno : add_fd(t, t->stop_fd, UINT64_MAX);
}

int virtio_pci_plug(struct virtio_transport *t, struct pci_bus *bus, char *err, size_t errlen)
{
	struct virtio_dev *d = &t->dev;
	char name[16];
	int rc;

	d->host_features = offered_features(d);
	rc = setup_queues(t);
	if (rc == 0)
		rc = build_pci(t);
	if (rc < 0) {
		snprintf(err, errlen, "%s: virtio-pci set-up failed: %s", d->ops->name,
			 strerror(-rc));
		return rc;
	}
	device_reset(t);
	if (pci_bus_add(bus, &t->pci) < 0) {
		snprintf(err, errlen, "%s: no room left on the PCI bus", d->ops->name);
		return -ENOSPC;
	}
	if (t->env.no_thread)
		return 0; /* the caller turns the loop (virtio_pci_poll) */
	rc = pthread_create(&t->thread, NULL, io_thread, t);
	if (rc) {
		snprintf(err, errlen, "%s: cannot start its I/O thread", d->ops->name);
		return -rc;
	}
	snprintf(name, sizeof(name), "virtio-%s", d->ops->name);
	pthread_setname_np(t->thread, name);
	t->running = true;
	return 0;
}

void virtio_pci_free(struct virtio_transport *t)
{
	uint64_t one = 1;

	if (!t)
		return;
	if (t->running) {
		if (write(t->stop_fd, &one, sizeof(one)) < 0)
			pr_warn("cannot stop a virtio I/O thread");
		pthread_join(t->thread, NULL);
	}
	if (t->notify_base)
		ioeventfds(t, t->notify_base, false);
	if (t->dev.ops && t->dev.ops->destroy)
		t->dev.ops->destroy(&t->dev);
	msix_destroy(&t->msix);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (t->kick_fd[q] >= 0)
			close(t->kick_fd[q]);
	if (t->stop_fd >= 0)
		close(t->stop_fd);
	close(t->epfd);
	pthread_mutex_destroy(&t->dev.lock);
	free(t);
}

/* ---- on the board ---- */

int virtio_board_add(struct board *b, struct virtio_set *set, virtio_init_fn init, unsigned i,
		     unsigned *slot, char *err, size_t errlen)
{
	struct virtio_pci_env env = {.vm_fd = b->vm_fd,
				     .routes = b->routes,
				     .gm = b->mem,
				     .set_irq = b->set_irq,
				     .irq_opaque = b->opaque,
				     .seccomp_mode = (int)b->cfg->seccomp};
	struct virtio_dev *d;
	struct virtio_transport *t;
	int rc;

	if (set->n >= VIRTIO_SET_MAX)
		return -ENOSPC;
	t = virtio_pci_alloc(&env, &d);
	if (!t)
		return -ENOMEM;
	set->t[set->n] = t;
	set->dev[set->n++] = d;
	rc = init(d, b, i, err, errlen);
	if (rc == 0)
		rc = virtio_pci_plug(t, b->pci, err, errlen);
	if (rc == 0 && slot)
		*slot = virtio_pci_slot(t);
	return rc;
}

void virtio_set_unplug(void *state)
{
	struct virtio_set *set = state;

	for (unsigned i = 0; i < set->n; i++)
		virtio_pci_free(set->t[i]);
	free(set);
}
