/* The seccomp filters themselves (src/kvm/seccomp.c), each installed in a child process that
 * then makes one call: ioctl is allowed by request number and per kind of thread (a request
 * not on a thread's list ends the process with SIGSYS), TIOCSTI ends it on every thread (the
 * window's filter too, which otherwise allows any request), and memory never becomes
 * executable (mmap and mprotect with PROT_EXEC fail with EPERM) but under the window's.
 * Requests that take a number are allowed only with the numbers the VMM passes, and a vCPU's
 * or device thread's KVM requests only on the descriptors its filter was bound to. */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "kvm/seccomp.h"

/* What the child saw: killed by the filter, or the call's errno (0: it succeeded). */
#define KILLED (-1)

enum probe { P_IOCTL, P_IOCTL_HIGH, P_MMAP_EXEC, P_MPROTECT_EXEC, P_MMAP_RW };

/* How a child makes its ioctl: the argument (PTR: a pointer to a byte), and on which of two
 * descriptors on /dev/null (0 or 1); bind: the filter's seccomp_fds are these two (vm = 0,
 * vcpu = 1), else it is installed unbound. */
#define PTR (-1L)
struct how {
	long arg;
	int on;
	bool bind;
};

static int run_child_how(enum seccomp_thread kind, enum seccomp_mode mode, enum probe p,
			 unsigned long req, struct how h)
{
	int fds[2] = {open("/dev/null", O_RDONLY | O_CLOEXEC),
		      open("/dev/null", O_RDONLY | O_CLOEXEC)};
	int fd = fds[h.on], status = 0;
	pid_t pid;

	assert_true(fds[0] >= 0 && fds[1] >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Raw system calls from here on: a sanitizer's interceptors (mmap, ioctl, _exit)
		 * make calls of their own that are not what is being tested. */
		long rc = 0, m;
		char c = 'x';

		struct seccomp_fds sf = {.vm = fds[0], .vcpu = fds[1]};

		if (seccomp_install_bound(kind, mode, h.bind ? &sf : NULL) < 0)
			syscall(SYS_exit_group, 200);
		switch (p) {
		case P_IOCTL:
			rc = h.arg == PTR ? syscall(SYS_ioctl, fd, req, &c)
					  : syscall(SYS_ioctl, fd, req, (unsigned long)h.arg);
			break;
		case P_IOCTL_HIGH: /* the kernel ignores the upper half of the request */
			rc = syscall(SYS_ioctl, fd, (1ul << 32) | req, &c);
			break;
		case P_MMAP_EXEC:
			rc = syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_EXEC,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			break;
		case P_MPROTECT_EXEC:
			m = syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (m == -1)
				syscall(SYS_exit_group, 201);
			rc = syscall(SYS_mprotect, m, 4096, PROT_READ | PROT_EXEC);
			break;
		case P_MMAP_RW:
			rc = syscall(SYS_mmap, NULL, 4096, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			break;
		}
		syscall(SYS_exit_group, rc == -1 ? errno : 0);
	}
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status)) {
		assert_int_equal(WTERMSIG(status), SIGSYS);
		return KILLED;
	}
	assert_true(WIFEXITED(status));
	assert_true(WEXITSTATUS(status) < 200);
	return WEXITSTATUS(status);
}

static int run_child(enum seccomp_thread kind, enum seccomp_mode mode, enum probe p,
		     unsigned long req)
{
	return run_child_how(kind, mode, p, req, (struct how){.arg = PTR});
}

static int try_ioctl(enum seccomp_thread kind, unsigned long req)
{
	return run_child(kind, SECCOMP_ON, P_IOCTL, req);
}

/* A request with a number for its argument. */
static int try_ioctl_arg(enum seccomp_thread kind, unsigned long req, long arg)
{
	return run_child_how(kind, SECCOMP_ON, P_IOCTL, req, (struct how){.arg = arg});
}

/* A request on descriptor `on` (0: the VM's, 1: the vCPU's) of a bound filter. */
static int try_ioctl_on(enum seccomp_thread kind, unsigned long req, long arg, int on)
{
	return run_child_how(kind, SECCOMP_ON, P_IOCTL, req,
			     (struct how){.arg = arg, .on = on, .bind = true});
}

