#include "devices/bochs_display.h"

#include <string.h>

#include "common/bytes.h"
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "devices/device.h"

#define MMIO_VGA   0x400 /* VGA port 0x3C0 + n at 0x400 + n */
#define MMIO_DISPI 0x500 /* DISPI register n at 0x500 + 2n */
#define MMIO_QEXT  0x600
#define QEXT_SIZE  8 /* size register + endianness register */
#define QEXT_LE	   0x1E1E1E1Eu
#define QEXT_BE	   0xBEBEBEBEu

/* One detailed timing descriptor: a reduced-blanking 60 Hz timing for w x h. */
static void edid_timing(uint8_t *d, unsigned w, unsigned h)
{
	unsigned hblank = 160, vblank = 23, hso = 48, hsw = 32, vso = 3, vsw = 6;
	unsigned clk = (w + hblank) * (h + vblank) * 60 / 10000; /* 10 kHz units */

	put_le16(d, (uint16_t)clk);
	d[2] = (uint8_t)w;
	d[3] = (uint8_t)hblank;
	d[4] = (uint8_t)(((w >> 8) & 0xF) << 4); /* the blanking's high bits: 0 */
	d[5] = (uint8_t)h;
	d[6] = (uint8_t)vblank;
	d[7] = (uint8_t)(((h >> 8) & 0xF) << 4);
	d[8] = (uint8_t)hso;
	d[9] = (uint8_t)hsw;
	d[10] = (uint8_t)((vso & 0xF) << 4 | (vsw & 0xF));
	d[11] = 0;
	d[12] = 0x54; /* 340 x 213 mm: about 100 dpi at 1280x800 */
	d[13] = 0xD5;
	d[14] = 0x10;
	d[17] = 0x1A; /* digital separate sync, +hsync -vsync */
}

void bochs_make_edid(uint8_t e[BOCHS_EDID_SIZE], unsigned width, unsigned height)
{
	static const uint8_t header[8] = {0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0};
	static const uint8_t chroma[10] = {0xEE, 0x91, 0xA3, 0x54, 0x4C,
					   0x99, 0x26, 0x0F, 0x50, 0x54};
	/* Standard timings: 1920x1080, 1920x1200, 1600x900, 1440x900, 1280x1024, 1024x768. */
	static const uint8_t std[16] = {0xD1, 0xC0, 0xD1, 0x00, 0xA9, 0xC0, 0x95, 0x00,
					0x81, 0x80, 0x61, 0x40, 0x01, 0x01, 0x01, 0x01};
	static const char name[] = "Phyllome\n   ";
	uint8_t sum = 0;

	memset(e, 0, BOCHS_EDID_SIZE);
	memcpy(e, header, 8);
	put_be16(e + 8, (16 << 10) | (8 << 5) | 25); /* "PHY" */
	put_le16(e + 10, 0x1111);
	e[16] = 1;  /* week */
	e[17] = 36; /* 2026 */
	e[18] = 1;  /* EDID 1.4 */
	e[19] = 4;
	e[20] = 0x80; /* digital input */
	e[21] = 34;   /* cm */
	e[22] = 21;
	e[23] = 120;  /* gamma 2.2 */
	e[24] = 0x06; /* RGB 4:4:4, sRGB, preferred timing first */
	memcpy(e + 25, chroma, sizeof(chroma));
	e[35] = 0x21; /* 640x480, 800x600 at 60 Hz */
	e[36] = 0x08; /* 1024x768 at 60 Hz */
	memcpy(e + 38, std, sizeof(std));
	edid_timing(e + 54, width, height);
	e[75] = 0xFC; /* display product name */
	memcpy(e + 77, name, 13);
	e[93] = 0xFD; /* range limits: 50-75 Hz, 30-160 kHz, 600 MHz */
	e[95] = 50;
	e[96] = 75;
	e[97] = 30;
	e[98] = 160;
	e[99] = 60;
	e[101] = 0x0A;
	memset(e + 102, ' ', 6);
	e[111] = 0x10; /* dummy descriptor */
	for (unsigned i = 0; i < BOCHS_EDID_SIZE - 1; i++)
		sum = (uint8_t)(sum + e[i]);
	e[127] = (uint8_t)(0x100 - sum);
}

