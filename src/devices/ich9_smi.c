#include "devices/ich9_smi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "common/bytes.h"
#include "common/log.h"
#include "devices/device.h"
#include "devices/lpc.h"
#include "kvm/memslots.h"

void ich9_smi_init(struct ich9_smi *s, const struct pci_dev *lpc,
		   void (*smi)(void *opaque, bool all), void *opaque)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->lpc = lpc;
	s->smi = smi;
	s->opaque = opaque;
}

void ich9_smi_destroy(struct ich9_smi *s)
{
	pthread_mutex_destroy(&s->lock);
}

/* Caller holds the lock. The firmware's "software SMI": every vCPU with broadcast, else the
 * one that wrote. (OVMF reads APMC_EN set at reset as "no SMI here": it is clear.) */
static void apm_command(struct ich9_smi *s, uint8_t v)
{
	s->apm_cnt = v;
	if ((s->smi_en & (ICH9_SMI_EN_GBL | ICH9_SMI_EN_APMC)) !=
	    (ICH9_SMI_EN_GBL | ICH9_SMI_EN_APMC))
		return;
	s->smi_sts |= ICH9_SMI_STS_APM;
	s->smis++;
	if (s->smi)
		s->smi(s->opaque, s->features & ICH9_SMI_F_BCAST);
}

void ich9_smi_apm_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct ich9_smi *s = opaque;

	pthread_mutex_lock(&s->lock);
	for (uint32_t i = 0; i < len; i++) {
		uint64_t o = off + i;

		if (!is_write)
			data[i] = o == 0 ? s->apm_cnt : o == 1 ? s->apm_sts : 0xFF;
		else if (o == 0)
			apm_command(s, data[i]);
		else if (o == 1)
			s->apm_sts = data[i];
	}
	pthread_mutex_unlock(&s->lock);
}

/* SMI_EN (read-write; GBL_SMI_EN frozen by SMI_LOCK) and SMI_STS (write 1 to clear). */
void ich9_smi_en_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct ich9_smi *s = opaque;
	uint8_t regs[8];

	if (off >= sizeof(regs) || len > sizeof(regs) - off) {
		if (!is_write)
			memset(data, 0xFF, len);
		return;
	}
	pthread_mutex_lock(&s->lock);
	put_le32(regs, s->smi_en);
	put_le32(regs + 4, s->smi_sts);
	if (!is_write) {
		memcpy(data, regs + off, len);
	} else {
		uint8_t w[8] = {0};
		uint32_t en, clr;

		memcpy(regs + off, data, len);
		memcpy(w + off, data, len);
		en = off < 4 ? get_le32(regs) : s->smi_en;
		if (s->lpc && lpc_smi_locked(s->lpc))
			en = (en & ~(uint32_t)ICH9_SMI_EN_GBL) | (s->smi_en & ICH9_SMI_EN_GBL);
		clr = get_le32(w + 4);
		s->smi_en = en;
		s->smi_sts &= ~clr;
	}
	pthread_mutex_unlock(&s->lock);
}

/* "etc/smi/requested-features": the firmware's 8-byte request, kept until it is judged. */
static void requested_hook(void *opaque, uint8_t *data, uint32_t len, bool written)
{
	struct ich9_smi *s = opaque;

	pthread_mutex_lock(&s->lock);
	if (written && len == 8 && !s->features_ok)
		s->requested = get_le64(data);
	else if (!written && len == 8)
		put_le64(data, s->requested);
	pthread_mutex_unlock(&s->lock);
}

/* "etc/smi/features-ok", on select: a request within what is offered is accepted and latched
 * (1); anything else reads 0 and leaves negotiation open. */
static void features_ok_hook(void *opaque, uint8_t *data, uint32_t len, bool written)
{
	struct ich9_smi *s = opaque;

	if (written || len != 1)
		return;
	pthread_mutex_lock(&s->lock);
	if (!s->features_ok && !(s->requested & ~(uint64_t)ICH9_SMI_SUPPORTED)) {
		s->features = s->requested;
		s->features_ok = true;
		pr_info("SMM: SMI features 0x%llx accepted%s", (unsigned long long)s->features,
			s->features & ICH9_SMI_F_BCAST ? " (broadcast SMIs)" : "");
	}
	data[0] = s->features_ok;
	pthread_mutex_unlock(&s->lock);
}

int ich9_smi_add_fw_cfg(struct ich9_smi *s, struct fw_cfg *f)
{
	uint8_t sup[8], zero[8] = {0};
	int rc;

	put_le64(sup, ICH9_SMI_SUPPORTED);
	rc = fw_cfg_add_file(f, "etc/smi/supported-features", sup, sizeof(sup));
	if (rc == 0)
		rc = fw_cfg_add_file_hook(f, "etc/smi/requested-features", zero, sizeof(zero), true,
					  requested_hook, s);
	if (rc == 0)
		rc = fw_cfg_add_file_hook(f, "etc/smi/features-ok", zero, 1, false,
					  features_ok_hook, s);
	return rc;
}

/* ---- on the board: beside the LPC bridge, where SMM is on ---- */

static bool ich9_smi_wanted(const struct vm_config *cfg)
{
	return cfg->firmware && cfg->fw_smm >= 0;
}

static int ich9_smi_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct ich9_smi *s;
	int rc;

	(void)err;
	(void)errlen;
	if (!memslots_smm_ok(b->slots))
		return 0; /* the smram row said so (or refused smm=on) */
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	*state = s;
	ich9_smi_init(s, b->pci->dev[LPC_SLOT * PCI_FUNCS], b->smi, b->opaque);
	rc = board_add_pio(b, ICH9_APM_CNT, 2, ich9_smi_apm_io, s, "apm");
	if (rc == 0)
		rc = board_add_pio(b, ACPI_PM1A_EVT_PORT + ICH9_SMI_EN_OFF, 8, ich9_smi_en_io, s,
				   "smi-en");
	return rc;
}

static void ich9_smi_unplug(void *state)
{
	if (state)
		ich9_smi_destroy(state);
	free(state);
}

const struct device_model ich9_smi_device = {
    .name = "ich9-smi",
    .wanted = ich9_smi_wanted,
    .plug = ich9_smi_plug,
    .unplug = ich9_smi_unplug,
};
