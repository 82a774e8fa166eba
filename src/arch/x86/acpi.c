/* ACPI tables for a PC-like VM, laid out per ACPI 6.x chapter 5:
 *
 *   RSDP | FACS (64-byte aligned) | DSDT | FADT | MADT | RSDT | XSDT
 *
 * The FACS and DSDT come first because the FADT points at them; the root tables come last
 * because they point at everything else. */
#include "arch/x86/acpi.h"
#include "arch/x86/aml.h"
#include "common/bytes.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define OEM_ID		 "PHYLLO"
#define OEM_TABLE_ID	 "PHYLLOME"
#define OEM_REVISION	 1
#define CREATOR_ID	 "PHYL"
#define CREATOR_REVISION 1

#define TABLE_ALIGN 16
#define FACS_ALIGN  64
#define HDR_LEN	    36

/* Standard table header (5.2.6). */
enum {
	HDR_SIGNATURE = 0,
	HDR_LENGTH = 4,
	HDR_REVISION = 8,
	HDR_CHECKSUM = 9,
	HDR_OEM_ID = 10,
	HDR_OEM_TABLE_ID = 16,
	HDR_OEM_REVISION = 24,
	HDR_CREATOR_ID = 28,
	HDR_CREATOR_REVISION = 32,
};

/* RSDP (5.2.5.3). */
enum {
	RSDP_CHECKSUM = 8,
	RSDP_OEM_ID = 9,
	RSDP_REVISION = 15,
	RSDP_RSDT = 16,
	RSDP_LENGTH = 20,
	RSDP_XSDT = 24,
	RSDP_EXT_CHECKSUM = 32,
	RSDP_V1_LEN = 20, /* what the first checksum covers */
	RSDP_LEN = 36,
};

/* FACS (5.2.10). */
enum {
	FACS_LENGTH = 4,
	FACS_VERSION = 32,
	FACS_LEN = 64,
};

/* FADT revision 6 (5.2.9). */
enum {
	FADT_FIRMWARE_CTRL = 36,
	FADT_DSDT = 40,
	FADT_PM_PROFILE = 45,
	FADT_SCI_INT = 46,
	FADT_PM1A_EVT_BLK = 56,
	FADT_PM1A_CNT_BLK = 64,
	FADT_PM_TMR_BLK = 76,
	FADT_PM1_EVT_LEN = 88,
	FADT_PM1_CNT_LEN = 89,
	FADT_PM_TMR_LEN = 91,
	FADT_P_LVL2_LAT = 96,
	FADT_P_LVL3_LAT = 98,
	FADT_CENTURY = 108,
	FADT_IAPC_BOOT_ARCH = 109,
	FADT_FLAGS = 112,
	FADT_RESET_REG = 116,
	FADT_RESET_VALUE = 128,
	FADT_MINOR_VERSION = 131,
	FADT_X_FIRMWARE_CTRL = 132,
	FADT_X_DSDT = 140,
	FADT_X_PM1A_EVT_BLK = 148,
	FADT_X_PM1A_CNT_BLK = 172,
	FADT_X_PM_TMR_BLK = 208,
	FADT_LEN = 276,
};

#define FADT_REVISION	    6
#define FADT_MINOR	    3 /* layout of ACPI 6.3, unchanged through 6.5 */
#define PM_PROFILE_DESKTOP  1
#define CMOS_CENTURY	    0x32
#define PM1_EVT_LEN	    4
#define PM1_CNT_LEN	    2
#define PM_TMR_LEN	    4
#define P_LVL2_LAT_NONE	    0x0FFF /* > 100: no C2 */
#define P_LVL3_LAT_NONE	    0x0FFF /* > 1000: no C3 */
#define FADT_WBINVD	    (1u << 0)
#define FADT_PROC_C1	    (1u << 2)
#define FADT_SLP_BUTTON	    (1u << 5) /* set: no fixed sleep button */
#define FADT_FIX_RTC	    (1u << 6) /* set: no RTC_STS/RTC_EN in PM1 */
#define FADT_RESET_REG_SUP  (1u << 10)
#define BOOT_LEGACY_DEVICES (1u << 0)
#define BOOT_8042	    (1u << 1)

/* Generic Address Structure (5.2.3.2). */
#define GAS_LEN		12
#define GAS_SYSTEM_IO	1
#define GAS_ACCESS_BYTE 1
#define GAS_ACCESS_WORD 2
#define GAS_ACCESS_DWRD 3

