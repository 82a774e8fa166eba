/* qcow2 with direct=on (block_open_image, backends/qcow2*.c, backends/dio.h): guest data goes
 * O_DIRECT where the file offset, buffers and lengths are aligned, and through the buffered
 * descriptor where they are not; metadata always through the buffered one. Images are made
 * and checked with qemu-img and compared with a raw reference. The page cache is looked at
 * with mincore: aligned data must not be in it, unaligned data is (which shows the look can
 * see it). Needs a file system with O_DIRECT: $PHYLLOME_DIRECT_DIR, else /var/tmp; skipped
 * with the reason where open(O_DIRECT) fails there (tmpfs before Linux 6.6), where it is
 * tmpfs anyway, or without qemu-img. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "backends/block.h"
#include "common/bytes.h"
#include "qcow2_harness.h"

#define KIB  1024ull
#define MIB  (1ull << 20)
#define SIZE (64 * MIB)

static void need_tools(void)
{
	char why[400];

	if (!q2t_have_qemu_img()) {
		print_message("# qemu-img not found (scripts/setup.sh installs qemu-utils)\n");
		skip();
	}
	if (!q2t_direct_dir(why, sizeof(why))) {
		print_message("# skipped: %s; set PHYLLOME_DIRECT_DIR to a folder on ext4 or xfs\n",
			      why);
		skip();
	}
}

static void nop_done(struct block_io *io, void *arg)
{
	(void)io;
	(void)arg;
}

/* One request through the block layer (the io_uring fast path or qcow2's slow path). */
static int blk_io(struct block *b, enum block_op op, struct iovec *iov, unsigned niov, uint64_t off)
{
	struct block_io io = {.op = op, .offset = off, .iov = iov, .niov = niov};

	for (unsigned i = 0; i < niov; i++)
		io.remaining += iov[i].iov_len;
	assert_int_equal(block_queue(b, &io), 0);
	assert_int_equal(block_submit(b), 0);
	block_drain(b, nop_done, NULL);
	return io.result;
}

static int blk_rw(struct block *b, bool write, void *buf, uint64_t off, uint64_t len)
{
	struct iovec v = {.iov_base = buf, .iov_len = (size_t)len};

	return blk_io(b, write ? BLOCK_WRITE : BLOCK_READ, &v, 1, off);
}

static void open_direct(struct block *b, const char *img, bool backing)
{
	char err[256] = "";
	int rc = block_open_image(b, img, BLOCK_QCOW2, backing, false, true, 16, err, sizeof(err));

	if (rc < 0)
		print_message("# %s\n", err);
	assert_int_equal(rc, 0);
	assert_int_not_equal(b->fd, b->fd_buffered);
	assert_int_equal(fcntl(b->fd, F_GETFL) & O_DIRECT, O_DIRECT);
	assert_int_equal(fcntl(b->fd_buffered, F_GETFL) & O_DIRECT, 0);
}

/* Writes buf (len bytes, at buf's own alignment) at off, to the image and the reference,
 * and reads it back through a buffer of the same alignment. */
static void write_both(struct block *b, const char *raw, const uint8_t *buf, uint64_t off,
		       uint64_t len, size_t mis)
{
	uint8_t *back = aligned_alloc(4096, ALIGN_UP(len + mis, 4096));

	assert_non_null(back);
	assert_int_equal(blk_rw(b, true, (void *)(uintptr_t)buf, off, len), 0);
	q2t_ref_write(raw, buf, off, len);
	assert_int_equal(blk_rw(b, false, back + mis, off, len), 0);
	assert_memory_equal(back + mis, buf, len);
	free(back);
}

static void expect_same(const char *img, const char *raw)
{
	assert_int_equal(q2t_check(img), 0);
	assert_int_equal(q2t_sh("qemu-img compare -q -f qcow2 -F raw '%s' '%s'", img, raw), 0);
}

