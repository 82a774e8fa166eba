#!/bin/bash
# The Debian system of build-debian.sh as a compressed qcow2 image (qemu-img convert -c: zlib
# clusters), the base of the rig scenario debian-qcow2 (docs/qcow2.md), cached: remade only when
# debian.img or this recipe changes. qemu-img is a test tool here, never part of the product.
#
# Outputs, under $CACHE/guests (CACHE=${PHYLLOME_CACHE:-$HOME/.cache/phyllome}):
#   debian.qcow2        qcow2 v3, 64 KiB clusters, compressed; padded with zeroes to a whole number
#                       of 512-byte sectors (the rig attaches it to L1 as a raw disk)
#   debian.qcow2.md5    its MD5 and its size in bytes ("MD5 SIZE"): L1 copies the disk into a file
#                       and checks it against this before and after the guest ran
#   .debian-qcow2-stamp debian.img's stamp and this recipe's hash
# Needs: qemu-img (Debian qemu-utils), and what build-debian.sh needs.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${PHYLLOME_CACHE:-$HOME/.cache/phyllome}
OUT=$CACHE/guests

die() { echo "build-debian-qcow2: error: $*" >&2; exit 1; }

bash "$HERE/build-debian.sh" || die "build-debian.sh failed"
command -v qemu-img >/dev/null || die "qemu-img is not installed (Debian package qemu-utils)"

stamp=$({
	cat "$OUT/.debian-stamp"
	grep -v '^[[:space:]]*#' "$0"
} | sha256sum | cut -d' ' -f1)
if [ -s "$OUT/debian.qcow2" ] && [ -s "$OUT/debian.qcow2.md5" ] &&
	[ "$(cat "$OUT/.debian-qcow2-stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "build-debian-qcow2: debian.qcow2 is up to date" >&2
	exit 0
fi

exec 9>"$CACHE/.build-debian-qcow2.lock"
flock 9
rm -f "$OUT/.debian-qcow2-stamp"
tmp=$OUT/.debian.qcow2.tmp
trap 'rm -f "$tmp"' EXIT
qemu-img convert -q -c -f raw -O qcow2 -o compat=1.1,cluster_size=65536 "$OUT/debian.img" "$tmp" ||
	die "qemu-img convert failed"
size=$(stat -c %s "$tmp")
size=$(((size + 511) / 512 * 512))
truncate -s "$size" "$tmp"
qemu-img check -q -f qcow2 "$tmp" || die "qemu-img check of the new image failed"
echo "$(md5sum <"$tmp" | cut -d' ' -f1) $size" >"$OUT/debian.qcow2.md5"
mv "$tmp" "$OUT/debian.qcow2"
echo "$stamp" >"$OUT/.debian-qcow2-stamp"
echo "build-debian-qcow2: ready in $OUT: debian.qcow2 ($(du -h "$OUT/debian.qcow2" | cut -f1); $(qemu-img check -f qcow2 "$OUT/debian.qcow2" | grep -o '[0-9.]*% compressed clusters'))" >&2
