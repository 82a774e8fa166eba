/* The display: the bochs device's registers and modes, the EDID, the keymap, the refresh
 * (format conversion and changed rectangles), PNG/PPM screenshots, and the VNC server end to
 * end with a small RFB client over a Unix socket. */
#include <errno.h>
#include <png.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "filters.h"
#include "../tools/rfb_client.h"
#include "common/bytes.h"
#include "devices/bochs_display.h"
#include "devices/i8042.h"
#include "ui/display.h"
#include "ui/image.h"
#include "ui/keymap.h"
#include "ui/vnc.h"
#include "kvm/dirty_log.h"

struct fixture {
	struct bochs_display dev;
	uint8_t *vram;
	struct i8042 kbd;
	uint64_t mapped;
	unsigned maps;
};

static void fake_map(void *opaque, uint64_t gpa)
{
	struct fixture *f = opaque;

	f->mapped = gpa;
	f->maps++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->vram = calloc(1, BOCHS_VRAM_SIZE);
	bochs_init(&f->dev, f->vram, fake_map, f);
	i8042_init(&f->kbd, NULL, NULL, NULL, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	bochs_destroy(&f->dev);
	i8042_destroy(&f->kbd);
	free(f->vram);
	free(f);
	return 0;
}

static void dispi_w(struct bochs_display *b, uint16_t idx, uint16_t v)
{
	uint8_t d[2];

	put_le16(d, idx);
	bochs_dispi_io(b, 0, d, 2, true);
	put_le16(d, v);
	bochs_dispi_io(b, 1, d, 2, true);
}

static uint16_t dispi_r(struct bochs_display *b, uint16_t idx)
{
	uint8_t d[2];

	put_le16(d, idx);
	bochs_dispi_io(b, 0, d, 2, true);
	bochs_dispi_io(b, 1, d, 2, false);
	return get_le16(d);
}

static void set_mode(struct bochs_display *b, unsigned w, unsigned h, unsigned bpp)
{
	dispi_w(b, DISPI_ENABLE, 0);
	dispi_w(b, DISPI_BPP, (uint16_t)bpp);
	dispi_w(b, DISPI_XRES, (uint16_t)w);
	dispi_w(b, DISPI_YRES, (uint16_t)h);
	dispi_w(b, DISPI_ENABLE, DISPI_ENABLED | DISPI_LFB_ENABLED);
}

static void test_registers(void **state)
{
	struct fixture *f = *state;
	struct bochs_mode m;
	uint8_t d[4];

	assert_int_equal(dispi_r(&f->dev, DISPI_ID), DISPI_ID5);
	assert_int_equal(dispi_r(&f->dev, DISPI_VIDEO_MEMORY_64K), BOCHS_VRAM_SIZE >> 16);
	dispi_w(&f->dev, DISPI_ENABLE, DISPI_GETCAPS);
	assert_int_equal(dispi_r(&f->dev, DISPI_XRES), BOCHS_MAX_W);
	assert_int_equal(dispi_r(&f->dev, DISPI_YRES), BOCHS_MAX_H);
	assert_int_equal(dispi_r(&f->dev, DISPI_BPP), 32);
	bochs_get_mode(&f->dev, &m);
	assert_false(m.enabled);

	set_mode(&f->dev, 1024, 768, 32);
	bochs_get_mode(&f->dev, &m);
	assert_true(m.enabled);
	assert_int_equal(m.width, 1024);
	assert_int_equal(m.stride, 4096);
	assert_int_equal(m.offset, 0);
	/* A page flip, as the bochs DRM driver does it: the offset moves the scan-out. */
	dispi_w(&f->dev, DISPI_Y_OFFSET, 768);
	bochs_get_mode(&f->dev, &m);
	assert_int_equal(m.offset, 768 * 4096);
	/* An offset that pushes the screen past VRAM's end shows nothing. */
	dispi_w(&f->dev, DISPI_Y_OFFSET, 0x2000);
	bochs_get_mode(&f->dev, &m);
	assert_false(m.enabled);
	/* Too big, or a depth we don't have: nothing. */
	set_mode(&f->dev, 4096, 2160, 32);
	bochs_get_mode(&f->dev, &m);
	assert_false(m.enabled);
	set_mode(&f->dev, 800, 600, 12);
	bochs_get_mode(&f->dev, &m);
	assert_false(m.enabled);
	set_mode(&f->dev, 3840, 2160, 32);
	bochs_get_mode(&f->dev, &m);
	assert_true(m.enabled);

	/* The same registers in BAR2 at 0x500 + 2 * index, and QEMU's extended registers. */
	f->dev.pci.ops->bar_io(&f->dev.pci, 2, 0x500 + 2 * DISPI_XRES, d, 2, false);
	assert_int_equal(get_le16(d), 3840);
	f->dev.pci.ops->bar_io(&f->dev.pci, 2, 0x600, d, 4, false);
	assert_int_equal(get_le32(d), 8);
	put_le32(d, 0xBEBEBEBE);
	f->dev.pci.ops->bar_io(&f->dev.pci, 2, 0x604, d, 4, true);
	f->dev.pci.ops->bar_io(&f->dev.pci, 2, 0x604, d, 4, false);
	assert_int_equal(get_le32(d), 0xBEBEBEBE);
	/* Odd sizes and offsets: ignored, reads are 0, nothing breaks. */
	f->dev.pci.ops->bar_io(&f->dev.pci, 2, 0x501, d, 2, true);
	f->dev.pci.ops->bar_io(&f->dev.pci, 2, 0xFFC, d, 4, false);
	assert_int_equal(get_le32(d), 0);
	/* BAR0 moves reach the VMM's callback. */
	f->dev.pci.ops->bar_remap(&f->dev.pci, 0, 0xC1000000);
	assert_int_equal(f->mapped, 0xC1000000);
}

static void test_edid(void **state)
{
	struct fixture *f = *state;
	uint8_t e[128], sum = 0;

	for (unsigned i = 0; i < 128; i += 4)
		f->dev.pci.ops->bar_io(&f->dev.pci, 2, i, e + i, 4, false);
	assert_memory_equal(e, "\0\xFF\xFF\xFF\xFF\xFF\xFF\0", 8);
	for (unsigned i = 0; i < 128; i++)
		sum = (uint8_t)(sum + e[i]);
	assert_int_equal(sum, 0);
	/* The preferred (first detailed) timing is 1280x800. */
	assert_int_equal(e[56] | (e[58] >> 4) << 8, BOCHS_DEFAULT_W);
	assert_int_equal(e[59] | (e[61] >> 4) << 8, BOCHS_DEFAULT_H);
	bochs_make_edid(e, 3840, 2160);
	assert_int_equal(e[56] | (e[58] >> 4) << 8, 3840);
	assert_int_equal(e[59] | (e[61] >> 4) << 8, 2160);
}

static void test_keymap(void **state)
{
	uint8_t b[KEYMAP_MAX_BYTES];

	(void)state;
	assert_int_equal(keymap_scancode('a', true, b), 1);
	assert_int_equal(b[0], 0x1E);
	assert_int_equal(keymap_scancode('A', false, b), 1);
	assert_int_equal(b[0], 0x9E);
	assert_int_equal(keymap_scancode('|', true, b), 1);
	assert_int_equal(b[0], 0x2B);
	assert_int_equal(keymap_scancode(0xFF0D, true, b), 1); /* Return */
	assert_int_equal(b[0], 0x1C);
	assert_int_equal(keymap_scancode(0xFF52, false, b), 2); /* Up */
	assert_memory_equal(b, "\xE0\xC8", 2);
	assert_int_equal(keymap_scancode(0xFFBE, true, b), 1); /* F1 */
	assert_int_equal(b[0], 0x3B);
	assert_int_equal(keymap_scancode(0x20AC, true, b), 0); /* EuroSign: no US key */
	assert_int_equal(keymap_scancode(0xFFFFFFFF, true, b), 0);
}

struct marks {
	unsigned n;
	unsigned x[8], y[8], w[8], h[8];
};

static void mark(void *opaque, unsigned x, unsigned y, unsigned w, unsigned h)
{
	struct marks *m = opaque;

	if (m->n < 8) {
		m->x[m->n] = x, m->y[m->n] = y, m->w[m->n] = w, m->h[m->n] = h;
	}
	m->n++;
}

static uint64_t dirty_page, dirty_start, dirty_len;
static int fake_dirty(void *opaque, uint64_t *bm, size_t bytes, uint64_t start, uint64_t len)
{
	(void)opaque;
	dirty_start = start, dirty_len = len;
	memset(bm, 0, bytes);
	if (dirty_page != UINT64_MAX)
		bm[dirty_page / 64] |= 1ull << (dirty_page % 64);
	return 0;
}

static void test_refresh(void **state)
{
	struct fixture *f = *state;
	struct display *d = calloc(1, sizeof(*d));
	struct display_src src = {.dev = &f->dev, .kbd = &f->kbd, .get_dirty = fake_dirty};
	struct marks m = {0};

	pthread_mutex_init(&d->lock, NULL);
	set_mode(&f->dev, 64, 32, 32);
	display_attach(d, &src);
	dirty_page = UINT64_MAX;
	display_refresh(d, mark, &m);
	assert_int_equal(d->width, 64);
	/* The log is re-armed for the visible frame only: 32 rows of 256 bytes. */
	assert_int_equal(dirty_start, 0);
	assert_int_equal(dirty_len, 32 * 256);
	assert_int_equal(m.n, 1); /* the first frame: everything */
	assert_int_equal(m.w[0] * m.h[0], 64 * 32);
	/* Idle: nothing dirty, nothing converted, nothing sent. */
	m.n = 0;
	display_refresh(d, mark, &m);
	assert_int_equal(m.n, 0);
	/* One pixel at (5, 7): its page is dirty; one 1x1 rectangle. */
	put_le32(f->vram + 7 * 256 + 5 * 4, 0x00123456);
	dirty_page = 0;
	display_refresh(d, mark, &m);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.x[0], 5);
	assert_int_equal(m.y[0], 7);
	assert_int_equal(m.w[0], 1);
	assert_int_equal(m.h[0], 1);
	assert_int_equal(d->fb[7 * 64 + 5], 0x123456);
	/* A page flip (the second half of a 64x64 virtual screen): its range, from its first
	 * pixel to its last. */
	dispi_w(&f->dev, DISPI_VIRT_HEIGHT, 64);
	dispi_w(&f->dev, DISPI_Y_OFFSET, 32);
	dirty_page = UINT64_MAX;
	display_refresh(d, mark, &m);
	assert_int_equal(dirty_start, 32 * 256);
	assert_int_equal(dirty_len, 32 * 256);
	dispi_w(&f->dev, DISPI_Y_OFFSET, 0);
	/* 16 bpp (RGB565): pure red and pure green expand to 0xFF. */
	set_mode(&f->dev, 16, 8, 16);
	put_le16(f->vram, 0xF800);
	put_le16(f->vram + 2, 0x07E0);
	m.n = 0;
	display_refresh(d, mark, &m);
	assert_int_equal(d->width, 16);
	assert_int_equal(d->fb[0], 0xFF0000);
	assert_int_equal(d->fb[1], 0x00FF00);
	/* Disabled: black. */
	dispi_w(&f->dev, DISPI_ENABLE, 0);
	display_refresh(d, mark, &m);
	assert_int_equal(d->fb[0], 0);
	assert_int_equal(dirty_len, 0); /* nothing read: nothing re-armed */
	display_detach(d);
	free(d->fb);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

/* Which pages KVM_CLEAR_DIRTY_LOG gets: only dirty ones inside the range, 64-page aligned. */
static void test_dirty_clear(void **state)
{
	uint64_t bm[128], out[128];
	struct dirty_clear c;

	(void)state;
	/* 1280x800 at 32 bpp over a 32 MiB slot: pages 0..999 drawn, page 5000 too (outside). */
	memset(bm, 0, sizeof(bm));
	for (unsigned p = 0; p < 1000; p++)
		bm[p / 64] |= 1ull << (p % 64);
	bm[5000 / 64] |= 1ull << (5000 % 64);
	memset(out, 0xAA, sizeof(out));
	assert_int_equal(dirty_clear_range(bm, 8192, 0, 1280 * 800 * 4, out, &c), 1000);
	assert_int_equal(c.first_page, 0);
	assert_int_equal(c.num_pages, 1024);
	assert_int_equal(c.npages, 1000);
	for (unsigned w = 0; w < 15; w++)
		assert_true(out[w] == ~0ull);
	assert_true(out[15] == (1ull << 40) - 1); /* pages 960..999 */
	/* The same range, nothing dirty inside it (only page 5000): no call. */
	memset(bm, 0, sizeof(bm));
	bm[5000 / 64] |= 1ull << (5000 % 64);
	assert_int_equal(dirty_clear_range(bm, 8192, 0, 1280 * 800 * 4, out, &c), 0);
	assert_int_equal(c.num_pages, 0);
	/* Sparse: pages 600 and 700 only; the call covers words 9 and 10. */
	bm[600 / 64] |= 1ull << (600 % 64);
	bm[700 / 64] |= 1ull << (700 % 64);
	assert_int_equal(dirty_clear_range(bm, 8192, 0, 1280 * 800 * 4, out, &c), 2);
	assert_int_equal(c.first_page, 576);
	assert_int_equal(c.num_pages, 128);
	assert_true(out[0] == 1ull << 24);
	assert_true(out[1] == 1ull << 60);
	/* An unaligned range: bytes 70 pages + 100 on, 3 pages long, touch pages 70..73. */
	memset(bm, 0xFF, sizeof(bm));
	assert_int_equal(dirty_clear_range(bm, 8192, 70 * 4096 + 100, 3 * 4096, out, &c), 4);
	assert_int_equal(c.first_page, 64);
	assert_int_equal(c.num_pages, 64);
	assert_true(out[0] == 0x3C0ull);
	/* Exactly one page: its last byte is still on it. */
	assert_int_equal(dirty_clear_range(bm, 8192, 4096, 4096, out, &c), 1);
	assert_true(out[0] == 2);
	/* Clipped to a slot of 100 pages (not a multiple of 64): the call ends at the slot's end.
	 */
	assert_int_equal(dirty_clear_range(bm, 100, 90 * 4096, UINT64_MAX, out, &c), 10);
	assert_int_equal(c.first_page, 64);
	assert_int_equal(c.num_pages, 36);
	assert_true(out[0] == ((1ull << 36) - 1) - ((1ull << 26) - 1));
	/* Outside the slot, or empty: nothing. */
	assert_int_equal(dirty_clear_range(bm, 100, 100 * 4096, 4096, out, &c), 0);
	assert_int_equal(dirty_clear_range(bm, 100, 0, 0, out, &c), 0);
	assert_int_equal(c.num_pages, 0);
}

static void test_images(void **state)
{
	uint32_t px[6] = {0xFF0000, 0x00FF00, 0x0000FF, 0xFFFFFF, 0x000000, 0x123456};
	png_image img;
	uint8_t *out, rgb[18];
	size_t len;

	(void)state;
	assert_int_equal(image_png(px, 3, 2, &out, &len), 0);
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	assert_true(png_image_begin_read_from_memory(&img, out, len));
	assert_int_equal(img.width, 3);
	assert_int_equal(img.height, 2);
	img.format = PNG_FORMAT_RGB;
	assert_true(png_image_finish_read(&img, NULL, rgb, 0, NULL));
	for (unsigned i = 0; i < 6; i++) {
		assert_int_equal(rgb[3 * i], (px[i] >> 16) & 0xFF);
		assert_int_equal(rgb[3 * i + 2], px[i] & 0xFF);
	}
	free(out);
	assert_int_equal(image_ppm(px, 3, 2, &out, &len), 0);
	assert_int_equal(len, 11 + 18);
	assert_memory_equal(out, "P6\n3 2\n255\n\xFF\0\0", 14);
	free(out);
	assert_int_equal(image_png(px, 0, 2, &out, &len), -EINVAL);
}

/* The keyboard's queue, filled by the display thread: read under the controller's lock. */
static unsigned kbd_queued(struct i8042 *k)
{
	unsigned n;

	pthread_mutex_lock(&k->lock);
	n = k->q_count;
	pthread_mutex_unlock(&k->lock);
	return n;
}

static void test_vnc(void **state)
{
	struct fixture *f = *state;
	struct display_config cfg = {.kind = DISPLAY_VNC};
	struct display *d = calloc(1, sizeof(*d));
	struct display_src src = {.dev = &f->dev, .kbd = &f->kbd};
	struct rfb_client c = {0}, c2 = {0};
	char err[256], addr[128];
	uint8_t b;

	snprintf(cfg.vnc_unix, sizeof(cfg.vnc_unix), "/tmp/phyllome-test-vnc-%d.sock", getpid());
	snprintf(addr, sizeof(addr), "unix:%s", cfg.vnc_unix);
	set_mode(&f->dev, 320, 200, 32);
	for (unsigned i = 0; i < 320 * 200; i++)
		put_le32(f->vram + 4 * i, i < 320 * 100 ? 0x00FF8000 : 0x000080FF);
	/* Under the display thread's own filter, as in the VMM: a call it lacks ends the test. */
	assert_int_equal(display_start(d, &cfg, NULL, FILTERS, err, sizeof(err)), 0);
	display_attach(d, &src);
	assert_int_equal(rfb_connect(&c, addr, err, sizeof(err)), 0);
	/* Several clients at once. */
	assert_int_equal(rfb_connect(&c2, addr, err, sizeof(err)), 0);
	for (int tries = 0; tries < 20 && (c.width != 320 || c.fb[0] != 0xFF8000); tries++)
		rfb_update(&c, false, 500);
	assert_int_equal(c.width, 320);
	assert_int_equal(c.height, 200);
	assert_int_equal(c.fb[0], 0xFF8000);
	assert_int_equal(c.fb[320 * 150 + 10], 0x0080FF);
	for (int tries = 0; tries < 20 && (c2.width != 320 || c2.fb[320 * 199] != 0x0080FF);
	     tries++)
		rfb_update(&c2, false, 500);
	assert_int_equal(c2.fb[320 * 199], 0x0080FF);
	/* A key through VNC reaches the PS/2 keyboard as its set-1 scancodes. */
	rfb_key(&c, 'a', true);
	rfb_key(&c, 'a', false);
	for (int tries = 0; tries < 100 && kbd_queued(&f->kbd) < 2; tries++)
		usleep(10000);
	i8042_data_io(&f->kbd, 0, &b, 1, false);
	assert_int_equal(b, 0x1E);
	i8042_data_io(&f->kbd, 0, &b, 1, false);
	assert_int_equal(b, 0x9E);
	/* A screenshot of what VNC shows. */
	{
		uint8_t *img;
		size_t len;

		assert_int_equal(display_screenshot(d, DISPLAY_PPM, &img, &len), 0);
		assert_int_equal(len, 15 + 320 * 200 * 3);
		assert_memory_equal(img + 15, "\xFF\x80\x00", 3);
		free(img);
	}
	rfb_close(&c);
	rfb_close(&c2);
	display_detach(d);
	display_stop(d);
	assert_int_equal(access(cfg.vnc_unix, F_OK), -1);
	free(d);
}

static int all_dirty(void *opaque, uint64_t *bm, size_t bytes, uint64_t start, uint64_t len)
{
	(void)opaque, (void)start, (void)len;
	memset(bm, 0xFF, bytes);
	return 0;
}

static uint64_t fetches(struct display *d)
{
	uint64_t n;

	pthread_mutex_lock(&d->lock);
	n = d->stats.fetches;
	pthread_mutex_unlock(&d->lock);
	return n;
}

static void fill(struct fixture *f, unsigned from, unsigned to, uint32_t px)
{
	for (unsigned i = from; i < to; i++)
		put_le32(f->vram + 4 * i, px);
}

/* The refresh follows the clients' requests: a client that has not asked gets nothing and costs
 * no dirty-log read; when it asks, it gets the current picture; a screenshot is current even
 * then; a mode change is noticed without any request. */
static void test_vnc_throttle(void **state)
{
	struct fixture *f = *state;
	struct display_config cfg = {.kind = DISPLAY_VNC};
	struct display *d = calloc(1, sizeof(*d));
	struct display_src src = {.dev = &f->dev, .kbd = &f->kbd, .get_dirty = all_dirty};
	struct rfb_client c = {0};
	struct pollfd p;
	char err[256], addr[128];
	uint64_t n;
	uint8_t *img;
	size_t len;

	snprintf(cfg.vnc_unix, sizeof(cfg.vnc_unix), "/tmp/phyllome-test-vnct-%d.sock", getpid());
	snprintf(addr, sizeof(addr), "unix:%s", cfg.vnc_unix);
	set_mode(&f->dev, 320, 200, 32);
	fill(f, 0, 320 * 200, 0x00112233);
	assert_int_equal(display_start(d, &cfg, NULL, FILTERS, err, sizeof(err)), 0);
	display_attach(d, &src);
	assert_int_equal(rfb_connect(&c, addr, err, sizeof(err)), 0);
	for (int tries = 0; tries < 20 && (c.width != 320 || c.fb[320 * 199] != 0x112233); tries++)
		rfb_update(&c, false, 500);
	assert_int_equal(c.fb[320 * 199], 0x112233);
	/* Every request is answered: none is outstanding. The guest draws the bottom half. */
	usleep(100000);
	n = fetches(d);
	fill(f, 320 * 100, 320 * 200, 0x00445566);
	usleep(300000); /* about 9 ticks at 30 Hz */
	assert_int_equal(fetches(d), n);
	p = (struct pollfd){.fd = c.fd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 0), 0);
	/* Asked, it gets what was drawn meanwhile in the first update. */
	assert_true(rfb_update(&c, true, 2000) > 0);
	assert_int_equal(c.fb[320 * 150 + 10], 0x445566);
	assert_int_equal(c.fb[10], 0x112233);
	assert_true(fetches(d) > n);
	/* Not asking again; the guest draws the top half: a screenshot shows it. */
	usleep(100000);
	fill(f, 0, 320 * 100, 0x00778899);
	n = fetches(d);
	assert_int_equal(display_screenshot(d, DISPLAY_PPM, &img, &len), 0);
	assert_int_equal(len, 15 + 320 * 200 * 3);
	assert_memory_equal(img + 15, "\x77\x88\x99", 3);
	assert_memory_equal(img + 15 + 320 * 150 * 3, "\x44\x55\x66", 3);
	free(img);
	assert_true(fetches(d) > n);
	/* The screenshot's refresh is not lost for the client: its next update carries it. */
	assert_int_equal(poll(&p, 1, 0), 0);
	assert_true(rfb_update(&c, true, 2000) > 0);
	assert_int_equal(c.fb[10], 0x778899);
	/* A mode change with no request outstanding: the display takes the new size (the pointer
	 * scales to it), and the client's next update brings it. */
	set_mode(&f->dev, 160, 100, 32);
	fill(f, 0, 160 * 100, 0x00AABBCC);
	for (int tries = 0; tries < 500; tries++) {
		unsigned w;

		pthread_mutex_lock(&d->lock);
		w = d->width;
		pthread_mutex_unlock(&d->lock);
		if (w == 160)
			break;
		usleep(10000);
	}
	assert_int_equal(d->width, 160);
	for (int tries = 0; tries < 20 && (c.width != 160 || c.fb[160 * 99] != 0xAABBCC); tries++)
		rfb_update(&c, true, 500);
	assert_int_equal(c.width, 160);
	assert_int_equal(c.fb[160 * 99], 0xAABBCC);
	rfb_close(&c);
	display_detach(d);
	display_stop(d);
	free(d);
}

