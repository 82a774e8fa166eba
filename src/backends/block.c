/* Block backend: raw images and block devices through io_uring (see block.h). */
#include "backends/block.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backends/dio.h"
#include "backends/qcow2.h"
#include "common/bytes.h"
#include "common/fdpath.h"
#include "common/log.h"

/* Open file description locks: two VMs (or one VM twice) can't write one image, and a
 * writer can't open an image that readers use. They go away with the open file description,
 * which is not always when block_close returns: a request that io_uring ran on one of its
 * worker threads holds a reference that the kernel drops later, from a work queue (a deferred
 * fput), so the lock of a block just closed can outlive it by a moment on a loaded host (one
 * close-and-reopen in about 50,000 under load here; a VM rebuilt on a reboot reopens its
 * disks). So a lock held by someone else is tried again for up to LOCK_WAIT_MS before the image
 * is said to be in use. */
#define LOCK_WAIT_MS 200

static int block_lock(struct block *b, const char *path, char *err, size_t errlen)
{
	struct flock fl = {
	    .l_type = b->readonly ? F_RDLCK : F_WRLCK,
	    .l_whence = SEEK_SET,
	    .l_start = 0,
	    .l_len = 0, /* the whole file, however long it grows */
	};
	int rc;

	for (unsigned waited = 0;; waited += 2) {
		const struct timespec ms2 = {0, 2000000};

		rc = fcntl(b->fd, F_OFD_SETLK, &fl);
		if (rc == 0 || (errno != EAGAIN && errno != EACCES) || waited >= LOCK_WAIT_MS)
			break;
		nanosleep(&ms2, NULL);
	}
	if (rc == 0)
		return 0;
	if (errno == EAGAIN || errno == EACCES) {
		snprintf(err, errlen, "disk '%s' is in use by another VM", path);
		return -EBUSY;
	}
	/* Some file systems (FUSE, old NFS) have no such locks: run unprotected. */
	pr_warn("disk '%s': cannot lock it (%s); nothing stops another VM from opening it", path,
		strerror(errno));
	return 0;
}

static int block_find_size(struct block *b, const char *path, char *err, size_t errlen)
{
	struct stat st;
	uint64_t bytes;
	int rc;

	if (fstat(b->fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "disk '%s': %s", path, strerror(-rc));
		return rc;
	}
	if (S_ISREG(st.st_mode)) {
		b->size = (uint64_t)st.st_size;
		return 0;
	}
	if (!S_ISBLK(st.st_mode)) {
		snprintf(err, errlen, "disk '%s': not a regular file or a block device", path);
		return -EINVAL;
	}
	if (ioctl(b->fd, BLKGETSIZE64, &bytes) < 0) {
		rc = -errno;
		snprintf(err, errlen, "disk '%s': cannot get its size: %s", path, strerror(-rc));
		return rc;
	}
	b->size = bytes;
	b->is_blkdev = true;
	return 0;
}

/* Seccomp cannot see inside a ring: the ring itself is told what it may do. It is created
 * disabled, its completion eventfd registered, then restricted to the operations
 * block_queue_ring submits (no SQE flags, no further io_uring_register calls of any kind),
 * and only then enabled. Anything else submitted on it completes with -EACCES. */
static const uint8_t ring_ops[] = {IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC};

static int block_restrict_ring(struct block *b)
{
	struct io_uring_restriction r[ARRAY_SIZE(ring_ops)];
	int rc;

	memset(r, 0, sizeof(r));
	for (size_t i = 0; i < ARRAY_SIZE(ring_ops); i++) {
		r[i].opcode = IORING_RESTRICTION_SQE_OP;
		r[i].sqe_op = ring_ops[i];
	}
	/* Debian 12's liburing (2.3) declares io_uring_register_restrictions and
	 * io_uring_enable_rings but its shared library does not export them: the generic call. */
	rc = io_uring_register((unsigned)b->ring.ring_fd, IORING_REGISTER_RESTRICTIONS, r,
			       ARRAY_SIZE(r));
	return rc < 0 ? rc
		      : io_uring_register((unsigned)b->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS,
					  NULL, 0);
}

static int block_setup_ring(struct block *b, const char *path, unsigned depth, char *err,
			    size_t errlen)
{
	const char *what = "completion eventfd";
	int rc = io_uring_queue_init(depth, &b->ring, IORING_SETUP_R_DISABLED);

	if (rc < 0) {
		snprintf(err, errlen, "disk '%s': io_uring setup failed: %s", path, strerror(-rc));
		return rc;
	}
	b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->efd < 0) {
		rc = -errno;
		goto fail_ring;
	}
	rc = io_uring_register_eventfd(&b->ring, b->efd);
	if (rc < 0)
		goto fail_efd;
	what = "io_uring restrictions (Linux 5.10)";
	rc = block_restrict_ring(b);
	if (rc < 0)
		goto fail_efd;
	b->depth = depth; /* also marks the ring as set up */
	return 0;

