#include "devices/pci.h"

#include <errno.h>
#include <string.h>

#include "common/bytes.h"

#define CFG_VENDOR	0x00
#define CFG_COMMAND	0x04
#define CFG_STATUS	0x06
#define CFG_REVISION	0x08
#define CFG_HEADER_TYPE 0x0E
#define CFG_BAR0	0x10
#define CFG_SUBSYS_VEN	0x2C
#define CFG_CAP_PTR	0x34
#define CFG_INT_LINE	0x3C
#define CFG_INT_PIN	0x3D
#define CMD_IO		0x0001
#define CMD_MEM		0x0002
#define CMD_MASTER	0x0004
#define CMD_INTX_OFF	0x0400
#define STATUS_CAPS	0x0010

void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_code,
		  uint8_t revision, uint16_t subsys_vendor, uint16_t subsys_id)
{
	memset(d->cfg, 0, sizeof(d->cfg));
	memset(d->wmask, 0, sizeof(d->wmask));
	memset(d->bar, 0, sizeof(d->bar));
	put_le16(d->cfg + CFG_VENDOR, vendor);
	put_le16(d->cfg + CFG_VENDOR + 2, device);
	d->cfg[CFG_REVISION] = revision;
	d->cfg[CFG_REVISION + 1] = (uint8_t)class_code;
	d->cfg[CFG_REVISION + 2] = (uint8_t)(class_code >> 8);
	d->cfg[CFG_REVISION + 3] = (uint8_t)(class_code >> 16);
	put_le16(d->cfg + CFG_SUBSYS_VEN, subsys_vendor);
	put_le16(d->cfg + CFG_SUBSYS_VEN + 2, subsys_id);
	put_le16(d->wmask + CFG_COMMAND, CMD_IO | CMD_MEM | CMD_MASTER | CMD_INTX_OFF);
	d->wmask[CFG_INT_LINE] = 0xFF;
	d->next_cap = 0x40;
}

void pci_dev_set_bar(struct pci_dev *d, unsigned n, enum pci_bar_type type, uint64_t size)
{
	uint8_t *reg = d->cfg + CFG_BAR0 + 4 * n;
	uint64_t mask = ~(size - 1);

	d->bar[n].type = type;
	d->bar[n].size = size;
	if (type == PCI_BAR_IO) {
		put_le32(reg, 0x1);
		put_le32(d->wmask + CFG_BAR0 + 4 * n, (uint32_t)mask & ~3u);
		return;
	}
	put_le32(reg, type == PCI_BAR_MEM64 ? 0x4 : 0x0);
	put_le32(d->wmask + CFG_BAR0 + 4 * n, (uint32_t)mask & ~0xFu);
	if (type == PCI_BAR_MEM64)
		put_le32(d->wmask + CFG_BAR0 + 4 * (n + 1), (uint32_t)(mask >> 32));
}

unsigned pci_dev_add_cap(struct pci_dev *d, uint8_t id, const uint8_t *body,
			 const uint8_t *wmask_body, unsigned len)
{
	unsigned off = d->next_cap;

	if (off + 2 + len > 0x100)
		return 0;
	d->cfg[off] = id;
	d->cfg[off + 1] = d->cfg[CFG_CAP_PTR];
	memcpy(d->cfg + off + 2, body, len);
	if (wmask_body)
		memcpy(d->wmask + off + 2, wmask_body, len);
	/* Newest first: the list is walked from the pointer, order does not matter. */
	d->cfg[CFG_CAP_PTR] = (uint8_t)off;
	put_le16(d->cfg + CFG_STATUS, get_le16(d->cfg + CFG_STATUS) | STATUS_CAPS);
	d->next_cap = (uint8_t)ALIGN_UP(off + 2 + len, 4u);
	return off;
}

