/* The legacy PC devices behind the port I/O bus: i8042, CMOS RTC, ACPI PM fixed hardware
 * with the 0xCF9 reset register, and the bus's own dispatch. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "arch/x86/acpi.h"
#include "common/bytes.h"
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/pm.h"
#include "devices/rtc.h"
#include "kvm/iobus.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

/* One recorder for every callback the devices make. */
struct rec {
	int level[16];
	unsigned irq_calls[16];
	unsigned resets;
	unsigned poweroffs, pm_resets;
};

static void rec_irq(void *opaque, unsigned irq, int level)
{
	struct rec *r = opaque;

	assert_true(irq < 16);
	r->level[irq] = level;
	r->irq_calls[irq]++;
}

static void rec_reset(void *opaque)
{
	((struct rec *)opaque)->resets++;
}

static void rec_pm_event(void *opaque, enum pm_event ev)
{
	struct rec *r = opaque;

	if (ev == PM_POWEROFF)
		r->poweroffs++;
	else if (ev == PM_RESET)
		r->pm_resets++;
}

static void rec_cf9_reset(void *opaque)
{
	rec_pm_event(opaque, PM_RESET);
}

/* ---- i8042 ---- */

#define STS_OBF	   0x01
#define STS_SYS	   0x04
#define STS_CMD	   0x08
#define STS_AUXOBF 0x20

static void kbc_cmd(struct i8042 *k, uint8_t v)
{
	i8042_cmd_io(k, 0, &v, 1, true);
}

static void kbc_data(struct i8042 *k, uint8_t v)
{
	i8042_data_io(k, 0, &v, 1, true);
}

static uint8_t kbc_status(struct i8042 *k)
{
	uint8_t v = 0;

	i8042_cmd_io(k, 0, &v, 1, false);
	return v;
}

static uint8_t kbc_read(struct i8042 *k)
{
	uint8_t v = 0xEE;

	i8042_data_io(k, 0, &v, 1, false);
	return v;
}

/* Reads n bytes, each announced by OBF (and AUXOBF when they come from the mouse). */
static void expect_bytes(struct i8042 *k, const uint8_t *want, unsigned n, bool aux)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t st = kbc_status(k);

		if (!(st & STS_OBF) || !!(st & STS_AUXOBF) != aux)
			fail_msg("byte %u: status %#x", i, st);
		assert_int_equal(kbc_read(k), want[i]);
	}
	assert_false(kbc_status(k) & STS_OBF);
}

static void test_i8042_controller(void **state)
{
	struct i8042 k;
	struct rec r = {0};

	(void)state;
	i8042_init(&k, rec_irq, &r, rec_reset, &r);
	assert_int_equal(kbc_status(&k) & (STS_OBF | STS_SYS), STS_SYS);
	kbc_cmd(&k, 0xAA); /* self-test */
	expect_bytes(&k, (const uint8_t[]){0x55}, 1, false);
	kbc_cmd(&k, 0xAB); /* keyboard interface test */
	expect_bytes(&k, (const uint8_t[]){0x00}, 1, false);
	kbc_cmd(&k, 0x20); /* read CTR: KBDINT | SYS | XLATE */
	expect_bytes(&k, (const uint8_t[]){0x45}, 1, false);
	kbc_cmd(&k, 0x60);
	assert_true(kbc_status(&k) & STS_CMD); /* waiting for the data byte */
	kbc_data(&k, 0x47);
	assert_false(kbc_status(&k) & STS_CMD);
	kbc_cmd(&k, 0x20);
	expect_bytes(&k, (const uint8_t[]){0x47}, 1, false);
	/* Reset: 0xFE, and output port bit 0 low through 0xD1. */
	assert_int_equal(r.resets, 0);
	kbc_cmd(&k, 0xFE);
	assert_int_equal(r.resets, 1);
	kbc_cmd(&k, 0xD1);
	kbc_data(&k, 0x03);
	assert_int_equal(r.resets, 1);
	kbc_cmd(&k, 0xD1);
	kbc_data(&k, 0x02);
	assert_int_equal(r.resets, 2);
	/* An empty output buffer reads 0; the bytes past the first read all ones. */
	{
		uint8_t d[2] = {0x12, 0x34};

		i8042_data_io(&k, 0, d, 2, false);
		assert_int_equal(d[0], 0);
		assert_int_equal(d[1], 0xFF);
	}
	i8042_destroy(&k);
}

