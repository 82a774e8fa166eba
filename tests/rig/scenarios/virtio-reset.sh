# virtio device reset: the guest unbinds vda's device from virtio_blk and binds it again, then does
# the same at the PCI level (virtio-pci), reading the whole disk each time, and writes afterwards.
# shellcheck shell=sh
N=virtio-reset
img=$RIG_WORK/disk.img word=$(rand_word)
rand_image "$img" 4
md5=$(md5_of "$img")
vmm_start $N 1 256M "$L2_BASE_CMDLINE phyllome.test=virtio-reset reset.md5=$md5 disk.word=$word" "disk:path=$img"
if guest_test_end $N virtio-reset "$T_TEST"; then
	got=$(dd if="$img" bs=1048576 skip=1 count=1 2>/dev/null | head -n 1)
	if [ "$got" != "PHYLLOME-DISK $word" ]; then
		rig_fail $N "the image holds '$got' at 1 MiB, expected 'PHYLLOME-DISK $word'"
	else
		rig_ok $N "$GT_DETAIL; the write is in the image; userspace after ${GT_T_USER}s, exit 0 after ${GT_T_EXIT}s"
	fi
fi
