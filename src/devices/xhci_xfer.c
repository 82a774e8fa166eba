/* xHCI transfer rings (xhci.h): the ring walk every ring shares (Link TRBs), the endpoint state
 * written to the output context, and the transfers: control TDs on endpoint 0 (Setup, Data,
 * Status stages) and interrupt IN TDs (Normal TRBs, chained, with Event Data and No-Op TRBs) on
 * the HID endpoint. A TD is read whole from a copy of the ring before anything is done, so that
 * one the guest is still writing waits for the next doorbell; a TD that breaks the rules fails
 * with TRB Error (or the device's STALL with Stall Error) and halts its endpoint. */
#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "common/log.h"
#include "devices/xhci.h"

#define TRB_LINK       6
#define LINK_TC	       (1u << 1)
#define MAX_LINKS      16
#define TRB_NORMAL     1
#define TRB_SETUP      2
#define TRB_DATA       3
#define TRB_STATUS     4
#define TRB_EVENT_DATA 7
#define TRB_NOOP       8
#define TRB_TRANSFER   32
#define TRB_ISP	       (1u << 2)
#define TRB_CH	       (1u << 4)
#define TRB_IOC	       (1u << 5)
#define TRB_IDT	       (1u << 6)
#define TRB_BEI	       (1u << 9)
#define TRB_DIR_IN     (1u << 16)
#define EV_ED	       (1u << 2)
#define TD_MAX	       64 /* TRBs in one chain */
#define MAX_TDS	       64 /* per kick */
#define CTRL_BUF       4096u

/* ---- Rings ---- */

int xhci_ring_peek(struct xhci *x, struct xhci_ring *r, uint8_t trb[16], uint64_t *addr)
{
	for (unsigned links = 0; links < MAX_LINKS; links++) {
		uint32_t ctl;

		if (gm_read(x->mem, r->deq, trb, 16) < 0)
			return -EFAULT;
		ctl = get_le32(trb + 12);
		if ((ctl & 1) != r->ccs)
			return 0;
		if (((ctl >> 10) & 0x3F) != TRB_LINK) {
			*addr = r->deq;
			return 1;
		}
		r->deq = get_le64(trb) & ~0xFull;
		if (ctl & LINK_TC)
			r->ccs = !r->ccs;
	}
	return -ELOOP;
}

void xhci_ring_pop(struct xhci_ring *r)
{
	r->deq += 16;
}

/* ---- Contexts ---- */

void xhci_ep_sync(struct xhci *x, unsigned slot, unsigned dci)
{
	struct xhci_slot *s = &x->slot[slot];
	struct xhci_ep *ep = &s->ep[dci];

	put_le32(ep->ctx, (get_le32(ep->ctx) & ~7u) | ep->state);
	put_le64(ep->ctx + 8, ep->ring.deq | ep->ring.ccs);
	if (s->out && gm_write(x->mem, s->out + 32ull * dci, ep->ctx, 32) < 0)
		pr_debug("xhci: slot %u: output context not in RAM", slot);
}

struct usb_hid *xhci_slot_dev(struct xhci *x, unsigned slot)
{
	unsigned port = x->slot[slot].ctx[6];

	if (slot == 0 || slot > XHCI_SLOTS || !x->slot[slot].enabled || port < 1 ||
	    port > XHCI_PORTS)
		return NULL;
	return x->port[port - 1].dev;
}

/* ---- Transfers ---- */

struct trb {
	uint8_t b[16];
	uint64_t addr;
};

/* One chain of TRBs (up to the first without CH). */
struct chain {
	struct trb t[TD_MAX];
	unsigned n;
};

static unsigned type_of(const struct trb *t)
{
	return (get_le32(t->b + 12) >> 10) & 0x3F;
}

static uint32_t ctl_of(const struct trb *t)
{
	return get_le32(t->b + 12);
}

static void event(struct xhci *x, unsigned slot, unsigned dci, const struct trb *t, unsigned cc,
		  uint32_t len, bool ed)
{
	uint8_t ev[16] = {0};
	uint32_t ctl = ctl_of(t);

	put_le64(ev, ed ? get_le64(t->b) : t->addr);
	put_le32(ev + 8, cc << 24 | (len & 0xFFFFFF));
	put_le32(ev + 12, TRB_TRANSFER << 10 | dci << 16 | slot << 24 | (ed ? EV_ED : 0));
	xhci_event(x, get_le32(t->b + 8) >> 22, ev, !(ctl & TRB_BEI));
}

/* The endpoint halts after an error, with an event for the TRB at fault. */
static int halt(struct xhci *x, unsigned slot, unsigned dci, const struct trb *t, unsigned cc)
{
	x->slot[slot].ep[dci].state = EP_HALTED;
	event(x, slot, dci, t, cc, 0, false);
	xhci_ep_sync(x, slot, dci);
	return -1;
}

