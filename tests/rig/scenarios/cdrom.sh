# The AHCI CD-ROM with a direct Linux boot: --cdrom with the data disc from
# tests/guests/build-iso.sh (data.iso: known files and their MD5SUMS). The guest test
# (tests/guests/tests/cdrom.sh) finds /dev/sr0, checks its capacity and a raw read of the whole
# drive against the ISO's size and MD5, mounts it and checks every file, and sees its writes
# refused; the ISO file is unchanged afterwards.
# shellcheck shell=sh
N=cdrom
if [ ! -f /guest/data.iso ]; then
	rig_skip $N "no data.iso in L1 (tests/guests/build-iso.sh needs xorriso on the host)"
else
	iso=$RIG_WORK/data.iso
	cp /guest/data.iso "$iso"
	iso_md5=$(md5_of "$iso") iso_size=$(wc -c <"$iso")
	vmm_start $N 1 256M "$L2_BASE_CMDLINE phyllome.test=cdrom cdrom.size=$iso_size cdrom.md5=$iso_md5" \
		"cdrom:$iso"
	if guest_test_end $N cdrom "$T_TEST"; then
		if [ "$(md5_of "$iso")" != "$iso_md5" ]; then
			rig_fail $N "the ISO file changed: MD5 $(md5_of "$iso"), was $iso_md5 (guest: $GT_DETAIL)"
		else
			rig_ok $N "$GT_DETAIL; ISO unchanged; userspace after ${GT_T_USER}s, exit 0 after ${GT_T_EXIT}s"
		fi
	fi
fi
