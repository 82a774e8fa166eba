/* An AHCI 1.3 SATA host controller (PCI function Intel ICH9 AHCI, 8086:2922, class 01/06/01)
 * with one port and an ATAPI CD/DVD-ROM drive on it, for --cdrom: UEFI firmware and installers
 * carry AHCI drivers where they have no virtio ones.
 *
 * The registers (ABAR, BAR 5) are those of AHCI 1.3.1: generic host control (CAP, GHC with
 * HBA reset, IS, PI, VS, CAP2) and the port's (CLB/FB, IS/IE, CMD, TFD, SIG, SSTS/SCTL/SERR,
 * SACT, CI). A write to PxCI runs the issued commands at once, on the writing vCPU thread:
 * command header, command table, H2D Register FIS, and the PRDT scatter list, every guest
 * address through the guest-memory accessor. A command whose header, table or PRD entries
 * are not in guest RAM fails (task file error, PxIS.HBFS), as does one whose PRDT is shorter
 * than its data (PxIS.OFS). Results: a PIO Setup FIS (PIO data-in) and a D2H Register FIS in
 * the received-FIS area, PxIS bits, and INTx (level) or MSI.
 *
 * The drive answers the ATA commands of the PACKET feature set (IDENTIFY PACKET DEVICE,
 * PACKET, SET FEATURES, DEVICE RESET; IDENTIFY DEVICE aborts with the ATAPI signature) and,
 * over PACKET, the SCSI MMC commands of devices/scsi_cd.c.
 * Reads of the image are synchronous pread()s on the vCPU thread: an install medium is read
 * rarely and in large pieces, and the thread needs no more than pread64 for it. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/pci.h"
#include "devices/scsi_cd.h"
#include "kvm/guest_mem.h"

#define AHCI_SLOT     31 /* 00:1f.2 with --firmware, beside the LPC bridge (Q35's place) */
#define AHCI_FN	      2
#define AHCI_BAR      5
#define AHCI_BAR_SIZE 0x1000u
#define AHCI_SECTOR   SCSI_CD_SECTOR

/* Level of the INTx line (a GSI), and an MSI message to send. */
typedef void (*ahci_irq_fn)(void *opaque, unsigned gsi, int level);
typedef void (*ahci_msi_fn)(void *opaque, uint64_t addr, uint32_t data);

struct ahci_port {
	uint64_t clb, fb;
	uint32_t is, ie, cmd, tfd, sig, ssts, sctl, serr, sact, ci;
	bool srst; /* a control FIS set SRST: the next one clearing it resets the device */
};

struct ahci {
	pthread_mutex_t lock;
	struct pci_dev pci;
	const struct guest_mem *mem;
	ahci_irq_fn set_irq;
	ahci_msi_fn send_msi;
	void *irq_opaque;
	struct scsi_cd cd; /* the drive (its image's fd: the owner opens and closes it) */
	unsigned msi_cap;  /* offset of the MSI capability in config space */
	uint32_t ghc;
	int intx_level;
	struct ahci_port port;
};

/* Sets up the PCI function (not plugged: the caller does) over an image of size bytes open
 * read-only in fd. Returns 0, or -EINVAL if the image holds no whole sector. */
int ahci_init(struct ahci *a, const struct guest_mem *mem, int fd, uint64_t size,
	      ahci_irq_fn set_irq, ahci_msi_fn send_msi, void *irq_opaque);
void ahci_destroy(struct ahci *a);
/* HBA reset (GHC.HR): what power-on leaves, the link up and the drive's signature posted. */
void ahci_reset(struct ahci *a);
/* An access to the ABAR at off (what the PCI bus calls through pci.ops->bar_io). */
void ahci_mmio(struct ahci *a, uint64_t off, uint8_t *data, uint32_t len, bool is_write);

/* On the board (devices/device.h): --cdrom, the image on the drive (the state: struct ahci,
 * which closes the image's fd when unplugged). */
extern const struct device_model ahci_cdrom_device;