/* MADT (5.2.12). */
#define MADT_REVISION	     5
#define MADT_LAPIC_ADDR	     36
#define MADT_FLAGS	     40
#define MADT_HDR_LEN	     44
#define MADT_PCAT_COMPAT     (1u << 0)
#define MADT_TYPE_LAPIC	     0
#define MADT_TYPE_IOAPIC     1
#define MADT_TYPE_ISO	     2
#define MADT_TYPE_LAPIC_NMI  4
#define MADT_LAPIC_LEN	     8
#define MADT_IOAPIC_LEN	     12
#define MADT_ISO_LEN	     10
#define MADT_LAPIC_NMI_LEN   6
#define MADT_LAPIC_ENABLED   (1u << 0)
#define MADT_ALL_PROCESSORS  0xFF
#define MPS_ACTIVE_HIGH	     0x1
#define MPS_LEVEL	     (0x3 << 2)
#define ISA_BUS		     0
#define PIT_IRQ		     0
#define PIT_GSI		     2 /* IOAPIC pin 2: pin 0 is the 8259's ExtINT */
#define IOAPIC_GSI_BASE	     0
#define LINT1		     1
#define IOAPIC_ID_BITS_LIMIT 16

#define DSDT_REVISION	 2 /* 64-bit AML integers */
#define ROOT_REVISION	 1
#define FACS_VERSION_NUM 2

/* One build: the output buffer and the addresses tables point at one another with. */
struct acpi_ctx {
	const struct acpi_vm *vm;
	uint8_t *buf;
	size_t cap;
	size_t used;
	uint64_t base;
	uint64_t facs_gpa;
	uint64_t dsdt_gpa;
};

/* The tables listed in the RSDT and XSDT, in that order. FACS and DSDT are reached through
 * the FADT instead. To add a table, write its builder and list it here. */
typedef int (*table_builder)(struct acpi_ctx *c, uint64_t *gpa);

static int build_fadt(struct acpi_ctx *c, uint64_t *gpa);
static int build_madt(struct acpi_ctx *c, uint64_t *gpa);

static const table_builder listed_tables[] = {
    build_fadt,
    build_madt,
};

#define NLISTED ARRAY_SIZE(listed_tables)

uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum;
}

/* The serial APIC bus of pre-xAPIC parts shared one 4-bit id space between local APICs and
 * IOAPICs, so we keep clear of the CPUs' ids while ncpus allows. With more CPUs than that
 * there is no free 4-bit id; KVM's APICs are xAPICs, whose interrupt messages travel on the
 * system bus and never compare the two kinds of id, so 0 (the in-kernel IOAPIC's reset
 * value, and what QEMU reports) is used, as an id wider than 4 bits would not fit KVM's
 * IOAPIC ID register. */
uint8_t acpi_ioapic_id(unsigned ncpus)
{
	return ncpus < IOAPIC_ID_BITS_LIMIT ? (uint8_t)ncpus : 0;
}

static void put_gas(uint8_t *p, unsigned bit_width, unsigned access, uint64_t addr)
{
	p[0] = GAS_SYSTEM_IO;
	p[1] = (uint8_t)bit_width;
	p[2] = 0; /* bit offset */
	p[3] = (uint8_t)access;
	put_le64(p + 4, addr);
}

/* Reserve len zeroed bytes whose guest address is a multiple of align (a power of two);
 * padding before them is zeroed too. NULL if they do not fit. */
static uint8_t *ctx_alloc(struct acpi_ctx *c, size_t len, size_t align, uint64_t *gpa)
{
	size_t pad = (size_t)(-(c->base + c->used) & (align - 1));
	uint8_t *p;

	if (pad > c->cap - c->used || len > c->cap - c->used - pad)
		return NULL;
	memset(c->buf + c->used, 0, pad + len);
	p = c->buf + c->used + pad;
	*gpa = c->base + c->used + pad;
	c->used += pad + len;
	return p;
}

static void table_header(uint8_t *t, const char sig[4], size_t len, uint8_t rev)
{
	memcpy(t + HDR_SIGNATURE, sig, 4);
	put_le32(t + HDR_LENGTH, (uint32_t)len);
	t[HDR_REVISION] = rev;
	memcpy(t + HDR_OEM_ID, OEM_ID, 6);
	memcpy(t + HDR_OEM_TABLE_ID, OEM_TABLE_ID, 8);
	put_le32(t + HDR_OEM_REVISION, OEM_REVISION);
	memcpy(t + HDR_CREATOR_ID, CREATOR_ID, 4);
	put_le32(t + HDR_CREATOR_REVISION, CREATOR_REVISION);
}