static void new_pair(const char *img, const char *raw, const char *opts)
{
	assert_int_equal(q2t_sh("qemu-img create -q -f qcow2 %s '%s' %llu", opts, img, SIZE), 0);
	assert_int_equal(q2t_sh("rm -f '%s' && truncate -s %llu '%s'", raw, SIZE, raw), 0);
}

/* Aligned and unaligned guest requests (offsets at 512-byte sectors, buffers at odd
 * addresses, two-part iovecs), allocating writes and rewrites in place, across clusters and
 * L2 tables; the image stays clean and reads back what was written, before and after
 * reopening. */
static void test_direct_rw(void **state)
{
	static const struct {
		uint64_t off, len;
		size_t mis; /* the buffer's distance from a page boundary */
	} reqs[] = {
	    {0, 4 * KIB, 0},		      /* aligned, allocating (slow path) */
	    {0, 4 * KIB, 0},		      /* aligned, in place (io_uring) */
	    {512, 1 * KIB, 0},		      /* unaligned offset and length, in place */
	    {64 * KIB - 4 * KIB, 8 * KIB, 0}, /* across two clusters, one new */
	    {3 * MIB + 512, 64 * KIB, 0},     /* unaligned offset, allocating two clusters */
	    {5 * MIB, 128 * KIB, 1},	      /* odd buffer, aligned offset */
	    {5 * MIB, 128 * KIB, 0},	      /* the same, aligned, in place */
	    {(512 * KIB) * 64 - 8 * KIB, 64 * KIB, 0}, /* across an L2 table's reach */
	    {SIZE - 300 * KIB, 300 * KIB, 512},	       /* the disk's end, 512-aligned buffer */
	    {7 * MIB + 1536, 3 * 512, 7},
	};
	const char *img = q2t_dpath("rw.qcow2"), *raw = q2t_dpath("rw.raw");
	uint8_t *buf = aligned_alloc(4096, 2 * MIB);
	struct iovec two[2];
	struct block b;

	(void)state;
	need_tools();
	assert_non_null(buf);
	new_pair(img, raw, "-o cluster_size=65536");
	open_direct(&b, img, false);
	for (unsigned i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		q2t_fill(buf + reqs[i].mis, (size_t)reqs[i].len, 100 + i);
		write_both(&b, raw, buf + reqs[i].mis, reqs[i].off, reqs[i].len, reqs[i].mis);
	}
	/* Two iovecs: an aligned page, then an odd tail (the whole request goes buffered). */
	q2t_fill(buf, 8 * KIB, 7);
	two[0] = (struct iovec){.iov_base = buf, .iov_len = 4 * KIB};
	two[1] = (struct iovec){.iov_base = buf + MIB + 3, .iov_len = 2 * KIB};
	memcpy(buf + MIB + 3, buf + 4 * KIB, 2 * KIB);
	assert_int_equal(blk_io(&b, BLOCK_WRITE, two, 2, 9 * MIB), 0);
	q2t_ref_write(raw, buf, 9 * MIB, 6 * KIB);
	/* And two aligned iovecs, in place (one O_DIRECT readv on the ring): what the aligned
	 * rewrite at 5 MiB (request 6) left there. */
	two[1].iov_base = buf + MIB;
	two[1].iov_len = 4 * KIB;
	memset(buf, 0, 2 * MIB);
	assert_int_equal(blk_io(&b, BLOCK_READ, two, 2, 5 * MIB), 0);
	q2t_fill(buf + MIB + 64 * KIB, 8 * KIB, 106);
	assert_memory_equal(buf, buf + MIB + 64 * KIB, 4 * KIB);
	assert_memory_equal(buf + MIB, buf + MIB + 68 * KIB, 4 * KIB);
	assert_int_equal(blk_io(&b, BLOCK_FLUSH, NULL, 0, 0), 0);
	block_close(&b);
	expect_same(img, raw);

	/* Reopened: reads of everything, aligned, give the reference's bytes. */
	open_direct(&b, img, false);
	for (uint64_t off = 0; off < SIZE; off += 2 * MIB) {
		uint8_t *want = malloc(2 * MIB);
		int fd = open(raw, O_RDONLY | O_CLOEXEC);

		assert_non_null(want);
		assert_true(fd >= 0);
		assert_int_equal(pread(fd, want, 2 * MIB, (off_t)off), (ssize_t)(2 * MIB));
		close(fd);
		assert_int_equal(blk_rw(&b, false, buf, off, 2 * MIB), 0);
		assert_memory_equal(buf, want, 2 * MIB);
		free(want);
	}
	block_close(&b);
	free(buf);
}

