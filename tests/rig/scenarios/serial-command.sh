# A command typed into the guest's serial console runs, and its output comes back.
# shellcheck shell=sh
if console_boot serial-command; then
	# shellcheck disable=SC2016 # the guest's shell expands it: the echoed input shows no 42
	vmm_send 'echo $((6*7))-computed'
	if wait_for '42-computed' "$VMM_OUT" "$T_CMD"; then
		vmm_send poweroff
		expect_exit0 serial-command "$T_EXIT" && rig_ok serial-command "guest computed 42"
	else
		rig_fail serial-command "$WAIT_WHY"; vmm_kill
	fi
fi
