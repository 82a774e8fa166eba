#!/bin/sh
# virtio device reset (rig scenario virtio-reset): /dev/vda holds random bytes with MD5
# reset.md5=MD5. Reads it whole; unbinds the virtio device from virtio_blk and binds it again (the
# virtio core resets the device in between); reads it again; then the same at the PCI level
# (virtio-pci unbind + bind: a new virtio device on the same PCI function); reads it again; and
# writes disk.word=WORD at offset 1 MiB (the rig checks the image).
NAME=virtio-reset
. /tests/lib.sh
blocks() { for b in /sys/block/*; do printf '%s ' "${b##*/}"; done; }
gone_path() { i=0; while [ -e "$1" ]; do [ $i -ge $(($2 * 10)) ] && return 1; sleep 0.1; i=$((i + 1)); done; }
check_md5() {
	echo 3 >/proc/sys/vm/drop_caches
	m=$(md5sum </dev/vda | cut -d' ' -f1)
	[ "$m" = "$want" ] || fail "$1: /dev/vda reads with MD5 $m, expected $want ($(dmesg | tail -n 3 | tr '\n' ' '))"
}
# the virtio device (virtioN) behind vda
vdev() { basename "$(readlink -f /sys/block/vda/device)"; }

want=$(arg reset.md5) || fail "reset.md5= missing from the command line"
word=$(arg disk.word) || fail "disk.word= missing from the command line"
wait_path /dev/vda 10 || fail "no /dev/vda (block devices: $(blocks))"
check_md5 "first read"

v=$(vdev)
case $v in virtio*) ;; *) fail "vda's device is '$v', not a virtio device" ;; esac
pci=$(basename "$(readlink -f "/sys/bus/virtio/devices/$v/..")")
echo "$v" >/sys/bus/virtio/drivers/virtio_blk/unbind || fail "unbind $v from virtio_blk failed"
gone_path /sys/block/vda 10 || fail "vda still there after unbinding $v"
echo "$v" >/sys/bus/virtio/drivers/virtio_blk/bind || fail "bind $v to virtio_blk failed: $(dmesg | tail -n 3 | tr '\n' ' ')"
wait_path /dev/vda 10 || fail "no /dev/vda after binding $v again ($(dmesg | tail -n 3 | tr '\n' ' '))"
check_md5 "after virtio_blk unbind+bind"
echo "PHYLLOME-STEP $NAME virtio rebind ok ($v)"

echo "$pci" >/sys/bus/pci/drivers/virtio-pci/unbind || fail "unbind $pci from virtio-pci failed"
gone_path /sys/block/vda 10 || fail "vda still there after unbinding $pci"
echo "$pci" >/sys/bus/pci/drivers/virtio-pci/bind || fail "bind $pci to virtio-pci failed: $(dmesg | tail -n 3 | tr '\n' ' ')"
wait_path /dev/vda 10 || fail "no /dev/vda after binding $pci again ($(dmesg | tail -n 3 | tr '\n' ' '))"
check_md5 "after virtio-pci unbind+bind"
v2=$(vdev)
echo "PHYLLOME-STEP $NAME pci rebind ok ($pci: $v2)"

printf 'PHYLLOME-DISK %s\n' "$word" | dd of=/dev/vda bs=1048576 seek=1 conv=fsync 2>/dev/null ||
	fail "write to /dev/vda after the resets failed"
echo "PHYLLOME-TEST $NAME PASS read ok after virtio_blk rebind ($v) and virtio-pci rebind ($pci, now $v2); written"
poweroff -f
