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

#include "xhci_driver.h"

static int setup(void **state)
{
	struct xdrv *e = malloc(sizeof(*e));

	assert_non_null(e);
	xd_init(e);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct xdrv *e = *state;

	xd_fini(e);
	free(e);
	return 0;
}

static void test_registers(void **state)
{
	struct xdrv *e = *state;

	assert_int_equal(xd_rd(e, 0) & 0xFF, 0x40);
	assert_int_equal(xd_rd(e, 0) >> 16, 0x0100);
	assert_int_equal(xd_rd(e, 4) >> 24, XHCI_PORTS);
	assert_int_equal(xd_rd(e, 4) & 0xFF, XHCI_SLOTS);
	assert_int_equal(xd_rd(e, 0x14), 0x2000);
	assert_int_equal(xd_rd(e, 0x18), 0x1000);
	/* Connected: ports 1 and 2, full speed; the others empty but powered. */
	assert_int_equal(xd_rd(e, PORTSC(1)) & 1, 1);
	assert_int_equal((xd_rd(e, PORTSC(2)) >> 10) & 0xF, 1);
	assert_int_equal(xd_rd(e, PORTSC(3)) & 1, 0);
	assert_true(xd_rd(e, PORTSC(8)) & (1u << 9));
	/* Supported Protocol capabilities: USB 2 on 1-4, USB 3 on 5-8. */
	uint32_t xecp = (xd_rd(e, 0x10) >> 16) * 4;
	assert_int_equal(xd_rd(e, xecp) & 0xFF, 2);
	assert_int_equal(xd_rd(e, xecp) >> 24, 2);
	assert_int_equal(xd_rd(e, xecp + 8), 1 | 4 << 8);
	assert_int_equal(xd_rd(e, xecp + 16) >> 24, 3);
	assert_int_equal(xd_rd(e, xecp + 24), 5 | 4 << 8);
	assert_int_equal(e->x.pci.cfg[9], 0x30); /* prog-if: xHCI */
	assert_int_equal(e->x.pci.cfg[10], 0x03);
	assert_int_equal(e->x.pci.cfg[11], 0x0C);
}

static void test_tablet(void **state)
{
	struct xdrv *e = *state;
	unsigned slot;
	struct xd_ev v;
	uint64_t at;
	uint8_t *r;

	assert_false(xhci_tablet_ready(&e->x));
	slot = xd_enumerate(e, XHCI_TABLET_PORT);
	assert_true(xhci_tablet_ready(&e->x));
	assert_false(xhci_keyboard_ready(&e->x));
	/* The report descriptor, as long as the HID descriptor says. */
	assert_int_equal(xd_control(e, slot, 0x81, 6, 0x2100, 0, 9, BUF), 9);
	unsigned rlen = get_le16(e->mem + BUF + 7);
	assert_int_equal(xd_control(e, slot, 0x81, 6, 0x2200, 0, (uint16_t)rlen, BUF), (int)rlen);
	assert_int_equal(e->mem[BUF], 0x05);
	/* The interrupt endpoint waits for an event... */
	at = xd_put_trb(e, &e->intr[slot], BUF + 0x100, 8, T_NORMAL << 10 | 1u << 5 | 1u << 2);
	xd_wr(e, DB(slot), 3);
	xd_no_event(e);
	/* ...and gets the pointer's absolute position. */
	xhci_pointer(&e->x, 12345, 32767, 1 | 4, 0);
	xd_expect_event(e, T_XFER_EV, &v);
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
	xd_no_event(e);
	xd_put_trb(e, &e->intr[slot], BUF + 0x200, 6, T_NORMAL << 10 | 1u << 5 | 1u << 2);
	xd_wr(e, DB(slot), 3);
	xd_expect_event(e, T_XFER_EV, &v);
	assert_int_equal(v.cc, CC_SUCCESS);
	assert_int_equal(e->mem[BUF + 0x205], 0xFF);
	assert_int_equal(xd_control(e, slot, 0xA1, 1, 0x0100, 0, 6, BUF), 6);
	assert_int_equal(get_le16(e->mem + BUF + 3), 2);
	/* Stop Endpoint with a TD waiting: a Stopped event for it, then the completion; the output
	 * context says Stopped, at that TD. */
	at = xd_put_trb(e, &e->intr[slot], BUF + 0x300, 8, T_NORMAL << 10 | 1u << 5 | 1u << 2);
	xd_wr(e, DB(slot), 3);
	xd_put_trb(e, &e->cmd, 0, 0, T_STOP_EP << 10 | slot << 24 | 3u << 16);
	xd_wr(e, DB(0), 0);
	xd_expect_event(e, T_XFER_EV, &v);
	assert_int_equal(v.cc, CC_STOPPED);
	assert_int_equal(v.param, at);
	assert_int_equal(v.len, 8);
	xd_expect_event(e, T_CMD_EV, &v);
	assert_int_equal(v.cc, CC_SUCCESS);
	assert_int_equal(e->mem[OUTCTX + 0x1000 * slot + 32 * 3] & 7, 3);
	assert_int_equal(get_le64(e->mem + OUTCTX + 0x1000 * slot + 32 * 3 + 8), at | 1);
	assert_true(e->raises > 0);
	assert_true(e->x.stats.events > 0);
}

