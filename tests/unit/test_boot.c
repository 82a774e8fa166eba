/* bzimage_parse, linux_load, e820_build and boot_params_build on bzImages built here
 * field by field (offsets from Documentation/arch/x86/boot.rst, written out by hand rather
 * than taken from the code under test), and on the tiny guest when the build made one. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/boot_params.h"
#include "arch/x86/bzimage.h"
#include "common/bytes.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)

#define GUEST_MEM   (64 * MiB)
#define CMDLINE_GPA 0x20000ull /* where the loader puts the command line */
#define ZP_GPA	    0x7000ull  /* and boot_params */
#define RSDP_GPA    0xE0000ull

/* What a synthetic bzImage looks like; mk_image turns it into bytes. */
struct img_spec {
	uint16_t version;
	uint8_t setup_sects;
	uint8_t jump_len; /* byte at 0x201: the header ends at 0x202 + jump_len */
	uint8_t loadflags;
	uint16_t xloadflags;
	uint32_t init_size;
	uint64_t pref_address;
	uint32_t kernel_alignment;
	uint32_t cmdline_size;
	uint32_t initrd_addr_max;
	size_t payload_len;
};

static struct img_spec default_spec(void)
{
	return (struct img_spec){
	    .version = 0x020F,
	    .setup_sects = 1,
	    .jump_len = 0x6A,  /* header ends at 0x26C, as in protocol 2.15 */
	    .loadflags = 0x21, /* LOADED_HIGH | QUIET_FLAG */
	    .xloadflags = 0x03,
	    .init_size = 8 * MiB,
	    .pref_address = 16 * MiB,
	    .kernel_alignment = 2 * MiB,
	    .cmdline_size = 2047,
	    .initrd_addr_max = 0x7FFFFFFF,
	    .payload_len = 0x3000,
	};
}

static size_t setup_bytes(const struct img_spec *s)
{
	return ((size_t)(s->setup_sects ? s->setup_sects : 4) + 1) * 512;
}

/* An exactly-sized heap buffer, so that ASan sees any read past the end. */
static uint8_t *mk_image(const struct img_spec *s, size_t *len)
{
	size_t setup = setup_bytes(s);
	uint8_t *img;

	*len = setup + s->payload_len;
	img = malloc(*len);
	assert_non_null(img);
	for (size_t i = 0; i < *len; i++)
		img[i] = (uint8_t)(i * 7 + 3) | 1; /* recognisable, never zero */
	img[0x1F1] = s->setup_sects;
	put_le16(img + 0x1FE, 0xAA55);
	img[0x200] = 0xEB;
	img[0x201] = s->jump_len;
	memcpy(img + 0x202, "HdrS", 4);
	put_le16(img + 0x206, s->version);
	img[0x210] = 0; /* type_of_loader */
	img[0x211] = s->loadflags;
	put_le32(img + 0x22C, s->initrd_addr_max);
	put_le32(img + 0x230, s->kernel_alignment);
	img[0x234] = 1; /* relocatable_kernel */
	put_le16(img + 0x236, s->xloadflags);
	put_le32(img + 0x238, s->cmdline_size);
	put_le64(img + 0x258, s->pref_address);
	put_le32(img + 0x260, s->init_size);
	for (size_t i = 0; i < s->payload_len; i++)
		img[setup + i] = (uint8_t)(i ^ (i >> 8) ^ 0x5C);
	return img;
}

static char err[256];

static void assert_err_line(void)
{
	assert_true(err[0] != 0);
	assert_null(strchr(err, '\n'));
}

static void assert_err_has(const char *word)
{
	assert_err_line();
	if (!strstr(err, word))
		fail_msg("message '%s' does not mention '%s'", err, word);
}

static int parse_bytes(const uint8_t *img, size_t len, struct bzimage_info *bi)
{
	err[0] = 0;
	return bzimage_parse(img, len, bi, err, sizeof(err));
}

/* Builds the image, changes one byte at off (if off >= 0), cuts it to cut bytes (if cut is
 * nonzero, into a new exactly-sized buffer) and parses it. */
static int parse_spec(const struct img_spec *s, long off, uint8_t byte, size_t cut)
{
	struct bzimage_info bi;
	size_t len;
	uint8_t *img = mk_image(s, &len);
	int rc;

	if (off >= 0)
		img[off] = byte;
	if (cut) {
		uint8_t *c = malloc(cut);

		assert_non_null(c);
		memcpy(c, img, cut < len ? cut : len);
		free(img);
		img = c;
		len = cut;
	}
	rc = parse_bytes(img, len, &bi);
	free(img);
	return rc;
}