fail_efd:
	close(b->efd);
	b->efd = -1;
fail_ring:
	io_uring_queue_exit(&b->ring);
	snprintf(err, errlen, "disk '%s': %s: %s", path, what, strerror(-rc));
	return rc;
}

/* direct: the alignment O_DIRECT needs (a block device's logical block size; for a file,
 * 4 KiB, which covers the file systems' usual block devices), and the buffered descriptor
 * for requests that don't have it. No lock on that one: it would conflict with our own. */
static int block_setup_direct(struct block *b, const char *path, int flags, char *err,
			      size_t errlen)
{
	int bs = 0;

	b->direct_align = 4096;
	if (b->is_blkdev && ioctl(b->fd, BLKSSZGET, &bs) == 0 && bs >= 512 && !(bs & (bs - 1)))
		b->direct_align = (unsigned)bs;
	b->fd_buffered = fdpath_open(path, flags);
	if (b->fd_buffered < 0) {
		int rc = -errno;

		snprintf(err, errlen, "disk '%s': %s", path, strerror(-rc));
		return rc;
	}
	return 0;
}

int block_open(struct block *b, const char *path, bool readonly, bool direct, unsigned depth,
	       char *err, size_t errlen)
{
	int flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	int rc;

	memset(b, 0, sizeof(*b));
	b->efd = b->fd_buffered = -1;
	b->readonly = readonly;
	snprintf(b->name, sizeof(b->name), "%s", path);
	b->fd = fdpath_open(path, flags | (direct ? O_DIRECT : 0));
	if (b->fd < 0) {
		rc = -errno;
		if (direct && rc == -EINVAL)
			snprintf(err, errlen, "disk '%s': direct=on, but %s", path,
				 fdpath_num(path) >= 0
				     ? "a descriptor handed in cannot be made direct"
				     : "its file system has no O_DIRECT");
		else
			snprintf(err, errlen, "disk '%s': %s", path, strerror(-rc));
		return rc;
	}
	rc = block_lock(b, path, err, errlen);
	if (rc == 0)
		rc = block_find_size(b, path, err, errlen);
	if (rc == 0 && direct)
		rc = block_setup_direct(b, path, flags, err, errlen);
	if (rc == 0 && !direct)
		b->fd_buffered = b->fd;
	if (rc == 0)
		rc = block_setup_ring(b, path, depth, err, errlen);
	if (rc < 0) {
		if (b->fd_buffered >= 0 && b->fd_buffered != b->fd)
			close(b->fd_buffered);
		close(b->fd);
		b->fd = b->fd_buffered = -1;
	}
	return rc;
}

/* qcow2 reads its header and tables, and writes its metadata, on the buffered descriptor;
 * with direct, guest data goes O_DIRECT where aligned (qcow2_set_direct). */
static int block_open_qcow2(struct block *b, const char *path, bool backing, char *err,
			    size_t errlen)
{
	int rc = qcow2_open(&b->qcow2, b->fd_buffered, path, b->readonly, backing, err, errlen);

	if (rc == 0 && b->direct_align)
		rc = qcow2_set_direct(b->qcow2, b->fd, b->direct_align, err, errlen);
	if (rc == 0)
		b->size = qcow2_size(b->qcow2);
	return rc;
}

int block_open_image(struct block *b, const char *path, enum block_format fmt, bool backing,
		     bool readonly, bool direct, unsigned depth, char *err, size_t errlen)
{
	int rc = block_open(b, path, readonly, direct, depth, err, errlen);

	if (rc < 0 || fmt != BLOCK_QCOW2)
		return rc;
	if (b->is_blkdev) {
		snprintf(err, errlen, "disk '%s': format=qcow2 needs an image file", path);
		rc = -EINVAL;
	} else {
		rc = block_open_qcow2(b, path, backing, err, errlen);
	}
	if (rc < 0)
		block_close(b);
	return rc;
}

void block_close(struct block *b)
{
	if (b->qcow2) {
		qcow2_close(b->qcow2);
		b->qcow2 = NULL;
	}
	if (b->depth) {
		io_uring_queue_exit(&b->ring);
		b->depth = 0;
	}
	if (b->efd >= 0)
		close(b->efd);
	if (b->fd_buffered >= 0 && b->fd_buffered != b->fd)
		close(b->fd_buffered);
	if (b->fd >= 0)
		close(b->fd); /* drops the lock */
	b->efd = b->fd = b->fd_buffered = -1;
}