static unsigned bytes_pp(unsigned bpp)
{
	return bpp == 15 ? 2 : (bpp + 7) / 8;
}

/* Recomputes the scan-out from the registers. Caller holds the lock. */
static void update_mode(struct bochs_display *b)
{
	const uint16_t *r = b->regs;
	struct bochs_mode m = {.gen = b->mode.gen};
	unsigned bpp = r[DISPI_BPP], bypp = bytes_pp(bpp);
	uint64_t vw = r[DISPI_VIRT_WIDTH] > r[DISPI_XRES] ? r[DISPI_VIRT_WIDTH] : r[DISPI_XRES];

	if ((r[DISPI_ENABLE] & DISPI_ENABLED) && r[DISPI_XRES] && r[DISPI_YRES] &&
	    r[DISPI_XRES] <= BOCHS_MAX_W && r[DISPI_YRES] <= BOCHS_MAX_H &&
	    (bpp == 8 || bpp == 15 || bpp == 16 || bpp == 24 || bpp == 32)) {
		m.width = r[DISPI_XRES];
		m.height = r[DISPI_YRES];
		m.bpp = bpp;
		m.stride = (uint32_t)(vw * bypp);
		m.offset =
		    (uint64_t)r[DISPI_Y_OFFSET] * m.stride + (uint64_t)r[DISPI_X_OFFSET] * bypp;
		/* The whole visible area must lie inside VRAM, or nothing is shown. */
		m.enabled =
		    m.offset + (uint64_t)(m.height - 1) * m.stride + (uint64_t)m.width * bypp <=
		    BOCHS_VRAM_SIZE;
	}
	if (!m.enabled)
		m = (struct bochs_mode){.gen = b->mode.gen};
	if (memcmp(&m, &b->mode, sizeof(m))) {
		m.gen = b->mode.gen + 1;
		b->mode = m;
	}
}

static uint16_t dispi_read(struct bochs_display *b, unsigned idx)
{
	bool caps = b->regs[DISPI_ENABLE] & DISPI_GETCAPS;

	switch (idx) {
	case DISPI_ID:
		return b->regs[DISPI_ID];
	case DISPI_XRES:
		return caps ? BOCHS_MAX_W : b->regs[idx];
	case DISPI_YRES:
		return caps ? BOCHS_MAX_H : b->regs[idx];
	case DISPI_BPP:
		return caps ? 32 : b->regs[idx];
	case DISPI_VIDEO_MEMORY_64K:
		return (uint16_t)(BOCHS_VRAM_SIZE >> 16);
	default:
		return idx < BOCHS_DISPI_NREGS ? b->regs[idx] : 0xFFFF;
	}
}

static void dispi_write(struct bochs_display *b, unsigned idx, uint16_t v)
{
	switch (idx) {
	case DISPI_ID:
		/* A driver writes the ID it speaks; we answer with the newest whatever it says. */
		return;
	case DISPI_ENABLE:
		if ((v & DISPI_ENABLED) && !(b->regs[DISPI_ENABLE] & DISPI_ENABLED)) {
			/* Enabling resets the virtual size and offsets, as Bochs does. */
			b->regs[DISPI_VIRT_WIDTH] = b->regs[DISPI_XRES];
			b->regs[DISPI_VIRT_HEIGHT] = b->regs[DISPI_YRES];
			b->regs[DISPI_X_OFFSET] = b->regs[DISPI_Y_OFFSET] = 0;
			if (!(v & DISPI_NOCLEARMEM))
				memset(b->vram, 0, BOCHS_VRAM_SIZE);
		}
		b->regs[idx] = v;
		break;
	case DISPI_BANK: /* banked access needs the legacy VGA window, which we don't have */
	case DISPI_VIDEO_MEMORY_64K:
		return;
	default:
		if (idx < BOCHS_DISPI_NREGS)
			b->regs[idx] = v;
		break;
	}
	update_mode(b);
}

