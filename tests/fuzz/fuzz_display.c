/* libFuzzer: a guest programming the display device. Bytes become DISPI accesses through ports
 * 0x1CE/0x1CF and through BAR2 (any offset, width and value: the EDID, VGA, DISPI and extended
 * register blocks and the gaps between them), BAR0 accesses and moves, and refreshes of the
 * display, which converts whatever mode the registers describe from VRAM. Checks: the scan-out a
 * refresh converts always lies inside VRAM (ASan catches any read past it), and the shadow frame
 * always has the mode's size; the range a refresh asks the dirty log to re-arm lies inside VRAM,
 * and the KVM_CLEAR_DIRTY_LOG call made from it (dirty_clear_range, over a bitmap that changes
 * from call to call) is 64-page aligned, inside the slot, and clears only dirty pages of it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "devices/bochs_display.h"
#include "devices/i8042.h"
#include "ui/display.h"
#include "kvm/dirty_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static void nomap(void *opaque, uint64_t gpa)
{
	(void)opaque;
	check(gpa % BOCHS_VRAM_SIZE == 0);
}

#define VRAM_PAGES (BOCHS_VRAM_SIZE / 4096)

/* A dirty log with some pages set (which ones changes from call to call), and the clear call a
 * VMM with manual protection would make for the range the refresh reads. */
static int fake_dirty(void *opaque, uint64_t *bm, size_t bytes, uint64_t start, uint64_t len)
{
	static uint64_t seed = 0x9E3779B97F4A7C15ull, out[VRAM_PAGES / 64];
	struct dirty_clear c;
	uint64_t n;

	(void)opaque;
	check(bytes >= VRAM_PAGES / 8);
	check(len <= BOCHS_VRAM_SIZE && start <= BOCHS_VRAM_SIZE - len);
	for (unsigned w = 0; w < VRAM_PAGES / 64; w++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		bm[w] = (seed >> 7) & (seed >> 29) & (seed >> 41); /* sparse */
	}
	n = dirty_clear_range(bm, VRAM_PAGES, start, len, out, &c);
	check(n == c.npages && c.first_page % 64 == 0 && c.first_page + c.num_pages <= VRAM_PAGES);
	check(n == 0 || c.num_pages % 64 == 0 || c.first_page + c.num_pages == VRAM_PAGES);
	for (uint64_t p = 0; n && p < c.num_pages; p++) {
		uint64_t page = c.first_page + p;

		if (out[p / 64] >> (p % 64) & 1) {
			check(bm[page / 64] >> (page % 64) & 1);
			check(page >= start / 4096 && page <= (start + len - 1) / 4096);
			n--;
		}
	}
	check(n == 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *vram;
	static struct display d;
	struct bochs_display b;
	struct i8042 k;
	struct display_src src = {.dev = &b, .kbd = &k, .get_dirty = fake_dirty};
	unsigned refreshes = 0;

	if (!vram) {
		vram = malloc(BOCHS_VRAM_SIZE);
		memset(vram, 0x5A, BOCHS_VRAM_SIZE);
		pthread_mutex_init(&d.lock, NULL);
	}
	bochs_init(&b, vram, nomap, NULL);
	i8042_init(&k, NULL, NULL, NULL, NULL);
	display_attach(&d, &src);
	while (size >= 5) {
		uint8_t op = data[0], buf[8];
		uint16_t arg = get_le16(data + 1), val = get_le16(data + 3);
		uint32_t len = 1u << (op >> 6); /* 1, 2, 4 or 8 */

		data += 5;
		size -= 5;
		put_le16(buf, val);
		put_le16(buf + 2, arg);
		put_le32(buf + 4, val);
		switch (op & 7) {
		case 0: /* index then data, through the ports */
			put_le16(buf, arg);
			bochs_dispi_io(&b, 0, buf, 2, true);
			put_le16(buf, val);
			bochs_dispi_io(&b, 1, buf, 2, (op & 8) != 0);
			break;
		case 1: /* any port access in 0x1CE..0x1D0 */
			bochs_dispi_io(&b, arg % 3, buf, len > 2 ? 2 : len, (op & 8) != 0);
			break;
		case 2: /* BAR2 */
			if (arg % BOCHS_MMIO_SIZE + len <= BOCHS_MMIO_SIZE)
				b.pci.ops->bar_io(&b.pci, 2, arg % BOCHS_MMIO_SIZE, buf, len,
						  (op & 8) != 0);
			break;
		case 3: /* BAR0 (while the slot moves) */
			b.pci.ops->bar_io(&b.pci, 0, (uint64_t)arg * val % (BOCHS_VRAM_SIZE - 8),
					  buf, len, (op & 8) != 0);
			break;
		case 4:
			b.pci.ops->bar_remap(&b.pci, 0, (op & 8) ? 0 : 0xC0000000);
			break;
		default:
			if (refreshes++ < 3) {
				struct bochs_mode m;

				display_refresh(&d, NULL, NULL);
				bochs_get_mode(&b, &m);
				check(!m.enabled || (d.width == m.width && d.height == m.height));
			}
			break;
		}
	}
	display_refresh(&d, NULL, NULL);
	display_detach(&d);
	i8042_destroy(&k);
	bochs_destroy(&b);
	return 0;
}
