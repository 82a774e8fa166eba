/* The xHCI controller's registers, root ports, interrupters and event rings, its board row, and
 * the input side (xhci.h). Commands are in xhci_cmd.c, rings and transfers in xhci_xfer.c. */
#include "devices/xhci.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/bytes.h"
#include "common/log.h"

/* BAR 0 layout. */
#define CAP_LEN	   0x40u
#define OP	   CAP_LEN
#define PORTS	   (OP + 0x400u)
#define PORTS_END  (PORTS + 0x10u * XHCI_PORTS)
#define EXT_CAPS   0x800u
#define RT	   0x1000u
#define IR0	   (RT + 0x20u)
#define DB	   0x2000u
#define MSIX_TABLE 0x3000u
#define MSIX_PBA   0x3800u

/* Capability registers. */
#define HCIVERSION  0x0100u
#define ERST_MAX    4u /* 2^4 segments */
#define ERST_SEGS   (1u << ERST_MAX)
#define HCC_AC64    (1u << 0)
#define HCC_NSS	    (1u << 7)
#define HCC_PARAMS1 (HCC_AC64 | HCC_NSS | ((EXT_CAPS / 4) << 16))

/* Operational registers (offsets from OP). */
#define USBCMD	 0x00
#define USBSTS	 0x04
#define PAGESIZE 0x08
#define DNCTRL	 0x14
#define CRCR	 0x18
#define DCBAAP	 0x30
#define CONFIG	 0x38

#define CMD_RS	  (1u << 0)
#define CMD_HCRST (1u << 1)
#define CMD_INTE  (1u << 2)
#define CMD_MASK  0x00003F0Du /* R/S, INTE, HSEE, LHCRST.. EU3S as written */
#define STS_HCH	  (1u << 0)
#define STS_HSE	  (1u << 2)
#define STS_EINT  (1u << 3)
#define STS_PCD	  (1u << 4)
#define STS_SRE	  (1u << 10)
#define STS_HCE	  (1u << 12)
#define STS_RW1C  (STS_HSE | STS_EINT | STS_PCD | STS_SRE)
#define CRCR_RCS  (1u << 0)
#define CRCR_CS	  (1u << 1)
#define CRCR_CA	  (1u << 2)
#define CRCR_CRR  (1u << 3)

/* PORTSC. */
#define PORT_CCS    (1u << 0)
#define PORT_PED    (1u << 1)
#define PORT_PR	    (1u << 4)
#define PORT_PLS_SH 5
#define PORT_PLS    (0xFu << PORT_PLS_SH)
#define PORT_PP	    (1u << 9)
#define PORT_SPEED  (0xFu << 10)
#define PORT_LWS    (1u << 16)
#define PORT_CSC    (1u << 17)
#define PORT_PEC    (1u << 18)
#define PORT_WRC    (1u << 19)
#define PORT_PRC    (1u << 21)
#define PORT_PLC    (1u << 22)
#define PORT_CHANGE (0x7Fu << 17) /* CSC..CEC, write 1 to clear */
#define PORT_WAKE   (7u << 25)	  /* WCE, WDE, WOE: kept as written */
#define PORT_WPR    (1u << 31)
#define PLS_U0	    0u
#define PLS_U3	    3u
#define PLS_RXDET   5u
#define PLS_POLLING 7u
#define SPEED_FULL  1u

/* Interrupter registers (offsets within one). */
#define IMAN	 0x00
#define IMOD	 0x04
#define ERSTSZ	 0x08
#define ERSTBA	 0x10
#define ERDP	 0x18
#define IMAN_IP	 (1u << 0)
#define IMAN_IE	 (1u << 1)
#define ERDP_EHB (1ull << 3)

#define TRB_PORT_STATUS	 34
#define PCI_CMD		 0x04
#define PCI_INTX_DISABLE 0x0400
#define SBRN		 0x60 /* serial bus release number: USB 3.0 */

static bool msix_on(struct xhci *x)
{
	return x->has_msix && msix_enabled(&x->msix);
}

/* ---- Interrupts and event rings ---- */

