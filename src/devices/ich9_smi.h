/* ICH9's SMI sources as OVMF's SMM build uses them: the APM control port (0xB2: a write raises
 * an SMI when SMI_EN has APMC_EN and GBL_SMI_EN) and status port (0xB3), SMI_EN and SMI_STS at
 * PMBASE + 0x30 / + 0x34 (GBL_SMI_EN locked by the LPC bridge's SMI_LOCK), and QEMU's SMI
 * feature negotiation through fw_cfg ("etc/smi/supported-features", "requested-features",
 * "features-ok"): broadcast SMIs (every vCPU enters SMM together) are offered, and latched
 * until reset once the firmware's request is accepted. docs/firmware.md. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/fw_cfg.h"
#include "devices/pci.h"

#define ICH9_APM_CNT	   0xB2
#define ICH9_SMI_EN_OFF	   0x30 /* from PMBASE */
#define ICH9_SMI_EN_GBL	   0x01
#define ICH9_SMI_EN_APMC   0x20
#define ICH9_SMI_STS_APM   0x20
#define ICH9_SMI_F_BCAST   0x01 /* feature bit: broadcast SMI */
#define ICH9_SMI_SUPPORTED ICH9_SMI_F_BCAST

struct ich9_smi {
	pthread_mutex_t lock;
	const struct pci_dev *lpc; /* for SMI_LOCK (NULL: never locked) */
	void (*smi)(void *opaque, bool all);
	void *opaque;
	uint8_t apm_cnt, apm_sts;
	uint32_t smi_en, smi_sts;
	uint64_t requested, features; /* what the firmware asked for; what it got */
	bool features_ok;	      /* negotiation done: latched until reset */
	uint64_t smis;		      /* counters */
};

void ich9_smi_init(struct ich9_smi *s, const struct pci_dev *lpc,
		   void (*smi)(void *opaque, bool all), void *opaque);
void ich9_smi_destroy(struct ich9_smi *s);
/* iobus handlers: ports 0xB2..0xB3, and PMBASE + 0x30 .. + 0x37. */
void ich9_smi_apm_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
void ich9_smi_en_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
/* The three negotiation files (the machine adds them with the other fw_cfg items). */
int ich9_smi_add_fw_cfg(struct ich9_smi *s, struct fw_cfg *f);

/* On the board: with --firmware where SMM is on. */
extern const struct device_model ich9_smi_device;
