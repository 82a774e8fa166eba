#include "machine/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/bzimage.h"
#include "arch/x86/cpu_regs.h"
#include "arch/x86/cpuid.h"
#include "arch/x86/layout.h"
#include "common/log.h"
#include "devices/lpc.h"
#include "kvm/dirty_log.h"
#include "virtio/devices.h"
#include "virtio/virtio_pci.h"

/* Intel's KVM keeps 4 pages of its own here (real-mode TSS, identity page table): below
 * the LAPIC's page and away from the top 16 MiB, where --firmware images go. */
#define KVM_TSS_ADDR  0xFEFFD000ul
#define KVM_IDENT_MAP 0xFEFFC000ull

void vm_request_exit(struct vm *vm, enum vm_exit why, const char *msg)
{
	int expected = VM_RUNNING;
	uint64_t one = 1;

	if (!__atomic_compare_exchange_n(&vm->exit_reason, &expected, (int)why, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	if (msg)
		snprintf(vm->fail_msg, sizeof(vm->fail_msg), "%s", msg);
	if (write(vm->event_fd, &one, sizeof(one)) < 0)
		pr_warn("cannot wake the VM loop: %s", strerror(errno));
}

void vm_set_irq(void *opaque, unsigned irq, int level)
{
	struct vm *vm = opaque;
	struct kvm_irq_level l = {.irq = irq, .level = (uint32_t)level};

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0)
		pr_warn("KVM_IRQ_LINE %u: %s", irq, strerror(errno));
}

static void pm_event(void *opaque, enum pm_event ev)
{
	vm_request_exit(opaque, ev == PM_POWEROFF ? VM_POWEROFF : VM_REBOOT, NULL);
}

static void kbd_reset(void *opaque)
{
	vm_request_exit(opaque, VM_REBOOT, NULL);
}

static int open_kvm(struct vm *vm, char *err, size_t errlen)
{
	int n;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		snprintf(err, errlen, "cannot open /dev/kvm: %s%s", strerror(errno),
			 errno == ENOENT   ? " (no KVM on this host: load kvm-intel or kvm-amd)"
			 : errno == EACCES ? " (add your user to the kvm group)"
					   : "");
		return -errno;
	}
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		snprintf(err, errlen, "/dev/kvm speaks an unknown KVM API version");
		return -ENOTSUP;
	}
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) <= 0 ||
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) <= 0) {
		snprintf(err, errlen, "this KVM lacks the in-kernel irqchip or immediate_exit");
		return -ENOTSUP;
	}
	n = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (n > 0 && (unsigned)n < vm->ncpus) {
		snprintf(err, errlen, "this KVM allows at most %d vCPUs", n);
		return -ERANGE;
	}
	n = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm->run_size = n > 0 ? (size_t)n : 0;
	return 0;
}

