/* The split virtqueue against a test driver (virtq_driver.c): enabling, well-formed
 * chains (direct, indirect, mixed), index wrap-around, both notification suppression
 * schemes, the copy helpers, reset, and RAM in two regions. The hostile tables are in
 * test_virtq_hostile.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/bytes.h"
#include "common/log.h"
#include "virtq_driver.h"

/* --- enabling ---------------------------------------------------------------- */

static void expect_enable(struct drv *d, uint16_t size, uint64_t desc, uint64_t avail,
			  uint64_t used, int rc)
{
	d->vq.size = size;
	d->vq.desc_gpa = desc;
	d->vq.avail_gpa = avail;
	d->vq.used_gpa = used;
	assert_int_equal(virtq_enable(&d->vq), rc);
	assert_int_equal(d->vq.ready, rc == 0);
}

static void test_enable(void **state)
{
	struct drv *d = *state;
	const uint64_t end = MEM_SIZE;

	expect_enable(d, 0, DESC_GPA, AVAIL_GPA, USED_GPA, -EINVAL);
	expect_enable(d, 3, DESC_GPA, AVAIL_GPA, USED_GPA, -EINVAL);
	expect_enable(d, 48, DESC_GPA, AVAIL_GPA, USED_GPA, -EINVAL);
	expect_enable(d, 2048, DESC_GPA, AVAIL_GPA, USED_GPA, -EINVAL);
	expect_enable(d, 1, DESC_GPA, AVAIL_GPA, USED_GPA, 0);
	expect_enable(d, VIRTQ_MAX_SIZE, DESC_GPA, AVAIL_GPA, USED_GPA, 0);
	/* Alignment: 16, 2, 4. */
	expect_enable(d, 16, DESC_GPA + 8, AVAIL_GPA, USED_GPA, -EINVAL);
	expect_enable(d, 16, DESC_GPA, AVAIL_GPA + 1, USED_GPA, -EINVAL);
	expect_enable(d, 16, DESC_GPA, AVAIL_GPA, USED_GPA + 2, -EINVAL);
	expect_enable(d, 16, DESC_GPA, AVAIL_GPA + 2, USED_GPA + 4, 0);
	/* Each area exactly at the end of RAM, then one step too far. */
	expect_enable(d, 16, end - 256, AVAIL_GPA, USED_GPA, 0);
	expect_enable(d, 16, end - 240, AVAIL_GPA, USED_GPA, -EINVAL);
	expect_enable(d, 16, DESC_GPA, end - 38, USED_GPA, 0);
	expect_enable(d, 16, DESC_GPA, end - 36, USED_GPA, -EINVAL);
	expect_enable(d, 16, DESC_GPA, AVAIL_GPA, end - 136, 0);
	expect_enable(d, 16, DESC_GPA, AVAIL_GPA, end - 132, -EINVAL);
	expect_enable(d, 16, DESC_GPA, AVAIL_GPA, end, -EINVAL);
	expect_enable(d, 16, UINT64_MAX - 15, AVAIL_GPA, USED_GPA, -EINVAL);
	expect_enable(d, 16, DESC_GPA, UINT64_MAX - 1, USED_GPA, -EINVAL);
	/* A queue without memory. */
	d->vq.gm = NULL;
	expect_enable(d, 16, DESC_GPA, AVAIL_GPA, USED_GPA, -EINVAL);
	d->vq.gm = &d->gm;
	/* Rings near the very end of RAM work (the used ring ends 2 bytes before it). */
	d->vq.event_idx = true;
	expect_enable(d, 16, end - 512, end - 256, end - 136, 0);
	d->avail_idx = 0;
	put_desc(d, end - 512, 0, DATA_GPA, 8, 0, 0);
	put_le16(d->mem + end - 256 + 4, 0);
	put_le16(d->mem + end - 256 + 2, 1);
	expect_pop(d, 0, 1, 0);
	assert_int_equal(get_le16(d->mem + end - 4), 1); /* avail_event */
}

/* --- well-formed chains -------------------------------------------------------- */

