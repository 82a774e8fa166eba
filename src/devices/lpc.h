/* The ICH9 LPC bridge at 00:1f.0, as far as UEFI firmware on a Q35 host bridge looks at it:
 * its ACPI registers say where the PM block is (PMBASE at 0x40, ACPI_CNTL's enable bit at
 * 0x44). Both read as set up already (the PM block is fixed at ACPI_PM1A_EVT_PORT), so
 * OVMF keeps them; of this function's registers only the command register (decoding on),
 * the interrupt line and GEN_PMCON_1's SMI_LOCK (0xA0 bit 4, write-once: devices/ich9_smi.c
 * reads it) take writes. No BARs. OVMF finds the firmware's serial console and
 * PS/2 keyboard behind it (its SioBusDxe binds to an ISA bridge). */
#pragma once
#include "devices/pci.h"

#include <stdbool.h>

#define LPC_SLOT	31
#define LPC_GEN_PMCON_1 0xA0
#define LPC_SMI_LOCK	0x10

void lpc_init(struct pci_dev *d);
/* Whether the firmware locked SMI_EN's GBL_SMI_EN (GEN_PMCON_1's SMI_LOCK). */
bool lpc_smi_locked(const struct pci_dev *d);

/* On the board (devices/device.h), for firmware guests. */
extern const struct device_model lpc_device;