static uint64_t bar_address(const struct pci_dev *d, unsigned n)
{
	const uint8_t *reg = d->cfg + CFG_BAR0 + 4 * n;
	uint16_t cmd = get_le16(d->cfg + CFG_COMMAND);

	switch (d->bar[n].type) {
	case PCI_BAR_IO:
		return (cmd & CMD_IO) ? get_le32(reg) & ~3u : 0;
	case PCI_BAR_MEM32:
		return (cmd & CMD_MEM) ? get_le32(reg) & ~0xFu : 0;
	case PCI_BAR_MEM64:
		return (cmd & CMD_MEM) ? (get_le64(reg) & ~0xFull) : 0;
	default:
		return 0;
	}
}

/* Caller holds the bus lock. A BAR half-way through sizing (all ones) decodes nothing. */
static void update_bars(struct pci_dev *d)
{
	for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
		uint64_t a = bar_address(d, n);

		if (!d->bar[n].size)
			continue;
		if (a + d->bar[n].size < a || (~a & ~(d->bar[n].size - 1) & 0xFFFFFFF0u) == 0)
			a = 0;
		if (a != d->bar[n].decoded) {
			d->bar[n].decoded = a;
			if (d->ops && d->ops->bar_remap)
				d->ops->bar_remap(d, n, a);
		}
	}
}

static void place_bars(struct pci_bus *b, struct pci_dev *d)
{
	for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
		uint8_t *reg = d->cfg + CFG_BAR0 + 4 * n;
		uint64_t size = d->bar[n].size;

		if (!size)
			continue;
		if (d->bar[n].type == PCI_BAR_IO) {
			b->pio_next = ALIGN_UP(b->pio_next, (uint32_t)size);
			put_le32(reg, b->pio_next | 1u);
			b->pio_next += (uint32_t)size;
			continue;
		}
		b->mmio32_next = ALIGN_UP(b->mmio32_next, size);
		put_le32(reg, (uint32_t)b->mmio32_next | (get_le32(reg) & 0xFu));
		b->mmio32_next += size;
	}
	/* Decoding on, as firmware would leave it. */
	put_le16(d->cfg + CFG_COMMAND, CMD_IO | CMD_MEM);
	update_bars(d);
}

void pci_bus_init(struct pci_bus *b, void (*reset)(void *opaque), void *reset_opaque)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	b->reset = reset;
	b->reset_opaque = reset_opaque;
	b->mmio32_next = PCI_MMIO32_BASE;
	b->mmio32_base = PCI_MMIO32_BASE;
	b->mmio32_size = PCI_MMIO32_SIZE;
	b->pio_next = b->pio_base = PCI_PIO_BASE;
	b->pio_size = PCI_PIO_SIZE;
	/* 00:00.0: Q35-compatible host bridge id, which UEFI firmware probes for. */
	pci_dev_init(&b->host, 0x8086, 0x29C0, 0x060000, 0, 0x1AF4, 0x1100);
	b->dev[0] = &b->host;
}

void pci_bus_set_windows(struct pci_bus *b, uint64_t mmio32_base, uint64_t mmio32_size,
			 uint32_t pio_base, uint32_t pio_size)
{
	b->mmio32_base = b->mmio32_next = mmio32_base;
	b->mmio32_size = mmio32_size;
	b->pio_base = b->pio_next = pio_base;
	b->pio_size = pio_size;
}

void pci_host_q35_regs(struct pci_bus *b, uint64_t ecam)
{
	/* MCH PCIEXBAR (0x60/0x64): base, length field 0 (256 buses), enable bit 0. */
	put_le32(b->host.cfg + 0x60, (uint32_t)ecam | 1u);
	put_le32(b->host.cfg + 0x64, (uint32_t)(ecam >> 32));
}

/* Caller holds the lock. How many functions of the slot are plugged. */
static unsigned slot_functions(const struct pci_bus *b, unsigned slot)
{
	unsigned n = 0;

	for (unsigned fn = 0; fn < PCI_FUNCS; fn++)
		n += b->dev[slot * PCI_FUNCS + fn] != NULL;
	return n;
}

