/* The CMOS RTC: its time registers (BCD, binary, 12-hour, the guest's offset, the century,
 * --rtc base=localtime), the CMOS memory-size bytes, and its interrupts (update-ended, alarm,
 * periodic) on IRQ 8 with its timer thread. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/rtc.h"

#define S   1000000000LL
#define MiB (1ull << 20)
#define GiB (1ull << 30)

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

/* A clock the test moves. */
static int64_t test_clock;

static int64_t clock_ns(void)
{
	return test_clock;
}

static time_t clock_s(void)
{
	return (time_t)(test_clock / S);
}

struct irq_rec {
	int level;
	unsigned calls;
};

static void rec_irq(void *opaque, unsigned irq, int level)
{
	struct irq_rec *r = opaque;

	if (irq == RTC_IRQ) {
		__atomic_store_n(&r->level, level, __ATOMIC_RELEASE);
		__atomic_add_fetch(&r->calls, 1, __ATOMIC_RELEASE);
	}
}

/* An RTC on the test's clock at 13:45:56.5, IRQ 8 recorded in rec, no thread. */
static void rtc_on_test_clock(struct rtc *r, struct irq_rec *rec)
{
	test_clock = FIXED_NOW * S + S / 2;
	rtc_init(r, 256 << 20, 0);
	r->now = clock_s;
	r->now_ns = clock_ns;
	r->set_irq = rec_irq;
	r->irq_opaque = rec;
	rtc_tick(r); /* takes up the test's clock */
}

/* Update-ended: UF each second whether enabled or not; IRQ 8 only with UIE, raised once, and
 * lowered by reading C; the timer waits for the next second. */
static void test_rtc_update_irq(void **state)
{
	struct rtc r;
	struct irq_rec rec = {0};

	(void)state;
	rtc_on_test_clock(&r, &rec);
	assert_int_equal(cmos_rd(&r, 0x0C), 0x00);
	assert_int_equal(rtc_timeout_ms(&r), -1); /* nothing enabled: no timer */
	test_clock += S;
	rtc_tick(&r);
	assert_int_equal(rec.calls, 0);
	assert_int_equal(cmos_rd(&r, 0x0C), 0x10 | 0x40); /* UF, and PF of the 1024 Hz rate */
	assert_int_equal(cmos_rd(&r, 0x0C), 0x00);	  /* reading C cleared it */

	cmos_wr(&r, 0x0B, 0x02 | 0x10); /* UIE */
	assert_int_equal(rtc_timeout_ms(&r), 500);
	test_clock += S / 4;
	rtc_tick(&r);
	assert_int_equal(rec.calls, 0);
	assert_int_equal(rtc_timeout_ms(&r), 250);
	test_clock += S / 4;
	rtc_tick(&r);
	assert_int_equal(rec.calls, 1);
	assert_int_equal(rec.level, 1);
	/* The time registers already show the new second (13:45:58). */
	assert_int_equal(cmos_rd(&r, 0x00), 0x58);
	test_clock += S; /* another update before the guest reads C: the line stays up */
	rtc_tick(&r);
	assert_int_equal(rec.calls, 1);
	assert_int_equal(cmos_rd(&r, 0x0C) & 0xB0, 0x80 | 0x10); /* IRQF, UF */
	assert_int_equal(rec.level, 0);
	assert_int_equal(rec.calls, 2);
	/* While the guest sets the clock (SET), no updates. */
	cmos_wr(&r, 0x0B, 0x80 | 0x02 | 0x10);
	test_clock += S;
	rtc_tick(&r);
	assert_int_equal(cmos_rd(&r, 0x0C) & 0x10, 0x00);
	rtc_destroy(&r);
}

/* Alarm: AF at the update whose time matches the alarm bytes (>= 0xC0: any), with AIE alone;
 * an alarm missed while the timer was late still counts. */
