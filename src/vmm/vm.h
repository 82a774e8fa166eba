/* One virtual machine: the KVM VM, its memory, vCPUs and devices, and the loop that
 * runs it until the guest powers off, reboots, or something fails. */
#pragma once
#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "devices/debugport.h"
#include "devices/i8042.h"
#include "devices/pci.h"
#include "devices/pm.h"
#include "devices/rtc.h"
#include "devices/serial.h"
#include "vmm/config.h"
#include "vmm/console.h"
#include "vmm/guest_mem.h"
#include "vmm/iobus.h"
#include "vmm/irq.h"

struct virtio_transport;

enum vm_exit { VM_RUNNING, VM_POWEROFF, VM_REBOOT, VM_QUIT, VM_SIGNAL, VM_FAILED };

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
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
	struct virtio_transport *vdevs[VM_MAX_DISKS + VM_MAX_NETS + 2];
	struct debugport dbg;
	int event_fd;	 /* written when exit_reason is set */
	int exit_reason; /* enum vm_exit, first writer wins */
	int exit_signal;
	char fail_msg[256];
};

/* Checks, before any KVM work, that the kernel is a bootable bzImage and the initramfs
 * is readable. */
int vm_check_files(const struct vm_config *cfg, char *err, size_t errlen);
/* Creates the VM and loads the guest; on failure writes one line into err. */
int vm_create(struct vm *vm, const struct vm_config *cfg, struct console *con, char *err,
	      size_t errlen);
/* Runs until the guest stops; returns an enum vm_exit. sig_fd is a signalfd for the
 * signals that end the VMM. */
enum vm_exit vm_run(struct vm *vm, int sig_fd);
void vm_destroy(struct vm *vm);
/* Asks the VM loop to stop (from any thread); the first reason given wins. */
void vm_request_exit(struct vm *vm, enum vm_exit why, const char *msg);
/* irq_set_fn for devices: drives a GSI line of the in-kernel irqchip. */
void vm_set_irq(void *opaque, unsigned irq, int level);

/* vcpu.c */
int vcpu_create(struct vm *vm, struct vcpu *v, unsigned id, const struct kvm_cpuid2 *cpuid,
		char *err, size_t errlen);
int vcpu_setup_boot(struct vcpu *v, uint64_t entry, uint64_t zero_page, char *err, size_t errlen);
int vcpu_start(struct vcpu *v);
void vcpu_kick(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);
void vcpu_signals_init(void);
