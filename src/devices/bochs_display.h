/* The display device: the programming model of QEMU's bochs-display / standard VGA (PCI
 * 1234:1111): a linear framebuffer (VRAM) in BAR0 and, in the MMIO BAR2, an EDID block at 0x000,
 * the VGA ports 0x3C0..0x3DF at 0x400, the DISPI (VBE) registers at 0x500 and QEMU's extended
 * registers at 0x600; the DISPI registers are also at ports 0x1CE/0x1CF. Linux's bochs DRM
 * driver, OVMF's QemuVideoDxe and Windows' basic display driver drive it (docs/display.md).
 * VRAM is host memory the VMM maps into the guest (a KVM memory slot): guest writes to it cost no
 * exits, and the front ends read it through bochs_get_mode(). */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/pci.h"
#include "kvm/memslots.h"

#define BOCHS_VENDOR	  0x1234
#define BOCHS_DEVICE	  0x1111
#define BOCHS_VRAM_SIZE	  (32u << 20) /* 3840x2160 at 32 bpp needs 31.6 MiB */
#define BOCHS_MMIO_SIZE	  0x1000
#define BOCHS_MAX_W	  3840
#define BOCHS_MAX_H	  2160
#define BOCHS_DEFAULT_W	  1280 /* the EDID's preferred mode */
#define BOCHS_DEFAULT_H	  800
#define BOCHS_DISPI_PORT  0x1CE /* index; 0x1CF: data */
#define BOCHS_DISPI_NREGS 16
#define BOCHS_EDID_SIZE	  128

/* DISPI register indexes and the ENABLE bits (Bochs' VBE extension). */
enum {
	DISPI_ID,
	DISPI_XRES,
	DISPI_YRES,
	DISPI_BPP,
	DISPI_ENABLE,
	DISPI_BANK,
	DISPI_VIRT_WIDTH,
	DISPI_VIRT_HEIGHT,
	DISPI_X_OFFSET,
	DISPI_Y_OFFSET,
	DISPI_VIDEO_MEMORY_64K,
};
#define DISPI_ID5	  0xB0C5
#define DISPI_ENABLED	  0x01
#define DISPI_GETCAPS	  0x02
#define DISPI_LFB_ENABLED 0x40
#define DISPI_NOCLEARMEM  0x80

/* What the scan-out shows: the pixels at vram + offset, stride bytes per row. */
struct bochs_mode {
	bool enabled; /* false: the screen is blank (no valid mode programmed) */
	uint32_t width, height;
	uint32_t bpp;	 /* 32 (XRGB8888), 24 (RGB888), 16 (RGB565), 15 (XRGB1555) or 8 */
	uint32_t stride; /* bytes */
	uint64_t offset; /* bytes into VRAM */
	uint32_t gen;	 /* changes whenever the mode (or its offset) changes */
};

struct bochs_display {
	pthread_mutex_t lock;
	struct pci_dev pci;
	uint8_t *vram; /* BOCHS_VRAM_SIZE bytes, owned by the caller */
	uint16_t index;
	uint16_t regs[BOCHS_DISPI_NREGS];
	uint32_t qext_endian;
	uint8_t vga_ar_index;
	uint8_t vga_ar_flipflop;
	uint8_t palette[256][3]; /* VGA DAC, for 8 bpp */
	uint8_t dac_write, dac_read, dac_comp;
	struct bochs_mode mode;
	uint8_t edid[BOCHS_EDID_SIZE];
	/* BAR0 moved to gpa (0: not decoded): the VMM moves the VRAM slot. Called with the PCI
	 * bus lock held, from whichever thread wrote the BAR. */
	void (*map_vram)(void *opaque, uint64_t gpa);
	void *map_opaque;
};

/* vram must hold BOCHS_VRAM_SIZE bytes. The device comes up disabled (blank), as after a reset. */
void bochs_init(struct bochs_display *b, uint8_t *vram, void (*map_vram)(void *, uint64_t),
		void *map_opaque);
void bochs_destroy(struct bochs_display *b);
/* Ports 0x1CE..0x1CF (iobus handler). */
void bochs_dispi_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
/* A copy of the current scan-out mode (any thread). */
void bochs_get_mode(struct bochs_display *b, struct bochs_mode *m);
/* Fills a 128-byte EDID 1.4 block whose preferred mode is width x height (exposed for tests). */
void bochs_make_edid(uint8_t edid[BOCHS_EDID_SIZE], unsigned width, unsigned height);

/* On the board (devices/device.h): the device with its VRAM (a memfd) in a dirty-logged memory
 * slot that follows BAR0; the display's front ends read the slot's log (memslot_dirty_get). */
struct bochs_card {
	struct bochs_display dev;
	bool dev_ready;
	struct memslot_dirty slot;
	uint8_t *vram;
	int vram_fd;
};
extern const struct device_model bochs_display_device;
