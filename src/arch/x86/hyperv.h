/* Hyper-V enlightenments for Windows guests (--cpus ...,hyperv=on): the Hyper-V CPUID leaves
 * at 0x40000000 ("Microsoft Hv", interface "Hv#1"), laid out as QEMU's hv-* flags lay them
 * out, from what the host's KVM says it implements (KVM_GET_SUPPORTED_HV_CPUID), with KVM's own
 * paravirt leaves moved above them to 0x40000100 (or left out). Pure: no ioctls. See
 * docs/firmware.md, "Windows". */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "arch/x86/cpuid.h"

#define HV_CPUID_VENDOR	  0x40000000u
#define HV_CPUID_FEATURES 0x40000003u
#define HV_CPUID_ENLIGHT  0x40000004u
#define HV_CPUID_LAST	  0x40000006u /* no nested-virtualization leaves */
#define HV_KVM_BASE	  0x40000100u /* KVM's leaves, when Hyper-V's are at 0x40000000 */

/* 0x40000003 EAX: the synthetic MSRs the guest may use (TLFS "partition privileges"). */
#define HV_MSR_VP_RUNTIME     (1u << 0)
#define HV_MSR_TIME_REF_COUNT (1u << 1)
#define HV_MSR_SYNIC	      (1u << 2)
#define HV_MSR_SYNTIMER	      (1u << 3)
#define HV_MSR_APIC_ACCESS    (1u << 4)
#define HV_MSR_HYPERCALL      (1u << 5)
#define HV_MSR_VP_INDEX	      (1u << 6)
#define HV_MSR_RESET	      (1u << 7)
#define HV_MSR_REFERENCE_TSC  (1u << 9)
#define HV_MSR_FREQUENCIES    (1u << 11)
/* 0x40000003 EDX. */
#define HV_FREQUENCY_MSRS_AVAILABLE (1u << 8)
#define HV_STIMER_DIRECT_MODE	    (1u << 19)
/* 0x40000004 EAX: what the guest is recommended to use. */
#define HV_LOCAL_TLB_FLUSH_HCALL  (1u << 1)
#define HV_REMOTE_TLB_FLUSH_HCALL (1u << 2)
#define HV_APIC_ACCESS_MSRS	  (1u << 3)
#define HV_SYSTEM_RESET_MSR	  (1u << 4)
#define HV_RELAXED_TIMING	  (1u << 5)
#define HV_CLUSTER_IPI_HCALL	  (1u << 10)
#define HV_EX_PROCESSOR_MASKS	  (1u << 11)
#define HV_SPINLOCK_RETRIES	  0x1FFFu /* 0x40000004 EBX: notify after this many spins */

/* Replaces set's hypervisor leaves: Hyper-V's from hv (KVM_GET_SUPPORTED_HV_CPUID's answer),
 * masked to the enlightenments Phyllome offers (relaxed timing, vAPIC, spinlocks, the
 * reference counter and TSC page, SynIC and its timers (only with synic: the VMM enables
 * KVM_CAP_HYPERV_SYNIC2 for them), frequencies, VP index, reset, TLB flush and IPI
 * hypercalls) and to what hv offers; KVM's at HV_KVM_BASE, or none if !kvm_leaves. 0,
 * -ENOENT (hv has no Hyper-V leaves), or -ENOSPC; set is unchanged on failure. */
int cpuid_hyperv(struct cpuid_set *set, const struct cpuid_set *hv, bool synic, bool kvm_leaves);