static void test_keyboard(void **state)
{
	struct xdrv *e = *state;
	unsigned slot = xd_enumerate(e, XHCI_KBD_PORT);
	struct xd_ev v;
	uint8_t *r = e->mem + BUF + 0x100;

	assert_true(xhci_keyboard_ready(&e->x));
	assert_int_equal(xd_control(e, slot, 0x21, 0x0B, 0, 0, 0, 0), 0); /* SET_PROTOCOL boot */
	assert_int_equal(xd_control(e, slot, 0x21, 0x0A, 0, 0, 0, 0), 0); /* SET_IDLE 0 */
	e->mem[BUF + 0x300] = 0x02;					  /* Caps Lock */
	assert_int_equal(xd_control(e, slot, 0x21, 0x09, 0x0200, 0, 1, BUF + 0x300), 1);
	assert_int_equal(e->x.keyboard.leds, 2);
	assert_int_equal(xd_control(e, slot, 0x80, 6, 0x0302, 0, 255, BUF),
			 26); /* "USB Keyboard" */
	assert_int_equal(e->mem[BUF + 2], 'U');
	xhci_key(&e->x, 0xE1, true); /* Left Shift */
	xhci_key(&e->x, 0x04, true); /* A */
	xd_put_trb(e, &e->intr[slot], BUF + 0x100, 8, T_NORMAL << 10 | 1u << 5 | 1u << 2);
	xd_wr(e, DB(slot), 3);
	xd_expect_event(e, T_XFER_EV, &v);
	assert_int_equal(v.cc, CC_SUCCESS);
	assert_int_equal(r[0], 0x02);
	assert_int_equal(r[2], 0);
	xd_put_trb(e, &e->intr[slot], BUF + 0x100, 8, T_NORMAL << 10 | 1u << 5 | 1u << 2);
	xd_wr(e, DB(slot), 3);
	xd_expect_event(e, T_XFER_EV, &v);
	assert_int_equal(r[0], 0x02);
	assert_int_equal(r[2], 0x04);
	/* A port reset unconfigures it: keys go elsewhere until the guest configures it again. */
	xd_port_reset(e, XHCI_KBD_PORT);
	assert_false(xhci_keyboard_ready(&e->x));
}

