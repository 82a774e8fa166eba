#!/bin/bash
# Builds the rig's CD-ROM test images (ISO 9660) with xorriso, no root:
#  - data.iso: a data disc (Rock Ridge + Joliet, volume id PHYLLOME_DATA) with known files and
#    their checksums in /MD5SUMS: the `cdrom` scenario boots the L2 kernel directly and the guest
#    test (tests/guests/tests/cdrom.sh) mounts /dev/sr0 and checks them;
#  - efi.iso: a UEFI-bootable disc, pure El Torito (no partition table): its EFI boot image
#    (platform 0xEF, no emulation) is a FAT image holding Debian's kernel (EFI stub), the L2
#    initramfs and a startup.nsh that OVMF's shell runs (marker PHYLLOME-UEFI-CDROM), which boots
#    the kernel with the cdrom guest test; the ISO 9660 tree has the same kind of data files;
#  - efi-hybrid.iso: the same, the FAT image also appended as MBR partition 2 (type 0xEF), as
#    Debian's installer ISOs do, so that firmware that reads the ISO as a disk with 512-byte
#    blocks finds an EFI system partition without El Torito.
#  - efi-grub.iso: laid out like Debian's installer ISOs: the El Torito EFI image holds only
#    Debian's GRUB as the removable-media loader \EFI\BOOT\BOOTX64.EFI (the firmware's boot
#    manager starts it, no shell), which finds the disc's ISO 9660 file system and boots the kernel
#    and initramfs from there (marker PHYLLOME-ISO-GRUB); skipped without grub-mkstandalone.
# Needs build-guests.sh's output (the kernel and initramfs, for the EFI images), xorriso,
# mkfs.vfat (dosfstools) and mtools. Without xorriso it prints a warning and builds nothing (the
# scenarios then skip).
#   tests/guests/build-iso.sh      -> $PHYLLOME_CACHE/guests/data.iso, efi.iso, efi-hybrid.iso,
#                                     efi-grub.iso (cached)
set -euo pipefail
OUT=${PHYLLOME_CACHE:-$HOME/.cache/phyllome}/guests
CMDLINE="console=ttyS0 phyllome.test=cdrom"
if ! command -v xorriso >/dev/null; then
	echo "build-iso: warning: no xorriso (Debian package xorriso): no CD-ROM images" >&2
	exit 0
fi
for f in vmlinuz l2-initramfs.cpio.gz; do
	[ -f "$OUT/$f" ] || { echo "build-iso: no $OUT/$f (run tests/guests/build-guests.sh)" >&2; exit 1; }
done
key=$( (cat "$0"; stat -c '%s %Y' "$OUT/vmlinuz" "$OUT/l2-initramfs.cpio.gz"
	xorriso -version 2>/dev/null | head -n 1; command -v grub-mkstandalone) | sha256sum | cut -c1-16)
if [ -f "$OUT/data.iso" ] && [ -f "$OUT/efi.iso" ] && [ -f "$OUT/efi-hybrid.iso" ] &&
	[ "$(cat "$OUT/.iso-stamp" 2>/dev/null)" = "$key" ]; then
	echo "$OUT/data.iso"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# data_tree DIR BIGBYTES: a README, a file in a nested directory whose size is no multiple of
# 2048 (its last sector is partly used), a small binary file, and MD5SUMS listing them all.
data_tree() {
	mkdir -p "$1/sub/deeper"
	printf 'Phyllome CD-ROM test disc\nbuilt by tests/guests/build-iso.sh\n' >"$1/README.TXT"
	head -c "$2" /dev/urandom >"$1/sub/deeper/random.bin"
	head -c 777 /dev/urandom >"$1/sub/small.bin"
	(cd "$1" && md5sum README.TXT sub/small.bin sub/deeper/random.bin >MD5SUMS)
}
mkiso() { xorriso -as mkisofs -quiet -R -J "$@" 2>"$tmp/xorriso.log" || { cat "$tmp/xorriso.log" >&2; exit 1; }; }

# data.iso: 3 MiB and a bit of random data.
data_tree "$tmp/data" $((3 * 1048576 + 1234))
mkiso -V PHYLLOME_DATA -o "$tmp/data.iso" "$tmp/data"

# The EFI boot image: a FAT file system (no partition table, as El Torito wants), sized for the
# kernel and initramfs plus 1 MiB, in whole MiB. Its size in 512-byte sectors must fit El
# Torito's 16-bit load size (< 32 MiB).
printf '%s\r\n' \
	'@echo -off' \
	'echo PHYLLOME-UEFI-CDROM startup.nsh running' \
	'fs0:' \
	"\\EFI\\phyllome\\vmlinuz.efi initrd=\\EFI\\phyllome\\initrd.img $CMDLINE" \
	'echo PHYLLOME-UEFI-CDROM the kernel returned' >"$tmp/startup.nsh"
