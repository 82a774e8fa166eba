#include "devices/atapi.h"

#include <string.h>

#include "common/bytes.h"

static void ata_string(uint16_t *w, const char *s, unsigned words)
{
	uint8_t b[40];

	put_ascii_padded(b, s, words * 2);
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

static void abort_cmd(struct atapi_result *res)
{
	res->status = ATA_DRDY | ATA_ERR;
	res->error = ATA_ABRT;
}

void atapi_command(struct scsi_cd *cd, uint8_t cmd, uint8_t features, const uint8_t *packet,
		   const struct scsi_sink *sink, struct atapi_result *res)
{
	uint8_t id[512];
	int rc;

	switch (cmd) {
	case 0xA1: /* IDENTIFY PACKET DEVICE */
		identify_packet(id);
		if (sink->copy(sink->opaque, id, sizeof(id)) < 0) {
			res->xfer_failed = true;
			abort_cmd(res);
		}
		res->pio_in = true;
		break;
	case 0xA0: /* PACKET */
		rc = scsi_cd_command(cd, packet, sink);
		res->count = 0x03; /* interrupt reason: command complete (I/O, C/D) */
		if (rc == SCSI_CD_CHECK_CONDITION) {
			res->status = ATA_DRDY | ATA_ERR;
			res->error = (uint8_t)(cd->sense_key << 4);
		} else if (rc == SCSI_CD_XFER_FAILED) {
			res->xfer_failed = true;
			abort_cmd(res);
		}
		res->pio_in = !(features & 1);
		res->packet = true;
		break;
	case 0xEC: /* IDENTIFY DEVICE: not for a packet device; the registers say what it is */
	case 0x20: /* READ SECTOR(S) */
		abort_cmd(res);
		res->signature = true;
		break;
	case 0x08: /* DEVICE RESET */
	case 0x90: /* EXECUTE DEVICE DIAGNOSTIC */
		res->reset = true;
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
