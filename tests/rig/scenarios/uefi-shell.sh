# Debian's OVMF (split images, a private copy of the variable store) boots from a GPT disk whose
# EFI system partition (tests/guests/build-esp.sh) holds a startup.nsh: the UEFI shell runs it
# (its marker on the serial console), it starts Debian's kernel through its EFI stub with the
# console test, which reaches userspace; 'poweroff' ends the VMM with status 0. uefi-vars: the
# variables OVMF set on that first boot went through the flash interface into the vars file.
# Needs the firmware files in L1 (rig.py --firmware; the patched outer QEMU, FACTS.md). vCPUs:
# rig.env.UEFI_CPUS=N (default 1).
# shellcheck shell=sh

# uefi_serial_dump: the guest's serial output, escape sequences and carriage returns removed.
uefi_serial_dump() {
	echo "---- uefi-shell: serial output (escape sequences removed):"
	sed 's/\x1b\[[0-9;]*[A-Za-z]//g' "$VMM_OUT" | tr -d '\r' | grep -v '^ *$' | head -n 150 |
		sed 's/^/| /'
}

if [ ! -f /guest/OVMF_CODE.fd ] || [ ! -f /guest/esp.img ]; then
	rig_skip uefi-shell "no firmware in L1 (run the rig with --firmware)"
else
	cp /guest/OVMF_VARS.fd "$RIG_WORK/vars.fd"
	cp /guest/esp.img "$RIG_WORK/esp.img"
	L2_FW_CODE=/guest/OVMF_CODE.fd L2_FW_VARS=$RIG_WORK/vars.fd
	vmm_start uefi-shell "${UEFI_CPUS:-1}" 512M "" "disk:path=$RIG_WORK/esp.img"
	unset L2_FW_CODE L2_FW_VARS
	# The marker: when the shell ran startup.nsh (≈ when the OS loader starts).
	t_shell=
	if wait_for 'PHYLLOME-UEFI-SHELL' "$VMM_OUT" "$T_BOOT"; then
		t_shell=$(since "$VMM_T0")
	fi
	if ! wait_for PHYLLOME-READY "$VMM_OUT" "$T_BOOT"; then
		uefi_serial_dump
		rig_fail uefi-shell "startup.nsh ${t_shell:-not seen}, then no kernel userspace: $WAIT_WHY"
		vmm_kill
	else
		t_user=$(since "$VMM_T0")
		vmm_send poweroff
		if expect_exit0 uefi-shell "$T_EXIT"; then
			if [ -n "$t_shell" ]; then
				rig_ok uefi-shell "startup.nsh at ${t_shell}s, kernel userspace at ${t_user}s"
			else
				uefi_serial_dump
				rig_fail uefi-shell "kernel userspace at ${t_user}s but no startup.nsh marker"
			fi
		fi
		if grep -q 'Unable to enable ACPI\|ACPI.*[Ee]rror' "$VMM_OUT"; then
			grep 'ACPI' "$VMM_OUT" | head -n 20 | sed 's/^/| /'
			rig_fail uefi-acpi "the kernel complains about the ACPI tables OVMF installed"
		else
			rig_ok uefi-acpi "the kernel took OVMF's ACPI tables (from the table loader) without complaint"
		fi
		# OVMF writes its boot options and console variables on a first boot: through the
		# flash interface they must have reached the variable store's file.
		if [ "$(md5_of "$RIG_WORK/vars.fd")" != "$(md5_of /guest/OVMF_VARS.fd)" ]; then
			rig_ok uefi-vars "the variable store file changed (flash writes reached it)"
		else
			rig_fail uefi-vars "the variable store file is unchanged after a boot"
		fi
	fi
fi
