#include "xhci_driver.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/bytes.h"

static void xd_set_irq(void *opaque, unsigned gsi, int level)
{
	struct xdrv *e = opaque;

	assert_true(gsi >= 16 && gsi < 20);
	if (level && !e->level)
		e->raises++;
	e->level = level;
}

uint32_t xd_rd(struct xdrv *e, unsigned off)
{
	uint8_t d[4];

	xhci_mmio(&e->x, off, d, 4, false);
	return get_le32(d);
}

void xd_wr(struct xdrv *e, unsigned off, uint32_t v)
{
	uint8_t d[4];

	put_le32(d, v);
	xhci_mmio(&e->x, off, d, 4, true);
}

void xd_wr64(struct xdrv *e, unsigned off, uint64_t v)
{
	uint8_t d[8];

	put_le64(d, v);
	xhci_mmio(&e->x, off, d, 8, true);
}

void xd_ring_init(struct xdrv *e, struct xd_ring *r, uint64_t base)
{
	r->base = r->enq = base;
	r->pcs = true;
	memset(e->mem + base, 0, RING_TRBS * 16);
	/* The last TRB links back to the first, toggling the cycle. */
	put_le64(e->mem + base + 16 * (RING_TRBS - 1), base);
	put_le32(e->mem + base + 16 * (RING_TRBS - 1) + 12, T_LINK << 10 | 2);
}

/* Queues a TRB; returns its address. */
uint64_t xd_put_trb(struct xdrv *e, struct xd_ring *r, uint64_t param, uint32_t status,
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
bool xd_next_event(struct xdrv *e, struct xd_ev *v)
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
	xd_wr64(e, ERDP, e->ev_deq | 8); /* EHB cleared */
	return true;
}

void xd_expect_event(struct xdrv *e, unsigned type, struct xd_ev *v)
{
	assert_true(xd_next_event(e, v));
	assert_int_equal(v->type, type);
}

void xd_no_event(struct xdrv *e)
{
	struct xd_ev v;

	assert_false(xd_next_event(e, &v));
}

/* A command: queued, doorbell 0, its completion. Returns the completion code. */
unsigned xd_command(struct xdrv *e, uint64_t param, uint32_t ctl, unsigned *slot)
{
	uint64_t at = xd_put_trb(e, &e->cmd, param, 0, ctl);
	struct xd_ev v;

	xd_wr(e, DB(0), 0);
	xd_expect_event(e, T_CMD_EV, &v);
	assert_int_equal(v.param, at);
	if (slot)
		*slot = v.slot;
	return v.cc;
}

void xd_start(struct xdrv *e)
{
	struct xd_ev v;

	xd_wr(e, USBCMD, 2); /* HCRST */
	assert_true(xd_rd(e, USBSTS) & 1);
	xd_wr(e, CONFIG, XHCI_SLOTS);
	xd_wr64(e, DCBAAP, DCBAA);
	xd_ring_init(e, &e->cmd, CMDRING);
	xd_wr64(e, CRCR, CMDRING | 1);
	put_le64(e->mem + ERST, EVRING);
	put_le32(e->mem + ERST + 8, EV_TRBS);
	memset(e->mem + EVRING, 0, 16 * EV_TRBS);
	e->ev_deq = EVRING;
	e->ev_ccs = true;
	xd_wr(e, ERSTSZ, 1);
	xd_wr64(e, ERDP, EVRING);
	xd_wr64(e, ERSTBA, ERST);
	xd_wr(e, IMAN, 2);
	xd_wr(e, USBCMD, 1 | 4); /* R/S, INTE */
	assert_false(xd_rd(e, USBSTS) & 1);
	/* The two connected ports say so. */
	xd_expect_event(e, T_PORT_EV, &v);
	assert_int_equal(v.param >> 24, 1);
	xd_expect_event(e, T_PORT_EV, &v);
	assert_int_equal(v.param >> 24, 2);
	xd_wr(e, PORTSC(1), xd_rd(e, PORTSC(1)) & 0x7F0000u); /* clear the change bits */
	xd_wr(e, PORTSC(2), xd_rd(e, PORTSC(2)) & 0x7F0000u);
}

void xd_port_reset(struct xdrv *e, unsigned port)
{
	struct xd_ev v;

	xd_wr(e, PORTSC(port), 1u << 4 | 1u << 9); /* PR */
	xd_expect_event(e, T_PORT_EV, &v);
	assert_int_equal(v.param >> 24, port);
	assert_true(xd_rd(e, PORTSC(port)) & 2); /* enabled */
	assert_true(xd_rd(e, PORTSC(port)) & (1u << 21));
	xd_wr(e, PORTSC(port), 1u << 21 | 1u << 9);
	assert_false(xd_rd(e, PORTSC(port)) & (1u << 21));
}

