/* The split virtqueue (virtio 1.2, 2.7), device side.
 *
 * The rings live in guest memory that running vCPUs write at the same time, so every
 * value is read from the guest once, into a local copy, and only that copy is checked
 * and used. Ring indices are accessed with atomics: an acquire load of avail->idx
 * before reading the entries it publishes, a release store of used->idx after writing
 * the used elements, and full fences where a store of ours must be visible before a
 * load of the driver's (notification suppression, both ways).
 *
 * A malformed chain marks the queue broken: virtq_pop then fails until the queue is
 * reset, and last_avail stays at the head of the bad chain (nothing after it is taken).
 * The caller is expected to set DEVICE_NEEDS_RESET, as the spec asks of a device that
 * cannot go on. */
#include "virtio/virtq.h"

#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "common/log.h"

/* Ring fields are little-endian; the atomics below access them in host order. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtq assumes a little-endian host");

#define DESC_SIZE 16u

/* Offsets inside the available ring (driver area) and used ring (device area). */
#define AVAIL_FLAGS	    0u
#define AVAIL_IDX	    2u
#define AVAIL_RING(i)	    (4u + 2u * (uint32_t)(i))
#define USED_FLAGS	    0u
#define USED_IDX	    2u
#define USED_ELEM(i)	    (4u + 8u * (uint32_t)(i))
#define AVAIL_AREA(size)    (6u + 2u * (uint32_t)(size))
#define USED_AREA(size)	    (6u + 8u * (uint32_t)(size))
#define DESC_AREA(size)	    (DESC_SIZE * (uint32_t)(size))
#define USED_EVENT_OFF(sz)  AVAIL_RING(sz) /* after avail->ring[size] */
#define AVAIL_EVENT_OFF(sz) USED_ELEM(sz)  /* after used->ring[size] */

/* A descriptor as copied out of guest memory: the only copy that is looked at. */
struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* State of one chain walk. */
struct walk {
	struct virtq_chain *c;
	unsigned ndesc;	 /* buffer descriptors seen, direct and indirect */
	bool seen_write; /* a device-writable descriptor came already */
};

/* Host pointer to a 16-bit ring field. The areas were checked by virtq_enable; this
 * only fails if the guest memory layout changed since, which we treat as breakage. */
static uint16_t *field16(const struct virtq *vq, uint64_t area, uint32_t off)
{
	return gm_ptr(vq->gm, area + off, sizeof(uint16_t));
}

static bool load16(const struct virtq *vq, uint64_t area, uint32_t off, int order, uint16_t *val)
{
	const uint16_t *p = field16(vq, area, off);

	if (!p)
		return false;
	*val = __atomic_load_n(p, order);
	return true;
}

static void store16(const struct virtq *vq, uint64_t area, uint32_t off, uint16_t val, int order)
{
	uint16_t *p = field16(vq, area, off);

	if (p)
		__atomic_store_n(p, val, order);
}

static int vq_fail(struct virtq *vq, const char *why, uint64_t value)
{
	if (!vq->broken)
		pr_warn_limited("virtqueue: %s (0x%llx) at avail entry %u; queue marked broken",
				why, (unsigned long long)value, vq->last_avail);
	vq->broken = true;
	return -EINVAL;
}

void virtq_reset(struct virtq *vq)
{
	const struct guest_mem *gm = vq->gm;

	memset(vq, 0, sizeof(*vq));
	vq->gm = gm;
}

static bool area_ok(const struct guest_mem *gm, uint64_t gpa, uint32_t len, uint64_t align)
{
	const void *p;

	if (gpa & (align - 1))
		return false;
	p = gm_ptr(gm, gpa, len);
	/* The host side must be aligned too, for the atomic accesses. */
	return p && ((uintptr_t)p & (align - 1)) == 0;
}

int virtq_enable(struct virtq *vq)
{
	uint16_t size = vq->size;

	vq->ready = false;
	if (!vq->gm || size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1)))
		return -EINVAL;
	if (!area_ok(vq->gm, vq->desc_gpa, DESC_AREA(size), 16) ||
	    !area_ok(vq->gm, vq->avail_gpa, AVAIL_AREA(size), 2) ||
	    !area_ok(vq->gm, vq->used_gpa, USED_AREA(size), 4))
		return -EINVAL;
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_used_valid = false;
	vq->broken = false;
	vq->no_notify = false;
	vq->ready = true;
	return 0;
}

