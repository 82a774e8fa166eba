#!/bin/bash
# The Debian system of build-debian.sh as a compressed qcow2 image (qemu-img convert -c: zlib
# clusters), the base of the rig scenario debian-qcow2 (docs/qcow2.md), cached: remade only when
# debian.img or this recipe changes. qemu-img is a test tool here, never part of the product.
#
#   build-debian-qcow2.sh [--cloud]
#
# Outputs, under $CACHE/guests (CACHE=${PHYLLOME_CACHE:-$HOME/.cache/phyllome}); NAME is debian,
# or debian-cloud with --cloud (build-debian.sh --cloud's cloud image):
#   NAME.qcow2          qcow2 v3, 64 KiB clusters, compressed; padded with zeroes to a whole number
#                       of 512-byte sectors (the rig attaches it to L1 as a raw disk)
#   NAME.qcow2.md5      its MD5 and its size in bytes ("MD5 SIZE"): L1 copies the disk into a file
#                       and checks it against this before and after the guest ran
#   .NAME-qcow2-stamp   NAME.img's stamp and this recipe's hash
# With --cloud, what a publisher puts beside a cloud image (the rig scenario manager-cloud serves
# them with a catalogue): NAME.SHA256SUMS ("HASH  NAME.qcow2"), NAME.SHA256SUMS.sig (a detached
# OpenPGP signature by a throwaway key made for each build) and NAME.keyring.gpg (that key).
# Needs: qemu-img (Debian qemu-utils), gpg with --cloud, and what build-debian.sh needs.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${PHYLLOME_CACHE:-$HOME/.cache/phyllome}
OUT=$CACHE/guests

die() { echo "build-debian-qcow2: error: $*" >&2; exit 1; }

NAME=debian
[ "${1:-}" = --cloud ] && NAME=debian-cloud
bash "$HERE/build-debian.sh" "$@" || die "build-debian.sh $* failed"
command -v qemu-img >/dev/null || die "qemu-img is not installed (Debian package qemu-utils)"

stamp=$({
	cat "$OUT/.$NAME-stamp"
	grep -v '^[[:space:]]*#' "$0"
} | sha256sum | cut -d' ' -f1)
if [ -s "$OUT/$NAME.qcow2" ] && [ -s "$OUT/$NAME.qcow2.md5" ] &&
	[ "$(cat "$OUT/.$NAME-qcow2-stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "build-debian-qcow2: $NAME.qcow2 is up to date" >&2
	exit 0
fi

exec 9>"$CACHE/.build-$NAME-qcow2.lock"
flock 9
rm -f "$OUT/.$NAME-qcow2-stamp"
tmp=$OUT/.$NAME.qcow2.tmp
trap 'rm -f "$tmp"' EXIT
qemu-img convert -q -c -f raw -O qcow2 -o compat=1.1,cluster_size=65536 "$OUT/$NAME.img" "$tmp" ||
	die "qemu-img convert failed"
size=$(stat -c %s "$tmp")
size=$(((size + 511) / 512 * 512))
truncate -s "$size" "$tmp"
qemu-img check -q -f qcow2 "$tmp" || die "qemu-img check of the new image failed"
echo "$(md5sum <"$tmp" | cut -d' ' -f1) $size" >"$OUT/$NAME.qcow2.md5"
if [ "$NAME" != debian ]; then
	command -v gpg >/dev/null || die "gpg is not installed (Debian package gpg)"
	gnupg=$(mktemp -d)
	trap 'rm -f "$tmp"; gpgconf --homedir "$gnupg" --kill all 2>/dev/null; rm -rf "$gnupg"' EXIT
	echo "$(sha256sum <"$tmp" | cut -d' ' -f1)  $NAME.qcow2" >"$OUT/$NAME.SHA256SUMS"
	gpg --homedir "$gnupg" --batch --passphrase '' --quick-gen-key \
		'Phyllome Test Publisher <publisher@test.invalid>' ed25519 sign never 2>/dev/null &&
		gpg --homedir "$gnupg" --batch --export >"$OUT/$NAME.keyring.gpg" &&
		gpg --homedir "$gnupg" --batch --yes --detach-sign -o "$OUT/$NAME.SHA256SUMS.sig" \
			"$OUT/$NAME.SHA256SUMS" || die "signing $NAME.SHA256SUMS failed"
fi
mv "$tmp" "$OUT/$NAME.qcow2"
echo "$stamp" >"$OUT/.$NAME-qcow2-stamp"
echo "build-debian-qcow2: ready in $OUT: $NAME.qcow2 ($(du -h "$OUT/$NAME.qcow2" | cut -f1); $(qemu-img check -f qcow2 "$OUT/$NAME.qcow2" | grep -o '[0-9.]*% compressed clusters'))" >&2
