/* libFuzzer: a guest driving the virtio-pci transport (src/virtio/virtio_pci.c) and its MSI-X
 * (src/devices/msix.c) from its side, with virtio-rng or virtio-input behind it. No KVM: the
 * transport runs with IRQ_NO_VM and no I/O thread, so notifies reach the BAR and the loop is
 * turned here (virtio_pci_poll), as the I/O thread would between the guest's accesses.
 * Bytes become configuration accesses through ECAM (any offset and width: the command register,
 * BAR 0 moved or switched off, the MSI-X control word, the pci_cfg window onto BAR 0), BAR 0
 * accesses (the common configuration, ISR, device configuration, notify, MSI-X table and PBA,
 * or anywhere in the BAR), bytes written into guest RAM (descriptors, rings), a driver's
 * bring-up of a queue with rings in RAM, a buffer offered and kicked, pointer events from the
 * host side (virtio-input) and turns of the I/O loop.
 * Checks: RAM's guard regions stay as they were; INTx is 0 or 1 on the slot's line; after a
 * reset (status 0) the common configuration reads as just reset; a queue's size is a power of
 * two no larger than the device offers; PBA bits and MSI-X table entries past the vectors read
 * 0; reading the ISR twice gives 0 the second time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/log.h"
#include "devices/pci.h"
#include "kvm/guest_mem.h"
#include "kvm/irq.h"
#include "virtio/devices.h"
#include "virtio/virtio_pci.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM   (64u * 1024)
#define GUARD 4096u
#define FILL  0xA5

/* BAR 0's layout (virtio_pci.c). */
#define OFF_ISR	     0x1000u
#define OFF_DEVICE   0x2000u
#define OFF_NOTIFY   0x3000u
#define OFF_MSIX_TAB 0x4000u
#define OFF_MSIX_PBA 0x5000u
#define BAR_SIZE     0x8000u

static uint8_t mem[GUARD + RAM + GUARD];
static uint8_t *const ram = mem + GUARD;

struct ctx {
	struct pci_bus bus;
	struct irq_routes routes;
	struct guest_mem gm;
	struct virtio_transport *t;
	struct virtio_dev *d;
	bool input;
	unsigned nq, qmax; /* the device's queues and their largest size */
};

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static void set_irq(void *opaque, unsigned irq, int level)
{
	struct ctx *c = opaque;

	check(level == 0 || level == 1);
	check(irq == PCI_INTX_GSI0 + virtio_pci_slot(c->t) % 4);
}

/* A guest address: mostly inside RAM and aligned, sometimes anything. */
static uint64_t addr(struct in *in)
{
	uint8_t k = (uint8_t)take(in, 1);

	if (k < 200)
		return (take(in, 2) % (RAM / 16)) * 16;
	if (k < 240)
		return RAM - (k - 200u) * 2;
	return take(in, 8);
}

static uint32_t ecam(const struct ctx *c)
{
	return virtio_pci_slot(c->t) << 15;
}

static void cfg(struct ctx *c, uint32_t reg, uint8_t *b, uint32_t len, bool wr)
{
	pci_ecam_io(&c->bus, ecam(c) + (reg & 0xFFF), b, len, wr);
}

/* BAR 0 at offset off, wherever it is decoded now (not decoded: the access misses, as it
 * would for the guest). */
static void bar(struct ctx *c, uint32_t off, uint8_t *b, uint32_t len, bool wr)
{
	uint64_t base = virtio_pci_dev(c->t)->bar[0].decoded;

	if (base)
		pci_mmio_io(&c->bus, base - c->bus.mmio32_base + off, b, len, wr);
	else if (!wr)
		memset(b, 0xFF, len);
}

static void bar_w(struct ctx *c, uint32_t off, uint64_t v, uint32_t len)
{
	uint8_t b[8];

	put_le64(b, v);
	bar(c, off, b, len, true);
}

static uint64_t bar_r(struct ctx *c, uint32_t off, uint32_t len)
{
	uint8_t b[8] = {0};

	bar(c, off, b, len, false);
	return get_le64(b);
}

static bool decoded(struct ctx *c)
{
	return virtio_pci_dev(c->t)->bar[0].decoded != 0;
}

