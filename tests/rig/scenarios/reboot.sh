# A guest reboot restarts the guest in the same VMM process; then poweroff ends it with status 0.
# shellcheck shell=sh
if console_boot reboot; then
	pid_before=$VMM_PID
	vmm_send reboot
	t0=$(now_cs)
	if ! wait_for PHYLLOME-BOOT "$VMM_OUT" "$T_BOOT" 2; then
		rig_fail reboot "after 'reboot': $WAIT_WHY"; vmm_kill
	elif ! wait_for PHYLLOME-READY "$VMM_OUT" "$T_CMD" 2; then
		rig_fail reboot "second boot: $WAIT_WHY"; vmm_kill
	else
		t_reboot=$(since "$t0")
		vmm_send poweroff
		expect_exit0 reboot "$T_EXIT" &&
			rig_ok reboot "ready again ${t_reboot}s after 'reboot' (same pid $pid_before); exit 0 after poweroff"
	fi
fi
