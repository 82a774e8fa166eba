/* vCPU threads: each runs KVM_RUN and routes port I/O and MMIO exits to the bus. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86/cpu_regs.h"
#include "common/log.h"
#include "kvm/seccomp.h"
#include "machine/vm.h"

#define VCPU_KICK_SIGNAL SIGUSR1

/* The vCPU whose thread this is (NULL elsewhere): devices ask about "their" vCPU (an SMI, the
 * flash asking whether the write came from SMM) from within its exit. */
static __thread struct vcpu *this_vcpu;

static void kick_handler(int sig)
{
	(void)sig; /* only here to make KVM_RUN return with EINTR */
}

void vcpu_signals_init(void)
{
	struct sigaction sa = {.sa_handler = kick_handler};

	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
}

int vcpu_create(struct vm *vm, struct vcpu *v, unsigned id, const struct kvm_cpuid2 *cpuid,
		char *err, size_t errlen)
{
	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		snprintf(err, errlen, "KVM_CREATE_VCPU %u: %s", id, strerror(errno));
		return -errno;
	}
	v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		snprintf(err, errlen, "mmap of vCPU %u's kvm_run: %s", id, strerror(errno));
		return -errno;
	}
	if (vm->hv_synic && ioctl(v->fd, KVM_ENABLE_CAP,
				  &(struct kvm_enable_cap){.cap = KVM_CAP_HYPERV_SYNIC2}) < 0) {
		snprintf(err, errlen, "KVM_CAP_HYPERV_SYNIC2 on vCPU %u: %s", id, strerror(errno));
		return -errno;
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0) {
		snprintf(err, errlen, "KVM_SET_CPUID2 on vCPU %u: %s", id, strerror(errno));
		return -errno;
	}
	return 0;
}

static int set_msrs(struct vcpu *v, char *err, size_t errlen)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[16];
	} m;
	int n;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = x86_boot_msrs(m.e, 16);
	n = ioctl(v->fd, KVM_SET_MSRS, &m);
	if (n < 0 || (unsigned)n != m.hdr.nmsrs) {
		snprintf(err, errlen, "KVM_SET_MSRS on vCPU %u: MSR 0x%x refused", v->id,
			 n >= 0 ? m.e[n].index : 0);
		return -EINVAL;
	}
	return 0;
}

static int set_lapic(struct vcpu *v, char *err, size_t errlen)
{
	struct kvm_lapic_state la;

	if (ioctl(v->fd, KVM_GET_LAPIC, &la) < 0)
		goto fail;
	x86_lapic_lints(la.regs);
	if (ioctl(v->fd, KVM_SET_LAPIC, &la) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "local APIC set-up of vCPU %u: %s", v->id, strerror(errno));
	return -errno;
}

int vcpu_setup_boot(struct vcpu *v, uint64_t entry, uint64_t zero_page, char *err, size_t errlen)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;
	int rc = set_msrs(v, err, errlen);

	if (rc < 0 || (rc = set_lapic(v, err, errlen)) < 0)
		return rc;
	if (v->id != 0)
		return 0; /* the others wait for INIT/SIPI from the guest */
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		goto fail;
	x86_sregs_long_mode(&sregs);
	x86_regs_linux(&regs, entry, zero_page);
	x86_fpu_default(&fpu);
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(v->fd, KVM_SET_REGS, &regs) < 0 ||
	    ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "register set-up of the boot vCPU: %s", strerror(errno));
	return -errno;
}

int vcpu_setup_firmware(struct vcpu *v, char *err, size_t errlen)
{
	/* KVM creates vCPUs in the state a PC's CPU leaves reset in: real mode, CS base
	 * 0xFFFF0000, IP 0xFFF0, so the boot vCPU's first fetch is the firmware's reset vector
	 * at 0xFFFFFFF0. The firmware sets up MSRs and MTRRs itself. */
	return set_lapic(v, err, errlen);
}

/* Counters have one writer, their vCPU's thread: no locked instruction needed. */
static void stat_inc(uint64_t *c)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	uint8_t *data = (uint8_t *)r + r->io.data_offset;
	bool wr = r->io.direction == KVM_EXIT_IO_OUT;

	stat_inc(&v->stats.io);
	/* String I/O arrives as count items of size bytes each. */
	for (uint32_t i = 0; i < r->io.count; i++, data += r->io.size) {
		if (iobus_access(&v->vm->bus, IOBUS_PIO, r->io.port, data, r->io.size, wr))
			continue;
		stat_inc(&v->stats.unhandled);
		pr_debug("vCPU %u: unhandled port %s 0x%x/%u", v->id, wr ? "write" : "read",
			 r->io.port, r->io.size);
	}
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	uint32_t len = r->mmio.len <= 8 ? r->mmio.len : 8;

	stat_inc(&v->stats.mmio);
	if (iobus_access(&v->vm->bus, IOBUS_MMIO, r->mmio.phys_addr, r->mmio.data, len,
			 r->mmio.is_write))
		return;
	stat_inc(&v->stats.unhandled);
	pr_debug("vCPU %u: unhandled MMIO %s 0x%llx/%u", v->id, r->mmio.is_write ? "write" : "read",
		 (unsigned long long)r->mmio.phys_addr, len);
}

