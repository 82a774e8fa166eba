#include "devices/mch_smram.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/log.h"
#include "devices/device.h"

static const struct pci_dev_ops mch_smram_ops = {.cfg_write = mch_smram_cfg_write};

/* TSEGMB: where TSEG is, read-only (the VMM places it at the top of low RAM). */
static void put_tsegmb(struct mch_smram *s)
{
	put_le32(s->host->cfg + MCH_TSEGMB, (uint32_t)(s->low_end - mch_smram_tseg_len(s)));
}

void mch_smram_init(struct mch_smram *s, struct pci_dev *host, struct guest_mem *mem,
		    struct memslots *slots, uint64_t low_end)
{
	memset(s, 0, sizeof(*s));
	s->host = host;
	s->mem = mem;
	s->slots = slots;
	s->low_end = low_end;
	s->below_slot = s->tseg_slot = -1;
	/* Reset values (Intel 3 Series chipset datasheet, MCH registers 9Dh and 9Eh). */
	host->cfg[MCH_SMRAM] = SMRAM_C_BASE_SEG;
	host->wmask[MCH_SMRAM] = SMRAM_D_OPEN | SMRAM_D_CLS | SMRAM_D_LCK | SMRAM_G_SMRAME;
	host->cfg[MCH_ESMRAMC] = ESMRAMC_SM_CACHE | ESMRAMC_SM_L1 | ESMRAMC_SM_L2;
	host->wmask[MCH_ESMRAMC] = ESMRAMC_H_SMRAME | ESMRAMC_TSEG_SZ | ESMRAMC_T_EN;
	/* QEMU's extension, which OVMF probes: reads back the size once written (0xFFFF). */
	put_le16(host->cfg + MCH_EXT_TSEG_MB, 0);
	put_le16(host->wmask + MCH_EXT_TSEG_MB, 0xFFFF);
	host->ops = &mch_smram_ops;
	host->opaque = s;
	put_le16(host->cfg + MCH_TOLUD, (uint16_t)(low_end >> 20 << 4));
	put_tsegmb(s);
}

uint64_t mch_smram_tseg_len(const struct mch_smram *s)
{
	static const uint64_t mib[] = {1, 2, 8, MCH_TSEG_EXT_MB};

	return mib[(s->host->cfg[MCH_ESMRAMC] & ESMRAMC_TSEG_SZ) >> 1] << 20;
}

bool mch_smram_tseg_closed(const struct mch_smram *s)
{
	return (s->host->cfg[MCH_SMRAM] & SMRAM_G_SMRAME) &&
	       (s->host->cfg[MCH_ESMRAMC] & ESMRAMC_T_EN);
}

bool mch_smram_latched(const struct mch_smram *s)
{
	return __atomic_load_n(&s->latched, __ATOMIC_ACQUIRE);
}

/* Removes a slot's mapping in the normal address space, if it has one. */
static int unmap(struct mch_smram *s, int slot)
{
	if (slot < 0 || !s->slots->map[slot].size)
		return 0;
	return memslot_set_as(s->slots, 0, (unsigned)slot, 0, NULL, 0, 0);
}

static int map_ram(struct mch_smram *s, int slot, uint64_t gpa, uint64_t len)
{
	if (slot < 0 || !len)
		return 0;
	return memslot_set_as(s->slots, 0, (unsigned)slot, gpa,
			      s->mem->host + s->mem->regions[0].offset + gpa, len, 0);
}

/* Caller holds the PCI bus lock. Makes the normal address space and device DMA follow the
 * registers: the window below TSEG is always RAM, TSEG only while it is open. */
static void apply(struct mch_smram *s)
{
	uint64_t len = mch_smram_tseg_len(s), base = s->low_end - len;
	uint64_t win = s->low_end - MCH_TSEG_WINDOW;
	bool closed = mch_smram_tseg_closed(s);

	if (closed) {
		if (!__atomic_exchange_n(&s->latched, true, __ATOMIC_ACQ_REL))
			pr_info("SMM: the firmware closed SMRAM (TSEG %llu MiB at 0x%llx): the "
				"flash is SMM's alone from now on",
				(unsigned long long)(len >> 20), (unsigned long long)base);
		gm_hide(s->mem, base, len);
	}
	if (s->slots && (len != s->mapped_len || closed != s->mapped_closed)) {
		int rc = unmap(s, s->below_slot);

		rc = rc ? rc : unmap(s, s->tseg_slot);
		rc = rc ? rc : map_ram(s, s->below_slot, win, base - win);
		rc = rc ? rc : map_ram(s, s->tseg_slot, base, closed ? 0 : len);
		s->mapped_len = len;
		s->mapped_closed = closed;
		s->remaps++;
		if (rc < 0) {
			s->remap_errors++;
			pr_warn_limited("SMRAM: cannot remap TSEG: %s", strerror(-rc));
		}
	}
	if (!closed)
		gm_hide(s->mem, 0, 0);
}

