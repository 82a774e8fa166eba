/* ACPI tables for a PC-like VM, laid out per ACPI 6.x chapter 5:
 *
 *   RSDP | FACS (64-byte aligned) | DSDT | FADT | MADT | [MCFG] | [TPM2] | RSDT | XSDT
 *
 * MCFG, and the PCI host bridge in the DSDT, only when the VM has PCI.
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

/* MCFG (PCI Firmware Specification 3.x, 4.1.2): 8 reserved bytes, then one allocation
 * per ECAM range. */
#define MCFG_REVISION  1
#define MCFG_ALLOC     44
#define MCFG_ALLOC_LEN 16
#define MCFG_LEN       (MCFG_ALLOC + MCFG_ALLOC_LEN)

/* TPM2: after the header, platform class (2), reserved (2), the control area's address
 * (8), the start method (4), its parameters (12), the log area's length (4) and address (8). */
#define TPM2_REVISION	    4
#define TPM2_PLATFORM_CLASS 36
#define TPM2_CONTROL_AREA   40
#define TPM2_START_METHOD   48
#define TPM2_LEN	    76
#define TPM2_START_CRB	    7

/* The PCI host bridge in the DSDT. */
#define PCI_CONFIG_PORT	      0xCF8 /* CONFIG_ADDRESS and CONFIG_DATA, 8 ports */
#define PCI_CONFIG_PORT_LEN   8
#define PCI_FIRST_SLOT	      1 /* slot 0 is the host bridge itself */
#define PCI_SLOTS	      32
#define PCI_ALL_FUNCTIONS     0xFFFF /* low word of a _PRT address */
#define VGA_MEM_BASE	      0xA0000
#define VGA_MEM_END	      0xBFFFF
#define PCI_HOST_BRIDGE_UUID  "33DB4D5B-1FF7-401C-9657-7441C03DD766"
#define OSC_UNRECOGNIZED_UUID (1u << 2)

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
 * the FADT instead. To add a table, write its builder and list it here, with a predicate
 * if only some VMs have it. */
struct listed_table {
	int (*build)(struct acpi_ctx *c, uint64_t *gpa);
	bool (*wanted)(const struct acpi_vm *vm); /* NULL: always */
};

static int build_fadt(struct acpi_ctx *c, uint64_t *gpa);
static int build_madt(struct acpi_ctx *c, uint64_t *gpa);
static int build_mcfg(struct acpi_ctx *c, uint64_t *gpa);
static int build_tpm2(struct acpi_ctx *c, uint64_t *gpa);

static bool has_pci(const struct acpi_vm *vm)
{
	return vm->ecam_base != 0;
}

static bool has_tpm(const struct acpi_vm *vm)
{
	return vm->tpm_crb_ctrl != 0;
}

