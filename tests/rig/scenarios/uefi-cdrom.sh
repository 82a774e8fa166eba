# OVMF boots UEFI installer-style discs from the AHCI CD-ROM (tests/guests/build-iso.sh), with no
# disk. OVMF's AtaAtapiPassThru + ScsiDisk drivers read the disc in 2048-byte blocks and its
# partition driver finds the El Torito EFI image (a FAT image); the kernel then boots with the
# cdrom guest test: Linux's ahci driver takes the controller over from the firmware, mounts the
# disc and checks its files (MD5SUMS), and powers off: the VMM exits 0.
#  - uefi-cdrom: efi.iso, pure El Torito; the image has no BOOTX64.EFI, so the boot manager falls
#    through to the UEFI shell, which runs the image's startup.nsh (marker PHYLLOME-UEFI-CDROM),
#    which starts the kernel from the image through its EFI stub.
#  - uefi-cdrom-grub: efi-grub.iso, laid out like Debian's installer ISOs: the boot manager starts
#    the image's \EFI\BOOT\BOOTX64.EFI (Debian's GRUB) from the disc itself, GRUB finds the ISO
#    9660 file system (marker PHYLLOME-ISO-GRUB) and loads the kernel and initramfs from it.
# Needs rig.py --firmware (OVMF and the ISOs in L1).
# shellcheck shell=sh

# uefi_cd NAME ISO MARKER WHAT: boots OVMF (split images, a fresh variable store) with ISO on the
# CD-ROM; expects MARKER, then the cdrom guest test's PASS and exit 0.
uefi_cd() {
	if [ ! -f /guest/OVMF_CODE.fd ] || [ ! -f "/guest/$2" ]; then
		rig_skip "$1" "no OVMF or $2 in L1 (rig.py --firmware; xorriso, GRUB on the host)"
		return
	fi
	cp /guest/OVMF_VARS.fd "$RIG_WORK/vars.fd"
	cp "/guest/$2" "$RIG_WORK/$2"
	L2_FW_CODE=/guest/OVMF_CODE.fd L2_FW_VARS=$RIG_WORK/vars.fd
	vmm_start "$1" 1 512M "" "cdrom:$RIG_WORK/$2"
	unset L2_FW_CODE L2_FW_VARS
	UC_T=
	if wait_for "$3" "$VMM_OUT" "$T_BOOT"; then
		UC_T=$(since "$VMM_T0")
	fi
	if [ -z "$UC_T" ]; then
		show_fw_output
		rig_fail "$1" "no $3 marker from the disc: $WAIT_WHY"
		vmm_kill
	elif guest_test_end "$1" cdrom "$T_TEST"; then
		rig_ok "$1" "$4 at ${UC_T}s; kernel userspace at ${GT_T_USER}s; guest: $GT_DETAIL; exit 0 after ${GT_T_EXIT}s"
	fi
}

uefi_cd uefi-cdrom efi.iso PHYLLOME-UEFI-CDROM "startup.nsh from the El Torito image"
uefi_cd uefi-cdrom-grub efi-grub.iso PHYLLOME-ISO-GRUB "GRUB (BOOTX64.EFI from the El Torito image) on the disc's ISO 9660"
