/* cpuid_fixup on hand-made Intel-like and AMD-like tables shaped like what
 * KVM_GET_SUPPORTED_CPUID returns (values from real hosts, with the host's topology). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/cpuid.h"
#include "arch/x86/hyperv.h"

#define SIG CPUID_F_SIGNIFICANT_INDEX

/* A topology case; pow2 and bits are worked out by hand, not by the code under test. */
struct topo_case {
	unsigned apic_id, ncpus;
	unsigned pow2; /* ncpus rounded up to a power of two */
	unsigned bits; /* log2(pow2): width of the core part of the APIC id */
};

static struct topo_case cases[] = {
    {0, 1, 1, 0}, {0, 2, 2, 1},	  {1, 2, 2, 1},	   {0, 3, 4, 2},    {2, 3, 4, 2},
    {3, 4, 4, 2}, {0, 64, 64, 6}, {37, 64, 64, 6}, {63, 64, 64, 6},
};

enum table_kind { TABLE_INTEL, TABLE_AMD };

static void add(struct cpuid_set *s, uint32_t fn, uint32_t idx, uint32_t flags, uint32_t eax,
		uint32_t ebx, uint32_t ecx, uint32_t edx)
{
	assert_true(s->n < CPUID_MAX_ENTRIES);
	s->e[s->n++] = (struct cpuid_ent){fn, idx, flags, eax, ebx, ecx, edx};
}

static void add_kvm_leaves(struct cpuid_set *s)
{
	add(s, 0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x0000004d);
	add(s, 0x40000001, 0, 0, 0x01007afb, 0, 0, 0);
}

/* Sapphire-Rapids-like host: 2 threads per core, host APIC id 0x2a. */
static void make_intel(struct cpuid_set *s)
{
	memset(s, 0, sizeof(*s));
	add(s, 0x0, 0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69); /* GenuineIntel */
	/* ECX has OSXSAVE (27) and TSC_DEADLINE (24), not the hypervisor bit; EDX has HTT. */
	add(s, 0x1, 0, 0, 0x000806f8, 0x2a400803, 0x7ffaf3bf, 0x1f8bfbff);
	add(s, 0x2, 0, 0, 0x00feff01, 0x000000f0, 0, 0);
	add(s, 0x4, 0, SIG, 0xfc004121, 0x02c0003f, 0x0000003f, 0);
	add(s, 0x4, 1, SIG, 0xfc004122, 0x01c0003f, 0x0000003f, 0);
	add(s, 0x4, 2, SIG, 0xfc004143, 0x03c0003f, 0x000007ff, 0);
	add(s, 0x4, 3, SIG, 0xfc1fc163, 0x04c0003f, 0x0001ffff, 4);
	add(s, 0x4, 4, SIG, 0, 0, 0, 0);
	add(s, 0x6, 0, 0, 0x00000004, 0, 0, 0);
	add(s, 0x7, 0, SIG, 2, 0xf1bf07ab, 0x1b415f6e, 0xbc000410);
	add(s, 0x7, 1, SIG, 0x00001c30, 0, 0, 0);
	add(s, 0x7, 2, SIG, 0, 0, 0, 0x17);
	add(s, 0xa, 0, 0, 0x08300805, 0, 0, 0x00000603);
	add(s, 0xb, 0, SIG, 1, 2, 0x100, 0x2a);
	add(s, 0xb, 1, SIG, 7, 0x70, 0x201, 0x2a);
	add(s, 0xb, 2, SIG, 0, 0, 0x2, 0x2a);
	add(s, 0xd, 0, SIG, 0x000602e7, 0x00000a88, 0x00002b00, 0);
	add(s, 0xd, 1, SIG, 0x0000001f, 0x00000a80, 0, 0);
	add(s, 0xd, 2, SIG, 0x00000100, 0x00000240, 0, 0);
	/* KVM reports as many 0x1F subleaves as the host has levels; one here, to make it grow. */
	add(s, 0x1f, 0, SIG, 1, 2, 0x100, 0x2a);
	add_kvm_leaves(s);
	add(s, 0x80000000, 0, 0, 0x80000008, 0, 0, 0);
	add(s, 0x80000001, 0, 0, 0, 0, 0x00000121, 0x2c100800);
	add(s, 0x80000008, 0, 0, 0x0000302e, 0x00000200, 0, 0);
}

