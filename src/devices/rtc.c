#include "devices/rtc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "common/log.h"
#include "devices/device.h"
#include "kvm/seccomp.h"

#define REG_SEC	    0x00
#define REG_SEC_AL  0x01
#define REG_MIN	    0x02
#define REG_MIN_AL  0x03
#define REG_HOUR    0x04
#define REG_HOUR_AL 0x05
#define REG_WDAY    0x06
#define REG_MDAY    0x07
#define REG_MON	    0x08
#define REG_YEAR    0x09
#define REG_A	    0x0A
#define REG_B	    0x0B
#define REG_C	    0x0C
#define REG_D	    0x0D
#define REG_CENTURY 0x32

#define B_24H	       0x02
#define B_BIN	       0x04
#define B_UIE	       0x10
#define B_AIE	       0x20
#define B_PIE	       0x40
#define B_SET	       0x80 /* the guest is setting the clock: no updates */
#define C_UF	       0x10 /* register C's flags sit where B's enables do */
#define C_AF	       0x20
#define C_PF	       0x40
#define C_IRQF	       0x80
#define A_DIV_NORMAL   0x20 /* divider bits: 32.768 kHz time base, running */
#define AL_DONT_CARE   0xC0 /* an alarm byte >= 0xC0 matches any value */
#define NS	       1000000000LL
#define ALARM_LOOKBACK 60 /* seconds of missed updates whose alarms still count */

/* CLOCK_REALTIME for both: time() may lag clock_gettime() by a tick, and the guest reads the
 * new second right after the update interrupt that the ns clock times. */
static int64_t host_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static time_t host_now(void)
{
	return (time_t)(host_now_ns() / NS);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Register A's periodic interrupt rate as a period in ns (0: off). */
static int64_t period_ns(const struct rtc *r)
{
	unsigned rate = r->cmos[REG_A] & 0x0F;
	unsigned shift;

	if (!rate || (r->cmos[REG_A] & 0x70) != A_DIV_NORMAL)
		return 0;
	shift =
	    rate <= 2 ? rate + 6 : rate - 1; /* 1, 2: 256, 128 Hz; 3..15: 8192 Hz >> (rate - 3) */
	return (NS << shift) / 32768;
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
	r->now_ns = host_now_ns;
	r->wake_fd = r->epfd = -1;
	r->cmos[REG_A] = 0x26; /* 32.768 kHz base, 1024 Hz rate */
	r->cmos[REG_B] = B_24H;
	r->cmos[REG_D] = 0x80; /* battery good */
	put_mem_size(r, low_mem, high_mem);
	r->last_sec = floor_div(r->now_ns(), NS);
	r->last_period = floor_div(r->now_ns(), period_ns(r)); /* 1024 Hz */
}

void rtc_destroy(struct rtc *r)
{
	if (r->running) {
		__atomic_store_n(&r->stopping, true, __ATOMIC_RELEASE);
		rtc_wake(r);
		pthread_join(r->thread, NULL);
	}
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->wake_fd >= 0)
		close(r->wake_fd);
	pthread_mutex_destroy(&r->lock);
}

