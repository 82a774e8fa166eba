/* The AHCI controller and its ATAPI drive, driven through the registers as a driver would:
 * command list, received-FIS area, command tables and data buffers in a plain buffer of
 * "guest RAM", and a temporary image whose every sector says its own number. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/bytes.h"
#include "devices/ahci.h"
#include "machine/vm.h"

#define MEM_SIZE (4u << 20)
#define CLB	 0x1000ull
#define FB	 0x2000ull
#define CTBA	 0x3000ull
#define DATA	 0x10000ull
#define SECTORS	 40u

/* Registers. */
#define CAP	0x00
#define GHC	0x04
#define IS	0x08
#define PI	0x0C
#define VS	0x10
#define P_CLB	0x100
#define P_CLBU	0x104
#define P_FB	0x108
#define P_IS	0x110
#define P_IE	0x114
#define P_CMD	0x118
#define P_TFD	0x120
#define P_SIG	0x124
#define P_SSTS	0x128
#define P_SCTL	0x12C
#define P_CI	0x138
#define IS_DHRS (1u << 0)
#define IS_PSS	(1u << 1)
#define IS_DPS	(1u << 5)
#define IS_OFS	(1u << 24)
#define IS_HBFS (1u << 29)
#define IS_TFES (1u << 30)

struct prd {
	uint64_t addr;
	uint32_t len;
	bool ioc;
};

struct env {
	struct guest_mem gm;
	uint8_t *mem;
	struct ahci a;
	char path[64];
	int img;
	int level;	      /* INTx line as last set */
	unsigned gsi, raises; /* its GSI, and how often it went up */
	unsigned msis;	      /* MSI messages sent */
	uint64_t msi_addr;
	uint32_t msi_data;
};

static void set_irq(void *opaque, unsigned gsi, int level)
{
	struct env *e = opaque;

	e->gsi = gsi;
	if (level && !e->level)
		e->raises++;
	e->level = level;
}

static void send_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct env *e = opaque;

	e->msis++;
	e->msi_addr = addr;
	e->msi_data = data;
}

static uint32_t r32(struct env *e, unsigned off)
{
	uint8_t d[4];

	ahci_mmio(&e->a, off, d, 4, false);
	return get_le32(d);
}

static void w32(struct env *e, unsigned off, uint32_t v)
{
	uint8_t d[4];

	put_le32(d, v);
	ahci_mmio(&e->a, off, d, 4, true);
}

/* Sector i: its number (big-endian) in the first 4 bytes, then bytes that depend on i too. */
static uint8_t img_byte(unsigned lba, unsigned off)
{
	if (off < 4)
		return (uint8_t)(lba >> (24 - 8 * off));
	return (uint8_t)(lba * 13 + off * 7 + (off >> 8));
}

static int env_setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	uint8_t sector[AHCI_SECTOR];

	assert_non_null(e);
	e->mem = calloc(1, MEM_SIZE);
	assert_non_null(e->mem);
	gm_init_buffer(&e->gm, e->mem, MEM_SIZE);
	snprintf(e->path, sizeof(e->path), "/tmp/phyllome-test-ahci-XXXXXX");
	e->img = mkstemp(e->path);
	assert_true(e->img >= 0);
	for (unsigned i = 0; i < SECTORS; i++) {
		for (unsigned j = 0; j < AHCI_SECTOR; j++)
			sector[j] = img_byte(i, j);
		assert_int_equal(pwrite(e->img, sector, AHCI_SECTOR, (off_t)i * AHCI_SECTOR),
				 AHCI_SECTOR);
	}
	/* A tail shorter than a sector is not part of the disc. */
	assert_int_equal(pwrite(e->img, "tail", 4, (off_t)SECTORS * AHCI_SECTOR), 4);
	assert_int_equal(ahci_init(&e->a, &e->gm, e->img, (uint64_t)SECTORS * AHCI_SECTOR + 4,
				   set_irq, send_msi, e),
			 0);
	e->a.pci.slot = 31;
	*state = e;
	return 0;
}

static int env_teardown(void **state)
{
	struct env *e = *state;

	ahci_destroy(&e->a);
	close(e->img);
	unlink(e->path);
	free(e->mem);
	free(e);
	return 0;
}

