/* The SCSI MMC command set of a read-only CD/DVD drive over a disc image, for any transport
 * that carries SCSI commands (AHCI's ATAPI PACKET today; a USB mass-storage device could
 * share it). See scsi_cd.h. */
#include "devices/scsi_cd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/fdpath.h"

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

static int sense(struct scsi_cd *p, uint8_t key, uint8_t asc, uint8_t ascq)
{
	p->sense_key = key;
	p->asc = asc;
	p->ascq = ascq;
	return -1;
}

static int invalid_field(struct scsi_cd *p)
{
	return sense(p, SK_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
}

static bool is_dvd(const struct scsi_cd *a)
{
	return a->sectors > CD_MAX_SECTORS;
}

static uint32_t inquiry(const uint8_t *cdb, uint8_t *r, struct scsi_cd *p)
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
		put_ascii_padded(r + 8, "PHYLLOME", 8);
		put_ascii_padded(r + 16, "DVD-ROM", 16);
		put_ascii_padded(r + 32, "1.0", 4);
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
		put_ascii_padded(r + 8, "PHYLLOME", 8);
		memcpy(r + 16, serial, sizeof(serial) - 1);
		r[3] = (uint8_t)(4 + r[7]);
		return 4u + r[3];
	default:
		return (uint32_t)invalid_field(p);
	}
}

/* Capabilities and mechanical status page (MMC 2Ah), 22 bytes. */
static unsigned page_caps(const struct scsi_cd *p, uint8_t *r)
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
static uint32_t mode_sense(const uint8_t *cdb, uint8_t *r, struct scsi_cd *p)
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
static uint32_t read_toc(const struct scsi_cd *a, const uint8_t *cdb, uint8_t *r, struct scsi_cd *p)
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

static uint32_t disc_info(const uint8_t *cdb, uint8_t *r, struct scsi_cd *p)
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

static uint32_t track_info(const struct scsi_cd *a, const uint8_t *cdb, uint8_t *r,
			   struct scsi_cd *p)
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
static uint32_t get_config(const struct scsi_cd *a, const uint8_t *cdb, uint8_t *r,
			   struct scsi_cd *p)
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
static uint32_t event_status(const uint8_t *cdb, uint8_t *r, struct scsi_cd *p)
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
static uint32_t dvd_structure(const struct scsi_cd *a, const uint8_t *cdb, uint8_t *r,
			      struct scsi_cd *p)
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

/* A READ (10) or (12): straight from the image into the initiator's buffers. */
static int cd_read(struct scsi_cd *p, const struct scsi_sink *sink, uint64_t lba, uint64_t count)
{
	int rc;

	if (lba > p->sectors || count > p->sectors - lba)
		return sense(p, SK_ILLEGAL_REQUEST, ASC_LBA_RANGE, 0);
	if (count > SCSI_CD_MAX_READ)
		return invalid_field(p);
	rc = sink->pread(sink->opaque, p->fd, lba * SCSI_CD_SECTOR, count * SCSI_CD_SECTOR);
	if (rc == -EIO)
		return sense(p, SK_MEDIUM_ERROR, ASC_READ_ERROR, 0);
	return rc < 0 ? SCSI_CD_XFER_FAILED : 0;
}

int scsi_cd_command(struct scsi_cd *p, const uint8_t *cdb, const struct scsi_sink *sink)
{
	const struct scsi_cd *a = p;
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
		put_be32(r + 4, SCSI_CD_SECTOR);
		n = 8;
		break;
	case 0x28: /* READ (10) */
		return cd_read(p, sink, get_be32(cdb + 2), get_be16(cdb + 7));
	case 0xA8: /* READ (12) */
		return cd_read(p, sink, get_be32(cdb + 2), get_be32(cdb + 6));
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
	rc = sink->copy(sink->opaque, r, n);
	return rc < 0 ? SCSI_CD_XFER_FAILED : 0;
}

void scsi_cd_init(struct scsi_cd *cd, int fd, uint64_t size)
{
	*cd = (struct scsi_cd){.fd = fd, .sectors = size / SCSI_CD_SECTOR};
}

void scsi_cd_reset(struct scsi_cd *cd)
{
	cd->sense_key = cd->asc = cd->ascq = 0;
	cd->prevent = false;
}

int scsi_cd_open(const char *path, uint64_t *size, char *err, size_t errlen)
{
	struct stat st;
	off_t end;
	int fd = fdpath_open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot open --cdrom '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -ENOENT;
	}
	end = S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) ? lseek(fd, 0, SEEK_END) : -1;
	if (end < (off_t)SCSI_CD_SECTOR) {
		snprintf(err, errlen, "--cdrom '%s' is %s", path,
			 end < 0 ? "not a regular file or block device"
				 : "smaller than one 2048-byte sector");
		close(fd);
		return -EINVAL;
	}
	*size = (uint64_t)end;
	return fd;
}