static int create_vm(struct vm *vm, char *err, size_t errlen)
{
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		snprintf(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0 ||
	    ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &(uint64_t){KVM_IDENT_MAP}) < 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		snprintf(err, errlen, "KVM irqchip/PIT set-up: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int setup_memory(struct vm *vm, char *err, size_t errlen)
{
	int rc = gm_init_hole(&vm->mem, vm->cfg->mem_size, vm->hole_start);

	if (rc < 0) {
		snprintf(err, errlen, "cannot allocate %llu MiB of guest memory: %s",
			 (unsigned long long)(vm->cfg->mem_size >> 20), strerror(-rc));
		return rc;
	}
	for (unsigned i = 0; i < vm->mem.nregions; i++) {
		const struct gm_region *r = &vm->mem.regions[i];
		struct kvm_userspace_memory_region slot = {
		    .slot = i,
		    .guest_phys_addr = r->gpa,
		    .memory_size = r->size,
		    .userspace_addr = (uintptr_t)(vm->mem.host + r->offset),
		};

		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
			snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static int add_io(struct vm *vm, uint64_t base, uint64_t len, iobus_fn fn, void *opaque,
		  const char *name)
{
	return iobus_register(&vm->bus, IOBUS_PIO, base, len, fn, opaque, name);
}

static int setup_legacy(struct vm *vm)
{
	const struct gm_region *low = &vm->mem.regions[0];
	uint64_t high = vm->mem.nregions > 1 ? vm->mem.regions[1].size : 0;
	int rc = 0;

	serial_init(&vm->serial, SERIAL_COM1_IRQ, console_output, vm->con, vm_set_irq, vm);
	i8042_init(&vm->i8042, vm_set_irq, vm, kbd_reset, vm);
	rtc_init(&vm->rtc, low->size, high);
	pm_init(&vm->pm, vm_set_irq, vm, pm_event, vm);
	pci_bus_init(&vm->pci, &vm->pm);
	pci_bus_set_windows(&vm->pci, vm->mmio32_base, vm->mmio32_size, vm->pio_base, vm->pio_size);
	pci_host_q35_regs(&vm->pci, vm->ecam_base);
	if (vm->cfg->firmware) {
		lpc_init(&vm->lpc);
		rc |= pci_bus_add_at(&vm->pci, &vm->lpc, LPC_SLOT);
		rc |= fw_cfg_init(&vm->fw_cfg, &vm->mem);
		vm->fw_cfg_ready = true;
		rc |=
		    add_io(vm, FW_CFG_PORT_SEL, FW_CFG_PORT_LEN, fw_cfg_io, &vm->fw_cfg, "fw-cfg");
	}
	rc |= add_io(vm, SERIAL_COM1_BASE, 8, serial_io, &vm->serial, "com1");
	rc |= add_io(vm, I8042_DATA_PORT, 1, i8042_data_io, &vm->i8042, "i8042-data");
	rc |= add_io(vm, I8042_COMMAND_PORT, 1, i8042_cmd_io, &vm->i8042, "i8042-cmd");
	rc |= add_io(vm, RTC_PORT, 2, rtc_io, &vm->rtc, "rtc");
	rc |= add_io(vm, ACPI_PM1A_EVT_PORT, 12, pm_io, &vm->pm, "acpi-pm");
	rc |= add_io(vm, DEBUGPORT_PORT, 1, debugport_io, &vm->dbg, "debug-port");
	rc |= add_io(vm, 0xCF8, 8, pci_conf1_io, &vm->pci, "pci-conf1");
	rc |= add_io(vm, vm->pio_base, vm->pio_size, pci_pio_io, &vm->pci, "pci-io");
	rc |= iobus_register(&vm->bus, IOBUS_MMIO, vm->ecam_base, PCI_ECAM_SIZE, pci_ecam_io,
			     &vm->pci, "pci-ecam");
	rc |= iobus_register(&vm->bus, IOBUS_MMIO, vm->mmio32_base, vm->mmio32_size, pci_mmio_io,
			     &vm->pci, "pci-mmio32");
	return rc ? -EINVAL : 0;
}

#define VRAM_SLOT 8 /* RAM uses slots 0..GM_MAX_REGIONS-1 */

/* BAR0 of the display moved (from the vCPU thread that wrote it, under the PCI bus lock). */
static void map_vram(void *opaque, uint64_t gpa)
{
	struct vm *vm = opaque;
	struct kvm_userspace_memory_region r = {.slot = VRAM_SLOT,
						.userspace_addr = (uintptr_t)vm->vram};

	if (vm->vram_gpa) {
		r.guest_phys_addr = vm->vram_gpa;
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			pr_warn("display: cannot unmap VRAM: %s", strerror(errno));
	}
	__atomic_store_n(&vm->vram_gpa, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&vm->vram_moved, true, __ATOMIC_RELEASE);
	if (!gpa)
		return;
	r.guest_phys_addr = gpa;
	r.memory_size = BOCHS_VRAM_SIZE;
	r.flags = KVM_MEM_LOG_DIRTY_PAGES;
	/* On failure the BAR still works, through MMIO exits (slowly). */
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		pr_warn("display: cannot map VRAM at 0x%llx: %s", (unsigned long long)gpa,
			strerror(errno));
	else
		__atomic_store_n(&vm->vram_gpa, gpa, __ATOMIC_RELEASE);
}

int vm_vram_dirty(void *opaque, uint64_t *bitmap, size_t bytes, uint64_t start, uint64_t len)
{
	struct vm *vm = opaque;
	struct kvm_dirty_log l = {.slot = VRAM_SLOT, .dirty_bitmap = bitmap};
	struct kvm_clear_dirty_log cl = {.slot = VRAM_SLOT, .dirty_bitmap = vm->vram_clear};
	struct dirty_clear c;

	if (bytes < BOCHS_VRAM_SIZE / 4096 / 8 || !__atomic_load_n(&vm->vram_gpa, __ATOMIC_ACQUIRE))
		return -ENOENT;
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &l) < 0)
		return -errno;
	/* Manual protection: re-protect only the dirty pages the caller is about to read, before it
	 * reads them (a write after this faults and is in the next call's bitmap). The rest stay
	 * writable and set: a guest drawing outside the visible frame costs no faults. */
	if (vm->vram_manual &&
	    dirty_clear_range(bitmap, BOCHS_VRAM_SIZE / 4096, start, len, vm->vram_clear, &c)) {
		cl.first_page = c.first_page;
		cl.num_pages = (uint32_t)c.num_pages;
		if (ioctl(vm->vm_fd, KVM_CLEAR_DIRTY_LOG, &cl) < 0)
			return -errno;
	}
	if (__atomic_exchange_n(&vm->vram_moved, false, __ATOMIC_ACQ_REL))
		return -EAGAIN;
	return 0;
}

/* Manual dirty-log protection (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2), as QEMU uses it:
 * KVM_GET_DIRTY_LOG stops clearing and write-protecting every dirty page of the slot,
 * vm_vram_dirty clears only the dirty pages the display reads, and with
 * KVM_DIRTY_LOG_INITIALLY_SET (where offered) a new slot starts all dirty and writable, without
 * a write-protection pass. Without the capability (older kernels): KVM_GET_DIRTY_LOG's own
 * clear-and-protect of every dirty page. */
static void vram_dirty_mode(struct vm *vm)
{
	int caps = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
	struct kvm_enable_cap cap = {.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2};

	if (caps <= 0 || !(caps & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)) {
		pr_debug("display: no manual dirty-log protection; whole-log re-protection");
		return;
	}
	cap.args[0] =
	    (uint64_t)caps & (KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET);
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
		pr_debug("display: cannot enable manual dirty-log protection: %s", strerror(errno));
		return;
	}
	vm->vram_manual = true;
}

static int setup_display(struct vm *vm, char *err, size_t errlen)
{
	void *p;

	if (vm->cfg->display.kind == DISPLAY_OFF)
		return 0;
	vm->display = calloc(1, sizeof(*vm->display));
	vm->vram_fd = memfd_create("phyllome-vram", MFD_CLOEXEC);
	if (!vm->display || vm->vram_fd < 0 || ftruncate(vm->vram_fd, BOCHS_VRAM_SIZE) < 0) {
		snprintf(err, errlen, "display: cannot allocate VRAM: %s", strerror(errno));
		return -ENOMEM;
	}
	p = mmap(NULL, BOCHS_VRAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vram_fd, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "display: cannot map VRAM: %s", strerror(errno));
		return -ENOMEM;
	}
	vm->vram = p;
	vram_dirty_mode(vm);
	bochs_init(vm->display, vm->vram, map_vram, vm);
	if (add_io(vm, BOCHS_DISPI_PORT, 3, bochs_dispi_io, vm->display, "bochs-dispi") < 0 ||
	    pci_bus_add(&vm->pci, &vm->display->pci) < 0) {
		snprintf(err, errlen, "display: cannot plug the display device");
		return -ENOSPC;
	}
	return 0;
}

