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