static void test_i8042_devices(void **state)
{
	struct i8042 k;
	struct rec r = {0};

	(void)state;
	i8042_init(&k, rec_irq, &r, rec_reset, &r);
	kbc_data(&k, 0xFF); /* keyboard reset */
	expect_bytes(&k, (const uint8_t[]){0xFA, 0xAA}, 2, false);
	kbc_data(&k, 0xF2); /* identify: MF2 */
	expect_bytes(&k, (const uint8_t[]){0xFA, 0xAB, 0x83}, 3, false);
	kbc_data(&k, 0xED); /* LEDs, then their argument */
	kbc_data(&k, 0x07);
	expect_bytes(&k, (const uint8_t[]){0xFA, 0xFA}, 2, false);
	kbc_data(&k, 0xEE);
	expect_bytes(&k, (const uint8_t[]){0xEE}, 1, false);
	/* The mouse, through 0xD4. */
	kbc_cmd(&k, 0xD4);
	kbc_data(&k, 0xFF);
	expect_bytes(&k, (const uint8_t[]){0xFA, 0xAA, 0x00}, 3, true);
	kbc_cmd(&k, 0xD4);
	kbc_data(&k, 0xF3); /* sample rate 200 */
	kbc_cmd(&k, 0xD4);
	kbc_data(&k, 200);
	expect_bytes(&k, (const uint8_t[]){0xFA, 0xFA}, 2, true);
	kbc_cmd(&k, 0xD4);
	kbc_data(&k, 0xF2);
	expect_bytes(&k, (const uint8_t[]){0xFA, 0x00}, 2, true);
	/* Keyboard bytes from the host; dropped while the keyboard is disabled. */
	i8042_kbd_bytes(&k, (const uint8_t[]){0x1E, 0x9E}, 2);
	expect_bytes(&k, (const uint8_t[]){0x1E, 0x9E}, 2, false);
	kbc_cmd(&k, 0xAD);
	i8042_kbd_bytes(&k, (const uint8_t[]){0x1E}, 1);
	assert_false(kbc_status(&k) & STS_OBF);
	kbc_cmd(&k, 0xAE);
	/* The queue holds I8042_QUEUE bytes; more are dropped. */
	for (unsigned i = 0; i < I8042_QUEUE + 10; i++)
		i8042_kbd_bytes(&k, (const uint8_t[]){(uint8_t)i}, 1);
	for (unsigned i = 0; i < I8042_QUEUE; i++)
		assert_int_equal(kbc_read(&k), i);
	assert_false(kbc_status(&k) & STS_OBF);
	i8042_destroy(&k);
}

/* After a reset a PS/2 mouse is in stream mode with reporting off, 100 samples/s,
 * 4 counts/mm, 1:1 scaling: status bytes 0x00, 0x02, 0x64. */
static void test_i8042_mouse_defaults(void **state)
{
	struct i8042 k;
	struct rec r = {0};

	(void)state;
	i8042_init(&k, rec_irq, &r, rec_reset, &r);
	kbc_cmd(&k, 0xD4);
	kbc_data(&k, 0xFF);
	expect_bytes(&k, (const uint8_t[]){0xFA, 0xAA, 0x00}, 3, true);
	kbc_cmd(&k, 0xD4);
	kbc_data(&k, 0xE9);
	/* Regression: the mouse once reported remote mode (0x40) after a reset. */
	expect_bytes(&k, (const uint8_t[]){0xFA, 0x00, 0x02, 0x64}, 4, true);
	kbc_cmd(&k, 0xD4);
	kbc_data(&k, 0xF3); /* sample rate 200 */
	kbc_cmd(&k, 0xD4);
	kbc_data(&k, 200);
	kbc_cmd(&k, 0xD4);
	kbc_data(&k, 0xF0); /* remote mode */
	kbc_cmd(&k, 0xD4);
	kbc_data(&k, 0xE9);
	expect_bytes(&k, (const uint8_t[]){0xFA, 0xFA, 0xFA, 0xFA, 0x40, 0x02, 200}, 7, true);
	kbc_cmd(&k, 0xD4);
	kbc_data(&k, 0xEA); /* stream mode */
	kbc_cmd(&k, 0xD4);
	kbc_data(&k, 0xE9);
	expect_bytes(&k, (const uint8_t[]){0xFA, 0xFA, 0x00, 0x02, 200}, 5, true);
	i8042_destroy(&k);
}

