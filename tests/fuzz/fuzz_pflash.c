/* libFuzzer: a guest driving the flash chip that holds the firmware's variable store: any
 * sequence of reads and writes, at any offset (inside, straddling or past the end) and width.
 * Checks: nothing outside the store is ever written (guard bytes around it), the romd state
 * the device reports matches its mode, and read-array reads return the store's bytes. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "devices/pflash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STORE (4 * PFLASH_BLOCK_SIZE)
#define GUARD 64u

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static void romd(void *opaque, bool on)
{
	*(bool *)opaque = on;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t widths[4] = {1, 2, 4, 8};
	uint8_t *buf = malloc(STORE + 2 * GUARD), *mem = buf + GUARD;
	bool on = true;
	struct pflash p;

	memset(buf, 0xA5, STORE + 2 * GUARD);
	pflash_init(&p, mem, STORE, romd, &on);
	/* Each op: 4 bytes: kind/width, 16-bit offset, value. */
	for (size_t pos = 0; pos + 4 <= size; pos += 4) {
		const uint8_t *o = data + pos;
		uint32_t w = widths[o[0] & 3];
		uint64_t off = get_le16(o + 1) % (STORE + 16);
		uint8_t v[8];

		memset(v, o[3], sizeof(v));
		if (o[0] & 4) {
			pflash_io(&p, off, v, w, true);
		} else {
			bool array = p.mode == PFLASH_READ_ARRAY;

			pflash_io(&p, off, v, w, false);
			if (array && off + w <= STORE)
				check(memcmp(v, mem + off, w) == 0);
		}
		check(on == (p.mode == PFLASH_READ_ARRAY));
	}
	for (unsigned i = 0; i < GUARD; i++)
		check(buf[i] == 0xA5 && buf[GUARD + STORE + i] == 0xA5);
	pflash_destroy(&p);
	free(buf);
	return 0;
}
