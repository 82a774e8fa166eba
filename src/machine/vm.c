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

#include "arch/x86/bzimage.h"
#include "arch/x86/cpuid.h"
#include "arch/x86/firmware.h"
#include "arch/x86/hyperv.h"
#include "common/log.h"
#include "devices/mch_smram.h"
#include "devices/scsi_cd.h"
#include "devices/serial.h"

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

/* The board's stop: a device asks the VM to stop. */
static void board_stop(void *opaque, enum board_stop why, const char *msg)
{
	static const enum vm_exit exits[] = {
	    [BOARD_POWEROFF] = VM_POWEROFF,
	    [BOARD_REBOOT] = VM_REBOOT,
	    [BOARD_QUIT] = VM_QUIT,
	    [BOARD_FAILED] = VM_FAILED,
	};

	vm_request_exit(opaque, exits[why], msg);
}

/* The reset register at 0xCF9. */
static void pci_reset(void *opaque)
{
	vm_request_exit(opaque, VM_REBOOT, NULL);
}

static void vm_send_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct vm *vm = opaque;
	struct kvm_msi m = {
	    .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data};

	if (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &m) < 0)
		pr_warn("KVM_SIGNAL_MSI: %s", strerror(errno));
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
	int rc = gm_init_hole(&vm->mem, vm->cfg->mem_size, vm->profile->hole_start);

	if (rc < 0) {
		snprintf(err, errlen, "cannot allocate %llu MiB of guest memory: %s",
			 (unsigned long long)(vm->cfg->mem_size >> 20), strerror(-rc));
		return rc;
	}
	memslots_init(&vm->slots, vm->vm_fd);
	for (unsigned i = 0; i < vm->mem.nregions; i++) {
		const struct gm_region *r = &vm->mem.regions[i];
		int slot = memslot_alloc(&vm->slots);

		rc = slot < 0 ? slot
			      : memslot_set(&vm->slots, (unsigned)slot, r->gpa,
					    vm->mem.host + r->offset, r->size, 0);
		if (rc < 0) {
			snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s", strerror(-rc));
			return rc;
		}
	}
	return 0;
}

static void board_smi(void *opaque, bool all)
{
	vcpu_smi(opaque, all);
}

static bool board_in_smm(void *opaque)
{
	(void)opaque;
	return vcpu_in_smm();
}

static bool board_smram_closed(void *opaque)
{
	const struct mch_smram *s = board_state(opaque, &mch_smram_device);

	return s && mch_smram_latched(s);
}

/* The board itself: the PCI host bridge with its windows, the irq routes, and what the
 * devices are lent. */
static int setup_board(struct vm *vm, char *err, size_t errlen)
{
	const struct machine_profile *p = vm->profile;
	int rc = irq_routes_init(&vm->routes, vm->vm_fd);

	if (rc < 0) {
		snprintf(err, errlen, "KVM_SET_GSI_ROUTING: %s", strerror(-rc));
		return rc;
	}
	vm->routes_ready = true;
	pci_bus_init(&vm->pci, pci_reset, vm);
	vm->pci_ready = true;
	pci_bus_set_windows(&vm->pci, p->mmio32_base, p->mmio32_size, p->pio_base, p->pio_size);
	pci_host_q35_regs(&vm->pci, p->ecam_base);
	rc = iobus_register(&vm->bus, IOBUS_PIO, 0xCF8, 8, pci_conf1_io, &vm->pci, "pci-conf1");
	rc |= iobus_register(&vm->bus, IOBUS_PIO, p->pio_base, p->pio_size, pci_pio_io, &vm->pci,
			     "pci-io");
	rc |= iobus_register(&vm->bus, IOBUS_MMIO, p->ecam_base, PCI_ECAM_SIZE, pci_ecam_io,
			     &vm->pci, "pci-ecam");
	rc |= iobus_register(&vm->bus, IOBUS_MMIO, p->mmio32_base, p->mmio32_size, pci_mmio_io,
			     &vm->pci, "pci-mmio32");
	if (rc) {
		snprintf(err, errlen, "device set-up: overlapping I/O ranges");
		return -EINVAL;
	}
	vm->board = (struct board){
	    .cfg = vm->cfg,
	    .vm_fd = vm->vm_fd,
	    .mem = &vm->mem,
	    .bus = &vm->bus,
	    .slots = &vm->slots,
	    .routes = &vm->routes,
	    .pci = &vm->pci,
	    .con = vm->con,
	    .sound_tap = vm->host->sound_tap,
	    .boot = vm->cfg->firmware ? &vm->boot : NULL,
	    .q35_lpc = p->q35_lpc,
	    .set_irq = vm_set_irq,
	    .send_msi = vm_send_msi,
	    .stop = board_stop,
	    .smi = board_smi,
	    .in_smm = board_in_smm,
	    .smram_closed = board_smram_closed,
	    .opaque = vm,
	};
	return board_plug(vm, err, errlen);
}

