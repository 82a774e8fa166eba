/* qcow2 (backends/qcow2*.c) against images qemu-img makes and checks: allocation and
 * refcounts (several cluster sizes and refcount widths, v2 and v3), zero clusters,
 * compressed clusters, discard, backing chains, reopening, and images refused at open.
 * Every image written is checked with `qemu-img check` and compared with a raw reference
 * with `qemu-img compare`. Skipped without qemu-img (scripts/setup.sh installs it). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "backends/block.h"
#include "qcow2_harness.h"

#define MIB (1ull << 20)

static void need_qemu_img(void)
{
	if (!q2t_have_qemu_img()) {
		print_message("# qemu-img not found (scripts/setup.sh installs qemu-utils)\n");
		skip();
	}
}

/* Writes buf at off to the image and the reference, then reads it back. */
static void write_both(struct qcow2 *q, const char *raw, uint8_t *buf, uint64_t off, uint64_t len)
{
	uint8_t *back = malloc(len);

	assert_non_null(back);
	assert_int_equal(q2t_rw(q, true, buf, off, len), 0);
	q2t_ref_write(raw, buf, off, len);
	assert_int_equal(q2t_rw(q, false, back, off, len), 0);
	assert_memory_equal(back, buf, len);
	free(back);
}

/* A workload that crosses clusters, L2 tables and refcount blocks, over a reference. */
static void workload(struct qcow2 *q, const char *raw, uint64_t size, uint32_t seed)
{
	static const uint64_t lens[] = {512, 4096, 65536, 65536 + 512, 300 * 1024};
	uint8_t *buf = malloc(MIB);

	assert_non_null(buf);
	for (unsigned i = 0; i < 40; i++) {
		uint64_t len = lens[i % 5];
		uint64_t off = ((uint64_t)(i * 7919u + seed) * 123457u % (size - len)) & ~511ull;

		q2t_fill(buf, len, seed + i);
		write_both(q, raw, buf, off, len);
	}
	q2t_fill(buf, MIB, seed);
	write_both(q, raw, buf, size - MIB, MIB); /* the last L2 table's end */
	assert_int_equal(qcow2_flush(q), 0);
	free(buf);
}

static void new_pair(const char *img, const char *raw, const char *opts, uint64_t size)
{
	assert_int_equal(
	    q2t_sh("qemu-img create -q -f qcow2 %s '%s' %llu", opts, img, (unsigned long long)size),
	    0);
	assert_int_equal(
	    q2t_sh("rm -f '%s' && truncate -s %llu '%s'", raw, (unsigned long long)size, raw), 0);
}

static void expect_same(const char *img, const char *raw)
{
	assert_int_equal(q2t_check(img), 0);
	assert_int_equal(q2t_sh("qemu-img compare -q -f qcow2 -F raw '%s' '%s'", img, raw), 0);
}

static void alloc_case(const char *opts, uint64_t size)
{
	const char *img = q2t_path("a.qcow2"), *raw = q2t_path("a.raw");
	char err[256];
	struct qcow2 *q;
	int fd;

	new_pair(img, raw, opts, size);
	q = q2t_open(img, false, false, &fd, err, sizeof(err));
	assert_non_null(q);
	assert_int_equal(qcow2_size(q), size);
	workload(q, raw, size, 1);
	q2t_close(q, fd);
	expect_same(img, raw);
	/* Reopened: the same data, and more written over it (in place and new clusters). */
	q = q2t_open(img, false, false, &fd, err, sizeof(err));
	assert_non_null(q);
	workload(q, raw, size, 2);
	q2t_close(q, fd);
	expect_same(img, raw);
}

static void test_alloc_default(void **state)
{
	(void)state;
	need_qemu_img();
	alloc_case("", 64 * MIB);
}

/* 4 KiB clusters: many L2 tables and refcount blocks, new ones made as the file grows. */
static void test_alloc_small_clusters(void **state)
{
	(void)state;
	need_qemu_img();
	alloc_case("-o cluster_size=4096", 64 * MIB);
	alloc_case("-o cluster_size=512", 8 * MIB);
}

