/* The split virtqueue against hostile descriptor tables and rings: each case must fail
 * with -EINVAL and leave the queue broken, and (under ASan/UBSan) never touch memory
 * outside guest RAM nor loop without bound. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/log.h"
#include "virtq_driver.h"

/* Each builder lays out a malformed request; its test expects -EINVAL and a broken queue. */

#define HOSTILE(name)                                                                              \
	static void build_##name(struct drv *d);                                                   \
	static void test_hostile_##name(void **state)                                              \
	{                                                                                          \
		struct drv *d = *state;                                                            \
		build_##name(d);                                                                   \
		expect_broken(d);                                                                  \
	}                                                                                          \
	static void build_##name(struct drv *d)

HOSTILE(self_loop)
{
	put_desc(d, DESC_GPA, 3, DATA_GPA, 16, F_NEXT, 3);
	offer(d, 3);
}

HOSTILE(two_cycle)
{
	put_desc(d, DESC_GPA, 0, DATA_GPA, 16, F_NEXT, 1);
	put_desc(d, DESC_GPA, 1, DATA_GPA, 16, F_NEXT, 0);
	offer(d, 0);
}

HOSTILE(rho_cycle)
{
	/* 0 -> 1 -> 2 -> 3 -> 1: the loop does not go through the head. */
	for (unsigned i = 0; i < 4; i++)
		put_desc(d, DESC_GPA, i, DATA_GPA, 16, F_NEXT, (uint16_t)(i < 3 ? i + 1 : 1));
	offer(d, 0);
}

HOSTILE(long_cycle)
{
	requeue(d, 256, false, true);
	for (unsigned i = 0; i < 256; i++)
		put_desc(d, DESC_GPA, i, DATA_GPA, 16, F_NEXT, (uint16_t)((i + 1) % 256));
	offer(d, 77);
}

HOSTILE(long_cycle_empty)
{
	/* Zero-length descriptors give no segment but still count as visits. */
	requeue(d, VIRTQ_MAX_SIZE, false, true);
	for (unsigned i = 0; i < VIRTQ_MAX_SIZE; i++)
		put_desc(d, DESC_GPA, i, UINT64_MAX, 0, F_NEXT,
			 (uint16_t)((i + 1) % VIRTQ_MAX_SIZE));
	offer(d, 0);
}

HOSTILE(next_out_of_range)
{
	put_desc(d, DESC_GPA, 0, DATA_GPA, 16, F_NEXT, 16);
	offer(d, 0);
}

HOSTILE(next_ffff)
{
	put_desc(d, DESC_GPA, 0, DATA_GPA, 16, F_NEXT | F_WRITE, 0xFFFF);
	offer(d, 0);
}

HOSTILE(addr_past_ram)
{
	put_desc(d, DESC_GPA, 0, DATA_GPA, 16, F_NEXT, 1);
	put_desc(d, DESC_GPA, 1, MEM_SIZE, 1, F_WRITE, 0);
	offer(d, 0);
}

HOSTILE(addr_far_past_ram)
{
	put_desc(d, DESC_GPA, 0, 1ull << 40, 4096, 0, 0);
	offer(d, 0);
}

HOSTILE(addr_len_overflow)
{
	put_desc(d, DESC_GPA, 0, UINT64_MAX - 7, 16, 0, 0);
	offer(d, 0);
}

HOSTILE(addr_max)
{
	put_desc(d, DESC_GPA, 0, UINT64_MAX, 1, F_WRITE, 0);
	offer(d, 0);
}

HOSTILE(len_spans_end)
{
	put_desc(d, DESC_GPA, 0, MEM_SIZE - 8, 16, 0, 0);
	offer(d, 0);
}

HOSTILE(len_max)
{
	put_desc(d, DESC_GPA, 0, DATA_GPA, UINT32_MAX, 0, 0);
	offer(d, 0);
}

HOSTILE(write_then_read)
{
	put_desc(d, DESC_GPA, 0, DATA_GPA, 16, F_NEXT | F_WRITE, 1);
	put_desc(d, DESC_GPA, 1, DATA_GPA, 16, 0, 0);
	offer(d, 0);
}

