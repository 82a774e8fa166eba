/* KVM memory slots, with one owner for their numbers: guest RAM, the firmware's ROM and flash,
 * and device memory whose writes KVM logs (the display's VRAM) each take their slots here. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEMSLOTS_MAX 32

/* What a slot maps in the normal address space (0), as last set. */
struct memslot_map {
	uint64_t gpa, size; /* size 0: nothing mapped */
	void *host;
	uint32_t flags;
};

struct memslots {
	int vm_fd;
	uint32_t used;	/* bit n: slot n is handed out */
	int manual_log; /* manual dirty-log protection: -1 not tried yet, 0 off, 1 on */
	struct memslot_map map[MEMSLOTS_MAX];
	bool smm;	  /* memslot_set mirrors into SMM's address space */
	uint32_t smm_set; /* bit n: slot n is mapped in SMM's address space */
};

/* KVM's address spaces on x86: 0 is what the CPU sees normally, 1 what it sees in System
 * Management Mode (RAM with SMRAM open), which needs KVM_CAP_X86_SMM. */
#define MEMSLOT_AS_SMM 1

void memslots_init(struct memslots *ms, int vm_fd);
/* Hands out a free slot number, or -ENOSPC. */
int memslot_alloc(struct memslots *ms);
/* Maps host[0, size) at gpa in slot (size 0: removes the slot's mapping). flags: KVM_MEM_*.
 * 0 or -errno. With SMM (memslots_smm_mirror), in both address spaces. */
int memslot_set(struct memslots *ms, unsigned slot, uint64_t gpa, void *host, uint64_t size,
		uint32_t flags);
/* The same in address space as_id (MEMSLOT_AS_SMM: slot | 1 << 16 for KVM). */
int memslot_set_as(struct memslots *ms, unsigned as_id, unsigned slot, uint64_t gpa, void *host,
		   uint64_t size, uint32_t flags);
/* From now on memslot_set maps each slot in SMM's address space too (dirty-logged slots
 * excepted: SMM code has no business with the display), starting with those already set. */
int memslots_smm_mirror(struct memslots *ms);
/* The slot whose mapping in address space 0 holds gpa, or -ENOENT. */
int memslot_find(const struct memslots *ms, uint64_t gpa);
/* Whether this KVM has System Management Mode with its own address space. */
bool memslots_smm_ok(const struct memslots *ms);
/* Whether this KVM maps read-only memory (KVM_MEM_READONLY: ROM and flash in read mode). */
bool memslots_readonly_ok(const struct memslots *ms);

/* A slot of device memory whose writes KVM logs, mapped wherever the guest puts its BAR. */
struct memslot_dirty {
	struct memslots *ms;
	unsigned slot;
	uint8_t *host;
	uint64_t size;	 /* a multiple of 4 KiB */
	uint64_t gpa;	 /* where the slot is now (0: not mapped); atomic */
	bool moved;	 /* accesses went through MMIO exits: the log missed them; atomic */
	bool manual;	 /* manual protection: only the pages read are re-protected */
	uint64_t *clear; /* KVM_CLEAR_DIRTY_LOG's bitmap (manual protection) */
};

/* Takes a slot for host[0, size) and turns on manual dirty-log protection for the VM where
 * KVM offers it. 0 or -errno. */
int memslot_dirty_init(struct memslot_dirty *d, struct memslots *ms, uint8_t *host, uint64_t size);
void memslot_dirty_destroy(struct memslot_dirty *d);
/* The BAR moved to gpa (0: not decoded): unmaps the old place, maps the new one with dirty
 * logging. On failure the memory still works, through MMIO exits (slowly). */
void memslot_dirty_map(struct memslot_dirty *d, uint64_t gpa);
/* The pages written since the last call (a display_src's get_dirty; opaque: the
 * memslot_dirty), at least for the bytes [start, start + len) the caller reads, whose dirty
 * pages are write-protected again (with manual protection, pages outside stay as they are and
 * may be reported again). bitmap: bytes long, one bit per page. -ENOENT: not mapped;
 * -EAGAIN: the slot moved since (treat all as dirty); other -errno: treat all as dirty. */
int memslot_dirty_get(void *opaque, uint64_t *bitmap, size_t bytes, uint64_t start, uint64_t len);