static void test_refcount_widths(void **state)
{
	static const char *const bits[] = {"1", "2", "8", "32", "64"};
	char opts[64];

	(void)state;
	need_qemu_img();
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		snprintf(opts, sizeof(opts), "-o cluster_size=4096,refcount_bits=%s", bits[i]);
		alloc_case(opts, 32 * MIB);
	}
}

static void test_version2(void **state)
{
	(void)state;
	need_qemu_img();
	alloc_case("-o compat=0.10", 64 * MIB);
}

/* Whole clusters become zero clusters (or unallocated), partial ones are written. */
static void test_zeroes_and_discard(void **state)
{
	const char *img = q2t_path("z.qcow2"), *raw = q2t_path("z.raw");
	uint8_t *zero = calloc(1, 4 * MIB), *back = malloc(4 * MIB);
	char err[256];
	struct qcow2 *q;
	int fd;

	(void)state;
	need_qemu_img();
	new_pair(img, raw, "-o cluster_size=65536", 16 * MIB);
	q = q2t_open(img, false, false, &fd, err, sizeof(err));
	assert_non_null(q);
	workload(q, raw, 16 * MIB, 3);
	assert_int_equal(qcow2_write_zeroes(q, MIB + 512, 3 * MIB), 0);
	q2t_ref_write(raw, zero, MIB + 512, 3 * MIB);
	assert_int_equal(qcow2_discard(q, 8 * MIB, 2 * MIB), 0);
	q2t_ref_write(raw, zero, 8 * MIB, 2 * MIB);
	assert_int_equal(q2t_rw(q, false, back, MIB + 512, 3 * MIB), 0);
	assert_memory_equal(back, zero, 3 * MIB);
	assert_int_equal(qcow2_flush(q), 0);
	q2t_close(q, fd);
	expect_same(img, raw); /* a cluster not freed would be a leak: check's status 3 */
	free(zero);
	free(back);
}

/* qemu-img convert -c: compressed clusters read, and rewritten into new clusters. */
static void test_compressed(void **state)
{
	const char *img = q2t_path("c.qcow2"), *raw = q2t_path("c.raw");
	uint8_t *buf = malloc(8 * MIB), *back = malloc(8 * MIB);
	char err[256];
	struct qcow2 *q;
	int fd;

	(void)state;
	need_qemu_img();
	/* Compressible: a pattern repeated every 4 KiB, with holes. */
	q2t_fill(buf, 4096, 9);
	for (unsigned i = 1; i < 2048; i++)
		memcpy(buf + i * 4096, buf, 4096);
	memset(buf + 3 * MIB, 0, MIB);
	assert_int_equal(q2t_sh("rm -f '%s' && truncate -s %llu '%s'", raw, 8 * MIB, raw), 0);
	q2t_ref_write(raw, buf, 0, 8 * MIB);
	assert_int_equal(q2t_sh("qemu-img convert -q -c -f raw -O qcow2 '%s' '%s'", raw, img), 0);
	assert_int_equal(
	    q2t_sh("qemu-img check -f qcow2 '%s' | grep -q '[1-9][0-9.]*%% compressed'", img), 0);
	q = q2t_open(img, true, false, &fd, err, sizeof(err));
	assert_non_null(q);
	assert_int_equal(q2t_rw(q, false, back, 0, 8 * MIB), 0);
	assert_memory_equal(back, buf, 8 * MIB);
	q2t_close(q, fd);
	q = q2t_open(img, false, false, &fd, err, sizeof(err));
	assert_non_null(q);
	q2t_fill(buf, 8192, 10);
	write_both(q, raw, buf, 65536 + 1024, 8192); /* into one compressed cluster */
	write_both(q, raw, buf, 5 * 65536, 4096);
	workload(q, raw, 8 * MIB, 11);
	q2t_close(q, fd);
	expect_same(img, raw);
	free(buf);
	free(back);
}

