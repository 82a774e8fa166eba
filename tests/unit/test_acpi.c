/* ACPI tables: walk RSDP -> XSDT/RSDT -> tables as an OS would, check every field we
 * promise, the AML encoder's edge cases, bounds, and (when IASL names acpica's iasl) that
 * each table disassembles cleanly. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "arch/x86/acpi.h"
#include "arch/x86/aml.h"
#include "arch/x86/layout.h"

#define BUF_SIZE 16384
#define GUARD	 64
#define HDR_LEN	 36

static const unsigned cpu_counts[] = {1, 2, 4, 64};
/* 0xE0010 is 16- but not 64-byte aligned, so the FACS needs padding. */
static const uint64_t bases[] = {0xE0000, 0xE0010, 0xFFFF0000};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The PC's legacy devices, as the machine's serial, i8042 and RTC devices write them through
 * their DSDT hooks. */
static void pc_isa_devices(void *opaque, struct aml *a)
{
	static const struct acpi_isa_dev devs[] = {
	    {"COM1", "PNP0501", 1, 4, {{0x3F8, 8}}},
	    {"PS2K", "PNP0303", 0, 1, {{0x60, 1}, {0x64, 1}}},
	    {"PS2M", "PNP0F13", 0, 12, {{0}}},
	    {"RTC_", "PNP0B00", 0, 8, {{0x70, 2}}},
	};

	(void)opaque;
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		acpi_dsdt_isa(a, &devs[i]);
}

/* A PCIe host bridge as the brief's example lays it out. */
static const struct acpi_vm pci_vm = {
    .ncpus = 4,
    .ecam_base = 0xE0000000,
    .pci_bus_end = 0,
    .mmio32_base = 0xC0000000,
    .mmio32_size = 0x20000000,
    .mmio64_base = 0x8000000000,
    .mmio64_size = 0x8000000000,
    .pio_base = 0xC000,
    .pio_size = 0x4000,
    .pci_irqs = {16, 17, 18, 19},
    .sb_devices = pc_isa_devices,
};

