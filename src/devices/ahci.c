#include "devices/ahci.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/bytes.h"
#include "devices/atapi.h"
#include "devices/scsi_cd.h"
#include <stdio.h>
#include <stdlib.h>
#include "arch/x86/bootorder.h"
#include "devices/device.h"

/* Generic host control (AHCI 1.3.1 section 3.1). */
#define HBA_CAP	 0x00
#define HBA_GHC	 0x04
#define HBA_IS	 0x08
#define HBA_PI	 0x0C
#define HBA_VS	 0x10
#define HBA_CAP2 0x24
#define PORT0	 0x100
#define PORT_LEN 0x80

#define CAP_S64A     (1u << 31)
#define CAP_SCLO     (1u << 24) /* PxCMD.CLO clears BSY and DRQ */
#define CAP_SAM	     (1u << 18) /* AHCI mode only: GHC.AE reads 1 */
#define CAP_ISS_GEN1 (1u << 20)
#define CAP_NCS_32   (31u << 8)
#define GHC_HR	     (1u << 0)
#define GHC_IE	     (1u << 1)
#define GHC_AE	     (1u << 31)
#define AHCI_VERSION 0x00010301u

/* Port registers (section 3.3), offsets within the port's 0x80 bytes. */
#define PX_CLB	0x00
#define PX_CLBU 0x04
#define PX_FB	0x08
#define PX_FBU	0x0C
#define PX_IS	0x10
#define PX_IE	0x14
#define PX_CMD	0x18
#define PX_TFD	0x20
#define PX_SIG	0x24
#define PX_SSTS 0x28
#define PX_SCTL 0x2C
#define PX_SERR 0x30
#define PX_SACT 0x34
#define PX_CI	0x38

#define IS_DHRS (1u << 0)
#define IS_PSS	(1u << 1)
#define IS_DPS	(1u << 5)
#define IS_OFS	(1u << 24)
#define IS_HBFS (1u << 29)
#define IS_TFES (1u << 30)
#define IE_MASK 0xFDC000FFu

#define CMD_ST	  (1u << 0)
#define CMD_SUD	  (1u << 1)
#define CMD_POD	  (1u << 2)
#define CMD_CLO	  (1u << 3)
#define CMD_FRE	  (1u << 4)
#define CMD_FR	  (1u << 14)
#define CMD_CR	  (1u << 15)
#define CMD_ATAPI (1u << 24)
/* Software-writable bits kept as written: ST, SUD, POD, FRE, ATAPI, DLAE, ALPE, ASP. */
#define CMD_KEEP (CMD_ST | CMD_SUD | CMD_POD | CMD_FRE | CMD_ATAPI | (7u << 25))

#define SSTS_UP	   0x113u /* DET 3 (device, phy up), SPD 1 (Gen1), IPM 1 (active) */
#define SIG_ATAPI  0xEB140101u
#define SIG_NONE   0xFFFFFFFFu
#define SCTL_DET   0xFu
#define ST_OK	   (ATA_DRDY | ATA_DSC)
#define TFD_RESET  0x0100u /* after a reset: status 0, error 01h (no error detected) */
#define FIS_H2D	   0x27
#define FIS_D2H	   0x34
#define FIS_PIO	   0x5F
#define RFIS_PIO   0x20
#define RFIS_D2H   0x40
#define CTL_SRST   0x04
#define PCI_CMD	   0x04
#define INTX_OFF   0x0400
#define PCS_OFF	   0x92 /* ICH9 port control and status: port 0 enabled */
#define MSI_CAP_ID 0x05

/* How one command ended. */
struct result {
	uint8_t status, error, count;
	bool pio_in;	/* PIO data-in: a PIO Setup FIS before the D2H one */
	bool signature; /* the D2H FIS carries the ATAPI signature in its registers */
	uint32_t is;	/* PxIS bits beyond the FIS ones (HBFS, OFS) */
};

/* A walk along a command's PRDT, entry by entry as the data goes. */
struct xfer {
	const struct guest_mem *mem;
	uint64_t prdt;
	unsigned nprd, idx;
	uint32_t off; /* bytes of entry idx used */
	uint32_t done;
	bool dps;   /* an entry with its interrupt bit was used up */
	bool fault; /* an entry or its buffer was not in guest RAM */
};

