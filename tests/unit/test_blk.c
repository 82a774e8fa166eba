/* virtio-blk against a temporary image file: requests are laid out in a split ring in a
 * plain buffer of "guest RAM", and this file stands in for the virtio-pci transport
 * (notify, needs-reset, watch...), driving completions from the watched eventfd. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "backends/block.h"
#include "common/bytes.h"
#include "virtio/devices.h"
#include "virtio_fake.h"
#include "virtio/virtio_dev.h"

/* From the virtio 1.2 specification, 5.2. */
enum { T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8, T_GET_LIFETIME = 10 };
enum { T_DISCARD = 11, T_WRITE_ZEROES = 13 };
enum { S_OK = 0, S_IOERR = 1, S_UNSUPP = 2 };
enum { F_SEG_MAX = 2, F_RO = 5, F_BLK_SIZE = 6, F_FLUSH = 9, F_DISCARD = 13, F_WZ = 14 };

#define MEM_SIZE    (8u << 20)
#define QSIZE	    256
#define DESC_GPA    0x1000ull
#define AVAIL_GPA   0x6000ull
#define USED_GPA    0x7000ull
#define DATA_GPA    0x10000ull
#define IMG_SECTORS 2048u
#define SECTOR	    512u

struct env {
	uint8_t *mem;
	struct guest_mem gm;
	struct virtio_dev d;
	char path[64];
	int img;	/* a second descriptor on the image, for checks */
	bool direct;	/* the device opens its image with direct=on */
	char qcow2[80]; /* set: the device opens this qcow2 image (format=qcow2) instead */
	uint16_t avail_idx;
	uint16_t next_desc;
	uint64_t next_data;
};

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool w;
};

static int env_setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	uint8_t sector[SECTOR];

	vfake.nqueues = 1;
	vfake.violation = vfake_fail;
	vfake_reset();
	assert_non_null(e);
	e->mem = aligned_alloc(4096, MEM_SIZE); /* page-aligned, like guest RAM (O_DIRECT) */
	assert_non_null(e->mem);
	memset(e->mem, 0, MEM_SIZE);
	gm_init_buffer(&e->gm, e->mem, MEM_SIZE);
	pthread_mutex_init(&e->d.lock, NULL);
	snprintf(e->path, sizeof(e->path), "/tmp/phyllome-test-blk-XXXXXX");
	e->img = mkstemp(e->path);
	assert_true(e->img >= 0);
	for (unsigned i = 0; i < IMG_SECTORS; i++) {
		memset(sector, (int)(i & 0xFF) | 0x80, sizeof(sector)); /* never zero */
		assert_int_equal(pwrite(e->img, sector, SECTOR, (off_t)i * SECTOR), SECTOR);
	}
	e->next_data = DATA_GPA;
	*state = e;
	return 0;
}

static int env_teardown(void **state)
{
	struct env *e = *state;

	if (e->d.ops)
		e->d.ops->destroy(&e->d);
	pthread_mutex_destroy(&e->d.lock);
	close(e->img);
	unlink(e->path);
	if (e->qcow2[0])
		unlink(e->qcow2);
	free(e->mem);
	free(e);
	return 0;
}

static void queue_enable(struct env *e)
{
	struct virtq *vq = &e->d.vq[0];

	memset(e->mem, 0, DATA_GPA);
	e->avail_idx = 0;
	e->next_desc = 0;
	virtq_reset(vq);
	vq->gm = &e->gm;
	vq->size = QSIZE;
	vq->desc_gpa = DESC_GPA;
	vq->avail_gpa = AVAIL_GPA;
	vq->used_gpa = USED_GPA;
	assert_int_equal(virtq_enable(vq), 0);
}

static int dev_start_with(struct env *e, bool readonly, const char *serial, bool flush)
{
	struct disk_config cfg = {.readonly = readonly, .direct = e->direct};
	char err[256] = "";
	int rc;

	snprintf(cfg.path, sizeof(cfg.path), "%s", e->qcow2[0] ? e->qcow2 : e->path);
	cfg.qcow2 = e->qcow2[0] != 0;
	snprintf(cfg.serial, sizeof(cfg.serial), "%s", serial);
	e->d.gm = &e->gm;
	e->d.vq[0].gm = &e->gm;
	rc = virtio_blk_init(&e->d, &cfg, 3, err, sizeof(err));
	if (rc < 0)
		return rc;
	e->d.host_features = e->d.ops->features(&e->d);
	e->d.guest_features = e->d.host_features | 1ull << VIRTIO_F_VERSION_1;
	if (!flush)
		e->d.guest_features &= ~(1ull << F_FLUSH);
	queue_enable(e);
	assert_int_equal(e->d.ops->activate(&e->d), 0);
	e->d.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		      VIRTIO_STATUS_DRIVER_OK;
	return 0;
}

static void dev_start(struct env *e, bool readonly)
{
	assert_int_equal(dev_start_with(e, readonly, "", true), 0);
}

static uint64_t buf_alloc(struct env *e, uint32_t len)
{
	uint64_t gpa = e->next_data;

	e->next_data = ALIGN_UP(gpa + len, 64);
	assert_true(e->next_data <= MEM_SIZE);
	return gpa;
}