static const enum seccomp_thread all_kinds[] = {SECCOMP_VMM,	SECCOMP_VMM_WINDOW, SECCOMP_VCPU,
						SECCOMP_VIRTIO, SECCOMP_API,	    SECCOMP_DISPLAY,
						SECCOMP_GATE};

static void test_tiocsti_never(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(all_kinds) / sizeof(all_kinds[0]); i++) {
		assert_int_equal(try_ioctl(all_kinds[i], TIOCSTI), KILLED);
		assert_int_equal(run_child(all_kinds[i], SECCOMP_ON, P_IOCTL_HIGH, TIOCSTI),
				 KILLED);
		assert_int_equal(try_ioctl(all_kinds[i], TIOCLINUX), KILLED);
		/* --seccomp log lets unlisted calls through, but not this one. */
		assert_int_equal(run_child(all_kinds[i], SECCOMP_LOG, P_IOCTL, TIOCSTI), EPERM);
	}
}

/* Allowed requests reach the kernel (on /dev/null: ENOTTY); others end the process. */
static void test_ioctl_per_thread(void **state)
{
	(void)state;
	assert_int_equal(try_ioctl_arg(SECCOMP_VCPU, KVM_RUN, 0), ENOTTY);
	assert_int_equal(try_ioctl(SECCOMP_VCPU, KVM_IRQ_LINE), ENOTTY);
	assert_int_equal(try_ioctl(SECCOMP_VCPU, KVM_CREATE_VM), KILLED);
	assert_int_equal(try_ioctl(SECCOMP_VCPU, KVM_SET_CPUID2), KILLED);
	assert_int_equal(try_ioctl(SECCOMP_VIRTIO, KVM_SIGNAL_MSI), ENOTTY);
	assert_int_equal(try_ioctl(SECCOMP_VIRTIO, KVM_RUN), KILLED);
	assert_int_equal(try_ioctl(SECCOMP_DISPLAY, KVM_GET_DIRTY_LOG), ENOTTY);
	assert_int_equal(try_ioctl(SECCOMP_DISPLAY, KVM_RUN), KILLED);
	assert_int_equal(try_ioctl(SECCOMP_API, FIONREAD), KILLED);
	assert_int_equal(try_ioctl(SECCOMP_GATE, FIONREAD), KILLED);
	assert_int_equal(try_ioctl_arg(SECCOMP_VMM, KVM_CREATE_VM, 0), ENOTTY);
	assert_int_equal(try_ioctl_arg(SECCOMP_VMM, KVM_RUN, 0), ENOTTY);
	assert_int_equal(try_ioctl(SECCOMP_VMM, TCSETSF), ENOTTY);
	/* Not on any list: a network interface's address (SIOCSIFADDR). */
	assert_int_equal(try_ioctl(SECCOMP_VMM, 0x8916), KILLED);
	/* The upper half of the request is ignored by the rules as by the kernel. */
	assert_int_equal(run_child(SECCOMP_VCPU, SECCOMP_ON, P_IOCTL_HIGH, KVM_SIGNAL_MSI), ENOTTY);
	assert_int_equal(run_child(SECCOMP_VCPU, SECCOMP_ON, P_IOCTL_HIGH, KVM_CREATE_VM), KILLED);
	/* The window's libraries make requests of their own. */
	assert_int_equal(try_ioctl(SECCOMP_VMM_WINDOW, 0x8916), ENOTTY);
}

