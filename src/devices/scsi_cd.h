/* A read-only CD/DVD drive's SCSI command set (SPC and MMC: the commands Linux's sr, edk2's
 * ScsiDisk and Windows' cdrom.sys send) over a disc image of 2048-byte sectors, independent of
 * the transport that carries the commands: AHCI's ATAPI PACKET (ahci.c) today. The transport
 * hands each command's data-in to its own scatter list through a struct scsi_sink.
 * TEST UNIT READY, REQUEST SENSE, INQUIRY (+VPD 00h/80h/83h), READ CAPACITY, READ (10)/(12),
 * MODE SENSE (6)/(10) page 2Ah, GET CONFIGURATION, READ TOC (formats 0-2), READ DISC/TRACK
 * INFORMATION, GET EVENT STATUS NOTIFICATION, PREVENT ALLOW, START STOP, MECHANISM STATUS,
 * SET CD SPEED, SEEK, READ DVD STRUCTURE (an image larger than a CD is a DVD-ROM); anything
 * else is CHECK CONDITION, ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCSI_CD_SECTOR 2048u
/* The most sectors one READ may ask for: READ (10)'s largest, 128 MiB. The transport runs a
 * command to its end on the thread that issued it (AHCI: a vCPU thread, which a pause or a stop
 * waits for), so a READ (12) of a whole DVD image in one command is refused (ILLEGAL REQUEST,
 * INVALID FIELD IN CDB) rather than holding that thread for as long as the image takes. */
#define SCSI_CD_MAX_READ 0xFFFFu

struct scsi_cd {
	int fd;		  /* the image (read-only), owned by the caller */
	uint64_t sectors; /* whole 2048-byte sectors in it */
	/* Sense data of the last CHECK CONDITION, and the medium lock. */
	uint8_t sense_key, asc, ascq;
	bool prevent;
};

/* Where a command's data goes: the transport's buffers. copy: len bytes from src. pread: len
 * bytes of fd at off straight into the buffers; -EIO is a read error of the image (MEDIUM
 * ERROR); any other negative value is the transport's own failure (its buffers). */
struct scsi_sink {
	void *opaque;
	int (*copy)(void *opaque, const uint8_t *src, uint32_t len);
	int (*pread)(void *opaque, int fd, uint64_t off, uint64_t len);
};

#define SCSI_CD_CHECK_CONDITION (-1)
#define SCSI_CD_XFER_FAILED	(-2)

/* Opens a --cdrom image read-only and says how many bytes it has (a regular file or a block
 * device); it must hold at least one 2048-byte sector. The fd, or -errno with one line. */
int scsi_cd_open(const char *path, uint64_t *size, char *err, size_t errlen);
void scsi_cd_init(struct scsi_cd *cd, int fd, uint64_t size);
/* A device reset: no sense, no lock. */
void scsi_cd_reset(struct scsi_cd *cd);
/* Runs one command (the CDB), its data-in through sink, at most the CDB's allocation length.
 * 0 (GOOD), SCSI_CD_CHECK_CONDITION (sense set), or SCSI_CD_XFER_FAILED (the sink failed). */
int scsi_cd_command(struct scsi_cd *cd, const uint8_t *cdb, const struct scsi_sink *sink);