HOSTILE(empty_write_then_read)
{
	put_desc(d, DESC_GPA, 0, DATA_GPA, 0, F_NEXT | F_WRITE, 1);
	put_desc(d, DESC_GPA, 1, DATA_GPA, 16, 0, 0);
	offer(d, 0);
}

HOSTILE(write_then_read_indirect)
{
	/* A writable direct descriptor, then a table that starts with a readable one. */
	put_desc(d, DESC_GPA, 0, DATA_GPA, 16, F_NEXT | F_WRITE, 1);
	put_desc(d, DESC_GPA, 1, IND_GPA, 16, F_IND, 0);
	put_desc(d, IND_GPA, 0, DATA_GPA, 16, 0, 0);
	offer(d, 0);
}

HOSTILE(indirect_in_indirect)
{
	put_desc(d, DESC_GPA, 0, IND_GPA, 32, F_IND, 0);
	put_desc(d, IND_GPA, 0, DATA_GPA, 16, F_NEXT, 1);
	put_desc(d, IND_GPA, 1, IND2_GPA, 16, F_IND, 0);
	put_desc(d, IND2_GPA, 0, DATA_GPA, 16, 0, 0);
	offer(d, 0);
}

HOSTILE(indirect_self)
{
	/* A table whose only entry points at the table itself. */
	put_desc(d, DESC_GPA, 0, IND_GPA, 16, F_IND, 0);
	put_desc(d, IND_GPA, 0, IND_GPA, 16, F_IND, 0);
	offer(d, 0);
}

HOSTILE(indirect_len_odd)
{
	put_desc(d, DESC_GPA, 0, IND_GPA, 24, F_IND, 0);
	put_desc(d, IND_GPA, 0, DATA_GPA, 16, 0, 0);
	offer(d, 0);
}

HOSTILE(indirect_len_zero)
{
	put_desc(d, DESC_GPA, 0, IND_GPA, 0, F_IND, 0);
	offer(d, 0);
}

HOSTILE(indirect_outside_ram)
{
	put_desc(d, DESC_GPA, 0, MEM_SIZE - 16, 32, F_IND, 0);
	put_desc(d, MEM_SIZE - 16, 0, DATA_GPA, 16, 0, 0);
	offer(d, 0);
}

HOSTILE(indirect_overflow)
{
	put_desc(d, DESC_GPA, 0, UINT64_MAX - 15, 32, F_IND, 0);
	offer(d, 0);
}

HOSTILE(indirect_not_negotiated)
{
	d->vq.indirect = false;
	put_desc(d, DESC_GPA, 0, IND_GPA, 16, F_IND, 0);
	put_desc(d, IND_GPA, 0, DATA_GPA, 16, 0, 0);
	offer(d, 0);
}

HOSTILE(indirect_with_next)
{
	put_desc(d, DESC_GPA, 0, IND_GPA, 16, F_IND | F_NEXT, 1);
	put_desc(d, DESC_GPA, 1, DATA_GPA, 16, F_WRITE, 0);
	put_desc(d, IND_GPA, 0, DATA_GPA, 16, 0, 0);
	offer(d, 0);
}

HOSTILE(indirect_too_long)
{
	/* 2000 chained entries: more segments than VIRTQ_MAX_CHAIN. */
	chain_table(d, IND_GPA, 2000, 1);
	put_desc(d, DESC_GPA, 0, IND_GPA, 2000 * 16, F_IND, 0);
	offer(d, 0);
}

HOSTILE(indirect_one_too_long)
{
	/* A direct segment plus VIRTQ_MAX_CHAIN in the table. */
	chain_table(d, IND_GPA, VIRTQ_MAX_CHAIN, 1);
	put_desc(d, DESC_GPA, 0, DATA_GPA, 1, F_NEXT, 1);
	put_desc(d, DESC_GPA, 1, IND_GPA, VIRTQ_MAX_CHAIN * 16, F_IND, 0);
	offer(d, 0);
}