void rtc_wake(struct rtc *r)
{
	uint64_t one = 1;
	ssize_t n = r->wake_fd >= 0 ? write(r->wake_fd, &one, sizeof(one)) : 0;

	(void)n; /* a full counter (EAGAIN) wakes the thread as well */
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

/* The guest's time at host second sec. */
static void tm_at(const struct rtc *r, int64_t sec, struct tm *tm)
{
	time_t t = (time_t)(sec + r->offset);

	gmtime_r(&t, tm);
}

static void guest_tm(const struct rtc *r, struct tm *tm)
{
	tm_at(r, r->now(), tm);
}

static uint8_t hour_reg(const struct rtc *r, int hour)
{
	int h12;

	if (r->cmos[REG_B] & B_24H)
		return to_reg(r, hour);
	h12 = hour % 12 ? hour % 12 : 12;
	return (uint8_t)(to_reg(r, h12) | (hour >= 12 ? 0x80 : 0));
}

static bool alarm_byte_matches(uint8_t alarm, uint8_t now)
{
	return alarm >= AL_DONT_CARE || alarm == now;
}

/* Whether the update at host second sec matches the alarm registers. */
static bool alarm_due(const struct rtc *r, int64_t sec)
{
	struct tm tm;

	tm_at(r, sec, &tm);
	return alarm_byte_matches(r->cmos[REG_SEC_AL], to_reg(r, tm.tm_sec)) &&
	       alarm_byte_matches(r->cmos[REG_MIN_AL], to_reg(r, tm.tm_min)) &&
	       alarm_byte_matches(r->cmos[REG_HOUR_AL], hour_reg(r, tm.tm_hour));
}

/* IRQF follows the enabled flags; IRQ 8 goes up with it and down when register C is read. */
static void update_irq(struct rtc *r)
{
	if (r->cmos[REG_C] & r->cmos[REG_B] & (C_UF | C_AF | C_PF))
		r->cmos[REG_C] |= C_IRQF;
	if ((r->cmos[REG_C] & C_IRQF) && !r->irq_high) {
		r->irq_high = true;
		if (r->set_irq)
			r->set_irq(r->irq_opaque, RTC_IRQ, 1);
	}
}

/* Sets the flags of the updates, alarms and periodic ticks that happened by host time now (ns),
 * as the chip does whether or not their interrupts are enabled. */
static void catch_up(struct rtc *r, int64_t now)
{
	int64_t sec = floor_div(now, NS), p = period_ns(r);

	if (sec > r->last_sec && !(r->cmos[REG_B] & B_SET)) {
		r->cmos[REG_C] |= C_UF;
		for (int64_t s = sec - r->last_sec > ALARM_LOOKBACK ? sec - ALARM_LOOKBACK + 1
								    : r->last_sec + 1;
		     s <= sec; s++) {
			if (alarm_due(r, s)) {
				r->cmos[REG_C] |= C_AF;
				break;
			}
		}
	}
	r->last_sec = sec;
	if (p) {
		int64_t n = floor_div(now, p);

		if (n > r->last_period)
			r->cmos[REG_C] |= C_PF;
		r->last_period = n;
	}
	update_irq(r);
}

int rtc_timeout_ms(struct rtc *r)
{
	int64_t now, next = -1, p;
	uint8_t en;

	pthread_mutex_lock(&r->lock);
	en = r->cmos[REG_B] & (B_UIE | B_AIE | B_PIE);
	now = r->now_ns();
	p = period_ns(r);
	if (en & (B_UIE | B_AIE))
		next = (floor_div(now, NS) + 1) * NS;
	if ((en & B_PIE) && p) {
		int64_t t = (floor_div(now, p) + 1) * p;

		if (next < 0 || t < next)
			next = t;
	}
	pthread_mutex_unlock(&r->lock);
	return next < 0 ? -1 : (int)((next - now + 999999) / 1000000);
}

void rtc_tick(struct rtc *r)
{
	pthread_mutex_lock(&r->lock);
	catch_up(r, r->now_ns());
	pthread_mutex_unlock(&r->lock);
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
	if (reg == REG_C)
		catch_up(r, r->now_ns());
	v = r->cmos[reg];
	if (reg == REG_C) {
		r->cmos[REG_C] = 0; /* reading C acknowledges interrupts */
		if (r->irq_high && r->set_irq)
			r->set_irq(r->irq_opaque, RTC_IRQ, 0);
		r->irq_high = false;
	}
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
	if (reg == REG_A || reg == REG_B)
		catch_up(r, r->now_ns()); /* flags so far under the old settings */
	r->cmos[reg] = v;
	if (reg == REG_A) {
		int64_t p = period_ns(r);

		r->last_period = p ? floor_div(r->now_ns(), p) : 0;
	}
	if (reg == REG_A || reg == REG_B) {
		update_irq(r); /* enabling an interrupt whose flag is set raises it at once */
		rtc_wake(r);   /* the timer thread asks rtc_timeout_ms again */
	}
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

/* ---- the timer thread: sleeps until the next interrupt the guest enabled is due ---- */

static void *rtc_thread(void *arg)
{
	struct rtc *r = arg;
	struct epoll_event ev;
	uint64_t n;

	/* The device I/O threads' filter: epoll, eventfd reads, KVM_IRQ_LINE (ioctl). */
	if (seccomp_install_bound(SECCOMP_VIRTIO, r->seccomp,
				  &(struct seccomp_fds){.vm = r->vm_fd, .vcpu = -1}) < 0) {
		pr_err("rtc: cannot install its thread's seccomp filter: no RTC interrupts");
		return NULL;
	}
	while (!__atomic_load_n(&r->stopping, __ATOMIC_ACQUIRE)) {
		int k = epoll_wait(r->epfd, &ev, 1, rtc_timeout_ms(r));

		if (k < 0 && errno != EINTR) {
			pr_err("rtc: epoll_wait: %s: no more RTC interrupts", strerror(errno));
			return NULL;
		}
		if (k > 0 && read(r->wake_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
			return NULL;
		rtc_tick(r);
	}
	return NULL;
}

int rtc_start(struct rtc *r, irq_set_fn set_irq, void *irq_opaque, enum seccomp_mode seccomp,
	      int vm_fd)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int rc;

	r->set_irq = set_irq;
	r->irq_opaque = irq_opaque;
	r->seccomp = seccomp;
	r->vm_fd = vm_fd;
	r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->wake_fd < 0 || r->epfd < 0 || epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->wake_fd, &ev) < 0)
		return -errno;
	rc = pthread_create(&r->thread, NULL, rtc_thread, r);
	if (rc)
		return -rc;
	pthread_setname_np(r->thread, "rtc");
	r->running = true;
	return 0;
}

/* ---- on the board: ports 0x70/0x71, IRQ 8, the RAM sizes in CMOS ---- */

static int rtc_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct rtc *r = calloc(1, sizeof(*r));
	const struct guest_mem *m = b->mem;
	int rc;

	*state = r;
	if (!r)
		return -ENOMEM;
	rtc_init(r, m->regions[0].size, m->nregions > 1 ? m->regions[1].size : 0);
	if (b->cfg->rtc_localtime)
		r->offset = rtc_local_offset(r->now());
	rc = rtc_start(r, b->set_irq, b->opaque, b->cfg->seccomp, b->vm_fd);
	if (rc < 0) {
		snprintf(err, errlen, "rtc: cannot start its timer thread: %s", strerror(-rc));
		return rc;
	}
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
