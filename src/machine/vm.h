/* One virtual machine: the KVM VM, its memory, vCPUs and devices, and the loop that
 * runs it until the guest powers off, reboots, or something fails. */
#pragma once
#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "arch/x86/bootorder.h"
#include "arch/x86/firmware.h"
#include "devices/ahci.h"
#include "devices/bochs_display.h"
#include "devices/debugport.h"
#include "devices/fw_cfg.h"
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/pflash.h"
#include "devices/pm.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "devices/xhci.h"
#include "common/vm_config.h"
#include "backends/console.h"
#include "kvm/control.h"
#include "kvm/guest_mem.h"
#include "kvm/iobus.h"
#include "kvm/irq.h"

struct virtio_transport;
struct virtio_dev;

enum vm_exit { VM_RUNNING, VM_POWEROFF, VM_REBOOT, VM_QUIT, VM_SIGNAL, VM_FAILED };

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	struct vcpu_stats stats;
};

/* What the process gives each VM it runs (main.c); outlives the VM. */
struct vm_host {
	struct console *con;	 /* the serial line's host end (lives across reboots) */
	int sig_fd;		 /* signalfd for the signals that end the VMM */
	struct ctl_channel *ctl; /* requests from the API, or NULL */
	unsigned boots;		 /* 1 for the first boot, one more per reboot */
};

struct vm {
	const struct vm_config *cfg;
	struct console *con;
	int kvm_fd, vm_fd;
	size_t run_size;
	struct guest_mem mem;
	struct iobus bus;
	unsigned ncpus;
	struct vcpu vcpus[VM_MAX_CPUS];
	struct serial serial;
	struct i8042 i8042;
	struct rtc rtc;
	struct pm pm;
	struct pci_bus pci;
	struct irq_routes routes;
	unsigned nvdevs;
	struct virtio_transport *vdevs[VM_MAX_DISKS + VM_MAX_NETS + 3];
	struct virtio_dev *tablet; /* virtio-input tablet (with --display), or NULL */
	struct debugport dbg;
	/* --cdrom: the AHCI controller with the ATAPI drive, and its image (read-only). */
	struct ahci *ahci;
	int cdrom_fd;
	struct xhci *xhci; /* --usb: the xHCI controller with the USB tablet and keyboard */
	/* The address layout: direct Linux boot, or Q35's for --firmware (arch/x86/layout.h). */
	uint64_t hole_start, ecam_base, mmio32_base, mmio32_size;
	uint32_t pio_base, pio_size;
	/* --firmware: the images, fw_cfg, the variable store's flash, the LPC bridge. */
	struct firmware fw;
	struct fw_cfg fw_cfg;
	struct pflash pflash;
	struct pci_dev lpc;
	struct debugcon debugcon;
	bool fw_cfg_ready, pflash_ready, debugcon_ready;
	/* The boot devices with a boot index (fw_cfg "bootorder"), added as devices are plugged. */
	struct boot_order boot;
	/* The display device (--display), its VRAM (a memfd mapped here and into the guest as a KVM
	 * slot at BAR0 with dirty logging), and where that slot is now (0: not mapped). */
	struct bochs_display *display;
	uint8_t *vram;
	int vram_fd;
	uint64_t vram_gpa;
	bool vram_moved; /* accesses went through MMIO exits: the dirty log missed them */
	/* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 is on: KVM_GET_DIRTY_LOG only reads the VRAM's log, and
	 * vm_vram_dirty re-protects (KVM_CLEAR_DIRTY_LOG, bitmap in vram_clear) only the dirty
	 * pages the display reads. */
	bool vram_manual;
	uint64_t vram_clear[BOCHS_VRAM_SIZE / 4096 / 64];

	int event_fd;	 /* written when exit_reason is set */
	int exit_reason; /* enum vm_exit, first writer wins */
	int exit_signal;
	char fail_msg[256];
	const struct vm_host *host;
	/* Pausing: vCPU threads park on resume_cond while pause_req is set. Kicks happen under
	 * run_lock, so that a vCPU leaving the park can't lose one. */
	pthread_mutex_t run_lock;
	pthread_cond_t parked_cond, resume_cond;
	bool pause_req, paused;
	unsigned nparked;
};

/* Checks, before any KVM work, that the kernel is a bootable bzImage and the initramfs
 * is readable. */
int vm_check_files(const struct vm_config *cfg, char *err, size_t errlen);
/* Creates the VM and loads the guest; on failure writes one line into err. */
int vm_create(struct vm *vm, const struct vm_config *cfg, const struct vm_host *host, char *err,
	      size_t errlen);
/* Runs until the guest stops, answering host->ctl's requests; returns an enum vm_exit. */
enum vm_exit vm_run(struct vm *vm);
/* Answers one request from the control channel (VMM thread only). A VM that has stopped (or
 * failed to start) reports the state Shutdown and refuses actions. */
void vm_answer(struct vm *vm, struct ctl_channel *ch, struct ctl_request *r);

/* vm_control.c: pausing (the vCPU threads park) and the answers to the control channel. */
void vm_pause_init(struct vm *vm);
void vm_pause_destroy(struct vm *vm);
/* Kicks every vCPU out of KVM_RUN, and wakes paused ones (to see that the VM stops). */
void vm_kick_all(struct vm *vm);
void vm_destroy(struct vm *vm);
/* Asks the VM loop to stop (from any thread); the first reason given wins. */
void vm_request_exit(struct vm *vm, enum vm_exit why, const char *msg);
/* The VRAM's dirty pages (display thread; a display_src's get_dirty): every page dirty since the
 * last call, at least for the bytes [start, start + len) the caller reads, whose dirty pages are
 * write-protected again (with manual protection, pages outside stay as they are and may be
 * reported again); -errno: treat all as dirty. */
int vm_vram_dirty(void *opaque, uint64_t *bitmap, size_t bytes, uint64_t start, uint64_t len);
/* irq_set_fn for devices: drives a GSI line of the in-kernel irqchip. */
void vm_set_irq(void *opaque, unsigned irq, int level);

/* vm_firmware.c: --firmware (images, flash, fw_cfg items). */
struct acpi_vm;
int vm_load_firmware(struct vm *vm, const struct acpi_vm *acfg, char *err, size_t errlen);
/* Lists a bootable device in the firmware's boot order (before vm_load_firmware, which writes
 * the "bootorder" file; a no-op for Linux guests). ofw_path: from boot_ofw_virtio_blk,
 * boot_ofw_sata (arch/x86/bootorder.h). bootindex: lower boots first, each used once.
 * Returns 0 or -EINVAL/-EEXIST/-ENOSPC with a message in err. */
int vm_boot_order_add(struct vm *vm, int bootindex, const char *ofw_path, char *err, size_t errlen);
void vm_firmware_destroy(struct vm *vm);

/* vcpu.c */
int vcpu_create(struct vm *vm, struct vcpu *v, unsigned id, const struct kvm_cpuid2 *cpuid,
		char *err, size_t errlen);
int vcpu_setup_boot(struct vcpu *v, uint64_t entry, uint64_t zero_page, char *err, size_t errlen);
/* Leaves the vCPU at the reset vector (for --firmware). */
int vcpu_setup_firmware(struct vcpu *v, char *err, size_t errlen);
int vcpu_start(struct vcpu *v);
void vcpu_kick(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);
void vcpu_signals_init(void);
