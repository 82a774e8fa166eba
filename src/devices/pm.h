/* ACPI fixed hardware: PM1a event/control blocks and the PM timer. (The reset register
 * at 0xCF9 sits between the PCI configuration ports: see pci.c.) */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "kvm/irq.h" /* irq_set_fn */

enum pm_event { PM_POWEROFF, PM_RESET };

struct pm {
	pthread_mutex_t lock;
	uint16_t sts, en, cnt;
	uint64_t t0_ns;
	int sci_level;
	irq_set_fn set_irq;
	void *irq_opaque;
	void (*event)(void *opaque, enum pm_event ev);
	void *event_opaque;
	/* Power button events raised, and cleared by the guest (it saw them). Counters: written
	 * under lock, read with relaxed atomics. */
	uint64_t pwrbtn_raised, pwrbtn_acked;
};

#define PM_STS_TMR    0x0001
#define PM_STS_PWRBTN 0x0100
#define PM_STS_WAK    0x8000

void pm_init(struct pm *p, irq_set_fn set_irq, void *irq_opaque,
	     void (*event)(void *, enum pm_event), void *event_opaque);
void pm_destroy(struct pm *p);
/* iobus handler for ACPI_PM1A_EVT_PORT .. +12 (events, control, timer). */
void pm_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
/* Sets a status bit (for example the power button) and raises the SCI if enabled. */
void pm_raise(struct pm *p, uint16_t sts_bit);

/* The PM block on the board (devices/device.h): poweroff and reset stop the VM. */
extern const struct device_model pm_device;
