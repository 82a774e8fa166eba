#include "arch/x86/boot_params.h"

#include <string.h>

#include "arch/x86/layout.h"
#include "common/bytes.h"

static unsigned e820_add(struct e820_entry *out, unsigned n, unsigned max, uint64_t addr,
			 uint64_t size, uint32_t type)
{
	if (n < max && size)
		out[n++] = (struct e820_entry){addr, size, type};
	return n;
}

unsigned e820_build(const struct guest_mem *gm, struct e820_entry *out, unsigned max)
{
	const struct gm_region *low = &gm->regions[0];
	unsigned n = 0;

	n = e820_add(out, n, max, 0, X86_EBDA_START, E820_RAM);
	n = e820_add(out, n, max, X86_EBDA_START, 0xA0000 - X86_EBDA_START, E820_RESERVED);
	n = e820_add(out, n, max, X86_BIOS_START, X86_HIMEM_START - X86_BIOS_START, E820_RESERVED);
	if (low->size > X86_HIMEM_START)
		n = e820_add(out, n, max, X86_HIMEM_START, low->size - X86_HIMEM_START, E820_RAM);
	/* ECAM must be reserved for Linux to trust the MCFG table. */
	n = e820_add(out, n, max, X86_PCI_ECAM_BASE, X86_PCI_ECAM_SIZE, E820_RESERVED);
	for (unsigned i = 1; i < gm->nregions; i++)
		n = e820_add(out, n, max, gm->regions[i].gpa, gm->regions[i].size, E820_RAM);
	return n;
}

void boot_params_build(uint8_t *zp, const uint8_t *img, const struct bzimage_info *bi,
		       uint64_t cmdline_gpa, uint64_t initrd_gpa, uint64_t initrd_size,
		       uint64_t rsdp, const struct e820_entry *e820, unsigned n)
{
	memset(zp, 0, ZP_SIZE);
	/* The setup header is copied as the kernel gave it, then the loader's fields set. */
	memcpy(zp + ZP_HDR, img + ZP_HDR, bi->hdr_end - ZP_HDR);
	zp[ZP_TYPE_OF_LOADER] = 0xFF;			    /* undefined boot loader type */
	zp[ZP_LOADFLAGS] = (uint8_t)(bi->loadflags | 0x80); /* CAN_USE_HEAP */
	zp[ZP_LOADFLAGS] &= (uint8_t)~0x20;		    /* QUIET_FLAG off */
	put_le16(zp + ZP_HEAP_END_PTR, 0xFE00);
	put_le16(zp + ZP_VID_MODE, 0xFFFF); /* "normal" */
	put_le32(zp + ZP_CMD_LINE_PTR, (uint32_t)cmdline_gpa);
	put_le32(zp + ZP_EXT_CMDLINE_PTR, (uint32_t)(cmdline_gpa >> 32));
	put_le32(zp + ZP_RAMDISK_IMAGE, (uint32_t)initrd_gpa);
	put_le32(zp + ZP_EXT_RAMDISK_IMG, (uint32_t)(initrd_gpa >> 32));
	put_le32(zp + ZP_RAMDISK_SIZE, (uint32_t)initrd_size);
	put_le32(zp + ZP_EXT_RAMDISK_SIZE, (uint32_t)(initrd_size >> 32));
	put_le64(zp + ZP_ACPI_RSDP, rsdp);
	if (n > E820_MAX)
		n = E820_MAX;
	zp[ZP_E820_ENTRIES] = (uint8_t)n;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = zp + ZP_E820_TABLE + 20 * i;

		put_le64(e, e820[i].addr);
		put_le64(e + 8, e820[i].size);
		put_le32(e + 16, e820[i].type);
	}
}
