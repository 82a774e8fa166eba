#include "devices/lpc.h"

#include "arch/x86/acpi.h"
#include "common/bytes.h"
#include <errno.h>
#include <stdlib.h>
#include "devices/device.h"

#define LPC_PMBASE    0x40
#define LPC_ACPI_CNTL 0x44
#define ACPI_EN	      0x80

/* GEN_PMCON_1's SMI_LOCK: once set, SMI_EN's GBL_SMI_EN can't change until reset. */
static void lpc_cfg_write(struct pci_dev *d, uint32_t off, uint32_t len)
{
	if (off <= LPC_GEN_PMCON_1 && off + len > LPC_GEN_PMCON_1 &&
	    (d->cfg[LPC_GEN_PMCON_1] & LPC_SMI_LOCK))
		d->wmask[LPC_GEN_PMCON_1] &= (uint8_t)~LPC_SMI_LOCK; /* write-once */
}

static const struct pci_dev_ops lpc_ops = {.cfg_write = lpc_cfg_write};

bool lpc_smi_locked(const struct pci_dev *d)
{
	return __atomic_load_n(&d->cfg[LPC_GEN_PMCON_1], __ATOMIC_RELAXED) & LPC_SMI_LOCK;
}

void lpc_init(struct pci_dev *d)
{
	/* Intel 82801IB (ICH9) LPC interface, class ISA bridge, as QEMU's q35 has it. */
	pci_dev_init(d, 0x8086, 0x2918, 0x060100, 2, 0x1AF4, 0x1100);
	put_le32(d->cfg + LPC_PMBASE, ACPI_PM1A_EVT_PORT | 1u); /* bit 0: I/O space */
	d->cfg[LPC_ACPI_CNTL] = ACPI_EN;
	/* I/O and memory decoding on, and the command register writable (pci_dev_init's wmask):
	 * OVMF's SioBusDxe only takes an ISA bridge that decodes both, and the firmware's
	 * serial console and PS/2 keyboard hang off it. */
	put_le16(d->cfg + 0x04, 0x0003);
	d->wmask[LPC_GEN_PMCON_1] = LPC_SMI_LOCK;
	d->ops = &lpc_ops;
}

/* ---- on the board: Q35's LPC bridge at 00:1f.0, for firmware ---- */

static bool lpc_wanted(const struct vm_config *cfg)
{
	return cfg->firmware;
}

static int lpc_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct pci_dev *d = calloc(1, sizeof(*d));

	(void)err;
	(void)errlen;
	*state = d;
	if (!d)
		return -ENOMEM;
	lpc_init(d);
	return pci_bus_add_at(b->pci, d, LPC_SLOT);
}

const struct device_model lpc_device = {
    .name = "lpc",
    .wanted = lpc_wanted,
    .plug = lpc_plug,
    .unplug = free,
};
