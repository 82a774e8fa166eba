/* Copies between a scatter-gather list and a flat buffer, after skipping `skip` bytes of the
 * list: the virtio devices (over a chain's segments) and the network backends use them. Each
 * returns the bytes copied, less than len if the segments end first. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

static inline size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t skip, void *buf,
				size_t len)
{
	uint8_t *dst = buf;
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t seg = iov[i].iov_len, chunk;

		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		chunk = seg - skip < len - done ? seg - skip : len - done;
		memcpy(dst + done, (const uint8_t *)iov[i].iov_base + skip, chunk);
		done += chunk;
		skip = 0;
	}
	return done;
}

static inline size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t skip, const void *buf,
				  size_t len)
{
	const uint8_t *src = buf;
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t seg = iov[i].iov_len, chunk;

		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		chunk = seg - skip < len - done ? seg - skip : len - done;
		memcpy((uint8_t *)iov[i].iov_base + skip, src + done, chunk);
		done += chunk;
		skip = 0;
	}
	return done;
}