static void test_parse_ok(void **state)
{
	struct img_spec s = default_spec();
	struct bzimage_info bi;
	size_t len;
	uint8_t *img = mk_image(&s, &len);

	(void)state;
	assert_int_equal(parse_bytes(img, len, &bi), 0);
	assert_int_equal(bi.version, 0x020F);
	assert_int_equal(bi.loadflags, 0x21);
	assert_int_equal(bi.relocatable, 1);
	assert_int_equal(bi.xloadflags, 0x03);
	assert_int_equal(bi.setup_size, 1024);
	assert_int_equal(bi.hdr_end, 0x26C);
	assert_int_equal(bi.cmdline_size, 2047);
	assert_int_equal(bi.initrd_addr_max, 0x7FFFFFFF);
	assert_int_equal(bi.kernel_alignment, 2 * MiB);
	assert_int_equal(bi.init_size, 8 * MiB);
	assert_int_equal(bi.pref_address, 16 * MiB);
	assert_ptr_equal(bi.payload, img + 1024);
	assert_int_equal(bi.payload_size, 0x3000);
	free(img);

	/* setup_sects 0 means 4; kernel_alignment 0 means none; version 2.12 is enough;
	 * the shortest header that still holds init_size (0x264) is accepted. */
	s.setup_sects = 0;
	s.kernel_alignment = 0;
	s.version = 0x020C;
	s.jump_len = 0x62;
	img = mk_image(&s, &len);
	assert_int_equal(parse_bytes(img, len, &bi), 0);
	assert_int_equal(bi.setup_size, 5 * 512);
	assert_int_equal(bi.payload_size, 0x3000);
	assert_int_equal(bi.hdr_end, 0x264);
	free(img);
	/* One byte of protected-mode kernel is not "truncated". */
	s = default_spec();
	s.payload_len = 1;
	assert_int_equal(parse_spec(&s, -1, 0, 0), 0);
}

static void test_parse_refusals(void **state)
{
	struct img_spec s = default_spec();

	(void)state;
	/* Too short: 1023 bytes, even with a valid header in them. */
	assert_int_equal(parse_spec(&s, -1, 0, 1023), -ENOEXEC);
	assert_err_has("bzImage");
	assert_int_equal(parse_spec(&s, -1, 0, 16), -ENOEXEC);
	assert_err_has("bzImage");
	/* No boot flag, no "HdrS". */
	assert_int_equal(parse_spec(&s, 0x1FF, 0x00, 0), -ENOEXEC);
	assert_err_has("bzImage");
	assert_int_equal(parse_spec(&s, 0x205, 's', 0), -ENOEXEC);
	assert_err_has("HdrS");
	/* Protocol 2.11. */
	s.version = 0x020B;
	assert_int_equal(parse_spec(&s, -1, 0, 0), -ENOEXEC);
	assert_err_has("2.12");
	/* No 64-bit entry: not LOADED_HIGH, or no XLF_KERNEL_64. */
	s = default_spec();
	s.loadflags = 0x20;
	assert_int_equal(parse_spec(&s, -1, 0, 0), -ENOEXEC);
	assert_err_has("64-bit");
	s = default_spec();
	s.xloadflags = BZ_XLF_CAN_LOAD_ABOVE_4G;
	assert_int_equal(parse_spec(&s, -1, 0, 0), -ENOEXEC);
	assert_err_has("64-bit");
	/* kernel_alignment 3 MiB. */
	s = default_spec();
	s.kernel_alignment = 3 * MiB;
	assert_int_equal(parse_spec(&s, -1, 0, 0), -ENOEXEC);
	assert_err_has("power of two");
	/* Header length: ends before init_size (0x263), or inside the e820 table (0x301). */
	s = default_spec();
	s.jump_len = 0x61;
	assert_int_equal(parse_spec(&s, -1, 0, 0), -ENOEXEC);
	assert_err_has("length");
	s.jump_len = 0xFF;
	assert_int_equal(parse_spec(&s, -1, 0, 0), -ENOEXEC);
	assert_err_has("length");
	/* Truncated: setup only, and setup_sects claiming more than the file has. */
	s = default_spec();
	s.payload_len = 0;
	assert_int_equal(parse_spec(&s, -1, 0, 0), -ENOEXEC);
	assert_err_has("truncated");
	s = default_spec();
	assert_int_equal(parse_spec(&s, 0x1F1, 63, 0), -ENOEXEC);
	assert_err_has("truncated");
	assert_int_equal(parse_spec(&s, 0x1F1, 0 /* 4 */, 2048), -ENOEXEC);
	assert_err_has("truncated");
}

