/* The native window (--display window) under an X server (Xvfb, through tests/unit/xvfb.sh):
 * the display shows a bochs device's frame in it, and xwd reads the window back: the same pixels.
 * Runs under the VMM thread's seccomp filter (the window thread adds none of its own). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "filters.h"
#include "common/bytes.h"
#include "devices/bochs_display.h"
#include "devices/i8042.h"
#include "ui/display.h"
#include "kvm/seccomp.h"

/* The pixel (x, y) of an XWD dump (ZPixmap, 32 bits per pixel) as 0x00RRGGBB. */
static uint32_t xwd_pixel(const uint8_t *f, size_t len, unsigned x, unsigned y)
{
	uint32_t hsize = get_be32(f), bpl = get_be32(f + 48), ncolors = get_be32(f + 76);
	uint32_t order = get_be32(f + 28);
	size_t off = hsize + (size_t)ncolors * 12 + (size_t)y * bpl + (size_t)x * 4;

	assert_int_equal(get_be32(f + 44), 32);
	assert_true(off + 4 <= len);
	return (order ? get_be32(f + off) : get_le32(f + off)) & 0xFFFFFF;
}

static void dispi_w(struct bochs_display *b, uint16_t idx, uint16_t v)
{
	uint8_t d[2];

	put_le16(d, idx);
	bochs_dispi_io(b, 0, d, 2, true);
	put_le16(d, v);
	bochs_dispi_io(b, 1, d, 2, true);
}

struct starter {
	struct display *d;
	const struct display_config *cfg;
	char err[256];
	int rc;
};

/* Starts the display from a thread under the VMM thread's filter, which the display and window
 * threads inherit, as in phyllome-vmm; the test's own thread stays free to run xwd. */
static void *start_filtered(void *arg)
{
	struct starter *s = arg;

	/* WLOG=1: only log what the filter would refuse (dmesg), to find what a new SDL needs. */
	s->rc = seccomp_install(SECCOMP_VMM_WINDOW, getenv("WLOG") ? SECCOMP_LOG : FILTERS);
	if (s->rc == 0)
		s->rc = display_start(s->d, s->cfg, NULL, FILTERS, s->err, sizeof(s->err));
	return NULL;
}

static void test_window_shows_frame(void **state)
{
	struct display_config cfg = {.kind = DISPLAY_WINDOW};
	struct display *d = calloc(1, sizeof(*d));
	uint8_t *vram = calloc(1, BOCHS_VRAM_SIZE), *img = NULL;
	struct bochs_display b;
	struct i8042 k;
	struct display_src src = {.dev = &b, .kbd = &k};
	char path[64], cmd[160];
	struct starter st = {d, &cfg, "", 0};
	pthread_t t;
	size_t len = 0;
	FILE *f;

	(void)state;
	if (!getenv("DISPLAY")) {
		skip();
		return;
	}
	bochs_init(&b, vram, NULL, NULL);
	i8042_init(&k, NULL, NULL, NULL, NULL);
	dispi_w(&b, DISPI_BPP, 32);
	dispi_w(&b, DISPI_XRES, 320);
	dispi_w(&b, DISPI_YRES, 200);
	dispi_w(&b, DISPI_ENABLE, DISPI_ENABLED | DISPI_LFB_ENABLED);
	for (unsigned i = 0; i < 320 * 200; i++)
		put_le32(vram + 4 * i, i % 320 < 160 ? 0x00FF8000 : 0x000080FF);
	assert_int_equal(pthread_create(&t, NULL, start_filtered, &st), 0);
	pthread_join(t, NULL);
	if (st.rc < 0)
		fail_msg("%s", st.err);
	display_attach(d, &src);
	sleep(2); /* a few refreshes, and the window's first frames */
	snprintf(path, sizeof(path), "/tmp/phyllome-test-window-%d.xwd", getpid());
	snprintf(cmd, sizeof(cmd), "xwd -silent -name Phyllome -out %s", path);
	assert_int_equal(system(cmd), 0);
	f = fopen(path, "rb");
	assert_non_null(f);
	img = malloc(16 << 20);
	len = fread(img, 1, 16 << 20, f);
	fclose(f);
	unlink(path);
	assert_int_equal(get_be32(img + 16), 320); /* the window has the screen's size */
	assert_int_equal(get_be32(img + 20), 200);
	assert_int_equal(xwd_pixel(img, len, 10, 10), 0xFF8000);
	assert_int_equal(xwd_pixel(img, len, 300, 190), 0x0080FF);
	free(img);
	display_detach(d);
	display_stop(d);
	free(d);
	i8042_destroy(&k);
	bochs_destroy(&b);
	free(vram);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_window_shows_frame),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