static uint64_t rd(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* The tables of one build, found from the RSDP the way an OS finds them. */
struct tables {
	const uint8_t *buf;
	size_t len;
	uint64_t base;
	const uint8_t *rsdp, *rsdt, *xsdt, *fadt, *madt, *mcfg, *dsdt, *facs;
};

/* Host pointer for [gpa, gpa+n) if it lies inside what acpi_build reported as used. */
static const uint8_t *at(const struct tables *t, uint64_t gpa, size_t n)
{
	assert_true(gpa >= t->base);
	assert_true(n <= t->len && gpa - t->base <= t->len - n);
	return t->buf + (gpa - t->base);
}

/* A table with a standard header: fits, sums to 0, carries our OEM fields. */
static const uint8_t *table_at(const struct tables *t, uint64_t gpa, const char *sig)
{
	const uint8_t *p = at(t, gpa, HDR_LEN);
	uint32_t len = (uint32_t)rd(p + 4, 4);

	assert_memory_equal(p, sig, 4);
	assert_true(len >= HDR_LEN);
	at(t, gpa, len);
	assert_int_equal(acpi_checksum(p, len), 0);
	assert_memory_equal(p + 10, "PHYLLO", 6);
	assert_memory_equal(p + 16, "PHYLLOME", 8);
	assert_int_equal(rd(p + 24, 4), 1);
	assert_memory_equal(p + 28, "PHYL", 4);
	assert_int_equal(rd(p + 32, 4), 1);
	return p;
}

static void walk_rsdp(struct tables *t)
{
	const uint8_t *r = at(t, t->base, 36);

	t->rsdp = r;
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(acpi_checksum(r, 20), 0);
	assert_int_equal(acpi_checksum(r, 36), 0);
	assert_memory_equal(r + 9, "PHYLLO", 6);
	assert_int_equal(r[15], 2);
	assert_int_equal(rd(r + 20, 4), 36);
	t->xsdt = table_at(t, rd(r + 24, 8), "XSDT");
	t->rsdt = table_at(t, rd(r + 16, 4), "RSDT");
}

/* Both root tables list the same tables: FADT and MADT, MCFG if there is PCI, once each. */
static void walk_roots(struct tables *t)
{
	uint32_t xn = ((uint32_t)rd(t->xsdt + 4, 4) - HDR_LEN) / 8;
	uint32_t rn = ((uint32_t)rd(t->rsdt + 4, 4) - HDR_LEN) / 4;

	assert_int_equal(rd(t->xsdt + 4, 4), HDR_LEN + 8 * xn);
	assert_int_equal(rd(t->rsdt + 4, 4), HDR_LEN + 4 * rn);
	assert_true(xn == 2 || xn == 3);
	assert_int_equal(rn, xn);
	for (uint32_t i = 0; i < xn; i++) {
		uint64_t gpa = rd(t->xsdt + HDR_LEN + 8 * i, 8);
		const uint8_t *p = at(t, gpa, 4);

		assert_int_equal(rd(t->rsdt + HDR_LEN + 4 * i, 4), gpa);
		if (!memcmp(p, "FACP", 4)) {
			assert_null(t->fadt);
			t->fadt = table_at(t, gpa, "FACP");
		} else if (!memcmp(p, "MCFG", 4)) {
			assert_null(t->mcfg);
			t->mcfg = table_at(t, gpa, "MCFG");
		} else {
			assert_null(t->madt);
			t->madt = table_at(t, gpa, "APIC");
		}
	}
	assert_non_null(t->fadt);
	assert_non_null(t->madt);
	assert_int_equal(xn, t->mcfg ? 3 : 2);
}

static void walk(struct tables *t, const uint8_t *buf, long used, uint64_t base)
{
	assert_true(used > 0);
	memset(t, 0, sizeof(*t));
	t->buf = buf;
	t->len = (size_t)used;
	t->base = base;
	walk_rsdp(t);
	walk_roots(t);
	t->dsdt = table_at(t, rd(t->fadt + 140, 8), "DSDT");
	t->facs = at(t, rd(t->fadt + 132, 8), 64);
}

static long build(unsigned ncpus, uint8_t *buf, size_t len, uint64_t base)
{
	struct acpi_vm vm = {.ncpus = ncpus, .sb_devices = pc_isa_devices};

	return acpi_build(&vm, buf, len, base);
}

static long build_pci(unsigned ncpus, uint8_t *buf, size_t len, uint64_t base)
{
	struct acpi_vm vm = pci_vm;

	vm.ncpus = ncpus;
	return acpi_build(&vm, buf, len, base);
}

static void check_gas(const uint8_t *g, unsigned bits, uint64_t port)
{
	assert_int_equal(g[0], 1); /* system I/O */
	assert_int_equal(g[1], bits);
	assert_int_equal(g[2], 0);
	assert_int_equal(rd(g + 4, 8), port);
}

static void check_fadt(const struct tables *t)
{
	const uint8_t *f = t->fadt;
	uint32_t flags = (uint32_t)rd(f + 112, 4);
	uint64_t facs = rd(f + 132, 8);

	assert_int_equal(rd(f + 4, 4), 276);
	assert_int_equal(f[8], 6);
	assert_int_equal(rd(f + 36, 4), 0); /* X_FIRMWARE_CTRL only */
	assert_int_equal(rd(f + 40, 4), rd(f + 140, 8));
	assert_int_equal(facs % 64, 0);
	assert_memory_equal(t->facs, "FACS", 4);
	assert_int_equal(rd(t->facs + 4, 4), 64);
	assert_int_equal(f[45], 1);
	assert_int_equal(rd(f + 46, 2), ACPI_SCI_IRQ);
	assert_int_equal(rd(f + 48, 4), 0); /* no SMI_CMD: always in ACPI mode */
	assert_int_equal(rd(f + 56, 4), ACPI_PM1A_EVT_PORT);
	assert_int_equal(rd(f + 64, 4), ACPI_PM1A_CNT_PORT);
	assert_int_equal(rd(f + 76, 4), ACPI_PM_TMR_PORT);
	assert_int_equal(f[88], 4);
	assert_int_equal(f[89], 2);
	assert_int_equal(f[91], 4);
	assert_int_equal(f[108], 0x32);
	assert_int_equal(rd(f + 109, 2), 0x3); /* legacy devices, 8042; VGA present */
	/* WBINVD, PROC_C1, SLP_BUTTON, RESET_REG_SUP; so no PWR_BUTTON, TMR_VAL_EXT,
	 * RTC_S4 or HW_REDUCED_ACPI. */
	assert_int_equal(flags, (1u << 0) | (1u << 2) | (1u << 5) | (1u << 6) | (1u << 10));
	check_gas(f + 116, 8, ACPI_RESET_PORT);
	assert_int_equal(f[128], ACPI_RESET_VALUE);
	check_gas(f + 148, 32, ACPI_PM1A_EVT_PORT);
	check_gas(f + 172, 16, ACPI_PM1A_CNT_PORT);
	check_gas(f + 208, 32, ACPI_PM_TMR_PORT);
}

struct madt_count {
	unsigned lapic, ioapic, iso, nmi;
	uint64_t seen_ids;
};

static void check_madt_entry(const uint8_t *e, unsigned ncpus, struct madt_count *n)
{
	switch (e[0]) {
	case 0:
		assert_int_equal(e[1], 8);
		assert_int_equal(e[2], e[3]); /* ACPI id = APIC id */
		assert_true(e[3] < ncpus);
		assert_false(n->seen_ids & (1ull << e[3]));
		n->seen_ids |= 1ull << e[3];
		assert_int_equal(rd(e + 4, 4), 1);
		n->lapic++;
		break;
	case 1:
		assert_int_equal(e[1], 12);
		assert_int_equal(e[2], acpi_ioapic_id(ncpus));
		if (ncpus < 16)
			assert_true(e[2] >= ncpus && e[2] < 16);
		assert_int_equal(rd(e + 4, 4), IOAPIC_ADDR);
		assert_int_equal(rd(e + 8, 4), 0);
		n->ioapic++;
		break;
	case 2:
		assert_int_equal(e[1], 10);
		assert_int_equal(e[2], 0);
		if (e[3] == 0) {
			assert_int_equal(rd(e + 4, 4), 2);
			assert_int_equal(rd(e + 8, 2), 0);
		} else {
			assert_int_equal(e[3], ACPI_SCI_IRQ);
			assert_int_equal(rd(e + 4, 4), ACPI_SCI_IRQ);
			assert_int_equal(rd(e + 8, 2), 0xD); /* level, active high */
		}
		n->iso++;
		break;
	case 4:
		assert_int_equal(e[1], 6);
		assert_int_equal(e[2], 0xFF);
		assert_int_equal(rd(e + 3, 2), 0);
		assert_int_equal(e[5], 1);
		n->nmi++;
		break;
	default:
		fail_msg("unexpected MADT entry type %u", e[0]);
	}
}

static void check_madt(const struct tables *t, unsigned ncpus)
{
	const uint8_t *m = t->madt;
	uint32_t len = (uint32_t)rd(m + 4, 4);
	struct madt_count n = {0};
	uint32_t off = 44;

	assert_int_equal(rd(m + 36, 4), LAPIC_ADDR);
	assert_int_equal(rd(m + 40, 4), 1); /* PCAT_COMPAT */
	while (off < len) {
		assert_true(len - off >= 2);
		assert_true(m[off + 1] >= 2 && m[off + 1] <= len - off);
		check_madt_entry(m + off, ncpus, &n);
		off += m[off + 1];
	}
	assert_int_equal(off, len);
	assert_int_equal(n.lapic, ncpus);
	assert_int_equal(n.ioapic, 1);
	assert_int_equal(n.iso, 2);
	assert_int_equal(n.nmi, 1);
}

/* Returns the PkgLength at p and stores its size in *n. */
static uint32_t pkglen(const uint8_t *p, size_t *n)
{
	unsigned follow = p[0] >> 6;
	uint32_t v = follow ? p[0] & 0x0F : p[0] & 0x3F;

	for (unsigned i = 0; i < follow; i++)
		v |= (uint32_t)p[1 + i] << (4 + 8 * i);
	*n = follow + 1;
	return v;
}

static const uint8_t *find(const uint8_t *hay, size_t len, const void *needle, size_t n)
{
	const uint8_t *p = memmem(hay, len, needle, n);

	assert_non_null(p);
	return p;
}

/* Sleep packages, the \_SB scope spanning the rest of the table, each device's HID, and
 * COM1's resource template byte for byte. */
static void check_dsdt(const struct tables *t)
{
	const uint8_t *d = t->dsdt;
	size_t len = (size_t)rd(d + 4, 4), n;
	static const uint8_t s5[] = {
	    0x08, '\\', '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0A, ACPI_S5_SLP_TYP, 0, 0, 0};
	static const uint8_t s0[] = {0x08, '\\', '_', 'S', '0', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0};
	static const uint8_t com1_crs[] = {0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03,
					   0x01, 0x08, 0x22, 0x10, 0x00, 0x79};
	static const char *const hids[] = {"\x0C\x41\xD0\x05\x01", "\x0C\x41\xD0\x03\x03",
					   "\x0C\x41\xD0\x0F\x13", "\x0C\x41\xD0\x0B\x00"};
	const uint8_t *sb, *crs;

	assert_int_equal(d[8], 2);
	find(d, len, s5, sizeof(s5));
	find(d, len, s0, sizeof(s0));
	sb = find(d + HDR_LEN, len - HDR_LEN, "\\_SB_", 5) - 3; /* ScopeOp, 2-byte PkgLength */
	assert_int_equal(sb[0], 0x10);
	assert_int_equal(pkglen(sb + 1, &n), d + len - (sb + 1));
	assert_int_equal(n, 2);
	for (size_t i = 0; i < ARRAY_LEN(hids); i++)
		find(sb, len - (size_t)(sb - d), hids[i], 5);
	for (size_t i = 0; i < 4; i++)
		find(sb, len - (size_t)(sb - d), &"COM1PS2KPS2MRTC_"[4 * i], 4);
	crs = find(d, len, com1_crs, sizeof(com1_crs));
	assert_int_equal(acpi_checksum(crs, sizeof(com1_crs) + 1), 0);
}

static void check_mcfg(const struct tables *t, const struct acpi_vm *vm)
{
	const uint8_t *m = t->mcfg;

	assert_non_null(m);
	assert_int_equal(rd(m + 4, 4), 60); /* header, 8 reserved, one allocation */
	assert_int_equal(m[8], 1);
	assert_int_equal(rd(m + 36, 8), 0);
	assert_int_equal(rd(m + 44, 8), vm->ecam_base);
	assert_int_equal(rd(m + 52, 2), 0); /* segment */
	assert_int_equal(m[54], 0);	    /* start bus */
	assert_int_equal(m[55], vm->pci_bus_end);
	assert_int_equal(rd(m + 56, 4), 0);
}

/* Decodes the AML integer at *p (Zero, One, Byte, Word, DWord or QWord) and moves past it. */
static uint64_t aml_int_at(const uint8_t **p)
{
	static const unsigned size[] = {[0x0A] = 1, [0x0B] = 2, [0x0C] = 4, [0x0E] = 8};
	uint8_t op = *(*p)++;
	uint64_t v;

	if (op == 0x00 || op == 0x01)
		return op;
	assert_true(op < ARRAY_LEN(size) && size[op]);
	v = rd(*p, size[op]);
	*p += size[op];
	return v;
}

/* _PRT: a Package of 31 * 4 Package(4) {slot << 16 | 0xFFFF, pin, 0, GSI}, slots 1..31, with
 * the swizzle GSI = pci_irqs[(slot + pin) % 4]. */
static void check_prt(const uint8_t *d, size_t len, const struct acpi_vm *vm)
{
	const uint8_t *p = find(d, len, "\x08_PRT\x12", 6) + 6;
	const uint8_t *end;
	size_t n;

	end = p + pkglen(p, &n);
	p += n;
	assert_int_equal(*p++, 124);
	for (unsigned slot = 1; slot < 32; slot++) {
		for (unsigned pin = 0; pin < 4; pin++) {
			const uint8_t *e;

			assert_int_equal(*p++, 0x12);
			e = p + pkglen(p, &n);
			p += n;
			assert_int_equal(*p++, 4);
			assert_int_equal(aml_int_at(&p), (uint64_t)slot << 16 | 0xFFFF);
			assert_int_equal(aml_int_at(&p), pin);
			assert_int_equal(aml_int_at(&p), 0);
			assert_int_equal(aml_int_at(&p), vm->pci_irqs[(slot + pin) % 4]);
			assert_ptr_equal(p, e);
		}
	}
	assert_ptr_equal(p, end);
}

/* PCI0's _CRS for pci_vm, descriptor by descriptor (ACPI 6.x 6.4.3.5), then the EndTag. */
static const uint8_t pci_crs[] = {
    /* WordBusNumber: producer, MinFixed, MaxFixed; _GRA 0, 0..0, _TRA 0, _LEN 1 */
    0x88, 0x0D, 0x00, 0x02, 0x0C, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
    /* IO(Decode16, 0xCF8, 0xCF8, 1, 8): consumed by the bridge */
    0x47, 0x01, 0xF8, 0x0C, 0xF8, 0x0C, 0x01, 0x08,
    /* WordIO 0x0000..0x0CF7, EntireRange */
    0x88, 0x0D, 0x00, 0x01, 0x0C, 0x03, 0x00, 0x00, 0x00, 0x00, 0xF7, 0x0C, 0x00, 0x00, 0xF8, 0x0C,
    /* WordIO 0xC000..0xFFFF */
    0x88, 0x0D, 0x00, 0x01, 0x0C, 0x03, 0x00, 0x00, 0x00, 0xC0, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x40,
    /* DWordMemory 0xA0000..0xBFFFF, non-cacheable, read-write */
    0x87, 0x17, 0x00, 0x00, 0x0C, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0A, 0x00, 0xFF, 0xFF,
    0x0B, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,
    /* DWordMemory 0xC0000000..0xDFFFFFFF */
    0x87, 0x17, 0x00, 0x00, 0x0C, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0xFF, 0xFF,
    0xFF, 0xDF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20,
    /* QWordMemory 0x80_0000_0000..0xFF_FFFF_FFFF */
    0x8A, 0x2B, 0x00, 0x00, 0x0C, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00,
    0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00,
    0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
    /* EndTag */
    0x79};

/* ToUUID("33DB4D5B-1FF7-401C-9657-7441C03DD766"): Buffer(16) {...} */
static const uint8_t pci_uuid[] = {0x11, 0x13, 0x0A, 0x10, 0x5B, 0x4D, 0xDB, 0x33, 0xF7, 0x1F,
				   0x1C, 0x40, 0x96, 0x57, 0x74, 0x41, 0xC0, 0x3D, 0xD7, 0x66};

/* The resource template whose descriptors start at crs ends with an EndTag whose checksum
 * makes the descriptors sum to 0. */
static void check_restemplate_sum(const uint8_t *crs, size_t desc_len)
{
	assert_int_equal(crs[desc_len - 1], 0x79);
	assert_int_equal(acpi_checksum(crs, desc_len + 1), 0);
}

static void check_dsdt_pci(const struct tables *t, const struct acpi_vm *vm)
{
	const uint8_t *d = t->dsdt;
	size_t len = (size_t)rd(d + 4, 4);
	static const uint8_t hid[] = {0x08, '_', 'H', 'I', 'D', 0x0C, 0x41, 0xD0, 0x0A, 0x08};
	static const uint8_t cid[] = {0x08, '_', 'C', 'I', 'D', 0x0C, 0x41, 0xD0, 0x0A, 0x03};
	static const uint8_t pic[] = {0x14, 0x07, '\\', '_', 'P', 'I', 'C', 0x01};
	static const uint8_t osc[] = {'_',  'O',  'S', 'C', 0x04, 0x8A,
				      0x6B, 0x00, 'C', 'D', 'W',  '1'};
	static const uint8_t ecam_hid[] = {0x08, '_', 'H', 'I', 'D', 0x0C, 0x41, 0xD0, 0x0C, 0x02};
	static const uint8_t ecam_qword[] = {0x8A, 0x2B, 0x00, 0x00, 0x0D, 0x01};
	const uint8_t *pci0, *crs, *q;

	pci0 = find(d, len, "PCI0\x08_HID", 9);
	assert_memory_equal(pci0 + 4, hid, sizeof(hid));
	find(pci0, len - (size_t)(pci0 - d), cid, sizeof(cid));
	assert_null(memmem(pci0, len - (size_t)(pci0 - d), "_ADR", 4));
	find(pci0, len - (size_t)(pci0 - d), "\x08_UID\x00\x08_SEG\x00\x08_BBN\x00", 18);
	crs = find(d, len, pci_crs, sizeof(pci_crs));
	check_restemplate_sum(crs, sizeof(pci_crs));
	find(d, len, pic, sizeof(pic));
	find(pci0, len - (size_t)(pci0 - d), osc, sizeof(osc));
	find(pci0, len - (size_t)(pci0 - d), pci_uuid, sizeof(pci_uuid));
	check_prt(d, len, vm);
	/* The ECAM range reserved by a motherboard resource device (PNP0C02), consumed. */
	find(d, len, ecam_hid, sizeof(ecam_hid));
	q = find(d, len, ecam_qword, sizeof(ecam_qword));
	assert_int_equal(rd(q + 6, 8), 0);
	assert_int_equal(rd(q + 14, 8), vm->ecam_base);
	assert_int_equal(rd(q + 22, 8),
			 vm->ecam_base + ((uint64_t)vm->pci_bus_end + 1) * 0x100000 - 1);
	assert_int_equal(rd(q + 30, 8), 0);
	assert_int_equal(rd(q + 38, 8), ((uint64_t)vm->pci_bus_end + 1) * 0x100000);
	check_restemplate_sum(q, 46 + 1);
}

/* Without PCI the tables hold nothing of it. */
static void check_no_pci(const struct tables *t)
{
	size_t len = (size_t)rd(t->dsdt + 4, 4);

	assert_null(t->mcfg);
	assert_null(memmem(t->dsdt, len, "PCI0", 4));
	assert_null(memmem(t->dsdt, len, "_PRT", 4));
	assert_null(memmem(t->dsdt, len, "_PIC", 4));
	assert_null(memmem(t->dsdt, len, "_OSC", 4));
	assert_null(memmem(t->dsdt, len, "ECAM", 4));
}

static void test_tables(void **state)
{
	uint8_t *buf = malloc(BUF_SIZE);
	struct tables t;

	(void)state;
	assert_non_null(buf);
	for (size_t b = 0; b < ARRAY_LEN(bases); b++) {
		for (size_t i = 0; i < ARRAY_LEN(cpu_counts); i++) {
			long used = build(cpu_counts[i], buf, BUF_SIZE, bases[b]);

			walk(&t, buf, used, bases[b]);
			check_fadt(&t);
			check_madt(&t, cpu_counts[i]);
			check_dsdt(&t);
			check_no_pci(&t);
		}
	}
	free(buf);
}

static void test_pci_tables(void **state)
{
	static const uint8_t bus_ends[] = {0, 255};
	uint8_t *buf = malloc(BUF_SIZE);
	struct tables t;

	(void)state;
	assert_non_null(buf);
	for (size_t b = 0; b < ARRAY_LEN(bases); b++) {
		for (size_t i = 0; i < ARRAY_LEN(cpu_counts); i++) {
			for (size_t e = 0; e < ARRAY_LEN(bus_ends); e++) {
				struct acpi_vm vm = pci_vm;
				long used;

				vm.ncpus = cpu_counts[i];
				vm.pci_bus_end = bus_ends[e];
				used = acpi_build(&vm, buf, BUF_SIZE, bases[b]);
				walk(&t, buf, used, bases[b]);
				check_fadt(&t);
				check_madt(&t, cpu_counts[i]);
				check_dsdt(&t);
				check_mcfg(&t, &vm);
				if (bus_ends[e] == 0)
					check_dsdt_pci(&t, &vm);
			}
		}
	}
	free(buf);
}

/* ecam_base 0 turns PCI off whatever the other fields hold: the bytes match a VM that
 * never mentions PCI. */
static void test_pci_off(void **state)
{
	uint8_t *a = malloc(BUF_SIZE), *b = malloc(BUF_SIZE);
	struct acpi_vm vm = pci_vm;
	long na, nb;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	vm.ecam_base = 0;
	vm.pci_irqs[0] = 3; /* would be refused with PCI on */
	na = acpi_build(&vm, a, BUF_SIZE, 0xE0000);
	nb = build(vm.ncpus, b, BUF_SIZE, 0xE0000);
	assert_true(na > 0);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, (size_t)na);
	free(a);
	free(b);
}

/* The worst case (64 CPUs, PCI with 256 buses) fits the guest's ACPI area. */
static void test_pci_size(void **state)
{
	uint8_t *buf = malloc(X86_ACPI_MAX);
	struct acpi_vm vm = pci_vm;
	long used;

	(void)state;
	assert_non_null(buf);
	vm.ncpus = ACPI_MAX_CPUS;
	vm.pci_bus_end = 255;
	used = acpi_build(&vm, buf, X86_ACPI_MAX, X86_ACPI_GPA);
	assert_true(used > 0 && (uint64_t)used < X86_ACPI_MAX);
	print_message("# tables for 64 CPUs with PCI: %ld bytes of %llu\n", used,
		      (unsigned long long)X86_ACPI_MAX);
	free(buf);
}

/* Each broken layout rule is refused; the edges just inside are accepted. */
static void test_pci_einval(void **state)
{
	uint8_t *buf = malloc(BUF_SIZE);
	struct acpi_vm vm;

	(void)state;
	assert_non_null(buf);
#define PCI_CASE(expect_ok, stmt)                                                                  \
	do {                                                                                       \
		long r_;                                                                           \
		vm = pci_vm;                                                                       \
		stmt;                                                                              \
		r_ = acpi_build(&vm, buf, BUF_SIZE, 0xE0000);                                      \
		if (expect_ok)                                                                     \
			assert_true(r_ > 0);                                                       \
		else                                                                               \
			assert_int_equal(r_, -EINVAL);                                             \
	} while (0)
	PCI_CASE(false, vm.ecam_base = 0xE0080000);			    /* not 1 MiB aligned */
	PCI_CASE(false, vm.ecam_base = 0xFFFFFFFFFFF00000ull);		    /* ends at 2^64 */
	PCI_CASE(false, vm.ecam_base = 0xD0000000);			    /* inside mmio32 */
	PCI_CASE(false, (vm.ecam_base = 0xB0100000, vm.pci_bus_end = 255)); /* runs into it */
	PCI_CASE(true, (vm.ecam_base = 0xB0000000, vm.pci_bus_end = 255));  /* ends just before */
	PCI_CASE(false, vm.ecam_base = 0x8000100000);			    /* inside mmio64 */
	PCI_CASE(false, vm.mmio32_size = 0x40000001);			    /* past 4 GiB */
	PCI_CASE(false, vm.mmio64_base = 0xBFF00000);			    /* overlaps mmio32 */
	PCI_CASE(false, (vm.mmio64_base = 0xFFFFFFFF00000000ull, vm.mmio64_size = 1ull << 32));
	PCI_CASE(true, (vm.mmio64_base = 0xFFFFFFFF00000000ull, vm.mmio64_size = 0xFFFFFFFF));
	PCI_CASE(false, vm.pio_base = 0x0CF8);
	PCI_CASE(false, vm.pio_size = 0x4001);
	PCI_CASE(true, (vm.pio_base = 0x0D00, vm.pio_size = 0xF300));
	PCI_CASE(false, vm.pci_irqs[2] = 15);
	PCI_CASE(false, vm.pci_irqs[3] = 24);
	PCI_CASE(true, (vm.pci_irqs[0] = 23, vm.pci_irqs[1] = 16));
	/* Windows of size 0 are left out, whatever their base. */
	PCI_CASE(true, (vm.mmio32_size = 0, vm.mmio64_size = 0, vm.pio_size = 0, vm.pio_base = 1));
#undef PCI_CASE
	free(buf);
}

/* Padding is zeroed: the output never depends on what the buffer held before. */
static void test_deterministic(void **state)
{
	static long (*const builders[])(unsigned, uint8_t *, size_t, uint64_t) = {build, build_pci};
	uint8_t *a = malloc(BUF_SIZE), *b = malloc(BUF_SIZE);

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	for (size_t i = 0; i < ARRAY_LEN(builders); i++) {
		long na, nb;

		memset(a, 0x00, BUF_SIZE);
		memset(b, 0xFF, BUF_SIZE);
		na = builders[i](4, a, BUF_SIZE, 0xE0010);
		nb = builders[i](4, b, BUF_SIZE, 0xE0010);
		assert_true(na > 0);
		assert_int_equal(na, nb);
		assert_memory_equal(a, b, (size_t)na);
	}
	free(a);
	free(b);
}

/* Every length short of the need fails with -ENOSPC and leaves the guard bytes alone. */
static void test_enospc(void **state)
{
	static const unsigned ncpus[] = {1, 64, 1, 64};
	uint8_t *big = malloc(BUF_SIZE);

	(void)state;
	assert_non_null(big);
	for (size_t i = 0; i < ARRAY_LEN(ncpus); i++) {
		long (*b)(unsigned, uint8_t *, size_t, uint64_t) = i < 2 ? build : build_pci;
		long need = b(ncpus[i], big, BUF_SIZE, 0xE0010);

		assert_true(need > 0);
		for (size_t len = 0; len <= (size_t)need; len++) {
			uint8_t *buf = malloc(len + GUARD);

			assert_non_null(buf);
			memset(buf + len, 0xA5, GUARD);
			assert_int_equal(b(ncpus[i], buf, len, 0xE0010),
					 len == (size_t)need ? need : -ENOSPC);
			for (size_t g = 0; g < GUARD; g++)
				assert_int_equal(buf[len + g], 0xA5);
			free(buf);
		}
	}
	assert_int_equal(build(1, NULL, 0, 0xE0000), -ENOSPC);
	free(big);
}

static void test_einval(void **state)
{
	uint8_t *buf = malloc(BUF_SIZE);

	(void)state;
	assert_non_null(buf);
	assert_int_equal(build(0, buf, BUF_SIZE, 0xE0000), -EINVAL);
	assert_int_equal(build(65, buf, BUF_SIZE, 0xE0000), -EINVAL);
	assert_int_equal(build(100000, buf, BUF_SIZE, 0xE0000), -EINVAL);
	assert_int_equal(acpi_build(NULL, buf, BUF_SIZE, 0xE0000), -EINVAL);
	assert_int_equal(build(1, NULL, BUF_SIZE, 0xE0000), -EINVAL);
	assert_int_equal(build(1, buf, BUF_SIZE, 0xE0008), -EINVAL);	 /* unaligned */
	assert_int_equal(build(1, buf, BUF_SIZE, 0x100000000), -EINVAL); /* above 4 GiB */
	assert_int_equal(build(64, buf, BUF_SIZE, 0xFFFFFF00), -EINVAL); /* crosses 4 GiB */
	assert_true(build(64, buf, BUF_SIZE, 0x100000000 - 4096) > 0);
	free(buf);
}

static void test_ioapic_id(void **state)
{
	(void)state;
	for (unsigned n = 1; n <= ACPI_MAX_CPUS; n++) {
		uint8_t id = acpi_ioapic_id(n);

		assert_true(id < 16);
		assert_true(n >= 16 ? id == 0 : id == n);
	}
}

/* Writes one AML snippet into a fresh writer and compares the bytes. */
#define EXPECT_AML(stmt, ...)                                                                      \
	do {                                                                                       \
		static const uint8_t want_[] = {__VA_ARGS__};                                      \
		uint8_t out_[64];                                                                  \
		struct aml a_;                                                                     \
		aml_init(&a_, out_, sizeof(out_));                                                 \
		stmt(&a_);                                                                         \
		assert_int_equal(a_.err, 0);                                                       \
		assert_int_equal(a_.len, sizeof(want_));                                           \
		assert_memory_equal(out_, want_, sizeof(want_));                                   \
	} while (0)

/* Calls fn(writer, args...) on a fresh writer, which must fail with -EINVAL, writing
 * nothing. */
#define EXPECT_EINVAL(fn, ...)                                                                     \
	do {                                                                                       \
		uint8_t out_[64];                                                                  \
		struct aml a_;                                                                     \
		aml_init(&a_, out_, sizeof(out_));                                                 \
		fn(&a_, __VA_ARGS__);                                                              \
		assert_int_equal(a_.err, -EINVAL);                                                 \
		assert_int_equal(a_.len, 0);                                                       \
	} while (0)

static void int_0(struct aml *a)
{
	aml_int(a, 0);
}
static void int_1(struct aml *a)
{
	aml_int(a, 1);
}
static void int_ff(struct aml *a)
{
	aml_int(a, 0xFF);
}
static void int_100(struct aml *a)
{
	aml_int(a, 0x100);
}
static void int_10000(struct aml *a)
{
	aml_int(a, 0x10000);
}
static void int_big(struct aml *a)
{
	aml_int(a, 0x100000000ull);
}
static void ns_root(struct aml *a)
{
	aml_namestring(a, "\\_SB.PCI0");
}
static void ns_multi(struct aml *a)
{
	aml_namestring(a, "A.B1.C");
}
static void ns_parent(struct aml *a)
{
	aml_namestring(a, "^^FOO");
}
static void ns_rootonly(struct aml *a)
{
	aml_namestring(a, "\\");
}
static void str_hi(struct aml *a)
{
	aml_string(a, "hi");
}
static void eisa_kbd(struct aml *a)
{
	aml_eisaid(a, "PNP0303");
}
static void eisa_small(struct aml *a)
{
	aml_eisaid(a, "PNP0000");
}

static void method_sta(struct aml *a)
{
	aml_method_return_int(a, "_STA", 0x0F);
}
static void res_bus(struct aml *a)
{
	aml_res_word_bus(a, 0, 255);
}
static void res_io(struct aml *a)
{
	aml_res_word_io(a, 0x0D00, 0xFFFF);
}
static void res_dword(struct aml *a)
{
	aml_res_dword_mem(a, AML_PRODUCER, 0xC0000000, 0xDFFFFFFF);
}
static void res_qword(struct aml *a)
{
	aml_res_qword_mem(a, AML_CONSUMER, 0xE0000000, 0xEFFFFFFF);
}
static void uuid_pci(struct aml *a)
{
	aml_uuid(a, "33db4d5b-1ff7-401c-9657-7441c03dd766");
}
static void arg_6(struct aml *a)
{
	aml_arg(a, 6);
}
/* CreateDWordField(Arg3, 4, CDW2); If (Arg0 != Arg1) { CDW2 |= 0x10 } */
static void osc_ops(struct aml *a)
{
	struct aml_obj o;

	aml_create_dword_field(a, 3, 4, "CDW2");
	o = aml_if(a);
	aml_lnotequal(a);
	aml_arg(a, 0);
	aml_arg(a, 1);
	aml_or(a);
	aml_namestring(a, "CDW2");
	aml_int(a, 0x10);
	aml_namestring(a, "CDW2");
	aml_close(a, o);
}

static void test_aml_encodings(void **state)
{
	(void)state;
	EXPECT_AML(int_0, 0x00);
	EXPECT_AML(int_1, 0x01);
	EXPECT_AML(int_ff, 0x0A, 0xFF);
	EXPECT_AML(int_100, 0x0B, 0x00, 0x01);
	EXPECT_AML(int_10000, 0x0C, 0x00, 0x00, 0x01, 0x00);
	EXPECT_AML(int_big, 0x0E, 0, 0, 0, 0, 1, 0, 0, 0);
	EXPECT_AML(ns_root, 0x5C, 0x2E, '_', 'S', 'B', '_', 'P', 'C', 'I', '0');
	EXPECT_AML(ns_multi, 0x2F, 3, 'A', '_', '_', '_', 'B', '1', '_', '_', 'C', '_', '_', '_');
	EXPECT_AML(ns_parent, '^', '^', 'F', 'O', 'O', '_');
	EXPECT_AML(ns_rootonly, 0x5C, 0x00);
	EXPECT_AML(str_hi, 0x0D, 'h', 'i', 0);
	EXPECT_AML(eisa_kbd, 0x0C, 0x41, 0xD0, 0x03, 0x03);
	EXPECT_AML(eisa_small, 0x0C, 0x41, 0xD0, 0x00, 0x00); /* DWord even when small */
	EXPECT_AML(method_sta, 0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xA4, 0x0A, 0x0F);
	/* Address space descriptors (6.4.3.5.1-3): tag, length, type, general flags (MinFixed
	 * and MaxFixed, bit 0 consumer), type flags, then _GRA, _MIN, _MAX, _TRA, _LEN. */
	EXPECT_AML(res_bus, 0x88, 0x0D, 0x00, 0x02, 0x0C, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0x00,
		   0x00, 0x00, 0x00, 0x01);
	EXPECT_AML(res_io, 0x88, 0x0D, 0x00, 0x01, 0x0C, 0x03, 0x00, 0x00, 0x00, 0x0D, 0xFF, 0xFF,
		   0x00, 0x00, 0x00, 0xF3);
	EXPECT_AML(res_dword, 0x87, 0x17, 0x00, 0x00, 0x0C, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
		   0x00, 0x00, 0xC0, 0xFF, 0xFF, 0xFF, 0xDF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		   0x00, 0x20);
	EXPECT_AML(res_qword, 0x8A, 0x2B, 0x00, 0x00, 0x0D, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0x00,
		   0x00, 0x00, 0xE0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xEF, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		   0, 0, 0, 0x00, 0x00, 0x00, 0x10, 0, 0, 0, 0);
	EXPECT_AML(uuid_pci, 0x11, 0x13, 0x0A, 0x10, 0x5B, 0x4D, 0xDB, 0x33, 0xF7, 0x1F, 0x1C, 0x40,
		   0x96, 0x57, 0x74, 0x41, 0xC0, 0x3D, 0xD7, 0x66);
	EXPECT_AML(arg_6, 0x6E);
	EXPECT_AML(osc_ops, 0x8A, 0x6B, 0x0A, 0x04, 'C', 'D', 'W', '2', 0xA0, 0x10, 0x92, 0x93,
		   0x68, 0x69, 0x7D, 'C', 'D', 'W', '2', 0x0A, 0x10, 'C', 'D', 'W', '2');
}

static void test_aml_invalid(void **state)
{
	static const char *const names[] = {"",	  "_sb",  "ABCDE", "1ABC", "A..B",
					    "A.", "\\^A", "A-B",   ".ABC"};
	static const char *const ids[] = {"PNP050", "pnp0501", "PNP050G", "PNP05011", "P1P0501"};
	static const char *const uuids[] = {
	    "",
	    "33DB4D5B-1FF7-401C-9657-7441C03DD76",   /* short */
	    "33DB4D5B-1FF7-401C-9657-7441C03DD7666", /* long */
	    "33DB4D5B1-FF7-401C-9657-7441C03DD766",  /* dash misplaced */
	    "33DB4D5B-1FF7-401C-9657-7441C03DD76G",  /* not hex */
	    "33DB4D5B-1FF7-401C-9657+7441C03DD766",
	};
	uint8_t out[64];
	struct aml a;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		aml_init(&a, out, sizeof(out));
		aml_namestring(&a, names[i]);
		assert_int_equal(a.err, -EINVAL);
	}
	for (size_t i = 0; i < ARRAY_LEN(ids); i++) {
		aml_init(&a, out, sizeof(out));
		aml_eisaid(&a, ids[i]);
		assert_int_equal(a.err, -EINVAL);
	}
	aml_init(&a, out, sizeof(out));
	aml_res_irq_noflags(&a, 16);
	assert_int_equal(a.err, -EINVAL);
	aml_init(&a, out, sizeof(out));
	aml_method(&a, "FOO", 8, false);
	assert_int_equal(a.err, -EINVAL);
	for (size_t i = 0; i < ARRAY_LEN(uuids); i++) {
		aml_init(&a, out, sizeof(out));
		aml_uuid(&a, uuids[i]);
		assert_int_equal(a.err, -EINVAL);
		assert_int_equal(a.len, 0);
	}
	/* Inverted ranges, lengths that overflow the descriptor's width, Arg7. */
	EXPECT_EINVAL(aml_res_word_bus, 1, 0);
	EXPECT_EINVAL(aml_res_word_io, 0, 0xFFFF);
	EXPECT_EINVAL(aml_res_dword_mem, AML_PRODUCER, 0, 0xFFFFFFFF);
	EXPECT_EINVAL(aml_res_dword_mem, AML_PRODUCER, 0x2000, 0x1FFF);
	EXPECT_EINVAL(aml_res_qword_mem, AML_CONSUMER, 0, UINT64_MAX);
	EXPECT_EINVAL(aml_arg, 7);
	EXPECT_EINVAL(aml_create_dword_field, 7, 0, "CDW1");
	/* Closing an object that was never opened here. */
	aml_init(&a, out, sizeof(out));
	aml_byte(&a, 0);
	aml_close(&a, (struct aml_obj){.start = 10});
	assert_int_equal(a.err, -EINVAL);
}

