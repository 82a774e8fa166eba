/* The PCI bus: one PCIe host bridge (bus 0), configuration through 0xCF8/0xCFC and ECAM,
 * BARs placed by the VMM in the 32-bit MMIO and I/O windows and moved when the guest
 * reprograms them, and dispatch of BAR accesses to the device that owns them. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/layout.h"

#define PCI_SLOTS    32
#define PCI_FUNCS    8	  /* functions per slot */
#define PCI_CFG_SIZE 4096 /* PCIe extended configuration space */
#define PCI_NUM_BARS 6

/* The windows (guest physical / port addresses). */
#define PCI_MMIO32_BASE X86_PCI_MMIO32_BASE
#define PCI_MMIO32_SIZE X86_PCI_MMIO32_SIZE
#define PCI_ECAM_BASE	X86_PCI_ECAM_BASE
#define PCI_ECAM_SIZE	X86_PCI_ECAM_SIZE
#define PCI_PIO_BASE	0xC000u
#define PCI_PIO_SIZE	0x4000u
#define PCI_INTX_GSI0	16 /* INTA..INTD of slot s, pin p: GSI 16 + (s + p) % 4 */

enum pci_bar_type { PCI_BAR_NONE, PCI_BAR_MEM32, PCI_BAR_MEM64, PCI_BAR_IO };

struct pci_dev;

struct pci_dev_ops {
	/* Access to a BAR at offset off (the device takes its own lock). */
	void (*bar_io)(struct pci_dev *p, unsigned bar, uint64_t off, uint8_t *data, uint32_t len,
		       bool is_write);
	/* After the bus applied a config write (masked by wmask): for capabilities. */
	void (*cfg_write)(struct pci_dev *p, uint32_t off, uint32_t len);
	/* Before a config read is answered from cfg[]: to refresh fields. Optional. */
	void (*cfg_read)(struct pci_dev *p, uint32_t off, uint32_t len);
	/* A BAR's decoded address changed (0: not decoded). Optional. */
	void (*bar_remap)(struct pci_dev *p, unsigned bar, uint64_t addr);
};

struct pci_bar {
	enum pci_bar_type type;
	uint64_t size;	  /* power of two; 0 = unused */
	uint64_t decoded; /* address the device answers at now (0: none) */
};

struct pci_dev {
	const struct pci_dev_ops *ops;
	void *opaque;
	unsigned slot, fn;
	uint8_t next_cap; /* where the next capability goes */
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];
	struct pci_bar bar[PCI_NUM_BARS];
};

struct pci_bus {
	pthread_mutex_t lock;
	struct pci_dev host;
	struct pci_dev *dev[PCI_SLOTS * PCI_FUNCS]; /* by slot * PCI_FUNCS + function */
	uint32_t conf1_addr;
	void (*reset)(void *opaque); /* the reset register at 0xCF9 was written (or NULL) */
	void *reset_opaque;
	uint64_t mmio32_next;
	uint32_t pio_next;
	uint64_t mmio32_base, mmio32_size; /* the BAR windows (PCI_MMIO32_*, PCI_PIO_* unless */
	uint32_t pio_base, pio_size;	   /* pci_bus_set_windows changed them) */
};

/* reset: what a write of the reset bit to 0xCF9 does (NULL: nothing). */
void pci_bus_init(struct pci_bus *b, void (*reset)(void *opaque), void *reset_opaque);
void pci_bus_destroy(struct pci_bus *b);
/* Fills the standard header (type 0) of a device before it is added. */
void pci_dev_init(struct pci_dev *d, uint16_t vendor, uint16_t device, uint32_t class_code,
		  uint8_t revision, uint16_t subsys_vendor, uint16_t subsys_id);
/* Declares BAR n (type, size a power of two >= 16, or 4 for I/O). */
void pci_dev_set_bar(struct pci_dev *d, unsigned n, enum pci_bar_type type, uint64_t size);
/* Appends a capability (body excludes the id and next bytes); returns its offset, or 0 when
 * the standard config space is full. wmask_body says which body bits the guest may write. */
unsigned pci_dev_add_cap(struct pci_dev *d, uint8_t id, const uint8_t *body,
			 const uint8_t *wmask_body, unsigned len);
/* Moves the BAR windows (before any device is added): firmware guests use Q35's. */
void pci_bus_set_windows(struct pci_bus *b, uint64_t mmio32_base, uint64_t mmio32_size,
			 uint32_t pio_base, uint32_t pio_size);
/* Plugs the device into the next free slot and places its BARs. Returns 0 or -ENOSPC. */
int pci_bus_add(struct pci_bus *b, struct pci_dev *d);
/* Plugs a device without BARs into a given slot (e.g. the LPC bridge at 00:1f.0). */
int pci_bus_add_at(struct pci_bus *b, struct pci_dev *d, unsigned slot);
/* Plugs a device (BARs placed, INTA) as function fn of a given slot, e.g. the AHCI controller
 * at 00:1f.2 beside the LPC bridge. Function 0 of the slot (plugged before or after) then says
 * multi-function in its header type, so guests scan the other functions. 0, -EBUSY or
 * -ENOSPC (its BARs don't fit, as for pci_bus_add). */
int pci_bus_add_fn(struct pci_bus *b, struct pci_dev *d, unsigned slot, unsigned fn);
/* Q35's host bridge register UEFI firmware programs: PCIEXBAR reads back as ECAM at ecam
 * (enabled, 256 buses) and ignores writes. */
void pci_host_q35_regs(struct pci_bus *b, uint64_t ecam);

/* iobus handlers: 0xCF8..0xCFF (with 0xCF9 reset), the ECAM window, and the BAR windows. */
void pci_conf1_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
void pci_ecam_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
void pci_mmio_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
void pci_pio_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
