#include "machine/board.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "devices/ahci.h"
#include "devices/bochs_display.h"
#include "devices/debugport.h"
#include "devices/e1000e.h"
#include "devices/fw_cfg.h"
#include "devices/hda.h"
#include "devices/i8042.h"
#include "devices/ich9_smi.h"
#include "devices/lpc.h"
#include "devices/mch_smram.h"
#include "devices/nvme_pci.h"
#include "devices/pflash.h"
#include "devices/pm.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "devices/tpm_crb.h"
#include "devices/xhci.h"
#include "machine/vm.h"
#include "virtio/devices.h"

/* The table. A new device is a file with its struct device_model, and a row here. PCI devices
 * get their slots in this order. */
static const struct device_model *const rows[] = {
    &serial_device,	    /* COM1 */
    &i8042_device,	    /* PS/2 keyboard and mouse, the reset line */
    &rtc_device,	    /* CMOS clock */
    &pm_device,		    /* ACPI PM block: power button, poweroff */
    &debugport_device,	    /* port 0x80 */
    &lpc_device,	    /* Q35's LPC bridge at 00:1f.0 (firmware) */
    &mch_smram_device,	    /* Q35's SMRAM, KVM's SMM address space (firmware, SMM) */
    &ich9_smi_device,	    /* the APM port's SMIs, SMI_EN (firmware, SMM) */
    &fw_cfg_device,	    /* the firmware's configuration (firmware) */
    &fw_flash_device,	    /* the firmware's ROM and variable store (firmware) */
    &debugcon_device,	    /* the firmware's log on port 0x402 (firmware, -v) */
    &bochs_display_device,  /* --display */
    &virtio_blk_device,	    /* --disk */
    &nvme_device,	    /* --disk ...,bus=nvme */
    &virtio_net_device,	    /* --net */
    &e1000e_device,	    /* --net ...,model=e1000e */
    &virtio_rng_device,	    /* --rng */
    &virtio_console_device, /* --console */
    &virtio_input_device,   /* the tablet, with --display */
    &ahci_cdrom_device,	    /* --cdrom */
    &xhci_device,	    /* --usb: USB tablet and keyboard */
    &tpm_crb_device,	    /* --tpm: TPM 2.0 on swtpm */
    &virtio_fs_device,	    /* --fs: folders shared with the host */
    &hda_device,	    /* --sound: HD Audio controller and codec */
};

_Static_assert(sizeof(rows) / sizeof(rows[0]) <= BOARD_MAX_ROWS, "BOARD_MAX_ROWS too small");

#define NROWS (sizeof(rows) / sizeof(rows[0]))

int board_plug(struct vm *vm, char *err, size_t errlen)
{
	for (unsigned i = 0; i < NROWS; i++) {
		const struct device_model *m = rows[i];
		int rc;

		if (m->wanted && !m->wanted(vm->cfg))
			continue;
		err[0] = 0;
		rc = m->plug(&vm->board, &vm->dev_state[i], err, errlen);
		if (rc < 0) {
			if (!err[0])
				snprintf(err, errlen, "cannot plug %s: %s", m->name,
					 rc == -EINVAL ? "overlapping I/O ranges" : strerror(-rc));
			return rc;
		}
	}
	return 0;
}

void board_unplug(struct vm *vm)
{
	for (unsigned i = NROWS; i-- > 0;) {
		if (vm->dev_state[i])
			rows[i]->unplug(vm->dev_state[i]);
		vm->dev_state[i] = NULL;
	}
}

void *board_state(const struct vm *vm, const struct device_model *m)
{
	for (unsigned i = 0; i < NROWS; i++)
		if (rows[i] == m)
			return vm->dev_state[i];
	return NULL;
}

void board_dsdt(void *opaque, struct aml *a)
{
	const struct vm *vm = opaque;

	for (unsigned i = 0; i < NROWS; i++)
		if (vm->dev_state[i] && rows[i]->dsdt)
			rows[i]->dsdt(vm->dev_state[i], a);
}

void board_counters(const struct vm *vm, struct ctl_counters *k)
{
	for (unsigned i = 0; i < NROWS; i++)
		if (vm->dev_state[i] && rows[i]->counters)
			rows[i]->counters(vm->dev_state[i], k);
}
