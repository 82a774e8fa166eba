/* The PCI bus: configuration through 0xCF8/0xCFC and ECAM, BAR sizing and moves,
 * capabilities, and BAR access dispatch. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/bytes.h"
#include "devices/pci.h"

struct fake {
	struct pci_dev dev;
	unsigned remaps;
	uint64_t last_remap[PCI_NUM_BARS];
	uint64_t last_off;
	unsigned bar_reads, bar_writes, cfg_writes;
};

static void fake_bar_io(struct pci_dev *p, unsigned bar, uint64_t off, uint8_t *data, uint32_t len,
			bool is_write)
{
	struct fake *f = p->opaque;

	(void)bar;
	f->last_off = off;
	if (is_write) {
		f->bar_writes++;
	} else {
		f->bar_reads++;
		memset(data, 0xAB, len);
	}
}

static void fake_remap(struct pci_dev *p, unsigned bar, uint64_t addr)
{
	struct fake *f = p->opaque;

	f->remaps++;
	f->last_remap[bar] = addr;
}

static void fake_cfg_write(struct pci_dev *p, uint32_t off, uint32_t len)
{
	struct fake *f = p->opaque;

	(void)off;
	(void)len;
	f->cfg_writes++;
}

static const struct pci_dev_ops fake_ops = {
    .bar_io = fake_bar_io, .bar_remap = fake_remap, .cfg_write = fake_cfg_write};

static uint32_t conf1_read(struct pci_bus *b, unsigned dev, unsigned reg, unsigned len)
{
	uint8_t d[4];

	put_le32(d, 0x80000000u | dev << 11 | (reg & 0xFC));
	pci_conf1_io(b, 0, d, 4, true);
	memset(d, 0, 4);
	pci_conf1_io(b, 4 + (reg & 3), d, len, false);
	return len == 4 ? get_le32(d) : len == 2 ? get_le16(d) : d[0];
}

static void conf1_write(struct pci_bus *b, unsigned dev, unsigned reg, uint32_t v, unsigned len)
{
	uint8_t d[4];

	put_le32(d, 0x80000000u | dev << 11 | (reg & 0xFC));
	pci_conf1_io(b, 0, d, 4, true);
	put_le32(d, v);
	pci_conf1_io(b, 4 + (reg & 3), d, len, true);
}

static void setup(struct pci_bus *b, struct fake *f)
{
	static const uint8_t body[6] = {1, 2, 3, 4, 5, 6};

	memset(f, 0, sizeof(*f));
	pci_bus_init(b, NULL, NULL);
	pci_dev_init(&f->dev, 0x1AF4, 0x1042, 0x018000, 1, 0x1AF4, 0x1042);
	f->dev.ops = &fake_ops;
	f->dev.opaque = f;
	pci_dev_set_bar(&f->dev, 0, PCI_BAR_MEM32, 0x8000);
	pci_dev_set_bar(&f->dev, 2, PCI_BAR_IO, 0x20);
	assert_int_equal(pci_dev_add_cap(&f->dev, 0x09, body, NULL, sizeof(body)), 0x40);
	assert_int_equal(pci_bus_add(b, &f->dev), 0);
}

static void test_ids_and_absent(void **state)
{
	struct pci_bus b;
	struct fake f;
	uint8_t d[4];

	(void)state;
	setup(&b, &f);
	assert_int_equal(conf1_read(&b, 0, 0, 4), 0x29C08086); /* host bridge */
	assert_int_equal(conf1_read(&b, 1, 0, 4), 0x10421AF4);
	assert_int_equal(conf1_read(&b, 1, 0x0A, 2), 0x0180);  /* class, subclass */
	assert_int_equal(conf1_read(&b, 1, 0x3D, 1), 1);       /* INTA */
	assert_int_equal(conf1_read(&b, 2, 0, 4), 0xFFFFFFFF); /* empty slot */
	/* Capabilities: status bit and the list. */
	assert_true(conf1_read(&b, 1, 0x06, 2) & 0x10);
	assert_int_equal(conf1_read(&b, 1, 0x34, 1), 0x40);
	assert_int_equal(conf1_read(&b, 1, 0x40, 1), 0x09);
	assert_int_equal(conf1_read(&b, 1, 0x42, 1), 1);
	/* ECAM reaches the same space; other buses and functions are empty. */
	pci_ecam_io(&b, (1u << 15) | 0, d, 4, false);
	assert_int_equal(get_le32(d), 0x10421AF4);
	pci_ecam_io(&b, (1u << 20) | (1u << 15), d, 4, false);
	assert_int_equal(get_le32(d), 0xFFFFFFFF);
	pci_ecam_io(&b, (1u << 15) | (1u << 12), d, 4, false);
	assert_int_equal(get_le32(d), 0xFFFFFFFF);
	pci_bus_destroy(&b);
}

