#include "devices/fw_cfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/bzimage.h"
#include "common/bytes.h"
#include "devices/device.h"

#define DIR_ENTRY_LEN 64
#define DMA_SIGNATURE 0x51454D5520434647ull /* "QEMU CFG", read back big-endian */

static struct fw_cfg_item *find_key(struct fw_cfg *f, uint16_t key)
{
	for (unsigned i = 0; i < f->nitems; i++)
		if (f->items[i].key == key)
			return &f->items[i];
	return NULL;
}

/* Stores an item, taking ownership of data (freed on failure). */
static int put_item(struct fw_cfg *f, uint16_t key, const char *name, uint8_t *data, uint32_t len)
{
	struct fw_cfg_item *it = find_key(f, key);

	if (it) {
		free(data);
		return -EEXIST;
	}
	if (f->nitems == FW_CFG_MAX_ITEMS) {
		free(data);
		return -ENOSPC;
	}
	it = &f->items[f->nitems++];
	memset(it, 0, sizeof(*it));
	it->key = key;
	if (name)
		strcpy(it->name, name);
	it->data = data;
	it->len = len;
	return 0;
}

int fw_cfg_add(struct fw_cfg *f, uint16_t key, const void *data, uint32_t len)
{
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, data, len);
	return put_item(f, key, NULL, copy, len);
}

int fw_cfg_add_u16(struct fw_cfg *f, uint16_t key, uint16_t v)
{
	uint8_t b[2];

	put_le16(b, v);
	return fw_cfg_add(f, key, b, sizeof(b));
}

int fw_cfg_add_u32(struct fw_cfg *f, uint16_t key, uint32_t v)
{
	uint8_t b[4];

	put_le32(b, v);
	return fw_cfg_add(f, key, b, sizeof(b));
}

int fw_cfg_add_u64(struct fw_cfg *f, uint16_t key, uint64_t v)
{
	uint8_t b[8];

	put_le64(b, v);
	return fw_cfg_add(f, key, b, sizeof(b));
}

/* The directory: a big-endian count, then per file: size (BE32), key (BE16), 0, name[56]. */
static int rebuild_dir(struct fw_cfg *f)
{
	unsigned n = 0;
	uint8_t *d = calloc(1, 4 + FW_CFG_MAX_ITEMS * DIR_ENTRY_LEN);
	struct fw_cfg_item *dir = find_key(f, FW_CFG_FILE_DIR);

	if (!d || !dir) {
		free(d);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < f->nitems; i++) {
		const struct fw_cfg_item *it = &f->items[i];
		uint8_t *e = d + 4 + n * DIR_ENTRY_LEN;

		if (!it->name[0])
			continue;
		put_be32(e, it->len);
		e[4] = (uint8_t)(it->key >> 8);
		e[5] = (uint8_t)it->key;
		memcpy(e + 8, it->name, strlen(it->name));
		n++;
	}
	put_be32(d, n);
	free(dir->data);
	dir->data = d;
	dir->len = 4 + n * DIR_ENTRY_LEN;
	return 0;
}

int fw_cfg_add_file_hook(struct fw_cfg *f, const char *name, const void *data, uint32_t len,
			 bool writable, fw_cfg_hook hook, void *opaque)
{
	int rc = fw_cfg_add_file(f, name, data, len);
	struct fw_cfg_item *it = rc == 0 ? find_key(f, (uint16_t)(f->next_file_key - 1)) : NULL;

	if (it) {
		it->writable = writable;
		it->hook = hook;
		it->hook_opaque = opaque;
	}
	return rc;
}

int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, uint32_t len)
{
	size_t nl = name ? strlen(name) : 0;
	uint8_t *copy;
	int rc;

	if (nl == 0 || nl >= FW_CFG_NAME_MAX)
		return -EINVAL;
	if (fw_cfg_find_file(f, name))
		return -EEXIST;
	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, data, len);
	rc = put_item(f, f->next_file_key, name, copy, len);
	if (rc < 0)
		return rc;
	f->next_file_key++;
	return rebuild_dir(f);
}

const struct fw_cfg_item *fw_cfg_find_file(const struct fw_cfg *f, const char *name)
{
	for (unsigned i = 0; i < f->nitems; i++)
		if (f->items[i].name[0] && !strcmp(f->items[i].name, name))
			return &f->items[i];
	return NULL;
}

