# --firmware with --kernel, --initramfs and --cmdline: the kernel goes to OVMF through fw_cfg (the
# items QEMU's -kernel provides) and OVMF starts it through its EFI stub, with no disk, no ESP and
# no GRUB. The guest reaches userspace with the command line given (OVMF puts "initrd=initrd"
# before it when there is an initramfs: that is how the stub finds it) and powers off: status 0.
# Needs rig.py --firmware.
# shellcheck shell=sh
if [ ! -f /guest/OVMF.fd ]; then
	rig_skip uefi-kernel "no OVMF.fd in L1 (run the rig with --firmware)"
else
	want="$L2_BASE_CMDLINE phyllome.test=console phyllome.fwkernel=$(rand_word)"
	# shellcheck disable=SC2034 # vmm_exec (lib.sh) reads them
	L2_FW_CODE=/guest/OVMF.fd L2_FW_KERNEL=1
	vmm_start uefi-kernel 1 512M "$want"
	unset L2_FW_CODE L2_FW_KERNEL
	if ! wait_for PHYLLOME-READY "$VMM_OUT" "$T_BOOT"; then
		show_fw_output
		rig_fail uefi-kernel "no kernel userspace: $WAIT_WHY"
		vmm_kill
	else
		t_user=$(since "$VMM_T0")
		# shellcheck disable=SC2016 # the guest's shell expands it
		got=$(guest_val cmdline '$(cat /proc/cmdline)')
		vmm_send poweroff
		if expect_exit0 uefi-kernel "$T_EXIT"; then
			if [ "$got" = "initrd=initrd $want" ] || [ "$got" = "$want initrd=initrd" ]; then
				rig_ok uefi-kernel "kernel userspace at ${t_user}s; /proc/cmdline: $got"
			else
				rig_fail uefi-kernel "/proc/cmdline '$got', wanted '$want' (with OVMF's initrd=initrd)"
			fi
		fi
	fi
fi
