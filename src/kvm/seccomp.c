#include "kvm/seccomp.h"

#include <errno.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "common/bytes.h"

/* What every thread does: memory (malloc, thread stacks), locks, signals, time, logging
 * to stderr, and ending (abort included). The vDSO's clocks fall back to system calls when the
 * host's clocksource can't be read from user space (the rig's L1 after its TSC is marked
 * unstable): gettimeofday and time are listed for that. Logs and file= outputs are capped
 * files that rotate in place (below). */
static const int common_calls[] = {
    SCMP_SYS(read),
    SCMP_SYS(write),
    SCMP_SYS(writev),
    SCMP_SYS(close),
    SCMP_SYS(futex),
    SCMP_SYS(mmap),
    SCMP_SYS(munmap),
    SCMP_SYS(mprotect),
    SCMP_SYS(madvise),
    SCMP_SYS(brk),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_nanosleep),
    SCMP_SYS(nanosleep),
    SCMP_SYS(gettid),
    SCMP_SYS(getpid),
    SCMP_SYS(tgkill),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    SCMP_SYS(sched_yield),
    SCMP_SYS(fstat),
    SCMP_SYS(newfstatat),
    SCMP_SYS(restart_syscall),
    SCMP_SYS(getrandom),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(time),
    /* A capped log (src/common/capfile.c) rotates on the thread that writes the line that
     * fills it: the file is copied into PATH.1 and truncated, both already open. */
    SCMP_SYS(pread64),
    SCMP_SYS(pwrite64),
    SCMP_SYS(ftruncate),
};

/* vCPU threads: KVM_RUN and the ioctls around it, device emulation (which writes to the
 * console, eventfds, and sockets), and nothing that opens anything. */
static const int vcpu_calls[] = {
    SCMP_SYS(sendto),
    SCMP_SYS(sendmsg),
    /* A driver's status write runs the device's activate/reset on the vCPU thread: these
     * change what its I/O thread watches and wait for in-flight block I/O. */
    SCMP_SYS(epoll_ctl),
    SCMP_SYS(io_uring_enter),
    /* The AHCI CD-ROM (--cdrom) reads its image synchronously on the vCPU thread. */
    SCMP_SYS(pread64),
};

/* Device I/O threads: epoll, block I/O (io_uring, positional I/O, flush, discard), network
 * and console sockets. The RTC's timer thread uses this filter too (epoll_wait, KVM_IRQ_LINE), and
 * so does the HD Audio controller's (epoll_wait, pwrite64 into the WAV file, KVM_SIGNAL_MSI). */
static const int virtio_calls[] = {
    SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),	   SCMP_SYS(readv),
    SCMP_SYS(pread64),	  SCMP_SYS(pwrite64),	 SCMP_SYS(preadv),	   SCMP_SYS(pwritev),
    SCMP_SYS(preadv2),	  SCMP_SYS(pwritev2),	 SCMP_SYS(io_uring_enter), SCMP_SYS(fsync),
    SCMP_SYS(fdatasync),  SCMP_SYS(fallocate),	 SCMP_SYS(sendto),	   SCMP_SYS(sendmsg),
    SCMP_SYS(recvfrom),	  SCMP_SYS(recvmsg),	 SCMP_SYS(accept4),	   SCMP_SYS(fcntl),
    SCMP_SYS(lseek),
};

/* The API thread (--api-socket): its poll loop on the listening socket and its clients
 * (src/api/api_server.c). It opens nothing (see seccomp_install) and creates no threads. */
static const int api_calls[] = {
    SCMP_SYS(poll),
    SCMP_SYS(accept4),
    SCMP_SYS(recvfrom),
    SCMP_SYS(sendto),
};

/* The display thread (--display): KVM_GET_DIRTY_LOG and KVM_CLEAR_DIRTY_LOG on the VRAM slot,
 * KVM_IRQ_LINE for keys (ioctl), and libvncserver's clients: select, accept (we hand it sockets),
 * reads and writes, socket options on new clients. */