static void test_rtc_alarm_irq(void **state)
{
	struct rtc r;
	struct irq_rec rec = {0};

	(void)state;
	rtc_on_test_clock(&r, &rec);
	cmos_wr(&r, 0x0B, 0x02 | 0x20); /* AIE */
	cmos_wr(&r, 0x01, 0x58);	/* hh:mm:58 */
	cmos_wr(&r, 0x03, 0xC0);	/* any minute */
	cmos_wr(&r, 0x05, 0xFF);	/* any hour */
	assert_int_equal(rtc_timeout_ms(&r), 500);
	test_clock += S; /* 13:45:57.5: an update, no alarm */
	rtc_tick(&r);
	assert_int_equal(rec.calls, 0);
	test_clock += S; /* 13:45:58.5 */
	rtc_tick(&r);
	assert_int_equal(rec.level, 1);
	assert_int_equal(cmos_rd(&r, 0x0C) & 0xB0, 0x80 | 0x20 | 0x10);
	/* 14:45:58, the hour given, passed while nobody looked: AF is set on the next read. */
	cmos_wr(&r, 0x05, 0x14);
	test_clock += 3600 * S + S / 3;
	assert_int_equal(cmos_rd(&r, 0x0C) & 0x20, 0x20);
	cmos_wr(&r, 0x05, 0x15);
	test_clock += S;
	assert_int_equal(cmos_rd(&r, 0x0C) & 0x20, 0x00);
	rtc_destroy(&r);
}

/* Periodic: register A's rate (15: 2 Hz); enabling PIE with PF set raises IRQ 8 at once; a
 * stopped divider stops it. */
static void test_rtc_periodic_irq(void **state)
{
	struct rtc r;
	struct irq_rec rec = {0};

	(void)state;
	rtc_on_test_clock(&r, &rec);
	cmos_wr(&r, 0x0A, 0x2F);
	test_clock = FIXED_NOW * S + S / 10;
	cmos_rd(&r, 0x0C);
	test_clock += S / 2;
	rtc_tick(&r);
	assert_int_equal(rec.calls, 0);
	cmos_wr(&r, 0x0B, 0x02 | 0x40);
	assert_int_equal(rec.calls, 1);
	assert_int_equal(cmos_rd(&r, 0x0C) & 0xC0, 0xC0);
	assert_int_equal(rtc_timeout_ms(&r), 400); /* from 0.6 s to 1.0 s */
	cmos_wr(&r, 0x0A, 0x7F);
	assert_int_equal(rtc_timeout_ms(&r), -1);
	test_clock += S;
	assert_int_equal(cmos_rd(&r, 0x0C) & 0x40, 0x00);
	rtc_destroy(&r);
}

/* The timer thread on the host's clock: with UIE, IRQ 8 comes within a few seconds (an update
 * is due every second); rtc_destroy stops the thread. */
static void test_rtc_thread(void **state)
{
	struct rtc r;
	struct irq_rec rec = {0};

	(void)state;
	rtc_init(&r, 256 << 20, 0);
	assert_int_equal(rtc_start(&r, rec_irq, &rec, SECCOMP_OFF, -1), 0);
	cmos_wr(&r, 0x0B, 0x02 | 0x10);
	for (int i = 0; i < 500 && !__atomic_load_n(&rec.calls, __ATOMIC_ACQUIRE); i++)
		usleep(20000);
	assert_int_equal(__atomic_load_n(&rec.level, __ATOMIC_ACQUIRE), 1);
	assert_int_equal(cmos_rd(&r, 0x0C) & 0x90, 0x90);
	rtc_destroy(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rtc_time),	     cmocka_unit_test(test_rtc_cmos),
	    cmocka_unit_test(test_rtc_century),	     cmocka_unit_test(test_rtc_localtime),
	    cmocka_unit_test(test_rtc_update_irq),   cmocka_unit_test(test_rtc_alarm_irq),
	    cmocka_unit_test(test_rtc_periodic_irq), cmocka_unit_test(test_rtc_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