/* Zen-3-like host: 8 cores, 2 threads each, host APIC id 0xc. No leaf 0xB (max leaf 0x10). */
static void make_amd(struct cpuid_set *s)
{
	memset(s, 0, sizeof(*s));
	add(s, 0x0, 0, 0, 0x10, 0x68747541, 0x444d4163, 0x69746e65); /* AuthenticAMD */
	add(s, 0x1, 0, 0, 0x00a20f10, 0x0c100800, 0x7ed8320b, 0x178bfbff);
	add(s, 0x6, 0, 0, 0x00000004, 0, 0, 0);
	add(s, 0x7, 0, SIG, 0, 0x219c97a9, 0x0040069c, 0x00000010);
	add(s, 0xd, 0, SIG, 0x00000207, 0x00000988, 0x00000988, 0);
	add(s, 0xd, 1, SIG, 0x0000000f, 0x00000348, 0, 0);
	add_kvm_leaves(s);
	add(s, 0x80000000, 0, 0, 0x80000021, 0x68747541, 0x444d4163, 0x69746e65);
	add(s, 0x80000001, 0, 0, 0x00a20f10, 0x20000000, 0x75c237ff, 0x2fd3fbff);
	add(s, 0x80000008, 0, 0, 0x00003030, 0x791ef257, 0x0001700f, 0);
	add(s, 0x8000001d, 0, SIG, 0x00004121, 0x01c0003f, 0x0000003f, 0);
	add(s, 0x8000001d, 1, SIG, 0x00004122, 0x01c0003f, 0x0000003f, 0);
	add(s, 0x8000001d, 2, SIG, 0x00004143, 0x01c0003f, 0x000003ff, 2);
	add(s, 0x8000001d, 3, SIG, 0x0003c163, 0x03c0003f, 0x00007fff, 1);
	add(s, 0x8000001d, 4, SIG, 0, 0, 0, 0);
	add(s, 0x8000001e, 0, 0, 0x0000000c, 0x00000106, 0x00000101, 0); /* node 1 of 2 */
}

static void make_table(struct cpuid_set *s, enum table_kind kind)
{
	if (kind == TABLE_INTEL)
		make_intel(s);
	else
		make_amd(s);
}

static int find_pos(const struct cpuid_set *s, uint32_t fn, uint32_t idx)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->e[i].function == fn && s->e[i].index == idx)
			return (int)i;
	return -1;
}

/* The entry (fn, idx) of `out`, which must exist exactly once. */
static const struct cpuid_ent *must_find(const struct cpuid_set *s, uint32_t fn, uint32_t idx)
{
	int pos = find_pos(s, fn, idx), count = 0;

	assert_true(pos >= 0);
	for (unsigned i = 0; i < s->n; i++)
		count += s->e[i].function == fn && s->e[i].index == idx;
	assert_int_equal(count, 1);
	return &s->e[pos];
}

static unsigned count_fn(const struct cpuid_set *s, uint32_t fn)
{
	unsigned n = 0;

	for (unsigned i = 0; i < s->n; i++)
		n += s->e[i].function == fn;
	return n;
}

static void assert_same_set(const struct cpuid_set *a, const struct cpuid_set *b)
{
	assert_int_equal(a->n, b->n);
	assert_memory_equal(a->e, b->e, a->n * sizeof(a->e[0]));
}

