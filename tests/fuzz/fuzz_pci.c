/* libFuzzer: a guest's view of the PCI bus. Bytes become configuration accesses through
 * 0xCF8/0xCFC and ECAM (any bus/device/function/register/width, including BAR sizing and
 * moves, capability bodies and past-the-end offsets) and BAR accesses through the MMIO and
 * I/O windows, on a bus with a device that has a memory BAR, an I/O BAR and a capability.
 * Checks: reads of absent functions are all ones, a device never gets an access outside its
 * BAR, and BARs are only decoded inside the address space they were sized for. */
#include <stdint.h>
#include <string.h>

#include "common/bytes.h"
#include "devices/pci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fake {
	struct pci_dev dev;
};

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static void fake_bar_io(struct pci_dev *p, unsigned bar, uint64_t off, uint8_t *d, uint32_t len,
			bool is_write)
{
	check(bar < PCI_NUM_BARS && p->bar[bar].size && off + len <= p->bar[bar].size);
	if (!is_write)
		memset(d, 0x5A, len);
}

static void fake_remap(struct pci_dev *p, unsigned bar, uint64_t addr)
{
	check(bar < PCI_NUM_BARS);
	check(addr == 0 || addr % p->bar[bar].size == 0);
}

static const struct pci_dev_ops fake_ops = {.bar_io = fake_bar_io, .bar_remap = fake_remap};

static void setup(struct pci_bus *b, struct fake *f)
{
	static const uint8_t body[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	static const uint8_t wmask[10] = {0xFF, 0, 0xFF, 0, 0xFF, 0, 0, 0, 0, 0};

	pci_bus_init(b, NULL, NULL);
	pci_dev_init(&f->dev, 0x1AF4, 0x1044, 0xFF0000, 1, 0x1AF4, 0x1044);
	f->dev.ops = &fake_ops;
	f->dev.opaque = f;
	pci_dev_set_bar(&f->dev, 0, PCI_BAR_MEM32, 0x8000);
	pci_dev_set_bar(&f->dev, 2, PCI_BAR_IO, 0x40);
	pci_dev_set_bar(&f->dev, 3, PCI_BAR_MEM64, 0x100000);
	check(pci_dev_add_cap(&f->dev, 0x09, body, wmask, sizeof(body)) != 0);
	check(pci_bus_add(b, &f->dev) == 0);
}

/* One operation: 8 bytes (kind, width, address, value). */
static void op(struct pci_bus *b, const uint8_t *o)
{
	static const uint32_t widths[4] = {1, 2, 4, 4};
	uint32_t len = widths[o[1] & 3], addr = get_le32(o + 2) & 0x0FFFFFFF;
	bool wr = o[1] & 4;
	uint8_t d[4];

	put_le16(d, get_le16(o + 6));
	put_le16(d + 2, get_le16(o + 6) ^ 0xA5A5);
	switch (o[0] % 5) {
	case 0: /* address latch, or the data window at its offset */
		if (o[1] & 8)
			pci_conf1_io(b, 0, d, 4, wr);
		else
			pci_conf1_io(b, 4 + (addr & 3), d, len > 4 - (addr & 3) ? 1 : len, wr);
		break;
	case 1:
		pci_ecam_io(b, addr & ~(uint64_t)(len - 1), d, len, wr);
		break;
	case 2:
		pci_mmio_io(b, addr % PCI_MMIO32_SIZE, d, len, wr);
		break;
	case 3:
		pci_pio_io(b, addr % PCI_PIO_SIZE, d, len, wr);
		break;
	default: { /* an absent function reads as all ones */
		uint8_t a[4];

		pci_ecam_io(b, (5u << 15) | (addr & 0xFFC), a, 4, false);
		check(get_le32(a) == 0xFFFFFFFF);
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pci_bus b;
	struct fake f;

	setup(&b, &f);
	for (size_t i = 0; i + 8 <= size; i += 8)
		op(&b, data + i);
	pci_bus_destroy(&b);
	return 0;
}