static const int display_calls[] = {
    SCMP_SYS(poll),	   SCMP_SYS(ppoll),	  SCMP_SYS(select),	SCMP_SYS(pselect6),
    SCMP_SYS(accept4),	   SCMP_SYS(accept),	  SCMP_SYS(recvfrom),	SCMP_SYS(recvmsg),
    SCMP_SYS(sendto),	   SCMP_SYS(sendmsg),	  SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),
    SCMP_SYS(getpeername), SCMP_SYS(getsockname), SCMP_SYS(fcntl),	SCMP_SYS(shutdown),
};

/* The VNC port's gate (vnc-gate, src/ui/vnc_gate.c): its poll loop over the clients that have
 * not authenticated yet and the WebSocket relays, TLS records (GnuTLS), and the socket pairs it
 * hands libvncserver. It opens nothing and touches no VM state. */
static const int gate_calls[] = {
    SCMP_SYS(poll),
    SCMP_SYS(ppoll),
    SCMP_SYS(accept4),
    SCMP_SYS(recvfrom),
    SCMP_SYS(recvmsg),
    SCMP_SYS(sendto),
    SCMP_SYS(sendmsg),
    SCMP_SYS(setsockopt),
    SCMP_SYS(getsockopt),
    SCMP_SYS(socketpair),
    SCMP_SYS(shutdown),
    /* realloc of a large buffer (a client's backlog) */
    SCMP_SYS(mremap),
};

/* The shared folder's file server (--fs), a process of its own: the file system calls its
 * operations make on descriptors beneath the folder (backends/fs_ops.c, fs_io.c; glibc's
 * renameat2 with no flags is the renameat call). Nothing
 * that makes sockets, maps guest memory, mounts, or runs anything. */
static const int fs_server_calls[] = {
    SCMP_SYS(openat),	 SCMP_SYS(openat2),  SCMP_SYS(getdents64), SCMP_SYS(lseek),
    SCMP_SYS(mkdirat),	 SCMP_SYS(mknodat),  SCMP_SYS(symlinkat),  SCMP_SYS(unlinkat),
    SCMP_SYS(renameat2), SCMP_SYS(renameat), SCMP_SYS(linkat),	   SCMP_SYS(readlinkat),
    SCMP_SYS(fchmodat),	 SCMP_SYS(fchownat), SCMP_SYS(utimensat),  SCMP_SYS(fstatfs),
    SCMP_SYS(fallocate), SCMP_SYS(fsync),    SCMP_SYS(fdatasync),  SCMP_SYS(statx),
    SCMP_SYS(dup),	 SCMP_SYS(fcntl),
};

/* The VMM thread builds (and on reboot rebuilds) the VM: it opens /dev/kvm, the images,
 * the tap and sockets, creates memory and threads, and runs the poll loop. */