static int is_touched(enum table_kind kind, uint32_t fn)
{
	static const uint32_t common[] = {0x1, 0xa, 0xb, 0x1f, 0x40000000};
	static const uint32_t intel[] = {0x4};
	static const uint32_t amd[] = {0x80000001, 0x80000008, 0x8000001d, 0x8000001e};

	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		if (fn == common[i])
			return 1;
	for (size_t i = 0; kind == TABLE_INTEL && i < sizeof(intel) / sizeof(intel[0]); i++)
		if (fn == intel[i])
			return 1;
	for (size_t i = 0; kind == TABLE_AMD && i < sizeof(amd) / sizeof(amd[0]); i++)
		if (fn == amd[i])
			return 1;
	return 0;
}

static void check_untouched(const struct cpuid_set *in, const struct cpuid_set *out,
			    enum table_kind kind)
{
	for (unsigned i = 0; i < in->n; i++) {
		const struct cpuid_ent *e = &in->e[i];

		if (is_touched(kind, e->function))
			continue;
		assert_memory_equal(must_find(out, e->function, e->index), e, sizeof(*e));
	}
}

static void check_leaf1(const struct cpuid_set *in, const struct cpuid_set *out,
			const struct topo_case *c)
{
	const struct cpuid_ent *i1 = must_find(in, 1, 0), *o1 = must_find(out, 1, 0);
	const uint32_t ecx_changed = 1u << 31 | 1u << 27, htt = 1u << 28;

	assert_int_equal(o1->eax, i1->eax);
	assert_int_equal(o1->ebx >> 24, c->apic_id);
	assert_int_equal((o1->ebx >> 16) & 0xff, c->pow2);
	assert_int_equal((o1->ebx >> 8) & 0xff, 8);
	assert_int_equal(o1->ebx & 0xff, i1->ebx & 0xff);
	assert_true(o1->ecx & 1u << 31);
	assert_false(o1->ecx & 1u << 27);
	/* Everything else in ECX, TSC_DEADLINE (24) included, is as KVM said. */
	assert_int_equal(o1->ecx & ~ecx_changed, i1->ecx & ~ecx_changed);
	assert_int_equal(!!(o1->edx & htt), c->ncpus > 1);
	assert_int_equal(o1->edx & ~htt, i1->edx & ~htt);
}

static void check_intel_leaf4(const struct cpuid_set *in, const struct cpuid_set *out,
			      const struct topo_case *c)
{
	assert_int_equal(count_fn(out, 4), count_fn(in, 4));
	for (unsigned i = 0; i < in->n; i++) {
		const struct cpuid_ent *ie = &in->e[i], *oe;
		unsigned level, sharing;

		if (ie->function != 4)
			continue;
		oe = must_find(out, 4, ie->index);
		assert_int_equal(oe->flags, SIG);
		if ((ie->eax & 0x1f) == 0) { /* the terminating "no more caches" subleaf */
			assert_memory_equal(oe, ie, sizeof(*ie));
			continue;
		}
		level = (ie->eax >> 5) & 7;
		sharing = level >= 3 ? c->pow2 - 1 : 0;
		assert_int_equal(oe->eax >> 26, c->pow2 - 1);
		assert_int_equal((oe->eax >> 14) & 0xfff, sharing);
		assert_int_equal(oe->eax & 0x3fff, ie->eax & 0x3fff);
		assert_int_equal(oe->ebx, ie->ebx);
		assert_int_equal(oe->ecx, ie->ecx);
		assert_int_equal(oe->edx, ie->edx);
	}
}

