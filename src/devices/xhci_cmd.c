/* The xHCI command ring: what doorbell 0 runs (xhci.h). Slots and endpoints live in struct
 * xhci_slot; the output device context in guest memory is written from them (never read
 * back), and the input context is read once per command, through the accessor. */
#include <string.h>

#include "common/bytes.h"
#include "devices/xhci.h"

#define TRB_ENABLE_SLOT	 9
#define TRB_DISABLE_SLOT 10
#define TRB_ADDRESS	 11
#define TRB_CONFIGURE	 12
#define TRB_EVALUATE	 13
#define TRB_RESET_EP	 14
#define TRB_STOP_EP	 15
#define TRB_SET_DEQ	 16
#define TRB_RESET_DEVICE 17
#define TRB_NOOP_CMD	 23
#define TRB_CMD_COMPLETE 33
#define CMD_BSR		 (1u << 9) /* Address Device: block SET_ADDRESS */
#define CMD_DC		 (1u << 9) /* Configure Endpoint: deconfigure */
#define MAX_COMMANDS	 1024	   /* per doorbell */
#define INPUT_CTX_SIZE	 (33u * 32u)
#define SLOT_DEFAULT	 1
#define SLOT_ADDRESSED	 2
#define SLOT_CONFIGURED	 3

static unsigned slot_state(const struct xhci_slot *s)
{
	return get_le32(s->ctx + 12) >> 27;
}

static void set_slot_state(struct xhci_slot *s, unsigned state, unsigned addr)
{
	put_le32(s->ctx + 12, (get_le32(s->ctx + 12) & 0x07FFFF00u) | state << 27 | addr);
}

static void slot_sync(struct xhci *x, unsigned id)
{
	struct xhci_slot *s = &x->slot[id];

	if (s->out)
		gm_write(x->mem, s->out, s->ctx, 32); /* a bad context is the guest's to see */
}

static void complete(struct xhci *x, uint64_t trb, unsigned cc, unsigned slot)
{
	uint8_t ev[16] = {0};

	put_le64(ev, trb);
	put_le32(ev + 8, cc << 24);
	put_le32(ev + 12, TRB_CMD_COMPLETE << 10 | slot << 24);
	xhci_event(x, 0, ev, true);
}

static struct xhci_slot *get_slot(struct xhci *x, unsigned id)
{
	return id >= 1 && id <= XHCI_SLOTS && x->slot[id].enabled ? &x->slot[id] : NULL;
}

/* Endpoints 2..31 off (deconfigure, reset device). */
static void drop_eps(struct xhci *x, unsigned id)
{
	for (unsigned dci = 2; dci < XHCI_EPS; dci++) {
		struct xhci_ep *ep = &x->slot[id].ep[dci];

		if (ep->state != EP_DISABLED) {
			ep->state = EP_DISABLED;
			xhci_ep_sync(x, id, dci);
		}
	}
}

static void ep_load(struct xhci_ep *ep, const uint8_t *ctx)
{
	uint64_t deq = get_le64(ctx + 8);

	memcpy(ep->ctx, ctx, 32);
	ep->type = (ctx[4] >> 3) & 7;
	ep->ring.deq = deq & ~0xFull;
	ep->ring.ccs = deq & 1;
	ep->state = EP_RUNNING;
}

static unsigned enable_slot(struct xhci *x, unsigned *id)
{
	unsigned max = x->config < XHCI_SLOTS ? x->config : XHCI_SLOTS;

	for (unsigned i = 1; i <= max; i++) {
		if (!x->slot[i].enabled) {
			memset(&x->slot[i], 0, sizeof(x->slot[i]));
			x->slot[i].enabled = true;
			*id = i;
			return CC_SUCCESS;
		}
	}
	return CC_NO_SLOTS;
}