enum { XFER_OK = 0, XFER_FAULT = -EFAULT, XFER_SHORT = -ENOSPC, XFER_IO = -EIO };

/* The next piece of guest buffer, at most max bytes. */
static int xfer_next(struct xfer *x, uint32_t max, uint8_t **p, uint32_t *n)
{
	while (x->idx < x->nprd) {
		uint8_t e[16];
		uint64_t dba;
		uint32_t dbc, len;

		if (gm_read(x->mem, x->prdt + 16ull * x->idx, e, sizeof(e)) < 0) {
			x->fault = true;
			return XFER_FAULT;
		}
		dba = get_le64(e) & ~1ull;
		dbc = (get_le32(e + 12) & 0x3FFFFFu) + 1;
		if (x->off >= dbc) {
			x->idx++;
			x->off = 0;
			continue;
		}
		len = dbc - x->off < max ? dbc - x->off : max;
		*p = gm_ptr(x->mem, dba + x->off, len);
		if (!*p) {
			x->fault = true;
			return XFER_FAULT;
		}
		x->off += len;
		if (x->off == dbc) {
			x->dps |= (get_le32(e + 12) >> 31) != 0;
			x->idx++;
			x->off = 0;
		}
		*n = len;
		return XFER_OK;
	}
	return XFER_SHORT;
}

static int xfer_copy(struct xfer *x, const uint8_t *src, uint32_t len)
{
	while (len) {
		uint8_t *p;
		uint32_t n;
		int rc = xfer_next(x, len, &p, &n);

		if (rc < 0)
			return rc;
		memcpy(p, src, n);
		src += n;
		len -= n;
		x->done += n;
	}
	return XFER_OK;
}

/* Reads len bytes of the image at off straight into the guest's buffers. */
static int xfer_pread(struct xfer *x, int fd, uint64_t off, uint64_t len)
{
	while (len) {
		uint8_t *p;
		uint32_t n;
		int rc = xfer_next(x, len > (1u << 22) ? 1u << 22 : (uint32_t)len, &p, &n);

		if (rc < 0)
			return rc;
		for (uint32_t got = 0; got < n;) {
			ssize_t r = pread(fd, p + got, n - got, (off_t)(off + got));

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return XFER_IO;
			got += (uint32_t)r;
		}
		off += n;
		len -= n;
		x->done += n;
	}
	return XFER_OK;
}

/* ---- Interrupts ---- */

static bool msi_enabled(const struct ahci *a)
{
	return a->msi_cap && (a->pci.cfg[a->msi_cap + 2] & 1);
}

/* Recomputes the interrupt: INTx follows the level; MSI is sent on each new event that finds
 * an enabled bit pending (event: a PxIS bit was set, or software cleared some but not all). */
static void update_irq(struct ahci *a, bool event)
{
	bool pending = (a->ghc & GHC_IE) && (a->port.is & a->port.ie);
	unsigned gsi = PCI_INTX_GSI0 + (a->pci.slot + 0) % 4;
	int level = 0;

	if (msi_enabled(a)) {
		if (pending && event && a->send_msi) {
			const uint8_t *c = a->pci.cfg + a->msi_cap;

			a->send_msi(a->irq_opaque, get_le64(c + 4), get_le16(c + 12));
		}
	} else {
		level = pending && !(get_le16(a->pci.cfg + PCI_CMD) & INTX_OFF);
	}
	if (level != a->intx_level && a->set_irq)
		a->set_irq(a->irq_opaque, gsi, level);
	a->intx_level = level;
}

static void raise_is(struct ahci *a, uint32_t bits)
{
	a->port.is |= bits;
	update_irq(a, (bits & a->port.ie) != 0);
}

/* ---- FIS posting ---- */

static void post_fis(struct ahci *a, unsigned off, const uint8_t *fis, unsigned len)
{
	struct ahci_port *p = &a->port;

	if (!(p->cmd & CMD_FRE))
		return;
	if (gm_write(a->mem, p->fb + off, fis, len) < 0)
		p->is |= IS_HBFS;
}