/* Publishes a chain head (again, for a driver reusing a chain still in flight). */
static void offer(struct env *e, uint16_t head)
{
	put_le16(e->mem + AVAIL_GPA + 4 + 2u * (e->avail_idx % QSIZE), head);
	e->avail_idx++;
	__atomic_store_n((uint16_t *)(void *)(e->mem + AVAIL_GPA + 2), e->avail_idx,
			 __ATOMIC_RELEASE);
}

/* Writes a chain of descriptors and publishes it; returns its head. */
static uint16_t post(struct env *e, const struct seg *s, unsigned n)
{
	uint16_t head = e->next_desc;

	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % QSIZE);
		uint8_t *p = e->mem + DESC_GPA + 16u * idx;
		uint16_t flags =
		    (s[i].w ? VIRTQ_DESC_F_WRITE : 0) | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0);

		put_le64(p, s[i].gpa);
		put_le32(p + 8, s[i].len);
		put_le16(p + 12, flags);
		put_le16(p + 14, (uint16_t)((idx + 1) % QSIZE));
	}
	e->next_desc = (uint16_t)((head + n) % QSIZE);
	offer(e, head);
	return head;
}

static void put_header(struct env *e, uint64_t gpa, uint32_t type, uint64_t sector)
{
	put_le32(e->mem + gpa, type);
	put_le32(e->mem + gpa + 4, 0);
	put_le64(e->mem + gpa + 8, sector);
}

static uint64_t header(struct env *e, uint32_t type, uint64_t sector)
{
	uint64_t gpa = buf_alloc(e, 16);

	put_header(e, gpa, type, sector);
	return gpa;
}

/* header, one data segment (readable or writable, none if len is 0), status. Returns
 * the status byte's address. */
static uint64_t post_simple(struct env *e, uint32_t type, uint64_t sector, uint64_t data,
			    uint32_t len, bool data_w)
{
	uint64_t status = buf_alloc(e, 1);
	struct seg s[3] = {{header(e, type, sector), 16, false}};
	unsigned n = 1;

	if (len)
		s[n++] = (struct seg){data, len, data_w};
	s[n++] = (struct seg){status, 1, true};
	e->mem[status] = 0xEE;
	post(e, s, n);
	return status;
}

static void kick(struct env *e)
{
	pthread_mutex_lock(&e->d.lock);
	e->d.ops->queue_notify(&e->d, 0);
	pthread_mutex_unlock(&e->d.lock);
}

static uint16_t used_idx(const struct env *e)
{
	return __atomic_load_n((uint16_t *)(void *)(e->mem + USED_GPA + 2), __ATOMIC_ACQUIRE);
}

static uint32_t used_len(const struct env *e, uint16_t i)
{
	return get_le32(e->mem + USED_GPA + 4 + 8u * (i % QSIZE) + 4);
}

/* Runs the device's completion callback whenever its eventfd is readable, until the used
 * index reaches n. */
static void wait_used(struct env *e, uint16_t n)
{
	while (used_idx(e) != n) {
		struct pollfd p = {.fd = vfake.w[0].fd, .events = POLLIN};

		assert_int_equal(vfake.nw, 1);
		assert_int_equal(poll(&p, 1, 5000), 1);
		pthread_mutex_lock(&e->d.lock);
		vfake_fire(&e->d, 0, EPOLLIN);
		pthread_mutex_unlock(&e->d.lock);
	}
}

/* Posts one simple request, runs it to completion, returns its status. */
static uint8_t do_simple(struct env *e, uint32_t type, uint64_t sector, uint64_t data, uint32_t len,
			 bool data_w)
{
	uint64_t status = post_simple(e, type, sector, data, len, data_w);

	kick(e);
	wait_used(e, e->avail_idx);
	return e->mem[status];
}