static void test_bar_sizing_and_move(void **state)
{
	struct pci_bus b;
	struct fake f;
	uint32_t bar0, cmd;
	uint8_t d[4];

	(void)state;
	setup(&b, &f);
	bar0 = conf1_read(&b, 1, 0x10, 4);
	assert_int_equal(bar0 & 0xF, 0);
	assert_true(bar0 >= PCI_MMIO32_BASE && bar0 % 0x8000 == 0);
	assert_int_equal(f.last_remap[0], bar0);
	assert_int_equal(conf1_read(&b, 1, 0x18, 4) & 3, 1); /* I/O BAR */
	/* Sizing as Linux does: decoding off, all ones, read the mask, restore. */
	cmd = conf1_read(&b, 1, 0x04, 2);
	conf1_write(&b, 1, 0x04, cmd & ~3u, 2);
	assert_int_equal(f.last_remap[0], 0);
	conf1_write(&b, 1, 0x10, 0xFFFFFFFF, 4);
	assert_int_equal(conf1_read(&b, 1, 0x10, 4), 0xFFFF8000);
	conf1_write(&b, 1, 0x18, 0xFFFFFFFF, 4);
	assert_int_equal(conf1_read(&b, 1, 0x18, 4), 0xFFFFFFE1);
	conf1_write(&b, 1, 0x10, PCI_MMIO32_BASE + 0x100000, 4);
	conf1_write(&b, 1, 0x04, cmd, 2);
	assert_int_equal(f.last_remap[0], PCI_MMIO32_BASE + 0x100000);
	/* Accesses reach the device at the new place, with the offset in the BAR. */
	pci_mmio_io(&b, 0x100000 + 0x1234, d, 4, false);
	assert_int_equal(get_le32(d), 0xABABABAB);
	assert_int_equal(f.last_off, 0x1234);
	/* The old place answers nothing; past the BAR's end neither. */
	f.bar_reads = 0;
	pci_mmio_io(&b, bar0 - PCI_MMIO32_BASE, d, 4, false);
	pci_mmio_io(&b, 0x100000 + 0x7FFE, d, 4, false);
	assert_int_equal(f.bar_reads, 0);
	assert_int_equal(get_le32(d), 0xFFFFFFFF);
	pci_bus_destroy(&b);
}

static void test_readonly_fields(void **state)
{
	struct pci_bus b;
	struct fake f;

	(void)state;
	setup(&b, &f);
	conf1_write(&b, 1, 0x00, 0x12345678, 4); /* ids are read-only */
	assert_int_equal(conf1_read(&b, 1, 0, 4), 0x10421AF4);
	conf1_write(&b, 1, 0x3C, 0x0B, 1); /* interrupt line is the guest's */
	assert_int_equal(conf1_read(&b, 1, 0x3C, 1), 0x0B);
	conf1_write(&b, 1, 0x42, 0xFF, 1); /* capability body without wmask: read-only */
	assert_int_equal(conf1_read(&b, 1, 0x42, 1), 1);
	assert_true(f.cfg_writes >= 3);
	/* Past the end of config space: all ones, nothing written. */
	{
		uint8_t d[4];

		pci_ecam_io(&b, (1u << 15) | 0xFFE, d, 4, false);
		assert_int_equal(get_le32(d), 0xFFFFFFFF);
	}
	pci_bus_destroy(&b);
}