static const struct listed_table listed_tables[] = {
    {build_fadt, NULL},
    {build_madt, NULL},
    {build_mcfg, has_pci},
    {build_tpm2, has_tpm},
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

static uint64_t ecam_size(const struct acpi_vm *vm)
{
	return ((uint64_t)vm->pci_bus_end + 1) * ACPI_ECAM_BUS_SIZE;
}

static int build_mcfg(struct acpi_ctx *c, uint64_t *gpa)
{
	uint8_t *t = ctx_alloc(c, MCFG_LEN, TABLE_ALIGN, gpa);
	uint8_t *alloc;

	if (!t)
		return -ENOSPC;
	table_header(t, "MCFG", MCFG_LEN, MCFG_REVISION);
	alloc = t + MCFG_ALLOC;
	/* The base address is that of bus 0 even when the range starts at a later bus. */
	put_le64(alloc, c->vm->ecam_base);
	put_le16(alloc + 8, 0); /* PCI segment group */
	alloc[10] = 0;		/* start bus */
	alloc[11] = c->vm->pci_bus_end;
	table_seal(t, MCFG_LEN);
	return 0;
}

/* TPM2 (TCG ACPI Specification, the TPM 2.0 table, revision 4): platform class client,
 * the CRB control area, start method 7 (Command Response Buffer) with no parameters, and a
 * log area of 0 bytes: UEFI firmware hands its event log to the OS in its own table. */
static int build_tpm2(struct acpi_ctx *c, uint64_t *gpa)
{
	uint8_t *t = ctx_alloc(c, TPM2_LEN, TABLE_ALIGN, gpa);

	if (!t)
		return -ENOSPC;
	table_header(t, "TPM2", TPM2_LEN, TPM2_REVISION);
	put_le16(t + TPM2_PLATFORM_CLASS, 0);
	put_le64(t + TPM2_CONTROL_AREA, c->vm->tpm_crb_ctrl);
	put_le32(t + TPM2_START_METHOD, TPM2_START_CRB);
	table_seal(t, TPM2_LEN);
	return 0;
}

void acpi_dsdt_isa(struct aml *a, const struct acpi_isa_dev *d)
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

/* The host bridge's resources: the bus numbers, the config ports it decodes itself, and
 * the windows it forwards. The legacy I/O range below the config ports and the VGA
 * memory are forwarded as on a PC (VGA ports and memory can be claimed by a display
 * behind it); above them only the VMM's BAR windows, since an I/O or memory BAR moved
 * elsewhere would not be decoded. */
static void dsdt_pci_crs(struct aml *a, const struct acpi_vm *vm)
{
	struct aml_obj crs;

	aml_name(a, "_CRS");
	crs = aml_restemplate(a);
	aml_res_word_bus(a, 0, vm->pci_bus_end);
	aml_res_io(a, PCI_CONFIG_PORT, PCI_CONFIG_PORT_LEN);
	aml_res_word_io(a, 0, PCI_CONFIG_PORT - 1);
	if (vm->pio_size)
		aml_res_word_io(a, vm->pio_base, (uint16_t)(vm->pio_base + vm->pio_size - 1));
	aml_res_dword_mem(a, AML_PRODUCER, VGA_MEM_BASE, VGA_MEM_END);
	if (vm->mmio32_size)
		aml_res_dword_mem(a, AML_PRODUCER, vm->mmio32_base,
				  vm->mmio32_base + (vm->mmio32_size - 1));
	if (vm->mmio64_size)
		aml_res_qword_mem(a, AML_PRODUCER, vm->mmio64_base,
				  vm->mmio64_base + (vm->mmio64_size - 1));
	aml_restemplate_close(a, crs);
}

/* _OSC for the PCI host bridge UUID (PCI Firmware Specification 4.5). No firmware handles
 * hotplug, PME or AER here, so every control the OS asks for is granted: the capabilities
 * buffer goes back as it came. Any other UUID is refused.
 *
 *   CreateDWordField(Arg3, 0, CDW1)
 *   If (Arg0 != ToUUID(PCI_HOST_BRIDGE_UUID)) { CDW1 |= OSC_UNRECOGNIZED_UUID }
 *   Return (Arg3)
 */
static void dsdt_pci_osc(struct aml *a)
{
	struct aml_obj m = aml_method(a, "_OSC", 4, false);
	struct aml_obj cond;

	aml_create_dword_field(a, 3, 0, "CDW1");
	cond = aml_if(a);
	aml_lnotequal(a);
	aml_arg(a, 0);
	aml_uuid(a, PCI_HOST_BRIDGE_UUID);
	aml_or(a);
	aml_namestring(a, "CDW1");
	aml_int(a, OSC_UNRECOGNIZED_UUID);
	aml_namestring(a, "CDW1");
	aml_close(a, cond);
	aml_return(a);
	aml_arg(a, 3);
	aml_close(a, m);
}

/* _PRT (6.2.13): pin p (0 = INTA) of slot s reaches GSI pci_irqs[(s + p) % 4], the usual
 * swizzle. Source 0 means no link device: the last field is the GSI itself, which the OS
 * programs level-triggered, active-low. */
static void dsdt_pci_prt(struct aml *a, const struct acpi_vm *vm)
{
	struct aml_obj prt;

	aml_name(a, "_PRT");
	prt = aml_package(a, (PCI_SLOTS - PCI_FIRST_SLOT) * ACPI_PCI_INT_PINS);
	for (unsigned slot = PCI_FIRST_SLOT; slot < PCI_SLOTS; slot++) {
		for (unsigned pin = 0; pin < ACPI_PCI_INT_PINS; pin++) {
			struct aml_obj e = aml_package(a, 4);

			aml_int(a, (uint64_t)slot << 16 | PCI_ALL_FUNCTIONS);
			aml_int(a, pin);
			aml_int(a, 0);
			aml_int(a, vm->pci_irqs[(slot + pin) % ACPI_PCI_INT_PINS]);
			aml_close(a, e);
		}
	}
	aml_close(a, prt);
}

/* The PCI Firmware Specification (4.1.2) wants the ECAM range reserved by a motherboard
 * resource device as well as listed in the MCFG; Linux checks it when the E820 map does
 * not reserve the range. */
static void dsdt_ecam_reserve(struct aml *a, const struct acpi_vm *vm)
{
	struct aml_obj dev = aml_device(a, "ECAM");
	struct aml_obj crs;

	aml_name_eisaid(a, "_HID", "PNP0C02");
	aml_name(a, "_CRS");
	crs = aml_restemplate(a);
	aml_res_qword_mem(a, AML_CONSUMER, vm->ecam_base, vm->ecam_base + (ecam_size(vm) - 1));
	aml_restemplate_close(a, crs);
	aml_close(a, dev);
}

/* One PCI Express root bridge (PNP0A08, compatible with PCI's PNP0A03) for segment 0 from
 * bus 0. No _ADR: a device has a _HID or an _ADR, not both (6.1). */
static void dsdt_pci(struct aml *a, const struct acpi_vm *vm)
{
	struct aml_obj dev = aml_device(a, "PCI0");

	aml_name_eisaid(a, "_HID", "PNP0A08");
	aml_name_eisaid(a, "_CID", "PNP0A03");
	aml_name_int(a, "_UID", 0);
	aml_name_int(a, "_SEG", 0);
	aml_name_int(a, "_BBN", 0);
	dsdt_pci_crs(a, vm);
	dsdt_pci_osc(a);
	dsdt_pci_prt(a, vm);
	aml_close(a, dev);
	dsdt_ecam_reserve(a, vm);
}

static void dsdt_body(struct aml *a, const struct acpi_vm *vm)
{
	struct aml_obj sb;

	dsdt_sleep_state(a, "\\_S0", 0);
	dsdt_sleep_state(a, "\\_S5", ACPI_S5_SLP_TYP);
	if (has_pci(vm)) {
		/* \_PIC(model): the OS names its interrupt model. The _PRT describes only
		 * the IOAPIC's GSIs, so there is nothing to switch. */
		aml_close(a, aml_method(a, "\\_PIC", 1, false));
	}
	sb = aml_scope(a, "\\_SB");
	if (vm->sb_devices)
		vm->sb_devices(vm->sb_opaque, a);
	if (has_pci(vm))
		dsdt_pci(a, vm);
	aml_close(a, sb);
}

static int build_dsdt(struct acpi_ctx *c)
{
	uint8_t *t = ctx_alloc(c, HDR_LEN, TABLE_ALIGN, &c->dsdt_gpa);
	struct aml a;

	if (!t)
		return -ENOSPC;
	aml_init(&a, c->buf + c->used, c->cap - c->used);
	dsdt_body(&a, c->vm);
	if (a.err)
		return a.err;
	c->used += a.len;
	table_header(t, "DSDT", HDR_LEN + a.len, DSDT_REVISION);
	table_seal(t, HDR_LEN + a.len);
	return 0;
}

/* RSDT (entry_size 4) or XSDT (entry_size 8) listing the n tables at gpas. */
static int build_root(struct acpi_ctx *c, const char sig[4], unsigned entry_size,
		      const uint64_t *gpas, size_t n, uint64_t *gpa)
{
	size_t len = HDR_LEN + n * entry_size;
	uint8_t *t = ctx_alloc(c, len, TABLE_ALIGN, gpa);

	if (!t)
		return -ENOSPC;
	table_header(t, sig, len, ROOT_REVISION);
	for (size_t i = 0; i < n; i++)
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
	size_t n = 0;
	int err;

	if (!p)
		return -ENOSPC;
	err = build_facs(c);
	if (!err)
		err = build_dsdt(c);
	for (size_t i = 0; i < NLISTED && !err; i++) {
		const struct listed_table *lt = &listed_tables[i];

		if (!lt->wanted || lt->wanted(c->vm))
			err = lt->build(c, &gpas[n++]);
	}
	if (!err)
		err = build_root(c, "RSDT", 4, gpas, n, &rsdt);
	if (!err)
		err = build_root(c, "XSDT", 8, gpas, n, &xsdt);
	if (err)
		return err;
	if (c->base + c->used > (uint64_t)UINT32_MAX + 1)
		return -EINVAL;
	fill_rsdp(p, rsdt, xsdt);
	return 0;
}

/* Two ranges of the guest's address space share a byte (both end below 2^64). */
static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* The PCI layout struct acpi_vm promises; nothing to check without PCI. */
static bool pci_layout_ok(const struct acpi_vm *vm)
{
	uint64_t ecam = vm->ecam_base, ecam_len = ecam_size(vm);

	if (!has_pci(vm))
		return true;
	if (ecam % ACPI_ECAM_BUS_SIZE || ecam > UINT64_MAX - ecam_len)
		return false;
	if ((uint64_t)vm->mmio32_base + vm->mmio32_size > (uint64_t)UINT32_MAX + 1)
		return false;
	if (vm->mmio64_base > UINT64_MAX - vm->mmio64_size)
		return false;
	if (vm->pio_size &&
	    (vm->pio_base < ACPI_PCI_IO_MIN || (uint32_t)vm->pio_base + vm->pio_size > 0x10000))
		return false;
	for (unsigned i = 0; i < ACPI_PCI_INT_PINS; i++)
		if (vm->pci_irqs[i] < ACPI_PCI_MIN_GSI || vm->pci_irqs[i] >= ACPI_IOAPIC_PINS)
			return false;
	return !ranges_overlap(ecam, ecam_len, vm->mmio32_base, vm->mmio32_size) &&
	       !ranges_overlap(ecam, ecam_len, vm->mmio64_base, vm->mmio64_size) &&
	       !ranges_overlap(vm->mmio32_base, vm->mmio32_size, vm->mmio64_base, vm->mmio64_size);
}

long acpi_build(const struct acpi_vm *vm, uint8_t *buf, size_t buflen, uint64_t base_gpa)
{
	struct acpi_ctx c = {.vm = vm, .buf = buf, .cap = buflen, .base = base_gpa};
	int err;

	if (!vm || vm->ncpus < 1 || vm->ncpus > ACPI_MAX_CPUS || !pci_layout_ok(vm))
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
