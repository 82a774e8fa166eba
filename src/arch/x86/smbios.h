/* SMBIOS tables for firmware guests, in the shape OVMF reads from fw_cfg: the structures
 * ("etc/smbios/smbios-tables", ending with type 127) and an SMBIOS 3.0 entry point
 * ("etc/smbios/smbios-anchor") that gives their version and length. OVMF adds its own BIOS
 * information (type 0); these say what the machine is: system (type 1), chassis (type 3). */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define SMBIOS_ANCHOR_LEN  24
#define SMBIOS_TABLES_FILE "etc/smbios/smbios-tables"
#define SMBIOS_ANCHOR_FILE "etc/smbios/smbios-anchor"

/* Writes the structures into buf and the entry point into anchor. uuid: 16 bytes in the order
 * of its string form (RFC 4122), stored the SMBIOS 2.6+ way (the first three fields little-
 * endian), so that the guest reads back the same string (Linux: product_uuid); NULL: all
 * zeros ("present, not set"). Returns the structures' length, or -ENOSPC. */
long smbios_build(const uint8_t *uuid, uint8_t *buf, size_t cap, uint8_t anchor[SMBIOS_ANCHOR_LEN]);
