#include "ui/display.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/log.h"
#include "ui/image.h"
#include "kvm/seccomp.h"
#include "ui/keymap.h"
#include "ui/vnc.h"
#include "ui/window.h"
#include "virtio/devices.h"

#define PAGE	4096u
#define BLANK_W 640 /* what a disabled display shows: black, at the last size or this */
#define BLANK_H 480

static unsigned bytes_pp(unsigned bpp)
{
	return bpp == 15 ? 2 : (bpp + 7) / 8;
}

/* The bytes of VRAM the mode shows: from its first pixel to its last. */
static uint64_t scan_len(const struct bochs_mode *m)
{
	return (uint64_t)(m->height - 1) * m->stride + (uint64_t)m->width * bytes_pp(m->bpp);
}

static bool range_dirty(const uint64_t *bm, uint64_t start, uint64_t len)
{
	for (uint64_t p = start / PAGE; p <= (start + len - 1) / PAGE; p++)
		if (bm[p / 64] & (1ull << (p % 64)))
			return true;
	return false;
}

static uint32_t expand5(unsigned v)
{
	return (v << 3) | (v >> 2);
}

/* Converts one row of w pixels into dst; returns the first changed x (w if none), the last in
 * *last. */
static unsigned convert_row(const struct bochs_display *dev, const struct bochs_mode *m,
			    const uint8_t *s, uint32_t *dst, unsigned w, unsigned *last)
{
	unsigned first = w;

	*last = 0;
	for (unsigned x = 0; x < w; x++) {
		uint32_t v;

		switch (m->bpp) {
		case 32:
			v = get_le32(s + 4 * x) & 0xFFFFFF;
			break;
		case 24:
			v = (uint32_t)s[3 * x] | (uint32_t)s[3 * x + 1] << 8 |
			    (uint32_t)s[3 * x + 2] << 16;
			break;
		case 16: {
			unsigned p = get_le16(s + 2 * x);

			v = expand5(p >> 11) << 16 | ((p >> 5 & 0x3F) << 2 | (p >> 9 & 3)) << 8 |
			    expand5(p & 0x1F);
			break;
		}
		case 15: {
			unsigned p = get_le16(s + 2 * x);

			v = expand5(p >> 10 & 0x1F) << 16 | expand5(p >> 5 & 0x1F) << 8 |
			    expand5(p & 0x1F);
			break;
		}
		default: {
			const uint8_t *c = dev->palette[s[x]];

			v = (uint32_t)(c[0] << 2 | c[0] >> 4) << 16 |
			    (uint32_t)(c[1] << 2 | c[1] >> 4) << 8 |
			    (uint32_t)(c[2] << 2 | c[2] >> 4);
			break;
		}
		}
		if (dst[x] != v) {
			dst[x] = v;
			if (first == w)
				first = x;
			*last = x;
		}
	}
	return first;
}

/* Caller holds the lock. Resizes the shadow frame; false when out of memory. */
static bool resize(struct display *d, unsigned w, unsigned h)
{
	uint32_t *fb;

	if (d->fb && w == d->width && h == d->height)
		return true;
	fb = calloc((size_t)w * h, sizeof(*fb));
	if (!fb)
		return false;
	free(d->fb);
	d->fb = fb;
	d->width = w;
	d->height = h;
	d->full = true;
	if (d->vnc)
		vnc_resize(d->vnc, fb, w, h);
	return true;
}

/* Grows r to cover [x0, x1] x [y0, y1]. */
static void add_rect(struct display_rect *r, unsigned x0, unsigned y0, unsigned x1, unsigned y1)
{
	if (r->w && r->h) {
		unsigned rx1 = r->x + r->w - 1, ry1 = r->y + r->h - 1;

		x0 = x0 < r->x ? x0 : r->x;
		y0 = y0 < r->y ? y0 : r->y;
		x1 = x1 > rx1 ? x1 : rx1;
		y1 = y1 > ry1 ? y1 : ry1;
	}
	*r = (struct display_rect){x0, y0, x1 - x0 + 1, y1 - y0 + 1};
}