static void test_simple_read(void **state)
{
	struct drv *d = *state;

	assert_false(virtq_has_avail(&d->vq));
	assert_int_equal(virtq_pop(&d->vq, d->c), 0);
	put_desc(d, DESC_GPA, 5, DATA_GPA, 100, 0, 0);
	offer(d, 5);
	assert_true(virtq_has_avail(&d->vq));
	expect_pop(d, 5, 1, 0);
	expect_iov(d, &d->c->out[0], DATA_GPA, 100);
	assert_int_equal(d->c->out_len, 100);
	assert_int_equal(d->c->in_len, 0);
	assert_false(virtq_has_avail(&d->vq));
	assert_int_equal(virtq_pop(&d->vq, d->c), 0);

	virtq_push(&d->vq, 5, 0);
	assert_int_equal(rd16(d, USED_GPA + 2), 1);
	assert_int_equal(rd32(d, USED_GPA + 4), 5);
	assert_int_equal(rd32(d, USED_GPA + 8), 0);
	assert_false(d->vq.broken);
}

static void test_read_write_chain(void **state)
{
	struct drv *d = *state;

	/* 3 -> 7 -> 1 -> 5 -> 9: readable 12, an empty readable (address ignored), writable
	 * 512, an empty writable, writable 1. */
	put_desc(d, DESC_GPA, 3, DATA_GPA, 12, F_NEXT, 7);
	put_desc(d, DESC_GPA, 7, UINT64_MAX, 0, F_NEXT, 1);
	put_desc(d, DESC_GPA, 1, DATA_GPA + 0x1000, 512, F_NEXT | F_WRITE, 5);
	put_desc(d, DESC_GPA, 5, MEM_SIZE, 0, F_NEXT | F_WRITE, 9);
	put_desc(d, DESC_GPA, 9, DATA_GPA + 0x2000, 1, F_WRITE, 0);
	offer(d, 3);
	/* A write-only chain and a chain of one empty descriptor. */
	put_desc(d, DESC_GPA, 0, DATA_GPA + 0x3000, 4096, F_WRITE, 0);
	offer(d, 0);
	put_desc(d, DESC_GPA, 2, 0, 0, 0, 0);
	offer(d, 2);

	expect_pop(d, 3, 1, 2);
	expect_iov(d, &d->c->out[0], DATA_GPA, 12);
	expect_iov(d, &d->c->in[0], DATA_GPA + 0x1000, 512);
	expect_iov(d, &d->c->in[1], DATA_GPA + 0x2000, 1);
	assert_int_equal(d->c->out_len, 12);
	assert_int_equal(d->c->in_len, 513);
	expect_pop(d, 0, 0, 1);
	assert_int_equal(d->c->in_len, 4096);
	expect_pop(d, 2, 0, 0);
	assert_int_equal(virtq_pop(&d->vq, d->c), 0);

	virtq_push(&d->vq, 0, 4096);
	virtq_push(&d->vq, 3, 513);
	assert_int_equal(rd16(d, USED_GPA + 2), 2);
	assert_int_equal(rd32(d, USED_GPA + 4), 0);
	assert_int_equal(rd32(d, USED_GPA + 8), 4096);
	assert_int_equal(rd32(d, USED_GPA + 12), 3);
	assert_int_equal(rd32(d, USED_GPA + 16), 513);
}

static void test_full_table_chain(void **state)
{
	struct drv *d = *state;

	/* Every descriptor of the table, in reverse order: the longest legal direct chain. */
	for (unsigned i = 0; i < 16; i++)
		put_desc(d, DESC_GPA, i, DATA_GPA + 0x100 * i, 0x10, i ? F_NEXT : 0,
			 (uint16_t)(i - 1));
	offer(d, 15);
	expect_pop(d, 15, 16, 0);
	expect_iov(d, &d->c->out[15], DATA_GPA, 0x10);
	assert_int_equal(d->c->out_len, 0x100);
}

static void test_indirect(void **state)
{
	struct drv *d = *state;

	/* A direct readable descriptor, then an indirect one (its WRITE flag is ignored)
	 * whose table chains 0 -> 2 -> 1 -> 3: readable, readable, writable, writable. */
	put_desc(d, DESC_GPA, 4, DATA_GPA, 16, F_NEXT, 6);
	put_desc(d, DESC_GPA, 6, IND_GPA, 4 * 16, F_IND | F_WRITE, 0);
	put_desc(d, IND_GPA, 0, DATA_GPA + 0x100, 8, F_NEXT, 2);
	put_desc(d, IND_GPA, 2, DATA_GPA + 0x200, 24, F_NEXT, 1);
	put_desc(d, IND_GPA, 1, DATA_GPA + 0x300, 100, F_NEXT | F_WRITE, 3);
	put_desc(d, IND_GPA, 3, DATA_GPA + 0x400, 4, F_WRITE, 0);
	offer(d, 4);
	/* An indirect descriptor alone. */
	put_desc(d, DESC_GPA, 0, IND2_GPA, 16, F_IND, 0);
	put_desc(d, IND2_GPA, 0, DATA_GPA + 0x500, 7, F_WRITE, 0);
	offer(d, 0);

	expect_pop(d, 4, 3, 2);
	expect_iov(d, &d->c->out[0], DATA_GPA, 16);
	expect_iov(d, &d->c->out[1], DATA_GPA + 0x100, 8);
	expect_iov(d, &d->c->out[2], DATA_GPA + 0x200, 24);
	expect_iov(d, &d->c->in[0], DATA_GPA + 0x300, 100);
	expect_iov(d, &d->c->in[1], DATA_GPA + 0x400, 4);
	assert_int_equal(d->c->out_len, 48);
	assert_int_equal(d->c->in_len, 104);
	expect_pop(d, 0, 0, 1);
	expect_iov(d, &d->c->in[0], DATA_GPA + 0x500, 7);
}