static bool read_desc(const struct guest_mem *gm, uint64_t table, uint32_t i, struct desc *d)
{
	uint8_t raw[DESC_SIZE];

	if (gm_read(gm, table + (uint64_t)i * DESC_SIZE, raw, sizeof(raw)) < 0)
		return false;
	d->addr = get_le64(raw);
	d->len = get_le32(raw + 8);
	d->flags = get_le16(raw + 12);
	d->next = get_le16(raw + 14);
	return true;
}

/* Adds one buffer descriptor (not an indirect one) to the chain. */
static int add_buffer(struct virtq *vq, struct walk *w, const struct desc *d)
{
	struct virtq_chain *c = w->c;
	bool writable = d->flags & VIRTQ_DESC_F_WRITE;
	void *p;

	if (++w->ndesc > VIRTQ_MAX_CHAIN)
		return vq_fail(vq, "chain longer than the limit", w->ndesc);
	if (!writable && w->seen_write)
		return vq_fail(vq, "device-readable descriptor after a writable one", d->addr);
	w->seen_write |= writable;
	if (d->len == 0)
		return 0; /* nothing to transfer: not a segment */
	p = gm_ptr(vq->gm, d->addr, d->len);
	if (!p)
		return vq_fail(vq, "buffer outside guest RAM", d->addr);
	if (writable) {
		c->in[c->nin++] = (struct iovec){.iov_base = p, .iov_len = d->len};
		c->in_len += d->len;
	} else {
		c->out[c->nout++] = (struct iovec){.iov_base = p, .iov_len = d->len};
		c->out_len += d->len;
	}
	return 0;
}

/* Follows a chain through one table of n descriptors starting at index i. A chain that
 * visits more than n descriptors of the table has a loop. */
static int walk_table(struct virtq *vq, struct walk *w, uint64_t table, uint32_t n, uint32_t i,
		      bool in_indirect);

static int walk_indirect(struct virtq *vq, struct walk *w, const struct desc *d)
{
	if (!vq->indirect)
		return vq_fail(vq, "indirect descriptor not negotiated", d->addr);
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return vq_fail(vq, "indirect descriptor with NEXT", d->addr);
	if (d->len == 0 || d->len % DESC_SIZE)
		return vq_fail(vq, "indirect table length", d->len);
	if (!gm_ptr(vq->gm, d->addr, d->len))
		return vq_fail(vq, "indirect table outside guest RAM", d->addr);
	return walk_table(vq, w, d->addr, d->len / DESC_SIZE, 0, true);
}