static void file_read(struct env *e, uint64_t off, void *buf, size_t len)
{
	assert_int_equal(pread(e->img, buf, len, (off_t)off), (ssize_t)len);
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* Discard or write zeroes with n segments {sector, num_sectors, flags}, plus `extra`
 * stray payload bytes. */
static uint8_t do_dwz(struct env *e, uint32_t type, unsigned n, const uint64_t segs[][3],
		      uint32_t extra)
{
	uint32_t len = 16 * n + extra;
	uint64_t p = buf_alloc(e, len + 1), st = buf_alloc(e, 1);
	struct seg s[3] = {{header(e, type, 0), 16, false}, {p, len, false}, {st, 1, true}};

	for (unsigned i = 0; i < n; i++) {
		put_le64(e->mem + p + 16 * i, segs[i][0]);
		put_le32(e->mem + p + 16 * i + 8, (uint32_t)segs[i][1]);
		put_le32(e->mem + p + 16 * i + 12, (uint32_t)segs[i][2]);
	}
	post(e, s, 3);
	kick(e);
	wait_used(e, e->avail_idx);
	assert_int_equal(used_len(e, (uint16_t)(e->avail_idx - 1)), 1);
	return e->mem[st];
}

static void expect_sectors(struct env *e, uint64_t first, unsigned n, int zero)
{
	uint8_t buf[SECTOR];

	for (uint64_t s = first; s < first + n; s++) {
		file_read(e, s * SECTOR, buf, SECTOR);
		assert_true(all_bytes(buf, SECTOR, zero ? 0 : (uint8_t)((s & 0xFF) | 0x80)));
	}
}

static void test_identity(void **state)
{
	struct env *e = *state;
	uint8_t cfg[60], b;

	dev_start(e, false);
	assert_int_equal(e->d.ops->device_id, VIRTIO_ID_BLOCK);
	assert_int_equal(e->d.ops->pci_class, 0x018000);
	assert_int_equal(e->d.ops->num_queues, 1);
	assert_int_equal(e->d.ops->queue_size, QSIZE);
	assert_true(e->d.ops->config_size >= sizeof(cfg));
	assert_int_equal(e->d.host_features, 1ull << F_SEG_MAX | 1ull << F_BLK_SIZE |
						 1ull << F_FLUSH | 1ull << F_DISCARD |
						 1ull << F_WZ);
	e->d.ops->config_read(&e->d, 0, cfg, sizeof(cfg));
	assert_int_equal(get_le64(cfg), IMG_SECTORS);	 /* capacity */
	assert_int_equal(get_le32(cfg + 12), QSIZE - 2); /* seg_max */
	assert_int_equal(get_le32(cfg + 16), 0);	 /* geometry */
	assert_int_equal(get_le32(cfg + 20), 512);	 /* blk_size */
	assert_int_equal(get_le64(cfg + 24), 0);	 /* topology */
	assert_int_equal(get_le16(cfg + 32), 0);	 /* writeback, unused0 */
	assert_int_equal(get_le16(cfg + 34), 1);	 /* num_queues */
	assert_true(get_le32(cfg + 36) >= 8);		 /* max_discard_sectors */
	assert_true(get_le32(cfg + 40) >= 2);		 /* max_discard_seg */
	assert_true(get_le32(cfg + 44) >= 1);		 /* discard_sector_alignment */
	assert_true(get_le32(cfg + 48) >= 8);		 /* max_write_zeroes_sectors */
	assert_true(get_le32(cfg + 52) >= 1);		 /* max_write_zeroes_seg */
	assert_int_equal(cfg[56], 1);			 /* write_zeroes_may_unmap */
	assert_true(all_bytes(cfg + 57, 3, 0));		 /* unused1 */
	for (uint32_t i = 0; i < sizeof(cfg); i++) {
		e->d.ops->config_read(&e->d, i, &b, 1);
		assert_int_equal(b, cfg[i]);
	}
	assert_int_equal(vfake.config_changed, 0);
}

static void test_write_read(void **state)
{
	struct env *e = *state;
	uint64_t a, b, st, rd[3];
	uint8_t buf[1024];

	dev_start(e, false);
	a = buf_alloc(e, 512);
	b = buf_alloc(e, 512);
	st = buf_alloc(e, 1);
	memset(e->mem + a, 0x11, 512);
	memset(e->mem + b, 0x22, 512);
	post(e,
	     (struct seg[]){
		 {header(e, T_OUT, 5), 16, false}, {a, 512, false}, {b, 512, false}, {st, 1, true}},
	     4);
	kick(e);
	wait_used(e, 1);
	assert_int_equal(e->mem[st], S_OK);
	assert_int_equal(used_len(e, 0), 1);
	file_read(e, 5 * SECTOR, buf, sizeof(buf));
	assert_true(all_bytes(buf, 512, 0x11) && all_bytes(buf + 512, 512, 0x22));

	/* Sectors 4..6 back into three writable segments of 256, 768 and 512 bytes. */
	rd[0] = buf_alloc(e, 256);
	rd[1] = buf_alloc(e, 768);
	rd[2] = buf_alloc(e, 512);
	post(e,
	     (struct seg[]){{header(e, T_IN, 4), 16, false},
			    {rd[0], 256, true},
			    {rd[1], 768, true},
			    {rd[2], 512, true},
			    {st, 1, true}},
	     5);
	kick(e);
	wait_used(e, 2);
	assert_int_equal(e->mem[st], S_OK);
	assert_int_equal(used_len(e, 1), 1536 + 1);
	assert_true(all_bytes(e->mem + rd[0], 256, 0x84));
	assert_true(all_bytes(e->mem + rd[1], 256, 0x84));
	assert_true(all_bytes(e->mem + rd[1] + 256, 512, 0x11));
	assert_true(all_bytes(e->mem + rd[2], 512, 0x22));
	assert_true(vfake.notifies >= 2);

	/* The status may share the last writable segment with the data. */
	rd[0] = buf_alloc(e, 513);
	post(e, (struct seg[]){{header(e, T_IN, 6), 16, false}, {rd[0], 513, true}}, 2);
	kick(e);
	wait_used(e, 3);
	assert_true(all_bytes(e->mem + rd[0], 512, 0x22));
	assert_int_equal(e->mem[rd[0] + 512], S_OK);
	assert_int_equal(used_len(e, 2), 513);
}

static void test_flush(void **state)
{
	struct env *e = *state;
	uint64_t data;
	uint8_t buf[512];
	int fd;

	dev_start(e, false);
	data = buf_alloc(e, 512);
	memset(e->mem + data, 0x5A, 512);
	assert_int_equal(do_simple(e, T_OUT, 9, data, 512, false), S_OK);
	assert_int_equal(do_simple(e, T_FLUSH, 0, 0, 0, false), S_OK);
	assert_int_equal(used_len(e, 1), 1);
	fd = open(e->path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, sizeof(buf), 9 * SECTOR), sizeof(buf));
	assert_true(all_bytes(buf, sizeof(buf), 0x5A));
	close(fd);
	/* FLUSH not negotiated: writes and write-zeroes are written through. */
	e->d.ops->destroy(&e->d);
	assert_int_equal(dev_start_with(e, false, "", false), 0);
	memset(e->mem + data, 0x6B, 512);
	assert_int_equal(do_simple(e, T_OUT, 100, data, 512, false), S_OK);
	file_read(e, 100 * SECTOR, buf, sizeof(buf));
	assert_true(all_bytes(buf, sizeof(buf), 0x6B));
	assert_int_equal(do_dwz(e, T_WRITE_ZEROES, 1, (const uint64_t[][3]){{100, 1, 0}}, 0), S_OK);
	expect_sectors(e, 100, 1, 1);
}

