/* AML encoding per ACPI 6.x chapter 20 (ACPI Machine Language Specification), the small
 * resource descriptors of section 6.4.2 and the address space descriptors of 6.4.3.5. */
#include "arch/x86/aml.h"

#include <errno.h>
#include <string.h>

enum {
	AML_ZERO = 0x00,
	AML_ONE = 0x01,
	AML_NAME = 0x08,
	AML_BYTE = 0x0A,
	AML_WORD = 0x0B,
	AML_DWORD = 0x0C,
	AML_STRING = 0x0D,
	AML_QWORD = 0x0E,
	AML_SCOPE = 0x10,
	AML_BUFFER = 0x11,
	AML_PACKAGE = 0x12,
	AML_METHOD = 0x14,
	AML_DUAL_NAME = 0x2E,
	AML_MULTI_NAME = 0x2F,
	AML_EXT = 0x5B,
	AML_EXT_DEVICE = 0x82,
	AML_ROOT = 0x5C,
	AML_PARENT = 0x5E,
	AML_ARG0 = 0x68,
	AML_OR = 0x7D,
	AML_CREATE_DWORD_FIELD = 0x8A,
	AML_LNOT = 0x92,
	AML_LEQUAL = 0x93,
	AML_IF = 0xA0,
	AML_RETURN = 0xA4,
};

#define AML_MAX_ARG  6
#define UUID_LEN     16
#define UUID_STR_LEN 36

/* Small resource descriptor tags: (type << 3) | length. */
enum {
	RES_IRQ_NOFLAGS = 0x22, /* type 0x04, 2 bytes */
	RES_IO = 0x47,		/* type 0x08, 7 bytes */
	RES_END = 0x79,		/* type 0x0F, 1 byte */
};

/* Large resource descriptor tags: 0x80 | item name. */
enum {
	RES_MEM32_FIXED = 0x86,
	RES_MEM32_FIXED_LEN = 9,
	RES_DWORD_ADDR = 0x87,
	RES_WORD_ADDR = 0x88,
	RES_QWORD_ADDR = 0x8A,
};

/* Address space descriptors (6.4.3.5): resource type, general flags (byte 4) and the
 * type-specific flags (byte 5) we use. Bit 0 of the general flags is marked ignored in
 * ACPI 6.x, but OSes (ACPICA) still read it as consumer (1) / producer (0), as older
 * revisions defined it. */
#define ADDR_TYPE_MEM	     0
#define ADDR_TYPE_IO	     1
#define ADDR_TYPE_BUS	     2
#define ADDR_CONSUMER	     (1u << 0)
#define ADDR_MIN_FIXED	     (1u << 2)
#define ADDR_MAX_FIXED	     (1u << 3)
#define ADDR_IO_ENTIRE_RANGE 0x03      /* _RNG: both ISA and non-ISA ports; dense, static */
#define ADDR_MEM_RW	     (1u << 0) /* _RW; _MEM 0: non-cacheable; _MTP 0: memory */
#define ADDR_HDR_LEN	     3	       /* tag and 16-bit length */
#define ADDR_FLAGS_LEN	     3	       /* type, general flags, type-specific flags */
#define ADDR_FIELDS	     5	       /* _GRA, _MIN, _MAX, _TRA, _LEN */

/* Room reserved for a PkgLength (its longest encoding) and for a Buffer's size operand
 * (DWordPrefix + 4 bytes); both are shrunk to their shortest form on close. */
#define PKGLEN_MAX   4
#define BUFSIZE_MAX  5
#define NAMESEG_LEN  4
#define PKGLEN_LIMIT (1u << 28)

static void fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	a->buf = buf;
	a->cap = buf ? cap : 0;
	a->len = 0;
	a->err = 0;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->err || !n)
		return;
	if (n > a->cap - a->len) {
		fail(a, -ENOSPC);
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned n)
{
	uint8_t le[8];

	for (unsigned i = 0; i < n; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, le, n);
}