/* Caller holds the lock. Function 0 of a slot with more than one function says so. */
static void mark_multifunction(struct pci_bus *b, unsigned slot)
{
	struct pci_dev *f0 = b->dev[slot * PCI_FUNCS];

	if (f0 && slot_functions(b, slot) > 1)
		f0->cfg[CFG_HEADER_TYPE] |= 0x80;
}

/* Caller holds the lock. Whether the device's memory BARs fit in what is left of the 32-bit
 * window (reckoned with the largest alignment a BAR here needs). */
static bool bars_fit(const struct pci_bus *b, const struct pci_dev *d)
{
	uint64_t need = 0;

	for (unsigned n = 0; n < PCI_NUM_BARS; n++)
		need += d->bar[n].type != PCI_BAR_IO ? d->bar[n].size : 0;
	return ALIGN_UP(b->mmio32_next, 1ull << 24) + need <= b->mmio32_base + b->mmio32_size;
}

/* Caller holds the lock, slot.fn is free and the BARs fit: plugs the device with INTA and its
 * BARs placed. */
static void plug(struct pci_bus *b, struct pci_dev *d, unsigned slot, unsigned fn)
{
	d->slot = slot;
	d->fn = fn;
	d->cfg[CFG_INT_PIN] = 1; /* INTA */
	b->dev[slot * PCI_FUNCS + fn] = d;
	place_bars(b, d);
	mark_multifunction(b, slot);
}

int pci_bus_add_at(struct pci_bus *b, struct pci_dev *d, unsigned slot)
{
	int rc = -EBUSY;

	pthread_mutex_lock(&b->lock);
	if (slot > 0 && slot < PCI_SLOTS && !b->dev[slot * PCI_FUNCS]) {
		d->slot = slot;
		d->fn = 0;
		b->dev[slot * PCI_FUNCS] = d;
		mark_multifunction(b, slot);
		rc = 0;
	}
	pthread_mutex_unlock(&b->lock);
	return rc;
}

int pci_bus_add_fn(struct pci_bus *b, struct pci_dev *d, unsigned slot, unsigned fn)
{
	int rc = -EBUSY;

	pthread_mutex_lock(&b->lock);
	if (slot > 0 && slot < PCI_SLOTS && fn < PCI_FUNCS && !b->dev[slot * PCI_FUNCS + fn]) {
		rc = -ENOSPC;
		if (bars_fit(b, d)) {
			plug(b, d, slot, fn);
			rc = 0;
		}
	}
	pthread_mutex_unlock(&b->lock);
	return rc;
}

void pci_bus_destroy(struct pci_bus *b)
{
	pthread_mutex_destroy(&b->lock);
}

int pci_bus_add(struct pci_bus *b, struct pci_dev *d)
{
	unsigned s;
	int rc = -ENOSPC;

	pthread_mutex_lock(&b->lock);
	for (s = 1; s < PCI_SLOTS && slot_functions(b, s); s++)
		;
	if (s < PCI_SLOTS && bars_fit(b, d)) {
		plug(b, d, s, 0);
		rc = 0;
	}
	pthread_mutex_unlock(&b->lock);
	return rc;
}

/* Caller holds the lock. Applies wmask; W1C for the status register. */
static void cfg_write(struct pci_dev *d, uint32_t reg, const uint8_t *data, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++) {
		uint32_t o = reg + i;

		if (o == CFG_STATUS + 1)
			continue; /* error bits: nothing to clear, we never set them */
		d->cfg[o] = (uint8_t)((d->cfg[o] & ~d->wmask[o]) | (data[i] & d->wmask[o]));
	}
	if (reg < CFG_BAR0 + 24 && reg + len > CFG_COMMAND)
		update_bars(d);
	if (d->ops && d->ops->cfg_write)
		d->ops->cfg_write(d, reg, len);
}

