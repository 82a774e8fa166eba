# INTx instead of MSI-X: the two-disks test with the guest booted pci=nomsi, so virtio-pci falls
# back to its legacy interrupt (the ISR status register, a PCI INTx line routed by the DSDT's
# _PRT to an IOAPIC pin); the guest checks that the disks' interrupts arrived there, and none as
# MSI.
# shellcheck shell=sh
N=disk-intx
a=$RIG_WORK/ia.img b=$RIG_WORK/ib.img
sa=rig-ia-$(rand_word | cut -c1-8) sb=rig-ib-$(rand_word | cut -c1-8)
head -c 16777216 /dev/zero >"$a"
head -c 25165824 /dev/zero >"$b"
vmm_start $N 1 256M "$L2_BASE_CMDLINE pci=nomsi intx=1 phyllome.test=two-disks disks=$sa:32768,$sb:49152" \
	"disk:path=$a,serial=$sa" "disk:path=$b,serial=$sb"
if guest_test_end $N two-disks "$T_TEST"; then
	ha=$(head -n 1 "$a") hb=$(head -n 1 "$b")
	if [ "$ha" != "PHYLLOME-DISK $sa" ] || [ "$hb" != "PHYLLOME-DISK $sb" ]; then
		rig_fail $N "images start with '$ha' and '$hb', expected their own serials $sa, $sb"
	else
		rig_ok $N "$GT_DETAIL; each image holds its own serial; userspace after ${GT_T_USER}s, exit 0 after ${GT_T_EXIT}s"
	fi
fi
