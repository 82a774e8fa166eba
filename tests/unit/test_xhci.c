/* The xHCI controller and its HID devices, driven through the registers by a small driver
 * that does what a guest's does: reset, command and event rings, Enable Slot, Address Device,
 * GET_DESCRIPTOR, Configure Endpoint, SET_CONFIGURATION, an interrupt IN TRB answered by a
 * pointer or key event; and what a hostile guest does: commands and contexts that make no
 * sense, rings outside RAM or made of Link TRBs, a full event ring. "Guest RAM" is a buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/bytes.h"
#include "devices/xhci.h"

#define MEM_SIZE  (1u << 20)
#define DCBAA	  0x1000ull
#define CMDRING	  0x2000ull
#define ERST	  0x3000ull
#define EVRING	  0x4000ull
#define INCTX	  0x5000ull
#define OUTCTX	  0x6000ull  /* + 0x1000 per slot */
#define EP0RING	  0x10000ull /* + 0x1000 per slot */
#define INTRING	  0x20000ull /* + 0x1000 per slot */
#define BUF	  0x30000ull
#define RING_TRBS 32
#define EV_TRBS	  16

/* Registers. */
#define USBCMD	  0x40
#define USBSTS	  0x44
#define CRCR	  0x58
#define DCBAAP	  0x70
#define CONFIG	  0x78
#define PORTSC(p) (0x440 + 0x10 * ((p)-1))
#define IMAN	  0x1020
#define ERSTSZ	  0x1028
#define ERSTBA	  0x1030
#define ERDP	  0x1038
#define DB(s)	  (0x2000 + 4 * (s))

enum {
	T_NORMAL = 1,
	T_SETUP = 2,
	T_DATA = 3,
	T_STATUS = 4,
	T_LINK = 6,
	T_ENABLE = 9,
	T_DISABLE = 10,
	T_ADDRESS = 11,
	T_CONFIGURE = 12,
	T_EVALUATE = 13,
	T_RESET_EP = 14,
	T_STOP_EP = 15,
	T_SET_DEQ = 16,
	T_NOOP = 23,
	T_XFER_EV = 32,
	T_CMD_EV = 33,
	T_PORT_EV = 34,
};

struct ring {
	uint64_t base, enq;
	bool pcs;
};

struct env {
	uint8_t *mem;
	struct guest_mem gm;
	struct xhci x;
	int level;
	unsigned raises;
	struct ring cmd, ep0[3], intr[3];
	uint64_t ev_deq;
	bool ev_ccs;
};

struct ev {
	uint64_t param;
	unsigned cc, len, type, slot, ep;
};

static void set_irq(void *opaque, unsigned gsi, int level)
{
	struct env *e = opaque;

	assert_true(gsi >= 16 && gsi < 20);
	if (level && !e->level)
		e->raises++;
	e->level = level;
}

static uint32_t rd(struct env *e, unsigned off)
{
	uint8_t d[4];

	xhci_mmio(&e->x, off, d, 4, false);
	return get_le32(d);
}

static void wr(struct env *e, unsigned off, uint32_t v)
{
	uint8_t d[4];

	put_le32(d, v);
	xhci_mmio(&e->x, off, d, 4, true);
}

static void wr64(struct env *e, unsigned off, uint64_t v)
{
	uint8_t d[8];

	put_le64(d, v);
	xhci_mmio(&e->x, off, d, 8, true);
}

static void ring_init(struct env *e, struct ring *r, uint64_t base)
{
	r->base = r->enq = base;
	r->pcs = true;
	memset(e->mem + base, 0, RING_TRBS * 16);
	/* The last TRB links back to the first, toggling the cycle. */
	put_le64(e->mem + base + 16 * (RING_TRBS - 1), base);
	put_le32(e->mem + base + 16 * (RING_TRBS - 1) + 12, T_LINK << 10 | 2);
}

/* Queues a TRB; returns its address. */
static uint64_t put_trb(struct env *e, struct ring *r, uint64_t param, uint32_t status,
			uint32_t ctl)
{
	uint64_t at = r->enq;
	uint8_t *p = e->mem + at;

	put_le64(p, param);
	put_le32(p + 8, status);
	put_le32(p + 12, (ctl & ~1u) | r->pcs);
	r->enq += 16;
	if (r->enq == r->base + 16 * (RING_TRBS - 1)) {
		uint8_t *l = e->mem + r->enq;

		put_le32(l + 12, (get_le32(l + 12) & ~1u) | r->pcs);
		r->enq = r->base;
		r->pcs = !r->pcs;
	}
	return at;
}

