# virtio-rng: /dev/hwrng in the guest is virtio_rng, and gives non-zero, different blocks.
# shellcheck shell=sh
vmm_start rng 1 256M "$L2_BASE_CMDLINE phyllome.test=rng" rng
guest_test_end rng rng "$T_TEST" && rig_ok rng "$GT_DETAIL; userspace after ${GT_T_USER}s, exit 0 after ${GT_T_EXIT}s"
