# OVMF boots a UEFI installer-style disc from the AHCI CD-ROM: efi.iso (tests/guests/build-iso.sh),
# pure El Torito, whose EFI boot image (a FAT image) holds Debian's kernel, the L2 initramfs and a
# startup.nsh. No disk: OVMF's AtaAtapiPassThru + ScsiDisk drivers read the disc in 2048-byte
# blocks, its partition driver finds the El Torito image, the UEFI shell runs startup.nsh (marker
# PHYLLOME-UEFI-CDROM), which starts the kernel through its EFI stub with the cdrom guest test:
# Linux's ahci driver takes the controller over from the firmware, mounts the disc and checks its
# files (MD5SUMS), then powers off: the VMM exits 0.
# Needs rig.py --firmware (OVMF and the ISOs in L1).
# shellcheck shell=sh
N=uefi-cdrom
if [ ! -f /guest/OVMF_CODE.fd ] || [ ! -f /guest/efi.iso ]; then
	rig_skip $N "no OVMF or efi.iso in L1 (rig.py --firmware; xorriso on the host)"
else
	cp /guest/OVMF_VARS.fd "$RIG_WORK/vars.fd"
	cp /guest/efi.iso "$RIG_WORK/efi.iso"
	L2_FW_CODE=/guest/OVMF_CODE.fd L2_FW_VARS=$RIG_WORK/vars.fd
	vmm_start $N 1 512M "" "cdrom:$RIG_WORK/efi.iso"
	unset L2_FW_CODE L2_FW_VARS
	t_shell=
	if wait_for 'PHYLLOME-UEFI-CDROM' "$VMM_OUT" "$T_BOOT"; then
		t_shell=$(since "$VMM_T0")
	fi
	if [ -z "$t_shell" ]; then
		sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$VMM_OUT" | tr -d '\r' | grep -v '^ *$' | head -n 80 |
			sed 's/^/| /'
		rig_fail $N "no startup.nsh marker from the disc: $WAIT_WHY"
		vmm_kill
	elif guest_test_end $N cdrom "$T_TEST"; then
		rig_ok $N "startup.nsh from the El Torito image at ${t_shell}s; kernel userspace at ${GT_T_USER}s; guest: $GT_DETAIL; exit 0 after ${GT_T_EXIT}s"
	fi
fi
