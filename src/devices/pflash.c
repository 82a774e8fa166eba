#include "devices/pflash.h"

#include <string.h>

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
		write_access(p, off, data, len);
	} else {
		for (uint32_t i = 0; i < len; i++)
			data[i] = read_byte(p, off + i);
	}
	pthread_mutex_unlock(&p->lock);
}
