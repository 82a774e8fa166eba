/* Linux x86 boot protocol: parsing a bzImage's setup header and loading the kernel,
 * initramfs, command line and boot_params (the "zero page") into guest memory. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kvm/guest_mem.h"

struct bzimage_info {
	uint16_t version;
	uint8_t loadflags;
	uint8_t relocatable;
	uint16_t xloadflags;
	uint32_t setup_size;   /* bytes before the protected-mode kernel */
	uint32_t hdr_end;      /* end offset of the setup header in the image */
	uint32_t cmdline_size; /* max command line length, without the NUL */
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	uint32_t init_size;
	uint64_t pref_address;
	const uint8_t *payload; /* the protected-mode kernel */
	size_t payload_size;
};

#define BZ_LOADED_HIGH		 0x01
#define BZ_XLF_KERNEL_64	 0x01
#define BZ_XLF_CAN_LOAD_ABOVE_4G 0x02

/* Checks that img is a bzImage this VMM can boot (protocol >= 2.12, 64-bit entry).
 * Returns 0 or -ENOEXEC with a message in err. Never reads outside img. */
int bzimage_parse(const uint8_t *img, size_t len, struct bzimage_info *bi, char *err,
		  size_t errlen);

struct linux_boot {
	uint64_t entry;	    /* 64-bit entry point (RIP) */
	uint64_t zero_page; /* RSI */
	uint64_t kernel_gpa;
	uint64_t initrd_gpa;
	uint64_t initrd_size;
};

/* Loads everything into gm and writes boot_params with the e820 map. rsdp is the ACPI
 * RSDP's guest address (0: none). Returns 0 or a negative errno with a message in err. */
int linux_load(const struct guest_mem *gm, const uint8_t *img, size_t img_len,
	       const uint8_t *initrd, size_t initrd_len, const char *cmdline, uint64_t rsdp,
	       struct linux_boot *out, char *err, size_t errlen);
