#include "kvm/seccomp.h"

#include <errno.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/bytes.h"

/* What every thread does: memory (malloc, thread stacks), locks, signals, time, logging
 * to stderr, and ending (abort included). The vDSO's clocks fall back to system calls when the
 * host's clocksource can't be read from user space (the rig's L1 after its TSC is marked
 * unstable): gettimeofday and time are listed for that. */
static const int common_calls[] = {
    SCMP_SYS(read),	     SCMP_SYS(write),		SCMP_SYS(writev),
    SCMP_SYS(close),	     SCMP_SYS(futex),		SCMP_SYS(mmap),
    SCMP_SYS(munmap),	     SCMP_SYS(mprotect),	SCMP_SYS(madvise),
    SCMP_SYS(brk),	     SCMP_SYS(rt_sigreturn),	SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
    SCMP_SYS(gettid),	     SCMP_SYS(getpid),		SCMP_SYS(tgkill),
    SCMP_SYS(exit),	     SCMP_SYS(exit_group),	SCMP_SYS(sched_yield),
    SCMP_SYS(fstat),	     SCMP_SYS(newfstatat),	SCMP_SYS(restart_syscall),
    SCMP_SYS(getrandom),     SCMP_SYS(gettimeofday),	SCMP_SYS(time),
};

/* vCPU threads: KVM_RUN and the ioctls around it, device emulation (which writes to the
 * console, eventfds, and sockets), and nothing that opens anything. */
static const int vcpu_calls[] = {
    SCMP_SYS(ioctl),
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
 * and console sockets. The RTC's timer thread uses this filter too (epoll_wait, KVM_IRQ_LINE). */
static const int virtio_calls[] = {
    SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),	   SCMP_SYS(readv),
    SCMP_SYS(pread64),	  SCMP_SYS(pwrite64),	 SCMP_SYS(preadv),	   SCMP_SYS(pwritev),
    SCMP_SYS(preadv2),	  SCMP_SYS(pwritev2),	 SCMP_SYS(io_uring_enter), SCMP_SYS(fsync),
    SCMP_SYS(fdatasync),  SCMP_SYS(fallocate),	 SCMP_SYS(ioctl),	   SCMP_SYS(sendto),
    SCMP_SYS(sendmsg),	  SCMP_SYS(recvfrom),	 SCMP_SYS(recvmsg),	   SCMP_SYS(accept4),
    SCMP_SYS(fcntl),	  SCMP_SYS(lseek),
};

/* The API thread (--api-socket): libmicrohttpd's epoll loop on the listening socket and its
 * clients. It opens nothing (see seccomp_install) and creates no threads. */
static const int api_calls[] = {
    SCMP_SYS(epoll_wait), SCMP_SYS(epoll_ctl), SCMP_SYS(poll),	  SCMP_SYS(accept4),
    SCMP_SYS(recvfrom),	  SCMP_SYS(sendto),    SCMP_SYS(sendmsg), SCMP_SYS(shutdown),
};

/* The display thread (--display): KVM_GET_DIRTY_LOG and KVM_CLEAR_DIRTY_LOG on the VRAM slot,
 * KVM_IRQ_LINE for keys (ioctl), and libvncserver's clients: select, accept (we hand it sockets),
 * reads and writes, socket options on new clients. */