static void check_topology_leaf(const struct cpuid_set *in, const struct cpuid_set *out,
				uint32_t fn, const struct topo_case *c)
{
	const struct cpuid_ent *smt, *core, *end;
	int first = find_pos(out, fn, 0);

	if (count_fn(in, fn) == 0) {
		assert_int_equal(count_fn(out, fn), 0);
		return;
	}
	assert_int_equal(count_fn(out, fn), 3);
	/* Where KVM had it, in subleaf order. */
	assert_int_equal(first, find_pos(in, fn, 0));
	smt = &out->e[first];
	core = &out->e[first + 1];
	end = &out->e[first + 2];

	assert_int_equal(smt->index, 0);
	assert_int_equal(smt->flags, SIG);
	assert_int_equal(smt->eax, 0);
	assert_int_equal(smt->ebx, 1);
	assert_int_equal(smt->ecx, 0x100); /* level type 1 (SMT), subleaf 0 */
	assert_int_equal(smt->edx, c->apic_id);

	assert_int_equal(core->index, 1);
	assert_int_equal(core->flags, SIG);
	assert_int_equal(core->eax, c->bits);
	assert_int_equal(core->ebx, c->ncpus);
	assert_int_equal(core->ecx, 0x201); /* level type 2 (core), subleaf 1 */
	assert_int_equal(core->edx, c->apic_id);

	assert_int_equal(end->index, 2);
	assert_int_equal(end->flags, SIG);
	assert_int_equal(end->eax, 0);
	assert_int_equal(end->ebx, 0);
	assert_int_equal(end->ecx, 0x002); /* level type 0 (invalid), subleaf 2 */
	assert_int_equal(end->edx, c->apic_id);
}

static void check_kvm_leaves(const struct cpuid_set *in, const struct cpuid_set *out)
{
	const struct cpuid_ent *sig = must_find(out, 0x40000000, 0);
	const struct cpuid_ent *feat = must_find(out, 0x40000001, 0);
	char name[12];

	assert_int_equal(sig->eax, 0x40000001);
	memcpy(name, &sig->ebx, 4);
	memcpy(name + 4, &sig->ecx, 4);
	memcpy(name + 8, &sig->edx, 4);
	assert_memory_equal(name, "KVMKVMKVM\0\0\0", 12);
	if (find_pos(in, 0x40000001, 0) >= 0)
		assert_memory_equal(feat, must_find(in, 0x40000001, 0), sizeof(*feat));
	else
		assert_true(!feat->eax && !feat->ebx && !feat->ecx && !feat->edx);
}

static void check_amd(const struct cpuid_set *in, const struct cpuid_set *out,
		      const struct topo_case *c)
{
	const struct cpuid_ent *i81 = must_find(in, 0x80000001, 0);
	const struct cpuid_ent *o81 = must_find(out, 0x80000001, 0);
	const struct cpuid_ent *i88 = must_find(in, 0x80000008, 0);
	const struct cpuid_ent *o88 = must_find(out, 0x80000008, 0);
	const struct cpuid_ent *o1e = must_find(out, 0x8000001e, 0);

	assert_int_equal(!!(o81->ecx & 2), c->ncpus > 1);
	assert_int_equal(o81->ecx & ~2u, i81->ecx & ~2u);
	assert_int_equal(o81->eax, i81->eax);
	assert_int_equal(o81->ebx, i81->ebx);
	assert_int_equal(o81->edx, i81->edx);

	assert_int_equal(o88->ecx & 0xff, c->ncpus - 1);
	assert_int_equal((o88->ecx >> 12) & 0xf, c->bits);
	assert_int_equal(o88->ecx & ~0xf0ffu, i88->ecx & ~0xf0ffu); /* PerfTscSize etc. */
	assert_int_equal(o88->eax, i88->eax);
	assert_int_equal(o88->ebx, i88->ebx);
	assert_int_equal(o88->edx, i88->edx);

	assert_int_equal(o1e->eax, c->apic_id);
	assert_int_equal(o1e->ebx & 0xff, c->apic_id);
	assert_int_equal((o1e->ebx >> 8) & 0xff, 0);
	assert_int_equal(o1e->ecx & 0x7ff, 0);

	for (unsigned s = 0; s < 5; s++) {
		const struct cpuid_ent *ie = must_find(in, 0x8000001d, s);
		const struct cpuid_ent *oe = must_find(out, 0x8000001d, s);
		unsigned level = (ie->eax >> 5) & 7;

		if ((ie->eax & 0x1f) == 0) {
			assert_memory_equal(oe, ie, sizeof(*ie));
			continue;
		}
		assert_int_equal((oe->eax >> 14) & 0xfff, level >= 3 ? c->ncpus - 1 : 0);
		assert_int_equal(oe->eax & ~(0xfffu << 14), ie->eax & ~(0xfffu << 14));
		assert_memory_equal(&oe->ebx, &ie->ebx, 3 * sizeof(uint32_t));
	}
}