void aml_int(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO);
	} else if (v == 1) {
		aml_byte(a, AML_ONE);
	} else if (v <= UINT8_MAX) {
		aml_byte(a, AML_BYTE);
		aml_le(a, v, 1);
	} else if (v <= UINT16_MAX) {
		aml_byte(a, AML_WORD);
		aml_le(a, v, 2);
	} else if (v <= UINT32_MAX) {
		aml_byte(a, AML_DWORD);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD);
		aml_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] > 0x7F) {
			fail(a, -EINVAL);
			return;
		}
	}
	aml_byte(a, AML_STRING);
	aml_bytes(a, s, n + 1);
}

static int eisa_letter(char c)
{
	return c >= 'A' && c <= 'Z' ? c - '@' : -1;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Three 5-bit letters and four hex digits, stored big-endian in the DWord's bytes. Always
 * a DWord, even when small, so disassemblers recognise it as an EisaId. */
void aml_eisaid(struct aml *a, const char *id)
{
	uint8_t b[4];
	int l[3], h[4];

	if (strlen(id) != 7) {
		fail(a, -EINVAL);
		return;
	}
	for (int i = 0; i < 3; i++)
		l[i] = eisa_letter(id[i]);
	for (int i = 0; i < 4; i++)
		h[i] = hex_digit(id[3 + i]);
	if (l[0] < 0 || l[1] < 0 || l[2] < 0 || h[0] < 0 || h[1] < 0 || h[2] < 0 || h[3] < 0) {
		fail(a, -EINVAL);
		return;
	}
	b[0] = (uint8_t)(l[0] << 2 | l[1] >> 3);
	b[1] = (uint8_t)((l[1] & 7) << 5 | l[2]);
	b[2] = (uint8_t)(h[0] << 4 | h[1]);
	b[3] = (uint8_t)(h[2] << 4 | h[3]);
	aml_byte(a, AML_DWORD);
	aml_bytes(a, b, sizeof(b));
}

static bool nameseg_char(char c, bool lead)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!lead && c >= '0' && c <= '9');
}

/* Length of the NameSeg at s (up to '.' or NUL), or 0 if it is not a valid one. */
static size_t nameseg_len(const char *s)
{
	size_t n = 0;

	while (s[n] && s[n] != '.') {
		if (n == NAMESEG_LEN || !nameseg_char(s[n], n == 0))
			return 0;
		n++;
	}
	return n;
}

/* Validates the segments at p and returns how many there are, or 0 on error. */
static unsigned nameseg_count(const char *p)
{
	unsigned count = 0;

	for (;;) {
		size_t n = nameseg_len(p);

		if (!n || count == UINT8_MAX)
			return 0;
		count++;
		p += n;
		if (!*p)
			return count;
		p++;
	}
}

void aml_namestring(struct aml *a, const char *path)
{
	const char *p = path;
	unsigned count;

	if (!*p) {
		fail(a, -EINVAL);
		return;
	}
	if (*p == '\\') {
		aml_byte(a, AML_ROOT);
		p++;
	} else {
		for (; *p == '^'; p++)
			aml_byte(a, AML_PARENT);
	}
	if (!*p) {
		aml_byte(a, 0); /* NullName */
		return;
	}
	count = nameseg_count(p);
	if (!count) {
		fail(a, -EINVAL);
		return;
	}
	if (count == 2) {
		aml_byte(a, AML_DUAL_NAME);
	} else if (count > 2) {
		aml_byte(a, AML_MULTI_NAME);
		aml_byte(a, (uint8_t)count);
	}
	for (unsigned i = 0; i < count; i++) {
		char seg[NAMESEG_LEN] = {'_', '_', '_', '_'};
		size_t n = nameseg_len(p);

		memcpy(seg, p, n);
		aml_bytes(a, seg, sizeof(seg));
		p += n + 1;
	}
}

void aml_name(struct aml *a, const char *path)
{
	aml_byte(a, AML_NAME);
	aml_namestring(a, path);
}

