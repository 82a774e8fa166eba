#!/bin/sh
# Two virtio-blk disks with serials (rig scenario two-disks): disks=SERIAL1:SECTORS1,SERIAL2:SECTORS2
# on the command line. Finds each disk by /sys/block/vd?/serial, checks its size (512-byte
# sectors), writes "PHYLLOME-DISK SERIAL" at its start (the rig checks which image got it) and
# reads it back past the page cache.
NAME=two-disks
. /tests/lib.sh
blocks() { for b in /sys/block/*; do printf '%s ' "${b##*/}"; done; }

disks=$(arg disks) || fail "disks= missing from the command line"
if ! wait_path /dev/vda 10 || ! wait_path /dev/vdb 10; then
	fail "no /dev/vda and /dev/vdb (block devices: $(blocks))"
fi
seen=
for d in /sys/block/vd*; do seen="$seen ${d##*/}=$(cat "$d/serial" 2>/dev/null)"; done
map=
for spec in $(echo "$disks" | tr ',' ' '); do
	serial=${spec%%:*} sectors=${spec#*:} dev=
	for d in /sys/block/vd*; do
		[ "$(cat "$d/serial" 2>/dev/null)" = "$serial" ] && dev=${d##*/}
	done
	[ -n "$dev" ] || fail "no disk with serial '$serial' (disks:$seen)"
	size=$(cat "/sys/block/$dev/size")
	[ "$size" = "$sectors" ] || fail "$dev (serial $serial) has $size sectors, expected $sectors"
	printf 'PHYLLOME-DISK %s\n' "$serial" | dd of="/dev/$dev" conv=fsync 2>/dev/null || fail "write to /dev/$dev failed"
	map="$map $dev=$serial"
done
echo 3 >/proc/sys/vm/drop_caches
for m in $map; do
	got=$(head -n 1 "/dev/${m%%=*}")
	[ "$got" = "PHYLLOME-DISK ${m#*=}" ] || fail "/dev/${m%%=*} reads back '$got'"
done
# intx=1 (with pci=nomsi, rig scenario disk-intx): the disks' interrupts came as INTx through
# the IOAPIC, none as MSI.
if arg intx >/dev/null; then
	grep -q 'PCI-MSI' /proc/interrupts && fail "MSI in use despite pci=nomsi: $(grep -e MSI /proc/interrupts | tr -s ' \n' ' ')"
	intx=$(grep 'IO-APIC.*virtio' /proc/interrupts | awk '{ n = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i; printf "%s%d ", $1, n }' | sed 's/ *$//')
	[ -n "$intx" ] || fail "no virtio interrupt on the IOAPIC: $(grep virtio /proc/interrupts | tr -s ' \n' ' ')"
	for l in $intx; do [ "${l#*:}" -gt 0 ] || fail "INTx line ${l%%:*} never fired ($intx)"; done
	map="$map; INTx (IOAPIC line: count) $intx"
fi
echo "PHYLLOME-TEST $NAME PASS$map, sizes ok, written and read back"
poweroff -f
