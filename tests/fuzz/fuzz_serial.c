/* libFuzzer: bytes as a sequence of guest port accesses on the UART, i8042, RTC, ACPI PM
 * and PCI/reset ports (through the iobus, registered as vm.c does), interleaved with host
 * input. Traps when an interrupt line is "changed" to the level it already has or a
 * queue outgrows its bounds.
 *
 * Each operation is 3 bytes: op, value, arg.
 *   op >> 5: 0 UART, 1 i8042 data, 2 i8042 command, 3 RTC, 4 PM, 5 PCI conf1 / 0xCF9,
 *            6 host -> UART (arg bytes of value), 7 host -> keyboard / pm_raise
 *   op & 0x1F: register offset (taken modulo the device's size)
 *   arg bit 0: write; bits 1-2: width 1, 2 or 4 (accesses that straddle are unhandled) */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "arch/x86/acpi.h"
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/pm.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "kvm/iobus.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

struct machine {
	struct iobus bus;
	struct serial serial;
	struct i8042 kbc;
	struct rtc rtc;
	struct pm pm;
	struct pci_bus pci;
	int level[16];
	unsigned out_bytes, resets, events;
};

static void set_irq(void *opaque, unsigned irq, int level)
{
	struct machine *m = opaque;

	check(irq < 16 && (level == 0 || level == 1));
	check(m->level[irq] != level); /* only changes are signalled */
	m->level[irq] = level;
}

static void out(void *opaque, const uint8_t *buf, size_t n)
{
	struct machine *m = opaque;

	check(n > 0 && buf != NULL);
	m->out_bytes += (unsigned)n;
}

static void reset(void *opaque)
{
	((struct machine *)opaque)->resets++;
}

static void pm_event(void *opaque, enum pm_event ev)
{
	check(ev == PM_POWEROFF || ev == PM_RESET);
	((struct machine *)opaque)->events++;
}

static void pci_reset(void *opaque)
{
	pm_event(opaque, PM_RESET);
}

static time_t fixed_now(void)
{
	return 1710510356; /* deterministic runs */
}

static void machine_init(struct machine *m)
{
	int rc = 0;

	memset(m, 0, sizeof(*m));
	serial_init(&m->serial, SERIAL_COM1_IRQ, out, m, set_irq, m);
	i8042_init(&m->kbc, set_irq, m, reset, m);
	rtc_init(&m->rtc, 3ull << 30, 2ull << 30);
	m->rtc.now = fixed_now;
	pm_init(&m->pm, set_irq, m, pm_event, m);
	pci_bus_init(&m->pci, pci_reset, m);
	rc |=
	    iobus_register(&m->bus, IOBUS_PIO, SERIAL_COM1_BASE, 8, serial_io, &m->serial, "com1");
	rc |= iobus_register(&m->bus, IOBUS_PIO, I8042_DATA_PORT, 1, i8042_data_io, &m->kbc, "kd");
	rc |=
	    iobus_register(&m->bus, IOBUS_PIO, I8042_COMMAND_PORT, 1, i8042_cmd_io, &m->kbc, "kc");
	rc |= iobus_register(&m->bus, IOBUS_PIO, RTC_PORT, 2, rtc_io, &m->rtc, "rtc");
	rc |= iobus_register(&m->bus, IOBUS_PIO, ACPI_PM1A_EVT_PORT, 12, pm_io, &m->pm, "pm");
	rc |= iobus_register(&m->bus, IOBUS_PIO, 0xCF8, 8, pci_conf1_io, &m->pci, "pci");
	check(rc == 0);
}

static void machine_destroy(struct machine *m)
{
	pci_bus_destroy(&m->pci);
	pm_destroy(&m->pm);
	rtc_destroy(&m->rtc);
	i8042_destroy(&m->kbc);
	serial_destroy(&m->serial);
}

static void port_access(struct machine *m, unsigned dev, unsigned reg, uint8_t value, uint8_t arg)
{
	static const struct {
		uint16_t base, len;
	} ports[] = {{SERIAL_COM1_BASE, 8}, {I8042_DATA_PORT, 1},     {I8042_COMMAND_PORT, 1},
		     {RTC_PORT, 2},	    {ACPI_PM1A_EVT_PORT, 12}, {0xCF8, 8}};
	uint32_t len = 1u << ((arg >> 1) & 3);
	bool write = arg & 1;
	uint8_t d[8];
	bool handled;

	if (len > 4)
		len = 4;
	memset(d, value, sizeof(d));
	d[1] = (uint8_t)(value ^ arg);
	handled =
	    iobus_access(&m->bus, IOBUS_PIO, ports[dev].base + reg % ports[dev].len, d, len, write);
	if (!handled && !write)
		for (uint32_t i = 0; i < len; i++)
			check(d[i] == 0xFF);
}

static void host_input(struct machine *m, unsigned kind, uint8_t value, uint8_t arg)
{
	uint8_t buf[256];

	memset(buf, value, sizeof(buf));
	if (kind == 6) {
		size_t space = serial_rx_space(&m->serial);
		size_t n = arg, taken = serial_receive(&m->serial, buf, n);

		check(taken <= n && taken <= space);
		check(serial_rx_space(&m->serial) <= SERIAL_RX_SIZE);
	} else if (arg & 1) {
		i8042_kbd_bytes(&m->kbc, buf, arg >> 3);
	} else {
		pm_raise(&m->pm, (uint16_t)(value << 8 | arg));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct machine m;

	machine_init(&m);
	for (size_t i = 0; i + 3 <= size; i += 3) {
		unsigned dev = data[i] >> 5, reg = data[i] & 0x1F;

		if (dev < 6)
			port_access(&m, dev, reg, data[i + 1], data[i + 2]);
		else
			host_input(&m, dev, data[i + 1], data[i + 2]);
		check(m.serial.rx_count <= SERIAL_RX_SIZE && m.serial.rx_head < SERIAL_RX_SIZE);
		check(m.kbc.q_count <= I8042_QUEUE && m.kbc.q_head < I8042_QUEUE);
		check(m.rtc.index < RTC_CMOS_SIZE);
	}
	machine_destroy(&m);
	return 0;
}
