/* libFuzzer: virtio-blk requests built from the input (types, sectors, segment layouts,
 * discard/write-zeroes segments, missing headers and status bytes) against a 64 KiB
 * memfd image, with this file standing in for the virtio-pci transport. Traps when a
 * request that can be answered is not (or waits forever), one that can't be is, a status
 * byte is not a status, a used length exceeds the writable bytes, or the device asks for
 * a reset without cause.
 *
 * Byte 0: bit 0 read-only disk; bits 1-3 the driver accepts FLUSH, DISCARD, WRITE_ZEROES;
 *         bit 4 reset the device with requests in flight instead of waiting for them.
 * Then up to MAX_REQS requests:
 *   b0    bits 0-2 type (IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES, 99, or 4 raw
 *         bytes after b4), bits 3-5 data segments, bit 6 header in two descriptors,
 *         bit 7 kick after this request
 *   b1-2  sector (little-endian)
 *   b3    bits 0-1 status: own 1-byte descriptor, last byte of the data, none, own
 *         3-byte descriptor; bits 2-3 header: 16 bytes (0, 1), 8 bytes, none;
 *         bits 4-7 where a split header is cut
 *   b4    bytes of payload written into the readable data segments
 *   per segment 3 bytes: flags (bit 0 device-writable, bit 1 outside RAM), length
 *         (little-endian, 1..4096)
 *   the payload. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/log.h"
#include "virtio/devices.h"
#include "virtio_fake.h"
#include "virtio/virtio_dev.h"

#define RAM_SIZE  (1u << 20)
#define QSIZE	  256u
#define DESC_GPA  0x0ull
#define AVAIL_GPA 0x1000ull
#define USED_GPA  0x2000ull
#define DATA_GPA  0x4000ull
#define IMG_SIZE  (64u << 10)
#define MAX_REQS  20u
#define MAX_DESCS 12u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t ram[RAM_SIZE] __attribute__((aligned(4096)));

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

struct input {
	const uint8_t *p;
	size_t left;
};

static uint8_t take8(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

static uint16_t take16(struct input *in)
{
	uint16_t lo = take8(in);

	return (uint16_t)(lo | take8(in) << 8);
}

struct desc {
	uint64_t gpa;
	uint32_t len;
	bool w;
};

/* What a request should come to. */
struct req {
	uint16_t head;
	bool answerable;
	int expect; /* a status, or -1 for "any" */
	uint64_t status_gpa;
	uint64_t in_len;
};

struct fuzz {
	struct virtio_dev d;
	struct guest_mem gm;
	uint64_t next_data;
	uint16_t next_desc, avail_idx;
	bool readonly;
	struct req reqs[MAX_REQS];
	unsigned nreqs;
};

static int image_fd(void)
{
	static int fd = -1;

	if (fd < 0) {
		fd = memfd_create("fuzz-blk-image", MFD_CLOEXEC);
		check(fd >= 0 && ftruncate(fd, IMG_SIZE) == 0);
	}
	return fd;
}

static uint64_t data_alloc(struct fuzz *f, uint32_t len, bool outside)
{
	uint64_t gpa = f->next_data;

	if (outside)
		return RAM_SIZE + len;
	f->next_data = ALIGN_UP(gpa + len, 16);
	memset(ram + gpa, 0, len);
	return gpa;
}

static uint32_t pick_type(struct input *in, unsigned sel)
{
	static const uint32_t types[] = {0, 1, 4, 8, 11, 13, 99};

	if (sel < 7)
		return types[sel];
	return (uint32_t)take16(in) | (uint32_t)take16(in) << 16;
}

static void put_desc(unsigned i, const struct desc *d, bool next)
{
	uint8_t *p = ram + DESC_GPA + 16u * i;

	put_le64(p, d->gpa);
	put_le32(p + 8, d->len);
	put_le16(p + 12,
		 (uint16_t)((d->w ? VIRTQ_DESC_F_WRITE : 0) | (next ? VIRTQ_DESC_F_NEXT : 0)));
	put_le16(p + 14, (uint16_t)((i + 1) % QSIZE));
}

/* Copies bytes into the readable descriptors, in order, skipping `skip` of them. */
static void fill_readable(const struct desc *ds, unsigned n, size_t skip, const uint8_t *src,
			  size_t len)
{
	for (unsigned i = 0; i < n && len; i++) {
		size_t l = ds[i].len, k;

		if (ds[i].w || ds[i].gpa >= RAM_SIZE)
			continue;
		if (skip >= l) {
			skip -= l;
			continue;
		}
		k = l - skip < len ? l - skip : len;
		memcpy(ram + ds[i].gpa + skip, src, k);
		src += k;
		len -= k;
		skip = 0;
	}
}