static void test_get_id(void **state)
{
	struct env *e = *state;
	uint64_t id;

	dev_start(e, false);
	id = buf_alloc(e, 24);
	memset(e->mem + id, 0xFF, 24);
	assert_int_equal(do_simple(e, T_GET_ID, 0, id, 20, true), S_OK);
	assert_memory_equal(e->mem + id, "phyllome-disk-3\0\0\0\0", 20);
	assert_int_equal(used_len(e, 0), 21);
	e->d.ops->destroy(&e->d);
	assert_int_equal(dev_start_with(e, false, "ABCDEFGHIJKLMNOPQRST", true), 0);
	memset(e->mem + id, 0xFF, 24);
	assert_int_equal(do_simple(e, T_GET_ID, 0, id, 24, true), S_OK);
	assert_memory_equal(e->mem + id, "ABCDEFGHIJKLMNOPQRST", 20); /* no NUL at 20 bytes */
	assert_int_equal(e->mem[id + 20], 0xFF);
	assert_int_equal(used_len(e, 0), 21);
	/* A buffer too short gets what fits. */
	memset(e->mem + id, 0xFF, 24);
	assert_int_equal(do_simple(e, T_GET_ID, 0, id, 8, true), S_OK);
	assert_memory_equal(e->mem + id, "ABCDEFGH", 8);
	assert_int_equal(used_len(e, 1), 9);
}

static void test_discard(void **state)
{
	struct env *e = *state;
	uint64_t many[17][3];

	dev_start(e, false);
	assert_int_equal(do_dwz(e, T_DISCARD, 2, (const uint64_t[][3]){{16, 8, 0}, {40, 8, 0}}, 0),
			 S_OK);
	/* Hole punching reads back as zeroes; the neighbours are untouched. */
	expect_sectors(e, 16, 8, 1);
	expect_sectors(e, 40, 8, 1);
	expect_sectors(e, 15, 1, 0);
	expect_sectors(e, 24, 16, 0);
	/* unmap is for write zeroes only; unknown flags are unsupported. */
	assert_int_equal(do_dwz(e, T_DISCARD, 1, (const uint64_t[][3]){{64, 8, 1}}, 0), S_UNSUPP);
	assert_int_equal(do_dwz(e, T_DISCARD, 1, (const uint64_t[][3]){{64, 8, 2}}, 0), S_UNSUPP);
	/* Beyond the end, a partial segment, none at all, more than max_discard_seg. */
	assert_int_equal(do_dwz(e, T_DISCARD, 1, (const uint64_t[][3]){{2040, 16, 0}}, 0), S_IOERR);
	assert_int_equal(do_dwz(e, T_DISCARD, 1, (const uint64_t[][3]){{~0ull, 1, 0}}, 0), S_IOERR);
	assert_int_equal(do_dwz(e, T_DISCARD, 1, (const uint64_t[][3]){{64, 8, 0}}, 8), S_IOERR);
	assert_int_equal(do_dwz(e, T_DISCARD, 0, NULL, 0), S_IOERR);
	for (unsigned i = 0; i < 17; i++) {
		many[i][0] = 64 + i;
		many[i][1] = 1;
		many[i][2] = 0;
	}
	assert_int_equal(do_dwz(e, T_DISCARD, 17, (const uint64_t(*)[3])many, 0), S_IOERR);
	expect_sectors(e, 64, 17, 0); /* nothing done when any segment is bad */
	/* The driver didn't accept DISCARD: it can't use it. */
	e->d.guest_features &= ~(1ull << F_DISCARD);
	assert_int_equal(do_dwz(e, T_DISCARD, 1, (const uint64_t[][3]){{64, 8, 0}}, 0), S_UNSUPP);
}

static void test_write_zeroes(void **state)
{
	struct env *e = *state;

	dev_start(e, false);
	assert_int_equal(do_dwz(e, T_WRITE_ZEROES, 1, (const uint64_t[][3]){{24, 4, 0}}, 0), S_OK);
	assert_int_equal(do_dwz(e, T_WRITE_ZEROES, 1, (const uint64_t[][3]){{28, 3, 1}}, 0), S_OK);
	expect_sectors(e, 23, 1, 0);
	expect_sectors(e, 24, 7, 1);
	expect_sectors(e, 31, 1, 0);
	assert_int_equal(do_dwz(e, T_WRITE_ZEROES, 1, (const uint64_t[][3]){{24, 4, 4}}, 0),
			 S_UNSUPP);
	assert_int_equal(do_dwz(e, T_WRITE_ZEROES, 1, (const uint64_t[][3]){{2047, 2, 0}}, 0),
			 S_IOERR);
}