void aml_return(struct aml *a)
{
	aml_byte(a, AML_RETURN);
}

/* Opens a PkgLength: reserves its longest form, fixed up by aml_close. */
static struct aml_obj pkg_open(struct aml *a)
{
	struct aml_obj o = {.start = a->len};
	static const uint8_t zero[PKGLEN_MAX];

	aml_bytes(a, zero, sizeof(zero));
	return o;
}

/* Replace the `reserved` placeholder bytes at pos with src[0..n), n <= reserved, moving the
 * bytes after the placeholder down. */
static void splice(struct aml *a, size_t pos, size_t reserved, const uint8_t *src, size_t n)
{
	memcpy(a->buf + pos, src, n);
	memmove(a->buf + pos + n, a->buf + pos + reserved, a->len - pos - reserved);
	a->len -= reserved - n;
}

/* PkgLength counts its own bytes: one byte up to 63, else a lead byte holding the count of
 * follow bytes and the low nibble, then the rest 8 bits at a time. Returns bytes used. */
static size_t pkglen_encode(size_t body, uint8_t out[PKGLEN_MAX])
{
	if (body + 1 <= 0x3F) {
		out[0] = (uint8_t)(body + 1);
		return 1;
	}
	for (size_t n = 2; n <= PKGLEN_MAX; n++) {
		size_t total = body + n;

		if (total >= (size_t)1 << (4 + 8 * (n - 1)))
			continue;
		out[0] = (uint8_t)((n - 1) << 6 | (total & 0x0F));
		for (size_t i = 1; i < n; i++)
			out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
		return n;
	}
	return 0;
}

void aml_close(struct aml *a, struct aml_obj o)
{
	uint8_t enc[PKGLEN_MAX];
	size_t n;

	if (a->err)
		return;
	if (o.start > a->len || a->len - o.start < PKGLEN_MAX) {
		fail(a, -EINVAL);
		return;
	}
	n = pkglen_encode(a->len - o.start - PKGLEN_MAX, enc);
	if (!n) {
		fail(a, -ENOSPC);
		return;
	}
	splice(a, o.start, PKGLEN_MAX, enc, n);
}

struct aml_obj aml_scope(struct aml *a, const char *path)
{
	struct aml_obj o;

	aml_byte(a, AML_SCOPE);
	o = pkg_open(a);
	aml_namestring(a, path);
	return o;
}

struct aml_obj aml_device(struct aml *a, const char *path)
{
	struct aml_obj o;

	aml_byte(a, AML_EXT);
	aml_byte(a, AML_EXT_DEVICE);
	o = pkg_open(a);
	aml_namestring(a, path);
	return o;
}

struct aml_obj aml_method(struct aml *a, const char *path, unsigned nargs, bool serialized)
{
	struct aml_obj o;

	if (nargs > 7)
		fail(a, -EINVAL);
	aml_byte(a, AML_METHOD);
	o = pkg_open(a);
	aml_namestring(a, path);
	aml_byte(a, (uint8_t)((nargs & 7) | (serialized ? 0x08 : 0)));
	return o;
}

struct aml_obj aml_package(struct aml *a, uint8_t nelems)
{
	struct aml_obj o;

	aml_byte(a, AML_PACKAGE);
	o = pkg_open(a);
	aml_byte(a, nelems);
	return o;
}

struct aml_obj aml_buffer(struct aml *a)
{
	static const uint8_t zero[BUFSIZE_MAX];
	struct aml_obj o;

	aml_byte(a, AML_BUFFER);
	o = pkg_open(a);
	aml_bytes(a, zero, sizeof(zero));
	return o;
}

void aml_buffer_close(struct aml *a, struct aml_obj o)
{
	size_t size_at = o.start + PKGLEN_MAX;
	size_t data_at = size_at + BUFSIZE_MAX;
	uint8_t enc[BUFSIZE_MAX];
	struct aml e;

	if (a->err)
		return;
	if (o.start > a->len || a->len - o.start < PKGLEN_MAX + BUFSIZE_MAX ||
	    a->len - data_at >= PKGLEN_LIMIT) {
		fail(a, -EINVAL);
		return;
	}
	aml_init(&e, enc, sizeof(enc));
	aml_int(&e, a->len - data_at);
	splice(a, size_at, BUFSIZE_MAX, enc, e.len);
	aml_close(a, o);
}