/* Buffers of sizes around each PkgLength boundary (1/2/3/4 bytes at 63, 4095, 1 MiB - 1
 * including the PkgLength itself): the encoding is the shortest and decodes back. */
static void test_aml_pkglen(void **state)
{
	static const size_t sizes[] = {
	    0,	     1,	      55,      56,	57,	 58,	  59,	   60,	    61,	    62,
	    63,	     64,      4080,    4085,	4086,	 4087,	  4088,	   4089,    4090,   4100,
	    1048560, 1048565, 1048566, 1048567, 1048568, 1048569, 1048570, 1048600, 2000000};
	size_t cap = 2100000;
	uint8_t *out = malloc(cap), *data = calloc(1, cap);

	(void)state;
	assert_non_null(out);
	assert_non_null(data);
	for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
		struct aml a;
		struct aml_obj o;
		size_t n, isz, body;
		uint32_t pl;

		aml_init(&a, out, cap);
		o = aml_buffer(&a);
		aml_bytes(&a, data, sizes[i]);
		aml_buffer_close(&a, o);
		assert_int_equal(a.err, 0);
		assert_int_equal(out[0], 0x11);
		pl = pkglen(out + 1, &n);
		assert_int_equal(pl, a.len - 1);
		/* The body (size operand and data) does not depend on the PkgLength's size. */
		isz = sizes[i] < 2 ? 1 : sizes[i] <= 0xFF ? 2 : sizes[i] <= 0xFFFF ? 3 : 5;
		body = isz + sizes[i];
		assert_int_equal(n, body + 1 <= 0x3F	  ? 1
				    : body + 2 <= 0xFFF	  ? 2
				    : body + 3 <= 0xFFFFF ? 3
							  : 4);
		assert_int_equal(pl, n + body);
	}
	free(out);
	free(data);
}