/* ---- linux_load ---- */

struct guest {
	uint8_t *buf;
	struct guest_mem gm;
};

static int guest_setup(void **state)
{
	struct guest *g = calloc(1, sizeof(*g));

	if (!g)
		return -1;
	g->buf = calloc(1, GUEST_MEM);
	if (!g->buf) {
		free(g);
		return -1;
	}
	gm_init_buffer(&g->gm, g->buf, GUEST_MEM);
	*state = g;
	return 0;
}

static int guest_teardown(void **state)
{
	struct guest *g = *state;

	gm_destroy(&g->gm);
	free(g->buf);
	free(g);
	return 0;
}

static int load(struct guest *g, const struct img_spec *s, const uint8_t *initrd, size_t initrd_len,
		const char *cmdline, struct linux_boot *out)
{
	size_t len;
	uint8_t *img = mk_image(s, &len);
	int rc;

	err[0] = 0;
	rc = linux_load(&g->gm, img, len, initrd, initrd_len, cmdline, RSDP_GPA, out, err,
			sizeof(err));
	free(img);
	return rc;
}

/* The e820 map of a 64 MiB guest, written out by hand. */
static const struct e820_entry map_64m[] = {
    {0, 0x9FC00, E820_RAM},
    {0x9FC00, 0x400, E820_RESERVED},
    {0xE0000, 0x20000, E820_RESERVED},
    {0x100000, 63 * MiB, E820_RAM},
    {0xE0000000, 0x10000000, E820_RESERVED},
};

static bool loader_field(unsigned off)
{
	return (off >= 0x1FA && off < 0x1FC) || off == 0x210 || off == 0x211 ||
	       (off >= 0x218 && off < 0x220) || (off >= 0x224 && off < 0x226) ||
	       (off >= 0x228 && off < 0x22C);
}

/* boot_params of a loaded 64 MiB guest, field by field. */
static void check_zero_page(const struct guest *g, const uint8_t *img, unsigned hdr_end,
			    uint8_t kernel_loadflags, uint64_t initrd_gpa, uint64_t initrd_size)
{
	const uint8_t *zp = g->buf + ZP_GPA;

	assert_int_equal(get_le64(zp + 0x070), RSDP_GPA); /* acpi_rsdp_addr */
	assert_int_equal(get_le32(zp + 0x0C0), initrd_gpa >> 32);
	assert_int_equal(get_le32(zp + 0x0C4), initrd_size >> 32);
	assert_int_equal(get_le32(zp + 0x0C8), 0); /* ext_cmd_line_ptr */
	assert_int_equal(zp[0x1EF], 0);		   /* sentinel */
	assert_int_equal(get_le16(zp + 0x1FA), 0xFFFF);
	assert_int_equal(zp[0x210], 0xFF);     /* type_of_loader: undefined */
	assert_true(zp[0x211] & 0x01);	       /* LOADED_HIGH kept */
	assert_true(zp[0x211] & 0x80);	       /* CAN_USE_HEAP */
	assert_int_equal(zp[0x211] & 0x20, 0); /* QUIET_FLAG off: the guest's messages show */
	assert_int_equal(zp[0x211] & 0x5E, kernel_loadflags & 0x5E);
	assert_int_equal(get_le32(zp + 0x218), (uint32_t)initrd_gpa);
	assert_int_equal(get_le32(zp + 0x21C), (uint32_t)initrd_size);
	assert_int_equal(get_le16(zp + 0x224), 0xFE00);
	assert_int_equal(get_le32(zp + 0x228), CMDLINE_GPA);
	/* The setup header is the kernel's, byte for byte, up to its end and no further. */
	for (unsigned off = 0x1F1; off < hdr_end; off++)
		if (!loader_field(off) && zp[off] != img[off])
			fail_msg("zero page byte %#x: %#x, kernel has %#x", off, zp[off], img[off]);
	for (unsigned off = hdr_end; off < 0x2D0; off++)
		if (zp[off])
			fail_msg("zero page byte %#x past the header end is %#x", off, zp[off]);
	/* e820 */
	assert_int_equal(zp[0x1E8], ARRAY_SIZE(map_64m));
	for (unsigned i = 0; i < ARRAY_SIZE(map_64m); i++) {
		const uint8_t *e = zp + 0x2D0 + 20 * i;

		assert_int_equal(get_le64(e), map_64m[i].addr);
		assert_int_equal(get_le64(e + 8), map_64m[i].size);
		assert_int_equal(get_le32(e + 16), map_64m[i].type);
	}
	assert_int_equal(get_le64(zp + 0x2D0 + 20 * ARRAY_SIZE(map_64m)), 0);
}