enum vdev_kind { VDEV_BLK, VDEV_NET, VDEV_RNG, VDEV_CONSOLE, VDEV_INPUT };

static void console_quit(void *opaque)
{
	vm_request_exit(opaque, VM_QUIT, NULL);
}

/* Creates one virtio device of kind with its configuration item i, and plugs it. */
static int add_virtio(struct vm *vm, enum vdev_kind kind, unsigned i, char *err, size_t errlen)
{
	struct virtio_pci_env env = {vm->vm_fd,	 &vm->routes, &vm->mem,
				     vm_set_irq, vm,	      (int)vm->cfg->seccomp};
	struct virtio_dev *d;
	struct virtio_transport *t = virtio_pci_alloc(&env, &d);
	int rc;

	if (!t) {
		snprintf(err, errlen, "out of memory for a virtio device");
		return -ENOMEM;
	}
	vm->vdevs[vm->nvdevs++] = t;
	switch (kind) {
	case VDEV_BLK:
		rc = virtio_blk_init(d, &vm->cfg->disks[i], i, err, errlen);
		break;
	case VDEV_NET:
		rc = virtio_net_init(d, &vm->cfg->nets[i], i, err, errlen);
		break;
	case VDEV_RNG:
		rc = virtio_rng_init(d, err, errlen);
		break;
	case VDEV_INPUT:
		rc = virtio_input_init(d, err, errlen);
		vm->tablet = d;
		break;
	default:
		rc = virtio_console_init(d, vm->cfg->console, vm->cfg->console_path, err, errlen);
		if (rc == 0)
			virtio_console_set_quit_cb(d, console_quit, vm);
		break;
	}
	if (rc == 0)
		rc = virtio_pci_plug(t, &vm->pci, err, errlen);
	if (rc == 0 && kind == VDEV_BLK && vm->cfg->disks[i].bootindex >= 0) {
		char path[BOOT_PATH_MAX];

		rc = boot_ofw_virtio_blk(path, sizeof(path), virtio_pci_slot(t), 0);
		if (rc == 0)
			rc = vm_boot_order_add(vm, vm->cfg->disks[i].bootindex, path, err, errlen);
	}
	return rc;
}