/* What a driver does before its first command: HBA reset, interrupts on, the port's memory,
 * FIS receive and the command engine started. */
static void start_port(struct env *e)
{
	w32(e, GHC, 1);
	assert_int_equal(r32(e, GHC) & 1, 0);
	w32(e, GHC, 2);
	w32(e, P_CLB, (uint32_t)CLB);
	w32(e, P_CLBU, 0);
	w32(e, P_FB, (uint32_t)FB);
	w32(e, P_IS, 0xFFFFFFFF);
	w32(e, P_IE, 0xFFFFFFFF);
	w32(e, P_CMD, r32(e, P_CMD) | 0x10);
	w32(e, P_CMD, r32(e, P_CMD) | 0x01 | (1u << 24));
	assert_int_equal(r32(e, P_CMD) & 0xC011, 0xC011); /* CR, FR, FRE, ST */
}

/* Lays out slot 0 (command FIS, optional packet, PRDT) and issues it; returns PRDBC. */
static uint32_t issue(struct env *e, uint8_t cmd, uint8_t features, const uint8_t *cdb,
		      const struct prd *prd, unsigned nprd)
{
	uint8_t *hdr = e->mem + CLB, *ct = e->mem + CTBA;

	memset(hdr, 0, 32);
	memset(ct, 0, 0x80 + 16 * nprd);
	put_le32(hdr, 5 | (cdb ? 1u << 5 : 0) | (uint32_t)nprd << 16);
	put_le32(hdr + 4, 0xDEAD);
	put_le64(hdr + 8, CTBA);
	ct[0] = 0x27;
	ct[1] = 0x80;
	ct[2] = cmd;
	ct[3] = features;
	if (cdb)
		memcpy(ct + 0x40, cdb, 12);
	for (unsigned i = 0; i < nprd; i++) {
		put_le64(ct + 0x80 + 16 * i, prd[i].addr);
		put_le32(ct + 0x80 + 16 * i + 12, (prd[i].len - 1) | (prd[i].ioc ? 1u << 31 : 0));
	}
	memset(e->mem + FB, 0, 256);
	w32(e, P_CI, 1);
	assert_int_equal(r32(e, P_CI), 0); /* done at once, whatever happened */
	return get_le32(hdr + 4);
}

/* A PACKET command into one buffer at DATA of len bytes. */
static uint32_t packet(struct env *e, const uint8_t *cdb, uint32_t len)
{
	struct prd p = {DATA, len, true};

	memset(e->mem + DATA, 0xCC, len);
	return issue(e, 0xA0, 0x01, cdb, &p, 1);
}

static bool tfd_err(struct env *e)
{
	return r32(e, P_TFD) & 1;
}

static void clear_is(struct env *e)
{
	w32(e, P_IS, r32(e, P_IS));
	w32(e, IS, r32(e, IS));
}

/* The sense the drive keeps after a CHECK CONDITION (and then forgets). */
static void expect_sense(struct env *e, uint8_t key, uint8_t asc)
{
	uint8_t cdb[12] = {0x03, 0, 0, 0, 18};

	assert_int_equal(packet(e, cdb, 18), 18);
	assert_false(tfd_err(e));
	assert_int_equal(e->mem[DATA] & 0x7F, 0x70);
	assert_int_equal(e->mem[DATA + 2] & 0xF, key);
	assert_int_equal(e->mem[DATA + 12], asc);
}

