/* Booting UEFI firmware (--firmware): the images at the top of 4 GiB (read-only code, the
 * variable store behind the flash interface), and what the firmware reads through fw_cfg:
 * CPU count, RAM size, the e820 map, and the ACPI tables with their loader script.
 * See docs/firmware.md. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/x86/acpi.h"
#include "arch/x86/acpi_loader.h"
#include "arch/x86/layout.h"
#include "arch/x86/smbios.h"
#include "common/bytes.h"
#include "common/log.h"
#include "machine/vm.h"

#define SLOT_FW_CODE   GM_MAX_REGIONS
#define SLOT_FW_VARS   (GM_MAX_REGIONS + 1)
#define E820_ENTRY_LEN 20
#define LOADER_MAX     (64 * ACPI_LOADER_ENTRY_LEN)
#define E820_TYPE_RAM  1

static int set_slot(struct vm *vm, unsigned slot, uint64_t gpa, uint8_t *host, size_t len,
		    bool present)
{
	struct kvm_userspace_memory_region r = {
	    .slot = slot,
	    .flags = KVM_MEM_READONLY,
	    .guest_phys_addr = gpa,
	    .memory_size = present ? len : 0,
	    .userspace_addr = (uintptr_t)host,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

/* pflash: reads of the store exit (a command mode) or go straight to memory (read array). */
static void vars_romd(void *opaque, bool on)
{
	struct vm *vm = opaque;
	int rc = set_slot(vm, SLOT_FW_VARS, firmware_vars_gpa(&vm->fw), vm->fw.vars,
			  vm->fw.vars_len, on);

	if (rc < 0)
		vm_request_exit(vm, VM_FAILED, "cannot remap the firmware's variable store");
}

/* The code image: reads never exit (the slot is there); writes are dropped, as ROM does. */
static void rom_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	const struct firmware *fw = opaque;

	if (!is_write)
		memcpy(data, fw->code + off, len); /* iobus checked off + len */
}

static int map_images(struct vm *vm, char *err, size_t errlen)
{
	struct firmware *fw = &vm->fw;
	int rc;

	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0) {
		snprintf(err, errlen, "this KVM cannot map read-only memory (firmware needs it)");
		return -ENOTSUP;
	}
	rc = set_slot(vm, SLOT_FW_CODE, firmware_code_gpa(fw), fw->code, fw->code_len, true);
	if (rc == 0 && fw->vars)
		rc =
		    set_slot(vm, SLOT_FW_VARS, firmware_vars_gpa(fw), fw->vars, fw->vars_len, true);
	if (rc < 0) {
		snprintf(err, errlen, "cannot map the firmware: %s", strerror(-rc));
		return rc;
	}
	rc = iobus_register(&vm->bus, IOBUS_MMIO, firmware_code_gpa(fw), fw->code_len, rom_io, fw,
			    "fw-code");
	if (rc == 0 && fw->vars) {
		pflash_init(&vm->pflash, fw->vars, fw->vars_len, vars_romd, vm);
		vm->pflash_ready = true;
		rc = iobus_register(&vm->bus, IOBUS_MMIO, firmware_vars_gpa(fw), fw->vars_len,
				    pflash_io, &vm->pflash, "fw-vars");
	}
	if (rc < 0)
		snprintf(err, errlen, "the firmware overlaps another device");
	return rc;
}

/* etc/e820: the RAM the firmware may use (it reserves what it needs itself). */
static int add_e820(struct vm *vm)
{
	uint8_t e[GM_MAX_REGIONS * E820_ENTRY_LEN];
	unsigned n = vm->mem.nregions;

	for (unsigned i = 0; i < n; i++) {
		put_le64(e + i * E820_ENTRY_LEN, vm->mem.regions[i].gpa);
		put_le64(e + i * E820_ENTRY_LEN + 8, vm->mem.regions[i].size);
		put_le32(e + i * E820_ENTRY_LEN + 16, E820_TYPE_RAM);
	}
	return fw_cfg_add_file(&vm->fw_cfg, "etc/e820", e, n * E820_ENTRY_LEN);
}

