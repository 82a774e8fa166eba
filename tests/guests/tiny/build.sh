#!/bin/sh
# Build the tiny marker guest: tests/guests/tiny/build.sh OUT
# Needs gcc, ld, objcopy (binutils) and python3 for the header check.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 OUT" >&2
	exit 2
fi
out=$1
src=$(dirname "$0")/tiny.S
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# TINY_CPPFLAGS=-DTINY_STAY: a guest that halts after its marker instead of powering off.
# shellcheck disable=SC2086
gcc -c -m64 -nostdlib ${TINY_CPPFLAGS:-} -o "$tmp/tiny.o" "$src"
ld -m elf_x86_64 -nostdlib --build-id=none -Ttext=0 -e _start -o "$tmp/tiny.elf" "$tmp/tiny.o"
objcopy -O binary -j .text "$tmp/tiny.elf" "$tmp/tiny.bin"

# Check the boot protocol header (offsets from Documentation/arch/x86/boot.rst) before
# handing the image out.
python3 - "$tmp/tiny.bin" <<'EOF'
import struct, sys

img = open(sys.argv[1], "rb").read()
def u(off, size):
    return int.from_bytes(img[off:off + size], "little")

errors = []
def expect(name, got, want):
    if got != want:
        errors.append(f"{name}: {got:#x}, want {want:#x}")

setup_sects = u(0x1f1, 1)
pm_off = (setup_sects + 1) * 512
pm_len = len(img) - pm_off
expect("boot_flag", u(0x1fe, 2), 0xAA55)
expect("jump opcode", u(0x200, 1), 0xEB)
expect("header", u(0x202, 4), int.from_bytes(b"HdrS", "little"))
expect("version", u(0x206, 2), 0x020F)
expect("loadflags.LOADED_HIGH", u(0x211, 1) & 1, 1)
expect("code32_start", u(0x214, 4), 0x100000)
expect("xloadflags", u(0x236, 2) & 3, 3)
expect("pref_address", u(0x258, 8), 0x100000)
expect("syssize", u(0x1f4, 4) * 16, pm_len)
if setup_sects == 0 or pm_len <= 0x200:
    errors.append(f"layout: setup_sects {setup_sects}, payload {pm_len} bytes")
hdr_end = 0x202 + u(0x201, 1)
if hdr_end < 0x26c:
    errors.append(f"header ends at {hdr_end:#x}, protocol 2.15 needs 0x26c")
init_size = u(0x260, 4)
if init_size < pm_len:
    errors.append(f"init_size {init_size:#x} < payload {pm_len:#x}")
align = u(0x230, 4)
if align & (align - 1) or u(0x258, 8) % align:
    errors.append(f"kernel_alignment {align:#x} vs pref_address")
ki = pm_off + u(0x268, 4)
expect("kernel_info magic", u(ki, 4), int.from_bytes(b"LToP", "little"))
ver = 0x200 + u(0x20e, 2)
if not img[ver:img.index(b"\0", ver)].isascii():
    errors.append("kernel_version string")
# The 32-bit entry at payload + 0 and the 64-bit one at + 0x200 both start with cli.
expect("startup_32", img[pm_off], 0xFA)
expect("startup_64", img[pm_off + 0x200], 0xFA)
if errors:
    sys.exit("tiny guest: bad bzImage header: " + "; ".join(errors))
EOF
mv "$tmp/tiny.bin" "$out"