static void test_i8042_mouse_moves(void **state)
{
	struct i8042 k;
	struct rec r = {0};

	(void)state;
	i8042_init(&k, rec_irq, &r, rec_reset, &r);
	/* Not enabled by the guest yet: nothing. */
	i8042_aux_move(&k, 5, 5, 0);
	assert_false(kbc_status(&k) & STS_OBF);
	assert_false(i8042_aux_active(&k));
	kbc_cmd(&k, 0xD4);
	kbc_data(&k, 0xF4); /* enable data reporting */
	expect_bytes(&k, (const uint8_t[]){0xFA}, 1, true);
	assert_true(i8042_aux_active(&k));
	/* Right 5, down 3 (PS/2's y points up), left button. */
	i8042_aux_move(&k, 5, 3, 1);
	expect_bytes(&k, (const uint8_t[]){0x29, 5, 0xFD}, 3, true);
	/* A long move left is split into packets of at most 255. */
	i8042_aux_move(&k, -300, 0, 0);
	expect_bytes(&k, (const uint8_t[]){0x18, 0x01, 0x00, 0x18, 0xD3, 0x00}, 6, true);
	i8042_destroy(&k);
}

static void test_i8042_irqs(void **state)
{
	struct i8042 k;
	struct rec r = {0};

	(void)state;
	i8042_init(&k, rec_irq, &r, rec_reset, &r);
	/* CTR at reset: keyboard interrupt on, mouse interrupt off. */
	kbc_cmd(&k, 0xAA);
	assert_int_equal(r.level[I8042_KBD_IRQ], 1);
	assert_int_equal(r.irq_calls[I8042_KBD_IRQ], 1);
	kbc_read(&k);
	assert_int_equal(r.level[I8042_KBD_IRQ], 0);
	assert_int_equal(r.irq_calls[I8042_KBD_IRQ], 2);
	kbc_cmd(&k, 0xD4);
	kbc_data(&k, 0xF2);
	assert_int_equal(r.irq_calls[I8042_AUX_IRQ], 0);
	assert_int_equal(r.irq_calls[I8042_KBD_IRQ], 2); /* a mouse byte is not IRQ1 */
	expect_bytes(&k, (const uint8_t[]){0xFA, 0x00}, 2, true);
	/* Both on (0x47): the line of the byte at the head of the queue is raised. */
	kbc_cmd(&k, 0x60);
	kbc_data(&k, 0x47);
	kbc_cmd(&k, 0xD4);
	kbc_data(&k, 0xF2);
	assert_int_equal(r.level[I8042_AUX_IRQ], 1);
	assert_int_equal(r.level[I8042_KBD_IRQ], 0);
	kbc_read(&k);
	/* The second byte is still there: the line dropped and rose again, a new edge for it. */
	assert_int_equal(r.level[I8042_AUX_IRQ], 1);
	assert_int_equal(r.irq_calls[I8042_AUX_IRQ], 3);
	kbc_read(&k);
	assert_int_equal(r.level[I8042_AUX_IRQ], 0);
	assert_int_equal(r.irq_calls[I8042_AUX_IRQ], 4);
	/* Keyboard interrupt off: no IRQ1 for keyboard bytes. */
	kbc_cmd(&k, 0x60);
	kbc_data(&k, 0x46);
	i8042_kbd_bytes(&k, (const uint8_t[]){0x1C}, 1);
	assert_int_equal(r.irq_calls[I8042_KBD_IRQ], 2);
	assert_int_equal(kbc_read(&k), 0x1C);
	i8042_destroy(&k);
}

/* ---- RTC ---- */

#define FIXED_NOW 1710510356 /* 2024-03-15 13:45:56 UTC, a Friday */

static time_t fixed_now(void)
{
	return FIXED_NOW;
}

static uint8_t cmos_rd(struct rtc *r, uint8_t idx)
{
	uint8_t v = 0;

	rtc_io(r, 0, &idx, 1, true);
	rtc_io(r, 1, &v, 1, false);
	return v;
}

