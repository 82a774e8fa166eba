/* System Management Mode for OVMF's Secure Boot build: Q35's SMRAM registers (reset values,
 * the extended TSEG query, T_EN closing TSEG to devices, D_LCK), ICH9's SMI sources (the APM
 * port, SMI_EN with SMI_LOCK, the fw_cfg feature negotiation as OVMF runs it) and the flash's
 * rule (writes only from SMM once SMRAM is closed). No KVM: the memory slots are left out. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/bytes.h"
#include "devices/fw_cfg.h"
#include "devices/ich9_smi.h"
#include "devices/lpc.h"
#include "devices/mch_smram.h"
#include "devices/pci.h"
#include "devices/pflash.h"

#define MiB (1ull << 20)
#define RAM (64 * MiB)

static void cfg_rw(struct pci_bus *b, unsigned dev, unsigned reg, uint8_t *d, uint32_t len, bool wr)
{
	uint8_t a[4];

	put_le32(a, 0x80000000u | dev << 11 | (reg & ~3u));
	pci_conf1_io(b, 0, a, 4, true);
	pci_conf1_io(b, 4 + (reg & 3), d, len, wr);
}

static uint8_t rd8(struct pci_bus *b, unsigned dev, unsigned reg)
{
	uint8_t v;

	cfg_rw(b, dev, reg, &v, 1, false);
	return v;
}

static void wr8(struct pci_bus *b, unsigned dev, unsigned reg, uint8_t v)
{
	cfg_rw(b, dev, reg, &v, 1, true);
}

struct env {
	struct pci_bus bus;
	struct pci_dev lpc;
	struct mch_smram smram;
	struct guest_mem gm;
	uint8_t *ram;
};

static void env_setup(struct env *e)
{
	memset(e, 0, sizeof(*e));
	e->ram = calloc(1, RAM);
	assert_non_null(e->ram);
	gm_init_buffer(&e->gm, e->ram, RAM);
	pci_bus_init(&e->bus, NULL, NULL);
	lpc_init(&e->lpc);
	assert_int_equal(pci_bus_add_at(&e->bus, &e->lpc, LPC_SLOT), 0);
	mch_smram_init(&e->smram, &e->bus.host, &e->gm, NULL, RAM);
}

static void env_teardown(struct env *e)
{
	pci_bus_destroy(&e->bus);
	free(e->ram);
}

/* OVMF's PEI sequence (SmmAccessPei, MemDetect): the extended TSEG query, TSEG enabled with
 * the extended size, G_SMRAME; later D_LCK. */