static void aml_com1(struct aml *a)
{
	struct aml_obj sb, dev, crs;

	sb = aml_scope(a, "\\_SB");
	dev = aml_device(a, "COM1");
	aml_name_eisaid(a, "_HID", "PNP0501");
	aml_name(a, "_CRS");
	crs = aml_restemplate(a);
	aml_res_io(a, 0x3F8, 8);
	aml_res_irq_noflags(a, 4);
	aml_restemplate_close(a, crs);
	aml_close(a, dev);
	aml_close(a, sb);
}

/* A writer that runs out of room stops with -ENOSPC and never writes past cap; with
 * enough room the output does not depend on cap. */
static void test_aml_overflow(void **state)
{
	uint8_t ref[256], out[256 + GUARD];
	struct aml a;
	size_t full;

	(void)state;
	aml_init(&a, ref, sizeof(ref));
	aml_com1(&a);
	assert_int_equal(a.err, 0);
	full = a.len;
	for (size_t cap = 0; cap < full + 32; cap++) {
		memset(out, 0xA5, sizeof(out));
		aml_init(&a, out, cap);
		aml_com1(&a);
		if (a.err) {
			assert_int_equal(a.err, -ENOSPC);
		} else {
			assert_int_equal(a.len, full);
			assert_memory_equal(out, ref, full);
		}
		assert_true(a.len <= cap);
		for (size_t g = cap; g < sizeof(out); g++)
			assert_int_equal(out[g], 0xA5);
	}
	assert_int_equal(a.err, 0);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text;
	long size;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	assert_true(size >= 0);
	rewind(f);
	text = calloc(1, (size_t)size + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	return text;
}

/* Runs `iasl <opt> <file>` in dir with its output in dir/<name>.log; returns that text. */
static char *run_iasl(const char *iasl, const char *dir, const char *name, const char *opt,
		      const char *file)
{
	char log[4096];
	int status;
	pid_t pid;

	snprintf(log, sizeof(log), "%s/%s.log", dir, name);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd < 0 || chdir(dir) || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execl(iasl, iasl, opt, file, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("iasl %s %s failed (status 0x%x); see %s", opt, file, status, log);
	return read_file(log);
}

/* iasl: write each table to dir/<name>.dat, disassemble, return the .dsl text. The log
 * must hold no warning or error (a resource template iasl cannot decode is one). */
static char *iasl_disassemble(const char *iasl, const char *dir, const char *name, const uint8_t *p,
			      size_t len)
{
	char path[4096], dat[64];
	char *text, *log;
	FILE *f;

	snprintf(dat, sizeof(dat), "%s.dat", name);
	snprintf(path, sizeof(path), "%s/%s", dir, dat);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	log = run_iasl(iasl, dir, name, "-d", dat);
	if (strcasestr(log, "warning") || strcasestr(log, "error"))
		fail_msg("iasl -d %s:\n%s", dat, log);
	free(log);
	snprintf(path, sizeof(path), "%s/%s.dsl", dir, name);
	text = read_file(path);
	assert_true(*text);
	assert_null(strstr(text, "Incorrect checksum"));
	return text;
}

/* Compiles a disassembled .dsl back: iasl's compiler checks what the disassembler does not
 * (resource descriptor field combinations, _HID with _ADR); it must report nothing. */
static void iasl_recompile(const char *iasl, const char *dir, const char *name)
{
	char dsl[64], logname[64];
	char *log;

	snprintf(dsl, sizeof(dsl), "%s.dsl", name);
	snprintf(logname, sizeof(logname), "%s-recompile", name);
	log = run_iasl(iasl, dir, logname, "-vs", dsl);
	if (!strstr(log, " 0 Errors, 0 Warnings, 0 Remarks"))
		fail_msg("iasl %s:\n%s", dsl, log);
	free(log);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* _PRT entries as iasl prints them: a line holding just "0x00SSFFFF," (SS the slot). */
static size_t count_prt_entries(const char *dsl)
{
	size_t n = 0;

	for (const char *p = strstr(dsl, "FFFF,"); p; p = strstr(p + 1, "FFFF,")) {
		const char *q = p + 5;

		while (*q == ' ')
			q++;
		if (p - dsl >= 7 && !memcmp(p - 7, " 0x00", 5) && *q == '\n')
			n++;
	}
	return n;
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* The PCI tables as iasl reads them: MCFG fields, PCI0's resources decoded as templates
 * (none left as raw buffers), 124 _PRT entries, _OSC's UUID recognised. */
static void iasl_pci(const char *iasl, const char *dir, uint8_t *buf)
{
	struct tables t;
	char *dsl;

	walk(&t, buf, build_pci(4, buf, BUF_SIZE, 0xE0010), 0xE0010);
	dsl = iasl_disassemble(iasl, dir, "mcfg", t.mcfg, rd(t.mcfg + 4, 4));
	assert_non_null(strstr(dsl, "Base Address : 00000000E0000000"));
	assert_non_null(strstr(dsl, "Segment Group Number : 0000"));
	assert_non_null(strstr(dsl, "Start Bus Number : 00"));
	assert_non_null(strstr(dsl, "End Bus Number : 00"));
	free(dsl);
	dsl = iasl_disassemble(iasl, dir, "dsdt-pci", t.dsdt, rd(t.dsdt + 4, 4));
	assert_non_null(strstr(dsl, "Device (PCI0)"));
	assert_non_null(strstr(dsl, "EisaId (\"PNP0A08\")"));
	assert_non_null(strstr(dsl, "EisaId (\"PNP0A03\")"));
	assert_non_null(strstr(dsl, "EisaId (\"PNP0C02\")"));
	assert_int_equal(count(dsl, "ResourceTemplate ()"), 6); /* 4 ISA, PCI0, ECAM */
	assert_int_equal(count(dsl, "WordBusNumber ("), 1);
	assert_int_equal(count(dsl, "WordIO ("), 2);
	assert_int_equal(count(dsl, "DWordMemory ("), 2);
	assert_int_equal(count(dsl, "QWordMemory ("), 2);
	assert_int_equal(count(dsl, "ResourceConsumer"), 1); /* the ECAM reservation */
	assert_non_null(strstr(dsl, "ToUUID (\"33db4d5b-1ff7-401c-9657-7441c03dd766\")"));
	assert_non_null(strstr(dsl, "Method (_OSC, 4, NotSerialized)"));
	assert_non_null(strstr(dsl, "Method (\\_PIC, 1, NotSerialized)"));
	assert_non_null(strstr(dsl, "Package (0x7C)"));
	assert_int_equal(count_prt_entries(dsl), 31 * 4);
	assert_non_null(strstr(dsl, "0x0001FFFF"));
	assert_non_null(strstr(dsl, "0x001FFFFF"));
	free(dsl);
	iasl_recompile(iasl, dir, "dsdt-pci");
	free(iasl_disassemble(iasl, dir, "xsdt-pci", t.xsdt, rd(t.xsdt + 4, 4)));
}

static void test_iasl(void **state)
{
	const char *iasl = getenv("IASL");
	const char *tmp = getenv("TMPDIR");
	char dir[4096];
	struct tables t;
	uint8_t *buf;
	char *dsl;

	(void)state;
	if (!iasl || !*iasl)
		skip();
	assert_int_equal(access(iasl, X_OK), 0);
	buf = malloc(BUF_SIZE);
	assert_non_null(buf);
	snprintf(dir, sizeof(dir), "%s/phyllome-acpi-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	walk(&t, buf, build(4, buf, BUF_SIZE, 0xE0010), 0xE0010);
	dsl = iasl_disassemble(iasl, dir, "dsdt", t.dsdt, rd(t.dsdt + 4, 4));
	assert_non_null(strstr(dsl, "PNP0501"));
	/* iasl prints the name as \_S5 (trailing '_' dropped), so match the prefix. */
	assert_non_null(strstr(dsl, "_S5"));
	assert_non_null(strstr(dsl, "PNP0B00"));
	free(dsl);
	free(iasl_disassemble(iasl, dir, "facp", t.fadt, rd(t.fadt + 4, 4)));
	free(iasl_disassemble(iasl, dir, "apic", t.madt, rd(t.madt + 4, 4)));
	free(iasl_disassemble(iasl, dir, "facs", t.facs, 64));
	free(iasl_disassemble(iasl, dir, "xsdt", t.xsdt, rd(t.xsdt + 4, 4)));
	free(iasl_disassemble(iasl, dir, "rsdt", t.rsdt, rd(t.rsdt + 4, 4)));
	iasl_recompile(iasl, dir, "dsdt");
	iasl_pci(iasl, dir, buf);
	assert_int_equal(nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tables),	 cmocka_unit_test(test_deterministic),
	    cmocka_unit_test(test_enospc),	 cmocka_unit_test(test_einval),
	    cmocka_unit_test(test_ioapic_id),	 cmocka_unit_test(test_aml_encodings),
	    cmocka_unit_test(test_aml_invalid),	 cmocka_unit_test(test_aml_pkglen),
	    cmocka_unit_test(test_aml_overflow), cmocka_unit_test(test_iasl),
	    cmocka_unit_test(test_pci_tables),	 cmocka_unit_test(test_pci_off),
	    cmocka_unit_test(test_pci_size),	 cmocka_unit_test(test_pci_einval),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
