/* UEFI firmware support: fw_cfg (ports, file directory, DMA against hostile addresses), the
 * ACPI table loader script (run here by a small loader like OVMF's), the flash variable store
 * (OVMF's probe, program, erase), firmware image checks, and the Q35 bits of the PCI bus. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "arch/x86/acpi.h"
#include "arch/x86/acpi_loader.h"
#include "arch/x86/bootorder.h"
#include "arch/x86/firmware.h"
#include "arch/x86/smbios.h"
#include "common/bytes.h"
#include "devices/fw_cfg.h"
#include "devices/lpc.h"
#include "devices/pci.h"
#include "devices/pflash.h"

#define MiB (1ull << 20)

/* --- fw_cfg through its ports --------------------------------------------------------------- */
static void sel(struct fw_cfg *f, uint16_t key)
{
	uint8_t b[2];

	put_le16(b, key);
	fw_cfg_io(f, 0, b, 2, true);
}

static void rd(struct fw_cfg *f, void *dst, size_t n)
{
	uint8_t *d = dst;

	for (size_t i = 0; i < n; i++)
		fw_cfg_io(f, 1, d + i, 1, false);
}

/* A guest-side file lookup, as OVMF's QemuFwCfgFindFile does it. */
static int find(struct fw_cfg *f, const char *name, uint16_t *key, uint32_t *size)
{
	uint8_t cnt[4], e[64];

	sel(f, FW_CFG_FILE_DIR);
	rd(f, cnt, 4);
	for (uint32_t i = 0; i < get_be32(cnt); i++) {
		rd(f, e, 64);
		if (!strcmp((char *)e + 8, name)) {
			*key = (uint16_t)(e[4] << 8 | e[5]);
			*size = get_be32(e);
			return 0;
		}
	}
	return -1;
}

static void test_fw_cfg_ports(void **state)
{
	struct fw_cfg f;
	uint8_t b[16];
	uint16_t key;
	uint32_t size;

	(void)state;
	assert_int_equal(fw_cfg_init(&f, NULL), 0);
	sel(&f, FW_CFG_SIGNATURE);
	rd(&f, b, 4);
	assert_memory_equal(b, "QEMU", 4);
	sel(&f, FW_CFG_ID);
	rd(&f, b, 4);
	assert_int_equal(get_le32(b), FW_CFG_ID_TRADITIONAL); /* no memory: no DMA bit */
	assert_int_equal(fw_cfg_add_u16(&f, FW_CFG_NB_CPUS, 3), 0);
	assert_int_equal(fw_cfg_add_u16(&f, FW_CFG_NB_CPUS, 4), -EEXIST);
	assert_int_equal(fw_cfg_add_file(&f, "etc/a", "hello", 5), 0);
	assert_int_equal(fw_cfg_add_file(&f, "etc/b", "xy", 2), 0);
	assert_int_equal(fw_cfg_add_file(&f, "etc/a", "again", 5), -EEXIST);
	assert_int_equal(fw_cfg_add_file(&f, "", "x", 1), -EINVAL);
	assert_int_equal(
	    fw_cfg_add_file(&f, "a-name-that-is-far-too-long-for-the-56-byte-name-field-xx", "x",
			    1),
	    -EINVAL);
	sel(&f, FW_CFG_NB_CPUS);
	rd(&f, b, 2);
	assert_int_equal(get_le16(b), 3);
	assert_int_equal(find(&f, "etc/b", &key, &size), 0);
	assert_int_equal(key, FW_CFG_FILE_FIRST + 1);
	assert_int_equal(size, 2);
	sel(&f, key);
	rd(&f, b, 4); /* past the end: zeros */
	assert_memory_equal(b, "xy\0\0", 4);
	/* Unknown keys and writes to the data port change nothing. */
	sel(&f, 0x1234);
	b[0] = 0x55;
	fw_cfg_io(&f, 1, b, 1, true);
	rd(&f, b, 2);
	assert_int_equal(b[0] | b[1], 0);
	/* Odd widths and offsets: no crash, reads fill the buffer. */
	memset(b, 0xEE, sizeof(b));
	fw_cfg_io(&f, 2, b, 1, false);
	fw_cfg_io(&f, 4, b, 8, true); /* DMA without memory: ignored */
	fw_cfg_io(&f, 4, b, 8, false);
	assert_int_equal(get_le64(b), 0);
	fw_cfg_destroy(&f);
}

struct dma_env {
	struct guest_mem gm;
	uint8_t *ram;
	struct fw_cfg f;
};