/* How many of the image file's pages in [off, off+len) are in the page cache. */
static size_t cached_pages(const char *img, uint64_t off, uint64_t len)
{
	int fd = open(img, O_RDONLY | O_CLOEXEC);
	size_t n = (size_t)(len / 4096), resident = 0;
	unsigned char *vec = calloc(n, 1);
	void *map;

	assert_true(fd >= 0);
	assert_non_null(vec);
	map = mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, fd, (off_t)off);
	assert_true(map != MAP_FAILED);
	assert_int_equal(mincore(map, (size_t)len, vec), 0);
	for (size_t i = 0; i < n; i++)
		resident += vec[i] & 1;
	munmap(map, (size_t)len);
	close(fd);
	free(vec);
	return resident;
}

/* The same for the image's data clusters under the virtual range [voff, voff+len) (64 KiB
 * clusters; not necessarily next to each other in the file). */
static size_t cached_data(struct block *b, const char *img, uint64_t voff, uint64_t len)
{
	size_t n = 0;

	for (uint64_t v = voff; v < voff + len; v += 64 * KIB) {
		uint64_t host = 0;

		assert_int_equal(qcow2_map(b->qcow2, v, 64 * KIB, false, &host), 0);
		n += cached_pages(img, host, 64 * KIB);
	}
	return n;
}

/* Aligned data, allocated (qcow2's own writes, COW included) or rewritten in place (the
 * ring), never enters the page cache; unaligned data goes through it. */
static void test_direct_bypasses_cache(void **state)
{
	const char *img = q2t_dpath("cache.qcow2"), *raw = q2t_dpath("cache.raw");
	uint8_t *buf = aligned_alloc(4096, MIB);
	struct block b;

	(void)state;
	need_tools();
	assert_non_null(buf);
	new_pair(img, raw, "-o cluster_size=65536");
	open_direct(&b, img, false);
	q2t_fill(buf, MIB, 1);
	/* A whole new 1 MiB run: 16 clusters allocated, written from the guest's buffer. */
	write_both(&b, raw, buf, 2 * MIB, MIB, 0);
	/* A partial aligned write into a new cluster: copy-on-write from the cow buffer. */
	write_both(&b, raw, buf, 8 * MIB + 8 * KIB, 8 * KIB, 0);
	/* In place, through the ring. */
	q2t_fill(buf, MIB, 2);
	write_both(&b, raw, buf, 2 * MIB, MIB, 0);
	assert_int_equal(blk_io(&b, BLOCK_FLUSH, NULL, 0, 0), 0);
	assert_int_equal(cached_data(&b, img, 2 * MIB, MIB), 0);
	assert_int_equal(cached_data(&b, img, 8 * MIB, 64 * KIB), 0);

	/* A new cluster (direct), then an unaligned write into it in place: buffered, cached. */
	q2t_fill(buf, 64 * KIB, 3);
	write_both(&b, raw, buf, 12 * MIB, 64 * KIB, 0);
	assert_int_equal(cached_data(&b, img, 12 * MIB, 64 * KIB), 0);
	q2t_fill(buf, 4 * KIB, 4);
	write_both(&b, raw, buf, 12 * MIB + 512, 2 * KIB, 0);
	assert_true(cached_data(&b, img, 12 * MIB, 64 * KIB) > 0);
	block_close(&b);
	expect_same(img, raw);
	free(buf);
}