/* The common configuration as reset left it (when the BAR is where the guest can see it). */
static void check_reset(struct ctx *c)
{
	if (!decoded(c))
		return;
	check(bar_r(c, 0x14, 1) == 0);
	check(bar_r(c, 0x10, 2) == 0xFFFF);
	for (unsigned q = 0; q < c->nq; q++) {
		bar_w(c, 0x16, q, 2);
		check(bar_r(c, 0x1C, 2) == 0);	    /* not ready */
		check(bar_r(c, 0x1A, 2) == 0xFFFF); /* no vector */
		check(bar_r(c, 0x18, 2) == c->qmax);
	}
	bar_w(c, 0x16, 0, 2);
}

static void check_queue(struct ctx *c)
{
	unsigned sel = (unsigned)bar_r(c, 0x16, 2);
	unsigned sz = (unsigned)bar_r(c, 0x18, 2);

	if (!decoded(c))
		return;
	check(bar_r(c, 0x12, 2) == c->nq);
	if (sel >= c->nq)
		check(sz == 0);
	else
		check(sz && sz <= c->qmax && !(sz & (sz - 1)));
}

/* A driver's bring-up: reset, features, one queue with rings from the input, DRIVER_OK. */
static void bring_up(struct ctx *c, struct in *in)
{
	unsigned q = (unsigned)take(in, 1) % (c->nq + 1);
	uint8_t f;

	bar_w(c, 0x14, 0, 1);
	check_reset(c);
	bar_w(c, 0x14, 1 | 2, 1);
	f = (uint8_t)take(in, 1); /* EVENT_IDX, INDIRECT_DESC; now and then bits never offered */
	bar_w(c, 0x08, 0, 4);
	bar_w(c, 0x0C, (f & 3u) << 28 | (f >= 0xF0 ? (uint32_t)take(in, 4) : 0), 4);
	bar_w(c, 0x08, 1, 4);
	bar_w(c, 0x0C, f >= 0xE0 && f < 0xF0 ? (uint32_t)take(in, 4) : 1, 4); /* VERSION_1 */
	bar_w(c, 0x14, 1 | 2 | 8, 1);
	bar_w(c, 0x16, q, 2);
	bar_w(c, 0x18, 1u << (take(in, 1) % 8), 2);
	bar_w(c, 0x1A, take(in, 1) % 4, 2);
	bar_w(c, 0x20, addr(in), 8);
	bar_w(c, 0x28, addr(in), 8);
	bar_w(c, 0x30, addr(in), 8);
	bar_w(c, 0x1C, 1, 2);
	bar_w(c, 0x10, take(in, 1) % 4, 2);
	bar_w(c, 0x14, 1 | 2 | 8 | 4, 1);
	check_queue(c);
}

/* Offers a buffer on the selected queue: a descriptor at its table, the avail ring's entry and
 * index, then the notify. */
static void offer(struct ctx *c, struct in *in)
{
	unsigned q = (unsigned)bar_r(c, 0x16, 2);
	uint64_t desc = bar_r(c, 0x20, 8), avail = bar_r(c, 0x28, 8);
	unsigned size = (unsigned)bar_r(c, 0x18, 2);
	unsigned i = size ? (unsigned)take(in, 1) % size : 0;
	uint8_t e[16];
	uint16_t idx;

	put_le64(e, addr(in));
	put_le32(e + 8, (uint32_t)take(in, 1) * 4);
	put_le16(e + 12, (uint16_t)(take(in, 1) & 7));
	put_le16(e + 14, (uint16_t)take(in, 1));
	if (desc < RAM && desc + 16ull * (i + 1) <= RAM)
		memcpy(ram + desc + 16ull * i, e, 16);
	if (avail < RAM && avail + 4 + 2ull * size <= RAM && size) {
		idx = get_le16(ram + avail + 2);
		put_le16(ram + avail + 4 + 2u * (idx % size), (uint16_t)i);
		put_le16(ram + avail + 2, (uint16_t)(idx + 1));
	}
	bar_w(c, OFF_NOTIFY + 4 * q, q, 2);
}

