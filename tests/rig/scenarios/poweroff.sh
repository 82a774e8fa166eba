# The guest powering off ends the VMM with status 0.
# shellcheck shell=sh
if console_boot poweroff; then
	vmm_send poweroff
	t0=$(now_cs)
	expect_exit0 poweroff "$T_EXIT" &&
		rig_ok poweroff "ready after ${CONSOLE_T_READY}s; exit 0 $(since "$t0")s after 'poweroff'"
fi