void mch_smram_cfg_write(struct pci_dev *p, uint32_t off, uint32_t len)
{
	struct mch_smram *s = p->opaque;

	if (off < MCH_EXT_TSEG_MB + 2 && off + len > MCH_EXT_TSEG_MB)
		put_le16(p->cfg + MCH_EXT_TSEG_MB, MCH_TSEG_EXT_MB);
	if (off > MCH_ESMRAMC || off + len <= MCH_SMRAM)
		return;
	put_tsegmb(s);
	if ((p->cfg[MCH_SMRAM] & SMRAM_D_LCK) && p->wmask[MCH_ESMRAMC]) {
		pr_info("SMM: SMRAM locked (D_LCK)");
		/* Locked until reset: D_OPEN cleared, the rest read-only (D_CLS stays). */
		p->cfg[MCH_SMRAM] &= (uint8_t)~SMRAM_D_OPEN;
		p->wmask[MCH_SMRAM] = SMRAM_D_CLS;
		p->wmask[MCH_ESMRAMC] = 0;
	}
	apply(s);
}

/* ---- on the board: Q35's SMRAM with KVM's SMM address space (firmware, smm) ---- */

/* TSEG while closed, seen from outside SMM: reads all ones, writes dropped. The window below
 * TSEG is RAM in a slot, so only TSEG's accesses come here. */
static void tseg_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	(void)opaque;
	(void)off;
	if (!is_write)
		memset(data, 0xFF, len);
}

static bool mch_smram_wanted(const struct vm_config *cfg)
{
	return cfg->firmware && cfg->fw_smm >= 0;
}

/* SMM's address space mirrors the normal one; then the normal one's low RAM slot stops below
 * the TSEG window, whose two slots this device keeps. */
static int map_spaces(struct mch_smram *s, struct board *b)
{
	const struct gm_region *low = &b->mem->regions[0];
	int slot = memslot_find(b->slots, 0);
	int rc = memslots_smm_mirror(b->slots);

	if (rc == 0 && slot < 0)
		rc = slot;
	if (rc == 0)
		rc = memslot_set_as(b->slots, 0, (unsigned)slot, 0, NULL, 0, 0);
	if (rc == 0)
		rc = memslot_set_as(b->slots, 0, (unsigned)slot, 0, b->mem->host + low->offset,
				    low->size - MCH_TSEG_WINDOW, 0);
	s->below_slot = rc == 0 ? memslot_alloc(b->slots) : -1;
	s->tseg_slot = rc == 0 ? memslot_alloc(b->slots) : -1;
	if (rc == 0 && (s->below_slot < 0 || s->tseg_slot < 0))
		rc = -ENOSPC;
	if (rc < 0)
		return rc;
	apply(s);
	if (s->remap_errors)
		return -EIO;
	return iobus_register(b->bus, IOBUS_MMIO, low->size - MCH_TSEG_WINDOW, MCH_TSEG_WINDOW,
			      tseg_io, s, "tseg");
}

static int mch_smram_plug(struct board *b, void **state, char *err, size_t errlen)
{
	const struct gm_region *low = &b->mem->regions[0];
	struct mch_smram *s;
	int rc;

	if (!memslots_smm_ok(b->slots)) {
		if (b->cfg->fw_smm > 0) {
			snprintf(err, errlen,
				 "--firmware ...,smm=on: this KVM has no System Management Mode");
			return -ENOTSUP;
		}
		pr_info("firmware: this KVM has no SMM: Secure Boot builds of OVMF cannot run");
		return 0;
	}
	if (low->gpa != 0 || low->size < 2 * MCH_TSEG_WINDOW) {
		snprintf(err, errlen, "SMM needs at least %llu MiB of RAM below 4 GiB",
			 (unsigned long long)(2 * MCH_TSEG_WINDOW >> 20));
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*state = s;
	mch_smram_init(s, &b->pci->host, b->mem, b->slots, low->size);
	rc = map_spaces(s, b);
	if (rc < 0)
		snprintf(err, errlen, "cannot set up SMM's memory: %s", strerror(-rc));
	return rc;
}

static void mch_smram_unplug(void *state)
{
	struct mch_smram *s = state;

	if (s)
		s->host->ops = NULL;
	free(s);
}

const struct device_model mch_smram_device = {
    .name = "smram",
    .wanted = mch_smram_wanted,
    .plug = mch_smram_plug,
    .unplug = mch_smram_unplug,
};