static void fail_exit(struct vcpu *v, const char *what, unsigned long long detail)
{
	struct kvm_regs regs;
	char msg[200];

	memset(&regs, 0, sizeof(regs));
	ioctl(v->fd, KVM_GET_REGS, &regs);
	snprintf(msg, sizeof(msg), "vCPU %u: %s (0x%llx) at rip 0x%llx", v->id, what, detail,
		 (unsigned long long)regs.rip);
	vm_request_exit(v->vm, VM_FAILED, msg);
}

/* Handles one exit; returns false when the thread should stop. */
static bool handle_exit(struct vcpu *v)
{
	struct kvm_run *r = v->run;

	if (r->exit_reason == KVM_EXIT_IO) {
		handle_io(v);
		return true;
	}
	if (r->exit_reason == KVM_EXIT_MMIO) {
		handle_mmio(v);
		return true;
	}
	stat_inc(&v->stats.other);
	switch (r->exit_reason) {
	case KVM_EXIT_SHUTDOWN: /* triple fault: a PC resets */
		vm_request_exit(v->vm, VM_REBOOT, NULL);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (r->system_event.type == KVM_SYSTEM_EVENT_RESET)
			vm_request_exit(v->vm, VM_REBOOT, NULL);
		else
			vm_request_exit(v->vm, VM_POWEROFF, NULL);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		fail_exit(v, "KVM entry failed", r->fail_entry.hardware_entry_failure_reason);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		fail_exit(v, "KVM internal error", r->internal.suberror);
		return false;
	default:
		fail_exit(v, "unhandled KVM exit", r->exit_reason);
		return false;
	}
}

static void raise_smi(struct vcpu *v)
{
	if (ioctl(v->fd, KVM_SMI, 0) < 0)
		pr_warn_limited("vCPU %u: KVM_SMI: %s", v->id, strerror(errno));
}

void vcpu_smi(struct vm *vm, bool all)
{
	struct vcpu *self = this_vcpu;

	if (self)
		raise_smi(self);
	for (unsigned i = 0; all && i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (v == self || !v->started)
			continue;
		__atomic_store_n(&v->smi_pending, 1, __ATOMIC_RELEASE);
		pthread_mutex_lock(&vm->run_lock);
		vcpu_kick(v);
		pthread_mutex_unlock(&vm->run_lock);
	}
}

bool vcpu_in_smm(void)
{
	const struct vcpu *v = this_vcpu;

	return v && (v->run->flags & KVM_RUN_X86_SMM);
}

/* An SMI another vCPU asked for: undo its kick (unless a pause or stop wants the kick too,
 * under run_lock as they make theirs) and raise it here, before KVM_RUN. */
static void take_smi(struct vcpu *v)
{
	struct vm *vm = v->vm;

	if (!__atomic_exchange_n(&v->smi_pending, 0, __ATOMIC_ACQ_REL))
		return;
	pthread_mutex_lock(&vm->run_lock);
	if (!vm->pause_req && __atomic_load_n(&vm->exit_reason, __ATOMIC_ACQUIRE) == VM_RUNNING)
		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&vm->run_lock);
	raise_smi(v);
}

/* Waits while the VM is paused (vm_control.c), then makes KVM_RUN run again. */
static void park(struct vcpu *v)
{
	struct vm *vm = v->vm;

	pthread_mutex_lock(&vm->run_lock);
	vm->nparked++;
	pthread_cond_broadcast(&vm->parked_cond);
	while (vm->pause_req && __atomic_load_n(&vm->exit_reason, __ATOMIC_ACQUIRE) == VM_RUNNING)
		pthread_cond_wait(&vm->resume_cond, &vm->run_lock);
	vm->nparked--;
	/* Kicks are made under run_lock: one made before this point was for the pause, or for
	 * a stop that the loop sees next. */
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&vm->run_lock);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	this_vcpu = v;
	if (seccomp_install_bound(SECCOMP_VCPU, v->vm->cfg->seccomp,
				  &(struct seccomp_fds){.vm = v->vm->vm_fd, .vcpu = v->fd}) < 0) {
		vm_request_exit(v->vm, VM_FAILED, "cannot install the vCPU seccomp filter");
		return NULL;
	}
	while (__atomic_load_n(&v->vm->exit_reason, __ATOMIC_ACQUIRE) == VM_RUNNING) {
		if (__atomic_load_n(&v->vm->pause_req, __ATOMIC_ACQUIRE)) {
			park(v);
			continue;
		}
		take_smi(v);
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				stat_inc(&v->stats.intr);
				continue;
			}
			fail_exit(v, "KVM_RUN failed", (unsigned long long)errno);
			break;
		}
		if (!handle_exit(v))
			break;
	}
	/* A pause waiting for this thread to park stops waiting (the VM is stopping). */
	pthread_mutex_lock(&v->vm->run_lock);
	pthread_cond_broadcast(&v->vm->parked_cond);
	pthread_mutex_unlock(&v->vm->run_lock);
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	char name[16];
	int rc = pthread_create(&v->thread, NULL, vcpu_thread, v);

	if (rc)
		return -rc;
	snprintf(name, sizeof(name), "vcpu%u", v->id);
	pthread_setname_np(v->thread, name);
	v->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (!v->started)
		return;
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_RELEASE);
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->started) {
		pthread_join(v->thread, NULL);
		v->started = false;
	}
	if (v->run)
		munmap(v->run, v->vm->run_size);
	if (v->fd > 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}
