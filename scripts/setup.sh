#!/bin/bash
# Sets up everything Phyllome needs on a Debian 12 machine: the Debian packages, the build,
# and the test guests (Debian's kernel and busybox, fetched with apt-get download and cached).
# Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo

# Build (liburing: block I/O; libseccomp: filters; libmicrohttpd + jansson: the API), unit
# tests, lint, fuzzing (clang + libFuzzer runtime), ACPI checks (iasl), and the rig (QEMU as the
# outer emulator only; never part of the product; passt, e2fsprogs, iproute2 and curl go into the
# rig's L1 for the disk, network and API tests; dpkg-dev and libaio-dev: the static fio that
# bench/build-io-tools.sh builds from Debian's source package for the I/O benchmark).
PACKAGES=(
	build-essential meson ninja-build pkg-config python3
	libcmocka-dev liburing-dev libseccomp-dev libmicrohttpd-dev libjansson-dev
	clang libclang-rt-14-dev clang-format cppcheck
	acpica-tools
	qemu-system-x86 cpio
	passt e2fsprogs iproute2 curl
	dpkg-dev libaio-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing Debian packages: ${missing[*]}"
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
		"${missing[@]}"
fi

# The test guests (kernel, initramfs) and the rig's own packages.
scripts/setup-deps.sh

if [ ! -f build/build.ninja ]; then
	meson setup build -Drig=true
fi
ninja -C build