static void test_registers_and_resets(void **state)
{
	struct env *e = *state;

	assert_int_equal(r32(e, CAP) & 0x1F, 0); /* one port */
	assert_true(r32(e, CAP) & (1u << 31));	 /* 64-bit addresses */
	assert_true(r32(e, GHC) & (1u << 31));	 /* AHCI enabled */
	assert_int_equal(r32(e, PI), 1);
	assert_int_equal(r32(e, VS), 0x00010301);
	assert_int_equal(r32(e, P_SIG), 0xEB140101);
	assert_int_equal(r32(e, P_SSTS), 0x113);
	assert_int_equal(r32(e, P_TFD) & 0x89, 0);  /* not BSY, DRQ, ERR */
	assert_int_equal(e->a.pci.cfg[0x0A], 0x06); /* SATA */
	assert_int_equal(e->a.pci.cfg[0x09], 0x01); /* AHCI 1.0 */
	assert_int_equal(e->a.pci.bar[5].size, AHCI_BAR_SIZE);

	start_port(e);
	/* COMRESET: the link goes down while DET is 1, then the drive comes back and says what
	 * it is, in PxSIG and in a D2H FIS (FIS receive is on). */
	w32(e, P_CMD, r32(e, P_CMD) & ~1u);
	w32(e, P_SCTL, 1);
	assert_int_equal(r32(e, P_SSTS) & 0xF, 0);
	assert_true(r32(e, P_TFD) & 0x80);
	memset(e->mem + FB, 0, 256);
	w32(e, P_SCTL, 0);
	assert_int_equal(r32(e, P_SSTS), 0x113);
	assert_int_equal(r32(e, P_SIG), 0xEB140101);
	assert_int_equal(r32(e, P_TFD) & 0x89, 0);
	assert_int_equal(e->mem[FB + 0x40], 0x34);
	assert_int_equal(e->mem[FB + 0x45], 0x14);
	assert_int_equal(e->mem[FB + 0x46], 0xEB);

	/* PxCI while the engine is stopped: nothing is issued. */
	w32(e, P_CI, 1);
	assert_int_equal(r32(e, P_CI), 0);

	/* HBA reset: the port's registers go back to their defaults. */
	w32(e, GHC, 1);
	assert_int_equal(r32(e, P_CMD) & 0xC011, 0);
	assert_int_equal(r32(e, P_IE), 0);
	assert_int_equal(r32(e, GHC), 1u << 31);
	assert_int_equal(r32(e, P_SIG), 0xEB140101);
	/* Accesses past the registers or of odd sizes do not fault. */
	{
		uint8_t b[8];

		ahci_mmio(&e->a, AHCI_BAR_SIZE - 2, b, 4, false);
		ahci_mmio(&e->a, 0x101, b, 2, true);
		ahci_mmio(&e->a, P_SIG + 2, b, 2, false);
		assert_int_equal(get_le16(b), 0xEB14);
	}
}

static void test_identify(void **state)
{
	struct env *e = *state;
	struct prd p = {DATA, 512, true};
	uint8_t sum = 0;

	start_port(e);
	/* IDENTIFY DEVICE: aborted, and the registers carry the packet device's signature. */
	assert_int_equal(issue(e, 0xEC, 0, NULL, &p, 1), 0);
	assert_true(tfd_err(e));
	assert_int_equal((r32(e, P_TFD) >> 8) & 0x04, 0x04);
	assert_true(r32(e, P_IS) & IS_TFES);
	assert_int_equal(e->mem[FB + 0x45], 0x14);
	assert_int_equal(e->mem[FB + 0x46], 0xEB);
	clear_is(e);
	assert_int_equal(e->level, 0);

	/* IDENTIFY PACKET DEVICE: 512 bytes by PIO, a PIO Setup FIS, and INTx. */
	e->raises = 0;
	assert_int_equal(issue(e, 0xA1, 0, NULL, &p, 1), 512);
	assert_false(tfd_err(e));
	assert_int_equal(get_le16(e->mem + DATA), 0x85C0);
	assert_int_equal(e->mem[DATA + 54], 'h'); /* model, byte-swapped: "hPlyl..." */
	assert_int_equal(e->mem[DATA + 55], 'P');
	for (unsigned i = 0; i < 512; i++)
		sum = (uint8_t)(sum + e->mem[DATA + i]);
	assert_int_equal(sum, 0);
	assert_int_equal(e->mem[DATA + 510], 0xA5);
	assert_int_equal(e->mem[FB + 0x20], 0x5F);
	assert_int_equal(e->mem[FB + 0x40], 0x34);
	assert_int_equal(r32(e, P_IS) & (IS_PSS | IS_DHRS), IS_PSS | IS_DHRS);
	assert_int_equal(r32(e, IS), 1);
	assert_int_equal(e->level, 1);
	assert_int_equal(e->raises, 1);
	assert_int_equal(e->gsi, 16 + 31 % 4);
	clear_is(e);
	assert_int_equal(e->level, 0);

	/* Interrupts off in GHC: the line stays low. */
	w32(e, GHC, 0);
	assert_int_equal(issue(e, 0xA1, 0, NULL, &p, 1), 512);
	assert_int_equal(e->level, 0);
	assert_int_equal(r32(e, IS), 1);
	w32(e, GHC, 2);
	assert_int_equal(e->level, 1);

	/* SET FEATURES and unknown ATA commands. */
	clear_is(e);
	issue(e, 0xEF, 0x03, NULL, NULL, 0);
	assert_false(tfd_err(e));
	issue(e, 0xC8, 0, NULL, NULL, 0); /* READ DMA: not a packet device's */
	assert_true(tfd_err(e));
}