/* A STALL halts endpoint 0; Reset Endpoint and Set TR Dequeue Pointer bring it back. */
static void test_stall(void **state)
{
	struct xdrv *e = *state;
	unsigned slot = xd_enumerate(e, XHCI_TABLET_PORT);
	uint32_t ctl = (unsigned)slot << 24 | 1u << 16;

	assert_int_equal(xd_control(e, slot, 0x80, 6, 0x0600, 0, 10, BUF), -CC_STALL);
	assert_int_equal(e->mem[OUTCTX + 0x1000 * slot + 32] & 7, 2); /* halted */
	xd_wr(e, DB(slot), 1);
	xd_no_event(e); /* nothing runs on a halted endpoint */
	assert_int_equal(xd_command(e, 0, T_SET_DEQ << 10 | ctl, NULL), CC_CONTEXT_STATE);
	assert_int_equal(xd_command(e, 0, T_RESET_EP << 10 | ctl, NULL), CC_SUCCESS);
	assert_int_equal(
	    xd_command(e, e->ep0[slot].enq | e->ep0[slot].pcs, T_SET_DEQ << 10 | ctl, NULL),
	    CC_SUCCESS);
	assert_int_equal(xd_control(e, slot, 0x80, 6, 0x0100, 0, 18, BUF), 18);
	/* Stop Endpoint: once; the second finds it stopped. */
	assert_int_equal(xd_command(e, 0, T_STOP_EP << 10 | ctl, NULL), CC_SUCCESS);
	assert_int_equal(xd_command(e, 0, T_STOP_EP << 10 | ctl, NULL), CC_CONTEXT_STATE);
	assert_int_equal(xd_control(e, slot, 0x80, 6, 0x0100, 0, 18, BUF),
			 18); /* doorbell restarts */
}

static void test_bad_commands(void **state)
{
	struct xdrv *e = *state;
	unsigned slot;

	assert_int_equal(xd_command(e, 0, T_NOOP << 10, NULL), CC_SUCCESS);
	assert_int_equal(xd_command(e, 0, 63u << 10, NULL), CC_TRB);
	assert_int_equal(xd_command(e, 0, T_DISABLE << 10 | 5u << 24, NULL), CC_SLOT_NOT_ENABLED);
	assert_int_equal(xd_command(e, 0, T_ADDRESS << 10 | 200u << 24, NULL), CC_SLOT_NOT_ENABLED);
	assert_int_equal(xd_command(e, 0, T_ENABLE << 10, &slot), CC_SUCCESS);
	/* Input context outside RAM; an empty port; no endpoint 0; a DCBAA entry outside RAM. */
	assert_int_equal(xd_command(e, MEM_SIZE - 16, T_ADDRESS << 10 | slot << 24, NULL), CC_TRB);
	xd_address_ctx(e, 3, slot);
	assert_int_equal(xd_command(e, INCTX, T_ADDRESS << 10 | slot << 24, NULL), CC_TRANSACTION);
	xd_address_ctx(e, 1, slot); /* port 1 is not reset: not enabled */
	assert_int_equal(xd_command(e, INCTX, T_ADDRESS << 10 | slot << 24, NULL), CC_TRANSACTION);
	xd_port_reset(e, 1);
	put_le32(e->mem + INCTX + 4, 1);
	assert_int_equal(xd_command(e, INCTX, T_ADDRESS << 10 | slot << 24, NULL), CC_PARAMETER);
	xd_address_ctx(e, 1, slot);
	put_le64(e->mem + DCBAA + 8 * slot, 0xFFFFFFFFFFFFF000ull);
	assert_int_equal(xd_command(e, INCTX, T_ADDRESS << 10 | slot << 24, NULL), CC_PARAMETER);
	/* Configure before Address; endpoint commands on disabled endpoints. */
	assert_int_equal(xd_command(e, INCTX, T_CONFIGURE << 10 | slot << 24, NULL),
			 CC_CONTEXT_STATE);
	assert_int_equal(xd_command(e, 0, T_STOP_EP << 10 | slot << 24 | 3u << 16, NULL),
			 CC_EP_NOT_ENABLED);
	/* Address with BSR: Default state; a second BSR is refused, a real one is not. */
	xd_address_ctx(e, 1, slot);
	assert_int_equal(xd_command(e, INCTX, T_ADDRESS << 10 | 1u << 9 | slot << 24, NULL),
			 CC_SUCCESS);
	assert_int_equal(e->mem[OUTCTX + 0x1000 * slot + 15] >> 3, 1);
	assert_int_equal(xd_command(e, INCTX, T_ADDRESS << 10 | 1u << 9 | slot << 24, NULL),
			 CC_CONTEXT_STATE);
	assert_int_equal(xd_command(e, INCTX, T_EVALUATE << 10 | slot << 24, NULL), CC_SUCCESS);
	assert_int_equal(xd_command(e, INCTX, T_ADDRESS << 10 | slot << 24, NULL), CC_SUCCESS);
	/* Configure with an endpoint context of type 0. */
	memset(e->mem + INCTX, 0, 64);
	put_le32(e->mem + INCTX + 4, 1u << 3);
	memset(e->mem + INCTX + 128, 0, 32);
	assert_int_equal(xd_command(e, INCTX, T_CONFIGURE << 10 | slot << 24, NULL), CC_PARAMETER);
	assert_int_equal(xd_command(e, 0, T_DISABLE << 10 | slot << 24, NULL), CC_SUCCESS);
	assert_int_equal(xd_command(e, 0, T_DISABLE << 10 | slot << 24, NULL), CC_SLOT_NOT_ENABLED);
}