/* raw base <- qcow2 middle <- qcow2 top, relative paths, written at each level. */
static void test_backing_chain(void **state)
{
	const char *base = q2t_path("base.raw"), *mid = q2t_path("mid.qcow2");
	const char *top = q2t_path("top.qcow2"), *ref = q2t_path("ref.raw");
	uint8_t *buf = malloc(16 * MIB);
	char err[256];
	struct qcow2 *q;
	int fd;

	(void)state;
	need_qemu_img();
	q2t_fill(buf, 16 * MIB, 20);
	assert_int_equal(q2t_sh("rm -f '%s' && truncate -s %llu '%s'", base, 15 * MIB, base), 0);
	q2t_ref_write(base, buf, 0, 15 * MIB); /* one MiB shorter than the overlays */
	assert_int_equal(q2t_sh("cp '%s' '%s' && truncate -s %llu '%s' && md5sum < '%s' > '%s.md5'",
				base, ref, 16 * MIB, ref, base, base),
			 0);
	assert_int_equal(q2t_sh("cd '%s' && qemu-img create -q -f qcow2 -b base.raw -F raw "
				"-o cluster_size=16384 mid.qcow2 %llu",
				q2t_dir(), 16 * MIB),
			 0);
	/* Without backing=on the image is refused, with a line that says what to do. */
	assert_null(q2t_open(mid, false, false, &fd, err, sizeof(err)));
	assert_non_null(strstr(err, "backing=on"));
	q = q2t_open(mid, false, true, &fd, err, sizeof(err));
	assert_non_null(q);
	{ /* through the chain: the base's bytes, and zeroes past its end */
		uint8_t *want = malloc(16 * MIB);
		int rfd = open(ref, O_RDONLY);

		assert_true(rfd >= 0 && want);
		assert_int_equal(pread(rfd, want, 16 * MIB, 0), 16 * MIB);
		close(rfd);
		assert_int_equal(q2t_rw(q, false, buf, 0, 16 * MIB), 0);
		assert_memory_equal(buf, want, 16 * MIB);
		free(want);
	}
	workload(q, ref, 16 * MIB, 21);
	/* A discarded cluster reads as zeroes, not as the backing file's data. */
	assert_int_equal(qcow2_discard(q, 2 * MIB, 64 * 1024), 0);
	memset(buf, 0, 64 * 1024);
	q2t_ref_write(ref, buf, 2 * MIB, 64 * 1024);
	q2t_close(q, fd);
	assert_int_equal(q2t_check(mid), 0);
	assert_int_equal(q2t_sh("cd '%s' && qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 "
				"top.qcow2 %llu",
				q2t_dir(), 16 * MIB),
			 0);
	q = q2t_open(top, false, true, &fd, err, sizeof(err));
	assert_non_null(q);
	workload(q, ref, 16 * MIB, 22);
	q2t_close(q, fd);
	expect_same(top, ref);
	assert_int_equal(q2t_check(mid), 0);
	assert_int_equal(q2t_sh("md5sum < '%s' | cmp -s - '%s.md5'", base, base), 0);
	free(buf);
}

static void expect_refused(const char *img, const char *why)
{
	char err[256] = "";
	struct qcow2 *q;
	int fd;

	q = q2t_open(img, false, true, &fd, err, sizeof(err));
	if (q) {
		print_message("# not refused: %s\n", why);
		q2t_close(q, fd);
	}
	assert_null(q);
	if (!strstr(err, why))
		print_message("# error was: %s\n", err);
	assert_non_null(strstr(err, why));
}

/* Patches bytes of a fresh image's header (big-endian value of `bytes` at `at`). */
static void patched(const char *img, unsigned at, unsigned bytes, uint64_t v)
{
	uint8_t b[8];
	int fd;

	assert_int_equal(q2t_sh("rm -f '%s' && qemu-img create -q -f qcow2 '%s' 64M", img, img), 0);
	for (unsigned i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	fd = open(img, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, b, bytes, at), bytes);
	close(fd);
}

