#include "devices/rtc.h"

#include <string.h>
#include <errno.h>
#include <stdlib.h>
#include "arch/x86/acpi.h"
#include "devices/device.h"

#define REG_SEC	    0x00
#define REG_MIN	    0x02
#define REG_HOUR    0x04
#define REG_WDAY    0x06
#define REG_MDAY    0x07
#define REG_MON	    0x08
#define REG_YEAR    0x09
#define REG_A	    0x0A
#define REG_B	    0x0B
#define REG_C	    0x0C
#define REG_D	    0x0D
#define REG_CENTURY 0x32

#define B_24H 0x02
#define B_BIN 0x04

static time_t host_now(void)
{
	return time(NULL);
}

int64_t rtc_local_offset(time_t t)
{
	struct tm tm;

	return localtime_r(&t, &tm) ? tm.tm_gmtoff : 0;
}

static void put_mem_size(struct rtc *r, uint64_t low_mem, uint64_t high_mem)
{
	uint64_t ext_kb = low_mem > (1 << 20) ? (low_mem - (1 << 20)) >> 10 : 0;
	uint64_t above16 = low_mem > (16 << 20) ? (low_mem - (16 << 20)) >> 16 : 0;
	uint64_t above4g = high_mem >> 16;

	if (ext_kb > 0xFFFF)
		ext_kb = 0xFFFF;
	if (above16 > 0xFFFF)
		above16 = 0xFFFF;
	r->cmos[0x15] = 0x80; /* 640 KiB of base memory */
	r->cmos[0x16] = 0x02;
	r->cmos[0x17] = r->cmos[0x30] = (uint8_t)ext_kb;
	r->cmos[0x18] = r->cmos[0x31] = (uint8_t)(ext_kb >> 8);
	r->cmos[0x34] = (uint8_t)above16;
	r->cmos[0x35] = (uint8_t)(above16 >> 8);
	r->cmos[0x5B] = (uint8_t)above4g;
	r->cmos[0x5C] = (uint8_t)(above4g >> 8);
	r->cmos[0x5D] = (uint8_t)(above4g >> 16);
}

void rtc_init(struct rtc *r, uint64_t low_mem, uint64_t high_mem)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->now = host_now;
	r->cmos[REG_A] = 0x26; /* 32.768 kHz base, 1024 Hz rate */
	r->cmos[REG_B] = B_24H;
	r->cmos[REG_D] = 0x80; /* battery good */
	put_mem_size(r, low_mem, high_mem);
}

void rtc_destroy(struct rtc *r)
{
	pthread_mutex_destroy(&r->lock);
}