/* Reads a chain from r on: 1 when whole, 0 when the guest has not written all of it yet,
 * -1 when the ring is broken (*bad says where). */
static int gather(struct xhci *x, struct xhci_ring *r, struct chain *c, struct trb *bad)
{
	c->n = 0;
	for (;;) {
		struct trb *t = &c->t[c->n];
		int rc = xhci_ring_peek(x, r, t->b, &t->addr);

		if (rc <= 0) {
			bad->addr = r->deq;
			memset(bad->b, 0, sizeof(bad->b));
			return rc < 0 ? -1 : 0;
		}
		xhci_ring_pop(r);
		c->n++;
		if (!(ctl_of(t) & TRB_CH))
			return 1;
		if (c->n == TD_MAX) {
			*bad = *t;
			return -1;
		}
	}
}

/* The data of a chain's Normal / Data Stage TRBs: IN copies buf[0..len) into their buffers,
 * OUT gathers their bytes into buf (up to len; the rest is taken and dropped). Posts the events
 * the TRBs ask for (IOC, ISP on a short packet, Event Data). Returns CC_SUCCESS or
 * CC_SHORT_PACKET, or the error (event posted, endpoint halted) as a negative number. */
static int move(struct xhci *x, unsigned slot, unsigned dci, const struct chain *c, bool in,
		uint8_t *buf, unsigned len)
{
	unsigned done = 0, edtla = 0;
	bool shorted = false, told = false;

	for (unsigned i = 0; i < c->n; i++) {
		const struct trb *t = &c->t[i];
		uint32_t ctl = ctl_of(t), tlen = get_le32(t->b + 8) & 0x1FFFF, n;
		unsigned type = type_of(t);

		if (type == TRB_EVENT_DATA) {
			if (ctl & TRB_IOC)
				event(x, slot, dci, t, shorted ? CC_SHORT_PACKET : CC_SUCCESS,
				      edtla, true);
			told |= (ctl & TRB_IOC) != 0;
			edtla = 0;
			continue;
		}
		if (type == TRB_NOOP) {
			if (ctl & TRB_IOC)
				event(x, slot, dci, t, CC_SUCCESS, 0, false);
			continue;
		}
		if ((type != TRB_NORMAL && !(type == TRB_DATA && i == 0)) ||
		    (in && (ctl & TRB_IDT)))
			return halt(x, slot, dci, t, CC_TRB);
		if (shorted) { /* the rest of a short TD is skipped; its last IOC still reports */
			if ((ctl & TRB_IOC) && !told && i == c->n - 1)
				event(x, slot, dci, t, CC_SHORT_PACKET, tlen, false);
			continue;
		}
		n = len - done < tlen ? len - done : tlen;
		if (in ? n && gm_write(x->mem, get_le64(t->b), buf + done, n) < 0
		       : !(ctl & TRB_IDT) && n &&
			     gm_read(x->mem, get_le64(t->b), buf + done, n) < 0)
			return halt(x, slot, dci, t, CC_TRB);
		if (!in && (ctl & TRB_IDT))
			memcpy(buf + done, t->b, n < 8 ? n : 8);
		done += n;
		edtla += in ? n : tlen;
		if (in && n < tlen) {
			shorted = true;
			if (ctl & (TRB_ISP | TRB_IOC)) {
				event(x, slot, dci, t, CC_SHORT_PACKET, tlen - n, false);
				told = true;
			}
		} else if (ctl & TRB_IOC) {
			event(x, slot, dci, t, CC_SUCCESS, 0, false);
		}
	}
	return shorted ? CC_SHORT_PACKET : CC_SUCCESS;
}

static uint32_t chain_len(const struct chain *c)
{
	uint32_t n = 0;

	for (unsigned i = 0; i < c->n; i++)
		if (type_of(&c->t[i]) == TRB_NORMAL || type_of(&c->t[i]) == TRB_DATA)
			n += get_le32(c->t[i].b + 8) & 0x1FFFF;
	return n;
}

/* Runs the control request: the device's answer, or its STALL. */
static int control_run(struct xhci *x, unsigned slot, const struct trb *setup,
		       const struct chain *data, const struct chain *status)
{
	struct usb_hid *dev = xhci_slot_dev(x, slot);
	struct usb_setup s = {setup->b[0], setup->b[1], get_le16(setup->b + 2),
			      get_le16(setup->b + 4), get_le16(setup->b + 6)};
	uint8_t buf[CTRL_BUF];
	bool in = s.type & 0x80;
	uint32_t len = data->n ? chain_len(data) : 0;
	int rc;

	len = len < s.length ? len : s.length;
	len = len < CTRL_BUF ? len : CTRL_BUF;
	if (data->n && ((ctl_of(&data->t[0]) & TRB_DIR_IN) != 0) != in)
		return halt(x, slot, 1, &data->t[0], CC_TRB);
	if (data->n && !in && move(x, slot, 1, data, false, buf, len) < 0)
		return -1;
	rc = dev ? usb_hid_control(dev, &s, buf, len) : USB_STALL;
	if (rc < 0)
		return halt(x, slot, 1, data->n ? &data->t[0] : &status->t[0],
			    dev ? CC_STALL : CC_TRANSACTION);
	if (data->n && in && move(x, slot, 1, data, true, buf, (unsigned)rc) < 0)
		return -1;
	if (ctl_of(setup) & TRB_IOC)
		event(x, slot, 1, setup, CC_SUCCESS, 0, false);
	for (unsigned i = 0; i < status->n; i++) { /* the Status TRB and its Event Data */
		const struct trb *t = &status->t[i];

		if (ctl_of(t) & TRB_IOC)
			event(x, slot, 1, t, CC_SUCCESS, 0, type_of(t) == TRB_EVENT_DATA);
	}
	return 1;
}