int fw_cfg_init(struct fw_cfg *f, const struct guest_mem *mem)
{
	int rc;

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	f->mem = mem;
	f->next_file_key = FW_CFG_FILE_FIRST;
	rc = fw_cfg_add(f, FW_CFG_SIGNATURE, "QEMU", 4);
	if (rc == 0)
		rc =
		    fw_cfg_add_u32(f, FW_CFG_ID, FW_CFG_ID_TRADITIONAL | (mem ? FW_CFG_ID_DMA : 0));
	if (rc == 0)
		rc = fw_cfg_add(f, FW_CFG_FILE_DIR, NULL, 0);
	if (rc == 0)
		rc = rebuild_dir(f);
	return rc;
}

void fw_cfg_destroy(struct fw_cfg *f)
{
	for (unsigned i = 0; i < f->nitems; i++)
		free(f->items[i].data);
	f->nitems = 0;
	pthread_mutex_destroy(&f->lock);
}

/* Caller holds the lock. Bit 14 (write) and bit 15 (arch) are part of the key here: the
 * items phyllome-vmm has are generic or arch-specific by their number, and written by DMA. */
static void select_item(struct fw_cfg *f, uint16_t key)
{
	f->selector = key;
	f->offset = 0;
	f->cur = find_key(f, key);
	if (f->cur && f->cur->hook)
		f->cur->hook(f->cur->hook_opaque, f->cur->data, f->cur->len, false);
}

/* Caller holds the lock. A DMA write into the selected item: only a writable one, only within
 * its length (QEMU's rule too); its device hears of it. */
static bool dma_write(struct fw_cfg *f, uint64_t addr, uint32_t len)
{
	struct fw_cfg_item *it = f->cur;
	const uint8_t *src = gm_ptr(f->mem, addr, len);

	if (!it || !it->writable || !src || f->offset > it->len || len > it->len - f->offset)
		return false;
	memcpy(it->data + f->offset, src, len);
	f->offset += len;
	if (it->hook)
		it->hook(it->hook_opaque, it->data, it->len, true);
	return true;
}

static uint8_t next_byte(struct fw_cfg *f)
{
	if (!f->cur || f->offset >= f->cur->len)
		return 0;
	return f->cur->data[f->offset++];
}

/* One DMA transfer described by the FWCfgDmaAccess at gpa; the guest reads the result in its
 * control field (0: done, FW_CFG_DMA_ERROR: refused). Caller holds the lock. */
static void dma_transfer(struct fw_cfg *f, uint64_t gpa)
{
	uint8_t *acc = gm_ptr(f->mem, gpa, 16);
	uint32_t ctl, len;
	uint64_t addr;
	bool err = false;

	f->dma_ops++;
	if (!acc) {
		f->dma_errors++;
		return; /* nowhere to report to */
	}
	ctl = get_be32(acc);
	len = get_be32(acc + 4);
	addr = (uint64_t)get_be32(acc + 8) << 32 | get_be32(acc + 12);
	if (ctl & FW_CFG_DMA_SELECT)
		select_item(f, (uint16_t)(ctl >> 16));
	if (ctl & FW_CFG_DMA_READ) {
		uint8_t *dst = gm_ptr(f->mem, addr, len);
		uint32_t avail = f->cur && f->offset < f->cur->len ? f->cur->len - f->offset : 0;
		uint32_t n = len < avail ? len : avail;

		if (!dst) {
			err = true;
		} else {
			if (n)
				memcpy(dst, f->cur->data + f->offset, n);
			memset(dst + n, 0, len - n); /* past the end an item reads as zeros */
			f->offset += n;
		}
	} else if (ctl & FW_CFG_DMA_WRITE) {
		err = !dma_write(f, addr, len);
	} else if (ctl & FW_CFG_DMA_SKIP) {
		uint32_t avail = f->cur && f->offset < f->cur->len ? f->cur->len - f->offset : 0;

		f->offset += len < avail ? len : avail;
	}
	if (err)
		f->dma_errors++;
	/* The access structure may have been in a region the transfer just wrote: look again. */
	acc = gm_ptr(f->mem, gpa, 4);
	if (acc)
		put_be32(acc, err ? FW_CFG_DMA_ERROR : 0);
}

