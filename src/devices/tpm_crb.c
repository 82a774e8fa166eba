#include "devices/tpm_crb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/log.h"
#include "devices/device.h"

/* INTF_ID (PTP, TPM_CRB_INTF_ID): a CRB interface, version 1, the CRB interface selected,
 * locality 0 only, no idle bypass (a driver asks for cmdReady first), 64-byte transfers,
 * no FIFO. VID/DID: IBM's vendor id, as swtpm's TPM (libtpms) is IBM's implementation. */
#define INTF_TYPE_CRB	  1u
#define INTF_VERSION_CRB  (1u << 4)
#define INTF_XFER_64	  (3u << 11)
#define INTF_CAP_CRB	  (1u << 14)
#define INTF_SELECTOR_CRB (1u << 17)
#define INTF_ID_LO                                                                                 \
	(INTF_TYPE_CRB | INTF_VERSION_CRB | INTF_XFER_64 | INTF_CAP_CRB | INTF_SELECTOR_CRB)
#define INTF_VID 0x1014u
#define INTF_DID 0x0001u

void tpm_crb_init(struct tpm_crb *c, uint64_t base, struct tpm_backend be)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	c->be = be;
	c->base = base;
	c->idle = true;
}

void tpm_crb_destroy(struct tpm_crb *c)
{
	pthread_mutex_destroy(&c->lock);
}

/* The value a register dword reads as (off: 4-aligned, below CRB_DATA_BUFFER). */
static uint32_t reg_read(const struct tpm_crb *c, uint32_t off)
{
	uint64_t buf = c->base + CRB_DATA_BUFFER;

	switch (off) {
	case CRB_LOC_STATE:
		return CRB_LOC_STATE_REG_VALID | (c->assigned ? CRB_LOC_STATE_ASSIGNED : 0);
	case CRB_LOC_STS:
		return c->assigned ? CRB_LOC_STS_GRANTED : 0;
	case CRB_INTF_ID:
		return INTF_ID_LO;
	case CRB_INTF_ID + 4:
		return INTF_VID | INTF_DID << 16;
	case CRB_CTRL_STS:
		return (c->error ? CRB_CTRL_STS_ERROR : 0) | (c->idle ? CRB_CTRL_STS_IDLE : 0);
	case CRB_CTRL_CANCEL:
		return c->cancel;
	case CRB_INT_ENABLE:
		return c->int_enable;
	case CRB_CTRL_CMD_SIZE:
	case CRB_CTRL_RSP_SIZE:
		return TPM_CRB_BUF_SIZE;
	case CRB_CTRL_CMD_LADDR:
	case CRB_CTRL_RSP_ADDR:
		return (uint32_t)buf;
	case CRB_CTRL_CMD_HADDR:
	case CRB_CTRL_RSP_ADDR + 4:
		return (uint32_t)(buf >> 32);
	default: /* LOC_CTRL, CTRL_EXT, CTRL_REQ, START (done at once), INT_STS, reserved */
		return 0;
	}
}

/* A response the device makes itself: the header alone with rc. */
static void error_response(struct tpm_crb *c, uint32_t rc)
{
	put_be16(c->buf, TPM2_ST_NO_SESSIONS);
	put_be32(c->buf + 2, TPM_HDR_LEN);
	put_be32(c->buf + 6, rc);
}

/* START: the command in the buffer goes to the back end and its response replaces it.
 * The size is the guest's (the command header's): one outside 10..buffer fails that
 * command; a back end that fails makes every later command fail (tpmSts). */
static void run_command(struct tpm_crb *c)
{
	uint32_t len = get_be32(c->buf + 2);
	ssize_t n;

	c->commands++;
	if (len < TPM_HDR_LEN || len > TPM_CRB_BUF_SIZE) {
		c->bad_commands++;
		error_response(c, TPM2_RC_COMMAND_SIZE);
		return;
	}
	if (c->error) {
		error_response(c, TPM2_RC_FAILURE);
		return;
	}
	n = c->be.exec(c->be.opaque, c->buf, len, c->rsp, sizeof(c->rsp));
	if (n < TPM_HDR_LEN || (size_t)n > sizeof(c->rsp) || get_be32(c->rsp + 2) != (uint32_t)n) {
		c->error = true;
		error_response(c, TPM2_RC_FAILURE);
		return;
	}
	memcpy(c->buf, c->rsp, (size_t)n);
}

static void reg_write(struct tpm_crb *c, uint32_t off, uint32_t v)
{
	switch (off) {
	case CRB_LOC_CTRL:
		/* Locality 0 is the only one: a request or seize is granted at once. */
		if (v & (CRB_LOC_CTRL_REQUEST | CRB_LOC_CTRL_SEIZE))
			c->assigned = true;
		else if (v & CRB_LOC_CTRL_RELINQUISH)
			c->assigned = false;
		break;
	case CRB_CTRL_REQ:
		/* Both transitions complete at once, so the bits read back as 0. */
		if (v & CRB_CTRL_REQ_CMD_READY)
			c->idle = false;
		else if (v & CRB_CTRL_REQ_GO_IDLE)
			c->idle = true;
		break;
	case CRB_CTRL_CANCEL:
		/* A command runs to its end before the write that would cancel it is seen:
		 * there is never one to cancel. The value is kept for the driver to clear. */
		c->cancel = v & 1;
		break;
	case CRB_CTRL_START:
		/* PTP: software writes START only in the Ready state; from Idle the TPM
		 * ignores it (CapCRBIdleBypass is 0). */
		if ((v & CRB_START) && !c->idle)
			run_command(c);
		break;
	case CRB_INT_ENABLE:
		c->int_enable = v; /* no interrupt is ever raised: drivers poll START */
		break;
	default: /* read-only or reserved */
		break;
	}
}