static int setup_virtio(struct vm *vm, char *err, size_t errlen)
{
	const struct vm_config *c = vm->cfg;
	int rc = irq_routes_init(&vm->routes, vm->vm_fd);

	if (rc < 0) {
		snprintf(err, errlen, "KVM_SET_GSI_ROUTING: %s", strerror(-rc));
		return rc;
	}
	for (unsigned i = 0; rc == 0 && i < c->ndisks; i++)
		rc = add_virtio(vm, VDEV_BLK, i, err, errlen);
	for (unsigned i = 0; rc == 0 && i < c->nnets; i++)
		rc = add_virtio(vm, VDEV_NET, i, err, errlen);
	if (rc == 0 && c->rng)
		rc = add_virtio(vm, VDEV_RNG, 0, err, errlen);
	if (rc == 0 && c->console != SERIAL_OFF)
		rc = add_virtio(vm, VDEV_CONSOLE, 0, err, errlen);
	if (rc == 0 && c->display.kind != DISPLAY_OFF)
		rc = add_virtio(vm, VDEV_INPUT, 0, err, errlen);
	return rc;
}

static void vm_send_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct vm *vm = opaque;
	struct kvm_msi m = {
	    .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data};

	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &m) < 0)
		pr_warn("KVM_SIGNAL_MSI: %s", strerror(errno));
}

/* Opens the --cdrom image read-only and says how many bytes it has (a regular file or a block
 * device); it must hold at least one 2048-byte sector. Returns the fd or -errno. */
static int open_cdrom(const char *path, uint64_t *size, char *err, size_t errlen)
{
	struct stat st;
	off_t end;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot open --cdrom '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -ENOENT;
	}
	end = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) ? lseek(fd, 0, SEEK_END) : -1;
	if (end < (off_t)AHCI_SECTOR) {
		snprintf(err, errlen, "--cdrom '%s' is %s", path,
			 end < 0 ? "not a regular file or block device"
				 : "smaller than one 2048-byte sector");
		close(fd);
		return -EINVAL;
	}
	*size = (uint64_t)end;
	return fd;
}

/* --cdrom: the image read-only on an AHCI controller. With --firmware it is function 2 of the
 * LPC bridge's slot, 00:1f.2, where Q35 has its AHCI; a Linux guest booted directly has no LPC
 * bridge, and the controller takes the next free slot as function 0 (a function 2 without a
 * function 0 is not scanned). */
