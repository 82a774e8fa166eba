/* QEMU's firmware configuration interface (fw_cfg), which UEFI firmware (OVMF) reads: the
 * selector (0x510) and data (0x511) ports, the DMA address register (0x514..0x51B), and
 * items: numbered ones and named files listed in the file directory (0x19), read-only but for
 * the files a device makes writable (DMA writes).
 * The layout of the interface is in QEMU's docs/specs/fw_cfg.rst; docs/firmware.md says
 * which items phyllome-vmm provides. A guest drives it: every DMA address goes through gm_ptr. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvm/guest_mem.h"

#define FW_CFG_PORT_SEL	 0x510 /* 16-bit selector (little-endian) */
#define FW_CFG_PORT_DATA 0x511 /* 8-bit data */
#define FW_CFG_PORT_DMA	 0x514 /* 64-bit DMA address, big-endian, two 32-bit halves */
#define FW_CFG_PORT_LEN	 12    /* 0x510 .. 0x51B */

/* Numbered items (QEMU's fw_cfg keys). */
#define FW_CFG_SIGNATURE  0x00
#define FW_CFG_ID	  0x01
#define FW_CFG_UUID	  0x02 /* 16 bytes, in the string's order */
#define FW_CFG_RAM_SIZE	  0x03
#define FW_CFG_NB_CPUS	  0x05
#define FW_CFG_MAX_CPUS	  0x0F
#define FW_CFG_FILE_DIR	  0x19
#define FW_CFG_FILE_FIRST 0x20
/* A Linux kernel for the firmware to boot (QEMU's -kernel/-initrd/-append): sizes are 32-bit
 * little-endian; the command line's includes its NUL. */
#define FW_CFG_KERNEL_SIZE  0x08
#define FW_CFG_INITRD_SIZE  0x0b
#define FW_CFG_KERNEL_DATA  0x11 /* the bzImage after its setup (the protected-mode part) */
#define FW_CFG_INITRD_DATA  0x12
#define FW_CFG_CMDLINE_SIZE 0x14
#define FW_CFG_CMDLINE_DATA 0x15
#define FW_CFG_SETUP_SIZE   0x17
#define FW_CFG_SETUP_DATA   0x18 /* the bzImage's first (setup_sects + 1) * 512 bytes */

#define FW_CFG_ID_TRADITIONAL 0x1
#define FW_CFG_ID_DMA	      0x2

/* DMA control bits. */
#define FW_CFG_DMA_ERROR  0x01
#define FW_CFG_DMA_READ	  0x02
#define FW_CFG_DMA_SKIP	  0x04
#define FW_CFG_DMA_SELECT 0x08
#define FW_CFG_DMA_WRITE  0x10

#define FW_CFG_MAX_ITEMS 48
#define FW_CFG_NAME_MAX	 56 /* including the NUL */
#define FW_CFG_MAX_FILES (FW_CFG_MAX_ITEMS - 8)

/* A file's device (fw_cfg_add_file_hook): called under fw_cfg's lock when the guest selects the
 * file (written false: refresh data) and after it wrote into it by DMA (written true). */
typedef void (*fw_cfg_hook)(void *opaque, uint8_t *data, uint32_t len, bool written);

struct fw_cfg_item {
	uint16_t key;
	char name[FW_CFG_NAME_MAX]; /* empty for numbered items */
	uint8_t *data;		    /* owned (a copy) */
	uint32_t len;
	bool writable; /* DMA writes land in data (within len) */
	fw_cfg_hook hook;
	void *hook_opaque;
};

struct fw_cfg {
	pthread_mutex_t lock;
	const struct guest_mem *mem; /* where DMA goes; NULL: no DMA interface */
	struct fw_cfg_item items[FW_CFG_MAX_ITEMS];
	unsigned nitems;
	uint16_t next_file_key;
	uint8_t *dir; /* the file directory, rebuilt as files are added */
	uint32_t dir_len;
	/* Guest-visible state. */
	uint16_t selector;
	uint32_t offset;
	uint32_t dma_hi;	 /* high half of the DMA address, written first */
	uint64_t dma_ops;	 /* DMA transfers done (counters) */
	uint64_t dma_errors;	 /* transfers refused: bad address, write, overflow */
	struct fw_cfg_item *cur; /* the selected item, or NULL */
};

/* Sets up the signature, ID and file directory. mem NULL: no DMA (ID without the DMA bit). */
int fw_cfg_init(struct fw_cfg *f, const struct guest_mem *mem);
void fw_cfg_destroy(struct fw_cfg *f);
/* Adds a numbered item (a copy of data). Returns 0, -EEXIST, -ENOSPC or -ENOMEM. */
int fw_cfg_add(struct fw_cfg *f, uint16_t key, const void *data, uint32_t len);
int fw_cfg_add_u16(struct fw_cfg *f, uint16_t key, uint16_t v);
int fw_cfg_add_u32(struct fw_cfg *f, uint16_t key, uint32_t v);
int fw_cfg_add_u64(struct fw_cfg *f, uint16_t key, uint64_t v);
/* Adds a named file (a copy of data) at the next free key and lists it in the directory.
 * Returns 0 or a negative errno (-EINVAL for a name of 0 or more than 55 bytes). */
int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, uint32_t len);
/* The same for a file a device answers: writable by DMA (e.g. QEMU's "etc/smi/requested-
 * features"), and hook (may be NULL) told of selects and writes. */
int fw_cfg_add_file_hook(struct fw_cfg *f, const char *name, const void *data, uint32_t len,
			 bool writable, fw_cfg_hook hook, void *opaque);
/* The item a name or key refers to, or NULL (for tests and the table loader). */
const struct fw_cfg_item *fw_cfg_find_file(const struct fw_cfg *f, const char *name);

/* iobus handler for FW_CFG_PORT_SEL .. + FW_CFG_PORT_LEN. */
void fw_cfg_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);

/* --kernel with --firmware: the fw_cfg items OVMF reads for QEMU's -kernel (FW_CFG_KERNEL_* above)
 * from a bzImage, split at the end of its setup as QEMU does (OVMF joins the two again into the
 * image it starts through the kernel's EFI stub), an initramfs (NULL: none) and a command line.
 * Returns 0 or a negative errno with one line in err. */
int fw_cfg_add_linux(struct fw_cfg *f, const uint8_t *kernel, size_t klen, const uint8_t *initrd,
		     size_t ilen, const char *cmdline, char *err, size_t errlen);

/* On the board (devices/device.h), for firmware guests. */
extern const struct device_model fw_cfg_device;