static void cmos_wr(struct rtc *r, uint8_t idx, uint8_t v)
{
	rtc_io(r, 0, &idx, 1, true);
	rtc_io(r, 1, &v, 1, true);
}

static void test_rtc_time(void **state)
{
	struct rtc r;

	(void)state;
	rtc_init(&r, 3 * GiB, 2 * GiB);
	r.now = fixed_now;
	assert_int_equal(cmos_rd(&r, 0x0B) & 0x06, 0x02); /* BCD, 24-hour */
	assert_int_equal(cmos_rd(&r, 0x00), 0x56);
	assert_int_equal(cmos_rd(&r, 0x02), 0x45);
	assert_int_equal(cmos_rd(&r, 0x04), 0x13);
	assert_int_equal(cmos_rd(&r, 0x06), 0x06); /* Friday: Sunday is 1 */
	assert_int_equal(cmos_rd(&r, 0x07), 0x15);
	assert_int_equal(cmos_rd(&r, 0x08), 0x03);
	assert_int_equal(cmos_rd(&r, 0x09), 0x24);
	assert_int_equal(cmos_rd(&r, 0x32), 0x20);
	assert_int_equal(cmos_rd(&r, 0x0D), 0x80); /* battery good */
	/* Binary mode. */
	cmos_wr(&r, 0x0B, 0x06);
	assert_int_equal(cmos_rd(&r, 0x00), 56);
	assert_int_equal(cmos_rd(&r, 0x04), 13);
	assert_int_equal(cmos_rd(&r, 0x09), 24);
	assert_int_equal(cmos_rd(&r, 0x32), 20);
	/* 12-hour BCD: 13h is 1 PM. */
	cmos_wr(&r, 0x0B, 0x00);
	assert_int_equal(cmos_rd(&r, 0x04), 0x81);
	cmos_wr(&r, 0x0B, 0x02);

	/* The guest sets the year: only its offset moves, and the other fields stay. */
	cmos_wr(&r, 0x09, 0x25);
	assert_int_equal(r.offset, 365 * 86400);
	assert_true(r.now == fixed_now);
	assert_int_equal(cmos_rd(&r, 0x09), 0x25);
	assert_int_equal(cmos_rd(&r, 0x08), 0x03);
	assert_int_equal(cmos_rd(&r, 0x07), 0x15);
	assert_int_equal(cmos_rd(&r, 0x00), 0x56);
	assert_int_equal(cmos_rd(&r, 0x06), 0x07); /* 2025-03-15 is a Saturday */
	cmos_wr(&r, 0x00, 0x00);
	assert_int_equal(r.offset, 365 * 86400 - 56);
	assert_int_equal(cmos_rd(&r, 0x00), 0x00);
	cmos_wr(&r, 0x04, 0x02); /* 02:00, same day */
	assert_int_equal(r.offset, 365 * 86400 - 56 - 11 * 3600);
	assert_int_equal(cmos_rd(&r, 0x02), 0x45);
	/* Day of week follows from the date: a write is ignored. */
	cmos_wr(&r, 0x06, 0x01);
	assert_int_equal(cmos_rd(&r, 0x06), 0x07);
	rtc_destroy(&r);
}

/* A guest may set any century; the year register is the year modulo 100. */
/* --rtc base=localtime: the offset is the host zone's at that moment, and the guest reads its
 * clock that far ahead of UTC (fixed_now is 2024-03-15 13:45:56 UTC). */
static void test_rtc_localtime(void **state)
{
	struct rtc r;
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;

	(void)state;
	setenv("TZ", "JST-9", 1);
	tzset();
	assert_int_equal(rtc_local_offset(fixed_now()), 9 * 3600);
	setenv("TZ", "EST5EDT,M3.2.0,M11.1.0", 1); /* New York: daylight time from March 10 */
	tzset();
	assert_int_equal(rtc_local_offset(fixed_now()), -4 * 3600);
	assert_int_equal(rtc_local_offset(fixed_now() - 60 * 86400), -5 * 3600); /* January */
	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(rtc_local_offset(fixed_now()), 0);
	rtc_init(&r, 256 * MiB, 0);
	r.now = fixed_now;
	r.offset = 9 * 3600;
	assert_int_equal(cmos_rd(&r, 0x04), 0x22); /* 13 UTC is 22 in Tokyo */
	assert_int_equal(cmos_rd(&r, 0x02), 0x45);
	rtc_destroy(&r);
	if (old)
		setenv("TZ", old, 1);
	else
		unsetenv("TZ");
	free(old);
	tzset();
}

