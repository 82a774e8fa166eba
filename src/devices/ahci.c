#include "devices/ahci.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/bytes.h"

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
#define ATA_BSY	   0x80
#define ATA_DRDY   0x40
#define ATA_DSC	   0x10
#define ATA_DRQ	   0x08
#define ATA_ERR	   0x01
#define ATA_ABRT   0x04
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

/* SCSI sense (SPC / MMC). */
#define SK_NOT_READY	   0x02
#define SK_MEDIUM_ERROR	   0x03
#define SK_ILLEGAL_REQUEST 0x05
#define ASC_INVALID_OPCODE 0x20
#define ASC_LBA_RANGE	   0x21
#define ASC_INVALID_FIELD  0x24
#define ASC_READ_ERROR	   0x11
#define ASC_NOT_SUPPORTED  0x39 /* saving parameters not supported */

#define CD_MAX_SECTORS (80u * 60u * 75u) /* an 80-minute CD: larger images are DVDs */
#define RESP_MAX       (4u + 2048u)	 /* READ DVD STRUCTURE's physical format information */

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
	bool dps; /* an entry with its interrupt bit was used up */
};

enum { XFER_OK = 0, XFER_FAULT = -EFAULT, XFER_SHORT = -ENOSPC, XFER_IO = -EIO };

