# Every thread of a running VM (the VMM loop, each vCPU, each virtio I/O thread) runs under a
# seccomp filter ("Seccomp: 2" in /proc/PID/task/TID/status), and the guest still works.
# shellcheck shell=sh
if [ "$RIG_L2_VMM" = qemu ]; then
	rig_skip seccomp-threads "phyllome-vmm's own filters"
else
	vmm_start seccomp-threads 2 256M "$L2_BASE_CMDLINE phyllome.test=console" rng
	if ! wait_for PHYLLOME-READY "$VMM_OUT" "$T_BOOT"; then
		rig_fail seccomp-threads "$WAIT_WHY"; vmm_kill
	else
		threads=0 filtered=0 names=
		for st in /proc/"$VMM_PID"/task/*/status; do
			threads=$((threads + 1))
			name=$(sed -n 's/^Name:[[:space:]]*//p' "$st")
			if [ "$(sed -n 's/^Seccomp:[[:space:]]*//p' "$st")" = 2 ]; then
				filtered=$((filtered + 1))
			else
				names="$names $name"
			fi
		done
		vmm_send 'head -c 64 /dev/hwrng | wc -c'
		if [ "$threads" -lt 4 ] || [ "$filtered" != "$threads" ]; then
			rig_fail seccomp-threads "$filtered of $threads threads filtered; without:$names"
			vmm_kill
		elif ! wait_for '^ *64' "$VMM_OUT" "$T_CMD"; then
			rig_fail seccomp-threads "the guest could not read virtio-rng: $WAIT_WHY"; vmm_kill
		else
			vmm_send poweroff
			expect_exit0 seccomp-threads "$T_EXIT" &&
				rig_ok seccomp-threads "all $threads threads (VMM, 2 vCPUs, virtio-rng, rtc) show Seccomp: 2"
		fi
	fi
fi