static int setup_cdrom(struct vm *vm, char *err, size_t errlen)
{
	uint64_t size = 0;
	int rc;

	if (!vm->cfg->cdrom[0])
		return 0;
	vm->cdrom_fd = open_cdrom(vm->cfg->cdrom, &size, err, errlen);
	if (vm->cdrom_fd < 0)
		return vm->cdrom_fd;
	vm->ahci = calloc(1, sizeof(*vm->ahci));
	if (!vm->ahci ||
	    ahci_init(vm->ahci, &vm->mem, vm->cdrom_fd, size, vm_set_irq, vm_send_msi, vm) < 0) {
		free(vm->ahci);
		vm->ahci = NULL;
		snprintf(err, errlen, "out of memory for the AHCI controller");
		return -ENOMEM;
	}
	rc = vm->cfg->firmware ? pci_bus_add_fn(&vm->pci, &vm->ahci->pci, AHCI_SLOT, AHCI_FN)
			       : pci_bus_add(&vm->pci, &vm->ahci->pci);
	if (rc < 0) {
		snprintf(err, errlen, "cannot plug the AHCI controller: no free PCI slot");
		return rc;
	}
	if (vm->cfg->cdrom_bootindex >= 0) {
		char path[BOOT_PATH_MAX];

		rc = boot_ofw_sata(path, sizeof(path), vm->ahci->pci.slot, vm->ahci->pci.fn, 0);
		if (rc == 0)
			rc = vm_boot_order_add(vm, vm->cfg->cdrom_bootindex, path, err, errlen);
	}
	return rc;
}

/* --usb: the xHCI controller (MSI-X, INTx as the fallback) with its tablet and keyboard. */
static int setup_usb(struct vm *vm, char *err, size_t errlen)
{
	int rc;

	if (!vm->cfg->usb)
		return 0;
	vm->xhci = calloc(1, sizeof(*vm->xhci));
	rc = vm->xhci ? xhci_init(vm->xhci, &vm->mem, &vm->routes, vm_set_irq, vm) : -ENOMEM;
	if (rc < 0) {
		free(vm->xhci);
		vm->xhci = NULL;
		snprintf(err, errlen, "cannot set up the xHCI controller: %s", strerror(-rc));
		return rc;
	}
	rc = pci_bus_add(&vm->pci, &vm->xhci->pci);
	if (rc < 0)
		snprintf(err, errlen, "cannot plug the xHCI controller: no free PCI slot");
	return rc;
}

/* Maps a whole regular file read-only. */
static int map_file(const char *what, const char *path, const uint8_t **data, size_t *len,
		    char *err, size_t errlen)
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

static void acpi_config(const struct vm *vm, struct acpi_vm *acfg)
{
	*acfg = (struct acpi_vm){
	    .ncpus = vm->ncpus,
	    .ecam_base = vm->ecam_base,
	    /* One root bus and no bridges: advertising buses 0..255 in the MCFG makes Linux
	     * probe every empty bus for peer host bridges through 0xCF8/0xCFC (its
	     * pcibios_last_bus comes from the MCFG end bus): ~16k exits at boot. */
	    .pci_bus_end = 0,
	    .mmio32_base = (uint32_t)vm->mmio32_base,
	    .mmio32_size = (uint32_t)vm->mmio32_size,
	    .pio_base = (uint16_t)vm->pio_base,
	    .pio_size = (uint16_t)vm->pio_size,
	    .pci_irqs = {PCI_INTX_GSI0, PCI_INTX_GSI0 + 1, PCI_INTX_GSI0 + 2, PCI_INTX_GSI0 + 3},
	};
}