static unsigned address_device(struct xhci *x, unsigned id, const uint8_t *trb)
{
	struct xhci_slot *s = get_slot(x, id);
	bool bsr = get_le32(trb + 12) & CMD_BSR;
	uint8_t in[96], dcbaa[8];
	unsigned st, port;
	uint64_t out;

	if (!s)
		return CC_SLOT_NOT_ENABLED;
	st = slot_state(s);
	if (st > SLOT_DEFAULT || (st == SLOT_DEFAULT && bsr))
		return CC_CONTEXT_STATE;
	if (gm_read(x->mem, get_le64(trb) & ~0xFull, in, sizeof(in)) < 0)
		return CC_TRB;
	if ((get_le32(in + 4) & 3) != 3 || ((in[64 + 4] >> 3) & 7) != EPT_CONTROL)
		return CC_PARAMETER;
	port = in[32 + 6];
	if (port < 1 || port > XHCI_PORTS || (get_le32(in + 32) & 0xFFFFF) ||
	    !x->port[port - 1].dev || !(x->port[port - 1].portsc & 2))
		return CC_TRANSACTION; /* no device answers there (we have no hubs) */
	if (gm_read(x->mem, x->dcbaap + 8ull * id, dcbaa, 8) < 0)
		return CC_PARAMETER;
	out = get_le64(dcbaa) & ~0x3Full;
	if (!out || !gm_ptr(x->mem, out, 32ull * XHCI_EPS))
		return CC_PARAMETER;
	s->out = out;
	memcpy(s->ctx, in + 32, 32);
	set_slot_state(s, bsr ? SLOT_DEFAULT : SLOT_ADDRESSED, bsr ? 0 : id);
	if (!bsr)
		x->port[port - 1].dev->address = (uint8_t)id;
	ep_load(&s->ep[1], in + 64);
	slot_sync(x, id);
	xhci_ep_sync(x, id, 1);
	return CC_SUCCESS;
}

static bool any_ep(const struct xhci_slot *s)
{
	for (unsigned dci = 2; dci < XHCI_EPS; dci++)
		if (s->ep[dci].state != EP_DISABLED)
			return true;
	return false;
}

/* The slot, if it is Addressed or Configured (else *cc says why not). */
static struct xhci_slot *addressed_slot(struct xhci *x, unsigned id, unsigned *cc)
{
	struct xhci_slot *s = get_slot(x, id);

	*cc = !s ? CC_SLOT_NOT_ENABLED : CC_CONTEXT_STATE;
	if (!s || (slot_state(s) != SLOT_ADDRESSED && slot_state(s) != SLOT_CONFIGURED))
		return NULL;
	return s;
}

static unsigned configure(struct xhci *x, unsigned id, const uint8_t *trb)
{
	uint8_t in[INPUT_CTX_SIZE];
	uint32_t drop, add;
	unsigned cc;
	struct xhci_slot *s = addressed_slot(x, id, &cc);

	if (!s)
		return cc;
	if (get_le32(trb + 12) & CMD_DC) {
		drop_eps(x, id);
		set_slot_state(s, SLOT_ADDRESSED, get_le32(s->ctx + 12) & 0xFF);
		slot_sync(x, id);
		return CC_SUCCESS;
	}
	if (gm_read(x->mem, get_le64(trb) & ~0xFull, in, sizeof(in)) < 0)
		return CC_TRB;
	drop = get_le32(in) & ~3u;
	add = get_le32(in + 4);
	for (unsigned dci = 2; dci < XHCI_EPS; dci++) { /* check everything before changing */
		const uint8_t *c = in + 32 * (dci + 1);

		if ((add >> dci & 1) && (((c[4] >> 3) & 7) == 0 || !(get_le64(c + 8) & ~0xFull)))
			return CC_PARAMETER;
	}
	for (unsigned dci = 2; dci < XHCI_EPS; dci++) {
		if (drop >> dci & 1)
			s->ep[dci].state = EP_DISABLED;
		if (add >> dci & 1)
			ep_load(&s->ep[dci], in + 32 * (dci + 1));
		if ((drop | add) >> dci & 1)
			xhci_ep_sync(x, id, dci);
	}
	if (add & 1) /* Context Entries */
		put_le32(s->ctx,
			 (get_le32(s->ctx) & 0x07FFFFFFu) | (get_le32(in + 32) & 0xF8000000u));
	set_slot_state(s, any_ep(s) ? SLOT_CONFIGURED : SLOT_ADDRESSED,
		       get_le32(s->ctx + 12) & 0xFF);
	slot_sync(x, id);
	return CC_SUCCESS;
}