static void update_intx(struct xhci *x)
{
	int level = 0;

	if (!msix_on(x) && (x->usbcmd & CMD_INTE) &&
	    !(get_le16(x->pci.cfg + PCI_CMD) & PCI_INTX_DISABLE)) {
		for (unsigned i = 0; i < XHCI_INTRS; i++)
			if ((x->intr[i].iman & (IMAN_IP | IMAN_IE)) == (IMAN_IP | IMAN_IE))
				level = 1;
	}
	if (level != x->intx_level && x->set_irq)
		x->set_irq(x->irq_opaque, PCI_INTX_GSI0 + x->pci.slot % 4, level);
	x->intx_level = level;
}

/* An event waits: interrupts unless the guest's handler is still busy (EHB). */
static void intr_fire(struct xhci *x, unsigned i)
{
	struct xhci_intr *in = &x->intr[i];

	if (!in->pending || (in->erdp & ERDP_EHB))
		return;
	in->pending = false;
	in->iman |= IMAN_IP;
	in->erdp |= ERDP_EHB;
	x->usbsts |= STS_EINT;
	if (msix_on(x)) { /* a message: IP is taken as delivered (xHCI 1.2 section 4.17.5) */
		if ((in->iman & IMAN_IE) && (x->usbcmd & CMD_INTE) && msix_notify(&x->msix, i))
			in->iman &= ~IMAN_IP;
	} else {
		update_intx(x);
	}
}

/* The base and size of event ring segment seg, from the segment table. */
static int erst_entry(struct xhci *x, struct xhci_intr *in, uint32_t seg, uint64_t *base,
		      uint32_t *size)
{
	uint8_t e[16];

	if (gm_read(x->mem, in->erstba + 16ull * seg, e, sizeof(e)) < 0)
		return -EFAULT;
	*base = get_le64(e) & ~0x3Full;
	*size = get_le32(e + 8) & 0xFFFF;
	return *size ? 0 : -EINVAL;
}

static uint32_t erst_size(const struct xhci_intr *in)
{
	uint32_t n = in->erstsz & 0xFFFF;

	return n < ERST_SEGS ? n : ERST_SEGS;
}

static bool seg_load(struct xhci *x, struct xhci_intr *in)
{
	if (!erst_size(in)) /* also when the guest cleared ERSTSZ under a loaded segment */
		return false;
	if (in->seg_ok)
		return true;
	if (in->seg >= erst_size(in))
		in->seg = 0;
	if (erst_entry(x, in, in->seg, &in->seg_base, &in->seg_size) < 0) {
		x->usbsts |= STS_HCE;
		return false;
	}
	if (in->enq >= in->seg_size)
		in->enq = 0;
	in->seg_ok = true;
	return true;
}

/* Where the next event after the current one would go (0 if the table can't be read). */
static uint64_t next_slot(struct xhci *x, struct xhci_intr *in)
{
	uint64_t base;
	uint32_t size;

	if (in->enq + 1 < in->seg_size)
		return in->seg_base + 16ull * (in->enq + 1);
	if (erst_entry(x, in, (in->seg + 1) % erst_size(in), &base, &size) < 0)
		return 0;
	return base;
}

