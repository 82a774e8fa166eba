/* MC146818 CMOS RTC and NVRAM: the host's time (UTC) in BCD, 24-hour mode; the guest
 * setting the clock moves only its own offset. Also the PC's CMOS memory-size bytes. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define RTC_PORT      0x70
#define RTC_CMOS_SIZE 128

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t cmos[RTC_CMOS_SIZE];
	int64_t offset;	     /* guest time - host time, seconds */
	time_t (*now)(void); /* the host clock; replaceable for tests */
};

/* low_mem / high_mem: RAM below the 32-bit hole and above 4 GiB, in bytes. */
void rtc_init(struct rtc *r, uint64_t low_mem, uint64_t high_mem);
void rtc_destroy(struct rtc *r);
/* --rtc base=localtime: how far the host's local time (TZ, /etc/localtime, read once at start:
 * main calls tzset before the filters) is ahead of UTC at t, which the guest's clock is set
 * ahead by (as QEMU does, once at start: a daylight-saving change is the guest's to follow). */
int64_t rtc_local_offset(time_t t);
void rtc_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);

/* The CMOS RTC on the board (devices/device.h). */
extern const struct device_model rtc_device;
