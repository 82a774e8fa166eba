/* qcow2 images in the block layer (docs/qcow2.md): header v2 and v3, L1/L2 tables with a
 * write-back L2 cache, refcounts, allocation, zero and compressed (zlib) clusters, discard,
 * and read-only backing chains (qcow2 or raw). Requests are done synchronously on the
 * caller's thread; block.c hands their completions back like io_uring ones. Metadata is
 * written in an order that keeps the image consistent at every point (leaks allowed). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct qcow2;

/* A test's view of every write and sync of the image file, before it happens: `off`/`iov`
 * for writes (kind "data", "l1", "l2", "refblock", "reftable", "header"), `iov` NULL for
 * "sync". A non-zero return fails that write with -EIO (fault injection). */
typedef int (*qcow2_hook_fn)(void *arg, const char *kind, uint64_t off, const struct iovec *iov,
			     unsigned niov);

#define QCOW2_MAX_CHAIN 16 /* images in a backing chain, the top one included */

/* Opens the qcow2 image on fd (borrowed; read-only when `readonly`). A backing file is
 * opened (read-only, relative paths from the image's folder) only when allow_backing,
 * else such an image is refused. Returns 0 or -errno with one line in err. */
int qcow2_open(struct qcow2 **out, int fd, const char *path, bool readonly, bool allow_backing,
	       char *err, size_t errlen);
/* direct=on: guest data in this image's data clusters is read and written through fd (the
 * same file opened O_DIRECT; borrowed) where the file offset, buffers and lengths are
 * multiples of align, and through the buffered descriptor otherwise (backends/dio.h).
 * Metadata stays on the buffered one; syncs cover both (fdatasync is per file). Refused
 * (-EINVAL, one line in err) for clusters smaller than a page or than align: a data cluster
 * must never share a cached page with metadata. */
int qcow2_set_direct(struct qcow2 *q, int fd, unsigned align, char *err, size_t errlen);
/* Writes back what is cached, returns unused reserved clusters, syncs, frees. */
void qcow2_close(struct qcow2 *q);
uint64_t qcow2_size(const struct qcow2 *q); /* the virtual disk's size, bytes */
void qcow2_set_hook(struct qcow2 *q, qcow2_hook_fn fn, void *arg);

/* len bytes at the virtual offset off, into or from iov. 0 or -errno. */
int qcow2_read(struct qcow2 *q, const struct iovec *iov, unsigned niov, uint64_t off, uint64_t len);
int qcow2_write(struct qcow2 *q, const struct iovec *iov, unsigned niov, uint64_t off,
		uint64_t len);
/* Afterwards the range reads as zeroes; whole clusters lose their data (unmap). */
int qcow2_write_zeroes(struct qcow2 *q, uint64_t off, uint64_t len);
/* A hint: whole clusters in the range are freed (they read as zeroes afterwards, not as
 * the backing file's data). */
int qcow2_discard(struct qcow2 *q, uint64_t off, uint64_t len);
/* Where [off, off+len) lies in the image file, if that is one run of data clusters (for a
 * write: clusters this image alone references, so written in place with no metadata change).
 * 0 and *host, or -ENOENT (then use qcow2_read/qcow2_write) or another -errno. The caller
 * may then do the I/O itself, asynchronously: in-place data only ever changes in place. */
int qcow2_map(struct qcow2 *q, uint64_t off, uint64_t len, bool write, uint64_t *host);
/* Everything written before is on stable storage: data, then metadata, in a safe order. */
int qcow2_flush(struct qcow2 *q);