void xhci_event(struct xhci *x, unsigned intr, uint8_t ev[16], bool irq)
{
	struct xhci_intr *in = &x->intr[intr < XHCI_INTRS ? intr : 0];
	uint64_t at;

	if (!(x->usbcmd & CMD_RS) || !seg_load(x, in))
		return;
	at = in->seg_base + 16ull * in->enq;
	if (next_slot(x, in) == (in->erdp & ~0xFull)) {
		x->stats.dropped++; /* full: the guest has not taken what is there */
		return;
	}
	ev[12] = (uint8_t)((ev[12] & ~1u) | in->pcs);
	/* The dword with the cycle bit last: the guest may be reading the ring as it fills (a
	 * report comes from the display thread while a vCPU runs). */
	if (gm_write(x->mem, at, ev, 12) < 0) {
		x->usbsts |= STS_HCE;
		return;
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	gm_write(x->mem, at + 12, ev + 12, 4);
	x->stats.events++;
	if (++in->enq >= in->seg_size) {
		in->enq = 0;
		in->seg = (in->seg + 1) % erst_size(in);
		if (in->seg == 0)
			in->pcs = !in->pcs;
		in->seg_ok = false;
	}
	if (irq) {
		in->pending = true;
		intr_fire(x, intr < XHCI_INTRS ? intr : 0);
	}
}

/* The guest moved its dequeue pointer: events it has not seen yet interrupt again. */
static void erdp_moved(struct xhci *x, unsigned i)
{
	struct xhci_intr *in = &x->intr[i];

	if (in->seg_ok && (in->erdp & ~0xFull) != in->seg_base + 16ull * in->enq)
		in->pending = true;
	intr_fire(x, i);
}

/* ---- Root ports ---- */

static void port_event(struct xhci *x, unsigned p)
{
	uint8_t ev[16] = {0};

	x->usbsts |= STS_PCD;
	put_le32(ev, (p + 1) << 24);
	put_le32(ev + 8, (uint32_t)CC_SUCCESS << 24);
	put_le32(ev + 12, TRB_PORT_STATUS << 10);
	xhci_event(x, 0, ev, true);
}

static void set_pls(struct xhci_port *pt, uint32_t pls)
{
	pt->portsc = (pt->portsc & ~PORT_PLS) | (pls << PORT_PLS_SH);
}

/* Power-on state: powered, a device connected (and its connection to be reported) or not. */
static void port_init(struct xhci_port *pt)
{
	pt->portsc = PORT_PP;
	if (pt->dev) {
		pt->portsc |= PORT_CCS | PORT_CSC | (SPEED_FULL << 10);
		set_pls(pt, PLS_POLLING);
		usb_hid_reset(pt->dev);
	} else {
		set_pls(pt, PLS_RXDET);
	}
}

static void port_reset(struct xhci *x, unsigned p, bool warm)
{
	struct xhci_port *pt = &x->port[p];

	if (!pt->dev)
		return;
	usb_hid_reset(pt->dev);
	pt->portsc |= PORT_PED | PORT_PRC | (warm ? PORT_WRC : 0);
	set_pls(pt, PLS_U0);
	port_event(x, p);
}

static void port_write(struct xhci *x, unsigned p, uint32_t v)
{
	struct xhci_port *pt = &x->port[p];
	uint32_t pls = (v & PORT_PLS) >> PORT_PLS_SH;

	pt->portsc &= ~(v & PORT_CHANGE);
	pt->portsc = (pt->portsc & ~PORT_WAKE) | (v & PORT_WAKE);
	if (v & PORT_PED)
		pt->portsc &= ~PORT_PED; /* software disables the port */
	if (v & (PORT_PR | PORT_WPR)) {
		port_reset(x, p, (v & PORT_WPR) && p >= XHCI_USB2_PORTS);
		return;
	}
	if (!(v & PORT_LWS) || !(pt->portsc & PORT_PED))
		return;
	if (pls == PLS_U3) {
		set_pls(pt, PLS_U3);
	} else if (pls == PLS_U0 && ((pt->portsc & PORT_PLS) >> PORT_PLS_SH) == PLS_U3) {
		set_pls(pt, PLS_U0); /* resume */
		pt->portsc |= PORT_PLC;
		port_event(x, p);
	}
}

/* ---- Controller state ---- */

static void hc_reset(struct xhci *x)
{
	x->usbcmd = 0;
	x->usbsts = STS_HCH;
	x->dnctrl = 0;
	x->config = 0;
	x->dcbaap = 0;
	memset(&x->cmd, 0, sizeof(x->cmd));
	x->crr = false;
	memset(x->intr, 0, sizeof(x->intr));
	for (unsigned i = 0; i < XHCI_INTRS; i++) {
		x->intr[i].imod = 4000; /* 1 ms, the reset value */
		x->intr[i].pcs = true;
	}
	memset(x->slot, 0, sizeof(x->slot));
	for (unsigned p = 0; p < XHCI_PORTS; p++)
		port_init(&x->port[p]);
	update_intx(x);
}

static void usbcmd_write(struct xhci *x, uint32_t v)
{
	bool was_running = x->usbcmd & CMD_RS;

	if (v & CMD_HCRST) {
		hc_reset(x);
		return;
	}
	x->usbcmd = v & CMD_MASK;
	if (x->usbcmd & CMD_RS) {
		x->usbsts &= ~STS_HCH;
		if (!was_running) /* connections made while halted are told now */
			for (unsigned p = 0; p < XHCI_PORTS; p++)
				if (x->port[p].portsc & PORT_CHANGE)
					port_event(x, p);
	} else {
		x->usbsts |= STS_HCH;
		x->crr = false;
	}
	update_intx(x);
	for (unsigned i = 0; i < XHCI_INTRS; i++)
		intr_fire(x, i);
}

static void crcr_write(struct xhci *x, uint32_t v, bool hi)
{
	if (x->crr) {
		if (!hi && (v & (CRCR_CS | CRCR_CA))) {
			uint8_t ev[16] = {0};

			x->crr = false;
			put_le64(ev, x->cmd.deq);
			put_le32(ev + 8, (uint32_t)CC_CMD_RING_STOPPED << 24);
			put_le32(ev + 12, 33u << 10);
			xhci_event(x, 0, ev, true);
		}
		return;
	}
	if (hi) {
		x->cmd.deq = (x->cmd.deq & 0xFFFFFFFFull) | (uint64_t)v << 32;
	} else {
		x->cmd.deq = (x->cmd.deq & ~0xFFFFFFFFull) | (v & ~0x3Fu);
		x->cmd.ccs = v & CRCR_RCS;
	}
}

static void set64(uint64_t *r, uint32_t v, bool hi, uint64_t mask)
{
	uint64_t n = hi ? (*r & 0xFFFFFFFFull) | (uint64_t)v << 32 : (*r & ~0xFFFFFFFFull) | v;

	*r = n & mask;
}

static uint32_t get64(uint64_t r, bool hi)
{
	return (uint32_t)(hi ? r >> 32 : r);
}

/* ---- Register dwords ---- */

static uint32_t cap_read(unsigned off)
{
	switch (off) {
	case 0x00:
		return CAP_LEN | HCIVERSION << 16;
	case 0x04:
		return XHCI_SLOTS | XHCI_INTRS << 8 | (uint32_t)XHCI_PORTS << 24;
	case 0x08:
		return ERST_MAX << 4;
	case 0x10:
		return HCC_PARAMS1;
	case 0x14:
		return DB;
	case 0x18:
		return RT;
	default:
		return 0;
	}
}

/* Two Supported Protocol capabilities: USB 2.0 on ports 1-4, USB 3.0 on 5-8. */
static uint32_t ext_read(unsigned off)
{
	static const uint32_t caps[8] = {
	    0x02000402u,
	    0x20425355u,
	    1u | XHCI_USB2_PORTS << 8,
	    0,
	    0x03000002u,
	    0x20425355u,
	    (XHCI_USB2_PORTS + 1u) | (XHCI_PORTS - XHCI_USB2_PORTS) << 8,
	    0,
	};

	return off < sizeof(caps) ? caps[off / 4] : 0;
}

static uint32_t op_read(struct xhci *x, unsigned off)
{
	switch (off) {
	case USBCMD:
		return x->usbcmd;
	case USBSTS:
		return x->usbsts;
	case PAGESIZE:
		return 1; /* 4 KiB */
	case DNCTRL:
		return x->dnctrl;
	case CRCR:
		return x->crr ? CRCR_CRR : 0;
	case DCBAAP:
	case DCBAAP + 4:
		return get64(x->dcbaap, off & 4);
	case CONFIG:
		return x->config;
	default:
		return 0;
	}
}

static void op_write(struct xhci *x, unsigned off, uint32_t v)
{
	switch (off) {
	case USBCMD:
		usbcmd_write(x, v);
		break;
	case USBSTS:
		x->usbsts &= ~(v & STS_RW1C);
		break;
	case DNCTRL:
		x->dnctrl = v & 0xFFFF;
		break;
	case CRCR:
	case CRCR + 4:
		crcr_write(x, v, off & 4);
		break;
	case DCBAAP:
	case DCBAAP + 4:
		set64(&x->dcbaap, v, off & 4, ~0x3Full);
		break;
	case CONFIG:
		x->config = (v & 0xFF) <= XHCI_SLOTS ? v & 0xFF : XHCI_SLOTS;
		break;
	default:
		break;
	}
}

static uint32_t intr_read(struct xhci *x, unsigned i, unsigned off)
{
	struct xhci_intr *in = &x->intr[i];

	switch (off) {
	case IMAN:
		return in->iman;
	case IMOD:
		return in->imod;
	case ERSTSZ:
		return in->erstsz;
	case ERSTBA:
	case ERSTBA + 4:
		return get64(in->erstba, off & 4);
	case ERDP:
	case ERDP + 4:
		return get64(in->erdp, off & 4);
	default:
		return 0;
	}
}

static void intr_write(struct xhci *x, unsigned i, unsigned off, uint32_t v)
{
	struct xhci_intr *in = &x->intr[i];
	uint64_t ehb = in->erdp & ERDP_EHB;

	switch (off) {
	case IMAN:
		in->iman = (in->iman & ~(v & IMAN_IP) & ~IMAN_IE) | (v & IMAN_IE);
		update_intx(x);
		intr_fire(x, i);
		break;
	case IMOD:
		in->imod = v;
		break;
	case ERSTSZ:
		in->erstsz = v & 0xFFFF;
		in->seg_ok = false; /* the next event reads the table again */
		break;
	case ERSTBA:
	case ERSTBA + 4:
		set64(&in->erstba, v, off & 4, ~0x3Full);
		in->seg_ok = false; /* writing it (re)starts the event ring */
		in->seg = in->enq = 0;
		in->pcs = true;
		break;
	case ERDP:
	case ERDP + 4:
		set64(&in->erdp, v, off & 4, ~ERDP_EHB);
		in->erdp |= (off & 4) ? ehb : ehb & ~((uint64_t)v & ERDP_EHB);
		if (!(off & 4))
			erdp_moved(x, i);
		break;
	default:
		break;
	}
}

static void doorbell(struct xhci *x, unsigned slot, uint32_t v)
{
	unsigned target = v & 0xFF;
	struct xhci_ep *ep;

	if (!(x->usbcmd & CMD_RS))
		return;
	if (slot == 0) {
		if (target == 0)
			xhci_cmd_run(x);
		return;
	}
	if (slot > XHCI_SLOTS || !x->slot[slot].enabled || target < 1 || target >= XHCI_EPS)
		return;
	ep = &x->slot[slot].ep[target];
	if (ep->state == EP_STOPPED) { /* a doorbell restarts a stopped endpoint */
		ep->state = EP_RUNNING;
		xhci_ep_sync(x, slot, target);
	}
	xhci_xfer_kick(x, slot, target);
}

static uint32_t reg_read(struct xhci *x, unsigned off)
{
	if (off < CAP_LEN)
		return cap_read(off);
	if (off >= PORTS && off < PORTS_END)
		return (off & 0xF) == 0 ? x->port[(off - PORTS) / 0x10].portsc : 0;
	if (off < PORTS)
		return op_read(x, off - OP);
	if (off >= EXT_CAPS && off < RT)
		return ext_read(off - EXT_CAPS);
	if (off == RT) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		return (uint32_t)(((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec -
				   x->start_ns) /
				  125000u) &
		       0x3FFF; /* MFINDEX: 125 us */
	}
	if (off >= IR0 && off < IR0 + 0x20u * XHCI_INTRS)
		return intr_read(x, (off - IR0) / 0x20, (off - IR0) % 0x20);
	return 0; /* doorbells read as 0 */
}

static void reg_write(struct xhci *x, unsigned off, uint32_t v)
{
	if (off >= PORTS && off < PORTS_END) {
		if ((off & 0xF) == 0)
			port_write(x, (off - PORTS) / 0x10, v);
	} else if (off >= OP && off < PORTS) {
		op_write(x, off - OP, v);
	} else if (off >= IR0 && off < IR0 + 0x20u * XHCI_INTRS) {
		intr_write(x, (off - IR0) / 0x20, (off - IR0) % 0x20, v);
	} else if (off >= DB && off <= DB + 4u * XHCI_SLOTS) {
		doorbell(x, (off - DB) / 4, v);
	}
}

void xhci_mmio(struct xhci *x, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	if (off >= MSIX_TABLE && off < MSIX_PBA && x->has_msix) {
		msix_table_io(&x->msix, off - MSIX_TABLE, data, len, is_write);
		return;
	}
	if (off >= MSIX_PBA && off < XHCI_BAR_SIZE && x->has_msix) {
		msix_pba_io(&x->msix, off - MSIX_PBA, data, len, is_write);
		return;
	}
	pthread_mutex_lock(&x->lock);
	if (is_write) {
		/* Registers are written as dwords or qwords (low dword first); narrower or
		 * unaligned writes are dropped. */
		if ((len == 4 || len == 8) && !(off & 3) && off + len <= XHCI_BAR_SIZE)
			for (uint32_t i = 0; i < len; i += 4)
				reg_write(x, (unsigned)off + i, get_le32(data + i));
	} else {
		for (uint32_t i = 0; i < len; i++) {
			uint64_t o = off + i;

			data[i] = o < XHCI_BAR_SIZE
				      ? (uint8_t)(reg_read(x, (unsigned)o & ~3u) >> (8 * (o & 3)))
				      : 0;
		}
	}
	pthread_mutex_unlock(&x->lock);
}

/* ---- The PCI function ---- */

static void xhci_bar_io(struct pci_dev *d, unsigned bar, uint64_t off, uint8_t *data, uint32_t len,
			bool is_write)
{
	if (bar == 0)
		xhci_mmio(d->opaque, off, data, len, is_write);
	else if (!is_write)
		memset(data, 0xFF, len);
}

/* MSI-X on or off, or INTx disabled, changes where the interrupt goes. */
static void xhci_cfg_write(struct pci_dev *d, uint32_t off, uint32_t len)
{
	struct xhci *x = d->opaque;

	if (x->has_msix && off < x->msix.cap + 4 && off + len > x->msix.cap + 2)
		msix_cfg_changed(&x->msix);
	pthread_mutex_lock(&x->lock);
	update_intx(x);
	pthread_mutex_unlock(&x->lock);
}

static const struct pci_dev_ops xhci_ops = {.bar_io = xhci_bar_io, .cfg_write = xhci_cfg_write};

int xhci_init(struct xhci *x, const struct guest_mem *mem, struct irq_routes *routes,
	      irq_set_fn set_irq, void *irq_opaque)
{
	struct timespec ts;

	memset(x, 0, sizeof(*x));
	pthread_mutex_init(&x->lock, NULL);
	x->mem = mem;
	x->set_irq = set_irq;
	x->irq_opaque = irq_opaque;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	x->start_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	pci_dev_init(&x->pci, 0x1B36, 0x000D, 0x0C0330, 0x01, 0x1AF4, 0x1100);
	x->pci.ops = &xhci_ops;
	x->pci.opaque = x;
	x->pci.cfg[SBRN] = 0x30;
	x->pci.cfg[SBRN + 1] = 0x20; /* FLADJ: the default frame length */
	/* A 32-bit BAR: firmware places 64-bit ones above 4 GiB, where the board decodes nothing
	 * (bhyve's xHCI does the same; every driver takes either). */
	pci_dev_set_bar(&x->pci, 0, PCI_BAR_MEM32, XHCI_BAR_SIZE);
	if (routes) {
		int rc = msix_init(&x->msix, &x->pci, routes, XHCI_INTRS, 0, MSIX_TABLE, MSIX_PBA);
		if (rc < 0) {
			msix_destroy(&x->msix);
			pthread_mutex_destroy(&x->lock);
			return rc;
		}
		x->has_msix = true;
	}
	usb_hid_init(&x->tablet, USB_HID_TABLET);
	usb_hid_init(&x->keyboard, USB_HID_KEYBOARD);
	x->port[XHCI_TABLET_PORT - 1].dev = &x->tablet;
	x->port[XHCI_KBD_PORT - 1].dev = &x->keyboard;
	hc_reset(x);
	return 0;
}

void xhci_destroy(struct xhci *x)
{
	if (x->has_msix)
		msix_destroy(&x->msix);
	pthread_mutex_destroy(&x->lock);
}

static bool usb_wanted(const struct vm_config *cfg)
{
	return cfg->usb;
}

static void usb_unplug(void *state)
{
	struct xhci *x = state;

	pr_info("xhci: %llu commands, %llu TDs, %llu events (%llu dropped: ring full); keyboard "
		"reports %llu made, %llu taken; tablet reports %llu made, %llu taken",
		(unsigned long long)x->stats.commands, (unsigned long long)x->stats.transfers,
		(unsigned long long)x->stats.events, (unsigned long long)x->stats.dropped,
		(unsigned long long)x->keyboard.queued, (unsigned long long)x->keyboard.sent,
		(unsigned long long)x->tablet.queued, (unsigned long long)x->tablet.sent);
	xhci_destroy(state);
	free(state);
}

/* The controller with MSI-X (INTx as the fallback), in the next free PCI slot. */
static int usb_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct xhci *x = calloc(1, sizeof(*x));
	int rc = x ? xhci_init(x, b->mem, b->routes, b->set_irq, b->opaque) : -ENOMEM;

	if (rc < 0) {
		free(x);
		snprintf(err, errlen, "cannot set up the xHCI controller: %s", strerror(-rc));
		return rc;
	}
	*state = x;
	rc = pci_bus_add(b->pci, &x->pci);
	if (rc < 0)
		snprintf(err, errlen, "cannot plug the xHCI controller: no free PCI slot");
	return rc;
}