static void test_indirect_max_chain(void **state)
{
	struct drv *d = *state;

	/* Exactly VIRTQ_MAX_CHAIN segments through one indirect table. */
	chain_table(d, IND_GPA, VIRTQ_MAX_CHAIN, 1);
	put_desc(d, DESC_GPA, 0, IND_GPA, VIRTQ_MAX_CHAIN * 16, F_IND, 0);
	offer(d, 0);
	expect_pop(d, 0, VIRTQ_MAX_CHAIN, 0);
	assert_int_equal(d->c->out_len, VIRTQ_MAX_CHAIN);
	expect_iov(d, &d->c->out[VIRTQ_MAX_CHAIN - 1], DATA_GPA + VIRTQ_MAX_CHAIN - 1, 1);
}

static void test_wrap(void **state)
{
	struct drv *d = *state;
	const uint16_t start = 65533;

	/* Both indices just below 2^16: ring slots 13, 14, 15, 0, 1. */
	d->vq.last_avail = d->vq.used_idx = start;
	d->avail_idx = start;
	wr16(d, AVAIL_GPA + 2, start);
	wr16(d, USED_GPA + 2, start);
	for (uint16_t i = 0; i < 5; i++) {
		put_desc(d, DESC_GPA, i, DATA_GPA + 0x1000 * i, 32, F_WRITE, 0);
		offer(d, i);
	}
	assert_int_equal(rd16(d, AVAIL_GPA + 2), 2);
	assert_int_equal(rd16(d, AVAIL_GPA + 4 + 2 * 15), 2);
	assert_int_equal(rd16(d, AVAIL_GPA + 4 + 2 * 0), 3);
	for (uint16_t i = 0; i < 5; i++) {
		expect_pop(d, i, 0, 1);
		expect_iov(d, &d->c->in[0], DATA_GPA + 0x1000 * i, 32);
		virtq_push(&d->vq, i, i + 1u);
	}
	assert_int_equal(virtq_pop(&d->vq, d->c), 0);
	assert_int_equal(d->vq.last_avail, 2);
	assert_int_equal(d->vq.used_idx, 2);
	assert_int_equal(rd16(d, USED_GPA + 2), 2);
	for (unsigned i = 0; i < 5; i++) {
		unsigned slot = (start + i) % 16;

		assert_int_equal(rd32(d, USED_GPA + 4 + 8 * slot), i);
		assert_int_equal(rd32(d, USED_GPA + 8 + 8 * slot), i + 1);
	}
	/* A full ring across the wrap is still legal: exactly size pending. */
	for (uint16_t i = 0; i < 16; i++)
		offer(d, 0);
	for (unsigned i = 0; i < 16; i++)
		expect_pop(d, 0, 0, 1);
	assert_int_equal(virtq_pop(&d->vq, d->c), 0);
}

/* --- notifications ------------------------------------------------------------- */

static void push_n(struct drv *d, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		virtq_push(&d->vq, 0, 0);
}

