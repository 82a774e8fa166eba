/* A small xHCI driver for the tests (test_xhci.c, test_input.c): what a guest's driver does to the
 * controller, in a plain buffer of "guest RAM" at fixed addresses, with cmocka's checks on the
 * way. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

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

struct xd_ring {
	uint64_t base, enq;
	bool pcs;
};

struct xdrv {
	uint8_t *mem;
	struct guest_mem gm;
	struct xhci x;
	int level;
	unsigned raises;
	struct xd_ring cmd, ep0[3], intr[3];
	uint64_t ev_deq;
	bool ev_ccs;
};

struct xd_ev {
	uint64_t param;
	unsigned cc, len, type, slot, ep;
};

/* Guest RAM, the controller (INTx only) running with its rings set up, and both ports' connect
 * events taken. */
void xd_init(struct xdrv *e);
void xd_fini(struct xdrv *e);
uint32_t xd_rd(struct xdrv *e, unsigned off);
void xd_wr(struct xdrv *e, unsigned off, uint32_t v);
void xd_wr64(struct xdrv *e, unsigned off, uint64_t v);
void xd_ring_init(struct xdrv *e, struct xd_ring *r, uint64_t base);
/* Queues a TRB (its cycle bit from the ring); returns its address. */
uint64_t xd_put_trb(struct xdrv *e, struct xd_ring *r, uint64_t param, uint32_t status,
		    uint32_t ctl);
/* The next event, if any (the driver's dequeue pointer follows). */
bool xd_next_event(struct xdrv *e, struct xd_ev *v);
void xd_expect_event(struct xdrv *e, unsigned type, struct xd_ev *v);
void xd_no_event(struct xdrv *e);
/* A command: queued, doorbell 0, its completion. Returns the completion code. */
unsigned xd_command(struct xdrv *e, uint64_t param, uint32_t ctl, unsigned *slot);
void xd_start(struct xdrv *e);
void xd_port_reset(struct xdrv *e, unsigned port);
/* Input context for Address Device: slot on port, endpoint 0 on its ring. */
void xd_address_ctx(struct xdrv *e, unsigned port, unsigned slot);
/* A control transfer on endpoint 0 of slot: the bytes the device gave (IN), or -cc of the event
 * that ended it early. */
int xd_control(struct xdrv *e, unsigned slot, uint8_t type, uint8_t req, uint16_t value,
	       uint16_t index, uint16_t length, uint64_t buf);
/* Enables a slot for the device on port and takes it to Configured, as Linux does: the slot. */
unsigned xd_enumerate(struct xdrv *e, unsigned port);
