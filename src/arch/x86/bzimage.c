#include "arch/x86/bzimage.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86/boot_params.h"
#include "arch/x86/layout.h"
#include "common/bytes.h"

#define HDR_SETUP_SECTS	 0x1F1
#define HDR_BOOT_FLAG	 0x1FE
#define HDR_JUMP_LEN	 0x201 /* second byte of the jump: header length - 2 */
#define HDR_MAGIC	 0x202
#define HDR_VERSION	 0x206
#define HDR_LOADFLAGS	 0x211
#define HDR_INITRD_MAX	 0x22C
#define HDR_KERNEL_ALIGN 0x230
#define HDR_RELOCATABLE	 0x234
#define HDR_XLOADFLAGS	 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE	 0x260
#define HDR_MIN_END	 0x264 /* we read fields up to init_size */

static int fail(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return -ENOEXEC;
}

int bzimage_parse(const uint8_t *img, size_t len, struct bzimage_info *bi, char *err, size_t errlen)
{
	unsigned sects;

	memset(bi, 0, sizeof(*bi));
	if (len < 1024 || get_le16(img + HDR_BOOT_FLAG) != 0xAA55 ||
	    memcmp(img + HDR_MAGIC, "HdrS", 4))
		return fail(err, errlen, "not a Linux bzImage (no boot sector or HdrS header)");
	bi->version = get_le16(img + HDR_VERSION);
	if (bi->version < 0x020C)
		return fail(err, errlen, "bzImage boot protocol older than 2.12 (no 64-bit entry)");
	bi->hdr_end = 0x202u + img[HDR_JUMP_LEN];
	if (bi->hdr_end < HDR_MIN_END || bi->hdr_end > ZP_E820_TABLE)
		return fail(err, errlen, "bzImage setup header has an impossible length");
	sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
	bi->setup_size = (sects + 1) * 512;
	if (bi->setup_size >= len)
		return fail(err, errlen, "bzImage is truncated (no protected-mode kernel)");
	bi->loadflags = img[HDR_LOADFLAGS];
	bi->xloadflags = get_le16(img + HDR_XLOADFLAGS);
	if (!(bi->loadflags & BZ_LOADED_HIGH) || !(bi->xloadflags & BZ_XLF_KERNEL_64))
		return fail(err, errlen, "bzImage has no 64-bit entry point");
	bi->relocatable = img[HDR_RELOCATABLE];
	bi->initrd_addr_max = get_le32(img + HDR_INITRD_MAX);
	bi->kernel_alignment = get_le32(img + HDR_KERNEL_ALIGN);
	bi->cmdline_size = get_le32(img + HDR_CMDLINE_SIZE);
	bi->pref_address = get_le64(img + HDR_PREF_ADDRESS);
	bi->init_size = get_le32(img + HDR_INIT_SIZE);
	bi->payload = img + bi->setup_size;
	bi->payload_size = len - bi->setup_size;
	if (bi->kernel_alignment & (bi->kernel_alignment - 1))
		return fail(err, errlen, "bzImage kernel_alignment is not a power of two");
	return 0;
}

/* Where the protected-mode kernel goes: its preferred address when it has one. */
static uint64_t kernel_address(const struct bzimage_info *bi)
{
	uint64_t a = bi->pref_address ? bi->pref_address : X86_HIMEM_START;

	if (a < X86_HIMEM_START)
		a = X86_HIMEM_START;
	if (bi->kernel_alignment)
		a = ALIGN_UP(a, (uint64_t)bi->kernel_alignment);
	return a;
}

static int place_initrd(const struct guest_mem *gm, const struct bzimage_info *bi,
			uint64_t kernel_end, size_t initrd_len, uint64_t *gpa)
{
	uint64_t top = gm->regions[0].size;
	uint64_t max = bi->initrd_addr_max ? (uint64_t)bi->initrd_addr_max + 1 : 0x38000000;

	if (top > max)
		top = max;
	if (initrd_len > top)
		return -ENOMEM;
	*gpa = ALIGN_DOWN(top - initrd_len, 0x200000ull);
	if (*gpa < kernel_end)
		*gpa = ALIGN_DOWN(top - initrd_len, 0x1000ull);
	return *gpa < kernel_end ? -ENOMEM : 0;
}

static int load_cmdline(const struct guest_mem *gm, const struct bzimage_info *bi,
			const char *cmdline, char *err, size_t errlen)
{
	size_t n = strlen(cmdline);
	size_t max = bi->cmdline_size ? bi->cmdline_size : 255;

	if (n > max) {
		snprintf(err, errlen, "kernel command line is %zu bytes; this kernel takes %zu", n,
			 max);
		return -E2BIG;
	}
	return gm_write(gm, X86_CMDLINE_GPA, cmdline, n + 1);
}

int linux_load(const struct guest_mem *gm, const uint8_t *img, size_t img_len,
	       const uint8_t *initrd, size_t initrd_len, const char *cmdline, uint64_t rsdp,
	       struct linux_boot *out, char *err, size_t errlen)
{
	struct bzimage_info bi;
	struct e820_entry e820[E820_MAX];
	uint8_t *zp;
	uint64_t kaddr, kend;
	unsigned n;
	int rc = bzimage_parse(img, img_len, &bi, err, errlen);

	if (rc < 0)
		return rc;
	memset(out, 0, sizeof(*out));
	kaddr = kernel_address(&bi);
	kend = kaddr + (bi.init_size > bi.payload_size ? bi.init_size : bi.payload_size);
	/* pref_address comes from the file: an absurd one must not wrap around to 0. */
	if (kaddr < X86_HIMEM_START || kend < kaddr || kend > gm->regions[0].size ||
	    gm_write(gm, kaddr, bi.payload, bi.payload_size) < 0) {
		if (kaddr < X86_HIMEM_START || kend < kaddr)
			snprintf(err, errlen, "bzImage asks to be loaded at an impossible address");
		else
			snprintf(err, errlen, "kernel needs %llu MiB of guest memory below 3 GiB",
				 (unsigned long long)((kend + (1 << 20) - 1) >> 20));
		return -ENOMEM;
	}
	if (initrd) {
		if (place_initrd(gm, &bi, kend, initrd_len, &out->initrd_gpa) < 0 ||
		    gm_write(gm, out->initrd_gpa, initrd, initrd_len) < 0) {
			snprintf(err, errlen, "initramfs (%zu bytes) does not fit in guest memory",
				 initrd_len);
			return -ENOMEM;
		}
		out->initrd_size = initrd_len;
	}
	rc = load_cmdline(gm, &bi, cmdline, err, errlen);
	if (rc < 0)
		return rc;
	zp = gm_ptr(gm, X86_ZERO_PAGE_GPA, ZP_SIZE);
	if (!zp) {
		snprintf(err, errlen, "guest memory too small for boot_params");
		return -ENOMEM;
	}
	n = e820_build(gm, e820, E820_MAX);
	boot_params_build(zp, img, &bi, X86_CMDLINE_GPA, out->initrd_gpa, out->initrd_size, rsdp,
			  e820, n);
	out->kernel_gpa = kaddr;
	out->entry = kaddr + 0x200;
	out->zero_page = X86_ZERO_PAGE_GPA;
	return 0;
}