/* Publishes the chain and records what the device should do with it. */
static void publish(struct fuzz *f, const struct desc *ds, unsigned n, struct req *r)
{
	bool seen_w = false, valid = true;
	uint64_t out_len = 0;

	r->head = f->next_desc;
	r->in_len = 0;
	r->status_gpa = 0;
	for (unsigned i = 0; i < n; i++) {
		put_desc((r->head + i) % QSIZE, &ds[i], i + 1 < n);
		valid &= ds[i].gpa + ds[i].len <= RAM_SIZE && !(seen_w && !ds[i].w);
		seen_w |= ds[i].w;
		if (ds[i].w) {
			r->in_len += ds[i].len;
			r->status_gpa = ds[i].gpa + ds[i].len - 1;
		} else {
			out_len += ds[i].len;
		}
	}
	f->next_desc = (uint16_t)((r->head + n) % QSIZE);
	r->answerable = valid && r->in_len > 0;
	if (r->answerable && out_len < 16)
		r->expect = 1; /* no whole header: IOERR */
	if (r->answerable)
		ram[r->status_gpa] = 0xEE;
	put_le16(ram + AVAIL_GPA + 4 + 2u * (f->avail_idx % QSIZE), r->head);
	f->avail_idx++;
	__atomic_store_n((uint16_t *)(void *)(ram + AVAIL_GPA + 2), f->avail_idx, __ATOMIC_RELEASE);
}

/* The statuses that follow from the header alone (-1: it depends). */
static int expect_status(const struct fuzz *f, uint32_t type, uint32_t hlen)
{
	if (hlen != 16)
		return -1;
	switch (type) {
	case 0: /* IN */
	case 4: /* FLUSH */
	case 8: /* GET_ID */
		return -1;
	case 1: /* OUT */
		return f->readonly ? 1 : -1;
	case 11: /* DISCARD */
	case 13: /* WRITE_ZEROES */
		if (f->readonly)
			return 1;
		return virtio_has_feature(&f->d, type == 11 ? 13 : 14) ? -1 : 2;
	default:
		return 2;
	}
}

static unsigned add_header(struct fuzz *f, struct desc *ds, const uint8_t *hdr, uint32_t hlen,
			   unsigned cut)
{
	uint64_t g;

	if (!hlen)
		return 0;
	g = data_alloc(f, 16, false);
	memcpy(ram + g, hdr, hlen);
	if (!cut || cut >= hlen) {
		ds[0] = (struct desc){g, hlen, false};
		return 1;
	}
	ds[0] = (struct desc){g, cut, false};
	ds[1] = (struct desc){g + cut, hlen - cut, false};
	return 2;
}

/* Builds one request from the input; false when the input or the room runs out. */
static bool build_request(struct fuzz *f, struct input *in, bool *kick)
{
	static const uint32_t hlens[] = {16, 16, 8, 0};
	struct desc ds[MAX_DESCS];
	struct req *r = &f->reqs[f->nreqs];
	uint8_t hdr[16], b0, b3, plen;
	uint32_t type, hlen;
	unsigned n, nhdr, nseg;
	uint16_t sector;

	if (in->left < 5 || f->nreqs == MAX_REQS || f->next_data + 8 * 4096 + 64 > RAM_SIZE)
		return false;
	b0 = take8(in);
	sector = take16(in);
	b3 = take8(in);
	plen = take8(in);
	type = pick_type(in, b0 & 7);
	nseg = (b0 >> 3) & 7;
	hlen = hlens[(b3 >> 2) & 3];
	put_le32(hdr, type);
	put_le32(hdr + 4, 0);
	put_le64(hdr + 8, sector);
	n = nhdr = add_header(f, ds, hdr, hlen, (b0 & 0x40) ? b3 >> 4 : 0);
	for (unsigned i = 0; i < nseg; i++) {
		uint8_t fl = take8(in);
		uint32_t len = take16(in) % 4096u + 1;

		ds[n++] = (struct desc){data_alloc(f, len, fl & 2), len, fl & 1};
	}
	if ((b3 & 3) == 0 || (b3 & 3) == 3)
		ds[n++] = (struct desc){data_alloc(f, b3 & 2 ? 3 : 1, false), b3 & 2 ? 3 : 1, true};
	if ((b3 & 3) == 2)
		for (unsigned i = 0; i < n; i++)
			ds[i].w = false;
	if (n == 0) /* a chain has at least one descriptor */
		ds[n++] = (struct desc){data_alloc(f, 1, false), 1, false};
	plen = (uint8_t)(plen < in->left ? plen : in->left);
	fill_readable(ds + nhdr, n - nhdr, 0, in->p, plen);
	in->p += plen;
	in->left -= plen;
	r->expect = expect_status(f, type, hlen);
	publish(f, ds, n, r);
	f->nreqs++;
	*kick = b0 & 0x80;
	return true;
}

