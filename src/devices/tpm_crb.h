/* The TPM 2.0 device (--tpm): the Command Response Buffer interface of the TCG PC Client
 * Platform TPM Profile (PTP) at the PC's TPM address, locality 0, with its command and
 * response buffer inside the register block. Commands go to a struct tpm_backend (swtpm).
 * docs/tpm.md. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "backends/swtpm.h"

#define TPM_CRB_BASE	 0xFED40000ull
#define TPM_CRB_LOC_SIZE 0x1000u		/* one locality's registers */
#define TPM_CRB_SIZE	 (5 * TPM_CRB_LOC_SIZE) /* localities 0..4; only 0 is implemented */

/* Register offsets within a locality (PTP, "CRB Interface Registers"). */
enum {
	CRB_LOC_STATE = 0x00,
	CRB_LOC_CTRL = 0x08,
	CRB_LOC_STS = 0x0C,
	CRB_INTF_ID = 0x30, /* 64-bit */
	CRB_CTRL_EXT = 0x38,
	CRB_CTRL_REQ = 0x40, /* the control area: the ACPI TPM2 table points here */
	CRB_CTRL_STS = 0x44,
	CRB_CTRL_CANCEL = 0x48,
	CRB_CTRL_START = 0x4C,
	CRB_INT_ENABLE = 0x50,
	CRB_INT_STS = 0x54,
	CRB_CTRL_CMD_SIZE = 0x58,
	CRB_CTRL_CMD_LADDR = 0x5C,
	CRB_CTRL_CMD_HADDR = 0x60,
	CRB_CTRL_RSP_SIZE = 0x64,
	CRB_CTRL_RSP_ADDR = 0x68, /* 64-bit */
	CRB_DATA_BUFFER = 0x80,
};

#define TPM_CRB_BUF_SIZE (TPM_CRB_LOC_SIZE - CRB_DATA_BUFFER) /* 3968 bytes */

/* Bits. */
#define CRB_LOC_STATE_ASSIGNED	(1u << 1)
#define CRB_LOC_STATE_REG_VALID (1u << 7)
#define CRB_LOC_CTRL_REQUEST	(1u << 0)
#define CRB_LOC_CTRL_RELINQUISH (1u << 1)
#define CRB_LOC_CTRL_SEIZE	(1u << 2)
#define CRB_LOC_STS_GRANTED	(1u << 0)
#define CRB_CTRL_REQ_CMD_READY	(1u << 0)
#define CRB_CTRL_REQ_GO_IDLE	(1u << 1)
#define CRB_CTRL_STS_ERROR	(1u << 0) /* tpmSts: the TPM failed and needs a reset */
#define CRB_CTRL_STS_IDLE	(1u << 1)
#define CRB_START		(1u << 0)

/* TPM 2.0 response codes the device itself answers with. */
#define TPM2_ST_NO_SESSIONS  0x8001
#define TPM2_RC_FAILURE	     0x101
#define TPM2_RC_COMMAND_SIZE 0x142

struct tpm_crb {
	pthread_mutex_t lock; /* vCPU threads; held across a command's round trip */
	struct tpm_backend be;
	uint64_t base; /* the block's guest address: the buffer address registers say it */
	bool assigned; /* locality 0 granted */
	bool idle;
	bool error; /* CTRL_STS.tpmSts: the back end failed */
	uint32_t cancel, int_enable;
	uint64_t commands, bad_commands;
	uint8_t buf[TPM_CRB_BUF_SIZE];
	uint8_t rsp[TPM_CRB_BUF_SIZE];
};

/* Power-on state: idle, no locality, the buffer zeroed. */
void tpm_crb_init(struct tpm_crb *c, uint64_t base, struct tpm_backend be);
void tpm_crb_destroy(struct tpm_crb *c);
/* iobus_fn for the TPM_CRB_SIZE block: any offset, any width (the buffer is read and
 * written with memcpy_fromio/memcpy_toio-sized accesses). */
void tpm_crb_mmio(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);

struct device_model;
extern const struct device_model tpm_crb_device;
