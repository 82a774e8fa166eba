/* libFuzzer: a guest driving the HD Audio controller and its codec. Bytes become register
 * accesses (any offset and width: GCTL resets, CORB/RIRB pointers and controls, stream
 * descriptors with any tag, format, length, LVI and list address, the position buffer), bytes
 * the guest writes into its RAM (CORB entries, buffer descriptor lists, sample buffers), verbs
 * built from a few bytes sent through the CORB, a fake clock moved by the ops (so the streams'
 * DMA runs across the descriptor lists), and MSI on or off. Checks: guest memory outside RAM is
 * never touched (guard regions around the RAM buffer stay as they were), and the INTx line is
 * never up without INTSTS.GIS. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "devices/hda.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM   (64u * 1024)
#define GUARD 4096u

static int level;
static uint64_t now_ns;

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static void set_irq(void *opaque, unsigned gsi, int l)
{
	(void)opaque;
	check(gsi >= 16 && gsi < 20);
	level = l;
}

static void send_msi(void *opaque, uint64_t addr, uint32_t d)
{
	(void)opaque;
	(void)addr;
	(void)d;
}

static uint64_t fake_now(void *opaque)
{
	(void)opaque;
	return now_ns;
}

static uint32_t rd(struct hda *h, unsigned off)
{
	uint8_t v[4];

	hda_mmio(h, off, v, 4, false);
	return get_le32(v);
}

static void wr(struct hda *h, unsigned off, uint32_t val, uint32_t len)
{
	uint8_t v[4];

	put_le32(v, val);
	hda_mmio(h, off, v, len, true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t widths[4] = {1, 2, 4, 8};
	static const struct audio_clock clock = {fake_now, NULL};
	uint8_t *buf = malloc(RAM + 2 * GUARD), *ram = buf + GUARD;
	struct audio_backend *be = audio_none_new();
	struct guest_mem gm;
	struct hda *h = malloc(sizeof(*h));

	memset(buf, 0xA5, RAM + 2 * GUARD);
	memset(ram, 0, RAM);
	gm_init_buffer(&gm, ram, RAM);
	now_ns = 1000000000ull;
	hda_init(h, &gm, be, &clock, set_irq, send_msi, NULL);
	h->pci.slot = 5;
	level = 0;
	wr(h, 0x08, 1, 4); /* out of reset: most ops need it */
	/* Each op: 12 bytes: kind, then its operands. */
	for (size_t pos = 0; pos + 12 <= size; pos += 12) {
		const uint8_t *o = data + pos;
		unsigned off = get_le16(o + 2) % HDA_BAR_SIZE;
		uint8_t v[8];

		memcpy(v, o + 4, 8);
		switch (o[0] & 7) {
		case 0: /* a register write, any width, anywhere */
			hda_mmio(h, off, v, widths[o[1] & 3], true);
			break;
		case 1: /* a write to a stream descriptor's registers */
			wr(h, 0x80 + (o[1] & 7) * 0x20 + (o[2] & 0x1C), get_le32(o + 4),
			   widths[o[3] & 3] > 4 ? 4 : widths[o[3] & 3]);
			break;
		case 2: /* a register read, any width */
			hda_mmio(h, off, v, widths[o[1] & 3], false);
			break;
		case 3: /* the guest writes 8 bytes of its RAM */
			memcpy(ram + get_le16(o + 2) % (RAM - 8), o + 4, 8);
			break;
		case 4: /* a verb through the CORB at its current place */
			put_le32(ram + (get_le16(o + 2) & 0xFC00u) + 4 * (o[1] & 0xFF) % 1024,
				 get_le32(o + 4));
			wr(h, 0x40, get_le16(o + 2) & 0xFC00u, 4);
			wr(h, 0x50, get_le16(o + 8) & 0xFC00u, 4);
			wr(h, 0x4C, 2 | (o[10] & 1), 1);
			wr(h, 0x5C, 3, 1);
			wr(h, 0x48, o[1], 2);
			break;
		case 5: /* time goes by: the streams run */
			now_ns += (uint64_t)get_le16(o + 2) * 10000u;
			hda_tick(h);
			break;
		case 6: /* a stream set up and started as a driver does, from the op's bytes */
		{
			unsigned sd = 0x80 + (o[1] & 7) * 0x20;

			wr(h, sd + 0x18, get_le16(o + 2) & 0xFF80u, 4);
			wr(h, sd + 0x08, get_le16(o + 4), 4);
			wr(h, sd + 0x0C, o[6], 2);
			wr(h, sd + 0x12, get_le16(o + 7), 2);
			wr(h, 0x70, (get_le16(o + 9) & 0xFF80u) | 1, 4);
			wr(h, 0x20, 0xC00000FFu, 4);
			wr(h, sd, (uint32_t)o[11] << 16 | 0x1E, 4);
			break;
		}
		default: /* MSI on or off, INTx disabled or not */
			h->pci.cfg[h->msi_cap + 2] = o[1] & 1;
			put_le16(h->pci.cfg + 0x04, (uint16_t)((o[2] & 1) << 10 | 2));
			h->pci.ops->cfg_write(&h->pci, h->msi_cap + 2, 2);
			break;
		}
		check(!level || (rd(h, 0x24) & 0x80000000u));
	}
	for (unsigned i = 0; i < GUARD; i++)
		check(buf[i] == 0xA5 && buf[GUARD + RAM + i] == 0xA5);
	hda_destroy(h);
	audio_close(be);
	free(h);
	free(buf);
	return 0;
}
