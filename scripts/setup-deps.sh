#!/bin/bash
# Installs the Debian packages that the rig (tests/rig) and the test guests (tests/guests) need,
# then builds the guests (tests/guests/build-guests.sh and build-esp.sh, build-iso.sh; downloads are cached).
# Idempotent: it installs only what is missing and runs apt-get update only when needed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DEBIAN_FRONTEND=noninteractive

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

# qemu-system-x86: the rig's outer emulator (L1), and the L2 stand-in/peer (never the product).
# cpio, gzip: the L2 initramfs. xz-utils: the uncompressed vmlinux that boots L1 faster.
# kmod: depmod for the kernel package's modules.dep (busybox's depmod is the fallback).
# python3: the rig's host side. util-linux: flock.
# busybox-static and the kernel are downloaded by build-guests.sh, not installed.
# ovmf, dosfstools, mtools, fdisk, grub-efi-amd64-bin, grub-common: firmware guests (UEFI
# firmware, and the EFI system partition images tests/guests/build-esp.sh makes without root).
# xorriso: the CD-ROM test discs (ISO 9660, El Torito) tests/guests/build-iso.sh makes.
# xvfb, x11-xkb-utils, xkb-data, x11-apps, xdotool, libsdl2-2.0-0: the display-window scenario
# (Xvfb, its keymaps, xwd and xdotool go into L1, with SDL2 for --display window); novnc: the
# display-browser scenario (the VMM in L1 serves it). mmdebstrap, e2fsprogs: the Debian system
# test guest (tests/guests/build-debian.sh; the rig builds it when a scenario needs it).
# qemu-utils, gpg, gpgv, openssh-client: the Debian cloud image as a qcow2 with a signed
# SHA256SUMS (build-debian-qcow2.sh --cloud), and in L1 the scenario manager-cloud's qemu-img,
# gpgv, ssh and ssh-keygen. memtest86+: its ISO, the catalogue's memtest86plus (manager-memtest).
PACKAGES=(qemu-system-x86 cpio gzip xz-utils kmod python3 util-linux
	ovmf dosfstools mtools fdisk grub-efi-amd64-bin grub-common xorriso
	xvfb x11-xkb-utils xkb-data x11-apps xdotool libsdl2-2.0-0 novnc mmdebstrap e2fsprogs
	qemu-utils gpg gpgv openssh-client memtest86+)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done

updated=no
apt_update() {
	if [ "$updated" = no ]; then
		$SUDO apt-get update -q
		updated=yes
	fi
}

if [ ${#missing[@]} -gt 0 ]; then
	echo "setup-deps: installing ${missing[*]}"
	apt_update
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# build-guests.sh uses apt-get download: it needs package lists that know the packages.
if ! apt-cache show busybox-static linux-image-amd64 >/dev/null 2>&1; then
	apt_update
fi

tests/guests/build-guests.sh

# Firmware guests in the rig: the EFI system partition images. (The outer QEMU they need is
# built by scripts/test.sh, not here: the demo doesn't need it.)
tests/guests/build-esp.sh >/dev/null
# The CD-ROM scenarios' discs (a data ISO, EFI-bootable ISOs).
tests/guests/build-iso.sh >/dev/null
