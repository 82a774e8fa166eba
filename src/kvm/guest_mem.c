#include "kvm/guest_mem.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

void gm_layout(struct guest_mem *gm, uint64_t size)
{
	gm_layout_hole(gm, size, GM_HOLE_START);
}

void gm_layout_hole(struct guest_mem *gm, uint64_t size, uint64_t hole)
{
	uint64_t low = size < hole ? size : hole;

	memset(gm, 0, sizeof(*gm));
	gm->size = size;
	gm->regions[0] = (struct gm_region){.gpa = 0, .size = low, .offset = 0};
	gm->nregions = 1;
	if (size > low) {
		gm->regions[1] =
		    (struct gm_region){.gpa = GM_HIGH_START, .size = size - low, .offset = low};
		gm->nregions = 2;
	}
}

int gm_init(struct guest_mem *gm, uint64_t size)
{
	return gm_init_hole(gm, size, GM_HOLE_START);
}

/* Huge-page size KVM can map guest RAM with (2 MiB nested pages). */
#define GM_HUGE (2ULL << 20)

int gm_init_hole(struct guest_mem *gm, uint64_t size, uint64_t hole)
{
	uint8_t *p, *aligned;
	size_t head;

	gm_layout_hole(gm, size, hole);
	/* Private anonymous memory, as nothing else maps guest RAM: the host's transparent huge
	 * pages serve it on request (Debian's default transparent_hugepage/enabled is "madvise";
	 * shared memory such as a memfd gets them only with shmem_enabled, "never" by default).
	 * Aligned to 2 MiB so that guest-physical and host-virtual huge pages coincide and KVM
	 * maps them with 2 MiB nested pages: fewer nested-page faults and TLB misses
	 * (docs/benchmarks.md, finding 2 of the boot benchmark). */
	p = mmap(NULL, size + GM_HUGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	aligned = (uint8_t *)(((uintptr_t)p + GM_HUGE - 1) & ~(uintptr_t)(GM_HUGE - 1));
	head = (size_t)(aligned - p);
	if (head)
		munmap(p, head);
	munmap(aligned + size, GM_HUGE - head);
	gm->host = aligned;
	gm->owned = true;
	madvise(aligned, size, MADV_HUGEPAGE);
	/* Except the first 2 MiB (the real-mode area, boot tables, firmware's first steps): a guest
	 * that only touches a few pages there (a tiny guest, a firmware that has not reached its
	 * RAM yet) does not pay 2 MiB of host memory for them. */
	if (size > GM_HUGE)
		madvise(aligned, GM_HUGE, MADV_NOHUGEPAGE);
	/* Guest RAM has no place in a core dump of the VMM, nor in a process it forks. */
	madvise(aligned, size, MADV_DONTDUMP);
	madvise(aligned, size, MADV_DONTFORK);
	return 0;
}

void gm_init_buffer(struct guest_mem *gm, void *buf, uint64_t size)
{
	gm_layout(gm, size);
	gm->host = buf;
}

void gm_destroy(struct guest_mem *gm)
{
	if (gm->owned && gm->host)
		munmap(gm->host, gm->size);
	gm->host = NULL;
	gm->owned = false;
}

void gm_hide(struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	__atomic_store_n(&gm->hidden_len, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&gm->hidden_gpa, gpa, __ATOMIC_RELEASE);
	__atomic_store_n(&gm->hidden_len, len, __ATOMIC_RELEASE);
}

/* Whether [gpa, gpa + len), which lies inside a region, touches the hidden range. */
static bool hidden(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	uint64_t hl = __atomic_load_n(&gm->hidden_len, __ATOMIC_ACQUIRE);
	uint64_t hg = __atomic_load_n(&gm->hidden_gpa, __ATOMIC_ACQUIRE);

	if (!hl)
		return false;
	/* len 0 still names an address: treat it as one byte. */
	return gpa < hg + hl && hg < gpa + (len ? len : 1);
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < gm->nregions; i++) {
		const struct gm_region *r = &gm->regions[i];

		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		/* Written so that no sum can overflow: gpa - r->gpa < r->size here. */
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		if (hidden(gm, gpa, len))
			return NULL;
		return gm->host + r->offset + (gpa - r->gpa);
	}
	return NULL;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = gm_ptr(gm, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}