/* The few VGA registers guests touch: the attribute index (video on/off) and the DAC. */
static void vga_io(struct bochs_display *b, unsigned port, uint8_t *v, bool is_write)
{
	switch (port) {
	case 0x3C0:
		if (is_write) {
			if (!b->vga_ar_flipflop)
				b->vga_ar_index = *v;
			b->vga_ar_flipflop ^= 1;
		} else {
			*v = b->vga_ar_index;
		}
		return;
	case 0x3DA: /* input status: reading resets the attribute flip-flop */
		if (!is_write) {
			b->vga_ar_flipflop = 0;
			*v = 0;
		}
		return;
	case 0x3C7:
		if (is_write) {
			b->dac_read = *v;
			b->dac_comp = 0;
		} else
			*v = 0;
		return;
	case 0x3C8:
		if (is_write) {
			b->dac_write = *v;
			b->dac_comp = 0;
		} else {
			*v = b->dac_write;
		}
		return;
	case 0x3C9:
		if (is_write) {
			b->palette[b->dac_write][b->dac_comp] = (uint8_t)(*v & 0x3F);
			if (++b->dac_comp == 3) {
				b->dac_comp = 0;
				b->dac_write++;
			}
		} else {
			*v = b->palette[b->dac_read][b->dac_comp];
			if (++b->dac_comp == 3) {
				b->dac_comp = 0;
				b->dac_read++;
			}
		}
		return;
	default:
		if (!is_write)
			*v = 0;
		return;
	}
}

static void mmio_io(struct bochs_display *b, uint64_t off, uint8_t *data, uint32_t len,
		    bool is_write)
{
	if (off + len <= BOCHS_EDID_SIZE) {
		if (!is_write)
			memcpy(data, b->edid + off, len);
	} else if (off >= MMIO_VGA && off + len <= MMIO_VGA + 0x20) {
		for (uint32_t i = 0; i < len; i++)
			vga_io(b, 0x3C0 + (unsigned)(off - MMIO_VGA) + i, &data[i], is_write);
	} else if (off >= MMIO_DISPI && off + len <= MMIO_DISPI + 2 * BOCHS_DISPI_NREGS &&
		   len == 2 && !(off & 1)) {
		unsigned idx = (unsigned)(off - MMIO_DISPI) / 2;

		if (is_write)
			dispi_write(b, idx, get_le16(data));
		else
			put_le16(data, dispi_read(b, idx));
	} else if (off >= MMIO_QEXT && off + len <= MMIO_QEXT + QEXT_SIZE && len == 4 &&
		   !(off & 3)) {
		if (off == MMIO_QEXT && !is_write)
			put_le32(data, QEXT_SIZE);
		else if (off == MMIO_QEXT + 4 && is_write &&
			 (get_le32(data) == QEXT_LE || get_le32(data) == QEXT_BE))
			b->qext_endian = get_le32(data);
		else if (off == MMIO_QEXT + 4 && !is_write)
			put_le32(data, b->qext_endian);
	} else if (!is_write) {
		memset(data, 0, len);
	}
}

static void bar_io(struct pci_dev *p, unsigned bar, uint64_t off, uint8_t *data, uint32_t len,
		   bool is_write)
{
	struct bochs_display *b = p->opaque;

	pthread_mutex_lock(&b->lock);
	if (bar == 2) {
		mmio_io(b, off, data, len, is_write);
	} else if (bar == 0) {
		/* Only while the VRAM slot is being moved does an access land here. */
		if (is_write)
			memcpy(b->vram + off, data, len);
		else
			memcpy(data, b->vram + off, len);
	} else if (!is_write) {
		memset(data, 0xFF, len);
	}
	pthread_mutex_unlock(&b->lock);
}

static void bar_remap(struct pci_dev *p, unsigned bar, uint64_t addr)
{
	struct bochs_display *b = p->opaque;

	if (bar == 0 && b->map_vram)
		b->map_vram(b->map_opaque, addr);
}

static const struct pci_dev_ops bochs_ops = {
    .bar_io = bar_io,
    .bar_remap = bar_remap,
};

