/* libFuzzer: a guest driving the AHCI controller and its ATAPI drive. Bytes become register
 * accesses (any offset and width, HBA and port resets, engine start/stop, PxCI), bytes the guest
 * writes into its RAM (command lists, tables, PRDTs as they please), well-formed commands built
 * from a few bytes (any slot, ATA command, SCSI opcode, LBA, length, PRD address and size, also
 * outside RAM) and MSI on or off in config space. Checks: guest memory outside RAM is never
 * touched (guard regions around the RAM buffer stay as they were), every issued command is done
 * when PxCI's write returns, and the INTx line is never up without an enabled PxIS bit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/bytes.h"
#include "devices/ahci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM	(64u * 1024)
#define GUARD	4096u
#define SECTORS 8u

static int level;

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static void set_irq(void *opaque, unsigned gsi, int l)
{
	(void)opaque;
	check(gsi >= 16 && gsi < 20);
	level = l;
}

static void send_msi(void *opaque, uint64_t addr, uint32_t d)
{
	(void)opaque;
	(void)addr;
	(void)d;
}

static int image(void)
{
	static int fd = -1;

	if (fd < 0) {
		uint8_t s[AHCI_SECTOR];

		fd = memfd_create("fuzz-ahci-iso", MFD_CLOEXEC);
		check(fd >= 0);
		for (unsigned i = 0; i < SECTORS; i++) {
			memset(s, (int)(0x40 + i), sizeof(s));
			check(pwrite(fd, s, sizeof(s), (off_t)i * AHCI_SECTOR) == AHCI_SECTOR);
		}
	}
	return fd;
}

static uint32_t rd(struct ahci *a, unsigned off)
{
	uint8_t v[4];

	ahci_mmio(a, off, v, 4, false);
	return get_le32(v);
}

static void wr(struct ahci *a, unsigned off, uint32_t val)
{
	uint8_t v[4];

	put_le32(v, val);
	ahci_mmio(a, off, v, 4, true);
}

/* A command in slot o[1] & 31 at the port's command list: header, H2D FIS, packet, one PRD. */
static void command(struct ahci *a, uint8_t *ram, const uint8_t *o)
{
	uint64_t clb = (uint64_t)rd(a, 0x100) | (uint64_t)rd(a, 0x104) << 32;
	unsigned slot = o[1] & 31;
	uint32_t ctba = 0x4000u + 0x100u * (o[1] & 7);
	uint64_t prd = (o[8] & 0x80) ? (uint64_t)get_le16(o + 8) << 8 : get_le16(o + 8) % RAM;
	uint8_t *h, *t;

	if (clb >= RAM || clb + 32ull * slot + 32 > RAM)
		return;
	h = ram + clb + 32 * slot;
	t = ram + ctba;
	memset(h, 0, 32);
	put_le32(h, 5 | 1u << 5 | (uint32_t)(o[10] & 3) << 16);
	put_le32(h + 8, ctba);
	memset(t, 0, 0xA0);
	t[0] = 0x27;
	t[1] = 0x80;
	t[2] = o[2];
	t[3] = o[11] & 1;
	t[0x40] = o[3];
	t[0x41] = o[4];
	t[0x42] = o[5];
	t[0x44] = o[7];
	t[0x45] = o[6];
	t[0x47] = o[7] & 0x3;
	t[0x48] = o[7];
	t[0x49] = o[7] >> 2;
	put_le64(t + 0x80, prd);
	put_le32(t + 0x8C, (uint32_t)get_le16(o + 10) << 6 | (uint32_t)(o[11] >> 7) << 31);
	put_le64(t + 0x90, prd + 4096);
	put_le32(t + 0x9C, 0x3FFFFFu);
	wr(a, 0x138, 1u << slot);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t widths[4] = {1, 2, 4, 8};
	uint8_t *buf = malloc(RAM + 2 * GUARD), *ram = buf + GUARD;
	struct guest_mem gm;
	struct ahci a;

	memset(buf, 0xA5, RAM + 2 * GUARD);
	memset(ram, 0, RAM);
	gm_init_buffer(&gm, ram, RAM);
	check(ahci_init(&a, &gm, image(), (uint64_t)SECTORS * AHCI_SECTOR, set_irq, send_msi,
			NULL) == 0);
	a.pci.slot = 31;
	level = 0;
	/* Each op: 12 bytes: kind, then its operands. */
	for (size_t pos = 0; pos + 12 <= size; pos += 12) {
		const uint8_t *o = data + pos;
		unsigned off = get_le16(o + 2) % AHCI_BAR_SIZE;
		uint8_t v[8];

		memcpy(v, o + 4, 8);
		switch (o[0] & 7) {
		case 0: /* a register write, any width */
		case 1: {
			uint32_t w = widths[o[1] & 3];

			ahci_mmio(&a, off, v, w, true);
			if (off == 0x138 && w == 4)
				check(rd(&a, 0x138) == 0);
			break;
		}
		case 2: /* a register read, any width */
			ahci_mmio(&a, off, v, widths[o[1] & 3], false);
			break;
		case 3: /* the guest writes 8 bytes of its RAM */
			memcpy(ram + get_le16(o + 2) % (RAM - 8), o + 4, 8);
			break;
		case 4: /* what a driver does to start the port, at guest-chosen addresses */
			wr(&a, 0x04, 2);
			wr(&a, 0x100, get_le16(o + 2) & 0xFC00u);
			wr(&a, 0x108, get_le16(o + 4) & 0xFF00u);
			wr(&a, 0x114, get_le32(o + 6));
			wr(&a, 0x118, 0x11);
			break;
		case 5: /* a command built from the op's bytes */
		case 6:
			command(&a, ram, o);
			check(rd(&a, 0x138) == 0);
			break;
		default: /* MSI on or off, INTx disabled or not */
			a.pci.cfg[a.msi_cap + 2] = o[1] & 1;
			put_le16(a.pci.cfg + 0x04, (uint16_t)((o[2] & 1) << 10 | 2));
			a.pci.ops->cfg_write(&a.pci, a.msi_cap + 2, 2);
			break;
		}
		check(!level || (rd(&a, 0x08) & 1));
	}
	for (unsigned i = 0; i < GUARD; i++)
		check(buf[i] == 0xA5 && buf[GUARD + RAM + i] == 0xA5);
	ahci_destroy(&a);
	free(buf);
	return 0;
}