static void test_rtc_century(void **state)
{
	struct rtc r;

	(void)state;
	rtc_init(&r, 256 * MiB, 0);
	r.now = fixed_now;
	cmos_wr(&r, 0x32, 0x21); /* 2124 */
	assert_int_equal(cmos_rd(&r, 0x32), 0x21);
	assert_int_equal(cmos_rd(&r, 0x09), 0x24);
	assert_int_equal(cmos_rd(&r, 0x08), 0x03);
	cmos_wr(&r, 0x32, 0x18); /* 1824: before 1900, tm_year < 0 */
	assert_int_equal(cmos_rd(&r, 0x32), 0x18);
	/* Regression: a year before 1900 once shifted a negative value (UBSan). */
	assert_int_equal(cmos_rd(&r, 0x09), 0x24);
	rtc_destroy(&r);
}

static void test_rtc_cmos(void **state)
{
	struct rtc r;
	uint8_t v;

	(void)state;
	/* 5 GiB: 3 GiB below the hole, 2 GiB above 4 GiB. */
	rtc_init(&r, 3 * GiB, 2 * GiB);
	r.now = fixed_now;
	assert_int_equal(cmos_rd(&r, 0x15), 0x80); /* 640 KiB */
	assert_int_equal(cmos_rd(&r, 0x16), 0x02);
	assert_int_equal(cmos_rd(&r, 0x17), 0xFF); /* extended memory, capped at 64 MiB */
	assert_int_equal(cmos_rd(&r, 0x18), 0xFF);
	assert_int_equal(cmos_rd(&r, 0x30), 0xFF);
	assert_int_equal(cmos_rd(&r, 0x31), 0xFF);
	assert_int_equal(cmos_rd(&r, 0x34), 0x00); /* (3 GiB - 16 MiB) / 64 KiB = 0xBF00 */
	assert_int_equal(cmos_rd(&r, 0x35), 0xBF);
	assert_int_equal(cmos_rd(&r, 0x5B), 0x00); /* 2 GiB / 64 KiB = 0x008000 */
	assert_int_equal(cmos_rd(&r, 0x5C), 0x80);
	assert_int_equal(cmos_rd(&r, 0x5D), 0x00);
	/* NVRAM; bit 7 of the index masks NMI and is not part of it. */
	cmos_wr(&r, 0x40, 0x12);
	assert_int_equal(cmos_rd(&r, 0x40), 0x12);
	assert_int_equal(cmos_rd(&r, 0x80 | 0x40), 0x12);
	/* The index port reads all ones; register D and C are read-only. */
	v = 0;
	rtc_io(&r, 0, &v, 1, false);
	assert_int_equal(v, 0xFF);
	cmos_wr(&r, 0x0D, 0x00);
	assert_int_equal(cmos_rd(&r, 0x0D), 0x80);
	cmos_wr(&r, 0x0A, 0xA6); /* UIP is read-only */
	assert_int_equal(cmos_rd(&r, 0x0A), 0x26);
	rtc_destroy(&r);

	/* 48 MiB: no RAM above 4 GiB. */
	rtc_init(&r, 48 * MiB, 0);
	assert_int_equal(cmos_rd(&r, 0x17), 0x00); /* 47 MiB = 0xBC00 KiB */
	assert_int_equal(cmos_rd(&r, 0x18), 0xBC);
	assert_int_equal(cmos_rd(&r, 0x34), 0x00); /* 32 MiB / 64 KiB = 0x200 */
	assert_int_equal(cmos_rd(&r, 0x35), 0x02);
	assert_int_equal(cmos_rd(&r, 0x5B), 0);
	assert_int_equal(cmos_rd(&r, 0x5C), 0);
	assert_int_equal(cmos_rd(&r, 0x5D), 0);
	rtc_destroy(&r);
}

/* ---- ACPI PM and the reset register ---- */

