/* The two machine profiles: a Linux kernel booted directly (its own layout: RAM up to 3 GiB,
 * ECAM at 0xE0000000, ACPI tables at 0xE0000, the zero page and page tables written for the
 * 64-bit entry) and Q35's layout for UEFI firmware (RAM up to 0xB0000000, the LPC bridge,
 * everything else told through fw_cfg; vCPUs at the reset vector). vm_create picks one. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/bzimage.h"
#include "arch/x86/cpu_regs.h"
#include "arch/x86/layout.h"
#include "devices/fw_cfg.h"
#include "devices/tpm_crb.h"
#include "machine/vm.h"

int vm_map_file(const char *what, const char *path, const uint8_t **data, size_t *len, char *err,
		size_t errlen)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot open %s '%s': %s", what, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -ENOENT;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		snprintf(err, errlen, "%s '%s' is %s", what, path,
			 S_ISREG(st.st_mode) ? "empty" : "not a regular file");
		close(fd);
		return -EINVAL;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "cannot read %s '%s': %s", what, path, strerror(errno));
		return -EIO;
	}
	*data = p;
	*len = (size_t)st.st_size;
	return 0;
}

void vm_acpi_config(struct vm *vm, struct acpi_vm *acfg)
{
	const struct machine_profile *p = vm->profile;

	*acfg = (struct acpi_vm){
	    .ncpus = vm->ncpus,
	    .ecam_base = p->ecam_base,
	    /* One root bus and no bridges: advertising buses 0..255 in the MCFG makes Linux
	     * probe every empty bus for peer host bridges through 0xCF8/0xCFC (its
	     * pcibios_last_bus comes from the MCFG end bus): ~16k exits at boot. */
	    .pci_bus_end = 0,
	    .mmio32_base = (uint32_t)p->mmio32_base,
	    .mmio32_size = (uint32_t)p->mmio32_size,
	    .pio_base = (uint16_t)p->pio_base,
	    .pio_size = (uint16_t)p->pio_size,
	    .pci_irqs = {PCI_INTX_GSI0, PCI_INTX_GSI0 + 1, PCI_INTX_GSI0 + 2, PCI_INTX_GSI0 + 3},
	    .sb_devices = board_dsdt,
	    .sb_opaque = vm,
	    .tpm_crb_ctrl = vm->cfg->tpm_socket[0] ? TPM_CRB_BASE + CRB_CTRL_REQ : 0,
	};
}

/* The kernel (and initramfs) mapped for a loader, unmapped after. */
struct kernel_files {
	const uint8_t *k, *ird;
	size_t klen, ilen;
};

static int map_kernel(const struct vm_config *cfg, struct kernel_files *f, char *err, size_t errlen)
{
	int rc = vm_map_file("kernel", cfg->kernel, &f->k, &f->klen, err, errlen);

	if (rc == 0 && cfg->initramfs)
		rc = vm_map_file("initramfs", cfg->initramfs, &f->ird, &f->ilen, err, errlen);
	return rc;
}

static void unmap_kernel(struct kernel_files *f)
{
	if (f->k)
		munmap((void *)f->k, f->klen);
	if (f->ird)
		munmap((void *)f->ird, f->ilen);
}

/* ---- direct Linux boot ---- */

static int direct_load(struct vm *vm, char *err, size_t errlen)
{
	struct kernel_files f = {0};
	struct linux_boot boot;
	struct acpi_vm acfg;
	uint8_t *acpi = gm_ptr(&vm->mem, X86_ACPI_GPA, X86_ACPI_MAX);
	int rc;

	vm_acpi_config(vm, &acfg);
	if (!acpi || acpi_build(&acfg, acpi, X86_ACPI_MAX, X86_ACPI_GPA) < 0) {
		snprintf(err, errlen, "cannot build the ACPI tables");
		return -EINVAL;
	}
	rc = map_kernel(vm->cfg, &f, err, errlen);
	if (rc == 0) {
		char why[200];

		rc = linux_load(&vm->mem, f.k, f.klen, f.ird, f.ilen, vm->cfg->cmdline,
				X86_ACPI_GPA, &boot, why, sizeof(why));
		if (rc < 0)
			snprintf(err, errlen, "kernel '%s': %s", vm->cfg->kernel, why);
	}
	if (rc == 0 && x86_write_boot_tables(&vm->mem) < 0) {
		snprintf(err, errlen, "guest memory too small for the boot page tables");
		rc = -ENOMEM;
	}
	if (rc == 0) {
		vm->boot_entry = boot.entry;
		vm->zero_page = boot.zero_page;
	}
	unmap_kernel(&f);
	return rc;
}

static int direct_setup_vcpu(struct vm *vm, struct vcpu *v, char *err, size_t errlen)
{
	return vcpu_setup_boot(v, vm->boot_entry, vm->zero_page, err, errlen);
}

const struct machine_profile machine_linux = {
    .name = "linux",
    .hole_start = GM_HOLE_START,
    .ecam_base = PCI_ECAM_BASE,
    .mmio32_base = PCI_MMIO32_BASE,
    .mmio32_size = PCI_MMIO32_SIZE,
    .pio_base = PCI_PIO_BASE,
    .pio_size = PCI_PIO_SIZE,
    .load = direct_load,
    .setup_vcpu = direct_setup_vcpu,
};

/* ---- UEFI firmware on Q35's layout ---- */

/* With --kernel too: the kernel, initramfs and command line as fw_cfg items, which OVMF boots
 * (through the kernel's EFI stub) instead of a disk. */
static int firmware_kernel(struct vm *vm, char *err, size_t errlen)
{
	struct kernel_files f = {0};
	struct fw_cfg *fc = board_state(vm, &fw_cfg_device);
	int rc = map_kernel(vm->cfg, &f, err, errlen);

	if (rc == 0) {
		char why[200];

		rc = fw_cfg_add_linux(fc, f.k, f.klen, f.ird, f.ilen, vm->cfg->cmdline, why,
				      sizeof(why));
		if (rc < 0)
			snprintf(err, errlen, "kernel '%s': %s", vm->cfg->kernel, why);
	}
	unmap_kernel(&f);
	return rc;
}

static int firmware_load(struct vm *vm, char *err, size_t errlen)
{
	int rc = vm_load_firmware(vm, err, errlen);

	return rc == 0 && vm->cfg->kernel ? firmware_kernel(vm, err, errlen) : rc;
}

static int firmware_setup_vcpu(struct vm *vm, struct vcpu *v, char *err, size_t errlen)
{
	(void)vm;
	return vcpu_setup_firmware(v, err, errlen);
}

const struct machine_profile machine_q35_firmware = {
    .name = "q35-firmware",
    .hole_start = X86_FW_HOLE_START,
    .ecam_base = X86_FW_ECAM_BASE,
    .mmio32_base = X86_FW_MMIO32_BASE,
    .mmio32_size = X86_FW_MMIO32_SIZE,
    .pio_base = X86_FW_PIO_BASE,
    .pio_size = X86_FW_PIO_SIZE,
    .q35_lpc = true,
    .load = firmware_load,
    .setup_vcpu = firmware_setup_vcpu,
};
