#include "arch/x86/cpu_regs.h"

#include <string.h>

#include "arch/x86/layout.h"
#include "common/bytes.h"

#define GDT_CODE64 0x00AF9B000000FFFFull /* present, DPL0, exec/read, L=1, G=1 */
#define GDT_DATA   0x00CF93000000FFFFull /* present, DPL0, read/write, D/B=1, G=1 */
#define SEL_CODE   0x10
#define SEL_DATA   0x18

#define PTE_P  0x1ull
#define PTE_RW 0x2ull
#define PTE_PS 0x80ull

#define CR0_PE	 0x1ull
#define CR0_MP	 0x2ull
#define CR0_ET	 0x10ull
#define CR0_NE	 0x20ull
#define CR0_PG	 0x80000000ull
#define CR4_PAE	 0x20ull
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull

int x86_write_boot_tables(const struct guest_mem *gm)
{
	uint8_t *gdt = gm_ptr(gm, X86_GDT_GPA, 4 * 8);
	uint8_t *pml4 = gm_ptr(gm, X86_PML4_GPA, 4096);
	uint8_t *pdpt = gm_ptr(gm, X86_PDPT_GPA, 4096);
	uint8_t *pd = gm_ptr(gm, X86_PD_GPA, 4 * 4096);

	if (!gdt || !pml4 || !pdpt || !pd)
		return -1;
	memset(gdt, 0, 4 * 8);
	put_le64(gdt + SEL_CODE, GDT_CODE64);
	put_le64(gdt + SEL_DATA, GDT_DATA);
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	put_le64(pml4, X86_PDPT_GPA | PTE_P | PTE_RW);
	for (unsigned i = 0; i < 4; i++)
		put_le64(pdpt + 8 * i, (X86_PD_GPA + 4096ull * i) | PTE_P | PTE_RW);
	for (uint64_t i = 0; i < 4 * 512; i++)
		put_le64(pd + 8 * i, (i << 21) | PTE_P | PTE_RW | PTE_PS);
	return 0;
}

static void segment(struct kvm_segment *s, uint16_t sel, uint8_t type, int code64)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xFFFFFFFF;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code64 ? 1 : 0;
	s->db = code64 ? 0 : 1;
}

void x86_sregs_long_mode(struct kvm_sregs *s)
{
	segment(&s->cs, SEL_CODE, 0xB, 1);
	segment(&s->ds, SEL_DATA, 0x3, 0);
	s->es = s->fs = s->gs = s->ss = s->ds;
	memset(&s->tr, 0, sizeof(s->tr));
	s->tr.limit = 0xFFFF;
	s->tr.type = 0xB; /* busy 64-bit TSS, as VMX entry requires */
	s->tr.present = 1;
	memset(&s->ldt, 0, sizeof(s->ldt));
	s->ldt.limit = 0xFFFF;
	s->ldt.type = 0x2;
	s->ldt.present = 1;
	s->gdt.base = X86_GDT_GPA;
	s->gdt.limit = 4 * 8 - 1;
	s->idt.base = 0;
	s->idt.limit = 0;
	s->cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_PG;
	s->cr3 = X86_PML4_GPA;
	s->cr4 = CR4_PAE;
	s->efer = EFER_LME | EFER_LMA;
}

void x86_regs_linux(struct kvm_regs *r, uint64_t entry, uint64_t zero_page)
{
	memset(r, 0, sizeof(*r));
	r->rflags = 0x2;
	r->rip = entry;
	r->rsi = zero_page;
	r->rsp = X86_STACK_TOP;
	r->rbp = X86_STACK_TOP;
}

void x86_fpu_default(struct kvm_fpu *f)
{
	memset(f, 0, sizeof(*f));
	f->fcw = 0x37F;
	f->mxcsr = 0x1F80;
}

#define MSR_IA32_SYSENTER_CS  0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE  0x1A0
#define MSR_MTRR_DEF_TYPE     0x2FF
#define MSR_STAR	      0xC0000081
#define MSR_LSTAR	      0xC0000082
#define MSR_CSTAR	      0xC0000083
#define MSR_SYSCALL_MASK      0xC0000084
#define MSR_KERNEL_GS_BASE    0xC0000102

unsigned x86_boot_msrs(struct kvm_msr_entry *e, unsigned max)
{
	static const struct {
		uint32_t index;
		uint64_t value;
	} msrs[] = {
	    {MSR_IA32_SYSENTER_CS, 0},
	    {MSR_IA32_SYSENTER_ESP, 0},
	    {MSR_IA32_SYSENTER_EIP, 0},
	    {MSR_STAR, 0},
	    {MSR_CSTAR, 0},
	    {MSR_KERNEL_GS_BASE, 0},
	    {MSR_SYSCALL_MASK, 0},
	    {MSR_LSTAR, 0},
	    {MSR_IA32_MISC_ENABLE, 1},		 /* fast strings */
	    {MSR_MTRR_DEF_TYPE, (1u << 11) | 6}, /* MTRRs on, default write-back */
	};
	unsigned n = 0;

	for (; n < ARRAY_SIZE(msrs) && n < max; n++) {
		memset(&e[n], 0, sizeof(e[n]));
		e[n].index = msrs[n].index;
		e[n].data = msrs[n].value;
	}
	return n;
}

#define APIC_LVT0	 0x350
#define APIC_LVT1	 0x360
#define APIC_MODE_MASK	 0x700u
#define APIC_MODE_EXTINT (7u << 8)
#define APIC_MODE_NMI	 (4u << 8)

void x86_lapic_lints(char *regs)
{
	uint8_t *r = (uint8_t *)regs;

	put_le32(r + APIC_LVT0, (get_le32(r + APIC_LVT0) & ~APIC_MODE_MASK) | APIC_MODE_EXTINT);
	put_le32(r + APIC_LVT1, (get_le32(r + APIC_LVT1) & ~APIC_MODE_MASK) | APIC_MODE_NMI);
}