static uint8_t *mk_initrd(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 13 + 1);
	return p;
}

static void test_load(void **state)
{
	struct guest *g = *state;
	struct img_spec s = default_spec();
	struct linux_boot lb;
	const char *cmd = "console=ttyS0 root=/dev/vda rw";
	size_t len, ilen = 100000;
	uint8_t *initrd = mk_initrd(ilen);
	uint8_t *img = mk_image(&s, &len);

	assert_int_equal(
	    linux_load(&g->gm, img, len, initrd, ilen, cmd, RSDP_GPA, &lb, err, sizeof(err)), 0);
	assert_int_equal(lb.kernel_gpa, 16 * MiB);
	assert_int_equal(lb.entry, 16 * MiB + 0x200);
	assert_int_equal(lb.zero_page, ZP_GPA);
	assert_memory_equal(g->buf + 16 * MiB, img + 1024, s.payload_len);
	/* The initramfs: whole, page aligned, after the kernel's init_size, inside RAM and
	 * under initrd_addr_max. */
	assert_int_equal(lb.initrd_size, ilen);
	assert_int_equal(lb.initrd_gpa % 4096, 0);
	assert_true(lb.initrd_gpa >= 16 * MiB + 8 * MiB);
	assert_true(lb.initrd_gpa + ilen <= GUEST_MEM);
	assert_memory_equal(g->buf + lb.initrd_gpa, initrd, ilen);
	/* The command line, with its NUL. */
	assert_string_equal((const char *)g->buf + CMDLINE_GPA, cmd);
	check_zero_page(g, img, 0x26C, s.loadflags, lb.initrd_gpa, ilen);
	free(img);
	free(initrd);
}

static void test_load_no_initrd(void **state)
{
	struct guest *g = *state;
	struct img_spec s = default_spec();
	struct linux_boot lb;
	size_t len;
	uint8_t *img;

	/* No preferred address: the kernel goes at 1 MiB, rounded up to its alignment. */
	s.pref_address = 0;
	s.kernel_alignment = 0x400000;
	s.init_size = 0; /* the payload's own size then */
	img = mk_image(&s, &len);
	assert_int_equal(linux_load(&g->gm, img, len, NULL, 0, "", 0, &lb, err, sizeof(err)), 0);
	assert_int_equal(lb.kernel_gpa, 4 * MiB);
	assert_int_equal(lb.entry, 4 * MiB + 0x200);
	assert_memory_equal(g->buf + 4 * MiB, img + 1024, s.payload_len);
	assert_int_equal(lb.initrd_gpa, 0);
	assert_int_equal(lb.initrd_size, 0);
	assert_int_equal(get_le32(g->buf + ZP_GPA + 0x218), 0);
	assert_int_equal(get_le32(g->buf + ZP_GPA + 0x21C), 0);
	assert_int_equal(get_le64(g->buf + ZP_GPA + 0x070), 0); /* no RSDP given */
	assert_int_equal(g->buf[CMDLINE_GPA], 0);
	free(img);

	/* A preferred address below 1 MiB is raised to 1 MiB. */
	s = default_spec();
	s.pref_address = 0x10000;
	s.kernel_alignment = 0x1000;
	assert_int_equal(load(g, &s, NULL, 0, "", &lb), 0);
	assert_int_equal(lb.kernel_gpa, 1 * MiB);
	assert_int_equal(lb.entry, 1 * MiB + 0x200);
}

