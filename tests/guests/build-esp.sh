#!/bin/bash
# Builds the rig's firmware test disks: GPT disk images with one EFI system partition (FAT32)
# holding the L2 kernel (Debian's, booted through its EFI stub) and the L2 initramfs, and
#  - esp.img: a startup.nsh that the UEFI shell runs: it prints a marker and starts the kernel
#    with the console test (tests/guests/tests/console.sh);
#  - esp-kbd.img: a small ESP whose startup.nsh only prints a marker (the shell then waits at
#    its prompt: the firmware keyboard test types into it);
#  - grub.img: Debian's GRUB (grub-efi-amd64-bin, a standalone image with its grub.cfg inside)
#    as the removable-media loader \EFI\BOOT\BOOTX64.EFI, which prints a marker and boots the
#    same kernel (skipped when grub-mkstandalone is missing);
#  - grub-b.img: a small disk with only another GRUB as \EFI\BOOT\BOOTX64.EFI, which prints its
#    own marker (PHYLLOME-GRUB-B) and boots the kernel it finds on another disk (grub.img) with
#    phyllome.boot=b added to the command line: the boot order test tells the two apart.
# Needs build-guests.sh's output; uses sfdisk, mkfs.vfat (dosfstools) and mtools, no root, no
# loop device.
#   tests/guests/build-esp.sh      -> $PHYLLOME_CACHE/guests/esp.img, grub.img (cached)
set -euo pipefail
OUT=${PHYLLOME_CACHE:-$HOME/.cache/phyllome}/guests
IMG=$OUT/esp.img
CMDLINE="console=ttyS0 phyllome.test=console"
for f in vmlinuz l2-initramfs.cpio.gz; do
	[ -f "$OUT/$f" ] || { echo "build-esp: no $OUT/$f (run tests/guests/build-guests.sh)" >&2; exit 1; }
done
key=$( (cat "$0"; stat -c '%s %Y' "$OUT/vmlinuz" "$OUT/l2-initramfs.cpio.gz"
	command -v grub-mkstandalone) | sha256sum | cut -c1-16)
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
# new_esp IMG: a 64 MiB disk, partition 1 from 1 MiB to the end (the GPT backup header takes
# the last 33 sectors), type "EFI System", FAT32, with the kernel and initramfs in it.
new_esp() {
	truncate -s 64M "$1"
	echo 'label: gpt
start=2048, size=126976, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="ESP"' |
		sfdisk -q "$1" >/dev/null
	mkfs.vfat -F 32 -n PHYLLOME --offset 2048 "$1" $((126976 / 2)) >/dev/null 2>&1
	mmd -i "$1@@1M" ::/EFI ::/EFI/phyllome
	mcopy -i "$1@@1M" "$OUT/vmlinuz" ::/EFI/phyllome/vmlinuz.efi
	mcopy -i "$1@@1M" "$OUT/l2-initramfs.cpio.gz" ::/EFI/phyllome/initrd.img
}
new_esp "$tmp/disk.img"
mcopy -i "$tmp/disk.img@@1M" "$tmp/startup.nsh" ::/startup.nsh
mv "$tmp/disk.img" "$IMG"
# esp-kbd.img: a small FAT16 disk (no kernel) whose startup.nsh prints a marker and ends, leaving
# the shell at its prompt for the firmware keyboard test (uefi-keyboard types into it over VNC).
printf '%s\r\n' '@echo -off' 'echo PHYLLOME-UEFI-KBD ready' >"$tmp/startup-kbd.nsh"
truncate -s 8M "$tmp/kbd.img"
echo 'label: gpt
start=2048, size=12288, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="ESP"' |
	sfdisk -q "$tmp/kbd.img" >/dev/null
mkfs.vfat -F 16 -s 1 -n PHYLKBD --offset 2048 "$tmp/kbd.img" $((12288 / 2)) >/dev/null 2>&1
mcopy -i "$tmp/kbd.img@@1M" "$tmp/startup-kbd.nsh" ::/startup.nsh
mv "$tmp/kbd.img" "$OUT/esp-kbd.img"
rm -f "$OUT/grub.img" "$OUT/grub-b.img"
if command -v grub-mkstandalone >/dev/null && [ -d /usr/lib/grub/x86_64-efi ]; then
	cat >"$tmp/grub.cfg" <<CFG
set timeout=0
search --no-floppy --file --set=root /EFI/phyllome/vmlinuz.efi
echo PHYLLOME-GRUB loading the kernel
linux /EFI/phyllome/vmlinuz.efi $CMDLINE
initrd /EFI/phyllome/initrd.img
boot
CFG
	grub-mkstandalone -O x86_64-efi -o "$tmp/bootx64.efi" \
		--modules="part_gpt fat search linux echo normal" \
		"boot/grub/grub.cfg=$tmp/grub.cfg" >/dev/null
	new_esp "$tmp/grub.img"
	mmd -i "$tmp/grub.img@@1M" ::/EFI/BOOT
	mcopy -i "$tmp/grub.img@@1M" "$tmp/bootx64.efi" ::/EFI/BOOT/BOOTX64.EFI
	mv "$tmp/grub.img" "$OUT/grub.img"
	cat >"$tmp/grub-b.cfg" <<CFG
set timeout=0
search --no-floppy --file --set=root /EFI/phyllome/vmlinuz.efi
echo PHYLLOME-GRUB-B loading the kernel
linux /EFI/phyllome/vmlinuz.efi $CMDLINE phyllome.boot=b
initrd /EFI/phyllome/initrd.img
boot
CFG
	grub-mkstandalone -O x86_64-efi -o "$tmp/bootx64-b.efi" \
		--modules="part_gpt fat search linux echo normal" \
		"boot/grub/grub.cfg=$tmp/grub-b.cfg" >/dev/null
	truncate -s 24M "$tmp/grub-b.img"
	echo 'label: gpt
start=2048, size=45056, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="ESP"' |
		sfdisk -q "$tmp/grub-b.img" >/dev/null
	mkfs.vfat -F 16 -s 1 -n PHYLGRUBB --offset 2048 "$tmp/grub-b.img" $((45056 / 2)) >/dev/null 2>&1
	mmd -i "$tmp/grub-b.img@@1M" ::/EFI ::/EFI/BOOT
	mcopy -i "$tmp/grub-b.img@@1M" "$tmp/bootx64-b.efi" ::/EFI/BOOT/BOOTX64.EFI
	mv "$tmp/grub-b.img" "$OUT/grub-b.img"
fi
echo "$key" >"$OUT/.esp-stamp"
echo "$IMG"
