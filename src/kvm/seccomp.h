/* Per-thread seccomp filters (libseccomp): each kind of thread may make only the system
 * calls (and ioctl requests) it needs; anything else kills the whole VMM (or is only logged,
 * with --seccomp log). TIOCSTI is never allowed, and memory never becomes executable (but
 * with the window). A filter is installed by the thread itself before it touches guest
 * state. */
#pragma once
#include "common/vm_config.h" /* enum seccomp_mode */

enum seccomp_thread {
	SECCOMP_VMM,
	/* The VMM thread's filter when it will show a window (--display window): SDL2 and the
	 * libraries it loads need executable memory and make ioctl requests of their own. */
	SECCOMP_VMM_WINDOW,
	SECCOMP_VCPU,
	SECCOMP_VIRTIO,
	SECCOMP_API,
	SECCOMP_DISPLAY,
	SECCOMP_GATE,
	/* The shared folder's file server (--fs; backends/fs_sandbox.c): a process of its own. */
	SECCOMP_FS_SERVER
};

/* Installs the filter for the calling thread. Returns 0 or -errno. */
int seccomp_install(enum seccomp_thread kind, enum seccomp_mode mode);

/* Descriptors a thread's KVM requests are bound to (-1: any): vm, the VM's (interrupts, memory
 * slots, ioeventfds, the dirty log: the vCPU, device and display threads); vcpu, a vCPU
 * thread's own (KVM_RUN, KVM_GET_REGS, KVM_SMI). A request on another descriptor ends the VMM. */
struct seccomp_fds {
	int vm, vcpu;
};

/* seccomp_install with KVM's requests bound to fds (NULL: seccomp_install). */
int seccomp_install_bound(enum seccomp_thread kind, enum seccomp_mode mode,
			  const struct seccomp_fds *fds);
/* Number of rules for a kind (for tests and docs/security.md). */
unsigned seccomp_rule_count(enum seccomp_thread kind);
