/* The virtqueue (virtio 1.2, split ring): the only code that follows guest-supplied
 * descriptors. Every address and length goes through gm_ptr; a malformed chain fails
 * that request and marks the queue broken (the device then sets DEVICE_NEEDS_RESET). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/iov.h"
#include "kvm/guest_mem.h"

#define VIRTQ_MAX_SIZE	1024 /* largest queue size a device offers */
#define VIRTQ_MAX_CHAIN 1024 /* most buffer descriptors in one request (direct + indirect) */

/* Feature bits the virtqueue itself implements. */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32

/* Ring flags (virtio 1.2, 2.7.5-2.7.8). */
#define VIRTQ_DESC_F_NEXT	   1 /* the chain continues at `next` */
#define VIRTQ_DESC_F_WRITE	   2 /* device-writable buffer (else device-readable) */
#define VIRTQ_DESC_F_INDIRECT	   4 /* the buffer is a table of descriptors */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1 /* driver: no used buffer notifications please */
#define VIRTQ_USED_F_NO_NOTIFY	   1 /* device: no available buffer notifications please */

struct virtq {
	const struct guest_mem *gm;
	uint16_t size;	/* number of entries (power of two, <= VIRTQ_MAX_SIZE) */
	bool ready;	/* the driver enabled the queue */
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;	/* VIRTIO_F_INDIRECT_DESC negotiated */
	bool broken;	/* a malformed chain was seen: no more processing until reset */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t last_avail;	 /* next avail ring entry to take */
	uint16_t used_idx;	 /* our copy of used->idx */
	uint16_t signalled_used; /* used_idx at the last interrupt (EVENT_IDX) */
	bool signalled_used_valid;
	bool no_notify;	      /* the device asked for no kicks (virtq_set_notify) */
	uint16_t msix_vector; /* set by the transport */
};

/* One request: the device-readable segments, then the device-writable ones, as host
 * pointers already checked against guest RAM. */
struct virtq_chain {
	uint16_t head;
	unsigned nout, nin;
	uint64_t out_len, in_len; /* total bytes of each kind */
	struct iovec out[VIRTQ_MAX_CHAIN];
	struct iovec in[VIRTQ_MAX_CHAIN];
};

/* Resets to the state after device reset: keeps gm, zeroes everything else (the
 * transport sets size and msix_vector again). */
void virtq_reset(struct virtq *vq);
/* Validates the ring addresses for size when the driver enables the queue: the three
 * areas must lie in guest RAM and be aligned as the spec requires. Returns 0 or -EINVAL. */
int virtq_enable(struct virtq *vq);
/* Takes the next available chain. Returns 1 with c filled, 0 when the ring is empty (or
 * the queue is not ready), or -EINVAL for a malformed chain (descriptor loop, index out
 * of range, address outside RAM, a readable segment after a writable one, nested
 * indirect, indirect with NEXT or not negotiated, over-long chain, avail idx moving by
 * more than size): the queue is then marked broken, last_avail stays at the bad chain
 * and every later call returns -EINVAL until virtq_reset/virtq_enable. c is undefined
 * after an error. Zero-length descriptors are accepted but give no segment. */
int virtq_pop(struct virtq *vq, struct virtq_chain *c);
/* Returns a finished chain (head as given by virtq_pop) to the driver with `written`
 * bytes written into its device-writable segments; the data must be written before.
 * Requests taken before the queue broke can still be returned; no-op if not ready. */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t written);
/* Whether the driver wants an interrupt now for what was pushed since the last one
 * (VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX). Call after pushing. */
bool virtq_should_notify(struct virtq *vq);
/* Tells the driver whether we want kicks (no-notify flag, or avail_event with
 * EVENT_IDX: while enabled, each pop moves avail_event to what we have taken; while
 * disabled it is left behind). Re-check the ring after enabling to close the race. */
void virtq_set_notify(struct virtq *vq, bool enable);
/* True if the driver has made buffers available that we have not taken yet. */
bool virtq_has_avail(struct virtq *vq);
