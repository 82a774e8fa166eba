# Two writable virtio-blk disks of different sizes with serial=ID: the guest finds each by its
# serial, checks its size, and writes its serial to it; each image must hold its own serial.
# disk-intx.sh runs this same scenario under its own name (TD_NAME) with more kernel arguments
# (TD_CMDLINE).
# shellcheck shell=sh
N=${TD_NAME:-two-disks}
a=$RIG_WORK/a.img b=$RIG_WORK/b.img
sa=rig-a-$(rand_word | cut -c1-8) sb=rig-b-$(rand_word | cut -c1-8)
head -c 16777216 /dev/zero >"$a"
head -c 25165824 /dev/zero >"$b"
vmm_start $N 1 256M "$L2_BASE_CMDLINE ${TD_CMDLINE:-}phyllome.test=two-disks disks=$sa:32768,$sb:49152" \
	"disk:path=$a,serial=$sa" "disk:path=$b,serial=$sb"
if guest_test_end $N two-disks "$T_TEST"; then
	ha=$(head -n 1 "$a") hb=$(head -n 1 "$b")
	if [ "$ha" != "PHYLLOME-DISK $sa" ] || [ "$hb" != "PHYLLOME-DISK $sb" ]; then
		rig_fail $N "images start with '$ha' and '$hb', expected their own serials $sa, $sb"
	else
		rig_ok $N "$GT_DETAIL; each image holds its own serial; userspace after ${GT_T_USER}s, exit 0 after ${GT_T_EXIT}s"
	fi
fi
