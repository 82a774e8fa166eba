/* The CMOS RTC's interrupts (update-ended, alarm, periodic) on IRQ 8, and its timer thread.
 * Its time registers and CMOS bytes are in test_devices.c. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/rtc.h"

#define S	  1000000000LL
#define FIXED_NOW 1710510356LL /* 2024-03-15 13:45:56 UTC */

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
	assert_int_equal(rtc_start(&r, rec_irq, &rec, SECCOMP_OFF), 0);
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
	    cmocka_unit_test(test_rtc_update_irq),
	    cmocka_unit_test(test_rtc_alarm_irq),
	    cmocka_unit_test(test_rtc_periodic_irq),
	    cmocka_unit_test(test_rtc_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
