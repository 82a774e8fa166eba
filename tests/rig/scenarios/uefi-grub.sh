# Debian's OVMF boots Debian's GRUB (grub-efi-amd64-bin) from a disk image as the removable-media
# loader \EFI\BOOT\BOOTX64.EFI, with no boot entry for it and no shell: GRUB prints its marker
# and boots Debian's kernel, which reaches userspace; 'poweroff' ends the VMM with status 0. The
# single-image firmware (OVMF.fd, read-only: variables stay in RAM) is used here.
# Needs rig.py --firmware and grub.img (tests/guests/build-esp.sh, with GRUB installed).
# shellcheck shell=sh
if [ ! -f /guest/OVMF.fd ] || [ ! -f /guest/grub.img ]; then
	rig_skip uefi-grub "no OVMF.fd or grub.img in L1 (rig.py --firmware; GRUB on the host)"
else
	cp /guest/grub.img "$RIG_WORK/grub.img"
	L2_FW_CODE=/guest/OVMF.fd
	vmm_start uefi-grub 1 512M "" "disk:path=$RIG_WORK/grub.img"
	unset L2_FW_CODE
	t_grub=
	if wait_for 'PHYLLOME-GRUB' "$VMM_OUT" "$T_BOOT"; then
		t_grub=$(since "$VMM_T0")
	fi
	if ! wait_for PHYLLOME-READY "$VMM_OUT" "$T_BOOT"; then
		show_fw_output
		rig_fail uefi-grub "GRUB ${t_grub:-not seen}, then no kernel userspace: $WAIT_WHY"
		vmm_kill
	else
		t_user=$(since "$VMM_T0")
		vmm_send poweroff
		if expect_exit0 uefi-grub "$T_EXIT"; then
			if [ -n "$t_grub" ]; then
				rig_ok uefi-grub "GRUB at ${t_grub}s, kernel userspace at ${t_user}s"
			else
				rig_fail uefi-grub "kernel userspace at ${t_user}s but no GRUB marker"
			fi
		fi
	fi
fi