static void test_refused(void **state)
{
	const char *img = q2t_path("bad.qcow2");

	(void)state;
	need_qemu_img();
	patched(img, 72, 8, 1); /* dirty bit */
	expect_refused(img, "dirty");
	patched(img, 72, 8, 1ull << 2);
	expect_refused(img, "external data file");
	patched(img, 72, 8, 1ull << 4);
	expect_refused(img, "extended L2");
	patched(img, 72, 8, 1ull << 40);
	expect_refused(img, "unknown incompatible");
	patched(img, 32, 4, 1);
	expect_refused(img, "encrypted");
	patched(img, 40, 8, 1ull << 40); /* L1 table past the end of the file */
	expect_refused(img, "outside the file");
	patched(img, 48, 8, 0); /* refcount table over the header */
	expect_refused(img, "outside the file");
	patched(img, 40, 8, 0x10000); /* L1 over the refcount table */
	expect_refused(img, "overlapping");
	patched(img, 20, 4, 30);
	expect_refused(img, "cluster size");
	patched(img, 36, 4, 0);
	expect_refused(img, "L1 table too small");
	patched(img, 4, 4, 4);
	expect_refused(img, "version 4");
	assert_int_equal(q2t_sh("rm -f '%s' && qemu-img create -q -f qcow2 -b /etc/passwd -F raw "
				"'%s' 1M",
				img, img),
			 0);
	{
		char err[256];
		int fd;

		assert_null(q2t_open(img, false, false, &fd, err, sizeof(err)));
		assert_non_null(strstr(err, "backing=on"));
	}
}

static uint64_t be64_at(int fd, uint64_t off)
{
	uint8_t b[8];
	uint64_t v = 0;

	assert_int_equal(pread(fd, b, 8, (off_t)off), 8);
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static void put64_at(int fd, uint64_t off, uint64_t v)
{
	uint8_t b[8];

	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	assert_int_equal(pwrite(fd, b, 8, (off_t)off), 8);
}

/* The refcount table's clusters (header bytes 56..59), read from the image file. */
static uint64_t rt_clusters(const char *img)
{
	int fd = open(img, O_RDONLY);
	uint64_t v;

	assert_true(fd >= 0);
	v = be64_at(fd, 56) >> 32;
	close(fd);
	return v;
}

/* Images that outgrow their refcount table: 512-byte clusters with 64-bit (a block covers 32
 * KiB, the one-cluster table qemu-img makes 2 MiB) and 32-bit refcounts (64 KiB, 4 MiB). The
 * table moves to a larger one (more than once), the image stays sound for qemu-img check and
 * compare, and reopens with the new table. */
static void test_reftable_growth(void **state)
{
	static const char *const opts[] = {"-o cluster_size=512,refcount_bits=64",
					   "-o cluster_size=512,refcount_bits=32"};
	char img[512];

	(void)state;
	need_qemu_img();
	snprintf(img, sizeof(img), "%s", q2t_path("a.qcow2")); /* q2t_path's buffer is reused */
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		alloc_case(opts[i], 16 * MIB);
		assert_true(rt_clusters(img) > 1);
	}
	/* Before any write, the table qemu-img made is one cluster: the growth was ours. */
	new_pair(img, q2t_path("a.raw"), opts[0], 16 * MIB);
	assert_int_equal(rt_clusters(img), 1);
}