static void setup(struct fuzz *f, uint8_t flags)
{
	struct virtq *vq = &f->d.vq[0];
	uint64_t want = 1ull << VIRTIO_F_VERSION_1 | 1ull << 2 | 1ull << 5 | 1ull << 6;
	struct disk_config cfg = {.readonly = flags & 1};
	char err[256];

	memset(f, 0, sizeof(*f));
	vfake.nqueues = 1;
	vfake.violation = vfake_trap;
	vfake_reset();
	memset(ram, 0, DATA_GPA);
	gm_init_buffer(&f->gm, ram, RAM_SIZE);
	f->next_data = DATA_GPA;
	f->readonly = cfg.readonly;
	f->d.gm = &f->gm;
	snprintf(cfg.path, sizeof(cfg.path), "/proc/self/fd/%d", image_fd());
	if (virtio_blk_init(&f->d, &cfg, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_blk: the device did not start: %s\n", err); /* then trap */
		check(0);
	}
	vq->gm = &f->gm;
	vq->size = QSIZE;
	vq->desc_gpa = DESC_GPA;
	vq->avail_gpa = AVAIL_GPA;
	vq->used_gpa = USED_GPA;
	check(virtq_enable(vq) == 0);
	want |= (uint64_t)(flags & 2) << 8 | (uint64_t)(flags & 0xC) << 11; /* bits 9, 13, 14 */
	f->d.host_features = f->d.ops->features(&f->d);
	f->d.guest_features = (f->d.host_features | 1ull << VIRTIO_F_VERSION_1) & want;
	check(f->d.ops->activate(&f->d) == 0);
	f->d.status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		      VIRTIO_STATUS_DRIVER_OK;
}

static uint16_t used_idx(void)
{
	return __atomic_load_n((uint16_t *)(void *)(ram + USED_GPA + 2), __ATOMIC_ACQUIRE);
}

static void run_completions(struct fuzz *f, int timeout_ms)
{
	struct pollfd p = {.fd = vfake_only_watch() ? vfake_only_watch()->fd : -1,
			   .events = POLLIN};
	int rc = poll(&p, 1, timeout_ms);

	check(rc >= 0 && (rc == 1 || timeout_ms == 0));
	if (rc == 1)
		vfake_fire(&f->d, 0, EPOLLIN);
}

/* Every used entry is one of ours, once, answerable, with a status and a sane length. */
static void verify(const struct fuzz *f)
{
	bool seen[MAX_REQS] = {false};

	for (uint16_t k = 0; k < used_idx(); k++) {
		const uint8_t *u = ram + USED_GPA + 4 + 8u * (k % QSIZE);
		uint32_t id = get_le32(u), len = get_le32(u + 4);
		unsigned i = 0;

		while (i < f->nreqs && (f->reqs[i].head != id || seen[i]))
			i++;
		check(i < f->nreqs && f->reqs[i].answerable);
		seen[i] = true;
		check(len >= 1 && len <= f->reqs[i].in_len);
		check(ram[f->reqs[i].status_gpa] <= 2);
		check(f->reqs[i].expect < 0 || ram[f->reqs[i].status_gpa] == f->reqs[i].expect);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz f;
	struct input in = {data, size};
	uint8_t flags = take8(&in);
	unsigned answerable = 0;
	bool kick;

	log_set_level(LOG_ERR); /* broken queues and I/O errors log warnings: not news here */
	setup(&f, flags);
	while (build_request(&f, &in, &kick))
		if (kick)
			f.d.ops->queue_notify(&f.d, 0);
	f.d.ops->queue_notify(&f.d, 0);
	while (answerable < f.nreqs && f.reqs[answerable].answerable)
		answerable++;
	if (flags & 0x10) {
		f.d.ops->reset(&f.d); /* waits for the I/O, answers nothing more */
		check(used_idx() <= answerable);
	} else {
		while (used_idx() != answerable) {
			check(used_idx() < answerable);
			run_completions(&f, 5000);
		}
		run_completions(&f, 0);
		check(used_idx() == answerable);
	}
	check(vfake.needs_reset == (answerable < f.nreqs));
	verify(&f);
	f.d.ops->destroy(&f.d);
	check(!vfake_only_watch());
	return 0;
}