/* Requests that take a number: only the numbers the VMM passes. */
static void test_ioctl_numbers(void **state)
{
	(void)state;
	/* KVM_RUN and KVM_SMI take 0 (a pointer there is not the VMM's call). */
	assert_int_equal(try_ioctl_arg(SECCOMP_VCPU, KVM_SMI, 0), ENOTTY);
	assert_int_equal(try_ioctl(SECCOMP_VCPU, KVM_RUN), KILLED);
	assert_int_equal(try_ioctl_arg(SECCOMP_VCPU, KVM_RUN, 1), KILLED);
	assert_int_equal(try_ioctl_arg(SECCOMP_VCPU, KVM_SMI, 2), KILLED);
	/* The default VM type only; vCPU ids below 64. */
	assert_int_equal(try_ioctl_arg(SECCOMP_VMM, KVM_CREATE_VM, 1), KILLED);
	assert_int_equal(try_ioctl_arg(SECCOMP_VMM, KVM_CREATE_VCPU, 63), ENOTTY);
	assert_int_equal(try_ioctl_arg(SECCOMP_VMM, KVM_CREATE_VCPU, 64), KILLED);
	assert_int_equal(try_ioctl_arg(SECCOMP_VMM, KVM_GET_VCPU_MMAP_SIZE, 0), ENOTTY);
	assert_int_equal(try_ioctl_arg(SECCOMP_VMM, KVM_GET_API_VERSION, 7), KILLED);
	/* A capability number is any number. */
	assert_int_equal(try_ioctl_arg(SECCOMP_VCPU, KVM_CHECK_EXTENSION, 1000), ENOTTY);
	/* The tap's offloads: the four the back end asks for, on every thread that sets them. */
	for (unsigned i = 0; i < 3; i++) {
		static const enum seccomp_thread k[] = {SECCOMP_VMM, SECCOMP_VIRTIO, SECCOMP_VCPU};
		long all = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;

		assert_int_equal(try_ioctl_arg(k[i], TUNSETOFFLOAD, 0), ENOTTY);
		assert_int_equal(try_ioctl_arg(k[i], TUNSETOFFLOAD, all), ENOTTY);
		assert_int_equal(try_ioctl_arg(k[i], TUNSETOFFLOAD, TUN_F_UFO), KILLED);
		assert_int_equal(try_ioctl_arg(k[i], TUNSETOFFLOAD, all | 0x20), KILLED);
	}
}

/* A bound filter: KVM's requests on the VM's descriptor (0), a vCPU's on its own (1). */
static void test_ioctl_bound_fds(void **state)
{
	(void)state;
	assert_int_equal(try_ioctl_on(SECCOMP_VCPU, KVM_RUN, 0, 1), ENOTTY);
	assert_int_equal(try_ioctl_on(SECCOMP_VCPU, KVM_RUN, 0, 0), KILLED);
	assert_int_equal(try_ioctl_on(SECCOMP_VCPU, KVM_GET_REGS, PTR, 1), ENOTTY);
	assert_int_equal(try_ioctl_on(SECCOMP_VCPU, KVM_GET_REGS, PTR, 0), KILLED);
	assert_int_equal(try_ioctl_on(SECCOMP_VCPU, KVM_IRQ_LINE, PTR, 0), ENOTTY);
	assert_int_equal(try_ioctl_on(SECCOMP_VCPU, KVM_IRQ_LINE, PTR, 1), KILLED);
	assert_int_equal(try_ioctl_on(SECCOMP_VIRTIO, KVM_IOEVENTFD, PTR, 0), ENOTTY);
	assert_int_equal(try_ioctl_on(SECCOMP_VIRTIO, KVM_SIGNAL_MSI, PTR, 1), KILLED);
	/* Not KVM's: on any descriptor. */
	assert_int_equal(try_ioctl_on(SECCOMP_VCPU, FIONREAD, PTR, 1), ENOTTY);
	assert_int_equal(try_ioctl_on(SECCOMP_VIRTIO, TUNSETOFFLOAD, 0, 1), ENOTTY);
	/* Unbound (the VMM thread, the display): any descriptor. */
	assert_int_equal(try_ioctl_arg(SECCOMP_DISPLAY, KVM_GET_DIRTY_LOG, 0), ENOTTY);
}

static void test_no_executable_memory(void **state)
{
	(void)state;
	for (unsigned i = 0; i < sizeof(all_kinds) / sizeof(all_kinds[0]); i++) {
		enum seccomp_thread k = all_kinds[i];
		int want = k == SECCOMP_VMM_WINDOW ? 0 : EPERM;

		assert_int_equal(run_child(k, SECCOMP_ON, P_MMAP_EXEC, 0), want);
		assert_int_equal(run_child(k, SECCOMP_ON, P_MPROTECT_EXEC, 0), want);
		assert_int_equal(run_child(k, SECCOMP_ON, P_MMAP_RW, 0), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tiocsti_never),	 cmocka_unit_test(test_ioctl_per_thread),
	    cmocka_unit_test(test_ioctl_numbers),	 cmocka_unit_test(test_ioctl_bound_fds),
	    cmocka_unit_test(test_no_executable_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
