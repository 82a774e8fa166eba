/* Block backend: a raw image file or host block device, locked against other VMs, read
 * and written through io_uring straight from and into guest memory. Completions raise an
 * eventfd that the owner watches; block_reap then finishes them on the owner's thread.
 * With `direct`, the image is opened O_DIRECT (no copy through the host's page cache); a
 * request whose offset, buffers or lengths are not aligned for O_DIRECT goes through a
 * second, buffered descriptor on the same image instead (Linux keeps the two coherent: a
 * direct read writes back dirty cached pages first, a direct write drops cached ones).
 * A qcow2 image (block_open_image, BLOCK_QCOW2) goes through backends/qcow2.c instead:
 * each request is done at once on the caller's thread and finished by the next block_reap,
 * so the devices above see one interface whatever the format. */
#pragma once
#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

enum block_op { BLOCK_READ, BLOCK_WRITE, BLOCK_FLUSH };

/* One asynchronous operation, owned by the caller until it is finished. The iovecs are
 * the caller's too: a short transfer advances them in place and resubmits the rest. */
struct block_io {
	enum block_op op;
	bool dsync;	   /* write through (RWF_DSYNC): stable when finished */
	uint64_t offset;   /* bytes */
	struct iovec *iov; /* READ/WRITE only */
	unsigned niov;
	uint64_t remaining;	    /* bytes still to transfer */
	int result;		    /* when finished: 0 or -errno */
	struct block_io *next_done; /* qcow2: finished, waiting for block_reap */
};

/* The image's format: never guessed from its content (a raw image a guest wrote a qcow2
 * header into stays raw). */
enum block_format { BLOCK_RAW, BLOCK_QCOW2 };

struct qcow2;

struct block {
	int fd;
	int fd_buffered; /* direct: a buffered descriptor for unaligned requests; else fd */
	int efd;	 /* eventfd raised on completions */
	bool readonly;
	bool is_blkdev;
	unsigned direct_align; /* direct: what offsets, buffers and lengths align to; else 0 */
	uint64_t size;	       /* bytes */
	struct io_uring ring;
	unsigned depth;
	unsigned inflight;   /* queued or submitted, not yet finished */
	char name[64];	     /* for messages: the path, shortened */
	struct qcow2 *qcow2; /* BLOCK_QCOW2; size is then the virtual disk's */
	struct block_io *done_head, *done_tail;
};

typedef void (*block_done_fn)(struct block_io *io, void *arg);

/* Opens path for reading and writing (or reading only; O_DIRECT with `direct`), takes the
 * open file description lock (exclusive for writers, shared for readers), finds the size
 * and sets up an io_uring of `depth` entries. Returns 0 or -errno with one line in err. */
int block_open(struct block *b, const char *path, bool readonly, bool direct, unsigned depth,
	       char *err, size_t errlen);
/* The same for an image of the given format; backing: a qcow2 image's backing file may be
 * opened (read-only), else such an image is refused. direct with qcow2: guest data goes
 * O_DIRECT where aligned, metadata through the buffered descriptor (qcow2_set_direct). */
int block_open_image(struct block *b, const char *path, enum block_format fmt, bool backing,
		     bool readonly, bool direct, unsigned depth, char *err, size_t errlen);
/* Releases everything; in-flight I/O must have been drained. */
void block_close(struct block *b);
static inline int block_eventfd(const struct block *b)
{
	return b->efd;
}

/* Queues io for the next block_submit (iov/niov/remaining set by the caller for
 * READ/WRITE). Returns 0 or -EBUSY when the submission ring is full. */
int block_queue(struct block *b, struct block_io *io);
/* Hands everything queued to the kernel. Returns 0 or -errno. */
int block_submit(struct block *b);
/* Reads the eventfd and finishes what completed: a short or interrupted transfer is
 * resubmitted, anything else is passed to done. Returns how many were finished. */
unsigned block_reap(struct block *b, block_done_fn done, void *arg);
/* Waits until nothing is in flight, passing each finished operation to done (no
 * resubmission: a short transfer ends with -EIO). */
void block_drain(struct block *b, block_done_fn done, void *arg);

/* Synchronous range operations, byte offsets. 0 or -errno. Discard is a hint: a file
 * system or device without it reports success. */
int block_discard(struct block *b, uint64_t off, uint64_t len);
/* Afterwards the range reads as zeroes; unmap allows deallocating it. */
int block_write_zeroes(struct block *b, uint64_t off, uint64_t len, bool unmap);
/* fdatasync: what completed before is on stable storage. */
int block_sync(struct block *b);
