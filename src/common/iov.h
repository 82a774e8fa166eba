/* Copies between a scatter-gather list and a flat buffer, after skipping `skip` bytes of the
 * list: the virtio devices (over a chain's segments) and the network backends use them. Each
 * returns the bytes copied, less than len if the segments end first. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

static inline size_t iov_copy(const struct iovec *iov, unsigned n, size_t skip, uint8_t *buf,
			      size_t len, bool to_buf)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t seg = iov[i].iov_len, chunk;
		uint8_t *base = iov[i].iov_base;

		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		chunk = seg - skip < len - done ? seg - skip : len - done;
		if (to_buf)
			memcpy(buf + done, base + skip, chunk);
		else
			memcpy(base + skip, buf + done, chunk);
		done += chunk;
		skip = 0;
	}
	return done;
}

static inline size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf,
				size_t len)
{
	return iov_copy(iov, n, skip, buf, len, true);
}

static inline size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf,
				  size_t len)
{
	/* Only read through: the cast drops const for the shared loop. */
	return iov_copy(iov, n, skip, (uint8_t *)(uintptr_t)buf, len, false);
}
