/* The VMM thread's side of the control channel (control.h): pause and resume, the power button,
 * reboot and shutdown, and the state and counters that the API reports. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/pm.h"
#include "machine/vm.h"

#define PAUSE_TIMEOUT_S 5 /* vCPUs leave KVM_RUN in microseconds; this is for a stuck one */

void vm_pause_init(struct vm *vm)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&vm->run_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->parked_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&vm->resume_cond, NULL);
}

void vm_pause_destroy(struct vm *vm)
{
	pthread_cond_destroy(&vm->resume_cond);
	pthread_cond_destroy(&vm->parked_cond);
	pthread_mutex_destroy(&vm->run_lock);
}

static bool running(const struct vm *vm)
{
	return __atomic_load_n(&vm->exit_reason, __ATOMIC_ACQUIRE) == VM_RUNNING;
}

void vm_kick_all(struct vm *vm)
{
	pthread_mutex_lock(&vm->run_lock);
	pthread_cond_broadcast(&vm->resume_cond);
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	pthread_mutex_unlock(&vm->run_lock);
}

__attribute__((format(printf, 3, 4))) static void refuse(struct ctl_answer *a, int err,
							 const char *fmt, ...)
{
	va_list ap;

	a->result = err;
	va_start(ap, fmt);
	vsnprintf(a->msg, sizeof(a->msg), fmt, ap);
	va_end(ap);
}

/* Stops every vCPU (each parks in vcpu.c's park()) and waits until all have. */
static void pause_vcpus(struct vm *vm, struct ctl_answer *a)
{
	unsigned n = 0;
	struct timespec dl;
	int w = 0;

	for (unsigned i = 0; i < vm->ncpus; i++)
		n += vm->vcpus[i].started;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += PAUSE_TIMEOUT_S;
	pthread_mutex_lock(&vm->run_lock);
	__atomic_store_n(&vm->pause_req, true, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	while (vm->nparked < n && running(vm) && w != ETIMEDOUT)
		w = pthread_cond_timedwait(&vm->parked_cond, &vm->run_lock, &dl);
	vm->paused = vm->nparked == n && running(vm);
	if (!vm->paused) {
		__atomic_store_n(&vm->pause_req, false, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&vm->resume_cond);
	}
	pthread_mutex_unlock(&vm->run_lock);
	if (vm->paused)
		return;
	if (running(vm))
		refuse(a, -ETIMEDOUT, "the vCPUs did not stop within %d s", PAUSE_TIMEOUT_S);
	else
		refuse(a, -ESHUTDOWN, "the VM stopped while pausing");
}

static void resume_vcpus(struct vm *vm)
{
	pthread_mutex_lock(&vm->run_lock);
	__atomic_store_n(&vm->pause_req, false, __ATOMIC_RELEASE);
	vm->paused = false;
	pthread_cond_broadcast(&vm->resume_cond);
	pthread_mutex_unlock(&vm->run_lock);
}

static void act(struct vm *vm, enum ctl_action action, struct ctl_answer *a)
{
	if (!running(vm)) {
		refuse(a, -ESHUTDOWN, "the VM has stopped");
		return;
	}
	switch (action) {
	case CTL_PAUSE:
		if (vm->paused)
			refuse(a, -EALREADY, "the VM is already paused");
		else
			pause_vcpus(vm, a);
		break;
	case CTL_RESUME:
		if (!vm->paused)
			refuse(a, -EALREADY, "the VM is not paused");
		else
			resume_vcpus(vm);
		break;
	case CTL_SHUTDOWN:
		vm_request_exit(vm, VM_POWEROFF, NULL);
		break;
	case CTL_REBOOT:
		vm_request_exit(vm, VM_REBOOT, NULL);
		break;
	case CTL_POWER_BUTTON:
		pm_raise(board_state(vm, &pm_device), PM_STS_PWRBTN);
		break;
	default:
		refuse(a, -EINVAL, "unknown action %d", (int)action);
		break;
	}
}

static uint64_t ld(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void get_counters(const struct vm *vm, struct ctl_counters *k)
{
	k->ncpus = vm->ncpus;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		const struct vcpu_stats *s = &vm->vcpus[i].stats;

		k->vcpu[i] = (struct vcpu_stats){ld(&s->io), ld(&s->mmio), ld(&s->intr),
						 ld(&s->other), ld(&s->unhandled)};
	}
	board_counters(vm, k);
}

void vm_answer(struct vm *vm, struct ctl_channel *ch, struct ctl_request *r)
{
	struct ctl_answer *a = &r->answer;

	a->cfg = vm->cfg;
	a->boots = vm->host ? vm->host->boots : 0;
	a->pid = getpid();
	if (r->action == CTL_INFO || r->action == CTL_COUNTERS)
		get_counters(vm, &a->counters);
	else if (r->action != CTL_PING)
		act(vm, r->action, a);
	/* After the action: vm.info right after vm.shutdown says Shutdown. */
	a->state = !running(vm) ? CTL_STATE_SHUTDOWN
		   : vm->paused ? CTL_STATE_PAUSED
				: CTL_STATE_RUNNING;
	ctl_reply(ch, r);
}