/* A viewer whose ServerInit carried the old size and whose SetEncodings (with DesktopSize) comes
 * after the guest changed its mode still learns the new size (libvncserver alone would keep it
 * at the old one). */
static void test_vnc_late_encodings(void **state)
{
	struct fixture *f = *state;
	struct display_config cfg = {.kind = DISPLAY_VNC};
	struct display *d = calloc(1, sizeof(*d));
	struct display_src src = {.dev = &f->dev, .kbd = &f->kbd};
	struct rfb_client c = {.hold_formats = true};
	char err[256], addr[128];

	snprintf(cfg.vnc_unix, sizeof(cfg.vnc_unix), "/tmp/phyllome-test-vncl-%d.sock", getpid());
	snprintf(addr, sizeof(addr), "unix:%s", cfg.vnc_unix);
	assert_int_equal(display_start(d, &cfg, NULL, FILTERS, err, sizeof(err)), 0);
	/* Connected while nothing is attached: the blank screen's size. */
	assert_int_equal(rfb_connect_held(&c, addr, err, sizeof(err)), 0);
	assert_int_not_equal(c.width, 320);
	set_mode(&f->dev, 320, 200, 32);
	for (unsigned i = 0; i < 320 * 200; i++)
		put_le32(f->vram + 4 * i, 0x00336699);
	display_attach(d, &src);
	for (int tries = 0; tries < 500; tries++) {
		unsigned w;

		pthread_mutex_lock(&d->lock);
		w = d->width;
		pthread_mutex_unlock(&d->lock);
		if (w == 320)
			break;
		usleep(10000);
	}
	/* Only now the client says it can resize. */
	assert_int_equal(rfb_send_formats(&c), 0);
	for (int tries = 0; tries < 20 && (c.width != 320 || c.fb[0] != 0x336699); tries++)
		rfb_update(&c, false, 500);
	assert_int_equal(c.width, 320);
	assert_int_equal(c.height, 200);
	assert_int_equal(c.fb[320 * 199 + 319], 0x336699);
	rfb_close(&c);
	display_detach(d);
	display_stop(d);
	free(d);
}

