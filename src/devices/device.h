/* How a device model plugs into the machine. A device is one file that describes itself in one
 * `const struct device_model`, and one row in the board's table (machine/board.c), which is the
 * only place that knows the list. The machine walks the table forward to plug and backward to
 * unplug; each row decides from the configuration whether it is wanted and how many instances
 * it makes. What the machine lends its devices is a `struct board`. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/aml.h"
#include "common/vm_config.h"
#include "kvm/guest_mem.h"
#include "kvm/iobus.h"
#include "kvm/irq.h"
#include "kvm/memslots.h"

struct pci_bus;
struct boot_order;
struct console;
struct audio_tap;
struct ctl_counters;

/* Why a device asks the machine to stop (the machine maps these to its own exit reasons). */
enum board_stop { BOARD_POWEROFF, BOARD_REBOOT, BOARD_QUIT, BOARD_FAILED };

/* What the machine lends its devices, filled before the first row is plugged. */
struct board {
	const struct vm_config *cfg;
	int vm_fd;
	struct guest_mem *mem;
	struct iobus *bus;
	struct memslots *slots;	     /* the KVM memory slots' one owner */
	struct irq_routes *routes;   /* MSI routes and irqfds */
	struct pci_bus *pci;	     /* the root bus, with its windows set */
	struct console *con;	     /* the serial line's host end (lives across reboots) */
	struct audio_tap *sound_tap; /* a sound device also plays into it (NULL: none) */
	struct boot_order *boot;     /* the firmware's boot order (NULL: direct Linux boot) */
	bool q35_lpc;	    /* the LPC bridge is at 00:1f.0: Q35's functions go beside it */
	irq_set_fn set_irq; /* a GSI line of the in-kernel irqchip */
	void (*send_msi)(void *opaque, uint64_t addr, uint32_t data);
	void (*stop)(void *opaque, enum board_stop why, const char *msg); /* msg: for FAILED */
	/* System Management Mode (firmware with SMM): an SMI for the vCPU whose exit is being
	 * handled (all: for every vCPU); whether that vCPU is in SMM; whether the firmware has
	 * closed SMRAM (TSEG enabled: an SMM firmware runs, and the flash is SMM's alone). */
	void (*smi)(void *opaque, bool all);
	bool (*in_smm)(void *opaque);
	bool (*smram_closed)(void *opaque);
	void *opaque; /* for set_irq, send_msi, stop and the SMM hooks */
};

struct device_model {
	const char *name;
	/* Whether the configuration asks for this device; NULL: always. */
	bool (*wanted)(const struct vm_config *cfg);
	/* Creates the device(s) and plugs them in (I/O ranges, PCI functions, boot order). *state
	 * is handed back to every hook; on failure, unplug is still called with whatever *state
	 * holds (NULL if nothing was made). 0 or -errno with one line in err. */
	int (*plug)(struct board *b, void **state, char *err, size_t errlen);
	void (*unplug)(void *state);
	/* Optional hooks. */
	/* The device's part of the DSDT's \_SB scope (fixed-resource devices: PCI functions are
	 * found by enumeration). */
	void (*dsdt)(void *state, struct aml *a);
	/* Adds the device's counters to an answer of vm.counters. */
	void (*counters)(void *state, struct ctl_counters *k);
	/* Brings the device back to its power-on state with the VM paused (a guest reboot
	 * rebuilds the whole VM today, so only a caller that keeps the VM would use it). */
	void (*reset)(void *state);
};

/* Registers a port I/O range of a device on the board's bus. */
int board_add_pio(struct board *b, uint64_t base, uint64_t len, iobus_fn fn, void *opaque,
		  const char *name);
/* Lists a bootable device in the firmware's boot order (a no-op for a Linux guest booted
 * directly). ofw_path: from arch/x86/bootorder.h's boot_ofw_*. bootindex: lower boots first,
 * each used once. 0 or -EINVAL/-EEXIST/-ENOSPC with a message in err. */
int board_boot_order_add(struct board *b, int bootindex, const char *ofw_path, char *err,
			 size_t errlen);