static void test_inquiry_capacity(void **state)
{
	struct env *e = *state;
	uint8_t inq[12] = {0x12, 0, 0, 0, 96};
	uint8_t vpd[12] = {0x12, 1, 0x80, 0, 96};
	uint8_t cap[12] = {0x25};
	uint8_t tur[12] = {0};

	start_port(e);
	assert_int_equal(packet(e, tur, 16), 0);
	assert_false(tfd_err(e));
	/* A PRDT longer than the data is fine: PRDBC says what went. */
	assert_int_equal(packet(e, inq, 96), 36);
	assert_false(tfd_err(e));
	assert_int_equal(e->mem[DATA], 0x05);
	assert_int_equal(e->mem[DATA + 1], 0x80);
	assert_memory_equal(e->mem + DATA + 8, "PHYLLOME", 8);
	assert_int_equal(e->mem[DATA + 36], 0xCC);
	/* The allocation length limits the data. */
	inq[4] = 5;
	assert_int_equal(packet(e, inq, 96), 5);
	assert_int_equal(packet(e, vpd, 96), 16);
	assert_memory_equal(e->mem + DATA + 4, "PHYLLOME-CD0", 12);
	assert_int_equal(packet(e, cap, 8), 8);
	assert_int_equal(get_le32(e->mem + DATA), __builtin_bswap32(SECTORS - 1));
	assert_int_equal(get_le32(e->mem + DATA + 4), __builtin_bswap32(2048));
	vpd[2] = 0x55;
	assert_int_equal(packet(e, vpd, 96), 0);
	assert_true(tfd_err(e));
	assert_int_equal(r32(e, P_TFD) >> 12, 5); /* the sense key in the error register */
	expect_sense(e, 5, 0x24);
	expect_sense(e, 0, 0);
}

static void check_sectors(struct env *e, const struct prd *prd, unsigned nprd, unsigned lba)
{
	unsigned off = 0;

	for (unsigned i = 0; i < nprd; i++)
		for (unsigned j = 0; j < prd[i].len; j++, off++)
			assert_int_equal(e->mem[prd[i].addr + j],
					 img_byte(lba + off / AHCI_SECTOR, off % AHCI_SECTOR));
}

static void test_read(void **state)
{
	struct env *e = *state;
	/* Three sectors over four entries of odd sizes, out of order in memory. */
	const struct prd prd[4] = {{0x40000, 1000, false},
				   {0x20000, 3000, false},
				   {0x30000, 10, false},
				   {0x50000, 3 * 2048 - 4010, true}};
	uint8_t rd10[12] = {0x28, 0, 0, 0, 0, 7, 0, 0, 3};
	uint8_t rd12[12] = {0xA8, 0, 0, 0, 0, SECTORS - 2, 0, 0, 0, 2};
	struct prd one = {DATA, 2 * 2048, false};

	start_port(e);
	for (unsigned i = 0; i < 4; i++)
		memset(e->mem + prd[i].addr, 0xCC, prd[i].len + 16);
	assert_int_equal(issue(e, 0xA0, 0x01, rd10, prd, 4), 3 * 2048);
	assert_false(tfd_err(e));
	check_sectors(e, prd, 4, 7);
	assert_int_equal(e->mem[0x40000 + 1000], 0xCC); /* nothing past an entry */
	assert_int_equal(e->mem[0x20000 + 3000], 0xCC);
	assert_true(r32(e, P_IS) & IS_DPS); /* the last entry asked for it */
	assert_true(r32(e, P_IS) & IS_DHRS);
	/* By PIO (features without DMA), there is a PIO Setup FIS too. */
	clear_is(e);
	assert_int_equal(issue(e, 0xA0, 0x00, rd12, &one, 1), 2 * 2048);
	check_sectors(e, &one, 1, SECTORS - 2);
	assert_int_equal(e->mem[FB + 0x20], 0x5F);
	assert_true(r32(e, P_IS) & IS_PSS);
	/* Zero sectors: nothing moves, all is well. */
	rd10[8] = 0;
	assert_int_equal(issue(e, 0xA0, 0x01, rd10, &one, 1), 0);
	assert_false(tfd_err(e));
}