static int load_guest(struct vm *vm, struct linux_boot *boot, char *err, size_t errlen)
{
	const uint8_t *k = NULL, *ird = NULL;
	size_t klen = 0, ilen = 0;
	struct acpi_vm acfg;
	uint8_t *acpi = gm_ptr(&vm->mem, X86_ACPI_GPA, X86_ACPI_MAX);
	int rc;

	acpi_config(vm, &acfg);
	if (!acpi || acpi_build(&acfg, acpi, X86_ACPI_MAX, X86_ACPI_GPA) < 0) {
		snprintf(err, errlen, "cannot build the ACPI tables");
		return -EINVAL;
	}
	rc = map_file("kernel", vm->cfg->kernel, &k, &klen, err, errlen);
	if (rc == 0 && vm->cfg->initramfs)
		rc = map_file("initramfs", vm->cfg->initramfs, &ird, &ilen, err, errlen);
	if (rc == 0) {
		char why[200];

		rc = linux_load(&vm->mem, k, klen, ird, ilen, vm->cfg->cmdline, X86_ACPI_GPA, boot,
				why, sizeof(why));
		if (rc < 0)
			snprintf(err, errlen, "kernel '%s': %s", vm->cfg->kernel, why);
	}
	if (rc == 0 && x86_write_boot_tables(&vm->mem) < 0) {
		snprintf(err, errlen, "guest memory too small for the boot page tables");
		rc = -ENOMEM;
	}
	if (k)
		munmap((void *)k, klen);
	if (ird)
		munmap((void *)ird, ilen);
	return rc;
}

/* --firmware with --kernel: the kernel, initramfs and command line as fw_cfg items, which OVMF
 * boots (through the kernel's EFI stub) instead of a disk. */
static int load_firmware_kernel(struct vm *vm, char *err, size_t errlen)
{
	const uint8_t *k = NULL, *ird = NULL;
	size_t klen = 0, ilen = 0;
	int rc = map_file("kernel", vm->cfg->kernel, &k, &klen, err, errlen);

	if (rc == 0 && vm->cfg->initramfs)
		rc = map_file("initramfs", vm->cfg->initramfs, &ird, &ilen, err, errlen);
	if (rc == 0) {
		char why[200];

		rc = fw_cfg_add_linux(&vm->fw_cfg, k, klen, ird, ilen, vm->cfg->cmdline, why,
				      sizeof(why));
		if (rc < 0)
			snprintf(err, errlen, "kernel '%s': %s", vm->cfg->kernel, why);
	}
	if (k)
		munmap((void *)k, klen);
	if (ird)
		munmap((void *)ird, ilen);
	return rc;
}

static int get_cpuid(struct vm *vm, struct cpuid_set *set, char *err, size_t errlen)
{
	struct {
		struct kvm_cpuid2 hdr;
		struct kvm_cpuid_entry2 e[CPUID_MAX_ENTRIES];
	} c;

	memset(&c, 0, sizeof(c));
	c.hdr.nent = CPUID_MAX_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, &c) < 0) {
		snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		return -errno;
	}
	set->n = c.hdr.nent;
	for (unsigned i = 0; i < set->n; i++)
		set->e[i] =
		    (struct cpuid_ent){c.e[i].function, c.e[i].index, c.e[i].flags, c.e[i].eax,
				       c.e[i].ebx,	c.e[i].ecx,   c.e[i].edx};
	return 0;
}

static int create_vcpus(struct vm *vm, const struct linux_boot *boot, char *err, size_t errlen)
{
	struct cpuid_set base, *set = malloc(sizeof(*set));
	struct kvm_cpuid2 *kc = malloc(sizeof(*kc) + CPUID_MAX_ENTRIES * sizeof(kc->entries[0]));
	int rc = set && kc ? get_cpuid(vm, &base, err, errlen) : -ENOMEM;

	for (unsigned i = 0; rc == 0 && i < vm->ncpus; i++) {
		*set = base;
		rc = cpuid_fixup(set, i, vm->ncpus);
		if (rc < 0) {
			snprintf(err, errlen, "CPUID set-up for vCPU %u failed", i);
			break;
		}
		memset(kc, 0, sizeof(*kc));
		kc->nent = set->n;
		for (unsigned j = 0; j < set->n; j++)
			kc->entries[j] = (struct kvm_cpuid_entry2){.function = set->e[j].function,
								   .index = set->e[j].index,
								   .flags = set->e[j].flags,
								   .eax = set->e[j].eax,
								   .ebx = set->e[j].ebx,
								   .ecx = set->e[j].ecx,
								   .edx = set->e[j].edx};
		rc = vcpu_create(vm, &vm->vcpus[i], i, kc, err, errlen);
		if (rc == 0 && vm->cfg->firmware)
			rc = vcpu_setup_firmware(&vm->vcpus[i], err, errlen);
		else if (rc == 0)
			rc = vcpu_setup_boot(&vm->vcpus[i], boot->entry, boot->zero_page, err,
					     errlen);
	}
	free(set);
	free(kc);
	return rc;
}