static uint8_t to_reg(const struct rtc *r, int v)
{
	if (r->cmos[REG_B] & B_BIN)
		return (uint8_t)v;
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static int from_reg(const struct rtc *r, uint8_t v)
{
	if (r->cmos[REG_B] & B_BIN)
		return v;
	return (v >> 4) * 10 + (v & 0x0F);
}

static void guest_tm(const struct rtc *r, struct tm *tm)
{
	time_t t = r->now() + (time_t)r->offset;

	gmtime_r(&t, tm);
}

static uint8_t hour_reg(const struct rtc *r, int hour)
{
	int h12;

	if (r->cmos[REG_B] & B_24H)
		return to_reg(r, hour);
	h12 = hour % 12 ? hour % 12 : 12;
	return (uint8_t)(to_reg(r, h12) | (hour >= 12 ? 0x80 : 0));
}

static uint8_t read_time(const struct rtc *r, uint8_t reg)
{
	struct tm tm;

	guest_tm(r, &tm);
	switch (reg) {
	case REG_SEC:
		return to_reg(r, tm.tm_sec);
	case REG_MIN:
		return to_reg(r, tm.tm_min);
	case REG_HOUR:
		return hour_reg(r, tm.tm_hour);
	case REG_WDAY:
		return to_reg(r, tm.tm_wday + 1);
	case REG_MDAY:
		return to_reg(r, tm.tm_mday);
	case REG_MON:
		return to_reg(r, tm.tm_mon + 1);
	case REG_YEAR:
		return to_reg(r, (tm.tm_year + 1900) % 100);
	default: /* REG_CENTURY */
		return to_reg(r, (tm.tm_year + 1900) / 100);
	}
}

/* The guest sets one field of the clock: keep the rest, move the offset. */
static void write_time(struct rtc *r, uint8_t reg, uint8_t v)
{
	struct tm tm;
	int val;

	guest_tm(r, &tm);
	val = from_reg(r, reg == REG_HOUR ? (uint8_t)(v & 0x7F) : v);
	switch (reg) {
	case REG_SEC:
		tm.tm_sec = val;
		break;
	case REG_MIN:
		tm.tm_min = val;
		break;
	case REG_HOUR:
		if (!(r->cmos[REG_B] & B_24H))
			val = val % 12 + ((v & 0x80) ? 12 : 0);
		tm.tm_hour = val;
		break;
	case REG_MDAY:
		tm.tm_mday = val;
		break;
	case REG_MON:
		tm.tm_mon = val - 1;
		break;
	case REG_YEAR:
		tm.tm_year = (tm.tm_year + 1900) / 100 * 100 + val - 1900;
		break;
	case REG_CENTURY:
		tm.tm_year = val * 100 + (tm.tm_year + 1900) % 100 - 1900;
		break;
	default: /* day of week follows from the date */
		return;
	}
	r->offset = (int64_t)(timegm(&tm) - r->now());
}

static bool is_time_reg(uint8_t reg)
{
	return (reg <= REG_YEAR && !(reg & 1 && reg < REG_WDAY)) || reg == REG_CENTURY;
}

static uint8_t cmos_read(struct rtc *r, uint8_t reg)
{
	uint8_t v;

	if (is_time_reg(reg))
		return read_time(r, reg);
	v = r->cmos[reg];
	if (reg == REG_C)
		r->cmos[REG_C] = 0; /* reading C acknowledges interrupts */
	return v;
}

static void cmos_write(struct rtc *r, uint8_t reg, uint8_t v)
{
	if (is_time_reg(reg)) {
		write_time(r, reg, v);
		return;
	}
	if (reg == REG_A)
		v &= 0x7F; /* UIP is read-only */
	if (reg == REG_C || reg == REG_D)
		return;
	r->cmos[reg] = v;
}

void rtc_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct rtc *r = opaque;

	pthread_mutex_lock(&r->lock);
	for (uint32_t i = 0; i < len; i++) {
		if (off + i == 0) {
			if (is_write)
				r->index = data[i] & 0x7F; /* bit 7 masks NMI */
			else
				data[i] = 0xFF;
		} else if (off + i == 1) {
			if (is_write)
				cmos_write(r, r->index, data[i]);
			else
				data[i] = cmos_read(r, r->index);
		} else if (!is_write) {
			data[i] = 0xFF;
		}
	}
	pthread_mutex_unlock(&r->lock);
}

/* ---- on the board: ports 0x70/0x71, the RAM sizes in CMOS ---- */

static int rtc_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct rtc *r = calloc(1, sizeof(*r));
	const struct guest_mem *m = b->mem;

	(void)err;
	(void)errlen;
	*state = r;
	if (!r)
		return -ENOMEM;
	rtc_init(r, m->regions[0].size, m->nregions > 1 ? m->regions[1].size : 0);
	if (b->cfg->rtc_localtime)
		r->offset = rtc_local_offset(r->now());
	return board_add_pio(b, RTC_PORT, 2, rtc_io, r, "rtc");
}

static void rtc_unplug(void *state)
{
	rtc_destroy(state);
	free(state);
}

static void rtc_dsdt(void *state, struct aml *a)
{
	static const struct acpi_isa_dev rtc = {"RTC_", "PNP0B00", 0, 8, {{RTC_PORT, 2}}};

	(void)state;
	acpi_dsdt_isa(a, &rtc);
}

const struct device_model rtc_device = {
    .name = "rtc",
    .plug = rtc_plug,
    .unplug = rtc_unplug,
    .dsdt = rtc_dsdt,
};
