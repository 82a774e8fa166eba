/* Constructors of the virtio devices. Each sets d->ops and d->priv and opens its
 * backend (image file, tap, passt socket, host console); errors are one line in err.
 * d->gm is set and virtio_dev_watch() already works when these are called; the
 * device's I/O thread starts after, and ops are only called from then on. */
#pragma once
#include <stddef.h>

#include "virtio/virtio_dev.h"
#include "common/vm_config.h"

int virtio_blk_init(struct virtio_dev *d, const struct disk_config *cfg, unsigned index, char *err,
		    size_t errlen);
int virtio_net_init(struct virtio_dev *d, const struct net_config *cfg, unsigned index, char *err,
		    size_t errlen);
int virtio_rng_init(struct virtio_dev *d, char *err, size_t errlen);
int virtio_console_init(struct virtio_dev *d, enum serial_mode mode, const char *path, char *err,
			size_t errlen);
/* Ctrl-A x on a terminal host end asks to end the VMM: cb(opaque) runs on the device's
 * I/O thread with d->lock held, so it must only signal (e.g. vm_request_exit). Without
 * a cb the escape is ignored. Call after virtio_console_init, before the thread starts. */
void virtio_console_set_quit_cb(struct virtio_dev *d, void (*cb)(void *opaque), void *opaque);
/* virtio-fs on the folder's file server (cfg->server_fd, forked by main). */
int virtio_fs_init(struct virtio_dev *d, const struct fs_config *cfg, char *err, size_t errlen);
/* virtio-input as a tablet (absolute pointer, three buttons, wheel). */
#define VIRTIO_INPUT_ABS_MAX 32767
int virtio_input_init(struct virtio_dev *d, char *err, size_t errlen);
/* The pointer at (x, y) in 0..VIRTIO_INPUT_ABS_MAX with VNC's button mask (bit 0 left, 1 middle,
 * 2 right, 3/4 wheel up/down); any thread. Dropped while the driver is not ready. */
void virtio_input_pointer(struct virtio_dev *d, uint32_t x, uint32_t y, uint8_t buttons);
/* Whether the guest's driver has the device running (DRIVER_OK). */
bool virtio_input_ready(struct virtio_dev *d);

/* On the board (devices/device.h): the rows; each state is a struct virtio_set
 * (virtio/virtio_pci.h). */
extern const struct device_model virtio_blk_device;
extern const struct device_model virtio_net_device;
extern const struct device_model virtio_rng_device;
extern const struct device_model virtio_console_device;
extern const struct device_model virtio_input_device;
extern const struct device_model virtio_fs_device;
