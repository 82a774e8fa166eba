/* O_DIRECT's rule, shared by raw images (block.c) and qcow2's guest data (qcow2_io.c): a
 * read or write goes to the O_DIRECT descriptor only when its file offset and every buffer's
 * address and length are multiples of the alignment; otherwise to the buffered descriptor
 * on the same file (Linux keeps the two coherent: a direct read writes dirty cached pages
 * back first, a direct write drops the cached ones). */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct dio {
	int fd;		 /* O_DIRECT, or the buffered one when align is 0 */
	int fd_buffered; /* always buffered */
	unsigned align;	 /* a power of two; 0: no O_DIRECT */
};

static inline bool dio_aligned(unsigned align, uint64_t off, const struct iovec *iov, unsigned niov)
{
	uint64_t mask = (uint64_t)align - 1;

	if (!align || (off & mask))
		return false;
	for (unsigned i = 0; i < niov; i++)
		if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) & mask)
			return false;
	return true;
}

/* The descriptor for a read or write of iov at the file offset off. */
static inline int dio_fd(const struct dio *d, uint64_t off, const struct iovec *iov, unsigned niov)
{
	return dio_aligned(d->align, off, iov, niov) ? d->fd : d->fd_buffered;
}