static uint32_t pm_rd(struct pm *p, unsigned off, unsigned len)
{
	uint8_t d[4] = {0};

	pm_io(p, off, d, len, false);
	return get_le32(d);
}

static void pm_wr(struct pm *p, unsigned off, unsigned len, uint32_t v)
{
	uint8_t d[4];

	put_le32(d, v);
	pm_io(p, off, d, len, true);
}

static void test_pm_status(void **state)
{
	struct pm p;
	struct rec r = {0};

	(void)state;
	pm_init(&p, rec_irq, &r, rec_pm_event, &r);
	assert_int_equal(pm_rd(&p, 4, 2) & 1, 1); /* SCI_EN: always in ACPI mode */
	assert_int_equal(pm_rd(&p, 0, 4), 0);
	/* A status bit without its enable bit: no SCI. */
	pm_raise(&p, PM_STS_PWRBTN);
	assert_int_equal(pm_rd(&p, 0, 2), PM_STS_PWRBTN);
	assert_int_equal(r.irq_calls[ACPI_SCI_IRQ], 0);
	pm_wr(&p, 2, 2, PM_STS_PWRBTN); /* enable */
	assert_int_equal(r.level[ACPI_SCI_IRQ], 1);
	assert_int_equal(r.irq_calls[ACPI_SCI_IRQ], 1);
	assert_int_equal(pm_rd(&p, 2, 2), PM_STS_PWRBTN);
	/* Writing 0 clears nothing; writing 1 clears. */
	pm_wr(&p, 0, 2, 0);
	assert_int_equal(pm_rd(&p, 0, 2), PM_STS_PWRBTN);
	pm_wr(&p, 0, 2, PM_STS_PWRBTN);
	assert_int_equal(pm_rd(&p, 0, 2), 0);
	assert_int_equal(r.level[ACPI_SCI_IRQ], 0);
	assert_int_equal(r.irq_calls[ACPI_SCI_IRQ], 2);
	/* Only the bytes written clear: a byte at offset 1 leaves the low byte. */
	pm_raise(&p, PM_STS_TMR | PM_STS_PWRBTN | PM_STS_WAK);
	pm_wr(&p, 1, 1, 0xFF);
	assert_int_equal(pm_rd(&p, 0, 2), PM_STS_TMR);
	/* A 4-byte write of the status and enable halves: status zeros clear nothing. */
	pm_wr(&p, 0, 4, (uint32_t)PM_STS_TMR << 16);
	assert_int_equal(pm_rd(&p, 0, 2), PM_STS_TMR);
	assert_int_equal(pm_rd(&p, 2, 2), PM_STS_TMR);
	assert_int_equal(r.level[ACPI_SCI_IRQ], 1);
	pm_wr(&p, 0, 1, PM_STS_TMR);
	assert_int_equal(r.level[ACPI_SCI_IRQ], 0);
	assert_int_equal(pm_rd(&p, 2, 2), PM_STS_TMR); /* the enable stays */
	assert_int_equal(r.poweroffs + r.pm_resets, 0);
	pm_destroy(&p);
}

static void test_pm_sleep(void **state)
{
	struct pm p;
	struct rec r = {0};

	(void)state;
	pm_init(&p, rec_irq, &r, rec_pm_event, &r);
	pm_wr(&p, 4, 2, 5 << 10); /* SLP_TYP=5 without SLP_EN */
	assert_int_equal(r.poweroffs, 0);
	pm_wr(&p, 4, 2, (3 << 10) | 0x2000); /* S3: not supported, not a poweroff */
	assert_int_equal(r.poweroffs, 0);
	pm_wr(&p, 4, 2, (5 << 10) | 0x2000);
	assert_int_equal(r.poweroffs, 1);
	assert_int_equal(pm_rd(&p, 4, 2), (5 << 10) | 1); /* SLP_EN reads 0, SCI_EN stays */
	/* The high byte alone, as a byte-wide guest would write it. */
	pm_wr(&p, 5, 1, 0x34);
	assert_int_equal(r.poweroffs, 2);
	assert_int_equal(r.pm_resets, 0);
	/* The tiny guest's 16-bit write to port 0x604 (offset 4). */
	pm_wr(&p, 4, 2, 0x3400);
	assert_int_equal(r.poweroffs, 3);
	pm_destroy(&p);
}