/* Entries that are bad fail their request with EIO; the rest of the image still works. */
static void test_hostile_entries(void **state)
{
	static const uint64_t bad_l2[] = {
	    0x8000000000050002ull,		     /* reserved bit 1 */
	    0x8000000000050200ull,		     /* not cluster-aligned */
	    0x4000000000000000ull | (0xffull << 54), /* compressed, garbage at offset 0 */
	};
	const char *img = q2t_path("h.qcow2");
	uint8_t buf[4096];
	char err[256];
	struct qcow2 *q;
	uint64_t l1, l2;
	int fd, pfd;

	(void)state;
	need_qemu_img();
	assert_int_equal(q2t_sh("rm -f '%s' && qemu-img create -q -f qcow2 -o cluster_size=4096 "
				"'%s' 8M",
				img, img),
			 0);
	q = q2t_open(img, false, false, &fd, err, sizeof(err));
	assert_non_null(q);
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(q2t_rw(q, true, buf, 0, 4096), 0);
	q2t_close(q, fd);
	pfd = open(img, O_RDWR);
	assert_true(pfd >= 0);
	l1 = be64_at(pfd, 40);
	l2 = be64_at(pfd, l1) & 0x00fffffffffffe00ull;
	assert_true(l2 != 0);
	for (size_t i = 0; i < sizeof(bad_l2) / sizeof(bad_l2[0]); i++) {
		put64_at(pfd, l2, bad_l2[i]);
		q = q2t_open(img, false, false, &fd, err, sizeof(err));
		assert_non_null(q);
		assert_int_equal(q2t_rw(q, false, buf, 0, 4096), -EIO);
		assert_int_equal(q2t_rw(q, false, buf, 4096, 4096), 0); /* unallocated: fine */
		assert_int_equal(q2t_rw(q, true, buf, 4096, 4096), 0);
		q2t_close(q, fd);
	}
	put64_at(pfd, l1, 0x8000000000000000ull | l1); /* the L2 table is the L1 table */
	q = q2t_open(img, false, false, &fd, err, sizeof(err));
	assert_non_null(q);
	assert_int_equal(q2t_rw(q, false, buf, 0, 4096), -EIO);
	assert_int_equal(q2t_rw(q, true, buf, 0, 4096), -EIO);
	assert_int_equal(q2t_rw(q, false, buf, 4 * MIB, 4096), 0);
	q2t_close(q, fd);
	close(pfd);
}

/* format=raw never probes: an image whose first sector says QFI\xfb stays raw. */
static void test_raw_not_probed(void **state)
{
	const char *img = q2t_path("looks.qcow2");
	struct block b;
	char err[256];

	(void)state;
	need_qemu_img();
	assert_int_equal(q2t_sh("rm -f '%s' && qemu-img create -q -f qcow2 '%s' 1G", img, img), 0);
	assert_int_equal(
	    block_open_image(&b, img, BLOCK_RAW, false, true, false, 8, err, sizeof(err)), 0);
	assert_null(b.qcow2);
	assert_true(b.size < 1024 * 1024); /* the file's size, not the 1 GiB inside */
	block_close(&b);
	assert_int_equal(
	    block_open_image(&b, img, BLOCK_QCOW2, false, true, false, 8, err, sizeof(err)), 0);
	assert_int_equal(b.size, 1ull << 30);
	block_close(&b);
}

/* Internal snapshots: read-only only. */
static void test_snapshots_readonly(void **state)
{
	const char *img = q2t_path("snap.qcow2");
	char err[256];
	struct qcow2 *q;
	int fd;

	(void)state;
	need_qemu_img();
	assert_int_equal(q2t_sh("rm -f '%s' && qemu-img create -q -f qcow2 '%s' 8M && "
				"qemu-img snapshot -c s1 '%s'",
				img, img, img),
			 0);
	assert_null(q2t_open(img, false, false, &fd, err, sizeof(err)));
	assert_non_null(strstr(err, "snapshots"));
	q = q2t_open(img, true, false, &fd, err, sizeof(err));
	assert_non_null(q);
	q2t_close(q, fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_alloc_default),      cmocka_unit_test(test_alloc_small_clusters),
	    cmocka_unit_test(test_refcount_widths),    cmocka_unit_test(test_version2),
	    cmocka_unit_test(test_zeroes_and_discard), cmocka_unit_test(test_compressed),
	    cmocka_unit_test(test_backing_chain),      cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_raw_not_probed),     cmocka_unit_test(test_snapshots_readonly),
	    cmocka_unit_test(test_hostile_entries),    cmocka_unit_test(test_reftable_growth),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	q2t_sh("rm -rf '%s'", q2t_dir());
	return rc;
}