static int walk_table(struct virtq *vq, struct walk *w, uint64_t table, uint32_t n, uint32_t i,
		      bool in_indirect)
{
	struct desc d;

	for (uint32_t visited = 1;; visited++) {
		if (i >= n)
			return vq_fail(vq, "descriptor index out of range", i);
		if (visited > n)
			return vq_fail(vq, "descriptor loop", i);
		if (!read_desc(vq->gm, table, i, &d))
			return vq_fail(vq, "descriptor table outside guest RAM", table);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (in_indirect)
				return vq_fail(vq, "indirect descriptor in an indirect table", i);
			/* It ends the chain: it may not have NEXT. */
			return walk_indirect(vq, w, &d);
		}
		if (add_buffer(vq, w, &d) < 0)
			return -EINVAL;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

/* How many entries the driver has published beyond last_avail; false if it cannot be
 * read or is more than the ring holds (the queue is then broken). */
static bool avail_pending(struct virtq *vq, uint16_t *pending)
{
	uint16_t idx;

	if (!load16(vq, vq->avail_gpa, AVAIL_IDX, __ATOMIC_ACQUIRE, &idx)) {
		vq_fail(vq, "available ring outside guest RAM", vq->avail_gpa);
		return false;
	}
	*pending = (uint16_t)(idx - vq->last_avail);
	if (*pending > vq->size) {
		vq_fail(vq, "available idx moved by more than the queue size", idx);
		return false;
	}
	return true;
}

/* With EVENT_IDX, ask for a kick as soon as the driver publishes past what we took. The
 * fence orders this store before our next load of avail->idx. */
static void update_avail_event(struct virtq *vq, uint16_t val)
{
	store16(vq, vq->used_gpa, AVAIL_EVENT_OFF(vq->size), val, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int virtq_pop(struct virtq *vq, struct virtq_chain *c)
{
	struct walk w = {.c = c};
	uint16_t pending, head;
	int rc;

	if (vq->broken)
		return -EINVAL;
	if (!vq->ready)
		return 0;
	if (!avail_pending(vq, &pending))
		return -EINVAL;
	if (pending == 0)
		return 0;
	/* The acquire load of avail->idx orders this read after the driver's write. */
	if (!load16(vq, vq->avail_gpa, AVAIL_RING(vq->last_avail & (vq->size - 1)),
		    __ATOMIC_RELAXED, &head))
		return vq_fail(vq, "available ring outside guest RAM", vq->avail_gpa);
	c->head = head;
	c->nout = c->nin = 0;
	c->out_len = c->in_len = 0;
	if (head >= vq->size)
		return vq_fail(vq, "head index out of range", head);
	rc = walk_table(vq, &w, vq->desc_gpa, vq->size, head, false);
	if (rc < 0)
		return rc;
	vq->last_avail++;
	if (vq->event_idx && !vq->no_notify)
		update_avail_event(vq, vq->last_avail);
	return 1;
}

void virtq_push(struct virtq *vq, uint16_t head, uint32_t written)
{
	uint8_t elem[8];

	if (!vq->ready)
		return;
	put_le32(elem, head);
	put_le32(elem + 4, written);
	if (gm_write(vq->gm, vq->used_gpa + USED_ELEM(vq->used_idx & (vq->size - 1)), elem,
		     sizeof(elem)) < 0) {
		vq_fail(vq, "used ring outside guest RAM", vq->used_gpa);
		return;
	}
	vq->used_idx++;
	/* Release: the element (and the data written into the buffers) before the idx. */
	store16(vq, vq->used_gpa, USED_IDX, vq->used_idx, __ATOMIC_RELEASE);
}

/* The driver wants an interrupt if used idx moved past used_event since the last one:
 * new_idx - used_event - 1 < new_idx - old, all modulo 2^16 (spec 2.7.10). */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool virtq_should_notify(struct virtq *vq)
{
	uint16_t flags, event, old;
	bool valid;

	if (!vq->ready)
		return false;
	/* Our used->idx store must be visible before we read the driver's suppression
	 * fields, or we could miss the interrupt it asks for after seeing the old idx. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx) {
		if (!load16(vq, vq->avail_gpa, AVAIL_FLAGS, __ATOMIC_RELAXED, &flags))
			return false;
		return !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
	}
	if (!load16(vq, vq->avail_gpa, USED_EVENT_OFF(vq->size), __ATOMIC_RELAXED, &event))
		return false;
	old = vq->signalled_used;
	valid = vq->signalled_used_valid;
	vq->signalled_used = vq->used_idx;
	vq->signalled_used_valid = true;
	return !valid || need_event(event, vq->used_idx, old);
}

void virtq_set_notify(struct virtq *vq, bool enable)
{
	uint16_t idx;

	vq->no_notify = !enable;
	if (!vq->ready)
		return;
	if (vq->event_idx) {
		/* used->flags stays 0; a stale avail_event is what suppresses kicks. */
		if (enable && load16(vq, vq->avail_gpa, AVAIL_IDX, __ATOMIC_RELAXED, &idx))
			update_avail_event(vq, idx);
		return;
	}
	store16(vq, vq->used_gpa, USED_FLAGS, enable ? 0 : VIRTQ_USED_F_NO_NOTIFY,
		__ATOMIC_RELAXED);
	if (enable)
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

bool virtq_has_avail(struct virtq *vq)
{
	uint16_t idx;

	if (!vq->ready || vq->broken)
		return false;
	if (!load16(vq, vq->avail_gpa, AVAIL_IDX, __ATOMIC_ACQUIRE, &idx))
		return false;
	return idx != vq->last_avail;
}
