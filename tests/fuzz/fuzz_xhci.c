/* libFuzzer: a guest driving the xHCI controller and its HID devices. Bytes become register
 * accesses (any offset and width: operational, port, interrupter registers, doorbells), bytes the
 * guest writes into its RAM (DCBAA, contexts, segment tables), TRBs written where the guest likes
 * with the cycle bit it likes followed by a doorbell (any slot and target), a driver's start
 * (reset, DCBAA, command ring, one event ring segment, run) at addresses from the input, key and
 * pointer events from the display side, and INTx disabled or not. Checks: guest memory outside
 * RAM is never touched (guard regions stay as they were), and the INTx line is never up without
 * an interrupter with IP and IE set. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "devices/xhci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM   (64u * 1024)
#define GUARD 4096u
#define OP    20

static int level;

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

static void wr(struct xhci *x, unsigned off, uint32_t v)
{
	uint8_t d[4];

	put_le32(d, v);
	xhci_mmio(x, off, d, 4, true);
}

static uint32_t rd(struct xhci *x, unsigned off)
{
	uint8_t d[4];

	xhci_mmio(x, off, d, 4, false);
	return get_le32(d);
}

/* A driver's start: rings and tables at 64-byte aligned addresses from the op. */
static void start(struct xhci *x, uint8_t *ram, const uint8_t *o)
{
	uint32_t dcbaa = (get_le16(o + 4) & 0xFFC0u) % RAM, cmd = (get_le16(o + 6) & 0xFFC0u) % RAM;
	uint32_t erst = (get_le16(o + 8) & 0xFFC0u) % (RAM - 16);
	uint32_t ev = (get_le16(o + 10) & 0xFFC0u) % RAM;

	wr(x, 0x40, 2);
	wr(x, 0x78, o[12]);
	wr(x, 0x70, dcbaa);
	wr(x, 0x58, cmd | 1);
	put_le64(ram + erst, ev);
	put_le32(ram + erst + 8, 16u + (o[13] & 0x3F));
	wr(x, 0x1028, 1u + (o[14] & 1));
	wr(x, 0x1038, ev);
	wr(x, 0x1030, erst);
	wr(x, 0x1020, 2);
	wr(x, 0x40, 5);
}

static void op(struct xhci *x, uint8_t *ram, const uint8_t *o)
{
	static const uint32_t widths[4] = {1, 2, 4, 8};
	unsigned off = get_le16(o + 2) % XHCI_BAR_SIZE;
	uint8_t v[16];

	memcpy(v, o + 4, 16);
	switch (o[0] & 7) {
	case 0: /* a register write, any width */
		xhci_mmio(x, off, v, widths[o[1] & 3], true);
		break;
	case 1: /* a register read, any width */
		xhci_mmio(x, off, v, widths[o[1] & 3], false);
		break;
	case 2: /* the guest writes 16 bytes of its RAM */
		memcpy(ram + get_le16(o + 2) % (RAM - 16), o + 4, 16);
		break;
	case 3:
		start(x, ram, o);
		break;
	case 4: /* a TRB at a 16-byte slot of RAM, then a doorbell */
	case 5: {
		uint8_t *t = ram + (get_le16(o + 2) & 0xFFF0u) % RAM;

		memcpy(t, o + 4, 16);
		t[12] = (uint8_t)((t[12] & ~1u) | (o[1] & 1));
		wr(x, 0x2000 + 4 * ((o[1] >> 1) % (XHCI_SLOTS + 1)), o[4] & 0x1F);
		break;
	}
	case 6: /* the display side */
		if (o[1] & 1)
			xhci_key(x, o[4], o[5] & 1);
		else
			xhci_pointer(x, get_le16(o + 4), get_le16(o + 6), o[8], (int8_t)o[9]);
		(void)xhci_keyboard_ready(x);
		(void)xhci_tablet_ready(x);
		break;
	default: /* INTx disabled or not */
		put_le16(x->pci.cfg + 0x04, (uint16_t)((o[1] & 1) << 10 | 2));
		x->pci.ops->cfg_write(&x->pci, 0x04, 2);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(RAM + 2 * GUARD), *ram = buf + GUARD;
	struct guest_mem gm;
	struct xhci *x = malloc(sizeof(*x));

	check(buf && x);
	memset(buf, 0xA5, RAM + 2 * GUARD);
	memset(ram, 0, RAM);
	gm_init_buffer(&gm, ram, RAM);
	check(xhci_init(x, &gm, NULL, set_irq, NULL) == 0);
	x->pci.slot = 4;
	level = 0;
	for (size_t pos = 0; pos + OP <= size; pos += OP) {
		bool any = false;

		op(x, ram, data + pos);
		for (unsigned i = 0; i < XHCI_INTRS; i++)
			any |= (rd(x, 0x1020 + 0x20 * i) & 3) == 3;
		check(!level || any);
	}
	for (unsigned i = 0; i < GUARD; i++)
		check(buf[i] == 0xA5 && buf[GUARD + RAM + i] == 0xA5);
	xhci_destroy(x);
	free(x);
	free(buf);
	return 0;
}