/* Input context for Address Device: slot on port, endpoint 0 on its ring. */
void xd_address_ctx(struct xdrv *e, unsigned port, unsigned slot)
{
	uint8_t *c = e->mem + INCTX;

	memset(c, 0, 33 * 32);
	put_le32(c + 4, 3);				     /* A0, A1 */
	put_le32(c + 32, 1u << 27 | 1u << 20);		     /* one context entry, full speed */
	put_le32(c + 32 + 4, port << 16);		     /* root hub port */
	put_le32(c + 64 + 4, 4u << 3 | 64u << 16 | 3u << 1); /* control, 64 bytes */
	xd_ring_init(e, &e->ep0[slot], EP0RING + 0x1000 * slot);
	put_le64(c + 64 + 8, e->ep0[slot].base | 1);
	put_le64(e->mem + DCBAA + 8 * slot, OUTCTX + 0x1000 * slot);
}

/* A control transfer on endpoint 0 of slot; returns the number of bytes the device gave (IN),
 * or -cc of the event that ended it early. */
int xd_control(struct xdrv *e, unsigned slot, uint8_t type, uint8_t req, uint16_t value,
	       uint16_t index, uint16_t length, uint64_t buf)
{
	struct xd_ring *r = &e->ep0[slot];
	bool in = type & 0x80;
	uint64_t setup_pkt = type | (uint64_t)req << 8 | (uint64_t)value << 16 |
			     (uint64_t)index << 32 | (uint64_t)length << 48;
	struct xd_ev v;
	int got = length;

	xd_put_trb(e, r, setup_pkt, 8,
		   T_SETUP << 10 | 1u << 6 | (length ? (in ? 3u : 2u) << 16 : 0));
	if (length)
		xd_put_trb(e, r, buf, length, T_DATA << 10 | (in ? 1u << 16 | 1u << 2 : 0));
	xd_put_trb(e, r, 0, 0, T_STATUS << 10 | 1u << 5 | (in && length ? 0 : 1u << 16));
	xd_wr(e, DB(slot), 1);
	xd_expect_event(e, T_XFER_EV, &v);
	assert_int_equal(v.slot, slot);
	assert_int_equal(v.ep, 1);
	if (v.cc == CC_SHORT_PACKET) {
		got = length - (int)v.len;
		xd_expect_event(e, T_XFER_EV, &v);
	}
	return v.cc == CC_SUCCESS ? got : -(int)v.cc;
}

/* Enables a slot for the device on port and takes it to the Configured state, as Linux does. */
unsigned xd_enumerate(struct xdrv *e, unsigned port)
{
	unsigned slot;
	uint8_t *c = e->mem + INCTX;

	xd_port_reset(e, port);
	assert_int_equal(xd_command(e, 0, T_ENABLE << 10, &slot), CC_SUCCESS);
	assert_true(slot >= 1 && slot <= 2);
	xd_address_ctx(e, port, slot);
	assert_int_equal(xd_command(e, INCTX, T_ADDRESS << 10 | slot << 24, NULL), CC_SUCCESS);
	assert_int_equal(e->mem[OUTCTX + 0x1000 * slot + 12], slot);		/* USB address */
	assert_int_equal(e->mem[OUTCTX + 0x1000 * slot + 15] >> 3, 2);		/* Addressed */
	assert_int_equal(e->mem[OUTCTX + 0x1000 * slot + 32] & 7, 1);		/* EP0 running */
	assert_int_equal(xd_control(e, slot, 0x80, 6, 0x0100, 0, 18, BUF), 18); /* device */
	assert_int_equal(e->mem[BUF + 1], 1);
	assert_int_equal(xd_control(e, slot, 0x80, 6, 0x0200, 0, 9, BUF), 9);
	assert_int_equal(get_le16(e->mem + BUF + 2), 34);
	assert_int_equal(xd_control(e, slot, 0x80, 6, 0x0200, 0, 34, BUF), 34);
	assert_int_equal(e->mem[BUF + 29], 0x81);
	/* Endpoint 0x81 is DCI 3: an interrupt IN endpoint on its ring. */
	memset(c, 0, 33 * 32);
	put_le32(c + 4, 1u << 3 | 1);
	put_le32(c + 32, 3u << 27);
	put_le32(c + 32 + 4, port << 16);
	put_le32(c + 32 * 4 + 4, 7u << 3 | 8u << 16 | 3u << 1);
	xd_ring_init(e, &e->intr[slot], INTRING + 0x1000 * slot);
	put_le64(c + 32 * 4 + 8, e->intr[slot].base | 1);
	assert_int_equal(xd_command(e, INCTX, T_CONFIGURE << 10 | slot << 24, NULL), CC_SUCCESS);
	assert_int_equal(e->mem[OUTCTX + 0x1000 * slot + 15] >> 3, 3); /* Configured */
	assert_int_equal(xd_control(e, slot, 0x00, 9, 1, 0, 0, 0), 0); /* SET_CONFIGURATION */
	return slot;
}

void xd_init(struct xdrv *e)
{
	memset(e, 0, sizeof(*e));
	e->mem = calloc(1, MEM_SIZE);
	assert_non_null(e->mem);
	gm_init_buffer(&e->gm, e->mem, MEM_SIZE);
	assert_int_equal(xhci_init(&e->x, &e->gm, NULL, xd_set_irq, e), 0);
	e->x.pci.slot = 3;
	xd_start(e);
}

void xd_fini(struct xdrv *e)
{
	xhci_destroy(&e->x);
	free(e->mem);
}