/* Last step of every table: make its bytes sum to 0. */
static void table_seal(uint8_t *t, size_t len)
{
	t[HDR_CHECKSUM] = 0;
	t[HDR_CHECKSUM] = (uint8_t)-acpi_checksum(t, len);
}

static int build_facs(struct acpi_ctx *c)
{
	uint8_t *t = ctx_alloc(c, FACS_LEN, FACS_ALIGN, &c->facs_gpa);

	if (!t)
		return -ENOSPC;
	/* No checksum: the OS writes to the FACS (waking vector, global lock). */
	memcpy(t, "FACS", 4);
	put_le32(t + FACS_LENGTH, FACS_LEN);
	t[FACS_VERSION] = FACS_VERSION_NUM;
	return 0;
}

/* Fixed hardware: the PM1a event and control blocks and the PM timer, all in I/O space.
 * No GPE blocks, no SMI command port (ACPI mode is always on: SCI_EN reads as set). */
static void fadt_pm_blocks(uint8_t *t)
{
	put_le32(t + FADT_PM1A_EVT_BLK, ACPI_PM1A_EVT_PORT);
	put_le32(t + FADT_PM1A_CNT_BLK, ACPI_PM1A_CNT_PORT);
	put_le32(t + FADT_PM_TMR_BLK, ACPI_PM_TMR_PORT);
	t[FADT_PM1_EVT_LEN] = PM1_EVT_LEN;
	t[FADT_PM1_CNT_LEN] = PM1_CNT_LEN;
	t[FADT_PM_TMR_LEN] = PM_TMR_LEN;
	/* PM1 status and enable halves are 16-bit registers, hence word access. */
	put_gas(t + FADT_X_PM1A_EVT_BLK, 8 * PM1_EVT_LEN, GAS_ACCESS_WORD, ACPI_PM1A_EVT_PORT);
	put_gas(t + FADT_X_PM1A_CNT_BLK, 8 * PM1_CNT_LEN, GAS_ACCESS_WORD, ACPI_PM1A_CNT_PORT);
	put_gas(t + FADT_X_PM_TMR_BLK, 8 * PM_TMR_LEN, GAS_ACCESS_DWRD, ACPI_PM_TMR_PORT);
}

static int build_fadt(struct acpi_ctx *c, uint64_t *gpa)
{
	uint8_t *t = ctx_alloc(c, FADT_LEN, TABLE_ALIGN, gpa);

	if (!t)
		return -ENOSPC;
	table_header(t, "FACP", FADT_LEN, FADT_REVISION);
	/* The spec wants FIRMWARE_CTRL zero when X_FIRMWARE_CTRL is set (else Linux maps
	 * the FACS twice). The DSDT pointers agree; everything stays below 4 GiB. */
	put_le32(t + FADT_FIRMWARE_CTRL, 0);
	put_le32(t + FADT_DSDT, (uint32_t)c->dsdt_gpa);
	put_le64(t + FADT_X_FIRMWARE_CTRL, c->facs_gpa);
	put_le64(t + FADT_X_DSDT, c->dsdt_gpa);
	t[FADT_PM_PROFILE] = PM_PROFILE_DESKTOP;
	put_le16(t + FADT_SCI_INT, ACPI_SCI_IRQ);
	fadt_pm_blocks(t);
	put_le16(t + FADT_P_LVL2_LAT, P_LVL2_LAT_NONE);
	put_le16(t + FADT_P_LVL3_LAT, P_LVL3_LAT_NONE);
	t[FADT_CENTURY] = CMOS_CENTURY;
	put_le16(t + FADT_IAPC_BOOT_ARCH, BOOT_LEGACY_DEVICES | BOOT_8042);
	/* No PWR_BUTTON flag: the fixed-hardware power button exists (PWRBTN_STS). The
	 * 24-bit timer leaves TMR_VAL_EXT clear; the CMOS RTC cannot wake from S4, and its
	 * status bits are not in PM1 (FIX_RTC). */
	put_le32(t + FADT_FLAGS,
		 FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_FIX_RTC | FADT_RESET_REG_SUP);
	put_gas(t + FADT_RESET_REG, 8, GAS_ACCESS_BYTE, ACPI_RESET_PORT);
	t[FADT_RESET_VALUE] = ACPI_RESET_VALUE;
	t[FADT_MINOR_VERSION] = FADT_MINOR;
	table_seal(t, FADT_LEN);
	return 0;
}

