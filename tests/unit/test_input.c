/* Input routing (display_route in src/ui/display.c, docs/display.md "Input"): keys go to the
 * PS/2 keyboard until the guest has configured the USB keyboard, then to it alone, and back to
 * PS/2 when a reset unconfigures it; pointer events go to the USB tablet once configured, scaled
 * to 0..32767 over the screen, with VNC's buttons in HID's order and its buttons 4/5 as wheel
 * steps. The USB side is driven by tests/unit/xhci_driver.c as a guest's driver would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/bytes.h"
#include "devices/bochs_display.h"
#include "devices/i8042.h"
#include "ui/display.h"
#include "xhci_driver.h"

#define DISPI_XRES   1
#define DISPI_YRES   2
#define DISPI_BPP    3
#define DISPI_ENABLE 4
#define REPORT	     (BUF + 0x800)
#define INT_DCI	     3

struct fixture {
	struct xdrv usb;
	struct bochs_display dev;
	uint8_t *vram;
	struct i8042 kbd;
	struct display d;
};

static void no_map(void *opaque, uint64_t gpa)
{
	(void)opaque;
	(void)gpa;
}

static void dispi_w(struct bochs_display *b, uint16_t idx, uint16_t v)
{
	uint8_t d[2];

	put_le16(d, idx);
	bochs_dispi_io(b, 0, d, 2, true);
	put_le16(d, v);
	bochs_dispi_io(b, 1, d, 2, true);
}

static void no_mark(void *opaque, unsigned x, unsigned y, unsigned w, unsigned h)
{
	(void)opaque, (void)x, (void)y, (void)w, (void)h;
}

/* A 64x32 screen (so the display knows its size), PS/2 and the USB controller attached. */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct display_src src;

	assert_non_null(f);
	xd_init(&f->usb);
	f->vram = calloc(1, BOCHS_VRAM_SIZE);
	bochs_init(&f->dev, f->vram, no_map, f);
	i8042_init(&f->kbd, NULL, NULL, NULL, NULL);
	dispi_w(&f->dev, DISPI_BPP, 32);
	dispi_w(&f->dev, DISPI_XRES, 64);
	dispi_w(&f->dev, DISPI_YRES, 32);
	dispi_w(&f->dev, DISPI_ENABLE, 0x41);
	pthread_mutex_init(&f->d.lock, NULL);
	src = (struct display_src){.dev = &f->dev, .kbd = &f->kbd, .usb = &f->usb.x};
	display_attach(&f->d, &src);
	display_refresh(&f->d, no_mark, NULL);
	assert_int_equal(f->d.width, 64);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	display_detach(&f->d);
	free(f->d.fb);
	pthread_mutex_destroy(&f->d.lock);
	i8042_destroy(&f->kbd);
	bochs_destroy(&f->dev);
	free(f->vram);
	xd_fini(&f->usb);
	free(f);
	return 0;
}

/* The next interrupt IN report of slot's endpoint 0x81, or 0 when none comes. */
static unsigned report(struct fixture *f, unsigned slot, uint8_t out[8])
{
	struct xd_ev v;

	memset(f->usb.mem + REPORT, 0, 8);
	xd_put_trb(&f->usb, &f->usb.intr[slot], REPORT, 8, T_NORMAL << 10 | 1u << 5 | 1u << 2);
	xd_wr(&f->usb, DB(slot), INT_DCI);
	if (!xd_next_event(&f->usb, &v))
		return 0;
	assert_int_equal(v.type, T_XFER_EV);
	memcpy(out, f->usb.mem + REPORT, 8);
	return 8 - v.len;
}

static void test_keys(void **state)
{
	struct fixture *f = *state;
	unsigned slot, before;
	uint8_t r[8];

	/* Not configured: PS/2 gets the key ('a': make 0x1E). */
	display_key(&f->d, 'a', true);
	display_key(&f->d, 'a', false);
	assert_int_equal(f->kbd.q_count, 2);
	slot = xd_enumerate(&f->usb, XHCI_KBD_PORT);
	/* Configured: the USB keyboard alone (usage 0x04 for 'a', 0x28 for Return). */
	before = f->kbd.q_count;
	display_key(&f->d, 'a', true);
	assert_int_equal(f->kbd.q_count, before);
	assert_int_equal(report(f, slot, r), 8);
	assert_int_equal(r[2], 0x04);
	display_key(&f->d, 'a', false);
	display_key(&f->d, 0xFF0D, true);
	display_key(&f->d, 0xFFE1, true); /* Shift_L: a modifier bit */
	assert_int_equal(report(f, slot, r), 8);
	assert_int_equal(r[2], 0);
	assert_int_equal(report(f, slot, r), 8);
	assert_int_equal(r[2], 0x28);
	assert_int_equal(report(f, slot, r), 8);
	assert_int_equal(r[0], 0x02);
	assert_int_equal(f->kbd.q_count, before);
	/* A port reset unconfigures it: back to PS/2. */
	xd_port_reset(&f->usb, XHCI_KBD_PORT);
	display_key(&f->d, 'a', true);
	assert_int_equal(f->kbd.q_count, before + 1);
}

static void test_pointer(void **state)
{
	struct fixture *f = *state;
	unsigned slot = xd_enumerate(&f->usb, XHCI_TABLET_PORT);
	uint8_t r[8];

	/* The right edge, a quarter down, VNC's middle button (bit 1): HID's button 3 (bit 2). */
	display_pointer(&f->d, 63, 8, 2);
	assert_int_equal(report(f, slot, r), 6);
	assert_int_equal(r[0], 4);
	assert_int_equal(get_le16(r + 1), 32767);
	assert_int_equal(get_le16(r + 3), 8 * 32767 / 31);
	assert_int_equal((int8_t)r[5], 0);
	/* VNC's right button (bit 2) is HID's button 2; button 4 pressed is one wheel step up,
	 * held it is none; button 5 is one step down. */
	display_pointer(&f->d, 0, 0, 4 | 8);
	display_pointer(&f->d, 0, 0, 8);
	display_pointer(&f->d, 0, 0, 16);
	assert_int_equal(report(f, slot, r), 6);
	assert_int_equal(r[0], 2);
	assert_int_equal((int8_t)r[5], 1);
	assert_int_equal(report(f, slot, r), 6);
	assert_int_equal((int8_t)r[5], 0);
	assert_int_equal(report(f, slot, r), 6);
	assert_int_equal((int8_t)r[5], -1);
	assert_int_equal(report(f, slot, r), 0); /* nothing more queued */
	/* Controller halted (a driver taking over): the tablet is not ready, the report not sent.
	 */
	xd_wr(&f->usb, USBCMD, 0);
	display_pointer(&f->d, 5, 5, 0);
	assert_false(xhci_tablet_ready(&f->usb.x));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pointer, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