static void test_read_out_of_range(void **state)
{
	struct env *e = *state;
	uint8_t rd[12] = {0x28, 0, 0, 0, 0, SECTORS - 1, 0, 0, 2};
	uint8_t far[12] = {0xA8, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1};
	uint8_t bad[12] = {0x2A}; /* WRITE (10) */

	start_port(e);
	clear_is(e);
	assert_int_equal(packet(e, rd, 4096), 0);
	assert_true(tfd_err(e));
	assert_true(r32(e, P_IS) & IS_TFES);
	assert_int_equal(e->level, 1);
	expect_sense(e, 5, 0x21);
	assert_int_equal(packet(e, far, 2048), 0);
	expect_sense(e, 5, 0x21);
	assert_int_equal(packet(e, bad, 2048), 0);
	expect_sense(e, 5, 0x20);
	/* The sector right at the end is readable. */
	rd[8] = 1;
	assert_int_equal(packet(e, rd, 2048), 2048);
	assert_false(tfd_err(e));
}

/* One READ reads at most SCSI_CD_MAX_READ sectors (128 MiB): the command runs on the vCPU
 * thread that wrote PxCI, and a pause or a stop waits for it. 65,535 sectors of a sparse 130 MiB
 * image through 128 PRDs that all point at the same 1 MiB are read; 65,536 are refused before
 * any byte moves, as is a READ (12) of the whole 4 GiB disc. */
static void test_read_bounded(void **state)
{
	struct env *e = *state;
	uint8_t most[12] = {0xA8, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
	uint8_t more[12] = {0xA8, 0, 0, 0, 0, 0, 0, 1, 0, 0};
	uint8_t disc[12] = {0xA8, 0, 0, 0, 0, 0, 0, 0x20, 0, 0};
	char path[] = "/tmp/phyllome-test-ahci-big-XXXXXX";
	struct prd prd[128];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, 130ll << 20), 0);
	for (unsigned i = 0; i < 128; i++)
		prd[i] = (struct prd){DATA, 1u << 20, i == 127};
	ahci_destroy(&e->a);
	assert_int_equal(ahci_init(&e->a, &e->gm, fd, 130ull << 20, set_irq, send_msi, e), 0);
	start_port(e);
	clear_is(e);
	assert_int_equal(issue(e, 0xA0, 0x01, most, prd, 128), SCSI_CD_MAX_READ * AHCI_SECTOR);
	assert_false(tfd_err(e));
	memset(e->mem + DATA, 0xCC, 4096);
	assert_int_equal(issue(e, 0xA0, 0x01, more, prd, 128), 0);
	assert_true(tfd_err(e));
	assert_int_equal(e->mem[DATA], 0xCC); /* nothing was read */
	expect_sense(e, 5, 0x24);
	ahci_destroy(&e->a);
	assert_int_equal(ahci_init(&e->a, &e->gm, fd, 4ull << 30, set_irq, send_msi, e), 0);
	start_port(e);
	assert_int_equal(issue(e, 0xA0, 0x01, disc, prd, 128), 0);
	assert_true(tfd_err(e));
	expect_sense(e, 5, 0x24);
	ahci_destroy(&e->a);
	close(fd);
	assert_int_equal(ahci_init(&e->a, &e->gm, e->img, (uint64_t)SECTORS * AHCI_SECTOR + 4,
				   set_irq, send_msi, e),
			 0);
}