static void test_no_interrupt(void **state)
{
	struct drv *d = *state;

	push_n(d, 1);
	assert_true(virtq_should_notify(&d->vq));
	wr16(d, AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	push_n(d, 1);
	assert_false(virtq_should_notify(&d->vq));
	/* Without EVENT_IDX used_event means nothing. */
	set_used_event(d, 2);
	push_n(d, 1);
	assert_false(virtq_should_notify(&d->vq));
	wr16(d, AVAIL_GPA, 0);
	push_n(d, 1);
	assert_true(virtq_should_notify(&d->vq));
}

static void test_event_idx(void **state)
{
	struct drv *d = *state;

	requeue(d, 16, true, true);
	/* The first interrupt is always sent, whatever used_event says. */
	set_used_event(d, 100);
	push_n(d, 1);
	assert_true(virtq_should_notify(&d->vq));
	/* used_event 1: the driver wants one when used idx passes 1 -> 2. */
	set_used_event(d, 1);
	push_n(d, 1);
	assert_true(virtq_should_notify(&d->vq));
	/* Nothing new since: no interrupt. */
	assert_false(virtq_should_notify(&d->vq));
	/* used_event 5: not at 3 or 4 (the NO_INTERRUPT flag is ignored), yes at 6. */
	wr16(d, AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	set_used_event(d, 5);
	push_n(d, 1);
	assert_false(virtq_should_notify(&d->vq));
	push_n(d, 2);
	assert_false(virtq_should_notify(&d->vq));
	push_n(d, 1);
	assert_true(virtq_should_notify(&d->vq));
	assert_int_equal(d->vq.used_idx, 6);
	/* A batch that crosses used_event (7) notifies once; one ending before it doesn't. */
	set_used_event(d, 7);
	push_n(d, 3);
	assert_true(virtq_should_notify(&d->vq));
	set_used_event(d, 20);
	push_n(d, 3);
	assert_false(virtq_should_notify(&d->vq));
	/* used_event already behind the last interrupt: none until it comes round again. */
	set_used_event(d, 8);
	push_n(d, 1);
	assert_false(virtq_should_notify(&d->vq));
	/* Across the 16-bit wrap: used idx 65534 -> 0 passes used_event 65535. */
	d->vq.used_idx = d->vq.signalled_used = 65534;
	set_used_event(d, 65535);
	push_n(d, 2);
	assert_int_equal(rd16(d, USED_GPA + 2), 0);
	assert_true(virtq_should_notify(&d->vq));
	set_used_event(d, 0);
	push_n(d, 1);
	assert_true(virtq_should_notify(&d->vq));
	assert_int_equal(d->vq.signalled_used, 1);
}

static void test_set_notify(void **state)
{
	struct drv *d = *state;

	virtq_set_notify(&d->vq, false);
	assert_int_equal(rd16(d, USED_GPA), VIRTQ_USED_F_NO_NOTIFY);
	virtq_set_notify(&d->vq, true);
	assert_int_equal(rd16(d, USED_GPA), 0);

	requeue(d, 16, true, true);
	put_desc(d, DESC_GPA, 0, DATA_GPA, 8, 0, 0);
	offer(d, 0);
	offer(d, 0);
	offer(d, 0);
	/* Enabling asks for a kick at the next new buffer; flags stay 0 with EVENT_IDX. */
	virtq_set_notify(&d->vq, true);
	assert_int_equal(avail_event(d), 3);
	virtq_set_notify(&d->vq, false);
	assert_int_equal(rd16(d, USED_GPA), 0);
	/* Disabled: popping leaves avail_event stale. */
	expect_pop(d, 0, 1, 0);
	assert_int_equal(avail_event(d), 3);
	/* Enabled: each pop moves it to what we have taken. */
	virtq_set_notify(&d->vq, true);
	wr16(d, USED_GPA + 4 + 8 * 16, 0);
	expect_pop(d, 0, 1, 0);
	assert_int_equal(avail_event(d), 2);
	expect_pop(d, 0, 1, 0);
	assert_int_equal(avail_event(d), 3);
	assert_false(virtq_has_avail(&d->vq));
}

/* --- helpers and state ---------------------------------------------------------- */

static void test_iov(void **state)
{
	uint8_t a[3] = {1, 2, 3}, b[1] = {4}, c[4] = {5, 6, 7, 8}, out[16];
	const struct iovec iov[] = {{a, 3}, {b, 1}, {NULL, 0}, {c, 4}};
	const uint8_t in[] = {0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8};

	(void)state;
	memset(out, 0, sizeof(out));
	assert_int_equal(iov_to_buf(iov, 4, 0, out, sizeof(out)), 8);
	assert_memory_equal(out, ((uint8_t[]){1, 2, 3, 4, 5, 6, 7, 8}), 8);
	assert_int_equal(iov_to_buf(iov, 4, 2, out, 3), 3);
	assert_memory_equal(out, ((uint8_t[]){3, 4, 5}), 3);
	assert_int_equal(iov_to_buf(iov, 4, 4, out, 16), 4);
	assert_memory_equal(out, c, 4);
	assert_int_equal(iov_to_buf(iov, 4, 8, out, 16), 0);
	assert_int_equal(iov_to_buf(iov, 4, 100, out, 16), 0);
	assert_int_equal(iov_to_buf(iov, 0, 0, out, 16), 0);
	assert_int_equal(iov_to_buf(iov, 4, 0, out, 0), 0);

	assert_int_equal(iov_from_buf(iov, 4, 1, in, sizeof(in)), 7);
	assert_memory_equal(a, ((uint8_t[]){1, 0xA0, 0xA1}), 3);
	assert_int_equal(b[0], 0xA2);
	assert_memory_equal(c, ((uint8_t[]){0xA3, 0xA4, 0xA5, 0xA6}), 4);
	assert_int_equal(iov_from_buf(iov, 4, 3, in, 2), 2);
	assert_int_equal(b[0], 0xA0);
	assert_int_equal(c[0], 0xA1);
	assert_int_equal(c[1], 0xA4);
	assert_int_equal(iov_from_buf(iov, 4, 9, in, 2), 0);
}

static void test_reset(void **state)
{
	struct drv *d = *state;

	put_desc(d, DESC_GPA, 0, MEM_SIZE, 8, 0, 0);
	offer(d, 0);
	expect_broken(d);
	virtq_reset(&d->vq);
	assert_ptr_equal(d->vq.gm, &d->gm);
	assert_false(d->vq.ready);
	assert_false(d->vq.broken);
	assert_int_equal(d->vq.size, 0);
	/* A queue that is not ready does nothing. */
	assert_int_equal(virtq_pop(&d->vq, d->c), 0);
	assert_false(virtq_has_avail(&d->vq));
	virtq_push(&d->vq, 0, 1);
	assert_false(virtq_should_notify(&d->vq));
	virtq_set_notify(&d->vq, false);
	assert_int_equal(rd16(d, USED_GPA + 2), 0);
	assert_int_equal(rd16(d, USED_GPA), 0);
	/* Enabled again (the driver rewrote its rings), it works. */
	requeue(d, 16, false, true);
	put_desc(d, DESC_GPA, 0, DATA_GPA, 8, 0, 0);
	offer(d, 0);
	expect_pop(d, 0, 1, 0);
}

/* RAM in two regions with a gap between them that is contiguous on the host side: a
 * buffer across the gap must not be followed into the host memory behind it. */
static void test_region_gap(void **state)
{
	struct drv *d = *state;
	struct guest_mem *gm = &d->gm;

	gm->nregions = 2;
	gm->regions[0] = (struct gm_region){.gpa = 0, .size = 8 * MiB, .offset = 0};
	gm->regions[1] = (struct gm_region){.gpa = 32 * MiB, .size = 8 * MiB, .offset = 8 * MiB};
	requeue(d, 16, false, true);
	put_desc(d, DESC_GPA, 0, 32 * MiB + 0x100, 64, F_NEXT, 1);
	put_desc(d, DESC_GPA, 1, 8 * MiB - 64, 64, F_WRITE, 0);
	offer(d, 0);
	expect_pop(d, 0, 1, 1);
	assert_ptr_equal(d->c->out[0].iov_base, d->mem + 8 * MiB + 0x100);
	expect_iov(d, &d->c->in[0], 8 * MiB - 64, 64);

	put_desc(d, DESC_GPA, 2, 8 * MiB - 8, 16, 0, 0);
	offer(d, 2);
	expect_broken(d);
	requeue(d, 16, false, true);
	put_desc(d, DESC_GPA, 2, 40 * MiB - 8, 16, 0, 0);
	offer(d, 2);
	expect_broken(d);
	requeue(d, 16, false, true);
	put_desc(d, DESC_GPA, 2, 16 * MiB, 16, 0, 0); /* inside the gap */
	offer(d, 2);
	expect_broken(d);
	gm_init_buffer(&d->gm, d->mem, MEM_SIZE);
}

#define T(name) cmocka_unit_test_setup_teardown(test_##name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(enable),
	    T(simple_read),
	    T(read_write_chain),
	    T(full_table_chain),
	    T(indirect),
	    T(indirect_max_chain),
	    T(wrap),
	    T(no_interrupt),
	    T(event_idx),
	    T(set_notify),
	    T(iov),
	    T(reset),
	    T(region_gap),
	};

	log_set_level(LOG_ERR); /* the broken-queue cases log a warning */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