/* A raw file of SIZE bytes whose first mib MiB hold q2t_fill's pattern, seed0 + the MiB's
 * index each (buf: a MiB of room); the rest reads as zeroes. */
static void new_patterned(const char *raw, uint8_t *buf, unsigned mib, uint32_t seed0)
{
	int fd;

	assert_int_equal(q2t_sh("rm -f '%s' && truncate -s %llu '%s'", raw, SIZE, raw), 0);
	fd = open(raw, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	for (unsigned i = 0; i < mib; i++) {
		q2t_fill(buf, MIB, seed0 + i);
		assert_int_equal(pwrite(fd, buf, MIB, (off_t)(i * MIB)), (ssize_t)MIB);
	}
	close(fd);
}

/* An overlay on a compressed base: unaligned and aligned partial writes copy the rest of
 * their clusters from the base (compressed bytes are read buffered); the base is unchanged. */
static void test_direct_backing(void **state)
{
	const char *base = q2t_dpath("base.qcow2"), *top = q2t_dpath("top.qcow2"),
		   *raw = q2t_dpath("bk.raw");
	uint8_t *buf = aligned_alloc(4096, MIB);
	struct block b;

	(void)state;
	need_tools();
	assert_non_null(buf);
	new_patterned(raw, buf, 8, 50);
	assert_int_equal(q2t_sh("qemu-img convert -q -c -f raw -O qcow2 '%s' '%s'", raw, base), 0);
	assert_int_equal(q2t_sh("cp '%s' '%s.orig'", base, base), 0);
	assert_int_equal(
	    q2t_sh("qemu-img create -q -f qcow2 -b '%s' -F qcow2 '%s' %llu", base, top, SIZE), 0);
	open_direct(&b, top, true);
	q2t_fill(buf, MIB, 9);
	write_both(&b, raw, buf, 1 * MIB + 4 * KIB, 4 * KIB, 0);   /* aligned, COW */
	write_both(&b, raw, buf + 1, 3 * MIB + 1000, 3 * 1000, 1); /* unaligned, COW */
	write_both(&b, raw, buf, 6 * MIB, 256 * KIB, 0);	   /* whole clusters */
	write_both(&b, raw, buf, 7 * MIB + 60 * KIB, 8 * KIB, 0);  /* two clusters */
	assert_int_equal(blk_io(&b, BLOCK_FLUSH, NULL, 0, 0), 0);
	block_close(&b);
	assert_int_equal(q2t_check(top), 0);
	assert_int_equal(q2t_sh("qemu-img compare -q -f qcow2 -F raw '%s' '%s'", top, raw), 0);
	assert_int_equal(q2t_sh("cmp -s '%s' '%s.orig'", base, base), 0);
	free(buf);
}

/* The file's pages leave the page cache (written back first: dirty pages stay). */
static void uncache(const char *file)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fsync(fd), 0);
	assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	close(fd);
}

/* Where the base's data for [voff, voff+64 KiB) lies in its file (its own qcow2 instance). */
static uint64_t base_host(const char *base, uint64_t voff)
{
	char err[256];
	uint64_t host = 0;
	int fd;
	struct qcow2 *q = q2t_open(base, true, true, &fd, err, sizeof(err));

	assert_non_null(q);
	assert_int_equal(qcow2_map(q, voff, 64 * KIB, false, &host), 0);
	q2t_close(q, fd);
	return host;
}

/* direct=on reaches the backing chain (as QEMU's cache=none does): reads that fall through
 * an overlay to a qcow2 base and to a raw base under it (a chain of three) come O_DIRECT when
 * aligned, so the bases' data stays out of the page cache; an unaligned read of the raw base
 * goes through it (which shows the look can see it). Both read what the bases hold. */