static uint64_t mono_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void test_pm_timer(void **state)
{
	struct pm p;
	struct rec r = {0};
	const struct timespec ms = {0, 1000000};
	uint32_t a, b;

	(void)state;
	pm_init(&p, rec_irq, &r, rec_pm_event, &r);
	/* 24 bits: 10 s of 3.579545 MHz ticks have wrapped; the top byte reads 0. */
	p.t0_ns = mono_now_ns() - 10000000000ull;
	assert_true(pm_rd(&p, 8, 4) <= 0xFFFFFF);
	assert_int_equal(pm_rd(&p, 11, 1), 0);
	/* It counts up: at least 3579 ticks in at least 1 ms (mod 2^24). */
	a = pm_rd(&p, 8, 4);
	nanosleep(&ms, NULL);
	b = pm_rd(&p, 8, 4);
	assert_true(((b - a) & 0xFFFFFF) >= 3579);
	/* Read-only: a write does not restart it. */
	{
		uint64_t t0 = p.t0_ns;

		pm_wr(&p, 8, 4, 0);
		assert_int_equal(p.t0_ns, t0);
	}
	pm_destroy(&p);
}

static void test_pci_conf1(void **state)
{
	struct pm p;
	struct pci_bus c;
	struct rec r = {0};
	uint8_t d[4];

	(void)state;
	pm_init(&p, rec_irq, &r, rec_pm_event, &r);
	pci_bus_init(&c, rec_cf9_reset, &r);
	/* 0xCF9: bit 2 resets (ACPI_RESET_VALUE 0x06); bit 1 alone does not. */
	d[0] = 0x02;
	pci_conf1_io(&c, 1, d, 1, true);
	assert_int_equal(r.pm_resets, 0);
	d[0] = ACPI_RESET_VALUE;
	pci_conf1_io(&c, ACPI_RESET_PORT - 0xCF8, d, 1, true);
	assert_int_equal(r.pm_resets, 1);
	assert_int_equal(r.poweroffs, 0);
	d[0] = 0xAA;
	pci_conf1_io(&c, 1, d, 1, false);
	assert_int_equal(d[0], 0);
	/* The address register keeps enable, bus, device, function and dword register. */
	put_le32(d, 0x80001234);
	pci_conf1_io(&c, 0, d, 4, true);
	memset(d, 0, 4);
	pci_conf1_io(&c, 0, d, 4, false);
	assert_int_equal(get_le32(d), 0x80001234);
	put_le32(d, 0xFFFFFFFF);
	pci_conf1_io(&c, 0, d, 4, true);
	pci_conf1_io(&c, 0, d, 4, false);
	assert_int_equal(get_le32(d), 0x80FFFFFC);
	/* No device answers: config data reads all ones, at any width. */
	memset(d, 0, 4);
	pci_conf1_io(&c, 4, d, 4, false);
	assert_int_equal(get_le32(d), 0xFFFFFFFF);
	memset(d, 0, 4);
	pci_conf1_io(&c, 6, d, 2, false);
	assert_int_equal(get_le16(d), 0xFFFF);
	assert_int_equal(r.pm_resets, 1);
	pci_bus_destroy(&c);
	pm_destroy(&p);
}

/* ---- iobus ---- */

struct hit {
	unsigned calls;
	uint64_t off;
	uint32_t len;
	bool is_write;
	uint8_t data[8];
};

static void record_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct hit *h = opaque;

	assert_true(len <= sizeof(h->data));
	h->calls++;
	h->off = off;
	h->len = len;
	h->is_write = is_write;
	if (is_write)
		memcpy(h->data, data, len);
	else
		for (uint32_t i = 0; i < len; i++)
			data[i] = (uint8_t)(0x10 + off + i);
}

