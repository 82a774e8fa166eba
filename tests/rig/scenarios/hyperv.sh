# Hyper-V enlightenments (--cpus ...,hyperv=on): the guest reads Hyper-V's CPUID leaves with
# KVM's moved to 0x40000100 (kvm-clock stays its clock), then, with KVM's leaves hidden (kvm=off,
# a test option), picks Hyper-V and its reference TSC page; both boot and power off cleanly.
# shellcheck shell=sh
vmm_start hyperv 2 256M "$L2_BASE_CMDLINE phyllome.test=hyperv phyllome.hv_kvm=1" cpus:hyperv=on
guest_test_end hyperv hyperv "$T_TEST" &&
	rig_ok hyperv "$GT_DETAIL; userspace after ${GT_T_USER}s, exit 0 after ${GT_T_EXIT}s"
vmm_start hyperv-nokvm 2 256M "$L2_BASE_CMDLINE phyllome.test=hyperv phyllome.hv_kvm=0" \
	cpus:hyperv=on,kvm=off
guest_test_end hyperv-nokvm hyperv "$T_TEST" &&
	rig_ok hyperv-nokvm "$GT_DETAIL; userspace after ${GT_T_USER}s, exit 0 after ${GT_T_EXIT}s"
