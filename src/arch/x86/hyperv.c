#include "arch/x86/hyperv.h"

#include <errno.h>
#include <string.h>

#define KVM_LEAVES_FIRST 0x40000000u
#define KVM_LEAVES_END	 0x40000002u /* KVM's two: signature and features */

/* "Microsoft Hv" in EBX, ECX, EDX; "Hv#1" in EAX of 0x40000001. */
#define SIG_MICR 0x7263694Du
#define SIG_OSOF 0x666F736Fu
#define SIG_T_HV 0x76482074u
#define SIG_HV1	 0x31237648u

static const uint32_t feat_eax = HV_MSR_VP_RUNTIME | HV_MSR_TIME_REF_COUNT | HV_MSR_APIC_ACCESS |
				 HV_MSR_HYPERCALL | HV_MSR_VP_INDEX | HV_MSR_RESET |
				 HV_MSR_REFERENCE_TSC | HV_MSR_FREQUENCIES;
static const uint32_t synic_eax = HV_MSR_SYNIC | HV_MSR_SYNTIMER;
static const uint32_t feat_edx = HV_FREQUENCY_MSRS_AVAILABLE;
static const uint32_t enlight_eax = HV_LOCAL_TLB_FLUSH_HCALL | HV_REMOTE_TLB_FLUSH_HCALL |
				    HV_APIC_ACCESS_MSRS | HV_SYSTEM_RESET_MSR | HV_RELAXED_TIMING |
				    HV_CLUSTER_IPI_HCALL | HV_EX_PROCESSOR_MASKS;

static const struct cpuid_ent *find_const(const struct cpuid_set *s, uint32_t fn)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->e[i].function == fn)
			return &s->e[i];
	return NULL;
}

/* One Hyper-V leaf, from hv's (zero if hv lacks it), masked to what Phyllome offers. */
static struct cpuid_ent hv_leaf(const struct cpuid_set *hv, uint32_t fn, bool synic)
{
	const struct cpuid_ent *k = find_const(hv, fn);
	struct cpuid_ent e = k ? *k : (struct cpuid_ent){.function = fn};

	e.function = fn;
	e.index = 0;
	e.flags = 0;
	switch (fn) {
	case HV_CPUID_VENDOR:
		e.eax = HV_CPUID_LAST;
		e.ebx = SIG_MICR;
		e.ecx = SIG_OSOF;
		e.edx = SIG_T_HV;
		break;
	case HV_CPUID_VENDOR + 1:
		e = (struct cpuid_ent){.function = fn, .eax = SIG_HV1};
		break;
	case HV_CPUID_FEATURES:
		e.eax &= feat_eax | (synic ? synic_eax : 0);
		e.ebx = 0; /* no partition privileges: no VMBus messages, events or debugging */
		e.ecx = 0;
		e.edx &= feat_edx | (synic ? HV_STIMER_DIRECT_MODE : 0);
		break;
	case HV_CPUID_ENLIGHT:
		e.eax &= enlight_eax;
		e.ebx = HV_SPINLOCK_RETRIES;
		e.ecx = e.edx = 0;
		break;
	default: /* version, implementation limits, hardware features: as KVM says */
		break;
	}
	return e;
}

int cpuid_hyperv(struct cpuid_set *set, const struct cpuid_set *hv, bool synic, bool kvm_leaves)
{
	struct cpuid_set out = {0};

	if (!find_const(hv, HV_CPUID_VENDOR) || !find_const(hv, HV_CPUID_FEATURES))
		return -ENOENT;
	/* Everything but the hypervisor range, then Hyper-V's leaves, then KVM's above them. */
	for (unsigned i = 0; i < set->n; i++) {
		uint32_t fn = set->e[i].function;

		if (fn >= KVM_LEAVES_FIRST && fn < KVM_LEAVES_FIRST + 0x10000u)
			continue;
		out.e[out.n++] = set->e[i];
	}
	if (out.n + (HV_CPUID_LAST - HV_CPUID_VENDOR + 1) + 2 > CPUID_MAX_ENTRIES)
		return -ENOSPC;
	for (uint32_t fn = HV_CPUID_VENDOR; fn <= HV_CPUID_LAST; fn++)
		out.e[out.n++] = hv_leaf(hv, fn, synic);
	for (unsigned i = 0; kvm_leaves && i < set->n; i++) {
		struct cpuid_ent e = set->e[i];

		if (e.function < KVM_LEAVES_FIRST || e.function >= KVM_LEAVES_END)
			continue;
		e.function += HV_KVM_BASE - KVM_LEAVES_FIRST;
		if (e.function == HV_KVM_BASE)
			e.eax += HV_KVM_BASE - KVM_LEAVES_FIRST; /* its highest leaf moves too */
		out.e[out.n++] = e;
	}
	memcpy(set, &out, sizeof(out));
	return 0;
}
