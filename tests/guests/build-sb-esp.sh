#!/bin/bash
# Builds the rig's Secure Boot disk: a GPT disk with one EFI system partition holding Debian's
# signed boot chain, as a Debian system installed with Secure Boot has it:
#   \EFI\BOOT\BOOTX64.EFI   shim (shim-signed: signed by Microsoft's UEFI CA 2011)
#   \EFI\BOOT\grubx64.efi   GRUB (grub-efi-amd64-signed: signed by Debian, which shim trusts)
#   \EFI\BOOT\grub.cfg      (and \EFI\debian\grub.cfg) prints a marker, boots the kernel
#   \EFI\phyllome\vmlinuz.efi  the rig's L2 kernel: Debian's linux-image, signed by Debian
# No fbx64.efi: shim on the removable-media path then starts grubx64.efi beside it.
# The unsigned counterpart is build-esp.sh's grub.img (a grub-mkstandalone image as
# BOOTX64.EFI), which the firmware must refuse with Secure Boot on.
#   tests/guests/build-sb-esp.sh   -> $PHYLLOME_CACHE/guests/sb.img (cached)
# Needs build-guests.sh's output, apt-get (download only), sfdisk, mkfs.vfat, mtools.
set -euo pipefail
CACHE=${PHYLLOME_CACHE:-$HOME/.cache/phyllome}
OUT=$CACHE/guests
DEBS=$CACHE/sb
IMG=$OUT/sb.img
CMDLINE="console=ttyS0 phyllome.test=console"
for f in vmlinuz l2-initramfs.cpio.gz; do
	[ -f "$OUT/$f" ] || { echo "build-sb-esp: no $OUT/$f (run tests/guests/build-guests.sh)" >&2; exit 1; }
done
mkdir -p "$DEBS"
for p in shim-signed grub-efi-amd64-signed; do
	ls "$DEBS/${p}"_*.deb >/dev/null 2>&1 || (cd "$DEBS" && apt-get download -q "$p" >/dev/null)
done
key=$( (cat "$0"; stat -c '%s %Y' "$OUT/vmlinuz" "$OUT/l2-initramfs.cpio.gz"; ls "$DEBS"/*.deb) |
	sha256sum | cut -c1-16)
if [ -f "$IMG" ] && [ "$(cat "$OUT/.sb-stamp" 2>/dev/null)" = "$key" ]; then
	echo "$IMG"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for d in "$DEBS"/*.deb; do dpkg-deb -x "$d" "$tmp/x"; done
shim=$tmp/x/usr/lib/shim/shimx64.efi.signed
grub=$tmp/x/usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed
if [ ! -f "$shim" ] || [ ! -f "$grub" ]; then
	echo "build-sb-esp: no shim or GRUB in the packages" >&2
	exit 1
fi
# Debian's signed GRUB looks for $prefix/grub.cfg (prefix /EFI/debian), then $cmdpath/grub.cfg.
cat >"$tmp/grub.cfg" <<CFG
set timeout=0
search --no-floppy --file --set=root /EFI/phyllome/vmlinuz.efi
echo PHYLLOME-SB-GRUB loading the signed kernel
linux /EFI/phyllome/vmlinuz.efi $CMDLINE
initrd /EFI/phyllome/initrd.img
boot
CFG
truncate -s 64M "$tmp/sb.img"
echo 'label: gpt
start=2048, size=126976, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="ESP"' |
	sfdisk -q "$tmp/sb.img" >/dev/null
mkfs.vfat -F 32 -n PHYLSB --offset 2048 "$tmp/sb.img" $((126976 / 2)) >/dev/null 2>&1
i="$tmp/sb.img@@1M"
mmd -i "$i" ::/EFI ::/EFI/BOOT ::/EFI/debian ::/EFI/phyllome
mcopy -i "$i" "$shim" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$i" "$grub" ::/EFI/BOOT/grubx64.efi
mcopy -i "$i" "$tmp/grub.cfg" ::/EFI/BOOT/grub.cfg
mcopy -i "$i" "$tmp/grub.cfg" ::/EFI/debian/grub.cfg
mcopy -i "$i" "$OUT/vmlinuz" ::/EFI/phyllome/vmlinuz.efi
mcopy -i "$i" "$OUT/l2-initramfs.cpio.gz" ::/EFI/phyllome/initrd.img
mv "$tmp/sb.img" "$IMG"
echo "$key" >"$OUT/.sb-stamp"
echo "$IMG"