static void op(struct ctx *c, struct in *in)
{
	static const uint32_t widths[4] = {1, 2, 4, 8};
	static const uint32_t regions[] = {0,	       OFF_ISR,	     OFF_DEVICE,
					   OFF_NOTIFY, OFF_MSIX_TAB, OFF_MSIX_PBA};
	uint8_t k = (uint8_t)take(in, 1), b[8] = {0};
	uint32_t len = widths[(k >> 4) & 3];
	bool wr = k & 0x40;

	switch (k % 10) {
	case 0: /* configuration space */
		put_le64(b, take(in, len));
		cfg(c, (uint32_t)take(in, 2), b, len > 4 ? 4 : len, wr);
		break;
	case 1: /* a BAR 0 region at an offset */
	case 2: {
		uint32_t off = regions[take(in, 1) % 6] + (uint32_t)take(in, 1);

		put_le64(b, take(in, len));
		bar(c, off, b, len, wr);
		break;
	}
	case 3: /* anywhere in BAR 0 */
		put_le64(b, take(in, len));
		bar(c, (uint32_t)take(in, 2) % BAR_SIZE, b, len, wr);
		break;
	case 4: { /* bytes into RAM */
		uint64_t a = take(in, 2) % RAM;
		uint32_t n = (uint32_t)take(in, 1) % 16;

		for (uint32_t i = 0; i < n && a + i < RAM; i++)
			ram[a + i] = (uint8_t)take(in, 1);
		break;
	}
	case 5:
		bring_up(c, in);
		break;
	case 6:
		offer(c, in);
		break;
	case 7:
		if (c->input)
			virtio_input_pointer(c->d, (uint32_t)take(in, 4), (uint32_t)take(in, 4),
					     (uint8_t)take(in, 1));
		break;
	case 8: { /* the properties the transport keeps */
		uint64_t pba = bar_r(c, OFF_MSIX_PBA, 8);

		if (!decoded(c))
			break;
		check((pba >> (c->nq + 1)) == 0);
		check(bar_r(c, OFF_MSIX_TAB + 16 * (c->nq + 1) + (take(in, 1) % 4) * 4, 4) == 0);
		bar_r(c, OFF_ISR, 1);
		check(bar_r(c, OFF_ISR, 1) == 0);
		check_queue(c);
		if (take(in, 1) < 32) {
			bar_w(c, 0x14, 0, 1);
			check_reset(c);
		}
		break;
	}
	default:
		check(virtio_pci_poll(c->t) == 0);
		break;
	}
}

static void setup(struct ctx *c, bool input)
{
	struct virtio_pci_env env = {.vm_fd = IRQ_NO_VM,
				     .routes = &c->routes,
				     .gm = &c->gm,
				     .set_irq = set_irq,
				     .irq_opaque = c,
				     .no_thread = true};
	char err[256];
	uint8_t cmd[2] = {0x06, 0}; /* memory decode, bus master */

	memset(c, 0, sizeof(*c));
	c->input = input;
	c->nq = input ? 2 : 1;
	c->qmax = input ? 64 : 256;
	memset(mem, FILL, sizeof(mem));
	memset(ram, 0, RAM);
	gm_init_buffer(&c->gm, ram, RAM);
	check(irq_routes_init(&c->routes, IRQ_NO_VM) == 0);
	pci_bus_init(&c->bus, NULL, NULL);
	c->t = virtio_pci_alloc(&env, &c->d);
	check(c->t != NULL);
	check((input ? virtio_input_init(c->d, err, sizeof(err))
		     : virtio_rng_init(c->d, err, sizeof(err))) == 0);
	check(virtio_pci_plug(c->t, &c->bus, err, sizeof(err)) == 0);
	cfg(c, 0x04, cmd, 2, true);
	check(decoded(c));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool quiet;
	struct ctx c;
	struct in in = {data, size};

	if (!quiet) {
		log_set_level(LOG_ERR); /* a driver breaking the rules logs warnings */
		quiet = true;
	}
	setup(&c, take(&in, 1) & 1);
	check_reset(&c);
	while (in.left)
		op(&c, &in);
	check(virtio_pci_poll(c.t) == 0);
	virtio_pci_free(c.t);
	pci_bus_destroy(&c.bus);
	irq_routes_destroy(&c.routes);
	gm_destroy(&c.gm);
	for (unsigned i = 0; i < GUARD; i++)
		check(mem[i] == FILL && mem[GUARD + RAM + i] == FILL);
	return 0;
}