static unsigned evaluate(struct xhci *x, unsigned id, const uint8_t *trb)
{
	struct xhci_slot *s = get_slot(x, id);
	uint8_t in[96];
	uint32_t add;

	if (!s)
		return CC_SLOT_NOT_ENABLED;
	if (gm_read(x->mem, get_le64(trb) & ~0xFull, in, sizeof(in)) < 0)
		return CC_TRB;
	add = get_le32(in + 4);
	if (add & 1) { /* max exit latency, interrupter target */
		put_le32(s->ctx + 4,
			 (get_le32(s->ctx + 4) & ~0xFFFFu) | (get_le32(in + 36) & 0xFFFF));
		put_le32(s->ctx + 8,
			 (get_le32(s->ctx + 8) & 0x003FFFFFu) | (get_le32(in + 40) & 0xFFC00000u));
		slot_sync(x, id);
	}
	if (add & 2) { /* endpoint 0's max packet size */
		put_le32(s->ep[1].ctx + 4, (get_le32(s->ep[1].ctx + 4) & 0xFFFFu) |
					       (get_le32(in + 68) & 0xFFFF0000u));
		xhci_ep_sync(x, id, 1);
	}
	return CC_SUCCESS;
}

/* Reset Endpoint, Stop Endpoint, Set TR Dequeue Pointer: state changes of one endpoint. */
static unsigned ep_command(struct xhci *x, unsigned type, unsigned id, const uint8_t *trb)
{
	struct xhci_slot *s = get_slot(x, id);
	unsigned dci = (get_le32(trb + 12) >> 16) & 0x1F;
	struct xhci_ep *ep;

	if (!s)
		return CC_SLOT_NOT_ENABLED;
	ep = &s->ep[dci];
	if (dci == 0 || ep->state == EP_DISABLED)
		return CC_EP_NOT_ENABLED;
	switch (type) {
	case TRB_RESET_EP:
		if (ep->state != EP_HALTED)
			return CC_CONTEXT_STATE;
		ep->state = EP_STOPPED;
		break;
	case TRB_STOP_EP:
		if (ep->state != EP_RUNNING)
			return CC_CONTEXT_STATE;
		xhci_xfer_stopped(x, id, dci);
		ep->state = EP_STOPPED;
		break;
	default:
		if (ep->state != EP_STOPPED && ep->state != EP_ERROR)
			return CC_CONTEXT_STATE;
		ep->ring.deq = get_le64(trb) & ~0xFull;
		ep->ring.ccs = trb[0] & 1;
		break;
	}
	xhci_ep_sync(x, id, dci);
	return CC_SUCCESS;
}

static unsigned reset_device(struct xhci *x, unsigned id)
{
	unsigned cc;
	struct xhci_slot *s = addressed_slot(x, id, &cc);

	if (!s)
		return cc;
	drop_eps(x, id);
	set_slot_state(s, SLOT_DEFAULT, 0);
	slot_sync(x, id);
	return CC_SUCCESS;
}

static void run_command(struct xhci *x, const uint8_t *trb, uint64_t addr)
{
	uint32_t ctl = get_le32(trb + 12);
	unsigned type = (ctl >> 10) & 0x3F, id = ctl >> 24, cc;

	x->stats.commands++;
	switch (type) {
	case TRB_ENABLE_SLOT:
		id = 0;
		cc = enable_slot(x, &id);
		break;
	case TRB_DISABLE_SLOT:
		cc = get_slot(x, id) ? CC_SUCCESS : CC_SLOT_NOT_ENABLED;
		if (cc == CC_SUCCESS)
			memset(&x->slot[id], 0, sizeof(x->slot[id]));
		break;
	case TRB_ADDRESS:
		cc = address_device(x, id, trb);
		break;
	case TRB_CONFIGURE:
		cc = configure(x, id, trb);
		break;
	case TRB_EVALUATE:
		cc = evaluate(x, id, trb);
		break;
	case TRB_RESET_EP:
	case TRB_STOP_EP:
	case TRB_SET_DEQ:
		cc = ep_command(x, type, id, trb);
		break;
	case TRB_RESET_DEVICE:
		cc = reset_device(x, id);
		break;
	case TRB_NOOP_CMD:
		cc = CC_SUCCESS;
		id = 0;
		break;
	default:
		cc = CC_TRB;
		id = 0;
		break;
	}
	complete(x, addr, cc, id <= XHCI_SLOTS ? id : 0);
}

void xhci_cmd_run(struct xhci *x)
{
	uint8_t trb[16];
	uint64_t addr;

	x->crr = true;
	for (unsigned n = 0; n < MAX_COMMANDS && x->crr; n++) {
		int rc = xhci_ring_peek(x, &x->cmd, trb, &addr);

		if (rc == 0)
			return;
		if (rc < 0) { /* the ring itself is broken: say where, and stop it */
			complete(x, x->cmd.deq, CC_TRB, 0);
			x->crr = false;
			return;
		}
		xhci_ring_pop(&x->cmd);
		run_command(x, trb, addr);
	}
}
