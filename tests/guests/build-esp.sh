#!/bin/bash
# Builds the rig's firmware test disk: a GPT disk image with one EFI system partition (FAT32)
# holding the L2 kernel (Debian's, booted through its EFI stub), the L2 initramfs, and a
# startup.nsh that the UEFI shell runs: it prints a marker and starts the kernel with the
# console test (tests/guests/tests/console.sh). Needs build-guests.sh's output; uses sfdisk,
# mkfs.vfat (dosfstools) and mtools, no root, no loop device.
#   tests/guests/build-esp.sh      -> $PHYLLOME_CACHE/guests/esp.img (rebuilt when inputs change)
set -euo pipefail
OUT=${PHYLLOME_CACHE:-$HOME/.cache/phyllome}/guests
IMG=$OUT/esp.img
CMDLINE="console=ttyS0 phyllome.test=console"
for f in vmlinuz l2-initramfs.cpio.gz; do
	[ -f "$OUT/$f" ] || { echo "build-esp: no $OUT/$f (run tests/guests/build-guests.sh)" >&2; exit 1; }
done
key=$( (cat "$0"; stat -c '%s %Y' "$OUT/vmlinuz" "$OUT/l2-initramfs.cpio.gz") | sha256sum | cut -c1-16)
if [ -f "$IMG" ] && [ "$(cat "$OUT/.esp-stamp" 2>/dev/null)" = "$key" ]; then
	echo "$IMG"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The shell runs startup.nsh from the first file system that has one (fs0: here).
printf '%s\r\n' \
	'@echo -off' \
	'echo PHYLLOME-UEFI-SHELL startup.nsh running' \
	'fs0:' \
	"\\EFI\\phyllome\\vmlinuz.efi initrd=\\EFI\\phyllome\\initrd.img $CMDLINE" \
	'echo PHYLLOME-UEFI-SHELL the kernel returned' >"$tmp/startup.nsh"
# 64 MiB disk, partition 1 from 1 MiB to the end (the GPT backup header takes the last 33
# sectors), type "EFI System".
truncate -s 64M "$tmp/disk.img"
echo 'label: gpt
start=2048, size=126976, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="ESP"' |
	sfdisk -q "$tmp/disk.img" >/dev/null
mkfs.vfat -F 32 -n PHYLLOME --offset 2048 "$tmp/disk.img" $((126976 / 2)) >/dev/null
M="$tmp/disk.img@@1M"
mmd -i "$M" ::/EFI ::/EFI/phyllome
mcopy -i "$M" "$OUT/vmlinuz" ::/EFI/phyllome/vmlinuz.efi
mcopy -i "$M" "$OUT/l2-initramfs.cpio.gz" ::/EFI/phyllome/initrd.img
mcopy -i "$M" "$tmp/startup.nsh" ::/startup.nsh
mv "$tmp/disk.img" "$IMG"
echo "$key" >"$OUT/.esp-stamp"
echo "$IMG"
