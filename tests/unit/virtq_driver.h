/* A test "driver" for the split virtqueue: guest RAM in a plain buffer (gpa == offset
 * into it), rings at fixed addresses, helpers to write descriptors and publish chains,
 * and cmocka checks on what the device side (virtq.c) does with them. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/virtq.h"
#include "kvm/guest_mem.h"

#define MiB	  (1ull << 20)
#define MEM_SIZE  (16 * MiB)
#define DESC_GPA  0x10000ull
#define AVAIL_GPA 0x20000ull
#define USED_GPA  0x30000ull
#define IND_GPA	  0x80000ull /* indirect tables */
#define IND2_GPA  0xC0000ull
#define DATA_GPA  0x100000ull

#define F_NEXT	VIRTQ_DESC_F_NEXT
#define F_WRITE VIRTQ_DESC_F_WRITE
#define F_IND	VIRTQ_DESC_F_INDIRECT

struct drv {
	uint8_t *mem;
	struct guest_mem gm;
	struct virtq vq;
	struct virtq_chain *c;
	uint16_t avail_idx; /* the driver's next avail->idx */
};

/* cmocka fixtures: 16 MiB of RAM, a 16-entry queue with INDIRECT_DESC, enabled. */
int setup(void **state);
int teardown(void **state);

void wr16(struct drv *d, uint64_t gpa, uint16_t v);
uint16_t rd16(const struct drv *d, uint64_t gpa);
uint32_t rd32(const struct drv *d, uint64_t gpa);
void put_desc(struct drv *d, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
	      uint16_t flags, uint16_t next);
/* n descriptors at table chained 0 -> 1 -> ... -> n-1, readable, len bytes each. */
void chain_table(struct drv *d, uint64_t table, unsigned n, uint32_t len);
/* Publishes a chain head; avail->idx moves with it. */
void offer(struct drv *d, uint16_t head);
void set_used_event(struct drv *d, uint16_t v);
uint16_t avail_event(const struct drv *d);
/* Sets the queue up again with a new size and features, rings zeroed. */
void requeue(struct drv *d, uint16_t size, bool event_idx, bool indirect);

/* The next pop fails with -EINVAL and leaves the queue broken, and stays so. */
void expect_broken(struct drv *d);
void expect_pop(struct drv *d, uint16_t head, unsigned nout, unsigned nin);
void expect_iov(const struct drv *d, const struct iovec *iov, uint64_t gpa, size_t len);