static void test_load_initrd_placement(void **state)
{
	struct guest *g = *state;
	struct img_spec s = default_spec();
	struct linux_boot lb;
	uint8_t *initrd = mk_initrd(40 * MiB);

	/* initrd_addr_max below the top of RAM: the initramfs ends at or below it. */
	s.initrd_addr_max = 48 * MiB - 1;
	assert_int_equal(load(g, &s, initrd, 100000, "", &lb), 0);
	assert_true(lb.initrd_gpa + 100000 - 1 <= s.initrd_addr_max);
	assert_true(lb.initrd_gpa >= 24 * MiB);
	assert_int_equal(lb.initrd_gpa % 4096, 0);
	assert_memory_equal(g->buf + lb.initrd_gpa, initrd, 100000);

	/* Exactly the room between the kernel's end (24 MiB) and the top of RAM. */
	s = default_spec();
	assert_int_equal(load(g, &s, initrd, 40 * MiB, "", &lb), 0);
	assert_int_equal(lb.initrd_gpa, 24 * MiB);
	assert_memory_equal(g->buf + 24 * MiB, initrd, 40 * MiB);

	/* Not 2 MiB-alignable above the kernel: page alignment is enough. The kernel ends
	 * at 61.5 MiB; 2.25 MiB of initramfs fit from 61.75 MiB. */
	s.init_size = (uint32_t)(45 * MiB + MiB / 2);
	assert_int_equal(load(g, &s, initrd, 2 * MiB + MiB / 4, "", &lb), 0);
	assert_int_equal(lb.initrd_gpa % 4096, 0);
	assert_true(lb.initrd_gpa >= 61 * MiB + MiB / 2);
	assert_true(lb.initrd_gpa + 2 * MiB + MiB / 4 <= GUEST_MEM);
	free(initrd);
}

static void test_load_errors(void **state)
{
	struct guest *g = *state;
	struct img_spec s = default_spec();
	struct linux_boot lb;
	char cmd[300];
	uint8_t *initrd = mk_initrd(41 * MiB);

	/* Parse errors come through unchanged. */
	s.version = 0x0200;
	assert_int_equal(load(g, &s, NULL, 0, "", &lb), -ENOEXEC);
	assert_err_line();
	/* The kernel needs 16 + 56 MiB. */
	s = default_spec();
	s.init_size = 56 * MiB;
	assert_true(load(g, &s, NULL, 0, "", &lb) < 0);
	assert_err_has("72 MiB");
	/* A kernel that wants to live above the RAM. */
	s = default_spec();
	s.pref_address = 128 * MiB;
	assert_true(load(g, &s, NULL, 0, "", &lb) < 0);
	assert_err_has("MiB");
	/* A preferred address at the top of the 64-bit space (kaddr + init_size wraps). */
	s = default_spec();
	s.pref_address = 0xFFFFFFFFFFFFF000ull;
	s.kernel_alignment = 0;
	assert_true(load(g, &s, NULL, 0, "", &lb) < 0);
	assert_err_line();
	/* 41 MiB of initramfs do not fit between 24 MiB and 64 MiB; 65 MiB not at all. */
	s = default_spec();
	assert_int_equal(load(g, &s, initrd, 41 * MiB, "", &lb), -ENOMEM);
	assert_err_has("initramfs");
	assert_int_equal(load(g, &s, initrd, 40 * MiB + 1, "", &lb), -ENOMEM);
	assert_err_has("initramfs");
	s.initrd_addr_max = 32 * MiB - 1; /* room: 24..32 MiB */
	assert_int_equal(load(g, &s, initrd, 8 * MiB + 1, "", &lb), -ENOMEM);
	assert_err_has("initramfs");
	assert_int_equal(load(g, &s, initrd, 8 * MiB, "", &lb), 0);
	assert_int_equal(lb.initrd_gpa, 24 * MiB);
	free(initrd);

	/* Command line: cmdline_size is the longest allowed, without the NUL. */
	s = default_spec();
	s.cmdline_size = 16;
	assert_int_equal(load(g, &s, NULL, 0, "0123456789abcdef", &lb), 0);
	assert_string_equal((const char *)g->buf + CMDLINE_GPA, "0123456789abcdef");
	assert_int_equal(load(g, &s, NULL, 0, "0123456789abcdefg", &lb), -E2BIG);
	assert_err_has("17");
	/* cmdline_size 0 (old kernels): 255. */
	s.cmdline_size = 0;
	memset(cmd, 'a', sizeof(cmd));
	cmd[255] = 0;
	assert_int_equal(load(g, &s, NULL, 0, cmd, &lb), 0);
	cmd[255] = 'a';
	cmd[256] = 0;
	assert_int_equal(load(g, &s, NULL, 0, cmd, &lb), -E2BIG);
	assert_err_line();
}