static const int vmm_calls[] = {
    SCMP_SYS(openat),
    SCMP_SYS(memfd_create),
    SCMP_SYS(ftruncate),
    SCMP_SYS(eventfd2),
    SCMP_SYS(epoll_create1),
    SCMP_SYS(epoll_ctl),
    SCMP_SYS(poll),
    SCMP_SYS(ppoll),
    SCMP_SYS(clone),
    SCMP_SYS(clone3),
    SCMP_SYS(set_robust_list),
    SCMP_SYS(rseq),
    SCMP_SYS(socket),
    SCMP_SYS(bind),
    SCMP_SYS(listen),
    SCMP_SYS(accept4),
    SCMP_SYS(connect),
    SCMP_SYS(socketpair), /* --tpm: swtpm's data channel, */
    SCMP_SYS(setsockopt), /* with timeouts on its sockets */
    SCMP_SYS(unlink),
    SCMP_SYS(sendto),
    SCMP_SYS(sendmsg),
    SCMP_SYS(recvfrom),
    SCMP_SYS(fcntl),
    SCMP_SYS(lseek),
    SCMP_SYS(io_uring_setup),
    SCMP_SYS(io_uring_register),
    SCMP_SYS(io_uring_enter),
    SCMP_SYS(dup),
    SCMP_SYS(pread64),
    SCMP_SYS(pwrite64),	 /* closing a qcow2 image writes back its metadata, */
    SCMP_SYS(fallocate), /* and gives unused reserved clusters back */
    SCMP_SYS(prctl),
    SCMP_SYS(sched_getaffinity),
    SCMP_SYS(getrlimit),
    SCMP_SYS(prlimit64),
    SCMP_SYS(rt_sigaction),
    SCMP_SYS(fsync),
    SCMP_SYS(fdatasync),
    SCMP_SYS(seccomp), /* the threads it starts add their own filters */
    SCMP_SYS(umask),   /* the API socket: created with mode 0600, */
    SCMP_SYS(getsockopt),
    SCMP_SYS(getsockname),
    SCMP_SYS(shutdown),
    SCMP_SYS(uname), /* libvncserver asks for the host name */
    /* --display window: SDL2 and the X11/Wayland libraries it loads (the window thread runs
     * under this filter only: they open files and sockets when they please). */
    SCMP_SYS(getresuid),
    SCMP_SYS(getresgid),
    SCMP_SYS(geteuid),
    SCMP_SYS(getegid),
    SCMP_SYS(getuid),
    SCMP_SYS(getgid),
    SCMP_SYS(mremap),
    SCMP_SYS(sched_setscheduler),
    SCMP_SYS(setpriority),
    SCMP_SYS(shmget), /* X11's shared-memory images (MIT-SHM) */
    SCMP_SYS(shmat),
    SCMP_SYS(shmctl),
    SCMP_SYS(shmdt),
    SCMP_SYS(sched_setaffinity), /* Mesa's software renderer pins its threads */
    SCMP_SYS(sysinfo),		 /* Mesa sizes its caches by the RAM it sees */
    SCMP_SYS(access),
    SCMP_SYS(readlink),
    SCMP_SYS(getdents64),
    SCMP_SYS(pipe2),
    SCMP_SYS(dup2),
};

/* ioctl is allowed by request number (the low 32 bits: the kernel's ioctl takes an unsigned
 * int, so the upper half of the register is ignored by it and by these rules), per thread.
 * What KVM does while the guest runs: KVM_RUN and a failed exit's register dump (vCPU
 * threads), interrupts (lines, MSIs, routing, irqfds), ioeventfds and memory slots (a BAR or
 * the flash moving), capability checks and the display's dirty log. Devices run on vCPU
 * threads (register writes) and on their own I/O threads, so both may make these. */
static const unsigned long kvm_running[] = {
    KVM_IRQ_LINE,	 KVM_SIGNAL_MSI,    KVM_SET_GSI_ROUTING,
    KVM_IRQFD,		 KVM_IOEVENTFD,	    KVM_SET_USER_MEMORY_REGION,
    KVM_CHECK_EXTENSION, KVM_GET_DIRTY_LOG, KVM_CLEAR_DIRTY_LOG,
};

/* A device's back end while the guest runs: the tap's offloads follow the driver's features,
 * and a discard from the guest punches the block device. */
static const unsigned long device_ioctls[] = {TUNSETOFFLOAD, BLKDISCARD};

/* Reads of a descriptor's state that libraries and the virtio console make: the terminal's
 * attributes (isatty) and size, bytes waiting, non-blocking and close-on-exec flags. */
static const unsigned long fd_queries[] = {TCGETS,  TIOCGWINSZ, FIONREAD,
					   FIONBIO, FIOCLEX,	FIONCLEX};

/* KVM_SMI: a vCPU raises its own SMI (the APM port's, or one another vCPU broadcast). */
static const unsigned long vcpu_ioctls[] = {KVM_RUN, KVM_GET_REGS, KVM_SMI};

/* Building the VM (and rebuilding it on a reboot), on the VMM thread only: KVM's set-up, the
 * tap's, the block device's size, and the terminal put in raw mode and restored. */
