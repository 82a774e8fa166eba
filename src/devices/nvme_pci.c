#include "devices/nvme_pci.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/log.h"
#include "devices/nvme.h"
#include "vmm/seccomp.h"

enum { TAG_KICK = 1, TAG_BLOCK = 2, TAG_STOP = 3 };

struct nvme_pci {
	struct nvme n;
	struct block bk;
	struct nvme_pci_env env;
	bool bk_open, n_init, running;
	int epfd, kick_fd, stop_fd;
	pthread_t thread;
};

static void set_intx(void *opaque, int level)
{
	struct nvme_pci *np = opaque;

	if (np->env.set_irq)
		np->env.set_irq(np->env.irq_opaque, PCI_INTX_GSI0 + (np->n.pci.slot + 0) % 4,
				level);
}

static void kick(void *opaque)
{
	struct nvme_pci *np = opaque;
	uint64_t one = 1;

	if (write(np->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn("nvme: doorbell kick: %s", strerror(errno));
}

static void *io_thread(void *arg)
{
	struct nvme_pci *np = arg;
	struct epoll_event ev[8];

	if (seccomp_install(SECCOMP_VIRTIO, (enum seccomp_mode)np->env.seccomp_mode) < 0) {
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
	struct nvme *n = p->opaque;

	if (bar == 0)
		nvme_bar_io(n, off, data, len, is_write);
	else if (!is_write)
		memset(data, 0xFF, len);
}

static void cfg_write(struct pci_dev *p, uint32_t off, uint32_t len)
{
	struct nvme *n = p->opaque;

	if (off < n->msix.cap + 4 && off + len > n->msix.cap + 2)
		msix_cfg_changed(&n->msix);
}

static const struct pci_dev_ops nvme_pci_ops = {
    .bar_io = bar_io,
    .cfg_write = cfg_write,
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
	struct nvme_hooks hooks = {.opaque = np, .set_intx = set_intx, .kick = kick};
	char serial[NVME_SN_LEN + 1];
	int rc;

	if (cfg->serial[0])
		snprintf(serial, sizeof(serial), "%s", cfg->serial);
	else
		snprintf(serial, sizeof(serial), "phyllome-disk-%u", index);
	rc = nvme_init(&np->n, np->env.gm, &np->bk, np->env.ncpus, serial, &hooks);
	if (rc < 0)
		return rc;
	np->n_init = true;
	np->n.pci.ops = &nvme_pci_ops;
	np->n.pci.opaque = &np->n;
	return msix_init(&np->n.msix, &np->n.pci, np->env.routes, np->n.max_ioq + 1, 0,
			 NVME_MSIX_TAB, NVME_MSIX_PBA);
}

struct nvme_pci *nvme_pci_create(const struct nvme_pci_env *env, const struct disk_config *cfg,
				 unsigned index, struct pci_bus *bus, char *err, size_t errlen)
{
	struct nvme_pci *np = calloc(1, sizeof(*np));
	int rc;

	if (!np) {
		snprintf(err, errlen, "nvme disk '%s': out of memory", cfg->path);
		return NULL;
	}
	np->env = *env;
	np->epfd = np->kick_fd = np->stop_fd = -1;
	if (block_open(&np->bk, cfg->path, cfg->readonly, cfg->direct, NVME_MAX_REQS, err, errlen) <
	    0)
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
	if (pci_bus_add(bus, &np->n.pci) < 0) {
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

unsigned nvme_pci_slot(const struct nvme_pci *np)
{
	return np->n.pci.slot;
}

void nvme_pci_free(struct nvme_pci *np)
{
	uint64_t one = 1;

	if (!np)
		return;
	if (np->running) {
		if (write(np->stop_fd, &one, sizeof(one)) < 0)
			pr_warn("nvme: cannot stop the I/O thread");
		pthread_join(np->thread, NULL);
	}
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
