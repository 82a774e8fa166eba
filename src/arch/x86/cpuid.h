/* CPUID the guest sees: KVM's supported set, fixed up per vCPU for a consistent
 * topology (one socket, ncpus cores, one thread each) and the KVM paravirt leaves. */
#pragma once
#include <stdint.h>

struct cpuid_ent {
	uint32_t function, index, flags; /* flags: CPUID_F_SIGNIFICANT_INDEX if index matters */
	uint32_t eax, ebx, ecx, edx;
};
#define CPUID_F_SIGNIFICANT_INDEX 1u /* same value as KVM_CPUID_FLAG_SIGNIFICANT_INDEX */
#define CPUID_MAX_ENTRIES	  256

struct cpuid_set {
	unsigned n;
	struct cpuid_ent e[CPUID_MAX_ENTRIES];
};

/* Rewrite `set` (KVM_GET_SUPPORTED_CPUID's output) for vCPU `apic_id` of `ncpus`.
 * Pure function: no ioctls. Returns 0, -EINVAL (ncpus out of 1..64, apic_id >= ncpus,
 * set->n over CPUID_MAX_ENTRIES) or -ENOSPC (no room for the leaves it must add); on
 * failure `set` is unchanged. */
int cpuid_fixup(struct cpuid_set *set, unsigned apic_id, unsigned ncpus);
/* Find an entry, NULL if absent; `index` is ignored for entries without
 * CPUID_F_SIGNIFICANT_INDEX, as KVM does. */
struct cpuid_ent *cpuid_find(struct cpuid_set *set, uint32_t function, uint32_t index);
