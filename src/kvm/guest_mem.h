/* Guest physical memory: one private anonymous mapping, 2 MiB-aligned and asking for transparent
 * huge pages, and the single checked accessor through which every device and loader turns a
 * guest address into a host pointer. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GM_MAX_REGIONS 4

struct gm_region {
	uint64_t gpa;	 /* guest physical start */
	uint64_t size;	 /* bytes */
	uint64_t offset; /* offset into the host mapping */
};

struct guest_mem {
	bool owned;    /* host is our mapping (gm_init), not a caller's buffer */
	uint8_t *host; /* all guest RAM, regions at their offsets */
	uint64_t size; /* total RAM bytes */
	unsigned nregions;
	struct gm_region regions[GM_MAX_REGIONS];
	/* RAM that devices may not reach (SMRAM while it is closed: TSEG); atomic, 0: none. */
	uint64_t hidden_gpa, hidden_len;
};

/* Start of the 32-bit device hole: RAM above this goes above 4 GiB. */
#define GM_HOLE_START 0xC0000000ULL
#define GM_HIGH_START 0x100000000ULL

/* Lay out `size` bytes of RAM in regions around the hole (no allocation). */
void gm_layout(struct guest_mem *gm, uint64_t size);
/* The same with the hole starting at hole (below 4 GiB): firmware guests have theirs lower. */
void gm_layout_hole(struct guest_mem *gm, uint64_t size, uint64_t hole);
/* Lay out and map guest RAM. Returns 0 or -errno. */
int gm_init(struct guest_mem *gm, uint64_t size);
int gm_init_hole(struct guest_mem *gm, uint64_t size, uint64_t hole);
/* Use caller-provided host memory (tests, fuzzing). */
void gm_init_buffer(struct guest_mem *gm, void *buf, uint64_t size);
void gm_destroy(struct guest_mem *gm);

/* The accessor: host pointer for [gpa, gpa+len) if it lies wholly inside one RAM
 * region (overflow-safe), else NULL. len 0 is allowed (returns pointer if gpa valid). */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);
/* Hides [gpa, gpa + len) from gm_ptr (len 0: nothing hidden): RAM that only the CPU in SMM
 * reaches (a closed TSEG), which no device DMA and no loader may touch, as on a Q35 chipset. */
void gm_hide(struct guest_mem *gm, uint64_t gpa, uint64_t len);
/* Copy helpers built on gm_ptr. Return 0 or -EFAULT. */
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len);
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len);