static void d2h_fis(uint8_t f[20], uint8_t status, uint8_t error, bool irq, bool signature,
		    uint8_t count)
{
	memset(f, 0, 20);
	f[0] = FIS_D2H;
	f[1] = irq ? 0x40 : 0;
	f[2] = status;
	f[3] = error;
	if (signature) {
		/* PxSIG's bytes: sector count, LBA low, mid, high. */
		f[12] = (uint8_t)SIG_ATAPI;
		f[4] = (uint8_t)(SIG_ATAPI >> 8);
		f[5] = (uint8_t)(SIG_ATAPI >> 16);
		f[6] = (uint8_t)(SIG_ATAPI >> 24);
	} else {
		f[12] = count;
	}
}

/* The drive after a reset: signature in PxSIG/PxTFD and a D2H FIS saying so (no interrupt). */
static void device_reset(struct ahci *a)
{
	struct ahci_port *p = &a->port;
	uint8_t f[20];

	p->sig = SIG_ATAPI;
	p->tfd = TFD_RESET;
	p->srst = false;
	scsi_cd_reset(&a->cd);
	d2h_fis(f, (uint8_t)p->tfd, (uint8_t)(p->tfd >> 8), false, true, 0);
	post_fis(a, RFIS_D2H, f, sizeof(f));
}

/* ---- the drive: ATA PACKET commands (devices/atapi.c) over the PRDT ---- */

static int sink_copy(void *opaque, const uint8_t *src, uint32_t len)
{
	return xfer_copy(opaque, src, len);
}

static int sink_pread(void *opaque, int fd, uint64_t off, uint64_t len)
{
	return xfer_pread(opaque, fd, off, len); /* XFER_IO is -EIO: a read error */
}

static void abort_cmd(struct result *res)
{
	res->status = ATA_DRDY | ATA_ERR;
	res->error = ATA_ABRT;
}

static void ata_cmd(struct ahci *a, const uint8_t *cfis, const uint8_t *acmd, struct xfer *x,
		    struct result *res)
{
	const struct scsi_sink sink = {x, sink_copy, sink_pread};
	struct atapi_result r = {.status = res->status};

	atapi_command(&a->cd, cfis[2], cfis[3], acmd, &sink, &r);
	if (r.reset)
		device_reset(a);
	if (r.xfer_failed)
		res->is |= x->fault ? IS_HBFS : IS_OFS;
	res->status = r.status;
	res->error = r.error;
	res->count = r.count;
	res->signature = r.signature;
	/* PACKET's data went by PIO unless the features said DMA: a PIO Setup FIS then. */
	res->pio_in = r.pio_in && (!r.packet || x->done);
}

/* ---- Command processing ---- */

static void complete(struct ahci *a, unsigned slot, const struct result *res, uint32_t done,
		     bool irq)
{
	struct ahci_port *p = &a->port;
	uint32_t is = res->is | (irq ? IS_DHRS : 0);
	uint8_t f[20];

	p->tfd = (uint32_t)res->error << 8 | res->status;
	if (res->pio_in) {
		uint8_t pio[20];

		memset(pio, 0, sizeof(pio));
		pio[0] = FIS_PIO;
		pio[1] = 0x60; /* interrupt, device to host */
		pio[2] = ATA_DRDY | ATA_DRQ;
		pio[15] = res->status; /* E_Status */
		put_le16(pio + 16, (uint16_t)done);
		post_fis(a, RFIS_PIO, pio, sizeof(pio));
		is |= IS_PSS;
	}
	d2h_fis(f, res->status, res->error, irq, res->signature, res->count);
	post_fis(a, RFIS_D2H, f, sizeof(f));
	if (res->status & ATA_ERR)
		is |= IS_TFES;
	p->ci &= ~(1u << slot);
	p->sact &= ~(1u << slot);
	raise_is(a, is);
}

