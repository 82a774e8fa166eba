/* The test "driver" side of a split virtqueue (see virtq_driver.h). */
#include "virtq_driver.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "common/bytes.h"

void wr16(struct drv *d, uint64_t gpa, uint16_t v)
{
	put_le16(d->mem + gpa, v);
}

uint16_t rd16(const struct drv *d, uint64_t gpa)
{
	return get_le16(d->mem + gpa);
}

uint32_t rd32(const struct drv *d, uint64_t gpa)
{
	return get_le32(d->mem + gpa);
}

void put_desc(struct drv *d, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
	      uint16_t flags, uint16_t next)
{
	uint8_t *p = d->mem + table + 16ull * i;

	put_le64(p, addr);
	put_le32(p + 8, len);
	put_le16(p + 12, flags);
	put_le16(p + 14, next);
}

/* Publishes a chain head; avail->idx moves with it. */
void offer(struct drv *d, uint16_t head)
{
	wr16(d, AVAIL_GPA + 4 + 2u * (d->avail_idx & (d->vq.size - 1)), head);
	d->avail_idx++;
	wr16(d, AVAIL_GPA + 2, d->avail_idx);
}

void set_used_event(struct drv *d, uint16_t v)
{
	wr16(d, AVAIL_GPA + 4 + 2u * d->vq.size, v);
}

uint16_t avail_event(const struct drv *d)
{
	return rd16(d, USED_GPA + 4 + 8u * d->vq.size);
}

/* Sets the queue up again with a new size and features, rings zeroed. */
void requeue(struct drv *d, uint16_t size, bool event_idx, bool indirect)
{
	memset(d->mem + DESC_GPA, 0, 3 * 0x10000);
	d->vq.size = size;
	d->vq.desc_gpa = DESC_GPA;
	d->vq.avail_gpa = AVAIL_GPA;
	d->vq.used_gpa = USED_GPA;
	d->vq.event_idx = event_idx;
	d->vq.indirect = indirect;
	assert_int_equal(virtq_enable(&d->vq), 0);
	assert_true(d->vq.ready);
	d->avail_idx = 0;
}

int setup(void **state)
{
	struct drv *d = calloc(1, sizeof(*d));
	void *mem;

	if (!d)
		return -1;
	/* Fresh zero pages, touched only where a test writes. */
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	d->c = calloc(1, sizeof(*d->c));
	if (mem == MAP_FAILED || !d->c) {
		if (mem != MAP_FAILED)
			munmap(mem, MEM_SIZE);
		free(d->c);
		free(d);
		return -1;
	}
	d->mem = mem;
	gm_init_buffer(&d->gm, d->mem, MEM_SIZE);
	d->vq.gm = &d->gm;
	requeue(d, 16, false, true);
	*state = d;
	return 0;
}

int teardown(void **state)
{
	struct drv *d = *state;

	free(d->c);
	munmap(d->mem, MEM_SIZE);
	free(d);
	return 0;
}

void expect_broken(struct drv *d)
{
	uint16_t last = d->vq.last_avail, used = rd16(d, USED_GPA + 2);

	assert_int_equal(virtq_pop(&d->vq, d->c), -EINVAL);
	assert_true(d->vq.broken);
	assert_int_equal(d->vq.last_avail, last);
	/* Dead until reset: still failing, nothing available, nothing used. */
	assert_int_equal(virtq_pop(&d->vq, d->c), -EINVAL);
	assert_false(virtq_has_avail(&d->vq));
	assert_int_equal(rd16(d, USED_GPA + 2), used);
}

void expect_pop(struct drv *d, uint16_t head, unsigned nout, unsigned nin)
{
	assert_int_equal(virtq_pop(&d->vq, d->c), 1);
	assert_int_equal(d->c->head, head);
	assert_int_equal(d->c->nout, nout);
	assert_int_equal(d->c->nin, nin);
}

void expect_iov(const struct drv *d, const struct iovec *iov, uint64_t gpa, size_t len)
{
	assert_ptr_equal(iov->iov_base, d->mem + gpa);
	assert_int_equal(iov->iov_len, len);
}

void chain_table(struct drv *d, uint64_t table, unsigned n, uint32_t len)
{
	for (unsigned i = 0; i < n; i++)
		put_desc(d, table, i, DATA_GPA + i, len, i + 1 < n ? F_NEXT : 0, (uint16_t)(i + 1));
}