static void test_hostile(void **state)
{
	struct env *e = *state;
	uint8_t rd[12] = {0x28, 0, 0, 0, 0, 1, 0, 0, 1};
	uint8_t *hdr = e->mem + CLB;
	struct prd outside = {MEM_SIZE + 0x1000, 2048, false};
	struct prd straddle = {MEM_SIZE - 1024, 2048, false};
	struct prd huge = {1ull << 63, 0x400000, false};
	struct prd small = {DATA, 1024, false};
	struct prd big = {DATA, 0x400000 - DATA, false};

	start_port(e);
	clear_is(e);
	/* Data buffers outside RAM, or running off its end: the command fails. */
	issue(e, 0xA0, 1, rd, &outside, 1);
	assert_true(tfd_err(e));
	assert_true(r32(e, P_IS) & IS_HBFS);
	clear_is(e);
	issue(e, 0xA0, 1, rd, &straddle, 1);
	assert_true(tfd_err(e));
	clear_is(e);
	issue(e, 0xA0, 1, rd, &huge, 1);
	assert_true(tfd_err(e));
	clear_is(e);
	/* A PRDT shorter than the data, or none at all: overflow, the command fails. */
	issue(e, 0xA0, 1, rd, &small, 1);
	assert_true(tfd_err(e));
	assert_true(r32(e, P_IS) & IS_OFS);
	clear_is(e);
	issue(e, 0xA0, 1, rd, NULL, 0);
	assert_true(tfd_err(e));
	assert_true(r32(e, P_IS) & IS_OFS);
	clear_is(e);
	/* An entry far larger than the transfer: only the transfer's bytes go. */
	memset(e->mem + DATA + 2048, 0xCC, 16);
	assert_int_equal(issue(e, 0xA0, 1, rd, &big, 1), 2048);
	assert_false(tfd_err(e));
	assert_int_equal(e->mem[DATA + 2048], 0xCC);
	/* The PRDT itself outside RAM (a command table at the very end, 65535 entries). */
	memcpy(e->mem + MEM_SIZE - 0x80, e->mem + CTBA, 0x80);
	put_le32(hdr, 5 | 1u << 5 | 0xFFFFu << 16);
	put_le64(hdr + 8, MEM_SIZE - 0x80);
	w32(e, P_CI, 1);
	assert_int_equal(r32(e, P_CI), 0);
	assert_true(tfd_err(e));
	clear_is(e);
	/* The command table outside RAM. */
	put_le64(hdr + 8, 0xFFFFFFFFFFFFFF80ull);
	w32(e, P_CI, 1);
	assert_int_equal(r32(e, P_CI), 0);
	assert_true(tfd_err(e));
	assert_true(r32(e, P_IS) & IS_HBFS);
	clear_is(e);
	/* The command list outside RAM, all 32 slots issued at once. */
	w32(e, P_CLB, 0xFFFFFC00u);
	w32(e, P_CLBU, 0xFFFFFFFFu);
	w32(e, P_CI, 0xFFFFFFFFu);
	assert_int_equal(r32(e, P_CI), 0);
	assert_true(r32(e, P_IS) & IS_HBFS);
	/* The received-FIS area outside RAM: commands still complete. */
	w32(e, P_CLB, (uint32_t)CLB);
	w32(e, P_CLBU, 0);
	w32(e, P_CMD, r32(e, P_CMD) & ~0x11u);
	w32(e, P_FB, 0xFFFFFF00u);
	w32(e, 0x10C, 0xFFFFFFFFu);
	w32(e, P_CMD, r32(e, P_CMD) | 0x11u);
	clear_is(e);
	assert_int_equal(issue(e, 0xA0, 1, rd, &small, 0), 0);
	/* And the drive still works afterwards. */
	w32(e, P_FB, (uint32_t)FB);
	w32(e, 0x10C, 0);
	assert_int_equal(packet(e, rd, 2048), 2048);
	assert_false(tfd_err(e));
	check_sectors(e, &(struct prd){DATA, 2048, false}, 1, 1);
}

