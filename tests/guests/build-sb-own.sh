#!/bin/bash
# Builds the rig's "own keys" Secure Boot test: a variable store enrolled with keys made here,
# and one loader signed twice, once with the enrolled db key and once with a key the store does
# not know:
#   $CACHE/sb/own-keys/   PK, KEK, db and "other": RSA 2048 keys and self-signed certificates
#                         (openssl), made once and kept
#   OVMF_VARS_4M.own.fd   Debian's empty OVMF_VARS_4M.fd with PK, KEK and db set to the test
#                         certificates (nothing of Microsoft's) and Secure Boot on (virt-fw-vars,
#                         python3-virt-firmware)
#   sb-own.img            a GPT disk whose ESP holds \EFI\BOOT\BOOTX64.EFI = systemd-boot
#                         (systemd-boot-efi) signed with the test db key (sbsign), its loader
#                         entry, and the L2 kernel (Debian's signature removed, signed with the
#                         test db key) with its initramfs: the firmware checks both binaries
#   sb-other.img          the same disk with the same systemd-boot signed with the "other" key
#                         (were it started, the kernel would boot)
# sbverify checks the signatures here before the images are written.
#   tests/guests/build-sb-own.sh   -> $PHYLLOME_CACHE/guests/{sb-own.img,sb-other.img,OVMF_VARS_4M.own.fd}
# Needs build-guests.sh's output, openssl, sbsigntool, python3-virt-firmware, systemd-boot-efi,
# sfdisk, mkfs.vfat, mtools. Run by rig.py --firmware.
set -euo pipefail
CACHE=${PHYLLOME_CACHE:-$HOME/.cache/phyllome}
OUT=$CACHE/guests
KEYS=$CACHE/sb/own-keys
VARS_IN=/usr/share/OVMF/OVMF_VARS_4M.fd
BOOT_EFI=/usr/lib/systemd/boot/efi/systemd-bootx64.efi
CMDLINE="console=ttyS0 phyllome.test=console"
# The owner GUID of the test's signature list entries (any GUID; this one names the test).
OWNER=a7c2e1d4-5b3f-4e8a-9d61-0f2b7c4e9a31
for f in vmlinuz l2-initramfs.cpio.gz; do
	[ -f "$OUT/$f" ] || { echo "build-sb-own: no $OUT/$f (run tests/guests/build-guests.sh)" >&2; exit 1; }
done
[ -f "$BOOT_EFI" ] || { echo "build-sb-own: no $BOOT_EFI (systemd-boot-efi)" >&2; exit 1; }
for t in openssl sbsign sbattach sbverify virt-fw-vars; do
	command -v "$t" >/dev/null || { echo "build-sb-own: no $t (scripts/setup.sh installs it)" >&2; exit 1; }
done
mkdir -p "$KEYS"
exec 9>"$KEYS/.lock"
flock 9 # one at a time: meson runs the firmware groups' rig.py in parallel
for k in PK KEK db other; do
	[ -f "$KEYS/$k.key" ] && [ -f "$KEYS/$k.crt" ] && continue
	openssl req -new -x509 -newkey rsa:2048 -nodes -sha256 -days 36500 \
		-subj "/CN=Phyllome test $k/" -keyout "$KEYS/$k.key" -out "$KEYS/$k.crt" 2>/dev/null