static void run_case(enum table_kind kind, const struct topo_case *c)
{
	static struct cpuid_set in, out, again;
	const struct cpuid_ent *pmu;

	make_table(&in, kind);
	out = in;
	assert_int_equal(cpuid_fixup(&out, c->apic_id, c->ncpus), 0);

	check_untouched(&in, &out, kind);
	check_leaf1(&in, &out, c);
	check_topology_leaf(&in, &out, 0xb, c);
	check_topology_leaf(&in, &out, 0x1f, c);
	check_kvm_leaves(&in, &out);
	pmu = find_pos(&in, 0xa, 0) >= 0 ? must_find(&out, 0xa, 0) : NULL;
	assert_true(!pmu || (!pmu->eax && !pmu->ebx && !pmu->ecx && !pmu->edx));
	assert_int_equal(count_fn(&out, 0xa), count_fn(&in, 0xa));
	if (kind == TABLE_INTEL) {
		check_intel_leaf4(&in, &out, c);
		/* AMD-only fields stay as Intel reported them. */
		assert_memory_equal(must_find(&out, 0x80000001, 0), must_find(&in, 0x80000001, 0),
				    sizeof(struct cpuid_ent));
		assert_memory_equal(must_find(&out, 0x80000008, 0), must_find(&in, 0x80000008, 0),
				    sizeof(struct cpuid_ent));
	} else {
		check_amd(&in, &out, c);
	}

	/* A second pass (e.g. on vCPU reset) must not drift. */
	again = out;
	assert_int_equal(cpuid_fixup(&again, c->apic_id, c->ncpus), 0);
	assert_same_set(&again, &out);
}

static void test_intel_topology(void **state)
{
	run_case(TABLE_INTEL, *state);
}

static void test_amd_topology(void **state)
{
	run_case(TABLE_AMD, *state);
}

static void test_rejects_bad_topology(void **state)
{
	static const unsigned bad[][2] = {{0, 0}, {0, 65}, {2, 2}, {64, 64}, {1, 1}, {5, 3}};
	static struct cpuid_set in, s;

	(void)state;
	make_intel(&in);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = in;
		assert_int_equal(cpuid_fixup(&s, bad[i][0], bad[i][1]), -EINVAL);
		assert_same_set(&s, &in);
	}
	s = in;
	s.n = CPUID_MAX_ENTRIES + 1;
	assert_int_equal(cpuid_fixup(&s, 0, 1), -EINVAL);
}

static void test_tsc_deadline_not_added(void **state)
{
	static struct cpuid_set s;

	(void)state;
	make_intel(&s);
	s.e[find_pos(&s, 1, 0)].ecx &= ~(1u << 24);
	assert_int_equal(cpuid_fixup(&s, 1, 2), 0);
	assert_false(must_find(&s, 1, 0)->ecx & 1u << 24);
}

static void remove_fn(struct cpuid_set *s, uint32_t fn)
{
	unsigned out = 0;

	for (unsigned i = 0; i < s->n; i++)
		if (s->e[i].function != fn)
			s->e[out++] = s->e[i];
	s->n = out;
}

static void test_adds_kvm_leaves(void **state)
{
	static struct cpuid_set in, s;

	(void)state;
	make_amd(&in);
	remove_fn(&in, 0x40000000);
	remove_fn(&in, 0x40000001);
	s = in;
	assert_int_equal(cpuid_fixup(&s, 0, 4), 0);
	assert_int_equal(s.n, in.n + 2);
	check_kvm_leaves(&in, &s);
	check_untouched(&in, &s, TABLE_AMD);
}