static void test_mmc_pages(void **state)
{
	struct env *e = *state;
	uint8_t ms[12] = {0x5A, 0, 0x2A, 0, 0, 0, 0, 0, 64};
	uint8_t ms_saved[12] = {0x5A, 0, 0xEA, 0, 0, 0, 0, 0, 64};
	uint8_t toc[12] = {0x43, 0, 0, 0, 0, 0, 0, 0, 64};
	uint8_t toc_msf[12] = {0x43, 2, 0, 0, 0, 0, 0, 0, 64};
	uint8_t sess[12] = {0x43, 0, 1, 0, 0, 0, 0, 0, 64};
	uint8_t full[12] = {0x43, 2, 2, 0, 0, 0, 0, 0, 64};
	uint8_t conf[12] = {0x46, 0, 0, 0, 0, 0, 0, 0, 255};
	uint8_t conf1[12] = {0x46, 2, 0, 0x1E, 0, 0, 0, 0, 255};
	uint8_t gesn[12] = {0x4A, 1, 0, 0, 0x10, 0, 0, 0, 8};
	uint8_t gesn_async[12] = {0x4A, 0, 0, 0, 0x10, 0, 0, 0, 8};
	uint8_t di[12] = {0x51, 0, 0, 0, 0, 0, 0, 0, 34};
	uint8_t mech[12] = {0xBD, 0, 0, 0, 0, 0, 0, 0, 0, 8};
	uint8_t lock[12] = {0x1E, 0, 0, 0, 1};
	uint8_t *d = e->mem + DATA;

	start_port(e);
	assert_int_equal(packet(e, lock, 16), 0);
	assert_int_equal(packet(e, ms, 64), 30);
	assert_int_equal(d[1], 28); /* mode data length */
	assert_int_equal(d[8], 0x2A);
	assert_int_equal(d[9], 0x14);
	assert_int_equal(d[14] & 0x03, 0x03); /* lock supported, and locked */
	assert_int_equal(packet(e, ms_saved, 64), 0);
	expect_sense(e, 5, 0x39);
	/* TOC: track 1 at 0, lead-out at the end. */
	assert_int_equal(packet(e, toc, 64), 20);
	assert_int_equal(d[1], 18);
	assert_int_equal(d[6], 1);
	assert_int_equal(d[14], 0xAA);
	assert_int_equal(d[19], SECTORS);
	assert_int_equal(packet(e, toc_msf, 64), 20);
	assert_int_equal(d[10], 2); /* 00:02:00 */
	assert_int_equal(d[17], 0);
	assert_int_equal(d[18], 2);
	assert_int_equal(d[19], SECTORS);
	assert_int_equal(packet(e, sess, 64), 12);
	assert_int_equal(d[6], 1);
	assert_int_equal(packet(e, full, 64), 4 + 4 * 11);
	assert_int_equal(d[4 + 2 * 11 + 3], 0xA2);
	/* Configuration: a CD-ROM (the image is small), the CD read feature current. */
	assert_true(packet(e, conf, 255) > 8);
	assert_int_equal(d[6] << 8 | d[7], 0x0008);
	assert_int_equal(packet(e, conf1, 255), 16);
	assert_int_equal(d[8] << 8 | d[9], 0x001E);
	assert_int_equal(d[10] & 1, 1);
	/* Media event: present, no change; asynchronous notification is refused. */
	assert_int_equal(packet(e, gesn, 8), 8);
	assert_int_equal(d[2], 0x04);
	assert_int_equal(d[5], 0x02);
	assert_int_equal(packet(e, gesn_async, 8), 0);
	expect_sense(e, 5, 0x24);
	assert_int_equal(packet(e, di, 34), 34);
	assert_int_equal(d[2], 0x0E);
	assert_int_equal(packet(e, mech, 8), 8);
	assert_false(tfd_err(e));
}

static void test_msi_and_srst(void **state)
{
	struct env *e = *state;
	struct prd p = {DATA, 512, false};
	unsigned cap = e->a.msi_cap;
	uint8_t *hdr = e->mem + CLB, *ct = e->mem + CTBA;

	assert_true(cap >= 0x40);
	assert_int_equal(e->a.pci.cfg[cap], 0x05);
	start_port(e);
	put_le32(e->a.pci.cfg + cap + 4, 0xFEE00000u);
	put_le32(e->a.pci.cfg + cap + 8, 0);
	put_le16(e->a.pci.cfg + cap + 12, 0x4041);
	e->a.pci.cfg[cap + 2] |= 1;
	e->a.pci.ops->cfg_write(&e->a.pci, cap + 2, 2);
	assert_int_equal(issue(e, 0xA1, 0, NULL, &p, 1), 512);
	assert_int_equal(e->msis, 1);
	assert_int_equal(e->msi_addr, 0xFEE00000u);
	assert_int_equal(e->msi_data, 0x4041);
	assert_int_equal(e->level, 0);
	clear_is(e);
	assert_int_equal(e->msis, 1);

	/* Software reset: a control FIS setting SRST, then one clearing it. */
	for (int srst = 1; srst >= 0; srst--) {
		memset(hdr, 0, 32);
		put_le32(hdr, 5);
		put_le64(hdr + 8, CTBA);
		memset(ct, 0, 64);
		ct[0] = 0x27;
		ct[15] = srst ? 0x04 : 0;
		memset(e->mem + FB, 0, 256);
		w32(e, P_CI, 1);
		assert_int_equal(r32(e, P_CI), 0);
	}
	assert_int_equal(r32(e, P_TFD) & 0x89, 0);
	assert_int_equal(e->mem[FB + 0x40], 0x34);
	assert_int_equal(e->mem[FB + 0x46], 0xEB);
	/* DEVICE RESET does the same. */
	issue(e, 0x08, 0, NULL, NULL, 0);
	assert_int_equal(r32(e, P_SIG), 0xEB140101);
	assert_int_equal(r32(e, P_TFD) & 0x89, 0);
}

