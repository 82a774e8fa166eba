/* ACPI tables (RSDP, XSDT, FADT, FACS, MADT, MCFG, TPM2, DSDT) built at start from the VM's shape.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/aml.h"

/* Fixed-hardware ports the PM device (src/devices/pm.c) implements. */
#define ACPI_PM1A_EVT_PORT 0x600 /* PM1a_STS (2 bytes) + PM1a_EN (2 bytes) */
#define ACPI_PM1A_CNT_PORT 0x604 /* PM1a_CNT, 2 bytes */
#define ACPI_PM_TMR_PORT   0x608 /* 24-bit PM timer, 4 bytes */
#define ACPI_RESET_PORT	   0xCF9 /* FADT reset register, write ACPI_RESET_VALUE */
#define ACPI_RESET_VALUE   0x06
#define ACPI_SCI_IRQ	   9
#define ACPI_S5_SLP_TYP	   5 /* \_S5 package value; SLP_TYP written on poweroff */

#define IOAPIC_ADDR 0xFEC00000u
#define LAPIC_ADDR  0xFEE00000u

/* The IOAPIC's pins; PCI INTx may use the ones above the ISA range. */
#define ACPI_IOAPIC_PINS   24
#define ACPI_PCI_MIN_GSI   16
#define ACPI_PCI_INT_PINS  4		/* INTA..INTD */
#define ACPI_PCI_IO_MIN	   0x0D00	/* the I/O window starts above the config ports */
#define ACPI_ECAM_BUS_SIZE (1ull << 20) /* 32 devices x 8 functions x 4 KiB */

struct acpi_vm {
	unsigned ncpus; /* 1..64; APIC ids 0..ncpus-1 */

	/* One PCIe host bridge (segment 0, buses 0..pci_bus_end) with ECAM at ecam_base,
	 * 1 MiB per bus and aligned to it; ecam_base 0: no PCI (no MCFG, nothing in the DSDT).
	 * A window of size 0 is left out; the ECAM and the two memory windows must not
	 * overlap. */
	uint64_t ecam_base;
	uint8_t pci_bus_end;
	uint32_t mmio32_base, mmio32_size; /* ends at or below 4 GiB */
	uint64_t mmio64_base, mmio64_size;
	uint16_t pio_base, pio_size; /* I/O window for BARs, within ACPI_PCI_IO_MIN..0xFFFF */
	/* The GSIs of the four INTx lines, each in ACPI_PCI_MIN_GSI..ACPI_IOAPIC_PINS-1,
	 * level-triggered and active-low: pin p (0 = INTA) of slot s (1..31) raises line
	 * (s + p) % 4. */
	uint8_t pci_irqs[ACPI_PCI_INT_PINS];
	/* Writes the machine's fixed-resource devices into the DSDT's \_SB scope (before PCI0);
	 * NULL: none. */
	void (*sb_devices)(void *opaque, struct aml *a);
	void *sb_opaque;
	/* The TPM's CRB control area (its device is in the DSDT from sb_devices): a TPM2 table
	 * with start method "Command Response Buffer" points at it; 0: no TPM, no table. */
	uint64_t tpm_crb_ctrl;
};

/* A legacy ISA device: fixed ports and one edge-triggered IRQ. */
struct acpi_isa_dev {
	const char *name;
	const char *hid;
	unsigned uid; /* 0: no _UID */
	unsigned irq;
	struct {
		uint16_t base;
		uint8_t len;
	} io[2]; /* len 0: unused */
};

/* Writes d as a Device in the current scope (a device's DSDT hook). */
void acpi_dsdt_isa(struct aml *a, const struct acpi_isa_dev *d);

#define ACPI_MAX_CPUS 64

/* Build all tables into buf (which the caller places at guest address base_gpa, e.g.
 * inside 0xE0000..0xFFFFF). The RSDP is first, at base_gpa, 16-byte aligned.
 * Returns the number of bytes used, or -ENOSPC if buflen is too small, -EINVAL on bad input
 * (ncpus outside 1..ACPI_MAX_CPUS, a PCI layout that breaks the rules above, base_gpa not
 * 16-byte aligned, or tables that would not end below 4 GiB, where the RSDT and the FADT's
 * 32-bit pointers can reach them). */
long acpi_build(const struct acpi_vm *vm, uint8_t *buf, size_t buflen, uint64_t base_gpa);

/* The IOAPIC id the MADT reports: ncpus while that fits the 4-bit id and so cannot collide
 * with a local APIC id, else 0 (xAPIC keeps the two id spaces apart; see acpi.c). The VMM
 * may program the in-kernel IOAPIC's ID register with it. */
uint8_t acpi_ioapic_id(unsigned ncpus);

/* Sum of bytes mod 256 (0 for a valid table). */
uint8_t acpi_checksum(const uint8_t *p, size_t len);
