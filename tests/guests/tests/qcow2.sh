#!/bin/sh
# A qcow2 overlay as /dev/vda holding ext4 (rig scenarios qcow2-overlay and qcow2-kill), mounted
# with discard (deleted files become discards the overlay turns into zero clusters).
#   qcow2.mode=write: checks /host.txt (qcow2.host_text), deletes /big.bin (a file of the base),
#     writes /guest.txt (qcow2.guest_text) and 4 MiB of random bytes to /guest.bin, syncs,
#     unmounts, and passes with "md5=MD5 (of guest.bin) dev=MD5 (of all of /dev/vda)".
#   qcow2.mode=chain: checks the first run's files (qcow2.guest_text, qcow2.md5), writes
#     /top.txt (qcow2.top_text), syncs, unmounts, passes with "dev=MD5".
#   qcow2.mode=heavy: writes, syncs and deletes 1 MiB files in a loop, saying
#     "PHYLLOME-STEP qcow2 writing" after the first; the rig kills the VMM meanwhile.
NAME=qcow2
. /tests/lib.sh

mode=$(arg qcow2.mode) || fail "qcow2.mode= missing from the command line"
wait_path /dev/vda 10 || fail "no /dev/vda"
mkdir -p /mnt
out=$(mount -t ext4 -o discard /dev/vda /mnt 2>&1) || fail "mount -t ext4 /dev/vda: $out; $(dmesg | grep -i -e ext4 -e vda | tail -n 3 | tr '\n' ' ')"
host_text=$(arg qcow2.host_text) || fail "qcow2.host_text= missing"
got=$(cat /mnt/host.txt 2>&1)
[ "$got" = "$host_text" ] || fail "/host.txt holds '$got', expected '$host_text'"

finish() {
	sync || fail "sync failed"
	umount /mnt || fail "umount failed"
	dev=$(md5sum </dev/vda | cut -d' ' -f1)
	echo "PHYLLOME-TEST $NAME PASS $* dev=$dev"
	poweroff -f
}

case $mode in
write)
	guest_text=$(arg qcow2.guest_text) || fail "qcow2.guest_text= missing"
	[ -f /mnt/big.bin ] || fail "no /big.bin in the base"
	rm /mnt/big.bin
	sync
	echo "$guest_text" >/mnt/guest.txt || fail "cannot write /mnt/guest.txt"
	head -c 4194304 /dev/urandom >/mnt/guest.bin || fail "cannot write /mnt/guest.bin"
	md5=$(md5sum </mnt/guest.bin | cut -d' ' -f1)
	finish "md5=$md5"
	;;
chain)
	guest_text=$(arg qcow2.guest_text) || fail "qcow2.guest_text= missing"
	want_md5=$(arg qcow2.md5) || fail "qcow2.md5= missing"
	top_text=$(arg qcow2.top_text) || fail "qcow2.top_text= missing"
	got=$(cat /mnt/guest.txt 2>&1)
	[ "$got" = "$guest_text" ] || fail "/guest.txt holds '$got', expected '$guest_text'"
	md5=$(md5sum </mnt/guest.bin | cut -d' ' -f1)
	[ "$md5" = "$want_md5" ] || fail "/guest.bin has MD5 $md5, expected $want_md5"
	[ ! -e /mnt/big.bin ] || fail "/big.bin, deleted in the middle image, is back"
	echo "$top_text" >/mnt/top.txt || fail "cannot write /mnt/top.txt"
	finish "guest.txt and guest.bin (MD5) read through the chain"
	;;
heavy)
	i=0
	while [ $i -lt 2000 ]; do
		head -c 1048576 /dev/urandom >/mnt/f$i || fail "cannot write /mnt/f$i"
		[ $((i % 4)) = 3 ] && sync
		[ $i -ge 8 ] && rm -f /mnt/f$((i - 8))
		[ $i = 0 ] && echo "PHYLLOME-STEP $NAME writing"
		i=$((i + 1))
	done
	fail "wrote 2000 files without being killed"
	;;
*) fail "unknown qcow2.mode=$mode" ;;
esac