/* An image larger than a CD is a DVD: the DVD-ROM profile and READ DVD STRUCTURE. */
static void test_dvd(void **state)
{
	struct env *e = *state;
	uint8_t conf[12] = {0x46, 0, 0, 0, 0, 0, 0, 0, 255};
	uint8_t phys[12] = {0xAD, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x04};
	uint8_t copy[12] = {0xAD, 0, 0, 0, 0, 0, 0, 1, 0, 8};
	uint8_t *d = e->mem + DATA;

	start_port(e);
	assert_int_equal(packet(e, phys, 2052), 0);
	expect_sense(e, 5, 0x30); /* a CD has no DVD structures */
	ahci_destroy(&e->a);
	assert_int_equal(
	    ahci_init(&e->a, &e->gm, e->img, 400000ull * AHCI_SECTOR, set_irq, send_msi, e), 0);
	start_port(e);
	assert_int_equal(packet(e, conf, 255) > 8, 1);
	assert_int_equal(d[6] << 8 | d[7], 0x0010);
	assert_int_equal(packet(e, phys, 2052), 2052);
	assert_int_equal(d[0] << 8 | d[1], 2050);
	assert_int_equal(get_le32(d + 12), __builtin_bswap32(0x30000 + 400000 - 1));
	assert_int_equal(packet(e, copy, 8), 8);
	assert_int_equal(d[4], 0);
	/* Past the end of the file but inside the disc's size: a medium error. */
	{
		uint8_t rd[12] = {0x28, 0, 0, 0, 0x01, 0, 0, 0, 1};

		assert_int_equal(packet(e, rd, 2048), 0);
		assert_true(tfd_err(e));
		expect_sense(e, 3, 0x11);
	}
}

static void test_small_image(void **state)
{
	struct env *e = *state;
	struct ahci a;

	assert_int_equal(ahci_init(&a, &e->gm, e->img, 2047, NULL, NULL, NULL), -EINVAL);
}

/* --cdrom is checked before any KVM work: a missing file, a directory and an image shorter
 * than a sector each get their one-line error. */
static void test_check_files(void **state)
{
	struct env *e = *state;
	struct vm_config cfg;
	char err[256];

	memset(&cfg, 0, sizeof(cfg));
	cfg.kernel = "/nonexistent/bzImage";
	snprintf(cfg.cdrom, sizeof(cfg.cdrom), "/nonexistent/x.iso");
	assert_true(vm_check_files(&cfg, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "cannot open --cdrom"));
	snprintf(cfg.cdrom, sizeof(cfg.cdrom), "/tmp");
	assert_true(vm_check_files(&cfg, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "not a regular file or block device"));
	assert_int_equal(ftruncate(e->img, 2047), 0);
	snprintf(cfg.cdrom, sizeof(cfg.cdrom), "%s", e->path);
	assert_true(vm_check_files(&cfg, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "smaller than one 2048-byte sector"));
	/* A good image: the next complaint is the kernel's. */
	assert_int_equal(ftruncate(e->img, 2048), 0);
	assert_true(vm_check_files(&cfg, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "kernel"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_registers_and_resets, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_identify, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_inquiry_capacity, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_read, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_read_bounded, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_read_out_of_range, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_hostile, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_mmc_pages, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_msi_and_srst, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_dvd, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_small_image, env_setup, env_teardown),
	    cmocka_unit_test_setup_teardown(test_check_files, env_setup, env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