struct band {
	unsigned x0, x1, y0, y1;
	bool open;
};

#define MAX_RECTS 64

void display_refresh(struct display *d,
		     void (*mark)(void *opaque, unsigned x, unsigned y, unsigned w, unsigned h),
		     void *opaque)
{
	struct band rects[MAX_RECTS];
	unsigned nrects = 0;
	struct bochs_mode m;
	struct band b = {0};

	pthread_mutex_lock(&d->lock);
	d->stats.refreshes++;
	if (!d->attached) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	bochs_get_mode(d->src.dev, &m);
	if (m.gen != d->gen) {
		d->gen = m.gen;
		d->full = true;
	}
	if (!resize(d, m.enabled ? m.width : (d->fb ? d->width : BLANK_W),
		    m.enabled ? m.height : (d->fb ? d->height : BLANK_H))) {
		pthread_mutex_unlock(&d->lock);
		return;
	}
	d->stats.fetches++;
	if (!d->src.get_dirty ||
	    d->src.get_dirty(d->src.opaque, d->dirty, sizeof(d->dirty), m.enabled ? m.offset : 0,
			     m.enabled ? scan_len(&m) : 0) < 0)
		memset(d->dirty, 0xFF, sizeof(d->dirty));
	if (!m.enabled) {
		if (d->full) {
			memset(d->fb, 0, (size_t)d->width * d->height * sizeof(*d->fb));
			rects[nrects++] = (struct band){0, d->width - 1, 0, d->height - 1, true};
		}
		d->full = false;
		goto out;
	}
	for (unsigned y = 0; y < m.height; y++) {
		uint64_t off = m.offset + (uint64_t)y * m.stride;
		unsigned len = m.width * bytes_pp(m.bpp), first, last = 0;
		uint32_t *dst = d->fb + (size_t)y * m.width;

		if (!d->full && !range_dirty(d->dirty, off, len)) {
			first = m.width;
		} else {
			d->stats.rows_converted++;
			if (d->full)
				memset(dst, 0xFF, m.width * sizeof(*dst)); /* forces a difference */
			first = convert_row(d->src.dev, &m, d->src.dev->vram + off, dst, m.width,
					    &last);
		}
		if (first == m.width) {
			if (b.open && nrects < MAX_RECTS)
				rects[nrects++] = b;
			b.open = false;
			continue;
		}
		if (!b.open)
			b = (struct band){first, last, y, y, true};
		b.x0 = first < b.x0 ? first : b.x0;
		b.x1 = last > b.x1 ? last : b.x1;
		b.y1 = y;
	}
	if (b.open && nrects < MAX_RECTS)
		rects[nrects++] = b;
	if (nrects == MAX_RECTS) /* too many to list: one covering everything */
		rects[0] = (struct band){0, m.width - 1, 0, m.height - 1, true}, nrects = 1;
	d->full = false;
out:
	for (unsigned i = 0; d->window && i < nrects; i++)
		add_rect(&d->win_dirty, rects[i].x0, rects[i].y0, rects[i].x1, rects[i].y1);
	d->stats.rects += nrects;
	d->stats.frames_changed += nrects != 0;
	pthread_mutex_unlock(&d->lock);
	for (unsigned i = 0; mark && i < nrects; i++)
		mark(opaque, rects[i].x0, rects[i].y0, rects[i].x1 - rects[i].x0 + 1,
		     rects[i].y1 - rects[i].y0 + 1);
}

/* Wakes the display thread from its wait (any thread). */
static void wake(struct display *d)
{
	uint64_t one = 1;

	if (write(d->wake_fd, &one, sizeof(one)) < 0)
		pr_debug("display: cannot wake the display thread");
}

void display_kick(struct display *d)
{
	__atomic_store_n(&d->kick, true, __ATOMIC_RELEASE);
	if (d->started)
		wake(d);
}