static void dma_setup(struct dma_env *e)
{
	e->ram = calloc(1, 16 * MiB);
	assert_non_null(e->ram);
	gm_init_buffer(&e->gm, e->ram, 16 * MiB);
	assert_int_equal(fw_cfg_init(&e->f, &e->gm), 0);
	assert_int_equal(fw_cfg_add_file(&e->f, "etc/data", "0123456789", 10), 0);
}

static void dma_teardown(struct dma_env *e)
{
	fw_cfg_destroy(&e->f);
	free(e->ram);
}

/* Writes a FWCfgDmaAccess at gpa and triggers it the way OVMF does (two 32-bit halves). */
static uint32_t dma(struct dma_env *e, uint64_t gpa, uint32_t ctl, uint32_t len, uint64_t addr)
{
	uint8_t b[4];

	put_be32(e->ram + gpa, ctl);
	put_be32(e->ram + gpa + 4, len);
	put_be32(e->ram + gpa + 8, (uint32_t)(addr >> 32));
	put_be32(e->ram + gpa + 12, (uint32_t)addr);
	put_be32(b, (uint32_t)(gpa >> 32));
	fw_cfg_io(&e->f, 4, b, 4, true);
	put_be32(b, (uint32_t)gpa);
	fw_cfg_io(&e->f, 8, b, 4, true);
	return get_be32(e->ram + gpa);
}

static void test_fw_cfg_dma(void **state)
{
	struct dma_env e;
	uint8_t b[8];
	uint16_t key;
	uint32_t size;

	(void)state;
	dma_setup(&e);
	fw_cfg_io(&e.f, 4, b, 8, false); /* the DMA register reads "QEMU CFG", big-endian */
	assert_true(get_le64(b) == 0x51454D5520434647ull);
	sel(&e.f, FW_CFG_ID);
	fw_cfg_io(&e.f, 1, b, 1, false);
	assert_int_equal(b[0], FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA);
	assert_int_equal(find(&e.f, "etc/data", &key, &size), 0);

	/* Select + read 4, skip 2, read past the end (zero-filled). */
	assert_int_equal(
	    dma(&e, 0x1000, (uint32_t)key << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, 4, 0x2000),
	    0);
	assert_memory_equal(e.ram + 0x2000, "0123", 4);
	assert_int_equal(dma(&e, 0x1000, FW_CFG_DMA_SKIP, 2, 0), 0);
	memset(e.ram + 0x2000, 0xEE, 8);
	assert_int_equal(dma(&e, 0x1000, FW_CFG_DMA_READ, 8, 0x2000), 0);
	assert_memory_equal(e.ram + 0x2000, "6789\0\0\0\0", 8);

	/* Hostile: destination outside RAM, or straddling its end; a write; huge lengths. */
	assert_int_equal(dma(&e, 0x1000, FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, 4, 0xFFFFFFF0ull),
			 FW_CFG_DMA_ERROR);
	assert_int_equal(dma(&e, 0x1000, FW_CFG_DMA_READ, 0x100, 16 * MiB - 0x10),
			 FW_CFG_DMA_ERROR);
	assert_int_equal(dma(&e, 0x1000, FW_CFG_DMA_READ, 0xFFFFFFFFu, 0x2000), FW_CFG_DMA_ERROR);
	assert_int_equal(dma(&e, 0x1000, FW_CFG_DMA_WRITE, 4, 0x2000), FW_CFG_DMA_ERROR);
	assert_int_equal(dma(&e, 0x1000, FW_CFG_DMA_SKIP, 0xFFFFFFFFu, 0), 0);
	/* The access structure itself outside RAM: nothing is written anywhere. */
	put_be32(b, 0x7FFFFFFF);
	fw_cfg_io(&e.f, 8, b, 4, true);
	assert_true(e.f.dma_errors >= 4);
	/* The structure as its own destination: the control word ends as the result. */
	assert_int_equal(
	    dma(&e, 0x3000, (uint32_t)key << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, 16, 0x3000),
	    0);
	dma_teardown(&e);
}

/* --- the ACPI table loader ------------------------------------------------------------------ */
struct blob {
	const char *name;
	uint8_t *p;
	uint32_t len;
	uint64_t addr; /* where the "firmware" placed it */
};

static struct blob *blob_of(struct blob *bl, unsigned n, const uint8_t *name)
{
	for (unsigned i = 0; i < n; i++)
		if (!strncmp((const char *)name, bl[i].name, 56))
			return &bl[i];
	fail_msg("the script names an unknown file '%.56s'", (const char *)name);
	return bl;
}

