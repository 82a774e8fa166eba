#!/bin/bash
# Builds the outer QEMU that the rig needs for firmware guests (OVMF in L2): Debian's QEMU 10.0.2
# source (bookworm-backports) with the fix for the TCG SVM bug that OVMF triggers (FACTS.md: a CR8
# write under V_INTR_MASKING raises or clears an interrupt without the big QEMU lock, and the
# outer QEMU aborts on an assertion), x86_64-softmmu only, no optional features but user-mode
# networking (libslirp: L1's network card for the host steps, e.g. ui-installer's Chromium).
#
#   tests/rig/build-qemu.sh          prints the path of the patched qemu-system-x86_64
#
# Cached under $PHYLLOME_CACHE (default ~/.cache/phyllome)/qemu-fw/; a second run only prints the
# path. Adds bookworm-backports (deb + deb-src) to apt's sources if missing (backports have a low
# priority: nothing installed is upgraded from them), installs the few -dev packages the build
# needs, and unpacks meson and pycotap from backports into the cache (QEMU 10 wants meson >= 1.5;
# the system's meson stays as it is). Build output goes to stderr and to build.log in the cache.
set -euo pipefail

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

VERSION=10.0.2
FIX_ID=cr8-bql-1 # bump when the patch below changes
CACHE=${PHYLLOME_CACHE:-$HOME/.cache/phyllome}/qemu-fw
FEATURES=slirp # the optional features enabled below (a new name: a new build)
OUT=$CACHE/qemu-$VERSION-$FIX_ID-$FEATURES
BIN=$OUT/bin/qemu-system-x86_64

if [ -x "$BIN" ] && [ -e "$OUT/share/qemu-firmware" ]; then
	echo "$BIN"
	exit 0
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9 # one build at a time (meson runs rig groups in parallel)
if [ -x "$BIN" ] && [ -e "$OUT/share/qemu-firmware" ]; then
	echo "$BIN"
	exit 0
fi
LOG=$CACHE/build.log
: >"$LOG"
say() { echo "build-qemu: $*" >&2; }

# bookworm-backports: QEMU 10.0.2's source, and meson 1.7 + pycotap for its build.
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ ||
	! apt-cache showsrc qemu 2>/dev/null | grep -c "^Version: 1:$VERSION" >/dev/null; then
	say "adding bookworm-backports (deb, deb-src) to apt's sources"
	"$(dirname "${BASH_SOURCE[0]}")/../../scripts/apt-backports.sh" --force >>"$LOG" 2>&1
fi

PACKAGES=(build-essential ninja-build pkg-config python3-venv dpkg-dev xz-utils seabios
	libglib2.0-dev libpixman-1-dev libfdt-dev zlib1g-dev libslirp-dev)
missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	say "installing ${missing[*]}"
	$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1
fi

# meson and pycotap from backports, unpacked (not installed) into the cache.
PYDEPS=$CACHE/pydeps
if [ ! -f "$PYDEPS/.done" ]; then
	say "unpacking meson and pycotap from bookworm-backports"
	rm -rf "$PYDEPS" && mkdir -p "$PYDEPS/debs"
	(cd "$PYDEPS/debs" && apt-get download -q meson/bookworm-backports \
		python3-pycotap/bookworm-backports) >>"$LOG" 2>&1
	for d in "$PYDEPS"/debs/*.deb; do dpkg-deb -x "$d" "$PYDEPS/root"; done
	touch "$PYDEPS/.done"
fi
export PYTHONPATH=$PYDEPS/root/usr/lib/python3/dist-packages${PYTHONPATH:+:$PYTHONPATH}
export PATH=$PYDEPS/root/usr/bin:$PATH

# The source: Debian's orig tarball of the backports package (its Debian patches only touch
# packaging and features this build leaves out).
SRC=$CACHE/src
mkdir -p "$SRC"
TARBALL=$SRC/qemu_$VERSION+ds.orig.tar.xz
if [ ! -f "$TARBALL" ]; then
	say "fetching Debian's QEMU $VERSION source"
	(cd "$SRC" && apt-get source --download-only -q "qemu/bookworm-backports") >>"$LOG" 2>&1 || true
	[ -f "$TARBALL" ] || { say "no $TARBALL (see $LOG)"; exit 1; }
fi
WORK=$CACHE/work
rm -rf "$WORK" && mkdir -p "$WORK"
tar -C "$WORK" -xJf "$TARBALL"
QSRC=$WORK/qemu-$VERSION

# The fix: hold the big QEMU lock around the interrupt raise/clear in helper_write_crN's CR8 case.
python3 - "$QSRC/target/i386/tcg/system/misc_helper.c" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read()
old = """        CPUState *cs = env_cpu(env);
        if (ctl_has_irq(env)) {
            cpu_interrupt(cs, CPU_INTERRUPT_VIRQ);
        } else {
            cpu_reset_interrupt(cs, CPU_INTERRUPT_VIRQ);
        }
"""
new = """        CPUState *cs = env_cpu(env);
        bql_lock();
        if (ctl_has_irq(env)) {
            cpu_interrupt(cs, CPU_INTERRUPT_VIRQ);
        } else {
            cpu_reset_interrupt(cs, CPU_INTERRUPT_VIRQ);
        }
        bql_unlock();
"""
if s.count(old) != 1:
    sys.exit("build-qemu: the CR8 case in misc_helper.c is not what this script knows")
open(p, "w").write(s.replace(old, new))
EOF
# Debian's +ds tarball has no edk2 blobs: don't try to unpack them.
sed -i 's/^    unpack_edk2_blobs = bzip2.found()$/    unpack_edk2_blobs = false/' "$QSRC/meson.build"

say "building QEMU $VERSION (x86_64-softmmu, patched) in $WORK; log: $LOG"
cd "$QSRC"
mkdir build && cd build
../configure --target-list=x86_64-softmmu --without-default-features --disable-download \
	--disable-install-blobs --disable-docs --disable-werror --enable-slirp --prefix="$OUT" >>"$LOG" 2>&1 ||
	{ say "configure failed (see $LOG)"; tail -20 "$LOG" >&2; exit 1; }
nice ninja qemu-system-x86_64 >>"$LOG" 2>&1 || { say "build failed (see $LOG)"; tail -20 "$LOG" >&2; exit 1; }

# The result: PREFIX/bin/qemu-system-x86_64. It looks for its data relative to the binary, in
# PREFIX/share/qemu-firmware then PREFIX/share/qemu: Debian's SeaBIOS (bios-256k.bin) and
# Debian's QEMU data (the option ROMs for -kernel).
rm -rf "$OUT.tmp" && mkdir -p "$OUT.tmp/bin" "$OUT.tmp/share"
cp qemu-system-x86_64 "$OUT.tmp/bin/"
ln -s /usr/share/seabios "$OUT.tmp/share/qemu-firmware"
ln -s /usr/share/qemu "$OUT.tmp/share/qemu"
rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
rm -rf "$WORK"
say "built $BIN"
echo "$BIN"
