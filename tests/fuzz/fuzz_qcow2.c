/* libFuzzer: a hostile qcow2 image. The input is the image file (in a memfd); it is opened
 * read-only and then writable, without backing files, and read, written, zeroed, discarded
 * and flushed at offsets spread over its virtual size, and mapped (qcow2_map, the block
 * layer's fast path). Checks: no crash, no sanitizer finding, every call returns 0 or a
 * negative errno, and a mapped run keeps the offset's place in its sector. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backends/qcow2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BUF (192 * 1024)

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static void rw(struct qcow2 *q, uint8_t *buf, uint64_t off, uint64_t len, bool write)
{
	struct iovec v[2] = {{buf, len / 3}, {buf + len / 3, len - len / 3}};
	uint64_t vsize = qcow2_size(q), host;
	int rc;

	if (vsize < len)
		return;
	off %= vsize - len + 1;
	if (qcow2_map(q, off, len, write, &host) == 0)
		check(host + len > host && (host & 511) == (off & 511));
	rc = write ? qcow2_write(q, v, 2, off, len) : qcow2_read(q, v, 2, off, len);
	check(rc <= 0);
}

static void exercise(struct qcow2 *q, uint8_t *buf, uint64_t seed, bool writable)
{
	uint64_t vsize = qcow2_size(q);
	static const uint64_t lens[] = {512, 4096, 65536 + 512, BUF};

	for (unsigned i = 0; i < 8; i++) {
		uint64_t off = seed * (i + 1) * 0x9e3779b97f4a7c15ull >> (i & 31);

		rw(q, buf, off & ~511ull, lens[i % 4], false);
		if (!writable)
			continue;
		memset(buf, (int)i, BUF);
		rw(q, buf, (off >> 3) & ~511ull, lens[(i + 1) % 4], true);
		if (vsize > 65536 && i % 3 == 0) {
			check(qcow2_write_zeroes(q, (off % (vsize - 65536)) & ~511ull, 65536) <= 0);
			check(qcow2_discard(q, (off / 7 % (vsize - 65536)) & ~511ull, 65536) <= 0);
		}
	}
	if (writable)
		check(qcow2_flush(q) <= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *buf;
	char err[256];
	struct qcow2 *q;
	uint64_t seed = 0;
	int fd;

	if (size > (4u << 20))
		return 0;
	if (!buf && !(buf = malloc(BUF)))
		return 0;
	for (size_t i = 0; i < size && i < 4096; i += 97)
		seed = seed * 31 + data[i];
	fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		for (int pass = 0; pass < 2; pass++) {
			bool ro = pass == 0;

			if (qcow2_open(&q, fd, "fuzz.qcow2", ro, false, err, sizeof(err)) < 0) {
				check(err[0] != 0);
				break;
			}
			exercise(q, buf, seed, !ro);
			qcow2_close(q);
		}
	}
	close(fd);
	return 0;
}
