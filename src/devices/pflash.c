#include "devices/pflash.h"

#include <string.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include "common/log.h"
#include "devices/device.h"
#include "arch/x86/firmware.h"

#define CMD_PROGRAM	  0x10
#define CMD_PROGRAM_ALT	  0x40
#define CMD_ERASE	  0x20
#define CMD_CLEAR_STATUS  0x50
#define CMD_READ_STATUS	  0x70
#define CMD_READ_ID	  0x90
#define CMD_CFI_QUERY	  0x98
#define CMD_ERASE_CONFIRM 0xD0
#define CMD_READ_ARRAY	  0xFF

#define STATUS_READY	   0x80
#define STATUS_ERASE_ERR   0x20
#define STATUS_PROGRAM_ERR 0x10

#define ID_MANUFACTURER 0x89 /* Intel */
#define ID_DEVICE	0x18

void pflash_init(struct pflash *p, uint8_t *mem, size_t size,
		 void (*set_romd)(void *opaque, bool on), void *opaque)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	p->mem = mem;
	p->size = size;
	p->mode = PFLASH_READ_ARRAY;
	p->status = STATUS_READY;
	p->romd = true;
	p->set_romd = set_romd;
	p->opaque = opaque;
}

void pflash_set_smm(struct pflash *p, bool (*smm_only)(void *opaque), bool (*in_smm)(void *opaque),
		    void *opaque)
{
	p->smm_only = smm_only;
	p->in_smm = in_smm;
	p->smm_opaque = opaque;
}

/* Whether a write may reach the chip: always without SMM; with SMRAM closed, only from SMM. */
static bool write_allowed(struct pflash *p, uint64_t off)
{
	if (!p->smm_only || !p->smm_only(p->smm_opaque) || (p->in_smm && p->in_smm(p->smm_opaque)))
		return true;
	p->dropped++;
	pr_warn_limited("firmware flash: a write from outside SMM at offset 0x%llx dropped",
			(unsigned long long)off);
	return false;
}

void pflash_destroy(struct pflash *p)
{
	pthread_mutex_destroy(&p->lock);
}

/* Caller holds the lock. Reads exit unless the chip is in read-array mode. */
static void set_mode(struct pflash *p, enum pflash_mode m)
{
	bool romd = m == PFLASH_READ_ARRAY;

	p->mode = m;
	if (romd != p->romd) {
		p->romd = romd;
		if (p->set_romd)
			p->set_romd(p->opaque, romd);
	}
}

/* The CFI query table (JEDEC JESD68): "QRY", the Intel command set, one erase region of
 * size / 4 KiB blocks. Only what a prober looks at. */
static uint8_t cfi_byte(const struct pflash *p, uint64_t off)
{
	size_t blocks = p->size / PFLASH_BLOCK_SIZE;
	unsigned log2 = 0;

	while ((1ull << log2) < p->size)
		log2++;
	switch (off) {
	case 0x10:
		return 'Q';
	case 0x11:
		return 'R';
	case 0x12:
		return 'Y';
	case 0x13:
		return 0x01; /* primary command set: Intel/Sharp extended */
	case 0x27:
		return (uint8_t)log2; /* device size, 2^n bytes */
	case 0x2C:
		return 1; /* erase block regions */
	case 0x2D:
		return (uint8_t)(blocks - 1);
	case 0x2E:
		return (uint8_t)((blocks - 1) >> 8);
	case 0x2F:
		return (uint8_t)(PFLASH_BLOCK_SIZE >> 8);
	case 0x30:
		return (uint8_t)(PFLASH_BLOCK_SIZE >> 16);
	default:
		return 0;
	}
}

static uint8_t read_byte(const struct pflash *p, uint64_t off)
{
	switch (p->mode) {
	case PFLASH_READ_ARRAY:
		return p->mem[off];
	case PFLASH_ID:
		return (off & 0xFF) == 0 ? ID_MANUFACTURER : (off & 0xFF) == 1 ? ID_DEVICE : 0;
	case PFLASH_CFI:
		return cfi_byte(p, off & 0xFF);
	default: /* status, and a program or erase waiting for its second write */
		return p->status;
	}
}

static void erase_block(struct pflash *p, uint64_t off)
{
	uint64_t base = off & ~(uint64_t)(PFLASH_BLOCK_SIZE - 1);
	size_t n = p->size - base < PFLASH_BLOCK_SIZE ? p->size - base : PFLASH_BLOCK_SIZE;

	memset(p->mem + base, 0xFF, n);
	p->erases++;
}

static void command(struct pflash *p, uint8_t cmd)
{
	switch (cmd) {
	case CMD_PROGRAM:
	case CMD_PROGRAM_ALT:
		set_mode(p, PFLASH_PROGRAM);
		break;
	case CMD_ERASE:
		set_mode(p, PFLASH_ERASE);
		break;
	case CMD_CLEAR_STATUS:
		p->status = 0;
		set_mode(p, PFLASH_READ_ARRAY);
		break;
	case CMD_READ_STATUS:
		set_mode(p, PFLASH_STATUS);
		break;
	case CMD_READ_ID:
		set_mode(p, PFLASH_ID);
		break;
	case CMD_CFI_QUERY:
		set_mode(p, PFLASH_CFI);
		break;
	default: /* read array (0xFF, 0x00), and what this chip doesn't do (buffered writes) */
		set_mode(p, PFLASH_READ_ARRAY);
		break;
	}
}