HOSTILE(indirect_loop)
{
	put_desc(d, DESC_GPA, 0, IND_GPA, 48, F_IND, 0);
	put_desc(d, IND_GPA, 0, DATA_GPA, 16, F_NEXT, 1);
	put_desc(d, IND_GPA, 1, DATA_GPA, 16, F_NEXT, 2);
	put_desc(d, IND_GPA, 2, DATA_GPA, 16, F_NEXT, 0);
	offer(d, 0);
}

HOSTILE(indirect_long_empty_loop)
{
	/* A big table of zero-length entries in one cycle: bounded by the chain limit. */
	for (unsigned i = 0; i < 4096; i++)
		put_desc(d, IND_GPA, i, 0, 0, F_NEXT, (uint16_t)((i + 1) % 4096));
	put_desc(d, DESC_GPA, 0, IND_GPA, 4096 * 16, F_IND, 0);
	offer(d, 0);
}

HOSTILE(indirect_next_out_of_table)
{
	put_desc(d, DESC_GPA, 0, IND_GPA, 32, F_IND, 0);
	put_desc(d, IND_GPA, 0, DATA_GPA, 16, F_NEXT, 2);
	put_desc(d, IND_GPA, 2, DATA_GPA, 16, 0, 0); /* beyond len: never read */
	offer(d, 0);
}

HOSTILE(indirect_bad_buffer)
{
	put_desc(d, DESC_GPA, 0, IND_GPA, 32, F_IND, 0);
	put_desc(d, IND_GPA, 0, DATA_GPA, 16, F_NEXT, 1);
	put_desc(d, IND_GPA, 1, MEM_SIZE - 1, 2, F_WRITE, 0);
	offer(d, 0);
}

HOSTILE(avail_jump)
{
	put_desc(d, DESC_GPA, 0, DATA_GPA, 16, 0, 0);
	offer(d, 0);
	wr16(d, AVAIL_GPA + 2, 17);
}

HOSTILE(avail_backwards)
{
	/* idx moving back looks like a jump by almost 2^16. */
	wr16(d, AVAIL_GPA + 2, 0xFFFF);
}

HOSTILE(avail_jump_wrap)
{
	d->vq.last_avail = 65530;
	wr16(d, AVAIL_GPA + 2, (uint16_t)(65530 + 17));
}

HOSTILE(head_out_of_range)
{
	offer(d, 16);
}

HOSTILE(head_ffff)
{
	put_desc(d, DESC_GPA, 0, DATA_GPA, 16, 0, 0);
	offer(d, 0);
	offer(d, 0xFFFF);
	expect_pop(d, 0, 1, 0);
}

#define H(name) cmocka_unit_test_setup_teardown(test_hostile_##name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    H(self_loop),
	    H(two_cycle),
	    H(rho_cycle),
	    H(long_cycle),
	    H(long_cycle_empty),
	    H(next_out_of_range),
	    H(next_ffff),
	    H(addr_past_ram),
	    H(addr_far_past_ram),
	    H(addr_len_overflow),
	    H(addr_max),
	    H(len_spans_end),
	    H(len_max),
	    H(write_then_read),
	    H(empty_write_then_read),
	    H(write_then_read_indirect),
	    H(indirect_in_indirect),
	    H(indirect_self),
	    H(indirect_len_odd),
	    H(indirect_len_zero),
	    H(indirect_outside_ram),
	    H(indirect_overflow),
	    H(indirect_not_negotiated),
	    H(indirect_with_next),
	    H(indirect_too_long),
	    H(indirect_one_too_long),
	    H(indirect_loop),
	    H(indirect_long_empty_loop),
	    H(indirect_next_out_of_table),
	    H(indirect_bad_buffer),
	    H(avail_jump),
	    H(avail_backwards),
	    H(avail_jump_wrap),
	    H(head_out_of_range),
	    H(head_ffff),
	};

	log_set_level(LOG_ERR); /* each case logs a warning */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