static void test_direct_backing_uncached(void **state)
{
	const char *raw = q2t_dpath("chain-base.raw"), *mid = q2t_dpath("chain-mid.qcow2"),
		   *top = q2t_dpath("chain-top.qcow2");
	uint8_t *buf = aligned_alloc(4096, 2 * MIB), *want = malloc(MIB);
	uint64_t host[16];
	struct block b;

	(void)state;
	need_tools();
	assert_true(buf && want);
	/* The raw base: a pattern per MiB; the middle qcow2 (64 KiB clusters, uncompressed)
	 * holds its own data at 8 to 12 MiB, the rest falls through to the raw base. */
	new_patterned(raw, buf, 16, 300);
	assert_int_equal(q2t_sh("qemu-img create -q -f qcow2 -o cluster_size=65536 -b '%s' -F raw "
				"'%s' && qemu-io -f qcow2 -c 'write -P 0x5a 8M 4M' '%s' >/dev/null",
				raw, mid, mid),
			 0);
	assert_int_equal(
	    q2t_sh("qemu-img create -q -f qcow2 -b '%s' -F qcow2 '%s' %llu", mid, top, SIZE), 0);
	for (unsigned i = 0; i < 16; i++) /* before the uncache: its table reads read ahead */
		host[i] = base_host(mid, 8 * MIB + i * 64 * KIB);
	/* Opened, then the bases' pages dropped: the tables read at open read ahead. */
	open_direct(&b, top, true);
	uncache(raw);
	uncache(mid);

	/* Through both overlays to the raw base, aligned: O_DIRECT, not cached. */
	assert_int_equal(blk_rw(&b, false, buf, 2 * MIB, MIB), 0);
	q2t_fill(want, MIB, 302);
	assert_memory_equal(buf, want, MIB);
	assert_int_equal(cached_pages(raw, 2 * MIB, MIB), 0);
	/* The middle qcow2's own clusters, aligned: O_DIRECT, not cached. */
	assert_int_equal(blk_rw(&b, false, buf, 8 * MIB, MIB), 0);
	memset(want, 0x5a, MIB);
	assert_memory_equal(buf, want, MIB);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(cached_pages(mid, host[i], 64 * KIB), 0);
	/* Unaligned (an odd buffer): through the page cache of the raw base. */
	assert_int_equal(blk_rw(&b, false, buf + 1, 4 * MIB, 64 * KIB), 0);
	q2t_fill(want, MIB, 304);
	assert_memory_equal(buf + 1, want, 64 * KIB);
	assert_true(cached_pages(raw, 4 * MIB, 64 * KIB) > 0);
	block_close(&b);
	free(buf);
	free(want);
}

/* Clusters smaller than a page would share cached pages with metadata: refused. */
static void test_direct_small_clusters(void **state)
{
	const char *img = q2t_dpath("small.qcow2");
	char err[256] = "";
	struct block b;

	(void)state;
	need_tools();
	assert_int_equal(q2t_sh("qemu-img create -q -f qcow2 -o cluster_size=2048 '%s' 16M", img),
			 0);
	assert_int_equal(
	    block_open_image(&b, img, BLOCK_QCOW2, false, false, true, 16, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "at least 4096"));
	/* Without direct=on it opens. */
	assert_int_equal(
	    block_open_image(&b, img, BLOCK_QCOW2, false, false, false, 16, err, sizeof(err)), 0);
	block_close(&b);
}

static int cleanup(void **state)
{
	(void)state;
	q2t_direct_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_direct_rw),
	    cmocka_unit_test(test_direct_bypasses_cache),
	    cmocka_unit_test(test_direct_backing),
	    cmocka_unit_test(test_direct_backing_uncached),
	    cmocka_unit_test(test_direct_small_clusters),
	};

	return cmocka_run_group_tests(tests, NULL, cleanup);
}