static uint8_t *madt_lapic(uint8_t *p, unsigned id)
{
	p[0] = MADT_TYPE_LAPIC;
	p[1] = MADT_LAPIC_LEN;
	p[2] = (uint8_t)id; /* ACPI processor UID */
	p[3] = (uint8_t)id; /* APIC id */
	put_le32(p + 4, MADT_LAPIC_ENABLED);
	return p + MADT_LAPIC_LEN;
}

static uint8_t *madt_ioapic(uint8_t *p, uint8_t id)
{
	p[0] = MADT_TYPE_IOAPIC;
	p[1] = MADT_IOAPIC_LEN;
	p[2] = id;
	p[3] = 0;
	put_le32(p + 4, IOAPIC_ADDR);
	put_le32(p + 8, IOAPIC_GSI_BASE);
	return p + MADT_IOAPIC_LEN;
}

static uint8_t *madt_iso(uint8_t *p, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	p[0] = MADT_TYPE_ISO;
	p[1] = MADT_ISO_LEN;
	p[2] = ISA_BUS;
	p[3] = irq;
	put_le32(p + 4, gsi);
	put_le16(p + 8, flags);
	return p + MADT_ISO_LEN;
}

static uint8_t *madt_lapic_nmi(uint8_t *p, uint8_t uid, uint16_t flags, uint8_t lint)
{
	p[0] = MADT_TYPE_LAPIC_NMI;
	p[1] = MADT_LAPIC_NMI_LEN;
	p[2] = uid;
	put_le16(p + 3, flags);
	p[5] = lint;
	return p + MADT_LAPIC_NMI_LEN;
}

static int build_madt(struct acpi_ctx *c, uint64_t *gpa)
{
	unsigned n = c->vm->ncpus;
	size_t len = MADT_HDR_LEN + n * MADT_LAPIC_LEN + MADT_IOAPIC_LEN + 2 * MADT_ISO_LEN +
		     MADT_LAPIC_NMI_LEN;
	uint8_t *t = ctx_alloc(c, len, TABLE_ALIGN, gpa);
	uint8_t *p;

	if (!t)
		return -ENOSPC;
	table_header(t, "APIC", len, MADT_REVISION);
	put_le32(t + MADT_LAPIC_ADDR, LAPIC_ADDR);
	put_le32(t + MADT_FLAGS, MADT_PCAT_COMPAT);
	p = t + MADT_HDR_LEN;
	for (unsigned i = 0; i < n; i++)
		p = madt_lapic(p, i);
	p = madt_ioapic(p, acpi_ioapic_id(n));
	/* The PIT drives IOAPIC pin 2; the SCI is level-triggered, active-high. */
	p = madt_iso(p, PIT_IRQ, PIT_GSI, 0);
	p = madt_iso(p, ACPI_SCI_IRQ, ACPI_SCI_IRQ, MPS_LEVEL | MPS_ACTIVE_HIGH);
	madt_lapic_nmi(p, MADT_ALL_PROCESSORS, 0, LINT1);
	table_seal(t, len);
	return 0;
}

/* A legacy ISA device in \_SB: fixed ports and one edge-triggered IRQ. */
struct isa_dev {
	const char *name;
	const char *hid;
	unsigned uid; /* 0: no _UID */
	unsigned irq;
	struct {
		uint16_t base;
		uint8_t len;
	} io[2]; /* len 0: unused */
};

static const struct isa_dev isa_devs[] = {
    {"COM1", "PNP0501", 1, 4, {{0x3F8, 8}}},
    {"PS2K", "PNP0303", 0, 1, {{0x60, 1}, {0x64, 1}}},
    {"PS2M", "PNP0F13", 0, 12, {{0}}},
    {"RTC_", "PNP0B00", 0, 8, {{0x70, 2}}},
};

static void dsdt_isa_dev(struct aml *a, const struct isa_dev *d)
{
	struct aml_obj dev = aml_device(a, d->name);
	struct aml_obj crs;

	aml_name_eisaid(a, "_HID", d->hid);
	if (d->uid)
		aml_name_int(a, "_UID", d->uid);
	aml_method_return_int(a, "_STA", 0x0F); /* present, enabled, shown, working */
	aml_name(a, "_CRS");
	crs = aml_restemplate(a);
	for (size_t i = 0; i < ARRAY_SIZE(d->io); i++)
		if (d->io[i].len)
			aml_res_io(a, d->io[i].base, d->io[i].len);
	aml_res_irq_noflags(a, d->irq);
	aml_restemplate_close(a, crs);
	aml_close(a, dev);
}