bytes=$(($(stat -c %s "$OUT/vmlinuz") + $(stat -c %s "$OUT/l2-initramfs.cpio.gz") + 1048576))
mib=$(((bytes + 1048575) / 1048576))
[ "$mib" -lt 32 ] || { echo "build-iso: the kernel and initramfs need $mib MiB, El Torito allows < 32" >&2; exit 1; }
mkfs.vfat -C -n PHYLCDBOOT "$tmp/efiboot.img" $((mib * 1024)) >/dev/null
mmd -i "$tmp/efiboot.img" ::/EFI ::/EFI/phyllome
mcopy -i "$tmp/efiboot.img" "$OUT/vmlinuz" ::/EFI/phyllome/vmlinuz.efi
mcopy -i "$tmp/efiboot.img" "$OUT/l2-initramfs.cpio.gz" ::/EFI/phyllome/initrd.img
mcopy -i "$tmp/efiboot.img" "$tmp/startup.nsh" ::/startup.nsh

# efi.iso: El Torito only; the boot image is a file in the tree (hidden from its listings).
data_tree "$tmp/efi" 1048576
mkdir -p "$tmp/efi/boot"
cp "$tmp/efiboot.img" "$tmp/efi/boot/efiboot.img"
mkiso -V PHYLLOME_EFI -o "$tmp/efi.iso" -hide boot/efiboot.img -hide-joliet boot/efiboot.img \
	-e boot/efiboot.img -no-emul-boot "$tmp/efi"
# efi-hybrid.iso: the boot image as MBR partition 2 (0xEF); El Torito points into it.
rm -rf "$tmp/efi/boot"
mkiso -V PHYLLOME_EFI -o "$tmp/efi-hybrid.iso" -append_partition 2 0xef "$tmp/efiboot.img" \
	-e --interval:appended_partition_2:all:: -no-emul-boot "$tmp/efi"

# efi-grub.iso: GRUB in a small El Torito image; the kernel in the ISO 9660 tree.
rm -f "$OUT/efi-grub.iso"
if command -v grub-mkstandalone >/dev/null && [ -d /usr/lib/grub/x86_64-efi ]; then
	cat >"$tmp/grub.cfg" <<CFG
set timeout=0
search --no-floppy --file --set=root /phyllome/iso.id
echo PHYLLOME-ISO-GRUB loading the kernel from \$root
linux /phyllome/vmlinuz $CMDLINE
initrd /phyllome/initrd.img
boot
CFG
	grub-mkstandalone -O x86_64-efi -o "$tmp/bootx64.efi" \
		--modules="iso9660 search linux echo normal" --install-modules="iso9660 search linux echo normal" \
		"boot/grub/grub.cfg=$tmp/grub.cfg" >/dev/null
	kib=$((($(stat -c %s "$tmp/bootx64.efi") / 1024 + 1024 + 1023) / 1024 * 1024))
	mkfs.vfat -C -n PHYLGRUB "$tmp/grubboot.img" "$kib" >/dev/null
	mmd -i "$tmp/grubboot.img" ::/EFI ::/EFI/BOOT
	mcopy -i "$tmp/grubboot.img" "$tmp/bootx64.efi" ::/EFI/BOOT/BOOTX64.EFI
	mkdir -p "$tmp/efi/phyllome" "$tmp/efi/boot"
	cp "$OUT/vmlinuz" "$tmp/efi/phyllome/vmlinuz"
	cp "$OUT/l2-initramfs.cpio.gz" "$tmp/efi/phyllome/initrd.img"
	echo "phyllome efi-grub.iso" >"$tmp/efi/phyllome/iso.id"
	cp "$tmp/grubboot.img" "$tmp/efi/boot/grubboot.img"
	mkiso -V PHYLLOME_GRUB -o "$OUT/efi-grub.iso.tmp" -hide boot/grubboot.img \
		-hide-joliet boot/grubboot.img -e boot/grubboot.img -no-emul-boot "$tmp/efi"
	mv "$OUT/efi-grub.iso.tmp" "$OUT/efi-grub.iso"
fi

mv "$tmp/data.iso" "$tmp/efi.iso" "$tmp/efi-hybrid.iso" "$OUT/"
echo "$key" >"$OUT/.iso-stamp"
echo "$OUT/data.iso"