int vm_check_files(const struct vm_config *cfg, char *err, size_t errlen)
{
	const uint8_t *k, *ird;
	size_t klen, ilen;
	struct bzimage_info bi;
	char why[200];
	int rc;

	if (cfg->cdrom[0]) {
		uint64_t size;
		int fd = open_cdrom(cfg->cdrom, &size, err, errlen);

		if (fd < 0)
			return fd;
		close(fd);
	}
	if (cfg->firmware) {
		struct firmware fw;

		rc = firmware_open(&fw, cfg->fw_code, cfg->fw_vars[0] ? cfg->fw_vars : NULL, err,
				   errlen);
		if (rc == 0)
			firmware_close(&fw);
		if (rc < 0 || !cfg->kernel)
			return rc;
	}
	rc = map_file("kernel", cfg->kernel, &k, &klen, err, errlen);
	if (rc < 0)
		return rc;
	rc = bzimage_parse(k, klen, &bi, why, sizeof(why));
	munmap((void *)k, klen);
	if (rc < 0) {
		snprintf(err, errlen, "kernel '%s': %s", cfg->kernel, why);
		return rc;
	}
	if (!cfg->initramfs)
		return 0;
	rc = map_file("initramfs", cfg->initramfs, &ird, &ilen, err, errlen);
	if (rc == 0)
		munmap((void *)ird, ilen);
	return rc;
}

int vm_create(struct vm *vm, const struct vm_config *cfg, const struct vm_host *host, char *err,
	      size_t errlen)
{
	struct linux_boot boot;
	int rc;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->host = host;
	vm->con = host->con;
	vm->ncpus = cfg->ncpus;
	vm->kvm_fd = vm->vm_fd = -1;
	vm->mem.fd = -1;
	vm->fw.vars_fd = -1;
	vm->hole_start = cfg->firmware ? X86_FW_HOLE_START : GM_HOLE_START;
	vm->ecam_base = cfg->firmware ? X86_FW_ECAM_BASE : PCI_ECAM_BASE;
	vm->mmio32_base = cfg->firmware ? X86_FW_MMIO32_BASE : PCI_MMIO32_BASE;
	vm->mmio32_size = cfg->firmware ? X86_FW_MMIO32_SIZE : PCI_MMIO32_SIZE;
	vm->pio_base = cfg->firmware ? X86_FW_PIO_BASE : PCI_PIO_BASE;
	vm->pio_size = cfg->firmware ? X86_FW_PIO_SIZE : PCI_PIO_SIZE;
	vm->vram_fd = -1;
	boot_order_init(&vm->boot);
	vm->cdrom_fd = -1;
	vm_pause_init(vm);
	/* Until it runs, a VM counts as failed (what vm_answer reports if it never does). */
	vm->exit_reason = VM_FAILED;
	vm->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->event_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -errno;
	}
	rc = open_kvm(vm, err, errlen);
	if (rc == 0)
		rc = create_vm(vm, err, errlen);
	if (rc == 0)
		rc = setup_memory(vm, err, errlen);
	if (rc == 0 && setup_legacy(vm) < 0) {
		snprintf(err, errlen, "device set-up: overlapping I/O ranges");
		rc = -EINVAL;
	}
	if (rc == 0)
		rc = setup_display(vm, err, errlen);
	if (rc == 0)
		rc = setup_virtio(vm, err, errlen);
	if (rc == 0)
		rc = setup_cdrom(vm, err, errlen);
	if (rc == 0)
		rc = setup_usb(vm, err, errlen);
	if (rc == 0 && cfg->firmware) {
		struct acpi_vm acfg;

		acpi_config(vm, &acfg);
		memset(&boot, 0, sizeof(boot));
		rc = vm_load_firmware(vm, &acfg, err, errlen);
		if (rc == 0 && cfg->kernel)
			rc = load_firmware_kernel(vm, err, errlen);
	} else if (rc == 0) {
		rc = load_guest(vm, &boot, err, errlen);
	}
	if (rc == 0)
		rc = create_vcpus(vm, &boot, err, errlen);
	if (rc == 0)
		vm->exit_reason = VM_RUNNING;
	return rc;
}

