/* CPUID fix-ups per vCPU. Field layouts follow the Intel SDM (CPUID instruction
 * reference) and the AMD APM vol. 3 (appendix E); see cpuid.h for the topology. */
#include "arch/x86/cpuid.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define CPUID_MAX_CPUS 64u

/* Leaf 1 */
#define L1_EBX_KEEP	 0x000000ffu /* brand index */
#define L1_ECX_OSXSAVE	 (1u << 27)
#define L1_ECX_HYPERVSR	 (1u << 31)
#define L1_EDX_HTT	 (1u << 28)
#define L1_CLFLUSH_LINES 8u /* EBX[15:8], in 8-byte units: 64-byte lines */

/* Leaf 4 and 0x8000001D: deterministic cache parameters */
#define CACHE_TYPE_MASK	   0x1fu
#define CACHE_LEVEL(eax)   (((eax) >> 5) & 7u)
#define CACHE_SHARING_MASK (0xfffu << 14)
#define L4_CORES_MASK	   (0x3fu << 26)

/* Leaves 0xB and 0x1F: extended topology */
#define TOPO_LEVEL_INVALID 0u
#define TOPO_LEVEL_SMT	   1u
#define TOPO_LEVEL_CORE	   2u
#define TOPO_SUBLEAVES	   3u

/* AMD extended leaves */
#define AMD_EXT_FEATURES    0x80000001u
#define AMD_ECX_CMP_LEGACY  (1u << 1)
#define AMD_ADDR_SIZES	    0x80000008u
#define AMD_NC_MASK	    0xffu
#define AMD_APICID_SIZE_SH  12
#define AMD_APICID_SIZE_MSK (0xfu << AMD_APICID_SIZE_SH)
#define AMD_CACHE_TOPO	    0x8000001Du
#define AMD_EXT_APIC_ID	    0x8000001Eu

/* KVM paravirt leaves (Documentation/virt/kvm/x86/cpuid.rst) */
#define KVM_CPUID_SIGNATURE 0x40000000u
#define KVM_CPUID_FEATURES  0x40000001u
#define KVM_SIG_KVMK	    0x4b4d564bu /* "KVMK" */
#define KVM_SIG_VMKV	    0x564b4d56u /* "VMKV" */
#define KVM_SIG_M	    0x0000004du /* "M\0\0\0" */

enum cpu_vendor { VENDOR_OTHER, VENDOR_INTEL, VENDOR_AMD };

struct topo {
	unsigned apic_id, ncpus;
	unsigned id_bits; /* bits of APIC id that number the cores: ceil(log2(ncpus)) */
};

struct cpuid_ent *cpuid_find(struct cpuid_set *set, uint32_t function, uint32_t index)
{
	for (unsigned i = 0; i < set->n; i++) {
		struct cpuid_ent *e = &set->e[i];

		if (e->function != function)
			continue;
		if ((e->flags & CPUID_F_SIGNIFICANT_INDEX) && e->index != index)
			continue;
		return e;
	}
	return NULL;
}

static unsigned count_function(const struct cpuid_set *set, uint32_t function)
{
	unsigned n = 0;

	for (unsigned i = 0; i < set->n; i++)
		n += set->e[i].function == function;
	return n;
}

static unsigned order_base2(unsigned n)
{
	unsigned bits = 0;

	while ((1u << bits) < n)
		bits++;
	return bits;
}

static bool sig_is(const struct cpuid_ent *leaf0, const char sig[12])
{
	uint32_t w[3];

	memcpy(w, sig, sizeof(w));
	return leaf0->ebx == w[0] && leaf0->edx == w[1] && leaf0->ecx == w[2];
}

static enum cpu_vendor vendor_of(struct cpuid_set *set)
{
	const struct cpuid_ent *leaf0 = cpuid_find(set, 0, 0);