/* The next event, if any (the driver's dequeue pointer follows). */
static bool next_event(struct env *e, struct ev *v)
{
	uint8_t *p = e->mem + e->ev_deq;
	uint32_t ctl = get_le32(p + 12);

	if ((ctl & 1) != e->ev_ccs)
		return false;
	v->param = get_le64(p);
	v->cc = get_le32(p + 8) >> 24;
	v->len = get_le32(p + 8) & 0xFFFFFF;
	v->type = (ctl >> 10) & 0x3F;
	v->slot = ctl >> 24;
	v->ep = (ctl >> 16) & 0x1F;
	e->ev_deq += 16;
	if (e->ev_deq == EVRING + 16 * EV_TRBS) {
		e->ev_deq = EVRING;
		e->ev_ccs = !e->ev_ccs;
	}
	wr64(e, ERDP, e->ev_deq | 8); /* EHB cleared */
	return true;
}

static void expect_event(struct env *e, unsigned type, struct ev *v)
{
	assert_true(next_event(e, v));
	assert_int_equal(v->type, type);
}

static void no_event(struct env *e)
{
	struct ev v;

	assert_false(next_event(e, &v));
}

/* A command: queued, doorbell 0, its completion. Returns the completion code. */
static unsigned command(struct env *e, uint64_t param, uint32_t ctl, unsigned *slot)
{
	uint64_t at = put_trb(e, &e->cmd, param, 0, ctl);
	struct ev v;

	wr(e, DB(0), 0);
	expect_event(e, T_CMD_EV, &v);
	assert_int_equal(v.param, at);
	if (slot)
		*slot = v.slot;
	return v.cc;
}

static void start(struct env *e)
{
	struct ev v;

	wr(e, USBCMD, 2); /* HCRST */
	assert_true(rd(e, USBSTS) & 1);
	wr(e, CONFIG, XHCI_SLOTS);
	wr64(e, DCBAAP, DCBAA);
	ring_init(e, &e->cmd, CMDRING);
	wr64(e, CRCR, CMDRING | 1);
	put_le64(e->mem + ERST, EVRING);
	put_le32(e->mem + ERST + 8, EV_TRBS);
	memset(e->mem + EVRING, 0, 16 * EV_TRBS);
	e->ev_deq = EVRING;
	e->ev_ccs = true;
	wr(e, ERSTSZ, 1);
	wr64(e, ERDP, EVRING);
	wr64(e, ERSTBA, ERST);
	wr(e, IMAN, 2);
	wr(e, USBCMD, 1 | 4); /* R/S, INTE */
	assert_false(rd(e, USBSTS) & 1);
	/* The two connected ports say so. */
	expect_event(e, T_PORT_EV, &v);
	assert_int_equal(v.param >> 24, 1);
	expect_event(e, T_PORT_EV, &v);
	assert_int_equal(v.param >> 24, 2);
	wr(e, PORTSC(1), rd(e, PORTSC(1)) & 0x7F0000u); /* clear the change bits */
	wr(e, PORTSC(2), rd(e, PORTSC(2)) & 0x7F0000u);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->mem = calloc(1, MEM_SIZE);
	assert_non_null(e->mem);
	gm_init_buffer(&e->gm, e->mem, MEM_SIZE);
	assert_int_equal(xhci_init(&e->x, &e->gm, NULL, set_irq, e), 0);
	e->x.pci.slot = 3;
	start(e);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;

	xhci_destroy(&e->x);
	free(e->mem);
	free(e);
	return 0;
}

static void port_reset(struct env *e, unsigned port)
{
	struct ev v;

	wr(e, PORTSC(port), 1u << 4 | 1u << 9); /* PR */
	expect_event(e, T_PORT_EV, &v);
	assert_int_equal(v.param >> 24, port);
	assert_true(rd(e, PORTSC(port)) & 2); /* enabled */
	assert_true(rd(e, PORTSC(port)) & (1u << 21));
	wr(e, PORTSC(port), 1u << 21 | 1u << 9);
	assert_false(rd(e, PORTSC(port)) & (1u << 21));
}