/* Runs the script against blobs placed at fixed "addresses" in one arena, like OVMF. */
static void run_loader(const uint8_t *s, long slen, struct blob *bl, unsigned n, uint8_t *arena)
{
	for (long off = 0; off < slen; off += ACPI_LOADER_ENTRY_LEN) {
		const uint8_t *c = s + off;
		struct blob *a, *b;

		switch (get_le32(c)) {
		case ACPI_LOADER_ALLOCATE:
			a = blob_of(bl, n, c + 4);
			assert_int_equal(a->addr % get_le32(c + 60), 0);
			memcpy(arena + a->addr, a->p, a->len);
			break;
		case ACPI_LOADER_ADD_POINTER: {
			uint8_t sz = c[4 + 112 + 4];
			uint32_t po = get_le32(c + 4 + 112);
			uint64_t v = 0;

			a = blob_of(bl, n, c + 4);
			b = blob_of(bl, n, c + 60);
			assert_true(sz == 4 || sz == 8);
			assert_true(po + sz <= a->len);
			memcpy(&v, arena + a->addr + po, sz);
			assert_true(v < b->len);
			v += b->addr;
			memcpy(arena + a->addr + po, &v, sz);
			break;
		}
		case ACPI_LOADER_ADD_CHECKSUM: {
			uint32_t res = get_le32(c + 60), start = get_le32(c + 64),
				 len = get_le32(c + 68);

			a = blob_of(bl, n, c + 4);
			assert_true(start + len <= a->len && res < a->len);
			/* As OVMF does it: the byte's old value counts in the sum. */
			arena[a->addr + res] =
			    (uint8_t)-acpi_checksum(arena + a->addr + start, len);
			break;
		}
		default:
			fail_msg("unknown loader command %u", get_le32(c));
		}
	}
}

static void test_acpi_loader(void **state)
{
	struct acpi_vm vm = {.ncpus = 2,
			     .ecam_base = 0xB0000000,
			     .mmio32_base = 0xC0000000,
			     .mmio32_size = 0x3C000000,
			     .pio_base = 0x6000,
			     .pio_size = 0xA000,
			     .pci_irqs = {16, 17, 18, 19}};
	uint8_t *tables = calloc(1, 65536), *script = calloc(1, 8192), *arena = calloc(1, 1 << 20);
	long tlen, slen;
	struct blob bl[2];
	uint8_t *rsdp, *xsdt;
	unsigned n, seen_fadt = 0;

	(void)state;
	tlen = acpi_build(&vm, tables, 65536, 0);
	assert_true(tlen > 0);
	slen = acpi_loader_build(tables, (size_t)tlen, script, 8192);
	assert_true(slen > 0 && slen % ACPI_LOADER_ENTRY_LEN == 0);
	assert_int_equal(acpi_loader_build(tables, (size_t)tlen, script, 256), -ENOSPC);
	bl[0] = (struct blob){ACPI_LOADER_RSDP_FILE, tables, 36, 0x100};
	bl[1] = (struct blob){ACPI_LOADER_TABLES_FILE, tables, (uint32_t)tlen, 0x40000};
	run_loader(script, slen, bl, 2, arena);

	/* Follow the pointers as an OS would: every table's checksum holds. */
	rsdp = arena + 0x100;
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(acpi_checksum(rsdp, 20), 0);
	assert_int_equal(acpi_checksum(rsdp, 36), 0);
	xsdt = arena + get_le64(rsdp + 24);
	assert_memory_equal(xsdt, "XSDT", 4);
	assert_int_equal(acpi_checksum(xsdt, get_le32(xsdt + 4)), 0);
	assert_memory_equal(arena + get_le32(rsdp + 16), "RSDT", 4);
	n = (get_le32(xsdt + 4) - 36) / 8;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *t = arena + get_le64(xsdt + 36 + 8 * i);

		assert_true(t > arena + 0x40000 && t < arena + 0x40000 + tlen);
		assert_int_equal(acpi_checksum(t, get_le32(t + 4)), 0);
		if (!memcmp(t, "FACP", 4)) {
			uint8_t *dsdt = arena + get_le64(t + 140);

			seen_fadt++;
			assert_memory_equal(dsdt, "DSDT", 4);
			assert_int_equal(acpi_checksum(dsdt, get_le32(dsdt + 4)), 0);
			assert_memory_equal(arena + get_le64(t + 132), "FACS", 4);
			assert_int_equal(get_le32(t + 40), get_le64(t + 140));
		}
	}
	assert_int_equal(seen_fadt, 1);

	/* Broken input is refused, never read out of bounds. */
	assert_int_equal(acpi_loader_build(tables, 20, script, 8192), -EINVAL);
	put_le64(tables + 24, (uint64_t)tlen + 100); /* XSDT pointer past the blob */
	assert_int_equal(acpi_loader_build(tables, (size_t)tlen, script, 8192), -EINVAL);
	free(tables);
	free(script);
	free(arena);
}