/* The descriptor for a read or write: the O_DIRECT one when everything is aligned for it. */
static int block_rw_fd(const struct block *b, const struct block_io *io)
{
	return dio_aligned(b->direct_align, io->offset, io->iov, io->niov) ? b->fd : b->fd_buffered;
}

/* qcow2, the slow path: the request is done now; block_reap finishes it (the eventfd says
 * so). */
static int block_qcow2_do(struct block *b, struct block_io *io)
{
	static const uint64_t one = 1;
	ssize_t n;

	switch (io->op) {
	case BLOCK_READ:
		io->result = qcow2_read(b->qcow2, io->iov, io->niov, io->offset, io->remaining);
		break;
	case BLOCK_WRITE:
		io->result = qcow2_write(b->qcow2, io->iov, io->niov, io->offset, io->remaining);
		if (io->result == 0 && io->dsync)
			io->result = qcow2_flush(b->qcow2);
		break;
	case BLOCK_FLUSH:
		io->result = qcow2_flush(b->qcow2);
		break;
	}
	if (io->result == 0)
		io->remaining = 0;
	io->next_done = NULL;
	if (b->done_tail)
		b->done_tail->next_done = io;
	else
		b->done_head = io;
	b->done_tail = io;
	b->inflight++;
	n = write(b->efd, &one, sizeof(one));
	(void)n; /* a full counter is still readable: the completion is seen */
	return 0;
}

/* Hands back finished qcow2 requests. */
static unsigned block_qcow2_done(struct block *b, block_done_fn done, void *arg)
{
	unsigned finished = 0;

	while (b->done_head) {
		struct block_io *io = b->done_head;

		b->done_head = io->next_done;
		if (!b->done_head)
			b->done_tail = NULL;
		b->inflight--;
		done(io, arg);
		finished++;
	}
	return finished;
}

/* Queues io on the ring as it is (offsets in the file). */
static int block_queue_ring(struct block *b, struct block_io *io)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);

	if (!sqe)
		return -EBUSY;
	switch (io->op) {
	case BLOCK_READ:
		io_uring_prep_readv(sqe, block_rw_fd(b, io), io->iov, io->niov, io->offset);
		break;
	case BLOCK_WRITE:
		io_uring_prep_writev2(sqe, block_rw_fd(b, io), io->iov, io->niov, io->offset,
				      io->dsync ? RWF_DSYNC : 0);
		break;
	case BLOCK_FLUSH:
		io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
		break;
	}
	io_uring_sqe_set_data(sqe, io);
	b->inflight++;
	return 0;
}

/* qcow2: reads, and writes into clusters the image alone owns, that map to one run of the
 * file go through io_uring like a raw image's (the offset becomes the file's; a short
 * transfer is requeued as it is). The rest, and write-through writes (whose cluster's L2
 * entry may not be stable yet), are done at once. */
static int block_queue_qcow2(struct block *b, struct block_io *io)
{
	bool fast = io->op == BLOCK_READ || (io->op == BLOCK_WRITE && !io->dsync);
	uint64_t host, voff = io->offset;
	int rc;

	if (!fast || qcow2_map(b->qcow2, voff, io->remaining, io->op == BLOCK_WRITE, &host) < 0)
		return block_qcow2_do(b, io);
	io->offset = host;
	rc = block_queue_ring(b, io);
	if (rc < 0)
		io->offset = voff; /* the caller may queue it again */
	return rc;
}

int block_queue(struct block *b, struct block_io *io)
{
	return b->qcow2 ? block_queue_qcow2(b, io) : block_queue_ring(b, io);
}

int block_submit(struct block *b)
{
	int rc;

	if (!io_uring_sq_ready(&b->ring))
		return 0;
	do
		rc = io_uring_submit(&b->ring);
	while (rc == -EINTR);
	if (rc < 0) {
		pr_warn("disk '%s': io_uring submit: %s", b->name, strerror(-rc));
		return rc;
	}
	return 0;
}

static void iov_advance(struct block_io *io, uint64_t n)
{
	while (io->niov && n >= io->iov->iov_len) {
		n -= io->iov->iov_len;
		io->iov++;
		io->niov--;
	}
	if (n && io->niov) {
		io->iov->iov_base = (uint8_t *)io->iov->iov_base + n;
		io->iov->iov_len -= n;
	}
}

/* Queues io again; if that fails, it is finished with an error. Returns true if finished. */
static bool block_requeue(struct block *b, struct block_io *io)
{
	if (block_queue_ring(b, io) == 0)
		return false;
	io->result = -EIO;
	return true;
}