/* Input context for Address Device: slot on port, endpoint 0 on its ring. */
static void address_ctx(struct env *e, unsigned port, unsigned slot)
{
	uint8_t *c = e->mem + INCTX;

	memset(c, 0, 33 * 32);
	put_le32(c + 4, 3);				     /* A0, A1 */
	put_le32(c + 32, 1u << 27 | 1u << 20);		     /* one context entry, full speed */
	put_le32(c + 32 + 4, port << 16);		     /* root hub port */
	put_le32(c + 64 + 4, 4u << 3 | 64u << 16 | 3u << 1); /* control, 64 bytes */
	ring_init(e, &e->ep0[slot], EP0RING + 0x1000 * slot);
	put_le64(c + 64 + 8, e->ep0[slot].base | 1);
	put_le64(e->mem + DCBAA + 8 * slot, OUTCTX + 0x1000 * slot);
}

/* A control transfer on endpoint 0 of slot; returns the number of bytes the device gave (IN),
 * or -cc of the event that ended it early. */
static int control(struct env *e, unsigned slot, uint8_t type, uint8_t req, uint16_t value,
		   uint16_t index, uint16_t length, uint64_t buf)
{
	struct ring *r = &e->ep0[slot];
	bool in = type & 0x80;
	uint64_t setup_pkt = type | (uint64_t)req << 8 | (uint64_t)value << 16 |
			     (uint64_t)index << 32 | (uint64_t)length << 48;
	struct ev v;
	int got = length;

	put_trb(e, r, setup_pkt, 8, T_SETUP << 10 | 1u << 6 | (length ? (in ? 3u : 2u) << 16 : 0));
	if (length)
		put_trb(e, r, buf, length, T_DATA << 10 | (in ? 1u << 16 | 1u << 2 : 0));
	put_trb(e, r, 0, 0, T_STATUS << 10 | 1u << 5 | (in && length ? 0 : 1u << 16));
	wr(e, DB(slot), 1);
	expect_event(e, T_XFER_EV, &v);
	assert_int_equal(v.slot, slot);
	assert_int_equal(v.ep, 1);
	if (v.cc == CC_SHORT_PACKET) {
		got = length - (int)v.len;
		expect_event(e, T_XFER_EV, &v);
	}
	return v.cc == CC_SUCCESS ? got : -(int)v.cc;
}

/* Enables a slot for the device on port and takes it to the Configured state, as Linux does. */
static unsigned enumerate(struct env *e, unsigned port)
{
	unsigned slot;
	uint8_t *c = e->mem + INCTX;

	port_reset(e, port);
	assert_int_equal(command(e, 0, T_ENABLE << 10, &slot), CC_SUCCESS);
	assert_true(slot >= 1 && slot <= 2);
	address_ctx(e, port, slot);
	assert_int_equal(command(e, INCTX, T_ADDRESS << 10 | slot << 24, NULL), CC_SUCCESS);
	assert_int_equal(e->mem[OUTCTX + 0x1000 * slot + 12], slot);	     /* USB address */
	assert_int_equal(e->mem[OUTCTX + 0x1000 * slot + 15] >> 3, 2);	     /* Addressed */
	assert_int_equal(e->mem[OUTCTX + 0x1000 * slot + 32] & 7, 1);	     /* EP0 running */
	assert_int_equal(control(e, slot, 0x80, 6, 0x0100, 0, 18, BUF), 18); /* device */
	assert_int_equal(e->mem[BUF + 1], 1);
	assert_int_equal(control(e, slot, 0x80, 6, 0x0200, 0, 9, BUF), 9);
	assert_int_equal(get_le16(e->mem + BUF + 2), 34);
	assert_int_equal(control(e, slot, 0x80, 6, 0x0200, 0, 34, BUF), 34);
	assert_int_equal(e->mem[BUF + 29], 0x81);
	/* Endpoint 0x81 is DCI 3: an interrupt IN endpoint on its ring. */
	memset(c, 0, 33 * 32);
	put_le32(c + 4, 1u << 3 | 1);
	put_le32(c + 32, 3u << 27);
	put_le32(c + 32 + 4, port << 16);
	put_le32(c + 32 * 4 + 4, 7u << 3 | 8u << 16 | 3u << 1);
	ring_init(e, &e->intr[slot], INTRING + 0x1000 * slot);
	put_le64(c + 32 * 4 + 8, e->intr[slot].base | 1);
	assert_int_equal(command(e, INCTX, T_CONFIGURE << 10 | slot << 24, NULL), CC_SUCCESS);
	assert_int_equal(e->mem[OUTCTX + 0x1000 * slot + 15] >> 3, 3); /* Configured */
	assert_int_equal(control(e, slot, 0x00, 9, 1, 0, 0, 0), 0);    /* SET_CONFIGURATION */
	return slot;
}