/* One configuration access to bus/dev/fn at reg (already split from the address). */
static void cfg_access(struct pci_bus *b, unsigned bus, unsigned dev, unsigned fn, uint32_t reg,
		       uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_dev *d =
	    (bus == 0 && fn < PCI_FUNCS && dev < PCI_SLOTS) ? b->dev[dev * PCI_FUNCS + fn] : NULL;

	if (reg + len > PCI_CFG_SIZE || !d) {
		if (!is_write)
			memset(data, 0xFF, len); /* no device: all ones */
		return;
	}
	if (is_write) {
		cfg_write(d, reg, data, len);
		return;
	}
	if (d->ops && d->ops->cfg_read)
		d->ops->cfg_read(d, reg, len);
	memcpy(data, d->cfg + reg, len);
}

void pci_conf1_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_bus *b = opaque;

	pthread_mutex_lock(&b->lock);
	if (off == 0 && len == 4) {
		if (is_write)
			b->conf1_addr = get_le32(data) & 0x80FFFFFCu;
		else
			put_le32(data, b->conf1_addr);
	} else if (off == 1 && len == 1) {
		/* Reset control register: bit 2 starts the reset (the FADT's reset register). */
		if (is_write && (data[0] & 0x04) && b->reset)
			b->reset(b->reset_opaque);
		else if (!is_write)
			data[0] = 0;
	} else if (off >= 4 && (b->conf1_addr & 0x80000000u)) {
		uint32_t a = b->conf1_addr;

		cfg_access(b, (a >> 16) & 0xFF, (a >> 11) & 0x1F, (a >> 8) & 7,
			   (a & 0xFC) + (uint32_t)(off - 4), data, len, is_write);
	} else if (!is_write) {
		memset(data, 0xFF, len);
	}
	pthread_mutex_unlock(&b->lock);
}

void pci_ecam_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_bus *b = opaque;

	pthread_mutex_lock(&b->lock);
	cfg_access(b, (unsigned)(off >> 20) & 0xFF, (unsigned)(off >> 15) & 0x1F,
		   (unsigned)(off >> 12) & 7, (uint32_t)(off & 0xFFF), data, len, is_write);
	pthread_mutex_unlock(&b->lock);
}

/* Finds the BAR decoding [addr, addr+len) in the given space. */
static struct pci_dev *find_bar(struct pci_bus *b, bool io, uint64_t addr, uint32_t len,
				unsigned *bar, uint64_t *off)
{
	for (unsigned s = PCI_FUNCS; s < PCI_SLOTS * PCI_FUNCS; s++) {
		struct pci_dev *d = b->dev[s];

		for (unsigned n = 0; d && n < PCI_NUM_BARS; n++) {
			const struct pci_bar *r = &d->bar[n];

			if (!r->decoded || (r->type == PCI_BAR_IO) != io || addr < r->decoded ||
			    addr - r->decoded >= r->size || len > r->size - (addr - r->decoded))
				continue;
			*bar = n;
			*off = addr - r->decoded;
			return d;
		}
	}
	return NULL;
}

static void bar_dispatch(struct pci_bus *b, bool io, uint64_t addr, uint8_t *data, uint32_t len,
			 bool is_write)
{
	struct pci_dev *d;
	unsigned bar = 0;
	uint64_t off = 0;

	pthread_mutex_lock(&b->lock);
	d = find_bar(b, io, addr, len, &bar, &off);
	pthread_mutex_unlock(&b->lock);
	if (d && d->ops && d->ops->bar_io)
		d->ops->bar_io(d, bar, off, data, len, is_write);
	else if (!is_write)
		memset(data, 0xFF, len);
}

void pci_mmio_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	const struct pci_bus *b = opaque;

	bar_dispatch(opaque, false, b->mmio32_base + off, data, len, is_write);
}

void pci_pio_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	const struct pci_bus *b = opaque;

	bar_dispatch(opaque, true, b->pio_base + off, data, len, is_write);
}
