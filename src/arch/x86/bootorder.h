/* The firmware's boot order: the fw_cfg file "bootorder" as QEMU writes it, which OVMF's
 * QemuBootOrderLib turns into its BootOrder variable. Each bootable device with a boot index
 * adds its OpenFirmware device path; the file lists them by index (lower first), one a line,
 * ending with a NUL. OVMF translates the paths it knows into UEFI device path prefixes
 * (docs/firmware.md); with the file present it boots only the listed devices (and options that
 * are not devices, such as its built-in shell). */
#pragma once
#include <stddef.h>

#define BOOT_ORDER_MAX	  16
#define BOOT_PATH_MAX	  96
#define BOOT_ORDER_FILE	  "bootorder"
#define BOOT_OFW_PCI_ROOT "/pci@i0cf8" /* the PC's root bus, at config port 0xCF8 */

struct boot_entry {
	int bootindex;
	char path[BOOT_PATH_MAX];
};

struct boot_order {
	struct boot_entry e[BOOT_ORDER_MAX];
	unsigned n;
};

void boot_order_init(struct boot_order *b);
/* Adds a device. bootindex >= 0; path: an OpenFirmware path, "/" then printable ASCII without
 * spaces. Returns 0, -EINVAL (bad index or path), -EEXIST (index taken) or -ENOSPC. */
int boot_order_add(struct boot_order *b, int bootindex, const char *path);
/* Writes the file: the paths by ascending index, separated by '\n', then a NUL. Returns its
 * length (with the NUL), 0 when no device was added (then there is no file), or -ENOSPC. */
long boot_order_build(const struct boot_order *b, char *buf, size_t cap);

/* OpenFirmware paths of the devices QemuBootOrderLib translates (slot and function of the
 * PCI device on the root bus). Each returns 0 or -ENOSPC/-EINVAL.
 *   virtio-blk: "/pci@i0cf8/scsi@S[,F]/disk@0,0"  -> PciRoot(0x0)/Pci(S,F)
 *   SATA (ICH9 AHCI, 8086:2922) drive on port P:
 *     "/pci@i0cf8/pci8086,2922@S,F/drive@P/disk@0" -> PciRoot(0x0)/Pci(S,F)/Sata(P,0x0,0x0) */
/*   NVMe namespace N (EUI-64 0): OVMF matches the controller by QEMU's old Intel id whatever
 *   the device's own, "/pci@i0cf8/pci8086,5845@S[,F]/namespace@N,0"
 *     -> PciRoot(0x0)/Pci(S,F)/NVMe(N,00-00-00-00-00-00-00-00) */
int boot_ofw_virtio_blk(char *buf, size_t cap, unsigned slot, unsigned fn);
int boot_ofw_nvme(char *buf, size_t cap, unsigned slot, unsigned fn, unsigned nsid);
int boot_ofw_sata(char *buf, size_t cap, unsigned slot, unsigned fn, unsigned port);
