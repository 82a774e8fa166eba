/* Booting UEFI firmware (--firmware): what the firmware reads through fw_cfg (CPU count, RAM
 * size, the e820 map, the ACPI tables with their loader script, SMBIOS, the boot order, SMM's
 * feature negotiation), once
 * the board's devices are plugged (the images themselves are the board's "firmware" row,
 * devices/pflash.c). See docs/firmware.md. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/acpi_loader.h"
#include "arch/x86/layout.h"
#include "arch/x86/smbios.h"
#include "common/bytes.h"
#include "common/log.h"
#include "devices/fw_cfg.h"
#include "devices/ich9_smi.h"
#include "machine/vm.h"

#define E820_ENTRY_LEN 20
#define LOADER_MAX     (64 * ACPI_LOADER_ENTRY_LEN)
#define E820_TYPE_RAM  1

/* etc/e820: the RAM the firmware may use (it reserves what it needs itself). */
static int add_e820(struct vm *vm, struct fw_cfg *fc)
{
	uint8_t e[GM_MAX_REGIONS * E820_ENTRY_LEN];
	unsigned n = vm->mem.nregions;

	for (unsigned i = 0; i < n; i++) {
		put_le64(e + i * E820_ENTRY_LEN, vm->mem.regions[i].gpa);
		put_le64(e + i * E820_ENTRY_LEN + 8, vm->mem.regions[i].size);
		put_le32(e + i * E820_ENTRY_LEN + 16, E820_TYPE_RAM);
	}
	return fw_cfg_add_file(fc, "etc/e820", e, n * E820_ENTRY_LEN);
}

/* The ACPI tables built at address 0, so that their pointers are offsets for the loader. */
static int add_acpi(struct fw_cfg *fc, const struct acpi_vm *acfg)
{
	uint8_t *tables = calloc(1, X86_ACPI_MAX), *script = calloc(1, LOADER_MAX);
	long tlen = tables ? acpi_build(acfg, tables, X86_ACPI_MAX, 0) : -ENOMEM;
	long slen = tlen > 0 && script ? acpi_loader_build(tables, (size_t)tlen, script, LOADER_MAX)
				       : -ENOMEM;
	int rc = slen < 0 ? (int)slen : 0;

	if (rc == 0)
		rc = fw_cfg_add_file(fc, ACPI_LOADER_RSDP_FILE, tables, 36);
	if (rc == 0)
		rc = fw_cfg_add_file(fc, ACPI_LOADER_TABLES_FILE, tables, (uint32_t)tlen);
	if (rc == 0)
		rc = fw_cfg_add_file(fc, ACPI_LOADER_FILE, script, (uint32_t)slen);
	free(tables);
	free(script);
	return rc;
}

static int add_smbios(struct vm *vm, struct fw_cfg *fc)
{
	uint8_t t[512], anchor[SMBIOS_ANCHOR_LEN];
	long n = smbios_build(vm->cfg->uuid_set ? vm->cfg->uuid : NULL, t, sizeof(t), anchor);
	int rc = n < 0 ? (int)n : fw_cfg_add_file(fc, SMBIOS_TABLES_FILE, t, (uint32_t)n);

	return rc < 0 ? rc : fw_cfg_add_file(fc, SMBIOS_ANCHOR_FILE, anchor, sizeof(anchor));
}

/* "bootorder": only when some device has a boot index (without it OVMF boots whatever it
 * finds, in its own order). */
static int add_boot_order(struct vm *vm, struct fw_cfg *fc)
{
	char buf[BOOT_ORDER_MAX * BOOT_PATH_MAX];
	long n = boot_order_build(&vm->boot, buf, sizeof(buf));

	if (n <= 0)
		return (int)n;
	pr_info("firmware: boot order %.*s", (int)n - 1, buf);
	return fw_cfg_add_file(fc, BOOT_ORDER_FILE, buf, (uint32_t)n);
}

int vm_load_firmware(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *c = vm->cfg;
	struct fw_cfg *fc = board_state(vm, &fw_cfg_device);
	struct acpi_vm acfg;
	int rc;

	vm_acpi_config(vm, &acfg);
	rc = fw_cfg_add_u16(fc, FW_CFG_NB_CPUS, (uint16_t)vm->ncpus);
	if (rc == 0)
		rc = fw_cfg_add_u16(fc, FW_CFG_MAX_CPUS, (uint16_t)vm->ncpus);
	if (rc == 0)
		rc = fw_cfg_add_u64(fc, FW_CFG_RAM_SIZE, c->mem_size);
	if (rc == 0)
		rc = add_e820(vm, fc);
	if (rc == 0)
		rc = add_acpi(fc, &acfg);
	if (rc == 0)
		rc = add_smbios(vm, fc);
	if (rc == 0 && c->uuid_set)
		rc = fw_cfg_add(fc, FW_CFG_UUID, c->uuid, sizeof(c->uuid));
	if (rc == 0)
		rc = add_boot_order(vm, fc);
	if (rc == 0 && board_state(vm, &ich9_smi_device))
		rc = ich9_smi_add_fw_cfg(board_state(vm, &ich9_smi_device), fc);
	if (rc < 0)
		snprintf(err, errlen, "cannot set up fw_cfg for the firmware: %s", strerror(-rc));
	return rc;
}
