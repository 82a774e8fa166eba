#!/bin/sh
# The CD-ROM (rig scenarios cdrom and uefi-cdrom): the VMM's AHCI controller with an ATAPI drive
# holding an ISO 9660 disc from tests/guests/build-iso.sh. Waits for /dev/sr0 (ahci, libata,
# sr_mod), checks that it is a CD-ROM (SCSI type 5), mounts it (isofs) and checks every file
# against the disc's /MD5SUMS, checks that writing to the drive is refused, and, when the command
# line gives them (cdrom.size=BYTES cdrom.md5=MD5: the ISO file's), that the drive's capacity is
# the ISO's size and that a raw read of the whole drive equals the ISO.
NAME=cdrom
. /tests/lib.sh
blocks() { for b in /sys/block/*; do printf '%s ' "${b##*/}"; done; }
ata_log() { dmesg | grep -i -e ahci -e 'ata[0-9]' -e 'sr[0-9]' -e scsi | tail -n 12 | tr '\n' '|'; }

# libata probes the ports asynchronously after ahci's probe: give it time.
wait_path /dev/sr0 30 || fail "no /dev/sr0 (block devices: $(blocks); kernel: $(ata_log))"
type=$(cat /sys/block/sr0/device/type 2>/dev/null)
[ "$type" = 5 ] || fail "sr0's SCSI device type is '$type', expected 5 (CD/DVD)"
trim() { sed 's/  */ /g; s/ *$//' "$1" 2>/dev/null; }
model="$(trim /sys/block/sr0/device/vendor)/$(trim /sys/block/sr0/device/model)"
echo "PHYLLOME-STEP $NAME found sr0 $model"

# The capacity and a raw read of the whole disc.
bytes=$(blockdev --getsize64 /dev/sr0 2>&1) || fail "blockdev --getsize64 /dev/sr0: $bytes"
raw="size $bytes"
if want=$(arg cdrom.size); then
	[ "$bytes" = "$want" ] || fail "/dev/sr0 holds $bytes bytes, the ISO $want"
fi
if want=$(arg cdrom.md5); then
	md5=$(dd if=/dev/sr0 bs=65536 2>/dev/null | md5sum | cut -d' ' -f1)
	[ "$md5" = "$want" ] || fail "a raw read of /dev/sr0 has MD5 $md5, the ISO $want ($(ata_log))"
	raw="$raw, raw read = ISO (MD5)"
fi

# The file system: every file as MD5SUMS says.
mkdir -p /mnt
out=$(mount -t iso9660 -o ro /dev/sr0 /mnt 2>&1) || fail "mount -t iso9660 /dev/sr0: $out ($(ata_log))"
[ -f /mnt/MD5SUMS ] || fail "no MD5SUMS on the disc: $(echo /mnt/*)"
out=$(cd /mnt && md5sum -c MD5SUMS 2>&1) || fail "md5sum -c on the disc: $(echo "$out" | tr '\n' ' ')"
nfiles=$(wc -l </mnt/MD5SUMS)
# the volume identifier: 32 bytes at 40 in the primary volume descriptor (sector 16)
label=$(dd if=/dev/sr0 bs=1 skip=$((16 * 2048 + 40)) count=32 2>/dev/null | tr -d ' ')
touch /mnt/new-file 2>/dev/null && fail "created a file on the mounted disc"
umount /mnt

# Writes are refused: the drive offers no writable profile, so opening it for writing fails.
if out=$(dd if=/dev/zero of=/dev/sr0 bs=2048 count=1 conv=fsync 2>&1); then
	fail "dd to /dev/sr0 succeeded: $out"
fi
dd_err=$(echo "$out" | head -n 1)
ro=$(cat /sys/block/sr0/ro)
# How the controller's interrupts came: MSI, or (booted pci=nomsi, rig scenario cdrom-intx) INTx
# on an IOAPIC line, which must then have fired.
irq=$(grep ahci /proc/interrupts | awk '{ n = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i; t = ""; for (; i <= NF; i++) t = t " " $i; printf "%s%d%s; ", $1, n, t }' | sed 's/; $//')
[ -n "$irq" ] || fail "no ahci line in /proc/interrupts: $(tr -s ' \n' ' ' </proc/interrupts)"
if grep -q pci=nomsi /proc/cmdline; then
	case $irq in *IO-APIC*) ;; *) fail "booted pci=nomsi, but ahci's interrupt is not on the IOAPIC: $irq" ;; esac
fi
echo "PHYLLOME-TEST $NAME PASS sr0 ($model, label $label): $raw; $nfiles files match MD5SUMS; write refused ($dd_err), ro=$ro; irq $irq"
poweroff -f
