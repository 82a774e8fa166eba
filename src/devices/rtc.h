/* MC146818 CMOS RTC and NVRAM: the host's time (UTC) in BCD, 24-hour mode; the guest
 * setting the clock moves only its own offset. Its interrupts on ISA IRQ 8: update-ended (each
 * second), alarm (the time matches the alarm registers) and periodic (register A's rate), as
 * flags in register C that a read clears. The VM's loop waits for them: rtc_timeout_ms, then
 * rtc_tick; the guest changing what it wants wakes the loop through rtc_wake_fd. Also the PC's
 * CMOS memory-size bytes. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define RTC_PORT      0x70
#define RTC_CMOS_SIZE 128
#define RTC_IRQ	      8

typedef void (*rtc_irq_fn)(void *opaque, unsigned irq, int level);

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t cmos[RTC_CMOS_SIZE];
	int64_t offset;	      /* guest time - host time, seconds */
	int64_t (*now)(void); /* the host clock (CLOCK_REALTIME, ns); replaceable for tests */
	rtc_irq_fn set_irq;
	void *irq_opaque;
	int wake_fd;	     /* eventfd: the guest changed its interrupts (-1: none) */
	int64_t last_sec;    /* the last host second whose update was done */
	int64_t last_period; /* the last periodic tick done (in periods since the epoch) */
	bool irq_high;	     /* IRQ 8 raised, until the guest reads register C */
};

/* low_mem / high_mem: RAM below the 32-bit hole and above 4 GiB, in bytes. set_irq (may be
 * NULL) raises and lowers IRQ 8. Returns 0 or -errno (no eventfd). */
int rtc_init(struct rtc *r, uint64_t low_mem, uint64_t high_mem, rtc_irq_fn set_irq,
	     void *irq_opaque);
void rtc_destroy(struct rtc *r);
void rtc_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
/* Readable when the loop must ask rtc_timeout_ms again (rtc_tick reads it). */
int rtc_wake_fd(const struct rtc *r);
/* Milliseconds until the next interrupt the guest enabled is due (rounded up), or -1. */
int rtc_timeout_ms(struct rtc *r);
/* Does what is due: sets register C's flags, raises IRQ 8 for the enabled ones. */
void rtc_tick(struct rtc *r);