/* The ACPI tables built at address 0, so that their pointers are offsets for the loader. */
static int add_acpi(struct vm *vm, const struct acpi_vm *acfg)
{
	uint8_t *tables = calloc(1, X86_ACPI_MAX), *script = calloc(1, LOADER_MAX);
	long tlen = tables ? acpi_build(acfg, tables, X86_ACPI_MAX, 0) : -ENOMEM;
	long slen = tlen > 0 && script ? acpi_loader_build(tables, (size_t)tlen, script, LOADER_MAX)
				       : -ENOMEM;
	int rc = slen < 0 ? (int)slen : 0;

	if (rc == 0)
		rc = fw_cfg_add_file(&vm->fw_cfg, ACPI_LOADER_RSDP_FILE, tables, 36);
	if (rc == 0)
		rc = fw_cfg_add_file(&vm->fw_cfg, ACPI_LOADER_TABLES_FILE, tables, (uint32_t)tlen);
	if (rc == 0)
		rc = fw_cfg_add_file(&vm->fw_cfg, ACPI_LOADER_FILE, script, (uint32_t)slen);
	free(tables);
	free(script);
	return rc;
}

static int add_smbios(struct vm *vm)
{
	uint8_t t[512], anchor[SMBIOS_ANCHOR_LEN];
	long n = smbios_build(vm->cfg->uuid_set ? vm->cfg->uuid : NULL, t, sizeof(t), anchor);
	int rc = n < 0 ? (int)n : fw_cfg_add_file(&vm->fw_cfg, SMBIOS_TABLES_FILE, t, (uint32_t)n);

	return rc < 0 ? rc
		      : fw_cfg_add_file(&vm->fw_cfg, SMBIOS_ANCHOR_FILE, anchor, sizeof(anchor));
}

int vm_boot_order_add(struct vm *vm, int bootindex, const char *ofw_path, char *err, size_t errlen)
{
	int rc;

	if (!vm->cfg->firmware)
		return 0; /* a Linux guest boots its kernel; there is no boot order */
	rc = boot_order_add(&vm->boot, bootindex, ofw_path);
	if (rc < 0)
		snprintf(err, errlen, "boot order: cannot add %s with bootindex %d: %s", ofw_path,
			 bootindex,
			 rc == -EEXIST ? "another device has that index" : strerror(-rc));
	return rc;
}

/* "bootorder": only when some device has a boot index (without it OVMF boots whatever it
 * finds, in its own order). */
static int add_boot_order(struct vm *vm)
{
	char buf[BOOT_ORDER_MAX * BOOT_PATH_MAX];
	long n = boot_order_build(&vm->boot, buf, sizeof(buf));

	if (n <= 0)
		return (int)n;
	pr_info("firmware: boot order %.*s", (int)n - 1, buf);
	return fw_cfg_add_file(&vm->fw_cfg, BOOT_ORDER_FILE, buf, (uint32_t)n);
}

int vm_load_firmware(struct vm *vm, const struct acpi_vm *acfg, char *err, size_t errlen)
{
	const struct vm_config *c = vm->cfg;
	int rc = firmware_open(&vm->fw, c->fw_code, c->fw_vars[0] ? c->fw_vars : NULL, err, errlen);

	if (rc < 0)
		return rc;
	rc = map_images(vm, err, errlen);
	if (rc < 0)
		return rc;
	rc = fw_cfg_add_u16(&vm->fw_cfg, FW_CFG_NB_CPUS, (uint16_t)vm->ncpus);
	if (rc == 0)
		rc = fw_cfg_add_u16(&vm->fw_cfg, FW_CFG_MAX_CPUS, (uint16_t)vm->ncpus);
	if (rc == 0)
		rc = fw_cfg_add_u64(&vm->fw_cfg, FW_CFG_RAM_SIZE, c->mem_size);
	if (rc == 0)
		rc = add_e820(vm);
	if (rc == 0)
		rc = add_acpi(vm, acfg);
	if (rc == 0)
		rc = add_smbios(vm);
	if (rc == 0 && c->uuid_set)
		rc = fw_cfg_add(&vm->fw_cfg, FW_CFG_UUID, c->uuid, sizeof(c->uuid));
	if (rc == 0)
		rc = add_boot_order(vm);
	if (rc < 0) {
		snprintf(err, errlen, "cannot set up fw_cfg for the firmware: %s", strerror(-rc));
		return rc;
	}
	pr_info("firmware: code %zu KiB at 0x%llx, %s", vm->fw.code_len >> 10,
		(unsigned long long)firmware_code_gpa(&vm->fw),
		vm->fw.vars ? "variable store on flash" : "no variable store (not kept)");
	return 0;
}

void vm_firmware_destroy(struct vm *vm)
{
	if (vm->pflash_ready)
		pflash_destroy(&vm->pflash);
	if (vm->fw_cfg_ready)
		fw_cfg_destroy(&vm->fw_cfg);
	if (vm->debugcon_ready)
		debugcon_destroy(&vm->debugcon);
	firmware_close(&vm->fw);
	vm->pflash_ready = vm->fw_cfg_ready = vm->debugcon_ready = false;
}
