/* Q35's SMRAM for KVM's System Management Mode: the MCH's SMRAM (0x9D) and ESMRAMC (0x9E)
 * registers with the extended TSEG size (0x50) that OVMF's SMM build programs, and the memory
 * behind them: SMM's own KVM address space (all of memory, TSEG always RAM) and, outside SMM,
 * TSEG (the top of RAM below 4 GiB) taken away once the firmware closes it (G_SMRAME and T_EN),
 * for the CPU (its slot removed: accesses read all ones) and for devices (gm_hide). D_LCK locks
 * the registers until reset. TSEGMB and TOLUD read what the VMM's layout is (OVMF writes the
 * same values, and takes TSEG's place from TSEGMB). docs/firmware.md, "Secure Boot and SMM". */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "devices/pci.h"
#include "kvm/guest_mem.h"
#include "kvm/memslots.h"

#define MCH_EXT_TSEG_MB 0x50 /* 16-bit: the extended TSEG's size in MiB, after a query write */
#define MCH_SMRAM	0x9D
#define MCH_ESMRAMC	0x9E
#define MCH_TSEGMB	0xAC /* 32-bit: TSEG's base (bits 31:20), which OVMF reads back */
#define MCH_TOLUD	0xB0 /* 16-bit: top of low usable DRAM (bits 15:4, in MiB) */

#define SMRAM_D_OPEN	 0x40
#define SMRAM_D_CLS	 0x20
#define SMRAM_D_LCK	 0x10
#define SMRAM_G_SMRAME	 0x08
#define SMRAM_C_BASE_SEG 0x02 /* read-only: compatible SMRAM at 0xA0000 */

#define ESMRAMC_H_SMRAME 0x80
#define ESMRAMC_E_SMERR	 0x40
#define ESMRAMC_SM_CACHE 0x20 /* read-only ones: OVMF checks them to know SMRAM is there */
#define ESMRAMC_SM_L1	 0x10
#define ESMRAMC_SM_L2	 0x08
#define ESMRAMC_TSEG_SZ	 0x06 /* 00: 1 MiB, 01: 2 MiB, 10: 8 MiB, 11: the extended size */
#define ESMRAMC_T_EN	 0x01

#define MCH_TSEG_EXT_MB 16 /* the extended TSEG (QEMU's default too) */
#define MCH_TSEG_WINDOW ((uint64_t)MCH_TSEG_EXT_MB << 20) /* the largest TSEG */

struct mch_smram {
	struct pci_dev *host; /* 00:00.0, whose registers these are */
	struct guest_mem *mem;
	struct memslots *slots;	   /* NULL: registers only (tests) */
	uint64_t low_end;	   /* end of RAM below 4 GiB: TSEG ends here */
	int below_slot, tseg_slot; /* normal address space: the window below TSEG, and TSEG */
	uint64_t mapped_len;	   /* TSEG as mapped now (0: not yet) */
	bool mapped_closed;
	bool latched; /* SMRAM closed since reset: an SMM firmware runs (atomic) */
	uint64_t remaps, remap_errors;
};

/* The registers' reset values and write masks on the host bridge, and its config hook. */
void mch_smram_init(struct mch_smram *s, struct pci_dev *host, struct guest_mem *mem,
		    struct memslots *slots, uint64_t low_end);
/* TSEG's size as ESMRAMC selects it, and whether it is closed to everything outside SMM. */
uint64_t mch_smram_tseg_len(const struct mch_smram *s);
bool mch_smram_tseg_closed(const struct mch_smram *s);
/* Whether SMRAM has been closed since reset (the flash then takes writes only from SMM). */
bool mch_smram_latched(const struct mch_smram *s);
/* The host bridge's cfg_write hook (pci_dev_ops): D_LCK, the TSEG size query, the memory. */
void mch_smram_cfg_write(struct pci_dev *p, uint32_t off, uint32_t len);

/* On the board: with --firmware where KVM has SMM (or smm=on). */
extern const struct device_model mch_smram_device;