static void test_bus_full(void **state)
{
	static struct pci_dev devs[PCI_SLOTS];
	struct pci_bus b;
	unsigned added = 0;

	(void)state;
	pci_bus_init(&b, NULL, NULL);
	for (unsigned i = 0; i < PCI_SLOTS; i++) {
		pci_dev_init(&devs[i], 0x1AF4, 0x1044, 0xFF0000, 1, 0x1AF4, 0x1044);
		pci_dev_set_bar(&devs[i], 0, PCI_BAR_MEM32, 0x1000);
		if (pci_bus_add(&b, &devs[i]) == 0)
			added++;
	}
	assert_int_equal(added, PCI_SLOTS - 1); /* slot 0 is the host bridge */
	pci_bus_destroy(&b);
}

/* A second function in a slot (the AHCI controller at 00:1f.2 beside the LPC bridge): function
 * 0 says multi-function, the function answers through 0xCF8 and ECAM with its BARs placed, and
 * its slot is not handed out again. */
static void test_multifunction(void **state)
{
	static struct pci_dev devs[PCI_SLOTS];
	struct pci_dev lpc, fn2, dup;
	struct fake f;
	struct pci_bus b;
	uint8_t d[4];
	unsigned added = 0;

	(void)state;
	setup(&b, &f);
	pci_dev_init(&lpc, 0x8086, 0x2918, 0x060100, 2, 0, 0);
	pci_dev_init(&fn2, 0x8086, 0x2922, 0x010601, 2, 0, 0);
	pci_dev_init(&dup, 0x8086, 0x2922, 0x010601, 2, 0, 0);
	fn2.ops = &fake_ops;
	fn2.opaque = &f;
	pci_dev_set_bar(&fn2, 5, PCI_BAR_MEM32, 0x1000);
	assert_int_equal(pci_bus_add_at(&b, &lpc, 31), 0);
	assert_int_equal(conf1_read(&b, 31, 0x0E, 1), 0x00);
	assert_int_equal(pci_bus_add_fn(&b, &fn2, 31, 2), 0);
	assert_int_equal(pci_bus_add_fn(&b, &dup, 31, 2), -EBUSY);
	assert_int_equal(pci_bus_add_fn(&b, &dup, 31, 8), -EBUSY);
	assert_int_equal(conf1_read(&b, 31, 0x0E, 1), 0x80);
	put_le32(d, 0x80000000u | 31u << 11 | 2u << 8);
	pci_conf1_io(&b, 0, d, 4, true);
	pci_conf1_io(&b, 4, d, 4, false);
	assert_int_equal(get_le32(d), 0x29228086);
	pci_ecam_io(&b, (31u << 15) | (2u << 12) | 0x3D, d, 1, false);
	assert_int_equal(d[0], 1); /* INTA */
	pci_ecam_io(&b, (31u << 15) | (2u << 12) | 0x24, d, 4, false);
	assert_true(get_le32(d) >= PCI_MMIO32_BASE);
	assert_int_equal(fn2.bar[5].decoded, get_le32(d));
	pci_ecam_io(&b, (31u << 15) | (1u << 12), d, 4, false);
	assert_int_equal(get_le32(d), 0xFFFFFFFF);
	/* Its BAR reaches it. */
	f.bar_reads = 0;
	pci_mmio_io(&b, fn2.bar[5].decoded - PCI_MMIO32_BASE + 0x24, d, 4, false);
	assert_int_equal(f.bar_reads, 1);
	assert_int_equal(f.last_off, 0x24);
	/* Slot 31 is taken: the others fill up (1 and 31 are). */
	for (unsigned i = 0; i < PCI_SLOTS; i++) {
		pci_dev_init(&devs[i], 0x1AF4, 0x1044, 0xFF0000, 1, 0x1AF4, 0x1044);
		if (pci_bus_add(&b, &devs[i]) == 0) {
			assert_true(devs[i].slot != 31);
			added++;
		}
	}
	assert_int_equal(added, PCI_SLOTS - 3);
	pci_bus_destroy(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ids_and_absent),  cmocka_unit_test(test_bar_sizing_and_move),
	    cmocka_unit_test(test_readonly_fields), cmocka_unit_test(test_bus_full),
	    cmocka_unit_test(test_multifunction),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