/* One control TD: 1 done, 0 not all there yet, -1 failed (endpoint halted). */
static int control_td(struct xhci *x, unsigned slot, struct xhci_ep *ep)
{
	struct chain setup, data, status;
	struct xhci_ring r = ep->ring;
	struct trb bad;
	int rc = gather(x, &r, &setup, &bad);

	if (rc <= 0)
		return rc < 0 ? halt(x, slot, 1, &bad, CC_TRB) : 0;
	if (setup.n != 1 || type_of(&setup.t[0]) != TRB_SETUP || !(ctl_of(&setup.t[0]) & TRB_IDT) ||
	    (get_le32(setup.t[0].b + 8) & 0x1FFFF) != 8) {
		ep->ring = r;
		return halt(x, slot, 1, &setup.t[setup.n - 1], CC_TRB);
	}
	data.n = 0;
	rc = gather(x, &r, &status, &bad);
	if (rc > 0 && type_of(&status.t[0]) == TRB_DATA) {
		data = status;
		rc = gather(x, &r, &status, &bad);
	}
	if (rc <= 0) {
		if (rc < 0)
			ep->ring = r;
		return rc < 0 ? halt(x, slot, 1, &bad, CC_TRB) : 0;
	}
	ep->ring = r;
	if (type_of(&status.t[0]) != TRB_STATUS)
		return halt(x, slot, 1, &status.t[0], CC_TRB);
	return control_run(x, slot, &setup.t[0], &data, &status);
}

/* One interrupt IN TD, when the device has a report for it. */
static int intr_td(struct xhci *x, unsigned slot, unsigned dci, struct xhci_ep *ep,
		   struct usb_hid *dev)
{
	struct chain c;
	uint8_t report[USB_HID_REPORT_MAX];
	struct xhci_ring r = ep->ring;
	struct trb bad;
	int rc;

	if (!usb_hid_pending(dev))
		return 0;
	rc = gather(x, &r, &c, &bad);
	if (rc <= 0) {
		if (rc < 0)
			ep->ring = r;
		return rc < 0 ? halt(x, slot, dci, &bad, CC_TRB) : 0;
	}
	ep->ring = r;
	rc = move(x, slot, dci, &c, true, report, usb_hid_poll(dev, report));
	return rc < 0 ? -1 : 1;
}

void xhci_xfer_kick(struct xhci *x, unsigned slot, unsigned dci)
{
	struct xhci_ep *ep = &x->slot[slot].ep[dci];
	struct usb_hid *dev = xhci_slot_dev(x, slot);
	unsigned in_dci = 2 * (USB_HID_EP_IN & 0xF) + 1;
	int rc = 1;

	for (unsigned n = 0; n < MAX_TDS && rc > 0 && ep->state == EP_RUNNING; n++) {
		x->stats.transfers++;
		if (dci == 1 && ep->type == EPT_CONTROL) {
			rc = control_td(x, slot, ep);
		} else if (dci == in_dci && ep->type == EPT_INT_IN && dev) {
			rc = intr_td(x, slot, dci, ep, dev);
		} else { /* no such endpoint on the device: nobody answers */
			struct trb t;

			rc = xhci_ring_peek(x, &ep->ring, t.b, &t.addr);
			if (rc == 0)
				break;
			if (rc < 0) {
				t.addr = ep->ring.deq;
				memset(t.b, 0, sizeof(t.b));
			}
			rc = halt(x, slot, dci, &t, rc < 0 ? CC_TRB : CC_TRANSACTION);
		}
	}
	if (ep->state == EP_RUNNING)
		xhci_ep_sync(x, slot, dci); /* the dequeue pointer moved */
}

void xhci_xfer_stopped(struct xhci *x, unsigned slot, unsigned dci)
{
	struct xhci_ring r = x->slot[slot].ep[dci].ring;
	struct trb t;

	if (xhci_ring_peek(x, &r, t.b, &t.addr) == 1)
		event(x, slot, dci, &t, CC_STOPPED, get_le32(t.b + 8) & 0x1FFFF, false);
}
