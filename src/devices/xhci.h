/* An xHCI 1.0 USB host controller (PCI class 0C/03/30, 1b36:000d: the ID of QEMU's qemu-xhci,
 * which Linux, OVMF and Windows' inbox usbxhci drive by its class with no vendor quirks) with a
 * USB HID tablet on root port 1 and a USB HID keyboard on root port 2 (usb_hid.h), for --usb.
 *
 * BAR 0 (32-bit, 16 KiB): capability registers, operational registers with 8 root ports (1-4
 * USB 2, 5-8 USB 3, as the two Supported Protocol capabilities say), runtime registers with
 * XHCI_INTRS interrupters (each an event ring with its segment table), doorbells, and the MSI-X
 * table and pending bits (one vector per interrupter; INTx when MSI-X is off). Commands (Enable
 * and Disable Slot, Address Device with BSR, Configure Endpoint, Evaluate Context, Reset and
 * Stop Endpoint, Set TR Dequeue Pointer, Reset Device, No-Op) run when the guest rings doorbell
 * 0; transfers (control TDs on endpoint 0, interrupt IN on endpoint 0x81) when it rings a slot's
 * doorbell, or, for interrupt IN, when a report arrives. Everything runs at once, on the thread
 * that writes the doorbell (a vCPU) or queues the report (the display thread), under the lock.
 * Rings, contexts and buffers are read through the guest-memory accessor only: a TRB or a
 * context that is not in RAM or makes no sense fails its command or transfer with the
 * completion code xHCI gives for it (and halts that endpoint), never more. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/device.h"
#include "devices/msix.h"
#include "devices/pci.h"
#include "devices/usb_hid.h"
#include "kvm/guest_mem.h"
#include "kvm/irq.h"

#define XHCI_BAR_SIZE	 0x4000u
#define XHCI_PORTS	 8
#define XHCI_USB2_PORTS	 4
#define XHCI_SLOTS	 16
#define XHCI_INTRS	 4
#define XHCI_EPS	 32 /* device context indexes: 0 the slot, 1 endpoint 0, 2..31 the rest */
#define XHCI_TABLET_PORT 1
#define XHCI_KBD_PORT	 2

struct xhci_ring {
	uint64_t deq; /* the next TRB to look at */
	bool ccs;     /* the consumer cycle state */
};

struct xhci_ep {
	uint8_t state, type;
	struct xhci_ring ring;
	uint8_t ctx[32]; /* the endpoint context as the output context has it */
};

struct xhci_slot {
	bool enabled;
	uint64_t out;	 /* the output device context (from the DCBAA at Address Device) */
	uint8_t ctx[32]; /* the slot context as the output context has it */
	struct xhci_ep ep[XHCI_EPS];
};

struct xhci_intr {
	uint32_t iman, imod, erstsz;
	uint64_t erstba, erdp;
	/* The event ring's producer: segment seg (base, size TRBs) and index enq in it, cycle. */
	bool seg_ok;
	uint32_t seg, seg_size, enq;
	uint64_t seg_base;
	bool pcs;
	bool pending; /* an event waits for EHB to clear before it interrupts */
};

struct xhci_port {
	uint32_t portsc;
	struct usb_hid *dev; /* or NULL: nothing plugged */
};

struct xhci_stats {
	uint64_t commands, transfers, events, dropped; /* dropped: the event ring was full */
};

struct xhci {
	pthread_mutex_t lock;
	struct pci_dev pci;
	const struct guest_mem *mem;
	struct msix msix;
	bool has_msix;
	irq_set_fn set_irq;
	void *irq_opaque;
	int intx_level;
	uint32_t usbcmd, usbsts, dnctrl, config;
	uint64_t dcbaap;
	struct xhci_ring cmd;
	bool crr; /* the command ring is running */
	struct xhci_intr intr[XHCI_INTRS];
	struct xhci_port port[XHCI_PORTS];
	struct xhci_slot slot[XHCI_SLOTS + 1]; /* by slot ID; 0 unused */
	struct usb_hid tablet, keyboard;
	struct xhci_stats stats;
	uint64_t start_ns; /* MFINDEX counts from here */
};

/* The board's row: --usb, the next free PCI slot. */
extern const struct device_model xhci_device;

/* Sets up the PCI function (not plugged: the caller does). routes: KVM's MSI routes for the
 * MSI-X vectors, or NULL for a controller with INTx only (tests). 0 or -errno. */
int xhci_init(struct xhci *x, const struct guest_mem *mem, struct irq_routes *routes,
	      irq_set_fn set_irq, void *irq_opaque);
void xhci_destroy(struct xhci *x);
/* An access to BAR 0 at off (what the PCI bus calls through pci.ops->bar_io). */
void xhci_mmio(struct xhci *x, uint64_t off, uint8_t *data, uint32_t len, bool is_write);

/* The input side (display thread): whether the guest has configured the device (and the
 * controller runs), and events for it, delivered at once if the guest waits for a report. */
bool xhci_keyboard_ready(struct xhci *x);
bool xhci_tablet_ready(struct xhci *x);
void xhci_key(struct xhci *x, uint8_t usage, bool down);
void xhci_pointer(struct xhci *x, uint16_t ax, uint16_t ay, uint8_t buttons, int8_t wheel);

/* Between xhci.c and xhci_xfer.c (caller holds the lock). */
enum xhci_cc {
	CC_SUCCESS = 1,
	CC_DATA_BUFFER = 3,
	CC_TRANSACTION = 5,
	CC_TRB = 6,
	CC_STALL = 7,
	CC_RESOURCE = 8,
	CC_NO_SLOTS = 9,
	CC_SLOT_NOT_ENABLED = 11,
	CC_EP_NOT_ENABLED = 12,
	CC_SHORT_PACKET = 13,
	CC_PARAMETER = 17,
	CC_CONTEXT_STATE = 19,
	CC_CMD_RING_STOPPED = 24,
	CC_STOPPED = 26,
};
enum { EP_DISABLED, EP_RUNNING, EP_HALTED, EP_STOPPED, EP_ERROR };
enum { EPT_CONTROL = 4, EPT_INT_IN = 7 };

/* The next TRB of ring r (Link TRBs followed) into trb, and its address: 1, 0 when the guest
 * has not given it yet (cycle bit), -EFAULT (not in RAM) or -ELOOP (Link TRBs only). Consumes
 * nothing but the Link TRBs; xhci_ring_pop steps past the TRB. */
int xhci_ring_peek(struct xhci *x, struct xhci_ring *r, uint8_t trb[16], uint64_t *addr);
void xhci_ring_pop(struct xhci_ring *r);
/* Posts an event TRB (its cycle bit set here) on interrupter intr; irq false: no interrupt. */
void xhci_event(struct xhci *x, unsigned intr, uint8_t ev[16], bool irq);
/* Writes an endpoint's state and dequeue pointer into the slot's output context. */
void xhci_ep_sync(struct xhci *x, unsigned slot, unsigned dci);
/* The device behind an enabled slot, or NULL. */
struct usb_hid *xhci_slot_dev(struct xhci *x, unsigned slot);
/* xhci_cmd.c: runs the command ring (doorbell 0). */
void xhci_cmd_run(struct xhci *x);
/* xhci_xfer.c: runs what the guest queued on endpoint dci of slot. */
void xhci_xfer_kick(struct xhci *x, unsigned slot, unsigned dci);
/* The endpoint is being stopped: a TD waiting on it (an interrupt IN TD with no report yet) is
 * reported Stopped, before the command's completion. */
void xhci_xfer_stopped(struct xhci *x, unsigned slot, unsigned dci);