static void test_out_of_range(void **state)
{
	struct env *e = *state;
	uint64_t rd;

	dev_start(e, false);
	rd = buf_alloc(e, 1024);
	assert_int_equal(do_simple(e, T_IN, IMG_SECTORS, rd, 512, true), S_IOERR);
	assert_int_equal(do_simple(e, T_IN, IMG_SECTORS - 1, rd, 1024, true), S_IOERR);
	assert_int_equal(do_simple(e, T_IN, ~0ull, rd, 512, true), S_IOERR);
	assert_int_equal(do_simple(e, T_OUT, 1ull << 55, rd, 512, false), S_IOERR);
	assert_int_equal(used_len(e, 0), 1);
	assert_int_equal(do_simple(e, T_IN, IMG_SECTORS - 1, rd, 512, true), S_OK);
	assert_true(all_bytes(e->mem + rd, 512, 0xFF));
}

static void test_bad_length(void **state)
{
	struct env *e = *state;
	uint64_t data;

	dev_start(e, false);
	data = buf_alloc(e, 1024);
	memset(e->mem + data, 0x44, 1024);
	assert_int_equal(do_simple(e, T_OUT, 0, data, 513, false), S_IOERR);
	assert_int_equal(do_simple(e, T_IN, 0, data, 100, true), S_IOERR);
	assert_int_equal(used_len(e, 1), 1);
	expect_sectors(e, 0, 2, 0);
	/* Unknown types, and ones we don't offer. */
	assert_int_equal(do_simple(e, 99, 0, 0, 0, false), S_UNSUPP);
	assert_int_equal(do_simple(e, T_GET_LIFETIME, 0, 0, 0, false), S_UNSUPP);
	assert_int_equal(do_simple(e, 0xFFFFFFFF, 0, 0, 0, false), S_UNSUPP);
	assert_int_equal(used_len(e, 4), 1);
}

/* The image shrinks under a running VM: a read past the new end comes back short, the
 * rest is asked for again and, finding nothing, fails instead of spinning. */
static void test_image_shrinks(void **state)
{
	struct env *e = *state;
	uint64_t rd;

	dev_start(e, false);
	rd = buf_alloc(e, 1024);
	assert_int_equal(ftruncate(e->img, 4 * SECTOR + 256), 0);
	assert_int_equal(do_simple(e, T_IN, 4, rd, 1024, true), S_IOERR);
	assert_true(all_bytes(e->mem + rd, 256, 0x84));
	assert_int_equal(do_simple(e, T_IN, 0, rd, 1024, true), S_OK);
}

static void test_readonly(void **state)
{
	struct env *e = *state;
	uint64_t data;

	dev_start(e, true);
	assert_int_equal(e->d.host_features,
			 1ull << F_SEG_MAX | 1ull << F_BLK_SIZE | 1ull << F_FLUSH | 1ull << F_RO);
	data = buf_alloc(e, 512);
	memset(e->mem + data, 0x33, 512);
	assert_int_equal(do_simple(e, T_OUT, 0, data, 512, false), S_IOERR);
	expect_sectors(e, 0, 1, 0);
	assert_int_equal(do_dwz(e, T_DISCARD, 1, (const uint64_t[][3]){{0, 8, 0}}, 0), S_IOERR);
	assert_int_equal(do_dwz(e, T_WRITE_ZEROES, 1, (const uint64_t[][3]){{0, 8, 0}}, 0),
			 S_IOERR);
	expect_sectors(e, 0, 8, 0);
	assert_int_equal(do_simple(e, T_IN, 1, data, 512, true), S_OK);
	assert_true(all_bytes(e->mem + data, 512, 0x81));
	assert_int_equal(do_simple(e, T_FLUSH, 0, 0, 0, false), S_OK);
}

static void test_header_layouts(void **state)
{
	struct env *e = *state;
	uint64_t h = header(e, T_IN, 7), rd = buf_alloc(e, 512), st = buf_alloc(e, 1), w;
	uint8_t buf[512];

	dev_start(e, false);
	/* Header split 5 + 11 over two descriptors. */
	post(e, (struct seg[]){{h, 5, false}, {h + 5, 11, false}, {rd, 512, true}, {st, 1, true}},
	     4);
	kick(e);
	wait_used(e, 1);
	assert_int_equal(e->mem[st], S_OK);
	assert_true(all_bytes(e->mem + rd, 512, 0x87));
	/* Header and write data in one descriptor. */
	w = buf_alloc(e, 16 + 512);
	put_header(e, w, T_OUT, 8);
	memset(e->mem + w + 16, 0x77, 512);
	post(e, (struct seg[]){{w, 16 + 512, false}, {st, 1, true}}, 2);
	kick(e);
	wait_used(e, 2);
	assert_int_equal(e->mem[st], S_OK);
	file_read(e, 8 * SECTOR, buf, sizeof(buf));
	assert_true(all_bytes(buf, sizeof(buf), 0x77));
	/* A header cut short, or none at all, fails the request. */
	post(e, (struct seg[]){{h, 8, false}, {st, 1, true}}, 2);
	post(e, (struct seg[]){{st, 1, true}}, 1);
	kick(e);
	wait_used(e, 4);
	assert_int_equal(e->mem[st], S_IOERR);
	assert_int_equal(vfake.needs_reset, 0);
}