/* With password=FILE the server offers VNC authentication only: a client that can't do it (ours)
 * gets nothing. */
static void test_vnc_password(void **state)
{
	struct fixture *f = *state;
	struct display_config cfg = {.kind = DISPLAY_VNC};
	struct display *d = calloc(1, sizeof(*d));
	struct rfb_client c = {0};
	char err[256], addr[128];
	FILE *pw;

	snprintf(cfg.vnc_unix, sizeof(cfg.vnc_unix), "/tmp/phyllome-test-vncpw-%d.sock", getpid());
	snprintf(cfg.password_file, sizeof(cfg.password_file), "/tmp/phyllome-test-vncpw-%d",
		 getpid());
	snprintf(addr, sizeof(addr), "unix:%s", cfg.vnc_unix);
	pw = fopen(cfg.password_file, "w");
	assert_non_null(pw);
	fputs("s3cret\n", pw);
	fclose(pw);
	assert_int_equal(display_start(d, &cfg, NULL, FILTERS, err, sizeof(err)), 0);
	unlink(cfg.password_file);
	assert_int_equal(rfb_connect(&c, addr, err, sizeof(err)), -EACCES);
	assert_non_null(strstr(err, "password"));
	display_stop(d);
	free(d);
	(void)f;
	/* An unreadable password file is refused at start. */
	d = calloc(1, sizeof(*d));
	assert_int_equal(display_start(d, &cfg, NULL, FILTERS, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "password="));
	display_stop(d);
	free(d);
}