static void test_registers(void **state)
{
	struct env *e = *state;

	assert_int_equal(rd(e, 0) & 0xFF, 0x40);
	assert_int_equal(rd(e, 0) >> 16, 0x0100);
	assert_int_equal(rd(e, 4) >> 24, XHCI_PORTS);
	assert_int_equal(rd(e, 4) & 0xFF, XHCI_SLOTS);
	assert_int_equal(rd(e, 0x14), 0x2000);
	assert_int_equal(rd(e, 0x18), 0x1000);
	/* Connected: ports 1 and 2, full speed; the others empty but powered. */
	assert_int_equal(rd(e, PORTSC(1)) & 1, 1);
	assert_int_equal((rd(e, PORTSC(2)) >> 10) & 0xF, 1);
	assert_int_equal(rd(e, PORTSC(3)) & 1, 0);
	assert_true(rd(e, PORTSC(8)) & (1u << 9));
	/* Supported Protocol capabilities: USB 2 on 1-4, USB 3 on 5-8. */
	uint32_t xecp = (rd(e, 0x10) >> 16) * 4;
	assert_int_equal(rd(e, xecp) & 0xFF, 2);
	assert_int_equal(rd(e, xecp) >> 24, 2);
	assert_int_equal(rd(e, xecp + 8), 1 | 4 << 8);
	assert_int_equal(rd(e, xecp + 16) >> 24, 3);
	assert_int_equal(rd(e, xecp + 24), 5 | 4 << 8);
	assert_int_equal(e->x.pci.cfg[9], 0x30); /* prog-if: xHCI */
	assert_int_equal(e->x.pci.cfg[10], 0x03);
	assert_int_equal(e->x.pci.cfg[11], 0x0C);
}

static void test_tablet(void **state)
{
	struct env *e = *state;
	unsigned slot;
	struct ev v;
	uint64_t at;
	uint8_t *r;

	assert_false(xhci_tablet_ready(&e->x));
	slot = enumerate(e, XHCI_TABLET_PORT);
	assert_true(xhci_tablet_ready(&e->x));
	assert_false(xhci_keyboard_ready(&e->x));
	/* The report descriptor, as long as the HID descriptor says. */
	assert_int_equal(control(e, slot, 0x81, 6, 0x2100, 0, 9, BUF), 9);
	unsigned rlen = get_le16(e->mem + BUF + 7);
	assert_int_equal(control(e, slot, 0x81, 6, 0x2200, 0, (uint16_t)rlen, BUF), (int)rlen);
	assert_int_equal(e->mem[BUF], 0x05);
	/* The interrupt endpoint waits for an event... */
	at = put_trb(e, &e->intr[slot], BUF + 0x100, 8, T_NORMAL << 10 | 1u << 5 | 1u << 2);
	wr(e, DB(slot), 3);
	no_event(e);
	/* ...and gets the pointer's absolute position. */
	xhci_pointer(&e->x, 12345, 32767, 1 | 4, 0);
	expect_event(e, T_XFER_EV, &v);
	assert_int_equal(v.param, at);
	assert_int_equal(v.cc, CC_SHORT_PACKET);
	assert_int_equal(v.len, 2); /* a 6-byte report in 8 bytes */
	assert_int_equal(v.ep, 3);
	r = e->mem + BUF + 0x100;
	assert_int_equal(r[0], 5);
	assert_int_equal(get_le16(r + 1), 12345);
	assert_int_equal(get_le16(r + 3), 32767);
	/* A report queued first goes at the next TRB, and GET_REPORT says the state. */
	xhci_pointer(&e->x, 1, 2, 0, -1);
	no_event(e);
	put_trb(e, &e->intr[slot], BUF + 0x200, 6, T_NORMAL << 10 | 1u << 5 | 1u << 2);
	wr(e, DB(slot), 3);
	expect_event(e, T_XFER_EV, &v);
	assert_int_equal(v.cc, CC_SUCCESS);
	assert_int_equal(e->mem[BUF + 0x205], 0xFF);
	assert_int_equal(control(e, slot, 0xA1, 1, 0x0100, 0, 6, BUF), 6);
	assert_int_equal(get_le16(e->mem + BUF + 3), 2);
	assert_true(e->raises > 0);
	assert_true(e->x.stats.events > 0);
}

