/* The one stand-in for the virtio-pci transport that the device tests and fuzz targets link
 * instead of src/virtio/virtio_pci.c: its services (virtio_dev.h) record what the device asks,
 * and the fds the device watches are kept for the test to play the I/O thread's epoll loop.
 * A call no device should make (a notify past vfake.nqueues, an unwatch of an fd not watched)
 * goes to vfake.violation, which a unit test points at cmocka's fail and a fuzz target at a
 * trap. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtio_dev.h"

#define VFAKE_MAX_WATCH 8

struct vfake_watch {
	int fd;
	uint32_t events;
	virtio_fd_cb cb;
	void *arg;
};

struct virtio_fake {
	unsigned nqueues; /* notifies of queues from here on are violations (0: any) */
	void (*violation)(const char *what);
	unsigned notify[VIRTIO_MAX_QUEUES], notifies;
	unsigned needs_reset, config_changed, watch_calls, unwatch_calls;
	unsigned nw;
	struct vfake_watch w[VFAKE_MAX_WATCH];
};
extern struct virtio_fake vfake;

/* Forgets every call and watch, keeping nqueues and violation. */
void vfake_reset(void);
/* The watch on fd, or NULL. */
struct vfake_watch *vfake_find(int fd);
/* Runs the callback of the i-th watch with events, as the I/O thread would. */
void vfake_fire(struct virtio_dev *d, unsigned i, uint32_t events);
/* For a device that watches one fd at a time: that watch, or NULL (two are a violation). */
struct vfake_watch *vfake_only_watch(void);
/* A violation handler for fuzz targets: a trap, which libFuzzer reports with its input. */
void vfake_trap(const char *what);

#ifdef CMOCKA_H_
/* A violation handler for cmocka tests: fails the test. */
static inline void vfake_fail(const char *what)
{
	fail_msg("virtio transport: %s", what);
}
#endif