/* --- the flash variable store ---------------------------------------------------------------- */
struct romd_log {
	unsigned calls;
	bool on;
};

static void romd_cb(void *opaque, bool on)
{
	struct romd_log *l = opaque;

	l->calls++;
	l->on = on;
}

static void fwr(struct pflash *p, uint64_t off, uint8_t v)
{
	pflash_io(p, off, &v, 1, true);
}

static uint8_t frd(struct pflash *p, uint64_t off)
{
	uint8_t v;

	pflash_io(p, off, &v, 1, false);
	return v;
}

static void test_pflash(void **state)
{
	uint8_t *mem = malloc(3 * PFLASH_BLOCK_SIZE);
	struct romd_log log = {0};
	struct pflash p;
	uint8_t orig, big[8];

	(void)state;
	memset(mem, 0x5A, 3 * PFLASH_BLOCK_SIZE);
	pflash_init(&p, mem, 3 * PFLASH_BLOCK_SIZE, romd_cb, &log);
	/* OVMF's probe: clear status, read back the original; read status gives 0 = flash. */
	orig = mem[0];
	fwr(&p, 0, 0x50);
	assert_int_equal(frd(&p, 0), orig);
	assert_int_equal(log.calls, 0);
	fwr(&p, 0, 0x70);
	assert_int_equal(log.calls, 1);
	assert_false(log.on); /* reads must exit now */
	assert_int_equal(frd(&p, 0), 0x00);
	fwr(&p, 0, 0xFF);
	assert_true(log.on);
	assert_int_equal(frd(&p, 0), orig);
	/* Program two bytes (0x10 then the byte; 0x40 works the same), status ready. */
	fwr(&p, 5, 0x10);
	fwr(&p, 5, 0xA1);
	fwr(&p, 6, 0x40);
	fwr(&p, 6, 0xB2);
	assert_int_equal(frd(&p, 0), 0x80);
	fwr(&p, 6, 0xFF);
	assert_int_equal(mem[5], 0xA1);
	assert_int_equal(mem[6], 0xB2);
	/* Erase block 1 (any address in it), block 0 and 2 untouched. */
	fwr(&p, PFLASH_BLOCK_SIZE + 77, 0x20);
	fwr(&p, PFLASH_BLOCK_SIZE + 77, 0xD0);
	fwr(&p, 0, 0xFF);
	assert_int_equal(mem[PFLASH_BLOCK_SIZE], 0xFF);
	assert_int_equal(mem[2 * PFLASH_BLOCK_SIZE - 1], 0xFF);
	assert_int_equal(mem[PFLASH_BLOCK_SIZE - 1], 0x5A);
	assert_int_equal(mem[2 * PFLASH_BLOCK_SIZE], 0x5A);
	assert_int_equal(p.erases, 1);
	/* An erase not confirmed: error bits, nothing erased. */
	fwr(&p, 0, 0x20);
	fwr(&p, 0, 0x33);
	assert_true(frd(&p, 0) & 0x20);
	fwr(&p, 0, 0x50);
	assert_int_equal(mem[0], 0x5A);
	/* ID and CFI query. */
	fwr(&p, 0, 0x90);
	assert_int_equal(frd(&p, 0), 0x89);
	fwr(&p, 0, 0x98);
	assert_int_equal(frd(&p, 0x10), 'Q');
	assert_int_equal(frd(&p, 0x11), 'R');
	assert_int_equal(frd(&p, 0x12), 'Y');
	fwr(&p, 0, 0xFF);
	/* Out of range and wide accesses: refused or handled, never outside mem. */
	fwr(&p, 3 * PFLASH_BLOCK_SIZE, 0x10);
	pflash_io(&p, 3 * PFLASH_BLOCK_SIZE - 4, big, 8, false);
	assert_int_equal(big[0], 0xFF);
	fwr(&p, 3 * PFLASH_BLOCK_SIZE - 8, 0x10);
	memset(big, 0x11, sizeof(big));
	pflash_io(&p, 3 * PFLASH_BLOCK_SIZE - 8, big, 8, true);
	assert_int_equal(mem[3 * PFLASH_BLOCK_SIZE - 1], 0x11);
	pflash_destroy(&p);
	free(mem);
}

/* --- images and the Q35 registers ------------------------------------------------------------ */
static void test_firmware_check(void **state)
{
	uint8_t *img = calloc(1, 8192);

	(void)state;
	assert_non_null(firmware_check(img, 0));
	assert_non_null(firmware_check(img, 4000));
	assert_non_null(firmware_check(img, 8192)); /* no _FVH */
	memcpy(img + 0x28, "_FVH", 4);
	assert_null(firmware_check(img, 8192));
	assert_non_null(firmware_check(img, FW_MAX_SIZE + 4096));
	free(img);
}