/* KVM's supported CPUID (req: KVM_GET_SUPPORTED_CPUID) or its Hyper-V leaves
 * (KVM_GET_SUPPORTED_HV_CPUID). */
static int get_cpuid(struct vm *vm, unsigned long req, struct cpuid_set *set, char *err,
		     size_t errlen)
{
	struct {
		struct kvm_cpuid2 hdr;
		struct kvm_cpuid_entry2 e[CPUID_MAX_ENTRIES];
	} c;

	memset(&c, 0, sizeof(c));
	c.hdr.nent = CPUID_MAX_ENTRIES;
	if (ioctl(vm->kvm_fd, req, &c) < 0) {
		snprintf(err, errlen, "%s: %s",
			 req == KVM_GET_SUPPORTED_CPUID
			     ? "KVM_GET_SUPPORTED_CPUID"
			     : "this KVM cannot list its Hyper-V features "
			       "(KVM_GET_SUPPORTED_HV_CPUID, Linux 5.11)",
			 strerror(errno));
		return -errno;
	}
	set->n = c.hdr.nent;
	for (unsigned i = 0; i < set->n; i++)
		set->e[i] =
		    (struct cpuid_ent){c.e[i].function, c.e[i].index, c.e[i].flags, c.e[i].eax,
				       c.e[i].ebx,	c.e[i].ecx,   c.e[i].edx};
	return 0;
}

/* --cpus ...,hyperv=on: Hyper-V's leaves from what KVM implements; SynIC (and its timers) only
 * where KVM_CAP_HYPERV_SYNIC2 is there, enabled on each vCPU (vcpu_create). */
static int get_hv_cpuid(struct vm *vm, struct cpuid_set *hv, char *err, size_t errlen)
{
	if (!vm->cfg->hyperv)
		return 0;
	vm->hv_synic = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_HYPERV_SYNIC2) > 0;
	return get_cpuid(vm, KVM_GET_SUPPORTED_HV_CPUID, hv, err, errlen);
}

static int create_vcpus(struct vm *vm, char *err, size_t errlen)
{
	struct cpuid_set base, hv, *set = malloc(sizeof(*set));
	struct kvm_cpuid2 *kc = malloc(sizeof(*kc) + CPUID_MAX_ENTRIES * sizeof(kc->entries[0]));
	int rc = set && kc ? get_cpuid(vm, KVM_GET_SUPPORTED_CPUID, &base, err, errlen) : -ENOMEM;

	if (rc == 0)
		rc = get_hv_cpuid(vm, &hv, err, errlen);
	for (unsigned i = 0; rc == 0 && i < vm->ncpus; i++) {
		*set = base;
		rc = cpuid_fixup(set, i, vm->ncpus);
		if (rc == 0 && vm->cfg->hyperv)
			rc = cpuid_hyperv(set, &hv, vm->hv_synic, vm->cfg->kvm_leaves);
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
		if (rc == 0)
			rc = vm->profile->setup_vcpu(vm, &vm->vcpus[i], err, errlen);
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
		int fd = scsi_cd_open(cfg->cdrom, &size, err, errlen);

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
	rc = vm_map_file("kernel", cfg->kernel, &k, &klen, err, errlen);
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
	rc = vm_map_file("initramfs", cfg->initramfs, &ird, &ilen, err, errlen);
	if (rc == 0)
		munmap((void *)ird, ilen);
	return rc;
}

int vm_create(struct vm *vm, const struct vm_config *cfg, const struct vm_host *host, char *err,
	      size_t errlen)
{
	int rc;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->profile = cfg->firmware ? &machine_q35_firmware : &machine_linux;
	vm->host = host;
	vm->con = host->con;
	vm->ncpus = cfg->ncpus;
	vm->kvm_fd = vm->vm_fd = -1;
	boot_order_init(&vm->boot);
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
	if (rc == 0)
		rc = setup_board(vm, err, errlen);
	if (rc == 0)
		rc = vm->profile->load(vm, err, errlen);
	if (rc == 0)
		rc = create_vcpus(vm, err, errlen);
	if (rc == 0)
		vm->exit_reason = VM_RUNNING;
	return rc;
}

/* Feeds pending console input to the UART; returns true if some is still waiting. */
static bool feed_console(struct vm *vm)
{
	struct console *c = vm->con;

	if (c->npending) {
		size_t n = serial_receive(board_state(vm, &serial_device), c->pending + c->pend_off,
					  c->npending);

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
	board_unplug(vm);
	if (vm->pci_ready)
		pci_bus_destroy(&vm->pci);
	vm->pci_ready = false;
	if (vm->routes_ready)
		irq_routes_destroy(&vm->routes);
	vm->routes_ready = false;
	gm_destroy(&vm->mem);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->event_fd >= 0)
		close(vm->event_fd);
	vm_pause_destroy(vm);
}
