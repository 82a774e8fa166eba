# Debian's OVMF (split images, a private copy of the variable store) boots from a GPT disk whose
# EFI system partition (tests/guests/build-esp.sh) holds a startup.nsh: the UEFI shell runs it
# (its marker on the serial console), it starts Debian's kernel through its EFI stub with the
# console test, which reaches userspace; 'poweroff' ends the VMM with status 0. uefi-vars: the
# variables OVMF set on that first boot went through the flash interface into the vars file.
# Needs the firmware files in L1 (rig.py --firmware; the patched outer QEMU, FACTS.md).
# shellcheck shell=sh
if [ ! -f /guest/OVMF_CODE.fd ] || [ ! -f /guest/esp.img ]; then
	rig_skip uefi-shell "no firmware in L1 (run the rig with --firmware)"
else
	cp /guest/OVMF_VARS.fd "$RIG_WORK/vars.fd"
	cp /guest/esp.img "$RIG_WORK/esp.img"
	L2_FW_CODE=/guest/OVMF_CODE.fd L2_FW_VARS=$RIG_WORK/vars.fd
	vmm_start uefi-shell 1 512M "" "disk:path=$RIG_WORK/esp.img"
	unset L2_FW_CODE L2_FW_VARS
	if ! wait_for 'PHYLLOME-UEFI-SHELL startup.nsh' "$VMM_OUT" "$T_BOOT"; then
		rig_fail uefi-shell "no startup.nsh marker: $WAIT_WHY"; vmm_kill
	else
		t_shell=$(since "$VMM_T0")
		if ! wait_for PHYLLOME-READY "$VMM_OUT" "$T_BOOT"; then
			rig_fail uefi-shell "shell at ${t_shell}s, then no kernel userspace: $WAIT_WHY"
			vmm_kill
		else
			t_user=$(since "$VMM_T0")
			vmm_send poweroff
			expect_exit0 uefi-shell "$T_EXIT" &&
				rig_ok uefi-shell "startup.nsh at ${t_shell}s, kernel userspace at ${t_user}s"
			# OVMF writes its boot options and console variables on a first boot: through
			# the flash interface they must have reached the variable store's file.
			if [ "$(md5_of "$RIG_WORK/vars.fd")" != "$(md5_of /guest/OVMF_VARS.fd)" ]; then
				rig_ok uefi-vars "the variable store file changed (flash writes reached it)"
			else
				rig_fail uefi-vars "the variable store file is unchanged after a boot"
			fi
		fi
	fi
fi