static const unsigned long vmm_ioctls[] = {
    KVM_GET_API_VERSION,
    KVM_CREATE_VM,
    KVM_GET_VCPU_MMAP_SIZE,
    KVM_GET_SUPPORTED_CPUID,
    KVM_GET_SUPPORTED_HV_CPUID,
    KVM_SET_TSS_ADDR,
    KVM_SET_IDENTITY_MAP_ADDR,
    KVM_CREATE_IRQCHIP,
    KVM_CREATE_PIT2,
    KVM_ENABLE_CAP,
    KVM_CREATE_VCPU,
    KVM_SET_CPUID2,
    KVM_SET_MSRS,
    KVM_GET_LAPIC,
    KVM_SET_LAPIC,
    KVM_GET_SREGS,
    KVM_SET_SREGS,
    KVM_SET_REGS,
    KVM_SET_FPU,
    TUNSETIFF,
    TUNSETVNETHDRSZ,
    BLKGETSIZE64,
    BLKSSZGET,
    TCSETS,
    TCSETSW,
    TCSETSF,
};

/* Requests whose argument is a number, not a pointer, and what it may be: a rule allows them
 * only when (argument & mask) == 0, in the low 32 bits the callers pass (an int or a small
 * unsigned long). KVM_RUN, KVM_SMI, KVM_GET_API_VERSION, KVM_GET_VCPU_MMAP_SIZE, KVM_CREATE_IRQCHIP
 * and KVM_CREATE_VM (the default VM type) take 0; KVM_CREATE_VCPU a vCPU id below VM_MAX_CPUS
 * (64); TUNSETOFFLOAD the four offloads netdev.c and netdev_tap.c ask for, so no other offload
 * (UFO, USO) can be turned on. KVM_CHECK_EXTENSION's capability number and KVM_SET_TSS_ADDR's
 * address are not limited. */
static const struct arg_limit {
	unsigned long req;
	uint32_t mask;
} arg_limits[] = {
    {KVM_RUN, 0xffffffffu},
    {KVM_SMI, 0xffffffffu},
    {KVM_GET_API_VERSION, 0xffffffffu},
    {KVM_GET_VCPU_MMAP_SIZE, 0xffffffffu},
    {KVM_CREATE_IRQCHIP, 0xffffffffu},
    {KVM_CREATE_VM, 0xffffffffu},
    {KVM_CREATE_VCPU, ~(uint32_t)(VM_MAX_CPUS - 1)},
    {TUNSETOFFLOAD, ~(uint32_t)(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)},
};
_Static_assert((VM_MAX_CPUS & (VM_MAX_CPUS - 1)) == 0, "KVM_CREATE_VCPU's mask");

/* Never, on any thread: pushing bytes into a terminal's input (TIOCSTI) or a console's
 * selection (TIOCLINUX) would type commands into the shell that started the VMM. */
static const unsigned long forbidden_ioctls[] = {TIOCSTI, TIOCLINUX};

struct call_list {
	const int *calls;
	unsigned n;
};

struct ioctl_list {
	const unsigned long *reqs;
	unsigned n;
	int fd; /* the one descriptor they may be made on, or -1 */
};

#define LIST(a)                                                                                    \
	{                                                                                          \
		a, ARRAY_SIZE(a)                                                                   \
	}
#define LIST_ON(a, fd_)                                                                            \
	{                                                                                          \
		a, ARRAY_SIZE(a), fd_                                                              \
	}

static struct call_list calls_of(enum seccomp_thread kind)
{
	switch (kind) {
	case SECCOMP_VCPU:
		return (struct call_list)LIST(vcpu_calls);
	case SECCOMP_VIRTIO:
		return (struct call_list)LIST(virtio_calls);
	case SECCOMP_API:
		return (struct call_list)LIST(api_calls);
	case SECCOMP_DISPLAY:
		return (struct call_list)LIST(display_calls);
	case SECCOMP_GATE:
		return (struct call_list)LIST(gate_calls);
	case SECCOMP_FS_SERVER:
		return (struct call_list)LIST(fs_server_calls);
	default:
		return (struct call_list)LIST(vmm_calls);
	}
}

/* The ioctl requests a kind of thread may make: up to five lists (none for the API thread
 * and the gate). The VMM thread's filter holds every thread's, as the threads it starts
 * inherit it. With fds, KVM's requests are bound to the VM's descriptor and a vCPU thread's
 * to its own vCPU's (the rest are on taps, disks and terminals, whichever is open). */
