#include "kvm/dirty_log.h"

#include <string.h>

#define PAGE_SHIFT 12

/* The bits of word w (pages 64w..64w+63) that lie in pages [lo, hi). */
static uint64_t word_mask(uint64_t w, uint64_t lo, uint64_t hi)
{
	uint64_t base = w * 64, mask = ~0ull;

	if (lo > base)
		mask &= ~0ull << (lo - base);
	if (hi < base + 64)
		mask &= (1ull << (hi - base)) - 1;
	return mask;
}

uint64_t dirty_clear_range(const uint64_t *bm, uint64_t slot_pages, uint64_t start, uint64_t len,
			   uint64_t *out, struct dirty_clear *c)
{
	uint64_t lo, hi, wlo, whi, first = UINT64_MAX, last = 0, n = 0;

	memset(c, 0, sizeof(*c));
	if (!len || !slot_pages || start >= slot_pages << PAGE_SHIFT)
		return 0;
	lo = start >> PAGE_SHIFT;
	hi = len > (slot_pages << PAGE_SHIFT) - start ? slot_pages
						      : ((start + len - 1) >> PAGE_SHIFT) + 1;
	wlo = lo / 64;
	whi = (hi + 63) / 64;
	for (uint64_t w = wlo; w < whi; w++) {
		uint64_t bits = bm[w] & word_mask(w, lo, hi);

		if (!bits)
			continue;
		first = first == UINT64_MAX ? w : first;
		last = w;
		n += (uint64_t)__builtin_popcountll(bits);
	}
	if (!n)
		return 0;
	for (uint64_t w = first; w <= last; w++)
		out[w - first] = bm[w] & word_mask(w, lo, hi);
	c->first_page = first * 64;
	c->num_pages = (last - first + 1) * 64;
	if (c->first_page + c->num_pages > slot_pages)
		c->num_pages = slot_pages - c->first_page;
	c->npages = n;
	return n;
}
