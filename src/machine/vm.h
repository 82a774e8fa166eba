/* One virtual machine: the KVM VM, its memory, vCPUs and devices, and the loop that
 * runs it until the guest powers off, reboots, or something fails. */
#pragma once
#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "arch/x86/bootorder.h"
#include "backends/console.h"
#include "common/vm_config.h"
#include "devices/device.h"
#include "devices/pci.h"
#include "kvm/control.h"
#include "kvm/guest_mem.h"
#include "kvm/iobus.h"
#include "kvm/irq.h"
#include "kvm/memslots.h"
#include "machine/board.h"

enum vm_exit { VM_RUNNING, VM_POWEROFF, VM_REBOOT, VM_QUIT, VM_SIGNAL, VM_FAILED };

struct vm;
struct audio_tap;

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	int smi_pending; /* an SMI another thread asked for (broadcast); atomic */
	struct vcpu_stats stats;
};

/* What the process gives each VM it runs (main.c); outlives the VM. */
struct vm_host {
	struct console *con; /* the serial line's host end (lives across reboots) */
	struct audio_tap
	    *sound_tap;		 /* the sound output's listeners (the browser console), or NULL */
	int sig_fd;		 /* signalfd for the signals that end the VMM */
	struct ctl_channel *ctl; /* requests from the API, or NULL */
	unsigned boots;		 /* 1 for the first boot, one more per reboot */
};

/* How the machine is laid out and booted, chosen once from the configuration (profile.c):
 * direct Linux boot, or Q35's layout for UEFI firmware (arch/x86/layout.h). */
struct machine_profile {
	const char *name;
	uint64_t hole_start; /* guest RAM stops here below 4 GiB and goes on from 4 GiB */
	uint64_t ecam_base, mmio32_base, mmio32_size;
	uint32_t pio_base, pio_size;
	bool q35_lpc; /* the LPC bridge at 00:1f.0, and Q35's functions beside it */
	/* After the devices are plugged: the kernel and its boot tables, or the firmware's
	 * configuration. */
	int (*load)(struct vm *vm, char *err, size_t errlen);
	/* Each vCPU's start state. */
	int (*setup_vcpu)(struct vm *vm, struct vcpu *v, char *err, size_t errlen);
};

extern const struct machine_profile machine_linux, machine_q35_firmware;

struct vm {
	const struct vm_config *cfg;
	const struct machine_profile *profile;
	struct console *con;
	int kvm_fd, vm_fd;
	size_t run_size;
	struct guest_mem mem;
	struct memslots slots;
	struct iobus bus;
	struct irq_routes routes;
	bool routes_ready;
	struct pci_bus pci;
	bool pci_ready;
	/* The boot devices with a boot index (fw_cfg "bootorder"), added as devices are plugged. */
	struct boot_order boot;
	/* What the devices are lent, and each board row's state (NULL: not plugged). */
	struct board board;
	void *dev_state[BOARD_MAX_ROWS];
	/* Direct Linux boot: the kernel's 64-bit entry and the zero page. */
	uint64_t boot_entry, zero_page;
	unsigned ncpus;
	struct vcpu vcpus[VM_MAX_CPUS];
	bool hv_synic; /* hyperv=on with SynIC: each vCPU enables KVM_CAP_HYPERV_SYNIC2 */

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
/* irq_set_fn for devices: drives a GSI line of the in-kernel irqchip. */
void vm_set_irq(void *opaque, unsigned irq, int level);

/* vm_firmware.c: what the firmware reads through fw_cfg (CPU count, RAM, e820, ACPI, SMBIOS,
 * the boot order). */
int vm_load_firmware(struct vm *vm, char *err, size_t errlen);
/* profile.c: maps a whole regular file read-only (the kernel, the initramfs). */
int vm_map_file(const char *what, const char *path, const uint8_t **data, size_t *len, char *err,
		size_t errlen);
/* The ACPI tables' view of this VM. */
struct acpi_vm;
void vm_acpi_config(struct vm *vm, struct acpi_vm *acfg);

/* vcpu.c */
int vcpu_create(struct vm *vm, struct vcpu *v, unsigned id, const struct kvm_cpuid2 *cpuid,
		char *err, size_t errlen);
int vcpu_setup_boot(struct vcpu *v, uint64_t entry, uint64_t zero_page, char *err, size_t errlen);
/* Leaves the vCPU at the reset vector (for --firmware). */
int vcpu_setup_firmware(struct vcpu *v, char *err, size_t errlen);
int vcpu_start(struct vcpu *v);
void vcpu_kick(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);
/* System Management Mode, from a device on a vCPU thread: an SMI for this thread's vCPU
 * (KVM_SMI, taken when the current instruction completes), or for every vCPU (the others are
 * kicked and raise theirs before they run again). */
void vcpu_smi(struct vm *vm, bool all);
/* Whether the vCPU running this thread is in SMM (false on any other thread). */
bool vcpu_in_smm(void);
void vcpu_signals_init(void);
