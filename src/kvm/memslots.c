#include "kvm/memslots.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "common/log.h"
#include "kvm/dirty_log.h"

#define PAGE 4096u

void memslots_init(struct memslots *ms, int vm_fd)
{
	*ms = (struct memslots){.vm_fd = vm_fd, .manual_log = -1};
}

int memslot_alloc(struct memslots *ms)
{
	for (unsigned i = 0; i < MEMSLOTS_MAX; i++) {
		if (!(ms->used & 1u << i)) {
			ms->used |= 1u << i;
			return (int)i;
		}
	}
	return -ENOSPC;
}

int memslot_set_as(struct memslots *ms, unsigned as_id, unsigned slot, uint64_t gpa, void *host,
		   uint64_t size, uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
	    .slot = slot | as_id << 16,
	    .flags = flags,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = (uintptr_t)host,
	};

	if (ioctl(ms->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return -errno;
	if (as_id == 0 && slot < MEMSLOTS_MAX)
		ms->map[slot] = (struct memslot_map){gpa, size, host, flags};
	return 0;
}

/* The SMM address space's copy of a slot (none for dirty-logged memory). */
static int mirror(struct memslots *ms, unsigned slot, uint64_t gpa, void *host, uint64_t size,
		  uint32_t flags)
{
	bool want = size && !(flags & KVM_MEM_LOG_DIRTY_PAGES);
	int rc = 0;

	if (slot >= MEMSLOTS_MAX || (!want && !(ms->smm_set & 1u << slot)))
		return 0;
	if (ms->smm_set & 1u << slot) /* KVM changes only flags in place */
		rc = memslot_set_as(ms, MEMSLOT_AS_SMM, slot, gpa, host, 0, 0);
	if (rc == 0)
		ms->smm_set &= ~(1u << slot);
	if (rc == 0 && want)
		rc = memslot_set_as(ms, MEMSLOT_AS_SMM, slot, gpa, host, size, flags);
	if (rc == 0 && want)
		ms->smm_set |= 1u << slot;
	return rc;
}

int memslot_set(struct memslots *ms, unsigned slot, uint64_t gpa, void *host, uint64_t size,
		uint32_t flags)
{
	int rc = memslot_set_as(ms, 0, slot, gpa, host, size, flags);

	return rc == 0 && ms->smm ? mirror(ms, slot, gpa, host, size, flags) : rc;
}

int memslots_smm_mirror(struct memslots *ms)
{
	ms->smm = true;
	for (unsigned i = 0; i < MEMSLOTS_MAX; i++) {
		const struct memslot_map *m = &ms->map[i];
		int rc = m->size ? mirror(ms, i, m->gpa, m->host, m->size, m->flags) : 0;

		if (rc < 0)
			return rc;
	}
	return 0;
}

int memslot_find(const struct memslots *ms, uint64_t gpa)
{
	for (unsigned i = 0; i < MEMSLOTS_MAX; i++) {
		const struct memslot_map *m = &ms->map[i];

		if (m->size && gpa >= m->gpa && gpa - m->gpa < m->size)
			return (int)i;
	}
	return -ENOENT;
}

bool memslots_smm_ok(const struct memslots *ms)
{
	return ioctl(ms->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_SMM) > 0 &&
	       ioctl(ms->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MULTI_ADDRESS_SPACE) >= 2;
}

bool memslots_readonly_ok(const struct memslots *ms)
{
	return ioctl(ms->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
}

/* Manual dirty-log protection (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2), as QEMU uses it, once per
 * VM: KVM_GET_DIRTY_LOG stops clearing and write-protecting every dirty page of the slot,
 * memslot_dirty_get clears only the dirty pages the caller reads, and with
 * KVM_DIRTY_LOG_INITIALLY_SET (where offered) a new slot starts all dirty and writable, without
 * a write-protection pass. Without the capability (older kernels): KVM_GET_DIRTY_LOG's own
 * clear-and-protect of every dirty page. */
static bool manual_log(struct memslots *ms)
{
	int caps;
	struct kvm_enable_cap cap = {.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2};

	if (ms->manual_log >= 0)
		return ms->manual_log;
	ms->manual_log = 0;
	caps = ioctl(ms->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
	if (caps <= 0 || !(caps & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)) {
		pr_debug("no manual dirty-log protection; whole-log re-protection");
		return false;
	}
	cap.args[0] =
	    (uint64_t)caps & (KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET);
	if (ioctl(ms->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
		pr_debug("cannot enable manual dirty-log protection: %s", strerror(errno));
		return false;
	}
	ms->manual_log = 1;
	return true;
}

int memslot_dirty_init(struct memslot_dirty *d, struct memslots *ms, uint8_t *host, uint64_t size)
{
	int slot = memslot_alloc(ms);

	memset(d, 0, sizeof(*d));
	if (slot < 0)
		return slot;
	d->clear = calloc((size / PAGE + 63) / 64, sizeof(uint64_t));
	if (!d->clear)
		return -ENOMEM;
	d->ms = ms;
	d->slot = (unsigned)slot;
	d->host = host;
	d->size = size;
	d->manual = manual_log(ms);
	return 0;
}

void memslot_dirty_destroy(struct memslot_dirty *d)
{
	free(d->clear);
	d->clear = NULL;
}

/* From the vCPU thread that moved the BAR (under the PCI bus lock). */
void memslot_dirty_map(struct memslot_dirty *d, uint64_t gpa)
{
	uint64_t old = __atomic_load_n(&d->gpa, __ATOMIC_ACQUIRE);
	int rc = old ? memslot_set(d->ms, d->slot, old, d->host, 0, 0) : 0;

	if (rc < 0)
		pr_warn_limited("cannot unmap a dirty-logged slot: %s", strerror(-rc));
	__atomic_store_n(&d->gpa, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&d->moved, true, __ATOMIC_RELEASE);
	if (!gpa)
		return;
	rc = memslot_set(d->ms, d->slot, gpa, d->host, d->size, KVM_MEM_LOG_DIRTY_PAGES);
	if (rc < 0)
		pr_warn_limited("cannot map a dirty-logged slot at 0x%llx: %s",
				(unsigned long long)gpa, strerror(-rc));
	else
		__atomic_store_n(&d->gpa, gpa, __ATOMIC_RELEASE);
}

int memslot_dirty_get(void *opaque, uint64_t *bitmap, size_t bytes, uint64_t start, uint64_t len)
{
	struct memslot_dirty *d = opaque;
	struct kvm_dirty_log l = {.slot = d->slot, .dirty_bitmap = bitmap};
	struct kvm_clear_dirty_log cl = {.slot = d->slot, .dirty_bitmap = d->clear};
	struct dirty_clear c;

	if (bytes < d->size / PAGE / 8 || !__atomic_load_n(&d->gpa, __ATOMIC_ACQUIRE))
		return -ENOENT;
	if (ioctl(d->ms->vm_fd, KVM_GET_DIRTY_LOG, &l) < 0)
		return -errno;
	/* Manual protection: re-protect only the dirty pages the caller is about to read, before it
	 * reads them (a write after this faults and is in the next call's bitmap). The rest stay
	 * writable and set: a guest drawing outside the visible frame costs no faults. */
	if (d->manual && dirty_clear_range(bitmap, d->size / PAGE, start, len, d->clear, &c)) {
		cl.first_page = c.first_page;
		cl.num_pages = (uint32_t)c.num_pages;
		if (ioctl(d->ms->vm_fd, KVM_CLEAR_DIRTY_LOG, &cl) < 0)
			return -errno;
	}
	if (__atomic_exchange_n(&d->moved, false, __ATOMIC_ACQ_REL))
		return -EAGAIN;
	return 0;
}