static void test_smram_regs(void **state)
{
	struct env e;
	uint8_t q[2] = {0xFF, 0xFF};
	uint64_t tseg = RAM - MCH_TSEG_WINDOW;

	(void)state;
	env_setup(&e);
	assert_int_equal(rd8(&e.bus, 0, MCH_SMRAM), SMRAM_C_BASE_SEG);
	assert_int_equal(rd8(&e.bus, 0, MCH_ESMRAMC), 0x38); /* SM_CACHE, SM_L1, SM_L2 */
	cfg_rw(&e.bus, 0, MCH_EXT_TSEG_MB, q, 2, true);
	cfg_rw(&e.bus, 0, MCH_EXT_TSEG_MB, q, 2, false);
	assert_int_equal(get_le16(q), MCH_TSEG_EXT_MB);
	assert_false(mch_smram_tseg_closed(&e.smram));
	assert_int_equal(mch_smram_tseg_len(&e.smram), 1 * MiB);
	/* Read-only bits stay; TSEG enabled but G_SMRAME not yet: still open. */
	wr8(&e.bus, 0, MCH_ESMRAMC, ESMRAMC_TSEG_SZ | ESMRAMC_T_EN);
	assert_int_equal(rd8(&e.bus, 0, MCH_ESMRAMC), 0x38 | ESMRAMC_TSEG_SZ | ESMRAMC_T_EN);
	assert_int_equal(mch_smram_tseg_len(&e.smram), MCH_TSEG_WINDOW);
	assert_false(mch_smram_tseg_closed(&e.smram));
	/* OVMF writes TSEGMB and TOLUD and reads TSEGMB back for TSEG's place: they say where
	 * the VMM put TSEG, whatever is written. */
	q[0] = q[1] = 0;
	cfg_rw(&e.bus, 0, MCH_TSEGMB, q, 2, true);
	assert_int_equal(rd8(&e.bus, 0, MCH_TSEGMB + 3), (uint8_t)(tseg >> 24));
	assert_int_equal(rd8(&e.bus, 0, MCH_TSEGMB + 2), (uint8_t)(tseg >> 16));
	cfg_rw(&e.bus, 0, MCH_TOLUD, q, 2, false);
	assert_int_equal(get_le16(q), (RAM >> 20) << 4);
	assert_false(mch_smram_latched(&e.smram));
	assert_non_null(gm_ptr(&e.gm, tseg, 4096));
	wr8(&e.bus, 0, MCH_SMRAM, SMRAM_G_SMRAME | 0x07); /* C_BASE_SEG is read-only */
	assert_int_equal(rd8(&e.bus, 0, MCH_SMRAM), SMRAM_G_SMRAME | SMRAM_C_BASE_SEG);
	assert_true(mch_smram_tseg_closed(&e.smram));
	assert_true(mch_smram_latched(&e.smram));
	/* Closed TSEG: no device reaches it (DMA, loaders), nor across its edges. */
	assert_null(gm_ptr(&e.gm, tseg, 1));
	assert_null(gm_ptr(&e.gm, tseg - 8, 16));
	assert_null(gm_ptr(&e.gm, RAM - 1, 1));
	assert_non_null(gm_ptr(&e.gm, tseg - 8, 8));
	assert_int_equal(gm_write(&e.gm, tseg + 100, "x", 1), -EFAULT);
	/* Opened again (before the lock): devices see it again; the latch stays. */
	wr8(&e.bus, 0, MCH_ESMRAMC, ESMRAMC_TSEG_SZ);
	assert_non_null(gm_ptr(&e.gm, tseg, 1));
	assert_true(mch_smram_latched(&e.smram));
	/* A smaller TSEG closes only its own megabytes. */
	wr8(&e.bus, 0, MCH_ESMRAMC, 0x04 | ESMRAMC_T_EN); /* 8 MiB */
	assert_null(gm_ptr(&e.gm, RAM - 8 * MiB, 1));
	assert_non_null(gm_ptr(&e.gm, RAM - 8 * MiB - 1, 1));
	wr8(&e.bus, 0, MCH_ESMRAMC, ESMRAMC_TSEG_SZ | ESMRAMC_T_EN);
	/* D_LCK (with D_OPEN in the same write: cleared), then nothing changes until reset. */
	wr8(&e.bus, 0, MCH_SMRAM, SMRAM_G_SMRAME | SMRAM_D_LCK | SMRAM_D_OPEN);
	assert_int_equal(rd8(&e.bus, 0, MCH_SMRAM),
			 SMRAM_G_SMRAME | SMRAM_D_LCK | SMRAM_C_BASE_SEG);
	wr8(&e.bus, 0, MCH_SMRAM, SMRAM_D_OPEN);
	wr8(&e.bus, 0, MCH_ESMRAMC, 0);
	assert_int_equal(rd8(&e.bus, 0, MCH_SMRAM),
			 SMRAM_G_SMRAME | SMRAM_D_LCK | SMRAM_C_BASE_SEG);
	assert_int_equal(rd8(&e.bus, 0, MCH_ESMRAMC), 0x38 | ESMRAMC_TSEG_SZ | ESMRAMC_T_EN);
	assert_true(mch_smram_tseg_closed(&e.smram));
	assert_null(gm_ptr(&e.gm, tseg, 1));
	/* D_CLS stays writable after the lock, and changes nothing here. */
	wr8(&e.bus, 0, MCH_SMRAM, SMRAM_D_CLS);
	assert_int_equal(rd8(&e.bus, 0, MCH_SMRAM) & SMRAM_D_CLS, SMRAM_D_CLS);
	env_teardown(&e);
}

/* --- ICH9's SMIs ----------------------------------------------------------------------------- */
struct smi_log {
	unsigned n, all;
};

static void smi_cb(void *opaque, bool all)
{
	struct smi_log *l = opaque;

	l->n++;
	l->all += all;
}

static void en_write(struct ich9_smi *s, uint32_t v)
{
	uint8_t b[4];

	put_le32(b, v);
	ich9_smi_en_io(s, 0, b, 4, true);
}

static uint32_t en_read(struct ich9_smi *s, uint64_t off)
{
	uint8_t b[4];

	ich9_smi_en_io(s, off, b, 4, false);
	return get_le32(b);
}

static void apm(struct ich9_smi *s, uint8_t v)
{
	ich9_smi_apm_io(s, 0, &v, 1, true);
}

/* SmmControl2Dxe's sequence: SMI_EN read (APMC_EN clear: SMIs exist), APMC_EN | GBL_SMI_EN,
 * SMI_LOCK, then a try to clear GBL_SMI_EN that must not stick; SMIs on APM writes. */