done
key=$( (cat "$0"; stat -c '%s %Y' "$OUT/vmlinuz" "$OUT/l2-initramfs.cpio.gz" "$VARS_IN" "$BOOT_EFI"
	cat "$KEYS"/*.crt) | sha256sum | cut -c1-16)
if [ -f "$OUT/sb-own.img" ] && [ -f "$OUT/sb-other.img" ] && [ -f "$OUT/OVMF_VARS_4M.own.fd" ] &&
	[ "$(cat "$OUT/.sb-own-stamp" 2>/dev/null)" = "$key" ]; then
	echo "$OUT/sb-own.img"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
virt-fw-vars -l warning -i "$VARS_IN" -o "$tmp/vars.fd" --set-pk "$OWNER" "$KEYS/PK.crt" \
	--add-kek "$OWNER" "$KEYS/KEK.crt" --add-db "$OWNER" "$KEYS/db.crt" --secure-boot >/dev/null
# The loader: systemd-boot (systemd-boot-efi), whose entry boots the L2 kernel; both signed with
# the test db key (the kernel's Debian signature removed first), so the firmware checks both
# against db: systemd-boot starts the kernel with LoadImage, no shim. The same systemd-boot signed
# with the other key goes on the second disk.
sbsign --key "$KEYS/db.key" --cert "$KEYS/db.crt" --output "$tmp/own.efi" "$BOOT_EFI" 2>/dev/null
sbsign --key "$KEYS/other.key" --cert "$KEYS/other.crt" --output "$tmp/other.efi" "$BOOT_EFI" 2>/dev/null
cp "$OUT/vmlinuz" "$tmp/vmlinuz-debian"
sbattach --remove "$tmp/vmlinuz-debian" >/dev/null 2>&1 || true
sbsign --key "$KEYS/db.key" --cert "$KEYS/db.crt" --output "$tmp/vmlinuz.efi" "$tmp/vmlinuz-debian" 2>/dev/null
for f in own.efi vmlinuz.efi; do
	sbverify --cert "$KEYS/db.crt" "$tmp/$f" >/dev/null 2>&1 ||
		{ echo "build-sb-own: $f does not verify with the db certificate" >&2; exit 1; }
done
if sbverify --cert "$KEYS/db.crt" "$tmp/other.efi" >/dev/null 2>&1; then
	echo "build-sb-own: the other-key loader verifies with the db certificate" >&2
	exit 1
fi
printf 'timeout 0\ndefault phyllome.conf\n' >"$tmp/loader.conf"
printf '%s\n' 'title Phyllome Secure Boot own-key test' 'linux /EFI/phyllome/vmlinuz.efi' \
	'initrd /EFI/phyllome/initrd.img' "options $CMDLINE" >"$tmp/phyllome.conf"
# disk IMG LOADER: a GPT disk with one EFI system partition (FAT16) from 1 MiB, LOADER as
# \EFI\BOOT\BOOTX64.EFI, systemd-boot's entry and the signed kernel with its initramfs.
disk() {
	truncate -s $(((2048 + 28672 + 33) * 512)) "$1"
	echo 'label: gpt
start=2048, size=28672, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="ESP"' |
		sfdisk -q "$1" >/dev/null
	mkfs.vfat -F 16 -s 1 -n PHYLSBOWN --offset 2048 "$1" $((28672 / 2)) >/dev/null 2>&1
	mmd -i "$1@@1M" ::/EFI ::/EFI/BOOT ::/EFI/phyllome ::/loader ::/loader/entries
	mcopy -i "$1@@1M" "$2" ::/EFI/BOOT/BOOTX64.EFI
	mcopy -i "$1@@1M" "$tmp/loader.conf" ::/loader/loader.conf
	mcopy -i "$1@@1M" "$tmp/phyllome.conf" ::/loader/entries/phyllome.conf
	mcopy -i "$1@@1M" "$tmp/vmlinuz.efi" ::/EFI/phyllome/vmlinuz.efi
	mcopy -i "$1@@1M" "$OUT/l2-initramfs.cpio.gz" ::/EFI/phyllome/initrd.img
}
disk "$tmp/own.img" "$tmp/own.efi"
disk "$tmp/other.img" "$tmp/other.efi"
mv "$tmp/vars.fd" "$OUT/OVMF_VARS_4M.own.fd"
mv "$tmp/own.img" "$OUT/sb-own.img"
mv "$tmp/other.img" "$OUT/sb-other.img"
echo "$key" >"$OUT/.sb-own-stamp"
echo "$OUT/sb-own.img"
