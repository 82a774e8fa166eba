/* libFuzzer: a guest driving fw_cfg. Bytes become port accesses (selector, data, the DMA
 * address register in any width and offset) and FWCfgDmaAccess structures the guest writes
 * into its RAM (any control bits, lengths and addresses, in RAM, straddling its end, or
 * outside it). Checks: guest memory outside RAM is never touched (a guard region around the
 * RAM buffer stays as it was), and the item data never changes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "devices/fw_cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM   (64u * 1024)
#define GUARD 4096u

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t widths[4] = {1, 2, 4, 8};
	uint8_t *buf = malloc(RAM + 2 * GUARD), *ram = buf + GUARD;
	struct guest_mem gm;
	struct fw_cfg f;
	uint8_t item[300];

	memset(buf, 0xA5, RAM + 2 * GUARD);
	for (unsigned i = 0; i < sizeof(item); i++)
		item[i] = (uint8_t)i;
	gm_init_buffer(&gm, ram, RAM);
	check(fw_cfg_init(&f, &gm) == 0);
	check(fw_cfg_add_u16(&f, FW_CFG_NB_CPUS, 2) == 0);
	check(fw_cfg_add_file(&f, "etc/item", item, sizeof(item)) == 0);
	check(fw_cfg_add_file(&f, "etc/empty", NULL, 0) == 0);
	/* Each op: 12 bytes: kind/width, offset, 8 bytes of value, 2 bytes of RAM offset. */
	for (size_t pos = 0; pos + 12 <= size; pos += 12) {
		const uint8_t *o = data + pos;
		uint32_t w = widths[o[0] & 3];
		uint64_t off = o[1] % FW_CFG_PORT_LEN;
		uint8_t v[8];
		uint32_t at = get_le16(o + 10) % (RAM - 16);

		memcpy(v, o + 2, 8);
		if (off + w > FW_CFG_PORT_LEN)
			w = 1;
		switch ((o[0] >> 2) & 3) {
		case 0: /* a port access */
			fw_cfg_io(&f, off, v, w, (o[0] & 0x10) != 0);
			break;
		case 1: /* an access structure in RAM, then a trigger at it (two halves) */
			memcpy(ram + at, o + 2, 8);
			memcpy(ram + at + 8, o + 2, 8);
			ram[at + 3] = (uint8_t)(ram[at + 3] & 0x1F);
			put_le32(v, 0);
			fw_cfg_io(&f, 4, v, 4, true);
			v[0] = (uint8_t)(at >> 24);
			v[1] = (uint8_t)(at >> 16);
			v[2] = (uint8_t)(at >> 8);
			v[3] = (uint8_t)at;
			fw_cfg_io(&f, 8, v, 4, true);
			break;
		case 2: /* a 64-bit trigger anywhere */
			fw_cfg_io(&f, 4, v, 8, true);
			break;
		default: /* select an item by key */
			fw_cfg_io(&f, 0, v, 2, true);
			break;
		}
	}
	for (unsigned i = 0; i < GUARD; i++)
		check(buf[i] == 0xA5 && buf[GUARD + RAM + i] == 0xA5);
	check(memcmp(fw_cfg_find_file(&f, "etc/item")->data, item, sizeof(item)) == 0);
	fw_cfg_destroy(&f);
	free(buf);
	return 0;
}