static void test_smi_en(void **state)
{
	struct env e;
	struct ich9_smi s;
	struct smi_log log = {0};
	uint8_t b[8];

	(void)state;
	env_setup(&e);
	ich9_smi_init(&s, &e.lpc, smi_cb, &log);
	assert_int_equal(en_read(&s, 0), 0);
	apm(&s, 0x01);
	assert_int_equal(log.n, 0); /* not enabled yet */
	en_write(&s, ICH9_SMI_EN_APMC);
	apm(&s, 0x01);
	assert_int_equal(log.n, 0); /* GBL_SMI_EN off */
	en_write(&s, ICH9_SMI_EN_APMC | ICH9_SMI_EN_GBL);
	wr8(&e.bus, LPC_SLOT, LPC_GEN_PMCON_1, LPC_SMI_LOCK);
	assert_true(lpc_smi_locked(&e.lpc));
	en_write(&s, ICH9_SMI_EN_APMC);
	assert_int_equal(en_read(&s, 0), ICH9_SMI_EN_APMC | ICH9_SMI_EN_GBL);
	/* SMI_LOCK is write-once. */
	wr8(&e.bus, LPC_SLOT, LPC_GEN_PMCON_1, 0);
	assert_true(lpc_smi_locked(&e.lpc));
	apm(&s, 0xA5);
	assert_int_equal(log.n, 1);
	assert_int_equal(log.all, 0); /* no broadcast negotiated */
	ich9_smi_apm_io(&s, 0, b, 2, false);
	assert_int_equal(b[0], 0xA5);
	assert_int_equal(en_read(&s, 4) & ICH9_SMI_STS_APM, ICH9_SMI_STS_APM);
	put_le32(b, ICH9_SMI_STS_APM); /* W1C */
	ich9_smi_en_io(&s, 4, b, 4, true);
	assert_int_equal(en_read(&s, 4), 0);
	/* Odd accesses: out of range reads all ones, nothing breaks. */
	ich9_smi_en_io(&s, 6, b, 4, false);
	assert_int_equal(b[0] & b[1] & b[2] & b[3], 0xFF);
	ich9_smi_en_io(&s, 7, b, 1, true);
	ich9_smi_apm_io(&s, 1, b, 4, false);
	ich9_smi_destroy(&s);
	env_teardown(&e);
}

/* fw_cfg: OVMF's negotiation (SmiFeatures.c): read supported, DMA-write requested, select
 * features-ok; then broadcast SMIs. A request beyond what is offered is refused (0) and the
 * negotiation stays open; an accepted one is latched. */
struct dma_env {
	struct guest_mem gm;
	uint8_t *ram;
	struct fw_cfg f;
};

static uint32_t dma(struct dma_env *e, uint32_t ctl, uint32_t len, uint64_t addr)
{
	uint8_t b[8];
	const uint64_t acc = 0x1000;

	put_be32(e->ram + acc, ctl);
	put_be32(e->ram + acc + 4, len);
	put_be32(e->ram + acc + 8, (uint32_t)(addr >> 32));
	put_be32(e->ram + acc + 12, (uint32_t)addr);
	put_be32(b, 0);
	put_be32(b + 4, (uint32_t)acc);
	fw_cfg_io(&e->f, 4, b, 8, true);
	return get_be32(e->ram + acc);
}

static uint16_t key_of(struct fw_cfg *f, const char *name)
{
	const struct fw_cfg_item *it = fw_cfg_find_file(f, name);

	assert_non_null(it);
	return it->key;
}

static uint8_t features_ok(struct dma_env *e, uint64_t request)
{
	put_le64(e->ram + 0x2000, request);
	assert_int_equal(dma(e,
			     (uint32_t)key_of(&e->f, "etc/smi/requested-features") << 16 |
				 FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE,
			     8, 0x2000),
			 0);
	e->ram[0x3000] = 0xEE;
	assert_int_equal(dma(e,
			     (uint32_t)key_of(&e->f, "etc/smi/features-ok") << 16 |
				 FW_CFG_DMA_SELECT | FW_CFG_DMA_READ,
			     1, 0x3000),
			 0);
	return e->ram[0x3000];
}

