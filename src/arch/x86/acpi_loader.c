#include "arch/x86/acpi_loader.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "common/bytes.h"

#define RSDP_LEN    36
#define HDR_LEN	    36
#define NAME_LEN    56
#define MAX_ENTRIES 32
#define FADT_FACS32 36
#define FADT_DSDT32 40
#define FADT_FACS64 132
#define FADT_DSDT64 140

struct script {
	uint8_t *out;
	size_t cap, used;
	bool full;
};

static uint8_t *entry(struct script *s, enum acpi_loader_cmd cmd)
{
	uint8_t *e;

	if (s->cap - s->used < ACPI_LOADER_ENTRY_LEN) {
		s->full = true;
		return NULL;
	}
	e = s->out + s->used;
	s->used += ACPI_LOADER_ENTRY_LEN;
	memset(e, 0, ACPI_LOADER_ENTRY_LEN);
	put_le32(e, (uint32_t)cmd);
	return e;
}

static void allocate(struct script *s, const char *file, uint32_t align, uint8_t zone)
{
	uint8_t *e = entry(s, ACPI_LOADER_ALLOCATE);

	if (!e)
		return;
	strncpy((char *)e + 4, file, NAME_LEN - 1);
	put_le32(e + 4 + NAME_LEN, align);
	e[4 + NAME_LEN + 4] = zone;
}

static void add_pointer(struct script *s, const char *in, const char *to, uint32_t off,
			uint8_t size)
{
	uint8_t *e = entry(s, ACPI_LOADER_ADD_POINTER);

	if (!e)
		return;
	strncpy((char *)e + 4, in, NAME_LEN - 1);
	strncpy((char *)e + 4 + NAME_LEN, to, NAME_LEN - 1);
	put_le32(e + 4 + 2 * NAME_LEN, off);
	e[4 + 2 * NAME_LEN + 4] = size;
}

/* The firmware adds the checksum byte's old value into the sum it computes (OVMF's
 * ProcessCmdAddChecksum doesn't clear it first), so the byte must be 0 in the blob. */
static void add_checksum(struct script *s, uint8_t *blob, const char *file, uint32_t result,
			 uint32_t start, uint32_t len)
{
	uint8_t *e = entry(s, ACPI_LOADER_ADD_CHECKSUM);

	blob[result] = 0;
	if (!e)
		return;
	strncpy((char *)e + 4, file, NAME_LEN - 1);
	put_le32(e + 4 + NAME_LEN, result);
	put_le32(e + 4 + NAME_LEN + 4, start);
	put_le32(e + 4 + NAME_LEN + 8, len);
}

/* The length of the table at off, if it has a whole header and fits in the blob; else 0. */
static uint32_t table_len(const uint8_t *t, size_t len, uint64_t off)
{
	uint32_t n;

	if (off < RSDP_LEN || off > len || len - off < HDR_LEN)
		return 0;
	n = get_le32(t + off + 4);
	return n >= HDR_LEN && n <= len - off ? n : 0;
}

/* A pointer field of size bytes at off (inside the tables file) to a place in it. Zero
 * means "none" (the RSDP sits at offset 0, and nothing points at it). */
static int pointer(struct script *s, const uint8_t *t, size_t len, uint32_t off, uint8_t size)
{
	uint64_t v = size == 8 ? get_le64(t + off) : get_le32(t + off);

	if (v == 0)
		return 0;
	if (v >= len)
		return -EINVAL;
	add_pointer(s, ACPI_LOADER_TABLES_FILE, ACPI_LOADER_TABLES_FILE, off, size);
	return 0;
}

static int fadt_pointers(struct script *s, uint8_t *t, size_t len, uint32_t fadt, uint32_t flen)
{
	static const struct {
		uint32_t off;
		uint8_t size;
	} fields[] = {{FADT_FACS32, 4}, {FADT_DSDT32, 4}, {FADT_FACS64, 8}, {FADT_DSDT64, 8}};
	int rc = 0;

	for (size_t i = 0; i < ARRAY_SIZE(fields) && rc == 0; i++)
		if (fields[i].off + fields[i].size <= flen)
			rc = pointer(s, t, len, fadt + fields[i].off, fields[i].size);
	if (rc == 0)
		add_checksum(s, t, ACPI_LOADER_TABLES_FILE, fadt + 9, fadt, flen);
	return rc;
}

/* RSDT (entry 4 bytes) or XSDT (8): a pointer per entry, the FADT's own pointers, and the
 * root table's checksum. */
static int root_table(struct script *s, uint8_t *t, size_t len, uint64_t root, unsigned esize)
{
	uint32_t rlen = table_len(t, len, root);
	unsigned n;

	if (!rlen || (rlen - HDR_LEN) % esize)
		return -EINVAL;
	n = (rlen - HDR_LEN) / esize;
	if (n > MAX_ENTRIES)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		uint32_t off = (uint32_t)root + HDR_LEN + i * esize;
		uint64_t e = esize == 8 ? get_le64(t + off) : get_le32(t + off);
		uint32_t elen = table_len(t, len, e);

		if (!elen)
			return -EINVAL;
		add_pointer(s, ACPI_LOADER_TABLES_FILE, ACPI_LOADER_TABLES_FILE, off,
			    (uint8_t)esize);
		/* The FADT's pointers once, from the XSDT's walk. */
		if (esize == 8 && !memcmp(t + e, "FACP", 4)) {
			int rc = fadt_pointers(s, t, len, (uint32_t)e, elen);

			if (rc < 0)
				return rc;
		}
	}
	add_checksum(s, t, ACPI_LOADER_TABLES_FILE, (uint32_t)root + 9, (uint32_t)root, rlen);
	return 0;
}

long acpi_loader_build(uint8_t *tables, size_t len, uint8_t *out, size_t cap)
{
	struct script s = {.out = out, .cap = out ? cap : 0};
	uint64_t rsdt, xsdt;
	int rc = 0;

	if (!tables || len < RSDP_LEN || len > UINT32_MAX || memcmp(tables, "RSD PTR ", 8))
		return -EINVAL;
	rsdt = get_le32(tables + 16);
	xsdt = get_le64(tables + 24);
	allocate(&s, ACPI_LOADER_RSDP_FILE, 16, ACPI_LOADER_ZONE_FSEG);
	allocate(&s, ACPI_LOADER_TABLES_FILE, 64, ACPI_LOADER_ZONE_HIGH);
	if (xsdt)
		rc = root_table(&s, tables, len, xsdt, 8);
	if (rc == 0 && rsdt)
		rc = root_table(&s, tables, len, rsdt, 4);
	if (rc < 0)
		return rc;
	if (!xsdt && !rsdt)
		return -EINVAL;
	if (rsdt)
		add_pointer(&s, ACPI_LOADER_RSDP_FILE, ACPI_LOADER_TABLES_FILE, 16, 4);
	if (xsdt)
		add_pointer(&s, ACPI_LOADER_RSDP_FILE, ACPI_LOADER_TABLES_FILE, 24, 8);
	add_checksum(&s, tables, ACPI_LOADER_RSDP_FILE, 8, 0, 20);
	add_checksum(&s, tables, ACPI_LOADER_RSDP_FILE, 32, 0, RSDP_LEN);
	return s.full ? -ENOSPC : (long)s.used;
}