/* A chain without a writable byte can't be answered: the device needs a reset. */
static void test_no_status(void **state)
{
	struct env *e = *state;
	uint64_t data = buf_alloc(e, 512), st;

	dev_start(e, false);
	post(e, (struct seg[]){{header(e, T_OUT, 0), 16, false}, {data, 512, false}}, 2);
	kick(e);
	assert_int_equal(vfake.needs_reset, 1);
	assert_int_equal(used_idx(e), 0);
	st = post_simple(e, T_IN, 0, data, 512, true);
	kick(e);
	assert_int_equal(used_idx(e), 0);
	assert_int_equal(e->mem[st], 0xEE);
	assert_int_equal(vfake.needs_reset, 1);
}

static void test_many_in_flight(void **state)
{
	struct env *e = *state;
	uint64_t rd[80], st[80];

	dev_start(e, false);
	for (unsigned i = 0; i < 80; i++) {
		rd[i] = buf_alloc(e, 4096);
		st[i] = post_simple(e, T_IN, 8 * i, rd[i], 4096, true);
	}
	kick(e);
	wait_used(e, 80);
	for (unsigned i = 0; i < 80; i++) {
		assert_int_equal(e->mem[st[i]], S_OK);
		for (unsigned s = 0; s < 8; s++)
			assert_true(all_bytes(e->mem + rd[i] + s * SECTOR, SECTOR,
					      (uint8_t)(((8 * i + s) & 0xFF) | 0x80)));
	}
}

/* A driver that offers a chain again while it is in flight can't make us run out of
 * requests: the rest waits for completions. */
static void test_pool_exhausted(void **state)
{
	struct env *e = *state;
	uint64_t rd = buf_alloc(e, 512), st;
	uint16_t head;

	dev_start(e, false);
	st = post_simple(e, T_IN, 3, rd, 512, true);
	head = 0;
	for (unsigned i = 1; i < QSIZE; i++)
		offer(e, head);
	kick(e); /* QSIZE requests in flight, none reaped */
	for (unsigned i = 0; i < 10; i++)
		offer(e, head);
	kick(e);
	wait_used(e, QSIZE + 10);
	assert_int_equal(e->mem[st], S_OK);
	assert_true(all_bytes(e->mem + rd, 512, 0x83));
	assert_int_equal(vfake.needs_reset, 0);
}

static void test_reset_in_flight(void **state)
{
	struct env *e = *state;
	uint64_t rd = buf_alloc(e, 64 * 4096), st = 0;
	struct pollfd p;

	dev_start(e, false);
	for (unsigned i = 0; i < 64; i++)
		post_simple(e, T_IN, 8 * i, rd + 4096 * i, 4096, true);
	kick(e);
	pthread_mutex_lock(&e->d.lock);
	e->d.ops->reset(&e->d);
	pthread_mutex_unlock(&e->d.lock);
	/* The driver sets the device up again; a stale wake-up finds nothing. */
	queue_enable(e);
	p = (struct pollfd){.fd = vfake.w[0].fd, .events = POLLIN};
	if (poll(&p, 1, 0) == 1)
		vfake_fire(&e->d, 0, EPOLLIN);
	assert_int_equal(used_idx(e), 0);
	for (unsigned i = 0; i < 80; i++)
		st = post_simple(e, T_IN, 8 * (i % 64), rd + 4096 * (i % 64), 4096, true);
	kick(e);
	wait_used(e, 80);
	assert_int_equal(e->mem[st], S_OK);
}

/* direct=on: aligned requests go O_DIRECT, unaligned ones (offset, buffer or length) through
 * the buffered descriptor; either way every request sees what the ones before it wrote. */
static void test_direct(void **state)
{
	struct env *e = *state;
	uint64_t page, odd, st;
	uint8_t buf[4096];

	e->direct = true;
	dev_start(e, false);
	e->next_data = ALIGN_UP(e->next_data, 4096);
	page = buf_alloc(e, 4096);
	e->next_data = ALIGN_UP(e->next_data, 4096) + 1; /* not even word-aligned */
	odd = buf_alloc(e, 1024);

	/* Aligned write of sectors 8..15, read back from the file. */
	memset(e->mem + page, 0x5A, 4096);
	assert_int_equal(do_simple(e, T_OUT, 8, page, 4096, false), S_OK);
	file_read(e, 8 * SECTOR, buf, 4096);
	assert_true(all_bytes(buf, 4096, 0x5A));
	/* An unaligned write: the offset (sector 9) and the buffer. */
	memset(e->mem + odd, 0xC3, 1024);
	assert_int_equal(do_simple(e, T_OUT, 9, odd, 1024, false), S_OK);
	/* An aligned read of the same page sees them (the direct read writes back first). */
	memset(e->mem + page, 0, 4096);
	assert_int_equal(do_simple(e, T_IN, 8, page, 4096, true), S_OK);
	assert_true(all_bytes(e->mem + page, 512, 0x5A));
	assert_true(all_bytes(e->mem + page + 512, 1024, 0xC3));
	assert_true(all_bytes(e->mem + page + 1536, 4096 - 1536, 0x5A));
	/* An aligned write, then an unaligned read of it (the direct write dropped the cache). */
	memset(e->mem + page, 0x77, 4096);
	assert_int_equal(do_simple(e, T_OUT, 8, page, 4096, false), S_OK);
	assert_int_equal(do_simple(e, T_IN, 10, odd, 1024, true), S_OK);
	assert_true(all_bytes(e->mem + odd, 1024, 0x77));
	/* Untouched sectors around, a flush, and write-zeroes (its pwrite fallback is buffered). */
	expect_sectors(e, 0, 8, 0);
	expect_sectors(e, 16, 8, 0);
	st = post_simple(e, T_FLUSH, 0, 0, 0, false);
	kick(e);
	wait_used(e, e->avail_idx);
	assert_int_equal(e->mem[st], S_OK);
	assert_int_equal(do_dwz(e, T_WRITE_ZEROES, 1, (const uint64_t[][3]){{9, 1, 0}}, 0), S_OK);
	assert_int_equal(do_simple(e, T_IN, 8, page, 4096, true), S_OK);
	assert_true(all_bytes(e->mem + page + 512, 512, 0));
	assert_true(all_bytes(e->mem + page + 1024, 4096 - 1024, 0x77));
	assert_int_equal(vfake.needs_reset, 0);
}

