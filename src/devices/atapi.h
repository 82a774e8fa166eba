/* An ATAPI CD/DVD drive's ATA side: the commands of the PACKET feature set that a host
 * adapter (ahci.c) passes on from its H2D Register FIS, the PACKET command's SCSI CDB going
 * to the drive's SCSI command set (scsi_cd.c). The adapter moves the data (struct scsi_sink)
 * and turns the result into its own FISes and interrupts. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "devices/scsi_cd.h"

/* ATA status and error bits. */
#define ATA_BSY	 0x80
#define ATA_DRDY 0x40
#define ATA_DSC	 0x10
#define ATA_DRQ	 0x08
#define ATA_ERR	 0x01
#define ATA_ABRT 0x04

struct atapi_result {
	uint8_t status, error, count; /* the registers of the D2H FIS (status: in and out) */
	bool pio_in;		      /* data-in by PIO: a PIO Setup FIS first */
	bool packet;		      /* a PACKET command: PIO only if data moved */
	bool signature;		      /* the FIS carries the ATAPI signature */
	bool reset;		      /* the drive was reset: the adapter posts its signature */
	bool xfer_failed;	      /* the sink failed (the adapter knows why) */
};

/* Runs ATA command cmd (features: the FIS's features byte; packet: the 12-byte CDB). */
void atapi_command(struct scsi_cd *cd, uint8_t cmd, uint8_t features, const uint8_t *packet,
		   const struct scsi_sink *sink, struct atapi_result *res);