	if (!leaf0)
		return VENDOR_OTHER;
	if (sig_is(leaf0, "GenuineIntel"))
		return VENDOR_INTEL;
	if (sig_is(leaf0, "AuthenticAMD") || sig_is(leaf0, "HygonGenuine"))
		return VENDOR_AMD;
	return VENDOR_OTHER;
}

static void fix_leaf1(struct cpuid_set *set, const struct topo *t)
{
	struct cpuid_ent *e = cpuid_find(set, 1, 0);

	if (!e)
		return;
	/* The count is the APIC-id space of the package, which OSes read as a power of two. */
	e->ebx = (e->ebx & L1_EBX_KEEP) | L1_CLFLUSH_LINES << 8 | (1u << t->id_bits) << 16 |
		 t->apic_id << 24;
	e->ecx = (e->ecx & ~L1_ECX_OSXSAVE) | L1_ECX_HYPERVSR;
	if (t->ncpus > 1)
		e->edx |= L1_EDX_HTT;
	else
		e->edx &= ~L1_EDX_HTT;
}

/* Caches are private to a core (one thread each) up to L2; L3 is shared by the package. */
static unsigned cache_sharing(uint32_t eax, unsigned sharing_l3)
{
	return CACHE_LEVEL(eax) >= 3 ? sharing_l3 : 0;
}

static void fix_intel_leaf4(struct cpuid_set *set, const struct topo *t)
{
	unsigned cores_m1 = (1u << t->id_bits) - 1;

	for (unsigned i = 0; i < set->n; i++) {
		struct cpuid_ent *e = &set->e[i];

		if (e->function != 4 || !(e->eax & CACHE_TYPE_MASK))
			continue;
		e->eax &= ~(L4_CORES_MASK | CACHE_SHARING_MASK);
		e->eax |= cores_m1 << 26 | cache_sharing(e->eax, cores_m1) << 14;
	}
}

/* Unlike Intel's leaf 4 (addressable ids), AMD's NumSharingCache is the real count - 1. */
static void fix_amd_cache_topo(struct cpuid_set *set, const struct topo *t)
{
	for (unsigned i = 0; i < set->n; i++) {
		struct cpuid_ent *e = &set->e[i];

		if (e->function != AMD_CACHE_TOPO || !(e->eax & CACHE_TYPE_MASK))
			continue;
		e->eax &= ~CACHE_SHARING_MASK;
		e->eax |= cache_sharing(e->eax, t->ncpus - 1) << 14;
	}
}

static void fix_amd_ext(struct cpuid_set *set, const struct topo *t)
{
	struct cpuid_ent *e = cpuid_find(set, AMD_EXT_FEATURES, 0);

	if (e) {
		e->ecx &= ~AMD_ECX_CMP_LEGACY;
		if (t->ncpus > 1)
			e->ecx |= AMD_ECX_CMP_LEGACY;
	}

	e = cpuid_find(set, AMD_ADDR_SIZES, 0);
	if (e) {
		e->ecx &= ~(AMD_NC_MASK | AMD_APICID_SIZE_MSK);
		e->ecx |= (t->ncpus - 1) | t->id_bits << AMD_APICID_SIZE_SH;
	}

	e = cpuid_find(set, AMD_EXT_APIC_ID, 0);
	if (e) {
		e->eax = t->apic_id;
		e->ebx = t->apic_id; /* core id; EBX[15:8] threads per core - 1 = 0 */
		e->ecx = 0;	     /* node 0, one node per package */
		e->edx = 0;
	}
	fix_amd_cache_topo(set, t);
}

static struct cpuid_ent topo_subleaf(uint32_t function, uint32_t sub, const struct topo *t)
{
	struct cpuid_ent e = {.function = function,
			      .index = sub,
			      .flags = CPUID_F_SIGNIFICANT_INDEX,
			      .ecx = sub,
			      .edx = t->apic_id};