/* The next piece of guest buffer, at most max bytes. */
static int xfer_next(struct xfer *x, uint32_t max, uint8_t **p, uint32_t *n)
{
	while (x->idx < x->nprd) {
		uint8_t e[16];
		uint64_t dba;
		uint32_t dbc, len;

		if (gm_read(x->mem, x->prdt + 16ull * x->idx, e, sizeof(e)) < 0)
			return XFER_FAULT;
		dba = get_le64(e) & ~1ull;
		dbc = (get_le32(e + 12) & 0x3FFFFFu) + 1;
		if (x->off >= dbc) {
			x->idx++;
			x->off = 0;
			continue;
		}
		len = dbc - x->off < max ? dbc - x->off : max;
		*p = gm_ptr(x->mem, dba + x->off, len);
		if (!*p)
			return XFER_FAULT;
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
	p->sense_key = p->asc = p->ascq = 0;
	p->prevent = false;
	d2h_fis(f, (uint8_t)p->tfd, (uint8_t)(p->tfd >> 8), false, true, 0);
	post_fis(a, RFIS_D2H, f, sizeof(f));
}

/* ---- SCSI MMC over PACKET ---- */

static int sense(struct ahci_port *p, uint8_t key, uint8_t asc, uint8_t ascq)
{
	p->sense_key = key;
	p->asc = asc;
	p->ascq = ascq;
	return -1;
}

static int invalid_field(struct ahci_port *p)
{
	return sense(p, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
}

static bool is_dvd(const struct ahci *a)
{
	return a->sectors > CD_MAX_SECTORS;
}

static void ascii_pad(uint8_t *dst, const char *s, unsigned len)
{
	size_t n = strlen(s);

	memset(dst, ' ', len);
	memcpy(dst, s, n < len ? n : len);
}

static uint32_t inquiry(const uint8_t *cdb, uint8_t *r, struct ahci_port *p)
{
	static const char serial[] = "PHYLLOME-CD0";

	if (!(cdb[1] & 1)) {
		if (cdb[2])
			return (uint32_t)invalid_field(p);
		r[0] = 0x05; /* CD/DVD device */
		r[1] = 0x80; /* removable */
		r[2] = 0x05; /* SPC-3 */
		r[3] = 0x02; /* response data format */
		r[4] = 31;
		ascii_pad(r + 8, "PHYLLOME", 8);
		ascii_pad(r + 16, "DVD-ROM", 16);
		ascii_pad(r + 32, "1.0", 4);
		return 36;
	}
	r[0] = 0x05;
	r[1] = cdb[2];
	switch (cdb[2]) {
	case 0x00: /* supported pages */
		r[3] = 3;
		r[5] = 0x80;
		r[6] = 0x83;
		return 7;
	case 0x80: /* unit serial number */
		r[3] = (uint8_t)(sizeof(serial) - 1);
		memcpy(r + 4, serial, sizeof(serial) - 1);
		return 4 + (uint32_t)sizeof(serial) - 1;
	case 0x83:	     /* device identification: one T10 vendor ID designator */
		r[4] = 0x02; /* ASCII */
		r[5] = 0x01; /* T10 vendor ID, associated with the logical unit */
		r[7] = 8 + (uint8_t)(sizeof(serial) - 1);
		ascii_pad(r + 8, "PHYLLOME", 8);
		memcpy(r + 16, serial, sizeof(serial) - 1);
		r[3] = (uint8_t)(4 + r[7]);
		return 4u + r[3];
	default:
		return (uint32_t)invalid_field(p);
	}
}

/* Capabilities and mechanical status page (MMC 2Ah), 22 bytes. */
static unsigned page_caps(const struct ahci_port *p, uint8_t *r)
{
	r[0] = 0x2A;
	r[1] = 0x14;
	r[2] = 0x3B;				  /* reads CD-R/RW, DVD-ROM/R/RAM */
	r[4] = 0x71;				  /* audio, mode 2 forms, multisession */
	r[5] = 0x1F;				  /* CD-DA commands, stream accurate, ... */
	r[6] = 0x29 | (p->prevent ? 0x02 : 0x00); /* tray, eject, lock (and its state) */
	put_be16(r + 8, 8 * 176);		  /* max read speed, KB/s (obsolete field) */
	put_be16(r + 10, 256);			  /* volume levels */
	put_be16(r + 12, 512);			  /* buffer size, KB */
	put_be16(r + 14, 8 * 176);		  /* current read speed */
	return 22;
}

/* MODE SENSE (6) and (10): the capabilities page (alone or in "all pages"), no block
 * descriptors. Changeable values are all zero; saved ones are not supported. */
static uint32_t mode_sense(const uint8_t *cdb, uint8_t *r, struct ahci_port *p)
{
	bool ten = cdb[0] == 0x5A;
	unsigned hdr = ten ? 8 : 4, page = cdb[2] & 0x3F, pc = cdb[2] >> 6, len;

	if (pc == 3)
		return (uint32_t)sense(p, SK_ILLEGAL_REQUEST, ASC_NOT_SUPPORTED, 0);
	if (page != 0x2A && page != 0x3F)
		return (uint32_t)invalid_field(p);
	len = page_caps(p, r + hdr);
	if (pc == 1)
		memset(r + hdr + 2, 0, len - 2);
	len += hdr;
	if (ten)
		put_be16(r, len - 2);
	else
		r[0] = (uint8_t)(len - 1);
	return len;
}

static void lba_to_msf(uint8_t *m, uint32_t lba)
{
	lba += 150;
	m[0] = 0;
	m[1] = (uint8_t)(lba / (60 * 75));
	m[2] = (uint8_t)((lba / 75) % 60);
	m[3] = (uint8_t)(lba % 75);
}

static void toc_addr(uint8_t *m, uint32_t lba, bool msf)
{
	if (msf)
		lba_to_msf(m, lba);
	else
		put_be32(m, lba);
}

/* READ TOC/PMA/ATIP: formats 0 (TOC), 1 (session info) and 2 (full TOC) of a one-track,
 * one-session data disc. */
static uint32_t read_toc(const struct ahci *a, const uint8_t *cdb, uint8_t *r, struct ahci_port *p)
{
	bool msf = cdb[1] & 2;
	unsigned fmt = cdb[2] & 0xF, track = cdb[6], n = 4;
	uint32_t end = a->sectors > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)a->sectors;

	if (!fmt)
		fmt = cdb[9] >> 6; /* the older place of the format */
	r[2] = r[3] = 1;	   /* first and last track (or session) */
	switch (fmt) {
	case 0:
		if (track > 1 && track != 0xAA)
			return (uint32_t)invalid_field(p);
		if (track <= 1) {
			r[n + 1] = 0x14; /* ADR 1, data track */
			r[n + 2] = 1;
			toc_addr(r + n + 4, 0, msf);
			n += 8;
		}
		r[n + 1] = 0x14;
		r[n + 2] = 0xAA; /* lead-out */
		toc_addr(r + n + 4, end, msf);
		n += 8;
		break;
	case 1:
		r[n + 1] = 0x14;
		r[n + 2] = 1;
		toc_addr(r + n + 4, 0, msf);
		n += 8;
		break;
	case 2: {
		/* A0 (first track), A1 (last track), A2 (lead-out), then track 1: 11 bytes each. */
		static const uint8_t points[4] = {0xA0, 0xA1, 0xA2, 0x01};

		for (unsigned i = 0; i < 4; i++, n += 11) {
			uint8_t *d = r + n;

			d[0] = 1;
			d[1] = 0x14;
			d[3] = points[i];
			if (points[i] == 0xA2) {
				lba_to_msf(d + 7, end);
			} else if (points[i] == 0x01) {
				lba_to_msf(d + 7, 0);
			} else {
				d[8] = 1;
			}
		}
		break;
	}
	default:
		return (uint32_t)invalid_field(p);
	}
	put_be16(r, n - 2);
	return n;
}

static uint32_t disc_info(const uint8_t *cdb, uint8_t *r, struct ahci_port *p)
{
	if (cdb[1] & 7)
		return (uint32_t)invalid_field(p);
	put_be16(r, 32);
	r[2] = 0x0E; /* last session complete, disc finalized */
	r[3] = 1;    /* first track */
	r[4] = 1;    /* sessions */
	r[5] = 1;    /* first track in last session */
	r[6] = 1;    /* last track in last session */
	r[7] = 0x20; /* unrestricted use */
	return 34;
}

static uint32_t track_info(const struct ahci *a, const uint8_t *cdb, uint8_t *r,
			   struct ahci_port *p)
{
	uint32_t addr = get_be32(cdb + 2), type = cdb[1] & 3;

	if ((type == 0 && addr >= a->sectors) || (type == 1 && addr != 1) ||
	    (type == 2 && addr != 1) || type == 3)
		return (uint32_t)invalid_field(p);
	put_be16(r, 34);
	r[2] = 1;    /* track */
	r[3] = 1;    /* session */
	r[5] = 0x04; /* data track */
	r[6] = 0x01; /* mode 1 */
	put_be32(r + 24, (uint32_t)a->sectors);
	return 36;
}

/* GET CONFIGURATION: feature descriptors, filtered by the request type. */
static uint32_t get_config(const struct ahci *a, const uint8_t *cdb, uint8_t *r,
			   struct ahci_port *p)
{
	unsigned rt = cdb[1] & 3, start = get_be16(cdb + 2), n = 8;
	bool dvd = is_dvd(a);
	struct {
		uint16_t code;
		uint8_t flags, len, body[8];
	} f[] = {
	    {0x0000, 0x03, 8, {0, 0x10, dvd, 0, 0, 0x08, !dvd, 0}}, /* profiles: DVD-ROM, CD-ROM */
	    {0x0001, 0x0B, 8, {0, 0, 0, 2, 1, 0, 0, 0}},	    /* core: ATAPI, DBE */
	    {0x0002, 0x07, 4, {0x02}},				    /* morphing: OCEvent */
	    {0x0003, 0x03, 4, {0x29}},				    /* removable: tray */
	    {0x0010, 0x03, 8, {0, 0, 0x08, 0, 0, 1, 0, 0}},	    /* random readable */
	    {0x001E, (uint8_t)(dvd ? 0x08 : 0x09), 4, {0}},	    /* CD read */
	    {0x001F, (uint8_t)(dvd ? 0x05 : 0x04), 4, {0}},	    /* DVD read */
	};

	if (rt == 3)
		return (uint32_t)invalid_field(p);
	put_be16(r + 6, dvd ? 0x0010 : 0x0008); /* current profile */
	for (unsigned i = 0; i < ARRAY_SIZE(f); i++) {
		if (f[i].code < start || (rt == 2 && f[i].code != start) ||
		    (rt == 1 && !(f[i].flags & 1)))
			continue;
		put_be16(r + n, f[i].code);
		r[n + 2] = f[i].flags;
		r[n + 3] = f[i].len;
		memcpy(r + n + 4, f[i].body, f[i].len);
		n += 4u + f[i].len;
	}
	put_be32(r, n - 4);
	return n;
}

/* GET EVENT STATUS NOTIFICATION, polled only: the media class (no change, medium present). */
static uint32_t event_status(const uint8_t *cdb, uint8_t *r, struct ahci_port *p)
{
	if (!(cdb[1] & 1))
		return (uint32_t)invalid_field(p);
	r[3] = 0x10; /* supported: media */
	if (!(cdb[4] & 0x10)) {
		put_be16(r, 2);
		r[2] = 0x80; /* no event available */
		return 4;
	}
	put_be16(r, 6);
	r[2] = 0x04; /* media class */
	r[5] = 0x02; /* medium present, tray closed */
	return 8;
}

/* READ DVD STRUCTURE of a DVD image (a single-layer DVD-ROM): physical format information,
 * copyright information (no protection) and the list of what is there. A CD image has none. */
static uint32_t dvd_structure(const struct ahci *a, const uint8_t *cdb, uint8_t *r,
			      struct ahci_port *p)
{
	uint32_t end =
	    a->sectors > 0xFFFFFFFFu - 0x30000u ? 0xFFFFFFFFu : 0x30000u + (uint32_t)a->sectors - 1;

	if (!is_dvd(a) || (cdb[1] & 0xF) || cdb[6])
		return (uint32_t)sense(p, SK_ILLEGAL_REQUEST, 0x30, 0x02); /* incompatible */
	switch (cdb[7]) {
	case 0x00:
		put_be16(r, 2048 + 2);
		r[4] = 0x01;		  /* DVD-ROM, part version 1 */
		r[5] = 0x0F;		  /* 120 mm, maximum rate not specified */
		r[6] = 0x01;		  /* one layer, embossed */
		put_be32(r + 8, 0x30000); /* first sector of the data area */
		put_be32(r + 12, end);
		return 4 + 2048;
	case 0x01:
		put_be16(r, 6);
		return 8;
	case 0xFF: {
		static const uint8_t fmts[3] = {0x00, 0x01, 0xFF};

		for (unsigned i = 0; i < 3; i++) {
			r[4 + 4 * i] = fmts[i];
			r[5 + 4 * i] = 0x40; /* readable with READ DVD STRUCTURE */
			put_be16(r + 6 + 4 * i, i == 0 ? 4 + 2048 : i == 1 ? 8 : 4 + 3 * 4);
		}
		put_be16(r, 2 + 3 * 4);
		return 4 + 3 * 4;
	}
	default:
		return (uint32_t)invalid_field(p);
	}
}

static uint32_t alloc_len(const uint8_t *cdb)
{
	switch (cdb[0]) {
	case 0x03: /* REQUEST SENSE */
	case 0x1A: /* MODE SENSE (6) */
		return cdb[4];
	case 0x12: /* INQUIRY: two bytes since SPC-3 */
		return get_be16(cdb + 3);
	case 0xBD: /* MECHANISM STATUS */
	case 0xAD: /* READ DVD STRUCTURE */
		return get_be16(cdb + 8);
	case 0x25: /* READ CAPACITY: no allocation length, 8 bytes */
		return 8;
	default: /* the 10-byte commands */
		return get_be16(cdb + 7);
	}
}

/* A READ (10) or (12): straight from the image into the PRDT. */
static int atapi_read(struct ahci *a, struct xfer *x, uint64_t lba, uint64_t count,
		      struct result *res)
{
	struct ahci_port *p = &a->port;
	int rc;

	if (lba > a->sectors || count > a->sectors - lba)
		return sense(p, SK_ILLEGAL_REQUEST, ASC_LBA_RANGE, 0);
	rc = xfer_pread(x, a->fd, lba * AHCI_SECTOR, count * AHCI_SECTOR);
	if (rc == XFER_IO)
		return sense(p, SK_MEDIUM_ERROR, ASC_READ_ERROR, 0);
	if (rc < 0)
		res->is |= rc == XFER_FAULT ? IS_HBFS : IS_OFS;
	return rc < 0 ? -2 : 0;
}

/* Runs one SCSI command. Returns 0 (GOOD), -1 (CHECK CONDITION, sense set) or -2 (the HBA
 * failed the transfer: res->is says why). */
static int atapi_cmd(struct ahci *a, const uint8_t *cdb, struct xfer *x, struct result *res)
{
	struct ahci_port *p = &a->port;
	uint8_t r[RESP_MAX];
	uint32_t n = 0;
	int rc;

	memset(r, 0, sizeof(r));
	switch (cdb[0]) {
	case 0x00: /* TEST UNIT READY */
	case 0x2B: /* SEEK (10) */
	case 0xBB: /* SET CD SPEED */
		return 0;
	case 0x1E: /* PREVENT ALLOW MEDIUM REMOVAL */
		p->prevent = cdb[4] & 1;
		return 0;
	case 0x1B: /* START STOP UNIT: the disc stays in (an image cannot be ejected here) */
		return 0;
	case 0x03: /* REQUEST SENSE: fixed format, then the sense is gone */
		r[0] = 0x70;
		r[2] = p->sense_key;
		r[7] = 10;
		r[12] = p->asc;
		r[13] = p->ascq;
		p->sense_key = p->asc = p->ascq = 0;
		n = 18;
		break;
	case 0x12: /* INQUIRY */
		n = inquiry(cdb, r, p);
		break;
	case 0x25: /* READ CAPACITY (10) */
		put_be32(r, a->sectors > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)(a->sectors - 1));
		put_be32(r + 4, AHCI_SECTOR);
		n = 8;
		break;
	case 0x28: /* READ (10) */
		return atapi_read(a, x, get_be32(cdb + 2), get_be16(cdb + 7), res);
	case 0xA8: /* READ (12) */
		return atapi_read(a, x, get_be32(cdb + 2), get_be32(cdb + 6), res);
	case 0x1A: /* MODE SENSE (6) */
	case 0x5A: /* MODE SENSE (10) */
		n = mode_sense(cdb, r, p);
		break;
	case 0x46: /* GET CONFIGURATION */
		n = get_config(a, cdb, r, p);
		break;
	case 0x43: /* READ TOC/PMA/ATIP */
		n = read_toc(a, cdb, r, p);
		break;
	case 0x51: /* READ DISC INFORMATION */
		n = disc_info(cdb, r, p);
		break;
	case 0x52: /* READ TRACK INFORMATION */
		n = track_info(a, cdb, r, p);
		break;
	case 0x4A: /* GET EVENT STATUS NOTIFICATION */
		n = event_status(cdb, r, p);
		break;
	case 0xAD: /* READ DVD STRUCTURE */
		n = dvd_structure(a, cdb, r, p);
		break;
	case 0xBD: /* MECHANISM STATUS: idle, no changer, 8-byte header */
		n = 8;
		break;
	default:
		return sense(p, SK_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
	}
	if (n == (uint32_t)-1)
		return -1;
	if (n > alloc_len(cdb))
		n = alloc_len(cdb);
	rc = xfer_copy(x, r, n);
	if (rc < 0) {
		res->is |= rc == XFER_FAULT ? IS_HBFS : IS_OFS;
		return -2;
	}
	return 0;
}

/* ---- ATA commands ---- */

static void ata_string(uint16_t *w, const char *s, unsigned words)
{
	uint8_t b[40];

	ascii_pad(b, s, words * 2);
	for (unsigned i = 0; i < words; i++)
		w[i] = (uint16_t)(b[2 * i] << 8 | b[2 * i + 1]);
}

static void identify_packet(uint8_t out[512])
{
	uint16_t w[256];
	uint8_t sum = 0;

	memset(w, 0, sizeof(w));
	w[0] = 0x85C0; /* ATAPI, CD-ROM command set, removable, 50 us DRQ, 12-byte packets */
	ata_string(w + 10, "PHYLLOME-CD0", 10);
	ata_string(w + 23, "1.0", 4);
	ata_string(w + 27, "Phyllome DVD-ROM", 20);
	w[49] = 0x0B00; /* IORDY, LBA, DMA */
	w[53] = 0x0006; /* words 64-70 and 88 valid */
	w[63] = 0x0007; /* multiword DMA 0-2 */
	w[64] = 0x0003; /* PIO 3-4 */
	w[65] = w[66] = w[67] = w[68] = 120;
	w[76] = 0x0002;		/* SATA Gen1 */
	w[80] = 0x01F0;		/* ATA/ATAPI-4 to ATA8-ACS */
	w[82] = w[85] = 0x0210; /* PACKET, DEVICE RESET */
	w[83] = w[84] = w[86] = w[87] = 0x4000;
	w[88] = 0x203F;	 /* UDMA 0-5, mode 5 selected */
	w[255] = 0x00A5; /* integrity word: signature, checksum below */
	for (unsigned i = 0; i < 256; i++)
		put_le16(out + 2 * i, w[i]);
	for (unsigned i = 0; i < 511; i++)
		sum = (uint8_t)(sum + out[i]);
	out[511] = (uint8_t)-sum;
}

static void abort_cmd(struct result *res)
{
	res->status = ATA_DRDY | ATA_ERR;
	res->error = ATA_ABRT;
}

static void ata_cmd(struct ahci *a, const uint8_t *cfis, const uint8_t *acmd, struct xfer *x,
		    struct result *res)
{
	struct ahci_port *p = &a->port;
	uint8_t id[512];
	int rc;

	switch (cfis[2]) {
	case 0xA1: /* IDENTIFY PACKET DEVICE */
		identify_packet(id);
		rc = xfer_copy(x, id, sizeof(id));
		if (rc < 0) {
			res->is |= rc == XFER_FAULT ? IS_HBFS : IS_OFS;
			abort_cmd(res);
		}
		res->pio_in = true;
		break;
	case 0xA0: /* PACKET */
		rc = atapi_cmd(a, acmd, x, res);
		res->count = 0x03; /* interrupt reason: command complete (I/O, C/D) */
		if (rc == -1) {
			res->status = ATA_DRDY | ATA_ERR;
			res->error = (uint8_t)(p->sense_key << 4);
		} else if (rc == -2) {
			abort_cmd(res);
		}
		/* The data went by PIO unless the features said DMA: a PIO Setup FIS then. */
		res->pio_in = !(cfis[3] & 1) && x->done;
		break;
	case 0xEC: /* IDENTIFY DEVICE: not for a packet device; the registers say what it is */
	case 0x20: /* READ SECTOR(S) */
		abort_cmd(res);
		res->signature = true;
		break;
	case 0x08: /* DEVICE RESET */
	case 0x90: /* EXECUTE DEVICE DIAGNOSTIC */
		device_reset(a);
		res->status = 0;
		res->error = 0x01;
		res->signature = true;
		break;
	case 0xE5: /* CHECK POWER MODE: active */
		res->count = 0xFF;
		break;
	case 0xEF: /* SET FEATURES (transfer mode, caches, ...): nothing to change */
	case 0xE0: /* STANDBY IMMEDIATE */
	case 0xE1: /* IDLE IMMEDIATE */
	case 0xE2: /* STANDBY */
	case 0xE3: /* IDLE */
	case 0xE6: /* SLEEP */
	case 0xE7: /* FLUSH CACHE */
		break;
	default:
		abort_cmd(res);
		break;
	}
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
	a->fd = fd;
	a->sectors = size / AHCI_SECTOR;
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