static void dma_io(struct fw_cfg *f, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	if (!is_write) {
		uint64_t v = 0;

		if (f->mem && off + len <= 8)
			v = DMA_SIGNATURE >> ((8 - off - len) * 8);
		for (uint32_t i = 0; i < len; i++)
			data[i] = (uint8_t)(v >> (8 * i));
		return;
	}
	if (!f->mem)
		return;
	if (off == 0 && len == 8) {
		dma_transfer(f, (uint64_t)get_be32(data) << 32 | get_be32(data + 4));
		f->dma_hi = 0;
	} else if (off == 0 && len == 4) {
		f->dma_hi = get_be32(data);
	} else if (off == 4 && len == 4) {
		dma_transfer(f, (uint64_t)f->dma_hi << 32 | get_be32(data));
		f->dma_hi = 0;
	}
}

void fw_cfg_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct fw_cfg *f = opaque;

	pthread_mutex_lock(&f->lock);
	if (off == 0 && len == 2) {
		if (is_write)
			select_item(f, get_le16(data));
		else
			memset(data, 0, len);
	} else if (off == 1 && len <= 8) {
		/* The data port: successive bytes of the item (writes are ignored, as in QEMU). */
		for (uint32_t i = 0; i < len && !is_write; i++)
			data[i] = next_byte(f);
	} else if (off >= 4 && off - 4 + len <= 8) {
		dma_io(f, off - 4, data, len, is_write);
	} else if (!is_write) {
		memset(data, 0, len);
	}
	pthread_mutex_unlock(&f->lock);
}

int fw_cfg_add_linux(struct fw_cfg *f, const uint8_t *kernel, size_t klen, const uint8_t *initrd,
		     size_t ilen, const char *cmdline, char *err, size_t errlen)
{
	struct bzimage_info bi;
	size_t clen = strlen(cmdline) + 1;
	int rc = bzimage_parse(kernel, klen, &bi, err, errlen);

	if (rc < 0)
		return rc;
	if (klen > UINT32_MAX || ilen > UINT32_MAX || clen > UINT32_MAX) {
		snprintf(err, errlen, "the kernel or initramfs is larger than 4 GiB");
		return -EFBIG;
	}
	rc = fw_cfg_add_u32(f, FW_CFG_SETUP_SIZE, bi.setup_size);
	if (rc == 0)
		rc = fw_cfg_add(f, FW_CFG_SETUP_DATA, kernel, bi.setup_size);
	if (rc == 0)
		rc = fw_cfg_add_u32(f, FW_CFG_KERNEL_SIZE, (uint32_t)bi.payload_size);
	if (rc == 0)
		rc = fw_cfg_add(f, FW_CFG_KERNEL_DATA, bi.payload, (uint32_t)bi.payload_size);
	if (rc == 0 && initrd)
		rc = fw_cfg_add_u32(f, FW_CFG_INITRD_SIZE, (uint32_t)ilen);
	if (rc == 0 && initrd)
		rc = fw_cfg_add(f, FW_CFG_INITRD_DATA, initrd, (uint32_t)ilen);
	if (rc == 0)
		rc = fw_cfg_add_u32(f, FW_CFG_CMDLINE_SIZE, (uint32_t)clen);
	if (rc == 0)
		rc = fw_cfg_add(f, FW_CFG_CMDLINE_DATA, cmdline, (uint32_t)clen);
	if (rc < 0)
		snprintf(err, errlen, "cannot add the kernel to fw_cfg: %s", strerror(-rc));
	return rc;
}

/* ---- on the board: for firmware guests (the machine fills it before they start) ---- */

static bool fw_cfg_wanted(const struct vm_config *cfg)
{
	return cfg->firmware;
}

static int fw_cfg_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct fw_cfg *f = calloc(1, sizeof(*f));
	int rc;

	(void)err;
	(void)errlen;
	if (!f)
		return -ENOMEM;
	rc = fw_cfg_init(f, b->mem);
	if (rc < 0) {
		free(f);
		return rc;
	}
	*state = f;
	return board_add_pio(b, FW_CFG_PORT_SEL, FW_CFG_PORT_LEN, fw_cfg_io, f, "fw-cfg");
}

static void fw_cfg_unplug(void *state)
{
	fw_cfg_destroy(state);
	free(state);
}

const struct device_model fw_cfg_device = {
    .name = "fw-cfg",
    .wanted = fw_cfg_wanted,
    .plug = fw_cfg_plug,
    .unplug = fw_cfg_unplug,
};
