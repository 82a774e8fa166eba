/* Initial x86 CPU state for a direct 64-bit Linux boot: identity page tables, a flat
 * GDT, and the register values KVM is given. Pure builders; vcpu.c does the ioctls. */
#pragma once
#include <linux/kvm.h>
#include <stdint.h>

#include "kvm/guest_mem.h"

/* Writes the GDT and identity-mapping page tables (first 4 GiB, 2 MiB pages). */
int x86_write_boot_tables(const struct guest_mem *gm);
void x86_sregs_long_mode(struct kvm_sregs *s);
void x86_regs_linux(struct kvm_regs *r, uint64_t entry, uint64_t zero_page);
void x86_fpu_default(struct kvm_fpu *f);

/* The MSRs every vCPU starts with. Returns the number filled (at most max). */
unsigned x86_boot_msrs(struct kvm_msr_entry *e, unsigned max);

/* Local APIC: LINT0 as ExtINT (the PIC), LINT1 as NMI, as on a PC. regs is KVM's 1 KiB
 * register page (struct kvm_lapic_state.regs). */
void x86_lapic_lints(char *regs);
