#include "devices/pm.h"

#include <string.h>
#include <time.h>

#include "arch/x86/acpi.h"
#include "common/bytes.h"
#include <errno.h>
#include <stdlib.h>
#include "devices/device.h"
#include "kvm/control.h"

#define CNT_SCI_EN  0x0001
#define CNT_SLP_EN  0x2000
#define CNT_SLP_TYP 0x1C00
#define PM_TIMER_HZ 3579545ull

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void pm_init(struct pm *p, irq_set_fn set_irq, void *irq_opaque,
	     void (*event)(void *, enum pm_event), void *event_opaque)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	p->cnt = CNT_SCI_EN; /* no SMI: ACPI mode is always on */
	p->t0_ns = mono_ns();
	p->set_irq = set_irq;
	p->irq_opaque = irq_opaque;
	p->event = event;
	p->event_opaque = event_opaque;
}

void pm_destroy(struct pm *p)
{
	pthread_mutex_destroy(&p->lock);
}

static void update_sci(struct pm *p)
{
	int level = (p->sts & p->en) != 0;

	if (level != p->sci_level && p->set_irq)
		p->set_irq(p->irq_opaque, ACPI_SCI_IRQ, level);
	p->sci_level = level;
}

static uint32_t timer(const struct pm *p)
{
	uint64_t ns = mono_ns() - p->t0_ns;

	/* ticks = ns * f / 1e9, split to avoid overflow for years of uptime */
	uint64_t ticks =
	    (ns / 1000000000ull) * PM_TIMER_HZ + (ns % 1000000000ull) * PM_TIMER_HZ / 1000000000ull;
	return (uint32_t)(ticks & 0xFFFFFF);
}

static void write_cnt(struct pm *p, uint16_t v)
{
	p->cnt = (uint16_t)((v & ~CNT_SLP_EN) | CNT_SCI_EN);
	if ((v & CNT_SLP_EN) && ((v & CNT_SLP_TYP) >> 10) == ACPI_S5_SLP_TYP && p->event)
		p->event(p->event_opaque, PM_POWEROFF);
}

void pm_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct pm *p = opaque;
	uint8_t regs[12];

	pthread_mutex_lock(&p->lock);
	put_le16(regs + 0, p->sts);
	put_le16(regs + 2, p->en);
	put_le16(regs + 4, p->cnt);
	put_le16(regs + 6, 0);
	put_le32(regs + 8, timer(p));
	if (!is_write) {
		memcpy(data, regs + off, len); /* iobus keeps off + len within 12 */
	} else {
		uint8_t w[12], clr[12] = {0};

		memcpy(w, regs, sizeof(w));
		memcpy(w + off, data, len);
		memcpy(clr + off, data, len);
		if (p->sts & get_le16(clr) & PM_STS_PWRBTN)
			__atomic_store_n(&p->pwrbtn_acked, p->pwrbtn_acked + 1, __ATOMIC_RELAXED);
		p->sts &= (uint16_t)~get_le16(clr); /* status bits are write-one-to-clear */
		if (off < 4 && off + len > 2)
			p->en = get_le16(w + 2);
		if (off < 6 && off + len > 4)
			write_cnt(p, get_le16(w + 4));
	}
	update_sci(p);
	pthread_mutex_unlock(&p->lock);
}

void pm_raise(struct pm *p, uint16_t sts_bit)
{
	pthread_mutex_lock(&p->lock);
	if (sts_bit & PM_STS_PWRBTN)
		__atomic_store_n(&p->pwrbtn_raised, p->pwrbtn_raised + 1, __ATOMIC_RELAXED);
	p->sts |= sts_bit;
	update_sci(p);
	pthread_mutex_unlock(&p->lock);
}

/* ---- on the board: the PM block; poweroff and reset stop the VM ---- */

static void pm_stop(void *opaque, enum pm_event ev)
{
	struct board *b = opaque;

	b->stop(b->opaque, ev == PM_POWEROFF ? BOARD_POWEROFF : BOARD_REBOOT, NULL);
}

static int pm_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct pm *p = calloc(1, sizeof(*p));

	(void)err;
	(void)errlen;
	*state = p;
	if (!p)
		return -ENOMEM;
	pm_init(p, b->set_irq, b->opaque, pm_stop, b);
	return board_add_pio(b, ACPI_PM1A_EVT_PORT, 12, pm_io, p, "acpi-pm");
}

static void pm_unplug(void *state)
{
	pm_destroy(state);
	free(state);
}

static void pm_counters(void *state, struct ctl_counters *k)
{
	struct pm *p = state;

	k->pwrbtn_presses = __atomic_load_n(&p->pwrbtn_raised, __ATOMIC_RELAXED);
	k->pwrbtn_acks = __atomic_load_n(&p->pwrbtn_acked, __ATOMIC_RELAXED);
}

const struct device_model pm_device = {
    .name = "acpi-pm",
    .plug = pm_plug,
    .unplug = pm_unplug,
    .counters = pm_counters,
};