static void test_iobus(void **state)
{
	struct iobus *bus = calloc(1, sizeof(*bus));
	struct hit com = {0}, rtc = {0}, mmio = {0};
	uint8_t d[4];

	(void)state;
	assert_non_null(bus);
	assert_int_equal(iobus_register(bus, IOBUS_PIO, 0x3F8, 8, record_io, &com, "com1"), 0);
	assert_int_equal(iobus_register(bus, IOBUS_PIO, 0x3FF, 1, record_io, &rtc, "x"), -EBUSY);
	assert_int_equal(iobus_register(bus, IOBUS_PIO, 0x3F0, 9, record_io, &rtc, "x"), -EBUSY);
	assert_int_equal(iobus_register(bus, IOBUS_PIO, 0x3F0, 0x20, record_io, &rtc, "x"), -EBUSY);
	assert_int_equal(iobus_register(bus, IOBUS_PIO, 0x70, 0, record_io, &rtc, "x"), -EINVAL);
	assert_int_equal(iobus_register(bus, IOBUS_PIO, UINT64_MAX, 2, record_io, &rtc, "x"),
			 -EINVAL);
	assert_int_equal(iobus_register(bus, IOBUS_PIO, 0x70, 2, record_io, &rtc, "rtc"), 0);
	assert_int_equal(iobus_register(bus, IOBUS_PIO, 0x3F0, 8, record_io, &rtc, "x"), 0);
	/* The spaces are separate. */
	assert_int_equal(iobus_register(bus, IOBUS_MMIO, 0x3F8, 8, record_io, &mmio, "m"), 0);
	rtc.calls = 0;

	/* Dispatch: the handler sees the offset from its base. */
	d[0] = 'A';
	assert_true(iobus_access(bus, IOBUS_PIO, 0x3F8, d, 1, true));
	assert_int_equal(com.calls, 1);
	assert_int_equal(com.off, 0);
	assert_true(com.is_write);
	assert_int_equal(com.data[0], 'A');
	assert_true(iobus_access(bus, IOBUS_PIO, 0x3FD, d, 2, false));
	assert_int_equal(com.off, 5);
	assert_int_equal(com.len, 2);
	assert_int_equal(d[0], 0x15);
	assert_int_equal(d[1], 0x16);
	assert_true(iobus_access(bus, IOBUS_PIO, 0x71, d, 1, false));
	assert_int_equal(rtc.calls, 1);
	assert_int_equal(rtc.off, 1);
	assert_true(iobus_access(bus, IOBUS_MMIO, 0x3FC, d, 4, false));
	assert_int_equal(mmio.off, 4);
	assert_int_equal(com.calls, 2);
	/* Straddling the end of a device, or nothing there: unhandled, reads all ones. */
	memset(d, 0, sizeof(d));
	assert_false(iobus_access(bus, IOBUS_PIO, 0x3FF, d, 2, false));
	assert_int_equal(get_le16(d), 0xFFFF);
	assert_false(iobus_access(bus, IOBUS_PIO, 0x3FE, d, 4, true));
	assert_false(iobus_access(bus, IOBUS_PIO, 0x71, d, 2, false));
	memset(d, 0, sizeof(d));
	assert_false(iobus_access(bus, IOBUS_PIO, 0x500, d, 4, false));
	assert_int_equal(get_le32(d), 0xFFFFFFFF);
	assert_false(iobus_access(bus, IOBUS_MMIO, 0x70, d, 1, false));
	assert_int_equal(com.calls, 2);
	assert_int_equal(rtc.calls, 1);
	/* Full. */
	while (bus->n[IOBUS_PIO] < IOBUS_MAX)
		assert_int_equal(iobus_register(bus, IOBUS_PIO, 0x1000 + bus->n[IOBUS_PIO], 1,
						record_io, &rtc, "f"),
				 0);
	assert_int_equal(iobus_register(bus, IOBUS_PIO, 0x5000, 1, record_io, &rtc, "f"), -ENOSPC);
	free(bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_i8042_controller),
	    cmocka_unit_test(test_i8042_devices),
	    cmocka_unit_test(test_i8042_mouse_defaults),
	    cmocka_unit_test(test_i8042_irqs),
	    cmocka_unit_test(test_i8042_mouse_moves),
	    cmocka_unit_test(test_rtc_time),
	    cmocka_unit_test(test_rtc_cmos),
	    cmocka_unit_test(test_pm_status),
	    cmocka_unit_test(test_pm_sleep),
	    cmocka_unit_test(test_pm_timer),
	    cmocka_unit_test(test_pci_conf1),
	    cmocka_unit_test(test_iobus),
	    /* Last: under UBSan with halt_on_error its finding ends the process. */
	    cmocka_unit_test(test_rtc_century),
	    cmocka_unit_test(test_rtc_localtime),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