static void test_lock(void **state)
{
	struct env *e = *state;
	struct virtio_dev d2 = {.gm = &e->gm}, d3 = {.gm = &e->gm};
	struct disk_config cfg = {.readonly = false};
	char err[256];

	snprintf(cfg.path, sizeof(cfg.path), "%s", e->path);
	dev_start(e, false);
	assert_int_equal(virtio_blk_init(&d2, &cfg, 1, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "is in use by another VM"));
	assert_non_null(strstr(err, e->path));
	cfg.readonly = true;
	assert_int_equal(virtio_blk_init(&d2, &cfg, 1, err, sizeof(err)), -EBUSY);
	e->d.ops->destroy(&e->d);
	e->d.ops = NULL;
	/* Readers share; a writer then can't come in. */
	assert_int_equal(virtio_blk_init(&d2, &cfg, 1, err, sizeof(err)), 0);
	assert_int_equal(virtio_blk_init(&d3, &cfg, 2, err, sizeof(err)), 0);
	cfg.readonly = false;
	assert_int_equal(dev_start_with(e, false, "", true), -EBUSY);
	d2.ops->destroy(&d2);
	d3.ops->destroy(&d3);
	dev_start(e, false);
	e->d.ops->destroy(&e->d);
	e->d.ops = NULL;
	/* A missing image, something that is no disk. */
	snprintf(cfg.path, sizeof(cfg.path), "%s.missing", e->path);
	assert_int_equal(virtio_blk_init(&e->d, &cfg, 0, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, cfg.path));
	cfg.readonly = true;
	snprintf(cfg.path, sizeof(cfg.path), "/tmp");
	assert_true(virtio_blk_init(&e->d, &cfg, 0, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "not a regular file or a block device"));
	assert_null(e->d.ops);
	assert_int_equal(vfake.nw, 0);
}

/* A lock released a moment after the open (what a closed block's lock does while the kernel
 * still drops the last reference of an io_uring request: block.c, block_lock) is waited for; one
 * that stays is refused after LOCK_WAIT_MS (200 ms), not waited for without end. */
struct late_unlock {
	int fd;
	unsigned ms;
};

static void *unlock_later(void *arg)
{
	struct late_unlock *u = arg;

	usleep(u->ms * 1000);
	close(u->fd);
	return NULL;
}

static int hold_lock(const char *path)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int fd = open(path, O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_OFD_SETLK, &fl), 0);
	return fd;
}

