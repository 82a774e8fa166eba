#include "devices/nvme_pci.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <linux/kvm.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arch/x86/bootorder.h"
#include "common/log.h"
#include "devices/nvme.h"
#include "kvm/seccomp.h"

enum { TAG_KICK = 1, TAG_BLOCK = 2, TAG_STOP = 3 };

struct nvme_pci {
	struct nvme n;
	struct block bk;
	struct board *b;
	bool bk_open, n_init, running;
	uint64_t bar0;		 /* where BAR 0 is decoded (0: nowhere) */
	bool want_ioev, ioev_at; /* shadow doorbells on; ioeventfds assigned at bar0 */
	int epfd, kick_fd, stop_fd;
	pthread_t thread;
};

static void set_intx(void *opaque, int level)
{
	struct nvme_pci *np = opaque;

	np->b->set_irq(np->b->opaque, PCI_INTX_GSI0 + (np->n.pci.slot + 0) % 4, level);
}

static void kick(void *opaque)
{
	struct nvme_pci *np = opaque;
	uint64_t one = 1;

	if (write(np->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn("nvme: doorbell kick: %s", strerror(errno));
}

/* The I/O queues' doorbells (SQ tail and CQ head of queues 1..max_ioq) as ioeventfds on the
 * kick eventfd: with shadow doorbells their values are in guest memory, so the write need not
 * reach userspace. The admin queue's stay trapped (its values are needed). */
static void ioeventfds(struct nvme_pci *np, bool assign)
{
	for (unsigned i = 2; i < 2 * (np->n.max_ioq + 1); i++) {
		struct kvm_ioeventfd io = {
		    .addr = np->bar0 + NVME_DB_BASE + 4ull * i,
		    .len = 4,
		    .fd = np->kick_fd,
		    .flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
		};

		if (ioctl(np->b->vm_fd, KVM_IOEVENTFD, &io) < 0)
			pr_warn("nvme: ioeventfd for doorbell %u: %s", i, strerror(errno));
	}
	np->ioev_at = assign;
}

/* n->lock held. */
static void ioev_update(struct nvme_pci *np)
{
	bool want = np->want_ioev && np->bar0;

	if (want != np->ioev_at)
		ioeventfds(np, want);
}

static void dbbuf(void *opaque, bool on)
{
	struct nvme_pci *np = opaque;

	/* With INTx, a CQ head doorbell lowers the line at once on the vCPU thread: keep it. */
	np->want_ioev = on && msix_enabled(&np->n.msix);
	ioev_update(np);
}

static void *io_thread(void *arg)
{
	struct nvme_pci *np = arg;
	struct epoll_event ev[8];

	if (seccomp_install_bound(SECCOMP_VIRTIO, np->b->cfg->seccomp,
				  &(struct seccomp_fds){.vm = np->b->vm_fd, .vcpu = -1}) < 0) {
		pr_err("nvme: cannot install the I/O thread's seccomp filter: the device stops");
		return NULL;
	}
	for (;;) {
		int cnt = epoll_wait(np->epfd, ev, 8, -1);

		if (cnt < 0 && errno != EINTR)
			return NULL;
		for (int i = 0; i < cnt; i++) {
			uint64_t v;

			switch (ev[i].data.u64) {
			case TAG_STOP:
				return NULL;
			case TAG_KICK:
				if (read(np->kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					break;
				nvme_process(&np->n);
				break;
			default:
				nvme_reap(&np->n);
				break;
			}
		}
	}
}

static void bar_io(struct pci_dev *p, unsigned bar, uint64_t off, uint8_t *data, uint32_t len,
		   bool is_write)
{
	struct nvme_pci *np = p->opaque;

	if (bar == 0)
		nvme_bar_io(&np->n, off, data, len, is_write);
	else if (!is_write)
		memset(data, 0xFF, len);
}

static void cfg_write(struct pci_dev *p, uint32_t off, uint32_t len)
{
	struct nvme_pci *np = p->opaque;

	if (off < np->n.msix.cap + 4 && off + len > np->n.msix.cap + 2)
		msix_cfg_changed(&np->n.msix);
}

static void bar_remap(struct pci_dev *p, unsigned bar, uint64_t addr)
{
	struct nvme_pci *np = p->opaque;

	if (bar != 0)
		return;
	pthread_mutex_lock(&np->n.lock);
	if (np->ioev_at)
		ioeventfds(np, false);
	np->bar0 = addr;
	ioev_update(np);
	pthread_mutex_unlock(&np->n.lock);
}

static const struct pci_dev_ops nvme_pci_ops = {
    .bar_io = bar_io,
    .cfg_write = cfg_write,
    .bar_remap = bar_remap,
};

static int watch(struct nvme_pci *np, int fd, uint64_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};

	return epoll_ctl(np->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int setup_fds(struct nvme_pci *np)
{
	np->epfd = epoll_create1(EPOLL_CLOEXEC);
	np->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	np->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (np->epfd < 0 || np->kick_fd < 0 || np->stop_fd < 0)
		return -errno;
	if (watch(np, np->kick_fd, TAG_KICK) < 0 || watch(np, np->stop_fd, TAG_STOP) < 0 ||
	    watch(np, block_eventfd(&np->bk), TAG_BLOCK) < 0)
		return -errno;
	return 0;
}

static int setup_ctrl(struct nvme_pci *np, const struct disk_config *cfg, unsigned index)
{
	struct nvme_hooks hooks = {
	    .opaque = np, .set_intx = set_intx, .kick = kick, .dbbuf = dbbuf};
	char serial[NVME_SN_LEN + 1];
	int rc;

	if (cfg->serial[0])
		snprintf(serial, sizeof(serial), "%s", cfg->serial);
	else
		snprintf(serial, sizeof(serial), "phyllome-disk-%u", index);
	rc = nvme_init(&np->n, np->b->mem, &np->bk, np->b->cfg->ncpus, serial, &hooks);
	if (rc < 0)
		return rc;
	np->n_init = true;
	np->n.pci.ops = &nvme_pci_ops;
	np->n.pci.opaque = np;
	return msix_init(&np->n.msix, &np->n.pci, np->b->routes, np->n.max_ioq + 1, 0,
			 NVME_MSIX_TAB, NVME_MSIX_PBA);
}

static void nvme_pci_free(struct nvme_pci *np);

/* Opens the disk, builds the controller and plugs it into the bus, then starts its I/O
 * thread. index names the default serial ("phyllome-disk-N", as virtio-blk's). */
static struct nvme_pci *nvme_pci_create(struct board *b, const struct disk_config *cfg,
					unsigned index, char *err, size_t errlen)
{
	struct nvme_pci *np = calloc(1, sizeof(*np));
	int rc;

	if (!np) {
		snprintf(err, errlen, "nvme disk '%s': out of memory", cfg->path);
		return NULL;
	}
	np->b = b;
	np->epfd = np->kick_fd = np->stop_fd = -1;
	if (block_open_image(&np->bk, cfg->path, cfg->qcow2 ? BLOCK_QCOW2 : BLOCK_RAW, cfg->backing,
			     cfg->readonly, cfg->direct, NVME_MAX_REQS, err, errlen) < 0)
		goto fail;
	np->bk_open = true;
	if (np->bk.size % NVME_LBA)
		pr_warn("nvme disk '%s': size is not a multiple of 512; the guest won't see the "
			"last %u bytes",
			cfg->path, (unsigned)(np->bk.size % NVME_LBA));
	rc = setup_fds(np);
	if (rc == 0)
		rc = setup_ctrl(np, cfg, index);
	if (rc < 0) {
		snprintf(err, errlen, "nvme disk '%s': set-up failed: %s", cfg->path,
			 strerror(-rc));
		goto fail;
	}
	if (pci_bus_add(b->pci, &np->n.pci) < 0) {
		snprintf(err, errlen, "nvme disk '%s': no room left on the PCI bus", cfg->path);
		goto fail;
	}
	rc = pthread_create(&np->thread, NULL, io_thread, np);
	if (rc) {
		snprintf(err, errlen, "nvme disk '%s': cannot start its I/O thread", cfg->path);
		goto fail;
	}
	pthread_setname_np(np->thread, "nvme");
	np->running = true;
	return np;

fail:
	nvme_pci_free(np);
	return NULL;
}

static void nvme_pci_free(struct nvme_pci *np)
{
	uint64_t one = 1;

	if (!np)
		return;
	if (np->running) {
		if (write(np->stop_fd, &one, sizeof(one)) < 0)
			pr_warn("nvme: cannot stop the I/O thread");
		pthread_join(np->thread, NULL);
	}
	if (np->ioev_at)
		ioeventfds(np, false);
	if (np->n_init) {
		msix_destroy(&np->n.msix);
		nvme_destroy(&np->n);
	}
	if (np->bk_open)
		block_close(&np->bk);
	if (np->kick_fd >= 0)
		close(np->kick_fd);
	if (np->stop_fd >= 0)
		close(np->stop_fd);
	if (np->epfd >= 0)
		close(np->epfd);
	free(np);
}

/* ---- on the board: one controller per --disk ...,bus=nvme ---- */

struct nvme_set {
	unsigned n;
	struct nvme_pci *dev[VM_MAX_DISKS];
};

static bool nvme_wanted(const struct vm_config *cfg)
{
	for (unsigned i = 0; i < cfg->ndisks; i++)
		if (cfg->disks[i].bus == DISK_BUS_NVME)
			return true;
	return false;
}

static int nvme_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct nvme_set *set = calloc(1, sizeof(*set));
	int rc = set ? 0 : -ENOMEM;

	*state = set;
	for (unsigned i = 0; rc == 0 && i < b->cfg->ndisks; i++) {
		const struct disk_config *d = &b->cfg->disks[i];
		char path[BOOT_PATH_MAX];
		struct nvme_pci *np;

		if (d->bus != DISK_BUS_NVME)
			continue;
		np = nvme_pci_create(b, d, i, err, errlen);
		if (!np)
			return -EINVAL;
		set->dev[set->n++] = np;
		if (d->bootindex < 0)
			continue;
		/* Namespace 1 of the controller in the slot it got. */
		rc = boot_ofw_nvme(path, sizeof(path), np->n.pci.slot, 0, 1);
		if (rc == 0)
			rc = board_boot_order_add(b, d->bootindex, path, err, errlen);
	}
	return rc;
}

static void nvme_unplug(void *state)
{
	struct nvme_set *set = state;

	for (unsigned i = 0; i < set->n; i++)
		nvme_pci_free(set->dev[i]);
	free(set);
}

const struct device_model nvme_device = {
    .name = "nvme",
    .wanted = nvme_wanted,
    .plug = nvme_plug,
    .unplug = nvme_unplug,
};