static void run_slot(struct ahci *a, unsigned slot)
{
	struct ahci_port *p = &a->port;
	struct result res = {.status = ST_OK};
	uint8_t hdr[32], cfis[64], acmd[16];
	uint64_t hgpa = p->clb + 32ull * slot, ctba;
	struct xfer x = {.mem = a->mem};
	uint32_t dw0;

	if (gm_read(a->mem, hgpa, hdr, sizeof(hdr)) < 0) {
		res.is = IS_HBFS;
		abort_cmd(&res);
		complete(a, slot, &res, 0, true);
		return;
	}
	dw0 = get_le32(hdr);
	ctba = get_le64(hdr + 8) & ~0x7Full;
	x.prdt = ctba + 0x80;
	x.nprd = dw0 >> 16;
	if (gm_read(a->mem, ctba, cfis, sizeof(cfis)) < 0 ||
	    gm_read(a->mem, ctba + 0x40, acmd, sizeof(acmd)) < 0) {
		res.is = IS_HBFS;
		abort_cmd(&res);
	} else if (cfis[0] != FIS_H2D) {
		abort_cmd(&res);
	} else if (!(cfis[1] & 0x80)) {
		/* A control register update: SRST set, then cleared, resets the device. */
		bool srst = cfis[15] & CTL_SRST;

		if (!srst && p->srst) {
			device_reset(a);
		} else if (srst) {
			p->srst = true;
			p->tfd = ATA_BSY;
		}
		p->ci &= ~(1u << slot);
		put_le32(hdr + 4, 0);
		if (gm_write(a->mem, hgpa + 4, hdr + 4, 4) < 0)
			p->is |= IS_HBFS;
		update_irq(a, false);
		return;
	} else {
		ata_cmd(a, cfis, acmd, &x, &res);
	}
	put_le32(hdr + 4, x.done); /* PRDBC */
	if (gm_write(a->mem, hgpa + 4, hdr + 4, 4) < 0)
		res.is |= IS_HBFS;
	if (x.dps)
		res.is |= IS_DPS;
	complete(a, slot, &res, x.done, true);
}

static void run_commands(struct ahci *a)
{
	struct ahci_port *p = &a->port;

	for (unsigned slot = 0; slot < 32 && (p->cmd & CMD_ST); slot++)
		if (p->ci & (1u << slot))
			run_slot(a, slot);
}

/* ---- Resets ---- */

static void port_reset(struct ahci *a)
{
	struct ahci_port *p = &a->port;

	p->is = p->ie = p->serr = p->sact = p->ci = 0;
	p->cmd = CMD_SUD | CMD_POD;
	p->sctl = 0;
	p->ssts = SSTS_UP;
	device_reset(a);
}

/* COMRESET (PxSCTL.DET 1) holds the link down; DET back to 0 brings the drive up again. */
static void sctl_write(struct ahci *a, uint32_t v)
{
	struct ahci_port *p = &a->port;
	uint32_t old = p->sctl & SCTL_DET;

	p->sctl = v & 0xFFFu;
	switch (v & SCTL_DET) {
	case 1:
	case 4: /* reset, or the interface off */
		p->ssts = 0;
		p->sig = SIG_NONE;
		p->tfd = ATA_BSY | 0x7F;
		break;
	case 0:
		if (old == 1 || old == 4) {
			p->ssts = SSTS_UP;
			device_reset(a);
		}
		break;
	default:
		break;
	}
}

void ahci_reset(struct ahci *a)
{
	a->ghc = GHC_AE;
	port_reset(a);
	update_irq(a, false);
}

/* ---- Registers ---- */

static uint32_t port_read(struct ahci *a, unsigned reg)
{
	const struct ahci_port *p = &a->port;

	switch (reg) {
	case PX_CLB:
		return (uint32_t)p->clb;
	case PX_CLBU:
		return (uint32_t)(p->clb >> 32);
	case PX_FB:
		return (uint32_t)p->fb;
	case PX_FBU:
		return (uint32_t)(p->fb >> 32);
	case PX_IS:
		return p->is;
	case PX_IE:
		return p->ie;
	case PX_CMD:
		return p->cmd;
	case PX_TFD:
		return p->tfd;
	case PX_SIG:
		return p->sig;
	case PX_SSTS:
		return p->ssts;
	case PX_SCTL:
		return p->sctl;
	case PX_SERR:
		return p->serr;
	case PX_SACT:
		return p->sact;
	case PX_CI:
		return p->ci;
	default:
		return 0;
	}
}