static void test_rewrites_kvm_signature(void **state)
{
	static struct cpuid_set s;
	struct cpuid_ent *sig;

	(void)state;
	make_intel(&s);
	sig = &s.e[find_pos(&s, 0x40000000, 0)];
	*sig = (struct cpuid_ent){.function = 0x40000000, .eax = 0x40000010, .ebx = 1};
	assert_int_equal(cpuid_fixup(&s, 0, 1), 0);
	check_kvm_leaves(&s, &s);
}

/* Fill `s` up to `n` entries with harmless leaves that nothing rewrites. */
static void pad_to(struct cpuid_set *s, unsigned n)
{
	for (uint32_t i = 0; s->n < n; i++)
		add(s, 0x12, i, SIG, i, 0, 0, 0);
}

static void test_no_room(void **state)
{
	static struct cpuid_set in, s;

	(void)state;
	/* Both KVM leaves missing and only one free slot. */
	make_amd(&in);
	remove_fn(&in, 0x40000000);
	remove_fn(&in, 0x40000001);
	pad_to(&in, CPUID_MAX_ENTRIES - 1);
	s = in;
	assert_int_equal(cpuid_fixup(&s, 0, 2), -ENOSPC);
	assert_same_set(&s, &in);
	/* Two free slots are enough. */
	in.n--;
	s = in;
	assert_int_equal(cpuid_fixup(&s, 0, 2), 0);
	assert_int_equal(s.n, CPUID_MAX_ENTRIES);

	/* Leaf 0x1F grows from one subleaf to three: a full table has no room for that... */
	make_intel(&in);
	pad_to(&in, CPUID_MAX_ENTRIES - 1);
	s = in;
	assert_int_equal(cpuid_fixup(&s, 0, 2), -ENOSPC);
	assert_same_set(&s, &in);
	/* ...two free slots are just enough (0xB already has its three). */
	make_intel(&in);
	pad_to(&in, CPUID_MAX_ENTRIES - 2);
	s = in;
	assert_int_equal(cpuid_fixup(&s, 0, 2), 0);
	assert_int_equal(s.n, CPUID_MAX_ENTRIES);
	check_topology_leaf(&in, &s, 0x1f, &cases[1]);
}

static void test_topology_leaf_shrinks(void **state)
{
	static struct cpuid_set in, s;

	(void)state;
	/* A host with more levels (e.g. die, module) than ours: the extra subleaves go. */
	make_intel(&in);
	for (uint32_t sub = 3; sub < 6; sub++)
		add(&in, 0xb, sub, SIG, 0, 0, sub, 0x2a);
	s = in;
	assert_int_equal(cpuid_fixup(&s, 3, 4), 0);
	assert_int_equal(count_fn(&s, 0xb), 3);
	check_topology_leaf(&in, &s, 0xb, &cases[5]);
	assert_int_equal(find_pos(&s, 0xb, 3), -1);
}

static void test_other_vendors(void **state)
{
	static struct cpuid_set in, s;
	struct cpuid_ent *leaf0;

	(void)state;
	/* Hygon is an AMD design and gets the AMD leaves. */
	make_amd(&in);
	leaf0 = &in.e[find_pos(&in, 0, 0)];
	memcpy(&leaf0->ebx, "Hygo", 4);
	memcpy(&leaf0->edx, "nGen", 4);
	memcpy(&leaf0->ecx, "uine", 4);
	s = in;
	assert_int_equal(cpuid_fixup(&s, 2, 3), 0);
	check_amd(&in, &s, &cases[4]);

	/* An unknown vendor gets the common fixes only. */
	make_intel(&in);
	leaf0 = &in.e[find_pos(&in, 0, 0)];
	memcpy(&leaf0->ebx, "Some", 4);
	s = in;
	assert_int_equal(cpuid_fixup(&s, 2, 3), 0);
	check_leaf1(&in, &s, &cases[4]);
	for (unsigned sub = 0; sub < 5; sub++)
		assert_memory_equal(must_find(&s, 4, sub), must_find(&in, 4, sub),
				    sizeof(struct cpuid_ent));
}

