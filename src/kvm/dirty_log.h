/* KVM's dirty log with manual protection (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2): KVM_GET_DIRTY_LOG
 * then only reads the bitmap, and KVM_CLEAR_DIRTY_LOG clears (and write-protects again) the pages
 * it is given. This is the pure part: which pages to give it. */
#pragma once
#include <stdint.h>

/* One KVM_CLEAR_DIRTY_LOG call: pages [first_page, first_page + num_pages) of the slot, with
 * bits[] holding one bit per page from first_page on (bit 0 of bits[0] is first_page). */
struct dirty_clear {
	uint64_t first_page, num_pages;
	uint64_t npages; /* how many dirty pages the call clears */
};

/* From bm (a slot of slot_pages 4 KiB pages, as KVM_GET_DIRTY_LOG returns it), the call that
 * clears exactly the dirty pages that hold a byte of [start, start + len) (clipped to the slot),
 * and no other: out[] gets bm's words from first_page on, with the bits of other pages off.
 * first_page is a multiple of 64, num_pages too unless it reaches the slot's end (what KVM
 * requires), and the call covers only the words from the first to the last such dirty page.
 * out needs room for (slot_pages + 63) / 64 words. Returns c->npages; 0: no call needed (c is
 * then zero). */
uint64_t dirty_clear_range(const uint64_t *bm, uint64_t slot_pages, uint64_t start, uint64_t len,
			   uint64_t *out, struct dirty_clear *c);