/* A preferred address whose alignment overflows must not put the kernel at 0. */
static void test_load_pref_address_overflow(void **state)
{
	struct guest *g = *state;
	struct img_spec s = default_spec();
	struct linux_boot lb;
	int rc;

	s.pref_address = 0xFFFFFFFFFFE00001ull;
	memset(&lb, 0, sizeof(lb));
	rc = load(g, &s, NULL, 0, "", &lb);
	/* Regression: ALIGN_UP of an absurd pref_address once wrapped to 0 and the kernel was
	 * loaded at guest address 0. */
	assert_true(rc < 0 || lb.kernel_gpa >= 1 * MiB);
	if (rc < 0)
		assert_err_line();
}

/* ---- the tiny guest from tests/guests/tiny (when the build made it) ---- */

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	p = malloc((size_t)n);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

static void test_tiny(void **state)
{
	struct guest *g = *state;
	const char *path = getenv("PHYLLOME_TINY_BZIMAGE");
	struct bzimage_info bi;
	struct linux_boot lb;
	uint8_t *img, ird[4096];
	size_t len;

	if (!path || !*path)
		skip();
	img = read_file(path, &len);
	assert_int_equal(parse_bytes(img, len, &bi), 0);
	assert_true(bi.version >= 0x020C);
	assert_int_equal(bi.xloadflags & 3, 3);
	assert_int_equal(bi.pref_address, 0x100000);
	assert_int_equal(bi.payload_size, len - bi.setup_size);
	memset(ird, 0xC5, sizeof(ird));
	assert_int_equal(linux_load(&g->gm, img, len, ird, sizeof(ird), "console=ttyS0", RSDP_GPA,
				    &lb, err, sizeof(err)),
			 0);
	assert_int_equal(lb.kernel_gpa, 0x100000);
	assert_int_equal(lb.entry, 0x100200);
	assert_memory_equal(g->buf + 0x100000, img + bi.setup_size, bi.payload_size);
	assert_int_equal(g->buf[lb.entry], 0xFA); /* cli: the 64-bit entry's first byte */
	assert_true(lb.initrd_gpa >= 0x100000 + bi.init_size);
	assert_memory_equal(g->buf + lb.initrd_gpa, ird, sizeof(ird));
	check_zero_page(g, img, bi.hdr_end, bi.loadflags, lb.initrd_gpa, sizeof(ird));
	free(img);
}

/* ---- e820 ---- */

/* Sorted, disjoint, RAM nowhere in the BIOS area or the 32-bit hole, and all of the RAM. */
static void check_e820(const struct e820_entry *e, unsigned n, uint64_t size)
{
	uint64_t ram = 0;

	assert_true(n >= 4);
	assert_int_equal(e[0].addr, 0);
	assert_int_equal(e[0].size, 0x9FC00);
	assert_int_equal(e[0].type, E820_RAM);
	assert_int_equal(e[1].addr, 0x9FC00);
	assert_int_equal(e[1].size, 0xA0000 - 0x9FC00);
	assert_int_equal(e[1].type, E820_RESERVED);
	assert_int_equal(e[2].addr, 0xE0000);
	assert_int_equal(e[2].size, 0x100000 - 0xE0000);
	assert_int_equal(e[2].type, E820_RESERVED);
	for (unsigned i = 0; i < n; i++) {
		uint64_t end = e[i].addr + e[i].size;

		assert_true(e[i].size > 0);
		assert_true(e[i].type == E820_RAM || e[i].type == E820_RESERVED);
		if (i)
			assert_true(e[i].addr >= e[i - 1].addr + e[i - 1].size);
		if (e[i].type != E820_RAM)
			continue;
		ram += e[i].size;
		assert_true(end <= 0x9FC00 || e[i].addr >= 0x100000);
		assert_true(end <= 3 * GiB || e[i].addr >= 4 * GiB);
	}
	assert_int_equal(ram, size - (0x100000 - 0x9FC00));
}

static void check_ecam(const struct e820_entry *e)
{
	/* ECAM is reserved so that Linux trusts the MCFG table. */
	assert_int_equal(e->addr, 0xE0000000ull);
	assert_int_equal(e->size, 0x10000000ull);
	assert_int_equal(e->type, E820_RESERVED);
}