/* Accounts for one completion: true if io is finished (result set), false if the rest
 * of it was queued again. */
static bool block_advance(struct block *b, struct block_io *io, int res)
{
	if (res == -EAGAIN || res == -EINTR)
		return block_requeue(b, io);
	if (res < 0) {
		io->result = res;
		return true;
	}
	if (io->op == BLOCK_FLUSH) {
		io->result = 0;
		return true;
	}
	/* No progress means the image shrank under us: don't spin. */
	if (res == 0 || (uint64_t)res > io->remaining) {
		io->result = -EIO;
		return true;
	}
	io->remaining -= (uint64_t)res;
	io->offset += (uint64_t)res;
	if (io->remaining == 0) {
		io->result = 0;
		return true;
	}
	iov_advance(io, (uint64_t)res);
	return block_requeue(b, io);
}

unsigned block_reap(struct block *b, block_done_fn done, void *arg)
{
	struct io_uring_cqe *cqe;
	unsigned finished = 0;
	bool requeued = false;
	uint64_t count;
	ssize_t n = read(b->efd, &count, sizeof(count)); /* EAGAIN is fine: the CQ decides */

	(void)n;
	if (b->qcow2)
		finished = block_qcow2_done(b, done, arg);
	while (io_uring_peek_cqe(&b->ring, &cqe) == 0) {
		struct block_io *io = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&b->ring, cqe);
		b->inflight--;
		if (!block_advance(b, io, res)) {
			requeued = true;
			continue;
		}
		done(io, arg);
		finished++;
	}
	if (requeued)
		block_submit(b);
	return finished;
}

void block_drain(struct block *b, block_done_fn done, void *arg)
{
	struct io_uring_cqe *cqe;

	if (b->qcow2)
		block_qcow2_done(b, done, arg);
	while (b->inflight > 0) {
		int rc = io_uring_submit_and_wait(&b->ring, 1);

		if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
			pr_err("disk '%s': waiting for I/O: %s", b->name, strerror(-rc));
			return;
		}
		while (io_uring_peek_cqe(&b->ring, &cqe) == 0) {
			struct block_io *io = io_uring_cqe_get_data(cqe);
			int res = cqe->res;

			io_uring_cqe_seen(&b->ring, cqe);
			b->inflight--;
			if (res < 0)
				io->result = res;
			else if (io->op == BLOCK_FLUSH || (uint64_t)res == io->remaining)
				io->result = 0;
			else
				io->result = -EIO;
			done(io, arg);
		}
	}
}

static int block_fallocate(struct block *b, int mode, uint64_t off, uint64_t len)
{
	int rc;

	do
		rc = fallocate(b->fd, mode, (off_t)off, (off_t)len);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : 0;
}

int block_discard(struct block *b, uint64_t off, uint64_t len)
{
	int rc;

	if (len == 0)
		return 0;
	if (b->qcow2)
		return qcow2_discard(b->qcow2, off, len);
	if (b->is_blkdev) {
		uint64_t range[2] = {off, len};

		rc = ioctl(b->fd, BLKDISCARD, range) < 0 ? -errno : 0;
	} else {
		rc = block_fallocate(b, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
	}
	if (rc == -EOPNOTSUPP || rc == -ENOTTY)
		return 0;
	return rc;
}

static int block_pwrite_zeroes(struct block *b, uint64_t off, uint64_t len)
{
	static const uint8_t zeroes[64 * 1024];

	while (len) {
		size_t n = len < sizeof(zeroes) ? (size_t)len : sizeof(zeroes);
		ssize_t w = pwrite(b->fd_buffered, zeroes, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		off += (uint64_t)w;
		len -= (uint64_t)w;
	}
	return 0;
}

int block_write_zeroes(struct block *b, uint64_t off, uint64_t len, bool unmap)
{
	int rc;

	if (len == 0)
		return 0;
	if (b->qcow2)
		return qcow2_write_zeroes(b->qcow2, off, len);
	/* Files and block devices (since Linux 4.9) both take these fallocate modes. */
	if (unmap) {
		rc = block_fallocate(b, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
		if (rc != -EOPNOTSUPP)
			return rc;
	}
	rc = block_fallocate(b, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len);
	if (rc != -EOPNOTSUPP)
		return rc;
	return block_pwrite_zeroes(b, off, len);
}

int block_sync(struct block *b)
{
	int rc;

	if (b->qcow2)
		return qcow2_flush(b->qcow2);
	do
		rc = fdatasync(b->fd);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : 0;
}
