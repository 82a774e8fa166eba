/* The firmware's variable store as a CFI flash chip (Intel command set, 8 bits wide), the
 * interface OVMF's QemuFlashFvbServicesRuntimeDxe drives: read array (0xFF), program a byte
 * (0x10 or 0x40, then the byte), erase a block (0x20, then 0xD0), read and clear the status
 * register (0x70, 0x50), read the device id (0x90) and the CFI query (0x98). In read-array
 * mode the guest reads the store straight from memory (a read-only KVM slot: only writes
 * exit); in the other modes reads must exit too, so the device asks for the slot to be
 * taken away and put back (romd). A guest drives this: offsets are checked against size.
 * With SMM: once the firmware has closed SMRAM (an SMM build, Secure Boot's), the chip takes
 * writes only from a vCPU in SMM; others are dropped (counted, logged rate-limited), so the
 * authenticated variables (Secure Boot's keys) are the SMM variable driver's alone. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PFLASH_BLOCK_SIZE 4096 /* OVMF's PcdOvmfFirmwareBlockSize */

enum pflash_mode {
	PFLASH_READ_ARRAY,
	PFLASH_STATUS,
	PFLASH_ID,
	PFLASH_CFI,
	PFLASH_PROGRAM,
	PFLASH_ERASE
};

struct pflash {
	pthread_mutex_t lock;
	uint8_t *mem; /* the store (the file's mapping), size bytes */
	size_t size;
	enum pflash_mode mode;
	uint8_t status;
	bool romd; /* the guest reads mem directly */
	/* Called with the lock held when reads must start (false) or stop (true) exiting. */
	void (*set_romd)(void *opaque, bool on);
	void *opaque;
	uint64_t writes, erases; /* counters */
	/* SMM (NULL: none): whether writes must come from SMM now, and whether this one does
	 * (asked on the writing vCPU's thread). */
	bool (*smm_only)(void *opaque);
	bool (*in_smm)(void *opaque);
	void *smm_opaque;
	uint64_t dropped; /* writes from outside SMM */
};

/* mem stays owned by the caller. set_romd may be NULL (tests). */
void pflash_init(struct pflash *p, uint8_t *mem, size_t size,
		 void (*set_romd)(void *opaque, bool on), void *opaque);
void pflash_destroy(struct pflash *p);
/* The SMM rule (see above): smm_only and in_smm are asked on each write. */
void pflash_set_smm(struct pflash *p, bool (*smm_only)(void *opaque), bool (*in_smm)(void *opaque),
		    void *opaque);
/* iobus handler for the store's guest range (off from its start). */
void pflash_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);

/* On the board (devices/device.h): --firmware's code image as ROM at the top of 4 GiB and its
 * variable store, if any, right below it on this flash chip. */
extern const struct device_model fw_flash_device;