/* Register bytes [off, off+len) within 0..CRB_DATA_BUFFER: each dword touched is read,
 * merged with the written bytes and written back, lowest first. */
static void regs_write(struct tpm_crb *c, uint32_t off, const uint8_t *data, uint32_t len)
{
	uint32_t end = off + len;

	for (uint32_t d = off & ~3u; d < end; d += 4) {
		uint8_t b[4];

		put_le32(b, reg_read(c, d));
		for (uint32_t i = 0; i < 4; i++)
			if (d + i >= off && d + i < end)
				b[i] = data[d + i - off];
		reg_write(c, d, get_le32(b));
	}
}

void tpm_crb_mmio(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct tpm_crb *c = opaque;
	uint32_t reg_len = 0;

	pthread_mutex_lock(&c->lock);
	/* Bytes of locality 0's registers, then of its buffer; other localities read 0. */
	if (off < CRB_DATA_BUFFER)
		reg_len = (uint32_t)(off + len > CRB_DATA_BUFFER ? CRB_DATA_BUFFER - off : len);
	if (is_write && reg_len)
		regs_write(c, (uint32_t)off, data, reg_len);
	for (uint32_t i = 0; i < len; i++) {
		uint64_t a = off + i;

		if (i < reg_len) {
			if (!is_write)
				data[i] = (uint8_t)(reg_read(c, (uint32_t)a & ~3u) >> 8 * (a & 3));
		} else if (a >= CRB_DATA_BUFFER && a < TPM_CRB_LOC_SIZE) {
			if (is_write)
				c->buf[a - CRB_DATA_BUFFER] = data[i];
			else
				data[i] = c->buf[a - CRB_DATA_BUFFER];
		} else if (!is_write) {
			data[i] = 0;
		}
	}
	pthread_mutex_unlock(&c->lock);
}

/* ---- on the board: --tpm socket=PATH ---- */

struct tpm_row {
	struct tpm_crb crb;
	struct swtpm swtpm;
	bool crb_ready;
};

static bool tpm_wanted(const struct vm_config *cfg)
{
	return cfg->tpm_socket[0] != 0;
}

static void tpm_unplug(void *state)
{
	struct tpm_row *r = state;

	swtpm_close(&r->swtpm);
	if (r->crb_ready)
		tpm_crb_destroy(&r->crb);
	free(r);
}

static int tpm_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct tpm_row *r = calloc(1, sizeof(*r));
	int rc;

	*state = r;
	if (!r)
		return -ENOMEM;
	r->swtpm.ctrl_fd = r->swtpm.data_fd = -1;
	rc = swtpm_open(&r->swtpm, b->cfg->tpm_socket, TPM_CRB_BUF_SIZE, err, errlen);
	if (rc < 0)
		return rc;
	tpm_crb_init(&r->crb, TPM_CRB_BASE,
		     (struct tpm_backend){.exec = swtpm_exec, .opaque = &r->swtpm});
	r->crb_ready = true;
	rc = iobus_register(b->bus, IOBUS_MMIO, TPM_CRB_BASE, TPM_CRB_SIZE, tpm_crb_mmio, &r->crb,
			    "tpm-crb");
	if (rc < 0)
		snprintf(err, errlen, "tpm: cannot map its registers at 0x%llx",
			 (unsigned long long)TPM_CRB_BASE);
	return rc;
}

/* Device (TPM) { _HID "MSFT0101", _STA 0xF, _CRS { Memory32Fixed (ReadWrite, base, size) } }:
 * how Linux's tpm_crb and Windows find the TPM; the TPM2 table names the control area. */
static void tpm_dsdt(void *state, struct aml *a)
{
	struct aml_obj dev = aml_device(a, "TPM");
	struct aml_obj crs;

	(void)state;
	aml_name(a, "_HID");
	aml_string(a, "MSFT0101");
	aml_name(a, "_STR");
	aml_string(a, "TPM 2.0 Device");
	aml_method_return_int(a, "_STA", 0x0F);
	aml_name(a, "_CRS");
	crs = aml_restemplate(a);
	aml_res_mem32_fixed(a, true, (uint32_t)TPM_CRB_BASE, TPM_CRB_SIZE);
	aml_restemplate_close(a, crs);
	aml_close(a, dev);
}

const struct device_model tpm_crb_device = {
    .name = "tpm-crb",
    .wanted = tpm_wanted,
    .plug = tpm_plug,
    .unplug = tpm_unplug,
    .dsdt = tpm_dsdt,
};
