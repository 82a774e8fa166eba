/* The ACPI tables for firmware guests: the tables acpi_build made (at base address 0) become
 * the fw_cfg files "etc/acpi/rsdp" and "etc/acpi/tables", and a script for the firmware's
 * table loader ("etc/table-loader", QEMU's format: 128-byte ALLOCATE, ADD_POINTER and
 * ADD_CHECKSUM commands) that places them, turns their offsets into addresses and fixes
 * their checksums. OVMF then installs every table a pointer leads to. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define ACPI_LOADER_RSDP_FILE	"etc/acpi/rsdp"
#define ACPI_LOADER_TABLES_FILE "etc/acpi/tables"
#define ACPI_LOADER_FILE	"etc/table-loader"
#define ACPI_LOADER_ENTRY_LEN	128

enum acpi_loader_cmd {
	ACPI_LOADER_ALLOCATE = 1,
	ACPI_LOADER_ADD_POINTER = 2,
	ACPI_LOADER_ADD_CHECKSUM = 3,
};

#define ACPI_LOADER_ZONE_HIGH 1
#define ACPI_LOADER_ZONE_FSEG 2

/* Writes the loader script for tables (len bytes, built by acpi_build at base 0, RSDP
 * first) into out, and zeroes in tables the checksum bytes the script has the firmware
 * compute (it sums them in). The RSDP file is the first 36 bytes of tables; the tables file
 * is all of it. Returns the script's length, -ENOSPC if cap is too small, or -EINVAL if the tables
 * don't hold together (a pointer or a length outside the blob). */
long acpi_loader_build(uint8_t *tables, size_t len, uint8_t *out, size_t cap);