/* Writes a file of len bytes that looks like a firmware volume. */
static void fake_image(const char *path, size_t len, uint8_t fill)
{
	uint8_t *b = malloc(len);
	FILE *f = fopen(path, "wb");

	assert_non_null(b);
	assert_non_null(f);
	memset(b, fill, len);
	memcpy(b + 0x28, "_FVH", 4);
	assert_int_equal(fwrite(b, 1, len, f), len);
	fclose(f);
	free(b);
}

static void test_firmware_open(void **state)
{
	char dir[] = "/tmp/phyllome-fw-XXXXXX", code[64], vars[64], bad[64], err[256];
	struct firmware fw, fw2;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(code, sizeof(code), "%s/code.fd", dir);
	snprintf(vars, sizeof(vars), "%s/vars.fd", dir);
	snprintf(bad, sizeof(bad), "%s/bad.fd", dir);
	fake_image(code, 0x1E0000, 0xC0);
	fake_image(vars, 0x20000, 0x5A);
	fake_image(bad, 5000, 0);
	/* Split images: code ends at 4 GiB, the store right below it (OVMF's FD layout). */
	assert_int_equal(firmware_open(&fw, code, vars, err, sizeof(err)), 0);
	assert_true(firmware_code_gpa(&fw) == 0xFFE20000ull);
	assert_true(firmware_vars_gpa(&fw) == 0xFFE00000ull);
	assert_int_equal(fw.code[0], 0xC0);
	/* The store is locked: a second VM can't open it, the code image is shared. */
	assert_true(firmware_open(&fw2, code, vars, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "in use"));
	assert_int_equal(firmware_open(&fw2, code, NULL, err, sizeof(err)), 0);
	firmware_close(&fw2);
	/* Writes to the store reach its file. */
	fw.vars[7] = 0x77;
	firmware_close(&fw);
	assert_int_equal(firmware_open(&fw, code, vars, err, sizeof(err)), 0);
	assert_int_equal(fw.vars[7], 0x77);
	firmware_close(&fw);
	/* Refused, with the file named: missing, not whole pages. */
	assert_true(firmware_open(&fw, "/nonexistent/x.fd", NULL, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "/nonexistent/x.fd"));
	assert_true(firmware_open(&fw, bad, NULL, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "4 KiB"));
	unlink(code);
	unlink(vars);
	unlink(bad);
	rmdir(dir);
}

static uint32_t conf1_read(struct pci_bus *b, unsigned dev, unsigned reg)
{
	uint8_t a[4], d[4];

	put_le32(a, 0x80000000u | dev << 11 | reg);
	pci_conf1_io(b, 0, a, 4, true);
	pci_conf1_io(b, 4, d, 4, false);
	return get_le32(d);
}

static void conf1_write(struct pci_bus *b, unsigned dev, unsigned reg, uint32_t v)
{
	uint8_t a[4], d[4];

	put_le32(a, 0x80000000u | dev << 11 | reg);
	pci_conf1_io(b, 0, a, 4, true);
	put_le32(d, v);
	pci_conf1_io(b, 4, d, 4, true);
}

static void test_q35_regs(void **state)
{
	struct pci_bus b;
	struct pci_dev lpc;

	(void)state;
	pci_bus_init(&b, NULL, NULL);
	pci_bus_set_windows(&b, 0xC0000000, 0x3C000000, 0x6000, 0xA000);
	pci_host_q35_regs(&b, 0xB0000000);
	lpc_init(&lpc);
	assert_int_equal(pci_bus_add_at(&b, &lpc, LPC_SLOT), 0);
	assert_int_equal(pci_bus_add_at(&b, &lpc, LPC_SLOT), -EBUSY);
	assert_int_equal(pci_bus_add_at(&b, &lpc, 0), -EBUSY);
	/* OVMF's PCIEXBAR sequence changes nothing: ECAM stays where the VMM decodes it. */
	conf1_write(&b, 0, 0x60, 0);
	conf1_write(&b, 0, 0x64, 0);
	conf1_write(&b, 0, 0x60, 0xB0000001);
	assert_int_equal(conf1_read(&b, 0, 0x60), 0xB0000001);
	/* The LPC bridge: id, PMBASE and ACPI enable as OVMF expects them to be set up. */
	assert_int_equal(conf1_read(&b, LPC_SLOT, 0), 0x29188086);
	conf1_write(&b, LPC_SLOT, 0x40, 0xB001);
	assert_int_equal(conf1_read(&b, LPC_SLOT, 0x40), ACPI_PM1A_EVT_PORT | 1);
	assert_int_equal(conf1_read(&b, LPC_SLOT, 0x44) & 0x80, 0x80);
	/* Decoding on, as OVMF's SioBusDxe requires, and the command register writable. */
	assert_int_equal(conf1_read(&b, LPC_SLOT, 0x04) & 3, 3);
	conf1_write(&b, LPC_SLOT, 0x04, 0x0007);
	assert_int_equal(conf1_read(&b, LPC_SLOT, 0x04) & 0xFFFF, 0x0007);
	pci_bus_destroy(&b);
}