static void cmd_write(struct ahci *a, uint32_t v)
{
	struct ahci_port *p = &a->port;
	bool was_st = p->cmd & CMD_ST;

	p->cmd = v & CMD_KEEP;
	if (p->cmd & CMD_FRE)
		p->cmd |= CMD_FR;
	if (p->cmd & CMD_ST)
		p->cmd |= CMD_CR;
	else if (was_st)
		p->ci = p->sact = 0; /* the engine stops: what was issued is dropped */
	if (v & CMD_CLO)
		p->tfd &= ~(uint32_t)(ATA_BSY | ATA_DRQ);
}

static void port_write(struct ahci *a, unsigned reg, uint32_t v)
{
	struct ahci_port *p = &a->port;

	switch (reg) {
	case PX_CLB:
		p->clb = (p->clb & ~0xFFFFFFFFull) | (v & ~0x3FFu);
		break;
	case PX_CLBU:
		p->clb = (p->clb & 0xFFFFFFFFull) | (uint64_t)v << 32;
		break;
	case PX_FB:
		p->fb = (p->fb & ~0xFFFFFFFFull) | (v & ~0xFFu);
		break;
	case PX_FBU:
		p->fb = (p->fb & 0xFFFFFFFFull) | (uint64_t)v << 32;
		break;
	case PX_IS:
		p->is &= ~v;
		update_irq(a, true);
		break;
	case PX_IE:
		p->ie = v & IE_MASK;
		update_irq(a, true);
		break;
	case PX_CMD:
		cmd_write(a, v);
		run_commands(a);
		break;
	case PX_SCTL:
		sctl_write(a, v);
		break;
	case PX_SERR:
		p->serr &= ~v;
		break;
	case PX_SACT:
		if (p->cmd & CMD_ST)
			p->sact |= v;
		break;
	case PX_CI:
		if (p->cmd & CMD_ST) {
			p->ci |= v;
			run_commands(a);
		}
		break;
	default:
		break;
	}
}

static uint32_t reg_read(struct ahci *a, unsigned off)
{
	switch (off) {
	case HBA_CAP:
		return CAP_S64A | CAP_SCLO | CAP_SAM | CAP_ISS_GEN1 | CAP_NCS_32; /* NP 0: 1 port */
	case HBA_GHC:
		return a->ghc;
	case HBA_IS:
		return (a->port.is & a->port.ie) ? 1u : 0u;
	case HBA_PI:
		return 1;
	case HBA_VS:
		return AHCI_VERSION;
	case HBA_CAP2:
		return 0;
	default:
		if (off >= PORT0 && off < PORT0 + PORT_LEN)
			return port_read(a, off - PORT0);
		return 0;
	}
}

static void reg_write(struct ahci *a, unsigned off, uint32_t v)
{
	switch (off) {
	case HBA_GHC:
		if (v & GHC_HR) {
			ahci_reset(a); /* completes at once: HR reads back 0 */
			return;
		}
		a->ghc = GHC_AE | (v & GHC_IE);
		update_irq(a, true);
		break;
	case HBA_IS:
		/* Write-1-to-clear of a bit that only summarises the port's PxIS & PxIE. */
		update_irq(a, true);
		break;
	default:
		if (off >= PORT0 && off < PORT0 + PORT_LEN)
			port_write(a, off - PORT0, v);
		break;
	}
}

void ahci_mmio(struct ahci *a, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	pthread_mutex_lock(&a->lock);
	if (off >= AHCI_BAR_SIZE || len > AHCI_BAR_SIZE - off) {
		if (!is_write)
			memset(data, 0xFF, len);
	} else if (is_write) {
		/* Registers take whole (aligned) dwords; a qword is two of them. */
		if ((len == 4 || len == 8) && !(off & 3)) {
			for (uint32_t i = 0; i < len; i += 4)
				reg_write(a, (unsigned)off + i, get_le32(data + i));
		}
	} else {
		for (uint32_t i = 0; i < len; i++) {
			unsigned o = (unsigned)off + i;

			data[i] = (uint8_t)(reg_read(a, o & ~3u) >> (8 * (o & 3)));
		}
	}
	pthread_mutex_unlock(&a->lock);
}

static void ahci_bar_io(struct pci_dev *d, unsigned bar, uint64_t off, uint8_t *data, uint32_t len,
			bool is_write)
{
	if (bar == AHCI_BAR) {
		ahci_mmio(d->opaque, off, data, len, is_write);
	} else if (!is_write) {
		memset(data, 0xFF, len);
	}
}

