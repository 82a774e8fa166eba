/* libFuzzer: bytes as a kernel image -> bzimage_parse, then linux_load into a 64 MiB guest
 * with a small initramfs and command line; traps when a loaded image breaks the layout. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot_params.h"
#include "arch/x86/bzimage.h"
#include "common/bytes.h"

#define GUEST_MEM (64ull << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

static void check_msg(const char *err, int rc)
{
	if (rc < 0)
		check(err[0] != 0 && !strchr(err, '\n'));
}

/* Guest RAM is allocated once and not cleared between inputs: nothing read from it
 * steers the loader. */
static struct guest_mem *guest(void)
{
	static struct guest_mem gm;
	static void *buf;

	if (!buf) {
		buf = calloc(1, GUEST_MEM);
		if (!buf)
			abort();
		gm_init_buffer(&gm, buf, GUEST_MEM);
	}
	return &gm;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t initrd[3000] = {0x30, 0x37, 0x30, 0x37, 0x30, 0x31}; /* "070701" */
	const struct guest_mem *gm = guest();
	struct bzimage_info bi;
	struct linux_boot lb;
	char err[256] = "";
	int rc;
	const uint8_t *zp;
	uint64_t kend;

	rc = bzimage_parse(data, size, &bi, err, sizeof(err));
	check_msg(err, rc);
	if (rc < 0)
		return 0;
	check(bi.setup_size < size && bi.payload == data + bi.setup_size);
	check(bi.payload_size == size - bi.setup_size);
	check(bi.hdr_end > 0x1F1 && bi.hdr_end <= ZP_E820_TABLE);

	err[0] = 0;
	rc = linux_load(gm, data, size, initrd, sizeof(initrd), "console=ttyS0 panic=-1", 0xE0000,
			&lb, err, sizeof(err));
	check_msg(err, rc);
	if (rc < 0)
		return 0;
	kend = lb.kernel_gpa + (bi.init_size > bi.payload_size ? bi.init_size : bi.payload_size);
	/* The kernel sits in RAM from 1 MiB, entered 0x200 in. */
	check(lb.kernel_gpa >= 0x100000 && kend >= lb.kernel_gpa && kend <= GUEST_MEM);
	check(lb.entry == lb.kernel_gpa + 0x200);
	check(!memcmp(gm_ptr(gm, lb.kernel_gpa, bi.payload_size), bi.payload, bi.payload_size));
	/* The initramfs is whole, page aligned, after the kernel, under initrd_addr_max. */
	check(lb.initrd_size == sizeof(initrd) && lb.initrd_gpa % 4096 == 0);
	check(lb.initrd_gpa >= kend && lb.initrd_gpa + sizeof(initrd) <= GUEST_MEM);
	check(!bi.initrd_addr_max || lb.initrd_gpa + sizeof(initrd) - 1 <= bi.initrd_addr_max);
	check(!memcmp(gm_ptr(gm, lb.initrd_gpa, sizeof(initrd)), initrd, sizeof(initrd)));
	zp = gm_ptr(gm, lb.zero_page, ZP_SIZE);
	check(zp != NULL);
	check(zp[ZP_TYPE_OF_LOADER] == 0xFF && zp[ZP_E820_ENTRIES] == 5); /* ECAM reserved */
	check(get_le32(zp + ZP_RAMDISK_IMAGE) == lb.initrd_gpa);
	check(get_le32(zp + ZP_RAMDISK_SIZE) == sizeof(initrd));
	return 0;
}
