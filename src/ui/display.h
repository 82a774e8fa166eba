/* The display: the screen as the front ends see it. A thread of its own reads the device's VRAM
 * up to 30 times a second (less when the screen is still or nobody watches), converts only what the
 * guest changed (KVM's dirty log of the VRAM slot, then a row compare) into a shadow XRGB8888
 * frame, and passes the changed rectangles to the VNC server, whose event loop runs on the same
 * thread. With VNC only, a tick does that only while some client has asked for an update
 * (otherwise it only checks the mode), as QEMU's VNC server does. Keys and pointer events go back
 * to the guest (USB, virtio-input or PS/2: display_route). It lives across guest reboots: each VM
 * attaches and detaches. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/bochs_display.h"
#include "devices/i8042.h"
#include "devices/xhci.h"
#include "virtio/virtio_dev.h"
#include "common/vm_config.h"

struct audio_tap;

#define DISPLAY_HZ 30

/* What a running VM gives the display. */
struct display_src {
	struct bochs_display *dev;
	struct i8042 *kbd;
	struct virtio_dev *tablet; /* or NULL */
	struct xhci *usb;	   /* the USB tablet and keyboard (--usb), or NULL */
	/* Fetches the VRAM's dirty-page bitmap (one bit per 4 KiB page) and clears it, at least
	 * for the pages of [start, start + len), the bytes the refresh then reads (pages outside
	 * may stay set and come again); a negative return means "unknown: treat everything as
	 * dirty". Optional. */
	int (*get_dirty)(void *opaque, uint64_t *bitmap, size_t bytes, uint64_t start,
			 uint64_t len);
	void *opaque;
};

struct display_stats {
	uint64_t refreshes, frames_changed, rows_converted, rects;
	uint64_t fetches; /* dirty-log reads (get_dirty calls) */
	uint64_t skips;	  /* ticks that did no refresh: no viewer asked for an update */
};

struct vnc;
struct window;

struct display_rect {
	unsigned x, y, w, h;
};

struct display {
	pthread_mutex_t lock; /* src, the shadow frame, stats */
	const struct display_config *cfg;
	struct display_src src;
	bool attached;
	uint32_t *fb; /* shadow frame, 0x00RRGGBB per pixel */
	unsigned width, height;
	uint32_t gen;
	bool full; /* next refresh converts everything */
	uint64_t dirty[BOCHS_VRAM_SIZE / 4096 / 64];
	struct display_stats stats;
	struct vnc *vnc;
	struct window *window;
	struct display_rect win_dirty; /* changed since the window last looked (w 0: nothing) */
	int stop_fd;
	unsigned ptr_x, ptr_y; /* the last pointer position, for the PS/2 mouse's relative moves */
	uint8_t ptr_buttons;   /* and VNC's last button mask (wheel steps are its bits 3, 4) */
	uint8_t key_sink, ptr_sink; /* where keys and pointer events went last (display_route) */
	bool kick;	    /* refresh at once (display_kick: input, a new client, attach) */
	int wake_fd;	    /* an eventfd: wakes the thread (a screenshot, display_kick) */
	uint64_t shot_req;  /* screenshots asked for (under lock) */
	uint64_t shot_done; /* the last of them a refresh has answered (under lock) */
	pthread_cond_t shot_cond;
	bool skipped; /* a tick was skipped since the last refresh */
	pthread_t thread;
	bool started;
	enum seccomp_mode seccomp;
};

/* Starts the display thread and the front ends cfg asks for; sound (or NULL): the guest's sound
 * output, which the browser console streams to its pages. Returns 0, or -errno with one line
 * in err. */
int display_start(struct display *d, const struct display_config *cfg, struct audio_tap *sound,
		  enum seccomp_mode seccomp, char *err, size_t errlen);
void display_stop(struct display *d);
void display_attach(struct display *d, const struct display_src *src);
void display_detach(struct display *d);

/* One refresh now (the thread calls it; tests too). Calls mark for each changed rectangle
 * (x, y, w, h), outside the lock. */
void display_refresh(struct display *d,
		     void (*mark)(void *opaque, unsigned x, unsigned y, unsigned w, unsigned h),
		     void *opaque);

/* The pointer at (x, y) of the screen with VNC's button mask: to the USB tablet once the guest has
 * configured it, else to the virtio-input tablet once the guest drives it, else to the PS/2 mouse
 * as the move since the last position (docs/display.md, "Input"). */
void display_pointer(struct display *d, unsigned x, unsigned y, uint8_t buttons);
/* Brings the next refresh forward (input arrived, a viewer connected, a VM attached). Any
 * thread. */
void display_kick(struct display *d);
/* A key from a front end (an X11 keysym), to the guest's keyboard: the USB one once the guest
 * has configured it, else PS/2. */
void display_key(struct display *d, uint32_t keysym, bool down);

enum display_image { DISPLAY_PNG, DISPLAY_PPM };
/* The current screen as a PNG or a binary PPM (malloc'd into *out). 0 or -errno. With the
 * display thread running, it first has the thread refresh (the thread may have skipped ticks
 * that no viewer asked for) and waits for it, up to a second. */
int display_screenshot(struct display *d, enum display_image fmt, uint8_t **out, size_t *len);