/* Transfer rings that break the rules: each fails its endpoint, nothing else. */
static void test_bad_transfers(void **state)
{
	struct xdrv *e = *state;
	unsigned slot = xd_enumerate(e, XHCI_TABLET_PORT);
	uint32_t ctl = (unsigned)slot << 24 | 1u << 16;
	struct xd_ring *r = &e->ep0[slot];
	struct xd_ev v;

	/* A Data stage with no Setup before it. */
	xd_put_trb(e, r, BUF, 8, T_DATA << 10 | 1u << 16);
	xd_wr(e, DB(slot), 1);
	xd_expect_event(e, T_XFER_EV, &v);
	assert_int_equal(v.cc, CC_TRB);
	assert_int_equal(xd_command(e, 0, T_RESET_EP << 10 | ctl, NULL), CC_SUCCESS);
	assert_int_equal(xd_command(e, r->enq | r->pcs, T_SET_DEQ << 10 | ctl, NULL), CC_SUCCESS);
	/* A buffer outside RAM. */
	assert_int_equal(xd_control(e, slot, 0x80, 6, 0x0100, 0, 18, MEM_SIZE - 4), -CC_TRB);
	assert_int_equal(xd_command(e, 0, T_RESET_EP << 10 | ctl, NULL), CC_SUCCESS);
	assert_int_equal(xd_command(e, r->enq | r->pcs, T_SET_DEQ << 10 | ctl, NULL), CC_SUCCESS);
	/* A ring made of a Link TRB that points at itself. */
	put_le64(e->mem + r->enq, r->enq);
	put_le32(e->mem + r->enq + 12, T_LINK << 10 | r->pcs);
	xd_wr(e, DB(slot), 1);
	xd_expect_event(e, T_XFER_EV, &v);
	assert_int_equal(v.cc, CC_TRB);
	assert_int_equal(e->mem[OUTCTX + 0x1000 * slot + 32] & 7, 2);
	/* A ring pointer outside RAM (Set TR Dequeue takes it; the doorbell finds it bad). */
	assert_int_equal(xd_command(e, 0, T_RESET_EP << 10 | ctl, NULL), CC_SUCCESS);
	assert_int_equal(xd_command(e, (MEM_SIZE * 4) | 1, T_SET_DEQ << 10 | ctl, NULL),
			 CC_SUCCESS);
	xd_wr(e, DB(slot), 1);
	xd_expect_event(e, T_XFER_EV, &v);
	assert_int_equal(v.cc, CC_TRB);
	/* A doorbell for an endpoint the device doesn't have. */
	xd_wr(e, DB(slot), 5);
	xd_wr(e, DB(9), 1);
	xd_wr(e, DB(XHCI_SLOTS + 3), 1);
	xd_no_event(e);
	/* The controller still works: a No-Op command completes. */
	assert_int_equal(xd_command(e, 0, T_NOOP << 10, NULL), CC_SUCCESS);
}