static void test_keyboard(void **state)
{
	struct env *e = *state;
	unsigned slot = enumerate(e, XHCI_KBD_PORT);
	struct ev v;
	uint8_t *r = e->mem + BUF + 0x100;

	assert_true(xhci_keyboard_ready(&e->x));
	assert_int_equal(control(e, slot, 0x21, 0x0B, 0, 0, 0, 0), 0); /* SET_PROTOCOL boot */
	assert_int_equal(control(e, slot, 0x21, 0x0A, 0, 0, 0, 0), 0); /* SET_IDLE 0 */
	e->mem[BUF + 0x300] = 0x02;				       /* Caps Lock */
	assert_int_equal(control(e, slot, 0x21, 0x09, 0x0200, 0, 1, BUF + 0x300), 1);
	assert_int_equal(e->x.keyboard.leds, 2);
	assert_int_equal(control(e, slot, 0x80, 6, 0x0302, 0, 255, BUF), 26); /* "USB Keyboard" */
	assert_int_equal(e->mem[BUF + 2], 'U');
	xhci_key(&e->x, 0xE1, true); /* Left Shift */
	xhci_key(&e->x, 0x04, true); /* A */
	put_trb(e, &e->intr[slot], BUF + 0x100, 8, T_NORMAL << 10 | 1u << 5 | 1u << 2);
	wr(e, DB(slot), 3);
	expect_event(e, T_XFER_EV, &v);
	assert_int_equal(v.cc, CC_SUCCESS);
	assert_int_equal(r[0], 0x02);
	assert_int_equal(r[2], 0);
	put_trb(e, &e->intr[slot], BUF + 0x100, 8, T_NORMAL << 10 | 1u << 5 | 1u << 2);
	wr(e, DB(slot), 3);
	expect_event(e, T_XFER_EV, &v);
	assert_int_equal(r[0], 0x02);
	assert_int_equal(r[2], 0x04);
	/* A port reset unconfigures it: keys go elsewhere until the guest configures it again. */
	port_reset(e, XHCI_KBD_PORT);
	assert_false(xhci_keyboard_ready(&e->x));
}

/* A STALL halts endpoint 0; Reset Endpoint and Set TR Dequeue Pointer bring it back. */
static void test_stall(void **state)
{
	struct env *e = *state;
	unsigned slot = enumerate(e, XHCI_TABLET_PORT);
	uint32_t ctl = (unsigned)slot << 24 | 1u << 16;

	assert_int_equal(control(e, slot, 0x80, 6, 0x0600, 0, 10, BUF), -CC_STALL);
	assert_int_equal(e->mem[OUTCTX + 0x1000 * slot + 32] & 7, 2); /* halted */
	wr(e, DB(slot), 1);
	no_event(e); /* nothing runs on a halted endpoint */
	assert_int_equal(command(e, 0, T_SET_DEQ << 10 | ctl, NULL), CC_CONTEXT_STATE);
	assert_int_equal(command(e, 0, T_RESET_EP << 10 | ctl, NULL), CC_SUCCESS);
	assert_int_equal(
	    command(e, e->ep0[slot].enq | e->ep0[slot].pcs, T_SET_DEQ << 10 | ctl, NULL),
	    CC_SUCCESS);
	assert_int_equal(control(e, slot, 0x80, 6, 0x0100, 0, 18, BUF), 18);
	/* Stop Endpoint: once; the second finds it stopped. */
	assert_int_equal(command(e, 0, T_STOP_EP << 10 | ctl, NULL), CC_SUCCESS);
	assert_int_equal(command(e, 0, T_STOP_EP << 10 | ctl, NULL), CC_CONTEXT_STATE);
	assert_int_equal(control(e, slot, 0x80, 6, 0x0100, 0, 18, BUF), 18); /* doorbell restarts */
}

