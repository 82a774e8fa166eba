/* A fuzz input read as a stream of little-endian values (fuzz targets that drive registers). */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct in {
	const uint8_t *p;
	size_t left;
};

/* The next `bytes` bytes as a little-endian value; 0 for what is past the input's end. */
static inline uint64_t take(struct in *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes && in->left; i++, in->left--)
		v |= (uint64_t)*in->p++ << (8 * i);
	return v;
}
