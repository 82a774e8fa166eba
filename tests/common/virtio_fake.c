#include "virtio_fake.h"

#include <errno.h>
#include <string.h>

#include "virtio/virtio_pci.h"

struct virtio_fake vfake;

static void violation(const char *what)
{
	if (vfake.violation)
		vfake.violation(what);
}

void vfake_reset(void)
{
	struct virtio_fake keep = {.nqueues = vfake.nqueues, .violation = vfake.violation};

	vfake = keep;
}

struct vfake_watch *vfake_find(int fd)
{
	for (unsigned i = 0; i < vfake.nw; i++)
		if (vfake.w[i].fd == fd)
			return &vfake.w[i];
	return NULL;
}

void vfake_fire(struct virtio_dev *d, unsigned i, uint32_t events)
{
	struct vfake_watch w;

	if (i >= vfake.nw) {
		violation("fire of a watch that does not exist");
		return;
	}
	w = vfake.w[i];
	w.cb(d, w.fd, events, w.arg);
}

struct vfake_watch *vfake_only_watch(void)
{
	if (vfake.nw > 1)
		violation("more than one fd watched");
	return vfake.nw ? &vfake.w[0] : NULL;
}

void vfake_trap(const char *what)
{
	(void)what;
	__builtin_trap();
}

void virtio_dev_notify(struct virtio_dev *d, unsigned q)
{
	(void)d;
	if (q >= VIRTIO_MAX_QUEUES || (vfake.nqueues && q >= vfake.nqueues)) {
		violation("notify of a queue the device does not have");
		return;
	}
	vfake.notify[q]++;
	vfake.notifies++;
}

void virtio_dev_config_changed(struct virtio_dev *d)
{
	(void)d;
	vfake.config_changed++;
}

void virtio_dev_set_needs_reset(struct virtio_dev *d)
{
	(void)d;
	vfake.needs_reset++;
}

int virtio_dev_watch(struct virtio_dev *d, int fd, uint32_t events, virtio_fd_cb cb, void *arg)
{
	(void)d;
	vfake.watch_calls++;
	if (fd < 0 || !cb || !events) {
		violation("watch of a bad fd, callback or event set");
		return -EINVAL;
	}
	if (vfake_find(fd))
		return -EEXIST; /* as EPOLL_CTL_ADD says */
	if (vfake.nw == VFAKE_MAX_WATCH) {
		violation("too many watched fds");
		return -ENOSPC;
	}
	vfake.w[vfake.nw++] = (struct vfake_watch){fd, events, cb, arg};
	return 0;
}

int virtio_dev_unwatch(struct virtio_dev *d, int fd)
{
	struct vfake_watch *w = vfake_find(fd);

	(void)d;
	vfake.unwatch_calls++;
	if (!w) {
		violation("unwatch of an fd not watched");
		return -ENOENT;
	}
	*w = vfake.w[--vfake.nw];
	return 0;
}

/* The board's side of the transport: tests plug devices into no board. */
int virtio_board_add(struct board *b, struct virtio_set *set, virtio_init_fn init, unsigned i,
		     unsigned *slot, char *err, size_t errlen)
{
	(void)b;
	(void)set;
	(void)init;
	(void)i;
	(void)slot;
	(void)err;
	(void)errlen;
	violation("a device test plugged into a board");
	return -ENOTSUP;
}

void virtio_set_unplug(void *state)
{
	(void)state;
	violation("a device test unplugged from a board");
}
