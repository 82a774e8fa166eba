#!/bin/bash
# Tools for the I/O benchmark (bench/run-io-bench.sh), from Debian bookworm's packages:
#   - fio 3.33, built static from Debian's source package (apt-get source fio: needs a deb-src
#     line for bookworm; the binary package drags in Ceph, GlusterFS and RDMA libraries, tens of
#     MB the busybox guest would have to unpack on every boot). Engines: libaio, io_uring, psync...
#   - iperf3 3.12, Debian's binary package with the libraries ldd lists (libiperf0, libsctp1
#     from apt-get download; libcrypto, libc, libm and the loader from the host, same release).
# and from them, in OUT:
#   io-initramfs    the tests' L2 initramfs (tests/guests/build-guests.sh's l2-initramfs.cpio.gz,
#                   unchanged) followed by an uncompressed cpio overlay: /tests/io-bench.sh
#                   (bench/l2/io-bench.sh), /usr/bin/fio, /usr/bin/iperf3 and its libraries.
#                   The kernel unpacks concatenated archives in turn (the uncompressed one starts
#                   on a 4-byte boundary: padding). Also /tests/fs-bench.sh (bench/l2/fs-bench.sh,
#                   the shared-folder bench) and /tests/bench-lib.sh (bench/l2/lib.sh, both use it).
#   l1-files        DEST=SRC lines for run-rig.sh --add-file: iperf3 and its libraries for L1, brd.ko, ext4.ko and its dependencies
#
#   bench/build-io-tools.sh OUT
# Cached under ${PHYLLOME_CACHE:-~/.cache/phyllome}/bench-io/. Needs: apt-get, dpkg-source (dpkg-dev),
# gcc, make, libaio-dev, cpio, and tests/guests/build-guests.sh's outputs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:?usage: build-io-tools.sh OUT}
mkdir -p "$out"
out=$(cd "$out" && pwd)
CACHE=${PHYLLOME_CACHE:-$HOME/.cache/phyllome}
GUESTS=$CACHE/guests
C=$CACHE/bench-io
mkdir -p "$C"
log() { echo "build-io-tools: $*" >&2; }
die() { echo "build-io-tools: error: $*" >&2; exit 1; }