	if (sub == 0) {
		e.ebx = 1;
		e.ecx |= TOPO_LEVEL_SMT << 8;
	} else if (sub == 1) {
		e.eax = t->id_bits;
		e.ebx = t->ncpus;
		e.ecx |= TOPO_LEVEL_CORE << 8;
	} else {
		e.ecx |= TOPO_LEVEL_INVALID << 8;
	}
	return e;
}

/* Replace all subleaves of `function` by ours, placed where the first of them was. The
 * caller checked that there is room. */
static void set_topology_leaf(struct cpuid_set *set, uint32_t function, const struct topo *t)
{
	unsigned at = 0, out = 0;
	bool seen = false;

	for (unsigned i = 0; i < set->n; i++) {
		if (set->e[i].function != function) {
			set->e[out++] = set->e[i];
		} else if (!seen) {
			seen = true;
			at = out;
		}
	}
	memmove(&set->e[at + TOPO_SUBLEAVES], &set->e[at], (out - at) * sizeof(set->e[0]));
	for (unsigned s = 0; s < TOPO_SUBLEAVES; s++)
		set->e[at + s] = topo_subleaf(function, s, t);
	set->n = out + TOPO_SUBLEAVES;
}

/* No vPMU is offered: an all-zero leaf 0xA says "no architectural performance monitoring". */
static void fix_pmu_leaf(struct cpuid_set *set)
{
	struct cpuid_ent *e = cpuid_find(set, 0xA, 0);

	if (e)
		e->eax = e->ebx = e->ecx = e->edx = 0;
}

static void fix_kvm_leaves(struct cpuid_set *set)
{
	struct cpuid_ent *e = cpuid_find(set, KVM_CPUID_SIGNATURE, 0);

	if (!e) {
		e = &set->e[set->n++];
		*e = (struct cpuid_ent){.function = KVM_CPUID_SIGNATURE};
	}
	e->eax = KVM_CPUID_FEATURES;
	e->ebx = KVM_SIG_KVMK;
	e->ecx = KVM_SIG_VMKV;
	e->edx = KVM_SIG_M;

	if (!cpuid_find(set, KVM_CPUID_FEATURES, 0))
		set->e[set->n++] = (struct cpuid_ent){.function = KVM_CPUID_FEATURES};
}

/* Number of entries after the fix-up: checked first, so that a failure changes nothing. */
static unsigned entries_after(const struct cpuid_set *set)
{
	static const uint32_t topo_leaves[] = {0xB, 0x1F};
	static const uint32_t kvm_leaves[] = {KVM_CPUID_SIGNATURE, KVM_CPUID_FEATURES};
	unsigned n = set->n;

	for (unsigned i = 0; i < 2; i++) {
		unsigned have = count_function(set, topo_leaves[i]);

		if (have)
			n = n - have + TOPO_SUBLEAVES;
		n += !count_function(set, kvm_leaves[i]);
	}
	return n;
}

int cpuid_fixup(struct cpuid_set *set, unsigned apic_id, unsigned ncpus)
{
	struct topo t = {.apic_id = apic_id, .ncpus = ncpus, .id_bits = order_base2(ncpus)};
	enum cpu_vendor vendor;

	if (ncpus == 0 || ncpus > CPUID_MAX_CPUS || apic_id >= ncpus || set->n > CPUID_MAX_ENTRIES)
		return -EINVAL;
	if (entries_after(set) > CPUID_MAX_ENTRIES)
		return -ENOSPC;

	vendor = vendor_of(set);
	fix_leaf1(set, &t);
	if (vendor == VENDOR_INTEL)
		fix_intel_leaf4(set, &t);
	else if (vendor == VENDOR_AMD)
		fix_amd_ext(set, &t);
	if (count_function(set, 0xB))
		set_topology_leaf(set, 0xB, &t);
	if (count_function(set, 0x1F))
		set_topology_leaf(set, 0x1F, &t);

	fix_pmu_leaf(set);
	fix_kvm_leaves(set);
	return 0;
}