struct aml_obj aml_restemplate(struct aml *a)
{
	return aml_buffer(a);
}

/* The EndTag's checksum makes the bytes of the whole template, itself included, sum to 0. */
void aml_restemplate_close(struct aml *a, struct aml_obj o)
{
	size_t data_at = o.start + PKGLEN_MAX + BUFSIZE_MAX;
	uint8_t sum = 0;

	aml_byte(a, RES_END);
	if (a->err)
		return;
	if (o.start > a->len || a->len < data_at) {
		fail(a, -EINVAL);
		return;
	}
	for (size_t i = data_at; i < a->len; i++)
		sum = (uint8_t)(sum + a->buf[i]);
	aml_byte(a, (uint8_t)-sum);
	aml_buffer_close(a, o);
}

void aml_res_io(struct aml *a, uint16_t base, uint8_t len)
{
	const uint8_t d[8] = {
	    RES_IO,	   0x01, /* decodes 16 address bits */
	    (uint8_t)base, (uint8_t)(base >> 8),
	    (uint8_t)base, (uint8_t)(base >> 8),
	    0x01, /* alignment */
	    len,
	};

	aml_bytes(a, d, sizeof(d));
}

/* One address space descriptor whose five fields are `width` bytes wide: a fixed range, so
 * _LEN = _MAX - _MIN + 1 (6.4.3.5, table of valid field combinations), _GRA 0, _TRA 0. */
static void res_addr(struct aml *a, uint8_t tag, unsigned width, uint8_t type, uint8_t general,
		     uint8_t specific, uint64_t min, uint64_t max)
{
	uint64_t limit = width == 8 ? UINT64_MAX : (1ull << (8 * width)) - 1;
	const uint64_t fields[ADDR_FIELDS] = {0, min, max, 0, max - min + 1};
	size_t body = ADDR_FLAGS_LEN + ADDR_FIELDS * width;
	uint8_t d[ADDR_HDR_LEN + ADDR_FLAGS_LEN + ADDR_FIELDS * 8];
	uint8_t *p = d + ADDR_HDR_LEN + ADDR_FLAGS_LEN;

	if (min > max || max > limit || max - min == limit) {
		fail(a, -EINVAL);
		return;
	}
	d[0] = tag;
	d[1] = (uint8_t)body;
	d[2] = (uint8_t)(body >> 8);
	d[3] = type;
	d[4] = (uint8_t)(general | ADDR_MIN_FIXED | ADDR_MAX_FIXED);
	d[5] = specific;
	for (unsigned f = 0; f < ADDR_FIELDS; f++)
		for (unsigned i = 0; i < width; i++)
			*p++ = (uint8_t)(fields[f] >> (8 * i));
	aml_bytes(a, d, ADDR_HDR_LEN + body);
}

void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max)
{
	res_addr(a, RES_WORD_ADDR, 2, ADDR_TYPE_BUS, 0, 0, min, max);
}

void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max)
{
	res_addr(a, RES_WORD_ADDR, 2, ADDR_TYPE_IO, 0, ADDR_IO_ENTIRE_RANGE, min, max);
}

static uint8_t use_flags(enum aml_res_use use)
{
	return use == AML_CONSUMER ? ADDR_CONSUMER : 0;
}

void aml_res_dword_mem(struct aml *a, enum aml_res_use use, uint32_t min, uint32_t max)
{
	res_addr(a, RES_DWORD_ADDR, 4, ADDR_TYPE_MEM, use_flags(use), ADDR_MEM_RW, min, max);
}

