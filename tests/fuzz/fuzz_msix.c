/* libFuzzer: MSI-X (src/devices/msix.c) from the guest's side, against a model. Bytes become
 * accesses to the vector table and the PBA (any offset and width, past the vectors too), writes
 * of the capability's control word through configuration space (enable, function mask), and
 * the device's notifies of any vector; the number of vectors comes from the first byte. No KVM:
 * routes are kept with IRQ_NO_VM, and what reaches the guest is what was written to each
 * vector's eventfd, which is read after every step.
 * The model: the table reads back what was written (an entry's control word keeps only its mask
 * bit; accesses that cross an entry or lie past the vectors read 0 and change nothing), the PBA
 * is read-only, a notify with MSI-X off sends nothing and is not kept, a masked vector (or all,
 * under the function mask) keeps it pending, and a pending vector is sent once when it is
 * unmasked. Each vector's eventfd must have been written exactly as often as the model says. */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/log.h"
#include "devices/msix.h"
#include "devices/pci.h"
#include "kvm/irq.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CTRL_ENABLE    0x8000
#define CTRL_FUNC_MASK 0x4000

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

struct model {
	uint8_t table[MSIX_MAX_VECTORS][16];
	bool pending[MSIX_MAX_VECTORS];
	uint16_t ctrl;
	unsigned nvec;
};

struct ctx {
	struct pci_bus bus;
	struct pci_dev dev;
	struct irq_routes routes;
	struct msix m;
	struct model s;
	unsigned sent[MSIX_MAX_VECTORS]; /* what the model says went out since the last read */
};

static void bar_io(struct pci_dev *p, unsigned bar, uint64_t off, uint8_t *d, uint32_t len, bool wr)
{
	struct ctx *c = p->opaque;

	check(bar == 0);
	if (off >= 0x800)
		msix_pba_io(&c->m, off - 0x800, d, len, wr);
	else
		msix_table_io(&c->m, off, d, len, wr);
}

static void cfg_write(struct pci_dev *p, uint32_t off, uint32_t len)
{
	struct ctx *c = p->opaque;

	if (off < c->m.cap + 4 && off + len > c->m.cap + 2)
		msix_cfg_changed(&c->m);
}

static const struct pci_dev_ops ops = {.bar_io = bar_io, .cfg_write = cfg_write};

static bool masked(const struct model *s, unsigned i)
{
	return (s->ctrl & CTRL_FUNC_MASK) || (get_le32(s->table[i] + 12) & 1);
}

/* What the device does once a mask or the control word changed: unmasked pending vectors go. */
static void model_deliver(struct ctx *c)
{
	struct model *s = &c->s;

	if (!(s->ctrl & CTRL_ENABLE))
		return;
	for (unsigned i = 0; i < s->nvec; i++) {
		if (s->pending[i] && !masked(s, i)) {
			s->pending[i] = false;
			c->sent[i]++;
		}
	}
}

static void model_notify(struct ctx *c, unsigned v, bool ret)
{
	struct model *s = &c->s;

	check(ret == !!(s->ctrl & CTRL_ENABLE));
	if (!ret || v >= s->nvec)
		return;
	if (masked(s, v))
		s->pending[v] = true;
	else
		c->sent[v]++;
}

static void check_sent(struct ctx *c)
{
	for (unsigned i = 0; i < MSIX_MAX_VECTORS; i++) {
		uint64_t n = 0;

		if (i >= c->s.nvec) {
			check(c->m.v[i].efd < 0);
			continue;
		}
		if (read(c->m.v[i].efd, &n, sizeof(n)) != sizeof(n))
			n = 0;
		check(n == c->sent[i]);
		c->sent[i] = 0;
	}
}

static void table(struct ctx *c, uint64_t off, uint32_t len, bool wr, uint64_t val)
{
	struct model *s = &c->s;
	unsigned i = (unsigned)(off / 16), o = (unsigned)(off % 16);
	bool inside = i < s->nvec && o + len <= 16;
	uint8_t b[8];

	put_le64(b, val);
	pci_mmio_io(&c->bus, c->dev.bar[0].decoded - c->bus.mmio32_base + off, b, len, wr);
	if (!wr) {
		uint8_t want[8] = {0};

		if (inside)
			memcpy(want, s->table[i] + o, len);
		check(memcmp(b, want, len) == 0);
		return;
	}
	if (!inside)
		return;
	memcpy(s->table[i] + o, b, len);
	put_le32(s->table[i] + 12, get_le32(s->table[i] + 12) & 1);
	model_deliver(c);
}

