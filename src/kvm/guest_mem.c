#include "kvm/guest_mem.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void gm_layout(struct guest_mem *gm, uint64_t size)
{
	gm_layout_hole(gm, size, GM_HOLE_START);
}

void gm_layout_hole(struct guest_mem *gm, uint64_t size, uint64_t hole)
{
	uint64_t low = size < hole ? size : hole;

	memset(gm, 0, sizeof(*gm));
	gm->fd = -1;
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

int gm_init_hole(struct guest_mem *gm, uint64_t size, uint64_t hole)
{
	void *p;

	gm_layout_hole(gm, size, hole);
	gm->fd = memfd_create("phyllome-guest-ram", MFD_CLOEXEC);
	if (gm->fd < 0)
		return -errno;
	if (ftruncate(gm->fd, (off_t)size) < 0)
		goto fail;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, gm->fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	gm->host = p;
	/* Guest RAM has no place in a core dump of the VMM. */
	madvise(p, size, MADV_DONTDUMP);
	/* Transparent huge pages for the memfd, where the host allows them for shmem on request
	 * (transparent_hugepage/shmem_enabled "advise"; "always" needs no request; Debian's
	 * default "never" ignores it). KVM then maps guest RAM with 2 MiB nested pages: fewer
	 * nested-page faults and TLB misses (docs/benchmarks.md, "Display over VNC" and finding 2
	 * of the boot benchmark). */
	madvise(p, size, MADV_HUGEPAGE);
	return 0;
fail:;
	int err = -errno;

	close(gm->fd);
	gm->fd = -1;
	return err;
}

void gm_init_buffer(struct guest_mem *gm, void *buf, uint64_t size)
{
	gm_layout(gm, size);
	gm->host = buf;
}

void gm_destroy(struct guest_mem *gm)
{
	if (gm->fd >= 0) {
		if (gm->host)
			munmap(gm->host, gm->size);
		close(gm->fd);
	}
	gm->host = NULL;
	gm->fd = -1;
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