void aml_res_qword_mem(struct aml *a, enum aml_res_use use, uint64_t min, uint64_t max)
{
	res_addr(a, RES_QWORD_ADDR, 8, ADDR_TYPE_MEM, use_flags(use), ADDR_MEM_RW, min, max);
}

/* A large item (6.4.3): tag 0x86, a 16-bit length (9), the information byte (bit 0:
 * writable), base and length. */
void aml_res_mem32_fixed(struct aml *a, bool writable, uint32_t base, uint32_t len)
{
	aml_byte(a, RES_MEM32_FIXED);
	aml_le(a, RES_MEM32_FIXED_LEN, 2);
	aml_byte(a, writable ? 1 : 0);
	aml_le(a, base, 4);
	aml_le(a, len, 4);
}

void aml_res_irq_noflags(struct aml *a, unsigned irq)
{
	uint16_t mask;

	if (irq > 15) {
		fail(a, -EINVAL);
		return;
	}
	mask = (uint16_t)(1u << irq);
	aml_byte(a, RES_IRQ_NOFLAGS);
	aml_le(a, mask, 2);
}

void aml_arg(struct aml *a, unsigned n)
{
	if (n > AML_MAX_ARG) {
		fail(a, -EINVAL);
		return;
	}
	aml_byte(a, (uint8_t)(AML_ARG0 + n));
}

/* Parses the 32 hex digits of a UUID string into bytes, in string order; false if the
 * string is not 8-4-4-4-12 hex digits. */
static bool uuid_parse(const char *s, uint8_t out[UUID_LEN])
{
	size_t n = 0;

	if (strlen(s) != UUID_STR_LEN)
		return false;
	memset(out, 0, UUID_LEN);
	for (size_t i = 0; i < UUID_STR_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		int h = hex_digit(s[i]);

		if (dash) {
			if (s[i] != '-')
				return false;
			continue;
		}
		if (h < 0)
			return false;
		out[n / 2] = (uint8_t)(out[n / 2] << 4 | h);
		n++;
	}
	return true;
}

/* ToUUID (19.6.142) stores the first three groups little-endian (a DWord and two Words) and
 * the last two as written. */
void aml_uuid(struct aml *a, const char *uuid)
{
	static const uint8_t order[UUID_LEN] = {3, 2, 1,  0,  5,  4,  7,  6,
						8, 9, 10, 11, 12, 13, 14, 15};
	uint8_t s[UUID_LEN], b[UUID_LEN];
	struct aml_obj o;

	if (!uuid_parse(uuid, s)) {
		fail(a, -EINVAL);
		return;
	}
	for (size_t i = 0; i < UUID_LEN; i++)
		b[i] = s[order[i]];
	o = aml_buffer(a);
	aml_bytes(a, b, sizeof(b));
	aml_buffer_close(a, o);
}

void aml_create_dword_field(struct aml *a, unsigned argn, uint64_t byte_index, const char *name)
{
	if (argn > AML_MAX_ARG) {
		fail(a, -EINVAL);
		return;
	}
	aml_byte(a, AML_CREATE_DWORD_FIELD);
	aml_arg(a, argn);
	aml_int(a, byte_index);
	aml_namestring(a, name);
}

struct aml_obj aml_if(struct aml *a)
{
	aml_byte(a, AML_IF);
	return pkg_open(a);
}

void aml_lnotequal(struct aml *a)
{
	aml_byte(a, AML_LNOT);
	aml_byte(a, AML_LEQUAL);
}

void aml_or(struct aml *a)
{
	aml_byte(a, AML_OR);
}

void aml_name_int(struct aml *a, const char *path, uint64_t v)
{
	aml_name(a, path);
	aml_int(a, v);
}

void aml_name_eisaid(struct aml *a, const char *path, const char *id)
{
	aml_name(a, path);
	aml_eisaid(a, id);
}

void aml_method_return_int(struct aml *a, const char *path, uint64_t v)
{
	struct aml_obj m = aml_method(a, path, 0, false);

	aml_return(a);
	aml_int(a, v);
	aml_close(a, m);
}