# --- fio, static -----------------------------------------------------------------------------
FIO=$C/fio
if [ ! -x "$FIO" ]; then
	[ -f /usr/include/libaio.h ] || die "libaio-dev is not installed (apt-get install libaio-dev)"
	src=$C/src
	rm -rf "$src"
	mkdir -p "$src"
	if ! grep -rqs 'deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/ ||
		! apt-cache showsrc fio >/dev/null 2>&1; then
		# Source packages come from the same mirror as the machine's other packages.
		log "adding bookworm's source packages to apt's sources (phyllome-src.sources)"
		sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
		mirror=$(sed -n 's/^URIs: *\([^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources \
			2>/dev/null | head -n 1)
		printf '%s\n' 'Types: deb-src' "URIs: ${mirror:-http://deb.debian.org/debian}" 'Suites: bookworm' \
			'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
			$sudo tee /etc/apt/sources.list.d/phyllome-src.sources >/dev/null
		$sudo apt-get update -q >&2
	fi
	log "fetching fio's source package"
	(cd "$src" && apt-get source --download-only fio 2> >(grep -v unsandboxed >&2)) >&2 ||
		die "apt-get source fio failed: add a deb-src line for bookworm (e.g. /etc/apt/sources.list.d/debian-src.sources with 'Types: deb-src', the same URIs/Suites/Components/Signed-By as debian.sources) and run apt-get update"
	tar -xzf "$src"/fio_*.orig.tar.gz -C "$src"
	dir=$(find "$src" -maxdepth 1 -type d -name 'fio-*' | head -n 1)
	log "building fio (static, about 1 to 2 minutes)"
	(cd "$dir" && ./configure --build-static --disable-native --disable-numa --disable-rdma \
		--disable-rados --disable-rbd --disable-http --disable-gfapi --disable-libnfs \
		--disable-pmem --disable-xnvme --disable-libzbc --disable-tcmalloc --disable-dfs \
		--disable-lex >"$src/configure.log" 2>&1 && make -j"$(nproc)" >"$src/make.log" 2>&1) ||
		die "building fio failed: see $src/configure.log and $src/make.log"
	grep -q 'Linux AIO support *yes' "$src/configure.log" || die "fio was configured without libaio"
	strip -o "$FIO.tmp" "$dir/fio"
	mv "$FIO.tmp" "$FIO"
	rm -rf "$dir"
fi

# --- iperf3 and its libraries ----------------------------------------------------------------
IP=$C/iperf3-root
if [ ! -x "$IP/usr/bin/iperf3" ]; then
	rm -rf "$C/debs" "$IP"
	mkdir -p "$C/debs" "$IP"
	log "downloading iperf3, libiperf0, libsctp1"
	(cd "$C/debs" && apt-get download iperf3 libiperf0 libsctp1 2> >(grep -v unsandboxed >&2)) >&2 ||
		die "apt-get download iperf3 libiperf0 libsctp1 failed"
	for d in "$C"/debs/*.deb; do dpkg -x "$d" "$IP"; done
fi
LIBDIR=$IP/usr/lib/x86_64-linux-gnu
# "DEST SRC" for iperf3 and each library ldd lists: the package's own at /usr/lib/..., the
# host's (libc, libcrypto...) at the path ldd gives.
iperf_files() {
	echo "usr/bin/iperf3 $IP/usr/bin/iperf3"
	LD_LIBRARY_PATH=$LIBDIR ldd "$IP/usr/bin/iperf3" | while read -r a b c _; do
		if [ "$b" = "=>" ] && [ -n "$c" ]; then
			case $c in
			"$LIBDIR"/*) echo "usr/lib/x86_64-linux-gnu/$a $(readlink -f "$c")" ;;
			/*) echo "${c#/} $(readlink -f "$c")" ;;
			*) die "iperf3: library $a not found" ;;
			esac
		elif [ "${a#/}" != "$a" ]; then
			echo "${a#/} $(readlink -f "$a")" # the loader
		fi
	done
}
iperf_files >"$out/iperf3-files"

# --- the L2 initramfs with the overlay ---------------------------------------------------------
base=$GUESTS/l2-initramfs.cpio.gz
[ -f "$base" ] || die "no $base (run tests/guests/build-guests.sh)"
root=$(mktemp -d "$out/.overlay.XXXXXX")
trap 'rm -rf "$root"' EXIT
install -D -m 0755 "$here/l2/io-bench.sh" "$root/tests/io-bench.sh"
install -D -m 0755 "$here/l2/fs-bench.sh" "$root/tests/fs-bench.sh"
install -D -m 0644 "$here/l2/lib.sh" "$root/tests/bench-lib.sh"
install -D -m 0755 "$FIO" "$root/usr/bin/fio"
while read -r dest src; do install -D -m 0755 "$src" "$root/$dest"; done <"$out/iperf3-files"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$out/io-overlay.cpio"
{
	cat "$base"
	pad=$(((512 - $(stat -c %s "$base") % 512) % 512))
	head -c "$pad" /dev/zero
	cat "$out/io-overlay.cpio"
} >"$out/io-initramfs.tmp"
mv "$out/io-initramfs.tmp" "$out/io-initramfs"
rm -f "$out/io-overlay.cpio"

# --- what goes into L1 ---------------------------------------------------------------------------
kver=$(cat "$GUESTS/kernel-version")
brd=$(find "$CACHE"/extract/linux-image-"$kver"_*/lib/modules/"$kver"/kernel/drivers/block -name 'brd.ko*' 2>/dev/null | head -n 1)
[ -n "$brd" ] || die "no brd.ko for $kver under $CACHE/extract (run tests/guests/build-guests.sh)"
# ext4 and what it needs, for the *-ext4 configurations (O_DIRECT on a RAM disk's file system)
mods=$(dirname "$(dirname "$(dirname "$brd")")") # .../lib/modules/$kver/kernel
{
	echo "rig/bench/io-initramfs=$out/io-initramfs"
	echo "rig/bench/brd.ko=$brd"
	for m in lib/crc16 fs/mbcache fs/jbd2/jbd2 crypto/crc32c_generic fs/ext4/ext4; do
		if [ -f "$mods/$m.ko" ]; then echo "rig/bench/$(basename "$m").ko=$mods/$m.ko"; fi
	done
	while read -r dest src; do
		case $dest in
		usr/bin/iperf3) echo "rig/bench/iperf3=$src" ;;
		*) echo "$dest=$src" ;;
		esac
	done <"$out/iperf3-files"
} >"$out/l1-files"
log "ready: $out/io-initramfs ($(($(stat -c %s "$out/io-initramfs") / 1048576)) MiB), $out/l1-files"
