/* Where the VMM puts things in low guest memory for a direct Linux boot. */
#pragma once

#define X86_GDT_GPA	  0x500ull
#define X86_ZERO_PAGE_GPA 0x7000ull
#define X86_STACK_TOP	  0x6ff0ull
#define X86_PML4_GPA	  0x9000ull
#define X86_PDPT_GPA	  0xA000ull
#define X86_PD_GPA	  0xB000ull /* 4 pages: identity map of the first 4 GiB */
#define X86_CMDLINE_GPA	  0x20000ull
#define X86_EBDA_START	  0x9FC00ull
#define X86_BIOS_START	  0xE0000ull /* ACPI tables live here; reserved up to 1 MiB */
#define X86_ACPI_GPA	  0xE0000ull
#define X86_ACPI_MAX	  0x10000ull
#define X86_HIMEM_START	  0x100000ull

/* The 32-bit device hole (3 GiB .. 4 GiB): PCI BARs, then ECAM, then the IOAPIC/LAPIC. */
#define X86_PCI_MMIO32_BASE 0xC0000000ull
#define X86_PCI_MMIO32_SIZE 0x20000000ull
#define X86_PCI_ECAM_BASE   0xE0000000ull
#define X86_PCI_ECAM_SIZE   0x10000000ull /* buses 0..255 */

/* Firmware guests (--firmware) get Q35's layout, which OVMF assumes on a Q35 host bridge: ECAM
 * at 0xB0000000 (so RAM below 4 GiB ends there at most), BARs from 0xC0000000 up to
 * 0xFC000000, I/O BARs from 0x6000; the firmware images end at 4 GiB. */
#define X86_FW_HOLE_START  0xB0000000ull
#define X86_FW_ECAM_BASE   0xB0000000ull
#define X86_FW_MMIO32_BASE 0xC0000000ull
#define X86_FW_MMIO32_SIZE 0x3C000000ull
#define X86_FW_PIO_BASE	   0x6000u
#define X86_FW_PIO_SIZE	   0xA000u
