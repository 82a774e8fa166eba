#!/bin/sh
# virtio-blk, read-only (rig scenario disk-readonly): /dev/vda is writable, /dev/vdb read-only (an
# ext4 image whose /ro.txt holds ro.text=WORD; its whole-device MD5 is ro.md5=MD5). Checks
# /sys/block/vd?/ro, that writing to vdb fails (dd; a read-write mount comes up read-only or fails),
# that vdb reads back whole and right, and that vda takes a write (disk.word=WORD at offset 0).
NAME=disk-ro
. /tests/lib.sh
blocks() { for b in /sys/block/*; do printf '%s ' "${b##*/}"; done; }

ro_text=$(arg ro.text) || fail "ro.text= missing from the command line"
ro_md5=$(arg ro.md5) || fail "ro.md5= missing from the command line"
word=$(arg disk.word) || fail "disk.word= missing from the command line"
wait_path /dev/vda 10 || fail "no /dev/vda (block devices: $(blocks))"
wait_path /dev/vdb 10 || fail "no /dev/vdb (block devices: $(blocks))"
[ "$(cat /sys/block/vda/ro)" = 0 ] || fail "/sys/block/vda/ro is $(cat /sys/block/vda/ro), expected 0"
[ "$(cat /sys/block/vdb/ro)" = 1 ] || fail "/sys/block/vdb/ro is $(cat /sys/block/vdb/ro), expected 1"

# Writes to vdb must fail.
if out=$(dd if=/dev/zero of=/dev/vdb bs=4096 count=1 conv=fsync 2>&1); then
	fail "dd to /dev/vdb succeeded: $out"
fi
dd_err=$(echo "$out" | head -n 1)
mkdir -p /mnt
if mount -t ext4 -o rw /dev/vdb /mnt 2>/dev/null; then
	grep -q '^/dev/vdb /mnt ext4 ro[,]' /proc/mounts ||
		fail "mount -o rw /dev/vdb gave a read-write mount: $(grep vdb /proc/mounts)"
	touch /mnt/new-file 2>/dev/null && fail "created a file on the read-only disk"
	umount /mnt
	rw_mount="came up read-only"
else
	rw_mount="refused"
fi
# Reads work: the file, and the whole device.
out=$(mount -t ext4 -o ro /dev/vdb /mnt 2>&1) || fail "mount -o ro /dev/vdb: $out"
got=$(cat /mnt/ro.txt 2>&1)
umount /mnt
[ "$got" = "$ro_text" ] || fail "/ro.txt on vdb holds '$got', expected '$ro_text'"
echo 3 >/proc/sys/vm/drop_caches
md5=$(md5sum </dev/vdb | cut -d' ' -f1)
[ "$md5" = "$ro_md5" ] || fail "/dev/vdb reads back with MD5 $md5, expected $ro_md5"
# vda takes writes.
printf 'PHYLLOME-DISK %s\n' "$word" | dd of=/dev/vda conv=fsync 2>/dev/null || fail "write to /dev/vda failed"
echo "PHYLLOME-TEST $NAME PASS vdb ro=1, dd to vdb failed ($dd_err), rw mount $rw_mount, vdb read back (md5 ok), vda written"
poweroff -f