enum input_sink { SINK_NONE, SINK_USB, SINK_VIRTIO, SINK_PS2 };

/* Where input goes (docs/display.md, "Input"): the USB tablet or keyboard once the guest has
 * configured it, else (pointer only) the virtio-input tablet once its driver runs, else PS/2.
 * Says so (at -v) when that changes. Caller holds d->lock. */
static enum input_sink display_route(struct display *d, bool pointer)
{
	static const char *const names[2][4] = {
	    {"nowhere", "the USB keyboard", "nowhere", "the PS/2 keyboard"},
	    {"nowhere", "the USB tablet", "the virtio-input tablet", "the PS/2 mouse"},
	};
	enum input_sink s = SINK_NONE;
	uint8_t *last = pointer ? &d->ptr_sink : &d->key_sink;

	if (!d->attached)
		s = SINK_NONE;
	else if (d->src.usb &&
		 (pointer ? xhci_tablet_ready(d->src.usb) : xhci_keyboard_ready(d->src.usb)))
		s = SINK_USB;
	else if (pointer && d->src.tablet && virtio_input_ready(d->src.tablet) && d->width > 1 &&
		 d->height > 1)
		s = SINK_VIRTIO;
	else if (d->src.kbd)
		s = SINK_PS2;
	if (s != *last)
		pr_info("display: %s now go to %s", pointer ? "pointer events" : "keys",
			names[pointer][s]);
	*last = (uint8_t)s;
	return s;
}

void display_key(struct display *d, uint32_t keysym, bool down)
{
	uint8_t sc[KEYMAP_MAX_BYTES];
	unsigned n = keymap_scancode(keysym, down, sc);

	__atomic_store_n(&d->kick, true, __ATOMIC_RELEASE);
	if (!n) {
		pr_debug("display: no key for keysym 0x%x", keysym);
		return;
	}
	pthread_mutex_lock(&d->lock);
	switch (display_route(d, false)) {
	case SINK_USB:
		xhci_key(d->src.usb, keymap_usb(keysym), down);
		break;
	case SINK_PS2:
		i8042_kbd_bytes(d->src.kbd, sc, n);
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&d->lock);
}

/* x (or y) on a screen of n pixels, scaled to 0..max. */
static uint32_t scale(unsigned x, unsigned n, uint32_t max)
{
	if (n < 2)
		return 0;
	return (uint32_t)((uint64_t)(x < n ? x : n - 1) * max / (n - 1));
}

void display_pointer(struct display *d, unsigned x, unsigned y, uint8_t buttons)
{
	uint8_t pressed;

	__atomic_store_n(&d->kick, true, __ATOMIC_RELEASE);
	pthread_mutex_lock(&d->lock);
	pressed = buttons & (uint8_t)~d->ptr_buttons;
	switch (display_route(d, true)) {
	case SINK_USB: /* HID buttons: 1 left, 2 right, 3 middle; VNC's: 0 left, 1 middle, 2 right
			*/
		xhci_pointer(d->src.usb, (uint16_t)scale(x, d->width, USB_HID_ABS_MAX),
			     (uint16_t)scale(y, d->height, USB_HID_ABS_MAX),
			     (uint8_t)((buttons & 1) | (buttons >> 1 & 2) | (buttons << 1 & 4)),
			     (int8_t)((pressed >> 3 & 1) - (pressed >> 4 & 1)));
		break;
	case SINK_VIRTIO:
		virtio_input_pointer(d->src.tablet, scale(x, d->width, VIRTIO_INPUT_ABS_MAX),
				     scale(y, d->height, VIRTIO_INPUT_ABS_MAX), buttons);
		break;
	case SINK_PS2:
		i8042_aux_move(d->src.kbd, (int)x - (int)d->ptr_x, (int)y - (int)d->ptr_y,
			       buttons & 7);
		break;
	default:
		break;
	}
	d->ptr_x = x;
	d->ptr_y = y;
	d->ptr_buttons = buttons;
	pthread_mutex_unlock(&d->lock);
}