/* MSI on or off, or INTx disabled, changes where the interrupt goes. */
static void ahci_cfg_write(struct pci_dev *d, uint32_t off, uint32_t len)
{
	struct ahci *a = d->opaque;

	(void)off;
	(void)len;
	pthread_mutex_lock(&a->lock);
	update_irq(a, false);
	pthread_mutex_unlock(&a->lock);
}

static const struct pci_dev_ops ahci_ops = {.bar_io = ahci_bar_io, .cfg_write = ahci_cfg_write};

int ahci_init(struct ahci *a, const struct guest_mem *mem, int fd, uint64_t size,
	      ahci_irq_fn set_irq, ahci_msi_fn send_msi, void *irq_opaque)
{
	/* 64-bit MSI, one vector: control (enable, MME), address, upper address, data. */
	static const uint8_t msi_body[12] = {0x80, 0};
	static const uint8_t msi_wmask[12] = {0x71, 0,	  0xFC, 0xFF, 0xFF, 0xFF,
					      0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};

	if (size < AHCI_SECTOR)
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	pthread_mutex_init(&a->lock, NULL);
	a->mem = mem;
	scsi_cd_init(&a->cd, fd, size);
	a->set_irq = set_irq;
	a->send_msi = send_msi;
	a->irq_opaque = irq_opaque;
	pci_dev_init(&a->pci, 0x8086, 0x2922, 0x010601, 0x02, 0x1AF4, 0x1100);
	a->pci.ops = &ahci_ops;
	a->pci.opaque = a;
	a->pci.cfg[PCS_OFF] = 0x01;
	pci_dev_set_bar(&a->pci, AHCI_BAR, PCI_BAR_MEM32, AHCI_BAR_SIZE);
	a->msi_cap = pci_dev_add_cap(&a->pci, MSI_CAP_ID, msi_body, msi_wmask, sizeof(msi_body));
	a->ghc = GHC_AE;
	port_reset(a);
	return 0;
}

void ahci_destroy(struct ahci *a)
{
	pthread_mutex_destroy(&a->lock);
}

/* ---- on the board: --cdrom ---- */

static bool cdrom_wanted(const struct vm_config *cfg)
{
	return cfg->cdrom[0] != 0;
}

static void cdrom_unplug(void *state)
{
	struct ahci *a = state;

	if (a->cd.fd >= 0)
		close(a->cd.fd);
	ahci_destroy(a);
	free(a);
}

/* With the LPC bridge (firmware) the controller is function 2 of its slot, 00:1f.2, where Q35
 * has its AHCI; a Linux guest booted directly has no LPC bridge, and the controller takes the
 * next free slot as function 0 (a function 2 without a function 0 is not scanned). */
static int cdrom_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct ahci *a = calloc(1, sizeof(*a));
	uint64_t size = 0;
	int fd, rc;
	char path[BOOT_PATH_MAX];

	if (!a)
		return -ENOMEM;
	fd = scsi_cd_open(b->cfg->cdrom, &size, err, errlen);
	if (fd < 0) {
		free(a);
		return fd;
	}
	rc = ahci_init(a, b->mem, fd, size, b->set_irq, b->send_msi, b->opaque);
	if (rc < 0) {
		close(fd);
		free(a);
		return rc;
	}
	*state = a;
	rc = b->q35_lpc ? pci_bus_add_fn(b->pci, &a->pci, AHCI_SLOT, AHCI_FN)
			: pci_bus_add(b->pci, &a->pci);
	if (rc < 0) {
		snprintf(err, errlen, "cannot plug the AHCI controller: no free PCI slot");
		return rc;
	}
	if (b->cfg->cdrom_bootindex < 0)
		return 0;
	rc = boot_ofw_sata(path, sizeof(path), a->pci.slot, a->pci.fn, 0);
	return rc ? rc : board_boot_order_add(b, b->cfg->cdrom_bootindex, path, err, errlen);
}

const struct device_model ahci_cdrom_device = {
    .name = "ahci-cdrom",
    .wanted = cdrom_wanted,
    .plug = cdrom_plug,
    .unplug = cdrom_unplug,
};