static void pba(struct ctx *c, uint64_t off, uint32_t len, bool wr, uint64_t val)
{
	uint64_t bits = 0;
	uint8_t b[8];

	put_le64(b, val);
	pci_mmio_io(&c->bus, c->dev.bar[0].decoded - c->bus.mmio32_base + 0x800 + off, b, len, wr);
	if (wr)
		return; /* read-only: the next read shows nothing changed */
	for (unsigned i = 0; i < c->s.nvec; i++)
		bits |= (uint64_t)c->s.pending[i] << i;
	for (uint32_t k = 0; k < len; k++)
		check(b[k] == (off + k < 8 ? (uint8_t)(bits >> (8 * (off + k))) : 0));
}

static void control(struct ctx *c, uint16_t v, bool byte_hi)
{
	uint32_t reg = (c->dev.slot << 15) + c->m.cap + 2;
	uint8_t b[2], r[2];

	put_le16(b, v);
	if (byte_hi)
		pci_ecam_io(&c->bus, reg + 1, b + 1, 1, true);
	else
		pci_ecam_io(&c->bus, reg, b, 2, true);
	c->s.ctrl =
	    byte_hi ? (uint16_t)((c->s.ctrl & 0xFF) | (v & 0xC000)) : (uint16_t)(v & 0xC000);
	pci_ecam_io(&c->bus, reg, r, 2, false);
	check(get_le16(r) == (c->s.ctrl | (c->s.nvec - 1)));
	check(msix_enabled(&c->m) == !!(c->s.ctrl & CTRL_ENABLE));
	model_deliver(c);
}

static void op(struct ctx *c, struct in *in)
{
	static const uint32_t widths[4] = {1, 2, 4, 8};
	uint8_t k = (uint8_t)take(in, 1);
	uint32_t len = widths[(k >> 4) & 3];
	bool wr = k & 0x40;

	switch (k % 6) {
	case 0: /* an entry's field, aligned as a driver would */
	case 1: {
		uint64_t off = (take(in, 1) % (c->s.nvec + 2)) * 16 + (take(in, 1) % 4) * 4;

		table(c, off, wr ? 4 : len, wr, take(in, 4));
		break;
	}
	case 2: /* anywhere in the table's page */
		table(c, take(in, 2) % 0x800 & ~(uint64_t)(len - 1), len, wr, take(in, len));
		break;
	case 3:
		pba(c, take(in, 1) % 16, len, wr, take(in, len));
		break;
	case 4:
		control(c, (uint16_t)take(in, 2), k & 0x80);
		break;
	default: {
		unsigned v = (unsigned)take(in, 1) % (MSIX_MAX_VECTORS + 2);

		model_notify(c, v, msix_notify(&c->m, v));
		break;
	}
	}
	check_sent(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctx c; /* 8 KiB of configuration space: not on the stack */
	struct in in = {data, size};
	uint8_t cmd[2] = {0x06, 0};
	unsigned nvec = (unsigned)take(&in, 1) % MSIX_MAX_VECTORS + 1;

	memset(&c, 0, sizeof(c));
	check(irq_routes_init(&c.routes, IRQ_NO_VM) == 0);
	pci_bus_init(&c.bus, NULL, NULL);
	pci_dev_init(&c.dev, 0x1AF4, 0x1044, 0xFF0000, 1, 0x1AF4, 0x1044);
	c.dev.ops = &ops;
	c.dev.opaque = &c;
	pci_dev_set_bar(&c.dev, 0, PCI_BAR_MEM32, 0x1000);
	check(msix_init(&c.m, &c.dev, &c.routes, nvec, 0, 0, 0x800) == 0);
	check(pci_bus_add(&c.bus, &c.dev) == 0);
	pci_ecam_io(&c.bus, (c.dev.slot << 15) + 4, cmd, 2, true);
	check(c.dev.bar[0].decoded != 0);
	c.s.nvec = nvec;
	for (unsigned i = 0; i < nvec; i++)
		put_le32(c.s.table[i] + 12, 1); /* every vector starts masked */
	while (in.left)
		op(&c, &in);
	msix_destroy(&c.m);
	pci_bus_destroy(&c.bus);
	irq_routes_destroy(&c.routes);
	return 0;
}