static void test_find(void **state)
{
	static struct cpuid_set s;

	(void)state;
	make_intel(&s);
	/* Without CPUID_F_SIGNIFICANT_INDEX the index is ignored, as KVM does. */
	assert_ptr_equal(cpuid_find(&s, 1, 7), &s.e[find_pos(&s, 1, 0)]);
	assert_ptr_equal(cpuid_find(&s, 4, 3), &s.e[find_pos(&s, 4, 3)]);
	assert_null(cpuid_find(&s, 4, 5));
	assert_null(cpuid_find(&s, 0x8000001e, 0));
}

#define TOPO_TEST(fn, i)                                                                           \
	{                                                                                          \
#fn "/" #i, fn, NULL, NULL, &cases[i]                                              \
	}

/* ---- Hyper-V ---- */

/* What a 6.1 kvm-amd answers to KVM_GET_SUPPORTED_HV_CPUID (its vendor is "Linux KVM Hv"). */
static void make_kvm_hv(struct cpuid_set *hv)
{
	memset(hv, 0, sizeof(*hv));
	add(hv, 0x40000000, 0, 0, 0x4000000a, 0x756e694c, 0x564b2078, 0x7648204d);
	add(hv, 0x40000001, 0, 0, 0x31237648, 0, 0, 0);
	add(hv, 0x40000002, 0, 0, 0x00003839, 0x000a0000, 0, 0);
	add(hv, 0x40000003, 0, 0, 0x0000bfff, 0x002408b0, 0, 0x00bed7b2);
	add(hv, 0x40000004, 0, 0, 0x00040e1e, 0xffffffff, 0, 0);
	add(hv, 0x40000005, 0, 0, 0x00000400, 0x00000040, 0, 0);
	add(hv, 0x40000006, 0, 0, 0x00000002, 0, 0, 0);
	add(hv, 0x4000000a, 0, 0, 0x00020000, 0, 0, 0);
}

static const struct cpuid_ent *leaf(struct cpuid_set *s, uint32_t fn)
{
	return cpuid_find(s, fn, 0);
}

static void test_hyperv_leaves(void **state)
{
	struct cpuid_set s, hv;
	const struct cpuid_ent *e;
	unsigned before;

	(void)state;
	make_intel(&s);
	assert_int_equal(cpuid_fixup(&s, 0, 2), 0);
	before = s.n;
	make_kvm_hv(&hv);
	assert_int_equal(cpuid_hyperv(&s, &hv, true, true), 0);
	e = leaf(&s, 0x40000000);
	assert_non_null(e);
	assert_int_equal(e->eax, HV_CPUID_LAST);
	assert_memory_equal(&e->ebx, "Micr", 4);
	assert_memory_equal(&e->ecx, "osof", 4);
	assert_memory_equal(&e->edx, "t Hv", 4);
	assert_memory_equal(&leaf(&s, 0x40000001)->eax, "Hv#1", 4);
	assert_int_equal(leaf(&s, 0x40000002)->eax, 0x3839); /* KVM's version, as it is */
	/* Offered: what KVM has among relaxed..frequencies and SynIC; not debugging, idle,
	 * stats, reenlightenment or TSC invariance (bits 8, 10, 12-15). */
	e = leaf(&s, HV_CPUID_FEATURES);
	assert_int_equal(e->eax, 0x0000bfff & 0x0aff);
	assert_int_equal(e->ebx, 0);
	assert_int_equal(e->edx, HV_FREQUENCY_MSRS_AVAILABLE | HV_STIMER_DIRECT_MODE);
	e = leaf(&s, HV_CPUID_ENLIGHT);
	assert_int_equal(e->eax, 0x00040e1e & (0x1e | 0x20 | 0xc00)); /* no eVMCS (bit 14, 18) */
	assert_int_equal(e->ebx, HV_SPINLOCK_RETRIES);
	assert_non_null(leaf(&s, 0x40000006));
	assert_null(leaf(&s, 0x4000000a)); /* no nested virtualization leaves */
	/* KVM's leaves above Hyper-V's, their highest leaf moved with them. */
	e = leaf(&s, HV_KVM_BASE);
	assert_non_null(e);
	assert_int_equal(e->eax, HV_KVM_BASE + 1);
	assert_int_equal(e->ebx, 0x4b4d564b);
	assert_non_null(leaf(&s, HV_KVM_BASE + 1));
	/* The rest is untouched: 7 Hyper-V leaves in, none of KVM's lost. */
	assert_int_equal(s.n, before + 7);
	assert_int_equal(leaf(&s, 0x1)->ecx & (1u << 31), 1u << 31);
}