static void test_lock_released_late(void **state)
{
	struct env *e = *state;
	struct late_unlock u = {hold_lock(e->path), 10};
	struct timespec t0, t1;
	struct block b;
	pthread_t t;
	char err[256];
	int fd;

	assert_int_equal(pthread_create(&t, NULL, unlock_later, &u), 0);
	assert_int_equal(block_open(&b, e->path, false, false, 16, err, sizeof(err)), 0);
	pthread_join(t, NULL);
	block_close(&b);
	fd = hold_lock(e->path);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(block_open(&b, e->path, false, false, 16, err, sizeof(err)), -EBUSY);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_non_null(strstr(err, "is in use by another VM"));
	assert_in_range((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000, 150,
			3000);
	close(fd);
}

/* format=qcow2 under virtio-blk: the image made from the raw one by qemu-img, written, read,
 * zeroed and flushed through the device, then checked and read back by qemu-img. */
static void test_qcow2(void **state)
{
	struct env *e = *state;
	uint8_t buf[SECTOR];
	char cmd[512];
	uint64_t data;
	int fd;

	if (system("qemu-img --version >/dev/null 2>&1") != 0)
		skip();
	snprintf(e->qcow2, sizeof(e->qcow2), "%s.qcow2", e->path);
	snprintf(cmd, sizeof(cmd), "qemu-img convert -q -f raw -O qcow2 %s %s", e->path, e->qcow2);
	assert_int_equal(system(cmd), 0);
	dev_start(e, false);
	e->d.ops->config_read(&e->d, 0, buf, 8);
	assert_int_equal(get_le64(buf), IMG_SECTORS); /* capacity: the virtual size */
	data = buf_alloc(e, 512);
	memset(e->mem + data, 0x3C, 512);
	assert_int_equal(do_simple(e, T_OUT, 77, data, 512, false), S_OK);
	memset(e->mem + data, 0, 512);
	assert_int_equal(do_simple(e, T_IN, 77, data, 512, true), S_OK);
	assert_true(all_bytes(e->mem + data, 512, 0x3C));
	assert_int_equal(do_simple(e, T_IN, 78, data, 512, true), S_OK);
	assert_true(all_bytes(e->mem + data, 512, 78 | 0x80));
	assert_int_equal(do_dwz(e, T_WRITE_ZEROES, 1, (const uint64_t[][3]){{200, 8, 0}}, 0), S_OK);
	/* A whole cluster (64 KiB) zeroed: it loses its data cluster; reads see zeroes. */
	assert_int_equal(do_dwz(e, T_WRITE_ZEROES, 1, (const uint64_t[][3]){{512, 128, 1}}, 0),
			 S_OK);
	assert_int_equal(do_simple(e, T_IN, 600, data, 512, true), S_OK);
	assert_true(all_bytes(e->mem + data, 512, 0));
	/* A write into it takes a new cluster (not in place), a read spans two clusters. */
	memset(e->mem + data, 0x7E, 512);
	assert_int_equal(do_simple(e, T_OUT, 601, data, 512, false), S_OK);
	assert_int_equal(do_simple(e, T_IN, 601, data, 512, true), S_OK);
	assert_true(all_bytes(e->mem + data, 512, 0x7E));
	assert_int_equal(do_simple(e, T_FLUSH, 0, 0, 0, false), S_OK);
	e->d.ops->destroy(&e->d);
	e->d.ops = NULL;
	snprintf(cmd, sizeof(cmd),
		 "qemu-img check -q -f qcow2 %s && qemu-img convert -q -f qcow2 "
		 "-O raw %s %s.raw",
		 e->qcow2, e->qcow2, e->qcow2);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "%s.raw", e->qcow2);
	fd = open(cmd, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, SECTOR, 77 * SECTOR), SECTOR);
	assert_true(all_bytes(buf, SECTOR, 0x3C));
	assert_int_equal(pread(fd, buf, SECTOR, 203 * SECTOR), SECTOR);
	assert_true(all_bytes(buf, SECTOR, 0));
	assert_int_equal(pread(fd, buf, SECTOR, 600 * SECTOR), SECTOR);
	assert_true(all_bytes(buf, SECTOR, 0));
	assert_int_equal(pread(fd, buf, SECTOR, 601 * SECTOR), SECTOR);
	assert_true(all_bytes(buf, SECTOR, 0x7E));
	assert_int_equal(pread(fd, buf, SECTOR, 300 * SECTOR), SECTOR);
	assert_true(all_bytes(buf, SECTOR, (300 & 0xFF) | 0x80));
	close(fd);
	unlink(cmd);
}

static struct io_uring_sqe *new_sqe(struct block *b)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);

	if (!sqe)
		abort(); /* the ring is empty: cannot happen */
	return sqe;
}

/* Submits the SQE prepared on the backend's own ring and waits for its completion. */
static int ring_one(struct block *b)
{
	struct io_uring_cqe *cqe;
	int rc;

	rc = io_uring_submit_and_wait(&b->ring, 1);
	if (rc < 0)
		return rc;
	assert_int_equal(io_uring_wait_cqe(&b->ring, &cqe), 0);
	rc = cqe->res;
	io_uring_cqe_seen(&b->ring, cqe);
	return rc;
}

/* The ring takes only what the backend submits (reads, writes, fsyncs): an OPENAT on it (what
 * a compromised thread would try, since seccomp cannot see inside a ring) completes with
 * -EACCES, and registering anything more on it is refused. */
static void test_ring_restricted(void **state)
{
	struct env *e = *state;
	struct block b;
	struct io_uring_sqe *sqe;
	uint8_t buf[SECTOR];
	struct iovec iov = {buf, sizeof(buf)};
	char err[256];
	int fds[1];

	assert_int_equal(block_open(&b, e->path, false, false, 8, err, sizeof(err)), 0);
	sqe = new_sqe(&b);
	io_uring_prep_openat(sqe, AT_FDCWD, "/etc/passwd", O_RDONLY, 0);
	assert_int_equal(ring_one(&b), -EACCES);
	sqe = new_sqe(&b);
	io_uring_prep_readv(sqe, b.fd, &iov, 1, SECTOR);
	assert_int_equal(ring_one(&b), SECTOR);
	assert_int_equal(buf[0], 0x81);
	/* An allowed operation with a flag the backend never sets. */
	sqe = new_sqe(&b);
	io_uring_prep_readv(sqe, b.fd, &iov, 1, 0);
	io_uring_sqe_set_flags(sqe, IOSQE_IO_DRAIN);
	assert_int_equal(ring_one(&b), -EACCES);
	fds[0] = e->img;
	assert_int_equal(io_uring_register_files(&b.ring, fds, 1), -EACCES);
	block_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_identity, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_write_read, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_flush, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_get_id, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_discard, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_write_zeroes, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_out_of_range, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_length, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_image_shrinks, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_readonly, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_header_layouts, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_no_status, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_many_in_flight, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_pool_exhausted, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_reset_in_flight, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_direct, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_lock, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_lock_released_late, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_qcow2, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_ring_restricted, env_setup, env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