static unsigned ioctls_of(enum seccomp_thread kind, const struct seccomp_fds *fds,
			  struct ioctl_list out[5])
{
	int vm = fds ? fds->vm : -1, vcpu = fds ? fds->vcpu : -1;
	unsigned n = 0;

	switch (kind) {
	case SECCOMP_VMM:
	case SECCOMP_VMM_WINDOW:
		out[n++] = (struct ioctl_list)LIST_ON(vmm_ioctls, -1);
		out[n++] = (struct ioctl_list)LIST_ON(vcpu_ioctls, -1);
		__attribute__((fallthrough));
	case SECCOMP_VIRTIO:
		out[n++] = (struct ioctl_list)LIST_ON(device_ioctls, -1);
		__attribute__((fallthrough));
	case SECCOMP_DISPLAY:
		out[n++] = (struct ioctl_list)LIST_ON(kvm_running, vm);
		out[n++] = (struct ioctl_list)LIST_ON(fd_queries, -1);
		break;
	case SECCOMP_VCPU:
		out[n++] = (struct ioctl_list)LIST_ON(vcpu_ioctls, vcpu);
		out[n++] = (struct ioctl_list)LIST_ON(device_ioctls, -1);
		out[n++] = (struct ioctl_list)LIST_ON(kvm_running, vm);
		out[n++] = (struct ioctl_list)LIST_ON(fd_queries, -1);
		break;
	default:
		break;
	}
	return n;
}

unsigned seccomp_rule_count(enum seccomp_thread kind)
{
	struct ioctl_list l[5];
	unsigned n = (unsigned)ARRAY_SIZE(common_calls) + calls_of(kind).n;
	unsigned k = ioctls_of(kind, NULL, l);

	for (unsigned i = 0; i < k; i++)
		n += l[i].n;
	return n;
}

/* libseccomp refuses a rule it already has (the VMM thread's lists overlap) with -EEXIST. */
static bool rule_rc_ok(int rc)
{
	/* A call this kernel's tables do not know is simply not allowed. */
	return rc == 0 || rc == -EEXIST || rc == -EDOM || rc == -EFAULT;
}

static int add_all(scmp_filter_ctx ctx, const int *calls, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);

		if (!rule_rc_ok(rc))
			return rc;
	}
	return 0;
}

/* One request's rule: its number, its argument's limit if it has one, its descriptor if bound. */
static int add_ioctl(scmp_filter_ctx ctx, unsigned long req, int fd)
{
	struct scmp_arg_cmp cmp[3];
	unsigned n = 0;

	cmp[n++] = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, req);
	for (unsigned i = 0; i < ARRAY_SIZE(arg_limits); i++)
		if (arg_limits[i].req == req)
			cmp[n++] = SCMP_A2(SCMP_CMP_MASKED_EQ, arg_limits[i].mask, 0);
	if (fd >= 0)
		cmp[n++] =
		    (struct scmp_arg_cmp){.arg = 0, .op = SCMP_CMP_EQ, .datum_a = (scmp_datum_t)fd};
	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), n, cmp);
}

static int add_ioctls(scmp_filter_ctx ctx, enum seccomp_thread kind, const struct seccomp_fds *fds)
{
	struct ioctl_list l[5];
	unsigned k = ioctls_of(kind, fds, l);

	/* The window's libraries (SDL2, X11, Mesa) make requests of their own (FIONREAD on the X
	 * socket, DRM on a render node): that thread's filter allows any but the forbidden ones,
	 * which the denial filter refuses. */
	if (kind == SECCOMP_VMM_WINDOW)
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 0);
	for (unsigned i = 0; i < k; i++) {
		for (unsigned j = 0; j < l[i].n; j++) {
			int rc = add_ioctl(ctx, l[i].reqs[j], l[i].fd);

			if (!rule_rc_ok(rc))
				return rc;
		}
	}
	return 0;
}

/* A second filter on every thread, whose default allows (the allow-list above does the
 * rest; filters stack, and the kernel takes the strictest answer): the forbidden ioctls end
 * the VMM (fail with EPERM under --seccomp log), and memory is never mapped or made
 * executable after start-up (EPERM: a library that tries to load another, such as an NSS
 * module for a host name, then does without it). The VMM thread's filter with --display
 * window allows executable memory: SDL2 is loaded then, and Mesa compiles its shaders. */