/* The guest stops taking events: the ring fills, events are dropped, nothing else happens. */
static void test_event_ring_full(void **state)
{
	struct xdrv *e = *state;
	struct xd_ev v;

	for (unsigned i = 0; i < 3 * EV_TRBS; i++) {
		xd_put_trb(e, &e->cmd, 0, 0, T_NOOP << 10);
		xd_wr(e, DB(0), 0);
	}
	assert_true(e->x.stats.dropped > 0);
	for (unsigned i = 0; i < EV_TRBS - 1; i++) {
		xd_expect_event(e, T_CMD_EV, &v);
		assert_int_equal(v.cc, CC_SUCCESS);
	}
	xd_no_event(e);
	/* ERSTSZ cleared under a loaded segment (fuzz_xhci found the division by it): events go
	 * nowhere until the guest gives a size again. */
	xd_wr(e, ERSTSZ, 0);
	for (unsigned i = 0; i < 2 * EV_TRBS; i++) {
		xd_put_trb(e, &e->cmd, 0, 0, T_NOOP << 10);
		xd_wr(e, DB(0), 0);
	}
	xd_no_event(e);
	xd_wr(e, ERSTSZ, 1);
	xd_put_trb(e, &e->cmd, 0, 0, T_NOOP << 10);
	xd_wr(e, DB(0), 0);
	xd_expect_event(e, T_CMD_EV, &v);
	/* A command ring outside RAM: its completion says so. */
	xd_wr(e, USBCMD, 0);
	xd_wr64(e, CRCR, (MEM_SIZE * 2) | 1);
	xd_wr(e, USBCMD, 1 | 4);
	xd_wr(e, DB(0), 0);
	xd_expect_event(e, T_CMD_EV, &v);
	assert_int_equal(v.cc, CC_TRB);
}

/* INTx follows IMAN.IP with IE and INTE; clearing IP lowers it; EHB holds the next one back. */
static void test_intx(void **state)
{
	struct xdrv *e = *state;
	struct xd_ev v;

	assert_int_equal(e->level, 1); /* the port events at start */
	xd_wr(e, IMAN, 3);
	assert_int_equal(e->level, 0);
	xd_put_trb(e, &e->cmd, 0, 0, T_NOOP << 10);
	xd_wr(e, DB(0), 0);
	assert_int_equal(e->level, 1);
	xd_wr(e, IMAN, 3);
	xd_put_trb(e, &e->cmd, 0, 0, T_NOOP << 10);
	xd_wr(e, DB(0), 0);
	assert_int_equal(e->level, 0); /* EHB: the driver is still busy with the first */
	xd_expect_event(e, T_CMD_EV,
			&v); /* it moves ERDP past it, clearing EHB: the second fires */
	assert_int_equal(e->level, 1);
	xd_wr(e, IMAN, 3);
	xd_wr(e, USBCMD, 1); /* INTE off */
	xd_expect_event(e, T_CMD_EV, &v);
	xd_put_trb(e, &e->cmd, 0, 0, T_NOOP << 10);
	xd_wr(e, DB(0), 0);
	assert_int_equal(e->level, 0);
	/* Narrow writes are dropped, narrow reads work. */
	uint8_t b = 0xFF;
	xhci_mmio(&e->x, USBCMD, &b, 1, true);
	assert_int_equal(xd_rd(e, USBCMD), 1);
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