static void test_smbios(void **state)
{
	uint8_t t[512], anchor[SMBIOS_ANCHOR_LEN], sum = 0;
	long n = smbios_build(NULL, t, sizeof(t), anchor);
	size_t off = 0;
	unsigned types = 0;

	(void)state;
	assert_true(n > 0);
	assert_memory_equal(anchor, "_SM3_", 5);
	assert_int_equal(anchor[7], 3);
	assert_int_equal(get_le32(anchor + 12), n);
	for (unsigned i = 0; i < SMBIOS_ANCHOR_LEN; i++)
		sum = (uint8_t)(sum + anchor[i]);
	assert_int_equal(sum, 0);
	/* Walk the structures as OVMF does: formatted part, strings, double NUL; 127 last. */
	for (;;) {
		uint8_t type = t[off], len = t[off + 1];

		assert_true(off + len + 2 <= (size_t)n);
		types |= 1u << (type & 31);
		off += len;
		while (t[off] || t[off + 1])
			off++;
		off += 2;
		if (type == 127)
			break;
	}
	assert_int_equal(off, n);
	assert_int_equal(types, (1u << 1) | (1u << 3) | (1u << (127 & 31)));
	assert_memory_equal(t + 27, "Phyllome", 9);
	assert_int_equal(smbios_build(NULL, t, 20, anchor), -ENOSPC);
}

/* SMBIOS type 1's UUID: the string's first three fields little-endian, the rest as is (what
 * Linux's product_uuid prints back as the same string). */