static const int display_calls[] = {
    SCMP_SYS(ioctl),	  SCMP_SYS(poll),	 SCMP_SYS(ppoll),	SCMP_SYS(select),
    SCMP_SYS(pselect6),	  SCMP_SYS(accept4),	 SCMP_SYS(accept),	SCMP_SYS(recvfrom),
    SCMP_SYS(recvmsg),	  SCMP_SYS(sendto),	 SCMP_SYS(sendmsg),	SCMP_SYS(setsockopt),
    SCMP_SYS(getsockopt), SCMP_SYS(getpeername), SCMP_SYS(getsockname), SCMP_SYS(fcntl),
    SCMP_SYS(shutdown),
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

/* The VMM thread builds (and on reboot rebuilds) the VM: it opens /dev/kvm, the images,
 * the tap and sockets, creates memory and threads, and runs the poll loop. */
static const int vmm_calls[] = {
    SCMP_SYS(openat),
    SCMP_SYS(ioctl),
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
    SCMP_SYS(seccomp),	  /* the threads it starts add their own filters */
    SCMP_SYS(umask),	  /* the API socket: created with mode 0600, */
    SCMP_SYS(getsockopt), /* checked by libmicrohttpd, */
    SCMP_SYS(getsockname),
    SCMP_SYS(shutdown), /* whose clients are closed at the end */
    SCMP_SYS(uname),	/* libvncserver asks for the host name */
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

struct call_list {
	const int *calls;
	unsigned n;
};

static struct call_list calls_of(enum seccomp_thread kind)
{
	switch (kind) {
	case SECCOMP_VCPU:
		return (struct call_list){vcpu_calls, ARRAY_SIZE(vcpu_calls)};
	case SECCOMP_VIRTIO:
		return (struct call_list){virtio_calls, ARRAY_SIZE(virtio_calls)};
	case SECCOMP_API:
		return (struct call_list){api_calls, ARRAY_SIZE(api_calls)};
	case SECCOMP_DISPLAY:
		return (struct call_list){display_calls, ARRAY_SIZE(display_calls)};
	case SECCOMP_GATE:
		return (struct call_list){gate_calls, ARRAY_SIZE(gate_calls)};
	default:
		return (struct call_list){vmm_calls, ARRAY_SIZE(vmm_calls)};
	}
}

unsigned seccomp_rule_count(enum seccomp_thread kind)
{
	return (unsigned)ARRAY_SIZE(common_calls) + calls_of(kind).n;
}

static int add_all(scmp_filter_ctx ctx, const int *calls, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);

		/* A call this kernel's tables do not know is simply not allowed. */
		if (rc < 0 && rc != -EDOM && rc != -EFAULT)
			return rc;
	}
	return 0;
}

int seccomp_install(enum seccomp_thread kind, enum seccomp_mode mode)
{
	struct call_list l = calls_of(kind);
	scmp_filter_ctx ctx;
	int rc;

	if (mode == SECCOMP_OFF)
		return 0;
	ctx = seccomp_init(mode == SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	rc = add_all(ctx, common_calls, ARRAY_SIZE(common_calls));
	if (rc == 0)
		rc = add_all(ctx, l.calls, l.n);
	/* Threads inherit the VMM thread's filter (filters stack), and it creates them after
	 * installing its own, so it must also allow what they need. */
	if (rc == 0 && kind == SECCOMP_VMM)
		rc = add_all(ctx, vcpu_calls, ARRAY_SIZE(vcpu_calls));
	if (rc == 0 && kind == SECCOMP_VMM)
		rc = add_all(ctx, virtio_calls, ARRAY_SIZE(virtio_calls));
	if (rc == 0 && kind == SECCOMP_VMM)
		rc = add_all(ctx, api_calls, ARRAY_SIZE(api_calls));
	if (rc == 0 && kind == SECCOMP_VMM)
		rc = add_all(ctx, display_calls, ARRAY_SIZE(display_calls));
	if (rc == 0 && kind == SECCOMP_VMM)
		rc = add_all(ctx, gate_calls, ARRAY_SIZE(gate_calls));
	/* glibc's free() in a thread's own arena reads /proc/sys/vm/overcommit_memory the first
	 * time it shrinks a heap: in the threads that may not open files that open fails instead
	 * of ending the VMM, and glibc carries on without it. */
	if (rc == 0 && kind != SECCOMP_VMM)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
	/* The VMM makes no directories, but libraries the window loads try to (Mesa creates
	 * ~/.cache/mesa_shader_cache the first time): that fails, and Mesa runs without its cache,
	 * instead of ending the VMM. */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(mkdir), 0);
	if (rc == 0)
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
