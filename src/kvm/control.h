/* Requests to the VMM thread from other threads (the API server). A request is one typed
 * action: the caller queues it, an eventfd wakes the VM loop, and the caller sleeps until the
 * VMM thread, the only one that changes VM state, has answered (Firecracker's design). */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/vm_config.h"

enum ctl_action {
	CTL_PING,
	CTL_INFO,
	CTL_COUNTERS,
	CTL_PAUSE,
	CTL_RESUME,
	CTL_SHUTDOWN,
	CTL_REBOOT,
	CTL_POWER_BUTTON,
	CTL_SCREENSHOT, /* answered by the API thread from the display, never queued */
};

enum ctl_vm_state { CTL_STATE_RUNNING, CTL_STATE_PAUSED, CTL_STATE_SHUTDOWN };

/* One vCPU's exits, counted by its own thread (relaxed atomics, single writer). */
struct vcpu_stats {
	uint64_t io, mmio, intr, other;
	uint64_t unhandled; /* port I/O or MMIO accesses no device claimed */
};

struct ctl_counters {
	unsigned ncpus;
	struct vcpu_stats vcpu[VM_MAX_CPUS];
	uint64_t serial_tx, serial_rx; /* COM1 bytes guest -> host, host -> guest */
	uint64_t debug_port;	       /* bytes written to port 0x80 */
	uint64_t pwrbtn_presses;       /* power button events raised */
	uint64_t pwrbtn_acks;	       /* ... and acknowledged by the guest (PWRBTN_STS cleared) */
};

/* What the VMM thread answers. */
struct ctl_answer {
	int result;    /* 0, or a negative errno (-EALREADY: already in that state; -ESHUTDOWN:
			* the VM has stopped; -ETIMEDOUT: the VMM thread did not answer) */
	char msg[160]; /* why, when result < 0 */
	enum ctl_vm_state state;
	const struct vm_config *cfg; /* the VM's configuration: immutable while the process runs */
	unsigned boots;		     /* 1 for the first boot, one more per reboot */
	pid_t pid;
	struct ctl_counters counters; /* for CTL_INFO and CTL_COUNTERS */
};

enum ctl_stage { CTL_QUEUED, CTL_TAKEN, CTL_DONE };

struct ctl_request {
	enum ctl_action action;
	struct ctl_answer answer;
	enum ctl_stage stage; /* the channel's */
	bool abandoned;	      /* the caller timed out after the VMM thread took it */
	struct ctl_request *next;
};

struct ctl_channel {
	pthread_mutex_t lock;
	pthread_cond_t answered;
	int event_fd; /* readable while requests wait (the VM loop polls it) */
	struct ctl_request *head, **tail;
	bool closed;
};

int ctl_init(struct ctl_channel *ch);
void ctl_destroy(struct ctl_channel *ch);

/* Caller's side: queues a copy of r and sleeps until the VMM thread has answered it, for at
 * most timeout_ms: then -ETIMEDOUT (a request not yet taken is taken back; one the VMM thread
 * is working on is left to it, and freed when answered). -ESHUTDOWN at once when the channel
 * is closed, -ENOMEM. Otherwise 0, with r->answer filled. */
int ctl_call(struct ctl_channel *ch, struct ctl_request *r, int timeout_ms);

/* VMM thread's side: the next request (NULL if none; also resets the eventfd), then its
 * answer. Requests left when the channel closes are still taken and answered. */
struct ctl_request *ctl_take(struct ctl_channel *ch);
void ctl_reply(struct ctl_channel *ch, struct ctl_request *r);
/* No new requests from now on (ctl_call returns -ESHUTDOWN). */
void ctl_close(struct ctl_channel *ch);