static void test_smbios_uuid(void **state)
{
	static const uint8_t uuid[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
					 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
	static const uint8_t smbios[16] = {0x78, 0x56, 0x34, 0x12, 0xbc, 0x9a, 0xf0, 0xde,
					   0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
	static const uint8_t zero[16];
	uint8_t t[512], anchor[SMBIOS_ANCHOR_LEN];

	(void)state;
	assert_true(smbios_build(uuid, t, sizeof(t), anchor) > 0);
	assert_int_equal(t[0], 1); /* type 1 comes first; its UUID at offset 8 */
	assert_memory_equal(t + 8, smbios, 16);
	assert_true(smbios_build(NULL, t, sizeof(t), anchor) > 0);
	assert_memory_equal(t + 8, zero, 16);
}

/* --- the boot order (fw_cfg "bootorder") ---------------------------------------------------- */
static void test_boot_paths(void **state)
{
	char p[BOOT_PATH_MAX];

	(void)state;
	/* QEMU's paths, which OVMF's QemuBootOrderLib translates: function 0 left out. */
	assert_int_equal(boot_ofw_virtio_blk(p, sizeof(p), 3, 0), 0);
	assert_string_equal(p, "/pci@i0cf8/scsi@3/disk@0,0");
	assert_int_equal(boot_ofw_virtio_blk(p, sizeof(p), 0x1e, 2), 0);
	assert_string_equal(p, "/pci@i0cf8/scsi@1e,2/disk@0,0");
	assert_int_equal(boot_ofw_sata(p, sizeof(p), 0x1f, 2, 0), 0);
	assert_string_equal(p, "/pci@i0cf8/pci8086,2922@1f,2/drive@0/disk@0");
	assert_int_equal(boot_ofw_sata(p, sizeof(p), 0x1f, 2, 5), 0);
	assert_string_equal(p, "/pci@i0cf8/pci8086,2922@1f,2/drive@5/disk@0");
	/* NVMe: OVMF's QemuBootOrderLib knows the controller only by QEMU's old Intel id. */
	assert_int_equal(boot_ofw_nvme(p, sizeof(p), 5, 0, 1), 0);
	assert_string_equal(p, "/pci@i0cf8/pci8086,5845@5/namespace@1,0");
	assert_int_equal(boot_ofw_nvme(p, sizeof(p), 0x1a, 3, 0x10), 0);
	assert_string_equal(p, "/pci@i0cf8/pci8086,5845@1a,3/namespace@10,0");
	assert_int_equal(boot_ofw_nvme(p, sizeof(p), 5, 0, 0), -EINVAL);
	/* Out of range, or no room. */
	assert_int_equal(boot_ofw_virtio_blk(p, sizeof(p), 32, 0), -EINVAL);
	assert_int_equal(boot_ofw_virtio_blk(p, sizeof(p), 1, 8), -EINVAL);
	assert_int_equal(boot_ofw_sata(p, sizeof(p), 0x1f, 2, 32), -EINVAL);
	assert_int_equal(boot_ofw_virtio_blk(p, 26, 3, 0), -ENOSPC); /* needs 27 */
	assert_int_equal(boot_ofw_virtio_blk(p, 27, 3, 0), 0);
}

static void test_boot_order_file(void **state)
{
	static const char want[] = "/pci@i0cf8/pci8086,2922@1f,2/drive@0/disk@0\n"
				   "/pci@i0cf8/scsi@4/disk@0,0\n"
				   "/pci@i0cf8/scsi@3/disk@0,0";
	struct boot_order b;
	char buf[512];

	(void)state;
	boot_order_init(&b);
	assert_int_equal(boot_order_build(&b, buf, sizeof(buf)), 0); /* none: no file */
	/* Added in device order, listed by index (lower first); the file ends with a NUL. */
	assert_int_equal(boot_order_add(&b, 9, "/pci@i0cf8/scsi@3/disk@0,0"), 0);
	assert_int_equal(boot_order_add(&b, 2, "/pci@i0cf8/scsi@4/disk@0,0"), 0);
	assert_int_equal(boot_order_add(&b, 0, "/pci@i0cf8/pci8086,2922@1f,2/drive@0/disk@0"), 0);
	assert_int_equal(boot_order_build(&b, buf, sizeof(buf)), sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(boot_order_build(&b, buf, sizeof(want) - 1), -ENOSPC);
	/* Refused: an index twice, a negative one, paths that are not OpenFirmware paths. */
	assert_int_equal(boot_order_add(&b, 2, "/pci@i0cf8/scsi@5/disk@0,0"), -EEXIST);
	assert_int_equal(boot_order_add(&b, -1, "/pci@i0cf8/scsi@5/disk@0,0"), -EINVAL);
	assert_int_equal(boot_order_add(&b, 3, "pci@i0cf8/scsi@5"), -EINVAL);
	assert_int_equal(boot_order_add(&b, 3, "/pci@i0cf8/scsi@5\n/x@1"), -EINVAL);
	assert_int_equal(boot_order_add(&b, 3, "/"), -EINVAL);
	assert_int_equal(boot_order_add(&b, 3, ""), -EINVAL);
	assert_int_equal(boot_order_build(&b, buf, sizeof(buf)), sizeof(want));
	/* Full. */
	boot_order_init(&b);
	for (int i = 0; i < BOOT_ORDER_MAX; i++)
		assert_int_equal(boot_order_add(&b, 100 - i, "/pci@i0cf8/scsi@3/disk@0,0"), 0);
	assert_int_equal(boot_order_add(&b, 1, "/pci@i0cf8/scsi@3/disk@0,0"), -ENOSPC);
	assert_int_equal(boot_order_build(&b, buf, sizeof(buf)), BOOT_ORDER_MAX * 27);
}

/* The bootorder file through fw_cfg, as OVMF reads it: found in the directory, NUL-terminated. */
static void test_boot_order_fw_cfg(void **state)
{
	struct fw_cfg f;
	struct boot_order b;
	char buf[256], got[256];
	uint16_t key;
	uint32_t size;
	long n;

	(void)state;
	boot_order_init(&b);
	assert_int_equal(boot_order_add(&b, 1, "/pci@i0cf8/scsi@2/disk@0,0"), 0);
	assert_int_equal(boot_order_add(&b, 0, "/pci@i0cf8/scsi@3/disk@0,0"), 0);
	n = boot_order_build(&b, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(fw_cfg_init(&f, NULL), 0);
	assert_int_equal(fw_cfg_add_file(&f, BOOT_ORDER_FILE, buf, (uint32_t)n), 0);
	assert_int_equal(find(&f, "bootorder", &key, &size), 0);
	assert_int_equal(size, n);
	sel(&f, key);
	rd(&f, got, size);
	assert_int_equal(got[size - 1], 0);
	assert_string_equal(got, "/pci@i0cf8/scsi@3/disk@0,0\n/pci@i0cf8/scsi@2/disk@0,0");
	fw_cfg_destroy(&f);
}

/* --kernel under --firmware: the items OVMF's QemuKernelLoaderFsDxe reads, the bzImage split
 * at the end of its setup ((setup_sects + 1) * 512 bytes). */
static void test_linux_items(void **state)
{
	enum { SECTS = 3, SETUP = (SECTS + 1) * 512, PAYLOAD = 5000 };
	static uint8_t img[SETUP + PAYLOAD];
	static const uint8_t initrd[] = "initramfs bytes";
	struct fw_cfg f;
	uint8_t b[SETUP + PAYLOAD], w[4];
	char err[200];

	(void)state;
	for (size_t i = 0; i < sizeof(img); i++)
		img[i] = (uint8_t)(i * 13 + 1);
	img[0x1F1] = SECTS;
	put_le16(img + 0x1FE, 0xAA55);
	img[0x200] = 0xEB;
	img[0x201] = 0x6A;
	memcpy(img + 0x202, "HdrS", 4);
	put_le16(img + 0x206, 0x020F);
	img[0x211] = 0x01;		 /* LOADED_HIGH */
	put_le32(img + 0x230, 2 * MiB);	 /* kernel_alignment */
	img[0x234] = 1;			 /* relocatable */
	put_le16(img + 0x236, 0x03);	 /* XLF_KERNEL_64 | CAN_LOAD_ABOVE_4G */
	put_le32(img + 0x238, 2047);	 /* cmdline_size */
	put_le64(img + 0x258, 16 * MiB); /* pref_address */
	put_le32(img + 0x260, 8 * MiB);	 /* init_size */

	assert_int_equal(fw_cfg_init(&f, NULL), 0);
	assert_int_equal(fw_cfg_add_linux(&f, img, sizeof(img), initrd, sizeof(initrd),
					  "console=ttyS0 x=1", err, sizeof(err)),
			 0);
	sel(&f, FW_CFG_SETUP_SIZE);
	rd(&f, w, 4);
	assert_int_equal(get_le32(w), SETUP);
	sel(&f, FW_CFG_SETUP_DATA);
	rd(&f, b, SETUP);
	assert_memory_equal(b, img, SETUP);
	sel(&f, FW_CFG_KERNEL_SIZE);
	rd(&f, w, 4);
	assert_int_equal(get_le32(w), PAYLOAD);
	sel(&f, FW_CFG_KERNEL_DATA);
	rd(&f, b, PAYLOAD);
	assert_memory_equal(b, img + SETUP, PAYLOAD);
	sel(&f, FW_CFG_INITRD_SIZE);
	rd(&f, w, 4);
	assert_int_equal(get_le32(w), sizeof(initrd));
	sel(&f, FW_CFG_INITRD_DATA);
	rd(&f, b, sizeof(initrd));
	assert_memory_equal(b, initrd, sizeof(initrd));
	sel(&f, FW_CFG_CMDLINE_SIZE);
	rd(&f, w, 4);
	assert_int_equal(get_le32(w), 18); /* with its NUL */
	sel(&f, FW_CFG_CMDLINE_DATA);
	rd(&f, b, 18);
	assert_string_equal((char *)b, "console=ttyS0 x=1");
	fw_cfg_destroy(&f);

	/* No initramfs: no initrd items (they read as size 0); an empty command line is "\0". */
	assert_int_equal(fw_cfg_init(&f, NULL), 0);
	assert_int_equal(fw_cfg_add_linux(&f, img, sizeof(img), NULL, 0, "", err, sizeof(err)), 0);
	sel(&f, FW_CFG_INITRD_SIZE);
	memset(w, 0xAA, 4);
	rd(&f, w, 4);
	assert_int_equal(get_le32(w), 0);
	sel(&f, FW_CFG_CMDLINE_SIZE);
	rd(&f, w, 4);
	assert_int_equal(get_le32(w), 1);
	fw_cfg_destroy(&f);

	/* Not a bzImage: refused with the parser's reason. */
	assert_int_equal(fw_cfg_init(&f, NULL), 0);
	memcpy(b, img, sizeof(img));
	memcpy(b + 0x202, "HdrX", 4);
	err[0] = 0;
	assert_true(fw_cfg_add_linux(&f, b, sizeof(img), NULL, 0, "", err, sizeof(err)) < 0);
	assert_true(err[0] != 0);
	fw_cfg_destroy(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fw_cfg_ports),    cmocka_unit_test(test_fw_cfg_dma),
	    cmocka_unit_test(test_acpi_loader),	    cmocka_unit_test(test_pflash),
	    cmocka_unit_test(test_firmware_check),  cmocka_unit_test(test_q35_regs),
	    cmocka_unit_test(test_smbios),	    cmocka_unit_test(test_firmware_open),
	    cmocka_unit_test(test_smbios_uuid),	    cmocka_unit_test(test_boot_paths),
	    cmocka_unit_test(test_boot_order_file), cmocka_unit_test(test_boot_order_fw_cfg),
	    cmocka_unit_test(test_linux_items),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