/* \_Sx packages: {PM1a_CNT.SLP_TYP, PM1b_CNT.SLP_TYP (no PM1b), reserved, reserved}. */
static void dsdt_sleep_state(struct aml *a, const char *name, uint8_t slp_typ)
{
	struct aml_obj pkg;

	aml_name(a, name);
	pkg = aml_package(a, 4);
	aml_int(a, slp_typ);
	for (int i = 0; i < 3; i++)
		aml_int(a, 0);
	aml_close(a, pkg);
}

static void dsdt_body(struct aml *a)
{
	struct aml_obj sb;

	dsdt_sleep_state(a, "\\_S0", 0);
	dsdt_sleep_state(a, "\\_S5", ACPI_S5_SLP_TYP);
	sb = aml_scope(a, "\\_SB");
	for (size_t i = 0; i < ARRAY_SIZE(isa_devs); i++)
		dsdt_isa_dev(a, &isa_devs[i]);
	aml_close(a, sb);
}

static int build_dsdt(struct acpi_ctx *c)
{
	uint8_t *t = ctx_alloc(c, HDR_LEN, TABLE_ALIGN, &c->dsdt_gpa);
	struct aml a;

	if (!t)
		return -ENOSPC;
	aml_init(&a, c->buf + c->used, c->cap - c->used);
	dsdt_body(&a);
	if (a.err)
		return a.err;
	c->used += a.len;
	table_header(t, "DSDT", HDR_LEN + a.len, DSDT_REVISION);
	table_seal(t, HDR_LEN + a.len);
	return 0;
}

/* RSDT (entry_size 4) or XSDT (entry_size 8) listing the tables at gpas. */
static int build_root(struct acpi_ctx *c, const char sig[4], unsigned entry_size,
		      const uint64_t *gpas, uint64_t *gpa)
{
	size_t len = HDR_LEN + NLISTED * entry_size;
	uint8_t *t = ctx_alloc(c, len, TABLE_ALIGN, gpa);

	if (!t)
		return -ENOSPC;
	table_header(t, sig, len, ROOT_REVISION);
	for (size_t i = 0; i < NLISTED; i++)
		if (entry_size == 8)
			put_le64(t + HDR_LEN + i * entry_size, gpas[i]);
		else
			put_le32(t + HDR_LEN + i * entry_size, (uint32_t)gpas[i]);
	table_seal(t, len);
	return 0;
}

static void fill_rsdp(uint8_t *p, uint64_t rsdt, uint64_t xsdt)
{
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + RSDP_OEM_ID, OEM_ID, 6);
	p[RSDP_REVISION] = 2;
	put_le32(p + RSDP_RSDT, (uint32_t)rsdt);
	put_le32(p + RSDP_LENGTH, RSDP_LEN);
	put_le64(p + RSDP_XSDT, xsdt);
	p[RSDP_CHECKSUM] = (uint8_t)-acpi_checksum(p, RSDP_V1_LEN);
	p[RSDP_EXT_CHECKSUM] = (uint8_t)-acpi_checksum(p, RSDP_LEN);
}

static int build_all(struct acpi_ctx *c)
{
	uint64_t gpas[NLISTED], rsdp, rsdt, xsdt;
	uint8_t *p = ctx_alloc(c, RSDP_LEN, TABLE_ALIGN, &rsdp);
	int err;

	if (!p)
		return -ENOSPC;
	err = build_facs(c);
	if (!err)
		err = build_dsdt(c);
	for (size_t i = 0; i < NLISTED && !err; i++)
		err = listed_tables[i](c, &gpas[i]);
	if (!err)
		err = build_root(c, "RSDT", 4, gpas, &rsdt);
	if (!err)
		err = build_root(c, "XSDT", 8, gpas, &xsdt);
	if (err)
		return err;
	if (c->base + c->used > (uint64_t)UINT32_MAX + 1)
		return -EINVAL;
	fill_rsdp(p, rsdt, xsdt);
	return 0;
}

long acpi_build(const struct acpi_vm *vm, uint8_t *buf, size_t buflen, uint64_t base_gpa)
{
	struct acpi_ctx c = {.vm = vm, .buf = buf, .cap = buflen, .base = base_gpa};
	int err;

	if (!vm || vm->ncpus < 1 || vm->ncpus > ACPI_MAX_CPUS)
		return -EINVAL;
	if (base_gpa % TABLE_ALIGN || base_gpa > UINT32_MAX)
		return -EINVAL;
	if (!buf && buflen)
		return -EINVAL;
	err = build_all(&c);
	if (err)
		return err;
	return (long)c.used;
}
