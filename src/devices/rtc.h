/* MC146818 CMOS RTC and NVRAM: the host's time (UTC) in BCD, 24-hour mode; the guest
 * setting the clock moves only its own offset. Its interrupts on ISA IRQ 8: update-ended (each
 * second), alarm (the time matches the alarm registers) and periodic (register A's rate), as
 * flags in register C that a read clears; a thread of its own sleeps until the next one the
 * guest enabled is due. Also the PC's CMOS memory-size bytes. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/vm_config.h" /* enum seccomp_mode */
#include "kvm/irq.h"

#define RTC_PORT      0x70
#define RTC_CMOS_SIZE 128
#define RTC_IRQ	      8

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t cmos[RTC_CMOS_SIZE];
	int64_t offset;		 /* guest time - host time, seconds */
	time_t (*now)(void);	 /* the host clock; replaceable for tests */
	int64_t (*now_ns)(void); /* the same in ns, which times the interrupts */
	irq_set_fn set_irq;	 /* NULL: flags only, no IRQ 8 */
	void *irq_opaque;
	int64_t last_sec;    /* the last host second whose update was done */
	int64_t last_period; /* the last periodic tick done (in periods since the epoch) */
	bool irq_high;	     /* IRQ 8 raised, until the guest reads register C */
	/* The timer thread (rtc_start). */
	pthread_t thread;
	bool running, stopping;
	int wake_fd; /* eventfd: the guest changed register A or B */
	int epfd;
	enum seccomp_mode seccomp;
	int vm_fd; /* the thread's KVM requests are bound to it (-1: any descriptor) */
};

/* low_mem / high_mem: RAM below the 32-bit hole and above 4 GiB, in bytes. */
void rtc_init(struct rtc *r, uint64_t low_mem, uint64_t high_mem);
/* Starts the timer thread, which raises IRQ 8 through set_irq on the VM vm_fd (its filter
 * allows KVM's requests on that descriptor only; -1: any). 0 or -errno. */
int rtc_start(struct rtc *r, irq_set_fn set_irq, void *irq_opaque, enum seccomp_mode seccomp,
	      int vm_fd);
/* Stops the timer thread, if started. */
void rtc_destroy(struct rtc *r);
/* Milliseconds until the next interrupt the guest enabled is due (rounded up), or -1. */
int rtc_timeout_ms(struct rtc *r);
/* Does what is due by now: register C's flags, IRQ 8 for the enabled ones. */
void rtc_tick(struct rtc *r);
/* Makes the timer thread ask rtc_timeout_ms again. */
void rtc_wake(struct rtc *r);
/* --rtc base=localtime: how far the host's local time (TZ, /etc/localtime, read once at start:
 * main calls tzset before the filters) is ahead of UTC at t, which the guest's clock is set
 * ahead by (as QEMU does, once at start: a daylight-saving change is the guest's to follow). */
int64_t rtc_local_offset(time_t t);
void rtc_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);

/* The CMOS RTC on the board (devices/device.h). */
extern const struct device_model rtc_device;