static void test_bad_commands(void **state)
{
	struct env *e = *state;
	unsigned slot;

	assert_int_equal(command(e, 0, T_NOOP << 10, NULL), CC_SUCCESS);
	assert_int_equal(command(e, 0, 63u << 10, NULL), CC_TRB);
	assert_int_equal(command(e, 0, T_DISABLE << 10 | 5u << 24, NULL), CC_SLOT_NOT_ENABLED);
	assert_int_equal(command(e, 0, T_ADDRESS << 10 | 200u << 24, NULL), CC_SLOT_NOT_ENABLED);
	assert_int_equal(command(e, 0, T_ENABLE << 10, &slot), CC_SUCCESS);
	/* Input context outside RAM; an empty port; no endpoint 0; a DCBAA entry outside RAM. */
	assert_int_equal(command(e, MEM_SIZE - 16, T_ADDRESS << 10 | slot << 24, NULL), CC_TRB);
	address_ctx(e, 3, slot);
	assert_int_equal(command(e, INCTX, T_ADDRESS << 10 | slot << 24, NULL), CC_TRANSACTION);
	address_ctx(e, 1, slot); /* port 1 is not reset: not enabled */
	assert_int_equal(command(e, INCTX, T_ADDRESS << 10 | slot << 24, NULL), CC_TRANSACTION);
	port_reset(e, 1);
	put_le32(e->mem + INCTX + 4, 1);
	assert_int_equal(command(e, INCTX, T_ADDRESS << 10 | slot << 24, NULL), CC_PARAMETER);
	address_ctx(e, 1, slot);
	put_le64(e->mem + DCBAA + 8 * slot, 0xFFFFFFFFFFFFF000ull);
	assert_int_equal(command(e, INCTX, T_ADDRESS << 10 | slot << 24, NULL), CC_PARAMETER);
	/* Configure before Address; endpoint commands on disabled endpoints. */
	assert_int_equal(command(e, INCTX, T_CONFIGURE << 10 | slot << 24, NULL), CC_CONTEXT_STATE);
	assert_int_equal(command(e, 0, T_STOP_EP << 10 | slot << 24 | 3u << 16, NULL),
			 CC_EP_NOT_ENABLED);
	/* Address with BSR: Default state; a second BSR is refused, a real one is not. */
	address_ctx(e, 1, slot);
	assert_int_equal(command(e, INCTX, T_ADDRESS << 10 | 1u << 9 | slot << 24, NULL),
			 CC_SUCCESS);
	assert_int_equal(e->mem[OUTCTX + 0x1000 * slot + 15] >> 3, 1);
	assert_int_equal(command(e, INCTX, T_ADDRESS << 10 | 1u << 9 | slot << 24, NULL),
			 CC_CONTEXT_STATE);
	assert_int_equal(command(e, INCTX, T_EVALUATE << 10 | slot << 24, NULL), CC_SUCCESS);
	assert_int_equal(command(e, INCTX, T_ADDRESS << 10 | slot << 24, NULL), CC_SUCCESS);
	/* Configure with an endpoint context of type 0. */
	memset(e->mem + INCTX, 0, 64);
	put_le32(e->mem + INCTX + 4, 1u << 3);
	memset(e->mem + INCTX + 128, 0, 32);
	assert_int_equal(command(e, INCTX, T_CONFIGURE << 10 | slot << 24, NULL), CC_PARAMETER);
	assert_int_equal(command(e, 0, T_DISABLE << 10 | slot << 24, NULL), CC_SUCCESS);
	assert_int_equal(command(e, 0, T_DISABLE << 10 | slot << 24, NULL), CC_SLOT_NOT_ENABLED);
}