int display_screenshot(struct display *d, enum display_image fmt, uint8_t **out, size_t *len)
{
	int rc = -ENODATA;

	pthread_mutex_lock(&d->lock);
	if (d->started) {
		/* The shadow frame may be as old as the last update a viewer asked for: have the
		 * display thread refresh it (this thread may not read the dirty log). */
		uint64_t want = ++d->shot_req;
		struct timespec until;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += 1;
		wake(d);
		while (d->shot_done < want &&
		       pthread_cond_timedwait(&d->shot_cond, &d->lock, &until) != ETIMEDOUT)
			;
		if (d->shot_done < want)
			pr_warn("display: no refresh within 1 s: the screenshot may be old");
	}
	if (d->fb)
		rc = fmt == DISPLAY_PPM ? image_ppm(d->fb, d->width, d->height, out, len)
					: image_png(d->fb, d->width, d->height, out, len);
	pthread_mutex_unlock(&d->lock);
	return rc;
}

void display_attach(struct display *d, const struct display_src *src)
{
	pthread_mutex_lock(&d->lock);
	d->src = *src;
	d->attached = true;
	d->full = true;
	d->gen = src->dev ? src->dev->mode.gen - 1 : 0;
	pthread_mutex_unlock(&d->lock);
	display_kick(d);
}

void display_detach(struct display *d)
{
	pthread_mutex_lock(&d->lock);
	d->attached = false;
	memset(&d->src, 0, sizeof(d->src));
	pthread_mutex_unlock(&d->lock);
}

static void vnc_mark_cb(void *opaque, unsigned x, unsigned y, unsigned w, unsigned h)
{
	vnc_mark(opaque, x, y, w, h);
}

static uint64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* How long until the next refresh: 1/DISPLAY_HZ while someone watches and the screen changes,
 * 1/10 s once it has been still for a second, 1/2 s with no viewer at all. Input from a viewer
 * brings the next refresh forward (display_kick). */
static uint64_t period_us(struct display *d, unsigned still)
{
	bool viewers = (d->vnc && vnc_clients(d->vnc)) || d->window;

	if (!viewers)
		return 500000u;
	return still > DISPLAY_HZ ? 100000u : 1000000u / DISPLAY_HZ;
}

/* Whether the guest changed its mode (or a VM attached) since the last refresh: the new size
 * must reach the front ends and the pointer's scaling even when nobody asks for pixels. */
static bool mode_changed(struct display *d)
{
	struct bochs_mode m;
	bool changed = false;

	pthread_mutex_lock(&d->lock);
	if (d->attached) {
		bochs_get_mode(d->src.dev, &m);
		changed = d->full || m.gen != d->gen ||
			  (m.enabled && (m.width != d->width || m.height != d->height));
	}
	pthread_mutex_unlock(&d->lock);
	return changed;
}

/* Whether a refresh is worth its work now. The window shows every frame; VNC sends only what a
 * client asked for, so while no client has an update request outstanding (none connected, or
 * all still busy with the last update) the tick reads no dirty log and converts nothing: the
 * guest's VRAM pages stay writable (no write faults) and their dirty bits wait in KVM's log for
 * the refresh that a request (or a screenshot) brings. */
static bool refresh_wanted(struct display *d)
{
	return d->window || (d->vnc && vnc_wants_update(d->vnc)) || mode_changed(d);
}