static void test_smi_features(void **state)
{
	struct dma_env e;
	struct ich9_smi s;
	struct smi_log log = {0};
	uint16_t k;

	(void)state;
	e.ram = calloc(1, 16 * MiB);
	assert_non_null(e.ram);
	gm_init_buffer(&e.gm, e.ram, 16 * MiB);
	assert_int_equal(fw_cfg_init(&e.f, &e.gm), 0);
	ich9_smi_init(&s, NULL, smi_cb, &log);
	assert_int_equal(ich9_smi_add_fw_cfg(&s, &e.f), 0);
	k = key_of(&e.f, "etc/smi/supported-features");
	assert_int_equal(
	    dma(&e, (uint32_t)k << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, 8, 0x2000), 0);
	assert_int_equal(get_le64(e.ram + 0x2000), ICH9_SMI_F_BCAST);
	/* Read-only files refuse writes; writable ones refuse writes past their end. */
	assert_int_equal(
	    dma(&e, (uint32_t)k << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE, 8, 0x2000),
	    FW_CFG_DMA_ERROR);
	k = key_of(&e.f, "etc/smi/requested-features");
	assert_int_equal(
	    dma(&e, (uint32_t)k << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE, 9, 0x2000),
	    FW_CFG_DMA_ERROR);
	assert_int_equal(
	    dma(&e, (uint32_t)k << 16 | FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE, 8, 0xFFFFFFF0ull),
	    FW_CFG_DMA_ERROR);
	/* CPU hotplug (bit 1) is not offered: refused, still open. */
	assert_int_equal(features_ok(&e, 0x3), 0);
	assert_false(s.features_ok);
	assert_int_equal(features_ok(&e, ICH9_SMI_F_BCAST), 1);
	assert_true(s.features_ok);
	/* Latched: a later request changes nothing. */
	assert_int_equal(features_ok(&e, 0), 1);
	assert_int_equal(s.features, ICH9_SMI_F_BCAST);
	en_write(&s, ICH9_SMI_EN_APMC | ICH9_SMI_EN_GBL);
	apm(&s, 0x01);
	assert_int_equal(log.n, 1);
	assert_int_equal(log.all, 1);
	ich9_smi_destroy(&s);
	fw_cfg_destroy(&e.f);
	free(e.ram);
}

/* --- the flash: SMM's alone once SMRAM is closed -------------------------------------------- */
struct smm_view {
	bool closed, in_smm;
};

static bool view_closed(void *opaque)
{
	return ((struct smm_view *)opaque)->closed;
}

static bool view_in_smm(void *opaque)
{
	return ((struct smm_view *)opaque)->in_smm;
}

static void fwr(struct pflash *p, uint64_t off, uint8_t v)
{
	pflash_io(p, off, &v, 1, true);
}

static void test_pflash_smm(void **state)
{
	static uint8_t mem[2 * PFLASH_BLOCK_SIZE];
	struct smm_view v = {0};
	struct pflash p;
	uint8_t b;

	(void)state;
	memset(mem, 0xFF, sizeof(mem));
	pflash_init(&p, mem, sizeof(mem), NULL, NULL);
	pflash_set_smm(&p, view_closed, view_in_smm, &v);
	/* SMRAM open (no SMM firmware, or before it closed it): the chip takes writes. */
	fwr(&p, 0x10, 0x40);
	fwr(&p, 0x10, 0x11);
	assert_int_equal(mem[0x10], 0x11);
	fwr(&p, 0, 0xFF);
	/* Closed: from outside SMM, program, erase and commands are all dropped. */
	v.closed = true;
	fwr(&p, 0x20, 0x40);
	fwr(&p, 0x20, 0x22);
	assert_int_equal(mem[0x20], 0xFF);
	fwr(&p, 0x0, 0x20);
	fwr(&p, 0x0, 0xD0);
	assert_int_equal(mem[0x10], 0x11);
	fwr(&p, 0x0, 0x70); /* not even the status mode: reads stay the array */
	pflash_io(&p, 0x10, &b, 1, false);
	assert_int_equal(b, 0x11);
	assert_int_equal(p.mode, PFLASH_READ_ARRAY);
	assert_int_equal(p.dropped, 5);
	/* From SMM: as before. */
	v.in_smm = true;
	fwr(&p, 0x20, 0x10);
	fwr(&p, 0x20, 0x22);
	assert_int_equal(mem[0x20], 0x22);
	fwr(&p, 0x0, 0x20);
	fwr(&p, 0x0, 0xD0);
	assert_int_equal(mem[0x10], 0xFF);
	assert_int_equal(p.erases, 1);
	/* A command begun in SMM can't be finished from outside it. */
	fwr(&p, 0x30, 0x40);
	v.in_smm = false;
	fwr(&p, 0x30, 0x33);
	assert_int_equal(mem[0x30], 0xFF);
	assert_int_equal(p.dropped, 6);
	pflash_destroy(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_smram_regs),
	    cmocka_unit_test(test_smi_en),
	    cmocka_unit_test(test_smi_features),
	    cmocka_unit_test(test_pflash_smm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