/* Transfer rings that break the rules: each fails its endpoint, nothing else. */
static void test_bad_transfers(void **state)
{
	struct env *e = *state;
	unsigned slot = enumerate(e, XHCI_TABLET_PORT);
	uint32_t ctl = (unsigned)slot << 24 | 1u << 16;
	struct ring *r = &e->ep0[slot];
	struct ev v;

	/* A Data stage with no Setup before it. */
	put_trb(e, r, BUF, 8, T_DATA << 10 | 1u << 16);
	wr(e, DB(slot), 1);
	expect_event(e, T_XFER_EV, &v);
	assert_int_equal(v.cc, CC_TRB);
	assert_int_equal(command(e, 0, T_RESET_EP << 10 | ctl, NULL), CC_SUCCESS);
	assert_int_equal(command(e, r->enq | r->pcs, T_SET_DEQ << 10 | ctl, NULL), CC_SUCCESS);
	/* A buffer outside RAM. */
	assert_int_equal(control(e, slot, 0x80, 6, 0x0100, 0, 18, MEM_SIZE - 4), -CC_TRB);
	assert_int_equal(command(e, 0, T_RESET_EP << 10 | ctl, NULL), CC_SUCCESS);
	assert_int_equal(command(e, r->enq | r->pcs, T_SET_DEQ << 10 | ctl, NULL), CC_SUCCESS);
	/* A ring made of a Link TRB that points at itself. */
	put_le64(e->mem + r->enq, r->enq);
	put_le32(e->mem + r->enq + 12, T_LINK << 10 | r->pcs);
	wr(e, DB(slot), 1);
	expect_event(e, T_XFER_EV, &v);
	assert_int_equal(v.cc, CC_TRB);
	assert_int_equal(e->mem[OUTCTX + 0x1000 * slot + 32] & 7, 2);
	/* A ring pointer outside RAM (Set TR Dequeue takes it; the doorbell finds it bad). */
	assert_int_equal(command(e, 0, T_RESET_EP << 10 | ctl, NULL), CC_SUCCESS);
	assert_int_equal(command(e, (MEM_SIZE * 4) | 1, T_SET_DEQ << 10 | ctl, NULL), CC_SUCCESS);
	wr(e, DB(slot), 1);
	expect_event(e, T_XFER_EV, &v);
	assert_int_equal(v.cc, CC_TRB);
	/* A doorbell for an endpoint the device doesn't have. */
	wr(e, DB(slot), 5);
	wr(e, DB(9), 1);
	wr(e, DB(XHCI_SLOTS + 3), 1);
	no_event(e);
	/* The controller still works: a No-Op command completes. */
	assert_int_equal(command(e, 0, T_NOOP << 10, NULL), CC_SUCCESS);
}

/* The guest stops taking events: the ring fills, events are dropped, nothing else happens. */
static void test_event_ring_full(void **state)
{
	struct env *e = *state;
	struct ev v;

	for (unsigned i = 0; i < 3 * EV_TRBS; i++) {
		put_trb(e, &e->cmd, 0, 0, T_NOOP << 10);
		wr(e, DB(0), 0);
	}
	assert_true(e->x.stats.dropped > 0);
	for (unsigned i = 0; i < EV_TRBS - 1; i++) {
		expect_event(e, T_CMD_EV, &v);
		assert_int_equal(v.cc, CC_SUCCESS);
	}
	no_event(e);
	/* A command ring outside RAM: its completion says so. */
	wr(e, USBCMD, 0);
	wr64(e, CRCR, (MEM_SIZE * 2) | 1);
	wr(e, USBCMD, 1 | 4);
	wr(e, DB(0), 0);
	expect_event(e, T_CMD_EV, &v);
	assert_int_equal(v.cc, CC_TRB);
}

/* INTx follows IMAN.IP with IE and INTE; clearing IP lowers it; EHB holds the next one back. */
static void test_intx(void **state)
{
	struct env *e = *state;
	struct ev v;

	assert_int_equal(e->level, 1); /* the port events at start */
	wr(e, IMAN, 3);
	assert_int_equal(e->level, 0);
	put_trb(e, &e->cmd, 0, 0, T_NOOP << 10);
	wr(e, DB(0), 0);
	assert_int_equal(e->level, 1);
	wr(e, IMAN, 3);
	put_trb(e, &e->cmd, 0, 0, T_NOOP << 10);
	wr(e, DB(0), 0);
	assert_int_equal(e->level, 0); /* EHB: the driver is still busy with the first */
	expect_event(e, T_CMD_EV, &v); /* it moves ERDP past it, clearing EHB: the second fires */
	assert_int_equal(e->level, 1);
	wr(e, IMAN, 3);
	wr(e, USBCMD, 1); /* INTE off */
	expect_event(e, T_CMD_EV, &v);
	put_trb(e, &e->cmd, 0, 0, T_NOOP << 10);
	wr(e, DB(0), 0);
	assert_int_equal(e->level, 0);
	/* Narrow writes are dropped, narrow reads work. */
	uint8_t b = 0xFF;
	xhci_mmio(&e->x, USBCMD, &b, 1, true);
	assert_int_equal(rd(e, USBCMD), 1);
	xhci_mmio(&e->x, 2, &b, 1, false);
	assert_int_equal(b, 0x00);
	xhci_mmio(&e->x, 3, &b, 1, false);
	assert_int_equal(b, 0x01);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_registers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tablet, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keyboard, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stall, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_commands, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_transfers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_event_ring_full, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_intx, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