/* A WebSocket client (what the browser console's noVNC is), with the gate's and the display
 * thread's filters on: the gate answers the upgrade (RFC 6455's example key and answer, SHA-1
 * from GnuTLS) and the RFB handshake inside the frames, and only then does libvncserver get a
 * client, which the gate relays to. */
static void test_websocket(void **state)
{
	static const char req[] = "GET /websockify HTTP/1.1\r\nHost: localhost\r\n"
				  "Origin: http://localhost\r\n"
				  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
				  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				  "Sec-WebSocket-Version: 13\r\n\r\n";
	struct fixture *f = *state;
	struct display_config cfg = {.kind = DISPLAY_VNC};
	struct display *d = calloc(1, sizeof(*d));
	struct display_src src = {.dev = &f->dev, .kbd = &f->kbd};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct rfb_client c = {.websocket = true};
	char err[256], resp[512] = "", addr[128];
	size_t got = 0;
	int fd;

	snprintf(cfg.vnc_unix, sizeof(cfg.vnc_unix), "/tmp/phyllome-test-ws-%d.sock", getpid());
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", cfg.vnc_unix);
	snprintf(addr, sizeof(addr), "unix:%s", cfg.vnc_unix);
	set_mode(&f->dev, 320, 200, 32);
	for (unsigned i = 0; i < 320 * 200; i++)
		put_le32(f->vram + 4 * i, 0x123456);
	assert_int_equal(display_start(d, &cfg, NULL, FILTERS, err, sizeof(err)), 0);
	display_attach(d, &src);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
	/* The answer, and the RFB greeting in a binary frame (0x82, 12 bytes). */
	for (int tries = 0; tries < 50 && !strstr(resp, "RFB 003.008"); tries++) {
		struct timeval tv = {0, 100000};
		ssize_t n;

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		n = read(fd, resp + got, sizeof(resp) - 1 - got);
		if (n > 0)
			got += (size_t)n;
		for (size_t i = 0; i < got; i++) /* frame bytes may be 0: keep strstr going */
			resp[i] = resp[i] ? resp[i] : '.';
		resp[got] = 0;
	}
	assert_non_null(strstr(resp, "101"));
	assert_non_null(strstr(resp, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
	assert_non_null(strstr(resp, "\r\n\r\n\x82\x0cRFB 003.008\n"));
	/* Not authenticated: libvncserver has not seen it. */
	assert_int_equal(vnc_clients(d->vnc), 0);
	close(fd);
	/* A whole viewer over the WebSocket gets the screen. */
	assert_int_equal(rfb_connect(&c, addr, err, sizeof(err)), 0);
	assert_int_equal(c.width, 320);
	assert_int_equal(c.height, 200);
	for (int tries = 0; tries < 20 && c.fb[320 * 199] != 0x123456; tries++)
		rfb_update(&c, false, 500);
	assert_int_equal(c.fb[320 * 199], 0x123456);
	assert_int_equal(vnc_clients(d->vnc), 1);
	rfb_close(&c);
	for (int tries = 0; tries < 500 && vnc_clients(d->vnc); tries++)
		usleep(10000);
	assert_int_equal(vnc_clients(d->vnc), 0);
	display_detach(d);
	display_stop(d);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_registers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edid, setup, teardown),
	    cmocka_unit_test(test_keymap),
	    cmocka_unit_test_setup_teardown(test_refresh, setup, teardown),
	    cmocka_unit_test(test_dirty_clear),
	    cmocka_unit_test(test_images),
	    cmocka_unit_test_setup_teardown(test_vnc, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vnc_late_encodings, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vnc_throttle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vnc_password, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_websocket, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
