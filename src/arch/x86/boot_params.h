/* The e820 memory map and the boot_params structure ("zero page") handed to Linux. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/bzimage.h"
#include "kvm/guest_mem.h"

#define E820_RAM      1
#define E820_RESERVED 2
#define E820_MAX      128

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

/* The guest's memory map: RAM below 640 KiB, the BIOS area reserved, RAM from 1 MiB to
 * the 32-bit hole, then RAM above 4 GiB. Returns the number of entries. */
unsigned e820_build(const struct guest_mem *gm, struct e820_entry *out, unsigned max);

#define ZP_SIZE 4096

/* Offsets in boot_params (Documentation/arch/x86/zero-page.rst, boot.rst). */
#define ZP_ACPI_RSDP	    0x070
#define ZP_EXT_RAMDISK_IMG  0x0C0
#define ZP_EXT_RAMDISK_SIZE 0x0C4
#define ZP_EXT_CMDLINE_PTR  0x0C8
#define ZP_E820_ENTRIES	    0x1E8
#define ZP_SENTINEL	    0x1EF
#define ZP_HDR		    0x1F1
#define ZP_VID_MODE	    0x1FA
#define ZP_TYPE_OF_LOADER   0x210
#define ZP_LOADFLAGS	    0x211
#define ZP_RAMDISK_IMAGE    0x218
#define ZP_RAMDISK_SIZE	    0x21C
#define ZP_HEAP_END_PTR	    0x224
#define ZP_CMD_LINE_PTR	    0x228
#define ZP_E820_TABLE	    0x2D0

/* Fills zp (ZP_SIZE bytes) from the kernel's setup header and the given layout. */
void boot_params_build(uint8_t *zp, const uint8_t *img, const struct bzimage_info *bi,
		       uint64_t cmdline_gpa, uint64_t initrd_gpa, uint64_t initrd_size,
		       uint64_t rsdp, const struct e820_entry *e820, unsigned n);
