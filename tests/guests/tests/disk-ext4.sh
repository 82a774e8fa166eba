#!/bin/sh
# A disk with ext4 (rig scenarios disk-ext4-kill, virtio-blk, and nvme-ext4-kill, NVMe: the disk is
# disk.dev=NAME, default vda): mounts /dev/NAME, checks that /host.txt holds
# disk.host_text=WORD from the command line, writes /guest.txt (disk.guest_text=WORD) and 1 MiB of
# random bytes to /guest.bin, runs sync, and prints "PHYLLOME-STEP disk-ext4 synced md5=MD5" (of
# guest.bin). Then it waits: the rig kills the VMM (SIGKILL) and looks for both files in the image.
NAME=disk-ext4
. /tests/lib.sh
blocks() { for b in /sys/block/*; do printf '%s ' "${b##*/}"; done; }

host_text=$(arg disk.host_text) || fail "disk.host_text= missing from the command line"
guest_text=$(arg disk.guest_text) || fail "disk.guest_text= missing from the command line"
dev=$(arg disk.dev) || dev=vda
wait_path "/dev/$dev" 10 || fail "no /dev/$dev (block devices: $(blocks))"
mkdir -p /mnt
out=$(mount -t ext4 "/dev/$dev" /mnt 2>&1) || fail "mount -t ext4 /dev/$dev: $out; $(dmesg | grep -i -e ext4 -e "$dev" | tail -n 3 | tr '\n' ' ')"
got=$(cat /mnt/host.txt 2>&1) || fail "cat /mnt/host.txt: $got"
[ "$got" = "$host_text" ] || fail "/host.txt holds '$got', expected '$host_text'"
echo "$guest_text" >/mnt/guest.txt || fail "cannot write /mnt/guest.txt"
head -c 1048576 /dev/urandom >/mnt/guest.bin || fail "cannot write /mnt/guest.bin"
md5=$(md5sum </mnt/guest.bin | cut -d' ' -f1)
sync || fail "sync failed"
echo "PHYLLOME-STEP $NAME synced md5=$md5"
# The rig kills the VMM now (no clean shutdown); if it doesn't, end after a while.
sleep 300
fail "still running 300 s after sync (the rig should have killed the VMM)"