void bochs_init(struct bochs_display *b, uint8_t *vram, void (*map_vram)(void *, uint64_t),
		void *map_opaque)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	b->vram = vram;
	b->map_vram = map_vram;
	b->map_opaque = map_opaque;
	b->regs[DISPI_ID] = DISPI_ID5;
	b->regs[DISPI_BPP] = 32;
	b->qext_endian = QEXT_LE;
	bochs_make_edid(b->edid, BOCHS_DEFAULT_W, BOCHS_DEFAULT_H);
	/* Class 0x0300 (VGA compatible), as QEMU's std VGA: Windows' basic display driver and
	 * firmware look for a VGA-class device. Subsystem: QEMU's (1AF4:1100). */
	pci_dev_init(&b->pci, BOCHS_VENDOR, BOCHS_DEVICE, 0x030000, 2, 0x1AF4, 0x1100);
	pci_dev_set_bar(&b->pci, 0, PCI_BAR_MEM32, BOCHS_VRAM_SIZE);
	pci_dev_set_bar(&b->pci, 2, PCI_BAR_MEM32, BOCHS_MMIO_SIZE);
	b->pci.cfg[0x08 + 0] = 2; /* revision */
	b->pci.ops = &bochs_ops;
	b->pci.opaque = b;
}

void bochs_destroy(struct bochs_display *b)
{
	pthread_mutex_destroy(&b->lock);
}

void bochs_dispi_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct bochs_display *b = opaque;

	pthread_mutex_lock(&b->lock);
	if (off == 0 && len == 2) {
		if (is_write)
			b->index = get_le16(data);
		else
			put_le16(data, b->index);
	} else if (off == 1 && len == 2) {
		/* A 16-bit access at 0x1CF (the data port). */
		if (is_write)
			dispi_write(b, b->index, get_le16(data));
		else
			put_le16(data, dispi_read(b, b->index));
	} else if (!is_write) {
		memset(data, 0xFF, len);
	}
	pthread_mutex_unlock(&b->lock);
}

void bochs_get_mode(struct bochs_display *b, struct bochs_mode *m)
{
	pthread_mutex_lock(&b->lock);
	*m = b->mode;
	pthread_mutex_unlock(&b->lock);
}

/* ---- on the board: --display; VRAM in a memfd, a dirty-logged memory slot at BAR0 ---- */

static bool card_wanted(const struct vm_config *cfg)
{
	return cfg->display.kind != DISPLAY_OFF;
}

static void card_map_vram(void *opaque, uint64_t gpa)
{
	struct bochs_card *c = opaque;

	memslot_dirty_map(&c->slot, gpa);
}

static void card_unplug(void *state)
{
	struct bochs_card *c = state;

	if (c->dev_ready)
		bochs_destroy(&c->dev);
	memslot_dirty_destroy(&c->slot);
	if (c->vram)
		munmap(c->vram, BOCHS_VRAM_SIZE);
	if (c->vram_fd >= 0)
		close(c->vram_fd);
	free(c);
}

static int card_plug(struct board *b, void **state, char *err, size_t errlen)
{
	struct bochs_card *c = calloc(1, sizeof(*c));
	void *p;
	int rc;

	if (!c)
		return -ENOMEM;
	*state = c;
	c->vram_fd = memfd_create("phyllome-vram", MFD_CLOEXEC);
	if (c->vram_fd < 0 || ftruncate(c->vram_fd, BOCHS_VRAM_SIZE) < 0) {
		snprintf(err, errlen, "display: cannot allocate VRAM: %s", strerror(errno));
		return -ENOMEM;
	}
	p = mmap(NULL, BOCHS_VRAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, c->vram_fd, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "display: cannot map VRAM: %s", strerror(errno));
		return -ENOMEM;
	}
	c->vram = p;
	rc = memslot_dirty_init(&c->slot, b->slots, c->vram, BOCHS_VRAM_SIZE);
	if (rc < 0)
		return rc;
	bochs_init(&c->dev, c->vram, card_map_vram, c);
	c->dev_ready = true;
	rc = board_add_pio(b, BOCHS_DISPI_PORT, 3, bochs_dispi_io, &c->dev, "bochs-dispi");
	return rc ? rc : pci_bus_add(b->pci, &c->dev.pci);
}

const struct device_model bochs_display_device = {
    .name = "display",
    .wanted = card_wanted,
    .plug = card_plug,
    .unplug = card_unplug,
};
