/* The ICH9 LPC bridge at 00:1f.0, as far as UEFI firmware on a Q35 host bridge looks at it:
 * its ACPI registers say where the PM block is (PMBASE at 0x40, ACPI_CNTL's enable bit at
 * 0x44). Both read as set up already (the PM block is fixed at ACPI_PM1A_EVT_PORT), so
 * OVMF keeps them; of this function's registers only the command register (decoding on)
 * and the interrupt line take writes. No BARs. OVMF finds the firmware's serial console and
 * PS/2 keyboard behind it (its SioBusDxe binds to an ISA bridge). */
#pragma once
#include "devices/pci.h"

#define LPC_SLOT 31

void lpc_init(struct pci_dev *d);

/* On the board (devices/device.h), for firmware guests. */
extern const struct device_model lpc_device;
