#!/bin/bash
# Sets up everything Phyllome needs on a Debian 12 machine: the Debian packages, the build,
# and the test guests (Debian's kernel and busybox, fetched with apt-get download and cached).
# Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

# Build (liburing: block I/O; libseccomp: filters; libmicrohttpd + jansson: the API;
# libvncserver + libpng: the display's VNC server and screenshots; GnuTLS: the VNC gate's TLS and
# WebSocket key; SDL2: the window), unit
# tests, lint, fuzzing (clang + libFuzzer runtime), ACPI checks (iasl), and the rig (QEMU as the
# outer emulator only; never part of the product; passt, e2fsprogs, iproute2, curl and socat go into the
# rig's L1 for the disk, network and API tests; dosfstools + mtools: the manager's cloud-init
# seed images and, with fdisk, the rig's EFI system partition images; ovmf: the UEFI firmware;
# grub-efi-amd64-bin + grub-common: the rig's GRUB image), the display's front-end tests (Xvfb
# and xwd for the window; chromium and novnc for the browser console; vncsnapshot, a stock VNC
# viewer, for the VNC siege test); dpkg-dev and libaio-dev:
# the static fio that bench/build-io-tools.sh builds from Debian's source package for the I/O
# benchmark; mmdebstrap: the rig's Debian system test guest (tests/guests/build-debian.sh);
# zlib: qcow2's compressed clusters; qemu-utils (qemu-img): the qcow2 tests make and check
# images with it, and the manager makes image overlays and commits with it; libcurl: the
# manager's image downloads; gpgv: checking publishers' signatures, gpg: the image tests' key
# (and the rig's cloud image's signature); openssh-client: phyllome ssh (and, in the rig's L1, the
# manager-cloud scenario's ssh and ssh-keygen);
# swtpm and swtpm-tools: the TPM emulator behind --tpm (docs/tpm.md; the unit tests and the rig
# start one); libpulse-dev: the headers of the libpulse that --sound pulse loads (libpulse0), and
# pulseaudio: the sound server tests/pulse/run.sh and the rig's debian-pulse check it against (a
# null sink), and pulseaudio-utils' parec, which records the null sink's monitor in the rig;
# openssl, sbsigntool (sbsign), python3-virt-firmware (virt-fw-vars, from bookworm-backports,
# which scripts/apt-backports.sh adds) and systemd-boot-efi: the Secure Boot test with the test's
# own keys (tests/guests/build-sb-own.sh: keys, an enrolled variable store, signed loader and
# kernel).
PACKAGES=(
	build-essential meson ninja-build pkg-config python3
	libcmocka-dev liburing-dev libseccomp-dev libmicrohttpd-dev libjansson-dev
	libvncserver-dev libgnutls28-dev libpng-dev libsdl2-dev
	clang libclang-rt-14-dev clang-format cppcheck
	acpica-tools
	qemu-system-x86 cpio
	passt e2fsprogs iproute2 curl socat
	dosfstools mtools ovmf fdisk grub-efi-amd64-bin grub-common
	xvfb x11-apps chromium novnc vncsnapshot
	dpkg-dev libaio-dev
	mmdebstrap zlib1g-dev qemu-utils
	swtpm swtpm-tools
	libpulse-dev pulseaudio pulseaudio-utils
	libcurl4-openssl-dev gpgv gpg openssh-client
	openssl sbsigntool python3-virt-firmware systemd-boot-efi
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing Debian packages: ${missing[*]}"
	scripts/apt-backports.sh # python3-virt-firmware is only in bookworm-backports
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
		"${missing[@]}"
fi

# The browser console test drives Debian's chromium with playwright-core (npm); without node/npm
# that test is skipped.
if command -v npm >/dev/null 2>&1 && { [ ! -d tests/browser/node_modules/playwright-core ] ||
	[ ! -d tests/browser/node_modules/axe-core ]; }; then
	(cd tests/browser && npm install --no-audit --no-fund) || echo "setup: npm install failed (the browser test will be skipped)"
fi

# The test guests (kernel, initramfs) and the rig's own packages.
scripts/setup-deps.sh

if [ ! -f build/build.ninja ]; then
	meson setup build -Drig=true
fi
ninja -C build