static void test_e820(void **state)
{
	struct guest_mem gm;
	struct e820_entry e[E820_MAX];
	unsigned n;

	(void)state;
	gm_layout(&gm, 256 * MiB);
	n = e820_build(&gm, e, E820_MAX);
	assert_int_equal(n, 5);
	check_e820(e, n, 256 * MiB);
	assert_int_equal(e[3].addr, 1 * MiB);
	assert_int_equal(e[3].size, 255 * MiB);
	check_ecam(&e[4]);

	gm_layout(&gm, 3 * GiB);
	n = e820_build(&gm, e, E820_MAX);
	assert_int_equal(n, 5);
	check_e820(e, n, 3 * GiB);
	assert_int_equal(e[3].addr + e[3].size, 3 * GiB);
	check_ecam(&e[4]);

	gm_layout(&gm, 5 * GiB);
	n = e820_build(&gm, e, E820_MAX);
	assert_int_equal(n, 6);
	check_e820(e, n, 5 * GiB);
	assert_int_equal(e[3].addr + e[3].size, 3 * GiB);
	check_ecam(&e[4]);
	assert_int_equal(e[5].addr, 0x100000000ull);
	assert_int_equal(e[5].size, 2 * GiB);
	assert_int_equal(e[5].type, E820_RAM);

	gm_layout(&gm, 6 * GiB);
	n = e820_build(&gm, e, E820_MAX);
	assert_int_equal(n, 6);
	check_e820(e, n, 6 * GiB);
	assert_int_equal(e[5].addr + e[5].size, 7 * GiB);

	/* A short output array is never overrun. */
	e[2].addr = 0x1234;
	assert_int_equal(e820_build(&gm, e, 2), 2);
	assert_int_equal(e[2].addr, 0x1234);
}

static void test_boot_params_e820_limit(void **state)
{
	struct img_spec s = default_spec();
	struct bzimage_info bi;
	struct e820_entry e[E820_MAX + 2];
	uint8_t *zp = malloc(ZP_SIZE);
	size_t len;
	uint8_t *img = mk_image(&s, &len);

	(void)state;
	assert_non_null(zp);
	assert_int_equal(parse_bytes(img, len, &bi), 0);
	for (unsigned i = 0; i < ARRAY_SIZE(e); i++)
		e[i] = (struct e820_entry){i * 0x10000ull, 0x1000, E820_RAM};
	/* 64-bit addresses go into the ext_ fields; too many entries are cut to 128. */
	boot_params_build(zp, img, &bi, 0x123456789ull, 0x1A0000000ull, 0x2FFFFFFFFull, 0xF0000, e,
			  ARRAY_SIZE(e));
	assert_int_equal(get_le32(zp + 0x228), 0x23456789);
	assert_int_equal(get_le32(zp + 0x0C8), 0x1);
	assert_int_equal(get_le32(zp + 0x218), 0xA0000000);
	assert_int_equal(get_le32(zp + 0x0C0), 0x1);
	assert_int_equal(get_le32(zp + 0x21C), 0xFFFFFFFF);
	assert_int_equal(get_le32(zp + 0x0C4), 0x2);
	assert_int_equal(get_le64(zp + 0x070), 0xF0000);
	assert_int_equal(zp[0x1E8], 128);
	assert_int_equal(get_le64(zp + 0x2D0 + 20 * 127), 127 * 0x10000ull);
	assert_int_equal(get_le32(zp + 0x2D0 + 20 * 127 + 16), E820_RAM);
	free(img);
	free(zp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_ok),
	    cmocka_unit_test(test_parse_refusals),
	    cmocka_unit_test_setup_teardown(test_load, guest_setup, guest_teardown),
	    cmocka_unit_test_setup_teardown(test_load_no_initrd, guest_setup, guest_teardown),
	    cmocka_unit_test_setup_teardown(test_load_initrd_placement, guest_setup,
					    guest_teardown),
	    cmocka_unit_test_setup_teardown(test_load_errors, guest_setup, guest_teardown),
	    cmocka_unit_test_setup_teardown(test_load_pref_address_overflow, guest_setup,
					    guest_teardown),
	    cmocka_unit_test_setup_teardown(test_tiny, guest_setup, guest_teardown),
	    cmocka_unit_test(test_e820),
	    cmocka_unit_test(test_boot_params_e820_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
