/* libFuzzer: a guest driving what System Management Mode adds: Q35's SMRAM registers and any
 * other host bridge and LPC config bytes (0xCF8/0xCFC, any width), the APM ports, SMI_EN and
 * SMI_STS, the SMI feature files through fw_cfg DMA (any length and address), the flash chip
 * from inside or outside SMM, and device DMA into RAM. Checks: once D_LCK is set, SMRAM (but
 * D_CLS) and ESMRAMC never change; while TSEG is closed no device reaches it (gm_ptr); once
 * SMI_LOCK is set, GBL_SMI_EN never changes; accepted SMI features are never more than offered and
 * stay latched; with SMRAM closed, a write from outside SMM changes neither the flash nor its mode.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "devices/fw_cfg.h"
#include "devices/ich9_smi.h"
#include "devices/lpc.h"
#include "devices/mch_smram.h"
#include "devices/pci.h"
#include "devices/pflash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM   (48u << 20)
#define STORE (4 * PFLASH_BLOCK_SIZE)

static void check(int ok)
{
	if (!ok)
		__builtin_trap();
}

struct world {
	struct pci_bus bus;
	struct pci_dev lpc;
	struct mch_smram smram;
	struct ich9_smi smi;
	struct guest_mem gm;
	struct fw_cfg f;
	struct pflash flash;
	uint8_t *ram, *store;
	bool in_smm;
	unsigned smis;
};

static void on_smi(void *opaque, bool all)
{
	struct world *w = opaque;

	(void)all;
	w->smis++;
}

static bool closed(void *opaque)
{
	return mch_smram_latched(&((struct world *)opaque)->smram);
}

static bool in_smm(void *opaque)
{
	return ((struct world *)opaque)->in_smm;
}

/* One op from 12 bytes: o[0] kind (low 3 bits; 8 and 16 are flags), o[1..2] offset, o[3..10] value,
 * o[11] width. */
static void step(struct world *w, const uint8_t *o)
{
	static const uint32_t widths[4] = {1, 2, 4, 8};
	uint32_t len = widths[o[11] & 3];
	uint32_t off = get_le16(o + 1);
	uint8_t v[8], addr[4], before[STORE > 64 ? 64 : STORE];
	enum pflash_mode mode;

	memcpy(v, o + 3, 8);
	switch (o[0] & 7) {
	case 0: /* config space of 00:00.0 or 00:1f.0 */
		put_le32(addr, 0x80000000u | ((o[0] & 8) ? LPC_SLOT << 11 : 0) | (off & 0xFC));
		pci_conf1_io(&w->bus, 0, addr, 4, true);
		pci_conf1_io(&w->bus, 4 + (off & 3), v, len > 4 - (off & 3) ? 1 : len,
			     (o[0] & 16) != 0);
		break;
	case 1:
		ich9_smi_apm_io(&w->smi, off % 3, v, len > 2 ? 1 : len, (o[0] & 16) != 0);
		break;
	case 2:
		ich9_smi_en_io(&w->smi, off % 10, v, len, (o[0] & 16) != 0);
		break;
	case 3: /* fw_cfg: a DMA access structure at 0x1000 */
		put_be32(w->ram + 0x1000, get_le32(v));
		put_be32(w->ram + 0x1004, o[11]);
		put_be32(w->ram + 0x1008, 0);
		put_be32(w->ram + 0x100C, (uint32_t)off << 12 | (get_le32(v + 4) & 0xFFF));
		put_be32(addr, 0x1000);
		fw_cfg_io(&w->f, 8, addr, 4, true);
		break;
	case 4: /* the flash, from inside or outside SMM */
		w->in_smm = (o[0] & 16) != 0;
		off %= STORE;
		memcpy(before, w->store + (off & ~63u), sizeof(before));
		mode = w->flash.mode;
		pflash_io(&w->flash, off, v, len, true);
		if (closed(w) && !w->in_smm) {
			check(w->flash.mode == mode);
			check(!memcmp(before, w->store + (off & ~63u), sizeof(before)));
		}
		break;
	case 5: /* a device's DMA anywhere near TSEG */
		if (gm_ptr(&w->gm, RAM - (MCH_TSEG_WINDOW + 4096) + (uint64_t)off * 256, len))
			check(!mch_smram_tseg_closed(&w->smram) ||
			      (uint64_t)off * 256 + len <=
				  MCH_TSEG_WINDOW + 4096 - mch_smram_tseg_len(&w->smram));
		break;
	default: /* the SMM firmware's PEI sequence, so that the rest runs locked too */
		put_le32(addr, 0x80000000u | (MCH_SMRAM - 1));
		pci_conf1_io(&w->bus, 0, addr, 4, true);
		v[0] = 0, v[1] = SMRAM_G_SMRAME | (o[0] & SMRAM_D_LCK);
		v[2] = ESMRAMC_TSEG_SZ | ESMRAMC_T_EN;
		pci_conf1_io(&w->bus, 5, v + 1, 2, true);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world *w = calloc(1, sizeof(*w));
	uint8_t locked_regs[2] = {0};
	bool locked = false, smi_locked = false;
	uint32_t gbl = 0;

	static uint8_t *ram; /* one RAM for all runs: its contents don't matter */

	if (!ram)
		ram = calloc(1, RAM);
	w->ram = ram;
	w->store = calloc(1, STORE);
	gm_init_buffer(&w->gm, w->ram, RAM);
	pci_bus_init(&w->bus, NULL, NULL);
	lpc_init(&w->lpc);
	check(pci_bus_add_at(&w->bus, &w->lpc, LPC_SLOT) == 0);
	mch_smram_init(&w->smram, &w->bus.host, &w->gm, NULL, RAM);
	ich9_smi_init(&w->smi, &w->lpc, on_smi, w);
	check(fw_cfg_init(&w->f, &w->gm) == 0);
	check(ich9_smi_add_fw_cfg(&w->smi, &w->f) == 0);
	pflash_init(&w->flash, w->store, STORE, NULL, NULL);
	pflash_set_smm(&w->flash, closed, in_smm, w);
	for (size_t pos = 0; pos + 12 <= size; pos += 12) {
		step(w, data + pos);
		if (locked)
			check((w->bus.host.cfg[MCH_SMRAM] & ~SMRAM_D_CLS) == locked_regs[0] &&
			      w->bus.host.cfg[MCH_ESMRAMC] == locked_regs[1]);
		else if (w->bus.host.cfg[MCH_SMRAM] & SMRAM_D_LCK) {
			locked = true;
			locked_regs[0] = w->bus.host.cfg[MCH_SMRAM] & ~SMRAM_D_CLS;
			locked_regs[1] = w->bus.host.cfg[MCH_ESMRAMC];
		}
		if (smi_locked)
			check((w->smi.smi_en & ICH9_SMI_EN_GBL) == gbl);
		else if (lpc_smi_locked(&w->lpc)) {
			smi_locked = true;
			gbl = w->smi.smi_en & ICH9_SMI_EN_GBL;
		}
		check(!(w->smi.features & ~(uint64_t)ICH9_SMI_SUPPORTED));
		check(w->smi.features_ok || !w->smi.features);
		if (mch_smram_tseg_closed(&w->smram))
			check(!gm_ptr(&w->gm, RAM - mch_smram_tseg_len(&w->smram), 1) &&
			      !gm_ptr(&w->gm, RAM - 1, 1));
	}
	pflash_destroy(&w->flash);
	fw_cfg_destroy(&w->f);
	ich9_smi_destroy(&w->smi);
	pci_bus_destroy(&w->bus);
	free(w->store);
	free(w);
	return 0;
}