static void test_hyperv_options(void **state)
{
	struct cpuid_set s, hv, empty = {0};

	(void)state;
	make_intel(&s);
	assert_int_equal(cpuid_fixup(&s, 0, 1), 0);
	make_kvm_hv(&hv);
	/* No SynIC (KVM without KVM_CAP_HYPERV_SYNIC2): its MSRs and timers are not offered. */
	assert_int_equal(cpuid_hyperv(&s, &hv, false, false), 0);
	assert_int_equal(leaf(&s, HV_CPUID_FEATURES)->eax & (HV_MSR_SYNIC | HV_MSR_SYNTIMER), 0);
	assert_int_equal(leaf(&s, HV_CPUID_FEATURES)->edx & HV_STIMER_DIRECT_MODE, 0);
	/* kvm=off: no KVM signature anywhere. */
	for (unsigned i = 0; i < s.n; i++)
		assert_int_not_equal(s.e[i].ebx, 0x4b4d564b);
	assert_null(leaf(&s, HV_KVM_BASE));
	/* What KVM does not implement is not offered either. */
	make_intel(&s);
	hv.e[3].eax = HV_MSR_HYPERCALL | HV_MSR_VP_INDEX;
	assert_int_equal(cpuid_hyperv(&s, &hv, true, true), 0);
	assert_int_equal(leaf(&s, HV_CPUID_FEATURES)->eax, HV_MSR_HYPERCALL | HV_MSR_VP_INDEX);
	/* A KVM with no Hyper-V leaves: refused, nothing changed. */
	make_intel(&s);
	hv = s;
	assert_int_equal(cpuid_hyperv(&s, &empty, true, true), -ENOENT);
	assert_memory_equal(&s, &hv, sizeof(s));
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
	    TOPO_TEST(test_intel_topology, 0),
	    TOPO_TEST(test_intel_topology, 1),
	    TOPO_TEST(test_intel_topology, 2),
	    TOPO_TEST(test_intel_topology, 3),
	    TOPO_TEST(test_intel_topology, 4),
	    TOPO_TEST(test_intel_topology, 5),
	    TOPO_TEST(test_intel_topology, 6),
	    TOPO_TEST(test_intel_topology, 7),
	    TOPO_TEST(test_intel_topology, 8),
	    TOPO_TEST(test_amd_topology, 0),
	    TOPO_TEST(test_amd_topology, 1),
	    TOPO_TEST(test_amd_topology, 2),
	    TOPO_TEST(test_amd_topology, 3),
	    TOPO_TEST(test_amd_topology, 4),
	    TOPO_TEST(test_amd_topology, 5),
	    TOPO_TEST(test_amd_topology, 6),
	    TOPO_TEST(test_amd_topology, 7),
	    TOPO_TEST(test_amd_topology, 8),
	    cmocka_unit_test(test_rejects_bad_topology),
	    cmocka_unit_test(test_tsc_deadline_not_added),
	    cmocka_unit_test(test_adds_kvm_leaves),
	    cmocka_unit_test(test_rewrites_kvm_signature),
	    cmocka_unit_test(test_no_room),
	    cmocka_unit_test(test_topology_leaf_shrinks),
	    cmocka_unit_test(test_other_vendors),
	    cmocka_unit_test(test_find),
	    cmocka_unit_test(test_hyperv_leaves),
	    cmocka_unit_test(test_hyperv_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