const struct device_model xhci_device = {
    .name = "xhci",
    .wanted = usb_wanted,
    .plug = usb_plug,
    .unplug = usb_unplug,
};

/* ---- Input (display thread) ---- */

static bool ready(struct xhci *x, struct usb_hid *h)
{
	bool ok;

	pthread_mutex_lock(&x->lock);
	ok = (x->usbcmd & CMD_RS) && usb_hid_configured(h);
	pthread_mutex_unlock(&x->lock);
	return ok;
}

bool xhci_keyboard_ready(struct xhci *x)
{
	return ready(x, &x->keyboard);
}

bool xhci_tablet_ready(struct xhci *x)
{
	return ready(x, &x->tablet);
}

/* A report was queued on h: every slot addressing it that waits on its interrupt endpoint
 * gets it now. */
static void deliver(struct xhci *x, const struct usb_hid *h)
{
	unsigned dci = 2 * (USB_HID_EP_IN & 0xF) + 1;

	for (unsigned s = 1; s <= XHCI_SLOTS; s++)
		if (xhci_slot_dev(x, s) == h && x->slot[s].ep[dci].state == EP_RUNNING)
			xhci_xfer_kick(x, s, dci);
}

void xhci_key(struct xhci *x, uint8_t usage, bool down)
{
	pthread_mutex_lock(&x->lock);
	usb_hid_key(&x->keyboard, usage, down);
	deliver(x, &x->keyboard);
	pthread_mutex_unlock(&x->lock);
}

void xhci_pointer(struct xhci *x, uint16_t ax, uint16_t ay, uint8_t buttons, int8_t wheel)
{
	pthread_mutex_lock(&x->lock);
	usb_hid_pointer(&x->tablet, ax, ay, buttons, wheel);
	deliver(x, &x->tablet);
	pthread_mutex_unlock(&x->lock);
}