static int install_denials(enum seccomp_thread kind, enum seccomp_mode mode)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	uint32_t never = mode == SECCOMP_LOG ? SCMP_ACT_ERRNO(EPERM) : SCMP_ACT_KILL_PROCESS;
	int rc = 0;

	if (!ctx)
		return -ENOMEM;
	for (unsigned i = 0; rc == 0 && i < ARRAY_SIZE(forbidden_ioctls); i++)
		rc =
		    seccomp_rule_add(ctx, never, SCMP_SYS(ioctl), 1,
				     SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, forbidden_ioctls[i]));
	if (rc == 0 && kind != SECCOMP_VMM_WINDOW)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mmap), 1,
				      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC));
	if (rc == 0 && kind != SECCOMP_VMM_WINDOW)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mprotect), 1,
				      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC));
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
}

int seccomp_install(enum seccomp_thread kind, enum seccomp_mode mode)
{
	return seccomp_install_bound(kind, mode, NULL);
}

int seccomp_install_bound(enum seccomp_thread kind, enum seccomp_mode mode,
			  const struct seccomp_fds *fds)
{
	static const enum seccomp_thread others[] = {SECCOMP_VCPU, SECCOMP_VIRTIO, SECCOMP_API,
						     SECCOMP_DISPLAY, SECCOMP_GATE};
	bool vmm = kind == SECCOMP_VMM || kind == SECCOMP_VMM_WINDOW;
	struct call_list l = calls_of(kind);
	scmp_filter_ctx ctx;
	int rc;

	if (mode == SECCOMP_OFF)
		return 0;
	rc = install_denials(kind, mode);
	if (rc < 0)
		return rc;
	ctx = seccomp_init(mode == SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	rc = add_all(ctx, common_calls, ARRAY_SIZE(common_calls));
	if (rc == 0)
		rc = add_all(ctx, l.calls, l.n);
	if (rc == 0)
		rc = add_ioctls(ctx, kind, fds);
	/* Threads inherit the VMM thread's filter (filters stack), and it creates them after
	 * installing its own, so it must also allow what they need. */
	for (unsigned i = 0; vmm && rc == 0 && i < ARRAY_SIZE(others); i++) {
		l = calls_of(others[i]);
		rc = add_all(ctx, l.calls, l.n);
	}
	/* glibc's free() in a thread's own arena reads /proc/sys/vm/overcommit_memory the first
	 * time it shrinks a heap: in the threads that may not open files that open fails instead
	 * of ending the VMM, and glibc carries on without it. */
	bool fs = kind == SECCOMP_FS_SERVER; /* opens and makes folders: that is its job */

	if (rc == 0 && !vmm && !fs)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
	/* The VMM makes no directories, but libraries the window loads try to (Mesa creates
	 * ~/.cache/mesa_shader_cache the first time): that fails, and Mesa runs without its cache,
	 * instead of ending the VMM. */
	if (rc == 0 && !fs)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(mkdir), 0);
	if (rc == 0 && !fs)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(mkdirat), 0);
	/* libvncserver uses libgcrypt, which nobody initialized (the display thread's libvncserver
	 * hashed WebSocket keys with it; the gate's VNC password check, rfbEncryptBytes, runs DES
	 * with it): on that first use libgcrypt warns through syslog() (a socket() to /dev/log)
	 * and looks for its FIPS settings (access()), either of which would end the VMM (seen in
	 * the rig's display-browser scenario, and with the gate's first password). They fail
	 * instead: syslog() drops the message, and libgcrypt takes the missing file for "not in
	 * FIPS mode". */
	bool gcrypt = kind == SECCOMP_DISPLAY || kind == SECCOMP_GATE;

	if (rc == 0 && gcrypt)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 0);
	if (rc == 0 && gcrypt)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOENT), SCMP_SYS(access), 0);
	if (rc == 0)
		rc = seccomp_load(ctx); /* sets no_new_privs: the filter binds this thread only */
	seccomp_release(ctx);
	return rc;
}
