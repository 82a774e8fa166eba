# Two vCPUs under OVMF: the firmware's MP services start the second vCPU (INIT-SIPI-SIPI through
# the in-kernel LAPIC), and the kernel (booted from fw_cfg, as in uefi-kernel) brings both online
# from the MADT that OVMF installed from our tables.
# Needs rig.py --firmware.
# shellcheck shell=sh
if [ ! -f /guest/OVMF.fd ]; then
	rig_skip uefi-smp "no OVMF.fd in L1 (run the rig with --firmware)"
else
	# shellcheck disable=SC2034 # vmm_exec (lib.sh) reads them
	L2_FW_CODE=/guest/OVMF.fd L2_FW_KERNEL=1
	vmm_start uefi-smp 2 512M "$L2_BASE_CMDLINE phyllome.test=console"
	unset L2_FW_CODE L2_FW_KERNEL
	if ! wait_for PHYLLOME-READY "$VMM_OUT" "$T_BOOT"; then
		show_fw_output
		rig_fail uefi-smp "no kernel userspace: $WAIT_WHY"
		vmm_kill
	else
		t_user=$(since "$VMM_T0")
		# shellcheck disable=SC2016 # the guest's shell expands them
		got="online $(guest_val cpus '$(cat /sys/devices/system/cpu/online)'), $(guest_val n '$(grep -c ^processor /proc/cpuinfo)') in cpuinfo"
		vmm_send poweroff
		if expect_exit0 uefi-smp "$T_EXIT"; then
			if [ "$got" = "online 0-1, 2 in cpuinfo" ]; then
				rig_ok uefi-smp "2 CPUs online (kernel userspace at ${t_user}s)"
			else
				grep -i 'smp\|cpu' "$VMM_OUT" | tr -d '\r' | head -n 20 | sed 's/^/| /'
				rig_fail uefi-smp "wanted CPUs 0-1 online: ${got:-not read}"
			fi
		fi
	fi
fi