/* Feeds pending console input to the UART; returns true if some is still waiting. */
static bool feed_console(struct vm *vm)
{
	struct console *c = vm->con;

	if (c->npending) {
		size_t n = serial_receive(&vm->serial, c->pending + c->pend_off, c->npending);

		c->pend_off += n;
		c->npending -= n;
	}
	return c->npending != 0;
}

static void handle_signal(struct vm *vm, int sig_fd)
{
	struct signalfd_siginfo si;

	if (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		vm->exit_signal = (int)si.ssi_signo;
		vm_request_exit(vm, VM_SIGNAL, NULL);
	}
}

static void handle_requests(struct vm *vm)
{
	struct ctl_channel *ch = vm->host->ctl;
	struct ctl_request *r;

	while ((r = ctl_take(ch)))
		vm_answer(vm, ch, r);
}

static void main_loop(struct vm *vm)
{
	int sig_fd = vm->host->sig_fd;
	int ctl_fd = vm->host->ctl ? vm->host->ctl->event_fd : -1;

	while (__atomic_load_n(&vm->exit_reason, __ATOMIC_ACQUIRE) == VM_RUNNING) {
		bool waiting = feed_console(vm);
		int cfd = console_poll_fd(vm->con);
		struct pollfd p[4] = {{.fd = vm->event_fd, .events = POLLIN},
				      {.fd = sig_fd, .events = POLLIN},
				      {.fd = cfd, .events = POLLIN},
				      {.fd = ctl_fd, .events = POLLIN}};
		/* The UART's ring is full: look again shortly rather than spin. */
		int n = poll(p, 4, waiting ? 10 : -1);

		if (n < 0 && errno != EINTR) {
			vm_request_exit(vm, VM_FAILED, "poll failed");
			break;
		}
		if (p[1].revents & POLLIN)
			handle_signal(vm, sig_fd);
		if (cfd >= 0 && (p[2].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) &&
		    console_readable(vm->con))
			vm_request_exit(vm, VM_QUIT, NULL);
		if (p[3].revents & POLLIN)
			handle_requests(vm);
	}
}

enum vm_exit vm_run(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (vcpu_start(&vm->vcpus[i]) < 0) {
			vm_request_exit(vm, VM_FAILED, "cannot start a vCPU thread");
			break;
		}
	}
	main_loop(vm);
	vm_kick_all(vm); /* paused ones too: they see the exit reason */
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	return (enum vm_exit)vm->exit_reason;
}

void vm_destroy(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	serial_destroy(&vm->serial);
	i8042_destroy(&vm->i8042);
	rtc_destroy(&vm->rtc);
	pm_destroy(&vm->pm);
	for (unsigned i = 0; i < vm->nvdevs; i++)
		virtio_pci_free(vm->vdevs[i]);
	vm->nvdevs = 0;
	vm->tablet = NULL;
	if (vm->ahci)
		ahci_destroy(vm->ahci);
	free(vm->ahci);
	vm->ahci = NULL;
	if (vm->xhci)
		xhci_destroy(vm->xhci);
	free(vm->xhci);
	vm->xhci = NULL;
	if (vm->cdrom_fd >= 0)
		close(vm->cdrom_fd);
	vm->cdrom_fd = -1;
	pci_bus_destroy(&vm->pci);
	vm_firmware_destroy(vm);
	irq_routes_destroy(&vm->routes);
	if (vm->display)
		bochs_destroy(vm->display);
	free(vm->display);
	vm->display = NULL;
	if (vm->vram)
		munmap(vm->vram, BOCHS_VRAM_SIZE);
	vm->vram = NULL;
	if (vm->vram_fd >= 0)
		close(vm->vram_fd);
	vm->vram_fd = -1;
	gm_destroy(&vm->mem);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->event_fd >= 0)
		close(vm->event_fd);
	vm_pause_destroy(vm);
}