static void *display_thread(void *arg)
{
	struct display *d = arg;
	uint64_t next = now_us();
	unsigned still = 0;

	if (seccomp_install(SECCOMP_DISPLAY, d->seccomp) < 0) {
		pr_err("display: cannot install the seccomp filter; the screen stays blank");
		return NULL;
	}
	for (;;) {
		uint64_t t = now_us(), shot, drain;
		struct pollfd p = {.fd = d->stop_fd, .events = POLLIN};
		bool due, kicked = __atomic_exchange_n(&d->kick, false, __ATOMIC_ACQ_REL);

		if (kicked) {
			still = 0;
			next = t < next ? t : next;
		}
		if (read(d->wake_fd, &drain, sizeof(drain)) < 0 && errno != EAGAIN)
			pr_debug("display: wake: %s", strerror(errno));
		pthread_mutex_lock(&d->lock);
		shot = d->shot_req;
		pthread_mutex_unlock(&d->lock);
		due = t >= next;
		/* A tick skipped for want of a request is made up as soon as one arrives. */
		if (due || shot != d->shot_done ||
		    (d->skipped && d->vnc && vnc_wants_update(d->vnc))) {
			if (kicked || shot != d->shot_done || refresh_wanted(d)) {
				uint64_t before = d->stats.frames_changed;

				display_refresh(d, d->vnc ? vnc_mark_cb : NULL, d->vnc);
				still = d->stats.frames_changed != before ? 0 : still + 1;
				d->skipped = false;
				pthread_mutex_lock(&d->lock);
				d->shot_done = shot;
				pthread_cond_broadcast(&d->shot_cond);
				pthread_mutex_unlock(&d->lock);
			} else {
				d->stats.skips++;
				d->skipped = true;
			}
			if (due) {
				next += period_us(d, still);
				if (next < t) /* fell behind: don't try to catch up */
					next = t + period_us(d, still);
			}
			continue;
		}
		if (poll(&p, 1, 0) > 0)
			break;
		if (d->vnc) {
			vnc_poll(d->vnc, (long)(next - t), d->stop_fd, d->wake_fd);
		} else {
			struct pollfd w[2] = {p, {.fd = d->wake_fd, .events = POLLIN}};

			poll(w, 2, (int)((next - t) / 1000u) + 1);
		}
	}
	return NULL;
}

int display_start(struct display *d, const struct display_config *cfg, struct audio_tap *sound,
		  enum seccomp_mode seccomp, char *err, size_t errlen)
{
	pthread_condattr_t ca;
	int rc;

	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->shot_cond, &ca);
	pthread_condattr_destroy(&ca);
	d->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->cfg = cfg;
	d->seccomp = seccomp;
	d->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->stop_fd < 0 || d->wake_fd < 0) {
		snprintf(err, errlen, "display: eventfd: %s", strerror(errno));
		return -errno;
	}
	if (!resize(d, BLANK_W, BLANK_H)) {
		snprintf(err, errlen, "display: out of memory");
		return -ENOMEM;
	}
	if (cfg->kind == DISPLAY_VNC) {
		rc = vnc_start(&d->vnc, cfg, d, d->fb, d->width, d->height, sound, seccomp, err,
			       errlen);
		if (rc < 0)
			return rc;
	}
	if (cfg->kind == DISPLAY_WINDOW) {
		rc = window_start(&d->window, d, err, errlen);
		if (rc < 0)
			return rc;
	}
	rc = pthread_create(&d->thread, NULL, display_thread, d);
	if (rc) {
		snprintf(err, errlen, "display: cannot start its thread: %s", strerror(rc));
		return -rc;
	}
	pthread_setname_np(d->thread, "display");
	d->started = true;
	return 0;
}

void display_stop(struct display *d)
{
	uint64_t one = 1;

	if (d->started) {
		if (write(d->stop_fd, &one, sizeof(one)) < 0)
			pr_warn("display: cannot stop its thread");
		pthread_join(d->thread, NULL);
		d->started = false;
	}
	if (d->vnc)
		vnc_stop(d->vnc);
	d->vnc = NULL;
	if (d->window)
		window_stop(d->window);
	d->window = NULL;
	if (d->stop_fd >= 0)
		close(d->stop_fd);
	if (d->wake_fd >= 0)
		close(d->wake_fd);
	free(d->fb);
	d->fb = NULL;
	pthread_cond_destroy(&d->shot_cond);
	pthread_mutex_destroy(&d->lock);
}