static void write_access(struct pflash *p, uint64_t off, const uint8_t *data, uint32_t len)
{
	switch (p->mode) {
	case PFLASH_PROGRAM:
		/* The bytes land as written (QEMU's chip does the same; OVMF erases first). */
		memcpy(p->mem + off, data, len);
		p->writes++;
		p->status |= STATUS_READY;
		set_mode(p, PFLASH_STATUS);
		break;
	case PFLASH_ERASE:
		if (data[0] == CMD_ERASE_CONFIRM) {
			erase_block(p, off);
			p->status |= STATUS_READY;
		} else {
			p->status |= STATUS_ERASE_ERR | STATUS_PROGRAM_ERR;
		}
		set_mode(p, PFLASH_STATUS);
		break;
	default:
		command(p, data[0]);
		break;
	}
}

void pflash_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct pflash *p = opaque;

	if (off >= p->size || len > p->size - off) {
		if (!is_write)
			memset(data, 0xFF, len);
		return;
	}
	pthread_mutex_lock(&p->lock);
	if (is_write) {
		if (write_allowed(p, off))
			write_access(p, off, data, len);
	} else {
		for (uint32_t i = 0; i < len; i++)
			data[i] = read_byte(p, off + i);
	}
	pthread_mutex_unlock(&p->lock);
}

/* ---- on the board: --firmware's images at the top of 4 GiB ---- */

/* The code image in a read-only slot: reads never exit, writes exit and are dropped (ROM).
 * The variable store, if any, behind the flash chip: a read-only slot while the chip is in
 * read-array mode, removed while a command mode needs reads to exit. */
struct fw_flash {
	struct firmware fw;
	struct pflash chip;
	bool chip_ready;
	struct memslots *slots;
	int code_slot, vars_slot;
	struct board *board;
};

static void fw_flash_romd(void *opaque, bool on)
{
	struct fw_flash *f = opaque;
	int rc = memslot_set(f->slots, (unsigned)f->vars_slot, firmware_vars_gpa(&f->fw),
			     f->fw.vars, on ? f->fw.vars_len : 0, KVM_MEM_READONLY);

	if (rc < 0)
		f->board->stop(f->board->opaque, BOARD_FAILED,
			       "cannot remap the firmware's variable store");
}

static void fw_rom_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	const struct firmware *fw = opaque;

	if (!is_write)
		memcpy(data, fw->code + off, len); /* iobus checked off + len */
}

static int fw_flash_map(struct fw_flash *f, struct board *b)
{
	struct firmware *fw = &f->fw;
	int rc;

	f->code_slot = memslot_alloc(b->slots);
	f->vars_slot = fw->vars ? memslot_alloc(b->slots) : 0;
	if (f->code_slot < 0 || f->vars_slot < 0)
		return -ENOSPC;
	rc = memslot_set(b->slots, (unsigned)f->code_slot, firmware_code_gpa(fw), fw->code,
			 fw->code_len, KVM_MEM_READONLY);
	if (rc == 0 && fw->vars)
		rc = memslot_set(b->slots, (unsigned)f->vars_slot, firmware_vars_gpa(fw), fw->vars,
				 fw->vars_len, KVM_MEM_READONLY);
	if (rc < 0)
		return rc;
	rc = iobus_register(b->bus, IOBUS_MMIO, firmware_code_gpa(fw), fw->code_len, fw_rom_io, fw,
			    "fw-code");
	if (rc == 0 && fw->vars) {
		pflash_init(&f->chip, fw->vars, fw->vars_len, fw_flash_romd, f);
		if (b->cfg->fw_smm >= 0 && b->smram_closed && b->in_smm)
			pflash_set_smm(&f->chip, b->smram_closed, b->in_smm, b->opaque);
		f->chip_ready = true;
		rc = iobus_register(b->bus, IOBUS_MMIO, firmware_vars_gpa(fw), fw->vars_len,
				    pflash_io, &f->chip, "fw-vars");
	}
	return rc;
}

static bool fw_flash_wanted(const struct vm_config *cfg)
{
	return cfg->firmware;
}

static int fw_flash_plug(struct board *b, void **state, char *err, size_t errlen)
{
	const struct vm_config *c = b->cfg;
	struct fw_flash *f = calloc(1, sizeof(*f));
	int rc;

	if (!f)
		return -ENOMEM;
	f->slots = b->slots;
	f->board = b;
	rc = firmware_open(&f->fw, c->fw_code, c->fw_vars[0] ? c->fw_vars : NULL, err, errlen);
	if (rc < 0) {
		free(f);
		return rc;
	}
	*state = f;
	if (!memslots_readonly_ok(b->slots)) {
		snprintf(err, errlen, "this KVM cannot map read-only memory (firmware needs it)");
		return -ENOTSUP;
	}
	rc = fw_flash_map(f, b);
	if (rc < 0) {
		snprintf(err, errlen, "cannot map the firmware: %s", strerror(-rc));
		return rc;
	}
	pr_info("firmware: code %zu KiB at 0x%llx, %s", f->fw.code_len >> 10,
		(unsigned long long)firmware_code_gpa(&f->fw),
		f->fw.vars ? "variable store on flash" : "no variable store (not kept)");
	return 0;
}

static void fw_flash_unplug(void *state)
{
	struct fw_flash *f = state;

	if (f->chip_ready)
		pflash_destroy(&f->chip);
	firmware_close(&f->fw);
	free(f);
}

const struct device_model fw_flash_device = {
    .name = "firmware",
    .wanted = fw_flash_wanted,
    .plug = fw_flash_plug,
    .unplug = fw_flash_unplug,
};
