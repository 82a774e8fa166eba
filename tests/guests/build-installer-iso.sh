#!/bin/bash
# Debian 12's installer as a user gets it: an EFI-bootable ISO made by grub-mkrescue from the
# text installer's kernel and initrd (Debian package debian-installer-12-netboot-amd64, fetched
# with apt-get download and unpacked with dpkg -x, no root), whose GRUB boots it at once. The rig
# scenario ui-installer creates a VM from it in `phyllome ui`'s new-VM dialog (tests/rig/disks.py:
# the disk "installer", attached to L1 whole; the scenario copies it into a settings folder).
# The installer runs on the screen (with a console=ttyS0 it would run on the serial port), the
# firmware's screen that GRUB hands over (all_video, gfxpayload=keep: without
# them Linux gets no framebuffer, GRUB says "Booting in blind mode"); GRUB's menu is skipped.
#   tests/guests/build-installer-iso.sh  -> $PHYLLOME_CACHE/guests/installer.iso (cached)
# Needs: grub-mkrescue (grub-common), grub-efi-amd64-bin, xorriso, mtools.
set -euo pipefail
CACHE=${PHYLLOME_CACHE:-$HOME/.cache/phyllome}
OUT=$CACHE/guests
PKG=debian-installer-12-netboot-amd64
die() { echo "build-installer-iso: error: $*" >&2; exit 1; }
for t in grub-mkrescue xorriso mformat; do
	command -v "$t" >/dev/null || die "no $t (Debian packages grub-common xorriso mtools)"
done
[ -d /usr/lib/grub/x86_64-efi ] || die "no /usr/lib/grub/x86_64-efi (Debian package grub-efi-amd64-bin)"
mkdir -p "$CACHE/debs" "$OUT"
deb=$(ls "$CACHE/debs/${PKG}"_*.deb 2>/dev/null | tail -n 1 || true)
if [ -z "$deb" ]; then
	(cd "$CACHE/debs" && apt-get download "$PKG" >&2) || die "apt-get download $PKG failed"
	deb=$(ls "$CACHE/debs/${PKG}"_*.deb | tail -n 1)
fi
key=$( (grep -v '^[[:space:]]*#' "$0"; basename "$deb"; grub-mkrescue --version) | sha256sum | cut -c1-16)
if [ -s "$OUT/installer.iso" ] && [ "$(cat "$OUT/.installer-iso-stamp" 2>/dev/null)" = "$key" ]; then
	echo "$OUT/installer.iso"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp/x"
img=$tmp/x/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64
mkdir -p "$tmp/iso/install.amd/text" "$tmp/iso/boot/grub"
cp "$img/linux" "$img/initrd.gz" "$tmp/iso/install.amd/text/"
cat >"$tmp/iso/boot/grub/grub.cfg" <<'CFG'
insmod all_video
set gfxpayload=keep
set timeout=0
menuentry "Install Debian 12 (text)" {
	linux /install.amd/text/linux --- quiet
	initrd /install.amd/text/initrd.gz
}
CFG
grub-mkrescue -o "$tmp/installer.iso" "$tmp/iso" -- -volid PHYLLOME_DI12 2>"$tmp/mkrescue.log" ||
	{ cat "$tmp/mkrescue.log" >&2; die "grub-mkrescue failed"; }
mv "$tmp/installer.iso" "$OUT/installer.iso"
echo "$key" >"$OUT/.installer-iso-stamp"
echo "$OUT/installer.iso"
