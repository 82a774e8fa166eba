#!/bin/sh
# Builds the hostile test guest as a bzImage: tests/guests/hostile/build.sh OUT
# (gcc, ld and objcopy; the payload is freestanding C linked at 1 MiB).
set -eu
if [ $# -ne 1 ]; then
	echo "usage: $0 OUT" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cflags="-m64 -O2 -ffreestanding -fno-pic -fno-pie -fno-stack-protector -mno-red-zone -mgeneral-regs-only -fno-asynchronous-unwind-tables -Wall -Wextra -Werror"
gcc $cflags -c -o "$tmp/entry.o" "$here/entry.S"
gcc $cflags -c -o "$tmp/hostile.o" "$here/hostile.c"
gcc $cflags -c -o "$tmp/hostile_nvme.o" "$here/hostile_nvme.c"
gcc $cflags -c -o "$tmp/hostile_e1000e.o" "$here/hostile_e1000e.c"
gcc $cflags -c -o "$tmp/hostile_hda.o" "$here/hostile_hda.c"
ld -m elf_x86_64 -nostdlib --build-id=none -no-pie --no-warn-rwx-segments -T "$here/payload.ld" -o "$tmp/payload.elf" \
	"$tmp/entry.o" "$tmp/hostile.o" "$tmp/hostile_nvme.o" "$tmp/hostile_e1000e.o" "$tmp/hostile_hda.o"
objcopy -O binary -R .bss "$tmp/payload.elf" "$tmp/payload.bin"
start=$(nm "$tmp/payload.elf" | awk '/ entry32$/ {print $1}')
end=$(nm "$tmp/payload.elf" | awk '/ _payload_end$/ {print $1}')
init_size=$(( (0x$end - 0x$start + 0xfff) & ~0xfff ))
gcc -m64 -c -DINIT_SIZE=$init_size -DPAYLOAD_BIN="\"$tmp/payload.bin\"" -o "$tmp/header.o" \
	"$here/header.S"
ld -m elf_x86_64 -nostdlib --build-id=none -Ttext=0 -e 0 -o "$tmp/image.elf" "$tmp/header.o"
objcopy -O binary -j .text "$tmp/image.elf" "$1"
